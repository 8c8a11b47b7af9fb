//! Errors met while reading or writing an image. Every variant names the thing that is wrong (the file, the
//! blob, the layer and the entry) so that a user can find it without a debugger.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ImageError {
    #[error("invalid image reference `{reference}`: {reason}")]
    #[diagnostic(
        code(imgopt::image::reference),
        help(
            "use oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG] or registry:NAME[:TAG|@DIGEST]"
        )
    )]
    Reference { reference: String, reason: String },

    #[error("cannot read {}", path.display())]
    #[diagnostic(code(imgopt::image::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write {}", path.display())]
    #[diagnostic(code(imgopt::image::write))]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("registry {0}")]
    #[diagnostic(code(imgopt::image::registry))]
    Registry(String),

    #[error("{what} is not valid: {source}")]
    #[diagnostic(code(imgopt::image::json))]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },

    /// The layout itself is wrong: a missing blob, no manifest for the platform, counts that do
    /// not match.
    #[error("{0}")]
    #[diagnostic(code(imgopt::image::layout))]
    Layout(String),

    #[error("digest mismatch for {what}: the image says {expected}, the content hashes to {actual}")]
    #[diagnostic(code(imgopt::image::digest))]
    DigestMismatch { what: String, expected: String, actual: String },

    #[error("layer {layer} ({location}): {message}")]
    #[diagnostic(code(imgopt::image::layer))]
    Layer { layer: usize, location: String, message: String },

    #[error("layer {layer} ({location}), entry `{entry}`: {message}")]
    #[diagnostic(code(imgopt::image::entry))]
    Entry { layer: usize, location: String, entry: String, message: String },
}

pub type Result<T, E = ImageError> = std::result::Result<T, E>;

/// Why a text is not a content digest (`algorithm:hex`); it quotes what was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum DigestError {
    #[error("digest `{text}` has no `algorithm:` prefix")]
    #[diagnostic(code(imgopt::image::digest_syntax))]
    NoAlgorithm { text: String },

    #[error("digest `{text}` uses unsupported algorithm `{algorithm}`")]
    #[diagnostic(code(imgopt::image::digest_syntax), help("imgopt reads sha256 and sha512 digests"))]
    UnsupportedAlgorithm { text: String, algorithm: String },

    #[error("digest `{text}` is not {digits} lowercase hex digits")]
    #[diagnostic(code(imgopt::image::digest_syntax))]
    NotHex { text: String, digits: usize },
}

/// Why a text is not a platform (`os/arch[/variant]`); it quotes what was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("platform `{text}` is not os/arch[/variant]")]
#[diagnostic(code(imgopt::image::platform), help("for example linux/amd64 or linux/arm/v7"))]
pub struct PlatformError {
    pub text: String,
}

impl ImageError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ImageError::Io { path: path.into(), source }
    }

    pub(crate) fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ImageError::Write { path: path.into(), source }
    }
}
