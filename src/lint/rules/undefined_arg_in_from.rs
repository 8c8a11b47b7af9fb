use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::model::expand::referenced_names;
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG107",
        name: "undefined-arg-in-from",
        buildkit: Some("UndefinedArgInFrom"),
        summary: "FROM uses a variable that no ARG before the first FROM declares.",
        why: "Only ARGs declared before the first FROM (and BuildKit's predefined platform ARGs) are visible in FROM; anything else expands to the empty string and the image reference is wrong.",
        bad: "ARG VERSION=3.20\n# flagged: VERSON is a typo\nFROM alpine:${VERSON}\n",
        good: "ARG VERSION=3.20\nFROM alpine:${VERSION}\n",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    // BuildKit defines the platform ARGs for every build.
    let mut declared: Vec<&str> = crate::model::AUTOMATIC_PLATFORM_ARGS.to_vec();
    declared.push("TARGETSTAGE");
    for (_, command) in cx.df.commands_in(cx.model.meta_instructions.clone()) {
        if let Command::Arg(defs) = command {
            declared.extend(defs.iter().map(|d| d.name.as_str()));
        }
    }
    for stage in &cx.model.stages {
        let Some(Command::From(from)) = cx.df.command(stage.from) else {
            continue;
        };
        let mut places = vec![(&from.image.text, from.image.span.clone())];
        places.extend(from.platform.iter().map(|f| (&f.value, f.value_span.clone())));
        for (value, span) in places {
            for name in referenced_names(value, cx.df.escape) {
                if !declared.contains(&name.as_str()) {
                    cx.report(
                        span.clone(),
                        format!("FROM uses `${name}`, which no ARG before the first FROM declares"),
                    )
                    .help(format!("declare `ARG {name}=<default>` at the top of the file"));
                }
            }
        }
    }
}
