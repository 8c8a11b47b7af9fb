//! The store commands for real: `imgopt load` of a `docker save` archive and an OCI archive
//! (then `FROM` the loaded name builds), `imgopt images`, `imgopt rmi`, and `imgopt prune` (what
//! it frees, that named images and later builds survive it, `--all`, `--keep-storage`, and that
//! it waits for a running build). Each test has a store of its own. Building needs root (the
//! builder's namespaces); without it these tests say SKIPPED, and fail under CI.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use imgopt::image::{Image, ImageRef, OpenOptions};

fn imgopt() -> &'static str {
    env!("CARGO_BIN_EXE_imgopt")
}

struct Env {
    dir: PathBuf,
}

impl Env {
    /// A fresh store and work directory; None (after SKIPPED) without root or busybox-static.
    fn new(test: &str) -> Option<Env> {
        if !nix::unistd::geteuid().is_root() {
            assert!(std::env::var_os("CI").is_none(), "{test}: the store tests build, which needs root under CI");
            eprintln!("SKIPPED: {test}: not root");
            return None;
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("store-tests").join(test);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let env = Env { dir };
        common::busybox_archives(&env.dir.join("base"), "imgopt-test/bb:1")?;
        Some(env)
    }

    fn store(&self) -> PathBuf {
        self.dir.join("store")
    }

    fn docker_archive(&self) -> PathBuf {
        self.dir.join("base/busybox.docker.tar")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(imgopt()).args(args).env("IMGOPT_STORE", self.store()).output().expect("imgopt runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "imgopt {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A build context with this Dockerfile.
    fn context(&self, name: &str, dockerfile: &str) -> PathBuf {
        let ctx = self.dir.join("ctx").join(name);
        std::fs::create_dir_all(&ctx).unwrap();
        std::fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
        ctx
    }

    fn build(&self, ctx: &Path, tag: &str) -> String {
        let out = self.run(&["build", "-t", tag, ctx.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "build of {tag} failed:\n{err}");
        err
    }

    fn images(&self) -> Vec<serde_json::Value> {
        serde_json::from_str(&self.ok(&["images", "--format", "json"])).expect("images --format json is JSON")
    }

    fn prune(&self, extra: &[&str]) -> serde_json::Value {
        let mut args = vec!["prune", "--format", "json"];
        args.extend_from_slice(extra);
        serde_json::from_str(&self.ok(&args)).expect("prune --format json is JSON")
    }

    fn open(&self, name: &str) -> Image {
        let r = ImageRef::OciDir { dir: self.store(), tag: Some(name.to_string()) };
        Image::open(&r, &OpenOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

fn names(images: &[serde_json::Value]) -> Vec<String> {
    images.iter().filter_map(|i| i["name"].as_str().map(str::to_string)).collect()
}

#[test]
fn load_keeps_the_image_id_and_from_finds_the_loaded_name() {
    let Some(env) = Env::new("load") else { return };
    let (_, oci, config) = common::busybox_archives(&env.dir.join("base"), "imgopt-test/bb:1").unwrap();
    // docker-archive: the name it carries, layers hashed on the way in (it has no blob digest).
    let archive = format!("docker-archive:{}", env.docker_archive().display());
    env.ok(&["load", &archive]);
    // oci-archive with names of our own.
    let oci = format!("oci-archive:{}", oci.display());
    env.ok(&["load", &oci, "-t", "bb-oci", "-t", "example.com/team/bb:2"]);
    let images = env.images();
    assert_eq!(
        names(&images),
        ["docker.io/imgopt-test/bb:1", "docker.io/library/bb-oci:latest", "example.com/team/bb:2"]
    );
    for i in &images {
        assert_eq!(i["config"], config.to_string(), "the config is kept byte for byte: the image ID stays");
        assert_eq!(i["layers"], 1);
    }
    // The table says which size it shows.
    let table = env.ok(&["images"]);
    assert!(table.starts_with("NAME") && table.contains("SIZE (STORED LAYER BLOBS)"), "{table}");
    assert!(table.contains(&config.hex()[..12]), "{table}");
    // Every blob of the loaded image verifies.
    let loaded = env.open("docker.io/imgopt-test/bb:1");
    loaded.verify_config().unwrap();
    let layer = loaded.read_layer(0, true).expect("the layer verifies");
    assert!(layer.changes.iter().any(|c| matches!(c, imgopt::image::Change::Put(e) if e.path == "bin/busybox")));
    // FROM the loaded names (short and full) builds on them.
    let ctx = env.context("from-loaded", "FROM imgopt-test/bb:1\nRUN echo built > /built\n");
    env.build(&ctx, "child");
    let ctx = env.context("from-oci", "FROM example.com/team/bb:2\nRUN echo built > /built\n");
    env.build(&ctx, "child2");
    let child = env.open("docker.io/library/child:latest");
    assert_eq!(child.layers.len(), 2);
    assert_eq!(child.layers[0].diff_id, loaded.layers[0].diff_id);
}

#[test]
fn load_without_a_name_and_rmi_of_a_missing_name_fail_with_exit_2() {
    let Some(env) = Env::new("errors") else { return };
    let (_, oci, _) = common::busybox_archives(&env.dir.join("base"), "imgopt-test/bb:1").unwrap();
    // The names an archive carries: an OCI archive's ref.name; a docker archive without
    // RepoTags has none to take.
    let unnamed = env.dir.join("unnamed.docker.tar");
    let image = Image::open(&ImageRef::OciArchive { file: oci, tag: None }, &OpenOptions::default()).unwrap();
    assert_eq!(image.names, ["latest"]);
    let out = env.run(&["load", "docker-archive:/nonexistent/x.tar"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::copy(env.docker_archive(), &unnamed).unwrap();
    let rewritten = rewrite_repo_tags(&unnamed);
    assert!(rewritten, "the archive had a manifest.json to rewrite");
    let out = env.run(&["load", &format!("docker-archive:{}", unnamed.display())]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("carries no image name") && err.contains("-t NAME"), "{err}");
    env.ok(&["load", &format!("docker-archive:{}", unnamed.display()), "-t", "named"]);
    // rmi: the present name goes, the missing one is named in the error.
    let out = env.run(&["rmi", "named", "not-there:1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`not-there:1`") && err.contains("imgopt::rmi"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Untagged: named"));
    assert!(env.images().is_empty());
}

/// Drops RepoTags from the archive's manifest.json (rewrites the archive).
fn rewrite_repo_tags(file: &Path) -> bool {
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let mut archive = tar::Archive::new(std::fs::File::open(file).unwrap());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type().is_dir() {
            continue;
        }
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut bytes).unwrap();
        entries.push((name, bytes));
    }
    let mut found = false;
    for (name, bytes) in &mut entries {
        if name == "manifest.json" {
            let mut m: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            m[0]["RepoTags"] = serde_json::Value::Null;
            *bytes = serde_json::to_vec(&m).unwrap();
            found = true;
        }
    }
    common::write_tar(file, &entries);
    found
}

#[test]
fn prune_frees_what_no_named_image_needs_and_builds_still_work() {
    let Some(env) = Env::new("prune") else { return };
    env.ok(&["load", &format!("docker-archive:{}", env.docker_archive().display())]);
    let keep = env.context(
        "keep",
        "FROM imgopt-test/bb:1\nRUN --mount=type=cache,target=/c,id=prune-test echo x > /c/x && echo keep > /keep\n",
    );
    let drop = env.context("drop", "FROM imgopt-test/bb:1\nRUN head -c 1000000 /bin/busybox > /big\n");
    env.build(&keep, "keep");
    env.build(&drop, "drop");
    // Nothing is unreferenced yet.
    let nothing = env.prune(&[]);
    assert_eq!((nothing["blobs"].as_u64(), nothing["snapshots"].as_u64()), (Some(0), Some(0)), "{nothing}");
    env.ok(&["rmi", "drop"]);
    let freed = env.prune(&[]);
    // drop's layer blob, config and manifest; its snapshot; its step's cache entry.
    assert_eq!(freed["blobs"], 3, "{freed}");
    assert_eq!(freed["snapshots"], 1, "{freed}");
    assert_eq!(freed["cache_entries"], 1, "{freed}");
    assert_eq!(freed["cache_mounts"], 0, "{freed}");
    assert!(freed["freed_bytes"].as_u64().unwrap() > 1_000_000, "the 1 MB layer went twice over: {freed}");
    // The named image is whole, and its rebuild is all cached.
    let kept = env.open("docker.io/library/keep:latest");
    for i in 0..kept.layers.len() {
        kept.read_layer(i, true).expect("a kept layer verifies");
    }
    let err = env.build(&keep, "keep");
    assert!(err.contains("CACHED"), "{err}");
    // The dropped image builds again (its step runs anew).
    let err = env.build(&drop, "drop");
    assert!(!err.contains("CACHED"), "{err}");
    // --keep-storage above the store's size frees nothing.
    let none = env.prune(&["--all", "--keep-storage", "1TB"]);
    assert_eq!(none["freed_bytes"], 0, "{none}");
    // --all: every snapshot, cache entry and cache mount; named images stay.
    let all = env.prune(&["--all"]);
    assert_eq!(all["snapshots"], 3, "the base, keep's and drop's: {all}");
    assert_eq!(all["cache_mounts"], 1, "{all}");
    assert!(all["cache_entries"].as_u64().unwrap() >= 2, "{all}");
    // Blobs: at most the config and manifest of the `keep` that its rebuild replaced (a new
    // `created` time when the clock moved on); the named images are whole.
    assert!(all["blobs"].as_u64().unwrap() <= 2, "{all}");
    assert!(std::fs::read_dir(env.store().join("s")).unwrap().next().is_none());
    let named = names(&env.images());
    assert_eq!(named.len(), 3);
    for name in &named {
        let image = env.open(name);
        image.verify_config().unwrap();
        for i in 0..image.layers.len() {
            image.read_layer(i, true).unwrap_or_else(|e| panic!("{name} layer {i}: {e}"));
        }
    }
    // The next build unpacks the base again from its blob and runs its step.
    let err = env.build(&keep, "keep");
    assert!(!err.contains("CACHED"), "{err}");
    assert!(env.store().join("s").read_dir().unwrap().count() >= 2);
}

#[test]
fn keep_storage_removes_least_recently_used_first() {
    let Some(env) = Env::new("keep-storage") else { return };
    env.ok(&["load", &format!("docker-archive:{}", env.docker_archive().display())]);
    let old = env.context("old", "FROM imgopt-test/bb:1\nRUN head -c 500000 /bin/busybox > /old\n");
    let new = env.context("new", "FROM imgopt-test/bb:1\nRUN head -c 600000 /bin/busybox > /new\n");
    env.build(&old, "old");
    std::thread::sleep(std::time::Duration::from_millis(50));
    env.build(&new, "new");
    let top = |name: &str| {
        let image = env.open(name);
        let chain = imgopt::build::store::chain_id(Some(&image.layers[0].diff_id), &image.layers[1].diff_id);
        let blob = env.store().join(image.layers[1].digest.as_ref().unwrap().blob_path());
        (blob, env.store().join(imgopt::build::store::Store::snapshot_name(&chain)))
    };
    let (old_blob, old_snapshot) = top("docker.io/library/old:latest");
    let (new_blob, new_snapshot) = top("docker.io/library/new:latest");
    assert!(old_blob.is_file() && old_snapshot.is_dir() && new_blob.is_file() && new_snapshot.is_dir());
    env.ok(&["rmi", "old", "new"]);
    let before = imgopt::build::store::disk_usage(&env.store());
    // Just under the current size: the least recently used unreferenced thing goes (old's),
    // and pruning stops as soon as the store fits.
    let report = env.prune(&["--keep-storage", &(before - 1).to_string()]);
    assert_eq!(report["store_bytes_before"].as_u64(), Some(before), "{report}");
    assert!(report["store_bytes_after"].as_u64().unwrap() < before, "{report}");
    let removed = report["blobs"].as_u64().unwrap() + report["snapshots"].as_u64().unwrap();
    assert!((1..=2).contains(&removed), "one or two of 8 unreferenced items: {report}");
    assert!(!old_blob.exists() || !old_snapshot.exists(), "old's layer went first: {report}");
    assert!(new_blob.is_file() && new_snapshot.is_dir(), "new's layer stays: {report}");
    // What remains goes with a plain prune.
    let rest = env.prune(&[]);
    let all = removed + rest["blobs"].as_u64().unwrap() + rest["snapshots"].as_u64().unwrap();
    assert_eq!(all, 8, "6 blobs (layer, config, manifest of each) and 2 snapshots: {rest}");
    assert!(!new_blob.exists() && !new_snapshot.exists());
}

#[test]
fn prune_waits_for_a_running_build() {
    let Some(env) = Env::new("wait") else { return };
    env.ok(&["load", &format!("docker-archive:{}", env.docker_archive().display())]);
    let ctx = env.context("slow", "FROM imgopt-test/bb:1\nRUN echo started; sleep 2; echo done > /done\n");
    let mut build = Command::new(imgopt())
        .args(["build", ctx.to_str().unwrap()])
        .env("IMGOPT_STORE", env.store())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut err = build.stderr.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    while !seen.contains("started") {
        let n = std::io::Read::read(&mut err, &mut buf).unwrap();
        assert!(n > 0, "the build ended before its RUN started: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    // The build's image is unnamed until it ends: a prune now would remove its blobs.
    let prune = env.run(&["prune", "--all", "--format", "json"]);
    let prune_err = String::from_utf8_lossy(&prune.stderr).into_owned();
    assert!(prune.status.success(), "{prune_err}");
    assert!(prune_err.contains("waiting for the builds"), "{prune_err}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = build.wait().unwrap();
    assert!(status.success(), "the build survived the prune: {seen}{rest}");
    // The build had finished when prune ran: its image is named and whole.
    let built = env.images().into_iter().find(|i| i["name"].as_str().is_some_and(|n| n.starts_with("imgopt.local/")));
    let name = built.expect("the build named its image")["name"].as_str().unwrap().to_string();
    let image = env.open(&name);
    image.read_layer(image.layers.len() - 1, true).expect("its last layer is there and verifies");
}

/// The `dist/` records of a store: (file name, the compressed blob's descriptor).
fn dist_records(store: &Path) -> Vec<(String, imgopt::image::spec::Descriptor)> {
    let mut records: Vec<_> = std::fs::read_dir(store.join("dist"))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let descriptor = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            (path.file_name().unwrap().to_string_lossy().into_owned(), descriptor)
        })
        .collect();
    records.sort_by(|a, b| a.0.cmp(&b.0));
    records
}

fn inode(path: &Path) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap())
}

#[test]
fn the_store_keeps_plain_layers_and_exports_compress_them_once() {
    use imgopt::image::spec::{MEDIA_OCI_LAYER_GZIP, MEDIA_OCI_LAYER_TAR};
    let Some(env) = Env::new("compress") else { return };
    let (_, oci, _) = common::busybox_archives(&env.dir.join("base"), "imgopt-test/bb:1").unwrap();
    env.ok(&["load", &format!("docker-archive:{}", env.docker_archive().display())]);
    env.ok(&["load", &format!("oci-archive:{}", oci.display()), "-t", "bb-gz"]);
    let dockerfile = "RUN head -c 400000 /bin/busybox > /big && echo hi > /small\n";
    let ctx = env.context("plain", &format!("FROM imgopt-test/bb:1\n{dockerfile}"));
    env.build(&ctx, "plain");
    // In the store: every layer a plain tar, its blob digest its diff_id.
    let stored = env.open("docker.io/library/plain:latest");
    for l in &stored.layers {
        assert_eq!(l.media_type.as_deref(), Some(MEDIA_OCI_LAYER_TAR));
        assert_eq!(l.digest.as_ref(), Some(&l.diff_id));
    }
    assert!(dist_records(&env.store()).is_empty(), "a build alone compresses nothing");

    // -o oci: (the build is cached): every layer gzip, every digest verifies, the config is the
    // store's (the same image ID).
    let out = env.dir.join("out");
    let export = |dest: &str| {
        let run = env.run(&["build", "-t", "plain", "-o", dest, ctx.to_str().unwrap()]);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    };
    export(&format!("oci:{}:v1", out.join("oci").display()));
    let exported =
        Image::open(&ImageRef::OciDir { dir: out.join("oci"), tag: Some("v1".into()) }, &OpenOptions::default())
            .unwrap();
    exported.verify_config().unwrap();
    assert_eq!(exported.config_digest, stored.config_digest);
    assert_eq!(exported.layers.len(), 2);
    for (i, l) in exported.layers.iter().enumerate() {
        assert_eq!(l.media_type.as_deref(), Some(MEDIA_OCI_LAYER_GZIP), "layer {i}");
        assert_eq!(l.diff_id, stored.layers[i].diff_id);
        assert!(l.size < stored.layers[i].size, "layer {i}: {} compressed, {} plain", l.size, stored.layers[i].size);
        let read = exported.read_layer(i, true).expect("the exported layer verifies");
        assert_eq!(read.compression, imgopt::image::Compression::Gzip);
    }
    // Other tools check the digests too: skopeo copies the layout (verifying every blob).
    if Command::new("skopeo").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let copied = out.join("copied");
        let oci_ref = format!("oci:{}:v1", out.join("oci").display());
        let copy = Command::new("skopeo")
            .args(["copy", "--quiet", &oci_ref, &format!("dir:{}", copied.display())])
            .output()
            .unwrap();
        assert!(copy.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&copy.stderr));
        let inspect = Command::new("skopeo").args(["inspect", "--raw", &oci_ref]).output().unwrap();
        assert!(inspect.status.success(), "skopeo inspect: {}", String::from_utf8_lossy(&inspect.stderr));
        let json: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
        let mime: Vec<&str> =
            json["layers"].as_array().unwrap().iter().filter_map(|l| l["mediaType"].as_str()).collect();
        assert_eq!(mime, [MEDIA_OCI_LAYER_GZIP; 2], "{json}");
        // The copy holds the same gzip blobs.
        for l in &exported.layers {
            let copied_blob = std::fs::read(copied.join(l.digest.as_ref().unwrap().hex())).unwrap();
            assert_eq!(imgopt::image::Digest::sha256_of(&copied_blob), *l.digest.as_ref().unwrap());
        }
    } else {
        eprintln!("(skopeo missing: its check is skipped)");
    }

    // Made once: a record per layer, and a second export (oci-archive:) reuses the blobs.
    let records = dist_records(&env.store());
    assert_eq!(records.len(), 2, "{records:?}");
    for l in &exported.layers {
        let name = format!("{}.gzip", l.diff_id.hex());
        let record = records.iter().find(|r| r.0 == name).unwrap_or_else(|| panic!("no record {name}: {records:?}"));
        assert_eq!(Some(&record.1.digest), l.digest.as_ref());
    }
    let blobs: Vec<PathBuf> = records.iter().map(|(_, d)| env.store().join(d.digest.blob_path())).collect();
    let inodes: Vec<u64> = blobs.iter().map(|b| inode(b)).collect();
    export(&format!("oci-archive:{}", out.join("image.tar").display()));
    let archived =
        Image::open(&ImageRef::OciArchive { file: out.join("image.tar"), tag: None }, &OpenOptions::default()).unwrap();
    let digests = |i: &Image| i.layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>();
    assert_eq!(digests(&archived), digests(&exported));
    assert_eq!(blobs.iter().map(|b| inode(b)).collect::<Vec<_>>(), inodes, "the compressed blobs were made again");
    // docker-archive: holds plain tars, compresses nothing.
    export(&format!("docker-archive:{}", out.join("docker.tar").display()));
    assert_eq!(dist_records(&env.store()).len(), 2);

    // A layer that came compressed leaves as it came.
    let gz_ctx = env.context("on-gz", &format!("FROM bb-gz\n{dockerfile}"));
    env.build(&gz_ctx, "on-gz");
    let loaded_gz = env.open("docker.io/library/bb-gz:latest");
    let run = env.run(&[
        "build",
        "-t",
        "on-gz",
        "-o",
        &format!("oci:{}:v2", out.join("oci").display()),
        gz_ctx.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let on_gz =
        Image::open(&ImageRef::OciDir { dir: out.join("oci"), tag: Some("v2".into()) }, &OpenOptions::default())
            .unwrap();
    assert_eq!(on_gz.layers[0].digest, loaded_gz.layers[0].digest);

    // prune keeps the compressed blobs of named images; without the names they go, records too.
    // (What goes now is the configs and manifests the rebuilds above replaced.)
    let kept = env.prune(&[]);
    assert!(blobs.iter().all(|b| b.is_file()), "{kept}");
    assert_eq!(dist_records(&env.store()).len(), 2, "{kept}");
    env.ok(&["rmi", "plain", "on-gz", "imgopt-test/bb:1", "bb-gz"]);
    let freed = env.prune(&[]);
    assert!(blobs.iter().all(|b| !b.exists()), "{freed}");
    assert!(dist_records(&env.store()).is_empty(), "{freed}");
    assert!(std::fs::read_dir(env.store().join("blobs/sha256")).unwrap().next().is_none(), "{freed}");
}

#[test]
fn analyze_reports_compressed_sizes_of_a_store_with_plain_layers() {
    let Some(env) = Env::new("analyze-sizes") else { return };
    env.ok(&["load", &format!("docker-archive:{}", env.docker_archive().display())]);
    let ctx = env.context("sizes", "FROM imgopt-test/bb:1\nRUN head -c 400000 /bin/busybox > /big\n");
    let report = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["analyze", "--format", "json", "--skip-packages"];
        args.extend_from_slice(extra);
        args.push(ctx.to_str().unwrap());
        serde_json::from_str(&env.ok(&args)).expect("analyze --format json is JSON")
    };
    let gz = report(&[]);
    let layers = gz["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    let mut compressed_total = 0;
    for l in layers {
        assert_eq!(l["compression"], "gzip", "{l}");
        let (compressed, plain) = (l["compressed_bytes"].as_u64().unwrap(), l["uncompressed_bytes"].as_u64().unwrap());
        assert!(compressed < plain, "{l}");
        assert_ne!(l["digest"], l["diff_id"], "{l}");
        // The digest reported is the compressed blob's, kept in the store, of that size.
        let digest = imgopt::image::Digest::parse(l["digest"].as_str().unwrap()).unwrap();
        let blob = std::fs::read(env.store().join(digest.blob_path())).unwrap();
        assert_eq!(blob.len() as u64, compressed);
        assert_eq!(imgopt::image::Digest::sha256_of(&blob), digest);
        // And the store holds the plain tar under the diff_id.
        let diff_id = imgopt::image::Digest::parse(l["diff_id"].as_str().unwrap()).unwrap();
        assert_eq!(std::fs::metadata(env.store().join(diff_id.blob_path())).unwrap().len(), plain);
        compressed_total += compressed;
    }
    assert_eq!(gz["totals"]["compressed_bytes"].as_u64(), Some(compressed_total));
    // The image in the store, named with --image, is reported the same way, and compared with
    // itself nothing moves (both sides are counted compressed).
    let built = names(&env.images()).into_iter().find(|n| n.starts_with("imgopt.local/")).expect("the built image");
    let stored = format!("oci:{}:{built}", env.store().display());
    let by_name: serde_json::Value =
        serde_json::from_str(&env.ok(&["analyze", "--format", "json", "--skip-packages", "--image", &stored])).unwrap();
    assert_eq!(by_name["totals"]["compressed_bytes"], gz["totals"]["compressed_bytes"]);
    assert_eq!(by_name["layers"][1]["digest"], layers[1]["digest"]);
    let compared: serde_json::Value =
        serde_json::from_str(&env.ok(&["analyze", "--format", "json", "--image", &stored, "--compare", &stored]))
            .unwrap();
    assert_eq!(compared["totals"]["compressed_bytes"]["difference"], 0, "{compared}");
    assert_eq!(compared["totals"]["compressed_bytes"]["after"], gz["totals"]["compressed_bytes"], "{compared}");
    // The layer the build made is the same either way; only its shipped form changes.
    let zst = report(&["--compression", "zstd"]);
    assert!(zst["layers"].as_array().unwrap().iter().all(|l| l["compression"] == "zstd"), "{zst}");
    assert_eq!(zst["layers"][1]["diff_id"], layers[1]["diff_id"]);
    let none = report(&["--compression", "none"]);
    for l in none["layers"].as_array().unwrap() {
        assert_eq!(l["compression"], "none", "{l}");
        assert_eq!(l["compressed_bytes"], l["uncompressed_bytes"], "{l}");
    }
}
