//! Reading help-desk exports into canonical [`Ticket`]s.
//!
//! Handles the quirks districts meet: localised headers (GLPI in French, German, Spanish…),
//! `,` / `;` / tab delimiters, a UTF-8 BOM, Windows-1252 files, day/month order detected from the
//! data, Excel serial dates, HTML (entities and tags) in cells. Rows that cannot be used are
//! skipped and reported with their line number and reason; the rest is processed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Ticket;
use crate::config::Secret;
use crate::{Error, Result};

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
                        "unknown profile `{name}` (glpi, osticket, zammad, freshservice, google-forms, servicenow, helpdesk4tu, generic)"
                    ),
                ));
            }
        })
    }

    /// Headers that identify the system (normalised form), each worth a point in detection.
    fn signature(self) -> &'static [&'static str] {
        match self {
            Profile::Glpi => &[
                "entity",
                "entite",
                "entidad",
                "einheit",
                "titre",
                "date d ouverture",
                "opening date",
                "lieu",
                "demandeur demandeur",
                "requester requester",
                "attribue a technicien",
                "assigned to technician",
                "solution solution",
                "eroffnungsdatum",
                "fecha de apertura",
            ],
            Profile::OsTicket => &[
                "ticket number",
                "help topic",
                "from email",
                "current status",
                "agent assigned",
                "team assigned",
                "thread count",
                "date created",
            ],
            Profile::Zammad => &[
                "number",
                "title",
                "state",
                "group",
                "owner",
                "customer",
                "organization",
                "created at",
                "closed at",
                "first response at",
                "create channel",
            ],
            Profile::Freshservice => &[
                "ticket id",
                "requester email",
                "requester name",
                "created time",
                "resolved time",
                "closed time",
                "initial response time",
                "sub category",
                "item category",
                "due by time",
            ],
            Profile::GoogleForms => &["timestamp", "horodateur", "marca temporal", "zeitstempel"],
            Profile::ServiceNow => &[
                "number",
                "opened at",
                "short description",
                "caller id",
                "subcategory",
                "assignment group",
                "close notes",
                "resolved at",
                "sys id",
            ],
            Profile::Helpdesk4tu => &[
                "ticket id",
                "created at",
                "first taken at",
                "n events",
                "had wait",
                "first resource",
            ],
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

/// A canonical ticket field a column can map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Ticket id.
    Id,
    /// Creation time.
    Created,
    /// First response time.
    FirstResponse,
    /// Resolution time.
    Resolved,
    /// Closing time.
    Closed,
    /// Category (at open).
    Category,
    /// Sub-category, appended to the category with ` > `.
    Subcategory,
    /// Category at close.
    CategoryClosed,
    /// Site / building / school.
    Site,
    /// Requester identity (hashed on ingest).
    Requester,
    /// Requester role.
    Role,
    /// Priority.
    Priority,
    /// Status.
    Status,
    /// Subject / title.
    Subject,
    /// Body / description.
    Body,
    /// Resolution / solution.
    Resolution,
}

/// Header aliases per field, in normalised form (lower case, accents folded, punctuation → space).
/// Exact matches are tried first, then Google-Forms-style keyword questions.
const ALIASES: &[(Field, &[&str])] = &[
    (
        Field::Id,
        &[
            "id",
            "ticket id",
            "ticket number",
            "number",
            "ticket",
            "ref",
            "reference",
            "numero",
            "nummer",
            "case id",
            "incident number",
        ],
    ),
    (
        Field::Created,
        &[
            "created",
            "created at",
            "created time",
            "created on",
            "date created",
            "opened at",
            "opened",
            "opening date",
            "date d ouverture",
            "date ouverture",
            "eroffnungsdatum",
            "erstellt am",
            "fecha de apertura",
            "fecha de creacion",
            "timestamp",
            "horodateur",
            "marca temporal",
            "zeitstempel",
            "submitted",
            "submitted at",
            "date",
            "create date",
            "creation date",
        ],
    ),
    (
        Field::FirstResponse,
        &[
            "first response at",
            "first response",
            "initial response time",
            "first responded at",
            "first taken at",
            "prise en compte",
            "date de prise en compte",
            "take into account date",
            "first response time",
        ],
    ),
    (
        Field::Resolved,
        &[
            "resolved at",
            "resolved time",
            "resolved",
            "resolution date",
            "date de resolution",
            "date resolution",
            "losungsdatum",
            "fecha de resolucion",
            "solved at",
            "date resolved",
        ],
    ),
    (
        Field::Closed,
        &[
            "closed at",
            "closed time",
            "closed",
            "closed date",
            "closing date",
            "close date",
            "date de cloture",
            "date cloture",
            "schliessungsdatum",
            "fecha de cierre",
            "date closed",
        ],
    ),
    (
        Field::Category,
        &[
            "category",
            "categorie",
            "kategorie",
            "categoria",
            "help topic",
            "type",
            "ticket type",
            "issue type",
            "type of issue",
            "group",
        ],
    ),
    (
        Field::Subcategory,
        &[
            "subcategory",
            "sub category",
            "sous categorie",
            "item category",
        ],
    ),
    (
        Field::CategoryClosed,
        &[
            "closing category",
            "category at close",
            "close code",
            "resolution code",
            "category closed",
        ],
    ),
    (
        Field::Site,
        &[
            "site",
            "location",
            "lieu",
            "standort",
            "ubicacion",
            "localizacion",
            "building",
            "school",
            "campus",
            "department",
            "organization",
            "organisation",
            "entity",
            "entite",
            "entidad",
        ],
    ),
    (
        Field::Requester,
        &[
            "requester",
            "requester email",
            "requester name",
            "requester requester",
            "demandeur demandeur",
            "demandeur",
            "anforderer",
            "solicitante",
            "from email",
            "from",
            "customer",
            "caller",
            "caller id",
            "email address",
            "email",
            "adresse e mail",
            "user",
            "reporter",
        ],
    ),
    (
        Field::Role,
        &[
            "role",
            "requester role",
            "user role",
            "profil",
            "profile",
            "position",
            "job title",
        ],
    ),
    (
        Field::Priority,
        &[
            "priority",
            "priorite",
            "prioritat",
            "prioridad",
            "urgency",
            "urgence",
        ],
    ),
    (
        Field::Status,
        &[
            "status",
            "state",
            "statut",
            "estado",
            "current status",
            "etat",
        ],
    ),
    (
        Field::Subject,
        &[
            "subject",
            "title",
            "titre",
            "titel",
            "titulo",
            "short description",
            "summary",
            "issue",
        ],
    ),
    (
        Field::Body,
        &[
            "description",
            "body",
            "details",
            "message",
            "beschreibung",
            "descripcion",
            "contenu",
            "content",
            "problem description",
        ],
    ),
    (
        Field::Resolution,
        &[
            "resolution",
            "solution",
            "solution solution",
            "close notes",
            "resolution notes",
            "losung",
            "solucion",
            "resolution note",
        ],
    ),
];

/// Keyword rules for free-form question headers (Google Forms), applied when no alias matched.
const QUESTION_KEYWORDS: &[(Field, &[&str])] = &[
    (Field::Requester, &["email", "e mail", "your name"]),
    (
        Field::Site,
        &["school", "building", "campus", "site", "location", "room"],
    ),
    (Field::Role, &["role", "are you a", "position"]),
    (
        Field::Category,
        &["category", "kind of", "type of", "what area", "device"],
    ),
    (
        Field::Subject,
        &["subject", "summary", "short", "title", "in a few words"],
    ),
    (
        Field::Body,
        &[
            "describe",
            "description",
            "details",
            "problem",
            "what happened",
            "issue",
        ],
    ),
    (
        Field::Priority,
        &["urgent", "urgency", "priority", "how soon"],
    ),
];

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
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            profile: None,
            salt: Secret::new("forewarn-tickets"),
            day_first: None,
            max_problems: 200,
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
    /// Rows turned into tickets.
    pub accepted: u64,
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
    /// Rows skipped.
    pub skipped: u64,
}

