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
    let e = single_entry(
        "dotdot",
        Item::Raw { name: "a/../../etc/passwd", kind: tar::EntryType::Regular, link: None, data: bytes(5, 0) },
    );
    assert!(e.contains("layer 1") && e.contains("a/../../etc/passwd") && e.contains(".."), "{e}");
}

#[test]
fn absolute_paths_are_refused() {
    let e = single_entry(
        "abs",
        Item::Raw { name: "/etc/passwd", kind: tar::EntryType::Regular, link: None, data: bytes(5, 0) },
    );
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
    write_dir(
        &tmp.path("oci"),
        &[("oci-layout".into(), b"{}".to_vec()), ("index.json".into(), serde_json::to_vec(&index).unwrap())],
    );
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
    assert!(e.contains("`registry:UPPER/Case`") && e.contains("must be lowercase"), "{e}");
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

// ---- Tars written block by block: names as raw bytes, headers that declare what they like. ----

/// One header block (GNU magic, so the tar reader honours long names), fields byte for byte.
fn header_block(name: &[u8], kind: u8, size: u64, link: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name);
        old.linkname[..link.len()].copy_from_slice(link);
    }
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_cksum();
    h.as_bytes().to_vec()
}

fn raw_entry(name: &[u8], kind: u8, link: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = header_block(name, kind, data.len() as u64, link);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn raw_file(name: &[u8], data: &[u8]) -> Vec<u8> {
    raw_entry(name, b'0', b"", data)
}

/// A GNU `L` (long name) or `K` (long link) entry for the entry after it.
fn gnu_long(kind: u8, name: &[u8]) -> Vec<u8> {
    let mut body = name.to_vec();
    body.push(0);
    raw_entry(b"././@LongLink", kind, b"", &body)
}

/// A PAX `x` header with these records, for the entry after it.
fn pax(records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (key, value) in records {
        let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
        let mut len = rest + 1;
        while len != rest + len.to_string().len() {
            len = rest + len.to_string().len();
        }
        body.extend_from_slice(format!("{len} {key}=").as_bytes());
        body.extend_from_slice(value);
        body.push(b'\n');
    }
    raw_entry(b"PaxHeaders/entry", b'x', b"", &body)
}

fn raw_tar(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut tar = parts.concat();
    tar.extend_from_slice(&[0u8; 1024]);
    tar
}

fn raw_layer(parts: &[Vec<u8>], comp: Comp) -> Layer {
    Layer { tar: raw_tar(parts), comp, created_by: "raw".into() }
}

fn analyze_ok(reference: &str) -> imgopt::analyze::Report {
    analyze_reference(reference, &AnalyzeOptions::default()).unwrap_or_else(|e| panic!("{reference}: {e}"))
}

fn final_paths(report: &imgopt::analyze::Report) -> Vec<(String, u64)> {
    let mut files: Vec<(String, u64)> = report.largest_files.iter().map(|f| (f.path.clone(), f.bytes)).collect();
    files.sort();
    files
}

#[test]
fn oversized_long_names_and_pax_headers_are_refused_before_they_are_read() {
    // Each header declares more than may be read; the body is left out (a truncated layer): the
    // refusal comes from the header alone, before any of it would be read into memory.
    let gib = 1u64 << 30;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "longname",
            header_block(b"././@LongLink", b'L', gib, b""),
            "a GNU long-name entry declares 1073741824 bytes; a path is at most 4096 bytes",
        ),
        ("longlink", header_block(b"././@LongLink", b'K', gib, b""), "a GNU long-link entry declares 1073741824 bytes"),
        ("longname-4098", header_block(b"././@LongLink", b'L', 4098, b""), "a GNU long-name entry declares 4098 bytes"),
        (
            "pax",
            header_block(b"PaxHeaders/x", b'x', 5 << 20, b""),
            "a PAX extended header declares 5242880 bytes; at most 1 MiB is read",
        ),
        (
            "pax-global",
            header_block(b"pax_global_header", b'g', 5 << 20, b""),
            "a PAX global header declares 5242880 bytes",
        ),
        // Behind a small extension header, in the same chain.
        (
            "pax-then-longname",
            [pax(&[("mtime", b"1")]), gnu_long(b'K', b"target"), header_block(b"././@LongLink", b'L', gib, b"")]
                .concat(),
            "a GNU long-name entry declares 1073741824 bytes",
        ),
    ];
    for (tag, hostile, expected) in cases {
        for comp in [Comp::Gzip, Comp::Zstd, Comp::None] {
            let mut tar = raw_file(b"first", b"hello");
            tar.extend_from_slice(&hostile);
            let (_tmp, reference) =
                oci_with(&format!("{tag}-{comp:?}"), &[Layer { tar, comp, created_by: "x".into() }]);
            let e = error_of(&reference, false);
            assert!(
                e.contains("layer 0") && e.contains("the entry after `first`") && e.contains(expected),
                "{tag} {comp:?}: {e}"
            );
        }
    }
}

