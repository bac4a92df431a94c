//! The tables of proactive communication: service outages, used acknowledgement tokens, and
//! maintenance planned at run time.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{from_json, ms, sql_limit, to_json};
use crate::broadcast::{Outage, PlannedMaintenance};
use crate::error::Result;

pub(super) fn save_outage(tx: &Transaction<'_>, outage: &Outage) -> Result<i64> {
    let mut outage = outage.clone();
    if outage.id == 0 {
        tx.prepare_cached("INSERT INTO outages(started_at, closed, json) VALUES (?1, ?2, '')")?
            .execute(params![ms(outage.started_at), outage.closed])?;
        outage.id = tx.last_insert_rowid();
    }
    let changed = tx
        .prepare_cached("UPDATE outages SET started_at = ?2, closed = ?3, json = ?4 WHERE id = ?1")?
        .execute(params![
            outage.id,
            ms(outage.started_at),
            outage.closed,
            to_json("outage", &outage)?
        ])?;
    if changed == 0 {
        return Err(crate::Error::NotFound {
            what: "outage",
            id: outage.id.to_string(),
        });
    }
    Ok(outage.id)
}

pub(super) fn outages(
    conn: &rusqlite::Connection,
    since: i64,
    limit: usize,
) -> Result<Vec<Outage>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, json FROM outages WHERE closed = 0 OR started_at >= ?1 \
         ORDER BY started_at DESC, id DESC LIMIT ?2",
    )?;
    let raw = stmt
        .query_map(params![since, sql_limit(limit)], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raw.into_iter()
        .map(|(id, json)| from_json(&format!("outage {id}"), &json))
        .collect()
}

pub(super) fn use_ack_token(
    tx: &Transaction<'_>,
    token: &str,
    incident_id: i64,
    expires_at: i64,
    now: i64,
) -> Result<bool> {
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO ack_tokens(token, incident_id, expires_at, used_at) \
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![token, incident_id, expires_at, now])?;
    Ok(inserted == 1)
}

pub(super) fn save_planned(tx: &Transaction<'_>, plan: &PlannedMaintenance) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO planned_maintenance(id, ends_at, json) VALUES (?1, ?2, ?3) \
         ON CONFLICT(id) DO UPDATE SET ends_at = excluded.ends_at, json = excluded.json",
    )?
    .execute(params![
        plan.id,
        ms(plan.ends_at),
        to_json("planned maintenance", plan)?
    ])?;
    Ok(())
}

pub(super) fn planned(conn: &rusqlite::Connection) -> Result<Vec<PlannedMaintenance>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, json FROM planned_maintenance ORDER BY ends_at, id")?;
    let raw = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raw.into_iter()
        .map(|(id, json)| from_json(&format!("planned maintenance {id}"), &json))
        .collect()
}

pub(super) fn delete_planned(tx: &Transaction<'_>, id: &str) -> Result<bool> {
    let found = tx
        .prepare_cached("SELECT 1 FROM planned_maintenance WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some();
    tx.execute("DELETE FROM planned_maintenance WHERE id = ?1", [id])?;
    Ok(found)
}

/// What `prune` deletes of these tables: closed outages that started before `before`, tokens
/// expired before it, maintenance that ended before it.
pub(super) fn prune(tx: &Transaction<'_>, before: i64) -> Result<u64> {
    let mut n = tx.execute(
        "DELETE FROM outages WHERE closed = 1 AND started_at < ?1",
        [before],
    )? as u64;
    n += tx.execute("DELETE FROM ack_tokens WHERE expires_at < ?1", [before])? as u64;
    n += tx.execute(
        "DELETE FROM planned_maintenance WHERE ends_at < ?1",
        [before],
    )? as u64;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::{DateTime, Utc};

    use crate::broadcast::{Outage, OutageEvent, PlannedMaintenance};
    use crate::store::{SqliteStore, Store};

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + s, 0).unwrap()
    }

    #[tokio::test]
    async fn outages_round_trip_and_closed_ones_age_out() {
        let store = SqliteStore::in_memory().unwrap();
        let mut o = Outage::start(
            "sis",
            BTreeSet::from(["web".into()]),
            BTreeSet::from([3]),
            at(0),
        );
        o.id = store.save_outage(&o).await.unwrap();
        assert_eq!(o.id, 1);
        o.push(
            OutageEvent::Note,
            None,
            Some("vendor called"),
            Some("ana"),
            at(60),
        );
        o.sent.insert("teachers/mail/we_know".into());
        assert_eq!(store.save_outage(&o).await.unwrap(), 1);
        let mut other = Outage::start("wifi", BTreeSet::new(), BTreeSet::new(), at(-86_400 * 40));
        other.closed = true;
        other.id = store.save_outage(&other).await.unwrap();
        // Not closed, or started since: both; only the open one when asked from now on.
        let all = store.outages(at(-86_400 * 50), 0).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], o);
        let open = store.outages(at(10), 0).await.unwrap();
        assert_eq!(open, vec![o.clone()]);
        store.prune(at(-86_400 * 30)).await.unwrap();
        assert_eq!(
            store.outages(at(-86_400 * 50), 0).await.unwrap(),
            vec![o.clone()]
        );
        let mut ghost = o.clone();
        ghost.id = 99;
        assert!(store.save_outage(&ghost).await.is_err());
    }

    #[tokio::test]
    async fn an_ack_token_is_used_once() {
        let store = SqliteStore::in_memory().unwrap();
        assert!(store.use_ack_token("t1", 5, at(3600), at(0)).await.unwrap());
        assert!(!store.use_ack_token("t1", 5, at(3600), at(1)).await.unwrap());
        assert!(store.use_ack_token("t2", 5, at(3600), at(1)).await.unwrap());
        // Expired tokens are forgotten (the signer refuses them anyway).
        store.prune(at(7200)).await.unwrap();
        assert!(
            store
                .use_ack_token("t1", 5, at(9000), at(7300))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn planned_maintenance_is_kept_and_deleted() {
        let store = SqliteStore::in_memory().unwrap();
        let mut p = PlannedMaintenance {
            id: "m1".into(),
            title: "Server upgrade".into(),
            services: vec!["sis".into()],
            starts_at: at(100),
            ends_at: at(200),
            description: None,
        };
        store.save_planned_maintenance(&p).await.unwrap();
        p.description = Some("new disks".into());
        store.save_planned_maintenance(&p).await.unwrap();
        assert_eq!(store.planned_maintenance().await.unwrap(), vec![p.clone()]);
        assert!(store.delete_planned_maintenance("m1").await.unwrap());
        assert!(!store.delete_planned_maintenance("m1").await.unwrap());
        assert!(store.planned_maintenance().await.unwrap().is_empty());
    }
}
