//! What a BuildKit build rejects that its parser package accepts: the checks of
//! `frontend/dockerfile/instructions` (`Parse`, `ParseInstruction` and `BFlags.Parse`), made on
//! the text as written, before any variable is expanded, and `dockerfile2llb`'s refusal of a
//! file without a stage.

use super::reader::{FlagText, RawInstruction};
use super::Span;
use super::INSTRUCTIONS;
use crate::suggest;

/// An instruction-level error: BuildKit's message and where it applies.
pub type CheckError = (String, Span);

/// How BuildKit declares a flag (`AddBool`, `AddString`, `AddStrings`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum FlagKind {
    Bool,
    String,
    /// May be repeated.
    Strings,
}

/// Flags each instruction declares in current BuildKit. None: the instruction never parses
/// its flags (STOPSIGNAL, `HEALTHCHECK NONE`), so any flag passes.
fn known_flags(raw: &RawInstruction) -> Option<&'static [(&'static str, FlagKind)]> {
    use FlagKind::*;
    Some(match raw.keyword_upper().as_str() {
        "FROM" => &[("platform", String)],
        "RUN" => &[("mount", Strings), ("network", String), ("security", String), ("device", Strings)],
        "COPY" => &[
            ("chown", String),
            ("from", String),
            ("chmod", String),
            ("link", Bool),
            ("exclude", Strings),
            ("parents", Bool),
        ],
        "ADD" => &[
            ("chown", String),
            ("chmod", String),
            ("link", Bool),
            ("keep-git-dir", Bool),
            ("checksum", String),
            ("unpack", Bool),
            ("exclude", Strings),
        ],
        "HEALTHCHECK" if raw.args.first().is_some_and(|t| t.eq_ignore_ascii_case("NONE")) => return None,
        "HEALTHCHECK" => &[
            ("interval", String),
            ("timeout", String),
            ("start-period", String),
            ("start-interval", String),
            ("retries", String),
        ],
        "STOPSIGNAL" => return None,
        _ => &[],
    })
}

/// BuildKit's `instructions.Parse` over a whole file, then `dockerfile2llb`'s check that it
/// has a stage: the first instruction refused, in file order, with where.
pub fn check_instructions(instructions: &[RawInstruction]) -> Result<(), CheckError> {
    let mut stages = false;
    for raw in instructions {
        check_instruction(raw)?;
        match raw.keyword_upper().as_str() {
            "FROM" => stages = true,
            // ARGs before the first FROM are meta ARGs.
            "ARG" => {}
            _ if !stages => return Err(("no build stage in current context".to_string(), raw.span.clone())),
            _ => {}
        }
    }
    if !stages {
        // BuildKit says where no more: the end of the last instruction.
        let end = instructions.last().map_or(0, |i| i.span.end);
        return Err(("dockerfile contains no stages to build".to_string(), end..end));
    }
    Ok(())
}

