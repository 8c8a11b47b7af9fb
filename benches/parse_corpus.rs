//! Time to read the whole shared corpus single-threaded (goal: under 50 ms).
//! `IMGOPT_CORPUS=../shared/corpus cargo bench --bench parse_corpus`

use std::time::{Duration, Instant};

use imgopt::syntax;

fn main() {
    let Some(dir) = std::env::var_os("IMGOPT_CORPUS") else {
        println!("SKIPPED: IMGOPT_CORPUS is unset (point it at ../shared/corpus)");
        return;
    };
    let dir = std::path::Path::new(&dir).join("dockerfiles");
    let mut files: Vec<Vec<u8>> = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("corpus dir") {
        files.push(std::fs::read(entry.expect("entry").path()).expect("file"));
    }
    let bytes: usize = files.iter().map(Vec::len).sum();
    let run = || {
        let mut instructions = 0;
        for f in &files {
            if let Ok(df) = syntax::decode(f).and_then(|t| syntax::parse(syntax::strip_bom(t).0)) {
                instructions += df.instructions.len();
            }
        }
        instructions
    };
    let instructions = run();
    let mut times: Vec<Duration> = (0..30)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(run());
            t.elapsed()
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "parse corpus: {} files, {:.1} MiB, {instructions} instructions: median {:.2} ms, min {:.2} ms ({:.0} MiB/s) over {} runs",
        files.len(),
        bytes as f64 / 1048576.0,
        median.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        bytes as f64 / 1048576.0 / median.as_secs_f64(),
        times.len()
    );
}
