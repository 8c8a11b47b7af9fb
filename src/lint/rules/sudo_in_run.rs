use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG405",
        name: "sudo-in-run",
        category: Category::Security,
        hadolint: &["DL3004"],
        summary: "`sudo` in a RUN.",
        why: "RUN already runs as the current USER; sudo needs a TTY or sudoers setup, behaves unpredictably in builds, and leaves a privilege-escalation tool in the image. Switch with `USER root` for the step instead.",
        bad: "FROM ubuntu:24.04\nUSER app\n# flagged: use USER root\nRUN sudo apt-get update\n",
        good: "FROM ubuntu:24.04\nUSER root\nRUN apt-get update\nUSER app\n",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for &cmd in cx.commands.iter().filter(|c| c.has_wrapper("sudo") || c.name() == Some("sudo")) {
        cx.report(cmd.span(), "`sudo` in a RUN").help("switch user with `USER root` around the step");
    }
}
