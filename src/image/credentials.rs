//! Registry credentials where Docker and podman users already keep them, so that `docker login`,
//! `podman login` and `docker/login-action` are all a private registry needs.
//!
//! Files, in the order podman's `containers-auth.json(5)` reads them (the first that has an answer
//! for the registry wins): `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
//! `$XDG_CONFIG_HOME/containers/auth.json` (else `~/.config/…`), then Docker's
//! `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`). In each file, as Docker decides:
//! a `credHelpers` entry for the registry host, else `credsStore`, else the `auths` entry
//! (`auth` is base64 `user:password`; `identitytoken` is an OAuth2 refresh token). An `auths` key
//! may name a repository namespace (`quay.io/team`), as podman allows: the longest one that
//! covers the image wins. A helper is run as `docker-credential-NAME get` with the server on
//! standard input and answers `{"Username": …, "Secret": …}` (`<token>` as the user name means the
//! secret is an identity token).
//!
//! A credential never reaches a message: errors name the registry, the user and the file or
//! helper it came from, and [`Credential`]'s `Debug` leaves the secret out.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde::Deserialize;

use super::error::{ImageError, Result};
use super::name::{ImageName, DOCKER_HUB};

/// What Docker Hub's credentials are stored under (and what a helper is asked for).
const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";
/// Auth files are a few kB; anything past this is not one.
const MAX_AUTH_FILE: u64 = 4 << 20;

/// The secret part of a login.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`), traded for a bearer token at the token service.
    IdentityToken(String),
}

/// A login for one registry, and where it was found (for messages).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub secret: Secret,
    /// `~/.docker/config.json`, `docker-credential-pass`, ...
    pub source: String,
}

impl Credential {
    /// Who logs in, as messages may show it.
    pub fn user(&self) -> &str {
        match &self.secret {
            Secret::Basic { username, .. } => username,
            Secret::IdentityToken(_) => "(identity token)",
        }
    }

    /// The `Authorization` value for HTTP basic authentication, if this is a user and password.
    pub fn basic_header(&self) -> Option<String> {
        match &self.secret {
            Secret::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            Secret::IdentityToken(_) => None,
        }
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential {{ user: {:?}, source: {:?}, secret: <hidden> }}", self.user(), self.source)
    }
}

#[derive(Deserialize, Default)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// The auth files to read, in order, each with the name messages give it.
fn auth_files() -> Vec<(PathBuf, String)> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = var("HOME");
    let mut files = Vec::new();
    if let Some(file) = var("REGISTRY_AUTH_FILE") {
        files.push((file, "REGISTRY_AUTH_FILE".to_string()));
    }
    if let Some(dir) = var("XDG_RUNTIME_DIR") {
        files.push((dir.join("containers/auth.json"), "$XDG_RUNTIME_DIR/containers/auth.json".to_string()));
    }
    match (var("XDG_CONFIG_HOME"), &home) {
        (Some(dir), _) => {
            files.push((dir.join("containers/auth.json"), "$XDG_CONFIG_HOME/containers/auth.json".into()))
        }
        (None, Some(home)) => {
            files.push((home.join(".config/containers/auth.json"), "~/.config/containers/auth.json".into()))
        }
        (None, None) => {}
    }
    match (var("DOCKER_CONFIG"), &home) {
        (Some(dir), _) => files.push((dir.join("config.json"), "$DOCKER_CONFIG/config.json".to_string())),
        (None, Some(home)) => files.push((home.join(".docker/config.json"), "~/.docker/config.json".to_string())),
        (None, None) => {}
    }
    files
}

/// Where a login for this registry may be: the files [`lookup`] reads, for messages.
pub fn places() -> String {
    auth_files().into_iter().map(|(_, name)| name).collect::<Vec<_>>().join(", ")
}

