//! `imgopt diff --base REV [--head REV]`: the image of a Dockerfile at two git revisions, built by
//! imgopt's builder in one store (the step cache builds the prefix they share once), analyzed and
//! compared ([`crate::analyze::compare`]).
//!
//! A revision's files come from `git archive` (the build context's directory and the Dockerfile,
//! nothing else), unpacked under the store's `tmp/` and removed afterwards; without `--head` the
//! head is the working tree as it is. Paths are read relative to the repository, so `-f` and the
//! context mean the same files at both revisions. What `git archive` leaves out (submodules,
//! `export-ignore` paths, Git LFS contents) is not in the build context of a revision. A
//! Dockerfile that does not exist at the base (new in the change) is compared with no image:
//! every line it has is added.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::analyze::compare::{compare, CompareOptions, Comparison};
use crate::analyze::{analyze_reference, AnalyzeOptions, Report};
use crate::build::store::{Store, TempDir};
use crate::commands::build::{build, built_map, shipped_blobs, BuildArgs};
use crate::commands::engine::BuilderKind;

/// What to compare, and how.
pub struct DiffRequest<'a> {
    pub build: &'a BuildArgs,
    pub base: &'a str,
    /// None: the working tree.
    pub head: Option<&'a str>,
    pub options: CompareOptions,
}

fn error(message: impl std::fmt::Display) -> miette::Report {
    miette::miette!(code = "imgopt::diff", "{message}")
}

/// `git -C dir ARGS`, its trimmed standard output.
fn git(dir: &Path, args: &[&str]) -> miette::Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| error(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(error(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `path` relative to the repository's top directory (which it need not exist in).
fn in_repository(top: &Path, path: &Path) -> miette::Result<PathBuf> {
    let absolute = std::path::absolute(path).map_err(|e| error(format!("{}: {e}", path.display())))?;
    // Resolve symlinks in the part that exists (the repository's own path may have some).
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else { break };
        rest.push(name.to_os_string());
        existing = parent;
    }
    let mut resolved = existing.canonicalize().map_err(|e| error(format!("{}: {e}", existing.display())))?;
    resolved.extend(rest.iter().rev());
    resolved
        .strip_prefix(top)
        .map(Path::to_path_buf)
        .map_err(|_| error(format!("{} is not in the git repository {}", path.display(), top.display())))
}

/// One revision's files, ready to build.
struct Revision {
    label: String,
    /// How to build it; None when the Dockerfile does not exist at this revision.
    args: Option<BuildArgs>,
    _files: Option<TempDir>,
}

/// The revision's context and Dockerfile, unpacked from `git archive`.
fn checkout(
    store: &Store,
    top: &Path,
    rev: &str,
    context: &Path,
    dockerfile: &Path,
    args: &BuildArgs,
) -> miette::Result<Revision> {
    let commit = git(top, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .map_err(|_| error(format!("`{rev}` is not a commit of the repository {}", top.display())))?;
    let short = &commit[..commit.len().min(12)];
    // A commit named by its hash is named once.
    let label = if commit.starts_with(rev) { short.to_string() } else { format!("{rev} {short}") };
    let spec = format!("{commit}:{}", dockerfile.display());
    if git(top, &["cat-file", "-e", &spec]).is_err() {
        return Ok(Revision { label, args: None, _files: None });
    }
    let files = store.temp_dir("diff").map_err(|e| error(format!("the store: {e}")))?;
    let mut command = Command::new("git");
    command.arg("-C").arg(top).args(["archive", "--format=tar", &commit, "--"]);
    // The context (the whole tree when it is the top) and the Dockerfile when it is elsewhere.
    if !context.as_os_str().is_empty() {
        command.arg(context);
        if !dockerfile.starts_with(context) {
            command.arg(dockerfile);
        }
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| error(format!("cannot run git: {e}")))?;
    let unpacked = child.stdout.take().map(|out| tar::Archive::new(out).unpack(&files.path));
    let out = child.wait_with_output().map_err(|e| error(format!("git archive: {e}")))?;
    if !out.status.success() {
        return Err(error(format!("git archive {rev}: {}", String::from_utf8_lossy(&out.stderr).trim())));
    }
    if let Some(Err(e)) = unpacked {
        return Err(error(format!("unpacking {rev}: {e}")));
    }
    // The context directory exists even when the revision has nothing in it but the Dockerfile.
    let context_dir = files.path.join(context);
    std::fs::create_dir_all(&context_dir).map_err(|e| error(format!("{}: {e}", context_dir.display())))?;
    let mut args = args.clone();
    args.context = Some(context_dir);
    args.file = Some(files.path.join(dockerfile));
    Ok(Revision { label, args: Some(args), _files: Some(files) })
}

/// Builds a revision and analyzes its image, every layer tied to its line.
/// A revision without the Dockerfile (it is new in the other) has no image: an empty report,
/// so that every line of the other counts as added.
fn build_and_analyze(revision: &Revision, dockerfile: &Path) -> miette::Result<Report> {
    let Some(args) = &revision.args else {
        eprintln!("imgopt diff: {} does not exist at {}: compared with no image", dockerfile.display(), revision.label);
        return Ok(Report {
            image: format!("no image ({} not at {})", dockerfile.display(), revision.label),
            ..Report::default()
        });
    };
    eprintln!("imgopt diff: building {}", revision.label);
    let (result, store, source) = build(args, Vec::new())?;
    let mut map = built_map(&source, &result)?;
    let reference = format!("oci:{}:{}", store.root.display(), result.name);
    // The repository's name for the file, the same at both revisions.
    map.file = dockerfile.display().to_string();
    let options = AnalyzeOptions {
        top: usize::MAX,
        base_layers: Some(result.base_layers),
        built: Some(map),
        packages: false,
        // The sizes a push would carry, as `imgopt analyze` reports them.
        shipped: shipped_blobs(&reference, args.compression(), None)?,
        ..AnalyzeOptions::default()
    };
    let mut report = analyze_reference(&reference, &options)?;
    report.image = format!("{} ({})", result.name, revision.label);
    Ok(report)
}

/// Builds both revisions and compares their images.
pub fn diff(request: &DiffRequest<'_>) -> miette::Result<Comparison> {
    let args = request.build;
    if args.builder != BuilderKind::Imgopt {
        return Err(error("imgopt diff builds with imgopt's own builder (--builder imgopt)"));
    }
    if args.output.is_some() {
        return Err(error("imgopt diff writes no image (-o): both images stay in the store"));
    }
    let context = args.context_dir();
    let top = PathBuf::from(git(&context, &["rev-parse", "--show-toplevel"])?);
    let top = top.canonicalize().map_err(|e| error(format!("{}: {e}", top.display())))?;
    let context_in = in_repository(&top, &context)?;
    let dockerfile_in = in_repository(&top, &args.dockerfile())?;
    let store = Store::open_default().map_err(|e| error(format!("the store: {e}")))?;
    let base = checkout(&store, &top, request.base, &context_in, &dockerfile_in, args)?;
    let head = match request.head {
        Some(rev) => checkout(&store, &top, rev, &context_in, &dockerfile_in, args)?,
        None => Revision { label: "working tree".to_string(), args: Some(args.clone()), _files: None },
    };
    if base.args.is_none() && head.args.is_none() {
        return Err(error(format!("{} exists at neither revision", dockerfile_in.display())));
    }
    let before = build_and_analyze(&base, &dockerfile_in)?;
    let after = build_and_analyze(&head, &dockerfile_in)?;
    Ok(compare(&before, &after, &request.options))
}
