//! Bytes per package on images built for real: a debootstrap Debian minbase with apt and pip
//! installs (testdata/packages/apt/Dockerfile), and Debian's busybox-static with a hand-written
//! apk database. imgopt's figures are checked against what the image itself says: `du` over
//! the files `dpkg -L` lists, dpkg's `Installed-Size`, and the files pip's RECORD lists.
//!
//! Needs: buildah, busybox-static; for the apt image also debootstrap, the Debian mirror and
//! PyPI (apt). Run as root. The apt image is built on the Debian base the build tests share
//! (tests/common/bases.rs) once, and kept under target/ (named by a hash of its recipe and the
//! base), so later runs reuse it; with CI=true a missing tool fails the test.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::TempDir;
use imgopt::analyze::dockerfile_map::DockerfileSteps;
use imgopt::analyze::render::{render, render_with, Format};
use imgopt::analyze::{analyze_reference, AnalyzeOptions, Report};
use serde_json::Value;

fn imgopt(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_imgopt")).args(args).output().expect("imgopt runs");
    assert!(out.status.success(), "imgopt {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn recipe_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/packages")
}

/// The apt image (a `docker save` archive of plain tars) and its facts file, built once.
fn apt_image() -> Option<&'static (PathBuf, PathBuf)> {
    static IMAGE: OnceLock<Option<(PathBuf, PathBuf)>> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            if !common::need(&["buildah", "debootstrap"], "apt-get install buildah debootstrap") {
                return None;
            }
            // The Debian minbase the build tests share: debootstrap runs once per run.
            let base = common::bases::debian();
            let dir = recipe_dir();
            let mut recipe = base.image_id.clone().into_bytes();
            for file in ["build-apt-image.sh", "apt/Dockerfile", "apt/facts.sh"] {
                recipe.extend(std::fs::read(dir.join(file)).expect("recipe file"));
            }
            let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("imgopt-packages");
            let archive = cache.join(format!("apt-{}.tar", &common::sha256(&recipe)[..16]));
            let facts = PathBuf::from(format!("{}.facts", archive.display()));
            if !(archive.is_file() && facts.is_file()) {
                let started = std::time::Instant::now();
                let out = Command::new("bash")
                    .arg(dir.join("build-apt-image.sh"))
                    .arg("--uncompressed")
                    .args(["--base", &base.docker_archive_ref()])
                    .arg(&cache)
                    .arg(&archive)
                    .output()
                    .expect("bash runs");
                assert!(out.status.success(), "building the apt image: {}", String::from_utf8_lossy(&out.stderr));
                eprintln!("built {} in {:.0?}", archive.display(), started.elapsed());
            }
            Some((archive, facts))
        })
        .as_ref()
}

/// One line of facts.sh: what the image says of a package.
struct Fact {
    /// dpkg's Installed-Size (KiB).
    kib: Option<u64>,
    /// `du` over its regular files.
    bytes: u64,
    /// Paths its list names.
    paths: u64,
    /// Its control files in /var/lib/dpkg/info: bytes and count.
    control: Option<(u64, u64)>,
}

fn facts(file: &Path) -> HashMap<(String, String), Fact> {
    let text = std::fs::read_to_string(file).expect("facts file");
    text.lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 7, "facts line {line:?}");
            let fact = Fact {
                kib: f[2].parse().ok(),
                bytes: f[3].parse().unwrap(),
                paths: f[4].parse().unwrap(),
                control: f[5].parse().ok().zip(f[6].parse().ok()),
            };
            ((f[0].to_string(), f[1].to_string()), fact)
        })
        .collect()
}

