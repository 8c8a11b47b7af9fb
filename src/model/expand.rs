//! Variable expansion with BuildKit's word rules (`frontend/dockerfile/shell/lex.go`):
//! `$v`, `${v}`, `${v:-x}`, `${v-x}`, `${v:+x}`, `${v+x}`, `${v:?x}`, `${v?x}`, the escape
//! token, single quotes (literal) and double quotes (expansion, escapes for `"`, `$` and the
//! escape token).

use std::collections::HashMap;

/// Variables in scope: name → value.
pub type Vars = HashMap<String, String>;

/// The result of expanding one word.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expanded {
    pub value: String,
    /// Names referenced but not set (UndefinedVar's raw material), in order of appearance.
    pub unset: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    #[error("missing '}}' in variable expansion")]
    Unterminated,
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    #[error("{name}: {message}")]
    Required { name: String, message: String },
    #[error("unsupported modifier ({0}) in substitution")]
    BadModifier(char),
    /// A WORKDIR that resolves past what a Linux path may be (`PATH_MAX`): no build can create
    /// it, and a fold that kept growing it would cost the path's length at every WORKDIR.
    #[error("the directory is {0} bytes long, more than the {max} bytes of a Linux path", max = crate::model::state::PATH_MAX)]
    PathTooLong(usize),
}

/// Expands one word: quotes are removed and variables substituted, as BuildKit's
/// `ProcessWord` does for FROM, WORKDIR, USER, COPY paths and the like.
pub fn expand_word(word: &str, vars: &Vars, escape: char) -> Result<Expanded, ExpandError> {
    let mut lex = Lexer { chars: word.chars().collect(), pos: 0, vars, escape, out: Expanded::default() };
    let value = lex.word(None)?;
    lex.out.value = value;
    Ok(lex.out)
}

/// The names a word refers to (`$a ${b:-$c}` → a, b, c), whether set or not.
pub fn referenced_names(word: &str, escape: char) -> Vec<String> {
    let empty = Vars::new();
    expand_word(word, &empty, escape).map(|e| e.unset).unwrap_or_default()
}

