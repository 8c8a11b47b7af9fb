//! `build::diff::write_layer` on real overlay upper directories: lower directories are made on
//! disk, overlayfs is mounted over them in a private mount namespace (a thread of its own, so
//! nothing leaks to the host), changes are made through the merged view, and the upper
//! directory is turned into a layer and read back. Needs root (mounts); skipped plainly
//! otherwise.

use std::ffi::CString;
use std::fs;
use std::io::{Cursor, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use imgopt::build::diff::{compress_tar, write_layer, DiffError, DiffOptions, IdMap, LayerCompression, WrittenLayer};
use imgopt::image::layer::{read_layer, LayerOrigin, Verify};
use imgopt::image::{Change, Digest, EntryKind};
use nix::mount::{mount, umount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use sha2::{Digest as _, Sha256};

/// A scratch directory under cargo's per-target tmp (a real disk file system: overlay cannot
/// use overlay as its upper layer).
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("build_diff").join(test);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Mount overlay (`lowers` top-most first) in a new mount namespace on a thread of its own, run
/// `changes` on the merged view, unmount. `extra` adds mount options.
fn through_overlay(
    root: &Path,
    lowers: &[&Path],
    upper: &Path,
    extra: &str,
    changes: impl FnOnce(&Path) + Send,
) -> Result<(), String> {
    let work = root.join(format!("work-{}", upper.file_name().and_then(|n| n.to_str()).unwrap_or("u")));
    let merged = root.join("merged");
    let empty = root.join("empty-lower");
    for d in [upper, &work, &merged, &empty] {
        fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
    }
    let lowerdir: Vec<String> = if lowers.is_empty() {
        vec![empty.display().to_string()]
    } else {
        lowers.iter().map(|l| l.display().to_string()).collect()
    };
    let data =
        format!("lowerdir={},upperdir={},workdir={}{extra}", lowerdir.join(":"), upper.display(), work.display());
    std::thread::scope(|s| {
        s.spawn(|| {
            unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare: {e}"))?;
            mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)
                .map_err(|e| format!("make / private: {e}"))?;
            mount(Some("overlay"), &merged, Some("overlay"), MsFlags::empty(), Some(data.as_str()))
                .map_err(|e| format!("mount overlay ({data}): {e}"))?;
            changes(&merged);
            umount(&merged).map_err(|e| format!("umount: {e}"))
        })
        .join()
        .map_err(|_| "the changes panicked".to_string())?
    })
}

/// Root and a kernel that mounts overlay here, or None after saying why the test is skipped.
fn overlay_available(test: &str) -> Option<PathBuf> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED: {test}: needs root to mount overlayfs");
        return None;
    }
    let root = scratch(test);
    let lower = root.join("probe-lower");
    fs::create_dir_all(&lower).expect("probe lower");
    match through_overlay(&root, &[&lower], &root.join("probe-upper"), "", |_| {}) {
        Ok(()) => Some(root),
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "{test}: overlay must work under CI: {e}");
            eprintln!("SKIPPED: {test}: cannot mount overlayfs here: {e}");
            None
        }
    }
}

fn write_file(path: &Path, content: &[u8], mode: u32) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("parent dir");
    }
    fs::write(path, content).expect("write file");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn set_xattr(path: &Path, name: &str, value: &[u8]) {
    let p = CString::new(path.as_os_str().as_bytes()).expect("path");
    let n = CString::new(name).expect("name");
    // SAFETY: NUL-terminated strings and a buffer of the length given.
    let rc = unsafe { libc::lsetxattr(p.as_ptr(), n.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    assert_eq!(rc, 0, "setxattr {name} on {}: {}", path.display(), std::io::Error::last_os_error());
}

fn set_mtime(path: &Path, secs: i64, nanos: i64) {
    let p = CString::new(path.as_os_str().as_bytes()).expect("path");
    let t = libc::timespec { tv_sec: secs, tv_nsec: nanos };
    let times = [t, t];
    // SAFETY: NUL-terminated path, two timespecs.
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, p.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) };
    assert_eq!(rc, 0, "utimensat {}", path.display());
}

