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
    let file = std::fs::File::open(path).map_err(|e| Error::io(format!("reading {name}"), e))?;
    check_shared_strings(&mut std::io::BufReader::new(file)).map_err(|e| invalid(&name, e))?;
    let wb = calamine::open_workbook_auto(path).map_err(|e| invalid(&name, e))?;
    read_workbook(name, wb, options, tickets, summary)
}

/// Refuses a workbook whose shared-string table declares more strings than the table has
/// bytes. calamine reserves room for the declared count before it reads a string, so a damaged
/// or hostile file of a few kilobytes declaring trillions would abort the program on that
/// allocation; a true count never exceeds the table's size (every string takes bytes). The
/// `sst` element is found as calamine finds it, and its `uniqueCount` read more leniently than
/// calamine does (the digits after the name, whatever is malformed around them), so no count
/// calamine would take is missed. Anything that is not a ZIP archive (an XLS file) is left to
/// calamine.
fn check_shared_strings<RS: std::io::Read + std::io::Seek>(
    rs: &mut RS,
) -> std::result::Result<(), String> {
    use quick_xml::events::Event;
    use std::io::{BufReader, Read};
    /// Counts what passes through.
    struct Counted<R> {
        inner: R,
        bytes: u64,
    }
    impl<R: Read> Read for Counted<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.bytes += n as u64;
            Ok(n)
        }
    }
    let Ok(mut zip) = zip::ZipArchive::new(&mut *rs) else {
        return Ok(());
    };
    let tables: Vec<String> = zip
        .file_names()
        .flatten()
        .filter(|n| n.to_ascii_lowercase().ends_with("sharedstrings.xml"))
        .map(|n| n.into_owned())
        .collect();
    for table in tables {
        let Ok(part) = zip.by_name(&table) else {
            continue;
        };
        let mut xml = quick_xml::Reader::from_reader(BufReader::new(Counted {
            inner: part,
            bytes: 0,
        }));
        // calamine's settings.
        let config = xml.config_mut();
        config.check_end_names = false;
        config.trim_text(false);
        config.check_comments = false;
        config.expand_empty_elements = true;
        let mut buf = Vec::new();
        let declared = loop {
            buf.clear();
            match xml.read_event_into(&mut buf) {
                Ok(Event::Start(e)) if e.local_name().as_ref() == "sst" => {
                    break declared_count(e.attributes_raw().as_bytes());
                }
                Ok(Event::Eof) | Err(_) => break None,
                Ok(_) => {}
            }
        };
        let Some(declared) = declared else {
            continue;
        };
        let mut rest = xml.into_inner();
        let _ = std::io::copy(&mut rest, &mut std::io::sink());
        let size = rest.into_inner().bytes;
        if declared > size {
            return Err(format!(
                "the shared-string table {table} declares {declared} strings in {size} bytes: \
                 the workbook is damaged"
            ));
        }
    }
    drop(zip);
    rs.seek(std::io::SeekFrom::Start(0))
        .map_err(|e| format!("reading it again: {e}"))?;
    Ok(())
}

