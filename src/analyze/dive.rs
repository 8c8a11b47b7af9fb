//! dive 0.13's figures, computed the way dive computes them, so users can compare.
//!
//! dive (`filetree/efficiency.go`, `image/image.go`) looks at the *leaves* of each layer's tree
//! (entries with no child in that layer). Each leaf adds its tar header size to its path; a
//! whiteout leaf adds, when the path was a directory in the layers below, the sizes of that whole
//! subtree, and 0 when it was a file. Per path it keeps the sum (`cumulative`) and the smallest
//! single contribution (`min`).
//!
//! - `efficiency = Σ min / Σ cumulative` over all paths (1 when nothing was seen);
//! - `wastedBytes = Σ cumulative` over paths seen in two or more layers;
//! - `userWastedPercent = wastedBytes / userSize`, where a layer's size is the sum of its tar
//!   header sizes and `userSize` is the size of every layer but the first.
//!
//! Where this is wrong, and imgopt's exact figures differ:
//! - the kept copy counts as waste: a file written in layer 1 and overwritten in layer 2 counts
//!   both copies, although removing the waste saves only the first;
//! - a directory deleted by a directory whiteout is not waste at all: the directory was not a
//!   leaf below, so its path has a single contribution, and the files under it keep theirs;
//! - opaque directories (`.wh..wh..opq`) are ignored entirely;
//! - hardlinks and symlinks count 0 bytes each, which is right, but a hardlinked file deleted under
//!   one name while another remains is still counted as deleted.
//!
//! One divergence from dive's code: when a whiteout names a path that does not exist below, dive
//! logs an error and stops visiting that layer; here such a whiteout simply contributes 0.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;

use serde::Serialize;

use crate::image::{Change, EntryKind, LayerContents};

#[derive(Clone, Debug, Default, Serialize)]
pub struct DiveFigures {
    pub efficiency: f64,
    pub wasted_bytes: u64,
    /// `null` when the image has a single layer: dive divides by zero there.
    pub user_wasted_percent: Option<f64>,
    pub size_bytes: u64,
    pub user_size_bytes: u64,
}

#[derive(Default)]
struct PathTally {
    cumulative: u64,
    min: u64,
    seen: u32,
}

pub fn dive_figures(layers: &[LayerContents]) -> DiveFigures {
    // Paths are borrowed from the layers: no copy of a name per map it is in.
    let mut tallies: HashMap<&str, PathTally> = HashMap::new();
    // The layers below the current one stacked the way dive stacks them: whiteouts remove,
    // opaque markers are ignored. Value: (is_dir, size).
    let mut stacked: BTreeMap<&str, (bool, u64)> = BTreeMap::new();
    for contents in layers {
        let leaves = layer_leaves(contents);
        for (&path, leaf) in &leaves {
            let size = match leaf {
                Leaf::Entry(size) => *size,
                Leaf::Whiteout => match stacked.get(path) {
                    Some((true, own)) => own + subtree(&stacked, path).map(|(_, (_, s))| s).sum::<u64>(),
                    _ => 0,
                },
            };
            let tally = tallies.entry(path).or_default();
            tally.min = if tally.seen == 0 { size } else { tally.min.min(size) };
            tally.cumulative += size;
            tally.seen += 1;
        }
        apply(&mut stacked, contents);
    }
    let (mut min_sum, mut cumulative_sum, mut wasted) = (0u64, 0u64, 0u64);
    for t in tallies.values() {
        min_sum += t.min;
        cumulative_sum += t.cumulative;
        if t.seen >= 2 {
            wasted += t.cumulative;
        }
    }
    let efficiency = if cumulative_sum == 0 { 1.0 } else { min_sum as f64 / cumulative_sum as f64 };
    let sizes: Vec<u64> = layers.iter().map(|l| l.header_bytes).collect();
    let user_size: u64 = sizes.iter().skip(1).sum();
    DiveFigures {
        efficiency,
        wasted_bytes: wasted,
        user_wasted_percent: (user_size > 0).then(|| wasted as f64 / user_size as f64),
        size_bytes: sizes.iter().sum(),
        user_size_bytes: user_size,
    }
}

enum Leaf {
    Entry(u64),
    Whiteout,
}

/// Entries of the layer that have no child in the layer's own tree.
///
/// Linear in entries whatever the depth: an entry's ancestors are marked walking up from its
/// parent and stopping at the first one already marked (its own ancestors were marked with it),
/// so each directory is marked once, not once per entry below it.
fn layer_leaves(contents: &LayerContents) -> HashMap<&str, Leaf> {
    let mut nodes: HashMap<&str, Leaf> = HashMap::new();
    let mut parents: HashSet<&str> = HashSet::new();
    for change in &contents.changes {
        let path = match change {
            Change::Put(e) => {
                nodes.insert(e.path.as_str(), Leaf::Entry(e.size));
                e.path.as_str()
            }
            Change::Whiteout(p) => {
                nodes.insert(p.as_str(), Leaf::Whiteout);
                p.as_str()
            }
            // dive stops at the marker's name, but the directory holding it is still created.
            Change::Opaque(dir) => {
                if !dir.is_empty() && !parents.insert(dir.as_str()) {
                    continue;
                }
                dir.as_str()
            }
        };
        mark_ancestors(path, |parent| parents.insert(parent));
    }
    nodes.retain(|p, _| !parents.contains(p));
    nodes
}

/// Call `mark` on each ancestor of `path`, nearest first, until it returns false (already there).
fn mark_ancestors<'a>(path: &'a str, mut mark: impl FnMut(&'a str) -> bool) {
    let mut rest = path;
    while let Some((parent, _)) = rest.rsplit_once('/') {
        if !mark(parent) {
            return;
        }
        rest = parent;
    }
}

fn subtree<'m, 'a>(
    stacked: &'m BTreeMap<&'a str, (bool, u64)>,
    dir: &str,
) -> impl Iterator<Item = (&'m &'a str, &'m (bool, u64))> {
    let (start, end) = (format!("{dir}/"), format!("{dir}0")); // '0' is the byte after '/'
    stacked.range::<str, _>((Bound::Included(start.as_str()), Bound::Excluded(end.as_str())))
}

fn apply<'a>(stacked: &mut BTreeMap<&'a str, (bool, u64)>, contents: &'a LayerContents) {
    for change in &contents.changes {
        match change {
            Change::Put(e) => {
                // The stack holds every ancestor of what it holds (a whiteout removes a whole
                // subtree), so the walk up stops at the first ancestor already there.
                mark_ancestors(&e.path, |parent| {
                    if stacked.contains_key(parent) {
                        return false;
                    }
                    stacked.insert(parent, (true, 0));
                    true
                });
                stacked.insert(e.path.as_str(), (e.kind == EntryKind::Dir, e.size));
            }
            Change::Whiteout(p) => {
                let doomed: Vec<&str> = subtree(stacked, p).map(|(&k, _)| k).collect();
                for k in doomed {
                    stacked.remove(k);
                }
                stacked.remove(p.as_str());
            }
            Change::Opaque(_) => {}
        }
    }
}
