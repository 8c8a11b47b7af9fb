//! `--measure`: build the original and the proposal (one store, so their common prefix is
//! built once), read both images, and report what each weighs and whether they hold the same
//! files and config ([`super::safety`]). Every figure comes from the two builds; nothing is
//! estimated. Each transform's share is measured by building the original with that transform
//! alone, which also tells which transform changes the image.

use std::fmt::Write as _;
use std::time::Instant;

use serde::Serialize;

use super::safety::{self, Comparison};
use super::transforms::Saves;
use super::{propose, Options, Proposal, TRANSFORMS};
use crate::analyze::{analyze_reference, AnalyzeOptions};
use crate::build::executor::{BuildError, BuildOptions, Builder, Progress, StepReport};
use crate::build::store::Store;
use crate::commands::build::{build_text, BuildArgs};
use crate::commands::engine::BuilderKind;
use crate::image::{Image, ImageRef, OpenOptions};

pub struct MeasureOptions {
    pub build: BuildArgs,
    /// A command that shows a multi-stage program runs (`--check`).
    pub check: Option<String>,
    /// The transforms the proposal was limited to.
    pub only: Vec<String>,
    /// The store names of the images measuring built: removed when it is done, so that
    /// measuring leaves only step-cache entries behind (which `imgopt prune` frees).
    built: std::cell::RefCell<Vec<String>>,
}

impl MeasureOptions {
    pub fn new(build: BuildArgs, check: Option<String>, only: Vec<String>) -> MeasureOptions {
        MeasureOptions { build, check, only, built: Default::default() }
    }

    fn built(&self, names: &[String]) {
        self.built.borrow_mut().extend(names.iter().cloned());
    }

    /// Untags the images measuring built that had no name before (an image the user built
    /// with the same generated name keeps it); the blobs stay as cache until `imgopt prune`.
    fn forget_built(&self, named_before: &[String]) {
        let mut names = self.built.take();
        names.retain(|n| !named_before.contains(n));
        names.sort();
        names.dedup();
        if names.is_empty() {
            return;
        }
        if let Err(e) = Store::open_default().and_then(|store| store.untag(&names)) {
            eprintln!("warning: the images measuring built keep their names in the store: {e}");
        }
    }
}

/// What one build weighs, from the image it made.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    /// Bytes of the files of every layer (what the layers hold, uncompressed).
    pub content_bytes: u64,
    /// Bytes of the layer blobs as stored and pulled.
    pub compressed_bytes: u64,
    pub layers: usize,
    /// Content bytes of the layers the Dockerfile made (the base image's excluded).
    pub user_bytes: u64,
    /// Bytes shipped in a layer but hidden by a later one.
    pub invisible_bytes: u64,
    pub build_seconds: f64,
    pub steps: usize,
    pub steps_cached: usize,
}

/// One transform applied alone to the original.
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    pub transform: &'static str,
    pub saves: Saves,
    /// Content bytes the transform alone saves (negative: it adds).
    pub saved_bytes: i64,
    pub saved_compressed_bytes: i64,
    /// Its image differs from the original's outside what is expected.
    pub changes_image: bool,
}

/// The safety check of two images, read for people.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Safety {
    /// Differences that are expected (caches and docs, or a multi-stage build's toolchain once
    /// its program was shown to run), grouped.
    pub expected: Vec<String>,
    /// Any other difference: the rewrite changes what the image does.
    pub unexpected: Vec<String>,
}

impl Safety {
    pub fn passed(&self) -> bool {
        self.unexpected.is_empty()
    }
}

/// The rebuild after one source file changed (not a manifest): what a developer waits for.
#[derive(Debug, Clone, Serialize)]
pub struct Rebuild {
    /// The file that was changed (a copy of the context is edited, never the user's).
    pub edited: String,
    pub before: Figures,
    pub after: Figures,
}

impl Rebuild {
    /// One sentence; `edited` is the file name as the output format shows it.
    fn describe(&self, edited: &str) -> String {
        let (b, a) = (&self.before, &self.after);
        format!(
            "rebuild after an edit of {edited}: {:.1} s before ({}/{} steps cached), {:.1} s after ({}/{} cached)",
            b.build_seconds, b.steps_cached, b.steps, a.build_seconds, a.steps_cached, a.steps
        )
    }
}

