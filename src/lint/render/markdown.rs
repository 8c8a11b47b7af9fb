//! A Markdown findings table, for places that render Markdown: the GitHub job summary
//! (`$GITHUB_STEP_SUMMARY`), pull-request comments, issues.

use std::io::{self, Write};

use crate::lint::render::region;
use crate::lint::rules;
use crate::lint::{FileReport, Severity};
use crate::syntax::LineIndex;

/// A table cell: `|` would end the cell and a newline the row.
fn cell(s: &str) -> String {
    let s = s.replace('\\', "\\\\").replace('|', "\\|").replace("\r\n", "<br>").replace(['\n', '\r'], "<br>");
    crate::escape::control(&s).into_owned()
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

pub fn render(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    let findings: usize = reports.iter().map(|r| r.diagnostics.len()).sum();
    let files = plural(reports.len(), "file");
    if findings == 0 {
        return writeln!(out, "### imgopt lint: no findings in {files}");
    }
    let mut counts = Vec::new();
    for severity in [Severity::Error, Severity::Warning, Severity::Info, Severity::Style] {
        let n = reports.iter().flat_map(|r| &r.diagnostics).filter(|d| d.severity == severity).count();
        if n > 0 {
            let noun = match severity {
                Severity::Error | Severity::Warning => plural(n, severity.as_str()),
                Severity::Info | Severity::Style => format!("{n} {}", severity.as_str()),
            };
            counts.push(noun);
        }
    }
    writeln!(out, "### imgopt lint: {} in {files} ({})\n", plural(findings, "finding"), counts.join(", "))?;
    writeln!(out, "| Location | Severity | Rule | Message |")?;
    writeln!(out, "|---|---|---|---|")?;
    for report in reports {
        let index = LineIndex::new(&report.text);
        for d in &report.diagnostics {
            let r = region(&index, &report.text, &d.span);
            let rule = match rules::find(d.code) {
                Some(rule) => format!("[{}]({}) {}", d.code, rule.meta.docs_url(), d.rule),
                None => format!("{} {}", d.code, d.rule),
            };
            let mut message = d.message.to_string();
            if let Some(help) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            writeln!(
                out,
                "| {} | {} | {} | {} |",
                crate::escape::markdown_code(&format!("{}:{}:{}", report.path, r.start_line, r.start_col)),
                d.severity.as_str(),
                rule,
                cell(&message)
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::render::{test_support, Format};

    #[test]
    fn snapshot() {
        let out = test_support::render(Format::Markdown);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "### imgopt lint: 3 findings in 1 file (2 warnings, 1 info)");
        assert_eq!(lines[2], "| Location | Severity | Rule | Message |");
        assert_eq!(
            lines[5],
            "| `app/Dockerfile:2:9` | warning | [IMG101](https://github.com/imgopt/imgopt/blob/main/rules/IMG101.md) \
             workdir-relative-path | WORKDIR `app` is relative to the base image's working directory<br>help: use an \
             absolute path, e.g. `WORKDIR /app` |"
        );
        assert_eq!(lines.len(), 7);
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc\r\nd\\"), "a\\|b<br>c<br>d\\\\");
    }

    #[test]
    fn no_findings() {
        let report =
            FileReport { path: "Dockerfile".into(), text: "FROM alpine:3.20\n".into(), diagnostics: Vec::new() };
        let mut out = Vec::new();
        render(&[report], &mut out).expect("render");
        assert_eq!(String::from_utf8_lossy(&out), "### imgopt lint: no findings in 1 file\n");
    }
}
