//! `analyze --image REF -f Dockerfile`: the Dockerfile line that made each layer of an image built
//! elsewhere, read back from the image's `history.created_by`.
//!
//! What builders write there (the rules below are built on these forms):
//! - BuildKit: `RUN /bin/sh -c CMD # buildkit`, with `|N K=V …` before the shell when the stage
//!   declares ARGs, the arguments joined for the exec form, the body for a heredoc (`/dev/pipes/NAME`
//!   when it starts with `#!`); `COPY [--chown=…] [--chmod=…] SRC… DEST # buildkit` with words
//!   expanded and no `--from`; `WORKDIR /abs` (a layer unless `/`); `ENV K=V`, `LABEL`, `ARG`,
//!   `CMD ["…"]`… as `empty_layer` entries. A RUN that changes no file becomes `empty_layer` too.
//! - the classic docker builder: `/bin/sh -c CMD` (or `|N K=V /bin/sh -c CMD`) for RUN,
//!   `/bin/sh -c #(nop) COPY file:HASH in DEST ` for COPY and ADD, `/bin/sh -c #(nop) ENV …` for
//!   the others.
//! - buildah: the classic forms, but RUN carries the source text after `RUN ` (flags and exec-form
//!   JSON included, `$VARS` unexpanded) and WORKDIR makes no layer. `buildah build` without
//!   `--layers` commits each stage as one layer, carried by the entry of its last instruction,
//!   all the others `empty_layer`.
//!
//! An image's history is its base image's entries, then one entry per instruction of the target
//! stage and of the stages it builds on through `FROM <stage>`, in order. The two sequences are
//! aligned with a weighted longest common subsequence: an entry pairs only with an instruction of
//! the same kind, RUN and COPY/ADD only when their text agrees, and ties go to the latest entries
//! (a base image may hold the same `CMD`). Entries before the first pair are the base image's and
//! map to the first stage's FROM line. Whatever the alignment cannot explain is reported, never
//! guessed: a layer whose entry pairs with no instruction is unmapped with the reason, and an
//! instruction that should have made a layer but has no entry says so.

use std::path::Path;

use serde::Serialize;

use crate::image::ImageConfig;
use crate::model::document::{LoadError, Source};
use crate::model::state::{fold_stage, join_path, DEFAULT_PATH, PATH_MAX};
use crate::model::{arg_decls, env_pairs, expand_word, Model, Vars};
use crate::syntax::{self, Dockerfile, Instruction};

/// How a layer was tied to its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    /// `created_by` says what the instruction says.
    Content,
    /// Same kind of instruction at the same place in the sequence; the texts cannot be compared
    /// (no `created_by`, or a form that leaves out the arguments).
    Order,
    /// A layer of the base image: the first stage's FROM line.
    BaseImage,
    /// imgopt built the image and recorded which instruction made each layer.
    Built,
    /// One layer for several instructions (`buildah build` without `--layers`): `line` to
    /// `end_line` made it.
    Squashed,
    /// Not tied to any line; `reason` says why.
    Unmapped,
}

/// The Dockerfile line of one layer (`layers[].dockerfile` in the JSON report).
#[derive(Clone, Debug, Serialize)]
pub struct LayerLine {
    /// 1-based first and last line of the instruction(s), heredoc bodies included.
    pub line: Option<usize>,
    pub end_line: Option<usize>,
    /// The instruction as written, on one line.
    pub instruction: Option<String>,
    /// Index of the stage (0 = the first FROM).
    pub stage: Option<usize>,
    #[serde(rename = "match")]
    pub how: Match,
    pub reason: Option<String>,
}

/// One instruction of the target's stages and the layers it made.
#[derive(Clone, Debug, Serialize)]
pub struct InstructionLayers {
    pub line: usize,
    pub end_line: usize,
    pub stage: usize,
    pub instruction: String,
    pub layers: Vec<usize>,
    /// The `created_by` it was paired with, if any.
    pub created_by: Option<String>,
    /// Why it made no layer, when it would be expected to.
    pub note: Option<String>,
}

/// The whole mapping (`dockerfile` in the JSON report).
#[derive(Clone, Debug, Serialize)]
pub struct DockerfileMap {
    pub file: String,
    /// The stage that was built (the last one).
    pub target_stage: usize,
    /// How many bottom layers are the base image's; null when nothing could be paired.
    pub base_layers: Option<usize>,
    /// Every layer mapped and every RUN/COPY/ADD accounted for.
    pub complete: bool,
    /// Why the history and the Dockerfile do not match at all (no RUN, COPY or ADD of the
    /// Dockerfile is in the history): then no layer is attributed to a line.
    pub mismatch: Option<String>,
    /// The FROM line of the first stage, then each instruction in build order.
    pub instructions: Vec<InstructionLayers>,
    #[serde(skip)]
    pub layers: Vec<LayerLine>,
}

