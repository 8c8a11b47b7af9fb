//! Editing the text and remembering which change touched which line, so the final diff can
//! label each hunk with the transforms that made it.

use std::collections::BTreeSet;

use crate::lint::Edit;

pub use crate::model::run_join::{lines_of, newline};

/// For each line of the current text, the ids of the changes that wrote it; for each gap
/// between lines (before line `i`, and after the last), the changes that deleted lines there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineTags {
    pub lines: Vec<BTreeSet<usize>>,
    pub gaps: Vec<BTreeSet<usize>>,
    /// For each line, its 0-based line in the original text (a line rewritten in place keeps
    /// its origin; an inserted one has none): reasons name the lines the user has.
    pub origins: Vec<Option<usize>>,
}

/// The lines of `text`, each with its line ending.
pub fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The lines of `before` the edits touch, as ranges of line indices in file order (merged
/// where they overlap), each with the text those lines become. An insertion at the start of a
/// line that ends with a newline touches no line. None when an edit is out of bounds.
fn edited_regions(before: &str, edits: &[Edit]) -> Option<Vec<(std::ops::Range<usize>, String)>> {
    // 0-based lines here; LineIndex counts from 1.
    let index = crate::syntax::LineIndex::new(before);
    let line_of = |offset: usize| index.line(offset) - 1;
    let line_start = |line: usize| index.line_start(line + 1, before.len());
    let line_count = lines(before).len();
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.range.start, e.range.end));
    let mut regions: Vec<(std::ops::Range<usize>, Vec<&Edit>)> = Vec::new();
    for e in sorted {
        if e.range.start > e.range.end || e.range.end > before.len() {
            return None;
        }
        let at_line_start = e.range.start == line_start(line_of(e.range.start)) || e.range.start == before.len();
        let first = if e.range.start == before.len() { line_count } else { line_of(e.range.start) };
        let lines = if e.range.is_empty()
            && at_line_start
            && (e.replacement.ends_with('\n') || e.range.start == before.len())
        {
            first..first
        } else {
            first..line_of(e.range.end.saturating_sub(1).max(e.range.start)) + 1
        };
        match regions.last_mut() {
            Some((r, list))
                if lines.start < r.end || (lines.is_empty() && lines.start == r.end && r.start == r.end) =>
            {
                r.end = r.end.max(lines.end);
                list.push(e);
            }
            _ => regions.push((lines, vec![e])),
        }
    }
    regions
        .into_iter()
        .map(|(r, list)| {
            let (from, to) = (line_start(r.start), line_start(r.end));
            let shifted: Vec<Edit> = list
                .iter()
                .filter(|e| e.range.start >= from && e.range.end <= to)
                .map(|e| Edit { range: e.range.start - from..e.range.end - from, replacement: e.replacement.clone() })
                .collect();
            (shifted.len() == list.len()).then(|| (r, crate::lint::fix::apply_edits(&before[from..to], &shifted)))
        })
        .collect()
}

/// The diff operations of `old` → `new` lines when only `regions` changed: equal lines
/// between them, a text diff within each. None when the regions do not account for `new`.
fn region_ops(
    old: &[&str],
    new: &[&str],
    regions: &[(std::ops::Range<usize>, String)],
) -> Option<Vec<similar::DiffOp>> {
    use similar::DiffOp;
    let mut ops = Vec::new();
    let (mut o, mut n) = (0usize, 0usize);
    for (r, text) in regions {
        let equal = r.start.checked_sub(o)?;
        if old.get(o..r.start)? != new.get(n..n + equal)? {
            return None;
        }
        if equal > 0 {
            ops.push(DiffOp::Equal { old_index: o, new_index: n, len: equal });
        }
        n += equal;
        let new_len = lines(text).len();
        let (old_part, new_part) = (old.get(r.clone())?, new.get(n..n + new_len)?);
        if new_part.concat() != *text {
            return None;
        }
        for op in similar::capture_diff_slices(similar::Algorithm::Myers, old_part, new_part) {
            ops.push(shift(op, r.start, n));
        }
        (o, n) = (r.end, n + new_len);
    }
    let rest = old.len().checked_sub(o)?;
    if old.get(o..)? != new.get(n..)? {
        return None;
    }
    if rest > 0 {
        ops.push(DiffOp::Equal { old_index: o, new_index: n, len: rest });
    }
    Some(ops)
}

/// `op` with its indices moved by `old` and `new` lines.
fn shift(op: similar::DiffOp, old: usize, new: usize) -> similar::DiffOp {
    use similar::DiffOp;
    match op {
        DiffOp::Equal { old_index, new_index, len } => {
            DiffOp::Equal { old_index: old_index + old, new_index: new_index + new, len }
        }
        DiffOp::Delete { old_index, old_len, new_index } => {
            DiffOp::Delete { old_index: old_index + old, old_len, new_index: new_index + new }
        }
        DiffOp::Insert { old_index, new_index, new_len } => {
            DiffOp::Insert { old_index: old_index + old, new_index: new_index + new, new_len }
        }
        DiffOp::Replace { old_index, old_len, new_index, new_len } => {
            DiffOp::Replace { old_index: old_index + old, old_len, new_index: new_index + new, new_len }
        }
    }
}

impl LineTags {
    pub fn new(text: &str) -> LineTags {
        let n = lines(text).len();
        LineTags {
            lines: vec![BTreeSet::new(); n],
            gaps: vec![BTreeSet::new(); n + 1],
            origins: (0..n).map(Some).collect(),
        }
    }