/// How a multi-stage result was shown to run: the same command in both images.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactCheck {
    pub command: Vec<String>,
    pub runs: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub builder: &'static str,
    pub before: Figures,
    pub after: Figures,
    pub safety: Safety,
    pub shares: Vec<Share>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<ArtifactCheck>,
    /// With a transform that saves build time: both rebuilt after a source-only edit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebuild: Option<Rebuild>,
    /// The proposal without the transforms that change the image, when that differs from the
    /// whole proposal and was itself built and checked.
    #[serde(skip)]
    safe: Option<Proposal>,
    /// The figures of that proposal (what `--write` writes when the whole proposal is not safe).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_safe: Option<Figures>,
    #[serde(skip)]
    full: Proposal,
}

fn error(message: impl std::fmt::Display) -> miette::Report {
    miette::miette!(code = "imgopt::rewrite", "{message}")
}

/// One built image: its figures and where to read it.
struct Built {
    figures: Figures,
    reference: String,
    /// The store name, for probes (imgopt's builder only).
    name: Option<String>,
    /// Keeps an engine's archive until the measurement is done.
    _dir: Option<crate::build::store::TempDir>,
    /// Its final filesystem, read (every file hashed) the first time a comparison needs it.
    files: std::sync::OnceLock<crate::analyze::index::PathIndex>,
}

impl Built {
    fn files(&self, image: &Image) -> miette::Result<&crate::analyze::index::PathIndex> {
        if let Some(files) = self.files.get() {
            return Ok(files);
        }
        let files = safety::final_filesystem(image)?;
        Ok(self.files.get_or_init(|| files))
    }
}

fn build(opts: &MeasureOptions, text: &str, what: &str) -> miette::Result<Built> {
    eprintln!("measuring: building {what}…");
    let started = Instant::now();
    let (reference, name, dir, steps, cached, base_layers) = match opts.build.builder {
        BuilderKind::Imgopt => {
            let (result, store) = build_text(&opts.build, Vec::new(), text, false)?;
            let reference = format!("oci:{}:{}", store.root.display(), result.name);
            opts.built(std::slice::from_ref(&result.name));
            let cached = result.steps.iter().filter(|s| s.cached).count();
            (reference, Some(result.name), None, result.steps.len(), cached, Some(result.base_layers))
        }
        kind => {
            let store = Store::open_default().map_err(|e| error(format!("the store: {e}")))?;
            let dir = store.temp_dir("rewrite").map_err(|e| error(format!("the store: {e}")))?;
            let dockerfile = dir.path.join("Dockerfile");
            std::fs::write(&dockerfile, text).map_err(|e| error(format!("{}: {e}", dockerfile.display())))?;
            let mut args = opts.build.clone();
            args.context = Some(opts.build.context_dir());
            args.file = Some(dockerfile);
            let reference = crate::commands::engine::build_to_archive(kind, &args, &[], &dir.path)?;
            (reference.to_string(), None, Some(dir), 0, 0, None)
        }
    };
    let build_seconds = started.elapsed().as_secs_f64();
    let options = AnalyzeOptions { packages: false, base_layers, ..AnalyzeOptions::default() };
    let report = analyze_reference(&reference, &options)?;
    let t = &report.totals;
    let figures = Figures {
        content_bytes: t.content_bytes,
        compressed_bytes: t.compressed_bytes,
        layers: t.layers,
        user_bytes: t.user_bytes,
        invisible_bytes: report.layers.iter().map(|l| l.invisible_bytes).sum(),
        build_seconds,
        steps,
        steps_cached: cached,
    };
    Ok(Built { figures, reference, name, _dir: dir, files: Default::default() })
}

fn open(reference: &str) -> miette::Result<Image> {
    let reference = ImageRef::parse(reference)?;
    Ok(Image::open(&reference, &OpenOptions::default())?)
}

