//! Python bindings: the private native module `forewarn._native`. The idiomatic package lives in
//! `python/forewarn`; this crate only converts between Python and core types.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// The library version.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Validates a config file; raises `ValueError` naming file:line:col on error.
#[pyfunction]
fn validate_config(path: &str) -> PyResult<usize> {
    forewarn::Config::from_file(path)
        .map(|c| c.checks.len())
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(validate_config, m)?)?;
    Ok(())
}
