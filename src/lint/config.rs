//! Settings files: `.imgopt.toml` (nearest one walking up from the Dockerfile, then the user
//! config dir, or `--config`) and, for teams migrating from hadolint, `.hadolint.yaml`.
//!
//! ```toml
//! select = ["IMG1", "IMG2"]            # codes, prefixes, names, hadolint codes, BuildKit names
//! extend-select = ["IMG140"]           # added to select; turns opt-in rules on
//! ignore = ["DL3008", "StageNameCasing"]
//! trusted-registries = ["registry.example.com", "docker.io"]
//! required-labels = ["org.opencontainers.image.source"]
//! strict-labels = true                 # labels outside label-schema are findings
//! failure-threshold = "warning"        # error | warning | info | style | none
//! exclude = ["vendor/**"]              # globs relative to this file's directory; also applies to
//!                                      # files named on the command line (pre-commit passes them all)
//!
//! [severity]
//! IMG201 = "warning"
//!
//! [label-schema]                       # these labels are required and checked
//! "org.opencontainers.image.source" = "url"   # text url rfc3339 spdx hash semver email
//!
//! [per-path-ignores]                   # globs relative to this file's directory
//! "legacy/**" = ["IMG101", "IMG501"]
//! ```
//!
//! From `.hadolint.yaml`: `ignored`, `trustedRegistries`, `failure-threshold`, `override`
//! (severity lists), `label-schema` and `strict-labels` are honoured through the rules' hadolint
//! codes; other keys are ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::labels::LabelKind;
use super::{Settings, Severity};

/// `.imgopt.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub select: Vec<String>,
    /// Rules added to `select`; opt-in rules are turned on by naming them here.
    #[serde(default)]
    pub extend_select: Vec<String>,
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Rule (code, name, hadolint code or BuildKit name) → severity.
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    /// Glob (relative to the config file's directory) → rules ignored in matching files.
    #[serde(default)]
    pub per_path_ignores: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub trusted_registries: Vec<String>,
    #[serde(default)]
    pub required_labels: Vec<String>,
    /// Label name → kind of value (text, url, rfc3339, spdx, hash, semver, email); these labels
    /// are also required, as in hadolint.
    #[serde(default)]
    pub label_schema: BTreeMap<String, LabelKind>,
    /// Labels not in `label-schema` are findings.
    #[serde(default)]
    pub strict_labels: bool,
    /// Lowest severity that makes `imgopt lint` exit 1 (`none` never does).
    pub failure_threshold: Option<String>,
    /// Globs (relative to the config file's directory) of Dockerfiles not to lint at all.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Directory the config was read from (per-path globs are relative to it).
    #[serde(skip)]
    pub root: PathBuf,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    #[diagnostic(code(imgopt::lint::config))]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {message}")]
    #[diagnostic(code(imgopt::lint::config))]
    Invalid { path: PathBuf, message: String },
    /// A bad value, pointed at in the file.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Value(Box<BadValue>),
}

/// A bad value of a config file, with the file's text to show where it is.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("invalid config file {path}: {message}")]
#[diagnostic(code(imgopt::lint::config))]
pub struct BadValue {
    path: PathBuf,
    message: String,
    #[source_code]
    src: miette::NamedSource<String>,
    #[label("{label}")]
    span: miette::SourceSpan,
    label: String,
    #[help]
    help: Option<String>,
}

/// The values `failure-threshold` takes.
pub const THRESHOLDS: &str = "error, warning, info, style, none";

/// Findings at or above this severity fail the run; `None` never fails.
pub fn parse_threshold(s: &str) -> Result<Option<Severity>, String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    Severity::parse(s).map(Some).ok_or_else(|| format!("unknown failure threshold `{s}` ({THRESHOLDS})"))
}

/// Where `failure-threshold` is written in an `.imgopt.toml`, to point at a bad value.
#[derive(Deserialize)]
struct ThresholdAt {
    #[serde(rename = "failure-threshold")]
    failure_threshold: Option<toml::Spanned<String>>,
}

/// Past this, a line is not quoted in an error (a 100 KB line of brackets would be, whole).
const MAX_QUOTED_LINE: usize = 500;

/// A [`ConfigError::Value`] at `span` of `text`, or an [`ConfigError::Invalid`] when the line
/// there is too long to quote.
fn value_error(
    path: &Path,
    text: &str,
    span: std::ops::Range<usize>,
    message: String,
    label: &str,
    help: Option<String>,
) -> ConfigError {
    let line_start = text[..span.start.min(text.len())].rfind('\n').map_or(0, |n| n + 1);
    let line_end = text[span.start.min(text.len())..].find('\n').map_or(text.len(), |n| span.start + n);
    if line_end - line_start > MAX_QUOTED_LINE {
        return ConfigError::Invalid { path: path.into(), message: bounded(message) };
    }
    ConfigError::Value(Box::new(BadValue {
        path: path.into(),
        message: bounded(message),
        src: miette::NamedSource::new(path.display().to_string(), text.to_string()),
        span: span.into(),
        label: label.to_string(),
        help,
    }))
}

