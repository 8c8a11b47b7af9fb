//! An overlay upper directory as a layer tar (see the module docs of `crate::build`).
//!
//! The semantics are BuildKit's overlay differ (`util/overlay/overlay_linux.go`: `Changes`,
//! `checkDelete`, `checkOpaque`, `sameDirent`) feeding containerd's `archive.ChangeWriter`, and the
//! bytes are those Go's `archive/tar` writes for the headers that writer builds, so that a layer
//! imgopt builds has the diff_id BuildKit would give the same upper directory. Where imgopt departs
//! from BuildKit it says so at the place it does (opaque directories, xattrs).
//!
//! One pass, two threads: the walker reads the upper directory and writes tar bytes, hashing them
//! (diff_id) as they go; the caller's thread compresses (when asked), hashes the blob (digest),
//! counts it and writes it out. Compression is the slow part, so it gets a core of its own, like
//! `tar c | gzip`. The builder asks for a plain tar, as BuildKit keeps its snapshots' diffs, and
//! compresses only when an image leaves its store ([`compress_tar`], the same encoder).

use std::collections::{BTreeMap, HashMap};
use std::ffi::{CString, OsString};
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};

use sha2::{Digest as _, Sha256};

use crate::image::layer::{OPAQUE_MARKER, WHITEOUT_PREFIX};
use crate::image::spec::{Digest, MEDIA_OCI_LAYER_GZIP, MEDIA_OCI_LAYER_TAR, MEDIA_OCI_LAYER_ZSTD};

/// The xattrs overlayfs marks an opaque directory with: `trusted.` when mounted by root,
/// `user.` when mounted with `userxattr` (rootless).
pub const OVERLAY_OPAQUE_XATTRS: &[&str] = &["trusted.overlay.opaque", "user.overlay.opaque"];

/// Go's `gzip.DefaultCompression` (what BuildKit and Docker compress layers with) is level 6.
pub const GZIP_LEVEL: u32 = 6;
/// BuildKit's zstd default (`klauspost/compress` `SpeedDefault`) corresponds to zstd level 3.
pub const ZSTD_LEVEL: i32 = 3;

/// The tar stream travels from the walker to the compressor in chunks this big.
const CHUNK: usize = 1 << 20;
/// Chunks in flight between the two threads.
const CHUNKS_IN_FLIGHT: usize = 4;
/// The walker recurses once per directory level; Linux paths are at most 4096 bytes, so at most
/// 2048 levels.
const WALKER_STACK: usize = 16 << 20;

const BLOCK: usize = 512;

/// Xattr names and values, sorted by name.
type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;
const CAPABILITY_XATTR: &[u8] = b"security.capability";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LayerCompression {
    #[default]
    Gzip,
    Zstd,
    None,
}

impl LayerCompression {
    pub fn media_type(self) -> &'static str {
        match self {
            LayerCompression::Gzip => MEDIA_OCI_LAYER_GZIP,
            LayerCompression::Zstd => MEDIA_OCI_LAYER_ZSTD,
            LayerCompression::None => MEDIA_OCI_LAYER_TAR,
        }
    }
}

/// One line of `/proc/PID/uid_map`: `count` ids from `container` inside map to `host` outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdRange {
    pub container: u32,
    pub host: u32,
    pub count: u32,
}

/// Host ids (as the upper directory stores them) to the ids the image records. No ranges is the
/// identity (a build as root). An id no range covers is an error, not `nobody` (65534): the
/// build's user namespace maps every id a step can create, so an unmapped owner means the map
/// given here is not the one the step ran with, and guessing would put wrong owners in the image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdMap {
    ranges: Vec<IdRange>,
}

impl IdMap {
    pub fn identity() -> Self {
        IdMap::default()
    }

    /// Ranges must be non-empty and must not overlap on either side.
    pub fn new(mut ranges: Vec<IdRange>) -> Result<Self, DiffError> {
        for r in &ranges {
            if r.count == 0 {
                return Err(DiffError::IdMap(format!("range {} {} 0 is empty", r.container, r.host)));
            }
            let fits = |start: u32| u64::from(start) + u64::from(r.count) <= 1 << 32;
            if !fits(r.container) || !fits(r.host) {
                return Err(DiffError::IdMap(format!(
                    "range {} {} {} goes past the last id",
                    r.container, r.host, r.count
                )));
            }
        }
        for side in [|r: &IdRange| r.host, |r: &IdRange| r.container] {
            ranges.sort_by_key(side);
            for pair in ranges.windows(2) {
                if u64::from(side(&pair[0])) + u64::from(pair[0].count) > u64::from(side(&pair[1])) {
                    return Err(DiffError::IdMap(format!("ranges {:?} and {:?} overlap", pair[0], pair[1])));
                }
            }
        }
        ranges.sort_by_key(|r| r.host);
        Ok(IdMap { ranges })
    }

    /// The text of `/proc/PID/uid_map` or `gid_map`: `container host count` per line.
    pub fn parse(text: &str) -> Result<Self, DiffError> {
        let mut ranges = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let numbers: Option<Vec<u32>> = fields.iter().map(|f| f.parse().ok()).collect();
            match numbers.as_deref() {
                Some(&[container, host, count]) => ranges.push(IdRange { container, host, count }),
                _ => return Err(DiffError::IdMap(format!("`{line}` is not `container host count`"))),
            }
        }
        IdMap::new(ranges)
    }

    pub fn is_identity(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The id inside the build for a host id; `None` when no range covers it.
    pub fn to_container(&self, host: u32) -> Option<u32> {
        if self.ranges.is_empty() {
            return Some(host);
        }
        let i = self.ranges.partition_point(|r| r.host <= host).checked_sub(1)?;
        let r = &self.ranges[i];
        let offset = host - r.host;
        (offset < r.count).then(|| r.container + offset)
    }
}

