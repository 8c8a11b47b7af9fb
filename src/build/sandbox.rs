//! One build step in its own namespaces.
//!
//! imgopt runs itself again (`imgopt __sandbox`, the spec as JSON on standard input), so that
//! what happens between `fork` and `exec` happens in a fresh single-threaded process. That
//! process (the *helper*) unshares the mount, PID, IPC and UTS namespaces (and the network
//! one for `--network none`), asks to be killed with its parent, and forks the PID 1 of the
//! new PID namespace (the *init*). The init mounts overlayfs over the snapshot chain,
//! `pivot_root`s into it, mounts `/proc`, a minimal `/dev` and `/sys`, binds the host's
//! `resolv.conf` and a generated `hosts` and `hostname`, runs the step (a command, or a
//! copy), then takes every mount down and removes every mount point it had to create, so the
//! upper directory holds only what the step itself changed.
//!
//! Mounts exist only in that mount namespace: when the init ends — normally, by a signal, or
//! because imgopt was killed — they are gone with it. Nothing is mounted where the host sees it.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{ForkResult, Gid, Pid, Uid};
use serde::{Deserialize, Serialize};

use super::copy::{self, CopyTask};
use super::diff::IdRange;

/// The first word of imgopt's own command line that makes it a sandbox helper.
pub const HELPER_ARG: &str = "__sandbox";
/// Names imgopt's pid for the helper, which checks it still has that parent once it has asked
/// to die with it.
const PARENT_VAR: &str = "IMGOPT_SANDBOX_PARENT";
/// The helper's second argument when it must make its own user namespace (rootless).
pub const USERNS_ARG: &str = "--userns";
/// What the helper prints on standard output once its user namespace exists.
const USERNS_READY: &[u8] = b"imgopt-sandbox-userns-ready\n";
/// Exit status of the helper when setting the step up failed (as runc's 125).
pub const SETUP_FAILED: i32 = 125;
/// A line the helper writes on standard error before exiting with [`SETUP_FAILED`].
pub const ERROR_PREFIX: &str = "imgopt-sandbox-error: ";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NetworkMode {
    /// The host's network (as `docker build --network host`).
    Host,
    /// A network namespace of its own with only a loopback interface.
    None,
}

/// A mount a RUN asks for (`--mount=`), with its host side prepared by the executor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepMount {
    /// A host path to bind (a cache directory, a secret file, a stage's root), or None for a tmpfs.
    pub source: Option<PathBuf>,
    /// Absolute path in the container.
    pub target: String,
    pub read_only: bool,
    /// A merged view to bind instead of `source`: these directories (top-most first; relative
    /// ones to the store) as an overlay, `subpath` of it bound; writes (a `rw` bind) go to a
    /// scratch upper directory and are thrown away with the step.
    #[serde(default)]
    pub overlay: Option<Vec<String>>,
    #[serde(default)]
    pub subpath: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Task {
    Run {
        argv: Vec<String>,
        env: Vec<String>,
        cwd: String,
        /// `USER` as written (`name`, `uid`, `name:group`); resolved in the image.
        user: String,
        mounts: Vec<StepMount>,
        network: NetworkMode,
    },
    Copy(CopyTask),
}

/// Everything one step needs; paths are the host's.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    /// The directory the lower-directory names are relative to (keeps the mount options short).
    pub store: PathBuf,
    /// Snapshot directories, top-most first, relative to `store`.
    pub lowers: Vec<String>,
    pub upper: PathBuf,
    pub work: PathBuf,
    pub merged: PathBuf,
    /// Overlay keeps its xattrs in `user.` (rootless) rather than `trusted.`.
    pub userxattr: bool,
    /// Rootless: the step runs in a user namespace with these maps.
    pub userns: Option<UserNs>,
    pub hostname: String,
    pub network: NetworkMode,
    /// A host file with the hosts table for `/etc/hosts`.
    pub hosts_file: PathBuf,
    /// A copy of the host's `resolv.conf` (a regular file, never a link) for `/etc/resolv.conf`.
    pub resolv_file: Option<PathBuf>,
    pub task: Task,
}

/// Runs the helper side: never returns.
pub fn helper_main() -> ! {
    let code = match helper() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{ERROR_PREFIX}{e}");
            SETUP_FAILED
        }
    };
    std::process::exit(code)
}

