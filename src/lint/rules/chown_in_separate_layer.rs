use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::instruction::Command;
use crate::model::run_script::{RunCommand, PLAIN};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG207",
        name: "chown-in-separate-layer",
        category: Category::Size,
        summary: "A RUN that only runs `chmod`/`chown` (recursively, or on copied files) after the files were added, or a recursive `chown`/`chmod` of copied files in a RUN that does other work.",
        why: "Changing the owner or mode of a file in a new layer copies the whole file into that layer: a `chown -R` over a copied directory doubles its size in the image. `COPY --chown`/`--chmod` sets them in the same layer.",
        bad: "FROM node:22-alpine\nWORKDIR /app\nCOPY . /app\n# flagged: every file of /app is stored twice\nRUN chown -R node:node /app\n",
        good: "FROM node:22-alpine\nWORKDIR /app\nCOPY --chown=node:node . /app\n",
        notes: "In a RUN that does other work too (`npm ci && chown -R node /app`), a recursive change is reported when an earlier COPY/ADD of the stage put files under that absolute path, and only in stages that end up in the final image. In a RUN of nothing but the change, a recursive change is reported even when the files come from the base image (they are duplicated just the same); the related span shows the COPY/ADD that added them when there is one in the stage.",
        ..RuleMeta::DEFAULT
    },
    check,
};

/// The latest COPY/ADD of `stage` before instruction `before` whose destination holds one of
/// `paths` (or lies in one).
fn adder(cx: &Checker<'_, '_>, stage: usize, before: usize, paths: &[String]) -> Option<usize> {
    let stage = cx.model.stages.get(stage)?;
    (stage.instructions.start + 1..before).rev().find(|&i| {
        let Some(Command::Copy(copy)) = cx.df.command(i) else {
            return false;
        };
        let dest = copy.dest.text.trim_end_matches('/');
        !dest.is_empty()
            && paths
                .iter()
                .any(|p| p == dest || p.starts_with(&format!("{dest}/")) || dest.starts_with(&format!("{p}/")))
    })
}

fn check(cx: &Checker<'_, '_>) {
    let ships = cx.model.shipping_stages();
    for script in cx.scripts.iter() {
        let commands: Vec<_> =
            script.commands().into_iter().filter(|c| !matches!(c.name(), Some("set") | None)).collect();
        let changes = |c: &RunCommand<'_, '_>| matches!(c.name(), Some("chown" | "chmod" | "chgrp"));
        if commands.is_empty() {
            continue;
        }
        if !commands.iter().all(changes) {
            // A RUN that does other work too: a recursive change of what a COPY added earlier
            // still stores those files again (the new files of this RUN are not the issue).
            if !ships.get(script.stage).copied().unwrap_or(false) {
                continue;
            }
            for cmd in commands.iter().filter(|c| changes(c) && c.has_option(PLAIN, Some('R'), &["recursive"])) {
                let paths: Vec<String> = cmd
                    .operands(PLAIN)
                    .into_iter()
                    .skip(1)
                    .map(|w| w.text.trim_end_matches('/').to_string())
                    .filter(|p| p.starts_with('/'))
                    .collect();
                if let Some(added) = adder(cx, script.stage, script.index, &paths) {
                    cx.report(
                        cmd.span(),
                        "a recursive owner or mode change stores every copied file again in this layer",
                    )
                    .related(cx.span_of(added), "the files are added here")
                    .help("set them while copying: `COPY --chown=user:group --chmod=755 ...`");
                }
            }
            continue;
        }
        let recursive = commands.iter().any(|c| c.has_option(PLAIN, Some('R'), &["recursive"]));
        let paths: Vec<String> = commands
            .iter()
            .flat_map(|c| c.operands(PLAIN).into_iter().skip(1).map(|w| w.text.trim_end_matches('/').to_string()))
            .collect();
        let adder = adder(cx, script.stage, script.index, &paths);
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