/// `.hadolint.yaml` (the parts imgopt honours).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HadolintConfig {
    #[serde(default)]
    ignored: Vec<String>,
    #[serde(default)]
    trusted_registries: Vec<String>,
    #[serde(default, rename = "failure-threshold")]
    failure_threshold: Option<String>,
    #[serde(default, rename = "override")]
    overrides: BTreeMap<String, Vec<String>>,
    #[serde(default, rename = "label-schema")]
    label_schema: BTreeMap<String, LabelKind>,
    #[serde(default, rename = "strict-labels")]
    strict_labels: bool,
}

/// A config file is a few hundred bytes; 1 MiB is refused.
const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// How much of a parser's error message is shown.
const MAX_MESSAGE_CHARS: usize = 2000;

fn bounded(message: String) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}… ({} more bytes)", &message[..at], message.len() - at),
        None => message,
    }
}

const FILE_NAMES: &[&str] = &[".imgopt.toml", ".hadolint.yaml", ".hadolint.yml"];

impl Config {
    /// Reads a config file; the format follows the file name (`.yaml`/`.yml` = hadolint).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = crate::fsio::read_regular_string(path, MAX_CONFIG_BYTES)
            .map_err(|e| ConfigError::Read { path: path.into(), source: e.into() })?;
        // A parser's message may quote the input (a deeply nested table quotes it all): bounded.
        let invalid = |message: String| ConfigError::Invalid { path: path.into(), message: bounded(message) };
        let is_yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        let mut config = if is_yaml {
            let h: HadolintConfig = serde_saphyr::from_str(&text).map_err(|e| invalid(e.to_string()))?;
            let config = Config::from_hadolint(h).map_err(invalid)?;
            if let Some(Err(message)) = config.failure_threshold.as_deref().map(parse_threshold) {
                return Err(invalid(format!("failure-threshold: {message}")));
            }
            config
        } else {
            let config: Config = toml::from_str(&text).map_err(|e| match e.span() {
                Some(span) => value_error(path, &text, span, e.message().to_string(), "here", None),
                None => invalid(e.to_string()),
            })?;
            // Checked here, before any file is linted, and pointed at in the file.
            if let Some(Err(message)) = config.failure_threshold.as_deref().map(parse_threshold) {
                let span = toml::from_str::<ThresholdAt>(&text)
                    .ok()
                    .and_then(|at| at.failure_threshold)
                    .map_or(0..0, |v| v.span());
                let help = Some(format!("failure-threshold is one of: {THRESHOLDS}"));
                return Err(value_error(path, &text, span, message, "not a severity", help));
            }
            // A `.hadolint.yaml` may name ShellCheck codes imgopt has no rule for; an
            // `.imgopt.toml` is written for imgopt, and a typo there would silently select
            // nothing.
            let lists =
                [("select", &config.select), ("extend-select", &config.extend_select), ("ignore", &config.ignore)];
            for (key, list) in lists {
                if let Some(unknown) = super::suppress::unknown_selectors(list).first() {
                    return Err(invalid(format!("{key}: `{unknown}` names no rule")));
                }
            }
            config
        };
        config.root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(config)
    }

    fn from_hadolint(h: HadolintConfig) -> Result<Config, String> {
        let mut severity = BTreeMap::new();
        for (level, codes) in h.overrides {
            let sev = Severity::parse(&level).ok_or_else(|| format!("unknown severity `{level}` in override"))?;
            severity.extend(codes.into_iter().map(|c| (c, sev)));
        }
        Ok(Config {
            ignore: h.ignored,
            trusted_registries: h.trusted_registries,
            failure_threshold: h.failure_threshold,
            severity,
            label_schema: h.label_schema,
            strict_labels: h.strict_labels,
            ..Config::default()
        })
    }

    /// The nearest config walking up from `dockerfile`'s directory, then the user config dir.
    pub fn discover(dockerfile: &Path) -> Result<Option<Config>, ConfigError> {
        let start = std::fs::canonicalize(dockerfile).unwrap_or_else(|_| dockerfile.to_path_buf());
        for dir in start.ancestors().skip(1) {
            for name in FILE_NAMES {
                let candidate = dir.join(name);
                if candidate.is_file() {
                    return Config::load(&candidate).map(Some);
                }
            }
        }
        match user_config_path() {
            Some(p) if p.is_file() => Config::load(&p).map(Some),
            _ => Ok(None),
        }
    }

    /// Whether `pattern` (relative to the config's directory) matches `dockerfile`.
    fn matches(&self, pattern: &str, dockerfile: &Path) -> bool {
        let absolute = std::fs::canonicalize(dockerfile).unwrap_or_else(|_| dockerfile.to_path_buf());
        let relative = absolute.strip_prefix(&self.root).unwrap_or(dockerfile);
        globset::Glob::new(pattern)
            .map(|g| g.compile_matcher())
            .is_ok_and(|m| m.is_match(relative) || m.is_match(dockerfile))
    }

    /// Whether `exclude` takes `dockerfile` out of the run, however it was named.
    pub fn excludes(&self, dockerfile: &Path) -> bool {
        self.exclude.iter().any(|pattern| self.matches(pattern, dockerfile))
    }

    /// The settings for one Dockerfile (per-path ignores resolved).
    pub fn settings_for(&self, dockerfile: &Path) -> Settings {
        let mut ignore = self.ignore.clone();
        for (pattern, codes) in &self.per_path_ignores {
            if self.matches(pattern, dockerfile) {
                ignore.extend(codes.iter().cloned());
            }
        }
        Settings {
            select: self.select.clone(),
            extend_select: self.extend_select.clone(),
            ignore,
            severity: self.severity.clone(),
            trusted_registries: self.trusted_registries.clone(),
            required_labels: {
                let mut required = self.required_labels.clone();
                required.extend(self.label_schema.keys().filter(|k| !self.required_labels.contains(k)).cloned());
                required
            },
            label_schema: self.label_schema.clone(),
            strict_labels: self.strict_labels,
            dockerignore: None,
        }
    }
}

