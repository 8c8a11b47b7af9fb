//! The transforms, one module each. Each reads the current text ([`super::Context`]) and
//! proposes changes; each is idempotent (run on its own output it proposes nothing) and
//! composes with the others through the driver ([`super::propose`]).

mod add_to_copy;
mod cache_order;
mod cleanup;
mod copy_chown;
mod merge_runs;
pub mod multi_stage;
mod packages;

use super::{Change, Context};
use crate::lint::checker::edit;
use crate::lint::Edit;

/// The edits appending RUN `b`'s script to RUN `a` ([`crate::model::run_join::append`]).
fn append(cx: &Context<'_, '_>, a: usize, b: usize, moved: &str) -> Option<Vec<Edit>> {
    let edits = crate::model::run_join::append(&cx.doc.syntax, cx.script(a)?, cx.script(b)?, moved)?;
    Some(edits.into_iter().map(|(range, text)| edit(range, text)).collect())
}

pub struct Transform {
    pub name: &'static str,
    /// What it does, in one line (`imgopt rewrite --help`, the README).
    pub summary: &'static str,
    /// What the image gains: bytes, or build time (cache order saves no bytes).
    pub saves: Saves,
    pub propose: fn(&Context<'_, '_>) -> Vec<Change>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Saves {
    Bytes,
    BuildTime,
}

/// Every transform, in the order the driver runs them: cleanups join their creators before
/// RUNs are merged, so a merge does not take a cleanup away from the layer it belongs to.
pub static TRANSFORMS: [Transform; 8] = [
    packages::TRANSFORM,
    packages::NO_RECOMMENDS,
    cleanup::TRANSFORM,
    merge_runs::TRANSFORM,
    copy_chown::TRANSFORM,
    add_to_copy::TRANSFORM,
    cache_order::TRANSFORM,
    multi_stage::TRANSFORM,
];
