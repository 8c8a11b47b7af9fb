use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::instruction::Command;
use crate::syntax::Span;
use std::collections::HashMap;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG212",
        name: "archive-copied-then-extracted",
        category: Category::Size,
        hadolint: &["DL3010"],
        summary: "An archive is copied into the image and extracted by a later RUN.",
        why: "The COPY layer stores the archive, the RUN layer stores what it unpacks: the image carries the content twice, even if the RUN deletes the archive. Let ADD unpack a local tar in one layer, or bind-mount the archive for the RUN that extracts it.",
        bad: "FROM debian:12-slim\n# flagged: the tarball stays in this layer\nCOPY app.tar.gz /tmp/\nRUN tar -xzf /tmp/app.tar.gz -C /opt && rm /tmp/app.tar.gz\n",
        good: "FROM debian:12-slim\nADD app.tar.gz /opt/\nRUN --mount=type=bind,source=tools.zip,target=/tmp/tools.zip unzip /tmp/tools.zip -d /opt\n",
        notes: "Extraction is recognised for `tar` and `unzip` naming the copied file (by path or by file name).",
        ..RuleMeta::DEFAULT
    },
    check,
};

const ARCHIVES: &[&str] = &[".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", ".zip"];

/// The file name a word of an extracting command names: what follows its last `/` or `=`
/// (`/tmp/app.tar.gz`, `--file=app.tar.gz`).
fn file_name(word: &str) -> &str {
    word.rsplit(['/', '=']).next().unwrap_or(word)
}

fn check(cx: &Checker<'_, '_>) {
    // Every file name a `tar`/`unzip`/`bsdtar` names, with where: (instruction, command), in
    // file order. One pass over the RUNs, then a lookup per archive: a file of many COPYs and
    // many RUNs stays linear.
    let mut extractors: HashMap<&str, Vec<(usize, usize, Span)>> = HashMap::new();
    for script in cx.scripts {
        for (order, c) in script.commands().into_iter().enumerate() {
            if matches!(c.name(), Some("tar" | "unzip" | "bsdtar")) {
                for w in c.args() {
                    let at = extractors.entry(file_name(&w.text)).or_default();
                    if at.last().is_none_or(|&(index, o, _)| (index, o) != (script.index, order)) {
                        at.push((script.index, order, c.span()));
                    }
                }
            }
        }
    }
    for (i, command) in cx.df.all_commands() {
        let Command::Copy(copy) = command else { continue };
        if !copy.from_context() {
            continue;
        }
        // File names of the archives copied (ADD of a local tar unpacks it already, zip it does not).
        let archives: Vec<&str> = copy
            .paths()
            .map(|p| p.text.as_str())
            .filter(|p| !p.contains("://"))
            .filter(|p| {
                let lower = p.to_ascii_lowercase();
                let is_zip = lower.ends_with(".zip");
                ARCHIVES.iter().any(|e| lower.ends_with(e)) && (is_zip || !copy.is_add)
            })
            .map(|p| p.rsplit('/').next().unwrap_or(p))
            .collect();
        if archives.is_empty() {
            continue;
        }
        let Some(stage) = cx.model.stage_of(i) else { continue };
        // The first extracting command after the COPY in its stage, whichever archive it names.
        let extractor = archives
            .iter()
            .filter_map(|a| {
                let at = extractors.get(a)?;
                at.get(at.partition_point(|&(index, _, _)| index <= i))
                    .filter(|&&(index, _, _)| index < stage.instructions.end)
            })
            .min_by_key(|&&(index, order, _)| (index, order))
            .map(|(_, _, span)| span.clone());
        if let Some(extract) = extractor {
            cx.report(cx.df.instructions[i].keyword_span.clone(), "the archive is stored in this layer and its content again in the layer that extracts it")
                .related(extract, "extracted here")
                .help("use `ADD archive.tar.gz /dest/` (unpacks in one layer) or bind-mount it: `RUN --mount=type=bind,source=...`");
        }
    }
}
