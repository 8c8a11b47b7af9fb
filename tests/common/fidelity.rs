//! The fidelity comparer: are two images of one Dockerfile the same image? Read both with
//! imgopt's own reader (any form it opens), then compare
//! - each layer: its uncompressed content bytes and every entry (path, type, mode, owner, size,
//!   content hash, symlink or hardlink target, whiteouts, opaque markers);
//! - the final filesystem the layers make (hardlinks resolved to their content);
//! - the runtime config (Env, Cmd, Entrypoint, User, WorkingDir, Labels, ExposedPorts,
//!   Volumes, OnBuild, StopSignal, Shell).
//!
//! Timestamps are not compared at all: the layer reader does not keep them (docker and buildah
//! stamp the build time on every file a RUN touches, and `created` in the config). Any other
//! difference is reported, unless an [`Allow`] entry explains it.

use std::collections::BTreeMap;
use std::fmt;

use imgopt::image::{Change, EntryKind, Image, ImageRef, LayerEntry};

/// What one path is, as far as fidelity goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    File {
        size: u64,
        hash: u64,
    },
    Dir,
    Symlink(String),
    /// In a layer: a hardlink to this path (the final filesystem resolves it to a File).
    Hardlink(String),
    Special,
    /// `.wh.NAME` in a layer.
    Whiteout,
    /// `.wh..wh..opq` in a layer (keyed by its directory).
    Opaque,
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let owner = format!("{:o} {}:{}", self.mode, self.uid, self.gid);
        match &self.kind {
            NodeKind::File { size, hash } => write!(f, "file {owner} {size} B xxh3 {hash:016x}"),
            NodeKind::Dir => write!(f, "dir {owner}"),
            NodeKind::Symlink(t) => write!(f, "symlink -> {t} ({owner})"),
            NodeKind::Hardlink(t) => write!(f, "hardlink -> {t} ({owner})"),
            NodeKind::Special => write!(f, "special {owner}"),
            NodeKind::Whiteout => write!(f, "whiteout"),
            NodeKind::Opaque => write!(f, "opaque marker"),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct LayerSummary {
    /// Sum of the regular files' sizes.
    pub content_bytes: u64,
    /// Path → what the layer records there. An opaque marker is keyed `DIR/.wh..wh..opq`.
    pub entries: BTreeMap<String, Node>,
    pub created_by: Option<String>,
}

/// An image, reduced to what fidelity compares.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub reference: String,
    pub layers: Vec<LayerSummary>,
    pub final_fs: BTreeMap<String, Node>,
    pub config: BTreeMap<String, serde_json::Value>,
}

/// The config fields that change how a container runs.
pub const CONFIG_FIELDS: &[&str] = &[
    "Env",
    "Cmd",
    "Entrypoint",
    "User",
    "WorkingDir",
    "Labels",
    "ExposedPorts",
    "Volumes",
    "OnBuild",
    "StopSignal",
    "Shell",
];

fn node(e: &LayerEntry) -> Node {
    let kind = match &e.kind {
        EntryKind::File => NodeKind::File {
            size: e.size,
            hash: e.content_hash.unwrap_or_else(|| panic!("{}: content not hashed", e.path)),
        },
        EntryKind::Dir => NodeKind::Dir,
        EntryKind::Symlink(t) => NodeKind::Symlink(t.clone()),
        EntryKind::Hardlink(t) => NodeKind::Hardlink(t.clone()),
        EntryKind::Special => NodeKind::Special,
    };
    Node { kind, mode: e.mode & 0o7777, uid: e.uid, gid: e.gid }
}

fn marker() -> Node {
    Node { kind: NodeKind::Whiteout, mode: 0, uid: 0, gid: 0 }
}

