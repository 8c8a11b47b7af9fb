//! Which files `imgopt lint` looks at: Dockerfiles found under the given directories
//! (respecting `.gitignore`), plus files named explicitly whatever their name.

use std::path::{Path, PathBuf};

/// `Dockerfile`, `Containerfile`, `*.Dockerfile`, `*.dockerfile`, `Dockerfile.*`, `Dockerfile-*`.
pub fn is_dockerfile_name(name: &str) -> bool {
    name == "Dockerfile"
        || name == "Containerfile"
        || name == "dockerfile"
        || name.ends_with(".Dockerfile")
        || name.ends_with(".dockerfile")
        || name.starts_with("Dockerfile.")
        || name.starts_with("Dockerfile-")
        || name.starts_with("Containerfile.")
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DiscoverError {
    #[error("no such file or directory: {0}")]
    #[diagnostic(code(imgopt::io))]
    NotFound(PathBuf),
    #[error("cannot walk {path}: {message}")]
    #[diagnostic(code(imgopt::io))]
    Walk { path: PathBuf, message: String },
}

/// The Dockerfiles to lint, sorted and without duplicates.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, DiscoverError> {
    let mut files = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut files)?,
            // A FIFO or a device named on the command line is linted, and refused when read
            // (`is a FIFO, not a regular file`), not reported as missing.
            Ok(_) => files.push(path.clone()),
            Err(_) => return Err(DiscoverError::NotFound(path.clone())),
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// The ignore files the walk reads in each directory (`ignore`'s `.gitignore`, `.ignore` and
/// git's `info/exclude`), at most this large.
const IGNORE_FILES: &[&str] = &[".gitignore", ".ignore", ".git/info/exclude"];
const MAX_IGNORE_FILE_BYTES: u64 = 1 << 20;

/// Why the ignore files of `dir` must not be read: one is not a regular file (a FIFO would
/// block the walk for ever, `/dev/zero` would be read without end) or is too large.
fn unsafe_ignore_file(dir: &Path) -> Option<String> {
    IGNORE_FILES.iter().find_map(|name| {
        let path = dir.join(name);
        let meta = std::fs::metadata(&path).ok()?;
        if !meta.is_file() {
            return Some(format!("{} is not a regular file", path.display()));
        }
        (meta.len() > MAX_IGNORE_FILE_BYTES)
            .then(|| format!("{} is {} bytes, more than {MAX_IGNORE_FILE_BYTES}", path.display(), meta.len()))
    })
}

fn walk(root: &Path, files: &mut Vec<PathBuf>) -> Result<(), DiscoverError> {
    let refuse = |message: String| DiscoverError::Walk { path: root.to_path_buf(), message };
    // The walk reads the ignore files of the root's parents too.
    let absolute = root.canonicalize().map_err(|e| refuse(e.to_string()))?;
    if let Some(message) = absolute.ancestors().find_map(unsafe_ignore_file) {
        return Err(refuse(message));
    }
    // A directory is checked before the walk enters it (and reads its ignore files); the first
    // refusal ends the walk.
    let refused = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let seen = refused.clone();
    // Hidden directories are searched (`.devcontainer/Dockerfile` is common); `.git` is not.
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .filter_entry(move |e| {
            if e.file_name() == ".git" {
                return false;
            }
            if e.file_type().is_some_and(|t| t.is_dir()) {
                if let Some(message) = unsafe_ignore_file(e.path()) {
                    if let Ok(mut slot) = seen.lock() {
                        slot.get_or_insert(message);
                    }
                    return false;
                }
            }
            true
        })
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| DiscoverError::Walk { path: root.to_path_buf(), message: e.to_string() })?;
        let is_file = entry.file_type().is_some_and(|t| t.is_file());
        if is_file && is_dockerfile_name(&entry.file_name().to_string_lossy()) {
            let path = entry.into_path();
            // `imgopt lint` in a directory reports `svc/Dockerfile`, not `./svc/Dockerfile`.
            files.push(path.strip_prefix(".").map(Path::to_path_buf).unwrap_or(path));
        }
    }
    match refused.lock().ok().and_then(|mut slot| slot.take()) {
        Some(message) => Err(refuse(message)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for yes in
            ["Dockerfile", "Containerfile", "api.Dockerfile", "x.dockerfile", "Dockerfile.dev", "Dockerfile-prod"]
        {
            assert!(is_dockerfile_name(yes), "{yes}");
        }
        for no in ["README", "dockerfile.rs", "Makefile", "MyDockerfile"] {
            assert!(!is_dockerfile_name(no), "{no}");
        }
    }

    #[test]
    fn walks_respecting_gitignore() {
        let dir = std::env::temp_dir().join(format!("imgopt-discover-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in ["Dockerfile", "svc/api.Dockerfile", ".devcontainer/Dockerfile", "build/Dockerfile", "notes.txt"] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, "FROM scratch\n").expect("write");
        }
        std::fs::write(dir.join(".gitignore"), "build/\n").expect("write");
        let found: Vec<String> = discover(std::slice::from_ref(&dir))
            .expect("walk")
            .iter()
            .map(|p| p.strip_prefix(&dir).expect("under dir").to_string_lossy().into_owned())
            .collect();
        assert_eq!(found, [".devcontainer/Dockerfile", "Dockerfile", "svc/api.Dockerfile"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
