//! Cache-friendly order: `COPY . .` then `RUN npm ci` re-runs the install whenever any file of
//! the context changes. Copying the manifests first (`COPY package.json package-lock.json
//! ./`), installing, then copying the rest keeps the install cached until a manifest changes.
//! This saves build time, not bytes: `--measure` reports the rebuild after a source-only edit.
//!
//! Only where the install reads nothing but its manifests ([`dependency_install`]), the RUN
//! does nothing else, it runs in the directory the context is copied to, nothing but metadata
//! sits between the COPY and the RUN, and the manifests exist in the build context (the
//! rewriter needs it to know which to name).

use super::merge_runs::METADATA_ONLY;
use super::{Saves, Transform};
use crate::lint::checker::edit;
use crate::model::cleanup::is_noise;
use crate::model::dependencies::dependency_install;
use crate::model::instruction::Command;
use crate::model::state::join_path;
use crate::rewrite::edit::{lines_of, newline};
use crate::rewrite::{Change, Context};

pub const TRANSFORM: Transform = Transform {
    name: "cache-order",
    summary: "Copy the dependency manifests, install, then copy the rest: a source edit no longer re-runs the install.",
    saves: Saves::BuildTime,
    propose,
};

fn propose(cx: &Context<'_, '_>) -> Vec<Change> {
    let Some(context) = cx.context_dir else { return Vec::new() };
    let ins = &cx.doc.instructions;
    let text = cx.text();
    let nl = newline(text);
    let mut out = Vec::new();
    for (copy_index, command) in cx.commands.iter().enumerate() {
        let Some(Command::Copy(copy)) = command else { continue };
        let whole_context = copy.from.is_none()
            && !copy.is_add
            && copy.sources.len() == 1
            && matches!(copy.sources[0].text.as_str(), "." | "./");
        if !whole_context {
            continue;
        }
        let Some(stage) = cx.doc.model.stage_of(copy_index) else { continue };
        let end = stage.instructions.end.min(ins.len());
        let Some(run) = (copy_index + 1..end).find(|&j| !METADATA_ONLY.contains(&ins[j].keyword.as_str())) else {
            continue;
        };
        let (Some(script), Some(state)) = (cx.script(run), &cx.states[copy_index]) else { continue };
        let commands = script.commands();
        let work: Vec<_> = commands.iter().filter(|c| !is_noise(c)).collect();
        let installs: Vec<_> = work.iter().filter_map(|c| dependency_install(c)).collect();
        if installs.is_empty() || installs.len() != work.len() || installs.iter().any(|i| i.reads_sources) {
            continue;
        }
        let dest = join_path(state.workdir(), &copy.dest.text);
        if dest != state.workdir() {
            continue; // the install runs in the WORKDIR: the manifests must land there
        }
        let mut manifests: Vec<String> = Vec::new();
        for install in &installs {
            for m in &install.manifests {
                let relative = m.trim_start_matches("./");
                let safe = !relative.is_empty() && !relative.split('/').any(|c| c == ".." || c.is_empty());
                if safe && context.join(relative).is_file() && !manifests.iter().any(|x| x == relative) {
                    manifests.push(relative.to_string());
                }
            }
        }
        if manifests.is_empty() {
            continue;
        }
        let copy_ins = &ins[copy_index];
        let keyword = &text[copy_ins.keyword_span.clone()];
        let flags: String = copy_ins.flags.iter().map(|f| format!(" {}", &text[f.span.clone()])).collect();
        let manifest_copy = format!("{keyword}{flags} {} ./{nl}", manifests.join(" "));
        let run_lines = lines_of(text, &ins[run].span);
        let run_text = &text[run_lines.clone()];
        let run_text = if run_text.ends_with('\n') { run_text.to_string() } else { format!("{run_text}{nl}") };
        let copy_start = lines_of(text, &copy_ins.span).start;
        out.push(Change::new(
            format!(
                "{} copied and installed (line {}) before the rest of the context: a source edit keeps the install cached",
                manifests.join(", "),
                cx.line(run)
            ),
            vec![edit(copy_start..copy_start, format!("{manifest_copy}{run_text}")), edit(run_lines, "")],
        ));
    }
    out
}
