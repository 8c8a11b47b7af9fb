use super::helpers::{report_unpinned, OsPackages};
use super::{Rule, RuleMeta};
use crate::lint::Severity;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG131",
        name: "unpinned-yum-package",
        severity: Severity::Info,
        hadolint: &["DL3033"],
        summary: "`yum install` of a package without a version.",
        why: "Unpinned packages make two builds of the same file differ: a new package in the repository can break the image without any change to the Dockerfile.",
        bad: "FROM centos:7\n# flagged: httpd is unpinned\nRUN yum install -y httpd && yum clean all\n",
        good: "FROM centos:7\nRUN yum install -y httpd-2.4.6 && yum clean all\n",
        notes: "A version is `name-<version>` (a dash followed by a digit, as rpm writes it). Info by default (hadolint: warning): many repositories keep only the latest build, so exact pins break; pinning the base image digest is often the better tool. Local `.rpm` files, groups (`@core`), capabilities (`perl(Foo)`) and variables are not reported. hadolint DL3033 takes any dash as a version (`python3-devel` counts as pinned); imgopt does not.",
        ..RuleMeta::DEFAULT
    },
    check: |cx| report_unpinned(cx, OsPackages::Yum),
};
