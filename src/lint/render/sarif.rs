//! SARIF 2.1.0, for GitHub code scanning and other SARIF viewers. Every rule of the registry is
//! listed in `tool.driver.rules` (so `ruleIndex` is stable); columns are Unicode code points.

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::lint::render::region;
use crate::lint::rules::RULES;
use crate::lint::{FileReport, Severity, Span};
use crate::syntax::LineIndex;

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info | Severity::Style => "note",
    }
}

fn sarif_region(index: &LineIndex, text: &str, span: &Span) -> Value {
    let r = region(index, text, span);
    json!({"startLine": r.start_line, "startColumn": r.start_col, "endLine": r.end_line, "endColumn": r.end_col,
           "charOffset": span.start, "charLength": span.len()})
}

fn rules_section() -> Vec<Value> {
    RULES
        .iter()
        .map(|r| {
            let m = &r.meta;
            json!({
                "id": m.code,
                "name": m.name,
                "shortDescription": {"text": m.summary},
                "fullDescription": {"text": m.why},
                "help": {
                    "text": format!("{}\n\nBad:\n{}\nGood:\n{}", m.why, m.bad, m.good),
                    "markdown": crate::lint::docs::rule_page(m),
                },
                "helpUri": m.docs_url(),
                "defaultConfiguration": {"level": level(m.severity)},
                "properties": {
                    "category": m.category.as_str(),
                    "tags": [m.category.as_str()],
                    "hadolint": m.hadolint,
                    "buildkit": m.buildkit,
                },
            })
        })
        .collect()
}

pub fn render(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    let mut results = Vec::new();
    for report in reports {
        let index = LineIndex::new(&report.text);
        let text = report.text.as_str();
        let physical = |span: &Span| {
            json!({"physicalLocation": {
                "artifactLocation": {"uri": report.path.replace('\\', "/")},
                "region": sarif_region(&index, text, span),
            }})
        };
        for d in &report.diagnostics {
            let mut result = json!({
                "ruleId": d.code,
                "ruleIndex": RULES.iter().position(|r| r.meta.code == d.code),
                "level": level(d.severity),
                "message": {"text": match &d.help { Some(h) => format!("{}\nhelp: {h}", d.message), None => d.message.to_string() }},
                "locations": [physical(&d.span)],
            });
            if !d.related.is_empty() {
                result["relatedLocations"] = d
                    .related
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let mut loc = physical(&r.span);
                        loc["id"] = json!(i);
                        loc["message"] = json!({"text": r.message});
                        loc
                    })
                    .collect();
            }
            if let Some(fix) = &d.fix {
                result["fixes"] = json!([{
                    "description": {"text": fix.description},
                    "artifactChanges": [{
                        "artifactLocation": {"uri": report.path.replace('\\', "/")},
                        "replacements": fix.edits.iter().map(|e| json!({
                            "deletedRegion": sarif_region(&index, text, &e.range),
                            "insertedContent": {"text": e.replacement},
                        })).collect::<Vec<_>>(),
                    }],
                }]);
            }
            results.push(result);
        }
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "imgopt",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/imgopt/imgopt",
                "rules": rules_section(),
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use crate::lint::render::{test_support, Format};

    #[test]
    fn results_have_real_regions_and_rules_have_help() {
        let out: serde_json::Value = serde_json::from_str(&test_support::render(Format::Sarif)).expect("valid JSON");
        assert_eq!(out["version"], "2.1.0");
        let run = &out["runs"][0];
        let result = &run["results"][1];
        assert_eq!(result["ruleId"], "IMG101");
        assert_eq!(
            result["locations"][0]["physicalLocation"]["region"].to_string(),
            r#"{"charLength":3,"charOffset":20,"endColumn":12,"endLine":2,"startColumn":9,"startLine":2}"#
        );
        let index = result["ruleIndex"].as_u64().expect("rule index") as usize;
        let rule = &run["tool"]["driver"]["rules"][index];
        assert_eq!(rule["id"], "IMG101");
        assert!(rule["help"]["markdown"].as_str().is_some_and(|m| m.contains("## Bad")));
        assert_eq!(run["results"][2]["relatedLocations"][0]["physicalLocation"]["region"]["startLine"], 3);
        assert_eq!(run["results"][2]["level"], "note");
    }
}
