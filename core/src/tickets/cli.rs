//! `forewarn tickets …`: analyse help-desk exports into a report, or generate a synthetic export.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::generate::{self, GenerateOptions};
use super::pipeline::{AnalyzeRequest, DEFAULT_TITLE, Stage, analyze_exports};
use super::topics::Taxonomy;
use crate::config::Secret;
use crate::text::{excerpt, printable};
use crate::{Error, Result};

/// The `tickets` subcommands.
#[derive(Debug, clap::Subcommand)]
// Parsed once per run and matched at once: boxing `Analyze`'s options would save nothing.
#[allow(clippy::large_enum_variant)]
pub enum TicketsCommand {
    /// Analyse help-desk exports (CSV/TSV/XLSX, or directories of them) and write an HTML report
    /// with a JSON twin.
    Analyze {
        /// Export files or directories.
        #[arg(required = true)]
        exports: Vec<PathBuf>,
        /// School calendar (TOML or CSV); inferred from the tickets when absent.
        #[arg(long)]
        calendar: Option<PathBuf>,
        /// Directory of knowledge-base articles (.md, .txt, .html) to check coverage against.
        #[arg(long)]
        kb: Option<PathBuf>,
        /// A forewarn SQLite database whose `incidents` table is correlated with ticket volume.
        #[arg(long)]
        incidents: Option<PathBuf>,
        /// The HTML report to write.
        #[arg(long, default_value = "report.html")]
        out: PathBuf,
        /// The JSON twin (default: the report path with `.json`).
        #[arg(long)]
        json: Option<PathBuf>,
        /// Also write each ticket's topic to this CSV file: `ticket` (the export's id), `topic`,
        /// `source` (taxonomy, near-duplicate or cluster; empty without a topic) and `score`.
        #[arg(long, value_name = "FILE.csv")]
        assignments: Option<PathBuf>,
        /// Force the export profile (glpi, osticket, zammad, freshservice, google-forms,
        /// servicenow, helpdesk4tu, generic) instead of detecting it.
        #[arg(long)]
        profile: Option<String>,
        /// Salt for requester hashes (keep it private; the same salt keeps hashes comparable).
        #[arg(long, env = "FOREWARN_TICKETS_SALT", hide_env_values = true)]
        salt: Option<String>,
        /// Dates are day first (03/09 = 3 September); detected from the data when neither flag is given.
        #[arg(long, conflicts_with = "month_first")]
        day_first: bool,
        /// Dates are month first (03/09 = 9 March).
        #[arg(long)]
        month_first: bool,
        /// The earliest plausible date (YYYY-MM-DD): rows dated before it (placeholders such as
        /// 1900-01-01) are skipped and listed.
        #[arg(long, default_value = "1990-01-01", value_parser = parse_date)]
        dates_from: chrono::NaiveDate,
        /// The latest plausible date (YYYY-MM-DD; default: a year after today): rows dated after
        /// it (placeholders such as 9999-12-31) are skipped and listed.
        #[arg(long, value_parser = parse_date)]
        dates_until: Option<chrono::NaiveDate>,
        /// Keyword taxonomy (TOML, see `forewarn tickets taxonomy`); the K-12 default otherwise.
        #[arg(long)]
        taxonomy: Option<PathBuf>,
        /// Clusters for tickets the taxonomy misses (by default chosen from the data: where a
        /// held-out silhouette over about ten candidates stops rising).
        #[arg(long)]
        k: Option<usize>,
        /// Cluster every ticket, not only those the taxonomy misses.
        #[arg(long)]
        cluster_all: bool,
        /// Random seed for clustering.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Report title.
        #[arg(long, default_value = DEFAULT_TITLE)]
        title: String,
        /// Also write one draft help page (Markdown with front matter, `draft: true`) per FAQ
        /// suggestion into this directory, for ICT to edit and publish on the status server's
        /// /help; pages that exist are left as they are.
        #[arg(long, value_name = "DIR")]
        faq_drafts: Option<PathBuf>,
        /// Print how long each stage took (to stderr).
        #[arg(long)]
        timings: bool,
        /// The district's time zone (IANA name), which the exports' times are written in and
        /// forewarn's incidents (`--incidents`) are read in; default the system's.
        #[arg(long, value_name = "ZONE", value_parser = parse_zone)]
        time_zone: Option<crate::clock::Zone>,
    },
    /// Write a realistic synthetic school-district export (Freshservice-style CSV).
    Generate {
        /// Ticket rows (1 to 10,000,000).
        #[arg(long, default_value_t = 20_000,
              value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000))]
        rows: usize,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file (standard output when absent).
        #[arg(long)]
        out: Option<PathBuf>,
        /// No term-start surge, spikes or trend: a stationary district.
        #[arg(long)]
        no_effects: bool,
        /// Year the first school year starts (August; 1970 to 2999).
        #[arg(long, default_value_t = 2022, value_parser = clap::value_parser!(i32).range(1970..=2999))]
        start_year: i32,
        /// School years to cover (1 to 50).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
        years: u32,
        /// Also write the school calendar used, as TOML.
        #[arg(long)]
        calendar_out: Option<PathBuf>,
    },
    /// Print the default K-12 keyword taxonomy as TOML (edit it and pass `--taxonomy`).
    Taxonomy,
}

