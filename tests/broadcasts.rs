//! Proactive communication end to end with virtual time: services follow their checks,
//! audiences get "we know" after the delay, an update per note, "fixed" after the hold, planned
//! maintenance announced and silenced; a restart neither repeats nor loses a broadcast. Probes
//! and sinks are test doubles; the store is real SQLite.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use forewarn::broadcast::{AudienceConfig, BroadcastSettings, PlannedMaintenance, ServiceConfig};
use forewarn::testing::{FakeProbe, RecordingSink};
use forewarn::{
    CheckSpec, ManualClock, Monitor, Notification, NotificationKind, SqliteStore, Status, Zone,
};

fn t0() -> DateTime<Utc> {
    // Tuesday 1 September 2026, 09:00 in Chicago.
    "2026-09-01T14:00:00Z".parse().unwrap()
}

struct Setup {
    clock: ManualClock,
    sis: FakeProbe,
    printer: FakeProbe,
    ict: RecordingSink,
    teachers: RecordingSink,
    office: RecordingSink,
}

impl Setup {
    fn new() -> Self {
        Self {
            clock: ManualClock::new(t0()),
            sis: FakeProbe::new(Status::Ok),
            printer: FakeProbe::new(Status::Ok),
            ict: RecordingSink::new(),
            teachers: RecordingSink::new(),
            office: RecordingSink::new(),
        }
    }

    fn monitor(&self, store: Arc<SqliteStore>) -> Monitor {
        Monitor::builder()
            .store(store)
            .clock(Arc::new(self.clock.clone()))
            .zone(Zone::named("America/Chicago").unwrap())
            .check(CheckSpec::new("sis-web", Arc::new(self.sis.clone())).thresholds(1, 1))
            .check(CheckSpec::new("printer-a", Arc::new(self.printer.clone())).thresholds(1, 1))
            .sink("ict", Arc::new(self.ict.clone()))
            .sink("teachers-mail", Arc::new(self.teachers.clone()))
            .sink("office-chat", Arc::new(self.office.clone()))
            .escalation(
                "ict",
                Arc::new(forewarn::NotifySinks::new(["ict".to_owned()])),
            )
            .default_escalation("ict")
            .service(
                "sis",
                ServiceConfig::new("Student Information System", ["sis-web"])
                    .impact("Attendance and grades cannot be entered.")
                    .workaround("Take attendance on paper.")
                    .autoreply(true),
            )
            .service(
                "printing-a",
                ServiceConfig::new("Printing in Building A", ["printer-a"])
                    .workaround("Print to the library printer."),
            )
            .audience(
                "teachers",
                AudienceConfig::new("Teachers", ["teachers-mail"], ["sis", "printing-a"]),
            )
            .audience(
                "office",
                AudienceConfig::new("Office staff", ["office-chat"], ["printing-a"])
                    .delay(Duration::from_secs(60)),
            )
            .broadcasts(BroadcastSettings {
                status_url: Some("https://status.district.example/".into()),
                district: Some("Springfield Public Schools".into()),
                ..BroadcastSettings::default()
            })
            .build()
            .unwrap()
    }

    /// Runs a round every `step` for `total`.
    async fn run_for(&self, m: &Monitor, total: Duration, step: Duration) {
        let mut t = Duration::ZERO;
        while t < total {
            self.clock.advance(step);
            t += step;
            m.run_once().await.unwrap();
        }
    }
}

/// The broadcasts a sink got (a sink may get ICT's alerts too).
fn broadcasts(sink: &RecordingSink) -> Vec<Notification> {
    sink.sent()
        .into_iter()
        .filter(|n| n.broadcast.is_some())
        .collect()
}

fn subjects(sink: &RecordingSink) -> Vec<String> {
    broadcasts(sink).into_iter().map(|n| n.subject).collect()
}

