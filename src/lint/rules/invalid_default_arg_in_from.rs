use super::{Rule, RuleMeta};
use crate::image::name::ImageName;
use crate::lint::checker::Checker;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG116",
        name: "invalid-default-arg-in-from",
        buildkit: Some("InvalidDefaultArgInFrom"),
        summary: "FROM built from ARGs whose default values give an empty or invalid image reference.",
        why: "Without `--build-arg` the build uses the defaults: an ARG with no default expands to nothing and `FROM alpine:${TAG}` becomes `alpine:`, which fails. Give every ARG used in FROM a working default.",
        bad: "ARG TAG\n# flagged: alpine: without --build-arg\nFROM alpine:${TAG}\n",
        good: "ARG TAG=3.20\nFROM alpine:${TAG}\n",
        notes: "Platform ARGs (`$BUILDPLATFORM`, `$TARGETARCH`...) are set by BuildKit and count as defined.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    let stages = &cx.model.stages;
    for stage in stages {
        // BuildKit sets the platform ARGs for real; the model leaves them empty.
        let uses_platform_args = crate::model::AUTOMATIC_PLATFORM_ARGS.iter().any(|a| stage.base.contains(a));
        if !stage.base.contains('$') || uses_platform_args || stage.base_stage.is_some() || stage.is_scratch() {
            continue;
        }
        if ImageName::parse(&stage.base_expanded).is_err() {
            cx.report(
                stage.base_span.clone(),
                format!(
                    "with the ARG defaults, `{}` becomes `{}`, which is not a valid image",
                    stage.base, stage.base_expanded
                ),
            )
            .help("give the ARGs used in FROM default values that work");
        }
    }
}
