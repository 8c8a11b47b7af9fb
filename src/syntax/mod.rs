//! Reading a Dockerfile exactly as BuildKit does, with byte spans on everything.
//!
//! Two layers cooperate:
//! - [`reader`] reproduces BuildKit's line-level parser: parser directives, continuation
//!   lines, comments and empty lines inside continuations, heredoc bodies, builder flags and
//!   each instruction's argument splitting. It decides where instructions are and what
//!   BuildKit would report for them.
//! - `parse-dockerfile` gives the typed view of each instruction (spans on every argument)
//!   that rules and the builder use. Its known differences from BuildKit are handled here:
//!   unknown flags and `ENV` without a value are rejected (it accepts them), a duplicate
//!   stage name is left to the model to report (it fails the file), and an instruction it
//!   cannot read although BuildKit can (a heredoc that is not the first word, `RUN python3
//!   <<EOF`, or numbered ones, `3<<IN`) keeps its BuildKit view with no typed view. With
//!   [`parse_with`] the instructions after it keep theirs (it reads a copy of the text where
//!   that instruction is commented out); with [`parse`] they have none. Either way, what
//!   follows is checked as a build checks it.
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
/// The typed instruction model of `parse-dockerfile`, re-exported so that every part of
/// imgopt names the same version.
pub use parse_dockerfile as typed;

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
    pub instructions: Vec<Instruction<'a>>,
    /// Comment lines between instructions (parser directives excluded), where pragmas live.
    pub comments: Vec<Comment>,
    /// Instructions whose continuation contains empty lines (BuildKit warns about them).
    pub empty_continuations: Vec<EmptyContinuation>,
    pub lines: LineIndex,
}

/// One instruction: BuildKit's view of it and, where available, the typed view.
#[derive(Debug)]
pub struct Instruction<'a> {
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
    pub onbuild: Option<Box<Instruction<'a>>>,
    /// The logical line (continuations joined, comments removed) with its map to the source.
    pub line: LogicalLine,
    /// The `parse-dockerfile` view, with spans on every argument. `None` only after a
    /// construct it cannot read although BuildKit can.
    pub typed: Option<typed::Instruction<'a>>,
}

impl Instruction<'_> {
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
    parse_at(text, true, None)
}

/// Reads a Dockerfile only as far as BuildKit's parser package does (`parser.Parse`): no
/// instruction-level checks, so an unknown flag or a missing FROM is not an error here.
/// Typed views are attached where `parse-dockerfile` can give them.
pub fn read_lines(text: &str) -> Result<Dockerfile<'_>, ParseError> {
    parse_at(text, false, None)
}

/// Room for the copy of a text that `parse-dockerfile` reads when it cannot read the original
/// to the end. Give [`parse_with`] a fresh one per text; it must live as long as the result.
pub type Scratch = std::cell::OnceCell<String>;

/// [`parse`], with typed views for the instructions after a heredoc form `parse-dockerfile`
/// cannot read (`RUN python3 <<EOF`, `RUN <<A 3<<B`). It is given a copy of the text in
/// `scratch` where each such instruction is turned into comment lines of the same length, so
/// every other instruction keeps its spans; those instructions get no typed view.
pub fn parse_with<'a>(text: &'a str, scratch: &'a Scratch) -> Result<Dockerfile<'a>, ParseError> {
    parse_at(text, true, Some(scratch))
}

