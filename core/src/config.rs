//! Configuration: TOML → built objects. Errors name `file:line:col` and the offending key.
//!
//! See [`Config`] for the file format.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

mod assembled;
mod split;

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

/// The longest duration any setting takes: 100 years (of 365.25 days). Anything longer is a
/// typo or a probe of the parser, and would overflow the clocks it is added to.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 31_557_600);

/// Parses "500ms", "5s", "2m", "1h 30m", "14d". Durations over [`MAX_DURATION`] are refused.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| {
        Error::invalid(
            "duration",
            format!("`{s}`: {e} (try \"5s\", \"2m\", \"1h\")"),
        )
    })?;
    if d > MAX_DURATION {
        return Err(Error::invalid(
            "duration",
            format!("`{s}` is longer than 100 years"),
        ));
    }
    Ok(d)
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
        assert_eq!(parse_duration("100y").unwrap(), MAX_DURATION);
        for huge in ["18446744073709551615s", "999999y", "100y 1s"] {
            let e = parse_duration(huge).unwrap_err().to_string();
            assert!(e.contains(huge), "{e}");
        }
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
    /// The history: a SQLite file (default `forewarn.db`, relative to the working directory),
    /// or a PostgreSQL database shared by a district's instances
    /// (`postgres://user@host:5432/dbname`, the password in the environment as
    /// `FOREWARN_DATABASE_PASSWORD`).
    #[serde(default = "default_database")]
    pub database: PathBuf,
    /// How long observations and resolved incidents are kept (default 30 days; from 1 day to
    /// 100 years).
    #[serde(default = "default_retention", with = "duration")]
    pub retention: Duration,
    /// How many checks may run at once (default 1024).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Interval of checks that set none (default 30 s; from 1 s to 1 day).
    #[serde(default = "default_interval", with = "duration")]
    pub default_interval: Duration,
    /// Timeout of checks that set none (default 10 s). A check run more often gets at most
    /// four fifths of its interval.
    #[serde(default = "default_timeout", with = "duration")]
    pub default_timeout: Duration,
    /// The escalation policy of checks that name none (default: the one named "default", or
    /// the only one).
    #[serde(default)]
    pub default_policy: Option<String>,
    /// The district's time zone (an IANA name, "Europe/Berlin"): every time shown to a person
    /// is in it. Default: the system's.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// `[monitor.history]`: how long each part of the history is kept, and the free space it
    /// leaves on its disk.
    #[serde(default)]
    pub history: crate::store::HistoryRetention,
    /// This instance's name among those sharing a PostgreSQL `database` (default: the host
    /// name and process id).
    #[serde(default)]
    pub instance: Option<String>,
    /// How long the lead of instances sharing a PostgreSQL `database` lasts unrenewed
    /// (default 5 s): a standby takes over about this long after the leader stops.
    #[serde(default = "default_lease", with = "duration")]
    pub lease: Duration,
}

fn default_lease() -> Duration {
    crate::cluster::DEFAULT_LEASE
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
            time_zone: None,
            history: Default::default(),
            instance: None,
            lease: default_lease(),
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
    /// Interval of members that set none (from 1 s to 1 day).
    #[serde(default, with = "opt_duration")]
    pub interval: Option<Duration>,
    /// Human description shown in listings.
    #[serde(default)]
    pub description: Option<String>,
    /// The `[standards.NAME]` profile of member host checks that name none.
    #[serde(default)]
    pub standard: Option<Spanned<String>>,
}

/// One `[[checks]]` entry: what to probe plus how to schedule and alert on it.
///
/// The probe's own keys (`type = "tcp"`, `host`, `port`, …) sit beside the common ones.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckConfig {
    /// Unique name, used in alerts, `depends_on` and the CLI.
    pub name: Spanned<String>,
    /// How often to run (default `[monitor] default_interval`; from 1 s to 1 day).
    #[serde(default, with = "opt_duration")]
    pub interval: Option<Duration>,
    /// Time budget of one run, shorter than the interval (default `[monitor] default_timeout`,
    /// at most four fifths of the interval); a hung probe becomes Critical "timed out after …".
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
    /// Consecutive failures that open an incident (default 2; at least 1).
    #[serde(default)]
    pub failure_threshold: Option<u32>,
    /// Consecutive successes that resolve it (default 2; at least 1).
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
    standards: BTreeMap<String, crate::probe::host::StandardConfig>,
    #[serde(default)]
    checks: Vec<CheckConfig>,
    #[serde(default)]
    maintenance: Vec<Spanned<MaintenanceConfig>>,
    #[serde(default)]
    services: BTreeMap<String, Spanned<crate::broadcast::ServiceConfig>>,
    #[serde(default)]
    audiences: BTreeMap<String, Spanned<crate::broadcast::AudienceConfig>>,
    #[serde(default)]
    broadcasts: Option<crate::broadcast::BroadcastSettings>,
    #[serde(default)]
    responders: BTreeMap<String, Spanned<crate::autoreply::ResponderConfig>>,
    #[serde(default)]
    status: crate::status::StatusConfig,
    #[serde(default)]
    agents: crate::agents::AgentsConfig,
    #[serde(default)]
    agent: Option<crate::agent::AgentSection>,
    #[serde(default)]
    site: Option<crate::agent::AgentSection>,
}

/// Configs with at least this many `[[checks]]` tables are read a part at a time (see
/// [`split`]); smaller ones whole.
const SPLIT_FROM: usize = 1_000;

/// `[[checks]]` tables parsed at once when a config is read a part at a time.
const CHECKS_PER_PART: usize = 256;

/// The config's tables: a large config a part at a time (its peak memory is then the checks
/// built, not the whole document's tokens and tree), anything else, and any config a part of
/// which fails, whole (so errors are the whole parse's, as written).
fn parse_raw(text: &str) -> std::result::Result<RawConfig, toml::de::Error> {
    if let Some(parts) = split::split(text, CHECKS_PER_PART)
        && parts.count >= SPLIT_FROM
        && let Some(raw) = parse_parts(text, parts)
    {
        return Ok(raw);
    }
    toml::from_str(text)
}

