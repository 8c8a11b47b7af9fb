//! The context a rule runs in: the file, its stages, the settings, and where findings go.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};

use super::rule::{Rule, RuleMeta};
use super::{Applicability, Diagnostic, Edit, Fix, Related, Settings};
use crate::model::document::Document;
use crate::model::instruction::{Command, Flag};
use crate::model::run_script::{RunCommand, RunScript};
use crate::model::Model;
use crate::syntax::Span;

pub struct Checker<'d, 'a> {
    pub df: &'d Document<'a>,
    /// Stages and meta ARGs (`df.model`), at hand for rules.
    pub model: &'d Model,
    pub settings: &'d Settings,
    /// Every RUN of a POSIX-shell stage, parsed once for all rules.
    pub scripts: &'d [RunScript<'d>],
    /// Every simple command of those RUNs, in file order, walked once for all rules.
    pub commands: &'d [RunCommand<'d, 'd>],
    /// The rule running now: whose findings [`Checker::report`] makes.
    current: Cell<&'static RuleMeta>,
    out: RefCell<Vec<Diagnostic>>,
}

impl<'d, 'a> Checker<'d, 'a> {
    /// `scripts` and `commands` come from [`crate::model::run_script::run_scripts`] and
    /// [`crate::model::run_script::all_commands`] over `df`.
    pub fn new(
        df: &'d Document<'a>,
        scripts: &'d [RunScript<'d>],
        commands: &'d [RunCommand<'d, 'd>],
        settings: &'d Settings,
    ) -> Self {
        Checker {
            df,
            model: &df.model,
            settings,
            scripts,
            commands,
            current: Cell::new(&RuleMeta::DEFAULT),
            out: RefCell::new(Vec::new()),
        }
    }

    pub fn run(&self, rule: &'static Rule) {
        self.current.set(&rule.meta);
        (rule.check)(self);
        self.current.set(&RuleMeta::DEFAULT);
    }

    /// The RUNs of stages that end up in the final image (a build stage's layers are not
    /// shipped, so what they leave behind costs nothing). Borrows nothing from the checker, so
    /// a rule can report while it walks them.
    pub fn shipping_scripts(&self) -> impl Iterator<Item = &'d RunScript<'d>> + use<'d, 'a> {
        let ships = self.model.shipping_stages();
        self.scripts.iter().filter(move |s| ships.get(s.stage).copied().unwrap_or(false))
    }

    /// The parsed RUN at instruction `index`, if it is one (the scripts are in file order: a
    /// binary search, so a rule asking for every instruction stays linear).
    pub fn script_at(&self, index: usize) -> Option<&'d RunScript<'d>> {
        self.scripts.binary_search_by_key(&index, |s| s.index).ok().map(|k| &self.scripts[k])
    }

    /// The position in [`Checker::scripts`] of the RUN that holds `cmd` (one of
    /// [`Checker::commands`]): a binary search, so a rule can look at the few RUNs that matter
    /// instead of walking every RUN's commands again.
    pub fn script_of(&self, cmd: &RunCommand<'_, '_>) -> Option<usize> {
        let at = cmd.span().start;
        let k = self.scripts.partition_point(|s| s.run.span.start <= at).checked_sub(1)?;
        self.scripts[k].run.span.contains(&at).then_some(k)
    }

    /// [`Checker::commands`] with the RUN each belongs to, in file order: the walk every rule
    /// shares, with no RUN's commands walked again.
    pub fn commands_with_scripts(
        &self,
    ) -> impl Iterator<Item = (&'d RunScript<'d>, &'d RunCommand<'d, 'd>)> + use<'_, 'd, 'a> {
        let mut k = 0;
        let scripts = self.scripts;
        self.commands.iter().filter_map(move |cmd| {
            let at = cmd.span().start;
            while scripts.get(k + 1).is_some_and(|s| s.run.span.start <= at) {
                k += 1;
            }
            scripts.get(k).filter(|s| s.run.span.contains(&at)).map(|s| (s, cmd))
        })
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        let mut out = self.out.into_inner();
        out.shrink_to_fit();
        out
    }

    pub fn text(&self) -> &'a str {
        self.df.text
    }

    /// Every `FROM --platform=VALUE` flag, in file order.
    pub fn from_platform_flags(&self) -> impl Iterator<Item = &'d Flag> + use<'d, 'a> {
        self.df.all_commands().filter_map(|(_, command)| match command {
            Command::From(from) => from.platform.as_ref(),
            _ => None,
        })
    }

    /// Reports a finding of the running rule at `span`; chain the builder to add detail. The
    /// finding is kept when the builder is dropped.
    pub fn report(&self, span: Span, message: impl Into<Cow<'static, str>>) -> Report<'_> {
        let meta = self.current.get();
        let diagnostic = Diagnostic {
            code: meta.code,
            rule: meta.name,
            severity: meta.severity,
            span,
            message: message.into(),
            help: None,
            related: Vec::new(),
            fix: None,
        };
        Report { out: &self.out, diagnostic: Some(diagnostic) }
    }

    /// The whole span of instruction `index`.
    pub fn span_of(&self, index: usize) -> Span {
        self.df.instructions.get(index).map_or(0..0, |i| i.span.clone())
    }
}

/// Adds detail to a finding just reported; the finding is recorded when this is dropped.
pub struct Report<'c> {
    out: &'c RefCell<Vec<Diagnostic>>,
    diagnostic: Option<Diagnostic>,
}

impl Report<'_> {
    fn with(mut self, add: impl FnOnce(&mut Diagnostic)) -> Self {
        if let Some(d) = self.diagnostic.as_mut() {
            add(d);
        }
        self
    }

    pub fn help(self, help: impl Into<Cow<'static, str>>) -> Self {
        self.with(|d| d.help = Some(help.into()))
    }

    pub fn related(self, span: Span, message: impl Into<Cow<'static, str>>) -> Self {
        self.with(|d| {
            // Most findings point at one other place: room for exactly that one.
            if d.related.is_empty() {
                d.related.reserve_exact(1);
            }
            d.related.push(Related { span, message: message.into() })
        })
    }

    pub fn fix(
        self,
        description: impl Into<Cow<'static, str>>,
        applicability: Applicability,
        edits: Vec<Edit>,
    ) -> Self {
        self.with(|d| d.fix = Some(Fix { description: description.into(), applicability, edits }))
    }
}

impl Drop for Report<'_> {
    fn drop(&mut self) {
        if let Some(d) = self.diagnostic.take() {
            self.out.borrow_mut().push(d);
        }
    }
}

/// One edit replacing `range` by `replacement`.
pub fn edit(range: Span, replacement: impl Into<String>) -> Edit {
    Edit { range, replacement: replacement.into() }
}
