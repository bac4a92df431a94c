//! The `printer` probe: reads the Printer-MIB over SNMP v1, v2c or v3 and says what a person
//! looking at the printer would: toner, drums, waste, paper, doors, jams.
//!
//! ```toml
//! [[checks]]
//! name = "Room 12 HP M880"
//! type = "printer"
//! host = "10.1.0.42"
//! community = "${PRINTER_COMMUNITY}"
//! thresholds = { toner = { warning = 25, critical = 5 } }
//! ```
//!
//! SNMPv3:
//!
//! ```toml
//! [[checks]]
//! name = "Office Xerox"
//! type = "printer"
//! host = "10.1.0.43"
//! version = "3"
//! user = "monitor"
//! auth_protocol = "sha256"
//! auth_password = "${PRINTER_AUTH}"
//! privacy_protocol = "aes"
//! privacy_password = "${PRINTER_PRIV}"
//! ```
//!
//! A full poll is a GET of the system scalars and one GETBULK walk over every column it needs
//! (GETNEXT for v1 agents), decoded by [`mib::decode`] into a [`PrinterReport`] and judged by
//! [`interpret::Interpretation`]. The polls after it are steady-state polls ([`steady`]): one
//! GET of the cells that change (statuses, levels, counters), patching the last report; a full
//! poll comes back every `full_poll_every` polls, after `full_poll_max_age`, and whenever the
//! agent's answer says the structure may have changed. Supply levels go into the metrics, so
//! the history forecasts the days left ([`forecast`]).

pub mod discover;
pub mod forecast;
pub mod interpret;
pub mod mib;
pub mod reading;
pub mod snmp;
pub mod steady;
pub mod usm;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use serde::Deserialize;
use tokio::time::Instant;

use crate::config::{Secret, expand_env};
use crate::error::{Error, Result};
use crate::probe::{CheckContext, Metric, Metrics, Observation, Probe, Reading, Status};

pub use discover::{DiscoverOptions, DiscoveredPrinter, discover};
pub use forecast::ForecastConfig;
pub use interpret::{Interpretation, Levels, SupplyThresholds, WasteLevel};
pub use mib::{PrinterReport, Supply, SupplyState, Tray, TrayState};
pub use reading::PrinterReading;
pub use snmp::SnmpError;
pub use usm::V3Failure;

/// The SNMP version.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
pub enum SnmpVersion {
    /// SNMPv1 (no GETBULK).
    #[serde(rename = "1")]
    V1,
    /// SNMPv2c.
    #[default]
    #[serde(rename = "2c")]
    V2c,
    /// SNMPv3 (USM).
    #[serde(rename = "3")]
    V3,
}

/// SNMPv3 authentication protocols.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthProtocol {
    /// HMAC-MD5-96 (old devices only).
    Md5,
    /// HMAC-SHA-96.
    Sha,
    /// HMAC-SHA-224.
    Sha224,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-384.
    Sha384,
    /// HMAC-SHA-512.
    Sha512,
}

/// SNMPv3 privacy (encryption) protocols.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PrivacyProtocol {
    /// DES (old devices only).
    Des,
    /// AES-128 (CFB).
    Aes,
    /// AES-192 (Blumenthal key extension).
    Aes192,
    /// AES-256 (Blumenthal key extension).
    Aes256,
}

