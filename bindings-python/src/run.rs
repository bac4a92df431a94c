//! Running a monitor from Python: in the foreground until stopped (`run`), in the background
//! (`start`, `stop`), and the async forms of every monitor call.
//!
//! The monitor runs as one task on the module's runtime (core's `forewarn::cluster::run`: it
//! runs alone on a SQLite history, and leads or stands by on a shared PostgreSQL one); the
//! binding only keeps, per monitor, the handle that stops it and the outcome of its run.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use forewarn::{Error, IncidentFilter};
use pyo3::exceptions::PyTimeoutError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tokio::sync::watch;

use crate::runtime::{Identity, block_on, check_here, future_into_py, key, lock, timeout_of, wait};
use crate::{Monitor, incident_to_py, load_config, results_to_py, serde_to_py, to_py_err};

/// One run of a monitor.
struct Run {
    /// The process it runs in (a forked child sees its parent's runs, which it cannot stop).
    pid: u32,
    /// Set to ask the run to stop gracefully.
    stop: watch::Sender<bool>,
    /// Becomes true once the run has ended (states written).
    done: watch::Receiver<bool>,
    /// The run's outcome, until someone collects it.
    outcome: Mutex<Option<forewarn::Result<()>>>,
}

impl Run {
    fn finished(&self) -> bool {
        *self.done.borrow()
    }

    /// Waits until the run has ended.
    async fn ended(&self) {
        let mut done = self.done.clone();
        // An error means the task is gone: it has ended too.
        let _ = done.wait_for(|d| *d).await;
    }
}

/// The current (or last, uncollected) run of each monitor, by the monitor's identity.
static RUNS: Mutex<Vec<(Identity, Arc<Run>)>> = Mutex::new(Vec::new());

fn run_of(monitor: &forewarn::Monitor) -> Option<Arc<Run>> {
    let key = key(monitor);
    lock(&RUNS)
        .iter()
        .find(|(s, _)| Weak::as_ptr(s) as *const () == key)
        .map(|(_, r)| r.clone())
}

/// Starts `monitor` in the background: claims its history first, so a history in use by
/// another running monitor is refused at once; refuses a monitor that is already running.
async fn start(monitor: forewarn::Monitor) -> forewarn::Result<Arc<Run>> {
    monitor.store().claim().await?;
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(false);
    let run = Arc::new(Run {
        pid: std::process::id(),
        stop: stop_tx,
        done: done_rx,
        outcome: Mutex::new(None),
    });
    {
        let mut runs = lock(&RUNS);
        let key = key(&monitor);
        // Forget the runs of monitors that are gone, and this one's last run if it has ended.
        runs.retain(|(s, r)| {
            s.strong_count() > 0 && !(Weak::as_ptr(s) as *const () == key && r.finished())
        });
        if runs
            .iter()
            .any(|(s, _)| Weak::as_ptr(s) as *const () == key)
        {
            return Err(Error::Conflict(
                "this monitor is already running: stop() it before running it again".into(),
            ));
        }
        runs.push((Arc::downgrade(monitor.store()), run.clone()));
    }
    let task = tokio::spawn(async move {
        // Alone on its history it runs; sharing one (PostgreSQL), it leads or stands by.
        forewarn::cluster::run(&monitor, async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        })
        .await
    });
    let finished = run.clone();
    tokio::spawn(async move {
        let outcome = task.await.unwrap_or_else(|e| {
            Err(Error::Stopped {
                task: "the monitor".into(),
                message: e.to_string(),
            })
        });
        *lock(&finished.outcome) = Some(outcome);
        let _ = done_tx.send(true);
    });
    Ok(run)
}

/// Takes the outcome of an ended run (once: later callers get `Ok`), and forgets the run.
fn collect(run: &Arc<Run>) -> forewarn::Result<()> {
    lock(&RUNS).retain(|(_, r)| !Arc::ptr_eq(r, run));
    lock(&run.outcome).take().unwrap_or(Ok(()))
}

/// Asks `monitor`'s run, if any, to stop gracefully; does not wait.
fn request_stop_of(monitor: &forewarn::Monitor) -> Option<Arc<Run>> {
    let run = run_of(monitor)?;
    run.stop.send_replace(true);
    Some(run)
}

/// The error of a stop that did not end in time.
fn not_stopped(timeout: Duration) -> PyErr {
    PyTimeoutError::new_err(format!(
        "the monitor did not stop within {:.3} s; it goes on stopping in the background",
        timeout.as_secs_f64()
    ))
}

/// Runs the monitor until it is stopped (`stop` or `request_stop` from elsewhere); on a
/// signal handler's exception (Ctrl-C's `KeyboardInterrupt`) stops it gracefully, waits for
/// that, and raises the exception. Raises the monitor's failure.
#[pyfunction]
fn run(py: Python<'_>, monitor: &Bound<'_, Monitor>) -> PyResult<()> {
    let monitor = &monitor.get().inner;
    check_here(py, monitor)?;
    let run = block_on(py, start(monitor.clone()))?;
    if let Err(interrupted) = wait(py, run.ended()) {
        run.stop.send_replace(true);
        // A second Ctrl-C stops the waiting (the monitor goes on stopping meanwhile).
        if wait(py, run.ended()).is_ok() {
            let _ = collect(&run);
        }
        return Err(interrupted);
    }
    collect(&run).map_err(|e| to_py_err(py, e))
}

