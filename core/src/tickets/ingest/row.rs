//! One row of an export into a canonical [`Ticket`]: dates, cleaned text, hashed requester.

use std::hash::BuildHasher;

use chrono::{NaiveDate, NaiveDateTime};
use sha2::{Digest, Sha256};

use super::columns::{Field, Mapping};
use super::dates::{excel_serial, parse_datetime};
use super::events::{History, RowEvent, id_hash};
use super::text::clean_html;
use crate::text::excerpt;
use crate::tickets::Ticket;

/// A cell as found in the file.
pub(super) enum Cell<'a> {
    Text(&'a str),
    /// An Excel serial date.
    Serial(f64),
}

impl Cell<'_> {
    /// The cell's text, trimmed; empty when the cell holds a missing-value marker.
    fn text(&self) -> &str {
        match self {
            Cell::Text(s) => {
                let s = s.trim();
                if is_missing(s) { "" } else { s }
            }
            Cell::Serial(_) => "",
        }
    }
}

/// What exports write for "no value", compared without regard to case: `?` (ServiceNow's event
/// log), `NULL` and `(null)` (database dumps), `N/A`, `#N/A` and `NaN` (spreadsheets), `-` and
/// dashes, `None`.
const MISSING: &[&str] = &[
    "?", "-", "--", "\u{2013}", "\u{2014}", "null", "(null)", "<null>", "nil", "none", "(none)",
    "n/a", "#n/a", "na", "<na>", "nan", "(empty)",
];

/// Whether a trimmed cell means "no value": empty, or one of the [`MISSING`] markers (most cells
/// are told apart by their length or first byte alone).
pub(super) fn is_missing(s: &str) -> bool {
    match s.as_bytes() {
        [] => true,
        [b'?' | b'-' | 0xE2 | b'n' | b'N' | b'(' | b'<' | b'#', ..] if s.len() <= 7 => {
            MISSING.iter().any(|m| m.eq_ignore_ascii_case(s))
        }
        _ => false,
    }
}

/// Whether a date cell is a zero date (`0000-00-00 00:00:00`, `00/00/0000`, `0`): what SQL
/// databases and spreadsheets write for a date that was never set.
fn is_zero_date(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit()) && s.bytes().all(|b| !b.is_ascii_digit() || b == b'0')
}

pub(super) struct RowContext<'m> {
    pub(super) mapping: &'m Mapping,
    pub(super) day_first: bool,
    pub(super) salt: &'m str,
    /// The plausible dates, first and last: a date outside them skips its row.
    pub(super) dates: (NaiveDate, NaiveDate),
    /// Hashed requesters by cell text (`None`: nothing left once cleaned): the same few
    /// thousand people file most tickets.
    pub(super) requesters: parking_lot::Mutex<crate::tickets::FastMap<String, Option<String>>>,
}

/// At most this many distinct requesters are remembered per file.
const REQUESTER_CACHE: usize = 100_000;

