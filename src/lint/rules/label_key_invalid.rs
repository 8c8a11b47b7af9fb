use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG509",
        name: "invalid-label-key",
        category: Category::Style,
        hadolint: &["DL3048"],
        summary: "A LABEL key that breaks Docker's key format or uses a reserved namespace.",
        why: "Label keys should be lower-case reverse-DNS names (`org.opencontainers.image.source`) of letters, digits, `.` and `-`; `com.docker.*`, `io.docker.*` and `org.dockerproject.*` are reserved for Docker. Tools that query labels miss keys written otherwise.",
        bad: "FROM alpine:3.20\n# flagged: upper case and an underscore\nLABEL Maintainer_Email=\"a@example.com\"\n",
        good: "FROM alpine:3.20\nLABEL org.opencontainers.image.authors=\"a@example.com\"\n",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn problem(key: &str) -> Option<&'static str> {
    if ["com.docker.", "io.docker.", "org.dockerproject."].iter().any(|p| key.starts_with(p)) {
        return Some("uses a namespace reserved for Docker");
    }
    let chars_ok = key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends_ok = key.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && key.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
    let no_double = !key.contains("..") && !key.contains("--");
    if key.contains('$') || (chars_ok && ends_ok && no_double) {
        None
    } else {
        Some("should be lower-case letters, digits, `.` and `-`, starting and ending with a letter or digit")
    }
}

fn check(cx: &Checker<'_, '_>) {
    for (_, command) in cx.df.all_commands() {
        let Command::Label(pairs) = command else { continue };
        for kv in pairs {
            if let Some(why) = problem(kv.name()) {
                cx.report(kv.key_span.clone(), format!("label key `{}` {why}", kv.key));
            }
        }
    }
}
