//! Package-manager hygiene: what the linter's package rules would fix, applied — apt's
//! `--no-install-recommends` and lists removed in the same RUN, `apk add --no-cache`, `pip
//! install --no-cache-dir`, language and rpm caches cleaned where they are filled. The
//! knowledge lives in one place, the rules (`src/lint/rules/`); this transform takes their
//! fixes. A `RUN --mount=type=cache` for those caches needs BuildKit's mount syntax: it is
//! offered when the original does not use it yet.

use super::{Saves, Transform};
use crate::rewrite::{Change, Context, Feature};

pub const TRANSFORM: Transform = Transform {
    name: "package-hygiene",
    summary:
        "apt lists removed, apk --no-cache, pip --no-cache-dir, package caches cleaned in the RUN that fills them.",
    saves: Saves::Bytes,
    propose: |cx| rule_fixes(cx, &["IMG202", "IMG203", "IMG204", "IMG205", "IMG210"]),
};

/// Apart from the caches: leaving out apt's Recommends installs fewer packages, which the
/// safety check reports as a change of the image (kept only with `--unsafe`), so it is a
/// transform of its own and does not take the cache cleaning down with it.
pub const NO_RECOMMENDS: Transform = Transform {
    name: "no-install-recommends",
    summary: "apt-get install --no-install-recommends: only the packages asked for (changes the image: the Recommends are not installed).",
    saves: Saves::Bytes,
    propose: |cx| rule_fixes(cx, &["IMG209"]),
};

/// The fixes of `rules` in shipped stages.
fn rule_fixes(cx: &Context<'_, '_>, rules: &[&str]) -> Vec<Change> {
    let ships = cx.doc.model.shipping_stages();
    let mut out = Vec::new();
    for d in rules.iter().flat_map(|code| cx.findings(code)) {
        let Some(fix) = &d.fix else { continue };
        let stage = cx.doc.instructions.iter().position(|i| i.span.contains(&d.span.start));
        let shipped = stage.and_then(|i| cx.doc.model.stage_of(i)).is_some_and(|s| ships[s.index]);
        if !shipped || fix.edits.is_empty() {
            continue;
        }
        let change = Change::new(format!("{} ({})", fix.description, d.rule), fix.edits.clone());
        let uses_mount = fix.description.contains("--mount");
        out.push(if uses_mount { change.needing(Feature::RunMount) } else { change });
    }
    out
}
