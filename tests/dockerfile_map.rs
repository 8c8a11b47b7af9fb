//! `imgopt analyze --image REF -f Dockerfile` on generated images whose histories are written the
//! way BuildKit, the classic docker builder and buildah write them: each layer must come back to
//! the line that made it, and where history and Dockerfile disagree the layers are reported as
//! unmapped, with the reason, instead of being assigned by guess.

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{bytes, config_json_with_history, oci_files, write_dir, Comp, Item, Layer, TempDir};
use serde_json::{json, Value};

/// A layer holding one file of `size` bytes.
fn layer(path: &str, size: usize, seed: u8) -> Layer {
    Layer::new(&[Item::File(path, bytes(size, seed), 0o644)], Comp::Gzip, "")
}

fn entry(created_by: &str, empty: bool) -> Value {
    json!({"created_by": created_by, "empty_layer": empty})
}

fn imgopt(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_imgopt")).args(args).output().expect("imgopt runs");
    assert!(out.status.success(), "imgopt {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Mapped {
    json: Value,
    table: String,
    markdown: String,
}

fn analyze(dockerfile: &str, layers: &[Layer], history: Vec<Value>) -> Mapped {
    // One directory per call: the tests run in parallel threads of one process.
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let tmp = TempDir::new(&format!("dfmap-{}", CALLS.fetch_add(1, Ordering::Relaxed)));
    let oci = tmp.path("oci");
    write_dir(&oci, &oci_files(layers, &config_json_with_history(layers, history)));
    let file = tmp.path("Dockerfile");
    std::fs::write(&file, dockerfile).unwrap();
    let (image, file) = (format!("oci:{}", oci.display()), file.display().to_string());
    let json = serde_json::from_str(&imgopt(&["analyze", "--image", &image, "-f", &file, "--format", "json"])).unwrap();
    let table = imgopt(&["analyze", "--image", &image, "--file", &file]).replace(&file, "Dockerfile");
    let markdown =
        imgopt(&["analyze", "--image", &image, "-f", &file, "--format", "markdown"]).replace(&file, "Dockerfile");
    Mapped { json, table, markdown }
}

/// (line, match) of each layer.
fn lines(report: &Value) -> Vec<(Value, String)> {
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["dockerfile"]["line"].clone(), l["dockerfile"]["match"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn at(line: u64, how: &str) -> (Value, String) {
    (json!(line), how.to_string())
}

fn unmapped() -> (Value, String) {
    (Value::Null, "unmapped".to_string())
}

/// The instruction entry of the `dockerfile` section that starts on `line`.
fn instruction(report: &Value, line: u64) -> Value {
    report["dockerfile"]["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["line"] == line)
        .cloned()
        .unwrap_or(Value::Null)
}

const MULTI_STAGE: &str = r#"# syntax=docker/dockerfile:1
ARG BASE=debian:12
FROM golang:1.22 AS build
WORKDIR /src
COPY go.mod ./
RUN go build -o /out/app .

FROM ${BASE} AS runtime-base
RUN apt-get update \
 && apt-get install -y ca-certificates

FROM runtime-base
ARG VERSION=1.0
ENV APP_HOME=/app
WORKDIR $APP_HOME
COPY --from=build --chown=app:app /out/app ./app
RUN <<EOF
set -e
echo "$VERSION" > /app/version
EOF
USER app
CMD ["./app"]
"#;

#[test]
fn buildkit_multi_stage_maps_through_the_from_chain() {
    let layers = vec![
        layer("etc/debian_version", 1000, 1),
        layer("var/lib/apt/lists/main", 5000, 2),
        Layer::new(&[Item::Dir("app")], Comp::Gzip, ""),
        layer("app/app", 3000, 3),
        layer("app/version", 4, 4),
    ];
    // BuildKit: the base image's own entries, then the stage `runtime-base` (FROM chain), then
    // the target. `build` is only copied from: none of its entries are in the image.
    let history = vec![
        entry(
            "/bin/sh -c #(nop) ADD file:4b03b5f551e3fbdf47ec609712007327828f7530cc3455c43bbcdcaf449a75a9 in / ",
            false,
        ),
        entry("/bin/sh -c #(nop)  CMD [\"bash\"]", true),
        entry("RUN /bin/sh -c apt-get update  && apt-get install -y ca-certificates # buildkit", false),
        entry("ARG VERSION=1.0", true),
        entry("ENV APP_HOME=/app", true),
        entry("WORKDIR /app", false),
        entry("COPY --chown=app:app /out/app ./app # buildkit", false),
        entry("RUN |1 VERSION=1.0 /bin/sh -c set -e\necho \"$VERSION\" > /app/version\n # buildkit", false),
        entry("USER app", true),
        entry("CMD [\"./app\"]", true),
    ];
    let m = analyze(MULTI_STAGE, &layers, history);
    let r = &m.json;
    assert_eq!(
        lines(r),
        vec![at(8, "base_image"), at(9, "content"), at(15, "content"), at(16, "content"), at(17, "content")]
    );
    assert_eq!(r["layers"][0]["dockerfile"]["instruction"], "FROM ${BASE} AS runtime-base");
    assert_eq!(r["layers"][1]["dockerfile"]["end_line"], 10);
    assert_eq!(r["layers"][1]["dockerfile"]["stage"], 1);
    assert_eq!(r["layers"][4]["dockerfile"]["end_line"], 20);
    assert_eq!(r["dockerfile"]["target_stage"], 2);
    assert_eq!(r["dockerfile"]["complete"], true);
    // The base image is the FROM's single layer: its 1000 bytes, the rest is the user's.
    assert_eq!(r["dockerfile"]["base_layers"], 1);
    assert_eq!(r["totals"]["base_layers"], 1);
    assert_eq!(r["totals"]["base_bytes"], 1000);
    assert_eq!(r["totals"]["user_bytes"], 5000 + 3000 + 4);
    // Line by line: the WORKDIR made layer 2, USER no layer, and the build stage is not listed.
    assert_eq!(instruction(r, 15)["layers"], json!([2]));
    assert_eq!(instruction(r, 21)["layers"], json!([]));
    assert_eq!(instruction(r, 21)["created_by"], "USER app");
    assert_eq!(instruction(r, 6), Value::Null);
    assert!(m.table.contains("Dockerfile:17 RUN <<EOF"), "{}", m.table);
    assert!(m.table.contains("Dockerfile:8 FROM ${BASE} AS runtime-base (base image)"), "{}", m.table);
    let row = m.table.lines().find(|l| l.trim_start().starts_with("Dockerfile:16 ")).unwrap_or("");
    assert!(
        row.contains("layer 3, 3.0 kB") && row.ends_with("COPY --from=build --chown=app:app /out/app ./app"),
        "{row}"
    );
    assert!(
        m.markdown.contains("| `Dockerfile:9 RUN apt-get update && apt-get install -y ca-certificates` |"),
        "{}",
        m.markdown
    );
}

#[test]
fn classic_builder_history_with_arg_prefix_and_hashed_copies() {
    let dockerfile = "FROM alpine:3.19\nARG PKG=curl\nCOPY app.sh /usr/local/bin/\nRUN apk add --no-cache $PKG\nADD data.tar /data\nCMD [\"app.sh\"]\n";
    let layers = vec![
        layer("bin/busybox", 800, 1),
        layer("usr/local/bin/app.sh", 120, 2),
        layer("usr/bin/curl", 2500, 3),
        layer("data/x", 700, 4),
    ];
    let history = vec![
        entry("/bin/sh -c #(nop) ADD file:aaaa in / ", false),
        entry("/bin/sh -c #(nop)  CMD [\"/bin/sh\"]", true),
        entry("/bin/sh -c #(nop)  ARG PKG=curl", true),
        entry("/bin/sh -c #(nop) COPY file:0123abcd in /usr/local/bin/ ", false),
        entry("|1 PKG=curl /bin/sh -c apk add --no-cache $PKG", false),
        entry("/bin/sh -c #(nop) ADD file:beef in /data ", false),
        entry("/bin/sh -c #(nop)  CMD [\"app.sh\"]", true),
    ];
    let r = &analyze(dockerfile, &layers, history).json;
    // The base image's ADD (to /) is not line 5's ADD (to /data).
    assert_eq!(lines(r), vec![at(1, "base_image"), at(3, "content"), at(4, "content"), at(5, "content")]);
    assert_eq!(r["totals"]["base_bytes"], 800);
    assert_eq!(instruction(r, 2)["created_by"], "/bin/sh -c #(nop)  ARG PKG=curl");
    assert_eq!(instruction(r, 6)["created_by"], "/bin/sh -c #(nop)  CMD [\"app.sh\"]");
}

#[test]
fn buildah_history_with_run_flags_and_squashed_stage() {
    // buildah writes RUN's text as written after `RUN ` (flags too) and leaves `$VARS` alone;
    // without --layers the stage is one layer, carried by the last instruction's entry.
    let dockerfile = "FROM registry.example/base:1\nWORKDIR /w\nCOPY req.txt .\nRUN --mount=type=cache,target=/root/.cache pip install -r req.txt\nCMD [\"python3\"]\n";
    let layers = vec![layer("usr/bin/python3", 4000, 1), layer("w/site/pkg.py", 900, 2)];
    let history = vec![
        entry("/bin/sh -c #(nop) ADD file:base in / ", false),
        entry("/bin/sh -c #(nop) WORKDIR /w", true),
        entry("/bin/sh -c #(nop) COPY file:87c7 in . ", true),
        entry("/bin/sh -c --mount=type=cache,target=/root/.cache pip install -r req.txt", true),
        entry("/bin/sh -c #(nop) CMD [\"python3\"]", false),
    ];
    let m = analyze(dockerfile, &layers, history);
    let r = &m.json;
    assert_eq!(lines(r), vec![at(1, "base_image"), at(3, "squashed")]);
    assert_eq!(r["layers"][1]["dockerfile"]["end_line"], 5);
    assert_eq!(instruction(r, 4)["note"], "squashed into layer 1");
    assert_eq!(instruction(r, 5)["layers"], json!([1]));
    assert!(m.table.contains("Dockerfile:3-5 CMD [\"python3\"]"), "{}", m.table);
    assert!(m.table.contains("└ one layer for lines 3-5"), "{}", m.table);

    // The same build with --layers: one layer per COPY/RUN, WORKDIR recorded without a layer.
    let layers = vec![layer("usr/bin/python3", 4000, 1), layer("w/req.txt", 30, 2), layer("w/site/pkg.py", 900, 3)];
    let history = vec![
        entry("/bin/sh -c #(nop) ADD file:base in / ", false),
        entry("/bin/sh -c #(nop) WORKDIR /w", true),
        entry("/bin/sh -c #(nop) COPY file:87c7 in . ", false),
        entry("/bin/sh -c --mount=type=cache,target=/root/.cache pip install -r req.txt", false),
        entry("/bin/sh -c #(nop) CMD [\"python3\"]", true),
    ];
    let r = &analyze(dockerfile, &layers, history).json;
    assert_eq!(lines(r), vec![at(1, "base_image"), at(3, "content"), at(4, "content")]);
    assert_eq!(r["dockerfile"]["complete"], true);
}

#[test]
fn disagreement_is_reported_not_guessed() {
    // The image was built from an older Dockerfile: line 3 was `RUN make old` and the history
    // has one more layer at the end than the Dockerfile can make.
    let dockerfile = "FROM debian:12\nRUN apt-get update\nRUN make new\nCOPY out /out\n";
    let layers = vec![
        layer("base", 100, 1),
        layer("apt", 200, 2),
        layer("old", 300, 3),
        layer("out/x", 400, 4),
        layer("extra", 50, 5),
    ];
    let history = vec![
        entry("/bin/sh -c #(nop) ADD file:base in / ", false),
        entry("RUN /bin/sh -c apt-get update # buildkit", false),
        entry("RUN /bin/sh -c make old # buildkit", false),
        entry("COPY out /out # buildkit", false),
        entry("RUN /bin/sh -c touch /extra # buildkit", false),
    ];
    let m = analyze(dockerfile, &layers, history);
    let r = &m.json;
    assert_eq!(lines(r), vec![at(1, "base_image"), at(2, "content"), unmapped(), at(4, "content"), unmapped()]);
    let reason = r["layers"][2]["dockerfile"]["reason"].as_str().unwrap();
    assert!(reason.contains("`RUN /bin/sh -c make old # buildkit`") && reason.contains("after line 2"), "{reason}");
    let reason = r["layers"][4]["dockerfile"]["reason"].as_str().unwrap();
    assert!(reason.contains("touch /extra") && reason.contains("after line 4"), "{reason}");
    assert_eq!(r["dockerfile"]["complete"], false);
    assert_eq!(instruction(r, 3)["layers"], json!([]));
    assert!(instruction(r, 3)["note"].as_str().unwrap().starts_with("no history entry matches it"));
    assert!(m.table.contains("(unmapped) RUN /bin/sh -c make old # buildkit"), "{}", m.table);
    assert!(m.table.contains("history and Dockerfile disagree"), "{}", m.table);
    assert!(m.markdown.contains("- layer 2: history entry 'RUN /bin/sh -c make old # buildkit'"), "{}", m.markdown);
}

/// Issue 14: a wrong `-f` gave a confident report (every layer "[base] ... (base image)", "user
/// layers 0 B", exit 0) because the Dockerfile's CMD paired with the image's by kind. When none of
/// its RUN, COPY and ADD is in the history, imgopt says so and exits 2; with --allow-mismatch the
/// report says it at the top and ties no layer to a line.
#[test]
fn a_dockerfile_the_image_was_not_built_from_is_refused() {
    let layers = vec![layer("base", 100, 1), layer("usr/bin/curl", 200, 2), layer("app/main", 300, 3)];
    let history = vec![
        entry("/bin/sh -c #(nop) ADD file:base in / ", false),
        entry("/bin/sh -c #(nop)  CMD [\"bash\"]", true),
        entry("RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit", false),
        entry("COPY . /app # buildkit", false),
        entry("CMD [\"/app/main\"]", true),
    ];
    let wrong = "FROM python:3.12\nRUN pip install flask\nCOPY src /srv\nCMD [\"python\", \"app.py\"]\n";
    let tmp = TempDir::new("dfmap-wrong");
    write_dir(&tmp.path("oci"), &oci_files(&layers, &config_json_with_history(&layers, history)));
    std::fs::write(tmp.path("Dockerfile"), wrong).unwrap();
    let image = format!("oci:{}", tmp.path("oci").display());
    let file = tmp.path("Dockerfile").display().to_string();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_imgopt"))
            .args(["analyze", "--image", &image, "-f", &file])
            .args(extra)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let refused = run(&[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("imgopt::analyze::mismatch"), "{stderr}");
    assert!(stderr.contains("does not match") && stderr.contains("none of its 2 RUN, COPY and ADD"), "{stderr}");
    assert!(refused.stdout.is_empty(), "no report");

    let shown = run(&["--allow-mismatch"]);
    assert_eq!(shown.status.code(), Some(0), "{}", String::from_utf8_lossy(&shown.stderr));
    let table = String::from_utf8_lossy(&shown.stdout);
    let warning = table.lines().nth(1).unwrap_or_default();
    assert!(warning.starts_with("Warning: the image's history does not match"), "at the top: {table}");
    assert!(!table.contains("(base image)") && !table.contains("Dockerfile:1"), "{table}");
    let json: Value = serde_json::from_slice(&run(&["--allow-mismatch", "--format", "json"]).stdout).unwrap();
    assert!(json["dockerfile"]["mismatch"].as_str().unwrap().contains("does not match"));
    assert_eq!(lines(&json), vec![unmapped(); 3]);
    assert_eq!(json["dockerfile"]["base_layers"], Value::Null);
    let markdown = String::from_utf8_lossy(&run(&["--allow-mismatch", "--format", "markdown"]).stdout).into_owned();
    assert!(markdown.contains("> **Warning:** the image's history does not match"), "{markdown}");
}

#[test]
fn without_created_by_layers_map_by_order() {
    // Some tools write history entries without created_by: the layers still map, in order, to
    // the instructions that make layers, and say that the match is by order only.
    let dockerfile = "FROM debian:12\nENV A=1\nCOPY a /a\nRUN b\n";
    let layers = vec![layer("base", 100, 1), layer("a", 20, 2), layer("b", 30, 3)];
    let history = vec![json!({"created": "2024-01-01T00:00:00Z"}); 3];
    let r = &analyze(dockerfile, &layers, history).json;
    assert_eq!(lines(r), vec![at(1, "base_image"), at(3, "order"), at(4, "order")]);
}

#[test]
fn a_bad_dockerfile_is_a_clear_error() {
    let tmp = TempDir::new("dfmap-bad");
    let layers = vec![layer("a", 10, 1)];
    write_dir(&tmp.path("oci"), &oci_files(&layers, &config_json_with_history(&layers, vec![entry("x", false)])));
    let file = tmp.path("Dockerfile");
    std::fs::write(&file, "FROM a\nRUN --mont=type=cache,target=/x true\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_imgopt"))
        .args(["analyze", "--image", &format!("oci:{}", tmp.path("oci").display()), "-f", &file.display().to_string()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown flag: mont"), "{stderr}");
    let missing = Command::new(env!("CARGO_BIN_EXE_imgopt"))
        .args(["analyze", "--image", &format!("oci:{}", tmp.path("oci").display()), "-f", "/nonexistent/Dockerfile"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read Dockerfile /nonexistent/Dockerfile"));
}
