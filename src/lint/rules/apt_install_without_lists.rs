use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::model::caches;
use crate::model::run_script::{is_apt, is_apt_install, RunCommand, PLAIN};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG142",
        name: "apt-install-after-lists-removed",
        summary: "`apt-get install` (or `apt-get -f install` after `dpkg -i`) after the apt lists were removed, with no `apt-get update` since.",
        why: "With /var/lib/apt/lists emptied, apt knows no package: the install fails with \"Unable to locate package\", and `apt-get -f install` cannot fetch what a `dpkg -i`'d package depends on.",
        bad: "FROM debian:12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl \\\n && rm -rf /var/lib/apt/lists/*\nCOPY tool.deb /tmp/\n# flagged: the lists are gone\nRUN dpkg -i /tmp/tool.deb || apt-get install -y -f --no-install-recommends \\\n && rm -rf /var/lib/apt/lists/*\n",
        good: "FROM debian:12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl \\\n && rm -rf /var/lib/apt/lists/*\nCOPY tool.deb /tmp/\nRUN apt-get update && apt-get install -y --no-install-recommends /tmp/tool.deb \\\n && rm -rf /var/lib/apt/lists/*\n",
        notes: "Follows the stage and the in-file stages it is built `FROM`, in order: an `rm` of /var/lib/apt/lists (or of what is in it) empties them, `apt-get update` fills them. What the base image holds is not known, so an install before any removal is not reported. hadolint and BuildKit have no such check.",
        ..RuleMeta::DEFAULT
    },
    check,
};

/// An `rm` of /var/lib/apt/lists (or of what is in it).
fn removes_lists(cmd: &RunCommand<'_, '_>) -> bool {
    let lists = caches::named("apt-lists");
    cmd.name() == Some("rm")
        && cmd.operands(PLAIN).iter().any(|w| {
            let p = w.text.trim_end_matches('*').trim_end_matches('/');
            p.starts_with('/') && lists.contains(p)
        })
}

fn check(cx: &Checker<'_, '_>) {
    if !cx.commands.iter().any(removes_lists) {
        return;
    }
    // Whether the lists are removed at the end of each stage. Stages are in file order, a
    // stage's commands are a run of the walk, and a parent comes before its children.
    let mut removed_at_end = vec![false; cx.model.stages.len()];
    let mut commands = cx.commands_with_scripts().peekable();
    for stage in &cx.model.stages {
        let mut removed = stage.base_stage.is_some_and(|b| removed_at_end.get(b).copied().unwrap_or(false));
        while let Some((_, cmd)) = commands.next_if(|(s, _)| s.stage == stage.index) {
            if cmd.name().is_some_and(is_apt) && cmd.subcommand(PLAIN) == Some("update") {
                removed = false;
            } else if is_apt_install(cmd) && removed {
                cx.report(cmd.span(), "the apt lists were removed and not updated since: apt knows no package")
                    .help("run `apt-get update` first in this RUN");
            } else if removes_lists(cmd) {
                removed = true;
            }
        }
        removed_at_end[stage.index] = removed;
    }
}
