use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG119",
        name: "cd-in-run",
        category: Category::Style,
        hadolint: &["DL3003"],
        summary: "`cd` in a RUN to change the working directory.",
        why: "The directory change lasts only for that RUN; WORKDIR states it once for every following instruction and makes the file easier to follow.",
        bad: "FROM golang:1.23\n# flagged: use WORKDIR\nRUN cd /src && go build ./...\n",
        good: "FROM golang:1.23\nWORKDIR /src\nRUN go build ./...\nRUN (cd /tmp && touch scratch)\n",
        notes: "Unlike hadolint DL3003, a `cd` that runs in a subshell is not reported: inside `( )` (`(cd dir && make)`), a command substitution (`$(cd dir && pwd)`) or a pipeline (`cd dir | ...`), it is scoped on purpose. A `cd` inside `if`, `case`, a loop or a brace group `{ }` runs in the RUN's own shell and lasts for the rest of it: it is reported. `cd /` is not: it leaves a directory (often one about to be deleted) rather than choosing one to work in.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    // `cd /` leaves a directory (before deleting it, say): there is no WORKDIR to say instead.
    let to_root = |c: &&crate::model::run_script::RunCommand<'_, '_>| c.args().len() == 1 && c.args()[0].text == "/";
    for &cmd in cx.commands.iter().filter(|c| c.name() == Some("cd") && !c.context.in_subshell && !to_root(c)) {
        cx.report(cmd.span(), "`cd` changes the directory for this RUN only").help("use `WORKDIR` instead");
    }
}
