//! Reading one layer as a stream: sniff the compression, decompress, walk the tar once, and
//! (with verification) hash both the blob and the uncompressed tar on the way through.
//!
//! Nothing is written anywhere: entries become [`LayerEntry`] values. Paths are checked while
//! reading, so a hostile tar (`../`, absolute names, links leaving the root) is an error that
//! names the layer and the entry. What the tar reader keeps in memory is bounded too: see
//! [`MetaGuard`].

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest as _, Sha256};
use xxhash_rust::xxh3::Xxh3;

use super::error::{ImageError, Result};
use super::spec::Digest;
use super::store::BlobReader;

/// Name prefix marking a whiteout: `.wh.NAME` deletes NAME from the layers below.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// A directory holding this entry hides everything the layers below put in it.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// aufs bookkeeping (`.wh..wh.plnk/`, `.wh..wh.aufs`, `.wh..wh.orph/`): not part of the file
/// system, skipped as docker and containerd skip them on import. Only [`OPAQUE_MARKER`] means
/// something.
pub const AUFS_META_PREFIX: &str = ".wh..wh.";
/// Where aufs keeps the inodes of hardlinks; a hardlink into it gets the file's content.
const AUFS_LINK_DIR: &str = ".wh..wh.plnk";

/// Linux's PATH_MAX. A container runtime cannot create a longer name (nor a longer link target),
/// so a layer declaring one is refused, before the name's bytes are read.
pub const MAX_PATH_BYTES: u64 = 4096;
/// A PAX extended header (`x`, or global `g`) is refused past this, as Go's `archive/tar` (what
/// docker, containerd and buildkit read layers with) refuses it.
pub const MAX_PAX_BYTES: u64 = 1 << 20;
/// All the tar reader may read between the end of one entry's content and the start of the
/// next's: headers, GNU long name and link, PAX records, GNU sparse maps.
pub const MAX_METADATA_BYTES: u64 = 4 << 20;

/// The largest zstd window a layer may ask for: 2^24 = 16 MiB. The decoder allocates the window
/// the frame header declares (up to 128 MiB by zstd's default) whatever the real size of the
/// layer, once per layer read in parallel. 16 MiB covers every zstd level up to 19 (8 MiB) and
/// what BuildKit, containerd and podman write (klauspost's encoder, 8 MiB at most by default);
/// only `--long` or `--ultra` frames ask for more, and are refused with a clear error.
pub const MAX_ZSTD_WINDOW_LOG: u32 = 24;

/// A zstd decoder of layers and archives, with the window capped at [`MAX_ZSTD_WINDOW_LOG`].
pub fn zstd_decoder<'a, R: io::BufRead>(stream: R) -> io::Result<zstd::stream::read::Decoder<'a, R>> {
    let mut decoder = zstd::stream::read::Decoder::with_buffer(stream)?;
    decoder.window_log_max(MAX_ZSTD_WINDOW_LOG)?;
    Ok(decoder)
}

