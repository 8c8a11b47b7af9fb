//! Helpers shared by the integration tests: the shared corpus, external tools, and test images
//! generated on the fly (layer tars written with the `tar` crate, packed as an OCI layout, an
//! OCI archive, or a `docker save` archive in the legacy and Docker 25+ forms; no binary blobs
//! in git).

#![allow(dead_code)]

/// Base images for the build tests (busybox-static, debootstrap), made once per run.
pub mod bases;
/// The cases of testdata/build/.
pub mod build_cases;
/// Docker's BuildKit (Debian's docker.io) and buildah as reference builders.
pub mod docker;
/// Compares two images layer by layer and file by file.
pub mod fidelity;
/// Debian's docker-registry on loopback, with or without a login.
pub mod registry;
/// RUN bodies of the corpus, for the shell reader's tests.
pub mod run_bodies;

/// The release build, the wheel, and an HTTP server for release assets.
pub mod dist;

/// `SKIPPED: why` on the test process's stderr itself: the harness captures `println!` and
/// `eprintln!` of a passing test (shown only with --nocapture), not a write to the stream, so a
/// plain `cargo test` shows which tests did not run.
pub fn say_skipped(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
}

/// The shared corpus (`IMGOPT_CORPUS`), or None after saying plainly that the test is skipped.
/// Under CI the corpus is required.
pub fn corpus(test: &str) -> Option<PathBuf> {
    match std::env::var_os("IMGOPT_CORPUS") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            assert!(dir.is_dir(), "IMGOPT_CORPUS={} is not a directory", dir.display());
            Some(dir)
        }
        None => {
            assert!(std::env::var_os("CI").is_none(), "{test}: IMGOPT_CORPUS must be set under CI");
            say_skipped(&format!("{test}: IMGOPT_CORPUS is unset (it points at ../shared/corpus in imgopt's CI)"));
            None
        }
    }
}

/// Whether imgopt's builder can run here: root, and Debian's busybox-static for the base.
/// Says SKIPPED when not; under CI a missing piece fails the test.
pub fn builder_ready(test: &str) -> bool {
    if !nix::unistd::geteuid().is_root() {
        assert!(std::env::var_os("CI").is_none(), "{test}: the build tests need root under CI");
        eprintln!("SKIPPED: {test}: not root");
        return false;
    }
    if !std::path::Path::new("/bin/busybox").exists() {
        assert!(std::env::var_os("CI").is_none(), "{test}: busybox-static must be installed under CI");
        eprintln!("SKIPPED: {test}: /bin/busybox missing (apt-get install busybox-static)");
        return false;
    }
    true
}

/// Sorted entries of a directory.
pub fn sorted_dir(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("readable dir").map(|e| e.expect("dir entry").path()).collect();
    v.sort();
    v
}

use std::io::Write;
use std::path::{Path, PathBuf};

use imgopt::image::spec::{self, Descriptor, DockerArchiveEntry, Index, Manifest, Platform};
use imgopt::image::write;
use serde_json::json;
use sha2::{Digest, Sha256};