/// Configuration of the `printer` probe.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrinterConfig {
    /// The printer's address or host name; `${VAR}` is expanded.
    pub host: String,
    /// The agent's UDP port (default 161).
    #[serde(default = "default_port")]
    pub port: u16,
    /// "1", "2c" (default) or "3".
    #[serde(default)]
    pub version: SnmpVersion,
    /// The community for v1/v2c (default "public"); a secret, `${VAR}` is expanded.
    #[serde(default)]
    pub community: Option<Secret>,
    /// The v3 user name.
    #[serde(default)]
    pub user: Option<String>,
    /// The v3 authentication protocol (default sha when `auth_password` is given).
    #[serde(default)]
    pub auth_protocol: Option<AuthProtocol>,
    /// The v3 authentication pass phrase (at least 8 characters); a secret.
    #[serde(default)]
    pub auth_password: Option<Secret>,
    /// The v3 privacy protocol (default aes when `privacy_password` is given).
    #[serde(default)]
    pub privacy_protocol: Option<PrivacyProtocol>,
    /// The v3 privacy pass phrase (at least 8 characters); a secret.
    #[serde(default)]
    pub privacy_password: Option<Secret>,
    /// The v3 context name, if the agent wants one.
    #[serde(default)]
    pub context: Option<String>,
    /// How long to wait for one answer (default 2 s).
    #[serde(default = "default_request_timeout", with = "crate::config::duration")]
    pub request_timeout: Duration,
    /// How many times an unanswered request is repeated (default 1).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The largest GETBULK max-repetitions (default 25).
    #[serde(default = "default_max_repetitions")]
    pub max_repetitions: u32,
    /// Supply thresholds per type.
    #[serde(default)]
    pub thresholds: SupplyThresholds,
    /// A tray with less paper than this percentage counts as low (default 10).
    #[serde(default = "default_low_paper")]
    pub low_paper_percent: f64,
    /// Trays (by name or index) that are bypass trays on this model and never count as empty;
    /// `"!name"` or `"!index"` marks a real tray that would otherwise be taken for one. Trays
    /// named bypass, manual or multi-purpose, manual-feed inputs, one-sheet trays, and small
    /// trays without a name of their own beside larger ones already are bypass trays.
    #[serde(default)]
    pub bypass_trays: Vec<String>,
    /// What this model's waste levels mean: "space-left" (the standard, default) or "filled".
    #[serde(default)]
    pub waste_level: WasteLevel,
    /// Days-left forecasting from the level history.
    #[serde(default)]
    pub forecast: ForecastConfig,
    /// Every this many polls one is a full poll (default 60; 1 makes every poll full). The
    /// polls between read only the values that change, with one request, and reuse the rest
    /// (names, capacities, colours) from the last full poll.
    #[serde(default = "default_full_poll_every")]
    pub full_poll_every: u32,
    /// A full poll at least this often (default 1 h), however many polls that is.
    #[serde(
        default = "default_full_poll_max_age",
        with = "crate::config::duration"
    )]
    pub full_poll_max_age: Duration,
}

fn default_port() -> u16 {
    161
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(2)
}
fn default_retries() -> u32 {
    1
}
fn default_max_repetitions() -> u32 {
    25
}
fn default_low_paper() -> f64 {
    10.0
}
fn default_full_poll_every() -> u32 {
    60
}
fn default_full_poll_max_age() -> Duration {
    Duration::from_secs(3600)
}

