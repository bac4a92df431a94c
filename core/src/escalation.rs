//! Escalation: a pure decision of who is told what about an incident, now.
//!
//! Given the incident, what was already sent for it and the time, an [`Escalation`] returns the
//! notifications due. It does no I/O, so it is tested with virtual time, and it is idempotent:
//! each step has a key, and a step already in the history is never due again.

use std::fmt::Debug;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
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

/// One step of a [`TieredEscalation`]: who is told once an incident has stayed
/// unacknowledged for `after`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// How long after the incident opened this tier is told, if nobody has acknowledged it
    /// ("0m" for at once, "10m", "1h").
    #[serde(with = "crate::config::duration")]
    pub after: Duration,
    /// The sinks of this tier.
    pub sinks: Vec<String>,
}

impl Tier {
    /// A tier telling `sinks` once an incident is `after` old and unacknowledged.
    pub fn new<S: Into<String>>(after: Duration, sinks: impl IntoIterator<Item = S>) -> Self {
        Self {
            after,
            sinks: sinks.into_iter().map(Into::into).collect(),
        }
    }
}

/// The shortest reminder interval of a [`TieredEscalation`].
pub const MIN_REPEAT: Duration = Duration::from_secs(60);

/// Configuration of the `tiered` policy, checked into a [`TieredEscalation`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TieredEscalationConfig {
    /// The tiers (`[[policies.NAME.tiers]]`), each with `after` and `sinks`.
    pub tiers: Vec<Tier>,
    /// Remind the highest tier reached this often while nobody has acknowledged (at least
    /// 1 min; default: no reminders).
    #[serde(default, with = "crate::config::opt_duration")]
    pub repeat: Option<Duration>,
    /// Tell sinks that were told of the opening about notable updates (worse, flapping,
    /// stable). Default true.
    #[serde(default = "yes")]
    pub notify_updates: bool,
}

/// The main built-in policy: tiers of sinks told one after another while nobody takes the
/// incident, reminders to the highest tier reached, and "resolved" to everyone told.
///
/// - Tier *k* is due while the incident is open (not acknowledged, not resolved) and
///   `now - opened_at >= after_k`; each of its sinks gets one "opened" message.
/// - With `repeat`, reminder *n* is due at `opened_at + n·repeat` and goes to the sinks of the
///   highest tier reached by then, unless that tier itself was reached less than `repeat`
///   before (its sinks were just told). Missed slots are not made up: only the latest is sent.
/// - An acknowledgement stops further tiers and reminders and is told to the sinks already
///   told; notable updates are told to them too (when `notify_updates`).
/// - Resolution sends "resolved" to every sink that was told "opened", through any tier.
///
/// Keys: "opened", "reminder:`<n>`", "update:`<seq>`", "resolved", unique per incident and sink,
/// so [`Escalation::decide`] is idempotent.
///
/// ```toml
/// [policies.oncall]
/// type = "tiered"
/// repeat = "15m"
/// [[policies.oncall.tiers]]
/// after = "0m"
/// sinks = ["mail-oncall"]
/// [[policies.oncall.tiers]]
/// after = "10m"
/// sinks = ["mail-team"]
/// [[policies.oncall.tiers]]
/// after = "30m"
/// sinks = ["mail-director"]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "TieredEscalationConfig")]
pub struct TieredEscalation {
    tiers: Vec<Tier>,
    repeat: Option<Duration>,
    notify_updates: bool,
}

impl TryFrom<TieredEscalationConfig> for TieredEscalation {
    type Error = Error;

    fn try_from(c: TieredEscalationConfig) -> Result<Self> {
        let mut t = Self::new(c.tiers, c.repeat)?;
        t.notify_updates = c.notify_updates;
        Ok(t)
    }
}

impl TieredEscalation {
    /// A policy with `tiers` (any order; sorted by `after`) and an optional reminder interval
    /// (at least [`MIN_REPEAT`]). Refused without tiers or with a tier naming no sink.
    pub fn new(tiers: Vec<Tier>, repeat: Option<Duration>) -> Result<Self> {
        if tiers.is_empty() {
            return Err(Error::invalid("tiers", "at least one tier is needed"));
        }
        if let Some(i) = tiers.iter().position(|t| t.sinks.is_empty()) {
            return Err(Error::invalid(
                "tiers",
                format!("tier {} names no sink", i + 1),
            ));
        }
        if let Some(r) = repeat
            && r < MIN_REPEAT
        {
            return Err(Error::invalid(
                "repeat",
                format!(
                    "must be at least 1m (got {})",
                    crate::probe::human_duration(r)
                ),
            ));
        }
        let mut tiers = tiers;
        tiers.sort_by_key(|t| t.after);
        Ok(Self {
            tiers,
            repeat,
            notify_updates: true,
        })
    }