fn helper() -> Result<i32, String> {
    if std::env::args_os().nth(2).is_some_and(|a| a == USERNS_ARG) {
        // Rootless: a user namespace of our own first; the parent writes its id maps (it may
        // use newuidmap for a range) once it reads the marker, then sends the step.
        unshare(CloneFlags::CLONE_NEWUSER).map_err(|e| format!("unshare(user namespace): {e}"))?;
        let mut out = std::io::stdout();
        out.write_all(USERNS_READY).and_then(|()| out.flush()).map_err(|e| format!("signalling the parent: {e}"))?;
    }
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| format!("reading the step: {e}"))?;
    let spec: Spec = serde_json::from_str(&input).map_err(|e| format!("reading the step: {e}"))?;
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(|e| format!("prctl: {e}"))?;
    // imgopt may have died before the line above: then nobody is left to clean up after us.
    let parent = std::env::var(PARENT_VAR).ok().and_then(|p| p.parse::<i32>().ok());
    if parent.is_some_and(|p| nix::unistd::getppid().as_raw() != p) {
        return Err("imgopt ended before the step started".to_string());
    }
    let mut flags = CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWIPC;
    flags |= CloneFlags::CLONE_NEWUTS;
    if spec.network == NetworkMode::None {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    unshare(flags).map_err(|e| format!("unshare: {e} (the builder needs root or a user namespace)"))?;
    // SAFETY: this process is single-threaded (a fresh exec of imgopt that started no threads).
    match unsafe { nix::unistd::fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            // The init dies with the helper, and every process of the step with the init.
            let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
            let code = match init(&spec) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("{ERROR_PREFIX}{e}");
                    SETUP_FAILED
                }
            };
            std::process::exit(code)
        }
        ForkResult::Parent { child } => Ok(wait_exit_code(child)),
    }
}

fn wait_exit_code(child: Pid) -> i32 {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, sig, _)) => return 128 + sig as i32,
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return SETUP_FAILED,
        }
    }
}

/// A mount point the init created (it did not exist in the image) and removes afterwards,
/// restoring its parent's times so the parent does not look changed.
struct Stub {
    path: PathBuf,
    is_dir: bool,
    parent_times: Option<(i64, i64, i64, i64)>,
    /// A directory made for a `RUN --mount` target: BuildKit leaves those in the layer.
    keep: bool,
}

struct Root {
    stubs: Vec<Stub>,
    mounts: Vec<PathBuf>,
}

impl Root {
    /// Makes `path` (absolute, inside the new root) exist as a directory, creating what is
    /// missing and recording it. An existing non-directory is an error.
    fn ensure_dir(&mut self, path: &Path) -> Result<(), String> {
        let mut cur = PathBuf::from("/");
        for comp in path.components().skip(1) {
            cur.push(comp);
            match std::fs::metadata(&cur) {
                Ok(m) if m.is_dir() => continue,
                Ok(_) => return Err(format!("{} exists and is not a directory", cur.display())),
                Err(_) => {
                    let parent_times = parent_times(&cur);
                    std::fs::create_dir(&cur).map_err(|e| format!("mkdir {}: {e}", cur.display()))?;
                    self.stubs.push(Stub { path: cur.clone(), is_dir: true, parent_times, keep: false });
                }
            }
        }
        Ok(())
    }

    fn ensure_file(&mut self, path: &Path) -> Result<(), String> {
        if let Some(parent) = path.parent() {
            self.ensure_dir(parent)?;
        }
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => Err(format!("{} is a directory", path.display())),
            Ok(_) => Ok(()),
            Err(_) => {
                let parent_times = parent_times(path);
                std::fs::File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
                self.stubs.push(Stub { path: path.to_path_buf(), is_dir: false, parent_times, keep: false });
                Ok(())
            }
        }
    }

    fn mount(
        &mut self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MsFlags,
        data: Option<&str>,
    ) -> Result<(), String> {
        mount(source, target, fstype, flags, data).map_err(|e| format!("mounting {}: {e}", target.display()))?;
        self.mounts.push(target.to_path_buf());
        Ok(())
    }

    fn bind(&mut self, source: &Path, target: &Path, read_only: bool) -> Result<(), String> {
        let is_dir = std::fs::metadata(source).map_err(|e| format!("{}: {e}", source.display()))?.is_dir();
        if is_dir {
            self.ensure_dir(target)?;
        } else {
            self.ensure_file(target)?;
        }
        self.mount(Some(source), target, None, MsFlags::MS_BIND | MsFlags::MS_REC, None)?;
        if read_only {
            let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
            // In a user namespace the flags the source mount has are locked: keep them.
            let locked = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
            mount(None::<&str>, target, None::<&str>, flags, None::<&str>)
                .or_else(|_| mount(None::<&str>, target, None::<&str>, flags | locked, None::<&str>))
                .or_else(|_| {
                    mount(
                        None::<&str>,
                        target,
                        None::<&str>,
                        flags | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                        None::<&str>,
                    )
                })
                .map_err(|e| format!("read-only {}: {e}", target.display()))?;
        }
        Ok(())
    }

    /// Takes down every mount (last first) and removes every stub (last first).
    fn tear_down(&mut self) {
        for m in self.mounts.drain(..).rev() {
            let _ = umount2(&m, MntFlags::MNT_DETACH);
        }
        for stub in self.stubs.drain(..).rev() {
            if stub.keep {
                continue;
            }
            let removed = if stub.is_dir { std::fs::remove_dir(&stub.path) } else { std::fs::remove_file(&stub.path) };
            if removed.is_ok() {
                if let (Some(parent), Some(t)) = (stub.path.parent(), stub.parent_times) {
                    set_times(parent, t);
                }
            }
        }
    }
}

