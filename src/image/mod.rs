//! The image model: what an image is made of (manifest, config, layers) and how to read one from
//! an OCI layout, an OCI archive or a `docker save` archive, and how to write one in each of those
//! forms ([`write`]).

pub mod credentials;
pub mod error;
pub mod layer;
pub mod name;
pub mod reference;
pub mod registry;
pub mod spec;
mod store;
pub mod write;

use serde::de::DeserializeOwned;

pub use error::{DigestError, ImageError, PlatformError, Result};
pub use layer::{Change, Compression, EntryKind, Keep, LayerContents, LayerEntry};
pub use reference::ImageRef;
pub use spec::{ContainerConfig, Digest, ImageConfig, Index, Manifest, Platform};
use store::Store;

/// How a layer is found and what the image claims about it.
#[derive(Clone, Debug)]
pub struct LayerBlob {
    /// Position in the image, bottom layer 0.
    pub index: usize,
    /// The blob's name inside the layout or archive.
    pub location: String,
    /// The blob digest, when the format records one (not for legacy `docker save` layers).
    pub digest: Option<Digest>,
    /// sha256 of the uncompressed tar, from the config's rootfs.
    pub diff_id: Digest,
    /// Stored size of the blob.
    pub size: u64,
    pub media_type: Option<String>,
}

#[derive(Debug)]
pub struct Image {
    pub reference: ImageRef,
    pub config: ImageConfig,
    /// The config's digest when the format names it (manifest descriptor or `<hex>.json`).
    pub config_digest: Option<Digest>,
    /// The bytes the config digest was computed over, to check them with `--verify`.
    config_bytes: Vec<u8>,
    pub manifest: Option<Manifest>,
    pub layers: Vec<LayerBlob>,
    /// The names the source gives the image: a `docker save` archive's RepoTags, an OCI
    /// layout's `io.containerd.image.name` or `org.opencontainers.image.ref.name`.
    pub names: Vec<String>,
    store: Store,
}

#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Which image of a multi-platform index; the host's when unset.
    pub platform: Option<Platform>,
}

impl Image {
    pub fn open(reference: &ImageRef, options: &OpenOptions) -> Result<Image> {
        match reference {
            ImageRef::OciDir { dir, tag } => open_oci(reference.clone(), Store::dir(dir)?, tag.as_deref(), options),
            ImageRef::OciArchive { file, tag } => {
                let store = Store::archive(file)?;
                if !store.contains("oci-layout") && store.contains("manifest.json") {
                    // A `docker save` archive named `oci-archive:`: read it as what it is.
                    return open_docker_archive(reference.clone(), store, tag.as_deref());
                }
                open_oci(reference.clone(), store, tag.as_deref(), options)
            }
            ImageRef::Registry(name) => {
                let cache = registry::cache_dir()?;
                let wanted = options.platform.clone().unwrap_or_else(Platform::host);
                let digest = registry::pull(name, &wanted, &cache)?;
                from_manifest(reference.clone(), Store::dir(&cache)?, &digest)
            }
            ImageRef::DockerArchive { file, name } => {
                let store = Store::archive(file)?;
                if store.contains("manifest.json") {
                    open_docker_archive(reference.clone(), store, name.as_deref())
                } else if !store.contains("oci-layout") {
                    Err(ImageError::Layout(format!(
                        "{reference} is not a `docker save` archive: it has no `manifest.json` (nor an `oci-layout`)"
                    )))
                } else {
                    // Some tools write only the OCI half; read it as an OCI layout.
                    open_oci(reference.clone(), store, name.as_deref(), options)
                }
            }
        }
    }

    /// Stream one layer: decompress, walk its tar, and with `verify` hash the blob and the tar.
    pub fn read_layer(&self, index: usize, verify: bool) -> Result<LayerContents> {
        self.read_layer_keeping(index, verify, None)
    }

    /// [`Image::read_layer`], keeping the content of the files `keep` asks for.
    pub fn read_layer_keeping(&self, index: usize, verify: bool, keep: Option<Keep<'_>>) -> Result<LayerContents> {
        let blob = self.layers.get(index).ok_or_else(|| ImageError::Layout(format!("no layer {index}")))?;
        let (reader, size) = self.store.open(&blob.location)?;
        let origin = layer::LayerOrigin { index, location: &blob.location };
        let checks = layer::Verify { blob: verify && blob.digest.is_some(), diff_id: verify };
        let contents = layer::read_layer_keeping(reader, &origin, checks, size, keep)?;
        if verify {
            check_layer_digests(blob, &contents)?;
        }
        Ok(contents)
    }

