use super::{Rule, RuleMeta};
use crate::lint::checker::edit;
use crate::lint::checker::Checker;
use crate::lint::{Applicability, Category, Severity};
use crate::model::caches::{self, WellKnown};
use crate::model::run_script::{RunCommand, PLAIN};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG210",
        name: "language-package-cache-left",
        category: Category::Size,
        severity: Severity::Info,
        hadolint: &["DL3060"],
        fix: Some(Applicability::Unsafe),
        summary: "npm, yarn, composer, go or cargo downloads left in their cache inside the layer.",
        why: "Language package managers keep every download in a cache directory (~/.npm, the yarn cache, ~/.composer/cache, the Go build and module caches, ~/.cargo/registry). In an image the cache is dead weight stored in the layer. Mount it as a build cache instead: it is then reused across builds and never shipped.",
        bad: "FROM node:22-alpine\nWORKDIR /app\nCOPY package.json package-lock.json ./\n# flagged: ~/.npm stays in the layer\nRUN npm ci\n",
        good: "FROM node:22-alpine\nWORKDIR /app\nCOPY package.json package-lock.json ./\nRUN --mount=type=cache,target=/root/.npm npm ci\n",
        notes: "Not reported when the RUN mounts a cache on the manager's cache directory or cleans it in the same RUN (`npm cache clean`, `yarn cache clean`, `composer clear-cache`, `go clean -cache -modcache`, removing the directory). Only stages that end up in the final image are checked. The fix appends the manager's own cache cleaning (`npm cache clean --force`, `yarn cache clean`, `composer clear-cache`; none for go and cargo, whose caches a later build in the image may rely on) to the RUN; it is unsafe because it changes the layer (and a later RUN may have used the cache). hadolint DL3060 covers only `yarn install` without `yarn cache clean`; imgopt also reads npm, composer, go and cargo, and a bare `yarn` (which installs), not `yarn --version`.",
        ..RuleMeta::DEFAULT
    },
    check,
};

/// The manager a command installs or builds with, and the cache it fills.
fn manager(cmd: &RunCommand<'_, '_>) -> Option<(&'static str, &'static WellKnown)> {
    let sub = cmd.subcommand(PLAIN);
    let (name, cache) = match cmd.name()? {
        "npm" if matches!(sub, Some("ci" | "install" | "i")) => ("npm", "npm"),
        "yarn" if crate::model::cleanup::installs(cmd, "npm") => ("yarn", "yarn"),
        "composer" if matches!(sub, Some("install" | "update" | "require")) => ("composer", "composer"),
        "go" if matches!(sub, Some("build" | "install" | "mod")) => ("go", "go-build"),
        "cargo" if matches!(sub, Some("build" | "install" | "fetch")) => ("cargo", "cargo-registry"),
        _ => return None,
    };
    Some((name, caches::named(cache)))
}

fn cleans(cmd: &RunCommand<'_, '_>, name: &str) -> bool {
    let sub = cmd.subcommand(PLAIN);
    match (cmd.name(), name) {
        (Some("npm" | "yarn"), "npm" | "yarn") => sub == Some("cache"),
        (Some("composer"), "composer") => matches!(sub, Some("clear-cache" | "clearcache")),
        (Some("go"), "go") => sub == Some("clean"),
        (Some("rm"), _) => cmd
            .args()
            .iter()
            .any(|w| w.text.contains("cache") || w.text.contains(".npm") || w.text.contains("registry")),
        _ => false,
    }
}

/// The command that empties `name`'s download cache (what the fix appends).
fn clean_command(name: &str) -> Option<&'static str> {
    match name {
        "npm" => Some("npm cache clean --force"),
        "yarn" => Some("yarn cache clean"),
        "composer" => Some("composer clear-cache"),
        _ => None,
    }
}

fn check(cx: &Checker<'_, '_>) {
    for script in cx.shipping_scripts() {
        let commands = script.commands();
        let mut seen: Vec<&str> = Vec::new();
        for cmd in &commands {
            let Some((name, cache)) = manager(cmd) else { continue };
            let dir = cache.root_dir();
            let cache_dir_word = dir.rsplit('/').next().unwrap_or(&dir);
            let mounted = script.run.flags.iter().any(|f| {
                f.name() == "mount" && f.value().is_some_and(|v| v.contains("type=cache") && v.contains(cache_dir_word))
            });
            if seen.contains(&name)
                || mounted
                || script.has_cache_mount_on(cache)
                || commands.iter().any(|c| cleans(c, name))
            {
                continue;
            }
            seen.push(name);
            let report = cx
                .report(cmd.span(), format!("`{name}` leaves its download cache in this layer"))
                .help(format!("use `RUN --mount=type=cache,target={dir} ...`, or clean the cache in the same RUN"));
            if let (Some(end), Some(clean)) = (script.line_end(), clean_command(name)) {
                report.fix(
                    format!("clean the cache in the same RUN (`{clean}`)"),
                    Applicability::Unsafe,
                    vec![edit(end..end, format!(" \\\n && {clean}"))],
                );
            }
        }
    }
}
