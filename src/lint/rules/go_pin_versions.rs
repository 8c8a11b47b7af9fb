use super::{Rule, RuleMeta};
use crate::context::dockerignore::glob_component;
use crate::lint::checker::Checker;
use crate::model::instruction::{Command, Mount, MountKind};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG139",
        name: "unpinned-go-package",
        hadolint: &["DL3062"],
        summary: "`go install`/`go get`/`go run` of a remote package at `@latest`, a branch, or no version.",
        why: "`@latest` (or a branch such as `@main`) resolves to whatever the module's newest commit is on the day of the build: the image changes, and may break, with no change to the Dockerfile.",
        bad: "FROM golang:1.23\n# flagged: latest today, something else tomorrow\nRUN go install golang.org/x/tools/gopls@latest\n",
        good: "FROM golang:1.23\nRUN go install golang.org/x/tools/gopls@v0.16.2\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go install github.com/a-h/templ/cmd/templ\nCOPY . .\nRUN go build ./... && go run ./cmd/gen\nRUN --mount=type=bind,source=tools/go.mod,target=go.mod go install tool golang.org/x/vuln/cmd/govulncheck\n",
        notes: "Where imgopt differs from hadolint: a package without `@version` is not reported once a `go.mod` (or the whole context) was copied into the stage or bind-mounted into the RUN, because `go install pkg` then takes the version go.mod requires, which is pinned (outside a module, Go 1.16+ refuses `go install pkg` without a version, so nothing unpinned gets in). `go get pkg` without a version is reported (it upgrades to the latest) unless the same RUN runs `git checkout` or `git reset` after it (GOPATH-era `go get -d pkg && cd $GOPATH/src/pkg && git checkout \"$VERSION\"` pins what was fetched). Branch names (`@main`, `@master`, `@HEAD`) count as unpinned, like `@latest`. Local packages (`.`, `./cmd/x`, `/abs`), the patterns `tool`, `all`, `std` and `cmd` and `go run` of a package without `@` (a local or go.mod-pinned one) are not reported; for `go run` only the package is read, not the program's arguments after it.",
        ..RuleMeta::DEFAULT
    },
    check,
};

/// Versions that float.
const FLOATING: &[&str] = &["latest", "upgrade", "patch", "main", "master", "head", "HEAD", "trunk", "develop"];

/// Package patterns that name no remote package (`go install tool` installs go.mod's tools).
const META_PACKAGES: &[&str] = &["tool", "all", "std", "cmd"];

/// `go` build flags that take the next word as their value when not written `-flag=value`.
const VALUE_FLAGS: &[&str] = &[
    "C",
    "o",
    "p",
    "asmflags",
    "buildmode",
    "compiler",
    "covermode",
    "coverpkg",
    "exec",
    "gccgoflags",
    "gcflags",
    "installsuffix",
    "ldflags",
    "mod",
    "modfile",
    "overlay",
    "pgo",
    "pkgdir",
    "tags",
    "toolexec",
];

/// The words after `go <sub>`'s flags: Go's flag package stops at the first word that is not a
/// flag (or after `--`), and `-tags netgo` takes `netgo` as the flag's value.
fn after_flags<W>(words: &[W], text: impl Fn(&W) -> &str) -> &[W] {
    let mut i = 0;
    while let Some(word) = words.get(i) {
        let word = text(word);
        if word == "--" {
            return &words[i + 1..];
        }
        let Some(name) = word.strip_prefix('-').filter(|n| !n.is_empty()) else { break };
        let name = name.strip_prefix('-').unwrap_or(name);
        i += if !name.contains('=') && VALUE_FLAGS.contains(&name) { 2 } else { 1 };
    }
    &words[i.min(words.len())..]
}

/// A COPY source that brings a go.mod: `go.mod`, or a wildcard that matches it (`go.*`).
fn copies_go_mod(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "go.mod" || (name.contains(['*', '?']) && glob_component(name, "go.mod"))
}

/// A `--mount` that puts a go.mod in the build: a bind of the whole context or of go.mod.
fn binds_go_mod(mount: Mount) -> bool {
    mount.kind == MountKind::Bind
        && mount
            .source
            .as_deref()
            .is_none_or(|s| matches!(s.trim_end_matches('/'), "" | ".") || s.rsplit('/').next() == Some("go.mod"))
}

