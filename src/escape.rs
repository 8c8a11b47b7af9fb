//! Text from the input (file names in layers, Dockerfile text, instruction keywords) on its way to
//! a terminal or a Markdown job summary, made inert: control characters (ESC, BEL, CR, LF...)
//! would retitle the window, clear the screen or fake a line of output, and a backtick would
//! leave inline code. One home for both, used by every human and Markdown renderer; and the
//! escaping of GitHub Actions workflow commands, for every renderer of annotations.

use std::borrow::Cow;
use std::fmt::Write as _;

fn is_control(c: char, keep_tab: bool) -> bool {
    c.is_control() && !(keep_tab && c == '\t')
}

fn escape(s: &str, keep_tab: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_control(c, keep_tab)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_control(c, keep_tab) {
            // C0 and DEL as `\xNN`; C1 (a CSI on some terminals) by its code point.
            if (c as u32) < 0x100 && !('\u{80}'..='\u{9f}').contains(&c) {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` with every control character written as `\xNN` (a name, a keyword, a message).
pub fn control(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// One line of source text for a snippet: tabs kept (the renderer lays them out), every other
/// control character written as `\xNN`.
pub fn source_line(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

/// `s` as a Markdown inline code span that nothing in `s` can end: control characters escaped,
/// a fence of more backticks than the longest run in `s`, and `|` escaped for a table cell.
pub fn markdown_code(s: &str) -> String {
    let s = control(s).replace('|', "\\|");
    let (mut longest, mut run) = (0, 0);
    for c in s.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // A space on each side keeps a leading or trailing backtick from joining the fence.
    let pad = if longest > 0 { " " } else { "" };
    format!("{fence}{pad}{s}{pad}{fence}")
}

/// A GitHub Actions workflow command's message (`::warning …::MESSAGE`): `%`, CR and LF
/// percent-encoded, as the runner decodes them.
pub fn workflow_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A workflow command's property value (`file=`, `title=`): [`workflow_data`], and `:` and `,`
/// too.
pub fn workflow_property(s: &str) -> String {
    workflow_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(control("a\x1b]0;x\x07b\r\nc\u{9b}"), "a\\x1b]0;x\\x07b\\x0d\\x0ac\\u{9b}");
        assert!(matches!(control("plain/path"), Cow::Borrowed(_)));
        assert_eq!(source_line("\tRUN\r"), "\tRUN\\x0d");
    }

    #[test]
    fn workflow_commands() {
        assert_eq!(workflow_data("100%\r\nok: a,b"), "100%25%0D%0Aok: a,b");
        assert_eq!(workflow_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn a_name_cannot_leave_inline_code() {
        assert_eq!(markdown_code("etc/passwd"), "`etc/passwd`");
        assert_eq!(markdown_code("a`b"), "`` a`b ``");
        assert_eq!(markdown_code("x``` y|z\n"), "```` x``` y\\|z\\x0a ````");
    }
}
