//! The rewrite's safety check on images read from disk: layer tars written with the `tar` crate
//! (gzip, zstd and plain), packed as OCI layouts and `docker save` archives, compared with
//! `imgopt::rewrite::safety::compare`. The comparison logic itself is unit-tested in
//! src/rewrite/safety.rs; here the contents come from real tars, hashed by the reader.

mod common;

use common::{bytes, config_json, docker_legacy_files, oci_files, write_dir, write_tar, Comp, Item, Layer, TempDir};
use imgopt::analyze::index::FileType;
use imgopt::image::{Image, ImageError, ImageRef, OpenOptions};
use imgopt::rewrite::safety::{compare, FileChange};

/// The config `config_json` writes, with `config` as its runtime half.
fn config_with(layers: &[Layer], config: serde_json::Value) -> Vec<u8> {
    let mut json: serde_json::Value = serde_json::from_slice(&config_json(layers)).unwrap();
    json["config"] = config;
    serde_json::to_vec(&json).unwrap()
}

fn open(reference: &str) -> Image {
    Image::open(&ImageRef::parse(reference).unwrap(), &OpenOptions::default()).unwrap()
}

/// An image as the original Dockerfile makes it: a tool and its docs, a download cache, a
/// hardlinked copy, and a later layer that deletes the tarball it unpacked and replaces a
/// directory's contents (opaque).
fn original() -> Vec<Layer> {
    vec![
        Layer::new(
            &[
                Item::Dir("usr"),
                Item::Dir("usr/bin"),
                Item::File("usr/bin/tool", bytes(5000, 1), 0o755),
                Item::Hardlink("usr/bin/tool-alias", "usr/bin/tool"),
                Item::Symlink("usr/bin/t", "tool"),
                Item::Dir("usr/share"),
                Item::Dir("usr/share/doc"),
                Item::Dir("usr/share/doc/tool"),
                Item::File("usr/share/doc/tool/README", bytes(700, 2), 0o644),
                Item::Dir("etc"),
                Item::File("etc/tool.conf", b"level=1\n".to_vec(), 0o644),
                Item::Dir("srv"),
                Item::File("srv/old.html", bytes(100, 3), 0o644),
            ],
            Comp::Gzip,
            "RUN apt-get install -y tool",
        ),
        Layer::new(
            &[
                Item::Dir("root"),
                Item::Dir("root/.cache"),
                Item::Dir("root/.cache/pip"),
                Item::File("root/.cache/pip/wheel.whl", bytes(3000, 4), 0o644),
                Item::Dir("tmp"),
                Item::File("tmp/src.tar", bytes(9000, 5), 0o644),
            ],
            Comp::Zstd,
            "RUN pip install tool-plugins",
        ),
        Layer::new(
            &[Item::Whiteout("tmp/src.tar"), Item::Opaque("srv"), Item::File("srv/index.html", bytes(50, 6), 0o644)],
            Comp::None,
            "RUN rm /tmp/src.tar && replace the site",
        ),
    ]
}

/// The same final filesystem in one layer, without the docs and the pip cache, with the
/// hardlink written as a second copy of the file and `/etc/tool.conf` rewritten (same size).
fn rewritten(conf: &[u8]) -> Vec<Layer> {
    vec![Layer::new(
        &[
            Item::Dir("usr"),
            Item::Dir("usr/bin"),
            Item::File("usr/bin/tool", bytes(5000, 1), 0o755),
            Item::File("usr/bin/tool-alias", bytes(5000, 1), 0o755),
            Item::Symlink("usr/bin/t", "tool"),
            Item::Dir("usr/share"),
            Item::Dir("usr/share/doc"),
            Item::Dir("etc"),
            Item::File("etc/tool.conf", conf.to_vec(), 0o644),
            Item::Dir("srv"),
            Item::File("srv/index.html", bytes(50, 6), 0o644),
            Item::Dir("root"),
            Item::Dir("root/.cache"),
            Item::Dir("tmp"),
        ],
        Comp::Gzip,
        "RUN apt-get install -y tool && pip install --no-cache-dir tool-plugins",
    )]
}

