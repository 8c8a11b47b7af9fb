//! The GitHub Action run as a runner runs it: action.yml's steps in order, `${{ }}` expressions
//! and `if:` conditions evaluated, each `run:` step executed by bash with the runner's variables
//! (GITHUB_ACTIONS, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, ...), in a temp git repository with a bad
//! Dockerfile. `uses:` steps (actions/cache, upload-sarif) are not run: their outcome is chosen
//! by the scenario. Release assets are packed by the release's own script
//! (`ci/release/package.sh`) and served over HTTP on loopback (`IMGOPT_RELEASE_BASE_URL`); one
//! test builds them as the release does.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::dist::{host_target, FileServer, VERSION};
use common::{bytes, config_json, git, oci_files, waste_scenario, write_tar, Comp, Item, Layer, TempDir};
use serde_json::Value;

const ACTION_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// Everything a step can read through an expression.
struct Context {
    inputs: BTreeMap<String, String>,
    github: Value,
    /// `runner.temp`: the scratch directory.
    runner_temp: String,
    steps: BTreeMap<String, (String, BTreeMap<String, String>)>, // id -> (outcome, outputs)
}

impl Context {
    fn lookup(&self, path: &str) -> String {
        let parts: Vec<&str> = path.split('.').collect();
        match parts.as_slice() {
            ["inputs", name] => self.inputs.get(*name).cloned().unwrap_or_default(),
            ["runner", "temp"] => self.runner_temp.clone(),
            ["runner", "os"] => "Linux".to_string(),
            ["steps", id, "outcome"] => self.steps.get(*id).map(|s| s.0.clone()).unwrap_or_default(),
            ["steps", id, "outputs", name] => {
                self.steps.get(*id).and_then(|s| s.1.get(*name).cloned()).unwrap_or_default()
            }
            ["github", rest @ ..] => {
                let mut v = &self.github;
                for p in rest {
                    v = &v[*p];
                }
                match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                }
            }
            _ => panic!("expression not understood by this test: {path}"),
        }
    }

    /// The subset of GitHub's expression language action.yml uses: `||`, `&&`, `==`, `!=`,
    /// 'strings', context paths and always().
    fn eval(&self, expr: &str) -> String {
        let expr = expr.trim();
        if let Some((a, b)) = expr.split_once("||") {
            let a = self.eval(a);
            return if a.is_empty() { self.eval(b) } else { a };
        }
        if let Some((a, b)) = expr.split_once("&&") {
            let a = self.eval(a);
            return if a.is_empty() || a == "false" { a } else { self.eval(b) };
        }
        for (op, want) in [("!=", false), ("==", true)] {
            if let Some((a, b)) = expr.split_once(op) {
                return ((self.eval(a) == self.eval(b)) == want).to_string();
            }
        }
        if expr == "always()" {
            return "true".into();
        }
        if let Some(s) = expr.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
            return s.into();
        }
        self.lookup(expr)
    }

    fn interpolate(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("closed expression") + start;
            out.push_str(&self.eval(&rest[start + 3..end]));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }
}

struct Run {
    log: String,
    summary: String,
    /// The action's outputs, from its `outputs:` block.
    outputs: BTreeMap<String, String>,
    /// Ids of the steps that ran (or, for `uses:`, would have run).
    ran: Vec<String>,
    /// Whether the job failed.
    failed: bool,
}