impl IngestSummary {
    fn skip(&mut self, max: usize, file: &str, line: u64, kind: &str, detail: String) {
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
            read_xlsx(path, options, &mut tickets, &mut summary)?;
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

/// Reads one CSV/TSV export already in memory, appending to `tickets` and `summary`.
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    options: &IngestOptions,
    tickets: &mut Vec<Ticket>,
    summary: &mut IngestSummary,
) -> Result<()> {
    read_bytes_with(name, bytes, options, tickets, summary, SPLIT_MIN)
}

/// Exports at least this large are split across cores at record boundaries.
const SPLIT_MIN: usize = 4 << 20;

/// [`read_bytes`], splitting the rows across cores when there are at least `split_min` bytes of
/// them and the quoting lets record boundaries be found without parsing.
fn read_bytes_with(
    name: &str,
    bytes: &[u8],
    options: &IngestOptions,
    tickets: &mut Vec<Ticket>,
    summary: &mut IngestSummary,
    split_min: usize,
) -> Result<()> {
    let (text, encoding) = decode(bytes);
    let delimiter = sniff_delimiter(&text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut header = csv::StringRecord::new();
    match reader.read_record(&mut header) {
        Ok(true) => {}
        Ok(false) => return Err(Error::invalid("export", format!("{name}: empty file"))),
        Err(e) => return Err(Error::invalid("export", format!("{name}: header: {e}"))),
    }
    let headers: Vec<String> = header.iter().map(|s| s.to_string()).collect();
    let mapping = Mapping::new(&headers, options.profile)
        .map_err(|m| Error::invalid("export", format!("{name}: {m}")))?;
    // First pass over a sample of date cells to settle day/month order.
    let day_first = match options.day_first {
        Some(d) => d,
        None => {
            let mut votes = DateVotes::default();
            let mut sample = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .flexible(true)
                .has_headers(true)
                .from_reader(text.as_bytes());
            for rec in sample.records().take(50_000).flatten() {
                for &c in &mapping.date_columns {
                    if let Some(v) = rec.get(c) {
                        votes.observe(v);
                    }
                }
                if votes.decided() {
                    break;
                }
            }
            votes.day_first(delimiter == b';' || mapping.profile == Profile::Glpi)
        }
    };
    let salt = options.salt.expose()?;
    let ctx = RowContext {
        mapping: &mapping,
        day_first,
        salt: &salt,
        requesters: Default::default(),
    };
    let before_read = summary.read;
    let before_skip = summary.skipped;
    let width = headers.len();
    let body_at = reader.position().byte() as usize;
    let body = &text.as_bytes()[body_at.min(text.len())..];
    let cuts = if body.len() >= split_min {
        record_cuts(body, delimiter, rayon::current_num_threads() * 4)
    } else {
        None
    };
    if let Some(cuts) = cuts {
        // Each part parsed by its own reader on its own core; merged in file order.
        // Lines before each part, for the line numbers of skipped rows.
        let counts: Vec<u64> = cuts
            .par_windows(2)
            .map(|w| memchr::memchr_iter(b'\n', &body[w[0]..w[1]]).count() as u64)
            .collect();
        let bases: Vec<u64> = counts
            .iter()
            .scan(reader.position().line() - 1, |lines, n| {
                let base = *lines;
                *lines += n;
                Some(base)
            })
            .collect();
        let parts: Vec<Part> = cuts
            .par_windows(2)
            .zip(bases.par_iter().zip(counts.par_iter()))
            .map(|(w, (&base, &lines))| {
                read_part(&body[w[0]..w[1]], delimiter, width, base, lines, &ctx)
            })
            .collect();
        // Problems and counts in file order; the tickets are moved into place afterwards.
        let mut row_base = Vec::with_capacity(parts.len());
        let mut row_no = 0u64;
        for part in &parts {
            row_base.push(row_no);
            row_no += part.rows;
            summary.read += part.errors.len() as u64 + part.rows;
            summary.accepted += part.tickets.len() as u64;
            for (line, msg) in &part.errors {
                summary.skip(
                    options.max_problems,
                    name,
                    *line,
                    "unreadable row",
                    msg.clone(),
                );
            }
            for (line, (kind, detail)) in &part.skipped {
                summary.skip(options.max_problems, name, *line, kind, detail.clone());
            }
        }
        move_parts(tickets, parts, &row_base);
    } else {
        // Records are read sequentially in batches; while one batch is turned into tickets in
        // parallel, the next one is read. Tickets are appended in file order.
        let process = |batch: &[csv::ByteRecord],
                       first_row: u64|
         -> Vec<(u64, std::result::Result<Ticket, RowError>)> {
            batch
                .par_iter()
                .enumerate()
                .map(|(k, rec)| {
                    let row = first_row + k as u64 + 1;
                    let line = rec.position().map(|p| p.line()).unwrap_or(row + 1);
                    if let Err(e) = check_width(rec, width) {
                        return (line, Err(e));
                    }
                    (line, ctx.build(&cells_of(rec), row, &mut false))
                })
                .collect()
        };
        let mut cur = Batch::default();
        cur.fill(&mut reader);
        let mut spare = Batch::default();
        let mut row_no = 0u64;
        loop {
            for (line, msg) in cur.errors.drain(..) {
                summary.read += 1;
                summary.skip(options.max_problems, name, line, "unreadable row", msg);
            }
            if cur.n == 0 && cur.done {
                break;
            }
            let first_row = row_no;
            row_no += cur.n as u64;
            let more = !cur.done;
            let (_, results) = rayon::join(
                || {
                    if more {
                        spare.fill(&mut reader);
                    } else {
                        spare.n = 0;
                        spare.done = true;
                    }
                },
                || process(&cur.records[..cur.n], first_row),
            );
            for (line, r) in results {
                summary.read += 1;
                match r {
                    Ok(t) => {
                        summary.accepted += 1;
                        tickets.push(t);
                    }
                    Err((kind, detail)) => {
                        summary.skip(options.max_problems, name, line, kind, detail)
                    }
                }
            }
            std::mem::swap(&mut cur, &mut spare);
        }
    }
    summary.files.push(FileSummary {
        file: name.to_string(),
        profile: mapping.profile,
        delimiter: Some(delimiter as char),
        encoding: encoding.to_string(),
        day_first,
        columns: mapping.describe(&headers),
        read: summary.read - before_read,
        skipped: summary.skipped - before_skip,
    });
    Ok(())
}

fn read_xlsx(
    path: &Path,
    options: &IngestOptions,
    tickets: &mut Vec<Ticket>,
    summary: &mut IngestSummary,
) -> Result<()> {
    use calamine::{Data, Reader, open_workbook_auto};
    let name = path.display().to_string();
    let mut wb =
        open_workbook_auto(path).map_err(|e| Error::invalid("export", format!("{name}: {e}")))?;
    let sheet = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| Error::invalid("export", format!("{name}: workbook has no sheet")))?;
    let range = wb
        .worksheet_range(&sheet)
        .map_err(|e| Error::invalid("export", format!("{name}: {e}")))?;
    let first_row = range.start().map(|(r, _)| r as u64).unwrap_or(0);
    let mut rows = range.rows();
    let header: Vec<String> = match rows.next() {
        Some(h) => h.iter().map(|c| c.to_string()).collect(),
        None => return Err(Error::invalid("export", format!("{name}: empty sheet"))),
    };
    let mapping = Mapping::new(&header, options.profile)
        .map_err(|m| Error::invalid("export", format!("{name}: {m}")))?;
    let all: Vec<&[Data]> = rows.collect();
    let day_first = options.day_first.unwrap_or_else(|| {
        let mut votes = DateVotes::default();
        for r in &all {
            for &c in &mapping.date_columns {
                if let Some(Data::String(s)) = r.get(c) {
                    votes.observe(s);
                }
            }
        }
        votes.day_first(false)
    });
    let salt = options.salt.expose()?;
    let ctx = RowContext {
        mapping: &mapping,
        day_first,
        salt: &salt,
        requesters: Default::default(),
    };
    let before_read = summary.read;
    let before_skip = summary.skipped;
    for (i, r) in all.iter().enumerate() {
        let line = first_row + i as u64 + 2;
        summary.read += 1;
        if r.iter().all(|c| matches!(c, Data::Empty)) {
            summary.read -= 1;
            continue;
        }
        let texts: Vec<String> = r
            .iter()
            .map(|c| match c {
                Data::String(s) => s.clone(),
                Data::Float(f) => {
                    if f.fract() == 0.0 {
                        format!("{}", *f as i64)
                    } else {
                        f.to_string()
                    }
                }
                Data::Int(i) => i.to_string(),
                Data::Bool(b) => b.to_string(),
                Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                Data::DateTime(_) | Data::Empty | Data::Error(_) => String::new(),
            })
            .collect();
        let cells: Vec<Cell<'_>> = r
            .iter()
            .zip(&texts)
            .map(|(c, t)| match c {
                Data::DateTime(d) => Cell::Serial(d.as_f64()),
                _ => Cell::Text(t.as_str()),
            })
            .collect();
        match ctx.build(&cells, i as u64 + 1, &mut false) {
            Ok(t) => {
                summary.accepted += 1;
                tickets.push(t);
            }
            Err((kind, detail)) => summary.skip(options.max_problems, &name, line, kind, detail),
        }
    }
    summary.files.push(FileSummary {
        file: name,
        profile: mapping.profile,
        delimiter: None,
        encoding: "xlsx".into(),
        day_first,
        columns: mapping.describe(&header),
        read: summary.read - before_read,
        skipped: summary.skipped - before_skip,
    });
    Ok(())
}

/// One part of a split export: its unreadable rows, its tickets, and its skipped rows.
#[derive(Default)]
struct Part {
    /// Unreadable rows: line and message.
    errors: Vec<(u64, String)>,
    /// Rows read (tickets and skipped rows; not the unreadable ones).
    rows: u64,
    /// The part's tickets in file order.
    tickets: Vec<Ticket>,
    /// Per ticket whose id is the row-number fallback: its index in `tickets` and its row number
    /// within the part (the id is set once the rows before the part are known).
    fallback_ids: Vec<(usize, u64)>,
    /// Skipped rows: line and problem.
    skipped: Vec<(u64, RowError)>,
}

/// The rows of one part; `base` lines come before it in the file and it holds `lines` line ends
/// (at least as many as its records, so its tickets never need a larger buffer).
fn read_part(
    bytes: &[u8],
    delimiter: u8,
    width: usize,
    base: u64,
    lines: u64,
    ctx: &RowContext<'_>,
) -> Part {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(bytes);
    let mut part = Part {
        tickets: Vec::with_capacity(lines as usize + 1),
        ..Default::default()
    };
    let mut rec = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut rec) {
            Ok(true) => {
                part.rows += 1;
                let local = part.rows;
                let line = base + rec.position().map(|p| p.line()).unwrap_or(local);
                if let Err(e) = check_width(&rec, width) {
                    part.skipped.push((line, e));
                    continue;
                }
                let cells = cells_of(&rec);
                let mut fallback_id = false;
                match ctx.build(&cells, local, &mut fallback_id) {
                    Ok(t) => {
                        if fallback_id {
                            part.fallback_ids.push((part.tickets.len(), local));
                        }
                        part.tickets.push(t);
                    }
                    Err(e) => part.skipped.push((line, e)),
                }
            }
            Ok(false) => return part,
            Err(e) => {
                let line = base + e.position().map(|p| p.line()).unwrap_or(0);
                part.errors.push((line, e.to_string()));
            }
        }
    }
}

