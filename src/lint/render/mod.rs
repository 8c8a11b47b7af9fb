//! Output formats: one renderer per format, all over the same [`FileReport`]s.

mod checkstyle;
mod concise;
mod full;
mod github;
mod json;
mod markdown;
mod sarif;

use std::io::{self, Write};

use super::{FileReport, Span};
use crate::syntax::LineIndex;

/// `--format` (alias `--output-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Source snippets with the span underlined (default on a terminal).
    Full,
    /// `path:line:col: CODE message`, one line per finding.
    Concise,
    /// The stable JSON schema documented in `docs/lint-json.md`.
    Json,
    /// SARIF 2.1.0 (code scanning).
    Sarif,
    /// GitHub Actions workflow commands (default when GITHUB_ACTIONS=true).
    Github,
    /// Checkstyle XML.
    Checkstyle,
    /// A Markdown table (the GitHub job summary, PR comments).
    Markdown,
}

impl Format {
    /// The format used when none is asked for.
    pub fn default_for_environment() -> Format {
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            Format::Github
        } else if io::IsTerminal::is_terminal(&io::stdout()) {
            Format::Full
        } else {
            Format::Concise
        }
    }
}

/// Writes `reports` in `format`. `color` only matters for `full`.
pub fn render(format: Format, reports: &[FileReport], color: bool, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Full => full::render(reports, color, out),
        Format::Concise => concise::render(reports, out),
        Format::Json => json::render(reports, out),
        Format::Sarif => sarif::render(reports, out),
        Format::Github => github::render(reports, out),
        Format::Checkstyle => checkstyle::render(reports, out),
        Format::Markdown => markdown::render(reports, out),
    }
}

/// 1-based start and end (line, column) of a span; the end column is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Region {
    pub start_line: usize,
    pub start_col: usize,
    pub end_line: usize,
    pub end_col: usize,
}

pub(crate) fn region(index: &LineIndex, text: &str, span: &Span) -> Region {
    let (start_line, start_col) = index.line_col(text, span.start);
    let (end_line, end_col) = index.line_col(text, span.end.max(span.start));
    Region { start_line, start_col, end_line, end_col }
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::lint::{lint_text, FileReport, Settings};

    /// A report with findings of several rules, a related span and a fix.
    pub fn sample() -> Vec<FileReport> {
        let text = "FROM debian\nWORKDIR app\nRUN apt-get remove\nRUN echo \"a,b:100%\"\n";
        let diagnostics = lint_text(text, &Settings::default());
        vec![FileReport { path: "app/Dockerfile".into(), text: text.into(), diagnostics }]
    }

    pub fn render(format: super::Format) -> String {
        let mut out = Vec::new();
        super::render(format, &sample(), false, &mut out).expect("render to memory");
        String::from_utf8(out).expect("utf-8 output")
    }
}
