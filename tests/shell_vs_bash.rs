//! Differential test: the shell reader and `bash -n` must agree on which corpus RUN
//! bodies are syntax errors, for the bodies as written and for damaged copies (cut
//! short, or missing one quote, bracket or operator character).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::run_bodies::{extract, BodyKind};
use imgopt::shell::{joined_run_text, parse_script};

/// `bash -n` verdict: `true` when bash finds a syntax error.
fn bash_rejects(script: &str) -> bool {
    let mut child = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bash runs");
    child.stdin.take().expect("stdin is piped").write_all(script.as_bytes()).expect("bash reads the script");
    !child.wait().expect("bash ends").success()
}

/// The variants checked for one body: itself, cut at half, and one special
/// character removed (chosen by `seed`).
fn variants(text: &str, seed: usize) -> Vec<String> {
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut variants = vec![text.to_owned(), text[..cut].to_owned()];
    let specials: Vec<usize> =
        text.bytes().enumerate().filter(|(_, b)| b"\"'(){};|&`$".contains(b)).map(|(i, _)| i).collect();
    if !specials.is_empty() {
        let at = specials[seed.wrapping_mul(7919) % specials.len()];
        variants.push(format!("{}{}", &text[..at], &text[at + 1..]));
    }
    variants
}

#[test]
fn syntax_errors_agree_with_bash() {
    let Some(corpus) = common::corpus("syntax_errors_agree_with_bash") else { return };
    if Command::new("bash").arg("-c").arg(":").status().is_err() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "bash is required on CI");
        println!("SKIPPED: bash not found");
        return;
    }
    let dir = corpus.join("dockerfiles");
    let extracted = extract(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut checked = 0;
    let mut rejected = 0;
    let mut disagreements = Vec::new();
    for (index, body) in extracted.bodies.iter().enumerate() {
        let text = match body.kind {
            BodyKind::RunLine { escape } => joined_run_text(&body.text, escape).into_owned(),
            BodyKind::HereDoc => body.text.clone(),
        };
        for variant in variants(&text, index) {
            let ours = parse_script(&variant).error;
            let bash = bash_rejects(&variant);
            checked += 1;
            rejected += usize::from(bash);
            if ours.is_some() != bash {
                disagreements
                    .push(format!("{} @{}: ours={:?} bash rejects={bash}: {variant:?}", body.file, body.offset, ours));
            }
        }
    }
    println!("shell vs bash -n: {checked} scripts, {rejected} rejected by bash, {} disagreements", disagreements.len());
    for disagreement in &disagreements {
        println!("  {disagreement}");
    }
    assert!(rejected > 0, "the damaged variants must include syntax errors");
    assert!(disagreements.is_empty());
}
