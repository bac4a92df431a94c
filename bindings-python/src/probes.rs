//! Built-in probes and sinks made from keyword arguments (`forewarn.probes`, `forewarn.sinks`):
//! each is checked when it is made by the core's own config validation, as the one `[[checks]]`
//! entry or `[sinks.NAME]` section of a config, so its errors read as the config's do.

use forewarn::Config;
use pyo3::prelude::*;

use crate::to_py_err;

/// Checks a built-in probe's settings (a `[[checks]]` entry without its name, as JSON text);
/// errors name `what` ("forewarn.probes.Http") as their file.
#[pyfunction]
pub fn validate_probe(py: Python<'_>, what: &str, table: &str) -> PyResult<()> {
    py.detach(|| Config::check_probe_json(what, table))
        .map_err(|e| to_py_err(py, e))
}

/// Checks a built-in sink's settings (a `[sinks.NAME]` section, as JSON text); errors name
/// `what` ("forewarn.sinks.Email") as their file.
#[pyfunction]
pub fn validate_sink(py: Python<'_>, what: &str, table: &str) -> PyResult<()> {
    py.detach(|| Config::check_sink_json(what, table))
        .map_err(|e| to_py_err(py, e))
}
