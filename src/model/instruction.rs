//! Every instruction BuildKit accepts, as a typed command (BuildKit's
//! `frontend/dockerfile/instructions`): flags parsed into fields, arguments as words with
//! their source spans, heredocs attached. Built from BuildKit's own reading of the line
//! ([`crate::syntax::Instruction`]), so every instruction a build accepts has a typed value.
//!
//! Words are kept as written (quotes and `$VAR` included): what they expand to depends on the
//! stage state at that instruction, which [`super::state`] folds.

use crate::syntax::checks::{csv_fields, CSV_ERROR};
use crate::syntax::{self, Heredoc, Span};

/// A word of an instruction as BuildKit split it, with where it is written (a JSON array's
/// string with its quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub span: Span,
}

/// A builder flag's value as BuildKit reads it (quotes removed), with where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub value: String,
    /// The whole flag, `--platform=linux/amd64`.
    pub span: Span,
    /// The value as written, after the `=`.
    pub value_span: Span,
}

impl Flag {
    fn of(flag: &syntax::FlagText, text: &str) -> Flag {
        let written = text.get(flag.span.clone()).unwrap_or_default();
        let value_start = written.find('=').map_or(flag.span.end, |i| flag.span.start + i + 1);
        Flag {
            value: flag.value().unwrap_or_default().to_string(),
            span: flag.span.clone(),
            value_span: value_start..flag.span.end,
        }
    }
}

/// `CMD`, `ENTRYPOINT`, `RUN` and `HEALTHCHECK CMD` take either form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    /// JSON array: run as is.
    Exec(Vec<String>),
    /// Run through the stage's `SHELL`.
    Shell(String),
}

impl CommandLine {
    /// How the command appears in an image config's `Cmd`/`Entrypoint` (`/bin/sh -c` for shell form).
    pub fn to_argv(&self, shell: &[String]) -> Vec<String> {
        match self {
            CommandLine::Exec(v) => v.clone(),
            CommandLine::Shell(s) => shell.iter().cloned().chain(std::iter::once(s.clone())).collect(),
        }
    }
}

/// A `KEY=value` pair of `ENV` or `LABEL`, key and value as written (quotes not yet removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
    pub key_span: Span,
    /// Empty (at the end of the `=`) for an empty value.
    pub value_span: Span,
    /// Written `KEY value`, without `=` (BuildKit's legacy form: one pair, the value is the
    /// rest of the line).
    pub legacy: bool,
}

impl KeyValue {
    /// The key as BuildKit ends up reading it for the common cases: surrounding quotes
    /// (`"` or `'`) removed.
    pub fn name(&self) -> &str {
        self.key.trim_matches(['"', '\''])
    }
}

/// One name of an `ARG` (`ARG NAME` or `ARG NAME=default`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDef {
    pub name: String,
    pub default: Option<String>,
    pub name_span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    pub image: Word,
    /// The `AS` keyword as written, when the stage is named.
    pub as_keyword: Option<Word>,
    pub stage_name: Option<Word>,
    pub platform: Option<Flag>,
}

/// `RUN --mount=type=...`: BuildKit's `commands_runmount.go`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheSharing {
    Shared,
    Private,
    Locked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountKind,
    pub target: Option<String>,
    pub source: Option<String>,
    /// A stage or image name (bind and cache mounts).
    pub from: Option<String>,
    pub read_only: bool,
    pub id: Option<String>,
    pub sharing: CacheSharing,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub required: bool,
    pub size: Option<u64>,
    /// Secret exposed as this environment variable.
    pub env: Option<String>,
    /// The flag as written.
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Default,
    None,
    Host,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub command: CommandLine,
    pub heredocs: Vec<Heredoc>,
    /// Each `--mount` as written. BuildKit reads a mount's fields when it runs the step, each
    /// value expanded with the stage's variables ([`Run::mounts`]); when it parses the
    /// instruction it only checks that the fields read and that `from` needs no expansion.
    pub mount_flags: Vec<Flag>,
    pub network: Option<Network>,
    pub insecure: bool,
}

