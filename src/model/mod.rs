//! The semantic model of a Dockerfile: meta ARGs, stages (name, base image, platform) and
//! variable scoping per stage, as BuildKit's `dockerfile2llb` sees them. The linter and the
//! builder both read it.

pub mod caches;
pub mod cleanup;
pub mod dependencies;
pub mod document;
pub mod expand;
pub mod instruction;
pub mod run_join;
pub mod run_script;
pub mod state;

use std::collections::{HashMap, HashSet};
use std::ops::Range;

pub use self::expand::{expand_word, ExpandError, Expanded, Vars};
use self::instruction::Command;
use crate::syntax::{Dockerfile, Instruction, Span};

/// ARGs BuildKit defines on its own in the global scope (usable in FROM without a
/// declaration; inside a stage they need an `ARG NAME` to be visible).
pub const AUTOMATIC_PLATFORM_ARGS: [&str; 8] = [
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
];

/// Proxy ARGs BuildKit lets through without declaration.
pub const PREDEFINED_ARGS: [&str; 8] =
    ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy"];

/// A declared ARG: its name and default (None when declared without `=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    pub default: Option<String>,
    /// Index of the instruction in [`Dockerfile::instructions`].
    pub instruction: usize,
}

/// One build stage: a FROM and the instructions up to the next FROM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub index: usize,
    /// The `AS` name, lower-cased as BuildKit compares it.
    pub name: Option<String>,
    /// The name as written.
    pub name_as_written: Option<String>,
    pub name_span: Option<Span>,
    /// The base image reference as written (`golang:${GO_VERSION}`).
    pub base: String,
    pub base_span: Span,
    /// The base after expanding meta ARGs with their defaults.
    pub base_expanded: String,
    /// The earlier stage this one builds on, if its base names one.
    pub base_stage: Option<usize>,
    /// `--platform` as written.
    pub platform: Option<String>,
    /// Index of the FROM instruction.
    pub from: usize,
    /// Indices of the stage's instructions, FROM included.
    pub instructions: Range<usize>,
}

impl Stage {
    pub fn is_scratch(&self) -> bool {
        self.base_stage.is_none() && self.base_expanded.eq_ignore_ascii_case("scratch")
    }
}

/// The model of a whole Dockerfile.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// ARGs before the first FROM.
    pub meta_args: Vec<ArgDecl>,
    /// Indices of the instructions before the first FROM (where meta ARGs live).
    pub meta_instructions: Range<usize>,
    pub stages: Vec<Stage>,
    /// Each lower-cased stage name with the first stage that has it: a name lookup is one
    /// hash, not a scan of the stages (a file of 80,000 stages named in as many COPYs).
    first_named: HashMap<String, usize>,
}

impl Model {
    pub fn build(df: &Dockerfile<'_>) -> Model {
        let mut model = Model::default();
        let mut meta_vars = Vars::new();
        for name in AUTOMATIC_PLATFORM_ARGS {
            meta_vars.insert(name.to_string(), String::new());
        }
        let mut stage_names: HashMap<String, usize> = HashMap::new();
        for (i, inst) in df.instructions.iter().enumerate() {
            match inst.keyword.as_str() {
                "ARG" if model.stages.is_empty() => {
                    for decl in arg_decls(inst, i) {
                        let value = decl
                            .default
                            .as_deref()
                            .map(|d| expand_word(d, &meta_vars, df.escape).map(|e| e.value).unwrap_or_default());
                        meta_vars.insert(decl.name.clone(), value.unwrap_or_default());
                        model.meta_args.push(decl);
                    }
                }
                "FROM" => {
                    if let Some(last) = model.stages.last_mut() {
                        last.instructions.end = i;
                    }
                    let stage = stage_from(inst, i, model.stages.len(), &meta_vars, &stage_names, df);
                    if let Some(name) = &stage.name {
                        stage_names.entry(name.clone()).or_insert(stage.index);
                    }
                    model.stages.push(stage);
                }
                _ => {}
            }
        }
        if let Some(last) = model.stages.last_mut() {
            last.instructions.end = df.instructions.len();
        }
        model.meta_instructions = 0..model.stages.first().map_or(df.instructions.len(), |s| s.from);
        model.first_named = stage_names;
        model
    }

