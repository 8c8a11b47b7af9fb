//! BuildKit's own parser test files: every `testfiles/*/Dockerfile` must reproduce BuildKit's
//! `result` dump (at the level of BuildKit's parser package, `syntax::read_lines`), every
//! `testfiles-negative/*/Dockerfile` must be rejected.

mod common;

use imgopt::syntax;

#[test]
fn buildkit_testfiles_reproduce_the_dump() {
    let Some(corpus) = common::corpus("buildkit_testfiles_reproduce_the_dump") else { return };
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in common::sorted_dir(&corpus.join("buildkit-parser/testfiles")) {
        let bytes = std::fs::read(case.join("Dockerfile")).unwrap();
        let expected = std::fs::read_to_string(case.join("result")).unwrap();
        let text = syntax::decode(&bytes).unwrap();
        match syntax::read_lines(syntax::strip_bom(text).0) {
            Ok(df) => {
                let got = syntax::dump::dump(&df);
                if got.trim_end() != expected.trim_end().replace("\r\n", "\n") {
                    failures.push(format!("{}:\n--- expected\n{expected}\n--- got\n{got}", case.display()));
                }
            }
            Err(e) => failures.push(format!("{}: rejected: {e} (line {})", case.display(), e.line)),
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} BuildKit test cases found");
    assert!(failures.is_empty(), "{} of {checked} differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn buildkit_negative_testfiles_are_rejected() {
    let Some(corpus) = common::corpus("buildkit_negative_testfiles_are_rejected") else { return };
    let cases = common::sorted_dir(&corpus.join("buildkit-parser/testfiles-negative"));
    assert!(cases.len() >= 4);
    for case in cases {
        let bytes = std::fs::read(case.join("Dockerfile")).unwrap();
        let text = syntax::decode(&bytes).unwrap();
        // BuildKit's parser package already rejects them, so both levels must.
        let text = syntax::strip_bom(text).0;
        assert!(syntax::read_lines(text).is_err(), "{} was read", case.display());
        assert!(syntax::parse(text).is_err(), "{} was accepted", case.display());
    }
}
