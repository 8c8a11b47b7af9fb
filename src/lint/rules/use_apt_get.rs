use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::Applicability;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG122",
        name: "apt-instead-of-apt-get",
        hadolint: &["DL3027"],
        fix: Some(Applicability::Unsafe),
        summary: "`apt` or `aptitude` used in a RUN.",
        why: "`apt` and `aptitude` are interactive front ends: their output and behaviour are not stable for scripts (apt warns so itself), and aptitude is not even installed in the Debian and Ubuntu images. `apt-get` is the scripting interface.",
        bad: "FROM ubuntu:24.04\n# flagged: apt is for humans\nRUN apt update\n",
        good: "FROM ubuntu:24.04\nRUN apt-get update\n",
        notes: "The fix renames the command; it is unsafe because a few subcommands (`apt list`, `apt search`, `aptitude why`) have no apt-get equivalent, and aptitude's options differ (`--without-recommends`).",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for &cmd in cx.commands.iter().filter(|c| matches!(c.name(), Some("apt" | "aptitude"))) {
        let name = cmd.name().unwrap_or_default();
        let Some(word) = crate::shell::invocation(cmd.command).map(|i| i.command) else {
            continue;
        };
        let span = cmd.span_of(&word.span);
        cx.report(cmd.span(), format!("use `apt-get` in scripts, not `{name}`")).fix(
            "use apt-get",
            Applicability::Unsafe,
            vec![edit(span, "apt-get")],
        );
    }
}