    /// Whether notable updates are told (default true).
    pub fn notify_updates(mut self, yes: bool) -> Self {
        self.notify_updates = yes;
        self
    }

    /// The tiers, sorted by `after`.
    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    /// The reminder interval.
    pub fn repeat(&self) -> Option<Duration> {
        self.repeat
    }

    fn offset(after: Duration) -> chrono::Duration {
        chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX)
    }

    /// The index of the highest tier reached `elapsed` after opening.
    fn top_tier(&self, elapsed: chrono::Duration) -> Option<usize> {
        self.tiers
            .iter()
            .rposition(|t| Self::offset(t.after) <= elapsed)
    }

    /// The latest reminder slot due at `elapsed` and its recipients' tier, if any.
    fn reminder_slot(&self, elapsed: chrono::Duration) -> Option<(i64, usize)> {
        let repeat = Self::offset(self.repeat?);
        let n = elapsed.num_milliseconds() / repeat.num_milliseconds().max(1);
        if n < 1 {
            return None;
        }
        let slot = repeat * n as i32;
        let top = self.top_tier(slot)?;
        // The tier was reached less than one interval before the slot: it was just told.
        if Self::offset(self.tiers[top].after) > slot - repeat {
            return None;
        }
        Some((n, top))
    }
}

impl Escalation for TieredEscalation {
    fn decide(
        &self,
        incident: &Incident,
        sent: &[SentRecord],
        now: DateTime<Utc>,
    ) -> Vec<Dispatch> {
        let find = |sink: &str, key: &str| sent.iter().find(|r| r.sink == sink && r.key == key);
        let mut out: Vec<Dispatch> = Vec::new();
        let push = |out: &mut Vec<Dispatch>, sink: &str, key: String, kind| {
            if find(sink, &key).is_none() && !out.iter().any(|d| d.sink == sink && d.key == key) {
                out.push(Dispatch {
                    sink: sink.to_owned(),
                    key,
                    kind,
                });
            }
        };
        let elapsed = now - incident.opened_at;
        match incident.state {
            IncidentState::Open => {
                for tier in self
                    .tiers
                    .iter()
                    .take_while(|t| Self::offset(t.after) <= elapsed)
                {
                    for sink in &tier.sinks {
                        push(&mut out, sink, "opened".into(), NotificationKind::Opened);
                    }
                }
                if let Some((n, top)) = self.reminder_slot(elapsed) {
                    for sink in &self.tiers[top].sinks {
                        if find(sink, "opened").is_some() {
                            push(
                                &mut out,
                                sink,
                                format!("reminder:{n}"),
                                NotificationKind::Reminder,
                            );
                        }
                    }
                }
            }
            IncidentState::Acknowledged | IncidentState::Resolved => {}
        }
        for sink in self.sinks() {
            let Some(opened) = find(&sink, "opened") else {
                continue;
            };
            if incident.state == IncidentState::Resolved {
                push(
                    &mut out,
                    &sink,
                    "resolved".into(),
                    NotificationKind::Resolved,
                );
                continue;
            }
            // What happened after this sink was told (its "opened" message carried the state
            // of that moment).
            for u in incident.updates.iter().skip(1).filter(|u| u.at > opened.at) {
                let kind = if u.kind == crate::incident::UpdateKind::Acknowledged {
                    NotificationKind::Acknowledged
                } else if self.notify_updates && u.kind.is_notable() {
                    NotificationKind::Updated
                } else {
                    continue;
                };
                push(&mut out, &sink, format!("update:{}", u.seq), kind);
            }
        }
        out
    }

