//! The engine end to end with virtual time: maintenance windows, flapping, restarts, the
//! outbox's retries and acknowledgement. Probes are test doubles; the store is real SQLite.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use forewarn::monitor::maintenance::MaintenanceConfig;
use forewarn::outbox::OutboxOptions;
use forewarn::store::{OutboxRow, OutboxStats, TransitionRecord};
use forewarn::testing::{FakeProbe, RecordingSink};
use forewarn::{
    CheckSpec, CheckState, Incident, IncidentFilter, IncidentState, ManualClock, Monitor,
    Notification, NotificationKind, Observation, Result, SentRecord, SqliteStore, Status, Store,
};

#[path = "support/skip.rs"]
mod skip;

fn t0() -> DateTime<Utc> {
    // A Tuesday.
    "2026-09-01T17:00:00Z".parse().unwrap()
}

/// Alternates `probe` between critical and ok, `rounds` times, 10 s apart.
async fn flap(clock: &ManualClock, probe: &FakeProbe, monitor: &Monitor, rounds: usize) {
    for i in 0..rounds {
        clock.advance(Duration::from_secs(10));
        let s = if i % 2 == 0 {
            Status::Critical
        } else {
            Status::Ok
        };
        probe.set(s, "flaky");
        monitor.run_once().await.unwrap();
    }
}

fn kinds(sink: &RecordingSink) -> Vec<(String, NotificationKind)> {
    sink.sent()
        .iter()
        .map(|n| (n.check.clone(), n.kind))
        .collect()
}

#[tokio::test]
async fn maintenance_silences_notifications_but_keeps_observations() {
    let clock = ManualClock::new(t0());
    let sink = RecordingSink::new();
    let probe = FakeProbe::new(Status::Critical);
    let window: MaintenanceConfig = toml::from_str(
        "name = \"patch\"\nchecks = [\"server\"]\nstart = \"2026-09-01T16:30:00Z\"\nend = \"2026-09-01T17:30:00Z\"",
    )
    .unwrap();
    let monitor = Monitor::builder()
        .clock(Arc::new(clock.clone()))
        .check(CheckSpec::new("server", Arc::new(probe.clone())).thresholds(1, 1))
        .maintenance(window.build().unwrap())
        .sink("rec", Arc::new(sink.clone()))
        .build()
        .unwrap();
    for _ in 0..3 {
        monitor.run_once().await.unwrap();
        clock.advance(Duration::from_secs(60));
    }
    assert!(sink.sent().is_empty(), "silenced in the window");
    let history = monitor
        .store()
        .observations("server", DateTime::<Utc>::MIN_UTC, 0)
        .await
        .unwrap();
    assert_eq!(history.len(), 3, "observations are still recorded");
    // The window ends while the server is still down: now it is notified.
    clock.set("2026-09-01T17:31:00Z".parse().unwrap());
    monitor.run_once().await.unwrap();
    assert_eq!(kinds(&sink), [("server".into(), NotificationKind::Opened)]);
}

#[tokio::test]
async fn flapping_is_notified_once_then_quiet_until_stable() {
    let clock = ManualClock::new(t0());
    let sink = RecordingSink::new();
    let probe = FakeProbe::new(Status::Ok);
    let monitor = Monitor::builder()
        .clock(Arc::new(clock.clone()))
        .check(CheckSpec::new("wifi", Arc::new(probe.clone())).thresholds(2, 2))
        .sink("rec", Arc::new(sink.clone()))
        .build()
        .unwrap();
    monitor.run_once().await.unwrap();
    flap(&clock, &probe, &monitor, 20).await;
    let got = kinds(&sink);
    let flapping = sink
        .sent()
        .iter()
        .filter(|n| n.subject.contains("FLAPPING"))
        .count();
    assert_eq!(flapping, 1, "{got:?}");
    // Alternating never reaches the 2-in-a-row thresholds: the flapping alert is the only one.
    assert_eq!(
        got,
        [("wifi".into(), NotificationKind::Opened)],
        "quiet while flapping"
    );
    let before = got.len();
    // Stable (ok) for longer than stable_for (10 min): one resolution, then silence.
    probe.set(Status::Ok, "fine");
    for _ in 0..70 {
        clock.advance(Duration::from_secs(10));
        monitor.run_once().await.unwrap();
    }
    let after = kinds(&sink);
    assert_eq!(after.len(), before + 1, "{after:?}");
    assert_eq!(after.last().unwrap().1, NotificationKind::Resolved);
    let all = monitor.incidents(&IncidentFilter::default()).await.unwrap();
    assert!(all.iter().all(|i| i.state == IncidentState::Resolved));
}

