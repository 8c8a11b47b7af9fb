//! Building a Dockerfile: the stages the target needs, each folded instruction by instruction
//! ([`crate::model::state`]); filesystem steps looked up in the step cache by key, run in the
//! sandbox when missing, their upper directory turned into a layer and kept as a snapshot.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::copy::{CopyItem, CopyTask, Source};
use super::diff::{self, DiffOptions, LayerCompression};
use super::extract::{self, ExtractOptions};
use super::sandbox::{self, NetworkMode, Spec, StepMount, Task};
use super::store::{chain_id, CacheEntry, CachedLayer, Store, StoreError};
use super::view::ChainView;
use crate::context::{Dockerignore, IgnoreFile};
use crate::image::spec::{self, Descriptor, Digest, Platform};
use crate::image::{Image, ImageError, ImageRef, OpenOptions};
use crate::model::expand::Vars;
use crate::model::instruction::{Command, CommandLine, MountKind, Network};
use crate::model::state::{ConfigState, Effect, FoldInputs, HealthcheckConfig, StageState};
use crate::model::Model;
use crate::syntax::{self, Span};

/// What to build and how.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    pub target: Option<String>,
    pub build_args: Vars,
    /// `--secret id=ID,src=PATH`.
    pub secrets: BTreeMap<String, PathBuf>,
    pub network: NetworkMode,
    pub no_cache: bool,
    /// Names for the image in the store (`-t`).
    pub tags: Vec<String>,
    pub source_date_epoch: Option<i64>,
    pub compression: LayerCompression,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{message}")]
    Dockerfile { message: String, span: Span },
    #[error("{instruction} failed with exit code {code}")]
    StepFailed { instruction: String, code: i32, span: Span, tail: Vec<String> },
    #[error("setting up {instruction}: {message}")]
    Sandbox { instruction: String, message: String, span: Span },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Image(#[from] ImageError),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("{message}")]
    Layer { message: String },
    #[error("interrupted")]
    Interrupted,
}

impl BuildError {
    /// The Dockerfile span the error is about, if any.
    pub fn span(&self) -> Option<&Span> {
        match self {
            BuildError::Dockerfile { span, .. }
            | BuildError::StepFailed { span, .. }
            | BuildError::Sandbox { span, .. } => Some(span),
            _ => None,
        }
    }
}

type Result<T> = std::result::Result<T, BuildError>;

fn at(message: impl Into<String>, span: &Span) -> BuildError {
    BuildError::Dockerfile { message: message.into(), span: span.clone() }
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BuildError {
    let what = what.into();
    move |source| BuildError::Io { what, source }
}

/// A layer of the image being built.
#[derive(Debug, Clone)]
pub struct BuiltLayer {
    pub layer: CachedLayer,
    pub chain: Digest,
}

/// One step as it happened, for the report.
#[derive(Debug, Clone)]
pub struct StepReport {
    pub stage: usize,
    pub stage_name: Option<String>,
    /// Index in the Dockerfile's instructions.
    pub instruction: usize,
    pub line: usize,
    pub text: String,
    pub cached: bool,
    pub seconds: f64,
    /// Index of the layer it made in the final image's layers (for the target stage).
    pub layer: Option<usize>,
    pub layer_size: Option<u64>,
}

/// What a stage ended with.
#[derive(Debug, Clone)]
struct StageResult {
    layers: Vec<BuiltLayer>,
    state: StageState,
    key: String,
    history: Vec<serde_json::Value>,
    /// The base image's config JSON fields other than `config`, `rootfs`, `history`.
    base_other: serde_json::Map<String, serde_json::Value>,
    /// Layers the base image (not the Dockerfile) contributed.
    base_layers: usize,
    /// For each layer: the instruction that made it (None for base image layers).
    origins: Vec<Option<usize>>,
}

/// The built image, named in the store.
#[derive(Debug, Clone)]
pub struct BuildResult {
    pub manifest: Descriptor,
    pub config_digest: Digest,
    pub layers: Vec<BuiltLayer>,
    pub base_layers: usize,
    /// For each layer of the image, the Dockerfile instruction (index) that made it.
    pub origins: Vec<Option<usize>>,
    pub steps: Vec<StepReport>,
    /// The name the image has in the store (the first `-t`, or a generated one).
    pub name: String,
    pub target_stage: usize,
}

/// Prints what the build does; the CLI gives a plain or a live implementation.
pub trait Progress {
    fn step_started(&mut self, _label: &str) {}
    fn output(&mut self, _line: &str) {}
    fn step_done(&mut self, _step: &StepReport) {}
}

pub struct Builder<'p> {
    pub store: Store,
    pub opts: BuildOptions,
    pub progress: &'p mut dyn Progress,
    rootless: bool,
}

struct Parsed<'t> {
    df: syntax::Dockerfile<'t>,
    model: Model,
    commands: Vec<Command>,
}

impl<'p> Builder<'p> {
    pub fn new(store: Store, opts: BuildOptions, progress: &'p mut dyn Progress) -> Self {
        let rootless = !nix::unistd::geteuid().is_root();
        Builder { store, opts, progress, rootless }
    }

