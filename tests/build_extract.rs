//! `build::extract`: a layer tar unpacked into a snapshot directory in overlay's lower-dir form,
//! checked on disk, through a real overlay mount, and against hostile tars. These tests create
//! device nodes, set `trusted.*` xattrs and mount overlayfs: they need root and say plainly
//! when they are skipped.

mod common;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::process::Command;

use common::TempDir;
use imgopt::build::extract::{decompressed, extract_layer, ExtractError, ExtractOptions, OpaqueXattr};

fn root(test: &str) -> bool {
    let is_root = nix::unistd::geteuid().is_root();
    if !is_root {
        assert!(std::env::var_os("CI").is_none(), "{test}: extraction tests run as root under CI");
        eprintln!("SKIPPED: {test}: needs root (device nodes, trusted.* xattrs, overlay mounts)");
    }
    is_root
}

const ROOT_OPTS: ExtractOptions = ExtractOptions { opaque: OpaqueXattr::Trusted, privileged: true };

/// One tar entry; names are written byte for byte (the tar crate's own checks would refuse the
/// hostile ones).
#[derive(Clone)]
struct E {
    name: Vec<u8>,
    kind: tar::EntryType,
    data: Vec<u8>,
    link: Option<Vec<u8>>,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    dev: (u32, u32),
    pax: Vec<(String, Vec<u8>)>,
}

impl E {
    fn new(name: &str, kind: tar::EntryType) -> Self {
        E {
            name: name.as_bytes().to_vec(),
            kind,
            data: Vec::new(),
            link: None,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 1_600_000_000,
            dev: (0, 0),
            pax: Vec::new(),
        }
    }
    fn dir(name: &str) -> Self {
        E { mode: 0o755, ..E::new(&format!("{name}/"), tar::EntryType::Directory) }
    }
    fn file(name: &str, data: &[u8]) -> Self {
        E { data: data.to_vec(), ..E::new(name, tar::EntryType::Regular) }
    }
    fn symlink(name: &str, target: &str) -> Self {
        E { link: Some(target.as_bytes().to_vec()), mode: 0o777, ..E::new(name, tar::EntryType::Symlink) }
    }
    fn hardlink(name: &str, target: &str) -> Self {
        E { link: Some(target.as_bytes().to_vec()), ..E::new(name, tar::EntryType::Link) }
    }
    fn whiteout(path: &str) -> Self {
        let name = match path.rsplit_once('/') {
            Some((dir, base)) => format!("{dir}/.wh.{base}"),
            None => format!(".wh.{path}"),
        };
        E::file(&name, b"")
    }
    fn opaque(dir: &str) -> Self {
        match dir {
            "" => E::file(".wh..wh..opq", b""),
            _ => E::file(&format!("{dir}/.wh..wh..opq"), b""),
        }
    }
    fn mode(self, mode: u32) -> Self {
        E { mode, ..self }
    }
    fn owner(self, uid: u64, gid: u64) -> Self {
        E { uid, gid, ..self }
    }
    fn mtime(self, mtime: u64) -> Self {
        E { mtime, ..self }
    }
    fn xattr(mut self, name: &str, value: &[u8]) -> Self {
        self.pax.push((format!("SCHILY.xattr.{name}"), value.to_vec()));
        self
    }
}

fn tar_of(entries: &[E]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for e in entries {
        if !e.pax.is_empty() {
            builder.append_pax_extensions(e.pax.iter().map(|(k, v)| (k.as_str(), v.as_slice()))).unwrap();
        }
        let mut h = tar::Header::new_ustar();
        {
            let ustar = h.as_ustar_mut().unwrap();
            ustar.name[..e.name.len()].copy_from_slice(&e.name);
            if let Some(link) = &e.link {
                ustar.linkname[..link.len()].copy_from_slice(link);
            }
        }
        h.set_entry_type(e.kind);
        h.set_size(e.data.len() as u64);
        h.set_mode(e.mode);
        h.set_uid(e.uid);
        h.set_gid(e.gid);
        h.set_mtime(e.mtime);
        h.set_device_major(e.dev.0).unwrap();
        h.set_device_minor(e.dev.1).unwrap();
        h.set_cksum();
        builder.append(&h, &e.data[..]).unwrap();
    }
    builder.into_inner().unwrap()
}

fn extract(entries: &[E], dest: &Path) -> Result<imgopt::build::extract::ExtractStats, ExtractError> {
    std::fs::create_dir_all(dest).unwrap();
    extract_layer(&tar_of(entries)[..], dest, &ROOT_OPTS)
}

