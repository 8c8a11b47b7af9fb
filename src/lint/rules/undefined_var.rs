use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::model::{self, expand::referenced_names, AUTOMATIC_PLATFORM_ARGS, PREDEFINED_ARGS};
use crate::suggest::{closest, one_typo_apart};
use crate::syntax;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG130",
        name: "undefined-var",
        buildkit: Some("UndefinedVar"),
        summary: "An instruction BuildKit expands (ENV, ARG, LABEL, COPY, ADD, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL) uses a variable no ARG or ENV in scope defines.",
        why: "BuildKit expands these instructions itself, and an undefined variable becomes the empty string: `ENV PATH=/app/bin:$PAHT` drops the whole search path, `COPY $SRC /app` copies the context root. A meta ARG (declared before the first FROM) is not visible inside a stage until the stage says `ARG NAME` again.",
        bad: "ARG VERSION=1.2\nFROM alpine:3.20\n# flagged: VERSION is declared before FROM, not in this stage\nLABEL org.opencontainers.image.version=$VERSION\n# flagged: PAHT is a typo of PATH\nENV PATH=/app/bin:$PAHT\n",
        good: "ARG VERSION=1.2\nFROM alpine:3.20\nARG VERSION\nLABEL org.opencontainers.image.version=$VERSION\nENV PATH=/app/bin:$PATH\n",
        notes: "Like BuildKit, RUN, CMD, ENTRYPOINT and HEALTHCHECK are not judged (the shell expands them), `${NAME:-default}` counts as a use, and the message suggests a name in scope within two edits (\"did you mean\"). The platform ARGs (`TARGETARCH`...) and the proxy ARGs are never reported.\n\nBuildKit reads the base image's configuration and knows its ENV (`PYTHON_VERSION` in `python`, `GOPATH` in `golang`); imgopt lints without pulling images. In a stage built from `scratch` everything in scope is known and every undefined name is reported. In a stage whose chain of bases ends in an image, imgopt reports a name only on a sure sign of a mistake: a meta ARG not redeclared in the stage, a name the stage defines only after this use, or a name one typo away (a letter inserted, deleted, replaced, or two swapped) from one in scope. So `WORKDIR $GOPATH/src` in a `golang` stage is not reported.",
        ..RuleMeta::DEFAULT
    },
    check,
};

/// Names defined without any declaration: BuildKit's default PATH, the platform and proxy
/// ARGs, and the SBOM scan ARGs BuildKit reads itself.
fn always_defined(name: &str) -> bool {
    name == "PATH"
        || AUTOMATIC_PLATFORM_ARGS.contains(&name)
        || PREDEFINED_ARGS.contains(&name)
        || name == "BUILDKIT_SBOM_SCAN_CONTEXT"
        || name == "BUILDKIT_SBOM_SCAN_STAGE"
}

/// The words of an instruction BuildKit expands with its own lexer (the instructions that
/// implement `SupportsSingleWordExpansion`, plus ARG defaults), and the names it defines
/// afterwards, in order: (word, names defined once the word is expanded).
fn expanded_words(ins: &syntax::Instruction, index: usize) -> Vec<(String, Vec<String>)> {
    match ins.keyword.as_str() {
        // Each default is expanded before its own name is defined.
        "ARG" => {
            model::arg_decls(ins, index).into_iter().map(|d| (d.default.unwrap_or_default(), vec![d.name])).collect()
        }
        // All values of one ENV are expanded before any of its names is set.
        "ENV" => {
            let pairs = model::env_pairs(ins);
            let names: Vec<String> = pairs.iter().map(|(n, _)| n.clone()).collect();
            let mut words: Vec<(String, Vec<String>)> = pairs.into_iter().map(|(_, v)| (v, Vec::new())).collect();
            if let Some(last) = words.last_mut() {
                last.1 = names;
            }
            words
        }
        "LABEL" => model::env_pairs(ins).into_iter().flat_map(|(k, v)| [(k, Vec::new()), (v, Vec::new())]).collect(),
        "COPY" | "ADD" => ins
            .flags
            .iter()
            .filter(|f| matches!(f.name(), "chown" | "chmod"))
            .filter_map(|f| f.value().map(str::to_string))
            .chain(ins.args.iter().filter(|a| !a.starts_with("<<")).cloned())
            .map(|w| (w, Vec::new()))
            .collect(),
        "WORKDIR" | "USER" | "EXPOSE" | "VOLUME" | "STOPSIGNAL" => {
            ins.args.iter().map(|w| (w.clone(), Vec::new())).collect()
        }
        _ => Vec::new(),
    }
}

