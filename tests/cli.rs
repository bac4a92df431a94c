//! The `forewarn` binary: exit codes, validation messages, incidents and acknowledgement.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Output};

fn forewarn(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .args(args)
        .current_dir(dir)
        .env_remove("FOREWARN_CONFIG")
        .output()
        .expect("the binary runs")
}

/// Runs the binary like [`forewarn`], but kills it and fails the test when it has not ended
/// within `limit` (a hang is a failure, not a stuck test run).
fn forewarn_within(args: &[&str], dir: &std::path::Path, limit: std::time::Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .args(args)
        .current_dir(dir)
        .env_remove("FOREWARN_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "`forewarn {}` still running after {limit:?}: {out:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    p
}

fn tcp_config(port: u16) -> String {
    format!(
        "[[checks]]\nname = \"svc\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:{port}\"\ntimeout = \"800ms\"\n"
    )
}

/// A temporary directory holding `open.toml`: one TCP check of a port that listens while the
/// returned listener lives.
fn open_port_config() -> (tempfile::TempDir, TcpListener, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let cfg = write(dir.path(), "open.toml", &tcp_config(port));
    (dir, listener, cfg)
}

#[test]
fn check_exits_0_when_open_and_2_when_closed() {
    let (dir, listener, cfg) = open_port_config();
    let out = forewarn(&["check", "--config", cfg.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("OK"),
        "{out:?}"
    );

    drop(listener);
    let out = forewarn(
        &["check", "--config", cfg.to_str().unwrap(), "--json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "critical");
    assert_eq!(json["checks"][0]["name"], "svc");
    assert!(
        !dir.path().join("forewarn.db").exists(),
        "a one-shot check keeps no history"
    );
}

#[test]
fn workers_can_be_raised_and_zero_is_refused() {
    let (dir, listener, cfg) = open_port_config();
    let cfg = cfg.to_str().unwrap();
    let out = forewarn(&["--workers", "4", "check", "--config", cfg], dir.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = forewarn(&["check", "--workers", "2", "--config", cfg], dir.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = forewarn(&["check", "--workers", "0", "--config", cfg], dir.path());
    assert_eq!(out.status.code(), Some(2), "clap's usage error: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'0'") && err.contains("--workers"), "{err}");
    drop(listener);
}

#[test]
fn validate_names_file_line_col_of_a_typo() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "typo.toml",
        "[[checks]]\nname = \"svc\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:22\"\nintervall = \"5s\"\n",
    );
    let out = forewarn(&["validate", cfg.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("typo.toml:5:1"), "{err}");
    assert!(err.contains("intervall"), "{err}");

    let ok = write(dir.path(), "ok.toml", &tcp_config(22));
    let out = forewarn(&["validate", ok.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn validate_rejects_dependency_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "cycle.toml",
        r#"
[[checks]]
name = "a"
type = "tcp"
target = "127.0.0.1:1"
depends_on = ["b"]

[[checks]]
name = "b"
type = "tcp"
target = "127.0.0.1:2"
depends_on = ["a"]
"#,
    );
    let out = forewarn(&["validate", cfg.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cycle"), "{err}");
}

#[test]
fn incidents_and_ack_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let cfg = write(
        dir.path(),
        "forewarn.toml",
        &format!(
            "[sinks.outbox]\ntype = \"file\"\npath = \"outbox.jsonl\"\n\n[policies.default]\ntype = \"notify\"\nsinks = [\"outbox\"]\n\n{}failure_threshold = 1\ninterval = \"1s\"\n",
            tcp_config(port)
        ),
    );
    let _ = cfg;
    // `run` is long-lived; drive it for a short while with a signal.
    let mut child = Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .args(["run"])
        .current_dir(dir.path())
        .env_remove("FOREWARN_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let out = forewarn(&["incidents", "--json"], dir.path());
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if list.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no incident opened");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let out = forewarn(&["ack", "1", "--by", "ana", "--note", "on it"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = forewarn(&["ack", "1", "--by", "bo"], dir.path());
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already acknowledged by ana"));
    let out = forewarn(&["incidents"], dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("acknowledged"), "{text}");

    // SIGTERM stops it gracefully.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let outbox = std::fs::read_to_string(dir.path().join("outbox.jsonl")).unwrap();
    assert!(outbox.contains("\"opened\""), "{outbox}");
}

#[test]
fn readme_config_example_is_valid() {
    let readme = include_str!("../README.md");
    let block = readme
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the README has a toml example");
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var("TEAMS_WEBHOOK_URL", "https://example.invalid/hook") };
    let config = forewarn::Config::parse(block, std::path::Path::new("README.md"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.checks.len(), 3);
    assert_eq!(
        config.dependencies_of(&config.checks[1]),
        ["core-switch".to_owned()]
    );
}

#[test]
#[cfg(all(
    feature = "probe-postgres",
    feature = "probe-mysql",
    feature = "probe-redis"
))]
fn databases_example_validates_without_its_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/databases.toml");
    let out = forewarn(&["validate", example.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let config = forewarn::Config::from_file(&example).unwrap();
    let kinds: Vec<_> = config
        .checks
        .iter()
        .map(|c| {
            format!("{:?}", c.probe)
                .split('(')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds, ["Postgres", "Mysql", "Redis", "Process", "Process"]);
    // So is the README's database example.
    let readme = include_str!("../README.md");
    let block = readme
        .split("```toml\n")
        .find(|b| b.contains("type = \"postgres\""))
        .and_then(|b| b.split("```").next())
        .expect("the README has a database example");
    forewarn::Config::parse(block, std::path::Path::new("README.md"))
        .unwrap_or_else(|e| panic!("{e}"));
    // A typo in a database check is reported with its place.
    let text = std::fs::read_to_string(&example)
        .unwrap()
        .replace("database_size = true", "database_sise = true");
    let typo = write(dir.path(), "typo.toml", &text);
    let out = forewarn(&["validate", typo.to_str().unwrap()], dir.path());
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("typo.toml:") && err.contains("database_sise"),
        "{err}"
    );
}

/// `check --json` carries each probe's structured reading beside status, summary and metrics:
/// the HTTP response's code, this machine's file systems.
#[test]
fn check_json_carries_the_structured_readings() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        use std::io::Read;
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf).unwrap();
        conn.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\nbusy",
        )
        .unwrap();
    });
    let cfg = write(
        dir.path(),
        "readings.toml",
        &format!(
            "[[checks]]\nname = \"portal\"\ntype = \"http\"\nurl = \"http://127.0.0.1:{port}/login\"\n\
             timeout = \"5s\"\n\n[[checks]]\nname = \"this-machine\"\ntype = \"host\"\n"
        ),
    );
    let out = forewarn(
        &["check", "--config", cfg.to_str().unwrap(), "--json"],
        dir.path(),
    );
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = json["checks"].as_array().unwrap();
    let portal = checks.iter().find(|c| c["name"] == "portal").unwrap();
    assert_eq!(portal["reading"]["kind"], "http", "{portal}");
    assert_eq!(portal["reading"]["status_code"], 503, "{portal}");
    let host = checks.iter().find(|c| c["name"] == "this-machine").unwrap();
    assert_eq!(host["reading"]["kind"], "host", "{host}");
    assert!(host["reading"]["cores"].as_u64().unwrap() >= 1, "{host}");
    assert!(
        host["reading"]["filesystems"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["total_bytes"].as_u64().unwrap() > 0 && f["status"].is_string()),
        "{host}"
    );
    // The deeper health: each part is either read or said to be not available.
    let not_available: Vec<&str> = host["reading"]["not_available"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    for (key, what) in [
        ("pressure", "pressure stall information"),
        ("thermal_throttle", "thermal throttle counters"),
        ("batteries", "batteries"),
    ] {
        assert!(
            host["reading"].get(key).is_some() != not_available.contains(&what),
            "{key}: {host}"
        );
    }
}

/// Durations a clock cannot hold are refused where they are written, by every command, before
/// anything runs: no panic, no hang, no silently dead cleanup.
#[test]
fn durations_out_of_range_are_refused_at_their_value() {
    let dir = tempfile::tempdir().unwrap();
    let limit = std::time::Duration::from_secs(20);
    let check = "[[checks]]\nname = \"svc\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:9\"\n";
    for (name, text, place) in [
        (
            "interval.toml",
            format!("{check}interval = \"18446744073709551615s\"\n"),
            "interval.toml:5:12",
        ),
        (
            "timeout.toml",
            format!("{check}timeout = \"18446744073709551615s\"\n"),
            "timeout.toml:5:11",
        ),
        (
            "retention.toml",
            format!("[monitor]\nretention = \"999999y\"\n{check}"),
            "retention.toml:2:13",
        ),
        (
            "day.toml",
            format!("{check}interval = \"2d\"\n"),
            "day.toml:5:12",
        ),
        (
            "slow.toml",
            format!("{check}interval = \"5s\"\ntimeout = \"1m\"\n"),
            "slow.toml:6:11",
        ),
    ] {
        let cfg = write(dir.path(), name, &text);
        let cfg = cfg.to_str().unwrap();
        let out = forewarn_within(&["validate", cfg], dir.path(), limit);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(place), "{name}: {err}");
        for command in ["check", "run"] {
            let out = forewarn_within(&[command, "--config", cfg], dir.path(), limit);
            assert_eq!(out.status.code(), Some(3), "{command} {name}: {out:?}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(place), "{command} {name}: {err}");
            assert!(!err.contains("panicked"), "{command} {name}: {err}");
        }
    }
    assert!(
        !dir.path().join("forewarn.db").exists(),
        "refused before opening the history"
    );
}

/// A `forewarn run` in the background whose output lines are collected as they come.
struct Running {
    child: std::process::Child,
    /// (when, from stderr, the line)
    lines: std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, bool, String)>>>,
}

impl Running {
    fn start(dir: &std::path::Path, args: &[&str]) -> Running {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_forewarn"));
        cmd.arg("run").args(args).current_dir(dir);
        Running::spawn(cmd)
    }

    /// Runs `cmd` (which ends in `forewarn run`) with its output collected.
    fn spawn(mut cmd: Command) -> Running {
        use std::io::BufRead;
        let mut child = cmd
            .env_remove("FOREWARN_CONFIG")
            .env("FOREWARN_LOG", "forewarn=info")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        for (stream, is_err) in [
            (Box::new(out) as Box<dyn std::io::Read + Send>, false),
            (Box::new(err), true),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream).lines() {
                    let Ok(line) = line else { return };
                    lines
                        .lock()
                        .unwrap()
                        .push((std::time::Instant::now(), is_err, line));
                }
            });
        }
        Running { child, lines }
    }

    /// When the first line matching `pred` came, waiting for it up to `limit`.
    fn wait_for(
        &mut self,
        what: &str,
        limit: std::time::Duration,
        pred: impl Fn(&str) -> bool,
    ) -> std::time::Instant {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some((at, _, _)) = self.lines.lock().unwrap().iter().find(|(_, _, l)| pred(l)) {
                return *at;
            }
            if std::time::Instant::now() > deadline || self.child.try_wait().unwrap().is_some() {
                std::thread::sleep(std::time::Duration::from_millis(100));
                panic!("no line {what} within {limit:?}:\n{}", self.output());
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    fn output(&self) -> String {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|(_, e, l)| format!("{}{l}\n", if *e { "err| " } else { "out| " }))
            .collect()
    }

    /// Sends SIGTERM and waits (at most `limit`) for the exit status.
    fn stop(mut self, limit: std::time::Duration) -> (std::process::ExitStatus, String) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(std::time::Duration::from_millis(100));
                return (status, self.output());
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("still running {limit:?} after SIGTERM:\n{}", self.output());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `forewarn run` in `dir` again, waits for an OK result of `svc` and stops it: it
/// must start on the history the run before left, and stop cleanly.
fn runs_again(dir: &std::path::Path) {
    let secs = std::time::Duration::from_secs;
    let mut again = Running::start(dir, &[]);
    again.wait_for("with an OK result", secs(20), |l| {
        l.contains("OK") && l.contains("svc")
    });
    let (status, output) = again.stop(secs(20));
    assert!(status.success(), "{status:?}\n{output}");
}

/// Starts `forewarn run` in `dir` (whose config checks `svc` on the port of `listener` every
/// second), waits for an OK result, closes the port until `svc` fails, opens it again and waits
/// for `oks` OK results after the failure. Returns the run and the listener now open.
fn through_a_failure(
    dir: &std::path::Path,
    listener: TcpListener,
    oks: usize,
) -> (Running, TcpListener) {
    let secs = std::time::Duration::from_secs;
    let port = listener.local_addr().unwrap().port();
    let mut run = Running::start(dir, &[]);
    run.wait_for("with an OK result", secs(20), |l| {
        l.contains("OK") && l.contains("svc")
    });
    drop(listener);
    run.wait_for("with the failure", secs(20), |l| {
        l.contains("CRITICAL") && l.contains("svc")
    });
    let back = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let deadline = std::time::Instant::now() + secs(20);
    loop {
        let out = run.output();
        let failed = out.find("CRITICAL").unwrap();
        let after = out[failed..]
            .lines()
            .filter(|l| l.contains("OK") && l.contains("svc"))
            .count();
        if after >= oks {
            return (run, back);
        }
        assert!(std::time::Instant::now() < deadline, "no recovery:\n{out}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `forewarn history`: availability, latency, the changes of status and the rollups of a
/// check, in the district's time zone; JSON in UTC; a check without history named with the
/// ones that have some.
#[test]
fn history_shows_a_checks_availability_changes_and_rollups() {
    let (dir, listener, _) = open_port_config();
    let port = listener.local_addr().unwrap().port();
    write(
        dir.path(),
        "forewarn.toml",
        &format!(
            "[monitor]\ntime_zone = \"Europe/Berlin\"\n\n{}interval = \"1s\"\nfailure_threshold = 1\n",
            tcp_config(port)
        ),
    );
    let secs = std::time::Duration::from_secs;
    let (run, _back) = through_a_failure(dir.path(), listener, 1);
    let (status, output) = run.stop(secs(20));
    assert!(status.success(), "{output}");

    let out = forewarn_within(&["history", "svc", "--since", "1h"], dir.path(), secs(20));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("svc: "), "{text}");
    // December in Berlin: CET, never bare UTC.
    assert!(text.contains(" CET"), "{text}");
    assert!(!text.contains("UTC"), "{text}");
    assert!(text.contains("availability "), "{text}");
    assert!(text.contains("CRITICAL  "), "{text}");
    assert!(text.contains("per minute:"), "{text}");

    let out = forewarn_within(
        &["history", "svc", "--since", "1h", "--json"],
        dir.path(),
        secs(20),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let count = doc["count"].as_u64().unwrap();
    let failures = doc["failures"].as_u64().unwrap();
    assert!(count >= 3 && failures >= 1, "{doc}");
    let changes = doc["changes"].as_array().unwrap();
    let statuses: Vec<&str> = changes
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.first(), Some(&"ok"), "{doc}");
    assert!(statuses.contains(&"critical"), "{doc}");
    assert_eq!(statuses.last(), Some(&"ok"), "{doc}");
    let rollups = doc["rollups"].as_array().unwrap();
    let summed: u64 = rollups.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(summed, count);
    assert!(doc["since"].as_str().unwrap().ends_with('Z'), "{doc}");
    assert_eq!(doc["tier"], "minute");

    // Hours and days, on request.
    let out = forewarn_within(
        &["history", "svc", "--tier", "day", "--json"],
        dir.path(),
        secs(20),
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["tier"], "day");
    assert_eq!(doc["count"].as_u64().unwrap(), count);

    let out = forewarn_within(&["history", "nope"], dir.path(), secs(20));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no history of `nope`"), "{err}");
    assert!(
        err.contains("checks with history: history-store, svc"),
        "{err}"
    );
    let out = forewarn_within(
        &["history", "svc", "--since", "a while"],
        dir.path(),
        secs(20),
    );
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a while"),
        "{out:?}"
    );
    let out = forewarn_within(&["history", "svc", "--tier", "week"], dir.path(), secs(20));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("minute, hour or day"),
        "{out:?}"
    );
}

/// `kill -9` in the middle of a run of OK observations loses at most what was not yet saved
/// (the samples of the last seconds), never a change of status: the failure and the recovery
/// before the kill are in the history after it.
#[test]
fn kill_9_loses_no_change_of_status() {
    let (dir, listener, _) = open_port_config();
    let port = listener.local_addr().unwrap().port();
    write(
        dir.path(),
        "forewarn.toml",
        &format!(
            "{}interval = \"1s\"\nfailure_threshold = 1\n",
            tcp_config(port)
        ),
    );
    let secs = std::time::Duration::from_secs;
    // Recovered, and a few OK observations into a run.
    let (mut run, _back) = through_a_failure(dir.path(), listener, 3);
    // The whole observations are written within the 250 ms the monitor batches them.
    std::thread::sleep(std::time::Duration::from_millis(600));
    unsafe { libc::kill(run.child.id() as i32, libc::SIGKILL) };
    let _ = run.child.wait();

    let out = forewarn_within(
        &["history", "svc", "--since", "1h", "--json"],
        dir.path(),
        secs(20),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let statuses: Vec<&str> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    let first_failure = statuses.iter().position(|s| *s == "critical");
    assert!(first_failure.is_some(), "{doc}");
    assert_eq!(statuses.first(), Some(&"ok"), "{doc}");
    assert_eq!(statuses.last(), Some(&"ok"), "the recovery is kept: {doc}");
    // And the next run goes on from there.
    runs_again(dir.path());
}

/// A disk that fills up (a 32 MiB tmpfs, 20 MiB of it taken) is an alert, not an outage: the
/// `history-store` check opens an incident "history store near full", the oldest raw history
/// is shed, and the alerts of the other checks keep coming.
#[test]
fn a_full_disk_is_an_incident_and_alerts_keep_flowing() {
    let root = unsafe { libc::geteuid() } == 0;
    let mut probe = Command::new("unshare");
    if !root {
        probe.args(["--user", "--map-root-user"]);
    }
    let works = probe
        .args([
            "--mount",
            "sh",
            "-c",
            "mount -t tmpfs -o size=1m tmpfs /mnt",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !works {
        snmpsim::skip::skip(
            "a tmpfs of its own",
            "`unshare --mount` with `mount -t tmpfs` is not allowed here",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let cfg = write(
        dir.path(),
        "forewarn.toml",
        &format!(
            "[monitor]\ndatabase = \"{db}\"\n\n[monitor.history]\nmin_free = \"16MiB\"\n\n\
             [sinks.outbox]\ntype = \"file\"\npath = \"{out}\"\n\n\
             [policies.default]\ntype = \"notify\"\nsinks = [\"outbox\"]\n\n\
             {}interval = \"1s\"\nfailure_threshold = 1\n",
            tcp_config(port),
            db = disk.join("forewarn.db").display(),
            out = dir.path().join("outbox.jsonl").display(),
        ),
    );
    let script = format!(
        "mount -t tmpfs -o size=32m tmpfs '{d}' && dd if=/dev/zero of='{d}/filler' bs=1M count=20 \
         status=none && exec '{bin}' run --config '{cfg}'",
        d = disk.display(),
        bin = env!("CARGO_BIN_EXE_forewarn"),
        cfg = cfg.display()
    );
    let mut cmd = Command::new("unshare");
    if !root {
        cmd.args(["--user", "--map-root-user"]);
    }
    cmd.args(["--mount", "sh", "-c", &script])
        .current_dir(dir.path());
    let mut run = Running::spawn(cmd);
    let secs = std::time::Duration::from_secs;
    run.wait_for("saying the history store is near full", secs(30), |l| {
        l.contains("history-store") && l.contains("history store near full")
    });
    let outbox = dir.path().join("outbox.jsonl");
    let deadline = std::time::Instant::now() + secs(30);
    let notified = |check: &str| {
        std::fs::read_to_string(&outbox)
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains(&format!("\"check\":\"{check}\"")))
    };
    while !(notified("history-store") && notified("svc")) {
        assert!(
            std::time::Instant::now() < deadline,
            "no incident of both checks in the outbox: {}\n{}",
            std::fs::read_to_string(&outbox).unwrap_or_default(),
            run.output()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (status, output) = run.stop(secs(20));
    assert!(status.success(), "{status:?}\n{output}");
    assert!(output.contains("history store near full"), "{output}");
    assert!(!output.contains("database or disk is full"), "{output}");
}

/// Listens on loopback, accepts every connection and never writes a byte: an SMTP server stuck
/// before its greeting, a webhook endpoint that hangs. Connections stay open for the test.
fn silent_peer() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for sock in listener.incoming() {
            open.push(sock);
        }
    });
    port
}

/// A mail server and three webhooks that accept connections and never answer: the first check
/// result still comes within the check's interval, the sinks are logged as degraded, and
/// SIGTERM stops the run gracefully.
#[test]
fn sinks_that_never_answer_do_not_hold_up_the_checks() {
    let (dir, _listener, _) = open_port_config();
    let port = _listener.local_addr().unwrap().port();
    let smtp = silent_peer();
    let hook = silent_peer();
    let mut text = format!(
        "[sinks.mail]\ntype = \"email\"\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\n\
         from = \"forewarn@district.example\"\nto = [\"ict@district.example\"]\n\n"
    );
    for i in 0..3 {
        text.push_str(&format!(
            "[sinks.hook{i}]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{hook}/hook{i}\"\n\n"
        ));
    }
    text.push_str(&format!(
        "[policies.default]\ntype = \"notify\"\nsinks = [\"mail\", \"hook0\", \"hook1\", \"hook2\"]\n\n\
         {}interval = \"3s\"\n",
        tcp_config(port)
    ));
    write(dir.path(), "forewarn.toml", &text);
    let mut run = Running::start(dir.path(), &[]);
    let secs = std::time::Duration::from_secs;
    let started = run.wait_for("monitoring", secs(20), |l| l.contains("monitoring 1 check"));
    let first = run.wait_for("with the check's result", secs(10), |l| {
        l.contains("OK") && l.contains("svc")
    });
    assert!(
        first - started < secs(3),
        "the first result came {:?} after start:\n{}",
        first - started,
        run.output()
    );
    // Each sink fails its health check within its own timeout (10 s by default), all at once.
    for sink in ["mail", "hook0", "hook1", "hook2"] {
        run.wait_for("saying the sink is degraded", secs(20), |l| {
            l.contains("sink is degraded") && l.contains(&format!("sink={sink}"))
        });
    }
    let (status, output) = run.stop(secs(20));
    assert!(status.success(), "{status:?}\n{output}");
    assert!(output.contains("stopped: "), "{output}");
}

/// Observations in the history file at `db`, read beside the running monitor.
fn stored_observations(db: &std::path::Path) -> i64 {
    use forewarn::Store;
    // Every observation of every check, closed hours and open ones alike.
    let store = forewarn::SqliteStore::open(db).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(store.availability(chrono::DateTime::<chrono::Utc>::MIN_UTC))
        .unwrap()
        .iter()
        .map(|a| a.count as i64)
        .sum()
}

/// A second `forewarn run` on the same database is refused with the first one's process id;
/// the first keeps every observation it makes, and reading commands work beside it.
#[test]
fn a_second_run_on_one_database_is_refused_and_the_first_is_undisturbed() {
    let (dir, _listener, _) = open_port_config();
    let port = _listener.local_addr().unwrap().port();
    write(
        dir.path(),
        "forewarn.toml",
        &format!("{}interval = \"1s\"\n", tcp_config(port)),
    );
    let secs = std::time::Duration::from_secs;
    let mut first = Running::start(dir.path(), &[]);
    first.wait_for("with the check's result", secs(20), |l| {
        l.contains("OK") && l.contains("svc")
    });
    let pid = first.child.id();

    let second = forewarn_within(&["run"], dir.path(), secs(20));
    assert_eq!(second.status.code(), Some(3), "{second:?}");
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains(&format!("pid {pid}")), "{err}");
    assert!(err.contains("forewarn.db is in use"), "{err}");
    assert!(
        !String::from_utf8_lossy(&second.stdout).contains("monitoring"),
        "refused before it starts: {second:?}"
    );

    // Reading and one-shot commands work beside the running monitor.
    let out = forewarn_within(&["incidents"], dir.path(), secs(20));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = forewarn_within(&["check"], dir.path(), secs(20));
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // The first keeps running and keeps every observation it makes.
    let db = dir.path().join("forewarn.db");
    std::thread::sleep(secs(3));
    let (status, output) = first.stop(secs(20));
    assert!(status.success(), "{status:?}\n{output}");
    assert!(!output.contains("UNIQUE constraint"), "{output}");
    let runs: i64 = output
        .split("stopped: ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no run count in {output}"));
    assert_eq!(
        stored_observations(&db),
        runs,
        "every run is in the history"
    );

    // Once it has stopped, the database is free again.
    runs_again(dir.path());
}

/// `forewarn run` started at a low soft limit on open files (a service manager's 1,024, here
/// 256) raises it to the hard limit: each check in flight holds a socket.
#[test]
#[cfg(target_os = "linux")]
fn run_raises_its_open_file_limit_to_the_hard_limit() {
    let (dir, listener, _) = open_port_config();
    let port = listener.local_addr().unwrap().port();
    write(
        dir.path(),
        "forewarn.toml",
        &format!("{}interval = \"1s\"\n", tcp_config(port)),
    );
    let secs = std::time::Duration::from_secs;
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "ulimit -Sn 256 && exec \"$0\" run",
        env!("CARGO_BIN_EXE_forewarn"),
    ])
    .current_dir(dir.path());
    let mut running = Running::spawn(cmd);
    running.wait_for("with the check's result", secs(20), |l| {
        l.contains("OK") && l.contains("svc")
    });
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", running.child.id())).unwrap();
    let (soft, hard) = limits
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("Max open files")?;
            let mut values = rest.split_whitespace();
            Some((values.next()?.to_owned(), values.next()?.to_owned()))
        })
        .unwrap_or_else(|| panic!("no open file limit in {limits}"));
    let (status, output) = running.stop(secs(20));
    assert!(status.success(), "{status:?}\n{output}");
    assert_ne!(
        hard, "256",
        "the hard limit is above the soft one started with"
    );
    assert_eq!(soft, hard, "{limits}");
}

