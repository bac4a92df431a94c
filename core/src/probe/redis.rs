//! The `redis` probe: sends PING (or a configured command) to Redis and checks the reply.
//!
//! ```toml
//! [[checks]]
//! name = "session cache"
//! type = "redis"
//! host = "10.0.0.22"
//! password = "${SESSION_CACHE_PASSWORD}"
//! command = "PING"                         # the default
//! expect = { equals = "PONG" }
//! latency = { warning = "50ms", critical = "500ms" }
//! memory = { warning = 80, critical = 95 } # % of maxmemory in use
//! clients = { warning = 500 }              # connected clients
//! replication = true                       # on a replica: the link to the master is up
//! interval = "5s"
//! ```
//!
//! `command` is split on whitespace (`"GET health:flag"`). The reply is seen by `expect` as one
//! row with a column `reply` (an array reply: one row per element), so `equals`, `below`,
//! `above` and `rows_at_least` all apply. One connection is kept between checks and
//! re-established when it fails; the summary names the stage that failed.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::MultiplexedConnection;
use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo as _, RedisError, Value};
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
    6379
}

fn default_command() -> String {
    "PING".to_owned()
}

fn default_tls() -> TlsMode {
    TlsMode::Disable
}

/// Configuration of the `redis` probe.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// The server's host name or IP address; `${VAR}` is expanded. Give this or `socket`.
    #[serde(default)]
    pub host: Option<String>,
    /// The port (default 6379).
    #[serde(default = "default_port")]
    pub port: u32,
    /// A Unix socket path instead of `host`.
    #[serde(default)]
    pub socket: Option<PathBuf>,
    /// The ACL user (Redis 6+); default: the `default` user.
    #[serde(default)]
    pub username: Option<String>,
    /// The password (`requirepass` or the ACL user's), usually `"${ENV_VAR}"`; never shown.
    #[serde(default)]
    pub password: Option<Secret>,
    /// The database number (default 0).
    #[serde(default)]
    pub database: i64,
    /// Encryption: `"disable"` (default) or `"verify-full"` (TLS, certificate verified).
    #[serde(default = "default_tls")]
    pub tls: TlsMode,
    /// The command, split on whitespace (default `PING`).
    #[serde(default = "default_command")]
    pub command: String,
    /// What the reply must show; a violation is Critical unless `severity = "warning"`.
    #[serde(default)]
    pub expect: Option<Expectation>,
    /// Thresholds on the time the whole check takes.
    #[serde(default)]
    pub latency: LatencyThresholds,
    /// Percent of `maxmemory` in use at which to warn / go critical (when maxmemory is set).
    #[serde(default)]
    pub memory: Option<Limits>,
    /// Connected clients at which to warn / go critical.
    #[serde(default)]
    pub clients: Option<Limits>,
    /// Report the replication role; on a replica, a link to the master that is down is Critical.
    #[serde(default)]
    pub replication: bool,
    /// Keep the connection between checks (default true); false connects for every check.
    #[serde(default = "yes")]
    pub keep_connection: bool,
}

