use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::caches;
use crate::model::run_script::{removes, PLAIN};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG205",
        name: "rpm-cache-left-in-layer",
        category: Category::Size,
        hadolint: &["DL3032", "DL3040", "DL3036"],
        summary: "`yum`/`dnf`/`microdnf`/`zypper install` without cleaning the package cache in the same RUN.",
        why: "These managers keep metadata and downloaded packages under /var/cache; unless the same RUN runs `yum clean all` (or `dnf clean all`, `zypper clean`), the cache is stored in the layer.",
        bad: "FROM rockylinux:9\n# flagged: the cache stays\nRUN dnf install -y nginx\n",
        good: "FROM rockylinux:9\nRUN dnf install -y nginx && dnf clean all\n",
        notes: "Removing /var/cache/yum, /var/cache/dnf or /var/cache/zypp in the same RUN counts as cleaning. Only stages that end up in the final image are checked.",
        ..RuleMeta::DEFAULT
    },
    check,
};

const MANAGERS: &[&str] = &["yum", "dnf", "microdnf", "zypper", "tdnf"];

fn check(cx: &Checker<'_, '_>) {
    for script in cx.shipping_scripts() {
        let commands = script.commands();
        let cleaned = commands.iter().any(|c| {
            let name = c.name().unwrap_or_default();
            MANAGERS.contains(&name) && matches!(c.subcommand(PLAIN), Some("clean" | "cc"))
        });
        let rpm_caches = ["dnf", "yum", "zypper"].map(caches::named);
        if cleaned || rpm_caches.iter().any(|c| removes(&commands, c) || script.has_cache_mount_on(c)) {
            continue;
        }
        for cmd in &commands {
            let Some(name) = cmd.name().filter(|n| MANAGERS.contains(n)) else {
                continue;
            };
            if matches!(cmd.subcommand(PLAIN), Some("install" | "in" | "update" | "upgrade" | "groupinstall")) {
                let clean =
                    if name == "zypper" { "zypper clean --all".to_string() } else { format!("{name} clean all") };
                cx.report(cmd.span(), format!("`{name}` leaves its package cache in this layer"))
                    .help(format!("end the same RUN with `&& {clean}`"));
            }
        }
    }
}
