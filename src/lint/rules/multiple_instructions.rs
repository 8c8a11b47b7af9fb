use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG108",
        name: "multiple-instructions-disallowed",
        hadolint: &["DL4003", "DL4004", "DL3012"],
        buildkit: Some("MultipleInstructionsDisallowed"),
        summary: "More than one CMD, ENTRYPOINT or HEALTHCHECK in a stage.",
        why: "Only the last one takes effect; the earlier ones are dead code that a reader will take for the real command.",
        bad: "FROM nginx:1.27\n# flagged: overridden below\nCMD [\"nginx\"]\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\n",
        good: "FROM nginx:1.27\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\n",
        notes: "The overridden (earlier) instruction is reported, pointing at the one that wins. A file without FROM gets only IMG100 (BuildKit refuses it: no build stage), where hadolint still reports its repeated CMDs.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for stage in &cx.model.stages {
        let range = stage.instructions.clone();
        for kind in ["CMD", "ENTRYPOINT", "HEALTHCHECK"] {
            let found: Vec<usize> = range.clone().filter(|&i| cx.df.instructions[i].keyword == kind).collect();
            let Some((&last, earlier)) = found.split_last() else {
                continue;
            };
            for &i in earlier {
                let span = cx.span_of(i);
                let last_span = cx.span_of(last);
                cx.report(span, format!("this {kind} is overridden by a later {kind} in the same stage"))
                    .related(last_span, format!("this {kind} takes effect"))
                    .help(format!("keep a single {kind}"));
            }
        }
    }
}
