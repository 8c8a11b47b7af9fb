//! The builder's local store, in the user's cache directory (`IMGOPT_STORE` overrides it):
//!
//! ```text
//! oci-layout, index.json, blobs/sha256/   an OCI image layout: named images, layer blobs, configs
//! s/<chain>/                              one unpacked snapshot per layer chain, overlay lower form
//! cache/<key>.json                        the step cache: what a step made
//! dist/<diff_id>.<gzip|zstd>              the compressed blob made from a plain layer (its descriptor)
//! mounts/<id>/                            RUN --mount=type=cache directories
//! tmp/<name>/ + tmp/<name>.lock           a step's work directories, held by a lock while in use
//! builds.lock                             held shared by every build and load, exclusive by prune
//! ```
//!
//! Layers the builder makes are kept as plain tars (blob digest = diff_id), as BuildKit keeps its
//! snapshots' diffs: a build never compresses. An image leaving the store as an OCI image
//! (`-o oci:`/`oci-archive:`) or analyzed (which reports compressed sizes) gets its plain layers
//! compressed by [`Store::compressed_layer`], once: the blob and its `dist/` record stay for the
//! next time. Layers that came compressed (pulled, loaded) keep their blob. A store an earlier
//! imgopt wrote (gzip blobs from its builds) is read as it is: nothing to migrate.
//!
//! The store's lock (a flock on the store directory) is taken while index.json or a snapshot is
//! being written.
//!
//! Everything is written under `tmp/` and renamed into place, so a build killed at any moment
//! leaves no half-written blob, snapshot or cache entry; the next run deletes every `tmp/`
//! entry whose lock nobody holds.

use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::diff::{self, LayerCompression};
use crate::image::spec::{self, Descriptor, Digest, ImageConfig, Index, Manifest};
use crate::image::write::{LayerFile, NewImage, Written};
use crate::image::{Image, ImageError};

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the image store at {0}: {1}")]
    Corrupt(PathBuf, String),
    #[error("no place for the image store: set IMGOPT_STORE, XDG_CACHE_HOME or HOME")]
    NoHome,
    #[error("{0}")]
    Image(#[from] ImageError),
}

pub type Result<T> = std::result::Result<T, StoreError>;

fn io<T>(path: &Path, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|source| StoreError::Io { path: path.to_path_buf(), source })
}

/// A step's result in the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedLayer {
    pub diff_id: Digest,
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
    pub content_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheEntry {
    /// None: the step changed nothing (an `empty_layer` history entry).
    pub layer: Option<CachedLayer>,
}

#[derive(Debug, Clone)]
pub struct Store {
    pub root: PathBuf,
}

/// An exclusive lock on a file, released when dropped.
pub struct Lock {
    _file: File,
}

fn flock(file: &File, exclusive: bool, wait: bool) -> bool {
    let mut op = if exclusive { libc::LOCK_EX } else { libc::LOCK_SH };
    if !wait {
        op |= libc::LOCK_NB;
    }
    // SAFETY: flock on an open descriptor.
    unsafe { libc::flock(file.as_raw_fd(), op) == 0 }
}

/// A directory under `tmp/`, removed when dropped (or by the next run if the process dies).
pub struct TempDir {
    pub path: PathBuf,
    lock_path: PathBuf,
    _lock: File,
}

impl Drop for TempDir {
    fn drop(&mut self) {
        remove_tree(&self.path);
        let _ = std::fs::remove_file(&self.lock_path);
    }
}

/// Removes [`TempDir`]s on a thread of its own, so that a build's next step does not wait for
/// the file system to free the last one's work directories (BuildKit's snapshotter leaves them
/// to a later garbage collection; on a file system mounted with `discard` every freed block is
/// a trim sent to the disk). Dropping the reaper waits until all are gone.
pub struct Reaper {
    tx: Option<std::sync::mpsc::Sender<TempDir>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reaper {
    pub fn new() -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<TempDir>();
        // Each directory is removed, and its lock released, when the thread drops it.
        let thread = std::thread::Builder::new().name("imgopt-reaper".into()).spawn(move || rx.iter().for_each(drop));
        match thread {
            Ok(thread) => Reaper { tx: Some(tx), thread: Some(thread) },
            Err(_) => Reaper { tx: None, thread: None },
        }
    }

