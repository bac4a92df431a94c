//! The conformance suite of the [`Store`] trait: what every store must do, asserted through the
//! trait alone (no SQL, nothing of a store's own layout), so the same cases run against every
//! implementation.
//!
//! Each case is an `async fn` in [`cases`] that takes a [`Harness`]: `h.fresh()` gives a store on
//! a new, empty history of its own, and `h.reopen(store)` flushes and drops that store and opens
//! the same history again as a new store object, as a monitor does after a restart. The
//! [`suite!`] macro makes one `#[tokio::test]` per case in a module named after the store, from
//! the one list of cases it holds.
//!
//! Adding a store to the suite takes a [`Backend`] (it makes empty histories, each a
//! [`History`] that opens stores on itself and is removed when dropped), a function that gives
//! it (or `None` to skip, after saying why), and one line:
//!
//! ```ignore
//! suite!(postgres, postgres_backend);
//! ```
//!
//! A third argument names a macro that marks the cases a store is known to fail (shaped like
//! `no_known_failures`, with an arm per such case adding `#[ignore = "why"]`): such a case still
//! asserts what the trait documents. Both stores pass every case today: SQLite on a temporary
//! file, PostgreSQL on a private server started once for the binary, a database per history.
//!
//! History is compact (see `forewarn::store::history`): whole observations (the first of a
//! check, every change of status, everything not OK) come back exactly; an OK observation comes
//! back with its time, status and latency, its metrics to the precision the model keeps them
//! (seconds to the microsecond, percentages to 0.01, others to 0.001), and either its own
//! summary or that of an earlier OK observation of the same shape it followed without a break.
//! Rollups are compared with the same tolerance. A few cases also expect the error kinds callers
//! are shown: `Error::NotFound` for an unknown incident or outbox row, `Error::Conflict` for a
//! failure recorded against a row that is no longer pending. Times are fixed (2026-03-02 08:00
//! UTC plus offsets), never the wall clock.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use forewarn::async_trait;
use forewarn::broadcast::{Outage, OutageEvent, PlannedMaintenance};
use forewarn::incident::{Incident, UpdateKind};
use forewarn::probe::reading::{DatabaseReading, DatabaseRole, HttpReading};
use forewarn::probe::{Observation, Reading, Status};
use forewarn::sink::{Notification, NotificationKind};
use forewarn::store::{
    AgentObservation, AgentRecord, AgentTokenCheck, HistoryRetention, IncidentFilter, OutboxRow,
    OutboxState, OutboxStats, Rollup, SqliteStore, Store, Tier, TransitionRecord,
};
use forewarn::{Alert, CheckState, Error, Suppression, Transition};

#[path = "support/databases.rs"]
mod databases;

// ---------------------------------------------------------------------------------------------
// The harness.
// ---------------------------------------------------------------------------------------------

/// One kind of store under test: it makes histories.
#[async_trait]
pub trait Backend: Send + Sync {
    /// A new, empty history of its own (removed when the value is dropped).
    async fn create(&self) -> Box<dyn History>;
}

/// One history made by a [`Backend`]: it opens stores on itself, one at a time.
#[async_trait]
pub trait History: Send + Sync {
    /// A new store object on this history, as a monitor starting up opens it.
    async fn open(&self) -> Arc<dyn Store>;
}

/// What a case gets: fresh stores, and the latest one's history opened again.
pub struct Harness {
    backend: Box<dyn Backend>,
    /// Every history made so far, the latest last; kept until the case ends.
    histories: tokio::sync::Mutex<Vec<Box<dyn History>>>,
}

impl Harness {
    /// A harness on `backend`.
    pub fn new(backend: Box<dyn Backend>) -> Self {
        Self {
            backend,
            histories: tokio::sync::Mutex::new(Vec::new()),
        }
    }

    /// A store on a new, empty history.
    pub async fn fresh(&self) -> Arc<dyn Store> {
        let history = self.backend.create().await;
        let store = history.open().await;
        self.histories.lock().await.push(history);
        store
    }

    /// Flushes and drops `old` (a store on the latest fresh history, held by nobody else), then
    /// opens that history again: what survives is what survives a restart.
    pub async fn reopen(&self, old: Arc<dyn Store>) -> Arc<dyn Store> {
        old.flush().await.expect("flush before the restart");
        assert_eq!(
            Arc::strong_count(&old),
            1,
            "the case still holds the store it restarts"
        );
        drop(old);
        let histories = self.histories.lock().await;
        histories
            .last()
            .expect("a fresh store before a restart")
            .open()
            .await
    }
}

/// One `#[tokio::test]` per case, in `mod $store`, on the backend `$backend()` gives (a
/// function returning `Option<Box<dyn Backend>>`: `None` skips the case). The list of cases is
/// here and only here. A third argument names the macro that marks the store's known failures
/// (shaped like [`no_known_failures`]); without it every case runs.
macro_rules! suite {
    ($store:ident, $backend:ident) => {
        suite!($store, $backend, no_known_failures);
    };
    ($store:ident, $backend:ident, $known:ident) => {
        suite!(@cases $store, $backend, $known;
            installation_id_is_kept_and_differs_between_histories,
            whole_observations_round_trip_newest_first,
            observations_since_is_inclusive_and_limit_keeps_the_newest,
            ok_observations_keep_their_numbers_and_a_summary_of_their_run,
            ten_thousand_observations_in_one_batch,
            check_states_save_load_and_upsert,
            transitions_by_check_since_and_limit,
            incidents_insert_get_and_update,
            incidents_filter_newest_first,
            enqueue_never_holds_a_notification_twice,
            due_rows_come_oldest_first_and_next_due_is_the_earliest,
            failures_back_off_then_die,
            mark_delivered_takes_a_row_out_of_the_due_ones,
            defer_postpones_a_pending_row_only,
            outbox_rows_of_an_incident_oldest_first,
            outbox_stats_and_sent_records,
            prune_deletes_old_history_and_resolved_incidents,
            rollups_of_every_tier_count_and_spread,
            rollups_are_read_in_a_half_open_range,
            availability_over_a_span,
            availability_counts_nothing_before_since,
            availability_since_after_the_history_is_empty,
            prune_history_drops_raw_history_and_keeps_rollups,
            space_is_answered,
            shed_oldest_raw_drops_the_oldest_day_first,
            outages_save_update_and_list,
            ack_tokens_are_used_once,
            planned_maintenance_upsert_list_and_delete,
            agents_create_revoke_and_create_anew,
            agent_tokens_rotate_with_a_grace_period,
            agent_checks_and_observations_each_seq_once,
            everything_survives_a_restart,
            concurrent_calls_from_many_tasks,
        );
    };
    (@cases $store:ident, $backend:ident, $known:ident; $($case:ident),+ $(,)?) => {
        mod $store {
            $(
                $known! { $case,
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        let Some(backend) = super::$backend() else {
                            return;
                        };
                        let harness = super::Harness::new(backend);
                        super::cases::$case(&harness).await;
                    }
                }
            )+
        }
    };
}

/// A store with no known failures: every case runs (the default of [`suite!`]).
macro_rules! no_known_failures {
    ($case:ident, $($test:tt)*) => {
        $($test)*
    };
}

/// SQLite: a file `forewarn.db` in a temporary directory.
struct SqliteBackend;

struct SqliteHistory {
    dir: tempfile::TempDir,
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn create(&self) -> Box<dyn History> {
        Box::new(SqliteHistory {
            dir: tempfile::tempdir().expect("a temporary directory"),
        })
    }
}

#[async_trait]
impl History for SqliteHistory {
    async fn open(&self) -> Arc<dyn Store> {
        Arc::new(SqliteStore::open(self.dir.path().join("forewarn.db")).expect("open"))
    }
}

fn sqlite_backend() -> Option<Box<dyn Backend>> {
    Some(Box::new(SqliteBackend))
}

suite!(sqlite, sqlite_backend);

/// PostgreSQL: one private server for the whole binary (started on first use, stopped when
/// the binary exits), a database of its own for every history.
struct PostgresBackend {
    port: u16,
}

struct PostgresHistory {
    url: String,
}

/// The binary's PostgreSQL server, or why there is none.
static POSTGRES: std::sync::Mutex<Option<Result<databases::Server, String>>> =
    std::sync::Mutex::new(None);
static NEXT_DATABASE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

extern "C" fn stop_postgres() {
    if let Ok(mut server) = POSTGRES.lock() {
        // Dropping the server stops it and removes its directory.
        drop(server.take());
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn create(&self) -> Box<dyn History> {
        let n = NEXT_DATABASE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("history_{}_{n}", std::process::id());
        {
            let guard = POSTGRES.lock().unwrap();
            let Some(Ok(server)) = guard.as_ref() else {
                panic!("the server is running");
            };
            server
                .admin(&format!("CREATE DATABASE {name} OWNER {}", databases::USER))
                .expect("a database of its own");
        }
        Box::new(PostgresHistory {
            url: format!(
                "postgres://{}@127.0.0.1:{}/{name}",
                databases::USER,
                self.port
            ),
        })
    }
}

#[async_trait]
impl History for PostgresHistory {
    async fn open(&self) -> Arc<dyn Store> {
        Arc::new(
            forewarn::store::PostgresStore::connect_with(&self.url, Some(databases::PASSWORD))
                .await
                .expect("connect"),
        )
    }
}

fn postgres_backend() -> Option<Box<dyn Backend>> {
    let mut guard = POSTGRES.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        *guard = Some(databases::Server::start_new(databases::Engine::Postgres));
        // SAFETY: registers a plain function to run at exit; it only stops the server.
        unsafe {
            libc::atexit(stop_postgres);
        }
    }
    match guard.as_ref().expect("set above") {
        Ok(server) => Some(Box::new(PostgresBackend { port: server.port })),
        Err(reason) => {
            databases::skip::skip("the PostgreSQL server", reason);
            None
        }
    }
}

suite!(postgres, postgres_backend);

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

/// 2026-03-02 08:00:00 UTC plus `secs` seconds.
fn t(secs: i64) -> DateTime<Utc> {
    "2026-03-02T08:00:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::seconds(secs)
}

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

fn obs(status: Status, summary: &str, secs: i64) -> Observation {
    Observation::new(status, summary, t(secs))
}

/// A batch for `record_observations`.
fn batch<'a>(
    rows: impl IntoIterator<Item = (&'a str, Observation)>,
) -> Vec<(Arc<str>, Observation)> {
    rows.into_iter().map(|(c, o)| (Arc::from(c), o)).collect()
}

/// Records `all` of `check` in batches of `per_batch`.
async fn record_in_batches(store: &dyn Store, check: &str, all: &[Observation], per_batch: usize) {
    for chunk in all.chunks(per_batch) {
        store
            .record_observations(batch(chunk.iter().map(|o| (check, o.clone()))))
            .await
            .unwrap();
    }
}

