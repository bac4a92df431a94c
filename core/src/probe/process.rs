//! The `process` probe: is a named program running on this machine, how many of it, and did it
//! restart since the last check? For services without systemd (or alongside it).
//!
//! ```toml
//! [[checks]]
//! name = "print server spooler"
//! type = "process"
//! name_is = "cupsd"            # the process name, or
//! # pattern = "mariadbd|mysqld" # a regular expression on its executable path and command line
//! min = 1                      # at least this many (default 1)
//! max = 4                      # at most this many (optional)
//! interval = "5s"
//! ```
//!
//! A restart — the longest-running matching process gone and another in its place between two
//! checks — is a Warning "restarted at …" once; the next check is Ok again.

use std::collections::HashSet;
use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use regex::Regex;
use serde::Deserialize;
use sysinfo::{Pid, ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System, UpdateKind};

use crate::error::{Error, Result};
use crate::probe::{CheckContext, Observation, Probe, Status, human_duration};

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// Configuration of the `process` probe. Give `name_is` or `pattern`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProcessConfig {
    /// The process name (`redis-server`), matched exactly against the name the kernel shows,
    /// the executable's file name and the first word of the command line.
    #[serde(default)]
    pub name_is: Option<String>,
    /// A regular expression searched in the executable's path and the whole command line.
    #[serde(default)]
    pub pattern: Option<String>,
    /// At least this many must run (default 1); fewer is Critical.
    #[serde(default = "one")]
    pub min: u32,
    /// At most this many may run; more is a Warning.
    #[serde(default)]
    pub max: Option<u32>,
    /// Warn once when the process restarted between two checks (default true).
    #[serde(default = "yes")]
    pub restart_warning: bool,
}

impl Default for ProcessConfig {
    /// Nothing to match yet; at least one process, restarts warned about.
    fn default() -> Self {
        Self {
            name_is: None,
            pattern: None,
            min: one(),
            max: None,
            restart_warning: true,
        }
    }
}

impl ProcessConfig {
    /// Checks the values, naming the offending field in the error.
    pub fn validate(&self) -> Result<()> {
        match (&self.name_is, &self.pattern) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "pattern",
                    "give `name_is` or `pattern`, not both",
                ));
            }
            (None, None) => {
                return Err(Error::invalid(
                    "name_is",
                    "missing: give `name_is` or `pattern`",
                ));
            }
            (Some(n), None) if n.trim().is_empty() => {
                return Err(Error::invalid("name_is", "the name is empty"));
            }
            (None, Some(p)) => {
                Regex::new(p).map_err(|e| Error::invalid("pattern", e.to_string()))?;
            }
            _ => {}
        }
        if let Some(max) = self.max
            && max < self.min
        {
            return Err(Error::invalid(
                "max",
                format!("{max} is below `min` ({})", self.min),
            ));
        }
        Ok(())
    }

    /// Builds the probe.
    pub fn build(&self) -> Result<ProcessProbe> {
        self.validate()?;
        let matcher = match (&self.name_is, &self.pattern) {
            (Some(n), _) => Matcher::Name(n.trim().to_owned()),
            (None, Some(p)) => Matcher::Pattern(
                Regex::new(p).map_err(|e| Error::invalid("pattern", e.to_string()))?,
            ),
            (None, None) => unreachable!("validated"),
        };
        Ok(ProcessProbe {
            matcher,
            min: self.min,
            max: self.max,
            restart_warning: self.restart_warning,
            state: tokio::sync::Mutex::new(State {
                system: None,
                oldest: None,
            }),
        })
    }
}

#[derive(Debug)]
enum Matcher {
    Name(String),
    Pattern(Regex),
}

impl Matcher {
    fn matches(&self, p: &sysinfo::Process) -> bool {
        match self {
            Matcher::Name(name) => {
                let comm = p.name().to_string_lossy();
                // The kernel's name is cut at 15 bytes.
                comm == name.as_str()
                    || (comm.len() == 15 && name.starts_with(comm.as_ref()))
                    || p.exe()
                        .and_then(|e| e.file_name())
                        .is_some_and(|f| f == name.as_str())
                    || p.cmd().first().is_some_and(|c| {
                        std::path::Path::new(c)
                            .file_name()
                            .is_some_and(|f| f == name.as_str())
                    })
            }
            Matcher::Pattern(re) => {
                p.exe().is_some_and(|e| re.is_match(&e.to_string_lossy())) || {
                    let cmd: Vec<_> = p.cmd().iter().map(|c| c.to_string_lossy()).collect();
                    !cmd.is_empty() && re.is_match(&cmd.join(" "))
                }
            }
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Name(n) => f.write_str(n),
            Matcher::Pattern(p) => write!(f, "/{}/", p.as_str()),
        }
    }
}