/// Appends the parts' tickets to `tickets` in file order, each part moved on its own core (a
/// million tickets are a few hundred megabytes: copied by one core, and the fresh pages cleared
/// by the kernel for one core, that is a noticeable sequential step). Tickets with the row-number
/// fallback id get their file-wide row number (`row_base[k]` rows come before part `k`).
fn move_parts(tickets: &mut Vec<Ticket>, parts: Vec<Part>, row_base: &[u64]) {
    // Every part needs its row base, or the zip below would leave slots unwritten.
    assert_eq!(parts.len(), row_base.len(), "one row base per part");
    let start = tickets.len();
    let total: usize = parts.iter().map(|p| p.tickets.len()).sum();
    tickets.reserve(total);
    let mut rest = &mut tickets.spare_capacity_mut()[..total];
    let mut slots = Vec::with_capacity(parts.len());
    for part in &parts {
        let (head, tail) = rest.split_at_mut(part.tickets.len());
        slots.push(head);
        rest = tail;
    }
    parts
        .into_par_iter()
        .zip(slots)
        .zip(row_base.par_iter())
        .for_each(|((part, slots), &base)| {
            let mut fallback = part.fallback_ids.iter().peekable();
            for (i, (slot, mut t)) in slots.iter_mut().zip(part.tickets).enumerate() {
                if let Some(&(_, local)) = fallback.next_if(|(j, _)| *j == i) {
                    t.id = format!("row-{}", base + local);
                }
                slot.write(t);
            }
        });
    // SAFETY: the slots are the `total` elements after `start`, split into one disjoint slice
    // per part of exactly that part's ticket count, and every slot of every slice was written
    // above (the zip pairs each slot with one ticket and the counts are equal).
    unsafe { tickets.set_len(start + total) };
}