    fn next_wakeup(
        &self,
        incident: &Incident,
        sent: &[SentRecord],
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if incident.state != IncidentState::Open {
            return None;
        }
        let elapsed = now - incident.opened_at;
        let mut next: Option<DateTime<Utc>> = None;
        let mut consider = |t: DateTime<Utc>| {
            next = Some(next.map_or(t, |n| n.min(t)));
        };
        for t in &self.tiers {
            let at = incident.opened_at + Self::offset(t.after);
            if at > now {
                consider(at);
                break;
            }
            if t.sinks
                .iter()
                .any(|s| !sent.iter().any(|r| &r.sink == s && r.key == "opened"))
            {
                consider(now);
            }
        }
        if let Some(repeat) = self.repeat {
            let repeat = Self::offset(repeat);
            let n = elapsed.num_milliseconds() / repeat.num_milliseconds().max(1);
            // The next slot that has recipients.
            for k in n + 1..n + 1 + 2 * self.tiers.len() as i64 + 2 {
                let slot = repeat * k as i32;
                if self.reminder_slot(slot).is_some() {
                    consider(incident.opened_at + slot);
                    break;
                }
            }
            // The current slot, when its reminder is still to send.
            if let Some((n, top)) = self.reminder_slot(elapsed) {
                let key = format!("reminder:{n}");
                let pending = self.tiers[top].sinks.iter().any(|s| {
                    sent.iter().any(|r| &r.sink == s && r.key == "opened")
                        && !sent.iter().any(|r| &r.sink == s && r.key == key)
                });
                if pending {
                    consider(now);
                }
            }
        }
        next
    }

    fn sinks(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for t in &self.tiers {
            for s in &t.sinks {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
        }
        out
    }
}

/// The configuration of a built-in escalation policy, selected by its `type` key.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum EscalationConfig {
    /// [`NotifySinks`].
    Notify(NotifySinks),
    /// [`TieredEscalation`].
    Tiered(TieredEscalation),
}

