//! Unpacking one layer tar into a snapshot directory, in the form overlayfs reads as a lower
//! directory: `.wh.NAME` becomes a 0/0 character device NAME, `.wh..wh..opq` an
//! `overlay.opaque` xattr on its directory.
//!
//! Safety, as containerd's `archive/tar.go` has it: no entry lands outside the snapshot.
//! Names with `..` or a leading `/` are refused; every parent directory is opened relative to
//! the snapshot's own descriptor without following any symlink (`openat2` with
//! `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`), so a tar that writes through a symlink it made
//! itself (`a -> /etc`, then `a/passwd`) is refused, never followed; the last component is
//! always created with `O_EXCL`/`*at` calls that do not follow it either. Hardlinks must name
//! an entry already extracted. Symlink targets are data and may point anywhere.
//!
//! Memory is bounded by the tar reader's guard in [`crate::image::layer`] (long names, PAX
//! headers and all metadata between two entries are capped); contents stream through one
//! buffer.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, AtFlags, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fchmod, fchmodat, fstatat, futimens, mkdirat, mknodat, utimensat};
use nix::sys::stat::{FchmodatFlags, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchown, fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};

use crate::image::layer::{
    name_from_bytes, stored_size, Compression, MetaGuard, MetaWatch, AUFS_META_PREFIX, MAX_PATH_BYTES, OPAQUE_MARKER,
    WHITEOUT_PREFIX,
};

/// Where aufs kept hardlinked inodes; its files are extracted there so the hardlinks that give
/// them names can link to them, then the directory is removed (as docker does).
const AUFS_LINK_DIR: &[u8] = b".wh..wh.plnk";
/// Reads of this size or more bypass the input buffer, so contents are copied once.
const COPY_BUFFER: usize = 256 << 10;

/// The xattr namespace overlayfs reads its own attributes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpaqueXattr {
    /// `trusted.overlay.opaque`: overlay mounted by real root.
    Trusted,
    /// `user.overlay.opaque`: overlay mounted with `userxattr` in a user namespace (rootless).
    User,
}

