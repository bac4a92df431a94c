//! Help-desk mining: turn ticket exports into trends, recurring topics and recommendations.
//!
//! The pipeline is a chain of plain functions over plain data:
//!
//! 1. [`ingest`] reads CSV/XLSX exports of GLPI, osTicket, Zammad, Freshservice, Google Forms,
//!    ServiceNow (and the 4TU help-desk log) into canonical [`Ticket`]s, reporting bad rows;
//!    event and audit logs (one row per change of a ticket) are folded into one ticket each.
//! 2. [`calendar`] knows (or infers) the school calendar: terms, breaks, instructional days.
//! 3. [`trends`] counts tickets per school week and finds spikes, term-over-term changes, long
//!    trends (Mann-Kendall + Sen's slope) and level shifts (Poisson changepoints).
//! 4. [`topics`] normalises text, applies an editable keyword taxonomy, groups near-duplicates
//!    (MinHash LSH) and clusters the rest (TF-IDF + spherical k-means).
//! 5. [`recommend`] derives training, FAQ and knowledge-base suggestions and outage costs.
//! 6. [`report`] writes a self-contained HTML report and its JSON twin; [`faq`] writes a draft
//!    help page per FAQ candidate when [`AnalysisOptions::faq_drafts`] names a directory.
//!
//! [`analyze`] runs steps 2–5 on ingested tickets; [`analyze_exports`] runs them all, from the
//! export files to the written report, as `forewarn tickets analyze` and the bindings do;
//! [`generate`] writes synthetic exports.
//!
//! ```no_run
//! use forewarn::tickets::{analyze, ingest, AnalysisOptions, IngestOptions};
//!
//! # fn demo() -> forewarn::Result<()> {
//! let (tickets, summary) = ingest::read_files(&["export.csv"], &IngestOptions::default())?;
//! // `5 tickets (19 rows read, 14 folded into the ticket whose id they repeat, 0 skipped)`
//! println!("{} tickets ({})", tickets.len(), summary.rows_text());
//! let analysis = analyze(&tickets, &AnalysisOptions::default())?;
//! for spike in &analysis.trends.spikes {
//!     println!("{}: {} tickets (expected {:.1})", spike.week, spike.count, spike.expected);
//! }
//! # Ok(()) }
//! ```

pub mod calendar;
#[cfg(feature = "cli")]
pub mod cli;
pub mod faq;
pub mod generate;
pub mod ingest;
pub mod pipeline;
pub mod recommend;
pub mod report;
pub mod stats;
pub mod topics;
pub mod trends;

use chrono::NaiveDateTime;

/// Hash map with a fast, fixed-seed hasher (deterministic, not DoS-resistant: inputs are files
/// the user chose).
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
/// Hash set with the same hasher.
pub(crate) type FastSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;
use serde::{Deserialize, Serialize};

pub use calendar::SchoolCalendar;
pub use ingest::{IngestOptions, IngestSummary, Profile};
pub use pipeline::{AnalyzeRequest, Analyzed, Stage, analyze_exports};
pub use recommend::{Incident as OutageIncident, Recommendations};
pub use topics::{AssignmentSource, KChoice, Taxonomy, TicketAssignment, TopicModel, TopicOptions};
pub use trends::{TrendOptions, Trends};

/// One help-desk ticket in the canonical form every export is mapped to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Ticket {
    /// The ticket's identifier in the source system (or the row number when it has none).
    pub id: String,
    /// When the ticket was opened (local wall-clock time as exported).
    pub created: NaiveDateTime,
    /// First response / first taken into account, when known.
    pub first_response: Option<NaiveDateTime>,
    /// When it was resolved, when known.
    pub resolved: Option<NaiveDateTime>,
    /// When it was closed, when known.
    pub closed: Option<NaiveDateTime>,
    /// Category when opened (hierarchies joined with ` > `).
    pub category: Option<String>,
    /// Category when closed, when the system keeps both.
    pub category_closed: Option<String>,
    /// Site, school or building.
    pub site: Option<String>,
    /// Requester, hashed with the ingest salt (never the clear identity).
    pub requester: Option<String>,
    /// Requester role (teacher, student, staff…), when exported.
    pub role: Option<String>,
    /// Priority as exported.
    pub priority: Option<String>,
    /// Status as exported.
    pub status: Option<String>,
    /// Subject / title (HTML stripped).
    pub subject: String,
    /// Body / description (HTML stripped).
    pub body: String,
    /// Resolution / solution text (HTML stripped).
    pub resolution: String,
    /// How many times the ticket was reopened: the export's count, or (for an event log without
    /// one) the times its status went from resolved or closed back to open. `None` when unknown.
    pub reopen_count: Option<u32>,
    /// How many times the ticket was reassigned: the export's count, or (for an event log
    /// without one) the times its assignment group (else its agent) changed. `None` when unknown.
    pub reassignment_count: Option<u32>,
}