fn package<'a>(report: &'a Value, manager: &str, name: &str) -> &'a Value {
    report["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["manager"] == manager && p["name"] == name)
        .unwrap_or_else(|| panic!("no {manager} package {name}"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// The apt image analyzed once (in this process: a debug build reads ~400 MB slowly) with
/// `-f Dockerfile`: the report and its JSON.
fn apt_report() -> Option<&'static (Report, Value, PathBuf)> {
    static REPORT: OnceLock<Option<(Report, Value, PathBuf)>> = OnceLock::new();
    REPORT
        .get_or_init(|| {
            let (archive, facts) = apt_image()?;
            let dockerfile = recipe_dir().join("apt/Dockerfile");
            let options =
                AnalyzeOptions { dockerfile: Some(DockerfileSteps::read(&dockerfile).unwrap()), ..Default::default() };
            let started = std::time::Instant::now();
            let report = analyze_reference(&format!("docker-archive:{}", archive.display()), &options).unwrap();
            eprintln!("analyzed {} in {:.2?}", archive.display(), started.elapsed());
            let json = serde_json::from_str(&render(&report, Format::Json)).unwrap();
            Some((report, json, facts.clone()))
        })
        .as_ref()
}

#[test]
fn apt_image_packages_match_dpkg_and_du() {
    let Some((_, report, facts_file)) = apt_report() else { return };
    let facts = facts(facts_file);

    // Every package: imgopt's final bytes are du's bytes over the files `dpkg -L` (or RECORD)
    // lists, exactly. dpkg's Installed-Size is dpkg-gencontrol's estimate when the .deb was
    // built: every file of the package, its control files (maintainer scripts, md5sums,
    // symbols) included, rounded up to a KiB, and 1 KiB for each directory and symlink. So the
    // real bytes are at most the estimate, and the estimate at most the real bytes plus the
    // control files plus 1 KiB per path, for a package none of whose files were deleted since.
    let mut checked = 0;
    for ((manager, name), fact) in &facts {
        let p = package(report, manager, name);
        assert_eq!(u(&p["final_bytes"]), fact.bytes, "{manager} {name}: final_bytes vs du");
        if let (Some(kib), Some((control_bytes, control_files))) = (fact.kib, fact.control) {
            let estimate = kib * 1024;
            assert_eq!(u(&p["declared_bytes"]), estimate, "{name}: Installed-Size");
            assert!(fact.bytes <= estimate, "{name}: {} B of files, Installed-Size {kib} KiB", fact.bytes);
            if u(&p["missing_paths"]) == 0 {
                let most = fact.bytes + control_bytes + (fact.paths + control_files + 1) * 1024;
                assert!(estimate <= most, "{name}: Installed-Size {kib} KiB over {most} B");
            }
        }
        checked += 1;
    }
    let dpkg_count = report["packages"].as_array().unwrap().iter().filter(|p| p["manager"] == "dpkg").count();
    assert_eq!(dpkg_count, facts.keys().filter(|(m, _)| m == "dpkg").count(), "dpkg packages vs dpkg-query");
    assert!(checked > 100, "only {checked} packages checked");

    // wget was asked for on line 5 (layer 1); its dependencies' Recommends were installed too.
    let wget = package(report, "dpkg", "wget");
    assert_eq!((wget["reason"].as_str(), u(&wget["layer"]), u(&wget["dockerfile_line"])), (Some("manual"), 1, 5));
    // Line 6 deleted its documentation: those bytes still ship in layer 1.
    assert!(u(&wget["hidden_bytes"]) > 0 && u(&wget["missing_paths"]) > 0);
    assert_eq!(u(&wget["bytes"]) - u(&wget["hidden_bytes"]), u(&wget["final_bytes"]));
    let libpsl = package(report, "dpkg", "libpsl5");
    assert_eq!(libpsl["reason"], "dependency");
    assert_eq!(libpsl["via"], serde_json::json!(["wget"]));
    let publicsuffix = package(report, "dpkg", "publicsuffix");
    assert_eq!(publicsuffix["reason"], "recommended", "{publicsuffix}");
    assert_eq!(publicsuffix["via"], serde_json::json!(["wget", "libpsl5"]));
    assert_eq!(u(&publicsuffix["layer"]), 1);
    // The base asked for ca-certificates (debootstrap --include): wget's Recommends found it there.
    let ca = package(report, "dpkg", "ca-certificates");
    assert_eq!((ca["reason"].as_str(), u(&ca["layer"])), (Some("manual"), 0));
    // python3-pip came with --no-install-recommends on line 7: nothing of that layer is recommended.
    for p in report["packages"].as_array().unwrap().iter().filter(|p| p["layer"] == 3) {
        assert_ne!(p["reason"], "recommended", "{p}");
    }
    // The base image's packages: layer 0, mapped to FROM (line 4).
    let libc = package(report, "dpkg", "libc6");
    assert_eq!((u(&libc["layer"]), u(&libc["dockerfile_line"])), (0, 4));

    // pip: python-dateutil asked for, six its dependency, both on line 9; the Debian pip's
    // dist-info is dpkg's.
    let dateutil = package(report, "python", "python-dateutil");
    assert_eq!((dateutil["reason"].as_str(), u(&dateutil["dockerfile_line"])), (Some("manual"), 9));
    assert_eq!(package(report, "python", "six")["reason"], "dependency");
    assert!(!report["packages"].as_array().unwrap().iter().any(|p| p["manager"] == "python" && p["name"] == "pip"));

    // Owned and unowned bytes add up to the final filesystem.
    let unowned: u64 = report["unowned"].as_array().unwrap().iter().map(|d| u(&d["bytes"])).sum();
    assert!(unowned < u(&report["totals"]["final_fs_bytes"]));
    let lists = report["unowned"].as_array().unwrap().iter().find(|d| d["dir"] == "var/lib").expect("var/lib");
    let apt_lists = report["caches"].as_array().unwrap().iter().find(|c| c["cache"] == "apt-lists").unwrap();
    assert!(u(&lists["bytes"]) >= u(&apt_lists["bytes"]), "apt's lists are no package's");
}

#[test]
fn apt_image_in_text_formats() {
    let Some((report, json, _)) = apt_report() else { return };
    let table = render(report, Format::Table);
    assert!(table.contains("Largest packages (10 of "), "{table}");
    assert!(table.contains("Unowned files (no package lists them), by directory:"), "{table}");
    let all = render_with(report, Format::Table, usize::MAX);
    let count = json["packages"].as_array().unwrap().len();
    assert!(all.contains(&format!("Packages ({count}, largest first)")), "{all}");
    let publicsuffix = all.lines().find(|l| l.contains(" publicsuffix ")).expect("publicsuffix listed");
    assert!(publicsuffix.contains("Dockerfile:5"), "{publicsuffix}");
    assert!(publicsuffix.contains("recommended via wget"), "{publicsuffix}");
    assert!(publicsuffix.contains("--no-install-recommends"), "{publicsuffix}");
    let markdown = render_with(report, Format::Markdown, usize::MAX);
    assert!(markdown.contains("**Packages ("), "{markdown}");
    assert!(markdown.contains("dpkg `publicsuffix`"), "{markdown}");
}

/// busybox-static in layer 0 with an apk database saying so; layer 1 adds a package `hello` and
/// makes it the only one asked for; layer 2 deletes half of it.
#[test]
fn busybox_with_a_hand_written_apk_database() {
    let busybox = Path::new("/bin/busybox");
    let mut missing: Vec<&str> = if common::on_path("buildah") { vec![] } else { vec!["buildah"] };
    if !busybox.is_file() {
        missing.push("busybox-static (/bin/busybox)");
    }
    if !common::tools_ready(&missing, "apt-get install buildah busybox-static") {
        return;
    }
    let tmp = TempDir::new("apk");
    let context = tmp.path("context");
    let busybox_bytes = std::fs::metadata(busybox).unwrap().len();
    let readme = b"hello, world\n".repeat(100);
    let files: Vec<(String, Vec<u8>)> = vec![
        ("rootfs/bin/busybox".into(), std::fs::read(busybox).unwrap()),
        (
            "rootfs/lib/apk/db/installed".into(),
            format!("C:Q1x\nP:busybox\nV:1.35.0-r0\nA:x86_64\nI:{busybox_bytes}\nF:bin\nR:busybox\n\n").into_bytes(),
        ),
        ("rootfs/etc/apk/world".into(), b"busybox\n".to_vec()),
        ("rootfs/hello.apk".into(), b"P:hello\nV:1.0-r0\nD:busybox\nF:usr/share/hello\nR:data\nR:readme\n\n".to_vec()),
        ("rootfs/hello.readme".into(), readme.clone()),
        (
            "Dockerfile".into(),
            b"FROM scratch\n\
              COPY rootfs/ /\n\
              RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox mkdir -p /usr/share/hello && /bin/busybox dd if=/dev/zero of=/usr/share/hello/data bs=1000 count=40 && /bin/busybox cp /hello.readme /usr/share/hello/readme && /bin/busybox cat /hello.apk >> /lib/apk/db/installed && echo hello > /etc/apk/world\"]\n\
              RUN [\"/bin/busybox\", \"rm\", \"/usr/share/hello/data\"]\n"
                .to_vec(),
        ),
    ];
    common::write_dir(&context, &files);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(context.join("rootfs/bin/busybox"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let store = |name: &str| tmp.path(name).display().to_string();
    let buildah = |args: &[&str]| {
        let out = Command::new("buildah")
            .args(["--root", &store("root"), "--runroot", &store("runroot"), "--storage-driver", "vfs"])
            .args(args)
            .env("BUILDAH_ISOLATION", "chroot")
            .output()
            .expect("buildah runs");
        assert!(out.status.success(), "buildah {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let dockerfile = context.join("Dockerfile").display().to_string();
    buildah(&["build", "-q", "--layers", "-f", &dockerfile, "-t", "imgopt-apk", &context.display().to_string()]);
    let archive = tmp.path("apk.tar");
    buildah(&["push", "-q", "imgopt-apk", &format!("oci-archive:{}:latest", archive.display())]);
    buildah(&["rmi", "-a", "-f"]);

    let reference = format!("oci-archive:{}", archive.display());
    let report: Value =
        serde_json::from_str(&imgopt(&["analyze", "--image", &reference, "-f", &dockerfile, "--format", "json"]))
            .unwrap();
    let bb = package(&report, "apk", "busybox");
    assert_eq!((u(&bb["layer"]), u(&bb["dockerfile_line"])), (0, 2));
    assert_eq!((u(&bb["bytes"]), u(&bb["final_bytes"]), u(&bb["hidden_bytes"])), (busybox_bytes, busybox_bytes, 0));
    assert_eq!(u(&bb["declared_bytes"]), busybox_bytes);
    assert_eq!(bb["reason"], "dependency");
    assert_eq!(bb["via"], serde_json::json!(["hello"]));
    let hello = package(&report, "apk", "hello");
    assert_eq!((u(&hello["layer"]), u(&hello["dockerfile_line"])), (1, 3));
    let readme_bytes = readme.len() as u64;
    assert_eq!(u(&hello["bytes"]), 40_000 + readme_bytes);
    assert_eq!((u(&hello["hidden_bytes"]), u(&hello["final_bytes"])), (40_000, readme_bytes));
    assert_eq!((hello["reason"].as_str(), u(&hello["missing_paths"])), (Some("manual"), 1));
    let db = &report["package_databases"][0];
    assert_eq!(
        (db["manager"].as_str(), db["path"].as_str(), u(&db["packages"])),
        (Some("apk"), Some("lib/apk/db/installed"), 2)
    );
    // The staging files at the root are nobody's.
    let root = report["unowned"].as_array().unwrap().iter().find(|d| d["dir"] == "").expect("files at /");
    assert_eq!(u(&root["files"]), 2, "/hello.apk and /hello.readme");

    // The command line: --packages lists them all, --skip-packages reads no database and
    // changes no other figure.
    let all = imgopt(&["analyze", "--image", &reference, "-f", &dockerfile, "--packages"]);
    assert!(all.contains("Packages (2, largest first):"), "{all}");
    let hello_line = all.lines().find(|l| l.contains("apk hello 1.0-r0")).expect("hello listed");
    assert!(hello_line.contains("Dockerfile:3") && hello_line.contains("asked for"), "{hello_line}");
    let skipped: Value = serde_json::from_str(&imgopt(&[
        "analyze",
        "--image",
        &reference,
        "-f",
        &dockerfile,
        "--skip-packages",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!((&skipped["packages"], &skipped["unowned"]), (&serde_json::json!([]), &serde_json::json!([])));
    assert_eq!(skipped["totals"], report["totals"]);
    assert!(!imgopt(&["analyze", "--image", &reference, "--skip-packages"]).contains("packages"));
}
