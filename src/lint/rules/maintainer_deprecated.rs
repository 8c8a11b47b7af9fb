use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::{Applicability, Category};
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG501",
        name: "maintainer-deprecated",
        category: Category::Style,
        hadolint: &["DL4000"],
        buildkit: Some("MaintainerDeprecated"),
        fix: Some(Applicability::Unsafe),
        summary: "The deprecated MAINTAINER instruction.",
        why: "MAINTAINER has been deprecated since Docker 1.13; tools read the author from the OCI label `org.opencontainers.image.authors`.",
        bad: "FROM alpine:3.20\n# flagged: deprecated\nMAINTAINER Jane Doe <jane@example.com>\n",
        good: "FROM alpine:3.20\nLABEL org.opencontainers.image.authors=\"Jane Doe <jane@example.com>\"\n",
        notes: "The fix writes the LABEL; it is unsafe because the image config's `author` field is no longer set.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for (i, command) in cx.df.all_commands() {
        let Command::Maintainer(name) = command else { continue };
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        let span = cx.span_of(i);
        cx.report(cx.df.instructions[i].keyword_span.clone(), "MAINTAINER is deprecated")
            .help("use `LABEL org.opencontainers.image.authors=...`")
            .fix(
                "replace with an OCI authors label",
                Applicability::Unsafe,
                vec![edit(span, format!("LABEL org.opencontainers.image.authors=\"{escaped}\""))],
            );
    }
}