#[tokio::test]
async fn a_restart_resumes_incidents_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forewarn.db");
    let sink = RecordingSink::new();
    let probe = FakeProbe::new(Status::Critical);
    let build = |store: Arc<SqliteStore>| {
        Monitor::builder()
            .store(store)
            .check(CheckSpec::new("db", Arc::new(probe.clone())).thresholds(1, 1))
            .sink("rec", Arc::new(sink.clone()))
            .build()
            .unwrap()
    };
    {
        let m = build(Arc::new(SqliteStore::open(&path).unwrap()));
        m.run_once().await.unwrap();
        m.run_once().await.unwrap();
    }
    let m = build(Arc::new(SqliteStore::open(&path).unwrap()));
    m.run_once().await.unwrap();
    assert_eq!(kinds(&sink).len(), 1, "no second 'opened' after a restart");
    assert_eq!(m.checks()[0].incident, Some(1));
    probe.set(Status::Ok, "back");
    m.run_once().await.unwrap();
    assert_eq!(
        kinds(&sink),
        [
            ("db".into(), NotificationKind::Opened),
            ("db".into(), NotificationKind::Resolved)
        ]
    );
}

#[tokio::test]
async fn outbox_retries_with_backoff_and_delivers_once() {
    let clock = ManualClock::new(t0());
    let sink = RecordingSink::new();
    sink.set_failing(true);
    let probe = FakeProbe::new(Status::Critical);
    let monitor = Monitor::builder()
        .clock(Arc::new(clock.clone()))
        .check(CheckSpec::new("mail-relay", Arc::new(probe.clone())).thresholds(1, 1))
        .sink("rec", Arc::new(sink.clone()))
        .outbox_options(OutboxOptions {
            base_backoff: Duration::from_secs(10),
            ..Default::default()
        })
        .build()
        .unwrap();
    monitor.run_once().await.unwrap();
    let status = monitor.status().await.unwrap();
    assert_eq!(status.outbox.pending, 1);
    assert_eq!(status.outbox.retrying, 1);
    assert_eq!(sink.attempts(), 1);
    // Not due yet: no new attempt.
    monitor.deliver_outbox().await.unwrap();
    assert_eq!(sink.attempts(), 1);
    sink.set_failing(false);
    clock.advance(Duration::from_secs(13));
    assert_eq!(monitor.deliver_outbox().await.unwrap(), 1);
    assert_eq!(monitor.deliver_outbox().await.unwrap(), 0);
    assert_eq!(sink.sent().len(), 1);
    let status = monitor.status().await.unwrap();
    assert_eq!((status.outbox.pending, status.outbox.delivered), (0, 1));
}

#[tokio::test]
async fn acknowledgement_is_recorded_and_told() {
    let sink = RecordingSink::new();
    let probe = FakeProbe::new(Status::Critical);
    let monitor = Monitor::builder()
        .check(CheckSpec::new("printer-12", Arc::new(probe.clone())).thresholds(1, 1))
        .sink("rec", Arc::new(sink.clone()))
        .build()
        .unwrap();
    let mut events = monitor.subscribe();
    monitor.run_once().await.unwrap();
    let id = monitor.checks()[0].incident.expect("an incident is open");
    let i = monitor
        .acknowledge(id, "ana", Some("replacing toner"))
        .await
        .unwrap();
    assert_eq!(i.state, IncidentState::Acknowledged);
    let e = monitor.acknowledge(id, "bo", None).await.unwrap_err();
    assert!(e.to_string().contains("already acknowledged by ana"), "{e}");
    assert!(monitor.acknowledge(999, "bo", None).await.is_err());
    monitor.deliver_outbox().await.unwrap();
    assert_eq!(
        kinds(&sink),
        [
            ("printer-12".into(), NotificationKind::Opened),
            ("printer-12".into(), NotificationKind::Acknowledged)
        ]
    );
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    assert!(
        seen.iter()
            .any(|e| matches!(e, forewarn::Event::IncidentOpened(i) if i.check == "printer-12"))
    );
}

