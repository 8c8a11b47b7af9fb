//! `imgopt rewrite` without building: every case of `testdata/rewrite/<transform>/<case>/`
//! is rewritten with that transform alone and must give `expected.Dockerfile` (a case whose
//! name starts with `not-` must give the input unchanged: no `expected.Dockerfile`), read back
//! as a Dockerfile, and change nothing when rewritten again. The whole pipeline runs over
//! `all/` cases and over the shared corpus. `UPDATE_SNAPSHOTS=1` writes the expected files.

use std::path::{Path, PathBuf};

use imgopt::rewrite::{propose, reads_back, Options, TRANSFORMS};

mod common;

fn cases() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rewrite");
    let mut out = Vec::new();
    for transform in std::fs::read_dir(&root).expect("testdata/rewrite") {
        let transform = transform.expect("entry").path();
        let Some(name) = transform.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
        if name == "real" || !transform.is_dir() {
            continue;
        }
        for case in std::fs::read_dir(&transform).expect("cases") {
            let case = case.expect("entry").path();
            if case.join("Dockerfile").is_file() {
                out.push((name.clone(), case));
            }
        }
    }
    out.sort();
    out
}

fn options(transform: &str, case: &Path) -> Options {
    let only = if transform == "all" { Vec::new() } else { vec![transform.to_string()] };
    Options { only, context_dir: Some(case.to_path_buf()) }
}

#[test]
fn every_transform_has_cases_that_rewrite_and_cases_that_must_not() {
    let cases = cases();
    for t in TRANSFORMS.iter() {
        let mine: Vec<_> = cases.iter().filter(|(name, _)| name == t.name).collect();
        let negative =
            mine.iter().filter(|(_, c)| c.file_name().unwrap().to_string_lossy().starts_with("not-")).count();
        assert!(mine.len() > negative, "{}: no case that rewrites", t.name);
        assert!(negative > 0, "{}: no case that must not be rewritten", t.name);
    }
}

