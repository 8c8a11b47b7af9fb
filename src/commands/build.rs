//! `imgopt build`: the arguments turned into [`BuildOptions`], the progress printed one line per
//! step, errors as miette reports pointing into the Dockerfile.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::build::diff::LayerCompression;
use crate::build::executor::{BuildError, BuildOptions, BuildResult, Builder, Progress, StepReport};
use crate::build::sandbox::NetworkMode;
use crate::build::store::Store;
use crate::model::document::Source;
use crate::model::expand::Vars;

/// The build options shared by `imgopt build` and `imgopt analyze`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BuildArgs {
    /// The Dockerfile (default: CONTEXT/Dockerfile).
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// The stage to build (default: the last).
    #[arg(long)]
    pub target: Option<String>,
    /// A build argument, KEY=VALUE (or KEY to take it from the environment).
    #[arg(long = "build-arg", value_name = "KEY=VALUE")]
    pub build_args: Vec<String>,
    /// A secret for RUN --mount=type=secret: id=ID,src=PATH.
    #[arg(long = "secret", value_name = "id=ID,src=PATH")]
    pub secrets: Vec<String>,
    /// The network of RUN steps: host (the default, as `docker build --network host`) or none.
    #[arg(long, default_value = "host", value_parser = ["host", "none"])]
    pub network: String,
    /// Also write the image here: oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:NAME:TAG].
    #[arg(short = 'o', long = "output", value_name = "DEST")]
    pub output: Option<String>,
    /// How layers are compressed when the image leaves the store (`-o oci:`, `-o oci-archive:`;
    /// the sizes analyze reports): gzip (the default, what every tool reads), zstd, or none.
    /// The store keeps the layers it builds uncompressed.
    #[arg(long, default_value = "gzip", value_parser = ["gzip", "zstd", "none"])]
    pub compression: String,
    /// Run every step again, ignoring the cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Who builds: imgopt's own builder, or an existing engine (`docker build` with BuildKit,
    /// `buildah build`) whose image imgopt then loads or analyzes.
    #[arg(long, value_enum, default_value = "imgopt")]
    pub builder: super::engine::BuilderKind,
    /// The build context (default: the current directory).
    #[arg(value_name = "CONTEXT")]
    pub context: Option<PathBuf>,
}

impl BuildArgs {
    pub fn dockerfile(&self) -> PathBuf {
        match &self.file {
            Some(f) => f.clone(),
            None => self.context_dir().join("Dockerfile"),
        }
    }

    pub fn context_dir(&self) -> PathBuf {
        self.context.clone().unwrap_or_else(|| PathBuf::from("."))
    }

    /// `--compression`.
    pub fn compression(&self) -> LayerCompression {
        match self.compression.as_str() {
            "zstd" => LayerCompression::Zstd,
            "none" => LayerCompression::None,
            _ => LayerCompression::Gzip,
        }
    }

    pub fn options(&self, tags: Vec<String>) -> Result<BuildOptions, String> {
        let mut build_args = Vars::new();
        for a in &self.build_args {
            match a.split_once('=') {
                Some((k, v)) => build_args.insert(k.to_string(), v.to_string()),
                None => match std::env::var(a) {
                    Ok(v) => build_args.insert(a.clone(), v),
                    Err(_) => continue,
                },
            };
        }
        let mut secrets = BTreeMap::new();
        for s in &self.secrets {
            let mut id = None;
            let mut src = None;
            for field in s.split(',') {
                match field.split_once('=') {
                    Some(("id", v)) => id = Some(v.to_string()),
                    Some(("src" | "source", v)) => src = Some(PathBuf::from(v)),
                    _ => return Err(format!("--secret {s}: expected id=ID,src=PATH")),
                }
            }
            let (Some(id), Some(src)) = (id, src) else { return Err(format!("--secret {s}: expected id=ID,src=PATH")) };
            let src = src.canonicalize().map_err(|e| format!("--secret {s}: {}: {e}", src.display()))?;
            secrets.insert(id, src);
        }
        let context = self.context_dir();
        let context = context.canonicalize().map_err(|e| format!("build context {}: {e}", context.display()))?;
        let source_date_epoch = match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(v) if !v.is_empty() => Some(v.parse().map_err(|_| format!("SOURCE_DATE_EPOCH={v}: not a number"))?),
            _ => None,
        };
        Ok(BuildOptions {
            dockerfile: self.dockerfile(),
            context,
            target: self.target.clone(),
            build_args,
            secrets,
            network: if self.network == "none" { NetworkMode::None } else { NetworkMode::Host },
            no_cache: self.no_cache,
            tags,
            source_date_epoch,
            compression: self.compression(),
            output: self
                .output
                .as_deref()
                .map(crate::image::ImageRef::parse_output)
                .transpose()
                .map_err(|e| format!("-o: {e}"))?,
        })
    }
}

