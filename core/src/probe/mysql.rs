//! The `mysql` probe: logs in to MariaDB or MySQL, runs a query and checks what it returns.
//!
//! ```toml
//! [[checks]]
//! name = "library catalogue database"
//! type = "mysql"
//! host = "10.0.0.21"
//! user = "monitor"
//! password = "${LIBRARY_DB_PASSWORD}"
//! database = "catalogue"
//! query = "SELECT COUNT(*) AS pending FROM loans WHERE state = 'pending'"
//! expect = { column = "pending", below = 500, severity = "warning" }
//! latency = { warning = "200ms", critical = "2s" }
//! connections = { warning = 80, critical = 95 }           # % of max_connections in use
//! replication_lag = { warning = "30s", critical = "5m" }  # on a replica
//! interval = "5s"
//! ```
//!
//! One connection is kept between checks and re-established when it fails; the summary names
//! the stage that failed (`resolve`, `connect`, `tls`, `auth`, `query`, `expectation`). The query
//! runs under a server-side statement time limit too (`max_statement_time` on MariaDB,
//! `max_execution_time` on MySQL).

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use mysql_async::prelude::Queryable as _;
use mysql_async::{Conn, OptsBuilder, Row, SslOpts, Value};
use serde::Deserialize;
use tokio::time::Instant;

use crate::config::{Secret, expand_env};
use crate::error::{Error, Result};
use crate::probe::database::{
    self, Answer, Expectation, Failure, Findings, Limits, ResultSet, Stage, TlsMode,
    validate_endpoint,
};
use crate::probe::reading::{DatabaseReading, DatabaseRole};
use crate::probe::{CheckContext, LatencyThresholds, Observation, Probe, Status, human_duration};

fn yes() -> bool {
    true
}

fn default_port() -> u32 {
    3306
}

fn default_query() -> String {
    "SELECT 1".to_owned()
}

fn default_tls() -> TlsMode {
    TlsMode::Disable
}

/// MySQL's "access denied" at login.
const ER_ACCESS_DENIED: u16 = 1045;
/// MariaDB's `max_statement_time` exceeded.
const ER_STATEMENT_TIMEOUT: u16 = 1969;
/// MySQL's `max_execution_time` exceeded.
const ER_QUERY_TIMEOUT: u16 = 3024;
/// "Unknown system variable".
const ER_UNKNOWN_SYSTEM_VARIABLE: u16 = 1193;

/// Configuration of the `mysql` probe (MariaDB and MySQL).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MysqlConfig {
    /// The server's host name or IP address; `${VAR}` is expanded. Give this or `socket`.
    #[serde(default)]
    pub host: Option<String>,
    /// The port (default 3306).
    #[serde(default = "default_port")]
    pub port: u32,
    /// A Unix socket path (such as `/run/mysqld/mysqld.sock`) instead of `host`.
    #[serde(default)]
    pub socket: Option<PathBuf>,
    /// The database to use (default: none).
    #[serde(default)]
    pub database: Option<String>,
    /// The user to log in as.
    pub user: String,
    /// The password, usually `"${ENV_VAR}"`; never shown in observations or logs.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Encryption: `"disable"` (default), `"require"` (certificate not verified) or
    /// `"verify-full"`.
    #[serde(default = "default_tls")]
    pub tls: TlsMode,
    /// A PEM file of extra CA certificates trusted with `tls = "verify-full"`.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// The query (default `SELECT 1`); its first result set is what `expect` looks at.
    #[serde(default = "default_query")]
    pub query: String,
    /// The server-side statement time limit (default: the check's timeout).
    #[serde(default, with = "crate::config::opt_duration")]
    pub statement_timeout: Option<Duration>,
    /// What the result must show; a violation is Critical unless `severity = "warning"`.
    #[serde(default)]
    pub expect: Option<Expectation>,
    /// Thresholds on the time the whole check takes.
    #[serde(default)]
    pub latency: LatencyThresholds,
    /// Percent of `max_connections` in use (`Threads_connected`) at which to warn / go critical.
    #[serde(default)]
    pub connections: Option<Limits>,
    /// `Seconds_Behind_Master` / `Seconds_Behind_Source` thresholds on a replica; a stopped
    /// replication thread is Critical. Ignored on a server that replicates from nobody. The
    /// user needs `REPLICATION CLIENT` (MySQL) or `SLAVE MONITOR` (MariaDB 10.5+).
    #[serde(default)]
    pub replication_lag: Option<LatencyThresholds>,
    /// Keep the connection between checks (default true); false logs in for every check.
    #[serde(default = "yes")]
    pub keep_connection: bool,
}

