//! Showing a proposal: a unified diff whose hunk headers name the transforms that made each
//! hunk and why (the `@@ ... @@` section text, which `git apply` and `patch` ignore), JSON,
//! and Markdown for a job summary.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use super::measure::Measurement;
use super::{Applied, Offer, Proposal};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Diff,
    Json,
    Markdown,
}

/// One hunk of the diff with the changes that made it.
struct Hunk {
    header: String,
    body: String,
    changes: BTreeSet<usize>,
}

/// The diff of the proposal against the original as the changes made it: a line of the
/// proposal that kept its origin and its text is equal to that line of the original; the rest
/// is what the changes wrote. (A text diff of the two could pair a kept line with a copy of it
/// elsewhere, such as a runtime stage's repeat of the build stage's CMD.)
fn aligned_ops(p: &Proposal) -> Vec<similar::DiffOp> {
    use similar::DiffOp;
    let (old, new) = (crate::rewrite::edit::lines(&p.original), crate::rewrite::edit::lines(&p.text));
    let mut ops: Vec<DiffOp> = Vec::new();
    let change = |ops: &mut Vec<DiffOp>, o: std::ops::Range<usize>, n: std::ops::Range<usize>| {
        let (old_index, old_len, new_index, new_len) = (o.start, o.len(), n.start, n.len());
        match (old_len, new_len) {
            (0, 0) => {}
            (0, _) => ops.push(DiffOp::Insert { old_index, new_index, new_len }),
            (_, 0) => ops.push(DiffOp::Delete { old_index, old_len, new_index }),
            _ => ops.push(DiffOp::Replace { old_index, old_len, new_index, new_len }),
        }
    };
    let (mut next_old, mut next_new) = (0, 0);
    for (i, line) in new.iter().enumerate() {
        let Some(k) = p.tags.origins.get(i).copied().flatten() else { continue };
        if k < next_old || old.get(k) != Some(line) {
            continue;
        }
        change(&mut ops, next_old..k, next_new..i);
        match ops.last_mut() {
            Some(DiffOp::Equal { old_index, new_index, len }) if *old_index + *len == k && *new_index + *len == i => {
                *len += 1
            }
            _ => ops.push(DiffOp::Equal { old_index: k, new_index: i, len: 1 }),
        }
        (next_old, next_new) = (k + 1, i + 1);
    }
    change(&mut ops, next_old..old.len(), next_new..new.len());
    ops
}

fn hunks(p: &Proposal) -> Vec<Hunk> {
    let (old, new) = (crate::rewrite::edit::lines(&p.original), crate::rewrite::edit::lines(&p.text));
    let mut out = Vec::new();
    for group in similar::group_diff_ops(aligned_ops(p), 3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let changes = changes_of(p, &group);
        let mut body = String::new();
        let mut show = |sign: char, line: &str| {
            body.push(sign);
            // A CRLF line keeps its CR (the diff applies to the file as it is); any other
            // control character is shown escaped.
            let line_text = line.strip_suffix('\n').unwrap_or(line);
            let (content, cr) = line_text.strip_suffix('\r').map_or((line_text, ""), |c| (c, "\r"));
            body.push_str(&crate::escape::source_line(content));
            body.push_str(cr);
            body.push('\n');
            if !line.ends_with('\n') {
                body.push_str("\\ No newline at end of file\n");
            }
        };
        for op in &group {
            if op.tag() == similar::DiffTag::Equal {
                old[op.old_range()].iter().for_each(|l| show(' ', l));
            } else {
                old[op.old_range()].iter().for_each(|l| show('-', l));
                new[op.new_range()].iter().for_each(|l| show('+', l));
            }
        }
        let (old, new) = (old_range, new_range);
        let range = |r: &std::ops::Range<usize>| match r.len() {
            0 => format!("{},0", r.start),
            1 => format!("{}", r.start + 1),
            n => format!("{},{n}", r.start + 1),
        };
        let header = format!("@@ -{} +{} @@", range(&old), range(&new));
        out.push(Hunk { header, body, changes });
    }
    out
}

