//! The monitor: built from a config, run once or in the background, and asked about its checks,
//! incidents and services. Mirrors core's [`forewarn::Monitor`]; every decision is the core's.

use std::path::Path;
use std::sync::Arc;

use forewarn::{CheckStatus, Config, Error, IncidentFilter, Observation};
use napi_derive::napi;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::watch;

use crate::error::{IntoJs, other};
use crate::model::{CheckResult, IncidentInfo, MonitorHealth, to_json};

/// Reads a config: from the file at `source` when `is_path`, else parses `source` as TOML text
/// (named `<string>` in errors).
pub(crate) fn load_config(source: &str, is_path: bool) -> forewarn::Result<Config> {
    if is_path {
        Config::from_file(source)
    } else {
        Config::parse(source, Path::new("<string>"))
    }
}

/// One background run of a monitor.
struct Run {
    /// Set to ask the run to stop gracefully.
    stop: watch::Sender<bool>,
    /// Becomes true once the run has ended (states written).
    done: watch::Receiver<bool>,
    /// The run's outcome, until someone collects it.
    outcome: Arc<Mutex<Option<forewarn::Result<()>>>>,
}

/// A monitor built from a config; the package's `Monitor` wraps it.
#[napi]
pub struct NativeMonitor {
    pub(crate) inner: forewarn::Monitor,
    /// The status page's title (for the public view).
    pub(crate) title: String,
    run: Mutex<Option<Run>>,
}

impl NativeMonitor {
    pub(crate) fn new(inner: forewarn::Monitor, title: String) -> Self {
        NativeMonitor {
            inner,
            title,
            run: Mutex::new(None),
        }
    }
}

/// The checks' states with the metrics of each one's latest observation, read back from the
/// history for the checks given without it (the state keeps only status, summary and reading).
async fn with_latest(
    monitor: &forewarn::Monitor,
    mut results: Vec<(CheckStatus, Option<Observation>)>,
) -> forewarn::Result<Vec<(CheckStatus, Option<Observation>)>> {
    let store = monitor.store();
    for (check, latest) in results.iter_mut() {
        if latest.is_some() {
            continue;
        }
        if let Some(at) = check.last_checked {
            *latest = store
                .observations(&check.name, at - chrono::Duration::seconds(1), 1)
                .await?
                .into_iter()
                .next()
                // The history keeps times to the millisecond.
                .filter(|o| o.at.timestamp_millis() == at.timestamp_millis());
        }
    }
    Ok(results)
}

fn to_results(parts: &[(CheckStatus, Option<Observation>)]) -> napi::Result<Vec<CheckResult>> {
    parts
        .iter()
        .map(|(c, o)| CheckResult::new(c, o.as_ref()))
        .collect()
}

/// Opens the monitor of a config (a file when `isPath`, else TOML text): opens its history
/// store and restores saved state.
#[napi]
pub async fn open_monitor(source: String, is_path: bool) -> napi::Result<NativeMonitor> {
    let config = tokio::task::spawn_blocking(move || load_config(&source, is_path))
        .await
        .map_err(other)?
        .js()?;
    let inner = forewarn::Monitor::from_config(&config).await.js()?;
    Ok(NativeMonitor::new(inner, config.status_title()))
}

#[napi]
impl NativeMonitor {
    /// Runs every check once; returns each check's state with this pass's observation.
    #[napi]
    pub async fn run_once(&self) -> napi::Result<Vec<CheckResult>> {
        let results = self.inner.run_once_observed().await.js()?;
        let results = with_latest(&self.inner, results).await.js()?;
        to_results(&results)
    }

    /// The checks, sinks, outbox and scheduler.
    #[napi]
    pub async fn status(&self) -> napi::Result<MonitorHealth> {
        let status = self.inner.status().await.js()?;
        let parts = status.checks.iter().cloned().map(|c| (c, None)).collect();
        let results = with_latest(&self.inner, parts).await.js()?;
        Ok(MonitorHealth {
            checks: to_results(&results)?,
            sinks: to_json(&status.sinks)?,
            outbox: to_json(&status.outbox)?,
            scheduler: to_json(&status.scheduler)?,
        })
    }

    /// Incidents, newest first: only active ones when `activeOnly`, only `check`'s when given,
    /// at most `limit` (0: no limit).
    #[napi]
    pub async fn incidents(
        &self,
        active_only: bool,
        check: Option<String>,
        limit: u32,
    ) -> napi::Result<Vec<IncidentInfo>> {
        let filter = IncidentFilter {
            active_only,
            check,
            limit: limit as usize,
        };
        let incidents = self.inner.incidents(&filter).await.js()?;
        incidents.iter().map(IncidentInfo::new).collect()
    }

