//! Image references as skopeo and buildah spell them: `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`,
//! `docker-archive:FILE[:NAME:TAG]`.

use std::fmt;
use std::path::{Path, PathBuf};

use super::error::{ImageError, Result};
use super::name::ImageName;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageRef {
    /// An OCI image layout directory; the tag selects a manifest by its ref.name annotation.
    OciDir { dir: PathBuf, tag: Option<String> },
    /// An OCI image layout packed as a tar.
    OciArchive { file: PathBuf, tag: Option<String> },
    /// `docker save` output; the name selects an image by its RepoTags when there are several.
    DockerArchive { file: PathBuf, name: Option<String> },
    /// An image in a registry, pulled into the blob cache.
    Registry(ImageName),
}

impl ImageRef {
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |reason: &str| ImageError::Reference { reference: text.into(), reason: reason.into() };
        let registry = |name: &str| ImageName::parse(name).map(ImageRef::Registry).map_err(|e| bad(&e.reason));
        if let Some(local) = local_path(text) {
            return Ok(local);
        }
        let Some((transport, rest)) = text.split_once(':') else {
            return registry(text); // a bare name: `debian`, `example.com/app`
        };
        if rest.is_empty() {
            return Err(bad("no path after the transport"));
        }
        match transport {
            "oci" => {
                let (dir, tag) = split_existing(rest, Path::is_dir);
                Ok(ImageRef::OciDir { dir, tag })
            }
            "oci-archive" => {
                let (file, tag) = split_existing(rest, Path::is_file);
                Ok(ImageRef::OciArchive { file, tag })
            }
            "docker-archive" => {
                let (file, name) = split_existing(rest, Path::is_file);
                Ok(ImageRef::DockerArchive { file, name })
            }
            "registry" => registry(rest),
            "docker" => registry(rest.trim_start_matches("//")),
            // Not a transport: a registry name with a tag or port, `debian:12`, `localhost:5000/app`.
            _ => registry(text),
        }
    }
}

impl ImageRef {
    /// A place to write an image to (`-o`): the path ends at the first `:` after the
    /// transport, as skopeo reads destinations (the path need not exist yet).
    pub fn parse_output(text: &str) -> Result<Self> {
        let bad = |reason: &str| ImageError::Reference { reference: text.into(), reason: reason.into() };
        let (transport, rest) =
            text.split_once(':').ok_or_else(|| bad("expected oci:DIR, oci-archive:FILE or docker-archive:FILE"))?;
        let (path, suffix) = match rest.split_once(':') {
            Some((p, s)) if !s.is_empty() => (PathBuf::from(p), Some(s.to_string())),
            _ => (PathBuf::from(rest.trim_end_matches(':')), None),
        };
        if path.as_os_str().is_empty() {
            return Err(bad("no path after the transport"));
        }
        match transport {
            "oci" => Ok(ImageRef::OciDir { dir: path, tag: suffix }),
            "oci-archive" => Ok(ImageRef::OciArchive { file: path, tag: suffix }),
            "docker-archive" => Ok(ImageRef::DockerArchive { file: path, name: suffix }),
            _ => Err(bad("expected oci:DIR, oci-archive:FILE or docker-archive:FILE")),
        }
    }
}

/// A reference without a transport that names a local file or directory (`./app.tar`,
/// `/tmp/layout`, `app.tar`): a directory is an OCI layout, a file an archive whose format is
/// told when it is opened (a `docker save` archive has a `manifest.json`, an OCI one an
/// `oci-layout`). Only what reads as a path (it starts with `/` or `.`, or ends in `.tar`) is
/// looked up, so a registry name never becomes a directory that happens to share it.
fn local_path(text: &str) -> Option<ImageRef> {
    let looks_like_path = text.starts_with(['/', '.']) || text.ends_with(".tar");
    if !looks_like_path {
        return None;
    }
    let path = Path::new(text);
    if path.is_dir() {
        Some(ImageRef::OciDir { dir: path.into(), tag: None })
    } else if path.is_file() {
        // docker-archive: reads either format.
        Some(ImageRef::DockerArchive { file: path.into(), name: None })
    } else {
        None
    }
}

/// Paths may contain `:` themselves, so the split point is the longest prefix that exists; with
/// none, the whole text is the path (and opening it reports that it is missing).
fn split_existing(rest: &str, exists: fn(&Path) -> bool) -> (PathBuf, Option<String>) {
    if exists(Path::new(rest)) {
        return (rest.into(), None);
    }
    for (at, _) in rest.match_indices(':').collect::<Vec<_>>().into_iter().rev() {
        let (path, suffix) = (&rest[..at], &rest[at + 1..]);
        if !suffix.is_empty() && exists(Path::new(path)) {
            return (path.into(), Some(suffix.into()));
        }
    }
    (rest.into(), None)
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (transport, path, suffix) = match self {
            ImageRef::Registry(r) => return write!(f, "registry:{r}"),
            ImageRef::OciDir { dir, tag } => ("oci", dir, tag),
            ImageRef::OciArchive { file, tag } => ("oci-archive", file, tag),
            ImageRef::DockerArchive { file, name } => ("docker-archive", file, name),
        };
        write!(f, "{transport}:{}", path.display())?;
        if let Some(s) = suffix {
            write!(f, ":{s}")?;
        }
        Ok(())
    }
}
