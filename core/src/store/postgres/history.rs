//! The PostgreSQL store's history: rows of observations, rollups made as hours close (see the
//! module doc of [`super`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use tokio_postgres::Transaction;
use tokio_postgres::types::ToSql;

use super::{PostgresStore, corrupt, from_json, from_ms, sql_limit, to_json};
use crate::error::Result;
use crate::probe::{Observation, Status};
use crate::store::history::{
    self as model, Acc, Availability, HistoryRetention, Layout, Rollup, Tier, decode_values,
    encode_values, same_shape, status_code, status_of,
};

/// What the writer of the history keeps between batches: each check's last status and open
/// run, the series ids, and where the closed hours end. Only one monitor writes a history
/// at a time, so what it keeps stays true; another process reading sees the rows.
#[derive(Default)]
pub(super) struct Writer {
    heads: HashMap<i32, Head>,
    /// Each check's last series: its layout and id.
    last_series: HashMap<i32, (Arc<Layout>, i32)>,
    series: HashMap<(i32, Arc<Layout>), i32>,
    layouts: HashMap<i32, Arc<Layout>>,
    closed_before: Option<i64>,
}

impl Writer {
    /// Where the closed hours end is read from the database again before the next batch
    /// (something other than a batch closed hours).
    pub(super) fn forget_closed(&mut self) {
        self.closed_before = None;
    }
}

#[derive(Clone)]
struct Head {
    status: Status,
    /// The summary of the open run's first observation (OK checks).
    run: Option<Arc<str>>,
}

/// An hour's totals and its minutes'.
#[derive(Default)]
struct HourAcc {
    minutes: BTreeMap<i64, Acc>,
    total: Acc,
}

/// Where the history's parts begin, and the first hour that is not closed.
struct HistoryState {
    closed_before: i64,
    raw_before: i64,
    horizon: [i64; 3],
}

async fn history_state(client: &impl tokio_postgres::GenericClient) -> Result<HistoryState> {
    let r = client
        .query_one(
            "SELECT closed_before, raw_before, minute_before, hour_before, day_before \
             FROM history_state WHERE id = 1",
            &[],
        )
        .await?;
    Ok(HistoryState {
        closed_before: r.get(0),
        raw_before: r.get(1),
        horizon: [r.get(2), r.get(3), r.get(4)],
    })
}

fn tier_index(tier: Tier) -> usize {
    match tier {
        Tier::Minute => 0,
        Tier::Hour => 1,
        Tier::Day => 2,
    }
}

