//! The build cases of `testdata/build/`: each a directory with a Dockerfile and its context,
//! and here what the directory cannot say (the base it needs, build flags, secrets, whether the
//! build must fail, which reference builder cannot build it and why).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::bases::{self, BaseImage};
use super::docker::BuildOptions;
use super::fidelity::Allow;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    Busybox,
    Debian,
}

impl Base {
    pub fn image(self) -> BaseImage {
        match self {
            Base::Busybox => bases::busybox(),
            Base::Debian => bases::debian(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Case {
    pub name: &'static str,
    pub base: Base,
    pub build_args: &'static [(&'static str, &'static str)],
    /// (id, file in the case directory)
    pub secrets: &'static [(&'static str, &'static str)],
    pub network: Option<&'static str>,
    /// The build must fail, and its output must contain this.
    pub fails_with: Option<&'static str>,
    /// Why Docker 20.10's BuildKit cannot build it here, if it cannot.
    pub docker_cannot: Option<&'static str>,
    /// Why buildah 1.28 cannot build it (or builds it differently), if so.
    pub buildah_cannot: Option<&'static str>,
    /// Differences from docker that buildah shows on this case only, explained.
    pub buildah_allow: &'static [Allow],
    /// What imgopt's builder does differently from Docker 20.10 on this case, and why.
    pub imgopt_allow: &'static [Allow],
}

const fn case(name: &'static str) -> Case {
    Case {
        name,
        base: Base::Busybox,
        build_args: &[],
        secrets: &[],
        network: None,
        fails_with: None,
        docker_cannot: None,
        buildah_cannot: None,
        buildah_allow: &[],
        imgopt_allow: &[],
    }
}

/// Every case, in the order the tests run them.
pub fn all() -> Vec<Case> {
    vec![
        case("delete-20mb"),
        Case {
            docker_cannot: Some(
                "heredocs need the dockerfile:1.4 frontend; Docker 20.10's built-in frontend has none and \
                 `# syntax=docker/dockerfile:1.4` cannot be pulled without a registry",
            ),
            buildah_cannot: Some("buildah 1.28 has no heredoc support (added in buildah 1.33)"),
            ..case("heredoc")
        },
        case("multistage"),
        case("dockerignore"),
        case("chown-chmod"),
        case("add-archives"),
        Case {
            buildah_allow: &[Allow {
                glob: "{var,var/cache,var/cache/app,root,root/.cache}",
                final_only: None,
                reason: "BuildKit leaves the cache mount's target directory (and its parents) in the layer; buildah does not",
            }],
            ..case("cache-mount")
        },
        Case { secrets: &[("token", "token.txt")], ..case("secret") },
        Case { fails_with: Some("about to fail"), ..case("failing-run") },
        Case {
            network: Some("none"),
            buildah_cannot: Some("buildah refuses --network none with --isolation chroot (the only isolation without runc setup)"),
            ..case("network-none")
        },
        Case {
            buildah_allow: &[Allow {
                glob: "*",
                final_only: Some(false),
                reason: "BuildKit makes a layer of its own for a WORKDIR that creates the directory; buildah creates it \
                         in the next RUN's layer, so the layers do not line up (the final filesystems are compared)",
            }],
            ..case("user-switch")
        },
        Case {
            buildah_cannot: Some("buildah 1.28 does not run the ONBUILD triggers of a stage used as a base (`FROM parent`)"),
            ..case("onbuild")
        },
        Case {
            base: Base::Debian,
            buildah_allow: &[
                Allow {
                    glob: "{**/.wh..wh..opq,tmp,var/cache/debconf,var/cache/debconf/*.dat,var/lib/dpkg/lock-frontend,var/lib/dpkg/updates}",
                    final_only: Some(false),
                    reason: "BuildKit diffs the overlay upperdir: directories dpkg replaced are opaque \
                             (.wh..wh..opq), and files rewritten with the same content (debconf's databases, \
                             dpkg's lock) or directories whose mtime changed (/tmp) are in the layer; buildah's \
                             vfs diff compares trees and leaves them out",
                },
                Allow {
                    glob: "",
                    final_only: Some(false),
                    reason: "the layer's content bytes: the unchanged files BuildKit's overlay differ keeps (above)",
                },
            ],
            imgopt_allow: &[
                Allow {
                    glob: "{**/.wh..wh..opq,tmp,var/cache/debconf,var/cache/debconf/*.dat,var/lib/dpkg/lock-frontend,var/lib/dpkg/updates}",
                    final_only: Some(false),
                    reason: "Docker 20.10 builds on its overlay2 graph driver, whose layer is the whole upper \
                             directory: files copied up but unchanged (debconf's databases, dpkg's lock, opened \
                             for writing, same size, mode and time), directories copied up (/tmp) and opaque \
                             markers of new directories that hide nothing. imgopt follows BuildKit's overlay \
                             differ, which compares each with the layer below (sameDirent) and leaves them out",
                },
                Allow {
                    glob: "",
                    final_only: Some(false),
                    reason: "the layer's content bytes: exactly the copied-up unchanged files Docker 20.10 keeps (above)",
                },
            ],
            ..case("apt-install")
        },
    ]
}

pub fn by_name(name: &str) -> Case {
    all().into_iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no build case {name}"))
}

pub fn testdata_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/build")
}

impl Case {
    pub fn source_dir(&self) -> PathBuf {
        testdata_dir().join(self.name)
    }

    /// Copies the case into `dir/context` (and makes what testdata cannot hold: archives), and
    /// returns the build options for it.
    pub fn prepare(&self, dir: &Path) -> BuildOptions {
        let context = dir.join("context");
        let _ = std::fs::remove_dir_all(&context);
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("cp").arg("-a").arg(self.source_dir()).arg(&context).status().unwrap();
        assert!(status.success(), "copy {}", self.name);
        if self.name == "add-archives" {
            make_archives(&context);
        }
        BuildOptions {
            dockerfile: context.join("Dockerfile"),
            context: context.clone(),
            build_args: self.build_args.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            secrets: self.secrets.iter().map(|(id, f)| (id.to_string(), context.join(f))).collect(),
            network: self.network.map(str::to_string),
            target: None,
            no_cache: false,
        }
    }
}

/// plain.tar, gz.tar.gz, bz2.tar.bz2, xz.tar.xz (each: a directory, two files, a symlink, an
/// entry owned by 1000), and not-an-archive.gz (a .gz name on plain text: ADD copies it).
fn make_archives(context: &Path) {
    let src = context.join("archive-src");
    std::fs::create_dir_all(src.join("dir/sub")).unwrap();
    std::fs::write(src.join("dir/a.txt"), "a\n").unwrap();
    std::fs::write(src.join("dir/sub/b.txt"), "b".repeat(5000)).unwrap();
    std::os::unix::fs::symlink("a.txt", src.join("dir/link")).unwrap();
    for (file, flag) in
        [("plain.tar", None), ("gz.tar.gz", Some("-z")), ("bz2.tar.bz2", Some("-j")), ("xz.tar.xz", Some("-J"))]
    {
        let mut cmd = Command::new("tar");
        cmd.args(["--sort=name", "--mtime=@1700000000", "--owner=1000", "--group=1000", "--numeric-owner"]);
        if let Some(f) = flag {
            cmd.arg(f);
        }
        let status = cmd.arg("-cf").arg(context.join(file)).arg("-C").arg(&src).arg("dir").status().unwrap();
        assert!(status.success(), "tar {file}");
    }
    std::fs::remove_dir_all(&src).unwrap();
    std::fs::write(context.join("not-an-archive.gz"), "plain text with a .gz name\n").unwrap();
}