/// Runs a `tickets` subcommand; returns the process exit code.
pub fn run(cmd: TicketsCommand) -> Result<i32> {
    match cmd {
        TicketsCommand::Analyze {
            exports,
            calendar,
            kb,
            incidents,
            out,
            json,
            assignments,
            profile,
            salt,
            day_first,
            month_first,
            dates_from,
            dates_until,
            taxonomy,
            k,
            cluster_all,
            seed,
            title,
            faq_drafts,
            timings,
            time_zone,
        } => {
            let request = AnalyzeRequest {
                exports,
                calendar,
                kb,
                incidents,
                report: Some(out),
                json_report: json,
                assignments,
                profile,
                salt: salt.map(Secret::new),
                day_first: if day_first {
                    Some(true)
                } else if month_first {
                    Some(false)
                } else {
                    None
                },
                dates_from: Some(dates_from),
                dates_until,
                taxonomy,
                k,
                cluster_all,
                seed: Some(seed),
                title,
                faq_drafts,
                time_zone,
            };
            analyze(&request, timings)
        }
        TicketsCommand::Generate {
            rows,
            seed,
            out,
            no_effects,
            start_year,
            years,
            calendar_out,
        } => {
            let o = GenerateOptions {
                rows,
                seed,
                effects: !no_effects,
                start_year,
                years,
            };
            let truth = match &out {
                Some(p) => generate::generate_files(&o, p, calendar_out.as_deref())?,
                None => {
                    let truth = generate::generate(&o, std::io::stdout().lock())?;
                    if let Some(c) = &calendar_out {
                        std::fs::write(c, truth.calendar.to_toml())
                            .map_err(|e| Error::io(format!("writing {}", c.display()), e))?;
                    }
                    truth
                }
            };
            if let Some(p) = out {
                eprintln!("wrote {} rows to {}", truth.rows, p.display());
            }
            Ok(0)
        }
        TicketsCommand::Taxonomy => {
            print!("{}", Taxonomy::k12_default().to_toml());
            Ok(0)
        }
    }
}

