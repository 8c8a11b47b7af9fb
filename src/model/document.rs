//! The one loader of a Dockerfile, for every command: bytes ─▶ [`Source`] (decoded, its
//! byte-order mark set aside) ─▶ [`Document`] (the syntax tree as [`crate::syntax`] reads it,
//! BuildKit's view of every instruction with the typed view where `parse-dockerfile` gives
//! one, its [`Model`] and the `# check=` directive).
//!
//! [`Document::parse`] is the single place that calls the reader. Instruction indices are the
//! same in the syntax tree, the model and every rule.

use std::ops::{Deref, Range};
use std::path::{Path, PathBuf};

use crate::model::instruction::{Command, CommandError};
use crate::model::Model;
use crate::syntax::{self, typed, ParseError, Span};

pub use typed::Instruction;

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
    /// Room for the copy [`syntax::parse_with`] may need.
    scratch: syntax::Scratch,
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
        Source { name: name.to_string(), text: text.to_string(), had_bom: false, scratch: syntax::Scratch::new() }
    }

    /// The text, without the byte-order mark.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Parses the text as a build does.
    pub fn document(&self) -> Result<Document<'_>, LoadError> {
        Document::parse(&self.text, &self.scratch).map_err(|e| LoadError::parse(&self.name, &self.text, e))
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
    /// Parses `text` (BOM already stripped); the only call into the reader. `scratch` is fresh
    /// room for the copy [`syntax::parse_with`] may need to give typed views after a heredoc
    /// form parse-dockerfile cannot read.
    pub fn parse(text: &'a str, scratch: &'a syntax::Scratch) -> Result<Document<'a>, ParseError> {
        let syntax = syntax::parse_with(text, scratch)?;
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

    /// The typed view of instruction `index`; None after a construct `parse-dockerfile`
    /// cannot read (rules that need it skip that instruction).
    pub fn typed_at(&self, index: usize) -> Option<&Instruction<'a>> {
        self.syntax.instructions.get(index).and_then(|i| i.typed.as_ref())
    }

    /// The typed views of the instructions in `range` that have one.
    pub fn typed_in(&self, range: Range<usize>) -> impl Iterator<Item = &Instruction<'a>> {
        let range = range.start.min(self.syntax.instructions.len())..range.end.min(self.syntax.instructions.len());
        self.syntax.instructions[range].iter().filter_map(|i| i.typed.as_ref())
    }

    /// The typed views of every instruction that has one.
    pub fn typed(&self) -> impl Iterator<Item = &Instruction<'a>> {
        self.typed_in(0..self.syntax.instructions.len())
    }
}

/// BuildKit's arguments of `ins` with where each is written: each argument is looked up
/// verbatim in the source after the previous one, so an argument written with quotes,
/// escapes or across a continuation has no span. For instructions whose arguments are
/// plain words (FROM, EXPOSE...), read without the typed view.
pub fn arg_spans<'i>(text: &str, ins: &'i syntax::Instruction<'_>) -> Vec<(&'i str, Option<Span>)> {
    let mut at = ins.args_span.start;
    let end = ins.args_span.end.min(text.len());
    ins.args
        .iter()
        .map(|arg| {
            let found = text.get(at..end).and_then(|rest| rest.find(arg.as_str())).filter(|_| !arg.is_empty());
            let span = found.map(|i| at + i..at + i + arg.len());
            if let Some(span) = &span {
                at = span.end;
            }
            (arg.as_str(), span)
        })
        .collect()
}

/// Where `range`, a byte range of `arg.value`, is written: `arg` is an argument of `ins` as
/// parse-dockerfile unescapes it, with continuations (and the comment and empty lines inside
/// them) removed, so an offset into the value is not one into the source after the first
/// continuation. Mapped through the instruction's logical line, which removes the same.
pub fn unescaped_span(ins: &syntax::Instruction<'_>, arg: &typed::UnescapedString<'_>, range: Range<usize>) -> Span {
    let value: &str = &arg.value;
    if value.len() == arg.span.len() {
        return arg.span.start + range.start..arg.span.start + range.end;
    }
    let logical = ins.line.text.as_str();
    let at = logical.trim_end().strip_suffix(value).map(str::len).or_else(|| logical.find(value));
    match at {
        Some(at) => ins.line.source_span(at + range.start..at + range.end),
        None => arg.span.clone(),
    }
}

/// What COPY and ADD have in common.
pub struct Transfer<'i, 'a> {
    pub src: &'i [typed::Source<'a>],
    pub options: &'i [typed::Flag<'a>],
    pub dest: &'i typed::UnescapedString<'a>,
}

