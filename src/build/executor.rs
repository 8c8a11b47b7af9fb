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
use super::diff::{self, DiffOptions, IdMap, LayerCompression};
use super::extract::{self, ExtractOptions};
use super::sandbox::{self, NetworkMode, Spec, StepMount, Task};
use super::store::{chain_id, CacheEntry, CachedLayer, Store, StoreError};
use super::view::ChainView;
use crate::context::{Dockerignore, IgnoreFile};
use crate::image::spec::{self, Descriptor, Digest, History, ImageConfig, Platform, RootFs};
use crate::image::write::{LayerFile, NewImage};
use crate::image::{Image, ImageError, ImageRef, OpenOptions};
use crate::model::document::Document;
use crate::model::expand::Vars;
use crate::model::instruction::{Command, CommandLine, MountKind, Network};
use crate::model::state::{Effect, FoldInputs, StageState};
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
    /// How layers are compressed when the image leaves the store (`-o oci:`/`oci-archive:`,
    /// analyze); the store keeps the layers the build makes as plain tars.
    pub compression: LayerCompression,
    /// `-o`: where to write the image besides the store.
    pub output: Option<ImageRef>,
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

impl BuiltLayer {
    /// The layer's blob in `store`, as an image writer takes it.
    pub fn file(&self, store: &Store) -> LayerFile {
        LayerFile {
            path: store.blob_path(&self.layer.digest),
            descriptor: Descriptor {
                media_type: self.layer.media_type.clone(),
                digest: self.layer.digest.clone(),
                size: self.layer.size,
                platform: None,
                annotations: Default::default(),
                other: Default::default(),
            },
            diff_id: self.layer.diff_id.clone(),
        }
    }
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
    history: Vec<History>,
    /// The base image's config (its unknown fields are kept in the image built on it).
    base: ImageConfig,
    /// Layers the base image (not the Dockerfile) contributed.
    base_layers: usize,
    /// For each layer: the instruction that made it (None for base image layers).
    origins: Vec<Option<usize>>,
}

/// A stage built on its own thread: what it ended with and the steps it ran.
type StageOutcome = Result<(StageResult, Vec<StepReport>)>;

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
    progress: std::sync::Mutex<&'p mut (dyn Progress + Send)>,
    rootless: bool,
    /// Files the build makes on the host (downloads, heredoc scripts), removed at the end.
    scratch_dir: std::sync::Mutex<Option<super::store::TempDir>>,
    /// The `/etc/hosts` and `/etc/resolv.conf` every RUN gets, written once in `scratch_dir`.
    network_files: std::sync::Mutex<Option<(PathBuf, Option<PathBuf>)>>,
    /// Removes each step's work directories while the next step runs.
    reaper: super::store::Reaper,
}

struct Parsed<'d, 't> {
    df: &'d syntax::Dockerfile<'t>,
    model: &'d Model,
    commands: Vec<Command>,
}

impl<'p> Builder<'p> {
    pub fn new(store: Store, opts: BuildOptions, progress: &'p mut (dyn Progress + Send)) -> Self {
        let rootless = !nix::unistd::geteuid().is_root();
        Builder {
            store,
            opts,
            progress: std::sync::Mutex::new(progress),
            rootless,
            scratch_dir: Default::default(),
            network_files: Default::default(),
            reaper: Default::default(),
        }
    }