#[derive(Clone, Debug)]
pub struct DiffOptions {
    pub compression: LayerCompression,
    /// Entry mtimes later than this are written as this (BuildKit's `rewrite-timestamp`).
    pub source_date_epoch: Option<i64>,
    /// Overlay's opaque-directory xattrs; the part before `opaque` is overlay's own namespace
    /// (`trusted.overlay.`), whose xattrs never go into a layer.
    pub opaque_xattr_names: &'static [&'static str],
    pub uid_map: IdMap,
    pub gid_map: IdMap,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            compression: LayerCompression::Gzip,
            source_date_epoch: None,
            opaque_xattr_names: OVERLAY_OPAQUE_XATTRS,
            uid_map: IdMap::identity(),
            gid_map: IdMap::identity(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenLayer {
    /// sha256 of the uncompressed tar.
    pub diff_id: Digest,
    /// sha256 of the blob as written to `out`.
    pub digest: Digest,
    /// Blob bytes.
    pub size: u64,
    pub media_type: &'static str,
    /// Sum of the sizes of the regular files written with their content (hardlinks count once).
    pub content_bytes: u64,
    /// Tar entries, whiteouts and opaque markers included, PAX extended headers not.
    pub entries: u64,
    /// No entry at all: the step changed nothing (history records it as `empty_layer`).
    pub empty: bool,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DiffError {
    #[error("cannot {op} {}", path.display())]
    #[diagnostic(code(imgopt::build::diff::io))]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot write the layer blob")]
    #[diagnostic(code(imgopt::build::diff::write))]
    Write(#[source] io::Error),

    #[error("{} is owned by host {which} {id}, which the {which} map does not cover", path.display())]
    #[diagnostic(
        code(imgopt::build::diff::unmapped_id),
        help("pass the id maps of the user namespace the step ran in")
    )]
    UnmappedId { path: PathBuf, which: &'static str, id: u32 },

    #[error("{} carries `{xattr}`: the overlay was mounted with redirect_dir or metacopy, and its upper directory alone does not hold the change", path.display())]
    #[diagnostic(
        code(imgopt::build::diff::overlay_feature),
        help("mount the step's overlay with redirect_dir=off and metacopy=off")
    )]
    OverlayFeature { path: PathBuf, xattr: String },

    #[error("{} cannot be written as a tar entry: {reason}", path.display())]
    #[diagnostic(code(imgopt::build::diff::unencodable))]
    Unencodable { path: PathBuf, reason: String },

    #[error("{} changed while the layer was written: {reason}", path.display())]
    #[diagnostic(code(imgopt::build::diff::changed))]
    Changed { path: PathBuf, reason: String },

    #[error("invalid id map: {0}")]
    #[diagnostic(code(imgopt::build::diff::id_map))]
    IdMap(String),

    #[error("the layer walker stopped unexpectedly")]
    #[diagnostic(code(imgopt::build::diff::worker))]
    Worker,
}

fn io_error<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> DiffError + 'a {
    move |source| DiffError::Io { op, path: path.to_path_buf(), source }
}

/// Write the layer for `upper` (an overlay upper directory) over `lowers` (the snapshot
/// directories under it, top-most first, whiteouts and opaque directories in overlay's own
/// form) to `out`, compressed as `opts` says. On error, what was written to `out` is not a
/// layer and must be thrown away.
pub fn write_layer(
    upper: &Path,
    lowers: &[&Path],
    out: &mut impl Write,
    opts: &DiffOptions,
) -> Result<WrittenLayer, DiffError> {
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
    let (spare_tx, spare_rx) = mpsc::sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT + 2);
    std::thread::scope(|scope| {
        let walker = std::thread::Builder::new()
            .name("imgopt-layer-walk".into())
            .stack_size(WALKER_STACK)
            .spawn_scoped(scope, move || walk_upper(upper, lowers, opts, chunk_tx, spare_rx))
            .map_err(|e| DiffError::Io { op: "start a thread to walk", path: upper.to_path_buf(), source: e })?;
        let compressed = compress(chunk_rx, spare_tx, out, opts.compression);
        let walked = walker.join().map_err(|_| DiffError::Worker)?;
        // The compressor stops early only when `out` fails, and the walker then only sees a
        // closed pipe: the compressor's error is the cause. A walker that fails closes the pipe
        // and the compressor ends normally. Either way `out` holds a partial blob.
        let (digest, size) = compressed.map_err(DiffError::Write)?;
        let walked = walked?;
        let diff_id = walked.diff_id;
        Ok(WrittenLayer {
            digest: digest.unwrap_or_else(|| diff_id.clone()),
            diff_id,
            size,
            media_type: opts.compression.media_type(),
            content_bytes: walked.content_bytes,
            entries: walked.entries,
            empty: walked.entries == 0,
        })
    })
}

/// Counts and hashes what passes through to the blob's destination.
struct BlobTap<'a, W: Write> {
    inner: &'a mut W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for BlobTap<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The caller's side: tar chunks in, blob out. Returns the blob digest (None when the blob is
/// the tar itself, whose digest the walker has) and its size.
fn compress<W: Write>(
    chunks: Receiver<Vec<u8>>,
    spares: SyncSender<Vec<u8>>,
    out: &mut W,
    compression: LayerCompression,
) -> io::Result<(Option<Digest>, u64)> {
    encode(out, compression, false, |w| {
        for mut chunk in chunks.iter() {
            w.write_all(&chunk)?;
            chunk.clear();
            // The walker may be gone or have spares enough; either way the buffer is just freed.
            let _ = spares.try_send(chunk);
        }
        Ok(())
    })
}

/// A finished layer tar (as the builder keeps it in its store) compressed into the blob
/// [`write_layer`] makes with `compression`: the same encoder with the same settings, fed the
/// same whole chunks (the encoder's output depends on how its input is cut), so the same tar
/// gives the same bytes. Returns the blob's digest and size.
pub fn compress_tar(
    tar: &mut impl Read,
    out: &mut impl Write,
    compression: LayerCompression,
) -> io::Result<(Digest, u64)> {
    let (digest, size) = encode(out, compression, true, |w| {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = read_full(tar, &mut buf)?;
            if n > 0 {
                w.write_all(&buf[..n])?;
            }
            if n < CHUNK {
                return Ok(());
            }
        }
    })?;
    Ok((digest.expect("encode hashes when asked to"), size))
}

