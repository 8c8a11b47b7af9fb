//! Writing images in the three forms imgopt reads: an OCI layout (`oci:DIR`), the same packed
//! as a tar (`oci-archive:FILE`), and `docker save`'s form (`docker-archive:FILE`), from layer
//! blobs already on disk and an image config.
//!
//! What a reader sees is whole or absent: every blob, `index.json` and every archive is written
//! under a temporary name beside its place and renamed into it. Blobs are checked against their
//! digest as they are copied (or linked), and the config's and manifest's digests are computed
//! over the exact bytes written (compact JSON, fields in a fixed order: the same image gives the
//! same bytes). A crash may leave a `.*.tmp-*` file behind, never a blob under its digest that
//! does not hash to it.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::{ImageError, Result};
use super::layer::{Compression, Tap};
use super::reference::ImageRef;
use super::spec::{
    Descriptor, Digest, DockerArchiveEntry, ImageConfig, Index, Manifest, Platform, ANNOTATION_REF_NAME,
    MEDIA_OCI_CONFIG, MEDIA_OCI_MANIFEST,
};
use crate::fsio::TempFile;

/// The `oci-layout` file of every layout this module writes.
pub const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// A layer blob on disk and what the manifest says about it.
#[derive(Clone, Debug)]
pub struct LayerFile {
    pub path: PathBuf,
    /// Media type, digest and size of the blob as stored (gzip, zstd or a plain tar).
    pub descriptor: Descriptor,
    /// sha256 of the uncompressed tar: the config's `rootfs.diff_ids` entry for this layer.
    pub diff_id: Digest,
}

/// An image to write: its config and its layers, bottom first.
#[derive(Clone, Debug)]
pub struct NewImage {
    pub config: ImageConfig,
    pub layers: Vec<LayerFile>,
    /// The manifest's annotations (`org.opencontainers.image.created`, ...).
    pub annotations: BTreeMap<String, String>,
}

/// What was written: the manifest (as an index lists it, without a name) and the config's
/// digest, which is the image ID `docker images` and `podman images` show.
#[derive(Clone, Debug)]
pub struct Written {
    pub manifest: Descriptor,
    pub config_digest: Digest,
}

/// The config and manifest as the bytes that are written.
struct Encoded {
    config: Vec<u8>,
    config_digest: Digest,
    manifest: Vec<u8>,
    descriptor: Descriptor,
}

impl NewImage {
    fn encode(&self) -> Result<Encoded> {
        self.encode_with(None)
    }

    /// With `config`: those bytes are the config (an imported image keeps its image ID); they
    /// must parse to the same diff_ids as `self.config`.
    fn encode_with(&self, config: Option<&[u8]>) -> Result<Encoded> {
        let claimed = &self.config.rootfs.diff_ids;
        if claimed.len() != self.layers.len() || claimed.iter().zip(&self.layers).any(|(c, l)| c != &l.diff_id) {
            return Err(ImageError::Layout(format!(
                "cannot write the image: its config lists {} diff_ids that are not the diff_ids of its {} layers",
                claimed.len(),
                self.layers.len()
            )));
        }
        let config = match config {
            Some(bytes) => {
                let parsed: ImageConfig = serde_json::from_slice(bytes)
                    .map_err(|source| ImageError::Json { what: "the image config".into(), source })?;
                if &parsed.rootfs.diff_ids != claimed {
                    return Err(ImageError::Layout(
                        "cannot write the image: the config bytes given list other diff_ids".into(),
                    ));
                }
                bytes.to_vec()
            }
            None => json_bytes("the image config", &self.config)?,
        };
        let config_descriptor = Descriptor::of_bytes(MEDIA_OCI_CONFIG, &config);
        let config_digest = config_descriptor.digest.clone();
        let mut manifest = Manifest::oci(config_descriptor, self.layers.iter().map(|l| l.descriptor.clone()).collect());
        manifest.annotations = self.annotations.clone();
        let manifest = json_bytes("the manifest", &manifest)?;
        let mut descriptor = Descriptor::of_bytes(MEDIA_OCI_MANIFEST, &manifest);
        let text = |key: &str| self.config.other.get(key).and_then(|v| v.as_str()).map(str::to_string);
        descriptor.platform = Some(Platform {
            architecture: self.config.architecture.clone(),
            os: self.config.os.clone(),
            variant: text("variant"),
            os_version: text("os.version"),
        });
        Ok(Encoded { config, config_digest, manifest, descriptor })
    }
}

