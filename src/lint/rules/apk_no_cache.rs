use super::{Rule, RuleMeta};
use crate::lint::checker::{edit, Checker};
use crate::lint::{Applicability, Category};
use crate::model::caches;
use crate::model::run_script::{removes, APK};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG203",
        name: "apk-add-without-no-cache",
        category: Category::Size,
        hadolint: &["DL3019"],
        fix: Some(Applicability::Safe),
        summary: "`apk add` without `--no-cache`.",
        why: "Without `--no-cache`, apk keeps the package index in /var/cache/apk, and it is stored in the layer. `--no-cache` fetches the index to a temporary place and leaves nothing behind.",
        bad: "FROM alpine:3.20\n# flagged: the index stays in the layer\nRUN apk add curl\n",
        good: "FROM alpine:3.20\nRUN apk add --no-cache curl\n",
        notes: "Not reported with `--no-network` (no index is fetched), nor when the same RUN removes /var/cache/apk, or mounts a cache there. Only stages that end up in the final image are checked (hadolint also reports build stages). Only `apk add` is read: hadolint 2.15 also reports RUNs whose `apk add` has `--no-cache` when another apk command (`apk del --no-network .build-deps`, `apk --print-arch`) is in the same RUN. The fix adds `--no-cache`.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for script in cx.shipping_scripts() {
        let commands = script.commands();
        let apk = caches::named("apk");
        if removes(&commands, apk) || script.has_cache_mount_on(apk) {
            continue;
        }
        for cmd in commands.iter().filter(|c| c.name() == Some("apk")) {
            let operands = cmd.operands(APK);
            let Some(add) = operands.first().filter(|w| w.text == "add") else {
                continue;
            };
            // `--no-network` fetches no index: there is none to leave behind.
            if cmd.has_option(APK, None, &["no-cache", "no-network"]) {
                continue;
            }
            let at = cmd.span_of(&add.span).end;
            cx.report(cmd.span(), "`apk add` without `--no-cache` leaves the package index in the layer").fix(
                "add --no-cache",
                Applicability::Safe,
                vec![edit(at..at, " --no-cache")],
            );
        }
    }
}
