//! The two ways imgopt touches a file named by its (untrusted) input, in one home:
//!
//! - [`read_regular`] / [`open_regular`]: a file the input names (a Dockerfile, a config, an
//!   image archive, a blob) is opened without blocking (`O_NONBLOCK`: a FIFO would block
//!   `open()` for ever), must be a regular file (a FIFO, a character device such as `/dev/zero`
//!   or a directory is refused before a byte is read) and may not exceed a size cap;
//! - [`write_atomic`]: a file is replaced by writing a temporary file in the same directory,
//!   syncing it, keeping the old file's mode and renaming it over the original, so a full disk,
//!   a `SIGXFSZ` or a crash leaves either the old file or the new one, never a cut one.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a file named by the input was not read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[diagnostic(code(imgopt::io))]
pub enum FileError {
    #[error("{} is {kind}, not a regular file", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{} is {size} bytes, more than the limit of {max} bytes", path.display())]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl From<FileError> for io::Error {
    /// For readers whose errors carry an `io::Error`: the kind survives (`NotFound` stays
    /// `NotFound`), the message says what was wrong.
    fn from(e: FileError) -> Self {
        match e {
            FileError::Io { source, .. } => source,
            other => io::Error::new(io::ErrorKind::InvalidInput, other.to_string()),
        }
    }
}

fn kind_of(t: fs::FileType) -> Option<&'static str> {
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        Some("not a file")
    }
}

/// Open `path` for reading if it is a regular file of at most `max` bytes (symlinks followed);
/// returns the file and its size. Never blocks: a FIFO is opened non-blocking and refused.
pub fn open_regular(path: &Path, max: u64) -> Result<(File, u64), FileError> {
    let io_err = |source| FileError::Io { path: path.to_path_buf(), source };
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if let Some(kind) = kind_of(meta.file_type()) {
        return Err(FileError::NotRegular { path: path.to_path_buf(), kind });
    }
    if meta.len() > max {
        return Err(FileError::TooLarge { path: path.to_path_buf(), size: meta.len(), max });
    }
    Ok((file, meta.len()))
}

/// The whole of a regular file of at most `max` bytes (see [`open_regular`]). A file that grows
/// while it is read is refused at `max`, not read on.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>, FileError> {
    let (file, size) = open_regular(path, max)?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| FileError::Io { path: path.to_path_buf(), source })?;
    if bytes.len() as u64 > max {
        return Err(FileError::TooLarge { path: path.to_path_buf(), size: bytes.len() as u64, max });
    }
    Ok(bytes)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_regular_string(path: &Path, max: u64) -> Result<String, FileError> {
    String::from_utf8(read_regular(path, max)?).map_err(|_| FileError::Io {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"),
    })
}

/// Whether `path` is a regular file (symlinks followed), without opening it.
pub fn is_regular(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// A file being written under a temporary name; removed unless [`TempFile::commit`]ted.
pub struct TempFile {
    pub path: PathBuf,
    committed: bool,
}

impl TempFile {
    /// A fresh name in `dir` for a file that will become `target` (same file system, so the
    /// rename is atomic).
    pub fn in_dir(dir: &Path, target: &Path) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        TempFile { path: dir.join(format!(".{name}.tmp-{}-{n}", std::process::id())), committed: false }
    }

    /// A fresh name beside `target`.
    pub fn beside(target: &Path) -> Self {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Self::in_dir(dir, target)
    }

    /// Rename over `target`.
    pub fn commit(mut self, target: &Path) -> io::Result<()> {
        fs::rename(&self.path, target)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Turn `SIGXFSZ` (a write past `RLIMIT_FSIZE`, as `ulimit -f` sets) from a kill into an
/// `EFBIG` error from `write()`: the write then fails through its error path, which removes the
/// temporary file, instead of the process dying with the temporary file left beside the target.
/// Process-wide and inherited by programs it starts, so only for commands that start none.
pub fn ignore_file_size_signal() {
    // SAFETY: SIG_IGN installs no handler; nothing runs in signal context.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Replace `path` with `bytes` atomically, writing the temporary file beside it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_via(TempFile::beside(path), path, bytes)
}

/// Replace `path` with `bytes` atomically, writing the temporary file in `dir` (which must be on
/// the same file system: a store's `tmp/`, cleaned after a crash).
pub fn write_atomic_in(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_via(TempFile::in_dir(dir, path), path, bytes)
}

/// [`write_atomic_in`] without the fsyncs: a reader (or a process killed half way) still sees
/// the old content or the new, never a mix, but a power loss may leave the file empty or gone.
/// For what is only worth its cost when it survives a crash of the process: a build cache
/// entry, which a reader that cannot parse it treats as missing.
pub fn replace_in(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = TempFile::in_dir(dir, path);
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o644).open(&temp.path)?;
    file.write_all(bytes)?;
    drop(file);
    temp.commit(path)
}

fn write_atomic_via(temp: TempFile, path: &Path, bytes: &[u8]) -> io::Result<()> {
    // The new file keeps the old one's permission bits (an executable script stays executable).
    let mode = fs::metadata(path).ok().filter(|m| m.is_file()).map(|m| m.permissions().mode() & 0o7777);
    let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(mode.unwrap_or(0o644)).open(&temp.path)?;
    file.write_all(bytes)?;
    if let Some(mode) = mode {
        // create_new's mode went through the umask; set the old one exactly.
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    file.sync_all()?;
    drop(file);
    temp.commit(path)?;
    // The rename itself is durable once the directory is synced; failing that is not an error.
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("imgopt-fsio-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("mkdir");
        dir
    }

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let dir = scratch("kinds");
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
        for (path, kind) in
            [(fifo.as_path(), "a FIFO"), (Path::new("/dev/zero"), "a character device"), (dir.as_path(), "a directory")]
        {
            match read_regular(path, 10) {
                Err(FileError::NotRegular { kind: k, .. }) => assert_eq!(k, kind),
                other => panic!("{}: {other:?}", path.display()),
            }
        }
        fs::write(dir.join("big"), [0u8; 11]).expect("write");
        assert!(matches!(read_regular(&dir.join("big"), 10), Err(FileError::TooLarge { size: 11, .. })));
        assert_eq!(read_regular(&dir.join("big"), 11).expect("read").len(), 11);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn atomic_write_keeps_the_mode_and_leaves_no_temporary_file() {
        let dir = scratch("atomic");
        let file = dir.join("Dockerfile");
        fs::write(&file, "old").expect("write");
        fs::set_permissions(&file, fs::Permissions::from_mode(0o751)).expect("chmod");
        write_atomic(&file, b"new").expect("atomic");
        assert_eq!(fs::read(&file).expect("read"), b"new");
        assert_eq!(fs::metadata(&file).expect("meta").permissions().mode() & 0o7777, 0o751);
        assert_eq!(fs::read_dir(&dir).expect("ls").count(), 1);
        let _ = fs::remove_dir_all(&dir);
    }
}
