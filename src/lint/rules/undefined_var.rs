use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::model::{self, expand::referenced_names, AUTOMATIC_PLATFORM_ARGS, PREDEFINED_ARGS};
use crate::suggest::{closest, one_typo_apart};
use crate::syntax;
use std::collections::HashSet;

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

/// Names in the order they were defined, each once, with a set for membership: a stage of
/// thousands of ARGs and uses stays linear.
#[derive(Default)]
struct Names {
    order: Vec<String>,
    set: HashSet<String>,
}

impl Names {
    fn add(&mut self, name: String) {
        if self.set.insert(name.clone()) {
            self.order.push(name);
        }
    }

    fn contains(&self, name: &str) -> bool {
        self.set.contains(name)
    }

    /// Forget the names added after the first `len`.
    fn truncate(&mut self, len: usize) {
        for name in self.order.drain(len.min(self.order.len())..) {
            self.set.remove(&name);
        }
    }
}

/// How many edit distances the "did you mean" suggestions may compute for one file: each
/// suggestion compares the name with every name in scope, so a stage of 50,000 ARGs used as
/// often undefined would take 2.5 billion. Past the budget a finding has no suggestion (and
/// the one-typo sign of a mistake is not looked for); a real Dockerfile stays far below it.
const SUGGESTION_BUDGET: usize = 1_000_000;

/// The names an ARG or ENV instruction defines.
fn defined_by(ins: &syntax::Instruction, index: usize) -> Vec<String> {
    match ins.keyword.as_str() {
        "ARG" => model::arg_decls(ins, index).into_iter().map(|d| d.name).collect(),
        "ENV" => model::env_pairs(ins).into_iter().map(|(name, _)| name).collect(),
        _ => Vec::new(),
    }
}

fn check(cx: &Checker<'_, '_>) {
    let model = cx.model;
    let meta: HashSet<&str> = model.meta_args.iter().map(|a| a.name.as_str()).collect();
    let mut budget = SUGGESTION_BUDGET;
    // A stage sees what the stages it builds on define (their ARGs and ENV carry over): walk the
    // stages as the forest they form, depth first, adding a stage's names on the way down and
    // taking them back on the way up. Each stage is walked once, however long the chain of
    // stages built on each other (a per-stage copy of the chain's names would be quadratic).
    enum Step {
        Enter(usize),
        /// Back up from a stage: forget the names past this many.
        Leave(usize),
    }
    let base = |s: &crate::model::Stage| s.base_stage.filter(|&b| b < s.index);
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); model.stages.len()];
    let mut root: Vec<usize> = Vec::with_capacity(model.stages.len());
    let mut walk: Vec<Step> = Vec::new();
    for stage in &model.stages {
        match base(stage) {
            Some(b) => {
                children[b].push(stage.index);
                root.push(root[b]);
            }
            None => {
                root.push(stage.index);
                walk.push(Step::Enter(stage.index));
            }
        }
    }
    walk.reverse();
    let mut defined = Names::default();
    while let Some(step) = walk.pop() {
        let index = match step {
            Step::Leave(len) => {
                defined.truncate(len);
                continue;
            }
            Step::Enter(index) => index,
        };
        let stage = &model.stages[index];
        walk.push(Step::Leave(defined.order.len()));
        walk.extend(children[index].iter().rev().map(|&c| Step::Enter(c)));
        // In a stage built on an image, the image's ENV is unknown here (see the notes).
        let image_env_unknown = !model.stages[root[index]].is_scratch();
        // What the stage itself defines anywhere: a use before the definition is a sure mistake.
        let own_in_stage: HashSet<String> =
            stage.instructions.clone().skip(1).flat_map(|i| defined_by(&cx.df.instructions[i], i)).collect();
        for i in stage.instructions.start + 1..stage.instructions.end {
            let ins = &cx.df.instructions[i];
            let words = expanded_words(ins, i);
            if words.iter().any(|(w, _)| w.contains('$')) {
                let scope = Scope { defined: &defined, own_in_stage: &own_in_stage, meta: &meta, image_env_unknown };
                check_instruction(cx, ins, words, &scope, &mut budget);
            }
            for name in defined_by(ins, i) {
                defined.add(name);
            }
        }
    }
}

/// What an instruction's uses are judged against.
struct Scope<'s> {
    /// Defined before the instruction: by the stages this one builds on, then its own lines.
    defined: &'s Names,
    /// Defined by the stage's own ARGs and ENVs, before or after the instruction.
    own_in_stage: &'s HashSet<String>,
    meta: &'s HashSet<&'s str>,
    image_env_unknown: bool,
}

/// The uses of one instruction against what is defined before it (`defined`) and what its own
/// earlier words define.
fn check_instruction(
    cx: &Checker<'_, '_>,
    ins: &syntax::Instruction,
    words: Vec<(String, Vec<String>)>,
    scope: &Scope<'_>,
    budget: &mut usize,
) {
    let defined = scope.defined;
    let mut own = Names::default();
    let mut reported: HashSet<String> = HashSet::new();
    for (word, defines) in words {
        for name in referenced_names(&word, cx.df.escape) {
            let plain = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
            if !plain
                || always_defined(&name)
                || defined.contains(&name)
                || own.contains(&name)
                || reported.contains(&name)
            {
                continue;
            }
            let is_meta = scope.meta.contains(name.as_str());
            let candidates = 1 + defined.order.len() + own.order.len();
            let suggestion = if candidates <= *budget {
                *budget -= candidates;
                let mut options = vec!["PATH".to_string()];
                options.extend(defined.order.iter().chain(&own.order).cloned());
                closest(&name, &options).map(str::to_string)
            } else {
                None
            };
            // Sure signs of a mistake even when the image's ENV is unknown: a meta ARG
            // not redeclared, a name the stage defines only later, a one-letter typo.
            let sure = is_meta
                || scope.own_in_stage.contains(&name)
                || suggestion.as_deref().is_some_and(|s| one_typo_apart(&name, s));
            if scope.image_env_unknown && !sure {
                continue;
            }
            let span = reference_span(cx.df.text, ins.span.start, ins.span.end, &name)
                .unwrap_or_else(|| ins.keyword_span.clone());
            let mut message = format!("usage of undefined variable `${name}`");
            if let Some(s) = &suggestion {
                message.push_str(&format!(" (did you mean `${s}`?)"));
            }
            let help = if is_meta && !scope.own_in_stage.contains(&name) {
                format!("`{name}` is declared before the first FROM: add `ARG {name}` in this stage to use it here")
            } else {
                format!("declare it before this instruction (`ARG {name}` or `ENV {name}=...`)")
            };
            cx.report(span, message).help(help);
            reported.insert(name);
        }
        for name in defines {
            own.add(name);
        }
    }
}
