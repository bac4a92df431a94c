//! The database probes against real private PostgreSQL, MariaDB and Redis servers: healthy,
//! wrong password, expectation violated, slow query, passwords kept out of every output, an
//! outage that opens and resolves one incident, and a 5-second schedule that reuses one
//! connection per server for a minute.

#[path = "support/databases.rs"]
mod databases;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use databases::{Engine, PASSWORD, Server, USER};
use forewarn::http_client::HttpClients;
use forewarn::testing::RecordingSink;
use forewarn::{
    CheckContext, CheckSpec, IncidentFilter, IncidentState, Monitor, NotificationKind, Observation,
    Probe, ProbeConfig, Status,
};

fn probe(toml_text: &str) -> Arc<dyn Probe> {
    let config: ProbeConfig = toml::from_str(toml_text).expect("probe config parses");
    config.validate().expect("probe config is valid");
    config.build(&HttpClients::new()).expect("probe builds")
}

fn cx(timeout: Duration) -> CheckContext {
    let mut cx = CheckContext::for_test("db");
    cx.timeout = timeout;
    cx
}

/// Everything a probe and its observations show, for the password check.
fn shown(p: &dyn Probe, obs: &Observation) -> String {
    format!(
        "{p:?}\n{}\n{}\n{obs:?}\n{}",
        p.target(),
        obs.summary,
        serde_json::to_string(obs).unwrap()
    )
}

/// The query that takes `secs` seconds on `engine`.
fn slow_query(engine: Engine, secs: u32) -> String {
    match engine {
        Engine::Postgres => format!("query = \"SELECT pg_sleep({secs})\""),
        Engine::Mariadb => format!("query = \"SELECT SLEEP({secs})\""),
        // Blocks on an empty list until its own timeout.
        Engine::Redis => format!("command = \"BLPOP forewarn:empty {secs}\""),
    }
}

/// A query returning one row with a column `n` = 3.
fn three(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres | Engine::Mariadb => "query = \"SELECT 3 AS n\"",
        Engine::Redis => "command = \"ECHO 3\"",
    }
}

fn column(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres | Engine::Mariadb => "column = \"n\", ",
        Engine::Redis => "",
    }
}