fn getxattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let path = CString::new(path.as_os_str().as_bytes()).unwrap();
    let name = CString::new(name).unwrap();
    let mut buf = vec![0u8; 256];
    // SAFETY: NUL-terminated strings, buffer pointer and length from one Vec.
    let n = unsafe { libc::lgetxattr(path.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (n >= 0).then(|| buf[..n as usize].to_vec())
}

fn lstat(path: &Path) -> std::fs::Metadata {
    std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A file capability (VFS_CAP_REVISION_2, effective) granting CAP_NET_BIND_SERVICE.
fn net_bind_capability() -> Vec<u8> {
    let mut v = Vec::new();
    for word in [0x0200_0001u32, 1 << 10, 0, 0, 0] {
        v.extend_from_slice(&word.to_le_bytes());
    }
    v
}

#[test]
fn every_entry_kind_lands_with_its_metadata() {
    if !root("every_entry_kind_lands_with_its_metadata") {
        return;
    }
    let tmp = TempDir::new("extract-kinds");
    let dest = tmp.path("snap");
    let mut fifo = E::new("dev/fifo", tar::EntryType::Fifo).mode(0o620);
    fifo.uid = 7;
    let mut null = E::new("dev/null", tar::EntryType::Char).mode(0o666);
    null.dev = (1, 3);
    let mut loop0 = E::new("dev/loop0", tar::EntryType::Block).mode(0o660);
    loop0.dev = (7, 0);
    let stats = extract(
        &[
            E::dir("usr").mode(0o750).owner(1000, 1001).mtime(1_500_000_000),
            E::dir("usr/bin"),
            E::file("usr/bin/su", b"#!setuid").mode(0o4755).owner(0, 0),
            E::file("usr/bin/ping", b"ping").mode(0o755).xattr("security.capability", &net_bind_capability()),
            E::file("usr/bin/tagged", b"x")
                .owner(1000, 1000)
                .xattr("user.note", b"hello")
                .xattr("trusted.kept", b"1")
                .xattr("trusted.overlay.opaque", b"y")
                .xattr("user.overlay.redirect", b"/elsewhere"),
            E::dir("tmp").mode(0o1777),
            E::symlink("usr/bin/sh", "/bin/busybox"),
            E::symlink("etc-link", "../../../etc"),
            E::hardlink("usr/bin/su2", "usr/bin/su"),
            fifo,
            null,
            loop0,
            E::file("late/inner", b"inside").mtime(1_700_000_000),
            // A directory listed after its contents, then again: metadata only, contents kept.
            E::dir("late").mode(0o700).mtime(1_400_000_000),
            E::dir("late").mode(0o711).mtime(1_400_000_001),
            E::dir(".").mode(0o755).mtime(1_300_000_000),
        ],
        &dest,
    )
    .unwrap();
    assert_eq!(
        (stats.files, stats.dirs, stats.symlinks, stats.hardlinks, stats.specials),
        (4, 5, 2, 1, 3),
        "{stats:?}"
    );
    assert_eq!(stats.content_bytes, 8 + 4 + 1 + 6);
    assert_eq!(stats.ignored_xattrs, 2, "the two overlay xattrs are never set: {stats:?}");

    let usr = lstat(&dest.join("usr"));
    assert!(usr.is_dir());
    assert_eq!((usr.mode() & 0o7777, usr.uid(), usr.gid(), usr.mtime()), (0o750, 1000, 1001, 1_500_000_000));
    let su = lstat(&dest.join("usr/bin/su"));
    assert_eq!(su.mode() & 0o7777, 0o4755, "setuid survives the chown");
    assert_eq!(std::fs::read(dest.join("usr/bin/su")).unwrap(), b"#!setuid");
    assert_eq!(su.mtime(), 1_600_000_000);
    assert_eq!(su.nlink(), 2);
    assert_eq!(lstat(&dest.join("usr/bin/su2")).ino(), su.ino());
    assert_eq!(getxattr(&dest.join("usr/bin/ping"), "security.capability"), Some(net_bind_capability()));
    let tagged = dest.join("usr/bin/tagged");
    assert_eq!((lstat(&tagged).uid(), lstat(&tagged).gid()), (1000, 1000));
    assert_eq!(getxattr(&tagged, "user.note").as_deref(), Some(&b"hello"[..]));
    assert_eq!(getxattr(&tagged, "trusted.kept").as_deref(), Some(&b"1"[..]));
    assert_eq!(getxattr(&tagged, "trusted.overlay.opaque"), None);
    assert_eq!(getxattr(&tagged, "user.overlay.redirect"), None);
    assert_eq!(lstat(&dest.join("tmp")).mode() & 0o7777, 0o1777);
    assert_eq!(std::fs::read_link(dest.join("usr/bin/sh")).unwrap(), Path::new("/bin/busybox"));
    assert_eq!(std::fs::read_link(dest.join("etc-link")).unwrap(), Path::new("../../../etc"));
    let fifo = lstat(&dest.join("dev/fifo"));
    assert!(fifo.file_type().is_fifo());
    assert_eq!((fifo.mode() & 0o7777, fifo.uid()), (0o620, 7));
    let null = lstat(&dest.join("dev/null"));
    assert!(null.file_type().is_char_device());
    assert_eq!((libc::major(null.rdev()), libc::minor(null.rdev()), null.mode() & 0o777), (1, 3, 0o666));
    let loop0 = lstat(&dest.join("dev/loop0"));
    assert!(loop0.file_type().is_block_device());
    assert_eq!((libc::major(loop0.rdev()), libc::minor(loop0.rdev())), (7, 0));
    // `dev/` was never listed: made as docker makes missing parents.
    assert_eq!(lstat(&dest.join("dev")).mode() & 0o7777, 0o755);
    let late = lstat(&dest.join("late"));
    assert_eq!((late.mode() & 0o7777, late.mtime()), (0o711, 1_400_000_001), "the last listing wins");
    assert_eq!(std::fs::read(dest.join("late/inner")).unwrap(), b"inside");
    assert_eq!(lstat(&dest.join("late/inner")).mtime(), 1_700_000_000);
    assert_eq!(lstat(&dest).mtime(), 1_300_000_000, "the root's own entry sets its metadata, after everything");
}

#[test]
fn whiteouts_become_char_devices_and_opaque_dirs_an_xattr() {
    if !root("whiteouts_become_char_devices_and_opaque_dirs_an_xattr") {
        return;
    }
    let tmp = TempDir::new("extract-whiteouts");
    for (opts, xattr) in [
        (ROOT_OPTS, "trusted.overlay.opaque"),
        (ExtractOptions { opaque: OpaqueXattr::User, privileged: false }, "user.overlay.opaque"),
    ] {
        let dest = tmp.path(xattr);
        std::fs::create_dir_all(&dest).unwrap();
        let layer = tar_of(&[
            E::whiteout("gone"),
            E::dir("etc"),
            E::whiteout("etc/passwd-").owner(0, 42),
            E::opaque("opt"),
            E::file("opt/new", b"n"),
            E::opaque(""),
            E::file(".wh..wh.aufs", b""),
            E::file(".wh..wh.orph/x", b""),
        ]);
        let stats = extract_layer(&layer[..], &dest, &opts).unwrap();
        assert_eq!((stats.whiteouts, stats.opaques, stats.skipped), (2, 2, 2), "{stats:?}");
        for (path, gid) in [("gone", 0), ("etc/passwd-", 42)] {
            let meta = lstat(&dest.join(path));
            assert!(meta.file_type().is_char_device(), "{path}");
            assert_eq!(meta.rdev(), 0, "{path}: overlay's whiteout is the device 0/0");
            assert_eq!(meta.gid(), gid);
        }
        assert_eq!(getxattr(&dest.join("opt"), xattr).as_deref(), Some(&b"y"[..]));
        assert_eq!(getxattr(&dest, xattr).as_deref(), Some(&b"y"[..]), "an opaque marker at the top");
        assert_eq!(getxattr(&dest.join("etc"), xattr), None);
        let names: Vec<_> = common::sorted_dir(&dest).iter().map(|p| p.file_name().unwrap().to_owned()).collect();
        assert_eq!(names, ["etc", "gone", "opt"], "no `.wh.` name and no aufs bookkeeping on disk");
    }
}

/// Two snapshots stacked by a real overlay mount: the upper one's whiteouts and opaque
/// directory hide what they must.
#[test]
fn overlay_mount_of_two_snapshots_hides_what_the_upper_one_deletes() {
    if !root("overlay_mount_of_two_snapshots_hides_what_the_upper_one_deletes") {
        return;
    }
    if !common::on_path("unshare") {
        assert!(std::env::var_os("CI").is_none(), "unshare (util-linux) is needed under CI");
        eprintln!("SKIPPED: overlay mount: `unshare` is not on PATH");
        return;
    }
    let tmp = TempDir::new("extract-overlay");
    let (lower, upper, mnt) = (tmp.path("a"), tmp.path("b"), tmp.path("mnt"));
    std::fs::create_dir_all(&mnt).unwrap();
    extract(
        &[
            E::dir("etc"),
            E::file("etc/keep", b"k"),
            E::file("etc/gone", b"g"),
            E::dir("opt"),
            E::file("opt/old", b"o"),
            E::dir("opt/sub"),
            E::file("opt/sub/deep", b"d"),
            E::dir("var/cache"),
            E::file("var/cache/x", b"x"),
            E::file("top", b"t"),
            E::file("replaced", b"old"),
        ],
        &lower,
    )
    .unwrap();
    extract(
        &[
            E::whiteout("etc/gone"),
            E::opaque("opt"),
            E::file("opt/new", b"n"),
            E::whiteout("var"),
            E::whiteout("top"),
            E::file("replaced", b"new"),
            E::file("b", b"b"),
        ],
        &upper,
    )
    .unwrap();
    let script = format!(
        "mount -t overlay overlay -o lowerdir={}:{} {m} && cd {m} && find . -mindepth 1 | sort && cat replaced",
        upper.display(),
        lower.display(),
        m = mnt.display()
    );
    let out = Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", &script]).output().unwrap();
    assert!(out.status.success(), "overlay mount failed: {}", String::from_utf8_lossy(&out.stderr));
    let seen = String::from_utf8(out.stdout).unwrap();
    assert_eq!(seen, "./b\n./etc\n./etc/keep\n./opt\n./opt/new\n./replaced\nnew", "merged view");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&*mnt.to_string_lossy()), "the mount lived only in its namespace");
}