impl MysqlConfig {
    /// A config for `user` on `host` with every other key at its default.
    pub fn new(host: impl Into<String>, user: impl Into<String>) -> Self {
        Self {
            host: Some(host.into()),
            port: default_port(),
            socket: None,
            database: None,
            user: user.into(),
            password: None,
            tls: default_tls(),
            tls_ca_file: None,
            query: default_query(),
            statement_timeout: None,
            expect: None,
            latency: LatencyThresholds::default(),
            connections: None,
            replication_lag: None,
            keep_connection: true,
        }
    }

    /// Checks the values, naming the offending field in the error. `${VAR}` references are
    /// expanded by [`MysqlConfig::build`], not here.
    pub fn validate(&self) -> Result<()> {
        validate_endpoint(self.host.as_deref(), self.socket.as_deref(), self.port)?;
        if self.user.trim().is_empty() {
            return Err(Error::invalid("user", "the user is empty"));
        }
        if self.query.trim().is_empty() {
            return Err(Error::invalid("query", "the query is empty"));
        }
        if self.tls == TlsMode::Prefer {
            return Err(Error::invalid(
                "tls",
                "use \"disable\", \"require\" or \"verify-full\"",
            ));
        }
        if self.socket.is_some() && self.tls != TlsMode::Disable {
            return Err(Error::invalid(
                "tls",
                "a Unix socket connection is not encrypted; use `host` for TLS",
            ));
        }
        if self.tls_ca_file.is_some() && self.tls != TlsMode::VerifyFull {
            return Err(Error::invalid(
                "tls_ca_file",
                "only used with tls = \"verify-full\"",
            ));
        }
        if self
            .statement_timeout
            .is_some_and(|t| t < Duration::from_millis(1))
        {
            return Err(Error::invalid("statement_timeout", "must be at least 1 ms"));
        }
        if let Some(e) = &self.expect {
            e.validate("expect")?;
        }
        self.latency.validate("latency")?;
        if let Some(c) = &self.connections {
            c.validate("connections")?;
        }
        if let Some(r) = &self.replication_lag {
            r.validate("replication_lag")?;
        }
        Ok(())
    }

    /// Builds the probe, expanding `${VAR}` in the host and password.
    pub fn build(&self) -> Result<MysqlProbe> {
        self.validate()?;
        crate::http_client::install_crypto_provider();
        let port = self.port as u16;
        let user = self.user.trim().to_owned();
        let mut opts = OptsBuilder::default()
            .user(Some(user.clone()))
            .db_name(self.database.clone())
            .tcp_nodelay(true)
            .prefer_socket(false)
            .stmt_cache_size(0);
        if let Some(p) = &self.password {
            opts = opts.pass(Some(p.expose()?));
        }
        let (endpoint, target) = match (&self.host, &self.socket) {
            (Some(host), _) => {
                let host = expand_env(host)?.trim().to_owned();
                if host.is_empty() {
                    return Err(Error::invalid("host", "the host is empty"));
                }
                let shown = if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                };
                (Endpoint::Tcp { host, port }, shown)
            }
            (None, Some(path)) => {
                opts = opts.socket(Some(path.to_string_lossy().into_owned()));
                (Endpoint::Socket, path.display().to_string())
            }
            (None, None) => unreachable!("validated"),
        };
        let target = match &self.database {
            Some(db) => format!("{target}/{db}"),
            None => target,
        };
        let ssl = match self.tls {
            TlsMode::Disable | TlsMode::Prefer => None,
            TlsMode::Require => Some(
                SslOpts::default()
                    .with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true),
            ),
            TlsMode::VerifyFull => {
                let mut ssl = SslOpts::default();
                if let Some(ca) = &self.tls_ca_file {
                    if !ca.is_file() {
                        return Err(Error::invalid(
                            "tls_ca_file",
                            format!("{}: no such file", ca.display()),
                        ));
                    }
                    ssl = ssl.with_root_certs(vec![ca.clone().into()]);
                }
                Some(ssl)
            }
        };
        Ok(MysqlProbe {
            opts,
            ssl,
            endpoint,
            target,
            user,
            query: self.query.clone(),
            statement_timeout: self.statement_timeout,
            expect: self.expect.clone(),
            latency: self.latency,
            connections: self.connections,
            replication_lag: self.replication_lag,
            keep_connection: self.keep_connection,
            conn: tokio::sync::Mutex::new(None),
        })
    }
}

