//! A label schema (`[label-schema]` in `.imgopt.toml`, `label-schema` in `.hadolint.yaml`): the
//! kind of value each label must hold, and the checks for each kind. The kinds are hadolint's, so
//! a `.hadolint.yaml` carries over unchanged.

use serde::Deserialize;

/// What a label's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelKind {
    /// Any non-empty text.
    Text,
    /// An absolute URL (`scheme:rest`, RFC 3986).
    Url,
    /// An RFC 3339 date-time (`2024-05-01T12:00:00Z`).
    Rfc3339,
    /// An SPDX license expression (`MIT OR Apache-2.0`).
    Spdx,
    /// A git commit: 7 or 40 lower-case hex digits.
    Hash,
    /// A semantic version (semver.org 2.0.0).
    Semver,
    /// An e-mail address (`name@example.com`).
    Email,
}

impl LabelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LabelKind::Text => "text",
            LabelKind::Url => "url",
            LabelKind::Rfc3339 => "rfc3339",
            LabelKind::Spdx => "spdx",
            LabelKind::Hash => "hash",
            LabelKind::Semver => "semver",
            LabelKind::Email => "email",
        }
    }

    /// What is wrong with `value` for this kind, if anything.
    pub fn problem(self, value: &str) -> Option<&'static str> {
        if value.is_empty() {
            return Some("is empty");
        }
        let (ok, problem) = match self {
            LabelKind::Text => (true, ""),
            LabelKind::Url => (is_url(value), "is not an absolute URL"),
            LabelKind::Rfc3339 => (is_rfc3339(value), "is not an RFC 3339 date-time"),
            LabelKind::Spdx => (spdx::Expression::parse(value).is_ok(), "is not an SPDX license expression"),
            LabelKind::Hash => (
                matches!(value.len(), 7 | 40)
                    && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "is not a git commit hash (7 or 40 lower-case hex digits)",
            ),
            LabelKind::Semver => (is_semver(value), "is not a semantic version"),
            LabelKind::Email => (is_email(value), "is not an e-mail address"),
        };
        (!ok).then_some(problem)
    }
}

/// RFC 3986 absolute URI: `scheme ":" hier-part [ "?" query ] [ "#" fragment ]`, checked for
/// the scheme and for characters a URI may hold (percent-escapes well formed).
fn is_url(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once(':') else { return false };
    let scheme_ok = scheme.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |k: usize| bytes.get(k).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
            continue;
        }
        let allowed = b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&b);
        if !allowed {
            return false;
        }
        i += 1;
    }
    scheme_ok && rest.matches('#').count() <= 1
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; `t`/`z`/a space accepted as RFC 3339 allows.
fn is_rfc3339(value: &str) -> bool {
    let b = value.as_bytes();
    let digits = |from: usize, n: usize| -> Option<u32> {
        let s = b.get(from..from + n)?;
        s.iter().all(u8::is_ascii_digit).then(|| s.iter().fold(0, |a, d| a * 10 + u32::from(d - b'0')))
    };
    let (Some(year), Some(month), Some(day)) = (digits(0, 4), digits(5, 2), digits(8, 2)) else { return false };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return false;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    let (Some(hour), Some(minute), Some(second)) = (digits(11, 2), digits(14, 2), digits(17, 2)) else { return false };
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return false;
    }
    if day == 0 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let frac = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if frac == 0 {
            return false;
        }
        i += 1 + frac;
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            let (Some(h), Some(m)) = (digits(i + 1, 2), digits(i + 4, 2)) else { return false };
            b.get(i + 3) == Some(&b':') && h <= 23 && m <= 59 && i + 6 == b.len()
        }
        _ => false,
    }
}

