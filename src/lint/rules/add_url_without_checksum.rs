use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::{Category, Severity};
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG407",
        name: "add-url-without-checksum",
        category: Category::Security,
        severity: Severity::Info,
        summary: "ADD of a remote URL without `--checksum`.",
        why: "ADD fetches the URL at build time and trusts whatever comes back: a compromised or changed server changes the image with no change to the Dockerfile. `ADD --checksum=sha256:...` (Dockerfile 1.6 and later) fails the build when the bytes differ.",
        bad: "FROM debian:12-slim\n# flagged: whatever the server sends goes in\nADD https://example.com/tool-1.2.tar.gz /opt/\n",
        good: "# syntax=docker/dockerfile:1\nFROM debian:12-slim\nADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/tool-1.2.tar.gz /opt/\n",
        notes: "Only http(s) and ftp URLs; git sources (`https://...git`, `git@...`) are left alone (pin them with a commit in the URL's fragment). A checksum in the same stage checked by a later RUN is not seen. hadolint and BuildKit have no such check.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn is_download(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let scheme = ["http://", "https://", "ftp://"].iter().any(|s| lower.starts_with(s));
    let git = lower.split(['#', '?']).next().is_some_and(|u| u.ends_with(".git"));
    scheme && !git
}

fn check(cx: &Checker<'_, '_>) {
    for (_, command) in cx.df.all_commands() {
        let Command::Copy(add) = command else { continue };
        if !add.is_add || add.checksum.is_some() {
            continue;
        }
        for source in add.paths().filter(|p| is_download(&p.text)) {
            cx.report(source.span.clone(), format!("`{}` is fetched without a checksum", source.text))
                .help("add `--checksum=sha256:<digest>` so a changed download fails the build");
        }
    }
}