impl Run {
    /// The mounts, each field's value expanded by `expand` first, as BuildKit's dispatch reads
    /// them.
    pub fn mounts<E: std::fmt::Display>(
        &self,
        mut expand: impl FnMut(&str) -> Result<String, E>,
    ) -> Result<Vec<Mount>, CommandError> {
        self.mount_flags.iter().map(|f| Mount::parse(&f.value, &f.span, &mut expand)).collect()
    }

    /// The mounts that read without expanding anything (a field holding a variable is taken
    /// as written), for the rules that look at well-known mounts.
    pub fn mounts_as_written(&self) -> impl Iterator<Item = Mount> + '_ {
        self.mount_flags.iter().filter_map(|f| Mount::parse(&f.value, &f.span, as_written).ok())
    }

    /// The stage or image each mount names with `from`, as written (BuildKit reads `from`
    /// without expansion: it refuses a variable there).
    pub fn mount_froms(&self) -> Vec<String> {
        self.mount_flags
            .iter()
            .filter_map(|f| {
                csv_fields(&f.value)?.into_iter().find_map(|field| {
                    let (key, value) = field.split_once('=')?;
                    key.trim().eq_ignore_ascii_case("from").then(|| value.to_string())
                })
            })
            .collect()
    }

    /// BuildKit runs `RUN <<EOF` (the heredoc alone on the line) as a script file; any other
    /// heredoc use is handed to the shell with the bodies inline.
    pub fn lone_heredoc(&self) -> Option<&Heredoc> {
        match (&self.command, self.heredocs.as_slice()) {
            (CommandLine::Shell(s), [doc]) if is_heredoc_word(s.trim()) => Some(doc),
            _ => None,
        }
    }

    /// The script the shell is given for a shell-form RUN: the command line and, when it uses
    /// heredocs, their bodies and terminators after it, as the shell reads them.
    pub fn shell_script(&self) -> Option<String> {
        let CommandLine::Shell(line) = &self.command else { return None };
        let mut script = line.clone();
        for doc in &self.heredocs {
            script.push('\n');
            script.push_str(&doc.content);
            if !doc.content.is_empty() && !doc.content.ends_with('\n') {
                script.push('\n');
            }
            script.push_str(&doc.name);
        }
        Some(script)
    }
}

/// `COPY` and `ADD` (ADD's own flags are `None`/false for COPY).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    pub is_add: bool,
    pub sources: Vec<Word>,
    pub dest: Word,
    pub heredocs: Vec<Heredoc>,
    /// `--from`: a stage or an image.
    pub from: Option<Flag>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    pub exclude: Vec<String>,
    pub checksum: Option<String>,
    /// `--keep-git-dir`, when written (ADD).
    pub keep_git_dir: Option<bool>,
    /// `--unpack`, when written (ADD).
    pub unpack: Option<bool>,
}

impl Copy {
    /// The heredoc a source word names (`<<EOF`), if it is one.
    pub fn heredoc_source(&self, word: &Word) -> Option<&Heredoc> {
        let name = heredoc_name(&word.text)?;
        self.heredocs.iter().find(|h| h.name == name)
    }

    /// The sources that are paths or URLs (here-documents left out).
    pub fn paths(&self) -> impl Iterator<Item = &Word> {
        self.sources.iter().filter(|w| self.heredoc_source(w).is_none())
    }

    /// The sources are files of the build context (not `--from` a stage or an image).
    pub fn from_context(&self) -> bool {
        self.from.is_none()
    }