/// The digits after `uniqueCount` in an element's attribute text (past `=`, blanks, a quote,
/// a plus sign), saturating; `None` when there are none.
fn declared_count(attributes: &[u8]) -> Option<u64> {
    let at = memchr::memmem::find(attributes, b"uniqueCount")? + b"uniqueCount".len();
    let rest = &attributes[at..];
    let start = rest
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'=' | b'"' | b'\'' | b'+'))?;
    let digits = rest[start..].iter().take_while(|b| b.is_ascii_digit());
    let mut n: Option<u64> = None;
    for d in digits {
        n = Some(
            n.unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(u64::from(d - b'0')),
        );
    }
    n
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
    let mut bytes = std::io::Cursor::new(bytes);
    check_shared_strings(&mut bytes).map_err(|e| invalid(name, e))?;
    let wb = calamine::open_workbook_auto_from_rs(bytes).map_err(|e| invalid(name, e))?;
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
    let (first_row, header, all) = sheet_rows(&mut wb, &sheet).map_err(|e| invalid(&name, e))?;
    let Some(header) = header else {
        return Err(Error::invalid("export", format!("{name}: empty sheet")));
    };
    super::delimited::check_field_count(&name, first_row + 1, header.len(), options.max_fields)?;
    let mapping = Mapping::new(&header, options.profile)
        .map_err(|m| Error::invalid("export", format!("{name}: {m}")))?;
    let day_first = options.day_first.unwrap_or_else(|| {
        let mut votes = DateVotes::default();
        for (_, r) in &all {
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
    for (i, r) in &all {
        let i = *i;
        let r = r.dense();
        let line = first_row + i + 2;
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
        match ctx.build(&cells, i + 1, &mut false) {
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

/// A sheet as rows: the header row's index, the header's cells as text (`None` for an empty
/// sheet), and the rows after it, each with how many rows after the header it is. Empty rows may
/// be left out.
type SheetRows = (u64, Option<Vec<String>>, Vec<(u64, SparseRow)>);

/// A row's non-empty cells by column, in column order.
struct SparseRow(Vec<(usize, calamine::Data)>);

impl SparseRow {
    /// The cell in column `c`.
    fn get(&self, c: usize) -> Option<&calamine::Data> {
        let k = self.0.binary_search_by_key(&c, |(col, _)| *col).ok()?;
        Some(&self.0[k].1)
    }

    /// The row up to its last cell, empty cells included.
    fn dense(&self) -> Vec<calamine::Data> {
        let mut row = vec![calamine::Data::Empty; self.0.last().map_or(0, |(c, _)| c + 1)];
        for (c, v) in &self.0 {
            row[*c] = v.clone();
        }
        row
    }
}

/// The largest row and column index of a worksheet (XFD1048576).
const SHEET_LIMITS: (u32, u32) = (1_048_575, 16_383);

/// The rows of a sheet. An XLSX sheet is read cell by cell and kept by cell, so memory follows
/// the cells present rather than the extent they span (as one range, a cell in A1 and one in
/// XFD1048576 are 17 billion cells). Cells beyond a worksheet's limits (a damaged reference)
/// and right of the header's last cell (no field is mapped there) are left out, and with them
/// rows that have nothing under the header.
fn sheet_rows<RS: std::io::Read + std::io::Seek>(
    wb: &mut calamine::Sheets<RS>,
    sheet: &str,
) -> std::result::Result<SheetRows, calamine::Error> {
    use calamine::{Data, DataRef, Reader};
    let sparse = |row: &[Data]| {
        SparseRow(
            row.iter()
                .enumerate()
                .filter(|(_, v)| !matches!(v, Data::Empty))
                .map(|(c, v)| (c, v.clone()))
                .collect(),
        )
    };
    let calamine::Sheets::Xlsx(xlsx) = wb else {
        let range = wb.worksheet_range(sheet)?;
        let first_row = range.start().map(|(r, _)| u64::from(r)).unwrap_or(0);
        let mut rows = range.rows();
        let header = rows
            .next()
            .map(|h| h.iter().map(ToString::to_string).collect());
        let rows = (0..).zip(rows.map(sparse)).collect();
        return Ok((first_row, header, rows));
    };
    let mut reader = xlsx.worksheet_cells_reader(sheet)?;
    let mut cells: Vec<((u32, u32), Data)> = Vec::new();
    while let Some(cell) = reader.next_cell()? {
        let (r, c) = cell.get_position();
        if r <= SHEET_LIMITS.0 && c <= SHEET_LIMITS.1 && !matches!(cell.get_value(), DataRef::Empty)
        {
            cells.push(((r, c), cell.get_value().clone().into()));
        }
    }
    // Row by row, in sheet order; a cell given twice keeps its last value, as in a range.
    cells.sort_by_key(|(pos, _)| *pos);
    cells.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0;
        if same {
            std::mem::swap(later, earlier);
        }
        same
    });
    let Some(&((top, _), _)) = cells.first() else {
        return Ok((0, None, Vec::new()));
    };
    let left = cells.iter().map(|((_, c), _)| *c).min().unwrap_or(0);
    let width = cells
        .iter()
        .take_while(|((r, _), _)| *r == top)
        .map(|((_, c), _)| (c - left) as usize + 1)
        .max()
        .unwrap_or(0);
    let mut rows: Vec<(u64, SparseRow)> = Vec::new();
    for ((r, c), value) in cells {
        let column = (c - left) as usize;
        if column >= width {
            continue;
        }
        let offset = u64::from(r - top);
        match rows.last_mut() {
            Some((o, row)) if *o == offset => row.0.push((column, value)),
            _ => rows.push((offset, SparseRow(vec![(column, value)]))),
        }
    }
    let mut rows = rows.into_iter();
    let header = rows
        .next()
        .map(|(_, h)| h.dense().iter().map(ToString::to_string).collect());
    let rows = rows.map(|(o, row)| (o - 1, row)).collect();
    Ok((u64::from(top), header, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cell far from the others (a sheet's last one, XFD1048576) costs what a cell costs:
    /// the sheet is not read into a range of the 17 billion cells it spans; a cell beyond the
    /// sheet's limits (column BBBBBBB, from a damaged file) is left out.
    #[test]
    fn a_far_cell_does_not_make_a_huge_sheet() {
        let sheet = concat!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#,
            r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
            r#"<row r="1"><c r="A1" t="inlineStr"><is><t>id</t></is></c>"#,
            r#"<c r="B1" t="inlineStr"><is><t>created</t></is></c>"#,
            r#"<c r="BBBBBBB1" t="inlineStr"><is><t>title</t></is></c></row>"#,
            r#"<row r="2"><c r="A2"><v>1</v></c>"#,
            r#"<c r="B2" t="inlineStr"><is><t>2025-09-01 08:00</t></is></c></row>"#,
            r#"<row r="4"><c r="A4"><v>2</v></c><c r="B4" t="inlineStr"><is><t>soon</t></is></c></row>"#,
            r#"<row r="1048576"><c r="XFD1048576"><v>7</v></c></row>"#,
            r#"</sheetData></worksheet>"#
        );
        let file = crate::fuzzing::xlsx_of(sheet.as_bytes(), None, crate::fuzzing::XLSX_STYLES);
        let mut tickets = Vec::new();
        let mut summary = IngestSummary::default();
        read_workbook_bytes(
            "far.xlsx",
            &file,
            &IngestOptions::default(),
            &mut tickets,
            &mut summary,
        )
        .unwrap();
        assert_eq!(tickets.len(), 1);
        assert_eq!(tickets[0].id, "1");
        // The row of the far cell holds nothing under the header: not a data row.
        assert_eq!((summary.read, summary.skipped), (2, 1), "{summary:?}");
        assert_eq!(summary.problems[0].line, 4, "{:?}", summary.problems);
    }

    /// A shared-string table that declares more strings than it has bytes is refused before
    /// the workbook is read (calamine reserves room for the declared count up front).
    #[test]
    fn a_shared_string_count_beyond_the_table_is_refused() {
        let sheet = concat!(
            r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
            r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>"#,
            r#"<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="inlineStr"><is><t>2025-09-01 08:00</t></is></c></row>"#,
            r#"</sheetData></worksheet>"#
        );
        let strings = |count: &str| {
            format!(
                r#"<?xml version="1.0"?><!-- <sst uniqueCount="1"> --><x:sst xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" uniqueCount="{count}"><x:si><x:t>id</x:t></x:si><x:si><x:t>created</x:t></x:si></x:sst>"#
            )
        };
        for (count, accepted) in [
            ("2", true),
            ("0002", true),
            ("11111111111110", false),
            // Malformed around the digits: calamine still reads the digits.
            ("11111111111110></si><si><t>x", false),
        ] {
            let text = strings(count);
            let file = crate::fuzzing::xlsx_of(
                sheet.as_bytes(),
                Some(text.as_bytes()),
                crate::fuzzing::XLSX_STYLES,
            );
            let mut tickets = Vec::new();
            let read = read_workbook_bytes(
                "strings.xlsx",
                &file,
                &IngestOptions::default(),
                &mut tickets,
                &mut IngestSummary::default(),
            );
            match read {
                Ok(()) => assert!(accepted && tickets.len() == 1, "{count}: {tickets:?}"),
                Err(e) => {
                    let e = e.to_string();
                    assert!(!accepted, "{count}: {e}");
                    assert!(
                        e.contains("strings.xlsx")
                            && e.contains("xl/sharedStrings.xml declares 11111111111110 strings"),
                        "{e}"
                    );
                }
            }
        }
    }
}