/// Every check BuildKit makes on `raw` (and on the trigger of an ONBUILD) when it turns the
/// parsed node into a command, in the order it makes them.
pub fn check_instruction(raw: &RawInstruction) -> Result<(), CheckError> {
    // A line holding only the escape character, continued by nothing, is an instruction
    // with an empty keyword to BuildKit's parser, and an unknown one to its build.
    if raw.keyword.is_empty() {
        let message = "unknown instruction: (empty: a line holding only the escape character)".to_string();
        return Err((message, raw.span.clone()));
    }
    let keyword = raw.keyword_upper();
    if !INSTRUCTIONS.contains(&keyword.as_str()) {
        return Err((unknown_instruction(&raw.keyword), raw.keyword_span.clone()));
    }
    let whole = || raw.span.clone();
    let args_at = || if raw.args_span.is_empty() { raw.span.clone() } else { raw.args_span.clone() };
    // Argument counts come before the flags in these.
    let count = match keyword.as_str() {
        "FROM" => return check_from(raw),
        "HEALTHCHECK" => return check_healthcheck(raw),
        "MAINTAINER" | "WORKDIR" | "USER" | "STOPSIGNAL" if raw.args.len() != 1 => {
            Some(format!("{keyword} requires exactly one argument"))
        }
        "ADD" | "COPY" if raw.args.len() < 2 => Some(format!(
            "{keyword} requires at least two arguments, but only one was provided. Destination could not be determined"
        )),
        "ONBUILD" if raw.onbuild.is_none() => Some("ONBUILD requires at least one argument".to_string()),
        "EXPOSE" | "VOLUME" | "ARG" if raw.args.is_empty() => Some(format!("{keyword} requires at least one argument")),
        _ => None,
    };
    if let Some(message) = count {
        return Err((message, whole()));
    }
    check_flags(raw)?;
    let message = match keyword.as_str() {
        "RUN" => return check_run(raw),
        "ONBUILD" => {
            if let Some(inner) = &raw.onbuild {
                check_onbuild_trigger(inner)?;
                check_flags(inner)?;
            }
            return Ok(());
        }
        "ARG" if raw.args.iter().any(|a| a.starts_with('=')) => "ARG names can not be blank".to_string(),
        "ENV" | "LABEL" if raw.args.is_empty() => {
            return Err((format!("{keyword} requires at least one argument"), whole()))
        }
        "ENV" | "LABEL" if raw.args.chunks(3).any(|pair| pair[0].is_empty()) => {
            format!("{keyword} names can not be blank")
        }
        "SHELL" if raw.args.is_empty() => return Err(("SHELL requires at least one argument".to_string(), whole())),
        "SHELL" if !raw.json_form => {
            return Err(("SHELL requires the arguments to be in JSON form".to_string(), whole()))
        }
        "VOLUME" if raw.args.iter().any(|v| v.trim_matches(is_go_space).is_empty()) => {
            "VOLUME specified can not be an empty string".to_string()
        }
        "COPY" | "ADD" if raw.args.len() >= 2 && raw.args.last().is_some_and(|d| is_heredoc_word(d)) => {
            return Err((format!("{keyword} cannot accept a heredoc as a destination"), whole()));
        }
        _ => return Ok(()),
    };
    Err((message, args_at()))
}

