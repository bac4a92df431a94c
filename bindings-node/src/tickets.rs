//! Help-desk mining (the package's `tickets`): analyse exports and write the report, and
//! generate synthetic exports. Mirrors `forewarn::tickets` (one pipeline,
//! [`analyze_exports`]) and the `tickets` subcommand of the command line; every decision is the
//! core's, this file only converts.
//!
//! The work runs on the blocking pool, never on Node's thread. Progress stages go to an
//! optional JavaScript callback through a weak threadsafe function, without waiting for it.

use std::path::PathBuf;

use chrono::{NaiveDate, SecondsFormat};
use forewarn::tickets::generate::{self, GenerateOptions};
use forewarn::tickets::pipeline::DEFAULT_TITLE;
use forewarn::tickets::{AnalyzeRequest, Analyzed, analyze_exports};
use forewarn::{Error, Secret, Zone};
use napi::Status;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::Value;

use crate::error::{IntoJs, other};
use crate::model::to_json;

/// What `ticketsAnalyze` reads and writes: the options of `forewarn tickets analyze`.
#[napi(object)]
pub struct AnalyzeOptions {
    /// Export files (CSV, TSV, XLSX) or directories of them.
    pub exports: Vec<String>,
    /// The school calendar (TOML or CSV); inferred from the tickets when absent.
    pub calendar: Option<String>,
    /// The HTML report to write (its JSON twin beside it); none when absent.
    pub out: Option<String>,
    /// The JSON twin's path (default: `out` with `.json`).
    pub json_out: Option<String>,
    /// A directory of knowledge-base articles.
    pub kb: Option<String>,
    /// A forewarn SQLite database whose incidents are correlated with ticket volume.
    pub incidents: Option<String>,
    /// The district's IANA time zone (default: the system's).
    pub time_zone: Option<String>,
    /// A directory to write draft help pages into.
    pub faq_drafts: Option<String>,
    /// The export profile's name, instead of detecting it.
    pub profile: Option<String>,
    /// Salt for requester hashes.
    pub salt: Option<String>,
    /// Day-first (`true`) or month-first (`false`) dates; detected when absent.
    pub day_first: Option<bool>,
    /// The earliest plausible date, `YYYY-MM-DD`.
    pub dates_from: Option<String>,
    /// The latest plausible date, `YYYY-MM-DD`.
    pub dates_until: Option<String>,
    /// A keyword taxonomy (TOML).
    pub taxonomy: Option<String>,
    /// Clusters for the tickets the taxonomy misses (automatic when absent).
    pub k: Option<i64>,
    /// Cluster every ticket, not only those the taxonomy misses.
    pub cluster_all: Option<bool>,
    /// Random seed of the clustering.
    pub seed: Option<i64>,
    /// The report's title.
    pub title: Option<String>,
}

/// What `ticketsAnalyze` found: core's outcome with the analysis' parts at the top level.
/// The parts are core's JSON (the report's JSON twin), except that outage times carry the
/// district's UTC offset and `topics.assignments` is a list of `{ticket, topic, source, score}`
/// records (the topic by name) rather than the twin's columns.
#[napi(object)]
pub struct TicketsAnalysis {
    /// The export files read (names without directories).
    pub inputs: Vec<String>,
    /// The tickets analysed.
    pub tickets: i64,
    /// What ingest read, folded and skipped, and why.
    pub ingest: Value,
    /// The school calendar used (given or inferred).
    pub calendar: Value,
    /// Weekly series, spikes, term changes, long trends and changepoints.
    pub trends: Value,
    /// Topics and near-duplicate groups.
    pub topics: Value,
    /// Training, FAQ, knowledge-base and outage findings.
    pub recommendations: Value,
    /// The draft help pages written and left alone (`{dir, written, skipped}`), when asked.
    pub faq_drafts: Option<Value>,
    /// The district's time zone (IANA name).
    pub time_zone: String,
    /// The HTML report written, if any.
    pub report: Option<String>,
    /// Its JSON twin.
    pub json_report: Option<String>,
}

/// The callback progress stages go to: weak (it does not keep the process alive), called
/// with the stage's name alone.
type ProgressCallback = ThreadsafeFunction<String, (), String, Status, false, true>;

/// A whole number option as the type core takes; an invalid argument naming it otherwise.
fn whole<T: TryFrom<i64>>(name: &str, v: Option<i64>) -> napi::Result<Option<T>> {
    v.map(|v| {
        T::try_from(v)
            .map_err(|_| crate::error::to_js(Error::invalid(name, format!("{v} is out of range"))))
    })
    .transpose()
}

/// A `YYYY-MM-DD` option as a date; an invalid argument naming it otherwise.
fn date(name: &str, v: Option<String>) -> napi::Result<Option<NaiveDate>> {
    v.map(|s| {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
            crate::error::to_js(Error::invalid(
                name,
                format!("`{s}` is not a date (YYYY-MM-DD)"),
            ))
        })
    })
    .transpose()
}

fn path(p: Option<String>) -> Option<PathBuf> {
    p.map(PathBuf::from)
}

fn path_text(p: Option<PathBuf>) -> Option<String> {
    p.map(|p| p.to_string_lossy().into_owned())
}

