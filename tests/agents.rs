//! Agents reporting to a central forewarn over real HTTP on loopback: the central's status
//! server takes their pushes, the central restarts while they run and loses nothing, silent
//! servers raise their alert and silent laptops do not, wrong and revoked tokens are refused
//! without the token reaching the log, config errors are located.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use forewarn::agent::Agent;
use forewarn::agents::{AgentHub, AgentIngest};
use forewarn::status::StatusServer;
use forewarn::store::IncidentFilter;
use forewarn::testing::FakeProbe;
use forewarn::{Config, ManualClock, Monitor, SqliteStore, Status};

/// Every log line of this test binary.
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let buf = buf.clone();
            move || SharedWriter(buf.clone())
        };
        let _ = tracing_subscriber::fmt()
            .with_env_filter("forewarn=info")
            .with_writer(writer)
            .with_ansi(false)
            .try_init();
        buf
    })
}

struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const CENTRAL: &str = r#"
[monitor]
database = "DB"
time_zone = "America/Chicago"

[agents.groups.servers]
silent_after = 3

[agents.groups.laptops]
silent = "ignore"

[status]
listen = "127.0.0.1:PORT"
"#;

fn central_config(dir: &Path, port: u16) -> Config {
    let text = CENTRAL
        .replace("DB", &dir.join("central.db").display().to_string())
        .replace("PORT", &port.to_string());
    let path = dir.join("central.toml");
    std::fs::write(&path, &text).unwrap();
    Config::from_file(&path).unwrap()
}

/// A central forewarn: monitor, agent hub and status server on loopback.
struct Central {
    monitor: Monitor,
    hub: AgentHub,
    addr: std::net::SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<forewarn::Result<()>>,
}