    /// Reads, checks and builds the Dockerfile; the image is named in the store.
    pub fn build(&mut self, text: &str) -> Result<BuildResult> {
        let df = syntax::parse(text).map_err(|e| at(e.message, &e.span))?;
        let model = Model::build(&df);
        let commands = df
            .instructions
            .iter()
            .map(|i| Command::parse(i, text))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| at(e.message, &e.span))?;
        let parsed = Parsed { df, model, commands };
        if parsed.model.stages.is_empty() {
            return Err(at("the Dockerfile has no FROM", &(0..0)));
        }
        let target = match &self.opts.target {
            None => parsed.model.stages.len() - 1,
            Some(t) => parsed
                .model
                .find_stage(t, usize::MAX)
                .map(|s| s.index)
                .ok_or_else(|| at(format!("target stage {t:?} could not be found"), &(0..0)))?,
        };
        let inputs = self.fold_inputs(&parsed);
        let needed = needed_stages(&parsed, target);
        let mut results: HashMap<usize, StageResult> = HashMap::new();
        let mut steps = Vec::new();
        for stage in needed {
            let r = self.build_stage(&parsed, stage, &inputs, &results, &mut steps)?;
            results.insert(stage, r);
        }
        let result = results.remove(&target).expect("target stage built");
        self.finish(&parsed, target, result, steps)
    }

    fn fold_inputs(&self, p: &Parsed<'_>) -> FoldInputs {
        let mut inputs = FoldInputs::new(p.df.escape);
        let mut meta = Vars::new();
        let platform = Platform::host();
        for (k, v) in [
            ("TARGETPLATFORM", format!("{}/{}", platform.os, platform.architecture)),
            ("TARGETOS", platform.os.clone()),
            ("TARGETARCH", platform.architecture.clone()),
            ("TARGETVARIANT", platform.variant.clone().unwrap_or_default()),
            ("BUILDPLATFORM", format!("{}/{}", platform.os, platform.architecture)),
            ("BUILDOS", platform.os.clone()),
            ("BUILDARCH", platform.architecture.clone()),
            ("BUILDVARIANT", platform.variant.clone().unwrap_or_default()),
        ] {
            meta.insert(k.to_string(), v);
        }
        for a in &p.model.meta_args {
            let value = match self.opts.build_args.get(&a.name) {
                Some(v) => v.clone(),
                None => match &a.default {
                    Some(d) => crate::model::expand_word(d, &meta, p.df.escape).map(|e| e.value).unwrap_or_default(),
                    None => continue,
                },
            };
            meta.insert(a.name.clone(), value);
        }
        inputs.meta_args = meta;
        inputs.build_args = self.opts.build_args.clone();
        inputs
    }

    fn build_stage(
        &mut self,
        p: &Parsed<'_>,
        index: usize,
        inputs: &FoldInputs,
        done: &HashMap<usize, StageResult>,
        steps: &mut Vec<StepReport>,
    ) -> Result<StageResult> {
        let stage = &p.model.stages[index];
        let from_inst = &p.df.instructions[stage.from];
        let base_name = crate::model::expand_word(&stage.base, &inputs.meta_args, p.df.escape)
            .map(|e| e.value)
            .map_err(|e| at(e.to_string(), &stage.base_span))?;
        let mut result = match stage.base_stage.and_then(|b| done.get(&b)) {
            Some(parent) => StageResult {
                state: StageState::from_stage(&parent.state),
                origins: parent.origins.clone(),
                ..parent.clone()
            },
            None if base_name.eq_ignore_ascii_case("scratch") => StageResult {
                layers: Vec::new(),
                state: StageState::from_base(None),
                key: "scratch".to_string(),
                history: Vec::new(),
                base_other: serde_json::Map::new(),
                base_layers: 0,
                origins: Vec::new(),
            },
            None => self.base_image(&base_name, &stage.base_span)?,
        };
        let label_of = |i: usize| {
            let name = stage.name_as_written.clone().unwrap_or_else(|| format!("stage-{index}"));
            let n = i - stage.from;
            let total = stage.instructions.len() - 1;
            format!("[{name} {n}/{total}]")
        };
        self.progress.step_started(&format!("{} FROM {base_name}", label_of(stage.from)));
        let _ = from_inst;
        let mut onbuild_done = false;
        for i in stage.instructions.clone().skip(1) {
            if !onbuild_done {
                onbuild_done = true;
                self.run_onbuild(p, index, i, inputs, done, &mut result, steps)?;
            }
            let inst = &p.df.instructions[i];
            let cmd = &p.commands[i];
            let label = format!("{} {}", label_of(i), one_line(inst.source(p.df.text)));
            self.step(p, index, i, cmd, &label, inputs, done, &mut result, steps)?;
        }
        Ok(result)
    }

    /// ONBUILD triggers of the base image run first in a stage built on it.
    #[allow(clippy::too_many_arguments)]
    fn run_onbuild(
        &mut self,
        p: &Parsed<'_>,
        stage: usize,
        first: usize,
        inputs: &FoldInputs,
        done: &HashMap<usize, StageResult>,
        result: &mut StageResult,
        steps: &mut Vec<StepReport>,
    ) -> Result<()> {
        let triggers = std::mem::take(&mut result.state.config.onbuild);
        for trigger in triggers {
            let text = format!("FROM scratch\n{trigger}\n");
            let df = syntax::parse(&text).map_err(|e| at(format!("ONBUILD {trigger}: {}", e.message), &(0..0)))?;
            let cmd = Command::parse(&df.instructions[1], &text)
                .map_err(|e| at(format!("ONBUILD {trigger}: {}", e.message), &(0..0)))?;
            let label = format!("[onbuild] {trigger}");
            self.step(p, stage, first, &cmd, &label, inputs, done, result, steps)?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        p: &Parsed<'_>,
        stage: usize,
        i: usize,
        cmd: &Command,
        label: &str,
        inputs: &FoldInputs,
        done: &HashMap<usize, StageResult>,
        result: &mut StageResult,
        steps: &mut Vec<StepReport>,
    ) -> Result<()> {
        let inst = &p.df.instructions[i];
        let started = Instant::now();
        let before = result.state.clone();
        let effect = result.state.apply(cmd, inputs).map_err(|e| at(e.to_string(), &inst.span))?;
        let created_by = created_by(cmd, &before, inst.source(p.df.text));
        let mut report = StepReport {
            stage,
            stage_name: p.model.stages[stage].name.clone(),
            instruction: i,
            line: inst.start_line,
            text: label.to_string(),
            cached: false,
            seconds: 0.0,
            layer: None,
            layer_size: None,
        };
        match effect {
            Effect::None => return Ok(()),
            Effect::Config => {
                self.progress.step_started(label);
                result.history.push(history_entry(&created_by, true, self.opts.source_date_epoch));
            }
            Effect::Filesystem => {
                self.progress.step_started(label);
                let planned = self.plan(p, cmd, &before, &result.state, inst, done)?;
                let Some((task, key_material)) = planned else {
                    // WORKDIR / needs no directory.
                    result.history.push(history_entry(&created_by, true, self.opts.source_date_epoch));
                    return Ok(());
                };
                let key = hex(&Sha256::digest(format!("{}\n{}", result.key, key_material).as_bytes()));
                let cached = if self.opts.no_cache { None } else { self.store.cache_get(&key) };
                let entry = match cached {
                    Some(entry) => {
                        report.cached = true;
                        entry
                    }
                    None => {
                        let entry = self.execute(task, result, &label_text(inst, p.df.text), &inst.span)?;
                        self.store.cache_put(&key, &entry)?;
                        entry
                    }
                };
                result.key = key;
                match entry.layer {
                    Some(layer) => {
                        let parent = result.layers.last().map(|l| l.chain.clone());
                        let chain = chain_id(parent.as_ref(), &layer.diff_id);
                        self.ensure_snapshot(&chain, &layer)?;
                        report.layer = Some(result.layers.len());
                        report.layer_size = Some(layer.content_bytes);
                        result.layers.push(BuiltLayer { layer, chain });
                        result.origins.push(Some(i));
                        result.history.push(history_entry(&created_by, false, self.opts.source_date_epoch));
                    }
                    None => result.history.push(history_entry(&created_by, true, self.opts.source_date_epoch)),
                }
            }
        }
        if effect != Effect::Config || !matches!(cmd, Command::Arg(_)) {
            report.seconds = started.elapsed().as_secs_f64();
            self.progress.step_done(&report);
            steps.push(report);
        }
        Ok(())
    }

    /// The sandbox task of a filesystem step and what its cache key covers; None when the
    /// step has nothing to do (WORKDIR /).
    fn plan(
        &mut self,
        p: &Parsed<'_>,
        cmd: &Command,
        before: &StageState,
        after: &StageState,
        inst: &syntax::Instruction<'_>,
        done: &HashMap<usize, StageResult>,
    ) -> Result<Option<(Task, String)>> {
        let esc = p.df.escape;
        match cmd {
            Command::Workdir(_) => {
                let wd = after.workdir().to_string();
                if wd == "/" {
                    return Ok(None);
                }
                let user = (!before.config.user.is_empty()).then(|| before.config.user.clone());
                let key = json!({"mkdir": wd, "user": user}).to_string();
                let task = CopyTask { dirs: vec![wd], items: Vec::new(), chown: None, chmod: None, dir_owner: user };
                Ok(Some((Task::Copy(task), key)))
            }
            Command::Run(run) => {
                let shell = before.shell();
                let argv = match (&run.command, run.lone_heredoc()) {
                    (CommandLine::Exec(v), _) => v.clone(),
                    (CommandLine::Shell(_), Some(doc)) => {
                        let body = if doc.chomp {
                            doc.content.lines().map(|l| l.trim_start_matches('\t')).collect::<Vec<_>>().join("\n")
                                + "\n"
                        } else {
                            doc.content.clone()
                        };
                        if body.starts_with("#!") {
                            return Err(at("a heredoc with a #! line is not supported yet", &inst.span));
                        }
                        shell.iter().cloned().chain(std::iter::once(body)).collect()
                    }
                    (CommandLine::Shell(_), None) => {
                        let script = run.shell_script().unwrap_or_default();
                        shell.iter().cloned().chain(std::iter::once(script)).collect()
                    }
                };
                let env: Vec<String> = before.run_env().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
                let mut mounts = Vec::new();
                let mut mount_keys = Vec::new();
                for m in &run.mounts {
                    let target = m.target.as_deref().map(|t| crate::model::state::join_path(before.workdir(), t));
                    match m.kind {
                        MountKind::Cache => {
                            let target = target.expect("cache mounts have a target");
                            let id = m.id.clone().unwrap_or_else(|| target.clone());
                            let dir = self.store.cache_mount(&id)?;
                            if let (Some(uid), Some(gid)) = (m.uid, m.gid) {
                                let _ = std::os::unix::fs::chown(&dir, Some(uid), Some(gid));
                            }
                            if let Some(mode) = m.mode {
                                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode));
                            }
                            mounts.push(StepMount { source: Some(dir), target, read_only: m.read_only });
                        }
                        MountKind::Tmpfs => {
                            mounts.push(StepMount { source: None, target: target.expect("target"), read_only: false })
                        }
                        MountKind::Secret => {
                            let id = m.id.clone().or_else(|| m.source.clone()).unwrap_or_default();
                            match self.opts.secrets.get(&id) {
                                Some(src) => {
                                    if let Some(target) = target {
                                        mounts.push(StepMount { source: Some(src.clone()), target, read_only: true });
                                    }
                                }
                                None if m.required => {
                                    return Err(at(
                                        format!("secret {id} not found (give it with --secret id={id},src=PATH)"),
                                        &m.span,
                                    ))
                                }
                                None => {}
                            }
                        }
                        MountKind::Bind => {
                            let target = target.expect("target");
                            let source = m.source.clone().unwrap_or_else(|| "/".to_string());
                            let (dir, key) = self.bind_source(p, m.from.as_deref(), &source, before, done, &m.span)?;
                            mount_keys.push(format!("{target}={key}"));
                            mounts.push(StepMount { source: Some(dir), target, read_only: true });
                        }
                        MountKind::Ssh => {
                            return Err(at("RUN --mount=type=ssh is not supported by imgopt's builder", &m.span))
                        }
                    }
                }
                let network = match run.network {
                    Some(Network::None) => NetworkMode::None,
                    Some(Network::Host) => NetworkMode::Host,
                    _ => self.opts.network,
                };
                let key = json!({
                    "run": argv, "env": env, "cwd": before.workdir(), "user": before.config.user,
                    "mounts": run.mounts.iter().map(|m| format!("{:?}:{:?}", m.kind, m.target)).collect::<Vec<_>>(),
                    "binds": mount_keys, "network": format!("{network:?}"),
                })
                .to_string();
                let task = Task::Run {
                    argv,
                    env,
                    cwd: before.workdir().to_string(),
                    user: before.config.user.clone(),
                    mounts,
                    network,
                };
                Ok(Some((task, key)))
            }
            Command::Copy(copy) => {
                let (task, key) = self.plan_copy(p, copy, before, inst, done, esc)?;
                Ok(Some((Task::Copy(task), key)))
            }
            _ => Ok(None),
        }
    }

    /// A bind mount's source, materialized as a host directory or file, and its content key.
    fn bind_source(
        &mut self,
        p: &Parsed<'_>,
        from: Option<&str>,
        source: &str,
        state: &StageState,
        done: &HashMap<usize, StageResult>,
        span: &Span,
    ) -> Result<(PathBuf, String)> {
        let view = match from {
            None => self.context_view(),
            Some(name) => self.stage_or_image_view(p, name, state, done, span)?,
        };
        let (_, found) =
            view.resolve(source, true).ok_or_else(|| at(format!("bind mount source {source} not found"), span))?;
        let key = tree_key(&found.host).map_err(io_err(found.host.display().to_string()))?;
        Ok((found.host, key))
    }

    fn context_view(&self) -> ChainView {
        ChainView::new(vec![self.opts.context.clone()])
    }

    /// The file system a `--from` names: an earlier stage, or an image.
    fn stage_or_image_view(
        &mut self,
        p: &Parsed<'_>,
        name: &str,
        state: &StageState,
        done: &HashMap<usize, StageResult>,
        span: &Span,
    ) -> Result<ChainView> {
        let name = state.expand(name, p.df.escape).map_err(|e| at(e.to_string(), span))?;
        if let Some(stage) = p.model.find_stage(&name, usize::MAX) {
            if let Some(r) = done.get(&stage.index) {
                return Ok(self.view_of(&r.layers));
            }
        }
        let image = self.base_image(&name, span)?;
        Ok(self.view_of(&image.layers))
    }

    fn view_of(&self, layers: &[BuiltLayer]) -> ChainView {
        ChainView::new(layers.iter().rev().map(|l| self.store.snapshot_dir(&l.chain)).collect())
    }

    fn plan_copy(
        &mut self,
        p: &Parsed<'_>,
        copy: &crate::model::instruction::Copy,
        state: &StageState,
        inst: &syntax::Instruction<'_>,
        done: &HashMap<usize, StageResult>,
        esc: char,
    ) -> Result<(CopyTask, String)> {
        let expand = |w: &str| state.expand(w, esc).map_err(|e| at(e.to_string(), &inst.span));
        let dest_raw = expand(&copy.dest.text)?;
        let dest_is_dir = dest_raw.ends_with('/') || copy.sources.len() > 1;
        let dest = crate::model::state::join_path(state.workdir(), &dest_raw);
        let (view, ignore) = match &copy.from {
            Some(from) => (self.stage_or_image_view(p, from, state, done, &inst.span)?, None),
            None => (self.context_view(), self.dockerignore()),
        };
        let excludes: Vec<Dockerignore> = copy
            .exclude
            .iter()
            .map(|e| Dockerignore::parse(e).map_err(|er| at(format!("--exclude={e}: {er:?}"), &inst.span)))
            .collect::<Result<_>>()?;
        let target_view = self.view_of(&self.current_layers_hint());
        let _ = target_view;
        let mut items: Vec<CopyItem> = Vec::new();
        let mut key = Sha256::new();
        let add_file = |items: &mut Vec<CopyItem>, host: PathBuf, dest: String, key: &mut Sha256| -> Result<()> {
            hash_entry(key, &host, &dest).map_err(io_err(host.display().to_string()))?;
            items.push(CopyItem { source: Source::Host(host), dest });
            Ok(())
        };
        for src in &copy.sources {
            if let Some(doc) = copy.heredoc_source(src) {
                let content = if doc.expand { expand(&doc.content)? } else { doc.content.clone() };
                let target =
                    if dest_is_dir { format!("{}/{}", dest.trim_end_matches('/'), doc.name) } else { dest.clone() };
                key.update(format!("heredoc {target} {content}\n").as_bytes());
                items.push(CopyItem {
                    source: Source::Inline { content: content.into_bytes(), mode: 0o644 },
                    dest: target,
                });
                continue;
            }
            let src_text = expand(&src.text)?;
            if copy.is_add && (src_text.starts_with("http://") || src_text.starts_with("https://")) {
                return Err(at(
                    format!("ADD of a URL ({src_text}) is not supported by imgopt's builder yet"),
                    &src.span,
                ));
            }
            if copy.is_add && (src_text.starts_with("git@") || src_text.ends_with(".git")) {
                return Err(at("ADD of a git repository is not supported by imgopt's builder", &src.span));
            }
            let matches = expand_sources(&view, &src_text);
            if matches.is_empty() {
                return Err(at(format!("{src_text}: no such file or directory in the build context"), &src.span));
            }
            let many = dest_is_dir || matches.len() > 1 || has_glob(&src_text);
            for (rel, found) in matches {
                let ignored = |path: &str| {
                    ignore.as_ref().is_some_and(|i| i.excludes(path)) || excludes.iter().any(|e| e.excludes(path))
                };
                if ignored(rel.trim_start_matches('/')) {
                    continue;
                }
                let base_dest = if copy.parents {
                    format!("{}/{}", dest.trim_end_matches('/'), rel.trim_start_matches('/'))
                } else if found.meta.is_dir() {
                    dest.clone()
                } else if many {
                    let name = rel.rsplit('/').next().unwrap_or(&rel).to_string();
                    format!("{}/{}", dest.trim_end_matches('/'), name)
                } else {
                    dest.clone()
                };
                if found.meta.is_dir() {
                    let mut stack = vec![(rel.clone(), base_dest.clone())];
                    if copy.parents {
                        add_file(&mut items, found.host.clone(), base_dest.clone(), &mut key)?;
                    }
                    while let Some((dir_rel, dir_dest)) = stack.pop() {
                        for (name, entry) in view.read_dir(&dir_rel) {
                            let child_rel = format!("{}/{}", dir_rel.trim_end_matches('/'), name);
                            if ignored(child_rel.trim_start_matches('/')) {
                                continue;
                            }
                            let child_dest = format!("{}/{}", dir_dest.trim_end_matches('/'), name);
                            add_file(&mut items, entry.host.clone(), child_dest.clone(), &mut key)?;
                            if entry.meta.is_dir() {
                                stack.push((child_rel, child_dest));
                            }
                        }
                    }
                } else if copy.is_add && copy.unpack != Some(false) && super::copy::is_archive(&found.host) {
                    hash_entry(&mut key, &found.host, &dest).map_err(io_err(found.host.display().to_string()))?;
                    items.push(CopyItem { source: Source::Archive(found.host.clone()), dest: dest.clone() });
                } else {
                    add_file(&mut items, found.host.clone(), base_dest, &mut key)?;
                }
            }
        }
        let chown = copy.chown.as_deref().map(expand).transpose()?;
        let chmod = match &copy.chmod {
            Some(m) => Some(
                u32::from_str_radix(&expand(m)?, 8)
                    .map_err(|_| at(format!("--chmod={m}: not an octal mode"), &inst.span))?,
            ),
            None => None,
        };
        let dirs = if dest_is_dir { vec![dest.clone()] } else { Vec::new() };
        let key_text = format!("copy {dest} {chown:?} {chmod:?} {}", hex(&key.finalize()));
        Ok((CopyTask { dirs, items, chown, chmod, dir_owner: None }, key_text))
    }

    fn current_layers_hint(&self) -> Vec<BuiltLayer> {
        Vec::new()
    }

    fn dockerignore(&self) -> Option<Dockerignore> {
        let path = crate::context::ignore_file_path(&self.opts.dockerfile, &self.opts.context)?;
        IgnoreFile::load(&path).rules.ok()
    }

    /// Runs a planned task in the sandbox over the stage's chain and turns the result into a layer.
    fn execute(&mut self, task: Task, result: &StageResult, what: &str, span: &Span) -> Result<CacheEntry> {
        let tmp = self.store.temp_dir("step")?;
        let (upper, work, merged) = (tmp.path.join("upper"), tmp.path.join("work"), tmp.path.join("merged"));
        for d in [&upper, &work, &merged] {
            std::fs::create_dir(d).map_err(io_err(d.display().to_string()))?;
        }
        let hosts = tmp.path.join("hosts");
        std::fs::write(&hosts, "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n")
            .map_err(io_err(hosts.display().to_string()))?;
        let resolv = tmp.path.join("resolv.conf");
        let resolv_file = match std::fs::read("/etc/resolv.conf") {
            Ok(bytes) => {
                std::fs::write(&resolv, bytes).map_err(io_err(resolv.display().to_string()))?;
                Some(resolv)
            }
            Err(_) => None,
        };
        let lowers: Vec<String> = result.layers.iter().rev().map(|l| Store::snapshot_name(&l.chain)).collect();
        let spec = Spec {
            store: self.store.root.clone(),
            lowers: lowers.clone(),
            upper: upper.clone(),
            work,
            merged,
            userxattr: self.rootless,
            hostname: "buildkitsandbox".to_string(),
            network: match &task {
                Task::Run { network, .. } => *network,
                Task::Copy(_) => NetworkMode::Host,
            },
            hosts_file: hosts,
            resolv_file,
            task,
        };
        let progress = &mut *self.progress;
        let outcome = sandbox::run_step(&spec, &mut |line| progress.output(line))
            .map_err(io_err("starting the build sandbox"))?;
        if sandbox::interrupted() {
            return Err(BuildError::Interrupted);
        }
        if let Some(message) = outcome.setup_error {
            return Err(BuildError::Sandbox { instruction: what.to_string(), message, span: span.clone() });
        }
        if outcome.exit_code != 0 {
            return Err(BuildError::StepFailed {
                instruction: what.to_string(),
                code: outcome.exit_code,
                span: span.clone(),
                tail: outcome.tail,
            });
        }
        let lower_dirs: Vec<PathBuf> = lowers.iter().map(|l| self.store.root.join(l)).collect();
        let lower_refs: Vec<&Path> = lower_dirs.iter().map(PathBuf::as_path).collect();
        let blob_tmp = tmp.path.join("blob");
        let mut out = std::fs::File::create(&blob_tmp).map_err(io_err(blob_tmp.display().to_string()))?;
        let diff_opts = DiffOptions {
            compression: self.opts.compression,
            source_date_epoch: self.opts.source_date_epoch,
            ..DiffOptions::default()
        };
        let written = diff::write_layer(&upper, &lower_refs, &mut out, &diff_opts)
            .map_err(|e| BuildError::Layer { message: format!("{what}: {e}") })?;
        drop(out);
        if written.empty {
            return Ok(CacheEntry { layer: None });
        }
        self.store.adopt_blob(&blob_tmp, &written.digest)?;
        let layer = CachedLayer {
            diff_id: written.diff_id,
            digest: written.digest,
            size: written.size,
            media_type: written.media_type.to_string(),
            content_bytes: written.content_bytes,
        };
        let parent = result.layers.last().map(|l| l.chain.clone());
        let chain = chain_id(parent.as_ref(), &layer.diff_id);
        if !self.store.has_snapshot(&chain) {
            self.store.adopt_snapshot(&upper, &chain)?;
        }
        Ok(CacheEntry { layer: Some(layer) })
    }

    /// Makes sure the snapshot of `chain` exists, unpacking the layer's blob if it does not.
    fn ensure_snapshot(&mut self, chain: &Digest, layer: &CachedLayer) -> Result<()> {
        if self.store.has_snapshot(chain) {
            return Ok(());
        }
        let tmp = self.store.temp_dir("unpack")?;
        let dest = tmp.path.join("fs");
        std::fs::create_dir(&dest).map_err(io_err(dest.display().to_string()))?;
        let blob = self.store.blob_path(&layer.digest);
        let file = std::fs::File::open(&blob).map_err(io_err(blob.display().to_string()))?;
        let reader = extract::decompressed(std::io::BufReader::new(file))
            .map_err(|e| BuildError::Layer { message: format!("layer {}: {e}", layer.digest) })?;
        let opts = ExtractOptions::for_current_user();
        extract::extract_layer(reader, &dest, &opts)
            .map_err(|e| BuildError::Layer { message: format!("unpacking layer {}: {e}", layer.digest) })?;
        self.store.adopt_snapshot(&dest, chain)?;
        Ok(())
    }

    /// A base image from the store, pulled from its registry when the store lacks it.
    fn base_image(&mut self, name: &str, span: &Span) -> Result<StageResult> {
        let image = self.open_image(name, span)?;
        let config_json: serde_json::Value =
            serde_json::to_value(&image.config).map_err(|e| BuildError::Layer { message: e.to_string() })?;
        let mut layers = Vec::new();
        let mut parent: Option<Digest> = None;
        for blob in &image.layers {
            let digest = blob
                .digest
                .clone()
                .ok_or_else(|| BuildError::Layer { message: format!("{name}: a layer has no digest") })?;
            let layer = CachedLayer {
                diff_id: blob.diff_id.clone(),
                digest,
                size: blob.size,
                media_type: blob.media_type.clone().unwrap_or_else(|| spec::MEDIA_OCI_LAYER_GZIP.to_string()),
                content_bytes: 0,
            };
            let chain = chain_id(parent.as_ref(), &layer.diff_id);
            self.ensure_snapshot(&chain, &layer)?;
            parent = Some(chain.clone());
            layers.push(BuiltLayer { layer, chain });
        }
        let base_state = config_state(config_json.get("config"));
        let mut base_other = config_json.as_object().cloned().unwrap_or_default();
        let history = base_other.remove("history").and_then(|h| h.as_array().cloned()).unwrap_or_default();
        for k in ["config", "rootfs", "created"] {
            base_other.remove(k);
        }
        let key = format!("image {}", image.config_digest.as_ref().map(|d| d.to_string()).unwrap_or_default());
        let n = layers.len();
        Ok(StageResult {
            layers,
            state: StageState::from_base(Some(base_state)),
            key,
            history,
            base_other,
            base_layers: n,
            origins: vec![None; n],
        })
    }

    fn open_image(&mut self, name: &str, span: &Span) -> Result<Image> {
        let canonical = super::store::canonical_name(name).map_err(|m| at(format!("{name}: {m}"), span))?;
        let found = match self.store.lookup(name)? {
            Some(d) => Some(d),
            None => self.store.lookup(&canonical)?,
        };
        let tag = match found {
            Some(d) => d.annotations.get(spec::ANNOTATION_REF_NAME).cloned().unwrap_or(canonical),
            None => {
                let reference = crate::image::name::ImageName::parse(name).map_err(|e| at(e.to_string(), span))?;
                self.progress.output(&format!("pulling {canonical}"));
                let digest = crate::image::registry::pull(&reference, &Platform::host(), &self.store.root)?;
                let bytes = std::fs::read(self.store.blob_path(&digest)).map_err(io_err(digest.to_string()))?;
                self.store.tag(
                    &canonical,
                    Descriptor {
                        media_type: spec::MEDIA_OCI_MANIFEST.to_string(),
                        digest,
                        size: bytes.len() as u64,
                        platform: None,
                        annotations: Default::default(),
                        other: Default::default(),
                    },
                )?;
                canonical
            }
        };
        let reference = ImageRef::OciDir { dir: self.store.root.clone(), tag: Some(tag) };
        Ok(Image::open(&reference, &OpenOptions::default())?)
    }

    fn finish(
        &mut self,
        p: &Parsed<'_>,
        target: usize,
        result: StageResult,
        steps: Vec<StepReport>,
    ) -> Result<BuildResult> {
        let platform = Platform::host();
        let created = match self.opts.source_date_epoch {
            Some(t) => rfc3339(t),
            None => rfc3339(now()),
        };
        let mut config = result.base_other.clone();
        config.insert("architecture".into(), json!(platform.architecture));
        config.insert("os".into(), json!(platform.os));
        if let Some(v) = &platform.variant {
            config.insert("variant".into(), json!(v));
        }
        config.insert("created".into(), json!(created));
        config.insert("config".into(), config_json(&result.state.config));
        config.insert(
            "rootfs".into(),
            json!({"type": "layers", "diff_ids": result.layers.iter().map(|l| l.layer.diff_id.to_string()).collect::<Vec<_>>()}),
        );
        config.insert("history".into(), json!(result.history));
        let config_bytes = serde_json::to_vec(&serde_json::Value::Object(config)).expect("config serializes");
        let config_digest = self.store.put_blob(&config_bytes)?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": spec::MEDIA_OCI_MANIFEST,
            "config": {"mediaType": spec::MEDIA_OCI_CONFIG, "digest": config_digest.to_string(), "size": config_bytes.len()},
            "layers": result.layers.iter().map(|l| json!({
                "mediaType": l.layer.media_type, "digest": l.layer.digest.to_string(), "size": l.layer.size,
            })).collect::<Vec<_>>(),
        });
        let manifest_bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
        let manifest_digest = self.store.put_blob(&manifest_bytes)?;
        let descriptor = Descriptor {
            media_type: spec::MEDIA_OCI_MANIFEST.to_string(),
            digest: manifest_digest.clone(),
            size: manifest_bytes.len() as u64,
            platform: Some(platform),
            annotations: Default::default(),
            other: Default::default(),
        };
        let mut names: Vec<String> = self
            .opts
            .tags
            .iter()
            .map(|t| super::store::canonical_name(t).map_err(|m| at(format!("-t {t}: {m}"), &(0..0))))
            .collect::<Result<_>>()?;
        if names.is_empty() {
            names.push(format!("imgopt.local/build:{}", &manifest_digest.hex()[..12]));
        }
        for n in &names {
            self.store.tag(n, descriptor.clone())?;
        }
        let _ = p;
        Ok(BuildResult {
            manifest: descriptor,
            config_digest,
            layers: result.layers,
            base_layers: result.base_layers,
            origins: result.origins,
            steps,
            name: names[0].clone(),
            target_stage: target,
        })
    }
}

