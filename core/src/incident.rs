//! Incidents: one per outage of a check, from opened to resolved, persisted in the store.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::probe::Status;

/// Where an incident is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentState {
    /// Failing, nobody has taken it yet.
    Open,
    /// Failing, a person has taken it.
    Acknowledged,
    /// Over.
    Resolved,
}

impl IncidentState {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Open => "open",
            IncidentState::Acknowledged => "acknowledged",
            IncidentState::Resolved => "resolved",
        }
    }

    /// Parses [`IncidentState::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => IncidentState::Open,
            "acknowledged" => IncidentState::Acknowledged,
            "resolved" => IncidentState::Resolved,
            _ => return None,
        })
    }
}

impl fmt::Display for IncidentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// What happened to an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateKind {
    /// The incident was opened.
    Opened,
    /// The status got worse (warning → critical).
    Worsened,
    /// The status got better but is not ok yet.
    Improved,
    /// The check started flapping.
    Flapping,
    /// The check stopped flapping and is still failing.
    Stable,
    /// A person acknowledged it.
    Acknowledged,
    /// A free-text note.
    Note,
    /// The check recovered.
    Resolved,
}

impl UpdateKind {
    /// Whether this kind of update is worth telling people who were told of the opening.
    pub fn is_notable(self) -> bool {
        matches!(
            self,
            UpdateKind::Worsened | UpdateKind::Flapping | UpdateKind::Stable
        )
    }
}

/// One entry in an incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentUpdate {
    /// Position in the timeline, from 0 (the opening).
    pub seq: u32,
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: UpdateKind,
    /// The check's status at that moment.
    pub status: Status,
    /// Human text (the observation summary, or the acknowledger's note).
    pub message: String,
    /// Who, for acknowledgements and notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// A person taking an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// Who.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// What they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One outage of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Store-assigned id (1, 2, …).
    pub id: i64,
    /// The failing check's name.
    pub check: String,
    /// The check's group, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The escalation policy that handles it.
    pub policy: String,
    /// Where it is in its life.
    pub state: IncidentState,
    /// The worst status seen while open.
    pub severity: Status,
    /// The latest status.
    pub status: Status,
    /// The latest observation summary.
    pub summary: String,
    /// Whether the check is flapping.
    #[serde(default)]
    pub flapping: bool,
    /// When it opened.
    pub opened_at: DateTime<Utc>,
    /// When it was resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who took it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledgement: Option<Acknowledgement>,
    /// The timeline.
    pub updates: Vec<IncidentUpdate>,
}

impl Incident {
    /// A new open incident (id 0 until the store assigns one).
    pub fn open(
        check: &str,
        group: Option<&str>,
        policy: &str,
        status: Status,
        summary: &str,
        flapping: bool,
        at: DateTime<Utc>,
    ) -> Self {
        let kind = if flapping {
            UpdateKind::Flapping
        } else {
            UpdateKind::Opened
        };
        Self {
            id: 0,
            check: check.to_owned(),
            group: group.map(str::to_owned),
            policy: policy.to_owned(),
            state: IncidentState::Open,
            severity: status,
            status,
            summary: summary.to_owned(),
            flapping,
            opened_at: at,
            resolved_at: None,
            acknowledgement: None,
            updates: vec![IncidentUpdate {
                seq: 0,
                at,
                kind,
                status,
                message: summary.to_owned(),
                by: None,
            }],
        }
    }

    /// Whether it is still going on.
    pub fn is_active(&self) -> bool {
        self.state != IncidentState::Resolved
    }

    /// Appends an update to the timeline and returns its sequence number.
    pub fn push(
        &mut self,
        kind: UpdateKind,
        status: Status,
        message: &str,
        by: Option<&str>,
        at: DateTime<Utc>,
    ) -> u32 {
        let seq = self.updates.len() as u32;
        self.updates.push(IncidentUpdate {
            seq,
            at,
            kind,
            status,
            message: message.to_owned(),
            by: by.map(str::to_owned),
        });
        if kind != UpdateKind::Acknowledged && kind != UpdateKind::Note {
            self.status = status;
            self.summary = message.to_owned();
            self.severity = self.severity.worst(status);
        }
        seq
    }

    /// Records an acknowledgement; refused when already resolved or acknowledged.
    pub fn acknowledge(
        &mut self,
        by: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> crate::Result<()> {
        match self.state {
            IncidentState::Resolved => {
                return Err(crate::Error::Conflict(format!(
                    "incident {} is already resolved",
                    self.id
                )));
            }
            IncidentState::Acknowledged => {
                let who = self
                    .acknowledgement
                    .as_ref()
                    .map(|a| a.by.as_str())
                    .unwrap_or("someone");
                return Err(crate::Error::Conflict(format!(
                    "incident {} was already acknowledged by {who}",
                    self.id
                )));
            }
            IncidentState::Open => {}
        }
        if by.trim().is_empty() {
            return Err(crate::Error::invalid(
                "by",
                "who acknowledges must be named",
            ));
        }
        self.state = IncidentState::Acknowledged;
        self.acknowledgement = Some(Acknowledgement {
            by: by.to_owned(),
            at,
            note: note.map(str::to_owned),
        });
        let message = note.unwrap_or("acknowledged").to_owned();
        let status = self.status;
        self.push(UpdateKind::Acknowledged, status, &message, Some(by), at);
        Ok(())
    }

    /// Marks it resolved.
    pub fn resolve(&mut self, summary: &str, at: DateTime<Utc>) {
        self.push(UpdateKind::Resolved, Status::Ok, summary, None, at);
        self.state = IncidentState::Resolved;
        self.resolved_at = Some(at);
        self.flapping = false;
    }

    /// How long it lasted (or has lasted until `now`).
    pub fn duration(&self, now: DateTime<Utc>) -> chrono::Duration {
        self.resolved_at.unwrap_or(now) - self.opened_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        "2026-09-01T08:00:00Z".parse().unwrap()
    }

    #[test]
    fn lifecycle() {
        let mut i = Incident::open("db", None, "default", Status::Warning, "slow", false, t0());
        i.push(UpdateKind::Worsened, Status::Critical, "down", None, t0());
        assert_eq!(i.severity, Status::Critical);
        i.acknowledge("ana", Some("on it"), t0()).unwrap();
        assert_eq!(i.state, IncidentState::Acknowledged);
        let again = i.acknowledge("bo", None, t0()).unwrap_err().to_string();
        assert!(again.contains("already acknowledged by ana"), "{again}");
        i.resolve("back", t0());
        assert!(!i.is_active());
        assert!(i.acknowledge("bo", None, t0()).is_err());
        let kinds: Vec<_> = i.updates.iter().map(|u| u.kind).collect();
        assert_eq!(
            kinds,
            [
                UpdateKind::Opened,
                UpdateKind::Worsened,
                UpdateKind::Acknowledged,
                UpdateKind::Resolved
            ]
        );
    }
}