    /// The tags of `after`, which change `id` made from `before` (whose tags are `self`) with
    /// `edits`: the lines no edit touches keep their tags and origins as they are (a text diff
    /// of the two could pair a kept line with a copy of it that the change wrote elsewhere);
    /// within the lines an edit touches, a text diff tells rewritten lines from kept ones.
    pub fn carry(&self, before: &str, after: &str, edits: &[Edit], id: usize) -> LineTags {
        use similar::DiffOp;
        let (old, new) = (lines(before), lines(after));
        let mut out = LineTags::new(after);
        out.origins.iter_mut().for_each(|o| *o = None);
        let union = |sets: &[BTreeSet<usize>]| sets.iter().flatten().copied().collect::<BTreeSet<usize>>();
        let ops = edited_regions(before, edits)
            .and_then(|regions| region_ops(&old, &new, &regions))
            .unwrap_or_else(|| similar::capture_diff_slices(similar::Algorithm::Myers, &old, &new));
        for op in ops {
            match op {
                DiffOp::Equal { old_index, new_index, len } => {
                    for k in 0..len {
                        out.lines[new_index + k] = self.lines[old_index + k].clone();
                        out.origins[new_index + k] = self.origins[old_index + k];
                        out.gaps[new_index + k].extend(self.gaps[old_index + k].iter().copied());
                    }
                }
                DiffOp::Delete { old_index, old_len, new_index } => {
                    let gap = &mut out.gaps[new_index];
                    gap.insert(id);
                    gap.extend(union(&self.lines[old_index..old_index + old_len]));
                    gap.extend(union(&self.gaps[old_index..=old_index + old_len]));
                }
                DiffOp::Insert { old_index, new_index, new_len } => {
                    for line in &mut out.lines[new_index..new_index + new_len] {
                        line.insert(id);
                        line.extend(self.gaps[old_index].iter().copied());
                    }
                }
                DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                    let mut was = union(&self.lines[old_index..old_index + old_len]);
                    was.extend(union(&self.gaps[old_index..=old_index + old_len]));
                    was.insert(id);
                    for line in &mut out.lines[new_index..new_index + new_len] {
                        line.extend(was.iter().copied());
                    }
                    // Rewritten in place: the first lines keep their origins.
                    for k in 0..new_len.min(old_len) {
                        out.origins[new_index + k] = self.origins[old_index + k];
                    }
                }
            }
        }
        if let (Some(last), Some(old_last)) = (out.gaps.last_mut(), self.gaps.last()) {
            last.extend(old_last.iter().copied());
        }
        out
    }

    /// The changes that touched lines `range` of the current text or the gaps around them.
    pub fn within(&self, range: std::ops::Range<usize>) -> BTreeSet<usize> {
        let mut ids = BTreeSet::new();
        for i in range.clone() {
            if let Some(l) = self.lines.get(i) {
                ids.extend(l.iter().copied());
            }
        }
        for i in range.start..=range.end {
            if let Some(g) = self.gaps.get(i) {
                ids.extend(g.iter().copied());
            }
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_lines_through_two_changes() {
        let a = "FROM x\nRUN a\nRUN b\nCMD c\n";
        let b = "FROM x\nRUN a \\\n && b\nCMD c\n";
        let c = "FROM x\nRUN a \\\n && b\nLABEL l=1\nCMD c\n";
        let tags = LineTags::new(a).carry(a, b, &[], 0).carry(b, c, &[], 1);
        assert_eq!(tags.lines.len(), 5);
        assert!(tags.lines[0].is_empty());
        assert_eq!(tags.lines[1], BTreeSet::from([0]));
        assert_eq!(tags.lines[2], BTreeSet::from([0]));
        assert_eq!(tags.lines[3], BTreeSet::from([1]));
        assert!(tags.lines[4].is_empty());
    }

    #[test]
    fn lines_no_edit_touches_keep_their_origin_even_when_copied_elsewhere() {
        // A build stage named, and a runtime stage appended that repeats FROM and CMD: a text
        // diff would pair the original FROM and CMD with the copies.
        let a = "FROM gcc:13\nRUN gcc -o /hello h.c\nCMD [\"/hello\"]\n";
        let edits = [
            Edit { range: 11..11, replacement: " AS build".to_string() },
            Edit {
                range: a.len()..a.len(),
                replacement: "\nFROM gcc:13\nCOPY --from=build /hello /hello\nCMD [\"/hello\"]\n".to_string(),
            },
        ];
        let b = crate::lint::fix::apply_edits(a, &edits);
        let tags = LineTags::new(a).carry(a, &b, &edits, 0);
        assert_eq!(tags.origins, vec![Some(0), Some(1), Some(2), None, None, None, None]);
        assert_eq!(tags.lines[0], BTreeSet::from([0]));
        assert!(tags.lines[1].is_empty() && tags.lines[2].is_empty());
        assert!(tags.lines[3..].iter().all(|l| l == &BTreeSet::from([0])));
    }

    #[test]
    fn a_deletion_tags_the_gap() {
        let a = "FROM x\nRUN a\nCMD c\n";
        let b = "FROM x\nCMD c\n";
        let tags = LineTags::new(a).carry(a, b, &[], 7);
        assert_eq!(tags.gaps[1], BTreeSet::from([7]));
        assert_eq!(tags.within(1..2), BTreeSet::from([7]));
    }
}
