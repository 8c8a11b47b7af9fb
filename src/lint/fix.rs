//! Applying fixes: non-overlapping edits of the allowed applicability, re-linting until nothing
//! more applies (bounded), rolling back any fix whose result no longer parses.

use super::{lint_text, Applicability, Diagnostic, Edit, Fix, Settings};

/// At most this many lint-and-fix rounds: fixes that keep enabling each other stop here.
const MAX_ROUNDS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixOutcome {
    pub text: String,
    /// Codes of the fixes applied, in order.
    pub applied: Vec<&'static str>,
    /// Codes of fixes that were dropped because the text no longer parsed.
    pub rolled_back: Vec<&'static str>,
    /// The findings left in the fixed text.
    pub remaining: Vec<Diagnostic>,
}

/// Applies the fixes for `text` allowed by `minimum` (Safe, or Unsafe to include unsafe ones).
pub fn fix_text(text: &str, settings: &Settings, minimum: Applicability) -> FixOutcome {
    fix_with(text, minimum, &|t| lint_text(t, settings))
}

fn fix_with(text: &str, minimum: Applicability, lint: &dyn Fn(&str) -> Vec<Diagnostic>) -> FixOutcome {
    let mut current = text.to_string();
    let mut applied = Vec::new();
    let mut rolled_back: Vec<&'static str> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let diagnostics = lint(&current);
        let candidates: Vec<(&'static str, &Fix)> = diagnostics
            .iter()
            .filter_map(|d| d.fix.as_ref().map(|f| (d.code, f)))
            .filter(|(code, f)| f.applicability >= minimum && !f.edits.is_empty() && !rolled_back.contains(code))
            .collect();
        let chosen = non_overlapping(&candidates);
        if chosen.is_empty() {
            break;
        }
        let all: Vec<&Fix> = chosen.iter().map(|(_, f)| *f).collect();
        let together = apply(&current, &all);
        if parses(&together) {
            applied.extend(chosen.iter().map(|(c, _)| *c));
            current = together;
            continue;
        }
        // Some fix breaks the file: keep the ones that parse on their own, one at a time.
        let mut progressed = false;
        for (code, fix) in chosen {
            let candidate = apply(&current, &[fix]);
            if parses(&candidate) {
                applied.push(code);
                current = candidate;
                progressed = true;
                break; // spans are stale now: re-lint
            }
            rolled_back.push(code);
        }
        if !progressed {
            break;
        }
    }
    let remaining = lint(&current);
    FixOutcome { text: current, applied, rolled_back, remaining }
}

fn parses(text: &str) -> bool {
    crate::syntax::parse(text).is_ok()
}

/// Fixes in source order, skipping any whose edits overlap or touch an earlier chosen one: two
/// fixes that meet at one point (an insertion at the end of a RUN and a join of the next RUN
/// onto it) wait for the next round, where the second is computed on the text the first made.
fn non_overlapping<'f>(candidates: &[(&'static str, &'f Fix)]) -> Vec<(&'static str, &'f Fix)> {
    let mut sorted = candidates.to_vec();
    sorted.sort_by_key(|(_, f)| f.edits.iter().map(|e| e.range.start).min());
    let mut taken: Vec<std::ops::Range<usize>> = Vec::new();
    let mut out = Vec::new();
    for (code, fix) in sorted {
        let overlaps = fix.edits.iter().any(|e| taken.iter().any(|t| e.range.start <= t.end && t.start <= e.range.end));
        if !overlaps {
            taken.extend(fix.edits.iter().map(|e| e.range.clone()));
            out.push((code, fix));
        }
    }
    out
}

/// Applies the edits of `fixes` (which must not overlap) to `text`.
fn apply(text: &str, fixes: &[&Fix]) -> String {
    apply_edits(text, fixes.iter().flat_map(|f| f.edits.iter()))
}

/// `text` with `edits` (which must not overlap) applied, last first so that earlier offsets
/// stay right; an edit whose range is not in the text is skipped. The fixer and the rewriter
/// both edit through this.
pub fn apply_edits<'e>(text: &str, edits: impl IntoIterator<Item = &'e Edit>) -> String {
    let mut edits: Vec<&Edit> = edits.into_iter().collect();
    edits.sort_by_key(|e| std::cmp::Reverse((e.range.start, e.range.end)));
    let mut out = text.to_string();
    for e in edits {
        if e.range.start <= e.range.end
            && e.range.end <= out.len()
            && out.is_char_boundary(e.range.start)
            && out.is_char_boundary(e.range.end)
        {
            out.replace_range(e.range.clone(), &e.replacement);
        }
    }
    out
}