    /// Removes `dir` soon (now, on this thread, if the reaper's thread could not start).
    pub fn remove(&self, dir: TempDir) {
        if let Some(tx) = &self.tx {
            // A send fails only when the thread is gone: the directory comes back in the error,
            // dropped (removed) here.
            let _ = tx.send(dir);
        }
    }
}

impl Default for Reaper {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Removes a tree, including overlay work directories (mode 000 inside).
pub fn remove_tree(path: &Path) {
    if std::fs::symlink_metadata(path).is_err() {
        return;
    }
    if std::fs::remove_dir_all(path).is_err() {
        let _ = std::process::Command::new("chmod").arg("-R").arg("u+rwx").arg(path).status();
        let _ = std::fs::remove_dir_all(path);
    }
}

impl Store {
    /// The default store: `IMGOPT_STORE`, else `$XDG_CACHE_HOME/imgopt/store`, else
    /// `~/.cache/imgopt/store`.
    pub fn default_root() -> Result<PathBuf> {
        if let Some(dir) = std::env::var_os("IMGOPT_STORE").filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        crate::image::registry::cache_dir().map(|d| d.join("store")).map_err(|_| StoreError::NoHome)
    }

    pub fn open(root: &Path) -> Result<Store> {
        for dir in ["blobs/sha256", "s", "cache", "dist", "mounts", "tmp"] {
            let d = root.join(dir);
            io(&d, std::fs::create_dir_all(&d))?;
        }
        let root = io(root, root.canonicalize())?;
        let store = Store { root };
        let layout = store.root.join("oci-layout");
        if !layout.exists() {
            store.write_atomic(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        let index = store.root.join("index.json");
        if !index.exists() {
            let empty = Index {
                schema_version: 2,
                media_type: Some(spec::MEDIA_OCI_INDEX.to_string()),
                manifests: Vec::new(),
                annotations: Default::default(),
                other: Default::default(),
            };
            store.write_atomic(&index, &serde_json::to_vec(&empty).expect("index serializes"))?;
        }
        store.clean_stale_temps();
        Ok(store)
    }

    pub fn open_default() -> Result<Store> {
        Store::open(&Self::default_root()?)
    }

    /// The store-wide lock (index.json, snapshots being renamed in): a flock on the store
    /// directory itself, the lock `image::write` takes on a layout it updates.
    pub fn lock(&self) -> Result<Lock> {
        let file = io(&self.root, File::open(&self.root))?;
        flock(&file, true, true);
        Ok(Lock { _file: file })
    }

    pub fn temp_dir(&self, what: &str) -> Result<TempDir> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{what}-{}-{n}", std::process::id());
        let lock_path = self.root.join("tmp").join(format!("{name}.lock"));
        let lock = io(&lock_path, File::create(&lock_path))?;
        flock(&lock, true, true);
        let path = self.root.join("tmp").join(&name);
        remove_tree(&path);
        io(&path, std::fs::create_dir(&path))?;
        Ok(TempDir { path, lock_path, _lock: lock })
    }

    /// Deletes what killed runs left under `tmp/` (entries whose lock nobody holds).
    pub fn clean_stale_temps(&self) {
        let tmp = self.root.join("tmp");
        let Ok(entries) = std::fs::read_dir(&tmp) else { return };
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "lock") {
                continue;
            }
            let lock_path = tmp.join(format!("{}.lock", e.file_name().to_string_lossy()));
            let free = match File::open(&lock_path) {
                Ok(f) => flock(&f, true, false),
                Err(_) => true,
            };
            if free {
                remove_tree(&path);
                let _ = std::fs::remove_file(&lock_path);
            }
        }
    }

