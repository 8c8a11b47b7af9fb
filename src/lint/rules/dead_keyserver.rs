use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG141",
        name: "dead-keyserver",
        summary: "A key fetched from a keyserver that no longer answers (the SKS pool, keys.gnupg.net).",
        why: "The SKS keyserver pool (`*.pool.sks-keyservers.net`) was shut down in 2021, and `keys.gnupg.net` pointed to it: `gpg --recv-keys` against them fails, so the build fails (or, with `|| true`, goes on without the key).",
        bad: "FROM debian:12-slim\n# flagged: the SKS pool is gone\nRUN gpg --batch --keyserver ha.pool.sks-keyservers.net --recv-keys 0x1234567890ABCDEF\n",
        good: "FROM debian:12-slim\nRUN gpg --batch --keyserver hkps://keyserver.ubuntu.com --recv-keys 0x1234567890ABCDEF\n",
        notes: "Any word of a RUN naming `sks-keyservers.net` or `keys.gnupg.net` (as a `--keyserver` value, in a loop over servers, in a URL). Servers listed after a live one in a fallback loop still slow the build down while they time out. hadolint and BuildKit have no such check.",
        ..RuleMeta::DEFAULT
    },
    check,
};

const DEAD: &[&str] = &["sks-keyservers.net", "keys.gnupg.net"];

fn check(cx: &Checker<'_, '_>) {
    if !DEAD.iter().any(|host| cx.df.text.contains(host)) {
        return;
    }
    for script in cx.scripts {
        let span = &script.run.span;
        let text = &cx.df.text[span.clone()];
        let mut line_start = 0;
        for line in text.split_inclusive('\n') {
            // Comment lines inside a continued RUN are not part of the command.
            if !line.trim_start().starts_with('#') {
                for host in DEAD {
                    for (at, _) in line.match_indices(host) {
                        let begin =
                            line[..at].rfind(|c: char| c.is_whitespace() || c == '"' || c == '\'').map_or(0, |i| i + 1);
                        let end = line[at..]
                            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ';')
                            .map_or(line.len(), |i| at + i);
                        let from = span.start + line_start;
                        cx.report(from + begin..from + end, format!("`{host}` no longer answers")).help(
                            "use a live keyserver (hkps://keyserver.ubuntu.com, hkps://keys.openpgp.org) or a key file from the project",
                        );
                    }
                }
            }
            line_start += line.len();
        }
    }
}
