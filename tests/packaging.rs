//! What the release publishes besides the binaries (.github/workflows/release.yml): the crate
//! (`cargo install imgopt` builds it from the packaged sources alone, with no git), the imgopt-bin
//! wheel (installed into a fresh virtual environment, it puts a working `imgopt` on PATH), and
//! the release notes from CHANGELOG.md. The wheel and the crate build share cargo's `dist` build
//! with tests/action.rs and tests/pre_commit.rs (tests/common/dist.rs).

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Command;

use common::dist::{dist_build_lock, head_commit, host_target, run_ok, target_dir, wheel, REPO, VERSION};
use common::TempDir;

/// Issue 16 asks for a crate under 2 MB (crates.io itself takes up to 10 MB).
const CRATE_LIMIT_BYTES: u64 = 2_000_000;

#[test]
fn crate_is_small_holds_its_sources_and_builds_alone() {
    if !common::need(&["git"], "apt-get install git") {
        return;
    }
    // The tree may hold uncommitted work while developing; CI's clone is clean either way.
    run_ok(
        Command::new("cargo").args(["package", "--no-verify", "--allow-dirty", "--locked"]).current_dir(REPO),
        "cargo package",
    );
    let krate = target_dir().join(format!("package/imgopt-{VERSION}.crate"));
    let size = std::fs::metadata(&krate).expect("the packaged crate").len();
    println!("packaged crate: {size} bytes");
    assert!(size < CRATE_LIMIT_BYTES, "{} is {size} bytes", krate.display());

    // Unpacked at the same place each run, so that cargo can tell the crate has not changed.
    let unpacked = target_dir().join("crate-check");
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked).expect("mkdir");
    let mut names = Vec::new();
    let mut vcs_info = String::new();
    let bytes = std::fs::read(&krate).expect("read the crate");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let prefix = format!("imgopt-{VERSION}/");
    for entry in archive.entries().expect("a tar.gz") {
        let mut entry = entry.expect("an entry");
        let path = entry.path().expect("a path").to_string_lossy().to_string();
        let name = path.strip_prefix(&prefix).unwrap_or_else(|| panic!("{path} outside {prefix}")).to_string();
        if name == ".cargo_vcs_info.json" {
            // Read here, so written here too (unpacking after reading would write it empty).
            entry.read_to_string(&mut vcs_info).expect("vcs info");
            std::fs::create_dir_all(unpacked.join(&prefix)).expect("mkdir");
            std::fs::write(unpacked.join(&path), &vcs_info).expect("write vcs info");
        } else {
            entry.unpack_in(&unpacked).expect("unpack");
        }
        names.push(name);
    }
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "src/main.rs",
        "src/lib.rs",
        "README.md",
        "CHANGELOG.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
    ] {
        assert!(names.iter().any(|n| n == needed), "{needed} missing from {names:?}");
    }
    let stray: Vec<&String> = names
        .iter()
        .filter(|n| !n.starts_with("src/") && !n.starts_with("LICENSE-") && !n.starts_with("Cargo."))
        .filter(|n| !["build.rs", "README.md", "CHANGELOG.md", ".cargo_vcs_info.json"].contains(&n.as_str()))
        .collect();
    assert!(stray.is_empty(), "not needed to build imgopt: {stray:?}");

    // Built from the unpacked crate, as `cargo install imgopt` does: no git around it, so the
    // commit comes from the .cargo_vcs_info.json that cargo package wrote.
    let commit = head_commit();
    assert!(vcs_info.contains(&format!("\"sha1\": \"{commit}")), "{vcs_info}");
    let _build = dist_build_lock();
    let started = std::time::Instant::now();
    run_ok(
        Command::new("cargo")
            .args(["build", "--profile", "dist", "--locked", "--target", &host_target()])
            .env("CARGO_TARGET_DIR", target_dir())
            .current_dir(unpacked.join(format!("imgopt-{VERSION}"))),
        "cargo build of the packaged crate",
    );
    println!("build of the packaged crate: {:.1} s", started.elapsed().as_secs_f64());
    let binary = target_dir().join(host_target()).join("dist/imgopt");
    let version = run_ok(Command::new(&binary).arg("--version"), "imgopt --version");
    assert_eq!(version.trim(), format!("imgopt {VERSION} ({commit})"));
}

