//! The per-check state machine: hysteresis, flap damping, dependency and maintenance
//! suppression. Pure: driven by (state, observation status, time, gate), no I/O, no sleeping.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::probe::Status;

/// Thresholds and flap detection for one check.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StatePolicy {
    /// Consecutive failing observations that open an incident (default 2).
    #[serde(default = "default_failure_threshold")]
    pub failure_threshold: u32,
    /// Consecutive ok observations that close it (default 2).
    #[serde(default = "default_success_threshold")]
    pub success_threshold: u32,
    /// Flap detection.
    #[serde(default)]
    pub flapping: FlapPolicy,
}

fn default_failure_threshold() -> u32 {
    2
}
fn default_success_threshold() -> u32 {
    2
}

impl Default for StatePolicy {
    fn default() -> Self {
        Self {
            failure_threshold: default_failure_threshold(),
            success_threshold: default_success_threshold(),
            flapping: FlapPolicy::default(),
        }
    }
}

/// When a check counts as flapping.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FlapPolicy {
    /// Ok↔failing changes within `window` that mean flapping (default 6; 0 disables).
    #[serde(default = "default_flap_changes")]
    pub max_changes: u32,
    /// The window changes are counted in (default 10 min).
    #[serde(default = "default_flap_window", with = "humantime_serde_compat")]
    pub window: Duration,
    /// How long without a change ends flapping (default 10 min).
    #[serde(default = "default_flap_window", with = "humantime_serde_compat")]
    pub stable_for: Duration,
}

fn default_flap_changes() -> u32 {
    6
}
fn default_flap_window() -> Duration {
    Duration::from_secs(600)
}

impl Default for FlapPolicy {
    fn default() -> Self {
        Self {
            max_changes: default_flap_changes(),
            window: default_flap_window(),
            stable_for: default_flap_window(),
        }
    }
}

mod humantime_serde_compat {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        crate::config::parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

/// Why a failing check is not notified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "lowercase")]
pub enum Suppression {
    /// A check it depends on is down.
    Dependency {
        /// The parent that is down.
        parent: String,
    },
    /// A maintenance window is active.
    Maintenance {
        /// The window's name.
        window: String,
    },
}

/// Where a check's alerting stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Alert {
    /// Nothing to tell.
    #[default]
    Clear,
    /// An incident is open.
    Open {
        /// The latest failing status.
        status: Status,
        /// When it opened.
        since: DateTime<Utc>,
    },
    /// Failing past the threshold, but silenced.
    Suppressed {
        /// The latest failing status.
        status: Status,
        /// Since when.
        since: DateTime<Utc>,
        /// Why.
        reason: Suppression,
    },
}

/// A change worth recording (and, for most, notifying).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transition {
    /// The failure threshold was reached: open an incident.
    Opened {
        /// The failing status.
        status: Status,
    },
    /// Still failing, worse than before.
    Worsened {
        /// Before.
        from: Status,
        /// Now.
        to: Status,
    },
    /// Still failing, better than before.
    Improved {
        /// Before.
        from: Status,
        /// Now.
        to: Status,
    },
    /// The success threshold was reached: resolve the incident.
    Recovered,
    /// The failure threshold was reached but notification is suppressed.
    Suppressed {
        /// The failing status.
        status: Status,
        /// Why.
        reason: Suppression,
    },
    /// A suppressed failure ended (recovered, or still failing once released: then an
    /// `Opened` follows).
    Released,
    /// Too many ok↔failing changes in the window.
    FlappingStarted {
        /// How many changes were counted.
        changes: u32,
        /// The latest status.
        status: Status,
    },
    /// Stable again after flapping, with this status (an incident stays open if failing).
    FlappingStopped {
        /// The status it settled on.
        status: Status,
    },
}

/// The state of one check, saved in the store so a restart resumes it.
///
/// All methods are pure functions of the state, the policy, the observed status, the time and
/// the gate (the reason to suppress notifications, when there is one): no I/O, no sleeping.
///
/// # Contract with the monitor
///
/// - `Opened` opens an incident; `Worsened`/`Improved` update it; `Recovered` resolves it.
/// - `Suppressed` and `Released` are recorded, never notified. A `Released` is followed by an
///   `Opened` when the check is still failing past the threshold once released.
/// - `FlappingStarted` leaves [`Alert::Open`] set when no suppression applies: the monitor opens
///   one incident marked flapping (or marks the open one). When the check is
///   [`Alert::Suppressed`], the flapping is only recorded; if the suppression lifts while the
///   check is still flapping, `Released` is followed by a new `FlappingStarted` and the alert
///   is then open.
/// - While flapping, `Opened`, `Recovered`, `Worsened`, `Improved` and `Suppressed` are not
///   emitted (counters and the alert's status still track); an open alert stays open.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CheckState {
    /// The latest observed status.
    pub last_status: Option<Status>,
    /// When the latest observation was made.
    pub last_at: Option<DateTime<Utc>>,
    /// Failing observations in a row.
    pub consecutive_failures: u32,
    /// Ok observations in a row.
    pub consecutive_successes: u32,
    /// Where alerting stands.
    pub alert: Alert,
    /// Whether the check is flapping.
    pub flapping: bool,
    /// When ok↔failing changes happened within the flap window.
    pub changes: VecDeque<DateTime<Utc>>,
    /// When the latest ok↔failing change happened (kept even after it left the flap window,
    /// so the end of flapping can be told when `stable_for` is longer than `window`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change: Option<DateTime<Utc>>,
}

/// What of a [`CheckState`] with nothing to tell must be saved for a restart: see
/// [`CheckState::steady_mark`].
pub(crate) type SteadyMark = (Option<Status>, u32, bool, usize, Option<DateTime<Utc>>);

impl CheckState {
    /// While alerting is clear, what a restart needs from this state: the status, the failures
    /// counted towards the threshold and the flapping record. Two equal marks mean nothing
    /// worth saving changed (the time of the latest run and the run of successes do not matter
    /// while nothing is open). `None` while an incident is open or suppressed: then every
    /// change is saved.
    pub(crate) fn steady_mark(&self) -> Option<SteadyMark> {
        matches!(self.alert, Alert::Clear).then(|| {
            (
                self.last_status,
                self.consecutive_failures,
                self.flapping,
                self.changes.len(),
                self.last_change,
            )
        })
    }

