//! The context a rule runs in: the file, its stages, the settings, and where findings go.

use std::borrow::Cow;
use std::ops::Range;

use super::rules::{Rule, RuleMeta};
use super::run_script::{run_scripts, RunScript};
use super::source::{Dockerfile, Instruction, Span};
use super::{Applicability, Diagnostic, Edit, Fix, Related, Settings};

/// A build stage: a `FROM` and the instructions up to the next one.
#[derive(Debug, Clone)]
pub struct Stage<'a> {
    pub index: usize,
    /// `AS name` as written, with its span.
    pub name: Option<(Cow<'a, str>, Span)>,
    /// The image reference as written (variables unexpanded).
    pub base: Cow<'a, str>,
    pub base_span: Span,
    /// Instruction indices, starting with the `FROM`.
    pub instructions: Range<usize>,
}

pub struct Checker<'d, 'a> {
    pub df: &'d Dockerfile<'a>,
    pub settings: &'d Settings,
    pub stages: Vec<Stage<'a>>,
    /// Instructions before the first `FROM` (meta ARGs).
    pub meta_args: Range<usize>,
    /// Every RUN of a POSIX-shell stage, parsed once for all rules.
    pub scripts: std::rc::Rc<Vec<RunScript<'d, 'a>>>,
    current: Option<&'static RuleMeta>,
    out: Vec<Diagnostic>,
}

impl<'d, 'a> Checker<'d, 'a> {
    pub fn new(df: &'d Dockerfile<'a>, settings: &'d Settings) -> Self {
        let mut stages: Vec<Stage<'a>> = Vec::new();
        for (i, ins) in df.instructions.iter().enumerate() {
            if let Instruction::From(from) = ins {
                if let Some(last) = stages.last_mut() {
                    last.instructions.end = i;
                }
                stages.push(Stage {
                    index: stages.len(),
                    name: from.as_.as_ref().map(|(_, n)| (n.value.clone(), n.span.clone())),
                    base: from.image.value.clone(),
                    base_span: from.image.span.clone(),
                    instructions: i..df.instructions.len(),
                });
            }
        }
        let meta_args = 0..stages.first().map_or(df.instructions.len(), |s| s.instructions.start);
        let scripts = std::rc::Rc::new(run_scripts(df));
        Checker {
            df,
            settings,
            stages,
            meta_args,
            scripts,
            current: None,
            out: Vec::new(),
        }
    }

    pub fn run(&mut self, rule: &'static Rule) {
        self.current = Some(&rule.meta);
        (rule.check)(self);
        self.current = None;
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.out
    }

    pub fn text(&self) -> &'a str {
        self.df.text
    }

    /// Instructions with their index.
    pub fn instructions(&self) -> impl Iterator<Item = (usize, &'d Instruction<'a>)> {
        self.df.instructions.iter().enumerate()
    }

    /// The stage instruction `index` belongs to (None for meta ARGs).
    pub fn stage_of(&self, index: usize) -> Option<&Stage<'a>> {
        self.stages.iter().find(|s| s.instructions.contains(&index))
    }

    /// Every `FROM --platform=VALUE` flag with its value, in file order.
    pub fn from_platform_flags(
        &self,
    ) -> impl Iterator<
        Item = (
            &'d parse_dockerfile::Flag<'a>,
            &'d parse_dockerfile::UnescapedString<'a>,
        ),
    > {
        self.df
            .instructions
            .iter()
            .flat_map(|ins| match ins {
                Instruction::From(from) => from.options.as_slice(),
                _ => &[],
            })
            .filter(|f| f.name.value == "platform")
            .filter_map(|f| f.value.as_ref().map(|v| (f, v)))
    }

    /// Whether stage `index` ends up in the image built by default: the last stage, or a stage
    /// it is built `FROM` (directly or through others).
    pub fn ships(&self, index: usize) -> bool {
        let Some(mut current) = self.stages.last() else {
            return false;
        };
        for _ in 0..=self.stages.len() {
            if current.index == index {
                return true;
            }
            let base = current.base.as_ref();
            match self.stages[..current.index]
                .iter()
                .rev()
                .find(|s| s.name.as_ref().is_some_and(|(n, _)| n.eq_ignore_ascii_case(base)))
            {
                Some(parent) => current = parent,
                None => return false,
            }
        }
        false
    }

    /// For each stage, whether it ships (see [`Checker::ships`]); indexed by stage.
    pub fn shipping_stages(&self) -> Vec<bool> {
        (0..self.stages.len()).map(|i| self.ships(i)).collect()
    }

    /// Whether `name` is a stage defined before stage `index` (so `FROM name` is not an image).
    pub fn is_earlier_stage(&self, name: &str, index: usize) -> bool {
        self.stages[..index.min(self.stages.len())]
            .iter()
            .any(|s| s.name.as_ref().is_some_and(|(n, _)| n.eq_ignore_ascii_case(name)))
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
        Report {
            diagnostic: &mut self.out[last],
        }
    }

    /// The whole span of instruction `index`.
    pub fn span_of(&self, index: usize) -> Span {
        self.df.spans.get(index).cloned().unwrap_or(0..0)
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
        self.diagnostic.related.push(Related {
            span,
            message: message.into(),
        });
        self
    }

    pub fn fix(self, description: impl Into<String>, applicability: Applicability, edits: Vec<Edit>) -> Self {
        self.diagnostic.fix = Some(Fix {
            description: description.into(),
            applicability,
            edits,
        });
        self
    }
}

/// One edit replacing `range` by `replacement`.
pub fn edit(range: Span, replacement: impl Into<String>) -> Edit {
    Edit {
        range,
        replacement: replacement.into(),
    }
}
