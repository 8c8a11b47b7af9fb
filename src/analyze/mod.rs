//! `imgopt analyze`: account for every byte of an image.
//!
//! Layers are streamed once each, in parallel ([`crate::image::Image::read_layer`]), then stacked
//! bottom-up into a [`index::PathIndex`] that knows, for every shipped file, the layer that added
//! it and the layer that hid it. The [`Report`] is what all output formats render; its JSON form is
//! documented in `docs/analyze-json.md`.
//!
//! Definitions (imgopt's exact figures):
//! - *content bytes* of a layer: the sizes of the regular files it ships, each inode once;
//! - *invisible bytes*: content bytes of files that are not in the final filesystem because a
//!   later layer deleted (whiteout, directory whiteout, opaque directory) or overwrote them;
//! - *reclaimable bytes*: the sum of invisible bytes — what the image would shrink by (before
//!   compression) if no layer shipped what a later one hides; split by the layer that ships
//!   them into *your layers'* (an edit of the Dockerfile recovers them) and the *base image's*
//!   (no edit of the user's lines does);
//! - *efficiency*: final filesystem bytes / content bytes of all layers;
//! - *wasted ratio*: reclaimable bytes / content bytes of all layers;
//! - *base layers*: the first `--base-layers N` layers; without the option, the layers before the
//!   last `CMD`/`ENTRYPOINT` history entry that more layers follow (a Dockerfile ends with one, so
//!   it marks the end of the base image), else the first layer as dive counts. *User bytes* are the
//!   rest's.

pub mod caches;
pub mod compare;
pub mod dive;
pub mod dockerfile_map;
pub mod gates;
pub mod index;
pub mod packages;
pub mod render;

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;
use serde::Serialize;

use crate::image::{
    Change, Compression, EntryKind, Image, ImageConfig, ImageError, ImageRef, LayerContents, OpenOptions, Platform,
};
use caches::CacheReport;
use dive::DiveFigures;
use dockerfile_map::{DockerfileMap, DockerfileSteps, LayerLine};
use index::{PathIndex, Removal};

#[derive(Clone, Debug)]
pub struct AnalyzeOptions {
    pub platform: Option<Platform>,
    /// Check every blob digest and diff_id while streaming.
    pub verify: bool,
    /// How many bottom layers belong to the base image; guessed from the history when unset.
    pub base_layers: Option<usize>,
    /// Length of the top lists.
    pub top: usize,
    /// Map each layer to the Dockerfile line that made it.
    pub dockerfile: Option<DockerfileSteps>,
    /// The map imgopt's builder recorded (wins over `dockerfile`).
    pub built: Option<DockerfileMap>,
    /// Read the package databases and charge each package with its bytes ([`packages`]).
    pub packages: bool,
    /// The layers' blobs as the image leaves imgopt's store, which keeps the layers it builds
    /// as plain tars and compresses them on the way out: reported (digest, compression,
    /// compressed bytes) instead of the blobs read. One per layer, else ignored.
    pub shipped: Option<Vec<ShippedBlob>>,
}

/// A layer's blob as it would be pushed or exported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShippedBlob {
    pub digest: crate::image::spec::Digest,
    pub compression: Compression,
    pub size: u64,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            platform: None,
            verify: false,
            base_layers: None,
            top: 10,
            dockerfile: None,
            built: None,
            packages: true,
            shipped: None,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub image: String,
    /// The base image's name, when the image says it (`org.opencontainers.image.base.name`, a
    /// manifest annotation or a config label); null otherwise.
    pub base_image: Option<String>,
    pub verified: bool,
    pub layers: Vec<LayerReport>,
    pub totals: Totals,
    pub largest_files: Vec<FileReport>,
    pub invisible_files: Vec<InvisibleFile>,
    pub caches: Vec<CacheReport>,
    pub dive: DiveFigures,
    /// With `-f Dockerfile`: every instruction of the built stages and the layers it made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<DockerfileMap>,
    /// Installed packages, largest first (empty when package databases were not read).
    pub packages: Vec<packages::Package>,
    /// The package databases found, and what could not be read of them.
    pub package_databases: Vec<packages::Database>,
    /// Final-filesystem bytes no package lists, per top-level directory, largest first.
    pub unowned: Vec<packages::Unowned>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LayerReport {
    pub index: usize,
    /// `history.created_by` of the instruction that made the layer, if the image records it.
    pub instruction: Option<String>,
    pub base: bool,
    pub digest: Option<String>,
    pub diff_id: String,
    pub compression: &'static str,
    /// The blob as stored: compressed, or the tar itself when `compression` is `none`.
    pub compressed_bytes: u64,
    /// The uncompressed tar stream.
    pub uncompressed_bytes: u64,
    pub content_bytes: u64,
    pub files_added: u64,
    pub files_changed: u64,
    /// Of the changed files, those with the same content: a chmod/chown copy.
    pub files_metadata_only: u64,
    pub files_removed: u64,
    /// Content bytes of this layer not visible in the final filesystem.
    pub invisible_bytes: u64,
    pub invisible_files: u64,
    /// Who hid this layer's bytes.
    pub hidden_by: Vec<HiddenBy>,
    /// With `-f Dockerfile`: the line that made the layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<LayerLine>,
}

