//! Probes: what checks a thing and reports an [`Observation`].
//!
//! Built-in probes live one per file below this module, each with its `…Config` beside it; the
//! configs form the closed [`ProbeConfig`] enum. Your own probes implement [`Probe`] and are handed
//! to the monitor as `Arc<dyn Probe>`.

use std::borrow::Cow;
use std::fmt::{self, Debug};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::{SharedClock, SystemClock};
use crate::error::Result;

pub mod database;
pub mod history_store;
pub mod host;
pub mod http;
pub mod metrics;
#[cfg(feature = "probe-mysql")]
pub mod mysql;
#[cfg(feature = "probe-postgres")]
pub mod postgres;
#[cfg(feature = "probe-snmp")]
pub mod printer;
pub mod process;
pub mod reading;
#[cfg(feature = "probe-redis")]
pub mod redis;
pub mod smart;
pub mod tcp;
pub mod trend;

pub use host::{HostConfig, HostProbe};
pub use http::{HttpConfig, HttpProbe};
pub use metrics::Metrics;
#[cfg(feature = "probe-mysql")]
pub use mysql::{MysqlConfig, MysqlProbe};
#[cfg(feature = "probe-postgres")]
pub use postgres::{PostgresConfig, PostgresProbe};
#[cfg(feature = "probe-snmp")]
pub use printer::{PrinterConfig, PrinterProbe};
pub use process::{ProcessConfig, ProcessProbe};
pub use reading::Reading;
#[cfg(feature = "probe-redis")]
pub use redis::{RedisConfig, RedisProbe};
pub use smart::{SmartConfig, SmartProbe};
pub use tcp::{TcpConfig, TcpProbe};

/// How a checked thing is doing, in the monitoring-plugins convention.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Working as expected.
    #[default]
    Ok,
    /// Working, but something needs attention soon.
    Warning,
    /// Not working.
    Critical,
    /// The probe could not tell (misconfiguration, panic, unsupported).
    Unknown,
}

impl Status {
    /// The monitoring-plugins exit code: 0 ok, 1 warning, 2 critical, 3 unknown.
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    /// Severity rank for "worse than" comparisons: ok < warning < unknown < critical.
    pub fn severity(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Unknown => 2,
            Status::Critical => 3,
        }
    }

    /// The worse of two statuses by [`Status::severity`].
    pub fn worst(self, other: Status) -> Status {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    /// Whether this status counts as a failure for thresholds.
    pub fn is_failure(self) -> bool {
        self != Status::Ok
    }

    /// Lower-case name, as in config and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
            Status::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One measured value with its unit (`"s"`, `"%"`, `"B"`, `"days"`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// The value.
    pub value: f64,
    /// Its unit; empty for plain counts.
    #[serde(default, skip_serializing_if = "is_empty")]
    pub unit: Cow<'static, str>,
}

// serde hands `skip_serializing_if` a reference to the field itself.
#[allow(clippy::ptr_arg)]
fn is_empty(text: &Cow<'static, str>) -> bool {
    text.is_empty()
}

/// A metric's name: most are fixed (`"latency"`), some are built (`"toner_black_percent"`).
pub type MetricName = Cow<'static, str>;

impl Metric {
    /// A metric with a unit.
    pub fn new(value: f64, unit: impl Into<Cow<'static, str>>) -> Self {
        Self {
            value,
            unit: unit.into(),
        }
    }
}

/// What one run of a probe found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The verdict.
    pub status: Status,
    /// One line a person can read ("connected in 3 ms", "disk / 4 % free").
    pub summary: String,
    /// Measured values by name.
    #[serde(default, skip_serializing_if = "Metrics::is_empty")]
    pub metrics: Metrics,
    /// How long the check took.
    #[serde(with = "duration_secs")]
    pub latency: Duration,
    /// When the check started.
    pub at: DateTime<Utc>,
    /// What the probe knows beyond status and metrics (a printer's supplies, an HTTP
    /// response's certificate, a database's role), when it has more to say. Shared, so the
    /// history, events and bindings hold one copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<Arc<Reading>>,
}

