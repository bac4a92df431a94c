//! The embedded SQLite store.
//!
//! One file (`forewarn.db` by default) in WAL mode, with `synchronous = NORMAL`, a busy timeout
//! and foreign keys on. The schema is versioned: a list of migration steps is applied in order,
//! each step in its own transaction, and the reached version is kept in `PRAGMA user_version`.
//! A database written by a newer forewarn (a higher version than this code knows) is refused
//! rather than misread.
//!
//! Times in indexed columns are kept to the millisecond (unix ms) and latencies to the
//! microsecond; incidents and notifications are also kept whole as JSON.
//!
//! Observations, by far the most rows, are appended in the order they are recorded and carry no
//! index: each row holds the id of its check's previous row, and the newest row of every check
//! (the head) is kept in memory, saved now and then. A write touches only the table's last
//! pages however long the history; reading a check's latest rows follows its links back; pruning
//! cuts the oldest rows off the front.
//!
//! All SQLite work runs on tokio's blocking pool, one call at a time on one connection, so the
//! async workers are never blocked by disk I/O.
//!
//! A running monitor claims the file ([`Store::claim`]) with an exclusive lock on
//! `forewarn.db.lock` beside it, holding its process id: a second `forewarn run` on the same
//! database is refused with that id, while commands that read or acknowledge keep working. The
//! operating system drops the lock when the process ends, however it ends.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use super::*;
use crate::error::Error;

mod agents;
mod comms;
mod compact;
use crate::incident::IncidentState;
use crate::probe::Status;

