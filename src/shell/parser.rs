//! A recursive-descent reader of the POSIX shell grammar (plus the bash forms that
//! show up in Dockerfiles), working directly on bytes.
//!
//! It never panics and runs in linear time: every loop consumes input or stops,
//! nothing is re-read except a few bytes of look-ahead, and nesting deeper than
//! [`MAX_DEPTH`] is reported instead of recursing on. On the first syntax error it
//! stops and returns what it has built so far with the error.

use std::borrow::Cow;

use super::ast::*;
use super::source::Source;
use super::ShellError;

/// Deeper nesting of compound commands and substitutions is an error, so a hostile
/// input cannot overflow the stack.
const MAX_DEPTH: u32 = 100;

/// Keywords recognised in command position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reserved {
    If,
    Then,
    Else,
    Elif,
    Fi,
    Do,
    Done,
    Case,
    Esac,
    While,
    Until,
    For,
    In,
    LeftBrace,
    RightBrace,
    Bang,
    Function,
    DoubleLeftBracket,
    DoubleRightBracket,
}

impl Reserved {
    fn from_bytes(word: &[u8]) -> Option<Self> {
        Some(match word {
            b"if" => Reserved::If,
            b"then" => Reserved::Then,
            b"else" => Reserved::Else,
            b"elif" => Reserved::Elif,
            b"fi" => Reserved::Fi,
            b"do" => Reserved::Do,
            b"done" => Reserved::Done,
            b"case" => Reserved::Case,
            b"esac" => Reserved::Esac,
            b"while" => Reserved::While,
            b"until" => Reserved::Until,
            b"for" => Reserved::For,
            b"in" => Reserved::In,
            b"{" => Reserved::LeftBrace,
            b"}" => Reserved::RightBrace,
            b"!" => Reserved::Bang,
            b"function" => Reserved::Function,
            b"[[" => Reserved::DoubleLeftBracket,
            b"]]" => Reserved::DoubleRightBracket,
            _ => return None,
        })
    }

    /// Words that close a list: a list stops in front of them.
    fn closes_list(self) -> bool {
        matches!(
            self,
            Reserved::Then
                | Reserved::Else
                | Reserved::Elif
                | Reserved::Fi
                | Reserved::Do
                | Reserved::Done
                | Reserved::Esac
                | Reserved::RightBrace
        )
    }

    fn spelling(self) -> &'static str {
        match self {
            Reserved::If => "if",
            Reserved::Then => "then",
            Reserved::Else => "else",
            Reserved::Elif => "elif",
            Reserved::Fi => "fi",
            Reserved::Do => "do",
            Reserved::Done => "done",
            Reserved::Case => "case",
            Reserved::Esac => "esac",
            Reserved::While => "while",
            Reserved::Until => "until",
            Reserved::For => "for",
            Reserved::In => "in",
            Reserved::LeftBrace => "{",
            Reserved::RightBrace => "}",
            Reserved::Bang => "!",
            Reserved::Function => "function",
            Reserved::DoubleLeftBracket => "[[",
            Reserved::DoubleRightBracket => "]]",
        }
    }
}

fn is_meta(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')')
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// A here-document whose body starts after the next newline.
struct PendingHereDoc {
    id: usize,
    delimiter: String,
    strip_tabs: bool,
}

/// The parts of a word being read.
struct WordState<'a> {
    start: usize,
    /// The text after quote removal, once some quoting made it differ from the source.
    cooked: Option<String>,
    /// Start of the source bytes not yet copied into `cooked`.
    run: usize,
    quoted: bool,
    expansion: bool,
    unquoted_expansion: bool,
    glob: bool,
    substitutions: Vec<Script<'a>>,
}

impl<'a> WordState<'a> {
    fn new(start: usize) -> Self {
        WordState {
            start,
            cooked: None,
            run: start,
            quoted: false,
            expansion: false,
            unquoted_expansion: false,
            glob: false,
            substitutions: Vec::new(),
        }
    }

    /// Starts quote removal at `at`: copies the verbatim text read so far.
    fn cook(&mut self, text: &str, at: usize) {
        match &mut self.cooked {
            Some(cooked) => cooked.push_str(&text[self.run..at]),
            None => self.cooked = Some(text[self.start..at].to_owned()),
        }
        self.run = at;
    }

    fn push(&mut self, text: &str) {
        if let Some(cooked) = &mut self.cooked {
            cooked.push_str(text);
        }
    }

    fn expansion(&mut self, in_double_quotes: bool) {
        self.expansion = true;
        self.unquoted_expansion |= !in_double_quotes;
    }
}

pub(crate) struct Parser<'s, 'a> {
    source: &'s Source<'a>,
    text: &'s str,
    bytes: &'s [u8],
    pos: usize,
    /// End of the region being read: the text's end, or a closing backtick.
    end: usize,
    depth: u32,
    pub(crate) error: Option<ShellError>,
    pending: Vec<PendingHereDoc>,
    pub(crate) bodies: Vec<Option<Span>>,
}

