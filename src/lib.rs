//! imgopt: make container images small and Dockerfiles clean.
//!
//! Data flows one way: text ─▶ [`syntax`] (spans, BuildKit's reading) ─▶ [`model`]
//! (stages, variables). The CLI in `main.rs` only parses arguments and calls in here.

pub mod commands;
pub mod lint;
pub mod model;
pub mod shell;
pub mod syntax;
