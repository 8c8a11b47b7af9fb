use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG111",
        name: "expose-invalid-format",
        hadolint: &["DL3011"],
        buildkit: Some("ExposeInvalidFormat"),
        summary: "EXPOSE with a host address, a host port mapping, or a port outside 0–65535.",
        why: "EXPOSE documents the container's ports; publishing to the host is decided at `docker run -p`. An IP or `host:container` pair is ignored or rejected, and a port above 65535 does not exist.",
        bad: "FROM nginx:1.27\n# flagged: host mapping\nEXPOSE 8080:80\n# flagged: no such port\nEXPOSE 70000\n",
        good: "FROM nginx:1.27\nEXPOSE 80 443/tcp 8000-8010/udp\n",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn valid_port(s: &str) -> bool {
    s.parse::<u32>().is_ok_and(|p| p <= 65535)
}

fn check(cx: &Checker<'_, '_>) {
    for (_, command) in cx.df.all_commands() {
        let Command::Expose(ports) = command else { continue };
        for port in ports {
            let (value, span) = (port.text.as_str(), &port.span);
            if value.contains('$') {
                continue;
            }
            let ports = value.split_once('/').map_or(value, |(p, _)| p);
            if ports.contains(':') {
                cx.report(
                    span.clone(),
                    format!("`EXPOSE {value}` includes a host address or port; EXPOSE takes container ports only"),
                )
                .help("publish to the host with `docker run -p` instead");
                continue;
            }
            let (lo, hi) = ports.split_once('-').unwrap_or((ports, ports));
            if !valid_port(lo) || !valid_port(hi) {
                cx.report(span.clone(), format!("`{value}` is not a valid port or port range (0-65535)"));
            }
        }
    }
}
