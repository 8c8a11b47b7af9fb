//! The one table of well-known directories that package managers and build tools fill with
//! bytes nobody needs at run time (downloads, indexes, build caches, logs), of documentation a
//! slim image leaves out, and of bytecode an interpreter rewrites at will. The lint rules, the
//! analyzer's cache report and the rewrite's safety check (what may differ between two images
//! that do the same) read it.

/// What a well-known directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// A package manager's index of what it can install (`apt-get update`).
    PackageIndex,
    /// Downloaded packages or sources, kept to be reused.
    Downloads,
    /// Compiler or build-tool output kept to be reused.
    BuildCache,
    /// Manual pages, package docs, translations.
    Docs,
    /// Scratch space.
    Temp,
    /// What a package manager logs while it installs: what, and when.
    Logs,
    /// Compiled bytecode an interpreter writes beside the sources (and writes again when they
    /// change): used at run time, but never the same bytes in two builds.
    Bytecode,
}

/// One well-known directory (or group of them).
#[derive(Debug, PartialEq, Eq)]
pub struct WellKnown {
    /// Short stable name, as the analyzer reports it: `apt-lists`, `pip`, `go-build`...
    pub name: &'static str,
    pub holds: Holds,
    /// Absolute directories (or files, for logs); a leading `~/` stands for every home directory
    /// (`/root` and each `/home/NAME`), a leading `*/` for every directory of that name, at any
    /// depth. The first is where it is for root, as the official images set things up.
    pub dirs: &'static [&'static str],
}

use Holds::*;

/// Every well-known directory imgopt knows.
pub static WELL_KNOWN: &[WellKnown] = &[
    WellKnown { name: "apt-lists", holds: PackageIndex, dirs: &["/var/lib/apt/lists"] },
    WellKnown { name: "apt-archives", holds: Downloads, dirs: &["/var/cache/apt"] },
    WellKnown { name: "apk", holds: Downloads, dirs: &["/var/cache/apk", "/etc/apk/cache"] },
    WellKnown { name: "dnf", holds: Downloads, dirs: &["/var/cache/dnf", "/var/cache/libdnf5"] },
    WellKnown { name: "yum", holds: Downloads, dirs: &["/var/cache/yum"] },
    WellKnown { name: "zypper", holds: Downloads, dirs: &["/var/cache/zypp"] },
    WellKnown { name: "pip", holds: Downloads, dirs: &["~/.cache/pip"] },
    WellKnown { name: "npm", holds: Downloads, dirs: &["~/.npm"] },
    WellKnown {
        name: "yarn",
        holds: Downloads,
        dirs: &["/usr/local/share/.cache/yarn", "~/.cache/yarn", "~/.yarn/cache", "~/.yarn/berry/cache"],
    },
    WellKnown { name: "pnpm", holds: Downloads, dirs: &["~/.local/share/pnpm/store", "~/.cache/pnpm", "/pnpm/store"] },
    WellKnown { name: "go-build", holds: BuildCache, dirs: &["~/.cache/go-build"] },
    WellKnown { name: "go-mod", holds: Downloads, dirs: &["/go/pkg/mod", "~/go/pkg/mod"] },
    WellKnown { name: "cargo-registry", holds: Downloads, dirs: &["/usr/local/cargo/registry", "~/.cargo/registry"] },
    WellKnown { name: "gem", holds: Downloads, dirs: &["~/.gem", "/usr/local/bundle/cache", "~/.bundle/cache"] },
    WellKnown { name: "composer", holds: Downloads, dirs: &["~/.composer/cache", "~/.cache/composer"] },
    WellKnown { name: "maven", holds: Downloads, dirs: &["~/.m2/repository"] },
    WellKnown { name: "gradle", holds: Downloads, dirs: &["~/.gradle/caches", "~/.gradle/wrapper/dists"] },
    WellKnown {
        name: "docs",
        holds: Docs,
        dirs: &["/usr/share/man", "/usr/share/doc", "/usr/share/info", "/usr/share/locale"],
    },
    WellKnown { name: "tmp", holds: Temp, dirs: &["/tmp", "/var/tmp"] },
    WellKnown {
        name: "package-logs",
        holds: Logs,
        dirs: &[
            "/var/log/apt",
            "/var/log/dpkg.log",
            "/var/log/alternatives.log",
            "/var/log/dnf.log",
            "/var/log/dnf.librepo.log",
            "/var/log/dnf.rpm.log",
            "/var/log/hawkey.log",
            "/var/log/yum.log",
        ],
    },
    // ldconfig's record of the directories it scanned (inodes and times): new in every build.
    WellKnown { name: "ldconfig", holds: BuildCache, dirs: &["/var/cache/ldconfig"] },
    WellKnown { name: "python-bytecode", holds: Bytecode, dirs: &["*/__pycache__"] },
];

/// The entry called `name`. Panics on a name not in the table: the names are constants.
pub fn named(name: &str) -> &'static WellKnown {
    WELL_KNOWN.iter().find(|w| w.name == name).unwrap_or_else(|| panic!("no well-known directory `{name}`"))
}

/// The entry whose directory holds `path` (absolute, or relative to `/` as in a layer), and
/// that directory as it appears in `path` (`/home/app/.cache/pip` for a file below it).
pub fn classify(path: &str) -> Option<(&'static WellKnown, String)> {
    let path = normalize(path);
    WELL_KNOWN.iter().find_map(|w| w.dir_holding(&path).map(|dir| (w, dir)))
}

/// `/`-rooted, without a trailing `/`.
fn normalize(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.starts_with('/') {
        true => trimmed.to_string(),
        false => format!("/{trimmed}"),
    }
}