/// Builds the proposal with its runtime stage on `scratch` (when the multi-stage transform
/// made one that can be: [`crate::rewrite::transforms::multi_stage::on_scratch`]) and keeps it
/// when its program runs as the original's, it passes the safety check, and it is smaller than
/// `after`: the proposal, its image, its safety and its program's check.
fn scratch_candidate(
    opts: &MeasureOptions,
    original: &str,
    before: &Built,
    proposal: &Proposal,
    after: &Built,
    multi_stage: bool,
) -> miette::Result<Option<Candidate>> {
    if !multi_stage || opts.build.builder != BuilderKind::Imgopt {
        return Ok(None);
    }
    let candidate = moved_to_scratch(proposal.clone());
    if candidate.text == proposal.text {
        return Ok(None);
    }
    let built = build(opts, &candidate.text, "the proposal with its runtime stage on scratch")?;
    if built.figures.content_bytes >= after.figures.content_bytes {
        return Ok(None);
    }
    let (safety, artifact) = check_proposal(opts, original, before, &built, true)?;
    let runs = artifact.as_ref().is_some_and(|a| a.runs);
    Ok((runs && safety.passed()).then_some(Candidate { proposal: candidate, built, safety, artifact }))
}

/// A proposal built and checked.
struct Candidate {
    proposal: Proposal,
    built: Built,
    safety: Safety,
    artifact: Option<ArtifactCheck>,
}

/// The proposal with its multi-stage runtime stage on `scratch`, its reason saying so (the
/// text is unchanged when the stage cannot be moved).
fn moved_to_scratch(mut p: Proposal) -> Proposal {
    if let Some(text) = crate::rewrite::transforms::multi_stage::on_scratch(&p.text) {
        p.text = text;
        for a in p.applied.iter_mut().filter(|a| a.transform == "multi-stage") {
            a.reason.push_str("; measured: the program runs on `scratch`, so the runtime stage starts from nothing");
        }
    }
    p
}

/// The safety check of `after` (a proposal, `multi_stage` when that transform made it)
/// against `before`: what a multi-stage result leaves out is expected only when its own image
/// is shown to run the program as the original does.
fn check_proposal(
    opts: &MeasureOptions,
    original: &str,
    before: &Built,
    after: &Built,
    multi_stage: bool,
) -> miette::Result<(Safety, Option<ArtifactCheck>)> {
    let artifact = match (multi_stage, &before.name, &after.name) {
        (true, Some(b), Some(a)) => Some(artifact_check(opts, original, b, a)?),
        _ => None,
    };
    let removals_expected = artifact.as_ref().is_some_and(|a| a.runs);
    // The original is compared with every proposal measured: its files are read once.
    let (old_image, new_image) = (open(&before.reference)?, open(&after.reference)?);
    let (old, new) = rayon::join(|| before.files(&old_image), || safety::final_filesystem(&new_image));
    let comparison = safety::compare_read(&old_image, old?, &new_image, &new?);
    Ok((read_comparison(&comparison, removals_expected), artifact))
}

fn read_comparison(comparison: &Comparison, removals_expected: bool) -> Safety {
    let mut out = Safety::default();
    for group in comparison.grouped() {
        let line = group.to_string();
        let toolchain = removals_expected && (group.is_removal() || is_package_state(&group.path));
        if group.expected.is_some() || toolchain {
            out.expected.push(line);
        } else {
            out.unexpected.push(line);
        }
    }
    for c in &comparison.config {
        out.unexpected.push(c.to_string());
    }
    out
}

/// Files a package install rewrites (the package databases, debconf's answers, the dynamic
/// linker's cache, the alternatives): a runtime stage without the toolchain's packages has
/// other contents there.
fn is_package_state(path: &str) -> bool {
    const STATE: &[&str] = &[
        "/var/lib/dpkg",
        "/var/lib/apt/extended_states",
        "/var/cache/debconf",
        "/var/lib/ucf",
        "/var/lib/systemd/deb-systemd-helper-enabled",
        "/lib/apk/db",
        "/var/lib/rpm",
        "/usr/lib/sysimage/rpm",
        "/etc/ld.so.cache",
        "/etc/alternatives",
    ];
    STATE.iter().any(|s| path == *s || path.strip_prefix(s).is_some_and(|rest| rest.starts_with('/')))
}

/// Builds the original and `proposal`, checks them, and measures each transform's share.
pub fn measure(opts: &MeasureOptions, original: &str, proposal: &Proposal) -> miette::Result<Measurement> {
    let named_before: Vec<String> = match opts.build.builder {
        BuilderKind::Imgopt => Store::open_default()
            .and_then(|store| store.images())
            .map(|images| images.into_iter().filter_map(|i| i.name).collect())
            .map_err(|e| error(format!("the store: {e}")))?,
        _ => Vec::new(),
    };
    let measurement = measure_builds(opts, original, proposal);
    opts.forget_built(&named_before);
    measurement
}

