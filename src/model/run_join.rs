//! Joining one RUN's script onto another's so that the result fails, and succeeds, exactly
//! when the two RUNs did: the rule every transform that merges or moves shell commands uses.
//!
//! `RUN a` then `RUN b` fails when `a` fails (its exit status: the last command's) or when
//! `b` fails, and `b` starts in the stage's state, not in the one `a` left (a `cd`, an
//! `export`, a `set -u` of `a` ends with its RUN). So:
//! - `a && b` when `a` leaves no shell state behind and `b` is one and-or list;
//! - `( a ) && b` when `a` does leave state (`cd`, `export`, `set`, `exit`...): the
//!   subshell ends it;
//! - `a && ( b )` when `b` is several lists (`x; y`): `a && x; y` would run `y` after a
//!   failed `a`;
//! - `a; b` for the `set -eux; ...; ...` style when both start with the same `set -e` and
//!   `a` ends in a single pipeline: `set -e` stops the script where the first RUN would
//!   have failed.
//!
//! Not joined: exec form, heredocs, different flags (`--mount`, `--network`), a script that
//! does not parse, one with a background job (`&`), and one ending in a comment.

use super::run_script::RunScript;
use crate::shell::{self, Command as ShellCommand, Script, Separator};
use crate::syntax::{Dockerfile, Span};

/// An edit of the Dockerfile's text: replace `Span` with the string.
pub type TextEdit = (Span, String);

/// Commands that change the shell's own state, which a later command of the same script
/// would inherit.
const STATEFUL: &[&str] = &[
    "cd", "pushd", "popd", "export", "unset", "umask", "source", ".", "alias", "unalias", "trap", "ulimit", "set",
    "shopt", "exec", "exit", "return", "readonly", "declare", "typeset", "local", "eval", "shift", "hash",
];

/// What joining needs to know about one RUN's script.
#[derive(Debug, Clone)]
pub struct Shape {
    /// File offsets of the script (first to last and-or list, separator excluded).
    pub start: usize,
    pub end: usize,
    /// End of the RUN's arguments (after a trailing `;` and blanks).
    pub args_end: usize,
    pub lists: usize,
    /// It leaves shell state behind (see [`STATEFUL`], assignments, functions).
    pub stateful: bool,
    /// It starts with `set -e...` (the text of that command) and nothing else is stateful.
    pub errexit: Option<String>,
    /// Its last list is one pipeline (no `&&`/`||`), not negated.
    pub ends_in_pipeline: bool,
    /// When the last list ends in `&& X`: where the pipeline before it ends, and `X` as
    /// written (blanks normalized). Two RUNs that both end in the same `&& npm cache clean`
    /// keep one.
    pub and_tail: Option<(usize, String)>,
}

/// The shape of a shell-form RUN without heredocs whose script parses and can be extended.
pub fn shape(text: &str, script: &RunScript<'_>) -> Option<Shape> {
    let run = script.run;
    if run.json_form || !run.heredocs.is_empty() || script.parts.len() != 1 {
        return None;
    }
    let part = &script.parts[0];
    let parsed = &part.parsed;
    if parsed.error.is_some() || parsed.script.items.is_empty() {
        return None;
    }
    let items = &parsed.script.items;
    if items.iter().any(|i| i.separator == Some(Separator::Background)) {
        return None;
    }
    let start = part.offset + items[0].span.start;
    let end = part.offset + list_end(&items[items.len() - 1]);
    let args_end = run.args_span.end;
    // Only blanks and one `;` may follow the last list: a comment would swallow what is joined.
    let tail = text.get(end..args_end)?.trim();
    if !(tail.is_empty() || tail == ";") {
        return None;
    }
    // A command inside a subshell `( ... )` or a pipeline of several commands (each runs in a
    // subshell) changes nothing after it.
    let isolated: Vec<std::ops::Range<usize>> = items
        .iter()
        .flat_map(|item| std::iter::once(&item.first).chain(item.rest.iter().map(|(_, p)| p)))
        .flat_map(|p| {
            let piped = p.commands.len() > 1;
            p.commands.iter().filter(move |c| piped || is_subshell(c)).map(|c| c.span())
        })
        .collect();
    let stateful_commands: Vec<(bool, String)> = shell::simple_commands(&parsed.script)
        .into_iter()
        .filter(|(command, context)| {
            !context.in_substitution
                && !isolated.iter().any(|r| r.start <= command.span.start && command.span.end <= r.end)
        })
        .filter_map(|(command, context)| {
            let first = command.words.first().and_then(|w| w.static_text());
            let name = first.map(|n| n.rsplit('/').next().unwrap_or(n));
            let stateful = name.is_some_and(|n| STATEFUL.contains(&n)) || command.words.is_empty();
            let written = &text[part.offset + command.span.start..part.offset + command.span.end];
            stateful.then(|| (context.depth == 0, written.to_string()))
        })
        .collect();
    let has_function = has_function(&parsed.script);
    let errexit = match (stateful_commands.as_slice(), first_command_text(text, script)) {
        ([(true, text)], Some(first)) if *text == first && is_errexit(text) && !has_function => Some(text.clone()),
        _ => None,
    };
    let last = items.last()?;
    let and_tail = match last.rest.last() {
        Some((shell::LogicalOp::And, tail)) if !tail.negated => {
            let before = match last.rest.len() {
                1 => &last.first,
                n => &last.rest[n - 2].1,
            };
            let tail_text = &text[part.offset + tail.span.start..part.offset + tail.span.end];
            before
                .commands
                .last()
                .map(|c| (part.offset + c.span().end, tail_text.split_whitespace().collect::<Vec<_>>().join(" ")))
        }
        _ => None,
    };
    Some(Shape {
        start,
        end,
        args_end,
        lists: items.len(),
        stateful: !stateful_commands.is_empty() || has_function,
        errexit,
        ends_in_pipeline: last.rest.is_empty() && !last.first.negated,
        and_tail,
    })
}