/// The typed views of `text` in order, with their keyword starts, up to parse-dockerfile's
/// first error (if any).
fn typed_read<'a>(
    text: &'a str,
    lines: &LineIndex,
) -> (Vec<(usize, Option<typed::Instruction<'a>>)>, Option<ParseError>) {
    let mut views = Vec::new();
    match typed::parse_iter(text) {
        Ok(it) => {
            for t in it {
                match t {
                    Ok(t) => views.push((typed_keyword_span(&t).start, Some(t))),
                    Err(e) => return (views, Some(typed_error(lines, text, e))),
                }
            }
            (views, None)
        }
        Err(e) => (views, Some(typed_error(lines, text, e))),
    }
}

/// The instruction (index) holding line `line`, when it has heredocs: the forms
/// parse-dockerfile cannot read.
fn heredoc_instruction_at(raws: &[reader::RawInstruction], line: usize) -> Option<usize> {
    raws.iter().position(|r| r.start_line <= line && line <= r.end_line).filter(|&i| !raws[i].heredocs.is_empty())
}

/// How many unreadable heredoc instructions [`parse_with`] comments out before it gives up.
const MAX_COMMENTED_OUT: usize = 32;

/// `text` with the instructions at `spans` turned into comment lines of the same length (each
/// line's first byte `#`, the rest spaces), so that parse-dockerfile skips them.
fn commented_out(text: &str, spans: &[Span]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for span in spans {
        let mut line_start = true;
        for b in &mut bytes[span.clone()] {
            if *b == b'\n' {
                line_start = true;
            } else {
                *b = if line_start { b'#' } else { b' ' };
                line_start = false;
            }
        }
    }
    // Whole characters were replaced by ASCII, within char boundaries: still UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|_| text.to_string())
}

fn parse_at<'a>(text: &'a str, strict: bool, scratch: Option<&'a Scratch>) -> Result<Dockerfile<'a>, ParseError> {
    let lines = LineIndex::new(text);
    let located = |message: String, span: Span| ParseError { line: lines.line(span.start), message, span };
    let read = reader::read(text).map_err(|e| located(e.message, e.span))?;

    let (mut typed_views, mut typed_error_at) = typed_read(text, &lines);
    // Where parse-dockerfile stops at a heredoc form BuildKit reads, comment that instruction
    // out in a copy and read on, until it reads to the end or stops elsewhere: what it then
    // rejects, a build rejects too. With a scratch, the typed views come from that copy.
    let mut rest_error = typed_error_at.clone();
    if typed_error_at.is_some() {
        let mut skipped: Vec<usize> = Vec::new();
        let mut copy = None;
        while let Some(i) = rest_error.as_ref().and_then(|e| heredoc_instruction_at(&read.instructions, e.line)) {
            // Each round reads the whole text again: a bound keeps a file made of such forms
            // linear. Past it, as without a scratch, what follows has no typed view.
            if skipped.contains(&i) || skipped.len() == MAX_COMMENTED_OUT {
                break;
            }
            skipped.push(i);
            let spans: Vec<Span> = skipped.iter().map(|&k| read.instructions[k].span.clone()).collect();
            let next = commented_out(text, &spans);
            rest_error = typed_read(&next, &lines).1;
            copy = Some(next);
        }
        if let (Some(scratch), Some(copy)) = (scratch, copy) {
            if scratch.set(copy).is_ok() {
                let copy = scratch.get().map_or(text, String::as_str);
                (typed_views, typed_error_at) = typed_read(copy, &lines);
                // The commented-out instructions hold their place, without a typed view.
                typed_views.extend(skipped.iter().map(|&k| (read.instructions[k].keyword_span.start, None)));
                typed_views.sort_by_key(|(start, _)| *start);
            }
        }
    }
    if strict {
        // Known difference: parse-dockerfile rejects some heredoc forms BuildKit accepts.
        // Anything else it rejects, BuildKit's build rejects too.
        let fatal = rest_error.as_ref().filter(|e| heredoc_instruction_at(&read.instructions, e.line).is_none());
        // BuildKit's instruction-level checks, in file order; the first one wins over a later
        // error of parse-dockerfile's (and over its wording on the same instruction). After an
        // error of parse-dockerfile's that BuildKit does not make, they go on to the end.
        for raw in &read.instructions {
            if fatal.is_some_and(|e| e.line < raw.start_line) {
                break;
            }
            checks::check_instruction(raw).map_err(|(m, s)| located(m, s))?;
        }
        if let Some(e) = fatal {
            return Err(e.clone());
        }
    }
    // Attach a typed view only where both readings agree on the instruction's boundaries:
    // it starts where BuildKit's starts and the next one starts where BuildKit's next does.
    let typed_starts: Vec<usize> = typed_views.iter().map(|(start, _)| *start).collect();
    let raw_starts: Vec<usize> = read.instructions.iter().map(|r| r.keyword_span.start).collect();
    let mut instructions = Vec::with_capacity(read.instructions.len());
    for (i, raw) in read.instructions.into_iter().enumerate() {
        let typed = typed_starts.binary_search(&raw.keyword_span.start).ok().and_then(|t| {
            let next_raw = raw_starts.get(i + 1).copied();
            let next_typed = typed_starts.get(t + 1).copied();
            let agrees = next_raw == next_typed || (next_raw.is_none() && typed_error_at.is_none());
            if agrees {
                typed_views[t].1.take()
            } else {
                None
            }
        });
        instructions.push(from_raw(raw, typed));
    }
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

fn from_raw<'a>(raw: reader::RawInstruction, typed: Option<typed::Instruction<'a>>) -> Instruction<'a> {
    let onbuild = raw.onbuild.map(|inner| Box::new(from_raw(*inner, None)));
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
        onbuild,
        line: raw.line,
        typed,
    }
}