/// Reads an image (`oci:DIR`, `oci-archive:FILE`, `docker-archive:FILE`) and every layer of it,
/// digests verified.
pub fn snapshot(reference: &str) -> Result<Snapshot, String> {
    let image_ref = ImageRef::parse(reference).map_err(|e| format!("{reference}: {e}"))?;
    let image = Image::open(&image_ref, &Default::default()).map_err(|e| format!("{reference}: {e}"))?;
    let history = image.config.layer_history();
    let mut layers = Vec::new();
    let mut fs: BTreeMap<String, Node> = BTreeMap::new();
    for index in 0..image.layers.len() {
        let contents = image.read_layer(index, true).map_err(|e| format!("{reference}: {e}"))?;
        let mut summary = LayerSummary {
            created_by: history.get(index).copied().flatten().and_then(|h| h.created_by.clone()),
            ..Default::default()
        };
        // A layer's whiteouts and opaque markers hide what the layers below made; then its
        // entries land.
        for change in &contents.changes {
            match change {
                Change::Whiteout(p) => {
                    summary.entries.insert(p.clone(), marker());
                    remove_tree(&mut fs, p, true);
                }
                Change::Opaque(d) => {
                    summary.entries.insert(format!("{d}/.wh..wh..opq"), Node { kind: NodeKind::Opaque, ..marker() });
                    remove_tree(&mut fs, d, false);
                }
                Change::Put(_) => {}
            }
        }
        for change in &contents.changes {
            if let Change::Put(e) = change {
                let n = node(e);
                if let NodeKind::File { size, .. } = n.kind {
                    summary.content_bytes += size;
                }
                summary.entries.insert(e.path.clone(), n.clone());
                let resolved = match &n.kind {
                    NodeKind::Hardlink(target) => match fs.get(target) {
                        Some(t) => Node { kind: t.kind.clone(), ..n.clone() },
                        None => n.clone(),
                    },
                    _ => n.clone(),
                };
                if resolved.kind != NodeKind::Dir {
                    remove_tree(&mut fs, &e.path, false);
                }
                fs.insert(e.path.clone(), resolved);
            }
        }
        layers.push(summary);
    }
    let mut config = BTreeMap::new();
    // The typed config read back as JSON: its fields under Docker's names.
    let container = image.config.config.as_ref().map(|c| serde_json::to_value(c).expect("a config serializes"));
    if let Some(serde_json::Value::Object(c)) = &container {
        for field in CONFIG_FIELDS {
            let v = c.get(*field).cloned().unwrap_or(serde_json::Value::Null);
            let empty = match &v {
                serde_json::Value::Null => true,
                serde_json::Value::String(s) => s.is_empty(),
                serde_json::Value::Array(a) => a.is_empty(),
                serde_json::Value::Object(o) => o.is_empty(),
                _ => false,
            };
            if !empty {
                config.insert(field.to_string(), v);
            }
        }
    }
    Ok(Snapshot { reference: reference.to_string(), layers, final_fs: fs, config })
}

/// Removes `path`'s descendants (and `path` itself with `itself`).
fn remove_tree(fs: &mut BTreeMap<String, Node>, path: &str, itself: bool) {
    if itself {
        fs.remove(path);
    }
    let prefix = if path.is_empty() { String::new() } else { format!("{path}/") };
    let doomed: Vec<String> =
        fs.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).map(|(k, _)| k.clone()).collect();
    for k in doomed {
        fs.remove(&k);
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// The layer count, or one layer's content bytes or entries.
    Layer(usize),
    Final,
    Config,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Layer(i) => write!(f, "layer {i}"),
            Place::Final => write!(f, "final fs"),
            Place::Config => write!(f, "config"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub place: Place,
    /// The path (or config field; empty for a layer's totals).
    pub path: String,
    pub a: Option<String>,
    pub b: Option<String>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |s: &Option<String>| s.clone().unwrap_or_else(|| "(absent)".into());
        write!(f, "{} {}: A {} | B {}", self.place, self.path, side(&self.a), side(&self.b))
    }
}

/// A difference that is understood: which paths (a glob over the path, or `*` for a layer's
/// totals, which have an empty path), where, and why.
#[derive(Clone, Debug)]
pub struct Allow {
    pub glob: &'static str,
    /// Only in the layers, only in the final filesystem, or both (None).
    pub final_only: Option<bool>,
    pub reason: &'static str,
}

