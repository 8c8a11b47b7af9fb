//! The pre-commit hooks of `.pre-commit-hooks.yaml` run by the real `pre-commit try-repo` in a
//! temp git repository with bad Dockerfiles: the lint hook fails with the findings, the fix hook
//! rewrites and fails, the second run passes. The `-system` hooks run the binary under test (on
//! PATH); the `language: rust` hook builds imgopt from source once (slow, so in one test).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::git;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn ready() -> bool {
    common::need(&["pre-commit", "git"], "python3 -m pip install pre-commit")
}

/// A repository with Dockerfiles under names identify does and does not tag as dockerfile,
/// each with findings that safe fixes remove, and an excluded bad one.
fn project(tmp: &Path) -> PathBuf {
    let dir = tmp.join("project");
    let files = [
        ("Dockerfile", "FROM alpine:3.20\nADD app.py /app/app.py\n"),
        ("Dockerfile-prod", "FROM alpine:3.20\nRUN apk add curl=8.5.0-r0\n"),
        ("svc/api.dockerfile", "FROM alpine:3.20\nCOPY a b /dst\n"),
        ("vendor/Dockerfile", "FROM alpine:3.20\nADD x /x\n"),
        (".imgopt.toml", "exclude = [\"vendor/**\"]\n"),
        ("README.md", "not a Dockerfile\n"),
    ];
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "."]);
    dir
}

fn try_repo(dir: &Path, tmp: &Path, hook: &str) -> (Output, String) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_imgopt")).parent().expect("bin dir").to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("pre-commit")
        .args(["try-repo", REPO, hook, "--all-files", "--color", "never"])
        .current_dir(dir)
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", tmp.join("pre-commit-home"))
        // The rust hook's `cargo install` keeps its build here, so reruns are incremental.
        .env("CARGO_TARGET_DIR", Path::new(REPO).join("target/pre-commit-hook"))
        .env("XDG_CONFIG_HOME", tmp.join("no-user-config"))
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("pre-commit runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, text)
}

#[test]
fn system_hooks_lint_fix_then_pass() {
    if !ready() {
        return;
    }
    let tmp = common::TempDir::new("pre-commit-system");
    let dir = project(&tmp.0);

    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-system");
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("Dockerfile:2:1: IMG115"), "{log}");
    assert!(log.contains("Dockerfile-prod:2:5: IMG203"), "{log}");
    assert!(log.contains("svc/api.dockerfile:2:10: IMG110"), "{log}");
    assert!(!log.contains("vendor/"), "excluded by .imgopt.toml: {log}");

    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-fix-system");
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("files were modified by this hook"), "{log}");
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).expect("read");
    assert_eq!(read("Dockerfile"), "FROM alpine:3.20\nCOPY app.py /app/app.py\n");
    assert_eq!(read("svc/api.dockerfile"), "FROM alpine:3.20\nCOPY a b /dst/\n");
    assert_eq!(read("vendor/Dockerfile"), "FROM alpine:3.20\nADD x /x\n");

    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-fix-system");
    assert_eq!(out.status.code(), Some(0), "{log}");
    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-system");
    assert_eq!(out.status.code(), Some(0), "{log}");
}

#[test]
fn rust_hooks_build_from_source() {
    if !ready() {
        return;
    }
    let tmp = common::TempDir::new("pre-commit-rust");
    let dir = project(&tmp.0);
    let (out, log) = try_repo(&dir, &tmp.0, "imgopt");
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("Dockerfile:2:1: IMG115"), "{log}");
    assert!(log.contains("Dockerfile-prod:2:5: IMG203"), "{log}");
    // The fix hook shares the environment pre-commit built for the lint hook.
    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-fix");
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("files were modified by this hook"), "{log}");
    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-fix");
    assert_eq!(out.status.code(), Some(0), "{log}");
}
