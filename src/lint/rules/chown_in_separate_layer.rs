use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::instruction::Command;
use crate::model::run_script::PLAIN;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG207",
        name: "chown-in-separate-layer",
        category: Category::Size,
        summary: "A RUN that only runs `chmod`/`chown` (recursively, or on copied files) after the files were added.",
        why: "Changing the owner or mode of a file in a new layer copies the whole file into that layer: a `chown -R` over a copied directory doubles its size in the image. `COPY --chown`/`--chmod` sets them in the same layer.",
        bad: "FROM node:22-alpine\nWORKDIR /app\nCOPY . /app\n# flagged: every file of /app is stored twice\nRUN chown -R node:node /app\n",
        good: "FROM node:22-alpine\nWORKDIR /app\nCOPY --chown=node:node . /app\n",
        notes: "A recursive change is reported even when the files come from the base image (they are duplicated just the same); the related span shows the COPY/ADD that added them when there is one in the stage.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for script in cx.scripts.iter() {
        let commands: Vec<_> =
            script.commands().into_iter().filter(|c| !matches!(c.name(), Some("set") | None)).collect();
        if commands.is_empty() || !commands.iter().all(|c| matches!(c.name(), Some("chown" | "chmod" | "chgrp"))) {
            continue;
        }
        let recursive = commands.iter().any(|c| c.has_option(PLAIN, Some('R'), &["recursive"]));
        let paths: Vec<String> = commands
            .iter()
            .flat_map(|c| c.operands(PLAIN).into_iter().skip(1).map(|w| w.text.trim_end_matches('/').to_string()))
            .collect();
        let Some(stage) = cx.model.stages.get(script.stage).cloned() else {
            continue;
        };
        let adder = (stage.instructions.start + 1..script.index).rev().find(|&i| {
            let Some(Command::Copy(copy)) = cx.df.command(i) else {
                return false;
            };
            let dest = copy.dest.text.trim_end_matches('/');
            paths.iter().any(|p| p == dest || p.starts_with(&format!("{dest}/")) || dest.starts_with(&format!("{p}/")))
        });
        if !recursive && adder.is_none() {
            continue;
        }
        let kw = script.run.keyword_span.clone();
        let adder_span = adder.map(|i| cx.span_of(i));
        let mut report = cx
            .report(kw, "changing owner or mode in a separate RUN stores every affected file again in a new layer")
            .help("set them while copying: `COPY --chown=user:group --chmod=755 ...`");
        if let Some(span) = adder_span {
            report = report.related(span, "the files are added here");
        }
        let _ = report;
    }
}
