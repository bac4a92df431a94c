//! Built-in probes and sinks made from keyword arguments (`forewarn.probes`, `forewarn.sinks`):
//! each is checked when it is made by the core's own config validation, as the one `[[checks]]`
//! entry or `[sinks.NAME]` section of a config, so its errors read as the config's do.

use std::path::{Path, PathBuf};

use forewarn::{Config, Error};
use pyo3::prelude::*;

use crate::to_py_err;

/// The name a probe made on its own is checked under (its check is named when it is added to a
/// monitor).
const CHECK: &str = "probe";

/// The name a sink made on its own is checked under.
const SINK: &str = "sink";

/// A table given as JSON text (what the package assembles from keyword arguments).
pub(crate) fn parse_json(json: &str) -> forewarn::Result<serde_json::Value> {
    serde_json::from_str(json)
        .map_err(|e| Error::invalid("arguments", format!("not a table of settings: {e}")))
}

/// The TOML text of a table.
pub(crate) fn to_toml(value: &serde_json::Value) -> forewarn::Result<String> {
    toml::to_string(value).map_err(|e| Error::invalid("arguments", e.to_string()))
}

/// A config error about text nobody wrote (assembled from keyword arguments): without its line
/// and column, named `file`, with the placeholder names taken out of key and message.
pub(crate) fn unlocated(e: Error, file: &str, key_prefix: &str, message_prefix: &str) -> Error {
    match e {
        Error::Config { key, message, .. } => Error::Config {
            file: PathBuf::from(file),
            line: 0,
            col: 0,
            key: key
                .map(|k| k.strip_prefix(key_prefix).map(str::to_owned).unwrap_or(k))
                .filter(|k| !k.is_empty() && k != key_prefix.trim_end_matches('.')),
            message: message
                .strip_prefix(message_prefix)
                .map(str::to_owned)
                .unwrap_or(message),
        },
        other => other,
    }
}

/// Checks a built-in probe's settings (a `[[checks]]` entry without its name, as JSON text);
/// errors name `what` ("forewarn.probes.Http") as their file.
#[pyfunction]
pub fn validate_probe(py: Python<'_>, what: &str, table: &str) -> PyResult<()> {
    let check = py.detach(|| {
        let mut entry = parse_json(table)?;
        if let Some(map) = entry.as_object_mut() {
            map.insert("name".into(), CHECK.into());
        }
        let text = to_toml(&serde_json::json!({ "checks": [entry] }))?;
        Config::parse(&text, Path::new(what))
            .map(|_| ())
            .map_err(|e| unlocated(e, what, "", &format!("check `{CHECK}`: ")))
    });
    check.map_err(|e| to_py_err(py, e))
}

/// Checks a built-in sink's settings (a `[sinks.NAME]` section, as JSON text); errors name
/// `what` ("forewarn.sinks.Email") as their file.
#[pyfunction]
pub fn validate_sink(py: Python<'_>, what: &str, table: &str) -> PyResult<()> {
    let check = py.detach(|| {
        let text = to_toml(&serde_json::json!({ "sinks": { SINK: parse_json(table)? } }))?;
        Config::parse(&text, Path::new(what))
            .map(|_| ())
            .map_err(|e| unlocated(e, what, &format!("sinks.{SINK}."), ""))
    });
    check.map_err(|e| to_py_err(py, e))
}
