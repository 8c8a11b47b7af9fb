//! Ownership and mode at copy time: `COPY src /app` then `RUN chown -R u:g /app` stores every
//! file twice (the copy-up of each file into the chown's layer); `COPY --chown=u:g src /app`
//! stores it once. Likewise `chmod -R 755` → `--chmod=755`, which needs newer syntax
//! (offered, not applied, unless the file already uses it or declares `# syntax=`).
//!
//! Only where the result is the same image: the RUN does nothing but `chown`/`chmod` of the
//! COPY's destination (recursively, with a literal owner or octal mode), and nothing earlier
//! in the stage wrote into that directory (a recursive chown also changes those files; a
//! `--chown` does not). When the destination may have existed before (the WORKDIR, or a
//! directory under the system's trees such as `/var/www/html` that a package made), the
//! recursive chown also changed the directory and the files already there, which `--chown`
//! leaves alone: the RUN keeps a `find` that changes only the entries the COPY did not set,
//! so the copied files are still stored once.

use super::merge_runs::METADATA_ONLY;
use super::{Saves, Transform};
use crate::lint::checker::edit;
use crate::model::instruction::Command;
use crate::model::run_script::PLAIN;
use crate::model::state::join_path;
use crate::rewrite::edit::lines_of;
use crate::rewrite::{Change, Context, Feature};

pub const TRANSFORM: Transform = Transform {
    name: "copy-chown",
    summary: "COPY then RUN chown/chmod -R of the same files becomes COPY --chown/--chmod: each file stored once.",
    saves: Saves::Bytes,
    propose,
};

/// One `chown`/`chmod` of the RUN: which flag it becomes and its value.
struct Setting {
    flag: &'static str,
    value: String,
}

fn propose(cx: &Context<'_, '_>) -> Vec<Change> {
    let ins = &cx.doc.instructions;
    let text = cx.text();
    let mut out = Vec::new();
    for (copy_index, command) in cx.commands.iter().enumerate() {
        let Some(Command::Copy(copy)) = command else { continue };
        let Some(stage) = cx.doc.model.stage_of(copy_index) else { continue };
        let end = stage.instructions.end.min(ins.len());
        let Some(run) = (copy_index + 1..end).find(|&j| !METADATA_ONLY.contains(&ins[j].keyword.as_str())) else {
            continue;
        };
        let (Some(copy_state), Some(script)) = (&cx.states[copy_index], cx.script(run)) else { continue };
        if !copy.heredocs.is_empty() || copy.dest.text.contains('$') {
            continue;
        }
        let dest = join_path(copy_state.workdir(), &copy.dest.text);
        let Some(settings) = settings_of(script, &dest, cx.states[run].as_ref().map_or("/", |s| s.workdir())) else {
            continue;
        };
        if settings
            .iter()
            .any(|s| (s.flag == "chown" && copy.chown.is_some()) || (s.flag == "chmod" && copy.chmod.is_some()))
        {
            continue;
        }
        // The path goes into a `find` command line as it is.
        let plain = |c: char| c.is_ascii_alphanumeric() || "/_.-+@".contains(c);
        if written_before(cx, stage.instructions.start + 1..copy_index, &dest) || !dest.chars().all(plain) {
            continue;
        }
        // The flags go right after the keyword (and the flags already there).
        let copy_ins = &ins[copy_index];
        let at = copy_ins.flags.last().map_or(copy_ins.keyword_span.end, |f| f.span.end);
        let flags: String = settings
            .iter()
            .map(|s| match s.flag {
                // `chown u` leaves the copied files' group (0); `--chown=u` would set the GID to
                // the UID's number.
                "chown" if !s.value.contains(':') => format!(" --chown={}:0", s.value),
                _ => format!(" --{}={}", s.flag, s.value),
            })
            .collect();
        let run_lines = lines_of(text, &ins[run].span);
        let keep = if may_pre_exist(&dest, copy_state.workdir()) {
            let kw = &text[ins[run].keyword_span.clone()];
            let nl = crate::rewrite::edit::newline(text);
            let fixes: Vec<String> = settings.iter().map(|s| fix_the_rest(s, &dest)).collect();
            format!("{kw} {}{nl}", fixes.join(" && "))
        } else {
            String::new()
        };
        let mut change = Change::new(
            format!(
                "{} of line {} done by the COPY of line {}: each file stored once",
                settings.iter().map(|s| s.flag).collect::<Vec<_>>().join(" and "),
                cx.line(run),
                cx.line(copy_index)
            ),
            vec![edit(at..at, flags), edit(run_lines, keep)],
        );
        if settings.iter().any(|s| s.flag == "chmod") {
            change = change.needing(Feature::CopyChmod);
        }
        out.push(change);
    }
    out
}