/// Go's `unicode.IsSpace` on the characters `strings.TrimSpace` removes.
fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// `parser.MustParseHeredoc`: `<<NAME`, `<<-NAME`, `<<"NAME"` (a word that is one heredoc).
fn is_heredoc_word(word: &str) -> bool {
    let Some(rest) = word.strip_prefix("<<") else { return false };
    let rest = rest.strip_prefix('-').unwrap_or(rest);
    let name = rest.trim_matches(|c| c == '"' || c == '\'');
    !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// `parseFrom`: `parseBuildStageName` (one argument, or `image AS name` with a name BuildKit
/// can refer to), then the flags.
fn check_from(raw: &RawInstruction) -> Result<(), CheckError> {
    match raw.args.as_slice() {
        [_, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => {
            if !is_valid_stage_name(&name.to_lowercase()) {
                let message = format!(
                    "invalid name for build stage: {}, name can't start with a number or contain symbols",
                    go_quote(name)
                );
                return Err((message, raw.args_span.clone()));
            }
        }
        [_] => {}
        _ => return Err(("FROM requires either one or three arguments".to_string(), raw.span.clone())),
    }
    check_flags(raw)
}

/// `unknown instruction: X`, with BuildKit's suggestion of the closest instruction.
fn unknown_instruction(keyword: &str) -> String {
    let mut message = format!("unknown instruction: {keyword}");
    if let Some(close) = suggest::closest_ignoring_case(keyword, &INSTRUCTIONS) {
        message.push_str(&format!(" (did you mean {close}?)"));
    }
    message
}

/// BuildKit's `^[a-z][a-z0-9-_.]*$`.
pub fn is_valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

/// BuildKit's `parseOnBuild`: a trigger cannot be another ONBUILD, a FROM or a MAINTAINER.
fn check_onbuild_trigger(inner: &RawInstruction) -> Result<(), CheckError> {
    let keyword = inner.keyword_upper();
    let message = match keyword.as_str() {
        "ONBUILD" => "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".to_string(),
        "FROM" | "MAINTAINER" => format!("{keyword} isn't allowed as an ONBUILD trigger"),
        _ => return Ok(()),
    };
    Err((message, inner.keyword_span.clone()))
}

/// BuildKit's `BFlags.Parse`: unknown flags, string flags without a value, a repeated
/// single-valued flag, a boolean flag whose value is not a boolean.
fn check_flags(raw: &RawInstruction) -> Result<(), CheckError> {
    let Some(known) = known_flags(raw) else { return Ok(()) };
    let mut used: Vec<&str> = Vec::new();
    for flag in &raw.flags {
        let name = flag.name();
        let Some(&(_, kind)) = known.iter().find(|(n, _)| *n == name) else {
            return Err((format!("unknown flag: {name}"), flag.span.clone()));
        };
        if used.contains(&name) && kind != FlagKind::Strings {
            return Err((format!("duplicate flag specified: --{name}"), flag.span.clone()));
        }
        used.push(name);
        match (kind, flag.value()) {
            (FlagKind::Bool, Some("")) | (FlagKind::String | FlagKind::Strings, None) => {
                return Err((format!("missing a value on flag: {name}"), flag.span.clone()))
            }
            (FlagKind::Bool, Some(v)) if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") => {
                return Err((format!("expecting boolean value for flag --{name}, not: {v}"), flag.span.clone()))
            }
            _ => {}
        }
    }
    Ok(())
}

/// RUN's flag hooks: `--mount` (only `from` is read before expansion), `--network`,
/// `--security`.
fn check_run(raw: &RawInstruction) -> Result<(), CheckError> {
    for flag in &raw.flags {
        let value = flag.value().unwrap_or_default();
        match flag.name() {
            "mount" => check_mount(flag)?,
            "network" if !matches!(value, "default" | "none" | "host") => {
                return Err((format!("invalid network mode {}", go_quote(value)), flag.span.clone()))
            }
            "security" if !matches!(value, "insecure" | "sandbox") => {
                return Err((format!("security {} is not valid", go_quote(value)), flag.span.clone()))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Why BuildKit refuses a `--mount` whose fields do not read as CSV.
pub const CSV_ERROR: &str = "failed to parse csv mounts: bare \" in non-quoted-field";

/// `parseMount` without an expander, as BuildKit parses a RUN: the CSV must read, and `from`
/// names a stage or image as written (a `$` anywhere but last would need expansion).
pub fn check_mount(flag: &FlagText) -> Result<(), CheckError> {
    let Some(fields) = csv_fields(flag.value().unwrap_or_default()) else {
        return Err((CSV_ERROR.to_string(), flag.span.clone()));
    };
    for field in fields {
        if let Some((key, value)) = field.split_once('=') {
            if key.eq_ignore_ascii_case("from") && value.find('$').is_some_and(|i| i + 1 != value.len()) {
                let message = "'from' doesn't support variable expansion, define alias stage instead".to_string();
                return Err((message, flag.span.clone()));
            }
        }
    }
    Ok(())
}

/// The fields of one CSV record as Go's `encoding/csv` reads them (`go-csvvalue`): a field
/// may be double-quoted (`""` for a quote inside); a quote inside an unquoted field is an
/// error (None). imgopt's one reader of `--mount` (and other CSV) values.
pub fn csv_fields(record: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut chars = record.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return None,
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Some(fields);
                }
                Some(',') => {}
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Some(fields);
                    }
                    Some(',') => break,
                    Some('"') => return None,
                    Some(c) => field.push(c),
                }
            }
        }
        fields.push(field);
    }
}

