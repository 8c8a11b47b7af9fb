//! The safety check of `imgopt rewrite`: does the rewritten Dockerfile's image still do what the
//! original's did? Both images' final filesystems are compared path by path (type, permission
//! bits, owner, content; a symlink's target is its content) and their configs field by field
//! (the fields that change how a container runs).
//!
//! A file difference inside a directory of the well-known caches and docs table
//! ([`crate::model::caches`], the table the linter and the analyzer read) is *expected*: removing
//! package indexes, download caches and docs is what the rewrite is for. Everything else, and
//! every config difference, is not.
//!
//! The final filesystem is the analyzer's [`PathIndex`]: the layers applied in order, whiteouts,
//! opaque directories and hardlinks resolved as a container runtime resolves them. Layers are read
//! with their digests verified, which hashes every file's content on the way.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::analyze::index::{FileType, FinalFile, PathIndex};
use crate::analyze::render::human;
use crate::escape;
use crate::image::spec::{ContainerConfig, Empty, Healthcheck};
use crate::image::{Image, ImageError, LayerContents};
use crate::model::caches;

/// Compare the image built from the original Dockerfile (`before`) with the rewritten one's
/// (`after`).
pub fn compare(before: &Image, after: &Image) -> Result<Comparison, ImageError> {
    let (old, new) = rayon::join(|| final_filesystem(before), || final_filesystem(after));
    Ok(compare_read(before, &old?, after, &new?))
}

/// [`compare`] of two images whose final filesystems were read already (one original
/// compared with several proposals reads its own once).
pub fn compare_read(before: &Image, old: &PathIndex, after: &Image, new: &PathIndex) -> Comparison {
    Comparison {
        files: compare_files(old, new),
        config: compare_configs(before.config.config.as_ref(), after.config.config.as_ref()),
    }
}

/// The image's layers applied bottom-up, every file's content hashed.
pub fn final_filesystem(image: &Image) -> Result<PathIndex, ImageError> {
    // With verification on, the reader streams every file's content through xxh3.
    let layers: Vec<LayerContents> =
        (0..image.layers.len()).into_par_iter().map(|i| image.read_layer(i, true)).collect::<Result<_, _>>()?;
    let locations: Vec<String> = image.layers.iter().map(|l| l.location.clone()).collect();
    PathIndex::build(&layers, &locations)
}

