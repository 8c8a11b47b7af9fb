use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::instruction::Command;
use crate::model::run_script::{is_pip_install, RunCommand, PIP, PLAIN};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG301",
        name: "copy-context-before-install",
        category: Category::Cache,
        summary: "The whole build context is copied before the dependency install.",
        why: "A COPY layer's cache key is the content of everything it copies: with `COPY . .` first, editing any source file invalidates the cache and the dependency install runs again on every build. Copy the manifests, install, then copy the rest.",
        bad: "FROM node:22-alpine\nWORKDIR /app\n# flagged: any change re-runs npm ci\nCOPY . .\nRUN npm ci\n",
        good: "FROM node:22-alpine\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n",
        notes: "Installs recognised: npm ci/install, yarn (install), pnpm install, pip install -r, poetry install, pipenv install, bundle install, go mod download, cargo fetch, composer install, mvn dependency:*, gradle dependencies.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn is_dependency_install(cmd: &RunCommand<'_, '_>) -> bool {
    let sub = cmd.subcommand(PLAIN);
    match cmd.name() {
        Some("npm") => matches!(sub, Some("ci" | "install" | "i")) && cmd.operands(PLAIN).len() == 1,
        Some("yarn") => matches!(sub, None | Some("install")),
        Some("pnpm") => sub == Some("install"),
        Some("poetry" | "pipenv" | "bundle" | "composer") => sub == Some("install"),
        Some("go") => cmd.operands(PLAIN).iter().map(|w| &*w.text).collect::<Vec<_>>() == ["mod", "download"],
        Some("cargo") => sub == Some("fetch"),
        Some("mvn" | "mvnw" | "gradle" | "gradlew") => {
            cmd.args().iter().any(|w| w.text.starts_with("dependency:") || w.text == "dependencies")
        }
        _ => is_pip_install(cmd) && cmd.has_option(PIP, Some('r'), &["requirement"]),
    }
}

fn copies_whole_context(command: &Command) -> bool {
    matches!(command, Command::Copy(copy)
        if copy.from_context() && copy.paths().any(|p| matches!(p.text.as_str(), "." | "./" | "*" | "./*")))
}

fn check(cx: &Checker<'_, '_>) {
    for stage in &cx.model.stages {
        let Some(copy) = stage.instructions.clone().find(|&i| cx.df.command(i).is_some_and(copies_whole_context))
        else {
            continue;
        };
        let install = cx
            .scripts
            .iter()
            .filter(|s| s.index > copy && stage.instructions.contains(&s.index))
            .find_map(|s| s.commands().into_iter().find(is_dependency_install).map(|c| c.span()));
        if let Some(install) = install {
            let span = cx.span_of(copy);
            cx.report(span, "the whole context is copied before the dependency install, so any file change re-runs it")
                .related(install, "this install runs again whenever any file changes")
                .help("copy only the dependency manifests first, install, then copy the rest");
        }
    }
}