#[tokio::test]
async fn we_know_after_the_delay_an_update_per_note_and_fixed_after_the_hold() {
    let s = Setup::new();
    let m = s.monitor(Arc::new(SqliteStore::in_memory().unwrap()));
    m.run_once().await.unwrap();
    s.sis.set(Status::Critical, "HTTP 503");
    m.run_once().await.unwrap();
    // ICT hears at once; teachers only once it has lasted the delay (5 min).
    assert_eq!(s.ict.sent().len(), 1);
    assert!(s.teachers.sent().is_empty());
    s.run_for(&m, Duration::from_secs(290), Duration::from_secs(10))
        .await;
    assert!(s.teachers.sent().is_empty(), "{:?}", subjects(&s.teachers));
    s.run_for(&m, Duration::from_secs(20), Duration::from_secs(10))
        .await;
    let sent = broadcasts(&s.teachers);
    assert_eq!(sent.len(), 1, "{:?}", subjects(&s.teachers));
    let we_know = &sent[0];
    assert_eq!(
        we_know.subject,
        "Student Information System is down: we know and are working on it"
    );
    let body = &we_know.broadcast.as_ref().unwrap().text;
    for want in [
        "Hello Teachers",
        "since 09:00 CDT",
        "Attendance and grades cannot be entered.",
        "Take attendance on paper.",
        "We will tell you more by 10:05 CDT",
        "https://status.district.example/",
        "The IT team of Springfield Public Schools",
    ] {
        assert!(body.contains(want), "{want:?} in\n{body}");
    }
    assert!(
        !body.contains("sis-web"),
        "no check names for people: {body}"
    );
    assert!(
        s.office.sent().is_empty(),
        "the office does not care about SIS"
    );
    // The auto-reply text is on.
    let msg = m.outage_message().expect("an outage message");
    assert_eq!(msg.subject, "Known outage: Student Information System");

    // ICT adds a note: one update.
    let incident = m.checks()[0].incident.unwrap();
    m.note(incident, "ana", "The vendor is restarting the database.")
        .await
        .unwrap();
    m.run_once().await.unwrap();
    let sent = broadcasts(&s.teachers);
    assert_eq!(sent.len(), 2, "{:?}", subjects(&s.teachers));
    assert_eq!(sent[1].subject, "Update: Student Information System");
    assert!(
        sent[1]
            .broadcast
            .as_ref()
            .unwrap()
            .text
            .contains("The vendor is restarting the database."),
        "{:?}",
        sent[1].broadcast
    );

    // Back: nothing until it has stayed back for the hold (10 min).
    s.sis.set(Status::Ok, "200 OK");
    m.run_once().await.unwrap();
    assert!(
        m.outage_message().is_none(),
        "the auto-reply goes off at once"
    );
    s.run_for(&m, Duration::from_secs(590), Duration::from_secs(10))
        .await;
    assert_eq!(broadcasts(&s.teachers).len(), 2);
    s.run_for(&m, Duration::from_secs(20), Duration::from_secs(10))
        .await;
    let sent = broadcasts(&s.teachers);
    assert_eq!(sent.len(), 3, "{:?}", subjects(&s.teachers));
    assert_eq!(
        sent[2].subject,
        "Fixed: Student Information System is working again"
    );
    assert_eq!(sent[2].kind, NotificationKind::Resolved);
    // One thread: the first starts it, the others belong to it.
    let threads: Vec<(String, bool)> = sent
        .iter()
        .map(|n| {
            let b = n.broadcast.as_ref().unwrap();
            (b.thread.clone(), b.first)
        })
        .collect();
    assert_eq!(
        threads,
        [
            ("outage-1".to_owned(), true),
            ("outage-1".to_owned(), false),
            ("outage-1".to_owned(), false)
        ]
    );
    // Nothing more, however long it runs.
    s.run_for(&m, Duration::from_secs(7200), Duration::from_secs(600))
        .await;
    assert_eq!(broadcasts(&s.teachers).len(), 3);
    let outages = m.outages(t0()).await.unwrap();
    assert_eq!(outages.len(), 1);
    assert!(outages[0].closed);
}

