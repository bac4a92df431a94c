//! What each audience is owed, and when: a pure function of an outage's timeline (or a
//! maintenance window), the audience's settings and the clock. The same inputs always give the
//! same broadcasts with the same keys, so a restart queues nothing twice.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::outage::{Outage, OutageEvent};

/// Which message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BroadcastKind {
    /// "We know X is down and are working on it."
    WeKnow,
    /// ICT's note, or the outage reached another service.
    Update,
    /// Nothing new for a while: still working on it.
    StillWorking,
    /// "X works again."
    Fixed,
    /// Planned maintenance, announced ahead.
    MaintenanceAhead,
    /// Planned maintenance has started.
    MaintenanceStarted,
    /// Planned maintenance is complete.
    MaintenanceComplete,
}

impl BroadcastKind {
    /// Every kind, in a stable order.
    pub const ALL: [BroadcastKind; 7] = [
        BroadcastKind::WeKnow,
        BroadcastKind::Update,
        BroadcastKind::StillWorking,
        BroadcastKind::Fixed,
        BroadcastKind::MaintenanceAhead,
        BroadcastKind::MaintenanceStarted,
        BroadcastKind::MaintenanceComplete,
    ];

    /// The name templates are filed under (`we_know.txt`).
    pub fn as_str(self) -> &'static str {
        match self {
            BroadcastKind::WeKnow => "we_know",
            BroadcastKind::Update => "update",
            BroadcastKind::StillWorking => "still_working",
            BroadcastKind::Fixed => "fixed",
            BroadcastKind::MaintenanceAhead => "maintenance_ahead",
            BroadcastKind::MaintenanceStarted => "maintenance_started",
            BroadcastKind::MaintenanceComplete => "maintenance_complete",
        }
    }
}

/// One broadcast owed to an audience.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    /// Stable within the outage or maintenance ("we_know", "update:4", "still:1780003600",
    /// "fixed").
    pub key: String,
    /// Which message.
    pub kind: BroadcastKind,
    /// When it became due.
    pub at: DateTime<Utc>,
    /// The timeline entry it tells (updates).
    pub update: Option<u32>,
}

/// When the "we know" message was due for an audience told after `delay` about `services`:
/// the first moment the outage had been down for `delay` without a break since one of those
/// services joined it. `None`: not (yet).
pub fn we_know_at(
    outage: &Outage,
    services: &[&str],
    delay: Duration,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let joined = services.iter().filter_map(|s| outage.joined_at(s)).min()?;
    let delay = chrono::Duration::from_std(delay).ok()?;
    outage.down_spans().into_iter().find_map(|(from, until)| {
        let from = from.max(joined);
        let until = until.unwrap_or(now).min(now);
        (until - from >= delay).then(|| from + delay)
    })
}

/// The broadcasts an audience that cares about `services` (of this outage) is owed by `now`.
pub fn due_for_outage(
    outage: &Outage,
    services: &[&str],
    delay: Duration,
    hold: Duration,
    update_every: Duration,
    now: DateTime<Utc>,
) -> Vec<Due> {
    let mut due = Vec::new();
    let Some(first) = we_know_at(outage, services, delay, now) else {
        return due;
    };
    due.push(Due {
        key: "we_know".into(),
        kind: BroadcastKind::WeKnow,
        at: first,
        update: None,
    });
    let mut last = first;
    let every = chrono::Duration::from_std(update_every).unwrap_or(chrono::Duration::MAX);
    let back = outage.back_at;
    let mut down_since_last = true;
    for u in &outage.updates {
        // "Still working on it" for every stretch without news while down.
        while down_since_last && last + every <= u.at.min(now) {
            last += every;
            due.push(still(last));
        }
        match u.event {
            // A note from the moment the "we know" is due on is an update of its own: the
            // "we know" carries only the notes written before that moment, so a note written
            // at that very moment (just after the "we know" went out) is still told.
            OutageEvent::Note if u.at >= first && u.at <= now => {
                due.push(Due {
                    key: format!("update:{}", u.seq),
                    kind: BroadcastKind::Update,
                    at: u.at,
                    update: Some(u.seq),
                });
                last = u.at;
            }
            OutageEvent::Widened
                if u.at > first
                    && u.at <= now
                    && u.service.as_deref().is_some_and(|s| services.contains(&s)) =>
            {
                due.push(Due {
                    key: format!("update:{}", u.seq),
                    kind: BroadcastKind::Update,
                    at: u.at,
                    update: Some(u.seq),
                });
                last = u.at;
            }
            OutageEvent::Back => down_since_last = false,
            OutageEvent::Reopened => {
                down_since_last = true;
                last = last.max(u.at);
            }
            _ => {}
        }
    }
    if back.is_none() {
        while last + every <= now {
            last += every;
            due.push(still(last));
        }
    }
    let hold = chrono::Duration::from_std(hold).unwrap_or(chrono::Duration::MAX);
    if let Some(back) = back
        && now - back >= hold
    {
        due.push(Due {
            key: "fixed".into(),
            kind: BroadcastKind::Fixed,
            at: back + hold,
            update: None,
        });
    }
    due
}

fn still(at: DateTime<Utc>) -> Due {
    Due {
        key: format!("still:{}", at.timestamp()),
        kind: BroadcastKind::StillWorking,
        at,
        update: None,
    }
}

