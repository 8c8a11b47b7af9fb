//! BuildKit's line-level reading of a Dockerfile: parser directives, continuation lines,
//! comments inside continuations, heredoc bodies, builder flags and each instruction's
//! argument splitting (`frontend/dockerfile/parser` in moby/buildkit).
//!
//! This is the part of the semantics that decides *where instructions are* and *what their
//! arguments are*; the typed command of each instruction is built on it
//! ([`crate::model::instruction`]). Everything here keeps byte offsets into the source so
//! diagnostics and edits can point at exact bytes.

use std::ops::Range;

/// A parse failure, located like BuildKit locates it (the lines of the instruction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub message: String,
    pub span: Range<usize>,
}

/// Where a piece of a logical line came from in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    logical: usize,
    source: usize,
    len: usize,
}

/// An instruction's logical line: its physical lines joined, with continuation characters,
/// comment lines and empty continuation lines removed, plus the map back to source bytes.
#[derive(Debug, Clone, Default)]
pub struct LogicalLine {
    pub text: String,
    segments: Vec<Segment>,
}

impl LogicalLine {
    fn push(&mut self, source_offset: usize, piece: &str) {
        if piece.is_empty() {
            return;
        }
        self.segments.push(Segment { logical: self.text.len(), source: source_offset, len: piece.len() });
        self.text.push_str(piece);
    }

    /// The source offset of a logical offset (the end of the line maps past its last byte).
    pub fn source_offset(&self, logical: usize) -> usize {
        let i = self.segments.partition_point(|s| s.logical + s.len <= logical);
        match self.segments.get(i) {
            Some(s) if logical >= s.logical => s.source + (logical - s.logical),
            Some(s) => s.source,
            None => self.segments.last().map_or(0, |s| s.source + s.len),
        }
    }

    /// The logical offset of a source offset (the nearest following piece when it falls in
    /// removed text such as a continuation character).
    pub fn logical_offset(&self, source: usize) -> usize {
        for s in &self.segments {
            if source < s.source {
                return s.logical;
            }
            if source < s.source + s.len {
                return s.logical + (source - s.source);
            }
        }
        self.text.len()
    }

    /// Source byte range covering a logical range (it may span several physical lines).
    pub fn source_span(&self, logical: Range<usize>) -> Range<usize> {
        if logical.is_empty() {
            let at = self.source_offset(logical.start);
            return at..at;
        }
        let start = self.source_offset(logical.start);
        let end = self.source_offset(logical.end - 1) + 1;
        start..end.max(start)
    }
}

/// A builder flag (`--mount=type=cache,target=/x`) as BuildKit reports it, with its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagText {
    /// The flag after BuildKit's unquoting, e.g. `--mount=type=cache,target=/x`.
    pub text: String,
    pub span: Range<usize>,
}

impl FlagText {
    /// Name without the leading dashes (`mount`).
    pub fn name(&self) -> &str {
        let t = self.text.trim_start_matches('-');
        t.split_once('=').map_or(t, |(n, _)| n)
    }

    /// The value after `=`, if any.
    pub fn value(&self) -> Option<&str> {
        self.text.trim_start_matches('-').split_once('=').map(|(_, v)| v)
    }
}

/// A heredoc attached to an instruction (`<<EOF`, `<<-EOF`, `3<<"IN"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    pub file_descriptor: u32,
    /// False when any part of the delimiter word was quoted: the body is not expanded.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the body and the terminator.
    pub chomp: bool,
    /// The body as written, each line with its line ending, the terminator line excluded.
    pub content: String,
    /// Source span of the body lines and the terminator line.
    pub span: Range<usize>,
}

/// One instruction as BuildKit's parser sees it.
#[derive(Debug, Clone)]
pub struct RawInstruction {
    /// The keyword as written (`run`, `RUN`, `Run`...).
    pub keyword: String,
    pub keyword_span: Range<usize>,
    pub flags: Vec<FlagText>,
    /// The arguments after BuildKit's per-instruction splitting (`(env "k" "v" "=")`).
    pub args: Vec<String>,
    /// Where each of `args` is written, one span per argument: a JSON array's strings with
    /// their quotes, an ENV or LABEL name and value each (the `=` entry empty, at the end of
    /// the value), the whole text for the forms BuildKit keeps as one argument.
    pub arg_spans: Vec<Range<usize>>,
    /// Source span of the argument text (after the flags), if any.
    pub args_span: Range<usize>,
    pub json_form: bool,
    pub heredocs: Vec<Heredoc>,
    /// ONBUILD's inner instruction.
    pub onbuild: Option<Box<RawInstruction>>,
    pub line: LogicalLine,
    /// From the first byte of the keyword to the end of the last line (heredocs included),
    /// line ending excluded.
    pub span: Range<usize>,
    pub start_line: usize,
    pub end_line: usize,
}

