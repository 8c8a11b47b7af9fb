//! imgopt: make container images small and Dockerfiles clean.
//!
//! Data flows one way: text ─▶ [`syntax`] (spans, BuildKit's reading) ─▶ [`model`]
//! (stages, variables). The CLI in `main.rs` only parses arguments and calls in here.

pub mod analyze;
pub mod image;
