//! The history's size on disk and its write cost: the compact history (schema version 5: runs,
//! compressed sample blocks, rollups) against the row-per-observation history of schema
//! version 4, which is rebuilt here exactly as it was written (one row per observation with
//! its summary and its metrics as JSON, linked to its check's previous row, inserted 64 rows to
//! a statement). Both run in the same process on the same machine, one after the other.
//!
//! Three parts, each printing JSON lines:
//!
//! - `--compare --checks N --rounds R`: R rounds of one steady observation per check (a TCP
//!   check: summary, latency, two timings as metrics), handed over 4,096 to a batch as the
//!   monitor does. Bytes on disk per observation (file and WAL after a checkpoint, the first
//!   round left out) and CPU time per observation, for both formats; ratios new / old.
//! - `--simulate --checks N --days D`: the compact history alone on a virtual clock, 5 s
//!   interval, 2 % of observations failing (outages of 1 to 11 observations, 6 on average),
//!   the default retention tiers, pruned every simulated hour. Prints the database size per
//!   simulated day and, at the end, the size scaled to 2,000 checks (sizes grow with the number
//!   of checks and nothing else) and the bytes per raw observation.
//! - `--availability --services N --days D`: N services observed every 15 minutes for D days
//!   (the rollup rows are the same in number as at any interval), then the availability of
//!   every service over D days from the rollups, timed (median of 21), against reading one
//!   day of each service's raw observations in the same run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use forewarn::store::HistoryRetention;
use forewarn::{Observation, SqliteStore, Status, Store};
use rusqlite::Connection;

#[path = "cpu.rs"]
mod cpu;
use cpu::cpu_time;

// The allocator the `forewarn` program runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(name: &str, default: usize) -> usize {
    let argv: Vec<String> = std::env::args().collect();
    argv.iter()
        .position(|a| a == name)
        .and_then(|i| argv.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// A small fast generator, so the runs repeat.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// What a TCP check records when it connects: latency 150–900 µs.
fn steady(at: DateTime<Utc>, i: usize, rng: &mut Rng) -> Observation {
    let us = 150 + rng.next() % 750;
    Observation::new(
        Status::Ok,
        format!(
            "connected to 10.{}.{}.{}:443 in {:.1} ms",
            i / 65_536,
            i / 256 % 256,
            i % 256,
            us as f64 / 1000.0
        ),
        at,
    )
    .with_metric("connect_time", us as f64 / 1e6, "s")
    .with_metric("latency", (us + 1) as f64 / 1e6, "s")
    .with_latency(Duration::from_micros(us + 1))
}

fn failing(at: DateTime<Utc>, i: usize) -> Observation {
    Observation::new(
        Status::Critical,
        format!(
            "10.{}.{}.{}:443: connection refused",
            i / 65_536,
            i / 256 % 256,
            i % 256
        ),
        at,
    )
    .with_latency(Duration::from_micros(90))
}

fn file_size(path: &std::path::Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|s| {
            let mut p = path.as_os_str().to_owned();
            p.push(s);
            std::fs::metadata(std::path::PathBuf::from(p)).map_or(0, |m| m.len())
        })
        .sum()
}

/// The history of schema version 4, written as it was.
struct RowPerObservation {
    conn: Connection,
    ids: std::collections::HashMap<Arc<str>, i64>,
    heads: Vec<i64>,
    next_row: i64,
}

