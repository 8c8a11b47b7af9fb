//! Pulling an image over the OCI distribution API into the blob cache.
//!
//! Everything fetched is content-addressed and verified before it is kept: manifests, indexes,
//! configs and layers land in `$XDG_CACHE_HOME/imgopt/blobs/sha256/<hex>` (an OCI-layout blob
//! directory), so the image is then read like a local layout and a second analysis downloads
//! nothing. Loopback registries (`localhost`, `127.0.0.1`, `[::1]`) are spoken to over plain
//! HTTP, all others over HTTPS. A 401 answer starts the authentication its `WWW-Authenticate`
//! challenge asks for, with the login [`credentials::lookup`] finds (anonymous without one):
//! `Basic` sends the user and password; `Bearer realm=…,service=…,scope=…` fetches a token from the
//! realm (with the user and password, or trading an identity token as an OAuth2 refresh token).
//! Redirects (blob storage on another host) are followed without the `Authorization` header.
//!
//! A registry that stops sending is given up on: every read (of headers or of a body) may wait
//! [`DEFAULT_READ_TIMEOUT`], or `IMGOPT_REGISTRY_TIMEOUT` seconds, and the response headers as a
//! whole as long. A large blob that keeps arriving, however slowly, is never cut off.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rayon::prelude::*;
use sha2::{Digest as _, Sha256};

use super::credentials::{self, Credential, Secret};
use super::error::{ImageError, Result};
use super::name::ImageName;
use super::spec::{self, Digest, Index, Manifest, Platform};
use super::{choose_manifest, parse_json};

/// How long a registry may send nothing before the pull fails.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Seconds (a decimal number) to use instead of [`DEFAULT_READ_TIMEOUT`].
pub const READ_TIMEOUT_VAR: &str = "IMGOPT_REGISTRY_TIMEOUT";
const MAX_MANIFEST_BYTES: u64 = 4 << 20;
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

impl ImageName {
    fn base_url(&self) -> String {
        let host = self.api_host();
        let loopback = matches!(host.split(':').next(), Some("localhost" | "127.0.0.1")) || host.starts_with("[::1]");
        format!("{}://{host}", if loopback { "http" } else { "https" })
    }
}

/// `$XDG_CACHE_HOME/imgopt`, else `$HOME/.cache/imgopt`.
pub fn cache_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("imgopt"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/imgopt")).ok_or_else(|| {
        ImageError::Registry("neither XDG_CACHE_HOME nor HOME is set: no place for the blob cache".into())
    })
}

/// [`DEFAULT_READ_TIMEOUT`], or what `IMGOPT_REGISTRY_TIMEOUT` says.
pub fn read_timeout() -> Result<Duration> {
    let Some(value) = std::env::var_os(READ_TIMEOUT_VAR) else { return Ok(DEFAULT_READ_TIMEOUT) };
    let text = value.to_string_lossy();
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| ImageError::Registry(format!("{READ_TIMEOUT_VAR}=`{text}` is not a number of seconds above 0")))
}

struct Client {
    agent: ureq::Agent,
    image: ImageName,
    /// The `Authorization` value the last handshake gave (`Bearer …` or `Basic …`).
    authorization: Mutex<Option<String>>,
    /// The login for this registry, looked up at the first challenge (None inside: anonymous).
    credential: Mutex<Option<Option<Credential>>>,
    read_timeout: Duration,
}

