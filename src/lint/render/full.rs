//! The human format: miette's graphical report, with the source snippet, the span underlined,
//! related spans labelled, and the help and rule link under it.

use std::io::{self, Write};

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, MietteError, MietteSpanContents, Report,
    SourceCode, SourceSpan, SpanContents,
};

use crate::escape::{control, source_line};
use crate::lint::Span;

use crate::lint::{rules, Applicability, FileReport, Severity};

pub fn render(reports: &[FileReport], color: bool, out: &mut dyn Write) -> io::Result<()> {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100).with_links(false);
    let (mut findings, mut safe, mut unsafe_) = (0, 0, 0);
    for report in reports {
        let text = report.text.as_str();
        let starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        let name = control(&report.path).into_owned();
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
            // Related spans far from the finding would pull their whole lines in: they are named
            // in the help instead.
            let line_of = |offset: usize| starts.partition_point(|&s| s <= offset).saturating_sub(1);
            let (first, last) = (line_of(d.span.start), line_of(d.span.end.max(d.span.start)));
            let near = |r: &Span| line_of(r.start) + 2 >= first && line_of(r.end.max(r.start)) <= last + 2;
            let (close, far): (Vec<_>, Vec<_>) = d.related.iter().partition(|r| near(&r.span));
            let mut spans = vec![d.span.clone()];
            spans.extend(close.iter().map(|r| r.span.clone()));
            let excerpt = Excerpt::new(&name, text, &starts, &spans);
            let mut labels =
                vec![LabeledSpan::new_primary_with_span(Some(d.rule.to_string()), excerpt.translate(&d.span))];
            labels.extend(close.iter().map(|r| {
                LabeledSpan::new_with_span(Some(control(&r.message).into_owned()), excerpt.translate(&r.span))
            }));
            let mut diag = MietteDiagnostic::new(control(&d.message).into_owned())
                .with_code(d.code)
                .with_severity(severity)
                .with_labels(labels);
            if let Some(rule) = rules::find(d.code) {
                diag = diag.with_url(rule.meta.docs_url());
            }
            let help = match (&d.help, &d.fix) {
                (Some(h), Some(f)) => Some(format!("{h}\nfix available: {}", f.description)),
                (Some(h), None) => Some(h.to_string()),
                (None, Some(f)) => Some(format!("fix available: {}", f.description)),
                (None, None) => None,
            };
            let elsewhere: Vec<String> =
                far.iter().map(|r| format!("line {}: {}", line_of(r.span.start) + 1, r.message)).collect();
            let help = match (help, elsewhere.is_empty()) {
                (help, true) => help,
                (Some(h), false) => Some(format!("{h}\n{}", elsewhere.join("\n"))),
                (None, false) => Some(elsewhere.join("\n")),
            };
            if let Some(help) = help {
                diag = diag.with_help(control(&help).replace("\\x0a", "\n"));
            }
            let report = Report::new(diag).with_source_code(excerpt);
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

/// Lines longer than this are cut around the finding: one long line with thousands of findings
/// would otherwise be printed whole once per finding.
const MAX_SNIPPET_LINE: usize = 240;
/// What is kept of a cut line before and after the start of the first span on it.
const CUT_BEFORE: usize = 80;
const CUT_AFTER: usize = 160;

/// The lines a finding's spans touch, cut around the spans when long and with control
/// characters escaped, as miette's source: it reports the original line numbers.
struct Excerpt {
    name: String,
    text: String,
    /// The 0-based line the excerpt starts at in the file.
    first_line: usize,
    /// (offset in the file, offset in `text`) at each kept character boundary, ascending.
    bounds: Vec<(usize, usize)>,
}

impl Excerpt {
    fn new(name: &str, file: &str, starts: &[usize], spans: &[Span]) -> Excerpt {
        let line_of = |offset: usize| starts.partition_point(|&s| s <= offset).saturating_sub(1);
        // One line of context on each side, as miette shows for a whole source.
        let lines = if starts.last() == Some(&file.len()) { starts.len() - 1 } else { starts.len() };
        let first = spans.iter().map(|s| line_of(s.start)).min().unwrap_or(0).saturating_sub(1);
        let last = spans.iter().map(|s| line_of(s.end.max(s.start))).max().unwrap_or(0) + 1;
        let last = last.min(lines.saturating_sub(1)).max(first);
        let mut text = String::new();
        let mut bounds = Vec::new();
        for line in first..=last {
            let start = starts[line].min(file.len());
            let end = starts.get(line + 1).map_or(file.len(), |&n| n - 1).max(start);
            let (mut from, mut to) = (start, end);
            if end - start > MAX_SNIPPET_LINE {
                let anchor =
                    spans.iter().map(|s| s.start).filter(|&o| (start..=end).contains(&o)).min().unwrap_or(start);
                from = floor_char(file, anchor.saturating_sub(CUT_BEFORE).max(start));
                to = floor_char(file, (anchor + CUT_AFTER).min(end));
            }
            if line > first {
                text.push('\n');
            }
            if from > start {
                text.push('…');
            }
            for (i, c) in file[from..to].char_indices() {
                bounds.push((from + i, text.len()));
                text.push_str(&source_line(c.encode_utf8(&mut [0; 4])));
            }
            bounds.push((to, text.len()));
            if to < end {
                text.push('…');
            }
        }
        Excerpt { name: name.to_string(), text, first_line: first, bounds }
    }

    /// A span of the file as a span of the excerpt, clamped to what was kept.
    fn translate(&self, span: &Span) -> SourceSpan {
        let Some(&(_, last)) = self.bounds.last() else { return SourceSpan::from(0..0) };
        let i = self.bounds.partition_point(|&(o, _)| o < span.start);
        let start = self.bounds.get(i).map_or(last, |&(_, n)| n);
        let j = self.bounds.partition_point(|&(o, _)| o <= span.end.max(span.start));
        let end = j.checked_sub(1).and_then(|j| self.bounds.get(j)).map_or(start, |&(_, n)| n).max(start);
        SourceSpan::from(start..end)
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.read_span(span, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            inner.column(),
            inner.line_count(),
        )))
    }
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