/// The broadcasts an audience is owed by `now` for one occurrence of planned maintenance from
/// `start` to `end`, announced `lead` ahead. A late start of forewarn does not send an
/// announcement whose moment has passed (an "ahead" after the start, a "started" after the end);
/// "complete" is sent within a day of the end.
pub fn due_for_maintenance(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    lead: Duration,
    now: DateTime<Utc>,
) -> Vec<Due> {
    let lead = chrono::Duration::from_std(lead).unwrap_or(chrono::Duration::zero());
    let mut due = Vec::new();
    let at = |key: &str, kind, at| Due {
        key: key.into(),
        kind,
        at,
        update: None,
    };
    if !lead.is_zero() && now >= start - lead && now < start {
        due.push(at("ahead", BroadcastKind::MaintenanceAhead, start - lead));
    }
    if now >= start && now < end {
        due.push(at("started", BroadcastKind::MaintenanceStarted, start));
    }
    if now >= end && now - end < chrono::Duration::days(1) {
        due.push(at("complete", BroadcastKind::MaintenanceComplete, end));
    }
    due
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + s, 0).unwrap()
    }

    const MIN: Duration = Duration::from_secs(60);

    fn outage() -> Outage {
        Outage::start("sis", BTreeSet::new(), BTreeSet::new(), at(0))
    }

    fn keys(d: &[Due]) -> Vec<&str> {
        d.iter().map(|d| d.key.as_str()).collect()
    }

    #[test]
    fn a_blip_shorter_than_the_delay_sends_nothing() {
        let mut o = outage();
        o.back_at = Some(at(20));
        o.push(OutageEvent::Back, None, None, None, at(20));
        for now in [10, 20, 400, 2000] {
            assert!(due_for_outage(&o, &["sis"], 5 * MIN, 10 * MIN, 60 * MIN, at(now)).is_empty());
        }
    }

    #[test]
    fn we_know_then_a_note_then_fixed_after_the_hold() {
        let mut o = outage();
        let d = |o: &Outage, now| due_for_outage(o, &["sis"], 5 * MIN, 10 * MIN, 60 * MIN, at(now));
        assert!(d(&o, 299).is_empty());
        assert_eq!(keys(&d(&o, 300)), ["we_know"]);
        assert_eq!(d(&o, 300)[0].at, at(300));
        // A note before the "we know" goes into it, not into an update of its own.
        o.push(OutageEvent::Note, None, Some("early"), Some("ana"), at(100));
        o.push(
            OutageEvent::Note,
            None,
            Some("vendor called"),
            Some("ana"),
            at(900),
        );
        assert_eq!(keys(&d(&o, 1000)), ["we_know", "update:2"]);
        o.back_at = Some(at(1200));
        o.push(OutageEvent::Back, None, None, None, at(1200));
        assert_eq!(keys(&d(&o, 1799)), ["we_know", "update:2"]);
        assert_eq!(keys(&d(&o, 1800)), ["we_know", "update:2", "fixed"]);
        // An audience that does not care about it hears nothing.
        assert!(due_for_outage(&o, &["wifi"], 5 * MIN, 10 * MIN, 60 * MIN, at(5000)).is_empty());
    }

    #[test]
    fn a_note_at_the_moment_the_we_know_is_due_is_an_update_of_its_own() {
        let mut o = outage();
        let d = |o: &Outage, now| due_for_outage(o, &["sis"], 5 * MIN, 10 * MIN, 60 * MIN, at(now));
        o.push(
            OutageEvent::Note,
            None,
            Some("just before"),
            Some("ana"),
            at(299),
        );
        o.push(
            OutageEvent::Note,
            None,
            Some("right then"),
            Some("ana"),
            at(300),
        );
        let due = d(&o, 300);
        assert_eq!(keys(&due), ["we_know", "update:2"], "{due:?}");
        assert_eq!(due[1].at, at(300));
    }

    #[test]
    fn still_working_when_nothing_was_said_for_update_every() {
        let mut o = outage();
        let d = |o: &Outage, now| due_for_outage(o, &["sis"], 5 * MIN, 10 * MIN, 30 * MIN, at(now));
        assert_eq!(keys(&d(&o, 300 + 1799)), ["we_know"]);
        let due = d(&o, 300 + 1800);
        assert_eq!(due[1].kind, BroadcastKind::StillWorking);
        assert_eq!(due[1].at, at(2100));
        // A note resets the clock.
        o.push(OutageEvent::Note, None, Some("x"), None, at(3000));
        let due = d(&o, 3000 + 1799);
        assert_eq!(
            keys(&due),
            ["we_know", "still:1780002100", "update:1"],
            "{due:?}"
        );
        // The same inputs give the same keys (a restart queues nothing new).
        assert_eq!(due, d(&o, 3000 + 1799));
    }

    #[test]
    fn the_delay_counts_from_when_the_service_joined() {
        let mut o = outage();
        o.services.push("print".into());
        o.push(OutageEvent::Widened, Some("print"), None, None, at(600));
        let print = due_for_outage(&o, &["print"], 5 * MIN, 10 * MIN, 60 * MIN, at(899));
        assert!(print.is_empty());
        let print = due_for_outage(&o, &["print"], 5 * MIN, 10 * MIN, 60 * MIN, at(900));
        assert_eq!(keys(&print), ["we_know"]);
        // Those told of SIS hear that printing is down too.
        let sis = due_for_outage(&o, &["sis", "print"], 5 * MIN, 10 * MIN, 60 * MIN, at(900));
        assert_eq!(keys(&sis), ["we_know", "update:1"]);
    }

    #[test]
    fn maintenance_ahead_started_complete() {
        let (s, e) = (at(86_400), at(86_400 + 3600));
        let lead = Duration::from_secs(2 * 86_400);
        let k = |now| {
            due_for_maintenance(s, e, lead, at(now))
                .into_iter()
                .map(|d| d.key)
                .collect::<Vec<_>>()
        };
        assert_eq!(k(0), ["ahead"]);
        assert_eq!(k(86_400), ["started"]);
        assert_eq!(k(86_400 + 3600), ["complete"]);
        assert!(k(86_400 * 3).is_empty());
    }
}