fn values_of(bytes: Option<&[u8]>) -> Vec<Option<f64>> {
    bytes
        .map(|b| {
            b.chunks_exact(8)
                .map(|c| {
                    let v = f64::from_le_bytes(c.try_into().expect("8 bytes"));
                    (!v.is_nan()).then_some(v)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn status_from(code: i16) -> Result<Status> {
    status_of(i64::from(code)).ok_or_else(|| corrupt(format!("status {code}")))
}

fn encode<T: serde::Serialize>(what: &str, v: &T) -> Result<Vec<u8>> {
    postcard::to_stdvec(v).map_err(|e| crate::Error::Store(format!("encoding {what}: {e}")))
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, data: &[u8]) -> Result<T> {
    postcard::from_bytes(data).map_err(|e| corrupt(format!("{what}: {e}")))
}

/// Layouts of every series, by id.
async fn layouts(
    client: &impl tokio_postgres::GenericClient,
    check: Option<i32>,
) -> Result<HashMap<i32, Arc<Layout>>> {
    let rows = client
        .query(
            "SELECT id, layout FROM series WHERE $1::integer IS NULL OR check_id = $1",
            &[&check],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.get(0), Arc::new(Layout::decode(r.get(1))?))))
        .collect()
}

/// Appends a batch: one row per observation, in one transaction; closes the hours the batch
/// went past, and counts late observations into the hours they belong to.
pub(super) async fn record(
    store: &PostgresStore,
    batch: Vec<(Arc<str>, Observation)>,
) -> Result<()> {
    let mut w = store.writer.lock().await;
    let mut client = store.client().await?;
    let names: Vec<Arc<str>> = batch.iter().map(|(c, _)| c.clone()).collect();
    let ids = store.check_ids(&client, &names).await?;

    // The last status and run of checks this writer has not seen yet.
    let mut missing: Vec<i32> = names
        .iter()
        .map(|n| ids[n])
        .filter(|id| !w.heads.contains_key(id))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        let rows = client
            .query(
                "SELECT c.id, o.status, s.summary FROM unnest($1::integer[]) AS c(id) \
                 CROSS JOIN LATERAL (SELECT status FROM observations \
                   WHERE check_id = c.id ORDER BY at DESC LIMIT 1) o \
                 LEFT JOIN LATERAL (SELECT summary FROM observations \
                   WHERE check_id = c.id AND summary IS NOT NULL ORDER BY at DESC LIMIT 1) s \
                   ON true",
                &[&missing],
            )
            .await?;
        for r in rows {
            let status = status_from(r.get(1))?;
            let summary: Option<String> = r.get(2);
            w.heads.insert(
                r.get(0),
                Head {
                    status,
                    run: summary.filter(|_| status == Status::Ok).map(Arc::from),
                },
            );
        }
    }

    // Series of the metric layouts, made where new (each committed on its own: a series is
    // only ever added).
    let mut series_of: Vec<Option<i32>> = Vec::with_capacity(batch.len());
    for (name, o) in &batch {
        if o.metrics.is_empty() {
            series_of.push(None);
            continue;
        }
        let id = ids[name];
        if let Some((layout, s)) = w.last_series.get(&id)
            && layout.fits(o)
        {
            series_of.push(Some(*s));
            continue;
        }
        let layout = Arc::new(Layout::of(o));
        let s = match w.series.get(&(id, layout.clone())) {
            Some(&s) => s,
            None => {
                let s: i32 = client
                    .query_one(
                        "INSERT INTO series(check_id, layout) VALUES ($1, $2) \
                         ON CONFLICT (check_id, layout) DO UPDATE SET layout = excluded.layout \
                         RETURNING id",
                        &[&id, &layout.encode()],
                    )
                    .await?
                    .get(0);
                w.series.insert((id, layout.clone()), s);
                w.layouts.insert(s, layout.clone());
                s
            }
        };
        w.last_series.insert(id, (layout, s));
        series_of.push(Some(s));
    }

    let n = batch.len();
    let mut check_ids = Vec::with_capacity(n);
    let mut ats = Vec::with_capacity(n);
    let mut statuses = Vec::with_capacity(n);
    let mut latencies = Vec::with_capacity(n);
    let mut summaries: Vec<Option<String>> = Vec::with_capacity(n);
    let mut vals: Vec<Option<Vec<u8>>> = Vec::with_capacity(n);
    let mut readings: Vec<Option<String>> = Vec::with_capacity(n);
    let mut heads: HashMap<i32, Option<Head>> = HashMap::new();
    for (name, o) in &batch {
        let id = ids[name];
        let head = heads.entry(id).or_insert_with(|| w.heads.get(&id).cloned());
        let transition = head.as_ref().is_none_or(|h| h.status != o.status);
        let whole = transition || o.status != Status::Ok;
        let summary = if o.status == Status::Ok {
            match head.as_ref().and_then(|h| h.run.as_ref()) {
                Some(run) if !transition && same_shape(run, &o.summary) => None,
                _ => Some(o.summary.clone()),
            }
        } else {
            Some(o.summary.clone())
        };
        let run = match (&summary, o.status) {
            (Some(s), Status::Ok) => Some(Arc::from(s.as_str())),
            (None, Status::Ok) => head.as_ref().and_then(|h| h.run.clone()),
            _ => None,
        };
        *head = Some(Head {
            status: o.status,
            run,
        });
        check_ids.push(id);
        ats.push(model::ms(o.at));
        statuses.push(status_code(o.status) as i16);
        latencies.push(i64::try_from(o.latency.as_micros()).unwrap_or(i64::MAX));
        summaries.push(summary);
        vals.push((!o.metrics.is_empty()).then(|| {
            encode_values(
                &o.metrics
                    .iter()
                    .map(|(_, m)| Some(m.value))
                    .collect::<Vec<_>>(),
            )
        }));
        readings.push(match (&o.reading, whole) {
            (Some(r), true) => Some(to_json("reading", &**r)?),
            _ => None,
        });
    }

    let closed = match w.closed_before {
        Some(c) => c,
        None => history_state(&**client).await?.closed_before,
    };
    let newest_hour = Tier::Hour.start_of(ats.iter().copied().max().unwrap_or(i64::MIN));
    let late: BTreeSet<(i32, i64)> = check_ids
        .iter()
        .zip(&ats)
        .filter(|(_, at)| **at < closed)
        .map(|(id, at)| (*id, Tier::Hour.start_of(*at)))
        .collect();

    let tx = store.begin(&mut client).await?;
    tx.execute(
        "INSERT INTO observations(check_id, at, status, latency_us, summary, series, vals, \
         reading) SELECT * FROM unnest($1::integer[], $2::bigint[], $3::smallint[], \
         $4::bigint[], $5::text[], $6::integer[], $7::bytea[], $8::text[])",
        &[
            &check_ids, &ats, &statuses, &latencies, &summaries, &series_of, &vals, &readings,
        ],
    )
    .await?;
    let mut closed_now = closed;
    if newest_hour > closed || !late.is_empty() {
        // One writer closes at a time; what another closed meanwhile is seen here.
        let closed_db: i64 = tx
            .query_one(
                "SELECT closed_before FROM history_state WHERE id = 1 FOR UPDATE",
                &[],
            )
            .await?
            .get(0);
        let mut touched = BTreeSet::new();
        let late: Vec<(i32, i64)> = late.into_iter().filter(|p| p.1 < closed_db).collect();
        if !late.is_empty() {
            touched.extend(rebuild_hours(&tx, &mut w, Hours::Pairs(&late)).await?);
        }
        closed_now = closed_db;
        if newest_hour > closed_db {
            touched.extend(rebuild_hours(&tx, &mut w, Hours::Range(closed_db, newest_hour)).await?);
            tx.execute(
                "UPDATE history_state SET closed_before = $1 WHERE id = 1",
                &[&newest_hour],
            )
            .await?;
            closed_now = newest_hour;
        }
        rebuild_days(&tx, &touched).await?;
    }
    tx.commit().await?;
    w.closed_before = Some(closed_now);
    for (id, head) in heads {
        if let Some(h) = head {
            w.heads.insert(id, h);
        }
    }
    Ok(())
}

/// The hours to make rollups of.
enum Hours<'a> {
    /// Every check's hours in `[from, until)`.
    Range(i64, i64),
    /// These checks' hours.
    Pairs(&'a [(i32, i64)]),
}

/// Adds a row's numbers to its hour and minute.
fn add_row(
    accs: &mut BTreeMap<(i32, i64), HourAcc>,
    layouts: &HashMap<i32, Arc<Layout>>,
    row: &tokio_postgres::Row,
) -> Result<()> {
    static EMPTY: std::sync::LazyLock<Layout> = std::sync::LazyLock::new(Layout::default);
    let check: i32 = row.get(0);
    let at: i64 = row.get(1);
    let status = status_from(row.get(2))?;
    let latency_us = row.get::<_, i64>(3).max(0) as u64;
    let series: Option<i32> = row.get(4);
    let values = values_of(row.get(5));
    let layout: &Layout = match series {
        Some(s) => layouts
            .get(&s)
            .ok_or_else(|| corrupt(format!("series {s}")))?,
        None => &EMPTY,
    };
    let values = if values.len() == layout.0.len() {
        values
    } else {
        vec![None; layout.0.len()]
    };
    let hour = accs.entry((check, Tier::Hour.start_of(at))).or_default();
    hour.total.add(status, latency_us, layout, &values);
    hour.minutes
        .entry(Tier::Minute.start_of(at))
        .or_default()
        .add(status, latency_us, layout, &values);
    Ok(())
}

const ROW_COLUMNS: &str = "check_id, at, status, latency_us, series, vals";

/// Makes (again) the hour and minute rollups of `hours` from their rows. Returns the
/// (check, hour) pairs written.
async fn rebuild_hours(
    tx: &Transaction<'_>,
    w: &mut Writer,
    hours: Hours<'_>,
) -> Result<BTreeSet<(i32, i64)>> {
    // Every series is known before the rows stream in.
    let known_max = w.layouts.keys().copied().max().unwrap_or(0);
    let fresh = tx
        .query("SELECT id, layout FROM series WHERE id > $1", &[&known_max])
        .await?;
    for r in fresh {
        w.layouts
            .insert(r.get(0), Arc::new(Layout::decode(r.get(1))?));
    }
    let mut accs: BTreeMap<(i32, i64), HourAcc> = BTreeMap::new();
    match hours {
        Hours::Range(from, until) => {
            let params: [&(dyn ToSql + Sync); 2] = [&from, &until];
            let stream = tx
                .query_raw(
                    &format!("SELECT {ROW_COLUMNS} FROM observations WHERE at >= $1 AND at < $2"),
                    params,
                )
                .await?;
            futures::pin_mut!(stream);
            while let Some(row) = stream.try_next().await? {
                add_row(&mut accs, &w.layouts, &row)?;
            }
        }
        Hours::Pairs(pairs) => {
            let stmt = tx
                .prepare(&format!(
                    "SELECT {ROW_COLUMNS} FROM observations \
                     WHERE check_id = $1 AND at >= $2 AND at < $3"
                ))
                .await?;
            for &(check, hour) in pairs {
                for row in tx
                    .query(&stmt, &[&check, &hour, &(hour + Tier::Hour.span_ms())])
                    .await?
                {
                    add_row(&mut accs, &w.layouts, &row)?;
                }
            }
        }
    }
    let mut rows = RollupRows::default();
    let mut written = BTreeSet::new();
    for ((check, hour), h) in accs {
        rows.push(
            Tier::Hour,
            check,
            hour,
            &h.total,
            encode("an hour", &h.total)?,
        );
        let minutes: Vec<(i64, Acc)> = h
            .minutes
            .into_iter()
            .map(|(m, mut a)| {
                // No coarser period is made from a minute: its p95 is enough.
                a.p95_us = a.sketch.quantile(0.95);
                a.sketch = Default::default();
                (m, a)
            })
            .collect();
        rows.push(
            Tier::Minute,
            check,
            hour,
            &h.total,
            encode("an hour's minutes", &minutes)?,
        );
        written.insert((check, hour));
    }
    rows.upsert(tx).await?;
    Ok(written)
}

/// Rollup rows to upsert, as columns.
#[derive(Default)]
struct RollupRows {
    tiers: Vec<i16>,
    checks: Vec<i32>,
    starts: Vec<i64>,
    counts: [Vec<i64>; 4],
    data: Vec<Vec<u8>>,
}

impl RollupRows {
    fn push(&mut self, tier: Tier, check: i32, start: i64, acc: &Acc, data: Vec<u8>) {
        self.tiers.push(tier.code() as i16);
        self.checks.push(check);
        self.starts.push(start);
        for (col, v) in
            self.counts
                .iter_mut()
                .zip([acc.count, acc.failures, acc.warnings, acc.unknown])
        {
            col.push(i64::try_from(v).unwrap_or(i64::MAX));
        }
        self.data.push(data);
    }

    async fn upsert(&self, tx: &Transaction<'_>) -> Result<()> {
        if self.tiers.is_empty() {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO rollups(tier, check_id, start, count, failures, warnings, unknown, data) \
             SELECT * FROM unnest($1::smallint[], $2::integer[], $3::bigint[], $4::bigint[], \
             $5::bigint[], $6::bigint[], $7::bigint[], $8::bytea[]) \
             ON CONFLICT (tier, check_id, start) DO UPDATE SET count = excluded.count, \
             failures = excluded.failures, warnings = excluded.warnings, \
             unknown = excluded.unknown, data = excluded.data",
            &[
                &self.tiers,
                &self.checks,
                &self.starts,
                &self.counts[0],
                &self.counts[1],
                &self.counts[2],
                &self.counts[3],
                &self.data,
            ],
        )
        .await?;
        Ok(())
    }
}

/// Makes (again) the day rollups holding these hours, from the days' hour rollups.
async fn rebuild_days(tx: &Transaction<'_>, hours: &BTreeSet<(i32, i64)>) -> Result<()> {
    if hours.is_empty() {
        return Ok(());
    }
    let hour_before: i64 = tx
        .query_one("SELECT hour_before FROM history_state WHERE id = 1", &[])
        .await?
        .get(0);
    // A day whose first hours are no longer kept is left as it is.
    let days: BTreeSet<(i32, i64)> = hours
        .iter()
        .map(|&(c, h)| (c, Tier::Day.start_of(h)))
        .filter(|&(_, d)| d >= hour_before)
        .collect();
    if days.is_empty() {
        return Ok(());
    }
    let checks: Vec<i32> = days
        .iter()
        .map(|d| d.0)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let from = days.iter().map(|d| d.1).min().unwrap_or(0);
    let until = days.iter().map(|d| d.1).max().unwrap_or(0) + Tier::Day.span_ms();
    let rows = tx
        .query(
            "SELECT check_id, start, data FROM rollups WHERE tier = 1 \
             AND check_id = ANY($1::integer[]) AND start >= $2 AND start < $3",
            &[&checks, &from, &until],
        )
        .await?;
    let mut accs: BTreeMap<(i32, i64), Acc> = BTreeMap::new();
    for r in rows {
        let key = (r.get::<_, i32>(0), Tier::Day.start_of(r.get(1)));
        if days.contains(&key) {
            let acc: Acc = decode("an hour", r.get(2))?;
            accs.entry(key).or_default().merge(&acc);
        }
    }
    let mut out = RollupRows::default();
    for ((check, day), acc) in accs {
        out.push(Tier::Day, check, day, &acc, encode("a day", &acc)?);
    }
    out.upsert(tx).await
}

/// Deletes raw rows older than `before`, closing the hours they are in first.
pub(super) async fn shed_raw(tx: &Transaction<'_>, before: i64) -> Result<u64> {
    let closed: i64 = tx
        .query_one(
            "SELECT closed_before FROM history_state WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await?
        .get(0);
    let through = Tier::Hour.start_of(before.saturating_sub(1)) + Tier::Hour.span_ms();
    if closed < before && through > closed {
        let mut w = Writer::default();
        let touched = rebuild_hours(tx, &mut w, Hours::Range(closed, through)).await?;
        rebuild_days(tx, &touched).await?;
        tx.execute(
            "UPDATE history_state SET closed_before = $1 WHERE id = 1",
            &[&through],
        )
        .await?;
    }
    tx.execute(
        "UPDATE history_state SET raw_before = greatest(raw_before, $1) WHERE id = 1",
        &[&before],
    )
    .await?;
    Ok(tx
        .execute("DELETE FROM observations WHERE at < $1", &[&before])
        .await?)
}

/// Deletes what each tier keeps no longer at `now`.
pub(super) async fn prune(
    store: &PostgresStore,
    now: i64,
    retention: &HistoryRetention,
) -> Result<u64> {
    let cut = |d: Duration| now.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let mut w = store.writer.lock().await;
    let mut client = store.client().await?;
    let tx = store.begin(&mut client).await?;
    let mut deleted = shed_raw(&tx, cut(retention.raw)).await?;
    for tier in Tier::ALL {
        let Some(keep) = retention.of(tier) else {
            continue;
        };
        let before = cut(keep);
        let column = match tier {
            Tier::Minute => "minute_before",
            Tier::Hour => "hour_before",
            Tier::Day => "day_before",
        };
        tx.execute(
            &format!("UPDATE history_state SET {column} = greatest({column}, $1) WHERE id = 1"),
            &[&before],
        )
        .await?;
        // A row of minutes goes with the last of its hour's minutes.
        let start_before = match tier {
            Tier::Minute => before.saturating_sub(Tier::Hour.span_ms() - 1),
            _ => before,
        };
        deleted += tx
            .execute(
                "DELETE FROM rollups WHERE tier = $1 AND start < $2",
                &[&(tier.code() as i16), &start_before],
            )
            .await?;
    }
    tx.commit().await?;
    w.forget_closed();
    Ok(deleted)
}

/// A check's observations since `since`, newest first.
pub(super) async fn observations(
    store: &PostgresStore,
    check: &str,
    since: i64,
    limit: usize,
) -> Result<Vec<Observation>> {
    let client = store.client().await?;
    let Some(id) = store.known_check_id(&client, check).await? else {
        return Ok(Vec::new());
    };
    let rows = client
        .query(
            "SELECT at, status, latency_us, summary, series, vals, reading FROM observations \
             WHERE check_id = $1 AND at >= $2 ORDER BY at DESC LIMIT $3",
            &[&id, &since, &sql_limit(limit)],
        )
        .await?;
    let layouts = if rows.iter().any(|r| r.get::<_, Option<i32>>(4).is_some()) {
        layouts(&**client, Some(id)).await?
    } else {
        HashMap::new()
    };
    // The summary of the run the oldest rows continue.
    let mut carried: Option<String> = match rows.last() {
        Some(r) if r.get::<_, Option<String>>(3).is_none() => client
            .query_opt(
                "SELECT summary FROM observations WHERE check_id = $1 AND at <= $2 \
                 AND summary IS NOT NULL ORDER BY at DESC LIMIT 1",
                &[&id, &r.get::<_, i64>(0)],
            )
            .await?
            .map(|r| r.get(0)),
        _ => None,
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows.iter().rev() {
        let status = status_from(r.get(1))?;
        let summary = match r.get::<_, Option<String>>(3) {
            Some(s) => {
                carried = Some(s.clone());
                s
            }
            None => carried.clone().unwrap_or_else(|| status.to_string()),
        };
        let metrics = match (r.get::<_, Option<i32>>(4), r.get::<_, Option<&[u8]>>(5)) {
            (Some(s), Some(v)) => {
                let layout = layouts
                    .get(&s)
                    .ok_or_else(|| corrupt(format!("series {s}")))?;
                decode_values(layout, v)?
            }
            _ => Default::default(),
        };
        let reading = r
            .get::<_, Option<&str>>(6)
            .map(|j| from_json::<crate::probe::Reading>("reading", j).map(Arc::new))
            .transpose()?;
        out.push(Observation {
            status,
            summary,
            metrics,
            latency: Duration::from_micros(r.get::<_, i64>(2).max(0) as u64),
            at: from_ms(r.get(0))?,
            reading,
        });
    }
    out.reverse();
    Ok(out)
}

/// The open hours of check `id` (from `from` on), from its rows.
async fn open_hours(
    client: &impl tokio_postgres::GenericClient,
    id: i32,
    from: i64,
) -> Result<BTreeMap<(i32, i64), HourAcc>> {
    let layouts = layouts(client, Some(id)).await?;
    let rows = client
        .query(
            &format!("SELECT {ROW_COLUMNS} FROM observations WHERE check_id = $1 AND at >= $2"),
            &[&id, &from],
        )
        .await?;
    let mut accs = BTreeMap::new();
    for r in &rows {
        add_row(&mut accs, &layouts, r)?;
    }
    Ok(accs)
}

/// A check's rollups of `tier` starting in `[since, until)`: the stored ones and the open
/// hours'.
pub(super) async fn rollups(
    store: &PostgresStore,
    check: &str,
    tier: Tier,
    since: i64,
    until: i64,
) -> Result<Vec<Rollup>> {
    let client = store.client().await?;
    let Some(id) = store.known_check_id(&client, check).await? else {
        return Ok(Vec::new());
    };
    let state = history_state(&**client).await?;
    let since = since.max(state.horizon[tier_index(tier)]);
    let mut out: BTreeMap<i64, Rollup> = BTreeMap::new();
    let mut days: BTreeMap<i64, Acc> = BTreeMap::new();
    let from = match tier {
        Tier::Minute => Tier::Hour.start_of(since),
        _ => since,
    };
    let rows = client
        .query(
            "SELECT start, data FROM rollups WHERE tier = $1 AND check_id = $2 \
             AND start >= $3 AND start < $4 ORDER BY start",
            &[&(tier.code() as i16), &id, &from, &until],
        )
        .await?;
    for r in rows {
        let start: i64 = r.get(0);
        match tier {
            Tier::Minute => {
                let minutes: Vec<(i64, Acc)> = decode("an hour's minutes", r.get(1))?;
                for (m, acc) in minutes {
                    out.insert(m, acc.rollup(Tier::Minute, m)?);
                }
            }
            Tier::Hour => {
                let acc: Acc = decode("an hour", r.get(1))?;
                out.insert(start, acc.rollup(Tier::Hour, start)?);
            }
            Tier::Day => {
                days.insert(start, decode("a day", r.get(1))?);
            }
        }
    }
    if until > state.closed_before {
        let open = open_hours(&**client, id, state.closed_before.max(state.raw_before)).await?;
        for ((_, hour), h) in open {
            match tier {
                Tier::Minute => {
                    for (m, acc) in &h.minutes {
                        out.insert(*m, acc.rollup(Tier::Minute, *m)?);
                    }
                }
                Tier::Hour => {
                    out.insert(hour, h.total.rollup(Tier::Hour, hour)?);
                }
                Tier::Day => {
                    days.entry(Tier::Day.start_of(hour))
                        .or_default()
                        .merge(&h.total);
                }
            }
        }
    }
    for (start, acc) in days {
        out.insert(start, acc.rollup(Tier::Day, start)?);
    }
    Ok(out
        .into_values()
        .filter(|r| {
            let at = model::ms(r.start);
            at >= since && at < until
        })
        .collect())
}

/// Every check's availability since `since`: whole days from the day rollups, the part of
/// the first day from its hours, and the open hours from their rows.
pub(super) async fn availability(store: &PostgresStore, since: i64) -> Result<Vec<Availability>> {
    let client = store.client().await?;
    let state = history_state(&**client).await?;
    let day = Tier::Day.start_of(since);
    let first_full = if day == since {
        day
    } else {
        day + Tier::Day.span_ms()
    };
    let mut totals: HashMap<i32, [u64; 3]> = HashMap::new();
    let mut add = |rows: Vec<tokio_postgres::Row>| {
        for r in rows {
            let t = totals.entry(r.get(0)).or_default();
            for (k, slot) in t.iter_mut().enumerate() {
                *slot += r.get::<_, i64>(k + 1).max(0) as u64;
            }
        }
    };
    add(client
        .query(
            "SELECT check_id, sum(count)::bigint, sum(failures)::bigint, sum(unknown)::bigint \
             FROM rollups WHERE tier = 2 AND start >= $1 GROUP BY check_id",
            &[&first_full],
        )
        .await?);
    if first_full > since {
        add(client
            .query(
                "SELECT check_id, sum(count)::bigint, sum(failures)::bigint, \
                 sum(unknown)::bigint FROM rollups \
                 WHERE tier = 1 AND start >= $1 AND start < $2 GROUP BY check_id",
                &[&since, &first_full],
            )
            .await?);
    }
    add(client
        .query(
            "SELECT check_id, count(*), count(*) FILTER (WHERE status = 2), \
             count(*) FILTER (WHERE status = 3) FROM observations \
             WHERE at >= greatest($1::bigint, $2::bigint) GROUP BY check_id",
            &[&state.closed_before, &since],
        )
        .await?);
    let names: HashMap<i32, String> = client
        .query("SELECT id, name FROM checks", &[])
        .await?
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    Ok(model::availability_by_name(totals, &names))
}

/// The newest observation of each of `checks`, in one query.
pub(super) async fn latest(
    store: &PostgresStore,
    checks: &[String],
) -> Result<Vec<(String, Observation)>> {
    let client = store.client().await?;
    let rows = client
        .query(
            "SELECT c.name, o.at, o.status, o.latency_us, coalesce(o.summary, s.summary), \
             sr.layout, o.vals, o.reading \
             FROM checks c JOIN unnest($1::text[]) AS n(name) ON c.name = n.name \
             CROSS JOIN LATERAL (SELECT * FROM observations \
               WHERE check_id = c.id ORDER BY at DESC LIMIT 1) o \
             LEFT JOIN LATERAL (SELECT summary FROM observations \
               WHERE check_id = c.id AND at <= o.at AND summary IS NOT NULL \
               ORDER BY at DESC LIMIT 1) s ON true \
             LEFT JOIN series sr ON sr.id = o.series",
            &[&checks],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let status = status_from(r.get(2))?;
            let metrics = match (r.get::<_, Option<&str>>(5), r.get::<_, Option<&[u8]>>(6)) {
                (Some(layout), Some(v)) => decode_values(&Layout::decode(layout)?, v)?,
                _ => Default::default(),
            };
            let reading = r
                .get::<_, Option<&str>>(7)
                .map(|j| from_json::<crate::probe::Reading>("reading", j).map(Arc::new))
                .transpose()?;
            Ok((
                r.get(0),
                Observation {
                    status,
                    summary: r
                        .get::<_, Option<String>>(4)
                        .unwrap_or_else(|| status.to_string()),
                    metrics,
                    latency: Duration::from_micros(r.get::<_, i64>(3).max(0) as u64),
                    at: from_ms(r.get(1))?,
                    reading,
                },
            ))
        })
        .collect()
}
