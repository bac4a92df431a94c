//! Maintenance windows: one-off or weekly, in a time zone.

/// A maintenance window.
#[derive(Debug, Clone)]
pub struct MaintenanceWindow {}