#[tokio::test]
async fn a_blip_reaches_ict_and_nobody_else() {
    let s = Setup::new();
    let m = s.monitor(Arc::new(SqliteStore::in_memory().unwrap()));
    m.run_once().await.unwrap();
    s.sis.set(Status::Critical, "timeout");
    m.run_once().await.unwrap();
    s.run_for(&m, Duration::from_secs(20), Duration::from_secs(10))
        .await;
    s.sis.set(Status::Ok, "back");
    s.run_for(&m, Duration::from_secs(3600), Duration::from_secs(60))
        .await;
    assert_eq!(
        s.ict.sent().iter().map(|n| n.kind).collect::<Vec<_>>(),
        [NotificationKind::Opened, NotificationKind::Resolved]
    );
    assert!(s.teachers.sent().is_empty(), "{:?}", subjects(&s.teachers));
    assert!(m.outage_message().is_none());
}

#[tokio::test]
async fn a_restart_mid_outage_neither_repeats_nor_loses_a_broadcast() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forewarn.db");
    let s = Setup::new();
    {
        let m = s.monitor(Arc::new(SqliteStore::open(&path).unwrap()));
        m.run_once().await.unwrap();
        s.sis.set(Status::Critical, "down");
        s.run_for(&m, Duration::from_secs(400), Duration::from_secs(10))
            .await;
        assert_eq!(s.teachers.sent().len(), 1);
        let id = m.checks()[0].incident.unwrap();
        m.note(id, "ana", "Looking into it.").await.unwrap();
        // Stopped before the update was delivered: it waits in the outbox.
    }
    let m = s.monitor(Arc::new(SqliteStore::open(&path).unwrap()));
    s.run_for(&m, Duration::from_secs(60), Duration::from_secs(10))
        .await;
    assert_eq!(
        subjects(&s.teachers),
        [
            "Student Information System is down: we know and are working on it",
            "Update: Student Information System"
        ]
    );
    s.sis.set(Status::Ok, "back");
    s.run_for(&m, Duration::from_secs(700), Duration::from_secs(10))
        .await;
    drop(m);
    let m = s.monitor(Arc::new(SqliteStore::open(&path).unwrap()));
    s.run_for(&m, Duration::from_secs(600), Duration::from_secs(60))
        .await;
    let subjects = subjects(&s.teachers);
    assert_eq!(subjects.len(), 3, "{subjects:?}");
    assert!(subjects[2].starts_with("Fixed:"));
}

