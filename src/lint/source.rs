//! What the linter reads: the parsed Dockerfile plus the comment lines where pragmas live.
//!
//! [`parse`] is the single place that talks to the parser. It mirrors the planned
//! `imgopt::syntax::parse` API (text, escape, instructions, comments, line index), so moving to
//! the project's own reader is a change to this function only.

use std::ops::Range;

pub use parse_dockerfile::Instruction;

pub type Span = Range<usize>;

/// A full-line comment between instructions (where `# imgopt ignore=` pragmas live).
#[derive(Debug, Clone)]
pub struct Comment {
    pub span: Span,
    /// The text after `#`, trimmed.
    pub text: String,
}

/// A Dockerfile as the rules see it.
pub struct Dockerfile<'a> {
    pub text: &'a str,
    pub escape: char,
    pub instructions: Vec<Instruction<'a>>,
    pub comments: Vec<Comment>,
    /// Value and span of the `# check=` parser directive, if any.
    pub check_directive: Option<(String, Span)>,
    pub lines: LineIndex,
}

/// The file could not be read as a Dockerfile.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
    pub span: Span,
    pub line: usize,
}

/// Parses `text`; the only call into the parser (see the module docs).
pub fn parse(text: &str) -> Result<Dockerfile<'_>, ParseError> {
    let lines = LineIndex::new(text);
    // BuildKit skips a UTF-8 BOM; the parser's spans are relative to the text after it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = if text.len() == lines.len { lines } else { LineIndex::new(text) };
    let to_error = |e: parse_dockerfile::Error| {
        let line = e.line().max(1);
        let start = lines.line_start(line);
        let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
        ParseError { message: format!("{e:#}"), span: start..end, line }
    };
    // `parse_iter` rather than `parse`: a duplicate stage name is a finding, not a parse failure.
    let instructions = parse_dockerfile::parse_iter(text)
        .map_err(to_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(to_error)?;
    // `parse_iter` does not expose the directives: read them from the leading comment block.
    let check_directive = read_check_directive(text);
    let escape = read_escape_directive(text);
    let comments = collect_comments(text, &instructions);
    Ok(Dockerfile { text, escape, instructions, comments, check_directive, lines })
}

/// Byte offset ↔ 1-based line/column.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts, len: text.len() }
    }

    /// 1-based line and 1-based column (in characters) of a byte offset.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.len);
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let col = text.get(start..offset).map_or(offset - start, |s| s.chars().count()) + 1;
        (line, col)
    }

    /// Byte offset where 1-based `line` starts (clamped to the text).
    pub fn line_start(&self, line: usize) -> usize {
        self.starts.get(line.saturating_sub(1)).copied().unwrap_or(self.len)
    }
}

/// Parser directives only exist in the leading comment block (BuildKit `parser.go`).
fn leading_directives(text: &str) -> impl Iterator<Item = (String, String, Span)> + '_ {
    let mut offset = 0;
    text.split_inclusive('\n')
        .map(move |line| {
            let start = offset;
            offset += line.len();
            (start, line)
        })
        .map_while(|(start, line)| {
            let body = line.trim().strip_prefix('#')?;
            let (key, value) = body.split_once('=')?;
            let key = key.trim().to_ascii_lowercase();
            if key.is_empty() || key.contains(char::is_whitespace) {
                return None;
            }
            Some((key, value.trim().to_string(), start..start + line.trim_end().len()))
        })
}

fn read_check_directive(text: &str) -> Option<(String, Span)> {
    leading_directives(text).find(|(k, _, _)| k == "check").map(|(_, v, s)| (v, s))
}

fn read_escape_directive(text: &str) -> char {
    leading_directives(text)
        .find(|(k, _, _)| k == "escape")
        .and_then(|(_, v, _)| v.chars().next())
        .unwrap_or('\\')
}

/// Comment lines outside every instruction's span (comments inside a continued RUN belong to it).
fn collect_comments(text: &str, instructions: &[Instruction<'_>]) -> Vec<Comment> {
    let spans: Vec<Span> = instructions.iter().map(instruction_span).collect();
    let mut comments = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start();
        let Some(body) = trimmed.strip_prefix('#') else { continue };
        let pos = start + (line.len() - trimmed.len());
        if spans.iter().any(|s| s.start <= pos && pos < s.end) {
            continue;
        }
        comments.push(Comment { span: pos..start + line.trim_end().len(), text: body.trim().to_string() });
    }
    comments
}

