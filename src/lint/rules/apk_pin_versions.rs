use super::helpers::{report_unpinned, OsPackages};
use super::{Rule, RuleMeta};
use crate::lint::Severity;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG129",
        name: "unpinned-apk-package",
        severity: Severity::Info,
        hadolint: &["DL3018"],
        summary: "`apk add` of a package without a version.",
        why: "Unpinned packages make two builds of the same file differ: a new Alpine package version can break the image without any change to the Dockerfile.",
        bad: "FROM alpine:3.20\n# flagged: curl is unpinned\nRUN apk add --no-cache curl\n",
        good: "FROM alpine:3.20\nRUN apk add --no-cache curl=8.9.1-r2\n",
        notes: "Info by default (hadolint: warning): Alpine removes old package versions from its mirrors, so exact pins break; pinning the base image digest is often the better tool. Local `.apk` files and variables are not reported.",
        ..RuleMeta::DEFAULT
    },
    check: |cx| report_unpinned(cx, OsPackages::Apk),
};
