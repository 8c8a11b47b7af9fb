//! GitHub Actions workflow commands (`::error file=...::message`), shown as annotations on the
//! pull request. Escaping follows the runner's rules: in the message `%`, CR and LF are
//! percent-encoded; in properties `:` and `,` are too.

use std::io::{self, Write};

use crate::lint::render::region;
use crate::lint::{FileReport, Severity};
use crate::syntax::LineIndex;

use crate::escape::{workflow_data as escape_data, workflow_property as escape_property};

pub fn render(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    for report in reports {
        let index = LineIndex::new(&report.text);
        for d in &report.diagnostics {
            let level = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info | Severity::Style => "notice",
            };
            let r = region(&index, &report.text, &d.span);
            let mut props =
                format!("file={},line={},endLine={}", escape_property(&report.path), r.start_line, r.end_line);
            // Columns only make sense within one line.
            if r.start_line == r.end_line {
                props.push_str(&format!(",col={},endColumn={}", r.start_col, r.end_col));
            }
            props.push_str(&format!(",title={}", escape_property(&format!("{} {}", d.code, d.rule))));
            let mut message = d.message.to_string();
            if let Some(help) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            writeln!(out, "::{level} {props}::{}", escape_data(&message))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::render::{test_support, Format};

    #[test]
    fn rendered_properties_and_message_are_escaped() {
        // A path with every character the runner splits on, and a finding whose message quotes `%`.
        let text = "FROM alpine:3.20\nWORKDIR 100%\n";
        let report = FileReport {
            path: "a,b:c%\r\n.Dockerfile".into(),
            text: text.into(),
            diagnostics: crate::lint::lint_text(text, &Default::default()),
        };
        let mut out = Vec::new();
        render(&[report], &mut out).expect("render");
        let out = String::from_utf8(out).expect("utf-8");
        let line = out.lines().find(|l| l.contains("IMG101")).expect("IMG101 reported");
        assert!(line.starts_with("::warning file=a%2Cb%3Ac%25%0D%0A.Dockerfile,line=2,"), "{line}");
        assert!(line.contains("title=IMG101 workdir-relative-path::WORKDIR `100%25`"), "{line}");
        assert_eq!(out.lines().count(), 1, "one line per finding even with CR/LF in the path: {out}");
    }

    #[test]
    fn snapshot() {
        let out = test_support::render(Format::Github);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            "::warning file=app/Dockerfile,line=1,endLine=1,col=6,endColumn=12,title=IMG102 untagged-base-image::\
             `debian` has no tag: the build gets whatever `latest` is%0Ahelp: pin a tag (`debian:12-slim`) or a digest (`debian@sha256:...`)"
        );
        assert!(lines[2].starts_with(
            "::notice file=app/Dockerfile,line=4,endLine=4,col=1,endColumn=4,title=IMG201 consecutive-run::"
        ));
    }

    #[test]
    fn multi_line_span_has_no_columns() {
        // The overridden shell-form CMD spans lines 2-3.
        let text = "FROM alpine:3.20\nCMD echo a \\\n  b\nCMD [\"x\"]\n";
        let diagnostics = crate::lint::lint_text(text, &Default::default());
        let report = FileReport { path: "D".into(), text: text.into(), diagnostics };
        let mut out = Vec::new();
        render(&[report], &mut out).expect("render");
        let out = String::from_utf8(out).expect("utf-8");
        let multi: Vec<&str> = out.lines().filter(|l| l.contains("line=2,endLine=3")).collect();
        assert!(!multi.is_empty(), "{out}");
        assert!(multi.iter().all(|l| !l.contains("col=")), "{out}");
    }
}
