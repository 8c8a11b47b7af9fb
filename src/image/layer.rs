//! Reading one layer as a stream: sniff the compression, decompress, walk the tar once, and
//! (with verification) hash both the blob and the uncompressed tar on the way through.
//!
//! Nothing is written anywhere: entries become [`LayerEntry`] values. Paths are checked while
//! reading, so a hostile tar (`../`, absolute names, links leaving the root) is an error that
//! names the layer and the entry.

use std::io::{self, BufRead, BufReader, Read};

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
    /// xxh3 of the content, to tell a metadata-only copy from a real change.
    pub content_hash: u64,
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

pub fn read_layer(blob: BlobReader, origin: &LayerOrigin<'_>, verify: Verify) -> Result<LayerContents> {
    // Reads of the buffer's size or more bypass it, so file contents are not copied twice.
    let mut raw = BufReader::with_capacity(READ_BUFFER, Tap::new(blob, false));
    let head = raw.fill_buf().map_err(|e| origin.error(format!("cannot read the blob: {e}")))?;
    let compression = Compression::sniff(head);
    if verify.blob && compression != Compression::None {
        // The sniffed head is already in the buffer, past the tap: hash it here.
        let mut hasher = Sha256::new();
        hasher.update(raw.buffer());
        raw.get_mut().hasher = Some(hasher);
    }
    let hash_tar = verify.diff_id || (verify.blob && compression == Compression::None);
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
    io::copy(&mut raw, &mut io::sink()).map_err(|e| origin.error(format!("cannot read the blob: {e}")))?;
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

fn walk_tar<R: Read>(stream: R, origin: &LayerOrigin<'_>, hash: bool) -> Result<LayerContents> {
    let mut tar_stream = Tap::new(stream, hash);
    let mut buffer = vec![0u8; READ_BUFFER];
    let mut changes = Vec::new();
    let mut header_bytes = 0u64;
    let mut last_entry = String::from("(start of the layer)");
    {
        let mut archive = tar::Archive::new(&mut tar_stream);
        let entries = archive.entries().map_err(|e| origin.error(format!("not a tar stream: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| {
                origin.error(format!("corrupt or truncated tar after entry `{last_entry}`: {e}"))
            })?;
            let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            last_entry.clone_from(&raw_path);
            header_bytes += entry.header().size().unwrap_or(0);
            if let Some(change) = read_entry(&mut entry, &raw_path, origin, &mut buffer)? {
                changes.push(change);
            }
        }
    }
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

fn read_entry<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    raw_path: &str,
    origin: &LayerOrigin<'_>,
    buffer: &mut [u8],
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
    let (size, content_hash) = if kind == EntryKind::File {
        hash_content(entry, buffer).map_err(|e| origin.entry_error(raw_path, format!("content is truncated or unreadable: {e}")))?
    } else {
        (0, 0)
    };
    Ok(Some(Change::Put(LayerEntry { path, kind, size, mode, uid, gid, content_hash })))
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
