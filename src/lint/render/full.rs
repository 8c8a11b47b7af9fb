//! The human format: miette's graphical report, with the source snippet, the span underlined,
//! related spans labelled, and the help and rule link under it.

use std::io::{self, Write};

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report};

use crate::lint::{rules, Applicability, FileReport, Severity};

pub fn render(reports: &[FileReport], color: bool, out: &mut dyn Write) -> io::Result<()> {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    let (mut findings, mut safe, mut unsafe_) = (0, 0, 0);
    for report in reports {
        let source = NamedSource::new(report.path.clone(), report.text.clone());
        for d in &report.diagnostics {
            findings += 1;
            match d.fix.as_ref().map(|f| f.applicability) {
                Some(Applicability::Safe) => safe += 1,
                Some(Applicability::Unsafe) => unsafe_ += 1,
                None => {}
            }
            let severity = match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
                Severity::Info | Severity::Style => miette::Severity::Advice,
            };
            let mut labels = vec![LabeledSpan::new_primary_with_span(Some(d.rule.to_string()), d.span.clone())];
            labels
                .extend(d.related.iter().map(|r| LabeledSpan::new_with_span(Some(r.message.clone()), r.span.clone())));
            let mut diag =
                MietteDiagnostic::new(d.message.clone()).with_code(d.code).with_severity(severity).with_labels(labels);
            if let Some(rule) = rules::find(d.code) {
                diag = diag.with_url(rule.meta.docs_url());
            }
            let help = match (&d.help, &d.fix) {
                (Some(h), Some(f)) => Some(format!("{h}\nfix available: {}", f.description)),
                (Some(h), None) => Some(h.clone()),
                (None, Some(f)) => Some(format!("fix available: {}", f.description)),
                (None, None) => None,
            };
            if let Some(help) = help {
                diag = diag.with_help(help);
            }
            let report = Report::new(diag).with_source_code(source.clone());
            let mut rendered = String::new();
            handler.render_report(&mut rendered, report.as_ref()).map_err(io::Error::other)?;
            writeln!(out, "{rendered}")?;
        }
    }
    if findings > 0 {
        let files = reports.iter().filter(|r| !r.diagnostics.is_empty()).count();
        write!(out, "Found {findings} finding{} in {files} file{}", plural(findings), plural(files))?;
        if safe > 0 {
            write!(out, " ({safe} fixable with --fix)")?;
        }
        if unsafe_ > 0 {
            write!(out, " ({unsafe_} fixable with --fix --unsafe-fixes)")?;
        }
        writeln!(out, ".")?;
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::render::{test_support, Format};

    #[test]
    fn snapshot() {
        let out = test_support::render(Format::Full);
        let expected = include_str!("../../../testdata/lint/render_full.txt");
        if std::env::var_os("IMGOPT_UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/lint/render_full.txt"), &out)
                .expect("write snapshot");
        }
        assert_eq!(out, expected);
    }
}
