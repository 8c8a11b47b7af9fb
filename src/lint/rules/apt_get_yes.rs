use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::Applicability;
use crate::model::run_script::{is_apt_install, APT};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG120",
        name: "apt-get-install-without-yes",
        hadolint: &["DL3014"],
        fix: Some(Applicability::Safe),
        summary: "`apt-get install` without `-y`.",
        why: "A build has no terminal to answer apt's confirmation prompt: without `-y` the install aborts as soon as it needs to ask.",
        bad: "FROM debian:12-slim\n# flagged: waits for an answer\nRUN apt-get update && apt-get install --no-install-recommends curl\n",
        good: "FROM debian:12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
        notes: "`-y`, `--yes`, `--assume-yes`, `-qq` and `-q=2` all count; a simulation (`-s`, `--simulate`, `--dry-run`) asks nothing and is not reported. The fix adds `-y`.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for &cmd in cx.commands.iter().filter(|c| is_apt_install(c)) {
        let quiet_twice = cmd.args().iter().any(|w| w.text == "-qq" || w.text == "-q=2" || w.text == "--quiet=2")
            || cmd.args().iter().filter(|w| w.text == "-q").count() >= 2;
        // A simulation (`apt-get install -s pkg`, to test whether a package exists) asks nothing.
        let simulated = cmd.has_option(APT, Some('s'), &["simulate", "just-print", "dry-run", "recon", "no-act"]);
        if quiet_twice || simulated || cmd.has_option(APT, Some('y'), &["yes", "assume-yes"]) {
            continue;
        }
        let report = cx.report(cmd.span(), "`apt-get install` without `-y` aborts at the confirmation prompt");
        if let Some(at) = cmd.after_subcommand(APT) {
            report.fix("add -y", Applicability::Safe, vec![edit(at..at, " -y")]);
        }
    }
}
