//! The bearer-token handshake and redirects, against a small registry served by this test: every
//! `/v2/` request without the token gets a 401 challenge; blobs answer with a redirect to another
//! host name (as registries do to their storage), which must not receive the token.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::*;

const TOKEN: &str = "secret-token-123";

#[derive(Default)]
struct Seen {
    /// (path, Authorization header) of every request.
    requests: Vec<(String, Option<String>)>,
    /// The bodies of POST requests to the token service.
    token_posts: Vec<String>,
}

/// What the token service wants before it hands out a token.
#[derive(Clone)]
enum TokenLogin {
    Anonymous,
    /// This `Authorization` header on a GET, or a POST refresh-token grant with this token.
    Required {
        basic: String,
        refresh_token: String,
    },
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn serve(
    listener: TcpListener,
    blobs: HashMap<String, Vec<u8>>,
    top: String,
    seen: Arc<Mutex<Seen>>,
    login: TokenLogin,
) {
    let port = listener.local_addr().unwrap().port();
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            continue;
        }
        let method = request_line.split_whitespace().next().unwrap_or("").to_string();
        let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut auth = None;
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("authorization") {
                    auth = Some(v.trim().to_string());
                }
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; length];
        if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
            continue;
        }
        let body = String::from_utf8_lossy(&body).to_string();
        seen.lock().unwrap().requests.push((path.clone(), auth.clone()));
        if method == "POST" && path == "/token" {
            seen.lock().unwrap().token_posts.push(body.clone());
            let granted = match &login {
                TokenLogin::Required { refresh_token, .. } => {
                    body.split('&').any(|kv| kv == format!("refresh_token={refresh_token}"))
                        && body.split('&').any(|kv| kv == "grant_type=refresh_token")
                }
                TokenLogin::Anonymous => false,
            };
            if granted {
                let reply = format!("{{\"access_token\":\"{TOKEN}\"}}");
                respond(&mut stream, "200 OK", &[("Content-Type", "application/json".into())], reply.as_bytes());
            } else {
                respond(&mut stream, "401 Unauthorized", &[], b"");
            }
            continue;
        }
        if let Some(hex) = path.strip_prefix("/storage/") {
            match blobs.get(hex) {
                Some(b) => respond(&mut stream, "200 OK", &[], b),
                None => respond(&mut stream, "404 Not Found", &[], b""),
            }
            continue;
        }
        if path.starts_with("/token?") {
            if let TokenLogin::Required { basic, .. } = &login {
                if auth.as_ref() != Some(basic) {
                    respond(&mut stream, "401 Unauthorized", &[], b"");
                    continue;
                }
            }
            respond(
                &mut stream,
                "200 OK",
                &[("Content-Type", "application/json".into())],
                format!("{{\"token\":\"{TOKEN}\"}}").as_bytes(),
            );
            continue;
        }
        if auth.as_deref() != Some(&format!("Bearer {TOKEN}")) {
            let challenge = format!(
                "Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"fake\",scope=\"repository:test/img:pull\""
            );
            respond(&mut stream, "401 Unauthorized", &[("WWW-Authenticate", challenge)], b"");
            continue;
        }
        if let Some(reference) = path.strip_prefix("/v2/test/img/manifests/") {
            let hex = if reference == "latest" { top.as_str() } else { reference.trim_start_matches("sha256:") };
            match blobs.get(hex) {
                Some(b) => {
                    let media = serde_json::from_slice::<serde_json::Value>(b)
                        .ok()
                        .and_then(|v| v["mediaType"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    respond(&mut stream, "200 OK", &[("Content-Type", media)], b)
                }
                None => respond(&mut stream, "404 Not Found", &[], b""),
            }
        } else if let Some(digest) = path.strip_prefix("/v2/test/img/blobs/") {
            // Storage lives on "another host": the same server under the name localhost.
            let location = format!("http://localhost:{port}/storage/{}", digest.trim_start_matches("sha256:"));
            respond(&mut stream, "307 Temporary Redirect", &[("Location", location)], b"");
        } else {
            respond(&mut stream, "404 Not Found", &[], b"");
        }
    }
}

