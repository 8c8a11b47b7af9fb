//! The image model: what an image is made of (manifest, config, layers) and how to read one from
//! an OCI layout, an OCI archive or a `docker save` archive, and how to write one in each of those
//! forms ([`write`]).

pub mod error;
pub mod layer;
pub mod name;
pub mod reference;
pub mod registry;
pub mod spec;
mod store;
pub mod write;

use serde::de::DeserializeOwned;

pub use error::{ImageError, Result};
pub use layer::{Change, Compression, EntryKind, LayerContents, LayerEntry};
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
                open_oci(reference.clone(), Store::archive(file)?, tag.as_deref(), options)
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
                } else {
                    // Some tools write only the OCI half; read it as an OCI layout.
                    open_oci(reference.clone(), store, name.as_deref(), options)
                }
            }
        }
    }

    /// Stream one layer: decompress, walk its tar, and with `verify` hash the blob and the tar.
    pub fn read_layer(&self, index: usize, verify: bool) -> Result<LayerContents> {
        let blob = self.layers.get(index).ok_or_else(|| ImageError::Layout(format!("no layer {index}")))?;
        let (reader, size) = self.store.open(&blob.location)?;
        let origin = layer::LayerOrigin { index, location: &blob.location };
        let checks = layer::Verify { blob: verify && blob.digest.is_some(), diff_id: verify };
        let contents = layer::read_layer(reader, &origin, checks, size)?;
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

fn parse_json<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T> {
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
        return Err(ImageError::Layout(format!("{reference} is not an OCI image layout (no `oci-layout` file)")));
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
    from_manifest(reference, store, &descriptor.digest)
}

/// The image whose manifest is the blob `digest` of `store`.
fn from_manifest(reference: ImageRef, store: Store, digest: &Digest) -> Result<Image> {
    let manifest: Manifest = read_verified_json(&store, &format!("manifest {digest}"), digest)?;
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
    Ok(Image { reference, config, config_digest, config_bytes, manifest: None, layers, store })
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