pub enum Item<'a> {
    Dir(&'a str),
    File(&'a str, Vec<u8>, u32),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    /// `.wh.` entry for the path.
    Whiteout(&'a str),
    /// `.wh..wh..opq` in the directory.
    Opaque(&'a str),
    /// An entry whose name (and link target) is written byte for byte, bypassing the tar
    /// crate's own checks: how hostile tars are made.
    Raw {
        name: &'a str,
        kind: tar::EntryType,
        link: Option<&'a str>,
        data: Vec<u8>,
    },
}

pub fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn raw_header(name: &str, kind: tar::EntryType, link: Option<&str>, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    {
        let ustar = h.as_ustar_mut().expect("ustar header");
        ustar.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            ustar.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
    }
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    h
}

pub fn layer_tar(items: &[Item]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for item in items {
        match item {
            Item::Dir(p) => {
                let h = raw_header(&format!("{p}/"), tar::EntryType::Directory, None, 0, 0o755);
                builder.append(&h, &[][..]).unwrap();
            }
            Item::File(p, data, mode) => {
                let h = raw_header(p, tar::EntryType::Regular, None, data.len() as u64, *mode);
                builder.append(&h, &data[..]).unwrap();
            }
            Item::Symlink(p, t) => {
                let h = raw_header(p, tar::EntryType::Symlink, Some(t), 0, 0o777);
                builder.append(&h, &[][..]).unwrap();
            }
            Item::Hardlink(p, t) => {
                let h = raw_header(p, tar::EntryType::Link, Some(t), 0, 0o644);
                builder.append(&h, &[][..]).unwrap();
            }
            Item::Whiteout(p) => {
                let name = match p.rsplit_once('/') {
                    Some((dir, base)) => format!("{dir}/.wh.{base}"),
                    None => format!(".wh.{p}"),
                };
                let h = raw_header(&name, tar::EntryType::Regular, None, 0, 0o644);
                builder.append(&h, &[][..]).unwrap();
            }
            Item::Opaque(dir) => {
                let h = raw_header(&format!("{dir}/.wh..wh..opq"), tar::EntryType::Regular, None, 0, 0o644);
                builder.append(&h, &[][..]).unwrap();
            }
            Item::Raw { name, kind, link, data } => {
                let h = raw_header(name, *kind, *link, data.len() as u64, 0o644);
                builder.append(&h, &data[..]).unwrap();
            }
        }
    }
    builder.into_inner().unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Comp {
    None,
    Gzip,
    Zstd,
}

pub fn compress(tar: &[u8], comp: Comp) -> Vec<u8> {
    match comp {
        Comp::None => tar.to_vec(),
        Comp::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(tar).unwrap();
            e.finish().unwrap()
        }
        Comp::Zstd => zstd::encode_all(tar, 3).unwrap(),
    }
}

pub fn sha256(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

pub struct Layer {
    pub tar: Vec<u8>,
    pub comp: Comp,
    pub created_by: String,
}

impl Layer {
    pub fn new(items: &[Item], comp: Comp, created_by: &str) -> Self {
        Layer { tar: layer_tar(items), comp, created_by: created_by.into() }
    }
    pub fn blob(&self) -> Vec<u8> {
        compress(&self.tar, self.comp)
    }
}

pub fn config_json(layers: &[Layer]) -> Vec<u8> {
    // An empty_layer entry first, as ENV would make, to check the history mapping skips it.
    let mut history = vec![json!({"created_by": "/bin/sh -c #(nop)  ENV A=1", "empty_layer": true})];
    history.extend(layers.iter().map(|l| json!({"created_by": l.created_by})));
    config_json_with_history(layers, history)
}

/// A config with the history given entry by entry (`json!({"created_by": …, "empty_layer": …})`),
/// as a builder writes it; the layers' own `created_by` is not used.
pub fn config_json_with_history(layers: &[Layer], history: Vec<serde_json::Value>) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| format!("sha256:{}", sha256(&l.tar))).collect();
    serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }))
    .unwrap()
}

fn layer_media_type(comp: Comp) -> &'static str {
    match comp {
        Comp::None => spec::MEDIA_OCI_LAYER_TAR,
        Comp::Gzip => spec::MEDIA_OCI_LAYER_GZIP,
        Comp::Zstd => spec::MEDIA_OCI_LAYER_ZSTD,
    }
}

fn blob(files: &mut Vec<(String, Vec<u8>)>, descriptor: &Descriptor, bytes: Vec<u8>) {
    files.push((descriptor.digest.blob_path(), bytes));
}

