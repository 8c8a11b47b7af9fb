//! `.dockerignore`: which files of the build context the builder leaves out, with the semantics
//! of moby's `patternmatcher` and its `ignorefile` reader, which BuildKit and the docker CLI use.
//! The lint rule copy-ignored-file asks whether a COPY source is left out; a builder sending the
//! context asks the same for every path.
//!
//! Reading ([`read_patterns`], as `ignorefile.ReadAll`): a UTF-8 byte-order mark is dropped; a
//! line whose first character is `#` is a comment (an indented `#` starts a pattern); lines are
//! trimmed and blank ones skipped; a leading `!` makes an exception; the rest is cleaned like
//! Go's `filepath.Clean` (`./a/` → `a`, `a/../b` → `b`) and a leading `/` dropped.
//!
//! Matching ([`Dockerignore::excludes`], as `PatternMatcher.MatchesOrParentMatches`): patterns
//! are anchored at the context root; `*` and `?` stop at `/`; `[...]` is a class, negated by
//! `^`; `\` escapes the next character; `**` spans any number of directories (`**/` none too);
//! a pattern that matches a directory matches everything below it; the last pattern that
//! matches decides, so an exception after an exclusion brings a path back.
//!
//! Each pattern must be valid for Go's `filepath.Match` (a bare `!`, an unclosed `[`, an empty
//! class, a misplaced `-` in a class or a trailing `\` are errors, and fail a build), and is
//! translated to a regular expression the way patternmatcher translates it, so its quirks carry
//! over: `**foo` also matches `barfoo`, and a class such as `[^a]` can match `/`.

use regex::Regex;

/// The parsed patterns of one ignore file.
#[derive(Debug, Clone, Default)]
pub struct Dockerignore {
    patterns: Vec<Pattern>,
}

/// One pattern line.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// The pattern cleaned, without the `!` of an exception.
    pub text: String,
    /// A `!` line: matching paths are put back into the context.
    pub exception: bool,
    /// 1-based line in the ignore file.
    pub line: usize,
    kind: Kind,
}

/// How a pattern matches, as patternmatcher classifies it.
#[derive(Debug, Clone)]
enum Kind {
    /// No wildcard: the path equals the pattern.
    Exact,
    /// `dir/**`: the path starts with what comes before the `**`.
    Prefix,
    /// `**/name`: the path ends with what follows the `**`.
    Suffix,
    Regex(Regex),
}

/// A line the builder refuses; the build fails on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct PatternError {
    pub line: usize,
    pub message: String,
}

/// The patterns of an ignore file's text as `ignorefile.ReadAll` returns them (an exception
/// keeps its `!`), each with its 1-based line.
pub fn read_patterns(text: &str) -> Vec<(usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let exception = pattern.starts_with('!');
        if exception {
            pattern = pattern[1..].trim();
        }
        let mut cleaned = String::new();
        if !pattern.is_empty() {
            cleaned = clean(pattern);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
        }
        if exception {
            cleaned.insert(0, '!');
        }
        out.push((index + 1, cleaned));
    }
    out
}

impl Dockerignore {
    /// Reads an ignore file's text.
    pub fn parse(text: &str) -> Result<Dockerignore, PatternError> {
        Dockerignore::new(read_patterns(text))
    }

    /// Compiles patterns as [`read_patterns`] gives them (as `patternmatcher.New` does).
    pub fn new(patterns: impl IntoIterator<Item = (usize, String)>) -> Result<Dockerignore, PatternError> {
        let mut out = Vec::new();
        for (line, pattern) in patterns {
            let pattern = pattern.trim();
            if pattern.is_empty() {
                continue;
            }
            let cleaned = clean(pattern);
            let (exception, text) = match cleaned.strip_prefix('!') {
                Some("") => return Err(PatternError { line, message: "illegal exclusion pattern: \"!\"".to_string() }),
                Some(rest) => (true, rest.to_string()),
                None => (false, cleaned),
            };
            let syntax_error = || PatternError { line, message: format!("syntax error in pattern `{text}`") };
            if !go_match_syntax_ok(&text) {
                return Err(syntax_error());
            }
            let kind = compile(&text).map_err(|_| syntax_error())?;
            out.push(Pattern { text, exception, line, kind });
        }
        Ok(Dockerignore { patterns: out })
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether any line is an exception (`!`).
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exception)
    }

    /// Whether `path` (relative to the context root, `/`-separated, cleaned: see
    /// [`context_path`]) is left out of the context.
    pub fn excludes(&self, path: &str) -> bool {
        self.deciding(path).is_some_and(|(_, p)| !p.exception)
    }

    /// The pattern that decides about `path`, with its index: the last one that matches the
    /// path or one of its parent directories.
    pub fn deciding(&self, path: &str) -> Option<(usize, &Pattern)> {
        self.patterns.iter().enumerate().rev().find(|(_, p)| p.matches_or_parent_matches(path))
    }

    /// The pattern that leaves out `path` and everything below it: `path` is excluded and no
    /// later exception could match a path under it. None when `path` is sent, or when an
    /// exception may put back part of it (`*` then `!src/main.go` leaves `src` partly there).
    /// `path` is taken literally (a `*` in it is a character).
    pub fn excludes_all_of(&self, path: &str) -> Option<&Pattern> {
        let (index, pattern) = self.deciding(path)?;
        if pattern.exception {
            return None;
        }
        let components: Vec<&str> = if path == "." { Vec::new() } else { path.split('/').collect() };
        let brought_back = self.patterns[index + 1..].iter().any(|e| e.exception && e.may_match_below(&components));
        (!brought_back).then_some(pattern)
    }
}