impl RedisConfig {
    /// A config for `host` with every other key at its default.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: Some(host.into()),
            port: default_port(),
            socket: None,
            username: None,
            password: None,
            database: 0,
            tls: default_tls(),
            command: default_command(),
            expect: None,
            latency: LatencyThresholds::default(),
            memory: None,
            clients: None,
            replication: false,
            keep_connection: true,
        }
    }

    /// Checks the values, naming the offending field in the error. `${VAR}` references are
    /// expanded by [`RedisConfig::build`], not here.
    pub fn validate(&self) -> Result<()> {
        validate_endpoint(self.host.as_deref(), self.socket.as_deref(), self.port)?;
        if !(0..=10_000).contains(&self.database) {
            return Err(Error::invalid("database", "must be a number from 0"));
        }
        if self.command.split_whitespace().next().is_none() {
            return Err(Error::invalid("command", "the command is empty"));
        }
        match self.tls {
            TlsMode::Disable | TlsMode::VerifyFull => {}
            TlsMode::Prefer | TlsMode::Require => {
                return Err(Error::invalid("tls", "use \"disable\" or \"verify-full\""));
            }
        }
        if self.socket.is_some() && self.tls != TlsMode::Disable {
            return Err(Error::invalid(
                "tls",
                "a Unix socket connection is not encrypted; use `host` for TLS",
            ));
        }
        if let Some(e) = &self.expect {
            e.validate("expect")?;
        }
        self.latency.validate("latency")?;
        if let Some(m) = &self.memory {
            m.validate("memory")?;
        }
        if let Some(c) = &self.clients {
            c.validate("clients")?;
        }
        Ok(())
    }

    /// Builds the probe, expanding `${VAR}` in the host and password.
    pub fn build(&self) -> Result<RedisProbe> {
        self.validate()?;
        crate::http_client::install_crypto_provider();
        let port = self.port as u16;
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
            (None, Some(path)) => (Endpoint::Socket(path.clone()), path.display().to_string()),
            (None, None) => unreachable!("validated"),
        };
        let mut settings = redis::RedisConnectionInfo::default()
            .set_db(self.database)
            .set_skip_set_lib_name();
        if let Some(u) = &self.username {
            settings = settings.set_username(u);
        }
        if let Some(p) = &self.password {
            settings = settings.set_password(p.expose()?);
        }
        Ok(RedisProbe {
            settings,
            endpoint,
            tls: self.tls == TlsMode::VerifyFull,
            target,
            user: self
                .username
                .clone()
                .unwrap_or_else(|| "default".to_owned()),
            command: self.command.split_whitespace().map(str::to_owned).collect(),
            expect: self.expect.clone(),
            latency: self.latency,
            memory: self.memory,
            clients: self.clients,
            replication: self.replication,
            keep_connection: self.keep_connection,
            conn: tokio::sync::Mutex::new(None),
        })
    }
}

#[derive(Debug)]
enum Endpoint {
    Tcp { host: String, port: u16 },
    Socket(PathBuf),
}

/// The `redis` probe. Build it with [`RedisConfig::build`].
pub struct RedisProbe {
    /// Holds the password; never printed.
    settings: redis::RedisConnectionInfo,
    endpoint: Endpoint,
    tls: bool,
    target: String,
    user: String,
    command: Vec<String>,
    expect: Option<Expectation>,
    latency: LatencyThresholds,
    memory: Option<Limits>,
    clients: Option<Limits>,
    replication: bool,
    keep_connection: bool,
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
}

impl fmt::Debug for RedisProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisProbe")
            .field("target", &self.target)
            .field("user", &self.user)
            .field("tls", &self.tls)
            .field("command", &self.command)
            .finish_non_exhaustive()
    }
}

struct Outcome {
    reply: String,
    query_time: Duration,
    findings: Findings,
    metrics: Vec<(&'static str, f64, &'static str)>,
    /// The replication role and state, when the check looked.
    role: Option<DatabaseRole>,
    replication_running: Option<bool>,
}

/// Whether an error leaves the connection unusable (anything but an error reply).
fn is_connection_error(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error()
}

