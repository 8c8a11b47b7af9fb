use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::Applicability;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG112",
        name: "no-empty-continuation",
        buildkit: Some("NoEmptyContinuation"),
        fix: Some(Applicability::Safe),
        summary: "An empty line inside a continued instruction.",
        why: "An empty line after a `\\` continuation is skipped today but is deprecated and will become an error in a future Dockerfile syntax; it also hides where the instruction ends.",
        bad: "FROM debian:12-slim\n# flagged: blank line in the middle\nRUN apt-get update && \\\n\n    apt-get install -y --no-install-recommends curl\n",
        good: "FROM debian:12-slim\nRUN apt-get update && \\\n    apt-get install -y --no-install-recommends curl\n",
        notes: "The fix deletes the empty lines.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for empty in &cx.df.empty_continuations {
        let keyword_end = cx.df.text[empty.instruction.clone()]
            .find(char::is_whitespace)
            .map_or(empty.instruction.end, |n| empty.instruction.start + n);
        let edits = empty
            .lines
            .iter()
            .map(|line| {
                // Remove the line with its newline.
                let end = if cx.df.text[line.end..].starts_with('\n') { line.end + 1 } else { line.end };
                edit(line.start..end, "")
            })
            .collect();
        cx.report(empty.instruction.start..keyword_end, "empty continuation line").fix(
            "remove the empty lines",
            Applicability::Safe,
            edits,
        );
    }
}
