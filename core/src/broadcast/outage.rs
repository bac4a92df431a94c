//! Outages: one per episode of user-facing services being down, the object every broadcast,
//! the status page, the auto-reply and the voicemail are made from.
//!
//! An outage starts when a service goes down, widens when another service goes down for the
//! same cause (their failing checks share a root: the same check, or the check they depend
//! on), gathers ICT's notes from the incidents behind it, and is back when all its services
//! are. It closes once they have stayed back for the hold time; down again before that, the
//! same outage goes on. [`track`] is a pure function of (outages, services' states, clock).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::service::ServiceState;

/// What happened in an outage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageEvent {
    /// The first service went down.
    Started,
    /// Another service went down for the same cause.
    Widened,
    /// ICT wrote a note on an incident behind it.
    Note,
    /// Every service is back.
    Back,
    /// Down again before the hold time was over.
    Reopened,
}

/// One entry of an outage's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageUpdate {
    /// Position in the timeline, from 0.
    pub seq: u32,
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub event: OutageEvent,
    /// The service it concerns (started, widened, reopened).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The note's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Who wrote the note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The incident and the position in its timeline a note was copied from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<(i64, u32)>,
}

/// One outage of one or more services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    /// Store-assigned id (1, 2, …; 0 until stored).
    pub id: i64,
    /// The services it covers (keys), in the order they went down.
    pub services: Vec<String>,
    /// The checks at the root of it (names).
    pub roots: BTreeSet<String>,
    /// The monitor's incidents behind it.
    pub incidents: BTreeSet<i64>,
    /// When the first service went down.
    pub started_at: DateTime<Utc>,
    /// When every service was back (`None` while any is down).
    pub back_at: Option<DateTime<Utc>>,
    /// Over: back for the hold time, every broadcast it needed queued.
    pub closed: bool,
    /// The timeline.
    pub updates: Vec<OutageUpdate>,
    /// The broadcasts queued for it ("AUDIENCE/KEY"), so a restart does not queue them again.
    #[serde(default)]
    pub sent: BTreeSet<String>,
}

impl Outage {
    /// A new outage of `service` at `at`.
    pub fn start(
        service: &str,
        roots: BTreeSet<String>,
        incidents: BTreeSet<i64>,
        at: DateTime<Utc>,
    ) -> Self {
        let mut o = Self {
            id: 0,
            services: vec![service.to_owned()],
            roots,
            incidents,
            started_at: at,
            back_at: None,
            closed: false,
            updates: Vec::new(),
            sent: BTreeSet::new(),
        };
        o.push(OutageEvent::Started, Some(service), None, None, at);
        o
    }

    /// Appends to the timeline.
    pub fn push(
        &mut self,
        event: OutageEvent,
        service: Option<&str>,
        text: Option<&str>,
        by: Option<&str>,
        at: DateTime<Utc>,
    ) {
        self.updates.push(OutageUpdate {
            seq: self.updates.len() as u32,
            at,
            event,
            service: service.map(str::to_owned),
            text: text.map(str::to_owned),
            by: by.map(str::to_owned),
            from: None,
        });
    }

    /// Copies the notes of `incident` it does not have yet into its timeline (notes are written
    /// on incidents, by any process; the monitor carries them over). Returns whether it changed.
    pub fn take_notes(&mut self, incident: &crate::Incident) -> bool {
        let mut changed = false;
        for u in &incident.updates {
            if u.kind != crate::UpdateKind::Note {
                continue;
            }
            let from = Some((incident.id, u.seq));
            if self.updates.iter().any(|x| x.from == from) {
                continue;
            }
            self.push(
                OutageEvent::Note,
                None,
                Some(&u.message),
                u.by.as_deref(),
                u.at,
            );
            if let Some(last) = self.updates.last_mut() {
                last.from = from;
            }
            changed = true;
        }
        changed
    }

    /// Whether any of its services is down now.
    pub fn is_down(&self) -> bool {
        self.back_at.is_none() && !self.closed
    }

    /// The spans it was down, from the timeline: `(from, until)`, `until` `None` while down.
    pub fn down_spans(&self) -> Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> {
        let mut spans: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = Vec::new();
        for u in &self.updates {
            match u.event {
                OutageEvent::Started | OutageEvent::Reopened => spans.push((u.at, None)),
                OutageEvent::Back => {
                    if let Some(last) = spans.last_mut()
                        && last.1.is_none()
                    {
                        last.1 = Some(u.at);
                    }
                }
                OutageEvent::Widened | OutageEvent::Note => {}
            }
        }
        spans
    }