fn json_bytes<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|source| ImageError::Json { what: what.into(), source })
}

/// Write `image` where `target` says, with the reference's own tag (`oci:DIR:TAG`) or name
/// (`docker-archive:FILE:NAME:TAG`) added to `names`.
pub fn write_image(target: &ImageRef, image: &NewImage, names: &[String]) -> Result<Written> {
    let with = |own: &Option<String>| names.iter().cloned().chain(own.clone()).collect::<Vec<_>>();
    match target {
        ImageRef::OciDir { dir, tag } => write_oci_layout(dir, image, &with(tag)),
        ImageRef::OciArchive { file, tag } => write_oci_archive(file, image, &with(tag)),
        ImageRef::DockerArchive { file, name } => write_docker_archive(file, image, &with(name)),
        ImageRef::Registry(_) => Err(ImageError::Reference {
            reference: target.to_string(),
            reason: "images are written to oci:, oci-archive: or docker-archive:, not pushed to a registry".into(),
        }),
    }
}

/// Add `image` to the OCI layout `dir` (created when missing). Each name becomes an index entry
/// annotated `org.opencontainers.image.ref.name` (what `oci:DIR:NAME` selects), replacing the
/// entry that had that name; other entries stay. Without names the image is added unnamed.
/// Blobs already in the layout are kept.
pub fn write_oci_layout(dir: &Path, image: &NewImage, names: &[String]) -> Result<Written> {
    write_oci_layout_with(dir, image, None, names)
}

/// [`write_oci_layout`] with the config written as the exact bytes given (an image imported
/// from an archive keeps its config digest, the image ID Docker shows).
pub fn write_oci_layout_keeping_config(
    dir: &Path,
    image: &NewImage,
    config: &[u8],
    names: &[String],
) -> Result<Written> {
    write_oci_layout_with(dir, image, Some(config), names)
}

fn write_oci_layout_with(dir: &Path, image: &NewImage, config: Option<&[u8]>, names: &[String]) -> Result<Written> {
    names.iter().try_for_each(|n| check_ref_name(n))?;
    let encoded = image.encode_with(config)?;
    fs::create_dir_all(dir.join("blobs/sha256")).map_err(|e| ImageError::write(dir, e))?;
    for layer in &image.layers {
        put_blob_file(dir, &layer.path, &layer.descriptor)?;
    }
    put_blob_bytes(dir, &encoded.config)?;
    put_blob_bytes(dir, &encoded.manifest)?;
    // Two writers into one layout: the index is read, changed and replaced under a lock, so
    // neither loses the other's entry.
    let _lock = lock_dir(dir)?;
    let layout = dir.join("oci-layout");
    if !layout.is_file() {
        write_atomic(&layout, OCI_LAYOUT)?;
    }
    let index_path = dir.join("index.json");
    let mut index = match fs::read(&index_path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|source| ImageError::Json { what: index_path.display().to_string(), source })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Index::oci(Vec::new()),
        Err(e) => return Err(ImageError::io(&index_path, e)),
    };
    add_to_index(&mut index, &encoded.descriptor, names);
    write_atomic(&index_path, &json_bytes("index.json", &index)?)?;
    Ok(Written { manifest: encoded.descriptor, config_digest: encoded.config_digest })
}

