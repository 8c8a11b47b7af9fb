//! The path index: layers applied bottom-up, the way a container runtime stacks them, while
//! remembering for every shipped file which layer put it there and which layer hid it again.
//!
//! Bytes are counted per inode, not per path, so a file with three hardlinks counts once and
//! stays visible as long as one of its names does.

use std::collections::BTreeMap;

use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

use crate::image::{Change, EntryKind, ImageError, LayerContents, LayerEntry};

/// Why shipped bytes are not in the final filesystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Removal {
    /// A later layer wrote new content at the same path.
    Overwritten,
    /// A later layer wrote the same content again, only mode or owner changed (chmod/chown).
    MetadataOnly,
    /// A `.wh.NAME` whiteout for the file itself.
    FileWhiteout,
    /// A `.wh.NAME` whiteout for a directory above the file.
    DirWhiteout,
    /// `.wh..wh..opq` in a directory above the file.
    OpaqueDir,
    /// A later layer put a file or symlink where a directory above the file was.
    ParentReplaced,
}

#[derive(Clone, Debug)]
pub struct Inode {
    pub layer: usize,
    pub size: u64,
    /// Names that still reach this inode; empty once it is invisible.
    pub paths: Vec<String>,
    /// Its last name, kept for reporting after all names are gone.
    pub last_path: String,
    pub removed: Option<(usize, Removal)>,
}

/// What a path of the final filesystem is, hardlinks resolved to the file they name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    File,
    Dir,
    Symlink,
    /// A device or a fifo.
    Special,
}

/// Type, permission bits and owner of a path: what a container sees besides the content. A
/// hardlink has its target's (they are one inode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    pub file_type: FileType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

#[derive(Clone, Debug)]
struct Node {
    layer: usize,
    meta: Meta,
    inode: Option<usize>,
    /// xxh3 of a file's content (`None` when the layer was read without it), of a symlink's
    /// target.
    content_hash: Option<u64>,
    size: u64,
}

impl Node {
    fn is_dir(&self) -> bool {
        self.meta.file_type == FileType::Dir
    }
}

#[derive(Clone, Debug, Default)]
pub struct LayerCounts {
    pub files_added: u64,
    pub files_changed: u64,
    pub files_metadata_only: u64,
    pub files_removed: u64,
}

#[derive(Debug, Default)]
pub struct PathIndex {
    nodes: BTreeMap<String, Node>,
    pub inodes: Vec<Inode>,
    pub counts: Vec<LayerCounts>,
}

/// The entry that made a file visible in the final filesystem.
pub struct FinalFile<'a> {
    pub path: &'a str,
    pub inode: Option<usize>,
    pub is_dir: bool,
    pub meta: Meta,
    /// xxh3 of a file's content (`None` when the layer was read without contents), or of a
    /// symlink's target; `None` for directories and special files.
    pub content_hash: Option<u64>,
    /// Content bytes of a file (its inode's), 0 for everything else.
    pub size: u64,
}

impl PathIndex {
    pub fn build(layers: &[LayerContents], locations: &[String]) -> Result<Self, ImageError> {
        let mut index = PathIndex::default();
        for (layer, contents) in layers.iter().enumerate() {
            index.counts.push(LayerCounts::default());
            // Whiteouts only hide what lower layers put there, so their order within the tar
            // does not matter; applying them first is the same as applying them anywhere.
            for change in &contents.changes {
                match change {
                    Change::Whiteout(path) => index.whiteout(layer, path),
                    Change::Opaque(dir) => index.remove_below(layer, dir, Removal::OpaqueDir),
                    Change::Put(_) => {}
                }
            }
            for change in &contents.changes {
                if let Change::Put(entry) = change {
                    index.put(layer, entry).map_err(|message| ImageError::Entry {
                        layer,
                        location: locations.get(layer).cloned().unwrap_or_default(),
                        entry: entry.path.clone(),
                        message,
                    })?;
                }
            }
        }
        Ok(index)
    }

