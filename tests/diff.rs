//! `imgopt diff` and `imgopt analyze --compare` on real builds: a git repository whose head adds a
//! line above the others (so every line number moves), grows a copied file and adds a RUN. The
//! comparison must pair lines by content, and its totals must be the store's own figures.
//! Builds on the busybox test base (tests/common/bases.rs); needs root, as the builder does.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

fn ready() -> bool {
    if !nix::unistd::geteuid().is_root() {
        assert!(std::env::var_os("CI").is_none(), "the diff tests build, and need root under CI");
        eprintln!("SKIPPED: not root");
        return false;
    }
    need(&["git"], "apt-get install git")
}

fn imgopt(dir: &Path, store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imgopt")).args(args).current_dir(dir).env("IMGOPT_STORE", store).output().unwrap()
}

fn json(out: &Output) -> Value {
    assert!(out.status.code() != Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// The store's name of a side: the comparison labels it `NAME (revision)`.
fn store_name(label: &Value) -> String {
    label.as_str().unwrap().split(' ').next().unwrap().to_string()
}

#[test]
fn lines_are_matched_by_content_when_they_move() {
    if !ready() {
        return;
    }
    let tmp = TempDir::new("diff");
    let store = tmp.path("store");
    let base = bases::busybox();
    let load = imgopt(&tmp.0, &store, &["load", &base.docker_archive_ref(), "-t", &base.name]);
    assert!(load.status.success(), "{}", String::from_utf8_lossy(&load.stderr));
    let repo = tmp.path("repo");
    std::fs::create_dir_all(repo.join("app")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    let dockerfile = |extra_env: &str, extra_run: &str| {
        format!(
            "FROM {}\n{extra_env}COPY data.bin /data.bin\nRUN echo one > /one\n{extra_run}CMD [\"sh\"]\n",
            base.name
        )
    };
    std::fs::write(repo.join("app/Dockerfile"), dockerfile("", "")).unwrap();
    std::fs::write(repo.join("app/data.bin"), vec![7u8; 100_000]).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    // Head: a line above everything, the copied file 200 kB larger, a RUN that adds 50 kB.
    std::fs::write(
        repo.join("app/Dockerfile"),
        dockerfile("ENV MODE=prod\n", "RUN head -c 50000 /dev/zero > /zeros\n"),
    )
    .unwrap();
    std::fs::write(repo.join("app/data.bin"), vec![7u8; 300_000]).unwrap();
    git(&repo, &["commit", "-q", "-am", "head"]);

    let out = imgopt(&repo, &store, &["diff", "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "app"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let c = json(&out);
    assert_eq!(c["file"], "app/Dockerfile");
    let rows: Vec<(Value, Value, i64, String)> = c["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["before"]["line"].clone(),
                l["after"]["line"].clone(),
                l["content_bytes"]["difference"].as_i64().unwrap(),
                l["instruction"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (Value::from(2), Value::from(3), 200_000, "COPY data.bin /data.bin".to_string()),
            (Value::Null, Value::from(5), 50_000, "RUN head -c 50000 /dev/zero > /zeros".to_string()),
        ],
        "{c:#}"
    );
    assert_eq!(c["totals"]["content_bytes"]["difference"], 250_000);
    // The totals are the store's figures for the two images it built.
    let images = json(&imgopt(&repo, &store, &["images", "--format", "json"]));
    for side in ["before", "after"] {
        let name = store_name(&c[side]);
        let image = images.as_array().unwrap().iter().find(|i| i["name"] == name.as_str()).expect("built image");
        assert_eq!(c["totals"]["layers"][side], image["layers"], "{side}");
        // The store keeps plain tars (their sizes are `imgopt images`' figure) and ships them
        // compressed: the compressed total is the gzip blobs it recorded for the image's layers.
        let stored = imgopt::image::Image::open(
            &imgopt::image::ImageRef::OciDir { dir: store.clone(), tag: Some(name.clone()) },
            &imgopt::image::OpenOptions::default(),
        )
        .unwrap();
        assert_eq!(image["blob_size"], stored.layers.iter().map(|l| l.size).sum::<u64>(), "{side}");
        let shipped: u64 = stored
            .layers
            .iter()
            .map(|l| {
                let record = std::fs::read(store.join("dist").join(format!("{}.gzip", l.diff_id.hex()))).unwrap();
                serde_json::from_slice::<Value>(&record).unwrap()["size"].as_u64().unwrap()
            })
            .sum();
        assert_eq!(c["totals"]["compressed_bytes"][side], shipped, "{side}");
        let analyzed = json(&imgopt(
            &repo,
            &store,
            &["analyze", "--image", &format!("oci:{}:{name}", store.display()), "--format", "json"],
        ));
        assert_eq!(c["totals"]["content_bytes"][side], analyzed["totals"]["content_bytes"], "{side}");
    }
    // Each revision is built in turn, named by the revision the user gave.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("imgopt diff: building HEAD~1") && err.contains("imgopt diff: building HEAD "), "{err}");

    // The same two images, compared as images: rows from the history, paired by its text.
    let (before, after) = (store_name(&c["before"]), store_name(&c["after"]));
    let oci = |name: &str| format!("oci:{}:{name}", store.display());
    let out =
        imgopt(&repo, &store, &["analyze", "--image", &oci(&after), "--compare", &oci(&before), "--format", "json"]);
    let compared = json(&out);
    assert_eq!(compared["totals"]["content_bytes"], c["totals"]["content_bytes"]);
    let differences: Vec<(Value, i64)> = compared["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["instruction"].clone(), l["content_bytes"]["difference"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        differences,
        vec![
            (Value::from("COPY data.bin /data.bin"), 200_000),
            (Value::from("RUN head -c 50000 /dev/zero > /zeros"), 50_000)
        ],
        "{compared:#}"
    );
    // Gates: 250 kB of growth passes 1 MB and fails 10%; the size cap fails under 2 MB.
    let gate = |limits: &[&str]| {
        let (after, before) = (oci(&after), oci(&before));
        let mut args = vec!["analyze", "--image", &after, "--compare", &before];
        args.extend_from_slice(limits);
        let out = imgopt(&repo, &store, &args);
        (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    assert_eq!(gate(&["--max-growth", "1MB"]).0, Some(0));
    let (code, err) = gate(&["--max-growth", "10%"]);
    assert!(code == Some(1) && err.contains("gate failed: max-growth"), "{err}");
    let (code, err) = gate(&["--max-size", "2MB"]);
    assert!(code == Some(1) && err.contains("gate failed: max-size"), "{err}");
}

#[test]
fn a_dockerfile_new_at_the_head_is_compared_with_no_image() {
    if !ready() {
        return;
    }
    let tmp = TempDir::new("diff-new");
    let store = tmp.path("store");
    let base = bases::busybox();
    let load = imgopt(&tmp.0, &store, &["load", &base.docker_archive_ref(), "-t", &base.name]);
    assert!(load.status.success(), "{}", String::from_utf8_lossy(&load.stderr));
    let repo = tmp.path("repo");
    std::fs::create_dir_all(repo.join("svc")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README"), "base\n").unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    let dockerfile = format!("FROM {}\nRUN head -c 30000 /dev/zero > /zeros\nCMD [\"sh\"]\n", base.name);
    std::fs::write(repo.join("svc/Dockerfile"), dockerfile).unwrap();
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "a new image"]);
    let out = imgopt(
        &repo,
        &store,
        &["diff", "--base", "HEAD~1", "--head", "HEAD", "--max-size", "1kB", "--format", "json", "svc"],
    );
    // The max-size gate applies to a new image as to any other.
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let c = json(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("svc/Dockerfile does not exist at HEAD~1"), "{stderr}");
    assert!(stderr.contains("gate failed: max-size"), "{stderr}");
    assert_eq!(c["totals"]["content_bytes"]["before"], 0, "{c:#}");
    assert_eq!(c["totals"]["layers"]["before"], 0, "{c:#}");
    // Every layer is the head's: the base image's and the RUN's, the RUN by its line.
    let after = store_name(&c["after"]);
    let analyzed = json(&imgopt(
        &repo,
        &store,
        &["analyze", "--image", &format!("oci:{}:{after}", store.display()), "--format", "json"],
    ));
    assert_eq!(c["totals"]["content_bytes"]["after"], analyzed["totals"]["content_bytes"]);
    let run = c["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["instruction"] == "RUN head -c 30000 /dev/zero > /zeros")
        .unwrap_or_else(|| panic!("the RUN's row: {c:#}"));
    assert_eq!(run["before"], Value::Null);
    assert_eq!(run["after"]["line"], 2);
    assert_eq!(run["content_bytes"]["difference"], 30_000);
    // Neither revision has it: an error, exit 2.
    let out = imgopt(&repo, &store, &["diff", "--base", "HEAD~1", "--head", "HEAD", "-f", "other/Dockerfile", "svc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists at neither revision"));
}