    /// Writes a file by temp + fsync + rename.
    pub fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        // The temporary file goes to the store's `tmp/`, which the next build cleans after a crash.
        io(path, crate::fsio::write_atomic_in(&self.root.join("tmp"), path, bytes))
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join(digest.blob_path())
    }

    pub fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    pub fn put_blob(&self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::sha256_from_bytes(Sha256::digest(bytes).into());
        let path = self.blob_path(&digest);
        if !path.exists() {
            self.write_atomic(&path, bytes)?;
        }
        Ok(digest)
    }

    /// Moves a finished file (written under `tmp/`) into place as blob `digest`.
    pub fn adopt_blob(&self, file: &Path, digest: &Digest) -> Result<()> {
        let path = self.blob_path(digest);
        if path.exists() {
            let _ = std::fs::remove_file(file);
            return Ok(());
        }
        io(&path, std::fs::rename(file, &path))
    }

    /// The record of the `compression` blob made from plain layer `diff_id`.
    fn dist_record(&self, diff_id: &Digest, compression: LayerCompression) -> PathBuf {
        let ext = match compression {
            LayerCompression::Zstd => "zstd",
            _ => "gzip",
        };
        self.root.join("dist").join(format!("{}.{ext}", diff_id.hex()))
    }

    /// The compressed blob recorded for plain layer `diff_id`, if it is still there.
    fn recorded(&self, diff_id: &Digest, compression: LayerCompression) -> Option<Descriptor> {
        let bytes = std::fs::read(self.dist_record(diff_id, compression)).ok()?;
        let found: Descriptor = serde_json::from_slice(&bytes).ok()?;
        let path = self.blob_path(&found.digest);
        std::fs::metadata(&path).is_ok_and(|m| m.len() == found.size).then_some(found)
    }

    /// `layer` (a blob of this store) as it leaves the store in an image compressed as
    /// `compression`: a plain tar is compressed, the first time only (the blob and its record
    /// stay); a compressed blob, or `LayerCompression::None`, leaves as it is. The tar is checked
    /// against the layer's diff_id on the way.
    pub fn compressed_layer(&self, layer: &LayerFile, compression: LayerCompression) -> Result<LayerFile> {
        if compression == LayerCompression::None || !is_plain_layer(&layer.descriptor.media_type) {
            return Ok(layer.clone());
        }
        let diff_id = layer.diff_id.clone();
        if let Some(descriptor) = self.recorded(&diff_id, compression) {
            let path = self.blob_path(&descriptor.digest);
            self.touch(&path);
            return Ok(LayerFile { path, descriptor, diff_id });
        }
        let tmp = self.temp_dir("compress")?;
        let blob = tmp.path.join("blob");
        let mut tar = crate::image::layer::Tap::new(io(&layer.path, File::open(&layer.path))?, true);
        let mut out = std::io::BufWriter::with_capacity(1 << 20, io(&blob, File::create(&blob))?);
        let (digest, size) = io(&blob, diff::compress_tar(&mut tar, &mut out, compression))?;
        io(&blob, out.flush())?;
        drop(out);
        match tar.digest() {
            Some(d) if d == diff_id => {}
            actual => {
                return Err(ImageError::DigestMismatch {
                    what: format!("the layer tar {}", layer.path.display()),
                    expected: diff_id.to_string(),
                    actual: actual.map_or_else(|| "nothing".into(), |d| d.to_string()),
                }
                .into())
            }
        }
        self.adopt_blob(&blob, &digest)?;
        let descriptor = Descriptor {
            media_type: compression.media_type().to_string(),
            digest,
            size,
            platform: None,
            annotations: Default::default(),
            other: Default::default(),
        };
        let record = self.dist_record(&diff_id, compression);
        self.write_atomic(&record, &serde_json::to_vec(&descriptor).expect("a descriptor serializes"))?;
        Ok(LayerFile { path: self.blob_path(&descriptor.digest), descriptor, diff_id })
    }

    /// [`Store::compressed_layer`] of each layer, several at once.
    pub fn compressed_layers(&self, layers: &[LayerFile], compression: LayerCompression) -> Result<Vec<LayerFile>> {
        use rayon::prelude::*;
        layers.par_iter().map(|l| self.compressed_layer(l, compression)).collect()
    }

    /// Name of a snapshot relative to the store root (short, to keep overlay's mount options
    /// under a page with many layers): `s/` and 16 hex digits of the chain ID.
    pub fn snapshot_name(chain: &Digest) -> String {
        format!("s/{}", &chain.hex()[..16.min(chain.hex().len())])
    }

    pub fn snapshot_dir(&self, chain: &Digest) -> PathBuf {
        self.root.join(Self::snapshot_name(chain))
    }

    pub fn has_snapshot(&self, chain: &Digest) -> bool {
        self.snapshot_dir(chain).is_dir()
    }

    /// Moves a filled directory into place as snapshot `chain` (a concurrent run that got
    /// there first wins; this one's copy is dropped).
    pub fn adopt_snapshot(&self, dir: &Path, chain: &Digest) -> Result<()> {
        let _lock = self.lock()?;
        let dest = self.snapshot_dir(chain);
        if dest.exists() {
            remove_tree(dir);
            return Ok(());
        }
        io(&dest, std::fs::rename(dir, &dest))
    }

    pub fn cache_get(&self, key: &str) -> Option<CacheEntry> {
        let bytes = std::fs::read(self.root.join("cache").join(format!("{key}.json"))).ok()?;
        let entry: CacheEntry = serde_json::from_slice(&bytes).ok()?;
        // An entry is only as good as what it points at.
        match &entry.layer {
            Some(l) if !self.has_blob(&l.digest) => None,
            layer => {
                self.touch(&self.root.join("cache").join(format!("{key}.json")));
                if let Some(l) = layer {
                    self.touch(&self.blob_path(&l.digest));
                }
                Some(entry)
            }
        }
    }

    /// Records what a step made. Not synced to disk (one fsync per step is a cost BuildKit's
    /// overlay steps do not pay either; nor are the step's snapshot and blob synced): after a
    /// power loss an entry may be empty, which [`Store::cache_get`] takes for a miss.
    pub fn cache_put(&self, key: &str, entry: &CacheEntry) -> Result<()> {
        let path = self.root.join("cache").join(format!("{key}.json"));
        let bytes = serde_json::to_vec(entry).expect("cache entry serializes");
        io(&path, crate::fsio::replace_in(&self.root.join("tmp"), &path, &bytes))
    }

    /// A `RUN --mount=type=cache` directory (created on first use).
    pub fn cache_mount(&self, id: &str) -> Result<PathBuf> {
        let name: String = Sha256::digest(id.as_bytes()).iter().take(12).map(|b| format!("{b:02x}")).collect();
        let dir = self.root.join("mounts").join(name);
        io(&dir, std::fs::create_dir_all(&dir))?;
        self.touch(&dir);
        Ok(dir)
    }

    pub fn read_index(&self) -> Result<Index> {
        let path = self.root.join("index.json");
        let bytes = io(&path, std::fs::read(&path))?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(self.root.clone(), format!("index.json: {e}")))
    }

    /// The manifest named `name` (as `org.opencontainers.image.ref.name`).
    pub fn lookup(&self, name: &str) -> Result<Option<Descriptor>> {
        Ok(self
            .read_index()?
            .manifests
            .into_iter()
            .find(|d| d.annotations.get(spec::ANNOTATION_REF_NAME).is_some_and(|n| n == name)))
    }

    /// Names `manifest` as `name` in index.json (replacing an earlier image of that name).
    pub fn tag(&self, name: &str, mut manifest: Descriptor) -> Result<()> {
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        index.manifests.retain(|d| d.annotations.get(spec::ANNOTATION_REF_NAME).is_none_or(|n| n != name));
        manifest.annotations.insert(spec::ANNOTATION_REF_NAME.to_string(), name.to_string());
        index.manifests.push(manifest);
        let bytes = serde_json::to_vec_pretty(&index).expect("index serializes");
        self.write_atomic(&self.root.join("index.json"), &bytes)
    }
}