impl Client {
    fn new(image: &ImageName, read_timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::Never)
            .timeout_connect(Some(Duration::from_secs(30)))
            // A stall, not a slow download: each read restarts the clock.
            .timeout_per_read(Some(read_timeout))
            .timeout_per_write(Some(read_timeout))
            .timeout_recv_response(Some(read_timeout))
            .build()
            .into();
        Client {
            agent,
            image: image.clone(),
            authorization: Mutex::new(None),
            credential: Mutex::new(None),
            read_timeout,
        }
    }

    fn error(&self, message: impl std::fmt::Display) -> ImageError {
        ImageError::Registry(format!("{}: {message}", self.image))
    }

    /// A transfer error; a timeout says how long was waited and how to wait longer.
    fn transfer_error(&self, what: &str, error: &(dyn std::error::Error + 'static)) -> ImageError {
        let timeout = match error.downcast_ref::<io::Error>() {
            Some(io) => io.get_ref().and_then(|inner| inner.downcast_ref::<ureq::Error>()),
            None => error.downcast_ref::<ureq::Error>(),
        };
        match timeout {
            Some(ureq::Error::Timeout(kind)) => self.error(format!(
                "{what}: the registry sent nothing for {:?} ({kind} timeout; {READ_TIMEOUT_VAR}=SECONDS waits longer)",
                self.read_timeout
            )),
            _ => self.error(format!("{what}: {error}")),
        }
    }

    /// GET a path under `/v2/<repository>/`, authenticating once if the registry asks for it.
    fn get(&self, path: &str, accept: Option<&str>) -> Result<ureq::http::Response<ureq::Body>> {
        let url = format!("{}/v2/{}/{path}", self.image.base_url(), self.image.repository);
        for attempt in 0..2 {
            let mut request = self.agent.get(&url);
            if let Some(accept) = accept {
                request = request.header("Accept", accept);
            }
            let authorization = self.authorization.lock().map(|t| t.clone()).unwrap_or(None);
            if let Some(authorization) = authorization {
                request = request.header("Authorization", authorization);
            }
            let response = request.call().map_err(|e| self.transfer_error(&format!("GET {url}"), &e))?;
            let status = response.status().as_u16();
            if status == 401 && attempt == 0 {
                let challenge = response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| self.error(format!("GET {url}: 401 without a WWW-Authenticate challenge")))?
                    .to_string();
                let authorization = self.answer_challenge(&challenge)?;
                if let Ok(mut slot) = self.authorization.lock() {
                    *slot = Some(authorization);
                }
                continue;
            }
            if status == 401 {
                return Err(self.refused());
            }
            if status != 200 {
                return Err(self.error(format!("GET {url}: HTTP {status}")));
            }
            return Ok(response);
        }
        Err(self.refused())
    }

    /// The login for this registry, looked up once.
    fn credential(&self) -> Result<Option<Credential>> {
        let mut slot = self.credential.lock().map_err(|_| self.error("credential lookup failed"))?;
        if slot.is_none() {
            *slot = Some(credentials::lookup(&self.image)?);
        }
        Ok(slot.clone().flatten())
    }

    /// Still 401 after the handshake: wrong credentials, or none where the registry wants some.
    fn refused(&self) -> ImageError {
        let host = self.image.api_host();
        match self.credential() {
            Ok(Some(c)) => ImageError::Registry(format!(
                "{host} refused the login of `{}` (from {}) for {}: wrong user name or password, or no access to the repository",
                crate::escape::control(c.user()),
                c.source,
                self.image
            )),
            Ok(None) => ImageError::Registry(format!(
                "{host} wants a login for {} and none was found (looked in {}): run `docker login {host}`",
                self.image,
                credentials::places()
            )),
            Err(e) => e,
        }
    }

    /// The `Authorization` value that answers a `WWW-Authenticate` challenge.
    fn answer_challenge(&self, challenge: &str) -> Result<String> {
        let (scheme, params) = challenge.trim().split_once(' ').unwrap_or((challenge.trim(), ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let credential = self.credential()?;
            return match credential.as_ref().and_then(Credential::basic_header) {
                Some(header) => Ok(header),
                None if credential.is_some() => Err(self.error(format!(
                    "{} asks for a user name and password, and the login found is an identity token",
                    self.image.api_host()
                ))),
                None => Err(self.refused()),
            };
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(self.error(format!("unsupported authentication `{}` (Basic and Bearer are)", scheme)));
        }
        Ok(format!("Bearer {}", self.fetch_token(params)?))
    }

    /// A bearer token from the challenge's realm: anonymous, with the user and password, or for
    /// an identity token (an OAuth2 refresh-token grant, as Docker does).
    fn fetch_token(&self, params: &str) -> Result<String> {
        let mut realm = None;
        let mut query = Vec::new();
        for (key, value) in parse_challenge(params) {
            match key.as_str() {
                "realm" => realm = Some(value),
                "service" | "scope" => query.push(format!("{key}={}", percent_encode(&value))),
                _ => {}
            }
        }
        if !query.iter().any(|q| q.starts_with("scope=")) {
            query.push(format!("scope={}", percent_encode(&format!("repository:{}:pull", self.image.repository))));
        }
        let realm = realm.ok_or_else(|| self.error("token challenge without a realm"))?;
        let credential = self.credential()?;
        let sent = match credential.as_ref().map(|c| &c.secret) {
            Some(Secret::IdentityToken(token)) => {
                let mut form = query.clone();
                form.extend([
                    "grant_type=refresh_token".to_string(),
                    "client_id=imgopt".to_string(),
                    format!("refresh_token={}", percent_encode(token)),
                ]);
                self.agent.post(&realm).header("Content-Type", "application/x-www-form-urlencoded").send(form.join("&"))
            }
            _ => {
                let mut request = self.agent.get(&format!("{realm}?{}", query.join("&")));
                if let Some(header) = credential.as_ref().and_then(Credential::basic_header) {
                    request = request.header("Authorization", header);
                }
                request.call()
            }
        };
        let url = format!("{realm}?{}", query.join("&"));
        let mut response = sent.map_err(|e| self.transfer_error(&format!("token from {realm}"), &e))?;
        let status = response.status().as_u16();
        if (status == 401 || status == 403) && credential.is_some() {
            return Err(self.refused());
        }
        if status != 200 {
            return Err(self.error(format!("token from {realm}: HTTP {status}")));
        }
        let body = self.small_body(&mut response, &format!("token from {url}"))?;
        let reply: serde_json::Value = parse_json("token response", &body)?;
        reply
            .get("token")
            .or_else(|| reply.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or_else(|| self.error(format!("token from {realm}: no token in the answer")))
    }

    /// A JSON answer, refused past a few MiB.
    fn small_body(&self, response: &mut ureq::http::Response<ureq::Body>, what: &str) -> Result<Vec<u8>> {
        response
            .body_mut()
            .with_config()
            .limit(MAX_MANIFEST_BYTES)
            .read_to_vec()
            .map_err(|e| self.transfer_error(what, &e))
    }

    /// A manifest or index by tag or digest; returns its bytes and digest (checked when asked by digest).
    fn manifest(&self, reference: &str) -> Result<(Vec<u8>, Digest)> {
        let mut response = self.get(&format!("manifests/{reference}"), Some(MANIFEST_ACCEPT))?;
        let from = ureq::ResponseExt::get_uri(&response).to_string();
        let bytes = self.small_body(&mut response, &format!("manifest {reference} from {from}"))?;
        let digest = Digest::sha256_from_bytes(Sha256::digest(&bytes).into());
        if let Ok(expected) = Digest::parse(reference) {
            if expected != digest {
                return Err(ImageError::DigestMismatch {
                    what: format!("manifest {reference} from {}", self.image),
                    expected: expected.to_string(),
                    actual: digest.to_string(),
                });
            }
        }
        Ok((bytes, digest))
    }

    /// Download a blob into the cache unless it is there; verified before it is kept.
    /// Fetch a blob into the cache; `size` is the manifest's word for its length.
    fn blob(&self, digest: &Digest, size: u64, cache: &Path) -> Result<()> {
        let path = cache.join(digest.blob_path());
        if path.is_file() {
            return Ok(());
        }
        if digest.algorithm() != "sha256" {
            return Err(self.error(format!("blob {digest}: only sha256 digests are supported")));
        }
        let response = self.get(&format!("blobs/{digest}"), None)?;
        let partial = path.with_extension(format!("partial-{}", std::process::id()));
        let kept = self
            .download(response, digest, size, &partial)
            .and_then(|()| std::fs::rename(&partial, &path).map_err(|e| ImageError::io(&path, e)));
        if kept.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        kept
    }

    /// Stream a blob to `partial`, hashing it on the way; an error if it does not match `digest`.
    /// At most `size` bytes are taken: a registry sending more (endlessly, say) would otherwise
    /// fill the disk before the digest check could refuse the blob.
    fn download(
        &self,
        response: ureq::http::Response<ureq::Body>,
        digest: &Digest,
        size: u64,
        partial: &Path,
    ) -> Result<()> {
        let io_error = |e: io::Error| ImageError::io(partial, e);
        let mut out = File::create(partial).map_err(io_error)?;
        let from = ureq::ResponseExt::get_uri(&response).to_string();
        let mut reader = response.into_body().into_with_config().limit(size.saturating_add(1)).reader();
        let mut received = 0u64;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n =
                reader.read(&mut buf).map_err(|e| self.transfer_error(&format!("blob {digest} from {from}"), &e))?;
            if n == 0 {
                break;
            }
            received += n as u64;
            if received > size {
                return Err(self.error(format!(
                    "blob {digest}: the registry sent more than the {size} bytes its manifest declares"
                )));
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(io_error)?;
        }
        let actual = Digest::sha256_from_bytes(hasher.finalize().into());
        if &actual != digest {
            return Err(ImageError::DigestMismatch {
                what: format!("blob from {}", self.image),
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(())
    }
}

fn store_blob(cache: &Path, digest: &Digest, bytes: &[u8]) -> Result<()> {
    let path = cache.join(digest.blob_path());
    std::fs::write(&path, bytes).map_err(|e| ImageError::io(&path, e))
}

/// Pull the image for `wanted` into `cache`; returns the digest of its manifest, now a blob there.
/// Reads wait at most [`read_timeout`].
pub fn pull(image: &ImageName, wanted: &Platform, cache: &Path) -> Result<Digest> {
    pull_with_timeout(image, wanted, cache, read_timeout()?)
}

/// [`pull`], with each read from the registry waiting at most `read_timeout`.
pub fn pull_with_timeout(image: &ImageName, wanted: &Platform, cache: &Path, read_timeout: Duration) -> Result<Digest> {
    let blobs = cache.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(|e| ImageError::io(&blobs, e))?;
    let client = Client::new(image, read_timeout);
    let mut reference = image.reference().to_string();
    for _ in 0..8 {
        let (bytes, digest) = client.manifest(&reference)?;
        store_blob(cache, &digest, &bytes)?;
        let kind: serde_json::Value = parse_json(&format!("manifest {digest}"), &bytes)?;
        let media_type = kind.get("mediaType").and_then(|m| m.as_str()).unwrap_or("");
        let is_index = media_type == spec::MEDIA_OCI_INDEX
            || media_type == spec::MEDIA_DOCKER_MANIFEST_LIST
            || (media_type.is_empty() && kind.get("manifests").is_some());
        if is_index {
            let index: Index = parse_json(&format!("index {digest}"), &bytes)?;
            let candidates: Vec<&spec::Descriptor> = index.manifests.iter().collect();
            reference = choose_manifest(&candidates, wanted)?.digest.to_string();
            continue;
        }
        let manifest: Manifest = parse_json(&format!("manifest {digest}"), &bytes)?;
        let mut wanted_blobs: Vec<(&Digest, u64)> = vec![(&manifest.config.digest, manifest.config.size)];
        wanted_blobs.extend(manifest.layers.iter().map(|l| (&l.digest, l.size)));
        // The same layer twice in one image would race with itself in the cache.
        wanted_blobs.sort();
        wanted_blobs.dedup();
        wanted_blobs.par_iter().try_for_each(|&(d, size)| client.blob(d, size, cache))?;
        return Ok(digest);
    }
    Err(client.error("image indexes nest more than 8 deep"))
}

/// `key="value",key2="value2"` of a `WWW-Authenticate` challenge.
fn parse_challenge(params: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = params.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.split_once('"') {
                Some((v, r)) => (v.to_string(), r),
                None => (quoted.to_string(), ""),
            }
        } else {
            match after.split_once(',') {
                Some((v, r)) => (v.trim().to_string(), r),
                None => (after.trim().to_string(), ""),
            }
        };
        out.push((key, value));
        rest = remaining.trim_start_matches(',').trim();
    }
    out
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_urls() {
        let url = |name: &str| ImageName::parse(name).map(|n| n.base_url()).unwrap_or_default();
        assert_eq!(url("debian"), "https://registry-1.docker.io");
        assert_eq!(url("127.0.0.1:5000/test/img:v1"), "http://127.0.0.1:5000");
        assert_eq!(url("localhost:5000/a"), "http://localhost:5000");
        assert_eq!(url("ghcr.io/o/r"), "https://ghcr.io");
    }

    #[test]
    fn challenges() {
        let parsed = parse_challenge(
            r#"realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull""#,
        );
        assert_eq!(parsed[0], ("realm".into(), "https://auth.docker.io/token".into()));
        assert_eq!(parsed[2], ("scope".into(), "repository:library/debian:pull".into()));
    }
}
