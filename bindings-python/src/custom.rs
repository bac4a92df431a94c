//! Probes and sinks written in Python, as the core's [`Probe`] and [`AlertSink`].
//!
//! A Python method is never called on a tokio worker: it is started on the blocking pool, by a
//! drainer that runs queued calls in batches under one hold of the GIL ([`crate::drain`]). A
//! plain method's result comes back from there; a coroutine
//! (an `async def` method) is handed to the package's own asyncio event loop, which runs in a
//! thread of its own, and its result comes back through a oneshot channel the tokio task awaits.
//! The package's `forewarn._custom` module does the Python half: it builds the arguments, calls
//! the method, checks what it returns and formats a raised exception with its traceback, and
//! answers a plain tuple: `("ok", value)` or `("error", message)`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use forewarn::{AlertSink, CheckContext, Error, Notification, Observation, Probe, Status};
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule, PyTuple};
use tokio::sync::oneshot;

/// What a Python call answered, converted while the GIL was held.
type Answer<T> = Result<T, String>;

/// A probe's answer: status, summary, metrics `(name, value, unit)` and latency in seconds.
type ProbeParts = (String, String, Vec<(String, f64, String)>, Option<f64>);

/// Converts an answer's value while the GIL is held, and hands it to the waiting task.
type Deliver = Box<dyn for<'py> FnOnce(Answer<Bound<'py, PyAny>>) + Send>;

/// The callable the Python half calls with a coroutine's answer, on the event loop's thread.
#[pyclass(frozen, module = "forewarn._native")]
struct Completion {
    deliver: Mutex<Option<Deliver>>,
}

impl Completion {
    fn complete(&self, answer: Answer<Bound<'_, PyAny>>) {
        if let Some(deliver) = self.deliver.lock().take() {
            deliver(answer);
        }
    }
}

#[pymethods]
impl Completion {
    /// Hands over `("ok", value)` or `("error", message)`; later calls are ignored.
    fn __call__(&self, answer: &Bound<'_, PyAny>) {
        self.complete(split_answer(answer));
    }
}

/// `("ok", value)` → `Ok(value)`; `("error", message)` → `Err(message)`.
fn split_answer<'py>(answer: &Bound<'py, PyAny>) -> Answer<Bound<'py, PyAny>> {
    let parsed = answer
        .cast::<PyTuple>()
        .map_err(PyErr::from)
        .and_then(|t| Ok((t.get_item(0)?.extract::<String>()?, t.get_item(1)?)));
    match parsed {
        Ok((tag, value)) if tag == "ok" => Ok(value),
        Ok((_, message)) => Err(message
            .extract::<String>()
            .unwrap_or_else(|_| "failed".to_owned())),
        Err(e) => Err(format!("the package's answer could not be read: {e}")),
    }
}

/// Cancels a coroutine still running on the event loop when the task awaiting it is dropped
/// (the check's timeout), from the blocking pool.
struct CancelOnDrop(Option<Py<PyAny>>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(future) = self.0.take()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            handle.spawn_blocking(move || {
                Python::attach(|py| {
                    let _ = future.call_method0(py, "cancel");
                })
            });
        }
    }
}

/// The package's `forewarn._custom` module, imported once.
static CUSTOM: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// Calls `forewarn._custom.<helper>(*args, done)` off the tokio workers and waits for its
/// answer, converted by `convert` while the GIL is held: from a drainer of the blocking pool
/// ([`crate::drain`], calls batched under one GIL hold) for a plain method, from the event
/// loop's thread (through `done`) for a coroutine.
async fn call_python<T: Send + 'static>(
    helper: &'static str,
    args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> + Send + 'static,
    convert: for<'py> fn(Bound<'py, PyAny>) -> Answer<T>,
) -> Answer<T> {
    let (tx, rx) = oneshot::channel::<Answer<T>>();
    let deliver: Deliver = Box::new(move |answer| {
        // The waiting task may be gone (timed out): nobody to tell.
        let _ = tx.send(answer.and_then(convert));
    });
    let started = crate::drain::run(move |py| -> Option<Py<PyAny>> {
        let done = match Py::new(
            py,
            Completion {
                deliver: Mutex::new(Some(deliver)),
            },
        ) {
            Ok(done) => done,
            // The sender is dropped with it: the task hears "ended without an answer".
            Err(_) => return None,
        };
        let run = || -> PyResult<Option<Py<PyAny>>> {
            let mut args = args(py)?;
            args.push(done.bind(py).clone().into_any());
            let module =
                CUSTOM.get_or_try_init(py, || py.import("forewarn._custom").map(Bound::unbind))?;
            let started = module
                .bind(py)
                .getattr(helper)?
                .call1(PyTuple::new(py, args)?)?;
            // ("pending", future) for a coroutine; else the answer itself.
            let t = started.cast::<PyTuple>()?;
            if t.get_item(0)?.extract::<String>()? == "pending" {
                return Ok(Some(t.get_item(1)?.unbind()));
            }
            done.get().complete(split_answer(&started));
            Ok(None)
        };
        match run() {
            Ok(future) => future,
            Err(e) => {
                done.get().complete(Err(format_err(py, &e)));
                None
            }
        }
    })
    .await;
    let mut cancel = CancelOnDrop(match started {
        Some(future) => future,
        None => return Err("the Python call was dropped before it ran".to_owned()),
    });
    let answer = rx
        .await
        .unwrap_or_else(|_| Err("the Python call ended without an answer".to_owned()));
    // Finished: nothing to cancel (the reference is released when the GIL is next held).
    cancel.0 = None;
    answer
}