impl RowPerObservation {
    fn open(path: &std::path::Path) -> Self {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 8192)
            .unwrap();
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)
            .unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        conn.pragma_update(None, "cache_size", -8 * 1024).unwrap();
        conn.execute_batch(
            "CREATE TABLE checks (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                                  last_obs INTEGER);
             CREATE TABLE observations (
                 id INTEGER PRIMARY KEY, check_id INTEGER NOT NULL REFERENCES checks(id),
                 at INTEGER NOT NULL, status INTEGER NOT NULL, latency_us INTEGER NOT NULL,
                 summary TEXT NOT NULL, metrics TEXT, prev INTEGER, reading TEXT);",
        )
        .unwrap();
        Self {
            conn,
            ids: Default::default(),
            heads: vec![0],
            next_row: 1,
        }
    }

    fn record(&mut self, batch: Vec<(Arc<str>, Observation)>) {
        // Flattened as the store did, JSON included, before its transaction.
        let rows: Vec<_> = batch
            .into_iter()
            .map(|(c, o)| {
                let metrics =
                    (!o.metrics.is_empty()).then(|| serde_json::to_string(&o.metrics).unwrap());
                let status = match o.status {
                    Status::Ok => 0,
                    Status::Warning => 1,
                    Status::Critical => 2,
                    Status::Unknown => 3,
                };
                (
                    c,
                    o.at.timestamp_millis(),
                    status,
                    o.latency.as_micros() as i64,
                    o.summary,
                    metrics,
                )
            })
            .collect();
        let tx = self.conn.transaction().unwrap();
        let mut links = Vec::with_capacity(rows.len());
        for r in &rows {
            let id = match self.ids.get(&r.0) {
                Some(&id) => id,
                None => {
                    tx.execute("INSERT INTO checks(name) VALUES (?1)", [&*r.0])
                        .unwrap();
                    let id = tx.last_insert_rowid();
                    self.ids.insert(r.0.clone(), id);
                    self.heads.resize(id as usize + 1, 0);
                    id
                }
            };
            let row = self.next_row;
            self.next_row += 1;
            let prev = std::mem::replace(&mut self.heads[id as usize], row);
            links.push((row, id, prev));
        }
        let sql = |n: usize| {
            let mut s = String::from(
                "INSERT INTO observations(id, check_id, at, status, latency_us, summary, \
                 metrics, prev, reading) VALUES ",
            );
            for i in 0..n {
                s.push_str(if i == 0 { "" } else { "," });
                s.push_str("(?,?,?,?,?,?,?,?,?)");
            }
            s
        };
        for (chunk, link) in rows.chunks(64).zip(links.chunks(64)) {
            let mut stmt = tx.prepare_cached(&sql(chunk.len())).unwrap();
            for (k, (r, l)) in chunk.iter().zip(link).enumerate() {
                let p = k * 9 + 1;
                stmt.raw_bind_parameter(p, l.0).unwrap();
                stmt.raw_bind_parameter(p + 1, l.1).unwrap();
                stmt.raw_bind_parameter(p + 2, r.1).unwrap();
                stmt.raw_bind_parameter(p + 3, r.2).unwrap();
                stmt.raw_bind_parameter(p + 4, r.3).unwrap();
                stmt.raw_bind_parameter(p + 5, r.4.as_str()).unwrap();
                stmt.raw_bind_parameter(p + 6, r.5.as_deref()).unwrap();
                stmt.raw_bind_parameter(p + 7, (l.2 > 0).then_some(l.2))
                    .unwrap();
                stmt.raw_bind_parameter(p + 8, None::<&str>).unwrap();
            }
            stmt.raw_execute().unwrap();
        }
        tx.commit().unwrap();
    }

    fn checkpoint(&self) {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
}

