//! Help-desk mining (`forewarn.tickets`): ingest exports, analyse them, write the report, and
//! generate synthetic exports. Mirrors `forewarn::tickets` and the `tickets` subcommand of the
//! command line; every decision is the core's, this file only converts.
//!
//! The work runs with the GIL released (a large export takes a while); the optional progress
//! callable is called with the GIL taken back, between stages.

use std::path::PathBuf;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use forewarn::tickets::generate::{self, GenerateOptions};
use forewarn::tickets::ingest::{self, IngestOptions, Profile};
use forewarn::tickets::report::Report;
use forewarn::tickets::{
    AnalysisOptions, IngestSummary, SchoolCalendar, Taxonomy, TopicOptions, faq, recommend,
};
use forewarn::{Error, Secret, Zone};
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

/// What `analyze` produced, before it is converted to Python objects.
struct Analysed {
    inputs: Vec<String>,
    summary: IngestSummary,
    analysis: forewarn::tickets::Analysis,
    zone: Zone,
    report: Option<(PathBuf, PathBuf)>,
}

/// The analysis options of `tickets_analyze`, as the command line's flags.
struct AnalyzeArgs {
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
}

/// The `tickets analyze` pipeline of the command line: read the exports, load calendar,
/// knowledge base, incidents and taxonomy, analyse, and write the report when asked.
fn run_analysis(a: AnalyzeArgs, progress: &mut Progress) -> forewarn::Result<Analysed> {
    progress.stage("ingest");
    let zone = match &a.time_zone {
        Some(name) => Zone::named(name)?,
        None => Zone::system(),
    };
    let files = ingest::expand_paths(&a.paths)?;
    if files.is_empty() {
        return Err(Error::invalid("exports", "no export files found"));
    }
    let defaults = IngestOptions::default();
    let options = IngestOptions {
        profile: a.profile.as_deref().map(Profile::parse).transpose()?,
        salt: a.salt.map(Secret::new).unwrap_or(defaults.salt.clone()),
        day_first: a.day_first,
        dates_from: a.dates_from.unwrap_or(defaults.dates_from),
        dates_until: a.dates_until.unwrap_or(defaults.dates_until),
        ..defaults
    };
    let (tickets, summary) = ingest::read_files(&files, &options)?;
    if tickets.is_empty() {
        let problems: Vec<String> = summary
            .problems
            .iter()
            .take(5)
            .map(|p| format!("{}:{}: {}", p.file, p.line, p.reason))
            .collect();
        return Err(Error::invalid(
            "exports",
            format!(
                "no usable rows ({}){}{}",
                summary.rows_text(),
                if problems.is_empty() { "" } else { "; " },
                problems.join("; ")
            ),
        ));
    }
    progress.stage("inputs");
    let calendar = a
        .calendar
        .as_deref()
        .map(SchoolCalendar::load)
        .transpose()?;
    let kb =
        a.kb.as_deref()
            .map(recommend::load_kb)
            .transpose()?
            .unwrap_or_default();
    let incidents = a
        .incidents
        .as_deref()
        .map(|db| recommend::read_incidents(db, zone))
        .transpose()?
        .unwrap_or_default();
    let taxonomy = a
        .taxonomy
        .as_deref()
        .map(Taxonomy::load)
        .transpose()?
        .unwrap_or_default();
    let topic_defaults = TopicOptions::default();
    let options = AnalysisOptions {
        calendar,
        topics: TopicOptions {
            taxonomy,
            k: a.k,
            cluster_all: a.cluster_all,
            seed: a.seed.unwrap_or(topic_defaults.seed),
            ..topic_defaults
        },
        kb,
        incidents,
        faq_drafts: a.faq_drafts,
        ..Default::default()
    };
    let analysis =
        forewarn::tickets::analyze_with_progress(&tickets, &options, &mut |s| progress.stage(s))?;
    let inputs: Vec<String> = files.iter().map(|p| ingest::display_name(p)).collect();
    let report = match a.out {
        Some(out) => {
            progress.stage("report");
            let json = a.json.unwrap_or_else(|| out.with_extension("json"));
            Report {
                title: a.title,
                generated_at: zone.minute(chrono::Utc::now()),
                inputs: inputs.clone(),
                ingest: &summary,
                analysis: &analysis,
            }
            .write(&out, &json)?;
            Some((out, json))
        }
        None => None,
    };
    Ok(Analysed {
        inputs,
        summary,
        analysis,
        zone,
        report,
    })
}

/// A wall-clock time of the district as an aware datetime (the earlier one when the clocks
/// go back, the later one in a gap when they go forward).
fn aware(zone: Zone, t: NaiveDateTime) -> chrono::DateTime<chrono::FixedOffset> {
    let tz = zone.tz();
    let local = tz
        .from_local_datetime(&t)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(t + chrono::Duration::hours(1)))
                .earliest()
        })
        .unwrap_or_else(|| tz.from_utc_datetime(&t));
    local.fixed_offset()
}

fn faq_drafts_to_py<'py>(py: Python<'py>, d: &faq::FaqDrafts) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("dir", &d.dir)?;
    out.set_item("written", &d.written)?;
    out.set_item("skipped", &d.skipped)?;
    Ok(out)
}

fn analysed_to_py<'py>(py: Python<'py>, a: &Analysed) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("inputs", &a.inputs)?;
    d.set_item("ingest", serde_to_py(py, &a.summary)?)?;
    let analysis = serde_to_py(py, &a.analysis)?;
    // Outage times are the district's wall-clock times: given as aware datetimes.
    let outages = analysis
        .get_item("recommendations")?
        .get_item("outages")?
        .cast_into::<PyList>()?;
    for (item, outage) in outages.iter().zip(&a.analysis.recommendations.outages) {
        item.set_item("opened", aware(a.zone, outage.opened))?;
        item.set_item("resolved", outage.resolved.map(|t| aware(a.zone, t)))?;
    }
    d.set_item("analysis", analysis)?;
    match &a.analysis.faq_drafts {
        Some(f) => d.set_item("faq_drafts", faq_drafts_to_py(py, f)?)?,
        None => d.set_item("faq_drafts", py.None())?,
    }
    d.set_item("time_zone", a.zone.tz().name())?;
    match &a.report {
        Some((html, json)) => {
            d.set_item("report", html)?;
            d.set_item("json_report", json)?;
        }
        None => {
            d.set_item("report", py.None())?;
            d.set_item("json_report", py.None())?;
        }
    }
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
    let args = AnalyzeArgs {
        paths,
        calendar,
        out,
        json,
        kb,
        incidents,
        time_zone,
        faq_drafts,
        profile,
        salt,
        day_first,
        dates_from,
        dates_until,
        taxonomy,
        k,
        cluster_all,
        seed,
        title,
    };
    let mut progress = Progress {
        callback: progress,
        error: None,
    };
    let result = py.detach(|| run_analysis(args, &mut progress));
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
        .detach(|| -> forewarn::Result<_> {
            let f = std::fs::File::create(&out)
                .map_err(|e| Error::io(format!("creating {}", out.display()), e))?;
            let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
            let truth = generate::generate(&options, &mut w)?;
            std::io::Write::flush(&mut w)
                .map_err(|e| Error::io(format!("writing {}", out.display()), e))?;
            if let Some(c) = &calendar_out {
                std::fs::write(c, truth.calendar.to_toml())
                    .map_err(|e| Error::io(format!("writing {}", c.display()), e))?;
            }
            Ok(truth)
        })
        .map_err(|e| to_py_err(py, e))?;
    serde_to_py(py, &truth)
}
