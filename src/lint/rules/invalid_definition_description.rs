use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::{Category, Severity};
use crate::model;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG510",
        name: "invalid-definition-description",
        category: Category::Style,
        severity: Severity::Info,
        buildkit: Some("InvalidDefinitionDescription"),
        summary: "A comment right above a named FROM or an ARG does not start with the stage or argument name.",
        why: "`docker buildx build --call=outline` and `--call=targets` show the comment directly above a stage or ARG as its description when it starts with the name (`# VERSION the release to build`). Any other comment in that place is either a description with the wrong name or a note that is about to be shown as one.",
        bad: "# GO the Go release\nARG GO=1.22\n# flagged: the comment does not start with the stage name\n# compile the binary\nFROM golang:${GO} AS build\n# flagged: nor with the argument name\n# the release to build\nARG VERSION=1.0\n",
        good: "# build compiles the binary\nFROM golang:1.22 AS build\n# VERSION the release to build\nARG VERSION=1.0\n\n# a note that is not a description, set apart by an empty line\n\nARG COMMIT\n",
        notes: "Off unless selected (`select = [\"IMG510\"]` or `--select InvalidDefinitionDescription`): BuildKit runs this check only when experimental checks are enabled, and most comments above a FROM are notes, not descriptions. As in BuildKit, only the last comment line directly above the instruction counts (an empty line or an empty `#` line in between makes it a plain comment). Unlike BuildKit, the name is compared ignoring case (`# Build the binary` above `AS build` is a description), the comment block that opens the file (a header above the first instruction) is not taken for a description, and imgopt and hadolint pragmas (`# imgopt ignore=...`, `# hadolint ignore=...`) are not either: they have to sit right above the instruction.",
        opt_in: true,
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    let model = cx.model;
    for (index, ins) in cx.df.instructions.iter().enumerate() {
        let names: Vec<String> = match ins.keyword.as_str() {
            "FROM" => match model.stage_of(index).filter(|s| s.from == index).and_then(|s| s.name.clone()) {
                Some(name) => vec![name],
                None => continue,
            },
            "ARG" => model::arg_decls(ins, index).into_iter().map(|d| d.name).collect(),
            _ => continue,
        };
        if names.is_empty() || ins.start_line < 2 {
            continue;
        }
        // Comments are in file order: the one on the line above, by binary search.
        let comments = &cx.df.comments;
        let above = comments.partition_point(|c| cx.df.lines.line(c.span.start) < ins.start_line - 1);
        let Some(comment) = comments.get(above).filter(|c| cx.df.lines.line(c.span.start) == ins.start_line - 1) else {
            continue;
        };
        let text = comment.text.as_str();
        // An empty `#` line ends a description block in BuildKit's parser.
        if text.is_empty() || text.starts_with("imgopt ") || text.starts_with("hadolint ") {
            continue;
        }
        let first_word = text.split(' ').next().unwrap_or_default();
        // The file's opening comment block is a header, whatever its last line says.
        if index == 0 {
            continue;
        }
        if names.iter().any(|n| n.eq_ignore_ascii_case(first_word)) {
            continue;
        }
        let example = if names.len() > 1 { "<arg_key>" } else { names[0].as_str() };
        let message = format!("comment for {} should follow the format `# {example} <description>`", ins.keyword);
        cx.report(ins.keyword_span.clone(), message)
            .related(comment.span.clone(), "taken as the description")
            .help("start the comment with the name, or put an empty line between the comment and the instruction");
    }
}
