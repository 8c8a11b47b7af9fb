//! `--builder docker`: `imgopt build` and `imgopt analyze` through Docker's BuildKit (Debian's
//! docker.io, /usr/bin/docker; the daemon started once per run by `common::docker_daemon`). The
//! base is the busybox-static image of `common::busybox_archives`, given to Docker with `docker
//! load` (no registry is reachable). Without docker these tests say SKIPPED; under CI=true they
//! fail.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use imgopt::image::{Change, Image, ImageRef, OpenOptions};

const BASE: &str = "imgopt-test/engine-bb:1";

fn imgopt() -> &'static str {
    env!("CARGO_BIN_EXE_imgopt")
}

fn dir(test: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("engine-tests").join(test);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Docker answering, with the busybox base loaded; false after SKIPPED.
fn ready(test: &str) -> bool {
    if !common::docker_daemon() {
        return false;
    }
    let d = dir(&format!("{test}-base"));
    let Some((archive, _, _)) = common::busybox_archives(&d, BASE) else { return false };
    let out = Command::new(common::DOCKER).arg("load").arg("-i").arg(&archive).output().unwrap();
    assert!(out.status.success(), "docker load: {}", String::from_utf8_lossy(&out.stderr));
    true
}

fn run(store: &std::path::Path, args: &[&str]) -> Output {
    Command::new(imgopt())
        .args(args)
        .env("IMGOPT_STORE", store)
        .env("DOCKER", common::DOCKER)
        .output()
        .expect("imgopt runs")
}

const DOCKERFILE: &str = "FROM imgopt-test/engine-bb:1 AS final
ARG MSG=unset
RUN echo \"$MSG\" > /msg
RUN --mount=type=secret,id=tok test \"$(cat /run/secrets/tok)\" = s3cret && echo ok > /secret-ok
FROM imgopt-test/engine-bb:1 AS later
RUN exit 3
";

#[test]
fn docker_builds_and_imgopt_loads_the_image_into_its_store() {
    if !ready("build") {
        return;
    }
    let d = dir("build");
    let ctx = d.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(d.join("token"), "s3cret").unwrap();
    let secret = format!("id=tok,src={}", d.join("token").display());
    let store = d.join("store");
    let args = [
        "build",
        "--builder",
        "docker",
        "-t",
        "imgopt-test/engine-out:1",
        "--target",
        "final",
        "--build-arg",
        "MSG=hello",
        "--secret",
        &secret,
        "--network",
        "none",
        "--no-cache",
        ctx.to_str().unwrap(),
    ];
    let out = run(&store, &args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let manifest = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(manifest.starts_with("sha256:"), "stdout is the manifest digest: {manifest}");
    // The image ID is Docker's.
    let id = Command::new(common::DOCKER)
        .args(["image", "inspect", "-f", "{{.Id}}", "imgopt-test/engine-out:1"])
        .output()
        .unwrap();
    let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
    let listed: Vec<serde_json::Value> =
        serde_json::from_slice(&run(&store, &["images", "--format", "json"]).stdout).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["name"], "docker.io/imgopt-test/engine-out:1");
    assert_eq!(listed[0]["config"], id);
    assert_eq!(listed[0]["manifest"], manifest);
    // The temporary name given to docker is gone again.
    let temp = Command::new(common::DOCKER)
        .args(["image", "ls", "-q", "--filter", "reference=imgopt.local/engine-build"])
        .output()
        .unwrap();
    assert!(temp.stdout.is_empty(), "{}", String::from_utf8_lossy(&temp.stdout));
    // What docker built: the build arg, the secret seen (and not stored), the target honoured.
    let image = Image::open(
        &ImageRef::OciDir { dir: store.clone(), tag: Some("docker.io/imgopt-test/engine-out:1".into()) },
        &OpenOptions::default(),
    )
    .unwrap();
    let mut files = std::collections::BTreeMap::new();
    for i in 0..image.layers.len() {
        for c in image.read_layer(i, true).expect("each layer verifies").changes {
            if let Change::Put(e) = c {
                files.insert(e.path.clone(), e.size);
            }
        }
    }
    assert_eq!(files.get("msg"), Some(&6), "{files:?}");
    assert_eq!(files.get("secret-ok"), Some(&3), "{files:?}");
    assert!(!files.keys().any(|k| k.starts_with("run/secrets/")), "{files:?}");
}

#[test]
fn analyze_with_docker_maps_layers_to_lines() {
    if !ready("analyze") {
        return;
    }
    let d = dir("analyze");
    std::fs::write(
        d.join("Dockerfile"),
        "FROM imgopt-test/engine-bb:1\nENV A=1\nRUN echo one > /one\nRUN echo twotwo > /two\n",
    )
    .unwrap();
    let store = d.join("store");
    let out = run(&store, &["analyze", "--builder", "docker", "--format", "json", d.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers = report["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3, "{report}");
    let lines: Vec<u64> = layers.iter().map(|l| l["dockerfile"]["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [1, 3, 4], "base, then each RUN on its line");
    assert_eq!(layers[2]["content_bytes"], 7);
    // Analyzed from the saved archive: nothing was added to the store.
    let listed: Vec<serde_json::Value> =
        serde_json::from_slice(&run(&store, &["images", "--format", "json"]).stdout).unwrap();
    assert!(listed.is_empty(), "{listed:?}");
    assert!(std::fs::read_dir(store.join("tmp")).unwrap().next().is_none(), "the archive is removed");
}

#[test]
fn a_failing_docker_build_or_a_missing_docker_is_exit_2() {
    if !ready("fails") {
        return;
    }
    let d = dir("fails");
    std::fs::write(d.join("Dockerfile"), DOCKERFILE).unwrap();
    let store = d.join("store");
    // Without --target the stage that exits 3 is built.
    let out = run(&store, &["build", "--builder", "docker", d.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("imgopt::builder") && err.contains("build failed"), "{err}");
    let out = Command::new(imgopt())
        .args(["build", "--builder", "docker", d.to_str().unwrap()])
        .env("IMGOPT_STORE", &store)
        .env("DOCKER", "/nonexistent/docker")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot run /nonexistent/docker"), "{err}");
}

#[test]
fn buildah_builds_too() {
    if !common::need(&["buildah"], "apt-get install buildah") {
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        assert!(std::env::var_os("CI").is_none(), "the buildah test runs as root under CI");
        println!("SKIPPED: buildah_builds_too: not root");
        return;
    }
    let d = dir("buildah");
    // containers/storage binds its overlay directory onto itself the first time it runs; the
    // test leaves no mount behind that was not there before it.
    const GRAPH: &str = "/var/lib/containers/storage/overlay";
    let mounted =
        || std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default().contains(&format!(" {GRAPH} "));
    let was_mounted = mounted();
    let Some((archive, _, _)) = common::busybox_archives(&d.join("base"), BASE) else { return };
    let pulled =
        Command::new("buildah").arg("pull").arg(format!("docker-archive:{}", archive.display())).output().unwrap();
    assert!(pulled.status.success(), "buildah pull: {}", String::from_utf8_lossy(&pulled.stderr));
    std::fs::write(d.join("Dockerfile"), "FROM imgopt-test/engine-bb:1\nARG MSG\nRUN echo \"$MSG\" > /msg\n").unwrap();
    let store = d.join("store");
    // chroot isolation: the OCI runtime (crun) cannot make cgroups in every container this runs in.
    let out = Command::new(imgopt())
        .args(["build", "--builder", "buildah", "-t", "imgopt-test/buildah-out:1", "--build-arg", "MSG=hello"])
        .arg(&d)
        .env("IMGOPT_STORE", &store)
        .env("BUILDAH_ISOLATION", "chroot")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let image = Image::open(
        &ImageRef::OciDir { dir: store, tag: Some("docker.io/imgopt-test/buildah-out:1".into()) },
        &OpenOptions::default(),
    )
    .unwrap();
    assert_eq!(image.layers.len(), 2);
    let top = image.read_layer(1, true).expect("the layer verifies");
    assert!(
        top.changes.iter().any(|c| matches!(c, Change::Put(e) if e.path == "msg" && e.size == 6)),
        "{:?}",
        top.changes
    );
    let _ = Command::new("buildah").args(["rmi", "imgopt-test/buildah-out:1"]).output();
    if !was_mounted && mounted() {
        let _ = nix::mount::umount2(GRAPH, nix::mount::MntFlags::MNT_DETACH);
    }
}
