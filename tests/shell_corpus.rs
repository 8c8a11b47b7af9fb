//! Reads every RUN body of the shared corpus with the shell reader: no panic, and
//! the few syntax errors listed so they can be checked by hand.

mod common;

use common::run_bodies::extract;
use imgopt::shell::simple_commands;

#[test]
fn every_run_body_of_the_corpus_parses() {
    let Some(corpus) = common::corpus("every_run_body_of_the_corpus_parses") else { return };
    let dir = corpus.join("dockerfiles");
    let extracted = extract(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    assert!(extracted.files > 0, "no Dockerfiles in {}", dir.display());
    assert!(!extracted.bodies.is_empty(), "no RUN bodies found in {}", dir.display());

    let mut errors = Vec::new();
    let mut commands = 0;
    for body in &extracted.bodies {
        let parsed = body.parse();
        commands += simple_commands(&parsed.script).len();
        if let Some(error) = parsed.error {
            // Spans must point inside the body and at a char boundary.
            assert!(error.span.end <= body.text.len() && body.text.is_char_boundary(error.span.start));
            let line = body.text[..error.span.start].matches('\n').count();
            errors.push(format!(
                "{} @{}+{} (body line {}): {} near {:?}",
                body.file,
                body.offset,
                error.span.start,
                line + 1,
                error.message,
                body.text.get(error.span.start..(error.span.start + 40).min(body.text.len())).unwrap_or("")
            ));
        }
    }
    println!(
        "corpus: {} files ({} refused by the loader), {} shell bodies, {} RUNs in non-POSIX stages and {} non-shell here-documents skipped, {} simple commands, {} bodies with a syntax error",
        extracted.files,
        extracted.unreadable.len(),
        extracted.bodies.len(),
        extracted.non_posix_runs,
        extracted.non_shell_heredocs,
        commands,
        errors.len()
    );
    for (file, error) in &extracted.unreadable {
        println!("  unreadable: {file}: {error}");
    }
    for error in &errors {
        println!("  error: {error}");
    }
    // Errors must stay rare: each one listed above was checked to be a genuine
    // problem of the source (see the shell module's report).
    assert!(
        errors.len() * 200 <= extracted.bodies.len(),
        "{} of {} bodies failed",
        errors.len(),
        extracted.bodies.len()
    );
}
