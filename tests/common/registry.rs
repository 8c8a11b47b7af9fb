//! Debian's `docker-registry` (distribution) on a free loopback port, optionally behind htpasswd
//! basic authentication, for the pull tests.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The running registry; killed when dropped.
pub struct Registry {
    child: Child,
    pub port: u16,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves `dir/data` until dropped. With `login`, every request needs that user and password
/// (an htpasswd file made by `htpasswd -B`, as the registry's htpasswd auth wants bcrypt).
pub fn start(dir: &Path, login: Option<(&str, &str)>) -> Registry {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
        dir.join("data").display()
    );
    if let Some((user, password)) = login {
        let file = dir.join("htpasswd");
        let out = Command::new("htpasswd").args(["-Bbn", user, password]).output().expect("htpasswd runs");
        assert!(out.status.success(), "htpasswd: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::write(&file, &out.stdout).unwrap();
        config.push_str(&format!("auth:\n  htpasswd:\n    realm: imgopt-test\n    path: {}\n", file.display()));
    }
    let config_file = dir.join("config.yml");
    std::fs::write(&config_file, config).unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(&config_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let registry = Registry { child, port };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "docker-registry did not start on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    registry
}