#[tokio::test]
async fn an_outage_that_reaches_another_service_is_one_outage_with_an_update() {
    let s = Setup::new();
    // The printer sits behind the SIS server in this test: one cause.
    let m = Monitor::builder()
        .clock(Arc::new(s.clock.clone()))
        .zone(Zone::named("America/Chicago").unwrap())
        .check(CheckSpec::new("core-switch", Arc::new(s.sis.clone())).thresholds(1, 1))
        .check(
            CheckSpec::new("printer-a", Arc::new(s.printer.clone()))
                .thresholds(1, 1)
                .depends_on("core-switch"),
        )
        .sink("teachers-mail", Arc::new(s.teachers.clone()))
        .service("net", ServiceConfig::new("Internet", ["core-switch"]))
        .service(
            "printing-a",
            ServiceConfig::new("Printing in Building A", ["printer-a"]),
        )
        .audience(
            "teachers",
            AudienceConfig::new("Teachers", ["teachers-mail"], ["*"]),
        )
        .build()
        .unwrap();
    m.run_once().await.unwrap();
    s.sis.set(Status::Critical, "down");
    s.run_for(&m, Duration::from_secs(360), Duration::from_secs(10))
        .await;
    assert_eq!(
        subjects(&s.teachers),
        ["Internet is down: we know and are working on it"]
    );
    // The printer fails behind the switch: silenced for ICT, but printing is down for people.
    s.printer.set(Status::Critical, "unreachable");
    s.run_for(&m, Duration::from_secs(30), Duration::from_secs(10))
        .await;
    let sent = subjects(&s.teachers);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1], "Update: Internet and Printing in Building A");
    let text = broadcasts(&s.teachers)[1].broadcast.clone().unwrap().text;
    assert!(
        text.contains("Printing in Building A is now affected too"),
        "{text}"
    );
    assert_eq!(m.outages(t0()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn planned_maintenance_is_announced_silenced_and_completed() {
    let s = Setup::new();
    let m = s.monitor(Arc::new(SqliteStore::in_memory().unwrap()));
    m.run_once().await.unwrap();
    let starts = t0() + chrono::Duration::hours(24);
    let id = m
        .schedule_maintenance(PlannedMaintenance {
            id: String::new(),
            title: "Printer firmware".into(),
            services: vec!["printing-a".into()],
            starts_at: starts,
            ends_at: starts + chrono::Duration::hours(2),
            description: Some("New firmware for the copiers.".into()),
        })
        .await
        .unwrap();
    m.run_once().await.unwrap();
    // Announced at once (within the 2-day lead) to both audiences that care.
    assert_eq!(
        subjects(&s.office),
        ["Planned maintenance Wednesday 2 September, 09:00 CDT: Printing in Building A"]
    );
    assert_eq!(s.teachers.sent().len(), 1);
    let text = s.office.sent()[0].broadcast.clone().unwrap().text;
    assert!(text.contains("until 11:00 CDT"), "{text}");
    assert!(text.contains("Print to the library printer."), "{text}");
    // During it: the printer's failure is silenced for ICT and is not an outage.
    s.clock.set(starts + chrono::Duration::minutes(5));
    s.printer.set(Status::Critical, "updating");
    m.run_once().await.unwrap();
    s.run_for(&m, Duration::from_secs(600), Duration::from_secs(60))
        .await;
    assert!(s.ict.sent().is_empty(), "{:?}", s.ict.sent());
    assert_eq!(
        subjects(&s.office),
        [
            "Planned maintenance Wednesday 2 September, 09:00 CDT: Printing in Building A",
            "Maintenance has started: Printing in Building A"
        ]
    );
    assert_eq!(
        m.services()[1].state,
        forewarn::broadcast::ServiceState::Maintenance
    );
    s.printer.set(Status::Ok, "ready");
    s.clock.set(starts + chrono::Duration::hours(2));
    m.run_once().await.unwrap();
    assert_eq!(
        subjects(&s.office)[2],
        "Maintenance complete: Printing in Building A"
    );
    assert!(m.outages(t0()).await.unwrap().is_empty());
    // Cancelled maintenance is gone, and an unknown one is an error.
    assert_eq!(m.maintenance_windows().len(), 1);
    m.cancel_maintenance(&id).await.unwrap();
    assert!(m.cancel_maintenance(&id).await.is_err());
    m.run_once().await.unwrap();
    assert!(m.maintenance_windows().is_empty());
}

#[tokio::test]
async fn resolved_by_hand_the_service_counts_as_back() {
    let s = Setup::new();
    let m = s.monitor(Arc::new(SqliteStore::in_memory().unwrap()));
    m.run_once().await.unwrap();
    s.sis.set(Status::Critical, "false alarm");
    s.run_for(&m, Duration::from_secs(400), Duration::from_secs(10))
        .await;
    assert_eq!(s.teachers.sent().len(), 1);
    let id = m.checks()[0].incident.unwrap();
    m.resolve(id, "ana", Some("monitoring URL changed"))
        .await
        .unwrap();
    assert!(m.resolve(id, "ana", None).await.is_err(), "resolved once");
    s.run_for(&m, Duration::from_secs(660), Duration::from_secs(60))
        .await;
    let sent = subjects(&s.teachers);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[1].starts_with("Fixed:"));
    assert_eq!(
        s.ict.sent().last().map(|n| n.kind),
        Some(NotificationKind::Resolved)
    );
}

#[tokio::test]
async fn names_are_checked_when_the_monitor_is_built() {
    let s = Setup::new();
    let e = Monitor::builder()
        .check(CheckSpec::new("a", Arc::new(s.sis.clone())))
        .service("x", ServiceConfig::new("X", ["b"]))
        .build()
        .unwrap_err()
        .to_string();
    assert!(e.contains("check `b` is not defined"), "{e}");
    let e = Monitor::builder()
        .check(CheckSpec::new("a", Arc::new(s.sis.clone())))
        .service("x", ServiceConfig::new("X", ["a"]))
        .audience("t", AudienceConfig::new("T", ["nope"], ["x"]))
        .build()
        .unwrap_err()
        .to_string();
    assert!(e.contains("sink `nope` is not defined"), "{e}");
}