impl PrinterConfig {
    /// A v2c config for `host` with the default settings.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port: default_port(),
            version: SnmpVersion::V2c,
            community: None,
            user: None,
            auth_protocol: None,
            auth_password: None,
            privacy_protocol: None,
            privacy_password: None,
            context: None,
            request_timeout: default_request_timeout(),
            retries: default_retries(),
            max_repetitions: default_max_repetitions(),
            thresholds: SupplyThresholds::default(),
            low_paper_percent: default_low_paper(),
            bypass_trays: Vec::new(),
            waste_level: WasteLevel::SpaceLeft,
            forecast: ForecastConfig::default(),
            full_poll_every: default_full_poll_every(),
            full_poll_max_age: default_full_poll_max_age(),
        }
    }

    /// Checks the values, naming the offending field. `${VAR}` references are expanded only by
    /// [`PrinterConfig::build`].
    pub fn validate(&self) -> Result<()> {
        if self.host.trim().is_empty() {
            return Err(Error::invalid("host", "must not be empty"));
        }
        if self.port == 0 {
            return Err(Error::invalid("port", "must be 1–65535"));
        }
        if self.request_timeout.is_zero() {
            return Err(Error::invalid("request_timeout", "must be more than 0"));
        }
        if self.retries > 10 {
            return Err(Error::invalid("retries", "at most 10"));
        }
        if !(1..=200).contains(&self.max_repetitions) {
            return Err(Error::invalid("max_repetitions", "must be 1–200"));
        }
        for b in &self.bypass_trays {
            if b.trim().trim_start_matches('!').trim().is_empty() {
                return Err(Error::invalid(
                    "bypass_trays",
                    format!("`{b}` names no tray: give a tray name or index, or `!` and one"),
                ));
            }
        }
        if !(0.0..=100.0).contains(&self.low_paper_percent) {
            return Err(Error::invalid("low_paper_percent", "a percentage, 0–100"));
        }
        if !(1..=10_000).contains(&self.full_poll_every) {
            return Err(Error::invalid("full_poll_every", "must be 1–10000"));
        }
        if self.full_poll_max_age.is_zero() {
            return Err(Error::invalid("full_poll_max_age", "must be more than 0"));
        }
        self.thresholds.validate()?;
        self.forecast.validate()?;
        let v3_keys = self.user.is_some()
            || self.auth_password.is_some()
            || self.privacy_password.is_some()
            || self.auth_protocol.is_some()
            || self.privacy_protocol.is_some()
            || self.context.is_some();
        match self.version {
            SnmpVersion::V1 | SnmpVersion::V2c => {
                if v3_keys {
                    return Err(Error::invalid(
                        "version",
                        "user, auth_* and privacy_* are SNMPv3 settings: set version = \"3\"",
                    ));
                }
            }
            SnmpVersion::V3 => {
                if self.community.is_some() {
                    return Err(Error::invalid(
                        "community",
                        "SNMPv3 has no community; give user and auth_password",
                    ));
                }
                if self.user.as_deref().is_none_or(|u| u.trim().is_empty()) {
                    return Err(Error::invalid("user", "SNMPv3 needs a user"));
                }
                if self.auth_password.is_none() {
                    return Err(Error::invalid(
                        "auth_password",
                        "SNMPv3 without authentication is not supported; give auth_password",
                    ));
                }
                if self.privacy_protocol.is_some() && self.privacy_password.is_none() {
                    return Err(Error::invalid(
                        "privacy_password",
                        "missing (privacy_protocol is given)",
                    ));
                }
            }
        }
        Ok(())
    }

    fn auth(&self) -> Result<snmp::Auth> {
        use snmp2::v3;
        let pass = |s: &Secret, field: &str| -> Result<String> {
            let v = s.expose()?;
            if v.len() < 8 {
                return Err(Error::invalid(field, "must be at least 8 characters"));
            }
            Ok(v)
        };
        Ok(match self.version {
            SnmpVersion::V1 | SnmpVersion::V2c => {
                let community = match &self.community {
                    Some(c) => c.expose()?,
                    None => "public".into(),
                };
                if self.version == SnmpVersion::V1 {
                    snmp::Auth::V1(community.into_bytes())
                } else {
                    snmp::Auth::V2c(community.into_bytes())
                }
            }
            SnmpVersion::V3 => {
                let user = self.user.clone().unwrap_or_default();
                let auth_pw = match &self.auth_password {
                    Some(s) => pass(s, "auth_password")?,
                    None => return Err(Error::invalid("auth_password", "missing")),
                };
                let proto = match self.auth_protocol.unwrap_or(AuthProtocol::Sha) {
                    AuthProtocol::Md5 => v3::AuthProtocol::Md5,
                    AuthProtocol::Sha => v3::AuthProtocol::Sha1,
                    AuthProtocol::Sha224 => v3::AuthProtocol::Sha224,
                    AuthProtocol::Sha256 => v3::AuthProtocol::Sha256,
                    AuthProtocol::Sha384 => v3::AuthProtocol::Sha384,
                    AuthProtocol::Sha512 => v3::AuthProtocol::Sha512,
                };
                let mut sec = v3::Security::new(user.as_bytes(), auth_pw.as_bytes())
                    .with_auth_protocol(proto);
                if let Some(p) = &self.privacy_password {
                    let cipher = match self.privacy_protocol.unwrap_or(PrivacyProtocol::Aes) {
                        PrivacyProtocol::Des => v3::Cipher::Des,
                        PrivacyProtocol::Aes => v3::Cipher::Aes128,
                        PrivacyProtocol::Aes192 => v3::Cipher::Aes192,
                        PrivacyProtocol::Aes256 => v3::Cipher::Aes256,
                    };
                    sec = sec
                        .with_auth(v3::Auth::AuthPriv {
                            cipher,
                            privacy_password: pass(p, "privacy_password")?.into_bytes(),
                        })
                        .with_key_extension_method(v3::KeyExtension::Blumenthal);
                } else {
                    sec = sec.with_auth(v3::Auth::AuthNoPriv);
                }
                if let Some(c) = &self.context {
                    sec = sec.with_context_name(c);
                }
                snmp::Auth::V3(Box::new(sec))
            }
        })
    }

    /// Builds the probe, expanding `${VAR}` in the host and the secrets.
    pub fn build(&self) -> Result<PrinterProbe> {
        self.validate()?;
        let host = expand_env(self.host.trim())?;
        let auth = self.auth()?;
        Ok(PrinterProbe {
            host,
            auth,
            interpretation: Interpretation {
                thresholds: self.thresholds,
                low_paper_percent: self.low_paper_percent,
                bypass_trays: self.bypass_trays.clone(),
                waste_level: self.waste_level,
            },
            cfg: self.clone(),
            history: Mutex::new(None),
            session: Mutex::new(None),
            steady: Mutex::new(None),
            names: Mutex::new(MetricNames::default()),
        })
    }
}