/// Everything the store returns of `check`.
async fn everything(store: &dyn Store, check: &str) -> Vec<Observation> {
    store.observations(check, t(-400 * DAY), 0).await.unwrap()
}

fn incident(check: &str, secs: i64) -> Incident {
    Incident::open(
        check,
        Some("servers"),
        "default",
        Status::Critical,
        "connection refused",
        false,
        t(secs),
    )
}

/// Inserts `incident(check, secs)` and returns it with its id.
async fn stored_incident(store: &dyn Store, check: &str, secs: i64) -> Incident {
    let mut inc = incident(check, secs);
    inc.id = store.insert_incident(&inc).await.unwrap();
    inc
}

fn note(incident: &Incident, sink: &str, key: &str, secs: i64) -> Notification {
    Notification::for_incident(
        incident,
        "f00d",
        sink,
        key,
        NotificationKind::Opened,
        t(secs),
    )
}

/// The outbox row of notification `id`.
async fn row(store: &dyn Store, incident_id: i64, id: &str) -> OutboxRow {
    store
        .outbox_rows(incident_id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.notification.id == id)
        .unwrap_or_else(|| panic!("no outbox row {id}"))
}

fn ids(rows: &[OutboxRow]) -> Vec<&str> {
    rows.iter().map(|r| r.notification.id.as_str()).collect()
}

/// The step a sample's metric of `unit` is kept to.
fn step(unit: &str) -> f64 {
    match unit {
        "s" => 1e-6,
        "%" => 0.01,
        _ => 0.001,
    }
}

/// Whether `got` is `want` within `tolerance` (and a little for floating point).
fn near(got: f64, want: f64, tolerance: f64) -> bool {
    (got - want).abs() <= tolerance + 1e-9 * want.abs().max(1.0)
}

/// A fake SHA-256 in hex.
fn hash(c: char) -> String {
    std::iter::repeat_n(c, 64).collect()
}

fn agent_obs(seq: i64, check: &str, secs: i64) -> AgentObservation {
    AgentObservation {
        seq,
        check: check.to_owned(),
        observation: obs(Status::Ok, "fine", secs),
    }
}

async fn agent(store: &dyn Store, name: &str) -> AgentRecord {
    store
        .agents()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no agent {name}"))
}

/// Three hours of a 20 s check from 23:00 UTC, over midnight: failures, warnings and unknown
/// ones now and then, latencies from 1 to 6 ms, a plain metric, and a toner level that comes and
/// goes.
fn three_hours() -> Vec<Observation> {
    (0..540i64)
        .map(|i| {
            let status = if i % 25 == 0 {
                Status::Critical
            } else if i % 40 == 7 {
                Status::Warning
            } else if i % 97 == 3 {
                Status::Unknown
            } else {
                Status::Ok
            };
            let latency_us = 1_000 + (i * 7_919) % 5_000;
            let summary = match status {
                Status::Ok => format!("connected in {:.1} ms", latency_us as f64 / 1000.0),
                _ => "connection refused".to_owned(),
            };
            let mut o = Observation::new(status, summary, t(15 * HOUR + i * 20))
                .with_latency(Duration::from_micros(latency_us as u64))
                .with_metric("connect_time", latency_us as f64 / 1e6, "s")
                .with_metric("queue", (i % 13) as f64 * 1.5, "");
            if (i / 50) % 2 == 0 {
                o = o.with_metric("toner", 80.0 - i as f64 * 0.0125, "%");
            }
            o
        })
        .collect()
}

/// The observations of `all` by the start (unix ms) of their period of `tier`.
fn periods(all: &[Observation], tier: Tier) -> BTreeMap<i64, Vec<&Observation>> {
    let mut out: BTreeMap<i64, Vec<&Observation>> = BTreeMap::new();
    for o in all {
        out.entry(tier.start_of(o.at.timestamp_millis()))
            .or_default()
            .push(o);
    }
    out
}

