use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG113",
        name: "from-platform-flag-const",
        hadolint: &["DL3029"],
        buildkit: Some("FromPlatformFlagConstDisallowed"),
        summary: "FROM --platform with a constant value.",
        why: "A constant platform pins the stage to one architecture: a multi-platform build silently produces amd64 binaries inside the arm64 image. Use `$BUILDPLATFORM` for build stages, or nothing.",
        bad: "# flagged: always amd64\nFROM --platform=linux/amd64 golang:1.23 AS build\n",
        good: "FROM --platform=$BUILDPLATFORM golang:1.23 AS build\n",
        notes: "Unlike hadolint DL3029, a platform given through a variable is not reported: that is how cross-compiling stages are written.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for flag in cx.from_platform_flags().filter(|f| !f.value.contains('$')) {
        cx.report(flag.span.clone(), format!("FROM --platform={} pins the stage to one platform", flag.value))
            .help("use `--platform=$BUILDPLATFORM` for a build stage, or drop the flag");
    }
}
