//! Multi-stage: when the shipped stage compiles the program it runs (`gcc ... -o
//! /app/hello`, `go build -o /app/server`, `cargo build` into `target/`, a `cp`/`install` of
//! such a program, or `make install` into `/usr/local`) and its
//! CMD/ENTRYPOINT starts that artifact (by path, or by name through `PATH`), the stage becomes
//! a build stage and a new last stage, on the same base without the toolchain, gets only the
//! artifact (`COPY --from=build`; an install's whole prefix), the instructions that set the
//! image config, and the RUNs that only prepare the runtime (`useradd`, `mkdir`, `chown`...).
//!
//! What the runtime stage leaves out (the compiler, the sources, the build tree) is expected
//! to differ only when the artifact is shown to run: `--measure` starts it in both images
//! and compares (see [`crate::rewrite::measure`]). A stage with a RUN that is neither build
//! work nor runtime preparation is left alone: the runtime might need what it made.

use super::{Saves, Transform};
use crate::lint::checker::edit;
use crate::model::instruction::{Command, CommandLine};
use crate::model::run_script::{RunCommand, RunScript, PLAIN};
use crate::model::state::{join_path, DEFAULT_PATH};
use crate::rewrite::edit::{lines_of, newline};
use crate::rewrite::{Change, Context};
use crate::shell::OptionSpec;

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
    "gmake",
    "rustc",
    "cargo",
];

/// Options of `install` and `cp` that take a value (`-t DIR` names the destination: then the
/// operands are all sources, and no `SOURCE DEST` pair is read).
const INSTALL: OptionSpec<'static> = OptionSpec {
    short_with_value: "mogtS",
    long_with_value: &["mode", "owner", "group", "target-directory", "suffix"],
    stop_at_positional: false,
};
const CP: OptionSpec<'static> =
    OptionSpec { short_with_value: "tS", long_with_value: &["target-directory", "suffix"], stop_at_positional: false };

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
    // The program the image starts: the first word of ENTRYPOINT + CMD.
    let (argv, at) = program_words(cx.doc, stage)?;
    let state = cx.states[at].as_ref();
    let workdir = state.map_or("/", |s| s.workdir());
    let path = state.and_then(|s| s.vars().get("PATH")).map_or(DEFAULT_PATH, String::as_str);
    let program = argv.first().filter(|p| !p.contains('$')).map(|word| Program::resolve(word, workdir, path));
    let program = program?;
    let mut artifact: Option<Artifact> = None;
    let mut runtime: Vec<usize> = Vec::new();
    for i in body.clone() {
        match &cx.commands[i] {
            Some(Command::Run(_)) => {
                let script = cx.script(i)?;
                match classify(cx, script, i)? {
                    RunKind::Build { artifacts } => {
                        artifact = artifact.or_else(|| artifacts.into_iter().find(|a| program.is_in(a)));
                    }
                    RunKind::RuntimePrep => runtime.push(i),
                }
            }
            Some(Command::Copy(_)) => {}
            Some(Command::Onbuild { .. }) | None => return None,
            Some(_) => runtime.push(i),
        }
    }
    let artifact = artifact?;
    // What the runtime stage copies: an install's whole prefix, else the program itself.
    let copied = if artifact.whole { artifact.path.clone() } else { program.found_in(&artifact)?.to_string() };
    let program = &copied;
    // A WORKDIR an absolute one replaces before any RUN uses it only made an empty directory.
    let superseded = |k: usize| {
        let later = &runtime[k + 1..];
        let next = later.iter().position(|&j| ins[j].is("WORKDIR") || ins[j].is("RUN"));
        next.is_some_and(|n| {
            let j = later[n];
            ins[j].is("WORKDIR") && matches!(&cx.commands[j], Some(Command::Workdir(w)) if w.text.starts_with('/'))
        })
    };
    let runtime: Vec<usize> =
        (0..runtime.len()).filter(|&k| !(ins[runtime[k]].is("WORKDIR") && superseded(k))).map(|k| runtime[k]).collect();
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
            "the stage of line {} builds {} and ships its toolchain: a runtime stage on {} gets only {}",
            cx.line(stage.from),
            program,
            stage.base,
            if artifact.whole { "the installed tree" } else { "the program" }
        ),
        edits,
    ))
}