/// Files of an OCI layout, name → content, as the tests tamper with them before writing. The
/// top index points to a nested index holding the image and a BuildKit attestation, the shape
/// `docker buildx` gives.
pub fn oci_files(layers: &[Layer], config: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![("oci-layout".to_string(), write::OCI_LAYOUT.to_vec())];
    let mut descriptors = Vec::new();
    for l in layers {
        let bytes = l.blob();
        let descriptor = Descriptor::of_bytes(layer_media_type(l.comp), &bytes);
        blob(&mut files, &descriptor, bytes);
        descriptors.push(descriptor);
    }
    let config_descriptor = Descriptor::of_bytes(spec::MEDIA_OCI_CONFIG, config);
    blob(&mut files, &config_descriptor, config.to_vec());
    let manifest = serde_json::to_vec(&Manifest::oci(config_descriptor.clone(), descriptors)).unwrap();
    let mut manifest_descriptor = Descriptor::of_bytes(spec::MEDIA_OCI_MANIFEST, &manifest);
    manifest_descriptor.platform = Some(Platform::parse("linux/amd64").unwrap());
    blob(&mut files, &manifest_descriptor, manifest);
    let attestation = serde_json::to_vec(&Manifest::oci(config_descriptor, Vec::new())).unwrap();
    let mut attestation_descriptor = Descriptor::of_bytes(spec::MEDIA_OCI_MANIFEST, &attestation);
    attestation_descriptor.platform = Some(Platform::parse("unknown/unknown").unwrap());
    attestation_descriptor
        .annotations
        .insert(spec::ANNOTATION_DOCKER_REFERENCE_TYPE.into(), "attestation-manifest".into());
    blob(&mut files, &attestation_descriptor, attestation);
    let inner = serde_json::to_vec(&Index::oci(vec![attestation_descriptor, manifest_descriptor])).unwrap();
    let mut inner_descriptor = Descriptor::of_bytes(spec::MEDIA_OCI_INDEX, &inner);
    inner_descriptor.annotations.insert(spec::ANNOTATION_REF_NAME.into(), "latest".into());
    blob(&mut files, &inner_descriptor, inner);
    files.push(("index.json".to_string(), serde_json::to_vec(&Index::oci(vec![inner_descriptor])).unwrap()));
    files
}

pub fn write_dir(dir: &Path, files: &[(String, Vec<u8>)]) {
    for (name, data) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
}

/// Pack the files as a tar, with the writer imgopt packs its archives with.
pub fn write_tar(file: &Path, files: &[(String, Vec<u8>)]) {
    let mut archive = write::ArchiveWriter::create(file).unwrap();
    for (name, data) in files {
        archive.add_bytes(name, data).unwrap();
    }
    archive.finish().unwrap();
}

fn docker_manifest(config: String, layers: Vec<String>) -> (String, Vec<u8>) {
    let entry = DockerArchiveEntry { config, repo_tags: Some(vec!["test/image:latest".into()]), layers };
    ("manifest.json".into(), serde_json::to_vec(&[entry]).unwrap())
}

/// `docker save` before Docker 25: `<id>/layer.tar` (uncompressed), `<config hex>.json`.
pub fn docker_legacy_files(layers: &[Layer], config: &[u8]) -> Vec<(String, Vec<u8>)> {
    let config_name = format!("{}.json", sha256(config));
    let mut files = vec![(config_name.clone(), config.to_vec())];
    let mut names = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let name = format!("{:064x}/layer.tar", i + 1);
        files.push((name.clone(), l.tar.clone()));
        names.push(name);
    }
    files.push(docker_manifest(config_name, names));
    files
}