/// The `printer` probe. Keeps the recent supply levels in memory (seeded from the stored
/// history on the first run) for the forecast.
pub struct PrinterProbe {
    host: String,
    auth: snmp::Auth,
    interpretation: Interpretation,
    cfg: PrinterConfig,
    /// Percent series by metric name; `None` until seeded.
    history: Mutex<Option<HashMap<String, forecast::Series>>>,
    /// The last successful poll's session, by address.
    session: Mutex<Option<(SocketAddr, snmp::Session)>>,
    /// What the last successful poll learnt, for the next steady-state poll.
    steady: Mutex<Option<Known>>,
    /// The metric names of the supplies and trays, made once.
    names: Mutex<MetricNames>,
}

/// The last report of a printer and the cells a steady-state poll reads to patch it.
struct Known {
    addr: SocketAddr,
    /// `None` when the full poll found nothing to watch (every poll is full then).
    plan: Option<steady::Plan>,
    report: Arc<PrinterReport>,
    /// Cells per GET (all of them, unless the agent said tooBig).
    chunk: usize,
    /// Steady-state polls since the full one.
    polls: u32,
    /// When the full poll was.
    full_at: Instant,
}

/// Metric names by supply and tray, kept while the description or name stays the same.
#[derive(Default)]
struct MetricNames {
    supplies: Vec<SupplyNames>,
    trays: Vec<TrayNames>,
}

struct SupplyNames {
    index: u32,
    description: String,
    /// `supply.<index>.<slug>`: the percentage.
    base: String,
    level: String,
    full: String,
    days_left: String,
}

impl SupplyNames {
    fn new(index: u32, description: &str) -> Self {
        let base = format!("supply.{index}.{}", slug(description));
        Self {
            index,
            description: description.to_string(),
            level: format!("{base}.level"),
            full: format!("{base}.full"),
            days_left: format!("{base}.days_left"),
            base,
        }
    }
}