    /// xxh3 of byte ranges (offset, length) of an uncompressed layer.
    pub fn hash_layer_ranges(&self, index: usize, ranges: &[(u64, u64)]) -> Result<Vec<u64>> {
        let blob = self.layers.get(index).ok_or_else(|| ImageError::Layout(format!("no layer {index}")))?;
        let (reader, _) = self.store.open(&blob.location)?;
        layer::hash_ranges(reader, ranges).map_err(|e| ImageError::Layer {
            layer: index,
            location: blob.location.clone(),
            message: format!("cannot read file contents: {e}"),
        })
    }

    /// The stored blob of one layer, as it is (compressed or not), and its size.
    pub fn open_blob(&self, index: usize) -> Result<(impl std::io::Read, u64)> {
        let blob = self.layers.get(index).ok_or_else(|| ImageError::Layout(format!("no layer {index}")))?;
        self.store.open(&blob.location)
    }

    /// The config exactly as stored (the bytes its digest, the image ID, is computed over).
    pub fn config_bytes(&self) -> &[u8] {
        &self.config_bytes
    }

    /// With `--verify`: the config must hash to its digest. Layers are checked as they are read.
    pub fn verify_config(&self) -> Result<()> {
        if let Some(expected) = &self.config_digest {
            check_digest("the image config", expected, &self.config_bytes)?;
        }
        Ok(())
    }
}