/// See [`parse_raw`]: `None` when a part does not parse on its own.
fn parse_parts(text: &str, parts: split::Parts) -> Option<RawConfig> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Part {
        checks: Vec<CheckConfig>,
    }
    let mut raw: RawConfig = toml::from_str(&parts.rest).ok()?;
    drop(parts.rest);
    if !raw.checks.is_empty() {
        // `checks = [...]` beside `[[checks]]` tables: the whole parse says what is wrong.
        return None;
    }
    raw.checks.reserve_exact(parts.count);
    let moved = |s: &Spanned<String>, by: usize| {
        Spanned::new(s.span().start + by..s.span().end + by, s.get_ref().clone())
    };
    for range in parts.checks {
        let part: Part = toml::from_str(&text[range.clone()]).ok()?;
        for mut c in part.checks {
            let by = range.start;
            c.name = moved(&c.name, by);
            c.group = c.group.as_ref().map(|g| moved(g, by));
            c.policy = c.policy.as_ref().map(|p| moved(p, by));
            for d in &mut c.depends_on {
                *d = moved(d, by);
            }
            raw.checks.push(c);
        }
    }
    Some(raw)
}

/// A table's entries in the order they are written.
fn in_file_order<T>(map: BTreeMap<String, Spanned<T>>) -> Vec<(String, T)> {
    let mut v: Vec<(String, Spanned<T>)> = map.into_iter().collect();
    v.sort_by_key(|(_, t)| t.span().start);
    v.into_iter().map(|(k, t)| (k, t.into_inner())).collect()
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
    /// `[standards.NAME]` sections: host thresholds by profile. They are already applied to
    /// the host checks in [`Config::checks`].
    pub standards: BTreeMap<String, crate::probe::host::StandardConfig>,
    /// `[[checks]]` entries, in file order.
    pub checks: Vec<CheckConfig>,
    /// `[[maintenance]]` windows.
    pub maintenance: Vec<MaintenanceConfig>,
    /// `[services.KEY]` user-facing services, in file order.
    pub services: Vec<(String, crate::broadcast::ServiceConfig)>,
    /// `[audiences.KEY]` people told of outages, in file order.
    pub audiences: Vec<(String, crate::broadcast::AudienceConfig)>,
    /// The `[broadcasts]` section.
    pub broadcasts: Option<crate::broadcast::BroadcastSettings>,
    /// `[responders.NAME]`: the auto-reply and voicemail switched on during outages.
    pub responders: Vec<(String, crate::autoreply::ResponderConfig)>,
    /// The `[status]` section: the status page `forewarn run` serves.
    pub status: crate::status::StatusConfig,
    /// The `[agents]` section: how the agents reporting to this monitor are treated.
    pub agents: crate::agents::AgentsConfig,
    /// The `[agent]` section: set when this config is an agent's (`forewarn agent`).
    pub agent: Option<crate::agent::AgentSection>,
    /// The `[site]` section: set when this `forewarn run` is a site (a school's own monitor)
    /// that forwards every observation to its district's central, as an agent does, while it
    /// monitors and alerts on its own (`name`, `central`, `token_file`, `interval` between
    /// pushes, `outbox`, `batch`, as in `[agent]`).
    pub site: Option<crate::agent::AgentSection>,
    source: std::sync::Arc<str>,
}

impl Config {
    /// The status page's title: `[status] title`, else the district's name, else "IT status".
    pub fn status_title(&self) -> String {
        if let Some(t) = &self.status.title {
            return t.clone();
        }
        match self.broadcasts.as_ref().and_then(|b| b.district.as_ref()) {
            Some(d) => format!("{d} — IT status"),
            None => "IT status".to_owned(),
        }
    }

