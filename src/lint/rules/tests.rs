//! Generic checks over the registry: every rule is documented, codes and names are unique, the
//! bad example is reported exactly where marked and the good example is clean.

use std::sync::Arc;

use super::{example_dockerignore, RULES};
use crate::lint::config::Config;
use crate::lint::{lint_text, Settings};
use crate::syntax::LineIndex;

/// The rule's example config, and the `.dockerignore` the example stands for.
fn settings_for(config: &str, example: &str) -> Settings {
    let config: Config = toml::from_str(config).unwrap_or_else(|e| panic!("example config does not parse: {e}"));
    let mut settings = config.settings_for(std::path::Path::new("Dockerfile"));
    settings.dockerignore = example_dockerignore(example).map(Arc::new);
    settings
}

/// 1-based lines that follow a `# flagged` marker (the next non-comment line).
fn marked_lines(text: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with("# flagged") {
            if let Some(j) = (i + 1..lines.len()).find(|&j| !lines[j].trim_start().starts_with('#')) {
                out.push(j + 1);
            }
        }
    }
    out
}

#[test]
fn codes_and_names_are_unique_and_well_formed() {
    for (i, a) in RULES.iter().enumerate() {
        let m = &a.meta;
        assert!(m.code.starts_with("IMG") && m.code.len() == 6, "{}", m.code);
        assert!(m.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{}", m.name);
        for field in [m.summary, m.why, m.bad, m.good] {
            assert!(!field.trim().is_empty(), "{} lacks documentation", m.code);
        }
        for b in &RULES[i + 1..] {
            assert_ne!(m.code, b.meta.code);
            assert_ne!(m.name, b.meta.name);
        }
    }
}

#[test]
fn the_registry_is_sorted_by_code_and_lists_every_rule_file() {
    let codes: Vec<&str> = RULES.iter().map(|r| r.meta.code).collect();
    assert!(codes.windows(2).all(|w| w[0] < w[1]), "RULES is not in code order: {codes:?}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lint/rules");
    let mut declared: Vec<String> = std::fs::read_dir(&dir)
        .expect("rules dir")
        .map(|e| e.expect("entry").path())
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            let code = text.split("code: \"").nth(1)?.split('"').next()?.to_string();
            text.contains("pub static RULE: Rule").then_some(code)
        })
        .collect();
    declared.sort();
    assert_eq!(declared, codes, "a rule file is missing from RULES (or listed twice)");
}

#[test]
fn bad_examples_are_flagged_where_marked_and_good_examples_are_clean() {
    for rule in RULES {
        let m = &rule.meta;
        let mut settings = settings_for(m.config, m.bad);
        if m.opt_in {
            let off = lint_text(m.bad, &settings);
            assert!(off.iter().all(|d| d.code != m.code), "{}: opt-in rule ran unasked", m.code);
            settings.extend_select.push(m.code.to_string());
        }
        let expected = marked_lines(m.bad);
        assert!(!expected.is_empty(), "{}: bad example has no `# flagged` marker", m.code);
        let index = LineIndex::new(m.bad);
        let mut got: Vec<usize> = lint_text(m.bad, &settings)
            .iter()
            .filter(|d| d.code == m.code)
            .map(|d| index.line_col(m.bad, d.span.start).0)
            .collect();
        got.dedup();
        assert_eq!(got, expected, "{}: findings on lines {got:?}, marked {expected:?}", m.code);
        let good: Vec<_> =
            lint_text(m.good, &settings_for(m.config, m.good)).into_iter().filter(|d| d.code == m.code).collect();
        assert!(good.is_empty(), "{}: good example reported: {good:?}", m.code);
    }
}

/// LABEL keys and values written after a continuation (BuildKit reads them on the logical
/// line, continuations removed): each finding's span is the key or value as written.
#[test]
fn label_spans_after_continuations_are_in_the_source() {
    let settings = settings_for(
        "strict-labels = true\n[label-schema]\n\"org.opencontainers.image.version\" = \"semver\"\n\"a.url\" = \"url\"\n",
        "",
    );
    let text = "FROM alpine:3.20\nLABEL org.opencontainers.image.version=\"1.2.3\" \\\n  # a comment\n\n  €€€=x \\\t\n      a.url=\"not a url €\" \\\n      org.opencontainers.image.version=\"1.2\"\n";
    let found: Vec<(&str, &str)> = lint_text(text, &settings)
        .iter()
        .filter(|d| ["IMG509", "IMG512", "IMG513"].contains(&d.code))
        .map(|d| {
            let span = &text
                .get(d.span.clone())
                .unwrap_or_else(|| panic!("{} span {:?} is not on char boundaries", d.code, d.span));
            (d.code, *span)
        })
        .collect();
    assert_eq!(
        found,
        [("IMG509", "€€€"), ("IMG512", "€€€"), ("IMG513", "\"not a url €\""), ("IMG513", "\"1.2\"")],
        "{found:?}"
    );
}

/// BuildKit removes a label key's quotes, single or double.
#[test]
fn quoted_label_keys_are_the_schema_keys() {
    let settings = settings_for("strict-labels = true\n[label-schema]\n\"version\" = \"semver\"\n", "");
    let text = "FROM alpine:3.20\nLABEL 'version'=1.2 \"version\"=1.3\n";
    let codes: Vec<&str> =
        lint_text(text, &settings).iter().map(|d| d.code).filter(|c| c.starts_with("IMG51")).collect();
    assert_eq!(codes, ["IMG513", "IMG513"]);
}

/// IMG511's fix adds `--progress`, which BusyBox wget rejects: safe only where the base's wget
/// is known to be GNU's.
#[test]
fn wget_progress_fix_is_safe_only_on_gnu_bases() {
    use crate::lint::Applicability;
    let applicability = |text: &str| {
        lint_text(text, &Settings::default())
            .into_iter()
            .filter(|d| d.code == "IMG511")
            .map(|d| d.fix.map(|f| f.applicability))
            .collect::<Vec<_>>()
    };
    let run = "RUN wget -O /tmp/a https://example.com/a\n";
    assert_eq!(applicability(&format!("FROM debian:12\n{run}")), [Some(Applicability::Safe)]);
    assert_eq!(applicability(&format!("FROM python:3.12-slim\n{run}")), [Some(Applicability::Safe)]);
    assert_eq!(applicability(&format!("FROM corp/base\nRUN apt-get update\n{run}")), [Some(Applicability::Safe)]);
    assert_eq!(applicability(&format!("FROM alpine:3.20\nRUN apk add wget\n{run}")), [Some(Applicability::Safe)]);
    assert_eq!(applicability(&format!("FROM corp/base\n{run}")), [Some(Applicability::Unsafe)]);
    assert_eq!(applicability(&format!("FROM alpine:3.20\n{run}")), []);
}
