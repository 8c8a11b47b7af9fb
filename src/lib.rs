//! imgopt: make container images small and Dockerfiles clean.
//!
//! Data flows one way:
//! - text ─▶ [`syntax`] (spans, BuildKit's reading) ─▶ [`model`] (stages, variables), and
//!   RUN bodies ─▶ [`shell`] (commands, pipelines, words with quoting);
//! - image ─▶ [`image`] (manifests, configs, layers) ─▶ [`analyze`] (path index, bytes per
//!   layer, invisible bytes, reports and gates);
//! - build context ─▶ [`context`] (which ignore file applies, what it leaves out);
//! - files named by the input, read and replaced safely ─▶ [`fsio`].
//!
//! The CLI in `main.rs` only parses arguments and calls in here.

pub mod analyze;
pub mod build;
pub mod commands;
pub mod context;
pub mod escape;
pub mod fsio;
pub mod image;
pub mod lint;
pub mod model;
pub mod rewrite;
pub mod shell;
pub mod syntax;
