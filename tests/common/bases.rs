//! Base images for the build tests, made on this machine (no registry can be reached): a busybox
//! rootfs from Debian's `busybox-static`, and a Debian minbase from `debootstrap`. Each is written
//! once as an OCI layout and a `docker save` archive under a cache directory shared by every test
//! of a run (and by later runs: the directory is keyed by [`VERSION`]). A lock file serializes the
//! builders, and the finished directory appears by an atomic rename, so a half-made base is never
//! used.
//!
//! Cache directory: `IMGOPT_TEST_BASES`, else `<target>/tmp/bases`.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use sha2::{Digest, Sha256};

/// Bump when what the bases contain changes: a new directory is made, the old one is left alone.
pub const VERSION: &str = "v1";

/// The modification time of every entry of the busybox base (the Debian base keeps debootstrap's).
const BUSYBOX_MTIME: u64 = 1_700_000_000;

/// A base image, in the forms the builders read.
#[derive(Clone, Debug)]
pub struct BaseImage {
    /// The name the Dockerfiles use: `imgopt-test/busybox:1`, `imgopt-test/debian:bookworm`.
    pub name: String,
    /// An OCI image layout (tag `latest`), uncompressed layer.
    pub oci_dir: PathBuf,
    /// A `docker save` archive whose RepoTags is [`BaseImage::name`].
    pub docker_archive: PathBuf,
    /// `sha256:<hex>` of the config: the image ID docker gives it after `docker load`.
    pub image_id: String,
}

impl BaseImage {
    pub fn oci_ref(&self) -> String {
        format!("oci:{}:latest", self.oci_dir.display())
    }
    pub fn docker_archive_ref(&self) -> String {
        format!("docker-archive:{}", self.docker_archive.display())
    }
}

pub const BUSYBOX_NAME: &str = "imgopt-test/busybox:1";
pub const DEBIAN_NAME: &str = "imgopt-test/debian:bookworm";

/// Where the bases live: `IMGOPT_TEST_BASES`, else `<target>/tmp/bases/<VERSION>`.
pub fn cache_root() -> PathBuf {
    let root = match std::env::var_os("IMGOPT_TEST_BASES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bases"),
    };
    let dir = root.join(VERSION);
    fs::create_dir_all(&dir).expect("create the bases cache directory");
    dir
}

