//! Docker's BuildKit as the reference builder: Debian's `docker.io` (Docker 20.10, BuildKit
//! built in). The daemon is started once per run if none answers (`dockerd --iptables=false
//! --bridge=none`, no registry needed) and left running for the next test; the bases are
//! `docker load`ed under their test names. Always `/usr/bin/docker`: a newer client earlier on
//! PATH may lack the buildx plugin that its `DOCKER_BUILDKIT=1` needs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::bases::{BaseImage, Lock};

pub const DOCKER: &str = "/usr/bin/docker";
pub const DOCKERD: &str = "/usr/sbin/dockerd";

/// Whether Debian's docker.io is installed (client and daemon).
pub fn installed() -> bool {
    Path::new(DOCKER).is_file() && (Path::new(DOCKERD).is_file() || super::on_path("dockerd"))
}

/// Where the daemon's pidfile, log and lock go (per run, under the target dir).
fn state_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dockerd");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn answering() -> bool {
    Command::new(DOCKER)
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A Docker daemon that answers on /var/run/docker.sock: the one already running, or one this
/// call starts (needs root). Panics with the daemon's log when it does not come up.
pub fn ensure_daemon() {
    if answering() {
        return;
    }
    let state = state_dir();
    let _lock = Lock::acquire(&state.join("start.lock"));
    if answering() {
        return;
    }
    let log_path = state.join("dockerd.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let dockerd = if Path::new(DOCKERD).is_file() { DOCKERD } else { "dockerd" };
    // setsid --fork: the daemon leaves this process's session and outlives the test run, for
    // the next test binary (and the next run) to use.
    let mut cmd = Command::new("setsid");
    cmd.arg("--fork")
        .arg(dockerd)
        .args(["--iptables=false", "--bridge=none", "--pidfile"])
        .arg(state.join("dockerd.pid"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    let started = cmd.status().expect("start dockerd");
    assert!(started.success(), "setsid --fork dockerd: {started}");
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if answering() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!(
        "dockerd did not answer within 90 s; its log ({}):\n{}",
        log_path.display(),
        std::fs::read_to_string(&log_path).unwrap_or_default()
    );
}

/// The ID docker has for `name`, if it has the image.
pub fn image_id(name: &str) -> Option<String> {
    let out = Command::new(DOCKER).args(["image", "inspect", "--format", "{{.Id}}", name]).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `docker load` the base under its name, unless docker already has exactly that image.
pub fn load(base: &BaseImage) {
    ensure_daemon();
    if image_id(&base.name).as_deref() == Some(base.image_id.as_str()) {
        return;
    }
    let _lock = Lock::acquire(&state_dir().join("load.lock"));
    if image_id(&base.name).as_deref() == Some(base.image_id.as_str()) {
        return;
    }
    let out = Command::new(DOCKER).arg("load").arg("-i").arg(&base.docker_archive).output().unwrap();
    assert!(
        out.status.success(),
        "docker load {}: {}",
        base.docker_archive.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        image_id(&base.name).as_deref(),
        Some(base.image_id.as_str()),
        "docker load gave {} another ID",
        base.name
    );
}

/// How a build is asked for, the same for every builder.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    pub build_args: Vec<(String, String)>,
    /// (id, source file)
    pub secrets: Vec<(String, PathBuf)>,
    /// `host` (the default here) or `none`.
    pub network: Option<String>,
    pub target: Option<String>,
    pub no_cache: bool,
}

impl BuildOptions {
    /// The flags `docker build`, `buildah bud` and `imgopt build` share.
    pub fn common_args(&self) -> Vec<String> {
        let mut args = vec!["-f".to_string(), self.dockerfile.display().to_string()];
        for (k, v) in &self.build_args {
            args.push("--build-arg".into());
            args.push(format!("{k}={v}"));
        }
        for (id, src) in &self.secrets {
            args.push("--secret".into());
            args.push(format!("id={id},src={}", src.display()));
        }
        args.push("--network".into());
        args.push(self.network.clone().unwrap_or_else(|| "host".into()));
        if let Some(t) = &self.target {
            args.push("--target".into());
            args.push(t.clone());
        }
        if self.no_cache {
            args.push("--no-cache".into());
        }
        args
    }
}

/// What a build gave: the image (when it succeeded) and the builder's output.
pub struct Built {
    pub archive: Option<PathBuf>,
    pub output: Output,
    pub seconds: f64,
}

impl Built {
    pub fn log(&self) -> String {
        format!("{}{}", String::from_utf8_lossy(&self.output.stdout), String::from_utf8_lossy(&self.output.stderr))
    }
}

/// `DOCKER_BUILDKIT=1 docker build` then `docker save -o OUT TAG`. A failed build returns its
/// output and no archive.
pub fn build(options: &BuildOptions, tag: &str, out: &Path) -> Built {
    ensure_daemon();
    let start = Instant::now();
    let output = Command::new(DOCKER)
        .env("DOCKER_BUILDKIT", "1")
        .env("BUILDKIT_PROGRESS", "plain")
        .arg("build")
        .args(options.common_args())
        .args(["-t", tag])
        .arg(&options.context)
        .output()
        .expect("run docker build");
    let seconds = start.elapsed().as_secs_f64();
    if !output.status.success() {
        return Built { archive: None, output, seconds };
    }
    let _ = std::fs::remove_file(out);
    let save = Command::new(DOCKER).args(["save", "-o"]).arg(out).arg(tag).output().unwrap();
    assert!(save.status.success(), "docker save {tag}: {}", String::from_utf8_lossy(&save.stderr));
    Built { archive: Some(out.to_path_buf()), output, seconds }
}

/// `buildah bud` (chroot isolation, vfs storage under `root`) then `buildah push` to a
/// docker-archive. The base must be pulled into that storage first: [`buildah_load`].
pub fn buildah_build(root: &Path, options: &BuildOptions, tag: &str, out: &Path) -> Built {
    let start = Instant::now();
    let output = buildah(root)
        .args(["bud", "--layers", "--isolation", "chroot"])
        .args(options.common_args())
        .args(["-t", tag])
        .arg(&options.context)
        .output()
        .expect("run buildah bud");
    let seconds = start.elapsed().as_secs_f64();
    if !output.status.success() {
        return Built { archive: None, output, seconds };
    }
    let _ = std::fs::remove_file(out);
    let push = buildah(root)
        .args(["push", "-q", tag])
        .arg(format!("docker-archive:{}:{tag}", out.display()))
        .output()
        .unwrap();
    assert!(push.status.success(), "buildah push {tag}: {}", String::from_utf8_lossy(&push.stderr));
    Built { archive: Some(out.to_path_buf()), output, seconds }
}

/// buildah with its storage under `root` (vfs), as scripts/demo runs it.
pub fn buildah(root: &Path) -> Command {
    let mut c = Command::new("buildah");
    c.arg("--root").arg(root.join("root")).arg("--runroot").arg(root.join("runroot")).args(["--storage-driver", "vfs"]);
    c
}

/// Put the base into buildah's storage under its test name.
pub fn buildah_load(root: &Path, base: &BaseImage) {
    let out = buildah(root).args(["pull", "-q"]).arg(base.docker_archive_ref()).output().unwrap();
    assert!(out.status.success(), "buildah pull {}: {}", base.name, String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let tag = buildah(root).args(["tag", &id, &base.name]).output().unwrap();
    assert!(tag.status.success(), "buildah tag: {}", String::from_utf8_lossy(&tag.stderr));
}
