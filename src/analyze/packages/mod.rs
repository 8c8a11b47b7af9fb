//! Bytes per package: which installed package costs how much, in which layer.
//!
//! Package databases are read from the layers as they stream by (their files' contents are kept,
//! [`keep`]): dpkg (`var/lib/dpkg/status` with `info/*.list`, or distroless' `status.d/`), apk
//! (`lib/apk/db/installed`), Python (`*.dist-info/RECORD`), npm (`node_modules/*/package.json`)
//! and gems (`specifications/*.gemspec`, by name only). An rpm database is found and said to be
//! unread. Each package's listed paths are looked up in the [`PathIndex`]; a package is charged
//! with the inodes at its paths, per layer, each inode once.
//!
//! Definitions, per package:
//! - *layer*: the layer that installed it. For a database rewritten whole on each install (dpkg's
//!   `status`, apk's `installed`), the first layer of the last unbroken run of layers whose copy
//!   lists it at its final version; for a package with files of its own in the database (a dpkg
//!   `.list`, a `RECORD`, a `package.json`, a gemspec), the layer of that file's final copy;
//! - *bytes*: the sizes of the regular files at its paths that this layer stores, each inode once;
//! - *hidden bytes*: of those, the bytes not in the final filesystem (deleted or overwritten later);
//! - *final bytes*: its files as they are in the final filesystem, whichever layer stores them;
//! - *other-layer bytes*: bytes at its paths that other layers store (an earlier version, a
//!   chmod copy, an overwrite).
//!
//! Files of the final filesystem that no package lists are *unowned*, summed per top-level
//! directory (one level deeper under `usr` and `var`).
//!
//! Hostile databases are bounded: a database file is read up to [`MAX_DB_FILE_BYTES`], all of
//! an image's together up to [`MAX_KEPT_BYTES`], a database lists at most [`MAX_PACKAGES`]
//! packages, [`MAX_PATHS`] paths and [`MAX_FIELDS`] fields (what is parsed stays proportional);
//! a path climbing out of the image is ignored and counted; names must be UTF-8. What is refused
//! is said in the database's `error` or `notes`.

mod apk;
mod deps;
mod dpkg;
mod gems;
mod npm;
mod paths;
mod python;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::AtomicU64;

use serde::Serialize;

use super::dockerfile_map::DockerfileMap;
use super::index::PathIndex;
use crate::image::{Change, EntryKind, Keep, LayerContents};
pub use deps::Reason;
use paths::Tree;

/// A database file larger than this is not read.
pub const MAX_DB_FILE_BYTES: u64 = 64 << 20;
/// All database files of an image together, as kept in memory while the layers are read.
pub const MAX_KEPT_BYTES: u64 = 512 << 20;
/// Packages one database may list.
pub const MAX_PACKAGES: usize = 200_000;
/// Paths read from one database's file lists; past it the rest are not read (a big distribution
/// image lists about 200000).
pub const MAX_PATHS: usize = 2_000_000;
/// `Field: value` lines in one deb822 file (dpkg's status has about 20 per package).
pub const MAX_FIELDS: usize = 2_000_000;
/// Notes kept per database; the rest are counted.
const MAX_NOTES: usize = 10;
/// Entries of a dependency chain kept for the report.
const MAX_CHAIN: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Manager {
    Dpkg,
    Apk,
    Rpm,
    Python,
    Npm,
    Gem,
}

