//! The `rules/` documentation, generated from the registry so docs and code cannot disagree.
//! `tests/rule_docs.rs` fails when the committed pages are stale; regenerate with
//! `IMGOPT_UPDATE_DOCS=1 cargo test --test rule_docs`.

use std::fmt::Write as _;
use std::path::Path;

use super::rules::{Rule, RuleMeta, RULES};

/// The Markdown page of one rule (`rules/CODE.md`), also what `imgopt explain` prints.
pub fn rule_page(meta: &RuleMeta) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {} `{}`\n", meta.code, meta.name);
    let _ = writeln!(s, "{}\n", meta.summary);
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(s, "| Category | {} |", meta.category.as_str());
    let _ = writeln!(s, "| Default severity | {} |", meta.severity);
    let fix = match meta.fix {
        Some(super::Applicability::Safe) => "safe (applied by `--fix`)",
        Some(super::Applicability::Unsafe) => "unsafe (applied with `--fix --unsafe-fixes`)",
        None => "none",
    };
    let _ = writeln!(s, "| Fix | {fix} |");
    let hadolint = if meta.hadolint.is_empty() { "—".to_string() } else { meta.hadolint.join(", ") };
    let _ = writeln!(s, "| hadolint | {hadolint} |");
    let _ = writeln!(s, "| BuildKit check | {} |\n", meta.buildkit.unwrap_or("—"));
    if meta.opt_in {
        let _ = writeln!(
            s,
            "**Opt-in:** off unless named in `extend-select` (`extend-select = [\"{}\"]` in `.imgopt.toml`, or `--extend-select {}`) or `select`, or given a severity in `[severity]` (hadolint's `override`).\n",
            meta.code, meta.code
        );
    }
    let _ = writeln!(s, "## Why\n\n{}\n", meta.why);
    if !meta.config.is_empty() {
        let _ = writeln!(
            s,
            "## Configuration\n\nOnly active with this in `.imgopt.toml`:\n\n```toml\n{}\n```\n",
            meta.config
        );
    }
    let _ = writeln!(s, "## Bad\n\n```dockerfile\n{}```\n", meta.bad);
    let _ = writeln!(s, "## Good\n\n```dockerfile\n{}```", meta.good);
    if !meta.notes.is_empty() {
        let _ = writeln!(s, "\n## Notes\n\n{}", meta.notes);
    }
    let _ = writeln!(s, "\nSilence it for one instruction with `# imgopt ignore={}` on the line before.", meta.code);
    s
}

/// `rules/README.md`: the table of every rule.
pub fn index_page() -> String {
    let mut s = String::from("# imgopt rules\n\nGenerated from `src/lint/rules/`; do not edit by hand.\n\n");
    s.push_str("| Code | Name | Category | Severity | Fix | hadolint | BuildKit |\n|---|---|---|---|---|---|---|\n");
    for Rule { meta, .. } in RULES.iter().copied() {
        let fix = match meta.fix {
            Some(super::Applicability::Safe) => "safe",
            Some(super::Applicability::Unsafe) => "unsafe",
            None => "",
        };
        let _ = writeln!(
            s,
            "| [{code}]({code}.md) | {} | {} | {} | {fix} | {} | {} |",
            meta.name,
            meta.category.as_str(),
            if meta.opt_in { format!("{} (opt-in)", meta.severity) } else { meta.severity.to_string() },
            meta.hadolint.join(", "),
            meta.buildkit.unwrap_or(""),
            code = meta.code
        );
    }
    s
}

/// Every generated file: (file name, content).
pub fn pages() -> Vec<(String, String)> {
    let mut out = vec![("README.md".to_string(), index_page())];
    out.extend(RULES.iter().map(|r| (format!("{}.md", r.meta.code), rule_page(&r.meta))));
    out
}

/// Names of the pages under `dir` that are missing, differ, or are left over from removed rules.
pub fn stale_pages(dir: &Path) -> Vec<String> {
    let expected = pages();
    let mut stale: Vec<String> = expected
        .iter()
        .filter(|(name, content)| std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(content.as_str()))
        .map(|(name, _)| name.clone())
        .collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".md") && !expected.iter().any(|(n, _)| *n == name) {
                stale.push(name);
            }
        }
    }
    stale
}

/// Writes every page under `dir` and removes pages of rules that no longer exist.
pub fn write_pages(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let expected = pages();
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") && !expected.iter().any(|(n, _)| *n == name) {
            std::fs::remove_file(entry.path())?;
        }
    }
    for (name, content) in expected {
        std::fs::write(dir.join(name), content)?;
    }
    Ok(())
}