#[test]
fn later_entries_replace_earlier_ones_of_another_kind() {
    if !root("later_entries_replace_earlier_ones_of_another_kind") {
        return;
    }
    let tmp = TempDir::new("extract-replace");
    let dest = tmp.path("snap");
    extract(
        &[
            E::file("x", b"file first"),
            E::dir("x"),
            E::file("x/in", b"1"),
            E::dir("d"),
            E::dir("d/sub"),
            E::file("d/sub/f", b"2"),
            E::file("d", b"a file now"),
            E::symlink("s", "/nowhere"),
            E::file("s", b"not through the link"),
            E::file("w", b"w"),
            E::whiteout("w"),
        ],
        &dest,
    )
    .unwrap();
    assert!(lstat(&dest.join("x")).is_dir());
    assert_eq!(std::fs::read(dest.join("x/in")).unwrap(), b"1");
    assert!(lstat(&dest.join("d")).is_file());
    assert_eq!(std::fs::read(dest.join("d")).unwrap(), b"a file now");
    assert!(lstat(&dest.join("s")).is_file());
    assert!(lstat(&dest.join("w")).file_type().is_char_device());
}

#[test]
fn aufs_hardlinks_get_their_content_and_the_link_dir_goes() {
    if !root("aufs_hardlinks_get_their_content_and_the_link_dir_goes") {
        return;
    }
    let tmp = TempDir::new("extract-aufs");
    let dest = tmp.path("snap");
    extract(
        &[
            E::dir(".wh..wh.plnk"),
            E::file(".wh..wh.plnk/1234.56", b"shared"),
            E::hardlink("bin/a", ".wh..wh.plnk/1234.56"),
            E::hardlink("bin/b", ".wh..wh.plnk/1234.56"),
        ],
        &dest,
    )
    .unwrap();
    assert_eq!(std::fs::read(dest.join("bin/a")).unwrap(), b"shared");
    assert_eq!(lstat(&dest.join("bin/a")).ino(), lstat(&dest.join("bin/b")).ino());
    assert!(!dest.join(".wh..wh.plnk").exists());
}

