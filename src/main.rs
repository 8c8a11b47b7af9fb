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
    /// Lint Dockerfiles.
    Lint(imgopt::lint::cli::LintArgs),
    /// List the lint rules.
    Rules(imgopt::lint::cli::RulesArgs),
    /// Show the documentation of one lint rule (code, name, hadolint code or BuildKit check name).
    Explain { rule: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Lint(args) => imgopt::lint::cli::lint(&args),
        Command::Rules(args) => imgopt::lint::cli::rules(&args),
        Command::Explain { rule } => imgopt::lint::cli::explain(&rule),
        Command::Parse { json, files } => {
            let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
            match imgopt::commands::parse::run(&files, json, &mut out, &mut err) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("imgopt: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
