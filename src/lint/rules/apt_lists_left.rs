use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::{Applicability, Category};
use crate::model::caches;
use crate::model::cleanup::is_noise;
use crate::model::run_script::{is_apt, is_apt_install, removes, RunCommand, RunScript, APT};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG202",
        name: "apt-lists-left-in-layer",
        category: Category::Size,
        hadolint: &["DL3009"],
        fix: Some(Applicability::Unsafe),
        summary: "`apt-get install` (or an `apt-get update` with no install) in a RUN that does not remove `/var/lib/apt/lists` afterwards.",
        why: "`apt-get update` downloads package lists (tens of MB) into /var/lib/apt/lists. Unless the same RUN deletes them, they are stored in the layer for good; deleting them in a later RUN frees nothing.",
        bad: "FROM debian:12-slim\n# flagged: the lists stay in this layer\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
        good: "FROM debian:12-slim\nRUN apt-get update \\\n && apt-get install -y --no-install-recommends curl \\\n && rm -rf /var/lib/apt/lists/*\n\nFROM debian:12-slim AS cached\nRUN --mount=type=cache,target=/var/lib/apt,sharing=locked apt-get update && apt-get install -y --no-install-recommends curl\n",
        notes: "Only a RUN whose lists come from an `apt-get update` of the file is reported: one in the RUN itself, or in an earlier RUN of the stage whose lists no RUN removed since (the install in the last such RUN carries the finding and the fix; a RUN that installs with lists the base image brought is left alone, as hadolint DL3009 does). A RUN that updates the lists without installing (`apt-get update && apt-get purge ...`) is reported too, unless the RUN does nothing but the update and a later RUN of the stage installs with those lists (that split is IMG302's). Only stages that end up in the final image are checked (a build stage's layers are not shipped). A RUN with a cache mount on /var/lib/apt is fine. The fix appends `rm -rf /var/lib/apt/lists/*` to the RUN; it is unsafe because a later RUN of the stage may install more packages without `apt-get update`; no fix is offered when such a RUN follows in the stage or in a stage built on it (the lists are still needed there). `apt-get dist-clean` counts as removing the lists. Unlike hadolint DL3009, stages that only an explicit `--target` builds (say a `dev-envs` stage when the last stage is another) are not checked. Known false positives: a file of CI targets built only with `--target` (its last stage a check nobody ships) is read as shipping its last stage and the stages under it.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    // Per stage, the instruction index of the last RUN that installs with apt.
    let mut last_install: Vec<Option<usize>> = vec![None; cx.model.stages.len()];
    for cmd in cx.commands.iter().filter(|c| is_apt_install(c)) {
        if let Some(script) = cx.script_of(cmd).map(|k| &cx.scripts[k]) {
            if let Some(slot) = last_install.get_mut(script.stage) {
                *slot = Some(script.index);
            }
        }
    }
    let updated = lists_updated_before(cx);
    let ships = cx.model.shipping_stages();
    for (k, script) in cx.scripts.iter().enumerate().filter(|(_, s)| ships.get(s.stage).copied().unwrap_or(false)) {
        let commands = script.commands();
        // The lists come from an `apt-get update`: in this RUN, or in an earlier one of the
        // file whose lists are still there (without either, whatever lists there are come from
        // the base image). Reported at the install, or at the update when the RUN installs
        // nothing (`apt-get update && apt-get purge x`); a RUN of nothing but the update, with
        // the install in a later RUN, is IMG302's case.
        let is_update = |c: &RunCommand<'_, '_>| c.name().is_some_and(is_apt) && c.subcommand(APT) == Some("update");
        let update = commands.iter().find(|c| is_update(c));
        let update_only = update.is_some() && commands.iter().filter(|c| !is_noise(c)).all(is_update);
        let later_install = || last_install.get(script.stage).copied().flatten().is_some_and(|i| i > script.index);
        let install = match (commands.iter().find(|c| is_apt_install(c)), update) {
            (Some(install), Some(_)) => install,
            // Lists of an earlier RUN: reported once, at the last RUN that uses them.
            (Some(install), None)
                if updated.get(k).copied().unwrap_or(false) && !later_install_needs_lists(cx, script) =>
            {
                install
            }
            (None, Some(_)) if update_only && later_install() => continue,
            (None, Some(update)) => update,
            _ => continue,
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
        if let Some(end) = script.line_end().filter(|_| !later_install_needs_lists(cx, script)) {
            report.fix(
                "remove the lists in the same RUN",
                Applicability::Unsafe,
                vec![edit(end..end, " \\\n && rm -rf /var/lib/apt/lists/*")],
            );
        }
    }
}

/// For each RUN (by position in the scripts), whether an earlier RUN of its stage, or of a stage
/// it is built on, ran `apt-get update` and no RUN removed the lists since. One pass over the
/// shared walk: stages and their RUNs are in file order, a parent before its children.
fn lists_updated_before(cx: &Checker<'_, '_>) -> Vec<bool> {
    let lists = caches::named("apt-lists");
    let mut before = vec![false; cx.scripts.len()];
    let mut at_end = vec![false; cx.model.stages.len()];
    let mut walk = cx.commands_with_scripts().peekable();
    for stage in &cx.model.stages {
        let mut updated = stage.base_stage.is_some_and(|b| at_end.get(b).copied().unwrap_or(false));
        while let Some(&(script, _)) = walk.peek().filter(|(s, _)| s.stage == stage.index) {
            if let Some(slot) = walk.peek().and_then(|(_, c)| cx.script_of(c)).and_then(|k| before.get_mut(k)) {
                *slot = updated;
            }
            while let Some((_, cmd)) = walk.next_if(|(s, _)| std::ptr::eq(*s, script)) {
                let apt = cmd.name().is_some_and(is_apt);
                if apt && cmd.subcommand(APT) == Some("update") {
                    updated = true;
                } else if (apt && cmd.subcommand(APT) == Some("dist-clean"))
                    || removes(std::slice::from_ref(cmd), lists)
                {
                    updated = false;
                }
            }
        }
        at_end[stage.index] = updated;
    }
    before
}

/// Whether a later RUN of this stage, or of a stage built on it, installs with apt without an
/// `apt-get update` of its own before: it reads the lists this RUN would remove, so removing
/// them here breaks the build (the fix belongs to the last RUN that installs).
fn later_install_needs_lists(cx: &Checker<'_, '_>, script: &RunScript<'_>) -> bool {
    let later = cx.scripts.iter().filter(|s| s.index > script.index);
    later.filter(|s| cx.model.lineage(s.stage).any(|stage| stage.index == script.stage)).any(|s| {
        let commands = s.commands();
        let first_install = commands.iter().position(|c| needs_lists(c));
        let first_update =
            commands.iter().position(|c| c.name().is_some_and(is_apt) && c.subcommand(APT) == Some("update"));
        match (first_install, first_update) {
            (Some(install), Some(update)) => install < update,
            (install, _) => install.is_some(),
        }
    })
}

/// apt commands that read the package lists.
fn needs_lists(c: &RunCommand<'_, '_>) -> bool {
    c.name().is_some_and(is_apt)
        && matches!(
            c.subcommand(APT),
            Some("install" | "upgrade" | "dist-upgrade" | "full-upgrade" | "build-dep" | "source" | "download")
        )
}