#[test]
fn decompressed_sniffs_gzip_zstd_and_plain() {
    if !root("decompressed_sniffs_gzip_zstd_and_plain") {
        return;
    }
    let tmp = TempDir::new("extract-comp");
    let layer = tar_of(&[E::file("f", b"payload")]);
    for comp in [common::Comp::None, common::Comp::Gzip, common::Comp::Zstd] {
        let dest = tmp.path(&format!("{comp:?}"));
        std::fs::create_dir_all(&dest).unwrap();
        let stream = decompressed(std::io::Cursor::new(common::compress(&layer, comp))).unwrap();
        extract_layer(stream, &dest, &ROOT_OPTS).unwrap();
        assert_eq!(std::fs::read(dest.join("f")).unwrap(), b"payload", "{comp:?}");
    }
}

/// Everything in `outer` (recursively), relative, sorted: what a hostile tar must not change.
fn listing(outer: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![outer.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(outer).unwrap().display().to_string());
            if lstat(&path).is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Each hostile tar is refused with an error naming the entry, and nothing lands outside
/// `dest`: `outer` holds `dest` and a `victim` directory the tars aim at.
#[test]
fn hostile_tars_are_refused_and_write_nothing_outside() {
    if !root("hostile_tars_are_refused_and_write_nothing_outside") {
        return;
    }
    let tmp = TempDir::new("extract-hostile");
    let victim_dir = tmp.path("victim");
    let victim = victim_dir.display().to_string();
    let mut huge_pax = E::new("pax", tar::EntryType::XHeader);
    huge_pax.data = vec![b'x'; 2 << 20];
    let mut device = E::new("dev/sda", tar::EntryType::Block);
    device.dev = (8, 0);
    let cases: Vec<(&str, Vec<E>, &str, bool)> = vec![
        ("dot-dot", vec![E::file("../x", b"escaped")], "`..`", true),
        ("dot-dot-deep", vec![E::dir("a"), E::file("a/../../x", b"escaped")], "`..`", true),
        ("absolute", vec![E::file(&format!("{victim}/abs"), b"escaped")], "absolute", true),
        (
            "through-own-symlink",
            vec![E::symlink("a", &victim), E::file("a/passwd", b"root::0:0::/:/bin/sh")],
            "is a symlink",
            true,
        ),
        ("through-relative-symlink", vec![E::symlink("a", "../victim"), E::dir("a/sub")], "is a symlink", true),
        (
            "dir-through-symlink",
            vec![E::symlink("a", &victim), E::dir("a/x"), E::file("a/x/y", b"")],
            "is a symlink",
            true,
        ),
        ("hardlink-escape", vec![E::hardlink("shadow", "../../etc/shadow")], "`..`", true),
        ("hardlink-absolute", vec![E::hardlink("shadow", "/etc/shadow")], "absolute", true),
        (
            "hardlink-through-symlink",
            vec![E::symlink("a", &victim), E::hardlink("stolen", "a/secret")],
            "behind the symlink `a`",
            true,
        ),
        ("hardlink-not-yet", vec![E::hardlink("early", "later"), E::file("later", b"")], "extracted before", true),
        ("hardlink-to-dir", vec![E::dir("d"), E::hardlink("dl", "d")], "directory", true),
        ("parent-is-a-file", vec![E::file("f", b""), E::file("f/x", b"")], "not a directory", true),
        ("opaque-through-symlink", vec![E::symlink("a", &victim), E::opaque("a")], "is not a directory", true),
        ("whiteout-through-symlink", vec![E::symlink("a", &victim), E::whiteout("a/secret")], "is a symlink", true),
        ("huge-pax-header", vec![huge_pax, E::file("after", b"")], "PAX extended header", true),
        ("device-unprivileged", vec![device], "privileged", false),
    ];
    for (case, entries, why, privileged) in cases {
        std::fs::create_dir_all(&victim_dir).unwrap();
        std::fs::write(victim_dir.join("secret"), b"secret").unwrap();
        let dest = tmp.path("dest");
        std::fs::create_dir_all(&dest).unwrap();
        let before = listing(&tmp.0).into_iter().filter(|p| !p.starts_with("dest")).collect::<Vec<_>>();
        let opts = ExtractOptions { privileged, ..ROOT_OPTS };
        let err = extract_layer(&tar_of(&entries)[..], &dest, &opts).expect_err(case);
        let text = err.to_string();
        assert!(text.contains(why), "{case}: {text}");
        assert!(matches!(err, ExtractError::Refused { .. } | ExtractError::Tar { .. }), "{case}: {err:?}");
        let after = listing(&tmp.0).into_iter().filter(|p| !p.starts_with("dest")).collect::<Vec<_>>();
        assert_eq!(before, after, "{case}: something was written outside dest");
        assert_eq!(std::fs::read(victim_dir.join("secret")).unwrap(), b"secret", "{case}");
        assert_eq!(lstat(&victim_dir.join("secret")).nlink(), 1, "{case}: the victim was hardlinked");
        std::fs::remove_dir_all(&dest).unwrap();
    }
}

#[test]
fn symlinks_are_data_and_never_followed() {
    if !root("symlinks_are_data_and_never_followed") {
        return;
    }
    let tmp = TempDir::new("extract-symlink-data");
    let victim = tmp.path("victim");
    std::fs::write(&victim, b"secret").unwrap();
    let dest = tmp.path("snap");
    let victim_name = victim.display().to_string();
    // A link pointing outside, then a file, a hardlink and metadata on the same name: each
    // replaces the link, none writes through it.
    extract(
        &[
            E::symlink("l1", &victim_name),
            E::file("l1", b"mine"),
            E::symlink("l2", &victim_name),
            E::file("other", b"o"),
            E::hardlink("l2", "other"),
            E::symlink("l3", &victim_name).owner(1234, 1234).mtime(1_234_567_890),
        ],
        &dest,
    )
    .unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"secret");
    let victim_meta = lstat(&victim);
    assert_eq!((victim_meta.uid(), victim_meta.nlink()), (0, 1));
    assert_ne!(victim_meta.mtime(), 1_234_567_890);
    assert_eq!(std::fs::read(dest.join("l1")).unwrap(), b"mine");
    assert_eq!(lstat(&dest.join("l2")).ino(), lstat(&dest.join("other")).ino());
    let l3 = lstat(&dest.join("l3"));
    assert!(l3.file_type().is_symlink());
    assert_eq!((l3.uid(), l3.mtime()), (1234, 1_234_567_890), "lchown and utimensat on the link itself");
}

