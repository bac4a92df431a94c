//! A site (a school's own `forewarn run` with a `[site]` section) and its district's central,
//! two processes, with a loopback proxy between them that the test cuts: a network partition.
//! While cut, the site goes on checking and alerts locally (its own file sink); the district
//! raises one "site unreachable" incident. When the link returns, the site's outbox empties in
//! order: the district holds every observation once (each sequence number once, none missing),
//! the observations made during the partition included, and the one incident resolves.

#[path = "support/wait.rs"]
mod wait;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wait::wait_for;

/// A free loopback port (at the moment of asking).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP proxy from a loopback port to `to`, which can be cut (open connections closed, new
/// ones closed at once) and joined again.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(to: u16) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let flag = cut.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if flag.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let flag = flag.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", to)).await
                    else {
                        return;
                    };
                    let copy = tokio::io::copy_bidirectional(&mut inbound, &mut outbound);
                    tokio::pin!(copy);
                    loop {
                        tokio::select! {
                            _ = &mut copy => return,
                            _ = tokio::time::sleep(Duration::from_millis(20)) => {
                                if flag.load(Ordering::SeqCst) {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        Proxy { port, cut, task }
    }

    fn cut(&self, cut: bool) {
        self.cut.store(cut, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One `forewarn` process.
struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    fn run(dir: &Path, name: &str, config: &Path) -> Process {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_forewarn"))
            .arg("run")
            .arg("--config")
            .arg(config)
            .current_dir(dir)
            .env_remove("FOREWARN_CONFIG")
            .env("FOREWARN_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("the binary starts");
        Process { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lines of a JSON-lines file (a file sink), parsed.
fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Runs `sql` on the SQLite file at `db` (read-only) and gives the first column of each row.
fn query(db: &Path, sql: &str) -> Vec<String> {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return Vec::new();
    };
    let _ = conn.busy_timeout(Duration::from_secs(2));
    let Ok(mut stmt) = conn.prepare(sql) else {
        return Vec::new();
    };
    stmt.query_map([], |r| {
        r.get::<_, rusqlite::types::Value>(0).map(|v| match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
    })
    .map(|rows| rows.filter_map(|r| r.ok()).collect())
    .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_off_site_alerts_locally_and_the_district_gets_everything_once_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let central_port = free_port();

    // The district: agents of group "schools" are sites, silent after 2 missed intervals.
    let district = d.join("district.toml");
    std::fs::write(
        &district,
        format!(
            r#"
[monitor]
database = "district.db"

[status]
listen = "127.0.0.1:{central_port}"

[agents.groups.schools]
kind = "site"
silent_after = 2

[sinks.alerts]
type = "file"
path = "district-alerts.jsonl"

[policies.default]
type = "notify"
sinks = ["alerts"]
"#
        ),
    )
    .unwrap();
    let made = Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .args([
            "agents",
            "token",
            "create",
            "school-12",
            "--group",
            "schools",
        ])
        .arg("--config")
        .arg(&district)
        .current_dir(d)
        .env_remove("FOREWARN_CONFIG")
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let token = String::from_utf8(made.stdout).unwrap();
    std::fs::write(d.join("site.token"), token.trim()).unwrap();
    let central = Process::run(d, "district", &district);
    let proxy = Proxy::start(central_port).await;

    // The site: one TCP check on a listener the test holds, alerts to its own file.
    let mut target = Some(TcpListener::bind("127.0.0.1:0").unwrap());
    let target_port = target.as_ref().unwrap().local_addr().unwrap().port();
    let site_config = d.join("site.toml");
    std::fs::write(
        &site_config,
        format!(
            r#"
[monitor]
database = "site.db"

[site]
name = "school-12"
central = "http://127.0.0.1:{proxy}"
token_file = "site.token"
interval = "1s"
outbox = "site-outbox.db"

[status]
enabled = false

[sinks.local]
type = "file"
path = "site-alerts.jsonl"

[policies.default]
type = "notify"
sinks = ["local"]

[[checks]]
name = "lab-switch"
type = "tcp"
target = "127.0.0.1:{target_port}"
interval = "1s"
timeout = "800ms"
failure_threshold = 1
"#,
            proxy = proxy.port
        ),
    )
    .unwrap();
    let site = Process::run(d, "site", &site_config);
    let context = || format!("district:\n{}\nsite:\n{}", central.log(), site.log());
    let district_db = d.join("district.db");
    let stored = |sql: &str| query(&district_db, sql);

    // Linked: the district hears the site and its check.
    wait_for(
        Duration::from_secs(30),
        "the district stores the site's observations",
        context,
        || async {
            let n = stored(
                "SELECT count(*) FROM agent_observations WHERE agent = 'school-12' \
                 AND check_name = 'lab-switch'",
            );
            (n.first().and_then(|n| n.parse::<i64>().ok()) >= Some(3)).then_some(())
        },
    )
    .await;

    // Cut: the district raises "site unreachable"; the site alerts locally on its own.
    proxy.cut(true);
    let cut_at = chrono::Utc::now();
    wait_for(
        Duration::from_secs(30),
        "the district raises one site-unreachable incident",
        context,
        || async {
            let found = stored(
                "SELECT json FROM incidents WHERE check_name = 'school-12' \
                 AND state <> 'resolved'",
            );
            found
                .iter()
                .any(|j| j.contains("site unreachable since"))
                .then_some(())
        },
    )
    .await;
    drop(target.take());
    wait_for(
        Duration::from_secs(30),
        "the site alerts locally that the switch is down",
        context,
        || async {
            lines(&d.join("site-alerts.jsonl"))
                .iter()
                .any(|n| n["check"] == "lab-switch" && n["kind"] == "opened")
                .then_some(())
        },
    )
    .await;
    let back = TcpListener::bind(("127.0.0.1", target_port)).unwrap();
    wait_for(
        Duration::from_secs(30),
        "the site alerts locally that the switch is back",
        context,
        || async {
            lines(&d.join("site-alerts.jsonl"))
                .iter()
                .any(|n| n["check"] == "lab-switch" && n["kind"] == "resolved")
                .then_some(())
        },
    )
    .await;
    let during: Vec<String> = stored(
        "SELECT seq FROM agent_observations WHERE agent = 'school-12' ORDER BY seq DESC LIMIT 1",
    );

    // Joined again: the outbox empties in order, every observation once.
    proxy.cut(false);
    wait_for(
        Duration::from_secs(30),
        "the site-unreachable incident resolves",
        context,
        || async {
            let open = stored(
                "SELECT count(*) FROM incidents WHERE check_name = 'school-12' \
                 AND state <> 'resolved'",
            );
            (open.first().map(String::as_str) == Some("0")).then_some(())
        },
    )
    .await;
    let site_outbox = d.join("site-outbox.db");
    wait_for(
        Duration::from_secs(30),
        "the site's outbox empties",
        context,
        || async {
            let waiting = query(&site_outbox, "SELECT count(*) FROM outbox");
            (waiting.first().map(String::as_str) == Some("0")).then_some(())
        },
    )
    .await;
    let seqs: Vec<i64> =
        stored("SELECT seq FROM agent_observations WHERE agent = 'school-12' ORDER BY seq")
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
    assert!(!seqs.is_empty());
    let expected: Vec<i64> = (seqs[0]..=*seqs.last().unwrap()).collect();
    assert_eq!(seqs, expected, "every sequence number once, none missing");
    assert_eq!(seqs[0], 1, "from the first");
    let before_join: i64 = during.first().map_or(0, |s| s.parse().unwrap());
    assert!(
        *seqs.last().unwrap() > before_join,
        "what the site saw while cut off arrived afterwards"
    );
    // The switch's outage during the partition is in the district's history, at its own time.
    let down_during = stored(&format!(
        "SELECT count(*) FROM agent_observations WHERE agent = 'school-12' \
         AND check_name = 'lab-switch' AND status = 2 AND at >= {}",
        cut_at.timestamp_millis()
    ));
    assert!(
        down_during.first().and_then(|n| n.parse::<i64>().ok()) >= Some(1),
        "{down_during:?}\n{}",
        context()
    );
    // One site-unreachable incident, opened and resolved.
    let incidents = stored("SELECT state FROM incidents WHERE check_name = 'school-12'");
    assert_eq!(incidents, vec!["resolved".to_owned()], "{}", context());
    // And its alerts at the district: opened once, resolved once.
    let alerts: Vec<String> = lines(&d.join("district-alerts.jsonl"))
        .iter()
        .filter(|n| n["check"] == "school-12")
        .map(|n| n["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(alerts, ["opened", "resolved"], "{}", context());
    drop(back);
}