/// The ids of the applied changes that wrote or deleted the lines of a group of diff operations.
fn changes_of(p: &Proposal, group: &[similar::DiffOp]) -> BTreeSet<usize> {
    use similar::DiffTag;
    let mut ids = BTreeSet::new();
    for op in group {
        match op.tag() {
            DiffTag::Equal => {}
            DiffTag::Delete => ids.extend(p.tags.within(op.new_range().start..op.new_range().start)),
            DiffTag::Insert | DiffTag::Replace => ids.extend(p.tags.within(op.new_range())),
        }
    }
    ids
}

fn label(applied: &[Applied], ids: &BTreeSet<usize>) -> String {
    ids.iter()
        .filter_map(|&i| applied.get(i))
        .map(|a| format!("{}: {}", a.transform, a.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The proposal as a unified diff of `path`, each hunk labelled.
pub fn diff(path: &str, p: &Proposal) -> String {
    if !p.changed() {
        return String::new();
    }
    let path = crate::escape::control(path);
    let mut out = format!("--- a/{path}\n+++ b/{path}\n");
    for hunk in hunks(p) {
        let label = label(&p.applied, &hunk.changes);
        let label = crate::escape::control(&label);
        let _ = writeln!(out, "{}{}{label}", hunk.header, if label.is_empty() { "" } else { " " });
        out.push_str(&hunk.body);
    }
    out
}

/// The offers (changes that need newer syntax), one line each.
pub fn offers(p: &Proposal) -> String {
    let mut out = String::new();
    for o in &p.offers {
        let _ = writeln!(
            out,
            "offer ({}, needs {}): {}",
            o.transform,
            o.needs.describe(),
            crate::escape::control(&o.reason)
        );
    }
    out
}

#[derive(Serialize)]
struct JsonReport<'a> {
    file: &'a str,
    changed: bool,
    applied: &'a [Applied],
    offers: &'a [Offer],
    proposal: &'a str,
    diff: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    measurement: Option<&'a Measurement>,
}

pub fn json(path: &str, p: &Proposal, measurement: Option<&Measurement>) -> String {
    let report = JsonReport {
        file: path,
        changed: p.changed(),
        applied: &p.applied,
        offers: &p.offers,
        proposal: &p.text,
        diff: diff(path, p),
        measurement,
    };
    serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
}

/// For a job summary: what changed and why, the diff, and the measured table.
pub fn markdown(path: &str, p: &Proposal, measurement: Option<&Measurement>) -> String {
    let mut out = format!("### imgopt rewrite: {}\n\n", crate::escape::markdown_code(path));
    if !p.changed() {
        out.push_str("Nothing to propose.\n");
    } else {
        for a in &p.applied {
            let _ = writeln!(out, "- **{}**: {}", a.transform, crate::escape::markdown_code(&a.reason));
        }
        let _ = write!(out, "\n```diff\n{}```\n", diff(path, p).replace("```", "`\u{200b}``"));
    }
    for o in &p.offers {
        let _ = writeln!(
            out,
            "- offer, needs {}: **{}**: {}",
            o.needs.describe(),
            o.transform,
            crate::escape::markdown_code(&o.reason)
        );
    }
    if let Some(m) = measurement {
        out.push('\n');
        out.push_str(&super::measure::markdown_table(m));
    }
    out
}

/// One review comment: a GitHub suggestion that replaces lines `start_line..=line` of the file
/// (1-based, the side the pull request's head has).
#[derive(Serialize)]
struct Suggestion<'a> {
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_line: Option<usize>,
    line: usize,
    side: &'static str,
    body: String,
    /// Suggestions of one group carry parts of the same change.
    group: usize,
}

#[derive(Serialize)]
struct Review<'a> {
    body: String,
    comments: Vec<Suggestion<'a>>,
}

