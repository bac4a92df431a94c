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
    humantime::parse_duration(s.trim()).map_err(|e| {
        Error::invalid(
            "duration",
            format!("`{s}`: {e} (try \"5s\", \"2m\", \"1h\")"),
        )
    })
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
        assert_eq!(
            expand_env("Bearer ${FOREWARN_TEST_TOKEN}!").unwrap(),
            "Bearer abc!"
        );
        assert_eq!(expand_env("$${x}").unwrap(), "${x}");
        let e = expand_env("${FOREWARN_SURELY_UNSET_VAR}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("FOREWARN_SURELY_UNSET_VAR"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("5 parsecs").is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// The configuration file.
// ---------------------------------------------------------------------------------------------

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::escalation::EscalationConfig;
use crate::monitor::maintenance::MaintenanceConfig;
use crate::monitor::state::{FlapPolicy, StatePolicy};
use crate::probe::ProbeConfig;
use crate::sink::SinkConfig;

/// The embedded default configuration: this machine's health, SSH on localhost if it is
/// listening, history in `./forewarn.db`, alerts to `./forewarn-outbox.jsonl`.
pub const EMBEDDED_DEFAULT: &str = include_str!("default.toml");

/// The `[monitor]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorSection {
    /// The SQLite history file (default `forewarn.db`, relative to the working directory).
    #[serde(default = "default_database")]
    pub database: PathBuf,
    /// How long observations and resolved incidents are kept (default 30 days).
    #[serde(default = "default_retention", with = "duration")]
    pub retention: Duration,
    /// How many checks may run at once (default 1024).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Interval of checks that set none (default 30 s; at least 1 s).
    #[serde(default = "default_interval", with = "duration")]
    pub default_interval: Duration,
    /// Timeout of checks that set none (default 10 s).
    #[serde(default = "default_timeout", with = "duration")]
    pub default_timeout: Duration,
    /// The escalation policy of checks that name none (default: the one named "default", or
    /// the only one).
    #[serde(default)]
    pub default_policy: Option<String>,
}

fn default_database() -> PathBuf {
    PathBuf::from("forewarn.db")
}
fn default_retention() -> Duration {
    Duration::from_secs(30 * 86_400)
}
fn default_concurrency() -> usize {
    1024
}
fn default_interval() -> Duration {
    Duration::from_secs(30)
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

impl Default for MonitorSection {
    fn default() -> Self {
        Self {
            database: default_database(),
            retention: default_retention(),
            concurrency: default_concurrency(),
            default_interval: default_interval(),
            default_timeout: default_timeout(),
            default_policy: None,
        }
    }
}

/// A `[groups.NAME]` section: settings shared by the checks that name the group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// Checks every member depends on (added to each member's own `depends_on`).
    #[serde(default)]
    pub depends_on: Vec<Spanned<String>>,
    /// Escalation policy of members that name none.
    #[serde(default)]
    pub policy: Option<Spanned<String>>,
    /// Interval of members that set none.
    #[serde(default, with = "opt_duration")]
    pub interval: Option<Duration>,
    /// Human description shown in listings.
    #[serde(default)]
    pub description: Option<String>,
}