fn parent_times(path: &Path) -> Option<(i64, i64, i64, i64)> {
    let m = std::fs::symlink_metadata(path.parent()?).ok()?;
    Some((m.atime(), m.atime_nsec(), m.mtime(), m.mtime_nsec()))
}

fn set_times(path: &Path, (a, an, m, mn): (i64, i64, i64, i64)) {
    use nix::sys::stat::{utimensat, UtimensatFlags};
    use nix::sys::time::TimeSpec;
    let at = TimeSpec::new(a, an);
    let mt = TimeSpec::new(m, mn);
    let _ = utimensat(nix::fcntl::AT_FDCWD, path, &at, &mt, UtimensatFlags::NoFollowSymlink);
}

/// PID 1 of the step: mount, pivot, run, clean up.
fn init(spec: &Spec) -> Result<i32, String> {
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)
        .map_err(|e| format!("making mounts private: {e}"))?;
    std::env::set_current_dir(&spec.store).map_err(|e| format!("{}: {e}", spec.store.display()))?;
    mount_overlay(spec)?;
    if spec.network == NetworkMode::None {
        loopback_up()?;
    }
    nix::unistd::sethostname(&spec.hostname).map_err(|e| format!("sethostname: {e}"))?;

    // Merged views for bind mounts of a stage, an image or a context directory, mounted while
    // the host's paths still resolve; bound into the new root below.
    let mut step_mounts: Vec<StepMount> = match &spec.task {
        Task::Run { mounts, .. } => mounts.clone(),
        Task::Copy(_) => Vec::new(),
    };
    let scratch = spec.upper.parent().map(Path::to_path_buf).unwrap_or_else(|| spec.store.join("tmp"));
    for (i, m) in step_mounts.iter_mut().enumerate() {
        let Some(lowers) = &m.overlay else { continue };
        let dir = scratch.join(format!("bind-{i}"));
        let (up, wk) = (scratch.join(format!("bind-{i}-upper")), scratch.join(format!("bind-{i}-work")));
        for d in [&dir, &up, &wk] {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let mut lowers = lowers.clone();
        if lowers.len() == 1 && m.read_only {
            // overlayfs wants two lower directories when it has no upper one.
            std::fs::create_dir_all(spec.store.join("empty")).map_err(|e| format!("empty lower: {e}"))?;
            lowers.push("empty".to_string());
        }
        let mut data = format!("lowerdir={}", lowers.join(":"));
        if !m.read_only {
            data.push_str(&format!(",upperdir={},workdir={}", up.display(), wk.display()));
        }
        if spec.userxattr {
            data.push_str(",userxattr");
        }
        let flags = if m.read_only { MsFlags::MS_RDONLY } else { MsFlags::empty() };
        // What a writable view's upper directory gets is thrown away: never worth a sync.
        let quick = format!("{data},volatile");
        let tries: &[&str] = if m.read_only { &[&data] } else { &[&quick, &data] };
        mount_overlayfs(&dir, flags, tries).map_err(|e| format!("mounting the view for {}: {e}", m.target))?;
        m.source = Some(dir.join(m.subpath.trim_start_matches('/')));
    }

    let mut root = Root { stubs: Vec::new(), mounts: Vec::new() };
    // pivot_root into the overlay; the old root stays reachable under a name no image can
    // know in advance (so no symlink in the image can point into the host) until it is detached.
    let old_name = format!(".imgopt-old-root-{:016x}", random_u64());
    let old_in_merged = spec.merged.join(&old_name);
    let merged_times =
        std::fs::symlink_metadata(&spec.merged).ok().map(|m| (m.atime(), m.atime_nsec(), m.mtime(), m.mtime_nsec()));
    std::fs::create_dir(&old_in_merged).map_err(|e| format!("mkdir {}: {e}", old_in_merged.display()))?;
    nix::unistd::pivot_root(&spec.merged, &old_in_merged).map_err(|e| format!("pivot_root: {e}"))?;
    std::env::set_current_dir("/").map_err(|e| format!("chdir /: {e}"))?;
    let old = PathBuf::from("/").join(&old_name);
    let host = |p: &Path| old.join(p.strip_prefix("/").unwrap_or(p));

    let result = (|| -> Result<i32, String> {
        match &spec.task {
            Task::Run { argv, env, cwd, user, .. } => {
                let mounts = &step_mounts;
                set_up_system_mounts(&mut root, &old)?;
                if let Some(resolv) = &spec.resolv_file {
                    root.bind(&host(resolv), Path::new("/etc/resolv.conf"), true)?;
                }
                root.bind(&host(&spec.hosts_file), Path::new("/etc/hosts"), true)?;
                let system_stubs = root.stubs.len();
                for m in mounts {
                    let target = Path::new(&m.target);
                    match &m.source {
                        Some(src) => root.bind(&host(src), target, m.read_only)?,
                        None => {
                            root.ensure_dir(target)?;
                            root.mount(Some(Path::new("tmpfs")), target, Some("tmpfs"), MsFlags::empty(), None)?;
                        }
                    }
                }
                // The directories made for the step's own mounts stay, as BuildKit leaves them
                // (a cache mount's target, /run/secrets); files made as mount points go.
                for stub in &mut root.stubs[system_stubs..] {
                    stub.keep = stub.is_dir && !stub.path.starts_with("/dev");
                }
                let ids = resolve_user(user)?;
                umount2(&old, MntFlags::MNT_DETACH).map_err(|e| format!("detaching the host root: {e}"))?;
                std::fs::remove_dir(&old).map_err(|e| format!("rmdir {}: {e}", old.display()))?;
                if let Some(t) = merged_times {
                    set_times(Path::new("/"), t);
                }
                run_command(argv, env, cwd, &ids)
            }
            Task::Copy(task) => {
                let code = copy::run(task, &old).map(|()| 0);
                umount2(&old, MntFlags::MNT_DETACH).map_err(|e| format!("detaching the host root: {e}"))?;
                let _ = std::fs::remove_dir(&old);
                if let Some(t) = merged_times {
                    set_times(Path::new("/"), t);
                }
                code
            }
        }
    })();
    root.tear_down();
    if let Some(t) = merged_times {
        set_times(Path::new("/"), t);
    }
    result
}

