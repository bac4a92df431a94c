//! Alert latency: how long from a service failing to the SMTP server accepting the alert.
//!
//! A TCP check (interval 1 s, failure threshold 1) watches a loopback listener; an e-mail sink
//! sends to aiosmtpd (PyPI) on loopback, which stores each accepted message in a Maildir
//! before it answers 250. The bench closes the listener at a recorded instant (at a random
//! phase of the check interval), polls the Maildir's `new/` directory every 2 ms until the
//! alert appears, then re-opens the listener and waits for the "resolved" message before the
//! next outage. It reports p50/p95/max of failure → SMTP acceptance, also as a ratio of the
//! check interval, against the target "within one check interval + 250 ms".
//!
//! `cargo bench --bench alert_latency [-- --outages N]` (default 20). Prints one JSON line and
//! a table. Without aiosmtpd it prints why and exits 0.

#[path = "../tests/support/smtp.rs"]
mod smtp;

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::Rng;

use forewarn::monitor::state::FlapPolicy;
use forewarn::probe::TcpConfig;
use forewarn::{CheckSpec, Monitor, StatePolicy};
use smtp::{Kind, Smtp};

const INTERVAL: Duration = Duration::from_secs(1);
const SLACK: Duration = Duration::from_millis(250);
const POLL: Duration = Duration::from_millis(2);

/// A loopback service that can be switched off and on at a known instant.
struct Service {
    port: u16,
    listener: Arc<Mutex<Option<TcpListener>>>,
    stop: Arc<AtomicBool>,
}

