//! ADD → COPY for local files that are not archives to extract. The linter's IMG115 decides
//! from the names (no URL, no git source, no archive extension, no ADD-only flag); with the
//! build context at hand the rewriter also opens each source and leaves the ADD when one is
//! a tar archive (compressed or not) whatever its name, since ADD would unpack it.

use std::path::Path;

use super::{Saves, Transform};
use crate::lint::Applicability;
use crate::model::instruction::Command;
use crate::rewrite::{Change, Context};

pub const TRANSFORM: Transform = Transform {
    name: "add-to-copy",
    summary: "ADD of local files that are not archives becomes COPY.",
    saves: Saves::Bytes,
    propose,
};

fn propose(cx: &Context<'_, '_>) -> Vec<Change> {
    let mut out = Vec::new();
    for d in cx.findings("IMG115") {
        let Some(fix) = d.fix.as_ref().filter(|f| f.applicability == Applicability::Safe) else { continue };
        let Some(index) = cx.doc.instructions.iter().position(|i| i.span.contains(&d.span.start)) else { continue };
        let Some(Command::Copy(add)) = &cx.commands[index] else { continue };
        if let Some(dir) = cx.context_dir {
            if add.sources.iter().any(|s| is_archive(dir, &s.text)) {
                continue;
            }
        }
        let line = cx.line(index);
        out.push(Change::new(
            format!("line {line}: ADD only copies local files here; COPY says so"),
            fix.edits.clone(),
        ));
    }
    out
}

/// Whether the context file `source` is an archive ADD would extract: tar, or gzip, bzip2,
/// xz or zstd (which ADD extracts when they hold a tar). A source that cannot be read, or
/// points outside the context, counts as one: the ADD stays.
fn is_archive(context: &Path, source: &str) -> bool {
    let relative: Vec<&str> = source.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    if relative.contains(&"..") {
        return true;
    }
    let path = relative.iter().fold(context.to_path_buf(), |p, c| p.join(c));
    let Ok(meta) = std::fs::symlink_metadata(&path) else { return true };
    if meta.is_dir() {
        return false; // ADD copies a directory as is
    }
    if !meta.is_file() {
        return true;
    }
    // The builder's own test of what ADD extracts, on the first bytes (a compressed file
    // counts, whatever it holds: the ADD stays).
    crate::build::copy::file_head(&path).map_or(true, |head| crate::build::copy::archive_kind(&head).is_some())
}
