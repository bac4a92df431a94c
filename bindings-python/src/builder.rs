//! Monitors made in code (`forewarn.Monitor.builder()`): the package assembles a config from
//! the built-in probes and sinks and the builder's settings, and the core builds it exactly as
//! it builds a config file, with the probes and sinks written in Python put in place of their
//! stand-ins.

use std::collections::BTreeMap;
use std::sync::Arc;

use forewarn::{AlertSink, Config, Probe};
use pyo3::prelude::*;

use crate::custom::{PyProbe, PySink};
use crate::{Monitor, block_on, to_py_err};

/// How errors in a builder's settings name where they are.
const ORIGIN: &str = "<builder>";

/// Builds the monitor of `config` (the config's tables as JSON text), with `probes`
/// (`(check, probe, kind, target)`) running the checks of those names and `sinks`
/// (`(name, sink)`) delivering for the sinks of those names; opens the history store and
/// restores saved states.
#[pyfunction]
pub fn build_monitor(
    py: Python<'_>,
    config: &str,
    probes: Vec<(String, Py<PyAny>, String, String)>,
    sinks: Vec<(String, Py<PyAny>)>,
) -> PyResult<Monitor> {
    let config = py
        .detach(|| Config::from_json(config, ORIGIN))
        .map_err(|e| to_py_err(py, e))?;
    let probes: BTreeMap<String, Arc<dyn Probe>> = probes
        .into_iter()
        .map(|(name, object, kind, target)| {
            let probe: Arc<dyn Probe> = Arc::new(PyProbe::new(name.clone(), object, kind, target));
            (name, probe)
        })
        .collect();
    let sinks: Vec<(String, Arc<dyn AlertSink>)> = sinks
        .into_iter()
        .map(|(name, object)| {
            let sink: Arc<dyn AlertSink> = Arc::new(PySink::new(name.clone(), object));
            (name, sink)
        })
        .collect();
    let inner = block_on(py, async move {
        forewarn::Monitor::from_config_with(&config, &probes, sinks).await
    })?;
    // Made here, in this process: a forked child is refused it (see `runtime::check_here`).
    crate::runtime::check_here(py, &inner)?;
    Ok(Monitor { inner })
}