fn mount_overlay(spec: &Spec) -> Result<(), String> {
    let lowers = if spec.lowers.is_empty() { vec!["empty".to_string()] } else { spec.lowers.clone() };
    if spec.lowers.is_empty() {
        std::fs::create_dir_all(spec.store.join("empty")).map_err(|e| format!("empty lower: {e}"))?;
    }
    let mut data =
        format!("lowerdir={},upperdir={},workdir={}", lowers.join(":"), spec.upper.display(), spec.work.display());
    if spec.userxattr {
        data.push_str(",userxattr");
    }
    let page = 4096;
    if data.len() >= page {
        return Err(format!("too many layers for one overlay mount ({} lower directories)", lowers.len()));
    }
    let tuned = format!("{data},index=off,redirect_dir=off,metacopy=off");
    // `volatile` (Linux 5.10+): no sync reaches the upper directory's file system, neither the
    // step's own fsyncs nor the syncfs of the whole file system overlayfs does when it is
    // unmounted, which cost a step from a few to hundreds of milliseconds on a busy disk. The
    // work directory it marks is thrown away with the step; the upper directory becomes the
    // snapshot, as durable as the page cache makes it (the store syncs no snapshot: it is a cache).
    let quick = format!("{tuned},volatile");
    // The kernel reads a page of options: a longer string would be cut, not refused.
    let tries: Vec<&str> = [&quick, &tuned, &data].into_iter().map(String::as_str).filter(|o| o.len() < page).collect();
    mount_overlayfs(&spec.merged, MsFlags::empty(), &tries)
        .map_err(|e| format!("mounting overlayfs on {}: {e}", spec.merged.display()))
}