/// A Python exception raised outside the user's method, with its traceback.
fn format_err(py: Python<'_>, e: &PyErr) -> String {
    let formatted = py.import("traceback").and_then(|tb| {
        tb.getattr("format_exception")?
            .call1((e.get_type(py), e.value(py), e.traceback(py)))?
            .extract::<Vec<String>>()
    });
    match formatted {
        Ok(lines) => lines.concat().trim_end().to_owned(),
        Err(_) => e.to_string(),
    }
}

/// A probe written in Python (an object with a `check(context)` method, plain or `async`).
pub struct PyProbe {
    name: String,
    object: Arc<Py<PyAny>>,
    kind: String,
    target: String,
}

impl PyProbe {
    /// Wraps `object`, the probe of check `name`; `kind` and `target` are read once, here.
    pub fn new(name: String, object: Py<PyAny>, kind: String, target: String) -> Self {
        Self {
            name,
            object: Arc::new(object),
            kind,
            target,
        }
    }
}

impl fmt::Debug for PyProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PyProbe")
            .field("check", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn parse_status(s: &str) -> Option<Status> {
    Some(match s {
        "ok" => Status::Ok,
        "warning" => Status::Warning,
        "critical" => Status::Critical,
        "unknown" => Status::Unknown,
        _ => return None,
    })
}

#[async_trait]
impl Probe for PyProbe {
    async fn check(&self, cx: &CheckContext) -> Observation {
        let at = cx.now();
        let object = self.object.clone();
        let check = cx.check.to_string();
        let timeout = cx.timeout.as_secs_f64();
        let answer = call_python(
            "_run_probe",
            move |py| {
                Ok(vec![
                    object.bind(py).clone(),
                    check.into_pyobject(py)?.into_any(),
                    timeout.into_pyobject(py)?.into_any(),
                    at.into_pyobject(py)?.into_any(),
                ])
            },
            |value| {
                value
                    .extract::<ProbeParts>()
                    .map_err(|e| format!("the probe's answer could not be read: {e}"))
            },
        )
        .await;
        match answer {
            Ok((status, summary, metrics, latency)) => {
                let Some(status) = parse_status(&status) else {
                    return Observation::new(
                        Status::Unknown,
                        format!("probe `{}` returned the status `{status}`", self.name),
                        at,
                    );
                };
                let mut obs = Observation::new(status, summary, at);
                for (name, value, unit) in metrics {
                    obs = obs.with_metric(name, value, unit);
                }
                if let Some(l) = latency.and_then(|l| Duration::try_from_secs_f64(l).ok()) {
                    obs = obs.with_latency(l);
                }
                obs
            }
            Err(message) => Observation::new(Status::Unknown, message, at),
        }
    }

    fn kind(&self) -> &str {
        &self.kind
    }

    fn target(&self) -> String {
        self.target.clone()
    }
}

/// A sink written in Python (an object with `send(notification)` and optionally
/// `healthcheck()`, plain or `async`).
pub struct PySink {
    name: String,
    object: Arc<Py<PyAny>>,
}

impl PySink {
    /// Wraps `object`, the sink named `name`.
    pub fn new(name: String, object: Py<PyAny>) -> Self {
        Self {
            name,
            object: Arc::new(object),
        }
    }

    fn error(&self, message: String) -> Error {
        Error::Sink {
            sink: self.name.clone(),
            message,
            retryable: true,
        }
    }
}

impl fmt::Debug for PySink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PySink")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A notification as the dict the package's `Notification` is built from.
fn notification_to_py<'py>(py: Python<'py>, n: &Notification) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", &n.id)?;
    d.set_item("sink", &n.sink)?;
    d.set_item("key", &n.key)?;
    d.set_item("kind", n.kind.as_str())?;
    d.set_item("incident_id", n.incident_id)?;
    d.set_item("check", &n.check)?;
    d.set_item("group", n.group.as_deref())?;
    d.set_item("status", n.status.as_str())?;
    d.set_item("subject", &n.subject)?;
    d.set_item("summary", &n.summary)?;
    d.set_item("opened_at", n.opened_at)?;
    d.set_item("at", n.at)?;
    let labels: BTreeMap<&str, &str> = n
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    d.set_item("labels", labels)?;
    match &n.broadcast {
        Some(b) => {
            let bd = PyDict::new(py);
            bd.set_item("audience", &b.audience)?;
            bd.set_item("thread", &b.thread)?;
            bd.set_item("first", b.first)?;
            bd.set_item("subject", &b.subject)?;
            bd.set_item("text", &b.text)?;
            bd.set_item("html", &b.html)?;
            d.set_item("broadcast", bd)?;
        }
        None => d.set_item("broadcast", py.None())?,
    }
    Ok(d)
}

#[async_trait]
impl AlertSink for PySink {
    async fn send(&self, notification: &Notification) -> forewarn::Result<()> {
        let object = self.object.clone();
        let notification = notification.clone();
        call_python(
            "_send",
            move |py| {
                Ok(vec![
                    object.bind(py).clone(),
                    notification_to_py(py, &notification)?.into_any(),
                ])
            },
            |_| Ok(()),
        )
        .await
        .map(|_| ())
        .map_err(|m| self.error(m))
    }

    async fn healthcheck(&self) -> forewarn::Result<()> {
        let object = self.object.clone();
        call_python(
            "_healthcheck",
            move |py| Ok(vec![object.bind(py).clone()]),
            |_| Ok(()),
        )
        .await
        .map(|_| ())
        .map_err(|m| self.error(m))
    }
}
