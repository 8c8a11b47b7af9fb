//! One fixture per reading rule in `testdata/parse/` (directives, escape token,
//! continuations, heredocs, JSON fallback, every instruction's arguments) and
//! `testdata/parse/invalid/` (what BuildKit rejects). Each `NAME.Dockerfile` has a reviewed
//! `NAME.expected`: the `imgopt parse --json` object, pretty-printed, then BuildKit's dump.
//! `IMGOPT_BLESS=1 cargo test --test parse_fixtures` rewrites them; review the diff.

mod common;

use std::path::Path;

use imgopt::commands::parse::file_json;
use imgopt::model::document::Source;
use imgopt::syntax;

fn render(path: &Path) -> (String, bool) {
    let source = Source::read(path).unwrap();
    let result = syntax::parse(source.text());
    let name = path.file_name().unwrap().to_string_lossy();
    let mut out = serde_json::to_string_pretty(&file_json(&name, result.as_ref().map_err(Some))).unwrap();
    out.push('\n');
    if let Ok(df) = &result {
        out.push_str(&syntax::dump::dump(df));
    }
    (out, result.is_ok())
}

fn check_dir(dir: &Path, expect_ok: bool) -> usize {
    let bless = std::env::var_os("IMGOPT_BLESS").is_some();
    let mut n = 0;
    for path in common::sorted_dir(dir) {
        if path.extension().and_then(|e| e.to_str()) != Some("Dockerfile") {
            continue;
        }
        let (got, ok) = render(&path);
        let expected_path = path.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, &got).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("{} is missing (IMGOPT_BLESS=1 writes it)", expected_path.display()));
        assert_eq!(got, expected, "{} differs from its .expected", path.display());
        assert_eq!(ok, expect_ok, "{}", path.display());
        n += 1;
    }
    n
}

#[test]
fn valid_fixtures_read_as_expected() {
    assert!(check_dir(Path::new("testdata/parse"), true) >= 6);
}

#[test]
fn invalid_fixtures_are_rejected_where_expected() {
    assert!(check_dir(Path::new("testdata/parse/invalid"), false) >= 9);
}

#[test]
fn parse_command_exit_codes() {
    // 0 every file parsed, 1 a file is not a valid Dockerfile, 2 a file cannot be read.
    let run = |files: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_imgopt"))
            .arg("parse")
            .args(files)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("imgopt runs");
        out.status.code()
    };
    let valid = "testdata/parse/directives.Dockerfile";
    let invalid = "testdata/parse/invalid/unknown-flag.Dockerfile";
    assert_eq!(run(&[valid]), Some(0));
    assert_eq!(run(&[valid, invalid]), Some(1));
    assert_eq!(run(&[invalid, "testdata/parse/no-such-file", valid]), Some(2));
}