impl Observation {
    /// An observation with no metrics, taken now by `cx`'s clock, latency zero.
    pub fn new(status: Status, summary: impl Into<String>, at: DateTime<Utc>) -> Self {
        Self {
            status,
            summary: summary.into(),
            metrics: Metrics::new(),
            latency: Duration::ZERO,
            at,
            reading: None,
        }
    }

    /// Attaches a structured reading (builder style).
    pub fn with_reading(mut self, reading: Reading) -> Self {
        self.reading = Some(Arc::new(reading));
        self
    }

    /// Adds a metric (builder style).
    pub fn with_metric(
        mut self,
        name: impl Into<MetricName>,
        value: f64,
        unit: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.metrics.insert(name.into(), Metric::new(value, unit));
        self
    }

    /// Sets the latency (builder style).
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
}

pub(crate) mod duration_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// What a probe may use while it runs: passed in, never global, so tests can swap it.
#[derive(Clone)]
pub struct CheckContext {
    /// The check's name.
    pub check: Arc<str>,
    /// The time budget of this run; the monitor enforces it too.
    pub timeout: Duration,
    /// The wall clock.
    pub clock: SharedClock,
    /// The district's time zone: a time a probe writes into a summary is shown in it.
    pub zone: crate::clock::Zone,
    /// The monitor's HTTP client (its connection pool is the one the `http` probe uses), for
    /// probes that need one.
    pub http: crate::http_client::HttpClient,
    /// Read-only access to this check's stored observations, for probes that learn from
    /// history (the printer probe's toner forecast). The monitor sets it; `None` elsewhere.
    pub history: Option<History>,
}

/// Read-only access to one check's stored observations.
#[derive(Clone)]
pub struct History {
    store: Arc<dyn crate::store::Store>,
    check: Arc<str>,
}

impl Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History")
            .field("check", &self.check)
            .finish_non_exhaustive()
    }
}

impl History {
    /// The history of `check` in `store`.
    pub fn new(store: Arc<dyn crate::store::Store>, check: impl Into<Arc<str>>) -> Self {
        Self {
            store,
            check: check.into(),
        }
    }

    /// The check's latest `limit` observations, newest first.
    pub async fn recent(&self, limit: usize) -> Result<Vec<Observation>> {
        self.since(DateTime::<Utc>::MIN_UTC, limit).await
    }

    /// The check's observations since `since`, newest first, at most `limit` (at least 1).
    pub async fn since(&self, since: DateTime<Utc>, limit: usize) -> Result<Vec<Observation>> {
        self.store
            .observations(&self.check, since, limit.max(1))
            .await
    }
}

impl Debug for CheckContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckContext")
            .field("check", &self.check)
            .field("timeout", &self.timeout)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl CheckContext {
    /// A context for running a probe by hand or in tests: system clock and time zone, 10 s
    /// timeout, a fresh HTTP client.
    pub fn for_test(check: &str) -> Self {
        Self {
            check: Arc::from(check),
            timeout: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
            zone: crate::clock::Zone::system(),
            http: crate::http_client::HttpClient::new(),
            history: None,
        }
    }

    /// The current time by this context's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// Something that checks one thing.
///
/// Implementations must not panic on bad input from the network (the monitor isolates panics,
/// but reports them as `Unknown`), must honour `cx.timeout` where they can, and never send
/// notifications themselves: they only observe.
#[async_trait]
pub trait Probe: Send + Sync + Debug {
    /// Runs the check once.
    async fn check(&self, cx: &CheckContext) -> Observation;

    /// A short name of the probe's kind ("tcp", "http", …), for listings.
    fn kind(&self) -> &str {
        "custom"
    }

    /// What is probed ("10.0.0.5:5432", a URL), for listings. Never contains secrets.
    fn target(&self) -> String {
        String::new()
    }
}

/// The configuration of a built-in probe, selected by its `type` key.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ProbeConfig {
    /// A TCP connect, optionally with a banner exchange.
    Tcp(TcpConfig),
    /// An HTTP(S) request.
    Http(HttpConfig),
    /// This machine's health.
    Host(HostConfig),
    /// A PostgreSQL query.
    #[cfg(feature = "probe-postgres")]
    Postgres(PostgresConfig),
    /// A MariaDB or MySQL query.
    #[cfg(feature = "probe-mysql")]
    Mysql(MysqlConfig),
    /// A Redis command.
    #[cfg(feature = "probe-redis")]
    Redis(RedisConfig),
    /// A named process on this machine.
    Process(ProcessConfig),
    /// A printer over SNMP (Printer-MIB): supplies, trays, jams, doors.
    #[cfg(feature = "probe-snmp")]
    Printer(PrinterConfig),
    /// This machine's disks read with smartctl: SMART/NVMe health, wear, failure predictors.
    Smart(SmartConfig),
}

