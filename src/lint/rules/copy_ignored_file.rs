use super::{Rule, RuleMeta};
use crate::context::dockerignore::{clean, context_path};
use crate::context::Dockerignore;
use crate::lint::checker::Checker;
use crate::model::expand_word;
use crate::model::instruction::Command;
use crate::model::state::fold_stage;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG138",
        name: "copy-ignored-file",
        buildkit: Some("CopyIgnoredFile"),
        summary: "COPY or ADD of a path that the build context's `.dockerignore` leaves out.",
        why: "The builder never sends what `.dockerignore` excludes, so a COPY of it fails with \"not found\" (or, for a directory, copies only what an exception brings back). Either the ignore file or the COPY is wrong.",
        bad: "# .dockerignore: node_modules\n# .dockerignore: *.md\nFROM node:22-alpine\nWORKDIR /app\n# flagged: *.md leaves README.md out of the context\nCOPY package.json README.md ./\n",
        good: "# .dockerignore: node_modules\n# .dockerignore: *.md\n# .dockerignore: !README.md\nFROM node:22-alpine\nWORKDIR /app\nCOPY package.json README.md ./\n",
        notes: "The ignore file is the one BuildKit picks: `NAME.dockerignore` beside Dockerfile `NAME` (`app.Dockerfile.dockerignore`), else `.dockerignore` at the root of the context. `imgopt lint --context DIR` names the context; by default it is the Dockerfile's directory (for stdin, the directory of `--stdin-filename`, else the current one). Without an ignore file the rule finds nothing. In the examples, `# .dockerignore: PATTERN` lines stand for the ignore file's lines.\n\nAs in BuildKit, each source of a COPY or ADD without `--from` is matched after variable expansion (sources with a variable the stage does not define are skipped), URLs and here-documents are not, and a wildcard source is matched as written (`*.md` is reported when a pattern such as `*.md` or `*` matches that text). `.` is reported only when a pattern is `*`, `**` or `**/*`. Unlike BuildKit, which skips the check when the ignore file has any `!` exception, imgopt reports a source whose exclusion no later exception can undo for it or for anything below it, and skips only wildcard sources there. Sources are matched where they land in the context (`/app` and `../app` as `app`), where BuildKit misses them. An ignore file the builder refuses (an unclosed `[`, a bare `!`) is reported at the first COPY from the context, where the build would fail. BuildKit runs this check only when experimental checks are enabled.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    let Some(ignore) = cx.settings.dockerignore.as_deref() else {
        return;
    };
    let name = ignore.name();
    // An ignore file the builder refuses is reported once, at the first COPY from the context.
    let mut refused = false;
    for stage in &cx.model.stages {
        // The variables a source expands with: the stage's state before that instruction.
        fold_stage(cx.df, stage, |index, state| {
            let Some(Command::Copy(copy)) = cx.df.command(index) else { return };
            if refused || !copy.from_context() {
                return;
            }
            let command = if copy.is_add { "Add" } else { "Copy" };
            for word in copy.paths() {
                let source = if word.text.contains(['$', '\'', '"', cx.df.escape]) {
                    // The fold's variables, borrowed: no copy of the scope per COPY.
                    match expand_word(&word.text, state.vars(), cx.df.escape) {
                        Ok(e) if e.unset.is_empty() => e.value,
                        _ => continue,
                    }
                } else {
                    word.text.clone()
                };
                if source.contains("://") || source.starts_with("git@") {
                    continue;
                }
                let rules = match &ignore.rules {
                    Ok(rules) => rules,
                    Err(error) => {
                        cx.report(word.span.clone(), format!("the build fails here: {name} cannot be used ({error})"))
                            .help(format!("BuildKit refuses this ignore file; correct {}", ignore.path.display()));
                        refused = true;
                        return;
                    }
                };
                if let Some((line, pattern)) = excluded_by(rules, &source) {
                    cx.report(
                        word.span.clone(),
                        format!("Attempting to {command} file {:?} that is excluded by {name}", clean(&source)),
                    )
                    .help(format!(
                        "line {line} of {name} (`{pattern}`) excludes it: narrow or remove that pattern, or do not {} it",
                        command.to_ascii_lowercase()
                    ));
                }
            }
        });
        if refused {
            return;
        }
    }
}

/// The line and pattern that leave `source` out of the context, entirely.
fn excluded_by(rules: &Dockerignore, source: &str) -> Option<(usize, String)> {
    let path = context_path(source);
    if path == "." {
        // The context root: only a pattern that takes every entry of the root (BuildKit's test).
        let takes_all = rules.patterns().iter().any(|p| !p.exception && matches!(p.text.as_str(), "*" | "**" | "**/*"));
        if !takes_all {
            return None;
        }
    }
    if has_wildcards(source) && rules.has_exceptions() {
        return None;
    }
    rules.excludes_all_of(&path).map(|p| (p.line, p.text.clone()))
}

