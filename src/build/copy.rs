//! The file side of COPY and ADD, run by the sandbox's init inside the new root (so every
//! destination path resolves in the image, never on the host). What to copy was decided by
//! the executor beforehand: sources are resolved, filtered by `.dockerignore`, and hashed for
//! the cache key there; here each item is written with its owner, mode and time.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Source {
    /// A file, directory (created with its metadata, contents come as their own items) or
    /// symlink at this host path.
    Host(PathBuf),
    /// A heredoc's content.
    Inline { content: Vec<u8>, mode: u32 },
    /// ADD of a local archive: extracted into the destination directory.
    Archive(PathBuf),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopyItem {
    pub source: Source,
    /// Absolute path in the image.
    pub dest: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CopyTask {
    /// Directories that must exist first (the destination directory of a multi-source COPY,
    /// WORKDIR's directory), created with their parents as 0755.
    pub dirs: Vec<String>,
    pub items: Vec<CopyItem>,
    /// `--chown` after expansion, resolved in the image; None keeps 0:0.
    pub chown: Option<String>,
    pub chmod: Option<u32>,
    /// Owner of the directories in `dirs` (WORKDIR under a USER), when no `--chown`.
    pub dir_owner: Option<String>,
}

/// Performs the task; `host_root` is where the host's root is reachable from the new root.
pub fn run(task: &CopyTask, host_root: &Path) -> Result<(), String> {
    let host = |p: &Path| host_root.join(p.strip_prefix("/").unwrap_or(p));
    let ids = match &task.chown {
        Some(chown) => Some(super::sandbox::resolve_user(chown).map_err(|e| format!("--chown={chown}: {e}"))?),
        None => None,
    };
    let dir_ids = match (&ids, &task.dir_owner) {
        (Some(ids), _) => Some(ids.clone()),
        (None, Some(user)) => Some(super::sandbox::resolve_user(user)?),
        (None, None) => None,
    };
    let (uid, gid) = ids.as_ref().map_or((0, 0), |i| (i.uid, i.gid));
    let (duid, dgid) = dir_ids.as_ref().map_or((0, 0), |i| (i.uid, i.gid));
    for dir in &task.dirs {
        make_dirs(Path::new(dir), duid, dgid)?;
    }
    // Directories' times are set last, once their contents are in.
    let mut dir_times: Vec<(PathBuf, i64, i64)> = Vec::new();
    for item in &task.items {
        let dest = Path::new(&item.dest);
        if let Some(parent) = dest.parent() {
            make_dirs(parent, uid, gid)?;
        }
        match &item.source {
            Source::Inline { content, mode } => {
                replace_non_dir(dest)?;
                std::fs::write(dest, content).map_err(|e| format!("writing {}: {e}", dest.display()))?;
                finish(dest, uid, gid, task.chmod.unwrap_or(*mode), None)?;
            }
            Source::Host(src) => {
                let src = host(src);
                let meta = std::fs::symlink_metadata(&src).map_err(|e| format!("{}: {e}", src.display()))?;
                let ft = meta.file_type();
                let mtime = Some((meta.mtime(), meta.mtime_nsec()));
                if ft.is_dir() {
                    match std::fs::symlink_metadata(dest) {
                        Ok(m) if m.is_dir() => {}
                        Ok(_) => {
                            std::fs::remove_file(dest).map_err(|e| format!("replacing {}: {e}", dest.display()))?;
                            std::fs::create_dir(dest).map_err(|e| format!("mkdir {}: {e}", dest.display()))?;
                        }
                        Err(_) => std::fs::create_dir(dest).map_err(|e| format!("mkdir {}: {e}", dest.display()))?,
                    }
                    finish(dest, uid, gid, task.chmod.unwrap_or(meta.mode() & 0o7777), None)?;
                    dir_times.push((dest.to_path_buf(), meta.mtime(), meta.mtime_nsec()));
                } else if ft.is_symlink() {
                    let target = std::fs::read_link(&src).map_err(|e| format!("{}: {e}", src.display()))?;
                    replace_non_dir(dest)?;
                    std::os::unix::fs::symlink(&target, dest)
                        .map_err(|e| format!("symlink {}: {e}", dest.display()))?;
                    let _ = std::os::unix::fs::lchown(dest, Some(uid), Some(gid));
                    set_mtime(dest, mtime);
                } else if ft.is_file() {
                    replace_non_dir(dest)?;
                    copy_file(&src, dest)?;
                    finish(dest, uid, gid, task.chmod.unwrap_or(meta.mode() & 0o7777), mtime)?;
                } else {
                    return Err(format!("{}: not a regular file, directory or symlink", src.display()));
                }
            }
            Source::Archive(src) => {
                let src = host(src);
                make_dirs(dest, uid, gid)?;
                extract_archive(&src, dest, ids.as_ref().map(|i| (i.uid, i.gid)))?;
            }
        }
    }
    for (dir, s, ns) in dir_times.into_iter().rev() {
        set_mtime(&dir, Some((s, ns)));
    }
    Ok(())
}

/// `mkdir -p`, new directories 0755 owned by `uid:gid`. A symlink on the way is followed
/// (inside the new root, where the init runs).
fn make_dirs(dir: &Path, uid: u32, gid: u32) -> Result<(), String> {
    let mut cur = PathBuf::from("/");
    for c in dir.components().skip(1) {
        cur.push(c);
        match std::fs::metadata(&cur) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(format!("{}: not a directory", cur.display())),
            Err(_) => {
                std::fs::create_dir(&cur).map_err(|e| format!("mkdir {}: {e}", cur.display()))?;
                std::os::unix::fs::chown(&cur, Some(uid), Some(gid))
                    .map_err(|e| format!("chown {}: {e}", cur.display()))?;
                std::fs::set_permissions(&cur, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| format!("chmod {}: {e}", cur.display()))?;
            }
        }
    }
    Ok(())
}

