//! Package-manager and build caches left in the final filesystem: bytes nobody needs at run time.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::index::PathIndex;
use crate::model::caches::{self, Holds};

#[derive(Clone, Debug, Serialize)]
pub struct CacheReport {
    /// The name in [`crate::model::caches::WELL_KNOWN`]: `apt-lists`, `apt-archives`, `apk`, `pip`, `npm`, `go-build`, `tmp`...
    pub cache: &'static str,
    pub bytes: u64,
    pub files: u64,
    /// Where it was found, e.g. `var/lib/apt/lists`.
    pub paths: Vec<String>,
}

/// Which cache a path (relative to `/`) belongs to, and the cache's directory (relative too).
/// Documentation is not a cache, nor is bytecode an interpreter runs from: neither is reported
/// here.
fn classify(path: &str) -> Option<(&'static str, String)> {
    let (known, dir) = caches::classify(path)?;
    (!matches!(known.holds, Holds::Docs | Holds::Bytecode))
        .then(|| (known.name, dir.trim_start_matches('/').to_string()))
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