/// The reader's error, told in the user's words when the frame asks for too large a window.
pub(crate) fn zstd_error(e: io::Error) -> String {
    if e.to_string().contains("too much memory") || e.to_string().contains("Frame requires") {
        format!("zstd frame asks for a window over the limit of {} MiB ({e})", (1u64 << MAX_ZSTD_WINDOW_LOG) >> 20)
    } else {
        format!("zstd stream: {e}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Decided from the first bytes, not from the media type: `docker save` and some registries
    /// label layers loosely, the magic numbers never lie.
    pub fn sniff(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// What a layer's media type says (`...+gzip` or Docker's `...tar.gzip`, `...+zstd`, else a
    /// plain tar), for a blob that is not at hand to sniff.
    pub fn of_media_type(media_type: &str) -> Self {
        if media_type.ends_with("gzip") {
            Compression::Gzip
        } else if media_type.ends_with("zstd") {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink(String),
    /// Target path, normalized like entry paths.
    Hardlink(String),
    /// Devices and fifos: no content bytes.
    Special,
}

/// One file-system change recorded by a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Put(LayerEntry),
    /// `.wh.NAME`: the path NAME (and all below it) is removed from the lower layers.
    Whiteout(String),
    /// `.wh..wh..opq` in DIR: everything under DIR from lower layers is hidden.
    Opaque(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerEntry {
    /// Relative to the root, without a leading `./` or `/`, no trailing `/`.
    pub path: String,
    pub kind: EntryKind,
    /// Content bytes (regular files only; 0 for everything else).
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// xxh3 of the content, to tell a metadata-only copy from a real change. `None` when the
    /// contents were skipped (an uncompressed layer read without verification); the analyzer
    /// fills it in with [`hash_ranges`] for the files it needs to compare.
    pub content_hash: Option<u64>,
    /// Where the content starts in the uncompressed tar.
    pub data_offset: u64,
}

#[derive(Clone, Debug)]
pub struct LayerContents {
    pub changes: Vec<Change>,
    /// Size of the uncompressed tar stream.
    pub tar_bytes: u64,
    /// Bytes of the blob as stored (compressed).
    pub blob_bytes: u64,
    pub compression: Compression,
    /// sha256 of the blob and of the tar, when verification was asked for.
    pub blob_digest: Option<Digest>,
    pub diff_id: Option<Digest>,
    /// Sum of the tar header sizes of all entries, as dive counts a layer.
    pub header_bytes: u64,
    /// Contents of the files a [`Keep`] asked for: (index into `changes`, bytes).
    pub kept: Vec<(usize, Vec<u8>)>,
}

/// Files whose content the caller wants while the layer streams by (package databases, read
/// without a second pass over the layer): chosen by path, each kept only up to
/// `max_file_bytes`, and only while `budget` (shared by all the layers read at once) lasts. A
/// file over either limit is left out of [`LayerContents::kept`]; its entry (path and size) is
/// still there for the caller to say why.
#[derive(Clone, Copy)]
pub struct Keep<'a> {
    pub wanted: &'a (dyn Fn(&str) -> bool + Sync),
    pub max_file_bytes: u64,
    pub budget: &'a AtomicU64,
}

/// A [`Keep`], for the layer being read.
struct Keeper<'a> {
    keep: Option<Keep<'a>>,
}

impl Keeper<'_> {
    /// Whether to keep the content of this regular file, `size` bytes long.
    fn wants(&mut self, path: &str, size: u64) -> bool {
        let Some(keep) = self.keep else { return false };
        size <= keep.max_file_bytes
            && (keep.wanted)(path)
            && keep.budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(size)).is_ok()
    }
}

/// Counts (and optionally hashes) the bytes that pass through.
pub(crate) struct Tap<R> {
    inner: R,
    pub(crate) bytes: u64,
    hasher: Option<Sha256>,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

impl<R> Tap<R> {
    pub(crate) fn new(inner: R, hash: bool) -> Self {
        Tap { inner, bytes: 0, hasher: hash.then(Sha256::new) }
    }

    pub(crate) fn digest(&mut self) -> Option<Digest> {
        self.hasher.take().map(|h| Digest::sha256_from_bytes(h.finalize().into()))
    }
}

/// Where the layer comes from, for error messages.
pub struct LayerOrigin<'a> {
    pub index: usize,
    pub location: &'a str,
}

impl LayerOrigin<'_> {
    fn error(&self, message: impl Into<String>) -> ImageError {
        ImageError::Layer { layer: self.index, location: self.location.into(), message: message.into() }
    }

    fn entry_error(&self, entry: &str, message: impl Into<String>) -> ImageError {
        ImageError::Entry {
            layer: self.index,
            location: self.location.into(),
            entry: entry.into(),
            message: message.into(),
        }
    }
}

/// What to hash while reading: the blob (when the image names its digest) and the tar (to check
/// the diff_id). An uncompressed blob *is* the tar, so it is hashed once and both digests are
/// that one hash.
#[derive(Clone, Copy, Debug)]
pub struct Verify {
    pub blob: bool,
    pub diff_id: bool,
}

/// Read one layer. `blob_size` bounds an uncompressed layer read by seeking.
pub fn read_layer(blob: BlobReader, origin: &LayerOrigin<'_>, verify: Verify, blob_size: u64) -> Result<LayerContents> {
    read_layer_keeping(blob, origin, verify, blob_size, None)
}

/// [`read_layer`], keeping the content of the files `keep` names.
pub fn read_layer_keeping(
    mut blob: BlobReader,
    origin: &LayerOrigin<'_>,
    verify: Verify,
    blob_size: u64,
    keep: Option<Keep<'_>>,
) -> Result<LayerContents> {
    let keeper = Keeper { keep };
    let unreadable = |e: io::Error| origin.error(format!("cannot read the blob: {e}"));
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match blob.read(&mut head[got..]).map_err(unreadable)? {
            0 => break,
            n => got += n,
        }
    }
    blob.seek(SeekFrom::Start(0)).map_err(unreadable)?;
    let compression = Compression::sniff(&head[..got]);
    let hash_tar = verify.diff_id || (verify.blob && compression == Compression::None);
    if compression == Compression::None && !hash_tar {
        // Nothing to hash: read the headers and seek over the contents.
        return skim_tar(SeekBuf::new(blob), origin, blob_size, keeper);
    }
    // Reads of the buffer's size or more bypass it, so file contents are not copied twice.
    let mut raw =
        BufReader::with_capacity(READ_BUFFER, Tap::new(blob, verify.blob && compression != Compression::None));
    let mut contents = match compression {
        Compression::None => walk_tar(&mut raw, origin, hash_tar, keeper)?,
        Compression::Gzip => walk_tar(flate2::bufread::MultiGzDecoder::new(&mut raw), origin, hash_tar, keeper)?,
        Compression::Zstd => {
            let decoder = zstd_decoder(&mut raw).map_err(|e| origin.error(zstd_error(e)))?;
            walk_tar(decoder, origin, hash_tar, keeper)?
        }
    };
    // Whatever follows the compressed stream is still part of the blob and its digest.
    io::copy(&mut raw, &mut io::sink()).map_err(unreadable)?;
    let tap = raw.get_mut();
    contents.compression = compression;
    contents.blob_bytes = tap.bytes;
    contents.blob_digest = match compression {
        Compression::None => contents.diff_id.clone(),
        _ => tap.digest(),
    };
    Ok(contents)
}

