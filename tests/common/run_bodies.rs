//! The shell bodies of the `RUN` instructions of a folder of Dockerfiles, shared by
//! the corpus test and the benchmark so both read the same inputs.
//!
//! The Dockerfiles are read with `parse-dockerfile`; a stage whose `SHELL` (or
//! Windows base image) is not a POSIX shell is left out, as lint rules will do.

use std::path::Path;

use imgopt::shell::{heredoc_dialect, parse_run, parse_script, shell_dialect, ParsedScript, ShellDialect};
use parse_dockerfile::{Command, Instruction};

/// How a body is handed to the shell reader.
#[derive(Debug, Clone, Copy)]
pub enum BodyKind {
    /// Shell-form arguments as written, with the Dockerfile escape character.
    RunLine { escape: char },
    /// A here-document body: a plain script.
    HereDoc,
}

/// One shell body and where it comes from.
#[derive(Debug, Clone)]
pub struct ShellBody {
    pub file: String,
    /// Byte offset of `text` in the file.
    pub offset: usize,
    pub kind: BodyKind,
    pub text: String,
}

impl ShellBody {
    pub fn parse(&self) -> ParsedScript<'_> {
        match self.kind {
            BodyKind::RunLine { escape } => parse_run(&self.text, escape),
            BodyKind::HereDoc => parse_script(&self.text),
        }
    }
}

/// What [`extract`] found.
#[derive(Debug, Default)]
pub struct Extracted {
    pub files: usize,
    pub bodies: Vec<ShellBody>,
    /// Files `parse-dockerfile` could not read, with its message.
    pub unreadable: Vec<(String, String)>,
    /// `RUN`s left out because their stage does not use a POSIX shell.
    pub non_posix_runs: usize,
    /// Here-document bodies left out because they are not shell scripts (a
    /// non-shell `#!` line, or data fed to a command such as `cat` or `python3`).
    pub non_shell_heredocs: usize,
}

/// Reads every file of `dir` (sorted by name) and collects its RUN bodies.
pub fn extract(dir: &Path) -> std::io::Result<Extracted> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?.map(|entry| entry.map(|e| e.path())).collect::<Result<_, _>>()?;
    paths.sort();
    let mut extracted = Extracted::default();
    for path in paths.iter().filter(|p| p.is_file()) {
        extracted.files += 1;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let bytes = std::fs::read(path)?;
        let text = String::from_utf8_lossy(&bytes);
        let dockerfile = match parse_dockerfile::parse(&text) {
            Ok(dockerfile) => dockerfile,
            Err(error) => {
                extracted.unreadable.push((name, error.to_string()));
                continue;
            }
        };
        let escape = dockerfile.parser_directives.escape.as_ref().map_or('\\', |d| d.value.value);
        let mut posix = true;
        for instruction in &dockerfile.instructions {
            match instruction {
                Instruction::From(from) => {
                    let image = from.image.value.to_ascii_lowercase();
                    posix = !["windows", "nanoserver", "servercore"].iter().any(|w| image.contains(w));
                }
                Instruction::Shell(shell) => {
                    let args: Vec<&str> = shell.arguments.iter().map(|a| &*a.value).collect();
                    posix = shell_dialect(&args) == ShellDialect::Posix;
                }
                Instruction::Run(run) => {
                    if !posix {
                        extracted.non_posix_runs += 1;
                        continue;
                    }
                    let Command::Shell(arguments) = &run.arguments else { continue };
                    let line = &text[arguments.span.clone()];
                    extracted.bodies.push(ShellBody {
                        file: name.clone(),
                        offset: arguments.span.start,
                        kind: BodyKind::RunLine { escape },
                        text: line.to_owned(),
                    });
                    let command = parse_run(line, escape).script;
                    for heredoc in &run.here_docs {
                        if heredoc_dialect(&command, &heredoc.value) != ShellDialect::Posix {
                            extracted.non_shell_heredocs += 1;
                            continue;
                        }
                        extracted.bodies.push(ShellBody {
                            file: name.clone(),
                            offset: heredoc.span.start,
                            kind: BodyKind::HereDoc,
                            text: heredoc.value.to_string(),
                        });
                    }
                }
                _ => {}
            }
        }
    }
    Ok(extracted)
}