/// One named image of the store, as `imgopt images` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ImageSummary {
    /// `org.opencontainers.image.ref.name`; None for an unnamed entry.
    pub name: Option<String>,
    pub manifest: Digest,
    /// The config's digest: the image ID Docker shows.
    pub config: Option<Digest>,
    pub created: Option<String>,
    /// The layer blobs' sizes as stored (plain tars for the layers imgopt built, as they came for
    /// pulled and loaded ones), summed: what the store holds for the image (layers shared with
    /// other images counted in each; the compressed copies made for exports not counted).
    pub blob_size: u64,
    pub layers: usize,
}

/// What `prune` may remove.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    /// Also every step-cache entry, every snapshot (named images' too: they are unpacked again
    /// from their blobs when needed) and the `RUN --mount=type=cache` directories.
    pub all: bool,
    /// Remove least recently used first, only until the store takes no more than this.
    pub keep_storage: Option<u64>,
}

/// What `prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    pub blobs: usize,
    pub snapshots: usize,
    pub cache_entries: usize,
    pub cache_mounts: usize,
    /// Disk space given back (allocated blocks).
    pub freed_bytes: u64,
    pub store_bytes_before: u64,
    pub store_bytes_after: u64,
}

/// Blobs and snapshots the store's named images need.
#[derive(Debug, Default)]
pub struct Reachable {
    pub blobs: HashSet<Digest>,
    /// Snapshot names (`s/<16 hex>`), one per layer chain of each image.
    pub snapshots: HashSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Blob(Digest),
    Snapshot(PathBuf),
    Mount(PathBuf),
    CacheEntry(PathBuf),
}