enum RunKind {
    /// Toolchain and build work; the artifacts its compilers write (`-o`) or installs fill.
    Build { artifacts: Vec<Artifact> },
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
        if is_install(c) {
            let installer = cx.doc.instructions[index].source(cx.text()).to_string();
            artifacts.push(Artifact { path: install_prefix(&commands), tree: true, whole: true, installer });
            continue;
        }
        // cargo build writes its programs under target/<profile> of the project (the WORKDIR).
        if name == "cargo" && c.subcommand(PLAIN) == Some("build") && !has_cd {
            let words: Vec<&str> = c.args().iter().map(|w| &*w.text).collect();
            if !words.iter().any(|w| w.starts_with("--target") || w.starts_with("--manifest-path")) {
                let profile = if words.contains(&"--release") || words.contains(&"-r") { "release" } else { "debug" };
                let path = join_path(workdir, &format!("target/{profile}"));
                artifacts.push(Artifact { path, tree: true, whole: false, installer: String::new() });
            }
            continue;
        }
        // `cp`/`install` of something built above to where the image runs it from.
        if matches!(name, "cp" | "install") && !has_cd {
            let spec = if name == "install" { INSTALL } else { CP };
            let operands: Vec<&str> = c.operands(spec).iter().filter_map(|w| w.literal()).collect();

            if let [source, dest] = operands[..] {
                let source = join_path(workdir, source);
                let built = artifacts.iter().any(|a: &Artifact| {
                    a.path == source
                        || (a.tree && source.strip_prefix(a.path.as_str()).is_some_and(|r| r.starts_with('/')))
                });
                if built {
                    let file = source.rsplit('/').next().unwrap_or_default();
                    let dest = if dest.ends_with('/') { format!("{dest}{file}") } else { dest.to_string() };
                    artifacts.push(Artifact {
                        path: join_path(workdir, &dest),
                        tree: false,
                        whole: false,
                        installer: String::new(),
                    });
                }
            }
            continue;
        }
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
                    artifacts.push(Artifact {
                        path: join_path(workdir, out),
                        tree: false,
                        whole: false,
                        installer: String::new(),
                    });
                }
            }
        }
    }
    artifacts.retain(|a| !matches!(a.path.as_str(), "/" | "/usr" | "/bin" | "/etc" | "/lib" | "/var"));
    Some(RunKind::Build { artifacts })
}

/// `make install`, `make ... install` (also `install-strip`), `ninja install`, `cmake --install DIR`.
fn is_install(c: &RunCommand<'_, '_>) -> bool {
    let words = || c.args().iter().map(|w| &*w.text);
    match c.name() {
        Some("make" | "gmake" | "ninja") => words().any(|w| w == "install" || w == "install-strip"),
        Some("cmake") => words().any(|w| w == "--install"),
        _ => false,
    }
}

/// Where an install of this RUN puts its files: `./configure --prefix=DIR` when the RUN says
/// so, else autotools' and CMake's default, `/usr/local`.
fn install_prefix(commands: &[RunCommand<'_, '_>]) -> String {
    let configure = commands.iter().filter(|c| c.name().is_some_and(|n| n.ends_with("configure")));
    let mut prefix = None;
    for c in configure {
        let args = c.args();
        for (k, w) in args.iter().enumerate() {
            if let Some(p) = w.text.strip_prefix("--prefix=") {
                prefix = Some(p.to_string());
            } else if w.text == "--prefix" {
                prefix = args.get(k + 1).and_then(|n| n.literal()).map(str::to_string);
            }
        }
    }
    prefix.filter(|p| p.starts_with('/') && !p.contains('$')).map_or("/usr/local".to_string(), |p| join_path("/", &p))
}

/// What a build RUN leaves for the runtime: a file its compiler writes (`-o`), or the tree an
/// install fills (`make install` into its prefix), copied whole.
struct Artifact {
    path: String,
    tree: bool,
    /// For a tree: copied whole (an install prefix), or only the program found in it (a
    /// compiler's output directory such as cargo's `target/release`).
    whole: bool,
    /// For a tree: the source of the RUN that installs it (a program found through `PATH`
    /// counts as installed there only when that RUN names it).
    installer: String,
}

/// The program the image starts, as the runtime finds it: a path (relative to the WORKDIR),
/// or a bare name looked up in `PATH`.
struct Program {
    candidates: Vec<String>,
    /// The name looked up in `PATH`, when it is one.
    bare: Option<String>,
}

