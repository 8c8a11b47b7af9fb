use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::{Applicability, Category};
use crate::model::cleanup::{cleanup_only, copies_into, run_creates};
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG206",
        name: "cleanup-in-separate-layer",
        category: Category::Size,
        fix: Some(Applicability::Unsafe),
        summary: "A RUN that only deletes or cleans what an earlier instruction of the stage created.",
        why: "Layers only add: deleting a file in a later layer hides it but its bytes stay in the layer that created it, and every pull downloads them. The cleanup frees nothing unless it runs in the same RUN that created the files.",
        bad: "FROM debian:12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n# flagged: the lists are already in the previous layer\nRUN rm -rf /var/lib/apt/lists/*\n",
        good: "FROM debian:12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl \\\n && rm -rf /var/lib/apt/lists/*\n",
        notes: "Only stages that end up in the final image are checked: a build stage's layers are not shipped, and a removal there is often what keeps a file out of a later `COPY --from` (a CA key deleted before the certificates are copied). The finding points at the cleanup and at the instruction that created what it removes. Recognised cleanups: `rm` of paths, `apt-get clean`, `yum`/`dnf clean`, `apk cache clean`, `pip cache purge`, `npm cache clean`, `yarn cache clean`, `composer clear-cache`, `go clean -cache`. The fix moves the cleanup to the end of the creating RUN when that RUN comes right before it; it is unsafe because it changes layers and cache keys.",
        ..RuleMeta::DEFAULT
    },
    check,
};

/// How many instructions back a cleanup looks for the one that created what it removes. The
/// longest stage of the 900 Dockerfiles of the test corpus has under 100 instructions.
const LOOK_BACK: usize = 256;

fn check(cx: &Checker<'_, '_>) {
    for script in cx.shipping_scripts() {
        let commands = script.commands();
        let Some(removals) = cleanup_only(&commands) else {
            continue; // not a RUN whose only job is cleaning
        };
        let Some(stage) = cx.model.stages.get(script.stage).cloned() else {
            continue;
        };
        // The latest earlier instruction of the stage that created what is removed, among the
        // last LOOK_BACK: a stage of 100,000 cleanups of paths nothing created would otherwise
        // compare every pair.
        let creator = (stage.instructions.start + 1..script.index).rev().take(LOOK_BACK).find(|&i| {
            match cx.df.instructions[i].keyword.as_str() {
                "RUN" => cx
                    .script_at(i)
                    .is_some_and(|s| removals.iter().any(|r| run_creates(s, &cx.df.text[cx.span_of(i)], r))),
                _ => matches!(cx.df.command(i), Some(Command::Copy(copy)) if copies_into(&copy.dest.text, &removals)),
            }
        });
        let Some(creator) = creator else { continue };
        let creator_span = cx.span_of(creator);
        let cleanup_span = cx.span_of(script.index);
        let kw = script.run.keyword_span.clone();
        let report = cx
            .report(kw, "this cleanup runs in its own layer and frees nothing: the files stay in an earlier layer")
            .related(creator_span, "the files are created in this layer")
            .help("do the cleanup at the end of the RUN that creates the files");
        // Fix: append the cleanup to the creating RUN when it is the instruction right before.
        let creator_script = cx.script_at(creator);
        if let (true, Some(end), Some(cleanup_line)) = (
            creator + 1 == script.index,
            creator_script.and_then(|s| s.line_end()),
            script.line_end().map(|end| &cx.df.text[script.parts[0].offset..end]),
        ) {
            let joined = cleanup_line.split_whitespace().collect::<Vec<_>>().join(" ");
            let mut delete_end = cleanup_span.end;
            if cx.df.text[delete_end..].starts_with('\n') {
                delete_end += 1;
            }
            let delete_start = cx.df.text[..cleanup_span.start].rfind('\n').map_or(0, |n| n + 1);
            if creator_script.is_some_and(|earlier| earlier.repeats(cx.df.text, script)) {
                report.fix(
                    "delete this RUN: the RUN that creates the files already cleans them",
                    Applicability::Unsafe,
                    vec![edit(delete_start..delete_end, "")],
                );
            } else if script.run.flags.is_empty() && !joined.contains('\\') {
                report.fix(
                    "move the cleanup into the RUN that creates the files",
                    Applicability::Unsafe,
                    vec![edit(end..end, format!(" \\\n && {joined}")), edit(delete_start..delete_end, "")],
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::{lint_text, Settings};

    fn found(text: &str) -> Vec<(usize, Vec<usize>)> {
        lint_text(text, &Settings::default())
            .iter()
            .filter(|d| d.code == "IMG206")
            .map(|d| (d.span.start, d.related.iter().map(|r| r.span.start).collect()))
            .collect()
    }

    #[test]
    fn copied_archive_removed_later() {
        let text = "FROM alpine:3.20\nCOPY app.tar.gz /tmp/app.tar.gz\nRUN tar -xzf /tmp/app.tar.gz -C /opt\nRUN rm /tmp/app.tar.gz\n";
        // The RUN that extracts also names the path: it is the latest creator candidate.
        assert_eq!(found(text), [(text.rfind("RUN").unwrap_or(0), vec![text.find("RUN tar").unwrap_or(0)])]);
    }

    #[test]
    fn cleanup_with_other_work_or_without_creator_is_not_reported() {
        assert!(found("FROM alpine:3.20\nRUN rm -rf /var/lib/apt/lists/*\n").is_empty());
        assert!(found("FROM debian:12\nRUN apt-get update\nRUN apt-get install -y x && rm -rf /var/lib/apt/lists/*\n")
            .is_empty());
        // A cleanup in another stage than the creator is another image.
        assert!(found("FROM debian:12 AS a\nRUN apt-get update\nFROM debian:12\nRUN apt-get clean\n").is_empty());
    }

    #[test]
    fn package_cache_cleanups() {
        let text = "FROM python:3.12\nRUN pip install flask==3.0.3\nRUN pip cache purge\n";
        assert_eq!(found(text).len(), 1);
        let fixed = crate::lint::fix::fix_text(text, &Settings::default(), crate::lint::Applicability::Unsafe);
        assert!(
            fixed.text.contains("RUN pip install --no-cache-dir flask==3.0.3 \\\n    && pip cache purge\n"),
            "{}",
            fixed.text
        );
    }
}
