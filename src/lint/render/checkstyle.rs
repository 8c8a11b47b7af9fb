//! Checkstyle XML, read by Jenkins and many CI dashboards.

use std::io::{self, Write};

use crate::lint::{FileReport, Severity};
use crate::syntax::LineIndex;

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            c if (c as u32) < 0x20 && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

pub fn render(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(out, "<checkstyle version=\"4.3\">")?;
    for report in reports {
        let index = LineIndex::new(&report.text);
        writeln!(out, "  <file name=\"{}\">", xml_escape(&report.path))?;
        for d in &report.diagnostics {
            let (line, col) = index.line_col(&report.text, d.span.start);
            let severity = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info | Severity::Style => "info",
            };
            writeln!(
                out,
                "    <error line=\"{line}\" column=\"{col}\" severity=\"{severity}\" message=\"{}\" source=\"imgopt.{}\"/>",
                xml_escape(&d.message),
                d.code
            )?;
        }
        writeln!(out, "  </file>")?;
    }
    writeln!(out, "</checkstyle>")
}

#[cfg(test)]
mod tests {
    use crate::lint::render::{test_support, Format};

    #[test]
    fn snapshot() {
        assert_eq!(
            test_support::render(Format::Checkstyle),
            r#"<?xml version="1.0" encoding="UTF-8"?>
<checkstyle version="4.3">
  <file name="app/Dockerfile">
    <error line="1" column="6" severity="warning" message="`debian` has no tag: the build gets whatever `latest` is" source="imgopt.IMG102"/>
    <error line="2" column="9" severity="warning" message="WORKDIR `app` is relative to the base image&apos;s working directory" source="imgopt.IMG101"/>
    <error line="4" column="1" severity="info" message="consecutive RUN instructions make a layer each" source="imgopt.IMG201"/>
  </file>
</checkstyle>
"#
        );
    }
}
