//! Reading a Dockerfile exactly as BuildKit does, with byte spans on everything.
//!
//! - [`reader`] reproduces BuildKit's line-level parser (`frontend/dockerfile/parser`):
//!   parser directives, continuation lines, comments and empty lines inside continuations,
//!   heredoc bodies, builder flags and each instruction's argument splitting, with where
//!   each argument is written. It decides where instructions are and what they say.
//! - [`checks`] makes the checks a build adds (`frontend/dockerfile/instructions`): unknown
//!   instructions and flags, argument counts, stage names, `--mount` fields read before
//!   expansion, HEALTHCHECK options, an instruction before the first FROM.
//!
//! The typed command of each instruction is [`crate::model::instruction`]'s.
//!
//! A leading UTF-8 byte-order mark is not part of [`Dockerfile::text`]: spans are offsets
//! into the text after it, and whoever writes a file back restores it ([`strip_bom`]).

pub mod checks;
pub mod dump;
pub mod lines;
pub mod reader;

use std::ops::Range;

pub use self::lines::LineIndex;
pub use self::reader::{Comment, Directive, EmptyContinuation, FlagText, Heredoc, LogicalLine};
/// The largest Dockerfile imgopt reads: 4 MiB, refused past that with a clear error before it
/// is parsed. BuildKit's parser reads with Go's `bufio.Scanner` and refuses a line over 64 KiB
/// (`bufio.MaxScanTokenSize`, "token too long") but sets no limit on a file; real Dockerfiles
/// stay under 100 KB, so 4 MiB (about 100,000 instructions) leaves room for generated ones
/// while keeping what lint and analyze may allocate per input bounded.
pub const MAX_DOCKERFILE_BYTES: u64 = 4 << 20;

/// The bytes of the Dockerfile at `path`: a regular file of at most [`MAX_DOCKERFILE_BYTES`],
/// opened without blocking (see [`crate::fsio`]).
pub fn read_dockerfile(path: &std::path::Path) -> Result<Vec<u8>, crate::fsio::FileError> {
    crate::fsio::read_regular(path, MAX_DOCKERFILE_BYTES)
}

/// The instructions BuildKit knows (its `command.Commands`), upper case.
pub const INSTRUCTIONS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// A byte range in [`Dockerfile::text`].
pub type Span = Range<usize>;

/// A parsed Dockerfile.
#[derive(Debug)]
pub struct Dockerfile<'a> {
    /// The source, without a leading byte-order mark.
    pub text: &'a str,
    /// The escape token: `\` or `` ` ``.
    pub escape: char,
    pub directives: Vec<Directive>,
    pub instructions: Vec<Instruction>,
    /// Comment lines between instructions (parser directives excluded), where pragmas live.
    pub comments: Vec<Comment>,
    /// Instructions whose continuation contains empty lines (BuildKit warns about them).
    pub empty_continuations: Vec<EmptyContinuation>,
    pub lines: LineIndex,
}

/// One instruction as BuildKit's parser reads it.
#[derive(Debug)]
pub struct Instruction {
    /// The keyword in upper case (`RUN`), whatever its case in the source.
    pub keyword: String,
    pub keyword_span: Span,
    /// From the keyword to the end of the instruction's last line, heredoc bodies included.
    pub span: Span,
    /// 1-based first and last line (heredoc bodies included).
    pub start_line: usize,
    pub end_line: usize,
    pub flags: Vec<FlagText>,
    /// Arguments as BuildKit splits them (see `reader`).
    pub args: Vec<String>,
    /// Where each of `args` is written (see [`reader::RawInstruction::arg_spans`]).
    pub arg_spans: Vec<Span>,
    /// Source span of the text after the flags.
    pub args_span: Span,
    /// Exec (JSON array) form.
    pub json_form: bool,
    pub heredocs: Vec<Heredoc>,
    /// The instruction inside `ONBUILD`.
    pub onbuild: Option<Box<Instruction>>,
    /// The logical line (continuations joined, comments removed) with its map to the source.
    pub line: LogicalLine,
}

impl Instruction {
    pub fn is(&self, keyword: &str) -> bool {
        self.keyword == keyword
    }

    /// A flag by name (without dashes), the last one when repeated.
    pub fn flag(&self, name: &str) -> Option<&FlagText> {
        self.flags.iter().rev().find(|f| f.name() == name)
    }

    /// The source text of the instruction.
    pub fn source<'t>(&self, text: &'t str) -> &'t str {
        text.get(self.span.clone()).unwrap_or("")
    }
}

/// Why a Dockerfile could not be read, located like BuildKit locates its errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
    pub span: Span,
    /// 1-based line of the start of the span.
    pub line: usize,
}

/// Splits off a leading UTF-8 byte-order mark.
pub fn strip_bom(text: &str) -> (&str, bool) {
    match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, true),
        None => (text, false),
    }
}

