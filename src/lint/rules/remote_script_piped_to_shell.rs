use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::run_script::RunCommand;
use crate::shell::Connector;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG408",
        name: "remote-script-piped-to-shell",
        category: Category::Security,
        summary: "A script downloaded and run in one go: `curl ... | sh`, `sh -c \"$(curl ...)\"`.",
        why: "The shell runs whatever the server sends, unchecked: a compromised or changed server, or a truncated download (the shell runs the half it got), changes the image with no change to the Dockerfile.",
        bad: "FROM debian:12-slim\n# flagged: runs whatever the server returns\nRUN curl -fsSL https://example.com/install.sh | sh\n",
        good: "FROM debian:12-slim\nRUN curl -fsSLo /tmp/install.sh https://example.com/install-1.2.sh \\\n && echo \"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0  /tmp/install.sh\" | sha256sum -c - \\\n && sh /tmp/install.sh && rm /tmp/install.sh\n",
        notes: "Reported when `curl` or `wget` pipes straight into `sh`, `bash`, `dash`, `ash`, `zsh` or `ksh` reading its script from standard input, or when the shell's `-c` script is a `$(curl ...)`/`$(wget ...)` substitution. Download, check a checksum, then run. hadolint and BuildKit have no such check.",
        ..RuleMeta::DEFAULT
    },
    check,
};

const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh"];

fn downloads(cmd: &RunCommand<'_, '_>) -> bool {
    matches!(cmd.name(), Some("curl" | "wget"))
}

/// A shell reading its script from standard input: no operand, or `-s`.
fn reads_stdin(cmd: &RunCommand<'_, '_>) -> bool {
    let args = cmd.args();
    let operand = args.iter().position(|w| !w.text.starts_with('-') || w.text == "-");
    let dash_s = args
        .iter()
        .take(operand.unwrap_or(args.len()))
        .any(|w| w.text.starts_with('-') && w.text.contains('s') && !w.text.starts_with("--"));
    let dash_c = args
        .iter()
        .take(operand.unwrap_or(args.len()))
        .any(|w| w.text.starts_with('-') && !w.text.starts_with("--") && w.text.contains('c'));
    !dash_c && (operand.is_none() || dash_s || operand.is_some_and(|i| args[i].text == "-"))
}

fn check(cx: &Checker<'_, '_>) {
    for (k, cmd) in cx.commands.iter().enumerate() {
        if !cmd.name().is_some_and(|n| SHELLS.contains(&n)) {
            continue;
        }
        let piped = cmd.context.before == Some(Connector::Pipe)
            && reads_stdin(cmd)
            && k.checked_sub(1).and_then(|p| cx.commands.get(p)).is_some_and(|prev| {
                downloads(prev)
                    && prev.context.pipeline_len == cmd.context.pipeline_len
                    && prev.context.pipeline_index + 1 == cmd.context.pipeline_index
            });
        // `sh -c "$(curl -fsSL URL)"`: the substitution's commands come right before.
        let substituted = cmd.args().iter().any(|w| {
            w.substitutions.iter().any(|s| {
                s.items.first().is_some_and(|a| {
                    matches!(a.first.commands.first(), Some(crate::shell::Command::Simple(simple))
                        if crate::shell::invocation(simple).and_then(|i| i.name().map(|n| matches!(n, "curl" | "wget"))) == Some(true))
                })
            })
        });
        if piped || substituted {
            cx.report(cmd.span(), "a downloaded script is run unchecked")
                .help("download it to a file, check its sha256, then run it");
        }
    }
}