/// Everything `feed` writes, compressed as `compression` says, into `out`: the blob's digest
/// (for a plain tar only with `hash_plain`: the walker hashes it already) and its size.
fn encode<W: Write>(
    out: &mut W,
    compression: LayerCompression,
    hash_plain: bool,
    feed: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<(Option<Digest>, u64)> {
    match compression {
        LayerCompression::None if !hash_plain => {
            let mut count = CountingWriter { inner: out, bytes: 0 };
            feed(&mut count)?;
            count.flush()?;
            Ok((None, count.bytes))
        }
        LayerCompression::None => {
            let mut tap = BlobTap { inner: out, hasher: Sha256::new(), bytes: 0 };
            feed(&mut tap)?;
            tap.flush()?;
            Ok((Some(Digest::sha256_from_bytes(tap.hasher.finalize().into())), tap.bytes))
        }
        LayerCompression::Gzip => {
            let tap = BlobTap { inner: out, hasher: Sha256::new(), bytes: 0 };
            // No name, mtime 0, OS "unknown" (255): the header Go's gzip writer produces.
            let mut gz = flate2::GzBuilder::new().write(tap, flate2::Compression::new(GZIP_LEVEL));
            feed(&mut gz)?;
            let mut tap = gz.finish()?;
            tap.flush()?;
            Ok((Some(Digest::sha256_from_bytes(tap.hasher.finalize().into())), tap.bytes))
        }
        LayerCompression::Zstd => {
            let tap = BlobTap { inner: out, hasher: Sha256::new(), bytes: 0 };
            let mut zst = zstd::stream::Encoder::new(tap, ZSTD_LEVEL)?;
            zst.include_checksum(true)?;
            feed(&mut zst)?;
            let mut tap = zst.finish()?;
            tap.flush()?;
            Ok((Some(Digest::sha256_from_bytes(tap.hasher.finalize().into())), tap.bytes))
        }
    }
}

struct CountingWriter<'a, W: Write> {
    inner: &'a mut W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The walker's side of the pipe: tar bytes gathered into chunks, hashed in order (diff_id).
struct TarSink {
    buf: Vec<u8>,
    chunks: SyncSender<Vec<u8>>,
    spares: Receiver<Vec<u8>>,
    hasher: Sha256,
    bytes: u64,
}

/// The compressor hung up: it failed, and its own error is the one reported.
fn sink_closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the layer compressor stopped")
}

