//! Which findings are silenced: `# imgopt ignore=` / `# hadolint ignore=` pragmas, BuildKit's
//! `# check=skip=...;error=true` directive, and the select/ignore/severity settings.

use super::rules::{self, RuleMeta};
use super::{Diagnostic, Settings, Severity};
use crate::model::document::Document;

/// Whether the rule runs at all under `settings` (select, then ignore).
pub fn enabled(meta: &RuleMeta, settings: &Settings) -> bool {
    let selected = if meta.opt_in {
        let asked = |key: &String| meta.matches(key.trim());
        settings.select.iter().chain(&settings.extend_select).any(asked) || settings.severity.keys().any(asked)
    } else {
        settings.select.is_empty() || settings.select.iter().chain(&settings.extend_select).any(|s| names(meta, s))
    };
    selected && !settings.ignore.iter().any(|s| names(meta, s))
}

/// The keys that name no rule (a typo in `select` would otherwise select nothing, and the
/// lint pass silently).
pub fn unknown_selectors(keys: &[String]) -> Vec<&str> {
    keys.iter().map(String::as_str).filter(|key| !rules::RULES.iter().any(|r| names(&r.meta, key))).collect()
}

/// `key` is the rule's code, a prefix of it (`IMG1`), its name, a hadolint code or a BuildKit name.
fn names(meta: &RuleMeta, key: &str) -> bool {
    let key = key.trim();
    key.eq_ignore_ascii_case("ALL")
        || meta.matches(key)
        || (key.len() >= 3 && meta.code.len() > key.len() && meta.code.starts_with(&key.to_ascii_uppercase()))
}

/// Codes listed after `marker` in a comment, as hadolint reads its pragmas: blanks may stand
/// around `=` and around each comma, and text after the list is a reason
/// (`hadolint ignore = DL3008, DL3009 pinned upstream` → [DL3008, DL3009]).
fn pragma_codes<'c>(comment: &'c str, marker: &str) -> Option<Vec<&'c str>> {
    let blank = |c: char| c == ' ' || c == '\t';
    let mut rest = comment.trim_start_matches(blank);
    for (k, word) in marker.split(' ').enumerate() {
        if k > 0 {
            let trimmed = rest.trim_start_matches(blank);
            if trimmed.len() == rest.len() {
                return None;
            }
            rest = trimmed;
        }
        rest = rest.strip_prefix(word)?;
    }
    rest = rest.trim_start_matches(blank).strip_prefix('=')?;
    let mut codes = Vec::new();
    loop {
        rest = rest.trim_start_matches(blank);
        let end = rest.find(|c: char| blank(c) || c == ',').unwrap_or(rest.len());
        if end > 0 {
            codes.push(&rest[..end]);
        }
        rest = rest[end..].trim_start_matches(blank);
        match rest.strip_prefix(',') {
            Some(after) => rest = after,
            None => break,
        }
    }
    Some(codes)
}

fn meta_of(d: &Diagnostic) -> Option<&'static RuleMeta> {
    rules::find(d.code).map(|r| &r.meta)
}

/// Drops findings silenced by comment pragmas.
pub fn apply_pragmas(df: &Document<'_>, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut file_wide: Vec<&str> = Vec::new();
    // (instruction span, codes) for each next-instruction pragma.
    let mut scoped: Vec<(std::ops::Range<usize>, Vec<&str>)> = Vec::new();
    for comment in &df.comments {
        let text = comment.text.as_str();
        if let Some(codes) = pragma_codes(text, "imgopt ignore-file") {
            file_wide.extend(codes);
        } else if let Some(codes) =
            pragma_codes(text, "imgopt ignore").or_else(|| pragma_codes(text, "hadolint ignore"))
        {
            if let Some(next) = df.instructions.iter().find(|i| i.span.start > comment.span.start) {
                scoped.push((next.span.clone(), codes));
            }
        } else if let Some(codes) = pragma_codes(text, "hadolint global ignore") {
            file_wide.extend(codes);
        }
    }
    if file_wide.is_empty() && scoped.is_empty() {
        return diagnostics;
    }
    diagnostics
        .into_iter()
        .filter(|d| {
            let Some(meta) = meta_of(d) else { return true };
            let silenced_file = file_wide.iter().any(|c| names(meta, c));
            let silenced_here =
                scoped.iter().any(|(span, codes)| span.contains(&d.span.start) && codes.iter().any(|c| names(meta, c)));
            !(silenced_file || silenced_here)
        })
        .collect()
}

