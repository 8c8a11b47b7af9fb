//! `imgopt lint` over every file of the shared corpus, in one process: no panic, every file gets
//! a report, and applying every fix (unsafe ones too) never turns a parsing file into one that
//! does not parse.

mod common;

use std::collections::BTreeMap;

use imgopt::lint::render::{render, Format};
use imgopt::lint::run::{lint_files, ConfigSource, FixMode, Overrides};
use imgopt::lint::Applicability;

#[test]
fn lint_and_fix_the_whole_corpus() {
    let Some(corpus) = common::corpus("lint_and_fix_the_whole_corpus") else {
        return;
    };
    let files = common::sorted_dir(&corpus.join("dockerfiles"));
    assert!(files.len() > 100, "corpus has {} files", files.len());

    let results = lint_files(&files, &ConfigSource::None, &Overrides::default(), FixMode::None);
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for (file, result) in files.iter().zip(&results) {
        let linted = result.as_ref().unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for d in &linted.report.diagnostics {
            *by_code.entry(d.code).or_default() += 1;
            assert!(d.span.end <= linted.report.text.len(), "{}: span past the end", file.display());
        }
    }
    eprintln!("linted {} files: {by_code:?}", files.len());

    // Every renderer over every report: spans at odd places (end of file, empty) must not panic.
    let reports: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).map(|l| l.report.clone()).collect();
    for format in [
        Format::Full,
        Format::Concise,
        Format::Json,
        Format::Sarif,
        Format::Github,
        Format::Checkstyle,
        Format::Markdown,
    ] {
        let mut out = Vec::new();
        render(format, &reports, false, &mut out).unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert!(!out.is_empty(), "{format:?} wrote nothing");
    }

    let fixed = lint_files(&files, &ConfigSource::None, &Overrides::default(), FixMode::Diff(Applicability::Unsafe));
    let mut applied = 0;
    for (file, result) in files.iter().zip(fixed) {
        let linted = result.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let outcome = linted.fixed.expect("fix mode yields an outcome");
        applied += outcome.applied.len();
        let was_valid = imgopt::syntax::parse(&linted.original).is_ok();
        if was_valid {
            assert!(imgopt::syntax::parse(&outcome.text).is_ok(), "{}: fixes broke parsing", file.display());
        }
        assert!(outcome.rolled_back.is_empty(), "{}: fixes rolled back: {:?}", file.display(), outcome.rolled_back);
    }
    eprintln!("applied {applied} fixes");
}
