//! RUN bodies read as shell ([`crate::shell`]), for the rules that look at commands.
//!
//! Each shell-form `RUN` (and each heredoc body of a `RUN <<EOF`) is parsed once per file.
//! A stage whose `SHELL` is not a POSIX shell (PowerShell, cmd) is skipped: these rules do not
//! judge it. Spans of the shell tree are relative to the parsed text; [`RunCommand::span_of`]
//! turns them into file offsets.

use super::caches::WellKnown;
use super::document::Document;
use super::instruction::{Command, Mount, MountKind, Run};
use crate::shell::{self, CommandContext, OptionSpec, ParsedScript, ShellDialect, SimpleCommand, Word};
use crate::syntax;
use crate::syntax::Span;

/// One parsed piece of a RUN: the shell-form line or one heredoc body.
pub struct ScriptPart<'d> {
    /// Where the parsed text starts in the file.
    pub offset: usize,
    pub parsed: ParsedScript<'d>,
}

/// A RUN instruction with its shell.
pub struct RunScript<'d> {
    /// Index of the instruction in [`crate::syntax::Dockerfile::instructions`](crate::syntax::Dockerfile::instructions).
    pub index: usize,
    /// Index of its stage.
    pub stage: usize,
    pub run: &'d syntax::Instruction,
    /// Its typed command (None only when BuildKit would refuse its flags).
    pub command: Option<&'d Run>,
    pub parts: Vec<ScriptPart<'d>>,
}

/// A simple command of a RUN and where it sits.
#[derive(Clone, Copy)]
pub struct RunCommand<'s, 'd> {
    pub command: &'s SimpleCommand<'d>,
    pub context: CommandContext,
    /// Offset of the parsed text in the file.
    pub offset: usize,
    /// The name and the words after it, wrappers stripped: read once when the command is
    /// walked, as every rule asks for them (see [`RunCommand::name`], [`RunCommand::args`]).
    name: Option<&'s str>,
    args: &'s [Word<'d>],
}

/// Every RUN of the file in a POSIX-shell stage, parsed.
pub fn run_scripts<'d>(df: &'d Document<'_>) -> Vec<RunScript<'d>> {
    let mut out = Vec::new();
    let mut posix = true;
    for (index, ins) in df.instructions.iter().enumerate() {
        match ins.keyword.as_str() {
            "FROM" => posix = true,
            "SHELL" => posix = shell::shell_dialect(&ins.args) == ShellDialect::Posix,
            "RUN" if posix => {
                let Some(stage) = df.model.stage_of(index).map(|s| s.index) else { continue };
                // Kept for every RUN while the rules run: no spare capacity.
                let mut parts = Vec::with_capacity(usize::from(!ins.json_form) + ins.heredocs.len());
                if !ins.json_form {
                    let line = df.text.get(ins.args_span.clone()).unwrap_or("");
                    parts.push(ScriptPart { offset: ins.args_span.start, parsed: shell::parse_run(line, df.escape) });
                }
                for heredoc in &ins.heredocs {
                    // A body is shell only when BuildKit runs it as a script (no `#!python`,
                    // not the stdin of `cat > file`).
                    let is_script = parts.first().is_none_or(|line: &ScriptPart<'_>| {
                        shell::heredoc_dialect(&line.parsed.script, &heredoc.content) == ShellDialect::Posix
                    });
                    if is_script {
                        parts.push(ScriptPart {
                            offset: heredoc.span.start,
                            parsed: shell::parse_script(&heredoc.content),
                        });
                    }
                }
                let command = match df.command(index) {
                    Some(Command::Run(run)) => Some(run),
                    _ => None,
                };
                out.push(RunScript { index, stage, run: ins, command, parts });
            }
            _ => {}
        }
    }
    out.shrink_to_fit();
    out
}

impl<'d> RunScript<'d> {
    /// Every simple command, in source order (substitutions and compound bodies included).
    pub fn commands(&self) -> Vec<RunCommand<'_, 'd>> {
        self.parts
            .iter()
            .flat_map(|part| {
                shell::simple_commands(&part.parsed.script).into_iter().map(move |(command, context)| {
                    let invocation = shell::invocation(command);
                    RunCommand {
                        command,
                        context,
                        offset: part.offset,
                        name: invocation.as_ref().and_then(|inv| {
                            let name = inv.command.static_text()?;
                            Some(name.rsplit('/').next().unwrap_or(name))
                        }),
                        args: invocation.map_or(&[], |inv| inv.args),
                    }
                })
            })
            .collect()
    }

    /// The RUN's `--mount`s that read as written (see [`Run::mounts_as_written`]).
    pub fn mounts(&self) -> impl Iterator<Item = Mount> + 'd {
        self.command.into_iter().flat_map(Run::mounts_as_written)
    }

    /// Whether the RUN mounts a cache (`--mount=type=cache`) on one of `known`'s directories,
    /// above one, or inside one.
    pub fn has_cache_mount_on(&self, known: &WellKnown) -> bool {
        self.mounts().any(|m| m.kind == MountKind::Cache && m.target.is_some_and(|t| known.touched_by(&t)))
    }

    /// Whether this RUN already runs every command of the RUN `later`, as written: joining
    /// `later` onto it would run them twice (a cleanup another fix already appended).
    pub fn repeats(&self, text: &str, later: &RunScript<'_>) -> bool {
        let normalized = |c: &RunCommand<'_, '_>| text[c.span()].split_whitespace().collect::<Vec<_>>().join(" ");
        let already: Vec<String> = self.commands().iter().map(normalized).collect();
        let commands = later.commands();
        !commands.is_empty() && commands.iter().all(|c| already.contains(&normalized(c)))
    }

    /// End of the shell-form command line in the file (where `&& more` can be appended).
    pub fn line_end(&self) -> Option<usize> {
        (!self.run.json_form && self.run.heredocs.is_empty()).then_some(self.run.args_span.end)
    }
}