/// An exclusive `flock` on a file, released when dropped (or when the process dies).
pub struct Lock(#[allow(dead_code)] File);

impl Lock {
    pub fn acquire(path: &Path) -> Lock {
        use std::os::fd::AsRawFd;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap_or_else(|e| panic!("open lock {}: {e}", path.display()));
        // SAFETY: flock on a descriptor this File owns.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock {}: {}", path.display(), io::Error::last_os_error());
        Lock(file)
    }
}

/// The busybox base: /bin/busybox from Debian's busybox-static, every applet linked as
/// `busybox --install -s` links it, /etc/passwd and /etc/group with root, app (1000) and nobody,
/// /tmp 1777, /root 0700, /home/app owned by app.
pub fn busybox() -> BaseImage {
    cached(BUSYBOX_NAME, "busybox", make_busybox_layer)
}

/// The Debian base: `debootstrap --variant=minbase bookworm` with ca-certificates and the
/// host's extra CA certificates (this machine's HTTPS proxy), apt lists removed. Needs root
/// (debootstrap, chroot). Takes minutes the first time.
pub fn debian() -> BaseImage {
    cached(DEBIAN_NAME, "debian", make_debian_layer)
}

fn cached(name: &str, key: &str, make_layer: fn(&Path, &Path)) -> BaseImage {
    let root = cache_root();
    let done = root.join(key);
    let _lock = Lock::acquire(&root.join(format!("{key}.lock")));
    if !done.join("image.json").is_file() {
        let work = root.join(format!("{key}.tmp-{}", std::process::id()));
        let _ = fs::remove_dir_all(&work);
        fs::create_dir_all(&work).unwrap();
        let scratch = work.join("scratch");
        fs::create_dir_all(&scratch).unwrap();
        let layer = work.join("layer.tar");
        make_layer(&scratch, &layer);
        let _ = Command::new("rm").arg("-rf").arg(&scratch).status();
        write_image(name, &layer, &work);
        fs::remove_file(&layer).unwrap();
        let _ = fs::remove_dir_all(&done);
        fs::rename(&work, &done).expect("rename the finished base into place");
    }
    let meta: serde_json::Value = serde_json::from_slice(&fs::read(done.join("image.json")).unwrap()).unwrap();
    BaseImage {
        name: name.to_string(),
        oci_dir: done.join("oci"),
        docker_archive: done.join("docker-archive.tar"),
        image_id: meta["image_id"].as_str().unwrap().to_string(),
    }
}

fn header(kind: tar::EntryType, mode: u32, uid: u64, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(uid);
    h.set_size(size);
    h.set_mtime(BUSYBOX_MTIME);
    h
}

pub const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
app:x:1000:1000:app:/home/app:/bin/sh\n\
nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
pub const GROUP: &str = "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n";

/// path, type, mode, owner (uid = gid), content, link target
type Entry = (String, tar::EntryType, u32, u64, Vec<u8>, Option<String>);

fn make_busybox_layer(_scratch: &Path, out: &Path) {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .expect("busybox-static installed (apt-get install busybox-static)");
    let list = Command::new(busybox).arg("--list-full").output().expect("busybox --list-full");
    assert!(list.status.success());
    let mut applets: Vec<String> =
        String::from_utf8(list.stdout).unwrap().lines().map(str::to_string).filter(|l| l != "bin/busybox").collect();
    applets.sort();
    applets.dedup();

    let mut entries: Vec<Entry> = Vec::new();
    let dir = |p: &str, mode: u32, uid: u64| (p.to_string(), tar::EntryType::Directory, mode, uid, Vec::new(), None);
    for (p, mode, uid) in [
        ("bin", 0o755, 0),
        ("dev", 0o755, 0),
        ("etc", 0o755, 0),
        ("home", 0o755, 0),
        ("home/app", 0o755, 1000),
        ("proc", 0o755, 0),
        ("root", 0o700, 0),
        ("sbin", 0o755, 0),
        ("sys", 0o755, 0),
        ("tmp", 0o1777, 0),
        ("usr", 0o755, 0),
        ("usr/bin", 0o755, 0),
        ("usr/sbin", 0o755, 0),
        ("var", 0o755, 0),
    ] {
        entries.push(dir(p, mode, uid));
    }
    let file = |p: &str, data: &[u8], mode: u32| {
        (p.to_string(), tar::EntryType::Regular, mode, 0, data.to_vec(), None::<String>)
    };
    entries.push(file("bin/busybox", &fs::read(busybox).unwrap(), 0o755));
    entries.push(file("etc/passwd", PASSWD.as_bytes(), 0o644));
    entries.push(file("etc/group", GROUP.as_bytes(), 0o644));
    entries.push(file("etc/hostname", b"imgopt-test\n", 0o644));
    for applet in &applets {
        entries.push((applet.clone(), tar::EntryType::Symlink, 0o777, 0, Vec::new(), Some("/bin/busybox".into())));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let mut builder = tar::Builder::new(File::create(out).unwrap());
    for (path, kind, mode, uid, data, link) in entries {
        let mut h = header(kind, mode, uid, data.len() as u64);
        let name = if kind == tar::EntryType::Directory { format!("{path}/") } else { path };
        match link {
            Some(target) => builder.append_link(&mut h, &name, &target).unwrap(),
            None => builder.append_data(&mut h, &name, &data[..]).unwrap(),
        }
    }
    builder.finish().unwrap();
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr).lines().rev().take(30).collect::<Vec<_>>().join("\n")
    );
}

