//! History: observations, check states, incidents and the outbox, behind the [`Store`] trait.
//!
//! [`SqliteStore`] is the embedded default (one file, `forewarn.db`); [`PostgresStore`] keeps
//! a district's history in PostgreSQL, shared by its instances. [`open`] opens the one
//! `[monitor] database` names.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::escalation::SentRecord;
use crate::incident::Incident;
use crate::monitor::state::{CheckState, Transition};
use crate::probe::Observation;
use crate::sink::Notification;

pub mod history;
#[cfg(feature = "store-postgres")]
pub mod postgres;
pub mod sqlite;

pub use history::{Availability, HistoryRetention, Rollup, Spread, Tier};
#[cfg(feature = "store-postgres")]
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Opens the store `database` (`[monitor] database`) names: a PostgreSQL database for a
/// `postgres://` URL (the password from the environment, see [`PostgresStore::connect`]),
/// else the SQLite file at that path.
pub async fn open(database: &std::path::Path) -> Result<Arc<dyn Store>> {
    let text = database.to_string_lossy();
    if is_postgres_url(&text) {
        #[cfg(feature = "store-postgres")]
        return Ok(Arc::new(PostgresStore::connect(&text).await?));
        #[cfg(not(feature = "store-postgres"))]
        return Err(crate::Error::invalid(
            "database",
            "this forewarn was built without the PostgreSQL store (feature `store-postgres`)",
        ));
    }
    Ok(Arc::new(SqliteStore::open(database)?))
}

/// Whether `database` (`[monitor] database`) is a PostgreSQL URL rather than a file.
pub fn is_postgres_url(database: &str) -> bool {
    let lower = database.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// Which incidents to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentFilter {
    /// Only open or acknowledged ones.
    pub active_only: bool,
    /// Only this check's.
    pub check: Option<String>,
    /// At most this many, newest first (0: no limit).
    pub limit: usize,
}

/// A transition of a check's state, as kept in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionRecord {
    /// The check.
    pub check: String,
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub transition: Transition,
    /// The incident it touched, if any.
    pub incident_id: Option<i64>,
}

/// Where a queued notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxState {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// Accepted by the sink.
    Delivered,
    /// Given up after too many attempts or a permanent error.
    Dead,
}

/// One row of the durable outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxRow {
    /// The notification.
    pub notification: Notification,
    /// Where it is.
    pub state: OutboxState,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When the next attempt is due (pending rows).
    pub next_attempt_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The last error, if any.
    pub last_error: Option<String>,
}

/// Outbox counters for `status()` and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxStats {
    /// Rows waiting to be delivered.
    pub pending: u64,
    /// Pending rows that have failed at least once.
    pub retrying: u64,
    /// Rows given up on.
    pub dead: u64,
    /// Rows delivered.
    pub delivered: u64,
    /// When the oldest pending row was queued.
    pub oldest_pending: Option<DateTime<Utc>>,
}

/// The room a history has on its disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Space {
    /// The history's file.
    pub path: std::path::PathBuf,
    /// Its size with its write-ahead log, in bytes.
    pub used: u64,
    /// Bytes free for an unprivileged writer on its file system.
    pub free: u64,
    /// The file system's size, in bytes.
    pub total: u64,
    /// Bytes inside the history's file that were freed and are written again before the file
    /// grows.
    pub reusable: u64,
}

/// An agent known to the central monitor: a machine that reports its own checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRecord {
    /// Its name (the checks it reports are named `NAME/CHECK`).
    pub name: String,
    /// Its group (`[agents.groups.NAME]` says how its silence is treated).
    pub group: String,
    /// When its first token was made.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it last reported.
    pub last_seen: Option<DateTime<Utc>>,
    /// The interval it last said it reports at.
    pub interval_secs: Option<u64>,
    /// The highest sequence number stored of its observations.
    pub max_seq: i64,
    /// The checks it has reported, by their own names (without the agent's prefix).
    pub checks: Vec<String>,
}

/// What a presented agent token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentTokenCheck {
    /// A valid token of this agent (name, group).
    Valid {
        /// The agent.
        agent: String,
        /// Its group.
        group: String,
    },
    /// A token of an agent that was revoked.
    Revoked {
        /// The agent.
        agent: String,
    },
    /// No such token, or one whose grace period after a rotation is over.
    Unknown,
}

/// One observation an agent pushed, as the central keeps it (once per agent and `seq`).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentObservation {
    /// The agent's sequence number: increasing, never reused.
    pub seq: i64,
    /// The check, by the agent's own name for it.
    pub check: String,
    /// What it observed.
    pub observation: Observation,
}

/// Who leads the instances sharing a store (see [`Store::lead`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The instance holding it.
    pub holder: String,
    /// The fencing token: higher with every new holder, so a write made with an older one is
    /// refused.
    pub token: i64,
    /// When it lapses unless its holder renews it (by the database's clock).
    pub expires_at: DateTime<Utc>,
}

