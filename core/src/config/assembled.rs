//! Configs assembled in code (the language bindings' builders and their built-in probes and
//! sinks made from arguments): the tables come as JSON text, are written as TOML and checked by
//! [`Config::parse`] like a file, so their errors read as a config's do. Nobody wrote that
//! text, so errors carry no line and column: they name the origin (`<builder>`,
//! `forewarn.probes.Http`) and the key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::Config;
use crate::error::{Error, Result};

/// The name a probe made on its own is checked under (its check is named when it is added to a
/// monitor).
const CHECK: &str = "probe";

/// The name a sink made on its own is checked under.
const SINK: &str = "sink";

/// Check keys that name other checks or policies: checked when the monitor is built, not when
/// a probe is made on its own.
const CHECKED_AT_BUILD: [&str; 2] = ["depends_on", "policy"];

impl Config {
    /// Parses a config assembled in code: its tables (`monitor`, `checks`, `sinks`, …) as JSON
    /// text. Errors name `origin` as their file, and the key.
    pub fn from_json(json: &str, origin: &str) -> Result<Config> {
        let text = to_toml(&parse_json(json)?)?;
        Config::parse(&text, Path::new(origin)).map_err(|e| unlocated(e, &text, origin, "", ""))
    }

    /// Checks a built-in probe's settings: one `[[checks]]` entry without its name, as JSON
    /// text (`depends_on` and `policy` are checked when the monitor is built). Errors name
    /// `what` (`forewarn.probes.Http`) as their file, and the key.
    pub fn check_probe_json(what: &str, json: &str) -> Result<()> {
        let mut entry = parse_json(json)?;
        if let Some(map) = entry.as_object_mut() {
            for key in CHECKED_AT_BUILD {
                map.remove(key);
            }
            map.insert("name".into(), CHECK.into());
        }
        let text = to_toml(&serde_json::json!({ "checks": [entry] }))?;
        Config::parse(&text, Path::new(what))
            .map(|_| ())
            .map_err(|e| unlocated(e, &text, what, "checks[0].", &format!("check `{CHECK}`: ")))
    }

    /// Checks a built-in sink's settings: one `[sinks.NAME]` section, as JSON text. Errors
    /// name `what` (`forewarn.sinks.Email`) as their file, and the key.
    pub fn check_sink_json(what: &str, json: &str) -> Result<()> {
        let text = to_toml(&serde_json::json!({ "sinks": { SINK: parse_json(json)? } }))?;
        Config::parse(&text, Path::new(what))
            .map(|_| ())
            .map_err(|e| unlocated(e, &text, what, &format!("sinks.{SINK}."), ""))
    }
}

/// A table given as JSON text.
fn parse_json(json: &str) -> Result<serde_json::Value> {
    serde_json::from_str(json)
        .map_err(|e| Error::invalid("arguments", format!("not a table of settings: {e}")))
}

/// The TOML text of a table.
fn to_toml(value: &serde_json::Value) -> Result<String> {
    toml::to_string(value).map_err(|e| Error::invalid("arguments", e.to_string()))
}

/// A config error about text nobody wrote (`text`): without its line and column, named
/// `file`, with the placeholder names taken out of key and message. An error that names no key
/// is given the key path of the line it points at (`policies.oncall.tiers[1].after`), so it
/// still says where.
fn unlocated(e: Error, text: &str, file: &str, key_prefix: &str, message_prefix: &str) -> Error {
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
    let mut arrays: HashMap<String, usize> = HashMap::new();
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn assembled_errors_name_the_origin_and_key() {
        let e = Config::from_json(
            r#"{"monitor": {}, "checks": [{"name": "a", "type": "tcp", "target": "x:1", "interval": "often"}]}"#,
            "<builder>",
        )
        .unwrap_err();
        match e {
            Error::Config {
                file, key, line, ..
            } => {
                assert_eq!(file, PathBuf::from("<builder>"));
                assert_eq!(key.as_deref(), Some("checks[0].interval"));
                assert_eq!(line, 0);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_probe_alone_is_checked_without_its_placeholder_name() {
        let what = "forewarn.probes.Http";
        assert!(
            Config::check_probe_json(
                what,
                r#"{"type": "http", "url": "http://x/", "depends_on": ["elsewhere"]}"#
            )
            .is_ok()
        );
        match Config::check_probe_json(what, r#"{"type": "http", "url": 3}"#).unwrap_err() {
            Error::Config {
                file, key, message, ..
            } => {
                assert_eq!(file, PathBuf::from(what));
                assert!(!message.contains("check `probe`"), "{message}");
                assert!(key.is_none_or(|k| !k.starts_with("checks[0].")));
            }
            other => panic!("{other:?}"),
        }
        match Config::check_sink_json("forewarn.sinks.Webhook", r#"{"type": "webhook"}"#)
            .unwrap_err()
        {
            Error::Config { file, .. } => assert_eq!(file, PathBuf::from("forewarn.sinks.Webhook")),
            other => panic!("{other:?}"),
        }
    }
}