struct TrayNames {
    index: u32,
    name: String,
    /// `tray.<index>.<slug>`: the percentage.
    base: String,
    level: String,
}

impl TrayNames {
    fn new(index: u32, name: &str) -> Self {
        let base = format!("tray.{index}.{}", slug(name));
        Self {
            index,
            name: name.to_string(),
            level: format!("{base}.level"),
            base,
        }
    }
}

/// The names at position `k` of `names` (at most one past the end): kept when `fits`, else
/// made again.
fn cached<T>(
    names: &mut Vec<T>,
    k: usize,
    fits: impl Fn(&T) -> bool,
    make: impl FnOnce() -> T,
) -> &T {
    match names.get(k) {
        Some(n) if fits(n) => {}
        Some(_) => names[k] = make(),
        None => names.push(make()),
    }
    &names[k]
}

impl std::fmt::Debug for PrinterProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrinterProbe")
            .field("target", &self.target())
            .field("version", &self.cfg.version)
            .finish_non_exhaustive()
    }
}

/// A poll's result with what it cost.
#[derive(Debug, Clone)]
pub struct Poll {
    /// The decoded report (shared with the probe, which patches its own copy next time).
    pub report: Arc<PrinterReport>,
    /// SNMP requests sent.
    pub requests: u64,
    /// Whether it was a full poll (else a steady-state poll: one GET of the cells that
    /// change, and the alert table when it may have changed).
    pub full: bool,
}