#[derive(Debug)]
enum Endpoint {
    Tcp { host: String, port: u16 },
    Socket,
}

/// The `mysql` probe. Build it with [`MysqlConfig::build`].
pub struct MysqlProbe {
    /// Holds the password; never printed.
    opts: OptsBuilder,
    ssl: Option<SslOpts>,
    endpoint: Endpoint,
    target: String,
    user: String,
    query: String,
    statement_timeout: Option<Duration>,
    expect: Option<Expectation>,
    latency: LatencyThresholds,
    connections: Option<Limits>,
    replication_lag: Option<LatencyThresholds>,
    keep_connection: bool,
    conn: tokio::sync::Mutex<Option<Conn>>,
}

impl fmt::Debug for MysqlProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MysqlProbe")
            .field("target", &self.target)
            .field("user", &self.user)
            .field("tls", &self.ssl.is_some())
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

struct Outcome {
    rows: usize,
    query_time: Duration,
    findings: Findings,
    metrics: Vec<(&'static str, f64, &'static str)>,
    /// The replication role and state, when the check looked.
    role: Option<DatabaseRole>,
    replication_running: Option<bool>,
}

/// Whether an error leaves the connection unusable.
fn is_connection_error(e: &mysql_async::Error) -> bool {
    !matches!(e, mysql_async::Error::Server(_))
}

impl MysqlProbe {
    async fn connect(
        &self,
        deadline: Instant,
        budget: Duration,
    ) -> std::result::Result<Conn, Failure> {
        let mut opts = self.opts.clone();
        if let Endpoint::Tcp { host, port } = &self.endpoint {
            let addrs = database::resolve(host, *port, budget).await?;
            let ip: IpAddr = addrs[0].ip();
            opts = opts.ip_or_hostname(ip.to_string()).tcp_port(*port);
            if let Some(ssl) = &self.ssl {
                let mut ssl = ssl.clone();
                if host.parse::<IpAddr>().is_err() {
                    ssl = ssl.with_danger_tls_hostname_override(Some(host.clone()));
                }
                opts = opts.ssl_opts(Some(ssl));
            }
        }
        let mut conn = match tokio::time::timeout_at(deadline, Conn::new(opts)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(self.login_failure(&e)),
            Err(_) => return Err(Failure::timed_out(Stage::Connect, budget)),
        };
        // The server-side limit: MariaDB's variable first, then MySQL's.
        let limit = self.statement_timeout.unwrap_or(budget);
        let mariadb = format!(
            "SET SESSION max_statement_time = {:.3}",
            limit.as_secs_f64()
        );
        match tokio::time::timeout_at(deadline, conn.query_drop(mariadb)).await {
            Ok(Ok(())) => {}
            Ok(Err(mysql_async::Error::Server(e))) if e.code == ER_UNKNOWN_SYSTEM_VARIABLE => {
                let mysql = format!(
                    "SET SESSION max_execution_time = {}",
                    limit.as_millis().max(1)
                );
                if let Ok(Err(e)) = tokio::time::timeout_at(deadline, conn.query_drop(mysql)).await
                    && is_connection_error(&e)
                {
                    return Err(self.query_failure(&e, limit));
                }
            }
            Ok(Err(e)) => {
                if is_connection_error(&e) {
                    return Err(self.query_failure(&e, limit));
                }
            }
            Err(_) => return Err(Failure::timed_out(Stage::Query, budget)),
        }
        Ok(conn)
    }