/// Removes whatever non-directory is at `dest` (a file or symlink is replaced, not written through).
fn replace_non_dir(dest: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => Err(format!("cannot copy a file onto the directory {}", dest.display())),
        Ok(_) => std::fs::remove_file(dest).map_err(|e| format!("replacing {}: {e}", dest.display())),
        Err(_) => Ok(()),
    }
}

fn copy_file(src: &Path, dest: &Path) -> Result<(), String> {
    let mut from = std::fs::File::open(src).map_err(|e| format!("{}: {e}", src.display()))?;
    let mut to = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dest)
        .map_err(|e| format!("{}: {e}", dest.display()))?;
    std::io::copy(&mut from, &mut to).map_err(|e| format!("copying to {}: {e}", dest.display()))?;
    Ok(())
}

fn finish(path: &Path, uid: u32, gid: u32, mode: u32, mtime: Option<(i64, i64)>) -> Result<(), String> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(|e| format!("chown {}: {e}", path.display()))?;
    // After chown, which clears set-id bits.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", path.display()))?;
    set_mtime(path, mtime);
    Ok(())
}

fn set_mtime(path: &Path, mtime: Option<(i64, i64)>) {
    use nix::sys::stat::{utimensat, UtimensatFlags};
    use nix::sys::time::TimeSpec;
    if let Some((s, ns)) = mtime {
        let t = TimeSpec::new(s, ns);
        let _ = utimensat(nix::fcntl::AT_FDCWD, path, &t, &t, UtimensatFlags::NoFollowSymlink);
    }
}

/// The compression of an archive ADD extracts, from its first bytes; None: not an archive.
pub fn archive_kind(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some("gzip")
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd")
    } else if head.starts_with(b"BZh") {
        Some("bzip2")
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("xz")
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Some("tar")
    } else {
        None
    }
}

/// The first 512 bytes of a file (fewer when it is shorter), what [`archive_kind`] reads.
pub fn file_head(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut head = vec![0u8; 512];
    let mut f = std::fs::File::open(path)?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    head.truncate(n);
    Ok(head)
}

/// Whether the host file is an archive ADD would extract (a tar, plain or compressed).
pub fn is_archive(path: &Path) -> bool {
    let Ok(head) = file_head(path) else { return false };
    match archive_kind(&head) {
        Some("tar") => true,
        Some(kind) => decompressed(path, kind).is_ok_and(|mut r| {
            let mut h = [0u8; 512];
            r.read_exact(&mut h).is_ok() && &h[257..262] == b"ustar"
        }),
        None => false,
    }
}

fn decompressed(path: &Path, kind: &str) -> Result<Box<dyn Read>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let f = std::io::BufReader::new(f);
    Ok(match kind {
        "gzip" => Box::new(flate2::read::MultiGzDecoder::new(f)),
        "zstd" => Box::new(
            crate::image::layer::zstd_decoder(std::io::BufReader::new(f))
                .map_err(|e| format!("{}: {e}", path.display()))?,
        ),
        "bzip2" => Box::new(bzip2::read::MultiBzDecoder::new(f)),
        "xz" => Box::new(liblzma::read::XzDecoder::new_multi_decoder(f)),
        "tar" => Box::new(f),
        other => return Err(format!("{}: {other} archives are not supported", path.display())),
    })
}

fn extract_archive(src: &Path, dest: &Path, owner: Option<(u32, u32)>) -> Result<(), String> {
    let mut head = [0u8; 512];
    let n =
        std::fs::File::open(src).and_then(|mut f| f.read(&mut head)).map_err(|e| format!("{}: {e}", src.display()))?;
    let kind = archive_kind(&head[..n]).ok_or_else(|| format!("{}: not an archive", src.display()))?;
    let mut archive = tar::Archive::new(decompressed(src, kind)?);
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    // Owners are set below: Go's tar (what docker reads archives with) takes an empty
    // numeric field as 0, where the tar crate refuses it.
    archive.set_preserve_ownerships(false);
    archive.set_unpack_xattrs(false);
    archive.set_overwrite(true);
    for entry in archive.entries().map_err(|e| format!("{}: {e}", src.display()))? {
        let mut entry = entry.map_err(|e| format!("{}: {e}", src.display()))?;
        let unpacked = entry.unpack_in(dest).map_err(|e| {
            let cause = std::error::Error::source(&e).map(|c| format!(": {c}")).unwrap_or_default();
            format!("{}: {e}{cause}", src.display())
        })?;
        if !unpacked {
            return Err(format!("{}: an entry leaves the destination", src.display()));
        }
        let (uid, gid) = owner.unwrap_or_else(|| {
            let h = entry.header();
            (h.uid().unwrap_or(0) as u32, h.gid().unwrap_or(0) as u32)
        });
        if let Ok(path) = entry.path() {
            let path = dest.join(path);
            let _ = std::os::unix::fs::lchown(&path, Some(uid), Some(gid));
            // lchown clears set-id bits: put the mode back.
            if let (Ok(mode), false) = (entry.header().mode(), entry.header().entry_type().is_symlink()) {
                let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o7777));
            }
        }
    }
    Ok(())
}
