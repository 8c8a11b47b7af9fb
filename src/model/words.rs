//! Small readers for instruction arguments: `key=value` lists (ARG, ENV, LABEL).

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
}
