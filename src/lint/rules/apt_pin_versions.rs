use super::helpers::{report_unpinned, OsPackages};
use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Severity;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG123",
        name: "unpinned-apt-package",
        severity: Severity::Info,
        hadolint: &["DL3008"],
        summary: "`apt-get install` of a package without a version.",
        why: "Unpinned packages make two builds of the same file differ: a new upstream version can break the image without any change to the Dockerfile.",
        bad: "FROM debian:12-slim\n# flagged: curl is unpinned\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
        good: "FROM debian:12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl=7.88.1-10+deb12u8\n",
        notes: "Info by default (hadolint: warning): pinning exact Debian versions breaks when the archive drops them, so many teams pin the base image digest instead. Local `.deb` files and variables are not reported.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    report_unpinned(cx, OsPackages::Apt);
}
