//! The plain objects the package hands to JavaScript: checks, incidents, services and events,
//! converted from core's types. Times are ISO 8601 strings in UTC; structured readings and
//! nested statistics are core's own JSON (the same as `forewarn check --json` and the history).

use chrono::{DateTime, SecondsFormat, Utc};
use forewarn::{Acknowledgement, CheckStatus, Incident, IncidentUpdate, Observation};
use napi_derive::napi;
use serde_json::Value;

use crate::error::other;

/// A UTC time as ISO 8601 with its offset (`2026-12-04T09:15:00.000Z`).
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Any serialisable core value as JSON for JavaScript.
pub(crate) fn to_json(v: &impl serde::Serialize) -> napi::Result<Value> {
    serde_json::to_value(v).map_err(|e| other(format!("converting to JavaScript: {e}")))
}

/// One measured value of an observation.
#[napi(object)]
pub struct Metric {
    /// The metric's name (`latency`, `toner_black`, …).
    pub name: String,
    /// Its value.
    pub value: f64,
    /// Its unit (`s`, `%`, …), empty when it has none.
    pub unit: String,
}

/// A check's state after its latest run.
#[napi(object)]
pub struct CheckResult {
    /// The check's name.
    pub name: String,
    /// The probe's kind (`tcp`, `http`, `printer`, …).
    pub kind: String,
    /// What it probes.
    pub target: String,
    /// Its group, if any.
    pub group: Option<String>,
    /// `ok`, `warning`, `critical` or `unknown`.
    pub status: String,
    /// What the probe said.
    pub summary: String,
    /// How long the probe took, in seconds.
    pub latency: f64,
    /// When it last ran (UTC), absent before its first run.
    pub at: Option<String>,
    /// Where alerting stands (core's `Alert`, as JSON).
    pub alert: Value,
    /// Whether the check is flapping.
    pub flapping: bool,
    /// Its active incident's id, if any.
    pub incident: Option<i64>,
    /// The metrics of its latest observation.
    pub metrics: Vec<Metric>,
    /// The structured reading (printer supplies, disk health, database role, …), when the
    /// probe gives one: the same JSON as `forewarn check --json`.
    pub reading: Option<Value>,
}

impl CheckResult {
    /// A check's state with the metrics of its latest observation.
    pub(crate) fn new(c: &CheckStatus, latest: Option<&Observation>) -> napi::Result<Self> {
        Ok(CheckResult {
            name: c.name.clone(),
            kind: c.kind.clone(),
            target: c.target.clone(),
            group: c.group.clone(),
            status: c.status.as_str().to_string(),
            summary: c.summary.clone(),
            latency: c.latency.as_secs_f64(),
            at: c.last_checked.map(iso),
            alert: to_json(&c.alert)?,
            flapping: c.flapping,
            incident: c.incident,
            metrics: latest
                .iter()
                .flat_map(|o| o.metrics.iter())
                .map(|(name, m)| Metric {
                    name: name.to_string(),
                    value: m.value,
                    unit: m.unit.to_string(),
                })
                .collect(),
            reading: c.reading.as_deref().map(to_json).transpose()?,
        })
    }
}

/// Who acknowledged an incident.
#[napi(object)]
pub struct Ack {
    /// Who.
    pub by: String,
    /// When (UTC).
    pub at: String,
    /// Their note, if any.
    pub note: Option<String>,
}

impl From<&Acknowledgement> for Ack {
    fn from(a: &Acknowledgement) -> Self {
        Ack {
            by: a.by.clone(),
            at: iso(a.at),
            note: a.note.clone(),
        }
    }
}

/// One entry of an incident's timeline.
#[napi(object)]
pub struct Update {
    /// Its number in the timeline, from 1.
    pub seq: u32,
    /// When (UTC).
    pub at: String,
    /// What kind of update (`opened`, `worse`, `acknowledged`, `note`, `resolved`, …).
    pub kind: String,
    /// The check's status at that time.
    pub status: String,
    /// What it says.
    pub message: String,
    /// Who made it, for people's updates.
    pub by: Option<String>,
}

impl Update {
    fn new(u: &IncidentUpdate) -> napi::Result<Self> {
        let kind = match to_json(&u.kind)? {
            Value::String(s) => s,
            other => other.to_string(),
        };
        Ok(Update {
            seq: u.seq,
            at: iso(u.at),
            kind,
            status: u.status.as_str().to_string(),
            message: u.message.clone(),
            by: u.by.clone(),
        })
    }
}

/// An incident: a check's trouble from the moment it was confirmed to its recovery.
#[napi(object)]
pub struct IncidentInfo {
    /// Its id.
    pub id: i64,
    /// The failing check.
    pub check: String,
    /// The check's group, if any.
    pub group: Option<String>,
    /// Its escalation policy.
    pub policy: String,
    /// `open`, `acknowledged` or `resolved`.
    pub state: String,
    /// The worst status it reached.
    pub severity: String,
    /// The check's status now.
    pub status: String,
    /// What is wrong.
    pub summary: String,
    /// Whether the check is flapping.
    pub flapping: bool,
    /// When it opened (UTC).
    pub opened_at: String,
    /// When it was resolved (UTC), if it was.
    pub resolved_at: Option<String>,
    /// Its acknowledgement, if any.
    pub acknowledgement: Option<Ack>,
    /// Its timeline, oldest first.
    pub updates: Vec<Update>,
}

impl IncidentInfo {
    /// An incident as a plain object.
    pub(crate) fn new(i: &Incident) -> napi::Result<Self> {
        Ok(IncidentInfo {
            id: i.id,
            check: i.check.clone(),
            group: i.group.clone(),
            policy: i.policy.clone(),
            state: i.state.as_str().to_string(),
            severity: i.severity.as_str().to_string(),
            status: i.status.as_str().to_string(),
            summary: i.summary.clone(),
            flapping: i.flapping,
            opened_at: iso(i.opened_at),
            resolved_at: i.resolved_at.map(iso),
            acknowledgement: i.acknowledgement.as_ref().map(Ack::from),
            updates: i
                .updates
                .iter()
                .map(Update::new)
                .collect::<napi::Result<_>>()?,
        })
    }
}

/// The monitor's own health.
#[napi(object)]
pub struct MonitorHealth {
    /// Every check's state, in definition order.
    pub checks: Vec<CheckResult>,
    /// Each sink and whether it can deliver (core's JSON).
    pub sinks: Value,
    /// The outbox's depth and failures (core's JSON).
    pub outbox: Value,
    /// The scheduler's counters (core's JSON).
    pub scheduler: Value,
}
