//! Accounting on generated images, expected bytes worked out by hand in each test.

mod common;

use common::*;
use imgopt::analyze::{analyze_reference, index::Removal, AnalyzeOptions, Report};

fn check_scenario(report: &Report) {
    let t = &report.totals;
    // Content: layer 0 = 100+1000+50+200+300+400+70 = 2120 (the hardlink counts once, the
    // symlink 0); layer 1 = 120+10 = 130; layer 2 = 50.
    let content: Vec<u64> = report.layers.iter().map(|l| l.content_bytes).collect();
    assert_eq!(content, vec![2120, 130, 50]);
    assert_eq!(t.content_bytes, 2300);
    // Invisible from layer 0: big.bin 1000 (file whiteout) + cache 200+300 (dir whiteout) +
    // config 100 (overwritten) + opt/x 400 (opaque) by layer 1, keep 50 (chmod copy) by layer 2.
    // bin/tool stays visible through bin/tool2.
    assert_eq!(report.layers[0].invisible_bytes, 2050);
    assert_eq!(report.layers[0].invisible_files, 6);
    let by: Vec<(usize, u64, u64)> = report.layers[0].hidden_by.iter().map(|h| (h.layer, h.bytes, h.files)).collect();
    assert_eq!(by, vec![(1, 2000, 5), (2, 50, 1)]);
    assert_eq!(report.layers[1].invisible_bytes, 0);
    assert_eq!(report.layers[2].invisible_bytes, 0);
    assert_eq!(t.reclaimable_bytes, 2050);
    // Final: etc/config 120 + app/keep 50 + opt/y 10 + bin/tool2 70 = 250, in 5 files with bin/sh.
    assert_eq!(t.final_fs_bytes, 250);
    assert_eq!(t.final_files, 5);
    assert!((t.efficiency - 250.0 / 2300.0).abs() < 1e-12);
    assert!((t.wasted_ratio - 2050.0 / 2300.0).abs() < 1e-12);
    assert_eq!((t.base_bytes, t.user_bytes), (2120, 180));

    let counts: Vec<(u64, u64, u64, u64)> = report
        .layers
        .iter()
        .map(|l| (l.files_added, l.files_changed, l.files_metadata_only, l.files_removed))
        .collect();
    assert_eq!(counts, vec![(9, 0, 0, 0), (1, 1, 0, 4), (0, 1, 1, 1)]);

    let how = |path: &str| report.invisible_files.iter().find(|f| f.path == path).map(|f| (f.hidden_by, f.how));
    assert_eq!(how("app/big.bin"), Some((1, Removal::FileWhiteout)));
    assert_eq!(how("cache/sub/b"), Some((1, Removal::DirWhiteout)));
    assert_eq!(how("cache/a"), Some((1, Removal::DirWhiteout)));
    assert_eq!(how("etc/config"), Some((1, Removal::Overwritten)));
    assert_eq!(how("opt/x"), Some((1, Removal::OpaqueDir)));
    assert_eq!(how("app/keep"), Some((2, Removal::MetadataOnly)));
    assert_eq!(how("bin/tool"), None);

    // History: the empty_layer ENV entry is skipped, so layer 1 maps to the second RUN.
    assert_eq!(report.layers[1].instruction.as_deref(), Some("/bin/sh -c rm -rf /app/big.bin /cache && ./configure"));
    let compression: Vec<&str> = report.layers.iter().map(|l| l.compression).collect();

    // dive, by hand: leaves per layer and their sizes.
    // etc/config 100+120 (min 100), app/big.bin 1000+0 (min 0), app/keep 50+50 (min 50),
    // bin/tool 70+0 (min 0); seen once: cache/a 200, cache/sub/b 300, opt/x 400, bin/tool2 0,
    // bin/sh 0, the whiteout of dir cache 500, opt/y 10.
    // Σcumulative = 220+1000+100+70+200+300+400+500+10 = 2800; Σmin = 100+0+50+0+200+300+400+500+10 = 1560.
    // wasted = 220+1000+100+70 = 1390; user size = 130+50 = 180.
    let d = &report.dive;
    assert!((d.efficiency - 1560.0 / 2800.0).abs() < 1e-12, "{}", d.efficiency);
    assert_eq!(d.wasted_bytes, 1390);
    assert_eq!((d.size_bytes, d.user_size_bytes), (2300, 180));
    assert!((d.user_wasted_percent.unwrap() - 1390.0 / 180.0).abs() < 1e-12);
    let _ = compression;
}

