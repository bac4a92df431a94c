//! The tables of agents: the machines that push their own checks' observations, their tokens
//! (kept as SHA-256 only) and what they pushed, once per agent and sequence number.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{from_json, from_ms, opt_from_ms, to_json};
use crate::error::{Error, Result};
use crate::store::{AgentObservation, AgentRecord, AgentTokenCheck};

fn no_agent(name: &str) -> Error {
    Error::NotFound {
        what: "agent",
        id: name.to_owned(),
    }
}

pub(super) fn create(
    tx: &Transaction<'_>,
    name: &str,
    group: &str,
    hash: &str,
    now: i64,
) -> Result<()> {
    let revoked: Option<Option<i64>> = tx
        .prepare_cached("SELECT revoked_at FROM agents WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?;
    match revoked {
        Some(None) => {
            return Err(Error::Conflict(format!(
                "agent `{name}` exists; rotate its token (`forewarn agents token rotate {name}`) \
                 or revoke it first"
            )));
        }
        Some(Some(_)) => {
            // Made anew: the old tokens go, what it reported stays.
            tx.execute("DELETE FROM agent_tokens WHERE agent = ?1", [name])?;
            tx.execute(
                "UPDATE agents SET grp = ?2, created_at = ?3, revoked_at = NULL WHERE name = ?1",
                params![name, group, now],
            )?;
        }
        None => {
            tx.execute(
                "INSERT INTO agents(name, grp, created_at) VALUES (?1, ?2, ?3)",
                params![name, group, now],
            )?;
        }
    }
    tx.execute(
        "INSERT INTO agent_tokens(hash, agent, created_at) VALUES (?1, ?2, ?3)",
        params![hash, name, now],
    )?;
    Ok(())
}

pub(super) fn rotate(
    tx: &Transaction<'_>,
    name: &str,
    hash: &str,
    now: i64,
    old_until: i64,
) -> Result<()> {
    let revoked: Option<i64> = tx
        .prepare_cached("SELECT revoked_at FROM agents WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?
        .ok_or_else(|| no_agent(name))?;
    if revoked.is_some() {
        return Err(Error::Conflict(format!(
            "agent `{name}` is revoked; make it a new token with `forewarn agents token create`"
        )));
    }
    tx.execute(
        "UPDATE agent_tokens SET valid_until = min(coalesce(valid_until, ?2), ?2) \
         WHERE agent = ?1",
        params![name, old_until],
    )?;
    tx.execute(
        "INSERT INTO agent_tokens(hash, agent, created_at) VALUES (?1, ?2, ?3)",
        params![hash, name, now],
    )?;
    Ok(())
}

pub(super) fn revoke(tx: &Transaction<'_>, name: &str, now: i64) -> Result<()> {
    let n = tx.execute(
        "UPDATE agents SET revoked_at = coalesce(revoked_at, ?2) WHERE name = ?1",
        params![name, now],
    )?;
    if n == 0 {
        return Err(no_agent(name));
    }
    Ok(())
}

pub(super) fn by_token(conn: &Connection, hash: &str, now: i64) -> Result<AgentTokenCheck> {
    let row: Option<(String, String, Option<i64>, Option<i64>)> = conn
        .prepare_cached(
            "SELECT a.name, a.grp, a.revoked_at, t.valid_until FROM agent_tokens t \
             JOIN agents a ON a.name = t.agent WHERE t.hash = ?1",
        )?
        .query_row([hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    Ok(match row {
        None => AgentTokenCheck::Unknown,
        Some((_, _, _, Some(until))) if until <= now => AgentTokenCheck::Unknown,
        Some((agent, _, Some(_), _)) => AgentTokenCheck::Revoked { agent },
        Some((agent, group, None, _)) => AgentTokenCheck::Valid { agent, group },
    })
}

pub(super) fn list(conn: &Connection) -> Result<Vec<AgentRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, grp, created_at, revoked_at, last_seen_at, interval_s, max_seq, checks \
         FROM agents ORDER BY name",
    )?;
    type Row = (
        String,
        String,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        i64,
        String,
    );
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<Row>>>()?;
    rows.into_iter()
        .map(
            |(name, group, created, revoked, seen, interval, max_seq, checks)| {
                Ok(AgentRecord {
                    checks: from_json(&format!("agent {name}'s checks"), &checks)?,
                    name,
                    group,
                    created_at: from_ms(created)?,
                    revoked_at: opt_from_ms(revoked)?,
                    last_seen: opt_from_ms(seen)?,
                    interval_secs: interval.map(|i| i.max(0) as u64),
                    max_seq,
                })
            },
        )
        .collect()
}

pub(super) fn add_checks(tx: &Transaction<'_>, agent: &str, checks: &[String]) -> Result<()> {
    let known: String = tx
        .prepare_cached("SELECT checks FROM agents WHERE name = ?1")?
        .query_row([agent], |r| r.get(0))
        .optional()?
        .ok_or_else(|| no_agent(agent))?;
    let mut known: Vec<String> = from_json(&format!("agent {agent}'s checks"), &known)?;
    for c in checks {
        if !known.contains(c) {
            known.push(c.clone());
        }
    }
    tx.execute(
        "UPDATE agents SET checks = ?2 WHERE name = ?1",
        params![agent, to_json("agent checks", &known)?],
    )?;
    Ok(())
}

pub(super) fn record(
    tx: &Transaction<'_>,
    agent: &str,
    outbox: &str,
    interval_s: u64,
    now: i64,
    batch: &[AgentObservation],
) -> Result<(Vec<bool>, i64)> {
    // Another outbox than the last numbers from 1 again: what was recorded of the old one
    // only told its retries apart, and would now swallow the new one's observations.
    let known: String = tx
        .prepare_cached("SELECT outbox FROM agents WHERE name = ?1")?
        .query_row([agent], |r| r.get(0))
        .optional()?
        .ok_or_else(|| no_agent(agent))?;
    if known != outbox {
        tx.execute("DELETE FROM agent_observations WHERE agent = ?1", [agent])?;
        tx.execute(
            "UPDATE agents SET outbox = ?2, max_seq = 0 WHERE name = ?1",
            params![agent, outbox],
        )?;
        if !known.is_empty() {
            tracing::info!(
                agent,
                "agent reports from a new outbox; its numbering starts again"
            );
        }
    }
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO agent_observations(agent, seq, check_name, at, status, summary) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut fresh = Vec::with_capacity(batch.len());
    let mut top = 0;
    for o in batch {
        let n = insert.execute(params![
            agent,
            o.seq,
            o.check,
            o.observation.at.timestamp_millis(),
            o.observation.status.exit_code(),
            o.observation.summary,
        ])?;
        fresh.push(n == 1);
        top = top.max(o.seq);
    }
    tx.execute(
        "UPDATE agents SET last_seen_at = ?2, interval_s = ?3, max_seq = max(max_seq, ?4) \
         WHERE name = ?1",
        params![
            agent,
            now,
            i64::try_from(interval_s).unwrap_or(i64::MAX),
            top
        ],
    )?;
    let max_seq: i64 = tx
        .prepare_cached("SELECT max_seq FROM agents WHERE name = ?1")?
        .query_row([agent], |r| r.get(0))
        .optional()?
        .ok_or_else(|| no_agent(agent))?;
    Ok((fresh, max_seq))
}

/// Pushed observations older than `before`, except each agent's newest (whose `seq` tells a
/// late retry from a new observation), and tokens whose grace period ended before it.
pub(super) fn prune(tx: &Transaction<'_>, before: i64) -> Result<u64> {
    let mut n = tx.execute(
        "DELETE FROM agent_observations WHERE at < ?1 AND seq < \
         (SELECT max_seq FROM agents WHERE agents.name = agent_observations.agent)",
        [before],
    )? as u64;
    n += tx.execute(
        "DELETE FROM agent_tokens WHERE valid_until IS NOT NULL AND valid_until < ?1",
        [before],
    )? as u64;
    Ok(n)
}
