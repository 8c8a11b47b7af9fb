//! What a simple command runs, and its options.

use super::ast::{SimpleCommand, Word};

/// The command a simple command really runs, once wrappers are stripped.
///
/// Stripped wrappers, each with its own options: `sudo`, `doas`, `env` (and its
/// `NAME=value` words), `command` (but not `command -v`/`-V`, which only looks a
/// name up), `exec`, `nohup`, `nice`, `time`, and `busybox APPLET`. Not stripped:
/// `xargs` (its command gets more arguments from standard input, so its words are
/// not the whole call) and `sh -c '...'` (the script is one string; a rule that
/// cares can parse it with [`super::parse_script`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation<'c, 'a> {
    /// The wrapper words that were stripped, outermost first (`sudo`, `env`, ...).
    pub wrappers: Vec<&'c Word<'a>>,
    /// The word naming the command.
    pub command: &'c Word<'a>,
    /// The words after it.
    pub args: &'c [Word<'a>],
}

impl Invocation<'_, '_> {
    /// The command's name without its directory (`/usr/bin/apt-get` -> `apt-get`);
    /// `None` when the name comes from an expansion.
    pub fn name(&self) -> Option<&str> {
        let name = self.command.static_text()?;
        Some(name.rsplit('/').next().unwrap_or(name))
    }

    /// Whether a wrapper of this name (e.g. `sudo`) was stripped.
    pub fn has_wrapper(&self, name: &str) -> bool {
        self.wrappers.iter().any(|word| word_name(word) == Some(name))
    }
}

fn word_name<'w>(word: &'w Word<'_>) -> Option<&'w str> {
    let name = word.static_text()?;
    Some(name.rsplit('/').next().unwrap_or(name))
}

/// Finds the command run by `command`, stripping wrappers (see [`Invocation`]).
/// `None` for a command with no words (only assignments or redirections).
pub fn invocation<'c, 'a>(command: &'c SimpleCommand<'a>) -> Option<Invocation<'c, 'a>> {
    let words = &command.words;
    let mut wrappers = Vec::new();
    let mut index = 0;
    while let Some(word) = words.get(index) {
        let next = match word_name(word) {
            Some("sudo") => skip_options(words, index + 1, SUDO, false),
            Some("doas") => skip_options(words, index + 1, DOAS, false),
            Some("env") => skip_options(words, index + 1, ENV, true),
            Some("command") if !is_lookup(words.get(index + 1)) => skip_options(words, index + 1, COMMAND, false),
            Some("exec") => skip_options(words, index + 1, EXEC, false),
            Some("nohup") => skip_options(words, index + 1, OptionSpec::default(), false),
            Some("nice") => skip_options(words, index + 1, NICE, false),
            Some("time") => skip_options(words, index + 1, TIME, false),
            Some("busybox") if words.get(index + 1).is_some_and(|w| !w.text.starts_with('-')) => Some(index + 1),
            _ => None,
        };
        match next {
            Some(next) if next < words.len() => {
                wrappers.push(word);
                index = next;
            }
            _ => break,
        }
    }
    let command_word = words.get(index)?;
    Some(Invocation { wrappers, command: command_word, args: &words[index + 1..] })
}

const SUDO: OptionSpec<'static> = OptionSpec {
    short_with_value: "ugpCDRThrtU",
    long_with_value: &[
        "user",
        "group",
        "prompt",
        "close-from",
        "chdir",
        "chroot",
        "role",
        "type",
        "host",
        "other-user",
        "command-timeout",
    ],
    stop_at_positional: true,
};
const DOAS: OptionSpec<'static> = OptionSpec { short_with_value: "uC", long_with_value: &[], stop_at_positional: true };
const ENV: OptionSpec<'static> = OptionSpec {
    short_with_value: "uCS",
    long_with_value: &["unset", "chdir", "split-string"],
    stop_at_positional: true,
};
const COMMAND: OptionSpec<'static> =
    OptionSpec { short_with_value: "", long_with_value: &[], stop_at_positional: true };
const EXEC: OptionSpec<'static> = OptionSpec { short_with_value: "a", long_with_value: &[], stop_at_positional: true };
const NICE: OptionSpec<'static> =
    OptionSpec { short_with_value: "n", long_with_value: &["adjustment"], stop_at_positional: true };
const TIME: OptionSpec<'static> =
    OptionSpec { short_with_value: "fo", long_with_value: &["format", "output"], stop_at_positional: true };

/// `command -v name` and `command -V name` only look a name up.
fn is_lookup(word: Option<&Word<'_>>) -> bool {
    word.is_some_and(|word| matches!(&*word.text, "-v" | "-V"))
}