impl OpaqueXattr {
    fn name(self) -> &'static std::ffi::CStr {
        match self {
            OpaqueXattr::Trusted => c"trusted.overlay.opaque",
            OpaqueXattr::User => c"user.overlay.opaque",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ExtractOptions {
    pub opaque: OpaqueXattr,
    /// Root: owners are set (an error is an error), device nodes and `trusted.*` xattrs are
    /// created. Otherwise a refused owner change is skipped (counted in
    /// [`ExtractStats::ignored_owners`]) and a device node is an error.
    pub privileged: bool,
}

impl ExtractOptions {
    /// What the current process can do: root gets `trusted.` xattrs and devices.
    pub fn for_current_user() -> Self {
        if nix::unistd::geteuid().is_root() {
            ExtractOptions { opaque: OpaqueXattr::Trusted, privileged: true }
        } else {
            ExtractOptions { opaque: OpaqueXattr::User, privileged: false }
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtractStats {
    /// Tar entries read, including skipped ones.
    pub entries: u64,
    /// Bytes of regular-file content (a sparse file's full size).
    pub content_bytes: u64,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub hardlinks: u64,
    /// Fifos and device nodes.
    pub specials: u64,
    pub whiteouts: u64,
    pub opaques: u64,
    /// aufs bookkeeping, PAX global headers and entry types with no file behind them.
    pub skipped: u64,
    /// xattrs the tar carried that were not set: overlay's own, `trusted.*` without privilege,
    /// or refused by the file system (`EPERM`, `ENOTSUP`), as containerd tolerates.
    pub ignored_xattrs: u64,
    /// Owner changes refused to an unprivileged extraction.
    pub ignored_owners: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("cannot open the snapshot directory {}: {source}", path.display())]
    Dest { path: PathBuf, source: io::Error },
    #[error("cannot read the layer blob: {0}")]
    Blob(#[source] io::Error),
    /// The stream is not a tar, is truncated, or its metadata exceeds the reader's bounds.
    #[error("layer tar, after entry `{after}`: {message}")]
    Tar { after: String, message: String },
    /// The entry is unsafe (it would escape the snapshot) or cannot be made here.
    #[error("layer entry `{entry}`: {message}")]
    Refused { entry: String, message: String },
    #[error("layer entry `{entry}`: {what}: {source}")]
    Io { entry: String, what: &'static str, source: io::Error },
}

/// The uncompressed tar of a layer blob, gzip, zstd or plain, decided by its magic number.
pub fn decompressed(mut blob: impl Read + 'static) -> Result<Box<dyn Read>, ExtractError> {
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match blob.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ExtractError::Blob(e)),
        }
    }
    let compression = Compression::sniff(&head[..got]);
    let stream = io::Cursor::new(head).take(got as u64).chain(blob);
    Ok(match compression {
        Compression::None => Box::new(stream),
        Compression::Gzip => {
            Box::new(flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(COPY_BUFFER, stream)))
        }
        Compression::Zstd => {
            Box::new(crate::image::layer::zstd_decoder(io::BufReader::new(stream)).map_err(ExtractError::Blob)?)
        }
    })
}

/// Unpack the uncompressed layer tar `tar` into `dest`, an empty directory that will hold
/// only this layer's diff. Later entries win over earlier ones of the same name, as in docker;
/// a directory seen twice only has its metadata updated. Directory modes and times are set at
/// the end, after their contents.
pub fn extract_layer(tar: impl Read, dest: &Path, opts: &ExtractOptions) -> Result<ExtractStats, ExtractError> {
    let root: OwnedFd =
        openat(nix::fcntl::AT_FDCWD, dest, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| ExtractError::Dest { path: dest.to_path_buf(), source: e.into() })?;
    let mut x = Extractor {
        tree: Tree { root, cache: None },
        opts: opts.clone(),
        stats: ExtractStats::default(),
        dirs: HashMap::new(),
        buf: vec![0u8; COPY_BUFFER],
        used_aufs_links: false,
    };
    let watch = RefCell::new(MetaWatch::default());
    let mut archive = tar::Archive::new(MetaGuard { inner: BufReader::with_capacity(COPY_BUFFER, tar), watch: &watch });
    let mut last_entry = String::from("(start of the layer)");
    let mut entries = archive
        .entries()
        .map_err(|e| ExtractError::Tar { after: last_entry.clone(), message: format!("not a tar stream: {e}") })?;
    // Where the next header starts: the end of the last entry's content (see `MetaGuard`).
    let mut next_header = 0u64;
    loop {
        watch.borrow_mut().arm(next_header);
        let Some(entry) = entries.next() else { break };
        let refused = watch.borrow_mut().disarm();
        let mut entry = entry.map_err(|e| ExtractError::Tar {
            after: last_entry.clone(),
            message: refused.unwrap_or_else(|| format!("corrupt or truncated: {e}")),
        })?;
        let content_start = watch.borrow().pos;
        let stored = stored_size(&mut entry);
        next_header = content_start.saturating_add(stored.saturating_add(511) & !511);
        last_entry = name_from_bytes(&entry.path_bytes()).into_owned();
        x.stats.entries += 1;
        x.entry(&mut entry, &last_entry)?;
    }
    x.finish()?;
    Ok(x.stats)
}

/// One entry's metadata, with PAX records taking precedence over the header's fields.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: TimeSpec,
    xattrs: Vec<(CString, Vec<u8>)>,
}

/// What a directory gets once everything inside it is written.
struct DirMeta {
    mode: u32,
    mtime: TimeSpec,
}

struct Extractor {
    tree: Tree,
    opts: ExtractOptions,
    stats: ExtractStats,
    /// Directories seen as entries (`b""` is the root), by path.
    dirs: HashMap<Vec<u8>, DirMeta>,
    buf: Vec<u8>,
    used_aufs_links: bool,
}

/// `./usr/bin/` → `usr/bin`; `.` or `./` → empty (the root). Byte for byte, so names that are
/// not UTF-8 are extracted as they are (the analyzer's `normalize_entry_path` works on the
/// escaped text form instead).
fn normalize(raw: &[u8]) -> Result<Vec<u8>, &'static str> {
    if raw.first() == Some(&b'/') {
        return Err("absolute path in a layer");
    }
    if raw.contains(&0) {
        return Err("NUL byte in the path");
    }
    let mut out = Vec::with_capacity(raw.len());
    for part in raw.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err("path climbs out of the root with `..`"),
            p => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(p);
            }
        }
    }
    Ok(out)
}

fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (b"", path),
    }
}

fn os(bytes: &[u8]) -> &OsStr {
    OsStr::from_bytes(bytes)
}

fn is_dir(parent: BorrowedFd<'_>, name: &[u8]) -> bool {
    fstatat(parent, os(name), AtFlags::AT_SYMLINK_NOFOLLOW).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
}

