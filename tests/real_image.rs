//! A real image built by buildah from Debian's busybox-static, converted by skopeo, analyzed in
//! every format and every output: the numbers must agree with each other and with the bytes of
//! the files that went in.
//!
//! Needs: buildah, skopeo, busybox-static (apt). Run as root; buildah uses the vfs storage driver
//! and chroot isolation with its own storage under a temporary directory, which works in a VM or
//! container without overlay or user namespaces. With CI=true a missing tool fails the test.

mod common;

use std::path::Path;
use std::process::Command;

use common::TempDir;
use serde_json::{json, Value};

const BUSYBOX: &str = "/bin/busybox";
/// Written into the first layer and deleted in the second.
const BLOB_BYTES: usize = 300_000;

fn tools_present() -> bool {
    let mut missing: Vec<&str> = ["buildah", "skopeo"].into_iter().filter(|t| !common::on_path(t)).collect();
    if !Path::new(BUSYBOX).is_file() {
        missing.push("busybox-static (/bin/busybox)");
    }
    common::tools_ready(&missing, "apt-get install buildah skopeo busybox-static")
}

struct Buildah {
    root: String,
    runroot: String,
}

impl Buildah {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("buildah")
            .args(["--root", &self.root, "--runroot", &self.runroot, "--storage-driver", "vfs"])
            .args(args)
            .env("BUILDAH_ISOLATION", "chroot")
            .output()
            .expect("buildah runs");
        assert!(out.status.success(), "buildah {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

fn imgopt(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_imgopt")).args(args).output().expect("imgopt runs");
    assert!(out.status.success(), "imgopt {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The numbers that must not depend on how the image was packed.
fn figures(report: &Value) -> Value {
    let layers: Vec<Value> = report["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| {
            serde_json::json!([
                l["diff_id"],
                l["content_bytes"],
                l["uncompressed_bytes"],
                l["invisible_bytes"],
                l["files_added"],
                l["files_changed"],
                l["files_metadata_only"],
                l["files_removed"],
                l["instruction"]
            ])
        })
        .collect();
    let t = &report["totals"];
    serde_json::json!({
        "layers": layers,
        "totals": [t["content_bytes"], t["final_fs_bytes"], t["final_files"], t["reclaimable_bytes"]],
        "dive": report["dive"],
        "largest": report["largest_files"],
        "invisible": report["invisible_files"],
    })
}

#[test]
fn busybox_image_in_every_format() {
    if !tools_present() {
        return;
    }
    let tmp = TempDir::new("buildah");
    let b =
        Buildah { root: tmp.path("root").display().to_string(), runroot: tmp.path("runroot").display().to_string() };
    let blob = tmp.path("blob");
    std::fs::write(&blob, common::bytes(BLOB_BYTES, 7)).unwrap();
    let busybox_bytes = std::fs::metadata(BUSYBOX).unwrap().len();

    // Layer 0: busybox and a 300 kB file. Layer 1: the file deleted, busybox chmod-ed (a copy
    // with the same content).
    let c = b.run(&["from", "scratch"]);
    b.run(&["copy", &c, BUSYBOX, "/bin/busybox"]);
    b.run(&["copy", &c, &blob.display().to_string(), "/data/blob"]);
    b.run(&["commit", "--rm", &c, "imgopt-test-base"]);
    let c = b.run(&["from", "imgopt-test-base"]);
    b.run(&["run", "--isolation", "chroot", &c, "--", "/bin/busybox", "rm", "/data/blob"]);
    b.run(&["run", "--isolation", "chroot", &c, "--", "/bin/busybox", "chmod", "700", "/bin/busybox"]);
    b.run(&["commit", "--rm", &c, "imgopt-test"]);

    let oci = tmp.path("oci");
    let oci_archive = tmp.path("oci.tar");
    let docker_archive = tmp.path("docker.tar");
    let from_skopeo = tmp.path("skopeo-docker.tar");
    b.run(&["push", "imgopt-test", &format!("oci:{}:latest", oci.display())]);
    b.run(&["push", "imgopt-test", &format!("oci-archive:{}:latest", oci_archive.display())]);
    b.run(&["push", "imgopt-test", &format!("docker-archive:{}:imgopt-test:latest", docker_archive.display())]);
    let out = Command::new("skopeo")
        .args([
            "copy",
            &format!("oci:{}:latest", oci.display()),
            &format!("docker-archive:{}:imgopt-test:latest", from_skopeo.display()),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo: {}", String::from_utf8_lossy(&out.stderr));

    let refs = [
        format!("oci:{}:latest", oci.display()),
        format!("oci-archive:{}", oci_archive.display()),
        format!("docker-archive:{}", docker_archive.display()),
        format!("docker-archive:{}", from_skopeo.display()),
    ];
    let reports: Vec<Value> = refs
        .iter()
        .map(|r| serde_json::from_str(&imgopt(&["analyze", "--image", r, "--format", "json", "--verify"])).unwrap())
        .collect();

    // Bytes by hand: layer 0 ships busybox + 300000; layer 1 ships busybox again (chmod copy).
    // Invisible: all of layer 0 (its busybox was replaced by the copy, its blob deleted).
    let r = &reports[0];
    let t = &r["totals"];
    assert_eq!(r["layers"].as_array().unwrap().len(), 2);
    assert_eq!(r["layers"][0]["content_bytes"], busybox_bytes + BLOB_BYTES as u64);
    assert_eq!(r["layers"][1]["content_bytes"], busybox_bytes);
    assert_eq!(r["layers"][0]["invisible_bytes"], busybox_bytes + BLOB_BYTES as u64);
    assert_eq!(r["layers"][1]["files_metadata_only"], 1);
    assert_eq!(r["layers"][1]["files_removed"], 1);
    assert_eq!(t["final_fs_bytes"], busybox_bytes);
    assert_eq!(t["reclaimable_bytes"], busybox_bytes + BLOB_BYTES as u64);
    // dive counts both busybox copies and the deleted blob.
    assert_eq!(r["dive"]["wasted_bytes"], 2 * busybox_bytes + BLOB_BYTES as u64);

    for (reference, report) in refs.iter().zip(&reports).skip(1) {
        assert_eq!(figures(report), figures(&reports[0]), "{reference} differs from {}", refs[0]);
    }

    // The other output formats carry the same numbers.
    let table = imgopt(&["analyze", "--image", &refs[2]]);
    let markdown = imgopt(&["analyze", "--image", &refs[1], "--format", "markdown"]);
    let reclaimable = format!("{} B", busybox_bytes + BLOB_BYTES as u64);
    assert!(table.contains("Reclaimable:  ") && table.contains(&reclaimable), "{table}");
    assert!(markdown.contains("| Reclaimable | ") && markdown.contains(&reclaimable), "{markdown}");
    assert!(
        table.contains("wastedBytes") && table.contains(&format!("({} B)", 2 * busybox_bytes + BLOB_BYTES as u64)),
        "{table}"
    );

    // All the reclaimable bytes are the base layer's (layer 1 hides them): the gates judge the
    // user's layers unless --include-base. A failing gate exits 1 and says by how much.
    let gate = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_imgopt"))
            .args(["analyze", "--image", &refs[0], "--format", "json", "--max-wasted-bytes", "1000"])
            .args(extra)
            .output()
            .unwrap()
    };
    assert_eq!(t["reclaimable_user_bytes"], 0);
    assert_eq!(gate(&[]).status.code(), Some(0));
    let out = gate(&["--include-base"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{} B over the limit of 1000 B", busybox_bytes + BLOB_BYTES as u64 - 1000)),
        "{stderr}"
    );
}

/// A multi-stage Dockerfile built by `buildah build` on a base made by `buildah commit`.
const DOCKERFILE: &str = r#"FROM localhost/imgopt-df-base AS tools
RUN ["/bin/busybox", "mkdir", "-p", "/opt/tools"]

FROM tools
ARG VERSION=1.0
ENV APP=/app
WORKDIR /app
COPY hello.txt ./
COPY dir/ /app/dir/
RUN /bin/busybox echo $VERSION > /app/version && \
    /bin/busybox rm /app/hello.txt
COPY --from=tools /bin/busybox /app/bb
LABEL purpose=test
RUN /bin/busybox touch /app/last
CMD ["/bin/busybox", "sh"]
"#;

/// 1-based line of the instruction that starts with `start`.
fn line_of(start: &str) -> u64 {
    DOCKERFILE.lines().position(|l| l.starts_with(start)).map(|i| i as u64 + 1).expect("instruction in DOCKERFILE")
}

fn mapped_lines(report: &Value) -> Vec<(Value, Value)> {
    report["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| (l["dockerfile"]["line"].clone(), l["dockerfile"]["match"].clone()))
        .collect()
}

#[test]
fn buildah_build_maps_back_to_its_dockerfile() {
    if !tools_present() {
        return;
    }
    let tmp = TempDir::new("buildah-df");
    let b =
        Buildah { root: tmp.path("root").display().to_string(), runroot: tmp.path("runroot").display().to_string() };
    let busybox_bytes = std::fs::metadata(BUSYBOX).unwrap().len();
    // The base image: busybox and a /bin/sh link to it, committed (its history is not the
    // Dockerfile's: it maps to the FROM line).
    let c = b.run(&["from", "scratch"]);
    b.run(&["copy", &c, BUSYBOX, "/bin/busybox"]);
    b.run(&["run", "--isolation", "chroot", &c, "--", "/bin/busybox", "ln", "-s", "busybox", "/bin/sh"]);
    b.run(&["commit", "--rm", &c, "imgopt-df-base"]);

    let ctx = tmp.path("ctx");
    std::fs::create_dir_all(ctx.join("dir")).unwrap();
    std::fs::write(ctx.join("Dockerfile"), DOCKERFILE).unwrap();
    std::fs::write(ctx.join("hello.txt"), "hello\n").unwrap();
    std::fs::write(ctx.join("dir/a"), "a\n").unwrap();
    std::fs::write(ctx.join("dir/b"), "b\n").unwrap();
    let dockerfile = ctx.join("Dockerfile").display().to_string();
    let context = ctx.display().to_string();
    let build = |tag: &str, layers: &str| {
        b.run(&["build", "--isolation", "chroot", "--pull=never", layers, "-f", &dockerfile, "-t", tag, &context]);
        let oci = tmp.path(tag);
        b.run(&["push", tag, &format!("oci:{}:latest", oci.display())]);
        let reference = format!("oci:{}:latest", oci.display());
        let json: Value =
            serde_json::from_str(&imgopt(&["analyze", "--image", &reference, "-f", &dockerfile, "--format", "json"]))
                .unwrap();
        let table = imgopt(&["analyze", "--image", &reference, "-f", &dockerfile]);
        (json, table)
    };

    // One layer per RUN and COPY: every layer comes back to its line.
    let (r, table) = build("imgopt-df-layers", "--layers=true");
    let base_layers = r["dockerfile"]["base_layers"].as_u64().expect("base layers found");
    assert!(base_layers >= 1, "{r}");
    let mut expected: Vec<(Value, Value)> = vec![(json!(1), json!("base_image")); base_layers as usize];
    for start in [
        "RUN [\"/bin/busybox\", \"mkdir\"",
        "COPY hello.txt",
        "COPY dir/",
        "RUN /bin/busybox echo",
        "COPY --from=tools",
        "RUN /bin/busybox touch",
    ] {
        expected.push((json!(line_of(start)), json!("content")));
    }
    assert_eq!(mapped_lines(&r), expected, "{table}");
    assert_eq!(r["dockerfile"]["complete"], true, "{table}");
    assert_eq!(r["totals"]["base_layers"], base_layers);
    // Bytes by line: COPY --from ships a second busybox; hello.txt (6 B) is deleted by the RUN
    // on the next lines, in the layer that RUN made.
    let by_line =
        |line: u64| r["layers"].as_array().unwrap().iter().find(|l| l["dockerfile"]["line"] == line).cloned().unwrap();
    assert_eq!(by_line(line_of("COPY --from=tools"))["content_bytes"], busybox_bytes);
    let hello = by_line(line_of("COPY hello.txt"));
    assert_eq!(hello["invisible_bytes"], 6);
    assert_eq!(hello["hidden_by"][0]["layer"], by_line(line_of("RUN /bin/busybox echo"))["index"]);
    assert!(
        table.contains(&format!("Dockerfile:{} COPY --from=tools /bin/busybox /app/bb", line_of("COPY --from=tools"))),
        "{table}"
    );
    assert!(
        table.contains(&format!(
            "Dockerfile:{} RUN /bin/busybox echo $VERSION > /app/version",
            line_of("RUN /bin/busybox echo")
        )),
        "{table}"
    );

    // buildah's default commits each stage as one layer: the last one spans its stage's lines.
    let (r, table) = build("imgopt-df-squashed", "--layers=false");
    let base = r["dockerfile"]["base_layers"].as_u64().expect("base layers found") as usize;
    let lines = mapped_lines(&r);
    assert_eq!(lines.len(), base + 2, "{table}");
    assert_eq!(lines[base], (json!(2), json!("content")), "{table}");
    assert_eq!(lines[base + 1], (json!(line_of("COPY hello.txt")), json!("squashed")), "{table}");
    assert_eq!(r["layers"][base + 1]["dockerfile"]["end_line"], line_of("CMD"));
    assert!(table.contains(&format!("Dockerfile:{}-{} CMD", line_of("COPY hello.txt"), line_of("CMD"))), "{table}");
}
