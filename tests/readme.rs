//! The README shows what a newcomer will see: its lint excerpt is imgopt's real output, and the
//! files and commands it names exist.

mod common;

use std::path::Path;
use std::process::Command;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn readme() -> String {
    std::fs::read_to_string(Path::new(REPO).join("README.md")).expect("README.md")
}

#[test]
fn lint_excerpt_is_the_real_output() {
    let readme = readme();
    let command = "$ imgopt lint --format concise testdata/demo/Dockerfile\n";
    let excerpt = readme.split(command).nth(1).and_then(|s| s.split("\n```").next()).expect("the lint excerpt");
    let out = Command::new(env!("CARGO_BIN_EXE_imgopt"))
        .args(["lint", "--format", "concise", "testdata/demo/Dockerfile"])
        .current_dir(REPO)
        .env("XDG_CONFIG_HOME", std::env::temp_dir().join("imgopt-readme-no-config"))
        .output()
        .expect("imgopt runs");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), excerpt, "update the README's lint excerpt");
}

#[test]
fn named_files_exist() {
    let readme = readme();
    for path in [
        "scripts/demo",
        "scripts/test",
        "benches/lint_vs_peers.sh",
        "benches/analyze_vs_dive.sh",
        "benches/compare_hadolint.py",
        "benches/parse_corpus.rs",
        "benches/lint_corpus.rs",
        "benches/shell_bench.rs",
        "fuzz/fuzz_targets/read_dockerfile.rs",
        "rules/README.md",
        "docs/analyze-json.md",
        "docs/lint-json.md",
        "action.yml",
        ".pre-commit-hooks.yaml",
        "tests/rule_docs.rs",
    ] {
        let name = path.rsplit('/').next().expect("name").trim_end_matches(".rs");
        assert!(readme.contains(name), "README does not mention {path}");
        assert!(Path::new(REPO).join(path).exists(), "README names {path}, which is missing");
    }
    let rules = std::fs::read_dir(Path::new(REPO).join("rules"))
        .expect("rules/")
        .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().starts_with("IMG")))
        .count();
    assert!(readme.contains(&format!("({rules} rules")), "README's rule count is not {rules}");
}

/// Run by [`a_skipped_test_says_so_in_a_plain_cargo_test_run`] in a child process.
#[test]
fn skip_probe() {
    let _ = common::corpus("skip_probe");
}

/// Issue 14: the README says the corpus tests print SKIPPED, which held only with --nocapture.
/// This test binary run again as `cargo test` runs it (output captured), without the corpus:
/// the skip shows.
#[test]
fn a_skipped_test_says_so_in_a_plain_cargo_test_run() {
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "skip_probe", "--test-threads=1"])
        .env_remove("IMGOPT_CORPUS")
        .env_remove("CI")
        .output()
        .expect("test binary runs");
    assert!(out.status.success());
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("SKIPPED: skip_probe: IMGOPT_CORPUS is unset"), "{all}");
    assert!(readme().contains("SKIPPED"), "the README says what to look for");
}

/// Issue 14: the tagline said "lint, analyze, rewrite" before there was a rewriter. The
/// commands the tagline (`imgopt --help`, Cargo.toml's description) names are commands imgopt has.
#[test]
fn the_tagline_names_only_commands_that_exist() {
    let help = Command::new(env!("CARGO_BIN_EXE_imgopt")).arg("--help").output().expect("imgopt runs");
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .expect("a command list")
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .take_while(|w| *w != "Options:")
        .collect();
    let manifest = std::fs::read_to_string(Path::new(REPO).join("Cargo.toml")).expect("Cargo.toml");
    let description = manifest.lines().find(|l| l.starts_with("description")).expect("description").to_string();
    for tagline in [help.lines().next().unwrap_or_default(), description.as_str()] {
        let named = tagline.rsplit(':').next().unwrap_or_default();
        let named: Vec<&str> = named.split([',', '.', '"']).map(str::trim).filter(|w| !w.is_empty()).collect();
        assert!(!named.is_empty(), "{tagline}");
        for command in named {
            assert!(commands.contains(&command), "the tagline names `{command}`, not a command: {tagline}");
        }
    }
}