fn measure_builds(opts: &MeasureOptions, original: &str, proposal: &Proposal) -> miette::Result<Measurement> {
    let before = build(opts, original, "the original")?;
    let after = build(opts, &proposal.text, "the proposal")?;
    let has_multi_stage = |p: &Proposal| p.applied.iter().any(|a| a.transform == "multi-stage");
    let (safety, artifact) = check_proposal(opts, original, &before, &after, has_multi_stage(proposal))?;
    // The other runtime base within reach: scratch, kept when the program runs there too and
    // the image is smaller; then every multi-stage text measured below uses it.
    let (proposal, after, safety, artifact, on_scratch) =
        match scratch_candidate(opts, original, &before, proposal, &after, has_multi_stage(proposal))? {
            Some(c) => (c.proposal, c.built, c.safety, c.artifact, true),
            None => (proposal.clone(), after, safety, artifact, false),
        };
    let proposal = &proposal;
    let runtime = |p: Proposal| if on_scratch && has_multi_stage(&p) { moved_to_scratch(p) } else { p };
    // Each transform alone (when more than one applied).
    let mut distinct: Vec<&'static str> = Vec::new();
    for a in &proposal.applied {
        if !distinct.contains(&a.transform) {
            distinct.push(a.transform);
        }
    }
    let context_dir = Some(opts.build.context_dir());
    let mut shares = Vec::new();
    for name in &distinct {
        let saves = TRANSFORMS.iter().find(|t| t.name == *name).map_or(Saves::Bytes, |t| t.saves);
        let (figures, changes_image) = if distinct.len() == 1 {
            (after.figures.clone(), !safety.passed())
        } else {
            let alone = propose(original, &Options { only: vec![name.to_string()], context_dir: context_dir.clone() })
                .map_err(error)?;
            let alone = runtime(alone);
            let built = build(opts, &alone.text, &format!("the original with {name} alone"))?;
            let (alone_safety, _) = check_proposal(opts, original, &before, &built, has_multi_stage(&alone))?;
            (built.figures.clone(), !alone_safety.passed())
        };
        shares.push(Share {
            transform: name,
            saves,
            saved_bytes: before.figures.content_bytes as i64 - figures.content_bytes as i64,
            saved_compressed_bytes: before.figures.compressed_bytes as i64 - figures.compressed_bytes as i64,
            changes_image,
        });
    }
    let saves_time = distinct.iter().any(|t| TRANSFORMS.iter().any(|x| x.name == *t && x.saves == Saves::BuildTime));
    let rebuild = if saves_time { rebuild_after_edit(opts, original, &proposal.text)? } else { None };
    // What --write may take: the transforms that keep the image, built and checked together.
    let (mut safe_proposal, mut after_safe) = (None, None);
    if !safety.passed() {
        let safe: Vec<String> = shares.iter().filter(|s| !s.changes_image).map(|s| s.transform.to_string()).collect();
        let restricted: Vec<String> =
            if opts.only.is_empty() { safe } else { safe.into_iter().filter(|s| opts.only.contains(s)).collect() };
        if !restricted.is_empty() {
            let kept = runtime(propose(original, &Options { only: restricted, context_dir }).map_err(error)?);
            if kept.changed() {
                let built = build(opts, &kept.text, "the proposal without the transforms that change the image")?;
                if check_proposal(opts, original, &before, &built, has_multi_stage(&kept))?.0.passed() {
                    after_safe = Some(built.figures.clone());
                    safe_proposal = Some(kept);
                }
            }
        }
    }
    Ok(Measurement {
        builder: opts.build.builder.name(),
        before: before.figures,
        after: after.figures,
        safety,
        shares,
        artifact,
        rebuild,
        safe: safe_proposal,
        after_safe,
        full: proposal.clone(),
    })
}

impl Measurement {
    /// The proposal measured (with its runtime stage on `scratch` when that was measured
    /// smaller and still running the program).
    pub fn proposal(&self) -> &Proposal {
        &self.full
    }

