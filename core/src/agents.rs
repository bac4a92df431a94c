//! The central side of agents: machines (laptops, servers) that run their own checks and push
//! the observations to a central forewarn.
//!
//! An agent has its own token (the central keeps only its SHA-256) and a group. On an agent's
//! first report the central adds its checks — `NAME` (is it reporting?) and `NAME/CHECK` for each
//! check it runs — as passive checks of the monitor ([`Monitor::add_passive_checks`]): from then
//! on they go through the state machine, incidents, escalation, history and the status page
//! like the monitor's own. Each pushed observation carries the agent's sequence number and is
//! kept once per `(agent, seq)`, so a push retried after a restart of the central counts once.
//!
//! A silent agent is judged by its group's policy (`[agents.groups.NAME]`): `silent_after = 3`
//! raises "agent silent since 14:05" (critical) once three intervals went by without a report;
//! `silent = "ignore"` shows "not reporting" and raises nothing (a laptop gone home).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::monitor::state::StatePolicy;
use crate::monitor::{CheckSpec, Monitor, MonitorBuilder};
use crate::probe::{CheckContext, Observation, Probe, Status};
use crate::store::{AgentObservation, AgentRecord, AgentTokenCheck, Store};

/// The path agents push to on the status server.
pub const PUSH_PATH: &str = "/api/v1/agents/push";

/// How silence of an agent is treated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SilentPolicy {
    /// Critical "agent silent since …" once `silent_after` intervals went by (servers).
    #[default]
    Alert,
    /// Shown as "not reporting"; nothing is raised (laptops that go home).
    Ignore,
}

/// `[agents.groups.NAME]`: how agents of one group are treated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentGroupConfig {
    /// What silence raises: "alert" (default) or "ignore".
    #[serde(default)]
    pub silent: SilentPolicy,
    /// After how many missed intervals an agent counts as silent (default 3, at least 1).
    #[serde(default)]
    pub silent_after: Option<u32>,
    /// What the group's members are: `"agent"` (default: one machine) or `"site"` (a school's
    /// own `forewarn run` forwarding its observations): a silent site is "site unreachable".
    #[serde(default)]
    pub kind: AgentKind,
}

/// What reports to the central (see [`AgentGroupConfig::kind`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentKind {
    /// One machine running `forewarn agent`.
    #[default]
    Agent,
    /// A site: a `forewarn run` with a `[site]` section, monitoring and alerting on its own.
    Site,
}

impl AgentGroupConfig {
    /// Missed intervals before an agent counts as silent.
    pub fn missed_intervals(&self) -> u32 {
        self.silent_after.unwrap_or(DEFAULT_SILENT_AFTER)
    }

    /// Checks the values; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.silent_after == Some(0) {
            return Err(Error::invalid(
                "silent_after",
                "must be at least 1 (missed intervals)",
            ));
        }
        if self.silent == SilentPolicy::Ignore && self.silent_after.is_some() {
            return Err(Error::invalid(
                "silent_after",
                "has no effect with silent = \"ignore\"; remove one of them",
            ));
        }
        Ok(())
    }
}

/// The missed intervals after which an agent counts as silent by default.
pub const DEFAULT_SILENT_AFTER: u32 = 3;

fn default_token_grace() -> Duration {
    Duration::from_secs(86_400)
}

fn default_max_batch() -> usize {
    1_000
}

/// The `[agents]` section of the central's config.
///
/// ```toml
/// [agents.groups.servers]
/// silent_after = 3
///
/// [agents.groups.laptops]
/// silent = "ignore"
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsConfig {
    /// Policies by agent group; a group not listed alerts after 3 missed intervals.
    #[serde(default)]
    pub groups: BTreeMap<String, AgentGroupConfig>,
    /// How long an agent's old token stays valid after a rotation (default "24h").
    #[serde(
        default = "default_token_grace",
        deserialize_with = "crate::config::duration::deserialize"
    )]
    pub token_grace: Duration,
    /// The most observations one push may carry (default 1000).
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
}

impl Default for AgentsConfig {
    fn default() -> Self {
        Self {
            groups: BTreeMap::new(),
            token_grace: default_token_grace(),
            max_batch: default_max_batch(),
        }
    }
}

impl AgentsConfig {
    /// The policy of agents in `group`.
    pub fn group(&self, group: &str) -> AgentGroupConfig {
        self.groups.get(group).cloned().unwrap_or_default()
    }
}

