//! `imgopt rewrite --measure` on real builds with imgopt's own builder: every figure checked
//! here comes from the two images the run built (read back with imgopt's reader), never from a
//! constant of the test, apart from the bytes the test itself wrote into a layer.
//! Bases are made once per run (tests/common/bases.rs) and loaded into one store.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

mod common;
use common::bases;

fn imgopt() -> &'static str {
    env!("CARGO_BIN_EXE_imgopt")
}

fn store() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rewrite-store")
}

fn ready(test: &str) -> bool {
    common::builder_ready(test)
}

fn load(base: &bases::BaseImage) {
    let out = Command::new(imgopt())
        .env("IMGOPT_STORE", store())
        .args(["load", &base.docker_archive_ref(), "-t", &base.name])
        .output()
        .expect("imgopt runs");
    assert!(out.status.success(), "imgopt load: {}", String::from_utf8_lossy(&out.stderr));
}

fn busybox() -> &'static str {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| load(&bases::busybox()));
    bases::BUSYBOX_NAME
}

fn debian() -> &'static str {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| load(&bases::debian()));
    bases::DEBIAN_NAME
}

fn context(name: &str, dockerfile: &str, files: &[(&str, Vec<u8>)]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rewrite-contexts").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    for (rel, content) in files {
        std::fs::write(dir.join(rel), content).unwrap();
    }
    dir
}

fn rewrite(dir: &Path, extra: &[&str]) -> Output {
    Command::new(imgopt())
        .arg("rewrite")
        .args(extra)
        .arg(dir)
        .env("IMGOPT_STORE", store())
        .env("CI", "true")
        .output()
        .expect("imgopt runs")
}

/// `rewrite --measure --format json`: the report, after checking the exit code (1: a proposal).
fn measured(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--measure", "--format", "json"];
    args.extend_from_slice(extra);
    let out = rewrite(dir, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr:\n{stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("json: {e}\n{stderr}"))
}

fn figure(report: &Value, side: &str, what: &str) -> u64 {
    report["measurement"][side][what].as_u64().unwrap_or_else(|| panic!("no {side}.{what} in {report}"))
}

fn unexpected(report: &Value) -> Vec<String> {
    report["measurement"]["safety"]["unexpected"]
        .as_array()
        .expect("safety")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_directory_deleted_in_the_next_run_saves_exactly_its_bytes() {
    if !ready("a_directory_deleted_in_the_next_run_saves_exactly_its_bytes") {
        return;
    }
    let base = busybox();
    let blob = 20 * 1024 * 1024;
    let dockerfile = format!(
        "FROM {base}\nRUN mkdir -p /data && head -c {blob} /dev/urandom > /data/blob && echo kept > /kept\nRUN rm -rf /data\nCMD [\"cat\", \"/kept\"]\n"
    );
    let dir = context("delete-20mb", &dockerfile, &[]);
    let report = measured(&dir, &[]);
    let saved = figure(&report, "before", "content_bytes") - figure(&report, "after", "content_bytes");
    assert_eq!(saved, blob, "{report:#}");
    assert_eq!(figure(&report, "before", "invisible_bytes"), blob, "{report:#}");
    assert_eq!(figure(&report, "after", "invisible_bytes"), 0, "{report:#}");
    assert_eq!(figure(&report, "after", "layers") + 1, figure(&report, "before", "layers"));
    assert!(unexpected(&report).is_empty(), "{report:#}");
    let applied = report["applied"].as_array().unwrap();
    assert!(applied.iter().any(|a| a["transform"] == "cleanup-into-creator"), "{report:#}");
}

#[test]
fn copy_then_chown_becomes_copy_chown_and_write_replaces_the_file() {
    if !ready("copy_then_chown_becomes_copy_chown_and_write_replaces_the_file") {
        return;
    }
    let base = busybox();
    let payload: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    // The destination is the directory the COPY creates: `--chown` owns it as `chown -R` did
    // (BuildKit gives the directories a COPY creates the --chown owner).
    let dockerfile = format!("FROM {base}\r\nCOPY app/ /app/\r\nRUN chown -R app:app /app\r\n");
    let dir = context("copy-chown", &dockerfile, &[]);
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(dir.join("app/data.bin"), &payload).unwrap();
    let report = measured(&dir, &[]);
    let saved = figure(&report, "before", "content_bytes") - figure(&report, "after", "content_bytes");
    assert_eq!(saved, payload.len() as u64, "{report:#}");
    assert!(unexpected(&report).is_empty(), "{report:#}");
    // --write: measured, safe, smaller: the file is replaced, its CRLF line endings kept.
    let out = rewrite(&dir, &["--write"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let written = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
    assert_eq!(written, format!("FROM {base}\r\nCOPY --chown=app:app app/ /app/\r\n"));
    // Nothing left to propose.
    let again = rewrite(&dir, &[]);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stdout));
}

#[test]
fn a_destination_a_package_made_keeps_the_owners_chown_gave_it() {
    if !ready("a_destination_a_package_made_keeps_the_owners_chown_gave_it") {
        return;
    }
    let base = busybox();
    // /var/www/html and its index page exist before the COPY (as nginx's package makes them):
    // `chown -R` changed them too. The proposal copies with --chown and keeps a `find` that
    // changes only what the COPY did not set: the same image, the copied bytes stored once.
    let dockerfile = format!(
        "FROM {base} AS prepared\nRUN mkdir -p /var/www/html && echo x > /var/www/html/index.html\nFROM prepared\nCOPY site /var/www/html\nRUN chown -R app:app /var/www/html\n"
    );
    let dir = context("package-dir", &dockerfile, &[]);
    let payload: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 241) as u8).collect();
    std::fs::create_dir_all(dir.join("site")).unwrap();
    std::fs::write(dir.join("site/page.bin"), &payload).unwrap();
    let report = measured(&dir, &["--only", "copy-chown"]);
    assert!(unexpected(&report).is_empty(), "{report:#}");
    let saved = figure(&report, "before", "content_bytes") - figure(&report, "after", "content_bytes");
    assert_eq!(saved, payload.len() as u64, "{report:#}");
}

