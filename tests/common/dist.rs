//! What the distribution tests share: this machine's target, the release build and the wheel made
//! the way the release makes them, and a small HTTP server for release assets.
//!
//! The release build (`ci/release/package.sh build`), the wheel (maturin) and the packaged crate's
//! build all use the `dist` profile for this machine's target in the repository's target
//! directory, so cargo compiles the dependencies once for all of them; the first test to build
//! pays, the others find cargo's build done.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

pub const REPO: &str = env!("CARGO_MANIFEST_DIR");
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The target triple rustc builds for by default here, as the release names its assets.
pub fn host_target() -> String {
    let out = Command::new("rustc").arg("-vV").output().expect("rustc runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find_map(|l| l.strip_prefix("host: ")).expect("rustc -vV names the host").trim().to_string()
}

/// Where cargo puts builds of this repository (CARGO_TARGET_DIR, else ./target).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => Path::new(REPO).join(dir),
        None => Path::new(REPO).join("target"),
    }
}

/// Builds that write `target/<host>/dist/imgopt` run one at a time, so that one never packs the
/// file another is rewriting.
pub fn dist_build_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs a command; its standard output. A failure fails the test with both outputs.
pub fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{what} failed:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// `ci/release/package.sh build HOST OUT`: the release's build, tar and checksum for this
/// machine. Returns the tarball's path.
pub fn package_release(out: &Path) -> PathBuf {
    let _build = dist_build_lock();
    let started = std::time::Instant::now();
    let text = run_ok(
        Command::new("bash")
            .arg(Path::new(REPO).join("ci/release/package.sh"))
            .arg("build")
            .arg(host_target())
            .arg(out),
        "ci/release/package.sh build",
    );
    println!("release build and packing: {:.1} s", started.elapsed().as_secs_f64());
    PathBuf::from(text.lines().last().expect("package.sh prints the tarball").trim())
}

/// The imgopt-bin wheel for this machine, built once per test binary with maturin from
/// pypi/pyproject.toml (the release's settings) into target/test-wheels; its path.
pub fn wheel() -> &'static Path {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL.get_or_init(|| {
        let _build = dist_build_lock();
        let out = target_dir().join("test-wheels");
        let _ = std::fs::remove_dir_all(&out);
        let started = std::time::Instant::now();
        run_ok(
            Command::new("maturin")
                .args(["build", "--locked", "--target", &host_target(), "--out"])
                .arg(&out)
                .current_dir(Path::new(REPO).join("pypi")),
            "maturin build",
        );
        println!("maturin build: {:.1} s", started.elapsed().as_secs_f64());
        let wheels: Vec<PathBuf> =
            super::sorted_dir(&out).into_iter().filter(|p| p.extension().is_some_and(|e| e == "whl")).collect();
        assert_eq!(wheels.len(), 1, "one wheel in {}: {wheels:?}", out.display());
        wheels.into_iter().next().expect("a wheel")
    })
}

/// The commit `imgopt --version` names when built from this checkout: the first 12 digits of HEAD.
pub fn head_commit() -> String {
    let full = super::git(Path::new(REPO), &["rev-parse", "HEAD"]);
    full[..12].to_string()
}

/// Serves the files under a directory over HTTP/1.1 on 127.0.0.1 (GET only, no directory
/// listings), until dropped. Records the paths asked for.
pub struct FileServer {
    pub url: String,
    pub requests: Arc<Mutex<Vec<String>>>,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FileServer {
    pub fn serve(root: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (root, stop2, requests2) = (root.to_path_buf(), stop.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    answer(stream, &root, &requests2);
                }
            }
        });
        FileServer { url: format!("http://{addr}"), requests, addr, stop, thread: Some(thread) }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(stream: TcpStream, root: &Path, requests: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // The headers, up to the blank line; only the body's length matters here.
    let mut line = String::new();
    let mut length = 0usize;
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim_end() != "" {
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        line.clear();
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    requests.lock().expect("requests").push(path.to_string());
    // A POST (an API call, as GitHub's) is recorded with its body and answered 201.
    if method == "POST" {
        let mut body = vec![0u8; length.min(16 << 20)];
        let _ = std::io::Read::read_exact(&mut reader, &mut body);
        requests.lock().expect("requests").push(format!("POST {path} {}", String::from_utf8_lossy(&body)));
        let mut stream = &stream;
        let _ = stream.write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        return;
    }
    let file = (method == "GET" && !path.split('/').any(|s| s == ".."))
        .then(|| root.join(path.trim_start_matches('/')))
        .filter(|f| f.is_file());
    let mut stream = &stream;
    match file.and_then(|f| std::fs::read(f).ok()) {
        Some(body) => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
        }
        None => {
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    }
}
