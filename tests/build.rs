//! `imgopt build` for real: overlayfs, namespaces, layers read back with imgopt's own reader.
//! Every test builds on one busybox base, made once per run by imgopt itself from Debian's
//! `busybox-static` (`FROM scratch`, COPY, `busybox --install`), in a store shared by the tests.
//! The builder needs root (or a user namespace: see the rootless test); without root these
//! tests say SKIPPED, and fail under CI.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

use imgopt::image::{Change, EntryKind, Image, ImageRef, LayerEntry, OpenOptions};

mod common;

const BASE: &str = "imgopt-test/busybox:1";

fn imgopt() -> &'static str {
    env!("CARGO_BIN_EXE_imgopt")
}

fn store() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("build-store")
}

/// Whether the builder can run here; says SKIPPED when not (fails under CI).
fn ready(test: &str) -> bool {
    if !common::builder_ready(test) {
        return false;
    }
    base();
    true
}

/// The base image, built once per run.
fn base() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let ctx = Context::new("base", "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nRUN mkdir -p /etc /tmp /root /home/app && chmod 1777 /tmp && printf 'root:x:0:0:root:/root:/bin/sh\\napp:x:1000:1000::/home/app:/bin/sh\\nnobody:x:65534:65534::/:/bin/false\\n' > /etc/passwd && printf 'root:x:0:\\napp:x:1000:\\nwheel:x:10:app\\nnogroup:x:65534:\\n' > /etc/group && chown 1000:1000 /home/app\nENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nCMD [\"sh\"]\n");
        std::fs::copy("/bin/busybox", ctx.dir.join("busybox")).expect("copy busybox");
        let out = ctx.build(&["-t", BASE]);
        assert!(out.status.success(), "base build failed:\n{}", String::from_utf8_lossy(&out.stderr));
    });
}

struct Context {
    dir: PathBuf,
}

impl Context {
    fn new(name: &str, dockerfile: &str) -> Context {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("build-contexts").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
        Context { dir }
    }

