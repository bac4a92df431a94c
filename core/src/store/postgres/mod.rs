//! The PostgreSQL store: one history shared by a district's forewarn instances.
//!
//! Selected with `[monitor] database = "postgres://user@host:5432/forewarn"`; the password
//! comes from the environment (`FOREWARN_DATABASE_PASSWORD`, else libpq's `PGPASSWORD`), never
//! from the configuration, and a URL that holds one is refused. `sslmode=prefer` or `require`
//! in the URL encrypts the connection as libpq does (without verifying the certificate);
//! `disable` (the default) does not.
//!
//! The schema is versioned like the SQLite one: steps applied in order, each in its own
//! transaction, under an advisory lock so that instances starting together migrate once; the
//! reached version is kept in `forewarn_schema`, and a database written by a newer forewarn is
//! refused. Times are unix milliseconds, as in SQLite.
//!
//! The history follows the same model as SQLite's (see [`crate::store::history`]): whole
//! observations (transitions and everything not OK) keep their summary, exact metrics and
//! reading; an OK observation whose summary has the shape of its run's first keeps only its
//! numbers and takes the run's summary when read. Each observation is one row, indexed by
//! check and time. Rollups are made when an hour closes, from that hour's rows: the hour
//! (with its latency sketch), its minutes (one row per hour), and its day, merged from the
//! day's hours. Every rollup is computed again from the rows, never added to, so an
//! observation that comes late (an agent's, after a partition) is counted once. What is open
//! (the hours since the last close) is read from the rows themselves, by this process or any
//! other.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::config::SslMode;

use super::*;
use crate::error::Error;
use crate::incident::IncidentState;

mod history;
mod tls;

/// The environment variable the PostgreSQL store's password is read from first.
pub const PASSWORD_ENV: &str = "FOREWARN_DATABASE_PASSWORD";

/// Connections the store keeps open at most.
const POOL_SIZE: usize = 8;

/// The advisory lock taken while migrating (an arbitrary constant: "forewarn" in ASCII).
const MIGRATION_LOCK: i64 = 0x666f_7265_7761_726e;

/// The schema, one step per version, like SQLite's `MIGRATIONS`: only ever appended.
const MIGRATIONS: &[&str] = &[
    // Version 1.
    "
    CREATE TABLE installation (
        id  integer PRIMARY KEY CHECK (id = 1),
        uid text NOT NULL
    );
    INSERT INTO installation(id, uid)
        VALUES (1, md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text));

    CREATE TABLE checks (
        id   serial PRIMARY KEY,
        name text NOT NULL UNIQUE
    );
    CREATE TABLE series (
        id       serial PRIMARY KEY,
        check_id integer NOT NULL REFERENCES checks(id),
        layout   text NOT NULL,
        UNIQUE (check_id, layout)
    );
    -- Every observation. `summary` is NULL for an OK one that continues its run (the run's
    -- first holds it); `reading` is kept for whole observations only.
    CREATE TABLE observations (
        check_id   integer NOT NULL,
        at         bigint NOT NULL,
        status     smallint NOT NULL,
        latency_us bigint NOT NULL,
        summary    text,
        series     integer,
        vals       bytea,
        reading    text
    );
    CREATE INDEX observations_check_at ON observations(check_id, at);
    CREATE INDEX observations_at ON observations USING brin (at);

    -- tier 0: a check's minutes of one hour (`start` is the hour) in one row; 1: an hour;
    -- 2: a day. `data` is the period's totals (see `history::Acc`).
    CREATE TABLE rollups (
        tier     smallint NOT NULL,
        check_id integer NOT NULL,
        start    bigint NOT NULL,
        count    bigint NOT NULL,
        failures bigint NOT NULL,
        warnings bigint NOT NULL,
        unknown  bigint NOT NULL,
        data     bytea NOT NULL,
        PRIMARY KEY (tier, check_id, start)
    );
    CREATE INDEX rollups_start ON rollups(tier, start);

    -- Hours before `closed_before` have their rollups; each tier is read from its `*_before`.
    CREATE TABLE history_state (
        id            integer PRIMARY KEY CHECK (id = 1),
        closed_before bigint NOT NULL,
        raw_before    bigint NOT NULL,
        minute_before bigint NOT NULL,
        hour_before   bigint NOT NULL,
        day_before    bigint NOT NULL
    );
    INSERT INTO history_state VALUES (1, -9223372036854775808, -9223372036854775808,
        -9223372036854775808, -9223372036854775808, -9223372036854775808);

    CREATE TABLE check_states (
        check_name text PRIMARY KEY,
        state      text NOT NULL,
        updated_at bigint
    );
    CREATE TABLE transitions (
        id          bigserial PRIMARY KEY,
        check_id    integer NOT NULL REFERENCES checks(id),
        at          bigint NOT NULL,
        transition  text NOT NULL,
        incident_id bigint
    );
    CREATE INDEX transitions_check_at ON transitions(check_id, at);
    CREATE INDEX transitions_at ON transitions(at);

    CREATE TABLE incidents (
        id          bigserial PRIMARY KEY,
        check_name  text NOT NULL,
        state       text NOT NULL,
        opened_at   bigint NOT NULL,
        resolved_at bigint,
        json        text NOT NULL
    );
    CREATE INDEX incidents_opened ON incidents(opened_at);
    CREATE INDEX incidents_active ON incidents(opened_at) WHERE state <> 'resolved';
    CREATE INDEX incidents_check ON incidents(check_name, opened_at);
    CREATE INDEX incidents_resolved ON incidents(resolved_at) WHERE resolved_at IS NOT NULL;

    CREATE TABLE outbox (
        seq             bigserial,
        id              text PRIMARY KEY,
        incident_id     bigint NOT NULL,
        sink            text NOT NULL,
        key             text NOT NULL,
        state           text NOT NULL,
        attempts        integer NOT NULL DEFAULT 0,
        queued_at       bigint NOT NULL,
        next_attempt_at bigint NOT NULL,
        delivered_at    bigint,
        last_error      text,
        json            text NOT NULL
    );
    CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
    CREATE INDEX outbox_incident ON outbox(incident_id);

    CREATE TABLE outages (
        id         bigserial PRIMARY KEY,
        started_at bigint NOT NULL,
        closed     boolean NOT NULL DEFAULT false,
        json       text NOT NULL
    );
    CREATE INDEX outages_open ON outages(closed) WHERE NOT closed;
    CREATE INDEX outages_started ON outages(started_at);
    CREATE TABLE ack_tokens (
        token       text PRIMARY KEY,
        incident_id bigint NOT NULL,
        expires_at  bigint NOT NULL,
        used_at     bigint NOT NULL
    );
    CREATE TABLE planned_maintenance (
        id      text PRIMARY KEY,
        ends_at bigint NOT NULL,
        json    text NOT NULL
    );

    CREATE TABLE agents (
        name         text PRIMARY KEY,
        grp          text NOT NULL,
        created_at   bigint NOT NULL,
        revoked_at   bigint,
        last_seen_at bigint,
        interval_s   bigint,
        max_seq      bigint NOT NULL DEFAULT 0,
        checks       text NOT NULL DEFAULT '[]',
        outbox       text NOT NULL DEFAULT ''
    );
    CREATE TABLE agent_tokens (
        hash        text PRIMARY KEY,
        agent       text NOT NULL REFERENCES agents(name),
        created_at  bigint NOT NULL,
        valid_until bigint
    );
    CREATE INDEX agent_tokens_agent ON agent_tokens(agent);
    CREATE TABLE agent_observations (
        agent      text NOT NULL,
        seq        bigint NOT NULL,
        check_name text NOT NULL,
        at         bigint NOT NULL,
        status     smallint NOT NULL,
        summary    text NOT NULL,
        PRIMARY KEY (agent, seq)
    );
    CREATE INDEX agent_observations_at ON agent_observations(at);
    ",
    // Version 2: the lead of the instances sharing the database (one row: its holder, the
    // fencing token, when it lapses), and claims on outbox rows being delivered.
    "
    CREATE TABLE leader_lease (
        id         integer PRIMARY KEY CHECK (id = 1),
        holder     text NOT NULL,
        token      bigint NOT NULL,
        expires_at timestamptz NOT NULL
    );
    INSERT INTO leader_lease VALUES (1, '', 0, '-infinity');
    ALTER TABLE outbox ADD COLUMN claimed_until bigint;
    ",
];