impl Central {
    async fn start(config: &Config, clock: Option<Arc<ManualClock>>) -> Central {
        let store = Arc::new(SqliteStore::open(&config.monitor.database).unwrap());
        let monitor = match clock {
            // The same as `from_config`, with the clock given.
            Some(clock) => {
                let b = Monitor::builder()
                    .store(store.clone())
                    .zone(config.zone())
                    .clock(clock);
                let b = forewarn::agents::add_known(b, &*store).await.unwrap();
                let m = b.build().unwrap();
                m.restore().await.unwrap();
                m
            }
            None => Monitor::from_config_with_store(config, store)
                .await
                .unwrap(),
        };
        let hub = AgentHub::new(monitor.clone(), config.agents.clone())
            .await
            .unwrap();
        let source = Arc::new(forewarn::monitor::MonitorStatusSource::new(
            monitor.clone(),
            "central".to_owned(),
        ));
        let server = StatusServer::bind(&config.status, source, config.zone()).unwrap();
        server.accept_agents(Arc::new(hub.clone()));
        let addr = server.local_addr();
        let (stop, mut rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(server.serve(async move {
            let _ = rx.wait_for(|s| *s).await;
        }));
        Central {
            monitor,
            hub,
            addr,
            stop,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving, writes the history and states (what `run` does when it stops).
    async fn stop(self) {
        let _ = self.stop.send(true);
        self.task.await.unwrap().unwrap();
        self.monitor.run_once().await.unwrap();
        self.monitor.store().flush().await.unwrap();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn agent(name: &str, url: &str, token: &str, outbox: PathBuf, interval: Duration) -> Agent {
    Agent::builder(name, url, token)
        .check("service", Arc::new(FakeProbe::new(Status::Ok)))
        .interval(interval)
        .outbox(outbox)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_agents_lose_nothing_when_the_central_restarts() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = central_config(dir.path(), port);
    let central = Central::start(&config, None).await;
    let names = ["web-1", "db-1", "lab-pc-12"];
    let mut agents = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let group = if i < 2 { "servers" } else { "laptops" };
        let token = forewarn::agents::create_agent(
            &**central.monitor.store(),
            name,
            Some(group),
            Utc::now(),
        )
        .await
        .unwrap();
        agents.push(agent(
            name,
            &central.url(),
            &token,
            dir.path().join(format!("{name}.db")),
            Duration::from_secs(1),
        ));
    }
    let (stop_agents, rx) = tokio::sync::watch::channel(false);
    let runs: Vec<_> = agents
        .iter()
        .cloned()
        .map(|a| {
            let mut rx = rx.clone();
            tokio::spawn(async move {
                a.run_until(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    // The central goes away for a while; the agents keep observing into their outboxes.
    central.stop().await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut waiting = 0;
    for a in &agents {
        waiting += a.outbox().len().await.unwrap();
    }
    assert!(
        waiting > 0,
        "observations waited while the central was away"
    );
    let central = Central::start(&config, None).await;
    assert_eq!(central.addr.port(), port);
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    stop_agents.send(true).unwrap();
    for r in runs {
        r.await.unwrap().unwrap();
    }
    // What is left goes now (a push may have been cut by the stop).
    for a in &agents {
        a.deliver().await.unwrap();
        assert_eq!(a.outbox().len().await.unwrap(), 0);
    }
    let store = central.monitor.store().clone();
    let statuses = central.monitor.checks();
    central.stop().await;
    let db = rusqlite::Connection::open(dir.path().join("central.db")).unwrap();
    for (i, name) in names.iter().enumerate() {
        // Every observation made is stored once: seq 1..=n, each in one row.
        let (rows, distinct, max): (i64, i64, i64) = db
            .query_row(
                "SELECT count(*), count(DISTINCT seq), max(seq) FROM agent_observations \
                 WHERE agent = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert!(max >= 4, "{name}: only {max} observations");
        assert_eq!((rows, distinct), (max, max), "{name}");
        // And went through the monitor once each: the history holds as many.
        let check = format!("{name}/service");
        let history = store
            .observations(&check, Utc.timestamp_opt(0, 0).unwrap(), 0)
            .await
            .unwrap();
        assert_eq!(history.len() as i64, max, "{check} history");
        let s = statuses.iter().find(|c| c.name == check).unwrap();
        assert_eq!(s.status, Status::Ok);
        assert_eq!(
            s.group.as_deref(),
            Some(if i < 2 { "servers" } else { "laptops" })
        );
        assert_eq!(s.kind, "agent");
        let heartbeat = statuses.iter().find(|c| c.name == *name).unwrap();
        assert!(
            heartbeat.summary.starts_with("reporting every 1.0 s"),
            "{}",
            heartbeat.summary
        );
    }
    let listed = store.agents().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|a| a.checks == ["service"]));
}

/// A laptop reinstalled (or its outbox file lost) numbers its observations from 1 again: the
/// central takes them as new, not as retries of what it already has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_whose_outbox_was_lost_is_heard_again_from_its_first_observation() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let config = central_config(dir.path(), free_port());
    let central = Central::start(&config, None).await;
    let token = forewarn::agents::create_agent(
        &**central.monitor.store(),
        "lab-pc-7",
        Some("laptops"),
        Utc::now(),
    )
    .await
    .unwrap();
    let path = dir.path().join("lab-pc-7.db");
    let first = agent(
        "lab-pc-7",
        &central.url(),
        &token,
        path.clone(),
        Duration::from_secs(60),
    );
    for _ in 0..5 {
        first.observe().await.unwrap();
    }
    assert_eq!(first.deliver().await.unwrap().confirmed, 5);
    let old_id = first.outbox().id().to_owned();
    drop(first);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }

    // The same machine, a new outbox: numbered from 1 again.
    let again = agent(
        "lab-pc-7",
        &central.url(),
        &token,
        path,
        Duration::from_secs(60),
    );
    assert_ne!(again.outbox().id(), old_id);
    for _ in 0..3 {
        again.observe().await.unwrap();
    }
    assert_eq!(
        again.outbox().oldest(10).await.unwrap()[0].seq,
        1,
        "a new outbox numbers from 1"
    );
    let d = again.deliver().await.unwrap();
    assert_eq!((d.confirmed, d.waiting), (3, 0));
    // The history as `run` writes it between rounds.
    central.monitor.run_once().await.unwrap();
    central.monitor.store().flush().await.unwrap();
    let history = central
        .monitor
        .store()
        .observations("lab-pc-7/service", Utc.timestamp_opt(0, 0).unwrap(), 0)
        .await
        .unwrap();
    assert_eq!(
        history.len(),
        8,
        "5 from the old outbox and 3 from the new one"
    );
    // Retried, the new outbox's observations are still stored once.
    let d = again.deliver().await.unwrap();
    assert_eq!((d.confirmed, d.waiting), (0, 0));
    central.stop().await;
}

#[tokio::test]
async fn a_silent_server_raises_its_alert_and_a_silent_laptop_does_not() {
    logs();
    let dir = tempfile::tempdir().unwrap();
    let config = central_config(dir.path(), 0);
    let start = Utc.with_ymd_and_hms(2026, 9, 14, 14, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let central = Central::start(&config, Some(clock.clone())).await;
    let store = central.monitor.store().clone();
    let mut agents = Vec::new();
    for (name, group) in [("files-1", "servers"), ("laptop-7", "laptops")] {
        let token = forewarn::agents::create_agent(&*store, name, Some(group), start)
            .await
            .unwrap();
        let a = agent(
            name,
            &central.url(),
            &token,
            dir.path().join(format!("{name}.db")),
            Duration::from_secs(60),
        );
        a.observe().await.unwrap();
        assert_eq!(a.deliver().await.unwrap().confirmed, 1);
        agents.push(a);
    }
    // Two intervals and a half without a report: not silent yet.
    clock.advance(Duration::from_secs(150));
    assert!(central.hub.sweep().await.unwrap().is_empty());
    // Past three intervals: both silent; only the server alerts.
    clock.advance(Duration::from_secs(40));
    let mut silent = central.hub.sweep().await.unwrap();
    silent.sort();
    assert_eq!(silent, ["files-1", "laptop-7"]);
    let open = central
        .monitor
        .incidents(&IncidentFilter {
            active_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].check, "files-1");
    assert_eq!(open[0].severity, Status::Critical);
    // 14:00 UTC is 09:00 in Chicago.
    assert!(
        open[0]
            .summary
            .starts_with("agent silent since 2026-09-14 09:00"),
        "{}",
        open[0].summary
    );
    let checks = central.monitor.checks();
    let laptop = checks.iter().find(|c| c.name == "laptop-7").unwrap();
    assert!(
        laptop
            .summary
            .starts_with("not reporting since 2026-09-14 09:00")
    );
    assert_eq!(laptop.incident, None);
    let laptop_check = checks
        .iter()
        .find(|c| c.name == "laptop-7/service")
        .unwrap();
    assert!(laptop_check.summary.starts_with("not reporting since"));
    // The server comes back: its incident resolves.
    agents[0].observe().await.unwrap();
    agents[0].deliver().await.unwrap();
    let open = central
        .monitor
        .incidents(&IncidentFilter {
            active_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(open.is_empty(), "{open:?}");
    central.stop().await;
}

#[tokio::test]
async fn wrong_rotated_and_revoked_tokens_are_refused_without_logging_them() {
    let logs = logs();
    let dir = tempfile::tempdir().unwrap();
    let config = central_config(dir.path(), 0);
    let central = Central::start(&config, None).await;
    let store = central.monitor.store().clone();
    let good = forewarn::agents::create_agent(&*store, "kiosk-3", None, Utc::now())
        .await
        .unwrap();
    let url = format!("{}{}", central.url(), forewarn::agents::PUSH_PATH);
    let body = serde_json::json!({ "agent": "kiosk-3", "interval_secs": 60, "observations": [] });
    // An independent client; its rustls needs the process's crypto provider.
    forewarn::http_client::install_crypto_provider();
    let http = reqwest::Client::new();
    let post = |token: String| http.post(&url).bearer_auth(token).json(&body).send();
    let wrong = forewarn::agents::new_token();
    assert_eq!(post(wrong.clone()).await.unwrap().status(), 401);
    assert_eq!(
        http.post(&url).json(&body).send().await.unwrap().status(),
        401
    );
    assert_eq!(post(good.clone()).await.unwrap().status(), 200);
    // Another agent's name with this token: forbidden.
    let other = serde_json::json!({ "agent": "kiosk-4", "interval_secs": 60, "observations": [] });
    let r = http
        .post(&url)
        .bearer_auth(&good)
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Rotation: the old token stays valid during its grace period, then not.
    let now = Utc::now();
    let rotated =
        forewarn::agents::rotate_token(&*store, "kiosk-3", now, Duration::from_secs(3600))
            .await
            .unwrap();
    assert_eq!(post(good.clone()).await.unwrap().status(), 200);
    assert_eq!(post(rotated.clone()).await.unwrap().status(), 200);
    let newest = forewarn::agents::rotate_token(&*store, "kiosk-3", now, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(post(good.clone()).await.unwrap().status(), 401);
    assert_eq!(post(rotated.clone()).await.unwrap().status(), 401);
    assert_eq!(post(newest.clone()).await.unwrap().status(), 200);
    // Revoked: forbidden.
    store.revoke_agent("kiosk-3", Utc::now()).await.unwrap();
    let r = post(newest.clone()).await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("revoked"));
    // Too many observations in one push: refused before anything is stored.
    let fresh = forewarn::agents::create_agent(&*store, "kiosk-5", None, Utc::now())
        .await
        .unwrap();
    let obs = forewarn::Observation::new(Status::Ok, "fine", Utc::now());
    let many: Vec<_> = (1..=1_001)
        .map(|seq| serde_json::json!({ "seq": seq, "check": "x", "observation": obs }))
        .collect();
    let big = serde_json::json!({ "agent": "kiosk-5", "interval_secs": 60, "observations": many });
    let r = http
        .post(&url)
        .bearer_auth(&fresh)
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(central.hub.max_batch(), 1_000);
    central.stop().await;
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(text.contains("refused a push"), "{text}");
    assert!(text.contains("the agent is revoked"), "{text}");
    for t in [&wrong, &good, &rotated, &newest, &fresh] {
        assert!(!text.contains(t.as_str()), "a token reached the log");
        assert!(!text.contains(&t[4..]), "a token reached the log");
    }
}

#[test]
fn config_errors_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("central.toml");
    let cases = [
        (
            "[agents.groups.servers]\nsilent_after = 0\n",
            ":2:16",
            "must be at least 1",
        ),
        (
            "[agents.groups.laptops]\nsilent = \"ignore\"\nsilent_after = 2\n",
            ":3:16",
            "has no effect",
        ),
        (
            "[agents.groups.laptops]\nsilence = \"ignore\"\n",
            ":2:1",
            "silence",
        ),
        (
            "[agents.groups.laptops]\nsilent = \"sometimes\"\n",
            ":2:10",
            "sometimes",
        ),
        ("[agent]\ninterval = \"0s\"\n", ":2:12", "interval"),
        (
            "[agent]\ncentral = \"http://central.example\"\n",
            ":2:11",
            "https://",
        ),
    ];
    for (text, at, says) in cases {
        std::fs::write(&path, text).unwrap();
        let e = Config::from_file(&path).unwrap_err().to_string();
        assert!(
            e.contains(&format!("central.toml{at}")) && e.contains(says),
            "{text:?}: {e}"
        );
    }
}

/// A probe that says how many earlier observations of its check its history holds.
#[derive(Debug)]
struct Recalls;

#[forewarn::async_trait]
impl forewarn::probe::Probe for Recalls {
    async fn check(&self, cx: &forewarn::probe::CheckContext) -> forewarn::probe::Observation {
        // What a trend reads: the earlier values of a metric.
        let seen = match &cx.history {
            Some(h) => h
                .since(Utc.timestamp_opt(0, 0).unwrap(), 1000)
                .await
                .map(|v| {
                    v.iter()
                        .filter_map(|o| o.metrics.get("disk_free_bytes:/").map(|m| m.value))
                        .count()
                })
                .map(|n| n.to_string())
                .unwrap_or_else(|e| e.to_string()),
            None => "no history".into(),
        };
        let mut o = forewarn::probe::Observation::new(Status::Ok, format!("seen {seen}"), cx.now());
        o.metrics.insert(
            "disk_free_bytes:/".into(),
            forewarn::probe::Metric::new(1e9 - cx.now().timestamp() as f64, "B"),
        );
        o
    }

    fn kind(&self) -> &str {
        "recalls"
    }
}

/// The agent keeps the machine's own recent history for its probes' trends (a file system
/// filling up, disk error counts rising), also across a restart of the agent.
#[tokio::test]
async fn an_agents_probes_read_the_machines_own_history_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let build = || {
        Agent::builder("lab-pc-9", "http://127.0.0.1:9", "token")
            .check("recalls", Arc::new(Recalls))
            .outbox(dir.path().join("agent.db"))
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    let agent = build();
    let mut summaries = Vec::new();
    for _ in 0..3 {
        clock.advance(Duration::from_secs(60));
        summaries.push(agent.observe().await.unwrap()[0].1.summary.clone());
    }
    assert_eq!(summaries, ["seen 0", "seen 1", "seen 2"]);
    drop(agent);
    assert!(dir.path().join("agent-history.db").is_file());
    let agent = build();
    clock.advance(Duration::from_secs(60));
    assert_eq!(agent.observe().await.unwrap()[0].1.summary, "seen 3");
    // Nothing of it went anywhere: the central was never reached, all four wait.
    assert_eq!(agent.outbox().len().await.unwrap(), 4);
}
