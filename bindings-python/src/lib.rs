//! Python bindings: the private native module `forewarn._native`. The idiomatic package lives in
//! `python/forewarn`; this crate only converts between Python and core types: every decision is
//! the core's, and every core error becomes a Python exception in one place ([`to_py_err`]).
//!
//! The Rust work runs on one tokio runtime owned by the module, with the GIL released, so other
//! Python threads run while a check waits on the network.

use std::path::Path;

mod builder;
mod custom;
mod drain;
mod probes;

use forewarn::{
    Acknowledgement, CheckStatus, Config, Error, Incident, IncidentFilter, IncidentUpdate,
};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

mod events;
mod run;
mod runtime;
mod tickets;

#[allow(unused_imports)] // the names the module's code has always used
pub(crate) use runtime::{block_on, runtime};

/// The one mapping of core errors to the exceptions of `forewarn.errors`.
fn to_py_err(py: Python<'_>, e: Error) -> PyErr {
    match build_py_err(py, &e) {
        Ok(err) => err,
        // The package's error module is missing (the native module imported on its own).
        Err(import_error) => {
            let err = PyRuntimeError::new_err(e.to_string());
            err.set_cause(py, Some(import_error));
            err
        }
    }
}

fn build_py_err(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    let class = match e {
        Error::Config { .. } => "ConfigError",
        Error::Invalid { .. } | Error::NoUsableRows { .. } => "InvalidArgumentError",
        Error::NotFound { .. } => "NotFoundError",
        Error::Store(_) => "StoreError",
        Error::Conflict(_) => "ConflictError",
        Error::Sink { .. } | Error::RateLimited { .. } => "SinkError",
        Error::Io { .. } => "ForewarnIOError",
        _ => "ForewarnError",
    };
    let class = py.import("forewarn.errors")?.getattr(class)?;
    let message = e.to_string();
    let value = match e {
        Error::Config {
            file,
            line,
            col,
            key,
            ..
        } => {
            let kwargs = PyDict::new(py);
            kwargs.set_item("file", file.display().to_string())?;
            kwargs.set_item("line", *line)?;
            kwargs.set_item("column", *col)?;
            kwargs.set_item("key", key.as_deref())?;
            class.call((message,), Some(&kwargs))?
        }
        _ => class.call1((message,))?,
    };
    Ok(PyErr::from_value(value))
}

/// Reads a config: from the file at `source` when `is_path`, else parses `source` as TOML text
/// (named `<string>` in errors).
fn load_config(source: &str, is_path: bool) -> forewarn::Result<Config> {
    if is_path {
        Config::from_file(source)
    } else {
        Config::parse(source, Path::new("<string>"))
    }
}

/// The library version.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Validates a config (a file when `is_path`, else TOML text); returns its number of checks.
#[pyfunction]
fn validate_config(py: Python<'_>, source: &str, is_path: bool) -> PyResult<usize> {
    py.detach(|| load_config(source, is_path))
        .map(|c| c.checks.len())
        .map_err(|e| to_py_err(py, e))
}

