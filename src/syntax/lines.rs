//! Byte offset ⇄ 1-based line and column.

/// Start offsets of every line of a text, for turning byte offsets into line/column.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = Vec::with_capacity(text.len() / 40 + 1);
        starts.push(0);
        starts.extend(memchr_newlines(text.as_bytes()).map(|i| i + 1));
        LineIndex { starts }
    }

    /// 1-based line containing `offset` (an offset at the very end belongs to the last line).
    pub fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// 1-based line and 1-based column in characters (not bytes), as editors count.
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let line = self.line(offset);
        let start = self.starts[line - 1];
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let col = text.get(start..offset).map_or(0, |s| s.chars().count()) + 1;
        (line, col)
    }

    /// Byte offset of the start of a 1-based line (the end of the text past the last line).
    pub fn line_start(&self, line: usize, text_len: usize) -> usize {
        line.checked_sub(1).and_then(|i| self.starts.get(i).copied()).unwrap_or(text_len)
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
}

fn memchr_newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes.iter().enumerate().filter(|(_, &b)| b == b'\n').map(|(i, _)| i)
}

pub(crate) fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let text = "FROM a\nRUN é b\n\nX";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 0), (1, 1));
        assert_eq!(idx.line_col(text, 7), (2, 1));
        // 'b' sits after a 2-byte 'é': byte 14, character column 7.
        assert_eq!(idx.line_col(text, 14), (2, 7));
        assert_eq!(idx.line_col(text, 16), (3, 1));
        assert_eq!(idx.line_col(text, 17), (4, 1));
        assert_eq!(idx.line_count(), 4);
        assert_eq!(idx.line_start(2, text.len()), 7);
        assert_eq!(idx.line_start(9, text.len()), text.len());
    }
}
