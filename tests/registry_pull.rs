//! Pulling from a real registry on loopback: Debian's `docker-registry` (distribution), started
//! here, filled with `skopeo copy --all` from a generated OCI layout whose nested index holds the
//! image and a BuildKit-style attestation manifest.
//!
//! Needs: docker-registry, skopeo (apt). With CI=true missing tools fail the test.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

fn tools_present() -> bool {
    let missing: Vec<&str> = ["docker-registry", "skopeo"].into_iter().filter(|t| !on_path(t)).collect();
    tools_ready(&missing, "apt-get install docker-registry skopeo")
}

fn analyze(reference: &str, cache: &std::path::Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_imgopt"))
        .args(["analyze", "--image", reference, "--format", "json", "--verify"])
        .env("XDG_CACHE_HOME", cache)
        .output()
        .unwrap();
    assert!(out.status.success(), "{reference}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn without_storage(report: &Value) -> Value {
    let mut report = report.clone();
    report["image"] = Value::Null;
    report["totals"]["compressed_bytes"] = Value::Null;
    for layer in report["layers"].as_array_mut().unwrap() {
        for key in ["digest", "compression", "compressed_bytes"] {
            layer[key] = Value::Null;
        }
    }
    report
}

#[test]
fn pulls_from_a_loopback_registry() {
    if !tools_present() {
        return;
    }
    let tmp = TempDir::new("registry");
    let registry = common::registry::start(&tmp.0, None);
    let port = registry.port;

    let layers = waste_scenario();
    let oci = tmp.path("oci");
    write_dir(&oci, &oci_files(&layers, &config_json(&layers)));
    let name = format!("127.0.0.1:{port}/test/scenario:latest");
    let out = Command::new("skopeo")
        .args(["copy", "--all", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:latest", oci.display()))
        .arg(format!("docker://{name}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo: {}", String::from_utf8_lossy(&out.stderr));

    let cache = tmp.path("cache");
    let local = analyze(&format!("oci:{}", oci.display()), &cache);
    let pulled = analyze(&format!("registry:{name}"), &cache);
    // skopeo gzips the uncompressed layer on the way to the registry: compare everything but the
    // stored form.
    assert_eq!(without_storage(&pulled), without_storage(&local));
    assert_eq!(pulled["totals"]["reclaimable_bytes"], 2050);
    // Blobs are cached by digest: the three layers, config, manifest, and both indexes.
    let cached = std::fs::read_dir(cache.join("imgopt/blobs/sha256")).unwrap().count();
    assert!(cached >= 6, "{cached} blobs cached");
    // By digest (of the top index, as skopeo reports it), with the cache warm.
    let out = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"])
        .arg(format!("docker://{name}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo inspect: {}", String::from_utf8_lossy(&out.stderr));
    let digest = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(digest.starts_with("sha256:"), "{digest}");
    let by_digest = analyze(&format!("registry:127.0.0.1:{port}/test/scenario@{digest}"), &cache);
    assert_eq!(without_storage(&by_digest), without_storage(&local));
    // An unknown tag is a clear error naming the image.
    let out = Command::new(env!("CARGO_BIN_EXE_imgopt"))
        .args(["analyze", "--image", &format!("registry:127.0.0.1:{port}/test/scenario:nope")])
        .env("XDG_CACHE_HOME", &cache)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a missing image is an error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("test/scenario:nope") && stderr.contains("404"), "{stderr}");
}

#[test]
fn builds_from_an_image_in_a_loopback_registry() {
    if !tools_present() {
        return;
    }
    if !nix::unistd::geteuid().is_root() || !std::path::Path::new("/bin/busybox").exists() {
        assert!(std::env::var_os("CI").is_none(), "the build needs root and busybox-static under CI");
        eprintln!("SKIPPED: builds_from_an_image_in_a_loopback_registry: needs root and /bin/busybox");
        return;
    }
    let tmp = TempDir::new("registry-build");
    let registry = common::registry::start(&tmp.0, None);
    let port = registry.port;
    // A busybox image built by imgopt, written as an OCI layout and pushed with skopeo.
    let ctx = tmp.path("base");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::copy("/bin/busybox", ctx.join("busybox")).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
    )
    .unwrap();
    let imgopt = env!("CARGO_BIN_EXE_imgopt");
    let oci = tmp.path("oci");
    let out = Command::new(imgopt)
        .args(["build", "-o", &format!("oci:{}:v1", oci.display())])
        .arg(&ctx)
        .env("IMGOPT_STORE", tmp.path("store-a"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let name = format!("127.0.0.1:{port}/test/busybox:1");
    let out = Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:v1", oci.display()))
        .arg(format!("docker://{name}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo: {}", String::from_utf8_lossy(&out.stderr));
    // A fresh store: FROM pulls through imgopt's registry client, then builds on it.
    let app = tmp.path("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("Dockerfile"), format!("FROM {name}\nRUN echo built-on-pulled > /mark\n")).unwrap();
    let store = tmp.path("store-b");
    let out = Command::new(imgopt)
        .args(["analyze", "--format", "json"])
        .arg(&app)
        .env("IMGOPT_STORE", &store)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("pulling 127.0.0.1:"), "{err}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers = report["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3, "two pulled layers and the RUN's");
    assert_eq!(layers[2]["dockerfile"]["line"], 2);
    assert_eq!(layers[0]["dockerfile"]["match"], "base_image");
    let index = std::fs::read_to_string(store.join("index.json")).unwrap();
    assert!(index.contains(&name), "the pulled base is named in the store: {index}");
}