fn layouts(tag: &str) -> (TempDir, Vec<String>) {
    let layers = waste_scenario();
    let config = config_json(&layers);
    let tmp = TempDir::new(tag);
    let oci = oci_files(&layers, &config);
    write_dir(&tmp.path("oci"), &oci);
    write_tar(&tmp.path("oci.tar"), &oci);
    write_tar(&tmp.path("docker-legacy.tar"), &docker_legacy_files(&layers, &config));
    write_tar(&tmp.path("docker25.tar"), &docker25_files(&layers, &config));
    let refs = vec![
        format!("oci:{}:latest", tmp.path("oci").display()),
        format!("oci:{}", tmp.path("oci").display()),
        format!("oci-archive:{}", tmp.path("oci.tar").display()),
        format!("docker-archive:{}", tmp.path("docker-legacy.tar").display()),
        format!("docker-archive:{}:test/image:latest", tmp.path("docker25.tar").display()),
    ];
    (tmp, refs)
}

#[test]
fn every_layout_gives_the_hand_computed_numbers() {
    let (_tmp, refs) = layouts("layouts");
    for reference in &refs {
        for verify in [false, true] {
            let report = analyze_reference(reference, &AnalyzeOptions { verify, ..Default::default() })
                .unwrap_or_else(|e| panic!("{reference}: {e}"));
            check_scenario(&report);
        }
    }
}

#[test]
fn layers_keep_their_compression() {
    let (_tmp, refs) = layouts("compression");
    let report = analyze_reference(&refs[0], &AnalyzeOptions::default()).unwrap();
    let compression: Vec<&str> = report.layers.iter().map(|l| l.compression).collect();
    assert_eq!(compression, vec!["gzip", "zstd", "none"]);
    let layers = waste_scenario();
    for (l, r) in layers.iter().zip(&report.layers) {
        assert_eq!(r.compressed_bytes, l.blob().len() as u64);
        assert_eq!(r.uncompressed_bytes, l.tar.len() as u64);
    }
    // docker save stores layers uncompressed.
    let legacy = analyze_reference(&refs[3], &AnalyzeOptions::default()).unwrap();
    assert!(legacy.layers.iter().all(|l| l.compression == "none"));
}

#[test]
fn caches_in_the_final_filesystem_are_reported() {
    // apt lists 300 B + 200 B, apt archive 1000 B, pip cache 40 B, /tmp 7 B; the apt lock file
    // and a pip cache later deleted do not count.
    let layers = vec![
        Layer::new(
            &[
                Item::File("var/lib/apt/lists/deb.debian.org_Packages", bytes(300, 1), 0o644),
                Item::File("var/lib/apt/lists/deb.debian.org_Release", bytes(200, 2), 0o644),
                Item::File("var/lib/apt/lists/lock", Vec::new(), 0o640),
                Item::File("var/cache/apt/archives/curl.deb", bytes(1000, 3), 0o644),
                Item::File("root/.cache/pip/http/x", bytes(40, 4), 0o644),
                Item::File("home/app/.cache/pip/y", bytes(60, 5), 0o644),
                Item::File("tmp/build.log", bytes(7, 6), 0o644),
            ],
            Comp::Gzip,
            "RUN apt-get update && apt-get install -y curl",
        ),
        Layer::new(&[Item::Whiteout("home/app/.cache")], Comp::Gzip, "RUN rm -rf ~/.cache"),
    ];
    let config = config_json(&layers);
    let tmp = TempDir::new("caches");
    write_dir(&tmp.path("oci"), &oci_files(&layers, &config));
    let report = analyze_reference(&format!("oci:{}", tmp.path("oci").display()), &AnalyzeOptions::default()).unwrap();
    let found: Vec<(&str, u64, u64)> = report.caches.iter().map(|c| (c.cache, c.bytes, c.files)).collect();
    assert_eq!(found, vec![("apt-archives", 1000, 1), ("apt-lists", 500, 2), ("pip", 40, 1), ("tmp", 7, 1)]);
    assert_eq!(report.totals.reclaimable_bytes, 60);
}

