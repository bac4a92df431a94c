//! The agent's local outbox: observations wait here, numbered, until the central confirms
//! them. One SQLite file in WAL mode; the numbers come from an `AUTOINCREMENT` key, so they
//! keep increasing across restarts and are never reused.

use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;
use rusqlite::{Connection, params};

use crate::agents::PushedObservation;
use crate::error::{Error, Result};
use crate::probe::Observation;

/// The agent's outbox (cheap to clone; clones share one connection).
#[derive(Debug, Clone)]
pub struct AgentOutbox {
    conn: Arc<Mutex<Connection>>,
    label: Arc<str>,
    id: Arc<str>,
}

impl AgentOutbox {
    /// Opens (creating) the outbox at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let label: Arc<str> = path.display().to_string().into();
        let at = |e: rusqlite::Error| Error::Store(format!("agent outbox {label}: {e}"));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        let conn = Connection::open(path).map_err(at)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS outbox (
                 seq        INTEGER PRIMARY KEY AUTOINCREMENT,
                 check_name TEXT NOT NULL,
                 json       TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS meta (
                 key   TEXT PRIMARY KEY,
                 value TEXT NOT NULL
             ) WITHOUT ROWID;",
        )
        .map_err(at)?;
        // The outbox's own id, made once: the central tells a new outbox (numbering from 1
        // again) from retries of this one's observations.
        let fresh = hex::encode(rand::random::<[u8; 16]>());
        conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('id', ?1)",
            [&fresh],
        )
        .map_err(at)?;
        let id: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'id'", [], |r| r.get(0))
            .map_err(at)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            label,
            id: id.into(),
        })
    }

    /// This outbox's id (random, made when the file was created), sent with every push.
    pub fn id(&self) -> &str {
        &self.id
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T> {
        let (conn, label) = (self.conn.clone(), self.label.clone());
        tokio::task::spawn_blocking(move || f(&mut conn.lock()))
            .await
            .map_err(|e| Error::Store(format!("agent outbox {label}: task failed: {e}")))?
            .map_err(|e| Error::Store(format!("agent outbox {label}: {e}")))
    }

    /// Keeps observations, numbering them in order.
    pub async fn push(&self, observations: Vec<(String, Observation)>) -> Result<()> {
        let mut rows = Vec::with_capacity(observations.len());
        for (check, obs) in observations {
            let json = serde_json::to_string(&obs)
                .map_err(|e| Error::Store(format!("encoding an observation: {e}")))?;
            rows.push((check, json));
        }
        self.run(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt =
                    tx.prepare_cached("INSERT INTO outbox(check_name, json) VALUES (?1, ?2)")?;
                for (check, json) in &rows {
                    stmt.execute(params![check, json])?;
                }
            }
            tx.commit()
        })
        .await
    }

    /// The oldest `limit` waiting observations, in order.
    pub async fn oldest(&self, limit: usize) -> Result<Vec<PushedObservation>> {
        let raw: Vec<(i64, String, String)> = self
            .run(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT seq, check_name, json FROM outbox ORDER BY seq LIMIT ?1",
                )?;
                stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect()
            })
            .await?;
        raw.into_iter()
            .map(|(seq, check, json)| {
                let observation = serde_json::from_str(&json).map_err(|e| {
                    Error::Store(format!(
                        "agent outbox {}: observation {seq}: {e}",
                        self.label
                    ))
                })?;
                Ok(PushedObservation {
                    seq,
                    check,
                    observation,
                })
            })
            .collect()
    }

    /// Drops what the central stored (every `seq` up to `stored_up_to`); returns how many.
    pub async fn confirm(&self, stored_up_to: i64) -> Result<usize> {
        self.run(move |conn| conn.execute("DELETE FROM outbox WHERE seq <= ?1", [stored_up_to]))
            .await
    }

    /// How many observations wait.
    pub async fn len(&self) -> Result<u64> {
        self.run(|conn| conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get::<_, i64>(0)))
            .await
            .map(|n| n.max(0) as u64)
    }

    /// Whether nothing waits.
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Status;

    #[tokio::test]
    async fn numbers_keep_increasing_across_reopen_and_confirm() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.db");
        let at = chrono::Utc::now();
        let o = AgentOutbox::open(&path).unwrap();
        o.push(vec![
            ("host".into(), Observation::new(Status::Ok, "a", at)),
            ("host".into(), Observation::new(Status::Ok, "b", at)),
        ])
        .await
        .unwrap();
        let rows = o.oldest(10).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(o.confirm(2).await.unwrap(), 2);
        drop(o);
        let o = AgentOutbox::open(&path).unwrap();
        o.push(vec![("host".into(), Observation::new(Status::Ok, "c", at))])
            .await
            .unwrap();
        assert_eq!(o.oldest(10).await.unwrap()[0].seq, 3);
        assert_eq!(o.len().await.unwrap(), 1);
    }

    #[test]
    fn the_id_is_kept_by_the_file_and_new_with_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.db");
        let id = AgentOutbox::open(&path).unwrap().id().to_owned();
        assert_eq!(id.len(), 32, "{id}");
        assert_eq!(AgentOutbox::open(&path).unwrap().id(), id);
        std::fs::remove_file(&path).unwrap();
        assert_ne!(AgentOutbox::open(&path).unwrap().id(), id);
    }
}
