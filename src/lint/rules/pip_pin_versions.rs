use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Severity;
use crate::model::run_script::{is_pip_install, PIP};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG125",
        name: "unpinned-pip-package",
        severity: Severity::Info,
        hadolint: &["DL3013"],
        summary: "`pip install` of a package without a version specifier.",
        why: "Without a version the build installs whatever is newest that day: the same Dockerfile gives different images and may break on a new release.",
        bad: "FROM python:3.12-slim\n# flagged: no version\nRUN pip install --no-cache-dir flask\n",
        good: "FROM python:3.12-slim\nRUN pip install --no-cache-dir flask==3.0.3\nRUN pip install --no-cache-dir -r requirements.txt\n",
        notes: "Requirement files (`-r`), editable installs, paths, URLs, wheels and `pip install --upgrade pip` are not reported.",
        ..RuleMeta::DEFAULT
    },
    check,
};

fn check(cx: &Checker<'_, '_>) {
    for &cmd in cx.commands.iter().filter(|c| is_pip_install(c)) {
        let operands = cmd.operands(PIP);
        let packages = operands.iter().skip_while(|w| w.text != "install").skip(1);
        for word in packages {
            let t = &*word.text;
            let pinned = t.contains(['=', '<', '>', '~', '@']);
            let not_a_name = word.expansion
                || t.contains(['/', ':'])
                || t.starts_with('.')
                || t.ends_with(".whl")
                || t.ends_with(".tar.gz");
            if pinned || not_a_name || t == "pip" || t == "setuptools" || t == "wheel" {
                continue;
            }
            cx.report(cmd.span_of(&word.span), format!("`{t}` has no version"))
                .help(format!("pin it: `{t}==<version>`, or install from a locked requirements file"));
        }
    }
}