/// 1 GiB of zeros as concatenated gzip members of 1 MiB each: about 1 MB on disk, never held
/// whole in memory.
fn gzip_zeros_gib() -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut e, &vec![0u8; 1 << 20]).unwrap();
    e.finish().unwrap().repeat(1024)
}

#[test]
fn a_gigabyte_long_name_is_refused_in_bounded_memory() {
    // A GNU long-name entry whose body really is 1 GiB of zeros (gzip shrinks it to ~1 MB). The
    // analyzer runs with its address space capped at 512 MiB: reading the name into memory, as the
    // tar crate does on its own, would abort it.
    let gzip = |data: &[u8]| compress(data, Comp::Gzip);
    let mut blob = gzip(&raw_file(b"first", b"hello"));
    blob.extend(gzip(&header_block(b"././@LongLink", b'L', 1 << 30, b"")));
    blob.extend(gzip_zeros_gib());
    blob.extend(gzip(&raw_tar(&[raw_file(b"after", b"x")])));
    let placeholder = Layer { tar: Vec::new(), comp: Comp::None, created_by: String::new() };
    let tmp = TempDir::new("gib-longname");
    let mut files =
        oci_files(&[placeholder], &config_json(&[Layer { tar: Vec::new(), comp: Comp::None, created_by: "x".into() }]));
    let name = format!("blobs/sha256/{}", sha256(&[]));
    files.retain(|(n, _)| n != &name);
    files.push((name, blob));
    write_dir(&tmp.path("oci"), &files);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 524288 && exec \"$0\" analyze --image \"$1\"")
        .arg(env!("CARGO_BIN_EXE_imgopt"))
        .arg(format!("oci:{}", tmp.path("oci").display()))
        .env("RAYON_NUM_THREADS", "1")
        .env("MALLOC_ARENA_MAX", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // An error exit (2), not an abort (a failed allocation is a signal).
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("layer 0") && stderr.contains("a GNU long-name entry declares 1073741824 bytes"),
        "{stderr}"
    );
}

#[test]
fn an_endless_sparse_map_is_cut_off() {
    // A GNU sparse entry whose map goes on for 5 MiB of extension blocks (empty ones: a map of
    // real segments would also be kept in memory): the tar reader follows it to the end of the
    // layer. 4 MiB of metadata before one entry is the most read.
    let mut h = tar::Header::new_gnu();
    let gnu = h.as_gnu_mut().unwrap();
    gnu.isextended[0] = 1;
    gnu.name[..6].copy_from_slice(b"sparse");
    gnu.set_real_size(0);
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_size(0);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_cksum();
    let mut tar = raw_file(b"first", b"hello");
    tar.extend_from_slice(h.as_bytes());
    let mut ext = [0u8; 512];
    ext[504] = 1; // isextended: another block follows
    for _ in 0..(5 << 20) / 512 {
        tar.extend_from_slice(&ext);
    }
    tar.extend_from_slice(&[0u8; 1024]);
    for comp in [Comp::Gzip, Comp::None] {
        let (_tmp, reference) =
            oci_with(&format!("sparse-map-{comp:?}"), &[Layer { tar: tar.clone(), comp, created_by: "x".into() }]);
        let e = error_of(&reference, false);
        assert!(
            e.contains("layer 0")
                && e.contains("the entry after `first`")
                && e.contains("more than 4 MiB of tar metadata"),
            "{comp:?}: {e}"
        );
    }
}