/// Where an instruction is and what it looks like.
#[derive(Clone, Debug)]
struct Place {
    line: usize,
    end_line: usize,
    stage: usize,
    text: String,
}

#[derive(Clone, Debug)]
enum Expect {
    /// Normalized command texts any builder may record (after the shell and the ARG prefix).
    Run { commands: Vec<String>, exec: bool },
    /// BuildKit's rendering and the destinations as written, expanded and resolved.
    Copy { rendered: Vec<String>, dests: Vec<String> },
    /// Everything else: compared on the texts builders write, else on the keyword.
    Meta { bodies: Vec<String> },
}

#[derive(Clone, Debug)]
struct Step {
    keyword: String,
    place: Place,
    expect: Expect,
}

impl Step {
    /// RUN, COPY and ADD always make a layer unless they change nothing.
    fn makes_layer(&self) -> bool {
        matches!(self.keyword.as_str(), "RUN" | "COPY" | "ADD")
    }
}

/// A Dockerfile read for mapping: the target stage's instructions, through its `FROM <stage>`
/// chain, with what a builder would record for each. Independent of any image.
#[derive(Clone, Debug)]
pub struct DockerfileSteps {
    file: String,
    target_stage: usize,
    /// The first stage's FROM, and whether it names an image (not `scratch`).
    from: Place,
    from_image: bool,
    steps: Vec<Step>,
    /// Last words of the shells RUN may be wrapped in (`-c`, and those of SHELL instructions).
    shell_flags: Vec<String>,
}

fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn expand(word: &str, vars: &Vars, escape: char) -> String {
    expand_word(word, vars, escape).map(|e| e.value).unwrap_or_else(|_| word.to_string())
}

/// Why a Dockerfile gives no steps to map layers to.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum StepsError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Load(#[from] LoadError),
    #[error("{name}: no FROM instruction")]
    #[diagnostic(code(imgopt::syntax))]
    NoStage { name: String },
}

impl DockerfileSteps {
    /// Reads and parses a Dockerfile; a bad one is a diagnostic that points at the line.
    pub fn read(path: &Path) -> Result<DockerfileSteps, StepsError> {
        DockerfileSteps::from_source(&Source::read(path)?)
    }

    /// [`DockerfileSteps::read`] on a text already decoded (its byte-order mark set aside).
    pub fn from_text(name: &str, text: &str) -> Result<DockerfileSteps, StepsError> {
        DockerfileSteps::from_source(&Source::from_text(name, syntax::strip_bom(text).0))
    }

    pub fn from_source(source: &Source) -> Result<DockerfileSteps, StepsError> {
        let df = source.document()?;
        let model = &df.model;
        let name = &source.name;
        let target = model.stages.last().ok_or_else(|| StepsError::NoStage { name: name.clone() })?;
        // The target, then the stage it builds on, and so on: build order is the reverse.
        let mut chain: Vec<usize> = model.lineage(target.index).map(|s| s.index).collect();
        chain.reverse();
        let root = &model.stages[chain[0]];
        let place = |inst: &Instruction, stage: usize| Place {
            line: inst.start_line,
            end_line: inst.end_line,
            stage,
            text: normalize(&inst.line.text),
        };
        let from = place(&df.instructions[root.from], root.index);
        // A base image's WORKDIR is unknown: relative paths resolve only after an absolute one.
        let mut workdir = if root.is_scratch() { Some("/".to_string()) } else { None };
        // What the stages built on leave in scope.
        let mut inherited = Vars::new();
        // The variables before each instruction: `inherited`, then the stage's own as the fold
        // has them (the `PATH` the fold assumes for an unknown base is not one of them). One map,
        // updated with the names the previous ARG or ENV set and put back at the stage's end:
        // each instruction costs its own names, not the whole scope (linear in the stage).
        let mut vars = Vars::new();
        // One step per instruction of the chain, known up front: no doubling of a vector that
        // has a step per line of a long file.
        let mut steps = Vec::with_capacity(chain.iter().map(|&s| model.stages[s].instructions.len()).sum());
        let mut shell_flags = vec!["-c".to_string()];
        for &s in &chain {
            let stage = &model.stages[s];
            let mut pending: Vec<String> = Vec::new();
            let mut touched: Vec<String> = Vec::new();
            fold_stage(&df, stage, |i, state| {
                for name in pending.drain(..) {
                    let own = state.vars().get(&name).filter(|v| !(name == "PATH" && v.as_str() == DEFAULT_PATH));
                    match own.or_else(|| inherited.get(&name)) {
                        Some(v) => vars.insert(name.clone(), v.clone()),
                        None => vars.remove(&name),
                    };
                    touched.push(name);
                }
                let inst = &df.instructions[i];
                if inst.is("SHELL") {
                    shell_flags.extend(inst.args.last().cloned());
                }
                let expect = expectation(inst, &df, &mut vars, &mut workdir);
                steps.push(Step { keyword: inst.keyword.clone(), place: place(inst, stage.index), expect });
                pending = match inst.keyword.as_str() {
                    "ARG" => arg_decls(inst, i).into_iter().map(|d| d.name).collect(),
                    "ENV" => env_pairs(inst).into_iter().map(|(name, _)| name).collect(),
                    _ => Vec::new(),
                };
            });
            for name in touched {
                match inherited.get(&name) {
                    Some(v) => vars.insert(name, v.clone()),
                    None => vars.remove(&name),
                };
            }
            let after = model.scope_after(&df, stage, &Vars::new());
            vars.extend(after.clone());
            inherited.extend(after);
        }
        Ok(DockerfileSteps {
            file: name.to_string(),
            target_stage: target.index,
            from,
            from_image: !root.is_scratch(),
            steps,
            shell_flags,
        })
    }
}