/// The outcome as the package's object; outage times (the district's wall-clock times) get
/// the district's offset.
fn analysis_to_js(a: Analyzed) -> napi::Result<TicketsAnalysis> {
    let mut recommendations = to_json(&a.analysis.recommendations)?;
    if let Some(outages) = recommendations
        .get_mut("outages")
        .and_then(Value::as_array_mut)
    {
        let aware = |t| {
            a.time_zone
                .local(t)
                .to_rfc3339_opts(SecondsFormat::Secs, false)
        };
        for (item, outage) in outages.iter_mut().zip(&a.analysis.recommendations.outages) {
            item["opened"] = Value::String(aware(outage.opened));
            item["resolved"] = outage.resolved.map_or(Value::Null, |t| aware(t).into());
        }
    }
    // The report writes each ticket's topic in columns; `topics.assignments` stays one record
    // per ticket, with the topic's name.
    let mut topics = to_json(&a.analysis.topics)?;
    topics["assignments"] = to_json(&a.analysis.topics.per_ticket)?;
    Ok(TicketsAnalysis {
        tickets: a.tickets as i64,
        ingest: to_json(&a.ingest)?,
        calendar: to_json(&a.analysis.calendar)?,
        trends: to_json(&a.analysis.trends)?,
        topics,
        recommendations,
        faq_drafts: a.faq_drafts().map(to_json).transpose()?,
        time_zone: a.time_zone.tz().name().to_owned(),
        report: path_text(a.report),
        json_report: path_text(a.json_report),
        inputs: a.inputs,
    })
}

/// Reads help-desk exports, analyses them and, when `out` is given, writes the HTML report
/// and its JSON twin. `onProgress`, when given, is called with each stage's name as it starts.
#[napi(ts_args_type = "options: AnalyzeOptions, onProgress?: (stage: string) => void")]
pub async fn tickets_analyze(
    options: AnalyzeOptions,
    on_progress: Option<ProgressCallback>,
) -> napi::Result<TicketsAnalysis> {
    let request = AnalyzeRequest {
        exports: options.exports.into_iter().map(PathBuf::from).collect(),
        calendar: path(options.calendar),
        kb: path(options.kb),
        incidents: path(options.incidents),
        report: path(options.out),
        json_report: path(options.json_out),
        assignments: None,
        profile: options.profile,
        salt: options.salt.map(Secret::new),
        day_first: options.day_first,
        dates_from: date("dates_from", options.dates_from)?,
        dates_until: date("dates_until", options.dates_until)?,
        taxonomy: path(options.taxonomy),
        k: whole("k", options.k)?,
        cluster_all: options.cluster_all.unwrap_or(false),
        seed: whole("seed", options.seed)?,
        title: options.title.unwrap_or_else(|| DEFAULT_TITLE.to_owned()),
        faq_drafts: path(options.faq_drafts),
        time_zone: options
            .time_zone
            .as_deref()
            .map(Zone::named)
            .transpose()
            .js()?,
    };
    tokio::task::spawn_blocking(move || {
        let analysed = analyze_exports(&request, &mut |stage| {
            if let Some(callback) = &on_progress {
                callback.call(
                    stage.name().to_owned(),
                    ThreadsafeFunctionCallMode::NonBlocking,
                );
            }
        })
        .js()?;
        analysis_to_js(analysed)
    })
    .await
    .map_err(other)?
}

/// What `ticketsGenerate` writes.
#[napi(object)]
pub struct GenerateRequest {
    /// The export (CSV) to write.
    pub out: String,
    /// Ticket rows (core's default when absent).
    pub rows: Option<i64>,
    /// Random seed.
    pub seed: Option<i64>,
    /// Plant the term-start surge, spikes and the rising trend.
    pub effects: Option<bool>,
    /// The first school year starts in August of this year.
    pub start_year: Option<i64>,
    /// School years covered.
    pub years: Option<i64>,
    /// Also write the school calendar used (TOML) here.
    pub calendar_out: Option<String>,
}

/// The rising topic of a synthetic export, with its volume multiplier at start and end.
#[napi(object)]
pub struct PlantedTrend {
    /// The taxonomy topic.
    pub topic: String,
    /// Its multiplier at the start.
    pub start: f64,
    /// Its multiplier at the end.
    pub end: f64,
}

/// What `ticketsGenerate` planted in an export.
#[napi(object)]
pub struct GroundTruth {
    /// The school calendar the tickets follow (core's JSON).
    pub calendar: Value,
    /// The planted spikes (`{topic, site, week, extra}`).
    pub spikes: Value,
    /// The rising topic, when effects were planted.
    pub trend: Option<PlantedTrend>,
    /// Recurring topics outside the default taxonomy, by a distinctive word.
    pub untaxonomised_topics: Vec<String>,
    /// The question asked most often in near-identical words.
    pub faq_question: String,
    /// Rows written.
    pub rows: i64,
}

/// Writes a synthetic school-district export (Freshservice-style CSV), and the school calendar
/// used (TOML) when `calendarOut` is given; returns what was planted.
#[napi]
pub async fn tickets_generate(request: GenerateRequest) -> napi::Result<GroundTruth> {
    let defaults = GenerateOptions::default();
    let options = GenerateOptions {
        rows: whole("rows", request.rows)?.unwrap_or(defaults.rows),
        seed: whole("seed", request.seed)?.unwrap_or(defaults.seed),
        effects: request.effects.unwrap_or(defaults.effects),
        start_year: whole("start_year", request.start_year)?.unwrap_or(defaults.start_year),
        years: whole("years", request.years)?.unwrap_or(defaults.years),
    };
    let out = PathBuf::from(request.out);
    let calendar_out = path(request.calendar_out);
    let truth = tokio::task::spawn_blocking(move || {
        generate::generate_files(&options, &out, calendar_out.as_deref())
    })
    .await
    .map_err(other)?
    .js()?;
    Ok(GroundTruth {
        calendar: to_json(&truth.calendar)?,
        spikes: to_json(&truth.spikes)?,
        trend: truth
            .trend
            .map(|(topic, start, end)| PlantedTrend { topic, start, end }),
        untaxonomised_topics: truth.untaxonomised_topics,
        faq_question: truth.faq_question,
        rows: truth.rows as i64,
    })
}