impl Allow {
    pub const fn anywhere(glob: &'static str, reason: &'static str) -> Allow {
        Allow { glob, final_only: None, reason }
    }
    fn matches(&self, d: &Difference) -> bool {
        let place_ok = matches!(
            (self.final_only, &d.place),
            (None, _) | (Some(true), Place::Final) | (Some(false), Place::Layer(_))
        );
        place_ok && globset::Glob::new(self.glob).expect("allow glob").compile_matcher().is_match(&d.path)
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub unexplained: Vec<Difference>,
    pub explained: Vec<(Difference, &'static str)>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.unexplained.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.unexplained {
            writeln!(f, "  DIFFERS  {d}")?;
        }
        for (d, why) in &self.explained {
            writeln!(f, "  allowed  {d}  [{why}]")?;
        }
        Ok(())
    }
}

fn compare_maps(place: Place, a: &BTreeMap<String, Node>, b: &BTreeMap<String, Node>, out: &mut Vec<Difference>) {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        let (x, y) = (a.get(k), b.get(k));
        if x != y {
            out.push(Difference {
                place: place.clone(),
                path: k.clone(),
                a: x.map(|n| n.to_string()),
                b: y.map(|n| n.to_string()),
            });
        }
    }
}

/// Every difference between A and B, split by the allow-list.
pub fn compare(a: &Snapshot, b: &Snapshot, allow: &[Allow]) -> Report {
    let mut diffs = Vec::new();
    if a.layers.len() != b.layers.len() {
        let list = |s: &Snapshot| {
            format!(
                "{} layers: {}",
                s.layers.len(),
                s.layers.iter().map(|l| l.created_by.clone().unwrap_or_default()).collect::<Vec<_>>().join(" | ")
            )
        };
        diffs.push(Difference {
            place: Place::Layer(0),
            path: "(layer count)".into(),
            a: Some(list(a)),
            b: Some(list(b)),
        });
    }
    for (i, (la, lb)) in a.layers.iter().zip(&b.layers).enumerate() {
        if la.content_bytes != lb.content_bytes {
            diffs.push(Difference {
                place: Place::Layer(i),
                path: String::new(),
                a: Some(format!("{} content bytes", la.content_bytes)),
                b: Some(format!("{} content bytes", lb.content_bytes)),
            });
        }
        compare_maps(Place::Layer(i), &la.entries, &lb.entries, &mut diffs);
    }
    compare_maps(Place::Final, &a.final_fs, &b.final_fs, &mut diffs);
    let mut fields: Vec<&String> = a.config.keys().chain(b.config.keys()).collect();
    fields.sort();
    fields.dedup();
    for k in fields {
        let (x, y) = (a.config.get(k), b.config.get(k));
        if x != y {
            diffs.push(Difference {
                place: Place::Config,
                path: k.clone(),
                a: x.map(|v| v.to_string()),
                b: y.map(|v| v.to_string()),
            });
        }
    }
    let mut report = Report::default();
    for d in diffs {
        match allow.iter().find(|r| r.matches(&d)) {
            Some(r) => report.explained.push((d, r.reason)),
            None => report.unexplained.push(d),
        }
    }
    report
}

/// Differences any two builds show, whoever builds (even docker twice): files that hold a
/// timestamp in their content. Timestamps in the tar headers are not compared at all.
/// Builder-specific lists sit beside the tests that need them.
pub const ALWAYS: &[Allow] = &[
    Allow::anywhere(
        "var/log/{dpkg.log,apt/history.log,apt/term.log,alternatives.log}",
        "apt and dpkg logs: dated lines",
    ),
    Allow::anywhere("var/cache/apt/{pkgcache.bin,srcpkgcache.bin}", "apt's binary caches record the lists' mtimes"),
    Allow::anywhere("var/cache/ldconfig/aux-cache", "ldconfig's cache records the libraries' mtimes"),
    Allow::anywhere("var/cache/debconf/*.dat{,-old}", "debconf's databases: order varies"),
];
