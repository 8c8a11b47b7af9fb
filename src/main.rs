use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Make container images small and Dockerfiles clean.
#[derive(Parser)]
// The version and the commit it was built from (build.rs).
#[command(name = "imgopt", version = env!("IMGOPT_LONG_VERSION"), about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show how a Dockerfile is read (BuildKit's dump format, or JSON lines with --format json).
    Parse {
        /// Output format: BuildKit's dump, or one JSON object per file, one per line.
        #[arg(long, value_enum, default_value = "dump")]
        format: imgopt::commands::parse::ParseFormat,
        /// The same as `--format json`.
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Account for every byte of an image: per layer, what is shipped and what stays visible.
    Analyze(AnalyzeArgs),
    /// Build a Dockerfile at two git revisions and compare the images: totals, and the lines whose
    /// layers changed size.
    Diff(DiffArgs),
    /// Lint Dockerfiles.
    Lint(imgopt::lint::cli::LintArgs),
    /// Build an image from a Dockerfile with imgopt's own builder (overlayfs, namespaces; no daemon).
    Build(BuildCmd),
    /// Propose a smaller Dockerfile as a diff; --measure builds both and proves it.
    Rewrite(imgopt::commands::rewrite::RewriteArgs),
    /// List the images in imgopt's store (IMGOPT_STORE, else ~/.cache/imgopt/store).
    Images(imgopt::commands::images::ImagesArgs),
    /// Copy an image from an oci:, oci-archive: or docker-archive: reference into the store.
    Load(imgopt::commands::images::LoadArgs),
    /// Remove image names from the store (`imgopt prune` then frees their space).
    Rmi(imgopt::commands::images::RmiArgs),
    /// Free space in the store: step cache, snapshots and blobs no named image needs.
    Prune(imgopt::commands::images::PruneArgs),
    /// List the lint rules.
    Rules(imgopt::lint::cli::RulesArgs),
    /// Show the documentation of one lint rule (code, name, hadolint code or BuildKit check name).
    Explain { rule: String },
}

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// Analyze this image instead of building the Dockerfile: oci:DIR[:TAG], oci-archive:FILE[:TAG],
    /// docker-archive:FILE[:NAME:TAG], registry:NAME[:TAG|@DIGEST], a bare NAME, or the path of an
    /// archive or layout (`./app.tar`: its format is told by what it holds, as it is for either
    /// archive prefix). With -f, each layer is mapped to the line that made it.
    #[arg(long)]
    image: Option<String>,
    /// Build options (without --image: imgopt builds the Dockerfile, then analyzes the result).
    #[command(flatten)]
    build: imgopt::commands::build::BuildArgs,
    #[arg(long, value_enum, default_value = "table")]
    format: imgopt::analyze::render::Format,
    /// Check every blob digest and diff_id while reading.
    #[arg(long)]
    verify: bool,
    /// os/arch[/variant] to pick from a multi-platform index (default: this machine's).
    #[arg(long)]
    platform: Option<String>,
    /// How many bottom layers are the base image (default: guessed from the history's last
    /// CMD/ENTRYPOINT followed by more layers, else 1 as dive counts).
    #[arg(long)]
    base_layers: Option<usize>,
    /// Length of the largest-file lists.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Fail (exit 1) when more bytes than this are reclaimable in your layers (e.g. 20MB, 5MiB).
    #[arg(long, value_parser = imgopt::analyze::gates::parse_bytes)]
    max_wasted_bytes: Option<u64>,
    /// Fail when reclaimable bytes of your layers / content bytes exceeds this fraction.
    #[arg(long)]
    max_wasted_ratio: Option<f64>,
    /// Fail when 1 - reclaimable bytes of your layers / content bytes is below this fraction.
    #[arg(long)]
    min_efficiency: Option<f64>,
    /// The gates count the base image's reclaimable bytes too (bytes it ships that a later layer
    /// hides: no edit of your Dockerfile recovers them).
    #[arg(long)]
    include_base: bool,
    /// A dive `.dive-ci` file with the same rules; command-line limits win.
    #[arg(long)]
    ci_config: Option<PathBuf>,
    /// List every installed package, not only the largest (table and markdown; JSON lists all).
    #[arg(long, conflicts_with = "skip_packages")]
    packages: bool,
    /// Do not read the package databases (dpkg, apk, pip, npm, gems).
    #[arg(long)]
    skip_packages: bool,
    /// Show the report when the image's history does not match the -f Dockerfile (its layers
    /// then tied to no line) instead of failing with exit 2.
    #[arg(long)]
    allow_mismatch: bool,
    /// Compare with this image (the before side; same references as --image): totals before →
    /// after and the lines whose layers changed size, instead of the analysis.
    #[arg(long, value_name = "IMAGE")]
    compare: Option<String>,
    #[command(flatten)]
    size: SizeArgs,
}

