//! Package-manager and build caches left in the final filesystem: bytes nobody needs at run time.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::index::PathIndex;

#[derive(Clone, Debug, Serialize)]
pub struct CacheReport {
    /// Short name: `apt-lists`, `apt-archives`, `apk`, `pip`, `npm`, `yarn`, `go-build`, `cargo-registry`, `tmp`.
    pub cache: &'static str,
    pub bytes: u64,
    pub files: u64,
    /// Where it was found, e.g. `var/lib/apt/lists`.
    pub paths: Vec<String>,
}

/// Which cache a path belongs to, and the cache's root directory.
fn classify(path: &str) -> Option<(&'static str, String)> {
    const FIXED: &[(&str, &str)] = &[
        ("var/lib/apt/lists/", "apt-lists"),
        ("var/cache/apt/", "apt-archives"),
        ("var/cache/apk/", "apk"),
        ("etc/apk/cache/", "apk"),
        ("usr/local/share/.cache/yarn/", "yarn"),
        ("usr/local/cargo/registry/", "cargo-registry"),
        ("go/pkg/mod/cache/", "go-build"),
        ("tmp/", "tmp"),
        ("var/tmp/", "tmp"),
    ];
    for (prefix, cache) in FIXED {
        if path.starts_with(prefix) {
            return Some((cache, prefix.trim_end_matches('/').to_string()));
        }
    }
    // Per-user caches: root's home and every /home/NAME.
    let (home, rest) = if let Some(rest) = path.strip_prefix("root/") {
        ("root".to_string(), rest)
    } else {
        let rest = path.strip_prefix("home/")?;
        let (user, rest) = rest.split_once('/')?;
        (format!("home/{user}"), rest)
    };
    const PER_USER: &[(&str, &str)] = &[
        (".cache/pip/", "pip"),
        (".npm/", "npm"),
        (".cache/yarn/", "yarn"),
        (".yarn/cache/", "yarn"),
        (".cache/go-build/", "go-build"),
        ("go/pkg/mod/cache/", "go-build"),
        (".cargo/registry/", "cargo-registry"),
    ];
    PER_USER
        .iter()
        .find(|(prefix, _)| rest.starts_with(prefix))
        .map(|(prefix, cache)| (*cache, format!("{home}/{}", prefix.trim_end_matches('/'))))
}

/// apt keeps its `lock` files and the empty `partial/` directories in a clean image too: they
/// are not cache content, so they are not reported.
fn is_bookkeeping(path: &str) -> bool {
    path.ends_with("/lock") || path.ends_with("/partial")
}

pub fn find_caches(index: &PathIndex) -> Vec<CacheReport> {
    let mut found: BTreeMap<&'static str, (CacheReport, HashSet<usize>)> = BTreeMap::new();
    for file in index.final_files() {
        if file.is_dir || is_bookkeeping(file.path) {
            continue;
        }
        let Some((cache, root)) = classify(file.path) else { continue };
        let (report, seen) = found
            .entry(cache)
            .or_insert_with(|| (CacheReport { cache, bytes: 0, files: 0, paths: Vec::new() }, HashSet::new()));
        report.files += 1;
        if let Some(id) = file.inode {
            if seen.insert(id) {
                report.bytes += index.inodes[id].size;
            }
        }
        if !report.paths.contains(&root) {
            report.paths.push(root);
        }
    }
    let mut reports: Vec<CacheReport> = found.into_values().map(|(r, _)| r).collect();
    reports.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.cache.cmp(b.cache)));
    reports
}
