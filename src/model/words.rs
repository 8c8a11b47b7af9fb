//! Small readers for instruction arguments the rules share: `key=value` lists (ARG, ENV, LABEL),
//! near-miss names.

use super::Span;

/// One `key=value` (or legacy `key value`) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue<'a> {
    pub key: &'a str,
    /// The value as written (quotes kept), None for `ARG name` without a default.
    pub value: Option<&'a str>,
    /// Span of the key in the file.
    pub key_span: Span,
    /// Written as `key value` (the legacy form ENV and LABEL accept).
    pub legacy: bool,
}

impl<'a> KeyValue<'a> {
    /// The key as BuildKit reads it: surrounding quotes (`"` or `'`) removed.
    pub fn name(&self) -> &'a str {
        self.key.trim_matches(['"', '\''])
    }
}

/// Reads `k=v k2="v 2"` or the legacy `k v w`. `offset` is where `text` starts in the file.
pub fn key_values(text: &str, offset: usize) -> Vec<KeyValue<'_>> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'\\') {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let key_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'=' {
            i += 1;
        }
        let key = &text[key_start..i];
        let key_span = offset + key_start..offset + i;
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            let value_start = i;
            i = word_end(bytes, i);
            out.push(KeyValue { key, value: Some(&text[value_start..i]), key_span, legacy: false });
        } else if out.is_empty() && text[i..].trim().is_empty() {
            out.push(KeyValue { key, value: None, key_span, legacy: false });
        } else if out.is_empty() {
            // Legacy form: everything after the first whitespace is the value.
            let value = text[i..].trim();
            out.push(KeyValue { key, value: Some(value), key_span, legacy: true });
            break;
        } else {
            out.push(KeyValue { key, value: None, key_span, legacy: false });
        }
    }
    out
}

/// End of a shell-like word starting at `i` (quotes and backslash escapes kept together).
fn word_end(bytes: &[u8], mut i: usize) -> usize {
    let mut quote = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(b'"') if b == b'\\' => i += 1,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'\\' => i += 1,
            None if b.is_ascii_whitespace() => break,
            None => {}
        }
        i += 1;
    }
    i.min(bytes.len())
}

/// The closest of `options` to `name` within an edit distance of 2, the first on ties:
/// BuildKit's `suggest.Search` (case-sensitive, as on Linux), behind its "did you mean".
pub fn closest<'o>(name: &str, options: &'o [String]) -> Option<&'o str> {
    let mut best: Option<&str> = None;
    let mut best_distance = 3;
    for option in options {
        let distance = levenshtein(name, option);
        if distance < best_distance {
            best = Some(option);
            best_distance = distance;
        }
    }
    best
}

/// Edit distance in characters (insertions, deletions, substitutions).
fn levenshtein(a: &str, b: &str) -> usize {
    edit_distance(a, b, false)
}

/// Whether `a` is one typo away from `b`: one character inserted, deleted, replaced, or two
/// neighbours swapped (`PAHT` for `PATH`).
pub fn one_typo_apart(a: &str, b: &str) -> bool {
    edit_distance(a, b, true) == 1
}

/// Levenshtein distance, with adjacent transpositions counting one edit when asked
/// (optimal string alignment).
fn edit_distance(a: &str, b: &str, transpositions: bool) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]; three rows are enough.
    let mut before: Vec<usize> = Vec::new();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut current = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1).min(current[j - 1] + 1).min(previous[j - 1] + cost);
            if transpositions && i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d;
        }
        before = std::mem::replace(&mut previous, current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_reads_both_forms() {
        let kv = key_values(r#"A=1 B="two words" C"#, 10);
        let keys: Vec<_> = kv.iter().map(|k| (k.key, k.value)).collect();
        assert_eq!(keys, [("A", Some("1")), ("B", Some("\"two words\"")), ("C", None)]);
        assert_eq!(kv[1].key_span, 14..15);
        let legacy = key_values("PATH /usr/bin:/bin", 0);
        assert!(legacy[0].legacy);
        assert_eq!(legacy[0].value, Some("/usr/bin:/bin"));
        assert_eq!(key_values("VERSION", 0)[0].value, None);
    }

    #[test]
    fn suggests_like_buildkit() {
        let options: Vec<String> = ["PATH", "HOME", "APP_DIR"].iter().map(|s| s.to_string()).collect();
        assert_eq!(closest("PAHT", &options), Some("PATH"));
        assert_eq!(closest("APP_DRI", &options), Some("APP_DIR"));
        assert_eq!(closest("path", &options), None, "case-sensitive: four substitutions");
        assert_eq!(closest("VERSION", &options), None);
        assert_eq!(closest("X", &[]), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "ab"), 2);
        assert_eq!(levenshtein("PAHT", "PATH"), 2);
        assert!(one_typo_apart("PAHT", "PATH"));
        assert!(one_typo_apart("DIR_ASSET", "DIR_ASSETS"));
        assert!(!one_typo_apart("GOPATH", "PATH"));
        assert!(!one_typo_apart("PATH", "PATH"));
    }
}