/// How two images differ, and which differences the caches and docs table explains.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Comparison {
    /// Every path that differs, in path order.
    pub files: Vec<FileDifference>,
    /// Every config value that differs, field by field in the order [`compare_configs`] lists.
    pub config: Vec<ConfigDifference>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileDifference {
    /// As a container sees it: `/usr/bin/gcc-12`.
    pub path: String,
    pub change: FileChange,
    /// Content bytes of the path in each image (0 where it is absent or not a regular file).
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// The entry of the caches and docs table the path is in (`apt-lists`, `pip`, `docs`...):
    /// the difference is expected. `None`: it is not.
    pub expected: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileChange {
    /// In the first image only.
    Removed { was: FileType },
    /// In the second image only.
    Added { is: FileType },
    /// A file became a directory, a symlink a file...
    TypeChanged { before: FileType, after: FileType },
    /// The same type, and at least one of these differs.
    Modified {
        is: FileType,
        /// The content (a symlink's target). A file whose content could not be hashed (a GNU
        /// sparse entry) counts as changed: the check does not claim what it has not seen.
        content: bool,
        /// Permission bits (`0o7777`), before and after.
        #[serde(skip_serializing_if = "Option::is_none")]
        mode: Option<[u32; 2]>,
        #[serde(skip_serializing_if = "Option::is_none")]
        owner: Option<[Owner; 2]>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Owner {
    pub uid: u64,
    pub gid: u64,
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.uid, self.gid)
    }
}

impl FileChange {
    /// What happened, in a few words: `removed`, `mode changed`, `content and owner changed`.
    pub fn label(&self) -> String {
        match self {
            FileChange::Removed { .. } => REMOVED.into(),
            FileChange::Added { .. } => "added".into(),
            FileChange::TypeChanged { .. } => "type changed".into(),
            FileChange::Modified { content, mode, owner, .. } => {
                let aspects: Vec<&str> = [(*content, "content"), (mode.is_some(), "mode"), (owner.is_some(), "owner")]
                    .into_iter()
                    .filter_map(|(differs, name)| differs.then_some(name))
                    .collect();
                match aspects.as_slice() {
                    [.., last] if aspects.len() > 1 => {
                        format!("{} and {last} changed", aspects[..aspects.len() - 1].join(", "))
                    }
                    _ => format!("{} changed", aspects.join("")),
                }
            }
        }
    }

    /// The type of the path in the image that has it (the second, when both do).
    pub fn file_type(&self) -> FileType {
        match self {
            FileChange::Removed { was } => *was,
            FileChange::Added { is } | FileChange::Modified { is, .. } => *is,
            FileChange::TypeChanged { after, .. } => *after,
        }
    }
}

impl Comparison {
    /// The file differences the caches and docs table does not explain.
    pub fn unexpected(&self) -> impl Iterator<Item = &FileDifference> {
        self.files.iter().filter(|f| f.expected.is_none())
    }

    /// Whether the images hold the same files outside the caches and docs table and run with the
    /// same config.
    pub fn is_safe(&self) -> bool {
        self.config.is_empty() && self.unexpected().next().is_none()
    }

    /// The file differences folded into a few lines: those under one cache or docs directory,
    /// those under a directory that was itself removed or added, and runs of the same change in
    /// one directory become one [`Group`] each. Unexpected groups come first, then by path.
    pub fn grouped(&self) -> Vec<Group> {
        group(&self.files)
    }
}

/// Several file differences of the same kind under one directory (or one difference alone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The directory that holds them, or the one path that differs (`single`).
    pub path: String,
    /// The group is the one path `path`, not what is below it.
    pub single: bool,
    /// [`FileChange::label`] of every difference in the group.
    pub change: String,
    /// How many of the paths are directories, how many something else.
    pub files: u64,
    pub dirs: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub expected: Option<&'static str>,
    /// For a group of one difference: what it is, e.g. `mode 0644 → 0755`, `file → symlink`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// [`FileChange::label`] of a removal.
const REMOVED: &str = "removed";

/// Differences in one directory that fold into one line, when none of the other rules applies.
const FOLD_AT: u64 = 4;

fn group(files: &[FileDifference]) -> Vec<Group> {
    // A directory that is itself removed (added) takes in everything removed (added) below it.
    let whole_dirs: HashSet<(&str, Side)> = files
        .iter()
        .filter(|f| f.change.file_type() == FileType::Dir)
        .filter_map(|f| Some((f.path.as_str(), side(&f.change)?)))
        .collect();
    // Keyed by (directory, label) when unexpected, by (table entry, label) when expected.
    let mut unexpected: BTreeMap<(String, String), Group> = BTreeMap::new();
    let mut expected: BTreeMap<(&'static str, String), Group> = BTreeMap::new();
    let mut alone: Vec<(&FileDifference, String)> = Vec::new();
    for f in files {
        let label = f.change.label();
        if let Some((known, dir)) = f.expected.and_then(|_| caches::classify(&f.path)) {
            // One line per entry of the table: its directories' common ancestor (every
            // `__pycache__` of a Python tree, `/usr/share` for man pages and docs).
            let g = expected.entry((known.name, label.clone())).or_insert_with(|| Group::new(dir.clone(), label, f));
            g.path = common_dir(&g.path, &dir).to_string();
            g.add(f);
            continue;
        }
        match side(&f.change).and_then(|side| topmost_dir(&f.path, side, &whole_dirs)) {
            Some(root) => unexpected
                .entry((root.to_string(), label.clone()))
                .or_insert_with(|| Group::new(root.to_string(), label, f))
                .add(f),
            None => alone.push((f, label)),
        }
    }
    // Runs of the same change in one directory: one line for the directory.
    let mut per_parent: HashMap<(&str, &str), u64> = HashMap::new();
    for (f, label) in &alone {
        *per_parent.entry((parent(&f.path), label.as_str())).or_default() += 1;
    }
    for (f, label) in &alone {
        let dir = parent(&f.path);
        let folds = per_parent.get(&(dir, label.as_str())).is_some_and(|&n| n >= FOLD_AT);
        let path = if folds { dir } else { f.path.as_str() };
        unexpected
            .entry((path.to_string(), label.clone()))
            .or_insert_with(|| Group::new(path.to_string(), label.clone(), f))
            .add(f);
    }
    let mut expected: Vec<Group> = expected.into_values().collect();
    expected.sort_by(|a, b| (&a.path, &a.change).cmp(&(&b.path, &b.change)));
    unexpected.into_values().chain(expected).collect()
}

impl Group {
    /// Paths only the first image has: a multi-stage build's toolchain is such a group.
    pub fn is_removal(&self) -> bool {
        self.change == REMOVED
    }

    fn new(path: String, change: String, first: &FileDifference) -> Group {
        Group {
            single: false,
            path,
            change,
            files: 0,
            dirs: 0,
            bytes_before: 0,
            bytes_after: 0,
            expected: first.expected,
            detail: None,
        }
    }

    fn add(&mut self, f: &FileDifference) {
        if f.change.file_type() == FileType::Dir {
            self.dirs += 1;
        } else {
            self.files += 1;
        }
        self.bytes_before += f.bytes_before;
        self.bytes_after += f.bytes_after;
        // Details are told for a line about one path only.
        self.single = self.files + self.dirs == 1 && self.path == f.path;
        self.detail = if self.single { detail(&f.change) } else { None };
    }
}

/// The deepest directory holding both paths (absolute, without a trailing `/`).
fn common_dir<'a>(a: &'a str, b: &str) -> &'a str {
    let mut end = 0;
    for (x, y) in a.split('/').zip(b.split('/')) {
        if x != y {
            break;
        }
        end += x.len() + 1;
    }
    match end.saturating_sub(1) {
        0 => "/",
        n => &a[..n.min(a.len())],
    }
}

