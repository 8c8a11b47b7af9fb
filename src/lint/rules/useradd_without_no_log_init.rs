use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::{Applicability, Category};
use crate::shell::{Arg, OptionSpec};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG211",
        name: "useradd-without-no-log-init",
        category: Category::Size,
        hadolint: &["DL3046"],
        fix: Some(Applicability::Safe),
        summary: "`useradd` with a large UID and without `-l`/`--no-log-init`.",
        why: "useradd records the user in /var/log/lastlog and faillog, files indexed by UID: for UID 1000000 they become sparse files of hundreds of MB, and layers store sparse files in full.",
        bad: "FROM debian:12-slim\n# flagged: a 1.2 GB lastlog\nRUN useradd -u 4200000 app\n",
        good: "FROM debian:12-slim\nRUN useradd --no-log-init -u 4200000 app\nRUN useradd -u 1000 small\n",
        notes: "Reported for UIDs above 65535 or given by a variable (unknown size). The fix adds `-l`.",
        ..RuleMeta::DEFAULT
    },
    check,
};

const USERADD: OptionSpec<'static> = OptionSpec {
    short_with_value: "bcdefgGkKpsuUZ",
    long_with_value: &[
        "base-dir",
        "comment",
        "home-dir",
        "expiredate",
        "inactive",
        "gid",
        "groups",
        "skel",
        "key",
        "password",
        "shell",
        "uid",
        "selinux-user",
        "root",
        "prefix",
    ],
    stop_at_positional: false,
};

fn check(cx: &Checker<'_, '_>) {
    for &cmd in cx.commands.iter().filter(|c| c.name() == Some("useradd")) {
        if cmd.has_option(USERADD, Some('l'), &["no-log-init"]) {
            continue;
        }
        let uid = crate::shell::parse_args(cmd.args(), USERADD).find_map(|a| match a {
            Arg::Short { flag: 'u', value, .. } => value.map(|v| v.text().to_string()),
            Arg::Long { name: "uid", value, .. } => value.map(|v| v.text().to_string()),
            _ => None,
        });
        let large = uid.as_deref().is_some_and(|u| u.contains('$') || u.parse::<u64>().is_ok_and(|n| n > 65535));
        if !large {
            continue;
        }
        let Some(word) = crate::shell::invocation(cmd.command).map(|i| i.command) else {
            continue;
        };
        let at = cmd.span_of(&word.span).end;
        cx.report(
            cmd.span(),
            format!("`useradd` with UID {} and without `-l` writes huge sparse log files", uid.unwrap_or_default()),
        )
        .fix("add --no-log-init", Applicability::Safe, vec![edit(at..at, " --no-log-init")]);
    }
}