/// Mounts overlayfs on `target` with the first of `tries` the kernel takes (an older kernel
/// refuses options it does not know); the error is the last try's.
fn mount_overlayfs(target: &Path, flags: MsFlags, tries: &[&str]) -> nix::Result<()> {
    let mut mounted = Err(nix::errno::Errno::EINVAL);
    for options in tries {
        mounted = mount(Some("overlay"), target, Some("overlay"), flags, Some(*options));
        if mounted.is_ok() {
            break;
        }
    }
    mounted
}

/// `/proc`, `/dev` (null, zero, full, random, urandom, tty, pts, shm, the fd links) and a
/// read-only `/sys`.
fn set_up_system_mounts(root: &mut Root, old: &Path) -> Result<(), String> {
    let nosuid_nodev_noexec = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    root.ensure_dir(Path::new("/proc"))?;
    root.mount(Some(Path::new("proc")), Path::new("/proc"), Some("proc"), nosuid_nodev_noexec, None)?;
    root.ensure_dir(Path::new("/dev"))?;
    root.mount(Some(Path::new("tmpfs")), Path::new("/dev"), Some("tmpfs"), MsFlags::MS_NOSUID, Some("mode=755"))?;
    for dev in ["null", "zero", "full", "random", "urandom", "tty"] {
        let target = Path::new("/dev").join(dev);
        std::fs::File::create(&target).map_err(|e| format!("{}: {e}", target.display()))?;
        let source = old.join("dev").join(dev);
        mount(Some(&source), &target, None::<&str>, MsFlags::MS_BIND, None::<&str>)
            .map_err(|e| format!("binding {}: {e}", target.display()))?;
    }
    for (name, target) in [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1")] {
        let _ = std::os::unix::fs::symlink(target, Path::new("/dev").join(name));
    }
    let _ = std::os::unix::fs::symlink("/proc/self/fd/2", "/dev/stderr");
    std::fs::create_dir_all("/dev/pts").map_err(|e| format!("/dev/pts: {e}"))?;
    mount(
        Some("devpts"),
        "/dev/pts",
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=620"),
    )
    .map_err(|e| format!("mounting /dev/pts: {e}"))?;
    let _ = std::os::unix::fs::symlink("pts/ptmx", "/dev/ptmx");
    std::fs::create_dir_all("/dev/shm").map_err(|e| format!("/dev/shm: {e}"))?;
    mount(Some("shm"), "/dev/shm", Some("tmpfs"), nosuid_nodev_noexec, Some("mode=1777,size=65536k"))
        .map_err(|e| format!("mounting /dev/shm: {e}"))?;
    root.ensure_dir(Path::new("/sys"))?;
    let ro = nosuid_nodev_noexec | MsFlags::MS_RDONLY;
    if root.mount(Some(Path::new("sysfs")), Path::new("/sys"), Some("sysfs"), ro, None).is_err() {
        root.mount(Some(&old.join("sys")), Path::new("/sys"), None, MsFlags::MS_BIND | MsFlags::MS_REC, None)?;
        let _ = mount(None::<&str>, "/sys", None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REMOUNT | ro, None::<&str>);
    }
    Ok(())
}

/// Brings `lo` up in a fresh network namespace.
fn loopback_up() -> Result<(), String> {
    // SAFETY: plain socket/ioctl calls on a zeroed ifreq whose name fits.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(format!("socket: {}", std::io::Error::last_os_error()));
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        let ok = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) == 0 && {
            req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) == 0
        };
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if !ok {
            return Err(format!("bringing lo up: {err}"));
        }
    }
    Ok(())
}

/// Who a step runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: Option<String>,
}

/// `USER` resolved against the image's own `/etc/passwd` and `/etc/group` (read from the
/// root the caller is in), as runc and BuildKit resolve it.
pub fn resolve_user(user: &str) -> Result<Ids, String> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let group = std::fs::read_to_string("/etc/group").unwrap_or_default();
    resolve_user_in(user, &passwd, &group)
}

