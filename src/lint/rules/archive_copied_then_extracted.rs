use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::instruction::Command;

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

fn check(cx: &Checker<'_, '_>) {
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
        let Some(stage) = cx.model.stage_of(i).cloned() else { continue };
        let extractor =
            cx.scripts.iter().filter(|s| s.index > i && stage.instructions.contains(&s.index)).find_map(|s| {
                s.commands()
                    .into_iter()
                    .filter(|c| matches!(c.name(), Some("tar" | "unzip" | "bsdtar")))
                    .find(|c| c.args().iter().any(|w| archives.iter().any(|a| w.text.ends_with(a))))
                    .map(|c| c.span())
            });
        if let Some(extract) = extractor {
            cx.report(cx.df.instructions[i].keyword_span.clone(), "the archive is stored in this layer and its content again in the layer that extracts it")
                .related(extract, "extracted here")
                .help("use `ADD archive.tar.gz /dest/` (unpacks in one layer) or bind-mount it: `RUN --mount=type=bind,source=...`");
        }
    }
}