impl WellKnown {
    /// The first directory, for root (`~/.npm` is `/root/.npm`). An entry found anywhere
    /// (`*/__pycache__`) has no such directory: this is its pattern.
    pub fn root_dir(&self) -> String {
        expand_home(self.dirs[0], "/root")
    }

    /// The directory of this entry that holds `path` (is `path` or an ancestor of it), with
    /// `~` resolved to the home it matched.
    fn dir_holding(&self, path: &str) -> Option<String> {
        self.dirs.iter().find_map(|dir| {
            if let Some(name) = dir.strip_prefix("*/") {
                return named_dir(path, name);
            }
            let dir = match dir.strip_prefix("~/") {
                None => dir.to_string(),
                Some(rest) => expand_home(&format!("~/{rest}"), home_of(path)?),
            };
            is_within(path, &dir).then_some(dir)
        })
    }

    /// Whether `path` is one of the directories or inside one.
    pub fn contains(&self, path: &str) -> bool {
        self.dir_holding(&normalize(path)).is_some()
    }

    /// Whether a mount or removal at `path` takes in the whole of one of the directories
    /// (`path` is it or an ancestor), or part of one.
    pub fn touched_by(&self, path: &str) -> bool {
        let path = normalize(path);
        if self.contains(&path) {
            return true;
        }
        // A directory found anywhere is taken in only from inside it (above: `contains`).
        self.dirs.iter().filter(|dir| !dir.starts_with("*/")).any(|dir| {
            let dir = match home_of(&path) {
                Some(home) => expand_home(dir, home),
                None => expand_home(dir, "/root"),
            };
            path != "/" && is_within(&dir, &path)
        })
    }
}

/// The first directory of `path` (itself or an ancestor) called `name`.
fn named_dir(path: &str, name: &str) -> Option<String> {
    let mut end = 0;
    for part in path.split('/') {
        end += part.len();
        if part == name {
            return Some(path[..end].to_string());
        }
        end += 1;
    }
    None
}

/// `child` is `parent` or below it.
fn is_within(child: &str, parent: &str) -> bool {
    child.strip_prefix(parent).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The home directory `path` is in: `/root` or `/home/NAME`.
fn home_of(path: &str) -> Option<&str> {
    if is_within(path, "/root") {
        return Some("/root");
    }
    let rest = path.strip_prefix("/home/")?;
    let user_end = rest.find('/').unwrap_or(rest.len());
    Some(&path[.."/home/".len() + user_end])
}

fn expand_home(dir: &str, home: &str) -> String {
    match dir.strip_prefix("~/") {
        Some(rest) => format!("{home}/{rest}"),
        None => dir.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_entry_has_a_directory() {
        for (i, w) in WELL_KNOWN.iter().enumerate() {
            assert!(!w.dirs.is_empty(), "{}", w.name);
            assert!(WELL_KNOWN[..i].iter().all(|o| o.name != w.name), "{} twice", w.name);
            let rooted = |d: &&str| d.starts_with('/') || d.starts_with("~/") || d.starts_with("*/");
            assert!(w.dirs.iter().all(rooted), "{}", w.name);
        }
    }

    #[test]
    fn paths_are_classified_in_every_home() {
        let name = |p: &str| classify(p).map(|(w, dir)| (w.name, dir));
        assert_eq!(name("var/lib/apt/lists/x_Packages"), Some(("apt-lists", "/var/lib/apt/lists".into())));
        assert_eq!(name("/root/.cache/pip/http/x"), Some(("pip", "/root/.cache/pip".into())));
        assert_eq!(name("home/app/.npm/_cacache/x"), Some(("npm", "/home/app/.npm".into())));
        assert_eq!(name("go/pkg/mod/cache/download/x"), Some(("go-mod", "/go/pkg/mod".into())));
        assert_eq!(name("root/.cache/go-build/ab/x"), Some(("go-build", "/root/.cache/go-build".into())));
        assert_eq!(name("usr/share/man/man1/ls.1.gz").map(|n| n.0), Some("docs"));
        assert_eq!(name("var/log/dpkg.log").map(|n| n.0), Some("package-logs"));
        assert_eq!(name("var/log/apt/term.log"), Some(("package-logs", "/var/log/apt".into())));
        assert_eq!(name("var/cache/ldconfig/aux-cache").map(|n| n.0), Some("ldconfig"));
        let bytecode = "usr/lib/python3/dist-packages/flask/__pycache__/app.cpython-311.pyc";
        assert_eq!(
            name(bytecode),
            Some(("python-bytecode", "/usr/lib/python3/dist-packages/flask/__pycache__".into()))
        );
        assert_eq!(name("__pycache__/x.pyc"), Some(("python-bytecode", "/__pycache__".into())));
        assert_eq!(name("srv/__pycache__x/y"), None);
        assert_eq!(name("var/lib/apt/listsx"), None);
        assert_eq!(name("home/.npm/x"), None, "no user name");
        assert_eq!(named("npm").root_dir(), "/root/.npm");
    }

    #[test]
    fn mounts_and_removals_that_take_a_directory_in() {
        assert!(named("apt-lists").touched_by("/var/lib/apt"));
        assert!(named("apt-lists").touched_by("/var/lib/apt/lists/"));
        assert!(named("pip").touched_by("/root/.cache"));
        assert!(named("pip").touched_by("/home/app/.cache/pip/wheels"));
        assert!(!named("pip").touched_by("/"));
        assert!(!named("apt-lists").touched_by("/var/cache/apt"));
        assert!(named("dnf").touched_by("/var/cache"));
        assert!(named("python-bytecode").touched_by("/app/__pycache__/x.pyc"));
        assert!(!named("python-bytecode").touched_by("/app"), "a pattern is not under any one directory");
    }
}