fn compare(rt: &tokio::runtime::Runtime) {
    let checks = arg("--checks", 2_000);
    // The compact history's open hour is kept apart until the hour ends: it is measured over
    // whole hours after the first (from the end of hour 1 to the end of the last), when the
    // open part is the same size at both ends. The row format grows by the same amount each
    // round from the second on, and may be run for fewer rounds (`--old-rounds`).
    let rounds = arg("--rounds", 3 * 720).max(2 * 720);
    let old_rounds = arg("--old-rounds", rounds).max(2);
    let names: Vec<Arc<str>> = (0..checks).map(|i| format!("tcp-{i}").into()).collect();
    let start: DateTime<Utc> = "2026-09-01T00:00:00Z".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut results = BTreeMap::new();
    for format in ["rows_v4", "compact_v5"] {
        let path = dir.path().join(format!("{format}.db"));
        let mut old = (format == "rows_v4").then(|| RowPerObservation::open(&path));
        let new = (format == "compact_v5").then(|| SqliteStore::open(&path).unwrap());
        let (rounds, from) = if old.is_some() {
            (old_rounds, 1)
        } else {
            (rounds, 720)
        };
        let mut rng = Rng(42);
        let (mut cpu, mut first_size) = (Duration::ZERO, 0);
        for round in 0..rounds {
            let at = start + chrono::Duration::seconds(5 * round as i64);
            for (b, chunk) in names.chunks(4_096).enumerate() {
                let batch: Vec<(Arc<str>, Observation)> = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.clone(), steady(at, b * 4_096 + i, &mut rng)))
                    .collect();
                let before = cpu_time();
                match (&mut old, &new) {
                    (Some(old), _) => old.record(batch),
                    (_, Some(new)) => rt.block_on(new.record_observations(batch)).unwrap(),
                    _ => unreachable!(),
                }
                if round >= from {
                    cpu += cpu_time() - before;
                }
            }
            if round + 1 == from {
                match (&old, &new) {
                    (Some(old), _) => old.checkpoint(),
                    (_, Some(new)) => rt.block_on(new.flush()).unwrap(),
                    _ => unreachable!(),
                }
                first_size = file_size(&path);
            }
        }
        match (&old, &new) {
            (Some(old), _) => old.checkpoint(),
            (_, Some(new)) => rt.block_on(new.flush()).unwrap(),
            _ => unreachable!(),
        }
        let n = (checks * (rounds - from)) as f64;
        let bytes = (file_size(&path) - first_size) as f64 / n;
        let cpu_us = cpu.as_secs_f64() * 1e6 / n;
        println!(
            "{{\"format\":\"{format}\",\"checks\":{checks},\"rounds\":{rounds},\"measured_from_round\":{from},\"bytes_per_observation\":{bytes:.2},\"cpu_us_per_observation\":{cpu_us:.3},\"file_bytes\":{}}}",
            file_size(&path)
        );
        results.insert(format, (bytes, cpu_us));
        if new.is_some() {
            // Where the bytes are: each table's share of the file (payload bytes).
            let conn = Connection::open(&path).unwrap();
            let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap_or(0) };
            println!(
                "{{\"format\":\"{format}\",\"sample_block_bytes\":{},\"samples\":{},\"minute_chunk_bytes\":{},\"hour_rollup_bytes\":{},\"day_rollup_bytes\":{},\"tail_bytes\":{},\"runs\":{},\"page_count\":{},\"freelist_count\":{}}}",
                one("SELECT sum(length(data)) FROM samples"),
                one("SELECT sum(count) FROM samples"),
                one("SELECT sum(length(data)) FROM rollups WHERE tier = 0"),
                one("SELECT sum(length(data)) FROM rollups WHERE tier = 1"),
                one("SELECT sum(length(data)) FROM rollups WHERE tier = 2"),
                one("SELECT sum(length(data)) FROM history_tail"),
                one("SELECT count(*) FROM runs"),
                one("PRAGMA page_count"),
                one("PRAGMA freelist_count"),
            );
        }
        drop(new);
        drop(old);
        let _ = std::fs::remove_file(&path);
    }
    let (old, new) = (results["rows_v4"], results["compact_v5"]);
    println!(
        "{{\"checks\":{checks},\"bytes_ratio_new_to_old\":{:.4},\"cpu_ratio_new_to_old\":{:.3}}}",
        new.0 / old.0,
        new.1 / old.1
    );
}

fn simulate(rt: &tokio::runtime::Runtime) {
    let checks = arg("--checks", 20);
    let days = arg("--days", 90);
    let names: Vec<Arc<str>> = (0..checks).map(|i| format!("tcp-{i}").into()).collect();
    let start: DateTime<Utc> = "2026-09-01T00:00:00Z".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // `--keep FILE`: the database is written there and left for a look.
    let argv: Vec<String> = std::env::args().collect();
    let path = argv
        .iter()
        .position(|a| a == "--keep")
        .and_then(|i| argv.get(i + 1))
        .map_or_else(|| dir.path().join("sim.db"), std::path::PathBuf::from);
    let store = SqliteStore::open(&path).unwrap();
    let retention = HistoryRetention::default();
    let mut rng = Rng(7);
    // Remaining observations of the outage each check is in (0: up).
    let mut down = vec![0u64; checks];
    let (mut observations, mut failures) = (0u64, 0u64);
    let per_day = 17_280;
    let t0 = cpu_time();
    let mut batch = Vec::with_capacity(4_096);
    for round in 0..(days * per_day) {
        let at = start + chrono::Duration::seconds(5 * round as i64);
        for (i, name) in names.iter().enumerate() {
            // Outages start with probability 1/300 and last 1–11 observations (6 on
            // average): 2 % of the observations fail.
            if down[i] == 0 && rng.next().is_multiple_of(300) {
                down[i] = 1 + rng.next() % 11;
            }
            let o = if down[i] > 0 {
                down[i] -= 1;
                failures += 1;
                failing(at, i)
            } else {
                steady(at, i, &mut rng)
            };
            observations += 1;
            batch.push((name.clone(), o));
            if batch.len() == 4_096 {
                rt.block_on(store.record_observations(std::mem::take(&mut batch)))
                    .unwrap();
            }
        }
        if (round + 1) % 720 == 0 {
            if !batch.is_empty() {
                rt.block_on(store.record_observations(std::mem::take(&mut batch)))
                    .unwrap();
            }
            rt.block_on(store.prune_history(at, &retention)).unwrap();
        }
        if (round + 1) % per_day == 0 {
            let day = (round + 1) / per_day;
            if day % 10 == 0 || day == days || day <= 2 {
                rt.block_on(store.flush()).unwrap();
                println!(
                    "{{\"day\":{day},\"checks\":{checks},\"db_bytes\":{},\"cpu_s\":{:.1}}}",
                    file_size(&path),
                    (cpu_time() - t0).as_secs_f64()
                );
            }
        }
    }
    rt.block_on(store.record_observations(batch)).unwrap();
    rt.block_on(store.flush()).unwrap();
    let size = file_size(&path);
    let cpu_us = (cpu_time() - t0).as_secs_f64() * 1e6 / observations as f64;
    let conn = Connection::open(&path).unwrap();
    let sum = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let samples = sum("SELECT coalesce(sum(count), 0) FROM samples");
    let sample_bytes = sum("SELECT coalesce(sum(length(data)), 0) FROM samples");
    println!(
        "{{\"checks\":{checks},\"days\":{days},\"observations\":{observations},\"failures\":{failures},\"failure_share\":{:.4},\"db_bytes\":{size},\"db_bytes_scaled_to_2000_checks\":{},\"raw_samples_kept\":{samples},\"sample_block_bytes_per_observation\":{:.3},\"whole_rows\":{},\"runs\":{},\"rollup_rows\":{},\"cpu_us_per_observation\":{cpu_us:.3}}}",
        failures as f64 / observations as f64,
        size * 2_000 / checks as u64,
        sample_bytes as f64 / samples.max(1) as f64,
        sum("SELECT count(*) FROM observations"),
        sum("SELECT count(*) FROM runs"),
        sum("SELECT count(*) FROM rollups"),
    );
}