impl PrinterProbe {
    async fn resolve(&self) -> std::result::Result<SocketAddr, SnmpError> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            return Ok(SocketAddr::new(ip, self.cfg.port));
        }
        tokio::net::lookup_host((host, self.cfg.port))
            .await
            .map_err(|e| SnmpError::Io(format!("cannot resolve {host}: {e}")))?
            .next()
            .ok_or_else(|| SnmpError::Io(format!("{host} has no address")))
    }

    /// Polls the printer once, giving up at `deadline`: a steady-state poll when the last
    /// poll of this address succeeded on a session that is still open and no full poll is due,
    /// else (or when the steady-state poll finds the structure may have changed) a full poll.
    pub async fn poll(&self, deadline: Instant) -> std::result::Result<Poll, SnmpError> {
        let addr = self.resolve().await?;
        let target = snmp::Target {
            addr,
            auth: self.auth.clone(),
            request_timeout: self.cfg.request_timeout,
            retries: self.cfg.retries,
            max_repetitions: self.cfg.max_repetitions,
        };
        // Reuse the last poll's session to the same address (no socket set-up; for v3 no
        // engine discovery).
        let reused = self
            .session
            .lock()
            .take()
            .filter(|(a, _)| *a == addr)
            .map(|(_, s)| s);
        // What the last poll learnt, when it is still to be trusted: same address, same
        // session, no full poll due.
        let known = self.steady.lock().take().filter(|k| {
            k.addr == addr
                && reused.is_some()
                && k.polls + 1 < self.cfg.full_poll_every
                && k.full_at.elapsed() < self.cfg.full_poll_max_age
        });
        let mut client = snmp::Client::new(target, deadline, reused);
        let mut full = false;
        let known = match known {
            Some(k) => self.steady_poll(&mut client, k).await?,
            None => None,
        };
        let known = match known {
            Some(k) => k,
            None => {
                full = true;
                self.full_poll(&mut client, addr).await?
            }
        };
        let report = known.report.clone();
        let requests = client.requests;
        *self.session.lock() = client.into_session().map(|s| (addr, s));
        *self.steady.lock() = Some(known);
        Ok(Poll {
            report,
            requests,
            full,
        })
    }

    /// The OIDs a steady-state poll of this printer reads (one GET), as the last full poll
    /// found them; empty before the first poll, or when the agent has none of them.
    pub fn steady_state_oids(&self) -> Vec<mib::Oid> {
        self.steady
            .lock()
            .as_ref()
            .and_then(|k| k.plan.as_ref())
            .map(steady::Plan::oids)
            .unwrap_or_default()
    }

    /// A full poll: the scalars and every column.
    async fn full_poll(
        &self,
        client: &mut snmp::Client,
        addr: SocketAddr,
    ) -> std::result::Result<Known, SnmpError> {
        let mut vars = mib::Varbinds::new();
        client.get(mib::scalars(), &mut vars).await?;
        client.walk(mib::walked_columns(), &mut vars).await?;
        let report = mib::decode(&vars);
        let plan = steady::Plan::new(&vars, &report)?;
        Ok(Known {
            addr,
            chunk: plan.as_ref().map_or(1, steady::Plan::len),
            plan,
            report: Arc::new(report),
            polls: 0,
            full_at: Instant::now(),
        })
    }

    /// A steady-state poll: the cells, and the alert table when it may have changed. `None`
    /// when a full poll is needed instead.
    async fn steady_poll(
        &self,
        client: &mut snmp::Client,
        mut known: Known,
    ) -> std::result::Result<Option<Known>, SnmpError> {
        let Some(plan) = known.plan.as_mut() else {
            return Ok(None);
        };
        let outcome = plan
            .read(client, &mut known.report, &mut known.chunk)
            .await?;
        if client.sessions_opened > 0 {
            tracing::debug!(printer = %self.target(), "new SNMP session: full poll");
            return Ok(None);
        }
        match outcome {
            steady::Outcome::Patched { alerts, .. } => {
                if alerts {
                    let dev = known.report.device_index;
                    let mut vars = mib::Varbinds::new();
                    client
                        .walk(&mib::alert_columns(Some(dev)), &mut vars)
                        .await?;
                    let now = mib::decode_alerts(&vars, dev);
                    if now != known.report.alerts {
                        Arc::make_mut(&mut known.report).alerts = now;
                    }
                }
                known.polls += 1;
                Ok(Some(known))
            }
            steady::Outcome::Full(why) => {
                tracing::debug!(printer = %self.target(), "{why}: full poll");
                Ok(None)
            }
            steady::Outcome::TooBig => Ok(None),
        }
    }

    /// Seeds the in-memory series from the stored history, once.
    async fn seed(&self, cx: &CheckContext) {
        if self.history.lock().is_some() {
            return;
        }
        let mut series: HashMap<String, forecast::Series> = HashMap::new();
        if self.cfg.forecast.enabled
            && let Some(h) = &cx.history
        {
            // The window's worth of time (failed runs are stored too, so read by time).
            let f = &self.cfg.forecast;
            let span = f.spacing * u32::try_from(f.readings + 1).unwrap_or(u32::MAX);
            let since = cx.now()
                - chrono::Duration::from_std(span.max(f.min_span * 2))
                    .unwrap_or(chrono::Duration::days(30));
            if let Ok(obs) = h.since(since, SEED_LIMIT).await {
                for o in obs.iter().rev() {
                    for (name, m) in &o.metrics {
                        if is_supply_percent(name) && m.unit == "%" {
                            series.entry(name.to_string()).or_default().push(
                                o.at,
                                m.value,
                                &self.cfg.forecast,
                            );
                        }
                    }
                }
            }
        }
        let mut guard = self.history.lock();
        if guard.is_none() {
            *guard = Some(series);
        }
    }

    /// The observation of one report, taken at `cx.now()`; updates the forecast series.
    pub fn observe(&self, cx: &CheckContext, report: &PrinterReport) -> Observation {
        let at = cx.now();
        let mut metrics = Metrics::new();
        let mut days: Vec<(u32, f64)> = Vec::new();
        let mut names = self.names.lock();
        let MetricNames {
            supplies: supply_names,
            trays: tray_names,
        } = &mut *names;
        supply_names.truncate(report.supplies.len());
        {
            let mut guard = self.history.lock();
            let series = guard.get_or_insert_with(HashMap::new);
            for (k, s) in report.supplies.iter().enumerate() {
                let n = cached(
                    supply_names,
                    k,
                    |n| n.index == s.index && n.description == s.description,
                    || SupplyNames::new(s.index, &s.description),
                );
                if let Some(l) = s.level {
                    metrics.insert(n.level.clone().into(), Metric::new(l as f64, ""));
                }
                if s.is_receptacle() {
                    if let Some(f) = interpret::waste_fullness(s, self.cfg.waste_level) {
                        metrics.insert(n.full.clone().into(), Metric::new(f, "%"));
                    }
                    continue;
                }
                let Some(p) = s.state.percent() else { continue };
                metrics.insert(n.base.clone().into(), Metric::new(p, "%"));
                if self.cfg.forecast.enabled {
                    let sr = match series.get_mut(&n.base) {
                        Some(sr) => sr,
                        None => series.entry(n.base.clone()).or_default(),
                    };
                    sr.push(at, p, &self.cfg.forecast);
                    if let Some(d) = sr.days_left(&self.cfg.forecast) {
                        days.push((s.index, d));
                        metrics.insert(n.days_left.clone().into(), Metric::new(d, "days"));
                    }
                }
            }
        }
        tray_names.truncate(report.trays.len());
        for (k, t) in report.trays.iter().enumerate() {
            let n = cached(
                tray_names,
                k,
                |n| n.index == t.index && n.name == t.name,
                || TrayNames::new(t.index, &t.name),
            );
            if let Some(l) = t.level {
                metrics.insert(n.level.clone().into(), Metric::new(l as f64, ""));
            }
            match t.state {
                TrayState::Known(p) => {
                    metrics.insert(n.base.clone().into(), Metric::new(p, "%"));
                }
                TrayState::Empty => {
                    metrics.insert(n.base.clone().into(), Metric::new(0.0, "%"));
                }
                _ => {}
            }
        }
        drop(names);
        if let Some(p) = report.page_count {
            metrics.insert("pages".into(), Metric::new(p as f64, ""));
        }
        let days_left = |i| days.iter().find(|(s, _)| *s == i).map(|(_, d)| *d);
        let (status, summary) = self.interpretation.verdict(&cx.check, report, &days_left);
        let mut obs = Observation::new(status, summary, at);
        obs.metrics = metrics;
        obs.with_reading(Reading::Printer(Box::new(PrinterReading::new(
            report,
            &self.interpretation,
            &days_left,
        ))))
    }
}