async fn behaves(engine: Engine) {
    let Some(server) = Server::start_or_skip(engine) else {
        return;
    };
    let base = server.probe_toml(PASSWORD);
    let mut outputs = String::new();

    // Healthy, with the extras.
    let extras = match engine {
        Engine::Postgres => {
            "connections = { warning = 80, critical = 95 }\ndatabase_size = true\n\
             replication_lag = { warning = \"30s\" }\n"
        }
        Engine::Mariadb => {
            "connections = { warning = 80, critical = 95 }\n\
             replication_lag = { warning = \"30s\" }\n"
        }
        Engine::Redis => {
            "memory = { warning = 80 }\nclients = { warning = 100 }\nreplication = true\n"
        }
    };
    let p = probe(&format!("{base}{extras}"));
    for _ in 0..2 {
        let obs = p.check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Ok, "{engine:?}: {}", obs.summary);
        assert!(obs.metrics.contains_key("latency"), "{obs:?}");
        outputs += &shown(&*p, &obs);
    }
    let obs = p.check(&cx(Duration::from_secs(5))).await;
    match engine {
        Engine::Postgres => {
            assert!(obs.summary.starts_with("query ok in "), "{}", obs.summary);
            assert!(obs.metrics["connections_max"].value >= 50.0, "{obs:?}");
            assert!(obs.metrics["database_size"].value > 0.0, "{obs:?}");
            assert!(
                obs.metrics.contains_key("database_growth_per_hour"),
                "{obs:?}"
            );
        }
        Engine::Mariadb => {
            assert!(obs.summary.starts_with("query ok in "), "{}", obs.summary);
            assert_eq!(obs.metrics["max_connections"].value, 50.0, "{obs:?}");
            assert!(obs.metrics["threads_connected"].value >= 1.0, "{obs:?}");
        }
        Engine::Redis => {
            assert!(
                obs.summary.starts_with("PING replied PONG in "),
                "{}",
                obs.summary
            );
            assert!(obs.summary.contains("role master"), "{}", obs.summary);
            assert!(obs.metrics["connected_clients"].value >= 1.0, "{obs:?}");
        }
    }
    // The structured reading says what the check learnt, typed: a primary, its connections.
    let Some(forewarn::Reading::Database(reading)) = obs.reading.as_deref() else {
        panic!("{engine:?}: no database reading: {obs:?}")
    };
    let engine_name = match engine {
        Engine::Postgres => "postgres",
        Engine::Mariadb => "mysql",
        Engine::Redis => "redis",
    };
    assert_eq!(reading.engine, engine_name);
    assert_eq!(
        reading.role,
        Some(forewarn::probe::reading::DatabaseRole::Primary),
        "{reading:?}"
    );
    assert!(
        reading.connections_used.is_some_and(|n| n >= 1),
        "{reading:?}"
    );
    if engine != Engine::Redis {
        assert_eq!(reading.rows, Some(1), "{reading:?}");
    }
    if engine == Engine::Postgres {
        assert!(reading.size_bytes.is_some_and(|n| n > 0), "{reading:?}");
    }
    assert!(
        !obs.metrics.contains_key("connect_time"),
        "the third check reuses the connection: {obs:?}"
    );
    outputs += &shown(&*p, &obs);

    // Wrong password: an authentication failure naming the user, not the password.
    let wrong = "wrong-Secret-91d3";
    let p = probe(&server.probe_toml(wrong));
    let obs = p.check(&cx(Duration::from_secs(5))).await;
    assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
    let user = if engine == Engine::Redis {
        "default"
    } else {
        USER
    };
    assert_eq!(
        obs.summary,
        format!("auth: authentication failed for user \"{user}\"")
    );
    outputs += &shown(&*p, &obs);
    assert!(
        !outputs.contains(wrong),
        "the wrong password leaked: {outputs}"
    );

    // Expectation violated, at the configured severity.
    for (severity, status) in [("warning", Status::Warning), ("critical", Status::Critical)] {
        let p = probe(&format!(
            "{base}{}\nexpect = {{ {}below = 2, severity = \"{severity}\" }}\n",
            three(engine),
            column(engine)
        ));
        let obs = p.check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, status, "{}", obs.summary);
        let name = if engine == Engine::Redis {
            "the value"
        } else {
            "n"
        };
        assert_eq!(
            obs.summary,
            format!("expectation: {name} is 3, expected below 2")
        );
        outputs += &shown(&*p, &obs);
    }
    let p = probe(&format!(
        "{base}{}\nexpect = {{ {}equals = \"3\" }}\n",
        three(engine),
        column(engine)
    ));
    let obs = p.check(&cx(Duration::from_secs(5))).await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);

    // A slow query beyond the check's timeout: Critical "timed out", on time; the next check
    // redials and is fine.
    let p = probe(&format!("{base}{}\n", slow_query(engine, 5)));
    let started = Instant::now();
    let obs = p.check(&cx(Duration::from_secs(1))).await;
    let took = started.elapsed();
    assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
    assert!(
        obs.summary.starts_with("query: timed out after "),
        "{}",
        obs.summary
    );
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    outputs += &shown(&*p, &obs);
    let fine = probe(&base);
    assert_eq!(
        fine.check(&cx(Duration::from_secs(5))).await.status,
        Status::Ok
    );

    // The server's own statement limit, below the check's timeout.
    if engine != Engine::Redis {
        let p = probe(&format!(
            "{base}{}\nstatement_timeout = \"300ms\"\n",
            slow_query(engine, 3)
        ));
        let obs = p.check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
        assert!(
            obs.summary.starts_with("query: timed out after 300 ms"),
            "{}",
            obs.summary
        );
        assert!(obs.latency < Duration::from_secs(2), "{obs:?}");
    }

    // A query error is the query stage, with the server's message.
    let bad = match engine {
        Engine::Postgres | Engine::Mariadb => "query = \"SELECT * FROM no_such_table\"",
        Engine::Redis => "command = \"NOSUCHCOMMAND\"",
    };
    let obs = probe(&format!("{base}{bad}\n"))
        .check(&cx(Duration::from_secs(5)))
        .await;
    assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
    assert!(obs.summary.starts_with("query: "), "{}", obs.summary);

    assert!(
        !outputs.contains(PASSWORD),
        "the password leaked: {outputs}"
    );
}

