//! Linting many files: read, pick each file's settings, lint (in parallel), optionally fix.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use super::config::{Config, ConfigError};
use super::fix::{fix_text, FixOutcome};
use super::{lint_source, Applicability, FileReport, Settings};
use crate::context::{self, IgnoreFile};
use crate::model::document::Source;

/// Where settings come from.
pub enum ConfigSource {
    /// `--config FILE` for every Dockerfile.
    Fixed(Arc<Config>),
    /// The nearest `.imgopt.toml`/`.hadolint.yaml` above each file, then the user config.
    Discover,
    /// No config files (tests, `--isolated`).
    None,
}

/// Command-line adjustments applied on top of each file's config.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub select: Vec<String>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    /// `--context`: the build context of every Dockerfile (default: each one's directory).
    pub context: Option<PathBuf>,
}

/// Ignore files, each read once for all the Dockerfiles that share it.
#[derive(Default)]
pub struct IgnoreFiles(HashMap<PathBuf, Arc<IgnoreFile>>);

impl IgnoreFiles {
    /// The ignore file of `dockerfile` built with `context` (default: the Dockerfile's
    /// directory), if there is one (see [`context::ignore_file_path`]).
    pub fn for_dockerfile(&mut self, dockerfile: &Path, context: Option<&Path>) -> Option<Arc<IgnoreFile>> {
        let context = context.map_or_else(|| context::directory_of(dockerfile), Path::to_path_buf);
        let path = context::ignore_file_path(dockerfile, &context)?;
        Some(self.0.entry(path).or_insert_with_key(|p| Arc::new(IgnoreFile::load(p))).clone())
    }
}

/// What to do with fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixMode {
    /// Report only.
    None,
    /// Compute fixes and report the diff; files are not written.
    Diff(Applicability),
    /// Write the fixed files.
    Write(Applicability),
}

/// The result for one input.
pub struct Linted {
    /// The findings (after fixing, when fixing).
    pub report: FileReport,
    /// `failure-threshold` of the file's config, if it sets one.
    pub failure_threshold: Option<String>,
    /// The fixed text and what was applied, when fixes were asked for.
    pub fixed: Option<FixOutcome>,
    /// The text as read (without BOM).
    pub original: String,
    pub had_bom: bool,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunError {
    #[error("cannot read {path}")]
    #[diagnostic(code(imgopt::io))]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}")]
    #[diagnostic(code(imgopt::io))]
    Write { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] ConfigError),
}

/// Lints one text under `settings`. The BOM, if any, is set aside (spans refer to the text after it).
pub fn lint_one(path: &str, bytes: &[u8], settings: &Settings, fix: FixMode, threshold: Option<String>) -> Linted {
    let source = match Source::decode(path, bytes) {
        Ok(source) => source,
        Err(e) => {
            // Not UTF-8: report it as a syntax error on the lossy text.
            let text = String::from_utf8_lossy(bytes).into_owned();
            let diagnostics = e.parse_error().map(|e| super::syntax_error(e, e.span.start..e.span.start));
            let report = FileReport {
                path: path.to_string(),
                text: text.clone(),
                diagnostics: diagnostics.into_iter().collect(),
            };
            return Linted { report, failure_threshold: threshold, fixed: None, original: text, had_bom: false };
        }
    };
    let text = source.text().to_string();
    let (diagnostics, fixed, report_text) = match fix {
        FixMode::None => (lint_source(&source, settings), None, text.clone()),
        // The file stays as it is: the findings are those of the file the user has, at its
        // positions; the diff shows what --fix would change.
        FixMode::Diff(min) => (lint_source(&source, settings), Some(fix_text(&text, settings, min)), text.clone()),
        // The findings left once the fixes are written, at their positions in the new text.
        FixMode::Write(min) => {
            let outcome = fix_text(&text, settings, min);
            (outcome.remaining.clone(), Some(outcome.clone()), outcome.text)
        }
    };
    let report = FileReport { path: path.to_string(), text: report_text, diagnostics };
    Linted { report, failure_threshold: threshold, fixed, original: text, had_bom: source.had_bom }
}

/// Lints `files` in parallel, less those their config excludes; results are in the order of
/// `files`. A config that cannot be read fails the files under it.
pub fn lint_files(
    files: &[PathBuf],
    configs: &ConfigSource,
    overrides: &Overrides,
    fix: FixMode,
) -> Vec<Result<Linted, RunError>> {
    match plan(files, configs, overrides) {
        Ok(plans) => lint_planned(plans, overrides, fix),
        Err(e) => vec![Err(e)],
    }
}