impl RedisProbe {
    async fn connect(
        &self,
        deadline: Instant,
        budget: Duration,
    ) -> std::result::Result<MultiplexedConnection, Failure> {
        let addr = match &self.endpoint {
            Endpoint::Socket(path) => ConnectionAddr::Unix(path.clone()),
            Endpoint::Tcp { host, port } => {
                let addrs = database::resolve(host, *port, budget).await?;
                if self.tls {
                    ConnectionAddr::TcpTls {
                        host: host.clone(),
                        port: *port,
                        insecure: false,
                        tls_params: None,
                    }
                } else {
                    ConnectionAddr::Tcp(addrs[0].ip().to_string(), *port)
                }
            }
        };
        let info: ConnectionInfo = addr
            .into_connection_info()
            .map_err(|e| Failure::critical(Stage::Connect, e.to_string()))?
            .set_redis_settings(self.settings.clone());
        let client = redis::Client::open(info)
            .map_err(|e| Failure::critical(Stage::Connect, e.to_string()))?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(None)
            .set_response_timeout(None);
        match tokio::time::timeout_at(
            deadline,
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
        {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(self.login_failure(&e)),
            Err(_) => Err(Failure::timed_out(Stage::Connect, budget)),
        }
    }

    fn login_failure(&self, e: &RedisError) -> Failure {
        let code = e.code().unwrap_or_default();
        let text = e.to_string();
        if e.kind() == redis::ErrorKind::AuthenticationFailed
            || code == "WRONGPASS"
            || code == "NOAUTH"
            || text.contains("without any password configured")
        {
            return Failure::critical(
                Stage::Auth,
                format!("authentication failed for user \"{}\"", self.user),
            );
        }
        if e.is_connection_refusal() {
            return Failure::critical(
                Stage::Connect,
                format!("connection refused by {}", self.target),
            );
        }
        if text.contains("TLS") || text.contains("certificate") {
            return Failure::critical(Stage::Tls, text);
        }
        if e.is_io_error() {
            return Failure::critical(
                Stage::Connect,
                format!("cannot connect to {}: {text}", self.target),
            );
        }
        Failure::critical(Stage::Auth, text)
    }

    fn query_failure(&self, e: &RedisError) -> Failure {
        let code = e.code().unwrap_or_default();
        if code == "NOAUTH" || code == "WRONGPASS" {
            return Failure::critical(
                Stage::Auth,
                format!("authentication failed for user \"{}\"", self.user),
            );
        }
        if e.is_connection_dropped() {
            return Failure::critical(Stage::Query, "the server closed the connection");
        }
        Failure::critical(Stage::Query, e.to_string())
    }

    async fn run(
        &self,
        conn: &mut MultiplexedConnection,
    ) -> std::result::Result<Outcome, (Failure, bool)> {
        let mut cmd = redis::cmd(&self.command[0]);
        for arg in &self.command[1..] {
            cmd.arg(arg);
        }
        let started = Instant::now();
        let reply: Value = cmd
            .query_async(conn)
            .await
            .map_err(|e| (self.query_failure(&e), is_connection_error(&e)))?;
        let query_time = started.elapsed();
        if let Value::ServerError(e) = &reply {
            return Err((Failure::critical(Stage::Query, format!("{e:?}")), false));
        }
        let result = result_set(&reply);
        if let Some(e) = &self.expect {
            e.evaluate(&result).map_err(|f| (f, false))?;
        }
        let mut outcome = Outcome {
            reply: shown_reply(&result),
            query_time,
            findings: Findings::default(),
            metrics: Vec::new(),
            role: None,
            replication_running: None,
        };
        if self.memory.is_some() || self.clients.is_some() || self.replication {
            let info: String = redis::cmd("INFO")
                .query_async(conn)
                .await
                .map_err(|e| (self.query_failure(&e), is_connection_error(&e)))?;
            self.read_info(&info, &mut outcome);
        }
        Ok(outcome)
    }

    fn read_info(&self, info: &str, outcome: &mut Outcome) {
        let field = |name: &str| -> Option<&str> {
            info.lines().find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .map(str::trim)
            })
        };
        let num = |name: &str| field(name).and_then(|v| v.parse::<f64>().ok());
        if let Some(limits) = &self.memory
            && let Some(used) = num("used_memory")
        {
            outcome.metrics.push(("used_memory", used, "B"));
            match num("maxmemory") {
                Some(max) if max > 0.0 => {
                    let pct = used / max * 100.0;
                    outcome.metrics.push(("maxmemory", max, "B"));
                    outcome.metrics.push(("memory_percent", pct, "%"));
                    outcome.findings.add(
                        limits.status(pct),
                        format!("memory {pct:.0} % of maxmemory"),
                    );
                }
                _ => outcome.findings.add(Status::Ok, "no maxmemory set"),
            }
        }
        if let Some(limits) = &self.clients
            && let Some(n) = num("connected_clients")
        {
            outcome.metrics.push(("connected_clients", n, ""));
            outcome
                .findings
                .add(limits.status(n), format!("{n} clients connected"));
        }
        if self.replication {
            match field("role") {
                Some("slave") | Some("replica") => {
                    let link = field("master_link_status").unwrap_or("unknown");
                    outcome.role = Some(DatabaseRole::Replica);
                    outcome.replication_running = Some(link == "up");
                    if link == "up" {
                        if let Some(s) = num("master_last_io_seconds_ago") {
                            outcome.metrics.push(("master_last_io", s, "s"));
                        }
                        outcome
                            .findings
                            .add(Status::Ok, "replica, link to master up");
                    } else {
                        outcome.findings.add(
                            Status::Critical,
                            format!("replica, link to master is {link}"),
                        );
                    }
                }
                Some(role) => {
                    if role == "master" {
                        outcome.role = Some(DatabaseRole::Primary);
                    }
                    if let Some(n) = num("connected_slaves") {
                        outcome.metrics.push(("connected_replicas", n, ""));
                    }
                    outcome.findings.add(Status::Ok, format!("role {role}"));
                }
                None => {}
            }
        }
    }
}

