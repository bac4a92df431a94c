//! The embedded SQLite store.

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;

/// The embedded SQLite store (one file, WAL mode, versioned migrations).
#[derive(Debug)]
pub struct SqliteStore {}

impl SqliteStore {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(_path: impl AsRef<Path>) -> Result<Self> {
        todo!()
    }

    /// An in-memory database, for tests and `forewarn check`.
    pub fn in_memory() -> Result<Self> {
        todo!()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn record_observations(&self, _batch: &[(String, Observation)]) -> Result<()> {
        todo!()
    }
    async fn observations(
        &self,
        _check: &str,
        _since: DateTime<Utc>,
        _limit: usize,
    ) -> Result<Vec<Observation>> {
        todo!()
    }
    async fn prune(&self, _before: DateTime<Utc>) -> Result<u64> {
        todo!()
    }
    async fn save_check_states(&self, _states: &[(String, CheckState)]) -> Result<()> {
        todo!()
    }
    async fn load_check_states(&self) -> Result<Vec<(String, CheckState)>> {
        todo!()
    }
    async fn record_transitions(&self, _records: &[TransitionRecord]) -> Result<()> {
        todo!()
    }
    async fn transitions(
        &self,
        _check: Option<&str>,
        _since: DateTime<Utc>,
        _limit: usize,
    ) -> Result<Vec<TransitionRecord>> {
        todo!()
    }
    async fn insert_incident(&self, _incident: &Incident) -> Result<i64> {
        todo!()
    }
    async fn update_incident(&self, _incident: &Incident) -> Result<()> {
        todo!()
    }
    async fn incident(&self, _id: i64) -> Result<Option<Incident>> {
        todo!()
    }
    async fn incidents(&self, _filter: &IncidentFilter) -> Result<Vec<Incident>> {
        todo!()
    }
    async fn enqueue(&self, _n: &Notification, _now: DateTime<Utc>) -> Result<bool> {
        todo!()
    }
    async fn sent_records(&self, _incident_id: i64) -> Result<Vec<SentRecord>> {
        todo!()
    }
    async fn due_outbox(&self, _now: DateTime<Utc>, _limit: usize) -> Result<Vec<OutboxRow>> {
        todo!()
    }
    async fn next_outbox_due(&self) -> Result<Option<DateTime<Utc>>> {
        todo!()
    }
    async fn mark_delivered(&self, _id: &str, _at: DateTime<Utc>) -> Result<()> {
        todo!()
    }
    async fn mark_failed(
        &self,
        _id: &str,
        _error: &str,
        _retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        todo!()
    }
    async fn outbox_rows(&self, _incident_id: i64) -> Result<Vec<OutboxRow>> {
        todo!()
    }
    async fn outbox_stats(&self) -> Result<OutboxStats> {
        todo!()
    }
    async fn flush(&self) -> Result<()> {
        todo!()
    }
}
