//! What the rules read: the typed instructions of [`crate::syntax`] with their spans, plus the
//! comments (where pragmas live), the `# check=` directive and the line index.
//!
//! [`parse`] is the single place that calls the reader.

use crate::syntax::{self, typed};

pub use crate::syntax::{Comment, EmptyContinuation, LineIndex, ParseError, Span};
pub use typed::Instruction;

/// A Dockerfile as the rules see it.
pub struct Dockerfile<'a> {
    /// Without a leading byte-order mark (see [`crate::syntax::strip_bom`]).
    pub text: &'a str,
    pub escape: char,
    /// The typed view of each instruction. An instruction the typed reader cannot follow
    /// (some heredoc forms) is left out, as are the ones after it: rules cannot judge them.
    pub instructions: Vec<Instruction<'a>>,
    /// `spans[i]`: the whole of `instructions[i]`, heredoc bodies included.
    pub spans: Vec<Span>,
    pub comments: Vec<Comment>,
    pub empty_continuations: Vec<EmptyContinuation>,
    /// Value and span of the `# check=` parser directive, if any.
    pub check_directive: Option<(String, Span)>,
    pub lines: LineIndex,
    /// Stages and meta ARGs with variables expanded (spans are file offsets, like ours).
    pub model: crate::model::Model,
}

/// Parses `text` (BOM already stripped); the only call into the reader.
pub fn parse(text: &str) -> Result<Dockerfile<'_>, ParseError> {
    let df = syntax::parse(text)?;
    let model = crate::model::Model::build(&df);
    let check_directive = df
        .directives
        .iter()
        .find(|d| d.name == "check")
        .map(|d| (d.value.clone(), d.span.clone()));
    let mut instructions = Vec::with_capacity(df.instructions.len());
    let mut spans = Vec::with_capacity(df.instructions.len());
    for ins in df.instructions {
        if let Some(typed) = ins.typed {
            instructions.push(typed);
            spans.push(ins.span);
        }
    }
    Ok(Dockerfile {
        text: df.text,
        escape: df.escape,
        instructions,
        spans,
        comments: df.comments,
        empty_continuations: df.empty_continuations,
        check_directive,
        lines: df.lines,
        model,
    })
}

/// What COPY and ADD have in common.
pub struct Transfer<'i, 'a> {
    pub src: &'i [typed::Source<'a>],
    pub options: &'i [typed::Flag<'a>],
    pub dest: &'i typed::UnescapedString<'a>,
}

impl Transfer<'_, '_> {
    /// Sources are files of the build context (not `--from` a stage or image).
    pub fn from_context(&self) -> bool {
        !self.options.iter().any(|f| f.name.value == "from")
    }

    /// The source paths (heredoc sources left out).
    pub fn paths(&self) -> impl Iterator<Item = &typed::UnescapedString<'_>> {
        self.src.iter().filter_map(|s| match s {
            typed::Source::Path(p) => Some(p),
            _ => None,
        })
    }
}

/// The sources, flags and destination of a COPY or ADD.
pub fn transfer<'i, 'a>(instruction: &'i Instruction<'a>) -> Option<Transfer<'i, 'a>> {
    match instruction {
        Instruction::Copy(c) => Some(Transfer {
            src: &c.src,
            options: &c.options,
            dest: &c.dest,
        }),
        Instruction::Add(a) => Some(Transfer {
            src: &a.src,
            options: &a.options,
            dest: &a.dest,
        }),
        _ => None,
    }
}

/// The keyword span (`RUN`, `FROM`, ...) of an instruction.
pub fn keyword_span(instruction: &Instruction<'_>) -> Span {
    syntax::typed_keyword_span(instruction)
}

/// The instruction's keyword in upper case.
pub fn keyword(instruction: &Instruction<'_>) -> &'static str {
    match instruction {
        Instruction::Add(_) => "ADD",
        Instruction::Arg(_) => "ARG",
        Instruction::Cmd(_) => "CMD",
        Instruction::Copy(_) => "COPY",
        Instruction::Entrypoint(_) => "ENTRYPOINT",
        Instruction::Env(_) => "ENV",
        Instruction::Expose(_) => "EXPOSE",
        Instruction::From(_) => "FROM",
        Instruction::Healthcheck(_) => "HEALTHCHECK",
        Instruction::Label(_) => "LABEL",
        Instruction::Maintainer(_) => "MAINTAINER",
        Instruction::Onbuild(_) => "ONBUILD",
        Instruction::Run(_) => "RUN",
        Instruction::Shell(_) => "SHELL",
        Instruction::Stopsignal(_) => "STOPSIGNAL",
        Instruction::User(_) => "USER",
        Instruction::Volume(_) => "VOLUME",
        Instruction::Workdir(_) => "WORKDIR",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_check_directive_and_spans() {
        let text = "# check=skip=X\nFROM a\n# imgopt ignore=Y\nRUN a \\\n# inner\n  && b\n";
        let df = parse(text).expect("parses");
        let texts: Vec<_> = df.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["imgopt ignore=Y"]);
        assert_eq!(df.check_directive.as_ref().map(|c| c.0.as_str()), Some("skip=X"));
        assert_eq!(&text[df.spans[1].clone()], "RUN a \\\n# inner\n  && b");
    }

    #[test]
    fn duplicate_stage_names_still_parse() {
        let df = parse("FROM a AS x\nFROM b AS x\n").expect("parses");
        assert_eq!(df.instructions.len(), 2);
    }
}