/// The keyword span of a typed instruction.
pub fn typed_keyword_span(t: &typed::Instruction<'_>) -> Span {
    use typed::Instruction as T;
    let k = match t {
        T::Add(i) => &i.add,
        T::Arg(i) => &i.arg,
        T::Cmd(i) => &i.cmd,
        T::Copy(i) => &i.copy,
        T::Entrypoint(i) => &i.entrypoint,
        T::Env(i) => &i.env,
        T::Expose(i) => &i.expose,
        T::From(i) => &i.from,
        T::Healthcheck(i) => &i.healthcheck,
        T::Label(i) => &i.label,
        T::Maintainer(i) => &i.maintainer,
        T::Onbuild(i) => &i.onbuild,
        T::Run(i) => &i.run,
        T::Shell(i) => &i.shell,
        T::Stopsignal(i) => &i.stopsignal,
        T::User(i) => &i.user,
        T::Volume(i) => &i.volume,
        T::Workdir(i) => &i.workdir,
        _ => return 0..0,
    };
    k.span.clone()
}

fn typed_error(lines: &LineIndex, text: &str, e: typed::Error) -> ParseError {
    let line = e.line().max(1);
    let start = lines.line_start(line, text.len());
    // parse-dockerfile counts columns in bytes from 1, but strips a BOM of its own first: a
    // second one, imgopt having stripped the first, shifts its first line by 3 bytes. The
    // span must never start inside a character, nor past its line.
    let bom = if line == 1 && text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let at = (start + bom + e.column().saturating_sub(1)).min(line_end);
    let at = self::lines::floor_char_boundary(text, at);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i).max(at);
    let message = e.to_string();
    // Its messages end with " at line:column"; the span says where.
    let message = message.rsplit_once(" at ").map_or(message.as_str(), |(m, _)| m).to_string();
    ParseError { message, span: at..end, line }
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
        assert!(matches!(run.typed, Some(typed::Instruction::Run(_))));
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
        // After a heredoc parse-dockerfile refuses (and BuildKit reads), BuildKit's checks go on.
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
    fn errors_from_parse_dockerfile_point_at_their_line_whatever_the_bytes() {
        // parse-dockerfile strips a BOM itself: after imgopt stripped the first, a second one
        // shifted its positions on line 1 into the middle of a character.
        // (parse gets the text after the first BOM: these files began with two.)
        let e = parse("\u{feff}FROM a\nFOO x\n").unwrap_err();
        assert_eq!((e.line, e.span.start), (2, "\u{feff}FROM a\n".len()), "{e:?}");
        let e = parse("\u{feff}FROM\n").unwrap_err();
        assert_eq!((e.line, e.span.start), (1, '\u{feff}'.len_utf8()), "{e:?}");
        let e = parse("FROM é\nHEALTHCHECK --interval=1s CMD x\nCOPY --bogus a b\n").unwrap_err();
        assert_eq!(
            e.span.start,
            "FROM é\nHEALTHCHECK --interval=1s CMD x\nCOPY ".len(),
            "imgopt's own flag check: {e:?}"
        );
        let e = parse("FROM é\nCOPY x\n").unwrap_err();
        assert_eq!(e.line, 2, "{e:?}");
        assert!(e.span.start >= "FROM é\n".len(), "{e:?}");
        for text in ["\u{feff}\t\x13\n \t\t\x13\n \t", "\u{feff}\u{feff}FROM\n"] {
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