    /// Whether stage `index` ends up in the image built by default (no `--target`): the
    /// last stage, or a stage it is built `FROM`, directly or through others.
    pub fn ships(&self, index: usize) -> bool {
        self.stages.last().is_some_and(|last| self.lineage(last.index).any(|s| s.index == index))
    }

    /// For each stage, whether it ships (see [`Model::ships`]); indexed by stage.
    pub fn shipping_stages(&self) -> Vec<bool> {
        let mut ships = vec![false; self.stages.len()];
        if let Some(last) = self.stages.last() {
            for s in self.lineage(last.index) {
                ships[s.index] = true;
            }
        }
        ships
    }

    /// Stage `index` followed by the in-file stages it builds on, nearest first.
    pub fn lineage(&self, index: usize) -> impl Iterator<Item = &Stage> {
        // base_stage always points to an earlier stage, so the walk ends.
        std::iter::successors(self.stages.get(index), move |s| {
            s.base_stage.filter(|&b| b < s.index).and_then(|b| self.stages.get(b))
        })
    }

    /// Whether `name` is the name of a stage defined before stage `before` (so `FROM name`
    /// or `COPY --from=name` means that stage, not an image).
    pub fn is_earlier_stage(&self, name: &str, before: usize) -> bool {
        self.first_named(name).is_some_and(|first| first < before)
    }

    /// The first stage named `name` (case-insensitive), anywhere in the file.
    pub fn first_named(&self, name: &str) -> Option<usize> {
        self.first_named.get(&name.to_ascii_lowercase()).copied()
    }

    /// The stage that contains instruction `index` (stages are in file order: a binary search).
    pub fn stage_of(&self, index: usize) -> Option<&Stage> {
        let after = self.stages.partition_point(|s| s.instructions.start <= index);
        after.checked_sub(1).and_then(|k| self.stages.get(k)).filter(|s| s.instructions.contains(&index))
    }

    /// A stage by `AS` name (case-insensitive) or by index number, as `COPY --from` and
    /// `FROM` resolve it; only stages before `before` count.
    pub fn find_stage(&self, reference: &str, before: usize) -> Option<&Stage> {
        let earlier = &self.stages[..before.min(self.stages.len())];
        self.first_named(reference)
            .and_then(|first| earlier.get(first))
            .or_else(|| reference.parse::<usize>().ok().and_then(|n| earlier.get(n)))
    }

    /// The variables a stage ends with: what `FROM <stage>` inherits.
    pub fn scope_after(&self, df: &Dockerfile<'_>, stage: &Stage, build_args: &Vars) -> Vars {
        self.scope_before(df, stage, stage.instructions.end, build_args)
    }

    fn scope_before(&self, df: &Dockerfile<'_>, stage: &Stage, index: usize, build_args: &Vars) -> Vars {
        let mut vars = Vars::new();
        let meta: HashMap<&str, &ArgDecl> = self.meta_args.iter().map(|a| (a.name.as_str(), a)).collect();
        for i in stage.instructions.start + 1..index {
            let inst = &df.instructions[i];
            match inst.keyword.as_str() {
                "ARG" => {
                    for decl in arg_decls(inst, i) {
                        let value = if let Some(v) = build_args.get(&decl.name) {
                            v.clone()
                        } else if let Some(d) = &decl.default {
                            expand_word(d, &vars, df.escape).map(|e| e.value).unwrap_or_default()
                        } else if let Some(m) = meta.get(decl.name.as_str()).and_then(|m| m.default.as_ref()) {
                            m.clone()
                        } else if AUTOMATIC_PLATFORM_ARGS.contains(&decl.name.as_str()) {
                            String::new()
                        } else {
                            continue;
                        };
                        vars.insert(decl.name, value);
                    }
                }
                "ENV" => {
                    // All values of one ENV expand against the scope before it.
                    let values: Vec<(String, String)> = env_pairs(inst)
                        .into_iter()
                        .map(|(name, raw)| {
                            (name, expand_word(&raw, &vars, df.escape).map(|e| e.value).unwrap_or_default())
                        })
                        .collect();
                    vars.extend(values);
                }
                _ => {}
            }
        }
        vars
    }
}