/// Whether `dest` may have existed before the COPY (in the base image or made by a package):
/// the WORKDIR, or a directory under the system's own trees. `/app`, `/srv/app`, `/opt/x` are
/// taken as new (the safety check of `--measure` shows when that is wrong).
fn may_pre_exist(dest: &str, workdir: &str) -> bool {
    const SYSTEM: &[&str] = &["usr", "var", "etc", "home", "root", "tmp", "run", "lib", "bin", "sbin"];
    let trimmed = dest.trim_matches('/');
    let first = trimmed.split('/').next().unwrap_or_default();
    dest == workdir || trimmed.is_empty() || SYSTEM.contains(&first) || trimmed == "srv" || trimmed == "opt"
}

/// What the recursive `chown`/`chmod` still does once the COPY set its files: the entries
/// that were there before (the directory itself, files of the base image or of a package),
/// found by what they lack, so the files the COPY made are not copied up again.
fn fix_the_rest(setting: &Setting, dest: &str) -> String {
    match setting.flag {
        "chown" => {
            let value = &setting.value;
            let (user, group) = value.split_once(':').unwrap_or((value, ""));
            let test = if group.is_empty() {
                format!("! -user {user}")
            } else {
                format!("\\( ! -user {user} -o ! -group {group} \\)")
            };
            format!("find {dest} {test} -exec chown -h {value} {{}} +")
        }
        _ => format!("find {dest} ! -type l ! -perm {} -exec chmod {} {{}} +", setting.value, setting.value),
    }
}

/// The `chown`/`chmod` the RUN does when it does nothing else, each recursive on `dest`
/// (paths relative to `workdir`), with a literal owner or an octal mode.
fn settings_of(script: &crate::model::run_script::RunScript<'_>, dest: &str, workdir: &str) -> Option<Vec<Setting>> {
    if !script.run.flags.is_empty() || script.parts.len() != 1 || script.parts[0].parsed.error.is_some() {
        return None;
    }
    let mut out: Vec<Setting> = Vec::new();
    for cmd in script.commands() {
        let flag = match cmd.name() {
            Some("set") | None => continue,
            Some("chown") => "chown",
            Some("chmod") => "chmod",
            _ => return None,
        };
        if !cmd.has_option(PLAIN, Some('R'), &["recursive"]) || cmd.has_wrapper("sudo") {
            return None;
        }
        let operands = cmd.operands(PLAIN);
        let (value, paths) = operands.split_first()?;
        let value = value.literal()?.to_string();
        let literal_ok = match flag {
            // `user` or `user:group`, both named: not `:group`, `user:` (the login group) or
            // the old `user.group`, which `--chown` and `find -user` read otherwise.
            "chown" => {
                let name = |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
                match value.split_once(':') {
                    Some((user, group)) => name(user) && name(group),
                    None => name(&value),
                }
            }
            _ => (3..=4).contains(&value.len()) && value.chars().all(|c| ('0'..='7').contains(&c)),
        };
        if !literal_ok || paths.is_empty() {
            return None;
        }
        for p in paths {
            let path = p.literal()?;
            if join_path(workdir, path) != dest {
                return None;
            }
        }
        if out.iter().any(|s| s.flag == flag) {
            return None;
        }
        out.push(Setting { flag, value });
    }
    (!out.is_empty()).then_some(out)
}

/// Whether an instruction of `range` wrote into `dest`: a COPY into it, a RUN that names it or
/// runs inside it.
fn written_before(cx: &Context<'_, '_>, range: std::ops::Range<usize>, dest: &str) -> bool {
    let inside = |p: &str| p == dest || p.starts_with(&format!("{}/", dest.trim_end_matches('/'))) || dest == "/";
    range.into_iter().any(|k| {
        let workdir = cx.states[k].as_ref().map_or("/", |s| s.workdir());
        match &cx.commands[k] {
            Some(Command::Copy(c)) => inside(&join_path(workdir, &c.dest.text)),
            Some(Command::Run(_)) => inside(workdir) || cx.doc.instructions[k].source(cx.text()).contains(dest),
            _ => false,
        }
    })
}