/// Disk space a tree takes: allocated blocks, hard-linked files counted once.
pub fn disk_usage(path: &Path) -> u64 {
    fn walk(path: &Path, seen: &mut HashSet<(u64, u64)>) -> u64 {
        let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
        if meta.nlink() > 1 && !meta.is_dir() && !seen.insert((meta.dev(), meta.ino())) {
            return 0;
        }
        let mut total = meta.blocks() * 512;
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(path) {
                for e in entries.flatten() {
                    total += walk(&e.path(), seen);
                }
            }
        }
        total
    }
    walk(path, &mut HashSet::new())
}

fn modified(path: &Path) -> std::time::SystemTime {
    std::fs::symlink_metadata(path).and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH)
}

/// A layer blob that is a plain tar (OCI's `...layer.v1.tar`, Docker's `...rootfs.diff.tar`).
pub fn is_plain_layer(media_type: &str) -> bool {
    media_type.ends_with(".tar")
}

/// The media type a layer blob's first bytes show: gzip, zstd or a plain tar.
fn sniff_layer(head: &[u8]) -> &'static str {
    if head.starts_with(&[0x1f, 0x8b]) {
        spec::MEDIA_OCI_LAYER_GZIP
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        spec::MEDIA_OCI_LAYER_ZSTD
    } else {
        spec::MEDIA_OCI_LAYER_TAR
    }
}