fn check_layer_digests(blob: &LayerBlob, contents: &LayerContents) -> Result<()> {
    let what = |kind: &str| format!("layer {} ({}) {kind}", blob.index, blob.location);
    if let (Some(expected), Some(actual)) = (&blob.digest, &contents.blob_digest) {
        if expected.algorithm() == "sha256" && expected != actual {
            return Err(ImageError::DigestMismatch {
                what: what("blob"),
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
    }
    if let Some(actual) = &contents.diff_id {
        if &blob.diff_id != actual {
            return Err(ImageError::DigestMismatch {
                what: what("diff_id"),
                expected: blob.diff_id.to_string(),
                actual: actual.to_string(),
            });
        }
    }
    Ok(())
}

fn check_digest(what: &str, expected: &Digest, bytes: &[u8]) -> Result<()> {
    if expected.algorithm() != "sha256" {
        return Err(ImageError::Layout(format!("{what}: cannot verify digest {expected}: only sha256 is supported")));
    }
    let actual = Digest::sha256_of(bytes);
    if &actual != expected {
        return Err(ImageError::DigestMismatch {
            what: what.into(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}

/// A JSON document of the image (index, manifest, config) may hold at most this many values
/// (array elements and object members, counted together), and nest at most [`MAX_JSON_DEPTH`]
/// deep. The byte cap alone is not enough: 64 MiB of `{},` is 22 million history entries,
/// gigabytes once parsed. Real images have a few hundred values; a store's index.json with
/// tens of thousands of images fits too.
pub const MAX_JSON_VALUES: usize = 250_000;
pub const MAX_JSON_DEPTH: usize = 64;
/// More layers than any runtime stacks (overlayfs takes 500 lower directories at most).
pub const MAX_LAYERS: usize = 1_000;

/// Refuse a document over [`MAX_JSON_VALUES`] or [`MAX_JSON_DEPTH`], in one pass over its bytes
/// and before anything is allocated for it.
pub fn check_json_shape(what: &str, bytes: &[u8]) -> Result<()> {
    let (mut depth, mut values, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                values += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(ImageError::Layout(format!("{what} nests more than {MAX_JSON_DEPTH} deep")));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            b',' => values += 1,
            _ => {}
        }
        if values > MAX_JSON_VALUES {
            return Err(ImageError::Layout(format!("{what} holds more than {MAX_JSON_VALUES} values")));
        }
    }
    Ok(())
}

fn parse_json<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T> {
    check_json_shape(what, bytes)?;
    serde_json::from_slice(bytes).map_err(|source| ImageError::Json { what: what.into(), source })
}

/// Manifests and indexes are small and name everything else by digest, so they are always
/// checked against their digest — cheap, and it stops a swapped manifest early.
fn read_verified_json<T: DeserializeOwned>(store: &Store, what: &str, digest: &Digest) -> Result<T> {
    let bytes = store.read_json(&digest.blob_path())?;
    check_digest(what, digest, &bytes)?;
    parse_json(what, &bytes)
}

fn open_oci(reference: ImageRef, store: Store, tag: Option<&str>, options: &OpenOptions) -> Result<Image> {
    if !store.contains("oci-layout") {
        return Err(ImageError::Layout(format!(
            "{reference} is not an image: it has no `oci-layout` file (an OCI layout) nor a `manifest.json` (a `docker save` archive)"
        )));
    }
    let index: Index = parse_json("index.json", &store.read_json("index.json")?)?;
    let wanted = options.platform.clone().unwrap_or_else(Platform::host);
    let top: Vec<&spec::Descriptor> = match tag {
        Some(tag) => {
            let named: Vec<_> = index
                .manifests
                .iter()
                .filter(|d| {
                    d.annotations
                        .get(spec::ANNOTATION_REF_NAME)
                        .is_some_and(|n| n == tag || n.rsplit(':').next() == Some(tag))
                })
                .collect();
            if named.is_empty() {
                return Err(ImageError::Layout(format!("{reference}: no manifest is named `{tag}` in index.json")));
            }
            named
        }
        None => index.manifests.iter().collect(),
    };
    let descriptor = resolve_manifest(&store, &top, &wanted, 0)?;
    let mut names: Vec<String> = Vec::new();
    for d in &top {
        let name =
            d.annotations.get(ANNOTATION_CONTAINERD_NAME).or_else(|| d.annotations.get(spec::ANNOTATION_REF_NAME));
        if let Some(name) = name.filter(|n| !names.contains(n)) {
            names.push(name.clone());
        }
    }
    let mut image = from_manifest(reference, store, &descriptor.digest)?;
    image.names = names;
    Ok(image)
}

/// The full name containerd, Docker 25+ and BuildKit's OCI exporter give an image in index.json.
const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";

/// The image whose manifest is the blob `digest` of `store`.
fn from_manifest(reference: ImageRef, store: Store, digest: &Digest) -> Result<Image> {
    let manifest: Manifest = read_verified_json(&store, &format!("manifest {digest}"), digest)?;
    check_layer_count(&format!("manifest {digest}"), manifest.layers.len())?;
    let config_bytes = store.read_json(&manifest.config.digest.blob_path())?;
    let config: ImageConfig = parse_json(&format!("image config {}", manifest.config.digest), &config_bytes)?;
    if manifest.layers.len() != config.rootfs.diff_ids.len() {
        return Err(ImageError::Layout(format!(
            "manifest {} lists {} layers but its config has {} diff_ids",
            digest,
            manifest.layers.len(),
            config.rootfs.diff_ids.len()
        )));
    }
    let layers = manifest
        .layers
        .iter()
        .zip(&config.rootfs.diff_ids)
        .enumerate()
        .map(|(index, (d, diff_id))| LayerBlob {
            index,
            location: d.digest.blob_path(),
            digest: Some(d.digest.clone()),
            diff_id: diff_id.clone(),
            size: d.size,
            media_type: Some(d.media_type.clone()),
        })
        .collect();
    Ok(Image {
        reference,
        config,
        config_digest: Some(manifest.config.digest.clone()),
        config_bytes,
        manifest: Some(manifest),
        layers,
        names: Vec::new(),
        store,
    })
}

/// The descriptor for `wanted` among an index's entries, attestations left out. An entry without
/// platform information (a single-image layout, a nested index) fits any platform.
pub(crate) fn choose_manifest<'a>(
    candidates: &[&'a spec::Descriptor],
    wanted: &Platform,
) -> Result<&'a spec::Descriptor> {
    let usable: Vec<&spec::Descriptor> = candidates.iter().copied().filter(|d| !d.is_attestation()).collect();
    let fits = |d: &&spec::Descriptor| d.platform.as_ref().is_none_or(|p| p.matches(wanted));
    let matching: Vec<&spec::Descriptor> = usable.iter().copied().filter(fits).collect();
    match matching.as_slice() {
        [] => {
            let offered: Vec<String> =
                usable.iter().filter_map(|d| d.platform.as_ref().map(|p| p.to_string())).collect();
            Err(ImageError::Layout(format!("no image for platform {wanted}; the index offers: {}", offered.join(", "))))
        }
        [first, ..] => Ok(first),
    }
}

/// Pick one image manifest among descriptors, descending into nested indexes.
fn resolve_manifest(
    store: &Store,
    candidates: &[&spec::Descriptor],
    wanted: &Platform,
    depth: usize,
) -> Result<spec::Descriptor> {
    if depth > 8 {
        return Err(ImageError::Layout("image indexes nest more than 8 deep".into()));
    }
    let chosen = choose_manifest(candidates, wanted)?;
    if chosen.is_index() {
        let nested: Index = read_verified_json(store, &format!("index {}", chosen.digest), &chosen.digest)?;
        let inner: Vec<&spec::Descriptor> = nested.manifests.iter().collect();
        return resolve_manifest(store, &inner, wanted, depth + 1);
    }
    Ok(chosen.clone())
}

fn open_docker_archive(reference: ImageRef, store: Store, name: Option<&str>) -> Result<Image> {
    let entries: Vec<spec::DockerArchiveEntry> = parse_json("manifest.json", &store.read_json("manifest.json")?)?;
    let entry = match name {
        Some(name) => entries
            .iter()
            .find(|e| e.repo_tags.iter().flatten().any(|t| t == name || t.strip_suffix(":latest") == Some(name)))
            .ok_or_else(|| ImageError::Layout(format!("{reference}: no image tagged `{name}` in manifest.json")))?,
        None => match entries.as_slice() {
            [one] => one,
            [] => return Err(ImageError::Layout(format!("{reference}: manifest.json lists no image"))),
            many => {
                let tags: Vec<&str> =
                    many.iter().flat_map(|e| e.repo_tags.iter().flatten().map(String::as_str)).collect();
                return Err(ImageError::Layout(format!(
                    "{reference} holds {} images; name one: {}",
                    many.len(),
                    tags.join(", ")
                )));
            }
        },
    };
    let config_bytes = store.read_json(&entry.config)?;
    let config: ImageConfig = parse_json(&format!("image config {}", entry.config), &config_bytes)?;
    if entry.layers.len() != config.rootfs.diff_ids.len() {
        return Err(ImageError::Layout(format!(
            "manifest.json lists {} layers but the config {} has {} diff_ids",
            entry.layers.len(),
            entry.config,
            config.rootfs.diff_ids.len()
        )));
    }
    check_layer_count("manifest.json", entry.layers.len())?;
    let config_digest = digest_from_name(&entry.config);
    let mut layers = Vec::with_capacity(entry.layers.len());
    for (index, (location, diff_id)) in entry.layers.iter().zip(&config.rootfs.diff_ids).enumerate() {
        let (_, size) = store.open(location)?;
        layers.push(LayerBlob {
            index,
            location: location.clone(),
            // Docker 25+ stores layers as blobs/sha256/<hex>; legacy `<id>/layer.tar` names carry no digest.
            digest: digest_from_name(location),
            diff_id: diff_id.clone(),
            size,
            media_type: None,
        });
    }
    let names = entry.repo_tags.clone().unwrap_or_default();
    Ok(Image { reference, config, config_digest, config_bytes, manifest: None, layers, names, store })
}

fn check_layer_count(what: &str, layers: usize) -> Result<()> {
    if layers > MAX_LAYERS {
        return Err(ImageError::Layout(format!("{what} lists {layers} layers, more than the limit of {MAX_LAYERS}")));
    }
    Ok(())
}

/// `blobs/sha256/<hex>` or `<hex>.json` names their content's digest.
fn digest_from_name(name: &str) -> Option<Digest> {
    if let Some(rest) = name.strip_prefix("blobs/") {
        let (algorithm, hex) = rest.split_once('/')?;
        return Digest::parse(&format!("{algorithm}:{hex}")).ok();
    }
    let hex = name.strip_suffix(".json")?;
    Digest::parse(&format!("sha256:{hex}")).ok()
}
