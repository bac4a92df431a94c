//! Escalation: a pure decision of who is told what about an incident, now.
//!
//! Given the incident, what was already sent for it and the time, an [`Escalation`] returns the
//! notifications due. It does no I/O, so it is tested with virtual time, and it is idempotent:
//! each step has a key, and a step already in the history is never due again.

use std::fmt::Debug;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::incident::{Incident, IncidentState};
use crate::sink::NotificationKind;

/// A notification already made for an incident (queued or delivered).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentRecord {
    /// The sink.
    pub sink: String,
    /// The escalation step ("opened", "update:2", "resolved", …).
    pub key: String,
    /// When it was queued.
    pub at: DateTime<Utc>,
}

/// One notification that is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    /// The sink to use.
    pub sink: String,
    /// The step key, unique per incident and sink.
    pub key: String,
    /// What kind of message.
    pub kind: NotificationKind,
}

/// Decides who to notify now.
pub trait Escalation: Send + Sync + Debug {
    /// The notifications due for `incident` at `now`, given `sent`.
    fn decide(&self, incident: &Incident, sent: &[SentRecord], now: DateTime<Utc>)
    -> Vec<Dispatch>;

    /// When `decide` might next return something without the incident changing (a reminder or
    /// the next tier), so the monitor knows when to ask again. `None`: only on change.
    fn next_wakeup(
        &self,
        _incident: &Incident,
        _sent: &[SentRecord],
        _now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        None
    }

    /// Every sink this policy may use, so config can check they exist.
    fn sinks(&self) -> Vec<String>;
}

/// The simplest policy: tell these sinks when an incident opens, when it gets notably worse or
/// starts/stops flapping, and when it resolves (only sinks that were told of the opening).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySinks {
    /// The sinks to notify.
    pub sinks: Vec<String>,
    /// Also notify notable updates (worse, flapping, stable). Default true.
    #[serde(default = "yes")]
    pub updates: bool,
    /// Also notify acknowledgements to sinks that were told. Default true.
    #[serde(default = "yes")]
    pub acknowledgements: bool,
}

fn yes() -> bool {
    true
}

impl NotifySinks {
    /// Notify `sinks` on open, notable updates, acknowledgement and resolve.
    pub fn new<S: Into<String>>(sinks: impl IntoIterator<Item = S>) -> Self {
        Self {
            sinks: sinks.into_iter().map(Into::into).collect(),
            updates: true,
            acknowledgements: true,
        }
    }
}

impl Escalation for NotifySinks {
    fn decide(
        &self,
        incident: &Incident,
        sent: &[SentRecord],
        _now: DateTime<Utc>,
    ) -> Vec<Dispatch> {
        let has = |sink: &str, key: &str| sent.iter().any(|r| r.sink == sink && r.key == key);
        let mut out = Vec::new();
        for sink in &self.sinks {
            let told = has(sink, "opened");
            if !told {
                // An incident resolved before anyone was told is not worth a message now.
                if incident.state != IncidentState::Resolved {
                    out.push(Dispatch {
                        sink: sink.clone(),
                        key: "opened".into(),
                        kind: NotificationKind::Opened,
                    });
                }
                continue;
            }
            for u in incident.updates.iter().skip(1) {
                let kind = if self.updates && u.kind.is_notable() {
                    NotificationKind::Updated
                } else if self.acknowledgements
                    && u.kind == crate::incident::UpdateKind::Acknowledged
                {
                    NotificationKind::Acknowledged
                } else {
                    continue;
                };
                let key = format!("update:{}", u.seq);
                if !has(sink, &key) && incident.state != IncidentState::Resolved {
                    out.push(Dispatch {
                        sink: sink.clone(),
                        key,
                        kind,
                    });
                }
            }
            if incident.state == IncidentState::Resolved && !has(sink, "resolved") {
                out.push(Dispatch {
                    sink: sink.clone(),
                    key: "resolved".into(),
                    kind: NotificationKind::Resolved,
                });
            }
        }
        out
    }

    fn sinks(&self) -> Vec<String> {
        self.sinks.clone()
    }
}

/// The configuration of a built-in escalation policy, selected by its `type` key.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum EscalationConfig {
    /// [`NotifySinks`].
    Notify(NotifySinks),
}

impl EscalationConfig {
    /// Builds the policy.
    pub fn build(&self) -> std::sync::Arc<dyn Escalation> {
        match self {
            EscalationConfig::Notify(n) => std::sync::Arc::new(n.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::UpdateKind;
    use crate::probe::Status;

    fn now() -> DateTime<Utc> {
        "2026-09-01T08:00:00Z".parse().unwrap()
    }

    fn record(d: &[Dispatch]) -> Vec<SentRecord> {
        d.iter()
            .map(|d| SentRecord {
                sink: d.sink.clone(),
                key: d.key.clone(),
                at: now(),
            })
            .collect()
    }

    #[test]
    fn open_update_resolve_once_each() {
        let p = NotifySinks::new(["log", "mail"]);
        let mut i = Incident::open("db", None, "p", Status::Warning, "slow", false, now());
        let d = p.decide(&i, &[], now());
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|d| d.kind == NotificationKind::Opened));
        let mut sent = record(&d);
        assert!(p.decide(&i, &sent, now()).is_empty(), "idempotent");

        i.push(UpdateKind::Worsened, Status::Critical, "down", None, now());
        i.push(UpdateKind::Improved, Status::Warning, "slow", None, now());
        let d = p.decide(&i, &sent, now());
        assert_eq!(d.len(), 2, "only the notable update: {d:?}");
        assert!(d.iter().all(|d| d.key == "update:1"));
        sent.extend(record(&d));

        i.resolve("back", now());
        let d = p.decide(&i, &sent, now());
        assert_eq!(d.len(), 2);
        assert!(d.iter().all(|d| d.kind == NotificationKind::Resolved));
        sent.extend(record(&d));
        assert!(p.decide(&i, &sent, now()).is_empty());
    }

    #[test]
    fn resolved_before_told_sends_nothing() {
        let p = NotifySinks::new(["log"]);
        let mut i = Incident::open("db", None, "p", Status::Critical, "down", false, now());
        i.resolve("back", now());
        assert!(p.decide(&i, &[], now()).is_empty());
    }

    #[test]
    fn acknowledgement_is_told_to_those_told() {
        let p = NotifySinks::new(["log"]);
        let mut i = Incident::open("db", None, "p", Status::Critical, "down", false, now());
        let sent = record(&p.decide(&i, &[], now()));
        i.acknowledge("ana", None, now()).unwrap();
        let d = p.decide(&i, &sent, now());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].kind, NotificationKind::Acknowledged);
    }
}