#[test]
fn layers_read_from_disk_are_compared_by_their_final_filesystem() {
    let tmp = TempDir::new("safety-files");
    let before = original();
    let config = serde_json::json!({"Cmd": ["tool"], "Env": ["PATH=/usr/bin"]});
    write_dir(&tmp.path("before"), &oci_files(&before, &config_with(&before, config.clone())));
    // The same image as `docker save` writes it reads the same.
    write_tar(&tmp.path("before.tar"), &docker_legacy_files(&before, &config_with(&before, config.clone())));
    let after = rewritten(b"level=2\n");
    write_dir(&tmp.path("after"), &oci_files(&after, &config_with(&after, config.clone())));
    let same = rewritten(b"level=1\n");
    write_dir(&tmp.path("same"), &oci_files(&same, &config_with(&same, config)));

    let oci_before = open(&format!("oci:{}", tmp.path("before").display()));
    let docker_before = open(&format!("docker-archive:{}", tmp.path("before.tar").display()));
    let comparison = compare(&oci_before, &open(&format!("oci:{}", tmp.path("after").display()))).unwrap();
    let found: Vec<(&str, String, Option<&str>)> =
        comparison.files.iter().map(|f| (f.path.as_str(), f.change.label(), f.expected)).collect();
    assert_eq!(
        found,
        [
            // Same size, other bytes: only the content hashes tell them apart.
            ("/etc/tool.conf", "content changed".to_string(), None),
            ("/root/.cache/pip", "removed".into(), Some("pip")),
            ("/root/.cache/pip/wheel.whl", "removed".into(), Some("pip")),
            ("/usr/share/doc/tool", "removed".into(), Some("docs")),
            ("/usr/share/doc/tool/README", "removed".into(), Some("docs")),
        ]
    );
    assert_eq!(comparison.files[2].bytes_before, 3000);
    assert_eq!(comparison.files[4].change, FileChange::Removed { was: FileType::File });
    assert!(comparison.config.is_empty());
    assert!(!comparison.is_safe());
    let lines: Vec<String> = comparison.grouped().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "/etc/tool.conf: content changed",
            "/root/.cache/pip: 1 file and 1 directory removed (3.0 kB, expected: pip)",
            "/usr/share/doc: 1 file and 1 directory removed (700 B, expected: docs)",
        ]
    );

    // Only cache and docs differences: the rewrite is safe, read from either archive form.
    let same = open(&format!("oci:{}", tmp.path("same").display()));
    for before in [&oci_before, &docker_before] {
        let comparison = compare(before, &same).unwrap();
        assert_eq!(comparison.files.len(), 4, "{comparison}");
        assert!(comparison.is_safe(), "{comparison}");
    }
}

#[test]
fn config_differences_make_a_rewrite_unsafe() {
    let tmp = TempDir::new("safety-config");
    let layers = rewritten(b"level=1\n");
    let before = serde_json::json!({"Cmd": ["tool"], "User": "app", "ExposedPorts": {"80/tcp": {}}});
    let after = serde_json::json!({"Cmd": ["tool", "--serve"], "User": "app"});
    write_dir(&tmp.path("before"), &oci_files(&layers, &config_with(&layers, before)));
    write_dir(&tmp.path("after"), &oci_files(&layers, &config_with(&layers, after)));
    let comparison = compare(
        &open(&format!("oci:{}", tmp.path("before").display())),
        &open(&format!("oci:{}", tmp.path("after").display())),
    )
    .unwrap();
    assert!(comparison.files.is_empty());
    let shown: Vec<String> = comparison.config.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["Cmd: [\"tool\"] → [\"tool\",\"--serve\"]", "ExposedPorts 80/tcp: removed"]);
    assert!(!comparison.is_safe());
}

#[test]
fn a_layer_that_does_not_hash_to_its_diff_id_is_an_error() {
    let tmp = TempDir::new("safety-corrupt");
    let layers = rewritten(b"level=1\n");
    let config = config_with(&layers, serde_json::json!({}));
    let mut files = oci_files(&layers, &config);
    write_dir(&tmp.path("good"), &files);
    // Claim another diff_id: the blob still matches its digest, the tar inside does not.
    let text = String::from_utf8(config.clone()).unwrap();
    let diff_id = format!("sha256:{}", common::sha256(&layers[0].tar));
    let forged = text.replace(&diff_id, &format!("sha256:{}", "0".repeat(64))).into_bytes();
    let config_blob = format!("blobs/sha256/{}", common::sha256(&config));
    for (name, data) in &mut files {
        if *name == config_blob {
            data.clone_from(&forged);
        }
    }
    write_dir(&tmp.path("bad"), &files);
    let good = open(&format!("oci:{}", tmp.path("good").display()));
    let bad = open(&format!("oci:{}", tmp.path("bad").display()));
    match compare(&good, &bad) {
        Err(ImageError::DigestMismatch { what, .. }) => assert!(what.contains("diff_id"), "{what}"),
        other => panic!("expected a diff_id mismatch, got {other:?}"),
    }
}