/// One `[[checks]]` entry: what to probe plus how to schedule and alert on it.
///
/// The probe's own keys (`type = "tcp"`, `host`, `port`, …) sit beside the common ones.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckConfig {
    /// Unique name, used in alerts, `depends_on` and the CLI.
    pub name: Spanned<String>,
    /// How often to run (default `[monitor] default_interval`; at least 1 s).
    #[serde(default, with = "opt_duration")]
    pub interval: Option<Duration>,
    /// Time budget of one run (default `[monitor] default_timeout`); a hung probe becomes
    /// Critical "timed out after …".
    #[serde(default, with = "opt_duration")]
    pub timeout: Option<Duration>,
    /// The group (`[groups.NAME]`) it belongs to.
    #[serde(default)]
    pub group: Option<Spanned<String>>,
    /// Checks that must be up for this one's failures to be notified.
    #[serde(default)]
    pub depends_on: Vec<Spanned<String>>,
    /// Escalation policy (`[policies.NAME]`).
    #[serde(default)]
    pub policy: Option<Spanned<String>>,
    /// Consecutive failures that open an incident (default 2).
    #[serde(default)]
    pub failure_threshold: Option<u32>,
    /// Consecutive successes that resolve it (default 2).
    #[serde(default)]
    pub success_threshold: Option<u32>,
    /// Flap detection settings.
    #[serde(default)]
    pub flapping: Option<FlapPolicy>,
    /// Who looks after it (shown in alerts).
    #[serde(default)]
    pub owner: Option<String>,
    /// Where it is ("Building A, room 12").
    #[serde(default)]
    pub location: Option<String>,
    /// The probe (the `type` key and the probe's own keys).
    #[serde(flatten)]
    pub probe: ProbeConfig,
}

impl CheckConfig {
    /// The state-machine policy from this check's settings.
    pub fn state_policy(&self) -> StatePolicy {
        let d = StatePolicy::default();
        StatePolicy {
            failure_threshold: self.failure_threshold.unwrap_or(d.failure_threshold),
            success_threshold: self.success_threshold.unwrap_or(d.success_threshold),
            flapping: self.flapping.clone().unwrap_or(d.flapping),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    monitor: MonitorSection,
    #[serde(default)]
    sinks: BTreeMap<String, Spanned<crate::sink::SinkEntry>>,
    #[serde(default)]
    policies: BTreeMap<String, Spanned<EscalationConfig>>,
    #[serde(default)]
    groups: BTreeMap<String, GroupConfig>,
    #[serde(default)]
    checks: Vec<CheckConfig>,
    #[serde(default)]
    maintenance: Vec<Spanned<MaintenanceConfig>>,
}

/// A loaded, validated configuration file.
///
/// ```toml
/// [monitor]
/// database = "forewarn.db"
///
/// [sinks.ict]
/// type = "webhook"
/// url = "${TEAMS_WEBHOOK}"
/// format = "teams"
///
/// [policies.default]
/// type = "notify"
/// sinks = ["ict"]
///
/// [[checks]]
/// name = "core-switch"
/// type = "tcp"
/// target = "10.0.0.1:22"
/// interval = "5s"
///
/// [[checks]]
/// name = "sis"
/// type = "http"
/// url = "https://sis.example.org/login"
/// depends_on = ["core-switch"]
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from (`<embedded>` for the default).
    pub origin: PathBuf,
    /// The `[monitor]` section.
    pub monitor: MonitorSection,
    /// `[sinks.NAME]` sections.
    pub sinks: BTreeMap<String, SinkConfig>,
    /// `rate_limit` of the sinks that set one.
    pub rate_limits: BTreeMap<String, crate::sink::RateLimit>,
    /// `[policies.NAME]` sections (escalation policies).
    pub policies: BTreeMap<String, EscalationConfig>,
    /// `[groups.NAME]` sections.
    pub groups: BTreeMap<String, GroupConfig>,
    /// `[[checks]]` entries, in file order.
    pub checks: Vec<CheckConfig>,
    /// `[[maintenance]]` windows.
    pub maintenance: Vec<MaintenanceConfig>,
    source: std::sync::Arc<str>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Self::parse(&text, path)
    }

    /// The embedded default (see [`EMBEDDED_DEFAULT`]).
    pub fn embedded_default() -> Self {
        Self::parse(EMBEDDED_DEFAULT, Path::new("<embedded>"))
            .expect("the embedded default is valid")
    }