/// `a/b` under `dir`, without following any symlink, as a descriptor to use with `*at` calls.
fn open_beneath(dir: BorrowedFd<'_>, path: &[u8], flags: OFlag) -> nix::Result<OwnedFd> {
    let path: &[u8] = if path.is_empty() { b"." } else { path };
    let how = OpenHow::new()
        .flags(flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    match openat2(dir, os(path), how) {
        // Kernels before 5.6: one component at a time, none followed.
        Err(Errno::ENOSYS) => {
            let mut cur = openat(dir, ".", OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())?;
            let parts: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
            for (i, part) in parts.iter().enumerate() {
                let last = i + 1 == parts.len();
                let f = if last { flags } else { OFlag::O_PATH | OFlag::O_DIRECTORY };
                cur = openat(cur.as_fd(), os(part), f | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty())?;
            }
            Ok(cur)
        }
        other => other,
    }
}

/// The first component of `path` under `dir` that is a symlink, if any.
fn symlink_on_the_way(dir: BorrowedFd<'_>, path: &[u8]) -> Option<Vec<u8>> {
    let mut walked = Vec::new();
    for part in path.split(|&b| b == b'/') {
        if !walked.is_empty() {
            walked.push(b'/');
        }
        walked.extend_from_slice(part);
        let st = fstatat(dir, os(&walked), AtFlags::AT_SYMLINK_NOFOLLOW).ok()?;
        if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            return Some(walked);
        }
    }
    None
}

fn errno_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// The `/proc` name of `name` in the directory `parent` is open on: for the calls that have no
/// `*at` form (`lsetxattr`, removing a tree); the directory is pinned by its descriptor.
fn proc_path(parent: BorrowedFd<'_>, name: &[u8]) -> PathBuf {
    let mut p = PathBuf::from(format!("/proc/self/fd/{}", parent.as_raw_fd()));
    p.push(os(name));
    p
}

/// The snapshot directory and the last parent directory opened in it.
struct Tree {
    root: OwnedFd,
    /// Tars list a directory's files together: the last parent opened, by its path.
    cache: Option<(Vec<u8>, OwnedFd)>,
}

impl Tree {
    /// The directory `parent` (relative to the root), created with mode 0755 where missing, as
    /// docker creates the parents a layer does not list. A parent that is a symlink is refused.
    fn parent(&mut self, parent: &[u8], shown: &str) -> Result<BorrowedFd<'_>, ExtractError> {
        let cached = matches!(&self.cache, Some((p, _)) if p.as_slice() == parent);
        if !cached {
            let fd = match open_beneath(self.root.as_fd(), parent, OFlag::O_PATH | OFlag::O_DIRECTORY) {
                Ok(fd) => fd,
                Err(_) => self.make_parents(parent, shown)?,
            };
            self.cache = Some((parent.to_vec(), fd));
        }
        match &self.cache {
            Some((_, fd)) => Ok(fd.as_fd()),
            None => unreachable!("the cache was filled above"),
        }
    }

    /// Walk `parent` one component at a time, making what is missing and saying precisely
    /// which component is in the way.
    fn make_parents(&self, parent: &[u8], shown: &str) -> Result<OwnedFd, ExtractError> {
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let mut cur = openat(self.root.as_fd(), ".", flags, Mode::empty()).map_err(io_error(shown, "open the root"))?;
        let mut walked = Vec::new();
        for part in parent.split(|&b| b == b'/') {
            if !walked.is_empty() {
                walked.push(b'/');
            }
            walked.extend_from_slice(part);
            let next = match openat(cur.as_fd(), os(part), flags, Mode::empty()) {
                Err(Errno::ENOENT) => {
                    match mkdirat(cur.as_fd(), os(part), Mode::from_bits_truncate(0o755)) {
                        Ok(()) | Err(Errno::EEXIST) => {}
                        Err(e) => return Err(io_error(shown, "create a parent directory")(e)),
                    }
                    openat(cur.as_fd(), os(part), flags, Mode::empty())
                }
                other => other,
            };
            cur = match next {
                Ok(fd) => fd,
                Err(Errno::ENOTDIR | Errno::ELOOP) => {
                    let what = match fstatat(cur.as_fd(), os(part), AtFlags::AT_SYMLINK_NOFOLLOW) {
                        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => {
                            "is a symlink: the entry would be written through it, outside the layer's own tree"
                        }
                        _ => "is not a directory",
                    };
                    return Err(refused(shown, format!("parent `{}` {what}", name_from_bytes(&walked))));
                }
                Err(e) => return Err(io_error(shown, "open a parent directory")(e)),
            };
        }
        Ok(cur)
    }
}

fn refused(entry: &str, message: impl Into<String>) -> ExtractError {
    ExtractError::Refused { entry: entry.to_string(), message: message.into() }
}

fn io_error<'a>(entry: &'a str, what: &'static str) -> impl FnOnce(Errno) -> ExtractError + 'a {
    move |e| ExtractError::Io { entry: entry.to_string(), what, source: errno_io(e) }
}