#[test]
fn snapshots() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut failures = Vec::new();
    for (transform, case) in cases() {
        let input = std::fs::read_to_string(case.join("Dockerfile")).expect("Dockerfile");
        let options = options(&transform, &case);
        let proposal = propose(&input, &options).expect("proposal");
        let label = format!("{transform}/{}", case.file_name().unwrap().to_string_lossy());
        assert!(proposal.rejected.is_empty(), "{label}: changes that did not read back: {:?}", proposal.rejected);
        assert!(reads_back(&proposal.text), "{label}: the proposal does not parse:\n{}", proposal.text);
        let negative = case.file_name().unwrap().to_string_lossy().starts_with("not-");
        let expected_path = case.join("expected.Dockerfile");
        if negative {
            if proposal.changed() {
                failures.push(format!("{label}: must not be rewritten, got:\n{}", proposal.text));
            }
        } else if update {
            std::fs::write(&expected_path, &proposal.text).expect("write expected");
        } else {
            let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
            if expected != proposal.text {
                failures.push(format!("{label}: expected\n{expected}\ngot\n{}", proposal.text));
            }
            if !proposal.changed() {
                failures.push(format!("{label}: nothing was rewritten"));
            }
        }
        let again = propose(&proposal.text, &options).expect("second proposal");
        if again.changed() {
            failures.push(format!("{label}: a second rewrite changes it again:\n{}", again.text));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

#[test]
fn the_diff_labels_each_hunk_with_its_transform_and_reason() {
    let text = "FROM debian:12\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n\n\n\n\n\n\nLABEL a=b\nADD app.sh /app.sh\n";
    let proposal = propose(text, &Options::default()).expect("proposal");
    let diff = imgopt::rewrite::render::diff("Dockerfile", &proposal);
    let headers: Vec<&str> = diff.lines().filter(|l| l.starts_with("@@")).collect();
    assert_eq!(headers.len(), 2, "{diff}");
    assert!(headers[0].starts_with("@@ -1,6 +1,6 @@ merge-runs: RUN of line 3 joined to the RUN of line 2"), "{diff}");
    assert!(headers[1].contains("add-to-copy: line 11"), "{diff}");
    assert!(!headers[1].contains("merge-runs"), "{diff}");
}

#[test]
fn review_suggestions_replace_exactly_the_lines_each_change_touches() {
    // Three runs of changed lines: the stage named and two RUNs joined (lines 1-3), ADD → COPY
    // (line 5), and a runtime stage appended after the last line (an insertion: the suggestion
    // replaces line 8 with itself and the new lines).
    let text = "FROM debian:12\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*\nWORKDIR /src\nADD hello.c .\nRUN gcc -o /usr/local/bin/hello hello.c\nLABEL a=b\nCMD [\"hello\"]\n";
    let proposal = propose(text, &Options::default()).expect("proposal");
    let review: serde_json::Value =
        serde_json::from_str(&imgopt::rewrite::render::review("Dockerfile", Some(&proposal), "headline"))
            .expect("JSON");
    assert!(review["body"].as_str().unwrap().starts_with("headline"));
    let comments = review["comments"].as_array().unwrap();
    let spans: Vec<(Option<u64>, u64)> =
        comments.iter().map(|c| (c["start_line"].as_u64(), c["line"].as_u64().unwrap())).collect();
    assert_eq!(spans, vec![(Some(1), 3), (None, 5), (None, 8)], "{review:#}");
    let bodies: Vec<&str> = comments.iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert!(bodies[0].contains("**merge-runs**") && bodies[0].contains("**multi-stage**"), "{}", bodies[0]);
    assert!(bodies[0].contains("```suggestion\nFROM debian:12 AS build\nRUN apt-get update \\\n"), "{}", bodies[0]);
    assert!(bodies[1].contains("**add-to-copy**"), "{}", bodies[1]);
    assert!(bodies[1].contains("```suggestion\nCOPY hello.c .\n```"), "{}", bodies[1]);
    // Naming the build stage (line 1) and appending the runtime stage (line 8) are one change:
    // one group, each saying where the other part is; ADD → COPY stands alone.
    let groups: Vec<&serde_json::Value> = comments.iter().map(|c| &c["group"]).collect();
    assert!(groups[0] == groups[2] && groups[0] != groups[1], "{review:#}");
    assert!(
        bodies[0].contains("Part of one change with the suggestions on line 8: apply them together."),
        "{}",
        bodies[0]
    );
    assert!(bodies[2].contains("Part of one change with the suggestions on lines 1-3"), "{}", bodies[2]);
    assert!(!bodies[1].contains("Part of one change"), "{}", bodies[1]);
    // Without a proposal (nothing to propose, or nothing safe) the review has no comments.
    let empty: serde_json::Value =
        serde_json::from_str(&imgopt::rewrite::render::review("Dockerfile", None, "nothing")).expect("JSON");
    assert_eq!(empty["comments"], serde_json::json!([]));
    assert_eq!(empty["body"], "nothing");
    // The insertion keeps the line it is anchored on, then the new stage.
    assert!(bodies[2].contains("```suggestion\nCMD [\"hello\"]\n\nFROM debian:12\nCOPY --from=build /usr/local/bin/hello /usr/local/bin/hello\n"), "{}", bodies[2]);
    // Applied in order, the suggestions give the proposal.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for c in comments.iter().rev() {
        let end = c["line"].as_u64().unwrap() as usize;
        let start = c["start_line"].as_u64().map_or(end, |s| s as usize);
        let body = c["body"].as_str().unwrap();
        let replacement = body.split("```suggestion\n").nth(1).unwrap().trim_end_matches("```\n");
        lines.splice(start - 1..end, replacement.lines().map(str::to_string));
    }
    assert_eq!(lines.join("\n") + "\n", proposal.text);
}

#[test]
fn the_diff_of_a_crlf_file_applies_to_it() {
    let text = "FROM debian:12\r\nRUN apt-get update\r\nRUN apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\r\nADD app.sh /app.sh\r\n";
    let proposal = propose(text, &Options::default()).expect("proposal");
    assert!(proposal.changed());
    let dir = std::env::temp_dir().join(format!("imgopt-crlf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("Dockerfile"), text).expect("write");
    let diff = imgopt::rewrite::render::diff("Dockerfile", &proposal);
    std::fs::write(dir.join("proposal.diff"), &diff).expect("write");
    let out = std::process::Command::new("git")
        .args(["apply", "--unsafe-paths", "-p1", "proposal.diff"])
        .current_dir(&dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git apply: {}\n{diff}", String::from_utf8_lossy(&out.stderr));
    let applied = std::fs::read_to_string(dir.join("Dockerfile")).expect("read");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(applied, proposal.text);
}

/// The whole corpus: every proposal reads back, agrees with BuildKit's reading (it parses with
/// the same reader and every instruction has a typed command), and is a fixed point.
#[test]
fn corpus_proposals_read_back_and_are_fixed_points() {
    let Some(corpus) = common::corpus("corpus_proposals_read_back_and_are_fixed_points") else { return };
    let files = common::sorted_dir(&corpus.join("dockerfiles"));
    let mut failures = Vec::new();
    let mut changed = 0;
    for path in &files {
        let Ok(source) = imgopt::model::document::Source::read(path) else { continue };
        if source.document().is_err() {
            continue;
        }
        let context = Some(path.parent().unwrap_or(Path::new(".")).to_path_buf());
        let options = Options { only: Vec::new(), context_dir: context };
        let proposal = propose(source.text(), &options).expect("proposal");
        if !proposal.rejected.is_empty() {
            failures.push(format!("{}: rejected {:?}", path.display(), proposal.rejected));
        }
        let refused = imgopt::rewrite::refused_instructions(source.text());
        if imgopt::rewrite::refused_instructions(&proposal.text) != refused {
            failures.push(format!("{}: reads differently from the original", path.display()));
        }
        if proposal.changed() {
            changed += 1;
            let again = propose(&proposal.text, &options).expect("again");
            if again.changed() {
                failures.push(format!(
                    "{}: not a fixed point:\n{}",
                    path.display(),
                    imgopt::rewrite::render::diff("again", &again)
                ));
            }
        }
    }
    eprintln!("corpus: {} files, {changed} with a proposal", files.len());
    assert!(changed > 0, "no corpus file got a proposal");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
