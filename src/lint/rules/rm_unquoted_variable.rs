use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::model::run_script::PLAIN;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG137",
        name: "rm-rf-unquoted-variable",
        hadolint: &["SC2115"],
        summary: "`rm -r` of a path built from a variable outside double quotes.",
        why: "An unset or empty variable turns `rm -rf $DIR/` into `rm -rf /`, and a value with spaces or glob characters deletes other paths than meant. In a Dockerfile the variable is often an ARG whose default someone removed.",
        bad: "FROM debian:12-slim\nARG BUILD_DIR=/tmp/build\n# flagged: empty BUILD_DIR deletes from /\nRUN rm -rf $BUILD_DIR/*\n",
        good: "FROM debian:12-slim\nARG BUILD_DIR=/tmp/build\nRUN rm -rf \"${BUILD_DIR:?}\"/*\n",
        notes: "Like ShellCheck SC2115 (which hadolint runs), reported for recursive `rm` only; a variable inside double quotes is not reported, though `\"${VAR:?}\"` is the form that also stops on an empty value. A variable that only ends a name (`rm -rf /tmp/python-$VERSION`) is not reported: empty, it names a path that does not exist; nor is a lone variable (`rm -rf $DIR`): empty, it leaves `rm` nothing to delete (as in ShellCheck, whose SC2086 is about its quoting).",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for &cmd in cx.commands {
        if cmd.name() != Some("rm")
            || !cmd.has_option(PLAIN, Some('r'), &["recursive"]) && !cmd.has_option(PLAIN, Some('R'), &[])
        {
            continue;
        }
        for word in cmd.operands(PLAIN).into_iter().filter(|w| w.unquoted_expansion && starts_a_component(&w.text)) {
            cx.report(
                cmd.span_of(&word.span),
                format!("`rm -r {}` deletes the wrong tree when a variable is empty or has spaces", word.text),
            )
            .help("quote it and stop on empty values: `\"${VAR:?}\"/path`");
        }
    }
}

/// Whether a variable starts a path component of a path (`$DIR/x`, `/opt/$APP`): empty, it
/// leaves a shorter path, up to `/`. A variable that only ends a name (`/tmp/python-$VERSION`)
/// leaves a name that does not exist, and a lone `$DIR` leaves `rm` with nothing to delete.
fn starts_a_component(text: &str) -> bool {
    text.contains('/') && text.match_indices('$').any(|(i, _)| i == 0 || text[..i].ends_with('/'))
}
