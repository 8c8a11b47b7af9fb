//! JSON output, documented in `docs/lint-json.md`. The schema is stable: fields may be added,
//! never renamed or removed.

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::lint::render::region;
use crate::lint::rules;
use crate::lint::{FileReport, Severity, Span};
use crate::syntax::LineIndex;

fn location(index: &LineIndex, text: &str, span: &Span) -> Value {
    let r = region(index, text, span);
    json!({
        "start": {"line": r.start_line, "column": r.start_col, "offset": span.start},
        "end": {"line": r.end_line, "column": r.end_col, "offset": span.end},
    })
}

pub fn render(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    let mut counts = [0usize; 4];
    let mut fixable = 0;
    let files: Vec<Value> = reports
        .iter()
        .map(|report| {
            let index = LineIndex::new(&report.text);
            let text = report.text.as_str();
            let diagnostics: Vec<Value> = report
                .diagnostics
                .iter()
                .map(|d| {
                    counts[d.severity as usize] += 1;
                    fixable += usize::from(d.fix.is_some());
                    json!({
                        "code": d.code,
                        "rule": d.rule,
                        "severity": d.severity,
                        "message": d.message,
                        "help": d.help,
                        "url": rules::find(d.code).map(|r| r.meta.docs_url()),
                        "location": location(&index, text, &d.span),
                        "related": d.related.iter().map(|r| json!({
                            "message": r.message,
                            "location": location(&index, text, &r.span),
                        })).collect::<Vec<_>>(),
                        "fix": d.fix.as_ref().map(|f| json!({
                            "description": f.description,
                            "applicability": f.applicability,
                            "edits": f.edits.iter().map(|e| json!({
                                "location": location(&index, text, &e.range),
                                "replacement": e.replacement,
                            })).collect::<Vec<_>>(),
                        })),
                    })
                })
                .collect();
            json!({"path": report.path, "diagnostics": diagnostics})
        })
        .collect();
    let findings: usize = counts.iter().sum();
    let doc = json!({
        "version": 1,
        "files": files,
        "summary": {
            "files": reports.len(),
            "findings": findings,
            "fixable": fixable,
            "by_severity": {
                "error": counts[Severity::Error as usize],
                "warning": counts[Severity::Warning as usize],
                "info": counts[Severity::Info as usize],
                "style": counts[Severity::Style as usize],
            },
        },
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
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