    /// Parses and validates config text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Self> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let key = unknown_key(e.message());
            let span = e.span().map(|s| refine_span(text, s, key.as_deref()));
            config_error(origin, text, span, key, e.message().trim_end().to_owned())
        })?;
        let config = Config {
            origin: origin.to_owned(),
            monitor: raw.monitor,
            rate_limits: raw
                .sinks
                .iter()
                .filter_map(|(k, v)| v.get_ref().rate_limit.map(|r| (k.clone(), r)))
                .collect(),
            sinks: raw
                .sinks
                .into_iter()
                .map(|(k, v)| (k, v.into_inner().sink))
                .collect(),
            policies: raw
                .policies
                .into_iter()
                .map(|(k, v)| (k, v.into_inner()))
                .collect(),
            groups: raw.groups,
            checks: raw.checks,
            maintenance: raw
                .maintenance
                .iter()
                .map(|m| m.get_ref().clone())
                .collect(),
            source: text.into(),
        };
        config.validate(&raw.maintenance)?;
        Ok(config)
    }

    /// An error located at `span` of this config's text.
    pub fn error_at(
        &self,
        span: Option<std::ops::Range<usize>>,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> Error {
        config_error(
            &self.origin,
            &self.source,
            span,
            key.map(str::to_owned),
            message.into(),
        )
    }

    /// The escalation policy a check uses.
    pub fn policy_of(&self, check: &CheckConfig) -> Option<String> {
        if let Some(p) = &check.policy {
            return Some(p.get_ref().clone());
        }
        if let Some(g) = check
            .group
            .as_ref()
            .and_then(|g| self.groups.get(g.get_ref()))
            && let Some(p) = &g.policy
        {
            return Some(p.get_ref().clone());
        }
        self.default_policy()
    }

    /// The policy of checks that name none.
    pub fn default_policy(&self) -> Option<String> {
        if let Some(p) = &self.monitor.default_policy {
            return Some(p.clone());
        }
        if self.policies.contains_key("default") {
            return Some("default".into());
        }
        if self.policies.len() == 1 {
            return self.policies.keys().next().cloned();
        }
        None
    }

    /// The checks a check depends on: its own `depends_on` plus its group's.
    pub fn dependencies_of(&self, check: &CheckConfig) -> Vec<String> {
        let mut deps: Vec<String> = check
            .depends_on
            .iter()
            .map(|d| d.get_ref().clone())
            .collect();
        if let Some(g) = check
            .group
            .as_ref()
            .and_then(|g| self.groups.get(g.get_ref()))
        {
            for d in &g.depends_on {
                if d.get_ref() != check.name.get_ref() && !deps.contains(d.get_ref()) {
                    deps.push(d.get_ref().clone());
                }
            }
        }
        deps
    }

    /// The interval of a check, with group and monitor defaults applied.
    pub fn interval_of(&self, check: &CheckConfig) -> Duration {
        check
            .interval
            .or_else(|| {
                check
                    .group
                    .as_ref()
                    .and_then(|g| self.groups.get(g.get_ref()))
                    .and_then(|g| g.interval)
            })
            .unwrap_or(self.monitor.default_interval)
    }

    fn validate(&self, maintenance: &[Spanned<MaintenanceConfig>]) -> Result<()> {
        let m = &self.monitor;
        if m.concurrency == 0 {
            return Err(self.error_at(None, Some("monitor.concurrency"), "must be at least 1"));
        }
        if m.default_interval < Duration::from_secs(1) {
            return Err(self.error_at(
                None,
                Some("monitor.default_interval"),
                "must be at least 1s",
            ));
        }
        for (name, sink) in &self.sinks {
            sink.validate().map_err(|e| {
                self.error_at(
                    self.key_span("sinks", name),
                    Some(&format!("sinks.{name}")),
                    msg(&e),
                )
            })?;
        }
        for (name, policy) in &self.policies {
            let sinks = policy.build().sinks();
            if sinks.is_empty() {
                return Err(self.error_at(
                    self.key_span("policies", name),
                    Some(&format!("policies.{name}.sinks")),
                    "names no sink",
                ));
            }
            for s in sinks {
                if !self.sinks.contains_key(&s) {
                    return Err(self.error_at(
                        self.key_span("policies", name),
                        Some(&format!("policies.{name}.sinks")),
                        format!(
                            "sink `{s}` is not defined (known: {})",
                            known(self.sinks.keys())
                        ),
                    ));
                }
            }
        }
        if let Some(p) = &m.default_policy
            && !self.policies.contains_key(p)
        {
            return Err(self.error_at(
                None,
                Some("monitor.default_policy"),
                format!("policy `{p}` is not defined"),
            ));
        }
        for (gname, g) in &self.groups {
            if let Some(p) = &g.policy
                && !self.policies.contains_key(p.get_ref())
            {
                return Err(self.error_at(
                    Some(p.span()),
                    Some(&format!("groups.{gname}.policy")),
                    format!(
                        "policy `{}` is not defined (known: {})",
                        p.get_ref(),
                        known(self.policies.keys())
                    ),
                ));
            }
        }
        let mut seen: BTreeMap<&str, &Spanned<String>> = BTreeMap::new();
        for c in &self.checks {
            let name = c.name.get_ref();
            if name.trim().is_empty() {
                return Err(self.error_at(Some(c.name.span()), Some("name"), "must not be empty"));
            }
            if let Some(first) = seen.insert(name, &c.name) {
                let (line, _) = line_col(&self.source, first.span().start);
                return Err(self.error_at(
                    Some(c.name.span()),
                    Some("name"),
                    format!("check `{name}` is defined twice (first at line {line})"),
                ));
            }
            let at = |key: &str, message: String| {
                self.error_at(
                    Some(c.name.span()),
                    Some(key),
                    format!("check `{name}`: {message}"),
                )
            };
            if let Some(i) = c.interval
                && i < Duration::from_secs(1)
            {
                return Err(at("interval", "must be at least 1s".into()));
            }
            if let Some(t) = c.timeout
                && t.is_zero()
            {
                return Err(at("timeout", "must be more than 0".into()));
            }
            c.probe.validate().map_err(|e| at(&field(&e), msg(&e)))?;
            if let Some(g) = &c.group
                && !self.groups.contains_key(g.get_ref())
                && !self.groups.is_empty()
            {
                return Err(self.error_at(
                    Some(g.span()),
                    Some("group"),
                    format!(
                        "group `{}` is not defined (known: {})",
                        g.get_ref(),
                        known(self.groups.keys())
                    ),
                ));
            }
            if let Some(p) = &c.policy
                && !self.policies.contains_key(p.get_ref())
            {
                return Err(self.error_at(
                    Some(p.span()),
                    Some("policy"),
                    format!(
                        "policy `{}` is not defined (known: {})",
                        p.get_ref(),
                        known(self.policies.keys())
                    ),
                ));
            }
            if !self.policies.is_empty() && self.policy_of(c).is_none() {
                return Err(at(
                    "policy",
                    "names no escalation policy and there is no `default` one".into(),
                ));
            }
        }
        for c in &self.checks {
            for d in &c.depends_on {
                if !seen.contains_key(d.get_ref().as_str()) {
                    return Err(self.error_at(
                        Some(d.span()),
                        Some("depends_on"),
                        format!(
                            "check `{}` depends on `{}`, which is not a check",
                            c.name.get_ref(),
                            d.get_ref()
                        ),
                    ));
                }
            }
        }
        for (gname, g) in &self.groups {
            for d in &g.depends_on {
                if !seen.contains_key(d.get_ref().as_str()) {
                    return Err(self.error_at(
                        Some(d.span()),
                        Some(&format!("groups.{gname}.depends_on")),
                        format!("`{}` is not a check", d.get_ref()),
                    ));
                }
            }
        }
        let edges: Vec<(String, Vec<String>)> = self
            .checks
            .iter()
            .map(|c| (c.name.get_ref().clone(), self.dependencies_of(c)))
            .collect();
        crate::monitor::deps::DependencyGraph::new(&edges)
            .map_err(|e| self.error_at(None, Some("depends_on"), msg(&e)))?;
        for w in maintenance {
            w.get_ref().build().map_err(|e| {
                self.error_at(
                    Some(w.span()),
                    Some(&format!("maintenance.{}", field(&e))),
                    format!("window `{}`: {}", w.get_ref().name, msg(&e)),
                )
            })?;
        }
        Ok(())
    }

    /// The span of `[section.key]`'s header, found in the text.
    fn key_span(&self, section: &str, key: &str) -> Option<std::ops::Range<usize>> {
        let needle = format!("[{section}.{key}]");
        self.source
            .find(&needle)
            .map(|start| start..start + needle.len())
    }
}

