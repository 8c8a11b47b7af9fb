use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG104",
        name: "json-args-recommended",
        hadolint: &["DL3025"],
        buildkit: Some("JSONArgsRecommended"),
        summary: "CMD or ENTRYPOINT in shell form.",
        why: "In shell form the process runs as `/bin/sh -c ...`: the shell is PID 1, does not forward SIGTERM, and `docker stop` waits for the timeout and kills the program without a clean shutdown.",
        bad: "FROM python:3.12-slim\n# flagged: runs under /bin/sh -c\nCMD python -m http.server\n",
        good: "FROM python:3.12-slim\nCMD [\"python\", \"-m\", \"http.server\"]\n",
        notes: "As in BuildKit, a stage that sets SHELL is not reported: the shell form is then deliberate. hadolint takes some valid JSON forms for shell form (escapes such as `\\/` inside the array); imgopt reads the exec form as BuildKit does. A file BuildKit refuses (no FROM) gets only IMG100, where hadolint still reports its CMDs.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for stage in &cx.model.stages {
        let instructions = &cx.df.instructions[stage.instructions.clone()];
        if instructions.iter().any(|i| i.keyword == "SHELL") {
            continue;
        }
        for ins in instructions {
            let name = ins.keyword.as_str();
            if matches!(name, "CMD" | "ENTRYPOINT") && !ins.json_form {
                cx.report(
                    ins.args_span.clone(),
                    format!("{name} in shell form runs under `/bin/sh -c`, which does not forward signals"),
                )
                .help(format!("use the JSON form: {name} [\"executable\", \"arg\"]"));
            }
        }
    }
}
