//! The GitHub Action run as a runner runs it: action.yml's steps in order, `${{ }}` expressions
//! and `if:` conditions evaluated, each `run:` step executed by bash with the runner's variables
//! (GITHUB_ACTIONS, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, ...), in a temp git repository with a bad
//! Dockerfile. `uses:` steps (actions/cache, upload-sarif) are not run: their outcome is chosen
//! by the scenario. The release download is served from a file:// URL.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{config_json, git, oci_files, waste_scenario, write_tar, TempDir};
use serde_json::Value;

const ACTION_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// Everything a step can read through an expression.
struct Context {
    inputs: BTreeMap<String, String>,
    github: Value,
    steps: BTreeMap<String, (String, BTreeMap<String, String>)>, // id -> (outcome, outputs)
}

impl Context {
    fn lookup(&self, path: &str) -> String {
        let parts: Vec<&str> = path.split('.').collect();
        match parts.as_slice() {
            ["inputs", name] => self.inputs.get(*name).cloned().unwrap_or_default(),
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
    let mut ctx = Context { inputs: BTreeMap::new(), github, steps: BTreeMap::new() };
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

/// A release directory as the action expects one: v0.1.0/imgopt-0.1.0-<target>.tar.gz + .sha256.
fn release(root: &Path, tamper: bool) -> String {
    let dir = root.join("releases/v0.1.0");
    std::fs::create_dir_all(dir.join("pkg")).expect("mkdir");
    std::fs::copy(env!("CARGO_BIN_EXE_imgopt"), dir.join("pkg/imgopt")).expect("copy binary");
    let asset = "imgopt-0.1.0-x86_64-unknown-linux-gnu.tar.gz";
    let status = Command::new("tar")
        .args(["-I", "gzip -1", "-cf", asset, "-C", "pkg", "imgopt"])
        .current_dir(&dir)
        .status()
        .expect("tar");
    assert!(status.success());
    let sum = Command::new("sha256sum").arg(asset).current_dir(&dir).output().expect("sha256sum");
    let digest = String::from_utf8_lossy(&sum.stdout).split_whitespace().next().expect("digest").to_string();
    let digest = if tamper { digest.replace(|c: char| c != '0', "0") } else { digest };
    std::fs::write(dir.join(format!("{asset}.sha256")), format!("{digest}  {asset}\n")).expect("write");
    format!("file://{}", root.join("releases").display())
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
    let layers = waste_scenario();
    write_tar(&ws.join("app.tar"), &oci_files(&layers, &config_json(&layers)));
    // dive's CI file at the workspace root sets the image's gates: 2050 B reclaimable fails this one.
    std::fs::write(ws.join(".dive-ci"), "rules:\n  highestWastedBytes: 2000\n").expect("write .dive-ci");
    let image_size: usize = layers.iter().map(|l| l.tar.len()).sum();
    let url = release(&tmp.0, false);
    let run = run_action(
        &ws,
        &tmp.0,
        &[("version", "0.1.0"), ("image", "oci-archive:app.tar")],
        pull_request(&base, "octo/app"),
        "success",
        &[("IMGOPT_RELEASE_BASE_URL", url)],
    );
    let log = &run.log;
    // Installed from the (checksum-verified) release, then linted.
    assert!(log.contains("imgopt 0.1.0"), "{log}");
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
    assert_eq!(run.outputs["invisible-bytes"], "2050");
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
    assert!(run.summary.contains("| Layer | Content | Compressed | Invisible |"), "{}", run.summary);
}

#[test]
fn fork_pull_request_falls_back_to_annotations_and_summary() {
    if !ready() {
        return;
    }
    let tmp = TempDir::new("action-fork");
    let (ws, base) = repo(&tmp.0);
    let url = release(&tmp.0, false);
    // failure-threshold none: nothing but the fork could fail this job, and it must not.
    let run = run_action(
        &ws,
        &tmp.0,
        &[("version", "0.1.0"), ("failure-threshold", "none")],
        pull_request(&base, "stranger/app"),
        "failure",
        &[("IMGOPT_RELEASE_BASE_URL", url)],
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
    let url = release(&tmp.0, false);
    let run = run_action(
        &ws,
        &tmp.0,
        &[("version", "0.1.0"), ("failure-threshold", "error")],
        pull_request(&base, "octo/app"),
        "failure",
        &[("IMGOPT_RELEASE_BASE_URL", url)],
    );
    assert!(run.ran.contains(&"upload-fallback".to_string()), "{:?}", run.ran);
    assert!(run.log.contains("::warning title=imgopt::The SARIF upload to code scanning failed"), "{}", run.log);
    assert!(!run.failed, "{}", run.log);
}

#[test]
fn tampered_release_is_refused() {
    if !ready() {
        return;
    }
    let tmp = TempDir::new("action-tamper");
    let (ws, base) = repo(&tmp.0);
    let url = release(&tmp.0, true);
    let run = run_action(
        &ws,
        &tmp.0,
        &[("version", "v0.1.0")],
        pull_request(&base, "octo/app"),
        "success",
        &[("IMGOPT_RELEASE_BASE_URL", url)],
    );
    assert!(run.failed);
    assert!(run.log.contains("checksum mismatch for imgopt-0.1.0-x86_64-unknown-linux-gnu.tar.gz"), "{}", run.log);
    assert!(!run.ran.contains(&"lint".to_string()), "{:?}", run.ran);
}
