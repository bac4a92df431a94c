//! Workbook exports (XLSX and the other formats calamine reads): the first sheet, Excel serial
//! dates kept as dates.

use std::path::Path;

use super::columns::Mapping;
use super::dates::DateVotes;
use super::events::{Events, FileStart};
use super::row::{Cell, RowContext};
use super::{FileSummary, IngestOptions, IngestSummary};
use crate::tickets::Ticket;
use crate::{Error, Result};

/// Reads the first sheet of a workbook, appending to `tickets` and `summary`.
pub(super) fn read_xlsx(
    path: &Path,
    options: &IngestOptions,
    tickets: &mut Vec<Ticket>,
    summary: &mut IngestSummary,
) -> Result<()> {
    let name = path.display().to_string();
    let wb = calamine::open_workbook_auto(path).map_err(|e| invalid(&name, e))?;
    read_workbook(name, wb, options, tickets, summary)
}

/// Reads one workbook already in memory, like [`read_xlsx`] reads one file.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn read_workbook_bytes(
    name: &str,
    bytes: &[u8],
    options: &IngestOptions,
    tickets: &mut Vec<Ticket>,
    summary: &mut IngestSummary,
) -> Result<()> {
    let wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| invalid(name, e))?;
    read_workbook(name.to_string(), wb, options, tickets, summary)
}

/// The error for a workbook `name` that calamine could not read.
fn invalid(name: &str, e: impl std::fmt::Display) -> Error {
    Error::invalid(
        "export",
        format!("{name}: {}", crate::text::excerpt(&e.to_string())),
    )
}

/// The first sheet of an open workbook.
fn read_workbook<RS: std::io::Read + std::io::Seek>(
    name: String,
    mut wb: calamine::Sheets<RS>,
    options: &IngestOptions,
    tickets: &mut Vec<Ticket>,
    summary: &mut IngestSummary,
) -> Result<()> {
    use calamine::{Data, Reader};
    let sheet = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| Error::invalid("export", format!("{name}: workbook has no sheet")))?;
    let range = wb.worksheet_range(&sheet).map_err(|e| invalid(&name, e))?;
    let first_row = range.start().map(|(r, _)| r as u64).unwrap_or(0);
    let mut rows = range.rows();
    let header: Vec<String> = match rows.next() {
        Some(h) => h.iter().map(|c| c.to_string()).collect(),
        None => return Err(Error::invalid("export", format!("{name}: empty sheet"))),
    };
    super::delimited::check_field_count(&name, first_row + 1, header.len(), options.max_fields)?;
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
        dates: (options.dates_from, options.dates_until),
        requesters: Default::default(),
    };
    let start = FileStart::new(summary, tickets);
    let mut events = Events::default();
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
            Ok((t, e)) => {
                summary.accepted += 1;
                tickets.push(t);
                events.push(e, line);
            }
            Err((kind, detail)) => summary.skip(options.max_problems, &name, line, kind, detail),
        }
    }
    start.finish(
        &mapping,
        events,
        tickets,
        summary,
        options.max_problems,
        FileSummary {
            file: name,
            profile: mapping.profile,
            delimiter: None,
            encoding: "xlsx".into(),
            day_first,
            columns: mapping.describe(&header),
            // Counted by `finish`.
            read: 0,
            folded: 0,
            skipped: 0,
        },
    );
    Ok(())
}