fn std_io_error<'a>(entry: &'a str, what: &'static str) -> impl FnOnce(io::Error) -> ExtractError + 'a {
    move |source| ExtractError::Io { entry: entry.to_string(), what, source }
}

/// The outcome of a change of owner: refused to an unprivileged extraction, it is counted and
/// skipped (a rootless build without subordinate ids owns everything itself).
fn owner_result(
    stats: &mut ExtractStats,
    privileged: bool,
    r: nix::Result<()>,
    shown: &str,
) -> Result<(), ExtractError> {
    match r {
        Ok(()) => Ok(()),
        Err(Errno::EPERM | Errno::EINVAL) if !privileged => {
            stats.ignored_owners += 1;
            Ok(())
        }
        Err(e) => Err(io_error(shown, "set the owner")(e)),
    }
}

/// Where an entry's xattrs go: an open file or directory, or a name with no descriptor of its
/// own (symlinks, fifos, devices), reached through `/proc` from its pinned parent.
enum XattrTarget<'a> {
    Fd(BorrowedFd<'a>),
    Path(&'a CString),
}

/// The entry's xattrs; one the file system refuses (`EPERM`, `ENOTSUP`) is counted and skipped,
/// as containerd does.
fn set_xattrs(
    stats: &mut ExtractStats,
    target: XattrTarget<'_>,
    xattrs: &[(CString, Vec<u8>)],
    shown: &str,
) -> Result<(), ExtractError> {
    for (key, value) in xattrs {
        // SAFETY: a valid descriptor or NUL-terminated path, a NUL-terminated name, and a value
        // pointer and length taken from one slice.
        let r = unsafe {
            match target {
                XattrTarget::Fd(fd) => {
                    libc::fsetxattr(fd.as_raw_fd(), key.as_ptr(), value.as_ptr().cast(), value.len(), 0)
                }
                XattrTarget::Path(path) => {
                    libc::lsetxattr(path.as_ptr(), key.as_ptr(), value.as_ptr().cast(), value.len(), 0)
                }
            }
        };
        if r != 0 {
            match Errno::last() {
                Errno::EPERM | Errno::ENOTSUP => stats.ignored_xattrs += 1,
                e => {
                    return Err(refused(
                        shown,
                        format!("cannot set xattr `{}`: {}", key.to_string_lossy(), errno_io(e)),
                    ))
                }
            }
        }
    }
    Ok(())
}

impl Extractor {
    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>, shown: &str) -> Result<(), ExtractError> {
        let path = {
            let raw = entry.path_bytes();
            if raw.len() as u64 > MAX_PATH_BYTES {
                let short: String = shown.chars().take(100).collect();
                return Err(refused(
                    &format!("{short}…"),
                    format!("the path is {} bytes long; a path is at most {MAX_PATH_BYTES} bytes", raw.len()),
                ));
            }
            normalize(&raw).map_err(|m| refused(shown, m))?
        };
        let kind = entry.header().entry_type();
        if path.is_empty() {
            // The root directory itself: only its metadata.
            if kind == tar::EntryType::Directory {
                let meta = self.meta(entry, shown)?;
                let root = self.tree.root.try_clone().map_err(std_io_error(shown, "open the root"))?;
                self.dir_meta(root.as_fd(), b"", meta, shown)?;
            } else {
                self.stats.skipped += 1;
            }
            return Ok(());
        }
        let (parent, name) = split_parent(&path);
        let in_aufs_links = parent == AUFS_LINK_DIR || parent.starts_with(b".wh..wh.plnk/");
        if !in_aufs_links && parent.split(|&b| b == b'/').any(|p| p.starts_with(AUFS_META_PREFIX.as_bytes())) {
            self.stats.skipped += 1;
            return Ok(());
        }
        if name == OPAQUE_MARKER.as_bytes() {
            return self.opaque(parent, shown);
        }
        if name.starts_with(AUFS_META_PREFIX.as_bytes()) {
            // Other aufs bookkeeping; `.wh..wh.plnk` itself is made when its first file comes.
            self.stats.skipped += 1;
            return Ok(());
        }
        if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX.as_bytes()) {
            let meta = self.meta(entry, shown)?;
            return self.whiteout(parent, hidden, meta, shown);
        }
        if in_aufs_links {
            self.used_aufs_links = true;
        }
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let meta = self.meta(entry, shown)?;
                self.file(entry, parent, name, meta, kind == tar::EntryType::GNUSparse, shown)
            }
            tar::EntryType::Directory => {
                let meta = self.meta(entry, shown)?;
                self.dir(&path, meta, shown)
            }
            tar::EntryType::Symlink => {
                let target = link_target(entry, shown)?;
                let meta = self.meta(entry, shown)?;
                self.symlink(parent, name, &target, meta, shown)
            }
            tar::EntryType::Link => {
                let target = link_target(entry, shown)?;
                self.hardlink(parent, name, &path, &target, shown)
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let header = entry.header();
                let number = |r: io::Result<Option<u32>>| r.ok().flatten().unwrap_or(0);
                let dev = libc::makedev(number(header.device_major()), number(header.device_minor()));
                let meta = self.meta(entry, shown)?;
                self.special(parent, name, kind, dev, meta, shown)
            }
            _ => {
                self.stats.skipped += 1;
                Ok(())
            }
        }
    }

    fn meta<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>, shown: &str) -> Result<Meta, ExtractError> {
        let header = entry.header();
        let bad = |what: &str, e: io::Error| refused(shown, format!("bad {what}: {e}"));
        let mode = header.mode().map_err(|e| bad("mode", e))? & 0o7777;
        let mut uid = header.uid().map_err(|e| bad("uid", e))?;
        let mut gid = header.gid().map_err(|e| bad("gid", e))?;
        let mut mtime = TimeSpec::new(header.mtime().map_or(0, |t| i64::try_from(t).unwrap_or(i64::MAX)), 0);
        let mut xattrs = Vec::new();
        if let Some(records) = entry.pax_extensions().map_err(|e| bad("PAX header", e))? {
            for record in records {
                let record = record.map_err(|e| bad("PAX record", e))?;
                let value = record.value_bytes();
                match record.key_bytes() {
                    b"uid" => uid = parse_decimal(value).ok_or_else(|| refused(shown, "bad PAX uid"))?,
                    b"gid" => gid = parse_decimal(value).ok_or_else(|| refused(shown, "bad PAX gid"))?,
                    b"mtime" => mtime = parse_pax_time(value).unwrap_or(mtime),
                    key => {
                        let Some(name) = key.strip_prefix(b"SCHILY.xattr.") else { continue };
                        let (namespace, rest) = match name.iter().position(|&b| b == b'.') {
                            Some(i) => (&name[..i], &name[i + 1..]),
                            None => (name, &b""[..]),
                        };
                        // overlay's own attributes would change what the merged view shows.
                        if rest.starts_with(b"overlay.") || (namespace == b"trusted" && !self.opts.privileged) {
                            self.stats.ignored_xattrs += 1;
                            continue;
                        }
                        let name = CString::new(name).map_err(|_| refused(shown, "NUL byte in an xattr name"))?;
                        xattrs.push((name, value.to_vec()));
                    }
                }
            }
        }
        let id =
            |v: u64, what: &str| u32::try_from(v).map_err(|_| refused(shown, format!("{what} {v} is out of range")));
        Ok(Meta { mode, uid: id(uid, "uid")?, gid: id(gid, "gid")?, mtime, xattrs })
    }

    /// Make `name` in `parent` with `create`; when something is already there (an earlier
    /// entry of this layer), remove it and try again: later entries win.
    fn create(
        &mut self,
        parent: &[u8],
        name: &[u8],
        shown: &str,
        what: &'static str,
        mut create: impl FnMut(BorrowedFd<'_>) -> nix::Result<()>,
    ) -> Result<(), ExtractError> {
        let dir = self.tree.parent(parent, shown)?;
        match create(dir) {
            Err(Errno::EEXIST) => {
                self.remove(parent, name, shown)?;
                let dir = self.tree.parent(parent, shown)?;
                create(dir).map_err(io_error(shown, what))
            }
            other => other.map_err(io_error(shown, what)),
        }
    }

    /// Remove `name` in `parent`, a whole tree if it is a directory, following no symlink.
    fn remove(&mut self, parent: &[u8], name: &[u8], shown: &str) -> Result<(), ExtractError> {
        let dir = self.tree.parent(parent, shown)?;
        match unlinkat(dir, os(name), UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => return Ok(()),
            Err(Errno::EISDIR) => {}
            Err(e) => return Err(io_error(shown, "remove the earlier entry of this name")(e)),
        }
        // std's removal opens each level relative to the last, without following symlinks.
        std::fs::remove_dir_all(proc_path(dir, name))
            .map_err(std_io_error(shown, "remove the earlier directory of this name"))?;
        let path = join(parent, name);
        self.dirs.retain(|p, _| !(p.starts_with(&path) && matches!(p.get(path.len()), None | Some(b'/'))));
        self.tree.cache = None;
        Ok(())
    }

    fn file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        parent: &[u8],
        name: &[u8],
        meta: Meta,
        sparse: bool,
        shown: &str,
    ) -> Result<(), ExtractError> {
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let mut fd = None;
        self.create(parent, name, shown, "create the file", |dir| {
            fd = Some(openat(dir, os(name), flags, Mode::from_bits_truncate(0o600))?);
            Ok(())
        })?;
        let Some(fd) = fd else { unreachable!("`create` succeeded, so the file is open") };
        let mut file = File::from(fd);
        let mut written = 0u64;
        let write_error = std_io_error(shown, "write the content");
        loop {
            let n = match entry.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(std_io_error(shown, "read the content (the tar is truncated or corrupt)")(e)),
            };
            let chunk = &self.buf[..n];
            // A sparse file's holes arrive as zeros; seeking over them keeps them holes.
            let r = if sparse && chunk.iter().all(|&b| b == 0) {
                file.seek(SeekFrom::Current(n as i64)).map(drop)
            } else {
                file.write_all(chunk)
            };
            if let Err(e) = r {
                return Err(write_error(e));
            }
            written += n as u64;
        }
        if sparse {
            file.set_len(written).map_err(write_error)?;
        }
        self.stats.content_bytes += written;
        self.stats.files += 1;
        // chown clears setuid, setgid and file capabilities: owner, then mode, then xattrs.
        let owner = fchown(file.as_fd(), Some(Uid::from_raw(meta.uid)), Some(Gid::from_raw(meta.gid)));
        owner_result(&mut self.stats, self.opts.privileged, owner, shown)?;
        fchmod(file.as_fd(), Mode::from_bits_truncate(meta.mode)).map_err(io_error(shown, "set the mode"))?;
        set_xattrs(&mut self.stats, XattrTarget::Fd(file.as_fd()), &meta.xattrs, shown)?;
        futimens(file.as_fd(), &meta.mtime, &meta.mtime).map_err(io_error(shown, "set the times"))
    }

    fn dir(&mut self, path: &[u8], meta: Meta, shown: &str) -> Result<(), ExtractError> {
        let (parent, name) = split_parent(path);
        fn mkdir(dir: BorrowedFd<'_>, name: &[u8]) -> nix::Result<()> {
            mkdirat(dir, os(name), Mode::from_bits_truncate(0o700))
        }
        let dir = self.tree.parent(parent, shown)?;
        match mkdir(dir, name) {
            Ok(()) => {}
            Err(Errno::EEXIST) if is_dir(dir, name) => {}
            Err(Errno::EEXIST) => {
                self.remove(parent, name, shown)?;
                mkdir(self.tree.parent(parent, shown)?, name).map_err(io_error(shown, "create the directory"))?;
            }
            Err(e) => return Err(io_error(shown, "create the directory")(e)),
        }
        let dir = self.tree.parent(parent, shown)?;
        let fd = open_beneath(dir, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
            .map_err(io_error(shown, "open the directory"))?;
        self.stats.dirs += 1;
        self.dir_meta(fd.as_fd(), path, meta, shown)
    }

    /// Owner and xattrs now; mode and times once its contents are written (a read-only
    /// directory must still take files, and every file written changes its mtime).
    fn dir_meta(&mut self, fd: BorrowedFd<'_>, path: &[u8], meta: Meta, shown: &str) -> Result<(), ExtractError> {
        let owner = fchown(fd, Some(Uid::from_raw(meta.uid)), Some(Gid::from_raw(meta.gid)));
        owner_result(&mut self.stats, self.opts.privileged, owner, shown)?;
        set_xattrs(&mut self.stats, XattrTarget::Fd(fd), &meta.xattrs, shown)?;
        self.dirs.insert(path.to_vec(), DirMeta { mode: meta.mode, mtime: meta.mtime });
        Ok(())
    }

    fn symlink(
        &mut self,
        parent: &[u8],
        name: &[u8],
        target: &[u8],
        meta: Meta,
        shown: &str,
    ) -> Result<(), ExtractError> {
        self.create(parent, name, shown, "create the symlink", |dir| symlinkat(os(target), dir, os(name)))?;
        self.stats.symlinks += 1;
        self.finish_at(parent, name, &meta, false, shown)
    }

    fn hardlink(
        &mut self,
        parent: &[u8],
        name: &[u8],
        path: &[u8],
        target: &[u8],
        shown: &str,
    ) -> Result<(), ExtractError> {
        let target = normalize(target)
            .map_err(|m| refused(shown, format!("hardlink target `{}`: {m}", name_from_bytes(target))))?;
        if target.is_empty() {
            return Err(refused(shown, "hardlink to the root directory"));
        }
        if target == path {
            return Ok(()); // a link to itself changes nothing
        }
        let (target_parent, target_name) = split_parent(&target);
        let shown_target = name_from_bytes(&target).into_owned();
        let not_before =
            || refused(shown, format!("hardlink target `{shown_target}` is not an entry extracted before it"));
        let target_dir = open_beneath(self.tree.root.as_fd(), target_parent, OFlag::O_PATH | OFlag::O_DIRECTORY)
            .map_err(|e| match (e, symlink_on_the_way(self.tree.root.as_fd(), target_parent)) {
                (Errno::ELOOP | Errno::ENOTDIR, Some(link)) => refused(
                    shown,
                    format!("hardlink target `{shown_target}` lies behind the symlink `{}`", name_from_bytes(&link)),
                ),
                _ => not_before(),
            })?;
        match fstatat(target_dir.as_fd(), os(target_name), AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {
                return Err(refused(shown, format!("hardlink target `{shown_target}` is a directory")))
            }
            Ok(_) => {}
            Err(_) => return Err(not_before()),
        }
        self.create(parent, name, shown, "create the hardlink", |dir| {
            linkat(target_dir.as_fd(), os(target_name), dir, os(name), AtFlags::empty())
        })?;
        self.stats.hardlinks += 1;
        Ok(())
    }

    fn special(
        &mut self,
        parent: &[u8],
        name: &[u8],
        kind: tar::EntryType,
        dev: libc::dev_t,
        meta: Meta,
        shown: &str,
    ) -> Result<(), ExtractError> {
        let sflag = match kind {
            tar::EntryType::Char => SFlag::S_IFCHR,
            tar::EntryType::Block => SFlag::S_IFBLK,
            _ => SFlag::S_IFIFO,
        };
        if sflag != SFlag::S_IFIFO && !self.opts.privileged {
            let (major, minor) = (libc::major(dev), libc::minor(dev));
            return Err(refused(
                shown,
                format!("device node {major}:{minor}: only a privileged (root) extraction creates device nodes"),
            ));
        }
        self.create(parent, name, shown, "create the device node or fifo", |dir| {
            mknodat(dir, os(name), sflag, Mode::from_bits_truncate(0o600), dev)
        })?;
        self.stats.specials += 1;
        self.finish_at(parent, name, &meta, true, shown)
    }

    /// `.wh.NAME` → a 0/0 character device NAME, overlay's whiteout, owned as the entry says.
    fn whiteout(&mut self, parent: &[u8], hidden: &[u8], meta: Meta, shown: &str) -> Result<(), ExtractError> {
        if hidden.is_empty() {
            self.stats.skipped += 1;
            return Ok(());
        }
        self.create(parent, hidden, shown, "create the whiteout (a 0/0 character device)", |dir| {
            mknodat(dir, os(hidden), SFlag::S_IFCHR, Mode::empty(), 0)
        })?;
        self.stats.whiteouts += 1;
        let dir = self.tree.parent(parent, shown)?;
        let (uid, gid) = (Uid::from_raw(meta.uid), Gid::from_raw(meta.gid));
        let owner = fchownat(dir, os(hidden), Some(uid), Some(gid), AtFlags::AT_SYMLINK_NOFOLLOW);
        owner_result(&mut self.stats, self.opts.privileged, owner, shown)
    }

    /// `.wh..wh..opq` in DIR → `overlay.opaque=y` on DIR: the layers below are hidden there.
    fn opaque(&mut self, dir: &[u8], shown: &str) -> Result<(), ExtractError> {
        let (parent, name) = split_parent(dir);
        let fd = if dir.is_empty() {
            self.tree.root.try_clone().map_err(std_io_error(shown, "open the root"))?
        } else {
            let pfd = self.tree.parent(parent, shown)?;
            match mkdirat(pfd, os(name), Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(io_error(shown, "create the opaque directory")(e)),
            }
            open_beneath(pfd, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
                .map_err(|e| refused(shown, format!("`{}` is not a directory ({e})", name_from_bytes(dir))))?
        };
        let key = self.opts.opaque.name();
        // SAFETY: a valid descriptor, a static NUL-terminated name, a one-byte value.
        let r = unsafe { libc::fsetxattr(fd.as_raw_fd(), key.as_ptr(), b"y".as_ptr().cast(), 1, 0) };
        if r != 0 {
            return Err(std_io_error(shown, "set the opaque xattr")(io::Error::last_os_error()));
        }
        self.stats.opaques += 1;
        Ok(())
    }

    /// Owner, mode (not a symlink's), xattrs and times of `name` in `parent`, following no
    /// symlink: for what cannot be opened (symlinks, fifos, devices).
    fn finish_at(
        &mut self,
        parent: &[u8],
        name: &[u8],
        meta: &Meta,
        chmod: bool,
        shown: &str,
    ) -> Result<(), ExtractError> {
        let dir = self.tree.parent(parent, shown)?;
        let (uid, gid) = (Uid::from_raw(meta.uid), Gid::from_raw(meta.gid));
        let owner = fchownat(dir, os(name), Some(uid), Some(gid), AtFlags::AT_SYMLINK_NOFOLLOW);
        owner_result(&mut self.stats, self.opts.privileged, owner, shown)?;
        if chmod {
            // Never a symlink here: the entry was just made as a fifo or device node.
            fchmodat(dir, os(name), Mode::from_bits_truncate(meta.mode), FchmodatFlags::FollowSymlink)
                .map_err(io_error(shown, "set the mode"))?;
        }
        if !meta.xattrs.is_empty() {
            let proc = CString::new(proc_path(dir, name).into_os_string().into_vec())
                .map_err(|_| refused(shown, "NUL byte in the name"))?;
            set_xattrs(&mut self.stats, XattrTarget::Path(&proc), &meta.xattrs, shown)?;
        }
        utimensat(dir, os(name), &meta.mtime, &meta.mtime, UtimensatFlags::NoFollowSymlink)
            .map_err(io_error(shown, "set the times"))
    }

    /// After the last entry: drop aufs's link directory, then give directories their modes and
    /// times, now that nothing more is written into them.
    fn finish(&mut self) -> Result<(), ExtractError> {
        if self.used_aufs_links {
            self.remove(b"", AUFS_LINK_DIR, "(end of the layer)")?;
        }
        for (path, meta) in &self.dirs {
            let shown = name_from_bytes(path);
            let fd = open_beneath(self.tree.root.as_fd(), path, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
                .map_err(io_error(&shown, "open the directory"))?;
            fchmod(fd.as_fd(), Mode::from_bits_truncate(meta.mode)).map_err(io_error(&shown, "set the mode"))?;
            futimens(fd.as_fd(), &meta.mtime, &meta.mtime).map_err(io_error(&shown, "set the times"))?;
        }
        Ok(())
    }
}

fn link_target<R: Read>(entry: &tar::Entry<'_, R>, shown: &str) -> Result<Vec<u8>, ExtractError> {
    let target = entry.link_name_bytes().ok_or_else(|| refused(shown, "link without a target"))?;
    if target.len() as u64 > MAX_PATH_BYTES {
        return Err(refused(
            shown,
            format!("the link target is {} bytes long; a link target is at most {MAX_PATH_BYTES} bytes", target.len()),
        ));
    }
    if target.is_empty() || target.contains(&0) {
        return Err(refused(shown, "an empty link target, or a NUL byte in it"));
    }
    Ok(target.into_owned())
}

fn join(parent: &[u8], name: &[u8]) -> Vec<u8> {
    let mut path = parent.to_vec();
    if !path.is_empty() {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

fn parse_decimal(value: &[u8]) -> Option<u64> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// A PAX time, `SECONDS[.FRACTION]`, to nanoseconds.
fn parse_pax_time(value: &[u8]) -> Option<TimeSpec> {
    let text = std::str::from_utf8(value).ok()?;
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs: i64 = secs.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
    let nanos: i64 = digits.parse().ok()?;
    // `-1.5` is 1.5 s before the epoch.
    Some(if text.starts_with('-') && nanos > 0 {
        TimeSpec::new(secs - 1, 1_000_000_000 - nanos)
    } else {
        TimeSpec::new(secs, nanos)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_bytes_and_refuses_escapes() {
        assert_eq!(normalize(b"./usr/bin/").unwrap(), b"usr/bin");
        assert_eq!(normalize(b"./").unwrap(), b"");
        assert_eq!(normalize(b"caf\xe9//x").unwrap(), b"caf\xe9/x");
        assert!(normalize(b"/etc/passwd").is_err());
        assert!(normalize(b"a/../../x").is_err());
        assert!(normalize(b"a\0b").is_err());
    }

    #[test]
    fn pax_times() {
        let t = parse_pax_time(b"1700000000.25").unwrap();
        assert_eq!((t.tv_sec(), t.tv_nsec()), (1_700_000_000, 250_000_000));
        let t = parse_pax_time(b"-1.5").unwrap();
        assert_eq!((t.tv_sec(), t.tv_nsec()), (-2, 500_000_000));
        assert!(parse_pax_time(b"12x").is_none());
    }
}
