//! The `rules/` pages are generated from the registry; this fails when they are stale.
//! Regenerate: `IMGOPT_UPDATE_DOCS=1 cargo test --test rule_docs` (or `imgopt rules --write-docs rules`).

use std::path::Path;

#[test]
fn rule_docs_are_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    if std::env::var_os("IMGOPT_UPDATE_DOCS").is_some() {
        imgopt::lint::docs::write_pages(&dir).expect("write rules/");
    }
    let stale = imgopt::lint::docs::stale_pages(&dir);
    assert!(stale.is_empty(), "rules/ is stale ({stale:?}); run `IMGOPT_UPDATE_DOCS=1 cargo test --test rule_docs`");
}