/// Where an and-or list's last command ends (its span runs on over a trailing comment).
fn list_end(list: &shell::AndOr<'_>) -> usize {
    let last = list.rest.last().map_or(&list.first, |(_, p)| p);
    last.commands.last().map_or(list.span.end, |c| c.span().end)
}

fn is_subshell(command: &ShellCommand<'_>) -> bool {
    matches!(command, ShellCommand::Compound(c) if matches!(c.kind, shell::CompoundKind::Subshell(_)))
}

fn has_function(script: &Script<'_>) -> bool {
    script.items.iter().any(|item| {
        std::iter::once(&item.first)
            .chain(item.rest.iter().map(|(_, p)| p))
            .any(|p| p.commands.iter().any(|c| matches!(c, ShellCommand::Function(_))))
    })
}

/// The text of the script's first simple command, when the script starts with one.
fn first_command_text(text: &str, script: &RunScript<'_>) -> Option<String> {
    let part = &script.parts[0];
    let first = part.parsed.script.items.first()?;
    match first.first.commands.as_slice() {
        [ShellCommand::Simple(c)] if first.rest.is_empty() => {
            Some(text[part.offset + c.span.start..part.offset + c.span.end].to_string())
        }
        _ => None,
    }
}

/// `set -e`, `set -eux`, `set -xe`, `set -o errexit`...
fn is_errexit(text: &str) -> bool {
    let mut words = text.split_whitespace();
    words.next() == Some("set")
        && words.any(|w| (w.starts_with('-') && !w.starts_with("--") && w.contains('e')) || w == "errexit")
}

/// Whether RUNs `a` and `b` can be one RUN: same flags, both extensible.
pub fn joinable(text: &str, a: &RunScript<'_>, b: &RunScript<'_>) -> Option<(Shape, Shape)> {
    let flags = |s: &RunScript<'_>| s.run.flags.iter().map(|f| text[f.span.clone()].to_string()).collect::<Vec<_>>();
    if flags(a) != flags(b) {
        return None;
    }
    Some((shape(text, a)?, shape(text, b)?))
}

/// The edits of RUN `a` that append RUN `b`'s script to it (with `moved` — comment lines
/// that travel with `b` — before its commands); the caller deletes `b`. None when the two
/// cannot be joined safely; no edit when `a` already runs every command of `b` (another
/// transform appended the same cleanup), so transforms that touch one RUN compose.
pub fn append(df: &Dockerfile<'_>, a: &RunScript<'_>, b: &RunScript<'_>, moved: &str) -> Option<Vec<TextEdit>> {
    let text = df.text;
    let (mut sa, sb) = joinable(text, a, b)?;
    if a.repeats(text, b) {
        return Some(Vec::new());
    }
    // `a && clean` joined to `b && clean`: the cleanup runs once, at the end.
    if let (Some((before_end, x)), Some((_, y))) = (&sa.and_tail, &sb.and_tail) {
        if x == y && !sa.stateful {
            sa.end = *before_end;
        }
    }
    let nl = newline(text);
    let esc = df.escape;
    let indent = continuation_indent(text, a.run.span.clone());
    let b_script = &text[sb.start..sb.end];
    let mut edits = Vec::new();
    let joined = match (&sa.errexit, &sb.errexit) {
        (Some(x), Some(y)) if x == y && sa.ends_in_pipeline => {
            format!(";{sp}{esc}{nl}{moved}{indent}{b_script}", sp = " ")
        }
        _ => {
            if sa.stateful {
                edits.push((sa.start..sa.start, "( ".to_string()));
            }
            let close = if sa.stateful { " )" } else { "" };
            let b_part = if sb.lists > 1 { format!("( {b_script} )") } else { b_script.to_string() };
            format!("{close} {esc}{nl}{moved}{indent}&& {b_part}")
        }
    };
    edits.push((sa.end..sa.args_end, joined));
    Some(edits)
}

/// The line ending the file uses (`\r\n` when its first line has one).
pub fn newline(text: &str) -> &'static str {
    match text.find('\n') {
        Some(n) if n > 0 && text.as_bytes()[n - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// The whole lines of the instruction at `span`, line ending included: what deleting it removes.
pub fn lines_of(text: &str, span: &Span) -> Span {
    let start = text[..span.start].rfind('\n').map_or(0, |n| n + 1);
    let rest = &text[span.end..];
    let ending = if rest.starts_with("\r\n") { 2 } else { usize::from(rest.starts_with('\n')) };
    start..span.end + ending
}

/// The leading blanks of the instruction's last line when it spans several, else four spaces.
fn continuation_indent(text: &str, span: std::ops::Range<usize>) -> String {
    let body = &text[span];
    match body.rfind('\n') {
        Some(n) => {
            let last = &body[n + 1..];
            let blanks: String = last.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
            let rest = &last[blanks.len()..];
            // `    && cmd` lines: align with the `&&`.
            if blanks.is_empty() && !rest.starts_with("&&") {
                "    ".to_string()
            } else {
                blanks
            }
        }
        None => "    ".to_string(),
    }
}
