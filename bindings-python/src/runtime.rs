//! Where the module's Rust work runs, and how Python waits for it.
//!
//! - One tokio runtime per process ([`runtime`]). A forked child finds its parent's runtime
//!   without its threads: it starts one of its own and leaves the parent's alone (dropping it
//!   would wait for threads that do not exist in the child).
//! - Sync calls ([`block_on`], [`wait`]) wait with the GIL released in short slices, and look at
//!   Python's signals between them, so Ctrl-C raises `KeyboardInterrupt` promptly and cancels
//!   the work.
//! - Async calls ([`future_into_py`]) run on the runtime and complete an asyncio future through
//!   its loop's `call_soon_threadsafe`; cancelling the asyncio future cancels the Rust work.
//! - A monitor belongs to the process that made it ([`check_here`]): its history store's
//!   connection and its clients' connections cannot be shared with a forked child.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use tokio::task::AbortHandle;

use crate::to_py_err;

/// How long a waiting thread stays away from Python before it looks at signals again.
const SLICE: Duration = Duration::from_millis(50);

/// The runtime of one process.
struct ProcessRuntime {
    pid: u32,
    rt: &'static tokio::runtime::Runtime,
}

static RUNTIME: Mutex<Option<ProcessRuntime>> = Mutex::new(None);

/// Locks `m`, whether or not a thread panicked while holding it (the data are plain values).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The runtime every call of the module runs on in this process, started on first use (and
/// again on first use in a forked child).
pub(crate) fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    let pid = std::process::id();
    let mut current = lock(&RUNTIME);
    if let Some(c) = current.as_ref()
        && c.pid == pid
    {
        return Ok(c.rt);
    }
    // A parent's runtime is never dropped here: it is leaked with the rest of the parent's
    // state the child inherited.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("forewarn")
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("starting the tokio runtime: {e}")))?;
    let rt: &'static tokio::runtime::Runtime = Box::leak(Box::new(rt));
    *current = Some(ProcessRuntime { pid, rt });
    Ok(rt)
}

/// Runs `fut` on the module's runtime with the GIL released; maps its error.
///
/// The calling thread waits in slices of 50 ms and looks at Python's signals between them:
/// on Ctrl-C the work is cancelled (the future dropped) and `KeyboardInterrupt` raised.
pub(crate) fn block_on<T: Send>(
    py: Python<'_>,
    fut: impl Future<Output = forewarn::Result<T>> + Send,
) -> PyResult<T> {
    wait(py, fut)?.map_err(|e| to_py_err(py, e))
}

/// Drives `fut` to its end on the module's runtime with the GIL released, looking at Python's
/// signals every 50 ms; a signal handler's exception (`KeyboardInterrupt`) drops `fut` and is
/// returned.
pub(crate) fn wait<T: Send>(py: Python<'_>, fut: impl Future<Output = T> + Send) -> PyResult<T> {
    let rt = runtime()?;
    let mut fut = std::pin::pin!(fut);
    loop {
        let slice = py
            .detach(|| rt.block_on(async { tokio::time::timeout(SLICE, fut.as_mut()).await.ok() }));
        match slice {
            Some(out) => return Ok(out),
            None => py.check_signals()?,
        }
    }
}

/// A timeout in seconds from Python, checked.
pub(crate) fn timeout_of(timeout: Option<f64>) -> PyResult<Option<Duration>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_finite() && t >= 0.0 => Ok(Some(Duration::from_secs_f64(t))),
        Some(t) => Err(PyValueError::new_err(format!(
            "timeout: {t} is not a number of seconds (0 or more), nor None"
        ))),
    }
}

/// An exception of the package's `forewarn.errors` for a failure of the binding itself (core
/// errors go through [`to_py_err`]).
pub(crate) fn package_error(py: Python<'_>, class: &str, message: String) -> PyErr {
    let made = py
        .import("forewarn.errors")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.call1((message.clone(),)));
    match made {
        Ok(value) => PyErr::from_value(value),
        Err(_) => PyRuntimeError::new_err(message),
    }
}

