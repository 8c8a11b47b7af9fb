//! Fidelity of builds against Docker's BuildKit (Docker 20.10, Debian's docker.io), case by
//! case over `testdata/build/`:
//! - `docker_twice_*`: docker, then docker again with `--no-cache`: the comparer must find the
//!   two identical (timestamps are not compared), which shows it sees what builders do and not
//!   noise;
//! - `buildah_*`: buildah 1.28 against docker, with what differs listed and explained in
//!   [`BUILDAH_VS_DOCKER`];
//! - `imgopt_*`: `imgopt build` against docker, with what differs listed and explained in
//!   [`IMGOPT_VS_DOCKER`].
//!
//! Needs root, Debian's docker.io, buildah, busybox-static and (for the apt case) debootstrap:
//! `scripts/test` installs them. Without them the tests say SKIPPED (under CI they fail).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::build_cases::{self, Base, Case};
use common::docker::{self, BuildOptions, Built};
use common::fidelity::{self, Allow, Snapshot};
use common::{bases, need, tools_ready};

/// What buildah 1.28 (chroot isolation) does differently from Docker 20.10's BuildKit on every
/// case, and why. Case-specific differences are in `build_cases.rs` (`buildah_allow`).
const BUILDAH_VS_DOCKER: &[Allow] = &[
    Allow::anywhere(
        "{etc/hosts,etc/resolv.conf,run}",
        "buildah's chroot isolation leaves its mount points in the first RUN layer: empty /etc/hosts and \
         /etc/resolv.conf (mode 0755) and /run; BuildKit removes its own",
    ),
    Allow {
        glob: "etc",
        final_only: Some(false),
        reason: "every BuildKit RUN layer carries /etc: runc's mount points for hosts and resolv.conf touch the \
                 directory and BuildKit's differ keeps it; buildah's layers carry it only when /etc changed",
    },
    Allow { glob: "Labels", final_only: None, reason: "buildah labels the image io.buildah.version" },
];

/// What imgopt does differently from Docker 20.10's BuildKit, and why.
const IMGOPT_VS_DOCKER: &[Allow] = &[Allow {
    glob: "etc",
    final_only: Some(false),
    reason: "every BuildKit RUN layer carries /etc: runc's mount points for hosts and resolv.conf touch the \
             directory and BuildKit's differ keeps it; imgopt puts the times of the directories its mount points \
             touched back, so a layer carries /etc only when the step changed it (no content bytes either way)",
}];

/// What differs between two docker builds of one Dockerfile (`--no-cache`).
const DOCKER_VS_DOCKER: &[Allow] = &[];

