//! The monitor: schedules checks, runs each observation through its [`CheckState`] machine,
//! opens and resolves [`Incident`]s, asks the [`Escalation`] policy who to tell, and queues the
//! notifications in the durable [`Outbox`].
//!
//! Data only moves one way: probe → observation → state machine → transition → incident →
//! escalation → outbox → sink.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::{Semaphore, broadcast, watch};
use tokio::time::Instant;

use crate::clock::{SharedClock, SystemClock, Zone};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::escalation::{Escalation, NotifySinks, SentRecord};
use crate::http_client::HttpClients;
use crate::incident::{Incident, UpdateKind};
use crate::outbox::{Outbox, OutboxOptions, SinkStatus};
use crate::probe::{CheckContext, History, Observation, Probe, Reading, Status};
use crate::sink::{AlertSink, Notification};
use crate::store::{IncidentFilter, OutboxStats, SqliteStore, Store, TransitionRecord};

mod comms;
pub mod deps;
pub mod lag;
pub mod maintenance;
mod packed;
mod public;
pub mod state;
mod wheel;

pub use comms::ServiceStatus;
use deps::DependencyGraph;
use lag::LagHistogram;
use maintenance::MaintenanceWindow;
pub use public::MonitorStatusSource;
use state::{Alert, CheckState, StatePolicy, Suppression, Transition};

/// The longest a check starts before its due time so that it shares a wake-up with the checks
/// due just after it (see [`batch_window_ms`]).
const BATCH_WINDOW_MAX: Duration = Duration::from_millis(100);

/// How many check states are saved per store call.
const STATE_SAVE_BATCH: usize = 4096;

/// The shortest interval a check may have.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// The longest interval (and timeout) a check may have: one day.
pub const MAX_INTERVAL: Duration = Duration::from_secs(86_400);

/// A check to schedule: a probe plus how often, how long, and how to alert.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    /// Unique name.
    pub name: String,
    /// What checks it.
    pub probe: Arc<dyn Probe>,
    /// How often (from [`MIN_INTERVAL`] to [`MAX_INTERVAL`]).
    pub interval: Duration,
    /// Time budget of one run.
    pub timeout: Duration,
    /// Its group.
    pub group: Option<String>,
    /// Checks that must be up for its failures to be notified.
    pub depends_on: Vec<String>,
    /// Thresholds and flap detection.
    pub policy: StatePolicy,
    /// The escalation policy's name (`None`: the monitor's default).
    pub escalation: Option<String>,
    /// Labels copied into notifications (owner, location…).
    pub labels: BTreeMap<String, String>,
}

impl CheckSpec {
    /// A check running `probe` every 30 s with a 10 s timeout.
    pub fn new(name: impl Into<String>, probe: Arc<dyn Probe>) -> Self {
        Self {
            name: name.into(),
            probe,
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            group: None,
            depends_on: Vec::new(),
            policy: StatePolicy::default(),
            escalation: None,
            labels: BTreeMap::new(),
        }
    }

    /// Sets the interval.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the group.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Adds a dependency.
    pub fn depends_on(mut self, parent: impl Into<String>) -> Self {
        self.depends_on.push(parent.into());
        self
    }

    /// Sets the failure and success thresholds.
    pub fn thresholds(mut self, failures: u32, successes: u32) -> Self {
        self.policy.failure_threshold = failures;
        self.policy.success_threshold = successes;
        self
    }

    /// Sets the whole state policy.
    pub fn state_policy(mut self, policy: StatePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Names the escalation policy.
    pub fn escalation(mut self, policy: impl Into<String>) -> Self {
        self.escalation = Some(policy.into());
        self
    }

    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}

/// The current state of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckStatus {
    /// The check's name.
    pub name: String,
    /// The probe's kind ("tcp", "http", …).
    pub kind: String,
    /// What it probes.
    pub target: String,
    /// Its group.
    pub group: Option<String>,
    /// The latest status (`Unknown` before the first run).
    pub status: Status,
    /// The latest summary.
    pub summary: String,
    /// The latest latency.
    #[serde(with = "crate::probe::duration_secs")]
    pub latency: Duration,
    /// When it last ran.
    pub last_checked: Option<DateTime<Utc>>,
    /// Where alerting stands.
    pub alert: Alert,
    /// Whether it is flapping.
    pub flapping: bool,
    /// The active incident, if any.
    pub incident: Option<i64>,
    /// The latest structured reading (a printer's supplies, a disk's health…), when the probe
    /// gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reading: Option<Arc<Reading>>,
}

/// The monitor's own health: checks, sinks, outbox and scheduler.
#[derive(Debug, Clone, Serialize)]
pub struct MonitorStatus {
    /// Every check, in definition order.
    pub checks: Vec<CheckStatus>,
    /// Every sink, by name: whether it can deliver.
    pub sinks: Vec<SinkStatus>,
    /// Outbox depth and failures.
    pub outbox: OutboxStats,
    /// Scheduler counters.
    pub scheduler: SchedulerStats,
}

/// Scheduler counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SchedulerStats {
    /// Checks run.
    pub runs: u64,
    /// Runs skipped because the previous run of the same check was still going.
    pub overruns: u64,
    /// Median delay between when a check was due and when it started, in seconds.
    pub lag_p50: f64,
    /// 99th percentile of that delay, in seconds.
    pub lag_p99: f64,
    /// The largest delay, in seconds.
    pub lag_max: f64,
}

/// Something that happened, for subscribers ([`Monitor::subscribe`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A check's state machine moved.
    Transition {
        /// The check.
        check: String,
        /// What happened.
        transition: Transition,
        /// When.
        at: DateTime<Utc>,
    },
    /// An incident opened.
    IncidentOpened(Incident),
    /// An incident changed (worse, flapping, acknowledged…).
    IncidentUpdated(Incident),
    /// An incident was resolved.
    IncidentResolved(Incident),
}

/// What `checks()` shows of the latest observation (the full one goes to the history).
#[derive(Clone)]
struct LastResult {
    status: Status,
    summary: Box<str>,
    /// In nanoseconds (a `Duration` takes twice the room; 2⁶⁴ ns are 584 years).
    latency_ns: u64,
    at: DateTime<Utc>,
    reading: Option<Arc<Reading>>,
}

/// `new` as a boxed text, written over `old` when it has the same length (a check's summary
/// nearly always does: "connected to … in 0.3 ms" again), so that a steady check allocates
/// and frees nothing for it run after run.
fn reuse_summary(old: Box<str>, new: &str) -> Box<str> {
    if old.len() != new.len() {
        return new.into();
    }
    let mut bytes = old.into_boxed_bytes();
    bytes.copy_from_slice(new.as_bytes());
    // Neither step reallocates: the vector's capacity is its length.
    String::from_utf8(bytes.into_vec())
        .map(String::into_boxed_str)
        .unwrap_or_else(|_| new.into())
}

/// `Runtime::incident` when the check has no active incident.
const NO_INCIDENT: i64 = i64::MIN;

/// `Runtime::escalation` when the check has no escalation policy.
const NO_POLICY: u32 = u32::MAX;

/// One scheduled check: what it runs and where it stands. Kept small, since a district-wide
/// schedule holds hundreds of thousands of them: the name is shared (with the dependency graph
/// and each run's [`CheckContext`]), the state policy is shared between checks that have the
/// same one, the escalation policy is an index, and what few checks have (group, labels) is
/// boxed apart.
struct Runtime {
    name: Arc<str>,
    probe: Arc<dyn Probe>,
    /// The interval and the time budget, in nanoseconds (a `Duration` takes twice the room).
    interval_ns: u64,
    timeout_ns: u64,
    policy: Arc<StatePolicy>,
    /// Index into `Inner::policy_names`, or [`NO_POLICY`].
    escalation: u32,
    running: AtomicBool,
    dirty: AtomicBool,
    /// The active incident's id, or [`NO_INCIDENT`].
    incident: AtomicI64,
    /// The state machine's state and the latest result shown, under one lock.
    state: packed::StateCell,
    extra: Option<Box<Extra>>,
    /// Fed by [`Monitor::observe`] (an agent's pushed observations), never run by the
    /// scheduler.
    passive: bool,
}

/// The parts of a check most checks leave empty.
struct Extra {
    group: Option<String>,
    labels: BTreeMap<String, String>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("name", &self.name)
            .field("probe", &self.probe)
            .field("interval", &self.interval())
            .field("timeout", &self.timeout())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns)
    }

    fn timeout(&self) -> Duration {
        Duration::from_nanos(self.timeout_ns)
    }
}

/// A check's interval or time budget as [`Runtime`] keeps it (both are validated to a day at
/// most, far within the 584 years of `u64` nanoseconds).
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Observations that make a batch for the history: a check that brings the pending ones to
/// this many writes them (unless a write is in progress, which takes them along).
const HISTORY_BATCH: usize = 4096;

/// Pending observations at which checks wait for the history writer.
const HISTORY_BACKLOG: usize = 16 * HISTORY_BATCH;

/// How many checks one chunk of [`Checks`] holds.
const CHECKS_CHUNK: usize = 4096;

/// The checks, in fixed-size chunks: adding one never moves the others, so building a large
/// schedule leaves no freed copies behind (a doubling vector touches and frees about as much
/// memory again as it finally holds, and the allocator keeps much of it).
///
/// Checks added while the monitor runs ([`Monitor::add_passive_checks`]) go to `added`, after
/// the built ones: indexes never change.
#[derive(Debug, Default)]
struct Checks {
    chunks: Vec<Vec<Runtime>>,
    len: usize,
    added: Added,
}

/// How many checks the first bucket of [`Added`] holds; each next one holds twice as many.
const ADDED_FIRST: usize = 64;

/// How many buckets [`Added`] has: room for 64 · (2²⁰ − 1), about 67 million checks.
const ADDED_BUCKETS: usize = 20;

/// Checks appended through a shared reference while readers index the others without a lock:
/// buckets of doubling size, each allocated once and never moved, each slot set once.
#[derive(Debug)]
struct Added {
    buckets: [std::sync::OnceLock<Box<[std::sync::OnceLock<Runtime>]>>; ADDED_BUCKETS],
    /// How many slots are set; a slot is set before `len` counts it.
    len: std::sync::atomic::AtomicUsize,
    /// One writer at a time.
    push: Mutex<()>,
}

impl Default for Added {
    fn default() -> Self {
        Self {
            buckets: std::array::from_fn(|_| std::sync::OnceLock::new()),
            len: std::sync::atomic::AtomicUsize::new(0),
            push: Mutex::new(()),
        }
    }
}

impl Added {
    /// The bucket and the slot in it of the `i`-th added check.
    fn locate(i: usize) -> (usize, usize) {
        let n = i + ADDED_FIRST;
        let bucket =
            (usize::BITS - 1 - n.leading_zeros()) as usize - ADDED_FIRST.trailing_zeros() as usize;
        (bucket, n - (ADDED_FIRST << bucket))
    }

    fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    fn get(&self, i: usize) -> Option<&Runtime> {
        if i >= self.len() {
            return None;
        }
        let (b, slot) = Self::locate(i);
        self.buckets[b].get()?.get(slot)?.get()
    }

    /// Appends `rt` under the caller's `push` guard; returns its index among the added.
    fn push(&self, rt: Runtime) -> Result<usize> {
        let i = self.len();
        let (b, slot) = Self::locate(i);
        let bucket = self
            .buckets
            .get(b)
            .ok_or_else(|| Error::invalid("check", "too many checks added at run time"))?
            .get_or_init(|| {
                (0..ADDED_FIRST << b)
                    .map(|_| std::sync::OnceLock::new())
                    .collect()
            });
        if bucket[slot].set(rt).is_err() {
            return Err(Error::invalid("check", "slot already taken"));
        }
        self.len.store(i + 1, Ordering::Release);
        Ok(i)
    }
}

impl Checks {
    fn len(&self) -> usize {
        self.len + self.added.len()
    }

