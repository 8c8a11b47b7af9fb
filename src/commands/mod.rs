//! What each subcommand does, behind the CLI's argument parsing.

pub mod parse;
