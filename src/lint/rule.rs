//! What a rule is: its metadata (from which the docs are generated) and its check.

use super::checker::Checker;
use super::{Applicability, Category, Severity};

/// A rule: what it is and the function that finds it.
pub struct Rule {
    pub meta: RuleMeta,
    pub check: fn(&Checker<'_, '_>),
}

/// Everything about a rule except its check; the docs are generated from this.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable code, e.g. `IMG101`.
    pub code: &'static str,
    /// Stable kebab-case name, e.g. `workdir-relative-path`.
    pub name: &'static str,
    pub category: Category,
    pub severity: Severity,
    /// hadolint codes this rule covers (`.hadolint.yaml` and `# hadolint ignore=` map through it).
    pub hadolint: &'static [&'static str],
    /// BuildKit build-check name (`# check=skip=` maps through it).
    pub buildkit: Option<&'static str>,
    /// The fix offered, if any.
    pub fix: Option<Applicability>,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Why it matters.
    pub why: &'static str,
    /// A Dockerfile the rule reports (see the module docs for `# flagged` markers).
    pub bad: &'static str,
    /// The same Dockerfile written well; the rule reports nothing.
    pub good: &'static str,
    /// Where imgopt deliberately differs from hadolint/BuildKit, or other remarks (may be empty).
    pub notes: &'static str,
    /// `.imgopt.toml` settings the examples are checked with (for rules that need configuration).
    pub config: &'static str,
    /// Off unless asked for by name: `select` naming the rule itself (its code, name, hadolint
    /// code or BuildKit name; not a prefix, not `ALL`) or a severity override for it. For checks
    /// that are right only for some teams, as hadolint's default-ignored rules.
    pub opt_in: bool,
}

impl RuleMeta {
    /// What a rule rarely changes; a rule states only what differs
    /// (`RuleMeta { code: ..., ..RuleMeta::DEFAULT }`).
    pub const DEFAULT: RuleMeta = RuleMeta {
        code: "",
        name: "",
        category: Category::Correctness,
        severity: Severity::Warning,
        hadolint: &[],
        buildkit: None,
        fix: None,
        summary: "",
        why: "",
        bad: "",
        good: "",
        notes: "",
        config: "",
        opt_in: false,
    };

    /// Whether `key` names this rule (code, name, hadolint code or BuildKit check name).
    pub fn matches(&self, key: &str) -> bool {
        self.code.eq_ignore_ascii_case(key)
            || self.name.eq_ignore_ascii_case(key)
            || self.hadolint.iter().any(|h| h.eq_ignore_ascii_case(key))
            || self.buildkit.is_some_and(|b| b.eq_ignore_ascii_case(key))
    }

    pub fn docs_url(&self) -> String {
        format!("https://github.com/imgopt/imgopt/blob/main/rules/{}.md", self.code)
    }
}
