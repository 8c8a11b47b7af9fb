//! Which implementation of a common tool a RUN runs: BusyBox's (Alpine and busybox images) or
//! GNU's (Debian, Ubuntu, the RHEL and SUSE families). A rule's advice, and whether its fix is
//! safe, can depend on it: BusyBox `wget` rejects `--progress` ("unrecognized option") and
//! prints one progress line where GNU `wget` prints a thousand.
//!
//! Read from the base image at the root of the stage's lineage, and from what the RUNs before
//! (in the stage and the in-file stages it builds on) do: `apk add wget` puts GNU wget over
//! BusyBox's; a stage running apt-get, yum or dnf is not BusyBox-based, one running apk is.

use crate::image::name::NameParts;
use crate::lint::checker::Checker;
use crate::model::run_script::{is_apt, RunCommand};

/// The implementation of the common command-line tools a stage has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Userland {
    /// BusyBox applets: Alpine, busybox.
    Busybox,
    /// GNU tools: Debian, Ubuntu, CentOS, Fedora, RHEL, SUSE and the official images built on them.
    Gnu,
    /// A base imgopt cannot place (a variable, a private image, scratch).
    Unknown,
}

/// Official images whose default variant (a tag without `alpine`) is Debian- or Ubuntu-based.
const DEBIAN_BASED: &[&str] = &[
    "python",
    "node",
    "golang",
    "ruby",
    "php",
    "perl",
    "rust",
    "openjdk",
    "eclipse-temurin",
    "maven",
    "gradle",
    "buildpack-deps",
    "httpd",
    "nginx",
    "postgres",
    "redis",
    "elixir",
    "erlang",
    "haskell",
    "gcc",
    "julia",
    "tomcat",
    "wordpress",
    "r-base",
];

/// Distributions with GNU userlands, by repository name.
const GNU_DISTROS: &[&str] = &[
    "debian",
    "ubuntu",
    "centos",
    "fedora",
    "rockylinux",
    "almalinux",
    "amazonlinux",
    "oraclelinux",
    "ubi",
    "ubi8",
    "ubi9",
    "ubi-minimal",
    "leap",
    "tumbleweed",
    "archlinux",
    "kali-rolling",
];

/// Tag words that name a Debian or Ubuntu release (`python:3.12-slim-bookworm`).
const GNU_TAG_WORDS: &[&str] = &[
    "bookworm", "bullseye", "buster", "stretch", "jessie", "trixie", "sid", "noble", "jammy", "focal", "bionic",
    "xenial", "slim", "ubuntu", "debian", "centos", "ubi",
];

/// The userland of an image reference as a FROM names it (after meta ARGs).
pub fn of_image(reference: &str) -> Userland {
    if reference.contains('$') || reference.eq_ignore_ascii_case("scratch") {
        return Userland::Unknown;
    }
    let lower = reference.to_ascii_lowercase();
    let parts = NameParts::split(&lower);
    let path = parts.path.strip_prefix("library/").unwrap_or(parts.path);
    let name = path.rsplit('/').next().unwrap_or(path);
    let tag = parts.tag.unwrap_or_default();
    let tag_words = || tag.split(['-', '.', '_']);
    if matches!(name, "alpine" | "busybox") || tag_words().any(|w| w.starts_with("alpine") || w == "busybox") {
        return Userland::Busybox;
    }
    let official = parts.domain.is_none_or(|d| d == "docker.io") && !path.contains('/');
    if GNU_DISTROS.contains(&name)
        || (official && DEBIAN_BASED.contains(&name))
        || tag_words().any(|w| GNU_TAG_WORDS.contains(&w))
    {
        return Userland::Gnu;
    }
    Userland::Unknown
}

/// What the RUNs so far (in a stage and the in-file stages it is built on) say about `tool`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence {
    apk: bool,
    other_manager: bool,
    /// `apk add <tool>`: GNU's over BusyBox's.
    installed: bool,
}

impl Evidence {
    /// Takes in one command, run before the ones asked about next.
    pub fn observe(&mut self, cmd: &RunCommand<'_, '_>, tool: &str) {
        match cmd.name() {
            Some("apk") => {
                self.apk = true;
                let words = cmd.args();
                self.installed |= words.iter().any(|w| w.text == "add") && words.iter().any(|w| w.text == tool);
            }
            Some(name) if is_apt(name) || matches!(name, "yum" | "dnf" | "dnf5" | "microdnf" | "zypper") => {
                self.other_manager = true;
            }
            _ => {}
        }
    }

    /// Which implementation of the tool runs, on a stage whose base image has userland `base`:
    /// GNU's once apk installed it, else the base's, else what the package managers say.
    pub fn userland(&self, base: Userland) -> Userland {
        match base {
            _ if self.installed => Userland::Gnu,
            Userland::Unknown if self.apk && !self.other_manager => Userland::Busybox,
            Userland::Unknown if self.other_manager && !self.apk => Userland::Gnu,
            known => known,
        }
    }
}

/// Walks every RUN command in file order with the userland of its stage's base image and the
/// evidence from the commands before it (in its stage and the stages that one is built on); the
/// visitor folds the command in. One pass over the walk the rules share: stages, and their
/// commands, are in file order, and a parent stage comes before its children.
pub fn walk_commands<'d>(cx: &Checker<'d, '_>, mut visit: impl FnMut(&'d RunCommand<'d, 'd>, Userland, &mut Evidence)) {
    let stages = &cx.model.stages;
    let mut base: Vec<Userland> = Vec::with_capacity(stages.len());
    let mut at_end: Vec<Evidence> = Vec::with_capacity(stages.len());
    let mut commands = cx.commands_with_scripts().peekable();
    for stage in stages {
        let parent = stage.base_stage.filter(|&b| b < stage.index);
        base.push(parent.map_or_else(|| of_image(&stage.base_expanded), |b| base[b]));
        let mut evidence = parent.map(|b| at_end[b]).unwrap_or_default();
        while let Some((_, cmd)) = commands.next_if(|(s, _)| s.stage == stage.index) {
            visit(cmd, base[stage.index], &mut evidence);
        }
        at_end.push(evidence);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_by_name_and_tag() {
        for busybox in ["alpine:3.20", "busybox", "node:22-alpine", "python:3.12-alpine3.20", "nginx:alpine-slim"] {
            assert_eq!(of_image(busybox), Userland::Busybox, "{busybox}");
        }
        for gnu in [
            "debian:12-slim",
            "ubuntu",
            "python:3.12",
            "node:22-bookworm",
            "registry.access.redhat.com/ubi9/ubi:9.4",
            "opensuse/leap:15",
            "docker.io/library/golang:1.23",
            "mcr.microsoft.com/dotnet/sdk:8.0-jammy",
        ] {
            assert_eq!(of_image(gnu), Userland::Gnu, "{gnu}");
        }
        for unknown in ["scratch", "${BASE}", "myorg/python:3", "gcr.io/distroless/static", "ghcr.io/x/node:1"] {
            assert_eq!(of_image(unknown), Userland::Unknown, "{unknown}");
        }
    }
}