/// A process by identity: the pid alone may be reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Identity {
    pid: Pid,
    start: u64,
}

struct State {
    system: Option<System>,
    /// The longest-running match at the last check.
    oldest: Option<Identity>,
}

/// The `process` probe. Build it with [`ProcessConfig::build`].
pub struct ProcessProbe {
    matcher: Matcher,
    min: u32,
    max: Option<u32>,
    restart_warning: bool,
    state: tokio::sync::Mutex<State>,
}

impl fmt::Debug for ProcessProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessProbe")
            .field("matcher", &self.matcher)
            .field("min", &self.min)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// What one look at the process table found.
struct Scan {
    matches: Vec<Identity>,
    running: HashSet<Identity>,
}

fn scan(system: &mut System, matcher: &Matcher) -> Scan {
    system.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing()
            .without_tasks()
            .with_exe(UpdateKind::OnlyIfNotSet)
            .with_cmd(UpdateKind::OnlyIfNotSet),
    );
    let mut matches = Vec::new();
    let mut running = HashSet::new();
    for (pid, p) in system.processes() {
        if p.thread_kind().is_some()
            || matches!(p.status(), ProcessStatus::Zombie | ProcessStatus::Dead)
        {
            continue;
        }
        let id = Identity {
            pid: *pid,
            start: p.start_time(),
        };
        running.insert(id);
        if matcher.matches(p) {
            matches.push(id);
        }
    }
    matches.sort_by_key(|i| (i.start, i.pid));
    Scan { matches, running }
}

#[async_trait]
impl Probe for ProcessProbe {
    async fn check(&self, cx: &CheckContext) -> Observation {
        let at = cx.now();
        let started = std::time::Instant::now();
        let mut state = self.state.lock().await;
        let system = match state.system.take() {
            Some(s) => Ok(s),
            None => System::new(),
        };
        let mut system = match system {
            Ok(s) => s,
            Err(e) => {
                return Observation::new(
                    Status::Unknown,
                    format!("cannot read the process table: {e}"),
                    at,
                );
            }
        };
        // Reading /proc is blocking work: off the async workers.
        let matcher_scan = {
            let matcher = match &self.matcher {
                Matcher::Name(n) => Matcher::Name(n.clone()),
                Matcher::Pattern(p) => Matcher::Pattern(p.clone()),
            };
            tokio::task::spawn_blocking(move || {
                let scan = scan(&mut system, &matcher);
                (system, scan)
            })
            .await
        };
        let (system, scan) = match matcher_scan {
            Ok(r) => r,
            Err(e) => {
                return Observation::new(
                    Status::Unknown,
                    format!("reading the process table failed: {e}"),
                    at,
                );
            }
        };
        state.system = Some(system);
        let count = scan.matches.len() as u32;
        let oldest = scan.matches.first().copied();
        let previous = std::mem::replace(&mut state.oldest, oldest);
        drop(state);
        let now_secs = Utc::now().timestamp().max(0) as u64;
        let uptime = oldest.map(|o| now_secs.saturating_sub(o.start));
        let what = &self.matcher;
        let (status, summary) = if count < self.min {
            let s = if count == 0 {
                format!("{what} is not running")
            } else {
                format!("{count} {what} running, expected at least {}", self.min)
            };
            (Status::Critical, s)
        } else if self.max.is_some_and(|m| count > m) {
            (
                Status::Warning,
                format!(
                    "{count} {what} running, expected at most {}",
                    self.max.unwrap_or_default()
                ),
            )
        } else if let (true, Some(before), Some(now)) = (self.restart_warning, previous, oldest)
            && before != now
            && !scan.running.contains(&before)
        {
            let when = Utc
                .timestamp_opt(now.start as i64, 0)
                .single()
                .map(|t: DateTime<Utc>| cx.zone.format(t, "%Y-%m-%d %H:%M:%S %Z"))
                .unwrap_or_else(|| "an unknown time".into());
            (
                Status::Warning,
                format!(
                    "{what} restarted at {when} (pid {} → {})",
                    before.pid, now.pid
                ),
            )
        } else {
            let up = uptime
                .map(|u| format!(", up {}", human_duration(std::time::Duration::from_secs(u))))
                .unwrap_or_default();
            (
                Status::Ok,
                format!(
                    "{what} running: {count} process{}{up}",
                    if count == 1 { "" } else { "es" }
                ),
            )
        };
        let mut obs = Observation::new(status, summary, at)
            .with_latency(started.elapsed())
            .with_metric("processes", f64::from(count), "");
        if let Some(u) = uptime {
            obs = obs.with_metric("uptime", u as f64, "s");
        }
        obs
    }