/// A row with the header's number of fields (a trailing empty one from a trailing delimiter is
/// harmless).
fn check_width(rec: &csv::ByteRecord, width: usize) -> std::result::Result<(), RowError> {
    let trailing_ok = rec.len() == width + 1 && rec.get(width) == Some(&b""[..]);
    if rec.len() != width && !trailing_ok {
        return Err((
            "wrong field count",
            format!("expected {} fields, found {}", width, rec.len()),
        ));
    }
    Ok(())
}

/// The record's fields as text cells (a field that is not UTF-8 is empty). The record is checked
/// as a whole, once, rather than field by field.
fn cells_of(rec: &csv::ByteRecord) -> Vec<Cell<'_>> {
    match std::str::from_utf8(rec.as_slice()) {
        // Fields end at ASCII delimiters and quotes, so their bounds are char boundaries of a
        // valid record; `get` checks it anyway.
        Ok(all) => (0..rec.len())
            .map(|i| Cell::Text(rec.range(i).and_then(|r| all.get(r)).unwrap_or("")))
            .collect(),
        Err(_) => rec
            .iter()
            .map(|f| Cell::Text(std::str::from_utf8(f).unwrap_or("")))
            .collect(),
    }
}

/// Where to split `body` (rows after the header) into about `parts` parts at record boundaries:
/// the offsets of the parts' starts and the end. `None` when quoting is irregular (a quote
/// opening anywhere but at the start of a field), where only a real parse can tell where a
/// record ends.
fn record_cuts(body: &[u8], delimiter: u8, parts: usize) -> Option<Vec<usize>> {
    let mut quotes = Vec::new();
    let mut inside = false;
    let mut last: Option<usize> = None;
    for i in memchr::memchr_iter(b'"', body) {
        if !inside {
            let escape = last == Some(i.wrapping_sub(1));
            let at_field_start =
                i == 0 || matches!(body[i - 1], b'\n' | b'\r') || body[i - 1] == delimiter;
            if !escape && !at_field_start {
                return None;
            }
        }
        inside = !inside;
        last = Some(i);
        quotes.push(i);
    }
    if inside {
        return None;
    }
    let mut cuts = vec![0];
    for k in 1..parts.max(1) {
        let mut at = (body.len() * k / parts).max(*cuts.last().unwrap_or(&0));
        // The first line end at or after `at` outside quotes.
        let cut = loop {
            let nl = at + memchr::memchr(b'\n', body.get(at..)?)?;
            if quotes.partition_point(|&q| q < nl) % 2 == 0 {
                break nl + 1;
            }
            at = nl + 1;
        };
        if cut < body.len() && cut > *cuts.last().unwrap_or(&0) {
            cuts.push(cut);
        }
    }
    cuts.push(body.len());
    (cuts.len() > 2).then_some(cuts)
}

/// A batch of raw CSV records read ahead of processing.
#[derive(Default)]
struct Batch {
    records: Vec<csv::ByteRecord>,
    n: usize,
    done: bool,
    errors: Vec<(u64, String)>,
}

impl Batch {
    const SIZE: usize = 16_384;

    fn fill(&mut self, reader: &mut csv::Reader<&[u8]>) {
        self.n = 0;
        while self.n < Self::SIZE {
            if self.records.len() == self.n {
                self.records.push(csv::ByteRecord::new());
            }
            match reader.read_byte_record(&mut self.records[self.n]) {
                Ok(true) => self.n += 1,
                Ok(false) => {
                    self.done = true;
                    return;
                }
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    self.errors.push((line, e.to_string()));
                }
            }
        }
    }
}

/// A cell as found in the file.
enum Cell<'a> {
    Text(&'a str),
    /// An Excel serial date.
    Serial(f64),
}

impl Cell<'_> {
    fn text(&self) -> &str {
        match self {
            Cell::Text(s) => s.trim(),
            Cell::Serial(_) => "",
        }
    }
}

struct RowContext<'m> {
    mapping: &'m Mapping,
    day_first: bool,
    salt: &'m str,
    /// Hashed requesters by cell text (`None`: nothing left once cleaned): the same few
    /// thousand people file most tickets.
    requesters: parking_lot::Mutex<super::FastMap<String, Option<String>>>,
}

/// At most this many distinct requesters are remembered per file.
const REQUESTER_CACHE: usize = 100_000;

