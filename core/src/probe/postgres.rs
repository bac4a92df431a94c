//! The `postgres` probe: logs in to PostgreSQL, runs a query and checks what it returns.
//!
//! ```toml
//! [[checks]]
//! name = "student information system database"
//! type = "postgres"
//! host = "10.0.0.20"
//! user = "monitor"
//! password = "${SIS_DB_PASSWORD}"
//! database = "sis"
//! query = "SELECT count(*) AS active FROM sessions WHERE seen > now() - interval '5 min'"
//! expect = { column = "active", above = 0, severity = "warning" }
//! latency = { warning = "200ms", critical = "2s" }
//! connections = { warning = 80, critical = 95 }          # % of max_connections in use
//! replication_lag = { warning = "30s", critical = "5m" } # on a standby
//! database_size = true                                   # size and growth per hour
//! interval = "5s"
//! ```
//!
//! One connection is kept between checks and re-established when it fails, so a 5-second
//! cadence does not pay for TCP, TLS and login every time; a dead server is still found at the
//! next check, and the summary names the stage that failed (`resolve`, `connect`, `tls`, `auth`,
//! `query`, `expectation`). The query runs with a server-side `statement_timeout` too.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{ChannelBinding, TlsConnect};
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::config::{Secret, expand_env};
use crate::error::{Error, Result};
use crate::http_client::AcceptAnyCertificate;
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
    5432
}

fn default_query() -> String {
    "SELECT 1".to_owned()
}

/// Configuration of the `postgres` probe.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// The server's host name or IP address; `${VAR}` is expanded. Give this or `socket`.
    #[serde(default)]
    pub host: Option<String>,
    /// The port (default 5432).
    #[serde(default = "default_port")]
    pub port: u32,
    /// A Unix socket directory (such as `/var/run/postgresql`) instead of `host`.
    #[serde(default)]
    pub socket: Option<PathBuf>,
    /// The database (default: the user's name).
    #[serde(default)]
    pub database: Option<String>,
    /// The user to log in as.
    pub user: String,
    /// The password, usually `"${ENV_VAR}"`; never shown in observations or logs.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Encryption: `"disable"`, `"prefer"` (default), `"require"` or `"verify-full"`.
    #[serde(default = "default_tls")]
    pub tls: TlsMode,
    /// A PEM file of extra CA certificates trusted with `tls = "verify-full"`.
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// The query (default `SELECT 1`); its rows are what `expect` looks at.
    #[serde(default = "default_query")]
    pub query: String,
    /// The server-side `statement_timeout` (default: the check's timeout).
    #[serde(default, with = "crate::config::opt_duration")]
    pub statement_timeout: Option<Duration>,
    /// What the result must show; a violation is Critical unless `severity = "warning"`.
    #[serde(default)]
    pub expect: Option<Expectation>,
    /// Thresholds on the time the whole check takes.
    #[serde(default)]
    pub latency: LatencyThresholds,
    /// Percent of `max_connections` in use at which to warn / go critical.
    #[serde(default)]
    pub connections: Option<Limits>,
    /// Replay lag thresholds when the server is a standby (ignored on a primary).
    #[serde(default)]
    pub replication_lag: Option<LatencyThresholds>,
    /// Report the database's size and its growth per hour.
    #[serde(default)]
    pub database_size: bool,
    /// Growth per hour, in bytes, at which to warn / go critical (needs `database_size`).
    #[serde(default)]
    pub growth_per_hour: Option<Limits>,
    /// Keep the connection between checks (default true); false logs in for every check.
    #[serde(default = "yes")]
    pub keep_connection: bool,
}

fn default_tls() -> TlsMode {
    TlsMode::Prefer
}