    /// Acknowledges incident `id` for `by`, with an optional note; returns the incident.
    #[napi]
    pub async fn acknowledge(
        &self,
        id: i64,
        by: String,
        note: Option<String>,
    ) -> napi::Result<IncidentInfo> {
        let i = self
            .inner
            .acknowledge(id, &by, note.as_deref())
            .await
            .js()?;
        IncidentInfo::new(&i)
    }

    /// Adds a note by `by` to incident `id`; returns the incident.
    #[napi]
    pub async fn note(&self, id: i64, by: String, text: String) -> napi::Result<IncidentInfo> {
        let i = self.inner.note(id, &by, &text).await.js()?;
        IncidentInfo::new(&i)
    }

    /// Resolves incident `id` by hand for `by`; returns the incident.
    #[napi]
    pub async fn resolve(
        &self,
        id: i64,
        by: String,
        note: Option<String>,
    ) -> napi::Result<IncidentInfo> {
        let i = self.inner.resolve(id, &by, note.as_deref()).await.js()?;
        IncidentInfo::new(&i)
    }

    /// What the public status page shows (services with state, impact and availability,
    /// outages, maintenance, the outage message), as core's JSON.
    #[napi(ts_return_type = "Promise<PublicStatusJson>")]
    pub async fn public_status(&self) -> napi::Result<Value> {
        self.inner.communicate().await.js()?;
        let public = self.inner.public_status(&self.title).await.js()?;
        to_json(&public)
    }

    /// The current outage message (the auto-reply's subject and body and the voicemail's
    /// words), `null` when there is none.
    #[napi(ts_return_type = "OutageMessageJson | null")]
    pub fn outage_message(&self) -> napi::Result<Value> {
        match self.inner.outage_message() {
            Some(m) => to_json(&m),
            None => Ok(Value::Null),
        }
    }

    /// The names of the checks, in definition order.
    #[napi]
    pub fn check_names(&self) -> Vec<String> {
        self.inner.check_names()
    }

    /// Starts the monitor in the background: claims its history first (a history in use by
    /// another running monitor is refused), and refuses a monitor that is already running.
    #[napi]
    pub async fn start(&self) -> napi::Result<()> {
        {
            let run = self.run.lock();
            if run.as_ref().is_some_and(|r| !*r.done.borrow()) {
                return Err(crate::error::to_js(Error::Conflict(
                    "this monitor is already running: stop() it before starting it again".into(),
                )));
            }
        }
        self.inner.store().claim().await.js()?;
        let (stop_tx, mut stop_rx) = watch::channel(false);
        let (done_tx, done_rx) = watch::channel(false);
        let outcome = Arc::new(Mutex::new(None));
        let monitor = self.inner.clone();
        let task = tokio::spawn(async move {
            // Alone on its history it runs; sharing one (PostgreSQL), it leads or stands by.
            forewarn::cluster::run(&monitor, async move {
                let _ = stop_rx.wait_for(|s| *s).await;
            })
            .await
        });
        let finished = outcome.clone();
        tokio::spawn(async move {
            let result = task.await.unwrap_or_else(|e| {
                Err(Error::Stopped {
                    task: "the monitor".into(),
                    message: e.to_string(),
                })
            });
            *finished.lock() = Some(result);
            let _ = done_tx.send(true);
        });
        *self.run.lock() = Some(Run {
            stop: stop_tx,
            done: done_rx,
            outcome,
        });
        Ok(())
    }

    /// Whether a background run is going on.
    #[napi(getter)]
    pub fn running(&self) -> bool {
        self.run.lock().as_ref().is_some_and(|r| !*r.done.borrow())
    }

    /// Waits until the background run, if any, has ended; rejects with its error if it
    /// failed. A pending wait keeps Node's event loop alive: the package holds one while the
    /// monitor runs.
    #[napi]
    pub async fn wait_stopped(&self) -> napi::Result<()> {
        let (mut done, outcome) = match self.run.lock().as_ref() {
            Some(r) => (r.done.clone(), r.outcome.clone()),
            None => return Ok(()),
        };
        let _ = done.wait_for(|d| *d).await;
        let result = outcome.lock().take().unwrap_or(Ok(()));
        result.js()
    }

    /// Asks the background run to stop gracefully and waits for it (states written, outbox
    /// flushed as far as the run does); rejects with the run's error if it failed.
    #[napi]
    pub async fn stop(&self) -> napi::Result<()> {
        let (mut done, outcome) = match self.run.lock().as_ref() {
            Some(r) => {
                r.stop.send_replace(true);
                (r.done.clone(), r.outcome.clone())
            }
            None => return Ok(()),
        };
        let _ = done.wait_for(|d| *d).await;
        let result = outcome.lock().take().unwrap_or(Ok(()));
        result.js()
    }
}
