//! `imgopt rewrite`: a smaller Dockerfile, proposed as edits of the file the user has.
//!
//! Each transform ([`transforms`]) reads the current text through the one model
//! ([`crate::model`]: BuildKit's reading, typed commands, the stage-state fold, RUN scripts)
//! and proposes [`Change`]s: edits of the source with a one-line reason. The driver applies
//! them one transform at a time, re-reads the result, and goes round until nothing more
//! changes, so every transform sees what the others did and a second rewrite of the proposal
//! changes nothing. A change that needs newer Dockerfile syntax than the original uses
//! ([`SyntaxLevel`]) is not applied: it is listed apart as an offer.

pub mod edit;
pub mod measure;
pub mod render;
pub mod safety;
pub mod transforms;

use std::path::{Path, PathBuf};

use crate::lint::{lint_text, Diagnostic, Edit, Settings};
use crate::model::document::Document;
use crate::model::instruction::Command;
use crate::model::run_script::{run_scripts, RunScript};
use crate::model::state::{fold_stage, StageState};

pub use edit::LineTags;
pub use transforms::{Transform, TRANSFORMS};

/// Rounds over all transforms before the driver stops: each round that changes something
/// re-reads the text, and transforms only ever make a file smaller or reorder it, so a real
/// file settles in two or three.
const MAX_ROUNDS: usize = 8;

/// Newer Dockerfile syntax a change may need: Docker 20.10's built-in frontend has none of
/// these unless the Dockerfile asks for a newer one with `# syntax=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    /// `RUN --mount=...`.
    RunMount,
    /// `COPY --chmod=...`.
    CopyChmod,
    /// `RUN <<EOF` and `COPY <<EOF`.
    Heredoc,
}

impl Feature {
    pub fn describe(self) -> &'static str {
        match self {
            Feature::RunMount => "RUN --mount",
            Feature::CopyChmod => "COPY --chmod",
            Feature::Heredoc => "heredocs",
        }
    }
}

/// The newest syntax the original Dockerfile uses or declares: a proposal needs no more, so it
/// builds wherever the original built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyntaxLevel {
    /// A `# syntax=` directive names a frontend: every stable feature is available.
    pub declared: bool,
    pub used: Vec<Feature>,
}

impl SyntaxLevel {
    pub fn of(doc: &Document<'_>) -> SyntaxLevel {
        let declared = doc.directives.iter().any(|d| d.name == "syntax" && !d.value.trim().is_empty());
        let mut used = Vec::new();
        for ins in &doc.instructions {
            if !ins.heredocs.is_empty() {
                used.push(Feature::Heredoc);
            }
            if ins.is("RUN") && ins.flag("mount").is_some() {
                used.push(Feature::RunMount);
            }
            if (ins.is("COPY") || ins.is("ADD")) && ins.flag("chmod").is_some() {
                used.push(Feature::CopyChmod);
            }
        }
        used.sort();
        used.dedup();
        SyntaxLevel { declared, used }
    }

    pub fn allows(&self, feature: Feature) -> bool {
        self.declared || self.used.contains(&feature)
    }
}

/// One rewrite a transform proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Non-overlapping edits of the current text.
    pub edits: Vec<Edit>,
    /// Why, in one line (shown on the diff hunk).
    pub reason: String,
    /// Newer syntax the result needs, if any.
    pub needs: Option<Feature>,
}

impl Change {
    pub fn new(reason: impl Into<String>, edits: Vec<Edit>) -> Change {
        Change { edits, reason: reason.into(), needs: None }
    }

    pub fn needing(mut self, feature: Feature) -> Change {
        self.needs = Some(feature);
        self
    }
}

/// What a transform reads: the current text, read once per transform and round.
pub struct Context<'d, 'a> {
    pub doc: &'d Document<'a>,
    /// Every instruction's typed command (None where BuildKit's reading has none).
    pub commands: Vec<Option<&'d Command>>,
    /// For every instruction of a stage (FROM excluded), the stage state before it.
    pub states: Vec<Option<StageState>>,
    /// Every RUN of a POSIX-shell stage, parsed.
    pub scripts: Vec<RunScript<'d>>,
    pub syntax: &'d SyntaxLevel,
    /// The build context, when the files can be looked at (ADD → COPY, manifests).
    pub context_dir: Option<&'d Path>,
    /// For each line of the current text, its line in the original (see [`LineTags`]).
    pub origins: &'d [Option<usize>],
    findings: std::cell::OnceCell<Vec<Diagnostic>>,
}

