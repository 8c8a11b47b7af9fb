//! The one loader of a Dockerfile, for every command: bytes ─▶ [`Source`] (decoded, its
//! byte-order mark set aside) ─▶ [`Document`] (the syntax tree as [`crate::syntax`] reads it,
//! the typed [`Command`] of every instruction, its [`Model`] and the `# check=` directive).
//!
//! [`Document::parse`] is the single place that calls the reader. Instruction indices are the
//! same in the syntax tree, the model and every rule.

use std::ops::{Deref, Range};
use std::path::{Path, PathBuf};

use crate::model::instruction::{Command, CommandError};
use crate::model::Model;
use crate::syntax::{self, ParseError, Span};

/// Why a Dockerfile could not be loaded.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LoadError {
    #[error("cannot read Dockerfile {}", path.display())]
    #[diagnostic(code(imgopt::io))]
    Read { path: PathBuf, source: crate::fsio::FileError },
    /// Not UTF-8, or not a Dockerfile a build accepts.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Parse(Box<Refused>),
}

/// A text the reader refuses, with the text to show where.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{}", error.message)]
#[diagnostic(code(imgopt::syntax))]
pub struct Refused {
    #[source_code]
    source_code: miette::NamedSource<String>,
    #[label("here")]
    at: miette::SourceSpan,
    pub error: ParseError,
}

impl LoadError {
    /// `error` in the text of `name` (the text a span of `error` refers to).
    pub fn parse(name: &str, text: &str, error: ParseError) -> LoadError {
        let at = error.span.start.min(text.len())..error.span.end.min(text.len());
        let source_code = miette::NamedSource::new(name, text.to_string());
        LoadError::Parse(Box::new(Refused { source_code, at: at.into(), error }))
    }

    /// The reader's error, when the text was read but not accepted.
    pub fn parse_error(&self) -> Option<&ParseError> {
        match self {
            LoadError::Parse(refused) => Some(&refused.error),
            LoadError::Read { .. } => None,
        }
    }
}

/// A Dockerfile's text: decoded from bytes, its byte-order mark set aside (spans are offsets
/// into [`Source::text`]; whoever writes the file back restores the mark).
#[derive(Debug)]
pub struct Source {
    /// As given by the user.
    pub name: String,
    text: String,
    pub had_bom: bool,
}

impl Source {
    /// Reads the file at `path`: a regular file within [`syntax::MAX_DOCKERFILE_BYTES`].
    pub fn read(path: &Path) -> Result<Source, LoadError> {
        let bytes =
            syntax::read_dockerfile(path).map_err(|source| LoadError::Read { path: path.to_path_buf(), source })?;
        Source::decode(&path.display().to_string(), &bytes)
    }

    /// Decodes `bytes`: invalid UTF-8 is an error at the first bad byte (shown in the lossy text).
    pub fn decode(name: &str, bytes: &[u8]) -> Result<Source, LoadError> {
        match syntax::decode(bytes) {
            Ok(text) => {
                let (text, had_bom) = syntax::strip_bom(text);
                Ok(Source { had_bom, ..Source::from_text(name, text) })
            }
            Err(e) => {
                let lossy = String::from_utf8_lossy(bytes);
                let (lossy, bom) = syntax::strip_bom(&lossy);
                let shift = if bom { '\u{feff}'.len_utf8() } else { 0 };
                let span = e.span.start.saturating_sub(shift)..e.span.start.saturating_sub(shift);
                Err(LoadError::parse(name, lossy, ParseError { span, ..e }))
            }
        }
    }

    /// A text already decoded, its byte-order mark already set aside.
    pub fn from_text(name: &str, text: &str) -> Source {
        Source { name: name.to_string(), text: text.to_string(), had_bom: false }
    }

    /// The text, without the byte-order mark.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Parses the text as a build does.
    pub fn document(&self) -> Result<Document<'_>, LoadError> {
        Document::parse(&self.text).map_err(|e| LoadError::parse(&self.name, &self.text, e))
    }
}