/// A version-2 file capability blob granting cap_net_raw (what `setcap cap_net_raw+ep` writes).
const CAP_NET_RAW: [u8; 20] = [0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

#[derive(Debug)]
struct Entry {
    path: String,
    kind: tar::EntryType,
    mode: u32,
    uid: u64,
    mtime: u64,
    link: Option<String>,
    content: Vec<u8>,
    xattrs: Vec<(String, Vec<u8>)>,
}

fn gunzip(blob: &[u8]) -> Vec<u8> {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(blob).read_to_end(&mut tar).expect("gzip blob");
    tar
}

fn sha256(bytes: &[u8]) -> Digest {
    Digest::sha256_from_bytes(Sha256::digest(bytes).into())
}

fn entries(tar_bytes: &[u8]) -> Vec<Entry> {
    let mut archive = tar::Archive::new(tar_bytes);
    let mut out = Vec::new();
    for e in archive.entries().expect("tar") {
        let mut e = e.expect("tar entry");
        let mut xattrs = Vec::new();
        if let Some(ext) = e.pax_extensions().expect("pax") {
            for x in ext {
                let x = x.expect("pax record");
                if let Some(name) = x.key().expect("utf-8 key").strip_prefix("SCHILY.xattr.") {
                    xattrs.push((name.to_string(), x.value_bytes().to_vec()));
                }
            }
        }
        let h = e.header().clone();
        let mut content = Vec::new();
        e.read_to_end(&mut content).expect("content");
        out.push(Entry {
            path: String::from_utf8(e.path_bytes().into_owned()).expect("utf-8 path"),
            kind: h.entry_type(),
            mode: h.mode().expect("mode"),
            uid: h.uid().expect("uid"),
            mtime: h.mtime().expect("mtime"),
            link: e.link_name_bytes().map(|l| String::from_utf8(l.into_owned()).expect("utf-8 link")),
            content,
            xattrs,
        });
    }
    out
}

fn layer(upper: &Path, lowers: &[&Path], opts: &DiffOptions) -> (WrittenLayer, Vec<u8>) {
    let mut blob = Vec::new();
    let written = write_layer(upper, lowers, &mut blob, opts).expect("write_layer");
    assert_eq!(written.size, blob.len() as u64, "size counts the blob bytes");
    assert_eq!(written.digest, sha256(&blob), "digest is the blob's sha256");
    (written, blob)
}

/// Reads at most `.1` bytes at a time.
struct Pieces<'a>(&'a [u8], usize);

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.1);
        self.0.read(&mut buf[..n])
    }
}

fn find<'a>(list: &'a [Entry], path: &str) -> &'a Entry {
    list.iter().find(|e| e.path == path).unwrap_or_else(|| panic!("no entry {path}"))
}

const LONG_NAME: &str =
    "a-file-name-long-enough-that-the-whole-path-does-not-fit-the-one-hundred-bytes-of-a-ustar-name-field.txt";

/// The base layer every change of the main test starts from.
fn make_base(base: &Path) {
    write_file(&base.join("bin/ping"), b"\x7fELF ping", 0o755);
    write_file(&base.join("d/a"), b"a", 0o644);
    write_file(&base.join("d/b"), b"b", 0o644);
    write_file(&base.join("d/sub/c"), b"c", 0o644);
    for name in ["keep", "chmod-same", "chmod-diff", "touched", "del", "modify", "xattr-only"] {
        write_file(&base.join("etc").join(name), name.as_bytes(), 0o644);
    }
    // As if unpacked from a tar: whole seconds, so sameDirent must look at the content.
    write_file(&base.join("etc/truncated"), b"same bytes", 0o644);
    set_mtime(&base.join("etc/truncated"), 1_600_000_000, 0);
    write_file(&base.join("gone/x"), b"x", 0o644);
    symlink("keep", base.join("etc/keep-link")).expect("symlink");
}

