//! `--builder docker|buildah`: the Dockerfile built by an existing engine instead of imgopt's
//! own builder, its image saved to an archive imgopt then loads or analyzes. This is how a team
//! whose builds run on a remote BuildKit (buildx drivers, Kubernetes) uses imgopt.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::build::BuildArgs;
use crate::image::ImageRef;

/// Which builder `imgopt build` and `imgopt analyze` use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum BuilderKind {
    /// imgopt's own overlayfs builder (no daemon).
    #[default]
    #[value(alias = "internal")]
    Imgopt,
    /// `DOCKER_BUILDKIT=1 docker build`, then `docker save` (`DOCKER`, else /usr/bin/docker).
    Docker,
    /// `buildah build --layers`, then `buildah push` to an OCI archive (`BUILDAH`, else buildah).
    Buildah,
}

impl BuilderKind {
    fn program(self) -> PathBuf {
        let (var, default) = match self {
            BuilderKind::Buildah => ("BUILDAH", "buildah"),
            _ => ("DOCKER", "/usr/bin/docker"),
        };
        std::env::var_os(var).filter(|v| !v.is_empty()).map_or_else(|| PathBuf::from(default), PathBuf::from)
    }

    pub fn name(self) -> &'static str {
        match self {
            BuilderKind::Imgopt => "imgopt",
            BuilderKind::Docker => "docker",
            BuilderKind::Buildah => "buildah",
        }
    }
}

fn error(message: String) -> miette::Report {
    miette::miette!(code = "imgopt::builder", "{message}")
}

/// Runs `program args`, its output going to standard error (standard output stays imgopt's).
fn run(program: &Path, args: &[String], env: &[(&str, &str)]) -> miette::Result<()> {
    let stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| error(format!("cannot pass standard error on: {e}")))?;
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::from(stderr));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let status = cmd.status().map_err(|e| {
        error(format!(
            "cannot run {}: {e} (install it, or point {} at it)",
            program.display(),
            if program.ends_with("buildah") { "BUILDAH" } else { "DOCKER" }
        ))
    })?;
    if !status.success() {
        let what = args.first().map_or("", String::as_str);
        return Err(error(format!("{} {what} failed ({status}); its output is above", program.display())));
    }
    Ok(())
}

/// Builds with `kind` and writes the image to an archive in `dir`; returns the reference to it.
/// `tags` are given to the engine too (they name the image there as well).
pub fn build_to_archive(kind: BuilderKind, args: &BuildArgs, tags: &[String], dir: &Path) -> miette::Result<ImageRef> {
    let program = kind.program();
    // A name only this run uses: what `docker save` / `buildah push` take, removed afterwards.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let temp_tag = format!("imgopt.local/engine-build:{}-{nanos}", std::process::id());
    let mut build: Vec<String> = match kind {
        BuilderKind::Buildah => vec!["build".into(), "--layers".into()],
        _ => vec!["build".into()],
    };
    build.push("-f".into());
    build.push(args.dockerfile().display().to_string());
    build.push("--network".into());
    build.push(args.network.clone());
    if args.no_cache {
        build.push("--no-cache".into());
    }
    if let Some(t) = &args.target {
        build.push("--target".into());
        build.push(t.clone());
    }
    for a in &args.build_args {
        build.push("--build-arg".into());
        build.push(a.clone());
    }
    for s in &args.secrets {
        build.push("--secret".into());
        build.push(s.clone());
    }
    for t in tags.iter().chain([&temp_tag]) {
        build.push("-t".into());
        build.push(t.clone());
    }
    build.push(args.context_dir().display().to_string());
    eprintln!("building with {} ({})", kind.name(), program.display());
    run(&program, &build, &[("DOCKER_BUILDKIT", "1")])?;
    let (save, reference) = match kind {
        BuilderKind::Buildah => {
            let file = dir.join("image.oci.tar");
            let dest = format!("oci-archive:{}", file.display());
            (vec!["push".into(), temp_tag.clone(), dest], ImageRef::OciArchive { file, tag: None })
        }
        _ => {
            let file = dir.join("image.docker.tar");
            let out = file.display().to_string();
            (vec!["save".into(), "-o".into(), out, temp_tag.clone()], ImageRef::DockerArchive { file, name: None })
        }
    };
    let saved = run(&program, &save, &[]);
    // Untag (the image stays under the user's -t names, and in the engine's build cache).
    let rmi = vec!["rmi".into(), temp_tag.clone()];
    let quiet = Command::new(&program).args(&rmi).stdout(Stdio::null()).stderr(Stdio::null()).status();
    let _ = quiet;
    saved?;
    Ok(reference)
}