/// The text after the keyword on the logical line (flags included), as buildah records RUN.
fn after_keyword(inst: &Instruction) -> String {
    let text = inst.line.text.trim_start();
    let rest = text.get(inst.keyword.len()..).unwrap_or("");
    normalize(rest)
}

fn expectation(inst: &Instruction, df: &Dockerfile<'_>, vars: &mut Vars, workdir: &mut Option<String>) -> Expect {
    let escape = df.escape;
    let raw = after_keyword(inst);
    match inst.keyword.as_str() {
        "RUN" => {
            let mut commands = vec![raw.clone(), normalize(&inst.args.join(" "))];
            if let (Some(first), false) = (inst.heredocs.first(), inst.json_form) {
                let command = inst.args.first().map(String::as_str).unwrap_or("");
                let only_heredoc = command.trim_start_matches(|c: char| c.is_ascii_digit()).starts_with("<<")
                    && command.split_whitespace().count() == 1;
                if only_heredoc {
                    let body = if first.chomp {
                        first.content.lines().map(|l| l.trim_start_matches('\t')).collect::<Vec<_>>().join("\n")
                    } else {
                        first.content.clone()
                    };
                    commands.push(if body.starts_with("#!") {
                        format!("/dev/pipes/{}", first.name)
                    } else {
                        normalize(&body)
                    });
                } else {
                    let mut whole = command.to_string();
                    for h in &inst.heredocs {
                        whole.push_str(&format!("\n{}{}", h.content, h.name));
                    }
                    commands.push(normalize(&whole));
                }
                // buildah: the line, then each body.
                let bodies: Vec<&str> = inst.heredocs.iter().map(|h| h.content.trim()).collect();
                commands.push(normalize(&format!("{raw} {}", bodies.join(" "))));
            }
            commands.retain(|c| !c.is_empty());
            commands.dedup();
            Expect::Run { commands, exec: inst.json_form }
        }
        "COPY" | "ADD" => {
            let Some((dest, sources)) = inst.args.split_last() else {
                return Expect::Copy { rendered: Vec::new(), dests: Vec::new() };
            };
            let word = |w: &str| if w.starts_with("<<") { w.to_string() } else { expand(w, vars, escape) };
            let mut rendered = inst.keyword.clone();
            if inst.flag("parents").is_some() {
                rendered.push_str(" --parents");
            }
            for name in ["chown", "chmod"] {
                if let Some(v) = inst.flag(name).and_then(|f| f.value()) {
                    rendered.push_str(&format!(" --{name}={}", expand(v, vars, escape)));
                }
            }
            for s in sources {
                rendered.push(' ');
                rendered.push_str(&word(s));
            }
            let expanded = word(dest);
            rendered.push(' ');
            rendered.push_str(&expanded);
            let mut dests = vec![dest.clone(), expanded.clone()];
            if let Some(wd) = workdir.as_deref() {
                dests.push(join_path(wd, &expanded));
            }
            Expect::Copy { rendered: vec![normalize(&rendered)], dests }
        }
        keyword => {
            let mut bodies = vec![raw];
            match keyword {
                "ENV" | "LABEL" => {
                    let pairs: Vec<String> = env_pairs(inst)
                        .iter()
                        .map(|(k, v)| format!("{}={}", expand(k, vars, escape), expand(v, vars, escape)))
                        .collect();
                    bodies.push(pairs.join(" "));
                }
                "ARG" => {
                    // BuildKit records the value in effect: the default (which sees the names
                    // declared before it in the same ARG), else an inherited one. Those names
                    // go into `vars` for the ARG's later defaults and are taken back after.
                    let mut decls = Vec::new();
                    let mut shadowed: Vec<(String, Option<String>)> = Vec::new();
                    for d in arg_decls(inst, 0) {
                        let value = d
                            .default
                            .as_deref()
                            .map(|v| expand(v, vars, escape))
                            .or_else(|| vars.get(&d.name).cloned());
                        decls.push(value.as_ref().map_or_else(|| d.name.clone(), |v| format!("{}={v}", d.name)));
                        if let Some(v) = value {
                            let old = vars.insert(d.name.clone(), v);
                            shadowed.push((d.name, old));
                        }
                    }
                    for (name, old) in shadowed.into_iter().rev() {
                        match old {
                            Some(v) => vars.insert(name, v),
                            None => vars.remove(&name),
                        };
                    }
                    bodies.push(decls.join(" "));
                }
                "WORKDIR" | "USER" => {
                    let value = expand(inst.args.first().map(String::as_str).unwrap_or(""), vars, escape);
                    if keyword == "WORKDIR" {
                        let resolved = workdir.as_deref().map(|wd| join_path(wd, &value));
                        // Past PATH_MAX no build goes on (and a growing path would make each
                        // WORKDIR cost its length): the directory is unknown from there.
                        *workdir = resolved
                            .clone()
                            .or_else(|| value.starts_with('/').then(|| join_path("/", &value)))
                            .filter(|w| w.len() < PATH_MAX);
                        bodies.extend(resolved);
                    }
                    bodies.push(value);
                }
                "CMD" | "ENTRYPOINT" if inst.json_form => {
                    // Go's %q of the argument list, as BuildKit and the classic builder print it.
                    let quoted: Vec<String> = inst.args.iter().map(|a| format!("{a:?}")).collect();
                    bodies.push(format!("[{}]", quoted.join(" ")));
                }
                _ => {}
            }
            bodies.iter_mut().for_each(|b| *b = normalize(b));
            Expect::Meta { bodies }
        }
    }
}

