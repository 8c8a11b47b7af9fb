//! Editing the text and remembering which change touched which line, so the final diff can
//! label each hunk with the transforms that made it.

use std::collections::BTreeSet;

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

fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
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

    /// The tags of `after`, which change `id` made from `before` (whose tags are `self`).
    pub fn carry(&self, before: &str, after: &str, id: usize) -> LineTags {
        use similar::DiffOp;
        let (old, new) = (lines(before), lines(after));
        let mut out = LineTags::new(after);
        out.origins.iter_mut().for_each(|o| *o = None);
        let union = |sets: &[BTreeSet<usize>]| sets.iter().flatten().copied().collect::<BTreeSet<usize>>();
        for op in similar::capture_diff_slices(similar::Algorithm::Myers, &old, &new) {
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
        let tags = LineTags::new(a).carry(a, b, 0).carry(b, c, 1);
        assert_eq!(tags.lines.len(), 5);
        assert!(tags.lines[0].is_empty());
        assert_eq!(tags.lines[1], BTreeSet::from([0]));
        assert_eq!(tags.lines[2], BTreeSet::from([0]));
        assert_eq!(tags.lines[3], BTreeSet::from([1]));
        assert!(tags.lines[4].is_empty());
    }

    #[test]
    fn a_deletion_tags_the_gap() {
        let a = "FROM x\nRUN a\nCMD c\n";
        let b = "FROM x\nCMD c\n";
        let tags = LineTags::new(a).carry(a, b, 7);
        assert_eq!(tags.gaps[1], BTreeSet::from([7]));
        assert_eq!(tags.within(1..2), BTreeSet::from([7]));
    }
}