/// A `# name=value` parser directive at the top of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Lower-cased name: `syntax`, `escape` or `check`.
    pub name: String,
    pub value: String,
    pub span: Range<usize>,
    pub value_span: Range<usize>,
}

/// A comment line between instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// The text after `#`, trimmed.
    pub text: String,
    pub span: Range<usize>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmptyContinuation {
    /// The instruction's span.
    pub instruction: Range<usize>,
    /// The empty lines' spans.
    pub lines: Vec<Range<usize>>,
}

#[derive(Debug, Default)]
pub struct Read {
    pub escape: char,
    pub directives: Vec<Directive>,
    pub instructions: Vec<RawInstruction>,
    pub comments: Vec<Comment>,
    pub empty_continuations: Vec<EmptyContinuation>,
}

/// A physical line: offset of its first byte, its text without the line ending, and the
/// offset just past its line ending.
#[derive(Debug, Clone, Copy)]
struct Physical<'a> {
    start: usize,
    text: &'a str,
    next: usize,
}

/// BuildKit reads lines with Go's `bufio.Scanner`, whose buffer stops at 64 KiB: a line that
/// does not fit, line ending included, ends the reading with this error.
const MAX_LINE_BYTES: usize = 64 * 1024;

struct Lines<'a> {
    src: &'a str,
    pos: usize,
    number: usize,
    /// Span of the first line too long to read; reading stops before it.
    too_long: Option<Range<usize>>,
}

impl<'a> Lines<'a> {
    fn next_line(&mut self) -> Option<Physical<'a>> {
        if self.pos >= self.src.len() || self.too_long.is_some() {
            return None;
        }
        let rest = &self.src[self.pos..];
        let (len, next) = match rest.find('\n') {
            Some(i) => (i, self.pos + i + 1),
            None => (rest.len(), self.src.len()),
        };
        // A last line without its line ending must leave the scanner room to see the end.
        if next - self.pos > MAX_LINE_BYTES || (next == self.src.len() && len == rest.len() && len >= MAX_LINE_BYTES) {
            self.too_long = Some(self.pos..self.pos + len);
            return None;
        }
        let start = self.pos;
        // BuildKit trims "\r\n" from the right of each line.
        let text = rest[..len].trim_end_matches(['\r', '\n']);
        self.pos = next;
        self.number += 1;
        Some(Physical { start, text, next })
    }
}

struct Directives {
    escape: char,
    done: bool,
    seen: Vec<String>,
    found: Vec<Directive>,
}

const VALID_DIRECTIVES: [&str; 3] = ["escape", "syntax", "check"];

impl Directives {
    /// BuildKit's `DirectiveParser.ParseLine`: `#`, Unicode blanks, then
    /// `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`.
    fn consider(&mut self, line: &str, line_offset: usize) -> Result<(), String> {
        if self.done {
            return Ok(());
        }
        let Some((name, value, value_at)) = match_directive(line) else {
            self.done = true;
            return Ok(());
        };
        let key = name.to_ascii_lowercase();
        if !VALID_DIRECTIVES.contains(&key.as_str()) {
            self.done = true;
            return Ok(());
        }
        if self.seen.contains(&key) {
            return Err(format!("only one {key} parser directive can be used"));
        }
        if key == "escape" {
            self.escape = match value {
                "`" => '`',
                "\\" => '\\',
                other => return Err(format!("invalid escape token '{other}' does not match ` or \\")),
            };
        }
        self.found.push(Directive {
            name: key.clone(),
            value: value.to_string(),
            span: line_offset..line_offset + line.len(),
            value_span: line_offset + value_at..line_offset + value_at + value.len(),
        });
        self.seen.push(key);
        Ok(())
    }
}

fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// `\s` in Go's RE2 is ASCII `[\t\n\f\r ]`.
fn is_re2_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn match_directive(line: &str) -> Option<(&str, &str, usize)> {
    let b = line.as_bytes();
    if b.first() != Some(&b'#') {
        return None;
    }
    // BuildKit's DirectiveParser trims the text after `#` with unicode.IsSpace (so a vertical
    // tab or a no-break space may stand there); only the regex after the name uses RE2's `\s`.
    let mut i = 1 + (line[1..].len() - line[1..].trim_start_matches(is_go_space).len());
    let name_start = i;
    if i >= b.len() || !b[i].is_ascii_alphabetic() {
        return None;
    }
    while i < b.len() && b[i].is_ascii_alphanumeric() {
        i += 1;
    }
    let name = &line[name_start..i];
    while i < b.len() && is_re2_space(b[i]) {
        i += 1;
    }
    if b.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while i < b.len() && is_re2_space(b[i]) {
        i += 1;
    }
    let mut end = b.len();
    while end > i && is_re2_space(b[end - 1]) {
        end -= 1;
    }
    if end <= i {
        return None;
    }
    Some((name, &line[i..end], i))
}

/// `isComment`: the line, left-trimmed, starts with `#`.
fn is_comment(line: &str) -> bool {
    line.trim_start_matches(is_go_space).starts_with('#')
}

/// BuildKit's continuation regex `([^E])E[ \t]*$|^E[ \t]*$`: returns the length of the line
/// once the continuation character (and trailing blanks) is removed, or None if the line
/// does not continue.
fn continuation_cut(line: &str, escape: char) -> Option<usize> {
    let trimmed = line.trim_end_matches([' ', '\t']);
    let before = trimmed.strip_suffix(escape)?;
    match before.chars().next_back() {
        None => Some(0),
        Some(c) if c != escape => Some(before.len()),
        Some(_) => None,
    }
}

/// Reads a whole Dockerfile (without its BOM) the way BuildKit's `parser.Parse` does.
pub fn read(src: &str) -> Result<Read, ReadError> {
    let mut lines = Lines { src, pos: 0, number: 0, too_long: None };
    let mut d = Directives { escape: '\\', done: false, seen: Vec::new(), found: Vec::new() };
    let mut out = Read::default();

    while let Some(first) = lines.next_line() {
        let start_line = lines.number;
        let lead = first.text.len() - first.text.trim_start_matches(is_go_space).len();
        let stripped = &first.text[lead..];
        d.consider(stripped, first.start + lead)
            .map_err(|message| ReadError { message, span: first.start..first.start + first.text.len() })?;
        if stripped.starts_with('#') {
            if d.found.last().is_none_or(|x| x.span.start != first.start + lead) {
                out.comments.push(Comment {
                    text: stripped.strip_prefix('#').unwrap_or(stripped).trim().to_string(),
                    span: first.start..first.start + first.text.len(),
                    line: start_line,
                });
            }
            continue;
        }
        let mut logical = LogicalLine::default();
        let mut end = first.start + first.text.len();
        let mut continues = match continuation_cut(stripped, d.escape) {
            Some(cut) => {
                logical.push(first.start + lead, &stripped[..cut]);
                true
            }
            None => {
                logical.push(first.start + lead, stripped);
                false
            }
        };
        if !continues && logical.text.is_empty() {
            continue;
        }
        let mut empty_lines = Vec::new();
        while continues {
            let Some(next) = lines.next_line() else { break };
            d.consider(next.text, next.start)
                .map_err(|message| ReadError { message, span: next.start..next.start + next.text.len() })?;
            end = next.start + next.text.len();
            if is_comment(next.text) {
                continue;
            }
            if next.text.trim_start_matches(is_go_space).is_empty() {
                empty_lines.push(next.start..next.start + next.text.len());
                continue;
            }
            match continuation_cut(next.text, d.escape) {
                Some(cut) => logical.push(next.start, &next.text[..cut]),
                None => {
                    logical.push(next.start, next.text);
                    continues = false;
                }
            }
        }
        let span_start = first.start + lead;
        let located = |message: String, end: usize| ReadError { message, span: span_start..end };
        let mut inst = node_from_line(&logical, 0..logical.text.len(), d.escape).map_err(|m| located(m, end))?;
        if inst.can_contain_heredoc() {
            let names = heredocs_from_line(&logical.text);
            for (fd, chomp, name, expand) in names {
                let body_start = lines.pos;
                let mut content = String::new();
                let mut terminated = false;
                while let Some(l) = lines.next_line() {
                    end = l.start + l.text.len();
                    let candidate = if chomp { l.text.trim_start_matches('\t') } else { l.text };
                    if candidate == name {
                        terminated = true;
                        break;
                    }
                    content.push_str(&src[l.start..l.next]);
                }
                if !terminated {
                    return Err(located("unterminated heredoc".to_string(), end));
                }
                let doc = Heredoc { name, file_descriptor: fd, expand, chomp, content, span: body_start..end };
                inst.heredocs.push(doc);
            }
        }
        if !empty_lines.is_empty() {
            out.empty_continuations.push(EmptyContinuation { instruction: span_start..end, lines: empty_lines });
        }
        inst.span = span_start..end;
        inst.start_line = start_line;
        inst.end_line = lines.number;
        // Kept for every instruction of the file: no spare capacity.
        logical.text.shrink_to_fit();
        logical.segments.shrink_to_fit();
        inst.line = logical;
        out.instructions.push(inst);
    }
    out.escape = d.escape;
    out.directives = d.found;
    if out.instructions.is_empty() {
        return Err(ReadError { message: "file with no instructions".to_string(), span: src.len()..src.len() });
    }
    if let Some(span) = lines.too_long {
        let message = format!("dockerfile line greater than max allowed size of {}", MAX_LINE_BYTES - 1);
        return Err(ReadError { message, span });
    }
    Ok(out)
}

