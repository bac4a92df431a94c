//! Public statuses for the status server's tests and bench: a district during an outage, and
//! a large one.
#![allow(dead_code)]

use chrono::{DateTime, Duration, NaiveDate, Utc};
use forewarn::status::{
    DayAvailability, MaintenanceState, OutageText, PublicIncident, PublicIncidentState,
    PublicMaintenance, PublicService, PublicStatus, PublicUpdate, PublicUpdateKind, ServiceState,
};

/// The district's zone in these fixtures.
pub const ZONE: &str = "America/Chicago";

/// When the fixtures' picture is taken: 09:30 CDT.
pub fn now() -> DateTime<Utc> {
    "2026-10-06T14:30:00Z".parse().unwrap()
}

/// A service name that would run if it were not escaped.
pub const HOSTILE_NAME: &str = "<script>alert('sis')</script> Student Information System";

fn days(ratio_of: impl Fn(usize) -> Option<f64>) -> Vec<DayAvailability> {
    let today = NaiveDate::from_ymd_opt(2026, 10, 6).unwrap();
    (0..90)
        .map(|i| DayAvailability {
            date: today - chrono::Days::new(89 - i as u64),
            ratio: ratio_of(i),
        })
        .collect()
}

fn average(days: &[DayAvailability]) -> Option<f64> {
    let with: Vec<f64> = days.iter().filter_map(|d| d.ratio).collect();
    (!with.is_empty()).then(|| with.iter().sum::<f64>() / with.len() as f64)
}

fn service(id: &str, name: &str, state: ServiceState, days: Vec<DayAvailability>) -> PublicService {
    PublicService {
        id: id.to_owned(),
        name: name.to_owned(),
        state,
        since: None,
        impact: None,
        workaround: None,
        availability_90d: average(&days),
        availability: days,
    }
}

/// A district during an outage of its student information system (named [`HOSTILE_NAME`]),
/// with a resolved Wi-Fi incident, an upcoming maintenance and the outage message.
pub fn outage() -> PublicStatus {
    let t = now();
    let mut sis = service(
        "student-information-system",
        HOSTILE_NAME,
        ServiceState::Down,
        days(|i| if i == 89 { Some(0.61) } else { Some(1.0) }),
    );
    sis.since = Some(t - Duration::minutes(45));
    sis.impact = Some("Attendance & grades cannot be entered <right now>".into());
    sis.workaround = Some("Take attendance on paper and enter it later.".into());
    let wifi = service(
        "wifi",
        "Wi-Fi",
        ServiceState::Operational,
        days(|i| match i {
            0..=9 => None,
            85 => Some(0.93),
            _ => Some(1.0),
        }),
    );
    let mail = service(
        "email",
        "E-mail",
        ServiceState::Operational,
        days(|_| Some(1.0)),
    );
    PublicStatus {
        title: "Springfield Public Schools — IT status".into(),
        generated_at: t,
        time_zone: ZONE.into(),
        services: vec![sis, wifi, mail],
        incidents: vec![
            PublicIncident {
                id: 17,
                title: "Student Information System is unavailable".into(),
                services: vec!["student-information-system".into()],
                state: PublicIncidentState::Identified,
                started_at: t - Duration::minutes(45),
                resolved_at: None,
                updates: vec![
                    PublicUpdate {
                        at: t - Duration::minutes(40),
                        kind: PublicUpdateKind::WeKnow,
                        text: "We know the Student Information System is down and are working on it.".into(),
                    },
                    PublicUpdate {
                        at: t - Duration::minutes(10),
                        kind: PublicUpdateKind::Update,
                        text: "The database server is being restarted; expect it back by 10:15.".into(),
                    },
                ],
            },
            PublicIncident {
                id: 16,
                title: "Wi-Fi slow at Lincoln Elementary".into(),
                services: vec!["wifi".into()],
                state: PublicIncidentState::Resolved,
                started_at: t - Duration::days(4),
                resolved_at: Some(t - Duration::days(4) + Duration::hours(2)),
                updates: vec![
                    PublicUpdate {
                        at: t - Duration::days(4),
                        kind: PublicUpdateKind::WeKnow,
                        text: "Wi-Fi is slow at Lincoln Elementary.".into(),
                    },
                    PublicUpdate {
                        at: t - Duration::days(4) + Duration::hours(2),
                        kind: PublicUpdateKind::Fixed,
                        text: "A failed access point was replaced.".into(),
                    },
                ],
            },
        ],
        maintenance: vec![PublicMaintenance {
            id: "gradebook-upgrade".into(),
            title: "E-mail upgrade".into(),
            services: vec!["email".into()],
            description: Some("E-mail may be unavailable for up to 30 minutes.".into()),
            starts_at: t + Duration::days(3),
            ends_at: t + Duration::days(3) + Duration::hours(2),
            state: MaintenanceState::Upcoming,
        }],
        autoreply: Some(OutageText {
            subject: "Known outage: Student Information System".into(),
            body: "The Student Information System is down since 08:45. We are working on it; no need to open a ticket.".into(),
            spoken: "The student information system is down. We are working on it.".into(),
        }),
    }
}

/// A large district: `services` services with 90 days each (some days without data, some
/// below 100 %), `open` open incidents with three updates each.
pub fn large(services: usize, open: usize) -> PublicStatus {
    let t = now();
    let services_v: Vec<PublicService> = (0..services)
        .map(|n| {
            let state = if n < open {
                ServiceState::Down
            } else {
                ServiceState::Operational
            };
            let mut s = service(
                &format!("service-{n}"),
                &format!("Service {n} & Co <b>"),
                state,
                days(|i| match (i + n) % 30 {
                    0 => None,
                    7 => Some(0.97),
                    _ => Some(1.0),
                }),
            );
            if state == ServiceState::Down {
                s.since = Some(t - Duration::minutes(30));
                s.impact = Some("Unavailable for everyone.".into());
            }
            s
        })
        .collect();
    let incidents = (0..open)
        .map(|n| PublicIncident {
            id: n as i64 + 1,
            title: format!("Service {n} is unavailable"),
            services: vec![format!("service-{n}")],
            state: PublicIncidentState::Investigating,
            started_at: t - Duration::minutes(30),
            resolved_at: None,
            updates: (0..3)
                .map(|u| PublicUpdate {
                    at: t - Duration::minutes(30 - 10 * u),
                    kind: if u == 0 {
                        PublicUpdateKind::WeKnow
                    } else {
                        PublicUpdateKind::Update
                    },
                    text: format!("Update {u} on service {n}: we are working on it."),
                })
                .collect(),
        })
        .collect();
    PublicStatus {
        title: "Large district — IT status".into(),
        generated_at: t,
        time_zone: ZONE.into(),
        services: services_v,
        incidents,
        maintenance: Vec::new(),
        autoreply: None,
    }
}