impl TarSink {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.hasher.update(&self.buf);
        self.bytes += self.buf.len() as u64;
        let next = self.spares.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let full = std::mem::replace(&mut self.buf, next);
        self.chunks.send(full).map_err(|_| sink_closed())
    }

    fn put(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let room = CHUNK - self.buf.len();
            let n = room.min(bytes.len());
            self.buf.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.buf.len() == CHUNK {
                self.send()?;
            }
        }
        Ok(())
    }

    /// Exactly `len` bytes of `file`, read straight into the chunk buffer. Returns how many
    /// bytes the file had (fewer than `len` when it shrank).
    fn put_file(&mut self, file: &mut File, len: u64) -> io::Result<u64> {
        let mut left = len;
        while left > 0 {
            let start = self.buf.len();
            let want = (CHUNK - start).min(usize::try_from(left).unwrap_or(usize::MAX));
            self.buf.resize(start + want, 0);
            let n = loop {
                match file.read(&mut self.buf[start..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            let n = match n {
                Ok(n) => n,
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(e);
                }
            };
            self.buf.truncate(start + n);
            if n == 0 {
                break;
            }
            left -= n as u64;
            if self.buf.len() == CHUNK {
                self.send()?;
            }
        }
        Ok(len - left)
    }

    fn pad(&mut self, written: u64) -> io::Result<()> {
        let rem = (written % BLOCK as u64) as usize;
        if rem != 0 {
            self.put(&[0; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<Digest> {
        self.send()?;
        Ok(Digest::sha256_from_bytes(self.hasher.finalize().into()))
    }
}

struct Walked {
    diff_id: Digest,
    content_bytes: u64,
    entries: u64,
}

fn walk_upper(
    upper: &Path,
    lowers: &[&Path],
    opts: &DiffOptions,
    chunks: SyncSender<Vec<u8>>,
    spares: Receiver<Vec<u8>>,
) -> Result<Walked, DiffError> {
    let sink = TarSink { buf: Vec::with_capacity(CHUNK), chunks, spares, hasher: Sha256::new(), bytes: 0 };
    let overlay_prefixes: Vec<&[u8]> = opts
        .opaque_xattr_names
        .iter()
        .map(|name| name.as_bytes())
        .map(|name| name.strip_suffix(b"opaque").unwrap_or(name))
        .collect();
    let mut walker = Walker {
        opts,
        overlay_prefixes,
        sink,
        parents: Vec::new(),
        links: HashMap::new(),
        content_bytes: 0,
        entries: 0,
        header: Vec::with_capacity(2 * BLOCK),
    };
    let lower_roots: Vec<PathBuf> = lowers.iter().map(|l| l.to_path_buf()).collect();
    walker.walk_dir(upper, b"", &lower_roots, false)?;
    // Go's tar.Writer.Close: two zero blocks, no padding to a record size.
    walker.sink.put(&[0; 2 * BLOCK]).map_err(DiffError::Write)?;
    let Walker { sink, content_bytes, entries, .. } = walker;
    let diff_id = sink.finish().map_err(DiffError::Write)?;
    Ok(Walked { diff_id, content_bytes, entries })
}

/// A directory on the walk's current path whose own entry has not been written yet: it is
/// written just before the first entry under it (containerd's `includeParents`).
struct Parent {
    name: Vec<u8>,
    path: PathBuf,
    meta: Metadata,
    written: bool,
}

/// What the lower layers show at a path: the top-most lower that has it.
struct Base {
    path: PathBuf,
    meta: Metadata,
}

struct Walker<'a> {
    opts: &'a DiffOptions,
    overlay_prefixes: Vec<&'a [u8]>,
    sink: TarSink,
    parents: Vec<Parent>,
    /// (device, inode) of a multiply-linked file already written → its entry name.
    links: HashMap<(u64, u64), Vec<u8>>,
    content_bytes: u64,
    entries: u64,
    header: Vec<u8>,
}

fn is_whiteout(meta: &Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

fn join_name(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(dir.len() + name.len() + 1);
    out.extend_from_slice(dir);
    if !dir.is_empty() {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

fn sorted_names(dir: &Path) -> Result<Vec<OsString>, DiffError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error("list", dir))? {
        names.push(entry.map_err(io_error("list", dir))?.file_name());
    }
    // Go's filepath.Walk order: names sorted byte for byte, each directory before its contents.
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

fn lstat(path: &Path) -> Result<Option<Metadata>, DiffError> {
    match fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) => Ok(None),
        Err(e) => Err(DiffError::Io { op: "stat", path: path.to_path_buf(), source: e }),
    }
}

impl Walker<'_> {
    /// `lowers`: the directories of the lower layers merged at this directory, top-most first
    /// (cut below an opaque directory or a non-directory, as overlay merges them). `opaque`: an
    /// ancestor was written as opaque, so everything below is new and whiteouts mean nothing.
    fn walk_dir(&mut self, dir: &Path, name: &[u8], lowers: &[PathBuf], opaque: bool) -> Result<(), DiffError> {
        for child in sorted_names(dir)? {
            let path = dir.join(&child);
            let child_name = join_name(name, child.as_bytes());
            let Some(meta) = lstat(&path)? else {
                return Err(DiffError::Changed { path, reason: "it was removed".into() });
            };
            let base = if opaque { None } else { self.lookup(lowers, child.as_bytes())? };
            if is_whiteout(&meta) {
                // BuildKit's checkDelete: a whiteout over nothing is dropped.
                if base.is_some() {
                    self.write_whiteout(name, child.as_bytes())?;
                }
                continue;
            }
            if meta.file_type().is_socket() {
                continue; // containerd's ChangeWriter leaves sockets out
            }
            let xattrs = self.xattr_names(&path)?;
            self.refuse_overlay_features(&path, &meta, &xattrs)?;
            let changed = match &base {
                None => true,
                Some(base) => !same_dirent(base, &path, &meta, &xattrs)?,
            };
            if !meta.is_dir() {
                if changed {
                    self.write_entry(&path, &child_name, &meta, &xattrs)?;
                }
                continue;
            }
            self.parents.push(Parent { name: child_name, path, meta, written: false });
            if changed {
                self.write_parents()?;
            }
            let top = self.parents.len() - 1;
            let (path, child_name) = (self.parents[top].path.clone(), self.parents[top].name.clone());
            // BuildKit's checkOpaque: only a directory that hides something is opaque.
            let now_opaque = !opaque && base.is_some() && self.is_opaque(&path)?;
            if now_opaque {
                self.write_parents()?;
                self.write_opaque_marker(top)?;
            }
            let child_lowers = match (&base, opaque || now_opaque) {
                (Some(base), false) if base.meta.is_dir() => self.merged_dirs(lowers, child.as_bytes())?,
                _ => Vec::new(),
            };
            self.walk_dir(&path, &child_name, &child_lowers, opaque || now_opaque)?;
            self.parents.pop();
        }
        Ok(())
    }

    /// What the merged lowers show at `lowers/name`: the top-most entry, unless a whiteout hides
    /// it (BuildKit's `os.Lstat(filepath.Join(base, path))` on the mounted lowers).
    fn lookup(&self, lowers: &[PathBuf], name: &[u8]) -> Result<Option<Base>, DiffError> {
        for dir in lowers {
            let path = dir.join(std::ffi::OsStr::from_bytes(name));
            if let Some(meta) = lstat(&path)? {
                return Ok((!is_whiteout(&meta)).then_some(Base { path, meta }));
            }
        }
        Ok(None)
    }

    /// The lower directories overlay merges at `lowers/name`, top-most first.
    fn merged_dirs(&self, lowers: &[PathBuf], name: &[u8]) -> Result<Vec<PathBuf>, DiffError> {
        let mut merged = Vec::new();
        for dir in lowers {
            let path = dir.join(std::ffi::OsStr::from_bytes(name));
            let Some(meta) = lstat(&path)? else { continue };
            if !meta.is_dir() {
                break; // a whiteout or a file hides the rest
            }
            let opaque = self.is_opaque(&path)?;
            merged.push(path);
            if opaque {
                break;
            }
        }
        Ok(merged)
    }

    fn is_opaque(&self, path: &Path) -> Result<bool, DiffError> {
        for name in self.opts.opaque_xattr_names {
            if get_xattr(path, name.as_bytes())?.as_deref() == Some(b"y") {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn is_overlay_xattr(&self, name: &[u8]) -> bool {
        self.overlay_prefixes.iter().any(|p| name.starts_with(p))
    }

    fn xattr_names(&self, path: &Path) -> Result<Vec<Vec<u8>>, DiffError> {
        list_xattrs(path)
    }

    /// BuildKit refuses `redirect_dir`; `metacopy` leaves the data in the lower layer. Either way
    /// the upper directory is not the whole change.
    fn refuse_overlay_features(&self, path: &Path, meta: &Metadata, xattrs: &[Vec<u8>]) -> Result<(), DiffError> {
        for name in xattrs {
            if let Some(prefix) = self.overlay_prefixes.iter().find(|p| name.starts_with(p)) {
                let feature = &name[prefix.len()..];
                if (feature == b"redirect" && meta.is_dir()) || (feature == b"metacopy" && meta.is_file()) {
                    return Err(DiffError::OverlayFeature {
                        path: path.to_path_buf(),
                        xattr: String::from_utf8_lossy(name).into_owned(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The xattrs an entry carries into the layer: file capabilities and `user.*`, overlay's
    /// own excepted. BuildKit (and Docker) keep only `security.capability`; imgopt also keeps
    /// the user namespace, which programs set on purpose. `security.selinux` is the host's
    /// labelling and ACLs are dropped as Docker drops them.
    fn kept_xattrs(&self, path: &Path, names: &[Vec<u8>]) -> Result<Xattrs, DiffError> {
        let mut kept = Vec::new();
        for name in names {
            let wanted = name == CAPABILITY_XATTR || name.starts_with(b"user.");
            if !wanted || self.is_overlay_xattr(name) {
                continue;
            }
            if let Some(value) = get_xattr(path, name)? {
                kept.push((name.clone(), value));
            }
        }
        kept.sort();
        Ok(kept)
    }

    fn translate(&self, path: &Path, meta: &Metadata) -> Result<(u32, u32), DiffError> {
        let uid = self.opts.uid_map.to_container(meta.uid()).ok_or_else(|| DiffError::UnmappedId {
            path: path.to_path_buf(),
            which: "uid",
            id: meta.uid(),
        })?;
        let gid = self.opts.gid_map.to_container(meta.gid()).ok_or_else(|| DiffError::UnmappedId {
            path: path.to_path_buf(),
            which: "gid",
            id: meta.gid(),
        })?;
        Ok((uid, gid))
    }

    fn mtime(&self, meta: &Metadata) -> i64 {
        // containerd clamps to the upper bound, then truncates to the second (floor).
        match self.opts.source_date_epoch {
            Some(epoch) => meta.mtime().min(epoch),
            None => meta.mtime(),
        }
    }

    /// Write the entries of the directories on the current path not written yet.
    fn write_parents(&mut self) -> Result<(), DiffError> {
        for i in 0..self.parents.len() {
            if !self.parents[i].written {
                self.parents[i].written = true;
                let parent = &self.parents[i];
                let (path, meta) = (parent.path.clone(), parent.meta.clone());
                let mut name = parent.name.clone();
                name.push(b'/');
                let xattrs = self.xattr_names(&path)?;
                self.write_header_for(&path, &name, &meta, &xattrs, b'5', b"", 0)?;
            }
        }
        Ok(())
    }

    fn emit(&mut self, path: &Path, header: &EntryHeader<'_>) -> Result<(), DiffError> {
        self.header.clear();
        header
            .encode(&mut self.header)
            .map_err(|reason| DiffError::Unencodable { path: path.to_path_buf(), reason })?;
        self.sink.put(&self.header).map_err(DiffError::Write)?;
        self.entries += 1;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn write_header_for(
        &mut self,
        path: &Path,
        name: &[u8],
        meta: &Metadata,
        xattr_names: &[Vec<u8>],
        typeflag: u8,
        link: &[u8],
        size: u64,
    ) -> Result<(), DiffError> {
        let (uid, gid) = self.translate(path, meta)?;
        let xattrs = self.kept_xattrs(path, xattr_names)?;
        let device = matches!(typeflag, b'3' | b'4');
        let rdev = meta.rdev();
        let header = EntryHeader {
            name,
            link,
            typeflag,
            mode: meta.mode() & 0o7777,
            uid: u64::from(uid),
            gid: u64::from(gid),
            size,
            mtime: self.mtime(meta),
            devmajor: if device { u64::from(libc::major(rdev)) } else { 0 },
            devminor: if device { u64::from(libc::minor(rdev)) } else { 0 },
            xattrs: &xattrs,
        };
        self.emit(path, &header)
    }

    fn write_whiteout(&mut self, dir: &[u8], name: &[u8]) -> Result<(), DiffError> {
        self.write_parents()?;
        let mut wh = WHITEOUT_PREFIX.as_bytes().to_vec();
        wh.extend_from_slice(name);
        let wh = join_name(dir, &wh);
        // containerd 2's whiteout: an empty regular file, mode 0, owner 0:0, mtime 0.
        let header = EntryHeader { name: &wh, ..EntryHeader::empty_file() };
        self.emit(Path::new(std::ffi::OsStr::from_bytes(&wh)), &header)
    }

    /// Docker's overlay2 differ writes the marker with the directory's permissions and owner.
    fn write_opaque_marker(&mut self, parent: usize) -> Result<(), DiffError> {
        let dir = &self.parents[parent];
        let (path, meta) = (dir.path.clone(), dir.meta.clone());
        let name = join_name(&dir.name, OPAQUE_MARKER.as_bytes());
        let (uid, gid) = self.translate(&path, &meta)?;
        let header = EntryHeader {
            name: &name,
            mode: meta.mode() & 0o777,
            uid: u64::from(uid),
            gid: u64::from(gid),
            ..EntryHeader::empty_file()
        };
        self.emit(&path, &header)
    }

    fn write_entry(
        &mut self,
        path: &Path,
        name: &[u8],
        meta: &Metadata,
        xattr_names: &[Vec<u8>],
    ) -> Result<(), DiffError> {
        self.write_parents()?;
        let ft = meta.file_type();
        // continuity's GetLinkInfo: any non-directory with more than one link.
        if meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = self.links.get(&key).cloned() {
                return self.write_header_for(path, name, meta, xattr_names, b'1', &first, 0);
            }
            self.links.insert(key, name.to_vec());
        }
        if ft.is_file() {
            let mut file = File::open(path).map_err(io_error("open", path))?;
            let size = meta.len();
            self.write_header_for(path, name, meta, xattr_names, b'0', b"", size)?;
            let got = self.sink.put_file(&mut file, size).map_err(|e| match e.kind() {
                io::ErrorKind::BrokenPipe => DiffError::Write(e),
                _ => DiffError::Io { op: "read", path: path.to_path_buf(), source: e },
            })?;
            if got != size {
                return Err(DiffError::Changed {
                    path: path.to_path_buf(),
                    reason: format!("{size} bytes became {got}"),
                });
            }
            let mut probe = [0u8; 1];
            if file.read(&mut probe).map_err(io_error("read", path))? != 0 {
                return Err(DiffError::Changed {
                    path: path.to_path_buf(),
                    reason: format!("it grew past {size} bytes"),
                });
            }
            self.sink.pad(size).map_err(DiffError::Write)?;
            self.content_bytes += size;
            return Ok(());
        }
        if ft.is_symlink() {
            let target = fs::read_link(path).map_err(io_error("read the link", path))?;
            return self.write_header_for(path, name, meta, xattr_names, b'2', target.as_os_str().as_bytes(), 0);
        }
        let typeflag = if ft.is_char_device() {
            b'3'
        } else if ft.is_block_device() {
            b'4'
        } else if ft.is_fifo() {
            b'6'
        } else {
            return Err(DiffError::Unencodable { path: path.to_path_buf(), reason: "unknown file type".into() });
        };
        self.write_header_for(path, name, meta, xattr_names, typeflag, b"", 0)
    }
}

/// BuildKit's `sameDirent` (continuity's comparison): true when the copy in the upper directory
/// is the lower file unchanged, so it is left out of the layer.
fn same_dirent(base: &Base, path: &Path, meta: &Metadata, upper_xattrs: &[Vec<u8>]) -> Result<bool, DiffError> {
    let b = &base.meta;
    if b.dev() == meta.dev() && b.ino() == meta.ino() {
        return Ok(true);
    }
    // compareSysStat: the whole st_mode (type and permissions), owner, device number.
    if b.mode() != meta.mode() || b.uid() != meta.uid() || b.gid() != meta.gid() || b.rdev() != meta.rdev() {
        return Ok(false);
    }
    // compareCapabilities: security.capability, absent and empty alike.
    let upper_cap = if upper_xattrs.iter().any(|n| n == CAPABILITY_XATTR) {
        get_xattr(path, CAPABILITY_XATTR)?.unwrap_or_default()
    } else {
        Vec::new()
    };
    let base_cap = get_xattr(&base.path, CAPABILITY_XATTR)?.unwrap_or_default();
    if upper_cap != base_cap {
        return Ok(false);
    }
    if meta.is_dir() {
        return Ok(true); // directories: no size, time or content check
    }
    if b.size() != meta.size() || b.mtime() != meta.mtime() {
        return Ok(false);
    }
    if b.mtime_nsec() == 0 && meta.mtime_nsec() == 0 {
        // Both times may have been truncated (unpacked from a tar): look at the content.
        if meta.file_type().is_symlink() {
            let l1 = fs::read_link(&base.path).map_err(io_error("read the link", &base.path))?;
            let l2 = fs::read_link(path).map_err(io_error("read the link", path))?;
            return Ok(l1 == l2);
        }
        if meta.size() == 0 {
            return Ok(true);
        }
        return same_content(&base.path, path);
    }
    Ok(b.mtime_nsec() == meta.mtime_nsec())
}

fn same_content(a: &Path, b: &Path) -> Result<bool, DiffError> {
    let open = |p: &Path| -> Result<File, DiffError> {
        let f = File::open(p).map_err(io_error("open", p))?;
        if !f.metadata().map_err(io_error("stat", p))?.is_file() {
            return Err(DiffError::Changed { path: p.to_path_buf(), reason: "it is no longer a regular file".into() });
        }
        Ok(f)
    };
    let (mut fa, mut fb) = (open(a)?, open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 32 << 10], vec![0u8; 32 << 10]);
    loop {
        let na = read_full(&mut fa, &mut ba).map_err(io_error("read", a))?;
        let nb = read_full(&mut fb, &mut bb).map_err(io_error("read", b))?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na < ba.len() {
            return Ok(true);
        }
    }
}

fn read_full(f: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn c_path(path: &Path) -> Result<CString, DiffError> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| DiffError::Unencodable { path: path.to_path_buf(), reason: "the path holds a NUL byte".into() })
}

/// The names of a file's xattrs (not following symlinks).
fn list_xattrs(path: &Path) -> Result<Vec<Vec<u8>>, DiffError> {
    let c = c_path(path)?;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // SAFETY: `c` is a NUL-terminated path; a null buffer with size 0 asks for the size.
        let size = unsafe { libc::llistxattr(c.as_ptr(), std::ptr::null_mut(), 0) };
        if size < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::ENOTSUP) => Ok(Vec::new()),
                _ => Err(DiffError::Io { op: "list the xattrs of", path: path.to_path_buf(), source: e }),
            };
        }
        if size == 0 {
            return Ok(Vec::new());
        }
        buf.resize(size as usize, 0);
        // SAFETY: `buf` has `buf.len()` writable bytes.
        let got = unsafe { libc::llistxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if got < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ERANGE) {
                continue; // grew between the two calls
            }
            return Err(DiffError::Io { op: "list the xattrs of", path: path.to_path_buf(), source: e });
        }
        buf.truncate(got as usize);
        return Ok(buf.split(|&b| b == 0).filter(|n| !n.is_empty()).map(<[u8]>::to_vec).collect());
    }
}

/// One xattr's value (not following symlinks); `None` when the file does not have it.
fn get_xattr(path: &Path, name: &[u8]) -> Result<Option<Vec<u8>>, DiffError> {
    let c = c_path(path)?;
    let Ok(cname) = CString::new(name) else { return Ok(None) };
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // SAFETY: NUL-terminated path and name; a null buffer with size 0 asks for the size.
        let size = unsafe { libc::lgetxattr(c.as_ptr(), cname.as_ptr(), std::ptr::null_mut(), 0) };
        if size < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::ENODATA) | Some(libc::ENOTSUP) => Ok(None),
                _ => Err(DiffError::Io { op: "read an xattr of", path: path.to_path_buf(), source: e }),
            };
        }
        buf.resize(size as usize, 0);
        // SAFETY: `buf` has `buf.len()` writable bytes.
        let got = unsafe { libc::lgetxattr(c.as_ptr(), cname.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if got < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ERANGE) => continue,
                Some(libc::ENODATA) => return Ok(None),
                _ => return Err(DiffError::Io { op: "read an xattr of", path: path.to_path_buf(), source: e }),
            }
        }
        buf.truncate(got as usize);
        return Ok(Some(buf));
    }
}

/// One tar entry as containerd's ChangeWriter hands it to Go's `archive/tar` (format PAX
/// wanted, so USTAR whenever it can hold the entry). `name` ends in `/` for a directory.
#[derive(Clone, Copy, Debug)]
struct EntryHeader<'a> {
    name: &'a [u8],
    link: &'a [u8],
    typeflag: u8,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    mtime: i64,
    devmajor: u64,
    devminor: u64,
    /// Sorted by name.
    xattrs: &'a [(Vec<u8>, Vec<u8>)],
}

