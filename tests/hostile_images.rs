//! Bad and hostile input: every case is a clear error naming the layer and the entry, never a
//! panic. Nothing is written (the analyzer has no code path that writes), so the checks are on the
//! errors.

mod common;

use common::*;
use imgopt::analyze::{analyze_reference, AnalyzeOptions};

fn oci_with(tag: &str, layers: &[Layer]) -> (TempDir, String) {
    let config = config_json(layers);
    let tmp = TempDir::new(tag);
    write_dir(&tmp.path("oci"), &oci_files(layers, &config));
    let reference = format!("oci:{}", tmp.path("oci").display());
    (tmp, reference)
}

fn error_of(reference: &str, verify: bool) -> String {
    match analyze_reference(reference, &AnalyzeOptions { verify, ..Default::default() }) {
        Ok(_) => panic!("{reference} was accepted"),
        Err(e) => e.to_string(),
    }
}

fn single_entry(tag: &str, item: Item) -> String {
    let good = Layer::new(&[Item::File("ok", bytes(10, 1), 0o644)], Comp::Gzip, "base");
    let bad = Layer::new(&[Item::Dir("a"), item], Comp::Gzip, "bad");
    let (_tmp, reference) = oci_with(tag, &[good, bad]);
    error_of(&reference, false)
}

#[test]
fn dot_dot_paths_are_refused() {
    let e = single_entry("dotdot", Item::Raw { name: "a/../../etc/passwd", kind: tar::EntryType::Regular, link: None, data: bytes(5, 0) });
    assert!(e.contains("layer 1") && e.contains("a/../../etc/passwd") && e.contains(".."), "{e}");
}

#[test]
fn absolute_paths_are_refused() {
    let e = single_entry("abs", Item::Raw { name: "/etc/passwd", kind: tar::EntryType::Regular, link: None, data: bytes(5, 0) });
    assert!(e.contains("layer 1") && e.contains("`/etc/passwd`") && e.contains("absolute"), "{e}");
}

#[test]
fn symlinks_out_of_the_root_are_refused() {
    let e = single_entry("symlink", Item::Symlink("a/escape", "../../../etc/shadow"));
    assert!(e.contains("layer 1") && e.contains("a/escape") && e.contains("outside the root"), "{e}");
}

#[test]
fn hardlinks_out_of_the_root_are_refused() {
    let e = single_entry("hardlink-out", Item::Hardlink("a/escape", "../etc/shadow"));
    assert!(e.contains("layer 1") && e.contains("a/escape") && e.contains("hardlink target"), "{e}");
    let e = single_entry("hardlink-missing", Item::Hardlink("a/dangling", "nowhere"));
    assert!(e.contains("layer 1") && e.contains("a/dangling") && e.contains("does not exist"), "{e}");
}

#[test]
fn truncated_and_corrupt_layers_are_errors() {
    for (tag, comp) in [("trunc-gz", Comp::Gzip), ("trunc-zst", Comp::Zstd), ("trunc-tar", Comp::None)] {
        let layer = Layer::new(&[Item::File("big", bytes(100_000, 3), 0o644)], comp, "x");
        let blob = layer.blob();
        let config = config_json(&[layer]);
        let tmp = TempDir::new(tag);
        let mut files = oci_files(&[Layer { tar: Vec::new(), comp: Comp::None, created_by: String::new() }], &config);
        // Replace the placeholder blob by the first half of the real one.
        let half = blob[..blob.len() / 2].to_vec();
        let name = format!("blobs/sha256/{}", sha256(&compress(&[], Comp::None)));
        files.retain(|(n, _)| n != &name);
        files.push((name, half));
        write_dir(&tmp.path("oci"), &files);
        let e = error_of(&format!("oci:{}", tmp.path("oci").display()), false);
        assert!(e.contains("layer 0") && (e.contains("truncated") || e.contains("corrupt")), "{tag}: {e}");
    }
    // Corrupt gzip: flip bytes in the middle of the deflate stream.
    let layer = Layer::new(&[Item::File("big", bytes(100_000, 3), 0o644)], Comp::Gzip, "x");
    let mut blob = layer.blob();
    let mid = blob.len() / 2;
    for b in &mut blob[mid..mid + 16] {
        *b ^= 0x5a;
    }
    let config = config_json(&[layer]);
    let tmp = TempDir::new("corrupt");
    let mut files = oci_files(&[Layer { tar: Vec::new(), comp: Comp::None, created_by: String::new() }], &config);
    let name = format!("blobs/sha256/{}", sha256(&[]));
    files.retain(|(n, _)| n != &name);
    files.push((name, blob));
    write_dir(&tmp.path("oci"), &files);
    let e = error_of(&format!("oci:{}", tmp.path("oci").display()), false);
    assert!(e.contains("layer 0"), "{e}");
}