#[test]
fn all_formats_show_the_same_numbers() {
    let (_tmp, refs) = layouts("formats");
    let report = analyze_reference(&refs[2], &AnalyzeOptions::default()).unwrap();
    use imgopt::analyze::render::{render, Format};
    let json: serde_json::Value = serde_json::from_str(&render(&report, Format::Json)).unwrap();
    assert_eq!(json["totals"]["reclaimable_bytes"], 2050);
    assert_eq!(json["totals"]["final_fs_bytes"], 250);
    assert_eq!(json["dive"]["wasted_bytes"], 1390);
    assert_eq!(json["layers"][0]["hidden_by"][0]["bytes"], 2000);
    let markdown = render(&report, Format::Markdown);
    assert!(
        markdown.contains("| Reclaimable | 2.0 kB (2050 B, 89.1% of content): your layers 0 B, base image 2.0 kB |"),
        "{markdown}"
    );
    assert!(markdown.contains("wastedBytes 1.4 kB (1390 B)"), "{markdown}");
    let table = render(&report, Format::Table);
    assert!(table.contains("Reclaimable:       2.0 kB (2050 B, 89.1% of content)"), "{table}");
    assert!(table.contains("2.0 kB in 5 files hidden by layer 1"), "{table}");
}

/// Issue 14: "Compressed" and "Stored: ... compressed" were shown for docker save archives,
/// whose layers are plain tars (the figure can exceed the content); and "Reclaimable" mixed bytes
/// the user's Dockerfile can recover with bytes inside the base image's own layers.
#[test]
fn stored_bytes_say_what_they_are_and_reclaimable_says_whose() {
    use imgopt::analyze::render::{render, Format};
    let (_tmp, refs) = layouts("stored");
    let legacy = analyze_reference(&refs[3], &AnalyzeOptions::default()).unwrap();
    for text in [render(&legacy, Format::Table), render(&legacy, Format::Markdown)] {
        assert!(!text.contains("Compressed") && !text.contains(" compressed"), "not compressed: {text}");
        assert!(text.contains("Stored") && text.contains("as uncompressed tar"), "{text}");
    }
    // The OCI layout stores layer 0 gzip, layer 1 zstd, layer 2 as a plain tar.
    let mixed = render(&analyze_reference(&refs[0], &AnalyzeOptions::default()).unwrap(), Format::Table);
    assert!(mixed.contains("(2 of 3 layers compressed, the others uncompressed)"), "{mixed}");
    // Layer 0 (the base image) ships all 2050 reclaimable bytes; the user's layers none.
    let t = &legacy.totals;
    assert_eq!((t.reclaimable_user_bytes, t.reclaimable_base_bytes), (0, 2050));
    let table = render(&legacy, Format::Table);
    assert!(table.contains("89.1% of content): your layers 0 B, base image 2.0 kB"), "{table}");
    let json: serde_json::Value = serde_json::from_str(&render(&legacy, Format::Json)).unwrap();
    assert_eq!(json["totals"]["reclaimable_user_bytes"], 0);
    assert_eq!(json["totals"]["reclaimable_base_bytes"], 2050);
    // With no layer counted as the base image's (--base-layers 0), all of them are the user's.
    let two = analyze_reference(&refs[3], &AnalyzeOptions { base_layers: Some(0), ..Default::default() }).unwrap();
    assert_eq!((two.totals.reclaimable_user_bytes, two.totals.reclaimable_base_bytes), (2050, 0));
}

