use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;

use crate::image::name::NameParts;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG102",
        name: "untagged-base-image",
        hadolint: &["DL3006"],
        summary: "A FROM image without a tag or digest.",
        why: "Without a tag the build takes whatever `latest` points to today: the next build may get a different OS release and break, and the image is not reproducible.",
        bad: "# flagged: which debian?\nFROM debian\nRUN echo hi\n",
        good: "FROM debian:12-slim\nRUN echo hi\n",
        notes: "Stage names, `scratch` and references built from variables are not reported. Unlike hadolint DL3006, a FROM that names a stage through a variable (`FROM golangci-binary-${FROM_SOURCE}`) is not reported.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for stage in &cx.model.stages {
        let base = stage.base.as_str();
        if base.contains('$') || base.eq_ignore_ascii_case("scratch") || cx.model.is_earlier_stage(base, stage.index) {
            continue;
        }
        let r = NameParts::split(base);
        if r.tag.is_none() && r.digest.is_none() {
            cx.report(stage.base_span.clone(), format!("`{base}` has no tag: the build gets whatever `latest` is"))
                .help("pin a tag (`debian:12-slim`) or a digest (`debian@sha256:...`)");
        }
    }
}