impl RawInstruction {
    /// BuildKit's `canContainHeredoc`: ADD, COPY and RUN in shell form, also under ONBUILD.
    fn can_contain_heredoc(&self) -> bool {
        let inner = match &self.onbuild {
            Some(inner) if self.keyword.eq_ignore_ascii_case("onbuild") => inner,
            _ => self,
        };
        ["add", "copy", "run"].iter().any(|k| inner.keyword.eq_ignore_ascii_case(k)) && !inner.json_form
    }

    /// The keyword in upper case.
    pub fn keyword_upper(&self) -> String {
        self.keyword.to_ascii_uppercase()
    }
}

/// `[\t\v\f\r ]` — BuildKit's `tokenWhitespace` / `reWhitespace`.
fn is_token_space(c: char) -> bool {
    matches!(c, '\t' | '\x0b' | '\x0c' | '\r' | ' ')
}

/// `newNodeFromLine` on the logical range `range` of `line`.
fn node_from_line(line: &LogicalLine, range: Range<usize>, escape: char) -> Result<RawInstruction, String> {
    let full = &line.text[range.clone()];
    let trimmed_start = full.len() - full.trim_start_matches(is_go_space).len();
    let body = full.trim_matches(is_go_space);
    let base = range.start + trimmed_start;
    let (keyword, rest, rest_at) = match body.find(is_token_space) {
        Some(i) => {
            let after = &body[i..];
            let skip = after.len() - after.trim_start_matches(is_token_space).len();
            (&body[..i], &body[i + skip..], base + i + skip)
        }
        None => (body, "", base + body.len()),
    };
    let (flags, args_at) = extract_builder_flags(rest);
    let flags = flags
        .into_iter()
        .map(|(text, r)| FlagText { text, span: line.source_span(rest_at + r.start..rest_at + r.end) })
        .collect();
    let args_text_full = &rest[args_at..];
    let args_text = args_text_full.trim_matches(is_go_space);
    let args_start = rest_at + args_at + (args_text_full.len() - args_text_full.trim_start_matches(is_go_space).len());
    let args_range = args_start..args_start + args_text.len();
    let mut inst = RawInstruction {
        keyword: keyword.to_string(),
        keyword_span: line.source_span(base..base + keyword.len()),
        flags,
        args: Vec::new(),
        arg_spans: Vec::new(),
        args_span: line.source_span(args_range.clone()),
        json_form: false,
        heredocs: Vec::new(),
        onbuild: None,
        line: LogicalLine::default(),
        span: 0..0,
        start_line: 0,
        end_line: 0,
    };
    // Arguments with their logical ranges, relative to `args_text`.
    let mut args: Vec<(String, Range<usize>)> = Vec::new();
    match keyword.to_ascii_lowercase().as_str() {
        "add" | "copy" | "volume" => match parse_json(args_text) {
            Json::Array(a) => {
                args = a;
                inst.json_form = true;
            }
            Json::NotStrings => return Err(NOT_STRING_ARRAY.to_string()),
            Json::Other => args = split_whitespace(args_text),
        },
        "cmd" | "entrypoint" | "run" | "shell" => inst.json_form = maybe_json(&mut args, args_text, 0)?,
        "arg" => args = parse_words_spanned(args_text, escape),
        "env" | "label" => {
            for pair in name_vals(args_text, &keyword.to_ascii_uppercase(), escape)? {
                let separator = if pair.legacy { "" } else { "=" };
                let end = pair.value.1.end;
                args.extend([pair.name, pair.value, (separator.to_string(), end..end)]);
            }
        }
        "expose" | "from" => args = split_whitespace(args_text),
        "healthcheck" => {
            let sep = args_text.find(is_ascii_go_space).unwrap_or(args_text.len());
            if sep > 0 {
                let rest = args_text[sep..].trim_start_matches(is_ascii_go_space);
                args.push((args_text[..sep].to_string(), 0..sep));
                inst.json_form = maybe_json(&mut args, rest, args_text.len() - rest.len())?;
            }
        }
        "maintainer" | "stopsignal" | "user" | "workdir" if !args_text.is_empty() => {
            args.push((args_text.to_string(), 0..args_text.len()));
        }
        // ONBUILD hands the text after its own flags to a nested reading.
        "onbuild" if !args_text.is_empty() => {
            let mut inner = node_from_line(line, args_range.clone(), escape)?;
            inner.span = inner.keyword_span.start..line.source_span(range.clone()).end;
            inst.onbuild = Some(Box::new(inner));
        }
        _ => {}
    }
    let (args, ranges): (Vec<String>, Vec<Range<usize>>) = args.into_iter().unzip();
    inst.args = args;
    inst.arg_spans = ranges.into_iter().map(|r| line.source_span(args_start + r.start..args_start + r.end)).collect();
    Ok(inst)
}