/// One line per step on standard error; the step's own output indented under it.
pub struct PlainProgress {
    pub show_output: bool,
}

impl Progress for PlainProgress {
    fn step_started(&mut self, label: &str) {
        eprintln!("{label}");
    }

    fn output(&mut self, line: &str) {
        if self.show_output {
            eprintln!("  │ {}", crate::build::executor::printable(line));
        }
    }

    fn step_done(&mut self, step: &StepReport) {
        let status = if step.cached { "CACHED".to_string() } else { format!("{:.2}s", step.seconds) };
        let size = match step.layer_size {
            Some(n) => format!(", layer {}", crate::analyze::render::human(n)),
            None => String::new(),
        };
        eprintln!("  └ {status}{size}");
        let _ = std::io::stderr().flush();
    }
}

/// On a terminal (and not in CI): the running step with a spinner, its time, and its last
/// output lines; each finished step stays printed as one line.
pub struct LiveProgress {
    bar: indicatif::ProgressBar,
    label: String,
    tail: std::collections::VecDeque<String>,
}

impl LiveProgress {
    pub fn new() -> Self {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        LiveProgress { bar, label: String::new(), tail: Default::default() }
    }

    fn redraw(&self) {
        let width = console_width();
        let mut msg = clip(&self.label, width.saturating_sub(8));
        for l in &self.tail {
            msg.push_str("\n       │ ");
            msg.push_str(&clip(&crate::build::executor::printable(l), width.saturating_sub(10)));
        }
        self.bar.set_message(msg);
    }
}

impl Default for LiveProgress {
    fn default() -> Self {
        Self::new()
    }
}

fn console_width() -> usize {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(100)
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        s.chars().take(width.saturating_sub(1)).chain(std::iter::once('…')).collect()
    }
}

impl Progress for LiveProgress {
    fn step_started(&mut self, label: &str) {
        self.label = label.to_string();
        self.tail.clear();
        self.bar.reset_elapsed();
        self.redraw();
    }

    fn output(&mut self, line: &str) {
        self.tail.push_back(line.to_string());
        if self.tail.len() > 5 {
            self.tail.pop_front();
        }
        self.redraw();
    }

    fn step_done(&mut self, step: &StepReport) {
        let status = if step.cached { "CACHED".to_string() } else { format!("{:.2}s", step.seconds) };
        let size = match step.layer_size {
            Some(n) => format!(", layer {}", crate::analyze::render::human(n)),
            None => String::new(),
        };
        self.bar.println(format!("✓ {} ({status}{size})", clip(&self.label, console_width().saturating_sub(30))));
        self.tail.clear();
        self.label.clear();
        self.redraw();
    }
}

impl Drop for LiveProgress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Builds; on failure a miette report with the Dockerfile span. Returns the Dockerfile as it
/// was read for the build, too (analyze maps the layers to it).
pub fn build(args: &BuildArgs, tags: Vec<String>) -> miette::Result<(BuildResult, Store, Source)> {
    let path = args.dockerfile();
    let source = Source::decode(&path.display().to_string(), &read_dockerfile(&path)?)?;
    build_source(args, tags, source, true)
}