/// The lint rules whose fixes transforms take (the knowledge lives in the rule): read once per
/// text for all of them.
const LINT_RULES: &[&str] = &["IMG115", "IMG202", "IMG203", "IMG204", "IMG205", "IMG209", "IMG210"];

impl<'d, 'a> Context<'d, 'a> {
    pub fn new(
        doc: &'d Document<'a>,
        syntax: &'d SyntaxLevel,
        context_dir: Option<&'d Path>,
        origins: &'d [Option<usize>],
    ) -> Self {
        let commands = (0..doc.instructions.len()).map(|i| doc.command(i)).collect();
        let mut states = vec![None; doc.instructions.len()];
        for stage in &doc.model.stages {
            fold_stage(doc, stage, |index, state| states[index] = Some(state.clone()));
        }
        Context {
            doc,
            commands,
            states,
            scripts: run_scripts(doc),
            syntax,
            context_dir,
            origins,
            findings: std::cell::OnceCell::new(),
        }
    }

    /// The findings of the lint rule `code` on the current text (one of [`LINT_RULES`]).
    pub fn findings<'s>(&'s self, code: &'s str) -> impl Iterator<Item = &'s Diagnostic> {
        debug_assert!(LINT_RULES.contains(&code), "{code} is not read for the rewriter");
        let all = self.findings.get_or_init(|| {
            let settings =
                Settings { select: LINT_RULES.iter().map(|c| c.to_string()).collect(), ..Settings::default() };
            lint_text(self.doc.text, &settings)
        });
        all.iter().filter(move |d| d.code == code)
    }

    /// The line (1-based) of instruction `index` in the file the user has: where it was
    /// before earlier rewrites moved it.
    pub fn line(&self, index: usize) -> usize {
        let line = self.doc.instructions[index].start_line;
        self.origins.get(line - 1).copied().flatten().map_or(line, |o| o + 1)
    }

    pub fn text(&self) -> &'a str {
        self.doc.text
    }

    pub fn script(&self, index: usize) -> Option<&RunScript<'d>> {
        // In file order: a lookup per RUN stays n·log n over a file.
        self.scripts.binary_search_by_key(&index, |s| s.index).ok().map(|i| &self.scripts[i])
    }
}

/// A change the driver applied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    pub transform: &'static str,
    pub reason: String,
}

/// A change left out because it needs newer syntax than the original uses.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Offer {
    pub transform: &'static str,
    pub reason: String,
    pub needs: Feature,
}

/// What to rewrite and with what.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only these transforms (by name); all when empty.
    pub only: Vec<String>,
    pub context_dir: Option<PathBuf>,
}

/// The rewrite of one Dockerfile.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub original: String,
    pub text: String,
    pub applied: Vec<Applied>,
    pub offers: Vec<Offer>,
    /// Changes dropped because their result did not read back as a Dockerfile (a transform's
    /// bug: the tests over the corpus require this to stay empty).
    pub rejected: Vec<Applied>,
    /// Which applied changes touched each line of `text` (see [`LineTags`]).
    pub tags: LineTags,
}

impl Proposal {
    pub fn changed(&self) -> bool {
        self.original != self.text
    }
}

/// Why a rewrite could not be proposed.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error("unknown transform `{0}` (known: {known})", known = transform_names())]
    UnknownTransform(String),
    #[error("the Dockerfile does not parse: {0}")]
    Parse(String),
}

fn transform_names() -> String {
    TRANSFORMS.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

/// The transforms `only` names (all when empty).
pub fn selected(only: &[String]) -> Result<Vec<&'static Transform>, RewriteError> {
    if only.is_empty() {
        return Ok(TRANSFORMS.iter().collect());
    }
    for name in only {
        if !TRANSFORMS.iter().any(|t| t.name == name) {
            return Err(RewriteError::UnknownTransform(name.clone()));
        }
    }
    Ok(TRANSFORMS.iter().filter(|t| only.iter().any(|o| o == t.name)).collect())
}