/// The index of the first operand after the options starting at `from`; with
/// `skip_assignments`, `NAME=value` operands (as `env` takes them) are skipped too.
fn skip_options(words: &[Word<'_>], from: usize, spec: OptionSpec<'_>, skip_assignments: bool) -> Option<usize> {
    let rest = words.get(from..)?;
    for arg in parse_args(rest, spec) {
        if let Arg::Positional(word) = arg {
            if skip_assignments && is_assignment_text(&word.text) {
                continue;
            }
            let offset = rest.iter().position(|candidate| std::ptr::eq(candidate, word))?;
            return Some(from + offset);
        }
    }
    None
}

fn is_assignment_text(text: &str) -> bool {
    match text.split_once('=') {
        Some((name, _)) => {
            let mut chars = name.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// Which options of a command take a value, for [`parse_args`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OptionSpec<'s> {
    /// Short options that take a value, as one string: `"otc"` for apt-get's
    /// `-o`, `-t`, `-c`. The value is the rest of the cluster (`-ofoo`) or the next
    /// word (`-o foo`).
    pub short_with_value: &'s str,
    /// Long options (without `--`) that take the next word as their value when not
    /// written `--name=value`.
    pub long_with_value: &'s [&'s str],
    /// Options end at the first operand (POSIX `getopt`, and wrappers like `sudo`);
    /// otherwise options may follow operands, as GNU tools allow.
    pub stop_at_positional: bool,
}

/// The value of an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionValue<'c, 'a> {
    /// Written in the same word: `--target-release=bookworm`, `-ofoo`.
    Attached(&'c str),
    /// The next word: `-o foo`.
    Next(&'c Word<'a>),
}

impl<'c> OptionValue<'c, '_> {
    /// The value's text (after quote removal).
    pub fn text(&self) -> &'c str {
        match self {
            OptionValue::Attached(text) => text,
            OptionValue::Next(word) => &word.text,
        }
    }
}

/// One argument of a command, as [`parse_args`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg<'c, 'a> {
    /// A short option: `-y`, or one letter of a cluster such as `-qy`.
    Short {
        /// The option letter.
        flag: char,
        /// Its value, if the spec says it takes one.
        value: Option<OptionValue<'c, 'a>>,
        /// The word it was written in.
        word: &'c Word<'a>,
    },
    /// A long option: `--no-install-recommends`, `--opt=value`.
    Long {
        /// The name without `--`.
        name: &'c str,
        /// Its value: attached with `=`, or the next word if the spec says so.
        value: Option<OptionValue<'c, 'a>>,
        /// The word it was written in.
        word: &'c Word<'a>,
    },
    /// An operand (positional argument); everything after `--` is one.
    Positional(&'c Word<'a>),
}

impl<'c, 'a> Arg<'c, 'a> {
    /// Whether this is the option `-flag` or `--long` (pass `None` or `""` for the
    /// form it does not have).
    pub fn is_option(&self, short: Option<char>, long: &str) -> bool {
        match self {
            Arg::Short { flag, .. } => Some(*flag) == short,
            Arg::Long { name, .. } => !long.is_empty() && *name == long,
            Arg::Positional(_) => false,
        }
    }

    /// The word the argument was written in.
    pub fn word(&self) -> &'c Word<'a> {
        match self {
            Arg::Short { word, .. } | Arg::Long { word, .. } | Arg::Positional(word) => word,
        }
    }
}

/// Splits a command's argument words into options and operands, understanding
/// clustered short options (`-qy`), `--name=value`, options that take the next word
/// (as `spec` says), `-` as an operand and `--` as the end of options.
///
/// A word counts as an option by its text after quote removal (`"-y"` is `-y`, as
/// for the program that receives it); a word from an expansion (`$FLAGS`) is an
/// operand, since what it holds is unknown.
pub fn parse_args<'c, 'a, 's>(words: &'c [Word<'a>], spec: OptionSpec<'s>) -> Args<'c, 'a, 's> {
    Args { words, index: 0, cluster: None, spec, options_done: false }
}

/// The iterator returned by [`parse_args`].
#[derive(Debug, Clone)]
pub struct Args<'c, 'a, 's> {
    words: &'c [Word<'a>],
    index: usize,
    /// The word of a short-option cluster being read and the byte offset of its
    /// next letter.
    cluster: Option<(&'c Word<'a>, usize)>,
    spec: OptionSpec<'s>,
    options_done: bool,
}

impl<'c, 'a> Args<'c, 'a, '_> {
    fn next_word(&mut self) -> Option<&'c Word<'a>> {
        let word = self.words.get(self.index)?;
        self.index += 1;
        Some(word)
    }

    fn short(&mut self, word: &'c Word<'a>, offset: usize) -> Option<Arg<'c, 'a>> {
        let text: &'c str = &word.text;
        let flag = text.get(offset..)?.chars().next()?;
        let after = offset + flag.len_utf8();
        let mut value = None;
        if self.spec.short_with_value.contains(flag) {
            let rest = &text[after..];
            value = if rest.is_empty() {
                self.next_word().map(OptionValue::Next)
            } else {
                Some(OptionValue::Attached(rest))
            };
        } else if after < text.len() {
            self.cluster = Some((word, after));
        }
        Some(Arg::Short { flag, value, word })
    }
}

impl<'c, 'a> Iterator for Args<'c, 'a, '_> {
    type Item = Arg<'c, 'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some((word, offset)) = self.cluster.take() {
            return self.short(word, offset);
        }
        let word = self.next_word()?;
        let text: &'c str = &word.text;
        if self.options_done || word.expansion || !text.starts_with('-') || text == "-" {
            if self.spec.stop_at_positional {
                self.options_done = true;
            }
            return Some(Arg::Positional(word));
        }
        if text == "--" {
            self.options_done = true;
            return self.next();
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((name, value)) => (name, Some(OptionValue::Attached(value))),
                None if self.spec.long_with_value.contains(&long) => (long, self.next_word().map(OptionValue::Next)),
                None => (long, None),
            };
            return Some(Arg::Long { name, value, word });
        }
        self.short(word, 1)
    }
}
