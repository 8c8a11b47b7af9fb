//! Pulling from a registry that wants a login, with the credentials where Docker and podman users
//! keep them: Debian's `docker-registry` with htpasswd basic auth, started here, and logins in
//! `~/.docker/config.json` (`auths`), a credential helper the test writes (`credHelpers`,
//! `credsStore`) and a podman auth file (`REGISTRY_AUTH_FILE`, a namespaced key). A wrong password
//! and a missing login are errors that name the registry and never show the password.
//!
//! Needs: docker-registry, skopeo, htpasswd (apt: docker-registry skopeo apache2-utils). With
//! CI=true missing tools fail the test.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::*;

const USER: &str = "alice";
const PASSWORD: &str = "correct-horse-7";

fn tools_present() -> bool {
    need(&["docker-registry", "skopeo", "htpasswd"], "apt-get install docker-registry skopeo apache2-utils")
}

fn base64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// `imgopt analyze --image registry:NAME` with a fresh blob cache, HOME and PATH set by `env`.
fn analyze(name: &str, home: &Path, env: &[(&str, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgopt"));
    cmd.args(["analyze", "--image", &format!("registry:{name}"), "--format", "json"])
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn pulled(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what}: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["totals"]["reclaimable_bytes"], 2050, "{what}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stderr.contains(PASSWORD) && !stdout.contains(PASSWORD), "{what}: the password was printed");
}

/// The text without whitespace and miette's frame: messages are wrapped to the terminal's width.
fn flat(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace() && *c != '│').collect()
}

/// A fresh home directory `tag` holding `files` (path relative to it, content).
fn home(tmp: &TempDir, tag: &str, files: &[(&str, String)]) -> std::path::PathBuf {
    let home = tmp.path(tag);
    for (path, content) in files {
        let path = home.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    std::fs::create_dir_all(&home).unwrap();
    home
}

#[test]
fn pulls_with_docker_and_podman_logins() {
    if !tools_present() {
        return;
    }
    let tmp = TempDir::new("registry-login");
    let registry = registry::start(&tmp.0, Some((USER, PASSWORD)));
    let host = format!("127.0.0.1:{}", registry.port);
    let layers = waste_scenario();
    let oci = tmp.path("oci");
    write_dir(&oci, &oci_files(&layers, &config_json(&layers)));
    let name = format!("{host}/test/private:1");
    let out = Command::new("skopeo")
        .args(["copy", "--dest-tls-verify=false", "--dest-creds", &format!("{USER}:{PASSWORD}")])
        .arg(format!("oci:{}:latest", oci.display()))
        .arg(format!("docker://{name}"))
        .output()
        .unwrap();
    assert!(out.status.success(), "skopeo: {}", String::from_utf8_lossy(&out.stderr));

    // docker login's form: base64 user:password under the host.
    let config = format!(r#"{{"auths": {{"{host}": {{"auth": "{}"}}}}}}"#, base64(&format!("{USER}:{PASSWORD}")));
    let h = home(&tmp, "home-auths", &[(".docker/config.json", config)]);
    pulled(&analyze(&name, &h, &[]), "auths in ~/.docker/config.json");

    // A credential helper, written here; it records the server it was asked about.
    let bin = tmp.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let asked = tmp.path("helper-asked");
    let helper = bin.join("docker-credential-imgopttest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 3\nread -r server\necho \"$server\" >> {}\nif [ \"$server\" = {host} ]; then\n  printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\"\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n",
            asked.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let with_path = [("PATH", path.clone())];
    let h = home(
        &tmp,
        "home-helper",
        &[(".docker/config.json", format!(r#"{{"credHelpers": {{"{host}": "imgopttest"}}}}"#))],
    );
    pulled(&analyze(&name, &h, &with_path), "credHelpers");
    let h = home(&tmp, "home-store", &[(".docker/config.json", r#"{"credsStore": "imgopttest", "auths": {}}"#.into())]);
    pulled(&analyze(&name, &h, &with_path), "credsStore");
    assert_eq!(std::fs::read_to_string(&asked).unwrap(), format!("{host}\n{host}\n"));

    // podman's auth file, named by REGISTRY_AUTH_FILE, with a key for the repository's namespace
    // that wins over a wrong login for the whole registry.
    let wrong = base64(&format!("{USER}:nope"));
    let right = base64(&format!("{USER}:{PASSWORD}"));
    let podman = format!(r#"{{"auths": {{"{host}": {{"auth": "{wrong}"}}, "{host}/test": {{"auth": "{right}"}}}}}}"#);
    let h = home(&tmp, "home-podman", &[("auth.json", podman)]);
    pulled(&analyze(&name, &h, &[("REGISTRY_AUTH_FILE", h.join("auth.json").display().to_string())]), "podman");

    // A wrong password: exit 2, the registry and the user named, the password nowhere.
    let bad_password = "wrong-battery-9";
    let config = format!(r#"{{"auths": {{"{host}": {{"auth": "{}"}}}}}}"#, base64(&format!("{USER}:{bad_password}")));
    let h = home(&tmp, "home-wrong", &[(".docker/config.json", config)]);
    let out = analyze(&name, &h, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        flat(&stderr).contains(&flat(&format!("{host} refused the login of `{USER}` (from ~/.docker/config.json)"))),
        "{stderr}"
    );
    assert!(!stderr.contains(bad_password) && !stderr.contains(PASSWORD), "{stderr}");

    // No login at all: exit 2, and how to log in.
    let h = home(&tmp, "home-none", &[]);
    let out = analyze(&name, &h, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(flat(&stderr).contains(&flat(&format!("docker login {host}"))), "{stderr}");
}
