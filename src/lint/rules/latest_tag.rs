use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;

use crate::image::name::NameParts;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG103",
        name: "latest-tag",
        hadolint: &["DL3007"],
        summary: "A FROM image pinned to the `latest` tag.",
        why: "`latest` moves: two builds of the same Dockerfile get different base images, so a build that passed yesterday can fail today, and nobody can tell which base an image was built on.",
        bad: "# flagged: latest moves\nFROM alpine:latest\n",
        good: "FROM alpine:3.20\n",
        notes: "A `:latest` tag with a digest (`alpine:latest@sha256:...`) is pinned by the digest and not reported.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for stage in &cx.model.stages {
        let r = NameParts::split(&stage.base);
        if r.tag == Some("latest") && r.digest.is_none() {
            cx.report(stage.base_span.clone(), format!("`{}` uses the moving `latest` tag", stage.base))
                .help("pin a version tag or a digest");
        }
    }
}