/// Which image alone has the path.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    Before,
    After,
}

fn side(change: &FileChange) -> Option<Side> {
    match change {
        FileChange::Removed { .. } => Some(Side::Before),
        FileChange::Added { .. } => Some(Side::After),
        FileChange::TypeChanged { .. } | FileChange::Modified { .. } => None,
    }
}

/// The highest ancestor of `path` (or `path` itself) that is a directory only `side` has.
fn topmost_dir<'a>(path: &'a str, side: Side, whole_dirs: &HashSet<(&str, Side)>) -> Option<&'a str> {
    let mut found = None;
    let mut end = path.len();
    loop {
        let candidate = &path[..end];
        if whole_dirs.contains(&(candidate, side)) {
            found = Some(candidate);
        }
        match candidate.rfind('/') {
            Some(i) if i > 0 => end = i,
            _ => return found,
        }
    }
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::File => "file",
        FileType::Dir => "directory",
        FileType::Symlink => "symlink",
        FileType::Special => "special file",
    }
}

fn detail(change: &FileChange) -> Option<String> {
    match change {
        FileChange::Removed { was: t } | FileChange::Added { is: t } => Some(type_name(*t).to_string()),
        FileChange::TypeChanged { before, after } => Some(format!("{} → {}", type_name(*before), type_name(*after))),
        FileChange::Modified { mode, owner, .. } => {
            let mut parts = Vec::new();
            if let Some([a, b]) = mode {
                parts.push(format!("mode {a:04o} → {b:04o}"));
            }
            if let Some([a, b]) = owner {
                parts.push(format!("owner {a} → {b}"));
            }
            (!parts.is_empty()).then(|| parts.join(", "))
        }
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let what = match (self.files, self.dirs) {
            _ if self.single => String::new(),
            (files, 0) => format!("{} ", count(files, "file", "files")),
            (0, dirs) => format!("{} ", count(dirs, "directory", "directories")),
            (files, dirs) => {
                format!("{} and {} ", count(files, "file", "files"), count(dirs, "directory", "directories"))
            }
        };
        write!(f, "{}: {what}{}", escape::control(&self.path), self.change)?;
        let mut notes = Vec::new();
        if let Some(detail) = &self.detail {
            notes.push(detail.clone());
        }
        match (self.bytes_before, self.bytes_after) {
            // The same size says nothing (a mode change, a rewrite of the same length).
            (b, a) if b == a => {}
            (b, 0) => notes.push(human(b)),
            (0, a) => notes.push(human(a)),
            (b, a) => notes.push(format!("{} → {}", human(b), human(a))),
        }
        if let Some(name) = self.expected {
            notes.push(format!("expected: {name}"));
        }
        if !notes.is_empty() {
            write!(f, " ({})", notes.join(", "))?;
        }
        Ok(())
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.files.is_empty() && self.config.is_empty() {
            return writeln!(f, "the images hold the same files and run with the same config");
        }
        let unexpected = self.unexpected().count();
        writeln!(
            f,
            "{} paths differ ({unexpected} unexpected, {} inside the caches and docs table); {} config values differ",
            self.files.len(),
            self.files.len() - unexpected,
            self.config.len()
        )?;
        for g in self.grouped() {
            writeln!(f, "  {g}")?;
        }
        for c in &self.config {
            writeln!(f, "  {c}")?;
        }
        Ok(())
    }
}