/// At most this many stored observations are read to seed the forecast.
const SEED_LIMIT: usize = 20_000;

fn is_supply_percent(name: &str) -> bool {
    name.starts_with("supply.")
        && !name.ends_with(".level")
        && !name.ends_with(".full")
        && !name.ends_with(".days_left")
}

/// "Black Cartridge 827A" → "black_cartridge_827a".
fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

#[async_trait]
impl Probe for PrinterProbe {
    async fn check(&self, cx: &CheckContext) -> Observation {
        let started = Instant::now();
        // Leave a little of the check's budget for the verdict, so the poll's own deadline
        // (not the monitor's) reports what happened.
        let budget = cx
            .timeout
            .saturating_sub((cx.timeout / 10).min(Duration::from_secs(1)));
        let deadline = started + budget;
        self.seed(cx).await;
        let result = self.poll(deadline).await;
        let latency = started.elapsed();
        match result {
            Ok(poll) => self.observe(cx, &poll.report).with_latency(latency),
            Err(e) => Observation::new(
                Status::Critical,
                format!("{}: {e} ({})", cx.check, self.target()),
                cx.now(),
            )
            .with_latency(latency),
        }
    }

    fn kind(&self) -> &str {
        "printer"
    }

    fn target(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.cfg.port)
        } else {
            format!("{}:{}", self.host, self.cfg.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_from_toml() {
        let c: crate::probe::ProbeConfig = toml::from_str(
            "type = \"printer\"\nhost = \"10.1.0.42\"\ncommunity = \"${FOREWARN_PRINTER_TEST_COMMUNITY}\"\n\
             thresholds = { toner = { warning = 25, critical = 5 } }\nbypass_trays = [\"7\"]",
        )
        .unwrap();
        c.validate().unwrap();
        let crate::probe::ProbeConfig::Printer(p) = &c else {
            panic!("not a printer config")
        };
        assert_eq!(p.thresholds.toner.warning, Some(25.0));
        assert_eq!(p.thresholds.ink.warning, Some(20.0));
        let e = p.build().unwrap_err().to_string();
        assert!(e.contains("FOREWARN_PRINTER_TEST_COMMUNITY"), "{e}");
        // SAFETY: a variable only this test uses.
        unsafe { std::env::set_var("FOREWARN_PRINTER_TEST_COMMUNITY", "s3cret-community") };
        let probe = c.build(&crate::http_client::HttpClients::new()).unwrap();
        assert_eq!(
            (probe.kind(), probe.target().as_str()),
            ("printer", "10.1.0.42:161")
        );
        assert!(!format!("{probe:?}").contains("s3cret"));
        assert!(toml::from_str::<PrinterConfig>("host = \"a\"\ncomunity = \"x\"").is_err());
    }

    fn invalid_field(toml_text: &str) -> String {
        let c: PrinterConfig = toml::from_str(toml_text).unwrap();
        match c.validate().unwrap_err() {
            Error::Invalid { what, .. } => what,
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(invalid_field("host = \"\""), "host");
        assert_eq!(invalid_field("host = \"a\"\nport = 0"), "port");
        assert_eq!(invalid_field("host = \"a\"\nuser = \"u\""), "version");
        assert_eq!(invalid_field("host = \"a\"\nversion = \"3\""), "user");
        assert_eq!(
            invalid_field("host = \"a\"\nversion = \"3\"\nuser = \"u\""),
            "auth_password"
        );
        assert_eq!(
            invalid_field("host = \"a\"\nversion = \"3\"\ncommunity = \"c\""),
            "community"
        );
        assert_eq!(
            invalid_field("host = \"a\"\nthresholds = { toner = { warning = 5, critical = 20 } }"),
            "thresholds.toner"
        );
        assert_eq!(
            invalid_field("host = \"a\"\nrequest_timeout = \"0s\""),
            "request_timeout"
        );
        assert_eq!(
            invalid_field("host = \"a\"\nbypass_trays = [\"7\", \"!\"]"),
            "bypass_trays"
        );
        assert_eq!(
            invalid_field("host = \"a\"\nfull_poll_every = 0"),
            "full_poll_every"
        );
        assert_eq!(
            invalid_field("host = \"a\"\nfull_poll_max_age = \"0s\""),
            "full_poll_max_age"
        );
        let c: PrinterConfig =
            toml::from_str("host = \"a\"\nfull_poll_every = 6\nfull_poll_max_age = \"30m\"")
                .unwrap();
        c.validate().unwrap();
        assert_eq!(
            (c.full_poll_every, c.full_poll_max_age),
            (6, Duration::from_secs(1800))
        );
        assert_eq!(PrinterConfig::new("a").full_poll_every, 60);
        let short: PrinterConfig = toml::from_str(
            "host = \"a\"\nversion = \"3\"\nuser = \"u\"\nauth_password = \"short\"",
        )
        .unwrap();
        assert!(short.validate().is_ok());
        let e = short.build().unwrap_err().to_string();
        assert!(e.contains("auth_password") && !e.contains("short"), "{e}");
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slug("Black Cartridge 827A HP CF300A"),
            "black_cartridge_827a_hp_cf300a"
        );
        assert_eq!(slug("Toner (Cyan)"), "toner_cyan");
        assert!(is_supply_percent("supply.1.toner_cyan"));
        assert!(!is_supply_percent("supply.1.toner_cyan.level"));
    }
}
