//! Two analyses side by side (`imgopt analyze --compare`, `imgopt diff`): the totals before →
//! after with their difference, and the Dockerfile lines whose layers changed size.
//!
//! Lines are matched by what they say, not by their number: a row's key is its stage and its
//! instruction text (the Dockerfile's, when the report maps layers to lines; else the history's
//! `created_by`, shell prefix and `# buildkit` left out), and the n-th row with a key before pairs
//! with the n-th row with that key after. A line added above shifts the others' numbers but not
//! their keys; an edited line is a line removed and a line added. Every layer of each image is
//! in exactly one row, so the rows' differences add up to the totals' difference.
//!
//! Findings, for the annotations of a review: a row of the after image whose content grew by more
//! than [`CompareOptions::annotate_min`] (how much, and the largest files it ships), and a new or
//! changed row whose layers remove files that earlier layers still ship (a cleanup that frees
//! nothing).

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde::Serialize;

use super::render::human;
use super::{FileReport, Report};

/// How the comparison is made.
#[derive(Clone, Debug)]
pub struct CompareOptions {
    /// A row that grows the image by more than this many content bytes is a finding.
    pub annotate_min: u64,
    /// How many of a row's largest files it lists.
    pub files_per_line: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions { annotate_min: 1_000_000, files_per_line: 3 }
    }
}

/// One figure before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub before: u64,
    pub after: u64,
    pub difference: i64,
}

impl Change {
    pub fn new(before: u64, after: u64) -> Change {
        let difference = i64::try_from(after).unwrap_or(i64::MAX) - i64::try_from(before).unwrap_or(i64::MAX);
        Change { before, after, difference }
    }

    /// The difference as a percentage of the before figure (None when it was 0).
    pub fn percent(&self) -> Option<f64> {
        (self.before > 0).then(|| self.difference as f64 * 100.0 / self.before as f64)
    }
}

/// The images' totals (the fields of analyze's `totals` of the same names).
#[derive(Clone, Debug, Serialize)]
pub struct TotalsChange {
    pub content_bytes: Change,
    pub compressed_bytes: Change,
    pub uncompressed_bytes: Change,
    pub final_fs_bytes: Change,
    /// Invisible bytes: shipped in a layer, hidden by a later one.
    pub reclaimable_bytes: Change,
    pub layers: Change,
}

/// Where a row is in one image.
#[derive(Clone, Debug, Serialize)]
pub struct LineSide {
    /// 1-based first and last line, when the report maps layers to a Dockerfile.
    pub line: Option<usize>,
    pub end_line: Option<usize>,
    pub layers: Vec<usize>,
}

/// A Dockerfile line (or history entry) whose layers changed size.
#[derive(Clone, Debug, Serialize)]
pub struct LineChange {
    pub stage: Option<usize>,
    pub instruction: String,
    /// None: the line is new (after) or gone (before).
    pub before: Option<LineSide>,
    pub after: Option<LineSide>,
    pub content_bytes: Change,
    pub compressed_bytes: Change,
    pub invisible_bytes: Change,
    /// The largest files the after side's layers ship, in the final filesystem or hidden later.
    pub largest_files: Vec<FileReport>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The line grows the image by more than the threshold.
    Grows,
    /// The line removes files that an earlier layer still ships: the image does not shrink.
    CleanupFreesNothing,
}

/// Something a review annotates on a line of the after side's Dockerfile.
#[derive(Clone, Debug, Serialize)]
pub struct SizeFinding {
    pub kind: FindingKind,
    pub line: usize,
    pub end_line: usize,
    pub message: String,
}

/// The whole comparison (`imgopt diff --format json`).
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub before: String,
    pub after: String,
    /// The after side's Dockerfile, when its layers are mapped to lines.
    pub file: Option<String>,
    pub totals: TotalsChange,
    pub lines: Vec<LineChange>,
    pub findings: Vec<SizeFinding>,
}

/// A stage and an instruction text: what pairs rows of the two images.
type Key = (Option<usize>, String);

/// The layers one line (or one unmapped layer) made, with their figures.
struct Row {
    key: Key,
    side: LineSide,
    content: u64,
    compressed: u64,
    invisible: u64,
}