/// Runs `fut` on the module's runtime and returns an asyncio future of the running event loop
/// that completes with `convert(output)` (or the mapped error).
///
/// Cancelling the asyncio future cancels the Rust work. Must be called with an event loop
/// running in this thread (from a coroutine); raises `RuntimeError` otherwise.
pub(crate) fn future_into_py<'py, T, F, C>(
    py: Python<'py>,
    fut: F,
    convert: C,
) -> PyResult<Bound<'py, PyAny>>
where
    T: Send + 'static,
    F: Future<Output = forewarn::Result<T>> + Send + 'static,
    C: for<'a> FnOnce(Python<'a>, T) -> PyResult<Bound<'a, PyAny>> + Send + 'static,
{
    let rt = runtime()?;
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let future = event_loop.call_method0("create_future")?;
    let event_loop = event_loop.unbind();
    let target = future.clone().unbind();
    let task = rt.spawn(async move {
        let out = fut.await;
        // Handing the outcome to Python takes the GIL, which is never waited for on a worker.
        let _ = tokio::task::spawn_blocking(move || {
            Python::attach(|py| {
                let outcome = match out {
                    Ok(v) => convert(py, v).map(Bound::unbind),
                    Err(e) => Err(to_py_err(py, e)),
                };
                let complete = Complete {
                    future: target,
                    outcome: Mutex::new(Some(outcome)),
                };
                // A closed loop has nobody waiting any more.
                let _ = event_loop.call_method1(py, "call_soon_threadsafe", (complete,));
            })
        })
        .await;
    });
    future.call_method1(
        "add_done_callback",
        (CancelOnDone {
            task: task.abort_handle(),
        },),
    )?;
    Ok(future)
}

/// Completes an asyncio future in its loop's thread, unless it is done already (cancelled).
#[pyclass(frozen, module = "forewarn._native")]
struct Complete {
    future: Py<PyAny>,
    outcome: Mutex<Option<PyResult<Py<PyAny>>>>,
}

#[pymethods]
impl Complete {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let future = self.future.bind(py);
        if future.call_method0("done")?.is_truthy()? {
            return Ok(());
        }
        match lock(&self.outcome).take() {
            Some(Ok(value)) => future.call_method1("set_result", (value,))?,
            Some(Err(err)) => future.call_method1("set_exception", (err.into_value(py),))?,
            None => return Ok(()),
        };
        Ok(())
    }
}

/// Cancels the Rust work when its asyncio future is cancelled.
#[pyclass(frozen, module = "forewarn._native")]
struct CancelOnDone {
    task: AbortHandle,
}

#[pymethods]
impl CancelOnDone {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0("cancelled")?.is_truthy()? {
            self.task.abort();
        }
        Ok(())
    }
}

/// Which process made each monitor, by its history store (held weakly: the store's memory,
/// hence the key, is not reused while its entry is here).
static BORN: Mutex<Vec<(Identity, u32)>> = Mutex::new(Vec::new());

/// A monitor's history store, held weakly to tell the monitor apart from others.
pub(crate) type Identity = Weak<dyn forewarn::Store>;

/// The identity of a monitor: its history store's address.
pub(crate) fn key(monitor: &forewarn::Monitor) -> *const () {
    Arc::as_ptr(monitor.store()) as *const ()
}

/// The process that made `monitor`, recording this one when it was not known yet.
fn birthplace(monitor: &forewarn::Monitor) -> u32 {
    let mut born = lock(&BORN);
    let key = key(monitor);
    if let Some((_, pid)) = born
        .iter()
        .find(|(s, _)| Weak::as_ptr(s) as *const () == key)
    {
        return *pid;
    }
    born.retain(|(s, _)| s.strong_count() > 0);
    let pid = std::process::id();
    born.push((Arc::downgrade(monitor.store()), pid));
    pid
}

/// Fails with a clear `ForewarnError` when `monitor` was made in another process (this is a
/// forked child of it).
pub(crate) fn check_here(py: Python<'_>, monitor: &forewarn::Monitor) -> PyResult<()> {
    let born = birthplace(monitor);
    if born == std::process::id() {
        return Ok(());
    }
    Err(package_error(
        py,
        "ForewarnError",
        format!(
            "this monitor was made in process {born}; a forked child must build its own Monitor"
        ),
    ))
}

impl Drop for crate::Monitor {
    fn drop(&mut self) {
        // In a forked child, a parent's monitor is leaked: closing its history store here
        // would act on the parent's database connection and locks.
        if birthplace(&self.inner) != std::process::id() {
            std::mem::forget(self.inner.clone());
        }
    }
}