/// Asserts that `r` is the rollup of `obs`.
fn assert_rollup(r: &Rollup, obs: &[&Observation]) {
    let what = format!("{} rollup of {}", r.tier, r.start);
    let n = |s: Status| obs.iter().filter(|o| o.status == s).count() as u64;
    assert_eq!(r.count, obs.len() as u64, "{what}: count");
    assert_eq!(
        (r.failures, r.warnings, r.unknown),
        (n(Status::Critical), n(Status::Warning), n(Status::Unknown)),
        "{what}: failures, warnings, unknown"
    );
    let mut lat: Vec<f64> = obs.iter().map(|o| o.latency.as_secs_f64()).collect();
    lat.sort_by(f64::total_cmp);
    let l = r.latency.expect("a latency spread");
    let avg = lat.iter().sum::<f64>() / lat.len() as f64;
    assert!(near(l.min, lat[0], 1e-6), "{what}: latency min {l:?}");
    assert!(
        near(l.max, lat[lat.len() - 1], 1e-6),
        "{what}: latency max {l:?}"
    );
    assert!(
        near(l.avg, avg, 1e-6),
        "{what}: latency avg {} vs {avg}",
        l.avg
    );
    let p95 = r.latency_p95.expect("a 95th percentile");
    if r.tier == Tier::Minute {
        // A few observations: any reading of the 95th percentile is between min and max.
        assert!(
            p95 >= lat[0] * 0.98 && p95 <= lat[lat.len() - 1] * 1.02,
            "{what}: p95 {p95} outside {lat:?}"
        );
    } else {
        let rank = lat[((0.95 * lat.len() as f64).ceil() as usize).max(1) - 1];
        assert!(near(p95, rank, rank * 0.02), "{what}: p95 {p95} vs {rank}");
    }
    let mut metrics: BTreeMap<String, (String, Vec<f64>)> = BTreeMap::new();
    for o in obs {
        for (name, m) in o.metrics.iter() {
            metrics
                .entry(name.to_string())
                .or_insert_with(|| (m.unit.to_string(), Vec::new()))
                .1
                .push(m.value);
        }
    }
    assert_eq!(
        r.metrics.keys().collect::<Vec<_>>(),
        metrics.keys().collect::<Vec<_>>(),
        "{what}: the metrics"
    );
    for (name, (unit, values)) in &metrics {
        let (got_unit, s) = &r.metrics[name];
        assert_eq!(got_unit, unit, "{what}: unit of {name}");
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let avg = values.iter().sum::<f64>() / values.len() as f64;
        let tol = step(unit);
        assert!(
            near(s.min, min, tol),
            "{what}: {name} min {} vs {min}",
            s.min
        );
        assert!(
            near(s.max, max, tol),
            "{what}: {name} max {} vs {max}",
            s.max
        );
        assert!(
            near(s.avg, avg, tol),
            "{what}: {name} avg {} vs {avg}",
            s.avg
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The cases.
// ---------------------------------------------------------------------------------------------

mod cases {
    use super::*;

    pub async fn installation_id_is_kept_and_differs_between_histories(h: &Harness) {
        let a = h.fresh().await;
        let id = a.installation_id().await.unwrap();
        assert!(!id.trim().is_empty(), "an id: {id:?}");
        assert_eq!(a.installation_id().await.unwrap(), id, "asked twice");
        let a = h.reopen(a).await;
        assert_eq!(
            a.installation_id().await.unwrap(),
            id,
            "kept with the history"
        );
        let b = h.fresh().await;
        assert_ne!(
            b.installation_id().await.unwrap(),
            id,
            "another history is another installation"
        );
    }

    pub async fn whole_observations_round_trip_newest_first(h: &Harness) {
        let store = h.fresh().await;
        // Nothing OK: every one is whole, and comes back exactly.
        let first = batch([
            (
                "db",
                obs(Status::Warning, "slow: 3 ms", 0)
                    .with_latency(Duration::from_micros(3_250))
                    .with_metric("time", 0.003_25, "s")
                    .with_metric("retries", 0.0, ""),
            ),
            (
                "web",
                obs(Status::Warning, "certificate expires in 30 days", 5).with_reading(
                    Reading::Http(HttpReading {
                        status_code: 200,
                        cert_not_after: Some(t(30 * DAY)),
                        cert_days_left: Some(30.0),
                        body_bytes: Some(512),
                    }),
                ),
            ),
        ]);
        let second = batch([
            (
                "db",
                obs(Status::Critical, "connection refused", 60)
                    .with_latency(Duration::from_millis(1500))
                    .with_metric("time", 1.500_000_7, "s")
                    .with_metric("retries", 2.0, "")
                    .with_metric("used", 93.456_78, "%"),
            ),
            (
                "db",
                obs(Status::Unknown, "probe panicked", 120).with_reading(Reading::Database(
                    DatabaseReading {
                        engine: "postgres".into(),
                        role: Some(DatabaseRole::Replica),
                        replication_lag_seconds: Some(4.5),
                        ..Default::default()
                    },
                )),
            ),
        ]);
        let third = batch([(
            "db",
            obs(Status::Warning, "disk 91 %", 180).with_reading(Reading::Custom {
                value: serde_json::json!({"disk": "/srv", "free": [1, 2.5, "x"]}),
            }),
        )]);
        for b in [&first, &second, &third] {
            store.record_observations(b.clone()).await.unwrap();
        }
        let want: Vec<Observation> = vec![
            third[0].1.clone(),
            second[1].1.clone(),
            second[0].1.clone(),
            first[0].1.clone(),
        ];
        let got = everything(&*store, "db").await;
        assert_eq!(got, want, "newest first, every field kept");
        assert_eq!(got[1].reading, want[1].reading);
        assert_eq!(got[2].metrics["used"].value, 93.456_78, "exactly");
        assert_eq!(got[2].metrics["retries"].unit, "");
        assert_eq!(everything(&*store, "web").await, vec![first[1].1.clone()]);
    }

    pub async fn observations_since_is_inclusive_and_limit_keeps_the_newest(h: &Harness) {
        let store = h.fresh().await;
        for secs in [0, 60, 120, 180, 240] {
            store
                .record_observations(batch([
                    (
                        "db",
                        obs(Status::Critical, &format!("down at {secs}"), secs),
                    ),
                    ("web", obs(Status::Warning, "slow", secs + 1)),
                ]))
                .await
                .unwrap();
        }
        let at = |v: Vec<Observation>| v.iter().map(|o| o.at).collect::<Vec<_>>();
        assert_eq!(
            at(store.observations("db", t(120), 0).await.unwrap()),
            [t(240), t(180), t(120)],
            "since is inclusive"
        );
        assert_eq!(
            at(store.observations("db", t(121), 0).await.unwrap()),
            [t(240), t(180)]
        );
        assert_eq!(
            at(store.observations("db", t(0), 2).await.unwrap()),
            [t(240), t(180)],
            "the newest within the limit"
        );
        assert_eq!(
            at(store.observations("db", t(60), 10).await.unwrap()),
            [t(240), t(180), t(120), t(60)]
        );
        assert!(
            store
                .observations("db", t(241), 0)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.observations("web", t(0), 0).await.unwrap().len(), 5);
        assert!(
            store
                .observations("nope", t(0), 0)
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn ok_observations_keep_their_numbers_and_a_summary_of_their_run(h: &Harness) {
        let store = h.fresh().await;
        let ok = |secs: i64, latency_us: u64| {
            obs(
                Status::Ok,
                &format!("connected in {:.2} ms", latency_us as f64 / 1000.0),
                secs,
            )
            .with_latency(Duration::from_micros(latency_us))
            .with_metric("connect_time", latency_us as f64 / 1e6, "s")
            .with_metric("load", 0.123_4 * secs as f64, "")
            .with_metric("toner", 45.678 - secs as f64 / 7.0, "%")
        };
        let mut all = Vec::new();
        for i in 0..6 {
            all.push(ok(i * 5, 300 + 17 * i as u64));
        }
        all.push(
            obs(Status::Critical, "connection refused", 30)
                .with_latency(Duration::from_secs(3))
                .with_metric("connect_time", 3.000_000_4, "s"),
        );
        for i in 7..10 {
            all.push(ok(i * 5, 400 + i as u64));
        }
        // Same status, another shape: its own run.
        all.push(
            obs(Status::Ok, "connected after 1 retry", 50)
                .with_latency(Duration::from_micros(900))
                .with_metric("connect_time", 0.000_9, "s")
                .with_metric("load", 1.0, "")
                .with_metric("toner", 40.0, "%"),
        );
        all.push(ok(55, 333));
        record_in_batches(&*store, "web", &all, 3).await;

        let got = everything(&*store, "web").await;
        assert_eq!(got.len(), all.len());
        for (j, (g, w)) in got.iter().rev().zip(&all).enumerate() {
            assert_eq!(
                (g.at, g.status, g.latency),
                (w.at, w.status, w.latency),
                "#{j}"
            );
            let changed = j == 0 || all[j - 1].status != w.status;
            if w.status != Status::Ok || changed {
                assert_eq!(g, w, "#{j} is whole: kept as it was");
                continue;
            }
            // An OK one: its numbers to the model's precision...
            assert_eq!(
                g.metrics.keys().collect::<Vec<_>>(),
                w.metrics.keys().collect::<Vec<_>>(),
                "#{j}"
            );
            for (name, m) in w.metrics.iter() {
                let back = &g.metrics[name];
                assert_eq!(back.unit, m.unit, "#{j} {name}");
                assert!(
                    near(back.value, m.value, step(&m.unit) / 2.0),
                    "#{j} {name}: {} vs {}",
                    back.value,
                    m.value
                );
            }
            // ...and its own summary, or that of an earlier OK one of the same shape it
            // followed without a break.
            let mut allowed = vec![w.summary.as_str()];
            let mut i = j;
            while i > 0 && all[i - 1].status == Status::Ok {
                i -= 1;
                if !forewarn::store::history::same_shape(&all[i].summary, &w.summary) {
                    break;
                }
                allowed.push(&all[i].summary);
            }
            assert!(
                allowed.contains(&g.summary.as_str()),
                "#{j}: {:?} is none of {allowed:?}",
                g.summary
            );
        }
        assert_eq!(
            got.iter().find(|o| o.at == t(50)).unwrap().summary,
            "connected after 1 retry",
            "the first of a run keeps its words"
        );
        assert_eq!(
            store
                .observations("web", t(-1), 3)
                .await
                .unwrap()
                .iter()
                .map(|o| o.at)
                .collect::<Vec<_>>(),
            [t(55), t(50), t(45)]
        );
    }

    pub async fn ten_thousand_observations_in_one_batch(h: &Harness) {
        let store = h.fresh().await;
        let rows: Vec<(Arc<str>, Observation)> = (0..10_000i64)
            .map(|i| {
                // Not OK: every one is whole.
                let status = if i % 7 == 0 {
                    Status::Critical
                } else {
                    Status::Warning
                };
                let mut o = obs(status, &format!("row {i}"), i)
                    .with_latency(Duration::from_micros(i as u64));
                if i % 10 == 0 {
                    o = o.with_metric("n", i as f64, "");
                }
                (Arc::from(format!("host-{:04}", i % 1_000)), o)
            })
            .collect();
        store.record_observations(rows.clone()).await.unwrap();
        for check in ["host-0000", "host-0042", "host-0999"] {
            let want: Vec<Observation> = rows
                .iter()
                .filter(|(c, _)| &**c == check)
                .rev()
                .map(|(_, o)| o.clone())
                .collect();
            assert_eq!(want.len(), 10);
            assert_eq!(everything(&*store, check).await, want, "{check}");
        }
        // A second batch goes on from there.
        let more: Vec<(Arc<str>, Observation)> = rows[..100]
            .iter()
            .map(|(c, o)| {
                let mut o = o.clone();
                o.at += chrono::Duration::seconds(10_000);
                (c.clone(), o)
            })
            .collect();
        store.record_observations(more.clone()).await.unwrap();
        let got = everything(&*store, "host-0042").await;
        assert_eq!(got.len(), 11);
        assert_eq!(got[0], more[42].1);
    }

    pub async fn check_states_save_load_and_upsert(h: &Harness) {
        let store = h.fresh().await;
        assert!(store.load_check_states().await.unwrap().is_empty());
        let mut db = CheckState {
            last_status: Some(Status::Critical),
            last_at: Some(t(30)),
            consecutive_failures: 3,
            alert: Alert::Open {
                status: Status::Critical,
                since: t(10),
            },
            changes: [t(5)].into(),
            last_change: Some(t(5)),
            ..Default::default()
        };
        let printer = CheckState {
            alert: Alert::Suppressed {
                status: Status::Warning,
                since: t(1),
                reason: Suppression::Maintenance {
                    window: "summer".to_owned(),
                },
            },
            ..Default::default()
        };
        store
            .save_check_states(&[
                ("printer".to_owned(), printer.clone()),
                ("db".to_owned(), db.clone()),
            ])
            .await
            .unwrap();
        let sorted = |mut v: Vec<(String, CheckState)>| {
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        assert_eq!(
            sorted(store.load_check_states().await.unwrap()),
            vec![
                ("db".to_owned(), db.clone()),
                ("printer".to_owned(), printer.clone())
            ]
        );
        db.consecutive_failures = 0;
        db.consecutive_successes = 2;
        db.alert = Alert::Clear;
        db.flapping = true;
        store
            .save_check_states(&[("db".to_owned(), db.clone())])
            .await
            .unwrap();
        assert_eq!(
            sorted(store.load_check_states().await.unwrap()),
            vec![("db".to_owned(), db), ("printer".to_owned(), printer)],
            "saved over, the other kept"
        );
    }

    pub async fn transitions_by_check_since_and_limit(h: &Harness) {
        let store = h.fresh().await;
        let rec = |check: &str, secs: i64, transition: Transition, incident_id: Option<i64>| {
            TransitionRecord {
                check: check.to_owned(),
                at: t(secs),
                transition,
                incident_id,
            }
        };
        let records = vec![
            rec(
                "db",
                0,
                Transition::Opened {
                    status: Status::Critical,
                },
                Some(1),
            ),
            rec(
                "web",
                10,
                Transition::Suppressed {
                    status: Status::Critical,
                    reason: Suppression::Dependency {
                        parent: "db".to_owned(),
                    },
                },
                None,
            ),
            rec(
                "db",
                20,
                Transition::Worsened {
                    from: Status::Warning,
                    to: Status::Critical,
                },
                Some(1),
            ),
        ];
        let later = vec![
            rec("db", 30, Transition::Recovered, Some(1)),
            rec("web", 40, Transition::Released, None),
        ];
        store.record_transitions(&records).await.unwrap();
        store.record_transitions(&later).await.unwrap();
        let all: Vec<TransitionRecord> = records.iter().chain(&later).cloned().collect();
        let newest_first: Vec<TransitionRecord> = all.iter().rev().cloned().collect();
        assert_eq!(
            store.transitions(None, t(0), 0).await.unwrap(),
            newest_first
        );
        assert_eq!(
            store.transitions(Some("db"), t(10), 0).await.unwrap(),
            vec![all[3].clone(), all[2].clone()],
            "one check's, since is inclusive"
        );
        assert_eq!(
            store.transitions(None, t(0), 2).await.unwrap(),
            newest_first[..2].to_vec()
        );
        assert_eq!(
            store.transitions(None, t(40), 0).await.unwrap(),
            vec![all[4].clone()]
        );
        assert!(
            store
                .transitions(Some("nope"), t(0), 0)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.transitions(None, t(41), 0).await.unwrap().is_empty());
    }

    pub async fn incidents_insert_get_and_update(h: &Harness) {
        let store = h.fresh().await;
        let a = store.insert_incident(&incident("db", 0)).await.unwrap();
        let b = store.insert_incident(&incident("web", 10)).await.unwrap();
        let c = store.insert_incident(&incident("db", 20)).await.unwrap();
        assert!(a > 0 && a < b && b < c, "new ids, increasing: {a} {b} {c}");

        let stored = store.incident(a).await.unwrap().expect("stored");
        let mut want = incident("db", 0);
        want.id = a;
        assert_eq!(stored, want, "kept whole, with the id it was given");
        assert_eq!(store.incident(b).await.unwrap().unwrap().id, b);
        assert!(store.incident(c + 1000).await.unwrap().is_none());

        let mut first = stored;
        first.acknowledge("ana", Some("on it"), t(5)).unwrap();
        first.push(
            UpdateKind::Note,
            Status::Critical,
            "vendor called",
            Some("ana"),
            t(6),
        );
        first.resolve("back", t(30));
        store.update_incident(&first).await.unwrap();
        assert_eq!(store.incident(a).await.unwrap().unwrap(), first);
        assert_eq!(
            store.incident(c).await.unwrap().unwrap().check,
            "db",
            "the others untouched"
        );

        let mut ghost = incident("db", 0);
        ghost.id = c + 1000;
        match store.update_incident(&ghost).await {
            Err(Error::NotFound { what, id }) => {
                assert_eq!((what, id), ("incident", ghost.id.to_string()))
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
        assert!(store.incident(ghost.id).await.unwrap().is_none());
    }

    pub async fn incidents_filter_newest_first(h: &Harness) {
        let store = h.fresh().await;
        let a = stored_incident(&*store, "db", 0).await;
        let b = stored_incident(&*store, "web", 10).await;
        let c = stored_incident(&*store, "db", 20).await;
        let mut resolved = a.clone();
        resolved.resolve("back", t(30));
        store.update_incident(&resolved).await.unwrap();

        let listed = |v: Vec<Incident>| v.into_iter().map(|i| i.id).collect::<Vec<_>>();
        let all = store.incidents(&IncidentFilter::default()).await.unwrap();
        assert_eq!(all[2], resolved, "whole");
        assert_eq!(listed(all), [c.id, b.id, a.id]);
        let active = IncidentFilter {
            active_only: true,
            ..Default::default()
        };
        assert_eq!(
            listed(store.incidents(&active).await.unwrap()),
            [c.id, b.id]
        );
        let db = IncidentFilter {
            check: Some("db".to_owned()),
            ..Default::default()
        };
        assert_eq!(listed(store.incidents(&db).await.unwrap()), [c.id, a.id]);
        let db_active = IncidentFilter {
            active_only: true,
            check: Some("db".to_owned()),
            limit: 0,
        };
        assert_eq!(listed(store.incidents(&db_active).await.unwrap()), [c.id]);
        let newest = IncidentFilter {
            limit: 2,
            ..Default::default()
        };
        assert_eq!(
            listed(store.incidents(&newest).await.unwrap()),
            [c.id, b.id]
        );
        let nobody = IncidentFilter {
            check: Some("nope".to_owned()),
            ..Default::default()
        };
        assert!(store.incidents(&nobody).await.unwrap().is_empty());
    }

    pub async fn enqueue_never_holds_a_notification_twice(h: &Harness) {
        let store = h.fresh().await;
        let inc = stored_incident(&*store, "db", 0).await;
        let mail = note(&inc, "mail", "opened", 0);
        let hook = note(&inc, "hook", "opened", 0);
        assert!(store.enqueue(&mail, t(10)).await.unwrap());
        assert!(store.enqueue(&hook, t(20)).await.unwrap());
        let before = store.outbox_rows(inc.id).await.unwrap();
        assert_eq!(before.len(), 2);

        assert!(
            !store.enqueue(&mail, t(30)).await.unwrap(),
            "queued already"
        );
        let mut changed = mail.clone();
        changed.summary = "another text under the same id".to_owned();
        assert!(
            !store.enqueue(&changed, t(31)).await.unwrap(),
            "the id decides"
        );
        assert_eq!(
            store.outbox_rows(inc.id).await.unwrap(),
            before,
            "nothing changed"
        );

        store.mark_delivered(&mail.id, t(40)).await.unwrap();
        let delivered = row(&*store, inc.id, &mail.id).await;
        assert!(
            !store.enqueue(&mail, t(50)).await.unwrap(),
            "delivered already"
        );
        assert_eq!(row(&*store, inc.id, &mail.id).await, delivered);
        assert_eq!(store.outbox_rows(inc.id).await.unwrap().len(), 2);
    }

    pub async fn due_rows_come_oldest_first_and_next_due_is_the_earliest(h: &Harness) {
        let store = h.fresh().await;
        assert_eq!(store.next_outbox_due().await.unwrap(), None);
        assert!(store.due_outbox(t(1000), 10).await.unwrap().is_empty());
        let inc = stored_incident(&*store, "db", 0).await;
        let mail = note(&inc, "mail", "opened", 0);
        let hook = note(&inc, "hook", "opened", 0);
        let pager = note(&inc, "pager", "opened", 0);
        assert!(store.enqueue(&hook, t(20)).await.unwrap());
        assert!(store.enqueue(&mail, t(10)).await.unwrap());
        assert_eq!(store.next_outbox_due().await.unwrap(), Some(t(10)));

        assert!(store.due_outbox(t(5), 10).await.unwrap().is_empty());
        assert_eq!(ids(&store.due_outbox(t(10), 10).await.unwrap()), [&mail.id]);
        let due = store.due_outbox(t(25), 10).await.unwrap();
        assert_eq!(ids(&due), [&mail.id, &hook.id], "oldest queued first");
        let first = &due[0];
        assert_eq!(first.notification, mail, "kept whole");
        assert_eq!(first.state, OutboxState::Pending);
        assert_eq!(first.attempts, 0);
        assert_eq!((first.queued_at, first.next_attempt_at), (t(10), t(10)));
        assert_eq!(
            (first.delivered_at, first.last_error.as_deref()),
            (None, None)
        );
        assert_eq!(ids(&store.due_outbox(t(25), 1).await.unwrap()), [&mail.id]);

        // A retried row keeps its place by when it was queued.
        store
            .mark_failed(&mail.id, "busy", Some(t(50)))
            .await
            .unwrap();
        assert!(store.enqueue(&pager, t(30)).await.unwrap());
        assert_eq!(store.next_outbox_due().await.unwrap(), Some(t(20)));
        assert_eq!(
            ids(&store.due_outbox(t(45), 10).await.unwrap()),
            [&hook.id, &pager.id]
        );
        assert_eq!(
            ids(&store.due_outbox(t(60), 10).await.unwrap()),
            [&mail.id, &hook.id, &pager.id]
        );
        for n in [&hook, &pager] {
            store.mark_delivered(&n.id, t(61)).await.unwrap();
        }
        assert_eq!(store.next_outbox_due().await.unwrap(), Some(t(50)));
        store.mark_failed(&mail.id, "gone", None).await.unwrap();
        assert_eq!(
            store.next_outbox_due().await.unwrap(),
            None,
            "nothing pending"
        );
    }

    pub async fn failures_back_off_then_die(h: &Harness) {
        let store = h.fresh().await;
        let inc = stored_incident(&*store, "db", 0).await;
        let n = note(&inc, "mail", "opened", 0);
        store.enqueue(&n, t(0)).await.unwrap();

        store
            .mark_failed(&n.id, "connection refused", Some(t(60)))
            .await
            .unwrap();
        assert!(
            store.due_outbox(t(59), 10).await.unwrap().is_empty(),
            "backing off"
        );
        assert_eq!(store.next_outbox_due().await.unwrap(), Some(t(60)));
        let due = store.due_outbox(t(60), 10).await.unwrap();
        assert_eq!(ids(&due), [&n.id]);
        assert_eq!(due[0].attempts, 1);
        assert_eq!(due[0].state, OutboxState::Pending);
        assert_eq!(due[0].last_error.as_deref(), Some("connection refused"));
        assert_eq!(due[0].queued_at, t(0), "queued_at stays");
        assert_eq!(due[0].next_attempt_at, t(60));

        store
            .mark_failed(&n.id, "timed out", Some(t(180)))
            .await
            .unwrap();
        store
            .mark_failed(&n.id, "mailbox unavailable", None)
            .await
            .unwrap();
        let dead = row(&*store, inc.id, &n.id).await;
        assert_eq!(dead.state, OutboxState::Dead);
        assert_eq!(dead.attempts, 3);
        assert_eq!(dead.last_error.as_deref(), Some("mailbox unavailable"));
        assert!(store.due_outbox(t(10_000), 10).await.unwrap().is_empty());
        assert_eq!(store.next_outbox_due().await.unwrap(), None);

        // A dead row is not brought back by another failure.
        let err = store
            .mark_failed(&n.id, "again", Some(t(1)))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err:?}");
        assert_eq!(row(&*store, inc.id, &n.id).await, dead);
        assert!(matches!(
            store.mark_failed("nope", "x", None).await.unwrap_err(),
            Error::NotFound {
                what: "outbox row",
                ..
            }
        ));
    }

    pub async fn mark_delivered_takes_a_row_out_of_the_due_ones(h: &Harness) {
        let store = h.fresh().await;
        let inc = stored_incident(&*store, "db", 0).await;
        let mail = note(&inc, "mail", "opened", 0);
        let hook = note(&inc, "hook", "opened", 0);
        store.enqueue(&mail, t(10)).await.unwrap();
        store.enqueue(&hook, t(11)).await.unwrap();
        store
            .mark_failed(&mail.id, "busy", Some(t(20)))
            .await
            .unwrap();

        store.mark_delivered(&mail.id, t(26)).await.unwrap();
        let delivered = row(&*store, inc.id, &mail.id).await;
        assert_eq!(delivered.state, OutboxState::Delivered);
        assert_eq!(delivered.delivered_at, Some(t(26)));
        assert_eq!(delivered.attempts, 2, "the failure and the delivery");
        assert_eq!(delivered.queued_at, t(10));
        assert_eq!(delivered.notification, mail);
        assert_eq!(
            ids(&store.due_outbox(t(100), 10).await.unwrap()),
            [&hook.id]
        );
        assert_eq!(store.next_outbox_due().await.unwrap(), Some(t(11)));
        assert_eq!(
            row(&*store, inc.id, &hook.id).await.state,
            OutboxState::Pending,
            "only that row"
        );
        assert!(matches!(
            store.mark_delivered("nope", t(1)).await.unwrap_err(),
            Error::NotFound {
                what: "outbox row",
                ..
            }
        ));
    }

    pub async fn defer_postpones_a_pending_row_only(h: &Harness) {
        let store = h.fresh().await;
        let inc = stored_incident(&*store, "db", 0).await;
        let pending = note(&inc, "mail", "opened", 0);
        let delivered = note(&inc, "hook", "opened", 0);
        let dead = note(&inc, "pager", "opened", 0);
        for (i, n) in [&pending, &delivered, &dead].into_iter().enumerate() {
            store.enqueue(n, t(i as i64)).await.unwrap();
        }
        store
            .mark_failed(&pending.id, "busy", Some(t(30)))
            .await
            .unwrap();
        store.mark_delivered(&delivered.id, t(5)).await.unwrap();
        store.mark_failed(&dead.id, "gone", None).await.unwrap();
        let before = store.outbox_rows(inc.id).await.unwrap();

        store.defer(&pending.id, t(600)).await.unwrap();
        let deferred = row(&*store, inc.id, &pending.id).await;
        assert_eq!(deferred.state, OutboxState::Pending);
        assert_eq!(deferred.next_attempt_at, t(600));
        assert_eq!(deferred.attempts, 1, "no attempt counted");
        assert_eq!(deferred.last_error.as_deref(), Some("busy"));
        assert_eq!(deferred.queued_at, t(0));
        assert!(store.due_outbox(t(599), 10).await.unwrap().is_empty());
        assert_eq!(
            ids(&store.due_outbox(t(600), 10).await.unwrap()),
            [&pending.id]
        );
        assert_eq!(store.next_outbox_due().await.unwrap(), Some(t(600)));

        // Rows that are not pending are left alone.
        for n in [&delivered, &dead] {
            store.defer(&n.id, t(900)).await.unwrap();
        }
        let after = store.outbox_rows(inc.id).await.unwrap();
        for r in &before[1..] {
            let now = after
                .iter()
                .find(|a| a.notification.id == r.notification.id)
                .unwrap();
            assert_eq!(now, r, "{:?} row untouched", r.state);
        }
        assert_eq!(store.next_outbox_due().await.unwrap(), Some(t(600)));
        assert_eq!(store.outbox_stats().await.unwrap().retrying, 1);
    }

    pub async fn outbox_rows_of_an_incident_oldest_first(h: &Harness) {
        let store = h.fresh().await;
        let a = stored_incident(&*store, "db", 0).await;
        let b = stored_incident(&*store, "web", 0).await;
        let opened = note(&a, "mail", "opened", 0);
        let update = note(&a, "mail", "update:1", 5);
        let other = note(&b, "mail", "opened", 0);
        let hook = note(&a, "hook", "opened", 0);
        store.enqueue(&update, t(20)).await.unwrap();
        store.enqueue(&other, t(15)).await.unwrap();
        store.enqueue(&opened, t(10)).await.unwrap();
        store.enqueue(&hook, t(30)).await.unwrap();
        store.mark_delivered(&opened.id, t(11)).await.unwrap();
        store.mark_failed(&hook.id, "gone", None).await.unwrap();

        let rows = store.outbox_rows(a.id).await.unwrap();
        assert_eq!(
            ids(&rows),
            [&opened.id, &update.id, &hook.id],
            "every state, oldest first, this incident's only"
        );
        assert_eq!(
            rows.iter().map(|r| r.state).collect::<Vec<_>>(),
            [
                OutboxState::Delivered,
                OutboxState::Pending,
                OutboxState::Dead
            ]
        );
        assert_eq!(rows[1].notification, update);
        assert_eq!(rows[1].queued_at, t(20));
        assert_eq!(ids(&store.outbox_rows(b.id).await.unwrap()), [&other.id]);
        assert!(store.outbox_rows(b.id + 1000).await.unwrap().is_empty());
    }

    pub async fn outbox_stats_and_sent_records(h: &Harness) {
        let store = h.fresh().await;
        assert_eq!(store.outbox_stats().await.unwrap(), OutboxStats::default());
        let inc = stored_incident(&*store, "db", 0).await;
        let other = stored_incident(&*store, "web", 0).await;
        let delivered = note(&inc, "mail", "opened", 0);
        let dead = note(&inc, "hook", "opened", 0);
        let retrying = note(&inc, "mail", "update:1", 0);
        let fresh = note(&other, "mail", "opened", 0);
        store.enqueue(&delivered, t(1)).await.unwrap();
        store.enqueue(&dead, t(2)).await.unwrap();
        store.enqueue(&retrying, t(3)).await.unwrap();
        store.enqueue(&fresh, t(4)).await.unwrap();
        store.mark_delivered(&delivered.id, t(5)).await.unwrap();
        store.mark_failed(&dead.id, "gone", None).await.unwrap();
        store
            .mark_failed(&retrying.id, "busy", Some(t(100)))
            .await
            .unwrap();
        assert_eq!(
            store.outbox_stats().await.unwrap(),
            OutboxStats {
                pending: 2,
                retrying: 1,
                dead: 1,
                delivered: 1,
                oldest_pending: Some(t(3)),
            }
        );

        let mut sent: Vec<(String, String, DateTime<Utc>)> = store
            .sent_records(inc.id)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.sink, s.key, s.at))
            .collect();
        sent.sort_by_key(|s| s.2);
        let want = [
            ("mail", "opened", t(1)),
            ("hook", "opened", t(2)),
            ("mail", "update:1", t(3)),
        ]
        .map(|(s, k, at)| (s.to_owned(), k.to_owned(), at));
        assert_eq!(sent, want, "any state, with when it was queued");
        assert_eq!(store.sent_records(other.id).await.unwrap().len(), 1);
        assert!(
            store
                .sent_records(other.id + 1000)
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn prune_deletes_old_history_and_resolved_incidents(h: &Harness) {
        let store = h.fresh().await;
        store
            .record_observations(batch([
                ("db", obs(Status::Critical, "down", 0)),
                ("db", obs(Status::Ok, "old", 50)),
                ("web", obs(Status::Warning, "slow", 10)),
            ]))
            .await
            .unwrap();
        store
            .record_observations(batch([("db", obs(Status::Ok, "new", 100))]))
            .await
            .unwrap();
        let kept = TransitionRecord {
            check: "db".to_owned(),
            at: t(200),
            transition: Transition::Released,
            incident_id: None,
        };
        store
            .record_transitions(&[
                TransitionRecord {
                    check: "db".to_owned(),
                    at: t(10),
                    transition: Transition::Recovered,
                    incident_id: None,
                },
                kept.clone(),
            ])
            .await
            .unwrap();

        // Resolved before the cut: goes, with its delivered row but not its pending one.
        let mut gone = stored_incident(&*store, "db", 0).await;
        gone.resolve("back", t(20));
        store.update_incident(&gone).await.unwrap();
        let sent = note(&gone, "mail", "opened", 0);
        let pending = note(&gone, "mail", "resolved", 20);
        store.enqueue(&sent, t(0)).await.unwrap();
        store.enqueue(&pending, t(20)).await.unwrap();
        store.mark_delivered(&sent.id, t(1)).await.unwrap();
        // Resolved after the cut, and still open: both stay, with their rows.
        let mut recent = stored_incident(&*store, "web", 0).await;
        recent.resolve("back", t(150));
        store.update_incident(&recent).await.unwrap();
        let recent_note = note(&recent, "mail", "opened", 0);
        store.enqueue(&recent_note, t(0)).await.unwrap();
        store.mark_delivered(&recent_note.id, t(1)).await.unwrap();
        let open = stored_incident(&*store, "printer", 0).await;
        // An acknowledgement token is kept until it expires.
        assert!(
            store
                .use_ack_token("tok", open.id, t(500), t(5))
                .await
                .unwrap()
        );

        assert!(store.prune(t(100)).await.unwrap() > 0);
        assert_eq!(
            everything(&*store, "db").await,
            vec![obs(Status::Ok, "new", 100)]
        );
        assert!(everything(&*store, "web").await.is_empty());
        assert_eq!(store.transitions(None, t(-1), 0).await.unwrap(), vec![kept]);
        assert!(store.incident(gone.id).await.unwrap().is_none());
        assert_eq!(
            store.incident(recent.id).await.unwrap(),
            Some(recent.clone())
        );
        assert_eq!(store.incident(open.id).await.unwrap(), Some(open.clone()));
        assert_eq!(
            ids(&store.outbox_rows(gone.id).await.unwrap()),
            [&pending.id]
        );
        assert_eq!(
            ids(&store.outbox_rows(recent.id).await.unwrap()),
            [&recent_note.id]
        );
        assert!(
            !store
                .use_ack_token("tok", open.id, t(500), t(101))
                .await
                .unwrap()
        );
        assert_eq!(
            store.prune(t(100)).await.unwrap(),
            0,
            "nothing left to prune"
        );
    }

    pub async fn rollups_of_every_tier_count_and_spread(h: &Harness) {
        let store = h.fresh().await;
        let all = three_hours();
        record_in_batches(&*store, "web", &all, 30).await;
        store
            .record_observations(batch([("db", obs(Status::Ok, "up", 15 * HOUR))]))
            .await
            .unwrap();
        let (from, until) = (t(-DAY), t(2 * DAY));
        for tier in Tier::ALL {
            let rollups = store.rollups("web", tier, from, until).await.unwrap();
            let want = periods(&all, tier);
            assert_eq!(
                rollups
                    .iter()
                    .map(|r| r.start.timestamp_millis())
                    .collect::<Vec<_>>(),
                want.keys().copied().collect::<Vec<_>>(),
                "{tier}: one rollup per period with observations, oldest first"
            );
            for (r, obs) in rollups.iter().zip(want.values()) {
                assert_eq!(r.tier, tier);
                assert_rollup(r, obs);
            }
        }
        let days = store.rollups("web", Tier::Day, from, until).await.unwrap();
        assert_eq!(days.len(), 2, "over midnight");
        assert_eq!(days.iter().map(|d| d.count).sum::<u64>(), 540);
        // Each check's own.
        let db = store.rollups("db", Tier::Hour, from, until).await.unwrap();
        assert_eq!(db.len(), 1);
        assert_eq!((db[0].count, db[0].failures), (1, 0));
        assert!(db[0].metrics.is_empty());
        assert!(
            store
                .rollups("nope", Tier::Hour, from, until)
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn rollups_are_read_in_a_half_open_range(h: &Harness) {
        let store = h.fresh().await;
        let all = three_hours();
        record_in_batches(&*store, "web", &all, 45).await;
        let starts = |v: Vec<Rollup>| v.iter().map(|r| r.start).collect::<Vec<_>>();
        // [23:00, 01:00): the two first hours; a period starting before `since` is not one.
        assert_eq!(
            starts(
                store
                    .rollups("web", Tier::Hour, t(15 * HOUR), t(17 * HOUR))
                    .await
                    .unwrap()
            ),
            [t(15 * HOUR), t(16 * HOUR)]
        );
        assert_eq!(
            starts(
                store
                    .rollups("web", Tier::Hour, t(15 * HOUR + 60), t(17 * HOUR + 1))
                    .await
                    .unwrap()
            ),
            [t(16 * HOUR), t(17 * HOUR)]
        );
        let minutes = store
            .rollups("web", Tier::Minute, t(16 * HOUR + 120), t(16 * HOUR + 300))
            .await
            .unwrap();
        assert_eq!(
            starts(minutes.clone()),
            [t(16 * HOUR + 120), t(16 * HOUR + 180), t(16 * HOUR + 240)]
        );
        assert!(minutes.iter().all(|m| m.count == 3), "a 20 s check");
        // The day that starts at midnight, not the one before it.
        let days = store
            .rollups("web", Tier::Day, t(16 * HOUR), t(3 * DAY))
            .await
            .unwrap();
        assert_eq!(starts(days.clone()), [t(16 * HOUR)]);
        assert_eq!(days[0].count, 360);
        assert!(
            store
                .rollups("web", Tier::Hour, t(18 * HOUR), t(DAY))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .rollups("web", Tier::Minute, t(15 * HOUR), t(15 * HOUR))
                .await
                .unwrap()
                .is_empty(),
            "an empty range"
        );
    }

    pub async fn availability_over_a_span(h: &Harness) {
        let store = h.fresh().await;
        // Four hours at a minute: web fails one in ten and cannot tell one in fifteen; db is
        // fine; printer only cannot tell.
        let mut web = Vec::new();
        let mut db = Vec::new();
        let mut printer = Vec::new();
        for i in 0..240i64 {
            let status = if i % 10 == 0 {
                Status::Critical
            } else if i % 15 == 1 {
                Status::Unknown
            } else {
                Status::Ok
            };
            web.push(obs(status, "web", i * 60));
            db.push(obs(Status::Ok, "db", i * 60 + 1));
            if i < 3 {
                printer.push(obs(Status::Unknown, "no answer", i * 60 + 2));
            }
        }
        record_in_batches(&*store, "web", &web, 40).await;
        record_in_batches(&*store, "db", &db, 40).await;
        record_in_batches(&*store, "printer", &printer, 40).await;

        let expect = |o: &[Observation], since: DateTime<Utc>| {
            let o: Vec<&Observation> = o.iter().filter(|o| o.at >= since).collect();
            let n = |s: Status| o.iter().filter(|o| o.status == s).count() as u64;
            (o.len() as u64, n(Status::Critical), n(Status::Unknown))
        };
        for since in [t(-DAY), t(0), t(2 * HOUR)] {
            let got = store.availability(since).await.unwrap();
            let with_data: Vec<&str> = got
                .iter()
                .filter(|a| a.count > 0)
                .map(|a| a.check.as_str())
                .collect();
            let want_checks: Vec<&str> = if since > t(HOUR) {
                vec!["db", "web"]
            } else {
                vec!["db", "printer", "web"]
            };
            assert_eq!(with_data, want_checks, "by check name, since {since}");
            for a in got.iter().filter(|a| a.count > 0) {
                let all = match a.check.as_str() {
                    "web" => &web,
                    "db" => &db,
                    _ => &printer,
                };
                let (count, failures, unknown) = expect(all, since);
                assert_eq!(
                    (a.count, a.failures, a.unknown),
                    (count, failures, unknown),
                    "{} since {since}",
                    a.check
                );
                let told = count - unknown;
                let want = (told > 0).then(|| 1.0 - failures as f64 / told as f64);
                match (a.availability, want) {
                    (Some(got), Some(want)) => assert!(near(got, want, 1e-9), "{got} vs {want}"),
                    (got, want) => assert_eq!(got, want, "{}", a.check),
                }
            }
        }
        let all = store.availability(t(0)).await.unwrap();
        let web_a = all.iter().find(|a| a.check == "web").unwrap();
        assert_eq!((web_a.count, web_a.failures, web_a.unknown), (240, 24, 16));
        assert_eq!(
            all.iter()
                .find(|a| a.check == "printer")
                .unwrap()
                .availability,
            None,
            "none could tell"
        );
        assert_eq!(
            all.iter().find(|a| a.check == "db").unwrap().availability,
            Some(1.0)
        );
    }

    pub async fn availability_counts_nothing_before_since(h: &Harness) {
        let store = h.fresh().await;
        // `gone` reports from 08:00 to 08:29 and then no more; `web` from 08:00 to 11:59, a
        // failure in five.
        let gone: Vec<Observation> = (0..30i64)
            .map(|i| obs(Status::Critical, "down", i * 60))
            .collect();
        let web: Vec<Observation> = (0..240i64)
            .map(|i| {
                let status = if i % 5 == 0 {
                    Status::Critical
                } else {
                    Status::Ok
                };
                obs(status, "web", i * 60 + 1)
            })
            .collect();
        record_in_batches(&*store, "gone", &gone, 10).await;
        record_in_batches(&*store, "web", &web, 40).await;
        let counted = |v: &[forewarn::store::Availability], check: &str| {
            v.iter()
                .find(|a| a.check == check)
                .map_or((0, 0), |a| (a.count, a.failures))
        };
        // From 10:00: web's last two hours; nothing of gone, silent since 08:30.
        let from_ten = store.availability(t(2 * HOUR)).await.unwrap();
        assert_eq!(counted(&from_ten, "web"), (120, 24), "{from_ten:?}");
        assert_eq!(counted(&from_ten, "gone"), (0, 0), "{from_ten:?}");
    }

    pub async fn availability_since_after_the_history_is_empty(h: &Harness) {
        let store = h.fresh().await;
        let web: Vec<Observation> = (0..240i64)
            .map(|i| {
                let status = if i % 5 == 0 {
                    Status::Critical
                } else {
                    Status::Ok
                };
                obs(status, "web", i * 60)
            })
            .collect();
        record_in_batches(&*store, "web", &web, 40).await;
        // The history ends at 11:59: from 13:00, and from tomorrow, there is nothing to count.
        for since in [t(5 * HOUR), t(DAY)] {
            let got = store.availability(since).await.unwrap();
            assert!(got.iter().all(|a| a.count == 0), "since {since}: {got:?}");
        }
    }

    pub async fn prune_history_drops_raw_history_and_keeps_rollups(h: &Harness) {
        let store = h.fresh().await;
        // Five days at ten minutes, a failure an hour.
        let all: Vec<Observation> = (0..720i64)
            .map(|i| {
                let status = if i % 6 == 0 {
                    Status::Critical
                } else {
                    Status::Ok
                };
                obs(status, &format!("answered in {} ms", i % 7), i * 600)
                    .with_latency(Duration::from_micros(500 + i as u64))
                    .with_metric("time", (500 + i) as f64 / 1e6, "s")
            })
            .collect();
        record_in_batches(&*store, "web", &all, 50).await;
        let now = t(5 * DAY);
        let retention = HistoryRetention {
            raw: Duration::from_secs(DAY as u64),
            minutes: Duration::from_secs(2 * DAY as u64),
            hours: Duration::from_secs(3 * DAY as u64),
            days: None,
            min_free: 0,
        };
        retention.validate().unwrap();
        assert!(store.prune_history(now, &retention).await.unwrap() > 0);

        // Raw history: everything since the cut is there; what is left before it is at most
        // the rest of a block (an hour).
        let raw_cut = t(4 * DAY);
        let got = everything(&*store, "web").await;
        let since_cut: Vec<DateTime<Utc>> = all
            .iter()
            .filter(|o| o.at >= raw_cut)
            .rev()
            .map(|o| o.at)
            .collect();
        let kept: Vec<DateTime<Utc>> = got
            .iter()
            .map(|o| o.at)
            .filter(|&at| at >= raw_cut)
            .collect();
        assert_eq!(kept, since_cut);
        assert!(
            got.iter()
                .all(|o| o.at >= raw_cut - chrono::Duration::hours(1)),
            "older raw history is gone: {:?}",
            got.last().map(|o| o.at)
        );
        // Minutes: those since their cut; none older than a day before it.
        let minutes = store
            .rollups("web", Tier::Minute, t(-DAY), now)
            .await
            .unwrap();
        let minute_cut = t(3 * DAY);
        assert_eq!(
            minutes.iter().filter(|m| m.start >= minute_cut).count(),
            all.iter().filter(|o| o.at >= minute_cut).count()
        );
        assert!(
            minutes
                .iter()
                .all(|m| m.start >= minute_cut - chrono::Duration::days(1))
        );
        // Hours: likewise.
        let hours = store
            .rollups("web", Tier::Hour, t(-DAY), now)
            .await
            .unwrap();
        let hour_cut = t(2 * DAY);
        let recent: Vec<&Rollup> = hours.iter().filter(|r| r.start >= hour_cut).collect();
        assert_eq!(recent.len(), 72);
        assert!(recent.iter().all(|r| (r.count, r.failures) == (6, 1)));
        assert!(
            hours
                .iter()
                .all(|m| m.start >= hour_cut - chrono::Duration::days(1))
        );
        // Days: kept forever, counting everything.
        let days = store.rollups("web", Tier::Day, t(-DAY), now).await.unwrap();
        assert_eq!(days.len(), 6);
        assert_eq!(days.iter().map(|d| d.count).sum::<u64>(), 720);
        assert_eq!(days.iter().map(|d| d.failures).sum::<u64>(), 120);
        assert_eq!(
            store.prune_history(now, &retention).await.unwrap(),
            0,
            "nothing more to delete"
        );
    }

    pub async fn space_is_answered(h: &Harness) {
        let store = h.fresh().await;
        store
            .record_observations(batch([("db", obs(Status::Critical, "down", 0))]))
            .await
            .unwrap();
        store.flush().await.unwrap();
        if let Some(space) = store.space().await.unwrap() {
            assert!(space.used > 0, "{space:?}");
            assert!(space.total > 0 && space.free <= space.total, "{space:?}");
        }
    }

    pub async fn shed_oldest_raw_drops_the_oldest_day_first(h: &Harness) {
        let store = h.fresh().await;
        assert_eq!(
            store.shed_oldest_raw().await.unwrap(),
            None,
            "nothing to shed"
        );
        // Three days at an hour, from 08:00: mostly failing (whole), some OK.
        let all: Vec<Observation> = (0..72i64)
            .map(|i| {
                let status = if i % 4 == 1 {
                    Status::Ok
                } else {
                    Status::Critical
                };
                obs(status, "probe", i * HOUR).with_metric("t", 1.0 + i as f64, "s")
            })
            .collect();
        record_in_batches(&*store, "db", &all, 5).await;

        let mut last = None;
        for round in 0.. {
            assert!(round < 10, "the history never ran out");
            let left = everything(&*store, "db").await;
            let Some(through) = store.shed_oldest_raw().await.unwrap() else {
                break;
            };
            let oldest = left.last().expect("something was shed").at;
            assert!(
                through > oldest && through <= oldest + chrono::Duration::days(1),
                "round {round}: through {through}, oldest {oldest}"
            );
            assert!(last.is_none_or(|l| through > l), "round {round}");
            last = Some(through);
            let now_left = everything(&*store, "db").await;
            let want: Vec<DateTime<Utc>> = left
                .iter()
                .map(|o| o.at)
                .filter(|&at| at >= through)
                .collect();
            assert_eq!(
                now_left.iter().map(|o| o.at).collect::<Vec<_>>(),
                want,
                "round {round}: older gone, the rest kept"
            );
        }
        assert!(
            last.is_some_and(|l| l > all[71].at),
            "shed to the end: {last:?}"
        );
        assert!(everything(&*store, "db").await.is_empty());
        // Rollups are not raw history: they stay.
        let days = store
            .rollups("db", Tier::Day, t(-DAY), t(4 * DAY))
            .await
            .unwrap();
        assert_eq!(days.iter().map(|d| d.count).sum::<u64>(), 72);
        assert_eq!(days.iter().map(|d| d.failures).sum::<u64>(), 54);
    }

    pub async fn outages_save_update_and_list(h: &Harness) {
        let store = h.fresh().await;
        let mut o = Outage::start(
            "sis",
            BTreeSet::from(["web".to_owned()]),
            BTreeSet::from([3]),
            t(0),
        );
        o.id = store.save_outage(&o).await.unwrap();
        assert!(o.id > 0);
        o.push(
            OutageEvent::Note,
            None,
            Some("vendor called"),
            Some("ana"),
            t(60),
        );
        o.sent.insert("teachers/mail/we_know".to_owned());
        assert_eq!(store.save_outage(&o).await.unwrap(), o.id, "saved over");
        let mut old = Outage::start("wifi", BTreeSet::new(), BTreeSet::new(), t(-40 * DAY));
        old.closed = true;
        old.back_at = Some(t(-40 * DAY + HOUR));
        old.id = store.save_outage(&old).await.unwrap();
        let mut newer = Outage::start("mail", BTreeSet::new(), BTreeSet::new(), t(-DAY));
        newer.closed = true;
        newer.id = store.save_outage(&newer).await.unwrap();
        assert!(old.id != o.id && newer.id != o.id && newer.id != old.id);

        assert_eq!(
            store.outages(t(-50 * DAY), 0).await.unwrap(),
            vec![o.clone(), newer.clone(), old.clone()],
            "newest first, whole"
        );
        assert_eq!(
            store.outages(t(-2 * DAY), 0).await.unwrap(),
            vec![o.clone(), newer.clone()]
        );
        assert_eq!(
            store.outages(t(10), 0).await.unwrap(),
            vec![o.clone()],
            "not closed: whenever it started"
        );
        assert_eq!(
            store.outages(t(-50 * DAY), 2).await.unwrap(),
            vec![o.clone(), newer.clone()]
        );
        o.closed = true;
        o.back_at = Some(t(120));
        store.save_outage(&o).await.unwrap();
        assert!(
            store.outages(t(10), 0).await.unwrap().is_empty(),
            "closed now"
        );
        let mut ghost = o.clone();
        ghost.id = o.id + newer.id + old.id + 1000;
        assert!(store.save_outage(&ghost).await.is_err(), "no such outage");
    }

    pub async fn ack_tokens_are_used_once(h: &Harness) {
        let store = h.fresh().await;
        assert!(store.use_ack_token("t1", 5, t(3600), t(0)).await.unwrap());
        assert!(!store.use_ack_token("t1", 5, t(3600), t(1)).await.unwrap());
        assert!(
            !store.use_ack_token("t1", 6, t(7200), t(2)).await.unwrap(),
            "the token decides, not the incident"
        );
        assert!(store.use_ack_token("t2", 5, t(3600), t(3)).await.unwrap());
        assert!(!store.use_ack_token("t2", 5, t(3600), t(4)).await.unwrap());
    }

    pub async fn planned_maintenance_upsert_list_and_delete(h: &Harness) {
        let store = h.fresh().await;
        assert!(store.planned_maintenance().await.unwrap().is_empty());
        let mut late = PlannedMaintenance {
            id: "m1".into(),
            title: "Server upgrade".into(),
            services: vec!["sis".into()],
            starts_at: t(100),
            ends_at: t(900),
            description: None,
        };
        let early = PlannedMaintenance {
            id: "m2".into(),
            title: "Switch firmware".into(),
            services: vec!["wifi".into(), "phones".into()],
            starts_at: t(200),
            ends_at: t(300),
            description: Some("building B".into()),
        };
        store.save_planned_maintenance(&late).await.unwrap();
        store.save_planned_maintenance(&early).await.unwrap();
        late.description = Some("new disks".into());
        late.ends_at = t(950);
        store.save_planned_maintenance(&late).await.unwrap();
        assert_eq!(
            store.planned_maintenance().await.unwrap(),
            vec![early.clone(), late.clone()],
            "saved over by id, listed by end"
        );
        assert!(store.delete_planned_maintenance("m1").await.unwrap());
        assert!(!store.delete_planned_maintenance("m1").await.unwrap());
        assert!(!store.delete_planned_maintenance("nope").await.unwrap());
        assert_eq!(store.planned_maintenance().await.unwrap(), vec![early]);
    }

    pub async fn agents_create_revoke_and_create_anew(h: &Harness) {
        let store = h.fresh().await;
        assert!(store.agents().await.unwrap().is_empty());
        store
            .create_agent("lab-01", "servers", &hash('a'), t(0))
            .await
            .unwrap();
        store
            .create_agent("desk-07", "laptops", &hash('d'), t(5))
            .await
            .unwrap();
        let agents = store.agents().await.unwrap();
        assert_eq!(
            agents.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            ["desk-07", "lab-01"],
            "by name"
        );
        assert_eq!(
            agents[1],
            AgentRecord {
                name: "lab-01".into(),
                group: "servers".into(),
                created_at: t(0),
                revoked_at: None,
                last_seen: None,
                interval_secs: None,
                max_seq: 0,
                checks: vec![],
            }
        );
        assert_eq!(
            store.agent_by_token(&hash('a'), t(10)).await.unwrap(),
            AgentTokenCheck::Valid {
                agent: "lab-01".into(),
                group: "servers".into()
            }
        );
        assert_eq!(
            store.agent_by_token(&hash('f'), t(10)).await.unwrap(),
            AgentTokenCheck::Unknown
        );
        assert!(
            store
                .create_agent("lab-01", "servers", &hash('b'), t(20))
                .await
                .is_err(),
            "refused while it exists"
        );
        assert_eq!(
            store.agent_by_token(&hash('b'), t(21)).await.unwrap(),
            AgentTokenCheck::Unknown
        );

        store.revoke_agent("lab-01", t(30)).await.unwrap();
        assert_eq!(
            store.agent_by_token(&hash('a'), t(31)).await.unwrap(),
            AgentTokenCheck::Revoked {
                agent: "lab-01".into()
            }
        );
        assert_eq!(agent(&*store, "lab-01").await.revoked_at, Some(t(30)));
        assert!(store.revoke_agent("nope", t(30)).await.is_err());
        assert!(matches!(
            store.agent_by_token(&hash('d'), t(31)).await.unwrap(),
            AgentTokenCheck::Valid { .. }
        ));

        // Made anew: a new token and group; the old token is not taken again.
        store
            .create_agent("lab-01", "laptops", &hash('c'), t(40))
            .await
            .unwrap();
        assert_eq!(
            store.agent_by_token(&hash('c'), t(41)).await.unwrap(),
            AgentTokenCheck::Valid {
                agent: "lab-01".into(),
                group: "laptops".into()
            }
        );
        assert!(!matches!(
            store.agent_by_token(&hash('a'), t(41)).await.unwrap(),
            AgentTokenCheck::Valid { .. }
        ));
        let anew = agent(&*store, "lab-01").await;
        assert_eq!(
            (anew.group.as_str(), anew.created_at, anew.revoked_at),
            ("laptops", t(40), None)
        );
    }

    pub async fn agent_tokens_rotate_with_a_grace_period(h: &Harness) {
        let store = h.fresh().await;
        store
            .create_agent("lab-01", "servers", &hash('a'), t(0))
            .await
            .unwrap();
        store
            .rotate_agent_token("lab-01", &hash('b'), t(100), t(200))
            .await
            .unwrap();
        let valid = AgentTokenCheck::Valid {
            agent: "lab-01".into(),
            group: "servers".into(),
        };
        assert_eq!(
            store.agent_by_token(&hash('a'), t(150)).await.unwrap(),
            valid
        );
        assert_eq!(
            store.agent_by_token(&hash('b'), t(150)).await.unwrap(),
            valid
        );
        assert_eq!(
            store.agent_by_token(&hash('a'), t(199)).await.unwrap(),
            valid
        );
        assert_eq!(
            store.agent_by_token(&hash('a'), t(201)).await.unwrap(),
            AgentTokenCheck::Unknown,
            "its grace is over"
        );
        assert_eq!(
            store.agent_by_token(&hash('b'), t(10_000)).await.unwrap(),
            valid
        );
        // Another rotation: both older tokens until the new grace ends at the latest.
        store
            .rotate_agent_token("lab-01", &hash('c'), t(300), t(400))
            .await
            .unwrap();
        assert_eq!(
            store.agent_by_token(&hash('b'), t(399)).await.unwrap(),
            valid
        );
        assert_eq!(
            store.agent_by_token(&hash('b'), t(401)).await.unwrap(),
            AgentTokenCheck::Unknown
        );
        assert_eq!(
            store.agent_by_token(&hash('a'), t(350)).await.unwrap(),
            AgentTokenCheck::Unknown,
            "an ended grace does not come back"
        );
        assert_eq!(
            store.agent_by_token(&hash('c'), t(401)).await.unwrap(),
            valid
        );
        assert!(
            store
                .rotate_agent_token("nope", &hash('e'), t(300), t(400))
                .await
                .is_err()
        );
        assert_eq!(
            store.agent_by_token(&hash('e'), t(301)).await.unwrap(),
            AgentTokenCheck::Unknown
        );
        store.revoke_agent("lab-01", t(500)).await.unwrap();
        assert_eq!(
            store.agent_by_token(&hash('c'), t(501)).await.unwrap(),
            AgentTokenCheck::Revoked {
                agent: "lab-01".into()
            }
        );
    }

    pub async fn agent_checks_and_observations_each_seq_once(h: &Harness) {
        let store = h.fresh().await;
        store
            .create_agent("lab-01", "servers", &hash('a'), t(0))
            .await
            .unwrap();
        store
            .create_agent("lab-02", "servers", &hash('b'), t(0))
            .await
            .unwrap();
        store
            .add_agent_checks("lab-01", &["disk".into(), "cpu".into()])
            .await
            .unwrap();
        store
            .add_agent_checks("lab-01", &["cpu".into(), "mem".into()])
            .await
            .unwrap();
        let checks: BTreeSet<String> = agent(&*store, "lab-01").await.checks.into_iter().collect();
        assert_eq!(
            checks,
            BTreeSet::from(["cpu".into(), "disk".into(), "mem".into()])
        );
        assert_eq!(agent(&*store, "lab-01").await.checks.len(), 3, "each once");
        assert!(agent(&*store, "lab-02").await.checks.is_empty());

        let first = [
            agent_obs(1, "disk", 10),
            agent_obs(2, "cpu", 10),
            agent_obs(3, "disk", 70),
        ];
        assert_eq!(
            store
                .record_agent_observations("lab-01", "box-1", 60, t(75), &first)
                .await
                .unwrap(),
            (vec![true, true, true], 3)
        );
        // A retry overlapping the last push: the seen ones are not new.
        let retry = [
            agent_obs(2, "cpu", 10),
            agent_obs(3, "disk", 70),
            agent_obs(4, "cpu", 130),
        ];
        assert_eq!(
            store
                .record_agent_observations("lab-01", "box-1", 30, t(135), &retry)
                .await
                .unwrap(),
            (vec![false, false, true], 4)
        );
        assert_eq!(
            store
                .record_agent_observations(
                    "lab-01",
                    "box-1",
                    30,
                    t(140),
                    &[agent_obs(1, "disk", 10)]
                )
                .await
                .unwrap(),
            (vec![false], 4),
            "an old one again: the highest stays"
        );
        let a = agent(&*store, "lab-01").await;
        assert_eq!(
            (a.last_seen, a.interval_secs, a.max_seq),
            (Some(t(140)), Some(30), 4)
        );
        // Another agent numbers on its own.
        assert_eq!(
            store
                .record_agent_observations(
                    "lab-02",
                    "box-9",
                    60,
                    t(150),
                    &[agent_obs(1, "disk", 150)]
                )
                .await
                .unwrap(),
            (vec![true], 1)
        );
        // A new outbox numbers from 1 again.
        assert_eq!(
            store
                .record_agent_observations(
                    "lab-01",
                    "box-2",
                    60,
                    t(200),
                    &[agent_obs(1, "disk", 190), agent_obs(2, "cpu", 190)]
                )
                .await
                .unwrap(),
            (vec![true, true], 2)
        );
        assert_eq!(agent(&*store, "lab-01").await.max_seq, 2);
        assert_eq!(agent(&*store, "lab-02").await.max_seq, 1);
        assert_eq!(
            store
                .record_agent_observations(
                    "lab-01",
                    "box-2",
                    60,
                    t(260),
                    &[agent_obs(2, "cpu", 190)]
                )
                .await
                .unwrap(),
            (vec![false], 2)
        );
    }

    pub async fn everything_survives_a_restart(h: &Harness) {
        let store = h.fresh().await;
        let installation = store.installation_id().await.unwrap();
        let history = vec![
            obs(Status::Critical, "down", 1)
                .with_latency(Duration::from_millis(2000))
                .with_metric("time", 2.0, "s"),
            obs(Status::Ok, "up in 3 ms", 5).with_metric("time", 0.003, "s"),
            obs(Status::Ok, "up in 4 ms", 10).with_metric("time", 0.004, "s"),
        ];
        record_in_batches(&*store, "db", &history, 2).await;
        let state = CheckState {
            last_status: Some(Status::Ok),
            last_at: Some(t(10)),
            consecutive_successes: 2,
            ..Default::default()
        };
        store
            .save_check_states(&[("db".to_owned(), state.clone())])
            .await
            .unwrap();
        let transition = TransitionRecord {
            check: "db".to_owned(),
            at: t(1),
            transition: Transition::Opened {
                status: Status::Critical,
            },
            incident_id: Some(1),
        };
        store
            .record_transitions(std::slice::from_ref(&transition))
            .await
            .unwrap();
        let inc = stored_incident(&*store, "db", 1).await;
        let n = note(&inc, "mail", "opened", 1);
        store.enqueue(&n, t(1)).await.unwrap();
        store.mark_failed(&n.id, "busy", Some(t(90))).await.unwrap();
        let mut outage = Outage::start("sis", BTreeSet::new(), BTreeSet::from([inc.id]), t(1));
        outage.id = store.save_outage(&outage).await.unwrap();
        let plan = PlannedMaintenance {
            id: "m1".into(),
            title: "Server upgrade".into(),
            services: vec!["sis".into()],
            starts_at: t(100),
            ends_at: t(200),
            description: None,
        };
        store.save_planned_maintenance(&plan).await.unwrap();
        assert!(
            store
                .use_ack_token("tok", inc.id, t(3600), t(2))
                .await
                .unwrap()
        );
        store
            .create_agent("lab-01", "servers", &hash('a'), t(0))
            .await
            .unwrap();
        store
            .add_agent_checks("lab-01", &["disk".into()])
            .await
            .unwrap();
        store
            .record_agent_observations("lab-01", "box-1", 60, t(3), &[agent_obs(1, "disk", 3)])
            .await
            .unwrap();
        let agents = store.agents().await.unwrap();
        let rows = store.outbox_rows(inc.id).await.unwrap();

        let store = h.reopen(store).await;
        assert_eq!(store.installation_id().await.unwrap(), installation);
        let back = everything(&*store, "db").await;
        assert_eq!(back.len(), 3);
        assert_eq!(back[2], history[0], "the failure, whole");
        assert_eq!(back[1], history[1], "the recovery, whole");
        assert_eq!((back[0].at, back[0].status), (t(10), Status::Ok));
        assert_eq!(
            store.load_check_states().await.unwrap(),
            vec![("db".to_owned(), state)]
        );
        assert_eq!(
            store.transitions(Some("db"), t(0), 0).await.unwrap(),
            vec![transition]
        );
        assert_eq!(store.incident(inc.id).await.unwrap(), Some(inc.clone()));
        assert_eq!(store.outbox_rows(inc.id).await.unwrap(), rows);
        assert!(!store.enqueue(&n, t(2)).await.unwrap(), "still queued");
        assert_eq!(store.next_outbox_due().await.unwrap(), Some(t(90)));
        assert_eq!(store.outages(t(0), 0).await.unwrap(), vec![outage.clone()]);
        assert_eq!(store.planned_maintenance().await.unwrap(), vec![plan]);
        assert!(
            !store
                .use_ack_token("tok", inc.id, t(3600), t(3))
                .await
                .unwrap()
        );
        assert_eq!(store.agents().await.unwrap(), agents);
        assert!(matches!(
            store.agent_by_token(&hash('a'), t(4)).await.unwrap(),
            AgentTokenCheck::Valid { .. }
        ));
        assert_eq!(
            store
                .record_agent_observations("lab-01", "box-1", 60, t(5), &[agent_obs(1, "disk", 3)])
                .await
                .unwrap(),
            (vec![false], 1),
            "what was pushed is known"
        );
        let hours = store
            .rollups("db", Tier::Hour, t(0), t(HOUR))
            .await
            .unwrap();
        assert_eq!(hours.len(), 1);
        assert_eq!((hours[0].count, hours[0].failures), (3, 1));

        // Ids go on counting, and the history goes on.
        assert!(store.insert_incident(&incident("web", 2)).await.unwrap() > inc.id);
        let next = Outage::start("mail", BTreeSet::new(), BTreeSet::new(), t(3));
        assert!(store.save_outage(&next).await.unwrap() > outage.id);
        store
            .record_observations(batch([
                ("db", obs(Status::Critical, "down again", 20)),
                ("web", obs(Status::Ok, "up", 20)),
            ]))
            .await
            .unwrap();
        assert_eq!(everything(&*store, "db").await.len(), 4);
        assert_eq!(
            everything(&*store, "web").await,
            vec![obs(Status::Ok, "up", 20)]
        );
    }

    pub async fn concurrent_calls_from_many_tasks(h: &Harness) {
        let store = h.fresh().await;
        let mut tasks = Vec::new();
        for task in 0..8i64 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                for round in 0..20i64 {
                    let rows: Vec<(Arc<str>, Observation)> = (0..50i64)
                        .map(|i| {
                            (
                                Arc::from(format!("check-{}", (task * 7 + i) % 30)),
                                obs(Status::Ok, "ok", round * 100 + i),
                            )
                        })
                        .collect();
                    store.record_observations(rows).await.unwrap();
                    let inc = stored_incident(&*store, &format!("task-{task}"), round).await;
                    assert!(
                        store
                            .enqueue(&note(&inc, "mail", "opened", 0), t(0))
                            .await
                            .unwrap()
                    );
                    store.incidents(&IncidentFilter::default()).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let mut seen = 0;
        for c in 0..30 {
            seen += everything(&*store, &format!("check-{c}")).await.len();
        }
        assert_eq!(seen, 8 * 20 * 50, "every observation");
        let all = store.incidents(&IncidentFilter::default()).await.unwrap();
        assert_eq!(all.len(), 160);
        let ids: BTreeSet<i64> = all.iter().map(|i| i.id).collect();
        assert_eq!(ids.len(), 160, "every id given once");
        assert_eq!(store.outbox_stats().await.unwrap().pending, 160);
    }
}

/// PostgreSQL makes rollups again from the rows when an hour closes, so an observation that
/// comes after its hour closed (an agent's or a site's, after a partition) is counted into
/// that hour, and its day, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_counts_a_late_observation_into_its_closed_hour_once() {
    let Some(backend) = postgres_backend() else {
        return;
    };
    let h = Harness::new(backend);
    let store = h.fresh().await;
    let t0: DateTime<Utc> = "2026-03-02T08:00:00Z".parse().unwrap();
    let at = |secs: i64| t0 + chrono::Duration::seconds(secs);
    let check: Arc<str> = Arc::from("lab-switch");
    let ok = |secs: i64| {
        (
            check.clone(),
            Observation::new(Status::Ok, "connected in 3 ms", at(secs)),
        )
    };
    store
        .record_observations((0..10).map(|i| ok(i * 60)).collect())
        .await
        .unwrap();
    // The next hour's first observation closes 08:00.
    store.record_observations(vec![ok(3600)]).await.unwrap();
    // An observation of 08:30 comes late, twice in one batch and once more after.
    let late = (
        check.clone(),
        Observation::new(Status::Critical, "connection refused", at(1800)),
    );
    store
        .record_observations(vec![late.clone(), late.clone()])
        .await
        .unwrap();
    store.record_observations(vec![late]).await.unwrap();
    let hours = store
        .rollups("lab-switch", Tier::Hour, at(0), at(7200))
        .await
        .unwrap();
    let counts: Vec<(u64, u64)> = hours.iter().map(|r| (r.count, r.failures)).collect();
    assert_eq!(counts, [(13, 3), (1, 0)], "{hours:?}");
    let days = store
        .rollups("lab-switch", Tier::Day, at(-8 * 3600), at(86_400))
        .await
        .unwrap();
    assert_eq!(
        days.iter()
            .map(|r| (r.count, r.failures))
            .collect::<Vec<_>>(),
        [(14, 3)]
    );
    let minutes = store
        .rollups("lab-switch", Tier::Minute, at(1800), at(1860))
        .await
        .unwrap();
    assert_eq!(
        minutes
            .iter()
            .map(|r| (r.count, r.failures))
            .collect::<Vec<_>>(),
        [(3, 3)]
    );
    let availability = store.availability(at(0)).await.unwrap();
    assert_eq!(
        availability
            .iter()
            .map(|a| (a.check.as_str(), a.count, a.failures))
            .collect::<Vec<_>>(),
        [("lab-switch", 14, 3)]
    );
}
