//! Maintenance planned while forewarn runs (through the admin API or
//! [`Monitor::schedule_maintenance`](crate::Monitor::schedule_maintenance)): kept in the store,
//! so a restart still silences and announces it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One planned maintenance of services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedMaintenance {
    /// Its id (made when it is scheduled; empty before).
    #[serde(default)]
    pub id: String,
    /// What people are told it is ("Server upgrade").
    pub title: String,
    /// The services it switches off, by key.
    pub services: Vec<String>,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// When it ends.
    pub ends_at: DateTime<Utc>,
    /// More words for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl PlannedMaintenance {
    /// Checks the values (service keys are checked by the monitor).
    pub fn validate(&self) -> Result<()> {
        if self.title.trim().is_empty() {
            return Err(Error::invalid("title", "must not be empty"));
        }
        if let Some(problem) = crate::config::name_problem(&self.title) {
            return Err(Error::invalid("title", problem));
        }
        if self.services.is_empty() || self.services.iter().any(|s| s.trim().is_empty()) {
            return Err(Error::invalid(
                "services",
                "name at least one service, none empty",
            ));
        }
        if self.ends_at <= self.starts_at {
            return Err(Error::invalid("ends_at", "must be after starts_at"));
        }
        if self.ends_at - self.starts_at > chrono::Duration::days(31) {
            return Err(Error::invalid(
                "ends_at",
                "maintenance lasts at most 31 days",
            ));
        }
        Ok(())
    }
}
