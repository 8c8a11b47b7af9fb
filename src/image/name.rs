//! Image names as Docker reads them (`distribution/reference`): `[DOMAIN/]PATH[:TAG][@DIGEST]`,
//! with Docker Hub's normalisation (`ubuntu` is `docker.io/library/ubuntu:latest`). The one
//! reader of an image name: lint rules, the registry client and the builder use it.

use std::fmt;

/// Docker Hub, as names spell it.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API answers.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// The parts of an image name as written, before any check or normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameParts<'a> {
    /// The registry host (with port), when the name has one: the first component holds a `.`
    /// or a `:`, is `localhost`, or has upper-case letters.
    pub domain: Option<&'a str>,
    /// The repository path, without the domain.
    pub path: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

impl<'a> NameParts<'a> {
    /// Splits `name` where Docker splits it; never fails (for names that hold variables or
    /// are otherwise not yet checkable, as a Dockerfile's `FROM` may).
    pub fn split(name: &'a str) -> NameParts<'a> {
        let (rest, digest) = match name.split_once('@') {
            Some((r, d)) => (r, Some(d)),
            None => (name, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (rest, tag) = match rest[last_slash..].rfind(':') {
            Some(c) => (&rest[..last_slash + c], Some(&rest[last_slash + c + 1..])),
            None => (rest, None),
        };
        let (domain, path) = match rest.split_once('/') {
            Some((first, path)) if is_domain(first) => (Some(first), path),
            _ => (None, rest),
        };
        NameParts { domain, path, tag, digest }
    }
}

/// Docker's `splitDockerDomain`: what makes a first component a registry host.
fn is_domain(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost" || first.chars().any(|c| c.is_ascii_uppercase())
}

/// Why a text is not an image name; it quotes what the user wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{written}` is not an image name: {reason}")]
pub struct NameError {
    pub written: String,
    pub reason: String,
}

/// A checked image name, normalised as Docker does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageName {
    /// The registry host: `docker.io` for Docker Hub (whatever alias was written).
    pub registry: String,
    /// The repository path in that registry: `library/ubuntu` for `ubuntu` on Docker Hub.
    pub repository: String,
    pub tag: Option<String>,
    /// `algorithm:hex`.
    pub digest: Option<String>,
}

impl ImageName {
    pub fn parse(written: &str) -> Result<ImageName, NameError> {
        let bad = |reason: String| NameError { written: written.to_string(), reason };
        if written.is_empty() {
            return Err(bad("the name is empty".into()));
        }
        let parts = NameParts::split(written);
        if let Some(domain) = parts.domain {
            if !is_valid_domain(domain) {
                return Err(bad(format!("`{domain}` is not a registry host")));
            }
        }
        if parts.path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(bad("the repository name must be lowercase".into()));
        }
        if !is_valid_path(parts.path) {
            return Err(bad(format!("`{}` is not a repository path", parts.path)));
        }
        if let Some(tag) = parts.tag {
            if !is_valid_tag(tag) {
                return Err(bad(format!("`{tag}` is not a tag")));
            }
        }
        if let Some(digest) = parts.digest {
            if !is_valid_digest(digest) {
                return Err(bad(format!("`{digest}` is not a digest")));
            }
        }
        let registry = match parts.domain {
            None | Some("index.docker.io") => DOCKER_HUB,
            Some(d) => d,
        };
        let repository = match registry == DOCKER_HUB && !parts.path.contains('/') {
            true => format!("library/{}", parts.path),
            false => parts.path.to_string(),
        };
        Ok(ImageName {
            registry: registry.to_string(),
            repository,
            tag: parts.tag.map(str::to_string),
            digest: parts.digest.map(str::to_string),
        })
    }

    /// What to ask the registry for: the digest, else the tag, else `latest`.
    pub fn reference(&self) -> &str {
        self.digest.as_deref().or(self.tag.as_deref()).unwrap_or("latest")
    }

    /// The host (with port) that serves the registry API.
    pub fn api_host(&self) -> &str {
        match self.registry.as_str() {
            DOCKER_HUB => DOCKER_HUB_API,
            other => other,
        }
    }
}

/// The full normalised name: `docker.io/library/ubuntu:latest`, `ghcr.io/o/r@sha256:…`.
impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        match (&self.tag, &self.digest) {
            (Some(tag), Some(digest)) => write!(f, ":{tag}@{digest}"),
            (None, Some(digest)) => write!(f, "@{digest}"),
            (tag, None) => write!(f, ":{}", tag.as_deref().unwrap_or("latest")),
        }
    }
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*` for each `/`-separated component.
fn is_valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('/').all(|component| {
            let bytes = component.as_bytes();
            let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else { return false };
            if !alnum(first) || !alnum(last) {
                return false;
            }
            // Separators between alphanumeric runs: `.`, `_`, `__`, or any run of `-`.
            let mut i = 0;
            while i < bytes.len() {
                if alnum(bytes[i]) {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < bytes.len() && !alnum(bytes[i]) {
                    i += 1;
                }
                let sep = &component[start..i];
                let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-');
                if !ok {
                    return false;
                }
            }
            true
        })
}

/// A host name (labels of letters, digits and `-`), an IPv6 literal in brackets, or either
/// with `:PORT`.
fn is_valid_domain(domain: &str) -> bool {
    let (host, port) = match domain.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && (!h.starts_with('[') || h.ends_with(']')) => (h, Some(p)),
        _ => (domain, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// `[\w][\w.-]{0,127}`.
fn is_valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    tag.len() <= 128 && tag.bytes().next().is_some_and(word) && tag.bytes().all(|b| word(b) || b == b'.' || b == b'-')
}

/// `ALGORITHM:HEX` with at least 32 hex digits.
fn is_valid_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else { return false };
    !algorithm.is_empty()
        && algorithm.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
        && hex.len() >= 32
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> ImageName {
        ImageName::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn docker_hub_names_are_normalised() {
        assert_eq!(name("ubuntu").to_string(), "docker.io/library/ubuntu:latest");
        assert_eq!(name("ubuntu:24.04").to_string(), "docker.io/library/ubuntu:24.04");
        assert_eq!(name("library/ubuntu").to_string(), "docker.io/library/ubuntu:latest");
        assert_eq!(name("bitnami/redis:7").to_string(), "docker.io/bitnami/redis:7");
        assert_eq!(name("index.docker.io/ubuntu").to_string(), "docker.io/library/ubuntu:latest");
        assert_eq!(name("docker.io/ubuntu").api_host(), "registry-1.docker.io");
        assert_eq!(name("debian").reference(), "latest");
    }

    #[test]
    fn other_registries_tags_and_digests() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let n = name(&format!("127.0.0.1:5000/test/img:v1@{digest}"));
        assert_eq!((n.registry.as_str(), n.repository.as_str()), ("127.0.0.1:5000", "test/img"));
        assert_eq!((n.tag.as_deref(), n.reference()), (Some("v1"), digest.as_str()));
        assert_eq!(n.api_host(), "127.0.0.1:5000");
        let n = name("localhost/app");
        assert_eq!((n.registry.as_str(), n.repository.as_str()), ("localhost", "app"));
        assert_eq!(name(&format!("ghcr.io/o/r@{digest}")).to_string(), format!("ghcr.io/o/r@{digest}"));
        assert_eq!(name("[::1]:5000/a/b-c__d.e:1.0-x").registry, "[::1]:5000");
    }

    #[test]
    fn errors_quote_what_was_written() {
        let e = ImageName::parse("foo:bar:baz").unwrap_err();
        assert_eq!(e.to_string(), "`foo:bar:baz` is not an image name: `foo:bar` is not a repository path");
        for (text, reason) in [
            ("Ubuntu", "the repository name must be lowercase"),
            ("localhost:5000/../etc", "`../etc` is not a repository path"),
            ("x@sha256:nothex", "`sha256:nothex` is not a digest"),
            ("a:-x", "`-x` is not a tag"),
            ("a//b", "`a//b` is not a repository path"),
            ("", "the name is empty"),
        ] {
            assert_eq!(ImageName::parse(text).map_err(|e| e.reason), Err(reason.to_string()), "{text}");
        }
        for bad in ["alpine:", "/x", "a@", "x:-1", "a:b@sha256:abc", "bad host/x"] {
            assert!(ImageName::parse(bad).is_err(), "{bad}");
        }
        // An upper-case first component is a registry host (Docker's rule), checked as one.
        assert_eq!(name("MyHost/app").registry, "MyHost");
    }

    #[test]
    fn split_never_fails() {
        let p = NameParts::split("localhost:5000/team/app:1.2@sha256:ab");
        assert_eq!(
            (p.domain, p.path, p.tag, p.digest),
            (Some("localhost:5000"), "team/app", Some("1.2"), Some("sha256:ab"))
        );
        assert_eq!(NameParts::split("debian").tag, None);
        assert_eq!(NameParts::split("library/debian:12").domain, None);
        let p = NameParts::split("${REG}/app:${V}");
        assert_eq!((p.domain, p.path, p.tag), (Some("${REG}"), "app", Some("${V}")));
    }
}
