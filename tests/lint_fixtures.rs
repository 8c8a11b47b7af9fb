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

/// Every fix of every fixture and rule example, safe and unsafe, applied together: the result
/// parses (when the input did), runs no shell command more often than the input did (a
/// command the fixes add, at most once), and a second `--fix` changes nothing.
#[test]
fn all_fixes_together_parse_compose_and_are_stable() {
    use imgopt::lint::fix::fix_text;
    use imgopt::lint::{Applicability, Settings};

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/lint/fixtures");
    let mut inputs: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path())
        .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).expect("fixture")))
        .collect();
    for rule in imgopt::lint::rules::RULES {
        inputs.push((format!("{} bad", rule.meta.code), rule.meta.bad.to_string()));
        inputs.push((format!("{} good", rule.meta.code), rule.meta.good.to_string()));
    }
    // Issue 14: a cleanup appended by one fix was appended again by the join of the next RUN.
    inputs.push((
        "apt cleanup in the next RUN".into(),
        "FROM debian:12\nRUN apt-get update && apt-get install -y curl\nRUN rm -rf /var/lib/apt/lists/*\n".into(),
    ));
    let settings = Settings::default();
    let mut fixed_files = 0;
    for (name, text) in &inputs {
        let once = fix_text(text, &settings, Applicability::Unsafe);
        if once.applied.is_empty() {
            continue;
        }
        fixed_files += 1;
        if imgopt::syntax::parse(text).is_ok() {
            assert!(imgopt::syntax::parse(&once.text).is_ok(), "{name}: the fixed text does not parse:\n{}", once.text);
        }
        let (before, after) = (commands(text), commands(&once.text));
        for (command, n) in &after {
            let had = before.iter().find(|(c, _)| c == command).map_or(0, |(_, n)| *n);
            assert!(
                *n <= had.max(1),
                "{name}: `{command}` runs {n} times after the fixes, {had} before:\n{}",
                once.text
            );
        }
        let twice = fix_text(&once.text, &settings, Applicability::Unsafe);
        assert_eq!(twice.text, once.text, "{name}: a second --fix changed the text (applied {:?})", twice.applied);
    }
    assert!(fixed_files >= 20, "only {fixed_files} inputs had a fix");
}

/// How many times each shell command (its text, whitespace runs made single spaces) is run.
fn commands(text: &str) -> Vec<(String, usize)> {
    let source = imgopt::model::document::Source::from_text("Dockerfile", text);
    let Ok(df) = source.document() else { return Vec::new() };
    let scripts = imgopt::model::run_script::run_scripts(&df);
    let mut counts: Vec<(String, usize)> = Vec::new();
    for cmd in imgopt::model::run_script::all_commands(&scripts) {
        let command = df.text[cmd.span()].split_whitespace().collect::<Vec<_>>().join(" ");
        match counts.iter_mut().find(|(c, _)| *c == command) {
            Some((_, n)) => *n += 1,
            None => counts.push((command, 1)),
        }
    }
    counts
}