/// Runs action.yml in `workspace` with `inputs`; `upload_outcome` is what the SARIF upload does.
fn run_action(
    workspace: &Path,
    scratch: &Path,
    inputs: &[(&str, &str)],
    github: Value,
    upload_outcome: &str,
    env: &[(&str, String)],
) -> Run {
    let text = std::fs::read_to_string(Path::new(ACTION_DIR).join("action.yml")).expect("action.yml");
    let action: Value = serde_saphyr::from_str(&text).expect("action.yml is YAML");
    let mut ctx =
        Context { inputs: BTreeMap::new(), github, runner_temp: scratch.display().to_string(), steps: BTreeMap::new() };
    for (name, spec) in action["inputs"].as_object().expect("inputs") {
        ctx.inputs.insert(name.clone(), spec["default"].as_str().unwrap_or_default().to_string());
    }
    for (k, v) in inputs {
        assert!(ctx.inputs.contains_key(*k), "action.yml has no input {k}");
        ctx.inputs.insert(k.to_string(), v.to_string());
    }
    ctx.github["action_path"] = ACTION_DIR.into();
    let summary_file = scratch.join("summary.md");
    std::fs::write(&summary_file, "").expect("summary file");
    let mut run =
        Run { log: String::new(), summary: String::new(), outputs: BTreeMap::new(), ran: Vec::new(), failed: false };
    for (n, step) in action["runs"]["steps"].as_array().expect("steps").iter().enumerate() {
        let id = step["id"].as_str().map_or_else(|| format!("step{n}"), str::to_string);
        // A failed step stops the job; later steps run only under always().
        let condition = step["if"].as_str().unwrap_or("");
        if run.failed && !condition.contains("always()") {
            continue;
        }
        if !condition.is_empty() && ctx.eval(condition) != "true" {
            continue;
        }
        run.ran.push(id.clone());
        if let Some(uses) = step["uses"].as_str() {
            let outcome = if uses.starts_with("github/codeql-action/upload-sarif") {
                let sarif = ctx.interpolate(step["with"]["sarif_file"].as_str().expect("sarif_file"));
                assert_eq!(step["with"]["category"], "imgopt");
                let doc: Value = serde_json::from_slice(&std::fs::read(&sarif).expect("SARIF file to upload"))
                    .expect("SARIF is JSON");
                assert_eq!(doc["version"], "2.1.0");
                upload_outcome
            } else {
                "success" // actions/cache: a miss
            };
            if outcome == "failure" {
                assert_eq!(step["continue-on-error"], true, "{id} must not fail the job");
            }
            ctx.steps.insert(id, (outcome.into(), BTreeMap::new()));
            continue;
        }
        let script = ctx.interpolate(step["run"].as_str().expect("run or uses"));
        let output_file = scratch.join(format!("output-{id}"));
        std::fs::write(&output_file, "").expect("output file");
        let mut cmd = Command::new("bash");
        cmd.args(["-e", "-c", &script])
            .current_dir(workspace)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_ACTION_PATH", ACTION_DIR)
            .env("GITHUB_WORKSPACE", workspace)
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", &summary_file)
            .env("GITHUB_PATH", scratch.join("path"))
            .env("GITHUB_REPOSITORY", ctx.lookup("github.repository"))
            .env("RUNNER_TEMP", scratch)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("HOME", scratch.join("home"))
            .env("XDG_CONFIG_HOME", scratch.join("no-user-config"));
        for (k, v) in step["env"].as_object().into_iter().flatten() {
            cmd.env(k, ctx.interpolate(v.as_str().unwrap_or_default()));
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("bash runs");
        run.log.push_str(&format!(
            "--- {id}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
        let mut outputs = BTreeMap::new();
        for line in std::fs::read_to_string(&output_file).expect("outputs").lines() {
            if let Some((k, v)) = line.split_once('=') {
                outputs.insert(k.to_string(), v.to_string());
            }
        }
        let outcome = if out.status.success() { "success" } else { "failure" };
        if !out.status.success() && step["continue-on-error"] != true {
            run.failed = true;
        }
        ctx.steps.insert(id, (outcome.into(), outputs));
    }
    for (name, spec) in action["outputs"].as_object().expect("outputs") {
        run.outputs.insert(name.clone(), ctx.interpolate(spec["value"].as_str().expect("value")));
    }
    run.summary = std::fs::read_to_string(&summary_file).expect("summary");
    run
}

/// A repository whose base commit already has findings on lines 1-2 and whose change adds
/// findings further down (lines 5 and 7), so the order of annotations shows the change first.
fn repo(root: &Path) -> (PathBuf, String) {
    let ws = root.join("ws");
    std::fs::create_dir_all(ws.join("svc")).expect("mkdir");
    git(&ws, &["init", "-q", "-b", "main"]);
    std::fs::write(ws.join("svc/Dockerfile"), "FROM debian\nWORKDIR app\nRUN echo one\n").expect("write");
    git(&ws, &["add", "."]);
    git(&ws, &["commit", "-q", "-m", "base"]);
    let base = git(&ws, &["rev-parse", "HEAD"]);
    std::fs::write(
        ws.join("svc/Dockerfile"),
        "FROM debian\nWORKDIR app\nRUN echo one\n\nWORKDIR srv\nRUN echo two\nRUN echo three\n",
    )
    .expect("write");
    git(&ws, &["commit", "-q", "-am", "change"]);
    (ws, base)
}

/// Release assets for this version as the action expects them (`v$VERSION/imgopt-$VERSION-$TARGET.tar.gz`
/// and its `.sha256`), packed once by `ci/release/package.sh pack` from the binary under test
/// (into target/test-release) and served over HTTP to each test.
fn release() -> FileServer {
    static PACKED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let root = PACKED.get_or_init(|| {
        let root = common::dist::target_dir().join("test-release");
        let _ = std::fs::remove_dir_all(&root);
        common::dist::run_ok(
            Command::new("bash")
                .arg(Path::new(ACTION_DIR).join("ci/release/package.sh"))
                .arg("pack")
                .arg(host_target())
                .arg(env!("CARGO_BIN_EXE_imgopt"))
                .arg(root.join(format!("v{VERSION}"))),
            "package.sh pack",
        );
        root
    });
    FileServer::serve(root)
}

/// What the install step needs to download from `server`: its URL, and the target the assets
/// were packed for (this machine's; real runners get the musl and macOS targets).
fn release_env(server: &FileServer) -> Vec<(&'static str, String)> {
    vec![("IMGOPT_RELEASE_BASE_URL", server.url.clone()), ("IMGOPT_TARGET", host_target())]
}

fn pull_request(base: &str, head_repo: &str) -> Value {
    serde_json::json!({
        "repository": "octo/app",
        "event_name": "pull_request",
        "event": {"pull_request": {"base": {"sha": base}, "head": {"repo": {"full_name": head_repo}}}},
    })
}

/// The steps run jq and git; the release download runs curl.
fn ready() -> bool {
    common::need(&["jq", "git", "curl"], "apt-get install jq git curl")
}

fn annotations(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.starts_with("::warning file=") || l.starts_with("::notice file=") || l.starts_with("::error file=")
        })
        .collect()
}

#[test]
fn pull_request_annotations_summary_outputs_and_image() {
    if !ready() {
        return;
    }
    let tmp = TempDir::new("action-pr");
    let (ws, base) = repo(&tmp.0);
    // The scenario's 2050 reclaimable bytes are shipped by layer 0, the base image's; two more
    // layers ship 3000 B and delete them: the user's own waste.
    let mut layers = waste_scenario();
    layers.push(Layer::new(&[Item::File("tmp/build.bin", bytes(3000, 9), 0o644)], Comp::Gzip, "RUN make"));
    layers.push(Layer::new(&[Item::Whiteout("tmp/build.bin")], Comp::Gzip, "RUN rm /tmp/build.bin"));
    write_tar(&ws.join("app.tar"), &oci_files(&layers, &config_json(&layers)));
    // dive's CI file at the workspace root sets the image's gates: 3000 B reclaimable in the
    // user's layers fail this one.
    std::fs::write(ws.join(".dive-ci"), "rules:\n  highestWastedBytes: 2000\n").expect("write .dive-ci");
    let image_size: usize = layers.iter().map(|l| l.tar.len()).sum();
    let server = release();
    let run = run_action(
        &ws,
        &tmp.0,
        &[("version", VERSION), ("image", "oci-archive:app.tar")],
        pull_request(&base, "octo/app"),
        "success",
        &release_env(&server),
    );
    let log = &run.log;
    // Installed from the (checksum-verified) release, then linted.
    assert!(log.contains(&format!("imgopt {VERSION}")), "{log}");
    let a = annotations(log);
    assert_eq!(a.len(), 4, "{log}");
    // The change's findings (lines 5 and 7) come before the older ones (lines 1 and 2).
    assert!(a[0].contains("line=5,") && a[0].contains("IMG101"), "{log}");
    assert!(a[1].contains("line=7,") && a[1].contains("IMG201"), "{log}");
    assert!(a[2].contains("file=svc/Dockerfile,line=1,endLine=1,col=6,endColumn=12,title=IMG102"), "{log}");
    assert!(a[3].contains("line=2,") && a[3].contains("IMG101"), "{log}");
    // The full findings table and the image's per-layer table are in the job summary.
    assert!(run.summary.contains("### imgopt lint: 4 findings in 1 file"), "{}", run.summary);
    assert!(run.summary.contains("| `svc/Dockerfile:5:9` | warning | [IMG101]"), "{}", run.summary);
    assert!(run.summary.contains("|---"), "{}", run.summary);
    assert_eq!(run.outputs["findings"], "4");
    assert_eq!(run.outputs["invisible-bytes"], "5050");
    assert_eq!(run.outputs["image-size"], image_size.to_string());
    assert!(run.outputs["sarif-file"].ends_with("imgopt.sarif"));
    // Same-repository PR: SARIF uploaded, no fallback; the findings fail the job at the end.
    assert!(
        run.ran.contains(&"upload".to_string()) && !run.ran.contains(&"upload-fallback".to_string()),
        "{:?}",
        run.ran
    );
    assert_eq!(run.ran.last().map(String::as_str), Some("verdict"));
    assert!(run.failed, "{log}");
    assert!(log.contains("lint findings at or above the failure threshold"), "{log}");
    assert!(log.contains("gate failed: max-wasted-bytes"), "{log}");
    assert!(log.contains("the image failed its gates"), "{log}");
    assert!(run.summary.contains("| Layer | Content | Stored | Invisible |"), "{}", run.summary);
}

#[test]
fn fork_pull_request_falls_back_to_annotations_and_summary() {
    if !ready() {
        return;
    }
    let tmp = TempDir::new("action-fork");
    let (ws, base) = repo(&tmp.0);
    let server = release();
    // failure-threshold none: nothing but the fork could fail this job, and it must not.
    let run = run_action(
        &ws,
        &tmp.0,
        &[("version", VERSION), ("failure-threshold", "none")],
        pull_request(&base, "stranger/app"),
        "failure",
        &release_env(&server),
    );
    assert!(!run.failed, "{}", run.log);
    assert!(!run.ran.contains(&"upload".to_string()), "{:?}", run.ran);
    assert!(
        run.log.contains("::notice title=imgopt::Pull request from stranger/app: the token cannot upload SARIF"),
        "{}",
        run.log
    );
    assert!(run.summary.contains("the token cannot upload SARIF"), "{}", run.summary);
    assert_eq!(annotations(&run.log).len(), 4, "{}", run.log);
    assert_eq!(run.outputs["findings"], "4");
    assert_eq!(run.outputs["image-size"], "");
}

#[test]
fn failed_upload_is_reported_not_fatal() {
    if !ready() {
        return;
    }
    let tmp = TempDir::new("action-upload");
    let (ws, base) = repo(&tmp.0);
    let server = release();
    let run = run_action(
        &ws,
        &tmp.0,
        &[("version", VERSION), ("failure-threshold", "error")],
        pull_request(&base, "octo/app"),
        "failure",
        &release_env(&server),
    );
    assert!(run.ran.contains(&"upload-fallback".to_string()), "{:?}", run.ran);
    assert!(run.log.contains("::warning title=imgopt::The SARIF upload to code scanning failed"), "{}", run.log);
    assert!(!run.failed, "{}", run.log);
}

/// The release as the release workflow makes it (ci/release/package.sh build: the `dist` build,
/// tar, checksum) for this machine, fetched over HTTP by an action whose ref is that version's tag
/// and no `version` input; then the same with a checksum that does not match.
#[test]
fn release_named_by_the_action_ref_is_downloaded_and_verified() {
    if !ready() {
        return;
    }
    let tmp = TempDir::new("action-release");
    let (ws, base) = repo(&tmp.0);
    let tarball = common::dist::package_release(&tmp.path(&format!("releases/v{VERSION}")));
    let asset = format!("imgopt-{VERSION}-{}.tar.gz", host_target());
    assert_eq!(tarball.file_name().and_then(|n| n.to_str()), Some(asset.as_str()));
    // The tarball holds one directory named like it, with the binary and the documents.
    let listing = common::dist::run_ok(Command::new("tar").arg("-tzf").arg(&tarball), "tar -t");
    let mut entries: Vec<&str> = listing.lines().filter(|l| !l.ends_with('/')).collect();
    entries.sort_unstable();
    let stem = asset.trim_end_matches(".tar.gz");
    let want: Vec<String> = ["CHANGELOG.md", "LICENSE-APACHE", "LICENSE-MIT", "README.md", "imgopt"]
        .iter()
        .map(|f| format!("{stem}/{f}"))
        .collect();
    assert_eq!(entries, want);
    let sum_file = tarball.with_file_name(format!("{asset}.sha256"));
    let sum = std::fs::read_to_string(&sum_file).expect(".sha256 beside the tarball");
    assert_eq!(sum, format!("{}  {asset}\n", common::sha256(&std::fs::read(&tarball).expect("tarball"))));

    let server = FileServer::serve(&tmp.path("releases"));
    let github = || {
        let mut g = pull_request(&base, "octo/app");
        g["action_ref"] = format!("v{VERSION}").into();
        g
    };
    let run = run_action(&ws, &tmp.0, &[], github(), "success", &release_env(&server));
    let log = &run.log;
    assert!(log.contains(&format!("imgopt: release {VERSION}, the action's ref v{VERSION}")), "{log}");
    assert!(log.contains(&format!("downloading {}/v{VERSION}/{asset}", server.url)), "{log}");
    // The release build names its commit; then it lints.
    let head = common::dist::head_commit();
    assert!(log.contains(&format!("imgopt {VERSION} ({head})")), "{log}");
    assert_eq!(run.outputs["findings"], "4", "{log}");
    let asked = server.requests.lock().expect("requests").clone();
    assert_eq!(asked, [format!("/v{VERSION}/{asset}"), format!("/v{VERSION}/{asset}.sha256")]);

    // A digest that is not the tarball's: refused before anything is installed or linted.
    let digest = sum.split_whitespace().next().expect("digest");
    let wrong: String = digest.chars().rev().collect();
    std::fs::write(&sum_file, format!("{wrong}  {asset}\n")).expect("write .sha256");
    let scratch = tmp.path("second-runner");
    std::fs::create_dir_all(&scratch).expect("mkdir");
    let run = run_action(&ws, &scratch, &[], github(), "success", &release_env(&server));
    assert!(run.failed, "{}", run.log);
    assert!(
        run.log.contains(&format!(
            "::error title=imgopt install::checksum mismatch for {asset}: {asset}.sha256 says {wrong}, the download is {digest}; not installed"
        )),
        "{}",
        run.log
    );
    assert!(!run.ran.contains(&"lint".to_string()), "{:?}", run.ran);
}

/// Which imgopt the action installs for each kind of ref, and which asset a runner asks for:
/// install.sh's plan step, which decides without downloading or building anything.
#[test]
fn action_ref_picks_a_release_or_the_source() {
    let tmp = TempDir::new("action-refs");
    // The runner checks an action out at .../_actions/OWNER/REPO/REF.
    let checked_out = tmp.path(&format!("_actions/imgopt/imgopt/v{VERSION}"));
    std::fs::create_dir_all(checked_out.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(ACTION_DIR, &checked_out).expect("symlink");
    let plan = |source: &Path, vars: &[(&str, &str)]| {
        let out = tmp.path("plan-output");
        std::fs::write(&out, "").expect("output file");
        let mut cmd = Command::new("bash");
        cmd.arg(Path::new(ACTION_DIR).join("ci/action/install.sh"))
            .arg("plan")
            .env("IMGOPT_SOURCE", source)
            .env("GITHUB_OUTPUT", &out)
            .env("HOME", &tmp.0)
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env_remove("IMGOPT_VERSION")
            .env_remove("IMGOPT_TARGET");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let result = cmd.output().expect("bash runs");
        let key = std::fs::read_to_string(&out)
            .expect("outputs")
            .lines()
            .find_map(|l| l.strip_prefix("key=").map(str::to_string))
            .unwrap_or_default();
        (result.status.success(), key, String::from_utf8_lossy(&result.stderr).to_string())
    };
    let here = Path::new(ACTION_DIR);
    let release_key = |target: &str| format!("imgopt-release-{VERSION}-{target}");
    let musl = "x86_64-unknown-linux-musl";
    let (major, minor) = {
        let mut parts = VERSION.split('.');
        let major = parts.next().expect("major");
        (format!("v{major}"), format!("v{major}.{}", parts.next().expect("minor")))
    };
    // A version tag, and the moving major and minor tags at that release.
    for r in [format!("v{VERSION}"), major, minor] {
        let (ok, key, log) = plan(here, &[("IMGOPT_ACTION_REF", &r)]);
        assert!(ok && key == release_key(musl), "{r}: {key} {log}");
    }
    // A branch, a commit, a local action, a tag of another version: the source.
    for r in ["main", "0123456789abcdef0123456789abcdef01234567", "", "v999.0.0"] {
        let (ok, key, log) = plan(here, &[("IMGOPT_ACTION_REF", r)]);
        assert!(ok && key.starts_with("imgopt-source-"), "{r:?}: {key} {log}");
    }
    let (_, _, log) = plan(here, &[("IMGOPT_ACTION_REF", "v999.0.0")]);
    assert!(
        log.contains(&format!("the action's ref v999.0.0 does not match its Cargo.toml version {VERSION}")),
        "{log}"
    );
    // The checkout's directory names this action's ref even where github.action_ref names
    // another (imgopt's action nested in a composite action used from main).
    let (ok, key, log) = plan(&checked_out, &[("IMGOPT_ACTION_REF", "main")]);
    assert!(ok && key == release_key(musl), "{key} {log}");
    // An explicit `version` wins over the ref.
    let (ok, key, log) = plan(here, &[("IMGOPT_ACTION_REF", "main"), ("IMGOPT_VERSION", "v0.0.7")]);
    assert!(ok && key == "imgopt-release-0.0.7-x86_64-unknown-linux-musl", "{key} {log}");
    // Each runner's asset; a runner without one is told how to build from source.
    for (os, arch, target) in [
        ("Linux", "ARM64", "aarch64-unknown-linux-musl"),
        ("macOS", "ARM64", "aarch64-apple-darwin"),
        ("macOS", "X64", "x86_64-apple-darwin"),
    ] {
        let (ok, key, log) =
            plan(here, &[("IMGOPT_ACTION_REF", &format!("v{VERSION}")), ("RUNNER_OS", os), ("RUNNER_ARCH", arch)]);
        assert!(ok && key == release_key(target), "{os}/{arch}: {key} {log}");
    }
    let (ok, _, log) =
        plan(here, &[("IMGOPT_ACTION_REF", &format!("v{VERSION}")), ("RUNNER_OS", "Windows"), ("RUNNER_ARCH", "X64")]);
    assert!(!ok && log.contains("no release build for Windows/X64"), "{log}");
}

/// The size review as a pull request gets it: a repository whose base commit builds a small
/// busybox image and whose head adds a 20 MB layer and a cleanup that frees nothing. The action
/// builds both with imgopt's builder in one store (the head reuses the base's steps), writes the
/// comparison to the job summary, annotates the changed lines, and fails the job when the growth
/// is over `max-growth`. The figures are checked against the store's own. Needs root (the
/// builder) and busybox-static (the base).
#[test]
fn size_review_builds_base_and_head_and_gates_the_growth() {
    if !ready() {
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        assert!(std::env::var_os("CI").is_none(), "the size review builds, and needs root under CI");
        eprintln!("SKIPPED: size review: not root");
        return;
    }
    let tmp = TempDir::new("action-size");
    let ws = tmp.path("ws");
    std::fs::create_dir_all(ws.join("img")).expect("mkdir");
    git(&ws, &["init", "-q", "-b", "main"]);
    let base_image = common::bases::busybox();
    let before = format!("FROM {}\nRUN echo hello > /hello\nCMD [\"sh\"]\n", base_image.name);
    std::fs::write(ws.join("img/Dockerfile"), &before).expect("write");
    git(&ws, &["add", "."]);
    git(&ws, &["commit", "-q", "-m", "base"]);
    let base = git(&ws, &["rev-parse", "HEAD"]);
    let after = before.replace("CMD", "RUN head -c 20000000 /dev/urandom > /blob.bin\nRUN rm /blob.bin\nCMD");
    std::fs::write(ws.join("img/Dockerfile"), &after).expect("write");
    git(&ws, &["commit", "-q", "-am", "a 20 MB layer"]);
    // The runner's store (runner.temp/imgopt-store) holds the base image, as a pull would leave it.
    let store = tmp.path("imgopt-store");
    let imgopt = |args: &[&str]| {
        let out =
            Command::new(env!("CARGO_BIN_EXE_imgopt")).args(args).env("IMGOPT_STORE", &store).output().expect("imgopt");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    imgopt(&["load", &base_image.docker_archive_ref(), "-t", &base_image.name]);
    let server = release();
    let head = git(&ws, &["rev-parse", "HEAD"]);
    let inputs = [
        ("version", VERSION),
        ("failure-threshold", "none"),
        ("sarif", "false"),
        ("size-review", "true"),
        ("suggest", "true"),
        ("github-token", "test-token"),
    ];
    // The same server answers the GitHub API: it records the review the step posts.
    let mut github = pull_request(&base, "octo/app");
    github["api_url"] = server.url.clone().into();
    github["event"]["pull_request"]["number"] = 7.into();
    github["event"]["pull_request"]["head"]["sha"] = head.clone().into();
    let run = run_action(&ws, &tmp.0, &inputs, github, "success", &release_env(&server));
    let (log, summary) = (&run.log, &run.summary);
    assert!(!run.failed, "{log}");
    assert!(
        run.ran.contains(&"size-cache".to_string()) && run.ran.contains(&"size-review".to_string()),
        "{:?}",
        run.ran
    );
    // One store: the head's build took the base's steps from the cache.
    assert!(log.contains("RUN echo hello > /hello\n  └ CACHED"), "{log}");
    // The summary's figures are the store's: each image's layers and stored size, and the
    // content bytes analyze counts.
    let heading = summary
        .lines()
        .find(|l| l.contains("imgopt.local/build:") && l.contains(" → "))
        .expect("the comparison names both images");
    let names: Vec<&str> = heading.split('`').filter(|p| p.starts_with("imgopt.local/build:")).collect();
    assert_eq!(names.len(), 2, "{heading}");
    let names: Vec<&str> = names.iter().map(|n| n.split(' ').next().expect("name")).collect();
    let images: Value = serde_json::from_slice(&imgopt(&["images", "--format", "json"])).expect("images JSON");
    let image =
        |name: &str| images.as_array().expect("list").iter().find(|i| i["name"] == name).expect("in the store").clone();
    let (old, new) = (image(names[0]), image(names[1]));
    let human = imgopt::analyze::render::human;
    let row = |label: &str, b: String, a: String| format!("| {label} | {b} | {a} |");
    // The store keeps built layers as plain tars (compressed on the way out): what `imgopt
    // images` counts is the summary's "As tar" row.
    let as_tar =
        row("As tar", human(old["blob_size"].as_u64().expect("size")), human(new["blob_size"].as_u64().expect("size")));
    assert!(summary.contains(&as_tar), "{as_tar}\n{summary}");
    assert!(summary.contains(&format!("| Layers | {} | {} | +2", old["layers"], new["layers"])), "{summary}");
    let content = |name: &str| {
        let reference = format!("oci:{}:{name}", store.display());
        let report: Value =
            serde_json::from_slice(&imgopt(&["analyze", "--image", &reference, "--format", "json"])).expect("JSON");
        report["totals"]["content_bytes"].as_u64().expect("content bytes")
    };
    let (size_before, size_after) = (content(names[0]), content(names[1]));
    assert_eq!(run.outputs["size-before"], size_before.to_string());
    assert_eq!(run.outputs["size-after"], size_after.to_string());
    assert_eq!(run.outputs["size-growth"], "20000000");
    assert!(summary.contains(&row("Content", human(size_before), human(size_after))), "{summary}");
    // The per-line table: the two new lines, by their numbers in the head.
    assert!(
        summary.contains("| — | 3 | — | 20.0 MB | +20.0 MB | `RUN head -c 20000000 /dev/urandom > /blob.bin` |"),
        "{summary}"
    );
    assert!(summary.contains("| — | 4 | — | 0 B | 0 B | `RUN rm /blob.bin` |"), "{summary}");
    // Annotations on the changed lines: how much and which file; the cleanup that frees nothing.
    let a = annotations(log);
    assert!(
        a.contains(&"::warning file=img/Dockerfile,line=3,endLine=3,title=imgopt%3A image size::This line adds 20.0 MB to the image; largest files: /blob.bin (20.0 MB)"),
        "{log}"
    );
    assert!(
        a.iter().any(|l| l.starts_with("::warning file=img/Dockerfile,line=4,endLine=4,title=imgopt%3A cleanup frees nothing::This cleanup frees nothing: it hides 20.0 MB that earlier layers (line 3) still ship: /blob.bin (20.0 MB)")),
        "{log}"
    );
    // suggest: the rewriter's measured proposal (the cleanup moved into the RUN that creates
    // /blob.bin, joined with the RUN above it) posted as one review on lines 2-4 (the changed
    // lines and their context in the pull request's diff), at the head commit.
    let posted: Vec<String> =
        server.requests.lock().expect("requests").iter().filter(|r| r.starts_with("POST ")).cloned().collect();
    assert_eq!(posted.len(), 1, "{posted:?}\n{log}");
    let (path, body) = posted[0]["POST ".len()..].split_once(' ').expect("path and body");
    assert_eq!(path, "/repos/octo/app/pulls/7/reviews");
    let review: Value = serde_json::from_str(body).expect("the review is JSON");
    assert_eq!(review["commit_id"], head.as_str());
    assert_eq!(review["event"], "COMMENT");
    assert!(review["body"].as_str().expect("body").contains("builds smaller, measured: "), "{review:#}");
    let comments = review["comments"].as_array().expect("comments");
    assert_eq!(comments.len(), 1, "{review:#}");
    let c = &comments[0];
    assert_eq!(
        (c["path"].as_str(), c["start_line"].as_u64(), c["line"].as_u64()),
        (Some("img/Dockerfile"), Some(2), Some(4))
    );
    assert!(c.get("group").is_none(), "the poster removes imgopt's grouping: {c}");
    let suggestion = c["body"].as_str().expect("body");
    assert!(suggestion.contains("**cleanup-into-creator**"), "{suggestion}");
    assert!(
        suggestion.contains(
            "```suggestion\nRUN echo hello > /hello \\\n    && head -c 20000000 /dev/urandom > /blob.bin \\\n    && rm /blob.bin\n```"
        ),
        "{suggestion}"
    );
    assert!(summary.contains("Posted 1 suggestion(s) as a review of this pull request."), "{summary}");

    // The README shows this summary: its per-line rows are this run's.
    std::fs::write(Path::new(env!("CARGO_TARGET_TMPDIR")).join("size-review-summary.md"), summary).expect("write");
    let readme = std::fs::read_to_string(Path::new(ACTION_DIR).join("README.md")).expect("README");
    let shown = readme.split("<!-- size-review-summary -->").nth(1).expect("the README shows a size review");
    for line in shown.lines().take_while(|l| !l.starts_with("<!--")).filter(|l| l.starts_with("| — |")) {
        assert!(summary.contains(line), "the README's summary row is not this run's: {line}\n{summary}");
    }

    // Gates: 20 MB on a 2 MB image is over 10%; lines under size-annotate-min are not annotated.
    let scratch = tmp.path("second-runner");
    std::fs::create_dir_all(&scratch).expect("mkdir");
    let copy = Command::new("cp").arg("-a").arg(&store).arg(scratch.join("imgopt-store")).status().expect("cp");
    assert!(copy.success());
    let inputs = [
        ("version", VERSION),
        ("failure-threshold", "none"),
        ("sarif", "false"),
        ("size-review", "true"),
        ("max-growth", "10%"),
        ("size-annotate-min", "30MB"),
        ("suggest", "true"),
    ];
    // From a fork: the token is read-only, so the suggestions stay in the summary.
    let posts_before = server.requests.lock().expect("requests").iter().filter(|r| r.starts_with("POST ")).count();
    let mut github = pull_request(&base, "someone/fork");
    github["api_url"] = server.url.clone().into();
    github["event"]["pull_request"]["number"] = 7.into();
    let run = run_action(&ws, &scratch, &inputs, github, "success", &release_env(&server));
    let log = &run.log;
    let posts_after = server.requests.lock().expect("requests").iter().filter(|r| r.starts_with("POST ")).count();
    assert_eq!(posts_before, posts_after, "nothing is posted from a fork");
    assert!(run.summary.contains("Suggestions not posted: a pull request from a fork"), "{}", run.summary);
    assert!(run.failed, "{log}");
    assert!(log.contains("::error file=img/Dockerfile,title=imgopt size gate::max-growth: the image grew by"), "{log}");
    assert!(log.contains("imgopt: the size review failed its gates"), "{log}");
    assert!(run.summary.contains("Gate failed: max-growth"), "{}", run.summary);
    assert!(!log.contains("title=imgopt%3A image size"), "{log}");
    assert!(log.contains("title=imgopt%3A cleanup frees nothing"), "{log}");
}