#[test]
fn an_upper_directory_becomes_the_layer_buildkit_would_write() {
    let Some(root) = overlay_available("layer_semantics") else { return };
    let base = root.join("base");
    make_base(&base);
    let upper = root.join("upper");
    through_overlay(&root, &[&base], &upper, "", |m| {
        write_file(&m.join("new/file.txt"), b"hello", 0o644);
        set_xattr(&m.join("new/file.txt"), "user.comment", b"kept");
        fs::create_dir(m.join("new/empty")).expect("mkdir");
        fs::write(m.join("etc/modify"), b"new content").expect("modify");
        fs::remove_file(m.join("etc/del")).expect("delete");
        fs::remove_dir_all(m.join("d")).expect("rm -rf d");
        write_file(&m.join("d/fresh"), b"fresh", 0o600);
        fs::remove_dir_all(m.join("gone")).expect("rm -rf gone");
        fs::set_permissions(m.join("etc/chmod-same"), fs::Permissions::from_mode(0o644)).expect("chmod same");
        fs::set_permissions(m.join("etc/chmod-diff"), fs::Permissions::from_mode(0o600)).expect("chmod diff");
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("clock");
        set_mtime(&m.join("etc/touched"), now.as_secs() as i64 + 10, 5);
        // A user xattr on a lower file: copied up, but sameDirent looks at capabilities only.
        set_xattr(&m.join("etc/xattr-only"), "user.note", b"ignored by sameDirent");
        fs::rename(m.join("etc/truncated"), m.join("etc/tmp")).expect("mv away");
        fs::rename(m.join("etc/tmp"), m.join("etc/truncated")).expect("mv back");
        set_xattr(&m.join("bin/ping"), "security.capability", &CAP_NET_RAW);
        write_file(&m.join("new/h1"), b"linked", 0o644);
        fs::hard_link(m.join("new/h1"), m.join("new/h2")).expect("ln");
        fs::hard_link(m.join("new/h1"), m.join("new/h3")).expect("ln");
        symlink("../etc/keep", m.join("new/link")).expect("symlink");
        nix::unistd::mkfifo(&m.join("new/fifo"), nix::sys::stat::Mode::from_bits_truncate(0o640)).expect("mkfifo");
        nix::sys::stat::mknod(
            &m.join("new/null"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(1, 3),
        )
        .expect("mknod");
        write_file(&m.join("new").join(LONG_NAME), b"long", 0o644);
        write_file(&m.join("new/café.txt"), b"accent", 0o644);
        write_file(&m.join("new/short-lived"), b"gone before the layer", 0o644);
        fs::remove_file(m.join("new/short-lived")).expect("rm");
    })
    .expect("overlay changes");

    let (written, blob) = layer(&upper, &[&base], &DiffOptions::default());
    let tar_bytes = gunzip(&blob);
    assert_eq!(written.diff_id, sha256(&tar_bytes), "diff_id is the sha256 of the decompressed blob");
    assert_eq!(written.media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
    assert_eq!(&tar_bytes[tar_bytes.len() - 1024..], &[0u8; 1024][..], "Go's end of archive: two zero blocks");
    let list = entries(&tar_bytes);
    let paths: Vec<&str> = list.iter().map(|e| e.path.as_str()).collect();
    let long = format!("new/{LONG_NAME}");
    assert_eq!(
        paths,
        [
            "bin/",
            "bin/ping",
            "d/",
            "d/.wh..wh..opq",
            "d/fresh",
            "etc/",
            "etc/chmod-diff",
            "etc/.wh.del", // at the place of the upper directory's `del`, as BuildKit walks it
            "etc/modify",
            "etc/touched",
            ".wh.gone",
            "new/",
            long.as_str(),
            "new/café.txt",
            "new/empty/",
            "new/fifo",
            "new/file.txt",
            "new/h1",
            "new/h2",
            "new/h3",
            "new/link",
            "new/null",
        ],
        "unchanged copies (chmod to the same mode, xattr-only, mv round trip) are left out"
    );
    assert_eq!(written.entries, list.len() as u64);
    assert!(!written.empty);

    let ping = find(&list, "bin/ping");
    assert_eq!(ping.xattrs, [("security.capability".to_string(), CAP_NET_RAW.to_vec())]);
    assert_eq!(ping.mode, 0o755);
    let wh = find(&list, "etc/.wh.del");
    assert_eq!((wh.kind, wh.mode, wh.uid, wh.mtime, wh.content.len()), (tar::EntryType::Regular, 0, 0, 0, 0));
    assert_eq!(find(&list, "d/.wh..wh..opq").kind, tar::EntryType::Regular);
    assert_eq!(find(&list, "d/fresh").mode, 0o600);
    assert_eq!(find(&list, "etc/chmod-diff").mode, 0o600);
    assert_eq!(find(&list, "etc/modify").content, b"new content");
    assert_eq!(find(&list, "new/file.txt").xattrs, [("user.comment".to_string(), b"kept".to_vec())]);
    assert!(list.iter().all(|e| e.xattrs.iter().all(|(k, _)| !k.contains("overlay"))), "overlay's own xattrs stay out");
    assert_eq!(find(&list, "new/h1").content, b"linked");
    for h in ["new/h2", "new/h3"] {
        let e = find(&list, h);
        assert_eq!((e.kind, e.link.as_deref()), (tar::EntryType::Link, Some("new/h1")));
    }
    assert_eq!(find(&list, "new/link").link.as_deref(), Some("../etc/keep"));
    assert_eq!(find(&list, "new/fifo").kind, tar::EntryType::Fifo);
    assert_eq!(find(&list, "new/null").kind, tar::EntryType::Char);
    assert_eq!(find(&list, &long).content, b"long");
    assert_eq!(
        written.content_bytes,
        [
            "bin/ping",
            "d/fresh",
            "etc/chmod-diff",
            "etc/modify",
            "etc/touched",
            &long,
            "new/café.txt",
            "new/file.txt",
            "new/h1"
        ]
        .iter()
        .map(|p| find(&list, p).content.len() as u64)
        .sum::<u64>()
    );

    // The same upper directory twice: the same bytes.
    let (again, _) = layer(&upper, &[&base], &DiffOptions::default());
    assert_eq!((&again.diff_id, &again.digest), (&written.diff_id, &written.digest));

    // imgopt's own reader sees the same changes and checks the diff_id.
    let origin = LayerOrigin { index: 0, location: "test" };
    let read = read_layer(
        Box::new(Cursor::new(blob.clone())),
        &origin,
        Verify { blob: true, diff_id: true },
        blob.len() as u64,
    )
    .expect("imgopt reads the layer");
    assert_eq!(read.diff_id.as_ref(), Some(&written.diff_id));
    assert!(read.changes.contains(&Change::Whiteout("etc/del".into())));
    assert!(read.changes.contains(&Change::Whiteout("gone".into())));
    assert!(read.changes.contains(&Change::Opaque("d".into())));
    assert!(read
        .changes
        .iter()
        .any(|c| matches!(c, Change::Put(e) if e.path == "new/h3" && e.kind == EntryKind::Hardlink("new/h1".into()))));

    // SOURCE_DATE_EPOCH clamps every later mtime; whiteouts stay at 0.
    let epoch = 1_000_000_000;
    let opts = DiffOptions { source_date_epoch: Some(epoch), ..DiffOptions::default() };
    let (clamped, clamped_blob) = layer(&upper, &[&base], &opts);
    assert_ne!(clamped.diff_id, written.diff_id);
    let clamped_list = entries(&gunzip(&clamped_blob));
    assert!(clamped_list.iter().all(|e| e.mtime == epoch as u64 || e.path.contains(".wh.")), "{clamped_list:?}");
    assert_eq!(find(&clamped_list, "etc/.wh.del").mtime, 0);

    // Uncompressed and zstd: the same tar inside.
    let (plain, plain_blob) =
        layer(&upper, &[&base], &DiffOptions { compression: LayerCompression::None, ..DiffOptions::default() });
    assert_eq!((&plain.diff_id, &plain.digest), (&written.diff_id, &written.diff_id));
    assert_eq!(plain_blob, tar_bytes);
    let (zst, zst_blob) =
        layer(&upper, &[&base], &DiffOptions { compression: LayerCompression::Zstd, ..DiffOptions::default() });
    assert_eq!(zstd::decode_all(&zst_blob[..]).expect("zstd blob"), tar_bytes);
    assert_eq!(zst.diff_id, written.diff_id);
    assert_eq!(zst.media_type, "application/vnd.oci.image.layer.v1.tar+zstd");

    // The builder keeps the plain tar and compresses it when the image leaves its store: the
    // blob is byte for byte the one compressing at once makes.
    for (compression, at_once, expected) in
        [(LayerCompression::Gzip, &blob, &written), (LayerCompression::Zstd, &zst_blob, &zst)]
    {
        let mut later = Vec::new();
        let (digest, size) = compress_tar(&mut &plain_blob[..], &mut later, compression).expect("compress_tar");
        assert!(later == *at_once, "{compression:?}: compressing later gives other bytes");
        assert_eq!((digest, size), (expected.digest.clone(), expected.size));
    }
}

#[test]
fn a_big_file_deleted_in_a_later_layer_leaves_only_a_whiteout_and_no_change_is_empty() {
    let Some(root) = overlay_available("big_then_deleted") else { return };
    let base = root.join("base");
    write_file(&base.join("etc/os-release"), b"ID=test", 0o644);
    let first = root.join("layer1");
    through_overlay(&root, &[&base], &first, "", |m| {
        let mut data = vec![0u8; 20 << 20];
        for (i, b) in data.iter_mut().enumerate() {
            *b = (i * 7 % 251) as u8;
        }
        write_file(&m.join("big/data.bin"), &data, 0o644);
    })
    .expect("layer 1");
    let (one, one_blob) = layer(&first, &[&base], &DiffOptions::default());
    assert_eq!(one.content_bytes, 20 << 20);
    assert_eq!(sha256(&gunzip(&one_blob)), one.diff_id);
    // Compressed later from the plain tar, read in pieces of another size than the walker's
    // chunks: the same blob (gzip's output does not depend on how its input was cut).
    let mut later = Vec::new();
    let tar = gunzip(&one_blob);
    let (digest, _) = compress_tar(&mut Pieces(&tar[..], 77_777), &mut later, LayerCompression::Gzip).unwrap();
    assert!(later == one_blob, "compressing later gives other bytes");
    assert_eq!(digest, one.digest);

    let second = root.join("layer2");
    through_overlay(&root, &[&first, &base], &second, "", |m| {
        fs::remove_dir_all(m.join("big")).expect("rm -rf big");
    })
    .expect("layer 2");
    let (two, two_blob) = layer(&second, &[&first, &base], &DiffOptions::default());
    let list = entries(&gunzip(&two_blob));
    assert_eq!(list.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), [".wh.big"]);
    assert_eq!(two.content_bytes, 0);
    assert!(two.size < 200, "a whiteout-only blob is tiny, got {} bytes", two.size);

    let third = root.join("layer3");
    through_overlay(&root, &[&second, &first, &base], &third, "", |m| {
        // Created and removed within the step: nothing below had it, so no whiteout either.
        write_file(&m.join("tmp/scratch"), b"x", 0o644);
        fs::remove_dir_all(m.join("tmp")).expect("rm");
    })
    .expect("layer 3");
    let (three, three_blob) = layer(&third, &[&second, &first, &base], &DiffOptions::default());
    assert!(three.empty && three.entries == 0 && three.content_bytes == 0);
    assert_eq!(gunzip(&three_blob), vec![0u8; 1024], "an empty layer is Go's empty tar");
}

#[test]
fn owners_go_through_the_id_maps_and_an_unmapped_owner_is_an_error() {
    let Some(root) = overlay_available("id_maps") else { return };
    let base = root.join("base");
    fs::create_dir_all(&base).expect("base");
    let upper = root.join("upper");
    through_overlay(&root, &[&base], &upper, "", |m| {
        write_file(&m.join("home/app/file"), b"owned", 0o644);
        let owner = |p: &Path, id: u32| {
            nix::unistd::chown(p, Some(nix::unistd::Uid::from_raw(id)), Some(nix::unistd::Gid::from_raw(id)))
                .expect("chown")
        };
        owner(&m.join("home/app"), 100_000);
        owner(&m.join("home/app/file"), 101_000);
        owner(&m.join("home"), 0);
    })
    .expect("overlay changes");
    let map = IdMap::parse("0 0 1\n1 100000 65536\n").expect("map");
    let opts = DiffOptions { uid_map: map.clone(), gid_map: map, ..DiffOptions::default() };
    let (_, blob) = layer(&upper, &[&base], &opts);
    let list = entries(&gunzip(&blob));
    assert_eq!(find(&list, "home/app/").uid, 1);
    assert_eq!(find(&list, "home/app/file").uid, 1001);

    let narrow = IdMap::parse("0 0 1\n1 100000 10\n").expect("map");
    let opts = DiffOptions { uid_map: narrow, ..DiffOptions::default() };
    match write_layer(&upper, &[&base], &mut Vec::new(), &opts) {
        Err(DiffError::UnmappedId { which: "uid", id: 101_000, path }) => assert!(path.ends_with("home/app/file")),
        other => panic!("expected an unmapped uid, got {other:?}"),
    }
}

#[test]
fn a_redirected_directory_is_refused_as_buildkit_refuses_it() {
    let Some(root) = overlay_available("redirect_dir") else { return };
    let base = root.join("base");
    write_file(&base.join("old/file"), b"f", 0o644);
    let upper = root.join("upper");
    through_overlay(&root, &[&base], &upper, ",redirect_dir=on", |m| {
        fs::rename(m.join("old"), m.join("new")).expect("mv dir");
    })
    .expect("overlay changes");
    match write_layer(&upper, &[&base], &mut Vec::new(), &DiffOptions::default()) {
        Err(DiffError::OverlayFeature { xattr, .. }) => assert_eq!(xattr, "trusted.overlay.redirect"),
        other => panic!("expected redirect_dir to be refused, got {other:?}"),
    }
}

/// `cargo test --release --test build_diff -- --ignored --nocapture`: write_layer against
/// `tar c | gzip` on a copy of a big tree (`IMGOPT_DIFF_BENCH_SRC`, default /usr).
#[test]
#[ignore = "a measurement: copies a large tree, minutes in a debug build"]
fn speed_against_tar_and_gzip() {
    let Some(root) = overlay_available("speed") else { return };
    let src = std::env::var("IMGOPT_DIFF_BENCH_SRC").unwrap_or_else(|_| "/usr".into());
    let base = root.join("base");
    fs::create_dir_all(&base).expect("base");
    let upper = root.join("upper");
    fs::create_dir_all(&upper).expect("upper");
    let status = std::process::Command::new("cp").arg("-a").arg(&src).arg(upper.join("usr")).status().expect("cp");
    assert!(status.success(), "cp -a {src}");
    // Warm the page cache for both contenders.
    let _ = std::process::Command::new("tar").arg("cf").arg("/dev/null").arg("-C").arg(&upper).arg(".").status();

    let best = |f: &mut dyn FnMut() -> u64| -> (Duration, u64) {
        let mut best = Duration::MAX;
        let mut bytes = 0;
        for _ in 0..2 {
            let t = Instant::now();
            bytes = f();
            best = best.min(t.elapsed());
        }
        (best, bytes)
    };
    let (ours, ours_bytes) = best(&mut || {
        let mut sink = std::io::sink();
        let w = write_layer(&upper, &[&base], &mut sink, &DiffOptions::default()).expect("write_layer");
        eprintln!("  write_layer: {} entries, {} content bytes, blob {} bytes", w.entries, w.content_bytes, w.size);
        w.size
    });
    let shell = |cmd: &str| -> u64 {
        let out = std::process::Command::new("sh").arg("-c").arg(cmd).current_dir(&upper).output().expect("sh");
        assert!(out.status.success(), "{cmd}");
        String::from_utf8_lossy(&out.stdout).trim().parse().expect("byte count")
    };
    let (theirs, theirs_bytes) = best(&mut || shell("tar --sort=name -cf - . | gzip -6 | wc -c"));
    let (plain, _) = best(&mut || shell("tar --sort=name -cf - . | sha256sum >/dev/null; echo 0"));
    eprintln!(
        "write_layer (gzip 6, diff_id + digest): {:.2}s, {} bytes\ntar c | gzip -6: {:.2}s, {} bytes\ntar c | sha256sum: {:.2}s\nratio write_layer / (tar | gzip) = {:.2}",
        ours.as_secs_f64(),
        ours_bytes,
        theirs.as_secs_f64(),
        theirs_bytes,
        plain.as_secs_f64(),
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
    assert!(ours_bytes > 0 && theirs_bytes > 0);
}

/// A destination that fails after a few bytes, like a full disk.
struct FullDisk(usize);

impl std::io::Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0 < buf.len() {
            return Err(std::io::Error::other("no space left on the test device"));
        }
        self.0 -= buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// No overlay needed: an upper directory with no lowers is a plain directory.
#[test]
fn a_failing_destination_is_the_error_reported() {
    let root = scratch("full_disk");
    let upper = root.join("upper");
    let data: Vec<u8> = (0..8u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    write_file(&upper.join("data.bin"), &data, 0o644);
    match write_layer(&upper, &[], &mut FullDisk(4096), &DiffOptions::default()) {
        Err(DiffError::Write(e)) => assert_eq!(e.to_string(), "no space left on the test device"),
        other => panic!("expected the destination's error, got {other:?}"),
    }
    // And with room enough, the plain directory is one file entry.
    let (written, blob) = layer(&upper, &[], &DiffOptions::default());
    let list = entries(&gunzip(&blob));
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].path.as_str(), list[0].content == data), ("data.bin", true));
    assert_eq!(written.content_bytes, data.len() as u64);
}