    /// Whether this state, whose steady mark before the latest observation was `before` and
    /// which that observation moved with `transitions`, must be saved again.
    pub(crate) fn needs_saving(
        &self,
        before: Option<SteadyMark>,
        transitions: &[Transition],
    ) -> bool {
        !transitions.is_empty() || before.is_none() || before != self.steady_mark()
    }

    /// Feeds one observation's status.
    ///
    /// `gate` is the reason notifications are suppressed right now (a parent down, a
    /// maintenance window), if any. It only matters when a new failure reaches the threshold
    /// (it suppresses instead of opening) and while suppressed (its absence releases); it never
    /// suppresses an incident that is already open.
    pub fn observe(
        &mut self,
        policy: &StatePolicy,
        status: Status,
        now: DateTime<Utc>,
        gate: Option<&Suppression>,
    ) -> Vec<Transition> {
        let mut out = Vec::new();
        let failing = status.is_failure();
        let previous = self.last_status;
        let changed = matches!(previous, Some(prev) if prev.is_failure() != failing);

        self.last_status = Some(status);
        self.last_at = Some(now);
        if failing {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.consecutive_successes = 0;
        } else {
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
            self.consecutive_failures = 0;
        }
        self.track_changes(policy, changed, now);

        if self.flapping {
            if self.flapping_is_over(policy, now) {
                self.flapping = false;
                self.changes.clear();
                out.push(Transition::FlappingStopped { status });
                self.settle_after_flapping(policy, status, now, gate, &mut out);
            } else {
                self.track_while_flapping(status, now, gate, &mut out);
            }
            return out;
        }

        if self.flapping_starts(policy) {
            self.flapping = true;
            self.start_flapping(status, previous, now, gate, &mut out);
            return out;
        }

        self.evaluate(policy, status, now, gate, &mut out);
        out
    }

    /// Re-evaluates a suppressed check after its gate changed.
    ///
    /// Called when a parent recovers or a maintenance window starts or ends. A suppressed
    /// check without a gate any more is released: `Released` then `Opened` when it is still
    /// failing past the threshold (the incident opens now), `Released` alone otherwise (back
    /// to clear). With a gate, a suppressed check only takes the new reason, silently. Any
    /// other state is left alone.
    pub fn reevaluate(
        &mut self,
        policy: &StatePolicy,
        now: DateTime<Utc>,
        gate: Option<&Suppression>,
    ) -> Vec<Transition> {
        let mut out = Vec::new();
        if let Alert::Suppressed { reason, .. } = &mut self.alert {
            match gate {
                Some(gate) => *reason = gate.clone(),
                None => self.release(policy, now, &mut out),
            }
        }
        out
    }

    /// Whether this check counts as down for its dependants.
    pub fn is_down(&self) -> bool {
        matches!(self.alert, Alert::Open { .. } | Alert::Suppressed { .. })
            || self.last_status.is_some_and(Status::is_failure)
    }

    /// Whether observing `status` now, without a gate, would open an incident.
    pub fn would_open(&self, policy: &StatePolicy, status: Status) -> bool {
        matches!(self.alert, Alert::Clear)
            && !self.flapping
            && status.is_failure()
            && self.consecutive_failures.saturating_add(1) >= failure_threshold(policy)
    }

    /// Records an ok↔failing change and forgets the changes that left the flap window.
    fn track_changes(&mut self, policy: &StatePolicy, changed: bool, now: DateTime<Utc>) {
        if changed {
            self.last_change = Some(now);
        }
        if policy.flapping.max_changes == 0 {
            self.changes.clear();
            return;
        }
        if changed {
            self.changes.push_back(now);
        }
        let window = to_delta(policy.flapping.window);
        while let Some(&at) = self.changes.front() {
            if now - at > window {
                self.changes.pop_front();
            } else {
                break;
            }
        }
    }

    fn flapping_starts(&self, policy: &StatePolicy) -> bool {
        let max = policy.flapping.max_changes;
        max > 0 && self.changes.len() >= max as usize
    }

    /// Whether no change happened for `stable_for` (or flap detection was turned off).
    fn flapping_is_over(&self, policy: &StatePolicy, now: DateTime<Utc>) -> bool {
        if policy.flapping.max_changes == 0 {
            return true;
        }
        match self.last_change.or_else(|| self.changes.back().copied()) {
            None => true,
            Some(at) => now - at >= to_delta(policy.flapping.stable_for),
        }
    }

    fn change_count(&self) -> u32 {
        u32::try_from(self.changes.len()).unwrap_or(u32::MAX)
    }

    /// Flapping was just detected.
    fn start_flapping(
        &mut self,
        status: Status,
        previous: Option<Status>,
        now: DateTime<Utc>,
        gate: Option<&Suppression>,
        out: &mut Vec<Transition>,
    ) {
        // The alert keeps the failing side of the flap, even when this observation is ok.
        let failing_status = if status.is_failure() {
            status
        } else {
            previous.filter(|p| p.is_failure()).unwrap_or(status)
        };
        match &mut self.alert {
            // A gate (parent down, maintenance) applies: the flapping is suppressed from the
            // start, recorded but not notified.
            Alert::Clear => {
                self.alert = match gate {
                    Some(reason) => Alert::Suppressed {
                        status: failing_status,
                        since: now,
                        reason: reason.clone(),
                    },
                    None => Alert::Open {
                        status: failing_status,
                        since: now,
                    },
                };
            }
            Alert::Open { status: open, .. } => {
                if status.is_failure() {
                    *open = status;
                }
            }
            Alert::Suppressed {
                status: suppressed,
                reason,
                ..
            } => {
                if status.is_failure() {
                    *suppressed = status;
                }
                match gate {
                    Some(gate) => *reason = gate.clone(),
                    None => {
                        // The gate went away at the same moment: released into flapping.
                        out.push(Transition::Released);
                        self.alert = Alert::Open {
                            status: failing_status,
                            since: now,
                        };
                    }
                }
            }
        }
        out.push(Transition::FlappingStarted {
            changes: self.change_count(),
            status,
        });
    }