/// The limits and annotations of a comparison (`analyze --compare`, `diff`).
#[derive(clap::Args)]
struct SizeArgs {
    /// Fail (exit 1) when the image grows by more than this: bytes (5MB) or a percentage (10%).
    #[arg(long, value_parser = imgopt::analyze::gates::parse_growth)]
    max_growth: Option<imgopt::analyze::gates::Growth>,
    /// Fail (exit 1) when the image's content is larger than this (e.g. 200MB).
    #[arg(long, value_parser = imgopt::analyze::gates::parse_bytes)]
    max_size: Option<u64>,
    /// A line that grows the image by more than this is a finding (annotated by `--format github`).
    #[arg(long, default_value = "1MB", value_parser = imgopt::analyze::gates::parse_bytes)]
    annotate_min: u64,
}

impl SizeArgs {
    fn gates(&self) -> imgopt::analyze::gates::SizeGates {
        imgopt::analyze::gates::SizeGates { max_growth: self.max_growth, max_size: self.max_size }
    }

    fn options(&self) -> imgopt::analyze::compare::CompareOptions {
        imgopt::analyze::compare::CompareOptions { annotate_min: self.annotate_min, ..Default::default() }
    }
}

#[derive(clap::Args)]
struct DiffArgs {
    /// The revision to compare with (a commit, branch or tag).
    #[arg(long)]
    base: String,
    /// The revision to compare (default: the working tree as it is).
    #[arg(long)]
    head: Option<String>,
    /// Build options, the same for both revisions (-f and CONTEXT are read at each revision).
    #[command(flatten)]
    build: imgopt::commands::build::BuildArgs,
    /// table, json, markdown, or github (the findings as annotations).
    #[arg(long, value_enum, default_value = "table")]
    format: imgopt::analyze::render::ComparisonFormat,
    #[command(flatten)]
    size: SizeArgs,
}

