use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Make container images small and Dockerfiles clean.
#[derive(Parser)]
#[command(name = "imgopt", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show how a Dockerfile is read (BuildKit's dump format, or JSON lines with --json).
    Parse {
        /// One JSON object per file, one per line.
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Account for every byte of an image: per layer, what is shipped and what stays visible.
    Analyze(AnalyzeArgs),
    /// Lint Dockerfiles.
    Lint(imgopt::lint::cli::LintArgs),
    /// List the lint rules.
    Rules(imgopt::lint::cli::RulesArgs),
    /// Show the documentation of one lint rule (code, name, hadolint code or BuildKit check name).
    Explain { rule: String },
}

#[derive(clap::Args)]
struct AnalyzeArgs {
    /// oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG], registry:NAME[:TAG|@DIGEST] or a bare NAME
    #[arg(long)]
    image: String,
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
    /// Fail (exit 1) when more bytes than this are reclaimable (e.g. 20MB, 5MiB).
    #[arg(long, value_parser = imgopt::analyze::gates::parse_bytes)]
    max_wasted_bytes: Option<u64>,
    /// Fail when reclaimable / content bytes exceeds this fraction.
    #[arg(long)]
    max_wasted_ratio: Option<f64>,
    /// Fail when final filesystem / content bytes is below this fraction.
    #[arg(long)]
    min_efficiency: Option<f64>,
    /// A dive `.dive-ci` file with the same rules; command-line limits win.
    #[arg(long)]
    ci_config: Option<PathBuf>,
    /// The Dockerfile the image was built from: each layer is mapped to the line that made it.
    #[arg(short = 'f', long = "file")]
    file: Option<PathBuf>,
    /// List every installed package, not only the largest (table and markdown; JSON lists all).
    #[arg(long, conflicts_with = "skip_packages")]
    packages: bool,
    /// Do not read the package databases (dpkg, apk, pip, npm, gems).
    #[arg(long)]
    skip_packages: bool,
}

fn analyze(args: AnalyzeArgs) -> miette::Result<ExitCode> {
    use imgopt::analyze::{analyze_reference, gates::Gates, render, AnalyzeOptions};
    let platform = args
        .platform
        .as_deref()
        .map(imgopt::image::Platform::parse)
        .transpose()
        .map_err(|m| miette::miette!("--platform: {m}"))?;
    let dockerfile = args.file.as_deref().map(imgopt::analyze::dockerfile_map::DockerfileSteps::read).transpose()?;
    let options = AnalyzeOptions {
        platform,
        verify: args.verify,
        base_layers: args.base_layers,
        top: args.top,
        dockerfile,
        packages: !args.skip_packages,
    };
    let mut gates = Gates {
        max_wasted_bytes: args.max_wasted_bytes,
        max_wasted_ratio: args.max_wasted_ratio,
        min_efficiency: args.min_efficiency,
    };
    if let Some(path) = &args.ci_config {
        gates = gates.with_dive_ci(path)?;
    }
    let report = analyze_reference(&args.image, &options)?;
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
    Ok(match run(files, json, &mut out, &mut err).map_err(|e| miette::miette!("{e}"))? {
        Outcome::AllParsed => ExitCode::SUCCESS,
        Outcome::Rejected => ExitCode::FAILURE,
        Outcome::Unreadable => ExitCode::from(2),
    })
}

/// Exit codes, the same for every command: 0 success, 1 findings or a failed gate, 2 an error
/// (bad input, I/O, usage).
fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Parse { json, files } => parse(json, &files),
        Command::Analyze(args) => analyze(args),
        Command::Lint(args) => Ok(imgopt::lint::cli::lint(&args)),
        Command::Rules(args) => Ok(imgopt::lint::cli::rules(&args)),
        Command::Explain { rule } => Ok(imgopt::lint::cli::explain(&rule)),
    };
    result.unwrap_or_else(|report| {
        eprintln!("Error: {report:?}");
        ExitCode::from(2)
    })
}
