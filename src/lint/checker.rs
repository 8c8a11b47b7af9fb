//! The context a rule runs in: the file, its stages, the settings, and where findings go.

use super::rules::{Rule, RuleMeta};
use super::{Applicability, Diagnostic, Edit, Fix, Related, Settings};
use crate::model::document::Document;
use crate::model::run_script::{RunCommand, RunScript};
use crate::model::Model;
use crate::syntax::Span;

pub struct Checker<'d, 'a> {
    pub df: &'d Document<'a>,
    /// Stages and meta ARGs (`df.model`), at hand for rules.
    pub model: &'d Model,
    pub settings: &'d Settings,
    /// Every RUN of a POSIX-shell stage, parsed once for all rules.
    pub scripts: &'d [RunScript<'d, 'a>],
    /// Every simple command of those RUNs, in file order, walked once for all rules.
    pub commands: &'d [RunCommand<'d, 'd>],
    current: Option<&'static RuleMeta>,
    out: Vec<Diagnostic>,
}

impl<'d, 'a> Checker<'d, 'a> {
    /// `scripts` and `commands` come from [`crate::model::run_script::run_scripts`] and
    /// [`crate::model::run_script::all_commands`] over `df`.
    pub fn new(
        df: &'d Document<'a>,
        scripts: &'d [RunScript<'d, 'a>],
        commands: &'d [RunCommand<'d, 'd>],
        settings: &'d Settings,
    ) -> Self {
        Checker { df, model: &df.model, settings, scripts, commands, current: None, out: Vec::new() }
    }

    pub fn run(&mut self, rule: &'static Rule) {
        self.current = Some(&rule.meta);
        (rule.check)(self);
        self.current = None;
    }

    /// The RUNs of stages that end up in the final image (a build stage's layers are not
    /// shipped, so what they leave behind costs nothing). Borrows nothing from the checker, so
    /// a rule can report while it walks them.
    pub fn shipping_scripts(&self) -> impl Iterator<Item = &'d RunScript<'d, 'a>> + use<'d, 'a> {
        let ships = self.model.shipping_stages();
        self.scripts.iter().filter(move |s| ships.get(s.stage).copied().unwrap_or(false))
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.out
    }

    pub fn text(&self) -> &'a str {
        self.df.text
    }

    /// Every `FROM --platform=VALUE` flag with its value, in file order.
    pub fn from_platform_flags(
        &self,
    ) -> impl Iterator<Item = (&'d parse_dockerfile::Flag<'a>, &'d parse_dockerfile::UnescapedString<'a>)> {
        self.df
            .typed()
            .flat_map(|ins| match ins {
                parse_dockerfile::Instruction::From(from) => from.options.as_slice(),
                _ => &[],
            })
            .filter(|f| f.name.value == "platform")
            .filter_map(|f| f.value.as_ref().map(|v| (f, v)))
    }

    /// Reports a finding of the running rule at `span`; chain the builder to add detail.
    pub fn report(&mut self, span: Span, message: impl Into<String>) -> Report<'_> {
        let meta = self.current.unwrap_or(&super::rules::syntax_error::RULE.meta);
        self.out.push(Diagnostic {
            code: meta.code,
            rule: meta.name,
            severity: meta.severity,
            span,
            message: message.into(),
            help: None,
            related: Vec::new(),
            fix: None,
        });
        let last = self.out.len() - 1;
        Report { diagnostic: &mut self.out[last] }
    }

    /// The whole span of instruction `index`.
    pub fn span_of(&self, index: usize) -> Span {
        self.df.instructions.get(index).map_or(0..0, |i| i.span.clone())
    }
}

/// Adds detail to a finding just reported.
pub struct Report<'c> {
    diagnostic: &'c mut Diagnostic,
}

impl Report<'_> {
    pub fn help(self, help: impl Into<String>) -> Self {
        self.diagnostic.help = Some(help.into());
        self
    }

    pub fn related(self, span: Span, message: impl Into<String>) -> Self {
        self.diagnostic.related.push(Related { span, message: message.into() });
        self
    }

    pub fn fix(self, description: impl Into<String>, applicability: Applicability, edits: Vec<Edit>) -> Self {
        self.diagnostic.fix = Some(Fix { description: description.into(), applicability, edits });
        self
    }
}

/// One edit replacing `range` by `replacement`.
pub fn edit(range: Span, replacement: impl Into<String>) -> Edit {
    Edit { range, replacement: replacement.into() }
}
