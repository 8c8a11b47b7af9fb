use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::{Category, Severity};
use crate::model::instruction::{Command, CommandLine};
use crate::model::run_script::{RunCommand, PLAIN};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG214",
        name: "build-in-final-stage",
        category: Category::Size,
        severity: Severity::Info,
        summary: "The final stage copies the whole source tree, compiles it, and runs the result: sources, toolchain and build files all ship.",
        why: "The image needs the built program, not the sources, the compiler image it was built in, or the build's intermediate files: a Go or Rust service built this way ships hundreds of MB it never uses. A multi-stage build compiles in a first stage and copies only the program into a small runtime stage.",
        bad: "FROM golang:1.23\nWORKDIR /src\n# flagged: the sources and the Go toolchain ship with the binary\nCOPY . .\nRUN go build -o /usr/local/bin/app .\nCMD [\"app\"]\n",
        good: "FROM golang:1.23 AS build\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/app .\n\nFROM gcr.io/distroless/static-debian12\nCOPY --from=build /out/app /app\nCMD [\"/app\"]\n",
        notes: "Reported when the final stage (or an in-file stage it is built on) copies the whole context (`COPY . <dir>`), a RUN of that stage compiles (`go build`, `cargo build`, `mvn package`/`install`/`verify`, `gradle build`/`assemble`/`bootJar`, `dotnet publish`/`build`, `make`, gcc/g++/clang), and the image's CMD/ENTRYPOINT runs something other than the toolchain or a shell: an image that runs `go run`, `cargo run`, `mvn`, `dotnet run` or `sh` is a development environment, where the sources are the point. hadolint and BuildKit have no such check.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn compiles(cmd: &RunCommand<'_, '_>) -> bool {
    let sub = cmd.subcommand(PLAIN);
    match cmd.name() {
        Some("go" | "cargo") => sub == Some("build"),
        Some("mvn" | "mvnw") => cmd.args().iter().any(|w| matches!(&*w.text, "package" | "install" | "verify")),
        Some("gradle" | "gradlew") => {
            cmd.args().iter().any(|w| matches!(&*w.text, "build" | "assemble" | "bootJar" | "jar" | "installDist"))
        }
        Some("dotnet") => matches!(sub, Some("publish" | "build")),
        Some("make" | "gcc" | "g++" | "clang" | "cc") => true,
        _ => false,
    }
}

/// What runs the image: a toolchain or a shell means a development image.
fn runs_the_toolchain(program: &str) -> bool {
    let name = program.rsplit('/').next().unwrap_or(program);
    matches!(
        name,
        "go" | "cargo"
            | "mvn"
            | "mvnw"
            | "gradle"
            | "gradlew"
            | "dotnet"
            | "make"
            | "sh"
            | "bash"
            | "ash"
            | "zsh"
            | "npm"
            | "yarn"
            | "air"
            | "reflex"
            | "nodemon"
    )
}

fn check(cx: &Checker<'_, '_>) {
    let ships = cx.model.shipping_stages();
    let in_lineage = |i: usize| cx.model.stage_of(i).is_some_and(|s| ships[s.index]);
    // The program the image runs: the last ENTRYPOINT or CMD of the lineage.
    let mut program: Option<String> = None;
    let mut copy_all: Option<usize> = None;
    for (i, command) in cx.df.all_commands().filter(|(i, _)| in_lineage(*i)) {
        match command {
            Command::Cmd(line) | Command::Entrypoint(line) => {
                program = match line {
                    CommandLine::Exec(argv) => argv.first().cloned(),
                    CommandLine::Shell(s) => s.split_whitespace().next().map(str::to_string),
                };
            }
            Command::Copy(copy)
                if copy.from_context()
                    && copy.paths().any(|p| matches!(p.text.as_str(), "." | "./" | "*" | "./*"))
                    && copy_all.is_none() =>
            {
                copy_all = Some(i);
            }
            _ => {}
        }
    }
    let (Some(copy), Some(program)) = (copy_all, program) else { return };
    if runs_the_toolchain(&program) {
        return;
    }
    let build = cx
        .scripts
        .iter()
        .filter(|s| s.index > copy && ships[s.stage])
        .find_map(|s| s.commands().into_iter().find(compiles).map(|c| c.span()));
    if let Some(build) = build {
        cx.report(cx.span_of(copy), "the sources are built in the image that ships: sources and toolchain ship too")
            .related(build, "built here")
            .help("build in a first stage and `COPY --from=` only the result into a small runtime stage");
    }
}
