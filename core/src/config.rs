//! Configuration: TOML → built objects. Errors name `file:line:col` and the offending key.
//!
//! See [`Config`] for the file format.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// A secret value (password, token, community string). Its `Debug` and `Display` print
/// `<redacted>`; `${VAR}` references are expanded from the environment when it is read.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, with `${VAR}` expanded. The error names the variable, never the value.
    pub fn expose(&self) -> Result<String> {
        expand_env(&self.0)
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Expands `${VAR}` references from the environment (`$${` for a literal `${`).
pub fn expand_env(s: &str) -> Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            out.push_str(&rest[..i - 1]);
            out.push_str("${");
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| Error::invalid("environment reference", "`${` without a closing `}`"))?;
        let name = &after[..end];
        let value = std::env::var(name).map_err(|_| {
            Error::invalid(
                "environment reference",
                format!("environment variable `{name}` is not set"),
            )
        })?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses "500ms", "5s", "2m", "1h 30m", "14d".
pub fn parse_duration(s: &str) -> Result<Duration> {
    humantime::parse_duration(s.trim())
        .map_err(|e| Error::invalid("duration", format!("`{s}`: {e} (try \"5s\", \"2m\", \"1h\")")))
}

/// Serde helper for `Duration` fields written as "5s".
pub mod duration {
    use super::*;

    /// Deserializes "5s" into a `Duration`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map_err(|e| serde::de::Error::custom(invalid_message(&e)))
    }
}

/// Serde helper for `Option<Duration>` fields written as "5s".
pub mod opt_duration {
    use super::*;

    /// Deserializes "5s" into `Some(Duration)`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Option<Duration>, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(invalid_message(&e)))
    }
}

fn invalid_message(e: &Error) -> String {
    match e {
        Error::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
    }

    #[test]
    fn env_expansion() {
        // SAFETY: test-only variable name no other test reads.
        unsafe { std::env::set_var("FOREWARN_TEST_TOKEN", "abc") };
        assert_eq!(expand_env("Bearer ${FOREWARN_TEST_TOKEN}!").unwrap(), "Bearer abc!");
        assert_eq!(expand_env("$${x}").unwrap(), "${x}");
        let e = expand_env("${FOREWARN_SURELY_UNSET_VAR}").unwrap_err().to_string();
        assert!(e.contains("FOREWARN_SURELY_UNSET_VAR"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("5 parsecs").is_err());
    }
}

/// A loaded configuration file.
#[derive(Debug, Clone)]
pub struct Config {
    /// The checks.
    pub checks: Vec<String>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn from_file(_path: impl AsRef<std::path::Path>) -> Result<Self> {
        todo!()
    }
}