/// Starts the monitor in the background and returns at once.
#[pyfunction]
fn start_background(py: Python<'_>, monitor: &Bound<'_, Monitor>) -> PyResult<()> {
    let monitor = &monitor.get().inner;
    check_here(py, monitor)?;
    block_on(py, start(monitor.clone()))?;
    Ok(())
}

/// Asks the monitor's run to stop gracefully and returns at once; whether it was running.
#[pyfunction]
fn request_stop(monitor: &Bound<'_, Monitor>) -> bool {
    request_stop_of(&monitor.get().inner).is_some()
}

/// Whether the monitor is running (started and not yet ended).
#[pyfunction]
fn is_running(monitor: &Bound<'_, Monitor>) -> bool {
    run_of(&monitor.get().inner).is_some_and(|r| !r.finished())
}

/// Stops the monitor gracefully and waits for that (at most `timeout` seconds: then
/// `TimeoutError`). Raises the run's failure, if it failed. Nothing to do when not running.
#[pyfunction]
#[pyo3(signature = (monitor, timeout=None))]
fn stop(py: Python<'_>, monitor: &Bound<'_, Monitor>, timeout: Option<f64>) -> PyResult<()> {
    let monitor = &monitor.get().inner;
    let limit = timeout_of(timeout)?;
    check_here(py, monitor)?;
    let Some(run) = request_stop_of(monitor) else {
        return Ok(());
    };
    let ended = match limit {
        Some(limit) => wait(py, async {
            tokio::time::timeout(limit, run.ended()).await.is_ok()
        })?,
        None => wait(py, run.ended()).map(|()| true)?,
    };
    if !ended {
        return Err(not_stopped(limit.unwrap_or_default()));
    }
    collect(&run).map_err(|e| to_py_err(py, e))
}

/// Stops every monitor running in the background gracefully, waiting at most `timeout`
/// seconds in all; the package calls it when the interpreter exits, so states are written.
#[pyfunction]
#[pyo3(signature = (timeout=None))]
fn stop_all(py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
    let limit = timeout_of(timeout)?;
    let pid = std::process::id();
    let runs: Vec<Arc<Run>> = lock(&RUNS)
        .iter()
        .filter(|(_, r)| r.pid == pid)
        .map(|(_, r)| r.clone())
        .collect();
    for run in &runs {
        run.stop.send_replace(true);
    }
    let all_ended = async {
        for run in &runs {
            run.ended().await;
        }
    };
    match limit {
        Some(limit) => {
            wait(py, async {
                tokio::time::timeout(limit, all_ended).await.is_ok()
            })?;
        }
        None => wait(py, all_ended)?,
    }
    Ok(())
}

/// Async `start_background`.
#[pyfunction]
fn start_async<'py>(py: Python<'py>, monitor: &Bound<'py, Monitor>) -> PyResult<Bound<'py, PyAny>> {
    let monitor = monitor.get().inner.clone();
    check_here(py, &monitor)?;
    future_into_py(
        py,
        async move { start(monitor).await.map(|_| ()) },
        |py, ()| Ok(py.None().into_bound(py)),
    )
}

/// Waits (asynchronously) for the monitor's run to end; raises its failure. Cancelling the
/// wait leaves the run going.
#[pyfunction]
fn wait_async<'py>(py: Python<'py>, monitor: &Bound<'py, Monitor>) -> PyResult<Bound<'py, PyAny>> {
    let monitor = monitor.get().inner.clone();
    check_here(py, &monitor)?;
    let run = run_of(&monitor);
    future_into_py(
        py,
        async move {
            let Some(run) = run else { return Ok(()) };
            run.ended().await;
            collect(&run)
        },
        |py, ()| Ok(py.None().into_bound(py)),
    )
}

/// Async `stop`.
#[pyfunction]
#[pyo3(signature = (monitor, timeout=None))]
fn stop_async<'py>(
    py: Python<'py>,
    monitor: &Bound<'py, Monitor>,
    timeout: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    let monitor = monitor.get().inner.clone();
    let limit = timeout_of(timeout)?;
    check_here(py, &monitor)?;
    let run = request_stop_of(&monitor);
    future_into_py(
        py,
        async move {
            let Some(run) = run else { return Ok(true) };
            match limit {
                Some(limit) => {
                    if tokio::time::timeout(limit, run.ended()).await.is_err() {
                        return Ok(false);
                    }
                }
                None => run.ended().await,
            }
            collect(&run).map(|()| true)
        },
        move |py, stopped| {
            if stopped {
                Ok(py.None().into_bound(py))
            } else {
                Err(not_stopped(limit.unwrap_or_default()))
            }
        },
    )
}

