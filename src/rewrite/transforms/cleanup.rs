//! Cleanup into the creating layer: a RUN that only deletes (`rm`, `apt-get clean`, `pip
//! cache purge`...) frees nothing in a layer of its own; its commands move to the end of the
//! RUN that created those files ([`crate::model::cleanup`] decides which), even across other
//! instructions when none of them needs the files: a RUN between that touches them (an
//! `apt-get install` needs the apt lists a later `rm` deletes), a COPY into them, a USER or
//! SHELL switch, or a WORKDIR when a removed path is relative, keeps the cleanup where it is.

use super::append;
use super::merge_runs::METADATA_ONLY;
use super::{Saves, Transform};
use crate::lint::checker::edit;
use crate::model::caches;
use crate::model::cleanup::{cleanup_only, copies_into, run_creates, Removes};
use crate::model::instruction::Command;
use crate::rewrite::edit::lines_of;
use crate::rewrite::{Change, Context};

pub const TRANSFORM: Transform = Transform {
    name: "cleanup-into-creator",
    summary: "Move a RUN that only deletes into the RUN that created the files, so they are never shipped.",
    saves: Saves::Bytes,
    propose,
};

fn propose(cx: &Context<'_, '_>) -> Vec<Change> {
    let ships = cx.doc.model.shipping_stages();
    let text = cx.text();
    let ins = &cx.doc.instructions;
    let mut out = Vec::new();
    for script in &cx.scripts {
        if !ships.get(script.stage).copied().unwrap_or(false) {
            continue;
        }
        let commands = script.commands();
        let Some(removals) = cleanup_only(&commands) else { continue };
        let Some(stage) = cx.doc.model.stages.get(script.stage) else { continue };
        let creator = (stage.instructions.start + 1..script.index).rev().find(|&i| creates(cx, i, &removals));
        let Some(creator) = creator.filter(|&c| ins[c].is("RUN")) else { continue };
        if !(creator + 1..script.index).all(|k| independent(cx, k, &removals, script.index)) {
            continue;
        }
        let (Some(before_creator), Some(before_cleanup)) = (&cx.states[creator], &cx.states[script.index]) else {
            continue;
        };
        if before_creator.config.user != before_cleanup.config.user || before_creator.shell() != before_cleanup.shell()
        {
            continue;
        }
        let Some(mut edits) = append(cx, creator, script.index, "") else { continue };
        edits.push(edit(lines_of(text, &ins[script.index].span), ""));
        out.push(Change::new(
            format!(
                "cleanup of line {} moved into the RUN of line {} that creates the files: they are no longer shipped",
                cx.line(script.index),
                cx.line(creator)
            ),
            edits,
        ));
    }
    out
}

/// Whether instruction `i` created what `removals` remove.
fn creates(cx: &Context<'_, '_>, i: usize, removals: &[Removes<'_>]) -> bool {
    let ins = &cx.doc.instructions[i];
    match &cx.commands[i] {
        Some(Command::Run(_)) => {
            cx.script(i).is_some_and(|s| removals.iter().any(|r| run_creates(s, ins.source(cx.text()), r)))
        }
        Some(Command::Copy(copy)) => copy.from.is_none() && copies_into(&destination(cx, i, &copy.dest.text), removals),
        _ => false,
    }
}

/// Whether instruction `k`, between the creator and the cleanup at `cleanup`, lets the
/// cleanup move above it.
fn independent(cx: &Context<'_, '_>, k: usize, removals: &[Removes<'_>], cleanup: usize) -> bool {
    let ins = &cx.doc.instructions[k];
    if METADATA_ONLY.contains(&ins.keyword.as_str()) {
        return true;
    }
    let cleanup_text = cx.doc.instructions[cleanup].source(cx.text());
    match &cx.commands[k] {
        // The cleanup expands no variable an ENV or ARG could change.
        Some(Command::Env(_) | Command::Arg(_)) => !cleanup_text.contains('$'),
        Some(Command::Workdir(_)) => removals.iter().all(|r| match r {
            Removes::Paths(paths) => paths.iter().all(|p| p.starts_with('/')),
            Removes::Cache(_) => true,
        }),
        Some(Command::Run(_)) => {
            let source = ins.source(cx.text());
            cx.script(k).is_some_and(|s| !removals.iter().any(|r| run_creates(s, source, r) || uses_manager(source, r)))
        }
        Some(Command::Copy(copy)) => !copies_into(&destination(cx, k, &copy.dest.text), removals),
        _ => false,
    }
}

/// Whether a RUN's text names the package manager whose files `removal` deletes (`xargs
/// apt-get install < list` needs the apt lists although no command is named `apt-get`).
fn uses_manager(source: &str, removal: &Removes<'_>) -> bool {
    let kind = match removal {
        Removes::Cache(kind) => Some(*kind),
        Removes::Paths(paths) => {
            paths.iter().find_map(|p| caches::classify(p.trim_end_matches('*')).map(|(k, _)| k.name))
        }
    };
    let words: &[&str] = match kind.map(|k| k.split('-').next().unwrap_or(k)) {
        Some("apt") => &["apt", "dpkg"],
        Some("apk") => &["apk"],
        Some("pip") => &["pip", "python"],
        Some("npm" | "yarn") => &["npm", "yarn", "node"],
        Some("rpm" | "dnf" | "yum") => &["yum", "dnf", "rpm"],
        Some("composer") => &["composer"],
        Some("go") => &["go "],
        Some(_) => &[],
        None => return false,
    };
    words.iter().any(|w| source.contains(w))
}

/// A COPY destination as an absolute path (relative ones are under the WORKDIR).
fn destination(cx: &Context<'_, '_>, index: usize, dest: &str) -> String {
    let workdir = cx.states[index].as_ref().map_or("/", |s| s.workdir());
    crate::model::state::join_path(workdir, dest)
}