#[test]
fn gates_fail_with_the_margin() {
    use imgopt::analyze::gates::Gates;
    let (_tmp, refs) = layouts("gates");
    let report = analyze_reference(&refs[0], &AnalyzeOptions::default()).unwrap();
    // The 2050 B are shipped by layer 0, the base image's: only --include-base judges them.
    assert_eq!((report.totals.reclaimable_base_bytes, report.totals.reclaimable_user_bytes), (2050, 0));
    let strict = Gates {
        max_wasted_bytes: Some(0),
        max_wasted_ratio: Some(0.0),
        min_efficiency: Some(1.0),
        include_base: false,
    };
    assert!(strict.check(&report).is_empty(), "no waste in the user's layers");
    let passing = Gates {
        max_wasted_bytes: Some(2050),
        max_wasted_ratio: Some(0.9),
        min_efficiency: Some(0.1),
        include_base: true,
    };
    assert!(passing.check(&report).is_empty());
    let failing = Gates {
        max_wasted_bytes: Some(2000),
        max_wasted_ratio: Some(0.5),
        min_efficiency: Some(0.5),
        include_base: true,
    };
    let failures = failing.check(&report);
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(failures[0].contains("50 B over the limit of 2000 B"), "{}", failures[0]);
    assert!(failures[1].starts_with("max-wasted-ratio"));
    assert!(failures[2].starts_with("min-efficiency"));

    // A .dive-ci file fills the limits the command line did not set.
    let tmp = TempDir::new("dive-ci");
    let file = tmp.path(".dive-ci");
    std::fs::write(
        &file,
        "rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 2KB\n  highestUserWastedPercent: disabled\n",
    )
    .unwrap();
    let gates =
        Gates { max_wasted_bytes: Some(5000), include_base: true, ..Default::default() }.with_dive_ci(&file).unwrap();
    assert_eq!(
        gates,
        Gates { max_wasted_bytes: Some(5000), max_wasted_ratio: None, min_efficiency: Some(0.95), include_base: true }
    );
    let failures = gates.check(&report);
    // efficiency 250/2300 = 0.1087, 0.8413 under 0.95.
    assert_eq!(failures, vec!["min-efficiency: efficiency 0.1087 is 0.8413 under the limit of 0.95".to_string()]);
}

#[test]
fn cli_gate_exits_1_and_says_why() {
    let (tmp, refs) = layouts("cli");
    let file = tmp.path("ci.yaml");
    std::fs::write(&file, "rules:\n  highestWastedBytes: 2000\n").unwrap();
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_imgopt"))
            .args(["analyze", "--image", &refs[0], "--format", "json"])
            .args(extra)
            .output()
            .unwrap()
    };
    // Layer 0 (the base) ships all 2050 B: the user's layers alone pass.
    let passed = run(&["--ci-config", file.to_str().unwrap()]);
    assert_eq!(passed.status.code(), Some(0), "{}", String::from_utf8_lossy(&passed.stderr));
    let failed = run(&["--ci-config", file.to_str().unwrap(), "--include-base"]);
    assert_eq!(failed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("gate failed: max-wasted-bytes: 2.0 kB reclaimable (2050 B) is 50 B over the limit of 2000 B"),
        "{stderr}"
    );
    // The command line wins over the file.
    let passed = run(&["--ci-config", file.to_str().unwrap(), "--max-wasted-bytes", "2050", "--include-base"]);
    assert_eq!(passed.status.code(), Some(0), "{}", String::from_utf8_lossy(&passed.stderr));
}

