//! Times the shell reader over every RUN body of the shared corpus.
//!
//! `IMGOPT_CORPUS=/work/shared/corpus cargo bench --bench shell_bench`
//! Prints the time of one pass over all bodies (best and median of the runs),
//! per body, and the throughput.

// The benchmark reads the bodies but does not report their locations.
#[allow(dead_code)]
#[path = "../tests/common/run_bodies.rs"]
mod run_bodies;

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use imgopt::shell::simple_commands;

fn main() {
    let Some(corpus) = std::env::var_os("IMGOPT_CORPUS") else {
        println!("SKIPPED: IMGOPT_CORPUS unset");
        return;
    };
    let dir = PathBuf::from(corpus).join("dockerfiles");
    let extracted = match run_bodies::extract(&dir) {
        Ok(extracted) => extracted,
        Err(error) => {
            eprintln!("cannot read {}: {error}", dir.display());
            std::process::exit(2);
        }
    };
    let bodies = &extracted.bodies;
    let bytes: usize = bodies.iter().map(|b| b.text.len()).sum();

    let pass = || {
        let mut commands = 0;
        for body in bodies {
            let parsed = body.parse();
            commands += simple_commands(black_box(&parsed.script)).len();
        }
        black_box(commands)
    };
    // Warm up, then time whole passes for about two seconds.
    let commands = pass();
    let mut times: Vec<Duration> = Vec::new();
    let started = Instant::now();
    while times.len() < 20 || (started.elapsed() < Duration::from_secs(2) && times.len() < 1000) {
        let start = Instant::now();
        pass();
        times.push(start.elapsed());
    }
    times.sort();
    let best = times[0];
    let median = times[times.len() / 2];
    println!(
        "shell_bench: {} bodies from {} files, {} KiB, {} simple commands",
        bodies.len(),
        extracted.files,
        bytes / 1024,
        commands
    );
    println!(
        "shell_bench: parse + walk all bodies: best {:.3} ms, median {:.3} ms over {} passes; {:.2} us/body; {:.0} MiB/s",
        best.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        times.len(),
        median.as_secs_f64() * 1e6 / bodies.len().max(1) as f64,
        bytes as f64 / median.as_secs_f64() / (1024.0 * 1024.0)
    );
}