/// The PostgreSQL store. Cheap to share (`Arc`); many instances may use one database.
pub struct PostgresStore {
    pool: Pool,
    /// `postgres://user@host:port/db`, without a password: for messages.
    label: String,
    installation: Arc<str>,
    /// Check ids by name (checks are never deleted, so an id once read stays right).
    ids: parking_lot::RwLock<HashMap<Arc<str>, i32>>,
    /// What the history's writer keeps between batches.
    writer: tokio::sync::Mutex<history::Writer>,
    /// The lease token writes are fenced with (see [`Store::fence`]).
    fence: parking_lot::RwLock<Option<i64>>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.label)
            .finish_non_exhaustive()
    }
}

/// The URL's problem, if it cannot be used: unparsable, or holding a password.
pub fn check_url(url: &str) -> Result<()> {
    parse_url(url).map(|_| ())
}

fn parse_url(url: &str) -> Result<tokio_postgres::Config> {
    let config = tokio_postgres::Config::from_str(url.trim()).map_err(|e| {
        Error::invalid(
            "database",
            format!("not a PostgreSQL URL ({e}); write postgres://user@host:5432/dbname"),
        )
    })?;
    if config.get_password().is_some() {
        return Err(Error::invalid(
            "database",
            format!(
                "the PostgreSQL URL holds a password; take it out and set it in the \
                 environment as {PASSWORD_ENV} (or PGPASSWORD)"
            ),
        ));
    }
    if config.get_hosts().is_empty() {
        return Err(Error::invalid(
            "database",
            "the PostgreSQL URL names no host (postgres://user@host:5432/dbname)",
        ));
    }
    Ok(config)
}