/// A unified diff of `before` → `after` for `--diff`.
pub fn unified_diff(path: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str, minimum: Applicability) -> FixOutcome {
        fix_text(text, &Settings::default(), minimum)
    }

    #[test]
    fn edits_apply_last_first() {
        let edits = [crate::lint::checker::edit(1..2, "X"), crate::lint::checker::edit(4..4, "Y")];
        assert_eq!(apply_edits("abcdef", &edits), "aXcdYef");
    }

    #[test]
    fn safe_fixes_before_and_after() {
        let before = "from golang:1.23 AS Build\nrun echo hi\nADD src/ /app/\nENV A 1\nEXPOSE 80/TCP\nCOPY a b /dst\n";
        let out = fixed(before, Applicability::Safe);
        assert_eq!(
            out.text,
            "FROM golang:1.23 AS build\nRUN echo hi\nCOPY src/ /app/\nENV A=1\nEXPOSE 80/tcp\nCOPY a b /dst/\n"
        );
        assert!(out.rolled_back.is_empty());
        assert!(out.remaining.iter().all(|d| d.fix.as_ref().is_none_or(|f| f.applicability == Applicability::Unsafe)));
    }

    #[test]
    fn unsafe_fixes_only_when_asked() {
        let before = "FROM alpine:3.20\nMAINTAINER Jane <j@example.com>\nRUN a\nRUN b\n";
        assert_eq!(fixed(before, Applicability::Safe).text, before);
        assert_eq!(
            fixed(before, Applicability::Unsafe).text,
            "FROM alpine:3.20\nLABEL org.opencontainers.image.authors=\"Jane <j@example.com>\"\nRUN a \\\n    && b\n"
        );
    }

    #[test]
    fn overlapping_fixes_converge_over_rounds() {
        // Three consecutive RUNs: the two joins overlap, so the second waits for the next round.
        let out = fixed("FROM alpine:3.20\nRUN a\nRUN b\nRUN c\n", Applicability::Unsafe);
        assert_eq!(out.text, "FROM alpine:3.20\nRUN a \\\n    && b \\\n    && c\n");
        assert_eq!(out.applied, ["IMG201", "IMG201"]);
    }

    #[test]
    fn empty_continuation_and_platform_fixes() {
        let out = fixed("FROM --platform=$TARGETPLATFORM alpine:3.20\nRUN a \\\n\n  b\n", Applicability::Safe);
        assert_eq!(out.text, "FROM alpine:3.20\nRUN a \\\n  b\n");
    }

    #[test]
    fn package_manager_fixes_before_and_after() {
        let before =
            "FROM alpine:3.20\nRUN apk add curl=8.9.0-r0 && pip install --no-cache-dir x==1 && pip install y==2\n";
        assert_eq!(
            fixed(before, Applicability::Safe).text,
            "FROM alpine:3.20\nRUN apk add --no-cache curl=8.9.0-r0 && pip install --no-cache-dir x==1 && pip install --no-cache-dir y==2\n"
        );
        let before = "FROM debian:12-slim\nRUN apt-get update && apt install curl=7.88.1-10\n";
        assert_eq!(
            fixed(before, Applicability::Safe).text,
            "FROM debian:12-slim\nRUN apt-get update && apt install -y curl=7.88.1-10\n"
        );
        assert_eq!(
            fixed(before, Applicability::Unsafe).text,
            "FROM debian:12-slim\nRUN apt-get update && apt-get install --no-install-recommends -y curl=7.88.1-10 \\\n && rm -rf /var/lib/apt/lists/*\n"
        );
    }

    #[test]
    fn wget_progress_fix_before_and_after() {
        let before =
            "FROM debian:12-slim\nRUN sudo wget -O /tmp/a https://example.com/a && wget -q https://example.com/b\n";
        let out = fixed(before, Applicability::Safe);
        assert_eq!(
            out.text,
            "FROM debian:12-slim\nRUN sudo wget --progress=dot:giga -O /tmp/a https://example.com/a && wget -q https://example.com/b\n"
        );
        assert!(out.applied.contains(&"IMG511"));
    }

    #[test]
    fn a_fix_that_breaks_parsing_is_rolled_back() {
        // A rule whose fix would turn FROM into an unknown instruction, next to a good fix.
        let lint = |t: &str| {
            let mut d = lint_text(t, &Settings::default());
            if t.starts_with("FROM") {
                d.push(Diagnostic {
                    code: "IMG999",
                    rule: "breaks-parsing",
                    severity: crate::lint::Severity::Error,
                    span: 0..4,
                    message: "test".into(),
                    help: None,
                    related: Vec::new(),
                    fix: Some(Fix {
                        description: "break".into(),
                        applicability: Applicability::Safe,
                        edits: vec![crate::lint::checker::edit(0..4, "FORM")],
                    }),
                });
            }
            d
        };
        let out = fix_with("FROM alpine:3.20\nEXPOSE 80/TCP\n", Applicability::Safe, &lint);
        assert_eq!(out.text, "FROM alpine:3.20\nEXPOSE 80/tcp\n");
        assert_eq!(out.rolled_back, ["IMG999"]);
        assert_eq!(out.applied, ["IMG506"]);
    }

    #[test]
    fn diff_shows_the_change() {
        let d = unified_diff("Dockerfile", "FROM a:1\nADD x /x\n", "FROM a:1\nCOPY x /x\n");
        assert!(d.contains("-ADD x /x\n+COPY x /x\n"), "{d}");
    }
}