pub fn resolve_user_in(user: &str, passwd: &str, group: &str) -> Result<Ids, String> {
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let u = if u.is_empty() { "0" } else { u };
    let entries: Vec<Vec<&str>> =
        passwd.lines().map(|l| l.split(':').collect::<Vec<_>>()).filter(|f| f.len() >= 7).collect();
    let found = entries.iter().find(|f| f[0] == u || (u.parse::<u32>().is_ok() && f[2] == u));
    let (uid, mut gid, name, home) = match (found, u.parse::<u32>()) {
        (Some(f), _) => {
            let uid = f[2].parse().map_err(|_| format!("bad uid in /etc/passwd for {u}"))?;
            let gid = f[3].parse().map_err(|_| format!("bad gid in /etc/passwd for {u}"))?;
            (uid, gid, Some(f[0].to_string()), Some(f[5].to_string()))
        }
        (None, Ok(uid)) => (uid, 0, None, None),
        (None, Err(_)) => return Err(format!("unable to find user {u}: no matching entries in passwd file")),
    };
    let groups_table: Vec<Vec<&str>> =
        group.lines().map(|l| l.split(':').collect::<Vec<_>>()).filter(|f| f.len() >= 4).collect();
    if let Some(g) = g {
        gid = match groups_table.iter().find(|f| f[0] == g) {
            Some(f) => f[2].parse().map_err(|_| format!("bad gid in /etc/group for {g}"))?,
            None => g.parse().map_err(|_| format!("unable to find group {g}: no matching entries in group file"))?,
        };
    }
    let mut groups = vec![gid];
    if g.is_none() {
        if let Some(name) = &name {
            for f in &groups_table {
                if f[3].split(',').any(|m| m == name) {
                    if let Ok(id) = f[2].parse::<u32>() {
                        if !groups.contains(&id) {
                            groups.push(id);
                        }
                    }
                }
            }
        }
    }
    Ok(Ids { uid, gid, groups, home })
}

fn run_command(argv: &[String], env: &[String], cwd: &str, ids: &Ids) -> Result<i32, String> {
    if argv.is_empty() {
        return Err("no command to run".to_string());
    }
    let mut env: Vec<String> = env.to_vec();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", ids.home.clone().unwrap_or_else(|| "/".to_string())));
    }
    let path_var = env.iter().find_map(|e| e.strip_prefix("PATH=")).unwrap_or(super::super::model::state::DEFAULT_PATH);
    let program =
        find_program(&argv[0], path_var).ok_or_else(|| format!("{}: executable file not found in $PATH", argv[0]))?;
    if std::fs::metadata(cwd).is_err() {
        std::fs::create_dir_all(cwd).map_err(|e| format!("creating the working directory {cwd}: {e}"))?;
    }
    let c = |s: &str| CString::new(s).map_err(|_| format!("a NUL byte in {s:?}"));
    let program = c(&program)?;
    let argv: Vec<CString> = argv.iter().map(|a| c(a)).collect::<Result<_, _>>()?;
    let env: Vec<CString> = env.iter().map(|e| c(e)).collect::<Result<_, _>>()?;
    let cwd = c(cwd)?;
    let groups: Vec<Gid> = ids.groups.iter().map(|g| Gid::from_raw(*g)).collect();
    // SAFETY: the init is single-threaded.
    match unsafe { nix::unistd::fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            let fail = |what: &str, e: nix::errno::Errno| -> ! {
                eprintln!("{ERROR_PREFIX}{what}: {e}");
                std::process::exit(SETUP_FAILED)
            };
            if let Ok(null) = std::fs::File::open("/dev/null") {
                let _ = nix::unistd::dup2_stdin(&null);
            }
            match nix::unistd::setgroups(&groups) {
                // A single-id user namespace denies setgroups; the step keeps root's groups.
                Err(nix::errno::Errno::EPERM) if ids.uid == 0 => {}
                Err(e) => fail("setgroups", e),
                Ok(()) => {}
            }
            if let Err(e) = nix::unistd::setgid(Gid::from_raw(ids.gid)) {
                fail("setgid", e)
            }
            if let Err(e) = nix::unistd::setuid(Uid::from_raw(ids.uid)) {
                if e == nix::errno::Errno::EINVAL {
                    eprintln!("{ERROR_PREFIX}uid {} is not mapped in this rootless build: give your user a range in /etc/subuid and /etc/subgid (and install newuidmap)", ids.uid);
                    std::process::exit(SETUP_FAILED)
                }
                fail("setuid", e)
            }
            if let Err(e) = nix::unistd::chdir(cwd.as_c_str()) {
                fail("chdir", e)
            }
            let e = nix::unistd::execve(&program, &argv, &env).unwrap_err();
            fail(&format!("exec {}", program.to_string_lossy()), e)
        }
        ForkResult::Parent { child } => {
            let code = reap_until(child);
            // Whatever the step left running dies with it.
            let _ = nix::sys::signal::kill(Pid::from_raw(-1), Signal::SIGKILL);
            while let Ok(status) = waitpid(Pid::from_raw(-1), None) {
                if matches!(status, WaitStatus::StillAlive) {
                    break;
                }
            }
            Ok(code)
        }
    }
}

