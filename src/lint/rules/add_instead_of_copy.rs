use super::{Rule, RuleMeta};
use crate::lint::checker::edit;
use crate::lint::checker::Checker;
use crate::lint::Applicability;
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG115",
        name: "add-instead-of-copy",
        hadolint: &["DL3020"],
        fix: Some(Applicability::Safe),
        summary: "ADD used to copy local files or directories.",
        why: "ADD also fetches URLs and unpacks tar archives; used for plain files it hides which of these happens. COPY does exactly one thing.",
        bad: "FROM python:3.12-slim\n# flagged: a plain directory\nADD src/ /app/\n",
        good: "FROM python:3.12-slim\nCOPY src/ /app/\nADD https://example.com/tool.tar.gz /opt/\nADD vendor.tar.gz /opt/\n",
        notes: "URLs, git sources, archive names (.tar, .tgz, .tar.gz, .xz, .bz2, .zst) and sources built from variables (`ADD ${REPO}#${VERSION} /`, which may name a URL or a git repository) are not reported. The fix (ADD → COPY) is safe when no source has a wildcard (a wildcard could match an archive that ADD would unpack) and no ADD-only flag is used.",
        ..RuleMeta::DEFAULT
    },
    check,
};

const ARCHIVES: &[&str] = &[".tar", ".tgz", ".gz", ".tbz2", ".bz2", ".txz", ".xz", ".zst", ".tzst", ".lz4"];

fn is_remote_or_archive(src: &str) -> bool {
    let lower = src.to_ascii_lowercase();
    lower.contains("://")
        || lower.starts_with("git@")
        || ARCHIVES.iter().any(|ext| lower.ends_with(ext))
        || lower.contains('$')
}

fn check(cx: &Checker<'_, '_>) {
    for (i, command) in cx.df.all_commands() {
        let Command::Copy(add) = command else { continue };
        if !add.is_add {
            continue;
        }
        let paths: Vec<&str> = add.paths().map(|p| p.text.as_str()).collect();
        if paths.is_empty() || paths.len() != add.sources.len() || paths.iter().any(|p| is_remote_or_archive(p)) {
            continue;
        }
        let add_only_flag = add.checksum.is_some() || add.keep_git_dir.is_some() || add.unpack.is_some();
        let wildcard = paths.iter().any(|p| p.contains(['*', '?', '[']));
        let kw = cx.df.instructions[i].keyword_span.clone();
        let report = cx
            .report(kw.clone(), "ADD copies local files here; use COPY")
            .help("COPY copies; ADD also downloads and unpacks");
        if !add_only_flag {
            let applicability = if wildcard { Applicability::Unsafe } else { Applicability::Safe };
            let upper = cx.df.text[kw.clone()].starts_with('A');
            report.fix("replace ADD with COPY", applicability, vec![edit(kw, if upper { "COPY" } else { "copy" })]);
        }
    }
}
