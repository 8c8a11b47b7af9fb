use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Severity;
use crate::model::run_script::PLAIN;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG127",
        name: "unpinned-npm-package",
        severity: Severity::Info,
        hadolint: &["DL3016"],
        summary: "`npm install <package>` without a version.",
        why: "Without a version the build installs whatever is latest that day: the image changes (and may break) with no change to the Dockerfile.",
        bad: "FROM node:22-alpine\n# flagged: which version?\nRUN npm install -g typescript\n",
        good: "FROM node:22-alpine\nRUN npm install -g typescript@5.6.3\nRUN npm ci\n",
        notes: "`npm install` without package names (installing from package.json), local paths, git and tarball URLs are not reported. A scoped name needs a second `@` to be pinned (`@angular/cli@18`).",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for &cmd in cx.commands.iter().filter(|c| c.name() == Some("npm")) {
        let operands = cmd.operands(PLAIN);
        if !operands.first().is_some_and(|w| matches!(&*w.text, "install" | "i" | "add")) {
            continue;
        }
        for word in operands.iter().skip(1) {
            let t = &*word.text;
            let name = t.strip_prefix('@').unwrap_or(t);
            let pinned = name.contains('@');
            let not_a_name =
                word.expansion || t.starts_with('.') || t.starts_with('/') || t.contains(':') || t.ends_with(".tgz");
            if !pinned && !not_a_name {
                cx.report(cmd.span_of(&word.span), format!("`{t}` has no version"))
                    .help(format!("pin it: `{t}@<version>`"));
            }
        }
    }
}
