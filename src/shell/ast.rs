//! The syntax tree of a POSIX shell script, as read by [`super::parse_run`] and
//! [`super::parse_script`].
//!
//! Every node carries a [`Span`]: a byte range into the text that was given to the
//! parser (not into the cleaned-up text), so a rule can add the instruction's
//! offset and underline exactly the bytes it talks about.

use std::borrow::Cow;
use std::ops::Range;

/// A byte range into the text handed to the parser.
pub type Span = Range<usize>;

/// A list of and-or lists separated by `;`, `&` or newlines: a whole script, or the
/// body of a compound command or of a command substitution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script<'a> {
    /// The and-or lists, in source order.
    pub items: Vec<AndOr<'a>>,
    /// From the first and-or list to the end of the last one.
    pub span: Span,
}

/// How an and-or list is ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    /// `;`
    Semicolon,
    /// `&`: the list runs in the background.
    Background,
    /// A newline.
    Newline,
}

/// The operator joining two pipelines in an and-or list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicalOp {
    /// `&&`: run the next pipeline only if this one succeeded.
    And,
    /// `||`: run the next pipeline only if this one failed.
    Or,
}

/// Pipelines joined by `&&` and `||`, e.g. `apt-get update && apt-get install -y curl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AndOr<'a> {
    /// The first pipeline.
    pub first: Pipeline<'a>,
    /// The following pipelines with the operator before each.
    pub rest: Vec<(LogicalOp, Pipeline<'a>)>,
    /// What ended this list; `None` for the last list of a script without one.
    pub separator: Option<Separator>,
    /// From the first pipeline to the end of the last one (separator excluded).
    pub span: Span,
}

/// Commands joined by `|` (or bash's `|&`), optionally negated with `!`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline<'a> {
    /// `true` when the pipeline starts with `!`.
    pub negated: bool,
    /// The commands, at least one.
    pub commands: Vec<Command<'a>>,
    /// The whole pipeline, `!` included.
    pub span: Span,
}

/// One command of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// Assignments, words and redirections: `DEBIAN_FRONTEND=noninteractive apt-get install -y curl >/dev/null`.
    Simple(SimpleCommand<'a>),
    /// `( )`, `{ }`, `if`, `for`, `while`, `until`, `case`, `(( ))`, `[[ ]]`. Boxed: twice
    /// the size of a simple command, and far rarer in a RUN.
    Compound(Box<CompoundCommand<'a>>),
    /// `name() body` or bash's `function name body`. Boxed, as [`Command::Compound`].
    Function(Box<FunctionDef<'a>>),
}

impl Command<'_> {
    /// The bytes of the whole command.
    pub fn span(&self) -> Span {
        match self {
            Command::Simple(c) => c.span.clone(),
            Command::Compound(c) => c.span.clone(),
            Command::Function(c) => c.span.clone(),
        }
    }
}

/// A simple command: `A=b cmd arg >file`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleCommand<'a> {
    /// Leading `NAME=value` words.
    pub assignments: Vec<Assignment<'a>>,
    /// The command name and its arguments; empty for a command of only assignments
    /// or redirections.
    pub words: Vec<Word<'a>>,
    /// Redirections, wherever they appeared among the words.
    pub redirects: Vec<Redirect<'a>>,
    /// The whole command.
    pub span: Span,
}

/// A `NAME=value` (or bash `NAME+=value`) prefix of a simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment<'a> {
    /// The variable name.
    pub name: Cow<'a, str>,
    /// `true` for `+=`.
    pub append: bool,
    /// The value after `=`, possibly empty.
    pub value: Word<'a>,
    /// The elements of a bash array assignment `NAME=(a b c)`; `value` is then empty.
    pub array: Option<Vec<Word<'a>>>,
    /// The whole assignment, array included.
    pub span: Span,
}

/// A compound command with the redirections that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompoundCommand<'a> {
    /// Which construct it is.
    pub kind: CompoundKind<'a>,
    /// Redirections after the closing keyword, e.g. `done < list.txt`.
    pub redirects: Vec<Redirect<'a>>,
    /// From the opening keyword to the end of the last redirection.
    pub span: Span,
}

