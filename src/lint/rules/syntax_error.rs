use super::{Rule, RuleMeta};
use crate::lint::Severity;

/// Reported by the engine when the file cannot be parsed; it has no check of its own.
pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG100",
        name: "syntax-error",
        severity: Severity::Error,
        hadolint: &["DL1000", "DL3043", "DL3061"],
        summary: "The file is not a valid Dockerfile.",
        why: "BuildKit would refuse to build it. No other rule runs on a file that does not parse, so fix this first.",
        bad: "FROM alpine:3.20\n# flagged: RUNN is not an instruction\nRUNN echo hello\n",
        good: "FROM alpine:3.20\nRUN echo hello\n",
        notes: "On the shared corpus hadolint (2.15) fails to parse files BuildKit builds (for example a comment line right after a heredoc), which it reports as DL1000; imgopt reads those files as BuildKit does and reports only what BuildKit rejects, such as a file with no instruction or only comments (\"file with no instructions\"), which hadolint accepts.",
        ..RuleMeta::DEFAULT
    },
    check: |_| {},
};
