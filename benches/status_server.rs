//! Status server throughput: requests per second and latency of `/` and `/status.json` for a
//! district of 1,000 services (90 days each) with 100 open incidents, against the static
//! stylesheet route of the same server in the same run (the ratio shows what rendering costs
//! over serving fixed bytes).
//!
//! `cargo bench -p forewarn --bench status_server [-- --seconds N --clients C]` (default 5 s per
//! route, 8 keep-alive clients): the server in this process with an in-memory source.
//!
//! `cargo bench -p forewarn --bench status_server -- --cli [--services N --failing F]` (default
//! 1,000 and 100; `benches/status_page.sh` runs it): the path a district takes. A TOML config
//! with N services, each one TCP check of a loopback port this process listens on, an audience
//! with a file sink, `[broadcasts] delay = "1s"` and `[status] listen`; a history of 89 days
//! written beforehand, as a district that has run forewarn for three months has; `forewarn run
//! --config …` (the release build); F of the ports closed, and the routes measured once
//! `/status.json` shows F open incidents; the run stopped with SIGTERM, which it must survive
//! with exit status 0. `FOREWARN_BIN=PATH` runs another build of the program, to compare two.
//!
//! Both print a table (with the load averages before and after) and one JSON line.

#[path = "../tests/support/status.rs"]
mod fixtures;

use std::sync::Arc;
use std::time::{Duration, Instant};

use forewarn::Zone;
use forewarn::status::{StatusConfig, StatusServer};
use forewarn::testing::FakeStatusSource;
use forewarn::{Observation, SqliteStore, Status, Store};

struct Figures {
    route: &'static str,
    requests: usize,
    bytes: usize,
    rps: f64,
    p50: Duration,
    p99: Duration,
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
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
        if flag("--cli") {
            let services = arg("--services", 1000) as usize;
            let failing = arg("--failing", 100) as usize;
            cli(services, failing, clients, seconds).await;
        } else {
            in_process(clients, seconds).await;
        }
    });
}

/// The server in this process, its source the in-memory fake.
async fn in_process(clients: usize, seconds: u64) {
    let load_before = load_average();
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
    let figures = measure(&base, clients, seconds).await;
    let _ = tx.send(());
    serving.await.unwrap().unwrap();
    report(
        "in-process",
        &format!(
            "status server, in-memory source: 1,000 services × 90 days, 100 open incidents; {clients} keep-alive clients, {seconds} s per route"
        ),
        &figures,
        &load_before,
    );
}

/// The static stylesheet (the same-run baseline), the page and the JSON, in that order.
async fn measure(base: &str, clients: usize, seconds: u64) -> Vec<Figures> {
    let mut figures = Vec::new();
    for route in ["/static/style.css", "/", "/status.json"] {
        figures.push(run(base, route, clients, seconds).await);
    }
    figures
}

fn report(path: &str, title: &str, figures: &[Figures], load_before: &str) {
    let load_after = load_average();
    let base_rps = figures[0].rps;
    println!("{title}");
    println!("load average before: {load_before}; after: {load_after}");
    println!(
        "{:<18} {:>10} {:>9} {:>10} {:>10} {:>10} {:>14}",
        "route", "bytes", "requests", "req/s", "p50", "p99", "req/s vs static"
    );
    for f in figures {
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
    println!(
        "{}",
        serde_json::json!({
            "bench": "status_server", "path": path, "load_before": load_before,
            "load_after": load_after, "routes": json,
        })
    );
}

/// A port this process listens on, accepting and closing every connection, until the
/// returned task is aborted (the port then refuses connections).
async fn listening_port() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        loop {
            if let Ok((s, _)) = listener.accept().await {
                drop(s);
            }
        }
    });
    (port, task)
}

/// A district that has run forewarn for three months: for each of `services` checks, four
/// observations a day for the 89 days before today, one of them failed on a day in 30 (an
/// availability of 75 % that day), so the page's 90-day bars have days of several colours.
async fn seed_history(database: &std::path::Path, services: usize) {
    let store = SqliteStore::open(database).unwrap();
    let names: Vec<Arc<str>> = (0..services)
        .map(|n| Arc::from(format!("svc-{n}")))
        .collect();
    let today = chrono::Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    for day in (1..=89i64).rev() {
        for slot in 0..4i64 {
            let at = today - chrono::Duration::days(day) + chrono::Duration::hours(6 * slot);
            let batch = names
                .iter()
                .enumerate()
                .map(|(n, name)| {
                    let failed = slot == 2 && (day as usize + n) % 30 == 7;
                    let status = if failed { Status::Critical } else { Status::Ok };
                    let summary = if failed {
                        "connection refused"
                    } else {
                        "connected in 1 ms"
                    };
                    (name.clone(), Observation::new(status, summary, at))
                })
                .collect();
            store.record_observations(batch).await.unwrap();
        }
    }
    store.flush().await.unwrap();
}

