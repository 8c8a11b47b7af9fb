use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::{Category, Severity};
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG401",
        name: "copy-secret-file",
        category: Category::Security,
        severity: Severity::Error,
        summary: "COPY or ADD of a file that holds credentials (.env, private keys, .npmrc, .netrc, cloud credentials).",
        why: "A copied file is stored in a layer for good: deleting it later hides it from the final filesystem but anyone who pulls the image can extract it from the layer.",
        bad: "FROM node:22-alpine\nWORKDIR /app\n# flagged: the registry token ends up in a layer\nCOPY .npmrc package.json ./\n",
        good: "FROM node:22-alpine\nWORKDIR /app\nCOPY package.json ./\nRUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm install\n",
        notes: "Sources copied from another stage (`--from`) are not reported: they are not files from the context.",
        ..RuleMeta::DEFAULT
    },
    check,
};

/// File names (last path component) that hold credentials.
const SECRET_NAMES: &[&str] = &[
    ".env",
    ".npmrc",
    ".pypirc",
    ".netrc",
    ".git-credentials",
    ".htpasswd",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "credentials",
    "credentials.json",
    "service-account.json",
    ".dockercfg",
    "secrets.yaml",
    "secrets.yml",
];
const SECRET_EXTENSIONS: &[&str] = &[".pem", ".key", ".p12", ".pfx", ".jks", ".keystore"];

fn is_secret(path: &str) -> bool {
    let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if name.starts_with(".env.") {
        return !(name.ends_with(".example") || name.ends_with(".sample") || name.ends_with(".template"));
    }
    SECRET_NAMES.contains(&name.as_str()) || SECRET_EXTENSIONS.iter().any(|e| name.ends_with(e))
}

fn check(cx: &Checker<'_, '_>) {
    for (_, command) in cx.df.all_commands() {
        let Command::Copy(copy) = command else { continue };
        if !copy.from_context() {
            continue;
        }
        for p in copy.paths() {
            if is_secret(&p.text) {
                cx.report(
                    p.span.clone(),
                    format!(
                        "`{}` looks like a credentials file; it stays in the image's layer even if deleted later",
                        p.text
                    ),
                )
                .help("mount it only for the step that needs it: `RUN --mount=type=secret,id=...`");
            }
        }
    }
}