/// The compound constructs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompoundKind<'a> {
    /// `( list )`
    Subshell(Script<'a>),
    /// `{ list; }`
    BraceGroup(Script<'a>),
    /// `if c; then b; elif c; then b; else b; fi`
    If {
        /// The `if` branch followed by each `elif` branch.
        branches: Vec<IfBranch<'a>>,
        /// The `else` body.
        else_body: Option<Script<'a>>,
    },
    /// `for name [in words]; do body; done`
    For {
        /// The loop variable.
        variable: Word<'a>,
        /// The words after `in`; `None` when there is no `in` (loops over `"$@"`).
        items: Option<Vec<Word<'a>>>,
        /// The loop body.
        body: Script<'a>,
    },
    /// bash's `for ((init; cond; step)); do body; done`
    ArithmeticFor {
        /// The text between `((` and `))`.
        header: Span,
        /// The loop body.
        body: Script<'a>,
    },
    /// `while cond; do body; done`
    While {
        /// The condition list.
        condition: Script<'a>,
        /// The loop body.
        body: Script<'a>,
    },
    /// `until cond; do body; done`
    Until {
        /// The condition list.
        condition: Script<'a>,
        /// The loop body.
        body: Script<'a>,
    },
    /// `case word in pattern) body;; esac`
    Case {
        /// The word being matched.
        subject: Word<'a>,
        /// The arms in order.
        arms: Vec<CaseArm<'a>>,
    },
    /// bash's `(( expression ))`; the span is the expression.
    Arithmetic(Span),
    /// bash's `[[ expression ]]`; the words between the brackets, operators included.
    Conditional(Vec<Word<'a>>),
}

/// One `if` or `elif` branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfBranch<'a> {
    /// The list after `if`/`elif`.
    pub condition: Script<'a>,
    /// The list after `then`.
    pub body: Script<'a>,
}

/// One arm of a `case`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseArm<'a> {
    /// The patterns separated by `|`.
    pub patterns: Vec<Word<'a>>,
    /// The commands of the arm.
    pub body: Script<'a>,
    /// From the first pattern to the end of the body.
    pub span: Span,
}

/// A function definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDef<'a> {
    /// The function name.
    pub name: Word<'a>,
    /// The body, usually a brace group.
    pub body: Box<Command<'a>>,
    /// The whole definition.
    pub span: Span,
}

/// A shell word, e.g. `curl`, `"$HOME/bin"`, `pkg=1.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word<'a> {
    /// The word as written, quotes included.
    pub span: Span,
    /// The word after quote removal, with every expansion (`$v`, `${v}`, `$(...)`,
    /// `` `...` ``, `$((...))`) left as written: `"$HOME"/bin` reads `$HOME/bin`.
    /// Equal to what the shell would use only when [`Word::literal`] is `Some`.
    pub text: Cow<'a, str>,
    /// Some part was quoted (`'..'`, `".."`, `$'..'`) or backslash-escaped.
    pub quoted: bool,
    /// The word contains a parameter, command or arithmetic expansion.
    pub expansion: bool,
    /// Some expansion is outside double quotes, so its result is split into fields
    /// and globbed (ShellCheck's SC2086 situation).
    pub unquoted_expansion: bool,
    /// An unquoted `*`, `?` or `[` makes the word a pathname pattern.
    pub glob: bool,
    /// The scripts of the command substitutions (`$(...)`, `` `...` ``, bash's
    /// `<(...)`/`>(...)`) in the word, in source order.
    pub substitutions: Vec<Script<'a>>,
}

impl Word<'_> {
    /// The value of the word when it is fully static: no expansion and no glob.
    pub fn literal(&self) -> Option<&str> {
        (!self.expansion && !self.glob).then_some(&*self.text)
    }

    /// The value of the word when it has no expansion (it may still be a glob
    /// pattern such as `/var/lib/apt/lists/*`).
    pub fn static_text(&self) -> Option<&str> {
        (!self.expansion).then_some(&*self.text)
    }
}

/// A redirection operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectOp {
    /// `<`
    Input,
    /// `>`
    Output,
    /// `>>`
    Append,
    /// `>|`
    Clobber,
    /// `<&`
    DupInput,
    /// `>&`, as in `2>&1`
    DupOutput,
    /// `<>`
    ReadWrite,
    /// bash's `&>`
    OutputAndError,
    /// bash's `&>>`
    AppendOutputAndError,
    /// `<<`
    HereDoc,
    /// `<<-`: leading tabs are stripped from the body.
    HereDocStripTabs,
    /// bash's `<<<`
    HereString,
}

/// A redirection such as `>/dev/null`, `2>&1` or `<<EOF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect<'a> {
    /// The explicit file descriptor (`2` in `2>&1`).
    pub fd: Option<u32>,
    /// The operator.
    pub op: RedirectOp,
    /// The target word; for a here-document, its delimiter.
    pub target: Word<'a>,
    /// For `<<` and `<<-`: where the body is.
    pub heredoc: Option<HereDoc>,
    /// The whole redirection.
    pub span: Span,
}

/// The body of a here-document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HereDoc {
    /// `false` when the delimiter was quoted: the body is taken literally.
    pub expand: bool,
    /// The body lines (delimiter line excluded). `None` when the body is not in the
    /// parsed text: a Dockerfile `RUN` line keeps its here-document bodies apart
    /// (BuildKit hands them over separately).
    pub body: Option<Span>,
    /// Index into the parser's table of bodies, resolved after parsing.
    pub(crate) id: usize,
}