/// The district's configuration: `ports[n]` is service n's one TCP check.
fn cli_config(ports: &[u16], status_port: u16) -> String {
    let mut c = format!(
        "[monitor]\ndatabase = \"forewarn.db\"\ntime_zone = \"{zone}\"\n\n\
         [sinks.ict]\ntype = \"file\"\npath = \"ict.jsonl\"\n\n\
         [sinks.staff]\ntype = \"file\"\npath = \"staff.jsonl\"\n\n\
         [policies.default]\ntype = \"notify\"\nsinks = [\"ict\"]\n\n\
         [audiences.staff]\nname = \"Staff\"\nsinks = [\"staff\"]\nservices = [\"*\"]\n\n\
         [broadcasts]\ndelay = \"1s\"\nhold = \"1m\"\ndistrict = \"Large district\"\n\n\
         [status]\nlisten = \"127.0.0.1:{status_port}\"\n\n",
        zone = fixtures::ZONE
    );
    for n in 0..ports.len() {
        c.push_str(&format!(
            "[services.service-{n}]\nname = \"Service {n}\"\nchecks = [\"svc-{n}\"]\n\
             impact = \"Unavailable for everyone.\"\n\n"
        ));
    }
    for (n, port) in ports.iter().enumerate() {
        c.push_str(&format!(
            "[[checks]]\nname = \"svc-{n}\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:{port}\"\n\
             interval = \"5s\"\ntimeout = \"1s\"\nfailure_threshold = 1\n\n"
        ));
    }
    c
}

/// `/status.json`'s services in `state` and incidents not resolved, or `None` while it does not
/// answer.
async fn page_counts(c: &reqwest::Client, base: &str, state: &str) -> Option<(usize, usize)> {
    let r = c.get(format!("{base}/status.json")).send().await.ok()?;
    let v: serde_json::Value = r.json().await.ok()?;
    let services = v["services"]
        .as_array()?
        .iter()
        .filter(|s| s["state"] == state)
        .count();
    let open = v["incidents"]
        .as_array()?
        .iter()
        .filter(|i| i["state"] != "resolved")
        .count();
    Some((services, open))
}

/// Polls `/status.json` until `done` holds of its counts, for at most `limit`.
async fn wait_for(
    c: &reqwest::Client,
    base: &str,
    state: &str,
    limit: Duration,
    child: &mut std::process::Child,
    log: &std::path::Path,
    done: impl Fn((usize, usize)) -> bool,
) -> Duration {
    let started = Instant::now();
    let mut last = None;
    loop {
        let counts = page_counts(c, base, state).await;
        if let Some(counts) = counts {
            if done(counts) {
                return started.elapsed();
            }
            last = Some(counts);
        }
        if started.elapsed() > limit || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!(
                "the page never showed what was awaited ({state}, open incidents: {last:?}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The path a district takes: the `forewarn` program with a TOML config.
async fn cli(services: usize, failing: usize, clients: usize, seconds: u64) {
    // `FOREWARN_BIN` runs another build of the program (an earlier one, to compare).
    let Some(bin) = std::env::var("FOREWARN_BIN")
        .ok()
        .or(option_env!("CARGO_BIN_EXE_forewarn").map(str::to_owned))
    else {
        println!("status server --cli: skipped — the forewarn program is not built (feature cli)");
        return;
    };
    println!("program: {bin}");
    let dir = tempfile::tempdir().unwrap();
    let mut ports = Vec::with_capacity(services);
    let mut listeners = Vec::with_capacity(services);
    for _ in 0..services {
        let (port, task) = listening_port().await;
        ports.push(port);
        listeners.push(task);
    }
    let status_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = dir.path().join("forewarn.toml");
    std::fs::write(&config, cli_config(&ports, status_port)).unwrap();
    let t = Instant::now();
    seed_history(&dir.path().join("forewarn.db"), services).await;
    let seeded = t.elapsed();

    let log = dir.path().join("run.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut child = std::process::Command::new(&bin)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .current_dir(dir.path())
        .env_remove("FOREWARN_CONFIG")
        .env("FOREWARN_LOG", "forewarn=warn")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{status_port}");
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let limit = Duration::from_secs(120);
    let all_up = wait_for(
        &c,
        &base,
        "operational",
        limit,
        &mut child,
        &log,
        |(s, _)| s == services,
    )
    .await;
    for task in listeners.drain(..failing) {
        task.abort();
        let _ = task.await;
    }
    let incidents = wait_for(&c, &base, "down", limit, &mut child, &log, |(s, o)| {
        s == failing && o == failing
    })
    .await;
    println!(
        "history of 89 days written in {seeded:.1?}; every service operational {all_up:.1?} after the start; {failing} open incidents on the page {incidents:.1?} after their ports closed"
    );

    let load_before = load_average();
    let figures = measure(&base, clients, seconds).await;
    // Still the same page at the end of the measurement.
    let counts = page_counts(&c, &base, "down").await;

    let t = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if t.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!(
                "forewarn run did not stop within 30 s of SIGTERM:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let stopped = t.elapsed();
    assert!(
        status.success(),
        "forewarn run stopped with {status}:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(
        counts,
        Some((failing, failing)),
        "the page changed while measured"
    );
    println!("forewarn run stopped by SIGTERM in {stopped:.2?} with {status}");
    report(
        "cli",
        &format!(
            "status page of `forewarn run --config` (release build): {services} services, each one TCP check every 5 s, {failing} open incidents, 89 days of history; {clients} keep-alive clients, {seconds} s per route"
        ),
        &figures,
        &load_before,
    );
}
