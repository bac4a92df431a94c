//! Database checks per second: each engine (PostgreSQL, MariaDB, Redis) against a private local
//! server, with the connection kept between checks (pooled, the default) and with a new
//! connection — TCP, login, `SET` of the statement limit — for every check (`keep_connection =
//! false`), measured in the same run on the same server.
//!
//! Checks run one after another (as one check's schedule does), for a fixed time per engine
//! and mode, the default `SELECT 1` / `PING` as the test user with a password (SCRAM-SHA-256
//! for PostgreSQL, `mysql_native_password` for MariaDB, `requirepass` for Redis).
//!
//! `cargo bench -p forewarn --bench databases [-- --seconds N]` (default 3 per engine and mode).
//! Prints one JSON line and a table. Servers it cannot start are skipped with the reason.

#[path = "../tests/support/databases.rs"]
mod databases;

use std::sync::Arc;
use std::time::{Duration, Instant};

use databases::{Engine, PASSWORD, Server};
use forewarn::http_client::HttpClients;
use forewarn::{CheckContext, Probe, ProbeConfig, Status};

fn probe(toml_text: &str) -> Arc<dyn Probe> {
    let config: ProbeConfig = toml::from_str(toml_text).expect("probe config parses");
    config.validate().expect("probe config is valid");
    config.build(&HttpClients::new()).expect("probe builds")
}

struct Run {
    checks: u64,
    failures: u64,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

async fn measure(p: &dyn Probe, seconds: f64) -> Run {
    let mut cx = CheckContext::for_test("bench");
    cx.timeout = Duration::from_secs(5);
    // Warm up (and, pooled, open the connection).
    for _ in 0..20 {
        p.check(&cx).await;
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    let started = Instant::now();
    let budget = Duration::from_secs_f64(seconds);
    while started.elapsed() < budget {
        let t = Instant::now();
        let obs = p.check(&cx).await;
        latencies.push(t.elapsed());
        if obs.status != Status::Ok {
            failures += 1;
            if failures == 1 {
                eprintln!("{}: {}", p.kind(), obs.summary);
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    Run {
        checks: latencies.len() as u64,
        failures,
        per_second: latencies.len() as f64 / elapsed,
        p50: at(0.5),
        p99: at(0.99),
    }
}

fn main() {
    let mut seconds = 3.0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--seconds" {
            seconds = args
                .next()
                .and_then(|s| s.parse().ok())
                .expect("--seconds N");
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rows = Vec::new();
    let mut json = serde_json::Map::new();
    for engine in [Engine::Postgres, Engine::Mariadb, Engine::Redis] {
        let server = match Server::start_new(engine) {
            Ok(s) => s,
            Err(reason) => {
                println!("databases: {engine:?} skipped: {reason}");
                continue;
            }
        };
        let base = server.probe_toml(PASSWORD);
        let pooled = probe(&base);
        let fresh = probe(&format!("{base}keep_connection = false\n"));
        let (p, f) = rt.block_on(async {
            let p = measure(&*pooled, seconds).await;
            let f = measure(&*fresh, seconds).await;
            (p, f)
        });
        let name = engine.probe_type();
        json.insert(
            name.to_owned(),
            serde_json::json!({
                "pooled_per_s": (p.per_second * 10.0).round() / 10.0,
                "fresh_per_s": (f.per_second * 10.0).round() / 10.0,
                "ratio": (p.per_second / f.per_second * 100.0).round() / 100.0,
                "pooled_p50_us": p.p50.as_micros() as u64,
                "pooled_p99_us": p.p99.as_micros() as u64,
                "fresh_p50_us": f.p50.as_micros() as u64,
                "fresh_p99_us": f.p99.as_micros() as u64,
                "checks": p.checks + f.checks,
                "failures": p.failures + f.failures,
            }),
        );
        rows.push((name, p, f));
        drop(server);
    }
    json.insert("bench".into(), "databases".into());
    json.insert("seconds_per_mode".into(), seconds.into());
    println!("{}", serde_json::Value::Object(json));
    println!();
    println!(
        "{:<9} {:>12} {:>12} {:>8} {:>14} {:>14} {:>9}",
        "engine", "pooled /s", "fresh /s", "ratio", "pooled p50", "fresh p50", "failures"
    );
    for (name, p, f) in rows {
        println!(
            "{:<9} {:>12.0} {:>12.0} {:>7.1}× {:>11} µs {:>11} µs {:>9}",
            name,
            p.per_second,
            f.per_second,
            p.per_second / f.per_second,
            p.p50.as_micros(),
            f.p50.as_micros(),
            p.failures + f.failures
        );
    }
}