/// The stages building `target` needs, in order: its base chain, and the stages its
/// `COPY --from` and `RUN --mount=from` name.
fn needed_stages(p: &Parsed<'_>, target: usize) -> Vec<usize> {
    let mut need = vec![false; p.model.stages.len()];
    let mut todo = vec![target];
    while let Some(s) = todo.pop() {
        if need[s] {
            continue;
        }
        need[s] = true;
        let stage = &p.model.stages[s];
        if let Some(b) = stage.base_stage {
            todo.push(b);
        }
        for i in stage.instructions.clone() {
            let froms: Vec<&str> = match &p.commands[i] {
                Command::Copy(c) => c.from.iter().map(String::as_str).collect(),
                Command::Run(r) => r.mounts.iter().filter_map(|m| m.from.as_deref()).collect(),
                _ => Vec::new(),
            };
            for f in froms {
                if let Some(dep) = p.model.find_stage(f, s) {
                    todo.push(dep.index);
                }
            }
        }
    }
    (0..need.len()).filter(|&i| need[i]).collect()
}

/// The sources a COPY word names in `view`: a path, or a glob over path components.
fn expand_sources(view: &ChainView, pattern: &str) -> Vec<(String, super::view::Found)> {
    let clean = crate::model::state::join_path("/", pattern);
    if !has_glob(pattern) {
        return view.resolve(&clean, true).map(|(p, f)| vec![(p, f)]).unwrap_or_default();
    }
    let comps: Vec<&str> = clean.split('/').filter(|c| !c.is_empty()).collect();
    let mut current = vec!["/".to_string()];
    for (i, comp) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let mut next = Vec::new();
        for dir in &current {
            if has_glob(comp) {
                let Ok(glob) = globset::GlobBuilder::new(comp).literal_separator(true).build() else { continue };
                let m = glob.compile_matcher();
                for (name, found) in view.read_dir(dir) {
                    if m.is_match(&name) && (last || found.meta.is_dir()) {
                        next.push(format!("{}/{}", dir.trim_end_matches('/'), name));
                    }
                }
            } else {
                next.push(format!("{}/{}", dir.trim_end_matches('/'), comp));
            }
        }
        current = next;
    }
    current.into_iter().filter_map(|p| view.resolve(&p, true)).collect()
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Adds one copied entry to a cache key: destination, type, mode, owner, size, content hash.
fn hash_entry(key: &mut Sha256, host: &Path, dest: &str) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(host)?;
    key.update(format!("{dest}\0{:o}\0{}\0{}\0", meta.mode(), meta.uid(), meta.gid()).as_bytes());
    if meta.file_type().is_symlink() {
        key.update(std::fs::read_link(host)?.to_string_lossy().as_bytes());
    } else if meta.is_file() {
        let mut f = std::fs::File::open(host)?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            key.update(&buf[..n]);
        }
    }
    key.update(b"\n");
    Ok(())
}