    fn login_failure(&self, e: &mysql_async::Error) -> Failure {
        use mysql_async::{Error as E, IoError};
        match e {
            E::Server(s) if s.code == ER_ACCESS_DENIED => Failure::critical(
                Stage::Auth,
                format!("authentication failed for user \"{}\"", self.user),
            ),
            E::Server(s) => {
                Failure::critical(Stage::Auth, format!("{} (error {})", s.message, s.code))
            }
            E::Io(IoError::Tls(t)) => Failure::critical(Stage::Tls, t.to_string()),
            E::Io(IoError::Io(io)) => database::connect_error(&self.target, io),
            other => Failure::critical(Stage::Connect, other.to_string()),
        }
    }

    fn query_failure(&self, e: &mysql_async::Error, limit: Duration) -> Failure {
        use mysql_async::{DriverError, Error as E};
        match e {
            E::Server(s) if s.code == ER_STATEMENT_TIMEOUT || s.code == ER_QUERY_TIMEOUT => {
                Failure::critical(
                    Stage::Query,
                    format!(
                        "timed out after {} (server statement limit)",
                        human_duration(limit)
                    ),
                )
            }
            E::Server(s) => {
                Failure::critical(Stage::Query, format!("{} (error {})", s.message, s.code))
            }
            E::Driver(DriverError::ConnectionClosed) => {
                Failure::critical(Stage::Query, "the server closed the connection")
            }
            other => Failure::critical(Stage::Query, other.to_string()),
        }
    }

    async fn rows(
        &self,
        conn: &mut Conn,
        sql: &str,
        limit: Duration,
    ) -> std::result::Result<ResultSet, (Failure, bool)> {
        let rows: Vec<Row> = conn
            .query(sql)
            .await
            .map_err(|e| (self.query_failure(&e, limit), is_connection_error(&e)))?;
        let mut result = ResultSet::default();
        if let Some(first) = rows.first() {
            result.columns = first
                .columns_ref()
                .iter()
                .map(|c| c.name_str().into_owned())
                .collect();
        }
        for row in &rows {
            result.rows.push(
                (0..row.len())
                    .map(|i| row.as_ref(i).and_then(text))
                    .collect(),
            );
        }
        Ok(result)
    }

    async fn run(
        &self,
        conn: &mut Conn,
        budget: Duration,
    ) -> std::result::Result<Outcome, (Failure, bool)> {
        let limit = self.statement_timeout.unwrap_or(budget);
        let started = Instant::now();
        let result = self.rows(conn, &self.query, limit).await?;
        let query_time = started.elapsed();
        if let Some(e) = &self.expect {
            e.evaluate(&result).map_err(|f| (f, false))?;
        }
        let mut outcome = Outcome {
            rows: result.rows.len(),
            query_time,
            findings: Findings::default(),
            metrics: Vec::new(),
            role: None,
            replication_running: None,
        };
        if let Some(limits) = &self.connections {
            let status = self
                .rows(conn, "SHOW GLOBAL STATUS LIKE 'Threads_connected'", limit)
                .await?;
            let max = self.rows(conn, "SELECT @@max_connections", limit).await?;
            let used = status
                .rows
                .first()
                .and_then(|r| r.get(1))
                .and_then(|v| v.as_deref())
                .and_then(|v| v.parse::<f64>().ok());
            let max = max
                .rows
                .first()
                .and_then(|r| r.first())
                .and_then(|v| v.as_deref())
                .and_then(|v| v.parse::<f64>().ok());
            if let (Some(used), Some(max)) = (used, max)
                && max > 0.0
            {
                let pct = used / max * 100.0;
                outcome.metrics.push(("threads_connected", used, ""));
                outcome.metrics.push(("max_connections", max, ""));
                outcome.metrics.push(("connections_percent", pct, "%"));
                outcome.findings.add(
                    limits.status(pct),
                    format!("{used} of {max} connections in use ({pct:.0} %)"),
                );
            }
        }
        if let Some(lag_limits) = &self.replication_lag {
            let r = match self.rows(conn, "SHOW REPLICA STATUS", limit).await {
                Ok(r) => r,
                Err((_, false)) => self.rows(conn, "SHOW SLAVE STATUS", limit).await?,
                Err(e) => return Err(e),
            };
            outcome.role = Some(if r.rows.is_empty() {
                DatabaseRole::Primary
            } else {
                DatabaseRole::Replica
            });
            if !r.rows.is_empty() {
                let col = |names: &[&str]| -> Option<String> {
                    names.iter().find_map(|n| {
                        let i = r.columns.iter().position(|c| c == n)?;
                        r.rows[0].get(i).cloned().flatten()
                    })
                };
                let io = col(&["Slave_IO_Running", "Replica_IO_Running"]).unwrap_or_default();
                let sql = col(&["Slave_SQL_Running", "Replica_SQL_Running"]).unwrap_or_default();
                let lag = col(&["Seconds_Behind_Master", "Seconds_Behind_Source"])
                    .and_then(|v| v.parse::<f64>().ok());
                outcome.replication_running = Some(io == "Yes" && sql == "Yes");
                match lag {
                    Some(lag) if io == "Yes" && sql == "Yes" => {
                        outcome.metrics.push(("replication_lag", lag, "s"));
                        outcome.findings.add(
                            lag_limits.status(Duration::from_secs_f64(lag.max(0.0))),
                            format!(
                                "replica {} behind",
                                human_duration(Duration::from_secs_f64(lag.max(0.0)))
                            ),
                        );
                    }
                    _ => outcome.findings.add(
                        Status::Critical,
                        format!("replication is not running (IO thread: {io}, SQL thread: {sql})"),
                    ),
                }
            }
        }
        Ok(outcome)
    }
}

