//! Node.js bindings: the private native addon behind the `forewarn` npm package. It only
//! converts between JavaScript and core types.

use napi_derive::napi;

/// The library version.
#[napi]
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Validates a config file and returns its number of checks; throws naming file:line:col.
#[napi]
pub fn validate_config(path: String) -> napi::Result<u32> {
    forewarn::Config::from_file(&path)
        .map(|c| c.checks.len() as u32)
        .map_err(|e| napi::Error::from_reason(e.to_string()))
}