/// The proposal as a pull-request review (the body and `comments` of GitHub's "create a
/// review" call): one suggestion per changed run of lines, each saying which transforms made
/// it. A pure insertion replaces the line above it (or below, at the top) together with the
/// inserted lines, since a suggestion replaces lines. Suggestions that carry parts of the same
/// change (a stage named at the top and its runtime stage at the end) share a `group` and say
/// so: only all of them together keep the file building (the poster must take all or none
/// and remove `group`). `headline` opens the review's body; with no proposal (nothing
/// to suggest, or nothing safe) there are no comments.
pub fn review(path: &str, p: Option<&Proposal>, headline: &str) -> String {
    let mut comments = Vec::new();
    if let Some(p) = p {
        let old_lines = crate::rewrite::edit::lines(&p.original);
        let new_lines = crate::rewrite::edit::lines(&p.text);
        let strip = |l: &str| l.trim_end_matches(['\n', '\r']).to_string();
        let mut parts: Vec<(std::ops::Range<usize>, String, BTreeSet<usize>)> = Vec::new();
        for group in similar::group_diff_ops(aligned_ops(p), 0) {
            let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
            let old = first.old_range().start..last.old_range().end;
            let new = first.new_range().start..last.new_range().end;
            let mut replacement: Vec<String> = new_lines[new.clone()].iter().map(|l| strip(l)).collect();
            let lines = if !old.is_empty() {
                old.clone()
            } else if old.start > 0 {
                replacement.insert(0, strip(old_lines[old.start - 1]));
                old.start - 1..old.start
            } else if !old_lines.is_empty() {
                replacement.push(strip(old_lines[0]));
                0..1
            } else {
                continue;
            };
            parts.push((lines, replacement.join("\n"), changes_of(p, &group)));
        }
        // Parts that share a change belong together (connected through any change they share).
        let mut group: Vec<usize> = (0..parts.len()).collect();
        for i in 0..parts.len() {
            for j in 0..i {
                if !parts[i].2.is_disjoint(&parts[j].2) {
                    let (from, to) = (group[i], group[j]);
                    group.iter_mut().filter(|g| **g == from).for_each(|g| *g = to);
                }
            }
        }
        for (k, (lines, text, ids)) in parts.iter().enumerate() {
            // A fence longer than any run of backticks in the text.
            let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
            let fence = "`".repeat(longest.max(2) + 1);
            let mut body = String::from("**imgopt rewrite**\n");
            for a in ids.iter().filter_map(|&i| p.applied.get(i)) {
                let _ = writeln!(body, "- **{}**: {}", a.transform, crate::escape::markdown_code(&a.reason));
            }
            let together: Vec<String> = (0..parts.len())
                .filter(|&j| j != k && group[j] == group[k])
                .map(|j| match parts[j].0.len() {
                    1 => format!("line {}", parts[j].0.end),
                    _ => format!("lines {}-{}", parts[j].0.start + 1, parts[j].0.end),
                })
                .collect();
            if !together.is_empty() {
                let _ = writeln!(
                    body,
                    "\nPart of one change with the suggestions on {}: apply them together.",
                    together.join(", ")
                );
            }
            let _ = write!(body, "\n{fence}suggestion\n{text}{}{fence}\n", if text.is_empty() { "" } else { "\n" });
            let (start, end) = (lines.start + 1, lines.end);
            comments.push(Suggestion {
                path,
                start_line: (start < end).then_some(start),
                line: end,
                side: "RIGHT",
                body,
                group: group[k],
            });
        }
    }
    let body = match comments.is_empty() {
        true => headline.to_string(),
        false => format!(
            "{headline}\n\nEach suggestion is a part of the proposal; the job summary shows the whole diff and its measured sizes."
        ),
    };
    serde_json::to_string_pretty(&Review { body, comments }).unwrap_or_default() + "\n"
}