impl PostgresConfig {
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
            database_size: false,
            growth_per_hour: None,
            keep_connection: true,
        }
    }

    /// Checks the values, naming the offending field in the error. `${VAR}` references are
    /// expanded by [`PostgresConfig::build`], not here.
    pub fn validate(&self) -> Result<()> {
        validate_endpoint(self.host.as_deref(), self.socket.as_deref(), self.port)?;
        if self.user.trim().is_empty() {
            return Err(Error::invalid("user", "the user is empty"));
        }
        if self.query.trim().is_empty() {
            return Err(Error::invalid("query", "the query is empty"));
        }
        if self.socket.is_some() && self.tls != TlsMode::Disable && self.tls != TlsMode::Prefer {
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
        if let Some(g) = &self.growth_per_hour {
            if !self.database_size {
                return Err(Error::invalid(
                    "growth_per_hour",
                    "needs `database_size = true`",
                ));
            }
            g.validate("growth_per_hour")?;
        }
        Ok(())
    }

    /// Builds the probe, expanding `${VAR}` in the host and password.
    pub fn build(&self) -> Result<PostgresProbe> {
        self.validate()?;
        let mut pg = tokio_postgres::Config::new();
        pg.user(self.user.trim());
        pg.dbname(self.database.as_deref().unwrap_or(self.user.trim()));
        pg.application_name("forewarn");
        if let Some(p) = &self.password {
            pg.password(p.expose()?);
        }
        let database = self.database.as_deref().unwrap_or(self.user.trim());
        let port = self.port as u16;
        let (endpoint, target) = match (&self.host, &self.socket) {
            (Some(host), _) => {
                let host = expand_env(host)?.trim().to_owned();
                if host.is_empty() {
                    return Err(Error::invalid("host", "the host is empty"));
                }
                let shown = if host.contains(':') {
                    format!("[{host}]:{port}/{database}")
                } else {
                    format!("{host}:{port}/{database}")
                };
                (Endpoint::Tcp { host, port }, shown)
            }
            (None, Some(dir)) => {
                let path = if dir.is_dir() || !dir.exists() {
                    dir.join(format!(".s.PGSQL.{port}"))
                } else {
                    dir.clone()
                };
                let shown = format!("{}/{database}", path.display());
                (Endpoint::Socket(path), shown)
            }
            (None, None) => unreachable!("validated"),
        };
        let tls = match self.tls {
            TlsMode::Disable => None,
            TlsMode::Prefer | TlsMode::Require => Some(tls_config(false, None)?),
            TlsMode::VerifyFull => Some(tls_config(true, self.tls_ca_file.as_deref())?),
        };
        Ok(PostgresProbe {
            pg,
            endpoint,
            target,
            user: self.user.trim().to_owned(),
            tls_mode: self.tls,
            tls,
            query: self.query.clone(),
            statement_timeout: self.statement_timeout,
            expect: self.expect.clone(),
            latency: self.latency,
            connections: self.connections,
            replication_lag: self.replication_lag,
            database_size: self.database_size,
            growth_per_hour: self.growth_per_hour,
            keep_connection: self.keep_connection,
            conn: tokio::sync::Mutex::new(None),
            last_size: parking_lot::Mutex::new(None),
        })
    }
}

/// The rustls client configuration for `verify` (public roots plus `ca_file`) or for
/// encryption without verification (libpq's `prefer` and `require`).
pub(crate) fn tls_config(
    verify: bool,
    ca_file: Option<&std::path::Path>,
) -> Result<Arc<rustls::ClientConfig>> {
    crate::http_client::install_crypto_provider();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid("tls", e.to_string()))?;
    let config = if verify {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = ca_file {
            use rustls::pki_types::pem::PemObject as _;
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| Error::invalid("tls_ca_file", format!("{}: {e}", path.display())))?;
            let mut added = 0;
            for cert in certs {
                let cert = cert.map_err(|e| {
                    Error::invalid("tls_ca_file", format!("{}: {e}", path.display()))
                })?;
                roots.add(cert).map_err(|e| {
                    Error::invalid("tls_ca_file", format!("{}: {e}", path.display()))
                })?;
                added += 1;
            }
            if added == 0 {
                return Err(Error::invalid(
                    "tls_ca_file",
                    format!("{}: no certificates", path.display()),
                ));
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate::new(&provider)))
            .with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// tokio-postgres' TLS hook, over tokio-rustls.
pub(crate) struct RustlsConnect {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) host: String,
}

/// A TLS stream handed to tokio-postgres.
pub(crate) struct RustlsStream<S = TcpStream>(tokio_rustls::client::TlsStream<S>);

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let name = rustls::pki_types::ServerName::try_from(self.host)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let stream = tokio_rustls::TlsConnector::from(self.config)
                .connect(name, stream)
                .await?;
            Ok(RustlsStream(stream))
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[derive(Debug)]
enum Endpoint {
    Tcp { host: String, port: u16 },
    Socket(PathBuf),
}