/// One history entry as the mapping sees it.
struct Entry<'h> {
    created_by: Option<&'h str>,
    /// Upper-case keyword and the normalized rest (RUN for a bare command line).
    keyword: String,
    body: String,
    layer: bool,
    buildkit: bool,
}

fn entry(created_by: Option<&str>, layer: bool) -> Entry<'_> {
    let text = created_by.unwrap_or("").trim();
    let buildkit = text.ends_with("# buildkit");
    let text = text.strip_suffix("# buildkit").unwrap_or(text).trim();
    let nop = text.strip_prefix("/bin/sh -c #(nop)").map(str::trim);
    let (first, rest) = nop.unwrap_or(text).split_once(char::is_whitespace).unwrap_or((nop.unwrap_or(text), ""));
    let (keyword, body) = if syntax::INSTRUCTIONS.contains(&first) {
        (first.to_string(), normalize(rest))
    } else {
        // The classic builder and buildah write a RUN as the command line it ran.
        ("RUN".to_string(), normalize(text))
    };
    Entry { created_by, keyword, body, layer, buildkit }
}

/// `body` is `[|N K=V…] [SHELL… -c] COMMAND` for one of the expected commands.
fn run_agrees(body: &str, commands: &[String], exec: bool, shell_flags: &[String]) -> bool {
    commands.iter().any(|c| {
        if body == c {
            return true;
        }
        let Some(prefix) = body.strip_suffix(c.as_str()).and_then(|p| p.strip_suffix(' ')) else {
            return false;
        };
        let last = prefix.rsplit(' ').next().unwrap_or("");
        let arg_prefix = prefix.starts_with('|') && prefix[1..].starts_with(|ch: char| ch.is_ascii_digit());
        shell_flags.iter().any(|f| f == last) || (exec && arg_prefix)
    })
}

