//! The OCI image format as data: descriptors, manifests, indexes and the image config.
//!
//! The same types read Docker's v2 schema 2 manifests and manifest lists, which have the same
//! shape with other media types. Fields imgopt does not interpret are kept in `other` so an image
//! read and written back (by the builder) loses nothing.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::{DigestError, PlatformError};

pub const MEDIA_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MEDIA_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MEDIA_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MEDIA_OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const MEDIA_OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const MEDIA_OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const MEDIA_DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Annotation naming a manifest inside an OCI layout (`oci:DIR:TAG`).
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The image a manifest was built `FROM` (OCI's pre-defined annotation, also seen as a label).
pub const ANNOTATION_BASE_NAME: &str = "org.opencontainers.image.base.name";
/// BuildKit marks provenance/SBOM manifests in an index with this annotation.
pub const ANNOTATION_DOCKER_REFERENCE_TYPE: &str = "vnd.docker.reference.type";

/// A content address, `algorithm:hex`. Only well-formed digests can be built, which matters
/// because a digest becomes a path (`blobs/sha256/<hex>`) and must never climb out of it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: String,
    hex: String,
}

impl Digest {
    pub fn parse(text: &str) -> Result<Self, DigestError> {
        let (algorithm, hex) = text.split_once(':').ok_or_else(|| DigestError::NoAlgorithm { text: text.into() })?;
        let digits = match algorithm {
            "sha256" => 64,
            "sha512" => 128,
            _ => {
                return Err(DigestError::UnsupportedAlgorithm { text: text.into(), algorithm: algorithm.into() });
            }
        };
        if hex.len() != digits || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(DigestError::NotHex { text: text.into(), digits });
        }
        Ok(Digest { algorithm: algorithm.to_string(), hex: hex.to_string() })
    }

    pub fn sha256_from_bytes(bytes: [u8; 32]) -> Self {
        let hex = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Digest { algorithm: "sha256".into(), hex }
    }

    /// The sha256 digest of `bytes`.
    pub fn sha256_of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        Digest::sha256_from_bytes(sha2::Sha256::digest(bytes).into())
    }

    pub fn algorithm(&self) -> &str {
        &self.algorithm
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Where the blob lives inside an OCI layout.
    pub fn blob_path(&self) -> String {
        format!("blobs/{}/{}", self.algorithm, self.hex)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(rename = "os.version", default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
}

impl Platform {
    /// `os/arch[/variant]`, as `--platform` takes it.
    pub fn parse(text: &str) -> Result<Self, PlatformError> {
        let bad = || PlatformError { text: text.into() };
        let mut parts = text.split('/');
        let (Some(os), Some(architecture)) = (parts.next(), parts.next()) else {
            return Err(bad());
        };
        let variant = parts.next().map(str::to_string);
        if parts.next().is_some() || os.is_empty() || architecture.is_empty() {
            return Err(bad());
        }
        Ok(Platform { architecture: architecture.into(), os: os.into(), variant, os_version: None })
    }

    /// The platform this binary runs on, in Go's (and so the OCI spec's) names.
    pub fn host() -> Self {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Platform { architecture: architecture.into(), os: "linux".into(), variant: None, os_version: None }
    }

    /// A wanted platform without a variant matches any variant.
    pub fn matches(&self, wanted: &Platform) -> bool {
        self.os == wanted.os
            && self.architecture == wanted.architecture
            && (wanted.variant.is_none() || self.variant == wanted.variant)
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl Descriptor {
    /// The descriptor of `bytes` (a config, a manifest) stored as one blob.
    pub fn of_bytes(media_type: &str, bytes: &[u8]) -> Self {
        Descriptor {
            media_type: media_type.into(),
            digest: Digest::sha256_of(bytes),
            size: bytes.len() as u64,
            platform: None,
            annotations: BTreeMap::new(),
            other: BTreeMap::new(),
        }
    }

    pub fn is_index(&self) -> bool {
        self.media_type == MEDIA_OCI_INDEX || self.media_type == MEDIA_DOCKER_MANIFEST_LIST
    }

    /// BuildKit's provenance and SBOM manifests: they sit in an index beside the real image,
    /// with platform unknown/unknown.
    pub fn is_attestation(&self) -> bool {
        self.annotations.get(ANNOTATION_DOCKER_REFERENCE_TYPE).is_some_and(|t| t == "attestation-manifest")
            || self.platform.as_ref().is_some_and(|p| p.os == "unknown" && p.architecture == "unknown")
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl Index {
    /// An OCI image index listing `manifests`.
    pub fn oci(manifests: Vec<Descriptor>) -> Self {
        Index {
            schema_version: 2,
            media_type: Some(MEDIA_OCI_INDEX.into()),
            manifests,
            annotations: BTreeMap::new(),
            other: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl Manifest {
    /// An OCI image manifest for this config and these layers.
    pub fn oci(config: Descriptor, layers: Vec<Descriptor>) -> Self {
        Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_OCI_MANIFEST.into()),
            config,
            layers,
            annotations: BTreeMap::new(),
            other: BTreeMap::new(),
        }
    }
}

/// The image config: what the runtime needs and how the image was made.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// What a container of this image runs with (Docker's `config` object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    pub rootfs: RootFs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type")]
    pub kind: String,
    /// Digests of the uncompressed layer tars, bottom layer first.
    pub diff_ids: Vec<Digest>,
}

impl RootFs {
    /// `{"type": "layers", "diff_ids": ...}`, the only kind there is.
    pub fn layers(diff_ids: Vec<Digest>) -> Self {
        RootFs { kind: "layers".into(), diff_ids }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// True for instructions that changed only the config (ENV, CMD...): no layer matches them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// The runtime half of the image config, in Docker's JSON names (the OCI spec uses the same).
/// Every field is optional; fields imgopt does not know (`Hostname`, `AttachStdin`, ... in Docker's
/// classic builder's output) stay in `other`.
///
/// A known field that the image sets to `null` (Docker writes `"Entrypoint":null`) is kept in
/// `other` as `null` too, so a config read and written back is the same JSON; a value set in the
/// typed field wins over it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// `USER`: `name`, `uid`, `name:group` or `uid:gid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `EXPOSE`: `"80/tcp"` → `{}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    /// `ENV`, as `KEY=value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// `VOLUME`: path → `{}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<BTreeMap<String, Empty>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// `SHELL`: Docker-only (the OCI config has no such field; BuildKit still writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    /// `HEALTHCHECK`: Docker-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    /// `ONBUILD` triggers, each an instruction line: Docker-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_build: Option<Vec<String>>,
    /// Windows-only in meaning; BuildKit writes it for shell-form commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_escaped: Option<bool>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl<'de> Deserialize<'de> for ContainerConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = serde_json::Map::deserialize(d)?;
        // `null` would read as `None` and be lost on the way back: keep it aside, then in `other`.
        let nulls: Vec<String> = map.iter().filter(|(_, v)| v.is_null()).map(|(k, _)| k.clone()).collect();
        for key in &nulls {
            map.remove(key);
        }
        let mut config =
            ContainerConfig::deserialize(serde_json::Value::Object(map)).map_err(serde::de::Error::custom)?;
        config.other.extend(nulls.into_iter().map(|k| (k, serde_json::Value::Null)));
        Ok(config)
    }
}

impl Serialize for ContainerConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let typed = ContainerConfig { other: BTreeMap::new(), ..self.clone() };
        let value =
            ContainerConfig::serialize(&typed, serde_json::value::Serializer).map_err(serde::ser::Error::custom)?;
        let serde_json::Value::Object(mut map) = value else {
            return Err(serde::ser::Error::custom("a container config serializes as a JSON object"));
        };
        for (key, value) in &self.other {
            map.entry(key.clone()).or_insert_with(|| value.clone());
        }
        map.serialize(s)
    }
}

/// The `{}` Docker uses as the value of a set member (`ExposedPorts`, `Volumes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// `HEALTHCHECK`: durations in nanoseconds, as Go's `time.Duration` marshals them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    /// `["NONE"]`, `["CMD", args...]` or `["CMD-SHELL", command]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl ImageConfig {
    /// The history entry that made each layer: history minus `empty_layer` entries, in order.
    /// Missing entries (history is optional) are `None`.
    pub fn layer_history(&self) -> Vec<Option<&History>> {
        let mut made = self.history.iter().filter(|h| !h.empty_layer);
        (0..self.rootfs.diff_ids.len()).map(|_| made.next()).collect()
    }
}

/// One entry of a `docker save` `manifest.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DockerArchiveEntry {
    #[serde(rename = "Config")]
    pub config: String,
    #[serde(rename = "RepoTags", default)]
    pub repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    pub layers: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_platforms_say_why_they_do_not_read() {
        let hex = "a".repeat(64);
        assert!(Digest::parse(&format!("sha256:{hex}")).is_ok());
        assert_eq!(Digest::parse(&hex), Err(DigestError::NoAlgorithm { text: hex.clone() }));
        assert_eq!(
            Digest::parse(&format!("md5:{hex}")),
            Err(DigestError::UnsupportedAlgorithm { text: format!("md5:{hex}"), algorithm: "md5".into() })
        );
        let short = Digest::parse("sha512:ABC").unwrap_err();
        assert_eq!(short, DigestError::NotHex { text: "sha512:ABC".into(), digits: 128 });
        assert_eq!(short.to_string(), "digest `sha512:ABC` is not 128 lowercase hex digits");
        assert_eq!(Platform::parse("linux/arm/v7").map(|p| p.variant), Ok(Some("v7".to_string())));
        for bad in ["linux", "linux/", "/amd64", "a/b/c/d"] {
            assert_eq!(Platform::parse(bad), Err(PlatformError { text: bad.into() }), "{bad}");
        }
        assert_eq!(Platform::parse("linux").unwrap_err().to_string(), "platform `linux` is not os/arch[/variant]");
    }

    /// Configs written by real builders (testdata/image-configs): `docker save` of Docker 20.10's
    /// classic builder and BuildKit, buildah 1.28 in OCI and Docker form.
    const REAL_CONFIGS: [(&str, &str); 5] = [
        ("docker-20.10-classic", include_str!("../../testdata/image-configs/docker-20.10-classic.json")),
        (
            "docker-20.10-classic-minimal",
            include_str!("../../testdata/image-configs/docker-20.10-classic-minimal.json"),
        ),
        ("docker-20.10-buildkit", include_str!("../../testdata/image-configs/docker-20.10-buildkit.json")),
        ("buildah-1.28-oci", include_str!("../../testdata/image-configs/buildah-1.28-oci.json")),
        ("buildah-1.28-docker", include_str!("../../testdata/image-configs/buildah-1.28-docker.json")),
    ];

    #[test]
    fn real_configs_survive_a_round_trip() {
        for (name, text) in REAL_CONFIGS {
            let config: ImageConfig = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let written = serde_json::to_vec(&config).unwrap();
            let before: serde_json::Value = serde_json::from_str(text).unwrap();
            let after: serde_json::Value = serde_json::from_slice(&written).unwrap();
            assert_eq!(before, after, "{name}: the config changed on a round trip");
            // Read back, it is the same value and the same bytes.
            let again: ImageConfig = serde_json::from_slice(&written).unwrap();
            assert_eq!(again, config, "{name}");
            assert_eq!(serde_json::to_vec(&again).unwrap(), written, "{name}");
        }
    }

    #[test]
    fn the_runtime_config_is_typed() {
        let config: ImageConfig = serde_json::from_str(REAL_CONFIGS[0].1).unwrap();
        let c = config.config.unwrap();
        assert_eq!(c.user.as_deref(), Some("1000:1000"));
        assert_eq!(c.entrypoint, Some(vec!["/bin/busybox".to_string()]));
        assert_eq!(c.cmd, Some(vec!["sh".to_string()]));
        assert_eq!(c.env, Some(vec!["PATH=/bin".to_string(), "A=1".to_string()]));
        assert_eq!(c.working_dir.as_deref(), Some("/app"));
        assert_eq!(c.stop_signal.as_deref(), Some("SIGTERM"));
        assert_eq!(c.on_build, Some(vec!["RUN echo hi".to_string()]));
        assert_eq!(c.shell, Some(vec!["/bin/busybox".to_string(), "sh".to_string(), "-c".to_string()]));
        let ports: Vec<&str> = c.exposed_ports.as_ref().unwrap().keys().map(String::as_str).collect();
        assert_eq!(ports, ["53/udp", "80/tcp"]);
        assert!(c.volumes.unwrap().contains_key("/data"));
        assert_eq!(c.labels.unwrap().get("org.example.a").map(String::as_str), Some("b"));
        let health = c.healthcheck.unwrap();
        assert_eq!(health.test, Some(vec!["CMD".into(), "/bin/busybox".into(), "true".into()]));
        assert_eq!(
            (health.interval, health.timeout, health.start_period, health.retries),
            (Some(30_000_000_000), Some(3_000_000_000), Some(5_000_000_000), Some(2))
        );
        // Docker's own fields stay as they were.
        assert_eq!(c.other.get("Hostname"), Some(&serde_json::json!("")));
        let buildkit: ImageConfig = serde_json::from_str(REAL_CONFIGS[2].1).unwrap();
        assert_eq!(buildkit.config.unwrap().args_escaped, Some(true));
        assert_eq!(buildkit.history[0].other.get("comment"), None, "comment is a typed field");
    }

    #[test]
    fn a_null_field_is_kept_until_it_is_set() {
        let minimal: ImageConfig = serde_json::from_str(REAL_CONFIGS[1].1).unwrap();
        let mut c = minimal.config.unwrap();
        assert_eq!(c.cmd, None);
        assert_eq!(c.other.get("Cmd"), Some(&serde_json::Value::Null));
        assert!(serde_json::to_string(&c).unwrap().contains(r#""Cmd":null"#));
        c.cmd = Some(vec!["/bin/sh".into()]);
        let written = serde_json::to_string(&c).unwrap();
        assert!(written.contains(r#""Cmd":["/bin/sh"]"#) && !written.contains(r#""Cmd":null"#), "{written}");
        assert_eq!(written.matches("\"Cmd\"").count(), 1, "{written}");
    }

    #[test]
    fn a_config_written_from_scratch_has_only_what_is_set() {
        let config = ContainerConfig { cmd: Some(vec!["sh".into()]), ..Default::default() };
        assert_eq!(serde_json::to_string(&config).unwrap(), r#"{"Cmd":["sh"]}"#);
        let history = History { created_by: Some("ENV A=1".into()), empty_layer: true, ..Default::default() };
        assert_eq!(serde_json::to_string(&history).unwrap(), r#"{"created_by":"ENV A=1","empty_layer":true}"#);
    }
}
