//! The monitor: schedules checks, drives their state machines, opens and resolves incidents.

pub mod deps;
pub mod maintenance;
pub mod state;

/// A check to schedule.
#[derive(Debug, Clone)]
pub struct CheckSpec {}

/// The current state of one check.
#[derive(Debug, Clone)]
pub struct CheckStatus {
    /// The check's name.
    pub name: String,
    /// Latest status.
    pub status: crate::Status,
    /// Latest summary.
    pub summary: String,
}

/// Something that happened.
#[derive(Debug, Clone)]
pub enum Event {}

/// The monitor handle.
#[derive(Debug, Clone)]
pub struct Monitor {}

/// Builds a [`Monitor`].
#[derive(Debug, Default)]
pub struct MonitorBuilder {}

impl Monitor {
    /// Builds a monitor from a loaded config.
    pub async fn from_config(_config: &crate::Config) -> crate::Result<Self> {
        todo!()
    }

    /// Runs every check once.
    pub async fn run_once(&self) -> crate::Result<Vec<CheckStatus>> {
        todo!()
    }
}
