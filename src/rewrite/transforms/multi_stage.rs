//! Multi-stage: when the shipped stage compiles the program it runs (`gcc ... -o
//! /app/hello`, `go build -o /app/server`) and its CMD/ENTRYPOINT starts that artifact, the
//! stage becomes a build stage and a new last stage, on the same base without the toolchain,
//! gets only the artifact (`COPY --from=build`), the instructions that set the image config,
//! and the RUNs that only prepare the runtime (`useradd`, `mkdir`, `chown`...).
//!
//! What the runtime stage leaves out (the compiler, the sources, the build tree) is expected
//! to differ only when the artifact is shown to run: `--measure` starts it in both images
//! and compares (see [`crate::rewrite::measure`]). A stage with a RUN that is neither build
//! work nor runtime preparation is left alone: the runtime might need what it made.

use super::{Saves, Transform};
use crate::lint::checker::edit;
use crate::model::instruction::{Command, CommandLine};
use crate::model::run_script::{RunScript, PLAIN};
use crate::model::state::join_path;
use crate::rewrite::edit::{lines_of, newline};
use crate::rewrite::{Change, Context};

pub const TRANSFORM: Transform = Transform {
    name: "multi-stage",
    summary: "Ship a program compiled in the image without its toolchain: a build stage and a runtime stage that copies only the artifact.",
    saves: Saves::Bytes,
    propose,
};

/// Commands a runtime stage can run again on the bare base image.
const RUNTIME_PREP: &[&str] =
    &["useradd", "groupadd", "adduser", "addgroup", "mkdir", "chown", "chmod", "ln", "touch", "ldconfig", "usermod"];

/// Commands of a build: toolchains, package managers, fetching and unpacking.
const BUILD_WORK: &[&str] = &[
    "apt-get",
    "apt",
    "apk",
    "yum",
    "dnf",
    "microdnf",
    "zypper",
    "gcc",
    "cc",
    "g++",
    "c++",
    "clang",
    "clang++",
    "make",
    "cmake",
    "go",
    "strip",
    "curl",
    "wget",
    "tar",
    "unzip",
    "git",
    "cp",
    "mv",
    "rm",
    "cd",
    "ls",
    "install",
    "./configure",
    "configure",
    "ninja",
    "meson",
    "rustc",
    "cargo",
];

/// Compilers whose `-o OUT` names the artifact.
const COMPILERS: &[&str] = &["gcc", "cc", "g++", "c++", "clang", "clang++"];

fn propose(cx: &Context<'_, '_>) -> Vec<Change> {
    candidate(cx).into_iter().collect()
}

