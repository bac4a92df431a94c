//! The per-check state machine: hysteresis, flap damping, dependency and maintenance
//! suppression. Pure: driven by (state, observation status, time, gate), no I/O, no sleeping.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
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
}

impl CheckState {
    /// Feeds one observation's status.
    pub fn observe(
        &mut self,
        _policy: &StatePolicy,
        _status: Status,
        _now: DateTime<Utc>,
        _gate: Option<&Suppression>,
    ) -> Vec<Transition> {
        todo!()
    }

    /// Re-evaluates a suppressed check after its gate changed.
    pub fn reevaluate(
        &mut self,
        _policy: &StatePolicy,
        _now: DateTime<Utc>,
        _gate: Option<&Suppression>,
    ) -> Vec<Transition> {
        todo!()
    }

    /// Whether this check counts as down for its dependants.
    pub fn is_down(&self) -> bool {
        todo!()
    }

    /// Whether observing `status` now, without a gate, would open an incident.
    pub fn would_open(&self, _policy: &StatePolicy, _status: Status) -> bool {
        todo!()
    }
}
