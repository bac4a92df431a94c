//! Observations per second written through `Store::record_observations`: the PostgreSQL store
//! (`PostgresStore`, a private local server started like the tests start it) against the
//! embedded SQLite store (`SqliteStore`), in the same run on the same machine.
//!
//! The workload is a district's monitor: `STORE_BENCH_CHECKS` checks (default 2,000), one
//! observation per check per round handed over as one batch (as the monitor writes a round),
//! rounds 5 s apart on a virtual clock for `STORE_BENCH_ROUNDS` rounds (default 2,520: 3 h 30 min
//! of observation time from midnight, so three hours close during the run). Observations are a
//! TCP check's: "connected to 10.x.y.z:443 in N ms" with its latency and a `connect_time`
//! metric (every other check a `latency` metric too); about 3 % are not OK (outages of 1 to 11
//! observations, two thirds of them refused connections (Critical), a third slow ones
//! (Warning)), so whole rows and changes of run are written too. The generator is seeded, so
//! every run writes the same observations.
//!
//! Each store starts empty (a new file, a new database) and is timed from its first batch to
//! its `flush()` after the last; building the batches is not timed. Each PostgreSQL database
//! is dropped after its run and each SQLite file removed. Three runs per store,
//! alternating SQLite and PostgreSQL. Prints one line per run, one JSON line and a table:
//! median observations per second, min–max, the ratio PostgreSQL / SQLite of the medians, and
//! the size each history takes on disk after its last run (SQLite: file and WAL after a
//! checkpoint; PostgreSQL: `pg_database_size`), per observation.
//!
//! `cargo bench -p forewarn --bench store_write`; `STORE_BENCH_CHECKS=N STORE_BENCH_ROUNDS=R`
//! to change the workload. Exits non-zero when PostgreSQL cannot start.

#[path = "../tests/support/databases.rs"]
mod databases;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use databases::{Engine, PASSWORD, Server, USER};
use forewarn::store::PostgresStore;
use forewarn::{Observation, SqliteStore, Status, Store};

// The allocator the `forewarn` program runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RUNS: usize = 3;

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
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

/// Where each check is: observations of an outage still to come, and whether it is a slow
/// one (Warning) or a refused one (Critical).
#[derive(Clone, Copy, Default)]
struct Outage {
    left: u32,
    slow: bool,
}

/// The observations of every check, round after round.
struct Workload {
    names: Vec<Arc<str>>,
    outages: Vec<Outage>,
    rng: Rng,
    start: DateTime<Utc>,
}

impl Workload {
    fn new(checks: usize) -> Self {
        Workload {
            names: (0..checks)
                .map(|i| format!("school-{:03}/tcp-{i}", i / 20).into())
                .collect(),
            outages: vec![Outage::default(); checks],
            rng: Rng(42),
            start: "2026-09-01T00:00:00Z".parse().unwrap(),
        }
    }

    /// Round `round`'s batch: one observation per check, each check at its own offset in the
    /// round (the scheduler spreads them over the interval).
    fn round(&mut self, round: usize) -> Vec<(Arc<str>, Observation)> {
        let n = self.names.len();
        let base = self.start + chrono::Duration::seconds(5 * round as i64);
        let mut batch = Vec::with_capacity(n);
        for i in 0..n {
            let at = base + chrono::Duration::milliseconds((i * 5_000 / n) as i64);
            let address = format!("10.{}.{}.{}:443", 1 + i / 65_536, i / 256 % 256, i % 256);
            let o = &mut self.outages[i];
            if o.left == 0 && self.rng.next() % 1_000 < 5 {
                // ≈ 0.5 % of observations start an outage of 1–11 (6 on average): ≈ 3 %.
                o.left = 1 + (self.rng.next() % 11) as u32;
                o.slow = self.rng.next().is_multiple_of(3);
            }
            let obs = if o.left > 0 {
                o.left -= 1;
                if o.slow {
                    let ms = 800 + self.rng.next() % 1_200;
                    Observation::new(
                        Status::Warning,
                        format!("connected to {address} in {ms} ms"),
                        at,
                    )
                    .with_metric("connect_time", ms as f64 / 1e3, "s")
                    .with_latency(Duration::from_millis(ms))
                } else {
                    Observation::new(
                        Status::Critical,
                        format!("{address}: connection refused"),
                        at,
                    )
                    .with_latency(Duration::from_micros(200 + self.rng.next() % 300))
                }
            } else {
                let us = 1_500 + self.rng.next() % 4_000;
                let mut obs = Observation::new(
                    Status::Ok,
                    format!("connected to {address} in {} ms", us / 1_000),
                    at,
                )
                .with_metric("connect_time", us as f64 / 1e6, "s")
                .with_latency(Duration::from_micros(us + 40));
                if i % 2 == 1 {
                    obs = obs.with_metric("latency", (us + 40) as f64 / 1e6, "s");
                }
                obs
            };
            batch.push((self.names[i].clone(), obs));
        }
        batch
    }
}

