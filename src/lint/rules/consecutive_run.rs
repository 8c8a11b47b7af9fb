use super::helpers::delete_line_of;
use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::{Category, Severity};

use crate::lint::checker::edit;
use crate::lint::Applicability;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG201",
        name: "consecutive-run",
        category: Category::Size,
        severity: Severity::Info,
        hadolint: &["DL3059"],
        fix: Some(Applicability::Unsafe),
        summary: "A RUN right after another RUN with the same options.",
        why: "Each RUN is a layer: files one RUN writes and the next deletes stay in the image, and every layer adds metadata and pull round-trips. Related steps belong in one RUN.",
        bad: "FROM debian:12-slim\nRUN apt-get update\n# flagged: could join the previous RUN\nRUN apt-get install -y --no-install-recommends curl\n",
        good: "FROM debian:12-slim\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends curl\n",
        notes: "The fix joins the two commands with `&&`; it is unsafe because it changes which steps share a cache entry. Unlike hadolint, which skips a RUN that already chains commands with `&&` (taking the split as deliberate), imgopt reports every consecutive RUN with the same flags: the layer costs the same either way. Where a split is kept on purpose (to cache a slow step), say so with `# imgopt ignore=IMG201`. Only stages that end up in the final image are checked: a build stage's layers are never shipped, so splitting its RUNs costs nothing (hadolint reports them).",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    let ships = cx.model.shipping_stages();
    for i in 1..cx.df.instructions.len() {
        let (prev, run) = (&cx.df.instructions[i - 1], &cx.df.instructions[i]);
        if !(prev.is("RUN") && run.is("RUN")) {
            continue;
        }
        // A build stage's layers are not shipped: one more costs nothing.
        if !cx.model.stage_of(i).is_some_and(|s| ships.get(s.index).copied().unwrap_or(false)) {
            continue;
        }
        let flags = |r: &crate::syntax::Instruction| {
            r.flags.iter().map(|f| cx.df.text[f.span.clone()].to_string()).collect::<Vec<_>>()
        };
        if flags(prev) != flags(run) {
            continue;
        }
        let prev_span = cx.span_of(i - 1);
        let report = cx
            .report(run.keyword_span.clone(), "consecutive RUN instructions make a layer each")
            .related(prev_span, "previous RUN")
            .help("join them with `&&` in one RUN");
        let shell_line = |r: &crate::syntax::Instruction| !r.json_form && r.heredocs.is_empty();
        if shell_line(prev) && shell_line(run) {
            let (a, b) = (&prev.args_span, &run.args_span);
            let between = cx.df.text.get(a.end..b.start).unwrap_or_default();
            // Only when nothing but whitespace and the second keyword sits between the two commands.
            if between.trim().eq_ignore_ascii_case("RUN") {
                match (cx.script_at(i - 1), cx.script_at(i)) {
                    (Some(earlier), Some(later)) if earlier.repeats(cx.df.text, later) => {
                        report.fix(
                            "delete this RUN: the previous one already runs its commands",
                            Applicability::Unsafe,
                            vec![delete_line_of(cx.df.text, &run.span)],
                        );
                    }
                    (Some(earlier), Some(later)) => {
                        // Joined so that the RUN fails exactly when one of the two did.
                        if let Some(joined) = crate::model::run_join::append(&cx.df.syntax, earlier, later, "") {
                            let mut edits: Vec<_> = joined.into_iter().map(|(range, text)| edit(range, text)).collect();
                            edits.push(delete_line_of(cx.df.text, &run.span));
                            report.fix("join with &&", Applicability::Unsafe, edits);
                        }
                    }
                    _ => {}
                };
            }
        }
    }
}