/// `tickets generate` refuses numbers out of range as a usage error instead of panicking.
#[test]
#[cfg(feature = "tickets")]
fn tickets_generate_refuses_numbers_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let limit = std::time::Duration::from_secs(60);
    for (flag, value) in [
        ("--start-year", "262143"),
        ("--start-year", "1969"),
        ("--years", "4294967295"),
        ("--years", "0"),
        ("--rows", "18446744073709551615"),
        ("--rows", "0"),
    ] {
        let args = ["tickets", "generate", flag, value, "--out", "t.csv"];
        let out = forewarn_within(&args, dir.path(), limit);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(flag) && err.contains(value), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // The edges of the ranges work.
    let args = [
        "tickets",
        "generate",
        "--start-year",
        "2999",
        "--years",
        "50",
        "--rows",
        "200",
        "--out",
        "t.csv",
    ];
    let out = forewarn_within(&args, dir.path(), limit);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// Fails when a line of `text` holds a control character (or `\r`): output that could clear a
/// terminal, set its title or forge a line.
fn assert_printable(what: &str, text: &str) {
    for line in text.split('\n') {
        assert!(
            !line.chars().any(forewarn::text::is_control),
            "{what}: raw control character in {line:?}\n{text}"
        );
    }
}

/// Names with control characters are refused where they are written; summaries written to the
/// history by another program are escaped in the `incidents` table.
#[test]
fn control_characters_are_refused_in_names_and_escaped_in_the_incidents_table() {
    let dir = tempfile::tempdir().unwrap();
    let limit = std::time::Duration::from_secs(20);
    for (name, text, place) in [
        (
            "check.toml",
            "[[checks]]\nname = \"svc\\u001b[2J\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:9\"\n",
            "check.toml:2:8",
        ),
        (
            "newline.toml",
            "[[checks]]\ntype = \"tcp\"\ntarget = \"127.0.0.1:9\"\nname = \"svc\\n12:00:00 OK other\"\n",
            "newline.toml:4:8",
        ),
        (
            "sink.toml",
            "[sinks.\"out\\r\"]\ntype = \"log\"\n[[checks]]\nname = \"svc\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:9\"\n",
            "sink.toml:",
        ),
    ] {
        let cfg = write(dir.path(), name, text);
        let out = forewarn_within(&["validate", cfg.to_str().unwrap()], dir.path(), limit);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(place), "{err}");
        assert!(err.contains("must not contain control characters"), "{err}");
        assert_printable(name, &err);
    }

    // A program of one's own wrote an incident whose summary came from a device.
    let db = dir.path().join("history.db");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let probe = forewarn::testing::FakeProbe::new(forewarn::Status::Critical);
        probe.set(
            forewarn::Status::Critical,
            "\u{1b}]0;owned\u{7}\u{1b}[2Jdown\r\n12:00:00 OK       svc      fine\0",
        );
        let monitor = forewarn::Monitor::builder()
            .store(std::sync::Arc::new(
                forewarn::SqliteStore::open(&db).unwrap(),
            ))
            .check(forewarn::CheckSpec::new("svc", std::sync::Arc::new(probe)).thresholds(1, 1))
            .build()
            .unwrap();
        monitor.run_once().await.unwrap();
    });
    let cfg = write(
        dir.path(),
        "forewarn.toml",
        &format!(
            "[monitor]\ndatabase = \"{}\"\n{}",
            db.display(),
            tcp_config(9)
        ),
    );
    let out = forewarn_within(
        &["incidents", "--config", cfg.to_str().unwrap()],
        dir.path(),
        limit,
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let table = String::from_utf8_lossy(&out.stdout);
    assert_printable("incidents", &table);
    assert!(
        table.contains(r"\u{1b}]0;owned\u{7}\u{1b}[2Jdown\r\n12:00:00 OK       svc      fine\0"),
        "{table}"
    );
    // The JSON keeps the data as it is (escaped the JSON way).
    let out = forewarn_within(
        &["incidents", "--json", "--config", cfg.to_str().unwrap()],
        dir.path(),
        limit,
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("\u{1b}]0;owned")
    );
}