/// A value as a person reads it.
fn text(v: &Value) -> Option<String> {
    Some(match v {
        Value::NULL => return None,
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Date(y, mo, d, h, mi, s, us) => {
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
        }
        Value::Time(neg, d, h, mi, s, us) => format!(
            "{}{}:{mi:02}:{s:02}.{us:06}",
            if *neg { "-" } else { "" },
            u32::from(*h) + d * 24
        ),
    })
}

#[async_trait]
impl Probe for MysqlProbe {
    async fn check(&self, cx: &CheckContext) -> Observation {
        let at = cx.now();
        let start = Instant::now();
        let budget = database::budget(cx.timeout);
        let deadline = start + budget;
        let mut slot = self.conn.lock().await;
        // Taken out while in use: a check cancelled half-way leaves no half-used connection.
        let mut conn = slot.take();
        let mut connect_time = None;
        let outcome = loop {
            let reused = conn.is_some();
            let mut c = match conn.take() {
                Some(c) => c,
                None => {
                    let t = Instant::now();
                    match self.connect(deadline, budget).await {
                        Ok(c) => {
                            connect_time = Some(t.elapsed());
                            c
                        }
                        Err(f) => return f.observation(at, start.elapsed()),
                    }
                }
            };
            match tokio::time::timeout_at(deadline, self.run(&mut c, budget)).await {
                Err(_) => {
                    return Failure::timed_out(Stage::Query, budget)
                        .observation(at, start.elapsed());
                }
                Ok(Ok(outcome)) => {
                    if self.keep_connection {
                        *slot = Some(c);
                    } else {
                        let _ = tokio::time::timeout_at(deadline, c.disconnect()).await;
                    }
                    break outcome;
                }
                Ok(Err((f, broken))) => {
                    // A kept connection that died since the last check (a restarted server,
                    // wait_timeout) is redialled once; the new attempt names the real stage.
                    if broken && reused {
                        continue;
                    }
                    if self.keep_connection && !broken {
                        *slot = Some(c);
                    }
                    return f.observation(at, start.elapsed());
                }
            }
        };
        drop(slot);
        let latency = start.elapsed();
        let head = format!(
            "query ok in {}, {} row{}",
            human_duration(outcome.query_time),
            outcome.rows,
            if outcome.rows == 1 { "" } else { "s" }
        );
        let mut metrics = outcome.metrics;
        metrics.push(("rows", outcome.rows as f64, ""));
        Answer {
            query_time: outcome.query_time,
            findings: outcome.findings,
            metrics,
            reading: DatabaseReading {
                engine: "mysql".into(),
                role: outcome.role,
                replication_running: outcome.replication_running,
                ..Default::default()
            },
        }
        .observation(head, at, latency, &self.latency, connect_time)
    }

