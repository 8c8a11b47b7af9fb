//! The pre-commit hooks of `.pre-commit-hooks.yaml` run by the real `pre-commit try-repo` in a
//! temp git repository with bad Dockerfiles: the lint hook fails with the findings, the fix hook
//! rewrites and fails, the second run passes. The `-system` hooks run the binary under test (on
//! PATH); the `language: rust` hook builds imgopt from source once (slow, so in one test); the
//! `-wheel` hooks (`language: python`) install the imgopt-bin wheel built here, which pip finds
//! where PyPI would serve it in a release.

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

/// `pre-commit try-repo` of this checkout's `hook`; `-system` hooks find the binary under test on
/// PATH. `env` is for pip (where the wheel is).
fn try_repo(dir: &Path, tmp: &Path, hook: &str, env: &[(&str, &str)]) -> (Output, String) {
    let mut path = std::env::var("PATH").unwrap_or_default();
    if hook.ends_with("-system") {
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_imgopt")).parent().expect("bin dir").to_path_buf();
        path = format!("{}:{path}", bin_dir.display());
    }
    let out = Command::new("pre-commit")
        .args(["try-repo", REPO, hook, "--all-files", "--color", "never"])
        .current_dir(dir)
        .envs(env.iter().copied())
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

    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-system", &[]);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("Dockerfile:2:1: IMG115"), "{log}");
    assert!(log.contains("Dockerfile-prod:2:5: IMG203"), "{log}");
    assert!(log.contains("svc/api.dockerfile:2:10: IMG110"), "{log}");
    assert!(!log.contains("vendor/"), "excluded by .imgopt.toml: {log}");

    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-fix-system", &[]);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("files were modified by this hook"), "{log}");
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).expect("read");
    assert_eq!(read("Dockerfile"), "FROM alpine:3.20\nCOPY app.py /app/app.py\n");
    assert_eq!(read("svc/api.dockerfile"), "FROM alpine:3.20\nCOPY a b /dst/\n");
    assert_eq!(read("vendor/Dockerfile"), "FROM alpine:3.20\nADD x /x\n");

    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-fix-system", &[]);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-system", &[]);
    assert_eq!(out.status.code(), Some(0), "{log}");
}

#[test]
fn rust_hooks_build_from_source() {
    if !ready() {
        return;
    }
    let tmp = common::TempDir::new("pre-commit-rust");
    let dir = project(&tmp.0);
    let (out, log) = try_repo(&dir, &tmp.0, "imgopt", &[]);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("Dockerfile:2:1: IMG115"), "{log}");
    assert!(log.contains("Dockerfile-prod:2:5: IMG203"), "{log}");
    // The fix hook shares the environment pre-commit built for the lint hook.
    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-fix", &[]);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("files were modified by this hook"), "{log}");
    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-fix", &[]);
    assert_eq!(out.status.code(), Some(0), "{log}");
}

#[test]
fn wheel_hooks_install_the_prebuilt_wheel() {
    if !ready() || !common::need(&["maturin"], "python3 -m pip install maturin") {
        return;
    }
    let wheel = common::dist::wheel();
    let wheels = wheel.parent().expect("wheel dir").to_str().expect("UTF-8 path");
    // pip finds imgopt-bin in the directory of the wheel built here, and nowhere else. No index:
    // nothing comes from PyPI, and no build backend could be fetched to compile imgopt (the
    // shim's in-tree backend needs none), so the hook's imgopt is the wheel's. (try-repo removes
    // the hook's environment when it is done, so it is not looked into.)
    let pip = [("PIP_FIND_LINKS", wheels), ("PIP_NO_INDEX", "1")];
    let tmp = common::TempDir::new("pre-commit-wheel");
    let dir = project(&tmp.0);
    let started = std::time::Instant::now();
    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-wheel", &pip);
    println!("imgopt-wheel hook, environment included: {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("Dockerfile:2:1: IMG115"), "{log}");
    assert!(log.contains("Dockerfile-prod:2:5: IMG203"), "{log}");
    assert!(!log.contains("vendor/"), "excluded by .imgopt.toml: {log}");

    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-fix-wheel", &pip);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("files were modified by this hook"), "{log}");
    assert_eq!(
        std::fs::read_to_string(dir.join("Dockerfile")).expect("read"),
        "FROM alpine:3.20\nCOPY app.py /app/app.py\n"
    );
    let (out, log) = try_repo(&dir, &tmp.0, "imgopt-fix-wheel", &pip);
    assert_eq!(out.status.code(), Some(0), "{log}");
}