/// A history entry as a line's text: the classic builder's `/bin/sh -c #(nop)` and BuildKit's
/// `RUN /bin/sh -c … # buildkit` reduced to the instruction.
fn history_text(created_by: Option<&str>) -> String {
    let text = created_by.unwrap_or("(no history)").trim();
    let text = text.strip_suffix("# buildkit").unwrap_or(text).trim();
    let text = text.strip_prefix("/bin/sh -c #(nop)").map(str::trim).unwrap_or(text);
    let text = match text.strip_prefix("RUN /bin/sh -c ") {
        Some(command) => format!("RUN {command}"),
        None => match text.strip_prefix("/bin/sh -c ") {
            Some(command) => format!("RUN {command}"),
            None => text.to_string(),
        },
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn rows(report: &Report) -> Vec<Row> {
    let figures = |layers: &[usize]| {
        layers
            .iter()
            .filter_map(|&i| report.layers.get(i))
            .fold((0, 0, 0), |(c, z, v), l| (c + l.content_bytes, z + l.compressed_bytes, v + l.invisible_bytes))
    };
    let row = |key: Key, line: Option<(usize, usize)>, layers: Vec<usize>| {
        let (content, compressed, invisible) = figures(&layers);
        Row {
            key,
            side: LineSide { line: line.map(|l| l.0), end_line: line.map(|l| l.1), layers },
            content,
            compressed,
            invisible,
        }
    };
    let mut out = Vec::new();
    let mut covered = BTreeSet::new();
    if let Some(map) = &report.dockerfile {
        for i in &map.instructions {
            covered.extend(i.layers.iter().copied());
            out.push(row((Some(i.stage), i.instruction.clone()), Some((i.line, i.end_line)), i.layers.clone()));
        }
    }
    for layer in report.layers.iter().filter(|l| !covered.contains(&l.index)) {
        out.push(row((None, history_text(layer.instruction.as_deref())), None, vec![layer.index]));
    }
    out
}

/// Compares `before` with `after`; both analyses should list every file (`top` unbounded) for
/// the rows' largest files and the findings' paths.
pub fn compare(before: &Report, after: &Report, options: &CompareOptions) -> Comparison {
    let t = (&before.totals, &after.totals);
    let totals = TotalsChange {
        content_bytes: Change::new(t.0.content_bytes, t.1.content_bytes),
        compressed_bytes: Change::new(t.0.compressed_bytes, t.1.compressed_bytes),
        uncompressed_bytes: Change::new(t.0.uncompressed_bytes, t.1.uncompressed_bytes),
        final_fs_bytes: Change::new(t.0.final_fs_bytes, t.1.final_fs_bytes),
        reclaimable_bytes: Change::new(t.0.reclaimable_bytes, t.1.reclaimable_bytes),
        layers: Change::new(t.0.layers as u64, t.1.layers as u64),
    };
    let mut unmatched: HashMap<Key, VecDeque<Row>> = HashMap::new();
    let mut order = Vec::new();
    for row in rows(before) {
        order.push(row.key.clone());
        unmatched.entry(row.key.clone()).or_default().push_back(row);
    }
    let mut pairs: Vec<(Option<Row>, Option<Row>)> = Vec::new();
    for row in rows(after) {
        let old = unmatched.get_mut(&row.key).and_then(VecDeque::pop_front);
        pairs.push((old, Some(row)));
    }
    // What is left of the before image: lines removed (or edited), in their order.
    for key in order {
        if let Some(row) = unmatched.get_mut(&key).and_then(VecDeque::pop_front) {
            pairs.push((Some(row), None));
        }
    }
    let mut lines = Vec::new();
    let mut findings = Vec::new();
    for (old, new) in pairs {
        let figure = |r: &Option<Row>, f: fn(&Row) -> u64| r.as_ref().map_or(0, f);
        let content = Change::new(figure(&old, |r| r.content), figure(&new, |r| r.content));
        let compressed = Change::new(figure(&old, |r| r.compressed), figure(&new, |r| r.compressed));
        let invisible = Change::new(figure(&old, |r| r.invisible), figure(&new, |r| r.invisible));
        let made_layers = |r: &Option<Row>| r.as_ref().is_some_and(|r| !r.side.layers.is_empty());
        // Compressed sizes move with timestamps alone: a change in them is not a change of size.
        let changed = content.difference != 0 || invisible.difference != 0;
        let appeared = old.is_none() != new.is_none() && (made_layers(&old) || made_layers(&new));
        if !changed && !appeared {
            continue;
        }
        let largest_files = match &new {
            Some(r) => largest_files(after, &r.side.layers, options.files_per_line),
            None => Vec::new(),
        };
        let (stage, instruction) = new.as_ref().or(old.as_ref()).map(|r| r.key.clone()).unwrap_or_default();
        let change = LineChange {
            stage,
            instruction,
            before: old.map(|r| r.side),
            after: new.map(|r| r.side),
            content_bytes: content,
            compressed_bytes: compressed,
            invisible_bytes: invisible,
            largest_files,
        };
        findings.extend(line_findings(&change, after, options));
        lines.push(change);
    }
    Comparison {
        before: before.image.clone(),
        after: after.image.clone(),
        file: after.dockerfile.as_ref().map(|m| m.file.clone()),
        totals,
        lines,
        findings,
    }
}

/// The largest files of these layers, visible or not (from the report's lists, which must be
/// complete for the answer to be).
fn largest_files(report: &Report, layers: &[usize], n: usize) -> Vec<FileReport> {
    let visible = report.largest_files.iter().cloned();
    let hidden =
        report.invisible_files.iter().map(|f| FileReport { path: f.path.clone(), layer: f.layer, bytes: f.bytes });
    let mut files: Vec<FileReport> =
        visible.chain(hidden).filter(|f| layers.contains(&f.layer) && f.bytes > 0).collect();
    files.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    files.truncate(n);
    files
}

fn paths(files: &[(String, u64)]) -> String {
    files.iter().map(|(p, b)| format!("/{p} ({})", human(*b))).collect::<Vec<_>>().join(", ")
}

/// What a review says about one changed line of the after image.
fn line_findings(change: &LineChange, after: &Report, options: &CompareOptions) -> Vec<SizeFinding> {
    let Some(side) = &change.after else { return Vec::new() };
    let (Some(line), Some(end_line)) = (side.line, side.end_line) else { return Vec::new() };
    let mut out = Vec::new();
    let grown = change.content_bytes.difference;
    if grown > 0 && grown as u64 > options.annotate_min {
        let files: Vec<(String, u64)> = change.largest_files.iter().map(|f| (f.path.clone(), f.bytes)).collect();
        let what = match &change.before {
            None => format!("This line adds {} to the image", human(grown as u64)),
            Some(_) => format!(
                "This line's layers grew by {} ({} → {})",
                human(grown as u64),
                human(change.content_bytes.before),
                human(change.content_bytes.after)
            ),
        };
        let largest = if files.is_empty() { String::new() } else { format!("; largest files: {}", paths(&files)) };
        out.push(SizeFinding { kind: FindingKind::Grows, line, end_line, message: format!("{what}{largest}") });
    }
    // A cleanup on a line the change touched: its layers remove files that earlier layers ship.
    let removes = side.layers.iter().filter_map(|&i| after.layers.get(i)).any(|l| l.files_removed > 0);
    let hidden: u64 = after
        .layers
        .iter()
        .flat_map(|l| l.hidden_by.iter())
        .filter(|h| side.layers.contains(&h.layer))
        .map(|h| h.bytes)
        .sum();
    let touched = change.before.is_none() || change.content_bytes.difference != 0;
    if removes && hidden > 0 && touched {
        let files: Vec<(String, u64)> = after
            .invisible_files
            .iter()
            .filter(|f| side.layers.contains(&f.hidden_by))
            .take(options.files_per_line)
            .map(|f| (f.path.clone(), f.bytes))
            .collect();
        let earlier: BTreeSet<String> = after
            .invisible_files
            .iter()
            .filter(|f| side.layers.contains(&f.hidden_by))
            .map(|f| {
                let line = after.layers.get(f.layer).and_then(|l| l.dockerfile.as_ref()).and_then(|d| d.line);
                line.map_or(format!("layer {}", f.layer), |n| format!("line {n}"))
            })
            .collect();
        let from = if earlier.is_empty() {
            String::new()
        } else {
            format!(" ({})", earlier.into_iter().collect::<Vec<_>>().join(", "))
        };
        out.push(SizeFinding {
            kind: FindingKind::CleanupFreesNothing,
            line,
            end_line,
            message: format!(
                "This cleanup frees nothing: it hides {} that earlier layers{from} still ship{}. Remove the files in the instruction that creates them.",
                human(hidden),
                if files.is_empty() { String::new() } else { format!(": {}", paths(&files)) }
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_entries_read_as_instructions() {
        assert_eq!(history_text(Some("RUN /bin/sh -c dd  if=/dev/zero # buildkit")), "RUN dd if=/dev/zero");
        assert_eq!(history_text(Some("/bin/sh -c #(nop) COPY file:abc in /x ")), "COPY file:abc in /x");
        assert_eq!(history_text(Some("/bin/sh -c make")), "RUN make");
        assert_eq!(history_text(Some("COPY a /b # buildkit")), "COPY a /b");
        assert_eq!(history_text(None), "(no history)");
    }

    #[test]
    fn changes_and_percentages() {
        let c = Change::new(100, 150);
        assert_eq!((c.difference, c.percent()), (50, Some(50.0)));
        assert_eq!(Change::new(0, 5).percent(), None);
        assert_eq!(Change::new(7, 2).difference, -5);
    }
}
