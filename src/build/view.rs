//! Reading the file system of a snapshot chain without mounting it: each path is looked up in
//! the snapshot directories top-most first, as overlayfs merges them (a whiteout — a character
//! device 0/0 — hides what is below, an opaque directory hides the directories below it).
//! Symlinks are resolved inside the chain, never on the host.

use std::collections::BTreeMap;
use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Names of the xattr that marks an opaque directory.
pub const OPAQUE_XATTRS: [&str; 2] = ["trusted.overlay.opaque", "user.overlay.opaque"];

/// The merged view of a chain of snapshot directories (top-most first).
#[derive(Debug, Clone)]
pub struct ChainView {
    pub layers: Vec<PathBuf>,
}

/// One entry of the merged view: where its bytes are on the host, and its metadata.
#[derive(Debug, Clone)]
pub struct Found {
    pub host: PathBuf,
    pub meta: Metadata,
}

pub fn is_whiteout(meta: &Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

pub fn is_opaque(dir: &Path) -> bool {
    OPAQUE_XATTRS.iter().any(|name| xattr_is_y(dir, name))
}

fn xattr_is_y(path: &Path, name: &str) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let (Ok(p), Ok(n)) = (std::ffi::CString::new(path.as_os_str().as_bytes()), std::ffi::CString::new(name)) else {
        return false;
    };
    let mut buf = [0u8; 4];
    // SAFETY: valid C strings and a buffer of the length given.
    let len = unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    len == 1 && buf[0] == b'y'
}

/// Splits a container path into its components (`/a/./b/` → a, b); `..` is kept for the resolver.
fn components(path: &str) -> Vec<&str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".").collect()
}

impl ChainView {
    pub fn new(layers: Vec<PathBuf>) -> Self {
        ChainView { layers }
    }

    /// The entry at `rel` (components, no symlink resolution), if the merged view has one.
    fn lookup(&self, rel: &[&str]) -> Option<Found> {
        'layers: for layer in &self.layers {
            // A whiteout or a non-directory at a parent in this layer hides the layers below;
            // an opaque parent directory does too, once this layer has no entry.
            let mut dir = layer.clone();
            let mut opaque_parent = false;
            for (i, c) in rel.iter().enumerate() {
                dir.push(c);
                let Ok(meta) = std::fs::symlink_metadata(&dir) else {
                    if opaque_parent {
                        return None;
                    }
                    continue 'layers;
                };
                if is_whiteout(&meta) {
                    return None;
                }
                if i + 1 == rel.len() {
                    return Some(Found { host: dir, meta });
                }
                if !meta.is_dir() {
                    return None;
                }
                opaque_parent = is_opaque(&dir);
            }
            // The root itself.
            if rel.is_empty() {
                if let Ok(meta) = std::fs::symlink_metadata(layer) {
                    return Some(Found { host: layer.clone(), meta });
                }
            }
        }
        None
    }

    /// Resolves `path` (absolute in the container) following symlinks inside the chain, as the
    /// kernel would with the chain as root; `follow_last` follows a final symlink too.
    pub fn resolve(&self, path: &str, follow_last: bool) -> Option<(String, Found)> {
        let mut pending: Vec<String> = components(path).into_iter().rev().map(str::to_string).collect();
        let mut cur: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(c) = pending.pop() {
            if c == ".." {
                cur.pop();
                continue;
            }
            cur.push(c);
            let refs: Vec<&str> = cur.iter().map(String::as_str).collect();
            let found = self.lookup(&refs)?;
            let last = pending.is_empty();
            if found.meta.file_type().is_symlink() && (!last || follow_last) {
                hops += 1;
                if hops > 40 {
                    return None;
                }
                let target = std::fs::read_link(&found.host).ok()?;
                let target = target.to_string_lossy().into_owned();
                cur.pop();
                if target.starts_with('/') {
                    cur.clear();
                }
                for t in components(&target).into_iter().rev() {
                    pending.push(t.to_string());
                }
            }
        }
        let refs: Vec<&str> = cur.iter().map(String::as_str).collect();
        let found = self.lookup(&refs)?;
        Some((format!("/{}", cur.join("/")), found))
    }

    /// The names in directory `rel` (resolved) of the merged view, each with its entry.
    pub fn read_dir(&self, dir: &str) -> BTreeMap<String, Found> {
        let rel = components(dir);
        let mut out: BTreeMap<String, Found> = BTreeMap::new();
        let mut hidden: std::collections::HashSet<String> = Default::default();
        for layer in &self.layers {
            let mut path = layer.clone();
            let mut blocked = false;
            for c in &rel {
                path.push(c);
                match std::fs::symlink_metadata(&path) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        blocked = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            if blocked {
                break;
            }
            let Ok(entries) = std::fs::read_dir(&path) else { continue };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if out.contains_key(&name) || hidden.contains(&name) {
                    continue;
                }
                let Ok(meta) = std::fs::symlink_metadata(e.path()) else { continue };
                if is_whiteout(&meta) {
                    hidden.insert(name);
                    continue;
                }
                out.insert(name, Found { host: e.path(), meta });
            }
            if is_opaque(&path) {
                break;
            }
        }
        out
    }

    /// A small file's content (e.g. `/etc/passwd`), following symlinks in the chain.
    pub fn read_file(&self, path: &str, limit: u64) -> Option<Vec<u8>> {
        use std::io::Read;
        let (_, found) = self.resolve(path, true)?;
        if !found.meta.is_file() {
            return None;
        }
        let mut buf = Vec::new();
        std::fs::File::open(&found.host).ok()?.take(limit).read_to_end(&mut buf).ok()?;
        Some(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_view_follows_overlay_rules() {
        let tmp = std::env::temp_dir().join(format!("imgopt-view-{}", std::process::id()));
        let (low, up) = (tmp.join("low"), tmp.join("up"));
        std::fs::create_dir_all(low.join("etc/sub")).unwrap();
        std::fs::create_dir_all(up.join("etc")).unwrap();
        std::fs::write(low.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        std::fs::write(low.join("etc/gone"), "x").unwrap();
        std::fs::write(up.join("etc/new"), "y").unwrap();
        std::os::unix::fs::symlink("/etc", low.join("link")).unwrap();
        let whiteout = nix::sys::stat::mknod(
            &up.join("etc/gone"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o600),
            0,
        );
        let view = ChainView::new(vec![up.clone(), low.clone()]);
        let names: Vec<String> = view.read_dir("/etc").into_keys().collect();
        if whiteout.is_ok() {
            assert_eq!(names, ["new", "passwd", "sub"]);
            assert!(view.resolve("/etc/gone", true).is_none());
        }
        assert_eq!(view.read_file("/link/passwd", 1 << 20).unwrap(), b"root:x:0:0::/root:/bin/sh\n");
        let (path, _) = view.resolve("/link/../link/new", true).unwrap();
        assert_eq!(path, "/etc/new");
        // `..` never leaves the root.
        assert_eq!(view.resolve("/../../etc/passwd", true).unwrap().0, "/etc/passwd");
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
