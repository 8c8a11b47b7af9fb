use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::{Applicability, Category};
use crate::model::caches;
use crate::model::instruction::Command;
use crate::model::run_script::{is_pip_install, PIP};
use crate::model::state::fold_stage;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG204",
        name: "pip-without-no-cache-dir",
        category: Category::Size,
        hadolint: &["DL3042"],
        fix: Some(Applicability::Safe),
        summary: "`pip install` without `--no-cache-dir`.",
        why: "pip keeps every downloaded wheel in ~/.cache/pip; in an image that cache is never used again but is stored in the layer, often doubling what the install adds.",
        bad: "FROM python:3.12-slim\n# flagged: wheels cached in the layer\nRUN pip install requests==2.32.3\n",
        good: "FROM python:3.12-slim\nRUN pip install --no-cache-dir requests==2.32.3\n",
        notes: "`--no-cache` counts (pip takes an unambiguous prefix of a long option). Not reported when the stage, or the in-file stage it is built `FROM`, sets `PIP_NO_CACHE_DIR`, or the RUN mounts a cache on /root/.cache. Only stages that end up in the final image are checked. The fix adds `--no-cache-dir`.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    if !cx.commands.iter().any(is_pip_install) {
        return;
    }
    // Whether ENV sets PIP_NO_CACHE_DIR before each instruction, in the stage or in the in-file
    // stage it is built FROM (stages are in file order, so a parent is done first).
    let mut env_set = vec![false; cx.df.instructions.len()];
    let mut set_at_end = vec![false; cx.model.stages.len()];
    for stage in &cx.model.stages {
        let inherited = stage.base_stage.is_some_and(|b| set_at_end.get(b).copied().unwrap_or(false));
        fold_stage(cx.df, stage, |index, state| {
            env_set[index] = inherited || state.config.env.iter().any(|(k, _)| k == "PIP_NO_CACHE_DIR");
        });
        set_at_end[stage.index] = inherited
            || cx
                .df
                .commands_in(stage.instructions.clone())
                .any(|(_, c)| matches!(c, Command::Env(pairs) if pairs.iter().any(|kv| kv.key == "PIP_NO_CACHE_DIR")));
    }
    for script in cx.shipping_scripts() {
        if script.has_cache_mount_on(caches::named("pip")) || env_set[script.index] {
            continue;
        }
        for cmd in script.commands().iter().filter(|c| is_pip_install(c)) {
            // pip takes any unambiguous prefix of a long option: `--no-cache` is `--no-cache-dir`.
            if cmd.has_option(PIP, None, &["no-cache-dir", "no-cache-di", "no-cache-d", "no-cache-", "no-cache"]) {
                continue;
            }
            let install = cmd.args().iter().find(|w| w.text == "install");
            let report = cx.report(cmd.span(), "`pip install` without `--no-cache-dir` keeps pip's cache in the layer");
            if let Some(install) = install {
                let at = cmd.span_of(&install.span).end;
                report.fix("add --no-cache-dir", Applicability::Safe, vec![edit(at..at, " --no-cache-dir")]);
            }
        }
    }
}
