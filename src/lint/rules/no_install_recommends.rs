use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::{Applicability, Category, Severity};
use crate::model::run_script::{is_apt_install, APT};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG209",
        name: "apt-without-no-install-recommends",
        category: Category::Size,
        severity: Severity::Info,
        hadolint: &["DL3015"],
        fix: Some(Applicability::Unsafe),
        summary: "`apt-get install` without `--no-install-recommends`.",
        why: "By default apt also installs every recommended package, often doubling what an install adds (documentation, optional helpers, X libraries).",
        bad: "FROM debian:12-slim\n# flagged: recommended packages come along\nRUN apt-get update && apt-get install -y curl\n",
        good: "FROM debian:12-slim\nRUN apt-get update && apt-get install -y --no-install-recommends curl\n",
        notes: "`-o APT::Install-Recommends=false` counts too. The fix adds the flag; it is unsafe because a program may rely on a recommended package.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for &cmd in cx.commands.iter().filter(|c| is_apt_install(c)) {
        let via_option = cmd
            .args()
            .iter()
            .any(|w| w.text.contains("Install-Recommends=false") || w.text.contains("Install-Recommends=0"));
        if via_option || cmd.has_option(APT, None, &["no-install-recommends"]) {
            continue;
        }
        let report = cx.report(
            cmd.span(),
            "`apt-get install` without `--no-install-recommends` also installs recommended packages",
        );
        if let Some(at) = cmd.after_subcommand(APT) {
            report.fix(
                "add --no-install-recommends",
                Applicability::Unsafe,
                vec![edit(at..at, " --no-install-recommends")],
            );
        }
    }
}
