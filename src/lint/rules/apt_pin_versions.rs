use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::run_script::{all_commands, is_apt_install, APK, APT};
use crate::lint::{Category, Severity};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG123",
        name: "unpinned-apt-package",
        category: Category::Correctness,
        severity: Severity::Info,
        hadolint: &["DL3008"],
        buildkit: None,
        fix: None,
        summary: "`apt-get install` of a package without a version.",
        why: "Unpinned packages make two builds of the same file differ: a new upstream version can break the image without any change to the Dockerfile.",
        bad: "FROM debian:12-slim\n# flagged: curl is unpinned\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
        good: "FROM debian:12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8\n",
        notes: "Info by default (hadolint: warning): pinning exact Debian versions breaks when the archive drops them, so many teams pin the base image digest instead. Local `.deb` files and variables are not reported.",
        config: "",
    },
    check,
};

fn check(cx: &mut Checker<'_, '_>) {
    report_unpinned(cx, OsPackages::Apt);
}

/// Which package manager a pinning rule looks at.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum OsPackages {
    Apt,
    Apk,
}

/// Reports every package of `manager` installed without `=version` (shared with the apk rule).
pub(super) fn report_unpinned(cx: &mut Checker<'_, '_>, manager: OsPackages) {
    let scripts = cx.scripts.clone();
    for cmd in all_commands(&scripts) {
        let packages: Vec<_> = match manager {
            OsPackages::Apt if is_apt_install(&cmd) => cmd.operands(APT).into_iter().skip(1).collect(),
            OsPackages::Apk if cmd.name() == Some("apk") && cmd.subcommand(APK) == Some("add") => {
                cmd.operands(APK).into_iter().skip(1).collect()
            }
            _ => continue,
        };
        for word in packages {
            let text = &*word.text;
            let local_file = text.ends_with(".deb") || text.ends_with(".apk") || text.contains('/');
            if word.expansion || text.contains('=') || local_file {
                continue;
            }
            cx.report(
                cmd.span_of(&word.span),
                format!("package `{text}` has no pinned version"),
            )
            .help(format!("pin it: `{text}=<version>`"));
        }
    }
}