/// A serde JSON value as plain Python objects (dict, list, str, int, float, bool, None).
fn json_to_py<'py>(py: Python<'py>, v: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => s.into_pyobject(py)?.into_any(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for item in a {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(o) => {
            let dict = PyDict::new(py);
            for (k, item) in o {
                dict.set_item(k, json_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// Any serializable core value as plain Python objects.
fn serde_to_py<'py>(py: Python<'py>, v: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let value = serde_json::to_value(v)
        .map_err(|e| PyRuntimeError::new_err(format!("converting to Python: {e}")))?;
    json_to_py(py, &value)
}

/// A check's state, with the metrics of its latest observation, as the dict the package's
/// `CheckResult` is built from.
fn check_to_py<'py>(
    py: Python<'py>,
    c: &CheckStatus,
    metrics: Option<&forewarn::Observation>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", &c.name)?;
    d.set_item("kind", &c.kind)?;
    d.set_item("target", &c.target)?;
    d.set_item("group", c.group.as_deref())?;
    d.set_item("status", c.status.as_str())?;
    d.set_item("summary", &c.summary)?;
    d.set_item("latency", c.latency.as_secs_f64())?;
    d.set_item("at", c.last_checked)?;
    d.set_item("alert", serde_to_py(py, &c.alert)?)?;
    d.set_item("flapping", c.flapping)?;
    d.set_item("incident", c.incident)?;
    let m = PyDict::new(py);
    for (name, metric) in metrics.iter().flat_map(|o| o.metrics.iter()) {
        m.set_item(name.as_ref(), (metric.value, metric.unit.as_ref()))?;
    }
    d.set_item("metrics", m)?;
    match &c.reading {
        Some(r) => d.set_item("reading", serde_to_py(py, r.as_ref())?)?,
        None => d.set_item("reading", py.None())?,
    }
    Ok(d)
}

fn update_to_py<'py>(py: Python<'py>, u: &IncidentUpdate) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("seq", u.seq)?;
    d.set_item("at", u.at)?;
    d.set_item("kind", serde_to_py(py, &u.kind)?)?;
    d.set_item("status", u.status.as_str())?;
    d.set_item("message", &u.message)?;
    d.set_item("by", u.by.as_deref())?;
    Ok(d)
}

fn ack_to_py<'py>(py: Python<'py>, a: &Acknowledgement) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("by", &a.by)?;
    d.set_item("at", a.at)?;
    d.set_item("note", a.note.as_deref())?;
    Ok(d)
}

/// An incident as the dict the package's `Incident` is built from.
fn incident_to_py<'py>(py: Python<'py>, i: &Incident) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", i.id)?;
    d.set_item("check", &i.check)?;
    d.set_item("group", i.group.as_deref())?;
    d.set_item("policy", &i.policy)?;
    d.set_item("state", i.state.as_str())?;
    d.set_item("severity", i.severity.as_str())?;
    d.set_item("status", i.status.as_str())?;
    d.set_item("summary", &i.summary)?;
    d.set_item("flapping", i.flapping)?;
    d.set_item("opened_at", i.opened_at)?;
    d.set_item("resolved_at", i.resolved_at)?;
    match &i.acknowledgement {
        Some(a) => d.set_item("acknowledgement", ack_to_py(py, a)?)?,
        None => d.set_item("acknowledgement", py.None())?,
    }
    let updates = PyList::empty(py);
    for u in &i.updates {
        updates.append(update_to_py(py, u)?)?;
    }
    d.set_item("updates", updates)?;
    Ok(d)
}

/// A monitor built from a config; the package's `forewarn.Monitor` wraps it.
#[pyclass(frozen, module = "forewarn._native")]
struct Monitor {
    inner: forewarn::Monitor,
}

impl Monitor {
    /// The checks' states with the metrics of each one's latest observation, read back from the
    /// history (the state keeps only status, summary and reading).
    async fn results(&self, checks: Vec<CheckStatus>) -> forewarn::Result<Vec<ResultParts>> {
        let store = self.inner.store();
        let mut out = Vec::with_capacity(checks.len());
        for check in checks {
            let latest = match check.last_checked {
                Some(at) => store
                    .observations(&check.name, at - chrono::Duration::seconds(1), 1)
                    .await?
                    .into_iter()
                    .next()
                    // The history keeps times to the millisecond.
                    .filter(|o| o.at.timestamp_millis() == at.timestamp_millis()),
                None => None,
            };
            out.push((check, latest));
        }
        Ok(out)
    }