/// Go's `unicode.IsSpace` on a single byte, as `parseHealthConfig` uses it.
fn is_ascii_go_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ' | '\u{85}' | '\u{a0}')
}

const NOT_STRING_ARRAY: &str = "when using JSON array syntax, arrays must be comprised of strings only";

/// A command line that is a JSON array of strings or one shell-form string: pushes its
/// arguments (ranges relative to the text `text` is a part of, `text` starting at `at`) and
/// says whether it is the JSON form.
fn maybe_json(args: &mut Vec<(String, Range<usize>)>, text: &str, at: usize) -> Result<bool, String> {
    if text.is_empty() {
        return Ok(false);
    }
    match parse_json(text) {
        Json::Array(a) => {
            args.extend(a.into_iter().map(|(s, r)| (s, at + r.start..at + r.end)));
            Ok(true)
        }
        Json::NotStrings => Err(NOT_STRING_ARRAY.to_string()),
        Json::Other => {
            args.push((text.to_string(), at..at + text.len()));
            Ok(false)
        }
    }
}

enum Json {
    /// The strings, each with the range of its literal (quotes included).
    Array(Vec<(String, Range<usize>)>),
    NotStrings,
    Other,
}

/// `parseJSON`: a JSON array of strings, or why not.
fn parse_json(text: &str) -> Json {
    let lead = text.len() - text.trim_start_matches(is_go_space).len();
    let text = &text[lead..];
    if !text.starts_with('[') {
        return Json::Other;
    }
    match serde_json::from_str::<Vec<serde_json::Value>>(text) {
        Err(_) => Json::Other,
        Ok(values) => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                match v {
                    serde_json::Value::String(s) => out.push(s),
                    _ => return Json::NotStrings,
                }
            }
            let literals = string_literals(text);
            let ranges: Vec<Range<usize>> = if literals.len() == out.len() {
                literals.into_iter().map(|r| lead + r.start..lead + r.end).collect()
            } else {
                vec![lead..lead + text.len(); out.len()]
            };
            Json::Array(out.into_iter().zip(ranges).collect())
        }
    }
}

/// The ranges of the string literals of a JSON text (quotes included), in order.
fn string_literals(json: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut bytes = json.bytes().enumerate();
    while let Some((start, b)) = bytes.next() {
        if b != b'"' {
            continue;
        }
        while let Some((i, b)) = bytes.next() {
            match b {
                b'\\' => {
                    bytes.next();
                }
                b'"' => {
                    out.push(start..i + 1);
                    break;
                }
                _ => {}
            }
        }
    }
    out
}