/// Docker's `ConvertToHostname`: `https://host/v1/` → `host`; Docker Hub's aliases are one host.
fn hostname(key: &str) -> &str {
    let key = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

fn same_registry(host: &str, registry: &str) -> bool {
    let hub = |h: &str| matches!(h, DOCKER_HUB | "index.docker.io" | "registry-1.docker.io");
    host == registry || (hub(host) && hub(registry))
}

/// How well an `auths` key covers the image: None when it does not; more path components is a
/// better match (podman's namespaced keys).
fn key_covers(key: &str, image: &ImageName) -> Option<usize> {
    let has_scheme = key.contains("://");
    let host = hostname(key);
    if !same_registry(host, &image.registry) {
        return None;
    }
    let rest = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    let path = rest.split_once('/').map_or("", |(_, p)| p).trim_end_matches('/');
    // Docker writes URLs with a version path (`https://index.docker.io/v1/`): not a namespace.
    if path.is_empty() || has_scheme {
        return Some(0);
    }
    let covers = image.repository == path || image.repository.starts_with(&format!("{path}/"));
    covers.then(|| path.split('/').count())
}

/// The login for `image`'s registry, or None when no file has one (the pull goes anonymous).
pub fn lookup(image: &ImageName) -> Result<Option<Credential>> {
    for (path, name) in auth_files() {
        let text = match crate::fsio::read_regular_string(&path, MAX_AUTH_FILE) {
            Ok(text) => text,
            Err(crate::fsio::FileError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ImageError::Registry(format!("credentials: {name}: {e}"))),
        };
        let file: AuthFile = serde_json::from_str(&text)
            .map_err(|e| ImageError::Registry(format!("credentials: {name} ({}) is not valid: {e}", path.display())))?;
        if let Some(found) = from_file(&file, image, &name)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

fn from_file(file: &AuthFile, image: &ImageName, name: &str) -> Result<Option<Credential>> {
    let server = if image.registry == DOCKER_HUB { DOCKER_HUB_SERVER } else { image.registry.as_str() };
    let helper = file.cred_helpers.iter().find(|(host, _)| same_registry(hostname(host), &image.registry));
    if let Some((_, helper)) = helper {
        return run_helper(helper, server);
    }
    if let Some(store) = file.creds_store.as_deref().filter(|s| !s.is_empty()) {
        return run_helper(store, server);
    }
    let best = file
        .auths
        .iter()
        .filter_map(|(key, entry)| key_covers(key, image).map(|rank| (rank, key, entry)))
        .max_by_key(|(rank, _, _)| *rank);
    let Some((_, key, entry)) = best else { return Ok(None) };
    let bad = |why: &str| ImageError::Registry(format!("credentials: {name}: the entry for `{key}` {why}"));
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credential { secret: Secret::IdentityToken(token.to_string()), source: name.to_string() }));
    }
    let (username, password) = match (&entry.auth, &entry.username, &entry.password) {
        (Some(auth), _, _) if !auth.is_empty() => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad("has an `auth` that is not base64"))?;
            let decoded = String::from_utf8(decoded).map_err(|_| bad("has an `auth` that is not UTF-8"))?;
            let (user, password) =
                decoded.split_once(':').ok_or_else(|| bad("has an `auth` that is not `user:password`"))?;
            (user.to_string(), password.to_string())
        }
        (_, Some(user), Some(password)) => (user.clone(), password.clone()),
        // `docker login` with a credential store leaves an empty entry behind: no login here.
        _ => return Ok(None),
    };
    Ok(Some(Credential { secret: Secret::Basic { username, password }, source: name.to_string() }))
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// `docker-credential-NAME get`, the server on standard input. "credentials not found" is no
/// login; any other failure is an error (its message is the helper's, which holds no secret).
fn run_helper(helper: &str, server: &str) -> Result<Option<Credential>> {
    let program = format!("docker-credential-{helper}");
    let fail = |why: String| ImageError::Registry(format!("credentials: {program} get: {why}"));
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run it ({e}); is the credential helper installed?")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading its input is judged by its exit status below.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        if stdout.contains("credentials not found") || stdout.contains("not found in native keychain") {
            return Ok(None);
        }
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said.lines().chain(stdout.lines()).find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        return Err(fail(format!("{} {}", out.status, crate::escape::control(said))));
    }
    let answer: HelperAnswer =
        serde_json::from_slice(&out.stdout).map_err(|_| fail("its answer is not the JSON a helper gives".into()))?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    let secret = if answer.username == "<token>" {
        Secret::IdentityToken(answer.secret)
    } else {
        Secret::Basic { username: answer.username, password: answer.secret }
    };
    Ok(Some(Credential { secret, source: program }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> ImageName {
        ImageName::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn file(json: &str) -> AuthFile {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn auths_entries_by_host_url_and_namespace() {
        let f = file(
            r#"{"auths": {
                "https://index.docker.io/v1/": {"auth": "aHViOnB3"},
                "ghcr.io": {"auth": "Z2g6cHc="},
                "quay.io/team": {"username": "team", "password": "t"},
                "quay.io": {"username": "any", "password": "a"},
                "empty.example": {}
            }}"#,
        );
        let user = |image: &str| from_file(&f, &name(image), "f").unwrap().map(|c| c.user().to_string());
        assert_eq!(user("debian").as_deref(), Some("hub"));
        assert_eq!(user("ghcr.io/o/r:1").as_deref(), Some("gh"));
        assert_eq!(user("quay.io/team/app").as_deref(), Some("team"));
        assert_eq!(user("quay.io/teamx/app").as_deref(), Some("any"));
        assert_eq!(user("empty.example/a"), None);
        assert_eq!(user("other.example/a"), None);
        let c = from_file(&f, &name("ghcr.io/o/r"), "f").unwrap().unwrap();
        assert_eq!(c.basic_header().as_deref(), Some("Basic Z2g6cHc="));
    }

    #[test]
    fn identity_tokens_and_bad_entries() {
        let f = file(r#"{"auths": {"reg.example": {"auth": "", "identitytoken": "refresh"}}}"#);
        let c = from_file(&f, &name("reg.example/a"), "f").unwrap().unwrap();
        assert!(c.secret == Secret::IdentityToken("refresh".into()), "{c:?}");
        let f = file(r#"{"auths": {"reg.example": {"auth": "!!!"}}}"#);
        let e = from_file(&f, &name("reg.example/a"), "f").unwrap_err().to_string();
        assert!(e.contains("`reg.example`") && e.contains("not base64"), "{e}");
        let f = file(r#"{"auths": {"reg.example": {"auth": "bm9jb2xvbg=="}}}"#);
        assert!(from_file(&f, &name("reg.example/a"), "f").is_err_and(|e| e.to_string().contains("user:password")));
    }

    #[test]
    fn the_secret_is_not_in_debug() {
        let c = Credential {
            secret: Secret::Basic { username: "u".into(), password: "hunter2".into() },
            source: "f".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