    /// Runs every check once; returns the checks' states with the observations of this pass
    /// (kept by the core, no read-back), reading back from the history only the ones the pass
    /// did not make (a passive check's latest observation).
    async fn run_once_results(&self) -> forewarn::Result<Vec<ResultParts>> {
        let mut results = self.inner.run_once_observed().await?;
        let missing: Vec<usize> = (0..results.len())
            .filter(|&i| results[i].1.is_none() && results[i].0.last_checked.is_some())
            .collect();
        if !missing.is_empty() {
            let checks = missing.iter().map(|&i| results[i].0.clone()).collect();
            for (i, (_, latest)) in missing.into_iter().zip(self.results(checks).await?) {
                results[i].1 = latest;
            }
        }
        Ok(results)
    }
}

type ResultParts = (CheckStatus, Option<forewarn::Observation>);

fn results_to_py<'py>(py: Python<'py>, results: &[ResultParts]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (check, latest) in results {
        list.append(check_to_py(py, check, latest.as_ref())?)?;
    }
    Ok(list)
}

#[pymethods]
impl Monitor {
    /// Builds the monitor of a config (a file when `is_path`, else TOML text), opening its
    /// history store and restoring saved state.
    #[staticmethod]
    fn from_config(py: Python<'_>, source: &str, is_path: bool) -> PyResult<Self> {
        let config = py
            .detach(|| load_config(source, is_path))
            .map_err(|e| to_py_err(py, e))?;
        let inner = block_on(py, async { forewarn::Monitor::from_config(&config).await })?;
        runtime::check_here(py, &inner)?;
        Ok(Monitor { inner })
    }

    /// Runs every check once; returns each check's state as a dict.
    fn run_once<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        runtime::check_here(py, &self.inner)?;
        let results = block_on(py, self.run_once_results())?;
        results_to_py(py, &results)
    }

    /// The checks, sinks, outbox and scheduler, as a dict.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        runtime::check_here(py, &self.inner)?;
        let (status, results) = block_on(py, async {
            let status = self.inner.status().await?;
            let results = self.results(status.checks.clone()).await?;
            Ok((status, results))
        })?;
        let d = PyDict::new(py);
        d.set_item("checks", results_to_py(py, &results)?)?;
        d.set_item("sinks", serde_to_py(py, &status.sinks)?)?;
        d.set_item("outbox", serde_to_py(py, &status.outbox)?)?;
        d.set_item("scheduler", serde_to_py(py, &status.scheduler)?)?;
        Ok(d)
    }

    /// Incidents, newest first, as dicts.
    #[pyo3(signature = (active_only, check, limit))]
    fn incidents<'py>(
        &self,
        py: Python<'py>,
        active_only: bool,
        check: Option<String>,
        limit: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        runtime::check_here(py, &self.inner)?;
        let filter = IncidentFilter {
            active_only,
            check,
            limit,
        };
        let incidents = block_on(py, self.inner.incidents(&filter))?;
        let list = PyList::empty(py);
        for i in &incidents {
            list.append(incident_to_py(py, i)?)?;
        }
        Ok(list)
    }

    /// Acknowledges incident `id` for `by`; returns the incident as a dict.
    #[pyo3(signature = (id, by, note))]
    fn acknowledge<'py>(
        &self,
        py: Python<'py>,
        id: i64,
        by: &str,
        note: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        runtime::check_here(py, &self.inner)?;
        let incident = block_on(py, self.inner.acknowledge(id, by, note))?;
        incident_to_py(py, &incident)
    }

    /// Adds a note by `by` to incident `id`; returns the incident as a dict.
    fn note<'py>(
        &self,
        py: Python<'py>,
        id: i64,
        by: &str,
        text: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        runtime::check_here(py, &self.inner)?;
        let incident = block_on(py, self.inner.note(id, by, text))?;
        incident_to_py(py, &incident)
    }
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(validate_config, m)?)?;
    m.add_class::<Monitor>()?;
    run::register(m)?;
    events::register(m)?;
    tickets::register(m)?;
    m.add_function(wrap_pyfunction!(probes::validate_probe, m)?)?;
    m.add_function(wrap_pyfunction!(probes::validate_sink, m)?)?;
    m.add_function(wrap_pyfunction!(builder::build_monitor, m)?)?;
    Ok(())
}
