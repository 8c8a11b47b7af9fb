use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::model::instruction::Command;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG128",
        name: "copy-from-unknown-stage",
        hadolint: &["DL3022"],
        summary: "`COPY --from=name` where no earlier stage has that name.",
        why: "A `--from` value that is not an earlier stage is pulled as an image: a typo in a stage name (or a stage defined later in the file) silently copies from `docker.io/library/<name>` or fails with a pull error.",
        bad: "FROM golang:1.23 AS build\nRUN go version\nFROM alpine:3.20\n# flagged: the stage is called build\nCOPY --from=builder /go/bin/app /app\n",
        good: "FROM golang:1.23 AS build\nRUN go version\nFROM alpine:3.20\nCOPY --from=build /go/bin/app /app\nCOPY --from=nginx:1.27 /etc/nginx/nginx.conf /etc/nginx/\n",
        notes: "Values that look like image references (with a tag, digest, registry or path) and variables are not reported; stage numbers are checked against the stages before. hadolint DL3022 also reports image references such as `--from=gloursdocker/docker`, which are valid.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for stage in &cx.model.stages {
        for (_, command) in cx.df.commands_in(stage.instructions.clone()) {
            let Command::Copy(copy) = command else { continue };
            if let Some(flag) = &copy.from {
                let v = flag.value.as_str();
                if v.contains([':', '/', '@', '$', '.']) {
                    continue;
                }
                let known = match v.parse::<usize>() {
                    Ok(n) => n < stage.index,
                    Err(_) => cx.model.is_earlier_stage(v, stage.index),
                };
                let own = stage.name.as_ref().is_some_and(|n| n.eq_ignore_ascii_case(v));
                if known || own {
                    continue; // own stage: copy-from-own-stage reports it
                }
                // No earlier stage has the name: any stage that has it comes later.
                let later = cx.model.first_named(v).is_some();
                let message = if later {
                    format!("stage `{v}` is defined after this COPY; move it before")
                } else {
                    format!("no earlier stage is named `{v}`: it would be pulled as the image `{v}`")
                };
                cx.report(flag.span.clone(), message);
            }
        }
    }
}