/// The schema, one step per version: `MIGRATIONS[0]` takes a database from version 0 (empty) to
/// version 1, and so on. Steps are only ever appended, never edited.
const MIGRATIONS: &[&str] = &[
    // Version 1.
    "
    CREATE TABLE checks (
        id   INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    );

    CREATE TABLE observations (
        check_id   INTEGER NOT NULL REFERENCES checks(id),
        at         INTEGER NOT NULL,
        status     INTEGER NOT NULL,
        latency_us INTEGER NOT NULL,
        summary    TEXT NOT NULL,
        metrics    TEXT
    );
    CREATE INDEX observations_check_at ON observations(check_id, at);

    CREATE TABLE check_states (
        check_name TEXT PRIMARY KEY,
        state      TEXT NOT NULL,
        updated_at INTEGER
    );

    CREATE TABLE transitions (
        id          INTEGER PRIMARY KEY,
        check_id    INTEGER NOT NULL REFERENCES checks(id),
        at          INTEGER NOT NULL,
        transition  TEXT NOT NULL,
        incident_id INTEGER
    );
    CREATE INDEX transitions_check_at ON transitions(check_id, at);
    CREATE INDEX transitions_at ON transitions(at);

    CREATE TABLE incidents (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        check_name  TEXT NOT NULL,
        state       TEXT NOT NULL,
        opened_at   INTEGER NOT NULL,
        resolved_at INTEGER,
        json        TEXT NOT NULL
    );
    CREATE INDEX incidents_opened ON incidents(opened_at);
    CREATE INDEX incidents_active ON incidents(opened_at) WHERE state <> 'resolved';
    CREATE INDEX incidents_check ON incidents(check_name, opened_at);
    CREATE INDEX incidents_resolved ON incidents(resolved_at) WHERE resolved_at IS NOT NULL;

    CREATE TABLE outbox (
        id              TEXT PRIMARY KEY,
        incident_id     INTEGER NOT NULL,
        sink            TEXT NOT NULL,
        key             TEXT NOT NULL,
        state           TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        queued_at       INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        delivered_at    INTEGER,
        last_error      TEXT,
        json            TEXT NOT NULL
    );
    CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
    CREATE INDEX outbox_incident ON outbox(incident_id);
    ",
    // Version 2: observations are appended in the order they are recorded, each row linked to
    // its check's previous one, instead of being kept in a `(check_id, at)` index. That index
    // took every row to a different page once the checks had some history (each check's rows
    // end on a page of their own), so a batch rewrote about a page per row, more as history
    // grew. Reading a check's recent history now follows its links from the newest row, whose
    // id is kept per check (saved in `checks.last_obs` up to `history_heads.watermark`).
    // The table is rebuilt with its row id as a declared key, which `VACUUM` keeps.
    "
    CREATE TABLE observations_v2 (
        id         INTEGER PRIMARY KEY,
        check_id   INTEGER NOT NULL REFERENCES checks(id),
        at         INTEGER NOT NULL,
        status     INTEGER NOT NULL,
        latency_us INTEGER NOT NULL,
        summary    TEXT NOT NULL,
        metrics    TEXT,
        prev       INTEGER
    );
    INSERT INTO observations_v2(id, check_id, at, status, latency_us, summary, metrics, prev)
        SELECT rowid, check_id, at, status, latency_us, summary, metrics,
               LAG(rowid) OVER (PARTITION BY check_id ORDER BY rowid)
          FROM observations ORDER BY rowid;
    DROP TABLE observations;
    ALTER TABLE observations_v2 RENAME TO observations;

    ALTER TABLE checks ADD COLUMN last_obs INTEGER;
    UPDATE checks SET last_obs = (SELECT max(id) FROM observations WHERE check_id = checks.id);
    CREATE TABLE history_heads (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        watermark INTEGER NOT NULL
    );
    INSERT INTO history_heads(id, watermark) SELECT 1, coalesce(max(id), 0) FROM observations;
    ",
    // Version 3: an observation's structured reading (a printer's supplies, an HTTP response's
    // certificate, a database's role) as JSON, when the probe has one.
    "
    ALTER TABLE observations ADD COLUMN reading TEXT;
    ",
    // Version 4: a random id of this installation, made with the database (or when an older one
    // is migrated). Notification ids and e-mail Message-IDs carry it, so incident #1 of one
    // database is never taken for incident #1 of another (after a reset, or another site
    // mailing the same list) by receivers that drop repeated ids.
    "
    CREATE TABLE installation (
        id  INTEGER PRIMARY KEY CHECK (id = 1),
        uid TEXT NOT NULL
    );
    INSERT INTO installation(id, uid) VALUES (1, lower(hex(randomblob(16))));
    ",
    // Version 5: the compact history (see `compact.rs`). Whole observations keep their metric
    // values as numbers of a series (names and units once per check and layout) instead of
    // JSON; OK observations go into runs; every observation's numbers go into compressed
    // blocks of samples; rollups per minute, hour and day. The existing observations stay as
    // they are, and their hours and days are counted into rollups, so availability reaches
    // back as far as the history did.
    "
    CREATE TABLE series (
        id       INTEGER PRIMARY KEY,
        check_id INTEGER NOT NULL REFERENCES checks(id),
        layout   TEXT NOT NULL,
        UNIQUE (check_id, layout)
    );
    ALTER TABLE observations ADD COLUMN series INTEGER;
    ALTER TABLE observations ADD COLUMN vals BLOB;

    CREATE TABLE runs (
        id       INTEGER PRIMARY KEY,
        check_id INTEGER NOT NULL REFERENCES checks(id),
        first_at INTEGER NOT NULL,
        last_at  INTEGER NOT NULL,
        count    INTEGER NOT NULL,
        summary  TEXT NOT NULL
    );
    CREATE INDEX runs_check ON runs(check_id, last_at);
    CREATE INDEX runs_last ON runs(last_at);

    CREATE TABLE samples (
        id       INTEGER PRIMARY KEY,
        check_id INTEGER NOT NULL REFERENCES checks(id),
        series   INTEGER NOT NULL REFERENCES series(id),
        start_at INTEGER NOT NULL,
        end_at   INTEGER NOT NULL,
        count    INTEGER NOT NULL,
        data     BLOB NOT NULL
    );
    CREATE INDEX samples_check ON samples(check_id, end_at);
    CREATE INDEX samples_end ON samples(end_at);

    CREATE TABLE rollups (
        id       INTEGER PRIMARY KEY,
        tier     INTEGER NOT NULL,
        start    INTEGER NOT NULL,
        check_id INTEGER NOT NULL,
        count    INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        warnings INTEGER NOT NULL,
        unknown  INTEGER NOT NULL,
        series   INTEGER,
        data     BLOB NOT NULL
    );
    CREATE UNIQUE INDEX rollups_period ON rollups(tier, start, check_id);
    -- Availability over days reads only this (a few rows a check a day).
    CREATE INDEX rollups_day_counts ON rollups(tier, start, check_id, count, failures, unknown)
        WHERE tier = 2;
    CREATE INDEX rollups_check ON rollups(check_id, tier, start);

    CREATE TABLE history_open (
        check_id INTEGER PRIMARY KEY,
        data     BLOB NOT NULL
    );
    CREATE TABLE history_tail (
        seq  INTEGER PRIMARY KEY,
        at   INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    CREATE TABLE history_horizon (
        id            INTEGER PRIMARY KEY CHECK (id = 1),
        raw_before    INTEGER NOT NULL,
        minute_before INTEGER NOT NULL,
        hour_before   INTEGER NOT NULL,
        day_before    INTEGER NOT NULL
    );
    INSERT INTO history_horizon(id, raw_before, minute_before, hour_before, day_before)
        VALUES (1, -9223372036854775808, -9223372036854775808, -9223372036854775808,
                -9223372036854775808);

    INSERT INTO rollups(tier, start, check_id, count, failures, warnings, unknown, series, data)
        SELECT 1, at - at % 3600000, check_id, count(*), sum(status = 2), sum(status = 1),
               sum(status = 3), NULL, X''
          FROM observations GROUP BY 2, 3;
    INSERT INTO rollups(tier, start, check_id, count, failures, warnings, unknown, series, data)
        SELECT 2, at - at % 86400000, check_id, count(*), sum(status = 2), sum(status = 1),
               sum(status = 3), NULL, X''
          FROM observations GROUP BY 2, 3;
    ",
    // Version 6: proactive communication — service outages (the JSON of each, with what was
    // broadcast for it), acknowledgement tokens once used, maintenance planned at run time.
    "
    CREATE TABLE outages (
        id         INTEGER PRIMARY KEY,
        started_at INTEGER NOT NULL,
        closed     INTEGER NOT NULL DEFAULT 0,
        json       TEXT NOT NULL
    );
    CREATE INDEX outages_open ON outages(closed) WHERE closed = 0;
    CREATE INDEX outages_started ON outages(started_at);
    CREATE TABLE ack_tokens (
        token       TEXT PRIMARY KEY,
        incident_id INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        used_at     INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE planned_maintenance (
        id      TEXT PRIMARY KEY,
        ends_at INTEGER NOT NULL,
        json    TEXT NOT NULL
    ) WITHOUT ROWID;
    ",
    // Version 7: agents — machines that push their own checks' observations. Tokens are kept
    // as their SHA-256 only; each pushed observation is kept once per (agent, seq).
    "
    CREATE TABLE agents (
        name         TEXT PRIMARY KEY,
        grp          TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        revoked_at   INTEGER,
        last_seen_at INTEGER,
        interval_s   INTEGER,
        max_seq      INTEGER NOT NULL DEFAULT 0,
        checks       TEXT NOT NULL DEFAULT '[]',
        outbox       TEXT NOT NULL DEFAULT ''
    ) WITHOUT ROWID;
    CREATE TABLE agent_tokens (
        hash        TEXT PRIMARY KEY,
        agent       TEXT NOT NULL REFERENCES agents(name),
        created_at  INTEGER NOT NULL,
        valid_until INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX agent_tokens_agent ON agent_tokens(agent);
    CREATE TABLE agent_observations (
        agent   TEXT NOT NULL,
        seq     INTEGER NOT NULL,
        check_name TEXT NOT NULL,
        at      INTEGER NOT NULL,
        status  INTEGER NOT NULL,
        summary TEXT NOT NULL,
        PRIMARY KEY (agent, seq)
    ) WITHOUT ROWID;
    CREATE INDEX agent_observations_at ON agent_observations(at);
    ",
    // Version 8: an open hour's samples go into blocks as they come; a tail row says which of
    // its check's samples are in blocks (format 2). Rows written before are format 1.
    "
    ALTER TABLE history_tail ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
    ",
];

/// Rows recorded since the heads were last saved that make them due again: at least this many,
/// and at least [`HEADS_SAVE_PER_CHECK`] per check (one `UPDATE` per check that moved). The
/// rows since the last save are what is read again at start-up after a crash.
const HEADS_SAVE_ROWS: i64 = 1_000_000;

/// See [`HEADS_SAVE_ROWS`].
const HEADS_SAVE_PER_CHECK: i64 = 10;

/// How far past the first unexpired row (in row ids) pruning still looks for expired ones:
/// rows are stored in the order they were recorded, which is the order of their times but for
/// results that came in late and a clock that was set back.
const PRUNE_LOOKAHEAD_ROWS: i64 = 1 << 18;

/// Check ids above this are refused as corrupt rather than indexed (the heads are a vector
/// indexed by id; `checks.id` is assigned densely from 1).
const MAX_CHECK_ID: i64 = 1 << 28;

/// How long a statement waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The `cache_size` pragma: negative means KiB (2 MiB, SQLite's default; the operating system's
/// page cache holds the rest).
const CACHE_SIZE_PRAGMA: i64 = -2 * 1024;

/// WAL pages written before an automatic checkpoint (about 32 MiB).
const WAL_AUTOCHECKPOINT_PAGES: i64 = 8192;

/// Size the WAL file is truncated to after a checkpoint, in bytes.
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The embedded SQLite store (one file, WAL mode, versioned migrations).
///
/// Cheap to clone: clones share one connection. Safe to call from many tasks at once; calls are
/// serialised on that connection and run, in the order they come, on a thread of the store's
/// own.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Mutex<Inner>>,
    worker: Worker,
    path: Option<PathBuf>,
    /// The locked lock file while this store is claimed (shared by clones).
    claim: Arc<Mutex<Option<std::fs::File>>>,
    /// The installation's id, read once.
    installation: Arc<str>,
}

/// Work for the store's thread.
type Job = Box<dyn FnOnce() + Send>;

/// The one thread that runs a store's work, in the order it is asked for; it ends when the
/// last clone of the store is dropped.
///
/// On tokio's blocking pool each call took a thread of its own while it waited for the
/// connection: under load, tens of threads came and went (25 at once in one run of 100,000
/// checks), and what one had allocated that the history kept (the open hour's samples, the
/// runs) stayed in pages the allocator could not reuse once that thread had ended (benches/
/// README.md, "One thread for the store"). One long-lived thread keeps the store's memory in
/// one heap, and the calls wait in a queue instead of in threads.
#[derive(Clone)]
struct Worker {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Worker {
    fn start(label: &str) -> Result<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("forewarn-store".into())
            .spawn(move || {
                for job in queue {
                    job();
                }
            })
            .map_err(|e| Error::Store(format!("{label}: starting the store's thread: {e}")))?;
        Ok(Worker { jobs })
    }
}

/// What a panic said, for the error it becomes.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

/// The connection and what is cached beside it.
struct Inner {
    conn: Connection,
    cache: Cache,
}

/// What is kept in memory of the database. Only ever holds what is committed: a transaction
/// that fails throws away what it may have changed (see [`SqliteStore::write`]).
struct Cache {
    /// Check name → `checks.id`, so batches do not look names up row by row.
    check_ids: HashMap<Arc<str>, i64>,
    /// Where each check's history starts, read on first use (commands that never touch
    /// observations do not pay for it).
    heads: Option<Heads>,
    /// What is open of each check's compact history.
    compact: compact::Compact,
}

/// The newest observation of every check, the head of the chain its rows form through `prev`.
#[derive(Debug)]
struct Heads {
    /// `checks.id` → row id of that check's newest observation; 0 for none.
    by_check: Vec<i64>,
    /// The row id the next observation gets: above every row, head and watermark ever seen,
    /// so ids are never reused while a link may still point at them.
    next_row: i64,
    /// Every head up to this row id is saved in `checks.last_obs`.
    saved_through: i64,
}

impl Heads {
    /// Reads the saved heads, then moves them past the rows recorded since they were saved.
    fn load(conn: &Connection) -> Result<Self> {
        let mut heads = Heads {
            by_check: Vec::new(),
            next_row: 1,
            saved_through: 0,
        };
        let mut stmt =
            conn.prepare("SELECT id, last_obs FROM checks WHERE last_obs IS NOT NULL")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            heads.set(r.get(0)?, r.get(1)?)?;
        }
        heads.saved_through = conn
            .query_row("SELECT watermark FROM history_heads", [], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        let mut stmt =
            conn.prepare("SELECT id, check_id FROM observations WHERE id > ?1 ORDER BY id")?;
        let mut rows = stmt.query([heads.saved_through])?;
        while let Some(r) = rows.next()? {
            heads.set(r.get(1)?, r.get(0)?)?;
        }
        let last: i64 =
            conn.query_row("SELECT coalesce(max(id), 0) FROM observations", [], |r| {
                r.get(0)
            })?;
        let newest_head = heads.by_check.iter().copied().max().unwrap_or(0);
        heads.next_row = last.max(heads.saved_through).max(newest_head) + 1;
        Ok(heads)
    }

    /// The head of check `id` (0: no history).
    fn get(&self, id: i64) -> i64 {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.by_check.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// Sets the head of check `id`; returns the one it replaces.
    fn set(&mut self, id: i64, row: i64) -> Result<i64> {
        if !(1..=MAX_CHECK_ID).contains(&id) {
            return Err(corrupt(format!("check id {id}")));
        }
        let i = id as usize;
        if self.by_check.len() <= i {
            self.by_check.resize(i + 1, 0);
        }
        Ok(std::mem::replace(&mut self.by_check[i], row))
    }

    /// Whether enough rows were recorded since the last save to save again.
    fn save_due(&self) -> bool {
        let unsaved = self.next_row - 1 - self.saved_through;
        unsaved >= HEADS_SAVE_ROWS.max(HEADS_SAVE_PER_CHECK * self.by_check.len() as i64)
    }

    /// Saves the heads that moved since the last save, in one transaction.
    fn save(&mut self, conn: &mut Connection) -> Result<()> {
        let through = self.next_row - 1;
        if through == self.saved_through {
            return Ok(());
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached("UPDATE checks SET last_obs = ?2 WHERE id = ?1")?;
            for (id, &row) in self.by_check.iter().enumerate() {
                if row > self.saved_through {
                    stmt.execute(params![id as i64, row])?;
                }
            }
        }
        tx.execute(
            "INSERT INTO history_heads(id, watermark) VALUES (1, ?1) \
             ON CONFLICT(id) DO UPDATE SET watermark = excluded.watermark",
            [through],
        )?;
        tx.commit()?;
        self.saved_through = through;
        Ok(())
    }
}

impl Cache {
    /// The heads, read from `conn` first if they are not yet.
    fn heads(&mut self, conn: &Connection) -> Result<&mut Heads> {
        if self.heads.is_none() {
            self.heads = Some(Heads::load(conn)?);
        }
        Ok(self.heads.as_mut().expect("just read"))
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// The schema version this code writes and understands.
    pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

    /// Opens (creating and migrating) the database at `path`.
    ///
    /// Creates missing parent directories. Fails with an error naming the path when the path is
    /// a directory, the file is not writable or not a database, or it was written by a newer
    /// forewarn.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let label = path.display().to_string();
        if path.is_dir() {
            return Err(Error::Store(format!(
                "{label} is a directory, not a database file"
            )));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::io(
                    format!(
                        "creating the directory {} for the database",
                        parent.display()
                    ),
                    e,
                )
            })?;
        }
        let at_path = |e: rusqlite::Error| Error::Store(format!("{label}: {e}"));
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| Error::Store(format!("cannot open {label}: {e}")))?;
        if conn.is_readonly("main").map_err(at_path)? {
            return Err(Error::Store(format!(
                "{label} is not writable (opened read-only)"
            )));
        }
        conn.busy_timeout(BUSY_TIMEOUT).map_err(at_path)?;
        // A new database can give pages back to the file system when the disk runs short
        // (`Store::shed_oldest_raw`); this must be said before anything is written to it.
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(at_path)?;
        if version == 0 {
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
                .map_err(at_path)?;
        }
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(at_path)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Store(format!(
                "{label}: cannot switch to WAL journal mode (got `{mode}`)"
            )));
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(at_path)?;

        // Checkpointing less often writes a page that several batches touch (the tail of the
        // observations, the outbox) once instead of once per batch. The WAL is cut back
        // afterwards.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
            .map_err(at_path)?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
            .map_err(at_path)?;
        Self::from_connection(conn, Some(path.to_owned()), &label)
    }

    /// An in-memory database, for tests and `forewarn check`.
    pub fn in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory()?;
        Self::from_connection(conn, None, ":memory:")
    }

    /// Where the database file is (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The lock file a running monitor holds for the database at `path`.
    pub fn lock_path(path: &Path) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    fn from_connection(mut conn: Connection, path: Option<PathBuf>, label: &str) -> Result<Self> {
        let at_path = |e: rusqlite::Error| Error::Store(format!("{label}: {e}"));
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(at_path)?;
        conn.pragma_update(None, "cache_size", CACHE_SIZE_PRAGMA)
            .map_err(at_path)?;
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn, MIGRATIONS, label)?;
        let check_ids = {
            let mut stmt = conn
                .prepare("SELECT name, id FROM checks")
                .map_err(at_path)?;
            stmt.query_map([], |r| {
                Ok((Arc::from(r.get::<_, String>(0)?), r.get::<_, i64>(1)?))
            })
            .map_err(at_path)?
            .collect::<rusqlite::Result<HashMap<_, _>>>()
            .map_err(at_path)?
        };
        let installation: String = conn
            .query_row("SELECT uid FROM installation WHERE id = 1", [], |r| {
                r.get(0)
            })
            .map_err(at_path)?;
        Ok(Self {
            worker: Worker::start(label)?,
            inner: Arc::new(Mutex::new(Inner {
                conn,
                cache: Cache {
                    check_ids,
                    heads: None,
                    compact: compact::Compact::default(),
                },
            })),
            path,
            claim: Arc::new(Mutex::new(None)),
            installation: installation.into(),
        })
    }

    /// Runs `f` with the connection on the store's thread, after the work asked for before.
    /// A panic in `f` becomes an error; the thread goes on with the next call.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Inner) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut guard = inner.lock();
                f(&mut guard)
            }));
            // The caller may have stopped waiting: the work is done all the same.
            let _ = done.send(outcome);
        });
        self.worker
            .jobs
            .send(job)
            .map_err(|_| Error::Store("the store's thread has ended".into()))?;
        match result.await {
            Ok(Ok(r)) => r,
            Ok(Err(panic)) => Err(Error::Store(format!(
                "store task failed: {}",
                panic_text(&*panic)
            ))),
            Err(_) => Err(Error::Store(
                "store task failed: it ended unanswered".into(),
            )),
        }
    }

    /// Runs `f` in one write transaction; commits on success. On failure it rolls back and
    /// forgets what the cache may hold of it: check ids that may not have been committed, and
    /// heads moved by rows that were not (those are read again).
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &mut Cache) -> Result<T> + Send + 'static,
    {
        self.run(move |inner| {
            let Inner { conn, cache } = inner;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let known = cache.check_ids.len();
            let next_row = cache.heads.as_ref().map(|h| h.next_row);
            let result = f(&tx, cache).and_then(|v| {
                tx.commit()?;
                Ok(v)
            });
            if result.is_err() {
                if cache.check_ids.len() != known {
                    cache.check_ids.clear();
                }
                if cache.heads.as_ref().map(|h| h.next_row) != next_row {
                    cache.heads = None;
                }
                // What was open is read again as it was last saved.
                cache.compact.clear();
            }
            result
        })
        .await
    }
}