/// Timing against `tar xf` on a real tar: `IMGOPT_EXTRACT_TAR=/path/to.tar cargo test --release
/// --test build_extract -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement: needs IMGOPT_EXTRACT_TAR"]
fn extract_speed_against_tar_xf() {
    let Some(tar_path) = std::env::var_os("IMGOPT_EXTRACT_TAR") else {
        eprintln!("SKIPPED: set IMGOPT_EXTRACT_TAR to an uncompressed tar");
        return;
    };
    let tmp = TempDir::new("extract-speed");
    let sync = || Command::new("sync").status().unwrap();
    // CPU seconds (user + system) of this process or of its waited-for children: steadier
    // than wall time on a shared machine.
    let cpu = |who| {
        let usage = nix::sys::resource::getrusage(who).unwrap();
        let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        secs(usage.user_time()) + secs(usage.system_time())
    };
    use nix::sys::resource::UsageWho::{RUSAGE_CHILDREN, RUSAGE_SELF};
    let mut ratios = Vec::new();
    for round in 0..3 {
        let (ours, theirs) = (tmp.path(&format!("ours{round}")), tmp.path(&format!("tar{round}")));
        std::fs::create_dir_all(&ours).unwrap();
        std::fs::create_dir_all(&theirs).unwrap();
        sync();
        let (start, cpu_start) = (std::time::Instant::now(), cpu(RUSAGE_SELF));
        let file = std::fs::File::open(&tar_path).unwrap();
        let stats = extract_layer(file, &ours, &ROOT_OPTS).unwrap();
        let (ours_time, ours_cpu) = (start.elapsed(), cpu(RUSAGE_SELF) - cpu_start);
        sync();
        let (start, cpu_start) = (std::time::Instant::now(), cpu(RUSAGE_CHILDREN));
        let status = Command::new("tar")
            .args(["xf", &tar_path.to_string_lossy(), "-C", &theirs.to_string_lossy(), "--xattrs", "-p"])
            .status()
            .unwrap();
        let (tar_time, tar_cpu) = (start.elapsed(), cpu(RUSAGE_CHILDREN) - cpu_start);
        assert!(status.success());
        assert!(stats.files > 0);
        let ratio = ours_time.as_secs_f64() / tar_time.as_secs_f64();
        eprintln!(
            "round {round}: extract_layer {ours_time:.2?} (cpu {ours_cpu:.2}s; {} entries, {} MB), \
             tar xf {tar_time:.2?} (cpu {tar_cpu:.2}s): wall ratio {ratio:.2}",
            stats.entries,
            stats.content_bytes >> 20
        );
        ratios.push(ratio);
        std::fs::remove_dir_all(&ours).unwrap();
        std::fs::remove_dir_all(&theirs).unwrap();
    }
    ratios.sort_by(f64::total_cmp);
    eprintln!("median ratio extract_layer / tar xf: {:.2}", ratios[1]);
}