const NAME_SIZE: usize = 100;
const PREFIX_SIZE: usize = 155;

fn fits_octal(width: usize, n: i128) -> bool {
    n >= 0 && n < 1i128 << (3 * (width - 1))
}

/// Go's `splitUSTARPath`: a long ASCII name split at a `/` into prefix (≤155) and name (≤100).
fn split_ustar_path(name: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut length = name.len();
    if length <= NAME_SIZE || !name.is_ascii() {
        return None;
    } else if length > PREFIX_SIZE + 1 {
        length = PREFIX_SIZE + 1;
    } else if name[length - 1] == b'/' {
        length -= 1;
    }
    let i = name[..length].iter().rposition(|&b| b == b'/')?;
    let suffix_len = name.len() - i - 1;
    if i == 0 || suffix_len > NAME_SIZE || suffix_len == 0 || i > PREFIX_SIZE {
        return None;
    }
    Some((&name[..i], &name[i + 1..]))
}

/// Go's `toASCII`: every byte of a non-ASCII character dropped (NULs too).
fn to_ascii(s: &[u8]) -> Vec<u8> {
    s.iter().copied().filter(|&b| b < 0x80 && b != 0).collect()
}

/// Go's `formatPAXRecord`: `LEN key=value\n`, LEN counting itself.
fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let base = key.len() + value.len() + 3;
    let mut size = base + base.to_string().len();
    if size.to_string().len() + base != size {
        size = base + size.to_string().len();
    }
    out.extend_from_slice(size.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// Go's `formatString`: copied, NUL-terminated when there is room, cut when there is not.
fn put_str(field: &mut [u8], s: &[u8]) {
    let n = s.len().min(field.len());
    field[..n].copy_from_slice(&s[..n]);
    if n < field.len() {
        field[n] = 0;
    }
}

/// Go's `formatOctal`: zero-padded, NUL-terminated; 0 when the number does not fit.
fn put_octal(field: &mut [u8], n: i128) {
    let n = if fits_octal(field.len(), n) { n } else { 0 };
    let digits = format!("{n:0width$o}", width = field.len() - 1);
    put_str(field, digits.as_bytes());
}

/// Magic, version and checksum, as Go's `block.setFormat` for USTAR and PAX.
fn seal(block: &mut [u8]) {
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    block[148..156].fill(b' ');
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    put_octal(&mut block[148..155], i128::from(sum));
    block[155] = b' ';
}

impl EntryHeader<'_> {
    fn empty_file() -> Self {
        EntryHeader {
            name: b"",
            link: b"",
            typeflag: b'0',
            mode: 0,
            uid: 0,
            gid: 0,
            size: 0,
            mtime: 0,
            devmajor: 0,
            devminor: 0,
            xattrs: &[],
        }
    }

    /// Go's `Header.allowedFormats` narrowed to what ChangeWriter's headers can hold, then
    /// `writeUSTARHeader` or `writePAXHeader`.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), String> {
        let mut pax: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut ustar = true;
        if !self.name.is_ascii() || self.name.len() > NAME_SIZE {
            if split_ustar_path(self.name).is_none() {
                ustar = false;
            }
            pax.insert(b"path".to_vec(), self.name.to_vec());
        }
        if !self.link.is_ascii() || self.link.len() > NAME_SIZE {
            ustar = false;
            pax.insert(b"linkpath".to_vec(), self.link.to_vec());
        }
        for (key, n, width) in [(&b"uid"[..], self.uid, 8), (b"gid", self.gid, 8), (b"size", self.size, 12)] {
            if !fits_octal(width, i128::from(n)) {
                ustar = false;
                pax.insert(key.to_vec(), n.to_string().into_bytes());
            }
        }
        for (what, n) in [("device major", self.devmajor), ("device minor", self.devminor)] {
            if !fits_octal(8, i128::from(n)) {
                return Err(format!("{what} {n} does not fit a tar header"));
            }
        }
        if !fits_octal(12, i128::from(self.mtime)) {
            ustar = false;
            pax.insert(b"mtime".to_vec(), self.mtime.to_string().into_bytes());
        }
        for (key, value) in self.xattrs {
            if key.contains(&b'=') || key.contains(&0) {
                return Err(format!("xattr `{}` cannot be a PAX record", String::from_utf8_lossy(key)));
            }
            ustar = false;
            let mut k = b"SCHILY.xattr.".to_vec();
            k.extend_from_slice(key);
            pax.insert(k, value.clone());
        }

        let mut block = [0u8; BLOCK];
        if ustar {
            let (prefix, name) = split_ustar_path(self.name).unwrap_or((b"", self.name));
            self.fill(&mut block, name, self.link);
            put_str(&mut block[345..500], prefix);
        } else {
            let mut data = Vec::new();
            for (k, v) in &pax {
                pax_record(&mut data, k, v);
            }
            out.extend_from_slice(&pax_header_block(self.name, data.len()));
            out.extend_from_slice(&data);
            out.resize(out.len().next_multiple_of(BLOCK), 0);
            self.fill(&mut block, &to_ascii(self.name), &to_ascii(self.link));
        }
        seal(&mut block);
        out.extend_from_slice(&block);
        Ok(())
    }

    /// Go's `templateV7Plus`.
    fn fill(&self, block: &mut [u8; BLOCK], name: &[u8], link: &[u8]) {
        put_str(&mut block[0..100], name);
        put_octal(&mut block[100..108], i128::from(self.mode));
        put_octal(&mut block[108..116], i128::from(self.uid));
        put_octal(&mut block[116..124], i128::from(self.gid));
        put_octal(&mut block[124..136], i128::from(self.size));
        put_octal(&mut block[136..148], i128::from(self.mtime));
        block[156] = self.typeflag;
        put_str(&mut block[157..257], link);
        put_octal(&mut block[329..337], i128::from(self.devmajor));
        put_octal(&mut block[337..345], i128::from(self.devminor));
    }
}