    pub fn final_files(&self) -> impl Iterator<Item = FinalFile<'_>> {
        self.nodes.iter().map(|(path, n)| FinalFile {
            path,
            inode: n.inode,
            is_dir: n.is_dir(),
            meta: n.meta,
            content_hash: n.content_hash,
            size: n.size,
        })
    }

    fn whiteout(&mut self, layer: usize, path: &str) {
        // The directory may exist only implicitly (its files' parent), with no entry of its own.
        self.remove_below(layer, path, Removal::DirWhiteout);
        if let Some(node) = self.nodes.get(path) {
            if node.layer < layer {
                let reason = if node.is_dir() { Removal::DirWhiteout } else { Removal::FileWhiteout };
                self.remove(layer, path, reason);
            }
        }
    }

    /// Remove everything lower layers put under `dir` (not `dir` itself).
    fn remove_below(&mut self, layer: usize, dir: &str, reason: Removal) {
        self.remove_older_than(layer, layer, dir, reason);
    }

    /// Remove, on behalf of `layer`, everything under `dir` that layers before `before` put there.
    fn remove_older_than(&mut self, layer: usize, before: usize, dir: &str, reason: Removal) {
        let doomed: Vec<String> = if dir.is_empty() {
            self.nodes.iter().filter(|(_, n)| n.layer < before).map(|(p, _)| p.clone()).collect()
        } else {
            let start = format!("{dir}/");
            let end = format!("{dir}0"); // '0' is the byte after '/'
            self.nodes.range(start..end).filter(|(_, n)| n.layer < before).map(|(p, _)| p.clone()).collect()
        };
        for path in doomed {
            self.remove(layer, &path, reason);
        }
    }

    fn remove(&mut self, layer: usize, path: &str, reason: Removal) {
        let Some(node) = self.nodes.remove(path) else { return };
        if !node.is_dir() {
            self.counts[layer].files_removed += 1;
        }
        self.unlink(node.inode, path, layer, reason);
    }

    fn unlink(&mut self, inode: Option<usize>, path: &str, layer: usize, reason: Removal) {
        let Some(id) = inode else { return };
        let inode = &mut self.inodes[id];
        inode.paths.retain(|p| p != path);
        if inode.paths.is_empty() {
            inode.last_path = path.to_string();
            inode.removed = Some((layer, reason));
        }
    }

    fn put(&mut self, layer: usize, entry: &LayerEntry) -> Result<(), String> {
        let is_dir = entry.kind == EntryKind::Dir;
        self.replace_file_ancestors(layer, &entry.path);
        let existing = self.nodes.get(&entry.path).cloned();
        if let Some(old) = &existing {
            if old.is_dir() && is_dir {
                // mkdir over a directory keeps its contents; only metadata changes.
                if let Some(n) = self.nodes.get_mut(&entry.path) {
                    n.layer = layer;
                    n.meta = Meta { file_type: FileType::Dir, mode: entry.mode, uid: entry.uid, gid: entry.gid };
                }
                return Ok(());
            }
            if old.is_dir() {
                // What this very layer put in the directory goes too: the tar replaced it later.
                self.remove_older_than(layer, layer + 1, &entry.path, Removal::ParentReplaced);
                self.nodes.remove(&entry.path);
            } else {
                let same_content = entry.kind == EntryKind::File
                    && old.inode.is_some()
                    && old.size == entry.size
                    && old.content_hash.is_some()
                    && old.content_hash == entry.content_hash;
                let counts = &mut self.counts[layer];
                counts.files_changed += 1;
                let reason = if same_content {
                    counts.files_metadata_only += 1;
                    Removal::MetadataOnly
                } else {
                    Removal::Overwritten
                };
                self.nodes.remove(&entry.path);
                self.unlink(old.inode, &entry.path, layer, reason);
            }
        } else if !is_dir {
            self.counts[layer].files_added += 1;
        }
        let own = |file_type| Meta { file_type, mode: entry.mode, uid: entry.uid, gid: entry.gid };
        let (inode, meta, content_hash) = match &entry.kind {
            EntryKind::File => {
                self.inodes.push(Inode {
                    layer,
                    size: entry.size,
                    paths: vec![entry.path.clone()],
                    last_path: entry.path.clone(),
                    removed: None,
                });
                (Some(self.inodes.len() - 1), own(FileType::File), entry.content_hash)
            }
            EntryKind::Hardlink(target) => {
                let node = self
                    .nodes
                    .get(target)
                    .ok_or_else(|| format!("hardlink target `{target}` does not exist in this or a lower layer"))?;
                if node.is_dir() {
                    return Err(format!("hardlink to directory `{target}`"));
                }
                let (id, meta, content_hash) = (node.inode, node.meta, node.content_hash);
                if let Some(id) = id {
                    self.inodes[id].paths.push(entry.path.clone());
                }
                (id, meta, content_hash)
            }
            EntryKind::Dir => (None, own(FileType::Dir), None),
            EntryKind::Symlink(target) => (None, own(FileType::Symlink), Some(xxh3_64(target.as_bytes()))),
            EntryKind::Special => (None, own(FileType::Special), None),
        };
        let size = inode.map_or(0, |id| self.inodes[id].size);
        self.nodes.insert(entry.path.clone(), Node { layer, meta, inode, content_hash, size });
        Ok(())
    }

    /// A layer that writes `a/b` where a lower layer has a file `a` replaces that file by a
    /// directory. No node has a file above it (this removal keeps it so), so the walk up stops
    /// at the first ancestor the index holds: linear in entries, whatever the depth.
    fn replace_file_ancestors(&mut self, layer: usize, path: &str) {
        let mut rest = path;
        while let Some((ancestor, _)) = rest.rsplit_once('/') {
            match self.nodes.get(ancestor) {
                Some(n) if n.is_dir() => return,
                Some(_) => {
                    self.remove(layer, ancestor, Removal::Overwritten);
                    return;
                }
                None => rest = ancestor,
            }
        }
    }
}
