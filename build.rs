//! Records the commit imgopt is built from, for `imgopt --version`, as `IMGOPT_LONG_VERSION`
//! ("0.1.0 (0123456789ab)", or just the version when no commit is known). Where it comes from,
//! first match wins:
//! - `IMGOPT_COMMIT` in the environment (release builds in containers where git cannot read the
//!   checkout);
//! - git, in a checkout;
//! - `.cargo_vcs_info.json`, which `cargo package` writes into a crate (crates.io, `cargo install`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    // Any rerun-if line stops cargo from rerunning this on every change to the package's files.
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=IMGOPT_COMMIT");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let commit = std::env::var("IMGOPT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| from_git(&dir))
        .or_else(|| from_vcs_info(&dir));
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    let long = match commit {
        Some(c) => format!("{version} ({})", short(c.trim())),
        None => version,
    };
    println!("cargo:rustc-env=IMGOPT_LONG_VERSION={long}");
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(dir).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

/// HEAD of the checkout that holds this crate (not of some repository above an unpacked crate).
fn from_git(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    // Rebuild when HEAD moves: HEAD itself (a checkout), the branch it names (a commit), and
    // packed-refs (where `git pack-refs` and fetches keep branches).
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", &name]) {
            let path = dir.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    git(dir, &["rev-parse", "HEAD"])
}

/// `{"git": {"sha1": "…"}, "path_in_vcs": ""}`, written by `cargo package`.
fn from_vcs_info(dir: &Path) -> Option<String> {
    let path = dir.join(".cargo_vcs_info.json");
    let text = std::fs::read_to_string(&path).ok()?;
    println!("cargo:rerun-if-changed={}", path.display());
    let (_, rest) = text.split_once("\"sha1\"")?;
    let sha: String = rest
        .trim_start_matches(|c: char| c == ':' || c == '"' || c.is_whitespace())
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (sha.len() >= 7).then_some(sha)
}
