//! The agent: runs checks on the machine itself (its host health, and any checks of its own
//! config) and pushes the observations to a central forewarn (`POST /api/v1/agents/push`).
//!
//! Every observation gets a sequence number from a local SQLite outbox and stays there until
//! the central answers that it is stored: while the central is unreachable they wait, and
//! afterwards they go in order. The central keeps each `(agent, seq)` once, so a push repeated
//! after a lost answer counts once.
//!
//! ```toml
//! [agent]
//! name = "lab-pc-12"            # default: the host name
//! central = "https://forewarn.district.example"
//! token_file = "/etc/forewarn/agent.token"
//! interval = "60s"
//! outbox = "/var/lib/forewarn/agent-outbox.db"
//!
//! [[checks]]                    # default: one `host` check
//! name = "host"
//! type = "host"
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::agents::{Push, PushReply, PushedObservation};
use crate::clock::{SharedClock, SystemClock, Zone};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::probe::{CheckContext, Observation, Probe, Status};
use crate::store::Store as _;

pub mod outbox;
pub mod service;

pub use outbox::AgentOutbox;

fn default_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_outbox() -> PathBuf {
    PathBuf::from("forewarn-agent.db")
}

fn default_batch() -> usize {
    500
}

/// The `[agent]` section of an agent's config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSection {
    /// The agent's name, as its token was made for (default: the host name).
    #[serde(default)]
    pub name: Option<String>,
    /// The central's address (`https://…`, or `http://` to a loopback address).
    #[serde(default)]
    pub central: Option<String>,
    /// The file holding the agent's token.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// How often the checks run (default "60s").
    #[serde(
        default = "default_interval",
        deserialize_with = "crate::config::duration::deserialize"
    )]
    pub interval: Duration,
    /// The local outbox (default `forewarn-agent.db`).
    #[serde(default = "default_outbox")]
    pub outbox: PathBuf,
    /// The most observations sent in one push (default 500).
    #[serde(default = "default_batch")]
    pub batch: usize,
}

impl Default for AgentSection {
    fn default() -> Self {
        Self {
            name: None,
            central: None,
            token_file: None,
            interval: default_interval(),
            outbox: default_outbox(),
            batch: default_batch(),
        }
    }
}

impl AgentSection {
    /// Checks the values; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if let Some(n) = &self.name
            && let Some(p) = crate::agents::agent_name_problem(n)
        {
            return Err(Error::invalid("name", p));
        }
        if self.interval < crate::monitor::MIN_INTERVAL
            || self.interval > crate::monitor::MAX_INTERVAL
        {
            return Err(Error::invalid("interval", "must be from 1s to 1 day"));
        }
        if self.batch == 0 || self.batch > 10_000 {
            return Err(Error::invalid("batch", "must be from 1 to 10000"));
        }
        if let Some(c) = &self.central {
            central_url(c).map_err(|e| Error::invalid("central", e.to_string()))?;
        }
        Ok(())
    }
}

/// The push address from the central's address: `https://…`, or `http://` to loopback only
/// (a token must not cross a network in clear text).
pub fn central_url(central: &str) -> Result<url::Url> {
    let base = url::Url::parse(central.trim())
        .map_err(|e| Error::invalid("central", format!("`{central}` is not a URL: {e}")))?;
    let loopback = match base.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match base.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::invalid(
                "central",
                format!("`{central}`: use https:// (http:// only to a loopback address)"),
            ));
        }
        s => {
            return Err(Error::invalid(
                "central",
                format!("`{central}`: scheme `{s}` is neither https nor http"),
            ));
        }
    }
    base.join(crate::agents::PUSH_PATH.trim_start_matches('/'))
        .map(|mut u| {
            if !base.path().ends_with('/') {
                u.set_path(&format!(
                    "{}{}",
                    base.path().trim_end_matches('/'),
                    crate::agents::PUSH_PATH
                ));
            }
            u
        })
        .map_err(|e| Error::invalid("central", format!("`{central}`: {e}")))
}

