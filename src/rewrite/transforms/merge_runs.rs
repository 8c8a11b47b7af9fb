//! Merge RUNs: consecutive RUNs of a shipped stage become one (see [`super::runs`] for how
//! the scripts are joined). Instructions that only set image metadata (LABEL, EXPOSE, CMD,
//! ENTRYPOINT, STOPSIGNAL, HEALTHCHECK, MAINTAINER) may sit between them: they do not affect
//! a RUN, so the second RUN's commands can move above them. ENV, ARG, WORKDIR, USER, SHELL,
//! COPY and ADD block: the second RUN depends on them.

use super::append;
use super::{Saves, Transform};
use crate::lint::checker::edit;
use crate::rewrite::edit::{lines_of, newline};
use crate::rewrite::{Change, Context};

pub const TRANSFORM: Transform = Transform {
    name: "merge-runs",
    summary:
        "Join consecutive RUNs of a shipped stage with `&&`: one layer, and a later command's deletions free bytes.",
    saves: Saves::Bytes,
    propose,
};

/// Instructions that change only the image config, never what a RUN sees.
pub const METADATA_ONLY: &[&str] = &["LABEL", "EXPOSE", "CMD", "ENTRYPOINT", "STOPSIGNAL", "HEALTHCHECK", "MAINTAINER"];

fn propose(cx: &Context<'_, '_>) -> Vec<Change> {
    let ships = cx.doc.model.shipping_stages();
    let ins = &cx.doc.instructions;
    let mut out = Vec::new();
    for stage in &cx.doc.model.stages {
        if !ships[stage.index] {
            continue;
        }
        let range = stage.instructions.start + 1..stage.instructions.end.min(ins.len());
        for a in range.clone() {
            if !ins[a].is("RUN") {
                continue;
            }
            let Some(b) = (a + 1..range.end).find(|&j| !METADATA_ONLY.contains(&ins[j].keyword.as_str())) else {
                continue;
            };
            if !ins[b].is("RUN") {
                continue;
            }
            if let Some(change) = merge(cx, a, b) {
                out.push(change);
            }
        }
    }
    out
}

/// The change merging RUN `b` into RUN `a` (only metadata instructions and comments between).
pub fn merge(cx: &Context<'_, '_>, a: usize, b: usize) -> Option<Change> {
    let text = cx.text();
    let ins = &cx.doc.instructions;
    let b_lines = lines_of(text, &ins[b].span);
    let after_a = lines_of(text, &ins[a].span).end;
    // Comments right between the two travel with the second RUN's commands (inside the
    // continuation, where BuildKit drops them); blank lines are dropped.
    let (moved, delete) = if b == a + 1 {
        let nl = newline(text);
        let between = &text[after_a..b_lines.start];
        let comments: String = between
            .lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .map(|l| format!("{}{nl}", l.trim_end()))
            .collect();
        (comments, after_a..b_lines.end)
    } else {
        (String::new(), b_lines)
    };
    let mut edits = append(cx, a, b, &moved)?;
    edits.push(edit(delete, ""));
    Some(Change::new(
        format!("RUN of line {} joined to the RUN of line {}: one layer instead of two", cx.line(b), cx.line(a)),
        edits,
    ))
}