    fn kind(&self) -> &str {
        "mysql"
    }

    fn target(&self) -> String {
        self.target.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_field(c: &MysqlConfig) -> String {
        match c.validate().unwrap_err() {
            Error::Invalid { what, .. } => what,
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn defaults_and_target() {
        let c: MysqlConfig = toml::from_str("host = \"10.0.0.21\"\nuser = \"monitor\"").unwrap();
        assert_eq!(c, MysqlConfig::new("10.0.0.21", "monitor"));
        let p = c.build().unwrap();
        assert_eq!((p.kind(), p.target().as_str()), ("mysql", "10.0.0.21:3306"));
        let c: MysqlConfig =
            toml::from_str("socket = \"/run/mysqld/mysqld.sock\"\nuser = \"u\"\ndatabase = \"d\"")
                .unwrap();
        assert_eq!(c.build().unwrap().target(), "/run/mysqld/mysqld.sock/d");
    }

    #[test]
    fn validation_names_the_field() {
        let ok = MysqlConfig::new("db", "u");
        let mut c = ok.clone();
        c.host = None;
        assert_eq!(invalid_field(&c), "host");
        let mut c = ok.clone();
        c.socket = Some("/run/mysqld/mysqld.sock".into());
        assert_eq!(invalid_field(&c), "socket");
        let mut c = ok.clone();
        c.tls = TlsMode::Prefer;
        assert_eq!(invalid_field(&c), "tls");
        let mut c = ok.clone();
        c.port = 0;
        assert_eq!(invalid_field(&c), "port");
        let mut c = ok.clone();
        c.tls_ca_file = Some("/etc/ca.pem".into());
        assert_eq!(invalid_field(&c), "tls_ca_file");
        let mut c = ok.clone();
        c.connections = Some(Limits {
            warning: Some(90.0),
            critical: Some(80.0),
        });
        assert_eq!(invalid_field(&c), "connections");
        assert!(
            toml::from_str::<MysqlConfig>("host = \"a\"\nuser = \"u\"\nquerry = \"x\"").is_err()
        );
    }

    #[test]
    fn password_never_printed() {
        let mut c = MysqlConfig::new("db", "u");
        c.password = Some(Secret::new("my-secret-4711"));
        let p = c.build().unwrap();
        let shown = format!("{p:?} {c:?} {}", p.target());
        assert!(!shown.contains("my-secret-4711"), "{shown}");
    }

    #[test]
    fn values_as_text() {
        assert_eq!(text(&Value::NULL), None);
        assert_eq!(text(&Value::Bytes(b"ok".to_vec())).as_deref(), Some("ok"));
        assert_eq!(text(&Value::Int(-3)).as_deref(), Some("-3"));
        assert_eq!(
            text(&Value::Time(false, 1, 2, 3, 4, 0)).as_deref(),
            Some("26:03:04.000000")
        );
    }

    #[tokio::test]
    async fn refused_port_is_a_connect_failure() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut c = MysqlConfig::new("127.0.0.1", "u");
        c.port = u32::from(port);
        let obs = c
            .build()
            .unwrap()
            .check(&CheckContext::for_test("my"))
            .await;
        assert_eq!(obs.status, Status::Critical);
        assert!(obs.summary.starts_with("connect: "), "{}", obs.summary);
        assert!(obs.summary.contains("refused"), "{}", obs.summary);
    }

    #[test]
    fn built_through_the_probe_config_enum() {
        let c: crate::probe::ProbeConfig =
            toml::from_str("type = \"mysql\"\nhost = \"db\"\nuser = \"u\"\ndatabase = \"lib\"")
                .unwrap();
        c.validate().unwrap();
        let p = c.build(&crate::http_client::HttpClients::new()).unwrap();
        assert_eq!((p.kind(), p.target().as_str()), ("mysql", "db:3306/lib"));
    }
}
