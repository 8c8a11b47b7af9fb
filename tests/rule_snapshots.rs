//! Snapshot of each rule on its own `bad` example: every message, help and fix as the user
//! sees them, and the fixed file as a diff (all of the rule's fixes, safe and unsafe). One
//! file per rule in `testdata/lint/snapshots/CODE.snap`; `IMGOPT_BLESS=1 cargo test --test
//! rule_snapshots` rewrites them; review the diff.

use std::fmt::Write as _;
use std::path::Path;

use imgopt::lint::config::Config;
use imgopt::lint::fix::{fix_text, unified_diff};
use imgopt::lint::rules::{example_dockerignore, RULES};
use imgopt::lint::{lint_text, Applicability};
use imgopt::syntax::LineIndex;

fn snapshot(rule: &imgopt::lint::rules::Rule) -> String {
    let meta = &rule.meta;
    let config: Config = toml::from_str(meta.config).expect("example config");
    let mut settings = config.settings_for(Path::new("Dockerfile"));
    settings.select = vec![meta.code.to_string()];
    settings.dockerignore = example_dockerignore(meta.bad).map(std::sync::Arc::new);
    let text = meta.bad;
    let lines = LineIndex::new(text);
    let at = |offset: usize| {
        let (line, col) = lines.line_col(text, offset);
        format!("{line}:{col}")
    };
    let mut out = format!("{} {}\n", meta.code, meta.name);
    for d in lint_text(text, &settings) {
        writeln!(out, "\n{} {}: {}", at(d.span.start), d.code, d.message).unwrap();
        if let Some(help) = &d.help {
            writeln!(out, "  help: {help}").unwrap();
        }
        for r in &d.related {
            writeln!(out, "  related {}: {}", at(r.span.start), r.message).unwrap();
        }
        if let Some(fix) = &d.fix {
            writeln!(out, "  fix ({:?}): {}", fix.applicability, fix.description).unwrap();
        }
    }
    let fixed = fix_text(text, &settings, Applicability::Unsafe);
    if fixed.text != text {
        write!(out, "\n{}", unified_diff("Dockerfile", text, &fixed.text)).unwrap();
    }
    out
}

#[test]
fn each_rule_reports_and_fixes_its_bad_example_as_snapshotted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/lint/snapshots");
    let bless = std::env::var_os("IMGOPT_BLESS").is_some();
    if bless {
        std::fs::create_dir_all(&dir).expect("snapshot dir");
    }
    let mut stale = Vec::new();
    for rule in RULES {
        let path = dir.join(format!("{}.snap", rule.meta.code));
        let got = snapshot(rule);
        if bless {
            std::fs::write(&path, &got).expect("write snapshot");
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if got != expected {
            stale.push(format!("--- {}\n{expected}\n+++ got\n{got}", path.display()));
        }
    }
    let files = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(files, RULES.len(), "one snapshot per rule in {}", dir.display());
    assert!(stale.is_empty(), "snapshots differ (IMGOPT_BLESS=1 to rewrite, then review):\n{}", stale.join("\n"));
}
