//! Which kind of shell a `SHELL` instruction selects.

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
        assert_eq!(
            shell_dialect(&[r"C:\Program Files\PowerShell\pwsh.EXE", "-Command"]),
            ShellDialect::PowerShell
        );
        assert_eq!(shell_dialect(&["cmd", "/S", "/C"]), ShellDialect::Cmd);
        assert_eq!(shell_dialect(&["python3", "-c"]), ShellDialect::Other);
        assert_eq!(shell_dialect(&["env"]), ShellDialect::Other);
    }
}
