use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::source::Instruction;
use crate::lint::{Applicability, Category, Severity};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG506",
        name: "expose-proto-casing",
        category: Category::Style,
        severity: Severity::Warning,
        hadolint: &[],
        buildkit: Some("ExposeProtoCasing"),
        fix: Some(Applicability::Safe),
        summary: "EXPOSE with an upper-case protocol (`80/TCP`).",
        why:
            "Protocols are lower case (`tcp`, `udp`, `sctp`); tools that compare them literally miss an upper-case one.",
        bad: "FROM nginx:1.27\n# flagged: TCP\nEXPOSE 80/TCP\n",
        good: "FROM nginx:1.27\nEXPOSE 80/tcp\n",
        notes: "",
        config: "",
    },
    check,
};

fn check(cx: &mut Checker<'_, '_>) {
    let df = cx.df;
    for ins in df.typed() {
        let Instruction::Expose(e) = ins else { continue };
        for arg in &e.arguments {
            let Some((_, proto)) = arg.value.split_once('/') else {
                continue;
            };
            if proto != proto.to_ascii_lowercase() && df.text[arg.span.clone()] == *arg.value {
                let lower = arg.value.to_ascii_lowercase();
                cx.report(arg.span.clone(), format!("protocol `{proto}` should be lower case"))
                    .fix(
                        format!("write `{lower}`"),
                        Applicability::Safe,
                        vec![edit(arg.span.clone(), lower)],
                    );
            }
        }
    }
}