#[tokio::test]
async fn a_storm_is_one_message_then_one_digest() {
    let clock = ManualClock::new(t0());
    let sink = RecordingSink::new();
    let probe = FakeProbe::new(Status::Ok);
    let mut b = Monitor::builder()
        .clock(Arc::new(clock.clone()))
        .sink("rec", Arc::new(sink.clone()));
    for i in 0..5 {
        b = b.check(
            CheckSpec::new(format!("printer-{i}"), Arc::new(probe.clone()))
                .group("building-a")
                .thresholds(1, 1),
        );
    }
    let monitor = b.build().unwrap();
    monitor.run_once().await.unwrap();
    probe.set(Status::Critical, "no SNMP response");
    monitor.run_once().await.unwrap();
    assert_eq!(sink.sent().len(), 1, "the first goes out at once");
    clock.advance(Duration::from_secs(10));
    monitor.deliver_outbox().await.unwrap();
    assert_eq!(sink.sent().len(), 1, "the rest wait for the window");
    clock.advance(Duration::from_secs(21));
    monitor.deliver_outbox().await.unwrap();
    let sent = sink.sent();
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert!(
        sent[1]
            .subject
            .contains("4 checks in building-a need attention"),
        "{}",
        sent[1].subject
    );
    assert_eq!(sent[1].summary.lines().count(), 4);
    let status = monitor.status().await.unwrap();
    assert_eq!((status.outbox.pending, status.outbox.delivered), (0, 5));
}

#[tokio::test]
async fn rate_limited_sinks_hold_notifications_without_failing_them() {
    let clock = ManualClock::new(t0());
    let sink = RecordingSink::new();
    let limited =
        forewarn::sink::RateLimited::new("rec", Arc::new(sink.clone()), "2/min".parse().unwrap());
    let probe = FakeProbe::new(Status::Critical);
    let mut b = Monitor::builder()
        .clock(Arc::new(clock.clone()))
        .sink("rec", Arc::new(limited))
        .outbox_options(OutboxOptions {
            group_window: Duration::ZERO,
            ..Default::default()
        });
    for i in 0..5 {
        b = b.check(CheckSpec::new(format!("pc-{i}"), Arc::new(probe.clone())).thresholds(1, 1));
    }
    let monitor = b.build().unwrap();
    monitor.run_once().await.unwrap();
    assert_eq!(sink.sent().len(), 2);
    let status = monitor.status().await.unwrap();
    assert_eq!(status.outbox.pending, 3);
    assert_eq!(status.outbox.retrying, 0, "held, not failed");
    assert_eq!(status.outbox.dead, 0);
}

#[tokio::test]
async fn the_concurrency_cap_holds() {
    let probe = FakeProbe::new(Status::Ok);
    probe.set_delay(Duration::from_millis(50));
    let mut b = Monitor::builder().concurrency(3);
    for i in 0..20 {
        b = b.check(CheckSpec::new(format!("c{i}"), Arc::new(probe.clone())));
    }
    let monitor = b.build().unwrap();
    monitor.run_once().await.unwrap();
    assert_eq!(probe.calls(), 20);
    assert_eq!(
        probe.max_in_flight(),
        3,
        "never more than the cap, and the cap is used"
    );
}

#[tokio::test]
async fn flapping_behind_a_dead_parent_is_only_recorded() {
    let clock = ManualClock::new(t0());
    let sink = RecordingSink::new();
    let switch = FakeProbe::new(Status::Critical);
    let wifi = FakeProbe::new(Status::Ok);
    let monitor = Monitor::builder()
        .clock(Arc::new(clock.clone()))
        .check(CheckSpec::new("switch", Arc::new(switch.clone())).thresholds(1, 1))
        .check(
            CheckSpec::new("wifi", Arc::new(wifi.clone()))
                .depends_on("switch")
                .thresholds(1, 1),
        )
        .sink("rec", Arc::new(sink.clone()))
        .build()
        .unwrap();
    flap(&clock, &wifi, &monitor, 20).await;
    let got = kinds(&sink);
    assert_eq!(
        got,
        [("switch".into(), NotificationKind::Opened)],
        "{got:?}"
    );
    let history = monitor
        .store()
        .transitions(Some("wifi"), DateTime::<Utc>::MIN_UTC, 0)
        .await
        .unwrap();
    assert!(
        history
            .iter()
            .any(|r| matches!(r.transition, forewarn::Transition::FlappingStarted { .. })),
        "the flapping is in the history"
    );
}

