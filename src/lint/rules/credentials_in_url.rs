use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::{Category, Severity};
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG406",
        name: "credentials-in-url",
        category: Category::Security,
        severity: Severity::Error,
        summary: "A URL with a user name and password (`https://user:token@host/...`) in a RUN or ADD.",
        why: "The instruction text is stored in the image history (`docker history --no-trunc` shows it) and in the build cache: the credential leaks to everyone who can pull the image.",
        bad: "FROM alpine:3.20\n# flagged: the token is in the image history\nRUN git clone https://ci:ghp_abc123@github.com/acme/app.git\n",
        good: "FROM alpine:3.20\nRUN --mount=type=secret,id=gh_token git clone https://github.com/acme/app.git\n",
        notes: "A password given by a variable (`https://ci:${TOKEN}@...`) is reported too: the expanded value ends up in the RUN's history as well when it comes from an ARG.",
        ..RuleMeta::DEFAULT
    },
    check,
};

/// `scheme://user:password@` with a non-empty password.
fn has_credentials(text: &str) -> bool {
    text.match_indices("://").any(|(i, _)| {
        let rest = &text[i + 3..];
        let authority = rest.split(['/', ' ', '"', '\'']).next().unwrap_or(rest);
        authority
            .rsplit_once('@')
            .and_then(|(userinfo, _)| userinfo.split_once(':'))
            .is_some_and(|(user, password)| !user.is_empty() && !password.is_empty())
    })
}

fn check(cx: &Checker<'_, '_>) {
    for &cmd in cx.commands {
        for word in cmd.args().iter().filter(|w| has_credentials(&w.text)) {
            cx.report(cmd.span_of(&word.span), "this URL carries credentials, which are kept in the image history")
                .help("pass them with `RUN --mount=type=secret` (or a credential helper) instead");
        }
    }
    for (_, command) in cx.df.all_commands() {
        let Command::Copy(copy) = command else { continue };
        for p in copy.paths().filter(|p| has_credentials(&p.text)) {
            cx.report(p.span.clone(), "this URL carries credentials, which are kept in the image history");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls() {
        assert!(super::has_credentials("https://u:p@host/x"));
        assert!(super::has_credentials("git+https://u:${T}@github.com/a"));
        assert!(!super::has_credentials("https://host/x"));
        assert!(!super::has_credentials("ssh://git@github.com/a"));
        assert!(!super::has_credentials("https://host/a@b:c"));
    }
}