const READ_BUFFER: usize = 256 << 10;

/// How file contents are handled while walking a tar.
enum Contents {
    /// Read through and hash (xxh3) every file: the stream cannot seek, or is hashed anyway.
    Hash(Vec<u8>),
    /// Seek over contents; entries past the end of the blob mean it is truncated.
    Skip { blob_size: u64 },
}

fn walk_tar<R: Read>(stream: R, origin: &LayerOrigin<'_>, hash: bool, keeper: Keeper<'_>) -> Result<LayerContents> {
    let mut tar_stream = Tap::new(stream, hash);
    let watch = RefCell::new(MetaWatch::default());
    let Collected { changes, header_bytes, last_entry, kept } = {
        let mut archive = tar::Archive::new(MetaGuard { inner: &mut tar_stream, watch: &watch });
        let entries = archive.entries().map_err(|e| origin.error(format!("not a tar stream: {e}")))?;
        collect_changes(entries, &watch, origin, Contents::Hash(vec![0u8; READ_BUFFER]), keeper)?
    };
    // The end-of-archive blocks and padding belong to the diff_id too.
    io::copy(&mut tar_stream, &mut io::sink())
        .map_err(|e| origin.error(format!("corrupt or truncated data after the last entry `{last_entry}`: {e}")))?;
    Ok(LayerContents {
        changes,
        tar_bytes: tar_stream.bytes,
        blob_bytes: 0,
        compression: Compression::None,
        blob_digest: None,
        diff_id: tar_stream.digest(),
        header_bytes,
        kept,
    })
}

fn skim_tar<R: Read + Seek>(
    mut stream: R,
    origin: &LayerOrigin<'_>,
    blob_size: u64,
    keeper: Keeper<'_>,
) -> Result<LayerContents> {
    let watch = RefCell::new(MetaWatch::default());
    let mut archive = tar::Archive::new(MetaGuard { inner: &mut stream, watch: &watch });
    let entries = archive.entries_with_seek().map_err(|e| origin.error(format!("not a tar stream: {e}")))?;
    let Collected { changes, header_bytes, kept, .. } =
        collect_changes(entries, &watch, origin, Contents::Skip { blob_size }, keeper)?;
    Ok(LayerContents {
        changes,
        tar_bytes: blob_size,
        blob_bytes: blob_size,
        compression: Compression::None,
        blob_digest: None,
        diff_id: None,
        header_bytes,
        kept,
    })
}

/// What one walk over a tar collected.
struct Collected {
    changes: Vec<Change>,
    /// The sum of header sizes (dive's layer size).
    header_bytes: u64,
    last_entry: String,
    kept: Vec<(usize, Vec<u8>)>,
}

