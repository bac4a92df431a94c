//! Node.js bindings: the private native addon behind the `forewarn` npm package. It only
//! converts between JavaScript and core types: every decision is the core's, and every core
//! error becomes a JavaScript error in one place ([`error::to_js`]).
//!
//! The Rust work runs on the addon's tokio runtime; JavaScript is only ever called through
//! threadsafe functions, on Node's own thread.

// napi's registration is left out of test builds, where the exports then look unused.
#![cfg_attr(test, allow(dead_code))]

mod builder;
mod custom;
mod error;
mod events;
mod model;
mod monitor;
mod probes;
mod tickets;

use napi_derive::napi;

use crate::error::IntoJs;

/// The library version.
#[napi]
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Validates a config (a file when `isPath`, else TOML text); returns its number of checks.
#[napi]
pub fn validate_config(source: String, is_path: bool) -> napi::Result<u32> {
    monitor::load_config(&source, is_path)
        .map(|c| c.checks.len() as u32)
        .js()
}
