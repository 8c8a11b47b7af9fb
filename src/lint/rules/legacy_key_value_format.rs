use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::{Applicability, Category};
use crate::model::instruction::Command;

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
    for (i, command) in cx.df.all_commands() {
        let (kind, pairs) = match command {
            Command::Env(pairs) => ("ENV", pairs),
            Command::Label(pairs) => ("LABEL", pairs),
            _ => continue,
        };
        let Some(kv) = pairs.first().filter(|kv| kv.legacy) else {
            continue;
        };
        let args_span = cx.df.instructions[i].args_span.clone();
        let value = kv.value.as_str();
        let report = cx
            .report(args_span.clone(), format!("`{kind} {} {value}` uses the legacy form", kv.key))
            .help(format!("write `{kind} {}=...`", kv.key));
        // Written on one line: the text replaced is the text read.
        let one_line = !cx.df.text[args_span.clone()].contains('\n');
        if !value.contains(['"', '\'', '\\']) && one_line {
            let value = if value.contains(char::is_whitespace) { format!("\"{value}\"") } else { value.to_string() };
            report.fix("use key=value", Applicability::Safe, vec![edit(args_span, format!("{}={value}", kv.key))]);
        }
    }
}