/// The whole instruction, from its keyword to the end of its last argument or heredoc.
pub fn instruction_span(instruction: &Instruction<'_>) -> Span {
    use parse_dockerfile::{Command, HealthcheckArguments, JsonOrStringArray, Source};
    fn command_end(c: &Command<'_>) -> usize {
        match c {
            Command::Exec(a) => a.span.end,
            Command::Shell(s) => s.span.end,
            _ => 0,
        }
    }
    fn sources_end(src: &[Source<'_>]) -> usize {
        src.iter()
            .map(|s| match s {
                Source::Path(p) => p.span.end,
                Source::HereDoc(h) => h.span.end,
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }
    let (start, end) = match instruction {
        Instruction::Add(i) => (i.add.span.start, i.dest.span.end.max(sources_end(&i.src))),
        Instruction::Arg(i) => (i.arg.span.start, i.arguments.span.end),
        Instruction::Cmd(i) => (i.cmd.span.start, command_end(&i.arguments)),
        Instruction::Copy(i) => (i.copy.span.start, i.dest.span.end.max(sources_end(&i.src))),
        Instruction::Entrypoint(i) => (i.entrypoint.span.start, command_end(&i.arguments)),
        Instruction::Env(i) => (i.env.span.start, i.arguments.span.end),
        Instruction::Expose(i) => {
            (i.expose.span.start, i.arguments.iter().map(|a| a.span.end).max().unwrap_or(i.expose.span.end))
        }
        Instruction::From(i) => {
            (i.from.span.start, i.as_.as_ref().map_or(i.image.span.end, |(_, name)| name.span.end))
        }
        Instruction::Healthcheck(i) => (
            i.healthcheck.span.start,
            match &i.arguments {
                HealthcheckArguments::Cmd { arguments, .. } => command_end(arguments),
                HealthcheckArguments::None { none, .. } => none.span.end,
                _ => i.healthcheck.span.end,
            },
        ),
        Instruction::Label(i) => (i.label.span.start, i.arguments.span.end),
        Instruction::Maintainer(i) => (i.maintainer.span.start, i.name.span.end),
        Instruction::Onbuild(i) => (i.onbuild.span.start, instruction_span(&i.instruction).end),
        Instruction::Run(i) => (
            i.run.span.start,
            command_end(&i.arguments).max(i.here_docs.iter().map(|h| h.span.end).max().unwrap_or(0)),
        ),
        Instruction::Shell(i) => {
            (i.shell.span.start, i.arguments.iter().map(|a| a.span.end).max().unwrap_or(i.shell.span.end))
        }
        Instruction::Stopsignal(i) => (i.stopsignal.span.start, i.arguments.span.end),
        Instruction::User(i) => (i.user.span.start, i.arguments.span.end),
        Instruction::Volume(i) => (
            i.volume.span.start,
            match &i.arguments {
                JsonOrStringArray::Json(a) => a.span.end,
                JsonOrStringArray::String(a) => a.iter().map(|a| a.span.end).max().unwrap_or(i.volume.span.end),
            },
        ),
        Instruction::Workdir(i) => (i.workdir.span.start, i.arguments.span.end),
        _ => (0, 0),
    };
    start..end.max(start)
}

/// The keyword span (`RUN`, `FROM`, ...) of an instruction.
pub fn keyword_span(instruction: &Instruction<'_>) -> Span {
    let full = instruction_span(instruction);
    full.start..full.start + keyword(instruction).len()
}

/// The instruction's keyword in upper case.
pub fn keyword(instruction: &Instruction<'_>) -> &'static str {
    match instruction {
        Instruction::Add(_) => "ADD",
        Instruction::Arg(_) => "ARG",
        Instruction::Cmd(_) => "CMD",
        Instruction::Copy(_) => "COPY",
        Instruction::Entrypoint(_) => "ENTRYPOINT",
        Instruction::Env(_) => "ENV",
        Instruction::Expose(_) => "EXPOSE",
        Instruction::From(_) => "FROM",
        Instruction::Healthcheck(_) => "HEALTHCHECK",
        Instruction::Label(_) => "LABEL",
        Instruction::Maintainer(_) => "MAINTAINER",
        Instruction::Onbuild(_) => "ONBUILD",
        Instruction::Run(_) => "RUN",
        Instruction::Shell(_) => "SHELL",
        Instruction::Stopsignal(_) => "STOPSIGNAL",
        Instruction::User(_) => "USER",
        Instruction::Volume(_) => "VOLUME",
        Instruction::Workdir(_) => "WORKDIR",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_between_instructions_are_collected_but_not_inside_a_run() {
        let text = "# syntax=docker/dockerfile:1\nFROM a\n# imgopt ignore=X\nRUN a \\\n# inner\n  && b\n";
        let df = parse(text).expect("parses");
        let texts: Vec<_> = df.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["syntax=docker/dockerfile:1", "imgopt ignore=X"]);
        assert_eq!(df.lines.line_col(text, text.find("RUN").unwrap_or(0)), (4, 1));
    }

    #[test]
    fn parse_error_has_a_line_and_span() {
        let err = parse("FROM a\nFOO bar\n").err().expect("unknown instruction fails");
        assert_eq!(err.line, 2);
        assert_eq!(err.span, 7..14);
    }

    #[test]
    fn duplicate_stage_names_still_parse() {
        let df = parse("FROM a AS x\nFROM b AS x\n").expect("parses");
        assert_eq!(df.instructions.len(), 2);
    }
}
