//! Maintenance windows: one-off or weekly, in a time zone.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::error::Result;

/// Configuration of a maintenance window.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceConfig {
    /// Its name.
    pub name: String,
}

impl MaintenanceConfig {
    /// Builds the window.
    pub fn build(&self) -> Result<MaintenanceWindow> {
        todo!()
    }
}

/// A maintenance window.
#[derive(Debug, Clone)]
pub struct MaintenanceWindow {}

impl MaintenanceWindow {
    /// Its name.
    pub fn name(&self) -> &str {
        todo!()
    }
    /// Whether it covers this check.
    pub fn applies_to(&self, _check: &str, _group: Option<&str>) -> bool {
        todo!()
    }
    /// Whether it is active at `now`.
    pub fn is_active(&self, _now: DateTime<Utc>) -> bool {
        todo!()
    }
    /// The next start or end after `now`.
    pub fn next_change(&self, _now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        todo!()
    }
}
