//! Reading help-desk exports into canonical [`Ticket`]s.
//!
//! Handles the quirks districts meet: localised headers (GLPI in French, German, Spanish…),
//! `,` / `;` / tab delimiters, a UTF-8 BOM, Windows-1252 files, day/month order detected from the
//! data, Excel serial dates, HTML (entities and tags) in cells, missing-value markers (`?`,
//! `NULL`, `N/A`, `-`, zero dates: no value, so a ticket without a resolution date is open). Rows
//! that cannot be used are skipped and reported with their line number and reason; the rest is
//! processed.
//!
//! One file per export format holds the headers that identify it and the columns it prefers
//! (`glpi`, `osticket`, `zammad`, `freshservice`, `google_forms`, `servicenow`, `helpdesk4tu`);
//! the rest is shared: header aliases and the column mapping (`columns`), delimited text
//! (`delimited`) and workbooks (`xlsx`), one row into a ticket (`row`), event and audit logs
//! folded into one ticket per id (`events`), dates (`dates`) and cell text (`text`).

mod columns;
mod dates;
mod delimited;
mod events;
mod freshservice;
mod glpi;
mod google_forms;
mod helpdesk4tu;
mod osticket;
mod row;
mod servicenow;
mod text;
mod xlsx;
mod zammad;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;

use super::Ticket;
use crate::config::Secret;
use crate::{Error, Result};

pub use columns::{Field, normalise_header};
pub use dates::{excel_serial, parse_datetime};
pub use delimited::{decode, read_bytes, sniff_delimiter};
pub use row::hash_requester;
pub use text::clean_html;
// For the fuzz harnesses: a CSV read in one sequence or in parts, a workbook from memory.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use delimited::read_bytes_with;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use xlsx::read_workbook_bytes;

/// The help-desk system an export comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// GLPI (any locale).
    Glpi,
    /// osTicket.
    OsTicket,
    /// Zammad (usually an XLSX report).
    Zammad,
    /// Freshservice.
    Freshservice,
    /// A Google Forms response sheet (timestamp + answers, no status).
    GoogleForms,
    /// ServiceNow (`number, opened_at, …`).
    ServiceNow,
    /// The 4TU.ResearchData help-desk event log (arrivals and handling times, no text).
    Helpdesk4tu,
    /// Unknown system: columns matched by name only.
    Generic,
}

impl Profile {
    /// All profiles that can be detected.
    pub const ALL: [Profile; 8] = [
        Profile::Glpi,
        Profile::OsTicket,
        Profile::Zammad,
        Profile::Freshservice,
        Profile::GoogleForms,
        Profile::ServiceNow,
        Profile::Helpdesk4tu,
        Profile::Generic,
    ];

    /// Parses a profile name as used on the command line (`glpi`, `osticket`, `service-now`…).
    pub fn parse(name: &str) -> Result<Profile> {
        let n: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        Ok(match n.as_str() {
            "glpi" => Profile::Glpi,
            "osticket" => Profile::OsTicket,
            "zammad" => Profile::Zammad,
            "freshservice" => Profile::Freshservice,
            "googleforms" | "forms" => Profile::GoogleForms,
            "servicenow" | "snow" => Profile::ServiceNow,
            "helpdesk4tu" | "4tu" => Profile::Helpdesk4tu,
            "generic" | "auto" => Profile::Generic,
            _ => {
                return Err(Error::invalid(
                    "profile",
                    format!(
                        "unknown profile `{}` (glpi, osticket, zammad, freshservice, google-forms, servicenow, helpdesk4tu, generic)",
                        crate::text::excerpt(name)
                    ),
                ));
            }
        })
    }

