//! What the public status page shows: services, incidents, maintenance and the current outage
//! message. Machine times are UTC; the page shows them in the district's zone.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use crate::autoreply::OutageMessage as OutageText;
pub use crate::broadcast::{PlannedMaintenance, ServiceState};

/// Everything the public status page, its JSON and its feed show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicStatus {
    /// The page's title ("Springfield Public Schools — IT status").
    pub title: String,
    /// When this picture was taken.
    pub generated_at: DateTime<Utc>,
    /// IANA name of the district's time zone ("America/Chicago").
    pub time_zone: String,
    /// Every user-facing service, in the order they are shown.
    pub services: Vec<PublicService>,
    /// Open incidents and those resolved in the last 7 days, newest first.
    pub incidents: Vec<PublicIncident>,
    /// Maintenance upcoming, in progress, or completed in the last 7 days.
    pub maintenance: Vec<PublicMaintenance>,
    /// The current outage message; `None` when no outage is known.
    pub autoreply: Option<OutageText>,
}

/// One user-facing service ("Student Information System"), made of checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicService {
    /// Stable slug ("student-information-system").
    pub id: String,
    /// Its name as users know it.
    pub name: String,
    /// How it is doing now.
    pub state: ServiceState,
    /// When it entered this state, when known.
    pub since: Option<DateTime<Utc>>,
    /// What users notice, shown while it is not operational.
    pub impact: Option<String>,
    /// What users can do meanwhile.
    pub workaround: Option<String>,
    /// The last 90 local days, oldest first.
    pub availability: Vec<DayAvailability>,
    /// Availability (0..=1) over the days of `availability` that have data; `None` when none
    /// has.
    pub availability_90d: Option<f64>,
}

/// A service's availability on one local day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DayAvailability {
    /// The day, in the district's zone.
    pub date: NaiveDate,
    /// The share of the day (0..=1) it was available; `None` when there is no data.
    pub ratio: Option<f64>,
}

/// Where a public incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicIncidentState {
    /// Users are affected and the cause is being looked for.
    Investigating,
    /// The cause is known and being worked on.
    Identified,
    /// A fix is in place and being watched.
    Monitoring,
    /// Over.
    Resolved,
}

impl PublicIncidentState {
    /// How people read it: "Investigating", "Identified", "Monitoring", "Resolved".
    pub fn label(self) -> &'static str {
        match self {
            PublicIncidentState::Investigating => "Investigating",
            PublicIncidentState::Identified => "Identified",
            PublicIncidentState::Monitoring => "Monitoring",
            PublicIncidentState::Resolved => "Resolved",
        }
    }
}

/// An outage of one or more services, as users are told of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicIncident {
    /// The service outage's id (not a monitor incident id).
    pub id: i64,
    /// Its headline ("Student Information System is unavailable").
    pub title: String,
    /// The ids of the services it affects.
    pub services: Vec<String>,
    /// Where it stands.
    pub state: PublicIncidentState,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// What users were told, oldest first.
    pub updates: Vec<PublicUpdate>,
}

/// What kind of message a public update is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicUpdateKind {
    /// "We know": the first message of an outage.
    WeKnow,
    /// A progress update.
    Update,
    /// "Fixed": the outage is over.
    Fixed,
}

impl PublicUpdateKind {
    /// How people read it: "We know", "Update", "Fixed".
    pub fn label(self) -> &'static str {
        match self {
            PublicUpdateKind::WeKnow => "We know",
            PublicUpdateKind::Update => "Update",
            PublicUpdateKind::Fixed => "Fixed",
        }
    }
}

/// One message of a public incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicUpdate {
    /// When it was published.
    pub at: DateTime<Utc>,
    /// What kind of message it is.
    pub kind: PublicUpdateKind,
    /// The message.
    pub text: String,
}

/// Where a maintenance stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaintenanceState {
    /// It has not started.
    Upcoming,
    /// It is going on.
    InProgress,
    /// It is over.
    Completed,
}

impl MaintenanceState {
    /// How people read it: "Upcoming", "In progress", "Completed".
    pub fn label(self) -> &'static str {
        match self {
            MaintenanceState::Upcoming => "Upcoming",
            MaintenanceState::InProgress => "In progress",
            MaintenanceState::Completed => "Completed",
        }
    }
}

/// Planned work, as users are told of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicMaintenance {
    /// Its id (stable; the admin API cancels it by this id).
    pub id: String,
    /// Its headline ("Gradebook upgrade").
    pub title: String,
    /// The ids of the services it affects.
    pub services: Vec<String>,
    /// What users should know.
    pub description: Option<String>,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// When it is planned to end.
    pub ends_at: DateTime<Utc>,
    /// Where it stands.
    pub state: MaintenanceState,
}

impl PublicStatus {
    /// The worst state of any service (`Operational` when there are none).
    pub fn overall(&self) -> ServiceState {
        self.services
            .iter()
            .map(|s| s.state)
            .max_by_key(|s| s.rank())
            .unwrap_or(ServiceState::Operational)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_serialise_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&MaintenanceState::InProgress).unwrap(),
            "\"in_progress\""
        );
        assert_eq!(
            serde_json::to_string(&PublicUpdateKind::WeKnow).unwrap(),
            "\"we_know\""
        );
        assert_eq!(
            serde_json::to_string(&ServiceState::Down).unwrap(),
            "\"down\""
        );
        assert_eq!(
            serde_json::to_string(&PublicIncidentState::Investigating).unwrap(),
            "\"investigating\""
        );
    }

    #[test]
    fn planned_maintenance_is_checked() {
        let t: DateTime<Utc> = "2026-09-01T20:00:00Z".parse().unwrap();
        let mut p = PlannedMaintenance {
            id: String::new(),
            title: "Upgrade".into(),
            services: vec!["sis".into()],
            starts_at: t,
            ends_at: t + chrono::Duration::hours(2),
            description: None,
        };
        p.validate().unwrap();
        p.ends_at = t;
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("must be after starts_at"), "{e}");
        p.ends_at = t + chrono::Duration::hours(1);
        p.services.clear();
        assert!(
            p.validate()
                .unwrap_err()
                .to_string()
                .contains("at least one")
        );
    }
}