fn candidate(cx: &Context<'_, '_>) -> Option<Change> {
    let model = &cx.doc.model;
    let stage = model.stages.last()?;
    if stage.base_stage.is_some() || stage.is_scratch() || stage.platform.is_some() {
        return None;
    }
    let ins = &cx.doc.instructions;
    let text = cx.text();
    let nl = newline(text);
    let body = stage.instructions.start + 1..stage.instructions.end.min(ins.len());
    // The program the image starts: ENTRYPOINT's first word, else CMD's.
    let mut program: Option<(String, usize)> = None;
    for i in body.clone() {
        let line = match &cx.commands[i] {
            Some(Command::Entrypoint(l)) => Some((l, true)),
            Some(Command::Cmd(l)) if program.as_ref().is_none_or(|(_, at)| !ins[*at].is("ENTRYPOINT")) => {
                Some((l, false))
            }
            _ => None,
        };
        if let Some((line, _)) = line {
            let first = match line {
                CommandLine::Exec(v) => v.first().cloned(),
                CommandLine::Shell(s) => s.split_whitespace().next().map(str::to_string),
            };
            let workdir = cx.states[i].as_ref().map_or("/", |s| s.workdir());
            program = first.filter(|p| !p.contains('$')).map(|p| (join_path(workdir, &p), i));
        }
    }
    let (program, _) = program?;
    let mut artifact_found = false;
    let mut runtime: Vec<usize> = Vec::new();
    for i in body.clone() {
        match &cx.commands[i] {
            Some(Command::Run(_)) => {
                let script = cx.script(i)?;
                match classify(cx, script, i)? {
                    RunKind::Build { artifacts } => artifact_found |= artifacts.contains(&program),
                    RunKind::RuntimePrep => runtime.push(i),
                }
            }
            Some(Command::Copy(_)) => {}
            Some(Command::Onbuild { .. }) | None => return None,
            Some(_) => runtime.push(i),
        }
    }
    if !artifact_found {
        return None;
    }
    let taken: Vec<&str> = model.stages.iter().filter_map(|s| s.name.as_deref()).collect();
    let (name, name_edit) = match &stage.name_as_written {
        Some(n) => (n.clone(), None),
        None => {
            let name = ["build", "builder", "build-stage"].into_iter().find(|n| !taken.contains(n))?.to_string();
            let at = ins[stage.from].args_span.end;
            let name_edit = edit(at..at, format!(" AS {name}"));
            (name, Some(name_edit))
        }
    };
    let mut runtime_stage = format!("{nl}FROM {}{nl}COPY --from={name} {program} {program}{nl}", stage.base);
    for i in runtime {
        let lines = &text[lines_of(text, &ins[i].span)];
        runtime_stage.push_str(lines);
        if !lines.ends_with('\n') {
            runtime_stage.push_str(nl);
        }
    }
    let end = lines_of(text, &ins[body.end - 1].span).end;
    let ends_with_newline = text[..end].ends_with('\n');
    let mut appended = String::new();
    if !ends_with_newline {
        appended.push_str(nl);
    }
    appended.push_str(&runtime_stage);
    let mut edits = vec![edit(end..end, appended)];
    edits.extend(name_edit);
    Some(Change::new(
        format!(
            "the stage of line {} builds {program} and ships its toolchain: a runtime stage on {} gets only the program",
            cx.line(stage.from), stage.base
        ),
        edits,
    ))
}

enum RunKind {
    /// Toolchain and build work; the artifacts its compilers write (`-o`).
    Build { artifacts: Vec<String> },
    /// Only prepares the runtime (users, directories): run again in the runtime stage.
    RuntimePrep,
}

fn classify(cx: &Context<'_, '_>, script: &RunScript<'_>, index: usize) -> Option<RunKind> {
    if script.parts.iter().any(|p| p.parsed.error.is_some()) || script.run.flag("mount").is_some() {
        return None;
    }
    let workdir = cx.states[index].as_ref().map_or("/", |s| s.workdir());
    let commands = script.commands();
    let names: Vec<&str> =
        commands.iter().filter_map(|c| c.name()).filter(|n| !matches!(*n, "set" | "true" | ":" | "echo")).collect();
    if !names.is_empty() && names.iter().all(|n| RUNTIME_PREP.contains(n)) {
        return Some(RunKind::RuntimePrep);
    }
    if !names.iter().all(|n| BUILD_WORK.contains(n) || RUNTIME_PREP.contains(n)) {
        return None;
    }
    let mut artifacts = Vec::new();
    // A `cd` changes where a relative `-o` lands: only the WORKDIR is known.
    let has_cd = names.contains(&"cd");
    for c in &commands {
        let name = c.name().unwrap_or_default();
        let is_compile = COMPILERS.contains(&name) || (name == "go" && c.subcommand(PLAIN) == Some("build"));
        if !is_compile {
            continue;
        }
        let args = c.args();
        for (k, w) in args.iter().enumerate() {
            let out = if w.text == "-o" {
                args.get(k + 1).and_then(|n| n.literal())
            } else {
                w.text.strip_prefix("-o").filter(|o| !o.is_empty() && !o.starts_with('='))
            };
            if let Some(out) = out {
                if out.starts_with('/') || !has_cd {
                    artifacts.push(join_path(workdir, out));
                }
            }
        }
    }
    Some(RunKind::Build { artifacts })
}