/// One observation as an agent pushes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushedObservation {
    /// The agent's sequence number: increasing, never reused.
    pub seq: i64,
    /// The check, by the agent's own name for it ("host", "smart").
    pub check: String,
    /// What it found: status, summary, metrics, structured reading, time.
    pub observation: Observation,
}

/// The body of `POST /api/v1/agents/push`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Push {
    /// The agent's name (must be the token's).
    pub agent: String,
    /// How often it reports, in seconds.
    pub interval_secs: u64,
    /// The id of the agent's outbox, which numbers the observations: a new one (the old was
    /// lost, or the machine reinstalled) numbers from 1 again, and the central starts the
    /// agent's numbering afresh rather than take the new numbers for retries. Empty from
    /// agents that send none.
    #[serde(default)]
    pub outbox: String,
    /// What it observed, oldest first.
    pub observations: Vec<PushedObservation>,
}

/// The answer to a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushReply {
    /// The highest sequence number stored of this agent's: everything up to it is kept, the
    /// agent may drop it.
    pub stored_up_to: i64,
    /// How many of the pushed observations were new.
    pub new: usize,
}

/// Why a push was refused.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// No token, or one the central does not know (HTTP 401).
    #[error("unknown agent token")]
    Unauthorized,
    /// The agent is revoked, or the token is another agent's (HTTP 403).
    #[error("{0}")]
    Forbidden(String),
    /// The body is not a valid push (HTTP 400).
    #[error("{0}")]
    Invalid(String),
    /// The central failed (HTTP 500).
    #[error(transparent)]
    Internal(#[from] Error),
    /// This instance is a standby; the leader takes pushes (HTTP 503).
    #[error("{0}")]
    Unavailable(String),
}

/// What the status server hands pushes to (implemented by [`AgentHub`]).
#[async_trait]
pub trait AgentIngest: Send + Sync + std::fmt::Debug + 'static {
    /// Takes a push presented with `token`, from `peer`.
    async fn push(
        &self,
        token: &str,
        push: Push,
        peer: Option<std::net::SocketAddr>,
    ) -> std::result::Result<PushReply, PushError>;

    /// The most observations one push may carry.
    fn max_batch(&self) -> usize;
}

/// A new random agent token (256 bits, URL-safe base64, prefixed `fwa_`).
pub fn new_token() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    format!(
        "fwa_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The SHA-256 of a token, in hex: what the store keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// What is wrong with an agent's or a check's name, if anything.
pub fn agent_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > 100 {
        return Some("must be 1 to 100 bytes long".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Some(format!(
            "`{}` may hold only letters, digits, `-`, `_` and `.`",
            crate::text::printable(name)
        ));
    }
    None
}

/// Makes agent `name` in `group` (default `agent:NAME`); returns its token, which is shown
/// once and kept nowhere.
pub async fn create_agent(
    store: &dyn Store,
    name: &str,
    group: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String> {
    if let Some(p) = agent_name_problem(name) {
        return Err(Error::invalid("agent name", p));
    }
    let group = match group {
        Some(g) if !g.trim().is_empty() => g.trim().to_owned(),
        _ => format!("agent:{name}"),
    };
    if let Some(p) = crate::config::name_problem(&group) {
        return Err(Error::invalid("group", p));
    }
    let token = new_token();
    store
        .create_agent(name, &group, &token_hash(&token), now)
        .await?;
    Ok(token)
}

/// Gives agent `name` a new token; the old one stays valid for `grace`. Returns the new one.
pub async fn rotate_token(
    store: &dyn Store,
    name: &str,
    now: DateTime<Utc>,
    grace: Duration,
) -> Result<String> {
    let token = new_token();
    let until = now + chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::zero());
    store
        .rotate_agent_token(name, &token_hash(&token), now, until)
        .await?;
    Ok(token)
}

/// The probe of an agent's checks on the central: it never runs (the agent does).
#[derive(Debug)]
pub struct AgentProbe {
    agent: String,
}

#[async_trait]
impl Probe for AgentProbe {
    fn kind(&self) -> &'static str {
        "agent"
    }

    fn target(&self) -> String {
        self.agent.clone()
    }

    async fn check(&self, cx: &CheckContext) -> Observation {
        Observation::new(
            Status::Unknown,
            format!("reported by agent `{}`, not run here", self.agent),
            cx.now(),
        )
    }
}

/// The name of an agent's check on the central.
pub fn check_name(agent: &str, check: &str) -> String {
    format!("{agent}/{check}")
}