/// `reWhitespace.Split(rest, -1)` on a non-empty, trimmed string, with each word's range.
fn split_whitespace(text: &str) -> Vec<(String, Range<usize>)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (is_token_space(c), start) {
            (true, Some(s)) => {
                words.push((text[s..i].to_string(), s..i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    words
}

/// One `name=value` of ENV or LABEL (or the legacy `name value`), each part with its range.
pub(crate) struct NameVal {
    pub name: (String, Range<usize>),
    pub value: (String, Range<usize>),
    /// Written `name value`, without `=`.
    pub legacy: bool,
}

/// `parseNameVal` for ENV and LABEL: `KEY name value` (legacy) or `KEY a=b c="d e"`.
pub(crate) fn name_vals(text: &str, key: &str, escape: char) -> Result<Vec<NameVal>, String> {
    let words = parse_words_spanned(text, escape);
    let Some((first, _)) = words.first() else { return Ok(Vec::new()) };
    if !first.contains('=') {
        let Some(i) = text.find(is_token_space) else {
            return Err(format!("{key} must have two arguments"));
        };
        let value = text[i..].trim_start_matches(is_token_space);
        let at = text.len() - value.len();
        return Ok(vec![NameVal {
            name: (text[..i].to_string(), 0..i),
            value: (value.to_string(), at..text.len()),
            legacy: true,
        }]);
    }
    let mut out = Vec::with_capacity(words.len());
    for (word, range) in words {
        let Some((name, value)) = word.split_once('=') else {
            return Err(format!("Syntax error - can't find = in {word:?}. Must be of the form: name=value"));
        };
        let value_start = (range.start + name.len() + 1).min(range.end);
        out.push(NameVal {
            name: (name.to_string(), range.start..range.start + name.len()),
            value: (value.to_string(), value_start..range.end),
            legacy: false,
        });
    }
    Ok(out)
}

/// `parseWords`: whitespace-separated words, quotes kept, the escape token kept with the
/// character it escapes; each with its byte range in `text`.
pub(crate) fn parse_words_spanned(text: &str, escape: char) -> Vec<(String, Range<usize>)> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote(char),
    }
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut word_start = 0;
    let mut blank_ok = false;
    let mut chars = text.char_indices().peekable();
    while let Some((pos, ch)) = chars.next() {
        if phase == Phase::Spaces {
            if ch.is_whitespace() {
                continue;
            }
            phase = Phase::Word;
            word_start = pos;
        }
        match phase {
            Phase::Word => {
                if ch.is_whitespace() {
                    if blank_ok || !word.is_empty() {
                        words.push((std::mem::take(&mut word), word_start..pos));
                    }
                    phase = Phase::Spaces;
                    blank_ok = false;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    phase = Phase::Quote(ch);
                    blank_ok = true;
                }
                if ch == escape {
                    match chars.next() {
                        // An escape token at the very end is dropped.
                        None => continue,
                        Some((_, next)) => {
                            word.push(ch);
                            word.push(next);
                            continue;
                        }
                    }
                }
                word.push(ch);
            }
            Phase::Quote(q) => {
                let mut ch = ch;
                if ch == q {
                    phase = Phase::Word;
                }
                if ch == escape && q != '\'' {
                    match chars.next() {
                        None => {
                            phase = Phase::Word;
                            continue;
                        }
                        Some((_, next)) => {
                            word.push(ch);
                            ch = next;
                        }
                    }
                }
                word.push(ch);
            }
            Phase::Spaces => {}
        }
    }
    if phase != Phase::Spaces && (blank_ok || !word.is_empty()) {
        words.push((word, word_start..text.len()));
    }
    words
}

/// `extractBuilderFlags`: the leading `--flag[=value]` words and where the arguments start.
fn extract_builder_flags(line: &str) -> (Vec<(String, Range<usize>)>, usize) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote(u8),
    }
    let b = line.as_bytes();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word: Vec<u8> = Vec::new();
    let mut word_start = 0;
    let mut blank_ok = false;
    let mut pos = 0;
    let finish = |w: &mut Vec<u8>| String::from_utf8_lossy(&std::mem::take(w)).into_owned();
    while pos <= b.len() {
        let ch = b.get(pos).copied().unwrap_or(0);
        if phase == Phase::Spaces {
            if pos == b.len() {
                break;
            }
            if (ch as char).is_ascii_whitespace() || ch == 0x0b {
                pos += 1;
                continue;
            }
            if ch != b'-' || b.get(pos + 1) != Some(&b'-') {
                return (words, pos);
            }
            phase = Phase::Word;
            word_start = pos;
        }
        if pos == b.len() {
            if word != b"--" && (blank_ok || !word.is_empty()) {
                words.push((finish(&mut word), word_start..pos));
            }
            return (words, b.len());
        }
        match phase {
            Phase::Word => {
                if (ch as char).is_ascii_whitespace() || ch == 0x0b {
                    if word == b"--" {
                        return (words, pos);
                    }
                    if blank_ok || !word.is_empty() {
                        words.push((finish(&mut word), word_start..pos));
                    }
                    word.clear();
                    phase = Phase::Spaces;
                    blank_ok = false;
                    pos += 1;
                    continue;
                }
                if ch == b'\'' || ch == b'"' {
                    phase = Phase::Quote(ch);
                    blank_ok = true;
                    pos += 1;
                    continue;
                }
                if ch == b'\\' {
                    if pos + 1 == b.len() {
                        pos += 1;
                        continue;
                    }
                    pos += 1;
                }
                word.push(b[pos]);
                pos += 1;
            }
            Phase::Quote(q) => {
                if ch == q {
                    phase = Phase::Word;
                    pos += 1;
                    continue;
                }
                if ch == b'\\' {
                    if pos + 1 == b.len() {
                        phase = Phase::Word;
                        pos += 1;
                        continue;
                    }
                    pos += 1;
                }
                word.push(b[pos]);
                pos += 1;
            }
            Phase::Spaces => {}
        }
    }
    (words, b.len())
}