    fn push(&mut self, rt: Runtime) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHECKS_CHUNK => chunk.push(rt),
            _ => {
                // The first chunk grows as needed (small setups stay small); later ones are
                // allocated whole.
                let mut chunk = if self.chunks.is_empty() {
                    Vec::new()
                } else {
                    Vec::with_capacity(CHECKS_CHUNK)
                };
                chunk.push(rt);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    /// Makes room for `n` more checks in the chunk being filled.
    fn reserve(&mut self, n: usize) {
        if self.chunks.is_empty() {
            self.chunks.push(Vec::with_capacity(n.min(CHECKS_CHUNK)));
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Runtime> {
        let added = self.added.len();
        self.chunks
            .iter()
            .flatten()
            .chain((0..added).filter_map(|i| self.added.get(i)))
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Runtime> {
        self.chunks.iter_mut().flatten()
    }
}

impl std::ops::Index<usize> for Checks {
    type Output = Runtime;

    fn index(&self, i: usize) -> &Runtime {
        if i < self.len {
            &self.chunks[i / CHECKS_CHUNK][i % CHECKS_CHUNK]
        } else {
            self.added
                .get(i - self.len)
                .expect("an index below `Checks::len`")
        }
    }
}

impl Runtime {
    fn group(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.group.as_deref())
    }

    fn incident(&self) -> Option<i64> {
        match self.incident.load(Ordering::Acquire) {
            NO_INCIDENT => None,
            id => Some(id),
        }
    }

    fn set_incident(&self, id: Option<i64>) {
        self.incident
            .store(id.unwrap_or(NO_INCIDENT), Ordering::Release);
    }
}

struct Inner {
    checks: Checks,
    /// Names by index, dependencies and the name → index lookup.
    graph: DependencyGraph,
    /// Names of the checks added while running ([`Monitor::add_passive_checks`]) → index.
    added_names: parking_lot::RwLock<HashMap<Arc<str>, usize>>,
    /// The escalation policy of checks that name none, or [`NO_POLICY`].
    default_policy: u32,
    /// Escalation policy names, as `Runtime::escalation` indexes them.
    policy_names: Vec<String>,
    /// The HTTP client handed to probes in their context.
    http: crate::http_client::HttpClient,
    store: Arc<dyn Store>,
    escalations: BTreeMap<String, Arc<dyn Escalation>>,
    outbox: Outbox,
    clock: SharedClock,
    /// The district's time zone, for times in notification subjects and probe summaries.
    zone: Zone,
    concurrency: usize,
    semaphore: Arc<Semaphore>,
    events: broadcast::Sender<Event>,
    /// The windows from the config, then maintenance planned at run time.
    maintenance: parking_lot::RwLock<Vec<MaintenanceWindow>>,
    maintenance_active: Mutex<Vec<bool>>,
    /// Services, audiences and outages, when there are any.
    comms: Option<comms::Comms>,
    /// A window was taken away: the checks it silenced are looked at again.
    maintenance_removed: AtomicBool,
    retention: Duration,
    history: crate::store::HistoryRetention,
    pending: Mutex<Vec<(Arc<str>, Observation)>>,
    /// Held by the one task writing `pending` to the history: others leave their observations
    /// to it rather than queue batches of their own behind it (see [`Inner::write_history`]).
    history_writer: tokio::sync::Mutex<()>,
    incident_lock: tokio::sync::Mutex<()>,
    restored: tokio::sync::OnceCell<()>,
    next_escalation: Mutex<Option<DateTime<Utc>>>,
    runs: AtomicU64,
    overruns: AtomicU64,
    lag: LagHistogram,
    /// The store's installation id, read on first use.
    installation: tokio::sync::OnceCell<String>,
    /// The first background task of `run_until` that failed; `failed` wakes it.
    failure: Mutex<Option<Error>>,
    failed: tokio::sync::Notify,
    /// Housekeeping ticks (250 ms) between two saves of the check states.
    state_save_ticks: AtomicU64,
    /// Where every observation is also put, to be forwarded to a district's central (a site).
    forward: std::sync::OnceLock<crate::agent::AgentOutbox>,
    /// Another instance sharing the store leads; this one only shows (see [`crate::cluster`]).
    standby: AtomicBool,
    /// How it takes part among instances sharing its store.
    cluster: crate::cluster::ClusterOptions,
}

/// The monitor handle: cheap to clone, all clones share one monitor.
#[derive(Clone)]
pub struct Monitor {
    inner: Arc<Inner>,
}

impl fmt::Debug for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Monitor")
            .field("checks", &self.inner.checks.len())
            .field("store", &self.inner.store)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Monitor`] from code: `Monitor::builder().check(…).sink(…).build()?`.
#[derive(Debug, Default)]
pub struct MonitorBuilder {
    /// Each check in its final, compact form as soon as it is added: building a large schedule
    /// never holds every [`CheckSpec`] and every record at once.
    checks: Checks,
    /// `(check, depends_on)` of the checks that depend on others.
    depends_on: Vec<(usize, Vec<String>)>,
    /// `(check, policy)` of the checks that name an escalation policy.
    named_policies: Vec<(usize, String)>,
    /// The first check found invalid when it was added, reported by `build`.
    invalid: Option<(usize, Error)>,
    /// The distinct state policies seen (most recent last), shared between checks.
    policies: Vec<Arc<StatePolicy>>,
    sinks: BTreeMap<String, Arc<dyn AlertSink>>,
    escalations: BTreeMap<String, Arc<dyn Escalation>>,
    default_escalation: Option<String>,
    store: Option<Arc<dyn Store>>,
    clock: Option<SharedClock>,
    zone: Option<Zone>,
    concurrency: Option<usize>,
    maintenance: Vec<MaintenanceWindow>,
    retention: Option<Duration>,
    history: Option<crate::store::HistoryRetention>,
    outbox: Option<OutboxOptions>,
    http: Option<HttpClients>,
    services: Vec<(String, crate::broadcast::ServiceConfig)>,
    audiences: Vec<(String, crate::broadcast::AudienceConfig)>,
    broadcasts: Option<crate::broadcast::BroadcastSettings>,
    responders: Vec<(String, Arc<dyn crate::autoreply::OutageResponder>)>,
    cluster: Option<crate::cluster::ClusterOptions>,
}

impl MonitorBuilder {
    /// Adds a check.
    pub fn check(mut self, check: CheckSpec) -> Self {
        let i = self.checks.len();
        if self.invalid.is_none()
            && let Err(e) = validate_check(&check)
        {
            self.invalid = Some((i, e));
        }
        if !check.depends_on.is_empty() {
            self.depends_on.push((i, check.depends_on));
        }
        if let Some(e) = check.escalation {
            self.named_policies.push((i, e));
        }
        // Checks mostly share a handful of state policies: one allocation per distinct policy.
        let policy = match self
            .policies
            .iter()
            .rev()
            .take(8)
            .find(|p| ***p == check.policy)
        {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(check.policy);
                self.policies.push(p.clone());
                p
            }
        };
        let extra = (check.group.is_some() || !check.labels.is_empty()).then(|| {
            Box::new(Extra {
                group: check.group,
                labels: check.labels,
            })
        });
        self.checks.push(Runtime {
            name: Arc::from(check.name),
            probe: check.probe,
            interval_ns: nanos(check.interval),
            timeout_ns: nanos(check.timeout),
            policy,
            escalation: NO_POLICY,
            running: AtomicBool::new(false),
            dirty: AtomicBool::new(false),
            incident: AtomicI64::new(NO_INCIDENT),
            state: packed::StateCell::default(),
            extra,
            passive: false,
        });
        self
    }

    /// Adds a check fed by [`Monitor::observe`] instead of run by the scheduler (an agent's
    /// check, known from the store before the monitor restores its saved states). Its probe is
    /// never called.
    pub fn passive_check(mut self, check: CheckSpec) -> Self {
        self = self.check(check);
        if let Some(rt) = self.checks.chunks.last_mut().and_then(|c| c.last_mut()) {
            rt.passive = true;
        }
        self
    }

    /// Makes room for `n` more checks.
    fn reserve(mut self, n: usize) -> Self {
        self.checks.reserve(n);
        self
    }

    /// Adds a sink under `name`.
    pub fn sink(mut self, name: impl Into<String>, sink: Arc<dyn AlertSink>) -> Self {
        self.sinks.insert(name.into(), sink);
        self
    }

    /// Adds an escalation policy under `name`.
    pub fn escalation(mut self, name: impl Into<String>, policy: Arc<dyn Escalation>) -> Self {
        self.escalations.insert(name.into(), policy);
        self
    }

    /// The policy of checks that name none (default: "default", else the only one, else one
    /// that notifies every sink).
    pub fn default_escalation(mut self, name: impl Into<String>) -> Self {
        self.default_escalation = Some(name.into());
        self
    }

    /// The store (default: an in-memory SQLite database).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The district's time zone: times in notification subjects ("since 03:00 CDT") and probe
    /// summaries are shown in it (default: the system's, [`Zone::system`]).
    pub fn zone(mut self, zone: Zone) -> Self {
        self.zone = Some(zone);
        self
    }

    /// How many checks may run at once (default 1024).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = Some(n);
        self
    }

    /// Adds a maintenance window.
    pub fn maintenance(mut self, window: MaintenanceWindow) -> Self {
        self.maintenance.push(window);
        self
    }

    /// How long history is kept (default 30 days; at most 100 years).
    pub fn history(mut self, history: crate::store::HistoryRetention) -> Self {
        self.history = Some(history);
        self
    }

    /// How this monitor takes part among instances sharing its store (see
    /// [`crate::cluster::run`]; default: the host name and process id, a 5 s lease).
    pub fn cluster(mut self, options: crate::cluster::ClusterOptions) -> Self {
        self.cluster = Some(options);
        self
    }

    /// How long resolved incidents and transitions are kept (default 30 days).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Outbox retry settings.
    pub fn outbox_options(mut self, options: OutboxOptions) -> Self {
        self.outbox = Some(options);
        self
    }

    /// Shares an HTTP client cache (the one the probes were built with).
    pub fn http_clients(mut self, clients: HttpClients) -> Self {
        self.http = Some(clients);
        self
    }

    /// Adds a user-facing service (its key names it in audiences and URLs).
    pub fn service(
        mut self,
        key: impl Into<String>,
        service: crate::broadcast::ServiceConfig,
    ) -> Self {
        self.services.push((key.into(), service));
        self
    }

    /// Adds an audience told of outages of the services it cares about.
    pub fn audience(
        mut self,
        key: impl Into<String>,
        audience: crate::broadcast::AudienceConfig,
    ) -> Self {
        self.audiences.push((key.into(), audience));
        self
    }

    /// Sets what every audience's broadcasts share (delay, hold, status page address…).
    pub fn broadcasts(mut self, settings: crate::broadcast::BroadcastSettings) -> Self {
        self.broadcasts = Some(settings);
        self
    }

    /// Adds a responder (auto-reply, voicemail) switched on while services with `autoreply`
    /// are down and put back after.
    pub fn responder(
        mut self,
        name: impl Into<String>,
        responder: Arc<dyn crate::autoreply::OutageResponder>,
    ) -> Self {
        self.responders.push((name.into(), responder));
        self
    }

    /// Validates and builds the monitor.
    pub fn build(self) -> Result<Monitor> {
        let concurrency = self.concurrency.unwrap_or(1024);
        if concurrency == 0 {
            return Err(Error::invalid("concurrency", "must be at least 1"));
        }
        let retention = self.retention.unwrap_or(Duration::from_secs(30 * 86_400));
        if retention > crate::config::MAX_DURATION {
            return Err(Error::invalid("retention", "must be at most 100 years"));
        }
        let history = self.history.unwrap_or_default();
        let cluster = self.cluster.unwrap_or_default();
        history.validate()?;
        let mut escalations = self.escalations;
        if escalations.is_empty() && !self.sinks.is_empty() {
            escalations.insert(
                "default".into(),
                Arc::new(NotifySinks::new(self.sinks.keys().cloned())),
            );
        }
        let names = (self.sinks.keys().map(|n| ("sink name", n)))
            .chain(escalations.keys().map(|n| ("escalation policy name", n)));
        for (what, name) in names {
            if let Some(problem) = crate::config::name_problem(name) {
                return Err(Error::invalid(what, problem));
            }
        }
        let default_escalation = match self.default_escalation {
            Some(d) => Some(d),
            None if escalations.contains_key("default") => Some("default".into()),
            None if escalations.len() == 1 => escalations.keys().next().cloned(),
            None => None,
        };
        for (name, e) in &escalations {
            for s in e.sinks() {
                if !self.sinks.contains_key(&s) {
                    return Err(Error::invalid(
                        "escalation",
                        format!("policy `{name}` names sink `{s}`, which is not added"),
                    ));
                }
            }
        }
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let http = self.http.unwrap_or_default();
        let client = http.get(Default::default());
        let store: Arc<dyn Store> = match self.store {
            Some(s) => s,
            None => Arc::new(SqliteStore::in_memory()?),
        };
        let policy_names: Vec<String> = escalations.keys().cloned().collect();
        let policy_index =
            |name: &str| match policy_names.binary_search_by(|p| p.as_str().cmp(name)) {
                Ok(i) => Ok(u32::try_from(i).unwrap_or(NO_POLICY)),
                Err(_) => Err(name.to_owned()),
            };
        let default_policy = default_escalation.as_deref().map(policy_index);
        let default_policy_index = match &default_policy {
            Some(Ok(p)) => *p,
            _ => NO_POLICY,
        };
        let mut checks = self.checks;
        // The first invalid check wins; within one check, what `check` found comes first.
        let mut invalid = self.invalid;
        let mut named = self.named_policies.into_iter().peekable();
        for (i, rt) in checks.iter_mut().enumerate() {
            if invalid.as_ref().is_some_and(|(j, _)| *j <= i) {
                break;
            }
            let resolved = match named.next_if(|(j, _)| *j == i) {
                Some((_, e)) => Some(policy_index(&e)),
                None => default_policy.clone(),
            };
            match resolved {
                None => {}
                Some(Ok(p)) => rt.escalation = p,
                Some(Err(e)) => {
                    invalid = Some((
                        i,
                        Error::invalid(
                            "escalation",
                            format!("check `{}` names policy `{e}`, which is not added", rt.name),
                        ),
                    ));
                }
            }
        }
        if let Some((_, e)) = invalid {
            return Err(e);
        }
        let mut names = Vec::with_capacity(checks.len());
        names.extend(checks.iter().map(|rt| rt.name.clone()));
        let graph = DependencyGraph::for_checks(names, &self.depends_on).map_err(|e| match e {
            deps::BuildError::Duplicate(name) => {
                Error::invalid("check name", format!("`{name}` is used twice"))
            }
            deps::BuildError::Invalid(e) => e,
        })?;
        let outbox = Outbox::new(
            store.clone(),
            self.sinks,
            clock.clone(),
            self.outbox.unwrap_or_default(),
        );
        let comms = comms::build(
            comms::Parts {
                services: self.services,
                audiences: self.audiences,
                settings: self.broadcasts.unwrap_or_default(),
                zone: self.zone.unwrap_or_else(crate::clock::Zone::system),
                responders: self.responders,
            },
            &checks,
            &graph,
            outbox.sinks(),
        )?;
        let maintenance_active = Mutex::new(vec![false; self.maintenance.len()]);
        Ok(Monitor {
            inner: Arc::new(Inner {
                checks,
                graph,
                added_names: parking_lot::RwLock::new(HashMap::new()),
                default_policy: default_policy_index,
                policy_names,
                http: client,
                store,
                escalations,
                outbox,
                clock,
                zone: self.zone.unwrap_or_else(Zone::system),
                concurrency,
                semaphore: Arc::new(Semaphore::new(concurrency)),
                events: broadcast::channel(1024).0,
                maintenance: parking_lot::RwLock::new(self.maintenance),
                maintenance_active,
                comms,
                maintenance_removed: AtomicBool::new(false),
                retention,
                history,
                pending: Mutex::new(Vec::new()),
                history_writer: tokio::sync::Mutex::new(()),
                incident_lock: tokio::sync::Mutex::new(()),
                restored: tokio::sync::OnceCell::new(),
                next_escalation: Mutex::new(None),
                runs: AtomicU64::new(0),
                overruns: AtomicU64::new(0),
                lag: LagHistogram::default(),
                installation: tokio::sync::OnceCell::new(),
                failure: Mutex::new(None),
                failed: tokio::sync::Notify::new(),
                state_save_ticks: AtomicU64::new(240),
                forward: std::sync::OnceLock::new(),
                standby: AtomicBool::new(false),
                cluster,
            }),
        })
    }
}

/// The name of the check [`Monitor::from_config`] adds for the history's own disk.
pub const HISTORY_STORE_CHECK: &str = "history-store";

impl Monitor {
    /// Starts building a monitor from code.
    pub fn builder() -> MonitorBuilder {
        MonitorBuilder::default()
    }

    /// Builds a monitor from a loaded config: probes, sinks, policies, maintenance windows and
    /// the store named in `[monitor] database` (a SQLite file or a PostgreSQL URL). Restores saved check states and open
    /// incidents, so a restart resumes where it stopped.
    pub async fn from_config(config: &Config) -> Result<Self> {
        let store = crate::store::open(&config.monitor.database).await?;
        Self::from_config_with_store(config, store).await
    }

    /// Like [`Monitor::from_config`] with the store given.
    pub async fn from_config_with_store(config: &Config, store: Arc<dyn Store>) -> Result<Self> {
        let monitor = Self::builder_from_config(config, store, &BTreeMap::new())
            .await?
            .build()?;
        monitor.restore().await?;
        Ok(monitor)
    }

    /// The monitor of `config` with probes and sinks written in code (another language's,
    /// through a binding): opens the store named in `[monitor] database`, runs the
    /// checks named in `probes` with the given probes (see [`Monitor::builder_from_config`]),
    /// delivers for the sinks named in `sinks` with the given sinks, each behind the config's
    /// rate limit for its name, and restores saved states.
    pub async fn from_config_with(
        config: &Config,
        probes: &BTreeMap<String, Arc<dyn Probe>>,
        sinks: Vec<(String, Arc<dyn AlertSink>)>,
    ) -> Result<Self> {
        let store = crate::store::open(&config.monitor.database).await?;
        let mut b = Self::builder_from_config(config, store, probes).await?;
        for (name, sink) in sinks {
            let sink: Arc<dyn AlertSink> = match config.rate_limits.get(&name) {
                Some(limit) => Arc::new(crate::sink::RateLimited::new(&name, sink, *limit)),
                None => sink,
            };
            b = b.sink(name, sink);
        }
        let monitor = b.build()?;
        monitor.restore().await?;
        Ok(monitor)
    }

    /// The builder [`Monitor::from_config_with_store`] builds: the config's sinks, policies,
    /// maintenance windows, services, audiences, responders and checks, the history store's
    /// own check and the agents the store knows, on `store`. More checks and sinks may be added
    /// in code before [`MonitorBuilder::build`] (a sink added under a config sink's name takes
    /// its place); call [`Monitor::restore`] on the built monitor to resume saved states.
    ///
    /// `probes` gives, by check name, the probe of config checks whose probe is written in
    /// code (another language's, through a binding): such a check keeps every setting of its
    /// `[[checks]]` entry (interval, timeout, policy, dependencies, labels) and runs the given
    /// probe instead of building its configured one.
    pub async fn builder_from_config(
        config: &Config,
        store: Arc<dyn Store>,
        probes: &BTreeMap<String, Arc<dyn Probe>>,
    ) -> Result<MonitorBuilder> {
        let clients = HttpClients::new();
        let mut b = Monitor::builder()
            .reserve(config.checks.len())
            .store(store.clone())
            .concurrency(config.monitor.concurrency)
            .retention(config.monitor.retention)
            .history(config.monitor.history.clone())
            .cluster(crate::cluster::ClusterOptions {
                instance: config
                    .monitor
                    .instance
                    .clone()
                    .unwrap_or_else(crate::cluster::default_instance),
                lease: config.monitor.lease,
            })
            .zone(config.zone())
            .http_clients(clients.clone());
        for (name, sink) in &config.sinks {
            let built = sink.build(name, &clients, config.zone()).map_err(|e| {
                config.error_at(None, Some(&format!("sinks.{name}")), e.to_string())
            })?;
            let built: Arc<dyn AlertSink> = match config.rate_limits.get(name) {
                Some(limit) => Arc::new(crate::sink::RateLimited::new(name, built, *limit)),
                None => built,
            };
            b = b.sink(name.clone(), built);
        }
        for (name, policy) in &config.policies {
            b = b.escalation(name.clone(), policy.build());
        }
        if let Some(d) = config.default_policy() {
            b = b.default_escalation(d);
        }
        for w in &config.maintenance {
            b = b.maintenance(w.build_in(config.zone().tz())?);
        }
        for (key, service) in &config.services {
            b = b.service(key.clone(), service.clone());
        }
        for (key, audience) in &config.audiences {
            b = b.audience(key.clone(), audience.clone());
        }
        for (name, r) in &config.responders {
            let built = r.build(name).map_err(|e| {
                config.error_at(None, Some(&format!("responders.{name}")), e.to_string())
            })?;
            b = b.responder(name.clone(), built);
        }
        b = b.broadcasts(config.broadcasts.clone().unwrap_or_default());
        for c in &config.checks {
            let name = c.name.get_ref();
            let probe = match probes.get(name) {
                Some(given) => given.clone(),
                None => c.probe.build(&clients).map_err(|e| {
                    config.error_at(Some(c.name.span()), None, format!("check `{name}`: {e}"))
                })?,
            };
            let mut spec = CheckSpec::new(name.clone(), probe)
                .interval(config.interval_of(c))
                .timeout(config.timeout_of(c))
                .state_policy(c.state_policy());
            spec.depends_on = config.dependencies_of(c);
            spec.group = c.group.as_ref().map(|g| g.get_ref().clone());
            spec.escalation = config.policy_of(c);
            if let Some(o) = &c.owner {
                spec.labels.insert("owner".into(), o.clone());
            }
            if let Some(l) = &c.location {
                spec.labels.insert("location".into(), l.clone());
            }
            b = b.check(spec);
        }
        // The history's own disk, watched like any other check.
        if config.monitor.history.min_free > 0
            && store.space().await?.is_some()
            && !config
                .checks
                .iter()
                .any(|c| c.name.get_ref() == HISTORY_STORE_CHECK)
        {
            let probe = crate::probe::history_store::HistoryStoreProbe::new(
                store.clone(),
                config.monitor.history.min_free,
            );
            // Free space does not flap: one reading below the threshold tells.
            let mut spec = CheckSpec::new(HISTORY_STORE_CHECK, Arc::new(probe))
                .interval(Duration::from_secs(60))
                .timeout(Duration::from_secs(10))
                .state_policy(StatePolicy {
                    failure_threshold: 1,
                    success_threshold: 1,
                    ..StatePolicy::default()
                });
            spec.escalation = config.default_policy();
            b = b.check(spec);
        }
        // Agents' checks the store knows, so their saved states are restored with the rest.
        crate::agents::add_known(b, &*store).await
    }

    /// Loads saved check states and active incidents from the store, once: a restarted
    /// monitor resumes where it stopped. Called by every entry point; idempotent.
    pub async fn restore(&self) -> Result<()> {
        self.inner
            .restored
            .get_or_try_init(|| self.load_saved())
            .await
            .map(|_| ())
    }

    /// Reads the check states, active incidents and each check's newest observation from the
    /// store again, as another instance sharing it left them: a standby keeps its view (and
    /// status page) current with this, and takes it up when it comes to lead.
    pub async fn reload(&self) -> Result<()> {
        for rt in self.inner.checks.iter() {
            rt.set_incident(None);
        }
        if let Some(comms) = &self.inner.comms {
            // The open outages are read again from the store when next needed.
            *comms.outages.lock().await = None;
        }
        self.load_saved().await?;
        let _ = self.inner.restored.set(());
        // What the checks found last, as shown on the status page.
        let names = self.check_names();
        for (name, o) in self.inner.store.latest_observations(&names).await? {
            let Some(i) = self.inner.index_of(&name) else {
                continue;
            };
            let rt = &self.inner.checks[i];
            if rt.state.last().is_none_or(|l| l.at < o.at) {
                rt.state.show(
                    o.status,
                    &o.summary,
                    u64::try_from(o.latency.as_nanos()).unwrap_or(u64::MAX),
                    o.at,
                    o.reading.clone(),
                );
            }
        }
        Ok(())
    }

    /// Marks this monitor a standby (another instance sharing its store leads) or not:
    /// agents' pushes are refused meanwhile, and silent agents are left to the leader.
    pub fn set_standby(&self, standby: bool) {
        self.inner.standby.store(standby, Ordering::Relaxed);
    }

    /// How it takes part among instances sharing its store (`[monitor] instance` and `lease`).
    pub fn cluster_options(&self) -> &crate::cluster::ClusterOptions {
        &self.inner.cluster
    }

    /// Whether another instance sharing the store leads (see [`Monitor::set_standby`]).
    pub fn is_standby(&self) -> bool {
        self.inner.standby.load(Ordering::Relaxed)
    }

    /// Puts every observation, as it goes into the history, also into `outbox`, from which
    /// an [`crate::agent::Uplink`] forwards them to a district's central, in order and each
    /// once (a site). Refused when an outbox is set already.
    pub fn forward_to(&self, outbox: crate::agent::AgentOutbox) -> Result<()> {
        self.inner
            .forward
            .set(outbox)
            .map_err(|_| Error::Conflict("observations are forwarded already".into()))
    }

    /// Saves the check states every `every` while running (default 1 minute; at least
    /// every 250 ms). Instances sharing a store save more often, so the one that takes over
    /// resumes from states a moment old.
    pub fn save_states_every(&self, every: Duration) {
        let ticks = (every.as_millis() / 250).max(1);
        self.inner
            .state_save_ticks
            .store(u64::try_from(ticks).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    async fn load_saved(&self) -> Result<()> {
        let inner = &self.inner;
        inner.sync_planned().await?;
        for (name, state) in inner.store.load_check_states().await? {
            if let Some(i) = inner.index_of(&name) {
                *inner.checks[i].state.lock() = state;
            }
        }
        let active = inner
            .store
            .incidents(&IncidentFilter {
                active_only: true,
                ..Default::default()
            })
            .await?;
        for incident in active {
            if let Some(i) = inner.index_of(&incident.check) {
                inner.checks[i].set_incident(Some(incident.id));
            }
        }
        Ok(())
    }

    /// Subscribes to transitions and incident changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// The time now by the monitor's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// The district's time zone, as the monitor shows times in.
    pub fn zone(&self) -> Zone {
        self.inner.zone
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Adds checks fed by [`Monitor::observe`] while the monitor runs (an agent's checks, on
    /// its first report). From then on they go through the state machine, incidents,
    /// escalation, history and status page like the monitor's own; the scheduler never runs
    /// their probes. Names already taken are refused, and none is added then. Saved states
    /// are not read for them: add checks a store already knows with
    /// [`MonitorBuilder::passive_check`] before the monitor restores.
    pub fn add_passive_checks(&self, specs: Vec<CheckSpec>) -> Result<()> {
        let inner = &self.inner;
        let _writer = inner.checks.added.push.lock();
        {
            let names = inner.added_names.read();
            let mut seen = std::collections::HashSet::new();
            for spec in &specs {
                validate_check(spec)?;
                if !spec.depends_on.is_empty() {
                    return Err(Error::invalid(
                        "depends_on",
                        format!("passive check `{}` cannot depend on others", spec.name),
                    ));
                }
                if inner.graph.index_of(&spec.name).is_some()
                    || names.contains_key(spec.name.as_str())
                    || !seen.insert(spec.name.as_str())
                {
                    return Err(Error::invalid(
                        "check name",
                        format!("`{}` is used twice", spec.name),
                    ));
                }
            }
        }
        let mut runtimes = Vec::with_capacity(specs.len());
        for spec in specs {
            let escalation = match &spec.escalation {
                None => inner.default_policy,
                Some(e) => match inner.policy_names.binary_search(e) {
                    Ok(i) => u32::try_from(i).unwrap_or(NO_POLICY),
                    Err(_) => {
                        return Err(Error::invalid(
                            "escalation",
                            format!(
                                "check `{}` names policy `{e}`, which is not added",
                                spec.name
                            ),
                        ));
                    }
                },
            };
            let extra = (spec.group.is_some() || !spec.labels.is_empty()).then(|| {
                Box::new(Extra {
                    group: spec.group,
                    labels: spec.labels,
                })
            });
            runtimes.push(Runtime {
                name: Arc::from(spec.name),
                probe: spec.probe,
                interval_ns: nanos(spec.interval),
                timeout_ns: nanos(spec.timeout),
                policy: Arc::new(spec.policy),
                escalation,
                running: AtomicBool::new(false),
                dirty: AtomicBool::new(false),
                incident: AtomicI64::new(NO_INCIDENT),
                state: packed::StateCell::default(),
                extra,
                passive: true,
            });
        }
        for rt in runtimes {
            let name = rt.name.clone();
            let i = inner.checks.added.push(rt)?;
            inner.added_names.write().insert(name, inner.checks.len + i);
        }
        Ok(())
    }

    /// Feeds an observation made elsewhere (an agent's report) to the passive check `check`:
    /// state machine, incidents, escalation and history as for a check the monitor ran.
    pub async fn observe(&self, check: &str, obs: Observation) -> Result<()> {
        self.restore().await?;
        let idx = self.inner.index_of(check).ok_or_else(|| Error::NotFound {
            what: "check",
            id: check.to_owned(),
        })?;
        if !self.inner.checks[idx].passive {
            return Err(Error::invalid(
                "check",
                format!("`{check}` is run by the monitor itself, not fed from outside"),
            ));
        }
        self.inner.runs.fetch_add(1, Ordering::Relaxed);
        self.inner.process(idx, obs, 0).await
    }

    /// Shows `summary` (with status unknown) for the passive check `check` without judging
    /// anything: what a check that stopped reporting on purpose (a laptop gone home) shows.
    pub fn show_not_reporting(&self, check: &str, summary: &str) -> Result<()> {
        let idx = self.inner.index_of(check).ok_or_else(|| Error::NotFound {
            what: "check",
            id: check.to_owned(),
        })?;
        let rt = &self.inner.checks[idx];
        let now = self.inner.clock.now();
        rt.state.show_with(|last| LastResult {
            status: Status::Unknown,
            summary: summary.into(),
            latency_ns: 0,
            at: last.map_or(now, |l| l.at),
            reading: None,
        });
        Ok(())
    }

    /// The names of the checks, in definition order.
    pub fn check_names(&self) -> Vec<String> {
        self.inner
            .checks
            .iter()
            .map(|c| c.name.to_string())
            .collect()
    }

    /// The current state of every check, in definition order.
    pub fn checks(&self) -> Vec<CheckStatus> {
        self.inner
            .checks
            .iter()
            .map(|rt| {
                let last = rt.state.last();
                let state = rt.state.lock().clone();
                CheckStatus {
                    name: rt.name.to_string(),
                    kind: rt.probe.kind().to_owned(),
                    target: rt.probe.target(),
                    group: rt.group().map(str::to_owned),
                    status: last.as_ref().map_or(Status::Unknown, |o| o.status),
                    summary: last
                        .as_ref()
                        .map_or_else(|| "not checked yet".to_owned(), |o| o.summary.to_string()),
                    latency: last
                        .as_ref()
                        .map_or(Duration::ZERO, |o| Duration::from_nanos(o.latency_ns)),
                    last_checked: last.as_ref().map(|o| o.at),
                    alert: state.alert,
                    flapping: state.flapping,
                    incident: rt.incident(),
                    reading: last.as_ref().and_then(|o| o.reading.clone()),
                }
            })
            .collect()
    }

    /// The current state of every check, the outbox and the scheduler.
    pub async fn status(&self) -> Result<MonitorStatus> {
        Ok(MonitorStatus {
            checks: self.checks(),
            sinks: self.inner.outbox.sink_status(),
            outbox: self.inner.store.outbox_stats().await?,
            scheduler: self.scheduler_stats(),
        })
    }

    /// Scheduler counters (runs, overruns, schedule lag).
    pub fn scheduler_stats(&self) -> SchedulerStats {
        let i = &self.inner;
        SchedulerStats {
            runs: i.runs.load(Ordering::Relaxed),
            overruns: i.overruns.load(Ordering::Relaxed),
            lag_p50: i.lag.quantile(0.5).as_secs_f64(),
            lag_p99: i.lag.quantile(0.99).as_secs_f64(),
            lag_max: i.lag.max().as_secs_f64(),
        }
    }

    /// Incidents, newest first.
    pub async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        self.inner.store.incidents(filter).await
    }

    /// Records that `by` has taken incident `id`: escalation stops, and sinks that were told
    /// of it hear who took it. Refused when resolved or already acknowledged.
    pub async fn acknowledge(&self, id: i64, by: &str, note: Option<&str>) -> Result<Incident> {
        self.restore().await?;
        let inner = &self.inner;
        let _guard = inner.incident_lock.lock().await;
        let mut incident = inner.store.incident(id).await?.ok_or(Error::NotFound {
            what: "incident",
            id: id.to_string(),
        })?;
        incident.acknowledge(by, note, inner.clock.now())?;
        inner.store.update_incident(&incident).await?;
        let _ = inner.events.send(Event::IncidentUpdated(incident.clone()));
        self.escalate(&incident).await?;
        Ok(incident)
    }

    /// Adds a note by `by` to incident `id`: it goes into the incident's timeline and, when the
    /// incident is behind an outage of a service, into the outage's, which sends every audience
    /// told of it an update.
    pub async fn note(&self, id: i64, by: &str, text: &str) -> Result<Incident> {
        self.restore().await?;
        if by.trim().is_empty() {
            return Err(Error::invalid("by", "who writes the note must be named"));
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::invalid("text", "the note is empty"));
        }
        if text.len() > 4000 {
            return Err(Error::invalid("text", "a note holds at most 4,000 bytes"));
        }
        let inner = &self.inner;
        let incident = {
            let _guard = inner.incident_lock.lock().await;
            let mut incident = inner.store.incident(id).await?.ok_or(Error::NotFound {
                what: "incident",
                id: id.to_string(),
            })?;
            let now = inner.clock.now();
            let status = incident.status;
            incident.push(UpdateKind::Note, status, text, Some(by), now);
            inner.store.update_incident(&incident).await?;
            let _ = inner.events.send(Event::IncidentUpdated(incident.clone()));
            incident
        };
        // The running monitor (this one, or `forewarn run` beside a command) carries the note
        // over to the outage within a second.
        Ok(incident)
    }

    /// Resolves incident `id` by hand (a false alarm, or fixed while its check still fails):
    /// escalation stops, those told hear it is resolved, and a service it kept down counts as
    /// back. The check opens a new incident only after it has recovered and failed again.
    pub async fn resolve(&self, id: i64, by: &str, note: Option<&str>) -> Result<Incident> {
        self.restore().await?;
        if by.trim().is_empty() {
            return Err(Error::invalid("by", "who resolves must be named"));
        }
        let inner = &self.inner;
        let incident = {
            let _guard = inner.incident_lock.lock().await;
            let mut incident = inner.store.incident(id).await?.ok_or(Error::NotFound {
                what: "incident",
                id: id.to_string(),
            })?;
            if !incident.is_active() {
                return Err(Error::Conflict(format!(
                    "incident {id} is already resolved"
                )));
            }
            let now = inner.clock.now();
            let text = match note {
                Some(n) if !n.trim().is_empty() => format!("resolved by {by}: {}", n.trim()),
                _ => format!("resolved by {by}"),
            };
            incident.resolve(&text, now);
            if let Some(u) = incident.updates.last_mut() {
                u.by = Some(by.to_owned());
            }
            inner.store.update_incident(&incident).await?;
            if let Some(i) = inner.index_of(&incident.check)
                && inner.checks[i].incident() == Some(id)
            {
                inner.checks[i].set_incident(None);
            }
            let _ = inner.events.send(Event::IncidentResolved(incident.clone()));
            inner.escalate(&incident).await?;
            incident
        };
        Ok(incident)
    }

    /// Plans maintenance of services: their checks are silenced from `starts_at` to
    /// `ends_at`, audiences are told ahead, at the start and at the end, and the status page
    /// shows it. Kept in the store across restarts. Returns its id.
    pub async fn schedule_maintenance(
        &self,
        mut plan: crate::broadcast::PlannedMaintenance,
    ) -> Result<String> {
        self.restore().await?;
        plan.validate()?;
        let inner = &self.inner;
        if plan.id.is_empty() {
            plan.id = format!("m{}", hex::encode(rand::random::<[u8; 6]>()));
        } else if crate::config::name_problem(&plan.id).is_some() || plan.id.len() > 64 {
            return Err(Error::invalid(
                "id",
                "must be a short name without control characters",
            ));
        }
        inner.planned_window(&plan)?;
        // The running monitor takes it from the store within a second.
        inner.store.save_planned_maintenance(&plan).await?;
        Ok(plan.id)
    }

    /// Cancels maintenance planned at run time; the running monitor looks at its checks again
    /// within a second.
    pub async fn cancel_maintenance(&self, id: &str) -> Result<()> {
        self.restore().await?;
        let inner = &self.inner;
        if !inner.store.delete_planned_maintenance(id).await? {
            return Err(Error::NotFound {
                what: "maintenance",
                id: id.to_owned(),
            });
        }
        Ok(())
    }

    /// Maintenance windows: the config's and those planned at run time.
    pub fn maintenance_windows(&self) -> Vec<MaintenanceWindow> {
        self.inner.maintenance.read().clone()
    }

    /// Every service's state now, in config order (empty without services).
    pub fn services(&self) -> Vec<ServiceStatus> {
        let Some(comms) = &self.inner.comms else {
            return Vec::new();
        };
        self.inner
            .service_views(comms)
            .into_iter()
            .zip(&comms.services)
            .map(|(v, s)| ServiceStatus {
                key: s.key.clone(),
                id: s.slug.clone(),
                name: s.config.name.clone(),
                state: v.state,
                since: v.since,
                checks: s
                    .members
                    .iter()
                    .map(|&i| self.inner.checks[i].name.to_string())
                    .collect(),
            })
            .collect()
    }

    /// Outages: those going on and those started since `since`, newest first.
    pub async fn outages(&self, since: DateTime<Utc>) -> Result<Vec<crate::broadcast::Outage>> {
        self.restore().await?;
        self.inner.store.outages(since, 0).await
    }

    /// Brings services, outages, broadcasts and maintenance announcements up to date now
    /// (`run` does it every second).
    pub async fn communicate(&self) -> Result<()> {
        self.restore().await?;
        self.inner.communicate().await
    }

    /// Puts the responders (auto-reply, voicemail) in line with the current outage message
    /// now; `run` does it in the background, retrying a responder that fails.
    pub async fn apply_responders(&self) -> Result<()> {
        self.restore().await?;
        self.inner.respond_once().await
    }

    /// The current outage message (the auto-reply's subject and body, the voicemail's words),
    /// `None` when no service with `autoreply` has been down for the delay.
    pub fn outage_message(&self) -> Option<crate::autoreply::OutageMessage> {
        self.inner
            .comms
            .as_ref()
            .and_then(|c| c.message.borrow().clone())
    }

    /// Runs every probe once, concurrently, without touching state machines or incidents:
    /// what `forewarn check` prints.
    pub async fn probe_all(&self) -> Vec<(String, Observation)> {
        let futures = (0..self.inner.checks.len())
            .filter(|&i| !self.inner.checks[i].passive)
            .map(|i| async move {
                let _permit = self.inner.semaphore.acquire().await.expect("never closed");
                let obs = self.inner.run_probe(i).await;
                (self.inner.checks[i].name.to_string(), obs)
            });
        futures::future::join_all(futures).await
    }

    /// Runs every check once, concurrently (within the concurrency cap), through the state
    /// machine, incidents and escalation; writes the history, delivers due notifications, and
    /// returns the checks' state.
    pub async fn run_once(&self) -> Result<Vec<CheckStatus>> {
        self.run_pass(false).await?;
        Ok(self.checks())
    }

    /// Runs every check once exactly like [`Monitor::run_once`], and returns with each check's
    /// state the observation this pass made of it (metrics included), so a caller that shows
    /// metrics need not read them back from the history.
    ///
    /// The observation is `None` for a passive check (nothing probed it in this pass), and for
    /// a check whose state shows another run than the one kept (a parent checked again on
    /// demand by a child in the same pass): its state's observation is then in the history.
    pub async fn run_once_observed(&self) -> Result<Vec<(CheckStatus, Option<Observation>)>> {
        let observed = self.run_pass(true).await?;
        Ok(self
            .checks()
            .into_iter()
            .zip(observed)
            .map(|(check, obs)| {
                let obs = obs.filter(|o| check.last_checked == Some(o.at));
                (check, obs)
            })
            .collect())
    }

    /// One pass over every check (the body of [`Monitor::run_once`]); with `keep`, returns a
    /// copy of each check's observation of this pass, in definition order (else nothing).
    async fn run_pass(&self, keep: bool) -> Result<Vec<Option<Observation>>> {
        self.restore().await?;
        let futures = (0..self.inner.checks.len()).map(|i| {
            let inner = self.inner.clone();
            async move {
                let _permit = inner.semaphore.acquire().await.expect("never closed");
                inner.execute(i, 0, keep).await
            }
        });
        let mut observed = Vec::with_capacity(if keep { self.inner.checks.len() } else { 0 });
        for r in futures::future::join_all(futures).await {
            let obs = r?;
            if keep {
                observed.push(obs);
            }
        }
        self.inner.sweep_maintenance().await?;
        self.inner.communicate().await?;
        self.inner.flush_history().await?;
        self.inner.save_states(true).await?;
        self.inner.outbox.deliver_due().await?;
        Ok(observed)
    }

    /// Delivers the outbox's due notifications now; returns how many were delivered.
    pub async fn deliver_outbox(&self) -> Result<usize> {
        self.inner.outbox.deliver_due().await
    }

    /// Re-runs escalation for every active incident (reminders, tiers) and queues what is due.
    pub async fn escalate_all(&self) -> Result<()> {
        let active = self
            .inner
            .store
            .incidents(&IncidentFilter {
                active_only: true,
                ..Default::default()
            })
            .await?;
        for incident in active {
            self.escalate(&incident).await?;
        }
        Ok(())
    }

    async fn escalate(&self, incident: &Incident) -> Result<()> {
        self.inner.escalate(incident).await
    }

    /// Runs until SIGINT or SIGTERM, then shuts down gracefully (in-flight checks finish,
    /// history and states are written, the store is flushed).
    pub async fn run(&self) -> Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Runs until `shutdown` completes, then shuts down gracefully.
    ///
    /// Should a part of the monitor fail meanwhile (the outbox worker, housekeeping, or the
    /// processing of a check panics, or a worker ends early), that is logged at once, the
    /// monitor shuts down the same way, and the failure is returned: it never carries on with
    /// a part missing.
    pub async fn run_until(&self, shutdown: impl Future<Output = ()>) -> Result<()> {
        // One running monitor per history: a second is refused here.
        self.inner.store.claim().await?;
        self.restore().await?;
        let inner = self.inner.clone();
        *inner.failure.lock() = None;
        let (stop_tx, stop_rx) = watch::channel(false);
        let workers = vec![
            // Sinks are checked beside the checks, never before them: a mail server that
            // accepts the connection and never answers only makes its sink degraded.
            inner.spawn_task("the sink watcher", stop_rx.clone(), {
                let outbox = inner.outbox.clone();
                let rx = stop_rx.clone();
                async move { outbox.watch_sinks(rx).await }
            }),
            inner.spawn_task("the outbox worker", stop_rx.clone(), {
                let outbox = inner.outbox.clone();
                let rx = stop_rx.clone();
                async move { outbox.run(rx).await }
            }),
            inner.spawn_task("the responders", stop_rx.clone(), {
                let inner = inner.clone();
                let rx = stop_rx.clone();
                async move { inner.respond(rx).await }
            }),
            inner.spawn_task("housekeeping", stop_rx.clone(), {
                let inner = inner.clone();
                let rx = stop_rx.clone();
                async move { inner.housekeeping(rx).await }
            }),
        ];
        let scheduler = AssertUnwindSafe(inner.clone().schedule(stop_rx.clone())).catch_unwind();
        let failed = async {
            while inner.failure.lock().is_none() {
                inner.failed.notified().await;
            }
        };
        tokio::pin!(scheduler);
        tokio::pin!(shutdown);
        tokio::pin!(failed);
        let result = tokio::select! {
            r = &mut scheduler => r.unwrap_or_else(|panic| Err(Error::Stopped {
                task: "the scheduler".into(),
                message: format!("panicked: {}", panic_message(panic.as_ref())),
            })),
            _ = &mut shutdown => Ok(()),
            _ = &mut failed => Ok(()),
        };
        let _ = stop_tx.send(true);
        // Let in-flight checks finish (each is bounded by its own timeout).
        let longest = inner
            .checks
            .iter()
            .map(|c| c.timeout())
            .max()
            .unwrap_or_default();
        let _ = tokio::time::timeout(
            longest.saturating_add(Duration::from_secs(1)),
            inner.semaphore.acquire_many(inner.concurrency as u32),
        )
        .await;
        for w in workers {
            // Each reports its own failure; a join error can only be a cancellation.
            let _ = w.await;
        }
        inner.flush_history().await?;
        inner.save_states(true).await?;
        inner.store.flush().await?;
        if let Err(e) = &result {
            tracing::error!(error = %e, "the monitor stopped");
        }
        match inner.failure.lock().take() {
            Some(failure) => Err(failure),
            None => result,
        }
    }
}

/// What makes a check invalid on its own (the monitor checks names against each other and
/// policies when it is built).
fn validate_check(spec: &CheckSpec) -> Result<()> {
    if spec.name.trim().is_empty() {
        return Err(Error::invalid("check name", "must not be empty"));
    }
    if let Some(problem) = crate::config::name_problem(&spec.name) {
        return Err(Error::invalid("check name", problem));
    }
    if spec.interval < MIN_INTERVAL {
        return Err(Error::invalid(
            "interval",
            format!("check `{}`: must be at least 1s", spec.name),
        ));
    }
    if spec.interval > MAX_INTERVAL {
        return Err(Error::invalid(
            "interval",
            format!("check `{}`: must be at most 1 day", spec.name),
        ));
    }
    if spec.timeout.is_zero() || spec.timeout > MAX_INTERVAL {
        return Err(Error::invalid(
            "timeout",
            format!(
                "check `{}`: must be more than 0 and at most 1 day",
                spec.name
            ),
        ));
    }
    if spec.policy.failure_threshold == 0 || spec.policy.success_threshold == 0 {
        return Err(Error::invalid(
            "thresholds",
            format!("check `{}`: must be at least 1", spec.name),
        ));
    }
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
///
/// The handlers are installed when this is called, not when the future is first polled: a
/// program calls it first thing, and a signal that arrives while it is still starting up
/// ends the run gracefully as soon as it begins instead of killing the process. Must be called
/// inside a Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let installed = signal(SignalKind::interrupt())
            .and_then(|int| Ok((int, signal(SignalKind::terminate())?)));
        async move {
            match installed {
                Ok((mut int, mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot install the SIGTERM handler; only Ctrl-C stops the monitor");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let ctrl_c = tokio::signal::ctrl_c();
        async move {
            let _ = ctrl_c.await;
        }
    }
}

/// The first instant of the grid `origin + k·interval` (k ≥ 0) strictly after `after`.
fn next_slot(origin: Instant, interval: Duration, after: Instant) -> Instant {
    if after < origin {
        return origin;
    }
    let k = after.duration_since(origin).as_nanos() / interval.as_nanos().max(1) + 1;
    origin + interval * k as u32
}

/// When a check that was due at `due` and starts at `now` runs next: the slot on its grid
/// (`origin + k·interval`) at least half an interval later. Computed from the grid, not from
/// the run, so nothing drifts over hours; slots missed while the machine was stalled are
/// skipped rather than run in a burst; and a run from the compressed first round is not
/// followed at once by its own slot on the grid.
fn next_run(origin: Instant, interval: Duration, due: Instant, now: Instant) -> Instant {
    next_slot(origin, interval, due.max(now) + interval / 2)
}

/// The scheduler's batch window, in milliseconds, for checks whose shortest interval is
/// `shortest`: 5 % of it, at least 1 ms and at most [`BATCH_WINDOW_MAX`] (50 ms for checks every
/// second, 100 ms from every 2 s on).
///
/// The time line is cut into windows of this length from the scheduler's start, and the checks
/// due within one window all start at its beginning, in one wake-up. A connect to a server that
/// has gone idle costs the kernel a wake-up of that server as well as the connect: checks run in
/// a burst keep both sides awake, as a tool that checks everything once per cycle does, and cost
/// 30–40 % less CPU per check than the same checks started one by one (benches/README.md,
/// "Against monit"). Each check still keeps its own place on its own grid: it starts at most one
/// window early, the same amount early in every round when its interval is a multiple of the
/// window, and its next run is computed from its due time, so nothing drifts.
fn batch_window_ms(shortest: Duration) -> u64 {
    let window = (shortest / 20).min(BATCH_WINDOW_MAX);
    (window.as_millis() as u64).max(1)
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

/// Each check's offset within its interval, in nanoseconds: the checks sharing an interval are
/// spaced evenly over it, in the order they were added, so they never fire in lockstep and the
/// load is flat. Each interval's grid is also shifted by a fraction of one spacing of its own
/// (`g / G` for the g-th of G distinct intervals), so checks of different intervals (a lone
/// check of each, say) do not all start together. Neighbours in time are neighbours in memory
/// too: the scheduler then walks the check records, names and probes in order instead of
/// jumping between them at random, which at 10⁵–10⁶ checks spares most of the cache and TLB
/// misses a run would otherwise cost.
fn spread_offsets<I: Iterator<Item = Duration>>(intervals: impl Fn() -> I) -> Vec<u64> {
    // Interval → (its index among the intervals, checks seen so far, checks in all).
    let mut groups: HashMap<Duration, (u128, u128, u128)> = HashMap::new();
    for interval in intervals() {
        let next = groups.len() as u128;
        groups.entry(interval).or_insert((next, 0, 0)).2 += 1;
    }
    let distinct = groups.len() as u128;
    intervals()
        .map(|interval| {
            let (group, rank, count) = groups.get_mut(&interval).expect("counted above");
            let slot = *rank * distinct + *group;
            *rank += 1;
            (interval.as_nanos() * slot / (*count * distinct)) as u64
        })
        .collect()
}

impl Inner {
    /// The index of the check named `name`, built or added.
    fn index_of(&self, name: &str) -> Option<usize> {
        self.graph
            .index_of(name)
            .or_else(|| self.added_names.read().get(name).copied())
    }

    /// Records that `task` failed (the first failure is kept), logs it and wakes `run_until`,
    /// which then shuts down.
    fn fail(&self, task: String, message: String) {
        tracing::error!(task = %task, error = %message, "a part of the monitor failed; stopping");
        let mut failure = self.failure.lock();
        if failure.is_none() {
            *failure = Some(Error::Stopped { task, message });
        }
        drop(failure);
        self.failed.notify_one();
    }

    /// Spawns a background task of `run_until`. It is expected to run until `stop` turns
    /// true; an error, a panic or an early end is reported through [`Inner::fail`].
    fn spawn_task(
        self: &Arc<Self>,
        task: &'static str,
        stop: watch::Receiver<bool>,
        work: impl Future<Output = Result<()>> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let inner = self.clone();
        tokio::spawn(async move {
            let message = match AssertUnwindSafe(work).catch_unwind().await {
                Ok(Ok(())) if *stop.borrow() => return,
                Ok(Ok(())) => "ended while the monitor was running".to_owned(),
                Ok(Err(e)) => e.to_string(),
                Err(panic) => format!("panicked: {}", panic_message(panic.as_ref())),
            };
            inner.fail(task.to_owned(), message);
        })
    }

    /// What the probe of `rt` is handed for one run (built per run rather than kept per check:
    /// a handful of reference-count increments against 88 bytes per check).
    fn context(&self, rt: &Runtime) -> CheckContext {
        CheckContext {
            check: rt.name.clone(),
            timeout: rt.timeout(),
            clock: self.clock.clone(),
            zone: self.zone,
            http: self.http.clone(),
            history: Some(History::new(self.store.clone(), rt.name.clone())),
        }
    }

    /// Runs one probe with its timeout, turning a hang into Critical and a panic into Unknown.
    async fn run_probe(&self, idx: usize) -> Observation {
        let rt = &self.checks[idx];
        let at = self.clock.now();
        let started = std::time::Instant::now();
        let cx = self.context(rt);
        let fut = AssertUnwindSafe(rt.probe.check(&cx)).catch_unwind();
        let mut obs = match tokio::time::timeout(rt.timeout(), fut).await {
            Ok(Ok(obs)) => obs,
            Ok(Err(panic)) => Observation::new(
                Status::Unknown,
                format!("probe panicked: {}", panic_message(panic.as_ref())),
                at,
            ),
            Err(_) => Observation::new(
                Status::Critical,
                format!(
                    "timed out after {}",
                    crate::probe::human_duration(rt.timeout())
                ),
                at,
            ),
        };
        if obs.latency.is_zero() {
            obs.latency = started.elapsed();
        }
        obs
    }

    /// Runs check `idx` and processes its observation. `depth` > 0 for on-demand parent checks.
    /// With `keep`, returns a copy of the observation (the only path that clones it).
    fn execute(
        self: &Arc<Self>,
        idx: usize,
        depth: u8,
        keep: bool,
    ) -> futures::future::BoxFuture<'_, Result<Option<Observation>>> {
        async move {
            if self.checks[idx].passive {
                return Ok(None);
            }
            let obs = self.run_probe(idx).await;
            self.runs.fetch_add(1, Ordering::Relaxed);
            let kept = keep.then(|| obs.clone());
            self.process(idx, obs, depth).await?;
            Ok(kept)
        }
        .boxed()
    }

    /// Why notifications of check `idx` are silenced right now, if they are.
    fn gate(&self, idx: usize, now: DateTime<Utc>) -> Option<Suppression> {
        let rt = &self.checks[idx];
        for w in self.maintenance.read().iter() {
            if w.applies_to(&rt.name, rt.group()) && w.is_active(now) {
                return Some(Suppression::Maintenance {
                    window: w.name().to_owned(),
                });
            }
        }
        for &p in self.graph.parents(idx) {
            if self.checks[p].state.lock().is_down() {
                return Some(Suppression::Dependency {
                    parent: self.checks[p].name.to_string(),
                });
            }
        }
        None
    }

    async fn process(self: &Arc<Self>, idx: usize, obs: Observation, depth: u8) -> Result<()> {
        let rt = &self.checks[idx];
        let now = self.clock.now();
        let status = obs.status;
        let mut gate = self.gate(idx, now);
        // About to open with parents that look up: check them first, so a dead switch and
        // the printers behind it produce one alert, whatever order they ran in.
        if gate.is_none()
            && depth == 0
            && !self.graph.parents(idx).is_empty()
            && rt.state.lock().would_open(&rt.policy, status)
        {
            for &p in self.graph.parents(idx) {
                let parent = &self.checks[p];
                if parent.state.lock().is_down() {
                    continue;
                }
                if !parent.running.swap(true, Ordering::AcqRel) {
                    let r = self.execute(p, depth + 1, false).await;
                    parent.running.store(false, Ordering::Release);
                    r?;
                } else {
                    // The parent is being checked right now by another task: its verdict is
                    // what this one needs, so wait for it (at most its own time budget).
                    let until = Instant::now() + parent.timeout();
                    while parent.running.load(Ordering::Acquire) && Instant::now() < until {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
            gate = self.gate(idx, now);
        }
        let transitions = {
            let mut state = rt.state.lock();
            let before = state.steady_mark();
            let transitions = state.observe(&rt.policy, status, now, gate.as_ref());
            // A steady check (nothing to tell, the same status again) is not saved again: its
            // stored state says the same after a restart. At 10⁶ checks that spares a state
            // row per run.
            if state.needs_saving(before, &transitions) {
                rt.dirty.store(true, Ordering::Relaxed);
            }
            transitions
        };
        rt.state.show(
            status,
            &obs.summary,
            u64::try_from(obs.latency.as_nanos()).unwrap_or(u64::MAX),
            obs.at,
            obs.reading.clone(),
        );
        self.pending.lock().push((rt.name.clone(), obs));
        if !transitions.is_empty() {
            self.apply(idx, transitions, now).await?;
        }
        let pending = self.pending.lock().len();
        if pending >= HISTORY_BATCH {
            if pending >= HISTORY_BACKLOG {
                // The history is behind by many batches: wait for the writer (the checks slow
                // down) rather than let observations pile up without bound.
                let _writer = self.history_writer.lock().await;
            }
            self.write_history(false).await?;
        }
        Ok(())
    }

    /// Turns transitions into incident changes, history and notifications.
    fn apply(
        self: &Arc<Self>,
        idx: usize,
        transitions: Vec<Transition>,
        now: DateTime<Utc>,
    ) -> futures::future::BoxFuture<'_, Result<()>> {
        async move {
            let rt = &self.checks[idx];
            let name = &*rt.name;
            let summary = rt.state.summary();
            let mut released = false;
            let guard = self.incident_lock.lock().await;
            let mut records = Vec::with_capacity(transitions.len());
            let mut changed: Option<Incident> = None;
            for t in transitions {
                let current = rt.incident();
                let mut incident = match (current, &changed) {
                    (_, Some(i)) if i.is_active() => Some(i.clone()),
                    (Some(id), _) => self.store.incident(id).await?,
                    _ => None,
                };
                match &t {
                    Transition::Opened { status: s } => {
                        if incident.is_none() {
                            changed = Some(self.open_incident(rt, *s, &summary, false, now).await?);
                        }
                    }
                    Transition::FlappingStarted { status: s, .. } => {
                        if let Some(mut i) = incident.take() {
                            i.flapping = true;
                            i.push(UpdateKind::Flapping, *s, &summary, None, now);
                            self.store.update_incident(&i).await?;
                            let _ = self.events.send(Event::IncidentUpdated(i.clone()));
                            changed = Some(i);
                        } else if matches!(rt.state.lock().alert, Alert::Open { .. }) {
                            // Flapping while suppressed (parent down, maintenance) is only
                            // recorded; otherwise it opens one incident marked flapping.
                            changed = Some(self.open_incident(rt, *s, &summary, true, now).await?);
                        }
                    }
                    Transition::Worsened { to, .. }
                    | Transition::Improved { to, .. }
                    | Transition::FlappingStopped { status: to } => {
                        if let Some(mut i) = incident.take() {
                            let kind = match &t {
                                Transition::Worsened { .. } => UpdateKind::Worsened,
                                Transition::Improved { .. } => UpdateKind::Improved,
                                _ => UpdateKind::Stable,
                            };
                            if kind == UpdateKind::Stable {
                                i.flapping = false;
                                if !to.is_failure() {
                                    // A Recovered follows and resolves it.
                                    changed = Some(i);
                                    records.push(self.record(name, t.clone(), now, rt));
                                    continue;
                                }
                            }
                            i.push(kind, *to, &summary, None, now);
                            self.store.update_incident(&i).await?;
                            let _ = self.events.send(Event::IncidentUpdated(i.clone()));
                            changed = Some(i);
                        }
                    }
                    Transition::Recovered => {
                        if let Some(mut i) = incident.take() {
                            i.resolve(&summary, now);
                            self.store.update_incident(&i).await?;
                            rt.set_incident(None);
                            let _ = self.events.send(Event::IncidentResolved(i.clone()));
                            changed = Some(i);
                        }
                        released = true;
                    }
                    Transition::Released => released = true,
                    Transition::Suppressed { .. } => {}
                }
                records.push(self.record(name, t, now, rt));
            }
            self.store.record_transitions(&records).await?;
            for r in records {
                let _ = self.events.send(Event::Transition {
                    check: r.check,
                    transition: r.transition,
                    at: r.at,
                });
            }
            if let Some(incident) = &changed {
                self.escalate(incident).await?;
            }
            drop(guard);
            // Persist the state now: transitions must survive a crash.
            let state = rt.state.lock().clone();
            self.store
                .save_check_states(&[(name.to_owned(), state)])
                .await?;
            rt.dirty.store(false, Ordering::Relaxed);
            if released || !rt.state.lock().is_down() {
                self.release_children(idx).await?;
            }
            Ok(())
        }
        .boxed()
    }

    /// Opens (and stores) an incident for the check behind `rt`.
    async fn open_incident(
        &self,
        rt: &Runtime,
        status: Status,
        summary: &str,
        flapping: bool,
        now: DateTime<Utc>,
    ) -> Result<Incident> {
        let policy = self
            .policy_names
            .get(rt.escalation as usize)
            .map_or("", String::as_str);
        let mut i = Incident::open(&rt.name, rt.group(), policy, status, summary, flapping, now);
        i.id = self.store.insert_incident(&i).await?;
        rt.set_incident(Some(i.id));
        let _ = self.events.send(Event::IncidentOpened(i.clone()));
        Ok(i)
    }

    fn record(
        &self,
        check: &str,
        t: Transition,
        at: DateTime<Utc>,
        rt: &Runtime,
    ) -> TransitionRecord {
        TransitionRecord {
            check: check.to_owned(),
            at,
            transition: t,
            incident_id: rt.incident(),
        }
    }

    /// A parent came back: check again, now, the children whose failures it suppressed. What
    /// they said while it was down may only have been its outage (a printer behind a dead
    /// switch), so a fresh observation decides: still failing opens their own incident, ok
    /// clears them quietly. A child being checked at this moment is left to that run.
    async fn release_children(self: &Arc<Self>, idx: usize) -> Result<()> {
        let suppressed = self.graph.children(idx).iter().copied().filter(|&c| {
            matches!(
                self.checks[c].state.lock().alert,
                Alert::Suppressed {
                    reason: Suppression::Dependency { .. },
                    ..
                }
            )
        });
        let runs = suppressed.map(|c| async move {
            let child = &self.checks[c];
            if child.running.swap(true, Ordering::AcqRel) {
                return Ok(());
            }
            let r = self.execute(c, 1, false).await;
            child.running.store(false, Ordering::Release);
            r.map(|_| ())
        });
        for r in futures::future::join_all(runs).await {
            r?;
        }
        Ok(())
    }

    async fn reevaluate(self: &Arc<Self>, idx: usize, now: DateTime<Utc>) -> Result<()> {
        let gate = self.gate(idx, now);
        let rt = &self.checks[idx];
        let transitions = rt.state.lock().reevaluate(&rt.policy, now, gate.as_ref());
        if !transitions.is_empty() {
            self.apply(idx, transitions, now).await?;
        }
        Ok(())
    }

    /// Re-evaluates checks whose maintenance window started or ended.
    async fn sweep_maintenance(self: &Arc<Self>) -> Result<()> {
        if self.maintenance.read().is_empty() && !self.maintenance_removed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let now = self.clock.now();
        let ended: Vec<usize> = {
            let windows = self.maintenance.read();
            let mut active = self.maintenance_active.lock();
            active.resize(windows.len(), false);
            let mut ended = Vec::new();
            if self.maintenance_removed.swap(false, Ordering::Relaxed) {
                // A window taken away ends now for the checks it silenced.
                ended.push(usize::MAX);
            }
            for (i, w) in windows.iter().enumerate() {
                let a = w.is_active(now);
                if active[i] && !a {
                    ended.push(i);
                }
                active[i] = a;
            }
            ended
        };
        if ended.is_empty() {
            return Ok(());
        }
        for idx in 0..self.checks.len() {
            let in_maintenance = matches!(
                self.checks[idx].state.lock().alert,
                Alert::Suppressed {
                    reason: Suppression::Maintenance { .. },
                    ..
                }
            );
            if in_maintenance {
                self.reevaluate(idx, now).await?;
            }
        }
        Ok(())
    }

    /// The installation id notifications carry.
    async fn installation(&self) -> Result<&str> {
        self.installation
            .get_or_try_init(|| self.store.installation_id())
            .await
            .map(String::as_str)
    }

    async fn escalate(&self, incident: &Incident) -> Result<()> {
        let Some(policy) = self.escalations.get(&incident.policy) else {
            return Ok(());
        };
        let now = self.clock.now();
        let mut sent = self.store.sent_records(incident.id).await?;
        let due = policy.decide(incident, &sent, now);
        if !due.is_empty() {
            let labels = self
                .index_of(&incident.check)
                .and_then(|i| self.checks[i].extra.as_ref())
                .map(|e| e.labels.clone())
                .unwrap_or_default();
            for d in due {
                let installation = self.installation().await?;
                let mut n = Notification::for_incident_in(
                    self.zone,
                    incident,
                    installation,
                    &d.sink,
                    &d.key,
                    d.kind,
                    now,
                );
                n.labels.extend(labels.clone());
                if self.store.enqueue(&n, now).await? {
                    self.outbox.hold_for_grouping(&n, now).await?;
                }
                sent.push(SentRecord {
                    sink: d.sink,
                    key: d.key,
                    at: now,
                });
            }
            self.outbox.wake();
        }
        // Remember when this policy next has something to say (a tier, a reminder), so the
        // housekeeping loop asks again exactly then rather than on a coarse poll.
        if incident.is_active()
            && let Some(at) = policy.next_wakeup(incident, &sent, now)
        {
            let mut next = self.next_escalation.lock();
            if next.is_none_or(|n| at < n) {
                *next = Some(at);
            }
        }
        Ok(())
    }

    /// Writes every pending observation to the history, after any write in progress.
    async fn flush_history(&self) -> Result<()> {
        self.write_history(true).await
    }

    /// Writes pending observations to the history. One task writes at a time: when another is
    /// writing, a caller that does not `wait` returns at once and leaves its observations to
    /// that writer, so a slow moment of the store (a save of every open hour, an hour closing)
    /// costs one batch in flight and the observations meanwhile, not a queue of batches each
    /// on a thread of its own.
    ///
    /// With `wait`, it writes until nothing is pending (for when the checks have stopped or a
    /// pass has ended). Without it, it writes what is pending once, and again only while a
    /// whole batch has come in meanwhile: while checks run, a loop until nothing is pending
    /// would chase each window's handful of new observations with a transaction of its own
    /// (at 2,000 checks a second, thirty or so small commits a second instead of one per
    /// housekeeping tick, each with its wake-ups).
    async fn write_history(&self, wait: bool) -> Result<()> {
        let _writer = if wait {
            self.history_writer.lock().await
        } else {
            match self.history_writer.try_lock() {
                Ok(w) => w,
                Err(_) => return Ok(()),
            }
        };
        loop {
            let batch = std::mem::take(&mut *self.pending.lock());
            if batch.is_empty() {
                return Ok(());
            }
            let forwarded = self.forward.get().map(|outbox| {
                let copy: Vec<(String, Observation)> = batch
                    .iter()
                    .map(|(c, o)| (c.to_string(), o.clone()))
                    .collect();
                (outbox, copy)
            });
            self.store.record_observations(batch).await?;
            if let Some((outbox, copy)) = forwarded {
                outbox.push(copy).await?;
            }
            if !wait && self.pending.lock().len() < HISTORY_BATCH {
                return Ok(());
            }
        }
    }

    /// When the history's disk is nearly full (under `min_free`) and the file has no freed
    /// room of its own left, sheds the oldest day of raw history, so monitoring and alerting
    /// go on writing. The `history-store` check says so to ICT.
    async fn keep_room(&self) -> Result<()> {
        let min_free = self.history.min_free;
        if min_free == 0 {
            return Ok(());
        }
        let Some(space) = self.store.space().await? else {
            return Ok(());
        };
        if space.free >= min_free || space.reusable >= (min_free / 4).max(8 << 20) {
            return Ok(());
        }
        match self.store.shed_oldest_raw().await? {
            Some(through) => tracing::warn!(
                free = space.free,
                min_free,
                through = %through,
                "history store near full: shed the raw history before this time"
            ),
            None => tracing::warn!(
                free = space.free,
                min_free,
                "history store near full, and no raw history is left to shed"
            ),
        }
        Ok(())
    }

    async fn save_states(&self, all_dirty: bool) -> Result<()> {
        if !all_dirty {
            return Ok(());
        }
        // In batches: one copy of every state at once would cost as much memory as the
        // states themselves.
        let mut next = 0;
        while next < self.checks.len() {
            let mut states: Vec<(String, CheckState)> = Vec::new();
            while next < self.checks.len() && states.len() < STATE_SAVE_BATCH {
                let rt = &self.checks[next];
                next += 1;
                if rt.dirty.swap(false, Ordering::Relaxed) {
                    states.push((rt.name.to_string(), rt.state.lock().clone()));
                }
            }
            if !states.is_empty() {
                self.store.save_check_states(&states).await?;
            }
        }
        Ok(())
    }

    /// History flushes, state saves, maintenance sweeps, escalation reminders and pruning.
    async fn housekeeping(self: Arc<Self>, mut stop: watch::Receiver<bool>) -> Result<()> {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return Ok(()),
            }
            n += 1;
            let step = async {
                // What came in since the last tick, in one transaction (see `write_history`).
                self.write_history(false).await?;
                if n.is_multiple_of(4) {
                    self.sweep_maintenance().await?;
                    self.communicate().await?;
                }
                let wake = {
                    let mut next = self.next_escalation.lock();
                    let due = next.is_some_and(|at| at <= self.clock.now());
                    if due {
                        *next = None;
                    }
                    due
                };
                if wake || n.is_multiple_of(120) {
                    let monitor = Monitor {
                        inner: self.clone(),
                    };
                    monitor.escalate_all().await?;
                }
                if n.is_multiple_of(self.state_save_ticks.load(Ordering::Relaxed).max(1)) {
                    self.save_states(true).await?;
                }
                if n % 240 == 1 {
                    self.keep_room().await?;
                }
                if n % 14_400 == 1 {
                    // Nothing is older than a retention reaching before the calendar starts.
                    let before = chrono::Duration::from_std(self.retention)
                        .ok()
                        .and_then(|r| self.clock.now().checked_sub_signed(r));
                    if let Some(before) = before {
                        self.store.prune(before).await?;
                    }
                    self.store
                        .prune_history(self.clock.now(), &self.history)
                        .await?;
                }
                Ok::<(), Error>(())
            };
            if let Err(e) = step.await {
                tracing::warn!(error = %e, "housekeeping failed; retrying");
            }
        }
    }

    /// The scheduler loop: drift-free, spread, capped.
    async fn schedule(self: Arc<Self>, stop: watch::Receiver<bool>) -> Result<()> {
        let start = Instant::now();
        // Each check owns a slot on the grid start + offset + k·interval, the offsets spacing
        // the checks of one interval evenly. The first round is compressed into a short window
        // so a small setup shows results at once; from the second run on every check keeps to
        // its own slot.
        // Times are kept as nanoseconds since `start` and indexes as u32: 8 bytes per check on
        // the wheel of due times, 8 in the offsets.
        let first_window = Duration::from_millis(1_000 + self.checks.len() as u64);
        let offsets = spread_offsets(|| self.checks.iter().map(|rt| rt.interval()));
        let longest = self.checks.iter().map(|rt| rt.interval()).max();
        let mut wheel = wheel::Wheel::new(longest.unwrap_or_default().as_millis() as u64 + 1);
        for (i, rt) in self.checks.iter().enumerate() {
            if rt.passive {
                continue;
            }
            // The first round keeps the same order and spacing, squeezed into the window.
            let interval = rt.interval().as_nanos().max(1);
            let window = first_window.as_nanos().min(interval);
            let first = u128::from(offsets[i]) * window / interval;
            wheel.push(first as u64, i as u32);
        }
        if wheel.is_empty() {
            // Nothing to schedule: wait for shutdown.
            let mut stop = stop;
            let _ = stop.changed().await;
            return Ok(());
        }
        let shortest = self
            .checks
            .iter()
            .filter(|rt| !rt.passive)
            .map(|rt| rt.interval())
            .min();
        let window = batch_window_ms(shortest.unwrap_or_default());
        while let Some(ms) = wheel.next_slot() {
            // The checks due within one batch window start together at its beginning, in one
            // wake-up (see `batch_window_ms`).
            let batch = ms - ms % window;
            let batch_start = start + Duration::from_millis(batch);
            if batch_start > Instant::now() {
                tokio::time::sleep_until(batch_start).await;
            }
            while wheel.next_slot().is_some_and(|ms| ms < batch + window) {
                let slot = wheel.take_slot();
                self.start_slot(&slot, start, &offsets, &mut wheel, &stop)
                    .await;
                wheel.give_back(slot);
                if *stop.borrow() {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Starts the checks of one slot of the wheel and queues each one's next run.
    async fn start_slot(
        self: &Arc<Self>,
        slot: &wheel::Slot,
        start: Instant,
        offsets: &[u64],
        wheel: &mut wheel::Wheel,
        stop: &watch::Receiver<bool>,
    ) {
        let since_start = |t: Instant| t.saturating_duration_since(start).as_nanos() as u64;
        for (due, idx) in slot.iter() {
            if *stop.borrow() {
                return;
            }
            let (due, idx) = (start + Duration::from_nanos(due), idx as usize);
            let rt = &self.checks[idx];
            let now = Instant::now();
            self.lag.record(now.saturating_duration_since(due));
            let origin = start + Duration::from_nanos(offsets[idx]);
            let next = next_run(origin, rt.interval(), due, now);
            wheel.push(since_start(next), idx as u32);
            if rt.running.swap(true, Ordering::AcqRel) {
                self.overruns.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let permit = self
                .semaphore
                .clone()
                .acquire_owned()
                .await
                .expect("never closed");
            let inner = self.clone();
            let run = async move {
                // The probe's own panics are caught in `run_probe`; one here is a fault in
                // processing (an escalation policy, a store), which ends the run.
                let run = AssertUnwindSafe(inner.execute(idx, 0, false))
                    .catch_unwind()
                    .await;
                let rt = &inner.checks[idx];
                match run {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(check = %rt.name, error = %e, "processing failed");
                    }
                    Err(panic) => inner.fail(
                        format!("processing check `{}`", rt.name),
                        format!("panicked: {}", panic_message(panic.as_ref())),
                    ),
                }
                rt.running.store(false, Ordering::Release);
                drop(permit);
            };
            // Most checks finish within their first poll (a connect on this host or the next
            // one, the state machine, a row for the history): they run here, without a task of
            // their own. A check still waiting after it (a remote peer, a slow server, a store
            // write) becomes a task and is polled again, with a waker, by the runtime.
            let mut run = Box::pin(run);
            if run.as_mut().now_or_never().is_none() {
                tokio::spawn(run);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_of_the_same_length_is_written_over_the_old_one() {
        let old: Box<str> = "connected in 0.3 ms".into();
        let at = old.as_ptr();
        let same = reuse_summary(old, "connected in 0.9 ms");
        assert_eq!(&*same, "connected in 0.9 ms");
        assert_eq!(same.as_ptr(), at, "no new allocation");
        let longer = reuse_summary(same, "connected in 12.5 ms");
        assert_eq!(&*longer, "connected in 12.5 ms");
        let other = reuse_summary(longer, "connection refused by 10.0.0.1:80");
        assert_eq!(&*other, "connection refused by 10.0.0.1:80");
        assert_eq!(&*reuse_summary("é".into(), "ab"), "ab");
    }

    #[test]
    fn slots_stay_on_the_grid_and_skip_missed_ones() {
        let origin = Instant::now();
        let i = Duration::from_secs(5);
        assert_eq!(
            next_slot(origin, i, origin - Duration::from_secs(1)),
            origin
        );
        assert_eq!(next_slot(origin, i, origin), origin + i);
        // Run a little late: the next slot is still on the grid.
        assert_eq!(
            next_slot(origin, i, origin + Duration::from_millis(5_300)),
            origin + 2 * i
        );
        // Stalled for a minute: the missed slots are skipped, not replayed.
        assert_eq!(
            next_slot(origin, i, origin + Duration::from_secs(61)),
            origin + 13 * i
        );
        // After 100,000 runs, still exactly on the grid (no accumulated drift).
        let mut t = origin;
        for _ in 0..100_000 {
            t = next_slot(origin, i, t + Duration::from_millis(3));
        }
        assert_eq!(t, origin + i * 100_000);
    }

    #[test]
    fn runs_keep_half_an_interval_apart() {
        let start = Instant::now();
        let (i, ms) = (Duration::from_secs(5), Duration::from_millis);
        // On time: the next slot.
        assert_eq!(next_run(start, i, start + i, start + i), start + 2 * i);
        // A little late: still the next slot.
        let late = start + i + ms(300);
        assert_eq!(next_run(start, i, start + i, late), start + 2 * i);
        // Started just before the following slot after a stall: that slot is skipped.
        let stalled = start + 2 * i - ms(100);
        assert_eq!(next_run(start, i, start + i, stalled), start + 3 * i);
        // The compressed first round ran the check at 2 ms (early, with its slot's
        // neighbours); its grid starts at 5 ms. Not again at 5 ms: at 5.005 s.
        let origin = start + ms(5);
        assert_eq!(
            next_run(origin, i, start + ms(2), start + ms(1)),
            origin + i
        );
        // Its grid starts 3 s after the first run: that slot is kept.
        let origin = start + ms(4_995);
        assert_eq!(
            next_run(origin, i, start + ms(1_998), start + ms(1_998)),
            origin
        );
    }

    /// The records kept per check stay small: a district-wide schedule holds 10⁵–10⁶ of them.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn per_check_records_stay_small() {
        use std::mem::size_of;
        eprintln!(
            "Runtime {} CheckState {} LastResult {} TcpProbe {} HttpProbe {}",
            size_of::<Runtime>(),
            size_of::<CheckState>(),
            size_of::<LastResult>(),
            size_of::<crate::probe::TcpProbe>(),
            size_of::<crate::probe::HttpProbe>()
        );
        assert!(size_of::<Runtime>() <= 168);
        assert!(size_of::<crate::probe::TcpProbe>() <= 48);
    }

    #[test]
    fn batch_windows_follow_the_shortest_interval() {
        let ms = Duration::from_millis;
        assert_eq!(batch_window_ms(ms(1_000)), 50);
        assert_eq!(batch_window_ms(ms(5_000)), 100);
        assert_eq!(batch_window_ms(Duration::from_secs(3_600)), 100);
        assert_eq!(batch_window_ms(ms(100)), 5);
        assert_eq!(batch_window_ms(ms(10)), 1);
        assert_eq!(batch_window_ms(Duration::ZERO), 1);
    }

    /// The scheduler's loop, simulated without sleeping: 2,000 checks every second start in
    /// 20 wake-ups a second, none late and none more than one window early, and from the
    /// second round on each check runs exactly one interval after its previous run.
    #[test]
    fn checks_due_within_a_window_start_in_one_wake_up() {
        let (n, interval) = (2_000, Duration::from_secs(1));
        let window = batch_window_ms(interval);
        let offsets = spread_offsets(|| std::iter::repeat_n(interval, n));
        let start = Instant::now();
        let mut wheel = wheel::Wheel::new(1_001);
        for (i, &o) in offsets.iter().enumerate() {
            wheel.push(o, i as u32);
        }
        let mut last_run: Vec<Option<u64>> = vec![None; n];
        let (mut wake_ups, mut runs) = (0, 0);
        let end_ms = 10_000;
        while let Some(ms) = wheel.next_slot() {
            let batch = ms - ms % window;
            if batch >= end_ms {
                break;
            }
            wake_ups += 1;
            let now_ns = batch * 1_000_000;
            while wheel.next_slot().is_some_and(|ms| ms < batch + window) {
                let slot = wheel.take_slot();
                for (due, idx) in slot.iter() {
                    assert!(due >= now_ns, "check {idx} started late");
                    assert!(
                        due - now_ns < window * 1_000_000,
                        "check {idx} started too early"
                    );
                    if let Some(prev) = last_run[idx as usize] {
                        assert_eq!(now_ns - prev, interval.as_nanos() as u64, "check {idx}");
                    }
                    last_run[idx as usize] = Some(now_ns);
                    runs += 1;
                    let origin = start + Duration::from_nanos(offsets[idx as usize]);
                    let (due_at, now_at) = (
                        start + Duration::from_nanos(due),
                        start + Duration::from_nanos(now_ns),
                    );
                    let next = next_run(origin, interval, due_at, now_at);
                    wheel.push(next.duration_since(start).as_nanos() as u64, idx);
                }
                wheel.give_back(slot);
            }
        }
        assert_eq!(runs, n * 10);
        assert_eq!(wake_ups, 10 * 1_000 / window as usize);
    }

    #[test]
    fn offsets_spread_evenly_in_order() {
        let (five, ten) = (Duration::from_secs(5), Duration::from_secs(10));
        // Two intervals interleaved: each group is spaced evenly over its own interval.
        // The second interval's grid is shifted by half a spacing of its own.
        let intervals = [ten, five, ten, ten, five, ten];
        let offsets = spread_offsets(|| intervals.iter().copied());
        let s = 1_000_000_000;
        assert_eq!(
            offsets,
            [0, 5 * s / 4, 5 * s / 2, 5 * s, 15 * s / 4, 15 * s / 2]
        );
        // A lone check of each of three intervals: not all at 0.
        let one = Duration::from_secs(1);
        let offsets = spread_offsets(|| [one, 2 * one, 3 * one].into_iter());
        assert_eq!(offsets, [0, 2 * s / 3, 2 * s]);
        // 10,000 checks of one interval: one per millisecond, in the order they were added.
        let offsets = spread_offsets(|| std::iter::repeat_n(ten, 10_000));
        assert!(offsets.windows(2).all(|w| w[1] - w[0] == 1_000_000));
        assert!(offsets.iter().all(|&o| o < ten.as_nanos() as u64));
        assert!(spread_offsets(std::iter::empty).is_empty());
    }
}