/// Honours BuildKit's `# check=skip=A,B;error=true` for the rules that map to BuildKit checks.
pub fn apply_check_directive(df: &Document<'_>, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let Some((value, _)) = &df.check_directive else {
        return diagnostics;
    };
    let mut skip: Vec<&str> = Vec::new();
    let mut error = false;
    for part in value.split(';') {
        match part.split_once('=') {
            Some((k, v)) if k.trim() == "skip" => skip.extend(v.split(',').map(str::trim)),
            Some((k, v)) if k.trim() == "error" => error = v.trim().eq_ignore_ascii_case("true"),
            _ => {}
        }
    }
    diagnostics
        .into_iter()
        .filter_map(|mut d| {
            let Some(check) = meta_of(&d).and_then(|m| m.buildkit) else {
                return Some(d);
            };
            if skip.iter().any(|s| s.eq_ignore_ascii_case("all") || s.eq_ignore_ascii_case(check)) {
                return None;
            }
            if error {
                d.severity = Severity::Error;
            }
            Some(d)
        })
        .collect()
}

/// Applies ignore lists and severity overrides (config and flags) to findings.
pub fn apply_settings(diagnostics: Vec<Diagnostic>, settings: &Settings) -> Vec<Diagnostic> {
    diagnostics
        .into_iter()
        .filter_map(|mut d| {
            let Some(meta) = meta_of(&d) else { return Some(d) };
            if !enabled(meta, settings) {
                return None;
            }
            if let Some((_, sev)) = settings.severity.iter().find(|(k, _)| names(meta, k)) {
                d.severity = *sev;
            }
            Some(d)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::lint::{lint_text, Settings};

    fn codes(text: &str) -> Vec<&'static str> {
        lint_text(text, &Settings::default()).iter().map(|d| d.code).collect()
    }

    #[test]
    fn next_instruction_pragmas_by_own_and_hadolint_codes() {
        assert_eq!(codes("FROM debian\n"), ["IMG102"]);
        assert!(codes("# imgopt ignore=IMG102\nFROM debian\n").is_empty());
        assert!(codes("# hadolint ignore=DL3006,DL3007\nFROM debian\n").is_empty());
        assert!(codes("# imgopt ignore=untagged-base-image reason\nFROM debian\n").is_empty());
        // hadolint's own forms: blanks around `=` and after commas, a trailing comment.
        assert!(codes("# hadolint ignore=DL3007, DL3006\nFROM debian\n").is_empty());
        assert!(codes("#hadolint  ignore = DL3007 , DL3006 # why\nFROM debian\n").is_empty());
        assert!(codes("# hadolint global ignore=DL3007,DL3006\nFROM debian\nFROM ubuntu\n").is_empty());
        assert!(codes("# hadolint global ignore=DL3007, DL3006\nFROM debian\nFROM ubuntu\n").is_empty());
        assert_eq!(codes("# hadolintignore=DL3006\nFROM debian\n"), ["IMG102"]);
        // Only the next instruction.
        assert_eq!(codes("# imgopt ignore=IMG102\nFROM debian:12\nFROM debian\n"), ["IMG102"]);
    }

    #[test]
    fn file_pragma_and_check_directive() {
        assert!(codes("FROM debian:12\n# imgopt ignore-file=IMG101\nWORKDIR a\nWORKDIR b\n").is_empty());
        assert!(codes("# check=skip=WorkdirRelativePath\nFROM debian:12\nWORKDIR a\n").is_empty());
        let d = lint_text("# check=error=true\nFROM debian:12\nWORKDIR a\n", &Settings::default());
        assert_eq!(d[0].severity, crate::lint::Severity::Error);
    }

    #[test]
    fn opt_in_rules_run_only_when_named() {
        let text = "FROM alpine:3.20\n";
        let runs = |s: &Settings| lint_text(text, s).iter().any(|d| d.code == "IMG140");
        let mut s = Settings::default();
        assert!(!runs(&s), "off by default");
        s.select = vec!["IMG1".into()];
        assert!(!runs(&s), "a prefix does not turn it on");
        s.select = vec!["ALL".into()];
        assert!(!runs(&s), "ALL does not turn it on");
        s.select.clear();
        s.extend_select = vec!["healthcheck-missing".into()];
        assert!(runs(&s));
        assert!(lint_text("FROM alpine\n", &s).iter().any(|d| d.code == "IMG102"), "extend-select keeps the others");
        s.ignore = vec!["DL3057".into()];
        assert!(!runs(&s), "ignore wins");
        let mut s = Settings::default();
        s.severity.insert("DL3057".into(), crate::lint::Severity::Warning);
        assert!(runs(&s), "a severity override (hadolint's `override`) turns it on");
    }

    #[test]
    fn settings_select_ignore_and_severity() {
        let mut s = Settings { ignore: vec!["DL3006".into()], ..Settings::default() };
        assert!(lint_text("FROM debian\nWORKDIR a\n", &s).iter().all(|d| d.code != "IMG102"));
        s.ignore.clear();
        s.select = vec!["IMG1".into()];
        s.severity.insert("workdir-relative-path".into(), crate::lint::Severity::Error);
        let d = lint_text("FROM debian\nWORKDIR a\nMAINTAINER x\n", &s);
        assert!(d.iter().all(|d| d.code.starts_with("IMG1")));
        assert!(d.iter().any(|d| d.code == "IMG101" && d.severity == crate::lint::Severity::Error));
    }
}