impl ProbeConfig {
    /// Checks the values, naming the offending field in the error.
    pub fn validate(&self) -> Result<()> {
        match self {
            ProbeConfig::Tcp(c) => c.validate(),
            ProbeConfig::Http(c) => c.validate(),
            ProbeConfig::Host(c) => c.validate(),
            #[cfg(feature = "probe-postgres")]
            ProbeConfig::Postgres(c) => c.validate(),
            #[cfg(feature = "probe-mysql")]
            ProbeConfig::Mysql(c) => c.validate(),
            #[cfg(feature = "probe-redis")]
            ProbeConfig::Redis(c) => c.validate(),
            ProbeConfig::Process(c) => c.validate(),
            #[cfg(feature = "probe-snmp")]
            ProbeConfig::Printer(c) => c.validate(),
            ProbeConfig::Smart(c) => c.validate(),
        }
    }

    /// Builds the probe.
    pub fn build(&self, clients: &crate::http_client::HttpClients) -> Result<Arc<dyn Probe>> {
        Ok(match self {
            ProbeConfig::Tcp(c) => Arc::new(c.build()?),
            ProbeConfig::Http(c) => Arc::new(c.build(clients)?),
            ProbeConfig::Host(c) => Arc::new(c.build()?),
            #[cfg(feature = "probe-postgres")]
            ProbeConfig::Postgres(c) => Arc::new(c.build()?),
            #[cfg(feature = "probe-mysql")]
            ProbeConfig::Mysql(c) => Arc::new(c.build()?),
            #[cfg(feature = "probe-redis")]
            ProbeConfig::Redis(c) => Arc::new(c.build()?),
            ProbeConfig::Process(c) => Arc::new(c.build()?),
            #[cfg(feature = "probe-snmp")]
            ProbeConfig::Printer(c) => Arc::new(c.build()?),
            ProbeConfig::Smart(c) => Arc::new(c.build()?),
        })
    }
}

/// Formats a duration for summaries: "850 µs", "12 ms", "1.5 s", "3 min".
pub fn human_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1_000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{} ms", us / 1_000)
    } else if d.as_secs() < 120 {
        format!("{:.1} s", d.as_secs_f64())
    } else if d.as_secs() < 7200 {
        format!("{} min", d.as_secs() / 60)
    } else {
        format!("{:.1} h", d.as_secs_f64() / 3600.0)
    }
}

/// Latency thresholds shared by network probes.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LatencyThresholds {
    /// Warn when the check takes longer than this.
    #[serde(default, with = "crate::config::opt_duration")]
    pub warning: Option<Duration>,
    /// Critical when the check takes longer than this.
    #[serde(default, with = "crate::config::opt_duration")]
    pub critical: Option<Duration>,
}

