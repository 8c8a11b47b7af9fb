use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG101",
        name: "workdir-relative-path",
        hadolint: &["DL3000"],
        buildkit: Some("WorkdirRelativePath"),
        summary: "A relative WORKDIR in a stage that has not set an absolute one.",
        why: "A relative WORKDIR is resolved against the base image's working directory, which the Dockerfile does not control: when the base image changes, files land elsewhere.",
        bad: "FROM node:22-alpine\n# flagged: relative to whatever node:22-alpine uses\nWORKDIR app\n",
        good: "FROM node:22-alpine\nWORKDIR /app\nWORKDIR src\n",
        notes: "Like BuildKit (and unlike hadolint DL3000), a relative WORKDIR after an absolute one in the same stage is not reported: it is resolved against a directory the file chose.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn is_absolute(path: &str) -> bool {
    // Variables may expand to an absolute path; Windows images use drive letters. BuildKit
    // removes quotes (`WORKDIR "/app"`).
    let path = path.trim_start_matches(['"', '\'']);
    path.starts_with('/') || path.starts_with('$') || path.as_bytes().get(1) == Some(&b':')
}

fn check(cx: &Checker<'_, '_>) {
    for stage in &cx.model.stages {
        let mut has_absolute = false;
        for (index, command) in cx.df.commands_in(stage.instructions.clone()) {
            let Command::Workdir(path) = command else { continue };
            if is_absolute(&path.text) {
                has_absolute = true;
            } else if !has_absolute {
                let path = &path.text;
                cx.report(
                    cx.df.instructions[index].args_span.clone(),
                    format!("WORKDIR `{path}` is relative to the base image's working directory"),
                )
                .help("use an absolute path, e.g. `WORKDIR /app`");
            }
        }
    }
}