/// Runs `tickets analyze` with a progress bar on a terminal; prints what was found and written,
/// and each stage's time when `timings`. Exit code 1 when no row of the exports is usable.
fn analyze(request: &AnalyzeRequest, timings: bool) -> Result<i32> {
    let started = Instant::now();
    let bar = progress_bar(request.stage_count() as u64);
    let mut stages: Vec<(Stage, Duration)> = Vec::new();
    let mut current: Option<(Stage, Instant)> = None;
    let finish = |current: &mut Option<(Stage, Instant)>, stages: &mut Vec<_>| {
        if let Some((stage, at)) = current.take() {
            stages.push((stage, at.elapsed()));
            bar.inc(1);
        }
    };
    let outcome = analyze_exports(request, &mut |stage| {
        finish(&mut current, &mut stages);
        bar.set_message(match stage {
            Stage::Ingest => "reading exports",
            Stage::Inputs => "calendar and knowledge base",
            Stage::Report => "writing report",
            other => other.name(),
        });
        current = Some((stage, Instant::now()));
    });
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(Error::NoUsableRows { summary }) => {
            bar.finish_and_clear();
            eprintln!("no usable rows: {}", summary.rows_text());
            for p in summary.problems.iter().take(10) {
                eprintln!(
                    "  {}:{}: {}",
                    printable(&p.file),
                    p.line,
                    printable(&p.reason)
                );
            }
            return Ok(1);
        }
        Err(e) => return Err(e),
    };
    finish(&mut current, &mut stages);
    bar.finish_and_clear();
    let (summary, analysis) = (&outcome.ingest, &outcome.analysis);
    println!(
        "{} tickets ({}); {} unexpected spike(s), {} training and {} FAQ suggestion(s)",
        outcome.tickets,
        summary.rows_text(),
        analysis.trends.unexpected_spikes().count(),
        analysis.recommendations.training.len(),
        analysis.recommendations.faq.len()
    );
    let by_machine: usize = analysis.topics.topics.iter().map(|t| t.automated).sum();
    if by_machine > 0 {
        println!(
            "{by_machine} of them sent by devices or monitoring systems (alert and recovery mails), not people"
        );
    }
    for p in summary.problems.iter().take(5) {
        eprintln!(
            "skipped {}:{}: {}",
            printable(&p.file),
            p.line,
            printable(&p.reason)
        );
    }
    if summary.skipped > 5 {
        eprintln!(
            "… {} skipped rows in all (listed in the report)",
            summary.skipped
        );
    }
    if let (Some(html), Some(json)) = (&outcome.report, &outcome.json_report) {
        println!("wrote {} and {}", html.display(), json.display());
    }
    if let Some(csv) = &outcome.assignments {
        println!("wrote each ticket's topic to {}", csv.display());
    }
    if let Some(d) = outcome.faq_drafts() {
        print_faq_drafts(d);
    }
    if timings {
        for (stage, d) in &stages {
            eprintln!("{:>16} {:>8.3} s", stage.name(), d.as_secs_f64());
        }
        eprintln!("{:>16} {:>8.3} s", "total", started.elapsed().as_secs_f64());
    }
    // A large analysis takes a noticeable while to free: that happens on another thread, so
    // the command returns as soon as the report is written.
    std::thread::spawn(move || drop(outcome));
    Ok(0)
}

/// Says how many FAQ drafts were written where, and which existing pages were left alone.
fn print_faq_drafts(d: &super::faq::FaqDrafts) {
    let name = |p: &std::path::Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    println!(
        "wrote {} FAQ draft(s) to {}",
        d.written.len(),
        d.dir.display()
    );
    if !d.skipped.is_empty() {
        println!(
            "left {} existing page(s) as they are (delete one to draft it again): {}",
            d.skipped.len(),
            d.skipped
                .iter()
                .map(|p| name(p))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

/// A `YYYY-MM-DD` date on the command line.
fn parse_zone(s: &str) -> std::result::Result<crate::clock::Zone, String> {
    crate::clock::Zone::named(s).map_err(|e| match e {
        crate::Error::Invalid { message, .. } => message,
        other => other.to_string(),
    })
}

fn parse_date(s: &str) -> std::result::Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{}` is not a date (YYYY-MM-DD)", printable(&excerpt(s))))
}

fn progress_bar(steps: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(steps),
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
