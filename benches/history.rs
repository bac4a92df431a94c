//! The history write as history grows: rounds of one observation per check (as the monitor
//! hands them over, 4,096 to a batch) into the SQLite store on disk, and the CPU time
//! (utime + stime) per row, per block of 10 rounds. The baseline is the block of rounds 2–10,
//! measured in the same run on a short history: a flat cost is a ratio of 1. (Round 1, which
//! also adds every check to the database, is reported apart.)
//!
//! `--checks 100000 --rounds 60` (60 rounds of 100,000 checks: five minutes of history at a
//! 5 s interval). Prints one JSON line per reported round, then one with the reads.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use forewarn::{Observation, SqliteStore, Status, Store};

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

/// What a TCP check records: its summary, its two timings as metrics.
fn observation(at: DateTime<Utc>, port: usize) -> Observation {
    Observation::new(
        Status::Ok,
        format!("connected to 127.0.0.1:{port} in 0.1 ms"),
        at,
    )
    .with_metric("connect_time", 0.000_105, "s")
    .with_metric("latency", 0.000_106, "s")
    .with_latency(Duration::from_micros(106))
}

fn main() {
    let checks = arg("--checks", 100_000);
    let rounds = arg("--rounds", 60).max(1);
    let interval = chrono::Duration::seconds(5);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("history.db");
    let store = SqliteStore::open(&path).expect("the database");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let names: Vec<Arc<str>> = (0..checks).map(|i| format!("tcp-{i}").into()).collect();
    let start = Utc::now();
    // Per block of 10 rounds: CPU time and rows. The first round, which adds every check to
    // the database, is reported apart; the baseline is the block of rounds 2–10.
    let mut block = (Duration::ZERO, 0usize);
    let mut blocks = Vec::new();
    for round in 0..rounds {
        let at = start + interval * round as i32;
        let mut spent = Duration::ZERO;
        for (b, chunk) in names.chunks(4_096).enumerate() {
            // Built outside the measured part: the monitor builds its observations anyway.
            let batch: Vec<(Arc<str>, Observation)> = chunk
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), observation(at, 18_080 + (b * 4_096 + i) % 16)))
                .collect();
            let before = cpu_time();
            rt.block_on(store.record_observations(batch)).unwrap();
            spent += cpu_time() - before;
        }
        block.0 += spent;
        block.1 += checks;
        let done = round + 1;
        if done == 1 || done % 10 == 0 || done == rounds {
            let per_row = block.0.as_secs_f64() * 1e6 / block.1 as f64;
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
                + std::fs::metadata(path.with_extension("db-wal"))
                    .map(|m| m.len())
                    .unwrap_or(0);
            let first = done + 1 - block.1 / checks;
            blocks.push((first, done, per_row, size / (done as u64 * checks as u64)));
            block = (Duration::ZERO, 0);
        }
    }
    let base = blocks.get(1).unwrap_or(&blocks[0]).2;
    for (first, last, per_row, bytes) in blocks {
        println!(
            "{{\"rounds\":\"{first}-{last}\",\"checks\":{checks},\"cpu_us_per_row\":{per_row:.2},\"ratio_to_rounds_2_10\":{:.2},\"file_bytes_per_row\":{bytes}}}",
            per_row / base
        );
    }
    // Reading back: the latest 50 observations of 1,000 checks.
    let t = Instant::now();
    let mut got = 0;
    for name in names.iter().step_by((checks / 1_000).max(1)) {
        got += rt
            .block_on(store.observations(name, start, 50))
            .unwrap()
            .len();
    }
    let reads = names.len().div_ceil((checks / 1_000).max(1));
    println!(
        "{{\"read_latest_50_us\":{:.1},\"rows_read\":{got}}}",
        t.elapsed().as_secs_f64() * 1e6 / reads as f64
    );
    rt.block_on(store.flush()).unwrap();
}