    fn kind(&self) -> &str {
        "process"
    }

    fn target(&self) -> String {
        self.matcher.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    fn invalid_field(c: &ProcessConfig) -> String {
        match c.validate().unwrap_err() {
            Error::Invalid { what, .. } => what,
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn validation_names_the_field() {
        let c: ProcessConfig = toml::from_str("name_is = \"cupsd\"").unwrap();
        assert_eq!((c.min, c.max, c.restart_warning), (1, None, true));
        assert!(c.validate().is_ok());
        assert_eq!(invalid_field(&ProcessConfig::default()), "name_is");
        let both = ProcessConfig {
            name_is: Some("a".into()),
            pattern: Some("a".into()),
            ..Default::default()
        };
        assert_eq!(invalid_field(&both), "pattern");
        let bad = ProcessConfig {
            pattern: Some("(".into()),
            ..Default::default()
        };
        assert_eq!(invalid_field(&bad), "pattern");
        let max = ProcessConfig {
            name_is: Some("a".into()),
            min: 3,
            max: Some(2),
            ..Default::default()
        };
        assert_eq!(invalid_field(&max), "max");
        assert!(toml::from_str::<ProcessConfig>("name = \"a\"").is_err());
    }

    /// A `sleep` with a marker argument no other process has, killed when dropped (a failing
    /// assertion must not leave it behind holding the test runner's output open), and returned
    /// only once it runs `sleep`: between fork and exec the child is still a copy of this test
    /// binary, and a scan in that moment would not see it.
    struct Sleeper(Child);

    impl Sleeper {
        fn id(&self) -> u32 {
            self.0.id()
        }
    }

    impl Drop for Sleeper {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn sleeper(marker: &str) -> Sleeper {
        let child = Command::new("sleep")
            .arg(marker)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning sleep");
        let sleeper = Sleeper(child);
        let cmdline = format!("/proc/{}/cmdline", sleeper.id());
        let expected = format!("sleep\0{marker}\0");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::fs::read(&cmdline).ok().as_deref() != Some(expected.as_bytes()) {
            assert!(
                std::time::Instant::now() < deadline,
                "sleep {marker} did not start within 10 s"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        sleeper
    }

    fn stop(s: Sleeper) {
        drop(s);
    }

    #[tokio::test]
    async fn running_count_restart_and_gone() {
        // A number only this test uses, so other processes do not match.
        let secs = 86_400 + u64::from(std::process::id() % 10_000);
        let marker = secs.to_string();
        let probe = ProcessConfig {
            pattern: Some(format!("^sleep {marker}$")),
            max: Some(1),
            ..Default::default()
        }
        .build()
        .unwrap();
        let mut cx = CheckContext::for_test("process");
        cx.zone = crate::clock::Zone::named("America/Chicago").unwrap();
        let obs = probe.check(&cx).await;
        assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
        assert!(obs.summary.ends_with("is not running"), "{}", obs.summary);

        let first = sleeper(&marker);
        let obs = probe.check(&cx).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        assert_eq!(obs.metrics["processes"].value, 1.0);

        let second = sleeper(&marker);
        let obs = probe.check(&cx).await;
        assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
        assert!(
            obs.summary.contains("expected at most 1"),
            "{}",
            obs.summary
        );
        stop(second);

        // Killed and started again between two checks: a restart, reported once.
        let first_pid = first.id();
        stop(first);
        let again = sleeper(&marker);
        let obs = probe.check(&cx).await;
        assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
        assert!(obs.summary.contains("restarted at "), "{}", obs.summary);
        // When, in the district's time zone with its abbreviation.
        assert!(
            (obs.summary.contains(" CST (pid") || obs.summary.contains(" CDT (pid"))
                && !obs.summary.contains("UTC"),
            "{}",
            obs.summary
        );
        assert!(
            obs.summary
                .contains(&format!("pid {first_pid} → {}", again.id())),
            "{}",
            obs.summary
        );
        let obs = probe.check(&cx).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);

        stop(again);
        let obs = probe.check(&cx).await;
        assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
        // Back after an outage: running again, not a restart warning.
        let back = sleeper(&marker);
        let obs = probe.check(&cx).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        stop(back);
    }

    #[tokio::test]
    async fn by_name_finds_this_test_binary() {
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_name().unwrap().to_string_lossy().into_owned();
        let probe = ProcessConfig {
            name_is: Some(name.clone()),
            ..Default::default()
        }
        .build()
        .unwrap();
        assert_eq!(probe.target(), name);
        let obs = probe.check(&CheckContext::for_test("process")).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        assert!(obs.metrics["processes"].value >= 1.0);
    }
}