/// semver.org 2.0.0: `MAJOR.MINOR.PATCH[-pre][+build]`, no leading zeros in numbers.
fn is_semver(value: &str) -> bool {
    let (rest, build) = match value.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (value, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    let ident = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| numeric(p))
        && pre.is_none_or(|p| {
            p.split('.').all(|id| ident(id) && (!id.bytes().all(|b| b.is_ascii_digit()) || numeric(id)))
        })
        && build.is_none_or(|b| b.split('.').all(ident))
}

/// `local@domain`: a dot-atom local part (or a quoted one) and a host name of dot-separated
/// labels; what `Text.Email.Validate` (hadolint's check) accepts in practice.
fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.rsplit_once('@') else { return false };
    let atom =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b));
    let local_ok = (local.len() >= 2 && local.starts_with('"') && local.ends_with('"')) || local.split('.').all(atom);
    let label = |s: &str| {
        !s.is_empty()
            && s.len() <= 63
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    };
    let domain_ok = (domain.starts_with('[') && domain.ends_with(']')) || domain.split('.').all(label);
    local_ok && domain_ok && local.len() <= 64 && domain.len() <= 255
}

#[cfg(test)]
mod tests {
    use super::LabelKind::{self, *};

    fn ok(kind: LabelKind, value: &str) -> bool {
        kind.problem(value).is_none()
    }

    #[test]
    fn each_kind_accepts_and_refuses() {
        let cases: &[(LabelKind, &[&str], &[&str])] = &[
            (Text, &["anything at all"], &[""]),
            (
                Url,
                &[
                    "https://github.com/example/app",
                    "mailto:a@b.c",
                    "https://x.example/a%20b?q=1#top",
                    "urn:isbn:0451450523",
                ],
                &[
                    "github.com/example/app",
                    "https://exa mple.com",
                    "://x",
                    "1http://x",
                    "https://x/%zz",
                    "https://x/%2",
                ],
            ),
            (
                Rfc3339,
                &[
                    "2024-05-01T12:00:00Z",
                    "2024-02-29T23:59:60.123+02:00",
                    "1985-04-12t23:20:50.52z",
                    "2024-05-01 12:00:00-07:00",
                ],
                &[
                    "2024-05-01",
                    "2023-02-29T00:00:00Z",
                    "2024-13-01T00:00:00Z",
                    "2024-05-01T24:00:00Z",
                    "2024-05-01T12:00:00",
                    "2024-05-01T12:00:00.Z",
                    "2024-05-01T12:00:00+0200",
                ],
            ),
            (
                Spdx,
                &["MIT", "Apache-2.0", "MIT OR Apache-2.0", "GPL-2.0-only WITH Classpath-exception-2.0"],
                &["MIT license", "Apache 2", "mit or apache-2.0", "NotALicense-1.0"],
            ),
            (
                Hash,
                &["0123abc", "0123456789abcdef0123456789abcdef01234567"],
                &["0123ABC", "0123ab", "0123456789abcdef", "g123abc"],
            ),
            (
                Semver,
                &[
                    "1.2.3",
                    "0.0.0",
                    "1.0.0-alpha.1",
                    "1.0.0-0.3.7",
                    "1.0.0+20130313144700",
                    "1.0.0-beta+exp.sha.5114f85",
                ],
                &["1.2", "v1.2.3", "01.2.3", "1.2.3-01", "1.2.3-", "1.2.3+", "1.2.3.4", "1.2.3-alpha..1"],
            ),
            (
                Email,
                &["dev@example.com", "first.last+tag@sub.example.org", "\"odd name\"@example.com"],
                &["example.com", "a@", "@example.com", "a..b@example.com", "a@-example.com", "a b@example.com"],
            ),
        ];
        for (kind, good, bad) in cases {
            for v in *good {
                assert!(ok(*kind, v), "{} should accept {v:?}", kind.as_str());
            }
            for v in *bad {
                assert!(!ok(*kind, v), "{} should refuse {v:?}", kind.as_str());
            }
            assert_eq!(kind.problem(""), Some("is empty"));
        }
    }
}