impl Program {
    fn resolve(word: &str, workdir: &str, path: &str) -> Program {
        if word.contains('/') {
            return Program { candidates: vec![join_path(workdir, word)], bare: None };
        }
        let candidates = path.split(':').filter(|d| d.starts_with('/')).map(|d| join_path(d, word)).collect();
        Program { candidates, bare: Some(word.to_string()) }
    }

    /// Whether the program is `artifact` or lies in its tree. For a name found through `PATH`
    /// any directory of `PATH` counts (the probe run in both images shows it is the same one),
    /// but a tree holds it only when its install names it: `python3 app.py` after a `make
    /// install` of something else starts the base's python3, which the runtime stage lacks.
    fn is_in(&self, artifact: &Artifact) -> bool {
        self.found_in(artifact).is_some()
    }

    /// The path the program has in `artifact`, if it is there.
    fn found_in(&self, artifact: &Artifact) -> Option<&str> {
        let named = |name: &str| !artifact.whole || artifact.installer.contains(name);
        self.candidates.iter().map(String::as_str).find(|c| {
            *c == artifact.path
                || (artifact.tree
                    && c.strip_prefix(artifact.path.as_str()).is_some_and(|rest| rest.starts_with('/'))
                    && self.bare.as_deref().is_none_or(named))
        })
    }
}

/// What a stage's image starts, as BuildKit sets it: ENTRYPOINT then CMD, each in exec form or
/// the shell form's words (a CMD of the stage counts whether it comes before or after its
/// ENTRYPOINT; the base's is unknown here); with the index of the instruction that names the
/// program (the ENTRYPOINT, else the CMD), whose state says where it is looked up.
pub fn program_words(
    doc: &crate::model::document::Document<'_>,
    stage: &crate::model::Stage,
) -> Option<(Vec<String>, usize)> {
    let words = |l: &CommandLine| match l {
        CommandLine::Exec(v) => v.clone(),
        CommandLine::Shell(s) => s.split_whitespace().map(str::to_string).collect(),
    };
    let mut entrypoint: Option<(Vec<String>, usize)> = None;
    let mut cmd: Option<(Vec<String>, usize)> = None;
    for i in stage.instructions.start + 1..stage.instructions.end.min(doc.instructions.len()) {
        match doc.command(i) {
            Some(Command::Entrypoint(l)) => entrypoint = Some((words(l), i)),
            Some(Command::Cmd(l)) => cmd = Some((words(l), i)),
            _ => {}
        }
    }
    let at = entrypoint.as_ref().filter(|(w, _)| !w.is_empty()).or(cmd.as_ref())?.1;
    let mut argv = entrypoint.map(|(w, _)| w).unwrap_or_default();
    argv.extend(cmd.map(|(w, _)| w).unwrap_or_default());
    (!argv.is_empty()).then_some((argv, at))
}

/// The proposal with its runtime stage on `scratch` instead of the build's base: a candidate
/// `--measure` tries when the program may need nothing of the base (a static binary). Only for
/// a last stage this transform made (it starts with `COPY --from=` an earlier stage) with no
/// RUN (scratch has no shell) and a CMD/ENTRYPOINT in exec form; None otherwise. Whether the
/// program runs there is for the probe to show.
pub fn on_scratch(text: &str) -> Option<String> {
    let doc = crate::model::document::Document::parse(text).ok()?;
    let stage = doc.model.stages.last()?;
    if stage.index == 0 || stage.base_stage.is_some() || stage.is_scratch() {
        return None;
    }
    let body = stage.instructions.start + 1..stage.instructions.end.min(doc.instructions.len());
    let first = body.clone().next()?;
    let copies_from_build = match doc.command(first) {
        Some(Command::Copy(c)) => c.from.as_ref().is_some_and(|f| doc.model.is_earlier_stage(&f.value, stage.index)),
        _ => false,
    };
    if !copies_from_build {
        return None;
    }
    for i in body {
        match doc.command(i)? {
            Command::Run(_) | Command::Onbuild { .. } => return None,
            Command::Cmd(CommandLine::Shell(_)) | Command::Entrypoint(CommandLine::Shell(_)) => return None,
            _ => {}
        }
    }
    let span = stage.base_span.clone();
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..span.start]);
    out.push_str("scratch");
    out.push_str(&text[span.end..]);
    Some(out)
}
