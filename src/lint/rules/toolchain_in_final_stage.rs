use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::{Category, Severity};
use crate::model::run_script::{is_apt_install, is_pip_install, RunCommand, APK, APT, PLAIN};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG208",
        name: "toolchain-in-final-stage",
        category: Category::Size,
        severity: Severity::Info,
        summary: "Compilers or SDKs (build-essential, gcc, golang, rustc, a JDK...) installed in the final stage and used there to build.",
        why: "A toolchain is needed to build, not to run: in the final image it adds hundreds of MB and attack surface. Build in a first stage and copy only the result into a slim runtime stage.",
        bad: "FROM debian:12-slim\nCOPY src/ /src/\n# flagged: gcc and make ship with the app\nRUN apt-get update && apt-get install -y --no-install-recommends build-essential \\\n && rm -rf /var/lib/apt/lists/*\nRUN make -C /src install\n",
        good: "FROM debian:12 AS build\nRUN apt-get update && apt-get install -y --no-install-recommends build-essential\nRUN make -C /src\n\nFROM debian:12-slim\nCOPY --from=build /src/app /usr/local/bin/app\n",
        notes: "A toolchain left behind after building is told from an image whose purpose is the toolchain (buildpack-deps, the golang and rust images, SDK and devcontainer images) by what the final stage does with it: reported only when a RUN of the final stage builds something (make, cmake, ninja, meson, a `configure` script, gcc/cc/clang, `go build`/`go install`, `cargo build`/`cargo install`, mvn, gradle, `dotnet build`/`publish`, or a package install that compiles native code: `pip install`, `npm ci`/`npm install`, `bundle install`, `gem install`). Not reported when the same RUN removes the packages again (`apt-get purge`, `apk del`). Info by default. Known false positives: an image that is itself a build environment but also builds something in its final stage (docker's old development image builds its dependencies with the toolchain it ships); say so with `# imgopt ignore=IMG208`.",
        ..RuleMeta::DEFAULT
    },
    check,
};

const TOOLCHAINS: &[&str] = &[
    "build-essential",
    "gcc",
    "g++",
    "gcc-c++",
    "clang",
    "make",
    "cmake",
    "golang",
    "golang-go",
    "go",
    "rustc",
    "cargo",
    "maven",
    "gradle",
    "default-jdk",
    "build-base",
    "alpine-sdk",
    "musl-dev",
    "libc6-dev",
    "python3-dev",
];

fn is_toolchain(package: &str) -> bool {
    let name = package.split(['=', '<', '>', '~']).next().unwrap_or(package);
    TOOLCHAINS.contains(&name) || (name.starts_with("openjdk") && name.contains("jdk") && !name.contains("jre"))
}

/// A command that builds with a toolchain: a build system, a compiler, or a language package
/// manager that compiles native extensions.
fn builds(cmd: &RunCommand<'_, '_>) -> bool {
    let Some(name) = cmd.name() else { return false };
    let sub = cmd.subcommand(PLAIN);
    match name {
        "make" | "gmake" | "cmake" | "ninja" | "meson" | "gcc" | "cc" | "g++" | "c++" | "clang" | "javac" | "mvn"
        | "mvnw" | "gradle" | "gradlew" => true,
        "go" => matches!(sub, Some("build" | "install")),
        "cargo" => matches!(sub, Some("build" | "install")),
        "dotnet" => matches!(sub, Some("build" | "publish")),
        "npm" | "yarn" | "pnpm" => matches!(sub, Some("install" | "ci" | "i")) || sub.is_none() && name == "yarn",
        "bundle" | "gem" => sub == Some("install"),
        _ => name.ends_with("configure") || is_pip_install(cmd),
    }
}

fn check(cx: &Checker<'_, '_>) {
    let Some(last) = cx.model.stages.last().map(|s| s.index) else {
        return;
    };
    // An image whose purpose is the toolchain builds nothing with it.
    let builds_here =
        cx.commands.iter().any(|c| builds(c) && cx.script_of(c).is_some_and(|k| cx.scripts[k].stage == last));
    if !builds_here {
        return;
    }
    for script in cx.scripts.iter().filter(|s| s.stage == last) {
        let commands = script.commands();
        let removed = commands.iter().any(|c| {
            matches!(
                (c.name(), c.subcommand(PLAIN)),
                (Some("apt-get" | "apt"), Some("purge" | "remove")) | (Some("apk"), Some("del"))
            )
        });
        if removed {
            continue;
        }
        for cmd in &commands {
            let packages: Vec<_> = if is_apt_install(cmd) {
                cmd.operands(APT).into_iter().skip(1).collect()
            } else if cmd.name() == Some("apk") && cmd.subcommand(APK) == Some("add") {
                cmd.operands(APK).into_iter().skip(1).collect()
            } else if matches!(cmd.name(), Some("yum" | "dnf" | "microdnf")) && cmd.subcommand(PLAIN) == Some("install")
            {
                cmd.operands(PLAIN).into_iter().skip(1).collect()
            } else {
                continue;
            };
            for word in packages.into_iter().filter(|w| is_toolchain(&w.text)) {
                cx.report(
                    cmd.span_of(&word.span),
                    format!("`{}` is a build toolchain, installed in the final stage", word.text),
                )
                .help("build in a separate stage and copy only the build output into the final one");
            }
        }
    }
}