fn interval_of(secs: Option<u64>) -> Duration {
    Duration::from_secs(secs.unwrap_or(60))
        .clamp(crate::monitor::MIN_INTERVAL, crate::monitor::MAX_INTERVAL)
}

/// The passive checks of agent `a` whose own names are `checks` (the heartbeat `NAME` when
/// `heartbeat`).
fn specs(a: &AgentRecord, checks: &[String], heartbeat: bool) -> Vec<CheckSpec> {
    let interval = interval_of(a.interval_secs);
    let probe: Arc<dyn Probe> = Arc::new(AgentProbe {
        agent: a.name.clone(),
    });
    let mut out = Vec::new();
    if heartbeat {
        // Silence is judged by the hub after the group's missed intervals: one verdict tells.
        out.push(
            CheckSpec::new(a.name.clone(), probe.clone())
                .interval(interval)
                .group(a.group.clone())
                .label("agent", a.name.clone())
                .state_policy(StatePolicy {
                    failure_threshold: 1,
                    success_threshold: 1,
                    ..StatePolicy::default()
                }),
        );
    }
    for c in checks {
        out.push(
            CheckSpec::new(check_name(&a.name, c), probe.clone())
                .interval(interval)
                .group(a.group.clone())
                .label("agent", a.name.clone()),
        );
    }
    out
}

/// Adds the checks of every agent the store knows to `builder`, as passive checks, so the
/// monitor restores their saved states. [`Monitor::from_config`] does this.
pub async fn add_known(builder: MonitorBuilder, store: &dyn Store) -> Result<MonitorBuilder> {
    let mut b = builder;
    for a in store.agents().await? {
        if a.last_seen.is_none() {
            continue;
        }
        for spec in specs(&a, &a.checks, true) {
            b = b.passive_check(spec);
        }
    }
    Ok(b)
}

/// What the hub knows of an agent between reports.
#[derive(Debug, Default)]
struct Live {
    /// Its checks the monitor has (own names), with the heartbeat once it is added.
    checks: HashSet<String>,
    heartbeat: bool,
    /// Shown as silent or not reporting since this report.
    silent_since: Option<DateTime<Utc>>,
}

/// The central's agent hub: takes pushes (through the status server, [`AgentIngest`]),
/// adds agents' checks on first contact, and judges silence ([`AgentHub::sweep`]).
#[derive(Debug, Clone)]
pub struct AgentHub {
    inner: Arc<HubInner>,
}

#[derive(Debug)]
struct HubInner {
    monitor: Monitor,
    config: AgentsConfig,
    live: parking_lot::Mutex<HashMap<String, Live>>,
    /// Adding checks is one at a time (two pushes of a new agent add its checks once).
    adding: tokio::sync::Mutex<()>,
}