fn is_local(package: &str) -> bool {
    package == "."
        || package == "..."
        || package.starts_with("./")
        || package.starts_with("../")
        || package.starts_with('/')
}

fn check(cx: &Checker<'_, '_>) {
    let model = cx.model;
    // Per stage: its first COPY/ADD that brings a go.mod, and whether a stage it builds on has
    // one. Computed once, so each `go install` looks up two entries, not its whole stage chain.
    let copies_go_mod_at = |i: usize| {
        matches!(cx.df.command(i), Some(Command::Copy(copy)) if copy.paths().any(|p| {
            let p = p.text.trim_end_matches('/');
            p == "." || p == "*" || copies_go_mod(p)
        }))
    };
    let first_go_mod: Vec<Option<usize>> =
        model.stages.iter().map(|s| s.instructions.clone().find(|&i| copies_go_mod_at(i))).collect();
    let mut inherits_go_mod: Vec<bool> = Vec::with_capacity(model.stages.len());
    for s in &model.stages {
        let from_base =
            s.base_stage.filter(|&b| b < s.index).is_some_and(|b| inherits_go_mod[b] || first_go_mod[b].is_some());
        inherits_go_mod.push(from_base);
    }
    for script in cx.scripts {
        // A go.mod in the stage (or a stage it builds on), or mounted into this RUN, pins what
        // `go install pkg` (no version) installs. Looked up only for such a command.
        let has_go_mod = || {
            script.mounts().any(binds_go_mod)
                || inherits_go_mod.get(script.stage) == Some(&true)
                || first_go_mod.get(script.stage).copied().flatten().is_some_and(|i| i < script.index)
        };
        let commands = script.commands();
        for (at, cmd) in commands.iter().enumerate() {
            if cmd.name() != Some("go") {
                continue;
            }
            // `go get -d pkg && cd src/pkg && git checkout "$VERSION"`: the checkout pins what
            // was fetched (GOPATH mode).
            let checked_out_later = || {
                commands[at + 1..].iter().any(|c| {
                    c.name() == Some("git") && c.args().iter().any(|w| matches!(&*w.text, "checkout" | "reset"))
                })
            };
            let args = cmd.args();
            let Some(sub) = args.first().map(|w| &*w.text) else { continue };
            if !matches!(sub, "install" | "get" | "run") {
                continue;
            }
            let operands = after_flags(&args[1..], |w| &w.text);
            // `go run pkg args...`: only the package; the rest are the program's arguments.
            let packages = if sub == "run" { &operands[..operands.len().min(1)] } else { operands };
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
                    None if sub == "run" || (sub == "install" && has_go_mod()) || checked_out_later() => continue,
                    None => (format!("`{text}` has no version"), format!("pin it: `{text}@<version>`")),
                };
                cx.report(cmd.span_of(&word.span), message).help(help);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::{lint_text, Settings};

    fn flagged(dockerfile: &str) -> Vec<String> {
        let settings = Settings { select: vec!["IMG139".into()], ..Settings::default() };
        lint_text(dockerfile, &settings).into_iter().map(|d| dockerfile[d.span].to_string()).collect()
    }

    #[test]
    fn flag_values_are_not_packages() {
        let df = "FROM golang\nRUN go install -tags netgo -p 4 -ldflags \"-s -w\" github.com/x/y@v1.2.3\nRUN go run -exec sudo -tags=x github.com/x/z@latest github.com/arg\nRUN go get -u -- github.com/x/w\n";
        assert_eq!(flagged(df), ["github.com/x/z@latest", "github.com/x/w"]);
    }

    #[test]
    fn a_wildcard_copy_of_go_mod_pins() {
        assert!(flagged("FROM golang\nWORKDIR /src\nCOPY go.* ./\nRUN go install github.com/x/y\n").is_empty());
        assert!(flagged("FROM golang\nCOPY *.mod *.sum ./\nRUN go install github.com/x/y\n").is_empty());
        assert_eq!(flagged("FROM golang\nCOPY *.json ./\nRUN go install github.com/x/y\n"), ["github.com/x/y"]);
    }
}