/// Reads a token file: its first non-empty line.
pub fn read_token(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("reading the token file {}", path.display()), e))?;
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| Error::invalid("token file", format!("{} is empty", path.display())))
}

/// The machine's host name, for an agent not given one.
pub fn host_name() -> String {
    sysinfo::System::host_name()
        .ok()
        .map(|h| {
            h.split('.')
                .next()
                .unwrap_or_default()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
                .collect::<String>()
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "agent".to_owned())
}

/// One check the agent runs.
#[derive(Debug, Clone)]
struct AgentCheck {
    name: String,
    probe: Arc<dyn Probe>,
    timeout: Duration,
}

/// An agent: runs its checks at its interval and pushes what they find to the central.
#[derive(Debug, Clone)]
pub struct Agent {
    uplink: Uplink,
    checks: Vec<AgentCheck>,
    /// The machine's own recent history, which the probes' trends read (rising disk error
    /// counts, a file system filling up, a reboot across a restart of the agent).
    history: Arc<crate::store::SqliteStore>,
    /// When the local history was last pruned.
    pruned: Arc<parking_lot::Mutex<Option<chrono::DateTime<chrono::Utc>>>>,
    http: crate::http_client::HttpClient,
    clock: SharedClock,
    zone: Zone,
}

/// The way to the central: a local outbox of numbered observations and the pushes that empty
/// it, in order, each confirmed. An [`Agent`] has one; so has a site, a full `forewarn run`
/// at a school whose `[site]` section names its district's central: it monitors and alerts on
/// its own and forwards every observation.
#[derive(Debug, Clone)]
pub struct Uplink {
    name: String,
    url: url::Url,
    token: Arc<str>,
    interval: Duration,
    batch: usize,
    outbox: AgentOutbox,
    http: crate::http_client::HttpClient,
}

impl Uplink {
    /// The uplink of `[agent]` or `[site]` `section` (validated here), with `token`.
    pub fn new(section: &AgentSection, name: String, token: &str) -> Result<Uplink> {
        section.validate()?;
        if let Some(p) = crate::agents::agent_name_problem(&name) {
            return Err(Error::invalid("name", p));
        }
        if token.trim().is_empty() {
            return Err(Error::invalid("token", "is empty"));
        }
        let central = section
            .central
            .as_deref()
            .ok_or_else(|| Error::invalid("central", "is not set"))?;
        Ok(Uplink {
            url: central_url(central)?,
            name,
            token: token.trim().into(),
            interval: section.interval,
            batch: section.batch,
            outbox: AgentOutbox::open(&section.outbox)?,
            http: crate::http_client::HttpClient::new(),
        })
    }

    /// The name the central knows it by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its outbox.
    pub fn outbox(&self) -> &AgentOutbox {
        &self.outbox
    }

    /// Sends what waits in the outbox, oldest first, until it is empty or the central fails;
    /// drops what the central confirms. With nothing waiting it still reports (an empty
    /// push), so the central knows it is there.
    pub async fn deliver(&self) -> Result<Delivery> {
        let mut confirmed = 0;
        let mut first = true;
        loop {
            let rows = self.outbox.oldest(self.batch).await?;
            if rows.is_empty() && !first {
                break;
            }
            first = false;
            let empty = rows.is_empty();
            let sent_up_to = rows.last().map_or(0, |r| r.seq);
            let push = Push {
                outbox: self.outbox.id().to_owned(),
                agent: self.name.clone(),
                interval_secs: self.interval.as_secs(),
                observations: rows,
            };
            let reply = self.send(&push).await?;
            if empty {
                break;
            }
            let dropped = self.outbox.confirm(reply.stored_up_to).await?;
            confirmed += dropped;
            if reply.stored_up_to < sent_up_to {
                return Err(Error::Sink {
                    sink: "central".into(),
                    retryable: true,
                    message: format!(
                        "the central stored up to {} of {} sent",
                        reply.stored_up_to, sent_up_to
                    ),
                });
            }
        }
        Ok(Delivery {
            confirmed,
            waiting: self.outbox.len().await?,
        })
    }

    async fn send(&self, push: &Push) -> Result<PushReply> {
        let failed = |message: String| Error::Sink {
            sink: "central".into(),
            retryable: true,
            message,
        };
        let res = self
            .http
            .post(&self.url)
            .bearer_auth(&*self.token)
            .timeout(Duration::from_secs(30))
            .json(push)
            .send()
            .await
            .map_err(|e| failed(format!("{}: {}", self.url, e)))?;
        let status = res.status();
        if !status.is_success() {
            let body = res.text();
            return Err(failed(format!(
                "{} answered {status}: {}",
                self.url,
                crate::text::excerpt(&crate::text::printable(&body))
            )));
        }
        res.json::<PushReply>()
            .map_err(|e| failed(format!("{}: unreadable answer: {e}", self.url)))
    }

    /// Delivers every interval, and again, backing off up to a minute, while the central is
    /// unreachable (what waits stays in the outbox meanwhile), until `shutdown` completes.
    pub async fn run_until(&self, shutdown: impl std::future::Future<Output = ()>) -> Result<()> {
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_secs(1);
        let mut wait = Duration::ZERO;
        loop {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = &mut shutdown => return Ok(()),
            }
            match self.deliver().await {
                Ok(_) => {
                    backoff = Duration::from_secs(1);
                    wait = self.interval;
                }
                Err(e) => {
                    let waiting = self.outbox.len().await.unwrap_or(0);
                    tracing::warn!(error = %e, waiting, "the central did not take the observations; they wait in the outbox");
                    wait = backoff.min(self.interval.max(Duration::from_secs(1)));
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
    }
}

/// smartctl on `PATH` or in the system directories it is installed to (which a service's `PATH`
/// may lack).
fn installed_smartctl() -> Option<PathBuf> {
    let name = if cfg!(windows) {
        "smartctl.exe"
    } else {
        "smartctl"
    };
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            ["/usr/sbin", "/usr/local/sbin", "/sbin", "/opt/homebrew/bin"]
                .iter()
                .map(PathBuf::from),
        )
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// How long the agent keeps its own history for the probes' trends.
const LOCAL_HISTORY: Duration = Duration::from_secs(15 * 86_400);

/// The local history's file beside the outbox: `forewarn-agent.db` → `forewarn-agent-history.db`.
fn history_path(outbox: &Path) -> PathBuf {
    let stem = outbox
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "forewarn-agent".into());
    outbox.with_file_name(format!("{stem}-history.db"))
}

/// Builds an [`Agent`] from code.
#[derive(Debug)]
pub struct AgentBuilder {
    name: String,
    central: String,
    token: String,
    interval: Duration,
    batch: usize,
    outbox: PathBuf,
    checks: Vec<AgentCheck>,
    clock: Option<SharedClock>,
    zone: Option<Zone>,
}

impl AgentBuilder {
    /// Adds a check (`name` as the central shows it after the agent's: `NAME/CHECK`).
    pub fn check(mut self, name: impl Into<String>, probe: Arc<dyn Probe>) -> Self {
        self.checks.push(AgentCheck {
            name: name.into(),
            probe,
            timeout: Duration::from_secs(10),
        });
        self
    }

    /// How often the checks run (default 60 s).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The local outbox file (default `forewarn-agent.db`).
    pub fn outbox(mut self, path: impl Into<PathBuf>) -> Self {
        self.outbox = path.into();
        self
    }

    /// The most observations per push (default 500).
    pub fn batch(mut self, n: usize) -> Self {
        self.batch = n;
        self
    }

    /// The clock (default: the system's).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The time zone probes write times in (default: the system's).
    pub fn zone(mut self, zone: Zone) -> Self {
        self.zone = Some(zone);
        self
    }

    /// Validates and builds the agent (opening or creating its outbox). Without checks it
    /// runs the host probe as `host`, and the smart probe as `disks` where smartctl is
    /// installed.
    pub fn build(self) -> Result<Agent> {
        let section = AgentSection {
            name: Some(self.name.clone()),
            central: Some(self.central.clone()),
            token_file: None,
            interval: self.interval,
            outbox: self.outbox.clone(),
            batch: self.batch,
        };
        section.validate()?;
        let mut checks = self.checks;
        if checks.is_empty() {
            let probe = crate::probe::ProbeConfig::Host(Default::default())
                .build(&crate::http_client::HttpClients::new())?;
            checks.push(AgentCheck {
                name: "host".into(),
                probe,
                timeout: Duration::from_secs(10),
            });
            // Disk health where smartmontools is installed: a machine without it would only
            // ever report "smartctl not found".
            if let Some(smartctl) = installed_smartctl() {
                let probe = crate::probe::ProbeConfig::Smart(crate::probe::smart::SmartConfig {
                    smartctl,
                    ..Default::default()
                })
                .build(&crate::http_client::HttpClients::new())?;
                checks.push(AgentCheck {
                    name: "disks".into(),
                    probe,
                    timeout: Duration::from_secs(30),
                });
            }
        }
        for c in &checks {
            if let Some(p) = crate::agents::agent_name_problem(&c.name) {
                return Err(Error::invalid("check name", p));
            }
        }
        let uplink = Uplink::new(&section, self.name.clone(), &self.token)?;
        Ok(Agent {
            http: uplink.http.clone(),
            uplink,
            checks,
            history: Arc::new(crate::store::SqliteStore::open(history_path(&self.outbox))?),
            pruned: Arc::default(),
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            zone: self.zone.unwrap_or_else(Zone::system),
        })
    }
}

/// What one delivery did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Observations the central confirmed (and the outbox dropped).
    pub confirmed: usize,
    /// Observations still waiting.
    pub waiting: u64,
}

impl Agent {
    /// Starts building agent `name` reporting to `central` with `token`.
    pub fn builder(
        name: impl Into<String>,
        central: impl Into<String>,
        token: impl Into<String>,
    ) -> AgentBuilder {
        AgentBuilder {
            name: name.into(),
            central: central.into(),
            token: token.into(),
            interval: default_interval(),
            batch: default_batch(),
            outbox: default_outbox(),
            checks: Vec::new(),
            clock: None,
            zone: None,
        }
    }

    /// The agent of a config: `[agent]` (or its defaults) and its `[[checks]]` (a `host` check
    /// when it has none). `central` and `token_file` given here win over the config's.
    pub fn from_config(
        config: &Config,
        central: Option<&str>,
        token_file: Option<&Path>,
    ) -> Result<Agent> {
        let section = config.agent.clone().unwrap_or_default();
        let central = central
            .map(str::to_owned)
            .or(section.central.clone())
            .ok_or_else(|| {
                config.error_at(
                    None,
                    Some("agent.central"),
                    "no central: give --central URL or [agent] central",
                )
            })?;
        let token_file = token_file
            .map(Path::to_path_buf)
            .or(section.token_file.clone())
            .ok_or_else(|| {
                config.error_at(
                    None,
                    Some("agent.token_file"),
                    "no token: give --token-file FILE or [agent] token_file",
                )
            })?;
        let token = read_token(&token_file)?;
        let clients = crate::http_client::HttpClients::new();
        let mut b = Agent::builder(
            section.name.clone().unwrap_or_else(host_name),
            central,
            token,
        )
        .interval(section.interval)
        .outbox(section.outbox.clone())
        .batch(section.batch)
        .zone(config.zone());
        for c in &config.checks {
            let name = c.name.get_ref();
            let probe = c.probe.build(&clients).map_err(|e| {
                config.error_at(Some(c.name.span()), None, format!("check `{name}`: {e}"))
            })?;
            b = b.check(name.clone(), probe);
            if let Some(last) = b.checks.last_mut() {
                last.timeout = config.timeout_of(c).min(section.interval);
            }
        }
        b.build()
    }

    /// Its name.
    pub fn name(&self) -> &str {
        self.uplink.name()
    }

    /// Its outbox.
    pub fn outbox(&self) -> &AgentOutbox {
        self.uplink.outbox()
    }

    /// Runs every check once and puts the observations in the outbox; returns them.
    pub async fn observe(&self) -> Result<Vec<(String, Observation)>> {
        let runs = self.checks.iter().map(|c| async move {
            let cx = CheckContext {
                check: Arc::from(c.name.as_str()),
                timeout: c.timeout,
                clock: self.clock.clone(),
                zone: self.zone,
                http: self.http.clone(),
                history: Some(crate::probe::History::new(
                    self.history.clone(),
                    c.name.as_str(),
                )),
            };
            let at = self.clock.now();
            let started = std::time::Instant::now();
            let mut obs = match tokio::time::timeout(c.timeout, c.probe.check(&cx)).await {
                Ok(o) => o,
                Err(_) => Observation::new(
                    Status::Critical,
                    format!(
                        "timed out after {}",
                        crate::probe::human_duration(c.timeout)
                    ),
                    at,
                ),
            };
            if obs.latency.is_zero() {
                obs.latency = started.elapsed();
            }
            (c.name.clone(), obs)
        });
        let observed = futures::future::join_all(runs).await;
        self.uplink.outbox.push(observed.clone()).await?;
        self.remember(&observed).await;
        Ok(observed)
    }

    /// Keeps `observed` in the machine's own history for the next checks' trends, and prunes
    /// it once a day. A failure here costs the trends, never the observations (they are in the
    /// outbox): it is logged.
    async fn remember(&self, observed: &[(String, Observation)]) {
        let batch = observed
            .iter()
            .map(|(name, o)| (Arc::from(name.as_str()), o.clone()))
            .collect();
        let kept = async {
            self.history.record_observations(batch).await?;
            self.history.flush().await?;
            let now = self.clock.now();
            let due = self
                .pruned
                .lock()
                .is_none_or(|t| now - t >= chrono::Duration::days(1) || now < t);
            if due {
                let keep = chrono::Duration::from_std(LOCAL_HISTORY).unwrap_or_default();
                self.history.prune(now - keep).await?;
                *self.pruned.lock() = Some(now);
            }
            Ok::<(), Error>(())
        };
        if let Err(e) = kept.await {
            tracing::warn!(error = %e, "agent: keeping the local history for trends failed");
        }
    }

    /// Sends what waits in the outbox, oldest first, until it is empty or the central fails;
    /// drops what the central confirms (see [`Uplink::deliver`]).
    pub async fn deliver(&self) -> Result<Delivery> {
        self.uplink.deliver().await
    }

    /// Runs the checks every interval and delivers after each round (and again, backing off
    /// up to a minute, while the central is unreachable), until `shutdown` completes.
    pub async fn run_until(&self, shutdown: impl std::future::Future<Output = ()>) -> Result<()> {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(self.uplink.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut backoff = Duration::from_secs(1);
        let mut retry_at: Option<tokio::time::Instant> = None;
        loop {
            let retry = async {
                match retry_at {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = self.observe().await {
                        tracing::error!(error = %e, "agent: keeping observations failed");
                    }
                }
                () = retry => {}
                () = &mut shutdown => return Ok(()),
            }
            match self.deliver().await {
                Ok(_) => {
                    backoff = Duration::from_secs(1);
                    retry_at = None;
                }
                Err(e) => {
                    let waiting = self.uplink.outbox.len().await.unwrap_or(0);
                    tracing::warn!(error = %e, waiting, "agent: the central did not take the observations; they wait in the outbox");
                    retry_at = Some(tokio::time::Instant::now() + backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
    }
}

/// The observations of one push, as the outbox gives them.
pub type OutboxRow = PushedObservation;