fn label_of(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => String::new(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

pub(crate) fn pg_error(context: &str, e: impl fmt::Display) -> Error {
    Error::Store(format!("{context}: {e}"))
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => Error::Store(format!("PostgreSQL: {}", db.message())),
            None => Error::Store(format!("PostgreSQL: {e}")),
        }
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            e => Error::Store(format!("PostgreSQL connection: {e}")),
        }
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/dbname`) with the
    /// password from the environment ([`PASSWORD_ENV`], else `PGPASSWORD`), and brings its
    /// schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        let password = std::env::var(PASSWORD_ENV)
            .ok()
            .or_else(|| std::env::var("PGPASSWORD").ok());
        Self::connect_with(url, password.as_deref()).await
    }

    /// Like [`PostgresStore::connect`] with the password given.
    pub async fn connect_with(url: &str, password: Option<&str>) -> Result<Self> {
        let mut config = parse_url(url)?;
        let label = label_of(&config);
        if let Some(p) = password {
            config.password(p);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        config.application_name("forewarn");
        // A paused instance's open transaction (and the share lock it may hold on the lease)
        // does not hold a standby back for long.
        config.options("-c idle_in_transaction_session_timeout=10000");
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match config.get_ssl_mode() {
            SslMode::Disable => Manager::from_config(config, tokio_postgres::NoTls, manager_config),
            _ => Manager::from_config(config, tls::MakeRustls::new()?, manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| pg_error(&label, e))?;
        let mut client = pool
            .get()
            .await
            .map_err(|e| Error::Store(format!("{label}: {}", Error::from(e))))?;
        migrate(&mut client, MIGRATIONS, &label).await?;
        let installation: String = client
            .query_one("SELECT uid FROM installation WHERE id = 1", &[])
            .await?
            .get(0);
        drop(client);
        Ok(Self {
            pool,
            label,
            installation: installation.into(),
            ids: Default::default(),
            writer: Default::default(),
            fence: Default::default(),
        })
    }

    /// The database, as `postgres://user@host:port/dbname` (no password).
    pub fn label(&self) -> &str {
        &self.label
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool
            .get()
            .await
            .map_err(|e| Error::Store(format!("{}: {}", self.label, Error::from(e))))
    }

    /// A transaction whose writes are fenced: when this store is fenced with a token (see
    /// [`Store::fence`]), the lease is checked to still hold it, and kept from changing hands
    /// until the transaction ends (a share lock on its row), so a write of an instance that
    /// lost the lead is refused however late it comes.
    pub(crate) async fn begin<'a>(
        &self,
        client: &'a mut deadpool_postgres::Object,
    ) -> Result<deadpool_postgres::Transaction<'a>> {
        let tx = client.transaction().await?;
        let fence = *self.fence.read();
        if let Some(token) = fence {
            let held = tx
                .query_opt(
                    "SELECT 1 FROM leader_lease WHERE id = 1 AND token = $1 FOR SHARE",
                    &[&token],
                )
                .await?
                .is_some();
            if !held {
                let leader: String = tx
                    .query_one("SELECT holder FROM leader_lease WHERE id = 1", &[])
                    .await?
                    .get(0);
                let leader = if leader.is_empty() {
                    "none yet".to_owned()
                } else {
                    format!("`{leader}`")
                };
                return Err(Error::Conflict(if token < 0 {
                    format!(
                        "{}: this instance is a standby; writes go through the leader ({leader})",
                        self.label
                    )
                } else {
                    format!(
                        "{}: this instance no longer leads (its lease token {token} is stale; \
                         the leader is {leader}): the write was refused",
                        self.label
                    )
                }));
            }
        }
        Ok(tx)
    }

    /// The ids of these check names, made for those that have none.
    async fn check_ids(
        &self,
        client: &deadpool_postgres::Object,
        names: &[Arc<str>],
    ) -> Result<HashMap<Arc<str>, i32>> {
        let mut out = HashMap::with_capacity(names.len());
        let mut missing: Vec<&str> = Vec::new();
        {
            let ids = self.ids.read();
            for n in names {
                match ids.get(n) {
                    Some(&id) => {
                        out.insert(n.clone(), id);
                    }
                    None => missing.push(n),
                }
            }
        }
        if !missing.is_empty() {
            missing.sort_unstable();
            missing.dedup();
            client
                .execute(
                    "INSERT INTO checks(name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING",
                    &[&missing],
                )
                .await?;
            let rows = client
                .query(
                    "SELECT id, name FROM checks WHERE name = ANY($1::text[])",
                    &[&missing],
                )
                .await?;
            let mut ids = self.ids.write();
            for r in rows {
                let name: Arc<str> = r.get::<_, String>(1).into();
                let id: i32 = r.get(0);
                ids.insert(name.clone(), id);
                out.insert(name, id);
            }
        }
        Ok(out)
    }

    /// The id of a check that has history, if it has.
    async fn known_check_id(
        &self,
        client: &deadpool_postgres::Object,
        name: &str,
    ) -> Result<Option<i32>> {
        if let Some(&id) = self.ids.read().get(name) {
            return Ok(Some(id));
        }
        let row = client
            .query_opt("SELECT id FROM checks WHERE name = $1", &[&name])
            .await?;
        Ok(row.map(|r| {
            let id: i32 = r.get(0);
            self.ids.write().insert(name.into(), id);
            id
        }))
    }
}

/// Applies the steps of `migrations` the database has not had, each in its own transaction,
/// under an advisory lock.
async fn migrate(
    client: &mut deadpool_postgres::Object,
    migrations: &[&str],
    label: &str,
) -> Result<()> {
    client
        .batch_execute("CREATE TABLE IF NOT EXISTS forewarn_schema (version integer NOT NULL)")
        .await
        .or_else(|e| {
            // Two instances creating it at once: one wins, the other finds it made.
            if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
                Ok(())
            } else {
                Err(e)
            }
        })?;
    loop {
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let version: Option<i32> = tx
            .query_opt("SELECT max(version) FROM forewarn_schema", &[])
            .await?
            .and_then(|r| r.get(0));
        let version = usize::try_from(version.unwrap_or(0)).unwrap_or(0);
        if version > migrations.len() {
            return Err(Error::Store(format!(
                "{label}: the database's schema is version {version}, newer than this forewarn \
                 knows ({}); upgrade forewarn",
                migrations.len()
            )));
        }
        if version == migrations.len() {
            tx.commit().await?;
            return Ok(());
        }
        tx.batch_execute(migrations[version]).await.map_err(|e| {
            Error::Store(format!(
                "{label}: migrating to version {}: {}",
                version + 1,
                Error::from(e)
            ))
        })?;
        tx.execute("DELETE FROM forewarn_schema", &[]).await?;
        tx.execute(
            "INSERT INTO forewarn_schema(version) VALUES ($1)",
            &[&(version as i32 + 1)],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(database = label, version = version + 1, "schema migrated");
    }
}