/// Write `image` as an OCI layout packed in a tar at `file` (replaced whole if it exists).
pub fn write_oci_archive(file: &Path, image: &NewImage, names: &[String]) -> Result<Written> {
    names.iter().try_for_each(|n| check_ref_name(n))?;
    let encoded = image.encode()?;
    let mut index = Index::oci(Vec::new());
    add_to_index(&mut index, &encoded.descriptor, names);
    let mut archive = ArchiveWriter::create(file)?;
    archive.add_bytes("oci-layout", OCI_LAYOUT)?;
    archive.add_bytes("index.json", &json_bytes("index.json", &index)?)?;
    archive.add_dir("blobs")?;
    archive.add_dir("blobs/sha256")?;
    archive.add_bytes(&encoded.config_digest.blob_path(), &encoded.config)?;
    archive.add_bytes(&encoded.descriptor.digest.blob_path(), &encoded.manifest)?;
    let mut seen = HashSet::new();
    for layer in &image.layers {
        if seen.insert(&layer.descriptor.digest) {
            archive.add_blob(&layer.descriptor.digest.blob_path(), &layer.path, &layer.descriptor)?;
        }
    }
    archive.finish()?;
    Ok(Written { manifest: encoded.descriptor, config_digest: encoded.config_digest })
}

/// Write `image` in `docker save`'s form at `file` (replaced whole if it exists): `manifest.json`
/// naming `<config hex>.json` and one `<diff_id hex>/layer.tar` per layer, as Docker before 25
/// writes it. Layers are stored uncompressed whatever their blob is, because that is the form
/// every reader of this format takes (dive reads only `.tar` layers); each is checked against its
/// diff_id. Repo tags without a tag get `:latest`, which `docker load` requires.
pub fn write_docker_archive(file: &Path, image: &NewImage, repo_tags: &[String]) -> Result<Written> {
    let encoded = image.encode()?;
    let mut archive = ArchiveWriter::create(file)?;
    let config_name = format!("{}.json", encoded.config_digest.hex());
    archive.add_bytes(&config_name, &encoded.config)?;
    let mut layers = Vec::with_capacity(image.layers.len());
    let mut seen = HashSet::new();
    for layer in &image.layers {
        let name = format!("{}/layer.tar", layer.diff_id.hex());
        if seen.insert(&layer.diff_id) {
            archive.add_dir(layer.diff_id.hex())?;
            archive.add_uncompressed(&name, layer)?;
        }
        layers.push(name);
    }
    let repo_tags: Vec<String> = repo_tags.iter().map(|t| with_tag(t)).collect();
    let entry =
        DockerArchiveEntry { config: config_name, repo_tags: Some(repo_tags).filter(|t| !t.is_empty()), layers };
    archive.add_bytes("manifest.json", &json_bytes("manifest.json", &[entry])?)?;
    archive.finish()?;
    Ok(Written { manifest: encoded.descriptor, config_digest: encoded.config_digest })
}

/// `name` → `name:latest` unless it has a tag or a digest already (a `:` after the last `/`).
fn with_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || last.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

/// The OCI layout's grammar for `ref.name`: components of alphanumerics joined by `-._:@+` (or
/// `--`), separated by `/`.
fn check_ref_name(name: &str) -> Result<()> {
    let bad = |reason: &str| Err(ImageError::Reference { reference: name.into(), reason: reason.into() });
    if name.is_empty() {
        return bad("an image name cannot be empty");
    }
    for component in name.split('/') {
        let first = component.chars().next();
        let last = component.chars().last();
        if !first.is_some_and(|c| c.is_ascii_alphanumeric()) || !last.is_some_and(|c| c.is_ascii_alphanumeric()) {
            return bad("each `/`-separated part must start and end with a letter or digit");
        }
        if let Some(c) = component.chars().find(|c| !c.is_ascii_alphanumeric() && !"-._:@+".contains(*c)) {
            return bad(&format!("`{c}` is not allowed in an image name"));
        }
    }
    Ok(())
}