/// The `postgres` probe. Build it with [`PostgresConfig::build`].
pub struct PostgresProbe {
    /// Holds the password; never printed.
    pg: tokio_postgres::Config,
    endpoint: Endpoint,
    target: String,
    user: String,
    tls_mode: TlsMode,
    tls: Option<Arc<rustls::ClientConfig>>,
    query: String,
    statement_timeout: Option<Duration>,
    expect: Option<Expectation>,
    latency: LatencyThresholds,
    connections: Option<Limits>,
    replication_lag: Option<LatencyThresholds>,
    database_size: bool,
    growth_per_hour: Option<Limits>,
    keep_connection: bool,
    conn: tokio::sync::Mutex<Option<Client>>,
    last_size: parking_lot::Mutex<Option<(Instant, i64)>>,
}

impl fmt::Debug for PostgresProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresProbe")
            .field("target", &self.target)
            .field("user", &self.user)
            .field("tls", &self.tls_mode)
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

/// What a successful query and its extras found.
struct Outcome {
    rows: usize,
    query_time: Duration,
    findings: Findings,
    metrics: Vec<(&'static str, f64, &'static str)>,
    /// The replication role and state, when the check looked.
    role: Option<DatabaseRole>,
    replication_running: Option<bool>,
}

impl PostgresProbe {
    /// Opens a connection, naming the stage that failed.
    async fn connect(
        &self,
        deadline: Instant,
        budget: Duration,
    ) -> std::result::Result<Client, Failure> {
        let mut pg = self.pg.clone();
        let statement_timeout = self.statement_timeout.unwrap_or(budget);
        pg.options(format!(
            "-c statement_timeout={}",
            statement_timeout.as_millis().max(1)
        ));
        let timed_out = |stage| Failure::timed_out(stage, budget);
        match &self.endpoint {
            Endpoint::Socket(path) => {
                let stream =
                    match tokio::time::timeout_at(deadline, tokio::net::UnixStream::connect(path))
                        .await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            return Err(database::connect_error(&path.display().to_string(), &e));
                        }
                        Err(_) => return Err(timed_out(Stage::Connect)),
                    };
                pg.ssl_mode(tokio_postgres::config::SslMode::Disable);
                let (client, connection) = match tokio::time::timeout_at(
                    deadline,
                    pg.connect_raw(stream, tokio_postgres::NoTls),
                )
                .await
                {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => return Err(self.login_failure(&e)),
                    Err(_) => return Err(timed_out(Stage::Auth)),
                };
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                Ok(client)
            }
            Endpoint::Tcp { host, port } => {
                let addrs = database::resolve(host, *port, budget).await?;
                let mut last = None;
                let mut stream = None;
                for addr in addrs {
                    match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
                        Ok(Ok(s)) => {
                            stream = Some(s);
                            break;
                        }
                        Ok(Err(e)) => last = Some(database::connect_error(&addr.to_string(), &e)),
                        Err(_) => return Err(timed_out(Stage::Connect)),
                    }
                }
                let Some(stream) = stream else {
                    return Err(last.unwrap_or_else(|| {
                        Failure::critical(Stage::Connect, format!("{host} has no address"))
                    }));
                };
                let _ = stream.set_nodelay(true);
                use tokio_postgres::config::SslMode;
                pg.ssl_mode(match self.tls_mode {
                    TlsMode::Disable => SslMode::Disable,
                    TlsMode::Prefer => SslMode::Prefer,
                    TlsMode::Require | TlsMode::VerifyFull => SslMode::Require,
                });
                let tls = RustlsConnect {
                    config: self.tls.clone().unwrap_or_else(|| {
                        // Never used with SslMode::Disable; any config will do.
                        Arc::new(
                            rustls::ClientConfig::builder_with_provider(Arc::new(
                                rustls::crypto::ring::default_provider(),
                            ))
                            .with_safe_default_protocol_versions()
                            .expect("ring supports the default versions")
                            .with_root_certificates(rustls::RootCertStore::empty())
                            .with_no_client_auth(),
                        )
                    }),
                    host: host.clone(),
                };
                let (client, connection) =
                    match tokio::time::timeout_at(deadline, pg.connect_raw(stream, tls)).await {
                        Ok(Ok(c)) => c,
                        Ok(Err(e)) => return Err(self.login_failure(&e)),
                        Err(_) => return Err(timed_out(Stage::Auth)),
                    };
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                Ok(client)
            }
        }
    }

    /// Classifies an error of the startup phase (TLS, login).
    fn login_failure(&self, e: &tokio_postgres::Error) -> Failure {
        if let Some(db) = e.as_db_error() {
            let code = db.code();
            if *code == SqlState::INVALID_PASSWORD
                || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            {
                return Failure::critical(
                    Stage::Auth,
                    format!("authentication failed for user \"{}\"", self.user),
                );
            }
            return Failure::critical(Stage::Auth, db.message().to_owned());
        }
        let text = e.to_string();
        if text.contains("TLS") {
            return Failure::critical(Stage::Tls, text);
        }
        if text.contains("password missing") {
            return Failure::critical(
                Stage::Auth,
                format!(
                    "the server asks for a password for user \"{}\"; none is configured",
                    self.user
                ),
            );
        }
        Failure::critical(Stage::Auth, text)
    }

    /// Classifies an error of the query phase.
    fn query_failure(&self, e: &tokio_postgres::Error, statement_timeout: Duration) -> Failure {
        if let Some(db) = e.as_db_error() {
            if *db.code() == SqlState::QUERY_CANCELED {
                return Failure::critical(
                    Stage::Query,
                    format!(
                        "timed out after {} (statement_timeout)",
                        human_duration(statement_timeout)
                    ),
                );
            }
            return Failure::critical(
                Stage::Query,
                format!("{} (SQLSTATE {})", db.message(), db.code().code()),
            );
        }
        if e.is_closed() {
            return Failure::critical(Stage::Query, "the server closed the connection");
        }
        Failure::critical(Stage::Query, e.to_string())
    }

    async fn simple(
        &self,
        client: &Client,
        sql: &str,
        statement_timeout: Duration,
    ) -> std::result::Result<ResultSet, Failure> {
        let messages = client
            .simple_query(sql)
            .await
            .map_err(|e| self.query_failure(&e, statement_timeout))?;
        let mut result = ResultSet::default();
        for m in messages {
            match m {
                SimpleQueryMessage::RowDescription(cols) => {
                    // A later statement's result replaces an earlier one's.
                    result.columns = cols.iter().map(|c| c.name().to_owned()).collect();
                    result.rows.clear();
                }
                SimpleQueryMessage::Row(row) => {
                    if result.columns.is_empty() {
                        result.columns =
                            row.columns().iter().map(|c| c.name().to_owned()).collect();
                    }
                    result.rows.push(
                        (0..row.len())
                            .map(|i| row.get(i).map(str::to_owned))
                            .collect(),
                    );
                }
                _ => {}
            }
        }
        Ok(result)
    }

    /// Runs the query and the extras on `client`.
    async fn run(
        &self,
        client: &Client,
        budget: Duration,
    ) -> std::result::Result<Outcome, Failure> {
        let statement_timeout = self.statement_timeout.unwrap_or(budget);
        let started = Instant::now();
        let result = self.simple(client, &self.query, statement_timeout).await?;
        let query_time = started.elapsed();
        if let Some(e) = &self.expect {
            e.evaluate(&result)?;
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
            let r = self
                .simple(
                    client,
                    "SELECT count(*), current_setting('max_connections') FROM pg_stat_activity \
                     WHERE backend_type = 'client backend'",
                    statement_timeout,
                )
                .await?;
            let used = number(&r, 0);
            let max = number(&r, 1);
            if let (Some(used), Some(max)) = (used, max)
                && max > 0.0
            {
                let pct = used / max * 100.0;
                outcome.metrics.push(("connections_used", used, ""));
                outcome.metrics.push(("connections_max", max, ""));
                outcome.metrics.push(("connections_percent", pct, "%"));
                outcome.findings.add(
                    limits.status(pct),
                    format!("{used} of {max} connections in use ({pct:.0} %)"),
                );
            }
        }
        if let Some(lag_limits) = &self.replication_lag {
            let r = self
                .simple(
                    client,
                    "SELECT pg_is_in_recovery(), CASE WHEN NOT pg_is_in_recovery() THEN 0 \
                     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
                     ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END",
                    statement_timeout,
                )
                .await?;
            let standby = r.rows.first().and_then(|row| row[0].as_deref()) == Some("t");
            outcome.role = Some(if standby {
                DatabaseRole::Replica
            } else {
                DatabaseRole::Primary
            });
            if standby && let Some(lag) = number(&r, 1) {
                let lag = lag.max(0.0);
                outcome.metrics.push(("replication_lag", lag, "s"));
                let status = lag_limits.status(Duration::from_secs_f64(lag));
                outcome.findings.add(
                    status,
                    format!(
                        "standby {} behind",
                        human_duration(Duration::from_secs_f64(lag))
                    ),
                );
            }
        }
        if self.database_size {
            let r = self
                .simple(
                    client,
                    "SELECT pg_database_size(current_database())",
                    statement_timeout,
                )
                .await?;
            if let Some(size) = number(&r, 0) {
                outcome.metrics.push(("database_size", size, "B"));
                let now = Instant::now();
                let previous = self.last_size.lock().replace((now, size as i64));
                if let Some((then, before)) = previous {
                    let hours = now.duration_since(then).as_secs_f64() / 3600.0;
                    if hours > 0.0 {
                        let growth = (size - before as f64) / hours;
                        outcome
                            .metrics
                            .push(("database_growth_per_hour", growth, "B"));
                        if let Some(limits) = &self.growth_per_hour {
                            let status = limits.status(growth);
                            if status != Status::Ok {
                                outcome.findings.add(
                                    status,
                                    format!("database growing {} per hour", human_bytes(growth)),
                                );
                            }
                        }
                    }
                }
            }
        }
        Ok(outcome)
    }
}

