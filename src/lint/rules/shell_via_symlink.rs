use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::model::run_script::PLAIN;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG126",
        name: "shell-via-symlink",
        hadolint: &["DL4005"],
        summary: "Replacing /bin/sh with a symlink to change the shell.",
        why: "Relinking /bin/sh changes the shell of every script in the image, including the distribution's own; the SHELL instruction changes only the shell of the Dockerfile's RUNs.",
        bad: "FROM debian:12-slim\n# flagged: every script now runs bash\nRUN ln -sf /bin/bash /bin/sh\n",
        good: "FROM debian:12-slim\nSHELL [\"/bin/bash\", \"-c\"]\n",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for &cmd in cx.commands.iter().filter(|c| c.name() == Some("ln")) {
        if cmd.operands(PLAIN).last().is_some_and(|w| w.text == "/bin/sh") {
            cx.report(cmd.span(), "relinking /bin/sh changes the shell of the whole image")
                .help("use the SHELL instruction");
        }
    }
}