    /// The proposal `--write` may write, or why not: measured, built, not larger, and safe (or
    /// `allow_unsafe`).
    pub fn writable(&self, allow_unsafe: bool) -> Result<&Proposal, String> {
        let not_larger = |after: &Figures| after.content_bytes <= self.before.content_bytes;
        if self.safety.passed() || allow_unsafe {
            if !not_larger(&self.after) {
                return Err(format!(
                    "the proposal is larger ({} > {} bytes)",
                    self.after.content_bytes, self.before.content_bytes
                ));
            }
            return Ok(&self.full);
        }
        match (&self.safe, &self.after_safe) {
            (Some(safe), Some(after)) if not_larger(after) => Ok(safe),
            _ => Err(format!(
                "every transform that applies changes the image ({}); --unsafe writes it anyway",
                self.safety.unexpected.first().map_or("", String::as_str)
            )),
        }
    }

    pub fn written_summary(&self, allow_unsafe: bool) -> String {
        let after = if self.safety.passed() || allow_unsafe {
            &self.after
        } else {
            self.after_safe.as_ref().unwrap_or(&self.after)
        };
        let left_out: Vec<&str> =
            self.shares.iter().filter(|s| s.changes_image && !allow_unsafe).map(|s| s.transform).collect();
        let mut s = format!("{} → {} bytes", self.before.content_bytes, after.content_bytes);
        if !left_out.is_empty() {
            let _ = write!(s, "; left out because they change the image: {}", left_out.join(", "));
        }
        s
    }
}

fn bytes(n: u64) -> String {
    crate::analyze::render::human(n)
}

/// A saving: bytes, with a minus sign when it is a loss.
fn signed(n: i64) -> String {
    crate::analyze::render::signed_human(n).trim_start_matches('+').to_string()
}

fn percent(before: u64, after: u64) -> String {
    let change = crate::analyze::compare::Change::new(before, after);
    change.percent().map_or_else(|| "-".to_string(), |p| format!("{p:+.1}%"))
}

fn rows(m: &Measurement) -> Vec<[String; 4]> {
    let (b, a) = (&m.before, &m.after);
    let row = |what: &str, before: u64, after: u64, human: bool| {
        let show = |v: u64| if human { bytes(v) } else { v.to_string() };
        [what.to_string(), show(before), show(after), percent(before, after)]
    };
    vec![
        row("image content", b.content_bytes, a.content_bytes, true),
        row("compressed", b.compressed_bytes, a.compressed_bytes, true),
        row("layers", b.layers as u64, a.layers as u64, false),
        row("added by the Dockerfile", b.user_bytes, a.user_bytes, true),
        row("invisible (shipped, hidden)", b.invisible_bytes, a.invisible_bytes, true),
        [
            "build time".to_string(),
            format!("{:.1} s ({}/{} cached)", b.build_seconds, b.steps_cached, b.steps),
            format!("{:.1} s ({}/{} cached)", a.build_seconds, a.steps_cached, a.steps),
            String::new(),
        ],
    ]
}

/// The before/after table, the shares, and the safety verdict, for a terminal.
pub fn table(m: &Measurement) -> String {
    let mut out = format!("\nmeasured with {}:\n", m.builder);
    let _ = writeln!(out, "  {:<30} {:>22} {:>22} {:>8}", "", "before", "after", "change");
    for [what, before, after, change] in rows(m) {
        let _ = writeln!(out, "  {what:<30} {before:>22} {after:>22} {change:>8}");
    }
    if !m.shares.is_empty() {
        out.push_str("each transform alone:\n");
        for s in &m.shares {
            let _ = writeln!(
                out,
                "  {:<22} saves {} ({} compressed){}",
                s.transform,
                signed(s.saved_bytes),
                signed(s.saved_compressed_bytes),
                if s.changes_image { "  — changes the image" } else { "" }
            );
        }
    }
    if let Some(a) = &m.artifact {
        let _ = writeln!(out, "program check `{}`: {}", crate::escape::control(&a.command.join(" ")), a.detail);
    }
    if let Some(r) = &m.rebuild {
        let _ = writeln!(out, "{}", r.describe(&crate::escape::control(&r.edited)));
    }
    out.push_str(&verdict(m, false));
    out
}

