use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Severity;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG140",
        name: "healthcheck-missing",
        severity: Severity::Info,
        hadolint: &["DL3057"],
        summary: "The final image has no HEALTHCHECK (opt-in).",
        why: "Without a HEALTHCHECK, Docker and Swarm only know whether the process runs, not whether it serves: a hung server stays `running` and keeps receiving traffic. (Kubernetes ignores HEALTHCHECK and uses probes, which is why this rule is opt-in.)",
        bad: "# flagged: nothing tells Docker whether the server answers\nFROM nginx:1.27\nCOPY site/ /usr/share/nginx/html/\n",
        good: "FROM nginx:1.27\nCOPY site/ /usr/share/nginx/html/\nHEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS http://localhost/ || exit 1\n",
        notes: "The final stage and the stages of this file it is built on are searched; `HEALTHCHECK NONE` counts as a decision and is not reported. A HEALTHCHECK inherited from an external base image cannot be seen, so the rule is off unless selected, as hadolint's DL3057 is.",
        opt_in: true,
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    let Some(last) = cx.model.stages.last() else { return };
    let has_healthcheck = cx
        .model
        .lineage(last.index)
        .any(|s| s.instructions.clone().any(|i| cx.df.instructions[i].keyword == "HEALTHCHECK"));
    if !has_healthcheck {
        let span = last.base_span.clone();
        cx.report(span, "the final image has no HEALTHCHECK")
            .help("add `HEALTHCHECK CMD <command that fails when the service is unhealthy>`, or `HEALTHCHECK NONE` to say none is wanted");
    }
}