impl<'s, 'd> RunCommand<'s, 'd> {
    /// The command's name once wrappers (`sudo`, `env`...) are stripped, without directory.
    pub fn name(&self) -> Option<&'s str> {
        self.name
    }

    /// Whether the command ran under `sudo` (or another stripped wrapper of that name).
    pub fn has_wrapper(&self, name: &str) -> bool {
        shell::invocation(self.command).is_some_and(|inv| inv.has_wrapper(name))
    }

    /// The words after the command name.
    pub fn args(&self) -> &'s [Word<'d>] {
        self.args
    }

    /// Operands (non-option words) under `spec`.
    pub fn operands(&self, spec: OptionSpec<'_>) -> Vec<&'s Word<'d>> {
        shell::parse_args(self.args(), spec)
            .filter_map(|a| match a {
                shell::Arg::Positional(w) => Some(w),
                _ => None,
            })
            .collect()
    }

    /// Whether any option matches (`-y`, or `--yes`...).
    pub fn has_option(&self, spec: OptionSpec<'_>, short: Option<char>, long: &[&str]) -> bool {
        shell::parse_args(self.args(), spec)
            .any(|a| long.iter().any(|l| a.is_option(short, l)) || a.is_option(short, ""))
    }

    /// The first operand (`install` in `apt-get -q install x`).
    pub fn subcommand(&self, spec: OptionSpec<'_>) -> Option<&'s str> {
        self.operands(spec).first().map(|w| &*w.text)
    }

    /// The file offset right after the command's first operand (`install` in
    /// `apt-get -q install x`), where a fix inserts a flag.
    pub fn after_subcommand(&self, spec: OptionSpec<'_>) -> Option<usize> {
        self.operands(spec).first().map(|w| self.span_of(&w.span).end)
    }

    /// A span of the parsed text as a file span.
    pub fn span_of(&self, span: &Span) -> Span {
        self.offset + span.start..self.offset + span.end
    }

    /// The whole command in the file.
    pub fn span(&self) -> Span {
        self.span_of(&self.command.span)
    }
}

/// Whether one of `commands` is an `rm` of one of `known`'s directories (or of what is in it).
pub fn removes(commands: &[RunCommand<'_, '_>], known: &WellKnown) -> bool {
    commands.iter().any(|c| {
        c.name() == Some("rm")
            && c.args().iter().any(|w| w.text.starts_with('/') && known.touched_by(w.text.trim_end_matches('*')))
    })
}

/// Every simple command of every RUN, in file order.
pub fn all_commands<'s, 'd>(scripts: &'s [RunScript<'d>]) -> Vec<RunCommand<'s, 'd>> {
    let mut all: Vec<RunCommand<'s, 'd>> = scripts.iter().flat_map(RunScript::commands).collect();
    // Kept while the rules run.
    all.shrink_to_fit();
    all
}

/// apt-get / apt options that take a value.
pub const APT: OptionSpec<'static> = OptionSpec {
    short_with_value: "otc",
    long_with_value: &["option", "target-release", "config-file"],
    stop_at_positional: false,
};
/// apk options that take a value.
pub const APK: OptionSpec<'static> = OptionSpec {
    short_with_value: "Xpt",
    long_with_value: &["repository", "root", "virtual", "arch", "cache-dir", "keys-dir", "repositories-file"],
    stop_at_positional: false,
};
/// pip options that take a value.
pub const PIP: OptionSpec<'static> = OptionSpec {
    short_with_value: "rcCeitfb",
    long_with_value: &[
        "requirement",
        "constraint",
        "editable",
        "target",
        "prefix",
        "root",
        "index-url",
        "extra-index-url",
        "find-links",
        "cache-dir",
        "src",
        "upgrade-strategy",
        "python-version",
        "platform",
        "only-binary",
        "no-binary",
        "trusted-host",
        "log",
        "proxy",
        "timeout",
        "retries",
        "exists-action",
        "cert",
        "client-cert",
    ],
    stop_at_positional: false,
};
/// Options of commands rules only need the operands of.
pub const PLAIN: OptionSpec<'static> =
    OptionSpec { short_with_value: "", long_with_value: &[], stop_at_positional: false };

/// Package managers and what installing with them looks like.
pub fn is_apt(name: &str) -> bool {
    name == "apt-get" || name == "apt"
}

/// `apt-get install` / `apt install` (also `apt-get -y install`).
pub fn is_apt_install(cmd: &RunCommand<'_, '_>) -> bool {
    cmd.name().is_some_and(is_apt) && cmd.subcommand(APT) == Some("install")
}

/// `pip install`, `pip3 install`, `python -m pip install`.
pub fn is_pip_install(cmd: &RunCommand<'_, '_>) -> bool {
    match cmd.name() {
        Some(n) if n == "pip" || n.starts_with("pip3") || n == "pip2" => cmd.subcommand(PIP) == Some("install"),
        Some(n) if n.starts_with("python") => {
            let words: Vec<&str> = cmd.args().iter().map(|w| &*w.text).collect();
            words.windows(3).any(|w| w[0] == "-m" && w[1] == "pip" && w[2] == "install")
        }
        _ => false,
    }
}
