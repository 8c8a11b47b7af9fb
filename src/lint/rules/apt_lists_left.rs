use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::{Applicability, Category};
use crate::model::caches;
use crate::model::run_script::{is_apt, is_apt_install, removes, APT};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG202",
        name: "apt-lists-left-in-layer",
        category: Category::Size,
        hadolint: &["DL3009"],
        fix: Some(Applicability::Unsafe),
        summary: "`apt-get install` in a RUN that does not remove `/var/lib/apt/lists` afterwards.",
        why: "`apt-get update` downloads package lists (tens of MB) into /var/lib/apt/lists. Unless the same RUN deletes them, they are stored in the layer for good; deleting them in a later RUN frees nothing.",
        bad: "FROM debian:12-slim\n# flagged: the lists stay in this layer\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
        good: "FROM debian:12-slim\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends curl \\\n && rm -rf /var/lib/apt/lists/*\n\nFROM debian:12-slim AS cached\nRUN --mount=type=cache,target=/var/lib/apt,sharing=locked apt-get update && apt-get install -y --no-install-recommends curl\n",
        notes: "Only stages that end up in the final image are checked (a build stage's layers are not shipped). A RUN with a cache mount on /var/lib/apt is fine. The fix appends `rm -rf /var/lib/apt/lists/*` to the RUN; it is unsafe because a later RUN of the stage may install more packages without `apt-get update`. `apt-get dist-clean` counts as removing the lists. Unlike hadolint DL3009, stages that only an explicit `--target` builds (say a `dev-envs` stage when the last stage is another) are not checked.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for script in cx.shipping_scripts() {
        let commands = script.commands();
        let Some(install) = commands.iter().find(|c| is_apt_install(c)) else {
            continue;
        };
        // `apt-get dist-clean` (apt 2.7+) removes the lists too.
        let cleaned = commands.iter().any(|c| c.name().is_some_and(is_apt) && c.subcommand(APT) == Some("dist-clean"));
        let lists = caches::named("apt-lists");
        if cleaned || removes(&commands, lists) || script.has_cache_mount_on(lists) {
            continue;
        }
        let report = cx
            .report(install.span(), "apt package lists are left in this layer")
            .help("end the same RUN with `&& rm -rf /var/lib/apt/lists/*`, or mount a cache on /var/lib/apt");
        if let Some(end) = script.line_end() {
            report.fix(
                "remove the lists in the same RUN",
                Applicability::Unsafe,
                vec![edit(end..end, " \\\n && rm -rf /var/lib/apt/lists/*")],
            );
        }
    }
}