impl Model {
    /// The names an ARG or ENV defines in stage `stage` before instruction `before` (exclusive;
    /// the stage's end for all of it) and in the in-file stages that stage builds on (their ARGs
    /// and ENV carry over), in the order they are defined, each once. ARGs count whether or not
    /// they have a value: that is what BuildKit's UndefinedVar check compares against. Meta
    /// ARGs are not included: inside a stage they need an `ARG NAME` of their own.
    pub fn names_defined_in(&self, df: &Dockerfile<'_>, stage: usize, before: usize) -> Vec<String> {
        let Some(stage) = self.stages.get(stage) else {
            return Vec::new();
        };
        let index = before;
        let mut chain: Vec<&Stage> = self.lineage(stage.index).collect();
        chain.reverse();
        let mut names: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for s in chain {
            let end = if s.index == stage.index { index } else { s.instructions.end };
            for i in s.instructions.start + 1..end.min(df.instructions.len()) {
                let inst = &df.instructions[i];
                let defined: Vec<String> = match inst.keyword.as_str() {
                    "ARG" => arg_decls(inst, i).into_iter().map(|d| d.name).collect(),
                    "ENV" => env_pairs(inst).into_iter().map(|(name, _)| name).collect(),
                    _ => continue,
                };
                for name in defined {
                    if seen.insert(name.clone()) {
                        names.push(name);
                    }
                }
            }
        }
        names
    }
}

/// The ARG declarations of one `ARG` instruction (`ARG a b=1`).
pub fn arg_decls(inst: &Instruction, index: usize) -> Vec<ArgDecl> {
    inst.args
        .iter()
        .map(|w| {
            let (name, default) = match w.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (w.clone(), None),
            };
            ArgDecl { name, default, instruction: index }
        })
        .collect()
}

/// The (name, raw value) pairs of an ENV or LABEL instruction, in BuildKit's node form.
pub fn env_pairs(inst: &Instruction) -> Vec<(String, String)> {
    inst.args.chunks(3).filter(|c| c.len() >= 2).map(|c| (c[0].clone(), c[1].clone())).collect()
}