impl Manager {
    pub fn name(self) -> &'static str {
        match self {
            Manager::Dpkg => "dpkg",
            Manager::Apk => "apk",
            Manager::Rpm => "rpm",
            Manager::Python => "python",
            Manager::Npm => "npm",
            Manager::Gem => "gem",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Package {
    pub manager: Manager,
    pub name: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// The layer that installed it.
    pub layer: usize,
    /// With `-f Dockerfile`: the line that made that layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile_line: Option<usize>,
    pub bytes: u64,
    pub hidden_bytes: u64,
    pub final_bytes: u64,
    pub other_layer_bytes: u64,
    /// Regular files of it in the final filesystem (inodes).
    pub files: u64,
    /// Paths its database lists (files, directories, links).
    pub paths: u64,
    /// Listed paths that are not in the final filesystem.
    pub missing_paths: u64,
    /// What the database says it takes: dpkg's `Installed-Size` (KiB, × 1024 here), apk's `I:`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_bytes: Option<u64>,
    /// Why it is installed; None when the database does not say.
    pub reason: Option<Reason>,
    /// For a dependency: the chain that pulled it, from the package asked for to the one whose
    /// Depends (or Recommends) names it; at most a few entries, the first and last kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
    /// Where its metadata is: the database file, `.list`, dist-info or package directory.
    pub source: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Database {
    pub manager: Manager,
    pub path: String,
    /// The layer of the copy that was read (the final one).
    pub layer: usize,
    pub packages: usize,
    /// Why it was not read at all.
    pub error: Option<String>,
    /// What was refused or ignored in it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Unowned {
    /// `usr/local`, `opt`, `app`: the top-level directory (one deeper under `usr` and `var`).
    pub dir: String,
    pub bytes: u64,
    pub files: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct PackageReport {
    pub packages: Vec<Package>,
    pub databases: Vec<Database>,
    pub unowned: Vec<Unowned>,
}

/// Whether the analyzer keeps this file's content while reading layers: it is part of a
/// package database.
pub fn wanted(path: &str) -> bool {
    dpkg::wanted(path) || apk::wanted(path) || python::wanted(path) || npm::wanted(path) || gems::wanted(path)
}

/// The [`Keep`] for reading an image's layers; `budget` holds [`MAX_KEPT_BYTES`] at the start and
/// is shared by all layers.
pub fn keep(budget: &AtomicU64) -> Keep<'_> {
    Keep { wanted: &wanted, max_file_bytes: MAX_DB_FILE_BYTES, budget }
}

/// A new budget for [`keep`].
pub fn budget() -> AtomicU64 {
    AtomicU64::new(MAX_KEPT_BYTES)
}

/// One version of a database file, as a layer stores it.
pub(crate) struct DbFile<'a> {
    pub layer: usize,
    pub size: u64,
    /// None when it was over a limit (see [`DbFile::refusal`]).
    pub content: Option<&'a [u8]>,
}

impl DbFile<'_> {
    /// Why the content is missing.
    pub fn refusal(&self, path: &str) -> String {
        if self.size > MAX_DB_FILE_BYTES {
            format!(
                "/{path} (layer {}) is {} bytes; package database files are read up to {} MiB: not read",
                self.layer,
                self.size,
                MAX_DB_FILE_BYTES >> 20
            )
        } else {
            format!(
                "/{path} (layer {}): the image's package databases are over {} MiB together: not read",
                self.layer,
                MAX_KEPT_BYTES >> 20
            )
        }
    }
}

/// Everything the readers look at: the kept database files by path, every version in layer
/// order, and the final filesystem.
pub(crate) struct Sources<'a> {
    /// Path → its versions (only regular files the layers put; whiteouts are the tree's business).
    pub files: HashMap<&'a str, Vec<DbFile<'a>>>,
    pub tree: Tree<'a>,
}

impl<'a> Sources<'a> {
    /// The final version of a database file, if the final filesystem has it.
    pub fn final_file(&self, path: &str) -> Option<&DbFile<'a>> {
        let layer = self.tree.final_layer(path)?;
        self.files.get(path)?.iter().rev().find(|f| f.layer == layer)
    }

    /// The versions of a database file, up to and including its final one.
    pub fn versions(&self, path: &str) -> &[DbFile<'a>] {
        let Some(layer) = self.tree.final_layer(path) else { return &[] };
        let all = self.files.get(path).map_or(&[][..], Vec::as_slice);
        let end = all.iter().rposition(|f| f.layer == layer).map_or(0, |i| i + 1);
        &all[..end]
    }

    /// Final database files whose path `matches`, sorted by path.
    pub fn final_files_where(&self, matches: impl Fn(&str) -> bool) -> Vec<(&'a str, &DbFile<'a>)> {
        let mut found: Vec<(&'a str, &DbFile<'a>)> =
            self.files.keys().filter(|p| matches(p)).filter_map(|&p| self.final_file(p).map(|f| (p, f))).collect();
        found.sort_by(|a, b| a.0.cmp(b.0));
        found
    }
}