/// Name the manifest in the index: one entry per name, replacing entries of the same name; an
/// unnamed image replaces only an unnamed entry of the same manifest.
fn add_to_index(index: &mut Index, manifest: &Descriptor, names: &[String]) {
    let name_of = |d: &Descriptor| d.annotations.get(ANNOTATION_REF_NAME).cloned();
    if names.is_empty() {
        index.manifests.retain(|d| !(d.digest == manifest.digest && name_of(d).is_none()));
        index.manifests.push(manifest.clone());
        return;
    }
    index.manifests.retain(|d| name_of(d).is_none_or(|n| !names.contains(&n)));
    let mut seen = HashSet::new();
    for name in names.iter().filter(|n| seen.insert(*n)) {
        let mut named = manifest.clone();
        named.annotations.insert(ANNOTATION_REF_NAME.into(), name.clone());
        index.manifests.push(named);
    }
}

/// Place the file `source` in the layout `dir` as the blob `expected` names: a hard link when
/// the file system allows it (no copy of a large layer), a copy otherwise. The content must hash
/// to the digest and have the size; a blob already in place with that size is kept (blobs only
/// ever arrive whole, by rename). Returns the blob's path.
pub fn put_blob_file(dir: &Path, source: &Path, expected: &Descriptor) -> Result<PathBuf> {
    check_sha256(&expected.digest)?;
    let target = dir.join(expected.digest.blob_path());
    if fs::metadata(&target).is_ok_and(|m| m.is_file() && m.len() == expected.size) {
        return Ok(target);
    }
    create_parent(&target)?;
    let temp = TempFile::beside(&target);
    let (digest, size) = if fs::hard_link(source, &temp.path).is_ok() {
        let file = File::open(&temp.path).map_err(|e| ImageError::io(source, e))?;
        let mut tap = Tap::new(file, true);
        io::copy(&mut tap, &mut io::sink()).map_err(|e| ImageError::io(source, e))?;
        (tap.digest(), tap.bytes)
    } else {
        let from = File::open(source).map_err(|e| ImageError::io(source, e))?;
        let mut to = BufWriter::new(File::create(&temp.path).map_err(|e| ImageError::write(&temp.path, e))?);
        let mut tap = Tap::new(from, true);
        io::copy(&mut tap, &mut to).map_err(|e| ImageError::write(&temp.path, e))?;
        to.flush().map_err(|e| ImageError::write(&temp.path, e))?;
        (tap.digest(), tap.bytes)
    };
    check_blob(source, expected, digest, size)?;
    temp.commit(&target).map_err(|e| ImageError::write(&target, e))?;
    Ok(target)
}

/// Store `bytes` (a config, a manifest) as a blob of the layout `dir`; returns its digest.
pub fn put_blob_bytes(dir: &Path, bytes: &[u8]) -> Result<Digest> {
    let digest = Digest::sha256_of(bytes);
    let target = dir.join(digest.blob_path());
    if !fs::metadata(&target).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64) {
        create_parent(&target)?;
        write_atomic(&target, bytes)?;
    }
    Ok(digest)
}

fn check_sha256(digest: &Digest) -> Result<()> {
    if digest.algorithm() == "sha256" {
        Ok(())
    } else {
        Err(ImageError::Layout(format!("cannot write blob {digest}: only sha256 digests are supported")))
    }
}

fn check_blob(source: &Path, expected: &Descriptor, digest: Option<Digest>, size: u64) -> Result<()> {
    let what = || format!("blob {}", source.display());
    if size != expected.size {
        return Err(ImageError::DigestMismatch {
            what: format!("the size of {}", what()),
            expected: expected.size.to_string(),
            actual: size.to_string(),
        });
    }
    match digest {
        Some(actual) if actual == expected.digest => Ok(()),
        actual => Err(ImageError::DigestMismatch {
            what: what(),
            expected: expected.digest.to_string(),
            actual: actual.map_or_else(|| "nothing".into(), |d| d.to_string()),
        }),
    }
}

fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(parent) => fs::create_dir_all(parent).map_err(|e| ImageError::write(parent, e)),
        None => Ok(()),
    }
}

/// Replace `path` with `bytes` in one rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::fsio::write_atomic(path, bytes).map_err(|e| ImageError::write(path, e))
}