/// The classic builder's and buildah's `SUMMARY in DEST` form of COPY/ADD: its destination.
fn summary_dest(body: &str) -> Option<&str> {
    let (summary, dest) = body.rsplit_once(" in ")?;
    let hashed = summary.split(' ').any(|w| ["file:", "dir:", "multi:"].iter().any(|p| w.starts_with(p)));
    hashed.then_some(dest.trim())
}

const CONTENT: u32 = 4;
/// 4M cells: 32 MB of alignment table.
const MAX_ALIGNMENT_CELLS: usize = 4_000_000;
const KIND: u32 = 1;

fn score(e: &Entry<'_>, s: &Step, shell_flags: &[String]) -> u32 {
    if e.created_by.is_none() {
        // Nothing to compare: a layer can still stand for a layer-making instruction, in order.
        return if e.layer && s.makes_layer() { KIND } else { 0 };
    }
    if e.keyword != s.keyword {
        return 0;
    }
    match &s.expect {
        Expect::Run { commands, exec } => {
            if run_agrees(&e.body, commands, *exec, shell_flags) {
                CONTENT
            } else {
                0
            }
        }
        Expect::Copy { rendered, dests } => {
            let trimmed = |d: &str| d.trim_end_matches('/').to_string();
            let dest = summary_dest(&e.body).or_else(|| e.body.rsplit(' ').next()).unwrap_or("");
            if rendered.contains(&e.body) || dests.iter().any(|d| trimmed(d) == trimmed(dest)) {
                CONTENT
            } else {
                0
            }
        }
        Expect::Meta { bodies } => {
            if bodies.contains(&e.body) {
                CONTENT
            } else {
                KIND
            }
        }
    }
}

