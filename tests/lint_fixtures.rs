//! Edge cases per rule: `testdata/lint/fixtures/CODE-what.Dockerfile`. Lines after a
//! `# flagged` comment must be reported by rule CODE, and no other line may be.
//! Comment lines `# config: <toml>` give the `.imgopt.toml` settings the fixture is linted
//! with (one TOML line each); an opt-in rule is turned on for its own fixtures.
//! `# .dockerignore: PATTERN` lines give the fixture a build context with that `.dockerignore`.

use std::path::Path;

use imgopt::lint::config::Config;
use imgopt::lint::lint_text;
use imgopt::syntax::LineIndex;

#[test]
fn fixtures_are_flagged_exactly_where_marked() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/lint/fixtures");
    let mut entries: Vec<_> =
        std::fs::read_dir(&dir).expect("fixtures dir").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    assert!(!entries.is_empty());
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let code = name.split('-').next().unwrap_or_default();
        assert!(imgopt::lint::rules::find(code).is_some(), "{name}: no rule {code}");
        let text = std::fs::read_to_string(&path).expect("fixture");
        let lines: Vec<&str> = text.lines().collect();
        let expected: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with("# flagged"))
            .filter_map(|(i, _)| (i + 1..lines.len()).find(|&j| !lines[j].trim_start().starts_with('#')).map(|j| j + 1))
            .collect();
        let config: String =
            lines.iter().filter_map(|l| l.strip_prefix("# config: ")).map(|l| format!("{l}\n")).collect();
        let config: Config = toml::from_str(&config).unwrap_or_else(|e| panic!("{name}: bad `# config:` lines: {e}"));
        let mut settings = config.settings_for(Path::new("Dockerfile"));
        settings.extend_select.push(code.to_string());
        settings.dockerignore = imgopt::lint::rules::example_dockerignore(&text).map(std::sync::Arc::new);
        let index = LineIndex::new(&text);
        let mut got: Vec<usize> = lint_text(&text, &settings)
            .iter()
            .filter(|d| d.code == code)
            .map(|d| index.line_col(&text, d.span.start).0)
            .collect();
        got.dedup();
        assert_eq!(got, expected, "{name}");
    }
}
