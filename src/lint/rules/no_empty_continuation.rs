use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::source::Instruction;
use crate::lint::{Category, Severity};


pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG112",
        name: "no-empty-continuation",
        category: Category::Correctness,
        severity: Severity::Warning,
        hadolint: &[],
        buildkit: Some("NoEmptyContinuation"),
        fix: Some(crate::lint::Applicability::Safe),
        summary: "An empty line inside a continued instruction.",
        why: "An empty line after a `\\` continuation is skipped today but is deprecated and will become an error in a future Dockerfile syntax; it also hides where the instruction ends.",
        bad: "FROM debian:12-slim\n# flagged: blank line in the middle\nRUN apt-get update && \\\n\n    apt-get install -y --no-install-recommends curl\n",
        good: "FROM debian:12-slim\nRUN apt-get update && \\\n    apt-get install -y --no-install-recommends curl\n",
        notes: "The fix deletes the empty lines.",
        config: "",
    },
    check,
};

fn check(cx: &mut Checker<'_, '_>) {
    let df = cx.df;
    for (i, ins) in df.instructions.iter().enumerate() {
        if matches!(ins, Instruction::Run(r) if !r.here_docs.is_empty()) {
            continue; // blank lines in a heredoc are content
        }
        let span = cx.span_of(i);
        let body = &df.text[span.clone()];
        let mut edits = Vec::new();
        let mut offset = span.start;
        for line in body.split_inclusive('\n') {
            if line.trim().is_empty() && offset > span.start {
                edits.push(crate::lint::checker::edit(offset..offset + line.len(), ""));
            }
            offset += line.len();
        }
        if !edits.is_empty() {
            let kw = crate::lint::source::keyword_span(ins);
            cx.report(kw, "empty continuation line").fix("remove the empty lines", crate::lint::Applicability::Safe, edits);
        }
    }
}
