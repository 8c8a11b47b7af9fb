use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::source::Instruction;
use crate::lint::{Applicability, Category, Severity};

use crate::lint::source::{keyword, keyword_span};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG504",
        name: "consistent-instruction-casing",
        category: Category::Style,
        severity: Severity::Warning,
        hadolint: &[],
        buildkit: Some("ConsistentInstructionCasing"),
        fix: Some(Applicability::Safe),
        summary: "Instruction keywords written in mixed or inconsistent case.",
        why: "Keywords are case-insensitive, but a file that mixes `run` and `RUN` is harder to scan; the convention is upper case.",
        bad: "FROM alpine:3.20\n# flagged: lower case among upper case\nrun echo hi\nRUN echo there\n",
        good: "FROM alpine:3.20\nRUN echo hi\nRUN echo there\n",
        notes: "The majority casing of the file wins (upper on a tie); keywords in mixed case (`Run`) are always reported.",
        config: "",
    },
    check,
};

fn check(cx: &mut Checker<'_, '_>) {
    let df = cx.df;
    let spelled: Vec<(&str, &Instruction<'_>)> =
        df.instructions.iter().map(|i| (&df.text[keyword_span(i)], i)).collect();
    let upper = spelled.iter().filter(|(s, _)| *s == s.to_ascii_uppercase()).count();
    let lower = spelled.iter().filter(|(s, _)| *s == s.to_ascii_lowercase()).count();
    let want_upper = upper >= lower;
    for (written, ins) in spelled {
        let wanted = if want_upper {
            keyword(ins).to_string()
        } else {
            keyword(ins).to_ascii_lowercase()
        };
        if written != wanted {
            cx.report(
                keyword_span(ins),
                format!("`{written}` should be written `{wanted}` like the rest of the file"),
            )
            .fix(
                format!("write `{wanted}`"),
                Applicability::Safe,
                vec![edit(keyword_span(ins), wanted)],
            );
        }
    }
}