    /// The district's time zone (`[monitor] time_zone`, else the system's).
    pub fn zone(&self) -> crate::clock::Zone {
        self.monitor
            .time_zone
            .as_deref()
            .and_then(|n| crate::clock::Zone::named(n).ok())
            .unwrap_or_else(crate::clock::Zone::system)
    }

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
        let raw: RawConfig = parse_raw(text).map_err(|e| {
            let key = unknown_key(e.message());
            let span = e.span().map(|s| refine_span(text, s, key.as_deref()));
            let mut message = e.message().trim_end().to_owned();
            if let (Some(key), Some(span)) = (&key, &span) {
                message = unknown_key_message(text, span.start, key, &message);
            }
            config_error(origin, text, span, key, message)
        })?;
        let mut config = Config {
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
            standards: raw.standards,
            checks: raw.checks,
            maintenance: raw
                .maintenance
                .iter()
                .map(|m| m.get_ref().clone())
                .collect(),
            services: in_file_order(raw.services),
            audiences: in_file_order(raw.audiences),
            broadcasts: raw.broadcasts,
            responders: in_file_order(raw.responders),
            status: raw.status,
            agents: raw.agents,
            agent: raw.agent,
            site: raw.site,
            source: text.into(),
        };
        config.apply_standards()?;
        config.validate(&raw.maintenance)?;
        Ok(config)
    }

    /// Checks every `[standards.NAME]` and every name of one, then fills each host check's
    /// unset thresholds from its standard (its own `standard`, else its group's).
    fn apply_standards(&mut self) -> Result<()> {
        for (name, standard) in &self.standards {
            if let Some(problem) = name_problem(name) {
                return Err(self.error_at(
                    self.key_span("standards", name),
                    Some(&format!("standards.{}", crate::text::printable(name))),
                    format!("the name {problem}"),
                ));
            }
            if let Err(e) = standard.validate() {
                let f = field(&e);
                let mut path = vec![Step::Key("standards"), Step::Key(name)];
                path.extend(f.split('.').map(Step::Key));
                return Err(self.error_at(
                    self.value_span(&path)
                        .or_else(|| self.key_span("standards", name)),
                    Some(&format!("standards.{name}.{f}")),
                    msg(&e),
                ));
            }
        }
        let unknown = |name: &str| {
            format!(
                "standard `{}` is not defined (known: {})",
                crate::text::printable(name),
                known(self.standards.keys())
            )
        };
        for (gname, g) in &self.groups {
            if let Some(s) = &g.standard
                && !self.standards.contains_key(s.get_ref())
            {
                return Err(self.error_at(
                    Some(s.span()),
                    Some(&format!("groups.{gname}.standard")),
                    unknown(s.get_ref()),
                ));
            }
        }
        let mut resolved = Vec::new();
        for (i, c) in self.checks.iter().enumerate() {
            let crate::probe::ProbeConfig::Host(host) = &c.probe else {
                continue;
            };
            let name = match &host.standard {
                Some(own) => {
                    if !self.standards.contains_key(own) {
                        let span = self
                            .value_span(&[
                                Step::Key("checks"),
                                Step::Index(i),
                                Step::Key("standard"),
                            ])
                            .unwrap_or_else(|| c.name.span());
                        return Err(self.error_at(
                            Some(span),
                            Some("standard"),
                            format!("check `{}`: {}", c.name.get_ref(), unknown(own)),
                        ));
                    }
                    own.clone()
                }
                None => match c
                    .group
                    .as_ref()
                    .and_then(|g| self.groups.get(g.get_ref()))
                    .and_then(|g| g.standard.as_ref())
                {
                    Some(s) => s.get_ref().clone(),
                    None => continue,
                },
            };
            let mut merged = host.with_standard(&self.standards[&name]);
            merged.standard = Some(name);
            resolved.push((i, merged));
        }
        for (i, merged) in resolved {
            self.checks[i].probe = crate::probe::ProbeConfig::Host(merged);
        }
        Ok(())
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

    /// The timeout of a check: its own, else `[monitor] default_timeout` but at most four
    /// fifths of the check's interval, so a run that times out ends before the next is due.
    pub fn timeout_of(&self, check: &CheckConfig) -> Duration {
        check.timeout.unwrap_or_else(|| {
            let interval = self.interval_of(check);
            self.monitor.default_timeout.min(interval * 4 / 5)
        })
    }

    fn validate(&self, maintenance: &[Spanned<MaintenanceConfig>]) -> Result<()> {
        let m = &self.monitor;
        let in_monitor = |key: &str, message: String| {
            self.error_at(
                self.value_span(&[Step::Key("monitor"), Step::Key(key)]),
                Some(&format!("monitor.{key}")),
                message,
            )
        };
        if m.concurrency == 0 {
            return Err(in_monitor("concurrency", "must be at least 1".into()));
        }
        if let Some(problem) = interval_problem(m.default_interval) {
            return Err(in_monitor("default_interval", problem));
        }
        if m.default_timeout.is_zero() {
            return Err(in_monitor("default_timeout", "must be more than 0".into()));
        }
        // An explicit default timeout must fit the default interval; one left at its default
        // is shortened for checks run more often (see `timeout_of`).
        if m.default_timeout >= m.default_interval
            && let Some(span) =
                self.value_span(&[Step::Key("monitor"), Step::Key("default_timeout")])
        {
            return Err(self.error_at(
                Some(span),
                Some("monitor.default_timeout"),
                format!(
                    "{} must be shorter than `default_interval` ({})",
                    humantime::format_duration(m.default_timeout),
                    humantime::format_duration(m.default_interval)
                ),
            ));
        }
        if let Some(Err(e)) = m.time_zone.as_deref().map(crate::clock::Zone::named) {
            return Err(in_monitor("time_zone", invalid_message(&e)));
        }
        if m.lease < Duration::from_secs(1) || m.lease > Duration::from_secs(300) {
            return Err(in_monitor("lease", "must be from 1s to 5m".into()));
        }
        if m.instance.as_deref().is_some_and(|i| i.trim().is_empty()) {
            return Err(in_monitor("instance", "must not be empty".into()));
        }
        #[cfg(feature = "store-postgres")]
        if let Some(url) = m
            .database
            .to_str()
            .filter(|d| crate::store::is_postgres_url(d))
            && let Err(e) = crate::store::postgres::check_url(url)
        {
            return Err(in_monitor("database", invalid_message(&e)));
        }
        if let Err(Error::Invalid { what, message }) = m.history.validate() {
            return Err(self.error_at(
                self.value_span(&[Step::Key("monitor"), Step::Key("history"), Step::Key(&what)])
                    .or_else(|| self.value_span(&[Step::Key("monitor"), Step::Key("history")])),
                Some(&format!("monitor.history.{what}")),
                message,
            ));
        }
        if m.retention < MIN_RETENTION {
            return Err(in_monitor(
                "retention",
                format!(
                    "must be at least 1 day, not {}",
                    humantime::format_duration(m.retention)
                ),
            ));
        }
        // Names are printed in console lines, logs and mail headers: no control characters.
        let sections = [
            ("groups", self.groups.keys().collect::<Vec<_>>()),
            ("sinks", self.sinks.keys().collect()),
            ("policies", self.policies.keys().collect()),
        ];
        for (section, names) in sections {
            for name in names {
                if let Some(problem) = name_problem(name) {
                    return Err(self.error_at(
                        self.value_span(&[Step::Key(section), Step::Key(name)]),
                        Some(&format!("{section}.{}", crate::text::printable(name))),
                        format!("the name {problem}"),
                    ));
                }
            }
        }
        for (i, w) in maintenance.iter().enumerate() {
            if let Some(problem) = name_problem(&w.get_ref().name) {
                return Err(self.error_at(
                    self.value_span(&[Step::Key("maintenance"), Step::Index(i), Step::Key("name")])
                        .or(Some(w.span())),
                    Some("maintenance.name"),
                    problem,
                ));
            }
        }
        for (gname, g) in &self.groups {
            if let Some(problem) = g.interval.and_then(interval_problem) {
                return Err(self.error_at(
                    self.value_span(&[
                        Step::Key("groups"),
                        Step::Key(gname),
                        Step::Key("interval"),
                    ]),
                    Some(&format!("groups.{gname}.interval")),
                    problem,
                ));
            }
        }
        for (name, sink) in &self.sinks {
            sink.validate().map_err(|e| {
                // At the offending key ("to", "lists.team") when the sink sets it.
                let field = field(&e);
                let mut path = vec![Step::Key("sinks"), Step::Key(name)];
                path.extend(field.split('.').filter(|f| !f.is_empty()).map(Step::Key));
                let (span, key) = match self.value_span(&path) {
                    Some(span) if !field.is_empty() => {
                        (Some(span), format!("sinks.{name}.{field}"))
                    }
                    _ => (self.key_span("sinks", name), format!("sinks.{name}")),
                };
                self.error_at(span, Some(&key), msg(&e))
            })?;
        }
        for (name, policy) in &self.policies {
            let sinks = policy.build().sinks();
            let policy_path = [Step::Key("policies"), Step::Key(name)];
            if sinks.is_empty() {
                return Err(self.error_at(
                    self.value_span(&[Step::Key("policies"), Step::Key(name), Step::Key("sinks")])
                        .or_else(|| self.key_span("policies", name)),
                    Some(&format!("policies.{name}.sinks")),
                    "names no sink",
                ));
            }
            for s in sinks {
                if !self.sinks.contains_key(&s) {
                    return Err(self.error_at(
                        self.string_span(&policy_path, &s)
                            .or_else(|| self.key_span("policies", name)),
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
                self.value_span(&[Step::Key("monitor"), Step::Key("default_policy")]),
                Some("monitor.default_policy"),
                format!(
                    "policy `{p}` is not defined (known: {})",
                    known(self.policies.keys())
                ),
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
        for (i, c) in self.checks.iter().enumerate() {
            let name = c.name.get_ref();
            if name.trim().is_empty() {
                return Err(self.error_at(Some(c.name.span()), Some("name"), "must not be empty"));
            }
            if let Some(problem) = name_problem(name) {
                return Err(self.error_at(Some(c.name.span()), Some("name"), problem));
            }
            if let Some(first) = seen.insert(name, &c.name) {
                let (line, _) = line_col(&self.source, first.span().start);
                return Err(self.error_at(
                    Some(c.name.span()),
                    Some("name"),
                    format!("check `{name}` is defined twice (first at line {line})"),
                ));
            }
            // Located at the key's value when the check sets it, else at the check's name.
            let at = |key: &str, message: String| {
                let span = self
                    .value_span(&[Step::Key("checks"), Step::Index(i), Step::Key(key)])
                    .unwrap_or_else(|| c.name.span());
                self.error_at(Some(span), Some(key), format!("check `{name}`: {message}"))
            };
            if let Some(problem) = c.interval.and_then(interval_problem) {
                return Err(at("interval", problem));
            }
            if let Some(t) = c.timeout {
                let interval = self.interval_of(c);
                if t.is_zero() {
                    return Err(at("timeout", "must be more than 0".into()));
                }
                if t >= interval {
                    return Err(at(
                        "timeout",
                        format!(
                            "{} must be shorter than the interval ({})",
                            humantime::format_duration(t),
                            humantime::format_duration(interval)
                        ),
                    ));
                }
            }
            for (key, value) in [
                ("failure_threshold", c.failure_threshold),
                ("success_threshold", c.success_threshold),
            ] {
                if value == Some(0) {
                    return Err(at(key, "must be at least 1".into()));
                }
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
            w.get_ref().build_in(self.zone().tz()).map_err(|e| {
                self.error_at(
                    Some(w.span()),
                    Some(&format!("maintenance.{}", field(&e))),
                    format!("window `{}`: {}", w.get_ref().name, msg(&e)),
                )
            })?;
        }
        self.validate_communication(&seen)
    }

    /// `[services]`, `[audiences]` and `[broadcasts]`: values, and names against checks,
    /// groups, sinks and each other, each error at the offending value.
    fn validate_communication(&self, checks: &BTreeMap<&str, &Spanned<String>>) -> Result<()> {
        let located = |path: Vec<Step<'_>>, key: String, message: String| {
            let span = self
                .value_span(&path)
                .or_else(|| self.value_span(&path[..2.min(path.len())]));
            self.error_at(span, Some(&key), message)
        };
        if let Some(b) = &self.broadcasts
            && let Err(e) = b.validate()
        {
            let f = field(&e);
            return Err(located(
                vec![Step::Key("broadcasts"), Step::Key(&f)],
                format!("broadcasts.{f}"),
                msg(&e),
            ));
        }
        for (key, svc) in &self.services {
            let at = |what: &str, value: Option<&str>, message: String| {
                let path = [Step::Key("services"), Step::Key(key), Step::Key(what)];
                let span = value
                    .and_then(|v| self.string_span(&path[..2], v))
                    .or_else(|| self.value_span(&path))
                    .or_else(|| self.key_span("services", key));
                self.error_at(span, Some(&format!("services.{key}.{what}")), message)
            };
            if let Some(problem) = name_problem(key) {
                return Err(at("name", None, format!("the key {problem}")));
            }
            if let Err(e) = svc.validate() {
                return Err(at(&field(&e), None, msg(&e)));
            }
            for c in &svc.checks {
                if !checks.contains_key(c.as_str()) {
                    return Err(at(
                        "checks",
                        Some(c),
                        format!("check `{}` is not defined", crate::text::printable(c)),
                    ));
                }
            }
            for g in &svc.groups {
                let used = self
                    .checks
                    .iter()
                    .any(|c| c.group.as_ref().is_some_and(|x| x.get_ref() == g));
                if !used {
                    return Err(at(
                        "groups",
                        Some(g),
                        format!("group `{}` has no checks", crate::text::printable(g)),
                    ));
                }
            }
        }
        for (name, g) in &self.agents.groups {
            if let Err(e) = g.validate() {
                let f = field(&e);
                let path = [
                    Step::Key("agents"),
                    Step::Key("groups"),
                    Step::Key(name),
                    Step::Key(&f),
                ];
                return Err(self.error_at(
                    self.value_span(&path)
                        .or_else(|| self.value_span(&path[..3])),
                    Some(&format!("agents.groups.{name}.{f}")),
                    msg(&e),
                ));
            }
        }
        if let Some(a) = &self.agent
            && let Err(e) = a.validate()
        {
            let f = field(&e);
            let path = [Step::Key("agent"), Step::Key(&f)];
            return Err(self.error_at(
                self.value_span(&path)
                    .or_else(|| self.value_span(&path[..1])),
                Some(&format!("agent.{f}")),
                msg(&e),
            ));
        }
        if let Some(a) = &self.site {
            let missing = if a.central.is_none() {
                Some("central")
            } else if a.token_file.is_none() {
                Some("token_file")
            } else {
                None
            };
            if let Some(f) = missing {
                return Err(self.error_at(
                    self.value_span(&[Step::Key("site")]),
                    Some(&format!("site.{f}")),
                    format!("a site needs `{f}` (where its district's central is, and its token)"),
                ));
            }
            if let Err(e) = a.validate() {
                let f = field(&e);
                let path = [Step::Key("site"), Step::Key(&f)];
                return Err(self.error_at(
                    self.value_span(&path)
                        .or_else(|| self.value_span(&path[..1])),
                    Some(&format!("site.{f}")),
                    msg(&e),
                ));
            }
        }
        if let Err(e) = self.status.validate() {
            // "status listen" → the key `listen`.
            let f = field(&e);
            let key = f.trim_start_matches("status").trim().to_owned();
            let path = [Step::Key("status"), Step::Key(&key)];
            return Err(self.error_at(
                self.value_span(&path)
                    .or_else(|| self.value_span(&path[..1])),
                Some(&format!("status.{key}")),
                msg(&e),
            ));
        }
        for (name, r) in &self.responders {
            if let Some(problem) = name_problem(name) {
                return Err(self.error_at(
                    self.key_span("responders", name),
                    Some(&format!("responders.{}", crate::text::printable(name))),
                    format!("the name {problem}"),
                ));
            }
            if let Err(e) = r.validate() {
                let f = field(&e);
                let path = [Step::Key("responders"), Step::Key(name), Step::Key(&f)];
                return Err(self.error_at(
                    self.value_span(&path)
                        .or_else(|| self.key_span("responders", name)),
                    Some(&format!("responders.{name}.{f}")),
                    msg(&e),
                ));
            }
        }
        if let Some((name, _)) = self.responders.first()
            && !self.services.iter().any(|(_, s)| s.autoreply)
        {
            return Err(self.error_at(
                self.key_span("responders", name),
                Some(&format!("responders.{name}")),
                "responders answer for services with `autoreply = true`, and no service has it",
            ));
        }
        for (key, aud) in &self.audiences {
            let at = |what: &str, value: Option<&str>, message: String| {
                let path = [Step::Key("audiences"), Step::Key(key), Step::Key(what)];
                let span = value
                    .and_then(|v| self.string_span(&path[..2], v))
                    .or_else(|| self.value_span(&path))
                    .or_else(|| self.key_span("audiences", key));
                self.error_at(span, Some(&format!("audiences.{key}.{what}")), message)
            };
            if let Some(problem) = name_problem(key) {
                return Err(at("name", None, format!("the key {problem}")));
            }
            if let Err(e) = aud.validate() {
                return Err(at(&field(&e), None, msg(&e)));
            }
            for s in &aud.sinks {
                if !self.sinks.contains_key(s) {
                    return Err(at(
                        "sinks",
                        Some(s),
                        format!(
                            "sink `{}` is not defined (known: {})",
                            crate::text::printable(s),
                            known(self.sinks.keys())
                        ),
                    ));
                }
            }
            for s in &aud.services {
                if s != "*" && !self.services.iter().any(|(k, _)| k == s) {
                    let keys: Vec<String> = self.services.iter().map(|(k, _)| k.clone()).collect();
                    return Err(at(
                        "services",
                        Some(s),
                        format!(
                            "service `{}` is not defined (known: {})",
                            crate::text::printable(s),
                            known(keys.iter())
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Where the value at `path` is written in the source, if it is written there.
    fn value_span(&self, path: &[Step<'_>]) -> Option<std::ops::Range<usize>> {
        let doc = toml::de::DeTable::parse(&self.source).ok()?;
        let (first, rest) = path.split_first()?;
        let Step::Key(first) = first else {
            return None;
        };
        let mut value = doc.get_ref().get(*first)?;
        for step in rest {
            value = match step {
                Step::Key(k) => value.get_ref().get(*k)?,
                Step::Index(i) => value.get_ref().get(*i)?,
            };
        }
        Some(value.span())
    }

    /// Where the string `value` is written inside the value at `path` (in an array, a nested
    /// table…), if it is.
    fn string_span(&self, path: &[Step<'_>], value: &str) -> Option<std::ops::Range<usize>> {
        fn find(
            v: &toml::Spanned<toml::de::DeValue<'_>>,
            value: &str,
        ) -> Option<std::ops::Range<usize>> {
            match v.get_ref() {
                toml::de::DeValue::String(s) if s == value => Some(v.span()),
                toml::de::DeValue::Array(items) => items.iter().find_map(|i| find(i, value)),
                toml::de::DeValue::Table(t) => t.iter().find_map(|(_, i)| find(i, value)),
                _ => None,
            }
        }
        let doc = toml::de::DeTable::parse(&self.source).ok()?;
        let (first, rest) = path.split_first()?;
        let Step::Key(first) = first else {
            return None;
        };
        let mut v = doc.get_ref().get(*first)?;
        for step in rest {
            v = match step {
                Step::Key(k) => v.get_ref().get(*k)?,
                Step::Index(i) => v.get_ref().get(*i)?,
            };
        }
        find(v, value)
    }

    /// The span of `[section.key]`'s header, found in the text.
    fn key_span(&self, section: &str, key: &str) -> Option<std::ops::Range<usize>> {
        let needle = format!("[{section}.{key}]");
        self.source
            .find(&needle)
            .map(|start| start..start + needle.len())
    }
}

/// One step of a path into the config text: a key or an array index.
#[derive(Debug, Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The shortest retention: observations are read back for forecasts and dependencies.
const MIN_RETENTION: Duration = Duration::from_secs(86_400);

/// What is wrong with a name, if anything: it holds a control character (a newline, an escape
/// sequence…) that would forge or garble the lines it is printed in.
pub(crate) fn name_problem(name: &str) -> Option<String> {
    let (at, c) = crate::text::control_char(name)?;
    Some(format!(
        "`{}` must not contain control characters (`{}` at character {})",
        crate::text::printable(name),
        crate::text::printable(c.encode_utf8(&mut [0; 4])),
        name[..at].chars().count() + 1
    ))
}

/// What is wrong with an interval, if anything (from 1 s to 1 day).
fn interval_problem(interval: Duration) -> Option<String> {
    use crate::monitor::{MAX_INTERVAL, MIN_INTERVAL};
    if interval < MIN_INTERVAL {
        Some("must be at least 1s".into())
    } else if interval > MAX_INTERVAL {
        Some(format!(
            "must be at most 1 day, not {}",
            humantime::format_duration(interval)
        ))
    } else {
        None
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

/// The keys every `[[checks]]` table takes besides its probe's own.
const CHECK_KEYS: &[&str] = &[
    "name",
    "type",
    "interval",
    "timeout",
    "group",
    "depends_on",
    "policy",
    "failure_threshold",
    "success_threshold",
    "flapping",
    "owner",
    "location",
];

/// The keys every `[sinks.NAME]` table takes besides its sink's own.
const SINK_KEYS: &[&str] = &["type", "rate_limit"];

/// serde's message for an unknown key of a table whose keys are partly flattened in (a check's
/// probe keys, a sink's own) lists only the flattened part: "expected one of `host`, `port`"
/// for a check misspelling `interval`. This one lists every key the table takes and suggests
/// the closest one.
fn unknown_key_message(text: &str, at: usize, key: &str, message: &str) -> String {
    let Some(listed) = message.split(", expected ").nth(1) else {
        return message.to_owned();
    };
    let mut allowed: Vec<String> = listed
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    let common = match table_of_key(text, at, key) {
        Some("checks") => CHECK_KEYS,
        Some("sinks") => SINK_KEYS,
        _ => &[],
    };
    for (i, k) in common.iter().enumerate() {
        if !allowed.iter().any(|a| a == k) {
            allowed.insert(i.min(allowed.len()), (*k).to_owned());
        }
    }
    let closest = allowed
        .iter()
        .map(|a| (edit_distance(key, a), a))
        .filter(|(d, a)| *d <= (a.chars().count() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a);
    let listed = allowed
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match closest {
        Some(c) => format!("unknown field `{key}`: did you mean `{c}`? (expected one of {listed})"),
        None => format!("unknown field `{key}`, expected one of {listed}"),
    }
}

/// The top-level array or table ("checks", "sinks", …) whose entry sets `key` at byte `at`.
fn table_of_key<'t>(text: &'t str, at: usize, key: &str) -> Option<&'static str> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let sets_it = |t: &toml::de::DeTable<'_>| {
        t.iter()
            .any(|(k, _)| k.get_ref() == key && k.span().contains(&at))
    };
    for section in ["checks", "sinks"] {
        let Some(v) = doc.get_ref().get(section) else {
            continue;
        };
        let entries: Vec<&toml::Spanned<toml::de::DeValue<'t>>> = match v.get_ref() {
            toml::de::DeValue::Array(a) => a.iter().collect(),
            toml::de::DeValue::Table(t) => t.iter().map(|(_, v)| v).collect(),
            _ => continue,
        };
        for e in entries {
            if let toml::de::DeValue::Table(t) = e.get_ref()
                && sets_it(t)
            {
                return Some(section);
            }
        }
    }
    None
}

/// The Levenshtein distance between two keys (in characters).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
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
    fn the_district_and_site_examples_are_valid() {
        let district = Config::parse(
            &include_str!("../../examples/district.toml").replace("${SMTP_PASSWORD}", "x"),
            Path::new("district.toml"),
        )
        .unwrap();
        assert_eq!(district.monitor.instance.as_deref(), Some("forewarn-1"));
        assert!(crate::store::is_postgres_url(
            &district.monitor.database.to_string_lossy()
        ));
        let site = Config::parse(
            &include_str!("../../examples/site.toml").replace("${PRINTER_COMMUNITY}", "x"),
            Path::new("site.toml"),
        )
        .unwrap();
        assert_eq!(
            site.site.as_ref().and_then(|s| s.name.as_deref()),
            Some("school-12")
        );
    }

    #[test]
    fn shared_database_lease_and_site_errors_are_located() {
        let e = err(&format!(
            "[monitor]\ndatabase = \"postgres://fw:hunter22@db.district.example/forewarn\"\n{TCP}"
        ));
        assert!(
            e.starts_with("forewarn.toml:2:12: `monitor.database`"),
            "{e}"
        );
        assert!(e.contains("FOREWARN_DATABASE_PASSWORD"), "{e}");
        assert!(!e.contains("hunter22"), "{e}");
        let c = parse(&format!(
            "[monitor]\ndatabase = \"postgres://fw@db.district.example/forewarn\"\n\
             instance = \"district-1\"\nlease = \"4s\"\n{TCP}"
        ))
        .unwrap();
        assert_eq!(c.monitor.instance.as_deref(), Some("district-1"));
        assert_eq!(c.monitor.lease, Duration::from_secs(4));
        let e = err(&format!("[monitor]\nlease = \"200ms\"\n{TCP}"));
        assert!(e.starts_with("forewarn.toml:2:9: `monitor.lease`"), "{e}");
        let e = err(&format!(
            "[site]\nname = \"school-12\"\ntoken_file = \"t\"\n{TCP}"
        ));
        assert!(e.contains("`site.central`"), "{e}");
        assert!(e.starts_with("forewarn.toml:1:"), "{e}");
        let e = err(&format!(
            "[site]\ncentral = \"http://district.example\"\ntoken_file = \"t\"\n{TCP}"
        ));
        assert!(e.starts_with("forewarn.toml:2:11: `site.central`"), "{e}");
        let c = parse(&format!(
            "[site]\ncentral = \"https://forewarn.district.example\"\ntoken_file = \"t\"\n{TCP}"
        ))
        .unwrap();
        assert!(c.site.is_some());
    }

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
        // The hint names the check's own keys too, not only the probe's.
        assert!(e.contains("did you mean `interval`?"), "{e}");
        for key in CHECK_KEYS
            .iter()
            .chain(&["host", "port", "target", "expect"])
        {
            assert!(e.contains(&format!("`{key}`")), "{key}: {e}");
        }
        let e = err("[sinks.log]\ntype = \"log\"\nrate_limt = \"5/min\"\n");
        assert!(e.starts_with("forewarn.toml:3:1: `rate_limt`"), "{e}");
        assert!(e.contains("did you mean `rate_limit`?"), "{e}");
        assert!(e.contains("`path`"), "{e}");
        // Nothing close: no guess.
        let e = err(&format!("{TCP}colour = \"red\"\n"));
        assert!(!e.contains("did you mean"), "{e}");
        assert!(e.contains("`interval`"), "{e}");
    }

    /// Fails to compile when a check gains a key: add it to `CHECK_KEYS` as well.
    #[test]
    fn check_keys_are_every_common_key() {
        let c = parse(TCP).unwrap().checks.remove(0);
        let CheckConfig {
            name: _,
            interval: _,
            timeout: _,
            group: _,
            depends_on: _,
            policy: _,
            failure_threshold: _,
            success_threshold: _,
            flapping: _,
            owner: _,
            location: _,
            probe: _,
        } = c;
        // The eleven fields, with the probe's `type` for `probe`.
        assert_eq!(CHECK_KEYS.len(), 12);
    }

    #[test]
    fn sink_and_policy_errors_point_at_the_value() {
        let e = err(
            "[sinks.m]\ntype = \"email\"\nhost = \"127.0.0.1\"\ntls = \"none\"\n\
                     from = \"a@b.example\"\nto = [\"x\"]\n",
        );
        assert!(e.starts_with("forewarn.toml:6:6: `sinks.m.to`"), "{e}");
        assert!(e.contains("`x` is neither an address nor a list"), "{e}");
        let e = err("[sinks.h]\ntype = \"webhook\"\nurl = \"ftp://x\"\n");
        assert!(e.starts_with("forewarn.toml:3:7: `sinks.h.url`"), "{e}");
        let e = err(
            "[sinks.log]\ntype = \"log\"\n[policies.p]\ntype = \"tiered\"\n\
                     [[policies.p.tiers]]\nafter = \"0m\"\nsinks = [\"log\", \"mail\"]\n",
        );
        assert!(
            e.starts_with("forewarn.toml:7:17: `policies.p.sinks`"),
            "{e}"
        );
        let e = err(&format!("[monitor]\ndefault_policy = \"oncall\"\n{TCP}"));
        assert!(
            e.starts_with("forewarn.toml:2:18: `monitor.default_policy`"),
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
        assert!(e.starts_with("forewarn.toml:5:12: `interval`"), "{e}");
        assert!(e.contains("at least 1s"), "{e}");
    }

    /// Every duration is bounded where it is parsed, and the error points at the value.
    #[test]
    fn durations_are_bounded_at_their_value() {
        // Longer than any clock can add: refused by the parser, wherever the duration is.
        for (text, place) in [
            (
                format!("{TCP}interval = \"18446744073709551615s\"\n"),
                "forewarn.toml:5:12",
            ),
            (
                format!("{TCP}timeout = \"18446744073709551615s\"\n"),
                "forewarn.toml:5:11",
            ),
            (
                format!("[monitor]\nretention = \"999999y\"\n{TCP}"),
                "forewarn.toml:2:13",
            ),
            (
                "[sinks.hook]\ntype = \"webhook\"\nurl = \"https://x.example/\"\ntimeout = \"999999y\"\n"
                    .to_owned(),
                "forewarn.toml:1:1",
            ),
        ] {
            let e = err(&text);
            assert!(e.starts_with(place), "{text}\n{e}");
            assert!(e.contains("longer than 100 years"), "{e}");
        }
        // The interval: from 1 s to a day, wherever it is set.
        let e = err(&format!("{TCP}interval = \"2d\"\n"));
        assert!(e.starts_with("forewarn.toml:5:12: `interval`"), "{e}");
        assert!(e.contains("at most 1 day"), "{e}");
        let e = err(&format!(
            "[groups.lab]\ninterval = \"25h\"\n{TCP}group = \"lab\"\n"
        ));
        assert!(
            e.starts_with("forewarn.toml:2:12: `groups.lab.interval`"),
            "{e}"
        );
        let e = err(&format!(
            "[monitor]\n\ndefault_interval = \"36500d\"\n{TCP}"
        ));
        assert!(
            e.starts_with("forewarn.toml:3:20: `monitor.default_interval`"),
            "{e}"
        );
        // The timeout: shorter than the check's interval, wherever that comes from.
        let e = err(&format!("{TCP}interval = \"5s\"\ntimeout = \"5s\"\n"));
        assert!(e.starts_with("forewarn.toml:6:11: `timeout`"), "{e}");
        assert!(e.contains("shorter than the interval (5s)"), "{e}");
        let e = err(&format!(
            "[monitor]\ndefault_interval = \"10s\"\n{TCP}timeout = \"1m\"\n"
        ));
        assert!(e.starts_with("forewarn.toml:7:11"), "{e}");
        let e = err(&format!("[monitor]\ndefault_timeout = \"1m\"\n{TCP}"));
        assert!(
            e.starts_with("forewarn.toml:2:19: `monitor.default_timeout`"),
            "{e}"
        );
        assert!(e.contains("shorter than `default_interval` (30s)"), "{e}");
        // A default timeout left alone fits a short interval.
        let c = parse(&format!("{TCP}interval = \"5s\"\n")).unwrap();
        assert_eq!(c.timeout_of(&c.checks[0]), Duration::from_secs(4));
        let c = parse(&format!("{TCP}interval = \"1m\"\n")).unwrap();
        assert_eq!(c.timeout_of(&c.checks[0]), Duration::from_secs(10));
        // Retention: from a day to 100 years.
        let e = err(&format!("[monitor]\nretention = \"1h\"\n{TCP}"));
        assert!(
            e.starts_with("forewarn.toml:2:13: `monitor.retention`"),
            "{e}"
        );
        assert!(parse(&format!("[monitor]\nretention = \"100y\"\n{TCP}")).is_ok());
        // History tiers: each kept at least as long as the finer one, named where it is.
        let e = err(&format!(
            "[monitor.history]\nraw = \"7d\"\nminutes = \"1d\"\n{TCP}"
        ));
        assert!(
            e.starts_with("forewarn.toml:3:11: `monitor.history.minutes`"),
            "{e}"
        );
        assert!(e.contains("shorter than `raw`"), "{e}");
        let e = err(&format!("[monitor.history]\nmin_free = \"lots\"\n{TCP}"));
        assert!(e.starts_with("forewarn.toml:2:12"), "{e}");
        let e = err(&format!("[monitor]\ntime_zone = \"Mars/Base\"\n{TCP}"));
        assert!(
            e.starts_with("forewarn.toml:2:13: `monitor.time_zone`"),
            "{e}"
        );
        let c = parse(&format!(
            "[monitor]\ntime_zone = \"Europe/Berlin\"\n[monitor.history]\ndays = \"10y\"\n{TCP}"
        ))
        .unwrap();
        assert_eq!(
            c.zone(),
            crate::clock::Zone::named("Europe/Berlin").unwrap()
        );
        assert_eq!(
            c.monitor.history.days,
            Some(Duration::from_secs(10 * 31_557_600))
        );
    }

    #[test]
    fn names_with_control_characters_are_refused() {
        let e =
            err("[[checks]]\nname = \"svc\\u001b[2J\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:9\"\n");
        assert!(e.starts_with("forewarn.toml:2:8: `name`"), "{e}");
        assert!(
            e.contains(
                "`svc\\u{1b}[2J` must not contain control characters (`\\u{1b}` at character 4)"
            ),
            "{e}"
        );
        assert!(!e.chars().any(crate::text::is_control), "{e:?}");
        for (text, key) in [
            ("[groups.\"lab\\n\"]\n", "groups.lab\\n"),
            ("[sinks.\"log\\r\"]\ntype = \"log\"\n", "sinks.log\\r"),
            (
                "[sinks.log]\ntype = \"log\"\n[policies.\"p\\u202e\"]\ntype = \"notify\"\nsinks = [\"log\"]\n",
                "policies.p\\u{202e}",
            ),
            (
                "[[maintenance]]\nname = \"patch\\u0000\"\nchecks = [\"a\"]\nstart = \"2026-09-01T16:30:00Z\"\nend = \"2026-09-01T17:30:00Z\"\n",
                "maintenance.name",
            ),
        ] {
            let e = err(&format!("{text}{TCP}"));
            assert!(e.contains(&format!("`{key}`")), "{e}");
            assert!(e.contains("must not contain control characters"), "{e}");
            assert!(!e.chars().any(crate::text::is_control), "{e:?}");
        }
    }

    #[test]
    fn thresholds_of_zero_are_refused_at_their_value() {
        for key in ["failure_threshold", "success_threshold"] {
            let e = err(&format!("{TCP}{key} = 0\n"));
            let place = format!("forewarn.toml:5:{}: `{key}`", key.len() + 4);
            assert!(e.starts_with(&place), "{e}");
            assert!(e.contains("must be at least 1"), "{e}");
        }
        let e = err(&format!("[monitor]\nconcurrency = 0\n{TCP}"));
        assert!(
            e.starts_with("forewarn.toml:2:15: `monitor.concurrency`"),
            "{e}"
        );
    }

    /// A config of `n` checks of several kinds, with groups, dependencies, a sub-table, a
    /// maintenance window between the checks and the `[monitor]` section after them.
    fn large(n: usize) -> String {
        let mut t = String::from(
            "[sinks.log]\ntype = \"log\"\n\n[policies.default]\ntype = \"notify\"\n\
             sinks = [\"log\"]\n\n[groups.lab]\ninterval = \"10s\"\n\n",
        );
        for i in 0..n {
            if i == n / 2 {
                t.push_str(
                    "[[maintenance]]\nname = \"upgrade\"\nchecks = [\"c0\"]\n\
                     start = \"2026-12-24T08:00:00Z\"\nend = \"2026-12-24T09:00:00Z\"\n\n",
                );
            }
            t.push_str(&format!("[[checks]]\nname = \"c{i}\"\n"));
            match i % 3 {
                0 => t.push_str(&format!(
                    "type = \"tcp\"\ntarget = \"10.0.{}.{}:22\"\n",
                    i / 250,
                    i % 250
                )),
                1 => t.push_str(&format!(
                    "type = \"http\"\nurl = \"https://s{i}.example.org/login\"\ngroup = \"lab\"\n\
                     depends_on = [\"c{}\"]\n",
                    i - 1
                )),
                _ => t.push_str(&format!(
                    "type = \"tcp\" # a comment [[checks]]\ntarget = '10.1.0.{}:443'\n\
                     [checks.flapping]\nwindow = \"10m\"\n",
                    i % 250
                )),
            }
            t.push('\n');
        }
        t.push_str("[monitor]\ndatabase = \"big.db\"\ndefault_interval = \"1m\"\n");
        t
    }

    #[test]
    fn a_large_config_read_in_parts_is_the_same_as_read_whole() {
        let text = large(2_000);
        let parts = split::split(&text, CHECKS_PER_PART).unwrap();
        assert_eq!(parts.count, 2_000);
        assert!(parts.checks.len() >= 2_000 / CHECKS_PER_PART);
        let whole: RawConfig = toml::from_str(&text).unwrap();
        let in_parts = parse_parts(&text, parts).expect("every part parses on its own");
        assert_eq!(in_parts.checks.len(), 2_000);
        assert_eq!(
            format!("{:?}", in_parts.checks),
            format!("{:?}", whole.checks)
        );
        for (a, b) in in_parts.checks.iter().zip(&whole.checks) {
            assert_eq!(a.name.span(), b.name.span());
            assert_eq!(
                a.group.as_ref().map(|g| g.span()),
                b.group.as_ref().map(|g| g.span())
            );
            let spans = |c: &CheckConfig| c.depends_on.iter().map(|d| d.span()).collect::<Vec<_>>();
            assert_eq!(spans(a), spans(b));
        }
        assert_eq!(
            format!("{:?}", in_parts.monitor),
            format!("{:?}", whole.monitor)
        );
        assert_eq!(in_parts.maintenance.len(), 1);
        assert_eq!(in_parts.maintenance[0].span(), whole.maintenance[0].span());
        let config = parse(&text).unwrap();
        assert_eq!(config.checks.len(), 2_000);
        assert_eq!(config.monitor.database, PathBuf::from("big.db"));
    }

    #[test]
    fn errors_in_a_large_config_name_the_same_place_as_in_a_small_one() {
        let text = large(2_000);
        // A bad value in check 1,234: located as the whole parse locates it.
        let bad = text.replacen(
            "name = \"c1234\"\n",
            "name = \"c1234\"\ninterval = \"5 parsecs\"\n",
            1,
        );
        let line = bad[..bad.find("5 parsecs").unwrap()].matches('\n').count() + 1;
        let e = err(&bad);
        assert!(e.contains(&format!("forewarn.toml:{line}:")), "{e}");
        // A name used twice: both places, from the spans moved by their part's offset.
        let twice = text.replacen("name = \"c1500\"", "name = \"c3\"", 1);
        let at = twice.find("name = \"c3\"").unwrap();
        let second = twice[..twice.rfind("name = \"c3\"").unwrap()]
            .matches('\n')
            .count()
            + 1;
        let first = twice[..at].matches('\n').count() + 1;
        let e = err(&twice);
        assert!(e.contains(&format!("forewarn.toml:{second}:8")), "{e}");
        assert!(e.contains(&format!("first at line {first}")), "{e}");
        // A dependency on no check, located in its part.
        let missing = text.replacen("depends_on = [\"c999\"]", "depends_on = [\"nowhere\"]", 1);
        let line = missing[..missing.find("\"nowhere\"").unwrap()]
            .matches('\n')
            .count()
            + 1;
        let e = err(&missing);
        assert!(e.contains(&format!("forewarn.toml:{line}:15")), "{e}");
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
        assert!(e.contains("forewarn.toml:3:10"), "{e}");
        assert!(e.contains("sink `mail` is not defined"), "{e}");
    }

    #[test]
    fn missing_env_var_is_named_and_secret_never_printed() {
        let text = "[sinks.hook]\ntype = \"webhook\"\nurl = \"https://hooks.example/${FOREWARN_UNSET_HOOK_VAR}\"\n";
        let e = err(text);
        assert!(e.contains("FOREWARN_UNSET_HOOK_VAR"), "{e}");
        assert!(e.contains("forewarn.toml:3:7: `sinks.hook.url`"), "{e}");
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