/// One file to lint, with its config and the ignore file of its build context.
pub struct Plan {
    file: PathBuf,
    config: Option<Arc<Config>>,
    dockerignore: Option<Arc<IgnoreFile>>,
}

/// Reads the config of each file (cached per directory), less the files a config excludes. The
/// first config that cannot be read or is invalid is the error: nothing is linted then.
pub fn plan(files: &[PathBuf], configs: &ConfigSource, overrides: &Overrides) -> Result<Vec<Plan>, RunError> {
    let mut by_dir: HashMap<PathBuf, Option<Arc<Config>>> = HashMap::new();
    let mut ignore_files = IgnoreFiles::default();
    let mut plans = Vec::with_capacity(files.len());
    for file in files {
        let config = match configs {
            ConfigSource::Fixed(c) => Some(c.clone()),
            ConfigSource::None => None,
            ConfigSource::Discover => {
                let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
                match by_dir.get(&dir) {
                    Some(c) => c.clone(),
                    None => {
                        let c = Config::discover(file)?.map(Arc::new);
                        by_dir.insert(dir, c.clone());
                        c
                    }
                }
            }
        };
        // `exclude` holds for files named explicitly too: pre-commit names every staged file.
        if config.as_ref().is_some_and(|c| c.excludes(file)) {
            continue;
        }
        let dockerignore = ignore_files.for_dockerfile(file, overrides.context.as_deref());
        plans.push(Plan { file: file.clone(), config, dockerignore });
    }
    Ok(plans)
}

/// Lints the planned files in parallel; results are in the order of the plans.
pub fn lint_planned(plans: Vec<Plan>, overrides: &Overrides, fix: FixMode) -> Vec<Result<Linted, RunError>> {
    plans
        .into_par_iter()
        .map(|Plan { file, config, dockerignore }| {
            let file = &file;
            let mut settings = settings_for(config.as_deref(), file, overrides);
            settings.dockerignore = dockerignore;
            let bytes = crate::syntax::read_dockerfile(file)
                .map_err(|e| RunError::Read { path: file.clone(), source: e.into() })?;
            let threshold = config.as_ref().and_then(|c| c.failure_threshold.clone());
            let linted = lint_one(&file.to_string_lossy(), &bytes, &settings, fix, threshold);
            if let (FixMode::Write(_), Some(outcome)) = (fix, &linted.fixed) {
                if !outcome.applied.is_empty() {
                    let mut out = if linted.had_bom { "\u{feff}".to_string() } else { String::new() };
                    out.push_str(&outcome.text);
                    // Never in place: a full disk or a signal must leave the original whole.
                    crate::fsio::write_atomic(file, out.as_bytes())
                        .map_err(|source| RunError::Write { path: file.clone(), source })?;
                }
            }
            Ok(linted)
        })
        .collect()
}

/// A file's settings: its config (if any) with the command-line overrides on top.
pub fn settings_for(config: Option<&Config>, file: &Path, overrides: &Overrides) -> Settings {
    let mut settings = config.map(|c| c.settings_for(file)).unwrap_or_default();
    // As in ruff: a command-line `--select` replaces the config's `select` and `extend-select`.
    if !overrides.select.is_empty() {
        settings.select = overrides.select.clone();
        settings.extend_select.clear();
    }
    settings.extend_select.extend(overrides.extend_select.iter().cloned());
    settings.ignore.extend(overrides.ignore.iter().cloned());
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_select_replaces_the_configs_selection() {
        let config: Config =
            toml::from_str("select = [\"IMG1\"]\nextend-select = [\"IMG140\"]\nignore = [\"IMG101\"]\n")
                .expect("config");
        let file = Path::new("Dockerfile");
        let kept = settings_for(Some(&config), file, &Overrides::default());
        assert_eq!(
            (kept.select.as_slice(), kept.extend_select.as_slice()),
            (&["IMG1".to_string()][..], &["IMG140".to_string()][..])
        );
        let overrides = Overrides {
            select: vec!["IMG102".into()],
            extend_select: vec!["IMG512".into()],
            ignore: vec!["IMG103".into()],
            ..Overrides::default()
        };
        let s = settings_for(Some(&config), file, &overrides);
        assert_eq!(s.select, ["IMG102"]);
        assert_eq!(s.extend_select, ["IMG512"], "--select drops the config's extend-select; --extend-select adds");
        assert_eq!(s.ignore, ["IMG101", "IMG103"], "ignores add up");
    }
}