/// Column `i` of the first row as a number.
fn number(r: &ResultSet, i: usize) -> Option<f64> {
    r.rows
        .first()
        .and_then(|row| row.get(i))
        .and_then(|v| v.as_deref())
        .and_then(|v| v.trim().parse().ok())
}

fn human_bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut u = 0;
    while v.abs() >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

#[async_trait]
impl Probe for PostgresProbe {
    async fn check(&self, cx: &CheckContext) -> Observation {
        let at = cx.now();
        let start = Instant::now();
        let budget = database::budget(cx.timeout);
        let deadline = start + budget;
        let mut slot = self.conn.lock().await;
        // Taken out while in use: a check cancelled half-way leaves no half-used connection.
        let mut client = slot.take().filter(|c| !c.is_closed());
        let mut connect_time = None;
        let outcome = loop {
            let reused = client.is_some();
            let c = match client.take() {
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
            match tokio::time::timeout_at(deadline, self.run(&c, budget)).await {
                Err(_) => {
                    return Failure::timed_out(Stage::Query, budget)
                        .observation(at, start.elapsed());
                }
                Ok(Ok(outcome)) => {
                    if self.keep_connection {
                        *slot = Some(c);
                    }
                    break outcome;
                }
                Ok(Err(f)) => {
                    // A kept connection that died since the last check (a restarted server, an
                    // idle timeout) is redialled once; the new attempt names the real stage.
                    if reused && c.is_closed() {
                        continue;
                    }
                    if self.keep_connection && !c.is_closed() {
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
                engine: "postgres".into(),
                role: outcome.role,
                replication_running: outcome.replication_running,
                ..Default::default()
            },
        }
        .observation(head, at, latency, &self.latency, connect_time)
    }

    fn kind(&self) -> &str {
        "postgres"
    }

    fn target(&self) -> String {
        self.target.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> PostgresConfig {
        toml::from_str(text).unwrap()
    }

    fn invalid_field(c: &PostgresConfig) -> String {
        match c.validate().unwrap_err() {
            Error::Invalid { what, .. } => what,
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn defaults_and_target() {
        let c = parse("host = \"10.0.0.20\"\nuser = \"monitor\"");
        assert_eq!(c, PostgresConfig::new("10.0.0.20", "monitor"));
        let p = c.build().unwrap();
        assert_eq!(p.kind(), "postgres");
        assert_eq!(p.target(), "10.0.0.20:5432/monitor");
        let c = parse("socket = \"/nonexistent/run\"\nuser = \"u\"\ndatabase = \"d\"\nport = 5433");
        assert_eq!(
            c.build().unwrap().target(),
            "/nonexistent/run/.s.PGSQL.5433/d"
        );
    }

    #[test]
    fn validation_names_the_field() {
        let ok = PostgresConfig::new("db", "u");
        assert!(ok.validate().is_ok());
        let mut c = ok.clone();
        c.host = None;
        assert_eq!(invalid_field(&c), "host");
        c.socket = Some("/run/postgresql".into());
        assert!(c.validate().is_ok());
        c.tls = TlsMode::Require;
        assert_eq!(invalid_field(&c), "tls");
        let mut c = ok.clone();
        c.socket = Some("/run/postgresql".into());
        assert_eq!(invalid_field(&c), "socket");
        let mut c = ok.clone();
        c.port = 70000;
        assert_eq!(invalid_field(&c), "port");
        let mut c = ok.clone();
        c.user = " ".into();
        assert_eq!(invalid_field(&c), "user");
        let mut c = ok.clone();
        c.query = String::new();
        assert_eq!(invalid_field(&c), "query");
        let mut c = ok.clone();
        c.tls_ca_file = Some("/etc/ca.pem".into());
        assert_eq!(invalid_field(&c), "tls_ca_file");
        let mut c = ok.clone();
        c.expect = Some(Expectation::default());
        assert_eq!(invalid_field(&c), "expect");
        let mut c = ok.clone();
        c.growth_per_hour = Some(Limits {
            warning: Some(1e9),
            critical: None,
        });
        assert_eq!(invalid_field(&c), "growth_per_hour");
        c.database_size = true;
        assert!(c.validate().is_ok());
        assert!(
            toml::from_str::<PostgresConfig>("host = \"a\"\nuser = \"u\"\npasword = \"x\"")
                .is_err()
        );
        assert!(
            toml::from_str::<PostgresConfig>("host = \"a\"\nuser = \"u\"\ntls = \"maybe\"")
                .is_err()
        );
    }

    #[test]
    fn password_never_printed() {
        let mut c = PostgresConfig::new("db", "u");
        c.password = Some(Secret::new("pg-secret-4711"));
        let p = c.build().unwrap();
        let shown = format!("{p:?} {c:?} {}", p.target());
        assert!(!shown.contains("pg-secret-4711"), "{shown}");
    }

    #[test]
    fn verify_full_with_a_ca_file() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let mut c = PostgresConfig::new("db", "u");
        c.tls = TlsMode::VerifyFull;
        c.tls_ca_file = Some(empty);
        let e = c.build().unwrap_err().to_string();
        assert!(e.contains("no certificates"), "{e}");
        let cert = rcgen::generate_simple_self_signed(vec!["db".to_owned()]).unwrap();
        let pem = dir.path().join("ca.pem");
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.cert.der());
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let text = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        );
        std::fs::write(&pem, text).unwrap();
        c.tls_ca_file = Some(pem);
        assert!(c.build().is_ok());
    }

    #[tokio::test]
    async fn refused_port_is_a_connect_failure() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut c = PostgresConfig::new("127.0.0.1", "u");
        c.port = u32::from(port);
        let obs = c
            .build()
            .unwrap()
            .check(&CheckContext::for_test("pg"))
            .await;
        assert_eq!(obs.status, Status::Critical);
        assert_eq!(
            obs.summary,
            format!("connect: connection refused by 127.0.0.1:{port}")
        );
    }

    #[tokio::test]
    async fn unresolvable_host_is_a_resolve_failure() {
        let obs = PostgresConfig::new("no-such-host.invalid", "u")
            .build()
            .unwrap()
            .check(&CheckContext::for_test("pg"))
            .await;
        assert_eq!(obs.status, Status::Critical);
        assert!(obs.summary.starts_with("resolve: "), "{}", obs.summary);
    }

    #[tokio::test]
    async fn silent_server_times_out_naming_the_login() {
        // Listening but never answering: the startup message gets no reply.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut c = PostgresConfig::new("127.0.0.1", "u");
        c.port = u32::from(port);
        c.tls = TlsMode::Disable;
        let mut cx = CheckContext::for_test("pg");
        cx.timeout = Duration::from_millis(500);
        let obs = c.build().unwrap().check(&cx).await;
        assert_eq!(obs.status, Status::Critical);
        assert_eq!(obs.summary, "auth: timed out after 450 ms");
        drop(listener);
    }

    #[test]
    fn built_through_the_probe_config_enum() {
        let c: crate::probe::ProbeConfig = toml::from_str(
            "type = \"postgres\"\nhost = \"db\"\nuser = \"u\"\nexpect = { rows_at_least = 1 }",
        )
        .unwrap();
        c.validate().unwrap();
        let p = c.build(&crate::http_client::HttpClients::new()).unwrap();
        assert_eq!((p.kind(), p.target().as_str()), ("postgres", "db:5432/u"));
    }
}