impl EscalationConfig {
    /// Builds the policy.
    pub fn build(&self) -> std::sync::Arc<dyn Escalation> {
        match self {
            EscalationConfig::Notify(n) => std::sync::Arc::new(n.clone()),
            EscalationConfig::Tiered(t) => std::sync::Arc::new(t.clone()),
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

    // ---- TieredEscalation, with virtual time ----

    fn minutes(m: u64) -> Duration {
        Duration::from_secs(60 * m)
    }

    fn at(m: i64) -> DateTime<Utc> {
        now() + chrono::Duration::minutes(m)
    }

    fn three_tiers(repeat: Option<Duration>) -> TieredEscalation {
        TieredEscalation::new(
            vec![
                Tier::new(minutes(30), ["director"]),
                Tier::new(minutes(0), ["oncall"]),
                Tier::new(minutes(10), ["team"]),
            ],
            repeat,
        )
        .unwrap()
    }

    /// Drives `p` minute by minute over `[from, to]` like the monitor does, recording what is
    /// sent; `each` may change the incident before the minute's decision.
    fn drive(
        p: &TieredEscalation,
        i: &mut Incident,
        sent: &mut Vec<SentRecord>,
        from: i64,
        to: i64,
        mut each: impl FnMut(i64, &mut Incident),
    ) -> Vec<(i64, Dispatch)> {
        let mut log = Vec::new();
        for m in from..=to {
            each(m, i);
            let d = p.decide(i, sent, at(m));
            for d in d {
                sent.push(SentRecord {
                    sink: d.sink.clone(),
                    key: d.key.clone(),
                    at: at(m),
                });
                log.push((m, d));
            }
            assert!(p.decide(i, sent, at(m)).is_empty(), "idempotent at {m}");
        }
        log
    }

    fn opened_at_minute(log: &[(i64, Dispatch)], sink: &str) -> Option<i64> {
        log.iter()
            .find(|(_, d)| d.sink == sink && d.key == "opened")
            .map(|(m, _)| *m)
    }

    fn incident() -> Incident {
        let mut i = Incident::open("db", None, "oncall", Status::Critical, "down", false, now());
        i.id = 1;
        i
    }

    #[test]
    fn tiers_are_reached_at_10_and_30_minutes() {
        let p = three_tiers(None);
        let mut i = incident();
        let mut sent = Vec::new();
        let log = drive(&p, &mut i, &mut sent, 0, 45, |_, _| {});
        assert_eq!(opened_at_minute(&log, "oncall"), Some(0));
        assert_eq!(opened_at_minute(&log, "team"), Some(10));
        assert_eq!(opened_at_minute(&log, "director"), Some(30));
        assert_eq!(log.len(), 3, "nothing else without repeat: {log:?}");
        assert!(log.iter().all(|(_, d)| d.kind == NotificationKind::Opened));
    }

    #[test]
    fn acknowledged_at_5_minutes_stops_tier_2() {
        let p = three_tiers(Some(minutes(15)));
        let mut i = incident();
        let mut sent = Vec::new();
        let log = drive(&p, &mut i, &mut sent, 0, 120, |m, i| {
            if m == 5 {
                i.acknowledge("ana", Some("on it"), at(5)).unwrap();
            }
        });
        assert_eq!(opened_at_minute(&log, "oncall"), Some(0));
        assert_eq!(opened_at_minute(&log, "team"), None, "{log:?}");
        assert_eq!(opened_at_minute(&log, "director"), None, "{log:?}");
        let ack: Vec<_> = log
            .iter()
            .filter(|(_, d)| d.kind == NotificationKind::Acknowledged)
            .collect();
        assert_eq!(ack.len(), 1, "{log:?}");
        assert_eq!((ack[0].0, ack[0].1.sink.as_str()), (5, "oncall"));
        assert_eq!(ack[0].1.key, "update:1");
        assert!(
            !log.iter()
                .any(|(_, d)| d.kind == NotificationKind::Reminder),
            "no reminders after acknowledgement: {log:?}"
        );
        assert_eq!(p.next_wakeup(&i, &sent, at(6)), None);
    }

    #[test]
    fn resolution_is_told_to_everyone_told_through_any_tier() {
        let p = three_tiers(None);
        let mut i = incident();
        let mut sent = Vec::new();
        let log = drive(&p, &mut i, &mut sent, 0, 40, |m, i| {
            if m == 20 {
                i.resolve("back", at(20));
            }
        });
        let resolved: Vec<(i64, &str)> = log
            .iter()
            .filter(|(_, d)| d.kind == NotificationKind::Resolved)
            .map(|(m, d)| (*m, d.sink.as_str()))
            .collect();
        assert_eq!(resolved, [(20, "oncall"), (20, "team")]);
        assert_eq!(opened_at_minute(&log, "director"), None);
        assert!(
            log.iter()
                .all(|(_, d)| d.key == "opened" || d.key == "resolved")
        );
    }

    #[test]
    fn reminders_are_spaced_by_repeat() {
        let single =
            TieredEscalation::new(vec![Tier::new(minutes(0), ["oncall"])], Some(minutes(15)))
                .unwrap();
        let mut i = incident();
        let mut sent = Vec::new();
        let log = drive(&single, &mut i, &mut sent, 0, 50, |_, _| {});
        let reminders: Vec<(i64, &str)> = log
            .iter()
            .filter(|(_, d)| d.kind == NotificationKind::Reminder)
            .map(|(m, d)| (*m, d.key.as_str()))
            .collect();
        assert_eq!(
            reminders,
            [(15, "reminder:1"), (30, "reminder:2"), (45, "reminder:3")]
        );

        // With tiers, reminders go to the highest tier reached, not to one just told.
        let p = three_tiers(Some(minutes(15)));
        let mut i = incident();
        let mut sent = Vec::new();
        let log = drive(&p, &mut i, &mut sent, 0, 75, |_, _| {});
        let reminders: Vec<(i64, &str, &str)> = log
            .iter()
            .filter(|(_, d)| d.kind == NotificationKind::Reminder)
            .map(|(m, d)| (*m, d.sink.as_str(), d.key.as_str()))
            .collect();
        assert_eq!(
            reminders,
            [
                (45, "director", "reminder:3"),
                (60, "director", "reminder:4"),
                (75, "director", "reminder:5")
            ]
        );
    }

    #[test]
    fn a_late_decision_does_not_burst() {
        // The monitor was away for 50 minutes: every tier is told once, and no reminder goes
        // to sinks that are only now told of the opening.
        let p = three_tiers(Some(minutes(15)));
        let i = incident();
        let d = p.decide(&i, &[], at(50));
        let mut got: Vec<(&str, &str)> = d
            .iter()
            .map(|d| (d.sink.as_str(), d.key.as_str()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("director", "opened"),
                ("oncall", "opened"),
                ("team", "opened")
            ]
        );
        let sent = record(&d);
        // One reminder for the current slot (45 min) to the top tier, then quiet until 60.
        let d = p.decide(&i, &sent, at(51));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(
            (d[0].sink.as_str(), d[0].key.as_str()),
            ("director", "reminder:3")
        );
    }

    #[test]
    fn next_wakeup_follows_tiers_and_reminders() {
        let p = three_tiers(Some(minutes(15)));
        let mut i = incident();
        assert_eq!(p.next_wakeup(&i, &[], at(0)), Some(at(0)), "tier 1 due now");
        let mut sent = Vec::new();
        drive(&p, &mut i, &mut sent, 0, 0, |_, _| {});
        assert_eq!(p.next_wakeup(&i, &sent, at(0)), Some(at(10)));
        drive(&p, &mut i, &mut sent, 1, 10, |_, _| {});
        // Slots 15 and 30 have no recipients (tiers just told); tier 3 at 30 comes first.
        assert_eq!(p.next_wakeup(&i, &sent, at(10)), Some(at(30)));
        drive(&p, &mut i, &mut sent, 11, 30, |_, _| {});
        assert_eq!(p.next_wakeup(&i, &sent, at(30)), Some(at(45)));
        drive(&p, &mut i, &mut sent, 31, 45, |_, _| {});
        assert_eq!(p.next_wakeup(&i, &sent, at(45)), Some(at(60)));
        i.resolve("back", at(46));
        assert_eq!(p.next_wakeup(&i, &sent, at(46)), None);
        let no_repeat = three_tiers(None);
        let mut sent = Vec::new();
        let mut i = incident();
        drive(&no_repeat, &mut i, &mut sent, 0, 30, |_, _| {});
        assert_eq!(no_repeat.next_wakeup(&i, &sent, at(31)), None);
    }

    #[test]
    fn updates_are_told_only_to_those_told_before() {
        let p = three_tiers(None);
        let mut i = incident();
        let mut sent = Vec::new();
        let log = drive(&p, &mut i, &mut sent, 0, 35, |m, i| {
            if m == 3 {
                i.push(UpdateKind::Flapping, Status::Critical, "flaps", None, at(3));
            }
            if m == 12 {
                i.push(
                    UpdateKind::Worsened,
                    Status::Critical,
                    "worse",
                    None,
                    at(12),
                );
            }
        });
        let updates: Vec<(i64, &str, &str)> = log
            .iter()
            .filter(|(_, d)| d.kind == NotificationKind::Updated)
            .map(|(m, d)| (*m, d.sink.as_str(), d.key.as_str()))
            .collect();
        assert_eq!(
            updates,
            [
                (3, "oncall", "update:1"),
                (12, "oncall", "update:2"),
                (12, "team", "update:2")
            ]
        );
        let quiet = three_tiers(None).notify_updates(false);
        let mut i = incident();
        let mut sent = Vec::new();
        let log = drive(&quiet, &mut i, &mut sent, 0, 12, |m, i| {
            if m == 3 {
                i.push(UpdateKind::Worsened, Status::Critical, "worse", None, at(3));
            }
            if m == 12 {
                i.acknowledge("bo", None, at(12)).unwrap();
            }
        });
        let kinds: Vec<NotificationKind> = log.iter().map(|(_, d)| d.kind).collect();
        assert_eq!(
            kinds,
            [
                NotificationKind::Opened,
                NotificationKind::Opened,
                NotificationKind::Acknowledged,
                NotificationKind::Acknowledged
            ],
            "{log:?}"
        );
    }

    #[test]
    fn tiered_config_is_parsed_and_checked() {
        let text = r#"
            type = "tiered"
            repeat = "15m"
            [[tiers]]
            after = "10m"
            sinks = ["mail-team"]
            [[tiers]]
            after = "0m"
            sinks = ["mail-oncall"]
        "#;
        let c: EscalationConfig = toml::from_str(text).unwrap();
        let EscalationConfig::Tiered(t) = &c else {
            panic!("{c:?}")
        };
        assert_eq!(t.repeat(), Some(minutes(15)));
        assert_eq!(t.tiers()[0].sinks, ["mail-oncall"], "sorted by after");
        assert_eq!(c.build().sinks(), ["mail-oncall", "mail-team"]);

        let err = |text: &str| {
            toml::from_str::<EscalationConfig>(text)
                .unwrap_err()
                .to_string()
        };
        let e = err(
            "type = \"tiered\"\nrepeat = \"30s\"\n[[tiers]]\nafter = \"0m\"\nsinks = [\"a\"]\n",
        );
        assert!(e.contains("repeat") && e.contains("at least 1m"), "{e}");
        let e = err("type = \"tiered\"\ntiers = []\n");
        assert!(e.contains("at least one tier"), "{e}");
        let e = err("type = \"tiered\"\n[[tiers]]\nafter = \"0m\"\nsinks = []\n");
        assert!(e.contains("tier 1 names no sink"), "{e}");
        let e =
            err("type = \"tiered\"\n[[tiers]]\nafter = \"0m\"\nsinks = [\"a\"]\nrepaet = \"1m\"\n");
        assert!(e.contains("repaet"), "{e}");
        let e = err("type = \"tiered\"\n[[tiers]]\nafter = \"soon\"\nsinks = [\"a\"]\n");
        assert!(e.contains("soon"), "{e}");
    }
}
