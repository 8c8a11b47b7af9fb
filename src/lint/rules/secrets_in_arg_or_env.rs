use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::{Category, Span};
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG402",
        name: "secrets-in-arg-or-env",
        category: Category::Security,
        buildkit: Some("SecretsUsedInArgOrEnv"),
        summary: "An ARG or ENV whose name says it holds a secret (password, token, key...).",
        why: "ENV values are stored in the image config and ARG values in the build history (`docker history`): both are readable by anyone with the image.",
        bad: "FROM alpine:3.20\n# flagged: readable with docker history\nARG GITHUB_TOKEN\n",
        good: "FROM alpine:3.20\nRUN --mount=type=secret,id=github_token,env=GITHUB_TOKEN ./fetch-deps.sh\n",
        notes: "Same name test as BuildKit: a `_`-separated word of the name is one of apikey, auth, credential(s), key, password, pass, pwd, secret, token, and none is `public`. Unlike BuildKit, imgopt also reads the value and the name's last word: not reported when the value is public whatever the name (OpenPGP fingerprints and key IDs, hex words of 16 digits or more as in `ENV GPG_KEY A035C8C1...`; a version; a boolean), when the name ends in a word that says it holds something about a secret rather than the secret (`_FILE`, `_PATH`, `_ID`, `_URL`, `_VERSION`, `_SERVER`, `_TYPE`, `_NAME`, `_METHOD`...: `POSTGRES_PASSWORD_FILE`, `GPG_KEY_ID`), or for a .NET configuration path ending in `__Key` (a dictionary key's name). A value that is a variable is reported: it still lands in the image.",
        ..RuleMeta::DEFAULT
    },
    check,
};

const SECRET_WORDS: &[&str] =
    &["apikey", "auth", "credential", "credentials", "key", "password", "pass", "pwd", "secret", "token"];

/// Last words of a name that say it holds something about a secret, not the secret:
/// `POSTGRES_PASSWORD_FILE`, `GPG_KEY_ID`, `AUTH_MODULE_VERSION`.
const ABOUT_A_SECRET: &[&str] = &[
    "id",
    "ids",
    "file",
    "path",
    "dir",
    "url",
    "uri",
    "version",
    "server",
    "type",
    "name",
    "method",
    "mode",
    "host",
    "port",
    "enabled",
    "algorithm",
    "length",
    "size",
];

fn names_a_secret(name: &str) -> bool {
    // A .NET configuration path (`Serilog__Properties__0__Key`) names a setting by its last
    // segment; `Key` there is a dictionary key's name.
    if name.contains("__") && name.rsplit("__").next() == Some("Key") {
        return false;
    }
    let words: Vec<String> = name.split('_').filter(|w| !w.is_empty()).map(str::to_ascii_lowercase).collect();
    let about = words.last().is_some_and(|w| ABOUT_A_SECRET.contains(&w.as_str()));
    words.iter().any(|w| SECRET_WORDS.contains(&w.as_str())) && !words.iter().any(|w| w == "public") && !about
}

/// A value that is public whatever the name says: OpenPGP fingerprints and key IDs (hex words
/// of 16 digits or more, as `ENV GPG_KEY A035...696D` in the official images), a version, a
/// boolean. A variable, or any other text, may be a secret.
fn public_value(value: &str) -> bool {
    let value = value.trim_matches(|c| c == '"' || c == '\'');
    if value.contains('$') || value.is_empty() {
        return false;
    }
    let hex = |w: &str| {
        let w = w.strip_prefix("0x").unwrap_or(w);
        w.len() >= 16 && w.chars().all(|c| c.is_ascii_hexdigit())
    };
    let version = |w: &str| {
        let w = w.strip_prefix('v').unwrap_or(w);
        w.starts_with(|c: char| c.is_ascii_digit())
            && w.split(['.', '-', '+']).count() >= 2
            && w.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
    };
    let words: Vec<&str> = value.split_whitespace().collect();
    words.iter().all(|w| hex(w))
        || (words.len() == 1 && version(words[0]))
        || matches!(value.to_ascii_lowercase().as_str(), "true" | "false" | "yes" | "no" | "0" | "1")
}

fn check(cx: &Checker<'_, '_>) {
    for (_, command) in cx.df.all_commands() {
        type Named<'c> = (&'c str, &'c Span, Option<&'c str>);
        let (kind, names): (&str, Vec<Named<'_>>) = match command {
            Command::Arg(defs) => {
                ("ARG", defs.iter().map(|d| (d.name.as_str(), &d.name_span, d.default.as_deref())).collect())
            }
            Command::Env(pairs) => {
                ("ENV", pairs.iter().map(|kv| (kv.key.as_str(), &kv.key_span, Some(kv.value.as_str()))).collect())
            }
            _ => continue,
        };
        for (name, span, value) in names {
            if names_a_secret(name) && !value.is_some_and(public_value) {
                cx.report(
                    span.clone(),
                    format!("{kind} `{name}` may hold a secret, and {kind} values are kept in the image"),
                )
                .help("pass secrets with `RUN --mount=type=secret`");
            }
        }
    }
}
