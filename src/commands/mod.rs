//! What each subcommand does, behind the CLI's argument parsing.

pub mod build;
pub mod parse;
