use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::run_script::PLAIN;
use crate::lint::source::transfer;
use crate::lint::{Category, Severity};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG139",
        name: "unpinned-go-package",
        category: Category::Correctness,
        severity: Severity::Warning,
        hadolint: &["DL3062"],
        buildkit: None,
        fix: None,
        summary: "`go install`/`go get`/`go run` of a remote package at `@latest`, a branch, or no version.",
        why: "`@latest` (or a branch such as `@main`) resolves to whatever the module's newest commit is on the day of the build: the image changes, and may break, with no change to the Dockerfile.",
        bad: "FROM golang:1.23\n# flagged: latest today, something else tomorrow\nRUN go install golang.org/x/tools/gopls@latest\n",
        good: "FROM golang:1.23\nRUN go install golang.org/x/tools/gopls@v0.16.2\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go install github.com/a-h/templ/cmd/templ\nCOPY . .\nRUN go build ./... && go run ./cmd/gen\nRUN --mount=type=bind,source=tools/go.mod,target=go.mod go install tool golang.org/x/vuln/cmd/govulncheck\n",
        notes: "Where imgopt differs from hadolint: a package without `@version` is not reported once a `go.mod` (or the whole context) was copied into the stage or bind-mounted into the RUN, because `go install pkg` then takes the version go.mod requires, which is pinned (outside a module, Go 1.16+ refuses `go install pkg` without a version, so nothing unpinned gets in). `go get pkg` without a version is always reported: it upgrades to the latest. Branch names (`@main`, `@master`, `@HEAD`) count as unpinned, like `@latest`. Local packages (`.`, `./cmd/x`, `/abs`), the patterns `tool`, `all`, `std` and `cmd` and `go run` of a package without `@` (a local or go.mod-pinned one) are not reported; for `go run` only the package is read, not the program's arguments after it.",
        config: "",
        opt_in: false,
    },
    check,
};

/// Versions that float.
const FLOATING: &[&str] = &["latest", "upgrade", "patch", "main", "master", "head", "HEAD", "trunk", "develop"];

/// Package patterns that name no remote package (`go install tool` installs go.mod's tools).
const META_PACKAGES: &[&str] = &["tool", "all", "std", "cmd"];

/// A `--mount` that puts a go.mod in the build: a bind of the whole context or of go.mod.
fn binds_go_mod(mount: &str) -> bool {
    let mut kind = "bind";
    let mut source = None;
    for field in mount.split(',') {
        match field.split_once('=') {
            Some(("type", v)) => kind = v,
            Some(("source" | "src", v)) => source = Some(v),
            _ => {}
        }
    }
    kind == "bind" && source.is_none_or(|s| matches!(s.trim_end_matches('/'), "" | "." ) || s.rsplit('/').next() == Some("go.mod"))
}

fn is_local(package: &str) -> bool {
    package == "." || package == "..." || package.starts_with("./") || package.starts_with("../") || package.starts_with('/')
}

fn check(cx: &mut Checker<'_, '_>) {
    let df = cx.df;
    for script in cx.scripts {
        // A go.mod in the stage pins what `go install pkg` (no version) installs.
        let has_go_mod = cx.model.stage_of(script.index).is_some_and(|stage| {
            cx.model.lineage(stage.index).any(|s| {
                s.instructions.clone().filter(|&i| i < script.index).any(|i| {
                    df.typed_at(i).and_then(transfer).is_some_and(|t| {
                        t.paths().any(|p| {
                            let p = p.value.trim_end_matches('/');
                            p == "." || p == "*" || p.rsplit('/').next() == Some("go.mod")
                        })
                    })
                })
            })
        });
        let has_go_mod = has_go_mod || script.run.flags.iter().any(|f| f.name() == "mount" && f.value().is_some_and(binds_go_mod));
        for cmd in script.commands() {
            if cmd.name() != Some("go") {
                continue;
            }
            let operands = cmd.operands(PLAIN);
            let Some(sub) = operands.first().map(|w| &*w.text) else { continue };
            if !matches!(sub, "install" | "get" | "run") {
                continue;
            }
            // `go run pkg args...`: only the package; the rest are the program's arguments.
            let packages = if sub == "run" { &operands[1..operands.len().min(2)] } else { &operands[1..] };
            for word in packages {
                let text = &*word.text;
                if word.expansion || is_local(text) || text.ends_with(".go") || META_PACKAGES.contains(&text) {
                    continue;
                }
                let (message, help) = match text.rsplit_once('@') {
                    Some((name, version)) if FLOATING.contains(&version) => (
                        format!("`{text}` floats: `@{version}` is whatever is newest when the image is built"),
                        format!("pin a release: `{name}@v1.2.3`"),
                    ),
                    Some(_) => continue,
                    None if sub == "run" || (sub == "install" && has_go_mod) => continue,
                    None => (format!("`{text}` has no version"), format!("pin it: `{text}@<version>`")),
                };
                cx.report(cmd.span_of(&word.span), message).help(help);
            }
        }
    }
}