#[test]
fn long_names_within_path_max_still_work() {
    // A 300-byte name and link target as GNU long entries, a 300-byte PAX path with the xattr
    // records builders write, and a name of exactly PATH_MAX (4096 bytes).
    let long = format!("usr/share/{}/file", "d".repeat(285));
    let pax_path = format!("opt/{}/pax", "p".repeat(292));
    let max_path = format!("m/{}", "x".repeat(4094));
    assert_eq!((long.len(), pax_path.len(), max_path.len()), (300, 300, 4096));
    let target = format!("../{}", "t".repeat(297));
    let parts = vec![
        gnu_long(b'L', long.as_bytes()),
        raw_file(b"truncated-name", &bytes(100, 1)),
        pax(&[
            ("path", pax_path.as_bytes()),
            ("SCHILY.xattr.security.capability", &[1, 0, 0, 2, 0, 32, 0, 0]),
            ("mtime", b"1700000000.5"),
        ]),
        raw_file(b"truncated-pax", &bytes(200, 2)),
        gnu_long(b'L', b"usr/share/link"),
        gnu_long(b'K', target.as_bytes()),
        raw_entry(b"x", b'2', b"x", b""),
        gnu_long(b'L', max_path.as_bytes()),
        raw_file(b"m", &bytes(300, 3)),
    ];
    for comp in [Comp::Gzip, Comp::None] {
        let (_tmp, reference) = oci_with(&format!("long-ok-{comp:?}"), &[raw_layer(&parts, comp)]);
        let report = analyze_ok(&reference);
        assert_eq!(
            final_paths(&report),
            vec![(max_path.clone(), 300), (pax_path.clone(), 200), (long.clone(), 100)],
            "{comp:?}"
        );
        assert_eq!(report.totals.final_files, 4, "{comp:?}"); // and the symlink
    }
    // One byte more is refused, however the name is spelled.
    let over = format!("{max_path}y");
    for (tag, parts) in [
        ("pax", vec![pax(&[("path", over.as_bytes())]), raw_file(b"m", b"")]),
        ("gnu", vec![gnu_long(b'L', over.as_bytes()), raw_file(b"m", b"")]),
    ] {
        let (_tmp, reference) = oci_with(&format!("long-over-{tag}"), &[raw_layer(&parts, Comp::Gzip)]);
        let e = error_of(&reference, false);
        assert!(e.contains("layer 0") && (e.contains("4097 bytes") || e.contains("declares 4098 bytes")), "{tag}: {e}");
    }
}

#[test]
fn names_that_are_not_utf8_stay_distinct() {
    // Four names that a lossy conversion would make two: `caf\xe9` and `caf\xe8` (Latin-1), the
    // valid text `caf\xe9` (a backslash, an x) and `caf\u{fffd}`. The next layer whites out the
    // first one only.
    let layer0 = raw_layer(
        &[
            raw_file(b"caf\xe9", &bytes(100, 1)),
            raw_file(b"caf\xe8", &bytes(200, 2)),
            raw_file(b"caf\\xe9", &bytes(300, 3)),
            raw_file("caf\u{fffd}".as_bytes(), &bytes(400, 4)),
            raw_entry(b"d\xff", b'5', b"", b""),
            raw_file(b"d\xff/inner", &bytes(50, 5)),
        ],
        Comp::Gzip,
    );
    let layer1 = raw_layer(&[raw_file(b".wh.caf\xe9", b""), raw_file(b".wh.d\xff", b"")], Comp::None);
    let (_tmp, reference) = oci_with("non-utf8", &[layer0, layer1]);
    let report = analyze_ok(&reference);
    assert_eq!(
        final_paths(&report),
        vec![("caf\\\\xe9".to_string(), 300), ("caf\\xe8".to_string(), 200), ("caf\u{fffd}".to_string(), 400)]
    );
    let mut hidden: Vec<(&str, u64)> = report.invisible_files.iter().map(|f| (f.path.as_str(), f.bytes)).collect();
    hidden.sort();
    assert_eq!(hidden, vec![("caf\\xe9", 100), ("d\\xff/inner", 50)]);
    assert_eq!(report.totals.final_fs_bytes, 900);
}

