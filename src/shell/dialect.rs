//! Which kind of shell a `SHELL` instruction selects, and whether a here-document
//! body is a shell script at all.

use super::ast::{AndOr, Command, Script};

/// The family of a shell, as far as lint rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellDialect {
    /// `sh`, `bash`, `ash`, `dash`, `zsh`, `ksh`, `mksh`, `busybox sh`: the shell
    /// rules apply.
    Posix,
    /// `powershell`, `pwsh`.
    PowerShell,
    /// Windows `cmd`.
    Cmd,
    /// Anything else (`python -c`, `fish`, ...): shell rules should not judge it.
    Other,
}

/// Classifies the argument array of a `SHELL` instruction (e.g.
/// `["/bin/bash", "-o", "pipefail", "-c"]`). An empty array is the default shell,
/// `/bin/sh -c`. `/usr/bin/env bash` and `busybox sh` look at the program they run.
pub fn shell_dialect<S: AsRef<str>>(shell: &[S]) -> ShellDialect {
    let mut rest = shell.iter().map(AsRef::as_ref);
    let Some(mut program) = rest.next() else {
        return ShellDialect::Posix;
    };
    loop {
        let name = program_name(program);
        match name.as_str() {
            "env" | "busybox" => match rest.find(|arg| !arg.starts_with('-') && !arg.contains('=')) {
                Some(next) => program = next,
                None => return ShellDialect::Other,
            },
            "sh" | "bash" | "ash" | "dash" | "zsh" | "ksh" | "mksh" | "yash" | "posh" => return ShellDialect::Posix,
            "powershell" | "pwsh" => return ShellDialect::PowerShell,
            "cmd" => return ShellDialect::Cmd,
            _ => return ShellDialect::Other,
        }
    }
}

/// The language of the body of `RUN <<EOF [command]`, given the shell-form
/// `command` after the here-document operator (as read by [`super::parse_run`]).
///
/// BuildKit runs a body without a command as a script: with its `#!` interpreter if
/// it has one (`#!/usr/bin/env python3` is [`ShellDialect::Other`]), else with the
/// stage's shell (reported as [`ShellDialect::Posix`]; the caller combines it with
/// the stage's `SHELL`). With a command, the body is that command's standard input:
/// a script only when the command is a shell (`bash`, `sh -e`), data otherwise
/// (`cat > /etc/app.conf`, `python3`).
pub fn heredoc_dialect(command: &Script<'_>, body: &str) -> ShellDialect {
    // `RUN <<EOF` read as shell is a command of redirections only: no command either.
    let only_redirections = |item: &&AndOr<'_>| {
        item.rest.is_empty()
            && matches!(item.first.commands.as_slice(), [Command::Simple(simple)] if simple.words.is_empty())
    };
    let first = command.items.first().filter(|item| !(command.items.len() == 1 && only_redirections(item)));
    let Some(first) = first else {
        return match body.strip_prefix("#!") {
            Some(shebang) => {
                let line = shebang.lines().next().unwrap_or("");
                shell_dialect(&line.split_whitespace().collect::<Vec<_>>())
            }
            None => ShellDialect::Posix,
        };
    };
    match first.first.commands.first() {
        Some(Command::Simple(simple)) if !simple.words.is_empty() && first.rest.is_empty() => {
            let words: Vec<&str> = simple.words.iter().map(|word| &*word.text).collect();
            shell_dialect(&words)
        }
        _ => ShellDialect::Other,
    }
}

/// `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe` -> `powershell`.
fn program_name(program: &str) -> String {
    let base = program.rsplit(['/', '\\']).next().unwrap_or(program);
    let lower = base.to_ascii_lowercase();
    match lower.strip_suffix(".exe") {
        Some(stem) => stem.to_owned(),
        None => lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_common_shells() {
        assert_eq!(shell_dialect::<&str>(&[]), ShellDialect::Posix);
        assert_eq!(shell_dialect(&["/bin/bash", "-o", "pipefail", "-c"]), ShellDialect::Posix);
        assert_eq!(shell_dialect(&["/bin/ash", "-eo", "pipefail", "-c"]), ShellDialect::Posix);
        assert_eq!(shell_dialect(&["dash", "-c"]), ShellDialect::Posix);
        assert_eq!(shell_dialect(&["/bin/zsh", "-c"]), ShellDialect::Posix);
        assert_eq!(shell_dialect(&["/bin/busybox", "sh", "-c"]), ShellDialect::Posix);
        assert_eq!(shell_dialect(&["/usr/bin/env", "bash", "-c"]), ShellDialect::Posix);
        assert_eq!(shell_dialect(&["powershell", "-Command"]), ShellDialect::PowerShell);
        assert_eq!(shell_dialect(&[r"C:\Program Files\PowerShell\pwsh.EXE", "-Command"]), ShellDialect::PowerShell);
        assert_eq!(shell_dialect(&["cmd", "/S", "/C"]), ShellDialect::Cmd);
        assert_eq!(shell_dialect(&["python3", "-c"]), ShellDialect::Other);
        assert_eq!(shell_dialect(&["env"]), ShellDialect::Other);
    }

    #[test]
    fn heredoc_bodies_are_scripts_only_for_shells() {
        let empty = crate::shell::parse_run("", '\\').script;
        assert_eq!(heredoc_dialect(&empty, "apt-get update\n"), ShellDialect::Posix);
        // The shell-form line of `RUN <<EOF` as BuildKit keeps it: the marker and nothing else.
        let marker = crate::shell::parse_run("<<EOF", '\\').script;
        assert_eq!(heredoc_dialect(&marker, "apt-get update\n"), ShellDialect::Posix);
        assert_eq!(heredoc_dialect(&marker, "#!/usr/bin/env python3\nprint(1)\n"), ShellDialect::Other);
        let cat = crate::shell::parse_run("cat <<EOF > /etc/x", '\\').script;
        assert_eq!(heredoc_dialect(&cat, "a=1\n"), ShellDialect::Other);
        assert_eq!(heredoc_dialect(&empty, "#!/bin/bash -e\nset -x\n"), ShellDialect::Posix);
        assert_eq!(heredoc_dialect(&empty, "#!/usr/bin/env python3\nprint(1)\n"), ShellDialect::Other);
        assert_eq!(heredoc_dialect(&empty, "#!/bin/awk -f\nBEGIN {}\n"), ShellDialect::Other);
        let bash = crate::shell::parse_run(" bash -e", '\\').script;
        assert_eq!(heredoc_dialect(&bash, "set -x\n"), ShellDialect::Posix);
        let python = crate::shell::parse_run(" python3", '\\').script;
        assert_eq!(heredoc_dialect(&python, "print(1)\n"), ShellDialect::Other);
        let cat = crate::shell::parse_run(" cat > /etc/app.conf", '\\').script;
        assert_eq!(heredoc_dialect(&cat, "key=value\n"), ShellDialect::Other);
    }
}
