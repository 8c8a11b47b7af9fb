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
        notes: "`--no-cache` counts (pip takes an unambiguous prefix of a long option). In a stage whose SHELL is PowerShell or cmd (Windows images) the RUN is read as statements of words (`pip`, `pip.exe`, `python -m pip`), reported on the RUN without a fix. Not reported when the stage, or the in-file stage it is built `FROM`, sets `PIP_NO_CACHE_DIR`, or the RUN mounts a cache on /root/.cache. Only stages that end up in the final image are checked. The fix adds `--no-cache-dir`.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    check_other_shells(cx);
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

/// The RUNs of stages whose SHELL is not a POSIX shell (PowerShell or cmd on Windows images)
/// are not parsed as shell scripts; their statements are read as words: `pip install` (also
/// `pip3`, `pip.exe`, `python -m pip`, `py -m pip`) without `--no-cache-dir` or a prefix of it,
/// in a shipped stage without `PIP_NO_CACHE_DIR`. Reported on the RUN's arguments; no fix.
fn check_other_shells(cx: &Checker<'_, '_>) {
    let ships = cx.model.shipping_stages();
    for stage in cx.model.stages.iter().filter(|s| ships.get(s.index).copied().unwrap_or(false)) {
        let mut found = Vec::new();
        fold_stage(cx.df, stage, |index, state| {
            let shell = state.shell();
            let program = shell.first().map(|p| p.rsplit(['/', '\\']).next().unwrap_or(p).to_ascii_lowercase());
            let posix = program.as_deref().is_none_or(|p| {
                !matches!(p, "powershell" | "powershell.exe" | "pwsh" | "pwsh.exe" | "cmd" | "cmd.exe")
            });
            if posix || state.config.env.iter().any(|(k, _)| k == "PIP_NO_CACHE_DIR") {
                return;
            }
            if let Some(Command::Run(run)) = cx.df.command(index) {
                if let crate::model::instruction::CommandLine::Shell(text) = &run.command {
                    if pip_install_without_no_cache(text) {
                        found.push(index);
                    }
                }
            }
        });
        for index in found {
            let span = cx.df.instructions[index].args_span.clone();
            cx.report(span, "`pip install` without `--no-cache-dir` keeps pip's cache in the layer");
        }
    }
}

/// Whether a statement of `text` (split at `;`, `|`, `&`, newlines) runs pip's install without
/// `--no-cache-dir` (or an unambiguous prefix of it).
fn pip_install_without_no_cache(text: &str) -> bool {
    text.split([';', '|', '&', '\n']).any(|statement| {
        let words: Vec<String> =
            statement.split_whitespace().map(|w| w.trim_matches(['"', '\'']).to_ascii_lowercase()).collect();
        let pip = words.iter().position(|w| {
            let name = w.rsplit(['/', '\\']).next().unwrap_or(w);
            let name = name.strip_suffix(".exe").unwrap_or(name);
            name == "pip" || name.starts_with("pip3") || name == "pip2"
        });
        let module = words.windows(2).position(|p| p[0] == "-m" && p[1] == "pip").map(|i| i + 1);
        let Some(at) = pip.or(module) else { return false };
        words[at + 1..].iter().any(|w| w == "install")
            && !words.iter().any(|w| w.starts_with("--no-cache") && "--no-cache-dir".starts_with(w.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::pip_install_without_no_cache;

    #[test]
    fn pip_in_powershell_statements() {
        assert!(pip_install_without_no_cache("$ErrorActionPreference = 'Stop'; pip install requests"));
        assert!(pip_install_without_no_cache("C:\\Python\\Scripts\\pip.exe install flask"));
        assert!(pip_install_without_no_cache("python -m pip install --upgrade pip"));
        assert!(!pip_install_without_no_cache("pip install --no-cache-dir requests"));
        assert!(!pip_install_without_no_cache("pip install --no-cache requests"));
        assert!(!pip_install_without_no_cache("pip --version; Write-Host install"));
        assert!(!pip_install_without_no_cache("choco install python"));
    }
}
