use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG507",
        name: "required-labels",
        category: Category::Style,
        hadolint: &["DL3049"],
        summary: "The final stage lacks a label that `required-labels` asks for (only when that setting is given).",
        why: "Teams rely on labels (source, owner, version) to trace an image back to its code; a missing label breaks that trail.",
        bad: "# flagged: no org.opencontainers.image.source\nFROM alpine:3.20\n",
        good: "FROM alpine:3.20\nLABEL org.opencontainers.image.source=\"https://github.com/example/app\"\n",
        notes: "Labels are looked up in the final stage and in stages it is built FROM in this file.",
        config: "required-labels = [\"org.opencontainers.image.source\"]",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    let required = &cx.settings.required_labels;
    let Some(last) = cx.model.stages.last().cloned() else { return };
    if required.is_empty() {
        return;
    }
    // Labels are inherited: follow the chain of stages the final one is built on.
    let mut present: Vec<String> = Vec::new();
    for s in cx.model.lineage(last.index) {
        for (_, command) in cx.df.commands_in(s.instructions.clone()) {
            if let Command::Label(pairs) = command {
                present.extend(pairs.iter().map(|kv| kv.name().to_string()));
            }
        }
    }
    for label in required.iter().filter(|l| !present.contains(l)) {
        cx.report(last.base_span.clone(), format!("the final image has no `{label}` label"))
            .help(format!("add `LABEL {label}=...`"));
    }
}
