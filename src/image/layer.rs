//! Reading one layer as a stream: sniff the compression, decompress, walk the tar once, and
//! (with verification) hash both the blob and the uncompressed tar on the way through.
//!
//! Nothing is written anywhere: entries become [`LayerEntry`] values. Paths are checked while
//! reading, so a hostile tar (`../`, absolute names, links leaving the root) is an error that
//! names the layer and the entry.

use std::io::{self, BufReader, Read, Seek, SeekFrom};

use sha2::{Digest as _, Sha256};
use xxhash_rust::xxh3::Xxh3;

use super::error::{ImageError, Result};
use super::spec::Digest;
use super::store::BlobReader;

/// Name prefix marking a whiteout: `.wh.NAME` deletes NAME from the layers below.
pub const WHITEOUT_PREFIX: &str = ".wh.";
/// A directory holding this entry hides everything the layers below put in it.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Decided from the first bytes, not from the media type: `docker save` and some registries
    /// label layers loosely, the magic numbers never lie.
    fn sniff(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
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
}

/// Counts (and optionally hashes) the bytes that pass through.
struct Tap<R> {
    inner: R,
    bytes: u64,
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
    fn new(inner: R, hash: bool) -> Self {
        Tap { inner, bytes: 0, hasher: hash.then(Sha256::new) }
    }