#[test]
fn token_handshake_and_redirects_without_the_token() {
    let (blobs, top) = scenario_blobs();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let server_seen = seen.clone();
    std::thread::spawn(move || serve(listener, blobs, top, server_seen, TokenLogin::Anonymous));

    let tmp = TempDir::new("registry-auth");
    let out = Command::new(env!("CARGO_BIN_EXE_imgopt"))
        .args([
            "analyze",
            "--image",
            &format!("registry:127.0.0.1:{port}/test/img:latest"),
            "--format",
            "json",
            "--verify",
        ])
        .env("XDG_CACHE_HOME", tmp.path("cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["totals"]["reclaimable_bytes"], 2050);

    let seen = seen.lock().unwrap();
    let token_requests: Vec<&String> =
        seen.requests.iter().map(|(p, _)| p).filter(|p| p.starts_with("/token?")).collect();
    assert!(!token_requests.is_empty());
    assert!(
        token_requests[0].contains("service=fake") && token_requests[0].contains("scope=repository:test/img:pull"),
        "{token_requests:?}"
    );
    let storage: Vec<&(String, Option<String>)> =
        seen.requests.iter().filter(|(p, _)| p.starts_with("/storage/")).collect();
    // Config and three layers came from storage, none with the token.
    assert_eq!(storage.len(), 4, "{:?}", seen.requests);
    assert!(storage.iter().all(|(_, auth)| auth.is_none()), "{storage:?}");
    // Registry requests after the handshake carried it.
    assert!(seen
        .requests
        .iter()
        .any(|(p, a)| p.starts_with("/v2/test/img/blobs/") && a.as_deref() == Some(&format!("Bearer {TOKEN}"))));
}

/// A token service that wants a login: the user and password from `auths` go to it as basic
/// authentication, an `identitytoken` as an OAuth2 refresh-token grant (POST), and a wrong
/// password is refused with the registry named.
#[test]
fn token_service_with_a_login_or_an_identity_token() {
    use base64::Engine as _;
    let (blobs, top) = scenario_blobs();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let server_seen = seen.clone();
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let login = TokenLogin::Required { basic: format!("Basic {}", b64("bob:pa55")), refresh_token: "rt-42".into() };
    std::thread::spawn(move || serve(listener, blobs, top, server_seen, login));
    let tmp = TempDir::new("registry-token-login");
    let run = |tag: &str, entry: &str| {
        let home = tmp.path(tag);
        std::fs::create_dir_all(home.join(".docker")).unwrap();
        std::fs::write(
            home.join(".docker/config.json"),
            format!(r#"{{"auths": {{"http://127.0.0.1:{port}": {entry}}}}}"#),
        )
        .unwrap();
        Command::new(env!("CARGO_BIN_EXE_imgopt"))
            .args(["analyze", "--image", &format!("registry:127.0.0.1:{port}/test/img:latest"), "--format", "json"])
            .env("HOME", &home)
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env_remove("DOCKER_CONFIG")
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("XDG_CONFIG_HOME")
            .output()
            .unwrap()
    };
    let out = run("password", &format!(r#"{{"auth": "{}"}}"#, b64("bob:pa55")));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run("identity", r#"{"auth": "", "identitytoken": "rt-42"}"#);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let posts = seen.lock().unwrap().token_posts.clone();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts[0].contains("service=fake") && posts[0].contains("scope=repository:test/img:pull"), "{posts:?}");
    let out = run("wrong", &format!(r#"{{"auth": "{}"}}"#, b64("bob:guess")));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let flat: String = stderr.chars().filter(|c| !c.is_whitespace() && *c != '│').collect();
    assert!(flat.contains(&format!("127.0.0.1:{port}refusedtheloginof`bob`")), "{stderr}");
    assert!(!stderr.contains("guess"), "{stderr}");
}

/// Reads one request's line and headers: its path, or None when the client hung up.
fn request_path(stream: &TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let path = request_line.split_whitespace().nth(1).unwrap_or("").to_string();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            return Some(path);
        }
    }
}

/// Answers a manifest request (`latest` is `top`) from `manifests`, keyed by hex digest.
fn answer_manifest(stream: &mut TcpStream, manifests: &HashMap<String, Vec<u8>>, top: &str, reference: &str) {
    let hex = if reference == "latest" { top } else { reference.trim_start_matches("sha256:") };
    match manifests.get(hex) {
        Some(b) => {
            let media = serde_json::from_slice::<serde_json::Value>(b)
                .ok()
                .and_then(|v| v["mediaType"].as_str().map(str::to_string))
                .unwrap_or_default();
            respond(stream, "200 OK", &[("Content-Type", media)], b)
        }
        None => respond(stream, "404 Not Found", &[], b""),
    }
}

/// A registry whose blob answers never end: it streams zeros under a 1 GiB Content-Length and
/// records how much it managed to write on each connection.
fn serve_flood(listener: TcpListener, manifests: HashMap<String, Vec<u8>>, top: String, written: Arc<Mutex<Vec<u64>>>) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let Some(path) = request_path(&stream) else { continue };
        if let Some(reference) = path.strip_prefix("/v2/test/img/manifests/") {
            answer_manifest(&mut stream, &manifests, &top, reference);
        } else if path.starts_with("/v2/test/img/blobs/") {
            let written = written.clone();
            std::thread::spawn(move || {
                let total: u64 = 1 << 30;
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n");
                let _ = stream.write_all(head.as_bytes());
                let chunk = vec![0u8; 64 << 10];
                let mut sent = 0u64;
                while sent < total && stream.write_all(&chunk).is_ok() {
                    sent += chunk.len() as u64;
                }
                written.lock().unwrap().push(sent);
            });
        } else {
            respond(&mut stream, "404 Not Found", &[], b"");
        }
    }
}

#[test]
fn a_blob_larger_than_its_descriptor_is_cut_off() {
    let (manifests, top) = scenario_blobs();
    let largest = manifests.values().map(|b| b.len() as u64).max().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let written = Arc::new(Mutex::new(Vec::new()));
    let server_written = written.clone();
    std::thread::spawn(move || serve_flood(listener, manifests, top, server_written));

    let tmp = TempDir::new("registry-flood");
    let out = Command::new(env!("CARGO_BIN_EXE_imgopt"))
        .args(["analyze", "--image", &format!("registry:127.0.0.1:{port}/test/img:latest"), "--format", "json"])
        .env("XDG_CACHE_HOME", tmp.path("cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a flooding registry was accepted");
    assert!(stderr.contains("sha256:") && stderr.contains("sent more than"), "{stderr}");
    // The client hung up after the declared size: what the server pushed is what fits in the
    // socket buffers, not the gigabyte it offered.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let written = written.lock().unwrap();
    assert!(!written.is_empty());
    assert!(written.iter().all(|&n| n < largest + (64 << 20)), "server pushed {written:?} bytes");
    // Nothing half-downloaded stays in the cache.
    let cached: Vec<_> = std::fs::read_dir(tmp.path("cache/imgopt/blobs/sha256"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(cached.iter().all(|n| !n.to_string_lossy().contains("partial")), "{cached:?}");
}

/// How a registry answers blob requests in the timeout tests.
#[derive(Clone, Copy)]
enum BlobAnswer {
    /// Headers and the first bytes, then nothing, the connection left open.
    Stall,
    /// The whole blob in eight pieces, `pause` apart: slow, but never silent for long.
    Trickle { pause: std::time::Duration },
}

fn serve_slow(listener: TcpListener, blobs: HashMap<String, Vec<u8>>, top: String, answer: BlobAnswer) {
    let blobs = Arc::new(blobs);
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let blobs = blobs.clone();
        let top = top.clone();
        std::thread::spawn(move || {
            let Some(path) = request_path(&stream) else { return };
            if let Some(reference) = path.strip_prefix("/v2/test/img/manifests/") {
                answer_manifest(&mut stream, &blobs, &top, reference);
                return;
            }
            let Some(blob) = path.strip_prefix("/v2/test/img/blobs/sha256:").and_then(|hex| blobs.get(hex)) else {
                respond(&mut stream, "404 Not Found", &[], b"");
                return;
            };
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", blob.len());
            let _ = stream.write_all(head.as_bytes());
            match answer {
                BlobAnswer::Stall => {
                    let _ = stream.write_all(&blob[..blob.len().min(10)]);
                    let _ = stream.flush();
                    std::thread::sleep(std::time::Duration::from_secs(60));
                }
                BlobAnswer::Trickle { pause } => {
                    for piece in blob.chunks(blob.len().div_ceil(8).max(1)) {
                        std::thread::sleep(pause);
                        if stream.write_all(piece).and_then(|()| stream.flush()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

/// The scenario's blobs by hex digest, and the hex of the top index.
fn scenario_blobs() -> (HashMap<String, Vec<u8>>, String) {
    let layers = waste_scenario();
    let files = oci_files(&layers, &config_json(&layers));
    let index: serde_json::Value =
        serde_json::from_slice(&files.iter().find(|(n, _)| n == "index.json").unwrap().1).unwrap();
    let top = index["manifests"][0]["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    let blobs =
        files.into_iter().filter_map(|(n, b)| n.strip_prefix("blobs/sha256/").map(|h| (h.to_string(), b))).collect();
    (blobs, top)
}

#[test]
fn a_registry_that_never_answers_times_out() {
    use imgopt::image::{registry, Platform};
    // The kernel accepts the connection into the backlog; nobody ever reads or answers it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tmp = TempDir::new("registry-silent");
    let image = imgopt::image::name::ImageName::parse(&format!("127.0.0.1:{port}/test/img:latest")).unwrap();
    let started = std::time::Instant::now();
    let timeout = std::time::Duration::from_secs(1);
    let e = registry::pull_with_timeout(&image, &Platform::parse("linux/amd64").unwrap(), &tmp.path("cache"), timeout)
        .unwrap_err()
        .to_string();
    let waited = started.elapsed();
    assert!(waited >= timeout && waited < std::time::Duration::from_secs(10), "waited {waited:?}");
    let url = format!("http://127.0.0.1:{port}/v2/test/img/manifests/latest");
    assert!(e.contains(&url) && e.contains("sent nothing for 1s") && e.contains("IMGOPT_REGISTRY_TIMEOUT"), "{e}");
    drop(listener);
}

#[test]
fn a_blob_download_that_stalls_times_out_and_a_slow_one_does_not() {
    // Through the command line, the limit set by IMGOPT_REGISTRY_TIMEOUT.
    let run = |answer: BlobAnswer, tag: &str| {
        let (blobs, top) = scenario_blobs();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || serve_slow(listener, blobs, top, answer));
        let tmp = TempDir::new(tag);
        let started = std::time::Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_imgopt"))
            .args(["analyze", "--image", &format!("registry:127.0.0.1:{port}/test/img:latest"), "--format", "json"])
            .env("XDG_CACHE_HOME", tmp.path("cache"))
            .env("IMGOPT_REGISTRY_TIMEOUT", "1.5")
            .output()
            .unwrap();
        let cached: Vec<String> = std::fs::read_dir(tmp.path("cache/imgopt/blobs/sha256"))
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        (out, started.elapsed(), port, cached)
    };
    let (out, waited, port, cached) = run(BlobAnswer::Stall, "registry-stall");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a stalled download was accepted");
    assert!(waited < std::time::Duration::from_secs(20), "waited {waited:?}");
    // The message is wrapped to the terminal's width: compare it without the wrapping.
    let flat: String = stderr.chars().filter(|c| !c.is_whitespace() && *c != '│').collect();
    assert!(
        flat.contains(&format!("fromhttp://127.0.0.1:{port}/v2/test/img/blobs/sha256:"))
            && flat.contains("sentnothingfor1.5s"),
        "{stderr}"
    );
    assert!(cached.iter().all(|n| !n.contains("partial")), "{cached:?}");
    // 8 pieces 0.5 s apart: 4 s in all, more than the limit, but never silent for 1.5 s.
    let (out, waited, _, _) =
        run(BlobAnswer::Trickle { pause: std::time::Duration::from_millis(500) }, "registry-trickle");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(waited > std::time::Duration::from_secs(3), "waited {waited:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["totals"]["reclaimable_bytes"], 2050);
}

#[test]
fn a_bad_timeout_setting_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_imgopt"))
        .args(["analyze", "--image", "registry:127.0.0.1:9/test/img:latest"])
        .env("IMGOPT_REGISTRY_TIMEOUT", "soon")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("IMGOPT_REGISTRY_TIMEOUT=`soon`"), "{stderr}");
}