/// `$XDG_CONFIG_HOME/imgopt/config.toml` (or the platform's equivalent).
pub fn user_config_path() -> Option<PathBuf> {
    use etcetera::BaseStrategy as _;
    etcetera::choose_base_strategy().ok().map(|s| s.config_dir().join("imgopt").join("config.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_with_per_path_ignores() {
        let mut c: Config = toml::from_str(
            "ignore = [\"IMG5\"]\ntrusted-registries = [\"r.example\"]\n[severity]\nDL3006 = \"error\"\n[per-path-ignores]\n\"legacy/**\" = [\"IMG101\"]\n",
        )
        .expect("valid config");
        c.root = PathBuf::from("/nonexistent-root");
        let s = c.settings_for(Path::new("legacy/app/Dockerfile"));
        assert_eq!(s.ignore, ["IMG5", "IMG101"]);
        assert_eq!(s.severity.get("DL3006"), Some(&Severity::Error));
        assert_eq!(c.settings_for(Path::new("app/Dockerfile")).ignore, ["IMG5"]);
    }

    #[test]
    fn hadolint_yaml_maps_to_settings() {
        let h: HadolintConfig = serde_saphyr::from_str(
            "ignored:\n  - DL3008\ntrustedRegistries:\n  - docker.io\nfailure-threshold: error\noverride:\n  error:\n    - DL3006\nlabel-schema:\n  author: text\n  version: semver\nstrict-labels: true\n",
        )
        .expect("valid yaml");
        let c = Config::from_hadolint(h).expect("maps");
        assert_eq!(c.ignore, ["DL3008"]);
        assert_eq!(c.trusted_registries, ["docker.io"]);
        assert_eq!(c.failure_threshold.as_deref(), Some("error"));
        assert_eq!(c.severity.get("DL3006"), Some(&Severity::Error));
        assert_eq!(c.label_schema.get("version"), Some(&LabelKind::Semver));
        let s = c.settings_for(Path::new("Dockerfile"));
        assert!(s.strict_labels);
        assert_eq!(s.required_labels, ["author", "version"], "schema labels are required, as in hadolint");
    }

    #[test]
    fn selectors_that_name_no_rule_are_errors_in_imgopt_toml_only() {
        let dir = std::env::temp_dir().join(format!("imgopt-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let toml = dir.join(".imgopt.toml");
        std::fs::write(&toml, "select = [\"IMG1O1\"]\n").expect("write");
        let e = Config::load(&toml).expect_err("a typo is refused");
        assert!(e.to_string().contains("select: `IMG1O1` names no rule"), "{e}");
        std::fs::write(&toml, "select = [\"IMG1\", \"ALL\", \"DL3008\", \"StageNameCasing\", \"copy-ignored-file\"]\n")
            .expect("write");
        assert!(Config::load(&toml).is_ok());
        let yaml = dir.join(".hadolint.yaml");
        std::fs::write(&yaml, "ignored:\n  - SC2086\n").expect("write");
        assert!(Config::load(&yaml).is_ok(), "hadolint configs may name ShellCheck codes");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<Config>("selct = []").is_err());
    }
}
