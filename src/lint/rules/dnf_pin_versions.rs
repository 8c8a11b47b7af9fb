use super::helpers::{report_unpinned, OsPackages};
use super::{Rule, RuleMeta};
use crate::lint::Severity;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG132",
        name: "unpinned-dnf-package",
        severity: Severity::Info,
        hadolint: &["DL3041"],
        summary: "`dnf install` (or `microdnf install`) of a package without a version.",
        why: "Unpinned packages make two builds of the same file differ: a new package in the repository can break the image without any change to the Dockerfile.",
        bad: "FROM fedora:40\n# flagged: nginx is unpinned\nRUN dnf install -y nginx && dnf clean all\n",
        good: "FROM fedora:40\nRUN dnf install -y nginx-1.26.0 && dnf clean all\n",
        notes: "A version is `name-<version>` (a dash followed by a digit). Info by default (hadolint: warning): Fedora and EPEL keep only the latest build, so exact pins break; pinning the base image digest is often the better tool. `dnf module install` is not an install of packages; local `.rpm` files, groups (`@core`), capabilities and variables are not reported. hadolint DL3041 takes any dash as a version (`python3-devel` counts as pinned); imgopt does not.",
        ..RuleMeta::DEFAULT
    },
    check: |cx| report_unpinned(cx, OsPackages::Dnf),
};
