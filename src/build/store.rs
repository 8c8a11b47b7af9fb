//! The builder's local store, in the user's cache directory (`IMGOPT_STORE` overrides it):
//!
//! ```text
//! oci-layout, index.json, blobs/sha256/   an OCI image layout: named images, layer blobs, configs
//! s/<chain>/                              one unpacked snapshot per layer chain, overlay lower form
//! cache/<key>.json                        the step cache: what a step made
//! mounts/<id>/                            RUN --mount=type=cache directories
//! tmp/<name>/ + tmp/<name>.lock           a step's work directories, held by a lock while in use
//! lock                                    taken while index.json or a snapshot is being written
//! ```
//!
//! Everything is written under `tmp/` and renamed into place, so a build killed at any moment
//! leaves no half-written blob, snapshot or cache entry; the next run deletes every `tmp/`
//! entry whose lock nobody holds.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::image::spec::{self, Descriptor, Digest, Index};

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the image store at {0}: {1}")]
    Corrupt(PathBuf, String),
    #[error("no place for the image store: set IMGOPT_STORE, XDG_CACHE_HOME or HOME")]
    NoHome,
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
        for dir in ["blobs/sha256", "s", "cache", "mounts", "tmp"] {
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
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let tmp = self.root.join("tmp").join(format!(
            ".{}.{}.{}",
            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let mut f = io(&tmp, File::create(&tmp))?;
        io(&tmp, f.write_all(bytes))?;
        io(&tmp, f.sync_all())?;
        io(path, std::fs::rename(&tmp, path))
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
            _ => Some(entry),
        }
    }

    pub fn cache_put(&self, key: &str, entry: &CacheEntry) -> Result<()> {
        let path = self.root.join("cache").join(format!("{key}.json"));
        self.write_atomic(&path, &serde_json::to_vec(entry).expect("cache entry serializes"))
    }

    /// A `RUN --mount=type=cache` directory (created on first use).
    pub fn cache_mount(&self, id: &str) -> Result<PathBuf> {
        let name: String = Sha256::digest(id.as_bytes()).iter().take(12).map(|b| format!("{b:02x}")).collect();
        let dir = self.root.join("mounts").join(name);
        io(&dir, std::fs::create_dir_all(&dir))?;
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