/// `parseHealthcheck`: `NONE` alone, or `CMD` with a command; durations and retries that read.
fn check_healthcheck(raw: &RawInstruction) -> Result<(), CheckError> {
    let at = raw.span.clone();
    let Some(kind) = raw.args.first() else {
        return Err(("HEALTHCHECK requires at least one argument".to_string(), at));
    };
    let kind = kind.to_uppercase();
    if kind == "NONE" {
        if raw.args.len() > 1 {
            return Err(("HEALTHCHECK NONE takes no arguments".to_string(), at));
        }
        return Ok(());
    }
    check_flags(raw)?;
    if kind != "CMD" {
        return Err((format!("Unknown type {} in HEALTHCHECK (try CMD)", go_quote(&kind)), at));
    }
    if raw.args.len() == 1 {
        return Err(("Missing command after HEALTHCHECK CMD".to_string(), at));
    }
    // Each flag is read once (BFlags.Parse refused repeats): check them in BuildKit's order.
    for name in ["interval", "timeout", "start-period", "start-interval"] {
        let Some(flag) = raw.flags.iter().find(|f| f.name() == name) else { continue };
        let value = flag.value().unwrap_or_default();
        if value.is_empty() {
            continue;
        }
        let nanos = go_duration_nanos(value).map_err(|m| (m, flag.span.clone()))?;
        if nanos != 0 && nanos < 1_000_000 {
            return Err((format!("Interval {} cannot be less than 1ms", go_quote(name)), flag.span.clone()));
        }
    }
    if let Some(flag) = raw.flags.iter().find(|f| f.name() == "retries") {
        let value = flag.value().unwrap_or_default();
        if !value.is_empty() {
            let retries = go_parse_int32(value).map_err(|m| (m, flag.span.clone()))?;
            if retries < 0 {
                return Err((format!("--retries cannot be negative ({retries})"), flag.span.clone()));
            }
        }
    }
    Ok(())
}

/// Go's `time.ParseDuration`, in nanoseconds (saturating), with its error messages.
fn go_duration_nanos(text: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(text));
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.bytes().take_while(u8::is_ascii_digit).count();
                (Some(&a[..n]), &a[n..])
            }
            None => (None, after),
        };
        if int_part.is_empty() && frac_part.is_none_or(str::is_empty) {
            return Err(invalid());
        }
        let unit_len = after.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", go_quote(text)));
        }
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(format!("time: unknown unit {} in duration {}", go_quote(unit), go_quote(text))),
        };
        let number: f64 = format!("{}.{}", if int_part.is_empty() { "0" } else { int_part }, frac_part.unwrap_or("0"))
            .parse()
            .map_err(|_| invalid())?;
        total += number * scale;
        if total > i64::MAX as f64 {
            return Err(invalid());
        }
        rest = after;
    }
    let nanos = total as i128;
    Ok(if negative { -nanos } else { nanos })
}

/// Go's `strconv.ParseInt(s, 10, 32)`, with its error messages.
fn go_parse_int32(text: &str) -> Result<i64, String> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(text)));
    }
    text.parse::<i32>()
        .map(i64::from)
        .map_err(|_| format!("strconv.ParseInt: parsing {}: value out of range", go_quote(text)))
}

/// Go's `%q` for the plain strings these messages quote.
fn go_quote(text: &str) -> String {
    format!("{text:?}")
}

#[cfg(test)]
mod tests {
    use super::super::{parse, read_lines};

    fn error_of(text: &str) -> Option<(String, usize)> {
        parse(text).err().map(|e| (e.message, e.line))
    }

    #[test]
    fn stage_names_must_be_names() {
        let e = error_of("FROM scratch AS build-%s\n").expect("rejected");
        assert_eq!(
            e,
            ("invalid name for build stage: \"build-%s\", name can't start with a number or contain symbols".into(), 1)
        );
        assert!(error_of("FROM a AS 1st\n").is_some());
        for ok in ["FROM a AS Build_1.x-y\n", "FROM a as b\n", "FROM a\n"] {
            assert_eq!(error_of(ok), None, "{ok}");
        }
        assert!(read_lines("FROM scratch AS build-%s\n").is_ok(), "the parser package reads it");
    }

