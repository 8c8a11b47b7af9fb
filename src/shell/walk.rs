//! Visiting the commands of a script.

use super::ast::*;

/// What joins a command to its neighbour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    /// `&&`
    And,
    /// `||`
    Or,
    /// `|` (or `|&`)
    Pipe,
    /// `;`
    Semicolon,
    /// `&`
    Background,
    /// A newline.
    Newline,
}

/// Where a simple command sits in the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandContext {
    /// What joins it to the command before it in the same list; `None` for the
    /// first command of a list (a script, a compound body, a substitution).
    pub before: Option<Connector>,
    /// What joins it to the command after it in the same list; for the last
    /// command of a list, its separator if it has one.
    pub after: Option<Connector>,
    /// Number of commands in its pipeline (1 when not piped).
    pub pipeline_len: usize,
    /// Its position in the pipeline, from 0.
    pub pipeline_index: usize,
    /// The pipeline is negated with `!`.
    pub negated: bool,
    /// It is inside the condition of an `if`, `elif`, `while` or `until`, where a
    /// failure does not stop a `set -e` script.
    pub in_condition: bool,
    /// It is inside a command substitution (`$(...)`, backticks, `<(...)`).
    pub in_substitution: bool,
    /// It runs in a subshell of the script: inside `( )`, a command substitution, or a
    /// pipeline of more than one command (each element is its own process), so a `cd`, an
    /// assignment or an `exit` there does not reach the commands after it. Braces, `if`,
    /// `case` and loops run in the script's own shell.
    pub in_subshell: bool,
    /// How many compound commands and substitutions enclose it (0 at top level).
    pub depth: u32,
}

#[derive(Clone, Copy, Default)]
struct Frame {
    in_condition: bool,
    in_substitution: bool,
    in_subshell: bool,
    depth: u32,
}

impl Frame {
    fn nested(self) -> Frame {
        Frame { depth: self.depth + 1, ..self }
    }
    fn condition(self) -> Frame {
        Frame { in_condition: true, depth: self.depth + 1, ..self }
    }
    fn body(self) -> Frame {
        Frame { in_condition: false, depth: self.depth + 1, ..self }
    }
    fn substitution(self) -> Frame {
        Frame { in_substitution: true, in_subshell: true, depth: self.depth + 1, ..self }
    }
    fn subshell(self) -> Frame {
        Frame { in_subshell: true, depth: self.depth + 1, ..self }
    }
}

/// Calls `visit` for every simple command of `script` in source order, including
/// those inside compound commands, function bodies and command substitutions (a
/// substitution's commands come before the command whose word holds it, as they
/// run first).
pub fn for_each_simple_command<'s, 'a>(
    script: &'s Script<'a>,
    visit: &mut dyn FnMut(&'s SimpleCommand<'a>, &CommandContext),
) {
    visit_script(script, Frame::default(), visit);
}

/// Every simple command of `script` with its context, as
/// [`for_each_simple_command`] visits them.
pub fn simple_commands<'s, 'a>(script: &'s Script<'a>) -> Vec<(&'s SimpleCommand<'a>, CommandContext)> {
    let mut commands = Vec::new();
    for_each_simple_command(script, &mut |command, context| commands.push((command, *context)));
    commands
}

fn separator_connector(separator: Option<Separator>) -> Option<Connector> {
    separator.map(|separator| match separator {
        Separator::Semicolon => Connector::Semicolon,
        Separator::Background => Connector::Background,
        Separator::Newline => Connector::Newline,
    })
}

fn logical_connector(op: LogicalOp) -> Connector {
    match op {
        LogicalOp::And => Connector::And,
        LogicalOp::Or => Connector::Or,
    }
}

type Visitor<'v, 's, 'a> = dyn FnMut(&'s SimpleCommand<'a>, &CommandContext) + 'v;

fn visit_script<'s, 'a>(script: &'s Script<'a>, frame: Frame, visit: &mut Visitor<'_, 's, 'a>) {
    let mut before = None;
    for and_or in &script.items {
        let separator = separator_connector(and_or.separator);
        let pipelines = std::iter::once((None, &and_or.first))
            .chain(and_or.rest.iter().map(|(op, pipeline)| (Some(logical_connector(*op)), pipeline)));
        let mut pipelines = pipelines.peekable();
        while let Some((op, pipeline)) = pipelines.next() {
            if let Some(op) = op {
                before = Some(op);
            }
            let after = match pipelines.peek() {
                Some((next_op, _)) => *next_op,
                None => separator,
            };
            let len = pipeline.commands.len();
            for (position, command) in pipeline.commands.iter().enumerate() {
                let context = CommandContext {
                    before: if position == 0 { before } else { Some(Connector::Pipe) },
                    after: if position + 1 < len { Some(Connector::Pipe) } else { after },
                    pipeline_len: len,
                    pipeline_index: position,
                    negated: pipeline.negated,
                    in_condition: frame.in_condition,
                    in_substitution: frame.in_substitution,
                    in_subshell: frame.in_subshell || len > 1,
                    depth: frame.depth,
                };
                let frame = Frame { in_subshell: context.in_subshell, ..frame };
                visit_command(command, &context, frame, visit);
            }
        }
        before = separator;
    }
}

fn visit_words<'s, 'a>(words: &'s [Word<'a>], frame: Frame, visit: &mut Visitor<'_, 's, 'a>) {
    for word in words {
        visit_word(word, frame, visit);
    }
}

fn visit_word<'s, 'a>(word: &'s Word<'a>, frame: Frame, visit: &mut Visitor<'_, 's, 'a>) {
    for script in &word.substitutions {
        visit_script(script, frame.substitution(), visit);
    }
}

