use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::dependencies::dependency_install;
use crate::model::instruction::Command;
use crate::model::run_script::{RunCommand, PLAIN};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG301",
        name: "copy-context-before-install",
        category: Category::Cache,
        summary: "The whole build context is copied before the dependency install.",
        why: "A COPY layer's cache key is the content of everything it copies: with `COPY . .` first, editing any source file invalidates the cache and the dependency install runs again on every build. Copy the manifests, install, then copy the rest.",
        bad: "FROM node:22-alpine\nWORKDIR /app\n# flagged: any change re-runs npm ci\nCOPY . .\nRUN npm ci\n",
        good: "FROM node:22-alpine\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN npm ci\nCOPY . .\n",
        notes: "Installs recognised: npm ci/install, yarn (install), pnpm install, pip install -r, poetry install, pipenv install, bundle install, go mod download, `go get -d` of local packages, dotnet restore (and `dotnet publish`/`dotnet build` without `--no-restore` when no `dotnet restore` ran before in the stage: they restore the packages themselves), cargo fetch, composer install, mvn dependency:*, gradle dependencies.",
        ..RuleMeta::DEFAULT
    },
    check,
};

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
        let scripts = || cx.scripts.iter().filter(|s| stage.instructions.contains(&s.index));
        // `dotnet publish`/`build` restore on their own unless a `dotnet restore` came first.
        let restored = scripts().any(|s| {
            s.index < copy
                && s.commands().iter().any(|c| c.name() == Some("dotnet") && c.subcommand(PLAIN) == Some("restore"))
        });
        let restores_itself = |c: &RunCommand<'_, '_>| {
            !restored
                && c.name() == Some("dotnet")
                && matches!(c.subcommand(PLAIN), Some("publish" | "build"))
                && !c.args().iter().any(|w| w.text == "--no-restore")
        };
        let install = scripts().filter(|s| s.index > copy).find_map(|s| {
            s.commands().into_iter().find(|c| dependency_install(c).is_some() || restores_itself(c)).map(|c| c.span())
        });
        if let Some(install) = install {
            let span = cx.span_of(copy);
            cx.report(span, "the whole context is copied before the dependency install, so any file change re-runs it")
                .related(install, "this install runs again whenever any file changes")
                .help("copy only the dependency manifests first, install, then copy the rest");
        }
    }
}