impl AgentHub {
    /// A hub feeding `monitor`, whose store keeps the agents. Checks the store already knows
    /// (added with [`add_known`]) are taken as present.
    pub async fn new(monitor: Monitor, config: AgentsConfig) -> Result<Self> {
        let mut live = HashMap::new();
        let names: HashSet<String> = monitor.check_names().into_iter().collect();
        for a in monitor.store().agents().await? {
            let l: &mut Live = live.entry(a.name.clone()).or_default();
            l.heartbeat = names.contains(&a.name);
            for c in &a.checks {
                if names.contains(&check_name(&a.name, c)) {
                    l.checks.insert(c.clone());
                }
            }
        }
        Ok(Self {
            inner: Arc::new(HubInner {
                monitor,
                config,
                live: parking_lot::Mutex::new(live),
                adding: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The monitor it feeds.
    pub fn monitor(&self) -> &Monitor {
        &self.inner.monitor
    }

    fn store(&self) -> &Arc<dyn Store> {
        self.inner.monitor.store()
    }

    /// Takes a push from agent `identity` (already authenticated).
    async fn ingest(
        &self,
        agent: &str,
        group: &str,
        push: Push,
    ) -> std::result::Result<PushReply, PushError> {
        let inner = &self.inner;
        if inner.monitor.is_standby() {
            return Err(PushError::Unavailable(
                "this instance is a standby; the leader takes pushes (the agent retries)".into(),
            ));
        }
        let interval = Duration::from_secs(push.interval_secs);
        if interval < crate::monitor::MIN_INTERVAL || interval > crate::monitor::MAX_INTERVAL {
            return Err(PushError::Invalid(format!(
                "interval_secs must be from 1 to 86400, not {}",
                push.interval_secs
            )));
        }
        if push.observations.len() > inner.config.max_batch {
            return Err(PushError::Invalid(format!(
                "at most {} observations per push, not {}",
                inner.config.max_batch,
                push.observations.len()
            )));
        }
        for o in &push.observations {
            if let Some(p) = agent_name_problem(&o.check) {
                return Err(PushError::Invalid(format!("check name {p}")));
            }
            if o.seq <= 0 {
                return Err(PushError::Invalid(format!(
                    "seq must be positive, not {}",
                    o.seq
                )));
            }
        }
        let now = inner.monitor.now();
        self.ensure_checks(agent, group, push.interval_secs, &push.observations)
            .await?;
        let batch: Vec<AgentObservation> = push
            .observations
            .into_iter()
            .map(|o| AgentObservation {
                seq: o.seq,
                check: o.check,
                observation: o.observation,
            })
            .collect();
        let (fresh, stored_up_to) = self
            .store()
            .record_agent_observations(agent, &push.outbox, push.interval_secs, now, &batch)
            .await?;
        let mut new = 0;
        let mut order: Vec<usize> = (0..batch.len()).filter(|&i| fresh[i]).collect();
        order.sort_by_key(|&i| batch[i].seq);
        for i in order {
            new += 1;
            let o = &batch[i];
            inner
                .monitor
                .observe(&check_name(agent, &o.check), o.observation.clone())
                .await?;
        }
        inner
            .live
            .lock()
            .entry(agent.to_owned())
            .or_default()
            .silent_since = None;
        inner
            .monitor
            .observe(
                agent,
                Observation::new(
                    Status::Ok,
                    format!("reporting every {}", crate::probe::human_duration(interval)),
                    now,
                ),
            )
            .await?;
        Ok(PushReply { stored_up_to, new })
    }

    /// Adds the checks of `agent` the monitor does not have yet.
    async fn ensure_checks(
        &self,
        agent: &str,
        group: &str,
        interval_secs: u64,
        observations: &[PushedObservation],
    ) -> Result<()> {
        let missing = |live: &HashMap<String, Live>| -> (bool, Vec<String>) {
            let l = live.get(agent);
            let heartbeat = !l.is_some_and(|l| l.heartbeat);
            let mut checks: Vec<String> = Vec::new();
            for o in observations {
                if !l.is_some_and(|l| l.checks.contains(&o.check)) && !checks.contains(&o.check) {
                    checks.push(o.check.clone());
                }
            }
            (heartbeat, checks)
        };
        if missing(&self.inner.live.lock()) == (false, Vec::new()) {
            return Ok(());
        }
        let _adding = self.inner.adding.lock().await;
        let (heartbeat, checks) = missing(&self.inner.live.lock());
        if !heartbeat && checks.is_empty() {
            return Ok(());
        }
        self.store().add_agent_checks(agent, &checks).await?;
        let record = AgentRecord {
            name: agent.to_owned(),
            group: group.to_owned(),
            created_at: self.inner.monitor.now(),
            revoked_at: None,
            last_seen: None,
            interval_secs: Some(interval_secs),
            max_seq: 0,
            checks: Vec::new(),
        };
        self.inner
            .monitor
            .add_passive_checks(specs(&record, &checks, heartbeat))?;
        tracing::info!(
            agent = %agent,
            group = %group,
            checks = %checks.join(", "),
            "agents: added the checks of an agent"
        );
        let mut live = self.inner.live.lock();
        let l = live.entry(agent.to_owned()).or_default();
        l.heartbeat = true;
        l.checks.extend(checks);
        Ok(())
    }

    /// Judges every agent's silence now: an agent of an alerting group whose last report is
    /// older than its group's missed intervals gets "agent silent since …" (critical); one of
    /// an ignoring group, and its checks, show "not reporting since …". Revoked agents are
    /// left alone. Returns the names of the agents found silent.
    pub async fn sweep(&self) -> Result<Vec<String>> {
        let inner = &self.inner;
        if inner.monitor.is_standby() {
            // The leader judges.
            return Ok(Vec::new());
        }
        let now = inner.monitor.now();
        let zone = inner.monitor.zone();
        let mut silent = Vec::new();
        for a in self.store().agents().await? {
            let Some(seen) = a.last_seen else { continue };
            if a.revoked_at.is_some() {
                continue;
            }
            let has_heartbeat = inner.live.lock().get(&a.name).is_some_and(|l| l.heartbeat);
            if !has_heartbeat {
                continue;
            }
            let policy = inner.config.group(&a.group);
            let interval = interval_of(a.interval_secs);
            let limit = interval * policy.missed_intervals();
            let late = (now - seen).to_std().unwrap_or_default();
            if late <= limit {
                continue;
            }
            silent.push(a.name.clone());
            let since = zone.minute(seen);
            match policy.silent {
                SilentPolicy::Alert => {
                    let missed = late.as_secs() / interval.as_secs().max(1);
                    inner
                        .monitor
                        .observe(
                            &a.name,
                            Observation::new(
                                Status::Critical,
                                match policy.kind {
                                    AgentKind::Agent => format!(
                                        "agent silent since {since} ({missed} intervals missed)"
                                    ),
                                    AgentKind::Site => format!(
                                        "site unreachable since {since} ({missed} intervals \
                                         missed)"
                                    ),
                                },
                                now,
                            ),
                        )
                        .await?;
                }
                SilentPolicy::Ignore => {
                    let first = {
                        let mut live = inner.live.lock();
                        let l = live.entry(a.name.clone()).or_default();
                        let first = l.silent_since != Some(seen);
                        l.silent_since = Some(seen);
                        first
                    };
                    if first {
                        let text = format!("not reporting since {since}");
                        inner.monitor.show_not_reporting(&a.name, &text)?;
                        for c in &a.checks {
                            let _ = inner
                                .monitor
                                .show_not_reporting(&check_name(&a.name, c), &text);
                        }
                    }
                }
            }
        }
        Ok(silent)
    }

    /// Sweeps every `every` until `stop` says so (a failed sweep is logged and retried).
    pub async fn run(&self, every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = self.sweep().await {
                        tracing::warn!(error = %e, "agents: judging silent agents failed");
                    }
                }
                r = stop.changed() => {
                    if r.is_err() || *stop.borrow() {
                        return;
                    }
                }
            }
        }
    }
}

#[async_trait]
impl AgentIngest for AgentHub {
    async fn push(
        &self,
        token: &str,
        push: Push,
        peer: Option<std::net::SocketAddr>,
    ) -> std::result::Result<PushReply, PushError> {
        let peer = peer.map_or_else(|| "unknown".to_owned(), |p| p.ip().to_string());
        let claimed = crate::text::printable(&crate::text::excerpt(&push.agent)).into_owned();
        let now = self.inner.monitor.now();
        match self.store().agent_by_token(&token_hash(token), now).await? {
            AgentTokenCheck::Unknown => {
                tracing::warn!(agent = %claimed, peer = %peer, "agents: refused a push: unknown or expired token");
                Err(PushError::Unauthorized)
            }
            AgentTokenCheck::Revoked { agent } => {
                tracing::warn!(agent = %agent, peer = %peer, "agents: refused a push: the agent is revoked");
                Err(PushError::Forbidden(format!("agent `{agent}` is revoked")))
            }
            AgentTokenCheck::Valid { agent, group } => {
                if agent != push.agent {
                    tracing::warn!(agent = %agent, claimed = %claimed, peer = %peer, "agents: refused a push: the token is another agent's");
                    // Whoever holds the token may learn whose it is: it tells them what to fix.
                    return Err(PushError::Forbidden(format!(
                        "this token is agent `{agent}`'s, not `{claimed}`'s: set `[agent] name = \"{agent}\"` in the agent's config, or make a token for `{claimed}`"
                    )));
                }
                let r = self.ingest(&agent, &group, push).await;
                if let Err(e) = &r {
                    tracing::warn!(agent = %agent, peer = %peer, error = %e, "agents: a push failed");
                }
                r
            }
        }
    }

    fn max_batch(&self) -> usize {
        self.inner.config.max_batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with("fwa_") && a.len() > 40);
        assert_eq!(token_hash(&a).len(), 64);
        assert_eq!(token_hash(&a), token_hash(&format!("{a}\n")));
        assert!(!token_hash(&a).contains(&a[4..]));
    }

    #[test]
    fn names_and_group_policies() {
        assert!(agent_name_problem("lab-pc-12").is_none());
        assert!(agent_name_problem("a/b").is_some());
        assert!(agent_name_problem("").is_some());
        let g = AgentGroupConfig {
            silent_after: Some(0),
            ..Default::default()
        };
        assert!(g.validate().is_err());
        let g = AgentGroupConfig {
            silent: SilentPolicy::Ignore,
            silent_after: Some(2),
            kind: AgentKind::Site,
        };
        assert!(g.validate().is_err());
        assert_eq!(AgentGroupConfig::default().missed_intervals(), 3);
    }
}
