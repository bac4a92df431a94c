//! Small helpers shared by the database and service probes (`postgres`, `mysql`, `redis`): the
//! stage a check failed at, the expectation on a query's result, thresholds on extras and the TLS
//! mode.
//!
//! ```toml
//! expect = { rows_at_least = 1 }
//! expect = { column = "state", equals = "ready" }
//! expect = { column = "queued", below = 50, severity = "warning" }
//! ```
// Parts are unused when a database probe is compiled out.
#![cfg_attr(
    not(all(
        feature = "probe-postgres",
        feature = "probe-mysql",
        feature = "probe-redis"
    )),
    allow(dead_code)
)]

use crate::probe::reading::{DatabaseReading, Reading};
use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::probe::{LatencyThresholds, Observation, Status, human_duration};

/// Where a database check failed, named in the observation's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Turning the host name into addresses.
    Resolve,
    /// Opening the TCP (or Unix socket) connection.
    Connect,
    /// The TLS handshake.
    Tls,
    /// Logging in.
    Auth,
    /// Running the query or command.
    Query,
    /// The result did not meet the configured expectation.
    Expectation,
}

impl Stage {
    /// Lower-case name as shown in summaries ("connect", "auth", …).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Resolve => "resolve",
            Stage::Connect => "connect",
            Stage::Tls => "tls",
            Stage::Auth => "auth",
            Stage::Query => "query",
            Stage::Expectation => "expectation",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A failed check: the stage, a status and a message that never contains a password.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub stage: Stage,
    pub status: Status,
    pub detail: String,
}

impl Failure {
    /// A Critical failure at `stage`.
    pub fn critical(stage: Stage, detail: impl Into<String>) -> Self {
        Self {
            stage,
            status: Status::Critical,
            detail: detail.into(),
        }
    }

    /// "timed out after …" at `stage`.
    pub fn timed_out(stage: Stage, budget: Duration) -> Self {
        Self::critical(stage, format!("timed out after {}", human_duration(budget)))
    }

    /// The summary: "connect: connection refused by 127.0.0.1:5432".
    pub fn summary(&self) -> String {
        format!("{}: {}", self.stage, self.detail)
    }

    /// The observation of this failure.
    pub fn observation(&self, at: DateTime<Utc>, latency: Duration) -> Observation {
        Observation::new(self.status, self.summary(), at)
            .with_latency(latency)
            .with_metric("latency", latency.as_secs_f64(), "s")
    }
}

/// The part of a check's time budget the probe gives itself, so that it can name the stage that
/// hung before the monitor's own timeout cancels it.
pub(crate) fn budget(timeout: Duration) -> Duration {
    timeout.saturating_sub((timeout / 10).min(Duration::from_millis(250)))
}

/// Resolves `host:port` (an IP literal needs no lookup) within `budget`.
pub(crate) async fn resolve(
    host: &str,
    port: u16,
    budget: Duration,
) -> std::result::Result<Vec<SocketAddr>, Failure> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    match tokio::time::timeout(budget, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<_> = addrs.collect();
            if addrs.is_empty() {
                Err(Failure::critical(
                    Stage::Resolve,
                    format!("{host} resolves to no address"),
                ))
            } else {
                Ok(addrs)
            }
        }
        Ok(Err(e)) => Err(Failure::critical(
            Stage::Resolve,
            format!("cannot resolve {host}: {e}"),
        )),
        Err(_) => Err(Failure::timed_out(Stage::Resolve, budget)),
    }
}

/// Describes a failed TCP connect: "connection refused by 127.0.0.1:5432".
pub(crate) fn connect_error(target: &str, e: &std::io::Error) -> Failure {
    let detail = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => format!("connection refused by {target}"),
        std::io::ErrorKind::NotFound => format!("{target} does not exist"),
        _ => format!("cannot connect to {target}: {e}"),
    };
    Failure::critical(Stage::Connect, detail)
}

/// How a violated expectation counts.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A Warning.
    Warning,
    /// A Critical (the default).
    #[default]
    Critical,
}

impl Severity {
    /// The status a violation earns.
    pub fn status(self) -> Status {
        match self {
            Severity::Warning => Status::Warning,
            Severity::Critical => Status::Critical,
        }
    }
}

