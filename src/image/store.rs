//! Read access to the files of an image, wherever they sit: in a directory, or as members of an
//! outer tar (oci-archive, docker-archive). Members are read in place — the outer tar is indexed
//! once (header offsets only) and each member is a seek plus a bounded read, so nothing is
//! extracted to disk and layers can be read in parallel.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use super::error::{ImageError, Result};

/// JSON documents (manifests, configs, indexes) larger than this are refused, not read into memory.
const MAX_JSON_BYTES: u64 = 64 << 20;

#[derive(Debug)]
pub enum Store {
    Dir(PathBuf),
    Archive { file: PathBuf, members: HashMap<String, Member> },
}

#[derive(Debug, Clone, Copy)]
pub struct Member {
    offset: u64,
    size: u64,
}

/// A blob that can be read as a stream and, when uncompressed, skipped through by seeking.
pub trait Blob: Read + Seek + Send {}
impl<T: Read + Seek + Send> Blob for T {}

pub type BlobReader = Box<dyn Blob>;

/// A member of the outer tar: a byte range of the archive file, seekable within its bounds.
struct Window {
    file: File,
    start: u64,
    len: u64,
    pos: u64,
}

impl Read for Window {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.len.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read(&mut buf[..want])?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Window {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start of the blob"))?;
        self.file.seek(SeekFrom::Start(self.start + target))?;
        self.pos = target;
        Ok(target)
    }
}

impl Store {
    pub fn dir(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            return Err(ImageError::io(dir, io::Error::new(io::ErrorKind::NotFound, "no such directory")));
        }
        Ok(Store::Dir(dir.to_path_buf()))
    }

    /// Index the regular-file members of an outer tar by normalized name.
    pub fn archive(path: &Path) -> Result<Self> {
        let (file, _) = open_file(path)?;
        let mut archive = tar::Archive::new(file);
        // The file may be anything (`docker-archive:/etc/passwd`): tar errors are reported without
        // the header bytes they quote, so no content of a file that is not an archive is echoed.
        let not_tar = |e: io::Error| {
            let what = match e.kind() {
                io::ErrorKind::UnexpectedEof => "a tar file cut short",
                _ => "not a tar file",
            };
            ImageError::Layout(format!("{} is not an image archive: {what}", path.display()))
        };
        let mut members = HashMap::new();
        // `docker save` (legacy) makes `<id>/layer.tar` a symlink to the shared `<diff_id>.tar`.
        let mut links: Vec<(String, String)> = Vec::new();
        let entries = archive.entries_with_seek().map_err(not_tar)?;
        for entry in entries {
            let entry = entry.map_err(not_tar)?;
            let kind = entry.header().entry_type();
            let name = entry.path().map_err(not_tar)?;
            let Some(name) = normalize_member(&name) else { continue };
            if kind.is_symlink() {
                let target = entry.link_name().map_err(not_tar)?;
                let dir = Path::new(&name).parent().unwrap_or(Path::new(""));
                if let Some(target) = target.and_then(|t| resolve_link(dir, &t)) {
                    links.push((name, target));
                }
            } else if kind.is_file() || kind == tar::EntryType::Continuous {
                members.insert(name, Member { offset: entry.raw_file_position(), size: entry.size() });
            }
        }
        for (name, target) in links {
            if let Some(member) = members.get(&target).copied() {
                members.entry(name).or_insert(member);
            }
        }
        Ok(Store::Archive { file: path.to_path_buf(), members })
    }

    fn describe(&self) -> &Path {
        match self {
            Store::Dir(d) => d,
            Store::Archive { file, .. } => file,
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        match self {
            Store::Dir(dir) => safe_relative(name).is_some_and(|rel| crate::fsio::is_regular(&dir.join(rel))),
            Store::Archive { members, .. } => {
                normalize_member(Path::new(name)).is_some_and(|n| members.contains_key(&n))
            }
        }
    }

    /// Open a file of the image by its name inside the layout; returns the reader and its size.
    pub fn open(&self, name: &str) -> Result<(BlobReader, u64)> {
        let missing = || ImageError::Layout(format!("{} has no file `{name}`", self.describe().display()));
        match self {
            Store::Dir(dir) => {
                let rel = safe_relative(name).ok_or_else(|| {
                    ImageError::Layout(format!("`{name}` in {} points outside the image", dir.display()))
                })?;
                let path = dir.join(rel);
                let not_found = |e: io::Error| match e.kind() {
                    io::ErrorKind::NotFound => missing(),
                    _ => ImageError::io(&path, e),
                };
                // The name stays inside the layout, but a symlink on the way (a `blobs` linked
                // elsewhere) may not: the layout's files are the image, nothing else is.
                let root = dir.canonicalize().map_err(|e| ImageError::io(dir, e))?;
                if !path.canonicalize().map_err(not_found)?.starts_with(&root) {
                    return Err(ImageError::Layout(format!(
                        "`{name}` in {} is a link to a file outside the image",
                        dir.display()
                    )));
                }
                let (file, size) = crate::fsio::open_regular(&path, u64::MAX).map_err(|e| not_found(e.into()))?;
                Ok((Box::new(file), size))
            }
            Store::Archive { file, members } => {
                let key = normalize_member(Path::new(name)).ok_or_else(missing)?;
                let member = *members.get(&key).ok_or_else(missing)?;
                let (mut f, _) = open_file(file)?;
                f.seek(SeekFrom::Start(member.offset)).map_err(|e| ImageError::io(file, e))?;
                Ok((Box::new(Window { file: f, start: member.offset, len: member.size, pos: 0 }), member.size))
            }
        }
    }

    /// Read a small JSON document whole.
    pub fn read_json(&self, name: &str) -> Result<Vec<u8>> {
        let (reader, size) = self.open(name)?;
        if size > MAX_JSON_BYTES {
            return Err(ImageError::Layout(format!("`{name}` is {size} bytes, too large for a JSON document")));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        reader
            .take(MAX_JSON_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| ImageError::io(self.describe().join(name), e))?;
        Ok(bytes)
    }
}

/// A file of the image, opened without blocking and refused unless it is a regular file.
fn open_file(path: &Path) -> Result<(File, u64)> {
    crate::fsio::open_regular(path, u64::MAX).map_err(|e| ImageError::io(path, e.into()))
}

/// A name from a manifest is untrusted: it must stay inside the layout.
fn safe_relative(name: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// A link target inside the archive, resolved lexically against the link's directory; `None`
/// when it leaves the archive.
fn resolve_link(dir: &Path, target: &Path) -> Option<String> {
    let mut parts: Vec<String> = dir.components().filter_map(|c| c.as_os_str().to_str().map(str::to_string)).collect();
    for c in target.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str()?.to_string()),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

fn normalize_member(name: &Path) -> Option<String> {
    let rel = safe_relative(name.to_str()?)?;
    rel.to_str().map(str::to_string)
}
