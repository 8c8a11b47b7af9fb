use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::userland::{walk_commands, Userland};
use crate::lint::{Applicability, Category, Severity};
use crate::shell::OptionSpec;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG511",
        name: "wget-without-progress",
        category: Category::Style,
        severity: Severity::Info,
        hadolint: &["DL3047"],
        fix: Some(Applicability::Safe),
        summary: "`wget` without `--progress`, `-q` or `-nv`.",
        why: "Without a terminal, wget's default progress bar prints a line per few kilobytes: a large download floods the build log with thousands of lines.",
        bad: "FROM debian:12-slim\n# flagged: prints a progress line per chunk\nRUN wget -O /tmp/app.tgz https://example.com/app.tgz\n",
        good: "FROM debian:12-slim\nRUN wget --progress=dot:giga -O /tmp/app.tgz https://example.com/app.tgz\n",
        notes: "`-q`/`--quiet`, `-nv`/`--no-verbose`, and `-o`/`-a` (log to a file) also count. BusyBox `wget` (Alpine and busybox bases, unless `apk add wget` installed GNU wget) is not reported: without a terminal it prints one progress line, and it rejects `--progress`. The fix adds `--progress=dot:giga` after `wget`; it is safe when the base is known to have GNU wget (Debian, Ubuntu, the RHEL and SUSE families and the official images built on them, or a stage that runs apt-get, yum or dnf) and unsafe when imgopt cannot tell (a private or variable base): check that the image's wget is GNU's before applying it. Differs from hadolint (DL3047), which also reports BusyBox wget.",
        ..RuleMeta::DEFAULT
    },
    check,
};

/// wget options that take a value.
const WGET: OptionSpec<'static> = OptionSpec {
    short_with_value: "OoaPUeTtwQiBlARDXIY",
    long_with_value: &[
        "output-document",
        "output-file",
        "append-output",
        "directory-prefix",
        "user-agent",
        "execute",
        "timeout",
        "tries",
        "wait",
        "quota",
        "input-file",
        "base",
        "level",
        "accept",
        "reject",
        "domains",
        "header",
        "user",
        "password",
    ],
    stop_at_positional: false,
};

fn check(cx: &Checker<'_, '_>) {
    if !cx.commands.iter().any(|c| c.name() == Some("wget")) {
        return;
    }
    walk_commands(cx, |cmd, base, evidence| {
        // `apk add wget && wget ...`: what ran before counts.
        let userland = evidence.userland(base);
        evidence.observe(cmd, "wget");
        if cmd.name() != Some("wget") {
            return;
        }
        let quiet = cmd.has_option(WGET, Some('q'), &["quiet", "progress", "no-verbose", "output-file", "append-output"])
            || cmd.has_option(WGET, Some('o'), &[])
            || cmd.has_option(WGET, Some('a'), &[])
            // `-nv` is one option to wget, though it looks like a cluster of `-n` and `-v`.
            || cmd.args().iter().any(|w| w.text == "-nv");
        if quiet {
            return;
        }
        let Some(name_end) = crate::shell::invocation(cmd.command).map(|inv| cmd.span_of(&inv.command.span).end) else {
            return;
        };
        let applicability = match userland {
            // One progress line without a terminal, and `--progress` is an error.
            Userland::Busybox => return,
            Userland::Gnu => Applicability::Safe,
            Userland::Unknown => Applicability::Unsafe,
        };
        let report = cx.report(cmd.span(), "`wget` without `--progress` floods the build log with progress lines");
        let report = if applicability == Applicability::Unsafe {
            report
                .help("BusyBox wget rejects `--progress`: the fix is unsafe until the base's wget is known to be GNU's")
        } else {
            report
        };
        report.fix("add --progress=dot:giga", applicability, vec![edit(name_end..name_end, " --progress=dot:giga")]);
    });
}
