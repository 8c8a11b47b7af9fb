use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG403",
        name: "last-user-root",
        category: Category::Security,
        hadolint: &["DL3002"],
        summary: "The final stage switches to root last.",
        why: "The container then runs as root: a compromise of the process is a compromise of everything the container can reach.",
        bad: "FROM debian:12-slim\nUSER app\n# flagged: container runs as root\nUSER root\n",
        good: "FROM debian:12-slim\nUSER root\nUSER app\n",
        notes: "Only an explicit `USER root` (or `0`) as the last USER of the final stage is reported, or of the in-file stage it is built `FROM` when it sets none (the user carries over); a stage without USER otherwise inherits its base image's user, which imgopt does not know.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    let Some(last) = cx.model.stages.last() else { return };
    // The last USER of the final stage, or of the in-file stage it is built FROM (whose user it keeps).
    let last_user = cx
        .model
        .lineage(last.index)
        .find_map(|stage| cx.df.instructions[stage.instructions.clone()].iter().rev().find(|i| i.keyword == "USER"));
    if let Some(u) = last_user {
        let user = u.args.first().and_then(|a| a.split(':').next()).unwrap_or_default();
        if user == "root" || user == "0" {
            cx.report(u.args_span.clone(), "the final image runs as root")
                .help("switch to an unprivileged user at the end: `USER app`");
        }
    }
}