#[tokio::test]
async fn postgres_healthy_wrong_password_expectation_slow_query() {
    behaves(Engine::Postgres).await;
}

#[tokio::test]
async fn mariadb_healthy_wrong_password_expectation_slow_query() {
    behaves(Engine::Mariadb).await;
}

#[tokio::test]
async fn redis_healthy_wrong_password_expectation_slow_query() {
    behaves(Engine::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tls_modes() {
    let Some(server) = Server::start_or_skip(Engine::Postgres) else {
        return;
    };
    let base = server.probe_toml(PASSWORD);
    let check = |extra: &str| {
        let p = probe(&format!("{base}{extra}\n"));
        async move { p.check(&cx(Duration::from_secs(5))).await }
    };
    // A server without TLS: "prefer" falls back to plain text, "require" fails at the TLS stage.
    assert_eq!(check("tls = \"prefer\"").await.status, Status::Ok);
    let obs = check("tls = \"require\"").await;
    assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
    assert!(obs.summary.starts_with("tls: "), "{}", obs.summary);

    let ca = server.enable_tls().unwrap();
    let encrypted = || {
        tokio::task::block_in_place(|| {
            server.admin(&format!(
                "SELECT string_agg(ssl::text, ',') FROM pg_stat_ssl JOIN pg_stat_activity \
                 USING (pid) WHERE usename = '{USER}'"
            ))
        })
        .unwrap()
    };
    for mode in ["prefer", "require"] {
        let p = probe(&format!("{base}tls = \"{mode}\"\n"));
        let obs = p.check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Ok, "{mode}: {}", obs.summary);
        let e = encrypted();
        assert!(e.contains("true") && !e.contains("false"), "{mode}: {e}");
        drop(p);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let p = probe(&format!(
        "{base}tls = \"verify-full\"\ntls_ca_file = \"{}\"\n",
        ca.display()
    ));
    let obs = p.check(&cx(Duration::from_secs(5))).await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
    let e = encrypted();
    assert!(e.contains("true") && !e.contains("false"), "{e}");
    drop(p);
    // Not signed by a trusted root: refused at the TLS stage.
    let obs = check("tls = \"verify-full\"").await;
    assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
    assert!(obs.summary.starts_with("tls: "), "{}", obs.summary);
    assert!(!obs.summary.contains(PASSWORD), "{}", obs.summary);
}

/// Stopped → Critical at the next check naming the stage; restarted → recovered; one incident.
async fn outage_opens_and_resolves_once(engine: Engine) {
    let Some(mut server) = Server::start_or_skip(engine) else {
        return;
    };
    let timeout = Duration::from_secs(2);
    let sink = RecordingSink::new();
    let monitor = Monitor::builder()
        .check(
            CheckSpec::new("db", probe(&server.probe_toml(PASSWORD)))
                .thresholds(2, 2)
                .interval(Duration::from_secs(5))
                .timeout(timeout),
        )
        .sink("rec", Arc::new(sink.clone()))
        .build()
        .unwrap();
    for _ in 0..3 {
        let s = monitor.run_once().await.unwrap();
        assert_eq!(s[0].status, Status::Ok, "{}", s[0].summary);
    }
    server.stop();
    // The very next check finds it, well within one interval plus the timeout.
    let started = Instant::now();
    let s = monitor.run_once().await.unwrap();
    assert!(started.elapsed() < timeout, "took {:?}", started.elapsed());
    assert_eq!(s[0].status, Status::Critical, "{}", s[0].summary);
    assert!(
        s[0].summary
            .starts_with("connect: connection refused by 127.0.0.1:"),
        "{}",
        s[0].summary
    );
    for _ in 0..3 {
        let s = monitor.run_once().await.unwrap();
        assert_eq!(s[0].status, Status::Critical, "{}", s[0].summary);
    }
    let open = monitor
        .incidents(&IncidentFilter {
            active_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1, "exactly one incident while down");
    server.start().unwrap();
    for _ in 0..3 {
        let s = monitor.run_once().await.unwrap();
        assert_eq!(s[0].status, Status::Ok, "{}", s[0].summary);
    }
    let all = monitor.incidents(&IncidentFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1, "one incident for one outage");
    assert_eq!(all[0].state, IncidentState::Resolved);
    let kinds: Vec<NotificationKind> = sink.sent().iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        [NotificationKind::Opened, NotificationKind::Resolved],
        "one opened, one resolved"
    );
}

#[tokio::test]
async fn postgres_outage_opens_and_resolves_exactly_once() {
    outage_opens_and_resolves_once(Engine::Postgres).await;
}

#[tokio::test]
async fn mariadb_outage_opens_and_resolves_exactly_once() {
    outage_opens_and_resolves_once(Engine::Mariadb).await;
}

#[tokio::test]
async fn redis_outage_opens_and_resolves_exactly_once() {
    outage_opens_and_resolves_once(Engine::Redis).await;
}

/// Counts the checks of the probe it wraps.
#[derive(Debug)]
struct Counted {
    inner: Arc<dyn Probe>,
    runs: Arc<AtomicUsize>,
    failures: Arc<AtomicUsize>,
}

#[async_trait]
impl Probe for Counted {
    async fn check(&self, cx: &CheckContext) -> Observation {
        let obs = self.inner.check(cx).await;
        self.runs.fetch_add(1, Ordering::SeqCst);
        if obs.status != Status::Ok {
            self.failures.fetch_add(1, Ordering::SeqCst);
        }
        obs
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_engines_every_five_seconds_for_a_minute_reuse_one_connection_each() {
    let mut servers = Vec::new();
    for engine in [Engine::Postgres, Engine::Mariadb, Engine::Redis] {
        match Server::start_or_skip(engine) {
            Some(s) => servers.push(s),
            None => return,
        }
    }
    let mut builder = Monitor::builder();
    let mut counters = Vec::new();
    for s in &servers {
        let runs = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(AtomicUsize::new(0));
        counters.push((runs.clone(), failures.clone()));
        builder = builder.check(
            CheckSpec::new(
                s.engine.probe_type(),
                Arc::new(Counted {
                    inner: probe(&s.probe_toml(PASSWORD)),
                    runs,
                    failures,
                }),
            )
            .interval(Duration::from_secs(5))
            .timeout(Duration::from_secs(3)),
        );
    }
    let monitor = builder.build().unwrap();
    let marks: Vec<_> = servers.iter().map(|s| s.mark()).collect();
    let run = {
        let monitor = monitor.clone();
        tokio::spawn(async move {
            monitor
                .run_until(tokio::time::sleep(Duration::from_secs(60)))
                .await
        })
    };
    // After the first round, each server sees one connection from the probe user, and the same
    // one at every later look.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let look = |s: &Server| tokio::task::block_in_place(|| s.user_connections());
    let first: Vec<Vec<String>> = servers.iter().map(look).collect();
    for (s, ids) in servers.iter().zip(&first) {
        assert_eq!(ids.len(), 1, "{:?}: {ids:?}", s.engine);
    }
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(11)).await;
        for (s, ids) in servers.iter().zip(&first) {
            assert_eq!(&look(s), ids, "{:?} reconnected", s.engine);
        }
    }
    run.await.unwrap().unwrap();
    for ((s, mark), (runs, failures)) in servers.iter().zip(&marks).zip(&counters) {
        let runs = runs.load(Ordering::SeqCst);
        assert!(runs >= 11, "{:?}: {runs} checks in 60 s", s.engine);
        assert_eq!(failures.load(Ordering::SeqCst), 0, "{:?}", s.engine);
        // One connection in a minute of checks.
        assert_eq!(s.new_connections_since(mark), 1, "{:?}", s.engine);
    }
}