    /// Still flapping: the alert's status follows silently; only a lifted gate speaks.
    fn track_while_flapping(
        &mut self,
        status: Status,
        now: DateTime<Utc>,
        gate: Option<&Suppression>,
        out: &mut Vec<Transition>,
    ) {
        match &mut self.alert {
            Alert::Clear => {}
            Alert::Open { status: open, .. } => {
                if status.is_failure() {
                    *open = status;
                }
            }
            Alert::Suppressed {
                status: suppressed,
                reason,
                ..
            } => {
                if status.is_failure() {
                    *suppressed = status;
                }
                match gate {
                    Some(gate) => *reason = gate.clone(),
                    None => self.release_into_flapping(now, out),
                }
            }
        }
    }

    /// Flapping just stopped: settle the alert on the status it stopped with.
    fn settle_after_flapping(
        &mut self,
        policy: &StatePolicy,
        status: Status,
        now: DateTime<Utc>,
        gate: Option<&Suppression>,
        out: &mut Vec<Transition>,
    ) {
        match &mut self.alert {
            Alert::Clear => {
                if status.is_failure() && self.consecutive_failures >= failure_threshold(policy) {
                    self.open_or_suppress(status, now, gate, out);
                }
            }
            Alert::Open { status: open, .. } => {
                if status.is_failure() {
                    *open = status;
                } else {
                    self.alert = Alert::Clear;
                    out.push(Transition::Recovered);
                }
            }
            Alert::Suppressed {
                status: suppressed,
                reason,
                ..
            } => {
                if !status.is_failure() {
                    self.alert = Alert::Clear;
                    out.push(Transition::Released);
                } else {
                    *suppressed = status;
                    match gate {
                        Some(gate) => *reason = gate.clone(),
                        None => self.release(policy, now, out),
                    }
                }
            }
        }
    }

    /// Hysteresis, outside flapping.
    fn evaluate(
        &mut self,
        policy: &StatePolicy,
        status: Status,
        now: DateTime<Utc>,
        gate: Option<&Suppression>,
        out: &mut Vec<Transition>,
    ) {
        match &mut self.alert {
            Alert::Clear => {
                if status.is_failure() && self.consecutive_failures >= failure_threshold(policy) {
                    self.open_or_suppress(status, now, gate, out);
                }
            }
            Alert::Open { status: open, .. } => {
                if status.is_failure() {
                    let from = *open;
                    if status.severity() > from.severity() {
                        out.push(Transition::Worsened { from, to: status });
                    } else if status.severity() < from.severity() {
                        out.push(Transition::Improved { from, to: status });
                    }
                    *open = status;
                } else if self.consecutive_successes >= success_threshold(policy) {
                    self.alert = Alert::Clear;
                    out.push(Transition::Recovered);
                }
            }
            Alert::Suppressed {
                status: suppressed,
                reason,
                ..
            } => {
                if status.is_failure() {
                    *suppressed = status;
                    match gate {
                        Some(gate) => *reason = gate.clone(),
                        None => self.release(policy, now, out),
                    }
                } else if self.consecutive_successes >= success_threshold(policy) {
                    self.alert = Alert::Clear;
                    out.push(Transition::Released);
                }
            }
        }
    }

    fn open_or_suppress(
        &mut self,
        status: Status,
        now: DateTime<Utc>,
        gate: Option<&Suppression>,
        out: &mut Vec<Transition>,
    ) {
        match gate {
            None => {
                self.alert = Alert::Open { status, since: now };
                out.push(Transition::Opened { status });
            }
            Some(reason) => {
                self.alert = Alert::Suppressed {
                    status,
                    since: now,
                    reason: reason.clone(),
                };
                out.push(Transition::Suppressed {
                    status,
                    reason: reason.clone(),
                });
            }
        }
    }

    /// Releases a suppressed alert whose gate went away.
    fn release(&mut self, policy: &StatePolicy, now: DateTime<Utc>, out: &mut Vec<Transition>) {
        if self.flapping {
            self.release_into_flapping(now, out);
            return;
        }
        out.push(Transition::Released);
        match self.last_status {
            Some(status)
                if status.is_failure()
                    && self.consecutive_failures >= failure_threshold(policy) =>
            {
                self.alert = Alert::Open { status, since: now };
                out.push(Transition::Opened { status });
            }
            _ => self.alert = Alert::Clear,
        }
    }

    /// Releases a suppressed alert while the check is flapping: the flapping incident opens now.
    fn release_into_flapping(&mut self, now: DateTime<Utc>, out: &mut Vec<Transition>) {
        let Alert::Suppressed { status, .. } = self.alert else {
            return;
        };
        out.push(Transition::Released);
        self.alert = Alert::Open { status, since: now };
        out.push(Transition::FlappingStarted {
            changes: self.change_count(),
            status: self.last_status.unwrap_or(status),
        });
    }
}

/// Thresholds of 0 behave as 1.
fn failure_threshold(policy: &StatePolicy) -> u32 {
    policy.failure_threshold.max(1)
}

fn success_threshold(policy: &StatePolicy) -> u32 {
    policy.success_threshold.max(1)
}

