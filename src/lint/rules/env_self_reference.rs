use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Severity;
use crate::model::expand::referenced_names;
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG118",
        name: "env-self-reference",
        severity: Severity::Error,
        hadolint: &["DL3044"],
        summary: "An ENV that uses a variable defined earlier in the same ENV.",
        why: "All values of one ENV are expanded before any is set: `ENV A=1 B=$A` gives B the old value of A (often empty), not 1.",
        bad: "FROM alpine:3.20\n# flagged: $APP_HOME is not set yet\nENV APP_HOME=/app APP_BIN=$APP_HOME/bin\n",
        good: "FROM alpine:3.20\nENV APP_HOME=/app\nENV APP_BIN=$APP_HOME/bin\n",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for (_, command) in cx.df.all_commands() {
        let Command::Env(pairs) = command else { continue };
        for (i, kv) in pairs.iter().enumerate() {
            for name in referenced_names(&kv.value, cx.df.escape) {
                if pairs[..i].iter().any(|earlier| earlier.key == name) {
                    cx.report(kv.key_span.clone(), format!("`{}` uses `${name}`, which this same ENV sets", kv.key))
                        .help(format!("set `{name}` in an earlier ENV"));
                }
            }
        }
    }
}
