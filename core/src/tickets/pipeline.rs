//! The whole `tickets analyze` run as one call: read the exports, load the calendar, knowledge
//! base, incidents and taxonomy, analyse, and write the report. The command line and both
//! bindings call [`analyze_exports`]; they only turn their arguments into an [`AnalyzeRequest`]
//! and the [`Analyzed`] outcome into what their users read.
//!
//! ```no_run
//! use forewarn::tickets::{analyze_exports, AnalyzeRequest};
//!
//! # fn demo() -> forewarn::Result<()> {
//! let request = AnalyzeRequest {
//!     exports: vec!["exports/".into()],
//!     report: Some("report.html".into()),
//!     ..Default::default()
//! };
//! let outcome = analyze_exports(&request, &mut |stage| eprintln!("{}", stage.name()))?;
//! println!("{} tickets, report in {:?}", outcome.ingest.accepted, outcome.report);
//! # Ok(()) }
//! ```

use std::path::PathBuf;

use chrono::NaiveDate;
use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::ingest::{self, IngestOptions, Profile};
use super::report::Report;
use super::{
    AnalysisOptions, IngestSummary, SchoolCalendar, Taxonomy, TopicOptions, faq, recommend,
};
use crate::clock::Zone;
use crate::config::Secret;
use crate::{Error, Result};

/// The report's title unless one is given.
pub const DEFAULT_TITLE: &str = "Help-desk trends and recommendations";

/// What [`analyze_exports`] reads and writes: the options of `forewarn tickets analyze`.
///
/// `Default` gives no exports, no report and the defaults of every option.
#[derive(Debug, Clone)]
pub struct AnalyzeRequest {
    /// Export files (CSV, TSV, XLSX) or directories of them.
    pub exports: Vec<PathBuf>,
    /// The school calendar (TOML or CSV); inferred from the tickets when `None`.
    pub calendar: Option<PathBuf>,
    /// A directory of knowledge-base articles (.md, .txt, .html) to check coverage against.
    pub kb: Option<PathBuf>,
    /// A forewarn SQLite database whose `incidents` table is correlated with ticket volume.
    pub incidents: Option<PathBuf>,
    /// The HTML report to write; none is written when `None`.
    pub report: Option<PathBuf>,
    /// The report's JSON twin (default: [`Self::report`] with `.json`).
    pub json_report: Option<PathBuf>,
    /// A CSV file to write each ticket's topic to (`ticket,topic,source,score`, see
    /// [`super::TopicModel::write_assignments_csv`]); none is written when `None`.
    pub assignments: Option<PathBuf>,
    /// The export profile's name (see [`Profile::parse`]); detected per file when `None`.
    pub profile: Option<String>,
    /// Salt for requester hashes; [`IngestOptions`]' default when `None`.
    pub salt: Option<Secret>,
    /// Day-first (`true`) or month-first (`false`) dates; detected from the data when `None`.
    pub day_first: Option<bool>,
    /// The earliest plausible date (default 1990-01-01): rows dated before it are skipped.
    pub dates_from: Option<NaiveDate>,
    /// The latest plausible date (default a year after today): rows dated after it are
    /// skipped.
    pub dates_until: Option<NaiveDate>,
    /// A keyword taxonomy (TOML); the K-12 default when `None`.
    pub taxonomy: Option<PathBuf>,
    /// Clusters for the tickets the taxonomy misses (automatic when `None`).
    pub k: Option<usize>,
    /// Cluster every ticket, not only those the taxonomy misses.
    pub cluster_all: bool,
    /// Random seed of the clustering ([`TopicOptions`]' default, 42, when `None`).
    pub seed: Option<u64>,
    /// The report's title.
    pub title: String,
    /// A directory to write one draft help page per FAQ suggestion into (pages that exist are
    /// left as they are).
    pub faq_drafts: Option<PathBuf>,
    /// The district's time zone: the exports' times are written in it, incidents are read in
    /// it and the report's time is shown in it. The system's when `None`.
    pub time_zone: Option<Zone>,
}

impl Default for AnalyzeRequest {
    fn default() -> Self {
        Self {
            exports: Vec::new(),
            calendar: None,
            kb: None,
            incidents: None,
            report: None,
            json_report: None,
            assignments: None,
            profile: None,
            salt: None,
            day_first: None,
            dates_from: None,
            dates_until: None,
            taxonomy: None,
            k: None,
            cluster_all: false,
            seed: None,
            title: DEFAULT_TITLE.to_owned(),
            faq_drafts: None,
            time_zone: None,
        }
    }
}

