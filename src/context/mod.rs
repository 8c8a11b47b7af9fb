//! The build context: the directory a build reads COPY and ADD sources from, less what its
//! ignore file leaves out. The linter reads it to check COPY sources; a builder sending the
//! context uses the same lookup and matcher.

pub mod dockerignore;

use std::path::{Path, PathBuf};

pub use dockerignore::{Dockerignore, Pattern, PatternError};

/// The name BuildKit looks for at the root of the context.
pub const DOCKERIGNORE: &str = ".dockerignore";

/// The ignore file that applies to `dockerfile` built with the context `context`, as BuildKit
/// picks it: `<Dockerfile name>.dockerignore` beside the Dockerfile (`app.Dockerfile` →
/// `app.Dockerfile.dockerignore`) when there is one, even empty, else `.dockerignore` at the
/// root of the context. None when neither exists. A Dockerfile named `-` (stdin) has no file of
/// its own.
pub fn ignore_file_path(dockerfile: &Path, context: &Path) -> Option<PathBuf> {
    let own = dockerfile.file_name().filter(|name| *name != "-").map(|name| {
        let mut own = name.to_os_string();
        own.push(".dockerignore");
        dockerfile.with_file_name(own)
    });
    let shared = context.join(DOCKERIGNORE);
    let found = own.into_iter().chain([shared]).find(|p| p.is_file())?;
    // `./.dockerignore` reads better as `.dockerignore`.
    Some(found.strip_prefix(".").map_or_else(|_| found.clone(), Path::to_path_buf))
}

/// The directory a Dockerfile's own directory names: `.` for a bare file name.
pub fn directory_of(dockerfile: &Path) -> PathBuf {
    match dockerfile.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// An ignore file read for a lint or a build.
#[derive(Debug, Clone)]
pub struct IgnoreFile {
    /// Where it was read from (as found: relative when the context was given relative).
    pub path: PathBuf,
    /// Its patterns, or why a build would fail on it (unreadable, or a line it refuses).
    pub rules: Result<Dockerignore, String>,
}

impl IgnoreFile {
    /// Reads the ignore file at `path`.
    pub fn load(path: &Path) -> IgnoreFile {
        // The build context comes from the pull request: `.dockerignore` may be a FIFO or /dev/zero.
        let rules = match crate::fsio::read_regular(path, 1 << 20) {
            Ok(bytes) => Dockerignore::parse(&String::from_utf8_lossy(&bytes)).map_err(|e| e.to_string()),
            Err(e) => Err(format!("cannot read it: {e}")),
        };
        IgnoreFile { path: path.to_path_buf(), rules }
    }

    /// An ignore file with the text `text`, as if read from `path`.
    pub fn from_text(path: impl Into<PathBuf>, text: &str) -> IgnoreFile {
        IgnoreFile { path: path.into(), rules: Dockerignore::parse(text).map_err(|e| e.to_string()) }
    }

    /// The file name, for messages (`.dockerignore`, `app.Dockerfile.dockerignore`).
    pub fn name(&self) -> String {
        self.path.file_name().map_or_else(|| self.path.display().to_string(), |n| n.to_string_lossy().into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerfile_specific_ignore_file_comes_first() {
        let dir = std::env::temp_dir().join(format!("imgopt-context-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sub = dir.join("sub");
        std::fs::create_dir_all(&sub).expect("mkdir");
        let df = sub.join("app.Dockerfile");
        assert_eq!(ignore_file_path(&df, &dir), None);
        std::fs::write(dir.join(".dockerignore"), "x\n").expect("write");
        assert_eq!(ignore_file_path(&df, &dir), Some(dir.join(".dockerignore")));
        // The context's file, not the Dockerfile's directory's.
        assert_eq!(ignore_file_path(&df, &sub), None);
        // An empty Dockerfile-specific file still wins.
        std::fs::write(sub.join("app.Dockerfile.dockerignore"), "").expect("write");
        assert_eq!(ignore_file_path(&df, &dir), Some(sub.join("app.Dockerfile.dockerignore")));
        assert_eq!(ignore_file_path(Path::new("-"), &dir), Some(dir.join(".dockerignore")));
        let loaded = IgnoreFile::load(&sub.join("app.Dockerfile.dockerignore"));
        assert_eq!(loaded.name(), "app.Dockerfile.dockerignore");
        assert!(loaded.rules.is_ok_and(|r| r.patterns().is_empty()));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn directory_of_a_bare_name_is_the_current_directory() {
        assert_eq!(directory_of(Path::new("Dockerfile")), PathBuf::from("."));
        assert_eq!(directory_of(Path::new("a/b/Dockerfile")), PathBuf::from("a/b"));
    }
}
