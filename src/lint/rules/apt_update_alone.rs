use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::cleanup::is_noise;
use crate::model::run_script::{is_apt, is_apt_install, RunCommand, PLAIN};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG302",
        name: "apt-update-alone",
        category: Category::Cache,
        summary: "`apt-get update` in a RUN of its own, with the install in a later RUN.",
        why: "The update's layer is cached: when the install line changes later, the install runs against the package lists of the first build, which may name versions the mirrors have dropped (the build fails with 404s) or miss security updates. Docker's best-practice guide: always combine `apt-get update` with `apt-get install` in the same RUN.",
        bad: "FROM debian:12-slim\n# flagged: its cached lists go stale\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n",
        good: "FROM debian:12-slim\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends curl \\\n && rm -rf /var/lib/apt/lists/*\n",
        notes: "Reported only when a later RUN of the same stage installs with apt-get or apt. hadolint and BuildKit have no such check; hadolint's DL3009 is about the lists left behind (IMG202 here).",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    let is_update = |c: &RunCommand<'_, '_>| c.name().is_some_and(is_apt) && c.subcommand(PLAIN) == Some("update");
    let mut candidates: Vec<usize> =
        cx.commands.iter().filter(|c| is_update(c)).filter_map(|c| cx.script_of(c)).collect();
    if candidates.is_empty() {
        return;
    }
    candidates.dedup();
    // Per stage, the last RUN (position in the scripts) that installs with apt.
    let mut last_install: Vec<Option<usize>> = vec![None; cx.model.stages.len()];
    for cmd in cx.commands.iter().filter(|c| is_apt_install(c)) {
        if let Some(k) = cx.script_of(cmd) {
            if let Some(slot) = last_install.get_mut(cx.scripts[k].stage) {
                *slot = Some(k);
            }
        }
    }
    for k in candidates {
        let script = &cx.scripts[k];
        let commands = script.commands();
        let update_only = commands.iter().filter(|c| !is_noise(c)).all(is_update);
        if !update_only || last_install.get(script.stage).copied().flatten().is_none_or(|last| last <= k) {
            continue;
        }
        let install = cx.scripts[k + 1..]
            .iter()
            .filter(|s| s.stage == script.stage)
            .find_map(|s| s.commands().into_iter().find(is_apt_install).map(|c| c.span()));
        if let Some(install) = install {
            cx.report(cx.span_of(script.index), "`apt-get update` alone: its cached lists go stale for later installs")
                .related(install, "this install uses the lists of the cached update")
                .help("run `apt-get update && apt-get install ...` in one RUN");
        }
    }
}
