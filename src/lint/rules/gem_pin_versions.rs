use super::helpers::{report_unpinned, OsPackages};
use super::{Rule, RuleMeta};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        code: "IMG134",
        name: "unpinned-gem",
        hadolint: &["DL3028"],
        summary: "`gem install` of a gem without a version.",
        why: "An unpinned gem installs whatever version is newest on the day of the build; RubyGems keeps every release, so a pin always works and makes rebuilds reproducible.",
        bad: "FROM ruby:3.3-slim\n# flagged: bundler is unpinned\nRUN gem install bundler\n",
        good: "FROM ruby:3.3-slim\nRUN gem install bundler:2.5.11\n",
        notes: "`-v`/`--version` pins every gem of the command, `name:version` pins one. Local `.gem` files and variables are not reported.",
        ..RuleMeta::DEFAULT
    },
    check: |cx| report_unpinned(cx, OsPackages::Gem),
};