/// Both final filesystems walked together in path order.
pub fn compare_files(before: &PathIndex, after: &PathIndex) -> Vec<FileDifference> {
    let mut old = before.final_files().peekable();
    let mut new = after.final_files().peekable();
    let mut out = Vec::new();
    loop {
        let order = match (old.peek(), new.peek()) {
            (None, None) => return out,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some(a), Some(b)) => a.path.cmp(b.path),
        };
        let difference = match order {
            std::cmp::Ordering::Less => old.next().map(|a| removed(&a)),
            std::cmp::Ordering::Greater => new.next().map(|b| added(&b)),
            std::cmp::Ordering::Equal => match (old.next(), new.next()) {
                (Some(a), Some(b)) => changed(&a, &b),
                _ => None,
            },
        };
        out.extend(difference);
    }
}

fn difference(path: &str, change: FileChange, bytes_before: u64, bytes_after: u64) -> FileDifference {
    let path = format!("/{path}");
    let expected = caches::classify(&path).map(|(known, _)| known.name);
    FileDifference { path, change, bytes_before, bytes_after, expected }
}

fn removed(a: &FinalFile<'_>) -> FileDifference {
    difference(a.path, FileChange::Removed { was: a.meta.file_type }, a.size, 0)
}

fn added(b: &FinalFile<'_>) -> FileDifference {
    difference(b.path, FileChange::Added { is: b.meta.file_type }, 0, b.size)
}

fn changed(a: &FinalFile<'_>, b: &FinalFile<'_>) -> Option<FileDifference> {
    let (x, y) = (a.meta, b.meta);
    if x.file_type != y.file_type {
        let change = FileChange::TypeChanged { before: x.file_type, after: y.file_type };
        return Some(difference(a.path, change, a.size, b.size));
    }
    let content = match x.file_type {
        FileType::File | FileType::Symlink => {
            a.size != b.size || a.content_hash.is_none() || a.content_hash != b.content_hash
        }
        FileType::Dir | FileType::Special => false,
    };
    // A symlink's own permission bits mean nothing on Linux.
    let (mode_a, mode_b) = (x.mode & 0o7777, y.mode & 0o7777);
    let mode = (x.file_type != FileType::Symlink && mode_a != mode_b).then_some([mode_a, mode_b]);
    let (owner_a, owner_b) = (Owner { uid: x.uid, gid: x.gid }, Owner { uid: y.uid, gid: y.gid });
    let owner = (owner_a != owner_b).then_some([owner_a, owner_b]);
    if !content && mode.is_none() && owner.is_none() {
        return None;
    }
    let change = FileChange::Modified { is: x.file_type, content, mode, owner };
    Some(difference(a.path, change, a.size, b.size))
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConfigDifference {
    /// The field, in Docker's name (see [`compare_configs`]).
    pub field: &'static str,
    /// The variable (`Env`), label (`Labels`), port (`ExposedPorts`) or volume (`Volumes`) that
    /// differs; none for the other fields, which are compared whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The value in each image, as the config spells it; `None` where the image does not set it.
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl fmt::Display for ConfigDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.field)?;
        if let Some(key) = &self.key {
            write!(f, " {}", escape::control(key))?;
        }
        // JSON text escapes control characters: a value cannot reach the terminal raw.
        let shown = |v: &Value| match v {
            Value::Object(o) if o.is_empty() => None,
            v => Some(v.to_string()),
        };
        match (&self.before, &self.after) {
            (None, Some(v)) => write!(f, ": added{}", shown(v).map(|s| format!(" {s}")).unwrap_or_default()),
            (Some(v), None) => write!(f, ": removed{}", shown(v).map(|s| format!(" {s}")).unwrap_or_default()),
            (Some(a), Some(b)) => write!(f, ": {a} → {b}"),
            (None, None) => Ok(()),
        }
    }
}