fn to_delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    use Status::{Critical, Ok, Unknown, Warning};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 9, 1, 8, 0, 0).unwrap()
    }

    /// Virtual time: `m` minutes after `t0`.
    fn at(m: i64) -> DateTime<Utc> {
        t0() + TimeDelta::minutes(m)
    }

    fn policy(failures: u32, successes: u32) -> StatePolicy {
        StatePolicy {
            failure_threshold: failures,
            success_threshold: successes,
            flapping: FlapPolicy {
                max_changes: 0,
                ..FlapPolicy::default()
            },
        }
    }

    fn flap_policy(max_changes: u32, window_min: u64, stable_min: u64) -> StatePolicy {
        StatePolicy {
            failure_threshold: 2,
            success_threshold: 2,
            flapping: FlapPolicy {
                max_changes,
                window: Duration::from_secs(window_min * 60),
                stable_for: Duration::from_secs(stable_min * 60),
            },
        }
    }

    fn dep(parent: &str) -> Suppression {
        Suppression::Dependency {
            parent: parent.into(),
        }
    }

    fn maint(window: &str) -> Suppression {
        Suppression::Maintenance {
            window: window.into(),
        }
    }

    /// Feeds `statuses` one minute apart starting at minute `from`; returns every transition.
    fn feed(
        state: &mut CheckState,
        policy: &StatePolicy,
        from: i64,
        statuses: &[Status],
    ) -> Vec<Transition> {
        let mut all = Vec::new();
        for (i, s) in statuses.iter().enumerate() {
            all.extend(state.observe(policy, *s, at(from + i as i64), None));
        }
        all
    }

    /// A state saved only when its steady mark changes (or while something is open) behaves
    /// after a restart exactly as the live one would: the same transitions for what follows.
    #[test]
    fn a_state_saved_only_on_a_changed_mark_restarts_the_same() {
        let histories: [&[Status]; 5] = [
            &[Ok, Ok, Ok, Ok, Ok, Ok],
            &[Ok, Critical, Ok, Ok, Ok, Ok, Ok],
            &[Critical, Critical, Critical, Ok, Ok, Ok, Ok],
            &[Ok, Warning, Warning, Warning, Warning],
            &[Ok, Critical, Ok, Critical, Ok, Ok, Ok, Ok],
        ];
        let futures: [&[Status]; 4] = [
            &[Ok, Ok],
            &[Critical, Critical, Critical],
            &[Critical, Ok, Critical, Ok, Critical, Critical],
            &[Warning, Ok, Ok, Ok],
        ];
        for policy in [policy(2, 2), policy(1, 3), flap_policy(3, 10, 5)] {
            for history in histories {
                let mut live = CheckState::default();
                let mut saved = CheckState::default();
                let mut writes = 0;
                for (i, status) in history.iter().enumerate() {
                    let before = live.steady_mark();
                    let t = live.observe(&policy, *status, at(i as i64), None);
                    if live.needs_saving(before, &t) {
                        saved = live.clone();
                        writes += 1;
                    }
                }
                for future in futures {
                    let from = history.len() as i64;
                    let (mut a, mut b) = (live.clone(), saved.clone());
                    assert_eq!(
                        feed(&mut a, &policy, from, future),
                        feed(&mut b, &policy, from, future),
                        "{policy:?} {history:?} then {future:?}"
                    );
                    assert_eq!((a.alert, a.flapping), (b.alert, b.flapping));
                }
                if history.iter().all(|s| *s == Ok) {
                    assert_eq!(writes, 1, "a steady check is saved once");
                }
            }
        }
    }

    fn open_state(policy: &StatePolicy, status: Status) -> CheckState {
        let mut s = CheckState::default();
        let n = policy.failure_threshold.max(1);
        for i in 0..n {
            s.observe(policy, status, at(i64::from(i)), None);
        }
        assert!(matches!(s.alert, Alert::Open { .. }), "{s:?}");
        s
    }

    #[test]
    fn opens_exactly_at_the_failure_threshold() {
        let p = policy(3, 2);
        let mut s = CheckState::default();
        assert!(!s.would_open(&p, Critical));
        assert_eq!(s.observe(&p, Critical, at(0), None), vec![]);
        assert_eq!(s.consecutive_failures, 1);
        assert!(!s.would_open(&p, Critical));
        // One short: still clear.
        assert_eq!(s.observe(&p, Critical, at(1), None), vec![]);
        assert_eq!(s.alert, Alert::Clear);
        assert!(s.would_open(&p, Critical));
        assert!(s.would_open(&p, Warning));
        assert!(!s.would_open(&p, Ok));
        // Exactly at the threshold.
        assert_eq!(
            s.observe(&p, Critical, at(2), None),
            vec![Transition::Opened { status: Critical }]
        );
        assert_eq!(
            s.alert,
            Alert::Open {
                status: Critical,
                since: at(2)
            }
        );
        assert!(!s.would_open(&p, Critical), "already open");
        assert_eq!(s.last_status, Some(Critical));
        assert_eq!(s.last_at, Some(at(2)));
    }

    #[test]
    fn an_ok_resets_the_failure_count() {
        let p = policy(2, 2);
        let mut s = CheckState::default();
        let all = feed(&mut s, &p, 0, &[Critical, Ok, Critical, Ok, Warning]);
        assert_eq!(all, vec![]);
        assert_eq!(s.alert, Alert::Clear);
        assert_eq!(s.consecutive_failures, 1);
        assert_eq!(s.consecutive_successes, 0);
        assert_eq!(
            s.observe(&p, Unknown, at(5), None),
            vec![Transition::Opened { status: Unknown }]
        );
    }

    #[test]
    fn mixed_failing_statuses_count_together() {
        let p = policy(2, 2);
        let mut s = CheckState::default();
        assert_eq!(s.observe(&p, Warning, at(0), None), vec![]);
        assert_eq!(
            s.observe(&p, Critical, at(1), None),
            vec![Transition::Opened { status: Critical }]
        );
    }

    #[test]
    fn zero_thresholds_behave_as_one() {
        let p = policy(0, 0);
        let mut s = CheckState::default();
        assert!(s.would_open(&p, Warning));
        assert_eq!(
            s.observe(&p, Warning, at(0), None),
            vec![Transition::Opened { status: Warning }]
        );
        assert_eq!(s.observe(&p, Ok, at(1), None), vec![Transition::Recovered]);
        assert_eq!(s.alert, Alert::Clear);
    }

    #[test]
    fn closes_exactly_at_the_success_threshold() {
        let p = policy(1, 3);
        let mut s = open_state(&p, Critical);
        assert_eq!(s.observe(&p, Ok, at(10), None), vec![]);
        assert_eq!(s.observe(&p, Ok, at(11), None), vec![]);
        // One short: still open, still down for dependants.
        assert!(matches!(s.alert, Alert::Open { .. }));
        assert!(s.is_down());
        assert_eq!(s.consecutive_successes, 2);
        assert_eq!(s.observe(&p, Ok, at(12), None), vec![Transition::Recovered]);
        assert_eq!(s.alert, Alert::Clear);
        assert!(!s.is_down());
        // Staying ok says nothing more.
        assert_eq!(s.observe(&p, Ok, at(13), None), vec![]);
    }

    #[test]
    fn a_failure_resets_the_success_count_while_open() {
        let p = policy(1, 2);
        let mut s = open_state(&p, Critical);
        assert_eq!(s.observe(&p, Ok, at(10), None), vec![]);
        assert_eq!(s.observe(&p, Critical, at(11), None), vec![]);
        assert_eq!(s.consecutive_successes, 0);
        assert_eq!(s.observe(&p, Ok, at(12), None), vec![]);
        assert!(matches!(s.alert, Alert::Open { .. }));
        assert_eq!(s.observe(&p, Ok, at(13), None), vec![Transition::Recovered]);
    }

    #[test]
    fn worsens_and_improves_while_open() {
        let p = policy(1, 2);
        let mut s = open_state(&p, Warning);
        assert_eq!(
            s.observe(&p, Critical, at(5), None),
            vec![Transition::Worsened {
                from: Warning,
                to: Critical
            }]
        );
        // Same status again: nothing.
        assert_eq!(s.observe(&p, Critical, at(6), None), vec![]);
        // Unknown ranks below critical.
        assert_eq!(
            s.observe(&p, Unknown, at(7), None),
            vec![Transition::Improved {
                from: Critical,
                to: Unknown
            }]
        );
        assert_eq!(
            s.observe(&p, Warning, at(8), None),
            vec![Transition::Improved {
                from: Unknown,
                to: Warning
            }]
        );
        // The incident keeps its opening time and follows the status.
        assert_eq!(
            s.alert,
            Alert::Open {
                status: Warning,
                since: at(0)
            }
        );
        // A single ok between failures does not count as improved.
        assert_eq!(s.observe(&p, Ok, at(9), None), vec![]);
        assert_eq!(
            s.observe(&p, Critical, at(10), None),
            vec![Transition::Worsened {
                from: Warning,
                to: Critical
            }]
        );
    }

    #[test]
    fn flapping_starts_once_and_keeps_quiet() {
        let p = flap_policy(4, 10, 5);
        let mut s = CheckState::default();
        // The first observation is not a change; four changes follow.
        let all = feed(&mut s, &p, 0, &[Ok, Critical, Ok, Critical]);
        assert_eq!(all, vec![]);
        assert_eq!(s.changes.len(), 3);
        assert!(!s.flapping);
        assert_eq!(
            s.observe(&p, Ok, at(4), None),
            vec![Transition::FlappingStarted {
                changes: 4,
                status: Ok
            }]
        );
        assert!(s.flapping);
        // One incident for the flapping, holding the failing side.
        assert_eq!(
            s.alert,
            Alert::Open {
                status: Critical,
                since: at(4)
            }
        );
        // Quiet while flapping: would-be Opened, Worsened, Improved and Recovered.
        let all = feed(
            &mut s,
            &p,
            5,
            &[Warning, Warning, Critical, Warning, Ok, Ok, Critical, Ok],
        );
        assert_eq!(all, vec![], "nothing while flapping");
        assert!(s.flapping);
        assert!(matches!(s.alert, Alert::Open { .. }), "stays open on oks");
        // Counters still track.
        assert_eq!(s.consecutive_successes, 1);
        assert_eq!(s.consecutive_failures, 0);
        assert!(!s.would_open(&p, Critical));
    }

    #[test]
    fn flapping_starting_while_open_keeps_the_incident() {
        let mut p = flap_policy(3, 10, 5);
        p.failure_threshold = 1;
        p.success_threshold = 1;
        let mut s = CheckState::default();
        assert_eq!(
            s.observe(&p, Critical, at(0), None),
            vec![Transition::Opened { status: Critical }]
        );
        assert_eq!(s.observe(&p, Ok, at(1), None), vec![Transition::Recovered]);
        assert_eq!(
            s.observe(&p, Warning, at(2), None),
            vec![Transition::Opened { status: Warning }]
        );
        // The third change would recover: flapping instead, and the incident stays open.
        assert_eq!(
            s.observe(&p, Ok, at(3), None),
            vec![Transition::FlappingStarted {
                changes: 3,
                status: Ok
            }]
        );
        assert_eq!(
            s.alert,
            Alert::Open {
                status: Warning,
                since: at(2)
            }
        );
    }

    #[test]
    fn changes_outside_the_window_do_not_count() {
        let p = flap_policy(3, 10, 5);
        let mut s = CheckState::default();
        // Changes 6 minutes apart: at most two within any 10 minutes.
        for (i, st) in [Ok, Critical, Ok, Critical, Ok, Critical, Ok]
            .into_iter()
            .enumerate()
        {
            let out = s.observe(&p, st, at(i as i64 * 6), None);
            assert!(
                !out.iter()
                    .any(|t| matches!(t, Transition::FlappingStarted { .. })),
                "{out:?}"
            );
        }
        assert!(!s.flapping);
        assert!(s.changes.len() <= 2, "{:?}", s.changes);
        // An entry exactly `window` old still counts; one older does not.
        let mut s = CheckState::default();
        s.observe(&p, Ok, at(0), None);
        s.observe(&p, Critical, at(1), None);
        s.observe(&p, Ok, at(2), None);
        assert_eq!(s.observe(&p, Ok, at(11), None), vec![]);
        assert_eq!(s.changes.len(), 2);
        assert_eq!(
            s.observe(&p, Critical, at(12), None),
            vec![],
            "the change at minute 1 is 11 minutes old"
        );
        assert_eq!(s.changes.len(), 2);
    }

    #[test]
    fn flapping_disabled_with_zero_changes() {
        let mut p = flap_policy(0, 10, 5);
        p.failure_threshold = 1;
        p.success_threshold = 1;
        let mut s = CheckState::default();
        let all = feed(&mut s, &p, 0, &[Critical, Ok, Critical, Ok, Critical, Ok]);
        assert_eq!(all.len(), 6, "{all:?}");
        assert!(!s.flapping);
        assert!(s.changes.is_empty());
    }

    /// A check that started flapping at minute 4 (last change at minute 4, status ok).
    fn flapping_state(p: &StatePolicy) -> CheckState {
        let mut s = CheckState::default();
        let all = feed(&mut s, p, 0, &[Ok, Critical, Ok, Critical, Ok]);
        assert_eq!(
            all,
            vec![Transition::FlappingStarted {
                changes: 4,
                status: Ok
            }]
        );
        s
    }

    #[test]
    fn flapping_stops_after_stable_for_and_recovers() {
        let p = flap_policy(4, 10, 5);
        let mut s = flapping_state(&p);
        // Ok from minute 4 on; one short of 5 minutes stable.
        assert_eq!(s.observe(&p, Ok, at(6), None), vec![]);
        assert_eq!(s.observe(&p, Ok, at(8), None), vec![]);
        assert!(s.flapping);
        assert_eq!(
            s.observe(&p, Ok, at(9), None),
            vec![
                Transition::FlappingStopped { status: Ok },
                Transition::Recovered
            ]
        );
        assert!(!s.flapping);
        assert_eq!(s.alert, Alert::Clear);
        assert!(s.changes.is_empty(), "a new flap starts counting afresh");
        // Back to normal hysteresis.
        assert_eq!(s.observe(&p, Critical, at(10), None), vec![]);
        assert_eq!(
            s.observe(&p, Critical, at(11), None),
            vec![Transition::Opened { status: Critical }]
        );
    }

    #[test]
    fn flapping_stops_failing_and_the_incident_stays_open() {
        let p = flap_policy(4, 10, 5);
        let mut s = flapping_state(&p);
        // A fifth change at minute 5, then failing for good.
        assert_eq!(s.observe(&p, Warning, at(5), None), vec![]);
        assert_eq!(s.observe(&p, Critical, at(7), None), vec![]);
        assert_eq!(s.observe(&p, Critical, at(9), None), vec![]);
        assert!(s.flapping, "4 minutes since the last change");
        assert_eq!(
            s.observe(&p, Critical, at(10), None),
            vec![Transition::FlappingStopped { status: Critical }]
        );
        assert!(!s.flapping);
        assert_eq!(
            s.alert,
            Alert::Open {
                status: Critical,
                since: at(4)
            }
        );
        // Normal rules again: recovery after two oks.
        assert_eq!(s.observe(&p, Ok, at(11), None), vec![]);
        assert_eq!(s.observe(&p, Ok, at(12), None), vec![Transition::Recovered]);
    }

    #[test]
    fn flapping_stops_failing_from_clear_and_opens() {
        // A stored state: flapping, nothing open (e.g. opened before an upgrade).
        let p = flap_policy(4, 10, 5);
        let mut s = CheckState {
            last_status: Some(Critical),
            last_at: Some(at(0)),
            consecutive_failures: 1,
            flapping: true,
            changes: [at(0)].into_iter().collect(),
            last_change: Some(at(0)),
            ..CheckState::default()
        };
        assert_eq!(s.observe(&p, Critical, at(3), None), vec![]);
        assert_eq!(
            s.observe(&p, Critical, at(5), None),
            vec![
                Transition::FlappingStopped { status: Critical },
                Transition::Opened { status: Critical }
            ]
        );
        // The same with a gate: suppressed instead.
        let mut s2 = CheckState {
            alert: Alert::Clear,
            ..s.clone()
        };
        s2.flapping = true;
        s2.last_change = Some(at(5));
        assert_eq!(
            s2.observe(&p, Critical, at(10), Some(&dep("router"))),
            vec![
                Transition::FlappingStopped { status: Critical },
                Transition::Suppressed {
                    status: Critical,
                    reason: dep("router")
                }
            ]
        );
        // And below the threshold: nothing opens.
        let mut s3 = CheckState {
            last_status: Some(Ok),
            consecutive_successes: 1,
            flapping: true,
            last_change: Some(at(0)),
            ..CheckState::default()
        };
        assert_eq!(
            s3.observe(&p, Critical, at(6), None),
            vec![],
            "a change restarts the stable period"
        );
        assert_eq!(
            s3.observe(&p, Critical, at(11), None),
            vec![
                Transition::FlappingStopped { status: Critical },
                Transition::Opened { status: Critical }
            ]
        );
    }

    #[test]
    fn stable_for_longer_than_the_window() {
        let p = flap_policy(4, 5, 15);
        let mut s = flapping_state(&p);
        // At minute 12 the flap window holds no change any more, but 15 minutes have not passed.
        assert_eq!(s.observe(&p, Ok, at(12), None), vec![]);
        assert!(s.changes.is_empty());
        assert!(s.flapping);
        assert_eq!(
            s.observe(&p, Ok, at(19), None),
            vec![
                Transition::FlappingStopped { status: Ok },
                Transition::Recovered
            ]
        );
    }

    #[test]
    fn dependency_suppression_then_release_still_failing() {
        let p = policy(2, 2);
        let gate = dep("core-switch");
        let mut s = CheckState::default();
        assert_eq!(s.observe(&p, Critical, at(0), Some(&gate)), vec![]);
        assert_eq!(
            s.observe(&p, Critical, at(1), Some(&gate)),
            vec![Transition::Suppressed {
                status: Critical,
                reason: gate.clone()
            }]
        );
        assert_eq!(
            s.alert,
            Alert::Suppressed {
                status: Critical,
                since: at(1),
                reason: gate.clone()
            }
        );
        assert!(s.is_down(), "suppressed counts as down for dependants");
        assert!(!s.would_open(&p, Critical));
        // Still failing under the gate: recorded silently.
        assert_eq!(s.observe(&p, Warning, at(2), Some(&gate)), vec![]);
        assert!(matches!(
            s.alert,
            Alert::Suppressed {
                status: Warning,
                ..
            }
        ));
        // The parent recovers: the check opens now, with its latest status.
        assert_eq!(
            s.reevaluate(&p, at(3), None),
            vec![Transition::Released, Transition::Opened { status: Warning }]
        );
        assert_eq!(
            s.alert,
            Alert::Open {
                status: Warning,
                since: at(3)
            }
        );
        // Reevaluating again changes nothing.
        assert_eq!(s.reevaluate(&p, at(4), None), vec![]);
    }

    #[test]
    fn dependency_suppression_then_release_recovered() {
        let p = policy(2, 3);
        let gate = dep("core-switch");
        let mut s = CheckState::default();
        s.observe(&p, Critical, at(0), Some(&gate));
        s.observe(&p, Critical, at(1), Some(&gate));
        // One ok (below the success threshold) under the gate: still suppressed.
        assert_eq!(s.observe(&p, Ok, at(2), Some(&gate)), vec![]);
        assert!(matches!(s.alert, Alert::Suppressed { .. }));
        assert_eq!(
            s.reevaluate(&p, at(3), None),
            vec![Transition::Released],
            "not failing past the threshold any more"
        );
        assert_eq!(s.alert, Alert::Clear);
        assert!(!s.is_down());
    }

    #[test]
    fn suppressed_recovers_at_the_success_threshold() {
        let p = policy(1, 2);
        let gate = dep("core-switch");
        let mut s = CheckState::default();
        assert_eq!(
            s.observe(&p, Critical, at(0), Some(&gate)),
            vec![Transition::Suppressed {
                status: Critical,
                reason: gate.clone()
            }]
        );
        assert_eq!(s.observe(&p, Ok, at(1), Some(&gate)), vec![]);
        assert_eq!(
            s.observe(&p, Ok, at(2), Some(&gate)),
            vec![Transition::Released]
        );
        assert_eq!(s.alert, Alert::Clear);
    }

    #[test]
    fn reevaluate_with_a_gate_only_updates_the_reason() {
        let p = policy(1, 2);
        let mut s = CheckState::default();
        s.observe(&p, Critical, at(0), Some(&dep("router")));
        assert_eq!(s.reevaluate(&p, at(1), Some(&maint("nightly"))), vec![]);
        assert_eq!(
            s.alert,
            Alert::Suppressed {
                status: Critical,
                since: at(0),
                reason: maint("nightly")
            }
        );
        // A failing observation under another gate also just takes the new reason.
        assert_eq!(s.observe(&p, Critical, at(2), Some(&dep("fw"))), vec![]);
        assert!(matches!(&s.alert, Alert::Suppressed { reason, .. } if *reason == dep("fw")));
        // Reevaluating a clear or open check does nothing.
        let mut clear = CheckState::default();
        assert_eq!(clear.reevaluate(&p, at(0), None), vec![]);
        assert_eq!(clear.reevaluate(&p, at(0), Some(&dep("x"))), vec![]);
        let mut open = open_state(&p, Critical);
        let before = open.clone();
        assert_eq!(open.reevaluate(&p, at(5), None), vec![]);
        assert_eq!(open.reevaluate(&p, at(5), Some(&dep("x"))), vec![]);
        assert_eq!(open, before);
    }

    #[test]
    fn maintenance_suppression_then_release_by_observation() {
        let p = policy(2, 2);
        let gate = maint("printer-firmware");
        let mut s = CheckState::default();
        s.observe(&p, Critical, at(0), Some(&gate));
        assert_eq!(
            s.observe(&p, Critical, at(1), Some(&gate)),
            vec![Transition::Suppressed {
                status: Critical,
                reason: gate.clone()
            }]
        );
        // The window ends and the next observation still fails: released, then opened.
        assert_eq!(
            s.observe(&p, Critical, at(30), None),
            vec![
                Transition::Released,
                Transition::Opened { status: Critical }
            ]
        );
        assert_eq!(
            s.alert,
            Alert::Open {
                status: Critical,
                since: at(30)
            }
        );
    }

    #[test]
    fn maintenance_ends_after_the_check_recovered() {
        let p = policy(2, 2);
        let gate = maint("nightly");
        let mut s = CheckState::default();
        s.observe(&p, Critical, at(0), Some(&gate));
        s.observe(&p, Critical, at(1), Some(&gate));
        // Observations of the window's end race with the recovery: an ok without a gate alone
        // does not release below the success threshold …
        assert_eq!(s.observe(&p, Ok, at(2), None), vec![]);
        assert!(matches!(s.alert, Alert::Suppressed { .. }));
        // … the re-evaluation at the window's end does.
        assert_eq!(s.reevaluate(&p, at(3), None), vec![Transition::Released]);
        assert_eq!(s.alert, Alert::Clear);
    }

    #[test]
    fn a_gate_appearing_while_open_does_not_suppress() {
        let p = policy(1, 2);
        let mut s = open_state(&p, Warning);
        let gate = maint("nightly");
        assert_eq!(
            s.observe(&p, Critical, at(5), Some(&gate)),
            vec![Transition::Worsened {
                from: Warning,
                to: Critical
            }]
        );
        assert_eq!(s.observe(&p, Critical, at(6), Some(&gate)), vec![]);
        assert!(matches!(s.alert, Alert::Open { .. }));
        assert_eq!(s.reevaluate(&p, at(7), Some(&gate)), vec![]);
        assert!(matches!(s.alert, Alert::Open { .. }));
        // And it recovers normally under the gate.
        assert_eq!(s.observe(&p, Ok, at(8), Some(&gate)), vec![]);
        assert_eq!(
            s.observe(&p, Ok, at(9), Some(&gate)),
            vec![Transition::Recovered]
        );
    }

    #[test]
    fn flapping_under_a_gate_is_recorded_and_released_into_an_incident() {
        let p = flap_policy(4, 10, 5);
        let gate = dep("uplink");
        let mut s = CheckState::default();
        let mut all = Vec::new();
        for (i, st) in [Critical, Critical, Ok, Critical, Ok, Critical]
            .into_iter()
            .enumerate()
        {
            all.extend(s.observe(&p, st, at(i as i64), Some(&gate)));
        }
        assert_eq!(
            all,
            vec![
                Transition::Suppressed {
                    status: Critical,
                    reason: gate.clone()
                },
                Transition::FlappingStarted {
                    changes: 4,
                    status: Critical
                }
            ]
        );
        assert!(
            matches!(s.alert, Alert::Suppressed { .. }),
            "still silenced"
        );
        // Oks under the gate while flapping: the suppressed alert sticks.
        assert_eq!(s.observe(&p, Ok, at(6), Some(&gate)), vec![]);
        assert_eq!(s.observe(&p, Ok, at(7), Some(&gate)), vec![]);
        assert!(matches!(s.alert, Alert::Suppressed { .. }));
        // The parent comes back while the check still flaps: one flapping incident opens.
        assert_eq!(
            s.reevaluate(&p, at(8), None),
            vec![
                Transition::Released,
                Transition::FlappingStarted {
                    changes: 5,
                    status: Ok
                }
            ]
        );
        assert_eq!(
            s.alert,
            Alert::Open {
                status: Critical,
                since: at(8)
            }
        );
        // Stable ok for 5 minutes after the last change (minute 6): recovered.
        assert_eq!(
            s.observe(&p, Ok, at(11), None),
            vec![
                Transition::FlappingStopped { status: Ok },
                Transition::Recovered
            ]
        );
    }

    #[test]
    fn flapping_under_a_gate_settles_under_the_gate() {
        let p = flap_policy(4, 10, 5);
        let gate = dep("uplink");
        let mut s = CheckState::default();
        for (i, st) in [Critical, Critical, Ok, Critical, Ok, Critical]
            .into_iter()
            .enumerate()
        {
            s.observe(&p, st, at(i as i64), Some(&gate));
        }
        assert!(s.flapping);
        // Failing until stable, still gated: stays suppressed, silently.
        assert_eq!(
            s.observe(&p, Critical, at(10), Some(&gate)),
            vec![Transition::FlappingStopped { status: Critical }]
        );
        assert!(matches!(s.alert, Alert::Suppressed { .. }));
        // Ending ok instead: released.
        let mut s = CheckState::default();
        for (i, st) in [Critical, Critical, Ok, Critical, Ok, Critical, Ok]
            .into_iter()
            .enumerate()
        {
            s.observe(&p, st, at(i as i64), Some(&gate));
        }
        assert!(s.flapping);
        assert_eq!(s.observe(&p, Ok, at(10), Some(&gate)), vec![]);
        assert_eq!(
            s.observe(&p, Ok, at(11), Some(&gate)),
            vec![
                Transition::FlappingStopped { status: Ok },
                Transition::Released
            ]
        );
        assert_eq!(s.alert, Alert::Clear);
    }

    #[test]
    fn is_down_follows_alert_and_latest_status() {
        let p = policy(3, 1);
        let mut s = CheckState::default();
        assert!(!s.is_down(), "never observed");
        s.observe(&p, Warning, at(0), None);
        assert!(s.is_down(), "failing below the threshold still counts");
        s.observe(&p, Ok, at(1), None);
        assert!(!s.is_down());
    }

    #[test]
    fn serde_round_trip() {
        let state = CheckState {
            last_status: Some(Warning),
            last_at: Some(at(3)),
            consecutive_failures: 4,
            consecutive_successes: 0,
            alert: Alert::Suppressed {
                status: Warning,
                since: at(1),
                reason: dep("core-switch"),
            },
            flapping: true,
            changes: [at(0), at(2)].into_iter().collect(),
            last_change: Some(at(2)),
        };
        let json = serde_json::to_string(&state).unwrap();
        let back: CheckState = serde_json::from_str(&json).unwrap();
        assert_eq!(back, state);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["alert"]["state"], "suppressed");
        assert_eq!(value["alert"]["reason"]["reason"], "dependency");
        assert_eq!(value["alert"]["reason"]["parent"], "core-switch");

        for alert in [
            Alert::Clear,
            Alert::Open {
                status: Critical,
                since: at(9),
            },
            Alert::Suppressed {
                status: Unknown,
                since: at(9),
                reason: maint("nightly"),
            },
        ] {
            let state = CheckState {
                alert,
                ..CheckState::default()
            };
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(serde_json::from_str::<CheckState>(&json).unwrap(), state);
        }

        // A state stored before `last_change` existed still loads.
        let old = r#"{"last_status":"ok","last_at":null,"consecutive_failures":0,
            "consecutive_successes":1,"alert":{"state":"clear"},"flapping":false,"changes":[]}"#;
        let loaded: CheckState = serde_json::from_str(old).unwrap();
        assert_eq!(loaded.last_change, None);
        assert_eq!(loaded.consecutive_successes, 1);
    }

    #[test]
    fn transitions_serialise_with_a_kind() {
        let t = Transition::Suppressed {
            status: Critical,
            reason: maint("nightly"),
        };
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["kind"], "suppressed");
        assert_eq!(json["reason"]["window"], "nightly");
        assert_eq!(serde_json::from_value::<Transition>(json).unwrap(), t);
    }

    #[test]
    fn policy_from_toml() {
        let p: StatePolicy = toml::from_str(
            r#"
            failure_threshold = 3
            [flapping]
            max_changes = 4
            window = "5m"
            "#,
        )
        .unwrap();
        assert_eq!(p.failure_threshold, 3);
        assert_eq!(p.success_threshold, 2);
        assert_eq!(p.flapping.max_changes, 4);
        assert_eq!(p.flapping.window, Duration::from_secs(300));
        assert_eq!(p.flapping.stable_for, Duration::from_secs(600));
        assert!(toml::from_str::<StatePolicy>("failure_treshold = 3").is_err());
        let back: StatePolicy = toml::from_str(&toml::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }
}