impl Store {
    /// Held (shared) by a build or a load for as long as it runs, taken exclusively by prune:
    /// prune never removes a snapshot a running step has mounted or a blob not yet named.
    /// `on_wait` runs when the lock is not free at once. Take it before [`Store::lock`].
    pub fn builds_lock(&self, exclusive: bool, on_wait: impl FnOnce()) -> Result<Lock> {
        let path = self.root.join("builds.lock");
        let file = io(&path, std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path))?;
        if !flock(&file, exclusive, false) {
            on_wait();
            flock(&file, exclusive, true);
        }
        Ok(Lock { _file: file })
    }

    /// Marks a snapshot, blob, cache entry or cache mount as just used (prune's
    /// `--keep-storage` removes the least recently used first).
    pub fn touch(&self, path: &Path) {
        if let Ok(f) = File::open(path) {
            let _ = f.set_modified(std::time::SystemTime::now());
        }
    }

    fn read_blob_json<T: serde::de::DeserializeOwned>(&self, digest: &Digest) -> Result<Option<T>> {
        let path = self.blob_path(digest);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(self.root.clone(), format!("blob {digest}: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }

    /// Everything the named images of `index` need: manifests, nested indexes, configs,
    /// layers, and the snapshots of their layer chains. A missing blob is skipped (its image
    /// is broken already); one that does not parse stops the walk, so prune removes nothing.
    pub fn reachable(&self, index: &Index) -> Result<Reachable> {
        let mut reach = Reachable::default();
        let mut todo: Vec<Descriptor> = index.manifests.clone();
        let mut depth = 0;
        while !todo.is_empty() && depth < 16 {
            depth += 1;
            let mut next = Vec::new();
            for d in todo {
                if !reach.blobs.insert(d.digest.clone()) {
                    continue;
                }
                if d.is_index() {
                    if let Some(nested) = self.read_blob_json::<Index>(&d.digest)? {
                        next.extend(nested.manifests);
                    }
                    continue;
                }
                let Some(manifest) = self.read_blob_json::<Manifest>(&d.digest)? else { continue };
                reach.blobs.insert(manifest.config.digest.clone());
                reach.blobs.extend(manifest.layers.iter().map(|l| l.digest.clone()));
                // The compressed blobs made from its plain layers (recorded under their diff_id,
                // which is the plain blob's digest) stay with it.
                for layer in manifest.layers.iter().filter(|l| is_plain_layer(&l.media_type)) {
                    for compression in [LayerCompression::Gzip, LayerCompression::Zstd] {
                        if let Some(d) = self.recorded(&layer.digest, compression) {
                            reach.blobs.insert(d.digest);
                        }
                    }
                }
                if let Some(config) = self.read_blob_json::<ImageConfig>(&manifest.config.digest)? {
                    let mut parent: Option<Digest> = None;
                    for diff_id in &config.rootfs.diff_ids {
                        let chain = chain_id(parent.as_ref(), diff_id);
                        reach.snapshots.insert(Self::snapshot_name(&chain));
                        parent = Some(chain);
                    }
                }
            }
            todo = next;
        }
        Ok(reach)
    }

    /// The images of index.json, one per name (an index entry resolved to this machine's image).
    pub fn images(&self) -> Result<Vec<ImageSummary>> {
        let index = self.read_index()?;
        let mut out = Vec::new();
        for entry in &index.manifests {
            let mut descriptor = entry.clone();
            for _ in 0..8 {
                if !descriptor.is_index() {
                    break;
                }
                let Some(nested) = self.read_blob_json::<Index>(&descriptor.digest)? else { break };
                let candidates: Vec<&Descriptor> = nested.manifests.iter().collect();
                match crate::image::choose_manifest(&candidates, &spec::Platform::host()) {
                    Ok(d) => descriptor = d.clone(),
                    Err(_) => break,
                }
            }
            let manifest =
                if descriptor.is_index() { None } else { self.read_blob_json::<Manifest>(&descriptor.digest)? };
            let config_digest = manifest.as_ref().map(|m| m.config.digest.clone());
            let created = match &config_digest {
                Some(d) => self.read_blob_json::<ImageConfig>(d)?.and_then(|c| c.created),
                None => None,
            };
            out.push(ImageSummary {
                name: entry.annotations.get(spec::ANNOTATION_REF_NAME).cloned(),
                manifest: entry.digest.clone(),
                config: config_digest,
                created,
                blob_size: manifest.as_ref().map_or(0, |m| m.layers.iter().map(|l| l.size).sum()),
                layers: manifest.as_ref().map_or(0, |m| m.layers.len()),
            });
        }
        Ok(out)
    }

    /// The index entry's name for what a user typed: the name itself or its canonical form.
    fn find_name(index: &Index, name: &str) -> Option<String> {
        let names: Vec<&String> =
            index.manifests.iter().filter_map(|d| d.annotations.get(spec::ANNOTATION_REF_NAME)).collect();
        if names.iter().any(|n| *n == name) {
            return Some(name.to_string());
        }
        let canonical = canonical_name(name).ok()?;
        names.into_iter().find(|n| **n == canonical).cloned()
    }

    /// Removes names from index.json (the blobs stay until `prune`). Returns the names given
    /// that no image had; the others are removed.
    pub fn untag(&self, names: &[String]) -> Result<Vec<String>> {
        let _lock = self.lock()?;
        let mut index = self.read_index()?;
        let mut missing = Vec::new();
        for name in names {
            match Self::find_name(&index, name) {
                Some(found) => index.manifests.retain(|d| d.annotations.get(spec::ANNOTATION_REF_NAME) != Some(&found)),
                None => missing.push(name.clone()),
            }
        }
        let bytes = serde_json::to_vec_pretty(&index).expect("index serializes");
        self.write_atomic(&self.root.join("index.json"), &bytes)?;
        Ok(missing)
    }

    /// Copies an image (from an archive or a layout) into the store under `names` (canonical
    /// names already): each layer blob hashed as it is copied (a `docker save` layer has no blob
    /// digest of its own), the config kept byte for byte (the image ID stays the same).
    pub fn import(&self, image: &Image, names: &[String]) -> Result<Written> {
        let _builds = self.builds_lock(false, || {})?;
        let mut layers = Vec::with_capacity(image.layers.len());
        for (i, blob) in image.layers.iter().enumerate() {
            let (mut reader, _) = image.open_blob(i)?;
            let tmp = self.temp_dir("load")?;
            let path = tmp.path.join("blob");
            let mut out = std::io::BufWriter::new(io(&path, File::create(&path))?);
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            let mut head: Vec<u8> = Vec::new();
            let mut size = 0u64;
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        return Err(StoreError::Io { path: PathBuf::from(image.reference.to_string()), source: e })
                    }
                };
                if head.len() < 8 {
                    head.extend_from_slice(&buf[..n.min(8 - head.len())]);
                }
                hasher.update(&buf[..n]);
                io(&path, out.write_all(&buf[..n]))?;
                size += n as u64;
            }
            io(&path, out.flush())?;
            drop(out);
            let digest = Digest::sha256_from_bytes(hasher.finalize().into());
            if let Some(claimed) = blob.digest.as_ref().filter(|d| d.algorithm() == "sha256") {
                if claimed != &digest {
                    return Err(ImageError::DigestMismatch {
                        what: format!("layer {i} ({})", blob.location),
                        expected: claimed.to_string(),
                        actual: digest.to_string(),
                    }
                    .into());
                }
            }
            let media_type = sniff_layer(&head);
            if media_type == spec::MEDIA_OCI_LAYER_TAR && digest != blob.diff_id {
                return Err(ImageError::DigestMismatch {
                    what: format!("layer {i} ({}) diff_id", blob.location),
                    expected: blob.diff_id.to_string(),
                    actual: digest.to_string(),
                }
                .into());
            }
            self.adopt_blob(&path, &digest)?;
            layers.push(LayerFile {
                path: self.blob_path(&digest),
                descriptor: Descriptor {
                    media_type: media_type.to_string(),
                    digest,
                    size,
                    platform: None,
                    annotations: Default::default(),
                    other: Default::default(),
                },
                diff_id: blob.diff_id.clone(),
            });
        }
        let new = NewImage { config: image.config.clone(), layers, annotations: Default::default() };
        // write_oci_layout takes the store's lock itself.
        Ok(crate::image::write::write_oci_layout_keeping_config(&self.root, &new, image.config_bytes(), names)?)
    }

    /// Frees space: blobs no named image needs, snapshots (unreachable ones, or all with
    /// `all`), step-cache entries whose layer is gone (all with `all`), cache mounts (with
    /// `all`). Waits for running builds (`on_wait` says so) and holds the store's lock; never
    /// touches `tmp/`.
    pub fn prune(&self, opts: &PruneOptions, on_wait: impl FnOnce()) -> Result<PruneReport> {
        let _builds = self.builds_lock(true, on_wait)?;
        let _lock = self.lock()?;
        let before = disk_usage(&self.root);
        let reach = self.reachable(&self.read_index()?)?;
        let mut items: Vec<(std::time::SystemTime, Item, PathBuf)> = Vec::new();
        let list = |dir: &str| -> Vec<PathBuf> {
            let mut v: Vec<PathBuf> = std::fs::read_dir(self.root.join(dir))
                .map(|r| r.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            v.sort();
            v
        };
        for path in list("blobs/sha256") {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            // Only finished blobs: a name that is not 64 hex digits is a writer's temporary file.
            if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let Ok(digest) = Digest::parse(&format!("sha256:{name}")) else { continue };
            if !reach.blobs.contains(&digest) {
                items.push((modified(&path), Item::Blob(digest), path));
            }
        }
        for path in list("s") {
            let name = format!("s/{}", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
            if opts.all || !reach.snapshots.contains(&name) {
                items.push((modified(&path), Item::Snapshot(path.clone()), path));
            }
        }
        if opts.all {
            for path in list("mounts") {
                items.push((modified(&path), Item::Mount(path.clone()), path));
            }
            for path in list("cache") {
                items.push((modified(&path), Item::CacheEntry(path.clone()), path));
            }
        }
        items.sort_by_key(|a| a.0);
        let mut report = PruneReport { store_bytes_before: before, ..Default::default() };
        let mut removed_blobs: HashSet<Digest> = HashSet::new();
        for (_, item, path) in items {
            if opts.keep_storage.is_some_and(|keep| before.saturating_sub(report.freed_bytes) <= keep) {
                break;
            }
            report.freed_bytes += disk_usage(&path);
            match item {
                Item::Blob(d) => {
                    io(&path, std::fs::remove_file(&path))?;
                    removed_blobs.insert(d);
                    report.blobs += 1;
                }
                Item::Snapshot(p) => {
                    remove_tree(&p);
                    report.snapshots += 1;
                }
                Item::Mount(p) => {
                    remove_tree(&p);
                    report.cache_mounts += 1;
                }
                Item::CacheEntry(p) => {
                    if std::fs::remove_file(&p).is_ok() {
                        report.cache_entries += 1;
                    }
                }
            }
        }
        // Entries whose layer blob is gone are dead (cache_get ignores them): remove them.
        for path in list("cache") {
            let Ok(bytes) = std::fs::read(&path) else { continue };
            let dead = match serde_json::from_slice::<CacheEntry>(&bytes) {
                Ok(CacheEntry { layer: Some(l) }) => removed_blobs.contains(&l.digest) || !self.has_blob(&l.digest),
                Ok(CacheEntry { layer: None }) => false,
                Err(_) => true,
            };
            if dead {
                report.freed_bytes += disk_usage(&path);
                if std::fs::remove_file(&path).is_ok() {
                    report.cache_entries += 1;
                }
            }
        }
        // Records of compressed blobs that are gone are dead too.
        for path in list("dist") {
            let blob_there = std::fs::read(&path)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Descriptor>(&bytes).ok())
                .is_some_and(|d| self.has_blob(&d.digest));
            if !blob_there {
                report.freed_bytes += disk_usage(&path);
                let _ = std::fs::remove_file(&path);
            }
        }
        report.store_bytes_after = disk_usage(&self.root);
        Ok(report)
    }
}