/// Persistent history. Implementations must be safe to call from many tasks at once.
#[async_trait]
pub trait Store: Send + Sync + Debug {
    /// Appends observations, each with its check's name (one transaction for the batch). The
    /// batch is handed over, so its texts move into the store rather than being copied.
    async fn record_observations(&self, batch: Vec<(Arc<str>, Observation)>) -> Result<()>;

    /// A check's observations since `since`, newest first, at most `limit` (0: no limit).
    async fn observations(
        &self,
        check: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Observation>>;

    /// The newest observation of each of `checks` that has one (for a standby's view of what
    /// the leader found). The default reads them one check at a time.
    async fn latest_observations(&self, checks: &[String]) -> Result<Vec<(String, Observation)>> {
        let mut out = Vec::new();
        for c in checks {
            if let Some(o) = self
                .observations(c, DateTime::<Utc>::MIN_UTC, 1)
                .await?
                .into_iter()
                .next()
            {
                out.push((c.clone(), o));
            }
        }
        Ok(out)
    }

    /// Deletes observations and transitions older than `before`, and resolved incidents (with
    /// their delivered outbox rows) resolved before it. Returns the number of rows deleted.
    async fn prune(&self, before: DateTime<Utc>) -> Result<u64>;

    /// Deletes what each part of the history keeps no longer at `now` (raw history, minute,
    /// hour and day rollups, see [`HistoryRetention`]), by whole blocks and periods. Returns
    /// the number of rows deleted.
    async fn prune_history(&self, now: DateTime<Utc>, retention: &HistoryRetention) -> Result<u64>;

    /// A check's rollups of `tier` whose periods start in `[since, until)`, oldest first.
    async fn rollups(
        &self,
        check: &str,
        tier: Tier,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Rollup>>;

    /// Every check's availability since `since`, from the rollups, by check name.
    async fn availability(&self, since: DateTime<Utc>) -> Result<Vec<Availability>>;

    /// Where the history is kept on disk and how much room is left there (`None` for a
    /// history that is not a local file).
    async fn space(&self) -> Result<Option<Space>>;

    /// Deletes the oldest day of raw history (samples, runs, whole observations), to make room
    /// when the disk is nearly full. Returns the time up to which raw history is now gone, or
    /// `None` when there was none.
    async fn shed_oldest_raw(&self) -> Result<Option<DateTime<Utc>>>;

    /// Saves (upserts) the state machines of these checks.
    async fn save_check_states(&self, states: &[(String, CheckState)]) -> Result<()>;

    /// Every saved check state, to resume after a restart.
    async fn load_check_states(&self) -> Result<Vec<(String, CheckState)>>;

    /// Appends transitions to the history.
    async fn record_transitions(&self, records: &[TransitionRecord]) -> Result<()>;

    /// A check's transitions since `since`, newest first, at most `limit` (0: no limit).
    async fn transitions(
        &self,
        check: Option<&str>,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TransitionRecord>>;

    /// Inserts a new incident and returns its id.
    async fn insert_incident(&self, incident: &Incident) -> Result<i64>;

    /// Replaces a stored incident (matched by id).
    async fn update_incident(&self, incident: &Incident) -> Result<()>;

    /// One incident.
    async fn incident(&self, id: i64) -> Result<Option<Incident>>;

    /// Incidents, newest first.
    async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>>;

    /// Queues a notification. Returns `false` (and changes nothing) when one with the same id
    /// is already queued or delivered: the outbox never holds a notification twice.
    async fn enqueue(&self, notification: &Notification, now: DateTime<Utc>) -> Result<bool>;

    /// What was queued for an incident (any state), for the escalation's history.
    async fn sent_records(&self, incident_id: i64) -> Result<Vec<SentRecord>>;

    /// Pending rows due at `now`, oldest first, at most `limit`.
    async fn due_outbox(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxRow>>;

    /// When the next pending row is due, if any.
    async fn next_outbox_due(&self) -> Result<Option<DateTime<Utc>>>;

    /// Marks a row delivered.
    async fn mark_delivered(&self, id: &str, at: DateTime<Utc>) -> Result<()>;

    /// Records a failed attempt: the row stays pending until `retry_at`, or becomes dead when
    /// `retry_at` is `None`.
    async fn mark_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()>;

    /// Postpones a pending row to `until` without counting an attempt (grouping into digests,
    /// rate limits). Rows that are not pending are left alone.
    async fn defer(&self, id: &str, until: DateTime<Utc>) -> Result<()>;

    /// Outbox rows of an incident (any state), oldest first.
    async fn outbox_rows(&self, incident_id: i64) -> Result<Vec<OutboxRow>>;

    /// Outbox counters.
    async fn outbox_stats(&self) -> Result<OutboxStats>;

    /// Makes everything written so far durable (e.g. a WAL checkpoint). Called on shutdown.
    async fn flush(&self) -> Result<()>;

    /// A random id of this installation, made with the history and kept with it: notification
    /// ids and e-mail Message-IDs carry it, so incident #1 of one history is never taken for
    /// incident #1 of another. A reset history is a new installation.
    async fn installation_id(&self) -> Result<String>;

    /// Saves a service outage; inserts it when its id is 0. Returns its id.
    async fn save_outage(&self, outage: &crate::broadcast::Outage) -> Result<i64>;

    /// The outages not closed and those started at or after `since`, newest first, at most
    /// `limit` (0: no limit).
    async fn outages(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<crate::broadcast::Outage>>;

    /// Records that the acknowledgement token `token_id` (see [`crate::ack::token_id`]) was
    /// used for `incident_id`, once: `false` when it was used before. Kept until it expires.
    async fn use_ack_token(
        &self,
        token_id: &str,
        incident_id: i64,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool>;

    /// Saves (upserts by id) maintenance planned at run time.
    async fn save_planned_maintenance(
        &self,
        plan: &crate::broadcast::PlannedMaintenance,
    ) -> Result<()>;

    /// Maintenance planned at run time, by end.
    async fn planned_maintenance(&self) -> Result<Vec<crate::broadcast::PlannedMaintenance>>;

    /// Deletes planned maintenance; `false` when there was none with that id.
    async fn delete_planned_maintenance(&self, id: &str) -> Result<bool>;

    /// Makes agent `name` of `group` with its first token (stored as `token_hash`, the SHA-256
    /// of the token in hex). Refused when an agent of that name exists and is not revoked; a
    /// revoked one is made anew.
    async fn create_agent(
        &self,
        name: &str,
        group: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Gives agent `name` a new token; its other tokens stay valid until `old_valid_until`.
    async fn rotate_agent_token(
        &self,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        old_valid_until: DateTime<Utc>,
    ) -> Result<()>;

    /// Revokes agent `name`: its tokens are refused from now on.
    async fn revoke_agent(&self, name: &str, now: DateTime<Utc>) -> Result<()>;

    /// What the token whose SHA-256 (hex) is `token_hash` is, at `now`.
    async fn agent_by_token(&self, token_hash: &str, now: DateTime<Utc>)
    -> Result<AgentTokenCheck>;

    /// Every agent, by name.
    async fn agents(&self) -> Result<Vec<AgentRecord>>;

    /// Records that agent `agent` reports `checks` (kept, so a restarted central knows them).
    async fn add_agent_checks(&self, agent: &str, checks: &[String]) -> Result<()>;

    /// Stores what agent `agent` pushed at `now` from its outbox `outbox` (reporting every
    /// `interval_secs`), each `(agent, seq)` once: returns, per observation, whether it was
    /// new, and the highest `seq` stored of the agent's. A push from another outbox than the
    /// last (the agent's outbox was lost or replaced, and numbers from 1 again) starts the
    /// agent's numbering afresh.
    async fn record_agent_observations(
        &self,
        agent: &str,
        outbox: &str,
        interval_secs: u64,
        now: DateTime<Utc>,
        batch: &[AgentObservation],
    ) -> Result<(Vec<bool>, i64)>;

    /// Takes the lead of the instances sharing this store for `instance` (which holds no
    /// lease: `token` `None`) when no one holds it or its holder let it lapse, or renews the
    /// lease `instance` holds with `token`, for `ttl` from now. Returns the lease as it is
    /// after: `instance`'s when it leads (a renewed lease keeps its token; one taken after it
    /// lapsed has a new one), another's when that one leads.
    ///
    /// The default, for a store only one monitor uses ([`Store::claim`]), always leads.
    async fn lead(
        &self,
        instance: &str,
        token: Option<i64>,
        ttl: std::time::Duration,
    ) -> Result<Lease> {
        let _ = (token, ttl);
        Ok(Lease {
            holder: instance.to_owned(),
            token: 1,
            expires_at: DateTime::<Utc>::MAX_UTC,
        })
    }

    /// Gives up the lease `instance` holds with `token` (a clean stop), so a standby takes
    /// over at once rather than when it lapses.
    async fn resign(&self, instance: &str, token: i64) -> Result<()> {
        let _ = (instance, token);
        Ok(())
    }

    /// Fences this store's writes with the lease token `token`: from now on each write of
    /// the history, states, incidents and outbox is refused (an error, nothing written) once
    /// another instance has taken the lead, even if this one has not noticed yet. `None`
    /// writes unfenced. The default, for a store of one monitor, ignores it.
    fn fence(&self, token: Option<i64>) {
        let _ = token;
    }

    /// Claims pending rows due at `now` for delivery, oldest first, at most `limit`: rows
    /// another deliverer claimed are skipped until their claim lapses after `hold`, so two
    /// instances never send one row, and one that stops before it marks a row lets another
    /// send it. The default is [`Store::due_outbox`], for a store of one monitor.
    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        hold: std::time::Duration,
    ) -> Result<Vec<OutboxRow>> {
        let _ = hold;
        self.due_outbox(now, limit).await
    }

    /// Claims the store for the one monitor running on it; called when a monitor starts
    /// running, and again harmlessly. A second monitor running on the same history would
    /// interleave its writes with the first's (lost observations, incidents resolved twice), so
    /// a store that lives in one place refuses the second claim with an error naming the
    /// holder. The claim lasts as long as the store. Reading and acknowledging need no claim.
    /// The default claims nothing, for stores made to be shared.
    async fn claim(&self) -> Result<()> {
        Ok(())
    }
}