fn work_dir(case: &str, builder: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("build-fidelity").join(format!("{case}-{builder}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Root, docker.io and the tools the case's base needs; SKIPPED (or a CI failure) otherwise.
fn ready(case: &Case, also: &[&str]) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return tools_ready(&["root (dockerd, chroot, debootstrap)"], "run as root: sudo bash scripts/test");
    }
    if !docker::installed() {
        return tools_ready(&["docker.io"], "apt-get install docker.io");
    }
    let mut tools = vec!["busybox"];
    if case.base == Base::Debian {
        tools.push("debootstrap");
    }
    tools.extend_from_slice(also);
    need(&tools, "apt-get install busybox-static debootstrap buildah")
}

fn docker_build(case: &Case, dir: &Path, no_cache: bool) -> (BuildOptions, Built) {
    let base = case.base.image();
    docker::load(&base);
    let mut options = case.prepare(dir);
    options.no_cache = no_cache;
    let tag = format!("imgopt-test/case-{}:{}", case.name, if no_cache { "again" } else { "first" });
    let built = docker::build(&options, &tag, &dir.join("docker.tar"));
    (options, built)
}

fn open(archive: &Path) -> Snapshot {
    fidelity::snapshot(&format!("docker-archive:{}", archive.display())).unwrap_or_else(|e| panic!("{e}"))
}

/// A build that was to fail did, saying why; a build that was to succeed did.
fn check_outcome(case: &Case, builder: &str, built: &Built) -> bool {
    match case.fails_with {
        Some(needle) => {
            assert!(built.archive.is_none(), "{}: {builder} built an image; the build must fail", case.name);
            let log = built.log();
            assert!(log.contains(needle), "{}: {builder} failed without saying {needle:?}:\n{log}", case.name);
            false
        }
        None => {
            assert!(built.archive.is_some(), "{}: {builder} build failed:\n{}", case.name, built.log());
            true
        }
    }
}

fn assert_same(case: &Case, what: &str, a: &Snapshot, b: &Snapshot, allow: &[Allow]) {
    let mut rules: Vec<Allow> = fidelity::ALWAYS.to_vec();
    rules.extend_from_slice(allow);
    let report = fidelity::compare(a, b, &rules);
    println!("{} ({what}; A {}, B {}):\n{report}", case.name, a.reference, b.reference);
    assert!(report.is_clean(), "{}: {what}: unexplained differences:\n{report}", case.name);
}

fn docker_twice(name: &str) {
    let case = build_cases::by_name(name);
    if !ready(&case, &[]) {
        return;
    }
    let dir = work_dir(name, "docker-twice");
    let (_, first) = docker_build(&case, &dir.join("a"), false);
    if let Some(reason) = case.docker_cannot {
        assert!(first.archive.is_none(), "{name}: docker built it, but the case says it cannot: {reason}");
        println!("{name}: docker cannot build it, as expected ({reason}):\n{}", first.log());
        return;
    }
    if !check_outcome(&case, "docker", &first) {
        return;
    }
    let (_, again) = docker_build(&case, &dir.join("b"), true);
    assert!(check_outcome(&case, "docker --no-cache", &again));
    let (a, b) = (open(first.archive.as_ref().unwrap()), open(again.archive.as_ref().unwrap()));
    assert!(a.layers.len() > 1, "{name}: the image has only its base layer");
    assert_same(&case, "docker vs docker --no-cache", &a, &b, DOCKER_VS_DOCKER);
}

fn buildah_vs_docker(name: &str) {
    let case = build_cases::by_name(name);
    if !ready(&case, &["buildah"]) {
        return;
    }
    let dir = work_dir(name, "buildah");
    let (_, reference) = docker_build(&case, &dir.join("docker"), false);
    let storage = dir.join("storage");
    let base = case.base.image();
    docker::buildah_load(&storage, &base);
    let options = case.prepare(&dir.join("buildah"));
    let built = docker::buildah_build(
        &storage,
        &options,
        &format!("imgopt-test/case-{name}:buildah"),
        &dir.join("buildah.tar"),
    );
    let _ = docker::buildah(&storage).args(["rmi", "-a", "-f"]).output();
    let _ = Command::new("rm").arg("-rf").arg(&storage).status();
    match (case.docker_cannot, case.buildah_cannot) {
        (Some(_), Some(reason)) => {
            assert!(built.archive.is_none(), "{name}: buildah built it, but the case says it cannot: {reason}");
            println!("{name}: neither docker nor buildah can build it here ({reason})");
            return;
        }
        (Some(_), None) => {
            assert!(built.archive.is_some(), "{name}: buildah failed:\n{}", built.log());
            return;
        }
        (None, Some(reason)) => {
            assert!(built.archive.is_none(), "{name}: buildah built it, but the case says it cannot: {reason}");
            assert!(check_outcome(&case, "docker", &reference));
            println!("{name}: buildah cannot build it as docker does ({reason})");
            return;
        }
        (None, None) => {}
    }
    let ok_docker = check_outcome(&case, "docker", &reference);
    let ok_buildah = check_outcome(&case, "buildah", &built);
    if ok_docker && ok_buildah {
        let (a, b) = (open(reference.archive.as_ref().unwrap()), open(built.archive.as_ref().unwrap()));
        let mut allow = BUILDAH_VS_DOCKER.to_vec();
        allow.extend_from_slice(case.buildah_allow);
        assert_same(&case, "docker (A) vs buildah (B)", &a, &b, &allow);
    }
}

/// `imgopt build` exists (the builder is being written): a clear failure until then.
fn imgopt_build_available() {
    let out = Command::new(env!("CARGO_BIN_EXE_imgopt")).args(["build", "--help"]).output().unwrap();
    assert!(
        out.status.success(),
        "`imgopt build` is missing (imgopt build --help: {}): these tests wait for the builder",
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// The base goes into a fresh store under its test name, as the Dockerfiles name it.
fn load_base(store: &Path, base: &bases::BaseImage) {
    let load = Command::new(env!("CARGO_BIN_EXE_imgopt"))
        .env("IMGOPT_STORE", store)
        .arg("load")
        .arg(base.docker_archive_ref())
        .args(["-t", &base.name])
        .output()
        .unwrap();
    assert!(load.status.success(), "imgopt load: {}", String::from_utf8_lossy(&load.stderr));
}

fn imgopt_vs_docker(name: &str) {
    imgopt_build_available();
    let case = build_cases::by_name(name);
    if !ready(&case, &[]) {
        return;
    }
    let dir = work_dir(name, "imgopt");
    let base = case.base.image();
    let options = case.prepare(&dir.join("imgopt"));
    let out = dir.join("imgopt.tar");
    let store = dir.join("store");
    load_base(&store, &base);
    let start = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_imgopt"))
        .env("IMGOPT_STORE", &store)
        .arg("build")
        .args(options.common_args())
        .arg("-o")
        .arg(format!("docker-archive:{}", out.display()))
        .arg(&options.context)
        .output()
        .unwrap();
    let built =
        Built { archive: output.status.success().then(|| out.clone()), output, seconds: start.elapsed().as_secs_f64() };
    let ok = check_outcome(&case, "imgopt", &built);
    if case.docker_cannot.is_some() {
        // No reference to compare with: the image is checked for what the Dockerfile makes.
        let s = open(&out);
        for (path, content) in expected_files(name) {
            let node = s.final_fs.get(*path).unwrap_or_else(|| panic!("{name}: no /{path} in imgopt's image"));
            let hash = xxhash_rust::xxh3::xxh3_64(content.as_bytes());
            assert_eq!(
                node.kind,
                fidelity::NodeKind::File { size: content.len() as u64, hash },
                "{name}: /{path} is not {content:?}"
            );
        }
        return;
    }
    let (_, reference) = docker_build(&case, &dir.join("docker"), false);
    if check_outcome(&case, "docker", &reference) && ok {
        let (a, b) = (open(reference.archive.as_ref().unwrap()), open(&out));
        let mut allow = IMGOPT_VS_DOCKER.to_vec();
        allow.extend_from_slice(case.imgopt_allow);
        assert_same(&case, "docker (A) vs imgopt (B)", &a, &b, &allow);
    }
}

/// Files a case's image must hold, for the cases docker cannot build here.
fn expected_files(name: &str) -> &'static [(&'static str, &'static str)] {
    match name {
        "heredoc" => &[
            ("out/script", "first line\nsecond line\n"),
            // `RUN <<EOT sh` is no lone heredoc: BuildKit hands `<<EOT sh`, the body and the
            // terminator to `/bin/sh -c`, whose unquoted heredoc expands `$0` to `/bin/sh`.
            ("out/interp", "via sh: /bin/sh\n"),
            ("out/inline.txt", "inline file\nwith two lines\n"),
            ("out/tabbed.txt", "tabs stripped\n"),
        ],
        _ => &[],
    }
}

macro_rules! cases {
    ($($id:ident => $name:literal),* $(,)?) => {
        mod docker_twice {
            $( #[test] fn $id() { super::docker_twice($name) } )*
        }
        mod buildah {
            $( #[test] fn $id() { super::buildah_vs_docker($name) } )*
        }
        mod imgopt {
            $( #[test] fn $id() { super::imgopt_vs_docker($name) } )*
        }
        #[test]
        fn every_case_has_tests() {
            let mut listed = vec![$($name),*];
            listed.sort();
            let mut cases: Vec<&str> = build_cases::all().iter().map(|c| c.name).collect();
            cases.sort();
            assert_eq!(listed, cases, "build_fidelity.rs and build_cases.rs list other cases");
            let mut dirs: Vec<String> = common::sorted_dir(&build_cases::testdata_dir())
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect();
            dirs.sort();
            assert_eq!(dirs, cases, "testdata/build/ holds other cases than build_cases.rs lists");
        }
    };
}

cases! {
    delete_20mb => "delete-20mb",
    heredoc => "heredoc",
    multistage => "multistage",
    dockerignore => "dockerignore",
    chown_chmod => "chown-chmod",
    add_archives => "add-archives",
    cache_mount => "cache-mount",
    secret => "secret",
    failing_run => "failing-run",
    network_none => "network-none",
    user_switch => "user-switch",
    onbuild => "onbuild",
    apt_install => "apt-install",
}

/// The comparer itself, on images made in memory: equal images are equal, and each kind of
/// difference is found and placed.
#[test]
fn comparer_finds_each_difference() {
    use common::{oci_files, write_dir, Comp, Item, Layer};
    let dir = common::TempDir::new("fidelity-comparer");
    let make = |name: &str, layers: Vec<Layer>| {
        let config = common::config_json(&layers);
        write_dir(&dir.path(name), &oci_files(&layers, &config));
        fidelity::snapshot(&format!("oci:{}", dir.path(name).display())).unwrap()
    };
    let base = || {
        Layer::new(
            &[Item::Dir("etc"), Item::File("etc/a", b"one".to_vec(), 0o644), Item::Symlink("etc/l", "a")],
            Comp::Gzip,
            "base",
        )
    };
    let a = make("a", vec![base(), Layer::new(&[Item::Dir("etc"), Item::Whiteout("etc/a")], Comp::None, "rm")]);
    let same = make("same", vec![base(), Layer::new(&[Item::Dir("etc"), Item::Whiteout("etc/a")], Comp::Zstd, "rm")]);
    let report = fidelity::compare(&a, &same, &[]);
    assert!(report.is_clean(), "{report}");
    assert_eq!(a.final_fs.keys().collect::<Vec<_>>(), ["etc", "etc/l"]);

    let b = make(
        "b",
        vec![
            base(),
            Layer::new(&[Item::Dir("etc"), Item::File("etc/a", b"two".to_vec(), 0o600)], Comp::None, "rewrite"),
        ],
    );
    let report = fidelity::compare(&a, &b, &[]);
    let places: Vec<String> = report.unexplained.iter().map(|d| format!("{} {}", d.place, d.path)).collect();
    assert_eq!(places, ["layer 1 ", "layer 1 etc/a", "final fs etc/a"], "{report}");
    assert!(report.unexplained[1].a.as_deref() == Some("whiteout"));

    let allowed = fidelity::compare(&a, &b, &[Allow::anywhere("etc/a", "test"), Allow::anywhere("", "totals")]);
    assert!(allowed.is_clean() && allowed.explained.len() == 3, "{allowed}");

    let c = make("c", vec![base()]);
    let report = fidelity::compare(&a, &c, &[]);
    assert_eq!(report.unexplained[0].path, "(layer count)", "{report}");
}

/// The shared bases are made once and readable by imgopt; the busybox one has its users.
#[test]
fn busybox_base_is_readable() {
    if !need(&["busybox"], "apt-get install busybox-static") {
        return;
    }
    let base = bases::busybox();
    for reference in [base.oci_ref(), base.docker_archive_ref()] {
        let s = fidelity::snapshot(&reference).unwrap();
        assert_eq!(s.layers.len(), 1);
        let passwd = s.final_fs.get("etc/passwd").expect("etc/passwd");
        assert_eq!(
            passwd.kind,
            fidelity::NodeKind::File {
                size: bases::PASSWD.len() as u64,
                hash: xxhash_rust::xxh3::xxh3_64(bases::PASSWD.as_bytes())
            }
        );
        assert_eq!(s.final_fs["bin/sh"].kind, fidelity::NodeKind::Symlink("/bin/busybox".into()));
        assert_eq!(s.final_fs["tmp"].mode, 0o1777);
        assert_eq!((s.final_fs["home/app"].uid, s.final_fs["home/app"].gid), (1000, 1000));
    }
}

/// The Debian base: debootstrap's minbase with ca-certificates and this machine's extra CAs,
/// readable by imgopt. Needs root (debootstrap, chroot).
#[test]
fn debian_base_is_readable() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        tools_ready(&["root (debootstrap, chroot)"], "run as root: sudo bash scripts/test");
        return;
    }
    if !need(&["debootstrap"], "apt-get install debootstrap") {
        return;
    }
    let base = bases::debian();
    let s = fidelity::snapshot(&base.oci_ref()).unwrap();
    assert_eq!(s.layers.len(), 1);
    for path in ["usr/bin/apt-get", "usr/bin/dpkg", "etc/ssl/certs/ca-certificates.crt", "etc/apt/sources.list"] {
        assert!(s.final_fs.contains_key(path), "no /{path} in the Debian base");
    }
    assert!(!s.final_fs.keys().any(|p| p.starts_with("dev/")), "device nodes in the Debian base");
    let extra = std::path::Path::new("/usr/local/share/ca-certificates");
    if extra.is_dir() {
        for entry in std::fs::read_dir(extra).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            let path = format!("usr/local/share/ca-certificates/{name}");
            assert!(s.final_fs.contains_key(&path), "the host's CA {name} is not in the Debian base");
        }
    }
}

/// An image imgopt's builder made is taken by the real tools: `docker load` + `docker run`,
/// `skopeo inspect`, `umoci unpack` and `dive --ci` (the writers' own tests cover the forms;
/// this is the builder's output end to end).
#[test]
fn imgopt_images_run_in_docker_and_are_read_by_the_real_tools() {
    let case = build_cases::by_name("multistage");
    if !ready(&case, &["skopeo", "umoci", "dive"]) {
        return;
    }
    docker::ensure_daemon();
    let dir = work_dir("real-tools", "imgopt");
    let base = case.base.image();
    let options = case.prepare(&dir.join("imgopt"));
    let store = dir.join("store");
    let imgopt = env!("CARGO_BIN_EXE_imgopt");
    load_base(&store, &base);
    let tag = "imgopt-real-tools/multistage:1";
    let archive = dir.join("out.tar");
    let oci = dir.join("oci");
    for out in [format!("docker-archive:{}:{tag}", archive.display()), format!("oci:{}:v1", oci.display())] {
        let built = Command::new(imgopt)
            .env("IMGOPT_STORE", &store)
            .arg("build")
            .args(options.common_args())
            .args(["-o", &out])
            .arg(&options.context)
            .output()
            .unwrap();
        assert!(built.status.success(), "imgopt build: {}", String::from_utf8_lossy(&built.stderr));
    }
    let run = |program: &str, args: &[&str]| {
        let out = Command::new(program).args(args).output().unwrap();
        assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let archive_arg = archive.display().to_string();
    run("/usr/bin/docker", &["load", "-i", &archive_arg]);
    let shown =
        run("/usr/bin/docker", &["run", "--rm", "--network", "none", tag, "cat", "/app/HELLO.txt", "/listing.txt"]);
    assert!(shown.contains("/app/stamp"), "{shown}");
    let _ = Command::new("/usr/bin/docker").args(["rmi", "-f", tag]).output();
    let inspected = run("skopeo", &["inspect", &format!("docker-archive:{archive_arg}")]);
    let json: serde_json::Value = serde_json::from_str(&inspected).unwrap();
    assert_eq!(json["Layers"].as_array().map(Vec::len), Some(5), "{inspected}");
    let bundle = dir.join("bundle");
    run("umoci", &["unpack", "--image", &format!("{}:v1", oci.display()), &bundle.display().to_string()]);
    assert!(bundle.join("rootfs/app/orig.txt").is_file());
    run("dive", &["--ci", &format!("docker-archive://{archive_arg}")]);
}