/// An exclusive lock on a directory, released when dropped (flock on the directory itself: no
/// lock file is left in the layout).
fn lock_dir(dir: &Path) -> Result<nix::fcntl::Flock<File>> {
    let handle = File::open(dir).map_err(|e| ImageError::io(dir, e))?;
    nix::fcntl::Flock::lock(handle, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, errno)| ImageError::write(dir, io::Error::from(errno)))
}

/// A tar being written to a temporary file and renamed into place by [`ArchiveWriter::finish`]:
/// members are regular files and directories owned by root, dated 0, so the same members give
/// the same archive.
pub struct ArchiveWriter {
    target: PathBuf,
    temp: TempFile,
    builder: tar::Builder<BufWriter<File>>,
}

impl ArchiveWriter {
    pub fn create(target: &Path) -> Result<Self> {
        let temp = TempFile::beside(target);
        let file = File::create(&temp.path).map_err(|e| ImageError::write(&temp.path, e))?;
        let builder = tar::Builder::new(BufWriter::with_capacity(1 << 20, file));
        Ok(ArchiveWriter { target: target.to_path_buf(), temp, builder })
    }

    fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header
    }

    fn fail(&self, e: io::Error) -> ImageError {
        ImageError::write(&self.target, e)
    }

    pub fn add_dir(&mut self, name: &str) -> Result<()> {
        let mut header = Self::header(tar::EntryType::Directory, 0o755, 0);
        let name = format!("{}/", name.trim_end_matches('/'));
        self.builder.append_data(&mut header, name, io::empty()).map_err(|e| self.fail(e))
    }

    pub fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let mut header = Self::header(tar::EntryType::Regular, 0o644, bytes.len() as u64);
        self.builder.append_data(&mut header, name, bytes).map_err(|e| self.fail(e))
    }

    /// `size` bytes of `reader` as the member `name`; returns what was read, hashed, so the
    /// caller can check it.
    fn add_stream(&mut self, name: &str, size: u64, reader: impl Read) -> Result<(Option<Digest>, u64)> {
        let mut header = Self::header(tar::EntryType::Regular, 0o644, size);
        let mut tap = Tap::new(reader.take(size), true);
        self.builder.append_data(&mut header, name, &mut tap).map_err(|e| self.fail(e))?;
        Ok((tap.digest(), tap.bytes))
    }

    /// The file `source` as the member `name`, checked against `expected` (digest and size).
    pub fn add_blob(&mut self, name: &str, source: &Path, expected: &Descriptor) -> Result<()> {
        check_sha256(&expected.digest)?;
        let file = File::open(source).map_err(|e| ImageError::io(source, e))?;
        let (digest, size) = self.add_stream(name, expected.size, file)?;
        // A file shorter than its descriptor says would leave a short member: the archive is
        // abandoned with the error.
        check_blob(source, expected, digest, size)
    }

    /// The layer's uncompressed tar as the member `name`, checked against its diff_id. A
    /// compressed blob is read twice (once for the size the tar header needs) rather than
    /// unpacked to a temporary file.
    fn add_uncompressed(&mut self, name: &str, layer: &LayerFile) -> Result<()> {
        let (reader, compression) = open_uncompressed(&layer.path)?;
        let size = match compression {
            Compression::None => fs::metadata(&layer.path).map_err(|e| ImageError::io(&layer.path, e))?.len(),
            _ => {
                let mut tap = Tap::new(reader, true);
                io::copy(&mut tap, &mut io::sink()).map_err(|e| ImageError::io(&layer.path, e))?;
                check_diff_id(layer, tap.digest())?;
                tap.bytes
            }
        };
        let (reader, _) = open_uncompressed(&layer.path)?;
        let (digest, written) = self.add_stream(name, size, reader)?;
        if written != size {
            return Err(ImageError::Layout(format!(
                "layer {} changed while it was written ({size} bytes, then {written})",
                layer.path.display()
            )));
        }
        check_diff_id(layer, digest)
    }

    pub fn finish(self) -> Result<()> {
        let ArchiveWriter { target, temp, builder } = self;
        let mut out = builder.into_inner().map_err(|e| ImageError::write(&target, e))?;
        out.flush().map_err(|e| ImageError::write(&target, e))?;
        drop(out);
        temp.commit(&target).map_err(|e| ImageError::write(&target, e))
    }
}

