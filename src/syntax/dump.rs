//! BuildKit's parse-tree dump (`Node.Dump()`), the format of its parser test results:
//! `(run ["--mount=..."] "apt-get update")`, one instruction a line.

use super::{Dockerfile, Instruction};

/// The whole file, one `(...)` line an instruction.
pub fn dump(df: &Dockerfile<'_>) -> String {
    let mut out = String::new();
    for inst in &df.instructions {
        out.push('(');
        out.push_str(&dump_instruction(inst));
        out.push_str(")\n");
    }
    out
}

fn dump_instruction(inst: &Instruction) -> String {
    let mut s = inst.keyword.to_ascii_lowercase();
    if !inst.flags.is_empty() {
        s.push_str(" [");
        let quoted: Vec<String> = inst.flags.iter().map(|f| go_quote(&f.text)).collect();
        s.push_str(&quoted.join(" "));
        s.push(']');
    }
    if let Some(inner) = &inst.onbuild {
        s.push_str(" (");
        s.push_str(&dump_instruction(inner));
        s.push(')');
    }
    for a in &inst.args {
        s.push(' ');
        s.push_str(&go_quote(a));
    }
    s
}

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() || c == '\u{feff}' => {
                if (c as u32) <= 0xffff {
                    out.push_str(&format!("\\u{:04x}", c as u32))
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32))
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("a\"b\\c\td"), r#""a\"b\\c\td""#);
        assert_eq!(go_quote("\x01é"), "\"\\x01é\"");
    }
}
