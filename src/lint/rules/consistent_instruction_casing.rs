use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::{Applicability, Category};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG504",
        name: "consistent-instruction-casing",
        category: Category::Style,
        buildkit: Some("ConsistentInstructionCasing"),
        fix: Some(Applicability::Safe),
        summary: "Instruction keywords written in mixed or inconsistent case.",
        why: "Keywords are case-insensitive, but a file that mixes `run` and `RUN` is harder to scan; the convention is upper case.",
        bad: "FROM alpine:3.20\n# flagged: lower case among upper case\nrun echo hi\nRUN echo there\n",
        good: "FROM alpine:3.20\nRUN echo hi\nRUN echo there\n",
        notes: "The majority casing of the file wins (upper on a tie); keywords in mixed case (`Run`) are always reported.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    let spelled: Vec<(&str, &crate::syntax::Instruction)> =
        cx.df.instructions.iter().map(|i| (&cx.df.text[i.keyword_span.clone()], i)).collect();
    let upper = spelled.iter().filter(|(s, _)| *s == s.to_ascii_uppercase()).count();
    let lower = spelled.iter().filter(|(s, _)| *s == s.to_ascii_lowercase()).count();
    let want_upper = upper >= lower;
    for (written, ins) in spelled {
        let wanted = if want_upper { ins.keyword.clone() } else { ins.keyword.to_ascii_lowercase() };
        if written != wanted {
            cx.report(
                ins.keyword_span.clone(),
                format!("`{written}` should be written `{wanted}` like the rest of the file"),
            )
            .fix(
                format!("write `{wanted}`"),
                Applicability::Safe,
                vec![edit(ins.keyword_span.clone(), wanted)],
            );
        }
    }
}