impl LatencyThresholds {
    /// The status a latency earns.
    pub fn status(&self, latency: Duration) -> Status {
        if self.critical.is_some_and(|c| latency > c) {
            Status::Critical
        } else if self.warning.is_some_and(|w| latency > w) {
            Status::Warning
        } else {
            Status::Ok
        }
    }

    /// Rejects a warning threshold above the critical one.
    pub fn validate(&self, field: &str) -> Result<()> {
        if let (Some(w), Some(c)) = (self.warning, self.critical)
            && w > c
        {
            return Err(crate::Error::invalid(
                field,
                "the warning threshold is above the critical one",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {

    /// Every `[[checks]]` example in a probe module's docs is a valid config, so the docs cannot
    /// drift from what the config accepts.
    #[test]
    fn module_doc_examples_are_valid() {
        let sources = [
            ("probe/tcp.rs", include_str!("probe/tcp.rs")),
            ("probe/http.rs", include_str!("probe/http.rs")),
            ("probe/host.rs", include_str!("probe/host.rs")),
            ("probe/process.rs", include_str!("probe/process.rs")),
            ("probe/smart.rs", include_str!("probe/smart.rs")),
            #[cfg(feature = "probe-postgres")]
            ("probe/postgres.rs", include_str!("probe/postgres.rs")),
            #[cfg(feature = "probe-mysql")]
            ("probe/mysql.rs", include_str!("probe/mysql.rs")),
            #[cfg(feature = "probe-redis")]
            ("probe/redis.rs", include_str!("probe/redis.rs")),
            #[cfg(feature = "probe-snmp")]
            ("probe/printer.rs", include_str!("probe/printer.rs")),
        ];
        for (file, source) in sources {
            let docs: Vec<&str> = source
                .lines()
                .filter_map(|l| l.strip_prefix("//!"))
                .map(|l| l.strip_prefix(' ').unwrap_or(l))
                .collect();
            let mut examples = 0;
            let mut rest = &docs[..];
            while let Some(start) = rest.iter().position(|l| *l == "```toml") {
                let len = rest[start + 1..]
                    .iter()
                    .position(|l| *l == "```")
                    .expect(file);
                let block = rest[start + 1..start + 1 + len].join("\n");
                rest = &rest[start + 1 + len..];
                if !block.contains("[[checks]]") {
                    continue;
                }
                let config = crate::Config::parse(&block, std::path::Path::new(file))
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(config.checks.len(), 1, "{file}");
                examples += 1;
            }
            assert!(examples > 0, "{file} has no `[[checks]]` example");
        }
    }
    use super::*;

    #[test]
    fn exit_codes_follow_monitoring_plugins() {
        assert_eq!(Status::Ok.exit_code(), 0);
        assert_eq!(Status::Warning.exit_code(), 1);
        assert_eq!(Status::Critical.exit_code(), 2);
        assert_eq!(Status::Unknown.exit_code(), 3);
    }

    #[test]
    fn worst_ranks_critical_above_unknown() {
        assert_eq!(Status::Unknown.worst(Status::Critical), Status::Critical);
        assert_eq!(Status::Warning.worst(Status::Unknown), Status::Unknown);
        assert_eq!(Status::Ok.worst(Status::Warning), Status::Warning);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(Duration::from_micros(850)), "850 µs");
        assert_eq!(human_duration(Duration::from_millis(12)), "12 ms");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human_duration(Duration::from_secs(180)), "3 min");
    }

    #[test]
    fn latency_thresholds() {
        let t = LatencyThresholds {
            warning: Some(Duration::from_millis(100)),
            critical: Some(Duration::from_millis(500)),
        };
        assert_eq!(t.status(Duration::from_millis(50)), Status::Ok);
        assert_eq!(t.status(Duration::from_millis(200)), Status::Warning);
        assert_eq!(t.status(Duration::from_millis(600)), Status::Critical);
        let bad = LatencyThresholds {
            warning: Some(Duration::from_secs(2)),
            critical: Some(Duration::from_secs(1)),
        };
        assert!(bad.validate("latency").is_err());
    }
}