fn make_debian_layer(scratch: &Path, out: &Path) {
    let rootfs = scratch.join("rootfs");
    let mirror = std::env::var("IMGOPT_TEST_DEBIAN_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian".into());
    run(Command::new("debootstrap")
        .args(["--variant=minbase", "--include=ca-certificates", "bookworm"])
        .arg(&rootfs)
        .arg(&mirror));
    // The host's extra CA certificates (this machine's HTTPS proxy), so pip and npm work inside.
    let extra = Path::new("/usr/local/share/ca-certificates");
    if extra.is_dir() {
        let into = rootfs.join("usr/local/share/ca-certificates");
        fs::create_dir_all(&into).unwrap();
        for entry in fs::read_dir(extra).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                fs::copy(entry.path(), into.join(entry.file_name())).unwrap();
            }
        }
        run(Command::new("chroot").arg(&rootfs).args(["update-ca-certificates"]));
    }
    // What docker's own Debian images leave out: downloaded packages and lists, device nodes.
    for sub in ["var/cache/apt/archives", "var/lib/apt/lists", "dev"] {
        let d = rootfs.join(sub);
        if d.is_dir() {
            for entry in fs::read_dir(&d).unwrap() {
                let p = entry.unwrap().path();
                if p.is_dir() && !p.is_symlink() {
                    if p.file_name().is_some_and(|n| n != "partial") {
                        fs::remove_dir_all(&p).unwrap();
                    }
                } else {
                    fs::remove_file(&p).unwrap();
                }
            }
        }
    }
    let mut top: Vec<String> =
        fs::read_dir(&rootfs).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    top.sort();
    run(Command::new("tar")
        .args(["--numeric-owner", "--xattrs", "--xattrs-include=security.capability", "--sort=name", "-cf"])
        .arg(out)
        .arg("-C")
        .arg(&rootfs)
        .args(&top));
}

fn sha256_file(path: &Path) -> String {
    let mut f = File::open(path).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `<dir>/oci` (an OCI layout, tag `latest`), `<dir>/docker-archive.tar` (RepoTags
/// `name`) and `<dir>/image.json` (the image ID) around one uncompressed layer.
fn write_image(name: &str, layer: &Path, dir: &Path) {
    let diff_id = sha256_file(layer);
    let layer_size = fs::metadata(layer).unwrap().len();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2023-11-14T22:13:20Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"],
        },
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": format!("imgopt test base {name} ({VERSION})")}],
    }))
    .unwrap();
    let config_hex = sha256(&config);

    // OCI layout; the layer blob is the tar itself (uncompressed media type).
    let oci = dir.join("oci");
    fs::create_dir_all(oci.join("blobs/sha256")).unwrap();
    fs::write(oci.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    fs::copy(layer, oci.join(format!("blobs/sha256/{diff_id}"))).unwrap();
    fs::write(oci.join(format!("blobs/sha256/{config_hex}")), &config).unwrap();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config_hex}"), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": format!("sha256:{diff_id}"), "size": layer_size}],
    }))
    .unwrap();
    let manifest_hex = sha256(&manifest);
    fs::write(oci.join(format!("blobs/sha256/{manifest_hex}")), &manifest).unwrap();
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{manifest_hex}"), "size": manifest.len(),
                       "annotations": {"org.opencontainers.image.ref.name": "latest", "io.containerd.image.name": name}}],
    }))
    .unwrap();
    fs::write(oci.join("index.json"), index).unwrap();

    // docker save (legacy form, as Docker 20.10 writes it).
    let mut b = tar::Builder::new(File::create(dir.join("docker-archive.tar")).unwrap());
    let mut add = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, data).unwrap();
    };
    let (repo, tag) = name.rsplit_once(':').unwrap();
    add(&format!("{config_hex}.json"), &config);
    add(
        "manifest.json",
        &serde_json::to_vec(&json!([{"Config": format!("{config_hex}.json"), "RepoTags": [name], "Layers": [format!("{diff_id}/layer.tar")]}]))
            .unwrap(),
    );
    add("repositories", &serde_json::to_vec(&json!({repo: {tag: diff_id}})).unwrap());
    let mut h = tar::Header::new_gnu();
    h.set_size(layer_size);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, format!("{diff_id}/layer.tar"), File::open(layer).unwrap()).unwrap();
    b.finish().unwrap();
    drop(b);

    let mut meta = File::create(dir.join("image.json")).unwrap();
    meta.write_all(
        serde_json::to_string(&json!({"name": name, "image_id": format!("sha256:{config_hex}")})).unwrap().as_bytes(),
    )
    .unwrap();
}