/// Prints a comparison; exit 1 when a gate failed.
fn print_comparison(
    comparison: &imgopt::analyze::compare::Comparison,
    format: imgopt::analyze::render::ComparisonFormat,
    gates: &imgopt::analyze::gates::SizeGates,
) -> ExitCode {
    print!("{}", imgopt::analyze::render::render_comparison(comparison, format));
    let failures = gates.check(comparison);
    for failure in &failures {
        eprintln!("gate failed: {failure}");
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn diff(args: DiffArgs) -> miette::Result<ExitCode> {
    let request = imgopt::commands::diff::DiffRequest {
        build: &args.build,
        base: &args.base,
        head: args.head.as_deref(),
        options: args.size.options(),
    };
    let comparison = imgopt::commands::diff::diff(&request)?;
    Ok(print_comparison(&comparison, args.format, &args.size.gates()))
}

#[derive(clap::Args)]
struct BuildCmd {
    #[command(flatten)]
    build: imgopt::commands::build::BuildArgs,
    /// A name for the image in imgopt's store (repeatable).
    #[arg(short = 't', long = "tag")]
    tags: Vec<String>,
}

fn build(args: BuildCmd) -> miette::Result<ExitCode> {
    if args.build.builder != imgopt::commands::engine::BuilderKind::Imgopt {
        let built = imgopt::commands::build::build_with_engine(&args.build, &args.tags)?;
        eprintln!(
            "built {} ({} layers) with {} in {}",
            built.names[0],
            built.layers,
            args.build.builder.name(),
            built.store.root.display()
        );
        println!("{}", built.written.manifest.digest);
        return Ok(ExitCode::SUCCESS);
    }
    let (result, store, _) = imgopt::commands::build::build(&args.build, args.tags)?;
    let cached = result.steps.iter().filter(|s| s.cached).count();
    eprintln!(
        "built {} ({} layers, {} of them the base's; {} of {} steps cached) in {}",
        result.name,
        result.layers.len(),
        result.base_layers,
        cached,
        result.steps.len(),
        store.root.display()
    );
    println!("{}", result.manifest.digest);
    Ok(ExitCode::SUCCESS)
}

fn analyze(args: AnalyzeArgs) -> miette::Result<ExitCode> {
    use imgopt::analyze::{analyze_reference, gates::Gates, render, AnalyzeOptions};
    let platform = args
        .platform
        .as_deref()
        .map(imgopt::image::Platform::parse)
        .transpose()
        .map_err(|e| miette::Report::new(e).wrap_err("--platform"))?;
    let mut options = AnalyzeOptions {
        platform,
        verify: args.verify,
        base_layers: args.base_layers,
        top: args.top,
        dockerfile: None,
        built: None,
        packages: !args.skip_packages,
        shipped: None,
    };
    // An engine's image is analyzed straight from the archive it saved (kept until the end).
    let mut _engine_dir = None;
    let reference = match &args.image {
        None if args.build.builder != imgopt::commands::engine::BuilderKind::Imgopt => {
            // No exact layer map from an engine: the history is matched against the Dockerfile.
            options.dockerfile =
                Some(imgopt::analyze::dockerfile_map::DockerfileSteps::read(&args.build.dockerfile())?);
            let store = imgopt::build::store::Store::open_default()
                .map_err(|e| miette::miette!(code = "imgopt::store", "{e}"))?;
            let dir = store.temp_dir("engine").map_err(|e| miette::miette!(code = "imgopt::store", "{e}"))?;
            let reference =
                imgopt::commands::engine::build_to_archive(args.build.builder, &args.build, &[], &dir.path)?;
            _engine_dir = Some(dir);
            reference.to_string()
        }
        Some(image) => {
            options.dockerfile =
                args.build.file.as_deref().map(imgopt::analyze::dockerfile_map::DockerfileSteps::read).transpose()?;
            image.clone()
        }
        None => {
            let (result, store, dockerfile) = imgopt::commands::build::build(&args.build, Vec::new())?;
            options.built = Some(imgopt::commands::build::built_map(&dockerfile, &result)?);
            options.base_layers = options.base_layers.or(Some(result.base_layers));
            format!("oci:{}:{}", store.root.display(), result.name)
        }
    };
    // An image of imgopt's store (the one just built, or one named with --image) is reported
    // with its layers as the store ships them: compressed.
    let shipped_as_stored = |reference: &str| {
        imgopt::commands::build::shipped_blobs(reference, args.build.compression(), options.platform.as_ref())
    };
    options.shipped = shipped_as_stored(&reference)?;
    let mut gates = Gates {
        max_wasted_bytes: args.max_wasted_bytes,
        max_wasted_ratio: args.max_wasted_ratio,
        min_efficiency: args.min_efficiency,
        include_base: args.include_base,
    };
    if let Some(path) = &args.ci_config {
        gates = gates.with_dive_ci(path)?;
    }
    if let Some(before) = &args.compare {
        // Every file listed: the rows' largest files and the findings' paths come from them.
        options.top = usize::MAX;
        options.packages = false;
        let before_options = AnalyzeOptions {
            dockerfile: match (&options.dockerfile, &options.built) {
                (Some(steps), _) => Some(steps.clone()),
                // The after image was built here: the before image's history is mapped to the
                // same Dockerfile, so the lines of both have the same text.
                (None, Some(_)) => {
                    Some(imgopt::analyze::dockerfile_map::DockerfileSteps::read(&args.build.dockerfile())?)
                }
                (None, None) => None,
            },
            built: None,
            base_layers: None,
            shipped: shipped_as_stored(before)?,
            ..options.clone()
        };
        let before = analyze_reference(before, &before_options)?;
        let after = analyze_reference(&reference, &options)?;
        let comparison = imgopt::analyze::compare::compare(&before, &after, &args.size.options());
        let code = print_comparison(&comparison, args.format.into(), &args.size.gates());
        // The image's own gates (--max-wasted-bytes, ...) still apply to the after image.
        let failures = gates.check(&after);
        for failure in &failures {
            eprintln!("gate failed: {failure}");
        }
        return Ok(if failures.is_empty() { code } else { ExitCode::FAILURE });
    }
    let report = analyze_reference(&reference, &options)?;
    if let Some(why) = report.dockerfile.as_ref().and_then(|m| m.mismatch.as_ref()).filter(|_| !args.allow_mismatch) {
        return Err(miette::miette!(
            code = "imgopt::analyze::mismatch",
            help = "-f names the Dockerfile the image was built from; --allow-mismatch shows the report with no layer tied to a line",
            "{why}"
        ));
    }
    let shown = if args.packages { usize::MAX } else { render::TOP_PACKAGES };
    print!("{}", render::render_with(&report, args.format, shown));
    let failures = gates.check(&report);
    for failure in &failures {
        eprintln!("gate failed: {failure}");
    }
    Ok(if failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn parse(json: bool, files: &[PathBuf]) -> miette::Result<ExitCode> {
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    use imgopt::commands::parse::{run, Outcome};
    Ok(match run(files, json, &mut out, &mut err).map_err(|e| miette::miette!(code = "imgopt::io", "{e}"))? {
        Outcome::AllParsed => ExitCode::SUCCESS,
        Outcome::Rejected => ExitCode::FAILURE,
        Outcome::Unreadable => ExitCode::from(2),
    })
}

/// Exit codes, the same for every command: 0 success, 1 findings or a failed gate, 2 an error
/// (bad input, I/O, usage).
fn main() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|a| a == imgopt::build::sandbox::HELPER_ARG) {
        imgopt::build::sandbox::helper_main();
    }
    let result = match Cli::parse().command {
        Command::Build(args) => build(args),
        Command::Parse { format, json, files } => {
            parse(json || format == imgopt::commands::parse::ParseFormat::Json, &files)
        }
        Command::Analyze(args) => analyze(args),
        Command::Rewrite(args) => imgopt::commands::rewrite::run(&args),
        Command::Diff(args) => diff(args),
        Command::Lint(args) => Ok(imgopt::lint::cli::lint(&args)),
        Command::Images(args) => imgopt::commands::images::images(&args),
        Command::Load(args) => imgopt::commands::images::load(&args),
        Command::Rmi(args) => imgopt::commands::images::rmi(&args),
        Command::Prune(args) => imgopt::commands::images::prune(&args),
        Command::Rules(args) => Ok(imgopt::lint::cli::rules(&args)),
        Command::Explain { rule } => Ok(imgopt::lint::cli::explain(&rule)),
    };
    result.unwrap_or_else(|report| {
        imgopt::commands::print_error(&report);
        if imgopt::build::sandbox::interrupted() {
            return ExitCode::from(130);
        }
        ExitCode::from(2)
    })
}
