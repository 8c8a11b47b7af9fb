use super::helpers::{report_unpinned, OsPackages};
use super::{Rule, RuleMeta};
use crate::lint::Severity;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG133",
        name: "unpinned-zypper-package",
        severity: Severity::Info,
        hadolint: &["DL3037"],
        summary: "`zypper install` of a package without a version.",
        why: "Unpinned packages make two builds of the same file differ: a new package in the repository can break the image without any change to the Dockerfile.",
        bad: "FROM opensuse/leap:15.6\n# flagged: curl is unpinned\nRUN zypper install -y curl && zypper clean\n",
        good: "FROM opensuse/leap:15.6\nRUN zypper install -y curl=8.6.0 && zypper clean\n",
        notes: "A version is written with `=`, `>=`, `<` and the like (`curl>=8`). Info by default (hadolint: warning), as for the other distribution package managers. Local `.rpm` files, patterns and variables are not reported.",
        ..RuleMeta::DEFAULT
    },
    check: |cx| report_unpinned(cx, OsPackages::Zypper),
};
