use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::{Category, Severity};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG114",
        name: "redundant-target-platform",
        category: Category::Style,
        severity: Severity::Info,
        buildkit: Some("RedundantTargetPlatform"),
        fix: Some(crate::lint::Applicability::Safe),
        summary: "FROM --platform=$TARGETPLATFORM, which is already the default.",
        why: "Stages are built for the target platform unless told otherwise; the flag adds noise and suggests something special is going on.",
        bad: "# flagged: the default\nFROM --platform=$TARGETPLATFORM alpine:3.20\n",
        good: "FROM alpine:3.20\n",
        notes: "The fix removes the flag.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    let text = cx.text();
    for flag in cx.from_platform_flags().filter(|f| f.value == "$TARGETPLATFORM" || f.value == "${TARGETPLATFORM}") {
        let span = flag.span.clone();
        let rest = &text[span.end..];
        let end = span.end + (rest.len() - rest.trim_start_matches([' ', '\t']).len());
        cx.report(span.clone(), "`--platform=$TARGETPLATFORM` is the default and can be removed").fix(
            "remove the flag",
            crate::lint::Applicability::Safe,
            vec![crate::lint::checker::edit(span.start..end, "")],
        );
    }
}