/// The config fields that change how a container runs, compared in this order: Env (variable by
/// variable), User, WorkingDir, Entrypoint, Cmd, ExposedPorts and Volumes (member by member),
/// Labels (label by label), Healthcheck, StopSignal. An unset field and an empty one (`"User":
/// ""`, `"Cmd": []`, no labels) are the same to a container runtime and compare equal.
pub fn compare_configs(before: Option<&ContainerConfig>, after: Option<&ContainerConfig>) -> Vec<ConfigDifference> {
    let empty = ContainerConfig::default();
    let (a, b) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
    let whole = |field: &'static str, x: Option<Value>, y: Option<Value>| {
        (x != y).then_some(ConfigDifference { field, key: None, before: x, after: y })
    };
    let text = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(|s| Value::String(s.to_string()));
    let list = |l: &Option<Vec<String>>| {
        l.as_ref().filter(|l| !l.is_empty()).map(|l| Value::Array(l.iter().cloned().map(Value::String).collect()))
    };
    // `KEY=value`; a repeated KEY keeps its last value, as Docker's ENV replaces it.
    let env = |c: &ContainerConfig| -> BTreeMap<String, Value> {
        c.env
            .iter()
            .flatten()
            .map(|entry| match entry.split_once('=') {
                Some((name, value)) => (name.to_string(), Value::String(value.to_string())),
                None => (entry.clone(), Value::Null),
            })
            .collect()
    };
    let members = |set: &Option<BTreeMap<String, Empty>>| -> BTreeMap<String, Value> {
        set.iter().flatten().map(|(k, _)| (k.clone(), Value::Object(Default::default()))).collect()
    };
    let labels = |l: &Option<BTreeMap<String, String>>| -> BTreeMap<String, Value> {
        l.iter().flatten().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect()
    };
    let health = |h: &Option<Healthcheck>| h.as_ref().and_then(|h| serde_json::to_value(h).ok());
    let mut out = per_key("Env", env(a), env(b));
    out.extend(whole("User", text(&a.user), text(&b.user)));
    out.extend(whole("WorkingDir", text(&a.working_dir), text(&b.working_dir)));
    out.extend(whole("Entrypoint", list(&a.entrypoint), list(&b.entrypoint)));
    out.extend(whole("Cmd", list(&a.cmd), list(&b.cmd)));
    out.extend(per_key("ExposedPorts", members(&a.exposed_ports), members(&b.exposed_ports)));
    out.extend(per_key("Volumes", members(&a.volumes), members(&b.volumes)));
    out.extend(per_key("Labels", labels(&a.labels), labels(&b.labels)));
    out.extend(whole("Healthcheck", health(&a.healthcheck), health(&b.healthcheck)));
    out.extend(whole("StopSignal", text(&a.stop_signal), text(&b.stop_signal)));
    out
}