    fn file(&self, rel: &str, content: &[u8]) -> &Self {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    fn build(&self, extra: &[&str]) -> Output {
        Command::new(imgopt())
            .arg("build")
            .args(extra)
            .arg(&self.dir)
            .env("IMGOPT_STORE", store())
            .output()
            .expect("imgopt runs")
    }

    /// Builds and returns the image's name in the store; panics with the output on failure.
    fn built(&self, extra: &[&str]) -> Image {
        let name = format!("imgopt-test/{}:latest", self.dir.file_name().unwrap().to_string_lossy());
        let mut args = vec!["-t", name.as_str()];
        args.extend_from_slice(extra);
        let out = self.build(&args);
        assert!(
            out.status.success(),
            "build failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let full = format!("docker.io/{name}");
        Image::open(&ImageRef::OciDir { dir: store(), tag: Some(full) }, &OpenOptions::default()).expect("image opens")
    }
}

/// The final file system of an image: path → entry.
fn final_fs(image: &Image) -> BTreeMap<String, LayerEntry> {
    let mut fs: BTreeMap<String, LayerEntry> = BTreeMap::new();
    for i in 0..image.layers.len() {
        let layer = image.read_layer(i, true).expect("layer reads and verifies");
        for change in layer.changes {
            match change {
                Change::Whiteout(p) => fs.retain(|k, _| k != &p && !k.starts_with(&format!("{p}/"))),
                Change::Opaque(d) => fs.retain(|k, _| !k.starts_with(&format!("{d}/"))),
                Change::Put(e) => {
                    fs.insert(e.path.clone(), e);
                }
            }
        }
    }
    fs
}

fn content_bytes(image: &Image, layer: usize) -> u64 {
    let l = image.read_layer(layer, false).unwrap();
    l.changes
        .iter()
        .map(|c| match c {
            Change::Put(e) if e.kind == EntryKind::File => e.size,
            _ => 0,
        })
        .sum()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_deleted_directory_still_ships_in_the_layer_that_made_it() {
    if !ready("a_deleted_directory_still_ships_in_the_layer_that_made_it") {
        return;
    }
    let ctx = Context::new(
        "twenty",
        &format!("FROM {BASE}\nRUN mkdir -p /data && dd if=/dev/urandom of=/data/blob bs=1M count=20 2>/dev/null\nRUN rm -rf /data\n"),
    );
    let image = ctx.built(&[]);
    let n = image.layers.len();
    assert_eq!(content_bytes(&image, n - 2), 20 << 20, "the RUN that made it ships 20 MiB");
    assert_eq!(content_bytes(&image, n - 1), 0);
    let last = image.read_layer(n - 1, false).unwrap();
    assert!(last.changes.contains(&Change::Whiteout("data".to_string())), "{:?}", last.changes);
    assert!(!final_fs(&image).contains_key("data/blob"));
}

#[test]
fn copy_chown_chmod_dockerignore_and_workdir() {
    if !ready("copy_chown_chmod_dockerignore_and_workdir") {
        return;
    }
    let ctx = Context::new(
        "copy",
        &format!(
            "FROM {BASE}\nWORKDIR /srv/app\nCOPY --chown=app:wheel --chmod=640 src/ ./\nCOPY top.txt /opt/\nCOPY *.md docs/\nCOPY top.txt /srv\nCOPY empty /e\n"
        ),
    );
    ctx.file("src/main.py", b"print(1)\n")
        .file("src/pkg/mod.py", b"x = 1\n")
        .file("src/secret.key", b"no")
        .file("top.txt", b"top\n")
        .file("a.md", b"a")
        .file("b.md", b"b")
        .file(".dockerignore", b"src/secret.key\n");
    std::fs::create_dir_all(ctx.dir.join("empty")).unwrap();
    let fs = final_fs(&ctx.built(&[]));
    let main = &fs["srv/app/main.py"];
    assert_eq!((main.uid, main.gid, main.mode & 0o7777, main.size), (1000, 10, 0o640, 9));
    assert_eq!(fs["srv/app/pkg/mod.py"].uid, 1000);
    assert!(!fs.contains_key("srv/app/secret.key"), ".dockerignore leaves it out");
    assert_eq!(fs["opt/top.txt"].uid, 0);
    assert!(fs.contains_key("srv/app/docs/a.md") && fs.contains_key("srv/app/docs/b.md"));
    assert_eq!(fs["srv/app"].kind, EntryKind::Dir);
    // A destination that is a directory in the image takes the file into it.
    assert_eq!(fs["srv/top.txt"].size, 4);
    // An empty directory copied is an empty directory.
    assert_eq!(fs["e"].kind, EntryKind::Dir);
}

#[test]
fn multi_stage_copies_from_an_earlier_stage_and_builds_only_what_the_target_needs() {
    if !ready("multi_stage_copies_from_an_earlier_stage_and_builds_only_what_the_target_needs") {
        return;
    }
    let ctx = Context::new(
        "stages",
        &format!(
            "FROM {BASE} AS build\nRUN mkdir /out && echo artifact > /out/app && dd if=/dev/zero of=/toolchain bs=1k count=64 2>/dev/null\nFROM {BASE} AS unused\nRUN exit 3\nFROM scratch\nCOPY --from=build /out/app /app\n"
        ),
    );
    let image = ctx.built(&[]);
    let fs = final_fs(&image);
    assert_eq!(fs.keys().collect::<Vec<_>>(), ["app"]);
    assert_eq!(fs["app"].size, 9);
    // --target builds the stage named, and the stage that fails is then reached.
    let out = ctx.build(&["--target", "unused"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("exit code 3"), "{}", stderr(&out));
}

#[test]
fn a_failing_run_names_its_line_and_shows_its_output() {
    if !ready("a_failing_run_names_its_line_and_shows_its_output") {
        return;
    }
    let ctx = Context::new("fails", &format!("FROM {BASE}\nRUN echo about to fail && false\n"));
    let out = ctx.build(&[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("failed with exit code 1"), "{err}");
    assert!(err.contains("about to fail"), "{err}");
    assert!(err.contains("Dockerfile:2") || err.contains(":2:"), "the span names line 2: {err}");
}

#[test]
fn user_switching_resolves_names_in_the_image() {
    if !ready("user_switching_resolves_names_in_the_image") {
        return;
    }
    let ctx = Context::new(
        "user",
        &format!(
            "FROM {BASE}\nUSER app\nRUN test \"$(id -u):$(id -g)\" = 1000:1000 && id -G | grep -qw 10 && test \"$HOME\" = /home/app && touch /home/app/mine\nUSER root\nRUN test \"$(id -u)\" = 0\nUSER nobody:nogroup\nRUN test \"$(id -un)\" = nobody\n"
        ),
    );
    let fs = final_fs(&ctx.built(&[]));
    assert_eq!(fs["home/app/mine"].uid, 1000);
}

#[test]
fn heredocs_run_as_buildkit_runs_them() {
    if !ready("heredocs_run_as_buildkit_runs_them") {
        return;
    }
    let ctx = Context::new(
        "heredoc",
        &format!(
            "# syntax=docker/dockerfile:1\nFROM {BASE}\nRUN <<EOF\necho one > /one\necho two > /two\nEOF\nRUN cat > /three <<EOT\nthree $HOME\nEOT\nCOPY <<EOF /etc/app.conf\nkey=value\nEOF\n"
        ),
    );
    let image = ctx.built(&[]);
    let fs = final_fs(&image);
    assert_eq!(fs["one"].size, 4);
    assert_eq!(fs["two"].size, 4);
    assert_eq!(fs["three"].size, "three /root\n".len() as u64);
    assert_eq!(fs["etc/app.conf"].size, "key=value\n".len() as u64);
}

#[test]
fn secrets_cache_mounts_and_no_network() {
    if !ready("secrets_cache_mounts_and_no_network") {
        return;
    }
    let ctx = Context::new(
        "mounts",
        &format!(
            "FROM {BASE}\nRUN --mount=type=secret,id=token test \"$(cat /run/secrets/token)\" = s3cret\nRUN --mount=type=cache,target=/cache,id=imgopt-test-cache echo filled > /cache/mark\nRUN --mount=type=cache,target=/c2,id=imgopt-test-cache cat /c2/mark > /seen\nRUN --network=none test \"$(wc -l < /proc/net/route)\" -eq 1 && ip link show lo | grep -q UP\n"
        ),
    );
    ctx.file("token.txt", b"s3cret");
    let secret = format!("id=token,src={}", ctx.dir.join("token.txt").display());
    let image = ctx.built(&["--secret", &secret, "--no-cache"]);
    let fs = final_fs(&image);
    assert!(!fs.contains_key("run/secrets/token"), "the secret never lands in a layer");
    assert!(!fs.contains_key("cache/mark"), "what a cache mount holds stays out of layers");
    // The mount point itself stays, as BuildKit leaves it.
    assert_eq!(fs["cache"].kind, EntryKind::Dir);
    assert_eq!(fs["seen"].size, 7, "the second RUN saw what the first left in the cache");
    // Without the secret the file is not there and the RUN fails (the cache is not asked).
    let out = ctx.build(&["--no-cache"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("Dockerfile:2"), "{}", stderr(&out));
}

#[test]
fn onbuild_triggers_run_in_the_child_image() {
    if !ready("onbuild_triggers_run_in_the_child_image") {
        return;
    }
    let parent = Context::new("onbuild-parent", &format!("FROM {BASE}\nONBUILD RUN echo triggered > /triggered\n"));
    parent.built(&[]);
    let child = Context::new("onbuild-child", "FROM imgopt-test/onbuild-parent:latest\nRUN test -f /triggered\n");
    let fs = final_fs(&child.built(&[]));
    assert!(fs.contains_key("triggered"));
}

#[test]
fn add_extracts_local_archives() {
    if !ready("add_extracts_local_archives") {
        return;
    }
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    h.set_mode(0o755);
    h.set_cksum();
    tar.append_data(&mut h, "pkg/bin/tool", &b"tool\n"[..]).unwrap();
    let plain = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &plain).unwrap();
    let ctx =
        Context::new("add", &format!("FROM {BASE}\nADD plain.tar /plain/\nADD pkg.tar.gz /gz/\nADD notes.txt /\n"));
    ctx.file("plain.tar", &plain).file("pkg.tar.gz", &gz.finish().unwrap()).file("notes.txt", b"n");
    let fs = final_fs(&ctx.built(&[]));
    assert_eq!(fs["plain/pkg/bin/tool"].mode & 0o777, 0o755);
    assert_eq!(fs["gz/pkg/bin/tool"].size, 5);
    assert_eq!(fs["notes.txt"].size, 1);
}

#[test]
fn a_rebuild_reuses_every_unchanged_step() {
    if !ready("a_rebuild_reuses_every_unchanged_step") {
        return;
    }
    let ctx = Context::new(
        "cache",
        &format!("FROM {BASE}\nRUN date +%s%N > /stamp\nCOPY app.txt /app.txt\nRUN cat /app.txt\n"),
    );
    ctx.file("app.txt", b"v1");
    let first = ctx.built(&[]);
    let again = ctx.built(&[]);
    assert_eq!(first.config_digest.is_some(), again.config_digest.is_some());
    assert_eq!(
        first.layers.iter().map(|l| &l.diff_id).collect::<Vec<_>>(),
        again.layers.iter().map(|l| &l.diff_id).collect::<Vec<_>>()
    );
    ctx.file("app.txt", b"v2");
    let changed = ctx.built(&[]);
    let n = changed.layers.len();
    // The last RUN changes no file (no layer); the COPY's layer differs, the RUN before it
    // is reused (the same stamp).
    assert_eq!(n, first.layers.len());
    assert_ne!(changed.layers[n - 1].diff_id, first.layers[n - 1].diff_id);
    assert_eq!(changed.layers[n - 2].diff_id, first.layers[n - 2].diff_id);
}

#[test]
fn sigkill_during_a_run_leaves_no_mount_and_the_next_build_works() {
    if !ready("sigkill_during_a_run_leaves_no_mount_and_the_next_build_works") {
        return;
    }
    // A marker only this run's step has in its command line (and prints once it runs).
    let marker = format!("imgopt-kill-test-{}", std::process::id());
    let ctx = Context::new("kill", &format!("FROM {BASE}\nRUN echo {marker}-running; sleep 60\n"));
    let mut child = Command::new(imgopt())
        .args(["build"])
        .arg(&ctx.dir)
        .env("IMGOPT_STORE", store())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the step runs.
    let mut err = child.stderr.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    // The step's own output line (the label printed before it also holds the command).
    while !seen.contains(&format!("│ {marker}-running")) {
        let n = std::io::Read::read(&mut err, &mut buf).unwrap();
        assert!(n > 0, "the build ended before its RUN started: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let store = store().to_string_lossy().into_owned();
    assert!(!mounts.contains(&store), "a mount under the store was left behind:\n{mounts}");
    // The kernel ends the step's processes with its namespaces, asynchronously: wait for it
    // (a generous bound on a loaded machine; it takes milliseconds).
    let gone = (0..150).any(|_| {
        let alive = Command::new("pgrep").args(["-f", &marker]).output().unwrap();
        alive.stdout.is_empty() || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            false
        }
    });
    assert!(gone, "the step's process outlived the build");
    std::fs::write(ctx.dir.join("Dockerfile"), format!("FROM {BASE}\nRUN echo started; echo done > /done\n")).unwrap();
    let fs = final_fs(&ctx.built(&[]));
    assert!(fs.contains_key("done"));
}

#[test]
fn analyze_builds_the_dockerfile_and_maps_every_layer() {
    if !ready("analyze_builds_the_dockerfile_and_maps_every_layer") {
        return;
    }
    let ctx = Context::new(
        "analyze",
        &format!("FROM {BASE}\nRUN mkdir /d && dd if=/dev/zero of=/d/f bs=1k count=300 2>/dev/null\nRUN rm -rf /d\n"),
    );
    let out = Command::new(imgopt())
        .args(["analyze", "--format", "json"])
        .arg(&ctx.dir)
        .env("IMGOPT_STORE", store())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers = report["layers"].as_array().unwrap();
    let run = &layers[layers.len() - 2];
    assert_eq!(run["dockerfile"]["line"], 2);
    assert_eq!(run["dockerfile"]["match"], "built");
    assert_eq!(run["invisible_bytes"], 300 * 1024, "{run}");
    assert_eq!(layers[0]["dockerfile"]["match"], "base_image");
}

#[test]
fn rootless_build_as_an_unprivileged_user() {
    if !ready("rootless_build_as_an_unprivileged_user") {
        return;
    }
    let user = "imgopt-rootless";
    if Command::new("id").arg(user).output().map(|o| !o.status.success()).unwrap_or(true) {
        // useradd gives the user a subordinate id range in /etc/subuid and /etc/subgid.
        let made = Command::new("useradd").args(["-m", user]).status().expect("useradd runs");
        assert!(made.success(), "useradd {user}");
    }
    let dir = std::env::temp_dir().join(format!("imgopt-rootless-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("ctx")).unwrap();
    std::fs::copy("/bin/busybox", dir.join("ctx/busybox")).unwrap();
    std::fs::write(
        dir.join("ctx/Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nRUN mkdir -p /etc && echo 'root:x:0:0::/root:/bin/sh' > /etc/passwd && test \"$(id -u)\" = 0 && echo made > /made && rm /bin/ls\n",
    )
    .unwrap();
    // The user may not reach the build's target directory (a clone under /root): a copy of
    // the binary in the test's own directory, which the user owns.
    std::fs::copy(imgopt(), dir.join("imgopt")).unwrap();
    let chown = Command::new("chown").args(["-R", &format!("{user}:{user}")]).arg(&dir).status().unwrap();
    assert!(chown.success());
    let script = format!(
        "IMGOPT_STORE={store} {imgopt} build -t rootless:1 {ctx} && IMGOPT_STORE={store} {imgopt} analyze --format json --image oci:{store}:docker.io/library/rootless:1",
        store = dir.join("store").display(),
        imgopt = dir.join("imgopt").display(),
        ctx = dir.join("ctx").display()
    );
    let out = Command::new("runuser").args(["-u", user, "--", "sh", "-c", &script]).output().expect("runuser runs");
    assert!(out.status.success(), "rootless build failed:\n{}", stderr(&out));
    // `imgopt build` prints the manifest digest, then analyze its JSON report.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = &stdout[stdout.find('{').expect("a JSON report")..];
    let report: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(report["layers"].as_array().unwrap().len(), 3);
    let image = Image::open(
        &ImageRef::OciDir { dir: dir.join("store"), tag: Some("docker.io/library/rootless:1".into()) },
        &OpenOptions::default(),
    )
    .unwrap();
    let fs = final_fs(&image);
    // The user's own id is root inside, and in the layer.
    assert_eq!((fs["made"].uid, fs["made"].gid), (0, 0));
    assert!(!fs.contains_key("bin/ls"), "the whiteout made rootless hides the file");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&dir.to_string_lossy().into_owned()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn heredoc_with_a_shebang_runs_as_a_script_file() {
    if !ready("heredoc_with_a_shebang_runs_as_a_script_file") {
        return;
    }
    let ctx = Context::new("shebang", &format!("FROM {BASE}\nRUN <<EOF\n#!/bin/sh\necho \"$0\" > /ran-as\nEOF\n"));
    let image = ctx.built(&["--no-cache"]);
    let fs = final_fs(&image);
    assert_eq!(fs["ran-as"].size, "/dev/pipes/EOF\n".len() as u64);
    assert!(!fs.keys().any(|k| k.starts_with("dev/")), "the script file stays out of the layer");
}

#[test]
fn add_downloads_urls_and_checks_the_checksum() {
    if !ready("add_downloads_urls_and_checks_the_checksum") {
        return;
    }
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = b"downloaded content\n";
    std::thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            let mut s = stream.unwrap();
            let mut req = [0u8; 1024];
            let _ = s.read(&mut req);
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(body);
        }
    });
    let sum = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(body);
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let ctx = Context::new(
        "url",
        &format!("FROM {BASE}\nADD --checksum=sha256:{sum} http://127.0.0.1:{port}/files/tool.txt /opt/\n"),
    );
    let fs = final_fs(&ctx.built(&["--no-cache"]));
    let f = &fs["opt/tool.txt"];
    assert_eq!((f.size, f.mode & 0o777), (body.len() as u64, 0o600));
    let bad = Context::new(
        "url-bad",
        &format!("FROM {BASE}\nADD --checksum=sha256:{} http://127.0.0.1:{port}/x /x\n", "0".repeat(64)),
    );
    let out = bad.build(&["--no-cache"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("checksum mismatch"), "{}", stderr(&out));
}

#[test]
fn add_extracts_bzip2_and_xz_archives() {
    if !ready("add_extracts_bzip2_and_xz_archives") {
        return;
    }
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_cksum();
    tar.append_data(&mut h, "in/file", &b"abc"[..]).unwrap();
    let plain = tar.into_inner().unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    std::io::Write::write_all(&mut bz, &plain).unwrap();
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    std::io::Write::write_all(&mut xz, &plain).unwrap();
    let ctx = Context::new("add-bz-xz", &format!("FROM {BASE}\nADD a.tar.bz2 /bz/\nADD a.tar.xz /xz/\n"));
    ctx.file("a.tar.bz2", &bz.finish().unwrap()).file("a.tar.xz", &xz.finish().unwrap());
    let fs = final_fs(&ctx.built(&[]));
    assert_eq!(fs["bz/in/file"].size, 3);
    assert_eq!(fs["xz/in/file"].size, 3);
}

#[test]
fn independent_stages_build_at_the_same_time() {
    if !ready("independent_stages_build_at_the_same_time") {
        return;
    }
    // Each stage waits (10 s at most) for the other's mark in a shared cache mount: built one
    // after the other, the first would give up and fail.
    let id = format!("imgopt-test-sync-{}", std::process::id());
    let wait = |me: &str, other: &str| {
        format!("RUN --mount=type=cache,id={id},target=/s touch /s/{me} && i=0 && while [ ! -f /s/{other} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done && test -f /s/{other} && echo {me} > /{me}")
    };
    let ctx = Context::new(
        "parallel",
        &format!(
            "FROM {BASE} AS a\n{}\nFROM {BASE} AS b\n{}\nFROM scratch\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n",
            wait("a", "b"),
            wait("b", "a")
        ),
    );
    let fs = final_fs(&ctx.built(&[]));
    assert!(fs.contains_key("a") && fs.contains_key("b"));
}

#[test]
fn bind_mounts_show_a_stage_merged_and_keep_no_writes() {
    if !ready("bind_mounts_show_a_stage_merged_and_keep_no_writes") {
        return;
    }
    let ctx = Context::new(
        "bind",
        &format!(
            "FROM {BASE} AS a\nRUN mkdir /x && echo one > /x/one\nRUN echo two > /x/two\nFROM {BASE}\nRUN --mount=type=bind,from=a,source=/x,target=/mnt test \"$(cat /mnt/one /mnt/two)\" = \"$(printf 'one\\ntwo')\"\nRUN --mount=type=bind,source=.,target=/ctx,rw echo scribble > /ctx/new && cat /ctx/input > /copied\nWORKDIR /w\nARG KIND=bind\nRUN --mount=type=$KIND,from=a,source=/x test \"$(cat /w/one)\" = one && echo seen > /expanded\n"
        ),
    );
    ctx.file("input", b"from the context\n");
    let fs = final_fs(&ctx.built(&["--no-cache"]));
    assert_eq!(fs["copied"].size, 17);
    // Mount fields expand with the stage's variables; no target is the WORKDIR, as in BuildKit.
    assert_eq!(fs["expanded"].size, 5);
    assert!(!fs.contains_key("w/one"), "the mount at the WORKDIR leaves no trace");
    assert!(!ctx.dir.join("new").exists(), "a rw bind never writes to the context");
    assert!(!fs.keys().any(|k| k.starts_with("mnt/") || k.starts_with("ctx/")), "mount points leave no trace");
}

/// Issue 13: a safe fix (and a rule's good example) must produce a command the tool that runs
/// accepts: an option BusyBox's applet rejects (IMG511's `wget --progress=dot:giga` did) fails
/// the test. A tool the base lacks (apt-get) or a network it cannot reach is no failure: only the
/// option errors count.
#[test]
fn safe_fixes_produce_commands_busybox_accepts() {
    if !ready("safe_fixes_produce_commands_busybox_accepts") {
        return;
    }
    safe_fix_commands_run_on(BASE, "busybox", |image| image.starts_with("alpine") || image.starts_with("busybox"));
}

/// The same on the debootstrap Debian base (GNU tools: coreutils, findutils, grep, apt).
#[test]
fn safe_fixes_produce_commands_debian_accepts() {
    if !ready("safe_fixes_produce_commands_debian_accepts") {
        return;
    }
    if !common::need(&["debootstrap"], "apt-get install debootstrap") {
        return;
    }
    let debian = common::bases::debian();
    let load = Command::new(imgopt())
        .args(["load", &debian.docker_archive_ref(), "-t", &debian.name])
        .env("IMGOPT_STORE", store())
        .output()
        .expect("imgopt runs");
    assert!(load.status.success(), "imgopt load: {}", stderr(&load));
    safe_fix_commands_run_on(&debian.name, "debian", |image| {
        !image.starts_with("alpine") && !image.starts_with("busybox")
    });
}

/// Each rule's good example (when `good_on` takes the image it was written for) and its bad
/// example with the safe fixes applied, moved onto `base` (every FROM names it): each shell-form
/// RUN of the good example and each RUN the fixes changed (continuation lines joined, as the
/// builder reads it) is run there, and an option the base's tool rejects fails the test.
fn safe_fix_commands_run_on(base: &str, label: &str, good_on: fn(&str) -> bool) {
    use imgopt::lint::fix::fix_text;
    use imgopt::lint::{Applicability, Settings};
    use imgopt::model::instruction::{Command as Instruction, CommandLine};

    let on_base = |text: &str| -> String {
        let lines = text.lines().map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            if !words.first().is_some_and(|w| w.eq_ignore_ascii_case("FROM")) {
                return line.to_string();
            }
            // Replace the image word (the first after FROM's flags), keep `AS name`.
            let image = words[1..].iter().position(|w| !w.starts_with("--")).map(|i| i + 1);
            let words: Vec<&str> =
                words.iter().enumerate().map(|(i, w)| if Some(i) == image { base } else { w }).collect();
            words.join(" ")
        });
        lines.map(|l| format!("{l}\n")).collect()
    };
    // The shell-form RUNs without flags or heredocs, as the builder reads them.
    let runs = |text: &str| -> Vec<String> {
        let Ok(doc) = imgopt::model::document::Document::parse(text) else { return Vec::new() };
        doc.all_commands()
            .filter_map(|(_, c)| match c {
                Instruction::Run(r) if r.heredocs.is_empty() && r.mount_flags.is_empty() && r.network.is_none() => {
                    match &r.command {
                        CommandLine::Shell(s) => Some(s.clone()),
                        CommandLine::Exec(_) => None,
                    }
                }
                _ => None,
            })
            .collect()
    };
    let mut ran = 0;
    for rule in imgopt::lint::rules::RULES.iter() {
        let written_for = rule.meta.good.lines().find_map(|l| {
            let mut words = l.split_whitespace();
            words.next().filter(|w| w.eq_ignore_ascii_case("FROM"))?;
            words.find(|w| !w.starts_with("--"))
        });
        let mut commands = if written_for.is_some_and(good_on) { runs(&on_base(rule.meta.good)) } else { Vec::new() };
        if rule.meta.fix == Some(Applicability::Safe) {
            let text = on_base(rule.meta.bad);
            let before = runs(&text);
            let fixed = fix_text(&text, &Settings::default(), Applicability::Safe).text;
            commands.extend(runs(&fixed).into_iter().filter(|c| !before.contains(c)));
        }
        for command in commands {
            let dockerfile = format!(
                "FROM {base}\nRUN ({command}) 2>/tmp/err; cat /tmp/err >&2; ! grep -qiE 'unrecognized option|invalid option|unknown option|illegal option' /tmp/err\n"
            );
            let ctx = Context::new(&format!("safe-fix-{label}-{}-{ran}", rule.meta.code), &dockerfile);
            let out = ctx.build(&["--no-cache"]);
            assert!(out.status.success(), "{}: `{command}` is rejected on {label}:\n{}", rule.meta.code, stderr(&out));
            ran += 1;
        }
    }
    assert!(ran >= 5, "only {ran} RUN commands were tried");
}
