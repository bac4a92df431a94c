//! A subscription to a monitor's events (core's `Monitor::subscribe`), read from Python one
//! event at a time, waiting with the GIL released (sync) or on the asyncio loop (async).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use forewarn::Event;
use pyo3::exceptions::PyTimeoutError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Mutex, broadcast, watch};

use crate::runtime::{check_here, future_into_py, package_error, timeout_of, wait};
use crate::{Monitor, incident_to_py, serde_to_py};

/// A subscription to a monitor's events; the package's `forewarn.Events` wraps it.
#[pyclass(frozen, module = "forewarn._native")]
pub(crate) struct Subscription {
    rx: Arc<Mutex<broadcast::Receiver<Event>>>,
    /// Events dropped because this subscriber fell behind, not yet reported.
    missed: Arc<AtomicU64>,
    closed: watch::Sender<bool>,
    /// The process that subscribed.
    pid: u32,
}

/// What waiting for the next event gave.
enum Next {
    Event(Box<Event>, u64),
    Closed,
    TimedOut,
}

/// Waits for the next event, counting the ones missed by lagging behind.
async fn next(
    rx: Arc<Mutex<broadcast::Receiver<Event>>>,
    missed: Arc<AtomicU64>,
    mut closed: watch::Receiver<bool>,
    timeout: Option<Duration>,
) -> Next {
    let receive = async {
        let mut rx = rx.lock().await;
        loop {
            match rx.recv().await {
                Ok(event) => {
                    return Next::Event(Box::new(event), missed.swap(0, Ordering::Relaxed));
                }
                Err(RecvError::Lagged(n)) => {
                    missed.fetch_add(n, Ordering::Relaxed);
                }
                Err(RecvError::Closed) => return Next::Closed,
            }
        }
    };
    let bounded = async {
        match timeout {
            Some(t) => tokio::time::timeout(t, receive)
                .await
                .unwrap_or(Next::TimedOut),
            None => receive.await,
        }
    };
    tokio::select! {
        n = bounded => n,
        _ = closed.wait_for(|c| *c) => Next::Closed,
    }
}

/// An event as the dict the package's event classes are built from; `None` once closed.
fn next_to_py<'py>(py: Python<'py>, next: Next) -> PyResult<Bound<'py, PyAny>> {
    let (event, missed) = match next {
        Next::Event(event, missed) => (event, missed),
        Next::Closed => return Ok(py.None().into_bound(py)),
        Next::TimedOut => {
            return Err(PyTimeoutError::new_err(
                "no event from the monitor within the timeout",
            ));
        }
    };
    let d = PyDict::new(py);
    d.set_item("missed", missed)?;
    let (kind, incident) = match &*event {
        Event::Transition {
            check,
            transition,
            at,
        } => {
            d.set_item("event", "transition")?;
            d.set_item("check", check)?;
            d.set_item("transition", serde_to_py(py, transition)?)?;
            d.set_item("at", *at)?;
            return Ok(d.into_any());
        }
        Event::IncidentOpened(i) => ("opened", i),
        Event::IncidentUpdated(i) => ("updated", i),
        Event::IncidentResolved(i) => ("resolved", i),
    };
    d.set_item("event", "incident")?;
    d.set_item("kind", kind)?;
    d.set_item("incident", incident_to_py(py, incident)?)?;
    Ok(d.into_any())
}

impl Subscription {
    fn check_here(&self, py: Python<'_>) -> PyResult<()> {
        if self.pid == std::process::id() {
            return Ok(());
        }
        Err(package_error(
            py,
            "ForewarnError",
            format!(
                "this subscription was made in process {}; a forked child must build its own \
                 Monitor and subscribe to it",
                self.pid
            ),
        ))
    }

    fn waiting(&self, timeout: Option<Duration>) -> impl Future<Output = Next> + Send + 'static {
        next(
            self.rx.clone(),
            self.missed.clone(),
            self.closed.subscribe(),
            timeout,
        )
    }
}

#[pymethods]
impl Subscription {
    /// The next event as a dict, waiting at most `timeout` seconds (`TimeoutError`) or for
    /// ever; `None` once the subscription is closed or the monitor is gone.
    #[pyo3(signature = (timeout=None))]
    fn next<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        let timeout = timeout_of(timeout)?;
        self.check_here(py)?;
        let next = wait(py, self.waiting(timeout))?;
        next_to_py(py, next)
    }

    /// Async `next`: an awaitable of the next event's dict, or `None` once closed.
    #[pyo3(signature = (timeout=None))]
    fn next_async<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let timeout = timeout_of(timeout)?;
        self.check_here(py)?;
        let waiting = self.waiting(timeout);
        future_into_py(py, async move { Ok(waiting.await) }, next_to_py)
    }

    /// Ends the subscription: waiting calls return `None`, now and later.
    fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Whether the subscription is closed.
    #[getter]
    fn closed(&self) -> bool {
        *self.closed.borrow()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // A parent's subscription in a forked child is leaked, like the parent's monitor.
        if self.pid != std::process::id() {
            std::mem::forget(self.rx.clone());
        }
    }
}

/// Subscribes to the monitor's events from now on.
#[pyfunction]
fn subscribe(py: Python<'_>, monitor: &Bound<'_, Monitor>) -> PyResult<Subscription> {
    let monitor = &monitor.get().inner;
    check_here(py, monitor)?;
    Ok(Subscription {
        rx: Arc::new(Mutex::new(monitor.subscribe())),
        missed: Arc::new(AtomicU64::new(0)),
        closed: watch::channel(false).0,
        pid: std::process::id(),
    })
}

/// Adds this file's class and function to the native module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Subscription>()?;
    m.add_function(wrap_pyfunction!(subscribe, m)?)?;
    Ok(())
}