    fn digest(&mut self) -> Option<Digest> {
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
pub fn read_layer(mut blob: BlobReader, origin: &LayerOrigin<'_>, verify: Verify, blob_size: u64) -> Result<LayerContents> {
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
        return skim_tar(SeekBuf::new(blob), origin, blob_size);
    }
    // Reads of the buffer's size or more bypass it, so file contents are not copied twice.
    let mut raw = BufReader::with_capacity(READ_BUFFER, Tap::new(blob, verify.blob && compression != Compression::None));
    let mut contents = match compression {
        Compression::None => walk_tar(&mut raw, origin, hash_tar)?,
        Compression::Gzip => walk_tar(flate2::bufread::MultiGzDecoder::new(&mut raw), origin, hash_tar)?,
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::with_buffer(&mut raw)
                .map_err(|e| origin.error(format!("zstd stream: {e}")))?;
            walk_tar(decoder, origin, hash_tar)?
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

fn walk_tar<R: Read>(stream: R, origin: &LayerOrigin<'_>, hash: bool) -> Result<LayerContents> {
    let mut tar_stream = Tap::new(stream, hash);
    let (changes, header_bytes, last_entry) = {
        let mut archive = tar::Archive::new(&mut tar_stream);
        let entries = archive.entries().map_err(|e| origin.error(format!("not a tar stream: {e}")))?;
        collect_changes(entries, origin, Contents::Hash(vec![0u8; READ_BUFFER]))?
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
    })
}

fn skim_tar<R: Read + Seek>(mut stream: R, origin: &LayerOrigin<'_>, blob_size: u64) -> Result<LayerContents> {
    let mut archive = tar::Archive::new(&mut stream);
    let entries = archive.entries_with_seek().map_err(|e| origin.error(format!("not a tar stream: {e}")))?;
    let (changes, header_bytes, _) = collect_changes(entries, origin, Contents::Skip { blob_size })?;
    Ok(LayerContents {
        changes,
        tar_bytes: blob_size,
        blob_bytes: blob_size,
        compression: Compression::None,
        blob_digest: None,
        diff_id: None,
        header_bytes,
    })
}

/// Returns the changes, the sum of header sizes (dive's layer size) and the last entry's name.
fn collect_changes<R: Read>(
    entries: tar::Entries<'_, R>,
    origin: &LayerOrigin<'_>,
    mut contents: Contents,
) -> Result<(Vec<Change>, u64, String)> {
    let mut changes = Vec::new();
    let mut header_bytes = 0u64;
    let mut last_entry = String::from("(start of the layer)");
    for entry in entries {
        let mut entry =
            entry.map_err(|e| origin.error(format!("corrupt or truncated tar after entry `{last_entry}`: {e}")))?;
        let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        last_entry.clone_from(&raw_path);
        header_bytes += entry.header().size().unwrap_or(0);
        if let Contents::Skip { blob_size } = contents {
            if entry.raw_file_position().saturating_add(stored_size(&entry)) > blob_size {
                return Err(origin.entry_error(&raw_path, "content is truncated: the layer ends inside it"));
            }
        }
        if let Some(change) = read_entry(&mut entry, &raw_path, origin, &mut contents)? {
            changes.push(change);
        }
    }
    Ok((changes, header_bytes, last_entry))
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

fn read_entry<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    raw_path: &str,
    origin: &LayerOrigin<'_>,
    contents: &mut Contents,
) -> Result<Option<Change>> {
    let Some(path) = normalize_entry_path(raw_path).map_err(|m| origin.entry_error(raw_path, m))? else {
        return Ok(None); // the root directory itself
    };
    let (parent, name) = match path.rsplit_once('/') {
        Some((p, n)) => (p, n),
        None => ("", path.as_str()),
    };
    if name == OPAQUE_MARKER {
        return Ok(Some(Change::Opaque(parent.to_string())));
    }
    if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
        // `.wh..wh.*` names other than the opaque marker are aufs bookkeeping, not changes.
        if hidden.starts_with(WHITEOUT_PREFIX) || hidden.is_empty() {
            return Ok(None);
        }
        let target = if parent.is_empty() { hidden.to_string() } else { format!("{parent}/{hidden}") };
        return Ok(Some(Change::Whiteout(target)));
    }
    let header = entry.header();
    let link_name = || -> Result<String> {
        let bytes = entry.link_name_bytes().ok_or_else(|| origin.entry_error(raw_path, "link without a target"))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    let kind = match header.entry_type() {
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => EntryKind::File,
        tar::EntryType::Directory => EntryKind::Dir,
        tar::EntryType::Symlink => {
            let target = link_name()?;
            check_symlink(&path, &target).map_err(|m| origin.entry_error(raw_path, m))?;
            EntryKind::Symlink(target)
        }
        tar::EntryType::Link => {
            let target = link_name()?;
            let normalized = normalize_entry_path(&target)
                .map_err(|m| origin.entry_error(raw_path, format!("hardlink target `{target}`: {m}")))?
                .ok_or_else(|| origin.entry_error(raw_path, "hardlink to the root directory"))?;
            EntryKind::Hardlink(normalized)
        }
        tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => EntryKind::Special,
        _ => return Ok(None),
    };
    let mode = header.mode().map_err(|e| origin.entry_error(raw_path, format!("bad mode: {e}")))?;
    let uid = header.uid().map_err(|e| origin.entry_error(raw_path, format!("bad uid: {e}")))?;
    let gid = header.gid().map_err(|e| origin.entry_error(raw_path, format!("bad gid: {e}")))?;
    let data_offset = entry.raw_file_position();
    let (size, content_hash) = match (&kind, contents) {
        // Reading a sparse file expands its holes: a few stored bytes can declare terabytes of
        // zeros. The layer ships the stored bytes, so those are what it is charged with. The
        // content is not hashed while streaming: in a compressed layer a rewrite of a sparse
        // file counts as a change, never as chmod-only.
        _ if header.entry_type() == tar::EntryType::GNUSparse => (stored_size(entry), None),
        (EntryKind::File, Contents::Hash(buffer)) => {
            let (size, hash) = hash_content(entry, buffer)
                .map_err(|e| origin.entry_error(raw_path, format!("content is truncated or unreadable: {e}")))?;
            (size, Some(hash))
        }
        (EntryKind::File, Contents::Skip { .. }) => (entry.size(), None),
        _ => (0, None),
    };
    Ok(Some(Change::Put(LayerEntry { path, kind, size, mode, uid, gid, content_hash, data_offset })))
}

/// Content bytes the tar holds for the entry: for a sparse file the data blocks, not the size
/// with its holes.
fn stored_size<R: Read>(entry: &tar::Entry<'_, R>) -> u64 {
    if entry.header().entry_type() == tar::EntryType::GNUSparse {
        entry.header().entry_size().unwrap_or(0)
    } else {
        entry.size()
    }
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
    }

    #[test]
    fn symlinks_stay_inside() {
        assert!(check_symlink("usr/lib/libx.so", "../../lib/libx.so").is_ok());
        assert!(check_symlink("usr/lib/libx.so", "../../../etc/shadow").is_err());
        assert!(check_symlink("bin", "/usr/bin").is_ok());
    }
}
