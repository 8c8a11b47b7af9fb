use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Severity;
use crate::model::instruction::MountKind;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG136",
        name: "pointless-command",
        severity: Severity::Info,
        hadolint: &["DL3001"],
        summary: "A RUN calls a command that makes no sense while building an image (`ssh`, `vim`, `shutdown`, `service`, `ps`, `top`, `free`, `kill`, `mount`, `ifconfig`).",
        why: "A build step has no terminal, no running services and no init system: an editor waits for input, `service x start` starts a process that dies with the step, `shutdown` and `mount` need privileges the build does not have, and `ps`/`top`/`free` report on a container that is about to be thrown away.",
        bad: "FROM debian:12-slim\n# flagged: the service does not outlive this RUN\nRUN service nginx start\n",
        good: "FROM debian:12-slim\nCMD [\"nginx\", \"-g\", \"daemon off;\"]\n",
        notes: "hadolint's list, with `ifconfig` added. Unlike hadolint DL3001, `ssh` in a RUN with `--mount=type=ssh` (a forwarded agent) and `mount` in a RUN with `--security=insecure` are not reported: BuildKit makes them work. A command name that comes from a variable is not reported.",
        ..RuleMeta::DEFAULT
    },
    check,
};

const POINTLESS: &[&str] = &["free", "ifconfig", "kill", "mount", "ps", "service", "shutdown", "ssh", "top", "vim"];

fn check(cx: &Checker<'_, '_>) {
    for script in cx.scripts.iter() {
        // What BuildKit makes possible: ssh through a forwarded agent, mount when insecure.
        let ssh_mounted = script.mounts().any(|m| m.kind == MountKind::Ssh);
        let insecure = script.run.flag("security").and_then(|f| f.value()) == Some("insecure");
        for cmd in script.commands() {
            let Some(name) = cmd.name().filter(|n| POINTLESS.contains(n)) else {
                continue;
            };
            if (name == "ssh" && ssh_mounted) || (name == "mount" && insecure) {
                continue;
            }
            cx.report(cmd.span(), format!("`{name}` makes no sense in a build step"))
                .help("do this when the container runs (CMD/ENTRYPOINT), or not at all");
        }
    }
}