#[derive(Clone, Debug, Serialize)]
pub struct HiddenBy {
    pub layer: usize,
    pub bytes: u64,
    pub files: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Totals {
    pub layers: usize,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    pub content_bytes: u64,
    pub base_layers: usize,
    pub base_bytes: u64,
    pub user_bytes: u64,
    pub final_fs_bytes: u64,
    pub final_files: u64,
    pub reclaimable_bytes: u64,
    /// Of `reclaimable_bytes`, those the user's layers ship: an edit of the Dockerfile's own
    /// lines recovers them.
    pub reclaimable_user_bytes: u64,
    /// Those the base image's layers ship (a later layer hides them): no edit of the user's
    /// lines recovers them; only another base image does.
    pub reclaimable_base_bytes: u64,
    pub efficiency: f64,
    pub wasted_ratio: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    pub path: String,
    pub layer: usize,
    pub bytes: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct InvisibleFile {
    pub path: String,
    pub layer: usize,
    pub bytes: u64,
    pub hidden_by: usize,
    pub how: Removal,
}

/// Open the image named by `reference` and analyze it.
pub fn analyze_reference(reference: &str, options: &AnalyzeOptions) -> Result<Report, ImageError> {
    let reference = ImageRef::parse(reference)?;
    let image = Image::open(&reference, &OpenOptions { platform: options.platform.clone() })?;
    analyze(&image, options)
}

pub fn analyze(image: &Image, options: &AnalyzeOptions) -> Result<Report, ImageError> {
    if options.verify {
        image.verify_config()?;
    }
    let budget = packages::budget();
    let keep = options.packages.then(|| packages::keep(&budget));
    let mut layers: Vec<LayerContents> = (0..image.layers.len())
        .into_par_iter()
        .map(|i| image.read_layer_keeping(i, options.verify, keep))
        .collect::<Result<_, _>>()?;
    fill_content_hashes(image, &mut layers)?;
    let locations: Vec<String> = image.layers.iter().map(|l| l.location.clone()).collect();
    // dive's figures need only the layers: compute them beside the path index.
    let (index, dive) = rayon::join(|| PathIndex::build(&layers, &locations), || dive::dive_figures(&layers));
    let index = index?;
    let packages = if options.packages { packages::attribute(&layers, &index) } else { Default::default() };
    Ok(report(image, &layers, &index, dive, packages, options))
}

/// Uncompressed layers are read without their contents when nothing is verified. To tell a
/// chmod-only copy from a rewrite, the analyzer still needs the content of every file that another
/// layer writes again with the same size: those few are hashed here, by seeking into the blobs.
fn fill_content_hashes(image: &Image, layers: &mut [LayerContents]) -> Result<(), ImageError> {
    let mut sizes_by_path: HashMap<&str, Vec<(usize, usize, u64)>> = HashMap::new();
    for (layer, contents) in layers.iter().enumerate() {
        for (at, change) in contents.changes.iter().enumerate() {
            if let Change::Put(e) = change {
                if e.kind == EntryKind::File {
                    sizes_by_path.entry(e.path.as_str()).or_default().push((layer, at, e.size));
                }
            }
        }
    }
    let mut wanted: Vec<Vec<usize>> = vec![Vec::new(); layers.len()];
    for versions in sizes_by_path.values().filter(|v| v.len() > 1) {
        for (i, &(layer, at, size)) in versions.iter().enumerate() {
            let same_size_elsewhere = versions.iter().enumerate().any(|(j, v)| j != i && v.2 == size);
            // Offsets are into the uncompressed tar: only a plain layer can be hashed by range.
            // (In a compressed layer only a sparse file is left unhashed, and stays so.)
            let unknown = layers[layer].compression == Compression::None
                && matches!(&layers[layer].changes[at], Change::Put(e) if e.content_hash.is_none());
            if same_size_elsewhere && unknown {
                wanted[layer].push(at);
            }
        }
    }
    let hashed: Vec<(usize, Vec<usize>, Vec<u64>)> = wanted
        .into_par_iter()
        .enumerate()
        .filter(|(_, at)| !at.is_empty())
        .map(|(layer, at)| {
            let ranges: Vec<(u64, u64)> = at
                .iter()
                .filter_map(|&i| match &layers[layer].changes[i] {
                    Change::Put(e) => Some((e.data_offset, e.size)),
                    _ => None,
                })
                .collect();
            image.hash_layer_ranges(layer, &ranges).map(|h| (layer, at, h))
        })
        .collect::<Result<_, _>>()?;
    for (layer, at, hashes) in hashed {
        for (i, hash) in at.into_iter().zip(hashes) {
            if let Change::Put(e) = &mut layers[layer].changes[i] {
                e.content_hash = Some(hash);
            }
        }
    }
    Ok(())
}

/// Where the base image ends. Images do not record it, but a Dockerfile almost always ends with
/// `CMD` or `ENTRYPOINT`, so such a history entry with more layers after it marks the end of the
/// base image's history. Without one, the first layer is the base, as dive counts.
pub fn base_layer_count(config: &ImageConfig) -> usize {
    let (mut layers, mut candidate, mut confirmed) = (0, None, None);
    for entry in &config.history {
        if !entry.empty_layer {
            confirmed = candidate.take().or(confirmed);
            layers += 1;
            continue;
        }
        let text = entry.created_by.as_deref().unwrap_or("");
        let text = text.strip_prefix("/bin/sh -c #(nop)").unwrap_or(text).trim_start();
        if text.starts_with("CMD") || text.starts_with("ENTRYPOINT") {
            candidate = Some(layers);
        }
    }
    confirmed.unwrap_or(1)
}

/// The base image's name as the image records it: the OCI annotation
/// `org.opencontainers.image.base.name` on the manifest, else the same key as a config label.
pub fn base_image_name(image: &Image) -> Option<String> {
    const KEY: &str = crate::image::spec::ANNOTATION_BASE_NAME;
    let annotation = image.manifest.as_ref().and_then(|m| m.annotations.get(KEY));
    let label = image.config.config.as_ref().and_then(|c| c.labels.as_ref()).and_then(|l| l.get(KEY));
    annotation.or(label).filter(|n| !n.trim().is_empty()).cloned()
}

fn report(
    image: &Image,
    layers: &[LayerContents],
    index: &PathIndex,
    dive: DiveFigures,
    packages: packages::PackageReport,
    options: &AnalyzeOptions,
) -> Report {
    let history = image.config.layer_history();
    let n = layers.len();
    let mapping = options.built.clone().or_else(|| options.dockerfile.as_ref().map(|d| d.map(&image.config)));
    // The Dockerfile knows where the base image ends better than the history's CMD does.
    let base_layers = options
        .base_layers
        .or_else(|| mapping.as_ref().and_then(|m| m.base_layers))
        .unwrap_or_else(|| base_layer_count(&image.config))
        .min(n);
    let shipped = options.shipped.as_deref().filter(|s| s.len() == n);
    let blob_of = |i: usize, l: &LayerContents| match shipped {
        Some(s) => (Some(s[i].digest.to_string()), s[i].compression, s[i].size),
        None => (image.layers[i].digest.as_ref().map(ToString::to_string), l.compression, l.blob_bytes),
    };
    let mut content = vec![0u64; n];
    let mut invisible = vec![(0u64, 0u64); n];
    let mut hidden_by: Vec<BTreeMap<usize, (u64, u64)>> = vec![BTreeMap::new(); n];
    let mut final_fs_bytes = 0;
    for inode in &index.inodes {
        content[inode.layer] += inode.size;
        match inode.removed {
            Some((by, _)) => {
                invisible[inode.layer].0 += inode.size;
                invisible[inode.layer].1 += 1;
                let slot = hidden_by[inode.layer].entry(by).or_default();
                slot.0 += inode.size;
                slot.1 += 1;
            }
            None => final_fs_bytes += inode.size,
        }
    }
    let layer_reports: Vec<LayerReport> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let counts = &index.counts[i];
            let (digest, compression, compressed_bytes) = blob_of(i, l);
            LayerReport {
                index: i,
                instruction: history.get(i).copied().flatten().and_then(|h| h.created_by.clone()),
                base: i < base_layers,
                digest,
                diff_id: image.layers[i].diff_id.to_string(),
                compression: match compression {
                    Compression::None => "none",
                    Compression::Gzip => "gzip",
                    Compression::Zstd => "zstd",
                },
                compressed_bytes,
                uncompressed_bytes: l.tar_bytes,
                content_bytes: content[i],
                files_added: counts.files_added,
                files_changed: counts.files_changed,
                files_metadata_only: counts.files_metadata_only,
                files_removed: counts.files_removed,
                invisible_bytes: invisible[i].0,
                invisible_files: invisible[i].1,
                hidden_by: hidden_by[i]
                    .iter()
                    .map(|(&layer, &(bytes, files))| HiddenBy { layer, bytes, files })
                    .collect(),
                dockerfile: mapping.as_ref().and_then(|m| m.layers.get(i).cloned()),
            }
        })
        .collect();
    let content_bytes: u64 = content.iter().sum();
    let base_bytes: u64 = content.iter().take(base_layers).sum();
    let reclaimable_bytes: u64 = invisible.iter().map(|(b, _)| b).sum();
    let reclaimable_base_bytes: u64 = invisible.iter().take(base_layers).map(|(b, _)| b).sum();
    let ratio = |num: u64| if content_bytes == 0 { 0.0 } else { num as f64 / content_bytes as f64 };
    let totals = Totals {
        layers: n,
        compressed_bytes: layer_reports.iter().map(|l| l.compressed_bytes).sum(),
        uncompressed_bytes: layers.iter().map(|l| l.tar_bytes).sum(),
        content_bytes,
        base_layers,
        base_bytes,
        user_bytes: content_bytes - base_bytes,
        final_fs_bytes,
        final_files: index.final_files().filter(|f| !f.is_dir).count() as u64,
        reclaimable_bytes,
        reclaimable_user_bytes: reclaimable_bytes - reclaimable_base_bytes,
        reclaimable_base_bytes,
        efficiency: if content_bytes == 0 { 1.0 } else { ratio(final_fs_bytes) },
        wasted_ratio: ratio(reclaimable_bytes),
    };
    let mut largest: Vec<FileReport> = index
        .inodes
        .iter()
        .filter(|i| i.removed.is_none() && i.size > 0)
        .map(|i| FileReport { path: i.paths.first().cloned().unwrap_or_default(), layer: i.layer, bytes: i.size })
        .collect();
    largest.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    largest.truncate(options.top);
    let mut hidden: Vec<InvisibleFile> = index
        .inodes
        .iter()
        .filter_map(|i| {
            let (by, how) = i.removed?;
            Some(InvisibleFile { path: i.last_path.clone(), layer: i.layer, bytes: i.size, hidden_by: by, how })
        })
        .collect();
    hidden.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    hidden.truncate(options.top);
    Report {
        image: image.reference.to_string(),
        base_image: base_image_name(image),
        verified: options.verify,
        layers: layer_reports,
        totals,
        largest_files: largest,
        invisible_files: hidden,
        caches: caches::find_caches(index),
        dive,
        packages: packages::with_lines(packages.packages, mapping.as_ref()),
        package_databases: packages.databases,
        unowned: packages.unowned,
        dockerfile: mapping,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config with this history (created_by, empty_layer) and one zero diff_id per layer.
    pub(super) fn config(history: &[(&str, bool)]) -> ImageConfig {
        let history: Vec<serde_json::Value> =
            history.iter().map(|(by, empty)| serde_json::json!({"created_by": by, "empty_layer": empty})).collect();
        let layers = history.iter().filter(|h| h["empty_layer"] == false).count();
        let diff_ids = vec![format!("sha256:{}", "0".repeat(64)); layers];
        serde_json::from_value(
            serde_json::json!({"rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history}),
        )
        .unwrap()
    }

    #[test]
    fn base_ends_at_the_last_cmd_with_layers_after_it() {
        // python-like base: two layers then CMD; the app adds two layers and its own CMD.
        let image = config(&[
            ("/bin/sh -c #(nop) ADD file:abc in /", false),
            ("/bin/sh -c apt-get install python3", false),
            ("/bin/sh -c #(nop)  CMD [\"python3\"]", true),
            ("COPY . /app # buildkit", false),
            ("RUN /bin/sh -c pip install -r req.txt # buildkit", false),
            ("CMD [\"python3\", \"app.py\"]", true),
        ]);
        assert_eq!(base_layer_count(&image), 2);
        // No marker, or only a final CMD: the first layer, as dive counts.
        assert_eq!(base_layer_count(&config(&[("ADD x /", false), ("RUN y", false)])), 1);
        assert_eq!(base_layer_count(&config(&[("ADD x /", false), ("RUN y", false), ("ENTRYPOINT [\"y\"]", true)])), 1);
    }
}
