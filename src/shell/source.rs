//! The text the shell reads, made from the Dockerfile text of a `RUN` instruction.
//!
//! BuildKit joins a continued instruction before any shell sees it: the escape
//! character and the line break after it go away, and inside a continued
//! instruction, lines that are empty or whose first non-blank character is `#` are
//! dropped. The parser works on that joined ("logical") text; this module keeps the
//! map back to the bytes as written, so spans point into the original slice.

use std::borrow::Cow;
use std::cell::Cell;

use super::ast::Span;

/// The logical text plus its map to the original text.
pub(crate) struct Source<'a> {
    original: &'a str,
    pub(crate) text: Cow<'a, str>,
    /// `(logical start, original start)` of each contiguous piece, sorted; the first
    /// is always `(0, 0)`.
    pieces: Vec<(usize, usize)>,
    /// The piece found last: the parser asks about nearby positions in order, so
    /// this usually saves the search.
    last_piece: Cell<usize>,
}

impl<'a> Source<'a> {
    /// Script text used as is (a here-document body).
    pub(crate) fn plain(original: &'a str) -> Self {
        Source { original, text: Cow::Borrowed(original), pieces: vec![(0, 0)], last_piece: Cell::new(0) }
    }

    /// The shell-form arguments of a Dockerfile instruction, continuations not yet
    /// removed. `escape` is the Dockerfile escape character (`\` or `` ` ``).
    pub(crate) fn dockerfile(original: &'a str, escape: char) -> Self {
        let escape = if escape.is_ascii() { escape as u8 } else { b'\\' };
        let bytes = original.as_bytes();
        let mut text = String::new();
        let mut pieces = vec![(0, 0)];
        let mut piece_start = 0;
        let mut line_start = 0;
        // Continuations are found from the line breaks (`str::find` is memchr-fast),
        // looking back over blanks for the escape character.
        while let Some(offset) = original[line_start..].find('\n') {
            let line_break = line_start + offset;
            let mut end = line_break;
            if end > line_start && bytes[end - 1] == b'\r' {
                end -= 1;
            }
            while end > line_start && matches!(bytes[end - 1], b' ' | b'\t') {
                end -= 1;
            }
            // As BuildKit's `([^\\])\\[ \t]*$|^\\[ \t]*$`: an escaped escape
            // character (`foo\\`) does not continue the line.
            let continues =
                end > line_start && bytes[end - 1] == escape && (end - 1 == line_start || bytes[end - 2] != escape);
            if continues {
                text.push_str(&original[piece_start..end - 1]);
                let next = skip_dropped_lines(bytes, line_break + 1);
                pieces.push((text.len(), next));
                piece_start = next;
                line_start = next;
            } else {
                line_start = line_break + 1;
            }
        }
        if pieces.len() == 1 {
            return Source::plain(original);
        }
        text.push_str(&original[piece_start..]);
        Source { original, text: Cow::Owned(text), pieces, last_piece: Cell::new(0) }
    }

    fn piece_of(&self, logical: usize) -> (usize, usize) {
        let contains = |index: usize| {
            self.pieces.get(index).is_some_and(|&(start, _)| start <= logical)
                && self.pieces.get(index + 1).is_none_or(|&(next, _)| next > logical)
        };
        let last = self.last_piece.get();
        let index = if contains(last) {
            last
        } else if contains(last + 1) {
            last + 1
        } else {
            // At least 1 because the first piece starts at 0.
            self.pieces.partition_point(|&(start, _)| start <= logical).saturating_sub(1)
        };
        self.last_piece.set(index);
        self.pieces[index]
    }

    /// Maps a logical position to the original text.
    pub(crate) fn position(&self, logical: usize) -> usize {
        let (logical_start, original_start) = self.piece_of(logical);
        original_start + (logical - logical_start)
    }

    /// Maps a logical range to the original text; the end maps from the last byte in
    /// the range, so a range never swallows a dropped continuation after it.
    pub(crate) fn span(&self, start: usize, end: usize) -> Span {
        if end <= start {
            let at = self.position(start);
            return at..at;
        }
        self.position(start)..self.position(end - 1) + 1
    }

    /// The logical text of a range, borrowed from the original when it is contiguous
    /// there.
    pub(crate) fn slice(&self, start: usize, end: usize) -> Cow<'a, str> {
        if self.pieces.len() == 1 {
            return Cow::Borrowed(&self.original[start..end]);
        }
        let (logical_start, original_start) = self.piece_of(start);
        let (last_piece, _) = self.piece_of(end.saturating_sub(1).max(start));
        if last_piece == logical_start {
            let from = original_start + (start - logical_start);
            Cow::Borrowed(&self.original[from..from + (end - start)])
        } else {
            Cow::Owned(self.text[start..end].to_owned())
        }
    }
}

/// Skips the empty and comment lines that BuildKit drops inside a continued
/// instruction; returns the start of the next kept line.
fn skip_dropped_lines(bytes: &[u8], mut line: usize) -> usize {
    loop {
        let mut j = line;
        while j < bytes.len() && matches!(bytes[j], b' ' | b'\t' | b'\r') {
            j += 1;
        }
        match bytes.get(j) {
            Some(b'\n') => line = j + 1,
            Some(b'#') => match bytes[j..].iter().position(|&b| b == b'\n') {
                Some(offset) => line = j + offset + 1,
                None => return bytes.len(),
            },
            _ => return line,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_and_dropped_lines_are_removed_and_mapped() {
        let original = "a \\\n  # note \\\n\n   b";
        let source = Source::dockerfile(original, '\\');
        assert_eq!(source.text, "a    b");
        let b = source.text.find('b').unwrap();
        assert_eq!(&original[source.span(b, b + 1)], "b");
        assert_eq!(source.slice(0, 2), "a ");
        assert!(matches!(source.slice(0, 2), Cow::Borrowed(_)));
        assert!(matches!(source.slice(0, b + 1), Cow::Owned(_)));
    }

    #[test]
    fn backtick_escape_and_trailing_blanks_and_crlf() {
        let source = Source::dockerfile("a `  \r\nb", '`');
        assert_eq!(source.text, "a b");
        let source = Source::dockerfile("a \\\nb", '`');
        assert_eq!(source.text, "a \\\nb");
    }

    /// The joins of BuildKit's `continueIndent` and `trailing-backslash` test files.
    #[test]
    fn joins_like_buildkit() {
        let joined = |text| Source::dockerfile(text, '\\').text.into_owned();
        assert_eq!(
            joined("echo hello\\\n  world\\\n  goodnight  \\\n  moon\\\n  light\\\nning"),
            "echo hello  world  goodnight    moon  lightning"
        );
        assert_eq!(joined("echo hello  \\  \nworld"), "echo hello  world");
        assert_eq!(joined("echo hi \\\n \\\n world \\\n\\\n good\\\n\\\nnight"), "echo hi   world  goodnight");
        assert_eq!(
            joined("echo hello \\\n# this is a comment\n\n# another\n\nthis is more"),
            "echo hello this is more"
        );
        assert_eq!(joined("trailing\\\\backslash\\\\\nnext"), "trailing\\\\backslash\\\\\nnext");
        assert_eq!(joined("hello\\\n\\\nworld"), "helloworld");
    }

    #[test]
    fn comment_line_at_the_end_is_dropped() {
        let source = Source::dockerfile("a \\\n # tail", '\\');
        assert_eq!(source.text, "a ");
    }
}