/// The keys whose values differ, in key order.
fn per_key(
    field: &'static str,
    mut a: BTreeMap<String, Value>,
    mut b: BTreeMap<String, Value>,
) -> Vec<ConfigDifference> {
    let keys: BTreeSet<String> = a.keys().chain(b.keys()).cloned().collect();
    keys.into_iter()
        .filter_map(|key| {
            let (x, y) = (a.remove(&key), b.remove(&key));
            (x != y).then_some(ConfigDifference { field, key: Some(key), before: x, after: y })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use xxhash_rust::xxh3::xxh3_64;

    use super::*;
    use crate::image::{Change, Compression, EntryKind, LayerEntry};

    fn put(path: &str, kind: EntryKind, content: &[u8], mode: u32, owner: u64) -> Change {
        let hashed = matches!(kind, EntryKind::File);
        Change::Put(LayerEntry {
            path: path.into(),
            kind,
            size: if hashed { content.len() as u64 } else { 0 },
            mode,
            uid: owner,
            gid: owner,
            content_hash: hashed.then(|| xxh3_64(content)),
            data_offset: 0,
        })
    }

    fn file(path: &str, content: &str) -> Change {
        put(path, EntryKind::File, content.as_bytes(), 0o644, 0)
    }

    fn dir(path: &str) -> Change {
        put(path, EntryKind::Dir, b"", 0o755, 0)
    }

    fn symlink(path: &str, target: &str) -> Change {
        put(path, EntryKind::Symlink(target.into()), b"", 0o777, 0)
    }

    fn hardlink(path: &str, target: &str) -> Change {
        put(path, EntryKind::Hardlink(target.into()), b"", 0o644, 0)
    }

    /// The final filesystem of these layers, bottom first.
    fn fs(layers: Vec<Vec<Change>>) -> PathIndex {
        let contents: Vec<LayerContents> = layers
            .into_iter()
            .map(|changes| LayerContents {
                changes,
                tar_bytes: 0,
                blob_bytes: 0,
                compression: Compression::None,
                blob_digest: None,
                diff_id: None,
                header_bytes: 0,
                kept: Vec::new(),
            })
            .collect();
        let locations = vec![String::new(); contents.len()];
        PathIndex::build(&contents, &locations).unwrap()
    }

    fn differences(before: Vec<Vec<Change>>, after: Vec<Vec<Change>>) -> Vec<FileDifference> {
        compare_files(&fs(before), &fs(after))
    }

    /// (path, label) of each difference.
    fn labels(files: &[FileDifference]) -> Vec<(&str, String)> {
        files.iter().map(|f| (f.path.as_str(), f.change.label())).collect()
    }

    #[test]
    fn the_same_filesystem_in_other_layers_is_no_difference() {
        // A file written then deleted, a chmod copy, a directory made twice: the final
        // filesystem is what counts, not how the layers got there.
        let before = vec![
            vec![dir("app"), file("app/main.py", "print(1)\n"), file("tmp.tar", "xxxxxxxx")],
            vec![Change::Whiteout("tmp.tar".into()), put("app/main.py", EntryKind::File, b"print(1)\n", 0o755, 0)],
        ];
        let after = vec![vec![dir("app"), put("app/main.py", EntryKind::File, b"print(1)\n", 0o755, 0)]];
        assert_eq!(differences(before, after), []);
    }

    #[test]
    fn each_kind_of_change_is_told_apart() {
        let before = vec![vec![
            dir("etc"),
            file("etc/gone", "old"),
            file("etc/conf", "abc"),
            file("etc/mode", "m"),
            file("etc/owner", "o"),
            file("etc/both", "b"),
            file("etc/becomes-link", "x"),
            dir("etc/becomes-file"),
            symlink("etc/link", "conf"),
            symlink("etc/link-mode", "conf"),
            // Type bits in the tar mode are not permission bits.
            put("etc/typebits", EntryKind::File, b"t", 0o100644, 0),
        ]];
        let after = vec![vec![
            dir("etc"),
            file("etc/new", "new"),
            file("etc/conf", "abd"),
            put("etc/mode", EntryKind::File, b"m", 0o755, 0),
            put("etc/owner", EntryKind::File, b"o", 0o644, 1000),
            put("etc/both", EntryKind::File, b"bb", 0o600, 1000),
            symlink("etc/becomes-link", "conf"),
            file("etc/becomes-file", ""),
            symlink("etc/link", "new"),
            put("etc/link-mode", EntryKind::Symlink("conf".into()), b"", 0o755, 0),
            file("etc/typebits", "t"),
        ]];
        let found = differences(before, after);
        assert_eq!(
            labels(&found),
            [
                ("/etc/becomes-file", "type changed".to_string()),
                ("/etc/becomes-link", "type changed".into()),
                ("/etc/both", "content, mode and owner changed".into()),
                ("/etc/conf", "content changed".into()),
                ("/etc/gone", "removed".into()),
                ("/etc/link", "content changed".into()),
                ("/etc/mode", "mode changed".into()),
                ("/etc/new", "added".into()),
                ("/etc/owner", "owner changed".into()),
            ]
        );
        let by_path = |p: &str| found.iter().find(|f| f.path == p).unwrap();
        assert_eq!(
            by_path("/etc/becomes-file").change,
            FileChange::TypeChanged { before: FileType::Dir, after: FileType::File }
        );
        assert_eq!(
            by_path("/etc/both").change,
            FileChange::Modified {
                is: FileType::File,
                content: true,
                mode: Some([0o644, 0o600]),
                owner: Some([Owner { uid: 0, gid: 0 }, Owner { uid: 1000, gid: 1000 }]),
            }
        );
        assert_eq!((by_path("/etc/both").bytes_before, by_path("/etc/both").bytes_after), (1, 2));
        assert_eq!((by_path("/etc/gone").bytes_before, by_path("/etc/gone").bytes_after), (3, 0));
        assert_eq!(by_path("/etc/new").change, FileChange::Added { is: FileType::File });
        assert!(found.iter().all(|f| f.expected.is_none()));
    }

    #[test]
    fn whiteouts_remove_the_path_and_everything_below() {
        let before = vec![
            vec![
                dir("opt"),
                dir("opt/tool"),
                dir("opt/tool/lib"),
                file("opt/tool/lib/a.so", "a"),
                file("opt/keep", "k"),
            ],
            vec![Change::Whiteout("opt/tool".into())],
        ];
        assert_eq!(differences(before.clone(), vec![vec![dir("opt"), file("opt/keep", "k")]]), []);
        // Without the whiteout, the whole tree is there.
        let after = vec![before[0].clone()];
        assert_eq!(
            labels(&differences(before, after)),
            [
                ("/opt/tool", "added".to_string()),
                ("/opt/tool/lib", "added".into()),
                ("/opt/tool/lib/a.so", "added".into())
            ]
        );
    }

    #[test]
    fn an_opaque_directory_hides_what_lower_layers_put_in_it() {
        let before = vec![
            vec![dir("srv"), file("srv/old.html", "old"), dir("srv/css"), file("srv/css/a.css", "a")],
            vec![Change::Opaque("srv".into()), dir("srv"), file("srv/index.html", "new")],
        ];
        let after = vec![vec![dir("srv"), file("srv/index.html", "new")]];
        assert_eq!(differences(before.clone(), after), []);
        let after = vec![vec![dir("srv"), file("srv/index.html", "new"), file("srv/old.html", "old")]];
        assert_eq!(labels(&differences(before, after)), [("/srv/old.html", "added".to_string())]);
    }

    #[test]
    fn hardlinks_have_their_targets_content_and_metadata() {
        let tool = put("usr/bin/tool", EntryKind::File, b"#!/bin/sh\n", 0o755, 0);
        let before = vec![vec![dir("usr"), dir("usr/bin"), tool.clone(), hardlink("usr/bin/tool2", "usr/bin/tool")]];
        let copied = put("usr/bin/tool2", EntryKind::File, b"#!/bin/sh\n", 0o755, 0);
        let after = vec![vec![dir("usr"), dir("usr/bin"), tool.clone(), copied]];
        assert_eq!(differences(before.clone(), after), []);
        let other = put("usr/bin/tool2", EntryKind::File, b"#!/bin/bash\n", 0o755, 0);
        let after = vec![vec![dir("usr"), dir("usr/bin"), tool, other]];
        let found = differences(before, after);
        assert_eq!(labels(&found), [("/usr/bin/tool2", "content changed".to_string())]);
        assert_eq!((found[0].bytes_before, found[0].bytes_after), (10, 12));
    }

    #[test]
    fn content_that_was_not_hashed_is_not_called_the_same() {
        let unhashed = || {
            let mut c = file("var/log/lastlog", "0000");
            if let Change::Put(e) = &mut c {
                e.content_hash = None;
            }
            c
        };
        let found = differences(vec![vec![unhashed()]], vec![vec![unhashed()]]);
        assert_eq!(labels(&found), [("/var/log/lastlog", "content changed".to_string())]);
    }

    #[test]
    fn differences_inside_the_caches_and_docs_table_are_expected() {
        let before = vec![vec![
            file("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "r"),
            file("root/.cache/pip/http/a/b", "w"),
            file("home/app/.npm/_cacache/x", "n"),
            file("usr/share/doc/curl/copyright", "c"),
            file("usr/bin/gcc", "elf"),
        ]];
        let comparison = Comparison { files: differences(before, vec![vec![]]), config: Vec::new() };
        let expected: Vec<(&str, Option<&str>)> =
            comparison.files.iter().map(|f| (f.path.as_str(), f.expected)).collect();
        assert_eq!(
            expected,
            [
                ("/home/app/.npm/_cacache/x", Some("npm")),
                ("/root/.cache/pip/http/a/b", Some("pip")),
                ("/usr/bin/gcc", None),
                ("/usr/share/doc/curl/copyright", Some("docs")),
                ("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", Some("apt-lists")),
            ]
        );
        let unexpected: Vec<&str> = comparison.unexpected().map(|f| f.path.as_str()).collect();
        assert_eq!(unexpected, ["/usr/bin/gcc"]);
        assert!(!comparison.is_safe());
        let only_caches = Comparison {
            files: comparison.files.into_iter().filter(|f| f.expected.is_some()).collect(),
            config: Vec::new(),
        };
        assert!(only_caches.is_safe());
    }

    fn container(json: serde_json::Value) -> ContainerConfig {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn config_fields_are_compared_value_by_value() {
        let before = container(serde_json::json!({
            "Env": ["PATH=/usr/bin:/bin", "LANG=C.UTF-8", "GONE=1"],
            "User": "",
            "WorkingDir": "/app",
            "Entrypoint": null,
            "Cmd": ["python3", "app.py"],
            "ExposedPorts": {"5000/tcp": {}},
            "Labels": {"org.opencontainers.image.version": "1.0"},
            "StopSignal": "SIGTERM",
            "Shell": ["/bin/sh", "-c"],
        }));
        let after = container(serde_json::json!({
            "Env": ["LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin", "NEW="],
            "WorkingDir": "/srv",
            "Entrypoint": [],
            "Cmd": ["python3", "-m", "app"],
            "ExposedPorts": {"5000/tcp": {}, "8080/tcp": {}},
            "Volumes": {"/data": {}},
            "Labels": {"org.opencontainers.image.version": "1.1"},
            "Healthcheck": {"Test": ["CMD", "true"], "Interval": 30_000_000_000_i64},
            "StopSignal": "SIGTERM",
            "Shell": ["/bin/bash", "-c"],
        }));
        let found = compare_configs(Some(&before), Some(&after));
        let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "Env GONE: removed \"1\"",
                "Env NEW: added \"\"",
                "Env PATH: \"/usr/bin:/bin\" → \"/usr/local/bin:/usr/bin:/bin\"",
                "WorkingDir: \"/app\" → \"/srv\"",
                "Cmd: [\"python3\",\"app.py\"] → [\"python3\",\"-m\",\"app\"]",
                "ExposedPorts 8080/tcp: added",
                "Volumes /data: added",
                "Labels org.opencontainers.image.version: \"1.0\" → \"1.1\"",
                "Healthcheck: added {\"Interval\":30000000000,\"Test\":[\"CMD\",\"true\"]}",
            ]
        );
        // Unset and empty are the same; Shell is not among the compared fields.
        assert_eq!(compare_configs(Some(&before), Some(&before)), []);
        let bare = container(serde_json::json!({"User": "", "Cmd": [], "Labels": {}}));
        assert_eq!(compare_configs(None, Some(&bare)), []);
        let user = container(serde_json::json!({"User": "app"}));
        assert_eq!(compare_configs(Some(&bare), Some(&user))[0].to_string(), "User: added \"app\"");
    }

    #[test]
    fn many_differences_fold_into_a_few_lines() {
        let mut base = vec![dir("usr"), dir("usr/share"), dir("usr/share/doc"), dir("usr/bin"), dir("opt")];
        let mut before = base.clone();
        for package in ["curl", "gcc-12", "make"] {
            before.push(dir(&format!("usr/share/doc/{package}")));
            for n in 0..4 {
                before.push(file(&format!("usr/share/doc/{package}/f{n}"), "0123456789"));
            }
        }
        before.extend([dir("opt/sdk"), dir("opt/sdk/bin"), file("opt/sdk/bin/cc", "elf"), file("opt/sdk/README", "r")]);
        for tool in ["a", "b", "c", "d"] {
            before.push(file(&format!("usr/bin/{tool}"), "x"));
        }
        before.push(file("usr/bin/e", "old"));
        before.push(file("etc-conf", "1"));
        base.push(file("usr/bin/e", "new!"));
        base.push(put("etc-conf", EntryKind::File, b"1", 0o600, 0));
        // Bytecode rewritten in two packages: one line at their common directory.
        for package in ["flask", "jinja2"] {
            before.push(file(&format!("site/{package}/__pycache__/m.pyc"), "stamp 1"));
            base.push(file(&format!("site/{package}/__pycache__/m.pyc"), "stamp 2"));
        }
        // One file in a cache directory is counted, not taken for the directory itself.
        base.push(file("root/.npm/_logs/debug.log", "npm"));
        let comparison = Comparison { files: differences(vec![before], vec![base]), config: Vec::new() };
        let lines: Vec<String> = comparison.grouped().iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "/etc-conf: mode changed (mode 0644 → 0600)",
                "/opt/sdk: 2 files and 2 directories removed (4 B)",
                "/usr/bin: 4 files removed (4 B)",
                "/usr/bin/e: content changed (3 B → 4 B)",
                "/root/.npm: 1 file added (3 B, expected: npm)",
                "/site: 2 files content changed (expected: python-bytecode)",
                "/usr/share/doc: 12 files and 3 directories removed (120 B, expected: docs)",
            ]
        );
        let text = comparison.to_string();
        assert!(text.starts_with("28 paths differ (10 unexpected, 18 inside the caches and docs table)"), "{text}");
    }

    #[test]
    fn paths_and_values_reach_the_terminal_inert() {
        let comparison = Comparison {
            files: differences(vec![vec![file("evil\u{1b}[2J", "x")]], vec![vec![]]),
            config: compare_configs(None, Some(&container(serde_json::json!({"Env": ["K\u{7}=v\u{1b}"]})))),
        };
        let text = comparison.to_string();
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{text:?}");
        assert!(text.contains("/evil\\x1b[2J: removed (file, 1 B)"), "{text}");
    }

    #[test]
    fn the_json_form_names_every_part() {
        let comparison = Comparison {
            files: differences(vec![vec![file("usr/share/man/ls.1", "m")]], vec![vec![]]),
            config: compare_configs(None, Some(&container(serde_json::json!({"User": "app"})))),
        };
        assert_eq!(
            serde_json::to_value(&comparison).unwrap(),
            serde_json::json!({
                "files": [{
                    "path": "/usr/share/man/ls.1",
                    "change": {"kind": "removed", "was": "file"},
                    "bytes_before": 1,
                    "bytes_after": 0,
                    "expected": "docs",
                }],
                "config": [{"field": "User", "before": null, "after": "app"}],
            })
        );
    }
}
