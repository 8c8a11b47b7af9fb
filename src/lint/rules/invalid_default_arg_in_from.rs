use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::{Category, Severity};
use crate::model::words::image_ref;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG116",
        name: "invalid-default-arg-in-from",
        category: Category::Correctness,
        severity: Severity::Warning,
        hadolint: &[],
        buildkit: Some("InvalidDefaultArgInFrom"),
        fix: None,
        summary: "FROM built from ARGs whose default values give an empty or invalid image reference.",
        why: "Without `--build-arg` the build uses the defaults: an ARG with no default expands to nothing and `FROM alpine:${TAG}` becomes `alpine:`, which fails. Give every ARG used in FROM a working default.",
        bad: "ARG TAG\n# flagged: alpine: without --build-arg\nFROM alpine:${TAG}\n",
        good: "ARG TAG=3.20\nFROM alpine:${TAG}\n",
        notes: "Platform ARGs (`$BUILDPLATFORM`, `$TARGETARCH`...) are set by BuildKit and count as defined.",
        config: "",
        opt_in: false,
    },
    check,
};

/// Docker's reference grammar, enough to tell a usable reference from a broken one.
fn valid_reference(reference: &str) -> bool {
    let r = image_ref(reference);
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && c.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
            && c.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric)
    };
    let tag_ok = r.tag.is_none_or(|t| {
        !t.is_empty()
            && t.len() <= 128
            && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            && !t.starts_with(['.', '-'])
    });
    let digest_ok = r.digest.is_none_or(|d| d.split_once(':').is_some_and(|(a, h)| !a.is_empty() && h.len() >= 32));
    let registry_ok = r.registry.is_none_or(|reg| !reg.is_empty());
    r.repository.split('/').all(component_ok) && tag_ok && digest_ok && registry_ok
}

fn check(cx: &mut Checker<'_, '_>) {
    let stages = cx.df.model.stages.clone();
    for stage in stages {
        // BuildKit sets the platform ARGs for real; the model leaves them empty.
        let uses_platform_args = crate::model::AUTOMATIC_PLATFORM_ARGS.iter().any(|a| stage.base.contains(a));
        if !stage.base.contains('$') || uses_platform_args || stage.base_stage.is_some() || stage.is_scratch() {
            continue;
        }
        if !valid_reference(&stage.base_expanded) {
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

#[cfg(test)]
mod tests {
    #[test]
    fn references() {
        for ok in
            ["alpine", "alpine:3.20", "ghcr.io/a/b:1", "localhost:5000/x", "a@sha256:0123456789abcdef0123456789abcdef"]
        {
            assert!(super::valid_reference(ok), "{ok}");
        }
        for bad in ["", "alpine:", "Alpine", "/x", "a@", "x:-1"] {
            assert!(!super::valid_reference(bad), "{bad}");
        }
    }
}
