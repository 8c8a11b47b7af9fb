//! The shell bodies of the `RUN` instructions of a folder of Dockerfiles, shared by
//! the corpus test and the benchmark so both read the same inputs.
//!
//! The Dockerfiles are read with imgopt's loader ([`Document`]); a stage whose `SHELL`
//! (or Windows base image) is not a POSIX shell is left out, as lint rules will do.

use std::path::Path;

use imgopt::model::document::Document;
use imgopt::model::instruction::{Command, CommandLine};
use imgopt::shell::{heredoc_dialect, parse_run, parse_script, shell_dialect, ParsedScript, ShellDialect};

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
    /// Files the loader refused, with its message.
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
        let text = imgopt::syntax::strip_bom(&text).0;
        let dockerfile = match Document::parse(text) {
            Ok(dockerfile) => dockerfile,
            Err(error) => {
                extracted.unreadable.push((name, error.message));
                continue;
            }
        };
        let escape = dockerfile.escape;
        let mut posix = true;
        for (index, command) in dockerfile.all_commands() {
            match command {
                Command::From(from) => {
                    let image = from.image.text.to_ascii_lowercase();
                    posix = !["windows", "nanoserver", "servercore"].iter().any(|w| image.contains(w));
                }
                Command::Shell(shell) => posix = shell_dialect(shell) == ShellDialect::Posix,
                Command::Run(run) => {
                    if !posix {
                        extracted.non_posix_runs += 1;
                        continue;
                    }
                    let CommandLine::Shell(_) = &run.command else { continue };
                    let span = dockerfile.instructions[index].args_span.clone();
                    let line = &text[span.clone()];
                    extracted.bodies.push(ShellBody {
                        file: name.clone(),
                        offset: span.start,
                        kind: BodyKind::RunLine { escape },
                        text: line.to_owned(),
                    });
                    let command = parse_run(line, escape).script;
                    for heredoc in &run.heredocs {
                        if heredoc_dialect(&command, &heredoc.content) != ShellDialect::Posix {
                            extracted.non_shell_heredocs += 1;
                            continue;
                        }
                        extracted.bodies.push(ShellBody {
                            file: name.clone(),
                            offset: heredoc.span.start,
                            kind: BodyKind::HereDoc,
                            text: heredoc.content.clone(),
                        });
                    }
                }
                _ => {}
            }
        }
    }
    Ok(extracted)
}