/// As PID 1: reaps every child until `main` ends; its exit code.
fn reap_until(main: Pid) -> i32 {
    loop {
        match waitpid(Pid::from_raw(-1), None) {
            Ok(WaitStatus::Exited(pid, code)) if pid == main => return code,
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == main => return 128 + sig as i32,
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return SETUP_FAILED,
        }
    }
}

fn find_program(name: &str, path: &str) -> Option<String> {
    if name.contains('/') {
        return Some(name.to_string());
    }
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| format!("{d}/{name}"))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

fn random_u64() -> u64 {
    let mut buf = [0u8; 8];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf)).is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        return t.as_nanos() as u64 ^ (std::process::id() as u64) << 32;
    }
    u64::from_le_bytes(buf)
}

/// The result of running one step's helper.
#[derive(Debug)]
pub struct Outcome {
    pub exit_code: i32,
    /// The last lines the step printed (standard output and error interleaved).
    pub tail: Vec<String>,
    /// Set when the sandbox itself could not be set up (not the step's command failing).
    pub setup_error: Option<String>,
}

static CURRENT_HELPER: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
    let pid = CURRENT_HELPER.load(std::sync::atomic::Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Ctrl-C and SIGTERM stop the running step (its namespaces, and so its mounts, go with it)
/// and let the build unwind, removing its work directories.
pub fn handle_interrupts() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet};
    let action = SigAction::new(SigHandler::Handler(on_interrupt), SaFlags::SA_RESTART, SigSet::empty());
    for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only touches atomics and calls kill.
        let _ = unsafe { sigaction(sig, &action) };
    }
}

/// Whether Ctrl-C or SIGTERM arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// How a rootless step's user namespace maps ids: the user to root, and the user's
/// subordinate range (`/etc/subuid`, `/etc/subgid`, applied with newuidmap/newgidmap) to 1....
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserNs {
    pub uid: u32,
    pub gid: u32,
    /// (first host id, count) of the subordinate ranges, when the user has them and the
    /// setuid helpers are installed.
    pub sub_uids: Option<(u32, u32)>,
    pub sub_gids: Option<(u32, u32)>,
}

impl UserNs {
    /// The current user's mapping.
    pub fn current() -> UserNs {
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        let name = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)).ok().flatten().map(|u| u.name);
        let tools = Path::new("/usr/bin/newuidmap").exists() && Path::new("/usr/bin/newgidmap").exists();
        let sub = |file: &str| -> Option<(u32, u32)> {
            if !tools {
                return None;
            }
            let text = std::fs::read_to_string(file).ok()?;
            text.lines().find_map(|l| {
                let f: Vec<&str> = l.trim().split(':').collect();
                let me = f.first().is_some_and(|o| Some(o.to_string()) == name || o.parse::<u32>().ok() == Some(uid));
                match (me, f.get(1).and_then(|s| s.parse().ok()), f.get(2).and_then(|s| s.parse().ok())) {
                    (true, Some(start), Some(count)) if count > 0 => Some((start, count)),
                    _ => None,
                }
            })
        };
        UserNs { uid, gid, sub_uids: sub("/etc/subuid"), sub_gids: sub("/etc/subgid") }
    }

    /// The maps, uids then gids.
    pub fn ranges(&self) -> (Vec<IdRange>, Vec<IdRange>) {
        let one = |id: u32, sub: Option<(u32, u32)>| {
            let mut v = vec![IdRange { container: 0, host: id, count: 1 }];
            if let Some((start, count)) = sub {
                v.push(IdRange { container: 1, host: start, count });
            }
            v
        };
        (one(self.uid, self.sub_uids), one(self.gid, self.sub_gids.filter(|_| self.sub_uids.is_some())))
    }

    /// Writes the maps of process `pid` (which has just made its user namespace).
    fn apply(&self, pid: u32) -> std::io::Result<()> {
        let (uids, gids) = self.ranges();
        if uids.len() > 1 {
            for (tool, ranges) in [("/usr/bin/newuidmap", &uids), ("/usr/bin/newgidmap", &gids)] {
                let mut cmd = std::process::Command::new(tool);
                cmd.arg(pid.to_string());
                for r in ranges.iter() {
                    cmd.args([r.container.to_string(), r.host.to_string(), r.count.to_string()]);
                }
                let status = cmd.status()?;
                if !status.success() {
                    return Err(std::io::Error::other(format!("{tool} {pid} failed ({status})")));
                }
            }
            return Ok(());
        }
        std::fs::write(format!("/proc/{pid}/setgroups"), "deny")?;
        std::fs::write(format!("/proc/{pid}/uid_map"), format!("0 {} 1\n", self.uid))?;
        std::fs::write(format!("/proc/{pid}/gid_map"), format!("0 {} 1\n", self.gid))
    }
}

