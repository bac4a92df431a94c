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

/// A config error about text nobody wrote (assembled from keyword arguments, `text`): without
/// its line and column, named `file`, with the placeholder names taken out of key and message.
/// An error that names no key is given the key path of the line it points at
/// (`policies.oncall.tiers[1].after`), so it still says where.
pub(crate) fn unlocated(
    e: Error,
    text: &str,
    file: &str,
    key_prefix: &str,
    message_prefix: &str,
) -> Error {
    match e {
        Error::Config {
            key, message, line, ..
        } => Error::Config {
            file: PathBuf::from(file),
            line: 0,
            col: 0,
            // The line's own key path when it says more than the error's key (the core names the
            // policy; the line names the tier's value).
            key: match (key, key_at(text, line)) {
                (Some(k), Some(at)) if at.starts_with(&k) && at.len() > k.len() => Some(at),
                (k, at) => k.or(at),
            }
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

/// The dotted key path of line `line` (1-based) of TOML text as the `toml` crate writes it:
/// its section (`[a.b]`, or the n-th `[[a.b]]` as `a.b[n]`) and the key on the line.
fn key_at(text: &str, line: usize) -> Option<String> {
    let mut section = String::new();
    let mut arrays: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|t| t.strip_suffix("]]")) {
            let name = name.trim().to_owned();
            let n = arrays.entry(name.clone()).or_insert(0);
            section = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            section = name.trim().to_owned();
        }
        if i + 1 == line {
            let key = (!t.starts_with('['))
                .then(|| t.split_once('='))
                .flatten()
                .map(|(k, _)| k.trim().trim_matches('"').to_owned());
            return match key {
                Some(k) if section.is_empty() => Some(k),
                Some(k) => Some(format!("{section}.{k}")),
                None => (!section.is_empty()).then_some(section),
            };
        }
    }
    None
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
            .map_err(|e| unlocated(e, &text, what, "checks[0].", &format!("check `{CHECK}`: ")))
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
            .map_err(|e| unlocated(e, &text, what, &format!("sinks.{SINK}."), ""))
    });
    check.map_err(|e| to_py_err(py, e))
}

#[cfg(test)]
mod tests {
    use super::key_at;

    #[test]
    fn key_at_names_sections_arrays_and_keys() {
        let text = "[monitor]\ndatabase = \"x\"\n\n[[checks]]\nname = \"a\"\n\n[[checks]]\nname = \"b\"\n\n[policies.oncall]\ntype = \"tiered\"\n\n[[policies.oncall.tiers]]\nafter = \"0s\"\n\n[[policies.oncall.tiers]]\nafter = \"ten\"\n";
        assert_eq!(key_at(text, 2).as_deref(), Some("monitor.database"));
        assert_eq!(key_at(text, 8).as_deref(), Some("checks[1].name"));
        assert_eq!(key_at(text, 11).as_deref(), Some("policies.oncall.type"));
        assert_eq!(
            key_at(text, 17).as_deref(),
            Some("policies.oncall.tiers[1].after")
        );
        assert_eq!(
            key_at(text, 16).as_deref(),
            Some("policies.oncall.tiers[1]")
        );
        assert_eq!(key_at(text, 0), None);
        assert_eq!(key_at(text, 99), None);
    }
}
