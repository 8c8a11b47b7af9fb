//! `imgopt lint --format sarif` validates against the official SARIF 2.1.0 JSON schema.
//!
//! The schema is OASIS's `sarif-2.1.0-rtm.5.json`; it is not committed. The test takes it from
//! `IMGOPT_SARIF_SCHEMA`, or from the npm package `@microsoft/jest-sarif` (which ships it),
//! fetched once with `npm pack` into the target directory and checked against a pinned digest.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const PACKAGE: &str = "@microsoft/jest-sarif@1.0.0-beta.0";
const MEMBER: &str = "package/lib/schemas/sarif-2.1.0-rtm.5.json";
const SCHEMA_SHA256: &str = "2d99159ae54a3eea97f81781cff48780548657c35949f4b7f25e99a2ba4de4f8";

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn fetch_schema(dir: &Path) -> Option<PathBuf> {
    let cached = dir.join("sarif-2.1.0-rtm.5.json");
    if cached.is_file() {
        return Some(cached);
    }
    std::fs::create_dir_all(dir).unwrap();
    let out = match Command::new("npm").args(["pack", "--silent", PACKAGE]).current_dir(dir).output() {
        Ok(out) if out.status.success() => out,
        other => {
            let why = format!("cannot fetch the SARIF schema with `npm pack {PACKAGE}`: {other:?}");
            assert!(std::env::var("CI").map_or(true, |v| v != "true"), "{why}");
            println!("SKIPPED: {why}");
            return None;
        }
    };
    let tgz = dir.join(String::from_utf8_lossy(&out.stdout).trim());
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(&tgz).unwrap()));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_string_lossy() == MEMBER {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            assert_eq!(hex(&bytes), SCHEMA_SHA256, "the schema in {PACKAGE} is not the pinned one");
            std::fs::write(&cached, bytes).unwrap();
            return Some(cached);
        }
    }
    panic!("{MEMBER} not found in {}", tgz.display());
}

fn escape_stray_bracket(v: &mut serde_json::Value) -> usize {
    const BROKEN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match v {
        serde_json::Value::Object(map) => {
            let mut n = 0;
            for (k, child) in map.iter_mut() {
                if k == "pattern" && child == BROKEN {
                    *child = serde_json::Value::from(BROKEN.replace("]?$", "\\]?$"));
                    n += 1;
                } else {
                    n += escape_stray_bracket(child);
                }
            }
            n
        }
        serde_json::Value::Array(items) => items.iter_mut().map(escape_stray_bracket).sum(),
        _ => 0,
    }
}

#[test]
fn sarif_output_validates_against_the_official_schema() {
    let path = match std::env::var_os("IMGOPT_SARIF_SCHEMA") {
        Some(p) => PathBuf::from(p),
        None => match fetch_schema(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("sarif-schema")) {
            Some(p) => p,
            None => return,
        },
    };
    let mut schema: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    // The schema's `language` patterns have a stray `]` that ECMAScript reads as a literal and
    // Rust's regex engines reject: escape it, which keeps the meaning.
    let fixed = escape_stray_bracket(&mut schema);
    assert!(fixed >= 1, "the schema's language patterns changed; revisit this workaround");
    let validator = jsonschema::draft4::new(&schema).expect("the SARIF schema compiles");

    // Findings with related locations, fixes, multi-line spans and a syntax error.
    let out = Command::new(env!("CARGO_BIN_EXE_imgopt"))
        .args(["lint", "--format", "sarif", "--exit-zero", "testdata/lint/fixtures", "testdata/demo/Dockerfile"])
        .args(["testdata/parse/invalid/unknown-flag.Dockerfile"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(results.len() > 10, "only {} results", results.len());
    assert!(results.iter().any(|r| r["relatedLocations"].is_array()), "no result with related locations");
    assert!(results.iter().any(|r| r["fixes"].is_array()), "no result with fixes");
    let errors: Vec<String> =
        validator.iter_errors(&sarif).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "SARIF does not validate:\n{}", errors.join("\n"));

    // The validator does reject a broken log: a level SARIF does not define.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = "severe".into();
    assert!(!validator.is_valid(&broken));
}