fn collect_changes<R: Read>(
    mut entries: tar::Entries<'_, R>,
    watch: &RefCell<MetaWatch>,
    origin: &LayerOrigin<'_>,
    mut contents: Contents,
    mut keeper: Keeper<'_>,
) -> Result<Collected> {
    let mut changes = Vec::new();
    let mut kept = Vec::new();
    let mut header_bytes = 0u64;
    let mut last_entry = String::from("(start of the layer)");
    let mut aufs_links = HashMap::new();
    // Where the tar reader will look for the next header: the end of the last entry's content.
    let mut next_header = 0u64;
    loop {
        watch.borrow_mut().arm(next_header);
        let Some(entry) = entries.next() else { break };
        let refused = watch.borrow_mut().disarm();
        let mut entry = entry.map_err(|e| match refused {
            Some(why) => origin.error(format!("the entry after `{last_entry}`: {why}")),
            None if e.to_string().contains("too much memory") => origin.error(zstd_error(e)),
            None => origin.error(format!("corrupt or truncated tar after entry `{last_entry}`: {e}")),
        })?;
        let content_start = watch.borrow().pos;
        let raw_path = name_from_bytes(&entry.path_bytes()).into_owned();
        last_entry.clone_from(&raw_path);
        let stored = stored_size(&mut entry);
        next_header = content_start.saturating_add(stored.saturating_add(511) & !511);
        header_bytes += entry.header().size().unwrap_or(0);
        if entry.path_bytes().len() as u64 > MAX_PATH_BYTES {
            let shown: String = raw_path.chars().take(100).collect();
            return Err(origin.entry_error(
                &format!("{shown}…"),
                format!(
                    "the path is {} bytes long; a path is at most {MAX_PATH_BYTES} bytes",
                    entry.path_bytes().len()
                ),
            ));
        }
        if let Contents::Skip { blob_size } = contents {
            if content_start.saturating_add(stored) > blob_size {
                return Err(origin.entry_error(&raw_path, "content is truncated: the layer ends inside it"));
            }
        }
        let mut content = None;
        let (state, keep) = (&mut contents, (&mut keeper, &mut content));
        if let Some(change) = read_entry(&mut entry, &raw_path, stored, origin, state, &mut aufs_links, keep)? {
            if let Some(content) = content {
                kept.push((changes.len(), content));
            }
            changes.push(change);
        }
    }
    Ok(Collected { changes, header_bytes, last_entry, kept })
}

/// Watches what the tar reader reads while it looks for the next entry, for [`MetaGuard`].
pub(crate) struct MetaWatch {
    /// Position in the tar stream: bytes read, or where a seek went.
    pub(crate) pos: u64,
    armed: bool,
    /// No read may go past this while armed.
    limit: u64,
    /// The header block expected at `header_at`, as its bytes go by.
    header_at: u64,
    header: [u8; 512],
    filled: usize,
    /// The chain of extension headers has ended (or was lost): only `limit` is left to check.
    chain_done: bool,
    refused: Option<String>,
}

impl Default for MetaWatch {
    fn default() -> Self {
        MetaWatch {
            pos: 0,
            armed: false,
            limit: u64::MAX,
            header_at: 0,
            header: [0; 512],
            filled: 0,
            chain_done: true,
            refused: None,
        }
    }
}

impl MetaWatch {
    /// The tar reader is about to look for the entry whose header starts at `header_at`.
    pub(crate) fn arm(&mut self, header_at: u64) {
        self.armed = true;
        self.header_at = header_at;
        self.limit = header_at.saturating_add(MAX_METADATA_BYTES);
        self.filled = 0;
        self.chain_done = false;
    }

    /// The tar reader has returned; why it was stopped, if it was.
    pub(crate) fn disarm(&mut self) -> Option<String> {
        self.armed = false;
        self.refused.take()
    }

    /// Bytes `data` were read at stream position `at`.
    fn saw(&mut self, at: u64, data: &[u8]) {
        let end = at + data.len() as u64;
        while !self.chain_done {
            let want = self.header_at + self.filled as u64;
            if end <= want {
                return;
            }
            if at > want {
                // The header went by unseen (skipped over): the chain is lost, the limit stays.
                self.chain_done = true;
                return;
            }
            let from = (want - at) as usize;
            let take = (512 - self.filled).min(data.len() - from);
            self.header[self.filled..self.filled + take].copy_from_slice(&data[from..from + take]);
            self.filled += take;
            if self.filled < 512 {
                return;
            }
            self.inspect_header();
        }
    }

