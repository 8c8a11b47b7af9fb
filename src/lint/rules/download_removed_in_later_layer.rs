use std::collections::{HashMap, HashSet};

use super::{Rule, RuleMeta};
use crate::lint::checker::Checker;
use crate::lint::Category;
use crate::model::cleanup::cleanup_only;
use crate::model::run_script::{RunCommand, PLAIN};
use crate::shell::{OptionSpec, Word};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG213",
        name: "download-removed-in-later-layer",
        category: Category::Size,
        summary: "A file downloaded in one RUN and deleted by a later RUN that does other work too.",
        why: "Layers only add: the download stays in the layer of the RUN that fetched it, and the later `rm` only hides it. Fetch, unpack and delete in the same RUN.",
        bad: "FROM debian:12-slim\nRUN curl -fsSLo /tmp/tool.tgz https://example.com/tool-1.2.tgz\n# flagged: the archive is already in the previous layer\nRUN tar -xzf /tmp/tool.tgz -C /opt && rm /tmp/tool.tgz\n",
        good: "FROM debian:12-slim\nRUN curl -fsSLo /tmp/tool.tgz https://example.com/tool-1.2.tgz \\\n && tar -xzf /tmp/tool.tgz -C /opt && rm /tmp/tool.tgz\n",
        notes: "Downloads recognised: `curl -o FILE`/`--output FILE` and `wget -O FILE`/`--output-document FILE`, the same path written the same way in the `rm`. A RUN that only cleans up is IMG206's. Only stages that end up in the final image are checked.",
        ..RuleMeta::DEFAULT
    },
    check,
};

const CURL: OptionSpec<'static> = OptionSpec {
    short_with_value: "oHdXuAeErTwmCKbcxy",
    long_with_value: &["output", "header", "data", "request", "user", "user-agent", "referer", "retry", "max-time"],
    stop_at_positional: false,
};
const WGET: OptionSpec<'static> = OptionSpec {
    short_with_value: "OoaPUeTtwQiBlARDXIY",
    long_with_value: &[
        "output-document",
        "output-file",
        "directory-prefix",
        "user-agent",
        "header",
        "tries",
        "timeout",
    ],
    stop_at_positional: false,
};

/// The file `cmd` downloads to, when it names one.
fn download_target<'s>(cmd: &RunCommand<'s, '_>) -> Option<&'s str> {
    let (spec, short, long) = match cmd.name()? {
        "curl" => (CURL, 'o', "output"),
        "wget" => (WGET, 'O', "output-document"),
        _ => return None,
    };
    crate::shell::parse_args(cmd.args(), spec).find_map(|a| match a {
        crate::shell::Arg::Short { flag, value: Some(v), .. } if flag == short => Some(v.text()),
        crate::shell::Arg::Long { name, value: Some(v), .. } if name == long => Some(v.text()),
        _ => None,
    })
}

fn check(cx: &Checker<'_, '_>) {
    // Nothing to do unless some `rm` names a file some command downloads.
    let targets: HashSet<&str> = cx.commands.iter().filter_map(download_target).filter(|t| *t != "-").collect();
    let removes_a_download =
        |c: &RunCommand<'_, '_>| c.name() == Some("rm") && c.operands(PLAIN).iter().any(|w| targets.contains(&*w.text));
    if targets.is_empty() || !cx.commands.iter().any(removes_a_download) {
        return;
    }
    let ships = cx.model.shipping_stages();
    // (stage, path) → the RUN that downloaded the file and left it in its layer.
    let mut left: HashMap<(usize, String), usize> = HashMap::new();
    let mut walk = cx.commands_with_scripts().filter(|(s, _)| ships.get(s.stage).copied().unwrap_or(false)).peekable();
    while let Some(&(script, _)) = walk.peek() {
        let mut commands: Vec<RunCommand<'_, '_>> = Vec::new();
        while let Some((_, cmd)) = walk.next_if(|(s, _)| std::ptr::eq(*s, script)) {
            commands.push(*cmd);
        }
        let downloaded: Vec<&str> = commands.iter().filter_map(download_target).filter(|t| *t != "-").collect();
        let rms: Vec<(&RunCommand<'_, '_>, Vec<&Word<'_>>)> = commands
            .iter()
            .filter(|c| c.name() == Some("rm"))
            .map(|c| (c, c.operands(PLAIN).into_iter().filter(|w| w.text != "-").collect()))
            .collect();
        // A RUN that only cleans up is IMG206's.
        let cleanup = cleanup_only(&commands).is_some();
        for (rm, paths) in &rms {
            for path in paths {
                let key = (script.stage, path.text.to_string());
                // Downloaded again by this RUN: the rm removes that copy.
                if cleanup || downloaded.contains(&&*path.text) {
                    left.remove(&key);
                    continue;
                }
                if let Some(fetched) = left.remove(&key) {
                    cx.report(
                        rm.span_of(&path.span),
                        format!("`{}` was downloaded by an earlier RUN: its bytes stay in that layer", path.text),
                    )
                    .related(cx.span_of(fetched), "downloaded here")
                    .help("download, unpack and delete in the same RUN");
                }
            }
        }
        for target in downloaded {
            let removed_here = rms.iter().any(|(_, paths)| paths.iter().any(|w| w.text == target));
            if !removed_here {
                left.insert((script.stage, target.to_string()), script.index);
            }
        }
    }
}