/// Docker 25+: an OCI layout inside, plus a manifest.json pointing at its blobs.
pub fn docker25_files(layers: &[Layer], config: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut files = oci_files(layers, config);
    let names: Vec<String> = layers.iter().map(|l| format!("blobs/sha256/{}", sha256(&l.blob()))).collect();
    files.push(docker_manifest(format!("blobs/sha256/{}", sha256(config)), names));
    files
}

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("imgopt-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Three layers exercising every way bytes become invisible.
///
/// Layer 0 (gzip): etc/config 100 B, app/big.bin 1000 B, app/keep 50 B, cache/a 200 B,
///   cache/sub/b 300 B, opt/x 400 B, bin/tool 70 B, bin/tool2 hardlink to bin/tool, bin/sh
///   symlink to /bin/tool.
/// Layer 1 (zstd): whiteout app/big.bin, directory whiteout cache, etc/config rewritten (120 B),
///   opaque opt with opt/y 10 B.
/// Layer 2 (plain): app/keep again with the same content and mode 0755 (chmod-only copy), whiteout
///   bin/tool (bin/tool2 still links the inode).
pub fn waste_scenario() -> Vec<Layer> {
    vec![
        Layer::new(
            &[
                Item::Dir("etc"),
                Item::File("etc/config", bytes(100, 1), 0o644),
                Item::Dir("app"),
                Item::File("app/big.bin", bytes(1000, 2), 0o644),
                Item::File("app/keep", bytes(50, 3), 0o644),
                Item::Dir("cache"),
                Item::File("cache/a", bytes(200, 4), 0o644),
                Item::Dir("cache/sub"),
                Item::File("cache/sub/b", bytes(300, 5), 0o644),
                Item::Dir("opt"),
                Item::File("opt/x", bytes(400, 6), 0o644),
                Item::Dir("bin"),
                Item::File("bin/tool", bytes(70, 7), 0o755),
                Item::Hardlink("bin/tool2", "bin/tool"),
                Item::Symlink("bin/sh", "/bin/tool"),
            ],
            Comp::Gzip,
            "/bin/sh -c #(nop) ADD file:base in /",
        ),
        Layer::new(
            &[
                Item::Dir("app"),
                Item::Whiteout("app/big.bin"),
                Item::Whiteout("cache"),
                Item::Dir("etc"),
                Item::File("etc/config", bytes(120, 8), 0o644),
                Item::Dir("opt"),
                Item::Opaque("opt"),
                Item::File("opt/y", bytes(10, 9), 0o644),
            ],
            Comp::Zstd,
            "/bin/sh -c rm -rf /app/big.bin /cache && ./configure",
        ),
        Layer::new(
            &[
                Item::Dir("app"),
                Item::File("app/keep", bytes(50, 3), 0o755),
                Item::Dir("bin"),
                Item::Whiteout("bin/tool"),
            ],
            Comp::None,
            "/bin/sh -c chmod +x /app/keep && rm /bin/tool",
        ),
    ]
}

pub fn on_path(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The house rule for external tools: with CI=true a missing tool fails the test, otherwise the
/// test says it skipped. Returns whether the test can run.
pub fn tools_ready(missing: &[&str], install: &str) -> bool {
    if missing.is_empty() {
        return true;
    }
    let why = format!("missing {} ({install})", missing.join(", "));
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    say_skipped(&why);
    false
}

/// `tools_ready` for the tools of this list that are not on PATH.
pub fn need(tools: &[&str], install: &str) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !on_path(t)).collect();
    tools_ready(&missing, install)
}

/// Runs git in `dir` (as a throwaway identity); its trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Debian's busybox-static binary, the base of the tests that run what they build.
pub const BUSYBOX: &str = "/bin/busybox";

/// A base layer (uncompressed tar) from Debian's busybox-static: `bin/busybox` and a symlink
/// per applet the tests use. None after saying the test is skipped (under CI=true a missing
/// busybox-static fails).
pub fn busybox_layer() -> Option<Vec<u8>> {
    let installed =
        std::process::Command::new("dpkg").args(["-s", "busybox-static"]).output().is_ok_and(|o| o.status.success());
    if !tools_ready(if installed { &[] } else { &["busybox-static"] }, "apt-get install busybox-static") {
        return None;
    }
    let binary = std::fs::read(BUSYBOX).expect("busybox-static installs /bin/busybox");
    let mut items = vec![Item::Dir("bin"), Item::File("bin/busybox", binary, 0o755)];
    for link in ["bin/sh", "bin/echo", "bin/cat", "bin/ls", "bin/true", "bin/env"] {
        items.push(Item::Symlink(link, "busybox"));
    }
    Some(layer_tar(&items))
}