    /// Headers that identify the system (normalised form), each worth a point in detection.
    fn signature(self) -> &'static [&'static str] {
        match self {
            Profile::Glpi => glpi::SIGNATURE,
            Profile::OsTicket => osticket::SIGNATURE,
            Profile::Zammad => zammad::SIGNATURE,
            Profile::Freshservice => freshservice::SIGNATURE,
            Profile::GoogleForms => google_forms::SIGNATURE,
            Profile::ServiceNow => servicenow::SIGNATURE,
            Profile::Helpdesk4tu => helpdesk4tu::SIGNATURE,
            Profile::Generic => &[],
        }
    }

    /// Columns taken for a field before the generic header aliases (normalised headers).
    fn preferred_columns(self) -> &'static [(Field, &'static str)] {
        match self {
            Profile::Glpi => glpi::COLUMNS,
            Profile::OsTicket => osticket::COLUMNS,
            Profile::Zammad => zammad::COLUMNS,
            Profile::Freshservice => freshservice::COLUMNS,
            Profile::GoogleForms => google_forms::COLUMNS,
            Profile::ServiceNow => servicenow::COLUMNS,
            Profile::Helpdesk4tu => helpdesk4tu::COLUMNS,
            Profile::Generic => &[],
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Profile::Glpi => "GLPI",
            Profile::OsTicket => "osTicket",
            Profile::Zammad => "Zammad",
            Profile::Freshservice => "Freshservice",
            Profile::GoogleForms => "Google Forms",
            Profile::ServiceNow => "ServiceNow",
            Profile::Helpdesk4tu => "4TU help-desk log",
            Profile::Generic => "generic",
        })
    }
}

/// How ingest should behave.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Force a profile instead of detecting it from the headers.
    pub profile: Option<Profile>,
    /// Salt mixed into requester hashes (keep it private and stable to compare reports).
    pub salt: Secret,
    /// Force day-first (`true`) or month-first (`false`) dates; detected from the data when `None`.
    pub day_first: Option<bool>,
    /// How many row problems to keep in detail (all are counted).
    pub max_problems: usize,
    /// The earliest plausible date (default 1990-01-01): a row with a date before it (a
    /// placeholder such as `1900-01-01`, a mistyped year) is skipped and reported.
    pub dates_from: NaiveDate,
    /// The latest plausible date (default: a year after today, in the local time zone): a row
    /// with a date after it (a placeholder such as `2999-12-31` or `9999-12-31`) is skipped and
    /// reported.
    pub dates_until: NaiveDate,
    /// The most fields a record may have (default 1,000): a header with more stops the file with
    /// an error naming it (a row with more than its header is skipped like any row of the wrong
    /// width).
    pub max_fields: usize,
    /// The longest line, in bytes (default 1 MiB): a longer one stops the file with an error
    /// naming its line, before anything is parsed (a file that is not an export, or one whose
    /// line ends were lost).
    pub max_line_bytes: usize,
}

/// The default earliest plausible date: 1 January 1990, before any help desk kept its tickets in
/// a system that exports them.
pub fn default_dates_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or_default()
}

/// The default latest plausible date: a year after today in the local time zone (the district's).
pub fn default_dates_until() -> NaiveDate {
    let today = chrono::Local::now().date_naive();
    today
        .checked_add_months(chrono::Months::new(12))
        .unwrap_or(today)
}

/// The longest span of dates the analysis accepts, in days (a century): the plausible-date
/// window of [`IngestOptions`] may be no longer, and [`crate::tickets::analyze`] refuses tickets
/// spread wider, since weekly series and their statistics are sized by the span.
pub const MAX_DATE_SPAN_DAYS: i64 = 36_525;

impl IngestOptions {
    /// Checks the plausible-date window: `dates_from` not after `dates_until`, and at most
    /// [`MAX_DATE_SPAN_DAYS`] apart.
    pub fn check(&self) -> Result<()> {
        let (from, until) = (self.dates_from, self.dates_until);
        if from > until {
            return Err(Error::invalid(
                "dates",
                format!("the earliest plausible date {from} is after the latest {until}"),
            ));
        }
        if (until - from).num_days() > MAX_DATE_SPAN_DAYS {
            return Err(Error::invalid(
                "dates",
                format!(
                    "the plausible dates {from} … {until} span more than a century ({MAX_DATE_SPAN_DAYS} days)"
                ),
            ));
        }
        Ok(())
    }
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            profile: None,
            salt: Secret::new("forewarn-tickets"),
            day_first: None,
            max_problems: 200,
            dates_from: default_dates_from(),
            dates_until: default_dates_until(),
            max_fields: 1_000,
            max_line_bytes: 1 << 20,
        }
    }
}

/// One skipped row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowProblem {
    /// The file.
    pub file: String,
    /// 1-based line number in the file (for XLSX: the sheet row).
    pub line: u64,
    /// Why it was skipped.
    pub reason: String,
}