/// One run of one store.
struct Run {
    seconds: f64,
    observations: u64,
    not_ok: u64,
    /// Bytes on disk after the run, and of the empty history (schema only).
    bytes: u64,
    empty_bytes: u64,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.observations as f64 / self.seconds
    }
}

/// Writes the workload into `store`, timing `record_observations` and the final `flush`.
async fn write(store: &dyn Store, checks: usize, rounds: usize) -> (f64, u64, u64) {
    let mut workload = Workload::new(checks);
    let (mut timed, mut observations, mut not_ok) = (Duration::ZERO, 0, 0);
    for round in 0..rounds {
        let batch = workload.round(round);
        observations += batch.len() as u64;
        not_ok += batch.iter().filter(|(_, o)| o.status != Status::Ok).count() as u64;
        let t = Instant::now();
        store
            .record_observations(batch)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        timed += t.elapsed();
    }
    let t = Instant::now();
    store.flush().await.expect("flush");
    timed += t.elapsed();
    (timed.as_secs_f64(), observations, not_ok)
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

/// The SQLite file and its WAL after a checkpoint.
fn checkpointed_size(path: &std::path::Path) -> u64 {
    let conn = rusqlite::Connection::open(path).expect("open the SQLite file");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    drop(conn);
    file_size(path)
}

fn sqlite_run(rt: &tokio::runtime::Runtime, run: usize, checks: usize, rounds: usize) -> Run {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join(format!("store-{run}.db"));
    let store = SqliteStore::open(&path).expect("SQLite store opens");
    rt.block_on(store.flush()).expect("flush");
    drop(store);
    let empty_bytes = checkpointed_size(&path);
    let store = SqliteStore::open(&path).expect("SQLite store opens");
    let (seconds, observations, not_ok) = rt.block_on(write(&store, checks, rounds));
    drop(store);
    Run {
        seconds,
        observations,
        not_ok,
        bytes: checkpointed_size(&path),
        empty_bytes,
    }
}

async fn database_size(url: &str) -> u64 {
    let mut config: tokio_postgres::Config = url.parse().expect("URL");
    config.password(PASSWORD);
    let (client, conn) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect to read the size");
    let conn = tokio::spawn(conn);
    let size: i64 = client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .await
        .expect("pg_database_size")
        .get(0);
    drop(client);
    let _ = conn.await;
    size as u64
}

fn postgres_run(
    rt: &tokio::runtime::Runtime,
    server: &Server,
    run: usize,
    checks: usize,
    rounds: usize,
) -> Run {
    let name = format!("store_write_{run}");
    server
        .admin(&format!("CREATE DATABASE {name} OWNER {USER}"))
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    let url = format!("postgres://{USER}@127.0.0.1:{}/{name}", server.port);
    let run = rt.block_on(async {
        let store = PostgresStore::connect_with(&url, Some(PASSWORD))
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL store on {url}: {e}"));
        let empty_bytes = database_size(&url).await;
        let (seconds, observations, not_ok) = write(&store, checks, rounds).await;
        drop(store);
        let bytes = database_size(&url).await;
        Run {
            seconds,
            observations,
            not_ok,
            bytes,
            empty_bytes,
        }
    });
    server
        .admin(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap_or_else(|e| panic!("DROP DATABASE {name}: {e}"));
    run
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// 1234567 → "1,234,567".
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn main() {
    let checks = env_usize("STORE_BENCH_CHECKS", 2_000).max(1);
    let rounds = env_usize("STORE_BENCH_ROUNDS", 2_520).max(1);
    let server = match Server::start_new(Engine::Postgres) {
        Ok(s) => s,
        Err(reason) => {
            eprintln!("store_write: PostgreSQL cannot start: {reason}");
            std::process::exit(1);
        }
    };
    let version = server.admin("SHOW server_version").unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "store_write: {checks} checks × {rounds} rounds (5 s apart, {:.2} h of observation \
         time), {RUNS} runs per store, PostgreSQL {version}",
        rounds as f64 * 5.0 / 3600.0
    );
    let mut sqlite = Vec::new();
    let mut postgres = Vec::new();
    for run in 0..RUNS {
        for store in ["sqlite", "postgres"] {
            let r = if store == "sqlite" {
                sqlite_run(&rt, run, checks, rounds)
            } else {
                postgres_run(&rt, &server, run, checks, rounds)
            };
            println!(
                "run {} {store:<8} {:>8.2} s  {:>10.0} obs/s  {} observations ({} not OK), \
                 {} bytes after ({} empty)",
                run + 1,
                r.seconds,
                r.per_second(),
                r.observations,
                r.not_ok,
                r.bytes,
                r.empty_bytes
            );
            if store == "sqlite" {
                sqlite.push(r);
            } else {
                postgres.push(r);
            }
        }
    }
    drop(server);

    let summary = |runs: &[Run]| {
        let rates: Vec<f64> = runs.iter().map(Run::per_second).collect();
        let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let max = rates.iter().copied().fold(0.0, f64::max);
        let last = runs.last().expect("a run");
        let obs = last.observations as f64;
        (
            median(rates),
            min,
            max,
            last.bytes,
            last.bytes as f64 / obs,
            last.bytes.saturating_sub(last.empty_bytes) as f64 / obs,
        )
    };
    let s = summary(&sqlite);
    let p = summary(&postgres);
    let observations = sqlite[0].observations;
    let round1 = |x: f64| (x * 10.0).round() / 10.0;
    let round2 = |x: f64| (x * 100.0).round() / 100.0;
    let json = serde_json::json!({
        "bench": "store_write",
        "checks": checks,
        "rounds": rounds,
        "observations": observations,
        "not_ok": sqlite[0].not_ok,
        "runs": RUNS,
        "sqlite": {
            "median_per_s": round1(s.0), "min_per_s": round1(s.1), "max_per_s": round1(s.2),
            "seconds": sqlite.iter().map(|r| round2(r.seconds)).collect::<Vec<_>>(),
            "bytes": s.3, "bytes_per_observation": round2(s.4),
            "net_bytes_per_observation": round2(s.5),
        },
        "postgres": {
            "median_per_s": round1(p.0), "min_per_s": round1(p.1), "max_per_s": round1(p.2),
            "seconds": postgres.iter().map(|r| round2(r.seconds)).collect::<Vec<_>>(),
            "bytes": p.3, "bytes_per_observation": round2(p.4),
            "net_bytes_per_observation": round2(p.5),
        },
        "ratio_postgres_sqlite": (p.0 / s.0 * 1000.0).round() / 1000.0,
    });
    println!("{json}");
    println!();
    println!(
        "{:<9} {:>7} {:>13} {:>12} {:>19} {:>17}",
        "store", "rounds", "observations", "median/s", "min–max /s", "vs SQLite"
    );
    for (name, x) in [("sqlite", s), ("postgres", p)] {
        println!(
            "{:<9} {:>7} {:>13} {:>12} {:>19} {:>16.3}×",
            name,
            thousands(rounds as u64),
            thousands(observations),
            thousands(x.0.round() as u64),
            format!(
                "{}–{}",
                thousands(x.1.round() as u64),
                thousands(x.2.round() as u64)
            ),
            x.0 / s.0
        );
    }
    println!();
    println!(
        "{:<9} {:>16} {:>14} {:>22}",
        "store", "size after run", "bytes/obs", "bytes/obs over empty"
    );
    for (name, x) in [("sqlite", s), ("postgres", p)] {
        println!(
            "{:<9} {:>16} {:>14.1} {:>22.1}",
            name,
            thousands(x.3),
            x.4,
            x.5
        );
    }
}