    /// A whole header block is in: refuse an extension header declaring too much, else follow the
    /// chain to the header after it. The tar crate reads a GNU long name or link and a PAX header
    /// whole into memory before it returns the entry they describe.
    fn inspect_header(&mut self) {
        let block = &self.header;
        self.filled = 0;
        self.chain_done = true;
        // The end of the archive, or a block that is not a header (the chain is lost: only the
        // byte limit is left, rather than a guess).
        let sum: u32 = block[..148].iter().chain(&block[156..]).map(|&b| u32::from(b)).sum::<u32>() + 8 * 32;
        let header = tar::Header::from_byte_slice(block);
        if block.iter().all(|&b| b == 0) || header.cksum().ok() != Some(sum) {
            return;
        }
        let Ok(size) = header.entry_size() else { return };
        let kind = header.entry_type();
        let (what, most, why) = match kind {
            tar::EntryType::GNULongName => {
                ("a GNU long-name entry", MAX_PATH_BYTES + 1, "a path is at most 4096 bytes")
            }
            tar::EntryType::GNULongLink => {
                ("a GNU long-link entry", MAX_PATH_BYTES + 1, "a link target is at most 4096 bytes")
            }
            tar::EntryType::XHeader => ("a PAX extended header", MAX_PAX_BYTES, "at most 1 MiB is read"),
            tar::EntryType::XGlobalHeader => ("a PAX global header", MAX_PAX_BYTES, "at most 1 MiB is read"),
            _ => return,
        };
        if size > most {
            self.refused = Some(format!("{what} declares {size} bytes; {why}"));
            return;
        }
        // A global header is an entry of its own; the others describe the entry after them.
        if kind != tar::EntryType::XGlobalHeader {
            if let Some(next) = size.checked_add(511).and_then(|s| (self.header_at + 512).checked_add(s & !511)) {
                self.header_at = next;
                self.chain_done = false;
            }
        }
    }
}

/// Sits under the tar reader. While it looks for the next entry (armed), it may read at most
/// [`MAX_METADATA_BYTES`], and the declared size of each GNU long name or link and PAX header is
/// checked as its header goes by: a hostile layer declaring gigabytes of name (zeros, which
/// compress to nothing) is refused before they are read into memory.
pub(crate) struct MetaGuard<'w, R> {
    pub(crate) inner: R,
    pub(crate) watch: &'w RefCell<MetaWatch>,
}

impl<R: Read> Read for MetaGuard<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut watch = self.watch.borrow_mut();
        if !watch.armed {
            let n = self.inner.read(buf)?;
            watch.pos += n as u64;
            return Ok(n);
        }
        let refuse = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
        if let Some(why) = &watch.refused {
            return Err(refuse(why));
        }
        let room = watch.limit.saturating_sub(watch.pos);
        if room == 0 {
            let why = format!(
                "more than {} MiB of tar metadata (headers, long names, PAX records, sparse maps) before it",
                MAX_METADATA_BYTES >> 20
            );
            watch.refused = Some(why.clone());
            return Err(refuse(&why));
        }
        let len = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..len])?;
        let at = watch.pos;
        watch.pos += n as u64;
        watch.saw(at, &buf[..n]);
        match &watch.refused {
            Some(why) => Err(refuse(why)),
            None => Ok(n),
        }
    }
}

impl<R: Seek> Seek for MetaGuard<'_, R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = self.inner.seek(to)?;
        self.watch.borrow_mut().pos = pos;
        Ok(pos)
    }
}

/// Hash (xxh3) byte ranges of an uncompressed layer: the contents [`skim_tar`] skipped, when the
/// analysis needs to know whether two copies of a file are the same.
pub fn hash_ranges(mut blob: BlobReader, ranges: &[(u64, u64)]) -> io::Result<Vec<u64>> {
    let mut buf = vec![0u8; READ_BUFFER];
    let mut hashes = Vec::with_capacity(ranges.len());
    for &(offset, size) in ranges {
        blob.seek(SeekFrom::Start(offset))?;
        let (read, hash) = hash_content(&mut (&mut blob).take(size), &mut buf)?;
        if read != size {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file content is truncated"));
        }
        hashes.push(hash);
    }
    Ok(hashes)
}

/// A read buffer that a short forward seek (the tar reader skipping a small file) moves within,
/// instead of discarding it as `BufReader` does.
struct SeekBuf<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    /// Position of `inner`, which is `filled - pos` bytes ahead of the reader's.
    inner_pos: u64,
}

impl<R> SeekBuf<R> {
    fn new(inner: R) -> Self {
        SeekBuf { inner, buf: vec![0u8; 64 << 10].into_boxed_slice(), pos: 0, filled: 0, inner_pos: 0 }
    }
}

