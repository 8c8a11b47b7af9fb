use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::document::Instruction;

use crate::model::document::unescaped_span;
use crate::model::words::key_values;

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
    for ins in &cx.df.instructions {
        let (kind, args) = match &ins.typed {
            Some(Instruction::Arg(a)) => ("ARG", &a.arguments),
            Some(Instruction::Env(e)) => ("ENV", &e.arguments),
            _ => continue,
        };
        for kv in key_values(&args.value, 0) {
            if names_a_secret(kv.key) {
                cx.report(
                    unescaped_span(ins, args, kv.key_span.clone()),
                    format!("{kind} `{}` may hold a secret, and {kind} values are kept in the image", kv.key),
                )
                .help("pass secrets with `RUN --mount=type=secret`");
            }
        }
    }
}
