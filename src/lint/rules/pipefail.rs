use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::model::run_script::PLAIN;
use crate::model::state::fold_stage;
use crate::shell::{Command, CompoundKind, Script};
use crate::syntax::Span;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG121",
        name: "pipe-without-pipefail",
        hadolint: &["DL4006"],
        summary: "A RUN with a pipe while the shell does not use `pipefail`.",
        why: "A pipeline's status is that of its last command: in `curl -fsSL $URL | tar -xz` a failed download is ignored and the build goes on with a broken step.",
        bad: "FROM debian:12-slim\n# flagged: a failing curl is ignored\nRUN curl -fsSL https://example.com/tool.tgz | tar -xz -C /opt\n",
        good: "FROM debian:12-slim\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN curl -fsSL https://example.com/tool.tgz | tar -xz -C /opt\n",
        notes: "Not reported when the stage's SHELL has `-o pipefail`, or the RUN itself sets it (`set -o pipefail`, `set -euo pipefail`), or when every command before the last pipe cannot fail: `echo`, `printf`, `true`, `yes` and `cat` of a here-string or here-document (`echo \"$SHA  file\" | sha256sum -c -`), or a group of only those (`{ echo a; echo b; } | tee file`); hadolint reports these. A group or subshell before a pipe (`{ curl ...; } | tar`, `(curl ...) | tar`) is reported, and so are pipes inside `if`, loops and command substitutions.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    if !cx.commands.iter().any(|c| c.context.pipeline_len > 1) {
        return;
    }
    // Whether the SHELL in effect before each instruction sets pipefail: one fold per stage.
    let mut shell_has_pipefail = vec![false; cx.df.instructions.len()];
    for stage in &cx.model.stages {
        fold_stage(cx.df, stage, |index, state| {
            shell_has_pipefail[index] =
                state.config.shell.as_ref().is_some_and(|s| s.iter().any(|a| a.contains("pipefail")));
        });
    }
    for script in cx.scripts.iter() {
        if shell_has_pipefail[script.index] {
            continue;
        }
        let commands = script.commands();
        let sets_pipefail = commands.iter().any(|c| {
            c.name() == Some("set")
                && (c.args().iter().any(|w| w.text == "pipefail")
                    || c.operands(PLAIN).iter().any(|w| w.text == "pipefail"))
        });
        if sets_pipefail {
            continue;
        }
        let first_risky = script.parts.iter().find_map(|part| {
            let mut found = None;
            risky_pipeline(&part.parsed.script, &mut found);
            found.map(|span| part.offset + span.start..part.offset + span.end)
        });
        if let Some(span) = first_risky {
            cx.report(span, "a failure before the pipe is ignored without `pipefail`").help(
                "add `SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]` before the RUN, or `set -o pipefail &&`",
            );
        }
    }
}

/// The first element of the first pipeline in `script` (compound bodies and command
/// substitutions included) where a command before the last can fail.
fn risky_pipeline(script: &Script<'_>, found: &mut Option<Span>) {
    for and_or in &script.items {
        for pipeline in std::iter::once(&and_or.first).chain(and_or.rest.iter().map(|(_, p)| p)) {
            if found.is_some() {
                return;
            }
            let (last, earlier) = pipeline.commands.split_last().expect("a pipeline has a command");
            if !earlier.is_empty() && !earlier.iter().all(cannot_fail) {
                *found = Some(pipeline.commands[0].span());
                return;
            }
            for command in earlier.iter().chain([last]) {
                nested(command, found);
            }
        }
    }
}

/// Walks the scripts inside `command`: compound bodies and command substitutions.
fn nested(command: &Command<'_>, found: &mut Option<Span>) {
    let mut scripts: Vec<&Script<'_>> = Vec::new();
    match command {
        Command::Simple(simple) => {
            let words = simple.words.iter().chain(simple.assignments.iter().map(|a| &a.value));
            scripts.extend(words.flat_map(|w| &w.substitutions));
        }
        Command::Function(function) => return nested(&function.body, found),
        Command::Compound(compound) => match &compound.kind {
            CompoundKind::Subshell(body) | CompoundKind::BraceGroup(body) => scripts.push(body),
            CompoundKind::If { branches, else_body } => {
                scripts.extend(branches.iter().flat_map(|b| [&b.condition, &b.body]));
                scripts.extend(else_body);
            }
            CompoundKind::For { body, .. } | CompoundKind::ArithmeticFor { body, .. } => scripts.push(body),
            CompoundKind::While { condition, body } | CompoundKind::Until { condition, body } => {
                scripts.extend([condition, body]);
            }
            CompoundKind::Case { arms, .. } => scripts.extend(arms.iter().map(|a| &a.body)),
            CompoundKind::Arithmetic(_) | CompoundKind::Conditional(_) => {}
        },
    }
    for script in scripts {
        risky_pipeline(script, found);
    }
}

/// A pipeline element whose failure nobody needs to see: it prints what it was given
/// (`echo "$SHA  file" | sha256sum -c -`, `cat <<EOF | ...`), or `yes` (which pipefail would
/// turn into a failure when the reader stops).
fn cannot_fail(command: &Command<'_>) -> bool {
    let simple = match command {
        Command::Simple(simple) => simple,
        // `{ echo a; echo b; } | tee file`: a group or subshell of such commands.
        Command::Compound(compound) => {
            return match &compound.kind {
                CompoundKind::BraceGroup(body) | CompoundKind::Subshell(body) => body.items.iter().all(|a| {
                    std::iter::once(&a.first)
                        .chain(a.rest.iter().map(|(_, p)| p))
                        .all(|p| p.commands.iter().all(cannot_fail))
                }),
                _ => false,
            };
        }
        Command::Function(_) => return false,
    };
    let Some(invocation) = crate::shell::invocation(simple) else { return false };
    match invocation.name() {
        Some("echo" | "printf" | "true" | "yes") => true,
        // `cat` of standard input only: a here-string or here-document.
        Some("cat") => invocation.args.iter().all(|w| w.text == "-") && !simple.redirects.is_empty(),
        _ => false,
    }
}