impl<R: Read> Read for SeekBuf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.filled {
            if out.len() >= self.buf.len() {
                let n = self.inner.read(out)?;
                self.inner_pos += n as u64;
                return Ok(n);
            }
            self.filled = self.inner.read(&mut self.buf)?;
            self.inner_pos += self.filled as u64;
            self.pos = 0;
        }
        let n = out.len().min(self.filled - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl<R: Seek> Seek for SeekBuf<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let buffered = (self.filled - self.pos) as u64;
        if let SeekFrom::Current(delta) = to {
            if let Ok(step) = u64::try_from(delta) {
                if step <= buffered {
                    self.pos += step as usize;
                    return Ok(self.inner_pos - (buffered - step));
                }
            }
        }
        let target = match to {
            SeekFrom::Current(delta) => SeekFrom::Current(
                delta
                    .checked_sub(buffered as i64)
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek out of range"))?,
            ),
            other => other,
        };
        self.inner_pos = self.inner.seek(target)?;
        self.pos = 0;
        self.filled = 0;
        Ok(self.inner_pos)
    }
}

/// A link's target, named as entries are (see [`name_from_bytes`]); longer than PATH_MAX is refused.
fn link_target<R: Read>(entry: &tar::Entry<'_, R>, raw_path: &str, origin: &LayerOrigin<'_>) -> Result<String> {
    let bytes = entry.link_name_bytes().ok_or_else(|| origin.entry_error(raw_path, "link without a target"))?;
    if bytes.len() as u64 > MAX_PATH_BYTES {
        return Err(origin.entry_error(
            raw_path,
            format!("the link target is {} bytes long; a link target is at most {MAX_PATH_BYTES} bytes", bytes.len()),
        ));
    }
    Ok(name_from_bytes(&bytes).into_owned())
}

/// A regular file in `.wh..wh.plnk/`, waiting for the hardlinks that give it a name.
enum AufsLink {
    Unlinked(LayerEntry),
    /// The first hardlink to it became the file; the others link to that name.
    LinkedAt(String),
}