#[test]
fn aufs_metadata_is_skipped_and_its_hardlinks_resolved() {
    // An aufs export: `.wh..wh.plnk/` keeps inodes for hardlinks, `.wh..wh.aufs` and
    // `.wh..wh.orph/` are bookkeeping. None of them whites out `.wh.plnk`, `.wh.aufs` … nor
    // appears in the file system; the two names linked to the plnk inode share its 100 bytes
    // (one inode: listed once among the largest files, counted as two files).
    let lower = Layer::new(
        &[
            Item::File("plnk", bytes(10, 1), 0o644),
            Item::File("aufs", bytes(20, 2), 0o644),
            Item::File("orph", bytes(30, 3), 0o644),
        ],
        Comp::Gzip,
        "base",
    );
    let upper = raw_layer(
        &[
            raw_entry(b".wh..wh.plnk/", b'5', b"", b""),
            raw_file(b".wh..wh.plnk/1234.5678", &bytes(100, 4)),
            raw_file(b".wh..wh.aufs", b""),
            raw_entry(b".wh..wh.orph/", b'5', b"", b""),
            raw_file(b".wh..wh.orph/stray", &bytes(40, 5)),
            raw_file(b".wh..wh.plnk/.wh.plnk", b""),
            raw_entry(b"usr/bin/x", b'1', b".wh..wh.plnk/1234.5678", b""),
            raw_entry(b"usr/bin/y", b'1', b".wh..wh.plnk/1234.5678", b""),
        ],
        Comp::Gzip,
    );
    let (_tmp, reference) = oci_with("aufs", &[lower, upper]);
    let report = analyze_ok(&reference);
    assert_eq!(
        final_paths(&report),
        vec![("aufs".into(), 20), ("orph".into(), 30), ("plnk".into(), 10), ("usr/bin/x".into(), 100)]
    );
    assert_eq!(report.totals.final_files, 5);
    assert!(report.invisible_files.is_empty(), "{:?}", report.invisible_files);
    assert_eq!(report.layers[1].content_bytes, 100);
    assert_eq!(report.totals.final_fs_bytes, 160);
    // A hardlink into `.wh..wh.plnk/` to an inode the layer does not hold.
    let dangling = raw_layer(&[raw_entry(b"usr/bin/z", b'1', b".wh..wh.plnk/999.1", b"")], Comp::Gzip);
    let (_tmp, reference) = oci_with("aufs-dangling", &[dangling]);
    let e = error_of(&reference, false);
    assert!(e.contains("layer 0") && e.contains("usr/bin/z") && e.contains(".wh..wh.plnk/999.1"), "{e}");
}

#[test]
fn odd_entries_do_not_panic() {
    // A NUL inside a name (GNU long name or PAX path can hold one) is refused.
    for (tag, parts) in [
        ("nul-gnu", vec![gnu_long(b'L', b"a\0b"), raw_file(b"x", b"")]),
        ("nul-pax", vec![pax(&[("path", b"a\0b")]), raw_file(b"x", b"")]),
    ] {
        let (_tmp, reference) = oci_with(tag, &[raw_layer(&parts, Comp::Gzip)]);
        let e = error_of(&reference, false);
        assert!(e.contains("layer 0") && e.contains("NUL byte"), "{tag}: {e}");
    }
    // An empty name is the root: nothing to record.
    let (_tmp, reference) =
        oci_with("empty-name", &[raw_layer(&[raw_file(b"", b""), raw_file(b"f", &bytes(5, 1))], Comp::Gzip)]);
    assert_eq!(final_paths(&analyze_ok(&reference)), vec![("f".into(), 5)]);
    // One path changes type within a layer and across layers: the last entry wins.
    let lower = raw_layer(
        &[raw_entry(b"t", b'5', b"", b""), raw_file(b"t/in", &bytes(7, 1)), raw_file(b"u", &bytes(8, 2))],
        Comp::Gzip,
    );
    let upper = raw_layer(
        &[
            raw_entry(b"a", b'5', b"", b""),
            raw_file(b"a/child", &bytes(3, 3)),
            raw_file(b"a", &bytes(9, 4)),
            raw_file(b"b", &bytes(4, 5)),
            raw_entry(b"b", b'5', b"", b""),
            raw_file(b"t", &bytes(6, 6)),
            raw_entry(b"u", b'5', b"", b""),
        ],
        Comp::None,
    );
    let (_tmp, reference) = oci_with("type-change", &[lower, upper]);
    let report = analyze_ok(&reference);
    assert_eq!(final_paths(&report), vec![("a".into(), 9), ("t".into(), 6)]);
    // A hardlink to a whiteout's name: whiteouts are not files.
    let layer =
        raw_layer(&[raw_file(b"f", b"1"), raw_file(b".wh.g", b""), raw_entry(b"h", b'1', b".wh.g", b"")], Comp::Gzip);
    let (_tmp, reference) = oci_with("link-to-whiteout", &[layer]);
    let e = error_of(&reference, false);
    assert!(e.contains("layer 0") && e.contains("`h`") && e.contains("does not exist"), "{e}");
    // A hardlink to itself.
    let layer = raw_layer(&[raw_file(b"s", b"1"), raw_entry(b"s", b'1', b"s", b"")], Comp::Gzip);
    let (_tmp, reference) = oci_with("self-link", &[layer]);
    let _ = analyze_reference(&reference, &AnalyzeOptions::default());
}
