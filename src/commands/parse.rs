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

use crate::model::document::{Document, LoadError, Source};
use crate::syntax::{self, Instruction};

/// `imgopt parse --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ParseFormat {
    /// BuildKit's dump format.
    Dump,
    /// One JSON object per file, one per line.
    Json,
}

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
                    writeln!(err, "Error: {:?}", miette::Report::new(e))?;
                }
                continue;
            }
        };
        let parsed = match Source::decode(&name, &bytes) {
            Ok(source) => write_reading(&name, source.document(), as_json, out, err)?,
            Err(e) => write_reading(&name, Err(e), as_json, out, err)?,
        };
        if !parsed {
            outcome = outcome.min(Outcome::Rejected);
        }
    }
    Ok(outcome)
}

/// Writes how file `name` was read; whether it parsed.
fn write_reading(
    name: &str,
    result: Result<Document<'_>, LoadError>,
    as_json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<bool> {
    let parsed = result.is_ok();
    if as_json {
        writeln!(out, "{}", file_json(name, result.as_ref().map(|df| &df.syntax).map_err(LoadError::parse_error)))?;
        return Ok(parsed);
    }
    match result {
        Ok(df) => write!(out, "{}", syntax::dump::dump(&df))?,
        Err(e) => writeln!(err, "Error: {:?}", miette::Report::new(e))?,
    }
    Ok(parsed)
}

/// The JSON object for one file.
pub fn file_json(name: &str, result: Result<&syntax::Dockerfile<'_>, Option<&syntax::ParseError>>) -> Value {
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
            "error": {"message": e.map(|e| e.message.as_str()), "line": e.map_or(0, |e| e.line)},
            "escape": "\\",
            "instructions": [],
        }),
    }
}

fn instruction_json(inst: &Instruction) -> Value {
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