/// Builds `text` as the Dockerfile of `args` (whose path still names it in errors and finds
/// its `.dockerignore`); `show_output` prints each step's output under it.
pub fn build_text(
    args: &BuildArgs,
    tags: Vec<String>,
    text: &str,
    show_output: bool,
) -> miette::Result<(BuildResult, Store)> {
    let source = Source::from_text(&args.dockerfile().display().to_string(), text);
    build_source(args, tags, source, show_output).map(|(result, store, _)| (result, store))
}

fn build_source(
    args: &BuildArgs,
    tags: Vec<String>,
    source: Source,
    show_output: bool,
) -> miette::Result<(BuildResult, Store, Source)> {
    let options = args.options(tags).map_err(|m| miette::miette!(code = "imgopt::build", "{m}"))?;
    let path = options.dockerfile.clone();
    let text = source.text();
    let doc = source.document()?;
    let store = Store::open_default().map_err(|e| miette::miette!(code = "imgopt::store", "{e}"))?;
    let live = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let mut plain = PlainProgress { show_output };
    let mut fancy;
    let progress: &mut (dyn Progress + Send) = if live {
        fancy = LiveProgress::new();
        &mut fancy
    } else {
        &mut plain
    };
    crate::build::sandbox::handle_interrupts();
    // Held for the whole build: `imgopt prune` waits rather than remove what this build uses.
    let _builds = store
        .builds_lock(false, || eprintln!("waiting for `imgopt prune` to finish…"))
        .map_err(|e| miette::miette!(code = "imgopt::store", "{e}"))?;
    let builder = Builder::new(store.clone(), options, progress);
    match builder.build(&doc) {
        Ok(result) => {
            drop(doc);
            Ok((result, store, source))
        }
        Err(e) => Err(report(&e, &path, text)),
    }
}

fn read_dockerfile(path: &Path) -> miette::Result<Vec<u8>> {
    crate::syntax::read_dockerfile(path).map_err(|e| miette::miette!(code = "imgopt::build", "{e}"))
}

fn report(e: &BuildError, path: &Path, text: &str) -> miette::Report {
    let mut message = e.to_string();
    if let BuildError::StepFailed { tail, .. } = e {
        if !tail.is_empty() {
            message.push_str("\nlast output:\n");
            for l in tail {
                message.push_str("  ");
                message.push_str(&crate::build::executor::printable(l));
                message.push('\n');
            }
        }
    }
    let mut diag = miette::MietteDiagnostic::new(message).with_code("imgopt::build");
    if let Some(span) = e.span() {
        diag = diag.with_label(miette::LabeledSpan::at(span.clone(), "this step"));
        return miette::Report::new(diag)
            .with_source_code(miette::NamedSource::new(path.display().to_string(), text.to_string()));
    }
    miette::Report::new(diag)
}

/// The layer → line map of an image this build made from `source` (the Dockerfile [`build`]
/// read).
pub fn built_map(
    source: &Source,
    result: &BuildResult,
) -> miette::Result<crate::analyze::dockerfile_map::DockerfileMap> {
    let df = source.document()?;
    Ok(crate::analyze::dockerfile_map::built_map(&source.name, &df, &df.model, result.target_stage, &result.origins))
}