impl SqliteStore {
    /// Saves what is open of the compact history, if anything is unsaved (so what is read is
    /// what is kept; a reading process that never recorded has nothing to save).
    async fn save_open(&self) -> Result<()> {
        let unsaved = self
            .run(|inner| Ok(compact::unsaved(&inner.cache.compact)))
            .await?;
        if unsaved {
            self.write(|tx, cache| compact::save(tx, &mut cache.compact))
                .await?;
        }
        Ok(())
    }
}

/// Applies the steps of `migrations` the database has not seen yet, each in a transaction that
/// also bumps `user_version`. Refuses a database with a higher version than `migrations` knows.
fn migrate(conn: &mut Connection, migrations: &[&str], label: &str) -> Result<()> {
    let known = migrations.len() as i64;
    let at_path = |e: rusqlite::Error| Error::Store(format!("{label}: {e}"));
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(at_path)?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(at_path)?;
        if version > known {
            return Err(Error::Store(format!(
                "{label} has schema version {version}; this forewarn knows up to {known}"
            )));
        }
        if version < 0 {
            return Err(Error::Store(format!(
                "{label} has an invalid schema version {version}"
            )));
        }
        if version == known {
            return Ok(());
        }
        let next = version + 1;
        tx.execute_batch(migrations[version as usize])
            .map_err(|e| {
                Error::Store(format!("{label}: migrating to schema version {next}: {e}"))
            })?;
        tx.pragma_update(None, "user_version", next)
            .map_err(at_path)?;
        tx.commit().map_err(at_path)?;
        tracing::debug!(database = label, version = next, "applied schema migration");
    }
}

/// The row id from which observations are at or after `at`, assuming rows are in time order
/// (the id after the last row if none is).
fn first_row_since(conn: &Connection, at: i64) -> Result<i64> {
    let mut stmt =
        conn.prepare_cached("SELECT at FROM observations WHERE id >= ?1 ORDER BY id LIMIT 1")?;
    let (mut lo, mut hi): (i64, i64) = conn.query_row(
        "SELECT coalesce(min(id), 0), coalesce(max(id), -1) + 1 FROM observations",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let t: Option<i64> = stmt.query_row([mid], |r| r.get(0)).optional()?;
        if t.is_none_or(|t| t >= at) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(lo)
}

// ---------------------------------------------------------------------------------------------
// Encoding.

use super::history::{corrupt, from_json, from_ms, ms, opt_from_ms, to_json};

fn status_from_code(v: i64) -> Result<Status> {
    Ok(match v {
        0 => Status::Ok,
        1 => Status::Warning,
        2 => Status::Critical,
        3 => Status::Unknown,
        _ => return Err(corrupt(format!("status code {v}"))),
    })
}

fn outbox_state_parse(s: &str) -> Result<OutboxState> {
    Ok(match s {
        "pending" => OutboxState::Pending,
        "delivered" => OutboxState::Delivered,
        "dead" => OutboxState::Dead,
        _ => return Err(corrupt(format!("outbox state `{s}`"))),
    })
}

/// `LIMIT` value for a "0: no limit" count (SQLite reads a negative limit as none).
fn sql_limit(limit: usize) -> i64 {
    if limit == 0 {
        -1
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    }
}

/// The id of `name` in `checks`, adding it when new.
fn check_id(tx: &Transaction<'_>, cache: &mut HashMap<Arc<str>, i64>, name: &str) -> Result<i64> {
    if let Some(&id) = cache.get(name) {
        return Ok(id);
    }
    add_check(tx, cache, Arc::from(name))
}

/// The id of the check named by `name`, a name the monitor shares: the cache keeps that very
/// name as its key (replacing a copy read from the database), so later lookups compare
/// pointers and the cache holds no second copy of every name.
fn shared_check_id(
    tx: &Transaction<'_>,
    cache: &mut HashMap<Arc<str>, i64>,
    name: &Arc<str>,
) -> Result<i64> {
    match cache.get_key_value(&**name) {
        Some((key, &id)) if Arc::ptr_eq(key, name) => Ok(id),
        Some((_, &id)) => {
            cache.remove(&**name);
            cache.insert(name.clone(), id);
            Ok(id)
        }
        None => add_check(tx, cache, name.clone()),
    }
}

/// Adds `name` to `checks` (if it is not there yet) and to the cache.
fn add_check(
    tx: &Transaction<'_>,
    cache: &mut HashMap<Arc<str>, i64>,
    name: Arc<str>,
) -> Result<i64> {
    tx.prepare_cached("INSERT INTO checks(name) VALUES (?1) ON CONFLICT(name) DO NOTHING")?
        .execute([&*name])?;
    let id: i64 = tx
        .prepare_cached("SELECT id FROM checks WHERE name = ?1")?
        .query_row([&*name], |r| r.get(0))?;
    cache.insert(name, id);
    Ok(id)
}

/// The id of `name` in `checks` without adding it.
fn known_check_id(
    conn: &Connection,
    cache: &HashMap<Arc<str>, i64>,
    name: &str,
) -> Result<Option<i64>> {
    if let Some(&id) = cache.get(name) {
        return Ok(Some(id));
    }
    Ok(conn
        .prepare_cached("SELECT id FROM checks WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?)
}

/// An observation flattened for its row.
struct ObservationRow {
    check: Arc<str>,
    at: i64,
    status: i64,
    latency_us: i64,
    summary: String,
    /// The series of `vals` (its metric names and units).
    series: Option<i64>,
    /// The metric values, in the series' order.
    vals: Option<Vec<u8>>,
    reading: Option<String>,
}

const OUTBOX_COLUMNS: &str =
    "json, state, attempts, queued_at, next_attempt_at, delivered_at, last_error";

/// An outbox row as read, before decoding.
type RawOutboxRow = (String, String, i64, i64, i64, Option<i64>, Option<String>);

fn raw_outbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawOutboxRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn decode_outbox_row(raw: RawOutboxRow) -> Result<OutboxRow> {
    let (json, state, attempts, queued_at, next_attempt_at, delivered_at, last_error) = raw;
    Ok(OutboxRow {
        notification: from_json("outbox notification", &json)?,
        state: outbox_state_parse(&state)?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt(format!("attempts {attempts}")))?,
        queued_at: from_ms(queued_at)?,
        next_attempt_at: from_ms(next_attempt_at)?,
        delivered_at: opt_from_ms(delivered_at)?,
        last_error,
    })
}

fn query_outbox(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<OutboxRow>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let raw = stmt
        .query_map(params, raw_outbox_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raw.into_iter().map(decode_outbox_row).collect()
}

/// Rows per multi-row `INSERT` of observations ([`OBSERVATION_PARAMS`] parameters each, well
/// below SQLite's limit).
const OBSERVATION_CHUNK: usize = 64;

/// Parameters per observation row.
const OBSERVATION_PARAMS: usize = 10;

/// The multi-row `INSERT` for `rows` observations.
fn observation_insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO observations(id, check_id, at, status, latency_us, summary, prev, reading, \
         series, vals) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?,?,?,?)");
    }
    sql
}

