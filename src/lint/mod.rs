//! `imgopt lint`: rules over a parsed Dockerfile produce findings ([`Diagnostic`]s) that the
//! renderers print and `--fix` applies.
//!
//! Flow: [`Document::parse`](crate::model::document::Document::parse) ─▶ [`checker::Checker`] runs every enabled rule of the registry
//! ([`rules::RULES`]) ─▶ [`suppress`] drops what pragmas and `# check=` silence ─▶ settings adjust
//! severities ─▶ [`render`].

pub mod checker;
pub mod cli;
pub mod config;
pub mod discover;
pub mod docs;
pub mod fix;
pub mod labels;
pub mod render;
pub mod rule;
pub mod rules;
pub mod run;
pub mod suppress;
pub mod userland;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::context::IgnoreFile;
use crate::model::document::Source;

pub use crate::syntax::Span;

/// How much a finding matters; ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Style,
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Style => "style",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Reads a severity name, accepting hadolint's spelling (`ignore` and `none` are not severities).
    pub fn parse(name: &str) -> Option<Severity> {
        match name.to_ascii_lowercase().as_str() {
            "style" => Some(Severity::Style),
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of problem a rule finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// The build fails, or does something other than what it says.
    Correctness,
    /// The image carries bytes it does not need.
    Size,
    /// The build cache is invalidated more often than needed.
    Cache,
    /// Secrets, privileges, unverified inputs.
    Security,
    /// Readability and consistency.
    Style,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Correctness => "correctness",
            Category::Size => "size",
            Category::Cache => "cache",
            Category::Security => "security",
            Category::Style => "style",
        }
    }
}

/// Whether a fix may be applied without review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// May change what the image contains or how it behaves: applied only with `--unsafe-fixes`.
    Unsafe,
    /// Keeps the image's meaning: applied by `--fix`.
    Safe,
}

/// Replace `range` of the original text with `replacement`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    pub range: Span,
    pub replacement: String,
}

/// A set of edits that together resolve one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub description: Cow<'static, str>,
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
}

/// A second place a finding points at (e.g. the earlier layer that created what a cleanup deletes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    pub span: Span,
    pub message: Cow<'static, str>,
}

/// One finding of one rule in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: &'static str,
    pub rule: &'static str,
    pub severity: Severity,
    pub span: Span,
    /// Texts are most often a rule's constant: borrowed, not copied into every finding (a
    /// file can have a finding per instruction).
    pub message: Cow<'static, str>,
    pub help: Option<Cow<'static, str>>,
    pub related: Vec<Related>,
    pub fix: Option<Fix>,
}

/// What a rule needs besides the file: resolved from `.imgopt.toml` / `.hadolint.yaml` / flags.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Codes or code prefixes to run; empty means every rule.
    pub select: Vec<String>,
    /// Rules added to `select` (and the way to turn opt-in rules on).
    pub extend_select: Vec<String>,
    /// Codes, prefixes, rule names or hadolint/BuildKit names to skip.
    pub ignore: Vec<String>,
    /// Severity per code (or hadolint/BuildKit name).
    pub severity: BTreeMap<String, Severity>,
    /// Registries whose images may be used in `FROM` (empty: any).
    pub trusted_registries: Vec<String>,
    /// Labels every final image must carry (the label schema's labels included).
    pub required_labels: Vec<String>,
    /// Label name → the kind of value it must hold.
    pub label_schema: BTreeMap<String, labels::LabelKind>,
    /// Labels outside the schema are findings.
    pub strict_labels: bool,
    /// The ignore file of the build context the Dockerfile is built with (none: no such file,
    /// or no context known).
    pub dockerignore: Option<Arc<IgnoreFile>>,
}

/// The findings of one file, in source order.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// As given by the user (or `--stdin-filename`).
    pub path: String,
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
}

/// Lints one Dockerfile text. Never fails: a text that does not parse yields a syntax-error finding.
pub fn lint_text(text: &str, settings: &Settings) -> Vec<Diagnostic> {
    lint_source(&Source::from_text("Dockerfile", text), settings)
}

/// Lints a loaded Dockerfile; a text that does not parse yields a syntax-error finding.
pub fn lint_source(source: &Source, settings: &Settings) -> Vec<Diagnostic> {
    let df = match source.document() {
        Ok(df) => df,
        Err(e) => {
            let diagnostics = e.parse_error().map(|e| syntax_error(e, e.span.clone())).into_iter().collect();
            return suppress::apply_settings(diagnostics, settings);
        }
    };
    let scripts = crate::model::run_script::run_scripts(&df);
    let commands = crate::model::run_script::all_commands(&scripts);
    let checker = checker::Checker::new(&df, &scripts, &commands, settings);
    for rule in rules::RULES.iter().filter(|r| suppress::enabled(&r.meta, settings)) {
        checker.run(rule);
    }
    let mut diagnostics = checker.into_diagnostics();
    // The shell trees are no longer needed: freed before the findings are filtered and sorted.
    drop(commands);
    drop(scripts);
    diagnostics = suppress::apply_pragmas(&df, diagnostics);
    diagnostics = suppress::apply_check_directive(&df, diagnostics);
    diagnostics = suppress::apply_settings(diagnostics, settings);
    diagnostics.sort_by(|a, b| (a.span.start, a.code).cmp(&(b.span.start, b.code)));
    diagnostics
}

/// The syntax-error finding for a text the reader refuses, at `span`.
fn syntax_error(e: &crate::syntax::ParseError, span: Span) -> Diagnostic {
    let meta = &rules::syntax_error::RULE.meta;
    Diagnostic {
        code: meta.code,
        rule: meta.name,
        severity: meta.severity,
        span,
        message: e.message.clone().into(),
        help: None,
        related: Vec::new(),
        fix: None,
    }
}
