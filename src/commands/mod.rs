//! What each subcommand does, behind the CLI's argument parsing.

pub mod build;
pub mod diff;
pub mod engine;
pub mod images;
pub mod parse;
pub mod rewrite;

/// How every command reports an error: `Error: ` and miette's report (its code, the message, the
/// file and span where there is one, help). Findings and notices are not errors.
pub fn print_error(report: &miette::Report) {
    eprintln!("Error: {report:?}");
}
