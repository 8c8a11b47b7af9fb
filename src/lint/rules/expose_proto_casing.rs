use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::{Applicability, Category};
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG506",
        name: "expose-proto-casing",
        category: Category::Style,
        buildkit: Some("ExposeProtoCasing"),
        fix: Some(Applicability::Safe),
        summary: "EXPOSE with an upper-case protocol (`80/TCP`).",
        why:
            "Protocols are lower case (`tcp`, `udp`, `sctp`); tools that compare them literally miss an upper-case one.",
        bad: "FROM nginx:1.27\n# flagged: TCP\nEXPOSE 80/TCP\n",
        good: "FROM nginx:1.27\nEXPOSE 80/tcp\n",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for (_, command) in cx.df.all_commands() {
        let Command::Expose(ports) = command else { continue };
        for port in ports {
            let (value, span) = (&port.text, &port.span);
            let Some((_, proto)) = value.split_once('/') else {
                continue;
            };
            if proto != proto.to_ascii_lowercase() {
                let lower = value.to_ascii_lowercase();
                cx.report(span.clone(), format!("protocol `{proto}` should be lower case")).fix(
                    format!("write `{lower}`"),
                    Applicability::Safe,
                    vec![edit(span.clone(), lower)],
                );
            }
        }
    }
}