    /// How long it has lasted (to `back_at`, or to `now` while down).
    pub fn duration(&self, now: DateTime<Utc>) -> Duration {
        (self.back_at.unwrap_or(now) - self.started_at)
            .to_std()
            .unwrap_or_default()
    }

    /// When a service joined it (its first "started", "widened" or "reopened").
    pub fn joined_at(&self, service: &str) -> Option<DateTime<Utc>> {
        self.updates
            .iter()
            .find(|u| {
                matches!(u.event, OutageEvent::Started | OutageEvent::Widened)
                    && u.service.as_deref() == Some(service)
            })
            .map(|u| u.at)
    }
}

/// A service's state as [`track`] needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceView {
    /// Its key.
    pub key: String,
    /// Its state.
    pub state: ServiceState,
    /// Since when.
    pub since: Option<DateTime<Utc>>,
    /// The checks at the root of its failure (its own failing checks, or the checks they
    /// depend on that are down).
    pub roots: BTreeSet<String>,
    /// The incidents behind its failure.
    pub incidents: BTreeSet<i64>,
}

/// Brings `outages` (the ones not closed) up to date with the services' states at `now`:
/// starts, widens, marks back, reopens and closes. Returns the indexes of the outages changed
/// (new ones are appended with id 0).
pub fn track(
    outages: &mut Vec<Outage>,
    services: &[ServiceView],
    hold: Duration,
    now: DateTime<Utc>,
) -> Vec<usize> {
    let mut changed = BTreeSet::new();
    let hold = chrono::Duration::from_std(hold).unwrap_or(chrono::Duration::MAX);
    for s in services {
        let down = s.state == ServiceState::Down;
        let mine = outages
            .iter()
            .position(|o| !o.closed && o.services.contains(&s.key));
        match (down, mine) {
            (true, Some(i)) => {
                let o = &mut outages[i];
                if o.back_at.is_some() {
                    o.back_at = None;
                    o.push(OutageEvent::Reopened, Some(&s.key), None, None, now);
                    changed.insert(i);
                }
                let before = (o.roots.len(), o.incidents.len());
                o.roots.extend(s.roots.iter().cloned());
                o.incidents.extend(s.incidents.iter().copied());
                if before != (o.roots.len(), o.incidents.len()) {
                    changed.insert(i);
                }
            }
            (true, None) => {
                let since = s.since.unwrap_or(now).min(now);
                // The same cause as an outage going on: it widens.
                let same = outages
                    .iter()
                    .position(|o| !o.closed && !o.roots.is_disjoint(&s.roots));
                match same {
                    Some(i) => {
                        let o = &mut outages[i];
                        if o.back_at.is_some() {
                            o.back_at = None;
                            o.push(OutageEvent::Reopened, Some(&s.key), None, None, now);
                        }
                        o.services.push(s.key.clone());
                        o.roots.extend(s.roots.iter().cloned());
                        o.incidents.extend(s.incidents.iter().copied());
                        o.push(
                            OutageEvent::Widened,
                            Some(&s.key),
                            None,
                            None,
                            since.max(o.started_at),
                        );
                        changed.insert(i);
                    }
                    None => {
                        outages.push(Outage::start(
                            &s.key,
                            s.roots.clone(),
                            s.incidents.clone(),
                            since,
                        ));
                        changed.insert(outages.len() - 1);
                    }
                }
            }
            (false, _) => {}
        }
    }
    for (i, o) in outages.iter_mut().enumerate() {
        if o.closed {
            continue;
        }
        let any_down = o.services.iter().any(|k| {
            services
                .iter()
                .any(|s| s.key == *k && s.state == ServiceState::Down)
        });
        if !any_down && o.back_at.is_none() {
            o.back_at = Some(now);
            o.push(OutageEvent::Back, None, None, None, now);
            changed.insert(i);
        }
        if let Some(back) = o.back_at
            && now - back >= hold
        {
            o.closed = true;
            changed.insert(i);
        }
    }
    changed.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + s, 0).unwrap()
    }

    fn view(key: &str, state: ServiceState, since: i64, roots: &[&str]) -> ServiceView {
        ServiceView {
            key: key.into(),
            state,
            since: Some(at(since)),
            roots: roots.iter().map(|r| r.to_string()).collect(),
            incidents: BTreeSet::new(),
        }
    }

    const HOLD: Duration = Duration::from_secs(600);

    #[test]
    fn starts_widens_goes_back_and_closes_after_the_hold() {
        let mut o = Vec::new();
        let sis = view("sis", ServiceState::Down, 0, &["core-switch"]);
        assert_eq!(
            track(&mut o, std::slice::from_ref(&sis), HOLD, at(10)),
            vec![0]
        );
        assert_eq!(o[0].started_at, at(0));
        assert!(o[0].is_down());
        // Nothing new: nothing changed.
        assert!(track(&mut o, std::slice::from_ref(&sis), HOLD, at(20)).is_empty());
        // Printing goes down behind the same switch: the same outage widens.
        let print = view(
            "print",
            ServiceState::Down,
            25,
            &["core-switch", "printer-a"],
        );
        assert_eq!(
            track(&mut o, &[sis.clone(), print.clone()], HOLD, at(30)),
            vec![0]
        );
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].services, ["sis", "print"]);
        assert_eq!(o[0].updates[1].event, OutageEvent::Widened);
        // Wi-Fi for its own reason: an outage of its own.
        let wifi = view("wifi", ServiceState::Down, 31, &["ap-7"]);
        track(
            &mut o,
            &[sis.clone(), print.clone(), wifi.clone()],
            HOLD,
            at(32),
        );
        assert_eq!(o.len(), 2);
        // SIS back, printing still down: not back yet.
        let up = |v: &ServiceView| ServiceView {
            state: ServiceState::Operational,
            since: None,
            ..v.clone()
        };
        track(
            &mut o,
            &[up(&sis), print.clone(), wifi.clone()],
            HOLD,
            at(40),
        );
        assert!(o[0].is_down());
        track(&mut o, &[up(&sis), up(&print), wifi.clone()], HOLD, at(50));
        assert_eq!(o[0].back_at, Some(at(50)));
        assert!(!o[0].closed);
        track(
            &mut o,
            &[up(&sis), up(&print), wifi.clone()],
            HOLD,
            at(50 + 599),
        );
        assert!(!o[0].closed, "still within the hold");
        track(&mut o, &[up(&sis), up(&print), wifi], HOLD, at(50 + 600));
        assert!(o[0].closed);
        assert_eq!(o[0].down_spans(), vec![(at(0), Some(at(50)))]);
    }

    #[test]
    fn down_again_within_the_hold_is_the_same_outage() {
        let mut o = Vec::new();
        let down = view("sis", ServiceState::Down, 0, &["sis-web"]);
        let up = view("sis", ServiceState::Operational, 0, &[]);
        track(&mut o, std::slice::from_ref(&down), HOLD, at(0));
        track(&mut o, std::slice::from_ref(&up), HOLD, at(100));
        track(
            &mut o,
            &[view("sis", ServiceState::Down, 200, &["sis-web"])],
            HOLD,
            at(200),
        );
        assert_eq!(o.len(), 1);
        assert!(o[0].is_down());
        assert_eq!(o[0].updates.last().unwrap().event, OutageEvent::Reopened);
        assert_eq!(
            o[0].down_spans(),
            vec![(at(0), Some(at(100))), (at(200), None)]
        );
        // Back for good, closed after the hold; the next failure is a new outage.
        track(&mut o, std::slice::from_ref(&up), HOLD, at(300));
        track(&mut o, &[up], HOLD, at(900));
        assert!(o[0].closed);
        track(
            &mut o,
            &[view("sis", ServiceState::Down, 1000, &["sis-web"])],
            HOLD,
            at(1000),
        );
        assert_eq!(o.len(), 2);
    }

    #[test]
    fn degraded_and_maintenance_are_not_outages() {
        let mut o = Vec::new();
        track(
            &mut o,
            &[
                view("a", ServiceState::Degraded, 0, &["x"]),
                view("b", ServiceState::Maintenance, 0, &["y"]),
            ],
            HOLD,
            at(0),
        );
        assert!(o.is_empty());
    }
}
