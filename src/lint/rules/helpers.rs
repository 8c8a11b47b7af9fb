//! What several rules share: the package-pinning check of the OS and gem managers, near-miss
//! name suggestions, and what the fixes joining one RUN onto another need.

use crate::lint::checker::{edit, Checker};
use crate::lint::{Edit, Span};
use crate::model::run_script::{is_apt_install, RunCommand, APK, APT};
use crate::shell::{OptionSpec, Word};

/// Which package manager a pinning rule looks at.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OsPackages {
    Apt,
    Apk,
    Yum,
    /// dnf and microdnf.
    Dnf,
    Zypper,
    Gem,
}

/// yum / dnf options that take a value.
const RPM: OptionSpec<'static> = OptionSpec {
    short_with_value: "cdeRx",
    long_with_value: &[
        "config",
        "installroot",
        "releasever",
        "setopt",
        "exclude",
        "enablerepo",
        "disablerepo",
        "repo",
        "repoid",
        "repofrompath",
    ],
    stop_at_positional: false,
};
/// zypper options that take a value (global and `install`).
const ZYPPER: OptionSpec<'static> = OptionSpec {
    short_with_value: "tRrDc",
    long_with_value: &["type", "root", "repo", "from", "config", "reposd-dir", "cache-dir"],
    stop_at_positional: false,
};
/// `gem install` options that take a value.
const GEM: OptionSpec<'static> = OptionSpec {
    short_with_value: "vinPsg",
    long_with_value: &[
        "version",
        "install-dir",
        "bindir",
        "trust-policy",
        "source",
        "file",
        "platform",
        "document",
        "build-root",
    ],
    stop_at_positional: false,
};

impl OsPackages {
    /// The packages a command installs with this manager (none when it is not an install).
    fn installed<'s, 'd>(self, cmd: &RunCommand<'s, 'd>) -> Vec<&'s Word<'d>> {
        let name = cmd.name().unwrap_or_default();
        let (spec, installs) = match self {
            OsPackages::Apt => (APT, is_apt_install(cmd)),
            OsPackages::Apk => (APK, name == "apk" && cmd.subcommand(APK) == Some("add")),
            OsPackages::Yum => (RPM, name == "yum" && matches!(cmd.subcommand(RPM), Some("install" | "reinstall"))),
            OsPackages::Dnf => (
                RPM,
                matches!(name, "dnf" | "dnf5" | "microdnf")
                    && matches!(cmd.subcommand(RPM), Some("install" | "reinstall")),
            ),
            OsPackages::Zypper => {
                (ZYPPER, name == "zypper" && matches!(cmd.subcommand(ZYPPER), Some("install" | "in")))
            }
            OsPackages::Gem => {
                let pinned_by_option = cmd.has_option(GEM, Some('v'), &["version"]);
                (GEM, name == "gem" && cmd.subcommand(GEM) == Some("install") && !pinned_by_option)
            }
        };
        if !installs {
            return Vec::new();
        }
        cmd.operands(spec).into_iter().skip(1).collect()
    }

    /// Whether `package` (a static word) names a version, and how to write one.
    fn pinned(self, package: &str) -> bool {
        // `name-<version>` for rpm tools: a dash followed by a digit (`nginx-1.24.0`).
        let rpm_version =
            || package.match_indices('-').any(|(i, _)| package[i + 1..].starts_with(|c: char| c.is_ascii_digit()));
        match self {
            OsPackages::Apt | OsPackages::Apk => package.contains('='),
            OsPackages::Yum | OsPackages::Dnf => rpm_version(),
            OsPackages::Zypper => package.contains(['=', '<', '>']),
            OsPackages::Gem => package.contains(':'),
        }
    }

    fn local_file(self, package: &str) -> bool {
        package.contains('/') || [".deb", ".apk", ".rpm", ".gem"].iter().any(|e| package.ends_with(e))
    }

    fn how_to_pin(self, package: &str) -> String {
        match self {
            OsPackages::Apt | OsPackages::Apk | OsPackages::Zypper => format!("pin it: `{package}=<version>`"),
            OsPackages::Yum | OsPackages::Dnf => format!("pin it: `{package}-<version>`"),
            OsPackages::Gem => format!("pin it: `{package}:<version>` or `-v <version>`"),
        }
    }
}

/// Reports every package of `manager` installed without a version (shared by the pin rules).
pub fn report_unpinned(cx: &Checker<'_, '_>, manager: OsPackages) {
    for &cmd in cx.commands {
        for word in manager.installed(&cmd) {
            let text = &*word.text;
            // Variables, groups (`@core`) and capabilities (`'perl(Foo)'`) are left alone.
            if word.expansion || text.starts_with(['@', '-']) || text.contains('(') {
                continue;
            }
            if manager.pinned(text) || manager.local_file(text) {
                continue;
            }
            cx.report(cmd.span_of(&word.span), format!("package `{text}` has no pinned version"))
                .help(manager.how_to_pin(text));
        }
    }
}

/// The closest of `options` to `name` within an edit distance of 2, the first on ties:
/// BuildKit's `suggest.Search` (case-sensitive, as on Linux), behind its "did you mean".
pub fn closest<'o>(name: &str, options: &'o [String]) -> Option<&'o str> {
    let mut best: Option<&str> = None;
    let mut best_distance = 3;
    for option in options {
        let distance = levenshtein(name, option);
        if distance < best_distance {
            best = Some(option);
            best_distance = distance;
        }
    }
    best
}

/// Edit distance in characters (insertions, deletions, substitutions).
fn levenshtein(a: &str, b: &str) -> usize {
    edit_distance(a, b, false)
}

/// Whether `a` is one typo away from `b`: one character inserted, deleted, replaced, or two
/// neighbours swapped (`PAHT` for `PATH`).
pub fn one_typo_apart(a: &str, b: &str) -> bool {
    edit_distance(a, b, true) == 1
}

/// Levenshtein distance, with adjacent transpositions counting one edit when asked
/// (optimal string alignment).
fn edit_distance(a: &str, b: &str, transpositions: bool) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]; three rows are enough.
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut current = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1).min(current[j - 1] + 1).min(previous[j - 1] + cost);
            if transpositions && i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
        }
        before = std::mem::replace(&mut previous, current);
    }
    previous[b.len()]
}

/// The edit deleting the lines of the instruction at `span`, its line ending included.
pub fn delete_line_of(text: &str, span: &Span) -> Edit {
    edit(crate::model::run_join::lines_of(text, span), "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_like_buildkit() {
        let options: Vec<String> = ["PATH", "HOME", "APP_DIR"].iter().map(|s| s.to_string()).collect();
        assert_eq!(closest("PAHT", &options), Some("PATH"));
        assert_eq!(closest("APP_DRI", &options), Some("APP_DIR"));
        assert_eq!(closest("path", &options), None, "case-sensitive: four substitutions");
        assert_eq!(closest("VERSION", &options), None);
        assert_eq!(closest("X", &[]), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "ab"), 2);
        assert_eq!(levenshtein("PAHT", "PATH"), 2);
        assert!(one_typo_apart("PAHT", "PATH"));
        assert!(one_typo_apart("DIR_ASSET", "DIR_ASSETS"));
        assert!(!one_typo_apart("GOPATH", "PATH"));
        assert!(!one_typo_apart("PATH", "PATH"));
    }
}
