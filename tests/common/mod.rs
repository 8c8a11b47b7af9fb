//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared corpus (`IMGOPT_CORPUS`), or None after saying plainly that the test is skipped.
/// Under CI the corpus is required.
pub fn corpus(test: &str) -> Option<PathBuf> {
    match std::env::var_os("IMGOPT_CORPUS") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(dir.is_dir(), "IMGOPT_CORPUS={} is not a directory", dir.display());
            Some(dir)
        }
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: IMGOPT_CORPUS must be set under CI"
            );
            eprintln!("SKIPPED: {test}: IMGOPT_CORPUS is unset (it points at ../shared/corpus in imgopt's CI)");
            None
        }
    }
}

/// Sorted entries of a directory.
pub fn sorted_dir(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("readable dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    v.sort();
    v
}