impl Service {
    fn start() -> std::io::Result<Service> {
        let l = TcpListener::bind("127.0.0.1:0")?;
        l.set_nonblocking(true)?;
        let port = l.local_addr()?.port();
        let listener = Arc::new(Mutex::new(Some(l)));
        let stop = Arc::new(AtomicBool::new(false));
        {
            // Accept and drop connections so the backlog never fills.
            let (listener, stop) = (listener.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(l) = &*listener.lock() {
                        while let Ok((conn, _)) = l.accept() {
                            drop(conn);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
        }
        Ok(Service {
            port,
            listener,
            stop,
        })
    }

    /// Closes the listener; returns the instant it was closed (connects are refused after it).
    fn fail(&self) -> Instant {
        let l = self.listener.lock().take();
        drop(l);
        Instant::now()
    }

    fn recover(&self) -> std::io::Result<()> {
        let l = TcpListener::bind(("127.0.0.1", self.port))?;
        l.set_nonblocking(true)?;
        *self.listener.lock() = Some(l);
        Ok(())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Message files in `maildir/new`.
fn new_files(maildir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(maildir.join("new"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Polls `new/` every 2 ms until it holds more than `count` files; the instant it saw them.
fn wait_new(maildir: &Path, count: usize, limit: Duration) -> Option<Instant> {
    let deadline = Instant::now() + limit;
    loop {
        if new_files(maildir).len() > count {
            return Some(Instant::now());
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let outages: usize = argv
        .iter()
        .position(|a| a == "--outages")
        .and_then(|i| argv.get(i + 1))
        .map(|n| n.parse().expect("--outages N"))
        .unwrap_or(20);

    let server = match Smtp::start(Kind::Plain { max_size: None }) {
        Ok(s) => s,
        Err(reason) => {
            println!("alert_latency: skipped: no SMTP peer ({reason})");
            return;
        }
    };
    let service = Service::start().expect("a loopback listener");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let probe = TcpConfig {
        target: Some(format!("127.0.0.1:{}", service.port)),
        ..TcpConfig::default()
    }
    .build()
    .expect("a tcp probe");
    // Threshold 1 both ways; flap damping off, since this bench fails and recovers the same
    // service 20 times in a minute on purpose and every outage must alert.
    let policy = StatePolicy {
        failure_threshold: 1,
        success_threshold: 1,
        flapping: FlapPolicy {
            max_changes: 0,
            ..FlapPolicy::default()
        },
    };
    let sink = smtp::plain_email_sink(server.port)
        .build("mail")
        .expect("an email sink");
    let monitor = Monitor::builder()
        .check(
            CheckSpec::new("svc", Arc::new(probe))
                .interval(INTERVAL)
                .timeout(INTERVAL)
                .state_policy(policy),
        )
        .sink("mail", Arc::new(sink))
        .build()
        .expect("a monitor");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = {
        let monitor = monitor.clone();
        rt.spawn(async move {
            monitor
                .run_until(async {
                    let _ = stop_rx.await;
                })
                .await
        })
    };
    // The first round (compressed into about a second) sees the service up.
    std::thread::sleep(INTERVAL * 2);

    let mut rng = rand::rng();
    let mut latencies = Vec::with_capacity(outages);
    let mut missed = 0;
    for i in 0..outages {
        // Fail at a random phase of the check's grid.
        std::thread::sleep(Duration::from_millis(rng.random_range(0..1000)));
        let before = new_files(&server.maildir).len();
        let failed_at = service.fail();
        match wait_new(&server.maildir, before, Duration::from_secs(10)) {
            Some(seen) => {
                let latency = seen - failed_at;
                let alerts = new_files(&server.maildir)
                    .into_iter()
                    .map(|p| std::fs::read_to_string(p).unwrap_or_default())
                    .filter(|t| t.contains("[CRITICAL]"))
                    .count();
                assert_eq!(
                    alerts,
                    latencies.len() + 1,
                    "outage {i}: the new message is the alert"
                );
                latencies.push(latency);
            }
            None => missed += 1,
        }
        service.recover().expect("re-opening the listener");
        // The "resolved" message closes the incident before the next outage.
        if wait_new(&server.maildir, before + 1, Duration::from_secs(10)).is_none() {
            eprintln!("outage {i}: no resolved message within 10 s");
        }
    }
    let _ = stop_tx.send(());
    rt.block_on(running)
        .expect("the monitor task")
        .expect("the monitor stops cleanly");

    if latencies.is_empty() {
        println!("alert_latency: no alert arrived in {outages} outages");
        std::process::exit(1);
    }
    latencies.sort();
    let (p50, p95, max) = (
        percentile(&latencies, 50.0),
        percentile(&latencies, 95.0),
        *latencies.last().unwrap(),
    );
    let min = latencies[0];
    let target = INTERVAL + SLACK;
    let within = latencies.iter().filter(|l| **l <= target).count();
    let ratio = |d: Duration| (d.as_secs_f64() / INTERVAL.as_secs_f64() * 1000.0).round() / 1000.0;
    println!(
        "{}",
        serde_json::json!({
            "bench": "alert_latency",
            "interval_ms": INTERVAL.as_millis() as u64,
            "failure_threshold": 1,
            "outages": outages,
            "alerts": latencies.len(),
            "missed": missed,
            "min_ms": ms(min),
            "p50_ms": ms(p50),
            "p95_ms": ms(p95),
            "max_ms": ms(max),
            "p50_interval_ratio": ratio(p50),
            "p95_interval_ratio": ratio(p95),
            "max_interval_ratio": ratio(max),
            "target_ms": ms(target),
            "within_target": within,
        })
    );
    println!();
    println!(
        "failure -> SMTP acceptance, TCP check every {} s, failure threshold 1, {} outages",
        INTERVAL.as_secs(),
        outages
    );
    println!("{:<8} {:>10} {:>16}", "", "ms", "x interval");
    for (name, d) in [("min", min), ("p50", p50), ("p95", p95), ("max", max)] {
        println!("{:<8} {:>10.1} {:>16.3}", name, ms(d), ratio(d));
    }
    println!(
        "target   {:>10.1} {:>16.3}   ({within}/{} within, {missed} missed)",
        ms(target),
        ratio(target),
        latencies.len()
    );
}