/// BuildKit's `containsWildcards`: `*`, `?` or `[` not escaped by `\`.
fn has_wildcards(source: &str) -> bool {
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' | '[' => return true,
            '\\' => {
                chars.next();
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::context::IgnoreFile;
    use crate::lint::{lint_text, Settings};

    /// (line, message) of the findings of this rule on `dockerfile` with `.dockerignore` text `ignore`.
    fn findings(ignore: &str, dockerfile: &str) -> Vec<(usize, String)> {
        let settings = Settings {
            select: vec!["IMG138".into()],
            dockerignore: Some(Arc::new(IgnoreFile::from_text(".dockerignore", ignore))),
            ..Settings::default()
        };
        let index = crate::syntax::LineIndex::new(dockerfile);
        lint_text(dockerfile, &settings)
            .into_iter()
            .map(|d| (index.line_col(dockerfile, d.span.start).0, d.message.into_owned()))
            .collect()
    }

    fn lines(ignore: &str, dockerfile: &str) -> Vec<usize> {
        findings(ignore, dockerfile).into_iter().map(|(l, _)| l).collect()
    }

    #[test]
    fn message_like_buildkit_and_span_on_the_source() {
        let df = "FROM scratch\nCOPY ./tmp/helloworld.txt /helloworld.txt\nADD a.txt tmp /x/\n";
        let settings = Settings {
            dockerignore: Some(Arc::new(IgnoreFile::from_text(".dockerignore", "*/tmp/*\ntmp\n"))),
            ..Settings::default()
        };
        let found: Vec<_> = lint_text(df, &settings).into_iter().filter(|d| d.code == "IMG138").collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(
            found[0].message,
            "Attempting to Copy file \"tmp/helloworld.txt\" that is excluded by .dockerignore"
        );
        assert_eq!(&df[found[0].span.clone()], "./tmp/helloworld.txt");
        assert_eq!(
            found[0].help.as_deref(),
            Some("line 2 of .dockerignore (`tmp`) excludes it: narrow or remove that pattern, or do not copy it")
        );
        assert_eq!(found[1].message, "Attempting to Add file \"tmp\" that is excluded by .dockerignore");
        assert_eq!(&df[found[1].span.clone()], "tmp");
    }

    #[test]
    fn only_context_sources() {
        let ignore = "secret\n";
        let df = "FROM alpine AS a\nCOPY --from=a secret /x\nADD https://example.com/secret /x\nCOPY <<secret /x\nhi\nsecret\nONBUILD COPY secret /x\nCOPY [\"secret\", \"/x\"]\nCOPY --chown=1 secret/ /x\n";
        assert_eq!(lines(ignore, df), [8, 9]);
    }

    #[test]
    fn sources_are_cleaned_and_placed_in_the_context() {
        let ignore = "app/build\n";
        let df = "FROM alpine\nCOPY app/build/ /a\nCOPY ./app/./build/bin /b\nCOPY /app/build /c\nCOPY app/x/../build /d\nCOPY app /e\nCOPY app/buildx /f\n";
        assert_eq!(lines(ignore, df), [2, 3, 4, 5]);
    }

    #[test]
    fn variables_expand_with_the_stage_scope() {
        let ignore = "dist\n";
        let df = "FROM alpine\nARG OUT=dist\nENV SRC=src\nCOPY $OUT /a\nCOPY ${SRC} /b\nARG UNSET\nCOPY $UNSET/x /c\nCOPY $HOME /d\nCOPY \"dist\" /e\n";
        assert_eq!(lines(ignore, df), [4, 9]);
        assert_eq!(findings(ignore, df)[0].1, "Attempting to Copy file \"dist\" that is excluded by .dockerignore");
    }

    #[test]
    fn wildcard_sources_are_matched_as_written() {
        assert_eq!(lines("*.md\n", "FROM a\nCOPY *.md /d/\n"), [2]);
        assert_eq!(lines("*\n", "FROM a\nCOPY *.md /d/\n"), [2]);
        assert!(lines("README.md\n", "FROM a\nCOPY *.md /d/\n").is_empty());
        assert!(lines("*.md\n!README.md\n", "FROM a\nCOPY *.md /d/\n").is_empty());
    }

    #[test]
    fn the_context_root_needs_a_pattern_that_takes_everything() {
        let df = "FROM a\nCOPY . /app\nCOPY ./ /app\nCOPY / /app\n";
        assert_eq!(lines("*\n", df), [2, 3, 4]);
        assert_eq!(lines("**\n", df), [2, 3, 4]);
        assert_eq!(lines("**/*\n", df), [2, 3, 4]);
        assert!(lines(".*\n?\n.\n", df).is_empty());
        assert!(lines("*\n!src\n", df).is_empty());
    }

    #[test]
    fn exceptions() {
        let ignore = "*\n!src\n!package.json\nsrc/secret\n";
        let df = "FROM a\nCOPY package.json src /a/\nCOPY README.md /b\nCOPY src/secret/key /c\nCOPY src/lib /d\n";
        assert_eq!(lines(ignore, df), [3, 4]);
        // An excluded directory with a file brought back: copying the directory is fine.
        assert!(lines("docs\n!docs/keep.md\n", "FROM a\nCOPY docs /d\n").is_empty());
        assert_eq!(lines("docs\n!docs/keep.md\n", "FROM a\nCOPY docs/other.md /d\n"), [2]);
    }

    #[test]
    fn an_ignore_file_the_builder_refuses_is_reported_once_where_the_context_is_read() {
        let df = "FROM a\nCOPY <<EOF /x\nhi\nEOF\nRUN true\nCOPY a /a\nCOPY b /b\n";
        let found = findings("ok\n[\n", df);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 6);
        assert_eq!(
            found[0].1,
            "the build fails here: .dockerignore cannot be used (line 2: syntax error in pattern `[`)"
        );
    }

    #[test]
    fn check_directive_skips_it() {
        let df = "# check=skip=CopyIgnoredFile\nFROM a\nCOPY secret /x\n";
        assert!(lines("secret\n", df).is_empty());
        assert_eq!(lines("secret\n", "FROM a\nCOPY secret /x\n"), [2]);
    }

    #[test]
    fn without_an_ignore_file_nothing_is_reported() {
        let settings = Settings::default();
        assert!(lint_text("FROM a\nCOPY x /x\n", &settings).iter().all(|d| d.code != "IMG138"));
    }
}