/// Reads a Dockerfile from bytes that may not be UTF-8 (BuildKit reads bytes; imgopt needs
/// text, so invalid UTF-8 is an error at the first bad byte, not a panic).
pub fn decode(bytes: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        ParseError { message: "the file is not valid UTF-8".to_string(), span: at..at + 1, line }
    })
}

/// Parses a Dockerfile (its BOM, if any, already stripped with [`strip_bom`]) and rejects
/// what a BuildKit build rejects: unknown instructions and flags, missing arguments, no FROM.
pub fn parse(text: &str) -> Result<Dockerfile<'_>, ParseError> {
    parse_at(text, true)
}

/// Reads a Dockerfile only as far as BuildKit's parser package does (`parser.Parse`): no
/// instruction-level checks, so an unknown flag or a missing FROM is not an error here.
pub fn read_lines(text: &str) -> Result<Dockerfile<'_>, ParseError> {
    parse_at(text, false)
}

fn parse_at(text: &str, strict: bool) -> Result<Dockerfile<'_>, ParseError> {
    let lines = LineIndex::new(text);
    let located = |message: String, span: Span| ParseError { line: lines.line(span.start), message, span };
    let read = reader::read(text).map_err(|e| located(e.message, e.span))?;
    if strict {
        checks::check_instructions(&read.instructions).map_err(|(m, s)| located(m, s))?;
    }
    let mut instructions: Vec<Instruction> = read.instructions.into_iter().map(from_raw).collect();
    // Read one by one, the vector has up to twice the room it needs; it is kept while the file
    // is linted or mapped.
    instructions.shrink_to_fit();
    Ok(Dockerfile {
        text,
        escape: read.escape,
        directives: read.directives,
        instructions,
        comments: read.comments,
        empty_continuations: read.empty_continuations,
        lines,
    })
}

