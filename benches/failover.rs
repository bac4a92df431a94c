//! Failover time of two `forewarn run` instances sharing a PostgreSQL store: how long after
//! the leader is killed with SIGKILL the standby holds the lease, and how long until its first
//! observation is stored.
//!
//! One private PostgreSQL (see `tests/support/databases.rs`) for the whole run; each trial gets
//! a fresh database and two instances ("a", then "b" once "a" leads) with `lease = "3s"`, their
//! own status ports and one TCP check every 1 s on a loopback listener this bench holds (and
//! accepts on). When "a" leads, "b" has logged "standby" and an observation is stored, the bench
//! waits 1 s plus a random 0–1 s (so the kill falls anywhere between two renewals of the lease,
//! made every second), kills "a" with SIGKILL and polls the database every 20 ms:
//!
//! - lease: until `SELECT holder FROM leader_lease WHERE expires_at > clock_timestamp()` is "b";
//! - observation: until `SELECT max(at) FROM observations` is past the moment of the kill (an
//!   observation only "b" can have made; `at` is when that check started).
//!
//! Both are measured from the kill to the poll that saw them. `FAILOVER_TRIALS` trials
//! (default 10); prints a line per trial, one JSON line and the median and max of both.
//! `cargo bench -p forewarn --bench failover`. Exits non-zero when PostgreSQL cannot start or a
//! trial does not fail over within 30 s.

#[path = "../tests/support/databases.rs"]
mod databases;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use databases::{Engine, PASSWORD, Server, USER, free_port};

const POLL: Duration = Duration::from_millis(20);
const LIMIT: Duration = Duration::from_secs(30);

/// One `forewarn run` process, killed when dropped.
struct Instance {
    child: Child,
    log: PathBuf,
}

impl Instance {
    fn start(dir: &Path, name: &str, config: &Path) -> Instance {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_forewarn"))
            .arg("run")
            .arg("--config")
            .arg(config)
            .current_dir(dir)
            .env_remove("FOREWARN_CONFIG")
            .env("FOREWARN_LOG", "info")
            .env(forewarn::store::postgres::PASSWORD_ENV, PASSWORD)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("forewarn starts");
        Instance { child, log }
    }

