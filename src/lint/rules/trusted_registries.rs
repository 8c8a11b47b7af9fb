use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::{Category, Severity};

use crate::image::name::NameParts;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG404",
        name: "untrusted-registry",
        category: Category::Security,
        severity: Severity::Error,
        hadolint: &["DL3026"],
        summary: "A base image from a registry outside `trusted-registries` (only when that setting is given).",
        why: "Teams that mirror or vet base images want every FROM to come from those registries.",
        bad: "# flagged: docker.io is not trusted\nFROM debian:12-slim\n",
        good: "FROM registry.example.com/debian:12-slim\n",
        notes: "Images without a registry are from `docker.io`. Stage names, `scratch` and references made of variables are skipped.",
        config: "trusted-registries = [\"registry.example.com\"]",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    let trusted = &cx.settings.trusted_registries;
    if trusted.is_empty() {
        return;
    }
    for stage in &cx.model.stages {
        let base = stage.base.as_str();
        if base.contains('$') || base.eq_ignore_ascii_case("scratch") || cx.model.is_earlier_stage(base, stage.index) {
            continue;
        }
        let registry = NameParts::split(base).domain.unwrap_or("docker.io");
        let ok = trusted.iter().any(|t| t == registry || (t == "docker.io" && registry == "index.docker.io"));
        if !ok {
            cx.report(
                stage.base_span.clone(),
                format!("`{base}` comes from `{registry}`, which is not a trusted registry"),
            );
        }
    }
}