type RowError = (&'static str, String);

impl RowContext<'_> {
    fn date(
        &self,
        cells: &[Cell<'_>],
        f: Field,
    ) -> std::result::Result<Option<NaiveDateTime>, RowError> {
        let Some(col) = self.mapping.column(f) else {
            return Ok(None);
        };
        match cells.get(col) {
            None => Ok(None),
            Some(Cell::Serial(v)) => Ok(excel_serial(*v)),
            Some(Cell::Text(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    return Ok(None);
                }
                if let Ok(v) = s.parse::<f64>()
                    && (20_000.0..80_000.0).contains(&v)
                {
                    return Ok(excel_serial(v));
                }
                match parse_datetime(s, self.day_first) {
                    Some(d) => Ok(Some(d)),
                    None => Err((
                        "bad date",
                        format!("{} `{}` is not a date", field_name(f), s),
                    )),
                }
            }
        }
    }

    fn text(&self, cells: &[Cell<'_>], f: Field) -> Option<String> {
        let col = self.mapping.column(f)?;
        let s = cells.get(col)?.text();
        if s.is_empty() {
            return None;
        }
        let clean = clean_html(s);
        (!clean.is_empty()).then_some(clean)
    }

    /// The salted hash of the row's requester, computed once per distinct identity: the cache is
    /// keyed by the cell as found, so a known requester costs neither cleaning nor hashing.
    fn requester(&self, cells: &[Cell<'_>]) -> Option<String> {
        let raw = cells.get(self.mapping.column(Field::Requester)?)?.text();
        if raw.is_empty() {
            return None;
        }
        if let Some(hashed) = self.requesters.lock().get(raw) {
            return hashed.clone();
        }
        let clean = clean_html(raw);
        let hashed = (!clean.is_empty()).then(|| hash_requester(self.salt, &clean));
        let mut cache = self.requesters.lock();
        if cache.len() < REQUESTER_CACHE {
            cache.insert(raw.to_owned(), hashed.clone());
        }
        hashed
    }

    /// The row's ticket; `fallback_id` is set when the row has no id and `row-{row_no}` is used.
    fn build(
        &self,
        cells: &[Cell<'_>],
        row_no: u64,
        fallback_id: &mut bool,
    ) -> std::result::Result<Ticket, RowError> {
        let created = match self.date(cells, Field::Created)? {
            Some(c) => c,
            None => return Err(("missing date", "the creation date is empty".into())),
        };
        let mut category = self.text(cells, Field::Category).map(normalise_category);
        if let Some(sub) = self.text(cells, Field::Subcategory) {
            category = Some(match category {
                Some(mut c) => {
                    c.push_str(" > ");
                    c.push_str(&normalise_category(sub));
                    c
                }
                None => normalise_category(sub),
            });
        }
        let requester = self.requester(cells);
        let subject = self.text(cells, Field::Subject).unwrap_or_default();
        let body = self.text(cells, Field::Body).unwrap_or_default();
        Ok(Ticket {
            id: self.text(cells, Field::Id).unwrap_or_else(|| {
                *fallback_id = true;
                format!("row-{row_no}")
            }),
            created,
            first_response: self.date(cells, Field::FirstResponse)?,
            resolved: self.date(cells, Field::Resolved)?,
            closed: self.date(cells, Field::Closed)?,
            category,
            category_closed: self
                .text(cells, Field::CategoryClosed)
                .map(normalise_category),
            site: self.text(cells, Field::Site),
            requester,
            role: self.text(cells, Field::Role),
            priority: self.text(cells, Field::Priority),
            status: self.text(cells, Field::Status),
            subject,
            body,
            resolution: self.text(cells, Field::Resolution).unwrap_or_default(),
        })
    }
}

fn field_name(f: Field) -> &'static str {
    match f {
        Field::Created => "creation date",
        Field::FirstResponse => "first response date",
        Field::Resolved => "resolution date",
        Field::Closed => "closing date",
        _ => "field",
    }
}

/// Hashes a requester identity with a salt: the first 16 hex digits of SHA-256(salt ‖ identity),
/// the identity lower-cased and trimmed so `Ann@X.org` and `ann@x.org ` agree.
pub fn hash_requester(salt: &str, identity: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(identity.trim().to_lowercase().as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// `Matériel>Imprimante` → `Matériel > Imprimante`; trims each level.
fn normalise_category(c: String) -> String {
    if c.contains('>') {
        c.split('>')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" > ")
    } else if c.trim().len() == c.len() {
        c
    } else {
        c.trim().to_string()
    }
}

/// Column mapping for one file.
struct Mapping {
    profile: Profile,
    fields: BTreeMap<Field, usize>,
    /// `fields` as a table indexed by field, for the per-row look-ups.
    columns: [Option<usize>; FIELDS],
    date_columns: Vec<usize>,
}

/// How many [`Field`]s there are.
const FIELDS: usize = Field::Resolution as usize + 1;

impl Mapping {
    fn new(headers: &[String], forced: Option<Profile>) -> std::result::Result<Mapping, String> {
        let norm: Vec<String> = headers.iter().map(|h| normalise_header(h)).collect();
        let profile = forced.unwrap_or_else(|| detect_profile(&norm));
        let mut fields: BTreeMap<Field, usize> = BTreeMap::new();
        // Profile-specific preferences first.
        let prefs: &[(Field, &str)] = match profile {
            Profile::ServiceNow => &[
                (Field::Id, "number"),
                (Field::Created, "opened at"),
                (Field::Subject, "short description"),
                (Field::Requester, "caller id"),
                (Field::Status, "state"),
                (Field::Site, "location"),
            ],
            Profile::Zammad => &[
                (Field::Id, "number"),
                (Field::Created, "created at"),
                (Field::Requester, "customer"),
                (Field::Site, "organization"),
                (Field::Category, "group"),
            ],
            Profile::OsTicket => &[
                (Field::Id, "ticket number"),
                (Field::Created, "date created"),
                (Field::Category, "help topic"),
                (Field::Requester, "from email"),
                (Field::Site, "department"),
                (Field::Status, "current status"),
            ],
            Profile::Freshservice => &[
                (Field::Id, "ticket id"),
                (Field::Created, "created time"),
                (Field::Requester, "requester email"),
                (Field::Site, "location"),
                (Field::FirstResponse, "initial response time"),
            ],
            Profile::Glpi => &[
                (Field::Site, "lieu"),
                (Field::Site, "location"),
                (Field::Site, "standort"),
                (Field::Requester, "demandeur demandeur"),
                (Field::Requester, "requester requester"),
            ],
            Profile::Helpdesk4tu => &[
                (Field::Id, "ticket id"),
                (Field::Created, "created at"),
                (Field::FirstResponse, "first taken at"),
                (Field::Category, "first resource"),
            ],
            Profile::GoogleForms | Profile::Generic => &[],
        };
        for (f, h) in prefs {
            if fields.contains_key(f) {
                continue;
            }
            if let Some(i) = norm.iter().position(|n| n == h) {
                fields.insert(*f, i);
            }
        }
        let taken = |fields: &BTreeMap<Field, usize>, i: usize| fields.values().any(|&v| v == i);
        for (f, aliases) in ALIASES {
            if fields.contains_key(f) {
                continue;
            }
            for a in *aliases {
                if let Some(i) = norm.iter().position(|n| n == a)
                    && !taken(&fields, i)
                {
                    fields.insert(*f, i);
                    break;
                }
            }
        }
        // Free-form questions (Google Forms and similar): keyword rules.
        for (i, n) in norm.iter().enumerate() {
            if taken(&fields, i) || n.split(' ').count() < 2 {
                continue;
            }
            for (f, kws) in QUESTION_KEYWORDS {
                if !fields.contains_key(f) && kws.iter().any(|k| contains_words(n, k)) {
                    fields.insert(*f, i);
                    break;
                }
            }
        }
        if !fields.contains_key(&Field::Created) {
            return Err(format!(
                "no creation-date column found among the headers [{}] (profile {profile})",
                headers.join(", ")
            ));
        }
        let date_columns = [
            Field::Created,
            Field::FirstResponse,
            Field::Resolved,
            Field::Closed,
        ]
        .iter()
        .filter_map(|f| fields.get(f).copied())
        .collect();
        let mut columns = [None; FIELDS];
        for (&f, &i) in &fields {
            columns[f as usize] = Some(i);
        }
        Ok(Mapping {
            profile,
            fields,
            columns,
            date_columns,
        })
    }

    /// The column of a field, when mapped.
    fn column(&self, f: Field) -> Option<usize> {
        self.columns[f as usize]
    }

    fn describe(&self, headers: &[String]) -> BTreeMap<String, Field> {
        self.fields
            .iter()
            .map(|(f, &i)| (headers[i].trim_start_matches('\u{feff}').to_string(), *f))
            .collect()
    }
}

fn contains_words(haystack: &str, needle: &str) -> bool {
    let h = format!(" {haystack} ");
    h.contains(&format!(" {needle} ")) || (needle.contains(' ') && h.contains(needle))
}

fn detect_profile(norm: &[String]) -> Profile {
    let mut best = (0usize, Profile::Generic);
    for p in Profile::ALL {
        let score = p
            .signature()
            .iter()
            .filter(|s| norm.iter().any(|n| n == *s))
            .count();
        if score > best.0 {
            best = (score, p);
        }
    }
    // Google Forms: a timestamp column and question-like headers.
    if best.1 == Profile::GoogleForms || best.0 < 2 {
        let questions = norm.iter().filter(|n| n.split(' ').count() >= 4).count();
        if norm
            .iter()
            .any(|n| Profile::GoogleForms.signature().contains(&n.as_str()))
            && questions >= 1
        {
            return Profile::GoogleForms;
        }
        if best.0 < 2 {
            return Profile::Generic;
        }
    }
    best.1
}

/// Normalises a header: strips a BOM, folds accents, lower-cases, turns punctuation into spaces.
pub fn normalise_header(h: &str) -> String {
    let mut out = String::with_capacity(h.len());
    let mut space = false;
    for c in h.trim_start_matches('\u{feff}').chars() {
        let c = fold_accent(c);
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else {
            space = true;
        }
    }
    out
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'À' | 'Á' | 'Â' | 'Ä' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'Ô' | 'Ö' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Û' | 'Ü' => 'u',
        'ß' => 's',
        '’' | '\'' => ' ',
        c => c,
    }
}

/// Decodes file bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252.
pub fn decode(bytes: &[u8]) -> (std::borrow::Cow<'_, str>, &'static str) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF")
        && let Ok(s) = std::str::from_utf8(rest)
    {
        return (s.into(), "UTF-8 (BOM)");
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        let (enc, _) = encoding_rs::Encoding::for_bom(bytes).unwrap_or((encoding_rs::UTF_16LE, 2));
        let (s, _, _) = enc.decode(bytes);
        return (std::borrow::Cow::Owned(s.into_owned()), enc.name());
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.into(), "UTF-8"),
        Err(_) => {
            let (s, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (std::borrow::Cow::Owned(s.into_owned()), "windows-1252")
        }
    }
}

/// Picks the delimiter (`,`, `;` or tab) that splits the first lines most consistently
/// (counting only outside double quotes).
pub fn sniff_delimiter(text: &str) -> u8 {
    let mut lines: Vec<[usize; 3]> = Vec::new();
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    for c in text.chars().take(64 * 1024) {
        match c {
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => counts[0] += 1,
            ';' if !in_quotes => counts[1] += 1,
            '\t' if !in_quotes => counts[2] += 1,
            '\n' if !in_quotes => {
                lines.push(counts);
                counts = [0; 3];
                if lines.len() >= 20 {
                    break;
                }
            }
            _ => {}
        }
    }
    if counts.iter().any(|&c| c > 0) {
        lines.push(counts);
    }
    let candidates = [b',', b';', b'\t'];
    let mut best = (0.0f64, b',');
    for (k, d) in candidates.iter().enumerate() {
        let Some(first) = lines.first().map(|l| l[k]) else {
            continue;
        };
        if first == 0 {
            continue;
        }
        let consistent = lines.iter().filter(|l| l[k] == first).count() as f64 / lines.len() as f64;
        let score = consistent * 1000.0 + first as f64;
        if score > best.0 {
            best = (score, *d);
        }
    }
    best.1
}

/// Evidence for day-first vs month-first numeric dates.
#[derive(Debug, Default)]
struct DateVotes {
    day_first: u32,
    month_first: u32,
    dotted: u32,
    iso: u32,
}

impl DateVotes {
    fn observe(&mut self, s: &str) {
        let s = s.trim();
        let mut nums = s
            .split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty());
        let (Some(a), Some(b)) = (nums.next(), nums.next()) else {
            return;
        };
        if a.len() == 4 {
            self.iso += 1; // ISO: year first, no ambiguity
            return;
        }
        if s.contains('.') && !s.contains('/') {
            self.dotted += 1;
        }
        let (a, b): (u32, u32) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
        if a > 12 && b <= 12 {
            self.day_first += 1;
        } else if b > 12 && a <= 12 {
            self.month_first += 1;
        }
    }

    fn decided(&self) -> bool {
        self.day_first + self.month_first >= 20 || self.iso >= 1_000
    }

    fn day_first(&self, locale_hint: bool) -> bool {
        if self.day_first != self.month_first {
            self.day_first > self.month_first
        } else {
            locale_hint || self.dotted > 0
        }
    }
}

/// Parses the date/time shapes found in exports: ISO (`2024-09-03 08:15:00`, `T`, offsets, `Z`),
/// `03/09/2024 8:15`, `9/3/2024 8:15:00 PM`, `03.09.2024`, two-digit years.
/// Numeric day/month order follows `day_first` unless one part is above 12.
pub fn parse_datetime(s: &str, day_first: bool) -> Option<NaiveDateTime> {
    let s = s.trim();
    let bytes = s.as_bytes();
    let mut nums = [0u32; 7];
    let mut lens = [0usize; 7];
    let mut n = 0;
    let mut i = 0;
    while i < bytes.len() && n < 7 {
        if bytes[i].is_ascii_digit() {
            let start = i;
            let mut v: u32 = 0;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                v = v
                    .saturating_mul(10)
                    .saturating_add((bytes[i] - b'0') as u32);
                i += 1;
            }
            nums[n] = v;
            lens[n] = i - start;
            n += 1;
        } else {
            // A `+hh:mm` / `-hh:mm` after the time is an offset: stop there.
            if n >= 5 && (bytes[i] == b'+' || bytes[i] == b'-') {
                break;
            }
            i += 1;
        }
    }
    if n < 3 {
        return None;
    }
    let (y, m, d) = if lens[0] == 4 {
        (nums[0] as i32, nums[1], nums[2])
    } else {
        let (a, b) = (nums[0], nums[1]);
        let mut y = nums[2] as i32;
        if lens[2] == 2 {
            y += 2000;
        } else if lens[2] != 4 {
            return None;
        }
        let (d, m) = if a > 12 {
            (a, b)
        } else if b > 12 {
            (b, a)
        } else if day_first {
            (a, b)
        } else {
            (b, a)
        };
        (y, m, d)
    };
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    let mut h = if n > 3 { nums[3] } else { 0 };
    let min = if n > 4 { nums[4] } else { 0 };
    let sec = if n > 5 { nums[5] } else { 0 };
    let has_letters = bytes
        .iter()
        .any(|b| b.is_ascii_alphabetic() && *b != b'T' && *b != b'Z');
    let (pm, am) = if has_letters {
        let lower = s.to_ascii_lowercase();
        (
            lower.ends_with("pm") || lower.contains(" pm") || lower.contains("p.m."),
            lower.ends_with("am") || lower.contains(" am") || lower.contains("a.m."),
        )
    } else {
        (false, false)
    };
    if pm && h < 12 {
        h += 12;
    } else if am && h == 12 {
        h = 0;
    }
    let time = NaiveTime::from_hms_opt(h, min, sec.min(59))?;
    Some(NaiveDateTime::new(date, time))
}

