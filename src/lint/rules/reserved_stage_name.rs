use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Severity;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG106",
        name: "reserved-stage-name",
        severity: Severity::Error,
        buildkit: Some("ReservedStageName"),
        summary: "A stage named `scratch` or `context`.",
        why: "`scratch` is the empty image and `context` is reserved for named build contexts: a stage with one of these names cannot be referred to unambiguously.",
        bad: "# flagged: scratch is the empty image\nFROM alpine:3.20 AS scratch\n",
        good: "FROM alpine:3.20 AS base\n",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for stage in &cx.model.stages {
        if let (Some(name), Some(span)) = (&stage.name_as_written, &stage.name_span) {
            if ["scratch", "context"].iter().any(|r| name.eq_ignore_ascii_case(r)) {
                cx.report(span.clone(), format!("`{name}` is a reserved name and cannot be used as a stage name"));
            }
        }
    }
}