/// Runs a step: starts the helper, feeds it the spec, passes each output line to `on_line`.
pub fn run_step(spec: &Spec, on_line: &mut dyn FnMut(&str)) -> std::io::Result<Outcome> {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    // The running binary itself, even when its file was replaced or removed since it started
    // (a rebuild during a long build): /proc/self/exe opens the inode this process runs.
    let mut command = Command::new("/proc/self/exe");
    command.arg(HELPER_ARG);
    if spec.userns.is_some() {
        command.arg(USERNS_ARG);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear()
        .env(PARENT_VAR, std::process::id().to_string())
        .spawn()?;
    CURRENT_HELPER.store(child.id() as i32, std::sync::atomic::Ordering::SeqCst);
    if interrupted() {
        let _ = child.kill();
    }
    let json = serde_json::to_vec(spec).map_err(std::io::Error::other)?;
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
    if let Some(userns) = &spec.userns {
        let mut marker = Vec::new();
        stdout.read_until(b'\n', &mut marker)?;
        if marker != USERNS_READY {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            let _ = child.wait();
            CURRENT_HELPER.store(0, std::sync::atomic::Ordering::SeqCst);
            let err = err.lines().find_map(|l| l.strip_prefix(ERROR_PREFIX)).unwrap_or("no user namespace").to_string();
            return Ok(Outcome { exit_code: SETUP_FAILED, tail: Vec::new(), setup_error: Some(err) });
        }
        if let Err(e) = userns.apply(child.id()) {
            let _ = child.kill();
            let _ = child.wait();
            CURRENT_HELPER.store(0, std::sync::atomic::Ordering::SeqCst);
            let message = format!("mapping ids into the user namespace: {e}");
            return Ok(Outcome { exit_code: SETUP_FAILED, tail: Vec::new(), setup_error: Some(message) });
        }
    }
    {
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin.write_all(&json)?;
    }
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let tx2 = tx.clone();
    let t1 = std::thread::spawn(move || {
        for line in stdout.split(b'\n').map_while(Result::ok) {
            let _ = tx.send(String::from_utf8_lossy(&line).into_owned());
        }
    });
    let t2 = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
            let _ = tx2.send(String::from_utf8_lossy(&line).into_owned());
        }
    });
    let mut tail: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let mut setup_error = None;
    for line in rx {
        if let Some(e) = line.strip_prefix(ERROR_PREFIX) {
            setup_error = Some(e.to_string());
            continue;
        }
        on_line(&line);
        tail.push_back(line);
        if tail.len() > 20 {
            tail.pop_front();
        }
    }
    let _ = t1.join();
    let _ = t2.join();
    let status = child.wait()?;
    CURRENT_HELPER.store(0, std::sync::atomic::Ordering::SeqCst);
    let exit_code = {
        use std::os::unix::process::ExitStatusExt;
        status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
    };
    if exit_code != SETUP_FAILED {
        setup_error = None;
    }
    Ok(Outcome { exit_code, tail: tail.into(), setup_error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_resolve_through_the_image_files() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
        let group = "root:x:0:\napp:x:1000:\nwheel:x:10:app\n";
        let app = resolve_user_in("app", passwd, group).unwrap();
        assert_eq!((app.uid, app.gid, app.groups.clone()), (1000, 1000, vec![1000, 10]));
        assert_eq!(app.home.as_deref(), Some("/home/app"));
        let explicit = resolve_user_in("app:wheel", passwd, group).unwrap();
        assert_eq!((explicit.gid, explicit.groups), (10, vec![10]));
        assert_eq!(resolve_user_in("4242", passwd, group).unwrap().uid, 4242);
        assert_eq!(resolve_user_in("", passwd, group).unwrap().uid, 0);
        assert!(resolve_user_in("nobody", passwd, group).unwrap_err().contains("no matching entries"));
        assert!(resolve_user_in("app:nogroup", passwd, group).is_err());
    }
}