/// What a query's (or command's) result must show.
///
/// `rows_at_least` counts rows. `equals`, `below` and `above` look at `column` of the first row
/// (the first column when no column is named; for Redis, the reply). Several may be combined;
/// all must hold.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The result must have at least this many rows.
    #[serde(default)]
    pub rows_at_least: Option<u64>,
    /// The column the value checks read (default: the first one).
    #[serde(default)]
    pub column: Option<String>,
    /// The value, as text, must equal this.
    #[serde(default)]
    pub equals: Option<String>,
    /// The value must be a number below this.
    #[serde(default)]
    pub below: Option<f64>,
    /// The value must be a number above this.
    #[serde(default)]
    pub above: Option<f64>,
    /// How a violation counts: `"warning"` or `"critical"` (default).
    #[serde(default)]
    pub severity: Severity,
}

/// A query result as text, the way a person reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ResultSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl ResultSet {
    /// The value of `column` (or the first column) in the first row; `Err` says why there is none.
    fn value(&self, column: Option<&str>) -> std::result::Result<Option<&str>, String> {
        let index = match column {
            Some(name) => self.columns.iter().position(|c| c == name).ok_or_else(|| {
                format!(
                    "the result has no column `{name}` (columns: {})",
                    self.columns.join(", ")
                )
            })?,
            None => 0,
        };
        let row = self
            .rows
            .first()
            .ok_or_else(|| "the result has no rows".to_owned())?;
        row.get(index)
            .map(|v| v.as_deref())
            .ok_or_else(|| "the result has no columns".to_owned())
    }
}

impl Expectation {
    /// Checks the values; `field` names the key in errors.
    pub fn validate(&self, field: &str) -> Result<()> {
        let value_checks = self.equals.is_some() || self.below.is_some() || self.above.is_some();
        if !value_checks && self.rows_at_least.is_none() {
            return Err(Error::invalid(
                field,
                "give `rows_at_least`, `equals`, `below` or `above`",
            ));
        }
        if self.column.is_some() && !value_checks {
            return Err(Error::invalid(
                field,
                "`column` needs `equals`, `below` or `above`",
            ));
        }
        if let Some(c) = &self.column
            && c.trim().is_empty()
        {
            return Err(Error::invalid(field, "`column` is empty"));
        }
        for (name, v) in [("below", self.below), ("above", self.above)] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(Error::invalid(field, format!("`{name}` must be a number")));
            }
        }
        if let (Some(b), Some(a)) = (self.below, self.above)
            && a >= b
        {
            return Err(Error::invalid(
                field,
                "`above` must be less than `below` (no value could pass)",
            ));
        }
        Ok(())
    }

    /// Checks `result`; `Err` is the violation, at the configured severity.
    pub(crate) fn evaluate(&self, result: &ResultSet) -> std::result::Result<(), Failure> {
        let fail = |detail: String| Failure {
            stage: Stage::Expectation,
            status: self.severity.status(),
            detail,
        };
        if let Some(n) = self.rows_at_least
            && (result.rows.len() as u64) < n
        {
            return Err(fail(format!(
                "{} row{}, expected at least {n}",
                result.rows.len(),
                if result.rows.len() == 1 { "" } else { "s" }
            )));
        }
        if self.equals.is_none() && self.below.is_none() && self.above.is_none() {
            return Ok(());
        }
        let value = result.value(self.column.as_deref()).map_err(fail)?;
        let name = self.column.as_deref().unwrap_or("the value");
        let shown = value.unwrap_or("NULL");
        if let Some(want) = &self.equals
            && value != Some(want.as_str())
        {
            return Err(fail(format!("{name} is {shown:?}, expected {want:?}")));
        }
        if self.below.is_some() || self.above.is_some() {
            let number = value
                .and_then(|v| v.trim().parse::<f64>().ok())
                .ok_or_else(|| fail(format!("{name} is {shown:?}, not a number")))?;
            if let Some(b) = self.below
                && number >= b
            {
                return Err(fail(format!("{name} is {number}, expected below {b}")));
            }
            if let Some(a) = self.above
                && number <= a
            {
                return Err(fail(format!("{name} is {number}, expected above {a}")));
            }
        }
        Ok(())
    }
}

/// Warning and critical levels for a value that is bad when high (a percentage, a count).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Warn at or above this.
    #[serde(default)]
    pub warning: Option<f64>,
    /// Critical at or above this.
    #[serde(default)]
    pub critical: Option<f64>,
}

impl Limits {
    /// The status `value` earns.
    pub fn status(&self, value: f64) -> Status {
        if self.critical.is_some_and(|c| value >= c) {
            Status::Critical
        } else if self.warning.is_some_and(|w| value >= w) {
            Status::Warning
        } else {
            Status::Ok
        }
    }

