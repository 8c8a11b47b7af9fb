//! The shared corpus of real Dockerfiles: no panic on any file, every whole file (kind
//! `file` in the manifest) accepted except BuildKit's own negative files (which must be
//! rejected), and every instruction of an accepted file has its typed command.
//!
//! BuildKit's parser test inputs (`frontend/dockerfile/parser/testfiles/`) are accepted by
//! BuildKit's parser package but not all by a build (some have no FROM, or unknown flags on
//! purpose), so they are held to the parser level, `syntax::read_lines`.

mod common;

use std::collections::HashMap;

use imgopt::model::instruction::Command;
use imgopt::syntax;

#[test]
fn corpus_files_parse_like_buildkit() {
    let Some(corpus) = common::corpus("corpus_files_parse_like_buildkit") else { return };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(corpus.join("manifest.json")).unwrap()).unwrap();
    let entries: HashMap<String, (String, String)> = manifest
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let kind = e["kind"].as_str().unwrap().to_string();
            (e["file"].as_str().unwrap().to_string(), (kind, e["path"].as_str().unwrap_or("").to_string()))
        })
        .collect();
    let mut negatives = 0;
    let mut rejected_whole = Vec::new();
    let (mut files, mut instructions, mut snippets_rejected) = (0, 0, 0);
    let mut untyped = Vec::new();
    for path in common::sorted_dir(&corpus.join("dockerfiles")) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        files += 1;
        let (kind, original) = entries.get(&name).map(|(k, p)| (k.as_str(), p.as_str())).unwrap_or(("unlisted", ""));
        let parser_level = original.contains("frontend/dockerfile/parser/testfiles/");
        let negative = original.contains("frontend/dockerfile/parser/testfiles-negative/");
        let result = syntax::decode(&bytes).and_then(|t| {
            let t = syntax::strip_bom(t).0;
            if parser_level {
                syntax::read_lines(t)
            } else {
                syntax::parse(t)
            }
        });
        if negative {
            assert!(result.is_err(), "{name}: BuildKit's negative test file was accepted");
            negatives += 1;
            continue;
        }
        match result {
            Ok(df) => {
                for inst in &df.instructions {
                    instructions += 1;
                    // At the parser package's level an instruction may be one a build refuses.
                    if let (Err(e), false) = (Command::parse(inst, df.text), parser_level) {
                        untyped.push(format!("{name}:{}: {}", inst.start_line, e.message));
                    }
                }
            }
            Err(e) if kind == "file" => rejected_whole.push(format!("{name}:{}: {}", e.line, e.message)),
            Err(_) => snippets_rejected += 1,
        }
    }
    eprintln!(
        "corpus: {files} files, {instructions} instructions, {snippets_rejected} BuildKit test snippets rejected"
    );
    assert!(files > 800, "only {files} corpus files");
    assert_eq!(negatives, 4, "BuildKit's negative files");
    assert!(rejected_whole.is_empty(), "whole files rejected:\n{}", rejected_whole.join("\n"));
    assert!(untyped.is_empty(), "accepted instructions without a typed command:\n{}", untyped.join("\n"));
}

/// BuildKit's tests that expect its instruction parser to refuse a snippet of the corpus: the
/// same snippets are refused here, with BuildKit's message.
#[test]
fn corpus_snippets_buildkit_refuses_are_refused() {
    let Some(corpus) = common::corpus("corpus_snippets_buildkit_refuses_are_refused") else { return };
    let mount = "'from' doesn't support variable expansion, define alias stage instead";
    let stage = "invalid name for build stage: \"build-%s\", name can't start with a number or contain symbols";
    for (file, line, message) in [
        ("moby__buildkit__frontend__dockerfile__dockerfile_mount_test.go__L00503.Dockerfile", 6, mount),
        ("moby__buildkit__frontend__dockerfile__dockerfile_mount_test.go__L00511.Dockerfile", 8, mount),
        ("moby__buildkit__frontend__dockerfile__dockerfile_platform_test.go__L00029.Dockerfile", 1, stage),
        ("moby__buildkit__frontend__dockerfile__dockerfile_platform_test.go__L00035.Dockerfile", 1, stage),
    ] {
        let bytes = std::fs::read(corpus.join("dockerfiles").join(file)).unwrap();
        let e = syntax::parse(syntax::decode(&bytes).unwrap()).map(|_| ()).expect_err(file);
        assert_eq!((e.line, e.message.as_str()), (line, message), "{file}");
    }
}