/// Pairs of (entry, step), in order: a weighted longest common subsequence that, between equal
/// totals, leaves the earliest entries unpaired (they are the base image's).
fn align(entries: &[Entry<'_>], steps: &[Step], shell_flags: &[String]) -> Vec<(usize, usize, u32)> {
    let (n, m) = (entries.len(), steps.len());
    let scores: Vec<Vec<u32>> =
        entries.iter().map(|e| steps.iter().map(|s| score(e, s, shell_flags)).collect()).collect();
    let mut best = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let pair = if scores[i][j] > 0 { scores[i][j] + best[i + 1][j + 1] } else { 0 };
            best[i][j] = best[i + 1][j].max(best[i][j + 1]).max(pair);
        }
    }
    let (mut i, mut j, mut pairs) = (0, 0, Vec::new());
    while i < n && j < m {
        if best[i + 1][j] == best[i][j] {
            i += 1;
        } else if scores[i][j] > 0 && best[i][j] == scores[i][j] + best[i + 1][j + 1] {
            pairs.push((i, j, scores[i][j]));
            i += 1;
            j += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

impl DockerfileSteps {
    /// Maps the image's layers (`config.rootfs.diff_ids`) to the Dockerfile.
    pub fn map(&self, config: &ImageConfig) -> DockerfileMap {
        let entries: Vec<Entry<'_>> =
            config.history.iter().map(|h| entry(h.created_by.as_deref(), !h.empty_layer)).collect();
        // The alignment table is entries × instructions; a config with an absurd history must not
        // exhaust memory (real ones hold at most a few hundred entries).
        let too_long = entries.len().saturating_mul(self.steps.len()) > MAX_ALIGNMENT_CELLS;
        let pairs = if too_long { Vec::new() } else { align(&entries, &self.steps, &self.shell_flags) };
        let mut step_of_entry = vec![None; entries.len()];
        let mut entry_of_step = vec![None; self.steps.len()];
        for &(i, j, s) in &pairs {
            step_of_entry[i] = Some((j, s));
            entry_of_step[j] = Some(i);
        }
        let layer_count = config.rootfs.diff_ids.len();
        // Not built from this Dockerfile: none of its layer-making instructions is in a history
        // that says what made each layer. A CMD or ENV paired by kind alone would otherwise make
        // every layer before it the base image's, with a confident report.
        let comparable = entries.iter().any(|e| e.created_by.is_some());
        let layer_steps = self.steps.iter().filter(|s| s.makes_layer()).count();
        let matched = pairs.iter().any(|&(_, j, s)| s >= CONTENT && self.steps[j].makes_layer());
        if comparable && layer_steps > 0 && !matched && !too_long {
            return self.mismatch(layer_count, layer_steps);
        }
        let first_pair = pairs.first().map(|p| p.0);
        let layer_entries: Vec<usize> =
            entries.iter().enumerate().filter(|(_, e)| e.layer).map(|(i, _)| i).take(layer_count).collect();

        let unmapped = |reason: String| LayerLine {
            line: None,
            end_line: None,
            instruction: None,
            stage: None,
            how: Match::Unmapped,
            reason: Some(reason),
        };
        let at = |p: &Place, how: Match, reason: Option<String>| LayerLine {
            line: Some(p.line),
            end_line: Some(p.end_line),
            instruction: Some(p.text.clone()),
            stage: Some(p.stage),
            how,
            reason,
        };
        let mut layers = Vec::with_capacity(layer_count);
        let mut made: Vec<Vec<usize>> = vec![Vec::new(); self.steps.len()];
        let mut squashed_into: Vec<Option<usize>> = vec![None; self.steps.len()];
        let mut base = Vec::new();
        let mut previous_layer_step: Option<usize> = None;
        for layer in 0..layer_count {
            let Some(&i) = layer_entries.get(layer) else {
                layers.push(unmapped("the image's history has no entry for this layer".into()));
                continue;
            };
            let e = &entries[i];
            let line = match (step_of_entry[i], first_pair) {
                (Some((j, s)), _) => {
                    let step = &self.steps[j];
                    // Layer-making instructions since the previous layer that recorded no layer of
                    // their own: a builder that squashes put their changes here.
                    let start = previous_layer_step.map_or(0, |p| p + 1);
                    let covered: Vec<usize> = (start..j)
                        .filter(|&k| {
                            self.steps[k].makes_layer() && entry_of_step[k].is_some_and(|ei| !entries[ei].layer)
                        })
                        .collect();
                    previous_layer_step = Some(j);
                    made[j].push(layer);
                    if !covered.is_empty() && !e.buildkit {
                        for &k in &covered {
                            squashed_into[k] = Some(layer);
                        }
                        let first = &self.steps[covered[0]].place;
                        let reason = format!(
                            "one layer for lines {}-{}: the builder committed them together (buildah build without --layers)",
                            first.line, step.place.end_line
                        );
                        LayerLine { line: Some(first.line), ..at(&step.place, Match::Squashed, Some(reason)) }
                    } else {
                        at(&step.place, if s >= CONTENT { Match::Content } else { Match::Order }, None)
                    }
                }
                (None, Some(first)) if i < first => {
                    if self.from_image {
                        base.push(layer);
                        at(&self.from, Match::BaseImage, None)
                    } else {
                        unmapped(format!(
                            "history entry `{}` comes before the Dockerfile's first instruction, but its first stage is FROM scratch",
                            e.created_by.unwrap_or("")
                        ))
                    }
                }
                (None, Some(_)) => {
                    let after = (0..i).rev().find_map(|k| step_of_entry[k]).map(|(j, _)| self.steps[j].place.line);
                    unmapped(format!(
                        "history entry `{}` matches no instruction of the Dockerfile{}",
                        e.created_by.unwrap_or("(none)"),
                        after.map(|l| format!(" after line {l}")).unwrap_or_default()
                    ))
                }
                (None, None) if too_long => unmapped(format!(
                    "the history has {} entries: too many to align with {} instructions",
                    entries.len(),
                    self.steps.len()
                )),
                (None, None) => unmapped(format!(
                    "no history entry of the image matches an instruction of {}: was the image built from it?",
                    self.file
                )),
            };
            layers.push(line);
        }

        let mut instructions = vec![InstructionLayers {
            line: self.from.line,
            end_line: self.from.end_line,
            stage: self.from.stage,
            instruction: self.from.text.clone(),
            layers: base.clone(),
            created_by: None,
            note: None,
        }];
        let mut complete = layers.iter().all(|l| l.how != Match::Unmapped);
        for (j, step) in self.steps.iter().enumerate() {
            let created_by = entry_of_step[j].and_then(|i| entries[i].created_by).map(str::to_string);
            let note = match (entry_of_step[j], squashed_into[j]) {
                (_, Some(layer)) => Some(format!("squashed into layer {layer}")),
                (Some(i), None) if step.makes_layer() && !entries[i].layer => {
                    Some("no layer: it changed no file (history entry with empty_layer)".to_string())
                }
                (None, _) if step.makes_layer() => {
                    complete = false;
                    Some("no history entry matches it: the image was not built from this line (or the Dockerfile changed since)".to_string())
                }
                _ => None,
            };
            instructions.push(InstructionLayers {
                line: step.place.line,
                end_line: step.place.end_line,
                stage: step.place.stage,
                instruction: step.place.text.clone(),
                layers: made[j].clone(),
                created_by,
                note,
            });
        }
        // Base layers are a prefix; without any pair nothing is known about them.
        let base_layers = first_pair.map(|_| base.len());
        DockerfileMap {
            file: self.file.clone(),
            target_stage: self.target_stage,
            base_layers,
            complete,
            mismatch: None,
            instructions,
            layers,
        }
    }

    /// The map of an image this Dockerfile did not build: the reason, every layer unmapped,
    /// every instruction without a layer.
    fn mismatch(&self, layer_count: usize, layer_steps: usize) -> DockerfileMap {
        let reason = format!(
            "the image's history does not match {}: none of its {layer_steps} RUN, COPY and ADD instructions is in it",
            self.file
        );
        let unmapped = LayerLine {
            line: None,
            end_line: None,
            instruction: None,
            stage: None,
            how: Match::Unmapped,
            reason: Some("not attributed: the history does not match the Dockerfile".into()),
        };
        let places = std::iter::once(&self.from).chain(self.steps.iter().map(|s| &s.place));
        DockerfileMap {
            file: self.file.clone(),
            target_stage: self.target_stage,
            base_layers: None,
            complete: false,
            mismatch: Some(reason),
            instructions: places
                .map(|p| InstructionLayers {
                    line: p.line,
                    end_line: p.end_line,
                    stage: p.stage,
                    instruction: p.text.clone(),
                    layers: Vec::new(),
                    created_by: None,
                    note: None,
                })
                .collect(),
            layers: vec![unmapped; layer_count],
        }
    }
}

/// The map of an image imgopt built itself: each layer's instruction is known, nothing is
/// matched. `origins[i]` is the instruction (index in `df.instructions`) that made layer `i`,
/// None for the base image's layers.
pub fn built_map(
    file: &str,
    df: &Dockerfile<'_>,
    model: &Model,
    target_stage: usize,
    origins: &[Option<usize>],
) -> DockerfileMap {
    let place = |i: usize| {
        let inst = &df.instructions[i];
        let stage = model.stage_of(i).map_or(0, |s| s.index);
        // The logical line, as the history-based map and a comparison's rows have it.
        let text = normalize(&inst.line.text);
        (inst.start_line, inst.end_line, stage, text)
    };
    let mut lineage: Vec<usize> = model.lineage(target_stage).map(|s| s.index).collect();
    lineage.reverse();
    let first_from = lineage.first().map(|&s| model.stages[s].from);
    let layers: Vec<LayerLine> = origins
        .iter()
        .map(|o| {
            let (i, how) = match o {
                Some(i) => (Some(*i), Match::Built),
                None => (first_from, Match::BaseImage),
            };
            match i {
                Some(i) => {
                    let (line, end_line, stage, text) = place(i);
                    LayerLine {
                        line: Some(line),
                        end_line: Some(end_line),
                        instruction: Some(text),
                        stage: Some(stage),
                        how,
                        reason: None,
                    }
                }
                None => LayerLine {
                    line: None,
                    end_line: None,
                    instruction: None,
                    stage: None,
                    how: Match::Unmapped,
                    reason: Some("no stage".to_string()),
                },
            }
        })
        .collect();
    let mut instructions = Vec::new();
    for (n, &s) in lineage.iter().enumerate() {
        let stage = &model.stages[s];
        let range =
            if n == 0 { stage.instructions.clone() } else { stage.instructions.start + 1..stage.instructions.end };
        for i in range {
            let (line, end_line, stage_index, text) = place(i);
            let made: Vec<usize> = origins.iter().enumerate().filter(|(_, o)| **o == Some(i)).map(|(l, _)| l).collect();
            let base: Vec<usize> = if Some(i) == first_from {
                origins.iter().enumerate().filter(|(_, o)| o.is_none()).map(|(l, _)| l).collect()
            } else {
                Vec::new()
            };
            instructions.push(InstructionLayers {
                line,
                end_line,
                stage: stage_index,
                instruction: text,
                layers: if base.is_empty() { made } else { base },
                created_by: None,
                note: None,
            });
        }
    }
    DockerfileMap {
        file: file.to_string(),
        target_stage,
        base_layers: Some(origins.iter().take_while(|o| o.is_none()).count()),
        complete: true,
        mismatch: None,
        instructions,
        layers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::tests::config;

    fn lines(map: &DockerfileMap) -> Vec<(Option<usize>, Match)> {
        map.layers.iter().map(|l| (l.line, l.how)).collect()
    }

    #[test]
    fn run_text_agrees_through_shells_and_arg_prefixes() {
        let c = vec!["apt-get update".to_string()];
        let flags = vec!["-c".to_string()];
        assert!(run_agrees("/bin/sh -c apt-get update", &c, false, &flags));
        assert!(run_agrees("|2 A=1 B=two words /bin/sh -c apt-get update", &c, false, &flags));
        assert!(!run_agrees("/bin/sh -c cd x && apt-get update", &c, false, &flags));
        assert!(run_agrees("|1 A=1 apt-get update", &c, true, &flags));
        assert!(!run_agrees("|1 A=1 apt-get update", &c, false, &flags));
    }

    #[test]
    fn entries_are_read_in_each_builders_form() {
        let e = entry(Some("RUN /bin/sh -c make # buildkit"), true);
        assert_eq!((e.keyword.as_str(), e.body.as_str(), e.buildkit), ("RUN", "/bin/sh -c make", true));
        let e = entry(Some("/bin/sh -c #(nop) COPY file:abc in /x "), true);
        assert_eq!((e.keyword.as_str(), summary_dest(&e.body)), ("COPY", Some("/x")));
        let e = entry(Some("|1 V=1 /bin/sh -c make"), true);
        assert_eq!((e.keyword.as_str(), e.body.as_str()), ("RUN", "|1 V=1 /bin/sh -c make"));
        let e = entry(Some("WORKDIR /app"), true);
        assert_eq!((e.keyword.as_str(), e.body.as_str()), ("WORKDIR", "/app"));
        assert_eq!(join_path("/app", "../x/./y/"), "/x/y");
    }

    #[test]
    fn buildkit_history_maps_line_by_line_after_the_base() {
        let steps = DockerfileSteps::from_text(
            "Dockerfile",
            "FROM debian\nARG V=1 W=${V}.2\nENV P=/opt\nWORKDIR $P\nCOPY a.txt ./\nRUN make \\\n    install\nCMD [\"app\"]\n",
        )
        .unwrap();
        let map = steps.map(&config(&[
            ("/bin/sh -c #(nop) ADD file:x in / ", false),
            ("/bin/sh -c #(nop)  CMD [\"bash\"]", true),
            ("ARG V=1 W=1.2", true),
            ("ENV P=/opt", true),
            ("WORKDIR /opt", false),
            ("COPY a.txt ./ # buildkit", false),
            ("RUN |1 V=1 /bin/sh -c make     install # buildkit", false),
            ("CMD [\"app\"]", true),
        ]));
        assert_eq!(
            lines(&map),
            vec![
                (Some(1), Match::BaseImage),
                (Some(4), Match::Content),
                (Some(5), Match::Content),
                (Some(6), Match::Content)
            ]
        );
        assert_eq!(map.base_layers, Some(1));
        assert!(map.complete);
        assert_eq!(map.instructions[5].instruction, "RUN make install");
        assert_eq!(map.instructions[5].end_line, 7);
        // The ARG's entry agrees on its values (W's default expanded), not only on the keyword.
        assert_eq!(score(&entry(Some("ARG V=1 W=1.2"), false), &steps.steps[0], &steps.shell_flags), CONTENT);
    }

    #[test]
    fn shells_heredoc_scripts_and_copy_heredocs() {
        let text = "FROM scratch\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN curl x | tar x\nRUN <<EOT\n#!/usr/bin/env python3\nprint(1)\nEOT\nCOPY <<CONF /etc/app.conf\nk=v\nCONF\nWORKDIR app\n";
        let steps = DockerfileSteps::from_text("Dockerfile", text).unwrap();
        let map = steps.map(&config(&[
            ("SHELL [/bin/bash -o pipefail -c]", true),
            ("RUN /bin/bash -o pipefail -c curl x | tar x # buildkit", false),
            ("RUN /bin/bash -o pipefail -c /dev/pipes/EOT # buildkit", false),
            ("COPY <<CONF /etc/app.conf # buildkit", false),
            ("WORKDIR /app", false),
        ]));
        // FROM scratch: no base layers, WORKDIR resolved against `/`.
        assert_eq!(
            lines(&map),
            vec![
                (Some(3), Match::Content),
                (Some(4), Match::Content),
                (Some(8), Match::Content),
                (Some(11), Match::Content)
            ]
        );
        assert_eq!(map.base_layers, Some(0));
    }
}
