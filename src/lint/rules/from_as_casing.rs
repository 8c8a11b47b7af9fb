use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::source::Instruction;
use crate::lint::{Applicability, Category, Severity};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG503",
        name: "from-as-casing",
        category: Category::Style,
        severity: Severity::Warning,
        hadolint: &[],
        buildkit: Some("FromAsCasing"),
        fix: Some(Applicability::Safe),
        summary: "`FROM` and `AS` written in different cases.",
        why: "Mixed keyword casing in one line reads as a mistake; keep `AS` in the case of `FROM`.",
        bad: "# flagged: FROM upper, as lower\nFROM golang:1.23 as build\n",
        good: "FROM golang:1.23 AS build\n",
        notes: "",
        config: "",
    },
    check,
};

fn check(cx: &mut Checker<'_, '_>) {
    let df = cx.df;
    for ins in df.typed() {
        let Instruction::From(from) = ins else { continue };
        let Some((as_kw, _)) = &from.as_ else { continue };
        let from_text = &df.text[from.from.span.clone()];
        let as_text = &df.text[as_kw.span.clone()];
        let from_upper = from_text == from_text.to_ascii_uppercase();
        let from_lower = from_text == from_text.to_ascii_lowercase();
        let wanted = if from_upper {
            "AS"
        } else if from_lower {
            "as"
        } else {
            continue;
        };
        if as_text != wanted {
            cx.report(
                as_kw.span.clone(),
                format!("`{as_text}` does not match the casing of `{from_text}`"),
            )
            .fix(
                format!("write `{wanted}`"),
                Applicability::Safe,
                vec![edit(as_kw.span.clone(), wanted)],
            );
        }
    }
}