impl Pattern {
    /// Whether the pattern matches `path` itself (no parent-directory rule).
    pub fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.text,
            Kind::Prefix => path.starts_with(&self.text[..self.text.len() - 2]),
            Kind::Suffix => {
                let suffix = &self.text[2..];
                path.ends_with(suffix) || suffix.strip_prefix('/').is_some_and(|s| path == s)
            }
            Kind::Regex(re) => re.is_match(path),
        }
    }

    /// Whether the pattern matches `path` or one of the directories above it.
    pub fn matches_or_parent_matches(&self, path: &str) -> bool {
        self.matches(path) || path.match_indices('/').any(|(i, _)| self.matches(&path[..i]))
    }

    /// Whether the pattern could match a path strictly below the directory whose components
    /// are `components`. Conservative: true unless the pattern's shape rules it out.
    fn may_match_below(&self, components: &[&str]) -> bool {
        if self.text.contains("**") || self.text.contains(['[', '\\']) {
            return true;
        }
        // Without `**`, classes and escapes a pattern spans a fixed number of components.
        let own: Vec<&str> = self.text.split('/').collect();
        own.len() > components.len() && own.iter().zip(components).all(|(p, c)| glob_component(p, c))
    }
}

/// `*` and `?` matching within one path component.
pub(crate) fn glob_component(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == '?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// `path` cleaned as Go's `path.Clean` cleans it: repeated and trailing `/` and `.` components
/// removed, `..` resolved against the component before it (dropped at the root), `.` for empty.
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// Where a source path of COPY or ADD lands in the context: cleaned as if rooted at the
/// context root, which no `..` leaves, then relative to it (`./a/../b` → `b`, `/a` → `a`,
/// `../a` → `a`, `.` and `/` → `.`).
pub fn context_path(source: &str) -> String {
    let rooted = clean(&format!("/{source}"));
    match &rooted[1..] {
        "" => ".".to_string(),
        rest => rest.to_string(),
    }
}

/// Whether Go's `filepath.Match(pattern, ".")` accepts `pattern` (on Unix): it checks every
/// star-free chunk; a class needs a closing `]`, at least one range, and no unescaped `-` or
/// `]` where a character is expected; a `\` needs a character after it.
fn go_match_syntax_ok(pattern: &str) -> bool {
    let mut rest = pattern;
    while !rest.is_empty() {
        rest = rest.trim_start_matches('*');
        let (chunk, after) = scan_chunk(rest);
        if !chunk_syntax_ok(chunk) {
            return false;
        }
        rest = after;
    }
    true
}

/// The chunk up to the next `*` outside a class (`filepath.scanChunk`).
fn scan_chunk(pattern: &str) -> (&str, &str) {
    let bytes = pattern.as_bytes();
    let mut in_range = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if i + 1 < bytes.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    pattern.split_at(i)
}

/// `filepath.matchChunk`'s syntax checks.
fn chunk_syntax_ok(mut chunk: &str) -> bool {
    while let Some(c) = chunk.chars().next() {
        chunk = &chunk[c.len_utf8()..];
        match c {
            '[' => {
                chunk = chunk.strip_prefix('^').unwrap_or(chunk);
                let mut ranges = 0;
                loop {
                    if ranges > 0 {
                        if let Some(after) = chunk.strip_prefix(']') {
                            chunk = after;
                            break;
                        }
                    }
                    let Some(after) = class_char(chunk) else { return false };
                    chunk = after;
                    if let Some(hi) = chunk.strip_prefix('-') {
                        let Some(after) = class_char(hi) else { return false };
                        chunk = after;
                    }
                    ranges += 1;
                }
            }
            '\\' => match chunk.chars().next() {
                Some(escaped) => chunk = &chunk[escaped.len_utf8()..],
                None => return false,
            },
            _ => {}
        }
    }
    true
}

/// `filepath.getEsc`: one possibly escaped character of a class; something must follow it.
fn class_char(chunk: &str) -> Option<&str> {
    if chunk.is_empty() || chunk.starts_with(['-', ']']) {
        return None;
    }
    let chunk = match chunk.strip_prefix('\\') {
        Some("") => return None,
        Some(after) => after,
        None => chunk,
    };
    let c = chunk.chars().next()?;
    let rest = &chunk[c.len_utf8()..];
    (!rest.is_empty()).then_some(rest)
}

/// patternmatcher's `Pattern.compile`: the match kind and, for wildcards, the regular
/// expression (in Go's syntax, then carried over to the regex crate's).
fn compile(pattern: &str) -> Result<Kind, regex::Error> {
    #[derive(PartialEq)]
    enum Detected {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut re = String::from("^");
    let mut detected = Detected::Exact;
    let mut pos = 0;
    let mut token = 0;
    while pos < chars.len() {
        let ch = chars[pos];
        pos += 1;
        match ch {
            '*' if chars.get(pos) == Some(&'*') => {
                pos += 1;
                if chars.get(pos) == Some(&'/') {
                    pos += 1;
                }
                if pos == chars.len() {
                    if detected == Detected::Exact {
                        detected = Detected::Prefix;
                    } else {
                        re.push_str(".*");
                        detected = Detected::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    detected = Detected::Regex;
                }
                if token == 0 {
                    detected = Detected::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                detected = Detected::Regex;
            }
            '?' => {
                re.push_str("[^/]");
                detected = Detected::Regex;
            }
            '.' | '+' | '(' | ')' | '|' | '{' | '}' | '$' => {
                re.push('\\');
                re.push(ch);
            }
            '\\' => match chars.get(pos) {
                Some(&next) => {
                    pos += 1;
                    re.push('\\');
                    re.push(next);
                    detected = Detected::Regex;
                }
                None => re.push('\\'),
            },
            '[' | ']' => {
                re.push(ch);
                detected = Detected::Regex;
            }
            other => re.push(other),
        }
        token += 1;
    }
    Ok(match detected {
        Detected::Exact => Kind::Exact,
        Detected::Prefix => Kind::Prefix,
        Detected::Suffix => Kind::Suffix,
        Detected::Regex => {
            re.push('$');
            Kind::Regex(Regex::new(&go_regex_to_rust(&re))?)
        }
    })
}

/// A regular expression in Go's syntax, as patternmatcher writes them, in the regex crate's:
/// inside a class Go takes `[` (other than `[:name:]`), `&` and `~` literally where the regex
/// crate nests classes and combines them; `\<` and `\>` are literal characters in Go and word
/// boundaries in the regex crate.
fn go_regex_to_rust(go: &str) -> String {
    let mut out = String::with_capacity(go.len() + 8);
    let mut chars = go.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('<' | '>')) => out.push(e),
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str("\\]");
                }
            }
            ']' if !in_class => out.push_str("\\]"),
            ']' => {
                in_class = false;
                out.push(']');
            }
            '[' => {
                // `[:alpha:]` is a named class in both syntaxes.
                let rest: String = chars.clone().collect();
                match rest.strip_prefix(':').and_then(|r| r.find(":]").map(|end| &r[..end])) {
                    Some(name) if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic() || c == '^') => {
                        out.push_str("[:");
                        out.push_str(name);
                        out.push_str(":]");
                        for _ in 0..name.chars().count() + 3 {
                            chars.next();
                        }
                    }
                    _ => out.push_str("\\["),
                }
            }
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '-' if in_class && chars.peek() == Some(&'-') => out.push_str("\\-"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(text: &str) -> Dockerignore {
        Dockerignore::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn excluded(patterns: &str, path: &str) -> bool {
        ignore(patterns).excludes(path)
    }

    #[test]
    fn reading_comments_blanks_bom_and_cleaning() {
        let text = "\u{feff}# comment\n\n  node_modules/  \n ./a/../b\n/abs\n!  /keep\n #not-a-comment\n/\n";
        let got: Vec<String> = read_patterns(text).into_iter().map(|(_, p)| p).collect();
        assert_eq!(got, ["node_modules", "b", "abs", "!keep", "#not-a-comment", "/"]);
        let lines: Vec<usize> = read_patterns(text).into_iter().map(|(l, _)| l).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8]);
        // A BOM only counts at the start of the file; CRLF line ends are fine.
        assert_eq!(read_patterns("a\r\nb\r\n"), [(1, "a".to_string()), (2, "b".to_string())]);
    }

    #[test]
    fn go_clean() {
        for (input, want) in [
            ("", "."),
            (".", "."),
            ("./", "."),
            ("a/", "a"),
            ("a//b", "a/b"),
            ("a/./b/", "a/b"),
            ("a/../b", "b"),
            ("a/../../b", "../b"),
            ("../../a", "../../a"),
            ("/..", "/"),
            ("/../a", "/a"),
            ("/", "/"),
            ("//a", "/a"),
        ] {
            assert_eq!(clean(input), want, "{input:?}");
        }
        for (input, want) in [(".", "."), ("/", "."), ("./a/", "a"), ("/a/b", "a/b"), ("../a", "a"), ("a/..", ".")] {
            assert_eq!(context_path(input), want, "{input:?}");
        }
    }

    #[test]
    fn a_pattern_is_anchored_at_the_root_and_star_stays_in_one_directory() {
        assert!(excluded("foo", "foo"));
        assert!(!excluded("foo", "sub/foo"));
        assert!(excluded("*.md", "README.md"));
        assert!(!excluded("*.md", "docs/README.md"));
        assert!(excluded("*/*.md", "docs/README.md"));
        assert!(excluded("docs/*", "docs/a/b.md"), "docs/a matches, so what is below it does");
        assert!(!excluded("?", "ab"));
        assert!(excluded("a?c", "abc"));
        assert!(!excluded("a?c", "a/c"));
    }

    #[test]
    fn a_matching_directory_takes_everything_below_it() {
        assert!(excluded("node_modules", "node_modules/pkg/index.js"));
        assert!(excluded("a/b", "a/b/c/d"));
        assert!(!excluded("a/b", "a/bc"));
        assert!(!excluded("a/b", "a"));
    }

    #[test]
    fn double_star_spans_directories() {
        assert!(excluded("**/*.go", "main.go"));
        assert!(excluded("**/*.go", "a/b/main.go"));
        assert!(excluded("**/vendor", "vendor"));
        assert!(excluded("**/vendor", "x/y/vendor/z"));
        assert!(excluded("a/**/b", "a/b"));
        assert!(excluded("a/**/b", "a/x/y/b"));
        assert!(!excluded("a/**/b", "a/x/yb"));
        assert!(excluded("dist/**", "dist/x/y"));
        assert!(excluded("**", "anything/at/all"));
        assert!(excluded("**/**", "a/b"));
        // patternmatcher's quirks, kept: `**x` is a suffix and `x**` a prefix, not a directory.
        assert!(excluded("**foo", "barfoo"));
        assert!(excluded("foo**", "foobar"));
    }

    #[test]
    fn classes_and_escapes() {
        assert!(excluded("[abc].txt", "b.txt"));
        assert!(!excluded("[abc].txt", "d.txt"));
        assert!(excluded("[a-c].txt", "b.txt"));
        assert!(excluded("[^a].txt", "b.txt"));
        assert!(!excluded("[^a].txt", "a.txt"));
        assert!(excluded("[[:digit:]]x", "7x"));
        assert!(excluded("\\*", "*"));
        assert!(!excluded("\\*", "a"));
        assert!(excluded("a\\?b", "a?b"));
        assert!(!excluded("a\\?b", "axb"));
        // Characters special to regular expressions are literal.
        assert!(excluded("a+b(c).{d}$|e", "a+b(c).{d}$|e"));
        assert!(!excluded("a.b", "axb"));
        // Unicode is one character for `?`.
        assert!(excluded("caf?", "café"));
        // A class is a regular-expression class: it can match `/`.
        assert!(excluded("a[^x]b", "a/b"));
    }

    #[test]
    fn last_match_wins_and_exceptions_put_paths_back() {
        let rules = ignore("*.md\n!README.md\n");
        assert!(rules.excludes("CHANGES.md"));
        assert!(!rules.excludes("README.md"));
        let rules = ignore("!README.md\n*.md\n");
        assert!(rules.excludes("README.md"), "a later exclusion wins");
        // An exception for a file does not undo the exclusion of its directory...
        let rules = ignore("docs\n!docs/keep.md\n");
        assert!(!rules.excludes("docs/keep.md"));
        assert!(rules.excludes("docs"));
        assert!(rules.excludes("docs/other.md"));
        // ...and an exception of the directory brings back what is below it.
        let rules = ignore("*\n!src\n");
        assert!(!rules.excludes("src/main.rs"));
        assert!(rules.excludes("README.md"));
        let rules = ignore("*\n!src\nsrc/secret\n");
        assert!(rules.excludes("src/secret/key"));
        assert!(!rules.excludes("src/lib.rs"));
    }

    #[test]
    fn deciding_pattern_and_line() {
        let rules = ignore("# build output\ntarget\n\n*.log\n");
        assert_eq!(rules.deciding("target/debug/app").map(|(_, p)| p.line), Some(2));
        let (index, pattern) = rules.deciding("app.log").expect("matches");
        assert_eq!((index, pattern.line, pattern.text.as_str()), (1, 4, "*.log"));
        assert!(rules.deciding("src/main.rs").is_none());
    }

    #[test]
    fn excluded_entirely_unless_an_exception_may_bring_part_back() {
        let rules = ignore("*\n!src/main.go\n");
        assert!(rules.excludes("src"));
        assert!(rules.excludes_all_of("src").is_none(), "src/main.go is sent");
        assert!(rules.excludes_all_of("docs").is_some());
        assert!(rules.excludes_all_of("README.md").is_some());
        assert!(rules.excludes_all_of("src/other.go").is_some());
        let rules = ignore("*\n!**/keep\n");
        assert!(rules.excludes_all_of("anything").is_none());
        let rules = ignore("*\n!s*/main.go\n");
        assert!(rules.excludes_all_of("src").is_none());
        assert!(rules.excludes_all_of("lib").is_some());
        // An exception before the deciding exclusion cannot bring anything back.
        let rules = ignore("!src/a\nsrc\n");
        assert!(rules.excludes_all_of("src").is_some());
        assert!(ignore("*\n!x\n").excludes_all_of(".").is_none());
    }

    #[test]
    fn invalid_patterns_are_refused_like_the_builder_refuses_them() {
        for (text, line, message) in [
            ("ok\n!\n", 2, "illegal exclusion pattern: \"!\""),
            ("! \n", 1, "illegal exclusion pattern: \"!\""),
            ("!/\n", 1, "illegal exclusion pattern: \"!\""),
            ("[\n", 1, "syntax error in pattern `[`"),
            ("a[b\n", 1, "syntax error in pattern `a[b`"),
            ("[]a]\n", 1, "syntax error in pattern `[]a]`"),
            ("[a-]\n", 1, "syntax error in pattern `[a-]`"),
            ("[-a]\n", 1, "syntax error in pattern `[-a]`"),
            ("[a-b-c]\n", 1, "syntax error in pattern `[a-b-c]`"),
            ("x\\\n", 1, "syntax error in pattern `x\\`"),
            ("*.go\nfoo*[\n", 2, "syntax error in pattern `foo*[`"),
        ] {
            let err = Dockerignore::parse(text).expect_err(text);
            assert_eq!(err, PatternError { line, message: message.to_string() }, "{text:?}");
        }
        for ok in ["[a-c]", "[\\]]", "[^a]", "a]b", "*[*]", "\\[x\\]", "[[:alpha:]]"] {
            assert!(Dockerignore::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn go_regex_carried_over() {
        assert_eq!(go_regex_to_rust("^[[^/]*]$"), "^[\\[^/]*\\]$");
        assert_eq!(go_regex_to_rust("^[a&&b]$"), "^[a\\&\\&b]$");
        assert_eq!(go_regex_to_rust("^[[:alpha:]]$"), "^[[:alpha:]]$");
        assert_eq!(go_regex_to_rust("^\\<a\\>$"), "^<a>$");
    }

    #[test]
    fn component_glob() {
        assert!(glob_component("*", "abc"));
        assert!(glob_component("a*c", "abbbc"));
        assert!(glob_component("a?c", "abc"));
        assert!(!glob_component("a?c", "ac"));
        assert!(glob_component("*.go", "main.go"));
        assert!(!glob_component("*.go", "main.rs"));
        assert!(glob_component("", ""));
    }
}
