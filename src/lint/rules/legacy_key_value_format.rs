use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::{Applicability, Category};
use crate::model::document::Instruction;

use crate::model::words::key_values;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG505",
        name: "legacy-key-value-format",
        category: Category::Style,
        buildkit: Some("LegacyKeyValueFormat"),
        fix: Some(Applicability::Safe),
        summary: "ENV or LABEL written as `key value` instead of `key=value`.",
        why: "The space-separated form is legacy: it allows only one pair, and it reads differently from every other `key=value` in the file.",
        bad: "FROM alpine:3.20\n# flagged: legacy form\nENV APP_HOME /app\n",
        good: "FROM alpine:3.20\nENV APP_HOME=/app\n",
        notes: "The fix is offered when the value has no quotes or backslashes; a value with spaces is wrapped in double quotes.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for ins in cx.df.typed() {
        let (kind, args) = match ins {
            Instruction::Env(e) => ("ENV", &e.arguments),
            Instruction::Label(l) => ("LABEL", &l.arguments),
            _ => continue,
        };
        let Some(kv) = key_values(&args.value, args.span.start).into_iter().next().filter(|kv| kv.legacy) else {
            continue;
        };
        let value = kv.value.unwrap_or_default();
        let report = cx
            .report(args.span.clone(), format!("`{kind} {} {value}` uses the legacy form", kv.key))
            .help(format!("write `{kind} {}=...`", kv.key));
        let raw = &cx.df.text[args.span.clone()];
        if !value.contains(['"', '\'', '\\']) && raw == args.value {
            let value = if value.contains(char::is_whitespace) { format!("\"{value}\"") } else { value.to_string() };
            report.fix(
                "use key=value",
                Applicability::Safe,
                vec![edit(args.span.clone(), format!("{}={value}", kv.key))],
            );
        }
    }
}