/// `heredocsFromLine`: every word of the line of the form `[fd]<<[-]NAME`, read with
/// quotes and escapes kept (BuildKit's shell lexer with RawQuotes and RawEscapes).
/// Returns (fd, chomp, name, expand).
fn heredocs_from_line(line: &str) -> Vec<(u32, bool, String, bool)> {
    if !line.contains("<<") {
        return Vec::new();
    }
    let mut out = Vec::new();
    for word in raw_shell_words(line) {
        let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let Some(after) = word[digits..].strip_prefix("<<") else { continue };
        let (chomp, rest) = match after.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, after),
        };
        if rest.is_empty() || rest.contains('<') {
            continue;
        }
        let (name, quoted) = unquote_word(rest);
        let Some(name) = name else { continue };
        let fd = word[..digits].parse::<u32>().unwrap_or(0);
        out.push((fd, chomp, name, !quoted));
    }
    out
}

/// Words split on unquoted blanks, quotes and backslashes kept.
fn raw_shell_words(line: &str) -> Vec<&str> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        let mut quote: Option<u8> = None;
        while i < b.len() {
            let c = b[i];
            match quote {
                None if c.is_ascii_whitespace() => break,
                None if c == b'\'' || c == b'"' => quote = Some(c),
                None if c == b'\\' => i += 1,
                Some(q) if c == q => quote = None,
                Some(b'"') if c == b'\\' => i += 1,
                _ => {}
            }
            i += 1;
        }
        let end = i.min(b.len());
        out.push(&line[start..end]);
    }
    out
}