impl AnalyzeRequest {
    /// How many stages [`analyze_exports`] goes through for this request (for a progress bar):
    /// six, one more for FAQ drafts, one more for the report.
    pub fn stage_count(&self) -> usize {
        6 + usize::from(self.faq_drafts.is_some()) + usize::from(self.report.is_some())
    }
}

/// A stage of [`analyze_exports`], reported as it starts, in this order (`FaqDrafts` and
/// `Report` only when asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stage {
    /// Reading the exports.
    Ingest,
    /// Loading the calendar, knowledge base, incidents and taxonomy.
    Inputs,
    /// Settling the school calendar (given or inferred).
    Calendar,
    /// Building the topics.
    Topics,
    /// Counting trends and spikes.
    Trends,
    /// Deriving the recommendations.
    Recommendations,
    /// Writing the FAQ drafts.
    FaqDrafts,
    /// Writing the report and its JSON twin.
    Report,
}

impl Stage {
    /// The stage's name: `ingest`, `inputs`, `calendar`, `topics`, `trends`,
    /// `recommendations`, `faq drafts`, `report`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::Inputs => "inputs",
            Stage::Calendar => "calendar",
            Stage::Topics => "topics",
            Stage::Trends => "trends",
            Stage::Recommendations => "recommendations",
            Stage::FaqDrafts => "faq drafts",
            Stage::Report => "report",
        }
    }

    /// The stage of one of [`super::analyze_with_progress`]'s names.
    fn of_analysis(name: &str) -> Self {
        match name {
            "calendar" => Stage::Calendar,
            "topics" => Stage::Topics,
            "trends" => Stage::Trends,
            "faq drafts" => Stage::FaqDrafts,
            _ => Stage::Recommendations,
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What [`analyze_exports`] produced.
///
/// Serialises (for a binding, with `serde_json`) as an object with `inputs`, `tickets`, `ingest`,
/// `analysis` (as in the report's JSON twin), `faq_drafts` (`{dir, written, skipped}` or null),
/// `time_zone` (the IANA name), `report`, `json_report` and `assignments_csv` (paths or null).
#[derive(Debug, Clone)]
pub struct Analyzed {
    /// The export files read, as the report names them.
    pub inputs: Vec<String>,
    /// The tickets analysed.
    pub tickets: usize,
    /// What ingest read, folded and skipped.
    pub ingest: IngestSummary,
    /// The analysis (its `faq_drafts` says which draft pages were written).
    pub analysis: super::Analysis,
    /// The district's time zone used.
    pub time_zone: Zone,
    /// The HTML report written, when one was asked for.
    pub report: Option<PathBuf>,
    /// Its JSON twin, when the report was written.
    pub json_report: Option<PathBuf>,
    /// The per-ticket assignments CSV written, when one was asked for.
    pub assignments: Option<PathBuf>,
}

impl Analyzed {
    /// The FAQ drafts written and left alone, when [`AnalyzeRequest::faq_drafts`] was set.
    pub fn faq_drafts(&self) -> Option<&faq::FaqDrafts> {
        self.analysis.faq_drafts.as_ref()
    }
}

impl Serialize for Analyzed {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Analyzed", 9)?;
        o.serialize_field("inputs", &self.inputs)?;
        o.serialize_field("tickets", &self.tickets)?;
        o.serialize_field("ingest", &self.ingest)?;
        o.serialize_field("analysis", &self.analysis)?;
        o.serialize_field("faq_drafts", &self.analysis.faq_drafts)?;
        o.serialize_field("time_zone", self.time_zone.tz().name())?;
        o.serialize_field("report", &self.report)?;
        o.serialize_field("json_report", &self.json_report)?;
        o.serialize_field("assignments_csv", &self.assignments)?;
        o.end()
    }
}

/// Runs `forewarn tickets analyze`: reads the exports, loads the calendar, knowledge base,
/// incidents and taxonomy, analyses the tickets (writing FAQ drafts when asked) and writes the
/// report and its JSON twin when [`AnalyzeRequest::report`] is set, and the per-ticket
/// assignments CSV when [`AnalyzeRequest::assignments`] is.
///
/// `progress` is called with each [`Stage`] as it starts (from the calling thread).
///
/// Errors: [`Error::Invalid`] for no export files or a bad option, [`Error::NoUsableRows`]
/// when the exports hold no usable row (its summary lists why), [`Error::Io`] and
/// [`Error::Config`] for files that cannot be read or parsed.
pub fn analyze_exports(req: &AnalyzeRequest, progress: &mut dyn FnMut(Stage)) -> Result<Analyzed> {
    progress(Stage::Ingest);
    let zone = req.time_zone.unwrap_or_else(Zone::system);
    let files = ingest::expand_paths(&req.exports)?;
    if files.is_empty() {
        return Err(Error::invalid("exports", "no export files found"));
    }
    let defaults = IngestOptions::default();
    let options = IngestOptions {
        profile: req.profile.as_deref().map(Profile::parse).transpose()?,
        salt: req.salt.clone().unwrap_or_else(|| defaults.salt.clone()),
        day_first: req.day_first,
        dates_from: req.dates_from.unwrap_or(defaults.dates_from),
        dates_until: req.dates_until.unwrap_or(defaults.dates_until),
        ..defaults
    };
    let (tickets, summary) = ingest::read_files(&files, &options)?;
    if tickets.is_empty() {
        return Err(Error::NoUsableRows {
            summary: Box::new(summary),
        });
    }
    progress(Stage::Inputs);
    let calendar = req
        .calendar
        .as_deref()
        .map(SchoolCalendar::load)
        .transpose()?;
    let kb = req
        .kb
        .as_deref()
        .map(recommend::load_kb)
        .transpose()?
        .unwrap_or_default();
    let incidents = req
        .incidents
        .as_deref()
        .map(|db| recommend::read_incidents(db, zone))
        .transpose()?
        .unwrap_or_default();
    let taxonomy = req
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
            k: req.k,
            cluster_all: req.cluster_all,
            seed: req.seed.unwrap_or(topic_defaults.seed),
            ..topic_defaults
        },
        kb,
        incidents,
        faq_drafts: req.faq_drafts.clone(),
        ..Default::default()
    };
    let analysis = super::analyze_with_progress(&tickets, &options, &mut |name| {
        progress(Stage::of_analysis(name))
    })?;
    if let Some(path) = &req.assignments {
        analysis.topics.save_assignments_csv(path)?;
    }
    let count = tickets.len();
    // A million tickets take a noticeable while to free: that happens on another thread.
    std::thread::spawn(move || drop(tickets));
    let inputs: Vec<String> = files.iter().map(|p| ingest::display_name(p)).collect();
    let (report, json_report) = match &req.report {
        Some(out) => {
            progress(Stage::Report);
            let json = req
                .json_report
                .clone()
                .unwrap_or_else(|| out.with_extension("json"));
            Report {
                title: req.title.clone(),
                generated_at: zone.minute(chrono::Utc::now()),
                inputs: inputs.clone(),
                ingest: &summary,
                analysis: &analysis,
            }
            .write(out, &json)?;
            (Some(out.clone()), Some(json))
        }
        None => (None, None),
    };
    Ok(Analyzed {
        inputs,
        tickets: count,
        ingest: summary,
        analysis,
        time_zone: zone,
        report,
        json_report,
        assignments: req.assignments.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic export of `rows` tickets.
    fn export(dir: &std::path::Path, rows: usize) -> PathBuf {
        let path = dir.join("export.csv");
        let options = super::super::generate::GenerateOptions {
            rows,
            years: 1,
            ..Default::default()
        };
        let file = std::fs::File::create(&path).unwrap();
        super::super::generate::generate(&options, std::io::BufWriter::new(file)).unwrap();
        path
    }

    #[test]
    fn runs_every_stage_writes_the_report_and_serialises_the_outcome() {
        let dir = tempfile::tempdir().unwrap();
        let req = AnalyzeRequest {
            exports: vec![export(dir.path(), 1500)],
            report: Some(dir.path().join("r.html")),
            faq_drafts: Some(dir.path().join("help")),
            time_zone: Some(Zone::named("America/Chicago").unwrap()),
            ..Default::default()
        };
        let mut stages = Vec::new();
        let outcome = analyze_exports(&req, &mut |s| stages.push(s)).unwrap();
        assert_eq!(
            stages,
            [
                Stage::Ingest,
                Stage::Inputs,
                Stage::Calendar,
                Stage::Topics,
                Stage::Trends,
                Stage::Recommendations,
                Stage::FaqDrafts,
                Stage::Report
            ]
        );
        assert_eq!(stages.len(), req.stage_count());
        assert_eq!((outcome.tickets, outcome.ingest.accepted), (1500, 1500));
        assert_eq!(outcome.report.as_deref(), Some(&*dir.path().join("r.html")));
        assert_eq!(
            outcome.json_report.as_deref(),
            Some(&*dir.path().join("r.json"))
        );
        assert!(dir.path().join("r.html").exists() && dir.path().join("r.json").exists());
        assert!(outcome.faq_drafts().is_some());
        let v = serde_json::to_value(&outcome).unwrap();
        assert_eq!(v["time_zone"], "America/Chicago");
        assert_eq!(v["ingest"]["accepted"], 1500);
        assert_eq!(v["inputs"][0], "export.csv");
        assert!(v["analysis"]["topics"].is_object());
        assert_eq!(
            v["faq_drafts"]["dir"].as_str().unwrap(),
            dir.path().join("help").to_str().unwrap()
        );
        // The report's JSON twin holds the same analysis.
        let twin: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap())
                .unwrap();
        assert_eq!(twin["ingest"], v["ingest"]);
        let names = |v: &serde_json::Value| {
            v["analysis"]["topics"]["topics"]
                .as_array()
                .map(|ts| ts.iter().map(|t| t["name"].clone()).collect::<Vec<_>>())
        };
        assert!(names(&v).is_some_and(|n| !n.is_empty()));
        assert_eq!(names(&twin), names(&v));
        // Each ticket's topic, in columns: its id, an index into the topics, the source and the
        // score to four decimals.
        let model = &twin["analysis"]["topics"];
        let column = |name: &str| model["assignments"][name].as_array().unwrap().clone();
        let (ids, topic, source, score) = (
            column("ticket"),
            column("topic"),
            column("source"),
            column("score"),
        );
        let per_ticket = &outcome.analysis.topics.per_ticket;
        for c in [&ids, &topic, &source, &score] {
            assert_eq!(c.len(), per_ticket.len());
        }
        assert!(per_ticket.iter().any(|a| a.topic.is_some()));
        for (i, a) in per_ticket.iter().enumerate() {
            assert_eq!(ids[i], a.ticket.as_str());
            let name = topic[i]
                .as_u64()
                .map(|t| model["topics"][t as usize]["name"].as_str().unwrap());
            assert_eq!(name, a.topic.as_deref(), "{i}");
            assert_eq!(source[i].as_str(), a.source.map(|s| s.as_str()), "{i}");
            let rounded = score[i].as_f64().unwrap();
            assert!((rounded - f64::from(a.score)).abs() <= 0.5e-4 + 1e-9, "{i}");
            assert_eq!(rounded, (rounded * 1e4).round() / 1e4, "{i}");
        }
    }

    #[test]
    fn writes_nothing_unless_asked_and_names_unusable_exports() {
        let dir = tempfile::tempdir().unwrap();
        let req = AnalyzeRequest {
            exports: vec![export(dir.path(), 500)],
            ..Default::default()
        };
        let outcome = analyze_exports(&req, &mut |_| {}).unwrap();
        assert_eq!((outcome.report, outcome.json_report), (None, None));
        let v = serde_json::to_value(analyze_exports(&req, &mut |_| {}).unwrap()).unwrap();
        assert!(v["report"].is_null() && v["faq_drafts"].is_null());

        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "Created,Subject\nnot a date,x\n").unwrap();
        let mut stages = Vec::new();
        let err = analyze_exports(
            &AnalyzeRequest {
                exports: vec![bad],
                ..Default::default()
            },
            &mut |s| stages.push(s),
        )
        .unwrap_err();
        assert_eq!(stages, [Stage::Ingest]);
        let Error::NoUsableRows { summary } = &err else {
            panic!("{err:?}");
        };
        assert_eq!((summary.read, summary.accepted), (1, 0));
        let msg = err.to_string();
        assert!(
            msg.starts_with("invalid exports: no usable rows (") && msg.contains("bad.csv:2: "),
            "{msg}"
        );
        let empty = tempfile::tempdir().unwrap();
        let err = analyze_exports(
            &AnalyzeRequest {
                exports: vec![empty.path().to_owned()],
                ..Default::default()
            },
            &mut |_| {},
        )
        .unwrap_err();
        assert!(err.to_string().contains("no export files found"), "{err}");
    }
}
