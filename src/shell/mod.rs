//! Shell awareness: reads the shell of Dockerfile `RUN` instructions into commands,
//! pipelines, lists and words, so lint rules look at `apt-get install -y curl` as a
//! command with options instead of matching text.
//!
//! - [`parse_run`] reads the shell-form arguments of a `RUN` as written in the
//!   Dockerfile (continuations, and the comment lines BuildKit drops inside them,
//!   still present); [`parse_script`] reads a here-document body.
//! - [`for_each_simple_command`] visits every simple command, inside compound
//!   commands and command substitutions too, with the [`CommandContext`] that says
//!   what joins it to its neighbours.
//! - [`invocation`] strips wrappers (`sudo`, `env A=b`, `command`, `exec`, ...) to
//!   find the command that really runs, and [`parse_args`] splits its words into
//!   options and operands.
//! - [`shell_dialect`] tells whether a `SHELL` instruction selects a POSIX shell, so
//!   PowerShell stages are not judged by these rules.
//!
//! Spans are byte ranges into the text passed to the parser. The reader never
//! panics, takes linear time, and on a syntax error returns the tree built so far
//! together with the error.

#![warn(missing_docs)]

mod ast;
mod command;
mod dialect;
mod parser;
mod source;
mod walk;

#[cfg(test)]
mod tests;

pub use ast::*;
pub use command::{invocation, parse_args, Arg, Args, Invocation, OptionSpec, OptionValue};
pub use dialect::{heredoc_dialect, shell_dialect, ShellDialect};
pub use walk::{for_each_simple_command, simple_commands, CommandContext, Connector};

use parser::Parser;
use source::Source;

/// A shell syntax error: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ShellError {
    /// What went wrong, e.g. "unterminated double quote" or "expected `fi`, found end of script".
    pub message: String,
    /// Where, as a byte range into the parsed text.
    pub span: Span,
}

/// The result of reading a script: the tree, complete or partial, and the first
/// syntax error if there was one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedScript<'a> {
    /// The commands read; when `error` is set, those read before it.
    pub script: Script<'a>,
    /// The first syntax error.
    pub error: Option<ShellError>,
}

/// Reads the shell-form arguments of a `RUN` (or `CMD`, `ENTRYPOINT`, ...) exactly
/// as written in the Dockerfile.
///
/// `escape` is the Dockerfile escape character (`\` by default, `` ` `` with
/// `# escape=``). As BuildKit does before the shell runs: the escape character
/// followed by optional blanks and a line break is removed (unless it is itself
/// escaped, as in `foo\\`), and inside the
/// continued instruction, empty lines and lines whose first non-blank character is
/// `#` are dropped. Here-document operators (`<<EOF`) are recorded; their bodies are
/// not part of a `RUN` line (BuildKit hands them over apart), so
/// [`HereDoc::body`] stays `None` unless the body follows in `text`.
pub fn parse_run(text: &str, escape: char) -> ParsedScript<'_> {
    parse_source(Source::dockerfile(text, escape))
}

/// The text the shell receives for shell-form arguments written as `text`: the
/// continuations joined and the dropped lines removed, as [`parse_run`] reads it.
pub fn joined_run_text(text: &str, escape: char) -> std::borrow::Cow<'_, str> {
    Source::dockerfile(text, escape).text
}

/// Reads a plain shell script, such as the body of a `RUN <<EOF` here-document:
/// newlines separate commands and `\` is the escape.
pub fn parse_script(text: &str) -> ParsedScript<'_> {
    parse_source(Source::plain(text))
}

fn parse_source(source: Source<'_>) -> ParsedScript<'_> {
    let mut parser = Parser::new(&source);
    let mut script = parser.script();
    let error = parser.error.take();
    let bodies = std::mem::take(&mut parser.bodies);
    if bodies.iter().any(Option::is_some) {
        walk::for_each_redirect_mut(&mut script, &mut |redirect| {
            if let Some(heredoc) = &mut redirect.heredoc {
                heredoc.body = bodies.get(heredoc.id).cloned().flatten();
            }
        });
    }
    ParsedScript { script, error }
}
