use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::Applicability;
use crate::model::run_script::PLAIN;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG124",
        name: "rpm-install-without-yes",
        hadolint: &["DL3030", "DL3038", "DL3034"],
        fix: Some(Applicability::Safe),
        summary: "`yum`/`dnf install` without `-y`, or `zypper install` without `-n`.",
        why: "The build has no terminal to confirm the transaction: without the non-interactive flag the install aborts.",
        bad: "FROM rockylinux:9\n# flagged: waits for a confirmation\nRUN dnf install nginx && dnf clean all\n",
        good: "FROM rockylinux:9\nRUN dnf install -y nginx && dnf clean all\n",
        notes: "`--assumeyes` counts for yum/dnf, `--non-interactive` for zypper; microdnf does not ask. The fix adds `-y` (`-n` before `install` for zypper is not offered). hadolint DL3038 also reports `microdnf install` without `-y`; microdnf never prompts, so imgopt does not.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for &cmd in cx.commands {
        let Some(name) = cmd.name().filter(|n| matches!(*n, "yum" | "dnf" | "zypper")) else {
            continue;
        };
        let operands = cmd.operands(PLAIN);
        let Some(install) = operands.first().filter(|w| matches!(&*w.text, "install" | "in" | "groupinstall")) else {
            continue;
        };
        let confirmed = if name == "zypper" {
            cmd.has_option(PLAIN, Some('n'), &["non-interactive", "no-confirm"])
                || cmd.args().iter().any(|w| w.text == "-y")
        } else {
            cmd.has_option(PLAIN, Some('y'), &["assumeyes"])
        };
        if confirmed {
            continue;
        }
        let at = cmd.span_of(&install.span).end;
        let report =
            cx.report(cmd.span(), format!("`{name} install` without a non-interactive flag aborts at the prompt"));
        if name != "zypper" {
            report.fix("add -y", Applicability::Safe, vec![edit(at..at, " -y")]);
        }
    }
}
