//! Delimited text exports (CSV, `;`-separated, TSV): decoding, delimiter sniffing, and reading
//! the rows, split across cores for large files.

use rayon::prelude::*;

use super::columns::Mapping;
use super::dates::DateVotes;
use super::events::{Events, FileStart};
use super::row::{Cell, RowContext, RowError, RowResult};
use super::{FileSummary, IngestOptions, IngestSummary, Profile};
use crate::text::excerpt;
use crate::tickets::Ticket;
use crate::{Error, Result};

/// Reads one CSV/TSV export already in memory, appending to `tickets` and `summary`.
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    options: &IngestOptions,
    tickets: &mut Vec<Ticket>,
    summary: &mut IngestSummary,
) -> Result<()> {
    options.check()?;
    read_bytes_with(name, bytes, options, tickets, summary, SPLIT_MIN)
}

/// Exports at least this large are split across cores at record boundaries.
const SPLIT_MIN: usize = 4 << 20;

/// [`read_bytes`], splitting the rows across cores when there are at least `split_min` bytes of
/// them and the quoting lets record boundaries be found without parsing.
pub(crate) fn read_bytes_with(
    name: &str,
    bytes: &[u8],
    options: &IngestOptions,
    tickets: &mut Vec<Ticket>,
    summary: &mut IngestSummary,
    split_min: usize,
) -> Result<()> {
    let (text, encoding) = decode(bytes);
    check_line_lengths(name, text.as_bytes(), options.max_line_bytes)?;
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
        Err(e) => {
            return Err(Error::invalid(
                "export",
                format!("{name}: header: {}", excerpt(&e.to_string())),
            ));
        }
    }
    let header_line = header
        .position()
        .map_or(1, |p| Lines::new(text.as_bytes()).at(p.byte()));
    check_field_count(name, header_line, header.len(), options.max_fields)?;
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
        dates: (options.dates_from, options.dates_until),
        requesters: Default::default(),
    };
    let start = FileStart::new(summary, tickets);
    // What each ticket's row says about its place in the ticket's history (event logs).
    let mut events = Events::default();
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
        let mut parts: Vec<Part> = cuts
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
        for part in &mut parts {
            events.append(std::mem::take(&mut part.events));
        }
        move_parts(tickets, parts, &row_base);
    } else {
        // Records are read sequentially in batches; while one batch is turned into tickets in
        // parallel, the next one is read. Tickets are appended in file order.
        // Each record with where it starts, for its line.
        let process =
            |batch: &[csv::ByteRecord], first_row: u64| -> Vec<(Option<u64>, RowResult)> {
                batch
                    .par_iter()
                    .enumerate()
                    .map(|(k, rec)| {
                        let row = first_row + k as u64 + 1;
                        let at = rec.position().map(csv::Position::byte);
                        if let Err(e) = check_width(rec, width) {
                            return (at, Err(e));
                        }
                        (at, ctx.build(&cells_of(rec), row, &mut false))
                    })
                    .collect()
            };
        let mut lines = Lines::new(text.as_bytes());
        let mut cur = Batch::default();
        cur.fill(&mut reader);
        let mut spare = Batch::default();
        let mut row_no = 0u64;
        loop {
            for (at, msg) in cur.errors.drain(..) {
                summary.read += 1;
                let line = at.map_or(0, |at| lines.at(at));
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
            for (k, (at, r)) in results.into_iter().enumerate() {
                summary.read += 1;
                let row = first_row + k as u64 + 1;
                let line = at.map_or(row + 1, |at| lines.at(at));
                match r {
                    Ok((t, e)) => {
                        summary.accepted += 1;
                        tickets.push(t);
                        events.push(e, line);
                    }
                    Err((kind, detail)) => {
                        summary.skip(options.max_problems, name, line, kind, detail)
                    }
                }
            }
            std::mem::swap(&mut cur, &mut spare);
        }
    }
    start.finish(
        &mapping,
        events,
        tickets,
        summary,
        options.max_problems,
        FileSummary {
            file: name.to_string(),
            profile: mapping.profile,
            delimiter: Some(delimiter as char),
            encoding: encoding.to_string(),
            day_first,
            columns: mapping.describe(&headers),
            // Counted by `finish`.
            read: 0,
            folded: 0,
            skipped: 0,
        },
    );
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
    /// Their rows' events.
    events: Events,
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
        events: Events::with_capacity(lines as usize + 1),
        ..Default::default()
    };
    let mut rec = csv::ByteRecord::new();
    let mut lines_in = Lines::new(bytes);
    loop {
        match reader.read_byte_record(&mut rec) {
            Ok(true) => {
                part.rows += 1;
                let local = part.rows;
                let line = base + rec.position().map_or(local, |p| lines_in.at(p.byte()));
                if let Err(e) = check_width(&rec, width) {
                    part.skipped.push((line, e));
                    continue;
                }
                let cells = cells_of(&rec);
                let mut fallback_id = false;
                match ctx.build(&cells, local, &mut fallback_id) {
                    Ok((t, e)) => {
                        part.events.push(e, line);
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
                let line = base + e.position().map_or(0, |p| lines_in.at(p.byte()));
                part.errors
                    .push((line, excerpt(&e.to_string()).into_owned()));
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

/// Stops at the first line longer than `max` bytes, naming it: before anything is parsed, so a
/// file that is one 50 MB line is refused without being split into fields or quoted whole.
fn check_line_lengths(name: &str, text: &[u8], max: usize) -> Result<()> {
    if text.len() <= max {
        return Ok(());
    }
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', text).chain(std::iter::once(text.len()));
    for end in ends {
        let len = end - start;
        // A CR LF line end is not part of the line.
        let len = if text.get(end.wrapping_sub(1)) == Some(&b'\r') && len > 0 {
            len - 1
        } else {
            len
        };
        if len > max {
            let line = memchr::memchr_iter(b'\n', &text[..start]).count() + 1;
            return Err(Error::invalid(
                "export",
                format!(
                    "{name}:{line}: a line of {len} bytes, longer than the {max} allowed (is this \
                     a help-desk export? it starts `{}`)",
                    excerpt(&String::from_utf8_lossy(
                        &text[start..(start + 400).min(end)]
                    ))
                ),
            ));
        }
        start = end + 1;
    }
    Ok(())
}

/// Refuses a record of more than `max` fields, naming its line.
pub(super) fn check_field_count(name: &str, line: u64, fields: usize, max: usize) -> Result<()> {
    if fields > max {
        return Err(Error::invalid(
            "export",
            format!("{name}:{line}: {fields} fields, more than the {max} allowed"),
        ));
    }
    Ok(())
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

/// The lines of records in `text`, from the byte offsets the CSV reader gives them. The
/// reader's own line number is where it started reading a record: before the LF of a CR LF
/// it had not consumed yet and before the blank lines it skips, so it falls short by those.
/// The line is counted up to the record's first byte instead, from the last record asked for
/// (records are asked for in file order, so each byte is counted about once).
struct Lines<'a> {
    text: &'a [u8],
    at: usize,
    line: u64,
}

impl<'a> Lines<'a> {
    fn new(text: &'a [u8]) -> Self {
        Self {
            text,
            at: 0,
            line: 1,
        }
    }

    /// The 1-based line of the record the reader started reading at byte `at`.
    fn at(&mut self, at: u64) -> u64 {
        let mut start = usize::try_from(at).map_or(self.text.len(), |a| a.min(self.text.len()));
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start >= self.at {
            self.line += memchr::memchr_iter(b'\n', &self.text[self.at..start]).count() as u64;
        } else {
            self.line -= memchr::memchr_iter(b'\n', &self.text[start..self.at]).count() as u64;
        }
        self.at = start;
        self.line
    }
}

/// A batch of raw CSV records read ahead of processing.
#[derive(Default)]
struct Batch {
    records: Vec<csv::ByteRecord>,
    n: usize,
    done: bool,
    /// Unreadable records: where they start and why.
    errors: Vec<(Option<u64>, String)>,
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
                    let at = e.position().map(csv::Position::byte);
                    self.errors.push((at, excerpt(&e.to_string()).into_owned()));
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(sniff_delimiter("a;b;c\n1;\"x,y\";3\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\tc\n1\t2\t3\n"), b'\t');
        assert_eq!(sniff_delimiter("a,b,c\n1,2,3\n"), b',');
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
    fn an_event_log_folds_the_same_when_read_in_parts() {
        // 1,000 incidents of three rows each, their rows scattered over the file (so the parts
        // cut through every incident's history), in no order of update.
        let mut rows = Vec::new();
        for k in 0..3_000u64 {
            let incident = (k * 7_919) % 1_000;
            let step = (k * 7_919) / 1_000 % 3;
            rows.push(format!(
                "INC{incident:07},{},{step},0,2016-03-01 08:00,2016-03-0{} 09:00,Group {},{}\n",
                ["New", "Active", "Closed"][step as usize],
                1 + step,
                incident % 5 + step,
                if step == 2 { "2016-03-03 09:00" } else { "?" },
            ));
        }
        let text = "number,incident_state,sys_mod_count,reopen_count,opened_at,sys_updated_at,assignment_group,resolved_at\n"
            .to_string()
            + &rows.concat();
        let body = &text.as_bytes()[text.find('\n').unwrap() + 1..];
        assert!(record_cuts(body, b',', 8).is_some_and(|c| c.len() > 3));
        let [(split, split_summary), (seq, seq_summary)] = split_and_sequential(text.as_bytes());
        assert_eq!(split, seq);
        assert_eq!(
            (seq_summary.read, seq_summary.accepted, seq_summary.folded),
            (3_000, 1_000, 2_000),
            "{:?}",
            seq_summary.problems
        );
        assert_eq!(split_summary.folded, seq_summary.folded);
        assert_eq!(split_summary.files[0].folded, 2_000);
        for t in &seq {
            assert_eq!(t.status.as_deref(), Some("Closed"), "{t:?}");
            assert_eq!(t.reassignment_count, Some(2), "{t:?}");
            assert_eq!(t.reopen_count, Some(0), "{t:?}");
            assert_eq!(
                t.resolved.map(|d| d.to_string()).as_deref(),
                Some("2016-03-03 09:00:00")
            );
        }
    }

    /// A skipped row is named by the line it is on, whatever ends the lines (LF, CR LF) and
    /// with blank lines between rows, whether the export is read in one sequence or in parts,
    /// and whether it is skipped as it is read or once the file is read (no creation date).
    #[test]
    fn skipped_rows_name_their_own_line() {
        let lines = [
            "id,created,title",
            "1,2025-09-01 08:00,Printer jam",
            "",
            "2,2025-09-01 09:00",
            "3,2025-09-02 10:00,Projector",
            "",
            "",
            "4,not a date,Wi-Fi",
            "5,2025-09-03 11:00,\"Laptop",
            "hinge\"",
            "6",
            "",
            "7,,Keyboard",
        ];
        for ending in ["\n", "\r\n"] {
            for last in ["", ending] {
                let text = lines.join(ending) + last;
                for (tickets, summary) in split_and_sequential(text.as_bytes()) {
                    let got: Vec<u64> = summary.problems.iter().map(|p| p.line).collect();
                    assert_eq!(got, [4, 8, 11, 13], "{text:?}: {:?}", summary.problems);
                    assert_eq!(tickets.len(), 3);
                }
            }
        }
    }

    /// A header with too many fields is named by its own line, after blank lines too.
    #[test]
    fn an_overwide_header_names_its_own_line() {
        let header = vec!["x"; 1_001].join(",");
        for ending in ["\n", "\r\n"] {
            let text = format!("{ending}{ending}{header}{ending}1{ending}");
            let e = read_bytes(
                "wide.csv",
                text.as_bytes(),
                &IngestOptions::default(),
                &mut Vec::new(),
                &mut IngestSummary::default(),
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains("wide.csv:3: 1001 fields"), "{ending:?}: {e}");
        }
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
