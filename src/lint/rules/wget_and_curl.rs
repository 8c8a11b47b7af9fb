use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::{Category, Severity};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG508",
        name: "wget-and-curl",
        category: Category::Style,
        severity: Severity::Info,
        hadolint: &["DL4001"],
        summary: "Both `wget` and `curl` used in one file.",
        why: "Two download tools do the same job; installing both adds size, and reading the file means knowing both sets of flags.",
        bad: "FROM debian:12-slim\nRUN curl -fsSLo /tmp/a https://example.com/a\n# flagged: curl is already used\nRUN wget -qO /tmp/b https://example.com/b\n",
        good: "FROM debian:12-slim\nRUN curl -fsSLo /tmp/a https://example.com/a\nRUN curl -fsSLo /tmp/b https://example.com/b\n",
        notes: "Every use of the tool that appears second is reported.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    let uses: Vec<(&str, std::ops::Range<usize>)> = cx
        .scripts
        .iter()
        .flat_map(|s| {
            s.commands()
                .into_iter()
                .filter_map(|c| {
                    c.name()
                        .filter(|n| *n == "wget" || *n == "curl")
                        .map(|n| (if n == "wget" { "wget" } else { "curl" }, c.span()))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let Some((first, _)) = uses.first() else { return };
    let first = *first;
    if !uses.iter().any(|(n, _)| *n != first) {
        return;
    }
    for (name, span) in uses.into_iter().filter(|(n, _)| *n != first) {
        cx.report(span, format!("`{name}` is used here and `{first}` elsewhere in the file"))
            .help(format!("use `{first}` everywhere"));
    }
}