fn availability(rt: &tokio::runtime::Runtime) {
    let services = arg("--services", 1_000);
    let days = arg("--days", 90);
    let names: Vec<Arc<str>> = (0..services).map(|i| format!("svc-{i}").into()).collect();
    let start: DateTime<Utc> = "2026-09-01T00:00:00Z".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("avail.db");
    let store = SqliteStore::open(&path).unwrap();
    let mut rng = Rng(9);
    let rounds = days * 96;
    let mut batch = Vec::with_capacity(4_096);
    for round in 0..rounds {
        let at = start + chrono::Duration::minutes(15 * round as i64);
        for (i, name) in names.iter().enumerate() {
            let o = if rng.next().is_multiple_of(50) {
                failing(at, i)
            } else {
                steady(at, i, &mut rng)
            };
            batch.push((name.clone(), o));
            if batch.len() == 4_096 {
                rt.block_on(store.record_observations(std::mem::take(&mut batch)))
                    .unwrap();
            }
        }
    }
    rt.block_on(store.record_observations(batch)).unwrap();
    rt.block_on(store.flush()).unwrap();
    let end = start + chrono::Duration::minutes(15 * rounds as i64);
    let since = end - chrono::Duration::days(days as i64);
    let time = |f: &mut dyn FnMut()| {
        let mut runs: Vec<Duration> = (0..21)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect();
        runs.sort();
        runs[10]
    };
    let mut answer = Vec::new();
    let rollups = time(&mut || answer = rt.block_on(store.availability(since)).unwrap());
    assert_eq!(answer.len(), services);
    let day = end - chrono::Duration::days(1);
    let mut raw_count = 0;
    let raw = time(&mut || {
        raw_count = 0;
        for n in &names {
            raw_count += rt.block_on(store.observations(n, day, 0)).unwrap().len();
        }
    });
    println!(
        "{{\"services\":{services},\"days\":{days},\"availability_from_rollups_ms\":{:.2},\"one_day_from_raw_ms\":{:.2},\"ratio_rollups_to_raw_day\":{:.4},\"raw_observations_read\":{raw_count},\"mean_availability\":{:.4}}}",
        rollups.as_secs_f64() * 1e3,
        raw.as_secs_f64() * 1e3,
        rollups.as_secs_f64() / raw.as_secs_f64(),
        answer.iter().filter_map(|a| a.availability).sum::<f64>() / services as f64,
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if flag("--compare") {
        compare(&rt);
    }
    if flag("--simulate") {
        simulate(&rt);
    }
    if flag("--availability") {
        availability(&rt);
    }
    if !flag("--compare") && !flag("--simulate") && !flag("--availability") {
        eprintln!("say --compare, --simulate and/or --availability (see the file's head)");
    }
}
