use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Severity;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG105",
        name: "duplicate-stage-name",
        severity: Severity::Error,
        hadolint: &["DL3024"],
        buildkit: Some("DuplicateStageName"),
        summary: "Two stages with the same name.",
        why: "Stage names are case-insensitive and must be unique: BuildKit refuses the file, and a reader cannot tell which stage `COPY --from` means.",
        bad: "FROM golang:1.23 AS build\nRUN go version\n# flagged: second stage named build\nFROM alpine:3.20 AS Build\n",
        good: "FROM golang:1.23 AS build\nRUN go version\nFROM alpine:3.20 AS runtime\n",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    let stages = &cx.model.stages;
    for (i, stage) in stages.iter().enumerate() {
        let (Some(name), Some(span)) = (&stage.name_as_written, &stage.name_span) else { continue };
        let first = cx.model.first_named(name).filter(|&first| first < i).and_then(|first| stages.get(first));
        if let Some(first) = first {
            let report = cx
                .report(span.clone(), format!("stage name `{name}` is already used"))
                .help("give each stage a unique name");
            if let Some(first_span) = &first.name_span {
                report.related(first_span.clone(), "first defined here");
            }
        }
    }
}
