use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG117",
        name: "copy-relative-dest-without-workdir",
        hadolint: &["DL3045"],
        summary: "COPY or ADD to a relative destination before any WORKDIR in the stage.",
        why: "A relative destination is resolved against the base image's working directory, which this file does not control; the files land somewhere else when the base image changes.",
        bad: "FROM node:22-alpine\n# flagged: relative to node's WORKDIR\nCOPY package.json .\n",
        good: "FROM node:22-alpine\nWORKDIR /app\nCOPY package.json .\n",
        notes: "A WORKDIR in a stage this one is built FROM (in the same file) counts, unlike hadolint DL3045, which looks only at the current stage. A stage built FROM `scratch` is not reported: its working directory is `/`, not something a base image chose.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    // Per stage, whether a WORKDIR is set by its end (in it or a stage it builds on): each stage
    // looks at its base's answer, not at the whole chain again.
    let mut workdir_at_end: Vec<bool> = Vec::with_capacity(cx.model.stages.len());
    for stage in &cx.model.stages {
        // WORKDIR set in the chain of in-file stages this one builds on.
        // `scratch` has no WORKDIR to inherit: the directory is `/`, known.
        let mut has_workdir = stage.is_scratch()
            || stage.base_stage.filter(|&b| b < stage.index).is_some_and(|b| workdir_at_end.get(b) == Some(&true));
        for (_, command) in cx.df.commands_in(stage.instructions.clone()) {
            let dest = match command {
                Command::Workdir(_) => {
                    has_workdir = true;
                    continue;
                }
                Command::Copy(c) => &c.dest,
                _ => continue,
            };
            let d = dest.text.as_str();
            let absolute = d.starts_with('/') || d.starts_with('$') || d.as_bytes().get(1) == Some(&b':');
            if !has_workdir && !absolute {
                cx.report(dest.span.clone(), format!("`{d}` is relative, and no WORKDIR is set before it"))
                    .help("set `WORKDIR /app` first, or use an absolute destination");
            }
        }
        has_workdir |= cx.df.instructions[stage.instructions.clone()].iter().any(|i| i.is("WORKDIR"));
        workdir_at_end.push(has_workdir);
    }
}