struct Lexer<'v> {
    chars: Vec<char>,
    pos: usize,
    vars: &'v Vars,
    escape: char,
    out: Expanded,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    /// Reads until the end, or until `stop` (the `}` closing a modifier word) at top level.
    fn word(&mut self, stop: Option<char>) -> Result<String, ExpandError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                return Ok(out);
            }
            self.pos += 1;
            match c {
                '\'' => loop {
                    match self.bump() {
                        None => return Err(ExpandError::UnterminatedQuote),
                        Some('\'') => break,
                        Some(c) => out.push(c),
                    }
                },
                '"' => self.double_quoted(&mut out)?,
                '$' => self.dollar(&mut out)?,
                c if c == self.escape => {
                    if let Some(next) = self.bump() {
                        out.push(next);
                    }
                }
                c => out.push(c),
            }
        }
        Ok(out)
    }

    fn double_quoted(&mut self, out: &mut String) -> Result<(), ExpandError> {
        loop {
            match self.bump() {
                None => return Err(ExpandError::UnterminatedQuote),
                Some('"') => return Ok(()),
                Some('$') => self.dollar(out)?,
                Some(c) if c == self.escape => match self.peek() {
                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                        self.pos += 1;
                        out.push(n);
                    }
                    _ => out.push(c),
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        let v = self.vars.get(name).cloned();
        if v.is_none() && !self.out.unset.iter().any(|n| n == name) {
            self.out.unset.push(name.to_string());
        }
        v
    }

    fn dollar(&mut self, out: &mut String) -> Result<(), ExpandError> {
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                self.braced(out)
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let name = self.name();
                out.push_str(&self.lookup(&name).unwrap_or_default());
                Ok(())
            }
            Some(c) if c.is_ascii_digit() || matches!(c, '@' | '*' | '#' | '?' | '$' | '!' | '-') => {
                // Special parameters are not Dockerfile variables: BuildKit drops them.
                self.pos += 1;
                Ok(())
            }
            _ => {
                out.push('$');
                Ok(())
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        name
    }

    fn braced(&mut self, out: &mut String) -> Result<(), ExpandError> {
        let name = self.name();
        let colon = self.peek() == Some(':');
        if colon {
            self.pos += 1;
        }
        match self.bump() {
            None => Err(ExpandError::Unterminated),
            Some('}') if !colon => {
                out.push_str(&self.lookup(&name).unwrap_or_default());
                Ok(())
            }
            Some(m @ ('-' | '+' | '?')) => {
                let value = self.lookup(&name);
                let word = self.word(Some('}'))?;
                if self.bump() != Some('}') {
                    return Err(ExpandError::Unterminated);
                }
                let set = match (&value, colon) {
                    (Some(v), true) => !v.is_empty(),
                    (Some(_), false) => true,
                    (None, _) => false,
                };
                match m {
                    '-' => out.push_str(&if set { value.unwrap_or_default() } else { word }),
                    '+' => {
                        if set {
                            out.push_str(&word)
                        }
                    }
                    _ => {
                        if !set {
                            let message = if word.is_empty() { "is not allowed to be unset".to_string() } else { word };
                            return Err(ExpandError::Required { name, message });
                        }
                        out.push_str(&value.unwrap_or_default());
                    }
                }
                Ok(())
            }
            Some(c) => {
                // Pattern modifiers (#, %, /) are newer BuildKit features; treat the word as
                // opaque and keep the value, so nothing downstream sees a false error.
                if matches!(c, '#' | '%' | '/') {
                    self.word(Some('}'))?;
                    if self.bump() != Some('}') {
                        return Err(ExpandError::Unterminated);
                    }
                    out.push_str(&self.lookup(&name).unwrap_or_default());
                    return Ok(());
                }
                Err(ExpandError::BadModifier(c))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn ex(word: &str, v: &Vars) -> String {
        expand_word(word, v, '\\').unwrap().value
    }

    #[test]
    fn substitution_forms() {
        let v = vars(&[("a", "A"), ("empty", "")]);
        assert_eq!(ex("$a", &v), "A");
        assert_eq!(ex("${a}b", &v), "Ab");
        assert_eq!(ex("${a:-x}", &v), "A");
        assert_eq!(ex("${empty:-x}", &v), "x");
        assert_eq!(ex("${empty-x}", &v), "");
        assert_eq!(ex("${unset-x}", &v), "x");
        assert_eq!(ex("${a:+x}", &v), "x");
        assert_eq!(ex("${empty:+x}", &v), "");
        assert_eq!(ex("${empty+x}", &v), "x");
        assert_eq!(ex("${unset+x}", &v), "");
        assert_eq!(ex("${unset:-${a}}", &v), "A");
        assert!(matches!(expand_word("${unset:?boom}", &v, '\\'), Err(ExpandError::Required { .. })));
        assert_eq!(expand_word("${a", &v, '\\'), Err(ExpandError::Unterminated));
    }

    #[test]
    fn quotes_and_escapes() {
        let v = vars(&[("a", "A")]);
        assert_eq!(ex("'$a'", &v), "$a");
        assert_eq!(ex("\"$a b\"", &v), "A b");
        assert_eq!(ex("\\$a", &v), "$a");
        assert_eq!(ex("\"\\$a\\x\"", &v), "$a\\x");
        assert_eq!(expand_word("`$a", &v, '`').unwrap().value, "$a");
        assert_eq!(ex("a$", &v), "a$");
        assert_eq!(ex("$1x", &v), "x");
    }

    #[test]
    fn unset_names_are_reported() {
        let e = expand_word("$x ${y:-$z} $x", &Vars::new(), '\\').unwrap();
        assert_eq!(e.unset, ["x", "y", "z"]);
        assert_eq!(referenced_names("${a}/${b}", '\\'), ["a", "b"]);
        // What FROM and ENV rules read: escaped and single-quoted dollars are not references.
        assert_eq!(referenced_names("${REG}/img:$TAG \\$NOT '$QUOTED'", '\\'), ["REG", "TAG"]);
    }
}
