use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::expand::{expand_word, Vars};
use crate::model::instruction::Command;
use crate::model::state::fold_stage;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG513",
        name: "label-value-invalid",
        category: Category::Style,
        hadolint: &["DL3051", "DL3052", "DL3053", "DL3054", "DL3055", "DL3056", "DL3058"],
        summary: "A label's value does not fit the kind `label-schema` gives it (only when that setting is given).",
        why: "Tools read labels by contract: a registry UI links `org.opencontainers.image.source`, scanners parse `licenses` as SPDX, release tooling compares `version` as semver. A value of the wrong shape breaks them silently.",
        bad: "FROM alpine:3.20\n# flagged: not a URL\nLABEL org.opencontainers.image.source=\"github.com/example/app\" \\\n      org.opencontainers.image.licenses=\"MIT\"\n",
        good: "FROM alpine:3.20\nARG VERSION\nLABEL org.opencontainers.image.source=\"https://github.com/example/app\" \\\n      org.opencontainers.image.licenses=\"MIT OR Apache-2.0\" \\\n      org.opencontainers.image.version=\"$VERSION\"\n",
        notes: "Kinds: `text` (non-empty), `url` (absolute, RFC 3986), `rfc3339`, `spdx` (an SPDX license expression with known identifiers), `hash` (7 or 40 lower-case hex digits), `semver` (semver.org 2.0.0), `email`. Values are expanded as BuildKit expands them (quotes removed, variables substituted from the stage's ARG and ENV); a value that depends on a build argument without a default is not judged, where hadolint reports `$VERSION` as not a semantic version. One imgopt rule covers hadolint's seven per-kind codes, so `# hadolint ignore=DL3052` silences every label-value finding of that instruction.",
        config: "[label-schema]\n\"org.opencontainers.image.source\" = \"url\"\n\"org.opencontainers.image.licenses\" = \"spdx\"\n\"org.opencontainers.image.version\" = \"semver\"",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    if cx.settings.label_schema.is_empty() {
        return;
    }
    // Each LABEL against the variables in scope there: one fold per stage, a LABEL checked
    // when the fold reaches it (no copy of the scope per LABEL).
    for stage in &cx.model.stages {
        fold_stage(cx.df, stage, |index, state| check_label(cx, index, state.vars()));
    }
    for index in cx.model.meta_instructions.clone() {
        check_label(cx, index, &Vars::new());
    }
}

fn check_label(cx: &Checker<'_, '_>, index: usize, vars: &Vars) {
    let Some(Command::Label(pairs)) = cx.df.command(index) else { return };
    for kv in pairs {
        let key = kv.name();
        let Some(&kind) = cx.settings.label_schema.get(key) else { continue };
        let Ok(expanded) = expand_word(&kv.value, vars, cx.df.escape) else { continue };
        if !expanded.unset.is_empty() {
            continue;
        }
        if let Some(problem) = kind.problem(&expanded.value) {
            let span = if kv.value.is_empty() { kv.key_span.clone() } else { kv.value_span.clone() };
            cx.report(span, format!("label `{key}` {problem}"))
                .help(format!("`label-schema` wants a `{}` value here", kind.as_str()));
        }
    }
}
