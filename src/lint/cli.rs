//! The `lint`, `rules` and `explain` subcommands: arguments and exit codes. The work is done by
//! [`super::run`], [`super::render`] and [`super::docs`].

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::config::{parse_threshold, Config};
use super::render::{render, Format};
use super::run::{self, ConfigSource, FixMode, Overrides};
use super::{Applicability, FileReport, Severity};

/// Exit codes: 0 clean, 1 findings at or above the failure threshold, 2 usage or I/O error.
const EXIT_FINDINGS: u8 = 1;
const EXIT_ERROR: u8 = 2;

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// Files or directories (searched for Dockerfiles, respecting .gitignore); `-` reads stdin.
    /// Default: the current directory.
    pub paths: Vec<PathBuf>,
    /// Output format (default: github when GITHUB_ACTIONS=true, full on a terminal, else concise).
    #[arg(long = "format", visible_alias = "output-format", value_enum)]
    pub format: Option<Format>,
    /// Exit 1 only for findings at or above this severity: error, warning, info, style, none.
    #[arg(long)]
    pub failure_threshold: Option<String>,
    /// Exit 0 even when there are findings.
    #[arg(long)]
    pub exit_zero: bool,
    /// Apply safe fixes to the files.
    #[arg(long)]
    pub fix: bool,
    /// Also apply (or show) unsafe fixes.
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Show the fixes as a diff instead of writing them.
    #[arg(long)]
    pub diff: bool,
    /// Use this config file (.imgopt.toml or .hadolint.yaml) instead of discovering one.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Ignore every config file.
    #[arg(long, conflicts_with = "config")]
    pub isolated: bool,
    /// The file name to report for stdin (and to match per-path settings).
    #[arg(long)]
    pub stdin_filename: Option<String>,
    /// The build context the Dockerfiles are built with, where its .dockerignore is looked up
    /// (a `NAME.dockerignore` beside Dockerfile NAME comes first, as BuildKit does). Default:
    /// each Dockerfile's directory; for stdin, that of --stdin-filename, else the current one.
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,
    /// Only these rules (codes, prefixes, names, hadolint codes, BuildKit names), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Add these rules to those selected (opt-in rules are turned on this way), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub extend_select: Vec<String>,
    /// Skip these rules, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: crate::commands::images::ListFormat,
    /// The same as `--format json`.
    #[arg(long)]
    pub json: bool,
    /// Regenerate the Markdown pages into this directory (the repository's `rules/`).
    #[arg(long, value_name = "DIR")]
    pub write_docs: Option<PathBuf>,
}

/// Reports an error as every command does ([`crate::commands::print_error`]); exit 2.
fn fail(report: miette::Report) -> ExitCode {
    crate::commands::print_error(&report);
    ExitCode::from(EXIT_ERROR)
}

/// A command line imgopt cannot run.
fn usage(message: impl std::fmt::Display) -> miette::Report {
    miette::miette!(code = "imgopt::usage", "{message}")
}

/// Reading or writing failed.
fn io_failure(message: impl std::fmt::Display) -> miette::Report {
    miette::miette!(code = "imgopt::io", "{message}")
}