fn from_raw(raw: reader::RawInstruction) -> Instruction {
    Instruction {
        keyword: raw.keyword.to_ascii_uppercase(),
        keyword_span: raw.keyword_span,
        span: raw.span,
        start_line: raw.start_line,
        end_line: raw.end_line,
        flags: raw.flags,
        args: raw.args,
        arg_spans: raw.arg_spans,
        args_span: raw.args_span,
        json_form: raw.json_form,
        heredocs: raw.heredocs,
        onbuild: raw.onbuild.map(|inner| Box::new(from_raw(*inner))),
        line: raw.line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_spans_and_lines() {
        let text = "# syntax=docker/dockerfile:1\nFROM alpine AS build\n# a comment\nRUN --mount=type=cache,target=/root/.cache \\\n    apk add curl\n";
        let df = parse(text).unwrap();
        assert_eq!(df.directives[0].name, "syntax");
        assert_eq!(df.comments.len(), 1);
        assert_eq!(df.comments[0].text, "a comment");
        let run = &df.instructions[1];
        assert_eq!(run.keyword, "RUN");
        assert_eq!((run.start_line, run.end_line), (4, 5));
        assert_eq!(&text[run.flags[0].span.clone()], "--mount=type=cache,target=/root/.cache");
        assert_eq!(run.flag("mount").and_then(FlagText::value), Some("type=cache,target=/root/.cache"));
        assert_eq!(run.source(text), "RUN --mount=type=cache,target=/root/.cache \\\n    apk add curl");
    }

    #[test]
    fn rejects_what_buildkit_rejects() {
        let e = parse("FROM a\nRUN --mont=type=cache,target=/x true\n").unwrap_err();
        assert_eq!(e.message, "unknown flag: mont");
        assert_eq!(e.line, 2);
        let e = parse("FROM a\nENV PATH\n").unwrap_err();
        assert_eq!(e.message, "ENV must have two arguments");
        for (text, message) in [
            ("FROM a\nONBUILD ONBUILD RUN x\n", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
            ("FROM a\nonbuild from scratch\n", "FROM isn't allowed as an ONBUILD trigger"),
            ("FROM a\nONBUILD Maintainer me\n", "MAINTAINER isn't allowed as an ONBUILD trigger"),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!((e.message.as_str(), e.line), (message, 2), "{text}");
            assert!(read_lines(text).is_ok(), "BuildKit's parser package accepts {text}");
        }
        assert!(parse("FROM a\nONBUILD RUN echo from\n").is_ok());
        // After a heredoc that is not the command's first word, BuildKit's checks go on.
        let heredoc = "FROM a\nRUN cat <<-EOF\n\thi\n\tEOF\n";
        assert!(parse(heredoc).is_ok(), "BuildKit reads {heredoc:?}");
        for (later, message) in [
            ("COPY --bogus x y\n", "unknown flag: bogus"),
            ("ONBUILD FROM x\n", "FROM isn't allowed as an ONBUILD trigger"),
        ] {
            let text = format!("{heredoc}{later}");
            let e = parse(&text).unwrap_err();
            assert_eq!((e.message.as_str(), e.line), (message, 5), "{text:?}");
        }
        let e = parse("FROM a\nCOPY --from x y\n").unwrap_err();
        assert_eq!(e.message, "missing a value on flag: from");
        assert!(parse("# just a comment\n").is_err());
        // A lone escape character on the last lines: an empty instruction BuildKit's parser
        // keeps (read_lines) and its build refuses (parse).
        for text in ["FROM a\n\\\n", "FROM a\n  \\\n\n# c\n", "FROM a\n\\"] {
            let e = parse(text).unwrap_err();
            assert!(e.message.starts_with("unknown instruction"), "{text:?}: {e:?}");
            assert_eq!(e.line, 2, "{text:?}");
            let read = read_lines(text).unwrap();
            assert_eq!(read.instructions.len(), 2, "{text:?}");
            assert_eq!(read.instructions[1].keyword, "");
        }
        assert!(parse("").is_err());
    }

    #[test]
    fn accepts_duplicate_stage_names_for_the_model_to_report() {
        let df = parse("FROM a AS x\nFROM b AS x\n").unwrap();
        assert_eq!(df.instructions.len(), 2);
    }

    #[test]
    fn instructions_a_build_refuses() {
        for (text, message, line) in [
            ("FROM a\nFNTRYPOINT [\"x\"]\n", "unknown instruction: FNTRYPOINT (did you mean ENTRYPOINT?)", 2),
            ("FROM a\nBADCMD x\n", "unknown instruction: BADCMD", 2),
            (
                "FROM a\nCOPY x\n",
                "COPY requires at least two arguments, but only one was provided. Destination could not be determined",
                2,
            ),
            ("FROM\n", "FROM requires either one or three arguments", 1),
            ("FROM a b\n", "FROM requires either one or three arguments", 1),
            ("FROM a\nENV\n", "ENV requires at least one argument", 2),
            ("FROM a\nWORKDIR\n", "WORKDIR requires exactly one argument", 2),
            ("FROM a\nEXPOSE\n", "EXPOSE requires at least one argument", 2),
            ("FROM a\nONBUILD\n", "ONBUILD requires at least one argument", 2),
            ("FROM a\nSHELL /bin/sh -c\n", "SHELL requires the arguments to be in JSON form", 2),
            ("FROM a\nSHELL []\n", "SHELL requires at least one argument", 2),
            ("ARG V=1\nRUN true\nFROM a\n", "no build stage in current context", 2),
            ("ARG V=1\n", "dockerfile contains no stages to build", 1),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!((e.message.as_str(), e.line), (message, line), "{text:?}");
            assert!(read_lines(text).is_ok(), "BuildKit's parser package reads {text:?}");
        }
        // The first instruction refused wins, in file order.
        let e = parse("RUN x\nFROM a\nCOPY --bogus a b\n").unwrap_err();
        assert_eq!(e.message, "no build stage in current context");
        let e = parse("BADCMD\nFROM a\n").unwrap_err();
        assert_eq!(e.message, "unknown instruction: BADCMD");
        for ok in ["FROM a\nRUN\n", "FROM a\nCMD\n", "ARG A\nARG B=1\nFROM a\n", "FROM a\nSTOPSIGNAL --x 9\n"] {
            assert!(parse(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn errors_point_at_their_line_whatever_the_bytes() {
        // A second byte-order mark (the first is stripped before parsing) is part of the
        // keyword, for BuildKit too.
        let e = parse("\u{feff}FROM a\nFOO x\n").unwrap_err();
        assert_eq!((e.line, e.span.start), (1, 0), "{e:?}");
        assert!(e.message.starts_with("unknown instruction: \u{feff}FROM"), "{e:?}");
        let e = parse("FROM é\nHEALTHCHECK --interval=1s CMD x\nCOPY --bogus a b\n").unwrap_err();
        assert_eq!(e.span.start, "FROM é\nHEALTHCHECK --interval=1s CMD x\nCOPY ".len(), "{e:?}");
        let e = parse("FROM é\nCOPY x\n").unwrap_err();
        assert_eq!((e.line, e.span.start), (2, "FROM é\n".len()), "{e:?}");
        for text in ["\u{feff}\t\x13\n \t\t\x13\n \t", "\u{feff}\u{feff}FROM\n", "FROM é\nÉ\n"] {
            for result in [parse(text), read_lines(text)] {
                if let Err(e) = result {
                    assert!(
                        text.is_char_boundary(e.span.start) && text.is_char_boundary(e.span.end),
                        "{text:?}: {e:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let e = decode(b"FROM a\nRUN \xff\n").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
