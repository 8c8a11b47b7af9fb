//! `path:line:col: CODE message`, one finding per line (what editors and grep expect).

use std::io::{self, Write};

use crate::escape::control;
use crate::lint::FileReport;
use crate::syntax::LineIndex;

pub fn render(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    for report in reports {
        let index = LineIndex::new(&report.text);
        for d in &report.diagnostics {
            let (line, col) = index.line_col(&report.text, d.span.start);
            writeln!(out, "{}:{line}:{col}: {} {}", control(&report.path), d.code, control(&d.message))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::lint::render::{test_support, Format};

    #[test]
    fn snapshot() {
        assert_eq!(
            test_support::render(Format::Concise),
            "app/Dockerfile:1:6: IMG102 `debian` has no tag: the build gets whatever `latest` is\n\
             app/Dockerfile:2:9: IMG101 WORKDIR `app` is relative to the base image's working directory\n\
             app/Dockerfile:4:1: IMG201 consecutive RUN instructions make a layer each\n"
        );
    }
}