/// Proposes a rewrite of `text` (a Dockerfile without its byte-order mark).
pub fn propose(text: &str, options: &Options) -> Result<Proposal, RewriteError> {
    let transforms = selected(&options.only)?;
    let syntax = {
        let doc = Document::parse(text).map_err(|e| RewriteError::Parse(e.to_string()))?;
        SyntaxLevel::of(&doc)
    };
    // A change may not make the file read worse than the original does.
    let refused = refused_instructions(text);
    let mut current = text.to_string();
    let mut tags = LineTags::new(&current);
    let mut applied: Vec<Applied> = Vec::new();
    let mut offers: Vec<Offer> = Vec::new();
    let mut rejected: Vec<Applied> = Vec::new();
    // The text is read once per change applied and once per round that finds nothing more:
    // transforms after one that proposed nothing see the same reading.
    let (mut round, mut next_transform, mut progressed) = (0, 0, false);
    while round < MAX_ROUNDS {
        let pending = {
            let Ok(doc) = Document::parse(&current) else { break };
            let cx = Context::new(&doc, &syntax, options.context_dir.as_deref(), &tags.origins);
            let mut pending = None;
            while next_transform < transforms.len() {
                let transform = transforms[next_transform];
                next_transform += 1;
                let chosen = choose(transform, (transform.propose)(&cx), &syntax, &mut offers);
                if !chosen.is_empty() {
                    pending = Some((transform, chosen));
                    break;
                }
            }
            pending
        };
        let Some((transform, chosen)) = pending else {
            if !progressed {
                break;
            }
            (round, next_transform, progressed) = (round + 1, 0, false);
            continue;
        };
        // Later changes first, so the offsets of earlier ones stay right.
        for change in chosen {
            let next = crate::lint::fix::apply_edits(&current, &change.edits);
            if next == current {
                continue;
            }
            if refused_instructions(&next).is_none_or(|n| refused.is_some_and(|r| n > r)) {
                rejected.push(Applied { transform: transform.name, reason: change.reason });
                continue;
            }
            let id = applied.len();
            tags = tags.carry(&current, &next, &change.edits, id);
            applied.push(Applied { transform: transform.name, reason: change.reason });
            current = next;
            progressed = true;
        }
    }
    Ok(Proposal { original: text.to_string(), text: current, applied, offers, rejected, tags })
}

/// The changes of one transform to apply now: offers set aside (those needing newer syntax),
/// then changes whose extents do not meet, last first.
fn choose(transform: &Transform, changes: Vec<Change>, syntax: &SyntaxLevel, offers: &mut Vec<Offer>) -> Vec<Change> {
    let mut taken: Vec<std::ops::Range<usize>> = Vec::new();
    let mut chosen: Vec<Change> = Vec::new();
    for change in changes {
        if let Some(needs) = change.needs.filter(|f| !syntax.allows(*f)) {
            let offer = Offer { transform: transform.name, reason: change.reason, needs };
            if !offers.contains(&offer) {
                offers.push(offer);
            }
            continue;
        }
        // Changes are applied one at a time, last first: their extents must not meet.
        let Some(extent) = extent(&change) else { continue };
        if !taken.iter().any(|t| extent.start <= t.end && t.start <= extent.end) {
            taken.push(extent);
            chosen.push(change);
        }
    }
    chosen.sort_by_key(|c| std::cmp::Reverse(extent(c).map(|e| e.start)));
    chosen
}

/// From the first edit's start to the last edit's end.
fn extent(change: &Change) -> Option<std::ops::Range<usize>> {
    let start = change.edits.iter().map(|e| e.range.start).min()?;
    let end = change.edits.iter().map(|e| e.range.end).max()?;
    Some(start..end)
}

/// How many instructions of `text` a build refuses (BuildKit's parser accepts the file, but
/// an instruction has no typed command), or None when the file does not parse.
pub fn refused_instructions(text: &str) -> Option<usize> {
    let doc = Document::parse(text).ok()?;
    Some((0..doc.instructions.len()).filter(|&i| doc.command(i).is_none()).count())
}

/// Whether `text` reads as a Dockerfile a build accepts: BuildKit's parser and every
/// instruction's typed command.
pub fn reads_back(text: &str) -> bool {
    refused_instructions(text) == Some(0)
}
