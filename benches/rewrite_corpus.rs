//! Time to propose a rewrite (no build) for every file of the shared corpus in one process,
//! single-threaded (goal: the whole corpus under a second).
//! `IMGOPT_CORPUS=../shared/corpus cargo bench --bench rewrite_corpus`

use std::time::{Duration, Instant};

use imgopt::rewrite::{propose, Options};

fn main() {
    let Some(dir) = std::env::var_os("IMGOPT_CORPUS") else {
        println!("SKIPPED: IMGOPT_CORPUS is unset (point it at ../shared/corpus)");
        return;
    };
    let dir = std::path::Path::new(&dir).join("dockerfiles");
    let mut texts: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("corpus dir") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("file");
        texts.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    let options = Options::default();
    let run = || texts.iter().filter(|t| propose(t, &options).is_ok_and(|p| p.changed())).count();
    let changed = run();
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            assert_eq!(run(), changed);
            start.elapsed()
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "rewrite {} files ({changed} with a proposal), single-threaded: median {:.0} ms, min {:.0} ms, {:.0} µs/file",
        texts.len(),
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e6 / texts.len() as f64
    );
}