fn stage_from(
    inst: &Instruction,
    index: usize,
    stage_index: usize,
    meta_vars: &Vars,
    stage_names: &HashMap<String, usize>,
    df: &Dockerfile<'_>,
) -> Stage {
    // The typed FROM; BuildKit's first word over its arguments when it has none (a file read
    // only at the parser package's level, where FROM may have any number of words).
    let (base, base_span, name_as_written, name_span) = match Command::parse(inst, df.text) {
        Ok(Command::From(from)) => {
            let name = from.stage_name.map(|w| (w.text, w.span));
            (from.image.text, from.image.span, name.clone().map(|n| n.0), name.map(|n| n.1))
        }
        _ => (inst.args.first().cloned().unwrap_or_default(), inst.args_span.clone(), None, None),
    };
    let base_expanded = expand_word(&base, meta_vars, df.escape).map(|e| e.value).unwrap_or_else(|_| base.clone());
    let base_stage = stage_names.get(&base_expanded.to_ascii_lowercase()).copied();
    Stage {
        index: stage_index,
        name: name_as_written.as_ref().map(|n| n.to_ascii_lowercase()),
        name_as_written,
        name_span,
        base,
        base_span,
        base_expanded,
        base_stage,
        platform: inst.flag("platform").and_then(|f| f.value()).map(str::to_string),
        from: index,
        instructions: index..index + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    #[test]
    fn stages_meta_args_and_scopes() {
        let text = "ARG GO=1.22\nARG BASE\nFROM --platform=$BUILDPLATFORM golang:${GO} AS Build\nARG GO\nENV GOPATH=/go P=$GOPATH/bin\nENV Q=$GOPATH/bin\nRUN go build\nFROM scratch\nCOPY --from=build /out /\n";
        let df = parse(text).unwrap();
        let m = Model::build(&df);
        assert_eq!(m.meta_args.len(), 2);
        assert_eq!(m.stages.len(), 2);
        let build = &m.stages[0];
        assert_eq!(build.name.as_deref(), Some("build"));
        assert_eq!(build.name_as_written.as_deref(), Some("Build"));
        assert_eq!(build.base_expanded, "golang:1.22");
        assert_eq!(&text[build.base_span.clone()], "golang:${GO}");
        assert_eq!(build.platform.as_deref(), Some("$BUILDPLATFORM"));
        assert_eq!(build.instructions, 2..7);
        assert!(m.stages[1].is_scratch());
        assert_eq!(m.find_stage("BUILD", 1).map(|s| s.index), Some(0));
        assert_eq!(m.find_stage("0", 1).map(|s| s.index), Some(0));
        assert!(m.find_stage("build", 0).is_none());
        let scope = m.scope_after(&df, build, &Vars::new());
        assert_eq!(scope.get("GO").map(String::as_str), Some("1.22"));
        // Values of one ENV see the scope before it, not each other.
        assert_eq!(scope.get("P").map(String::as_str), Some("/bin"));
        assert_eq!(scope.get("Q").map(String::as_str), Some("/go/bin"));
        let over = m.scope_after(&df, build, &[("GO".to_string(), "1.23".to_string())].into_iter().collect());
        assert_eq!(over.get("GO").map(String::as_str), Some("1.23"));
        assert_eq!(m.stage_of(8).map(|s| s.index), Some(1));
    }

    #[test]
    fn stages_that_ship_follow_the_base_chain_from_the_last() {
        let text = "ARG BASE=deps\nFROM alpine AS deps\nFROM golang AS build\nFROM ${BASE} AS runtime\nFROM runtime\n";
        let df = parse(text).unwrap();
        let m = Model::build(&df);
        assert_eq!(m.meta_instructions, 0..1);
        // The last stage builds on runtime, which builds on deps (through the meta ARG).
        assert_eq!(m.shipping_stages(), [true, false, true, true]);
        assert!(m.ships(0) && !m.ships(1) && m.ships(3));
        assert!(!m.ships(7));
        let lineage: Vec<usize> = m.lineage(3).map(|s| s.index).collect();
        assert_eq!(lineage, [3, 2, 0]);
        assert!(m.is_earlier_stage("BUILD", 2));
        assert!(!m.is_earlier_stage("build", 1));
        // `before` past the end means any stage.
        assert!(m.is_earlier_stage("runtime", 99));
    }

    #[test]
    fn names_defined_follow_stage_scope() {
        let text = "ARG META=1\nFROM alpine AS base\nARG A\nENV B=1 C=2\nFROM base AS app\nARG D=$A\nENV E=1\nFROM alpine\nENV F=1\n";
        let df = parse(text).unwrap();
        let m = Model::build(&df);
        assert_eq!(m.names_defined_in(&df, 0, 1), Vec::<String>::new());
        assert_eq!(m.names_defined_in(&df, 0, 3), ["A"]);
        // A stage built on an in-file stage sees all of it, then its own earlier lines.
        assert_eq!(m.names_defined_in(&df, 1, 6), ["A", "B", "C", "D"]);
        // Another stage starts empty; meta ARGs are never in a stage's scope on their own.
        assert_eq!(m.names_defined_in(&df, 2, 8), Vec::<String>::new());
        // The whole of a stage: up to its end.
        assert_eq!(m.names_defined_in(&df, 1, m.stages[1].instructions.end), ["A", "B", "C", "D", "E"]);
        assert!(m.names_defined_in(&df, 9, 0).is_empty());
    }

    #[test]
    fn no_stage_ships_without_a_from_and_meta_range_covers_all() {
        let df = crate::syntax::read_lines("ARG A\nARG B\n").unwrap();
        let m = Model::build(&df);
        assert_eq!(m.meta_instructions, 0..2);
        assert!(m.shipping_stages().is_empty());
        assert!(!m.ships(0));
    }

    #[test]
    fn stages_after_an_unreadable_heredoc_keep_their_spans() {
        let text = "FROM alpine AS a\nRUN cat > /f <<EOF\nx\nEOF\nFROM  debian:12  AS Second\n";
        let df = parse(text).unwrap();
        let m = Model::build(&df);
        let second = &m.stages[1];
        assert_eq!(&text[second.base_span.clone()], "debian:12");
        assert_eq!(second.name_span.clone().map(|s| &text[s]), Some("Second"));
        assert_eq!(second.name.as_deref(), Some("second"));
    }

    #[test]
    fn base_can_name_an_earlier_stage() {
        let df = parse("FROM alpine AS base\nFROM base AS app\nFROM BASE\n").unwrap();
        let m = Model::build(&df);
        assert_eq!(m.stages[1].base_stage, Some(0));
        assert_eq!(m.stages[2].base_stage, Some(0));
        assert!(!m.stages[0].is_scratch());
    }
}