fn read_entry<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    raw_path: &str,
    stored: u64,
    origin: &LayerOrigin<'_>,
    contents: &mut Contents,
    aufs_links: &mut HashMap<String, AufsLink>,
    (keeper, kept): (&mut Keeper<'_>, &mut Option<Vec<u8>>),
) -> Result<Option<Change>> {
    let Some(path) = normalize_entry_path(raw_path).map_err(|m| origin.entry_error(raw_path, m))? else {
        return Ok(None); // the root directory itself
    };
    let (parent, name) = match path.rsplit_once('/') {
        Some((p, n)) => (p, n),
        None => ("", path.as_str()),
    };
    let in_aufs_meta = parent.split('/').any(|part| part.starts_with(AUFS_META_PREFIX));
    let aufs_link = (parent == AUFS_LINK_DIR && entry.header().entry_type().is_file()).then(|| name.to_string());
    if in_aufs_meta && aufs_link.is_none() {
        return Ok(None);
    }
    if name == OPAQUE_MARKER && aufs_link.is_none() {
        return Ok(Some(Change::Opaque(parent.to_string())));
    }
    if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX).filter(|_| aufs_link.is_none()) {
        // `.wh..wh.*` names other than the opaque marker are aufs bookkeeping, not changes.
        if hidden.starts_with(WHITEOUT_PREFIX) || hidden.is_empty() {
            return Ok(None);
        }
        let target = if parent.is_empty() { hidden.to_string() } else { format!("{parent}/{hidden}") };
        return Ok(Some(Change::Whiteout(target)));
    }
    let header = entry.header();
    let kind = match header.entry_type() {
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => EntryKind::File,
        tar::EntryType::Directory => EntryKind::Dir,
        tar::EntryType::Symlink => {
            let target = link_target(entry, raw_path, origin)?;
            check_symlink(&path, &target).map_err(|m| origin.entry_error(raw_path, m))?;
            EntryKind::Symlink(target)
        }
        tar::EntryType::Link => {
            let target = link_target(entry, raw_path, origin)?;
            let normalized = normalize_entry_path(&target)
                .map_err(|m| origin.entry_error(raw_path, format!("hardlink target `{target}`: {m}")))?
                .ok_or_else(|| origin.entry_error(raw_path, "hardlink to the root directory"))?;
            if let Some(inode) = normalized.strip_prefix(AUFS_LINK_DIR).and_then(|rest| rest.strip_prefix('/')) {
                // aufs kept the inode in `.wh..wh.plnk/`: this name gets its content.
                match aufs_links.remove(inode) {
                    Some(AufsLink::Unlinked(file)) => {
                        aufs_links.insert(inode.to_string(), AufsLink::LinkedAt(path.clone()));
                        return Ok(Some(Change::Put(LayerEntry { path, ..file })));
                    }
                    Some(AufsLink::LinkedAt(first)) => {
                        aufs_links.insert(inode.to_string(), AufsLink::LinkedAt(first.clone()));
                        EntryKind::Hardlink(first)
                    }
                    None => {
                        return Err(origin.entry_error(
                            raw_path,
                            format!("hardlink target `{target}` is not among the aufs links this layer held before it"),
                        ))
                    }
                }
            } else {
                EntryKind::Hardlink(normalized)
            }
        }
        tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => EntryKind::Special,
        _ => return Ok(None),
    };
    let header = entry.header();
    let mode = header.mode().map_err(|e| origin.entry_error(raw_path, format!("bad mode: {e}")))?;
    let uid = header.uid().map_err(|e| origin.entry_error(raw_path, format!("bad uid: {e}")))?;
    let gid = header.gid().map_err(|e| origin.entry_error(raw_path, format!("bad gid: {e}")))?;
    let sparse = header.entry_type() == tar::EntryType::GNUSparse;
    let data_offset = entry.raw_file_position();
    let (size, content_hash) = match (&kind, contents) {
        // Reading a sparse file expands its holes: a few stored bytes can declare terabytes of
        // zeros. The layer ships the stored bytes, so those are what it is charged with. The
        // content is not hashed while streaming: in a compressed layer a rewrite of a sparse
        // file counts as a change, never as chmod-only.
        _ if sparse => (stored, None),
        (EntryKind::File, contents) if aufs_link.is_none() && keeper.wants(&path, entry.size()) => {
            let mut data = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
            entry
                .read_to_end(&mut data)
                .map_err(|e| origin.entry_error(raw_path, format!("content is truncated or unreadable: {e}")))?;
            let hash = matches!(contents, Contents::Hash(_)).then(|| xxhash_rust::xxh3::xxh3_64(&data));
            let size = data.len() as u64;
            *kept = Some(data);
            (size, hash)
        }
        (EntryKind::File, Contents::Hash(buffer)) => {
            let (size, hash) = hash_content(entry, buffer)
                .map_err(|e| origin.entry_error(raw_path, format!("content is truncated or unreadable: {e}")))?;
            (size, Some(hash))
        }
        (EntryKind::File, Contents::Skip { .. }) => (entry.size(), None),
        _ => (0, None),
    };
    let put = LayerEntry { path, kind, size, mode, uid, gid, content_hash, data_offset };
    if let Some(inode) = aufs_link {
        aufs_links.insert(inode, AufsLink::Unlinked(put));
        return Ok(None);
    }
    Ok(Some(Change::Put(put)))
}

/// Content bytes the tar holds for the entry: for a sparse file the data blocks, not the size
/// with its holes. The tar crate lets a PAX `size` record override the header's, as here.
pub(crate) fn stored_size<R: Read>(entry: &mut tar::Entry<'_, R>) -> u64 {
    if entry.header().entry_type() != tar::EntryType::GNUSparse {
        return entry.size();
    }
    pax_size(entry).unwrap_or_else(|| entry.header().entry_size().unwrap_or(0))
}

/// The PAX `size` record, read as the tar crate reads it (the first, if every record before it
/// parses).
fn pax_size<R: Read>(entry: &mut tar::Entry<'_, R>) -> Option<u64> {
    let extensions = entry.pax_extensions().ok()??;
    for extension in extensions {
        let extension = extension.ok()?;
        if extension.key() == Ok("size") {
            return extension.value().ok()?.parse().ok();
        }
    }
    None
}