/// What a reader found: one package and the paths it lists (normalized, relative to the root).
pub(crate) struct Found {
    pub manager: Manager,
    pub name: String,
    pub version: String,
    pub arch: Option<String>,
    pub layer: usize,
    pub paths: Vec<String>,
    pub declared_bytes: Option<u64>,
    pub reason: Option<Reason>,
    pub via: Vec<String>,
    pub source: String,
}

/// A database made of many files (a site-packages, a node_modules tree, a gem directory), as
/// its packages are read.
#[derive(Default)]
pub(crate) struct Group {
    /// The newest layer among its files.
    pub layer: usize,
    pub packages: usize,
    pub notes: Notes,
    /// Paths read so far, up to [`MAX_PATHS`].
    paths: usize,
}

impl Group {
    /// Count one more package from `layer`, unless there are too many already (`what` names
    /// the file, for the note).
    pub fn admit(&mut self, layer: usize, what: &str) -> bool {
        self.layer = self.layer.max(layer);
        if self.packages >= MAX_PACKAGES {
            self.notes.add(format!("/{what}: more than {MAX_PACKAGES} packages here: ignored"));
            return false;
        }
        self.packages += 1;
        true
    }

    /// Count one more path read, unless [`MAX_PATHS`] were (`what` names the file, for the note).
    pub fn take_path(&mut self, what: &str) -> bool {
        if self.paths == MAX_PATHS {
            self.notes.add(format!("/{what}: more than {MAX_PATHS} paths here: the rest are not read"));
            self.paths += 1;
        }
        self.paths += 1;
        self.paths <= MAX_PATHS
    }

    pub fn into_database(self, manager: Manager, path: String) -> Database {
        Database {
            manager,
            path,
            layer: self.layer,
            packages: self.packages,
            error: None,
            notes: self.notes.into_vec(),
        }
    }
}

/// Notes of one database, bounded.
#[derive(Default)]
pub(crate) struct Notes {
    kept: Vec<String>,
    more: usize,
}

impl Notes {
    pub fn add(&mut self, note: String) {
        if self.kept.len() < MAX_NOTES {
            self.kept.push(note);
        } else {
            self.more += 1;
        }
    }

    pub fn into_vec(mut self) -> Vec<String> {
        if self.more > 0 {
            self.kept.push(format!("… and {} more", self.more));
        }
        self.kept
    }
}

/// Attribute the final filesystem's bytes to the packages its databases list.
pub fn attribute(layers: &[LayerContents], index: &PathIndex) -> PackageReport {
    let mut files: HashMap<&str, Vec<DbFile<'_>>> = HashMap::new();
    for (layer, contents) in layers.iter().enumerate() {
        let mut kept = contents.kept.iter().peekable();
        for (at, change) in contents.changes.iter().enumerate() {
            let Change::Put(entry) = change else { continue };
            if entry.kind != EntryKind::File || !wanted(&entry.path) {
                continue;
            }
            while kept.next_if(|(i, _)| *i < at).is_some() {}
            let content = kept.next_if(|(i, _)| *i == at).map(|(_, data)| data.as_slice());
            files.entry(entry.path.as_str()).or_default().push(DbFile { layer, size: entry.size, content });
        }
    }
    let image = Sources { files, tree: Tree::new(layers, index) };
    let mut databases = Vec::new();
    let mut found = Vec::new();
    dpkg::read(&image, &mut found, &mut databases);
    apk::read(&image, &mut found, &mut databases);
    python::read(&image, &mut found, &mut databases);
    npm::read(&image, &mut found, &mut databases);
    gems::read(&image, &mut found, &mut databases);
    rpm_found(&image, &mut databases);
    let (packages, owned) = charge(&image, index, found, &mut databases);
    // Without any database every file is unowned: saying so tells nothing.
    let unowned = if databases.is_empty() { Vec::new() } else { unowned(index, &owned) };
    PackageReport { packages, databases, unowned }
}