/// Debian's Docker client; a newer `docker` earlier on PATH may lack the plugins the tests use.
pub const DOCKER: &str = "/usr/bin/docker";

fn docker_answers() -> bool {
    std::process::Command::new(DOCKER)
        .arg("info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Debian's Docker (docker.io: `/usr/bin/docker`, `dockerd`) with its daemon answering
/// ([`docker::ensure_daemon`] starts one when nothing answers). Returns false after saying the
/// test is skipped (under CI=true a missing docker fails).
pub fn docker_daemon() -> bool {
    let installed = Path::new(DOCKER).is_file() && on_path("dockerd");
    if !tools_ready(if installed { &[] } else { &["docker.io"] }, "apt-get install docker.io") {
        return false;
    }
    if docker_answers() {
        return true;
    }
    if !nix::unistd::Uid::effective().is_root() {
        return tools_ready(&["root, to start dockerd"], "run the tests as root, or start dockerd first");
    }
    docker::ensure_daemon();
    true
}

/// The busybox base ([`busybox_layer`]: `/bin/busybox`, sh and a few applets; `PATH=/bin`)
/// written as a `docker save` archive (its layer an uncompressed tar with no blob digest) at
/// `dir/busybox.docker.tar` named `repo_tag`, and as an OCI archive with a gzip layer at
/// `dir/busybox.oci.tar` (ref.name `latest`). Returns the two paths and the config digest (the
/// image ID). None after saying the test is skipped.
pub fn busybox_archives(dir: &Path, repo_tag: &str) -> Option<(PathBuf, PathBuf, imgopt::image::Digest)> {
    use imgopt::image::spec::{ContainerConfig, History, RootFs};
    use imgopt::image::write::{LayerFile, NewImage};
    use imgopt::image::{Digest, ImageConfig, Platform};
    let tar = busybox_layer()?;
    std::fs::create_dir_all(dir).unwrap();
    let diff_id = Digest::sha256_of(&tar);
    let plain = dir.join("busybox-layer.tar");
    std::fs::write(&plain, &tar).unwrap();
    let gz = compress(&tar, Comp::Gzip);
    let gz_path = dir.join("busybox-layer.tar.gz");
    std::fs::write(&gz_path, &gz).unwrap();
    let config = ImageConfig {
        architecture: Platform::host().architecture,
        os: "linux".into(),
        created: Some("2024-01-01T00:00:00Z".into()),
        config: Some(ContainerConfig {
            env: Some(vec!["PATH=/bin".into()]),
            cmd: Some(vec!["/bin/sh".into()]),
            ..Default::default()
        }),
        rootfs: RootFs::layers(vec![diff_id.clone()]),
        history: vec![History { created_by: Some("busybox-static".into()), ..Default::default() }],
        ..Default::default()
    };
    let layer = |path: &Path, media: &str, bytes: &[u8]| LayerFile {
        path: path.to_path_buf(),
        descriptor: Descriptor::of_bytes(media, bytes),
        diff_id: diff_id.clone(),
    };
    let docker = NewImage {
        config: config.clone(),
        layers: vec![layer(&plain, spec::MEDIA_OCI_LAYER_TAR, &tar)],
        annotations: Default::default(),
    };
    let docker_path = dir.join("busybox.docker.tar");
    let written = write::write_docker_archive(&docker_path, &docker, &[repo_tag.to_string()]).unwrap();
    let oci = NewImage {
        config,
        layers: vec![layer(&gz_path, spec::MEDIA_OCI_LAYER_GZIP, &gz)],
        annotations: Default::default(),
    };
    let oci_path = dir.join("busybox.oci.tar");
    write::write_oci_archive(&oci_path, &oci, &["latest".to_string()]).unwrap();
    Some((docker_path, oci_path, written.config_digest))
}
