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
        notes: "Same name test as BuildKit: a `_`-separated word of the name is one of apikey, auth, credential(s), key, password, pass, pwd, secret, token, and none is `public`.",
        ..RuleMeta::DEFAULT
    },
    check,
};

const SECRET_WORDS: &[&str] =
    &["apikey", "auth", "credential", "credentials", "key", "password", "pass", "pwd", "secret", "token"];

fn names_a_secret(name: &str) -> bool {
    let words: Vec<String> = name.split('_').map(str::to_ascii_lowercase).collect();
    words.iter().any(|w| SECRET_WORDS.contains(&w.as_str())) && !words.iter().any(|w| w == "public")
}

fn check(cx: &Checker<'_, '_>) {
    for (_, command) in cx.df.all_commands() {
        let (kind, names): (&str, Vec<(&str, &Span)>) = match command {
            Command::Arg(defs) => ("ARG", defs.iter().map(|d| (d.name.as_str(), &d.name_span)).collect()),
            Command::Env(pairs) => ("ENV", pairs.iter().map(|kv| (kv.key.as_str(), &kv.key_span)).collect()),
            _ => continue,
        };
        for (name, span) in names {
            if names_a_secret(name) {
                cx.report(
                    span.clone(),
                    format!("{kind} `{name}` may hold a secret, and {kind} values are kept in the image"),
                )
                .help("pass secrets with `RUN --mount=type=secret`");
            }
        }
    }
}