/// The rpm databases imgopt knows of but does not read.
fn rpm_found(image: &Sources<'_>, databases: &mut Vec<Database>) {
    const RPMDB: &[&str] = &[
        "var/lib/rpm/rpmdb.sqlite",
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
        "var/lib/rpm/Packages",
        "var/lib/rpm/Packages.db",
        "usr/lib/sysimage/rpm/Packages.db",
    ];
    for path in RPMDB {
        if let Some(layer) = image.tree.final_layer(path) {
            databases.push(Database {
                manager: Manager::Rpm,
                path: (*path).to_string(),
                layer,
                packages: 0,
                error: Some(
                    "imgopt does not read rpm databases yet: the files of rpm packages count as unowned".into(),
                ),
                notes: Vec::new(),
            });
        }
    }
}

/// Charge each package with the inodes at its paths; returns the packages (largest first) and
/// the final inodes some package owns.
fn charge(
    image: &Sources<'_>,
    index: &PathIndex,
    found: Vec<Found>,
    databases: &mut [Database],
) -> (Vec<Package>, HashSet<usize>) {
    let mut owned = HashSet::new();
    let mut packages = Vec::with_capacity(found.len());
    // The system's package managers first: a Python distribution that a dpkg or apk package
    // ships (its RECORD is one of that package's files) is that package's, not pip's.
    let (system, languages): (Vec<Found>, Vec<Found>) =
        found.into_iter().partition(|f| matches!(f.manager, Manager::Dpkg | Manager::Apk));
    let mut system_inodes: Option<HashSet<usize>> = None;
    for f in system.into_iter().chain(languages) {
        if f.manager == Manager::Python {
            let system = system_inodes.get_or_insert_with(|| owned.clone());
            let record = image.tree.final_inode(&format!("{}/RECORD", f.source));
            if record.is_some_and(|id| system.contains(&id)) {
                let site = f.source.rsplit_once('/').map_or("", |(site, _)| site);
                if let Some(db) = databases.iter_mut().find(|d| d.manager == Manager::Python && d.path == site) {
                    db.packages -= 1;
                    db.notes.push(format!("/{}: shipped by a system package, counted there", f.source));
                }
                continue;
            }
        }
        let mut shipped: HashSet<usize> = HashSet::new();
        let mut other: HashSet<usize> = HashSet::new();
        let mut visible: HashSet<usize> = HashSet::new();
        let mut missing = 0;
        for path in &f.paths {
            let Some(path) = image.tree.resolve(path).filter(|p| image.tree.exists(p)) else {
                missing += 1;
                if let Some(path) = image.tree.resolve(path) {
                    // Deleted or overwritten later: charged to the layers that stored it.
                    charge_path(&image.tree, index, &path, f.layer, &mut shipped, &mut other);
                }
                continue;
            };
            if let Some(id) = image.tree.final_inode(&path) {
                visible.insert(id);
            }
            charge_path(&image.tree, index, &path, f.layer, &mut shipped, &mut other);
        }
        let size = |ids: &HashSet<usize>| ids.iter().map(|&id| index.inodes[id].size).sum::<u64>();
        let hidden: u64 =
            shipped.iter().filter(|&&id| index.inodes[id].removed.is_some()).map(|&id| index.inodes[id].size).sum();
        owned.extend(visible.iter().copied());
        packages.push(Package {
            manager: f.manager,
            name: f.name,
            version: f.version,
            arch: f.arch,
            layer: f.layer,
            dockerfile_line: None,
            bytes: size(&shipped),
            hidden_bytes: hidden,
            final_bytes: size(&visible),
            other_layer_bytes: size(&other),
            files: visible.len() as u64,
            paths: f.paths.len() as u64,
            missing_paths: missing,
            declared_bytes: f.declared_bytes,
            reason: f.reason,
            via: f.via,
            source: f.source,
        });
    }
    packages.sort_by(|a, b| {
        b.bytes
            .max(b.final_bytes)
            .cmp(&a.bytes.max(a.final_bytes))
            .then_with(|| (a.manager, &a.name).cmp(&(b.manager, &b.name)))
    });
    (packages, owned)
}

