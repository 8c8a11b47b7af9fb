//! `imgopt lint` as a user runs it: exit codes, stdin, config discovery, --fix writing files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn imgopt(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgopt"));
    cmd.current_dir(dir).args(args).env_remove("GITHUB_ACTIONS").env("XDG_CONFIG_HOME", dir.join(".no-user-config"));
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("imgopt runs");
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("imgopt finishes")
}

fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("imgopt-lint-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, content).expect("write");
    }
    dir
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn exit_codes_and_threshold() {
    let dir =
        scratch("exit", &[("Dockerfile", "FROM alpine:3.20\nRUN a\nRUN b\n"), ("ok/Dockerfile", "FROM alpine:3.20\n")]);
    let o = imgopt(&dir, &["lint", "--output-format", "concise"], None);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert_eq!(stdout(&o), "Dockerfile:3:1: IMG201 consecutive RUN instructions make a layer each\n");
    // IMG201 is info: a warning threshold passes.
    assert_eq!(imgopt(&dir, &["lint", "--failure-threshold", "warning"], None).status.code(), Some(0));
    assert_eq!(imgopt(&dir, &["lint", "--exit-zero"], None).status.code(), Some(0));
    assert_eq!(imgopt(&dir, &["lint", "ok"], None).status.code(), Some(0));
    assert_eq!(imgopt(&dir, &["lint", "missing"], None).status.code(), Some(2));
    assert_eq!(imgopt(&dir, &["lint", "--failure-threshold", "loud"], None).status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stdin_with_filename_and_syntax_error_is_a_finding() {
    let dir = scratch("stdin", &[]);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let o = imgopt(
        &dir,
        &["lint", "-", "--stdin-filename", "svc/Dockerfile", "--output-format", "concise"],
        Some("FROM a:1\nRUNN x\n"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).starts_with("svc/Dockerfile:2:1: IMG100 "), "{}", stdout(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn nearest_config_wins_and_hadolint_yaml_is_honoured() {
    let dir = scratch(
        "config",
        &[
            (".imgopt.toml", "ignore = [\"IMG201\"]\n"),
            ("a/Dockerfile", "FROM alpine:3.20\nRUN a\nRUN b\nWORKDIR x\n"),
            ("b/.hadolint.yaml", "ignored:\n  - DL3000\n"),
            ("b/Dockerfile", "FROM alpine:3.20\nRUN a\nRUN b\nWORKDIR x\n"),
        ],
    );
    let o = imgopt(&dir, &["lint", "--output-format", "concise"], None);
    assert_eq!(
        stdout(&o),
        "a/Dockerfile:4:9: IMG101 WORKDIR `x` is relative to the base image's working directory\n\
         b/Dockerfile:3:1: IMG201 consecutive RUN instructions make a layer each\n"
    );
    let o = imgopt(&dir, &["lint", "--isolated", "--output-format", "concise", "a"], None);
    assert_eq!(stdout(&o).lines().count(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_exclude_holds_for_paths_named_explicitly() {
    let bad = "FROM alpine:3.20\nRUN a\nRUN b\n";
    let dir = scratch(
        "exclude",
        &[(".imgopt.toml", "exclude = [\"vendor/**\"]\n"), ("vendor/lib/Dockerfile", bad), ("app/Dockerfile", bad)],
    );
    let concise = ["lint", "--output-format", "concise"];
    // Walking the tree, and naming the file as pre-commit does, from the root and from below.
    let o = imgopt(&dir, &concise, None);
    assert_eq!(stdout(&o), "app/Dockerfile:3:1: IMG201 consecutive RUN instructions make a layer each\n");
    let o = imgopt(&dir, &[&concise[..], &["vendor/lib/Dockerfile"]].concat(), None);
    assert_eq!((o.status.code(), stdout(&o)), (Some(0), String::new()));
    let o = imgopt(&dir.join("vendor"), &[&concise[..], &["lib/Dockerfile"]].concat(), None);
    assert_eq!((o.status.code(), stdout(&o)), (Some(0), String::new()));
    let o = imgopt(&dir, &[&concise[..], &["--fix", "vendor/lib/Dockerfile", "app/Dockerfile"]].concat(), None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(dir.join("vendor/lib/Dockerfile")).expect("read"), bad);
    // stdin under an excluded name is passed through untouched.
    let o =
        imgopt(&dir, &[&concise[..], &["--fix", "--stdin-filename", "vendor/x/Dockerfile", "-"]].concat(), Some(bad));
    assert_eq!((o.status.code(), stdout(&o)), (Some(0), bad.to_string()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fix_writes_the_file_and_diff_does_not() {
    let before = "FROM alpine:3.20 as build\nADD app /app\n";
    let dir = scratch("fix", &[("Dockerfile", before)]);
    let o = imgopt(&dir, &["lint", "--diff"], None);
    let diff = stdout(&o);
    assert!(diff.contains("\n-ADD app /app\n") && diff.contains("\n+COPY app /app\n"), "{diff}");
    assert_eq!(std::fs::read_to_string(dir.join("Dockerfile")).expect("read"), before);
    let o = imgopt(&dir, &["lint", "--fix"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("Dockerfile")).expect("read"),
        "FROM alpine:3.20 AS build\nCOPY app /app\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 14: with --diff the file is not changed, so the findings point into it as it is, not
/// into the fixed text (where the deleted RUN moved the second FROM up a line).
#[test]
fn diff_positions_refer_to_the_file_on_disk() {
    // The first stage ships (the last is built on it), so its repeated RUN is reported (IMG201).
    let before = "FROM debian:12 AS base\nRUN apt-get update\nRUN apt-get update\nFROM base\nUSER root\n";
    let dir = scratch("diff-positions", &[("Dockerfile", before)]);
    let o = imgopt(&dir, &["lint", "--diff", "--unsafe-fixes", "--format", "concise"], None);
    let out = stdout(&o);
    assert!(out.contains("\n-RUN apt-get update\n"), "the diff deletes the repeated RUN: {out}");
    assert!(out.contains("Dockerfile:5:6: IMG403 "), "USER root is on line 5 of the file: {out}");
    assert!(!out.contains("Dockerfile:4:6:"), "{out}");
    assert_eq!(std::fs::read_to_string(dir.join("Dockerfile")).expect("read"), before);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 14: `lint --help` sent the user to a source file for the JSON schema; it names the doc,
/// and the doc names every field the JSON output has.
#[test]
fn json_schema_is_documented_in_docs() {
    let help = stdout(&imgopt(Path::new("."), &["lint", "--help"], None));
    assert!(help.contains("docs/lint-json.md") && !help.contains(".rs`"), "{help}");
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/lint-json.md")).expect("doc");
    let dir = scratch("json-doc", &[("Dockerfile", "FROM alpine:3.20\nRUN a\nRUN b\nWORKDIR app\n")]);
    let out: serde_json::Value =
        serde_json::from_slice(&imgopt(&dir, &["lint", "--format", "json", "--unsafe-fixes"], None).stdout)
            .expect("JSON");
    fn keys(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => m.iter().for_each(|(k, v)| {
                out.push(k.clone());
                keys(v, out);
            }),
            serde_json::Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    keys(&out, &mut all);
    assert!(all.contains(&"edits".to_string()), "the sample has a fix: {out}");
    for key in all {
        assert!(doc.contains(&format!("\"{key}\"")), "docs/lint-json.md does not name `{key}`");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 14: in a directory without a Dockerfile, lint said nothing; it says so (still exit 0).
#[test]
fn no_dockerfile_found_is_said() {
    let dir = scratch("none-found", &[("README.md", "hello\n"), ("src/main.rs", "fn main() {}\n")]);
    let o = imgopt(&dir, &["lint"], None);
    assert_eq!(o.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("no Dockerfile found in ."), "{stderr}");
    let o = imgopt(&dir, &["lint", "src"], None);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no Dockerfile found in src"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 14: `--format` is the flag of every command that prints something in several forms;
/// the older spellings (`lint --output-format`, `parse --json`, `rules --json`) stay as aliases.
#[test]
fn format_is_the_one_flag_name() {
    let dir = scratch("format-flag", &[("Dockerfile", "FROM alpine:3.20\nRUN a\nRUN b\n")]);
    let json = |args: &[&str]| {
        let o = imgopt(&dir, args, None);
        let text = stdout(&o);
        let first = text.lines().next().unwrap_or_default().to_string();
        assert!(
            serde_json::from_str::<serde_json::Value>(&text).is_ok()
                || serde_json::from_str::<serde_json::Value>(&first).is_ok(),
            "{args:?}: {text} {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    json(&["lint", "--format", "json"]);
    json(&["lint", "--output-format", "json"]);
    json(&["parse", "--format", "json", "Dockerfile"]);
    json(&["parse", "--json", "Dockerfile"]);
    json(&["rules", "--format", "json"]);
    json(&["rules", "--json"]);
    for command in ["lint", "analyze", "images", "parse", "rules"] {
        let help = stdout(&imgopt(&dir, &[command, "--help"], None));
        assert!(help.contains("--format <"), "{command} --help: {help}");
    }
    let lint_help = stdout(&imgopt(&dir, &["lint", "--help"], None));
    assert!(lint_help.contains("[aliases: --output-format]") || lint_help.contains("[alias: --output-format]"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 14: a typo in `.imgopt.toml` printed every finding, then blamed the Dockerfile. The
/// config is checked before any file is linted: exit 2, no finding printed, and the error names
/// the config file, shows the bad value's line and lists the values allowed.
#[test]
fn a_bad_config_value_is_reported_before_linting_at_its_place() {
    let dir = scratch(
        "bad-config",
        &[
            (".imgopt.toml", "select = [\"IMG2\"]\nfailure-threshold = \"warnin\"\n"),
            ("Dockerfile", "FROM alpine:3.20\nRUN a\nRUN b\n"),
        ],
    );
    let o = imgopt(&dir, &["lint", "--format", "concise"], None);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert_eq!(stdout(&o), "", "nothing is linted");
    for part in [
        "imgopt::lint::config",
        ".imgopt.toml",
        "failure-threshold = \"warnin\"",
        "not a severity",
        "error, warning, info, style, none",
    ] {
        assert!(stderr.contains(part), "`{part}` not in: {stderr}");
    }
    assert!(!stderr.contains("Dockerfile:"), "{stderr}");
    // A bad severity in [severity] is pointed at the same way, with the values it takes.
    std::fs::write(dir.join(".imgopt.toml"), "[severity]\nIMG201 = \"loud\"\n").expect("write");
    let o = imgopt(&dir, &["lint"], None);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("IMG201 = \"loud\"") && stderr.contains("`warning`"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 14: errors came in three styles (`imgopt: ...`, `Error: imgopt::image::io ×`, `Error: ×`
/// without a code). Every command reports an error as a miette report with a code.
#[test]
fn every_error_is_a_report_with_a_code() {
    let dir = scratch("errors", &[("Dockerfile", "FROM alpine:3.20\n")]);
    let cases: &[&[&str]] = &[
        &["lint", "missing"],
        &["lint", "--failure-threshold", "loud"],
        &["lint", "--select", "NOPE"],
        &["lint", "--context", "no-such-dir", "Dockerfile"],
        &["lint", "--config", "missing.toml", "Dockerfile"],
        &["explain", "NOPE"],
        &["parse", "missing"],
        &["analyze", "--image", "foo:bar:baz"],
        &["analyze", "--image", "oci:no-such-dir"],
        &["analyze", "--platform", "a/b/c/d", "--image", "oci:no-such-dir"],
        &["analyze", "--image", "oci:no-such-dir", "--ci-config", "missing.yaml"],
    ];
    for args in cases {
        let o = imgopt(&dir, args, None);
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("Error: imgopt::"), "{args:?}: no code: {stderr}");
        assert!(!stderr.lines().any(|l| l.starts_with("imgopt: ")), "{args:?}: plain style: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn explain_and_rules() {
    let dir = std::env::temp_dir();
    let o = imgopt(&dir, &["explain", "JSONArgsRecommended"], None);
    assert!(stdout(&o).starts_with("# IMG104 `json-args-recommended`"));
    assert_eq!(imgopt(&dir, &["explain", "NOPE"], None).status.code(), Some(2));
    let rules: serde_json::Value =
        serde_json::from_str(&stdout(&imgopt(&dir, &["rules", "--json"], None))).expect("json");
    assert_eq!(rules.as_array().map(Vec::len), Some(imgopt::lint::rules::RULES.len()));
}

#[test]
fn github_format_is_the_default_under_github_actions() {
    let dir = scratch("gha", &[("Dockerfile", "FROM alpine:3.20\nWORKDIR app\n")]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgopt"));
    let o = cmd.current_dir(&dir).args(["lint", "--isolated"]).env("GITHUB_ACTIONS", "true").output().expect("runs");
    assert_eq!(
        stdout(&o),
        "::warning file=Dockerfile,line=2,endLine=2,col=9,endColumn=12,title=IMG101 workdir-relative-path::\
         WORKDIR `app` is relative to the base image's working directory%0Ahelp: use an absolute path, e.g. `WORKDIR /app`\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn copy_sources_are_checked_against_the_context_ignore_file() {
    let df = "FROM alpine:3.20\nCOPY app/ /app/\nCOPY notes.md /\n";
    let dir = scratch(
        "dockerignore",
        &[
            ("svc/Dockerfile", df),
            ("svc/.dockerignore", "# build output\napp\n"),
            ("svc/api.Dockerfile", df),
            ("svc/api.Dockerfile.dockerignore", "*.md\n"),
            ("other/.dockerignore", "notes.md\napp\n"),
        ],
    );
    let concise = ["lint", "--output-format", "concise", "--select", "IMG138"];
    // Default context: the Dockerfile's directory; `api.Dockerfile.dockerignore` comes first for api.Dockerfile.
    let o = imgopt(&dir, &concise, None);
    assert_eq!(
        stdout(&o),
        "svc/Dockerfile:2:6: IMG138 Attempting to Copy file \"app\" that is excluded by .dockerignore\n\
         svc/api.Dockerfile:3:6: IMG138 Attempting to Copy file \"notes.md\" that is excluded by api.Dockerfile.dockerignore\n"
    );
    // --context: that directory's .dockerignore, still after the Dockerfile's own.
    let o = imgopt(&dir, &[&concise[..], &["--context", "other", "svc"]].concat(), None);
    assert_eq!(
        stdout(&o),
        "svc/Dockerfile:2:6: IMG138 Attempting to Copy file \"app\" that is excluded by .dockerignore\n\
         svc/Dockerfile:3:6: IMG138 Attempting to Copy file \"notes.md\" that is excluded by .dockerignore\n\
         svc/api.Dockerfile:3:6: IMG138 Attempting to Copy file \"notes.md\" that is excluded by api.Dockerfile.dockerignore\n"
    );
    // A context without an ignore file: nothing to report.
    let o = imgopt(&dir, &[&concise[..], &["--context", ".", "svc/Dockerfile"]].concat(), None);
    assert_eq!((o.status.code(), stdout(&o)), (Some(0), String::new()));
    // Stdin: the directory of --stdin-filename, else the current directory, unless --context.
    let o = imgopt(&dir, &[&concise[..], &["-", "--stdin-filename", "svc/Dockerfile"]].concat(), Some(df));
    assert_eq!(stdout(&o).lines().count(), 1, "{}", stdout(&o));
    let o = imgopt(&dir.join("other"), &[&concise[..], &["-"]].concat(), Some(df));
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));
    let o = imgopt(&dir, &[&concise[..], &["-"]].concat(), Some(df));
    assert_eq!((o.status.code(), stdout(&o)), (Some(0), String::new()));
    let o = imgopt(&dir, &[&concise[..], &["-", "--context", "other"]].concat(), Some(df));
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));
    // The help names the option; a context that is not a directory is a usage error.
    let o = imgopt(&dir, &["lint", "--help"], None);
    assert!(stdout(&o).contains("--context <DIR>"), "{}", stdout(&o));
    let o = imgopt(&dir, &["lint", "--context", "missing", "svc"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--context: no such directory: missing"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn selectors_that_name_no_rule() {
    let dir = scratch("selectors", &[("Dockerfile", "FROM alpine\n")]);
    // A typo in --select would select nothing and pass: it is an error.
    let o = imgopt(&dir, &["lint", "--select", "IMG1O2", "Dockerfile"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--select: `IMG1O2` names no rule"));
    let o = imgopt(&dir, &["lint", "--extend-select", "healthcheck-mising", "Dockerfile"], None);
    assert_eq!(o.status.code(), Some(2));
    // An unknown --ignore (say a ShellCheck code from a hadolint setup) only warns.
    let o = imgopt(&dir, &["lint", "--format", "concise", "--ignore", "SC2086", "Dockerfile"], None);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--ignore: `SC2086` names no rule"));
    assert!(stdout(&o).contains("IMG102"));
}