/// What ingest did, per run (all files together).
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestSummary {
    /// Data rows read (header excluded).
    pub read: u64,
    /// Tickets read: one per row, or, for an event or audit log (a ticket id repeated over
    /// rows, one row per change), one per ticket id.
    pub accepted: u64,
    /// Rows folded into a ticket read from another row with the same id (event and audit logs);
    /// `read = accepted + folded + skipped`.
    pub folded: u64,
    /// Rows skipped.
    pub skipped: u64,
    /// Skipped rows per reason kind (`bad date`, `wrong field count`…).
    pub reasons: BTreeMap<String, u64>,
    /// The first skipped rows in detail (up to `max_problems`).
    pub problems: Vec<RowProblem>,
    /// Per file: what was detected.
    pub files: Vec<FileSummary>,
}

/// What was detected in one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    /// The file name.
    pub file: String,
    /// The profile used.
    pub profile: Profile,
    /// The delimiter (`,`, `;`, tab) — `None` for XLSX.
    pub delimiter: Option<char>,
    /// The text encoding (`UTF-8`, `UTF-8 (BOM)`, `windows-1252`, `xlsx`).
    pub encoding: String,
    /// Day-first dates (detected or forced).
    pub day_first: bool,
    /// Column → field mapping used.
    pub columns: BTreeMap<String, Field>,
    /// Data rows read.
    pub read: u64,
    /// Rows folded into a ticket read from another row with the same id.
    pub folded: u64,
    /// Rows skipped.
    pub skipped: u64,
}

impl IngestSummary {
    /// What happened to the rows, for people: `5998 rows read, 5108 folded into the ticket
    /// whose id they repeat, 0 skipped` (the folded part only when rows were folded).
    pub fn rows_text(&self) -> String {
        if self.folded == 0 {
            format!("{} rows read, {} skipped", self.read, self.skipped)
        } else {
            format!(
                "{} rows read, {} folded into the ticket whose id they repeat, {} skipped",
                self.read, self.folded, self.skipped
            )
        }
    }

    pub(super) fn skip(&mut self, max: usize, file: &str, line: u64, kind: &str, detail: String) {
        self.skipped += 1;
        *self.reasons.entry(kind.to_string()).or_insert(0) += 1;
        if self.problems.len() < max {
            self.problems.push(RowProblem {
                file: file.to_string(),
                line,
                reason: format!("{kind}: {detail}"),
            });
        }
    }
}

/// Reads every file (CSV, TSV, XLSX) into one ticket list and one summary.
pub fn read_files<P: AsRef<Path>>(
    paths: &[P],
    options: &IngestOptions,
) -> Result<(Vec<Ticket>, IngestSummary)> {
    options.check()?;
    let mut tickets = Vec::new();
    let mut summary = IngestSummary::default();
    for p in paths {
        let path = p.as_ref();
        let is_xlsx = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            matches!(
                e.to_ascii_lowercase().as_str(),
                "xlsx" | "xlsm" | "xls" | "ods"
            )
        });
        if is_xlsx {
            xlsx::read_xlsx(path, options, &mut tickets, &mut summary)?;
        } else {
            let bytes = FileBytes::open(path)
                .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            read_bytes(
                &path.display().to_string(),
                bytes.as_slice(),
                options,
                &mut tickets,
                &mut summary,
            )?;
        }
    }
    Ok((tickets, summary))
}

/// A file's bytes: mapped into memory when it is a regular, non-empty file (no copy, and no
/// fresh memory to clear for it: the pages are the page cache's), else read.
enum FileBytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl FileBytes {
    fn open(path: &Path) -> std::io::Result<FileBytes> {
        let file = std::fs::File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_file() && meta.len() > 0 {
            // SAFETY: the mapping is read-only and lives only while this export is read. The
            // bytes could change under the parser only if another process rewrote the file
            // meanwhile (and reading pages it truncated away raises SIGBUS): exports are files
            // the user chose, finished before they are analysed.
            if let Ok(map) = unsafe { memmap2::MmapOptions::new().populate().map(&file) } {
                return Ok(FileBytes::Mapped(map));
            }
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut bytes)?;
        Ok(FileBytes::Read(bytes))
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Read(v) => v,
        }
    }
}

/// Where a file's name came from, for reports: the file name without directories.
pub fn display_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Expands directories into the export files they contain (`.csv`, `.tsv`, `.txt`, `.xlsx`).
pub fn expand_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| Error::io(format!("listing {}", p.display()), e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|e| {
                    e.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                        matches!(
                            x.to_ascii_lowercase().as_str(),
                            "csv" | "tsv" | "txt" | "xlsx"
                        )
                    })
                })
                .collect();
            entries.sort();
            out.extend(entries);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}
