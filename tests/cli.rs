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