#[test]
fn platform_selection_skips_attestations() {
    use imgopt::image::Platform;
    let (_tmp, refs) = layouts("platform");
    // The nested index offers linux/amd64 and an unknown/unknown attestation.
    let amd64 = AnalyzeOptions { platform: Some(Platform::parse("linux/amd64").unwrap()), ..Default::default() };
    assert_eq!(analyze_reference(&refs[0], &amd64).unwrap().totals.reclaimable_bytes, 2050);
    let arm = AnalyzeOptions { platform: Some(Platform::parse("linux/arm64").unwrap()), ..Default::default() };
    let e = analyze_reference(&refs[0], &arm).unwrap_err().to_string();
    assert_eq!(e, "no image for platform linux/arm64; the index offers: linux/amd64");
    assert!(Platform::parse("linux").is_err());
}

/// Issue 14: an archive is read as what it holds, whatever the prefix says (or without one), and
/// a file that is not an image archive is called that.
#[test]
fn archives_are_read_as_what_they_hold() {
    let (tmp, _refs) = layouts("detect");
    let legacy = tmp.path("docker-legacy.tar");
    for reference in [
        format!("oci-archive:{}", legacy.display()),
        format!("docker-archive:{}", tmp.path("oci.tar").display()),
        legacy.display().to_string(),
    ] {
        let report =
            analyze_reference(&reference, &AnalyzeOptions::default()).unwrap_or_else(|e| panic!("{reference}: {e}"));
        check_scenario(&report);
    }
    let run = |reference: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_imgopt"))
            .args(["analyze", "--image", reference])
            .current_dir(&tmp.0)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    // A path without a transport, relative to the working directory.
    let o = run("./docker-legacy.tar");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run("oci.tar");
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    // Not a tar at all, under either prefix.
    std::fs::write(tmp.path("notes.txt"), "not an archive\n".repeat(100)).unwrap();
    for prefix in ["docker-archive", "oci-archive"] {
        let o = run(&format!("{prefix}:notes.txt"));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("notes.txt is not an image archive: not a tar file"), "{stderr}");
        assert!(!stderr.contains("Other") && !stderr.contains("entire block"), "{stderr}");
    }
    // A tar that holds no image.
    write_tar(&tmp.path("src.tar"), &[("main.c".to_string(), b"int main;".to_vec())]);
    let o = run("oci-archive:src.tar");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("no `oci-layout` file") && stderr.contains("`manifest.json`"), "{stderr}");
}

/// Issue 14: without -f a base layer showed as `[base] /bin/sh`; the base image's name is shown
/// when the image records it (the OCI base-name annotation, or the same key as a label).
#[test]
fn base_layers_carry_the_base_image_name_the_image_records() {
    use imgopt::analyze::render::{render, Format};
    let layers = waste_scenario();
    let mut config: serde_json::Value = serde_json::from_slice(&config_json(&layers)).unwrap();
    config["config"]["Labels"] = serde_json::json!({"org.opencontainers.image.base.name": "debian:12-slim"});
    let tmp = TempDir::new("base-name");
    write_dir(&tmp.path("oci"), &oci_files(&layers, &serde_json::to_vec(&config).unwrap()));
    let reference = format!("oci:{}", tmp.path("oci").display());
    let report = analyze_reference(&reference, &AnalyzeOptions::default()).unwrap();
    assert_eq!(report.base_image.as_deref(), Some("debian:12-slim"));
    let table = render(&report, Format::Table);
    assert!(table.contains("[base debian:12-slim] ADD file:base in /"), "{table}");
    assert!(table.contains("Base (1 layers):   2.1 kB (debian:12-slim), user layers 180 B"), "{table}");
    let markdown = render(&report, Format::Markdown);
    assert!(markdown.contains("| 0 (base `debian:12-slim`) |"), "{markdown}");
    // Without it, the layer says [base] only.
    let (_tmp, refs) = layouts("base-name-none");
    let plain = analyze_reference(&refs[0], &AnalyzeOptions::default()).unwrap();
    assert_eq!(plain.base_image, None);
    assert!(render(&plain, Format::Table).contains("[base] ADD file:base in /"));
}