fn check_diff_id(layer: &LayerFile, actual: Option<Digest>) -> Result<()> {
    match actual {
        Some(actual) if actual == layer.diff_id => Ok(()),
        actual => Err(ImageError::DigestMismatch {
            what: format!("the uncompressed tar of {}", layer.path.display()),
            expected: layer.diff_id.to_string(),
            actual: actual.map_or_else(|| "nothing".into(), |d| d.to_string()),
        }),
    }
}

/// The blob at `path` decompressed (gzip or zstd, told by its magic number, as the reader does).
fn open_uncompressed(path: &Path) -> Result<(Box<dyn Read>, Compression)> {
    let file = File::open(path).map_err(|e| ImageError::io(path, e))?;
    let mut reader = BufReader::with_capacity(256 << 10, file);
    let head = reader.fill_buf().map_err(|e| ImageError::io(path, e))?;
    let compression = Compression::sniff(&head[..head.len().min(4)]);
    let stream: Box<dyn Read> = match compression {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(super::layer::zstd_decoder(reader).map_err(|e| ImageError::io(path, e))?),
    };
    Ok((stream, compression))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::spec::{RootFs, MEDIA_OCI_LAYER_TAR};
    use crate::image::{Image, OpenOptions};

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("imgopt-write-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// A one-file layer tar written to `dir`, and the image made of it.
    fn image(dir: &Path, content: &[u8]) -> NewImage {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = ArchiveWriter::header(tar::EntryType::Regular, 0o644, content.len() as u64);
        builder.append_data(&mut header, "f", content).unwrap();
        let tar = builder.into_inner().unwrap();
        let path = dir.join(format!("layer-{}", Digest::sha256_of(&tar).hex()));
        fs::write(&path, &tar).unwrap();
        let diff_id = Digest::sha256_of(&tar);
        let layer =
            LayerFile { path, descriptor: Descriptor::of_bytes(MEDIA_OCI_LAYER_TAR, &tar), diff_id: diff_id.clone() };
        let config = ImageConfig {
            architecture: "amd64".into(),
            os: "linux".into(),
            rootfs: RootFs::layers(vec![diff_id]),
            ..Default::default()
        };
        NewImage { config, layers: vec![layer], annotations: BTreeMap::new() }
    }

    fn index_names(dir: &Path) -> Vec<(String, Digest)> {
        let index: Index = serde_json::from_slice(&fs::read(dir.join("index.json")).unwrap()).unwrap();
        index
            .manifests
            .iter()
            .map(|d| (d.annotations.get(ANNOTATION_REF_NAME).cloned().unwrap_or_default(), d.digest.clone()))
            .collect()
    }

    #[test]
    fn a_layout_keeps_other_names_and_replaces_its_own() {
        let tmp = Scratch::new("names");
        let layout = tmp.0.join("oci");
        let (one, two) = (image(&tmp.0, b"one"), image(&tmp.0, b"two"));
        let first = write_oci_layout(&layout, &one, &["a".into(), "b".into()]).unwrap();
        let second = write_oci_layout(&layout, &two, &["b".into()]).unwrap();
        assert_eq!(
            index_names(&layout),
            [("a".to_string(), first.manifest.digest.clone()), ("b".to_string(), second.manifest.digest.clone())]
        );
        // Writing the same image again changes nothing: same bytes, same digests, one entry.
        let again = write_oci_layout(&layout, &two, &["b".into()]).unwrap();
        assert_eq!(again.manifest.digest, second.manifest.digest);
        assert_eq!(index_names(&layout).len(), 2);
        // Nothing temporary is left, and the reader opens each name.
        let leftovers: Vec<_> = fs::read_dir(layout.join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        for (name, written) in [("a", &first), ("b", &second)] {
            let reference = ImageRef::OciDir { dir: layout.clone(), tag: Some(name.into()) };
            let read = Image::open(&reference, &OpenOptions::default()).unwrap();
            assert_eq!(read.config_digest.as_ref(), Some(&written.config_digest));
        }
    }

    #[test]
    fn the_same_image_gives_the_same_bytes() {
        let tmp = Scratch::new("same");
        let one = image(&tmp.0, b"one");
        write_oci_archive(&tmp.0.join("a.tar"), &one, &["x".into()]).unwrap();
        write_oci_archive(&tmp.0.join("b.tar"), &one, &["x".into()]).unwrap();
        assert_eq!(fs::read(tmp.0.join("a.tar")).unwrap(), fs::read(tmp.0.join("b.tar")).unwrap());
        write_docker_archive(&tmp.0.join("c.tar"), &one, &["x".into()]).unwrap();
        write_docker_archive(&tmp.0.join("d.tar"), &one, &["x".into()]).unwrap();
        assert_eq!(fs::read(tmp.0.join("c.tar")).unwrap(), fs::read(tmp.0.join("d.tar")).unwrap());
    }

    #[test]
    fn a_blob_that_does_not_hash_to_its_digest_is_refused() {
        let tmp = Scratch::new("mismatch");
        let mut one = image(&tmp.0, b"one");
        let other = image(&tmp.0, b"two");
        one.layers[0].path = other.layers[0].path.clone(); // same size, other content
        let layout = tmp.0.join("oci");
        let e = write_oci_layout(&layout, &one, &[]).unwrap_err().to_string();
        assert!(e.contains("digest mismatch") && e.contains(&one.layers[0].descriptor.digest.to_string()), "{e}");
        assert!(!layout.join(one.layers[0].descriptor.digest.blob_path()).exists());
        let e = write_oci_archive(&tmp.0.join("a.tar"), &one, &[]).unwrap_err().to_string();
        assert!(e.contains("digest mismatch"), "{e}");
        assert!(!tmp.0.join("a.tar").exists(), "no half-written archive");
        let e = write_docker_archive(&tmp.0.join("d.tar"), &one, &[]).unwrap_err().to_string();
        assert!(e.contains("digest mismatch") && e.contains("uncompressed"), "{e}");
        let names: Vec<_> = fs::read_dir(&tmp.0).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert!(names.iter().all(|n| !n.to_string_lossy().contains(".tmp-")), "{names:?}");
    }

    #[test]
    fn docker_archives_hold_uncompressed_layers_and_tagged_names() {
        let tmp = Scratch::new("docker");
        let mut one = image(&tmp.0, b"one");
        let tar = fs::read(&one.layers[0].path).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        let gz_path = tmp.0.join("layer.gz");
        fs::write(&gz_path, &gz).unwrap();
        one.layers[0].path = gz_path;
        one.layers[0].descriptor = Descriptor::of_bytes(crate::image::spec::MEDIA_OCI_LAYER_GZIP, &gz);
        let file = tmp.0.join("d.tar");
        write_docker_archive(&file, &one, &["app".into(), "registry:5000/app:1".into()]).unwrap();
        let reference = ImageRef::DockerArchive { file, name: Some("app:latest".into()) };
        let read = Image::open(&reference, &OpenOptions::default()).unwrap();
        let layer = read.read_layer(0, true).unwrap();
        assert_eq!(layer.compression, Compression::None);
        assert_eq!(layer.tar_bytes, tar.len() as u64);
    }

    #[test]
    fn config_and_layers_must_agree() {
        let tmp = Scratch::new("agree");
        let mut one = image(&tmp.0, b"one");
        one.config.rootfs.diff_ids.clear();
        let e = write_oci_layout(&tmp.0.join("oci"), &one, &[]).unwrap_err().to_string();
        assert!(e.contains("0 diff_ids") && e.contains("1 layers"), "{e}");
        let e = write_oci_layout(&tmp.0.join("oci"), &image(&tmp.0, b"x"), &["../up".into()]).unwrap_err().to_string();
        assert!(e.contains("../up"), "{e}");
        assert!(!tmp.0.join("oci").exists(), "nothing is written for a refused image");
    }
}
