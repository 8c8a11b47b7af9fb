//! Time to lint the whole shared corpus in one process: single-threaded and with rayon
//! (goal: under half a second for the whole corpus).
//! `IMGOPT_CORPUS=../shared/corpus cargo bench --bench lint_corpus`

use std::time::{Duration, Instant};

use rayon::prelude::*;

use imgopt::lint::{lint_text, Settings};

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
    let settings = Settings::default();
    let serial = || texts.iter().map(|t| lint_text(t, &settings).len()).sum::<usize>();
    let parallel = || texts.par_iter().map(|t| lint_text(t, &settings).len()).sum::<usize>();
    let findings = serial();
    for (name, run) in [("single-threaded", &serial as &(dyn Fn() -> usize + Sync)), ("rayon", &parallel)] {
        let mut times: Vec<Duration> = (0..20)
            .map(|_| {
                let start = Instant::now();
                assert_eq!(run(), findings);
                start.elapsed()
            })
            .collect();
        times.sort();
        let median = times[times.len() / 2];
        println!(
            "lint {} files ({findings} findings), {name}: median {:.1} ms, min {:.1} ms, {:.1} µs/file",
            texts.len(),
            median.as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e6 / texts.len() as f64
        );
    }
}