/// A content key of a file or directory tree (for bind mounts).
fn tree_key(path: &Path) -> std::io::Result<String> {
    let mut key = Sha256::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let rel = p.strip_prefix(path).unwrap_or(&p).to_string_lossy().into_owned();
        hash_entry(&mut key, &p, &rel)?;
        if std::fs::symlink_metadata(&p)?.is_dir() {
            let mut children: Vec<PathBuf> = std::fs::read_dir(&p)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
            children.sort();
            children.reverse();
            stack.extend(children);
        }
    }
    Ok(hex(&key.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn one_line(s: &str) -> String {
    let first: String = s.lines().next().unwrap_or("").chars().take(100).collect();
    if s.lines().nth(1).is_some() || first.len() < s.lines().next().unwrap_or("").len() {
        format!("{first} …")
    } else {
        first
    }
}

fn label_text(inst: &syntax::Instruction<'_>, text: &str) -> String {
    format!("Dockerfile:{} {}", inst.start_line, one_line(inst.source(text)))
}

/// `created_by` as BuildKit writes it.
fn created_by(cmd: &Command, before: &StageState, source: &str) -> String {
    match cmd {
        Command::Run(run) => {
            let argv = match &run.command {
                CommandLine::Exec(v) => v.join(" "),
                CommandLine::Shell(s) => {
                    let mut v = before.shell();
                    v.push(run.shell_script().unwrap_or_else(|| s.clone()));
                    v.join(" ")
                }
            };
            format!("RUN {argv} # buildkit")
        }
        Command::Copy(_) => format!("{} # buildkit", one_logical(source)),
        Command::Workdir(_) => format!("WORKDIR {}", before_after_workdir(before, cmd)),
        _ => one_logical(source),
    }
}

fn before_after_workdir(before: &StageState, cmd: &Command) -> String {
    match cmd {
        Command::Workdir(w) => crate::model::state::join_path(before.workdir(), &w.text),
        _ => String::new(),
    }
}

fn one_logical(source: &str) -> String {
    source.lines().map(|l| l.trim_end_matches('\\').trim()).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

fn history_entry(created_by: &str, empty: bool, epoch: Option<i64>) -> serde_json::Value {
    let mut h = json!({
        "created": rfc3339(epoch.unwrap_or_else(now)),
        "created_by": created_by,
        "comment": "buildkit.dockerfile.v0",
    });
    if empty {
        h["empty_layer"] = json!(true);
    }
    h
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Seconds since the epoch as RFC 3339 in UTC.
pub fn rfc3339(t: i64) -> String {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// The Dockerfile-relevant fields of an image config's `config` object.
pub fn config_state(config: Option<&serde_json::Value>) -> ConfigState {
    let Some(c) = config else { return ConfigState::default() };
    let strings = |v: Option<&serde_json::Value>| -> Option<Vec<String>> {
        v.and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
    };
    let keys = |v: Option<&serde_json::Value>| -> Vec<String> {
        v.and_then(|v| v.as_object()).map(|o| o.keys().cloned().collect()).unwrap_or_default()
    };
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).unwrap_or_default().to_string();
    ConfigState {
        env: strings(c.get("Env"))
            .unwrap_or_default()
            .into_iter()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (e, String::new()),
            })
            .collect(),
        user: text(c.get("User")),
        workdir: text(c.get("WorkingDir")),
        cmd: strings(c.get("Cmd")),
        entrypoint: strings(c.get("Entrypoint")),
        shell: strings(c.get("Shell")),
        labels: c
            .get("Labels")
            .and_then(|l| l.as_object())
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
            .unwrap_or_default(),
        exposed_ports: keys(c.get("ExposedPorts")),
        volumes: keys(c.get("Volumes")),
        stop_signal: c.get("StopSignal").and_then(|s| s.as_str()).map(str::to_string),
        healthcheck: c
            .get("Healthcheck")
            .map(|h| HealthcheckConfig { test: strings(h.get("Test")).unwrap_or_default(), ..Default::default() }),
        onbuild: strings(c.get("OnBuild")).unwrap_or_default(),
    }
}

/// The image config's `config` object for a stage state.
pub fn config_json(c: &ConfigState) -> serde_json::Value {
    let mut o = serde_json::Map::new();
    if !c.user.is_empty() {
        o.insert("User".into(), json!(c.user));
    }
    if !c.exposed_ports.is_empty() {
        o.insert(
            "ExposedPorts".into(),
            json!(c.exposed_ports.iter().map(|p| (p.clone(), json!({}))).collect::<serde_json::Map<_, _>>()),
        );
    }
    o.insert("Env".into(), json!(c.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>()));
    if let Some(e) = &c.entrypoint {
        o.insert("Entrypoint".into(), json!(e));
    }
    if let Some(cmd) = &c.cmd {
        o.insert("Cmd".into(), json!(cmd));
    }
    if !c.volumes.is_empty() {
        o.insert(
            "Volumes".into(),
            json!(c.volumes.iter().map(|p| (p.clone(), json!({}))).collect::<serde_json::Map<_, _>>()),
        );
    }
    if !c.workdir.is_empty() {
        o.insert("WorkingDir".into(), json!(c.workdir));
    }
    if !c.labels.is_empty() {
        o.insert("Labels".into(), json!(c.labels));
    }
    if let Some(s) = &c.stop_signal {
        o.insert("StopSignal".into(), json!(s));
    }
    if let Some(s) = &c.shell {
        o.insert("Shell".into(), json!(s));
    }
    if let Some(h) = &c.healthcheck {
        let mut hc = serde_json::Map::new();
        hc.insert("Test".into(), json!(h.test));
        for (k, v) in [
            ("Interval", &h.interval),
            ("Timeout", &h.timeout),
            ("StartPeriod", &h.start_period),
            ("StartInterval", &h.start_interval),
        ] {
            if let Some(d) = v.as_deref().and_then(parse_duration_ns) {
                hc.insert(k.into(), json!(d));
            }
        }
        if let Some(r) = h.retries.as_deref().and_then(|r| r.parse::<i64>().ok()) {
            hc.insert("Retries".into(), json!(r));
        }
        o.insert("Healthcheck".into(), serde_json::Value::Object(hc));
    }
    if !c.onbuild.is_empty() {
        o.insert("OnBuild".into(), json!(c.onbuild));
    }
    serde_json::Value::Object(o)
}

/// Go's `time.ParseDuration` for the units HEALTHCHECK uses, in nanoseconds.
fn parse_duration_ns(s: &str) -> Option<i64> {
    let mut total: f64 = 0.0;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..n_end].parse().ok()?;
        rest = &rest[n_end..];
        let u_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = match &rest[..u_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * unit;
        rest = &rest[u_end..];
    }
    Some(total as i64)
}

/// A line of a step's output made safe for a terminal or a CI log: control characters
/// (ESC, CR, BEL...) shown as `\xNN` instead of acted on.
pub fn printable(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        if c.is_control() && c != '\t' {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_durations() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(parse_duration_ns("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_duration_ns("5s"), Some(5_000_000_000));
        assert_eq!(parse_duration_ns("x"), None);
    }

    #[test]
    fn config_round_trips_through_json() {
        let c = ConfigState {
            env: vec![("PATH".into(), "/bin".into())],
            user: "app".into(),
            workdir: "/w".into(),
            cmd: Some(vec!["sh".into()]),
            exposed_ports: vec!["80/tcp".into()],
            ..Default::default()
        };
        let back = config_state(Some(&config_json(&c)));
        assert_eq!(back, c);
    }
}