/// A Dockerfile as the linter, the analyzer and the builder see it: the syntax tree (reached
/// through `Deref`) and its model.
pub struct Document<'a> {
    pub syntax: syntax::Dockerfile<'a>,
    pub model: Model,
    /// The typed command of each instruction (same indices), or why BuildKit would refuse it
    /// once it reads the instruction's flags and arguments.
    pub commands: Vec<Result<Command, CommandError>>,
    /// Value and span of the `# check=` parser directive, if any.
    pub check_directive: Option<(String, Span)>,
}

impl<'a> Deref for Document<'a> {
    type Target = syntax::Dockerfile<'a>;

    fn deref(&self) -> &Self::Target {
        &self.syntax
    }
}

impl<'a> Document<'a> {
    /// Parses `text` (BOM already stripped); the only call into the reader.
    pub fn parse(text: &'a str) -> Result<Document<'a>, ParseError> {
        let syntax = syntax::parse(text)?;
        let model = Model::build(&syntax);
        let commands = syntax.instructions.iter().map(|i| Command::parse(i, text)).collect();
        let check_directive =
            syntax.directives.iter().find(|d| d.name == "check").map(|d| (d.value.clone(), d.span.clone()));
        Ok(Document { syntax, model, commands, check_directive })
    }

    /// The typed command of instruction `index`, when it has one.
    pub fn command(&self, index: usize) -> Option<&Command> {
        self.commands.get(index).and_then(|c| c.as_ref().ok())
    }

    /// Every instruction with its typed command (those without one left out), in file order.
    pub fn all_commands(&self) -> impl Iterator<Item = (usize, &Command)> + use<'_, 'a> {
        self.commands_in(0..self.commands.len())
    }

    /// The instructions of `range` with their typed commands (those without one left out).
    pub fn commands_in(&self, range: Range<usize>) -> impl Iterator<Item = (usize, &Command)> + use<'_, 'a> {
        range.filter_map(|i| self.command(i).map(|c| (i, c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_check_directive_and_spans() {
        let text = "# check=skip=X\nFROM a\n# imgopt ignore=Y\nRUN a \\\n# inner\n  && b\n";
        let df = Document::parse(text).expect("parses");
        let texts: Vec<_> = df.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["imgopt ignore=Y"]);
        assert_eq!(df.check_directive.as_ref().map(|c| c.0.as_str()), Some("skip=X"));
        assert_eq!(&text[df.instructions[1].span.clone()], "RUN a \\\n# inner\n  && b");
    }

    #[test]
    fn duplicate_stage_names_still_parse() {
        let df = Document::parse("FROM a AS x\nFROM b AS x\n").expect("parses");
        assert_eq!(df.instructions.len(), 2);
    }

    #[test]
    fn every_instruction_has_its_command_whatever_heredocs_come_before() {
        let text =
            "FROM a\nRUN cat > /f <<EOF\nx é\nEOF\nWORKDIR app\nRUN <<A 3<<B sh\na\nA\nb\nB\nCOPY --chown=1 x /y\n";
        let df = Document::parse(text).expect("parses");
        let keywords: Vec<&str> = df.instructions.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(keywords, ["FROM", "RUN", "WORKDIR", "RUN", "COPY"]);
        assert!((0..5).all(|i| df.command(i).is_some()));
        let Some(Command::Copy(copy)) = df.command(4) else { panic!("COPY has its command") };
        assert_eq!(&text[copy.dest.span.clone()], "/y");
        assert_eq!(copy.chown.as_deref(), Some("1"));
        let Some(Command::Run(run)) = df.command(3) else { panic!("RUN has its command") };
        assert_eq!(run.heredocs.iter().map(|h| h.file_descriptor).collect::<Vec<_>>(), [0, 3]);
        assert_eq!(df.model.stages[0].instructions, 0..5);
        let workdirs: Vec<usize> =
            df.all_commands().filter(|(_, c)| matches!(c, Command::Workdir(_))).map(|(i, _)| i).collect();
        assert_eq!(workdirs, [2]);
    }

    #[test]
    fn an_error_after_a_heredoc_is_still_found() {
        let text = "FROM a\nRUN python3 <<EOF\nprint(1)\nEOF\nCOPY onlyone\n";
        let e = syntax::parse(text).map(|_| ()).expect_err("COPY with one argument is an error");
        assert_eq!(e.line, 5, "{e:?}");
        assert!(Document::parse(text).is_err());
    }
}
