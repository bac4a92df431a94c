//! Status server throughput: requests per second and latency of `/` and `/status.json` for a
//! district of 1,000 services (90 days each) with 100 open incidents, against the static
//! stylesheet route of the same server in the same run (the ratio shows what rendering costs
//! over serving fixed bytes).
//!
//! `cargo bench -p forewarn --bench status_server [-- --seconds N --clients C]` (default 5 s per
//! route, 8 keep-alive clients). Prints a table and one JSON line.

#[path = "../tests/support/status.rs"]
mod fixtures;

use std::sync::Arc;
use std::time::{Duration, Instant};

use forewarn::Zone;
use forewarn::status::{StatusConfig, StatusServer};
use forewarn::testing::FakeStatusSource;

struct Figures {
    route: &'static str,
    requests: usize,
    bytes: usize,
    rps: f64,
    p50: Duration,
    p99: Duration,
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(base: &str, route: &'static str, clients: usize, seconds: u64) -> Figures {
    let url = format!("{base}{route}");
    // Warm up.
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let bytes = c
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len();
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let c = reqwest::Client::builder().no_proxy().build().unwrap();
                let mut lat = Vec::new();
                while Instant::now() < until {
                    let t = Instant::now();
                    let r = c.get(&url).send().await.unwrap();
                    assert!(r.status().is_success());
                    r.bytes().await.unwrap();
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    let q = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    Figures {
        route,
        requests: all.len(),
        bytes,
        rps: all.len() as f64 / elapsed.as_secs_f64(),
        p50: q(0.5),
        p99: q(0.99),
    }
}

fn main() {
    let seconds = arg("--seconds", 5);
    let clients = arg("--clients", 8) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        forewarn::http_client::install_crypto_provider();
        let source = FakeStatusSource::new(fixtures::large(1000, 100));
        let config = StatusConfig {
            listen: Some("127.0.0.1:0".into()),
            ..StatusConfig::default()
        };
        let server = StatusServer::bind(
            &config,
            Arc::new(source),
            Zone::named(fixtures::ZONE).unwrap(),
        )
        .unwrap();
        let base = format!("http://{}", server.local_addr());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.serve(async move {
            let _ = rx.await;
        }));
        let mut figures = Vec::new();
        for route in ["/static/style.css", "/", "/status.json"] {
            figures.push(run(&base, route, clients, seconds).await);
        }
        let _ = tx.send(());
        serving.await.unwrap().unwrap();

        let base_rps = figures[0].rps;
        println!(
            "status server: 1,000 services × 90 days, 100 open incidents; {clients} keep-alive clients, {seconds} s per route"
        );
        println!(
            "{:<18} {:>10} {:>9} {:>10} {:>10} {:>10} {:>14}",
            "route", "bytes", "requests", "req/s", "p50", "p99", "req/s vs static"
        );
        for f in &figures {
            println!(
                "{:<18} {:>10} {:>9} {:>10.0} {:>10.2?} {:>10.2?} {:>14.4}",
                f.route,
                f.bytes,
                f.requests,
                f.rps,
                f.p50,
                f.p99,
                f.rps / base_rps
            );
        }
        let json: Vec<_> = figures
            .iter()
            .map(|f| {
                serde_json::json!({
                    "route": f.route, "bytes": f.bytes, "requests": f.requests,
                    "rps": f.rps, "p50_ms": f.p50.as_secs_f64() * 1e3,
                    "p99_ms": f.p99.as_secs_f64() * 1e3, "ratio_to_static": f.rps / base_rps,
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "bench": "status_server", "routes": json }));
    });
}
