use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::{Applicability, Category};
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG503",
        name: "from-as-casing",
        category: Category::Style,
        buildkit: Some("FromAsCasing"),
        fix: Some(Applicability::Safe),
        summary: "`FROM` and `AS` written in different cases.",
        why: "Mixed keyword casing in one line reads as a mistake; keep `AS` in the case of `FROM`.",
        bad: "# flagged: FROM upper, as lower\nFROM golang:1.23 as build\n",
        good: "FROM golang:1.23 AS build\n",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for (i, command) in cx.df.all_commands() {
        let Command::From(from) = command else { continue };
        let Some(as_keyword) = &from.as_keyword else { continue };
        let (as_text, as_span) = (as_keyword.text.as_str(), &as_keyword.span);
        let from_text = &cx.df.text[cx.df.instructions[i].keyword_span.clone()];
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
            cx.report(as_span.clone(), format!("`{as_text}` does not match the casing of `{from_text}`")).fix(
                format!("write `{wanted}`"),
                Applicability::Safe,
                vec![edit(as_span.clone(), wanted)],
            );
        }
    }
}