    /// Rejects a warning level above the critical one and non-numbers.
    pub fn validate(&self, field: &str) -> Result<()> {
        for v in [self.warning, self.critical].into_iter().flatten() {
            if !v.is_finite() || v < 0.0 {
                return Err(Error::invalid(field, "levels must be numbers ≥ 0"));
            }
        }
        if let (Some(w), Some(c)) = (self.warning, self.critical)
            && w > c
        {
            return Err(Error::invalid(
                field,
                "the warning level is above the critical one",
            ));
        }
        Ok(())
    }
}

/// Whether and how a connection is encrypted (the names libpq uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Plain text.
    Disable,
    /// TLS when the server offers it, plain text otherwise; the certificate is not verified.
    Prefer,
    /// TLS or fail; the certificate is not verified (self-signed servers).
    Require,
    /// TLS or fail, with the certificate verified against the public roots (and `tls_ca_file`)
    /// and the host name.
    VerifyFull,
}

/// Health extras found by a check, folded into one verdict and summary.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub status: Status,
    pub notes: Vec<String>,
}

impl Findings {
    /// Adds a note that earned `status`; Ok notes are kept as plain information.
    pub fn add(&mut self, status: Status, note: impl Into<String>) {
        self.status = self.status.worst(status);
        self.notes.push(note.into());
    }
}

/// Checks where a server is: `host` or `socket` (exactly one), and the port number.
pub(crate) fn validate_endpoint(
    host: Option<&str>,
    socket: Option<&std::path::Path>,
    port: u32,
) -> Result<()> {
    match (host, socket) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "socket",
                "give `host` or `socket`, not both",
            ));
        }
        (None, None) => return Err(Error::invalid("host", "missing: give `host` or `socket`")),
        (Some(h), None) if h.trim().is_empty() => {
            return Err(Error::invalid("host", "the host is empty"));
        }
        _ => {}
    }
    if port == 0 || port > 65535 {
        return Err(Error::invalid(
            "port",
            format!("{port} is not a port number (1–65535)"),
        ));
    }
    Ok(())
}

/// What a query (or command) that ran found, in the shape every engine shares.
#[derive(Debug)]
pub(crate) struct Answer {
    /// How long the query itself took.
    pub query_time: Duration,
    /// The expectation's and the health extras' verdict and notes.
    pub findings: Findings,
    /// Metrics beyond latency, query time and connect time.
    pub metrics: Vec<(&'static str, f64, &'static str)>,
    /// What the reading says beyond the metrics: the engine, and the role and replication
    /// state when the check looked at replication.
    pub reading: DatabaseReading,
}