    fn kill_9(&mut self) {
        // SAFETY: kill(2) on the pid of a child this bench started and has not reaped.
        let rc = unsafe { libc::kill(self.child.id() as i32, libc::SIGKILL) };
        assert_eq!(rc, 0, "SIGKILL");
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(dir: &Path, name: &str, url: &str, target: u16, status_port: u16) -> PathBuf {
    let text = format!(
        r#"[monitor]
database = "{url}"
instance = "{name}"
lease = "3s"

[status]
listen = "127.0.0.1:{status_port}"

[[checks]]
name = "sis-db"
type = "tcp"
target = "127.0.0.1:{target}"
interval = "1s"
timeout = "800ms"
"#
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("config file");
    path
}

async fn connect(url: &str) -> Option<tokio_postgres::Client> {
    let mut config: tokio_postgres::Config = url.parse().ok()?;
    config.password(PASSWORD);
    let (client, conn) = config.connect(tokio_postgres::NoTls).await.ok()?;
    tokio::spawn(conn);
    Some(client)
}

async fn holder(db: &tokio_postgres::Client) -> Option<(String, i64)> {
    let row = db
        .query_opt(
            "SELECT holder, token FROM leader_lease WHERE expires_at > clock_timestamp()",
            &[],
        )
        .await
        .ok()??;
    Some((row.get(0), row.get(1)))
}

/// The newest observation's time (ms since the epoch).
async fn newest(db: &tokio_postgres::Client) -> Option<i64> {
    db.query_one("SELECT max(at) FROM observations", &[])
        .await
        .ok()?
        .get::<_, Option<i64>>(0)
}

/// Polls `f` every 20 ms until it gives `Some`; `Err` with `what` after 30 s.
async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> Result<T, String> {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(v) = f().await {
            return Ok(v);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out after {LIMIT:?}: {what}"));
        }
        tokio::time::sleep(POLL).await;
    }
}

struct Trial {
    old_token: i64,
    new_token: i64,
    /// From the kill to the poll that saw "b" hold the lease.
    lease: Duration,
    /// From the kill to the poll that saw an observation made after it.
    observation: Duration,
    /// That observation's `at`, after the kill.
    observation_at: Duration,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn trial(server: &Server, n: usize, target: u16, phase: Duration) -> Result<Trial, String> {
    let name = format!("failover_{n}");
    server.admin(&format!("CREATE DATABASE {name} OWNER {USER}"))?;
    let url = format!("postgres://{USER}@127.0.0.1:{}/{name}", server.port);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config_a = config(dir.path(), "a", &url, target, free_port());
    let config_b = config(dir.path(), "b", &url, target, free_port());
    let mut a = Instance::start(dir.path(), "a", &config_a);
    let logs = |a: &Instance, b: Option<&Instance>| {
        format!(
            "--- a:\n{}\n--- b:\n{}",
            a.log(),
            b.map(Instance::log).unwrap_or_default()
        )
    };
    let db = connect(&url)
        .await
        .ok_or_else(|| format!("cannot connect to {url}"))?;
    wait_for("a leads", || async {
        holder(&db).await.filter(|(h, _)| h == "a")
    })
    .await
    .map_err(|e| format!("{e}\n{}", logs(&a, None)))?;
    let b = Instance::start(dir.path(), "b", &config_b);
    wait_for("b stands by", || async {
        b.log().contains("standby").then_some(())
    })
    .await
    .map_err(|e| format!("{e}\n{}", logs(&a, Some(&b))))?;
    wait_for("an observation is stored", || async {
        newest(&db).await.map(|_| ())
    })
    .await
    .map_err(|e| format!("{e}\n{}", logs(&a, Some(&b))))?;
    tokio::time::sleep(Duration::from_secs(1) + phase).await;
    let (old_holder, old_token) = holder(&db)
        .await
        .ok_or_else(|| format!("no lease before the kill\n{}", logs(&a, Some(&b))))?;
    if old_holder != "a" {
        return Err(format!(
            "{old_holder} leads before the kill\n{}",
            logs(&a, Some(&b))
        ));
    }

    a.kill_9();
    let killed = Instant::now();
    let killed_ms = now_ms();
    let (mut lease, mut new_token, mut observation) = (None, 0, None);
    let deadline = killed + LIMIT;
    while lease.is_none() || observation.is_none() {
        if lease.is_none()
            && let Some((h, token)) = holder(&db).await
            && h == "b"
        {
            lease = Some(killed.elapsed());
            new_token = token;
        }
        if observation.is_none()
            && let Some(at) = newest(&db).await
            && at > killed_ms
        {
            observation = Some((killed.elapsed(), at - killed_ms));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "after {LIMIT:?}: lease {lease:?}, observation {observation:?}\n{}",
                logs(&a, Some(&b))
            ));
        }
        tokio::time::sleep(POLL).await;
    }
    drop(b);
    drop(a);
    drop(db);
    let (observation, at) = observation.expect("seen");
    Ok(Trial {
        old_token,
        new_token,
        lease: lease.expect("seen"),
        observation,
        observation_at: Duration::from_millis(at as u64),
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

fn main() {
    let trials: usize = std::env::var("FAILOVER_TRIALS")
        .ok()
        .map(|v| v.trim().parse().expect("FAILOVER_TRIALS is a number"))
        .unwrap_or(10)
        .max(1);
    let server = match Server::start_new(Engine::Postgres) {
        Ok(s) => s,
        Err(reason) => {
            eprintln!("failover: PostgreSQL cannot start: {reason}");
            std::process::exit(1);
        }
    };
    let version = server.admin("SHOW server_version").unwrap_or_default();
    // The checked service: a listener that accepts (and closes) every connection.
    let target = TcpListener::bind("127.0.0.1:0").expect("loopback listener");
    let target_port = target.local_addr().expect("its port").port();
    std::thread::spawn(move || {
        for conn in target.incoming() {
            drop(conn);
        }
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "failover: {trials} trials, lease 3 s (renewed every 1 s), one TCP check every 1 s, \
         PostgreSQL {version}"
    );
    println!(
        "{:>5} {:>13} {:>14} {:>20} {:>22}",
        "trial", "token", "lease taken", "first observation", "(its check started)"
    );
    // Where the kill falls between two renewals: spread by a seeded generator.
    let mut seed: u64 = 7;
    let mut results = Vec::new();
    for n in 1..=trials {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let phase = Duration::from_millis((seed >> 33) % 1_000);
        match rt.block_on(trial(&server, n, target_port, phase)) {
            Ok(t) => {
                println!(
                    "{:>5} {:>13} {:>12.2} s {:>18.2} s {:>20.2} s",
                    n,
                    format!("{} → {}", t.old_token, t.new_token),
                    t.lease.as_secs_f64(),
                    t.observation.as_secs_f64(),
                    t.observation_at.as_secs_f64()
                );
                results.push(t);
            }
            Err(e) => {
                eprintln!("failover: trial {n} failed: {e}");
                std::process::exit(1);
            }
        }
    }
    drop(server);

    let leases: Vec<Duration> = results.iter().map(|t| t.lease).collect();
    let observations: Vec<Duration> = results.iter().map(|t| t.observation).collect();
    let ms = |d: Duration| d.as_millis() as u64;
    let json = serde_json::json!({
        "bench": "failover",
        "trials": trials,
        "lease_s": 3,
        "lease_ms": leases.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
        "first_observation_ms": observations.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
        "lease_median_ms": ms(median(leases.clone())),
        "lease_max_ms": ms(*leases.iter().max().expect("a trial")),
        "first_observation_median_ms": ms(median(observations.clone())),
        "first_observation_max_ms": ms(*observations.iter().max().expect("a trial")),
    });
    println!("{json}");
    println!();
    println!(
        "{:<38} {:>9} {:>9}",
        "from SIGKILL of the leader to", "median", "max"
    );
    for (what, v) in [
        ("the standby holding the lease", leases),
        ("its first observation stored", observations),
    ] {
        println!(
            "{:<38} {:>7.2} s {:>7.2} s",
            what,
            median(v.clone()).as_secs_f64(),
            v.iter().max().expect("a trial").as_secs_f64()
        );
    }
}
