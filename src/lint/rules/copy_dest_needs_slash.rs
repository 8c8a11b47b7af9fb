use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Severity;
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG110",
        name: "copy-multiple-sources-dest-slash",
        severity: Severity::Error,
        hadolint: &["DL3021"],
        fix: Some(crate::lint::Applicability::Safe),
        summary: "COPY or ADD with several sources to a destination that does not end in `/`.",
        why: "With more than one source the destination must be a directory written with a trailing slash; BuildKit stops the build otherwise.",
        bad: "FROM node:22-alpine\n# flagged: two sources, one file name\nCOPY package.json package-lock.json /app\n",
        good: "FROM node:22-alpine\nCOPY package.json package-lock.json /app/\n",
        notes: "The fix appends the slash.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for (_, command) in cx.df.all_commands() {
        let Command::Copy(copy) = command else { continue };
        let (paths, dest) = (copy.paths().count(), &copy.dest);
        if paths > 1 && !dest.text.ends_with('/') && !dest.text.contains('$') {
            let end = dest.span.end;
            let quoted = cx.df.text.get(end.saturating_sub(1)..end) == Some("\"");
            let at = if quoted { end - 1 } else { end };
            cx.report(
                dest.span.clone(),
                format!("{paths} sources are copied to `{}`, which must end with `/`", dest.text),
            )
            .fix(
                "add a trailing slash",
                crate::lint::Applicability::Safe,
                vec![crate::lint::checker::edit(at..at, "/")],
            );
        }
    }
}
