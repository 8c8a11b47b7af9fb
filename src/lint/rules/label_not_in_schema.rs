use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::{Category, Severity};
use crate::model::instruction::Command;
use crate::suggest::closest;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG512",
        name: "label-not-in-schema",
        category: Category::Style,
        severity: Severity::Info,
        hadolint: &["DL3050"],
        summary: "A label that `label-schema` does not list, with `strict-labels = true`.",
        why: "A team that fixes its label set wants typos (`org.opencontainers.image.sourc`) and ad-hoc labels caught before they ship.",
        bad: "FROM alpine:3.20\n# flagged: not in the schema\nLABEL maintainer=\"dev@example.com\"\nLABEL org.opencontainers.image.source=\"https://github.com/example/app\"\n",
        good: "FROM alpine:3.20\nLABEL org.opencontainers.image.source=\"https://github.com/example/app\"\n",
        notes: "A schema label within two edits of the key is suggested (`did you mean`).",
        config: "strict-labels = true\n[label-schema]\n\"org.opencontainers.image.source\" = \"url\"",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    if !cx.settings.strict_labels {
        return;
    }
    let schema: Vec<String> = cx.settings.label_schema.keys().cloned().collect();
    for (_, command) in cx.df.all_commands() {
        let Command::Label(pairs) = command else { continue };
        for kv in pairs {
            let key = kv.name();
            if schema.iter().any(|s| s == key) || key.contains('$') {
                continue;
            }
            let report = cx.report(kv.key_span.clone(), format!("label `{key}` is not in the label schema"));
            match closest(key, &schema) {
                Some(close) => report.help(format!("did you mean `{close}`?")),
                None => report.help("add it to `label-schema`, or drop it"),
            };
        }
    }
}
