//! `imgopt rewrite`: propose a smaller Dockerfile as a labelled diff; with `--measure` build
//! both and prove it; with `--write` replace the file when the proof holds.

use std::path::Path;
use std::process::ExitCode;

use crate::commands::build::BuildArgs;
use crate::model::document::Source;
use crate::rewrite::measure::{self, MeasureOptions};
use crate::rewrite::render::{self, Format};
use crate::rewrite::{propose, Options};

#[derive(clap::Args, Debug)]
pub struct RewriteArgs {
    /// Build the original and the proposal and report measured sizes, and check that the
    /// proposal's image holds the same files and config.
    #[arg(long)]
    pub measure: bool,
    /// Replace the Dockerfile with the proposal when it was measured, built, is not larger and
    /// passed the safety check (implies --measure). Transforms that change the image are left out.
    #[arg(long)]
    pub write: bool,
    /// Only these transforms (comma-separated): package-hygiene, no-install-recommends,
    /// cleanup-into-creator, merge-runs, copy-chown, add-to-copy, cache-order, multi-stage.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// diff (labelled unified diff), json, or markdown (for a job summary).
    #[arg(long, value_enum, default_value = "diff")]
    pub format: Format,
    /// With --write: keep transforms that change the image too.
    #[arg(long = "unsafe")]
    pub allow_unsafe: bool,
    /// A command (run in the image, no shell: words split on blanks) that shows a multi-stage
    /// program still runs, instead of its own CMD with --version/--help.
    #[arg(long, value_name = "CMD")]
    pub check: Option<String>,
    /// Also write the proposal as pull-request review suggestions to FILE (the JSON body of
    /// GitHub's "create a review" call, one suggestion per changed run of lines); with
    /// --measure, only what --write would take.
    #[arg(long, value_name = "FILE")]
    pub review: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub build: BuildArgs,
}

fn error(message: impl std::fmt::Display) -> miette::Report {
    miette::miette!(code = "imgopt::rewrite", "{message}")
}

pub fn run(args: &RewriteArgs) -> miette::Result<ExitCode> {
    let path = args.build.dockerfile();
    let source = Source::read(&path)?;
    // A Dockerfile that does not parse gets the loader's own diagnostic, with its span.
    source.document()?;
    let options = Options { only: args.only.clone(), context_dir: Some(args.build.context_dir()) };
    let proposal = propose(source.text(), &options).map_err(error)?;
    let name = path.display().to_string();
    let measuring = args.measure || args.write;
    let measurement = if measuring && proposal.changed() {
        let opts = MeasureOptions::new(args.build.clone(), args.check.clone(), args.only.clone());
        Some(measure::measure(&opts, source.text(), &proposal)?)
    } else {
        None
    };
    // What was measured: the proposal, or its variant the measurement found smaller (a runtime
    // stage on scratch).
    let proposal = measurement.as_ref().map_or(&proposal, |m| m.proposal());
    match args.format {
        Format::Diff => {
            print!("{}", render::diff(&name, proposal));
            eprint!("{}", render::offers(proposal));
            if let Some(m) = &measurement {
                eprint!("{}", measure::table(m));
            }
        }
        Format::Json => print!("{}", render::json(&name, proposal, measurement.as_ref())),
        Format::Markdown => print!("{}", render::markdown(&name, proposal, measurement.as_ref())),
    }
    if let Some(file) = &args.review {
        let code = crate::escape::markdown_code;
        let (suggested, headline) = match &measurement {
            _ if !proposal.changed() => (None, format!("imgopt rewrite has nothing to propose for {}.", code(&name))),
            None => {
                (Some(proposal), format!("imgopt rewrite proposes a smaller image for {} (not measured).", code(&name)))
            }
            Some(m) => match m.writable(false) {
                Ok(p) => (
                    Some(p),
                    format!("imgopt rewrite: {} builds smaller, measured: {}.", code(&name), m.written_summary(false)),
                ),
                Err(why) => (None, format!("imgopt rewrite has no suggestion for {}: {}.", code(&name), code(&why))),
            },
        };
        let review = render::review(&name, suggested, &headline);
        crate::fsio::write_atomic(file, review.as_bytes())
            .map_err(|e| error(format!("cannot write {}: {e}", file.display())))?;
    }
    if !proposal.changed() {
        eprintln!("{name}: nothing to propose");
        return Ok(ExitCode::SUCCESS);
    }
    if !args.write {
        return Ok(ExitCode::FAILURE);
    }
    let Some(m) = measurement else { return Ok(ExitCode::FAILURE) };
    match m.writable(args.allow_unsafe) {
        Ok(written) => {
            write(&path, &source, &written.text)?;
            eprintln!("{name}: written ({})", m.written_summary(args.allow_unsafe));
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            eprintln!("{name}: not written: {why}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Replaces the Dockerfile atomically, with its byte-order mark as it was (line endings and
/// the escape character are the original's: the edits keep them).
fn write(path: &Path, source: &Source, text: &str) -> miette::Result<()> {
    let mut bytes = Vec::with_capacity(text.len() + 3);
    if source.had_bom {
        bytes.extend_from_slice("\u{feff}".as_bytes());
    }
    bytes.extend_from_slice(text.as_bytes());
    crate::fsio::write_atomic(path, &bytes).map_err(|e| error(format!("cannot write {}: {e}", path.display())))
}