/// Removes quotes and backslash escapes from one shell word; None when it is not one word.
/// The flag tells whether any quote character was removed (the heredoc is then not expanded).
fn unquote_word(word: &str) -> (Option<String>, bool) {
    let mut out = String::with_capacity(word.len());
    let mut quoted = false;
    let mut chars = word.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            None if c.is_whitespace() => return (None, quoted),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                quoted = true;
            }
            None if c == '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            Some(q) if c == q => quote = None,
            Some('"') if c == '\\' => match chars.next() {
                Some(n @ ('"' | '\\' | '$' | '`')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => {}
            },
            _ => out.push(c),
        }
    }
    if out.is_empty() {
        return (None, quoted);
    }
    (Some(out), quoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_rules() {
        assert_eq!(continuation_cut("RUN a \\", '\\'), Some(6));
        assert_eq!(continuation_cut("RUN a \\  \t", '\\'), Some(6));
        assert_eq!(continuation_cut("\\", '\\'), Some(0));
        // An escaped escape token does not continue the line.
        assert_eq!(continuation_cut("RUN a \\\\", '\\'), None);
        assert_eq!(continuation_cut("RUN a `", '`'), Some(6));
        assert_eq!(continuation_cut("RUN a", '\\'), None);
    }

    #[test]
    fn directives_are_matched_like_buildkit() {
        assert_eq!(match_directive("# escape = `"), Some(("escape", "`", 11)));
        assert_eq!(match_directive("#syntax=docker/dockerfile:1  "), Some(("syntax", "docker/dockerfile:1", 8)));
        assert_eq!(match_directive("# not a directive"), None);
        assert_eq!(match_directive("#1x=y"), None);
        // Between `#` and the name, any Unicode space (unicode.IsSpace); after it, only ASCII.
        assert_eq!(match_directive("#\u{b}escape=`"), Some(("escape", "`", 9)));
        assert_eq!(match_directive("#\u{a0}escape=`"), Some(("escape", "`", 10)));
        assert_eq!(match_directive("# escape\u{a0}=`"), None);
    }

    #[test]
    fn flags_are_split_off() {
        let (flags, at) = extract_builder_flags("--mount=type=cache,target=/x --network=none apt-get update");
        assert_eq!(
            flags.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
            ["--mount=type=cache,target=/x", "--network=none"]
        );
        assert_eq!(&"--mount=type=cache,target=/x --network=none apt-get update"[at..], "apt-get update");
        let (flags, at) = extract_builder_flags("--doit=true -- foo /tmp/");
        assert_eq!(flags.len(), 1);
        assert_eq!(&"--doit=true -- foo /tmp/"[at..], " foo /tmp/");
        let (flags, _) = extract_builder_flags("--from=\"a b\" x y");
        assert_eq!(flags[0].0, "--from=a b");
    }

    #[test]
    fn heredoc_words() {
        let docs = heredocs_from_line("RUN <<EOF 3<<'IN1' 4<<-\"IN2\" awk -f -");
        assert_eq!(
            docs,
            vec![
                (0, false, "EOF".to_string(), true),
                (3, false, "IN1".to_string(), false),
                (4, true, "IN2".to_string(), false),
            ]
        );
        assert!(heredocs_from_line("RUN echo \"<<EOF\"").is_empty());
    }

    #[test]
    fn lines_longer_than_buildkits_scanner_buffer_are_refused() {
        // Go's bufio.Scanner holds 64 KiB: 65535 bytes plus the newline fit, one more does not.
        let fits = format!("FROM a\nLABEL a={}\n", "x".repeat(MAX_LINE_BYTES - 1 - "LABEL a=".len()));
        assert!(read(&fits).is_ok());
        let long = format!("FROM a\nLABEL a={}\nRUN true\n", "x".repeat(MAX_LINE_BYTES - "LABEL a=".len()));
        let e = read(&long).unwrap_err();
        assert_eq!(e.message, "dockerfile line greater than max allowed size of 65535");
        assert_eq!(e.span.start, "FROM a\n".len());
        // Without a final newline the scanner needs one byte of room to see the end.
        let last = format!("FROM a\nLABEL a={}", "x".repeat(MAX_LINE_BYTES - 1 - "LABEL a=".len()));
        assert!(read(&last).is_ok());
        assert!(read(&format!("{last}x")).is_err());
        // Inside a heredoc the body is cut short first.
        let heredoc = format!("FROM a\nRUN <<EOF\n{}\nEOF\n", "x".repeat(MAX_LINE_BYTES));
        assert_eq!(read(&heredoc).unwrap_err().message, "unterminated heredoc");
        // Before any instruction, BuildKit has nothing to return.
        let first = format!("# {}\nFROM a\n", "x".repeat(MAX_LINE_BYTES));
        assert_eq!(read(&first).unwrap_err().message, "file with no instructions");
    }

    #[test]
    fn logical_line_maps_back_to_source() {
        let src = "RUN a \\\n# c\n  b\n";
        let r = read(src).unwrap();
        let i = &r.instructions[0];
        assert_eq!(i.line.text, "RUN a   b");
        assert_eq!(i.args, ["a   b"]);
        assert_eq!(&src[i.args_span.clone()], "a \\\n# c\n  b");
        assert_eq!((i.start_line, i.end_line), (1, 3));
    }
}