// ---------------------------------------------------------------------------------------------
// The skip helper every peer test uses: a skip is recorded apart from the passes, and fails in CI.

/// Run in a child process by the test below: skips when asked to.
#[test]
fn skip_helper_child() {
    if std::env::var_os("FOREWARN_SKIP_CHILD").is_some() {
        skip::skip("the test peer", "not started\non purpose");
    }
}

#[test]
fn a_skip_is_recorded_with_its_reason_and_fails_in_ci() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("skips");
    let run = |ci: &str| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "skip_helper_child", "--test-threads=1"])
            .env("FOREWARN_SKIP_CHILD", "1")
            .env("FOREWARN_SKIP_LOG", &log)
            .env("CI", ci)
            .output()
            .unwrap()
    };
    let out = run("");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "engine::skip_helper_child\tthe test peer: not started on purpose\n"
    );
    let out = run("true");
    assert!(!out.status.success(), "a skip under CI=true must fail");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("the test peer is required in CI: not started"),
        "{stdout}"
    );
    // Nothing more was recorded: the CI run failed instead.
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 1);
}

/// A real SQLite store whose pruning panics, as a faulty store of one's own might.
#[derive(Debug)]
struct PanicOnPrune(SqliteStore);

#[async_trait::async_trait]
impl Store for PanicOnPrune {
    async fn record_observations(&self, batch: Vec<(Arc<str>, Observation)>) -> Result<()> {
        self.0.record_observations(batch).await
    }
    async fn observations(
        &self,
        check: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Observation>> {
        self.0.observations(check, since, limit).await
    }
    async fn prune(&self, _before: DateTime<Utc>) -> Result<u64> {
        panic!("the disk caught fire")
    }
    async fn prune_history(
        &self,
        now: DateTime<Utc>,
        retention: &forewarn::store::HistoryRetention,
    ) -> Result<u64> {
        self.0.prune_history(now, retention).await
    }
    async fn rollups(
        &self,
        check: &str,
        tier: forewarn::store::Tier,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<forewarn::store::Rollup>> {
        self.0.rollups(check, tier, since, until).await
    }
    async fn availability(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<forewarn::store::Availability>> {
        self.0.availability(since).await
    }
    async fn space(&self) -> Result<Option<forewarn::store::Space>> {
        self.0.space().await
    }
    async fn shed_oldest_raw(&self) -> Result<Option<DateTime<Utc>>> {
        self.0.shed_oldest_raw().await
    }
    async fn save_check_states(&self, states: &[(String, CheckState)]) -> Result<()> {
        self.0.save_check_states(states).await
    }
    async fn load_check_states(&self) -> Result<Vec<(String, CheckState)>> {
        self.0.load_check_states().await
    }
    async fn record_transitions(&self, records: &[TransitionRecord]) -> Result<()> {
        self.0.record_transitions(records).await
    }
    async fn transitions(
        &self,
        check: Option<&str>,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TransitionRecord>> {
        self.0.transitions(check, since, limit).await
    }
    async fn insert_incident(&self, incident: &Incident) -> Result<i64> {
        self.0.insert_incident(incident).await
    }
    async fn update_incident(&self, incident: &Incident) -> Result<()> {
        self.0.update_incident(incident).await
    }
    async fn incident(&self, id: i64) -> Result<Option<Incident>> {
        self.0.incident(id).await
    }
    async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        self.0.incidents(filter).await
    }
    async fn enqueue(&self, n: &Notification, now: DateTime<Utc>) -> Result<bool> {
        self.0.enqueue(n, now).await
    }
    async fn sent_records(&self, incident_id: i64) -> Result<Vec<SentRecord>> {
        self.0.sent_records(incident_id).await
    }
    async fn due_outbox(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxRow>> {
        self.0.due_outbox(now, limit).await
    }
    async fn next_outbox_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.0.next_outbox_due().await
    }
    async fn mark_delivered(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        self.0.mark_delivered(id, at).await
    }
    async fn mark_failed(&self, id: &str, e: &str, retry_at: Option<DateTime<Utc>>) -> Result<()> {
        self.0.mark_failed(id, e, retry_at).await
    }
    async fn defer(&self, id: &str, until: DateTime<Utc>) -> Result<()> {
        self.0.defer(id, until).await
    }
    async fn outbox_rows(&self, incident_id: i64) -> Result<Vec<OutboxRow>> {
        self.0.outbox_rows(incident_id).await
    }
    async fn outbox_stats(&self) -> Result<OutboxStats> {
        self.0.outbox_stats().await
    }
    async fn flush(&self) -> Result<()> {
        self.0.flush().await
    }
    async fn installation_id(&self) -> Result<String> {
        self.0.installation_id().await
    }
    async fn save_outage(&self, outage: &forewarn::broadcast::Outage) -> Result<i64> {
        self.0.save_outage(outage).await
    }
    async fn outages(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<forewarn::broadcast::Outage>> {
        self.0.outages(since, limit).await
    }
    async fn use_ack_token(
        &self,
        token_id: &str,
        incident_id: i64,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.0
            .use_ack_token(token_id, incident_id, expires_at, now)
            .await
    }
    async fn save_planned_maintenance(
        &self,
        plan: &forewarn::broadcast::PlannedMaintenance,
    ) -> Result<()> {
        self.0.save_planned_maintenance(plan).await
    }
    async fn planned_maintenance(&self) -> Result<Vec<forewarn::broadcast::PlannedMaintenance>> {
        self.0.planned_maintenance().await
    }
    async fn delete_planned_maintenance(&self, id: &str) -> Result<bool> {
        self.0.delete_planned_maintenance(id).await
    }
    async fn create_agent(
        &self,
        name: &str,
        group: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.0.create_agent(name, group, token_hash, now).await
    }
    async fn rotate_agent_token(
        &self,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        old_valid_until: DateTime<Utc>,
    ) -> Result<()> {
        self.0
            .rotate_agent_token(name, token_hash, now, old_valid_until)
            .await
    }
    async fn revoke_agent(&self, name: &str, now: DateTime<Utc>) -> Result<()> {
        self.0.revoke_agent(name, now).await
    }
    async fn agent_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<forewarn::store::AgentTokenCheck> {
        self.0.agent_by_token(token_hash, now).await
    }
    async fn agents(&self) -> Result<Vec<forewarn::store::AgentRecord>> {
        self.0.agents().await
    }
    async fn add_agent_checks(&self, agent: &str, checks: &[String]) -> Result<()> {
        self.0.add_agent_checks(agent, checks).await
    }
    async fn record_agent_observations(
        &self,
        agent: &str,
        outbox: &str,
        interval_secs: u64,
        now: DateTime<Utc>,
        batch: &[forewarn::store::AgentObservation],
    ) -> Result<(Vec<bool>, i64)> {
        self.0
            .record_agent_observations(agent, outbox, interval_secs, now, batch)
            .await
    }
}

/// The error `run_until` ended with, failing the test when it did not end within `limit`.
async fn run_ends_with_error(monitor: &Monitor, limit: Duration) -> forewarn::Error {
    match tokio::time::timeout(limit, monitor.run_until(std::future::pending())).await {
        Ok(Err(e)) => e,
        Ok(Ok(())) => panic!("the run ended without an error"),
        Err(_) => panic!("the run went on for {limit:?} with a part of it dead"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_task_that_panics_ends_the_run_with_an_error() {
    let probe = FakeProbe::new(Status::Ok);
    let monitor = Monitor::builder()
        .store(Arc::new(PanicOnPrune(SqliteStore::in_memory().unwrap())))
        .check(CheckSpec::new("server", Arc::new(probe.clone())).interval(Duration::from_secs(1)))
        .build()
        .unwrap();
    let e = run_ends_with_error(&monitor, Duration::from_secs(10)).await;
    let text = e.to_string();
    assert!(
        matches!(&e, forewarn::Error::Stopped { task, .. } if task == "housekeeping"),
        "{e:?}"
    );
    assert!(text.contains("panicked: the disk caught fire"), "{text}");
}

/// An escalation policy of one's own that panics.
#[derive(Debug)]
struct PanickingPolicy;

impl forewarn::Escalation for PanickingPolicy {
    fn decide(&self, _: &Incident, _: &[SentRecord], _: DateTime<Utc>) -> Vec<forewarn::Dispatch> {
        panic!("policy bug")
    }
    fn sinks(&self) -> Vec<String> {
        vec!["rec".into()]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_while_processing_a_check_ends_the_run_with_an_error() {
    let probe = FakeProbe::new(Status::Critical);
    let monitor = Monitor::builder()
        .check(
            CheckSpec::new("server", Arc::new(probe.clone()))
                .interval(Duration::from_secs(1))
                .thresholds(1, 1),
        )
        .sink("rec", Arc::new(RecordingSink::new()))
        .escalation("default", Arc::new(PanickingPolicy))
        .build()
        .unwrap();
    let e = run_ends_with_error(&monitor, Duration::from_secs(10)).await;
    assert!(
        matches!(&e, forewarn::Error::Stopped { task, message }
            if task == "processing check `server`" && message.contains("policy bug")),
        "{e:?}"
    );
}

#[test]
fn the_builder_refuses_durations_and_thresholds_out_of_range() {
    let probe = || Arc::new(FakeProbe::new(Status::Ok));
    let build = |spec: CheckSpec| Monitor::builder().check(spec).build().map(|_| ());
    let e = build(CheckSpec::new("a", probe()).interval(Duration::from_secs(86_401))).unwrap_err();
    assert!(e.to_string().contains("at most 1 day"), "{e}");
    let e = build(CheckSpec::new("a", probe()).timeout(Duration::MAX)).unwrap_err();
    assert!(e.to_string().contains("at most 1 day"), "{e}");
    let e = build(CheckSpec::new("a\r\nb", probe())).unwrap_err();
    assert!(
        e.to_string()
            .contains("must not contain control characters"),
        "{e}"
    );
    let e = Monitor::builder()
        .sink("log\u{1b}", Arc::new(RecordingSink::new()))
        .build()
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("must not contain control characters"),
        "{e}"
    );
    let e = build(CheckSpec::new("a", probe()).thresholds(0, 1)).unwrap_err();
    assert!(e.to_string().contains("at least 1"), "{e}");
    let e = Monitor::builder()
        .retention(Duration::MAX)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("at most 100 years"), "{e}");
}

/// A probe whose every run reports a new value of a `count` metric.
#[derive(Debug, Default)]
struct CountingProbe {
    runs: std::sync::atomic::AtomicU64,
}

#[async_trait::async_trait]
impl forewarn::Probe for CountingProbe {
    async fn check(&self, cx: &forewarn::CheckContext) -> Observation {
        let n = self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        Observation::new(Status::Ok, format!("run {n}"), cx.clock.now())
            .with_metric("count", n as f64, "runs")
    }
}

#[tokio::test]
async fn run_once_observed_returns_each_pass_observation_as_recorded() {
    let clock = ManualClock::new(t0());
    let monitor = Monitor::builder()
        .clock(Arc::new(clock.clone()))
        .check(CheckSpec::new(
            "counter",
            Arc::new(CountingProbe::default()),
        ))
        .check(CheckSpec::new(
            "plain",
            Arc::new(FakeProbe::new(Status::Warning)),
        ))
        .passive_check(CheckSpec::new(
            "agent",
            Arc::new(FakeProbe::new(Status::Ok)),
        ))
        .build()
        .unwrap();
    for pass in 1..=3_u32 {
        clock.advance(Duration::from_secs(60));
        let observed = monitor.run_once_observed().await.unwrap();
        let names: Vec<&str> = observed.iter().map(|(c, _)| c.name.as_str()).collect();
        assert_eq!(names, ["counter", "plain", "agent"], "definition order");
        // The states are the ones run_once would return.
        let states: Vec<_> = observed.iter().map(|(c, _)| c.clone()).collect();
        assert_eq!(states, monitor.checks());
        let (counter, obs) = &observed[0];
        let obs = obs.as_ref().expect("an active check's observation is kept");
        assert_eq!(counter.last_checked, Some(obs.at));
        assert_eq!(obs.summary, format!("run {pass}"));
        assert_eq!(obs.metrics["count"].value, f64::from(pass), "this pass's");
        // The kept observation's metrics are the ones the history recorded.
        let history = monitor
            .store()
            .observations("counter", DateTime::<Utc>::MIN_UTC, 0)
            .await
            .unwrap();
        assert_eq!(history.len(), pass as usize);
        let recorded = history
            .iter()
            .find(|o| o.at.timestamp_millis() == obs.at.timestamp_millis())
            .expect("recorded");
        // (The history keeps one summary per run of same-shaped OK summaries, so only the
        // metrics are compared.)
        assert_eq!(recorded.metrics, obs.metrics);
        let (plain, obs) = &observed[1];
        assert_eq!(plain.status, Status::Warning);
        assert_eq!(obs.as_ref().map(|o| o.status), Some(Status::Warning));
        assert!(observed[2].1.is_none(), "nothing probed the passive check");
    }
}