/// A reply as rows of a `reply` column.
fn result_set(reply: &Value) -> ResultSet {
    let rows = match reply {
        Value::Nil => Vec::new(),
        Value::Array(items) | Value::Set(items) => items.iter().map(|v| vec![text(v)]).collect(),
        Value::Map(pairs) => pairs.iter().map(|(k, _)| vec![text(k)]).collect(),
        other => vec![vec![text(other)]],
    };
    ResultSet {
        columns: vec!["reply".to_owned()],
        rows,
    }
}

fn text(v: &Value) -> Option<String> {
    Some(match v {
        Value::Nil => return None,
        Value::Int(i) => i.to_string(),
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".to_owned(),
        Value::Double(d) => d.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::VerbatimString { text, .. } => text.clone(),
        Value::Array(items) | Value::Set(items) => format!("({} items)", items.len()),
        other => format!("{other:?}"),
    })
}

/// The reply for the summary, cut short.
fn shown_reply(r: &ResultSet) -> String {
    let s = match r.rows.len() {
        0 => "(nil)".to_owned(),
        1 => r.rows[0][0].clone().unwrap_or_else(|| "(nil)".to_owned()),
        n => format!("{n} items"),
    };
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

#[async_trait]
impl Probe for RedisProbe {
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
            match tokio::time::timeout_at(deadline, self.run(&mut c)).await {
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
                Ok(Err((f, broken))) => {
                    // A kept connection that died since the last check (a restarted server) is
                    // redialled once; the new attempt names the real stage.
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
            "{} replied {} in {}",
            self.command[0].to_uppercase(),
            outcome.reply,
            human_duration(outcome.query_time)
        );
        let metrics = outcome.metrics;
        Answer {
            query_time: outcome.query_time,
            findings: outcome.findings,
            metrics,
            reading: DatabaseReading {
                engine: "redis".into(),
                role: outcome.role,
                replication_running: outcome.replication_running,
                ..Default::default()
            },
        }
        .observation(head, at, latency, &self.latency, connect_time)
    }

    fn kind(&self) -> &str {
        "redis"
    }

    fn target(&self) -> String {
        self.target.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_field(c: &RedisConfig) -> String {
        match c.validate().unwrap_err() {
            Error::Invalid { what, .. } => what,
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn defaults_and_target() {
        let c: RedisConfig = toml::from_str("host = \"10.0.0.22\"").unwrap();
        assert_eq!(c, RedisConfig::new("10.0.0.22"));
        let p = c.build().unwrap();
        assert_eq!((p.kind(), p.target().as_str()), ("redis", "10.0.0.22:6379"));
        assert_eq!(p.command, ["PING"]);
    }

    #[test]
    fn validation_names_the_field() {
        let ok = RedisConfig::new("cache");
        let mut c = ok.clone();
        c.host = None;
        assert_eq!(invalid_field(&c), "host");
        let mut c = ok.clone();
        c.command = "  ".into();
        assert_eq!(invalid_field(&c), "command");
        let mut c = ok.clone();
        c.tls = TlsMode::Require;
        assert_eq!(invalid_field(&c), "tls");
        let mut c = ok.clone();
        c.database = -1;
        assert_eq!(invalid_field(&c), "database");
        let mut c = ok.clone();
        c.memory = Some(Limits {
            warning: Some(-1.0),
            critical: None,
        });
        assert_eq!(invalid_field(&c), "memory");
        assert!(toml::from_str::<RedisConfig>("host = \"a\"\ncmd = \"PING\"").is_err());
    }

    #[test]
    fn password_never_printed() {
        let mut c = RedisConfig::new("cache");
        c.password = Some(Secret::new("redis-secret-4711"));
        let p = c.build().unwrap();
        let shown = format!("{p:?} {c:?} {}", p.target());
        assert!(!shown.contains("redis-secret-4711"), "{shown}");
    }

    #[test]
    fn replies_as_rows() {
        let r = result_set(&Value::SimpleString("PONG".into()));
        assert_eq!(r.rows, vec![vec![Some("PONG".to_owned())]]);
        assert_eq!(shown_reply(&r), "PONG");
        let r = result_set(&Value::Array(vec![Value::Int(1), Value::Nil]));
        assert_eq!(r.rows.len(), 2);
        assert_eq!(shown_reply(&r), "2 items");
        assert!(result_set(&Value::Nil).rows.is_empty());
    }

    #[test]
    fn info_extras() {
        let mut c = RedisConfig::new("cache");
        c.memory = Some(Limits {
            warning: Some(80.0),
            critical: Some(95.0),
        });
        c.replication = true;
        let p = c.build().unwrap();
        let mut o = Outcome {
            reply: String::new(),
            query_time: Duration::ZERO,
            findings: Findings::default(),
            metrics: Vec::new(),
            role: None,
            replication_running: None,
        };
        p.read_info(
            "# Memory\r\nused_memory:900\r\nmaxmemory:1000\r\n# Replication\r\nrole:slave\r\nmaster_link_status:down\r\n",
            &mut o,
        );
        assert_eq!(o.findings.status, Status::Critical);
        assert!(
            o.findings
                .notes
                .iter()
                .any(|n| n == "memory 90 % of maxmemory")
        );
        assert!(
            o.findings
                .notes
                .iter()
                .any(|n| n == "replica, link to master is down")
        );
    }

    #[tokio::test]
    async fn refused_port_is_a_connect_failure() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut c = RedisConfig::new("127.0.0.1");
        c.port = u32::from(port);
        let obs = c.build().unwrap().check(&CheckContext::for_test("r")).await;
        assert_eq!(obs.status, Status::Critical);
        assert_eq!(
            obs.summary,
            format!("connect: connection refused by 127.0.0.1:{port}")
        );
    }

    #[test]
    fn built_through_the_probe_config_enum() {
        let c: crate::probe::ProbeConfig =
            toml::from_str("type = \"redis\"\nhost = \"cache\"\nexpect = { equals = \"PONG\" }")
                .unwrap();
        c.validate().unwrap();
        let p = c.build(&crate::http_client::HttpClients::new()).unwrap();
        assert_eq!((p.kind(), p.target().as_str()), ("redis", "cache:6379"));
    }
}