/// Appends a batch of observations in the order given, each row linked to its check's
/// previous one, and moves the heads along ([`SqliteStore::write`] drops them if the batch
/// does not commit).
fn insert_observations(
    tx: &Transaction<'_>,
    cache: &mut HashMap<Arc<str>, i64>,
    heads: &mut Heads,
    rows: &[ObservationRow],
) -> Result<()> {
    let mut links = Vec::with_capacity(rows.len());
    for row in rows {
        let id = shared_check_id(tx, cache, &row.check)?;
        let rowid = heads.next_row;
        heads.next_row += 1;
        let prev = heads.set(id, rowid)?;
        links.push((rowid, id, prev));
    }
    let bind = |stmt: &mut rusqlite::CachedStatement<'_>, first: usize, i: usize| {
        let (row, (rowid, id, prev)) = (&rows[i], links[i]);
        stmt.raw_bind_parameter(first, rowid)?;
        stmt.raw_bind_parameter(first + 1, id)?;
        stmt.raw_bind_parameter(first + 2, row.at)?;
        stmt.raw_bind_parameter(first + 3, row.status)?;
        stmt.raw_bind_parameter(first + 4, row.latency_us)?;
        stmt.raw_bind_parameter(first + 5, row.summary.as_str())?;
        stmt.raw_bind_parameter(first + 6, (prev > 0).then_some(prev))?;
        stmt.raw_bind_parameter(first + 7, row.reading.as_deref())?;
        stmt.raw_bind_parameter(first + 8, row.series)?;
        stmt.raw_bind_parameter(first + 9, row.vals.as_deref())
    };
    let whole = rows.len() - rows.len() % OBSERVATION_CHUNK;
    if whole > 0 {
        let mut stmt = tx.prepare_cached(&observation_insert_sql(OBSERVATION_CHUNK))?;
        for start in (0..whole).step_by(OBSERVATION_CHUNK) {
            for k in 0..OBSERVATION_CHUNK {
                bind(&mut stmt, k * OBSERVATION_PARAMS + 1, start + k)?;
            }
            stmt.raw_execute()?;
        }
    }
    if whole < rows.len() {
        let mut stmt = tx.prepare_cached(&observation_insert_sql(1))?;
        for i in whole..rows.len() {
            bind(&mut stmt, 1, i)?;
            stmt.raw_execute()?;
        }
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn record_observations(&self, batch: Vec<(Arc<str>, Observation)>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let rows = batch
            .into_iter()
            .map(|(check, o)| compact::Incoming::of(check, o))
            .collect::<Result<Vec<_>>>()?;
        let save_due = self
            .write(move |tx, cache| {
                compact::record(tx, cache, rows)?;
                Ok(cache.heads.as_ref().is_some_and(Heads::save_due))
            })
            .await?;
        if save_due {
            self.run(|inner| {
                let Inner { conn, cache } = inner;
                if let Some(heads) = cache.heads.as_mut()
                    && let Err(e) = heads.save(conn)
                {
                    // Nothing is lost: the rows since the last save are read again at start-up.
                    tracing::warn!(error = %e, "saving the history heads failed; will retry");
                }
                Ok(())
            })
            .await?;
        }
        Ok(())
    }

    async fn observations(
        &self,
        check: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Observation>> {
        self.save_open().await?;
        let check = check.to_owned();
        self.run(move |inner| {
            let Some(id) = known_check_id(&inner.conn, &inner.cache.check_ids, &check)? else {
                return Ok(Vec::new());
            };
            // The whole observations: from the newest row back along the links, while the
            // rows are recent enough. A link is only followed to a lower row id of the same
            // check: nothing else can be this check's older history (a pruned row's id is
            // never handed out again, and a row that is not there ends the chain).
            let mut next = inner.cache.heads(&inner.conn)?.get(id);
            let (since, limit) = (ms(since), limit);
            let mut whole: Vec<Observation> = Vec::new();
            {
                let mut stmt = inner.conn.prepare_cached(
                    "SELECT at, status, latency_us, summary, metrics, prev, reading, series, \
                     vals FROM observations WHERE id = ?1 AND check_id = ?2",
                )?;
                while next > 0 && (limit == 0 || whole.len() < limit) {
                    let mut rows = stmt.query(params![next, id])?;
                    let Some(r) = rows.next()? else { break };
                    let at: i64 = r.get(0)?;
                    if at < since {
                        break;
                    }
                    let latency_us: i64 = r.get(2)?;
                    let metrics: Option<String> = r.get(4)?;
                    let prev: Option<i64> = r.get(5)?;
                    let reading: Option<String> = r.get(6)?;
                    let series: Option<i64> = r.get(7)?;
                    let vals: Option<Vec<u8>> = r.get(8)?;
                    let metrics = match (series, vals, metrics) {
                        (Some(series), Some(vals), _) => {
                            let layout = inner.cache.compact.layout_of(&inner.conn, series)?;
                            compact::decode_values(&layout, &vals)?
                        }
                        // Written before version 5: the metrics as JSON.
                        (_, _, Some(m)) => {
                            from_json::<crate::probe::Metrics>("observation metrics", &m)?
                        }
                        _ => Default::default(),
                    };
                    whole.push(Observation {
                        at: from_ms(at)?,
                        status: status_from_code(r.get(1)?)?,
                        latency: Duration::from_micros(
                            u64::try_from(latency_us)
                                .map_err(|_| corrupt(format!("latency {latency_us} µs")))?,
                        ),
                        summary: r.get(3)?,
                        metrics,
                        // A reading this build cannot decode (a kind compiled out, or written
                        // by a newer version) leaves the rest of the observation readable.
                        reading: reading
                            .and_then(|r| serde_json::from_str::<crate::probe::Reading>(&r).ok())
                            .map(Arc::new),
                    });
                    next = prev.filter(|&p| p < next).unwrap_or(0);
                }
            }
            let since = since.max(compact::raw_horizon(&inner.conn)?);
            whole.retain(|o| ms(o.at) >= since);
            compact::observations(
                &inner.conn,
                &mut inner.cache.compact,
                whole,
                id,
                since,
                limit,
            )
        })
        .await
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64> {
        let before = ms(before);
        self.write(move |tx, _| {
            // The raw history (whole blocks, runs, and the front of the whole observations).
            let mut deleted = compact::shed_raw(tx, before)?;
            deleted += tx.execute("DELETE FROM transitions WHERE at < ?1", [before])? as u64;
            deleted += tx.execute(
                "DELETE FROM outbox WHERE state <> 'pending' AND incident_id IN \
                 (SELECT id FROM incidents WHERE resolved_at < ?1 AND state = 'resolved')",
                [before],
            )? as u64;
            deleted += tx.execute(
                "DELETE FROM incidents WHERE resolved_at < ?1 AND state = 'resolved'",
                [before],
            )? as u64;
            deleted += comms::prune(tx, before)?;
            deleted += agents::prune(tx, before)?;
            Ok(deleted)
        })
        .await
    }

    async fn prune_history(&self, now: DateTime<Utc>, retention: &HistoryRetention) -> Result<u64> {
        self.save_open().await?;
        let (now, retention) = (ms(now), retention.clone());
        self.write(move |tx, _| compact::prune(tx, now, &retention))
            .await
    }

    async fn rollups(
        &self,
        check: &str,
        tier: Tier,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Rollup>> {
        self.save_open().await?;
        let check = check.to_owned();
        self.run(move |inner| {
            let Some(id) = known_check_id(&inner.conn, &inner.cache.check_ids, &check)? else {
                return Ok(Vec::new());
            };
            compact::rollups(
                &inner.conn,
                &mut inner.cache.compact,
                id,
                tier,
                ms(since),
                ms(until),
            )
        })
        .await
    }

    async fn availability(&self, since: DateTime<Utc>) -> Result<Vec<Availability>> {
        self.save_open().await?;
        self.run(move |inner| {
            compact::availability(&inner.conn, &mut inner.cache.compact, ms(since))
        })
        .await
    }

    async fn space(&self) -> Result<Option<Space>> {
        let Some(path) = self.path.clone() else {
            return Ok(None);
        };
        let reusable = self
            .run(|inner| {
                let pages: i64 = inner
                    .conn
                    .pragma_query_value(None, "freelist_count", |r| r.get(0))?;
                let size: i64 = inner
                    .conn
                    .pragma_query_value(None, "page_size", |r| r.get(0))?;
                Ok(pages.max(0) as u64 * size.max(0) as u64)
            })
            .await?;
        let mut space = tokio::task::spawn_blocking(move || space_of(&path))
            .await
            .map_err(|e| Error::Store(format!("store task failed: {e}")))??;
        space.reusable = reusable;
        Ok(Some(space))
    }

    async fn shed_oldest_raw(&self) -> Result<Option<DateTime<Utc>>> {
        self.save_open().await?;
        let shed = self
            .write(|tx, _| {
                let Some(oldest) = compact::oldest_raw(tx)? else {
                    return Ok(None);
                };
                let through = Tier::Day.start_of(oldest) + Tier::Day.span_ms();
                compact::shed_raw(tx, through)?;
                Ok(Some(from_ms(through)?))
            })
            .await?;
        // Give the freed pages back to the file system where the file allows it (databases
        // made by this version), and the write-ahead log's room.
        self.run(|inner| {
            let mode: i64 = inner
                .conn
                .pragma_query_value(None, "auto_vacuum", |r| r.get(0))?;
            if mode == 2 {
                inner.conn.execute_batch("PRAGMA incremental_vacuum;")?;
            }
            inner
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })
        .await?;
        Ok(shed)
    }

    async fn save_check_states(&self, states: &[(String, CheckState)]) -> Result<()> {
        if states.is_empty() {
            return Ok(());
        }
        let rows = states
            .iter()
            .map(|(check, s)| Ok((check.clone(), to_json("check state", s)?, s.last_at.map(ms))))
            .collect::<Result<Vec<_>>>()?;
        self.write(move |tx, _| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO check_states(check_name, state, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(check_name) DO UPDATE SET \
                 state = excluded.state, updated_at = excluded.updated_at",
            )?;
            for (check, state, updated_at) in &rows {
                stmt.execute(params![check, state, updated_at])?;
            }
            Ok(())
        })
        .await
    }

    async fn load_check_states(&self) -> Result<Vec<(String, CheckState)>> {
        self.run(|inner| {
            let mut stmt = inner
                .conn
                .prepare_cached("SELECT check_name, state FROM check_states ORDER BY check_name")?;
            let raw = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            raw.into_iter()
                .map(|(check, json)| {
                    let state = from_json(&format!("state of check `{check}`"), &json)?;
                    Ok((check, state))
                })
                .collect()
        })
        .await
    }

    async fn record_transitions(&self, records: &[TransitionRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let rows = records
            .iter()
            .map(|r| {
                Ok((
                    r.check.clone(),
                    ms(r.at),
                    to_json("transition", &r.transition)?,
                    r.incident_id,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        self.write(move |tx, cache| {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO transitions(check_id, at, transition, incident_id) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (check, at, json, incident_id) in &rows {
                let id = check_id(tx, &mut cache.check_ids, check)?;
                stmt.execute(params![id, at, json, incident_id])?;
            }
            Ok(())
        })
        .await
    }

    async fn transitions(
        &self,
        check: Option<&str>,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TransitionRecord>> {
        let check = check.map(str::to_owned);
        self.run(move |inner| {
            let conn = &inner.conn;
            let raw = match check {
                Some(check) => {
                    let Some(id) = known_check_id(conn, &inner.cache.check_ids, &check)? else {
                        return Ok(Vec::new());
                    };
                    let mut stmt = conn.prepare_cached(
                        "SELECT c.name, t.at, t.transition, t.incident_id \
                         FROM transitions t JOIN checks c ON c.id = t.check_id \
                         WHERE t.check_id = ?1 AND t.at >= ?2 \
                         ORDER BY t.at DESC, t.id DESC LIMIT ?3",
                    )?;
                    stmt.query_map(params![id, ms(since), sql_limit(limit)], raw_transition)?
                        .collect::<rusqlite::Result<Vec<_>>>()?
                }
                None => {
                    let mut stmt = conn.prepare_cached(
                        "SELECT c.name, t.at, t.transition, t.incident_id \
                         FROM transitions t JOIN checks c ON c.id = t.check_id \
                         WHERE t.at >= ?1 ORDER BY t.at DESC, t.id DESC LIMIT ?2",
                    )?;
                    stmt.query_map(params![ms(since), sql_limit(limit)], raw_transition)?
                        .collect::<rusqlite::Result<Vec<_>>>()?
                }
            };
            raw.into_iter()
                .map(|(check, at, json, incident_id)| {
                    Ok(TransitionRecord {
                        transition: from_json(&format!("transition of check `{check}`"), &json)?,
                        check,
                        at: from_ms(at)?,
                        incident_id,
                    })
                })
                .collect()
        })
        .await
    }

    async fn insert_incident(&self, incident: &Incident) -> Result<i64> {
        let mut incident = incident.clone();
        self.write(move |tx, _| {
            tx.prepare_cached(
                "INSERT INTO incidents(check_name, state, opened_at, resolved_at, json) \
                 VALUES (?1, ?2, ?3, ?4, '')",
            )?
            .execute(params![
                incident.check,
                incident.state.as_str(),
                ms(incident.opened_at),
                incident.resolved_at.map(ms)
            ])?;
            let id = tx.last_insert_rowid();
            incident.id = id;
            tx.prepare_cached("UPDATE incidents SET json = ?2 WHERE id = ?1")?
                .execute(params![id, to_json("incident", &incident)?])?;
            Ok(id)
        })
        .await
    }

    async fn update_incident(&self, incident: &Incident) -> Result<()> {
        let id = incident.id;
        let json = to_json("incident", incident)?;
        let check = incident.check.clone();
        let state = incident.state.as_str();
        let opened_at = ms(incident.opened_at);
        let resolved_at = incident.resolved_at.map(ms);
        self.write(move |tx, _| {
            let changed = tx
                .prepare_cached(
                    "UPDATE incidents SET check_name = ?2, state = ?3, opened_at = ?4, \
                     resolved_at = ?5, json = ?6 WHERE id = ?1",
                )?
                .execute(params![id, check, state, opened_at, resolved_at, json])?;
            if changed == 0 {
                return Err(Error::NotFound {
                    what: "incident",
                    id: id.to_string(),
                });
            }
            Ok(())
        })
        .await
    }

    async fn incident(&self, id: i64) -> Result<Option<Incident>> {
        self.run(move |inner| {
            let json: Option<String> = inner
                .conn
                .prepare_cached("SELECT json FROM incidents WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            json.map(|j| from_json(&format!("incident {id}"), &j))
                .transpose()
        })
        .await
    }

    async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        let filter = filter.clone();
        self.run(move |inner| {
            let mut sql = String::from("SELECT id, json FROM incidents WHERE 1");
            if filter.active_only {
                sql.push_str(&format!(
                    " AND state <> '{}'",
                    IncidentState::Resolved.as_str()
                ));
            }
            if filter.check.is_some() {
                sql.push_str(" AND check_name = ?2");
            }
            sql.push_str(" ORDER BY opened_at DESC, id DESC LIMIT ?1");
            let mut stmt = inner.conn.prepare_cached(&sql)?;
            let limit = sql_limit(filter.limit);
            let raw = match &filter.check {
                Some(check) => stmt.query_map(params![limit, check], raw_incident)?,
                None => stmt.query_map(params![limit], raw_incident)?,
            }
            .collect::<rusqlite::Result<Vec<_>>>()?;
            raw.into_iter()
                .map(|(id, json)| from_json(&format!("incident {id}"), &json))
                .collect()
        })
        .await
    }

    async fn enqueue(&self, n: &Notification, now: DateTime<Utc>) -> Result<bool> {
        let json = to_json("notification", n)?;
        let (id, incident_id, sink, key) =
            (n.id.clone(), n.incident_id, n.sink.clone(), n.key.clone());
        let now = ms(now);
        self.write(move |tx, _| {
            let inserted = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO outbox(id, incident_id, sink, key, state, attempts, \
                     queued_at, next_attempt_at, json) \
                     VALUES (?1, ?2, ?3, ?4, 'pending', 0, ?5, ?5, ?6)",
                )?
                .execute(params![id, incident_id, sink, key, now, json])?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn sent_records(&self, incident_id: i64) -> Result<Vec<SentRecord>> {
        self.run(move |inner| {
            let mut stmt = inner.conn.prepare_cached(
                "SELECT sink, key, queued_at FROM outbox WHERE incident_id = ?1 \
                 ORDER BY queued_at, rowid",
            )?;
            let raw = stmt
                .query_map([incident_id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            raw.into_iter()
                .map(|(sink, key, at)| {
                    Ok(SentRecord {
                        sink,
                        key,
                        at: from_ms(at)?,
                    })
                })
                .collect()
        })
        .await
    }

    /// Pending rows due at `now`, oldest queued first, at most `limit` (0: no limit).
    async fn due_outbox(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxRow>> {
        let now = ms(now);
        self.run(move |inner| {
            query_outbox(
                &inner.conn,
                &format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox \
                     WHERE state = 'pending' AND next_attempt_at <= ?1 \
                     ORDER BY queued_at, rowid LIMIT ?2"
                ),
                params![now, sql_limit(limit)],
            )
        })
        .await
    }

    async fn next_outbox_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.run(|inner| {
            let next: Option<i64> = inner
                .conn
                .prepare_cached("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'")?
                .query_row([], |r| r.get(0))?;
            opt_from_ms(next)
        })
        .await
    }

    /// Marks a row delivered (from any state: a delivery is a fact) and counts the attempt.
    async fn mark_delivered(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        let id = id.to_owned();
        let at = ms(at);
        self.write(move |tx, _| {
            let changed = tx
                .prepare_cached(
                    "UPDATE outbox SET state = 'delivered', delivered_at = ?2, \
                     attempts = attempts + 1, last_error = NULL WHERE id = ?1",
                )?
                .execute(params![id, at])?;
            if changed == 0 {
                return Err(Error::NotFound {
                    what: "outbox row",
                    id,
                });
            }
            Ok(())
        })
        .await
    }

    /// Records a failed attempt of a pending row. A row that is no longer pending (delivered or
    /// dead) is left alone and reported as [`Error::Conflict`], so it can never be sent twice.
    async fn mark_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let id = id.to_owned();
        let error = error.to_owned();
        let retry_at = retry_at.map(ms);
        self.write(move |tx, _| {
            let changed = match retry_at {
                Some(t) => tx
                    .prepare_cached(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, \
                         next_attempt_at = ?3 WHERE id = ?1 AND state = 'pending'",
                    )?
                    .execute(params![id, error, t])?,
                None => tx
                    .prepare_cached(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, \
                         state = 'dead' WHERE id = ?1 AND state = 'pending'",
                    )?
                    .execute(params![id, error])?,
            };
            if changed == 0 {
                let state: Option<String> = tx
                    .prepare_cached("SELECT state FROM outbox WHERE id = ?1")?
                    .query_row([&id], |r| r.get(0))
                    .optional()?;
                return Err(match state {
                    None => Error::NotFound {
                        what: "outbox row",
                        id,
                    },
                    Some(state) => Error::Conflict(format!(
                        "outbox row {id} is {state}, not pending: failure not recorded"
                    )),
                });
            }
            Ok(())
        })
        .await
    }

    async fn defer(&self, id: &str, until: DateTime<Utc>) -> Result<()> {
        let id = id.to_owned();
        let until = ms(until);
        self.write(move |tx, _| {
            tx.prepare_cached(
                "UPDATE outbox SET next_attempt_at = ?2 WHERE id = ?1 AND state = 'pending'",
            )?
            .execute(params![id, until])?;
            Ok(())
        })
        .await
    }

    async fn outbox_rows(&self, incident_id: i64) -> Result<Vec<OutboxRow>> {
        self.run(move |inner| {
            query_outbox(
                &inner.conn,
                &format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE incident_id = ?1 \
                     ORDER BY queued_at, rowid"
                ),
                [incident_id],
            )
        })
        .await
    }

    async fn outbox_stats(&self) -> Result<OutboxStats> {
        self.run(|inner| {
            let (pending, retrying, dead, delivered, oldest): (i64, i64, i64, i64, Option<i64>) =
                inner
                    .conn
                    .prepare_cached(
                        "SELECT \
                           COUNT(*) FILTER (WHERE state = 'pending'), \
                           COUNT(*) FILTER (WHERE state = 'pending' AND attempts > 0), \
                           COUNT(*) FILTER (WHERE state = 'dead'), \
                           COUNT(*) FILTER (WHERE state = 'delivered'), \
                           MIN(queued_at) FILTER (WHERE state = 'pending') \
                         FROM outbox",
                    )?
                    .query_row([], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })?;
            Ok(OutboxStats {
                pending: pending as u64,
                retrying: retrying as u64,
                dead: dead as u64,
                delivered: delivered as u64,
                oldest_pending: opt_from_ms(oldest)?,
            })
        })
        .await
    }

    async fn installation_id(&self) -> Result<String> {
        Ok(self.installation.to_string())
    }

    async fn save_outage(&self, outage: &crate::broadcast::Outage) -> Result<i64> {
        let outage = outage.clone();
        self.write(move |tx, _| comms::save_outage(tx, &outage))
            .await
    }

    async fn outages(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<crate::broadcast::Outage>> {
        let since = ms(since);
        self.run(move |inner| comms::outages(&inner.conn, since, limit))
            .await
    }

    async fn use_ack_token(
        &self,
        token_id: &str,
        incident_id: i64,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let token = token_id.to_owned();
        let (expires_at, now) = (ms(expires_at), ms(now));
        self.write(move |tx, _| comms::use_ack_token(tx, &token, incident_id, expires_at, now))
            .await
    }

    async fn save_planned_maintenance(
        &self,
        plan: &crate::broadcast::PlannedMaintenance,
    ) -> Result<()> {
        let plan = plan.clone();
        self.write(move |tx, _| comms::save_planned(tx, &plan))
            .await
    }

    async fn planned_maintenance(&self) -> Result<Vec<crate::broadcast::PlannedMaintenance>> {
        self.run(move |inner| comms::planned(&inner.conn)).await
    }

    async fn delete_planned_maintenance(&self, id: &str) -> Result<bool> {
        let id = id.to_owned();
        self.write(move |tx, _| comms::delete_planned(tx, &id))
            .await
    }

    async fn create_agent(
        &self,
        name: &str,
        group: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (name, group, hash) = (name.to_owned(), group.to_owned(), token_hash.to_owned());
        self.write(move |tx, _| agents::create(tx, &name, &group, &hash, ms(now)))
            .await
    }

    async fn rotate_agent_token(
        &self,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        old_valid_until: DateTime<Utc>,
    ) -> Result<()> {
        let (name, hash) = (name.to_owned(), token_hash.to_owned());
        let (now, until) = (ms(now), ms(old_valid_until));
        self.write(move |tx, _| agents::rotate(tx, &name, &hash, now, until))
            .await
    }

    async fn revoke_agent(&self, name: &str, now: DateTime<Utc>) -> Result<()> {
        let name = name.to_owned();
        self.write(move |tx, _| agents::revoke(tx, &name, ms(now)))
            .await
    }

    async fn agent_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<AgentTokenCheck> {
        let hash = token_hash.to_owned();
        self.run(move |inner| agents::by_token(&inner.conn, &hash, ms(now)))
            .await
    }

    async fn agents(&self) -> Result<Vec<AgentRecord>> {
        self.run(move |inner| agents::list(&inner.conn)).await
    }

    async fn add_agent_checks(&self, agent: &str, checks: &[String]) -> Result<()> {
        let (agent, checks) = (agent.to_owned(), checks.to_vec());
        self.write(move |tx, _| agents::add_checks(tx, &agent, &checks))
            .await
    }

    async fn record_agent_observations(
        &self,
        agent: &str,
        outbox: &str,
        interval_secs: u64,
        now: DateTime<Utc>,
        batch: &[AgentObservation],
    ) -> Result<(Vec<bool>, i64)> {
        let (agent, outbox, batch) = (agent.to_owned(), outbox.to_owned(), batch.to_vec());
        self.write(move |tx, _| agents::record(tx, &agent, &outbox, interval_secs, ms(now), &batch))
            .await
    }

    async fn claim(&self) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut claim = self.claim.lock();
        if claim.is_none() {
            *claim = Some(lock_database(path)?);
        }
        Ok(())
    }

    async fn flush(&self) -> Result<()> {
        let label = self
            .path
            .as_ref()
            .map_or_else(|| ":memory:".to_owned(), |p| p.display().to_string());
        self.save_open().await?;
        self.run(move |inner| {
            // The heads too, so a restart need not read the latest rows again.
            if let Some(heads) = inner.cache.heads.as_mut() {
                heads
                    .save(&mut inner.conn)
                    .map_err(|e| Error::Store(format!("{label}: saving history heads: {e}")))?;
            }
            let (busy, _log, _done): (i64, i64, i64) = inner
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(|e| Error::Store(format!("{label}: checkpoint: {e}")))?;
            if busy != 0 {
                tracing::warn!(
                    database = %label,
                    "WAL checkpoint could not complete: another connection is using the database"
                );
            }
            Ok(())
        })
        .await
    }
}

/// Takes the exclusive lock on the lock file of the database at `db` and writes this process's
/// id into it, or says who holds it.
fn lock_database(db: &Path) -> Result<std::fs::File> {
    use std::io::{Read, Seek, Write};
    let lock = SqliteStore::lock_path(db);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .map_err(|e| Error::io(format!("opening the lock file {}", lock.display()), e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            // The holder writes its id right after locking: give it a moment to.
            let mut holder = String::new();
            for _ in 0..20 {
                holder.clear();
                let _ = file.seek(std::io::SeekFrom::Start(0));
                let _ = file.read_to_string(&mut holder);
                if !holder.trim().is_empty() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let holder = match holder.trim().parse::<u32>() {
                Ok(pid) => format!("pid {pid}"),
                Err(_) => "another process".to_owned(),
            };
            return Err(Error::Conflict(format!(
                "{} is in use by another running forewarn ({holder}, holding {}): stop it first, \
                 or give this one a `database` of its own",
                db.display(),
                lock.display()
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(Error::io(format!("locking {}", lock.display()), e));
        }
    }
    let written = file
        .set_len(0)
        .and_then(|_| file.seek(std::io::SeekFrom::Start(0)))
        .and_then(|_| writeln!(file, "{}", std::process::id()))
        .and_then(|_| file.flush());
    written.map_err(|e| Error::io(format!("writing {}", lock.display()), e))?;
    Ok(file)
}

/// The room of the database at `path` on its file system.
fn space_of(path: &Path) -> Result<Space> {
    let used = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(PathBuf::from(p)).ok()
        })
        .map(|m| m.len())
        .sum();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::Store(format!("{}: a path with a NUL byte", dir.display())))?;
    // SAFETY: statvfs(3) fills the zeroed struct it is given for a NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(Error::io(
            format!("reading the free space of {}", dir.display()),
            std::io::Error::last_os_error(),
        ));
    }
    let block = st.f_frsize as u64;
    Ok(Space {
        path: path.to_owned(),
        used,
        free: (st.f_bavail as u64).saturating_mul(block),
        total: (st.f_blocks as u64).saturating_mul(block),
        reusable: 0,
    })
}

fn raw_transition(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, i64, String, Option<i64>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn raw_incident(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String)> {
    Ok((r.get(0)?, r.get(1)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::UpdateKind;
    use crate::sink::NotificationKind;

    fn t(secs: i64) -> DateTime<Utc> {
        "2026-09-01T08:00:00Z".parse::<DateTime<Utc>>().unwrap() + chrono::Duration::seconds(secs)
    }

    fn obs(status: Status, summary: &str, secs: i64) -> Observation {
        Observation::new(status, summary, t(secs))
    }

    fn pragma_i64(store: &SqliteStore, name: &str) -> i64 {
        store
            .inner
            .lock()
            .conn
            .pragma_query_value(None, name, |r| r.get(0))
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_store_s_work_runs_on_one_thread_of_its_own_in_the_order_asked() {
        let store = SqliteStore::in_memory().unwrap();
        let caller = std::thread::current().id();
        // Asked all at once: one store thread, the calls run in the order they were asked.
        let ran = Arc::new(Mutex::new(Vec::new()));
        let calls = (0..64).map(|i| {
            let ran = Arc::clone(&ran);
            store.run(move |_| {
                ran.lock().push(i);
                Ok(std::thread::current().id())
            })
        });
        let done: Vec<_> = futures::future::join_all(calls)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(*ran.lock(), (0..64).collect::<Vec<_>>());
        let thread = done[0];
        assert!(done.iter().all(|t| *t == thread));
        assert_ne!(thread, caller);
        // It is the same thread later, and a clone's calls go to it too.
        let clone = store.clone();
        let later = clone
            .run(|_| Ok(std::thread::current().id()))
            .await
            .unwrap();
        assert_eq!(later, thread);
    }

    #[tokio::test]
    async fn a_panic_in_the_store_s_work_is_an_error_and_the_store_goes_on() {
        let store = SqliteStore::in_memory().unwrap();
        let e = store
            .run(|_| -> Result<()> { panic!("boom at row 7") })
            .await
            .unwrap_err();
        assert!(e.to_string().contains("boom at row 7"), "{e}");
        let e = store
            .run(|_| -> Result<()> { std::panic::panic_any(3_u8) })
            .await
            .unwrap_err();
        assert!(e.to_string().contains("a panic"), "{e}");
        // The connection and the thread are still there.
        store
            .record_observations(vec![("web".into(), obs(Status::Ok, "fine", 0))])
            .await
            .unwrap();
        assert_eq!(count(&store, "SELECT COUNT(*) FROM checks"), 1);
    }

    /// The one number `sql` selects (shared with the compact history's tests).
    pub(super) fn count(store: &SqliteStore, sql: &str) -> i64 {
        store
            .inner
            .lock()
            .conn
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    }

    fn incident(check: &str, secs: i64) -> Incident {
        Incident::open(
            check,
            Some("servers"),
            "default",
            Status::Critical,
            "connection refused",
            false,
            t(secs),
        )
    }

    fn note(incident: &Incident, sink: &str, key: &str, secs: i64) -> Notification {
        Notification::for_incident(
            incident,
            "f00d",
            sink,
            key,
            NotificationKind::Opened,
            t(secs),
        )
    }

    #[test]
    fn fresh_file_is_migrated_with_wal_and_reopen_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/deeper/forewarn.db");
        let store = SqliteStore::open(&path).unwrap();
        assert!(path.is_file(), "parent directories are created");
        assert_eq!(store.path(), Some(path.as_path()));
        assert_eq!(
            pragma_i64(&store, "user_version"),
            SqliteStore::SCHEMA_VERSION as i64
        );
        assert_eq!(pragma_i64(&store, "foreign_keys"), 1);
        assert_eq!(pragma_i64(&store, "synchronous"), 1, "NORMAL");
        assert_eq!(pragma_i64(&store, "busy_timeout"), 5_000);
        assert_eq!(pragma_i64(&store, "cache_size"), CACHE_SIZE_PRAGMA);
        assert_eq!(
            pragma_i64(&store, "wal_autocheckpoint"),
            WAL_AUTOCHECKPOINT_PAGES
        );
        let mode: String = store
            .inner
            .lock()
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        for table in [
            "checks",
            "observations",
            "check_states",
            "transitions",
            "incidents",
            "outbox",
        ] {
            let n = count(
                &store,
                &format!(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='{table}'"
                ),
            );
            assert_eq!(n, 1, "table {table}");
        }
        drop(store);
        let again = SqliteStore::open(&path).unwrap();
        assert_eq!(
            pragma_i64(&again, "user_version"),
            SqliteStore::SCHEMA_VERSION as i64
        );
    }

    #[test]
    fn migrations_apply_only_new_steps_and_roll_back_a_failed_one() {
        let mut conn = Connection::open_in_memory().unwrap();
        let v = |c: &Connection| -> i64 {
            c.pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap()
        };
        let m1 = "CREATE TABLE a (x INTEGER);";
        let m2 = "CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (1);";
        migrate(&mut conn, &[m1], "test.db").unwrap();
        assert_eq!(v(&conn), 1);
        // Re-running step 1 would fail (table exists): only step 2 may run.
        migrate(&mut conn, &[m1, m2], "test.db").unwrap();
        assert_eq!(v(&conn), 2);
        migrate(&mut conn, &[m1, m2], "test.db").unwrap();
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM a", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1, "step 2 ran exactly once");

        let broken = "CREATE TABLE c (z INTEGER); CREATE TABLE (;";
        let err = migrate(&mut conn, &[m1, m2, broken], "test.db").unwrap_err();
        assert!(matches!(err, Error::Store(_)), "{err:?}");
        assert!(err.to_string().contains("schema version 3"), "{err}");
        assert_eq!(v(&conn), 2, "the failed step is rolled back");
        let c: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'c'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(c, 0, "nothing of the failed step remains");
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forewarn.db");
        drop(SqliteStore::open(&path).unwrap());
        let newer = SqliteStore::SCHEMA_VERSION + 5;
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", newer)
            .unwrap();
        let err = SqliteStore::open(&path).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Store(_)), "{err:?}");
        assert!(
            msg.contains(&format!(
                "forewarn.db has schema version {newer}; this forewarn knows up to {}",
                SqliteStore::SCHEMA_VERSION
            )),
            "{msg}"
        );
        assert!(msg.contains(&path.display().to_string()), "{msg}");
    }

    #[tokio::test]
    async fn each_database_has_an_installation_id_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forewarn.db");
        let id = SqliteStore::open(&path)
            .unwrap()
            .installation_id()
            .await
            .unwrap();
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        // Kept by the file...
        let again = SqliteStore::open(&path).unwrap();
        assert_eq!(again.installation_id().await.unwrap(), id);
        drop(again);
        // ...and new with a new one: a reset database is another installation.
        std::fs::remove_file(&path).unwrap();
        let reset = SqliteStore::open(&path).unwrap();
        assert_ne!(reset.installation_id().await.unwrap(), id);
        let (a, b) = (
            SqliteStore::in_memory().unwrap(),
            SqliteStore::in_memory().unwrap(),
        );
        assert_ne!(
            a.installation_id().await.unwrap(),
            b.installation_id().await.unwrap()
        );
        // An older database gets one when it is migrated.
        let old = dir.path().join("v2.db");
        migrate(&mut Connection::open(&old).unwrap(), &MIGRATIONS[..2], "v2").unwrap();
        let migrated = SqliteStore::open(&old)
            .unwrap()
            .installation_id()
            .await
            .unwrap();
        assert_eq!(migrated.len(), 32, "{migrated}");
    }

    #[tokio::test]
    async fn one_claim_per_database_file_until_its_store_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("forewarn.db");
        let first = SqliteStore::open(&path).unwrap();
        first.claim().await.unwrap();
        first.clone().claim().await.unwrap();
        let lock = std::fs::read_to_string(SqliteStore::lock_path(&path)).unwrap();
        assert_eq!(lock.trim(), std::process::id().to_string());
        // Another store on the same file (as another process would open it) is refused...
        let second = SqliteStore::open(&path).unwrap();
        let err = second.claim().await.unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(msg.contains("forewarn.db.lock"), "{msg}");
        // ...but may read and write, and claims the file once the first is gone.
        assert!(
            second
                .incidents(&IncidentFilter::default())
                .await
                .unwrap()
                .is_empty()
        );
        drop(first);
        second.claim().await.unwrap();
        SqliteStore::in_memory().unwrap().claim().await.unwrap();
    }

    #[test]
    fn open_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();

        let err = SqliteStore::open(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Store(_)), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
        assert!(msg.contains("is a directory"), "{msg}");

        let file = dir.path().join("plain");
        std::fs::write(&file, "not a directory").unwrap();
        let err = SqliteStore::open(file.join("forewarn.db")).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&file.display().to_string()),
            "{err}"
        );

        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
        let err = SqliteStore::open(&garbage).unwrap_err();
        assert!(matches!(err, Error::Store(_)), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&garbage.display().to_string()), "{msg}");
        assert!(msg.contains("not a database"), "{msg}");

        // Root may write anything; the read-only case is only observable for other users.
        if unsafe { libc::geteuid() } != 0 {
            use std::os::unix::fs::PermissionsExt;
            let ro = dir.path().join("ro.db");
            drop(SqliteStore::open(&ro).unwrap());
            std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
            let err = SqliteStore::open(&ro).unwrap_err();
            assert!(err.to_string().contains(&ro.display().to_string()), "{err}");
        }
    }

    #[tokio::test]
    async fn observations_round_trip_newest_first_with_since_and_limit() {
        let store = SqliteStore::in_memory().unwrap();
        let batch = vec![
            (
                "db".into(),
                obs(Status::Ok, "connected in 3 ms", 0)
                    .with_latency(Duration::from_micros(3_250))
                    .with_metric("time", 0.00325, "s"),
            ),
            (
                "web".into(),
                obs(Status::Warning, "slow", 5).with_reading(crate::probe::Reading::Http(
                    crate::probe::reading::HttpReading {
                        status_code: 200,
                        cert_not_after: Some(t(86_400 * 30)),
                        cert_days_left: Some(30.0),
                        body_bytes: Some(512),
                    },
                )),
            ),
            (
                "db".into(),
                obs(Status::Critical, "connection refused", 60)
                    .with_latency(Duration::from_millis(1500))
                    .with_metric("time", 1.5, "s")
                    .with_metric("retries", 2.0, ""),
            ),
            (
                "db".into(),
                obs(Status::Unknown, "probe panicked", 120).with_reading(
                    crate::probe::Reading::Database(crate::probe::reading::DatabaseReading {
                        engine: "postgres".into(),
                        role: Some(crate::probe::reading::DatabaseRole::Replica),
                        replication_lag_seconds: Some(4.5),
                        ..Default::default()
                    }),
                ),
            ),
            ("db".into(), obs(Status::Warning, "disk 91 %", 180)),
        ];
        store.record_observations(batch.clone()).await.unwrap();

        let all = store.observations("db", t(-3600), 0).await.unwrap();
        let expected: Vec<Observation> = [4, 3, 2, 0].iter().map(|&i| batch[i].1.clone()).collect();
        assert_eq!(all, expected, "newest first, every field kept");
        assert_eq!(all[2].metrics["retries"].unit, "");
        assert_eq!(all[2].latency, Duration::from_millis(1500));

        let since = store.observations("db", t(60), 0).await.unwrap();
        assert_eq!(
            since.iter().map(|o| o.at).collect::<Vec<_>>(),
            vec![t(180), t(120), t(60)],
            "since is inclusive"
        );
        let limited = store.observations("db", t(-3600), 2).await.unwrap();
        assert_eq!(limited, expected[..2].to_vec());
        assert_eq!(
            store.observations("web", t(0), 0).await.unwrap(),
            vec![batch[1].1.clone()]
        );
        assert!(
            store
                .observations("nope", t(0), 0)
                .await
                .unwrap()
                .is_empty()
        );

        // A reading this build cannot decode leaves the rest of the observation readable.
        store
            .run(|inner| {
                inner.conn.execute(
                    "UPDATE observations SET reading = '{\"kind\":\"toaster\"}' \
                     WHERE summary = 'slow'",
                    [],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let web = store.observations("web", t(0), 0).await.unwrap();
        assert_eq!((web[0].summary.as_str(), &web[0].reading), ("slow", &None));

        // Metrics are numbers of a series, not JSON; none are stored as NULL.
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM observations WHERE vals IS NULL AND series IS NULL"
            ),
            3
        );
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM observations WHERE metrics IS NOT NULL"
            ),
            0
        );
        assert_eq!(count(&store, "SELECT COUNT(*) FROM checks"), 2);
    }

    #[tokio::test]
    async fn ten_thousand_rows_in_one_batch() {
        let store = SqliteStore::in_memory().unwrap();
        let checks = 1_000;
        let batch: Vec<(Arc<str>, Observation)> = (0..10_000)
            .map(|i| {
                // Not OK: every one is a whole row.
                let status = if i % 7 == 0 {
                    Status::Critical
                } else {
                    Status::Warning
                };
                let mut o = obs(status, &format!("row {i}"), i as i64)
                    .with_latency(Duration::from_micros(i as u64));
                if i % 10 == 0 {
                    o = o.with_metric("n", i as f64, "");
                }
                (format!("host-{:04}", i % checks).into(), o)
            })
            .collect();
        store.record_observations(batch.clone()).await.unwrap();
        assert_eq!(count(&store, "SELECT COUNT(*) FROM observations"), 10_000);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM checks"), checks as i64);
        assert_eq!(
            count(
                &store,
                "SELECT COUNT(*) FROM observations WHERE vals IS NOT NULL"
            ),
            1_000
        );

        let got = store.observations("host-0042", t(-1), 0).await.unwrap();
        let want: Vec<Observation> = batch
            .iter()
            .filter(|(c, _)| &**c == "host-0042")
            .rev()
            .map(|(_, o)| o.clone())
            .collect();
        assert_eq!(got.len(), 10);
        assert_eq!(got, want);
        // A second batch reuses the cached ids.
        store
            .record_observations(batch[..100].to_vec())
            .await
            .unwrap();
        assert_eq!(count(&store, "SELECT COUNT(*) FROM checks"), checks as i64);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM observations"), 10_100);
    }

    #[tokio::test]
    async fn the_id_cache_keeps_the_monitors_own_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let first: Arc<str> = Arc::from("web");
        let store = SqliteStore::open(&path).unwrap();
        store
            .record_observations(vec![(first.clone(), obs(Status::Ok, "up", 1))])
            .await
            .unwrap();
        drop(store);
        // Reopened: the cache holds the names read from the database, until a batch brings
        // the monitor's shared name; then that one is the key, and the ids stay the same.
        let store = SqliteStore::open(&path).unwrap();
        let shared: Arc<str> = Arc::from("web");
        let read_back = |store: &SqliteStore| {
            let inner = store.inner.lock();
            let (key, &id) = inner.cache.check_ids.get_key_value("web").unwrap();
            (key.clone(), id)
        };
        let (key, id) = read_back(&store);
        assert!(!Arc::ptr_eq(&key, &shared));
        drop(key);
        for at in 2..4 {
            store
                .record_observations(vec![(shared.clone(), obs(Status::Ok, "up", at))])
                .await
                .unwrap();
            let (key, again) = read_back(&store);
            assert!(Arc::ptr_eq(&key, &shared));
            assert_eq!(again, id);
        }
        assert_eq!(
            store.observations("web", t(0), 0).await.unwrap().len(),
            3,
            "one check, all its rows"
        );
    }

    #[tokio::test]
    async fn a_failed_batch_writes_nothing_and_forgets_uncommitted_check_ids() {
        let store = SqliteStore::in_memory().unwrap();
        store
            .record_observations(vec![("old".into(), obs(Status::Ok, "fine", 0))])
            .await
            .unwrap();
        store
            .inner
            .lock()
            .conn
            .execute_batch(
                "CREATE TRIGGER boom BEFORE INSERT ON observations WHEN NEW.summary = 'boom' \
                 BEGIN SELECT RAISE(ABORT, 'boom refused'); END;",
            )
            .unwrap();
        let bad = vec![
            ("new".into(), obs(Status::Ok, "first", 1)),
            ("old".into(), obs(Status::Ok, "second", 2)),
            ("new".into(), obs(Status::Critical, "boom", 3)),
        ];
        let err = store.record_observations(bad.clone()).await.unwrap_err();
        assert!(err.to_string().contains("boom refused"), "{err}");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM observations"), 1);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM checks"), 1);
        assert!(store.observations("new", t(0), 0).await.unwrap().is_empty());
        // A stale cached id for "new" would now violate the foreign key.
        store
            .record_observations(bad[..2].to_vec())
            .await
            .expect("the check is added again");
        assert_eq!(store.observations("new", t(0), 0).await.unwrap().len(), 1);
        assert_eq!(store.observations("old", t(0), 0).await.unwrap().len(), 2);
    }

    /// What `observations` returns for `check`, as (seconds, summary) pairs.
    async fn history(store: &SqliteStore, check: &str) -> Vec<(i64, String)> {
        store
            .observations(check, t(-1_000_000), 0)
            .await
            .unwrap()
            .into_iter()
            .map(|o| ((o.at - t(0)).num_seconds(), o.summary))
            .collect()
    }

    #[tokio::test]
    async fn history_survives_a_crash_and_a_clean_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let store = SqliteStore::open(&path).unwrap();
        for round in 0..3 {
            let batch = ["a", "b", "c"]
                .iter()
                .map(|c| {
                    (
                        Arc::from(*c),
                        obs(Status::Warning, &format!("{c}{round}"), round),
                    )
                })
                .collect();
            store.record_observations(batch).await.unwrap();
        }
        // Dropped without `flush`, as after a crash: no head was saved, so opening again reads
        // the rows since the last save (all of them) to find each check's newest row.
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(count(&store, "SELECT watermark FROM history_heads"), 0);
        assert_eq!(
            history(&store, "b").await,
            [(2, "b2"), (1, "b1"), (0, "b0")].map(|(t, s)| (t, s.to_owned()))
        );
        store
            .record_observations(vec![("b".into(), obs(Status::Warning, "b3", 3))])
            .await
            .unwrap();
        assert_eq!(
            history(&store, "b").await.len(),
            4,
            "the new row links to the old ones"
        );
        // A clean stop saves the heads: the next start has nothing to read again.
        store.flush().await.unwrap();
        assert_eq!(count(&store, "SELECT watermark FROM history_heads"), 10);
        assert_eq!(
            count(&store, "SELECT last_obs FROM checks WHERE name = 'b'"),
            10
        );
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(history(&store, "b").await.len(), 4);
        assert_eq!(history(&store, "a").await.len(), 3);
        assert_eq!(
            store.inner.lock().cache.heads.as_ref().unwrap().next_row,
            11
        );
    }

    #[tokio::test]
    async fn version_1_history_is_linked_by_the_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate(&mut conn, &MIGRATIONS[..1], "v1").unwrap();
            conn.execute_batch(
                "INSERT INTO checks(id, name) VALUES (1, 'db'), (2, 'web');
                 INSERT INTO observations(check_id, at, status, latency_us, summary, metrics)
                 VALUES (1, 1788249600000, 0, 10, 'db0', NULL),
                        (2, 1788249600000, 0, 10, 'web0', NULL),
                        (1, 1788249605000, 2, 10, 'db1', '{\"t\":{\"value\":1.0,\"unit\":\"s\"}}'),
                        (1, 1788249610000, 0, 10, 'db2', NULL);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            pragma_i64(&store, "user_version"),
            SqliteStore::SCHEMA_VERSION as i64
        );
        let db = store.observations("db", t(-1), 0).await.unwrap();
        assert_eq!(
            db.iter().map(|o| o.summary.as_str()).collect::<Vec<_>>(),
            ["db2", "db1", "db0"]
        );
        assert_eq!(db[1].status, Status::Critical);
        assert_eq!(db[1].metrics["t"].value, 1.0);
        assert_eq!(history(&store, "web").await, [(0, "web0".to_owned())]);
        store
            .record_observations(vec![("db".into(), obs(Status::Ok, "db3", 15))])
            .await
            .unwrap();
        assert_eq!(history(&store, "db").await.len(), 4);
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'observations'"
            ),
            0,
            "no index to keep up per row"
        );
    }

    #[tokio::test]
    async fn version_4_history_is_kept_and_counted_into_rollups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.db");
        let base = ms(t(0));
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate(&mut conn, &MIGRATIONS[..4], "v4").unwrap();
            conn.execute_batch("INSERT INTO checks(id, name) VALUES (1, 'db');")
                .unwrap();
            // Two hours of one row per 5 s, one in ten critical, each row linked to the last.
            let mut stmt = conn
                .prepare(
                    "INSERT INTO observations(id, check_id, at, status, latency_us, summary, \
                     metrics, prev) VALUES (?1, 1, ?2, ?3, 100, 'row', \
                     '{\"t\":{\"value\":0.5,\"unit\":\"s\"}}', ?4)",
                )
                .unwrap();
            for i in 0..1440i64 {
                let status = if i % 10 == 0 { 2 } else { 0 };
                let prev = (i > 0).then_some(i);
                stmt.execute(params![i + 1, base + i * 5000, status, prev])
                    .unwrap();
            }
            conn.execute("UPDATE checks SET last_obs = 1440", [])
                .unwrap();
            conn.execute(
                "INSERT INTO history_heads(id, watermark) VALUES (1, 1440) \
                 ON CONFLICT(id) DO UPDATE SET watermark = 1440",
                [],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            pragma_i64(&store, "user_version"),
            SqliteStore::SCHEMA_VERSION as i64
        );
        // The rows are read as they were.
        let all = store.observations("db", t(-1), 0).await.unwrap();
        assert_eq!(all.len(), 1440);
        assert_eq!(all[0].metrics["t"].value, 0.5);
        // Their hours and days are counted: availability reaches back as far as they do.
        let hours = store
            .rollups("db", Tier::Hour, t(-1), t(3 * 3600))
            .await
            .unwrap();
        assert_eq!(
            hours
                .iter()
                .map(|r| (r.count, r.failures))
                .collect::<Vec<_>>(),
            vec![(720, 72), (720, 72)]
        );
        let a = store.availability(t(-3600)).await.unwrap();
        assert_eq!((a[0].count, a[0].failures), (1440, 144));
        assert_eq!(a[0].availability, Some(0.9));
        // New observations go on into the compact history.
        store
            .record_observations(vec![("db".into(), obs(Status::Ok, "row", 7200))])
            .await
            .unwrap();
        assert_eq!(
            store.observations("db", t(-1), 0).await.unwrap().len(),
            1441
        );
    }

    #[tokio::test]
    async fn the_oldest_day_of_raw_history_is_shed_to_make_room() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("h.db")).unwrap();
        assert_eq!(store.shed_oldest_raw().await.unwrap(), None);
        // Three days, an observation an hour, every one failing (whole rows and blocks).
        for h in 0..72 {
            store
                .record_observations(vec![(
                    "db".into(),
                    obs(Status::Critical, "down", h * 3600).with_metric("t", 1.0, "s"),
                )])
                .await
                .unwrap();
        }
        store.flush().await.unwrap();
        let space = store.space().await.unwrap().unwrap();
        assert!(
            space.total > 0 && space.free > 0 && space.used > 0,
            "{space:?}"
        );
        let pages = pragma_i64(&store, "page_count");
        let through = store.shed_oldest_raw().await.unwrap().unwrap();
        // t(0) is 08:00 UTC: the first day ends at midnight, 16 hours later.
        assert_eq!(through, t(16 * 3600));
        let left = store.observations("db", t(-1), 0).await.unwrap();
        assert_eq!(left.len(), 72 - 16);
        assert!(left.iter().all(|o| o.at >= through));
        // The rollups are not raw history: they stay.
        let days = store
            .rollups("db", Tier::Day, t(-86_400), t(4 * 86_400))
            .await
            .unwrap();
        assert_eq!(days.iter().map(|d| d.count).sum::<u64>(), 72);
        // This database was made by this version: freed pages went back to the disk.
        assert_eq!(pragma_i64(&store, "auto_vacuum"), 2);
        assert!(pragma_i64(&store, "freelist_count") <= 1);
        assert!(pragma_i64(&store, "page_count") < pages);
    }

    #[tokio::test]
    async fn pruning_removes_the_oldest_rows_and_stragglers_near_them() {
        let store = SqliteStore::in_memory().unwrap();
        // 10,000 rows, one per second over 50 checks, plus late results: recorded after
        // newer ones but with an older time.
        let mut batch: Vec<(Arc<str>, Observation)> = Vec::new();
        for i in 0..10_000 {
            // Not OK: every one is a whole row.
            batch.push((
                format!("c{}", i % 50).into(),
                obs(Status::Warning, "on time", i),
            ));
            if i % 1_000 == 999 {
                batch.push(("late".into(), obs(Status::Warning, "late", i - 500)));
            }
            if i == 6_100 {
                // Past the first unexpired row: found by looking ahead of it.
                batch.push(("late".into(), obs(Status::Warning, "late", 5_990)));
            }
        }
        for chunk in batch.chunks(4_096) {
            store.record_observations(chunk.to_vec()).await.unwrap();
        }
        store.save_open().await.unwrap();
        let blocks = count(
            &store,
            &format!(
                "SELECT count(*) FROM samples WHERE end_at < {}",
                ms(t(6_000))
            ),
        );
        assert_eq!(blocks, 51, "each check's first hour");
        let deleted = store.prune(t(6_000)).await.unwrap();
        // 6,000 on time, and the late ones from before 6,000 (499 … 5,499, and 5,990), as
        // whole rows, and the blocks of samples that end before the cut.
        assert_eq!(deleted, 6_000 + 7 + 51);
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM observations WHERE at < (SELECT min(at) FROM observations WHERE summary = 'on time')"
            ),
            0
        );
        let c7 = history(&store, "c7").await;
        assert_eq!(c7.len(), 80);
        assert_eq!(c7.first().unwrap().0, 9_957);
        assert_eq!(
            c7.last().unwrap().0,
            6_007,
            "the chain ends where pruning cut it"
        );
        assert_eq!(history(&store, "late").await.len(), 4);
        assert_eq!(store.prune(t(6_000)).await.unwrap(), 0);
        // Everything pruned: new rows still get ids above the old ones, so no link of an old
        // row can point at a new one.
        let last = count(&store, "SELECT max(id) FROM observations");
        store.prune(t(1_000_000)).await.unwrap();
        assert_eq!(count(&store, "SELECT count(*) FROM observations"), 0);
        store
            .record_observations(vec![(
                "c7".into(),
                obs(Status::Warning, "again", 2_000_000),
            )])
            .await
            .unwrap();
        assert!(count(&store, "SELECT max(id) FROM observations") > last);
        assert_eq!(
            history(&store, "c7").await,
            [(2_000_000, "again".to_owned())]
        );
    }

    #[tokio::test]
    async fn a_link_to_another_checks_row_ends_the_history() {
        let store = SqliteStore::in_memory().unwrap();
        let batch = vec![
            ("a".into(), obs(Status::Warning, "a0", 0)),
            ("b".into(), obs(Status::Warning, "b0", 1)),
            ("a".into(), obs(Status::Warning, "a1", 2)),
        ];
        store.record_observations(batch).await.unwrap();
        // Damaged by hand: a's newest row now claims b's row as its previous one.
        store
            .inner
            .lock()
            .conn
            .execute("UPDATE observations SET prev = 2 WHERE summary = 'a1'", [])
            .unwrap();
        // a's chain ends at the damage; its older sample is still there, without its words.
        assert_eq!(
            history(&store, "a").await,
            [(2, "a1".to_owned()), (0, "warning".to_owned())]
        );
        assert_eq!(history(&store, "b").await, [(1, "b0".to_owned())]);
    }

    #[tokio::test]
    async fn incidents_insert_update_and_filter() {
        let store = SqliteStore::in_memory().unwrap();
        let a = store.insert_incident(&incident("db", 0)).await.unwrap();
        let b = store.insert_incident(&incident("web", 10)).await.unwrap();
        let c = store.insert_incident(&incident("db", 20)).await.unwrap();
        assert_eq!((a, b, c), (1, 2, 3));

        let stored = store.incident(a).await.unwrap().unwrap();
        let mut want = incident("db", 0);
        want.id = a;
        assert_eq!(stored, want);
        let json: String = store
            .inner
            .lock()
            .conn
            .query_row("SELECT json FROM incidents WHERE id = 2", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Incident>(&json).unwrap().id,
            2,
            "the stored JSON carries the assigned id"
        );
        assert!(store.incident(99).await.unwrap().is_none());

        let mut first = stored;
        first.acknowledge("ana", Some("on it"), t(5)).unwrap();
        first.push(
            UpdateKind::Note,
            Status::Critical,
            "vendor called",
            Some("ana"),
            t(6),
        );
        first.resolve("back", t(30));
        store.update_incident(&first).await.unwrap();
        assert_eq!(store.incident(a).await.unwrap().unwrap(), first);

        let ids = |v: Vec<Incident>| v.into_iter().map(|i| i.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.incidents(&IncidentFilter::default()).await.unwrap()),
            [c, b, a]
        );
        let active = IncidentFilter {
            active_only: true,
            ..Default::default()
        };
        assert_eq!(ids(store.incidents(&active).await.unwrap()), [c, b]);
        let db = IncidentFilter {
            check: Some("db".to_owned()),
            ..Default::default()
        };
        assert_eq!(ids(store.incidents(&db).await.unwrap()), [c, a]);
        let db_active = IncidentFilter {
            active_only: true,
            check: Some("db".to_owned()),
            limit: 0,
        };
        assert_eq!(ids(store.incidents(&db_active).await.unwrap()), [c]);
        let newest = IncidentFilter {
            limit: 2,
            ..Default::default()
        };
        assert_eq!(ids(store.incidents(&newest).await.unwrap()), [c, b]);

        let mut ghost = incident("db", 0);
        ghost.id = 42;
        match store.update_incident(&ghost).await.unwrap_err() {
            Error::NotFound { what, id } => assert_eq!((what, id.as_str()), ("incident", "42")),
            other => panic!("expected NotFound, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn failures_back_off_then_die() {
        let store = SqliteStore::in_memory().unwrap();
        let mut inc = incident("db", 0);
        inc.id = 7;
        let n = note(&inc, "mail", "opened", 0);
        store.enqueue(&n, t(0)).await.unwrap();

        store
            .mark_failed(&n.id, "connection refused", Some(t(60)))
            .await
            .unwrap();
        assert!(
            store.due_outbox(t(59), 10).await.unwrap().is_empty(),
            "backing off"
        );
        assert_eq!(store.next_outbox_due().await.unwrap(), Some(t(60)));
        let due = store.due_outbox(t(60), 10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].attempts, 1);
        assert_eq!(due[0].state, OutboxState::Pending);
        assert_eq!(due[0].last_error.as_deref(), Some("connection refused"));
        assert_eq!(due[0].queued_at, t(0), "queued_at keeps the order");

        store
            .mark_failed(&n.id, "timed out", Some(t(180)))
            .await
            .unwrap();
        store
            .mark_failed(&n.id, "mailbox unavailable", None)
            .await
            .unwrap();
        let rows = store.outbox_rows(7).await.unwrap();
        assert_eq!(rows[0].state, OutboxState::Dead);
        assert_eq!(rows[0].attempts, 3);
        assert_eq!(rows[0].last_error.as_deref(), Some("mailbox unavailable"));
        assert!(store.due_outbox(t(10_000), 10).await.unwrap().is_empty());
        assert_eq!(store.next_outbox_due().await.unwrap(), None);

        let err = store
            .mark_failed(&n.id, "again", Some(t(1)))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Conflict(_)), "{err:?}");
        assert_eq!(
            store.outbox_rows(7).await.unwrap()[0].state,
            OutboxState::Dead
        );
        assert!(matches!(
            store.mark_failed("nope", "x", None).await.unwrap_err(),
            Error::NotFound {
                what: "outbox row",
                ..
            }
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_calls_from_many_tasks() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path().join("forewarn.db")).unwrap());
        let mut tasks = Vec::new();
        for task in 0..8 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                for round in 0..20 {
                    let batch: Vec<(Arc<str>, Observation)> = (0..50)
                        .map(|i| {
                            (
                                format!("check-{}", (task * 7 + i) % 30).into(),
                                obs(Status::Ok, "ok", i64::from(round * 100 + i)),
                            )
                        })
                        .collect();
                    store.record_observations(batch.clone()).await.unwrap();
                    let mut inc = incident(&format!("task-{task}"), i64::from(round));
                    inc.id = store.insert_incident(&inc).await.unwrap();
                    assert!(
                        store
                            .enqueue(&note(&inc, "mail", "opened", 0), t(0))
                            .await
                            .unwrap()
                    );
                    store.incidents(&IncidentFilter::default()).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let mut seen = 0;
        for c in 0..30 {
            seen += store
                .observations(&format!("check-{c}"), t(-1), 0)
                .await
                .unwrap()
                .len();
        }
        assert_eq!(seen, 8 * 20 * 50);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM checks"), 30);
        let all = store.incidents(&IncidentFilter::default()).await.unwrap();
        assert_eq!(all.len(), 160);
        let mut ids: Vec<i64> = all.iter().map(|i| i.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, (1..=160).collect::<Vec<_>>(), "every id assigned once");
        assert_eq!(store.outbox_stats().await.unwrap().pending, 160);
    }
}
