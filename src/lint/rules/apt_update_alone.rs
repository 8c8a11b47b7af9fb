use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::cleanup::is_noise;
use crate::model::run_script::{is_apt, is_apt_install, PLAIN};

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
    for (k, script) in cx.scripts.iter().enumerate() {
        let commands = script.commands();
        let work: Vec<_> = commands.iter().filter(|c| !is_noise(c)).collect();
        let update_only = !work.is_empty()
            && work.iter().all(|c| c.name().is_some_and(is_apt) && c.subcommand(PLAIN) == Some("update"));
        if !update_only {
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