    /// The value of `--from`, if any.
    pub fn from_value(&self) -> Option<&str> {
        self.from.as_ref().map(|f| f.value.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Healthcheck {
    /// None for `HEALTHCHECK NONE`.
    pub test: Option<CommandLine>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    pub retries: Option<String>,
}

/// The typed command of one instruction. The large, rarer commands are boxed: every
/// instruction of a file has one, so the enum stays the size of a RUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    From(Box<From>),
    Run(Run),
    Copy(Box<Copy>),
    Env(Vec<KeyValue>),
    Arg(Vec<ArgDef>),
    Label(Vec<KeyValue>),
    Workdir(Word),
    User(Word),
    Shell(Vec<String>),
    Cmd(CommandLine),
    Entrypoint(CommandLine),
    Expose(Vec<Word>),
    Volume(Vec<Word>),
    StopSignal(Word),
    Healthcheck(Box<Healthcheck>),
    /// The trigger as written after `ONBUILD`, and its own typed command.
    Onbuild {
        trigger: String,
        command: Box<Command>,
    },
    Maintainer(String),
}

/// Why an instruction BuildKit's parser read is refused when it is turned into a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    pub message: String,
    pub span: Span,
}

fn err<T>(message: impl Into<String>, span: &Span) -> Result<T, CommandError> {
    Err(CommandError { message: message.into(), span: span.clone() })
}

impl Command {
    /// The typed command of an instruction, with BuildKit's per-instruction checks.
    pub fn parse(inst: &syntax::Instruction, text: &str) -> Result<Command, CommandError> {
        let words = || words_of(inst);
        let one = |name: &str| -> Result<Word, CommandError> {
            let w = words();
            match w.as_slice() {
                [only] => Ok(only.clone()),
                _ => err(format!("{name} requires exactly one argument"), &inst.span),
            }
        };
        let flag = |name: &str| inst.flag(name).and_then(|f| f.value()).map(str::to_string);
        let spanned_flag = |name: &str| inst.flag(name).map(|f| Flag::of(f, text));
        let bool_flag = |name: &str| -> Result<bool, CommandError> {
            match inst.flag(name) {
                None => Ok(false),
                Some(f) => match f.value() {
                    None | Some("true") => Ok(true),
                    Some("false") => Ok(false),
                    Some(v) => err(format!("expecting boolean value for flag {name}, not: {v}"), &f.span),
                },
            }
        };
        Ok(match inst.keyword.as_str() {
            "FROM" => {
                let w = words();
                let (image, as_keyword, stage_name) = match w.as_slice() {
                    [image] => (image.clone(), None, None),
                    [image, kw, name] if kw.text.eq_ignore_ascii_case("as") => {
                        check_stage_name(name)?;
                        (image.clone(), Some(kw.clone()), Some(name.clone()))
                    }
                    _ => return err("FROM requires either one or three arguments", &inst.span),
                };
                Command::From(Box::new(From { image, as_keyword, stage_name, platform: spanned_flag("platform") }))
            }
            "RUN" => {
                let mut mount_flags = Vec::new();
                for f in inst.flags.iter().filter(|f| f.name() == "mount") {
                    syntax::checks::check_mount(f).map_err(|(message, span)| CommandError { message, span })?;
                    mount_flags.push(Flag::of(f, text));
                }
                let network = match flag("network").as_deref() {
                    None => None,
                    Some("default") => Some(Network::Default),
                    Some("none") => Some(Network::None),
                    Some("host") => Some(Network::Host),
                    Some(other) => return err(format!("unsupported network mode: {other}"), &inst.span),
                };
                let insecure = match flag("security").as_deref() {
                    None | Some("sandbox") => false,
                    Some("insecure") => true,
                    Some(other) => return err(format!("unsupported security mode: {other}"), &inst.span),
                };
                Command::Run(Run {
                    command: command_line(inst),
                    heredocs: inst.heredocs.clone(),
                    mount_flags,
                    network,
                    insecure,
                })
            }
            "COPY" | "ADD" => {
                let mut w = words();
                if w.len() < 2 {
                    return err(format!("{} requires at least two arguments", inst.keyword), &inst.span);
                }
                let dest = w.pop().expect("two or more words");
                // BuildKit expands --from (unlike --mount=from): left to the state fold.
                let from = spanned_flag("from");
                let written = |name: &str| -> Result<Option<bool>, CommandError> {
                    match inst.flag(name) {
                        None => Ok(None),
                        Some(_) => bool_flag(name).map(Some),
                    }
                };
                Command::Copy(Box::new(Copy {
                    is_add: inst.keyword == "ADD",
                    sources: w,
                    dest,
                    heredocs: inst.heredocs.clone(),
                    from,
                    chown: flag("chown"),
                    chmod: flag("chmod"),
                    link: bool_flag("link")?,
                    parents: bool_flag("parents")?,
                    exclude: inst
                        .flags
                        .iter()
                        .filter(|f| f.name() == "exclude")
                        .filter_map(|f| f.value().map(str::to_string))
                        .collect(),
                    checksum: flag("checksum"),
                    keep_git_dir: written("keep-git-dir")?,
                    unpack: written("unpack")?,
                }))
            }
            "ENV" | "LABEL" => {
                // Whole (key, value, separator) triples only; an exact count, no spare room.
                let pairs: Vec<KeyValue> = words()
                    .chunks_exact(3)
                    .map(|c| KeyValue {
                        key: c[0].text.clone(),
                        value: c[1].text.clone(),
                        key_span: c[0].span.clone(),
                        value_span: c[1].span.clone(),
                        legacy: c[2].text.is_empty(),
                    })
                    .collect();
                if pairs.is_empty() {
                    return err(format!("{} requires at least one argument", inst.keyword), &inst.span);
                }
                if inst.keyword == "ENV" {
                    Command::Env(pairs)
                } else {
                    Command::Label(pairs)
                }
            }
            "ARG" => {
                if inst.args.is_empty() {
                    return err("ARG requires exactly one argument", &inst.span);
                }
                Command::Arg(
                    words()
                        .into_iter()
                        .map(|w| {
                            let (name, default) = match w.text.split_once('=') {
                                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                                None => (w.text.clone(), None),
                            };
                            let end = (w.span.start + name.len()).min(w.span.end);
                            ArgDef { name, default, name_span: w.span.start..end }
                        })
                        .collect(),
                )
            }
            "WORKDIR" => Command::Workdir(one("WORKDIR")?),
            "USER" => Command::User(one("USER")?),
            "STOPSIGNAL" => Command::StopSignal(one("STOPSIGNAL")?),
            "SHELL" => {
                if !inst.json_form {
                    return err("SHELL requires the arguments to be in JSON form", &inst.span);
                }
                if inst.args.is_empty() {
                    return err("SHELL requires at least one argument", &inst.span);
                }
                Command::Shell(inst.args.clone())
            }
            "CMD" => Command::Cmd(command_line(inst)),
            "ENTRYPOINT" => Command::Entrypoint(command_line(inst)),
            "EXPOSE" => Command::Expose(words()),
            "VOLUME" => {
                let w = words();
                if w.iter().any(|w| w.text.trim().is_empty()) {
                    return err("VOLUME specified can not be an empty string", &inst.span);
                }
                Command::Volume(w)
            }
            "MAINTAINER" => Command::Maintainer(inst.args.join(" ")),
            "HEALTHCHECK" => {
                let kind = inst.args.first().map(|s| s.to_ascii_uppercase());
                match kind.as_deref() {
                    Some("NONE") => {
                        if inst.args.len() > 1 {
                            return err("HEALTHCHECK NONE takes no arguments", &inst.span);
                        }
                        Command::Healthcheck(Box::default())
                    }
                    Some("CMD") => {
                        let rest = &inst.args[1..];
                        if rest.is_empty() {
                            return err("Missing command after HEALTHCHECK CMD", &inst.span);
                        }
                        let test = if inst.json_form {
                            CommandLine::Exec(rest.to_vec())
                        } else {
                            CommandLine::Shell(rest.join(" "))
                        };
                        Command::Healthcheck(Box::new(Healthcheck {
                            test: Some(test),
                            interval: flag("interval"),
                            timeout: flag("timeout"),
                            start_period: flag("start-period"),
                            start_interval: flag("start-interval"),
                            retries: flag("retries"),
                        }))
                    }
                    _ => return err("Unknown type in HEALTHCHECK (try CMD)", &inst.span),
                }
            }
            "ONBUILD" => {
                let Some(inner) = &inst.onbuild else {
                    return err("ONBUILD requires at least one argument", &inst.span);
                };
                let trigger = text.get(inst.args_span.clone()).unwrap_or_default().trim().to_string();
                Command::Onbuild { trigger, command: Box::new(Command::parse(inner, text)?) }
            }
            other => return err(format!("unknown instruction: {other}"), &inst.keyword_span),
        })
    }
}

fn command_line(inst: &syntax::Instruction) -> CommandLine {
    if inst.json_form {
        CommandLine::Exec(inst.args.clone())
    } else {
        CommandLine::Shell(inst.args.join(" "))
    }
}

/// BuildKit's stage-name rule: `^[a-z][a-z0-9-_.]*$` after lower-casing.
fn check_stage_name(name: &Word) -> Result<(), CommandError> {
    if syntax::checks::is_valid_stage_name(&name.text.to_lowercase()) {
        Ok(())
    } else {
        err(
            format!("invalid name for build stage: {:?}, name can't start with a number or contain symbols", name.text),
            &name.span,
        )
    }
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"`: the delimiter name.
fn heredoc_name(word: &str) -> Option<String> {
    let rest = word.strip_prefix("<<")?;
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let name: String = rest.chars().filter(|c| *c != '"' && *c != '\'').collect();
    (!name.is_empty()).then_some(name)
}

fn is_heredoc_word(word: &str) -> bool {
    !word.contains(char::is_whitespace) && heredoc_name(word).is_some()
}

/// The instruction's words with where each is written.
fn words_of(inst: &syntax::Instruction) -> Vec<Word> {
    let spans = inst.arg_spans.iter().cloned().chain(std::iter::repeat(inst.args_span.clone()));
    inst.args.iter().zip(spans).map(|(text, span)| Word { text: text.clone(), span }).collect()
}

/// The expansion that leaves a word as written.
fn as_written(word: &str) -> Result<String, std::convert::Infallible> {
    Ok(word.to_string())
}

impl Mount {
    /// The value of one `--mount=` flag (BuildKit's CSV of `key=value` fields), each field's
    /// value expanded by `expand` first (BuildKit's `parseMount` with an expander). A mount
    /// without a target (but a secret's) is read: the step resolves it against its WORKDIR.
    pub fn parse<E: std::fmt::Display>(
        value: &str,
        span: &Span,
        mut expand: impl FnMut(&str) -> Result<String, E>,
    ) -> Result<Mount, CommandError> {
        let mut m = Mount {
            kind: MountKind::Bind,
            target: None,
            source: None,
            from: None,
            read_only: true,
            id: None,
            sharing: CacheSharing::Shared,
            mode: None,
            uid: None,
            gid: None,
            required: false,
            size: None,
            env: None,
            span: span.clone(),
        };
        let Some(mut fields) = csv_fields(value) else {
            return err(CSV_ERROR, span);
        };
        fields.retain(|f| !f.is_empty());
        // (key, value expanded, the field as written)
        let mut expanded = Vec::with_capacity(fields.len());
        for f in fields {
            let (key, val) = match f.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(expand(v).or_else(|e| err(e.to_string(), span))?)),
                None => (f.trim().to_ascii_lowercase(), None),
            };
            expanded.push((key, val, f));
        }
        // The type decides the defaults of the others, wherever it is written.
        for (key, t, _) in &expanded {
            if let ("type", Some(t)) = (key.as_str(), t) {
                m.kind = match t.to_ascii_lowercase().as_str() {
                    "bind" => MountKind::Bind,
                    "cache" => MountKind::Cache,
                    "tmpfs" => MountKind::Tmpfs,
                    "secret" => MountKind::Secret,
                    "ssh" => MountKind::Ssh,
                    other => return err(format!("unsupported mount type {other:?}"), span),
                };
            }
        }
        m.read_only = matches!(m.kind, MountKind::Bind | MountKind::Secret | MountKind::Ssh);
        m.required = false;
        for (key, val, f) in expanded {
            let bool_val = |v: &Option<String>| -> Result<bool, CommandError> {
                match v.as_deref() {
                    None | Some("true") | Some("1") => Ok(true),
                    Some("false") | Some("0") => Ok(false),
                    Some(o) => err(format!("invalid value for {key}: {o}"), span),
                }
            };
            let num = |v: &Option<String>, radix: u32| -> Result<u32, CommandError> {
                let v = v.as_deref().unwrap_or("");
                let digits = if radix == 8 { v.trim_start_matches("0o") } else { v };
                u32::from_str_radix(digits, radix).or_else(|_| err(format!("invalid value for {key}: {v}"), span))
            };
            match key.as_str() {
                "type" => {}
                "readonly" | "ro" => m.read_only = bool_val(&val)?,
                "readwrite" | "rw" => m.read_only = !bool_val(&val)?,
                "required" => m.required = bool_val(&val)?,
                "target" | "dst" | "destination" => m.target = val,
                "source" | "src" => m.source = val,
                "from" => m.from = val,
                "id" => m.id = val,
                "sharing" => {
                    m.sharing = match val.as_deref().unwrap_or("") {
                        "shared" => CacheSharing::Shared,
                        "private" => CacheSharing::Private,
                        "locked" => CacheSharing::Locked,
                        o => return err(format!("unsupported sharing value {o:?}"), span),
                    }
                }
                "mode" => m.mode = Some(num(&val, 8)?),
                "uid" => m.uid = Some(num(&val, 10)?),
                "gid" => m.gid = Some(num(&val, 10)?),
                "size" => {
                    m.size = Some(parse_size(val.as_deref().unwrap_or("")).ok_or_else(|| CommandError {
                        message: format!("invalid size {:?}", val.as_deref().unwrap_or("")),
                        span: span.clone(),
                    })?)
                }
                "env" => m.env = val,
                other => return err(format!("unexpected key '{other}' in '{f}'"), span),
            }
        }
        if m.kind == MountKind::Secret && m.target.is_none() && m.env.is_none() {
            let id = m.id.clone().or_else(|| m.source.clone());
            m.target = id.map(|id| format!("/run/secrets/{id}"));
        }
        Ok(m)
    }
}

