//! A check's [`CheckState`] as the monitor keeps it: packed, since a district-wide schedule
//! holds one per check.
//!
//! A steady check has nothing open, no recent changes and no flapping record: only its latest
//! status and time and its runs of failures and successes matter. Those are kept inline (40
//! bytes); the alert, the changes within the flap window and the latest change move to a box
//! of their own only while one of them holds something (a check that failed once keeps that
//! box). The whole state is 120 bytes.
//!
//! The cell also holds the latest result shown of the check ([`StateCell::show`],
//! [`StateCell::last`]): one lock and one record instead of two.
//!
//! [`StateCell::lock`] unpacks the state into a [`CheckState`] behind a guard and packs it back
//! when the guard is dropped. Nothing is allocated on either side: the box is taken out of the
//! packed state and kept by the guard, to be filled again or dropped.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::{Mutex, MutexGuard};

use super::LastResult;
use super::state::{Alert, CheckState};
use crate::probe::{Reading, Status};

/// A [`CheckState`] behind a lock, packed (see the module's documentation).
#[derive(Default)]
pub(super) struct StateCell(Mutex<Packed>);

#[derive(Default)]
struct Packed {
    last_at: Option<DateTime<Utc>>,
    consecutive_failures: u32,
    consecutive_successes: u32,
    last_status: Option<Status>,
    flapping: bool,
    /// What a steady check does not have, if this one has it.
    rest: Option<Box<Rest>>,
    /// The latest result's status, or `None` before the first; its other parts follow.
    shown: Option<Status>,
    summary: Box<str>,
    latency_ns: u64,
    shown_at: DateTime<Utc>,
    reading: Option<Arc<Reading>>,
}

impl Packed {
    fn last(&self) -> Option<LastResult> {
        self.shown.map(|status| LastResult {
            status,
            summary: self.summary.clone(),
            latency_ns: self.latency_ns,
            at: self.shown_at,
            reading: self.reading.clone(),
        })
    }
}

/// The parts of a [`CheckState`] that a steady check leaves empty.
#[derive(Default)]
struct Rest {
    alert: Alert,
    changes: VecDeque<DateTime<Utc>>,
    last_change: Option<DateTime<Utc>>,
}

impl Rest {
    fn is_empty(&self) -> bool {
        matches!(self.alert, Alert::Clear) && self.changes.is_empty() && self.last_change.is_none()
    }
}

impl StateCell {
    /// A cell holding `state`.
    #[cfg(test)]
    pub(super) fn new(state: CheckState) -> Self {
        let cell = StateCell::default();
        *cell.lock() = state;
        cell
    }

    /// The latest result shown, if any.
    pub(super) fn last(&self) -> Option<LastResult> {
        self.0.lock().last()
    }

    /// The latest result's summary (empty before the first).
    pub(super) fn summary(&self) -> String {
        self.0.lock().summary.to_string()
    }

    /// Shows a new latest result. Its summary is written over the previous one's when both
    /// have the same length, as a steady check's nearly always do: nothing is allocated.
    pub(super) fn show(
        &self,
        status: Status,
        summary: &str,
        latency_ns: u64,
        at: DateTime<Utc>,
        reading: Option<Arc<Reading>>,
    ) {
        let mut p = self.0.lock();
        let old = std::mem::take(&mut p.summary);
        p.summary = super::reuse_summary(old, summary);
        p.shown = Some(status);
        p.latency_ns = latency_ns;
        p.shown_at = at;
        p.reading = reading;
    }

    /// Shows the result `f` makes of the latest one (under the lock, so nothing comes between).
    pub(super) fn show_with(&self, f: impl FnOnce(Option<LastResult>) -> LastResult) {
        let mut p = self.0.lock();
        let next = f(p.last());
        p.shown = Some(next.status);
        p.summary = next.summary;
        p.latency_ns = next.latency_ns;
        p.shown_at = next.at;
        p.reading = next.reading;
    }

    /// Locks the state; it is packed again when the guard is dropped.
    pub(super) fn lock(&self) -> StateGuard<'_> {
        let mut packed = self.0.lock();
        let mut spare = packed.rest.take();
        let rest = spare.as_deref_mut().map(std::mem::take).unwrap_or_default();
        let state = CheckState {
            last_status: packed.last_status,
            last_at: packed.last_at,
            consecutive_failures: packed.consecutive_failures,
            consecutive_successes: packed.consecutive_successes,
            alert: rest.alert,
            flapping: packed.flapping,
            changes: rest.changes,
            last_change: rest.last_change,
        };
        StateGuard {
            packed,
            state,
            spare,
        }
    }
}