/// The layers of `reference` as imgopt's store ships them, when it names an image of that store
/// (`oci:STORE:NAME`, the store `IMGOPT_STORE` or the default names): the store keeps the layers
/// it builds as plain tars, and analyze reports what an `-o oci:` export or a push carries,
/// compressed as `--compression` says (once: the store keeps the compressed blobs). None for
/// any other reference, whose blobs are reported as they are.
pub fn shipped_blobs(
    reference: &str,
    compression: LayerCompression,
    platform: Option<&crate::image::Platform>,
) -> miette::Result<Option<Vec<crate::analyze::ShippedBlob>>> {
    let store_error = |e: crate::build::store::StoreError| miette::miette!(code = "imgopt::store", "{e}");
    let Ok(crate::image::ImageRef::OciDir { dir, tag }) = crate::image::ImageRef::parse(reference) else {
        return Ok(None);
    };
    let Ok(root) = Store::default_root() else { return Ok(None) };
    match (dir.canonicalize(), root.canonicalize()) {
        (Ok(dir), Ok(root)) if dir == root => {}
        _ => return Ok(None),
    }
    let store = Store::open(&root).map_err(store_error)?;
    let options = crate::image::OpenOptions { platform: platform.cloned() };
    let image = crate::image::Image::open(&crate::image::ImageRef::OciDir { dir, tag }, &options)?;
    let mut stored = Vec::with_capacity(image.layers.len());
    for layer in &image.layers {
        let Some(digest) = &layer.digest else { return Ok(None) };
        stored.push(crate::image::write::LayerFile {
            path: store.blob_path(digest),
            descriptor: crate::image::spec::Descriptor {
                media_type: layer.media_type.clone().unwrap_or_default(),
                digest: digest.clone(),
                size: layer.size,
                platform: None,
                annotations: Default::default(),
                other: Default::default(),
            },
            diff_id: layer.diff_id.clone(),
        });
    }
    let shipped = store.compressed_layers(&stored, compression).map_err(store_error)?;
    Ok(Some(
        shipped
            .into_iter()
            .map(|l| crate::analyze::ShippedBlob {
                compression: crate::image::Compression::of_media_type(&l.descriptor.media_type),
                digest: l.descriptor.digest,
                size: l.descriptor.size,
            })
            .collect(),
    ))
}

/// What an engine build (`--builder docker|buildah`) left in the store.
pub struct EngineBuild {
    pub store: Store,
    /// The image's names in the store (the `-t` names, or `imgopt.local/build:<image ID>`).
    pub names: Vec<String>,
    pub written: crate::image::write::Written,
    pub layers: usize,
}

/// Builds with an existing engine, then loads its image into the store (and writes `-o`).
pub fn build_with_engine(args: &BuildArgs, tags: &[String]) -> miette::Result<EngineBuild> {
    let store = Store::open_default().map_err(|e| miette::miette!(code = "imgopt::store", "{e}"))?;
    let names: Vec<String> = tags
        .iter()
        .map(|t| {
            crate::build::store::canonical_name(t).map_err(|m| miette::miette!(code = "imgopt::build", "-t {t}: {m}"))
        })
        .collect::<miette::Result<_>>()?;
    let output = args
        .output
        .as_deref()
        .map(crate::image::ImageRef::parse_output)
        .transpose()
        .map_err(|e| miette::miette!(code = "imgopt::build", "-o: {e}"))?;
    let tmp = store.temp_dir("engine").map_err(|e| miette::miette!(code = "imgopt::store", "{e}"))?;
    let reference = super::engine::build_to_archive(args.builder, args, tags, &tmp.path)?;
    let image = crate::image::Image::open(&reference, &crate::image::OpenOptions::default())?;
    let mut names = names;
    if names.is_empty() {
        let id = image.config_digest.as_ref().map(|d| d.hex().chars().take(12).collect::<String>()).unwrap_or_default();
        names.push(format!("imgopt.local/build:{id}"));
    }
    let written = store.import(&image, &names).map_err(|e| miette::miette!(code = "imgopt::store", "{e}"))?;
    if let Some(output) = &output {
        let stored = crate::image::ImageRef::OciDir { dir: store.root.clone(), tag: Some(names[0].clone()) };
        let stored = crate::image::Image::open(&stored, &crate::image::OpenOptions::default())?;
        let manifest = stored
            .manifest
            .as_ref()
            .ok_or_else(|| miette::miette!(code = "imgopt::store", "{}: no manifest", names[0]))?;
        let layers = manifest
            .layers
            .iter()
            .zip(&stored.layers)
            .map(|(d, l)| crate::image::write::LayerFile {
                path: store.blob_path(&d.digest),
                descriptor: d.clone(),
                diff_id: l.diff_id.clone(),
            })
            .collect();
        let new =
            crate::image::write::NewImage { config: stored.config.clone(), layers, annotations: Default::default() };
        crate::image::write::write_image(output, &new, tags)?;
    }
    Ok(EngineBuild { layers: image.layers.len(), store, names, written })
}