impl Transfer<'_, '_> {
    /// Sources are files of the build context (not `--from` a stage or image).
    pub fn from_context(&self) -> bool {
        !self.options.iter().any(|f| f.name.value == "from")
    }

    /// The source paths (heredoc sources left out).
    pub fn paths(&self) -> impl Iterator<Item = &typed::UnescapedString<'_>> {
        self.src.iter().filter_map(|s| match s {
            typed::Source::Path(p) => Some(p),
            _ => None,
        })
    }
}

/// The sources, flags and destination of a COPY or ADD.
pub fn transfer<'i, 'a>(instruction: &'i Instruction<'a>) -> Option<Transfer<'i, 'a>> {
    match instruction {
        Instruction::Copy(c) => Some(Transfer { src: &c.src, options: &c.options, dest: &c.dest }),
        Instruction::Add(a) => Some(Transfer { src: &a.src, options: &a.options, dest: &a.dest }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_check_directive_and_spans() {
        let text = "# check=skip=X\nFROM a\n# imgopt ignore=Y\nRUN a \\\n# inner\n  && b\n";
        let scratch = syntax::Scratch::new();
        let df = Document::parse(text, &scratch).expect("parses");
        let texts: Vec<_> = df.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["imgopt ignore=Y"]);
        assert_eq!(df.check_directive.as_ref().map(|c| c.0.as_str()), Some("skip=X"));
        assert_eq!(&text[df.instructions[1].span.clone()], "RUN a \\\n# inner\n  && b");
    }

    #[test]
    fn duplicate_stage_names_still_parse() {
        let scratch = syntax::Scratch::new();
        let df = Document::parse("FROM a AS x\nFROM b AS x\n", &scratch).expect("parses");
        assert_eq!(df.instructions.len(), 2);
    }

    #[test]
    fn arguments_are_located_in_the_source() {
        let text = "FROM a\nEXPOSE 80  80/udp \\\n  443\n";
        let scratch = syntax::Scratch::new();
        let df = Document::parse(text, &scratch).expect("parses");
        let spans: Vec<(&str, Option<&str>)> =
            arg_spans(text, &df.instructions[1]).into_iter().map(|(a, s)| (a, s.map(|s| &text[s]))).collect();
        assert_eq!(spans, [("80", Some("80")), ("80/udp", Some("80/udp")), ("443", Some("443"))]);
        let (_, second) = &arg_spans(text, &df.instructions[1])[1];
        assert_eq!(second.clone().map(|s| s.start), Some(text.find("80/udp").unwrap_or(0)));
    }

    #[test]
    fn instructions_after_an_unreadable_heredoc_keep_their_place_and_typed_views() {
        let text =
            "FROM a\nRUN cat > /f <<EOF\nx é\nEOF\nWORKDIR app\nRUN <<A 3<<B sh\na\nA\nb\nB\nCOPY --chown=1 x /y\n";
        let scratch = syntax::Scratch::new();
        let df = Document::parse(text, &scratch).expect("parses");
        // BuildKit's view of every instruction; the typed view of all but the two heredoc
        // forms parse-dockerfile cannot read, with spans into the original text.
        let keywords: Vec<&str> = df.instructions.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(keywords, ["FROM", "RUN", "WORKDIR", "RUN", "COPY"]);
        let typed: Vec<bool> = (0..5).map(|i| df.typed_at(i).is_some()).collect();
        assert_eq!(typed, [true, false, true, false, true]);
        let Some(Instruction::Copy(copy)) = df.typed_at(4) else { panic!("COPY has its typed view") };
        assert_eq!(&text[copy.dest.span.clone()], "/y");
        assert_eq!(&text[copy.options[0].span()], "--chown=1");
        assert_eq!(df.model.stages[0].instructions, 0..5);
        // Without room for the copy, the typed views stop at the first such form.
        let plain = syntax::parse(text).expect("parses");
        assert!(plain.instructions[2].typed.is_none() && plain.instructions[4].typed.is_none());
    }

    #[test]
    fn an_error_after_an_unreadable_heredoc_is_still_found() {
        let text = "FROM a\nRUN python3 <<EOF\nprint(1)\nEOF\nCOPY onlyone\n";
        let e = syntax::parse(text).map(|_| ()).expect_err("COPY with one argument is an error");
        assert_eq!(e.line, 5, "{e:?}");
        assert!(Document::parse(text, &syntax::Scratch::new()).is_err());
    }
}