use super::history::{corrupt, from_json, from_ms, ms, opt_from_ms, to_json};

/// `LIMIT` of a `limit` where 0 is none.
fn sql_limit(limit: usize) -> i64 {
    if limit == 0 {
        i64::MAX
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    }
}

const OUTBOX_COLUMNS: &str =
    "json, state, attempts, queued_at, next_attempt_at, delivered_at, last_error";

fn outbox_row(r: &tokio_postgres::Row) -> Result<OutboxRow> {
    let json: String = r.get(0);
    let state: String = r.get(1);
    let attempts: i32 = r.get(2);
    Ok(OutboxRow {
        notification: from_json("outbox notification", &json)?,
        state: match state.as_str() {
            "pending" => OutboxState::Pending,
            "delivered" => OutboxState::Delivered,
            "dead" => OutboxState::Dead,
            other => return Err(corrupt(format!("outbox state `{other}`"))),
        },
        attempts: u32::try_from(attempts).map_err(|_| corrupt(format!("attempts {attempts}")))?,
        queued_at: from_ms(r.get(3))?,
        next_attempt_at: from_ms(r.get(4))?,
        delivered_at: opt_from_ms(r.get(5))?,
        last_error: r.get(6),
    })
}

fn no_agent(name: &str) -> Error {
    Error::NotFound {
        what: "agent",
        id: name.to_owned(),
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn record_observations(&self, batch: Vec<(Arc<str>, Observation)>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        history::record(self, batch).await
    }

    async fn observations(
        &self,
        check: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Observation>> {
        history::observations(self, check, ms(since), limit).await
    }

    async fn latest_observations(&self, checks: &[String]) -> Result<Vec<(String, Observation)>> {
        history::latest(self, checks).await
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64> {
        let before = ms(before);
        let mut writer = self.writer.lock().await;
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let mut n = history::shed_raw(&tx, before).await?;
        n += tx
            .execute("DELETE FROM transitions WHERE at < $1", &[&before])
            .await?;
        n += tx
            .execute(
                "DELETE FROM outbox WHERE state <> 'pending' AND incident_id IN \
                 (SELECT id FROM incidents WHERE resolved_at < $1 AND state = 'resolved')",
                &[&before],
            )
            .await?;
        n += tx
            .execute(
                "DELETE FROM incidents WHERE resolved_at < $1 AND state = 'resolved'",
                &[&before],
            )
            .await?;
        n += tx
            .execute(
                "DELETE FROM outages WHERE closed AND started_at < $1",
                &[&before],
            )
            .await?;
        n += tx
            .execute("DELETE FROM ack_tokens WHERE expires_at < $1", &[&before])
            .await?;
        n += tx
            .execute(
                "DELETE FROM planned_maintenance WHERE ends_at < $1",
                &[&before],
            )
            .await?;
        n += tx
            .execute(
                "DELETE FROM agent_observations WHERE at < $1 AND seq < \
                 (SELECT max_seq FROM agents WHERE agents.name = agent_observations.agent)",
                &[&before],
            )
            .await?;
        n += tx
            .execute(
                "DELETE FROM agent_tokens WHERE valid_until IS NOT NULL AND valid_until < $1",
                &[&before],
            )
            .await?;
        tx.commit().await?;
        writer.forget_closed();
        Ok(n)
    }

    async fn prune_history(&self, now: DateTime<Utc>, retention: &HistoryRetention) -> Result<u64> {
        history::prune(self, ms(now), retention).await
    }

    async fn rollups(
        &self,
        check: &str,
        tier: Tier,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Rollup>> {
        history::rollups(self, check, tier, ms(since), ms(until)).await
    }

    async fn availability(&self, since: DateTime<Utc>) -> Result<Vec<Availability>> {
        history::availability(self, ms(since)).await
    }

    async fn space(&self) -> Result<Option<Space>> {
        // Not a file of this machine: the database server's own monitoring watches its disk.
        Ok(None)
    }

    async fn shed_oldest_raw(&self) -> Result<Option<DateTime<Utc>>> {
        let mut writer = self.writer.lock().await;
        let client = self.client().await?;
        let oldest: Option<i64> = client
            .query_one("SELECT min(at) FROM observations", &[])
            .await?
            .get(0);
        let Some(oldest) = oldest else {
            return Ok(None);
        };
        let through = Tier::Day.start_of(oldest) + Tier::Day.span_ms();
        let mut client = client;
        let tx = self.begin(&mut client).await?;
        history::shed_raw(&tx, through).await?;
        tx.commit().await?;
        // Shedding may have closed hours: where they end is read again.
        writer.forget_closed();
        Ok(Some(from_ms(through)?))
    }

    async fn save_check_states(&self, states: &[(String, CheckState)]) -> Result<()> {
        if states.is_empty() {
            return Ok(());
        }
        let mut names = Vec::with_capacity(states.len());
        let mut jsons = Vec::with_capacity(states.len());
        let mut updated = Vec::with_capacity(states.len());
        for (check, s) in states {
            names.push(check.as_str());
            jsons.push(to_json("check state", s)?);
            updated.push(s.last_at.map(ms));
        }
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        tx.execute(
            "INSERT INTO check_states(check_name, state, updated_at) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) \
                 ON CONFLICT (check_name) DO UPDATE SET \
                 state = excluded.state, updated_at = excluded.updated_at",
            &[&names, &jsons, &updated],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn load_check_states(&self) -> Result<Vec<(String, CheckState)>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT check_name, state FROM check_states ORDER BY check_name",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let check: String = r.get(0);
                let state = from_json(&format!("state of check `{check}`"), r.get(1))?;
                Ok((check, state))
            })
            .collect()
    }

    async fn record_transitions(&self, records: &[TransitionRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        let names: Vec<Arc<str>> = records
            .iter()
            .map(|r| Arc::from(r.check.as_str()))
            .collect();
        let ids = self.check_ids(&client, &names).await?;
        let tx = self.begin(&mut client).await?;
        let mut check_ids = Vec::with_capacity(records.len());
        let mut ats = Vec::with_capacity(records.len());
        let mut jsons = Vec::with_capacity(records.len());
        let mut incidents = Vec::with_capacity(records.len());
        for (r, name) in records.iter().zip(&names) {
            check_ids.push(ids[name]);
            ats.push(ms(r.at));
            jsons.push(to_json("transition", &r.transition)?);
            incidents.push(r.incident_id);
        }
        tx.execute(
            "INSERT INTO transitions(check_id, at, transition, incident_id) \
                 SELECT * FROM unnest($1::integer[], $2::bigint[], $3::text[], $4::bigint[])",
            &[&check_ids, &ats, &jsons, &incidents],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn transitions(
        &self,
        check: Option<&str>,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<TransitionRecord>> {
        let client = self.client().await?;
        let rows = match check {
            Some(check) => {
                let Some(id) = self.known_check_id(&client, check).await? else {
                    return Ok(Vec::new());
                };
                client
                    .query(
                        "SELECT c.name, t.at, t.transition, t.incident_id \
                         FROM transitions t JOIN checks c ON c.id = t.check_id \
                         WHERE t.check_id = $1 AND t.at >= $2 \
                         ORDER BY t.at DESC, t.id DESC LIMIT $3",
                        &[&id, &ms(since), &sql_limit(limit)],
                    )
                    .await?
            }
            None => {
                client
                    .query(
                        "SELECT c.name, t.at, t.transition, t.incident_id \
                         FROM transitions t JOIN checks c ON c.id = t.check_id \
                         WHERE t.at >= $1 ORDER BY t.at DESC, t.id DESC LIMIT $2",
                        &[&ms(since), &sql_limit(limit)],
                    )
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                let check: String = r.get(0);
                Ok(TransitionRecord {
                    transition: from_json(&format!("transition of check `{check}`"), r.get(2))?,
                    check,
                    at: from_ms(r.get(1))?,
                    incident_id: r.get(3),
                })
            })
            .collect()
    }

    async fn insert_incident(&self, incident: &Incident) -> Result<i64> {
        let mut incident = incident.clone();
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO incidents(check_name, state, opened_at, resolved_at, json) \
                 VALUES ($1, $2, $3, $4, '') RETURNING id",
                &[
                    &incident.check,
                    &incident.state.as_str(),
                    &ms(incident.opened_at),
                    &incident.resolved_at.map(ms),
                ],
            )
            .await?
            .get(0);
        incident.id = id;
        tx.execute(
            "UPDATE incidents SET json = $2 WHERE id = $1",
            &[&id, &to_json("incident", &incident)?],
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn update_incident(&self, incident: &Incident) -> Result<()> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let changed = tx
            .execute(
                "UPDATE incidents SET check_name = $2, state = $3, opened_at = $4, \
                 resolved_at = $5, json = $6 WHERE id = $1",
                &[
                    &incident.id,
                    &incident.check,
                    &incident.state.as_str(),
                    &ms(incident.opened_at),
                    &incident.resolved_at.map(ms),
                    &to_json("incident", incident)?,
                ],
            )
            .await?;
        if changed == 0 {
            return Err(Error::NotFound {
                what: "incident",
                id: incident.id.to_string(),
            });
        }
        tx.commit().await?;
        Ok(())
    }

    async fn incident(&self, id: i64) -> Result<Option<Incident>> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT json FROM incidents WHERE id = $1", &[&id])
            .await?;
        row.map(|r| from_json(&format!("incident {id}"), r.get(0)))
            .transpose()
    }

    async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>> {
        let client = self.client().await?;
        let resolved = IncidentState::Resolved.as_str();
        let rows = client
            .query(
                "SELECT id, json FROM incidents \
                 WHERE (NOT $1 OR state <> $2) AND ($3::text IS NULL OR check_name = $3) \
                 ORDER BY opened_at DESC, id DESC LIMIT $4",
                &[
                    &filter.active_only,
                    &resolved,
                    &filter.check,
                    &sql_limit(filter.limit),
                ],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.get(0);
                from_json(&format!("incident {id}"), r.get(1))
            })
            .collect()
    }

    async fn enqueue(&self, n: &Notification, now: DateTime<Utc>) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let inserted = tx
            .execute(
                "INSERT INTO outbox(id, incident_id, sink, key, state, attempts, queued_at, \
                 next_attempt_at, json) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $6) \
                 ON CONFLICT (id) DO NOTHING",
                &[
                    &n.id,
                    &n.incident_id,
                    &n.sink,
                    &n.key,
                    &ms(now),
                    &to_json("notification", n)?,
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(inserted == 1)
    }

    async fn sent_records(&self, incident_id: i64) -> Result<Vec<SentRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT sink, key, queued_at FROM outbox WHERE incident_id = $1 \
                 ORDER BY queued_at, seq",
                &[&incident_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SentRecord {
                    sink: r.get(0),
                    key: r.get(1),
                    at: from_ms(r.get(2))?,
                })
            })
            .collect()
    }

    async fn due_outbox(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxRow>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox \
                     WHERE state = 'pending' AND next_attempt_at <= $1 \
                     ORDER BY queued_at, seq LIMIT $2"
                ),
                &[&ms(now), &sql_limit(limit)],
            )
            .await?;
        rows.iter().map(outbox_row).collect()
    }

    async fn next_outbox_due(&self) -> Result<Option<DateTime<Utc>>> {
        let client = self.client().await?;
        let next: Option<i64> = client
            .query_one(
                "SELECT min(greatest(next_attempt_at, coalesce(claimed_until, next_attempt_at))) \
                 FROM outbox WHERE state = 'pending'",
                &[],
            )
            .await?
            .get(0);
        opt_from_ms(next)
    }

    async fn mark_delivered(&self, id: &str, at: DateTime<Utc>) -> Result<()> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let changed = tx
            .execute(
                "UPDATE outbox SET state = 'delivered', delivered_at = $2, \
                 attempts = attempts + 1, last_error = NULL, claimed_until = NULL WHERE id = $1",
                &[&id, &ms(at)],
            )
            .await?;
        if changed == 0 {
            return Err(Error::NotFound {
                what: "outbox row",
                id: id.to_owned(),
            });
        }
        tx.commit().await?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let changed = match retry_at {
            Some(t) => {
                tx.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2, \
                         next_attempt_at = $3, claimed_until = NULL \
                         WHERE id = $1 AND state = 'pending'",
                    &[&id, &error, &ms(t)],
                )
                .await?
            }
            None => {
                tx.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2, \
                         state = 'dead', claimed_until = NULL WHERE id = $1 AND state = 'pending'",
                    &[&id, &error],
                )
                .await?
            }
        };
        if changed == 0 {
            let state: Option<String> = tx
                .query_opt("SELECT state FROM outbox WHERE id = $1", &[&id])
                .await?
                .map(|r| r.get(0));
            return Err(match state {
                None => Error::NotFound {
                    what: "outbox row",
                    id: id.to_owned(),
                },
                Some(state) => Error::Conflict(format!(
                    "outbox row {id} is {state}, not pending: failure not recorded"
                )),
            });
        }
        tx.commit().await?;
        Ok(())
    }

    async fn defer(&self, id: &str, until: DateTime<Utc>) -> Result<()> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        tx.execute(
            "UPDATE outbox SET next_attempt_at = $2, claimed_until = NULL \
                 WHERE id = $1 AND state = 'pending'",
            &[&id, &ms(until)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn outbox_rows(&self, incident_id: i64) -> Result<Vec<OutboxRow>> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE incident_id = $1 \
                     ORDER BY queued_at, seq"
                ),
                &[&incident_id],
            )
            .await?;
        rows.iter().map(outbox_row).collect()
    }

    async fn outbox_stats(&self) -> Result<OutboxStats> {
        let client = self.client().await?;
        let r = client
            .query_one(
                "SELECT \
                   count(*) FILTER (WHERE state = 'pending'), \
                   count(*) FILTER (WHERE state = 'pending' AND attempts > 0), \
                   count(*) FILTER (WHERE state = 'dead'), \
                   count(*) FILTER (WHERE state = 'delivered'), \
                   min(queued_at) FILTER (WHERE state = 'pending') \
                 FROM outbox",
                &[],
            )
            .await?;
        let n = |i: usize| r.get::<_, i64>(i).max(0) as u64;
        Ok(OutboxStats {
            pending: n(0),
            retrying: n(1),
            dead: n(2),
            delivered: n(3),
            oldest_pending: opt_from_ms(r.get(4))?,
        })
    }

    async fn lead(
        &self,
        instance: &str,
        token: Option<i64>,
        ttl: std::time::Duration,
    ) -> Result<Lease> {
        let ttl_secs = ttl.as_secs_f64();
        let client = self.client().await?;
        // Renewed while held and not lapsed; taken, with the next token, once lapsed. The
        // database's clock decides, so the instances' clocks need not agree.
        let r = client
            .query_one(
                "WITH taken AS ( \
                   UPDATE leader_lease SET \
                     token = CASE WHEN holder = $1 AND token = $2 \
                       AND expires_at > clock_timestamp() THEN token ELSE token + 1 END, \
                     holder = $1, \
                     expires_at = clock_timestamp() + make_interval(secs => $3::float8) \
                   WHERE id = 1 AND ((holder = $1 AND token = $2 \
                     AND expires_at > clock_timestamp()) OR expires_at <= clock_timestamp()) \
                   RETURNING holder, token, expires_at) \
                 SELECT holder, token, \
                   (extract(epoch FROM expires_at) * 1000)::bigint FROM taken \
                 UNION ALL \
                 SELECT holder, token, \
                   CASE WHEN expires_at = '-infinity' THEN -8334601228800000 \
                   ELSE (extract(epoch FROM expires_at) * 1000)::bigint END \
                 FROM leader_lease WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM taken)",
                &[&instance, &token, &ttl_secs],
            )
            .await?;
        Ok(Lease {
            holder: r.get(0),
            token: r.get(1),
            expires_at: from_ms(r.get(2))?,
        })
    }

    async fn resign(&self, instance: &str, token: i64) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE leader_lease SET expires_at = '-infinity' \
                 WHERE id = 1 AND holder = $1 AND token = $2",
                &[&instance, &token],
            )
            .await?;
        Ok(())
    }

    fn fence(&self, token: Option<i64>) {
        *self.fence.write() = token;
    }

    async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        hold: std::time::Duration,
    ) -> Result<Vec<OutboxRow>> {
        let now = ms(now);
        let until = now.saturating_add(i64::try_from(hold.as_millis()).unwrap_or(i64::MAX));
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let rows = tx
            .query(
                &format!(
                    "UPDATE outbox SET claimed_until = $2 WHERE id IN ( \
                       SELECT id FROM outbox WHERE state = 'pending' \
                       AND next_attempt_at <= $1 \
                       AND (claimed_until IS NULL OR claimed_until <= $1) \
                       ORDER BY queued_at, seq LIMIT $3 FOR UPDATE SKIP LOCKED) \
                     RETURNING {OUTBOX_COLUMNS}, seq"
                ),
                &[&now, &until, &sql_limit(limit)],
            )
            .await?;
        tx.commit().await?;
        let mut out = rows
            .iter()
            .map(|r| Ok((r.get::<_, i64>(7), outbox_row(r)?)))
            .collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|(seq, row)| (row.queued_at, *seq));
        Ok(out.into_iter().map(|(_, row)| row).collect())
    }

    async fn flush(&self) -> Result<()> {
        // Every write is committed as it is made.
        Ok(())
    }

    async fn installation_id(&self) -> Result<String> {
        Ok(self.installation.to_string())
    }

    async fn save_outage(&self, outage: &crate::broadcast::Outage) -> Result<i64> {
        let mut outage = outage.clone();
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        if outage.id == 0 {
            outage.id = tx
                .query_one(
                    "INSERT INTO outages(started_at, closed, json) VALUES ($1, $2, '') \
                     RETURNING id",
                    &[&ms(outage.started_at), &outage.closed],
                )
                .await?
                .get(0);
        }
        let changed = tx
            .execute(
                "UPDATE outages SET started_at = $2, closed = $3, json = $4 WHERE id = $1",
                &[
                    &outage.id,
                    &ms(outage.started_at),
                    &outage.closed,
                    &to_json("outage", &outage)?,
                ],
            )
            .await?;
        if changed == 0 {
            return Err(Error::NotFound {
                what: "outage",
                id: outage.id.to_string(),
            });
        }
        tx.commit().await?;
        Ok(outage.id)
    }

    async fn outages(
        &self,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<crate::broadcast::Outage>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, json FROM outages WHERE NOT closed OR started_at >= $1 \
                 ORDER BY started_at DESC, id DESC LIMIT $2",
                &[&ms(since), &sql_limit(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.get(0);
                from_json(&format!("outage {id}"), r.get(1))
            })
            .collect()
    }

    async fn use_ack_token(
        &self,
        token_id: &str,
        incident_id: i64,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let inserted = tx
            .execute(
                "INSERT INTO ack_tokens(token, incident_id, expires_at, used_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (token) DO NOTHING",
                &[&token_id, &incident_id, &ms(expires_at), &ms(now)],
            )
            .await?;
        tx.commit().await?;
        Ok(inserted == 1)
    }

    async fn save_planned_maintenance(
        &self,
        plan: &crate::broadcast::PlannedMaintenance,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        tx.execute(
            "INSERT INTO planned_maintenance(id, ends_at, json) VALUES ($1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET ends_at = excluded.ends_at, json = excluded.json",
            &[
                &plan.id,
                &ms(plan.ends_at),
                &to_json("planned maintenance", plan)?,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn planned_maintenance(&self) -> Result<Vec<crate::broadcast::PlannedMaintenance>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, json FROM planned_maintenance ORDER BY ends_at, id",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.get(0);
                from_json(&format!("planned maintenance {id}"), r.get(1))
            })
            .collect()
    }

    async fn delete_planned_maintenance(&self, id: &str) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let n = tx
            .execute("DELETE FROM planned_maintenance WHERE id = $1", &[&id])
            .await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn create_agent(
        &self,
        name: &str,
        group: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let now = ms(now);
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let revoked: Option<Option<i64>> = tx
            .query_opt(
                "SELECT revoked_at FROM agents WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .await?
            .map(|r| r.get(0));
        match revoked {
            Some(None) => {
                return Err(Error::Conflict(format!(
                    "agent `{name}` exists; rotate its token (`forewarn agents token rotate \
                     {name}`) or revoke it first"
                )));
            }
            Some(Some(_)) => {
                // Made anew: the old tokens go, what it reported stays.
                tx.execute("DELETE FROM agent_tokens WHERE agent = $1", &[&name])
                    .await?;
                tx.execute(
                    "UPDATE agents SET grp = $2, created_at = $3, revoked_at = NULL \
                     WHERE name = $1",
                    &[&name, &group, &now],
                )
                .await?;
            }
            None => {
                tx.execute(
                    "INSERT INTO agents(name, grp, created_at) VALUES ($1, $2, $3)",
                    &[&name, &group, &now],
                )
                .await?;
            }
        }
        tx.execute(
            "INSERT INTO agent_tokens(hash, agent, created_at) VALUES ($1, $2, $3)",
            &[&token_hash, &name, &now],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rotate_agent_token(
        &self,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
        old_valid_until: DateTime<Utc>,
    ) -> Result<()> {
        let (now, until) = (ms(now), ms(old_valid_until));
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let revoked: Option<i64> = tx
            .query_opt(
                "SELECT revoked_at FROM agents WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .await?
            .ok_or_else(|| no_agent(name))?
            .get(0);
        if revoked.is_some() {
            return Err(Error::Conflict(format!(
                "agent `{name}` is revoked; make it a new token with `forewarn agents token \
                 create`"
            )));
        }
        tx.execute(
            "UPDATE agent_tokens SET valid_until = least(coalesce(valid_until, $2), $2) \
             WHERE agent = $1",
            &[&name, &until],
        )
        .await?;
        tx.execute(
            "INSERT INTO agent_tokens(hash, agent, created_at) VALUES ($1, $2, $3)",
            &[&token_hash, &name, &now],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_agent(&self, name: &str, now: DateTime<Utc>) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE agents SET revoked_at = coalesce(revoked_at, $2) WHERE name = $1",
                &[&name, &ms(now)],
            )
            .await?;
        if n == 0 {
            return Err(no_agent(name));
        }
        Ok(())
    }

    async fn agent_by_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<AgentTokenCheck> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT a.name, a.grp, a.revoked_at, t.valid_until FROM agent_tokens t \
                 JOIN agents a ON a.name = t.agent WHERE t.hash = $1",
                &[&token_hash],
            )
            .await?;
        let now = ms(now);
        Ok(match row {
            None => AgentTokenCheck::Unknown,
            Some(r) => {
                let revoked: Option<i64> = r.get(2);
                let until: Option<i64> = r.get(3);
                match (revoked, until) {
                    (_, Some(until)) if until <= now => AgentTokenCheck::Unknown,
                    (Some(_), _) => AgentTokenCheck::Revoked { agent: r.get(0) },
                    (None, _) => AgentTokenCheck::Valid {
                        agent: r.get(0),
                        group: r.get(1),
                    },
                }
            }
        })
    }

    async fn agents(&self) -> Result<Vec<AgentRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT name, grp, created_at, revoked_at, last_seen_at, interval_s, max_seq, \
                 checks FROM agents ORDER BY name",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let name: String = r.get(0);
                let interval: Option<i64> = r.get(5);
                Ok(AgentRecord {
                    checks: from_json(&format!("agent {name}'s checks"), r.get(7))?,
                    group: r.get(1),
                    created_at: from_ms(r.get(2))?,
                    revoked_at: opt_from_ms(r.get(3))?,
                    last_seen: opt_from_ms(r.get(4))?,
                    interval_secs: interval.map(|i| i.max(0) as u64),
                    max_seq: r.get(6),
                    name,
                })
            })
            .collect()
    }

    async fn add_agent_checks(&self, agent: &str, checks: &[String]) -> Result<()> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let known: String = tx
            .query_opt(
                "SELECT checks FROM agents WHERE name = $1 FOR UPDATE",
                &[&agent],
            )
            .await?
            .ok_or_else(|| no_agent(agent))?
            .get(0);
        let mut known: Vec<String> = from_json(&format!("agent {agent}'s checks"), &known)?;
        for c in checks {
            if !known.contains(c) {
                known.push(c.clone());
            }
        }
        tx.execute(
            "UPDATE agents SET checks = $2 WHERE name = $1",
            &[&agent, &to_json("agent checks", &known)?],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_agent_observations(
        &self,
        agent: &str,
        outbox: &str,
        interval_secs: u64,
        now: DateTime<Utc>,
        batch: &[AgentObservation],
    ) -> Result<(Vec<bool>, i64)> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let known: String = tx
            .query_opt(
                "SELECT outbox FROM agents WHERE name = $1 FOR UPDATE",
                &[&agent],
            )
            .await?
            .ok_or_else(|| no_agent(agent))?
            .get(0);
        if known != outbox {
            // Another outbox than the last numbers from 1 again.
            tx.execute("DELETE FROM agent_observations WHERE agent = $1", &[&agent])
                .await?;
            tx.execute(
                "UPDATE agents SET outbox = $2, max_seq = 0 WHERE name = $1",
                &[&agent, &outbox],
            )
            .await?;
            if !known.is_empty() {
                tracing::info!(
                    agent,
                    "agent reports from a new outbox; its numbering starts again"
                );
            }
        }
        let insert = tx
            .prepare(
                "INSERT INTO agent_observations(agent, seq, check_name, at, status, summary) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (agent, seq) DO NOTHING",
            )
            .await?;
        let mut fresh = Vec::with_capacity(batch.len());
        let mut top = 0;
        for o in batch {
            let n = tx
                .execute(
                    &insert,
                    &[
                        &agent,
                        &o.seq,
                        &o.check,
                        &ms(o.observation.at),
                        &(o.observation.status.exit_code() as i16),
                        &o.observation.summary,
                    ],
                )
                .await?;
            fresh.push(n == 1);
            top = top.max(o.seq);
        }
        let max_seq: i64 = tx
            .query_one(
                "UPDATE agents SET last_seen_at = $2, interval_s = $3, \
                 max_seq = greatest(max_seq, $4) WHERE name = $1 RETURNING max_seq",
                &[
                    &agent,
                    &ms(now),
                    &i64::try_from(interval_secs).unwrap_or(i64::MAX),
                    &top,
                ],
            )
            .await?
            .get(0);
        tx.commit().await?;
        Ok((fresh, max_seq))
    }
}
