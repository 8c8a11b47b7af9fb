//! Paths as the databases write them, looked up in the image: normalized, resolved through the
//! final filesystem's directory symlinks (a merged-/usr image lists `/bin/ls` and stores
//! `usr/bin/ls`), and mapped to the inodes every layer stored there.

use std::collections::HashMap;

use crate::analyze::index::PathIndex;
use crate::image::layer::name_from_bytes;
use crate::image::{Change, EntryKind, LayerContents};

/// Symlinks followed while resolving one path, as Linux's MAXSYMLINKS.
const MAX_HOPS: usize = 40;

pub(crate) struct Tree<'a> {
    /// The final filesystem, sorted by path: (path, inode, is_dir).
    final_paths: Vec<(&'a str, Option<usize>, bool)>,
    /// Every inode any layer stored at a path, by that path.
    inodes_by_path: HashMap<&'a str, Vec<usize>>,
    /// Symlinks of the final filesystem: path → target.
    symlinks: HashMap<&'a str, &'a str>,
    index: &'a PathIndex,
}

impl<'a> Tree<'a> {
    pub fn new(layers: &'a [LayerContents], index: &'a PathIndex) -> Self {
        let final_paths: Vec<(&str, Option<usize>, bool)> =
            index.final_files().map(|f| (f.path, f.inode, f.is_dir)).collect();
        let mut inodes_by_path: HashMap<&str, Vec<usize>> = HashMap::with_capacity(index.inodes.len());
        for (id, inode) in index.inodes.iter().enumerate() {
            for path in &inode.paths {
                inodes_by_path.entry(path.as_str()).or_default().push(id);
            }
            if inode.removed.is_some() {
                inodes_by_path.entry(inode.last_path.as_str()).or_default().push(id);
            }
        }
        let mut tree = Tree { final_paths, inodes_by_path, symlinks: HashMap::new(), index };
        for contents in layers {
            for change in &contents.changes {
                if let Change::Put(entry) = change {
                    if let EntryKind::Symlink(target) = &entry.kind {
                        tree.symlinks.insert(entry.path.as_str(), target.as_str());
                    }
                }
            }
        }
        // Only those still in the final filesystem, as symlinks (no inode, not a directory).
        let symlinks = std::mem::take(&mut tree.symlinks);
        tree.symlinks =
            symlinks.into_iter().filter(|(path, _)| matches!(tree.lookup(path), Some((None, false)))).collect();
        tree
    }

    fn lookup(&self, path: &str) -> Option<(Option<usize>, bool)> {
        let at = self.final_paths.binary_search_by(|(p, _, _)| (*p).cmp(path)).ok()?;
        let (_, inode, is_dir) = self.final_paths[at];
        Some((inode, is_dir))
    }

    /// Whether the final filesystem has this path (file, directory, link or device).
    pub fn exists(&self, path: &str) -> bool {
        self.lookup(path).is_some()
    }

    /// The inode of a regular file in the final filesystem.
    pub fn final_inode(&self, path: &str) -> Option<usize> {
        self.lookup(path).and_then(|(inode, _)| inode)
    }

    /// The layer that stored the final copy of a regular file.
    pub fn final_layer(&self, path: &str) -> Option<usize> {
        self.final_inode(path).map(|id| self.index.inodes[id].layer)
    }

    /// Every inode some layer stored at this path.
    pub fn inodes_at(&self, path: &str) -> &[usize] {
        self.inodes_by_path.get(path).map_or(&[], Vec::as_slice)
    }

    /// The final paths under `dir/`, in order.
    pub fn under(&self, dir: &str) -> impl Iterator<Item = (&'a str, Option<usize>)> + '_ {
        let prefix = format!("{dir}/");
        let start = self.final_paths.partition_point(|(p, _, _)| *p < prefix.as_str());
        self.final_paths[start..]
            .iter()
            .take_while(move |(p, _, _)| p.starts_with(&prefix))
            .map(|&(p, inode, _)| (p, inode))
    }

    /// The path as the final filesystem has it: directory symlinks above the last component are
    /// followed (the last one is not: a package that lists a symlink owns the link). None when
    /// the links loop or climb out of the root.
    pub fn resolve(&self, path: &str) -> Option<String> {
        if self.lookup(path).is_some() || self.inodes_by_path.contains_key(path) {
            return Some(path.to_string());
        }
        let mut pending: Vec<&str> = path.split('/').rev().collect();
        let mut done: Vec<&str> = Vec::new();
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            match part {
                "" | "." => continue,
                ".." => {
                    done.pop()?;
                    continue;
                }
                _ => done.push(part),
            }
            if pending.is_empty() {
                break;
            }
            let so_far = done.join("/");
            if let Some(&target) = self.symlinks.get(so_far.as_str()) {
                hops += 1;
                if hops > MAX_HOPS {
                    return None;
                }
                done.pop();
                if target.starts_with('/') {
                    done.clear();
                }
                pending.extend(target.split('/').rev());
            }
        }
        Some(done.join("/"))
    }
}

/// A path as a database writes it (`/usr/bin/x`, `usr/bin/x`, `./x`), relative to `base`
/// (a directory, already normalized; "" for the root): the index's form, or None when it climbs
/// out of the root. Bytes that are not UTF-8 are escaped as the index escapes them. The root
/// itself is `Some("")`.
pub(crate) fn normalize(base: &str, raw: &[u8]) -> Option<String> {
    let mut parts: Vec<&[u8]> = if raw.starts_with(b"/") || base.is_empty() {
        Vec::new()
    } else {
        base.as_bytes().split(|&b| b == b'/').collect()
    };
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(name_from_bytes(&parts.join(&b'/')).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_against_a_base() {
        assert_eq!(normalize("", b"/usr/bin/x").as_deref(), Some("usr/bin/x"));
        assert_eq!(normalize("usr/lib/python3/site-packages", b"../../../bin/x").as_deref(), Some("usr/bin/x"));
        assert_eq!(normalize("usr/lib", b"/etc/x").as_deref(), Some("etc/x"));
        assert_eq!(normalize("", b"/.").as_deref(), Some(""));
        assert_eq!(normalize("a", b"../../etc/passwd"), None);
        assert_eq!(normalize("", b"/caf\xe9").as_deref(), Some("caf\\xe9"));
    }
}