#[cfg(feature = "probe-snmp")]
#[path = "support/snmpsim.rs"]
mod snmpsim;

/// A printer whose cover name holds terminal escapes and a forged status line, and whose model
/// name holds a config line: `check`, `run` (console, log sink and log), `incidents` and
/// `discover` print what it said on the line it belongs to, with no control character.
#[test]
#[cfg(feature = "probe-snmp")]
fn device_text_is_escaped_in_every_console_output() {
    let Some(sim) = snmpsim::Snmpsim::start_or_skip(&["hostile"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let limit = std::time::Duration::from_secs(30);
    write(
        dir.path(),
        "forewarn.toml",
        &format!(
            "[sinks.console]\ntype = \"log\"\n\n[[checks]]\nname = \"room12\"\ntype = \"printer\"\n\
             host = \"127.0.0.1\"\nport = {}\ncommunity = \"hostile\"\ninterval = \"2s\"\n\
             failure_threshold = 1\n",
            sim.port
        ),
    );
    // The printer probe drops the controls and folds the line break.
    let forged = "[2J]0;ownedFront Door 12:00:00 OK all-printers fine open";

    let out = forewarn_within(&["check"], dir.path(), limit);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_printable("check", &stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains(forged), "{stdout}");

    let mut run = Running::start(dir.path(), &[]);
    run.wait_for("opening the incident", limit, |l| {
        l.contains("INCIDENT #1 opened")
    });
    run.wait_for("from the log sink", limit, |l| {
        l.contains("opened critical room12")
    });
    let (status, output) = run.stop(limit);
    assert!(status.success(), "{status:?}\n{output}");
    assert_printable("run", &output);
    assert!(output.contains(forged), "{output}");

    let out = forewarn_within(&["incidents"], dir.path(), limit);
    let table = String::from_utf8_lossy(&out.stdout);
    assert_printable("incidents", &table);
    assert!(table.contains(forged), "{table}");

    let port = sim.port.to_string();
    let args = [
        "discover",
        "printers",
        "127.0.0.1",
        "--port",
        &port,
        "--community",
        "hostile",
    ];
    let out = forewarn_within(&args, dir.path(), limit);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let found = String::from_utf8_lossy(&out.stdout);
    assert_printable("discover", &found);
    let config = forewarn::Config::parse(&found, std::path::Path::new("discovered.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{found}"));
    assert_eq!(config.checks.len(), 1, "no injected check: {found}");
    let name = config.checks[0].name.get_ref();
    assert!(
        name.starts_with("HP Color LaserJet M880") && name.contains("[[checks]]"),
        "{name}"
    );
}

/// An SMTP server whose every answer after the greeting is a refusal holding a carriage
/// return, a NUL and an escape: what it says reaches the log escaped, on one line.
fn rude_smtp_peer() -> u16 {
    use std::io::{BufRead, BufReader};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            std::thread::spawn(move || {
                let _ = sock.write_all(b"220 rude.example ESMTP\r\n");
                let reader = BufReader::new(sock.try_clone().unwrap());
                for line in reader.lines() {
                    let Ok(line) = line else { return };
                    let answer: &[u8] = if line.to_ascii_uppercase().starts_with("EHLO") {
                        b"250 rude.example\r\n"
                    } else if line.to_ascii_uppercase().starts_with("QUIT") {
                        b"221 bye\r\n"
                    } else {
                        b"554 5.7.1 refused\r12:00:00  INFO all mail delivered\x00\x1b[2J\r\n"
                    };
                    if sock.write_all(answer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn what_a_server_answers_reaches_the_log_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = rude_smtp_peer();
    write(
        dir.path(),
        "forewarn.toml",
        &format!(
            "[sinks.mail]\ntype = \"email\"\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\n\
             from = \"forewarn@district.example\"\nto = [\"ict@district.example\"]\ntimeout = \"2s\"\n\n\
             {}failure_threshold = 1\ninterval = \"1s\"\n",
            tcp_config(9)
        ),
    );
    let limit = std::time::Duration::from_secs(30);
    let mut run = Running::start(dir.path(), &[]);
    run.wait_for("saying the delivery failed", limit, |l| {
        l.contains("delivery failed") && l.contains("554")
    });
    let (status, output) = run.stop(limit);
    assert!(status.success(), "{status:?}\n{output}");
    assert_printable("run", &output);
    assert!(
        output.contains(r"refused\r12:00:00  INFO all mail delivered\0"),
        "{output}"
    );
}

/// A config without checks is not "ok": `validate` says there is nothing to check, `check`
/// exits 3 (unknown) and `run` refuses to start.
#[test]
fn a_config_without_checks_has_nothing_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let limit = std::time::Duration::from_secs(20);
    for (name, text) in [
        ("empty.toml", ""),
        ("sinks-only.toml", "[sinks.log]\ntype = \"log\"\n"),
    ] {
        let cfg = write(dir.path(), name, text);
        let cfg = cfg.to_str().unwrap();
        let out = forewarn_within(&["validate", cfg], dir.path(), limit);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("nothing to check"), "{err}");
        assert!(out.stdout.is_empty(), "{out:?}");
        let out = forewarn_within(&["check", "--config", cfg], dir.path(), limit);
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to check"));
        let out = forewarn_within(&["check", "--json", "--config", cfg], dir.path(), limit);
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["status"], "unknown");
        let out = forewarn_within(&["run", "--config", cfg], dir.path(), limit);
        assert_eq!(out.status.code(), Some(3), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to monitor"));
    }
}

/// The typo hint of a check names the check's own keys, `interval` first among the guesses.
#[test]
fn validate_suggests_the_key_meant() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "typo.toml",
        "[[checks]]\nname = \"svc\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:22\"\nintervall = \"5s\"\n",
    );
    let out = forewarn(&["validate", cfg.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("typo.toml:5:1: `intervall`: unknown field"),
        "{err}"
    );
    assert!(err.contains("did you mean `interval`?"), "{err}");
    assert!(
        err.contains("`failure_threshold`") && err.contains("`target`"),
        "{err}"
    );
}

/// An acknowledgement made with `forewarn ack` while `run` is active reaches the people told
/// within a second.
#[test]
fn an_ack_beside_a_running_monitor_is_told_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "forewarn.toml",
        &format!(
            "[sinks.outbox]\ntype = \"file\"\npath = \"outbox.jsonl\"\n\n\
             [policies.default]\ntype = \"notify\"\nsinks = [\"outbox\"]\n\n\
             {}failure_threshold = 1\ninterval = \"1s\"\n",
            tcp_config(9)
        ),
    );
    let secs = std::time::Duration::from_secs;
    let outbox = dir.path().join("outbox.jsonl");
    let told = |kind: &str| {
        std::fs::read_to_string(&outbox)
            .unwrap_or_default()
            .contains(&format!("\"kind\":\"{kind}\""))
    };
    let run = Running::start(dir.path(), &[]);
    let deadline = std::time::Instant::now() + secs(30);
    while !told("opened") {
        assert!(std::time::Instant::now() < deadline, "{}", run.output());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = forewarn(&["ack", "1", "--by", "ana"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let acked = std::time::Instant::now();
    while !told("acknowledged") {
        assert!(
            acked.elapsed() <= secs(1),
            "not told within a second of the ack:\n{}",
            run.output()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let (status, output) = run.stop(secs(20));
    assert!(status.success(), "{status:?}\n{output}");
}

/// The communication example validates without its secrets, and its mistakes are named where
/// they are: an audience naming an unknown service, a service naming an unknown check, a
/// template with a syntax error.
#[test]
fn communication_example_validates_and_its_mistakes_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/communication.toml");
    // Its secrets come from the environment.
    let secrets = [
        ("FOREWARN_SMTP_PASSWORD", "smtp-secret"),
        ("FOREWARN_ACK_SECRET", "a-long-random-ack-secret"),
        (
            "OFFICE_CHAT_WEBHOOK",
            "https://chat.googleapis.com/v1/spaces/X/messages?key=k",
        ),
        ("FOREWARN_HELPDESK_SIEVE_PASSWORD", "sieve-secret"),
    ];
    let validate = |path: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_forewarn"))
            .args(["validate", path.to_str().unwrap()])
            .current_dir(dir.path())
            .env_remove("FOREWARN_CONFIG")
            .envs(secrets)
            .output()
            .unwrap()
    };
    let out = validate(&example);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mut text = std::fs::read_to_string(&example).unwrap();
    let config = forewarn::Config::parse(
        &secrets
            .iter()
            .fold(text.clone(), |t, (k, v)| t.replace(&format!("${{{k}}}"), v)),
        &example,
    )
    .unwrap();
    let keys: Vec<&str> = config.services.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["sis", "printing-a"], "in file order");
    assert_eq!(config.audiences.len(), 2);
    assert_eq!(config.responders.len(), 2);
    text = text.clone();
    for (from, to, want) in [
        (
            "services = [\"sis\", \"printing-a\"]",
            "services = [\"sis\", \"printing-b\"]",
            "`audiences.teachers.services`: service `printing-b` is not defined (known: sis, printing-a)",
        ),
        (
            "checks = [\"sis-web\", \"sis-db\"]               #",
            "checks = [\"sis-web\", \"sis-dbx\"]              #",
            "`services.sis.checks`: check `sis-dbx` is not defined",
        ),
        (
            "sinks = [\"office-chat\"]",
            "sinks = [\"office-chatt\"]",
            "`audiences.office.sinks`: sink `office-chatt` is not defined",
        ),
        (
            "down_when = \"all\"",
            "down_when = \"most\"",
            "expected \"any\", \"all\" or a number of checks",
        ),
    ] {
        assert!(text.contains(from), "{from}");
        let bad = write(dir.path(), "bad.toml", &text.replacen(from, to, 1));
        let out = validate(&bad);
        assert_ne!(out.status.code(), Some(0), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{want} in {err}");
        // file:line:col of the value.
        let line = text
            .replacen(from, to, 1)
            .lines()
            .position(|l| l.contains(to))
            .unwrap()
            + 1;
        assert!(
            err.contains(&format!("bad.toml:{line}:")),
            "line {line} in {err}"
        );
    }
}

/// A broadcast outage through the real program: teachers get one "we know" after the delay,
/// the program is killed with SIGKILL mid-outage, a note is added from the command line while
/// it is down, and after a restart teachers get exactly one update and one "fixed": nothing
/// repeated, nothing lost. ICT got its alert at once.
#[test]
fn kill_9_mid_outage_neither_repeats_nor_loses_a_broadcast() {
    let secs = std::time::Duration::from_secs;
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    write(
        dir.path(),
        "forewarn.toml",
        &format!(
            "[monitor]\ntime_zone = \"America/Chicago\"\n\n\
             [sinks.ict]\ntype = \"file\"\npath = \"ict.jsonl\"\n\n\
             [sinks.teachers]\ntype = \"file\"\npath = \"teachers.jsonl\"\n\n\
             [policies.default]\ntype = \"notify\"\nsinks = [\"ict\"]\n\n\
             [services.sis]\nname = \"Student Information System\"\nchecks = [\"svc\"]\n\
             workaround = \"Take attendance on paper.\"\n\n\
             [audiences.teachers]\nname = \"Teachers\"\nsinks = [\"teachers\"]\nservices = [\"sis\"]\n\n\
             [broadcasts]\ndelay = \"3s\"\nhold = \"3s\"\n\n\
             {}failure_threshold = 1\ninterval = \"1s\"\n",
            tcp_config(port)
        ),
    );
    let lines = |name: &str| -> Vec<serde_json::Value> {
        std::fs::read_to_string(dir.path().join(name))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let keys = || -> Vec<String> {
        lines("teachers.jsonl")
            .iter()
            .map(|n| {
                n["key"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let wait = |what: &str, run: &Running, done: &dyn Fn() -> bool| {
        let deadline = std::time::Instant::now() + secs(30);
        while !done() {
            assert!(
                std::time::Instant::now() < deadline,
                "{what}: {:?}\n{}",
                keys(),
                run.output()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let mut run = Running::start(dir.path(), &[]);
    run.wait_for("with an OK result", secs(20), |l| {
        l.contains("OK") && l.contains("svc")
    });
    drop(listener);
    wait("ICT alerted", &run, &|| !lines("ict.jsonl").is_empty());
    assert!(lines("teachers.jsonl").is_empty(), "not before the delay");
    wait("we know", &run, &|| keys() == ["we_know"]);
    // SIGKILL: no clean shutdown.
    run.child.kill().unwrap();
    run.child.wait().unwrap();
    drop(run);
    let out = forewarn(
        &[
            "incident",
            "note",
            "1",
            "The vendor is restarting the server.",
            "--by",
            "ana",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let run = Running::start(dir.path(), &[]);
    wait("the update", &run, &|| keys().len() >= 2);
    let back = TcpListener::bind(("127.0.0.1", port)).unwrap();
    wait("fixed", &run, &|| keys().contains(&"fixed".to_owned()));
    // Nothing else comes.
    std::thread::sleep(secs(3));
    let (status, output) = run.stop(secs(20));
    assert!(status.success(), "{status:?}\n{output}");
    drop(back);
    assert_eq!(keys(), ["we_know", "update:1", "fixed"], "{output}");
    let sent = lines("teachers.jsonl");
    assert!(
        sent[1]["broadcast"]["text"]
            .as_str()
            .unwrap()
            .contains("The vendor is restarting the server."),
        "{:?}",
        sent[1]
    );
    let threads: Vec<&str> = sent
        .iter()
        .map(|n| n["broadcast"]["thread"].as_str().unwrap())
        .collect();
    assert_eq!(threads, ["outage-1", "outage-1", "outage-1"]);
    // `forewarn outages` tells the story.
    let out = forewarn(&["outages", "--all"], dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("over") && text.contains("Student Information System"),
        "{text}"
    );
    assert!(!text.contains("UTC"), "{text}");
}

/// Agents through the program: a token made with `forewarn agents token create`, `forewarn run`
/// as the central, `forewarn agent` pushing to it, `forewarn agents list` showing it, an agent
/// under the wrong name told which name its token is for, a silent server agent raising its
/// incident; the token in no output.
#[test]
fn agents_through_the_program_from_token_to_silence() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    write(
        dir.path(),
        "central.toml",
        &format!(
            "[monitor]\ndatabase = \"central.db\"\ntime_zone = \"America/Chicago\"\n\n\
             [agents.groups.servers]\nsilent_after = 3\n\n\
             [status]\nlisten = \"127.0.0.1:{port}\"\n"
        ),
    );
    let made = forewarn(
        &[
            "agents",
            "token",
            "create",
            "file-server",
            "--group",
            "servers",
            "--config",
            "central.toml",
        ],
        dir.path(),
    );
    assert!(made.status.success(), "{made:?}");
    let token = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    assert!(token.len() >= 32, "{token}");
    write(dir.path(), "file-server.token", &token);

    let mut central = Running::start(dir.path(), &["--config", "central.toml"]);
    central.wait_for("with the status page", Duration::from_secs(30), |l| {
        l.contains("status page: http://127.0.0.1:")
    });
    let agent = |name: &str| {
        write(
            dir.path(),
            &format!("{name}.toml"),
            &format!("[agent]\nname = \"{name}\"\ninterval = \"1s\"\noutbox = \"{name}.db\"\n"),
        );
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_forewarn"));
        cmd.args(["agent", "--central", &format!("http://127.0.0.1:{port}")])
            .args(["--token-file", "file-server.token", "--config"])
            .arg(format!("{name}.toml"))
            .current_dir(dir.path());
        Running::spawn(cmd)
    };
    let server = agent("file-server");

    // The central lists it once it has reported, with its host check.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let listed = loop {
        let out = forewarn(
            &["agents", "list", "--json", "--config", "central.toml"],
            dir.path(),
        );
        assert!(out.status.success(), "{out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // Its host check, and its disks where smartmontools is installed.
        let checks: Vec<&str> = v[0]["checks"]
            .as_array()
            .map(|c| c.iter().filter_map(|c| c.as_str()).collect())
            .unwrap_or_default();
        let smartctl = ["/usr/sbin/smartctl", "/usr/bin/smartctl"]
            .iter()
            .any(|p| std::path::Path::new(p).is_file());
        let expected: &[&str] = if smartctl {
            &["host", "disks"]
        } else {
            &["host"]
        };
        if v[0]["last_seen"].is_string() && checks.len() == expected.len() {
            assert_eq!(checks, expected, "{v}");
            break v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never listed as reporting: {v}\n{}",
            central.output()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(listed[0]["name"], "file-server");
    assert_eq!(listed[0]["group"], "servers");
    let table = forewarn(&["agents", "list", "--config", "central.toml"], dir.path());
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("file-server") && table.contains("servers"),
        "{table}"
    );
    assert!(
        table.contains(" CST") || table.contains(" CDT"),
        "local times: {table}"
    );

    // The same token under another name: refused, and told which name it is for.
    let mut stray = agent("lab-pc-3");
    stray.wait_for("naming the token's agent", Duration::from_secs(20), |l| {
        l.contains("this token is agent `file-server`'s, not `lab-pc-3`'s")
    });
    central.wait_for(
        "logging the refusal with its peer",
        Duration::from_secs(20),
        |l| l.contains("the token is another agent's") && l.contains("peer=127.0.0.1"),
    );
    let (_, stray_out) = stray.stop(Duration::from_secs(20));

    // The server agent stops: after three missed intervals the central opens its incident.
    let (status, server_out) = server.stop(Duration::from_secs(20));
    assert!(status.success(), "{status:?}\n{server_out}");
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let out = forewarn(&["incidents", "--config", "central.toml"], dir.path());
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains("file-server") && text.contains("agent silent since") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no incident for the silent server: {text}\n{}",
            central.output()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let (status, central_out) = central.stop(Duration::from_secs(20));
    assert!(status.success(), "{status:?}\n{central_out}");
    for (who, out) in [
        ("central", &central_out),
        ("agent", &server_out),
        ("stray agent", &stray_out),
    ] {
        assert!(
            !out.contains(&token),
            "the token in the {who}'s output:\n{out}"
        );
    }
}