#[test]
fn wheel_installs_into_a_fresh_virtual_environment() {
    if !common::need(&["maturin", "python3", "git"], "python3 -m pip install maturin") {
        return;
    }
    let wheel = wheel();
    println!("wheel: {} ({} bytes)", wheel.display(), std::fs::metadata(wheel).expect("wheel").len());
    let name = wheel.file_name().and_then(|n| n.to_str()).expect("wheel name");
    assert!(name.starts_with(&format!("imgopt_bin-{VERSION}-py3-none-")), "{name}");

    let tmp = TempDir::new("wheel");
    let venv = tmp.path("venv");
    run_ok(Command::new("python3").args(["-m", "venv"]).arg(&venv), "python3 -m venv");
    run_ok(
        Command::new(venv.join("bin/pip")).args(["install", "--no-index", "--quiet"]).arg(wheel),
        "pip install the wheel",
    );
    let imgopt = venv.join("bin/imgopt");
    let version = run_ok(Command::new(&imgopt).arg("--version"), "imgopt --version from the wheel");
    assert_eq!(version.trim(), format!("imgopt {VERSION} ({})", head_commit()));

    std::fs::write(tmp.path("Dockerfile"), "FROM alpine:3.20\nADD app.py /app/app.py\n").expect("write");
    let out = Command::new(&imgopt)
        .args(["lint", "--output-format", "concise", "Dockerfile"])
        .current_dir(&tmp.0)
        .output()
        .expect("imgopt lint runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Dockerfile:2:1: IMG115"), "{text}");
}

#[test]
fn release_notes_are_the_changelog_section_of_the_tag() {
    let tmp = TempDir::new("notes");
    let notes = |tag: &str, changelog: &str| {
        let file = tmp.path("CHANGELOG.md");
        std::fs::write(&file, changelog).expect("write");
        let out = Command::new("bash")
            .arg(Path::new(REPO).join("ci/release/notes.sh"))
            .arg(tag)
            .arg(&file)
            .output()
            .expect("bash runs");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        (out.status.success(), stdout, String::from_utf8_lossy(&out.stderr).to_string())
    };
    let tag = format!("v{VERSION}");
    let changelog = format!(
        "# Changelog\n\n## [Unreleased]\n\n- next\n\n## [{VERSION}] - 2026-12-01\n\n### Added\n- this\n\n## [0.0.1] - 2026-01-01\n\n- old\n\n[{VERSION}]: https://example.com\n"
    );
    assert_eq!(notes(&tag, &changelog), (true, "### Added\n- this\n".to_string(), String::new()));
    // The last section ends before the link references.
    let last = format!("# Changelog\n\n## [{VERSION}] - 2026-12-01\n\n- only\n\n[{VERSION}]: https://example.com\n");
    assert_eq!(notes(&tag, &last).1, "- only\n");

    let (ok, _, err) = notes("v999.0.0", &changelog);
    assert!(!ok && err.contains(&format!("the tag v999.0.0 is not v{VERSION}, the version in Cargo.toml")), "{err}");
    let (ok, _, err) = notes(&tag, "# Changelog\n\n## [Unreleased]\n\n- next\n");
    assert!(!ok && err.contains(&format!("has no section \"## [{VERSION}] - DATE\"")), "{err}");
    let (ok, _, err) = notes(&tag, &format!("## [{VERSION}] - 2026-12-01\n\n## [0.0.1]\n- old\n"));
    assert!(!ok && err.contains("with content"), "{err}");

    // The repository's own changelog keeps an Unreleased section for what is not released yet.
    let own = std::fs::read_to_string(Path::new(REPO).join("CHANGELOG.md")).expect("CHANGELOG.md");
    assert!(own.contains("\n## [Unreleased]\n"), "CHANGELOG.md has no Unreleased section");
}
