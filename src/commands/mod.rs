//! What each subcommand does, behind the CLI's argument parsing.

pub mod build;
pub mod diff;
pub mod engine;
pub mod images;
pub mod parse;
pub mod rewrite;