/// Where `$name` or `${name...}` is written in `text`, searched from `from`.
fn reference_span(text: &str, from: usize, to: usize, name: &str) -> Option<std::ops::Range<usize>> {
    let hay = text.get(from..to)?;
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for (at, _) in hay.match_indices('$') {
        let rest = &hay[at + 1..];
        let (inner, braced) = match rest.strip_prefix('{') {
            Some(r) => (r, true),
            None => (rest, false),
        };
        if inner.starts_with(name) && !inner[name.len()..].starts_with(is_name_char) {
            let len = 1 + usize::from(braced) + name.len();
            return Some(from + at..from + at + len);
        }
    }
    None
}

fn check(cx: &Checker<'_, '_>) {
    let model = cx.model;
    for stage in &model.stages {
        // In a stage built on an image, the image's ENV is unknown here (see the notes).
        let image_env_unknown = model.lineage(stage.index).last().is_some_and(|root| !root.is_scratch());
        let defined_in_stage = model.names_defined_in(&cx.df.syntax, stage.index, stage.instructions.end);
        // What the stages this one builds on define; the stage's own ARGs and ENVs join as the
        // walk passes them (one pass: linear in the stage's length).
        let mut defined_so_far = model.names_defined_in(&cx.df.syntax, stage.index, stage.instructions.start + 1);
        for index in stage.instructions.start + 1..stage.instructions.end {
            let ins = &cx.df.instructions[index];
            let own: Vec<String> = match ins.keyword.as_str() {
                "ARG" => crate::model::arg_decls(ins, index).into_iter().map(|d| d.name).collect(),
                "ENV" => crate::model::env_pairs(ins).into_iter().map(|(name, _)| name).collect(),
                _ => Vec::new(),
            };
            let words = expanded_words(ins, index);
            let uses_variables = words.iter().any(|(w, _)| w.contains('$'));
            let mut defined = match uses_variables {
                true => defined_so_far.clone(),
                false => Vec::new(),
            };
            for name in own {
                if !defined_so_far.contains(&name) {
                    defined_so_far.push(name);
                }
            }
            if !uses_variables {
                continue;
            }
            let mut reported: Vec<String> = Vec::new();
            for (word, defines) in words {
                for name in referenced_names(&word, cx.df.escape) {
                    let plain = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
                    if !plain || always_defined(&name) || defined.contains(&name) || reported.contains(&name) {
                        continue;
                    }
                    let is_meta = model.meta_args.iter().any(|a| a.name == name);
                    let mut options = vec!["PATH".to_string()];
                    options.extend(defined.iter().cloned());
                    let suggestion = closest(&name, &options).map(str::to_string);
                    // Sure signs of a mistake even when the image's ENV is unknown: a meta ARG
                    // not redeclared, a name the stage defines only later, a one-letter typo.
                    let sure = is_meta
                        || defined_in_stage.contains(&name)
                        || suggestion.as_deref().is_some_and(|s| one_typo_apart(&name, s));
                    if image_env_unknown && !sure {
                        continue;
                    }
                    let span = reference_span(cx.df.text, ins.span.start, ins.span.end, &name)
                        .unwrap_or_else(|| ins.keyword_span.clone());
                    let mut message = format!("usage of undefined variable `${name}`");
                    if let Some(s) = &suggestion {
                        message.push_str(&format!(" (did you mean `${s}`?)"));
                    }
                    let help = if is_meta && !defined_in_stage.contains(&name) {
                        format!(
                            "`{name}` is declared before the first FROM: add `ARG {name}` in this stage to use it here"
                        )
                    } else {
                        format!("declare it before this instruction (`ARG {name}` or `ENV {name}=...`)")
                    };
                    cx.report(span, message).help(help);
                    reported.push(name);
                }
                defined.extend(defines);
            }
        }
    }
}