#[test]
fn digest_mismatches_are_caught_by_verify() {
    // The blob's bytes change after the manifest was written: same length, other content.
    let layer = Layer::new(&[Item::File("f", bytes(1000, 1), 0o644)], Comp::None, "x");
    let config = config_json(&[Layer::new(&[Item::File("f", bytes(1000, 1), 0o644)], Comp::None, "x")]);
    let tmp = TempDir::new("digest");
    let mut files = oci_files(&[layer], &config);
    let name = files.iter().find(|(_, d)| d.len() > 1000).map(|(n, _)| n.clone()).unwrap();
    let tampered = layer_tar(&[Item::File("f", bytes(1000, 2), 0o644)]);
    files.retain(|(n, _)| n != &name);
    files.push((name, tampered));
    write_dir(&tmp.path("oci"), &files);
    let reference = format!("oci:{}", tmp.path("oci").display());
    // Without --verify the content is read as it is.
    assert!(analyze_reference(&reference, &AnalyzeOptions::default()).is_ok());
    let e = error_of(&reference, true);
    assert!(e.contains("digest mismatch") && e.contains("layer 0") && e.contains("blob"), "{e}");
}

#[test]
fn diff_id_mismatch_is_caught_by_verify() {
    // The config claims another uncompressed tar than the blob holds.
    let layer = Layer::new(&[Item::File("f", bytes(10, 1), 0o644)], Comp::Gzip, "x");
    let other = Layer::new(&[Item::File("g", bytes(10, 1), 0o644)], Comp::Gzip, "x");
    let config = config_json(&[other]);
    let tmp = TempDir::new("diffid");
    write_dir(&tmp.path("oci"), &oci_files(&[layer], &config));
    let e = error_of(&format!("oci:{}", tmp.path("oci").display()), true);
    assert!(e.contains("digest mismatch") && e.contains("diff_id") && e.contains("layer 0"), "{e}");
}

#[test]
fn manifest_and_config_must_agree() {
    let layers = vec![Layer::new(&[Item::File("f", bytes(10, 1), 0o644)], Comp::Gzip, "x")];
    let two = vec![
        Layer::new(&[Item::File("f", bytes(10, 1), 0o644)], Comp::Gzip, "x"),
        Layer::new(&[Item::File("g", bytes(10, 1), 0o644)], Comp::Gzip, "y"),
    ];
    let tmp = TempDir::new("mismatch");
    write_dir(&tmp.path("oci"), &oci_files(&layers, &config_json(&two)));
    let e = error_of(&format!("oci:{}", tmp.path("oci").display()), false);
    assert!(e.contains("1 layers") && e.contains("2 diff_ids"), "{e}");
}

