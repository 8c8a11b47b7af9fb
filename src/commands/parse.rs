//! `imgopt parse [--json] FILE...`: how imgopt (and so BuildKit) reads each file.
//!
//! `--json` prints one object per file, one per line; the schema is stable:
//! `{"file", "ok", "error": {"message", "line"} | null, "escape": "\\" | "`",
//!   "instructions": [{"keyword", "start_line", "end_line", "flags": [str],
//!                     "json_form", "heredocs": [{"name", "content"}], "onbuild": {…} | null}]}`.
//! Without `--json`, BuildKit's dump format, or a diagnostic with the source snippet.

use std::io::{self, Write};
use std::path::Path;

use serde_json::{json, Value};

use crate::syntax::{self, Instruction};

/// How a run went, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// A file could not be read at all (exit 2).
    Unreadable,
    /// A file is not a valid Dockerfile (exit 1).
    Rejected,
    /// Every file parsed (exit 0).
    AllParsed,
}

/// Reads each file and writes its reading.
pub fn run(files: &[impl AsRef<Path>], as_json: bool, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<Outcome> {
    let mut outcome = Outcome::AllParsed;
    for file in files {
        let path = file.as_ref();
        let name = path.display().to_string();
        let bytes = match crate::syntax::read_dockerfile(path) {
            Ok(b) => b,
            Err(e) => {
                outcome = Outcome::Unreadable;
                if as_json {
                    let v = json!({"file": name, "ok": false, "error": {"message": e.to_string(), "line": 0}, "escape": "\\", "instructions": []});
                    writeln!(out, "{v}")?;
                } else {
                    writeln!(err, "imgopt: {name}: {e}")?;
                }
                continue;
            }
        };
        let result = syntax::decode(&bytes).and_then(|text| syntax::parse(syntax::strip_bom(text).0));
        if result.is_err() {
            outcome = outcome.min(Outcome::Rejected);
        }
        if as_json {
            writeln!(out, "{}", file_json(&name, &result))?;
            continue;
        }
        match &result {
            Ok(df) => write!(out, "{}", syntax::dump::dump(df))?,
            Err(e) => {
                let text = String::from_utf8_lossy(&bytes);
                let text = syntax::strip_bom(&text).0.to_string();
                writeln!(err, "{:?}", e.report(&name, &text))?;
            }
        }
    }
    Ok(outcome)
}

/// The JSON object for one file.
pub fn file_json(name: &str, result: &Result<syntax::Dockerfile<'_>, syntax::ParseError>) -> Value {
    match result {
        Ok(df) => json!({
            "file": name,
            "ok": true,
            "error": null,
            "escape": df.escape.to_string(),
            "instructions": df.instructions.iter().map(instruction_json).collect::<Vec<_>>(),
        }),
        Err(e) => json!({
            "file": name,
            "ok": false,
            "error": {"message": e.message, "line": e.line},
            "escape": "\\",
            "instructions": [],
        }),
    }
}

fn instruction_json(inst: &Instruction<'_>) -> Value {
    json!({
        "keyword": inst.keyword,
        "start_line": inst.start_line,
        "end_line": inst.end_line,
        "flags": inst.flags.iter().map(|f| f.text.as_str()).collect::<Vec<_>>(),
        "json_form": inst.json_form,
        "heredocs": inst.heredocs.iter().map(|h| json!({"name": h.name, "content": h.content})).collect::<Vec<_>>(),
        "onbuild": inst.onbuild.as_deref().map(instruction_json),
    })
}