fn visit_redirects<'s, 'a>(redirects: &'s [Redirect<'a>], frame: Frame, visit: &mut Visitor<'_, 's, 'a>) {
    for redirect in redirects {
        visit_word(&redirect.target, frame, visit);
    }
}

fn visit_command<'s, 'a>(
    command: &'s Command<'a>,
    context: &CommandContext,
    frame: Frame,
    visit: &mut Visitor<'_, 's, 'a>,
) {
    match command {
        Command::Simple(simple) => {
            for assignment in &simple.assignments {
                visit_word(&assignment.value, frame, visit);
                visit_words(assignment.array.as_deref().unwrap_or_default(), frame, visit);
            }
            visit_words(&simple.words, frame, visit);
            visit_redirects(&simple.redirects, frame, visit);
            visit(simple, context);
        }
        Command::Function(function) => visit_command(&function.body, context, frame.body(), visit),
        Command::Compound(compound) => {
            match &compound.kind {
                CompoundKind::Subshell(body) => visit_script(body, frame.subshell(), visit),
                CompoundKind::BraceGroup(body) => visit_script(body, frame.nested(), visit),
                CompoundKind::If { branches, else_body } => {
                    for branch in branches {
                        visit_script(&branch.condition, frame.condition(), visit);
                        visit_script(&branch.body, frame.body(), visit);
                    }
                    if let Some(body) = else_body {
                        visit_script(body, frame.body(), visit);
                    }
                }
                CompoundKind::For { items, body, .. } => {
                    if let Some(items) = items {
                        visit_words(items, frame, visit);
                    }
                    visit_script(body, frame.body(), visit);
                }
                CompoundKind::ArithmeticFor { body, .. } => visit_script(body, frame.body(), visit),
                CompoundKind::While { condition, body } | CompoundKind::Until { condition, body } => {
                    visit_script(condition, frame.condition(), visit);
                    visit_script(body, frame.body(), visit);
                }
                CompoundKind::Case { subject, arms } => {
                    visit_word(subject, frame, visit);
                    for arm in arms {
                        visit_words(&arm.patterns, frame, visit);
                        visit_script(&arm.body, frame.body(), visit);
                    }
                }
                CompoundKind::Arithmetic(_) => {}
                CompoundKind::Conditional(words) => visit_words(words, frame, visit),
            }
            visit_redirects(&compound.redirects, frame, visit);
        }
    }
}

/// Calls `change` on every redirection of `script`, nested ones included.
pub(crate) fn for_each_redirect_mut(script: &mut Script<'_>, change: &mut dyn FnMut(&mut Redirect<'_>)) {
    for and_or in &mut script.items {
        let pipelines = std::iter::once(&mut and_or.first).chain(and_or.rest.iter_mut().map(|(_, p)| p));
        for pipeline in pipelines {
            for command in &mut pipeline.commands {
                redirects_in_command(command, change);
            }
        }
    }
}

fn redirects_in_words(words: &mut [Word<'_>], change: &mut dyn FnMut(&mut Redirect<'_>)) {
    for word in words {
        for script in &mut word.substitutions {
            for_each_redirect_mut(script, change);
        }
    }
}

fn redirects_in_list(redirects: &mut [Redirect<'_>], change: &mut dyn FnMut(&mut Redirect<'_>)) {
    for redirect in redirects {
        change(redirect);
        redirects_in_words(std::slice::from_mut(&mut redirect.target), change);
    }
}

fn redirects_in_command(command: &mut Command<'_>, change: &mut dyn FnMut(&mut Redirect<'_>)) {
    match command {
        Command::Simple(simple) => {
            for assignment in &mut simple.assignments {
                redirects_in_words(std::slice::from_mut(&mut assignment.value), change);
                redirects_in_words(assignment.array.as_deref_mut().unwrap_or_default(), change);
            }
            redirects_in_words(&mut simple.words, change);
            redirects_in_list(&mut simple.redirects, change);
        }
        Command::Function(function) => redirects_in_command(&mut function.body, change),
        Command::Compound(compound) => {
            match &mut compound.kind {
                CompoundKind::Subshell(body) | CompoundKind::BraceGroup(body) => for_each_redirect_mut(body, change),
                CompoundKind::If { branches, else_body } => {
                    for branch in branches {
                        for_each_redirect_mut(&mut branch.condition, change);
                        for_each_redirect_mut(&mut branch.body, change);
                    }
                    if let Some(body) = else_body {
                        for_each_redirect_mut(body, change);
                    }
                }
                CompoundKind::For { variable, items, body } => {
                    redirects_in_words(std::slice::from_mut(variable), change);
                    if let Some(items) = items {
                        redirects_in_words(items, change);
                    }
                    for_each_redirect_mut(body, change);
                }
                CompoundKind::ArithmeticFor { body, .. } => for_each_redirect_mut(body, change),
                CompoundKind::While { condition, body } | CompoundKind::Until { condition, body } => {
                    for_each_redirect_mut(condition, change);
                    for_each_redirect_mut(body, change);
                }
                CompoundKind::Case { subject, arms } => {
                    redirects_in_words(std::slice::from_mut(subject), change);
                    for arm in arms {
                        redirects_in_words(&mut arm.patterns, change);
                        for_each_redirect_mut(&mut arm.body, change);
                    }
                }
                CompoundKind::Arithmetic(_) => {}
                CompoundKind::Conditional(words) => redirects_in_words(words, change),
            }
            redirects_in_list(&mut compound.redirects, change);
        }
    }
}
