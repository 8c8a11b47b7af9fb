use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::model::run_script::PLAIN;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG135",
        name: "zypper-dist-upgrade",
        hadolint: &["DL3035"],
        summary: "`zypper dist-upgrade` (`zypper dup`) in a RUN.",
        why: "A distribution upgrade inside the build makes the image depend on the day it is built and may move it to packages the base image was never tested with; the base image's maintainers already ship the upgraded system in a newer tag.",
        bad: "FROM opensuse/tumbleweed\n# flagged: upgrades the whole distribution\nRUN zypper --non-interactive dup\n",
        good: "FROM opensuse/tumbleweed:latest\nRUN zypper --non-interactive install -y curl=8.9.1\n",
        notes: "`zypper update`/`patch` of single packages is not reported.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for &cmd in cx.commands {
        if cmd.name() == Some("zypper") && matches!(cmd.subcommand(PLAIN), Some("dist-upgrade" | "dup")) {
            cx.report(cmd.span(), "`zypper dist-upgrade` upgrades the whole distribution during the build")
                .help("use a newer base image tag instead");
        }
    }
}
