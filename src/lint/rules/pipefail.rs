use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::model::run_script::PLAIN;
use crate::model::state::fold_stage;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG121",
        name: "pipe-without-pipefail",
        hadolint: &["DL4006"],
        summary: "A RUN with a pipe while the shell does not use `pipefail`.",
        why: "A pipeline's status is that of its last command: in `curl -fsSL $URL | tar -xz` a failed download is ignored and the build goes on with a broken step.",
        bad: "FROM debian:12-slim\n# flagged: a failing curl is ignored\nRUN curl -fsSL https://example.com/tool.tgz | tar -xz -C /opt\n",
        good: "FROM debian:12-slim\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN curl -fsSL https://example.com/tool.tgz | tar -xz -C /opt\n",
        notes: "Not reported when the stage's SHELL has `-o pipefail`, or the RUN itself starts with `set -o pipefail` (or `set -euo pipefail`).",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    if !cx.commands.iter().any(|c| c.context.pipeline_len > 1) {
        return;
    }
    // Whether the SHELL in effect before each instruction sets pipefail: one fold per stage.
    let mut shell_has_pipefail = vec![false; cx.df.instructions.len()];
    for stage in &cx.model.stages {
        fold_stage(cx.df, stage, |index, state| {
            shell_has_pipefail[index] =
                state.config.shell.as_ref().is_some_and(|s| s.iter().any(|a| a.contains("pipefail")));
        });
    }
    for script in cx.scripts.iter() {
        if shell_has_pipefail[script.index] {
            continue;
        }
        let commands = script.commands();
        let sets_pipefail = commands.iter().any(|c| {
            c.name() == Some("set")
                && (c.args().iter().any(|w| w.text == "pipefail")
                    || c.operands(PLAIN).iter().any(|w| w.text == "pipefail"))
        });
        if sets_pipefail {
            continue;
        }
        if let Some(first_piped) = commands.iter().find(|c| c.context.pipeline_len > 1 && c.context.pipeline_index == 0)
        {
            cx.report(first_piped.span(), "a failure before the pipe is ignored without `pipefail`").help(
                "add `SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]` before the RUN, or `set -o pipefail &&`",
            );
        }
    }
}