fn verdict(m: &Measurement, markdown: bool) -> String {
    let esc = |s: &str| if markdown { crate::escape::markdown_code(s) } else { crate::escape::control(s).into_owned() };
    let mut out = String::new();
    if m.safety.passed() {
        let _ = writeln!(out, "same files and config (apart from expected differences: {})", m.safety.expected.len());
    } else {
        let _ = writeln!(out, "the proposal changes the image:");
        for line in m.safety.unexpected.iter().take(20) {
            let _ = writeln!(out, "  - {}", esc(line));
        }
    }
    for line in m.safety.expected.iter().take(10) {
        let _ = writeln!(out, "  - expected: {}", esc(line));
    }
    out
}

/// The same, as Markdown.
pub fn markdown_table(m: &Measurement) -> String {
    let mut out = format!("Measured with {}:\n\n| | before | after | change |\n|---|---:|---:|---:|\n", m.builder);
    for [what, before, after, change] in rows(m) {
        let _ = writeln!(out, "| {what} | {before} | {after} | {change} |");
    }
    if !m.shares.is_empty() {
        out.push_str("\n| transform alone | saves | compressed | |\n|---|---:|---:|---|\n");
        for s in &m.shares {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                s.transform,
                signed(s.saved_bytes),
                signed(s.saved_compressed_bytes),
                if s.changes_image { "changes the image" } else { "" }
            );
        }
    }
    if let Some(r) = &m.rebuild {
        let _ = writeln!(out, "\n{}.", r.describe(&crate::escape::markdown_code(&r.edited)));
    }
    out.push('\n');
    out.push_str(&verdict(m, true));
    out
}

/// Copies the context, edits one source file of the copy (one no dependency install reads),
/// and rebuilds the original and the proposal there: the cache-friendly order keeps the
/// install cached. None when the context has no such file.
fn rebuild_after_edit(opts: &MeasureOptions, original: &str, proposal: &str) -> miette::Result<Option<Rebuild>> {
    let context = opts.build.context_dir();
    let store = Store::open_default().map_err(|e| error(format!("the store: {e}")))?;
    let copy = store.temp_dir("rewrite-context").map_err(|e| error(format!("the store: {e}")))?;
    copy_tree(&context, &copy.path).map_err(|e| error(format!("copying the build context: {e}")))?;
    let manifests = manifest_names(original);
    let mut files: Vec<String> = Vec::new();
    list_files(&copy.path, &copy.path, &mut files);
    files.sort();
    let skip = |f: &str| {
        let name = f.rsplit('/').next().unwrap_or(f);
        manifests.iter().any(|m| m == f || m == name)
            || name.starts_with("Dockerfile")
            || name.ends_with(".dockerignore")
            || name.starts_with('.')
    };
    let Some(edited) = files.into_iter().find(|f| !skip(f)) else { return Ok(None) };
    let target = copy.path.join(&edited);
    let mut bytes = std::fs::read(&target).map_err(|e| error(format!("{edited}: {e}")))?;
    bytes.extend_from_slice(b"\n");
    std::fs::write(&target, bytes).map_err(|e| error(format!("{edited}: {e}")))?;
    let mut args = opts.build.clone();
    args.context = Some(copy.path.clone());
    let edited_opts = MeasureOptions::new(args, None, Vec::new());
    let before = build(&edited_opts, original, &format!("the original after an edit of {edited}"));
    let after = build(&edited_opts, proposal, &format!("the proposal after an edit of {edited}"));
    opts.built(&edited_opts.built.take());
    let (before, after) = (before?.figures, after?.figures);
    Ok(Some(Rebuild { edited, before, after }))
}

/// The manifest files the dependency installs of `text` read.
fn manifest_names(text: &str) -> Vec<String> {
    let Ok(doc) = crate::model::document::Document::parse(text) else { return Vec::new() };
    let scripts = crate::model::run_script::run_scripts(&doc);
    scripts
        .iter()
        .flat_map(|s| s.commands())
        .filter_map(|c| crate::model::dependencies::dependency_install(&c))
        .flat_map(|i| i.manifests)
        .collect()
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            std::fs::create_dir_all(&dst)?;
            copy_tree(&src, &dst)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

fn list_files(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(k) if k.is_dir() => list_files(root, &path, out),
            Ok(k) if k.is_file() => {
                if let Ok(rel) = path.strip_prefix(root) {
                    out.push(rel.to_string_lossy().into_owned());
                }
            }
            _ => {}
        }
    }
}