/// An entry name's bytes as the path index keys them. A valid UTF-8 name is kept as it is. In a
/// name component that is not valid UTF-8, each invalid byte is written `\xNN` and, so that no
/// valid name spells the same text, the component's backslashes are doubled; a valid component
/// that holds `\x` is written the same way. The escaping is one-to-one and keeps every `/`, so
/// distinct names stay distinct paths and a directory's name is a prefix of its files' names.
pub fn name_from_bytes(bytes: &[u8]) -> Cow<'_, str> {
    let plain = |text: &str| !text.contains("\\x");
    if let Ok(text) = std::str::from_utf8(bytes) {
        if plain(text) {
            return Cow::Borrowed(text);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    for (i, component) in bytes.split(|&b| b == b'/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        match std::str::from_utf8(component) {
            Ok(text) if plain(text) => out.push_str(text),
            _ => {
                for chunk in component.utf8_chunks() {
                    for c in chunk.valid().chars() {
                        if c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    for byte in chunk.invalid() {
                        let _ = write!(out, "\\x{byte:02x}");
                    }
                }
            }
        }
    }
    Cow::Owned(out)
}

fn hash_content(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<(u64, u64)> {
    let mut hasher = Xxh3::new();
    let mut total = 0u64;
    loop {
        let n = reader.read(buf)?;
        if n == 0 {
            return Ok((total, hasher.digest()));
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

/// `./usr/bin/` → `usr/bin`; `.` or `./` → None (the root). Absolute names and `..` are refused:
/// extracted naively they would land outside the root.
pub fn normalize_entry_path(raw: &str) -> Result<Option<String>, String> {
    if raw.starts_with('/') {
        return Err("absolute path in a layer".into());
    }
    if is_normal(raw) {
        return Ok(Some(raw.to_string()));
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("path climbs out of the root with `..`".into()),
            p => parts.push(p),
        }
    }
    if raw.contains('\0') {
        return Err("NUL byte in the path".into());
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

/// Whether `raw` is already a normal relative path: components neither empty, `.` nor `..`,
/// and no NUL. One pass over the bytes, the common case: most tars name their entries so.
fn is_normal(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut start = 0;
    for (at, &b) in bytes.iter().enumerate().chain(std::iter::once((bytes.len(), &b'/'))) {
        match b {
            b'/' => {
                if matches!(&bytes[start..at], b"" | b"." | b"..") {
                    return false;
                }
                start = at + 1;
            }
            0 => return false,
            _ => {}
        }
    }
    true
}

/// A relative symlink whose `..` steps climb above the root points outside the image. Absolute
/// targets are fine: a container resolves them against its own root.
fn check_symlink(path: &str, target: &str) -> Result<(), String> {
    if target.starts_with('/') {
        return Ok(());
    }
    let mut depth = path.matches('/').count() as i64; // directories above the link
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("symlink target `{target}` points outside the root"));
                }
            }
            _ => depth += 1,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_refuses_escapes() {
        assert_eq!(normalize_entry_path("./usr/bin/").unwrap().as_deref(), Some("usr/bin"));
        assert_eq!(normalize_entry_path("./").unwrap(), None);
        assert!(normalize_entry_path("/etc/passwd").is_err());
        assert!(normalize_entry_path("a/../../x").is_err());
        // A path already normal is kept as it is; a NUL anywhere is refused.
        assert_eq!(normalize_entry_path("usr/bin/x").unwrap().as_deref(), Some("usr/bin/x"));
        assert_eq!(normalize_entry_path("usr/.x/..y").unwrap().as_deref(), Some("usr/.x/..y"));
        assert!(normalize_entry_path("usr/b\0in").is_err());
        assert_eq!(normalize_entry_path("").unwrap(), None);
    }

    #[test]
    fn names_escape_one_to_one() {
        assert!(matches!(name_from_bytes(b"usr/bin/caf\xc3\xa9"), Cow::Borrowed("usr/bin/caf\u{e9}")));
        assert_eq!(name_from_bytes(b"d\xff/caf\xe9"), "d\\xff/caf\\xe9");
        // A valid name spelling an escape has its backslashes doubled; other components are kept.
        assert_eq!(name_from_bytes(b"a\\b/caf\\xe9"), "a\\b/caf\\\\xe9");
        assert_eq!(name_from_bytes(b"x\\\xff"), "x\\\\\\xff");
        let names: [&[u8]; 6] = [b"caf\xe9", b"caf\xe8", b"caf\\xe9", b"caf\\\\xe9", b"caf\xef\xbf\xbd", b"caf\\\xe9"];
        let escaped: std::collections::HashSet<_> = names.iter().map(|n| name_from_bytes(n)).collect();
        assert_eq!(escaped.len(), names.len(), "{escaped:?}");
    }

    #[test]
    fn symlinks_stay_inside() {
        assert!(check_symlink("usr/lib/libx.so", "../../lib/libx.so").is_ok());
        assert!(check_symlink("usr/lib/libx.so", "../../../etc/shadow").is_err());
        assert!(check_symlink("bin", "/usr/bin").is_ok());
    }
}