/// Go's `writeRawFile` for the PAX extended header: named `DIR/PaxHeaders.0/FILE`.
fn pax_header_block(name: &[u8], data_len: usize) -> [u8; BLOCK] {
    let split = name.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    let (dir, file) = name.split_at(split);
    // path.Join(dir, "PaxHeaders.0", file): cleaned, so no doubled or trailing slash.
    let mut pax_name = Vec::with_capacity(name.len() + 13);
    let dir = dir.strip_suffix(b"/").unwrap_or(dir);
    if !dir.is_empty() {
        pax_name.extend_from_slice(dir);
        pax_name.push(b'/');
    }
    pax_name.extend_from_slice(b"PaxHeaders.0");
    if !file.is_empty() {
        pax_name.push(b'/');
        pax_name.extend_from_slice(file);
    }
    let mut pax_name = to_ascii(&pax_name);
    pax_name.truncate(NAME_SIZE);
    while pax_name.last() == Some(&b'/') {
        pax_name.pop();
    }
    let mut block = [0u8; BLOCK];
    put_str(&mut block[0..100], &pax_name);
    put_octal(&mut block[100..108], 0);
    put_octal(&mut block[108..116], 0);
    put_octal(&mut block[116..124], 0);
    put_octal(&mut block[124..136], data_len as i128);
    put_octal(&mut block[136..148], 0);
    block[156] = b'x';
    seal(&mut block);
    block
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(h: &EntryHeader<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        h.encode(&mut out).expect("encodable");
        out
    }

    #[test]
    fn ustar_header_is_byte_for_byte_what_go_writes() {
        let h = EntryHeader {
            name: b"etc/hosts",
            mode: 0o644,
            uid: 1000,
            gid: 100,
            size: 5,
            mtime: 1_700_000_000,
            ..EntryHeader::empty_file()
        };
        let b = encode(&h);
        assert_eq!(b.len(), BLOCK);
        assert_eq!(&b[0..10], b"etc/hosts\0");
        assert_eq!(&b[100..108], b"0000644\0");
        assert_eq!(&b[108..116], b"0001750\0");
        assert_eq!(&b[124..136], b"00000000005\0");
        assert_eq!(&b[136..148], b"14524770400\0");
        assert_eq!(&b[257..265], b"ustar\x0000");
        assert_eq!(&b[329..345], b"0000000\x000000000\0");
        assert_eq!(&b[265..329], &[0u8; 64][..], "uname and gname stay empty");
        let sum: u32 =
            b.iter().enumerate().map(|(i, &x)| if (148..156).contains(&i) { 32 } else { u32::from(x) }).sum();
        assert_eq!(&b[148..156], format!("{sum:06o}\0 ").as_bytes());
        // The tar crate agrees with every field.
        let mut archive = b.clone();
        archive.extend_from_slice(b"hello");
        archive.resize(BLOCK * 2, 0);
        archive.extend_from_slice(&[0; 1024]);
        let mut ar = tar::Archive::new(&archive[..]);
        let mut entries = ar.entries().expect("tar");
        let e = entries.next().expect("one entry").expect("valid");
        assert_eq!(e.path_bytes().as_ref(), b"etc/hosts");
        assert_eq!(e.header().mode().ok(), Some(0o644));
        assert_eq!(e.header().mtime().ok(), Some(1_700_000_000));
    }

    #[test]
    fn long_ascii_names_use_the_ustar_prefix_and_others_pax() {
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(50));
        let b = encode(&EntryHeader { name: long.as_bytes(), ..EntryHeader::empty_file() });
        assert_eq!(b.len(), BLOCK, "splittable: plain USTAR");
        assert_eq!(&b[0..51], format!("{}\0", "f".repeat(50)).as_bytes());
        assert_eq!(&b[345..466], format!("{}\0", "d".repeat(120)).as_bytes());

        let unsplittable = "x".repeat(101);
        let b = encode(&EntryHeader { name: unsplittable.as_bytes(), ..EntryHeader::empty_file() });
        assert_eq!(b.len(), 3 * BLOCK, "PAX header, its records, the entry");
        assert_eq!(b[156], b'x');
        assert_eq!(&b[0..13], b"PaxHeaders.0/");
        assert_eq!(&b[BLOCK..BLOCK + 111], format!("111 path={unsplittable}\n").as_bytes());
        assert_eq!(&b[2 * BLOCK..2 * BLOCK + 100], &unsplittable.as_bytes()[..100], "name cut to 100, no NUL");

        let b = encode(&EntryHeader { name: "café/thé".as_bytes(), ..EntryHeader::empty_file() });
        assert_eq!(&b[0..22], b"caf/PaxHeaders.0/th\0\0\0", "non-ASCII dropped from the PAX header's name");
        assert_eq!(&b[BLOCK..BLOCK + 19], "19 path=café/thé\n".as_bytes());
        assert_eq!(&b[2 * BLOCK..2 * BLOCK + 7], b"caf/th\0");

        let dir = encode(&EntryHeader { name: "ü/".as_bytes(), typeflag: b'5', ..EntryHeader::empty_file() });
        assert_eq!(&dir[0..14], b"/PaxHeaders.0\0", "Go drops the non-ASCII after joining");
    }

    #[test]
    fn pax_record_length_counts_its_own_digits() {
        let mut out = Vec::new();
        pax_record(&mut out, b"path", &[b'a'; 93]); // 4 + 93 + 3 = 100, plus "100" is 103
        assert_eq!(&out[..4], b"103 ");
        assert_eq!(out.len(), 103);
        let mut out = Vec::new();
        pax_record(&mut out, b"path", &[b'a'; 91]); // 98 + 2 = 100: three digits after all
        assert_eq!(out.len(), 101);
        assert_eq!(&out[..4], b"101 ");
    }

    #[test]
    fn big_numbers_and_xattrs_go_to_pax() {
        let caps = [(b"security.capability".to_vec(), vec![1, 0, 0, 2, 0x20, 0, 0, 0])];
        let h =
            EntryHeader { name: b"bin/ping", uid: 5_000_000, mtime: -5, xattrs: &caps, ..EntryHeader::empty_file() };
        let b = encode(&h);
        let data = &b[BLOCK..2 * BLOCK];
        let text = String::from_utf8_lossy(data);
        assert!(text.starts_with("45 SCHILY.xattr.security.capability=\u{1}"), "{text}");
        assert!(text.contains("12 mtime=-5\n") && text.contains("15 uid=5000000\n"), "{text}");
        assert_eq!(&b[2 * BLOCK + 108..2 * BLOCK + 116], b"0000000\0", "uid field 0 when PAX holds it");
    }

    #[test]
    fn id_maps_translate_ranges_and_refuse_the_rest() {
        let map = IdMap::parse("         0       1000          1\n         1     100000      65536\n").expect("valid");
        assert_eq!(map.to_container(1000), Some(0));
        assert_eq!(map.to_container(100_000), Some(1));
        assert_eq!(map.to_container(165_535), Some(65_536));
        assert_eq!(map.to_container(165_536), None);
        assert_eq!(map.to_container(0), None);
        assert_eq!(IdMap::identity().to_container(42), Some(42));
        assert!(IdMap::parse("0 1000 10\n5 2000 1\n").is_err(), "container ids overlap");
        assert!(IdMap::parse("0 4294967295 2\n").is_err(), "past the last id");
        assert!(IdMap::parse("0 1000\n").is_err());
    }
}
