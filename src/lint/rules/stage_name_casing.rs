use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::{Applicability, Category};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG502",
        name: "stage-name-casing",
        category: Category::Style,
        buildkit: Some("StageNameCasing"),
        fix: Some(Applicability::Safe),
        summary: "A stage name with upper-case letters.",
        why: "Stage names are matched case-insensitively; writing them in lower case keeps `COPY --from` and `--target` references consistent.",
        bad: "# flagged: upper-case stage name\nFROM golang:1.23 AS Builder\n",
        good: "FROM golang:1.23 AS builder\n",
        notes: "The fix lower-cases the name; references keep working since BuildKit compares names case-insensitively.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for stage in &cx.model.stages {
        let (Some(name), Some(span)) = (&stage.name_as_written, &stage.name_span) else { continue };
        if name.chars().any(|c| c.is_uppercase()) {
            let lower = name.to_lowercase();
            cx.report(span.clone(), format!("stage name `{name}` should be lower case")).fix(
                format!("rename to `{lower}`"),
                Applicability::Safe,
                vec![edit(span.clone(), lower)],
            );
        }
    }
}