impl Answer {
    /// The observation: `head` ("query ok in 2 ms, 1 row"), the findings' notes and, past a
    /// latency threshold, how slow the whole check was; latency, query time, connect time (when
    /// this run dialled) and the extras as metrics.
    pub fn observation(
        self,
        head: String,
        at: DateTime<Utc>,
        latency: Duration,
        thresholds: &LatencyThresholds,
        connect_time: Option<Duration>,
    ) -> Observation {
        let slow = thresholds.status(latency);
        let mut summary = head;
        for note in &self.findings.notes {
            let _ = write!(summary, "; {note}");
        }
        if let Some(limit) = match slow {
            Status::Critical => thresholds.critical,
            Status::Warning => thresholds.warning,
            _ => None,
        } {
            let _ = write!(
                summary,
                "; took {}, slower than {}",
                human_duration(latency),
                human_duration(limit)
            );
        }
        let mut obs = Observation::new(slow.worst(self.findings.status), summary, at)
            .with_latency(latency)
            .with_metric("latency", latency.as_secs_f64(), "s")
            .with_metric("query_time", self.query_time.as_secs_f64(), "s");
        if let Some(t) = connect_time {
            obs = obs.with_metric("connect_time", t.as_secs_f64(), "s");
        }
        let mut reading = self.reading;
        for (name, value, unit) in self.metrics {
            let whole = (value >= 0.0).then_some(value as u64);
            match name {
                "rows" => reading.rows = whole,
                "connections_used" | "connected_clients" | "threads_connected" => {
                    reading.connections_used = whole
                }
                "connections_max" | "max_connections" => reading.connections_max = whole,
                "replication_lag" => reading.replication_lag_seconds = Some(value),
                "database_size" | "used_memory" => reading.size_bytes = whole,
                _ => {}
            }
            obs = obs.with_metric(name, value, unit);
        }
        obs.with_reading(Reading::Database(reading))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(columns: &[&str], rows: &[&[Option<&str>]]) -> ResultSet {
        ResultSet {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|v| v.map(str::to_owned)).collect())
                .collect(),
        }
    }

    fn expect(text: &str) -> Expectation {
        let e: Expectation = toml::from_str(text).unwrap();
        e.validate("expect").unwrap();
        e
    }

    #[test]
    fn rows_at_least() {
        let e = expect("rows_at_least = 2");
        assert!(
            e.evaluate(&rs(&["a"], &[&[Some("1")], &[Some("2")]]))
                .is_ok()
        );
        let f = e.evaluate(&rs(&["a"], &[&[Some("1")]])).unwrap_err();
        assert_eq!(f.stage, Stage::Expectation);
        assert_eq!(f.status, Status::Critical);
        assert_eq!(f.summary(), "expectation: 1 row, expected at least 2");
    }

    #[test]
    fn column_equals_below_above() {
        let r = rs(&["state", "queued"], &[&[Some("ready"), Some("7")]]);
        assert!(
            expect("column = \"state\"\nequals = \"ready\"")
                .evaluate(&r)
                .is_ok()
        );
        let f = expect("column = \"state\"\nequals = \"down\"\nseverity = \"warning\"")
            .evaluate(&r)
            .unwrap_err();
        assert_eq!(f.status, Status::Warning);
        assert_eq!(f.detail, "state is \"ready\", expected \"down\"");
        assert!(
            expect("column = \"queued\"\nbelow = 10")
                .evaluate(&r)
                .is_ok()
        );
        let f = expect("column = \"queued\"\nbelow = 5")
            .evaluate(&r)
            .unwrap_err();
        assert_eq!(f.detail, "queued is 7, expected below 5");
        let f = expect("column = \"queued\"\nabove = 7.5")
            .evaluate(&r)
            .unwrap_err();
        assert_eq!(f.detail, "queued is 7, expected above 7.5");
        let f = expect("column = \"state\"\nbelow = 5")
            .evaluate(&r)
            .unwrap_err();
        assert_eq!(f.detail, "state is \"ready\", not a number");
        let f = expect("column = \"nope\"\nequals = \"x\"")
            .evaluate(&r)
            .unwrap_err();
        assert!(f.detail.contains("no column `nope`"), "{}", f.detail);
        // No column: the first one.
        assert!(expect("equals = \"ready\"").evaluate(&r).is_ok());
        let f = expect("equals = \"x\"")
            .evaluate(&rs(&["a"], &[]))
            .unwrap_err();
        assert_eq!(f.detail, "the result has no rows");
        let f = expect("equals = \"x\"")
            .evaluate(&rs(&["a"], &[&[None]]))
            .unwrap_err();
        assert_eq!(f.detail, "the value is \"NULL\", expected \"x\"");
    }

    #[test]
    fn invalid_expectations() {
        for bad in [
            "",
            "column = \"a\"",
            "column = \" \"\nequals = \"x\"",
            "below = 1\nabove = 2",
            "rows_at_least = 1\nseverity = \"fatal\"",
        ] {
            let parsed: std::result::Result<Expectation, _> = toml::from_str(bad);
            if let Ok(e) = parsed {
                assert!(e.validate("expect").is_err(), "{bad:?} should be invalid");
            }
        }
        assert!(toml::from_str::<Expectation>("rows = 1").is_err());
    }

    #[test]
    fn limits() {
        let l = Limits {
            warning: Some(80.0),
            critical: Some(95.0),
        };
        assert_eq!(l.status(50.0), Status::Ok);
        assert_eq!(l.status(80.0), Status::Warning);
        assert_eq!(l.status(99.0), Status::Critical);
        assert!(
            Limits {
                warning: Some(2.0),
                critical: Some(1.0)
            }
            .validate("x")
            .is_err()
        );
    }

    /// The `[[checks]]` examples in the probes' module docs are valid configs.
    #[test]
    fn budget_leaves_room_for_the_monitor() {
        assert_eq!(budget(Duration::from_secs(5)), Duration::from_millis(4750));
        assert_eq!(budget(Duration::from_secs(1)), Duration::from_millis(900));
    }

    #[test]
    fn failure_summaries_name_the_stage() {
        let f = Failure::timed_out(Stage::Query, Duration::from_millis(900));
        assert_eq!(f.summary(), "query: timed out after 900 ms");
        let e = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(
            connect_error("127.0.0.1:5432", &e).summary(),
            "connect: connection refused by 127.0.0.1:5432"
        );
    }
}
