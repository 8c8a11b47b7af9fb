//! JSON output, documented in `docs/lint-json.md`. The schema is stable: fields may be added,
//! never renamed or removed.

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{json, Value};

use crate::lint::render::region;
use crate::lint::rules;
use crate::lint::{Diagnostic, FileReport, Severity, Span};
use crate::syntax::LineIndex;

fn location(index: &LineIndex, text: &str, span: &Span) -> Value {
    let r = region(index, text, span);
    json!({
        "start": {"line": r.start_line, "column": r.start_col, "offset": span.start},
        "end": {"line": r.end_line, "column": r.end_col, "offset": span.end},
    })
}

fn diagnostic(index: &LineIndex, text: &str, d: &Diagnostic) -> Value {
    json!({
        "code": d.code,
        "rule": d.rule,
        "severity": d.severity,
        "message": d.message,
        "help": d.help,
        "url": rules::find(d.code).map(|r| r.meta.docs_url()),
        "location": location(index, text, &d.span),
        "related": d.related.iter().map(|r| json!({
            "message": r.message,
            "location": location(index, text, &r.span),
        })).collect::<Vec<_>>(),
        "fix": d.fix.as_ref().map(|f| json!({
            "description": f.description,
            "applicability": f.applicability,
            "edits": f.edits.iter().map(|e| json!({
                "location": location(index, text, &e.range),
                "replacement": e.replacement,
            })).collect::<Vec<_>>(),
        })),
    })
}

/// The document, written as it is serialized: one finding's JSON tree at a time, not the
/// tree of every finding at once (a file can have a finding per instruction). Keys in the
/// order `serde_json`'s maps sort them, as a [`Value`] writes them.
struct Document<'r> {
    reports: &'r [FileReport],
    summary: Value,
}

struct Files<'r>(&'r [FileReport]);

struct File<'r>(&'r FileReport);

struct Findings<'r>(&'r FileReport);

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry("files", &Files(self.reports))?;
        map.serialize_entry("summary", &self.summary)?;
        map.serialize_entry("version", &1)?;
        map.end()
    }
}

impl Serialize for Files<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(File))
    }
}

impl Serialize for File<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("diagnostics", &Findings(self.0))?;
        map.serialize_entry("path", &self.0.path)?;
        map.end()
    }
}

impl Serialize for Findings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let report = self.0;
        let index = LineIndex::new(&report.text);
        let mut seq = s.serialize_seq(Some(report.diagnostics.len()))?;
        for d in &report.diagnostics {
            seq.serialize_element(&diagnostic(&index, &report.text, d))?;
        }
        seq.end()
    }
}

pub fn render(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    let mut counts = [0usize; 4];
    let mut fixable = 0;
    for d in reports.iter().flat_map(|r| &r.diagnostics) {
        counts[d.severity as usize] += 1;
        fixable += usize::from(d.fix.is_some());
    }
    let findings: usize = counts.iter().sum();
    let summary = json!({
        "files": reports.len(),
        "findings": findings,
        "fixable": fixable,
        "by_severity": {
            "error": counts[Severity::Error as usize],
            "warning": counts[Severity::Warning as usize],
            "info": counts[Severity::Info as usize],
            "style": counts[Severity::Style as usize],
        },
    });
    let mut out = io::BufWriter::new(out);
    serde_json::to_writer_pretty(&mut out, &Document { reports, summary })?;
    writeln!(out)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use crate::lint::render::{test_support, Format};

    #[test]
    fn snapshot_of_one_diagnostic_and_summary() {
        let out: serde_json::Value = serde_json::from_str(&test_support::render(Format::Json)).expect("valid JSON");
        let d = &out["files"][0]["diagnostics"][1];
        assert_eq!(
            d.to_string(),
            r#"{"code":"IMG101","fix":null,"help":"use an absolute path, e.g. `WORKDIR /app`","location":{"end":{"column":12,"line":2,"offset":23},"start":{"column":9,"line":2,"offset":20}},"message":"WORKDIR `app` is relative to the base image's working directory","related":[],"rule":"workdir-relative-path","severity":"warning","url":"https://github.com/imgopt/imgopt/blob/main/rules/IMG101.md"}"#
        );
        assert_eq!(
            out["summary"].to_string(),
            r#"{"by_severity":{"error":0,"info":1,"style":0,"warning":2},"files":1,"findings":3,"fixable":1}"#
        );
        assert_eq!(out["files"][0]["diagnostics"][2]["fix"]["applicability"], "unsafe");
    }
}