/// An Excel serial date (days since 1899-12-30) as a date-time.
pub fn excel_serial(v: f64) -> Option<NaiveDateTime> {
    if !(1.0..200_000.0).contains(&v) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
    let secs = (v * 86_400.0).round() as i64;
    base.checked_add_signed(chrono::TimeDelta::seconds(secs))
}

/// Strips HTML from a cell: entities decoded (twice, for GLPI's double encoding), tags removed
/// (`<br>`, `</p>`, `</div>`, `</li>` become line breaks), whitespace collapsed per line.
pub fn clean_html(s: &str) -> String {
    if !looks_like_html(s) {
        return collapse_ws(s);
    }
    let mut cur = s.to_string();
    for _ in 0..2 {
        let decoded = html_escape::decode_html_entities(&cur).into_owned();
        cur = strip_tags(&decoded);
        if !looks_like_html(&cur) {
            break;
        }
    }
    collapse_ws(&cur)
}

/// Whether a cell holds a tag (`<p`, `</`, `<!--`) or an entity (`&amp;`, `&#39;`).
fn looks_like_html(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memchr2_iter(b'<', b'&', b).any(|i| match b[i] {
        b'<' => b
            .get(i + 1)
            .is_some_and(|n| n.is_ascii_alphabetic() || *n == b'/' || *n == b'!'),
        _ => {
            let rest = &b[i + 1..b.len().min(i + 12)];
            rest.first()
                .is_some_and(|n| n.is_ascii_alphanumeric() || *n == b'#')
                && rest.contains(&b';')
        }
    })
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        // Only treat it as a tag when it looks like one (`<p`, `</p`, `<br/`, `<!--`).
        let looks_like_tag = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
        match (looks_like_tag, after.find('>')) {
            (true, Some(end)) => {
                let tag = after[..end].trim_start_matches('/').to_ascii_lowercase();
                let name: String = tag
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                if matches!(
                    name.as_str(),
                    "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3"
                ) {
                    out.push('\n');
                } else if matches!(name.as_str(), "td" | "th") {
                    out.push(' ');
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn collapse_ws(s: &str) -> String {
    // One pass: runs of whitespace become one space, line breaks survive, blank lines and
    // spaces at line ends go (the same as joining each line's `split_whitespace()` words).
    let trimmed = s.trim();
    // Most cells are clean already: one vectorised scan and one copy.
    if !needs_collapsing(trimmed.as_bytes()) {
        return trimmed.to_owned();
    }
    let mut out = String::with_capacity(trimmed.len());
    let mut space = false;
    let mut newline = false;
    for c in trimmed.chars() {
        if c == '\n' {
            newline = !out.is_empty();
            space = false;
        } else if c.is_whitespace() {
            space = !out.is_empty() && !newline;
        } else {
            if newline {
                out.push('\n');
            } else if space {
                out.push(' ');
            }
            newline = false;
            space = false;
            out.push(c);
        }
    }
    out
}

/// Whether collapsing could change `b` (already trimmed): a byte beyond ASCII (other Unicode
/// whitespace takes the slow path), a control byte below 0x0E other than a line break (CR, tab,
/// VT, FF among them), or two spaces or line breaks in a row. Eight bytes at a time, with the
/// usual bit tricks on a `u64` (flags in each byte's high bit, exact per byte).
fn needs_collapsing(b: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const LOW7: u64 = !HI;
    // High bit set in each byte of `x` equal to `c`.
    let eq = |x: u64, c: u8| {
        let y = x ^ (LO * c as u64);
        !(((y & LOW7) + LOW7) | y | LOW7)
    };
    // Whether the word has an odd byte, and its space / line-break flags.
    let scan = |x: u64| {
        let newline = eq(x, b'\n');
        // Below 0x0E: adding 0x72 to the low seven bits leaves the high bit clear (no carry
        // crosses a byte: 0x7F + 0x72 < 0x100); bytes at or above 0x80 are odd anyway.
        let low = !((x & LOW7) + LO * 0x72) & HI;
        let odd = (x & HI) | (low & !newline);
        (odd != 0, eq(x, b' ') | newline)
    };
    let mut chunks = b.chunks_exact(8);
    // The previous word's last byte's flag, moved to the first byte's place.
    let mut prev = 0u64;
    for chunk in &mut chunks {
        let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let (odd, ws) = scan(x);
        if odd || ws & ((ws << 8) | prev) != 0 {
            return true;
        }
        prev = ws >> 56;
    }
    let rest = chunks.remainder();
    if rest.is_empty() {
        return false;
    }
    // The tail padded with letters (neither odd nor whitespace).
    let mut tail = [b'a'; 8];
    tail[..rest.len()].copy_from_slice(rest);
    let (odd, ws) = scan(u64::from_le_bytes(tail));
    odd || ws & ((ws << 8) | prev) != 0
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_many_shapes() {
        let d = |s, df| parse_datetime(s, df).map(|d| d.to_string());
        assert_eq!(
            d("2010-01-13 08:40:25+00:00", false).unwrap(),
            "2010-01-13 08:40:25"
        );
        assert_eq!(
            d("2024-09-03T08:15:00Z", false).unwrap(),
            "2024-09-03 08:15:00"
        );
        assert_eq!(d("03/09/2024 08:15", true).unwrap(), "2024-09-03 08:15:00");
        assert_eq!(d("03/09/2024 08:15", false).unwrap(), "2024-03-09 08:15:00");
        assert_eq!(
            d("9/23/2024 1:05:00 PM", true).unwrap(),
            "2024-09-23 13:05:00"
        );
        assert_eq!(d("23.09.24", false).unwrap(), "2024-09-23 00:00:00");
        assert!(d("31/31/2024", true).is_none());
        assert!(d("soon", true).is_none());
    }

    #[test]
    fn html_is_stripped_and_entities_decoded() {
        assert_eq!(
            clean_html("&lt;p&gt;L&amp;#039;imprimante&lt;/p&gt;&lt;p&gt;ne marche pas&lt;/p&gt;"),
            "L'imprimante\nne marche pas"
        );
        assert_eq!(
            clean_html("<b>Projector</b> in room&nbsp;12 &amp; 14"),
            "Projector in room 12 & 14"
        );
        assert_eq!(clean_html("x < 3 and y > 2"), "x < 3 and y > 2");
    }

    #[test]
    fn delimiter_and_headers() {
        assert_eq!(sniff_delimiter("a;b;c\n1;\"x,y\";3\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\tc\n1\t2\t3\n"), b'\t');
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(
            normalise_header("\u{feff}Date d'ouverture"),
            "date d ouverture"
        );
        assert_eq!(normalise_header("Catégorie"), "categorie");
    }

    #[test]
    fn requester_hash_is_salted_and_case_blind() {
        let a = hash_requester("s1", "Ann@School.org ");
        assert_eq!(a, hash_requester("s1", "ann@school.org"));
        assert_ne!(a, hash_requester("s2", "ann@school.org"));
        assert_eq!(a.len(), 16);
        assert!(!a.contains("ann"));
    }

    #[test]
    fn whitespace_collapses_like_joining_the_words_of_each_line() {
        let reference = |s: &str| {
            s.trim()
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        };
        for s in [
            "",
            "  plain text  ",
            "a  b\t c\r\nd \n\n\n  e\u{a0}f\u{2003}g \r\n",
            "\n\n lead\n\t\ntrail \u{a0}\n",
            "caf\u{e9}  cr\u{e8}me\u{a0}\u{a0}br\u{fb}l\u{e9}e",
            "one\u{85}two \u{3000} three",
            "a clean sentence longer than sixteen bytes\nand a second line",
            "0123456789abcde  fghij, a run of spaces across sixteen bytes",
            "0123456789abcdef \n\nline breaks across sixteen bytes",
            "0123456789abcdefghijklmnopqrstu\t v, and more after the tab",
            "0123456789abcdefghijklmnopqrstuvwxyz caf\u{e9}",
        ] {
            assert_eq!(collapse_ws(s), reference(s), "{s:?}");
        }
    }

    #[test]
    fn only_cells_that_need_it_take_the_slow_path() {
        // Every string of these bytes up to length 12, at every alignment in a longer cell: the
        // quick check may send clean cells to the slow path, never the reverse.
        let alphabet: [&[u8]; 7] = [
            b"a",
            b" ",
            b"\n",
            b"\t",
            b"\r",
            "\u{e9}".as_bytes(),
            b"\x01",
        ];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut s = Vec::new();
            let mut y = x;
            for _ in 0..(x % 13) {
                s.extend_from_slice(alphabet[(y % 7) as usize]);
                y /= 7;
            }
            let pad = "p".repeat((x >> 40) as usize % 9);
            let s = format!("{pad}q{}q{pad}", String::from_utf8(s).unwrap());
            let changed = collapse_ws(&s) != s;
            assert!(!changed || needs_collapsing(s.as_bytes()), "{s:?}");
            assert_eq!(
                needs_collapsing(s.as_bytes()),
                s.bytes().any(|c| c >= 0x80 || (c < 0x0E && c != b'\n'))
                    || s.contains("  ")
                    || s.contains(" \n")
                    || s.contains("\n ")
                    || s.contains("\n\n"),
                "{s:?}"
            );
        }
    }

    /// Reads `bytes` split into parts (as large exports are) and in one sequence.
    fn split_and_sequential(bytes: &[u8]) -> [(Vec<Ticket>, IngestSummary); 2] {
        [0, usize::MAX].map(|split_min| {
            let mut tickets = Vec::new();
            let mut summary = IngestSummary::default();
            read_bytes_with(
                "export.csv",
                bytes,
                &IngestOptions::default(),
                &mut tickets,
                &mut summary,
                split_min,
            )
            .unwrap();
            (tickets, summary)
        })
    }

    #[test]
    fn split_reading_matches_sequential_reading() {
        let mut csv = Vec::new();
        crate::tickets::generate::generate(
            &crate::tickets::generate::GenerateOptions {
                rows: 3_000,
                ..Default::default()
            },
            &mut csv,
        )
        .unwrap();
        // Quoted line breaks and escaped quotes, a short row, and CR LF line ends, spread over
        // the file where the parts are cut.
        let mut records: Vec<csv::StringRecord> = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&csv[..])
            .records()
            .map(|r| r.unwrap())
            .collect();
        let n = records.len();
        for k in 1..8 {
            let r = &mut records[k * n / 8];
            let mut fields: Vec<String> = r.iter().map(str::to_owned).collect();
            let last = fields.len() - 1;
            fields[last] = format!("multi\nline \"quoted\"\r\nfield {k}");
            *r = csv::StringRecord::from(fields);
        }
        let write = |records: &[csv::StringRecord]| {
            let mut out = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Vec::new());
            for r in records {
                out.write_record(r).unwrap();
            }
            String::from_utf8(out.into_inner().unwrap()).unwrap()
        };
        let text = write(&records[..n / 2]) + "only,three,fields\r\n" + &write(&records[n / 2..]);
        let [(split, split_summary), (seq, seq_summary)] = split_and_sequential(text.as_bytes());
        assert!(
            record_cuts(&text.as_bytes()[text.find('\n').unwrap() + 1..], b',', 8)
                .is_some_and(|c| c.len() > 3)
        );
        assert_eq!(split, seq);
        assert_eq!(split_summary.read, seq_summary.read);
        assert_eq!(split_summary.skipped, seq_summary.skipped);
        assert_eq!(split_summary.problems, seq_summary.problems);
        assert!(seq_summary.skipped >= 1, "{:?}", seq_summary.problems);
        assert_eq!(split.len() as u64, n as u64 - seq_summary.skipped);

        // Without an id column the fallback ids count rows across the parts.
        let no_ids: String = text
            .lines()
            .map(|l| l.split_once(',').map_or(l, |(_, rest)| rest))
            .collect::<Vec<_>>()
            .join("\n");
        let [(split, _), (seq, _)] = split_and_sequential(no_ids.as_bytes());
        assert_eq!(split, seq);
    }

    #[test]
    fn irregular_quoting_is_not_split() {
        let body = b"1,a 12\" screen,x\n2,\"b\nc\",y\n3,d,z\n";
        assert_eq!(record_cuts(body, b',', 4), None);
        let body = b"1,\"a \"\"x\"\"\",b\n2,\"c\nd\",e\n3,f,g\n4,h,i\n";
        let cuts = record_cuts(body, b',', 4).unwrap();
        for &c in &cuts[1..cuts.len() - 1] {
            assert_eq!(body[c - 1], b'\n');
            assert!(
                body[c..].starts_with(b"3,")
                    || body[c..].starts_with(b"4,")
                    || body[c..].starts_with(b"2,")
            );
        }
    }
}