    fn progress(&self) -> std::sync::MutexGuard<'_, &'p mut (dyn Progress + Send)> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Builds the Dockerfile (as [`crate::model::document::Source::document`] loads it); the
    /// image is named in the store.
    pub fn build(&self, doc: &Document<'_>) -> Result<BuildResult> {
        let commands = doc
            .syntax
            .instructions
            .iter()
            .map(|i| Command::parse(i, doc.syntax.text))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| at(e.message, &e.span))?;
        let parsed = Parsed { df: &doc.syntax, model: &doc.model, commands };
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
        // Stages whose dependencies are built run together, each on its own thread.
        let mut pending: Vec<usize> = needed;
        while !pending.is_empty() {
            let ready: Vec<usize> = pending
                .iter()
                .copied()
                .filter(|&s| stage_deps(&parsed, s).iter().all(|d| results.contains_key(d)))
                .collect();
            if ready.is_empty() {
                return Err(at("the stages depend on each other in a cycle", &(0..0)));
            }
            pending.retain(|s| !ready.contains(s));
            let built: Vec<(usize, StageOutcome)> = std::thread::scope(|scope| {
                let handles: Vec<_> = ready
                    .iter()
                    .map(|&stage| {
                        let (parsed, inputs, results) = (&parsed, &inputs, &results);
                        scope.spawn(move || {
                            let mut steps = Vec::new();
                            let r = self.build_stage(parsed, stage, inputs, results, &mut steps);
                            (stage, r.map(|r| (r, steps)))
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().expect("a stage thread panicked")).collect()
            });
            for (stage, r) in built {
                let (r, stage_steps) = r?;
                steps.extend(stage_steps);
                results.insert(stage, r);
            }
        }
        let result = results.remove(&target).expect("target stage built");
        self.finish(&parsed, target, result, steps)
    }

    fn fold_inputs(&self, p: &Parsed<'_, '_>) -> FoldInputs {
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
        &self,
        p: &Parsed<'_, '_>,
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
                base: ImageConfig::default(),
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
        self.progress().step_started(&format!("{} FROM {base_name}", label_of(stage.from)));
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
        &self,
        p: &Parsed<'_, '_>,
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
        &self,
        p: &Parsed<'_, '_>,
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
        let created_by = created_by(cmd, &before, &result.state, inst.source(p.df.text));
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
                self.progress().step_started(label);
                result.history.push(history_entry(&created_by, true, self.opts.source_date_epoch));
            }
            Effect::Filesystem => {
                self.progress().step_started(label);
                let planned = self.plan(p, cmd, &before, &result.state, inst, done, &result.layers)?;
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
            self.progress().step_done(&report);
            steps.push(report);
        }
        Ok(())
    }

    /// The sandbox task of a filesystem step and what its cache key covers; None when the
    /// step has nothing to do (WORKDIR /).
    #[allow(clippy::too_many_arguments)]
    fn plan(
        &self,
        p: &Parsed<'_, '_>,
        cmd: &Command,
        before: &StageState,
        after: &StageState,
        inst: &syntax::Instruction,
        done: &HashMap<usize, StageResult>,
        current: &[BuiltLayer],
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
                let mut pipe_mounts = Vec::new();
                let argv = match (&run.command, run.lone_heredoc()) {
                    (CommandLine::Exec(v), _) => v.clone(),
                    (CommandLine::Shell(_), Some(doc)) => {
                        let body = if doc.chomp { chomped(&doc.content) } else { doc.content.clone() };
                        if body.starts_with("#!") {
                            // BuildKit writes it to /dev/pipes/NAME (0755) and runs that file.
                            let file = self.scratch()?.join(format!("pipe-{}", doc.name));
                            std::fs::write(&file, &body).map_err(io_err(file.display().to_string()))?;
                            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755))
                                .map_err(io_err(file.display().to_string()))?;
                            let target = format!("/dev/pipes/{}", doc.name);
                            pipe_mounts.push(StepMount {
                                source: Some(file),
                                target: target.clone(),
                                read_only: true,
                                overlay: None,
                                subpath: String::new(),
                            });
                            shell.iter().cloned().chain(std::iter::once(target)).collect()
                        } else {
                            shell.iter().cloned().chain(std::iter::once(body)).collect()
                        }
                    }
                    (CommandLine::Shell(_), None) => {
                        let script = run.shell_script().unwrap_or_default();
                        shell.iter().cloned().chain(std::iter::once(script)).collect()
                    }
                };
                let env: Vec<String> = before.run_env().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
                let mut mounts = pipe_mounts;
                let mut mount_keys = Vec::new();
                let run_mounts = run.mounts(|w| before.expand(w, esc)).map_err(|e| at(e.message, &e.span))?;
                for m in &run_mounts {
                    // BuildKit resolves a target (or none) against the WORKDIR, and refuses `/`.
                    let target_or_workdir = || {
                        let target =
                            crate::model::state::join_path(before.workdir(), m.target.as_deref().unwrap_or(""));
                        match target.as_str() {
                            "/" => Err(at(format!("invalid mount target {target:?}"), &m.span)),
                            _ => Ok(target),
                        }
                    };
                    let target = m.target.as_deref().map(|t| crate::model::state::join_path(before.workdir(), t));
                    match m.kind {
                        MountKind::Cache => {
                            let target = target_or_workdir()?;
                            let id = m.id.clone().unwrap_or_else(|| target.clone());
                            let dir = self.store.cache_mount(&id)?;
                            if let (Some(uid), Some(gid)) = (m.uid, m.gid) {
                                let _ = std::os::unix::fs::chown(&dir, Some(uid), Some(gid));
                            }
                            if let Some(mode) = m.mode {
                                let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode));
                            }
                            mounts.push(StepMount {
                                source: Some(dir),
                                target,
                                read_only: m.read_only,
                                overlay: None,
                                subpath: String::new(),
                            });
                        }
                        MountKind::Tmpfs => mounts.push(StepMount {
                            source: None,
                            target: target_or_workdir()?,
                            read_only: false,
                            overlay: None,
                            subpath: String::new(),
                        }),
                        MountKind::Secret => {
                            let id = m.id.clone().or_else(|| m.source.clone()).unwrap_or_default();
                            match self.opts.secrets.get(&id) {
                                Some(src) => {
                                    if let Some(target) = target {
                                        mounts.push(StepMount {
                                            source: Some(src.clone()),
                                            target,
                                            read_only: true,
                                            overlay: None,
                                            subpath: String::new(),
                                        });
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
                            let target = target_or_workdir()?;
                            let source = m.source.clone().unwrap_or_else(|| "/".to_string());
                            let (mount, key) = self.bind_source(
                                p,
                                m.from.as_deref(),
                                &source,
                                before,
                                done,
                                &m.span,
                                target.clone(),
                                m.read_only,
                            )?;
                            mount_keys.push(format!("{target}={key}"));
                            mounts.push(mount);
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
                    "mounts": run_mounts.iter().map(|m| format!("{:?}:{:?}", m.kind, m.target)).collect::<Vec<_>>(),
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
                let (task, key) = self.plan_copy(p, copy, before, inst, done, current, esc)?;
                Ok(Some((Task::Copy(task), key)))
            }
            _ => Ok(None),
        }
    }

    /// A bind mount's source, materialized as a host directory or file, and its content key.
    #[allow(clippy::too_many_arguments)]
    fn bind_source(
        &self,
        p: &Parsed<'_, '_>,
        from: Option<&str>,
        source: &str,
        state: &StageState,
        done: &HashMap<usize, StageResult>,
        span: &Span,
        target: String,
        read_only: bool,
    ) -> Result<(StepMount, String)> {
        let view = match from {
            None => self.context_view(),
            Some(name) => self.stage_or_image_view(p, name, state, done, span)?,
        };
        let (path, found) =
            view.resolve(source, true).ok_or_else(|| at(format!("bind mount source {source} not found"), span))?;
        let key = match from {
            // A stage or an image is content-addressed by its chain: the path in it is enough.
            Some(_) => format!("{}:{path}", view.layers.first().map(|l| l.display().to_string()).unwrap_or_default()),
            None => tree_key(&found.host).map_err(io_err(found.host.display().to_string()))?,
        };
        let mount = if found.meta.is_dir() {
            let lowers = view.layers.iter().map(|l| l.display().to_string()).collect();
            StepMount { source: None, target, read_only, overlay: Some(lowers), subpath: path }
        } else if read_only {
            StepMount { source: Some(found.host), target, read_only, overlay: None, subpath: String::new() }
        } else {
            // A writable bind of a file: a copy, so the step never writes to the source.
            let copy = self.scratch()?.join(format!("bind-{}", hex(&Sha256::digest(key.as_bytes()))));
            std::fs::copy(&found.host, &copy).map_err(io_err(found.host.display().to_string()))?;
            StepMount { source: Some(copy), target, read_only, overlay: None, subpath: String::new() }
        };
        Ok((mount, key))
    }

    fn context_view(&self) -> ChainView {
        ChainView::new(vec![self.opts.context.clone()])
    }

    /// The file system a `--from` names: an earlier stage, or an image.
    fn stage_or_image_view(
        &self,
        p: &Parsed<'_, '_>,
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

    #[allow(clippy::too_many_arguments)]
    fn plan_copy(
        &self,
        p: &Parsed<'_, '_>,
        copy: &crate::model::instruction::Copy,
        state: &StageState,
        inst: &syntax::Instruction,
        done: &HashMap<usize, StageResult>,
        current: &[BuiltLayer],
        esc: char,
    ) -> Result<(CopyTask, String)> {
        let expand = |w: &str| state.expand(w, esc).map_err(|e| at(e.to_string(), &inst.span));
        let dest_raw = expand(&copy.dest.text)?;
        let dest = crate::model::state::join_path(state.workdir(), &dest_raw);
        // A destination that is a directory in the image takes files into it, as Docker does.
        let exists_as_dir = self.view_of(current).resolve(&dest, true).is_some_and(|(_, f)| f.meta.is_dir());
        let dest_is_dir = dest_raw.ends_with('/') || copy.sources.len() > 1 || exists_as_dir;
        let (view, ignore) = match copy.from_value() {
            Some(from) => (self.stage_or_image_view(p, from, state, done, &inst.span)?, None),
            None => (self.context_view(), self.dockerignore()),
        };
        let excludes: Vec<Dockerignore> = copy
            .exclude
            .iter()
            .map(|e| Dockerignore::parse(e).map_err(|er| at(format!("--exclude={e}: {er:?}"), &inst.span)))
            .collect::<Result<_>>()?;
        let mut items: Vec<CopyItem> = Vec::new();
        let mut dirs: Vec<String> = Vec::new();
        let mut key = Sha256::new();
        let add_file = |items: &mut Vec<CopyItem>, host: PathBuf, dest: String, key: &mut Sha256| -> Result<()> {
            hash_entry(key, &host, &dest).map_err(io_err(host.display().to_string()))?;
            items.push(CopyItem { source: Source::Host(host), dest });
            Ok(())
        };
        for src in &copy.sources {
            if let Some(doc) = copy.heredoc_source(src) {
                let body = if doc.chomp { chomped(&doc.content) } else { doc.content.clone() };
                let content = if doc.expand { expand(&body)? } else { body };
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
                let file = self.download(&src_text, copy.checksum.as_deref(), &src.span)?;
                let name = url_file_name(&src_text);
                let target =
                    if dest_is_dir { format!("{}/{}", dest.trim_end_matches('/'), name) } else { dest.clone() };
                hash_entry(&mut key, &file, &target).map_err(io_err(file.display().to_string()))?;
                items.push(CopyItem { source: Source::Host(file), dest: target });
                continue;
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
                    dirs.push(base_dest.clone());
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
        if dest_is_dir {
            dirs.insert(0, dest.clone());
        }
        let key_text = format!("copy {dest} {dirs:?} {chown:?} {chmod:?} {}", hex(&key.finalize()));
        Ok((CopyTask { dirs, items, chown, chmod, dir_owner: None }, key_text))
    }

    /// A directory for files the build makes on the host (downloads, heredoc scripts),
    /// removed when the build ends.
    fn scratch(&self) -> Result<PathBuf> {
        let mut dir = self.scratch_dir.lock().unwrap_or_else(|e| e.into_inner());
        if dir.is_none() {
            *dir = Some(self.store.temp_dir("build")?);
        }
        Ok(dir.as_ref().expect("just made").path.clone())
    }

    /// ADD's download: mode 0600 as BuildKit makes it, checked against `--checksum`.
    fn download(&self, url: &str, checksum: Option<&str>, span: &Span) -> Result<PathBuf> {
        let dir = self.scratch()?;
        let n = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        let file = dir.join(format!("download-{n}"));
        self.progress().output(&format!("downloading {url}"));
        let failed = |e: String| at(format!("ADD {url}: {e}"), span);
        let agent: ureq::Agent =
            ureq::Agent::config_builder().timeout_global(Some(std::time::Duration::from_secs(600))).build().into();
        let mut response = agent.get(url).call().map_err(|e| failed(e.to_string()))?;
        let mut out = std::fs::File::create(&file).map_err(io_err(file.display().to_string()))?;
        let mut hasher = Sha256::new();
        let mut reader = response.body_mut().as_reader();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = reader.read(&mut buf).map_err(|e| failed(e.to_string()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            std::io::Write::write_all(&mut out, &buf[..n]).map_err(io_err(file.display().to_string()))?;
        }
        let got = format!("sha256:{}", hex(&hasher.finalize()));
        if let Some(want) = checksum {
            if want != got {
                return Err(failed(format!("checksum mismatch: expected {want}, got {got}")));
            }
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
            .map_err(io_err(file.display().to_string()))?;
        Ok(file)
    }

    fn dockerignore(&self) -> Option<Dockerignore> {
        let path = crate::context::ignore_file_path(&self.opts.dockerfile, &self.opts.context)?;
        IgnoreFile::load(&path).rules.ok()
    }

    /// Runs a planned task in the sandbox over the stage's chain and turns the result into a layer.
    fn execute(&self, task: Task, result: &StageResult, what: &str, span: &Span) -> Result<CacheEntry> {
        let tmp = self.store.temp_dir("step")?;
        let (upper, work, merged) = (tmp.path.join("upper"), tmp.path.join("work"), tmp.path.join("merged"));
        for d in [&upper, &work, &merged] {
            std::fs::create_dir(d).map_err(io_err(d.display().to_string()))?;
        }
        let (hosts, resolv_file) = self.network_files()?;
        let lowers: Vec<String> = result.layers.iter().rev().map(|l| Store::snapshot_name(&l.chain)).collect();
        let spec = Spec {
            store: self.store.root.clone(),
            lowers: lowers.clone(),
            upper: upper.clone(),
            work,
            merged,
            userxattr: self.rootless,
            userns: self.rootless.then(sandbox::UserNs::current),
            hostname: "buildkitsandbox".to_string(),
            network: match &task {
                Task::Run { network, .. } => *network,
                Task::Copy(_) => NetworkMode::Host,
            },
            hosts_file: hosts,
            resolv_file,
            task,
        };
        let outcome = sandbox::run_step(&spec, &mut |line| self.progress().output(line))
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
        // A plain tar: compressed only when the image leaves the store (Store::compressed_layer).
        let mut diff_opts = DiffOptions {
            compression: LayerCompression::None,
            source_date_epoch: self.opts.source_date_epoch,
            ..DiffOptions::default()
        };
        if self.rootless {
            // Files the step made are owned by host ids: the layer records the ids the step saw.
            let (uids, gids) = sandbox::UserNs::current().ranges();
            let map = IdMap::new;
            diff_opts.uid_map = map(uids).map_err(|e| BuildError::Layer { message: e.to_string() })?;
            diff_opts.gid_map = map(gids).map_err(|e| BuildError::Layer { message: e.to_string() })?;
        }
        let written = diff::write_layer(&upper, &lower_refs, &mut out, &diff_opts)
            .map_err(|e| BuildError::Layer { message: format!("{what}: {e}") })?;
        drop(out);
        if written.empty {
            self.reaper.remove(tmp);
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
        self.reaper.remove(tmp);
        Ok(CacheEntry { layer: Some(layer) })
    }

    /// The hosts table and the copy of the host's `resolv.conf` every RUN gets (written once).
    fn network_files(&self) -> Result<(PathBuf, Option<PathBuf>)> {
        // Held while writing: a stage on another thread waits rather than rewrite the files
        // under a running step.
        let mut files = self.network_files.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(files) = &*files {
            return Ok(files.clone());
        }
        let dir = self.scratch()?;
        let hosts = dir.join("hosts");
        std::fs::write(&hosts, "127.0.0.1\tlocalhost buildkitsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n")
            .map_err(io_err(hosts.display().to_string()))?;
        let resolv = dir.join("resolv.conf");
        let resolv_file = match std::fs::read("/etc/resolv.conf") {
            Ok(bytes) => {
                std::fs::write(&resolv, bytes).map_err(io_err(resolv.display().to_string()))?;
                Some(resolv)
            }
            Err(_) => None,
        };
        Ok(files.insert((hosts, resolv_file)).clone())
    }

    /// Makes sure the snapshot of `chain` exists, unpacking the layer's blob if it does not.
    fn ensure_snapshot(&self, chain: &Digest, layer: &CachedLayer) -> Result<()> {
        unpack_layer(&self.store, chain, &layer.digest)
    }

    /// A base image from the store, pulled from its registry when the store lacks it.
    fn base_image(&self, name: &str, span: &Span) -> Result<StageResult> {
        let image = self.open_image(name, span)?;
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
        let base_state = super::config::config_state(image.config.config.as_ref());
        let mut base = image.config.clone();
        let history = std::mem::take(&mut base.history);
        let key = format!("image {}", image.config_digest.as_ref().map(|d| d.to_string()).unwrap_or_default());
        let n = layers.len();
        Ok(StageResult {
            layers,
            state: StageState::from_base(Some(base_state)),
            key,
            history,
            base,
            base_layers: n,
            origins: vec![None; n],
        })
    }

    fn open_image(&self, name: &str, span: &Span) -> Result<Image> {
        let canonical = super::store::canonical_name(name).map_err(|m| at(format!("{name}: {m}"), span))?;
        let found = match self.store.lookup(name)? {
            Some(d) => Some(d),
            None => self.store.lookup(&canonical)?,
        };
        let tag = match found {
            Some(d) => d.annotations.get(spec::ANNOTATION_REF_NAME).cloned().unwrap_or(canonical),
            None => {
                let reference = crate::image::name::ImageName::parse(name).map_err(|e| at(e.to_string(), span))?;
                self.progress().output(&format!("pulling {canonical}"));
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
        &self,
        p: &Parsed<'_, '_>,
        target: usize,
        result: StageResult,
        steps: Vec<StepReport>,
    ) -> Result<BuildResult> {
        let platform = Platform::host();
        let created = match self.opts.source_date_epoch {
            Some(t) => rfc3339(t),
            None => rfc3339(now()),
        };
        let mut result = result;
        let mut config = result.base.clone();
        config.architecture = platform.architecture.clone();
        config.os = platform.os.clone();
        if let Some(v) = &platform.variant {
            config.other.insert("variant".into(), serde_json::json!(v));
        }
        config.created = Some(created);
        config.config = Some(super::config::container_config(&result.state.config, result.base.config.take()));
        config.rootfs = RootFs {
            kind: "layers".to_string(),
            diff_ids: result.layers.iter().map(|l| l.layer.diff_id.clone()).collect(),
        };
        config.history = result.history.clone();
        let image = NewImage {
            config,
            layers: result.layers.iter().map(|l| l.file(&self.store)).collect(),
            annotations: Default::default(),
        };
        let mut names: Vec<String> = self
            .opts
            .tags
            .iter()
            .map(|t| super::store::canonical_name(t).map_err(|m| at(format!("-t {t}: {m}"), &(0..0))))
            .collect::<Result<_>>()?;
        if names.is_empty() {
            names.push(format!("imgopt.local/build:{}", &hex(&Sha256::digest(result.key.as_bytes()))[..12]));
        }
        // write_oci_layout takes the store's lock (a flock on the directory) itself.
        let written = crate::image::write::write_oci_layout(&self.store.root, &image, &names)?;
        if let Some(output) = &self.opts.output {
            let out = match output {
                // docker save's form holds plain tars whatever the blobs are.
                ImageRef::DockerArchive { .. } => image,
                _ => NewImage { layers: self.store.compressed_layers(&image.layers, self.opts.compression)?, ..image },
            };
            crate::image::write::write_image(output, &out, &self.opts.tags)?;
        }
        let _ = p;
        Ok(BuildResult {
            manifest: written.manifest,
            config_digest: written.config_digest,
            layers: result.layers,
            base_layers: result.base_layers,
            origins: result.origins,
            steps,
            name: names[0].clone(),
            target_stage: target,
        })
    }
}

/// Makes sure the snapshot of `chain` exists in the store, unpacking layer blob `digest` if not.
pub fn unpack_layer(store: &Store, chain: &Digest, digest: &Digest) -> Result<()> {
    if store.has_snapshot(chain) {
        store.touch(&store.snapshot_dir(chain));
        return Ok(());
    }
    let tmp = store.temp_dir("unpack")?;
    let dest = tmp.path.join("fs");
    std::fs::create_dir(&dest).map_err(io_err(dest.display().to_string()))?;
    let blob = store.blob_path(digest);
    let file = std::fs::File::open(&blob).map_err(io_err(blob.display().to_string()))?;
    let reader = extract::decompressed(std::io::BufReader::new(file))
        .map_err(|e| BuildError::Layer { message: format!("layer {digest}: {e}") })?;
    let opts = ExtractOptions::for_current_user();
    extract::extract_layer(reader, &dest, &opts)
        .map_err(|e| BuildError::Layer { message: format!("unpacking layer {digest}: {e}") })?;
    store.adopt_snapshot(&dest, chain)?;
    Ok(())
}

/// Unpacks every layer of an image in the store into its snapshot (what `docker load` does
/// too), so that a build on it starts at once.
pub fn unpack_image(store: &Store, image: &Image) -> Result<()> {
    let mut parent: Option<Digest> = None;
    for blob in &image.layers {
        let Some(digest) = &blob.digest else { continue };
        let chain = chain_id(parent.as_ref(), &blob.diff_id);
        unpack_layer(store, &chain, digest)?;
        parent = Some(chain);
    }
    Ok(())
}

/// The stages stage `s` uses: its base, and those its `COPY --from` and `RUN --mount=from` name.
fn stage_deps(p: &Parsed<'_, '_>, s: usize) -> Vec<usize> {
    let stage = &p.model.stages[s];
    let mut deps: Vec<usize> = stage.base_stage.into_iter().collect();
    for i in stage.instructions.clone() {
        deps.extend(names_used(&p.commands[i]).iter().filter_map(|f| p.model.find_stage(f, s)).map(|d| d.index));
    }
    deps
}

/// The stages or images a command names with `COPY --from` or `RUN --mount=from`.
fn names_used(command: &Command) -> Vec<String> {
    match command {
        Command::Copy(c) => c.from_value().map(str::to_string).into_iter().collect(),
        Command::Run(r) => r.mount_froms(),
        _ => Vec::new(),
    }
}

/// The stages building `target` needs, in order: its base chain, and the stages its
/// `COPY --from` and `RUN --mount=from` name.
fn needed_stages(p: &Parsed<'_, '_>, target: usize) -> Vec<usize> {
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
            for f in names_used(&p.commands[i]) {
                if let Some(dep) = p.model.find_stage(&f, s) {
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

/// The file name a URL's path ends with (`index.html` when it ends with `/`).
fn url_file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let after_host = path.splitn(4, '/').nth(3).unwrap_or("");
    match after_host.rsplit('/').next() {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => "index.html".to_string(),
    }
}

/// A `<<-` heredoc's body: leading tabs removed from every line (line endings kept).
fn chomped(body: &str) -> String {
    body.split_inclusive('\n').map(|l| l.trim_start_matches('\t')).collect()
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

fn label_text(inst: &syntax::Instruction, text: &str) -> String {
    format!("Dockerfile:{} {}", inst.start_line, one_line(inst.source(text)))
}

/// `created_by` as BuildKit writes it.
/// `after` is the state the command left: WORKDIR's expanded, resolved directory.
fn created_by(cmd: &Command, before: &StageState, after: &StageState, source: &str) -> String {
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
        Command::Workdir(_) => format!("WORKDIR {}", after.workdir()),
        _ => one_logical(source),
    }
}

fn one_logical(source: &str) -> String {
    source.lines().map(|l| l.trim_end_matches('\\').trim()).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

fn history_entry(created_by: &str, empty: bool, epoch: Option<i64>) -> History {
    History {
        created: Some(rfc3339(epoch.unwrap_or_else(now))),
        created_by: Some(created_by.to_string()),
        author: None,
        comment: Some("buildkit.dockerfile.v0".to_string()),
        empty_layer: empty,
        other: Default::default(),
    }
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
    }
}