fn parse_size(v: &str) -> Option<u64> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (n, unit) = v.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mult = match unit.to_ascii_lowercase().trim_end_matches('b').trim_end_matches('i') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At the parser package's level: `syntax::parse` already refuses what BuildKit's
    /// instruction parser refuses, so the checks here are seen on `read_lines`.
    fn commands(text: &str) -> Vec<Result<Command, CommandError>> {
        let df = syntax::read_lines(text).unwrap();
        df.instructions.iter().map(|i| Command::parse(i, text)).collect()
    }

    #[test]
    fn every_kind_is_typed() {
        let text = "FROM --platform=linux/amd64 alpine AS b\nRUN --mount=type=cache,target=/x,id=c --network=none echo hi\nCOPY --chown=1 --link a \"b\" /c/\nENV A=1 B=\"2 3\"\nHEALTHCHECK --interval=5s CMD curl x\nCMD [\"a\",\"b\"]\nSHELL [\"/bin/bash\",\"-c\"]\nARG X Y=2\nEXPOSE 80/tcp 90\nONBUILD RUN x\nVOLUME /b /c\nUSER app:app\nWORKDIR /w\nSTOPSIGNAL SIGTERM\nADD --checksum=sha256:00 --unpack=false a.tgz /\n";
        let c: Vec<Command> = commands(text).into_iter().map(Result::unwrap).collect();
        let Command::From(f) = &c[0] else { panic!() };
        let platform = f.platform.as_ref().unwrap();
        assert_eq!((f.image.text.as_str(), platform.value.as_str()), ("alpine", "linux/amd64"));
        assert_eq!(&text[platform.span.clone()], "--platform=linux/amd64");
        assert_eq!(&text[platform.value_span.clone()], "linux/amd64");
        assert_eq!(f.as_keyword.as_ref().map(|w| w.text.as_str()), Some("AS"));
        assert_eq!(&text[f.stage_name.as_ref().unwrap().span.clone()], "b");
        let Command::Run(r) = &c[1] else { panic!() };
        let mounts = r.mounts(as_written).unwrap();
        assert_eq!(mounts[0].kind, MountKind::Cache);
        assert_eq!(mounts[0].target.as_deref(), Some("/x"));
        assert!(!mounts[0].read_only);
        assert_eq!(r.network, Some(Network::None));
        assert_eq!(r.command, CommandLine::Shell("echo hi".into()));
        let Command::Copy(cp) = &c[2] else { panic!() };
        assert!(cp.link && !cp.is_add);
        assert_eq!(cp.chown.as_deref(), Some("1"));
        assert_eq!(cp.sources.iter().map(|w| w.text.as_str()).collect::<Vec<_>>(), ["a", "\"b\""]);
        assert_eq!(&text[cp.dest.span.clone()], "/c/");
        let Command::Env(env) = &c[3] else { panic!() };
        assert_eq!((env[1].key.as_str(), env[1].value.as_str(), env[1].legacy), ("B", "\"2 3\"", false));
        assert_eq!(&text[env[1].value_span.clone()], "\"2 3\"");
        let Command::Healthcheck(h) = &c[4] else { panic!() };
        assert_eq!(h.interval.as_deref(), Some("5s"));
        assert_eq!(h.test, Some(CommandLine::Shell("curl x".into())));
        assert_eq!(c[5], Command::Cmd(CommandLine::Exec(vec!["a".into(), "b".into()])));
        assert_eq!(c[6], Command::Shell(vec!["/bin/bash".into(), "-c".into()]));
        let Command::Arg(a) = &c[7] else { panic!() };
        assert_eq!((a[1].name.as_str(), a[1].default.as_deref()), ("Y", Some("2")));
        assert_eq!(&text[a[1].name_span.clone()], "Y");
        let Command::Onbuild { trigger, command } = &c[9] else { panic!() };
        assert_eq!(trigger, "RUN x");
        assert!(matches!(**command, Command::Run(_)));
        let Command::Copy(add) = &c[14] else { panic!() };
        assert!(add.is_add && add.unpack == Some(false));
    }

    #[test]
    fn words_are_located_where_they_are_written() {
        let text = "FROM a\nCOPY [\"a b\", \"/c\"]\nENV K v  w\nLABEL a=1 \\\n  # note\n  b=\"x y\"\nEXPOSE 80  80/udp \\\n  443\nARG X=1 Y\n";
        let c: Vec<Command> = commands(text).into_iter().map(Result::unwrap).collect();
        let at = |span: &Span| &text[span.clone()];
        let Command::Copy(copy) = &c[1] else { panic!() };
        assert_eq!((copy.sources[0].text.as_str(), at(&copy.sources[0].span)), ("a b", "\"a b\""));
        assert_eq!(at(&copy.dest.span), "\"/c\"");
        let Command::Env(env) = &c[2] else { panic!() };
        assert!(env[0].legacy);
        assert_eq!((at(&env[0].key_span), at(&env[0].value_span)), ("K", "v  w"));
        let Command::Label(label) = &c[3] else { panic!() };
        assert!(!label[1].legacy);
        assert_eq!((at(&label[1].key_span), at(&label[1].value_span)), ("b", "\"x y\""));
        assert_eq!(label[1].name(), "b");
        let Command::Expose(ports) = &c[4] else { panic!() };
        let ports: Vec<&str> = ports.iter().map(|p| at(&p.span)).collect();
        assert_eq!(ports, ["80", "80/udp", "443"]);
        let Command::Arg(args) = &c[5] else { panic!() };
        let names: Vec<&str> = args.iter().map(|a| at(&a.name_span)).collect();
        assert_eq!(names, ["X", "Y"]);
    }

    #[test]
    fn buildkit_semantic_errors() {
        let e = commands("FROM a\nRUN --mount=type=cache,target=/x,from=$IMG true\n").remove(1).unwrap_err();
        assert!(e.message.contains("doesn't support variable expansion"), "{e}");
        let e = commands("FROM a AS build-%s\n").remove(0).unwrap_err();
        assert!(e.message.contains("invalid name for build stage"), "{e}");
        // Other mount fields are read when the step runs, once expanded.
        let Ok(Command::Run(run)) = commands("FROM a\nRUN --mount=type=weird,target=/x true\n").remove(1) else {
            panic!("BuildKit parses it")
        };
        assert!(run.mounts(as_written).is_err());
        let Ok(Command::Run(run)) = commands("FROM a\nRUN --mount=type=$T,target=$D --mount=from=b true\n").remove(1)
        else {
            panic!("BuildKit parses it")
        };
        let expand = |w: &str| -> Result<String, String> { Ok(w.replace("$T", "cache").replace("$D", "/d")) };
        let mounts = run.mounts(expand).unwrap();
        assert_eq!((mounts[0].kind.clone(), mounts[0].target.as_deref()), (MountKind::Cache, Some("/d")));
        assert_eq!((mounts[1].kind.clone(), mounts[1].target.as_deref()), (MountKind::Bind, None));
        assert_eq!(run.mount_froms(), ["b"]);
        assert_eq!(run.mounts_as_written().count(), 1, "type=$T does not read as written");
    }

    #[test]
    fn heredoc_runs() {
        let text = "FROM a\nRUN <<EOF\necho hi\nEOF\nRUN python3 <<PY\nprint(1)\nPY\n";
        let c: Vec<Command> = commands(text).into_iter().map(Result::unwrap).collect();
        let Command::Run(lone) = &c[1] else { panic!() };
        assert_eq!(lone.lone_heredoc().map(|h| h.content.as_str()), Some("echo hi\n"));
        let Command::Run(inline) = &c[2] else { panic!() };
        assert!(inline.lone_heredoc().is_none());
        assert_eq!(inline.shell_script().unwrap(), "python3 <<PY\nprint(1)\nPY");
    }

    #[test]
    fn secret_mount_defaults_to_run_secrets() {
        let m = Mount::parse("type=secret,id=tok", &(0..0), as_written).unwrap();
        assert_eq!(m.target.as_deref(), Some("/run/secrets/tok"));
        let m = Mount::parse("type=bind,\"source=a,b\",target=/x", &(0..0), as_written).unwrap();
        assert_eq!(m.source.as_deref(), Some("a,b"));
        assert_eq!(Mount::parse("type=bind,source=a\"b", &(0..0), as_written).unwrap_err().message, CSV_ERROR);
        let m = Mount::parse("type=bind,src=go.mod,destination=/src/go.mod", &(0..0), as_written).unwrap();
        assert_eq!((m.source.as_deref(), m.target.as_deref()), (Some("go.mod"), Some("/src/go.mod")));
        let m = Mount::parse("Type=Cache,dst=/root/.cache,id=pip", &(0..0), as_written).unwrap();
        assert_eq!((m.kind, m.target.as_deref()), (MountKind::Cache, Some("/root/.cache")));
    }
}