#[test]
fn blob_names_cannot_leave_the_layout() {
    // A docker-archive manifest.json naming a layer outside the archive, and an OCI descriptor with a
    // digest that is a path.
    let tmp = TempDir::new("escape");
    let layers = vec![Layer::new(&[Item::File("f", bytes(10, 1), 0o644)], Comp::None, "x")];
    let config = config_json(&layers);
    let mut files = docker_legacy_files(&layers, &config);
    let manifest = serde_json::json!([{"Config": format!("{}.json", sha256(&config)), "Layers": ["../../etc/passwd"]}]);
    files.retain(|(n, _)| n != "manifest.json");
    files.push(("manifest.json".into(), serde_json::to_vec(&manifest).unwrap()));
    write_tar(&tmp.path("d.tar"), &files);
    let e = error_of(&format!("docker-archive:{}", tmp.path("d.tar").display()), false);
    assert!(e.contains("../../etc/passwd"), "{e}");

    let index = serde_json::json!({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:../../../../etc/passwd", "size": 10}]});
    write_dir(&tmp.path("oci"), &[("oci-layout".into(), b"{}".to_vec()), ("index.json".into(), serde_json::to_vec(&index).unwrap())]);
    let e = error_of(&format!("oci:{}", tmp.path("oci").display()), false);
    assert!(e.contains("index.json") && e.contains("hex"), "{e}");
}

#[test]
fn not_an_image_is_a_clear_error() {
    let tmp = TempDir::new("notimage");
    std::fs::write(tmp.path("junk.tar"), b"this is not a tar file at all").unwrap();
    let e = error_of(&format!("docker-archive:{}", tmp.path("junk.tar").display()), false);
    assert!(e.contains("junk.tar"), "{e}");
    let e = error_of(&format!("oci:{}", tmp.path("missing").display()), false);
    assert!(e.contains("missing"), "{e}");
    let e = error_of("oci:", false);
    assert!(e.contains("no path after the transport"), "{e}");
    let e = error_of("registry:UPPER/Case", false);
    assert!(e.contains("not a repository name"), "{e}");
}

/// A GNU sparse entry: `stored` bytes of data placed at `offset` in a file of `offset + stored`
/// bytes. Sizes past 8 GiB use tar's base-256 number form.
fn sparse_tar(name: &str, offset: u64, stored: &[u8]) -> Vec<u8> {
    fn number(field: &mut [u8], value: u64) {
        field.fill(0);
        field[0] = 0x80;
        let at = field.len() - 8;
        field[at..].copy_from_slice(&value.to_be_bytes());
    }
    let mut h = tar::Header::new_gnu();
    {
        let gnu = h.as_gnu_mut().expect("gnu header");
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        number(&mut gnu.sparse[0].offset, offset);
        number(&mut gnu.sparse[0].numbytes, stored.len() as u64);
        number(&mut gnu.realsize, offset + stored.len() as u64);
    }
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_size(stored.len() as u64);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    let mut tar = h.as_bytes().to_vec();
    tar.extend_from_slice(stored);
    tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
    tar
}

#[test]
fn sparse_files_count_the_bytes_shipped_and_are_not_expanded() {
    // 512 stored bytes at 16 TiB: expanding the holes would read 16 TiB of zeros. The layer
    // ships 512 content bytes, and that is what it is charged with, compressed or not.
    for comp in [Comp::Gzip, Comp::Zstd, Comp::None] {
        let layer = Layer { tar: sparse_tar("holes", 1 << 44, &bytes(512, 7)), comp, created_by: "sparse".into() };
        let (_tmp, reference) = oci_with(&format!("sparse-{comp:?}"), &[layer]);
        for verify in [false, true] {
            let report = analyze_reference(&reference, &AnalyzeOptions { verify, ..Default::default() })
                .unwrap_or_else(|e| panic!("{comp:?}: {e}"));
            assert_eq!(report.layers[0].content_bytes, 512, "{comp:?} verify={verify}");
            assert_eq!(report.totals.final_fs_bytes, 512, "{comp:?} verify={verify}");
        }
    }
}

#[test]
fn a_blobs_directory_linked_outside_the_layout_is_refused() {
    // The layout's `blobs` is a symlink to a directory elsewhere: reading through it would analyze
    // files that are not part of the image (unverified, without --verify).
    let layers = vec![Layer::new(&[Item::File("f", bytes(10, 1), 0o644)], Comp::Gzip, "x")];
    let config = config_json(&layers);
    let tmp = TempDir::new("blobs-link");
    write_dir(&tmp.path("elsewhere"), &oci_files(&layers, &config));
    std::fs::create_dir_all(tmp.path("oci")).unwrap();
    for name in ["oci-layout", "index.json"] {
        std::fs::copy(tmp.path("elsewhere").join(name), tmp.path("oci").join(name)).unwrap();
    }
    std::os::unix::fs::symlink(tmp.path("elsewhere/blobs"), tmp.path("oci/blobs")).unwrap();
    let e = error_of(&format!("oci:{}", tmp.path("oci").display()), false);
    assert!(e.contains("outside") && e.contains("blobs/sha256/"), "{e}");
    // A link that stays inside the layout is followed.
    std::fs::remove_file(tmp.path("oci/blobs")).unwrap();
    std::fs::rename(tmp.path("elsewhere/blobs"), tmp.path("oci/store")).unwrap();
    std::os::unix::fs::symlink("store", tmp.path("oci/blobs")).unwrap();
    analyze_reference(&format!("oci:{}", tmp.path("oci").display()), &AnalyzeOptions::default()).unwrap();
}