/// Collects the output of a probe build.
#[derive(Default)]
struct Capture {
    lines: Vec<String>,
}

impl Progress for Capture {
    fn output(&mut self, line: &str) {
        if self.lines.len() < 200 {
            self.lines.push(line.to_string());
        }
    }
    fn step_done(&mut self, _step: &StepReport) {}
}

/// Runs `argv` in the image `name` of the store (a probe build `FROM name` with an exec-form
/// RUN, never cached): its exit status (0 or the step's code) and output.
fn probe(opts: &MeasureOptions, name: &str, argv: &[String]) -> miette::Result<(i32, Vec<String>)> {
    let json = serde_json::to_string(argv).map_err(error)?;
    let text = format!("FROM {name}\nRUN {json}\n");
    let mut options: BuildOptions = opts.build.options(Vec::new()).map_err(error)?;
    options.no_cache = true;
    options.output = None;
    let store = Store::open_default().map_err(|e| error(format!("the store: {e}")))?;
    let doc = crate::model::document::Document::parse(&text)
        .map_err(|e| error(format!("the probe of {}: {e}", argv.join(" "))))?;
    let mut capture = Capture::default();
    let outcome = {
        let builder = Builder::new(store, options, &mut capture);
        builder.build(&doc)
    };
    match outcome {
        Ok(result) => {
            opts.built(std::slice::from_ref(&result.name));
            Ok((0, capture.lines))
        }
        Err(BuildError::StepFailed { code, .. }) => Ok((code, capture.lines)),
        // The program could not be started there (no such file, its loader or its user
        // missing): it does not run in that image, as a shell's 127 says.
        Err(BuildError::Sandbox { message, .. }) => Ok((127, vec![message])),
        Err(e) => Err(error(format!("running {} in {name}: {e}", argv.join(" ")))),
    }
}

/// Shows that the multi-stage result still runs its program: the user's `--check`, else the
/// image's own program with `--version`, then `--help`, then as is — the first that exits 0 in
/// the original must exit 0 with the same output in the proposal.
fn artifact_check(opts: &MeasureOptions, original: &str, before: &str, after: &str) -> miette::Result<ArtifactCheck> {
    let program = program_of(original);
    let candidates: Vec<Vec<String>> = match &opts.check {
        Some(c) => vec![c.split_whitespace().map(str::to_string).collect()],
        None => match program {
            Some(p) => vec![
                [p.clone(), vec!["--version".to_string()]].concat(),
                [p.clone(), vec!["--help".to_string()]].concat(),
                p,
            ],
            None => Vec::new(),
        },
    };
    for command in candidates.into_iter().filter(|c| !c.is_empty()) {
        let (code, output) = probe(opts, before, &command)?;
        if code != 0 {
            continue;
        }
        let (after_code, after_output) = probe(opts, after, &command)?;
        let runs = after_code == 0 && after_output == output;
        let detail = if runs {
            "exits 0 with the same output in both images".to_string()
        } else if after_code != 0 {
            format!("exits {after_code} in the proposal (0 in the original)")
        } else {
            "exits 0 but prints something else in the proposal".to_string()
        };
        return Ok(ArtifactCheck { command, runs, detail });
    }
    Ok(ArtifactCheck {
        command: Vec::new(),
        runs: false,
        detail: "no command exits 0 in the original image (give one with --check)".to_string(),
    })
}

/// The image's program as an argv: ENTRYPOINT + CMD of the last stage.
fn program_of(text: &str) -> Option<Vec<String>> {
    let doc = crate::model::document::Document::parse(text).ok()?;
    let stage = doc.model.stages.last()?;
    crate::rewrite::transforms::multi_stage::program_words(&doc, stage).map(|(argv, _)| argv)
}

#[cfg(test)]
mod tests {
    use super::is_package_state;

    #[test]
    fn package_state_is_the_databases_and_what_installs_rewrite() {
        for path in ["/var/lib/dpkg/status", "/var/cache/debconf", "/var/cache/debconf/config.dat", "/etc/ld.so.cache"]
        {
            assert!(is_package_state(path), "{path}");
        }
        for path in ["/var/cache/debconf-extra", "/var/lib", "/usr/local/bin/app", "/etc/passwd"] {
            assert!(!is_package_state(path), "{path}");
        }
    }
}