pub(super) type RowError = (&'static str, String);

/// A row read: its ticket and its place in the ticket's history, or why it was skipped.
pub(super) type RowResult = std::result::Result<(Ticket, RowEvent), RowError>;

impl RowContext<'_> {
    fn date(
        &self,
        cells: &[Cell<'_>],
        f: Field,
    ) -> std::result::Result<Option<NaiveDateTime>, RowError> {
        let Some(col) = self.mapping.column(f) else {
            return Ok(None);
        };
        let date = self.parse_date(cells.get(col), f)?;
        let (from, until) = self.dates;
        match (date, cells.get(col)) {
            (Some(d), Some(cell)) if d.date() < from || d.date() > until => Err((
                "implausible date",
                format!(
                    "{} `{}` is outside the plausible dates {from} … {until}",
                    field_name(f),
                    match cell {
                        Cell::Text(s) => excerpt(s.trim()).into_owned(),
                        Cell::Serial(_) => d.to_string(),
                    }
                ),
            )),
            _ => Ok(date),
        }
    }

    /// A date cell as a date (no window applied).
    fn parse_date(
        &self,
        cell: Option<&Cell<'_>>,
        f: Field,
    ) -> std::result::Result<Option<NaiveDateTime>, RowError> {
        match cell {
            None => Ok(None),
            Some(Cell::Serial(v)) => Ok(excel_serial(*v)),
            Some(Cell::Text(s)) => {
                let s = s.trim();
                if is_missing(s) || is_zero_date(s) {
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
                        format!("{} `{}` is not a date", field_name(f), excerpt(s)),
                    )),
                }
            }
        }
    }

    /// Why a date the row needs is absent: an empty cell, or which missing-value marker it holds.
    fn missing_date(&self, cells: &[Cell<'_>], f: Field) -> String {
        let raw = match self.mapping.column(f).and_then(|c| cells.get(c)) {
            Some(Cell::Text(s)) => s.trim(),
            _ => "",
        };
        if raw.is_empty() {
            format!("the {} is empty", field_name(f))
        } else {
            format!("the {} is `{}` (no value)", field_name(f), excerpt(raw))
        }
    }

    fn text(&self, cells: &[Cell<'_>], f: Field) -> Option<String> {
        let col = self.mapping.column(f)?;
        let s = cells.get(col)?.text();
        if s.is_empty() {
            return None;
        }
        let clean = clean_html(s);
        (!is_missing(&clean)).then_some(clean)
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
        let hashed = (!is_missing(&clean)).then(|| hash_requester(self.salt, &clean));
        let mut cache = self.requesters.lock();
        if cache.len() < REQUESTER_CACHE {
            cache.insert(raw.to_owned(), hashed.clone());
        }
        hashed
    }

    /// A whole number (a count) in a cell: `3`, or `3.0` as spreadsheets write it.
    fn count(&self, cells: &[Cell<'_>], f: Field) -> Option<u64> {
        let s = cells.get(self.mapping.column(f)?)?.text();
        if s.is_empty() {
            return None;
        }
        s.parse::<u64>().ok().or_else(|| {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0 && v.fract() == 0.0 && *v < 1e15)
                .map(|v| v as u64)
        })
    }

    /// Who handles the ticket at this row, hashed: its assignment group when the export has
    /// that column, else its agent.
    fn handler(&self, cells: &[Cell<'_>]) -> Option<u64> {
        let col = self
            .mapping
            .column(Field::Group)
            .or_else(|| self.mapping.column(Field::Agent))?;
        let s = cells.get(col)?.text();
        (!s.is_empty()).then(|| foldhash::fast::FixedState::default().hash_one(s))
    }

    /// The row's ticket and what the row says about its place in the ticket's history (for
    /// folding the rows of an event log). `fallback_id` is set when the row has no id and
    /// `row-{row_no}` is used.
    ///
    /// A row with an id but no creation date is kept, marked, for now: another row of the same
    /// ticket may carry the date (audit exports often fill it only where the ticket opened).
    pub(super) fn build(
        &self,
        cells: &[Cell<'_>],
        row_no: u64,
        fallback_id: &mut bool,
    ) -> RowResult {
        let id = self.text(cells, Field::Id);
        let (created, missing_created) = match self.date(cells, Field::Created)? {
            Some(c) => (c, None),
            None if id.is_some() => (
                NaiveDateTime::default(),
                Some(self.missing_date(cells, Field::Created).into_boxed_str()),
            ),
            None => return Err(("missing date", self.missing_date(cells, Field::Created))),
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
        let as_count = |f| self.count(cells, f).map(|n| n.min(u32::MAX as u64) as u32);
        let ticket = Ticket {
            id: id.unwrap_or_else(|| {
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
            reopen_count: as_count(Field::ReopenCount),
            reassignment_count: as_count(Field::ReassignmentCount),
        };
        let event = RowEvent {
            id_hash: id_hash(&ticket.id),
            history: self.mapping.keeps_history().then(|| History {
                // Only orders the rows of a ticket: a value that is not a date is no order.
                updated: self.date(cells, Field::Updated).ok().flatten(),
                revision: self.count(cells, Field::Revision),
                handler: self.handler(cells),
            }),
            missing_created,
        };
        Ok((ticket, event))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::ingest::Profile;

    /// Builds one row of a ServiceNow-style export (ISO dates).
    fn build(cells: [&str; 6]) -> std::result::Result<Ticket, RowError> {
        build_event(cells).map(|(t, _)| t)
    }

    fn build_event(cells: [&str; 6]) -> RowResult {
        let headers: Vec<String> = [
            "number",
            "opened_at",
            "caller_id",
            "category",
            "resolved_at",
            "priority",
        ]
        .map(String::from)
        .to_vec();
        let mapping = Mapping::new(&headers, Some(Profile::ServiceNow)).unwrap();
        let ctx = RowContext {
            mapping: &mapping,
            day_first: false,
            salt: "s",
            dates: (
                NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
                NaiveDate::from_ymd_opt(2030, 12, 31).unwrap(),
            ),
            requesters: Default::default(),
        };
        let cells: Vec<Cell<'_>> = cells.iter().map(|c| Cell::Text(c)).collect();
        ctx.build(&cells, 7, &mut false)
    }

    #[test]
    fn missing_value_markers_are_no_value_in_every_field() {
        for m in [
            "", " ", "?", "NULL", "null", "(null)", "N/A", "n/a", "#N/A", "NA", "-", "--",
            "\u{2014}", "NaN", "None", " ? ",
        ] {
            let t = build([m, "2016-02-29 01:16", m, m, m, m])
                .unwrap_or_else(|e| panic!("{m:?}: {e:?}"));
            assert_eq!(t.id, "row-7", "{m:?}");
            assert_eq!(t.created.to_string(), "2016-02-29 01:16:00");
            assert_eq!(
                (t.requester, t.category, t.resolved, t.priority),
                (None, None, None, None),
                "{m:?}"
            );
        }
        // Markers inside text are text.
        let t = build([
            "INC1",
            "2016-02-29 01:16",
            "Ann",
            "N/A printers",
            "",
            "- 3 -",
        ])
        .unwrap();
        assert_eq!(t.category.as_deref(), Some("N/A printers"));
        assert_eq!(t.priority.as_deref(), Some("- 3 -"));
    }

    #[test]
    fn every_marker_passes_the_quick_test() {
        for m in MISSING {
            assert!(is_missing(m), "{m}");
            assert!(is_missing(&m.to_uppercase()), "{m}");
        }
        for s in ["Network", "Nothing", "no", "?!", "-1", "High", "(empty"] {
            assert!(!is_missing(s), "{s}");
        }
    }

    #[test]
    fn zero_dates_are_no_date_and_other_words_are_bad_dates() {
        for zero in ["0000-00-00 00:00:00", "0000-00-00", "00/00/0000", "0"] {
            let t = build(["INC1", "2016-02-29 01:16", "", "", zero, ""]).unwrap();
            assert_eq!(t.resolved, None, "{zero:?}");
        }
        let (kind, detail) = build(["INC1", "2016-02-29 01:16", "", "", "soon", ""]).unwrap_err();
        assert_eq!(kind, "bad date");
        assert!(detail.contains("resolution date `soon`"), "{detail}");
        // A missing creation date is named as missing, with the marker found; a row with an id
        // is kept, marked, until the other rows of its ticket are known.
        let (kind, detail) = build(["", "NULL", "", "", "", ""]).unwrap_err();
        assert_eq!(kind, "missing date");
        assert_eq!(detail, "the creation date is `NULL` (no value)");
        let (_, detail) = build(["", "", "", "", "", ""]).unwrap_err();
        assert_eq!(detail, "the creation date is empty");
        let (t, e) = build_event(["INC1", "?", "", "", "", ""]).unwrap();
        assert_eq!(t.id, "INC1");
        assert_eq!(
            e.missing_created.as_deref(),
            Some("the creation date is `?` (no value)")
        );
    }

    #[test]
    fn requester_hash_is_salted_and_case_blind() {
        let a = hash_requester("s1", "Ann@School.org ");
        assert_eq!(a, hash_requester("s1", "ann@school.org"));
        assert_ne!(a, hash_requester("s2", "ann@school.org"));
        assert_eq!(a.len(), 16);
        assert!(!a.contains("ann"));
    }
}
