//! Package databases written by hand into test images: the formats imgopt reads (dpkg, its
//! distroless `status.d/`, apk, pip, npm, gems; rpm found and said unread) and hostile ones
//! (cyclic dependencies, paths out of the image, names that are not UTF-8, symlink loops, a
//! database too big or listing too many packages): each is bounded and refused clearly, and the
//! rest of the analysis stands.

mod common;

use common::*;
use imgopt::analyze::packages::{Package, Reason, MAX_DB_FILE_BYTES, MAX_PACKAGES};
use imgopt::analyze::{analyze_reference, AnalyzeOptions, Report};

/// A layer tar of (name bytes, entry) pairs: files with content, directories, symlinks.
enum E<'a> {
    F(&'a [u8], Vec<u8>),
    D(&'a [u8]),
    L(&'a [u8], &'a [u8]),
}

fn tar_of(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let (name, kind, data, link): (&[u8], _, &[u8], &[u8]) = match e {
            E::F(n, d) => (n, tar::EntryType::Regular, d, b""),
            E::D(n) => (n, tar::EntryType::Directory, b"", b""),
            E::L(n, t) => (n, tar::EntryType::Symlink, b"", t),
        };
        let mut h = tar::Header::new_ustar();
        let ustar = h.as_ustar_mut().unwrap();
        ustar.name[..name.len()].copy_from_slice(name);
        ustar.linkname[..link.len()].copy_from_slice(link);
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

fn layer(entries: &[E], comp: Comp) -> Layer {
    Layer { tar: tar_of(entries), comp, created_by: "/bin/sh -c test".into() }
}

fn analyze(tag: &str, layers: &[Layer]) -> (TempDir, Report) {
    let tmp = TempDir::new(tag);
    write_dir(&tmp.path("oci"), &oci_files(layers, &config_json(layers)));
    let reference = format!("oci:{}", tmp.path("oci").display());
    let report = analyze_reference(&reference, &AnalyzeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    (tmp, report)
}

/// One uncompressed layer of these entries, in a layout made for a small stand-in layer whose
/// blob is then swapped: digests are checked only with --verify, and hashing tens of MiB in a
/// debug build is what would make a test slow.
fn analyze_big(tag: &str, entries: &[E]) -> (TempDir, Report) {
    let stand_in = layer(&[E::F(b"stand-in", b"x".to_vec())], Comp::None);
    let mut files = oci_files(std::slice::from_ref(&stand_in), &config_json(std::slice::from_ref(&stand_in)));
    let blob = files.iter_mut().find(|(_, data)| *data == stand_in.tar).expect("the layer blob");
    blob.1 = tar_of(entries);
    let tmp = TempDir::new(tag);
    write_dir(&tmp.path("oci"), &files);
    let reference = format!("oci:{}", tmp.path("oci").display());
    let report = analyze_reference(&reference, &AnalyzeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    (tmp, report)
}

fn find<'a>(r: &'a Report, manager: &str, name: &str) -> &'a Package {
    r.packages
        .iter()
        .find(|p| p.manager.name() == manager && p.name == name)
        .unwrap_or_else(|| panic!("no {manager} {name} in {:?}", r.packages))
}

fn notes(r: &Report) -> String {
    r.package_databases.iter().flat_map(|d| d.notes.iter().chain(&d.error)).cloned().collect::<Vec<_>>().join("\n")
}

#[test]
fn dpkg_cycles_escapes_merged_usr_and_names_that_are_not_utf8() {
    // app asked for; lib (auto) and helper (auto) depend on each other; extra (auto) only
    // recommended by app; a stanza whose name is not UTF-8; a removed package.
    let status: &[u8] = b"Package: app\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\nInstalled-Size: 2\nDepends: lib (>= 1)\nRecommends: extra\n\n\
Package: lib\nStatus: install ok installed\nVersion: 2\nArchitecture: amd64\nDepends: helper\n\n\
Package: helper\nStatus: install ok installed\nVersion: 3\nArchitecture: all\nDepends: lib\n\n\
Package: extra\nStatus: install ok installed\nVersion: 4\nArchitecture: all\n\n\
Package: caf\xe9\nStatus: install ok installed\nVersion: 5\n\n\
Package: gone\nStatus: deinstall ok config-files\nVersion: 6\n\n";
    let states: &[u8] = b"Package: lib\nArchitecture: amd64\nAuto-Installed: 1\n\nPackage: helper\nArchitecture: amd64\nAuto-Installed: 1\n\nPackage: extra\nArchitecture: amd64\nAuto-Installed: 1\n";
    let base = layer(
        &[E::D(b"usr"), E::D(b"usr/bin"), E::L(b"bin", b"usr/bin"), E::L(b"loop", b"loop2"), E::L(b"loop2", b"loop")],
        Comp::Gzip,
    );
    let app = layer(
        &[
            E::F(b"usr/bin/app", bytes(1500, 1)),
            E::F(b"opt/caf\xe9", bytes(300, 2)),
            E::F(b"usr/lib/liblib.so", bytes(700, 3)),
            E::F(b"usr/lib/helper", bytes(70, 4)),
            E::F(b"usr/share/extra", bytes(40, 5)),
            E::F(b"usr/local/bin/mine", bytes(900, 6)),
            E::F(b"var/lib/dpkg/status", status.to_vec()),
            E::F(b"var/lib/apt/extended_states", states.to_vec()),
            // /bin/app through the merged-/usr symlink; a path out of the image; a Latin-1 name;
            // a path through a symlink loop.
            E::F(
                b"var/lib/dpkg/info/app:amd64.list",
                b"/.\n/bin\n/bin/app\n/../../../etc/passwd\n/opt/caf\xe9\n/loop/x\n".to_vec(),
            ),
            E::F(b"var/lib/dpkg/info/lib:amd64.list", b"/usr/lib/liblib.so\n".to_vec()),
            E::F(b"var/lib/dpkg/info/helper.list", b"/usr/lib/helper\n".to_vec()),
            E::F(b"var/lib/dpkg/info/extra.list", b"/usr/share/extra\n".to_vec()),
        ],
        Comp::Zstd,
    );
    let (_tmp, r) = analyze("pkg-dpkg", &[base, app]);
    let a = find(&r, "dpkg", "app");
    assert_eq!((a.layer, a.bytes, a.final_bytes, a.hidden_bytes), (1, 1800, 1800, 0));
    assert_eq!((a.reason, a.files, a.missing_paths, a.declared_bytes), (Some(Reason::Manual), 2, 1, Some(2048)));
    let lib = find(&r, "dpkg", "lib");
    assert_eq!((lib.reason, lib.via.clone()), (Some(Reason::Dependency), vec!["app".to_string()]));
    let helper = find(&r, "dpkg", "helper");
    assert_eq!((helper.reason, helper.via.clone()), (Some(Reason::Dependency), vec!["app".into(), "lib".into()]));
    let extra = find(&r, "dpkg", "extra");
    assert_eq!((extra.reason, extra.via.clone()), (Some(Reason::Recommended), vec!["app".to_string()]));
    assert_eq!(r.packages.iter().filter(|p| p.manager.name() == "dpkg").count(), 4, "{:?}", r.packages);
    let n = notes(&r);
    assert!(n.contains("Package field is not UTF-8"), "{n}");
    assert!(n.contains("package `app`: 1 listed paths climb out of the image root: ignored"), "{n}");
    // Only usr/local/bin/mine and the database files are nobody's.
    let local = r.unowned.iter().find(|u| u.dir == "usr/local").expect("usr/local");
    assert_eq!((local.bytes, local.files), (900, 1));
    assert!(r.unowned.iter().all(|u| u.dir == "usr/local" || u.dir == "var/lib"), "{:?}", r.unowned);
}

#[test]
fn install_layer_upgrade_and_deletion_are_told_apart() {
    let status = |v: &str| format!("Package: tool\nStatus: install ok installed\nVersion: {v}\n\n").into_bytes();
    let list = b"/usr/bin/tool\n/usr/share/doc/tool/README\n".to_vec();
    let v1 = || {
        layer(
            &[
                E::F(b"usr/bin/tool", bytes(1000, 1)),
                E::F(b"usr/share/doc/tool/README", bytes(200, 2)),
                E::F(b"var/lib/dpkg/status", status("1")),
                E::F(b"var/lib/dpkg/info/tool.list", list.clone()),
            ],
            Comp::Gzip,
        )
    };
    // A layer that only rewrites status (another package's install) keeps tool at layer 0.
    let unrelated = layer(&[E::F(b"var/lib/dpkg/status", status("1"))], Comp::None);
    let (_tmp, r) = analyze("pkg-same", &[v1(), unrelated]);
    assert_eq!(find(&r, "dpkg", "tool").layer, 0);

    let v2 = layer(
        &[
            E::F(b"usr/bin/tool", bytes(1100, 3)),
            E::F(b"var/lib/dpkg/status", status("2")),
            E::F(b"var/lib/dpkg/info/tool.list", list.clone()),
        ],
        Comp::Gzip,
    );
    let (_tmp, r) = analyze("pkg-upgrade", &[v1(), v2]);
    let tool = find(&r, "dpkg", "tool");
    assert_eq!((tool.layer, tool.version.as_str()), (1, "2"));
    // Layer 1 ships the new binary; the old one (layer 0) and the README stay in layer 0.
    assert_eq!((tool.bytes, tool.final_bytes, tool.other_layer_bytes), (1100, 1300, 1200));
}

#[test]
fn distroless_status_d_with_md5sums() {
    let l = layer(
        &[
            E::F(
                b"var/lib/dpkg/status.d/libc6",
                b"Package: libc6\nVersion: 2.36\nArchitecture: amd64\nInstalled-Size: 1\n".to_vec(),
            ),
            E::F(
                b"var/lib/dpkg/status.d/libc6.md5sums",
                b"d41d8cd98f00b204e9800998ecf8427e  lib/x86_64-linux-gnu/libc.so.6\n".to_vec(),
            ),
            E::F(b"lib/x86_64-linux-gnu/libc.so.6", bytes(4321, 1)),
        ],
        Comp::Gzip,
    );
    let (_tmp, r) = analyze("pkg-distroless", &[l]);
    let libc = find(&r, "dpkg", "libc6");
    assert_eq!((libc.bytes, libc.files, libc.reason), (4321, 1, None));
    assert_eq!(r.package_databases[0].path, "var/lib/dpkg/status.d");
}

#[test]
fn apk_with_cycles_and_escapes() {
    let installed: &[u8] = b"P:a\nV:1\nD:b so:libb.so\nF:usr/bin\nR:a\nR:../../../etc/shadow\n\nP:b\nV:2\nD:a\np:so:libb.so=1\nF:../../../../root\nR:x\nF:usr/lib\nR:libb.so\n\n";
    let l = layer(
        &[
            E::F(b"usr/bin/a", bytes(100, 1)),
            E::F(b"usr/lib/libb.so", bytes(200, 2)),
            E::F(b"lib/apk/db/installed", installed.to_vec()),
            E::F(b"etc/apk/world", b"a\n".to_vec()),
        ],
        Comp::Gzip,
    );
    let (_tmp, r) = analyze("pkg-apk", &[l]);
    assert_eq!((find(&r, "apk", "a").bytes, find(&r, "apk", "a").reason), (100, Some(Reason::Manual)));
    let b = find(&r, "apk", "b");
    assert_eq!((b.bytes, b.reason, b.via.clone()), (200, Some(Reason::Dependency), vec!["a".to_string()]));
    assert!(notes(&r).contains("2 paths climb out of the image root"), "{}", notes(&r));
}

#[test]
fn pip_npm_and_gems_and_an_unread_rpm_database() {
    let site = "usr/local/lib/python3.12/site-packages";
    let record = "tool/__init__.py,sha256=x,500\n\"tool/a,b.py\",,\n../../../bin/tool,,\n../../../../../../../etc/shadow,,\ntool-1.0.dist-info/RECORD,,\n".to_string();
    let paths: Vec<(String, Vec<u8>)> = vec![
        (format!("{site}/tool/__init__.py"), bytes(500, 1)),
        (format!("{site}/tool/a,b.py"), bytes(50, 2)),
        ("usr/local/bin/tool".into(), bytes(20, 3)),
        (format!("{site}/tool-1.0.dist-info/RECORD"), record.into_bytes()),
        (format!("{site}/tool-1.0.dist-info/METADATA"), b"Name: Tool\nVersion: 1.0\n\nbody".to_vec()),
        (format!("{site}/tool-1.0.dist-info/REQUESTED"), Vec::new()),
        ("app/package.json".into(), br#"{"dependencies": {"left-pad": "1"}}"#.to_vec()),
        ("app/node_modules/left-pad/package.json".into(), br#"{"name": "left-pad", "version": "1.3.0"}"#.to_vec()),
        ("app/node_modules/left-pad/index.js".into(), bytes(400, 4)),
        (
            "app/node_modules/left-pad/node_modules/dep/package.json".into(),
            br#"{"name":"dep","version":"2.0.0"}"#.to_vec(),
        ),
        ("app/node_modules/left-pad/node_modules/dep/index.js".into(), bytes(30, 5)),
        ("app/node_modules/@scope/thing/package.json".into(), br#"{"name":"@scope/thing","version":"0.1.0"}"#.to_vec()),
        ("app/node_modules/broken/package.json".into(), b"{not json".to_vec()),
        ("usr/local/bundle/specifications/net-http-0.4.1.gemspec".into(), bytes(60, 6)),
        ("usr/local/bundle/gems/net-http-0.4.1/lib/net/http.rb".into(), bytes(800, 7)),
        ("var/lib/rpm/rpmdb.sqlite".into(), bytes(100, 8)),
    ];
    let entries: Vec<E> = paths.iter().map(|(p, d)| E::F(p.as_bytes(), d.clone())).collect();
    let (_tmp, r) = analyze("pkg-lang", &[layer(&entries, Comp::Gzip)]);
    let tool = find(&r, "python", "Tool");
    let record_bytes = paths[3].1.len() as u64;
    assert_eq!((tool.final_bytes, tool.reason), (570 + record_bytes, Some(Reason::Manual)));
    assert_eq!(tool.version, "1.0");
    let pad = find(&r, "npm", "left-pad");
    assert_eq!((pad.final_bytes, pad.reason, pad.version.as_str()), (400 + 40, Some(Reason::Manual), "1.3.0"));
    assert_eq!(find(&r, "npm", "dep").reason, Some(Reason::Dependency));
    assert_eq!(find(&r, "npm", "@scope/thing").reason, Some(Reason::Dependency));
    let gem = find(&r, "gem", "net-http");
    assert_eq!((gem.version.as_str(), gem.final_bytes, gem.reason), ("0.4.1", 860, None));
    let n = notes(&r);
    assert!(n.contains("1 paths climb out of the image root"), "{n}");
    assert!(n.contains("app/node_modules/broken/package.json is not valid JSON"), "{n}");
    let rpm = r.package_databases.iter().find(|d| d.manager.name() == "rpm").expect("rpm database listed");
    assert!(rpm.error.as_deref().unwrap_or("").contains("does not read rpm databases"), "{rpm:?}");
}

#[test]
fn huge_databases_are_refused_and_the_rest_stands() {
    // A status file over the size limit, in an uncompressed layer (its content is skipped by
    // seeking).
    let huge = vec![b'\n'; (MAX_DB_FILE_BYTES + 1) as usize];
    let started = std::time::Instant::now();
    let (_tmp, r) = analyze_big("pkg-huge", &[E::F(b"var/lib/dpkg/status", huge), E::F(b"usr/bin/x", bytes(10, 1))]);
    eprintln!("a {MAX_DB_FILE_BYTES} B database refused in {:.2?}", started.elapsed());
    let db = &r.package_databases[0];
    let error = db.error.as_deref().unwrap_or("");
    assert!(error.contains("package database files are read up to 64 MiB: not read"), "{db:?}");
    assert!(r.packages.is_empty());
    assert_eq!(r.totals.final_files, 2, "the layer itself is analyzed");

    // Too many packages: one short stanza each.
    let mut status = Vec::new();
    for i in 0..=MAX_PACKAGES {
        status.extend(format!("Package: p{i}\nStatus: install ok installed\n\n").as_bytes());
    }
    let apk: Vec<u8> = (0..=MAX_PACKAGES).flat_map(|i| format!("P:p{i}\nV:1\n\n").into_bytes()).collect();
    let started = std::time::Instant::now();
    let (_tmp, r) =
        analyze_big("pkg-many", &[E::F(b"var/lib/dpkg/status", status), E::F(b"lib/apk/db/installed", apk)]);
    eprintln!("{} stanzas refused in {:.2?}", MAX_PACKAGES + 1, started.elapsed());
    for db in &r.package_databases {
        assert!(db.error.as_deref().unwrap_or("").contains(&format!("{MAX_PACKAGES}")), "{db:?}");
    }
    assert_eq!(r.package_databases.len(), 2);
    assert!(r.packages.is_empty());
}