pub fn lint(args: &LintArgs) -> ExitCode {
    let minimum = if args.unsafe_fixes { Applicability::Unsafe } else { Applicability::Safe };
    let fix = match (args.diff, args.fix) {
        (true, _) => FixMode::Diff(minimum),
        (false, true) => FixMode::Write(minimum),
        (false, false) => FixMode::None,
    };
    if let FixMode::Write(_) = fix {
        // A file-size limit then fails the write with EFBIG, whose error path removes the
        // temporary file, instead of killing imgopt with the temporary file left behind.
        crate::fsio::ignore_file_size_signal();
    }
    let configs = match (&args.config, args.isolated) {
        (Some(path), _) => match Config::load(path) {
            Ok(c) => ConfigSource::Fixed(Arc::new(c)),
            Err(e) => return fail(miette::Report::new(e)),
        },
        (None, true) => ConfigSource::None,
        (None, false) => ConfigSource::Discover,
    };
    let cli_threshold = match args.failure_threshold.as_deref().map(parse_threshold).transpose() {
        Ok(t) => t,
        Err(e) => return fail(usage(format!("--failure-threshold: {e}"))),
    };
    if let Some(dir) = args.context.as_ref().filter(|d| !d.is_dir()) {
        return fail(usage(format!("--context: no such directory: {}", dir.display())));
    }
    for (flag, keys) in [("--select", &args.select), ("--extend-select", &args.extend_select)] {
        if let Some(key) = super::suppress::unknown_selectors(keys).first() {
            return fail(usage(format!("{flag}: `{key}` names no rule (see `imgopt rules`)")));
        }
    }
    for key in super::suppress::unknown_selectors(&args.ignore) {
        eprintln!("imgopt: warning: --ignore: `{key}` names no rule");
    }
    let overrides = Overrides {
        select: args.select.clone(),
        extend_select: args.extend_select.clone(),
        ignore: args.ignore.clone(),
        context: args.context.clone(),
    };

    let mut results = Vec::new();
    let mut io_error = false;
    let stdin = args.paths.iter().any(|p| p.as_os_str() == "-");
    if stdin {
        let mut bytes = Vec::new();
        let max = crate::syntax::MAX_DOCKERFILE_BYTES;
        if let Err(e) = std::io::stdin().take(max + 1).read_to_end(&mut bytes) {
            return fail(io_failure(format!("cannot read stdin: {e}")));
        }
        if bytes.len() as u64 > max {
            return fail(io_failure(format!("stdin: a Dockerfile may be at most {max} bytes")));
        }
        let name = args.stdin_filename.clone().unwrap_or_else(|| "-".to_string());
        let config = match &configs {
            ConfigSource::Fixed(c) => Some(c.clone()),
            ConfigSource::None => None,
            ConfigSource::Discover => match Config::discover(&PathBuf::from(&name)) {
                Ok(c) => c.map(Arc::new),
                Err(e) => return fail(miette::Report::new(e)),
            },
        };
        let excluded = config.as_deref().is_some_and(|c| c.excludes(name.as_ref()));
        let mut settings = run::settings_for(config.as_deref(), name.as_ref(), &overrides);
        settings.dockerignore = run::IgnoreFiles::default().for_dockerfile(name.as_ref(), overrides.context.as_deref());
        let threshold = config.and_then(|c| c.failure_threshold.clone());
        // With --fix, stdin's fixed text goes to stdout; findings are then rendered to stderr.
        if excluded {
            // An excluded file passes through --fix unchanged.
            if let FixMode::Write(_) = fix {
                if let Err(e) = std::io::stdout().write_all(&bytes) {
                    return fail(io_failure(format!("cannot write output: {e}")));
                }
            }
        } else {
            let linted = run::lint_one(&name, &bytes, &settings, fix, threshold);
            if let (FixMode::Write(_), Some(outcome)) = (fix, &linted.fixed) {
                print!("{}{}", if linted.had_bom { "\u{feff}" } else { "" }, outcome.text);
            }
            results.push(linted);
        }
    }
    let paths: Vec<PathBuf> = args.paths.iter().filter(|p| p.as_os_str() != "-").cloned().collect();
    if !stdin || !paths.is_empty() {
        let paths = if paths.is_empty() { vec![PathBuf::from(".")] } else { paths };
        let files = match super::discover::discover(&paths) {
            Ok(f) => f,
            Err(e) => return fail(miette::Report::new(e)),
        };
        if files.is_empty() {
            // Not an error (a repository may have none yet), but not silence either.
            let named: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            eprintln!(
                "imgopt: no Dockerfile found in {} (looked for Dockerfile, Containerfile, *.Dockerfile and Dockerfile.*; files named on the command line are linted whatever their name)",
                crate::escape::control(&named.join(", "))
            );
        }
        // Every config is read and checked before a file is linted: a bad one stops the run
        // before any finding is printed.
        let plans = match run::plan(&files, &configs, &overrides) {
            Ok(p) => p,
            Err(e) => return fail(miette::Report::new(e)),
        };
        for result in run::lint_planned(plans, &overrides, fix) {
            match result {
                Ok(l) => results.push(l),
                Err(e) => {
                    crate::commands::print_error(&miette::Report::new(e));
                    io_error = true;
                }
            }
        }
    }

    let format = args.format.unwrap_or_else(Format::default_for_environment);
    let color = format == Format::Full
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let reports: Vec<FileReport> = results.iter().map(|l| l.report.clone()).collect();
    let stdout_taken = stdin && matches!(fix, FixMode::Write(_));
    let written = if stdout_taken {
        render(format, &reports, false, &mut std::io::stderr().lock())
    } else {
        let mut out = std::io::stdout().lock();
        let mut r = render(format, &reports, color, &mut out);
        if let FixMode::Diff(_) = fix {
            for l in &results {
                if let Some(outcome) = l.fixed.as_ref().filter(|o| o.text != l.original) {
                    r = r.and_then(|()| {
                        write!(out, "{}", super::fix::unified_diff(&l.report.path, &l.original, &outcome.text))
                    });
                }
            }
        }
        r
    };
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return fail(io_failure(format!("cannot write output: {e}")));
        }
    }
    if let FixMode::Write(_) = fix {
        let applied: usize = results.iter().filter_map(|l| l.fixed.as_ref()).map(|o| o.applied.len()).sum();
        let rolled_back: Vec<&str> =
            results.iter().filter_map(|l| l.fixed.as_ref()).flat_map(|o| o.rolled_back.iter().copied()).collect();
        eprintln!("imgopt: applied {applied} fix{}", if applied == 1 { "" } else { "es" });
        if !rolled_back.is_empty() {
            eprintln!("imgopt: rolled back fixes that broke parsing: {}", rolled_back.join(", "));
        }
    }

    if io_error {
        return ExitCode::from(EXIT_ERROR);
    }
    if args.exit_zero {
        return ExitCode::SUCCESS;
    }
    let mut failed = false;
    for l in &results {
        let threshold = match (cli_threshold, &l.failure_threshold) {
            (Some(t), _) => t,
            // A config's threshold was checked when the config was loaded.
            (None, Some(t)) => parse_threshold(t).unwrap_or(Some(Severity::Style)),
            (None, None) => Some(Severity::Style),
        };
        failed |= threshold.is_some_and(|t| l.report.diagnostics.iter().any(|d| d.severity >= t));
    }
    if failed {
        ExitCode::from(EXIT_FINDINGS)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn rules(args: &RulesArgs) -> ExitCode {
    if let Some(dir) = &args.write_docs {
        return match super::docs::write_pages(dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(io_failure(format!("cannot write {}: {e}", dir.display()))),
        };
    }
    let mut out = std::io::stdout().lock();
    let written = if args.json || args.format == crate::commands::images::ListFormat::Json {
        let list: Vec<_> = super::rules::RULES
            .iter()
            .map(|r| {
                let m = &r.meta;
                serde_json::json!({"code": m.code, "name": m.name, "category": m.category, "severity": m.severity,
                    "fix": m.fix, "hadolint": m.hadolint, "buildkit": m.buildkit, "summary": m.summary})
            })
            .collect();
        writeln!(out, "{}", serde_json::Value::from(list))
    } else {
        super::rules::RULES.iter().try_for_each(|r| {
            let m = &r.meta;
            let mapped: Vec<&str> = m.hadolint.iter().copied().chain(m.buildkit).collect();
            writeln!(
                out,
                "{:<7} {:<34} {:<11} {:<8} {:<28} {}",
                m.code,
                m.name,
                m.category.as_str(),
                m.severity.as_str(),
                mapped.join(","),
                m.summary
            )
        })
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => fail(io_failure(format!("cannot write output: {e}"))),
    }
}

pub fn explain(key: &str) -> ExitCode {
    match super::rules::find(key) {
        Some(rule) => {
            print!("{}", super::docs::rule_page(&rule.meta));
            ExitCode::SUCCESS
        }
        None => fail(usage(format!("no rule `{key}` (see `imgopt rules`)"))),
    }
}