/// OCI's chain ID: `sha256(parent chain ID + " " + diff_id)`, the first layer's being its diff_id.
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(p) => Digest::sha256_from_bytes(Sha256::digest(format!("{p} {diff_id}").as_bytes()).into()),
    }
}

/// The name an image has in the store: Docker's normalisation, `ubuntu` → `docker.io/library/ubuntu:latest`.
pub fn canonical_name(name: &str) -> std::result::Result<String, String> {
    crate::image::name::ImageName::parse(name).map(|n| n.to_string()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temps_go_and_held_ones_stay() {
        let root = std::env::temp_dir().join(format!("imgopt-store-test-{}", std::process::id()));
        let store = Store::open(&root).unwrap();
        let held = store.temp_dir("step").unwrap();
        std::fs::create_dir(store.root.join("tmp/dead-1")).unwrap();
        std::fs::write(store.root.join("tmp/dead-1.lock"), "").unwrap();
        store.clean_stale_temps();
        assert!(held.path.is_dir());
        assert!(!store.root.join("tmp/dead-1").exists());
        let path = held.path.clone();
        drop(held);
        assert!(!path.exists());
        let d = store.put_blob(b"hello").unwrap();
        assert!(store.has_blob(&d));
        store
            .tag(
                "example.com/a:1",
                Descriptor {
                    media_type: spec::MEDIA_OCI_MANIFEST.to_string(),
                    digest: d.clone(),
                    size: 5,
                    platform: None,
                    annotations: Default::default(),
                    other: Default::default(),
                },
            )
            .unwrap();
        assert_eq!(store.lookup("example.com/a:1").unwrap().unwrap().digest, d);
        let entry = CacheEntry { layer: None };
        store.cache_put("k", &entry).unwrap();
        assert_eq!(store.cache_get("k"), Some(entry));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