/// A locked, unpacked [`CheckState`] (see [`StateCell::lock`]).
pub(super) struct StateGuard<'a> {
    packed: MutexGuard<'a, Packed>,
    state: CheckState,
    /// The box the state's rest came in, kept to take it back.
    spare: Option<Box<Rest>>,
}

impl Deref for StateGuard<'_> {
    type Target = CheckState;

    fn deref(&self) -> &CheckState {
        &self.state
    }
}

impl DerefMut for StateGuard<'_> {
    fn deref_mut(&mut self) -> &mut CheckState {
        &mut self.state
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        let state = std::mem::take(&mut self.state);
        let rest = Rest {
            alert: state.alert,
            changes: state.changes,
            last_change: state.last_change,
        };
        let packed = &mut *self.packed;
        packed.last_at = state.last_at;
        packed.consecutive_failures = state.consecutive_failures;
        packed.consecutive_successes = state.consecutive_successes;
        packed.last_status = state.last_status;
        packed.flapping = state.flapping;
        packed.rest = if rest.is_empty() {
            None
        } else {
            match self.spare.take() {
                Some(mut spare) => {
                    *spare = rest;
                    Some(spare)
                }
                None => Some(Box::new(rest)),
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::state::Suppression;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn states() -> Vec<CheckState> {
        let steady = CheckState {
            last_status: Some(Status::Ok),
            last_at: Some(at(5)),
            consecutive_successes: 12,
            ..CheckState::default()
        };
        vec![
            CheckState::default(),
            steady.clone(),
            CheckState {
                last_status: Some(Status::Critical),
                consecutive_failures: 3,
                consecutive_successes: 0,
                alert: Alert::Open {
                    status: Status::Critical,
                    since: at(2),
                },
                last_change: Some(at(1)),
                ..steady.clone()
            },
            CheckState {
                alert: Alert::Suppressed {
                    status: Status::Warning,
                    since: at(3),
                    reason: Suppression::Maintenance {
                        window: "summer works".into(),
                    },
                },
                flapping: true,
                changes: [at(1), at(2), at(4)].into(),
                last_change: Some(at(4)),
                ..steady.clone()
            },
            CheckState {
                last_change: Some(at(4)),
                ..steady
            },
        ]
    }

    #[test]
    fn every_state_reads_back_as_it_was_written() {
        for state in states() {
            let cell = StateCell::new(state.clone());
            assert_eq!(*cell.lock(), state);
            // Read again: the guard packed it back whole.
            assert_eq!(*cell.lock(), state);
        }
    }

    #[test]
    fn a_steady_state_keeps_nothing_apart_and_the_rest_goes_when_emptied() {
        let all = states();
        let cell = StateCell::new(all[1].clone());
        assert!(cell.0.lock().rest.is_none());
        *cell.lock() = all[3].clone();
        assert!(cell.0.lock().rest.is_some());
        // Changed in place through the guard, down to a steady state again.
        {
            let mut state = cell.lock();
            state.alert = Alert::Clear;
            state.changes.clear();
            state.last_change = None;
            state.flapping = false;
        }
        assert!(cell.0.lock().rest.is_none());
        assert_eq!(*cell.lock(), all[1]);
    }

    #[test]
    fn the_latest_result_is_kept_beside_the_state() {
        let cell = StateCell::new(states()[2].clone());
        assert!(cell.last().is_none());
        cell.show(Status::Ok, "connected in 0.3 ms", 300_000, at(7), None);
        let summary_at = cell.0.lock().summary.as_ptr();
        cell.show(
            Status::Warning,
            "connected in 9.1 ms",
            9_100_000,
            at(8),
            None,
        );
        let last = cell.last().unwrap();
        assert_eq!(
            (last.status, &*last.summary, last.latency_ns, last.at),
            (Status::Warning, "connected in 9.1 ms", 9_100_000, at(8))
        );
        assert_eq!(
            cell.0.lock().summary.as_ptr(),
            summary_at,
            "written in place"
        );
        // The state is untouched by what is shown, and the other way round.
        assert_eq!(*cell.lock(), states()[2]);
        *cell.lock() = states()[1].clone();
        assert_eq!(cell.last().unwrap().at, at(8));
        cell.show_with(|last| LastResult {
            status: Status::Unknown,
            summary: "not reporting".into(),
            latency_ns: 0,
            at: last.unwrap().at,
            reading: None,
        });
        let last = cell.last().unwrap();
        assert_eq!(
            (last.status, &*last.summary, last.at),
            (Status::Unknown, "not reporting", at(8))
        );
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn the_packed_state_and_latest_result_take_at_most_88_bytes_with_their_lock() {
        assert!(size_of::<Mutex<Packed>>() <= 88, "{}", size_of::<Packed>());
    }
}