#[test]
fn a_rewrite_that_changes_the_image_is_reported_and_not_written() {
    if !ready("a_rewrite_that_changes_the_image_is_reported_and_not_written") {
        return;
    }
    let base = busybox();
    // The stage starts from one that already has /srv/app/earlier: `chown -R` changes it too,
    // `COPY --chown` would not. copy-chown cannot see that (another stage made it); the safety
    // check does.
    let dockerfile = format!(
        "FROM {base} AS prepared\nRUN mkdir -p /srv/app && echo x > /srv/app/earlier\nFROM prepared\nCOPY app/ /srv/app/\nRUN chown -R app:app /srv/app\n"
    );
    let dir = context("changes-the-image", &dockerfile, &[]);
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(dir.join("app/a"), b"a").unwrap();
    let report = measured(&dir, &["--only", "copy-chown"]);
    let unexpected = unexpected(&report);
    assert!(unexpected.iter().any(|u| u.contains("srv/app/earlier")), "{report:#}");
    let shares = report["measurement"]["shares"].as_array().unwrap();
    assert_eq!(shares[0]["changes_image"], true, "{report:#}");
    let out = rewrite(&dir, &["--write", "--only", "copy-chown"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not written"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(dir.join("Dockerfile")).unwrap(), dockerfile);
}

#[test]
fn apt_in_separate_runs_on_debian_gets_its_lists_removed_in_the_install_layer() {
    if !ready("apt_in_separate_runs_on_debian_gets_its_lists_removed_in_the_install_layer") {
        return;
    }
    if !common::need(&["debootstrap"], "apt-get install debootstrap") {
        return;
    }
    let base = debian();
    let dockerfile = format!(
        "FROM {base}\nRUN apt-get update\nRUN apt-get install -y --no-install-recommends tree\nRUN apt-get clean\nRUN rm -rf /var/lib/apt/lists/*\nCMD [\"tree\", \"--version\"]\n"
    );
    let dir = context("apt-separate", &dockerfile, &[]);
    let report = measured(&dir, &[]);
    let (before, after) = (figure(&report, "before", "content_bytes"), figure(&report, "after", "content_bytes"));
    let (hidden_before, hidden_after) =
        (figure(&report, "before", "invisible_bytes"), figure(&report, "after", "invisible_bytes"));
    // What the separate cleanups hid is what the rewrite stops shipping; what stays hidden is
    // the base's own files the install rewrites (dpkg's status, logs), well under a megabyte.
    assert!(hidden_before > 10_000_000, "the apt lists should be megabytes: {report:#}");
    assert!(hidden_after < 1_000_000, "{report:#}");
    assert_eq!(before - after, hidden_before - hidden_after, "{report:#}");
    assert_eq!(figure(&report, "after", "layers"), figure(&report, "before", "layers") - 3, "{report:#}");
    assert!(unexpected(&report).is_empty(), "{report:#}");
}

/// A C program compiled with gcc on the Debian base (`flags` added to the compile), rewritten
/// with multi-stage alone and measured: the report, and the base's name.
fn gcc_program(test: &str, flags: &str, greeting: &str) -> Option<(Value, String)> {
    if !ready(test) || !common::need(&["debootstrap"], "apt-get install debootstrap") {
        return None;
    }
    let base = debian();
    // The same install in every such test: its layer comes from the step cache after the first.
    let dockerfile = format!(
        "FROM {base}\nRUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*\nWORKDIR /src\nCOPY hello.c .\nRUN gcc -O2{flags} -o /usr/local/bin/hello hello.c\nCMD [\"/usr/local/bin/hello\"]\n"
    );
    let source = format!(
        "#include <stdio.h>\nint main(int argc, char **argv) {{ puts(argc > 1 ? argv[1] : \"{greeting}\"); return 0; }}\n"
    );
    let dir = context(test, &dockerfile, &[("hello.c", source.into_bytes())]);
    Some((measured(&dir, &["--only", "multi-stage"]), base.to_string()))
}

#[test]
fn a_program_built_with_gcc_ships_alone_and_still_runs() {
    let Some((report, base)) = gcc_program("a_program_built_with_gcc_ships_alone_and_still_runs", "", "hello") else {
        return;
    };
    let (before, after) = (figure(&report, "before", "content_bytes"), figure(&report, "after", "content_bytes"));
    // gcc and its libraries are tens of megabytes; the program is kilobytes.
    assert!(before - after > 20_000_000, "{report:#}");
    let artifact = &report["measurement"]["artifact"];
    assert_eq!(artifact["runs"], true, "{report:#}");
    assert_eq!(artifact["command"][0], "/usr/local/bin/hello", "{report:#}");
    assert!(unexpected(&report).is_empty(), "{report:#}");
    let proposal = report["proposal"].as_str().unwrap();
    assert!(proposal.contains("COPY --from=build /usr/local/bin/hello /usr/local/bin/hello"), "{proposal}");
    // Linked with the base's libc, it does not run on scratch: the runtime stage keeps the base.
    assert!(proposal.contains(&format!("\nFROM {base}\nCOPY --from=build")), "{proposal}");
}

#[test]
fn a_static_program_ships_on_scratch() {
    let Some((report, _)) = gcc_program("a_static_program_ships_on_scratch", " -static", "static") else {
        return;
    };
    let proposal = report["proposal"].as_str().unwrap();
    // The smaller candidate in reach: the runtime stage starts from nothing, and the program
    // prints the same there.
    assert!(
        proposal.contains("\nFROM scratch\nCOPY --from=build /usr/local/bin/hello /usr/local/bin/hello\n"),
        "{proposal}"
    );
    assert_eq!(report["measurement"]["artifact"]["runs"], true, "{report:#}");
    assert!(unexpected(&report).is_empty(), "{report:#}");
    // The image is the program and the WORKDIR: a static hello of well under 2 MB, one layer
    // per instruction that writes.
    let after = figure(&report, "after", "content_bytes");
    assert!(after < 2_000_000 && after > 100_000, "{report:#}");
    let applied = report["applied"].as_array().unwrap();
    assert!(applied.iter().any(|a| a["reason"].as_str().unwrap().contains("runs on `scratch`")), "{report:#}");
}
