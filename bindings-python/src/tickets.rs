//! Help-desk mining (`forewarn.tickets`): ingest exports, analyse them, write the report, and
//! generate synthetic exports. Mirrors `forewarn::tickets` and the `tickets` subcommand of the
//! command line; every decision is the core's, this file only converts.
//!
//! The work runs with the GIL released (a large export takes a while); the optional progress
//! callable is called with the GIL taken back, between stages.

use std::path::PathBuf;

use chrono::NaiveDate;
use forewarn::tickets::generate::{self, GenerateOptions};
use forewarn::tickets::{AnalyzeRequest, Analyzed, analyze_exports, faq};
use forewarn::{Secret, Zone};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::{serde_to_py, to_py_err};

/// Registers the module's functions on the native module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(tickets_analyze, m)?)?;
    m.add_function(wrap_pyfunction!(tickets_generate, m)?)?;
    Ok(())
}

/// Calls the progress callable, if any, with a stage name; keeps the first exception it raises
/// (and stops calling it) so that it is raised when the work is over.
struct Progress {
    callback: Option<Py<PyAny>>,
    error: Option<PyErr>,
}

impl Progress {
    fn stage(&mut self, name: &str) {
        let Some(callback) = &self.callback else {
            return;
        };
        if let Err(e) = Python::attach(|py| callback.call1(py, (name,)).map(drop)) {
            self.error = Some(e);
            self.callback = None;
        }
    }
}

fn faq_drafts_to_py<'py>(py: Python<'py>, d: &faq::FaqDrafts) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("dir", &d.dir)?;
    out.set_item("written", &d.written)?;
    out.set_item("skipped", &d.skipped)?;
    Ok(out)
}

fn analysed_to_py<'py>(py: Python<'py>, a: &Analyzed) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("inputs", &a.inputs)?;
    d.set_item("ingest", serde_to_py(py, &a.ingest)?)?;
    let analysis = serde_to_py(py, &a.analysis)?;
    // Outage times are the district's wall-clock times: given as aware datetimes.
    let outages = analysis
        .get_item("recommendations")?
        .get_item("outages")?
        .cast_into::<PyList>()?;
    for (item, outage) in outages.iter().zip(&a.analysis.recommendations.outages) {
        item.set_item("opened", a.time_zone.local(outage.opened))?;
        item.set_item("resolved", outage.resolved.map(|t| a.time_zone.local(t)))?;
    }
    // The report writes each ticket's topic in columns; the package's `TopicModel` takes one
    // record per ticket, with the topic's name.
    analysis.get_item("topics")?.set_item(
        "assignments",
        serde_to_py(py, &a.analysis.topics.per_ticket)?,
    )?;
    d.set_item("analysis", analysis)?;
    match a.faq_drafts() {
        Some(f) => d.set_item("faq_drafts", faq_drafts_to_py(py, f)?)?,
        None => d.set_item("faq_drafts", py.None())?,
    }
    d.set_item("time_zone", a.time_zone.tz().name())?;
    d.set_item("report", &a.report)?;
    d.set_item("json_report", &a.json_report)?;
    Ok(d)
}

/// Reads help-desk exports (files or directories), analyses them and, when `out` is given,
/// writes the HTML report and its JSON twin; returns the ingest summary and the analysis as
/// plain dicts (outage times as aware datetimes). `progress`, when given, is called with each
/// stage's name.
#[pyfunction]
#[pyo3(signature = (
    paths, calendar, out, json, kb, incidents, time_zone, faq_drafts, profile, salt, day_first,
    dates_from, dates_until, taxonomy, k, cluster_all, seed, title, progress
))]
#[allow(clippy::too_many_arguments)]
fn tickets_analyze<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    calendar: Option<PathBuf>,
    out: Option<PathBuf>,
    json: Option<PathBuf>,
    kb: Option<PathBuf>,
    incidents: Option<PathBuf>,
    time_zone: Option<String>,
    faq_drafts: Option<PathBuf>,
    profile: Option<String>,
    salt: Option<String>,
    day_first: Option<bool>,
    dates_from: Option<NaiveDate>,
    dates_until: Option<NaiveDate>,
    taxonomy: Option<PathBuf>,
    k: Option<usize>,
    cluster_all: bool,
    seed: Option<u64>,
    title: String,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let mut progress = Progress {
        callback: progress,
        error: None,
    };
    let result = py.detach(|| {
        let request = AnalyzeRequest {
            exports: paths,
            calendar,
            kb,
            incidents,
            report: out,
            json_report: json,
            assignments: None,
            profile,
            salt: salt.map(Secret::new),
            day_first,
            dates_from,
            dates_until,
            taxonomy,
            k,
            cluster_all,
            seed,
            title,
            faq_drafts,
            time_zone: time_zone.as_deref().map(Zone::named).transpose()?,
        };
        analyze_exports(&request, &mut |stage| progress.stage(stage.name()))
    });
    if let Some(e) = progress.error {
        return Err(e);
    }
    let analysed = result.map_err(|e| to_py_err(py, e))?;
    let d = analysed_to_py(py, &analysed)?;
    // A large analysis takes a noticeable while to free: that happens on another thread.
    std::thread::spawn(move || drop(analysed));
    Ok(d)
}

/// Writes a synthetic school-district export (Freshservice-style CSV) to `out`, and the school
/// calendar used (TOML) to `calendar_out` when given; returns what was planted as a dict.
/// Options left `None` take the core's defaults.
#[pyfunction]
#[pyo3(signature = (out, rows, seed, effects, start_year, years, calendar_out))]
#[allow(clippy::too_many_arguments)]
fn tickets_generate<'py>(
    py: Python<'py>,
    out: PathBuf,
    rows: Option<usize>,
    seed: Option<u64>,
    effects: Option<bool>,
    start_year: Option<i32>,
    years: Option<u32>,
    calendar_out: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let defaults = GenerateOptions::default();
    let options = GenerateOptions {
        rows: rows.unwrap_or(defaults.rows),
        seed: seed.unwrap_or(defaults.seed),
        effects: effects.unwrap_or(defaults.effects),
        start_year: start_year.unwrap_or(defaults.start_year),
        years: years.unwrap_or(defaults.years),
    };
    let truth = py
        .detach(|| generate::generate_files(&options, &out, calendar_out.as_deref()))
        .map_err(|e| to_py_err(py, e))?;
    serde_to_py(py, &truth)
}