    #[test]
    fn run_flags_as_buildkit_reads_them_before_expansion() {
        let e = error_of("FROM a\nENV t=x\nRUN --mount=from=$t,type=cache,target=/tmp ls\n").expect("rejected");
        assert_eq!(e, ("'from' doesn't support variable expansion, define alias stage instead".into(), 3));
        for ok in [
            "RUN --mount=from=stage$,target=/x ls\n",
            "RUN --mount=type=cache,target=$HOME/.cache ls\n",
            "RUN --mount=type=bind,\"source=a,b\",target=/x ls\n",
            "RUN --network=none --security=insecure ls\n",
            "RUN --mount=type=cache,target=/a --mount=type=cache,target=/b ls\n",
        ] {
            assert_eq!(error_of(&format!("FROM a\n{ok}")), None, "{ok}");
        }
        for (bad, message) in [
            ("RUN --network=bridge ls\n", "invalid network mode \"bridge\""),
            ("RUN --security=x ls\n", "security \"x\" is not valid"),
            ("RUN --network=none --network=host ls\n", "duplicate flag specified: --network"),
        ] {
            assert_eq!(error_of(&format!("FROM a\n{bad}")), Some((message.to_string(), 2)), "{bad}");
        }
    }

    #[test]
    fn copy_add_and_boolean_flags() {
        for (bad, message) in [
            ("COPY --link=yes a /b\n", "expecting boolean value for flag --link, not: yes"),
            ("COPY --link= a /b\n", "missing a value on flag: link"),
            ("ADD --chown=1 --chown=2 a /b\n", "duplicate flag specified: --chown"),
            ("COPY a <<EOF\nx\nEOF\n", "COPY cannot accept a heredoc as a destination"),
        ] {
            assert_eq!(error_of(&format!("FROM a\n{bad}")).map(|e| e.0), Some(message.to_string()), "{bad}");
        }
        for ok in ["COPY --link=False --parents a /b\n", "COPY --exclude=a --exclude=b . /\n", "STOPSIGNAL --x 9\n"] {
            assert_eq!(error_of(&format!("FROM a\n{ok}")), None, "{ok}");
        }
    }

    #[test]
    fn names_volumes_and_healthchecks() {
        for (bad, message) in [
            ("ARG =x\n", "ARG names can not be blank"),
            ("VOLUME [\"/a\", \" \"]\n", "VOLUME specified can not be an empty string"),
            ("HEALTHCHECK NONE x\n", "HEALTHCHECK NONE takes no arguments"),
            ("HEALTHCHECK CMD\n", "Missing command after HEALTHCHECK CMD"),
            ("HEALTHCHECK CMD []\n", "Missing command after HEALTHCHECK CMD"),
            ("HEALTHCHECK RUN x\n", "Unknown type \"RUN\" in HEALTHCHECK (try CMD)"),
            ("HEALTHCHECK --interval=5 CMD x\n", "time: missing unit in duration \"5\""),
            ("HEALTHCHECK --timeout=1x CMD x\n", "time: unknown unit \"x\" in duration \"1x\""),
            ("HEALTHCHECK --interval=10us CMD x\n", "Interval \"interval\" cannot be less than 1ms"),
            ("HEALTHCHECK --retries=-1 CMD x\n", "--retries cannot be negative (-1)"),
            ("HEALTHCHECK --retries=x CMD x\n", "strconv.ParseInt: parsing \"x\": invalid syntax"),
            ("HEALTHCHECK --bogus=1 CMD x\n", "unknown flag: bogus"),
        ] {
            assert_eq!(error_of(&format!("FROM a\n{bad}")).map(|e| e.0), Some(message.to_string()), "{bad}");
        }
        for ok in [
            "HEALTHCHECK --interval=1m30s --timeout=0 --start-period=1.5s --retries=3 CMD curl -f x\n",
            "HEALTHCHECK --interval=5s NONE\n",
            "HEALTHCHECK cmd [\"a\"]\n",
        ] {
            assert_eq!(error_of(&format!("FROM a\n{ok}")), None, "{ok}");
        }
    }
}