/// Async `Monitor.from_config`.
#[pyfunction]
fn from_config_async(py: Python<'_>, source: String, is_path: bool) -> PyResult<Bound<'_, PyAny>> {
    future_into_py(
        py,
        async move {
            let config = tokio::task::spawn_blocking(move || load_config(&source, is_path))
                .await
                .map_err(|e| Error::Stopped {
                    task: "reading the config".into(),
                    message: e.to_string(),
                })??;
            forewarn::Monitor::from_config(&config).await
        },
        |py, inner| {
            check_here(py, &inner)?;
            Ok(Bound::new(py, Monitor { inner })?.into_any())
        },
    )
}

/// Async `Monitor.run_once`.
#[pyfunction]
fn run_once_async<'py>(
    py: Python<'py>,
    monitor: &Bound<'py, Monitor>,
) -> PyResult<Bound<'py, PyAny>> {
    let monitor = Monitor {
        inner: monitor.get().inner.clone(),
    };
    check_here(py, &monitor.inner)?;
    future_into_py(
        py,
        async move { monitor.run_once_results().await },
        |py, results| Ok(results_to_py(py, &results)?.into_any()),
    )
}

/// Async `Monitor.status`.
#[pyfunction]
fn status_async<'py>(
    py: Python<'py>,
    monitor: &Bound<'py, Monitor>,
) -> PyResult<Bound<'py, PyAny>> {
    let monitor = Monitor {
        inner: monitor.get().inner.clone(),
    };
    check_here(py, &monitor.inner)?;
    future_into_py(
        py,
        async move {
            let status = monitor.inner.status().await?;
            let results = monitor.results(status.checks.clone()).await?;
            Ok((status, results))
        },
        |py, (status, results)| {
            let d = PyDict::new(py);
            d.set_item("checks", results_to_py(py, &results)?)?;
            d.set_item("sinks", serde_to_py(py, &status.sinks)?)?;
            d.set_item("outbox", serde_to_py(py, &status.outbox)?)?;
            d.set_item("scheduler", serde_to_py(py, &status.scheduler)?)?;
            Ok(d.into_any())
        },
    )
}

/// Async `Monitor.incidents`.
#[pyfunction]
#[pyo3(signature = (monitor, active_only, check, limit))]
fn incidents_async<'py>(
    py: Python<'py>,
    monitor: &Bound<'py, Monitor>,
    active_only: bool,
    check: Option<String>,
    limit: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let monitor = monitor.get().inner.clone();
    check_here(py, &monitor)?;
    let filter = IncidentFilter {
        active_only,
        check,
        limit,
    };
    future_into_py(
        py,
        async move { monitor.incidents(&filter).await },
        |py, incidents| {
            let list = pyo3::types::PyList::empty(py);
            for i in &incidents {
                list.append(incident_to_py(py, i)?)?;
            }
            Ok(list.into_any())
        },
    )
}

/// Async `Monitor.acknowledge`.
#[pyfunction]
#[pyo3(signature = (monitor, id, by, note))]
fn acknowledge_async<'py>(
    py: Python<'py>,
    monitor: &Bound<'py, Monitor>,
    id: i64,
    by: String,
    note: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let monitor = monitor.get().inner.clone();
    check_here(py, &monitor)?;
    future_into_py(
        py,
        async move { monitor.acknowledge(id, &by, note.as_deref()).await },
        |py, incident| Ok(incident_to_py(py, &incident)?.into_any()),
    )
}

/// Async `Monitor.note`.
#[pyfunction]
fn note_async<'py>(
    py: Python<'py>,
    monitor: &Bound<'py, Monitor>,
    id: i64,
    by: String,
    text: String,
) -> PyResult<Bound<'py, PyAny>> {
    let monitor = monitor.get().inner.clone();
    check_here(py, &monitor)?;
    future_into_py(
        py,
        async move { monitor.note(id, &by, &text).await },
        |py, incident| Ok(incident_to_py(py, &incident)?.into_any()),
    )
}

/// Adds this file's functions to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(start_background, m)?)?;
    m.add_function(wrap_pyfunction!(request_stop, m)?)?;
    m.add_function(wrap_pyfunction!(is_running, m)?)?;
    m.add_function(wrap_pyfunction!(stop, m)?)?;
    m.add_function(wrap_pyfunction!(stop_all, m)?)?;
    m.add_function(wrap_pyfunction!(start_async, m)?)?;
    m.add_function(wrap_pyfunction!(wait_async, m)?)?;
    m.add_function(wrap_pyfunction!(stop_async, m)?)?;
    m.add_function(wrap_pyfunction!(from_config_async, m)?)?;
    m.add_function(wrap_pyfunction!(run_once_async, m)?)?;
    m.add_function(wrap_pyfunction!(status_async, m)?)?;
    m.add_function(wrap_pyfunction!(incidents_async, m)?)?;
    m.add_function(wrap_pyfunction!(acknowledge_async, m)?)?;
    m.add_function(wrap_pyfunction!(note_async, m)?)?;
    Ok(())
}
