use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Severity;
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG109",
        name: "copy-from-own-stage",
        severity: Severity::Error,
        hadolint: &["DL3023"],
        summary: "COPY --from names the stage it is in.",
        why: "A stage cannot copy from itself: the build fails with a circular dependency.",
        bad: "FROM alpine:3.20 AS app\n# flagged: app is this stage\nCOPY --from=app /etc/os-release /tmp/\n",
        good: "FROM alpine:3.20 AS base\nFROM base AS app\nCOPY --from=base /etc/os-release /tmp/\n",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for stage in &cx.model.stages {
        for (_, command) in cx.df.commands_in(stage.instructions.clone()) {
            let Command::Copy(copy) = command else { continue };
            let Some(from) = copy.from.as_ref().filter(|_| !copy.is_add) else { continue };
            let own_name = stage.name.as_ref().is_some_and(|n| n.eq_ignore_ascii_case(&from.value));
            if own_name || from.value == stage.index.to_string() {
                cx.report(from.span.clone(), format!("`COPY --from={}` refers to the stage it is in", from.value));
            }
        }
    }
}