/// The inodes any layer stored at `path`: the installing layer's, and the others'.
fn charge_path(
    tree: &Tree<'_>,
    index: &PathIndex,
    path: &str,
    layer: usize,
    shipped: &mut HashSet<usize>,
    other: &mut HashSet<usize>,
) {
    for &id in tree.inodes_at(path) {
        if index.inodes[id].layer == layer {
            shipped.insert(id);
        } else {
            other.insert(id);
        }
    }
}

/// With `-f Dockerfile`: each package's line is its layer's.
pub fn with_lines(mut packages: Vec<Package>, mapping: Option<&DockerfileMap>) -> Vec<Package> {
    if let Some(map) = mapping {
        for p in &mut packages {
            p.dockerfile_line = map.layers.get(p.layer).and_then(|l| l.line);
        }
    }
    packages
}

/// The directory unowned bytes are summed under.
fn unowned_dir(path: &str) -> &str {
    let mut parts = path.splitn(3, '/');
    let top = parts.next().unwrap_or("");
    match (top, parts.next(), parts.next()) {
        ("usr" | "var", Some(second), Some(_)) => &path[..top.len() + 1 + second.len()],
        (_, Some(_), _) => top,
        // A file at the root, or directly in usr/ or var/.
        _ => path.rsplit_once('/').map_or("", |(dir, _)| dir),
    }
}

fn unowned(index: &PathIndex, owned: &HashSet<usize>) -> Vec<Unowned> {
    let mut by_dir: BTreeMap<&str, (u64, u64, HashSet<usize>)> = BTreeMap::new();
    for file in index.final_files() {
        let Some(id) = file.inode else { continue };
        if owned.contains(&id) {
            continue;
        }
        let slot = by_dir.entry(unowned_dir(file.path)).or_default();
        if slot.2.insert(id) {
            slot.0 += index.inodes[id].size;
            slot.1 += 1;
        }
    }
    let mut dirs: Vec<Unowned> =
        by_dir.into_iter().map(|(dir, (bytes, files, _))| Unowned { dir: dir.to_string(), bytes, files }).collect();
    dirs.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.dir.cmp(&b.dir)));
    dirs
}

/// Keep the first and the last entries of a long chain.
pub(crate) fn bounded_chain(mut chain: Vec<String>) -> Vec<String> {
    if chain.len() > MAX_CHAIN {
        let tail = chain.split_off(chain.len() - (MAX_CHAIN - 2));
        chain.truncate(1);
        chain.push("…".into());
        chain.extend(tail);
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unowned_dirs_go_one_deeper_under_usr_and_var() {
        assert_eq!(unowned_dir("usr/local/bin/x"), "usr/local");
        assert_eq!(unowned_dir("var/lib/dpkg/status"), "var/lib");
        assert_eq!(unowned_dir("opt/app/x"), "opt");
        assert_eq!(unowned_dir("usr/x"), "usr");
        assert_eq!(unowned_dir("x"), "");
    }

    #[test]
    fn long_chains_keep_both_ends() {
        let chain: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        assert_eq!(bounded_chain(chain), ["0", "…", "16", "17", "18", "19"]);
    }
}