fn msg(e: &Error) -> String {
    match e {
        Error::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn field(e: &Error) -> String {
    match e {
        Error::Invalid { what, .. } => what.clone(),
        _ => String::new(),
    }
}

fn known<'a>(keys: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = keys.map(String::as_str).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// Pulls the key out of serde's "unknown field `x`, expected …" message.
fn unknown_key(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    Some(rest.split('`').next()?.to_owned())
}

/// When an error is reported on a whole table (flattened probe keys), narrow it to the line
/// where `key` is set inside that table: from the error's start to the next table header.
fn refine_span(
    text: &str,
    span: std::ops::Range<usize>,
    key: Option<&str>,
) -> std::ops::Range<usize> {
    let Some(key) = key else { return span };
    let Some(region) = text.get(span.start..) else {
        return span;
    };
    let mut offset = span.start;
    for (n, line) in region.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_start();
        if n > 0 && trimmed.starts_with('[') {
            break;
        }
        let bare = trimmed.strip_prefix('"').unwrap_or(trimmed);
        if let Some(after) = bare.strip_prefix(key)
            && after.trim_start_matches('"').trim_start().starts_with('=')
        {
            let start = offset + (line.len() - trimmed.len());
            return start..start + key.len();
        }
        offset += line.len();
    }
    span
}

/// 1-based line and column of a byte offset (columns count characters).
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn config_error(
    origin: &Path,
    text: &str,
    span: Option<std::ops::Range<usize>>,
    key: Option<String>,
    message: String,
) -> Error {
    let (line, col) = span.map_or((0, 0), |s| line_col(text, s.start));
    Error::Config {
        file: origin.to_owned(),
        line,
        col,
        key,
        message,
    }
}

impl Config {
    /// The embedded default plus a TCP check of this machine's SSH port when something is
    /// listening there.
    pub async fn embedded_default_detected() -> Self {
        let ssh = tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(("127.0.0.1", 22)),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        if !ssh {
            return Self::embedded_default();
        }
        let text = format!("{EMBEDDED_DEFAULT}{SSH_CHECK}");
        Self::parse(&text, Path::new("<embedded>")).expect("the embedded default is valid")
    }
}

const SSH_CHECK: &str = r#"
# Added because something listens on port 22 here.
[[checks]]
name = "ssh"
type = "tcp"
target = "127.0.0.1:22"
expect = "SSH-"
interval = "15s"
"#;

#[cfg(test)]
mod file_tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(text, Path::new("forewarn.toml"))
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    const TCP: &str = "[[checks]]\nname = \"a\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:22\"\n";

    #[test]
    fn embedded_default_is_valid() {
        let c = Config::embedded_default();
        assert_eq!(c.checks.len(), 1);
        assert_eq!(c.default_policy().as_deref(), Some("default"));
    }

    #[test]
    fn typo_in_a_check_points_at_the_key() {
        let e = err(&format!("{TCP}intervall = \"5s\"\n"));
        assert!(
            e.starts_with("forewarn.toml:5:1: `intervall`: unknown field"),
            "{e}"
        );
    }

    #[test]
    fn typo_in_a_section_points_at_the_key() {
        let e = err("[monitor]\ndatabase = \"x.db\"\n  retension = \"1d\"\n");
        assert!(e.starts_with("forewarn.toml:3:3: `retension`"), "{e}");
    }

    #[test]
    fn unknown_probe_type_is_named() {
        let e = err("[[checks]]\nname = \"a\"\ntype = \"tcpp\"\n");
        assert!(
            e.contains("forewarn.toml:1:1") || e.contains("forewarn.toml:3"),
            "{e}"
        );
        assert!(e.contains("tcpp"), "{e}");
    }

    #[test]
    fn bad_duration_is_located() {
        let e = err(&format!("{TCP}interval = \"5 parsecs\"\n"));
        assert!(e.contains("forewarn.toml:5:"), "{e}");
        assert!(e.contains("5 parsecs"), "{e}");
    }

    #[test]
    fn interval_floor_is_one_second() {
        let e = err(&format!("{TCP}interval = \"500ms\"\n"));
        assert!(e.contains("forewarn.toml:2:8"), "{e}");
        assert!(e.contains("at least 1s"), "{e}");
    }

    #[test]
    fn duplicate_names_name_both_places() {
        let e = err(&format!("{TCP}\n{TCP}"));
        assert!(e.contains("forewarn.toml:7:8"), "{e}");
        assert!(e.contains("first at line 2"), "{e}");
    }

    #[test]
    fn unknown_dependency_is_located() {
        let e = err(&format!("{TCP}depends_on = [\"core-switch\"]\n"));
        assert!(e.contains("forewarn.toml:5:15"), "{e}");
        assert!(e.contains("`core-switch`, which is not a check"), "{e}");
    }

    #[test]
    fn dependency_cycles_are_rejected() {
        let text = "[[checks]]\nname = \"a\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:1\"\ndepends_on = [\"b\"]\n\
                    [[checks]]\nname = \"b\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:2\"\ndepends_on = [\"a\"]\n";
        let e = err(text);
        assert!(e.contains("cycle"), "{e}");
    }

    #[test]
    fn policies_must_name_defined_sinks() {
        let e = err("[policies.default]\ntype = \"notify\"\nsinks = [\"mail\"]\n");
        assert!(e.contains("forewarn.toml:1:1"), "{e}");
        assert!(e.contains("sink `mail` is not defined"), "{e}");
    }

    #[test]
    fn missing_env_var_is_named_and_secret_never_printed() {
        let text = "[sinks.hook]\ntype = \"webhook\"\nurl = \"https://hooks.example/${FOREWARN_UNSET_HOOK_VAR}\"\n";
        let e = err(text);
        assert!(e.contains("FOREWARN_UNSET_HOOK_VAR"), "{e}");
        assert!(e.contains("forewarn.toml:1:1"), "{e}");
        // SAFETY: a variable only this test uses.
        unsafe { std::env::set_var("FOREWARN_TEST_HOOK_TOKEN", "s3cr3t-token") };
        let text = "[sinks.hook]\ntype = \"webhook\"\nurl = \"https://hooks.example/${FOREWARN_TEST_HOOK_TOKEN}\"\n\
                    headers = { Authorization = \"Bearer ${FOREWARN_TEST_HOOK_TOKEN}\" }\n";
        let c = parse(text).unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t-token"));
    }

    #[test]
    fn groups_supply_dependencies_policy_and_interval() {
        let text = "[sinks.log]\ntype = \"log\"\n[policies.ops]\ntype = \"notify\"\nsinks = [\"log\"]\n\
                    [groups.lab]\ndepends_on = [\"switch\"]\npolicy = \"ops\"\ninterval = \"7s\"\n\
                    [[checks]]\nname = \"switch\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:1\"\n\
                    [[checks]]\nname = \"pc\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:2\"\ngroup = \"lab\"\n";
        let c = parse(text).unwrap();
        let pc = &c.checks[1];
        assert_eq!(c.dependencies_of(pc), ["switch"]);
        assert_eq!(c.policy_of(pc).as_deref(), Some("ops"));
        assert_eq!(c.interval_of(pc), Duration::from_secs(7));
        assert_eq!(c.interval_of(&c.checks[0]), Duration::from_secs(30));
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncdé f", 8), (2, 5));
        assert_eq!(line_col("x", 0), (1, 1));
    }
}