impl Ticket {
    /// Hours from creation to resolution (or closing), when known and not negative.
    pub fn handling_hours(&self) -> Option<f64> {
        let end = self.resolved.or(self.closed)?;
        let secs = (end - self.created).num_seconds();
        (secs >= 0).then(|| secs as f64 / 3600.0)
    }
}

/// What [`analyze`] should use besides the tickets.
#[derive(Debug, Clone, Default)]
pub struct AnalysisOptions {
    /// The school calendar; inferred from the data when `None`.
    pub calendar: Option<SchoolCalendar>,
    /// Trend detection settings.
    pub trends: TrendOptions,
    /// Topic modelling settings.
    pub topics: TopicOptions,
    /// Knowledge-base articles (title, text) to check coverage against.
    pub kb: Vec<recommend::KbArticle>,
    /// Outages (from forewarn's incident history) to correlate with ticket volume.
    pub incidents: Vec<OutageIncident>,
    /// A directory to write one draft help page per FAQ candidate into ([`faq::write_drafts`]:
    /// Markdown with front matter, never overwriting a page that exists).
    pub faq_drafts: Option<std::path::PathBuf>,
}

/// Everything [`analyze`] found.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// The calendar used (given or inferred).
    pub calendar: SchoolCalendar,
    /// Volume trends, spikes, term comparison, long trends and changepoints.
    pub trends: Trends,
    /// Topics: taxonomy counts, clusters, near-duplicate groups.
    pub topics: TopicModel,
    /// Training, FAQ, knowledge-base and outage recommendations.
    pub recommendations: Recommendations,
    /// The FAQ draft pages written and skipped, when [`AnalysisOptions::faq_drafts`] was set
    /// (not part of the report).
    #[serde(skip)]
    pub faq_drafts: Option<faq::FaqDrafts>,
}

/// Runs calendar, topics, trends and recommendations over ingested tickets, and writes the FAQ
/// drafts when asked.
///
/// `progress` (may be a no-op) is called with a stage name as each stage starts.
pub fn analyze_with_progress(
    tickets: &[Ticket],
    options: &AnalysisOptions,
    progress: &mut dyn FnMut(&str),
) -> crate::Result<Analysis> {
    if tickets.is_empty() {
        return Err(crate::Error::invalid("tickets", "no tickets to analyse"));
    }
    check_span(tickets)?;
    progress("calendar");
    let calendar = match &options.calendar {
        Some(c) => c.clone(),
        None => SchoolCalendar::infer(tickets.iter().map(|t| t.created.date())),
    };
    progress("topics");
    let topics = topics::build(tickets, &options.topics)?;
    progress("trends");
    let trends = trends::analyze(
        tickets,
        &topics.assignment_labels(),
        &calendar,
        &options.trends,
    );
    progress("recommendations");
    let recommendations =
        recommend::recommend(tickets, &topics, &calendar, &options.kb, &options.incidents);
    let faq_drafts = match &options.faq_drafts {
        Some(dir) => {
            progress("faq drafts");
            Some(faq::write_drafts(dir, &recommendations.faq)?)
        }
        None => None,
    };
    Ok(Analysis {
        calendar,
        trends,
        topics,
        recommendations,
        faq_drafts,
    })
}

/// Refuses tickets whose creation dates span more than [`ingest::MAX_DATE_SPAN_DAYS`]: the weekly
/// series, calendars and charts of the analysis have one slot per week or day of the span, so a
/// single ticket dated `9999-12-31` next to ones from this year would size them by millennia.
fn check_span(tickets: &[Ticket]) -> crate::Result<()> {
    let (Some(first), Some(last)) = (
        tickets.iter().min_by_key(|t| t.created),
        tickets.iter().max_by_key(|t| t.created),
    ) else {
        return Ok(());
    };
    if (last.created.date() - first.created.date()).num_days() > ingest::MAX_DATE_SPAN_DAYS {
        return Err(crate::Error::invalid(
            "tickets",
            format!(
                "the tickets span more than a century, from {} (ticket {}) to {} (ticket {}): \
                 a placeholder date? Leave such tickets out (ingest skips dates outside its plausible window)",
                first.created.date(),
                crate::text::printable(&crate::text::excerpt(&first.id)),
                last.created.date(),
                crate::text::printable(&crate::text::excerpt(&last.id)),
            ),
        ));
    }
    Ok(())
}

/// Runs calendar, topics, trends and recommendations over ingested tickets.
pub fn analyze(tickets: &[Ticket], options: &AnalysisOptions) -> crate::Result<Analysis> {
    analyze_with_progress(tickets, options, &mut |_| {})
}