impl<'s, 'a> Parser<'s, 'a> {
    pub(crate) fn new(source: &'s Source<'a>) -> Self {
        let text: &'s str = &source.text;
        Parser {
            source,
            text,
            bytes: text.as_bytes(),
            pos: 0,
            end: text.len(),
            depth: 0,
            error: None,
            pending: Vec::new(),
            bodies: Vec::new(),
        }
    }

    /// Reads the whole text as a script.
    pub(crate) fn script(&mut self) -> Script<'a> {
        let script = self.list();
        if self.error.is_none() && self.pos < self.end {
            self.unexpected();
        }
        script
    }

    // ---- low level ----

    fn peek(&self) -> Option<u8> {
        self.at(self.pos)
    }

    fn at(&self, i: usize) -> Option<u8> {
        if i < self.end {
            Some(self.bytes[i])
        } else {
            None
        }
    }

    fn failed(&self) -> bool {
        self.error.is_some()
    }

    fn fail(&mut self, start: usize, end: usize, message: impl Into<String>) {
        if self.error.is_none() {
            let end = end.min(self.text.len()).max(start);
            self.error = Some(ShellError { message: message.into(), span: self.source.span(start, end) });
        }
    }

    /// Reports the token at the cursor as unexpected.
    fn unexpected(&mut self) {
        let (end, found) = self.describe_token();
        self.fail(self.pos, end, format!("unexpected {found}"));
    }

    /// The end and a description of the token at the cursor, for messages.
    fn describe_token(&self) -> (usize, String) {
        let start = self.pos;
        let Some(c) = self.peek() else {
            return (start, "end of script".to_owned());
        };
        let mut end = start + 1;
        if c == b'\n' {
            return (end, "newline".to_owned());
        }
        if is_meta(c) {
            while end < self.end && end < start + 3 && matches!(self.bytes[end], b';' | b'&' | b'|' | b'>' | b'<') {
                end += 1;
            }
        } else {
            while end < self.end && !is_meta(self.bytes[end]) {
                end += 1;
            }
        }
        let token = self.text.get(start..end).unwrap_or("?");
        (end, format!("`{token}`"))
    }

    /// Skips blanks, backslash-newline continuations and comments, not newlines.
    fn blanks(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'\\' if self.at(self.pos + 1) == Some(b'\n') => self.pos += 2,
                b'#' => {
                    while matches!(self.peek(), Some(c) if c != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    /// Skips blanks, comments and newlines, reading here-document bodies.
    fn linebreaks(&mut self) {
        loop {
            self.blanks();
            if self.peek() == Some(b'\n') {
                self.newline();
            } else {
                break;
            }
        }
    }

    /// Consumes a newline and the bodies of the here-documents started on its line.
    fn newline(&mut self) {
        self.pos += 1;
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        for doc in pending {
            let body_start = self.pos;
            let mut body_end = self.end;
            while self.pos < self.end {
                let line_start = self.pos;
                let line_end = self.bytes[line_start..self.end]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(self.end, |offset| line_start + offset);
                self.pos = (line_end + 1).min(self.end);
                let mut line = &self.bytes[line_start..line_end];
                if doc.strip_tabs {
                    while let [b'\t', rest @ ..] = line {
                        line = rest;
                    }
                }
                if let [rest @ .., b'\r'] = line {
                    line = rest;
                }
                if line == doc.delimiter.as_bytes() {
                    body_end = line_start;
                    break;
                }
            }
            if let Some(slot) = self.bodies.get_mut(doc.id) {
                *slot = Some(self.source.span(body_start, body_end));
            }
        }
    }

    /// The reserved word at the cursor, if the next token is one.
    fn peek_reserved(&self) -> Option<Reserved> {
        let start = self.pos;
        let mut end = start;
        while end < self.end && end < start + 9 && !is_meta(self.bytes[end]) {
            end += 1;
        }
        if end < self.end && !is_meta(self.bytes[end]) {
            return None;
        }
        Reserved::from_bytes(&self.bytes[start..end])
    }

    fn consume_reserved(&mut self, word: Reserved) {
        self.pos += word.spelling().len();
    }

    /// Consumes `word` or reports it missing.
    fn expect_reserved(&mut self, word: Reserved, opened_at: usize) {
        if self.failed() {
            return;
        }
        self.linebreaks();
        if self.peek_reserved() == Some(word) {
            self.consume_reserved(word);
        } else if self.pos >= self.end {
            let spelling = word.spelling();
            self.fail(opened_at, self.pos, format!("missing `{spelling}`"));
        } else {
            let (end, found) = self.describe_token();
            let spelling = word.spelling();
            self.fail(self.pos, end, format!("expected `{spelling}`, found {found}"));
        }
    }

    fn at_list_end(&self) -> bool {
        match self.peek() {
            None | Some(b')') => true,
            Some(b';') => matches!(self.at(self.pos + 1), Some(b';' | b'&')),
            Some(_) => self.peek_reserved().is_some_and(Reserved::closes_list),
        }
    }

    fn enter(&mut self) -> bool {
        if self.depth >= MAX_DEPTH {
            let at = self.pos;
            self.fail(at, at + 1, "nesting too deep");
            return false;
        }
        self.depth += 1;
        true
    }

    // ---- grammar ----

    /// A list of and-or lists, up to a closing token or the end.
    fn list(&mut self) -> Script<'a> {
        let mut items = Vec::new();
        let mut first_start = None;
        let mut last_end = self.pos;
        loop {
            self.linebreaks();
            if self.failed() || self.at_list_end() {
                break;
            }
            let start = self.pos;
            first_start.get_or_insert(start);
            let mut and_or = self.and_or();
            last_end = self.pos;
            if self.failed() {
                items.push(and_or);
                break;
            }
            self.blanks();
            match self.peek() {
                Some(b';') if !matches!(self.at(self.pos + 1), Some(b';' | b'&')) => {
                    self.pos += 1;
                    and_or.separator = Some(Separator::Semicolon);
                }
                Some(b'&') if self.at(self.pos + 1) != Some(b'&') => {
                    self.pos += 1;
                    and_or.separator = Some(Separator::Background);
                }
                Some(b'\n') => {
                    self.newline();
                    and_or.separator = Some(Separator::Newline);
                }
                _ => {
                    items.push(and_or);
                    break;
                }
            }
            items.push(and_or);
        }
        let start = first_start.unwrap_or(last_end);
        // The tree of every RUN of a file is kept while the rules run: no spare capacity.
        items.shrink_to_fit();
        Script { items, span: self.source.span(start, last_end) }
    }

    fn and_or(&mut self) -> AndOr<'a> {
        let start = self.pos;
        let first = self.pipeline();
        let mut rest = Vec::new();
        let mut end = self.pos;
        while !self.failed() {
            self.blanks();
            let op = match (self.peek(), self.at(self.pos + 1)) {
                (Some(b'&'), Some(b'&')) => LogicalOp::And,
                (Some(b'|'), Some(b'|')) => LogicalOp::Or,
                _ => break,
            };
            self.pos += 2;
            self.linebreaks();
            rest.push((op, self.pipeline()));
            end = self.pos;
        }
        rest.shrink_to_fit();
        AndOr { first, rest, separator: None, span: self.source.span(start, end) }
    }

    fn pipeline(&mut self) -> Pipeline<'a> {
        self.blanks();
        let start = self.pos;
        let negated = self.peek_reserved() == Some(Reserved::Bang);
        if negated {
            self.pos += 1;
        }
        let mut commands = vec![self.command()];
        let mut end = self.pos;
        while !self.failed() {
            self.blanks();
            if self.peek() != Some(b'|') || self.at(self.pos + 1) == Some(b'|') {
                break;
            }
            self.pos += 1;
            if self.peek() == Some(b'&') {
                self.pos += 1;
            }
            self.linebreaks();
            commands.push(self.command());
            end = self.pos;
        }
        commands.shrink_to_fit();
        Pipeline { negated, commands, span: self.source.span(start, end) }
    }

    fn command(&mut self) -> Command<'a> {
        self.blanks();
        let start = self.pos;
        if !self.enter() {
            return Command::Simple(SimpleCommand { span: self.source.span(start, start), ..SimpleCommand::default() });
        }
        let kind = match (self.peek(), self.peek_reserved()) {
            (Some(b'('), _) if self.at(self.pos + 1) == Some(b'(') => {
                let inner = self.arithmetic(start + 2);
                Some(CompoundKind::Arithmetic(inner))
            }
            (Some(b'('), _) => {
                self.pos += 1;
                let body = self.list();
                self.expect_byte(b')', start, "missing `)`");
                Some(CompoundKind::Subshell(body))
            }
            (_, Some(Reserved::LeftBrace)) => {
                self.pos += 1;
                let body = self.list();
                self.expect_reserved(Reserved::RightBrace, start);
                Some(CompoundKind::BraceGroup(body))
            }
            (_, Some(Reserved::If)) => Some(self.if_clause(start)),
            (_, Some(reserved @ (Reserved::While | Reserved::Until))) => Some(self.while_clause(start, reserved)),
            (_, Some(Reserved::For)) => Some(self.for_clause(start)),
            (_, Some(Reserved::Case)) => Some(self.case_clause(start)),
            (_, Some(Reserved::DoubleLeftBracket)) => Some(self.conditional()),
            (_, Some(Reserved::Function)) => {
                let command = self.function_keyword(start);
                self.depth -= 1;
                return command;
            }
            (_, Some(reserved)) if reserved != Reserved::In && reserved != Reserved::DoubleRightBracket => {
                self.unexpected();
                None
            }
            _ => None,
        };
        let command = match kind {
            Some(kind) => {
                let mut redirects = Vec::new();
                while !self.failed() {
                    self.blanks();
                    if !self.at_redirect() {
                        break;
                    }
                    redirects.push(self.redirect());
                }
                Command::Compound(Box::new(CompoundCommand {
                    kind,
                    redirects,
                    span: self.source.span(start, self.pos),
                }))
            }
            None if self.failed() => {
                Command::Simple(SimpleCommand { span: self.source.span(start, start), ..SimpleCommand::default() })
            }
            None => self.simple_command(),
        };
        self.depth -= 1;
        command
    }

    fn expect_byte(&mut self, byte: u8, opened_at: usize, message: &str) {
        if self.failed() {
            return;
        }
        self.linebreaks();
        if self.peek() == Some(byte) {
            self.pos += 1;
        } else if self.pos >= self.end {
            self.fail(opened_at, self.pos, message);
        } else {
            self.unexpected();
        }
    }

    /// `((` at `self.pos`: reads to the matching `))`, returns the inner span.
    fn arithmetic(&mut self, inner_start: usize) -> Span {
        let start = self.pos;
        self.pos += 2;
        let mut depth = 0u32;
        while let Some(c) = self.peek() {
            match c {
                b'(' => depth += 1,
                b')' if depth == 0 && self.at(self.pos + 1) == Some(b')') => {
                    let inner = self.source.span(inner_start, self.pos);
                    self.pos += 2;
                    return inner;
                }
                b')' => depth = depth.saturating_sub(1),
                _ => {}
            }
            self.pos += 1;
        }
        self.fail(start, self.pos, "missing `))`");
        self.source.span(inner_start, self.pos)
    }

    fn if_clause(&mut self, start: usize) -> CompoundKind<'a> {
        self.consume_reserved(Reserved::If);
        let mut branches = Vec::new();
        let mut else_body = None;
        loop {
            let condition = self.list();
            self.expect_reserved(Reserved::Then, start);
            let body = self.list();
            branches.push(IfBranch { condition, body });
            if self.failed() {
                break;
            }
            match self.peek_reserved() {
                Some(Reserved::Elif) => self.consume_reserved(Reserved::Elif),
                Some(Reserved::Else) => {
                    self.consume_reserved(Reserved::Else);
                    else_body = Some(self.list());
                    self.expect_reserved(Reserved::Fi, start);
                    break;
                }
                _ => {
                    self.expect_reserved(Reserved::Fi, start);
                    break;
                }
            }
        }
        CompoundKind::If { branches, else_body }
    }

    fn while_clause(&mut self, start: usize, keyword: Reserved) -> CompoundKind<'a> {
        self.consume_reserved(keyword);
        let condition = self.list();
        self.expect_reserved(Reserved::Do, start);
        let body = self.list();
        self.expect_reserved(Reserved::Done, start);
        if keyword == Reserved::Until {
            CompoundKind::Until { condition, body }
        } else {
            CompoundKind::While { condition, body }
        }
    }

    fn for_clause(&mut self, start: usize) -> CompoundKind<'a> {
        self.consume_reserved(Reserved::For);
        self.blanks();
        if self.peek() == Some(b'(') && self.at(self.pos + 1) == Some(b'(') {
            let header_start = self.pos + 2;
            let header = self.arithmetic(header_start);
            self.blanks();
            if self.peek() == Some(b';') {
                self.pos += 1;
            }
            let body = self.loop_body(start);
            return CompoundKind::ArithmeticFor { header, body };
        }
        let variable = self.required_word("expected a variable name after `for`");
        self.blanks();
        if self.peek() == Some(b';') {
            self.pos += 1;
        }
        self.linebreaks();
        let mut items = None;
        if !self.failed() && self.peek_reserved() == Some(Reserved::In) {
            self.consume_reserved(Reserved::In);
            let mut words = Vec::new();
            loop {
                self.blanks();
                match self.peek() {
                    None | Some(b';' | b'\n') => break,
                    Some(c) if is_meta(c) => {
                        self.unexpected();
                        break;
                    }
                    Some(_) => words.push(self.word()),
                }
                if self.failed() {
                    break;
                }
            }
            if self.peek() == Some(b';') {
                self.pos += 1;
            }
            items = Some(words);
        }
        let body = self.loop_body(start);
        CompoundKind::For { variable, items, body }
    }

    /// `do list done`
    fn loop_body(&mut self, start: usize) -> Script<'a> {
        self.expect_reserved(Reserved::Do, start);
        let body = self.list();
        self.expect_reserved(Reserved::Done, start);
        body
    }

    fn case_clause(&mut self, start: usize) -> CompoundKind<'a> {
        self.consume_reserved(Reserved::Case);
        self.blanks();
        let subject = self.required_word("expected a word after `case`");
        self.expect_reserved(Reserved::In, start);
        let mut arms = Vec::new();
        while !self.failed() {
            self.linebreaks();
            if self.peek_reserved() == Some(Reserved::Esac) {
                self.consume_reserved(Reserved::Esac);
                break;
            }
            if self.pos >= self.end {
                self.fail(start, self.pos, "missing `esac`");
                break;
            }
            let arm_start = self.pos;
            if self.peek() == Some(b'(') {
                self.pos += 1;
            }
            let mut patterns = Vec::new();
            while !self.failed() {
                self.blanks();
                patterns.push(self.required_word("expected a pattern"));
                self.blanks();
                match self.peek() {
                    Some(b'|') => self.pos += 1,
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => {
                        self.unexpected();
                        break;
                    }
                }
            }
            let body = self.list();
            arms.push(CaseArm { patterns, body, span: self.source.span(arm_start, self.pos) });
            if self.failed() {
                break;
            }
            self.blanks();
            if self.peek() == Some(b';') {
                // `;;`, `;&` or `;;&`
                self.pos += 2;
                if self.peek() == Some(b'&') {
                    self.pos += 1;
                }
            } else if self.peek_reserved() != Some(Reserved::Esac) {
                self.expect_reserved(Reserved::Esac, start);
            }
        }
        CompoundKind::Case { subject, arms }
    }

    /// bash's `[[ ... ]]`: operators inside are words, not list syntax.
    fn conditional(&mut self) -> CompoundKind<'a> {
        let start = self.pos;
        self.consume_reserved(Reserved::DoubleLeftBracket);
        let mut words = Vec::new();
        loop {
            while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                self.pos += 1;
            }
            match self.peek() {
                None => {
                    self.fail(start, self.pos, "missing `]]`");
                    break;
                }
                Some(_) if self.peek_reserved() == Some(Reserved::DoubleRightBracket) => {
                    self.pos += 2;
                    break;
                }
                Some(c) if is_meta(c) => {
                    let op_start = self.pos;
                    self.pos += 1;
                    if matches!((c, self.peek()), (b'&', Some(b'&')) | (b'|', Some(b'|'))) {
                        self.pos += 1;
                    }
                    words.push(self.literal_word(op_start, self.pos));
                }
                Some(_) => words.push(self.word()),
            }
            if self.failed() {
                break;
            }
        }
        CompoundKind::Conditional(words)
    }

    fn function_keyword(&mut self, start: usize) -> Command<'a> {
        self.consume_reserved(Reserved::Function);
        self.blanks();
        let name = self.required_word("expected a function name");
        self.blanks();
        if self.peek() == Some(b'(') {
            self.pos += 1;
            self.blanks();
            self.expect_byte(b')', start, "missing `)`");
        }
        self.linebreaks();
        let body = self.command();
        Command::Function(Box::new(FunctionDef { name, body: Box::new(body), span: self.source.span(start, self.pos) }))
    }

    fn simple_command(&mut self) -> Command<'a> {
        let start = self.pos;
        let mut command = SimpleCommand::default();
        let mut end = start;
        while !self.failed() {
            self.blanks();
            let Some(c) = self.peek() else { break };
            if self.at_redirect() {
                command.redirects.push(self.redirect());
            } else if (c == b'<' || c == b'>') && self.at(self.pos + 1) == Some(b'(') {
                command.words.push(self.word());
            } else if is_meta(c) {
                if c == b'(' && command.words.len() == 1 && command.assignments.is_empty() {
                    return self.function_definition(start, command);
                }
                break;
            } else {
                let word_start = self.pos;
                let word = self.word();
                if command.words.is_empty() {
                    match self.assignment(word, word_start) {
                        Ok(mut assignment) => {
                            if assignment.value.span.is_empty() && self.peek() == Some(b'(') {
                                assignment.array = Some(self.array_elements());
                                assignment.span.end = self.source.span(word_start, self.pos).end;
                            }
                            command.assignments.push(assignment);
                        }
                        Err(word) => command.words.push(word),
                    }
                } else if self.peek() == Some(b'(') && self.is_declaration_array(&command, &word, word_start) {
                    let word = self.declaration_array(word, word_start);
                    command.words.push(word);
                } else {
                    command.words.push(word);
                }
            }
            end = self.pos;
        }
        if !self.failed() && command.words.is_empty() && command.assignments.is_empty() && command.redirects.is_empty()
        {
            self.unexpected();
        }
        command.span = self.source.span(start, end);
        command.assignments.shrink_to_fit();
        command.words.shrink_to_fit();
        command.redirects.shrink_to_fit();
        Command::Simple(command)
    }

    /// The `( ... )` of a bash array assignment; the cursor is at `(`.
    fn array_elements(&mut self) -> Vec<Word<'a>> {
        let open = self.pos;
        self.pos += 1;
        let mut elements = Vec::new();
        while !self.failed() {
            self.linebreaks();
            match self.peek() {
                Some(b')') => {
                    self.pos += 1;
                    break;
                }
                None => self.fail(open, self.pos, "missing `)`"),
                Some(c) if is_meta(c) => self.unexpected(),
                Some(_) => elements.push(self.word()),
            }
        }
        elements
    }

    /// bash reads `NAME=(...)` as an array assignment in the arguments of its
    /// declaration builtins too: `export A=(x y)`, `local -a B=(...)`.
    fn is_declaration_array(&self, command: &SimpleCommand<'a>, word: &Word<'a>, word_start: usize) -> bool {
        let builtin = command.words.first().map(|w| &*w.text);
        matches!(builtin, Some("export" | "declare" | "typeset" | "local" | "readonly"))
            && !word.quoted
            && word.text.ends_with('=')
            && self.bytes.get(word_start).copied().is_some_and(is_name_start)
            && word.text[..word.text.len() - 1].bytes().all(is_name_char)
    }

    /// Extends `word` (`NAME=`) with the `(...)` at the cursor into one argument
    /// word, as written, holding the elements' expansions.
    fn declaration_array(&mut self, mut word: Word<'a>, word_start: usize) -> Word<'a> {
        for element in self.array_elements() {
            word.quoted |= element.quoted;
            word.expansion |= element.expansion;
            word.unquoted_expansion |= element.unquoted_expansion;
            word.glob |= element.glob;
            word.substitutions.extend(element.substitutions);
        }
        word.span = self.source.span(word_start, self.pos);
        word.text = self.source.slice(word_start, self.pos);
        word
    }

    /// `name ( ) body`, with `name` already read into `command`.
    fn function_definition(&mut self, start: usize, mut command: SimpleCommand<'a>) -> Command<'a> {
        let paren = self.pos;
        self.pos += 1;
        self.blanks();
        if self.peek() != Some(b')') {
            self.pos = paren;
            self.unexpected();
            command.span = self.source.span(start, paren);
            return Command::Simple(command);
        }
        self.pos += 1;
        self.linebreaks();
        let body = self.command();
        let name = command.words.pop().unwrap_or_else(|| self.literal_word(start, start));
        Command::Function(Box::new(FunctionDef { name, body: Box::new(body), span: self.source.span(start, self.pos) }))
    }

    /// Splits `NAME=value` off a word in assignment position.
    fn assignment(&self, word: Word<'a>, start: usize) -> Result<Assignment<'a>, Word<'a>> {
        let bytes = &self.bytes[start..self.pos];
        if !bytes.first().copied().is_some_and(is_name_start) {
            return Err(word);
        }
        let name_len = bytes.iter().position(|&b| !is_name_char(b)).unwrap_or(bytes.len());
        let (append, operator_len) = match &bytes[name_len..] {
            [b'=', ..] => (false, 1),
            [b'+', b'=', ..] => (true, 2),
            _ => return Err(word),
        };
        let value_start = start + name_len + operator_len;
        let prefix = name_len + operator_len;
        let value_text = match word.text {
            Cow::Borrowed(text) => Cow::Borrowed(text.get(prefix..).unwrap_or("")),
            Cow::Owned(ref text) => Cow::Owned(text.get(prefix..).unwrap_or("").to_owned()),
        };
        let word_end = word.span.end;
        let value = Word {
            span: self.source.position(value_start).min(word_end)..word_end,
            text: value_text,
            quoted: word.quoted,
            expansion: word.expansion,
            unquoted_expansion: word.unquoted_expansion,
            glob: word.glob,
            substitutions: word.substitutions,
        };
        Ok(Assignment { name: self.source.slice(start, start + name_len), append, value, array: None, span: word.span })
    }

    fn at_redirect(&self) -> bool {
        let mut i = self.pos;
        while matches!(self.at(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        match self.at(i) {
            Some(b'<' | b'>') => self.at(i + 1) != Some(b'(') || i != self.pos,
            Some(b'&') => i == self.pos && self.at(i + 1) == Some(b'>'),
            _ => false,
        }
    }

    fn redirect(&mut self) -> Redirect<'a> {
        let start = self.pos;
        let mut fd: Option<u32> = None;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            fd = Some(fd.unwrap_or(0).saturating_mul(10).saturating_add(u32::from(c - b'0')));
            self.pos += 1;
        }
        let rest = &self.bytes[self.pos..self.end];
        let (op, len) = match rest {
            [b'<', b'<', b'<', ..] => (RedirectOp::HereString, 3),
            [b'<', b'<', b'-', ..] => (RedirectOp::HereDocStripTabs, 3),
            [b'<', b'<', ..] => (RedirectOp::HereDoc, 2),
            [b'<', b'&', ..] => (RedirectOp::DupInput, 2),
            [b'<', b'>', ..] => (RedirectOp::ReadWrite, 2),
            [b'<', ..] => (RedirectOp::Input, 1),
            [b'>', b'>', ..] => (RedirectOp::Append, 2),
            [b'>', b'&', ..] => (RedirectOp::DupOutput, 2),
            [b'>', b'|', ..] => (RedirectOp::Clobber, 2),
            [b'&', b'>', b'>', ..] => (RedirectOp::AppendOutputAndError, 3),
            [b'&', b'>', ..] => (RedirectOp::OutputAndError, 2),
            _ => (RedirectOp::Output, 1),
        };
        self.pos += len;
        self.blanks();
        let target = self.required_word("expected a word after the redirection");
        let mut heredoc = None;
        if matches!(op, RedirectOp::HereDoc | RedirectOp::HereDocStripTabs) && !self.failed() {
            let id = self.bodies.len();
            self.bodies.push(None);
            self.pending.push(PendingHereDoc {
                id,
                delimiter: target.text.clone().into_owned(),
                strip_tabs: op == RedirectOp::HereDocStripTabs,
            });
            heredoc = Some(HereDoc { expand: !target.quoted, body: None, id });
        }
        Redirect { fd, op, target, heredoc, span: self.source.span(start, self.pos) }
    }

    fn required_word(&mut self, message: &str) -> Word<'a> {
        match self.peek() {
            Some(c) if !is_meta(c) || ((c == b'<' || c == b'>') && self.at(self.pos + 1) == Some(b'(')) => self.word(),
            Some(_) => {
                let at = self.pos;
                self.unexpected();
                self.literal_word(at, at)
            }
            None => {
                let at = self.pos;
                self.fail(at, at, message);
                self.literal_word(at, at)
            }
        }
    }

    /// A word made of source bytes with no quoting or expansion.
    fn literal_word(&self, start: usize, end: usize) -> Word<'a> {
        Word {
            span: self.source.span(start, end),
            text: self.source.slice(start, end),
            quoted: false,
            expansion: false,
            unquoted_expansion: false,
            glob: false,
            substitutions: Vec::new(),
        }
    }

    // ---- words ----

    /// Reads one word starting at the cursor (which is not at a metacharacter,
    /// except for a process substitution).
    fn word(&mut self) -> Word<'a> {
        let start = self.pos;
        let mut state = WordState::new(start);
        let mut bracket_scanned_to = 0;
        if matches!(self.peek(), Some(b'<' | b'>')) {
            // bash process substitution `<(...)`.
            self.pos += 2;
            self.substitution_body(&mut state, start, b')');
            state.expansion(false);
        }
        while let Some(c) = self.peek() {
            if self.failed() {
                break;
            }
            match c {
                c if is_meta(c) => break,
                b'\\' => match self.at(self.pos + 1) {
                    Some(b'\n') => {
                        state.cook(self.text, self.pos);
                        self.pos += 2;
                        state.run = self.pos;
                    }
                    Some(_) => {
                        state.cook(self.text, self.pos);
                        state.quoted = true;
                        state.run = self.pos + 1;
                        self.pos += 2;
                    }
                    None => self.pos += 1,
                },
                b'\'' => self.single_quoted(&mut state),
                b'"' => {
                    state.cook(self.text, self.pos);
                    state.quoted = true;
                    self.pos += 1;
                    state.run = self.pos;
                    self.double_quoted(&mut state);
                }
                b'$' => self.dollar(&mut state, false),
                b'`' => self.backtick(&mut state, false),
                b'*' | b'?' => {
                    state.glob = true;
                    self.pos += 1;
                }
                b'[' => {
                    // A bracket is a pattern only when closed within the word:
                    // `[` alone is the test command.
                    if !state.glob && self.pos >= bracket_scanned_to {
                        let mut j = self.pos + 1;
                        while j < self.end && !is_meta(self.bytes[j]) && self.bytes[j] != b']' {
                            j += 1;
                        }
                        state.glob = j < self.end && self.bytes[j] == b']';
                        bracket_scanned_to = j;
                    }
                    self.pos += 1;
                }
                _ => self.pos += 1,
            }
        }
        self.finish_word(state)
    }

    fn finish_word(&self, mut state: WordState<'a>) -> Word<'a> {
        let end = self.pos.max(state.start);
        let text = match state.cooked.take() {
            Some(mut cooked) => {
                cooked.push_str(&self.text[state.run.min(end)..end]);
                Cow::Owned(cooked)
            }
            None => self.source.slice(state.start, end),
        };
        Word {
            span: self.source.span(state.start, end),
            text,
            quoted: state.quoted,
            expansion: state.expansion,
            unquoted_expansion: state.unquoted_expansion,
            glob: state.glob,
            substitutions: state.substitutions,
        }
    }

    fn single_quoted(&mut self, state: &mut WordState<'a>) {
        let open = self.pos;
        state.cook(self.text, open);
        state.quoted = true;
        match self.bytes[open + 1..self.end].iter().position(|&b| b == b'\'') {
            Some(offset) => {
                let close = open + 1 + offset;
                state.push(&self.text[open + 1..close]);
                self.pos = close + 1;
                state.run = self.pos;
            }
            None => {
                self.pos = self.end;
                self.fail(open, self.end, "unterminated single quote");
            }
        }
    }

    /// Reads the inside of `"..."`; the cursor is after the opening quote and
    /// `state.run` points there.
    fn double_quoted(&mut self, state: &mut WordState<'a>) {
        let open = self.pos - 1;
        while let Some(c) = self.peek() {
            if self.failed() {
                return;
            }
            match c {
                b'"' => {
                    state.cook(self.text, self.pos);
                    self.pos += 1;
                    state.run = self.pos;
                    return;
                }
                b'\\' => match self.at(self.pos + 1) {
                    Some(b'$' | b'`' | b'"' | b'\\') => {
                        state.cook(self.text, self.pos);
                        state.run = self.pos + 1;
                        self.pos += 2;
                    }
                    Some(b'\n') => {
                        state.cook(self.text, self.pos);
                        self.pos += 2;
                        state.run = self.pos;
                    }
                    _ => self.pos += 1,
                },
                b'$' => self.dollar(state, true),
                b'`' => self.backtick(state, true),
                _ => self.pos += 1,
            }
        }
        if !self.failed() {
            self.fail(open, self.end, "unterminated double quote");
        }
    }

    /// `$` at the cursor: an expansion, `$'...'`, `$"..."`, or a literal dollar.
    fn dollar(&mut self, state: &mut WordState<'a>, in_double_quotes: bool) {
        let start = self.pos;
        match self.at(start + 1) {
            Some(b'\'') if !in_double_quotes => self.ansi_c_quoted(state),
            Some(b'"') if !in_double_quotes => {
                state.cook(self.text, start);
                state.quoted = true;
                self.pos += 2;
                state.run = self.pos;
                self.double_quoted(state);
            }
            Some(b'{') => {
                state.expansion(in_double_quotes);
                self.pos += 2;
                if self.enter() {
                    self.parameter_body(state, start);
                    self.depth -= 1;
                }
            }
            Some(b'(') if self.at(start + 2) == Some(b'(') => {
                state.expansion(in_double_quotes);
                self.pos = start + 1;
                self.arithmetic(start + 3);
            }
            Some(b'(') => {
                state.expansion(in_double_quotes);
                self.pos += 2;
                self.substitution_body(state, start, b')');
            }
            Some(c) if is_name_start(c) => {
                state.expansion(in_double_quotes);
                self.pos += 2;
                while self.peek().is_some_and(is_name_char) {
                    self.pos += 1;
                }
            }
            Some(b'0'..=b'9' | b'@' | b'*' | b'#' | b'?' | b'$' | b'!' | b'-') => {
                state.expansion(in_double_quotes);
                self.pos += 2;
            }
            _ => self.pos += 1,
        }
    }

    /// `$'...'` with C escapes; the common escapes are decoded.
    fn ansi_c_quoted(&mut self, state: &mut WordState<'a>) {
        let open = self.pos;
        state.cook(self.text, open);
        state.quoted = true;
        self.pos += 2;
        let mut run = self.pos;
        while let Some(c) = self.peek() {
            match c {
                b'\'' => {
                    state.push(&self.text[run..self.pos]);
                    self.pos += 1;
                    state.run = self.pos;
                    return;
                }
                b'\\' => {
                    state.push(&self.text[run..self.pos]);
                    let decoded = match self.at(self.pos + 1) {
                        Some(b'n') => Some("\n"),
                        Some(b't') => Some("\t"),
                        Some(b'r') => Some("\r"),
                        Some(b'\\') => Some("\\"),
                        Some(b'\'') => Some("'"),
                        Some(b'"') => Some("\""),
                        Some(b'e' | b'E') => Some("\u{1b}"),
                        _ => None,
                    };
                    match decoded {
                        Some(decoded) => {
                            state.push(decoded);
                            self.pos += 2;
                        }
                        // Other escapes (octal, hex, unicode) are kept as written.
                        None => {
                            state.push("\\");
                            self.pos += 1;
                        }
                    }
                    run = self.pos;
                }
                _ => self.pos += 1,
            }
        }
        self.fail(open, self.end, "unterminated $'...' quote");
    }

    /// The inside of `${...}`; the cursor is after `${`.
    fn parameter_body(&mut self, state: &mut WordState<'a>, open: usize) {
        let mut depth = 0u32;
        while let Some(c) = self.peek() {
            if self.failed() {
                return;
            }
            match c {
                b'}' if depth == 0 => {
                    self.pos += 1;
                    return;
                }
                b'}' => {
                    depth -= 1;
                    self.pos += 1;
                }
                b'{' => {
                    depth += 1;
                    self.pos += 1;
                }
                b'\\' => self.pos += 2,
                b'\'' => match self.bytes[self.pos + 1..self.end].iter().position(|&b| b == b'\'') {
                    Some(offset) => self.pos += offset + 2,
                    None => self.pos = self.end,
                },
                b'"' => {
                    // Quotes inside `${}` keep their text; only find their end.
                    let saved = state.cooked.take();
                    let saved_run = state.run;
                    self.pos += 1;
                    state.run = self.pos;
                    self.double_quoted(state);
                    state.cooked = saved;
                    state.run = saved_run;
                }
                b'$' => {
                    let inner_start = self.pos;
                    self.dollar(state, true);
                    if self.pos == inner_start {
                        self.pos += 1;
                    }
                }
                b'`' => self.backtick(state, true),
                _ => self.pos += 1,
            }
        }
        self.pos = self.pos.min(self.end);
        if !self.failed() {
            self.fail(open, self.end, "unterminated `${`");
        }
    }

    /// Parses the script of `$(...)` or `<(...)`; the cursor is after the `(`.
    fn substitution_body(&mut self, state: &mut WordState<'a>, open: usize, close: u8) {
        if !self.enter() {
            return;
        }
        let script = self.list();
        self.depth -= 1;
        state.substitutions.push(script);
        self.expect_byte(close, open, "unterminated `$(`");
    }

    /// `` `...` ``: the body is parsed in place, with the closing backtick as the end.
    fn backtick(&mut self, state: &mut WordState<'a>, in_double_quotes: bool) {
        let open = self.pos;
        state.expansion(in_double_quotes);
        let mut close = None;
        let mut i = open + 1;
        while i < self.end {
            match self.bytes[i] {
                b'\\' => i += 2,
                b'`' => {
                    close = Some(i);
                    break;
                }
                _ => i += 1,
            }
        }
        let Some(close) = close else {
            self.pos = self.end;
            self.fail(open, self.end, "unterminated backtick");
            return;
        };
        if !self.enter() {
            return;
        }
        let outer_end = self.end;
        self.end = close;
        self.pos = open + 1;
        let script = self.list();
        if !self.failed() && self.pos < close {
            self.unexpected();
        }
        self.end = outer_end;
        self.depth -= 1;
        self.pos = close + 1;
        state.substitutions.push(script);
    }
}
