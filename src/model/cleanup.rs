//! What a RUN's commands remove and what fills a package manager's cache: shared by the
//! cleanup lint rule (a cleanup in its own layer frees nothing) and the rewriter (which moves
//! that cleanup into the layer that created the files).

use super::caches;
use super::run_script::{is_apt_install, is_pip_install, RunCommand, RunScript, PLAIN};

/// What a cleanup command removes: paths, or a package manager's cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removes<'s> {
    Paths(Vec<&'s str>),
    Cache(&'static str),
}

/// What `cmd` removes, when it is a cleanup: `rm` of paths, `apt-get clean`, `yum`/`dnf
/// clean`, `apk cache clean`, `pip cache purge`, `npm`/`yarn cache clean`, `composer
/// clear-cache`, `go clean`.
pub fn cleanup<'s>(cmd: &RunCommand<'s, '_>) -> Option<Removes<'s>> {
    let name = cmd.name()?;
    let sub = cmd.subcommand(PLAIN);
    match (name, sub) {
        ("rm", _) => {
            let paths: Vec<&str> = cmd.operands(PLAIN).iter().map(|w| &*w.text).collect();
            (!paths.is_empty()).then_some(Removes::Paths(paths))
        }
        ("apt-get" | "apt", Some("clean" | "autoclean" | "dist-clean")) => Some(Removes::Cache("apt")),
        ("yum" | "dnf" | "microdnf", Some("clean")) => Some(Removes::Cache("rpm")),
        ("apk", Some("cache")) => Some(Removes::Cache("apk")),
        ("pip" | "pip3", Some("cache")) => Some(Removes::Cache("pip")),
        ("npm" | "yarn", Some("cache")) => Some(Removes::Cache("npm")),
        ("composer", Some("clear-cache" | "clearcache")) => Some(Removes::Cache("composer")),
        ("go", Some("clean")) => Some(Removes::Cache("go")),
        _ => None,
    }
}

/// Commands that neither create nor delete anything worth a layer.
pub fn is_noise(cmd: &RunCommand<'_, '_>) -> bool {
    matches!(cmd.name(), Some("set" | "true" | ":" | "echo" | "printf") | None)
}

/// What a RUN whose every command (noise aside) is a cleanup removes; None for a RUN that
/// does other work too.
pub fn cleanup_only<'s>(commands: &[RunCommand<'s, '_>]) -> Option<Vec<Removes<'s>>> {
    let work: Vec<&RunCommand<'s, '_>> = commands.iter().filter(|c| !is_noise(c)).collect();
    let removals: Vec<Removes<'s>> = work.iter().map_while(|c| cleanup(c)).collect();
    (!removals.is_empty() && removals.len() == work.len()).then_some(removals)
}

/// Whether the RUN `script` (whose source text is `text`) filled the cache `removes` names,
/// or wrote under one of its paths.
pub fn run_creates(script: &RunScript<'_>, text: &str, removes: &Removes<'_>) -> bool {
    let commands = script.commands();
    match removes {
        Removes::Cache(kind) => commands.iter().any(|c| installs(c, kind)),
        Removes::Paths(paths) => paths.iter().any(|p| {
            let dir = p.trim_end_matches('*').trim_end_matches('/');
            let absolute = dir.starts_with('/');
            if absolute && ["apt-lists", "apt-archives"].iter().any(|c| caches::named(c).contains(dir)) {
                return commands.iter().any(|c| installs(c, "apt") || c.subcommand(PLAIN) == Some("update"));
            }
            if absolute && caches::named("apk").contains(dir) {
                return commands.iter().any(|c| installs(c, "apk"));
            }
            if absolute && caches::named("pip").touched_by(dir) {
                return commands.iter().any(|c| installs(c, "pip"));
            }
            // Otherwise: the earlier RUN names the path (curl -o, wget -O, tar -C, mkdir, ...).
            dir.len() > 1 && dir != "/tmp" && text.contains(dir)
        }),
    }
}

/// Whether `cmd` fills the cache of package manager `kind` (`apt`, `rpm`, `apk`, `pip`,
/// `npm`, `composer`, `go`).
pub fn installs(cmd: &RunCommand<'_, '_>, kind: &str) -> bool {
    let name = cmd.name().unwrap_or_default();
    let sub = cmd.subcommand(PLAIN);
    match kind {
        "apt" => is_apt_install(cmd) || (matches!(name, "apt-get" | "apt") && sub == Some("update")),
        "rpm" => matches!(name, "yum" | "dnf" | "microdnf") && matches!(sub, Some("install" | "update" | "upgrade")),
        "apk" => name == "apk" && sub == Some("add"),
        "pip" => is_pip_install(cmd),
        // A bare `yarn` installs; `yarn --version` only asks.
        "npm" => {
            let asks = || cmd.args().iter().any(|w| matches!(&*w.text, "--version" | "-v" | "--help" | "-h"));
            matches!(name, "npm" | "yarn")
                && (matches!(sub, Some("install" | "ci" | "add")) || (sub.is_none() && !asks()))
        }
        "composer" => name == "composer" && matches!(sub, Some("install" | "update" | "require")),
        "go" => name == "go" && matches!(sub, Some("build" | "install" | "get" | "mod")),
        _ => false,
    }
}

/// Whether a COPY/ADD destination holds a removed path.
pub fn copies_into(dest: &str, removals: &[Removes<'_>]) -> bool {
    let dest = dest.trim_end_matches('/');
    !dest.is_empty()
        && removals.iter().any(|r| match r {
            Removes::Paths(paths) => paths.iter().any(|p| {
                let p = p.trim_end_matches('*').trim_end_matches('/');
                p == dest || p.starts_with(&format!("{dest}/")) || (dest.starts_with(p) && p.len() > 1)
            }),
            Removes::Cache(_) => false,
        })
}
