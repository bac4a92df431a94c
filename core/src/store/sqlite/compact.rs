//! The compact history in SQLite (see [`crate::store::history`] for the model).
//!
//! Tables: `series` (a check's metric names and units, once per layout), `observations` (whole
//! observations: transitions and everything that is not OK), `runs`, `samples` (compressed
//! blocks: one check's samples of one UTC hour), `rollups` (tier, start, check: an hour's
//! minutes in one compressed chunk, hours, days), `history_open` (each check's status and open
//! run when its last hour closed) and `history_tail`.
//!
//! A check's current hour is open. Its samples come into memory a few bytes each. A check whose
//! samples in memory pass its [`spill_at`] writes them as a block of `samples` with the batch
//! that brought them (raw, as they were in memory: the hour's close compresses them), and a
//! tail row (in `history_tail`) for the checks that did says so.
//! Every [`SAVE_EVERY_MS`] of observation time (on [`Store::flush`], and before any read) the
//! samples that came since the last save and are not in a block, the status, the open run and
//! the hour's counts of every check that moved are appended to `history_tail`, a row per
//! [`TAIL_CHECKS`] checks. What a check holds in memory is bounded by the spill size, whatever
//! its interval.
//! When a check's hour ends, its blocks and what is in memory become one block, its minutes a
//! chunk and its hour a rollup, compressed once, and the day's rollup takes the hour; tail rows
//! whose hours have all ended are deleted. A crash loses at most the samples and run
//! extensions since the last save, never a whole observation (those are written with the batch
//! that brings them).
//!
//! Readers (this process or another) see the closed hours in their tables and the open ones
//! in the tail.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use super::*;
pub(super) use crate::store::history::decode_values;
use crate::store::history::{
    self as model, Acc, Availability, Layout, MISSING, Rollup, Spread, Tier, columns, dequantize,
    encode_values, metric, quantize, same_shape, scale, status_of,
};

/// Observation time between two saves of the open history: what a crash can lose.
pub(super) const SAVE_EVERY_MS: i64 = 30_000;

/// Columns of a sample block before its metrics: time, status, latency.
const SAMPLE_FIXED: usize = 3;

/// Columns of a minute chunk before its metrics: start, count, failures, warnings, unknown,
/// latency min, avg, max and p95.
const MINUTE_FIXED: usize = 9;

/// Samples of one block at most (an hour at a 1 s interval, and late results): a fuller one
/// is followed by another.
const SEGMENT_SAMPLES: usize = 4_096;

/// Bytes of a check's samples in memory (a few bytes each) past which they are written as a
/// block (see [`spill_at`]): what a check's open hour holds in memory is bounded by this and
/// one batch's samples, whatever its interval. The hour's blocks become one as it closes.
const SPILL_BYTES: usize = 128;

/// How many bytes of samples check `id` holds in memory in the hour starting `hour` before it
/// writes them as a block: [`SPILL_BYTES`], except for the hour's `first` block, whose size is
/// between a quarter of that and all of it, by check and hour.
///
/// Checks of one interval fill at one pace and every hour starts empty at once: with one size
/// throughout they would all write their blocks at once, every few minutes (at 100,000 checks,
/// a save that wrote them all took half as much memory again while the observations waited).
/// A first block of its own size sets each check at its own point of the cycle, and one size
/// after it keeps the checks there, spread evenly over the batches.
fn spill_at(id: i64, hour: i64, first: bool) -> usize {
    if !first {
        return SPILL_BYTES;
    }
    // splitmix64's finaliser: neighbouring ids and hours get unrelated sizes.
    let mut z = (id as u64) ^ (hour as u64).rotate_left(29);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    SPILL_BYTES / 4 + (z % (SPILL_BYTES as u64 * 3 / 4 + 1)) as usize
}

/// What is in memory of the compact history.
#[derive(Default)]
pub(super) struct Compact {
    /// What is open of each check.
    open: OpenTable,
    /// Whether `open` was read from the database (on the first write).
    loaded: bool,
    /// `series.id` → layout, for reads: a cache of at most [`LAYOUT_CACHE`] series (the
    /// samples in memory hold their own layout; a map of every series would cost about
    /// 21 bytes a check).
    layouts: HashMap<i64, Arc<Layout>>,
    /// Each distinct layout once, shared by every series that has it (checks of one kind
    /// report the same metrics: one copy instead of one per check).
    distinct: HashSet<Arc<Layout>>,
    /// Observation time of the last save.
    saved_at: Option<i64>,
    /// Newest observation time handed over.
    newest_at: i64,
}

/// What is open of each check, by `checks.id`: ids are small and dense (one per check ever
/// configured), so a row per id takes about two thirds of the room of a hash map by id (no
/// key, no spare buckets). A check with no history has an empty row.
///
/// The rows are kept in chunks of [`OPEN_CHUNK`]: ids come a batch at a time as checks first
/// report, and a table that grew by doubling would hold up to twice the rows it needs (and
/// copy them all at each step).
#[derive(Default)]
struct OpenTable {
    chunks: Vec<Box<[Open]>>,
}

/// Rows in one chunk of an [`OpenTable`].
const OPEN_CHUNK: usize = 4096;

impl OpenTable {
    fn index(id: i64) -> Result<usize> {
        if (1..=MAX_CHECK_ID).contains(&id) {
            Ok(id as usize)
        } else {
            Err(corrupt(format!("check id {id}")))
        }
    }

    /// Check `id`'s row, if it has one.
    fn get(&self, id: i64) -> Option<&Open> {
        let i = usize::try_from(id).ok()?;
        self.chunks.get(i / OPEN_CHUNK).map(|c| &c[i % OPEN_CHUNK])
    }

    /// Check `id`'s row, made (empty) if it has none.
    fn row(&mut self, id: i64) -> Result<&mut Open> {
        let i = Self::index(id)?;
        while self.chunks.len() <= i / OPEN_CHUNK {
            self.chunks
                .push((0..OPEN_CHUNK).map(|_| Open::default()).collect());
        }
        Ok(&mut self.chunks[i / OPEN_CHUNK][i % OPEN_CHUNK])
    }

    /// Takes check `id`'s row out (leaving an empty one) to work on it beside the rest.
    fn take(&mut self, id: i64) -> Result<Open> {
        Ok(std::mem::take(self.row(id)?))
    }

    /// Puts back a row taken with [`OpenTable::take`].
    fn put(&mut self, id: i64, open: Open) -> Result<()> {
        *self.row(id)? = open;
        Ok(())
    }

    /// Every check's row with its id (empty rows included).
    fn iter(&self) -> impl Iterator<Item = (i64, &Open)> {
        self.values().enumerate().map(|(i, o)| (i as i64, o))
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = (i64, &mut Open)> {
        self.chunks
            .iter_mut()
            .flat_map(|c| c.iter_mut())
            .enumerate()
            .map(|(i, o)| (i as i64, o))
    }

    fn values(&self) -> impl Iterator<Item = &Open> {
        self.chunks.iter().flat_map(|c| c.iter())
    }
}

/// A check's open history. Kept small: a district's schedule holds a row per check.
struct Open {
    run: Option<Run>,
    hour: Option<Hour>,
    /// Observation time of what the database knows of this check's status and run.
    known_at: i64,
    /// The last observation's status code (see [`status_byte`]).
    status: i8,
    /// A tail row since the open run started has its summary (later rows need not).
    summary_saved: bool,
    /// Status or run changed since the last save.
    dirty: bool,
}

impl Default for Open {
    fn default() -> Self {
        Open {
            run: None,
            hour: None,
            known_at: 0,
            status: NO_STATUS,
            summary_saved: false,
            dirty: false,
        }
    }
}

/// `Open::status` when the check has none.
const NO_STATUS: i8 = -1;

/// A status code (0 to 3, see [`model::status_code`]) in a byte; a code that is none of them
/// (a damaged row) counts as unknown.
fn status_byte(code: Option<i64>) -> i8 {
    code.map_or(NO_STATUS, |c| {
        i8::try_from(c)
            .ok()
            .filter(|c| status_of(i64::from(*c)).is_some())
            .unwrap_or(3)
    })
}

/// The status code a byte of [`status_byte`] holds.
fn status_code_of(b: i8) -> Option<i64> {
    (b != NO_STATUS).then_some(i64::from(b))
}

/// A run of OK observations with the same shape of summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Run {
    /// Its row, once written.
    id: RowId,
    first_at: i64,
    last_at: i64,
    count: i64,
    summary: Box<str>,
}

/// A row's id or none, as an `Option<i64>` is (and serialized as one) in half the room: row
/// ids are never `i64::MIN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RowId(i64);

impl RowId {
    const NONE: RowId = RowId(i64::MIN);

    fn get(self) -> Option<i64> {
        (self != RowId::NONE).then_some(self.0)
    }
}

impl From<Option<i64>> for RowId {
    fn from(id: Option<i64>) -> Self {
        id.map_or(RowId::NONE, RowId)
    }
}

impl Serialize for RowId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.get().serialize(s)
    }
}

impl<'de> Deserialize<'de> for RowId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(Option::<i64>::deserialize(d)?.into())
    }
}

/// A check's current UTC hour: what it counts, and its samples not yet in a block (those
/// already in blocks are in `samples`, from row `first_block` on).
struct Hour {
    start: i64,
    counts: Counts,
    /// Samples of the hour in blocks.
    spilled: u32,
    /// The row of the hour's first block.
    first_block: Option<i64>,
    /// Samples not in a block, in segments of one layout each (nearly always one: inline).
    segments: SmallVec<[Pending; 1]>,
}

impl Hour {
    fn new(start: i64) -> Self {
        Hour {
            start,
            counts: Counts::default(),
            spilled: 0,
            first_block: None,
            segments: SmallVec::new(),
        }
    }

    fn pending_bytes(&self) -> usize {
        self.segments.iter().map(|s| s.bytes.len()).sum()
    }
}

/// What an hour's observations were, for availability without reading its samples.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Counts {
    count: u32,
    failures: u32,
    warnings: u32,
    unknown: u32,
}

impl Counts {
    fn add(&mut self, code: i64) {
        self.count += 1;
        match status_of(code) {
            Some(Status::Ok) => {}
            Some(Status::Warning) => self.warnings += 1,
            Some(Status::Critical) => self.failures += 1,
            Some(Status::Unknown) | None => self.unknown += 1,
        }
    }
}

/// Samples of one layout not yet in a block, a few bytes each: each as zig-zag varints of its
/// time less the one before, its status, its latency (µs) and each metric quantized (one in
/// seconds less the latency, which it nearly always is again).
struct Pending {
    series: i64,
    layout: Arc<Layout>,
    /// Samples held, and how many of them the tail has.
    len: u32,
    saved: u32,
    /// The time of the last sample pushed (the base of the next one's).
    last_at: i64,
    bytes: Vec<u8>,
}

fn put_varint(out: &mut SmallVec<[u8; 64]>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push(z as u8 | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn take_varint(bytes: &[u8], pos: &mut usize) -> Option<i64> {
    let mut z: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        z |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some((z >> 1) as i64 ^ -((z & 1) as i64));
        }
    }
    None
}

/// Whether a layout's metric is in seconds (and so kept less the latency).
fn leans(layout: &Layout) -> impl Iterator<Item = bool> + '_ {
    layout.0.iter().map(|(_, unit)| scale(unit) == 1e6)
}

impl Pending {
    fn new(series: i64, layout: Arc<Layout>) -> Self {
        Pending {
            series,
            layout,
            len: 0,
            saved: 0,
            last_at: 0,
            bytes: Vec::new(),
        }
    }

    fn push(&mut self, [at, status, latency]: [i64; 3], values: &[i64]) {
        let mut sample: SmallVec<[u8; 64]> = SmallVec::new();
        put_varint(&mut sample, at.wrapping_sub(self.last_at));
        put_varint(&mut sample, status);
        put_varint(&mut sample, latency);
        for (v, lean) in values.iter().zip(leans(&self.layout)) {
            put_varint(&mut sample, v.wrapping_sub(if lean { latency } else { 0 }));
        }
        // Grown by half what it holds (at least 32 bytes) when a sample does not fit, not
        // doubled: thousands of checks hold these.
        if self.bytes.capacity() - self.bytes.len() < sample.len() {
            self.bytes
                .reserve_exact(sample.len().max(self.bytes.len() / 2).max(32));
        }
        self.bytes.extend_from_slice(&sample);
        self.last_at = at;
        self.len += 1;
    }

    /// The samples as columns: time, status, latency, then each metric.
    fn columns(&self) -> Result<Vec<Vec<i64>>> {
        varint_columns(&self.bytes, &self.layout, self.len as usize)
            .filter(|cols| cols[0].len() == self.len as usize)
            .ok_or_else(|| Error::Store("open history: damaged samples in memory".into()))
    }
}

/// Samples written by [`Pending::push`] as columns: time, status, latency, then each metric.
/// `None` if `bytes` do not hold whole samples (`len` is how many are expected, to size the
/// columns).
fn varint_columns(bytes: &[u8], layout: &Layout, len: usize) -> Option<Vec<Vec<i64>>> {
    let width = SAMPLE_FIXED + layout.0.len();
    let mut cols = vec![Vec::with_capacity(len); width];
    let leaning: SmallVec<[bool; 8]> = leans(layout).collect();
    let (mut pos, mut at) = (0usize, 0i64);
    while pos < bytes.len() {
        at = at.wrapping_add(take_varint(bytes, &mut pos)?);
        let status = take_varint(bytes, &mut pos)?;
        let latency = take_varint(bytes, &mut pos)?;
        cols[0].push(at);
        cols[1].push(status);
        cols[2].push(latency);
        for (i, &lean) in leaning.iter().enumerate() {
            let v = take_varint(bytes, &mut pos)?;
            cols[SAMPLE_FIXED + i].push(v.wrapping_add(if lean { latency } else { 0 }));
        }
    }
    Some(cols)
}

/// `history_open`: a check's status and open run as its last hour closed, and that hour.
#[derive(Serialize, Deserialize)]
struct Closed {
    at: i64,
    status: Option<i64>,
    run: Option<Run>,
    hour: i64,
}

/// One check in a tail row: its status and open run, its open hour, and how many samples of
/// which series follow in the row's columns (those that came since the last save and are not
/// in a block). A run's summary is written in the first row that has the run; later rows carry
/// its new end and count.
#[derive(Serialize, Deserialize)]
struct TailCheck {
    check: i64,
    status: Option<i64>,
    run: Option<TailRun>,
    hour: Option<TailHour>,
    parts: Vec<(i64, u32)>,
}

/// A check's open hour in a tail row: samples of it before the row's are in blocks (from row
/// `first_block` on, `spilled` of them) or in earlier tail rows since the last block.
#[derive(Serialize, Deserialize)]
struct TailHour {
    start: i64,
    counts: Counts,
    spilled: u32,
    first_block: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct TailRun {
    id: Option<i64>,
    first_at: i64,
    last_at: i64,
    count: i64,
    /// `None` when an earlier row of the tail (or `history_open`) has it.
    summary: Option<String>,
}

/// A tail row: its checks, then the samples' time, status and latency columns, then every
/// metric value in a column of its own kind (in check, sample and layout order).
#[derive(Serialize, Deserialize)]
struct Tail {
    checks: Vec<TailCheck>,
    samples: Vec<u8>,
    metrics: Vec<u8>,
}

/// The tail row's format before the open hour was kept in blocks (format 1): every sample of
/// an open hour was in the tail.
#[derive(Serialize, Deserialize)]
struct TailV1 {
    checks: Vec<TailCheckV1>,
    samples: Vec<u8>,
    metrics: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct TailCheckV1 {
    check: i64,
    status: Option<i64>,
    run: Option<TailRun>,
    parts: Vec<(i64, u32)>,
}

/// Series whose layout [`Compact::layout_of`] keeps at most; when full it starts again.
const LAYOUT_CACHE: usize = 16_384;

/// Checks in one tail row at most.
const TAIL_CHECKS: usize = 4_096;

/// The format of the tail rows written now.
const TAIL_FORMAT: i64 = 2;

impl Compact {
    /// Forgets everything (a failed transaction: read again from what was committed).
    pub(super) fn clear(&mut self) {
        *self = Compact::default();
    }

    /// The layout of a series.
    pub(super) fn layout_of(&mut self, conn: &Connection, series: i64) -> Result<Arc<Layout>> {
        if let Some(l) = self.layouts.get(&series) {
            return Ok(l.clone());
        }
        let text: String = conn
            .prepare_cached("SELECT layout FROM series WHERE id = ?1")?
            .query_row([series], |r| r.get(0))
            .optional()?
            .ok_or_else(|| corrupt(format!("series {series}")))?;
        let layout = self.shared(Layout::decode(&text)?);
        if self.layouts.len() >= LAYOUT_CACHE {
            self.layouts.clear();
        }
        self.layouts.insert(series, layout.clone());
        Ok(layout)
    }

    /// The shared copy of `layout`.
    fn shared(&mut self, layout: Layout) -> Arc<Layout> {
        if let Some(l) = self.distinct.get(&layout) {
            return l.clone();
        }
        let l = Arc::new(layout);
        self.distinct.insert(l.clone());
        l
    }

    /// The series of `layout` for check `id`, added when new. Asked when a check's layout is
    /// not the one of its samples in memory: its first sample of an hour, or new metrics.
    fn series(
        &mut self,
        tx: &Transaction<'_>,
        id: i64,
        layout: &Layout,
    ) -> Result<(i64, Arc<Layout>)> {
        let text = layout.encode();
        let select = "SELECT id FROM series WHERE check_id = ?1 AND layout = ?2";
        let known: Option<i64> = tx
            .prepare_cached(select)?
            .query_row(params![id, text], |r| r.get(0))
            .optional()?;
        let s = match known {
            Some(s) => s,
            None => {
                tx.prepare_cached("INSERT INTO series(check_id, layout) VALUES (?1, ?2)")?
                    .execute(params![id, text])?;
                tx.last_insert_rowid()
            }
        };
        Ok((s, self.shared(layout.clone())))
    }
}

/// Reads what is open of every check: the status and run as each check's last hour closed,
/// then the tail in order (newer wins; samples of hours already closed are skipped; samples a
/// later row says went into blocks are dropped), then the whole observations newer than all
/// that (a crash after a batch and before the next save): the status they say holds, and
/// whatever run was open ended there.
fn load_open(conn: &Connection, compact: &mut Compact, heads: Option<&Heads>) -> Result<OpenTable> {
    let mut open = OpenTable::default();
    // The hour each check last closed: samples of it and before are in blocks.
    let mut closed: HashMap<i64, i64> = HashMap::new();
    {
        let mut stmt = conn.prepare_cached("SELECT check_id, data FROM history_open")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, data) in rows {
            let c: Closed = postcard::from_bytes(&data)
                .map_err(|e| corrupt(format!("open history of check {id}: {e}")))?;
            closed.insert(id, c.hour);
            *open.row(id)? = Open {
                status: status_byte(c.status),
                run: c.run,
                known_at: c.at,
                ..Open::default()
            };
        }
    }
    let rows = {
        let mut stmt =
            conn.prepare_cached("SELECT at, format, data FROM history_tail ORDER BY seq")?;
        stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
    };
    for (at, format, data) in rows {
        let tail: Tail = match format {
            1 => {
                let old: TailV1 =
                    postcard::from_bytes(&data).map_err(|e| corrupt(format!("tail: {e}")))?;
                Tail {
                    checks: old
                        .checks
                        .into_iter()
                        .map(|c| TailCheck {
                            check: c.check,
                            status: c.status,
                            run: c.run,
                            hour: None,
                            parts: c.parts,
                        })
                        .collect(),
                    samples: old.samples,
                    metrics: old.metrics,
                }
            }
            TAIL_FORMAT => {
                postcard::from_bytes(&data).map_err(|e| corrupt(format!("tail: {e}")))?
            }
            f => return Err(corrupt(format!("a tail row of format {f}"))),
        };
        let samples = columns::decode(&tail.samples, SAMPLE_FIXED)?;
        let metrics = columns::decode(&tail.metrics, 1)?;
        let (mut s, mut m) = (0usize, 0usize);
        for c in tail.checks {
            let o = open.row(c.check)?;
            if at >= o.known_at {
                o.status = status_byte(c.status);
                o.run = match c.run {
                    Some(r) => {
                        let summary = match r.summary {
                            Some(s) => s.into(),
                            None => o
                                .run
                                .as_ref()
                                .filter(|old| old.first_at == r.first_at)
                                .map(|old| old.summary.clone())
                                // Its words are lost (a damaged tail); its numbers are not.
                                .unwrap_or_else(|| Status::Ok.to_string().into()),
                        };
                        Some(Run {
                            id: r.id.into(),
                            first_at: r.first_at,
                            last_at: r.last_at,
                            count: r.count,
                            summary,
                        })
                    }
                    None => None,
                };
                o.known_at = at;
            }
            let after = closed
                .get(&c.check)
                .map_or(i64::MIN, |&h| Tier::Hour.start_of(h) + Tier::Hour.span_ms());
            // The row's view of the open hour (format 2): whether its samples are still open.
            let keep = match &c.hour {
                Some(h) if h.start >= after => {
                    let hour = match &mut o.hour {
                        Some(hour) if hour.start == h.start => hour,
                        slot => slot.insert(Hour::new(h.start)),
                    };
                    if h.spilled != hour.spilled {
                        // They went into blocks with this row.
                        hour.segments.clear();
                    }
                    hour.spilled = h.spilled;
                    hour.first_block = h.first_block;
                    hour.counts = h.counts;
                    true
                }
                Some(_) => false,
                None => true,
            };
            for (series, n) in c.parts {
                let layout = compact.layout_of(conn, series)?;
                let width = layout.0.len();
                let n = n as usize;
                if s + n > samples[0].len() || m + n * width > metrics[0].len() {
                    return Err(corrupt("a tail row shorter than it says"));
                }
                for k in 0..n {
                    let ts = samples[0][s + k];
                    // Format 1 says nothing of the hour: its samples count as they come.
                    if !keep || (c.hour.is_none() && ts < after) {
                        continue;
                    }
                    let values = &metrics[0][m + k * width..m + (k + 1) * width];
                    let sample = [ts, samples[1][s + k], samples[2][s + k]];
                    push_sample(o, series, &layout, sample, values, true);
                    if c.hour.is_none()
                        && let Some(hour) = &mut o.hour
                    {
                        hour.counts.add(sample[1]);
                    }
                }
                s += n;
                m += n * width;
            }
        }
    }
    if let Some(heads) = heads {
        for (id, o) in open.iter_mut() {
            let head = heads.get(id);
            if head == 0 {
                continue;
            }
            let newest: Option<(i64, i64)> = conn
                .prepare_cached("SELECT at, status FROM observations WHERE id = ?1")?
                .query_row([head], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((at, status)) = newest
                && at > o.known_at
            {
                o.status = status_byte(Some(status));
                o.run = None;
            }
        }
    }
    Ok(open)
}

/// Adds one sample to a check's current hour (a late one to the hour it is in now).
fn push_sample(
    o: &mut Open,
    series: i64,
    layout: &Arc<Layout>,
    sample: [i64; 3],
    values: &[i64],
    saved: bool,
) {
    let hour = o
        .hour
        .get_or_insert_with(|| Hour::new(Tier::Hour.start_of(sample[0])));
    if hour.segments.last().is_none_or(|s| s.series != series) {
        hour.segments.push(Pending::new(series, layout.clone()));
    }
    let seg = hour.segments.last_mut().expect("pushed above");
    seg.push(sample, values);
    if saved {
        seg.saved = seg.len;
    }
}

/// An observation as the compact history takes it.
pub(super) struct Incoming {
    pub check: Arc<str>,
    pub at: i64,
    pub status: Status,
    pub latency_us: i64,
    pub summary: String,
    pub metrics: crate::probe::Metrics,
    pub reading: Option<String>,
}

impl Incoming {
    pub(super) fn of(check: Arc<str>, o: Observation) -> Result<Self> {
        Ok(Incoming {
            check,
            at: model::ms(o.at),
            status: o.status,
            latency_us: i64::try_from(o.latency.as_micros()).unwrap_or(i64::MAX),
            reading: o
                .reading
                .as_deref()
                .map(|r| to_json("reading", r))
                .transpose()?,
            summary: o.summary,
            metrics: o.metrics,
        })
    }

    /// Whether its metrics have `layout`'s names and units, in order.
    fn fits(&self, layout: &Layout) -> bool {
        layout.0.len() == self.metrics.len()
            && layout
                .0
                .iter()
                .zip(&self.metrics)
                .all(|((n, u), (on, om))| n == on && u == &om.unit)
    }
}

/// Takes a batch into the history: whole rows for transitions and what is not OK (appended
/// and linked, see [`insert_observations`]), the rest into runs; every observation into its
/// check's current hour. Closes the hours that ended, and saves when a save is due.
pub(super) fn record(tx: &Transaction<'_>, cache: &mut Cache, batch: Vec<Incoming>) -> Result<()> {
    cache.heads(tx)?;
    let Cache {
        check_ids,
        heads,
        compact,
    } = cache;
    let heads = heads.as_mut().expect("read above");
    if !compact.loaded {
        compact.open = load_open(tx, compact, Some(heads))?;
        compact.loaded = true;
    }
    let mut whole = Vec::new();
    // Checks whose samples in memory passed their spill size with this batch.
    let mut full = Vec::new();
    for o in batch {
        let id = shared_check_id(tx, check_ids, &o.check)?;
        compact.newest_at = compact.newest_at.max(o.at);
        let hour = compact.open.get(id).and_then(|open| open.hour.as_ref());
        // Most observations have the metrics of the one before: no layout is built for them.
        let known = hour
            .and_then(|h| h.segments.last())
            .filter(|seg| o.fits(&seg.layout))
            .map(|seg| (seg.series, seg.layout.clone()));
        let ended = hour.is_some_and(|h| Tier::Hour.start_of(o.at) > h.start);
        let (series, layout) = match known {
            Some(k) => k,
            None => {
                let layout = Layout(
                    o.metrics
                        .iter()
                        .map(|(n, m)| (n.to_string(), m.unit.to_string()))
                        .collect(),
                );
                compact.series(tx, id, &layout)?
            }
        };
        let values: Vec<Option<f64>> = o
            .metrics
            .values()
            .map(|m| m.value)
            .map(|v| v.is_finite().then_some(v))
            .collect();
        if ended {
            let mut open = compact.open.take(id)?;
            close_hour(tx, compact, id, &mut open)?;
            compact.open.put(id, open)?;
        }
        let open = compact.open.row(id)?;
        let code = model::status_code(o.status);
        let is_whole = o.status != Status::Ok || open.status != 0;
        open.status = status_byte(Some(code));
        open.dirty = true;
        let quantized: Vec<i64> = layout
            .0
            .iter()
            .zip(&values)
            .map(|((_, unit), v)| v.map_or(MISSING, |v| quantize(v, scale(unit))))
            .collect();
        push_sample(
            open,
            series,
            &layout,
            [o.at, code, o.latency_us],
            &quantized,
            false,
        );
        let hour = open.hour.as_mut().expect("pushed");
        hour.counts.add(code);
        if hour.pending_bytes() >= spill_at(id, hour.start, hour.first_block.is_none()) {
            full.push(id);
        }
        if is_whole {
            if let Some(run) = open.run.take() {
                write_run(tx, id, &run)?;
            }
            whole.push((o, series, values));
        } else {
            match &mut open.run {
                Some(run) if same_shape(&run.summary, &o.summary) => {
                    run.last_at = run.last_at.max(o.at);
                    run.count += 1;
                }
                _ => {
                    if let Some(run) = open.run.take() {
                        write_run(tx, id, &run)?;
                    }
                    open.summary_saved = false;
                    open.run = Some(Run {
                        id: RowId::NONE,
                        first_at: o.at,
                        last_at: o.at,
                        count: 1,
                        // Copied to its length: the probe's text has room to spare, and
                        // a run may stay open for hours.
                        summary: o.summary.as_str().into(),
                    });
                }
            }
        }
    }
    if !whole.is_empty() {
        let rows = whole
            .into_iter()
            .map(|(o, series, values)| ObservationRow {
                check: o.check,
                at: o.at,
                status: model::status_code(o.status),
                latency_us: o.latency_us,
                summary: o.summary,
                series: (!values.is_empty()).then_some(series),
                vals: (!values.is_empty()).then(|| encode_values(&values)),
                reading: o.reading,
            })
            .collect::<Vec<_>>();
        insert_observations(tx, check_ids, heads, &rows)?;
    }
    // Their blocks, and a tail row that says so, go with the batch: spread over the batches
    // as the checks fill, not all in the next save.
    full.sort_unstable();
    full.dedup();
    for chunk in full.chunks(TAIL_CHECKS) {
        save_tail_row(tx, compact, chunk)?;
    }
    if compact.newest_at - compact.saved_at.unwrap_or(i64::MIN / 2) >= SAVE_EVERY_MS {
        save(tx, compact)?;
    }
    Ok(())
}

/// Writes a run (new or grown) and keeps its row id.
fn write_run(tx: &Transaction<'_>, id: i64, run: &Run) -> Result<i64> {
    match run.id.get() {
        Some(row) => {
            tx.prepare_cached("UPDATE runs SET last_at = ?2, count = ?3 WHERE id = ?1")?
                .execute(params![row, run.last_at, run.count])?;
            Ok(row)
        }
        None => {
            tx.prepare_cached(
                "INSERT INTO runs(check_id, first_at, last_at, count, summary) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                id,
                run.first_at,
                run.last_at,
                run.count,
                run.summary
            ])?;
            Ok(tx.last_insert_rowid())
        }
    }
}

/// Columns kept compressed, where a column in seconds may be kept as its difference from
/// another (a TCP check's connect time is its latency again, within a microsecond or two):
/// `pairs` says which column could lean on which; a mask says which ones do (those it makes
/// smaller).
fn encode_leaning(cols: &[Vec<i64>], pairs: &[(usize, usize)]) -> Result<Vec<u8>> {
    let mut mask: u64 = 0;
    let mut out = cols.to_vec();
    for (bit, &(c, base)) in pairs.iter().enumerate().take(64) {
        let diff: Vec<i64> = cols[c]
            .iter()
            .zip(&cols[base])
            .map(|(&v, &b)| {
                if v == MISSING || b == MISSING {
                    v
                } else {
                    v.wrapping_sub(b)
                }
            })
            .collect();
        let plain = columns::encode(std::slice::from_ref(&cols[c]))?.len();
        let leaning = columns::encode(std::slice::from_ref(&diff))?.len();
        if leaning < plain {
            out[c] = diff;
            mask |= 1 << bit;
        }
    }
    postcard::to_stdvec(&(mask, columns::encode(&out)?))
        .map_err(|e| Error::Store(format!("encoding history: {e}")))
}

/// See [`encode_leaning`].
fn decode_leaning(data: &[u8], width: usize, pairs: &[(usize, usize)]) -> Result<Vec<Vec<i64>>> {
    let (mask, bytes): (u64, Vec<u8>) =
        postcard::from_bytes(data).map_err(|e| corrupt(format!("history block: {e}")))?;
    undo_leaning(mask, &bytes, width, pairs)
}

/// The columns of a block of [`encode_leaning`] whose mask and compressed bytes were read.
fn undo_leaning(
    mask: u64,
    bytes: &[u8],
    width: usize,
    pairs: &[(usize, usize)],
) -> Result<Vec<Vec<i64>>> {
    let mut cols = columns::decode(bytes, width)?;
    for (bit, &(c, base)) in pairs.iter().enumerate().take(64) {
        if mask & (1 << bit) == 0 {
            continue;
        }
        if c >= width || base >= width || c == base {
            return Err(corrupt("history block: a column leaning on none"));
        }
        let b = cols[base].clone();
        for (v, &b) in cols[c].iter_mut().zip(&b) {
            if *v != MISSING && b != MISSING {
                *v = v.wrapping_add(b);
            }
        }
    }
    Ok(cols)
}

/// In a block, each metric in seconds may lean on the latency.
fn block_pairs(layout: &Layout) -> Vec<(usize, usize)> {
    layout
        .0
        .iter()
        .enumerate()
        .filter(|(_, (_, unit))| scale(unit) == 1e6)
        .map(|(i, _)| (SAMPLE_FIXED + i, 2))
        .collect()
}

/// In a minute chunk, each metric in seconds may lean on the latency's min, avg and max.
fn minute_pairs(layout: &Layout) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    for (i, (_, unit)) in layout.0.iter().enumerate() {
        if scale(unit) == 1e6 {
            for k in 0..3 {
                pairs.push((MINUTE_FIXED + 3 * i + k, 5 + k));
            }
        }
    }
    pairs
}

fn encode_block(cols: &[Vec<i64>], layout: &Layout) -> Result<Vec<u8>> {
    encode_leaning(cols, &block_pairs(layout))
}

/// The mask of a raw block: samples as [`Pending`] holds them (a few varints each), not
/// compressed. A compressed block's mask has a bit per metric in seconds, and a layout with
/// 64 or more of them never gets a raw block, so no compressed block has this mask.
const RAW_BLOCK: u64 = u64::MAX;

/// A block of an open hour's samples as they are in memory: written as a check's samples
/// pass its spill size, and rewritten compressed as the hour closes, so compressing them
/// here would be work done twice. `None` for a layout whose blocks cannot be told from raw.
fn encode_raw_block(p: &Pending) -> Option<Vec<u8>> {
    (leans(&p.layout).filter(|&lean| lean).count() < 64)
        .then(|| postcard::to_stdvec(&(RAW_BLOCK, p.bytes.as_slice())).ok())
        .flatten()
}

fn decode_block(data: &[u8], layout: &Layout) -> Result<Vec<Vec<i64>>> {
    let pairs = block_pairs(layout);
    let (mask, bytes): (u64, Vec<u8>) =
        postcard::from_bytes(data).map_err(|e| corrupt(format!("history block: {e}")))?;
    if mask == RAW_BLOCK && pairs.len() < 64 {
        return varint_columns(&bytes, layout, 0)
            .ok_or_else(|| corrupt("history block: damaged raw samples"));
    }
    undo_leaning(mask, &bytes, SAMPLE_FIXED + layout.0.len(), &pairs)
}

/// A check's samples of one layout: its series, layout and columns.
type Segment = (i64, Arc<Layout>, Vec<Vec<i64>>);

/// What an hour of samples adds up to: each minute, and the hour.
fn hour_totals(segments: &[Segment]) -> (BTreeMap<i64, Acc>, Acc) {
    let mut minutes: BTreeMap<i64, Acc> = BTreeMap::new();
    let mut total = Acc::default();
    for (_, layout, cols) in segments {
        let mut values = vec![None; layout.0.len()];
        for (k, &at) in cols[0].iter().enumerate() {
            for (i, v) in values.iter_mut().enumerate() {
                *v = dequantize(cols[SAMPLE_FIXED + i][k], scale(&layout.0[i].1));
            }
            let status = status_of(cols[1][k]).unwrap_or(Status::Unknown);
            let latency = u64::try_from(cols[2][k]).unwrap_or(0);
            let minute = Tier::Minute.start_of(at);
            minutes
                .entry(minute)
                .or_default()
                .add(status, latency, layout, &values);
            total.add(status, latency, layout, &values);
        }
    }
    (minutes, total)
}

/// The layout of an hour's minutes: every metric any of its segments has.
fn union_layout(segments: &[Segment]) -> Layout {
    let mut all: Vec<(String, String)> = Vec::new();
    for (_, layout, _) in segments {
        for m in &layout.0 {
            if !all.contains(m) {
                all.push(m.clone());
            }
        }
    }
    all.sort();
    Layout(all)
}

/// The blocks an open hour has written, oldest first, with their rows.
fn hour_blocks(
    conn: &Connection,
    compact: &mut Compact,
    id: i64,
    start: i64,
    first_block: Option<i64>,
) -> Result<Vec<(i64, Segment)>> {
    let Some(first) = first_block else {
        return Ok(Vec::new());
    };
    let rows = {
        // A block of the hour ends in it (or just before it: late results).
        let mut stmt = conn.prepare_cached(
            "SELECT id, series, data FROM samples \
             WHERE check_id = ?1 AND end_at >= ?2 AND id >= ?3 ORDER BY id",
        )?;
        stmt.query_map(params![id, start - Tier::Hour.span_ms(), first], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
    };
    rows.into_iter()
        .map(|(row, series, data)| {
            let layout = compact.layout_of(conn, series)?;
            let cols = decode_block(&data, &layout)?;
            Ok((row, (series, layout, cols)))
        })
        .collect()
}

/// An open hour's samples: those in its blocks, then those in memory.
fn hour_segments(
    conn: &Connection,
    compact: &mut Compact,
    id: i64,
    hour: &HourView,
) -> Result<Vec<Segment>> {
    let mut all: Vec<Segment> = hour_blocks(conn, compact, id, hour.start, hour.first_block)?
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    all.extend(hour.pending.iter().cloned());
    Ok(all)
}

/// What a reader needs of an open hour, apart from the store's memory.
struct HourView {
    start: i64,
    first_block: Option<i64>,
    pending: Vec<Segment>,
}

impl HourView {
    fn of(hour: &Hour) -> Result<Self> {
        Ok(HourView {
            start: hour.start,
            first_block: hour.first_block,
            pending: hour
                .segments
                .iter()
                .filter(|p| p.len > 0)
                .map(|p| Ok((p.series, p.layout.clone(), p.columns()?)))
                .collect::<Result<_>>()?,
        })
    }
}

/// Writes one block of samples; returns its row.
fn insert_block(tx: &Transaction<'_>, id: i64, seg: &Segment) -> Result<i64> {
    let (series, layout, cols) = seg;
    insert_block_data(tx, id, *series, cols, encode_block(cols, layout)?)
}

/// Writes a block of `cols` (as `data` has them) of check `id`; returns its row.
fn insert_block_data(
    tx: &Transaction<'_>,
    id: i64,
    series: i64,
    cols: &[Vec<i64>],
    data: Vec<u8>,
) -> Result<i64> {
    let (start, end) = (
        *cols[0].iter().min().expect("not empty"),
        *cols[0].iter().max().expect("not empty"),
    );
    tx.prepare_cached(
        "INSERT INTO samples(check_id, series, start_at, end_at, count, data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![id, series, start, end, cols[0].len() as i64, data])?;
    Ok(tx.last_insert_rowid())
}

/// Writes an open hour's samples in memory as blocks (the memory they took goes), keeping
/// the last segment's series for the samples to come.
fn spill(tx: &Transaction<'_>, id: i64, hour: &mut Hour) -> Result<()> {
    for p in hour.segments.iter().filter(|p| p.len > 0) {
        let cols = p.columns()?;
        let row = match encode_raw_block(p) {
            Some(data) => insert_block_data(tx, id, p.series, &cols, data)?,
            None => insert_block(tx, id, &(p.series, p.layout.clone(), cols))?,
        };
        hour.first_block.get_or_insert(row);
        hour.spilled += p.len;
    }
    let last = hour.segments.pop();
    hour.segments.clear();
    if let Some(p) = last {
        hour.segments.push(Pending::new(p.series, p.layout));
    }
    Ok(())
}

/// Consecutive segments of one series as one, up to [`SEGMENT_SAMPLES`] each.
fn merge_segments(segments: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for (series, layout, cols) in segments {
        match out.last_mut() {
            Some((s, _, all))
                if *s == series && all[0].len() + cols[0].len() <= SEGMENT_SAMPLES =>
            {
                for (a, c) in all.iter_mut().zip(cols) {
                    a.extend(c);
                }
            }
            _ => out.push((series, layout, cols)),
        }
    }
    out
}

/// An hour's minutes as the columns of a chunk.
fn minute_columns(minutes: &BTreeMap<i64, Acc>, layout: &Layout) -> Vec<Vec<i64>> {
    let mut cols = vec![Vec::with_capacity(minutes.len()); MINUTE_FIXED + 3 * layout.0.len()];
    for (&start, acc) in minutes {
        let lat = acc.latency_us();
        let round = |v: f64| v.round() as i64;
        let fixed = [
            start,
            acc.count as i64,
            acc.failures as i64,
            acc.warnings as i64,
            acc.unknown as i64,
            lat.map_or(MISSING, |s| round(s.min)),
            lat.map_or(MISSING, |s| round(s.avg)),
            lat.map_or(MISSING, |s| round(s.max)),
            acc.sketch
                .quantile(0.95)
                .or(acc.p95_us)
                .map_or(MISSING, |v| v as i64),
        ];
        for (c, v) in cols.iter_mut().zip(fixed) {
            c.push(v);
        }
        for (i, (name, unit)) in layout.0.iter().enumerate() {
            let k = scale(unit);
            let s = acc.metric(name);
            let q = |f: fn(&Spread) -> f64| s.as_ref().map_or(MISSING, |s| quantize(f(s), k));
            cols[MINUTE_FIXED + 3 * i].push(q(|s| s.min));
            cols[MINUTE_FIXED + 3 * i + 1].push(q(|s| s.avg));
            cols[MINUTE_FIXED + 3 * i + 2].push(q(|s| s.max));
        }
    }
    cols
}

/// Ends a check's hour: its samples become blocks (what it wrote while open and what is in
/// memory, rewritten as few blocks), its minutes a chunk, the hour a rollup, and the day's
/// rollup takes the hour; its status and run are kept in `history_open`.
fn close_hour(tx: &Transaction<'_>, compact: &mut Compact, id: i64, open: &mut Open) -> Result<()> {
    let Some(hour) = open.hour.take() else {
        return Ok(());
    };
    let blocks = hour_blocks(tx, compact, id, hour.start, hour.first_block)?;
    let mut rows = Vec::with_capacity(blocks.len());
    let mut segments = Vec::with_capacity(blocks.len() + hour.segments.len());
    for (row, seg) in blocks {
        rows.push(row);
        segments.push(seg);
    }
    let in_memory = hour.segments.iter().any(|p| p.len > 0);
    for p in hour.segments.iter().filter(|p| p.len > 0) {
        segments.push((p.series, p.layout.clone(), p.columns()?));
    }
    let segments = merge_segments(segments);
    // One block already written and nothing in memory: it stays as it is.
    if in_memory || rows.len() > 1 {
        for row in &rows {
            tx.prepare_cached("DELETE FROM samples WHERE id = ?1")?
                .execute([row])?;
        }
        for seg in &segments {
            insert_block(tx, id, seg)?;
        }
    }
    let hour = HourView {
        start: hour.start,
        first_block: None,
        pending: segments,
    };
    let (minutes, total) = hour_totals(&hour.pending);
    let layout = union_layout(&hour.pending);
    let (series, layout) = compact.series(tx, id, &layout)?;
    let cols = minute_columns(&minutes, &layout);
    let chunk = encode_leaning(&cols, &minute_pairs(&layout))?;
    upsert_rollup(
        tx,
        Tier::Minute,
        hour.start,
        id,
        &total,
        Some(series),
        &chunk,
    )?;
    // An hour keeps its 95th percentile; its sketch goes into the day's.
    let mut hour_row = total.clone();
    hour_row.p95_us = hour_row.sketch.quantile(0.95);
    hour_row.sketch = Default::default();
    upsert_rollup(
        tx,
        Tier::Hour,
        hour.start,
        id,
        &hour_row,
        None,
        &encode_acc(&hour_row)?,
    )?;
    let day = Tier::Day.start_of(hour.start);
    let stored = stored_acc(tx, Tier::Day, day, id)?;
    if stored.is_none() {
        // The day's first hour: the days before are done.
        compact_days_before(tx, compact, id, day)?;
    }
    let mut day_acc = stored.unwrap_or_default();
    day_acc.merge(&total);
    upsert_rollup(
        tx,
        Tier::Day,
        day,
        id,
        &day_acc,
        None,
        &encode_acc(&day_acc)?,
    )?;
    if let Some(run) = open.run.as_mut() {
        run.id = RowId(write_run(tx, id, run)?);
    }
    let closed = Closed {
        at: compact.newest_at,
        status: status_code_of(open.status),
        run: open.run.clone(),
        hour: hour.start,
    };
    tx.prepare_cached(
        "INSERT INTO history_open(check_id, data) VALUES (?1, ?2) \
         ON CONFLICT(check_id) DO UPDATE SET data = excluded.data",
    )?
    .execute(params![
        id,
        postcard::to_stdvec(&closed)
            .map_err(|e| Error::Store(format!("encoding the open history: {e}")))?
    ])?;
    open.known_at = open.known_at.max(compact.newest_at);
    Ok(())
}

/// Makes each past day of a check one chunk of minutes and one of hours (its hours' chunks
/// and rows, written as they closed): a chunk's fixed cost is paid once a day, not once an
/// hour. Days up to a week back that a stop left as they were are done too.
fn compact_days_before(
    tx: &Transaction<'_>,
    compact: &mut Compact,
    id: i64,
    day: i64,
) -> Result<()> {
    let days: Vec<i64> = {
        let mut stmt = tx.prepare_cached(
            "SELECT DISTINCT start - start % 86400000 FROM rollups \
             WHERE check_id = ?1 AND tier = 1 AND start < ?2 AND start >= ?3 \
             AND series IS NULL AND data <> X''",
        )?;
        stmt.query_map(params![id, day, day - 8 * Tier::Day.span_ms()], |r| {
            r.get(0)
        })?
        .collect::<rusqlite::Result<_>>()?
    };
    for d in days {
        let end = d + Tier::Day.span_ms();
        // Minutes: consecutive chunks of one series become one.
        let rows = {
            let mut stmt = tx.prepare_cached(
                "SELECT id, start, series, data FROM rollups \
                 WHERE check_id = ?1 AND tier = 0 AND start >= ?2 AND start < ?3 ORDER BY start",
            )?;
            stmt.query_map(params![id, d, end], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        // (row, start, series, data) of consecutive chunks of one series.
        type Chunk = (i64, i64, i64, Vec<u8>);
        let mut groups: Vec<Vec<Chunk>> = Vec::new();
        for (row, start, series, data) in rows {
            let Some(series) = series else { continue };
            match groups.last_mut() {
                Some(g) if g[0].2 == series => g.push((row, start, series, data)),
                _ => groups.push(vec![(row, start, series, data)]),
            }
        }
        for g in groups.into_iter().filter(|g| g.len() > 1) {
            let layout = compact.layout_of(tx, g[0].2)?;
            let width = MINUTE_FIXED + 3 * layout.0.len();
            let pairs = minute_pairs(&layout);
            let mut cols: Vec<Vec<i64>> = vec![Vec::new(); width];
            for (_, _, _, data) in &g {
                for (all, part) in cols.iter_mut().zip(decode_leaning(data, width, &pairs)?) {
                    all.extend(part);
                }
            }
            let sum = |c: &[i64]| c.iter().map(|&v| v.max(0) as u64).sum::<u64>();
            let totals = Acc {
                count: sum(&cols[1]),
                failures: sum(&cols[2]),
                warnings: sum(&cols[3]),
                unknown: sum(&cols[4]),
                ..Acc::default()
            };
            for (row, ..) in &g {
                tx.prepare_cached("DELETE FROM rollups WHERE id = ?1")?
                    .execute([row])?;
            }
            let chunk = encode_leaning(&cols, &pairs)?;
            upsert_rollup(tx, Tier::Minute, g[0].1, id, &totals, Some(g[0].2), &chunk)?;
        }
        // Hours: the day's hour rows become one chunk of hours.
        let rows = {
            let mut stmt = tx.prepare_cached(
                "SELECT id, start, count, failures, warnings, unknown, data FROM rollups \
                 WHERE check_id = ?1 AND tier = 1 AND start >= ?2 AND start < ?3 \
                 AND series IS NULL ORDER BY start",
            )?;
            stmt.query_map(params![id, d, end], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    [r.get::<_, i64>(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
                    r.get::<_, Vec<u8>>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        if rows.is_empty() {
            continue;
        }
        let mut hours: BTreeMap<i64, Acc> = BTreeMap::new();
        for (_, start, counts, data) in &rows {
            hours.insert(*start, decode_acc(data, *counts)?);
        }
        let mut names: Vec<(String, String)> = Vec::new();
        for acc in hours.values() {
            for (name, (unit, _)) in &acc.metrics {
                if !names.iter().any(|(n, _)| n == name) {
                    names.push((name.clone(), unit.clone()));
                }
            }
        }
        names.sort();
        let (series, layout) = compact.series(tx, id, &Layout(names))?;
        let mut totals = Acc::default();
        for acc in hours.values() {
            totals.count += acc.count;
            totals.failures += acc.failures;
            totals.warnings += acc.warnings;
            totals.unknown += acc.unknown;
        }
        let cols = minute_columns(&hours, &layout);
        for (row, ..) in &rows {
            tx.prepare_cached("DELETE FROM rollups WHERE id = ?1")?
                .execute([row])?;
        }
        let chunk = encode_leaning(&cols, &minute_pairs(&layout))?;
        upsert_rollup(tx, Tier::Hour, d, id, &totals, Some(series), &chunk)?;
    }
    Ok(())
}

fn encode_acc(acc: &Acc) -> Result<Vec<u8>> {
    postcard::to_stdvec(acc).map_err(|e| Error::Store(format!("encoding a rollup: {e}")))
}

/// A stored hour or day. A row migrated from an older history holds only its counts.
fn decode_acc(data: &[u8], counts: [i64; 4]) -> Result<Acc> {
    if data.is_empty() {
        let [count, failures, warnings, unknown] = counts.map(|c| c.max(0) as u64);
        return Ok(Acc {
            count,
            failures,
            warnings,
            unknown,
            ..Acc::default()
        });
    }
    postcard::from_bytes(data).map_err(|e| corrupt(format!("rollup: {e}")))
}

fn stored_acc(conn: &Connection, tier: Tier, start: i64, id: i64) -> Result<Option<Acc>> {
    let row: Option<([i64; 4], Vec<u8>)> = conn
        .prepare_cached(
            "SELECT count, failures, warnings, unknown, data FROM rollups \
             WHERE tier = ?1 AND start = ?2 AND check_id = ?3",
        )?
        .query_row(params![tier.code(), start, id], |r| {
            Ok(([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?], r.get(4)?))
        })
        .optional()?;
    row.map(|(counts, data)| decode_acc(&data, counts))
        .transpose()
}

fn upsert_rollup(
    tx: &Transaction<'_>,
    tier: Tier,
    start: i64,
    id: i64,
    acc: &Acc,
    series: Option<i64>,
    data: &[u8],
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO rollups(tier, start, check_id, count, failures, warnings, unknown, series, \
         data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
         ON CONFLICT(tier, start, check_id) DO UPDATE SET count = excluded.count, \
         failures = excluded.failures, warnings = excluded.warnings, unknown = excluded.unknown, \
         series = excluded.series, data = excluded.data",
    )?
    .execute(params![
        tier.code(),
        start,
        id,
        acc.count as i64,
        acc.failures as i64,
        acc.warnings as i64,
        acc.unknown as i64,
        series,
        data
    ])?;
    Ok(())
}

/// Saves what is open: hours that ended for checks that went quiet are closed; the samples
/// since the last save, and the status and run of every check that moved, go into one tail
/// row; tail rows whose hours have all ended go.
pub(super) fn save(tx: &Transaction<'_>, compact: &mut Compact) -> Result<()> {
    let now_hour = Tier::Hour.start_of(compact.newest_at);
    let quiet: Vec<i64> = compact
        .open
        .iter()
        .filter(|(_, o)| o.hour.as_ref().is_some_and(|h| h.start < now_hour))
        .map(|(id, _)| id)
        .collect();
    for id in quiet {
        let mut open = compact.open.take(id)?;
        close_hour(tx, compact, id, &mut open)?;
        compact.open.put(id, open)?;
    }
    let ids: Vec<i64> = compact
        .open
        .iter()
        .filter(|(_, o)| o.dirty)
        .map(|(id, _)| id)
        .collect();
    for chunk in ids.chunks(TAIL_CHECKS) {
        save_tail_row(tx, compact, chunk)?;
    }
    // Rows older than every open hour hold only closed hours (their status and runs are in
    // `history_open`).
    let oldest_open = compact
        .open
        .values()
        .filter_map(|o| o.hour.as_ref().map(|h| h.start))
        .min()
        .unwrap_or(now_hour);
    tx.prepare_cached("DELETE FROM history_tail WHERE at < ?1")?
        .execute([oldest_open])?;
    compact.saved_at = Some(compact.newest_at);
    Ok(())
}

/// One tail row for the checks `ids` (see [`save`]): a save of many checks writes a row per
/// [`TAIL_CHECKS`] of them, so what it builds in memory stays small whatever their number.
fn save_tail_row(tx: &Transaction<'_>, compact: &mut Compact, ids: &[i64]) -> Result<()> {
    let mut checks = Vec::with_capacity(ids.len());
    let mut samples: Vec<Vec<i64>> = vec![Vec::new(); SAMPLE_FIXED];
    let mut metrics: Vec<i64> = Vec::new();
    for &id in ids {
        let o = compact.open.row(id)?;
        let mut parts = Vec::new();
        if let Some(hour) = o.hour.as_mut() {
            if hour.pending_bytes() >= spill_at(id, hour.start, hour.first_block.is_none()) {
                spill(tx, id, hour)?;
            }
            for seg in hour.segments.iter_mut() {
                let n = seg.len - seg.saved;
                if n == 0 {
                    continue;
                }
                let cols = seg.columns()?;
                for k in seg.saved as usize..seg.len as usize {
                    for (c, col) in samples.iter_mut().enumerate() {
                        col.push(cols[c][k]);
                    }
                    for col in &cols[SAMPLE_FIXED..] {
                        metrics.push(col[k]);
                    }
                }
                parts.push((seg.series, n));
                seg.saved = seg.len;
            }
        }
        let hour = o.hour.as_ref().map(|h| TailHour {
            start: h.start,
            counts: h.counts,
            spilled: h.spilled,
            first_block: h.first_block,
        });
        let run = o.run.as_ref().map(|r| TailRun {
            id: r.id.get(),
            first_at: r.first_at,
            last_at: r.last_at,
            count: r.count,
            summary: (!o.summary_saved).then(|| r.summary.to_string()),
        });
        o.summary_saved = o.run.is_some();
        checks.push(TailCheck {
            check: id,
            status: status_code_of(o.status),
            run,
            hour,
            parts,
        });
        o.dirty = false;
        o.known_at = compact.newest_at;
    }
    if !checks.is_empty() {
        let tail = Tail {
            checks,
            samples: columns::encode(&samples)?,
            metrics: columns::encode(&[metrics])?,
        };
        let data =
            postcard::to_stdvec(&tail).map_err(|e| Error::Store(format!("encoding tail: {e}")))?;
        tx.prepare_cached("INSERT INTO history_tail(at, format, data) VALUES (?1, ?2, ?3)")?
            .execute(params![compact.newest_at, TAIL_FORMAT, data])?;
    }
    Ok(())
}

/// Whether anything is open and not yet saved.
pub(super) fn unsaved(compact: &Compact) -> bool {
    compact.open.values().any(|o| o.dirty)
}

/// What is open: this process's own, once it has written (kept in memory and saved before any
/// read); in a process that has not (the `history` command beside a running monitor), as the
/// database has it, read into `read`.
fn open_view<'a>(
    conn: &Connection,
    compact: &'a mut Compact,
    read: &'a mut Option<OpenTable>,
) -> Result<&'a OpenTable> {
    if compact.loaded {
        return Ok(&compact.open);
    }
    Ok(read.insert(load_open(conn, compact, None)?))
}

/// A sample read back.
struct Sample {
    at: i64,
    status: i64,
    latency_us: i64,
    metrics: crate::probe::Metrics,
}

fn samples_of(cols: &[Vec<i64>], layout: &Layout, since: i64, out: &mut Vec<Sample>) {
    for (i, &at) in cols[0].iter().enumerate() {
        if at < since {
            continue;
        }
        out.push(Sample {
            at,
            status: cols[1][i],
            latency_us: cols[2][i],
            metrics: layout
                .0
                .iter()
                .enumerate()
                .filter_map(|(k, (name, unit))| {
                    dequantize(cols[SAMPLE_FIXED + k][i], scale(unit))
                        .map(|value| metric(name, unit, value))
                })
                .collect(),
        });
    }
}

/// A check's observations since `since`, newest first, at most `limit` (0: none): its whole
/// rows, and its samples with the summary of their run.
pub(super) fn observations(
    conn: &Connection,
    compact: &mut Compact,
    whole: Vec<Observation>,
    id: i64,
    since: i64,
    limit: usize,
) -> Result<Vec<Observation>> {
    let mut samples = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT series, data FROM samples WHERE check_id = ?1 AND end_at >= ?2 \
             ORDER BY start_at",
        )?;
        let blocks = stmt
            .query_map(params![id, since], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (series, data) in blocks {
            let layout = compact.layout_of(conn, series)?;
            samples_of(&decode_block(&data, &layout)?, &layout, since, &mut samples);
        }
    }
    let mut runs = {
        let mut stmt = conn.prepare_cached(
            "SELECT first_at, last_at, summary FROM runs WHERE check_id = ?1 AND last_at >= ?2",
        )?;
        stmt.query_map(params![id, since], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
    };
    let mut read = None;
    if let Some(o) = open_view(conn, compact, &mut read)?.get(id) {
        if let Some(run) = &o.run {
            runs.retain(|r| r.0 != run.first_at);
            runs.push((run.first_at, run.last_at, run.summary.to_string()));
        }
        for seg in o.hour.iter().flat_map(|h| h.segments.iter()) {
            samples_of(&seg.columns()?, &seg.layout, since, &mut samples);
        }
    }
    runs.sort_by_key(|r| r.0);
    let whole_at: std::collections::HashSet<i64> = whole.iter().map(|o| model::ms(o.at)).collect();
    let mut out = whole;
    for s in samples {
        if whole_at.contains(&s.at) {
            continue;
        }
        let status = status_of(s.status).ok_or_else(|| corrupt(format!("status {}", s.status)))?;
        // The run holding it: runs do not overlap, so the last one starting at or before it.
        let i = runs.partition_point(|r| r.0 <= s.at);
        let summary = match i.checked_sub(1).map(|i| &runs[i]) {
            Some(r) if s.at <= r.1 && status == Status::Ok => r.2.clone(),
            // Its run was open when the process stopped and was not saved.
            _ => status.to_string(),
        };
        out.push(Observation {
            at: model::from_ms(s.at)?,
            status,
            latency: Duration::from_micros(u64::try_from(s.latency_us).unwrap_or(0)),
            summary,
            metrics: s.metrics,
            reading: None,
        });
    }
    out.sort_by_key(|o| std::cmp::Reverse(o.at));
    if limit > 0 {
        out.truncate(limit);
    }
    Ok(out)
}

/// A check's rollups of `tier` whose period starts in `[since, until)`, oldest first: the
/// stored ones, and those of the open hour (and its day) from its samples.
pub(super) fn rollups(
    conn: &Connection,
    compact: &mut Compact,
    id: i64,
    tier: Tier,
    since: i64,
    until: i64,
) -> Result<Vec<Rollup>> {
    let mut out: BTreeMap<i64, Rollup> = BTreeMap::new();
    let since = since.max(horizon(conn, tier)?);
    // A chunk of minutes or hours starts up to a day before its last period.
    let from = match tier {
        Tier::Day => since,
        _ => Tier::Hour.start_of(since) - Tier::Day.span_ms(),
    };
    let mut stmt = conn.prepare_cached(
        "SELECT start, count, failures, warnings, unknown, series, data FROM rollups \
         WHERE check_id = ?1 AND tier = ?2 AND start >= ?3 AND start < ?4 ORDER BY start",
    )?;
    let rows = stmt
        .query_map(params![id, tier.code(), from, until], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                [r.get::<_, i64>(1)?, r.get(2)?, r.get(3)?, r.get(4)?],
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, Vec<u8>>(6)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut day_accs: BTreeMap<i64, Acc> = BTreeMap::new();
    for (start, counts, series, data) in rows {
        match tier {
            Tier::Minute | Tier::Hour if series.is_some() => {
                let layout = compact.layout_of(conn, series.expect("matched"))?;
                let width = MINUTE_FIXED + 3 * layout.0.len();
                let cols = decode_leaning(&data, width, &minute_pairs(&layout))?;
                for i in 0..cols[0].len() {
                    let r = chunk_rollup(tier, &cols, &layout, i)?;
                    out.insert(model::ms(r.start), r);
                }
            }
            Tier::Minute => return Err(corrupt("a minute chunk without series")),
            Tier::Hour => {
                out.insert(start, decode_acc(&data, counts)?.rollup(tier, start)?);
            }
            Tier::Day => {
                day_accs.insert(start, decode_acc(&data, counts)?);
            }
        }
    }
    // The open hour, from its samples.
    let mut read = None;
    let open = open_view(conn, compact, &mut read)?
        .get(id)
        .and_then(|o| o.hour.as_ref())
        .map(HourView::of)
        .transpose()?;
    if let Some(view) = open {
        let hour = &view;
        let (minutes, total) = hour_totals(&hour_segments(conn, compact, id, hour)?);
        match tier {
            Tier::Minute => {
                for (start, acc) in &minutes {
                    out.insert(*start, acc.rollup(Tier::Minute, *start)?);
                }
            }
            Tier::Hour => {
                out.insert(hour.start, total.rollup(Tier::Hour, hour.start)?);
            }
            Tier::Day => {
                let day = Tier::Day.start_of(hour.start);
                if day >= since && day < until {
                    day_accs.entry(day).or_default().merge(&total);
                }
            }
        }
    }
    for (start, acc) in day_accs {
        out.insert(start, acc.rollup(Tier::Day, start)?);
    }
    Ok(out
        .into_values()
        .filter(|r| {
            let at = model::ms(r.start);
            at >= since && at < until
        })
        .collect())
}

fn chunk_rollup(tier: Tier, cols: &[Vec<i64>], layout: &Layout, i: usize) -> Result<Rollup> {
    let us = |v: i64| (v != MISSING).then(|| v as f64 / 1e6);
    let latency = match (us(cols[5][i]), us(cols[6][i]), us(cols[7][i])) {
        (Some(min), Some(avg), Some(max)) => Some(Spread { min, avg, max }),
        _ => None,
    };
    let metrics = layout
        .0
        .iter()
        .enumerate()
        .filter_map(|(k, (name, unit))| {
            let s = scale(unit);
            let c = MINUTE_FIXED + 3 * k;
            match (
                dequantize(cols[c][i], s),
                dequantize(cols[c + 1][i], s),
                dequantize(cols[c + 2][i], s),
            ) {
                (Some(min), Some(avg), Some(max)) => {
                    Some((name.clone(), (unit.clone(), Spread { min, avg, max })))
                }
                _ => None,
            }
        })
        .collect();
    Ok(Rollup {
        tier,
        start: model::from_ms(cols[0][i])?,
        count: cols[1][i].max(0) as u64,
        failures: cols[2][i].max(0) as u64,
        warnings: cols[3][i].max(0) as u64,
        unknown: cols[4][i].max(0) as u64,
        latency,
        latency_p95: us(cols[8][i]),
        metrics,
    })
}

/// Every check's availability since `since`: whole days from the day rollups, the part of the
/// first day from its hours, and the open hours that reach into the span from their samples.
pub(super) fn availability(
    conn: &Connection,
    compact: &mut Compact,
    since: i64,
) -> Result<Vec<Availability>> {
    let day = Tier::Day.start_of(since);
    let first_full = if day == since {
        day
    } else {
        day + Tier::Day.span_ms()
    };
    let mut stmt = conn.prepare_cached(
        "SELECT r.check_id, sum(r.count), sum(r.failures), sum(r.unknown) \
         FROM rollups r INDEXED BY rollups_day_counts \
         WHERE r.tier = 2 AND r.start >= ?1 GROUP BY r.check_id",
    )?;
    let mut totals: HashMap<i64, [u64; 3]> = stmt
        .query_map(params![first_full], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                [
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ]
                .map(|v| v.max(0) as u64),
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    // The part of the first day, from its hours (a day's chunk of hours, or hours on their own).
    if first_full > since {
        let mut stmt = conn.prepare_cached(
            "SELECT check_id, start, count, failures, unknown, series, data FROM rollups \
             WHERE tier = 1 AND start >= ?1 AND start < ?2",
        )?;
        let rows = stmt
            .query_map(params![day, first_full], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    [
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ],
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, Vec<u8>>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, start, counts, series, data) in rows {
            let t = totals.entry(id).or_default();
            match series {
                None if start >= since => {
                    for (k, v) in counts.iter().enumerate() {
                        t[k] += (*v).max(0) as u64;
                    }
                }
                None => {}
                Some(series) => {
                    let layout = compact.layout_of(conn, series)?;
                    let width = MINUTE_FIXED + 3 * layout.0.len();
                    let cols = decode_leaning(&data, width, &minute_pairs(&layout))?;
                    for (i, &start) in cols[0].iter().enumerate() {
                        if start >= since {
                            t[0] += cols[1][i].max(0) as u64;
                            t[1] += cols[2][i].max(0) as u64;
                            t[2] += cols[4][i].max(0) as u64;
                        }
                    }
                }
            }
        }
    }
    let mut read = None;
    for (id, o) in open_view(conn, compact, &mut read)?.iter() {
        // The open hour, when it reaches into the span.
        let Some(hour) = o
            .hour
            .as_ref()
            .filter(|h| h.start + Tier::Hour.span_ms() > since)
        else {
            continue;
        };
        let t = totals.entry(id).or_default();
        t[0] += u64::from(hour.counts.count);
        t[1] += u64::from(hour.counts.failures);
        t[2] += u64::from(hour.counts.unknown);
    }
    let names: HashMap<i64, String> = {
        let mut stmt = conn.prepare_cached("SELECT id, name FROM checks")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?
    };
    Ok(model::availability_by_name(totals, &names))
}

/// Deletes what each tier keeps no longer: whole blocks, runs and the front of the whole
/// observations older than the raw retention, and rollup periods by tier. Returns the rows
/// deleted.
pub(super) fn prune(
    tx: &Transaction<'_>,
    now: i64,
    retention: &crate::store::history::HistoryRetention,
) -> Result<u64> {
    let cut = |d: Duration| now.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let raw = cut(retention.raw);
    let mut deleted = shed_raw(tx, raw)?;
    for tier in Tier::ALL {
        if let Some(keep) = retention.of(tier) {
            let before = cut(keep);
            // Minutes and hours of past days are kept a day to a chunk: a chunk goes with its
            // day once that day is over by the cut; until then, what is before the cut is
            // not read.
            let delete_before = match tier {
                Tier::Day => before,
                _ => Tier::Day.start_of(before),
            };
            let column = match tier {
                Tier::Minute => "minute_before",
                Tier::Hour => "hour_before",
                Tier::Day => "day_before",
            };
            tx.prepare_cached(&format!(
                "UPDATE history_horizon SET {column} = max({column}, ?1) WHERE id = 1"
            ))?
            .execute([before])?;
            deleted += tx
                .prepare_cached("DELETE FROM rollups WHERE tier = ?1 AND start < ?2")?
                .execute(params![tier.code(), delete_before])? as u64;
        }
    }
    Ok(deleted)
}

/// Where the raw history begins: what was pruned before it is never read, though a block
/// holding it may outlive it by up to its span.
pub(super) fn raw_horizon(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT raw_before FROM history_horizon WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(i64::MIN))
}

/// Where a tier's rollups begin (see [`raw_horizon`]).
fn horizon(conn: &Connection, tier: Tier) -> Result<i64> {
    let column = match tier {
        Tier::Minute => "minute_before",
        Tier::Hour => "hour_before",
        Tier::Day => "day_before",
    };
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {column} FROM history_horizon WHERE id = 1"
        ))?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(i64::MIN))
}

/// Deletes the raw history (blocks, runs, whole observations) older than `before`.
pub(super) fn shed_raw(tx: &Transaction<'_>, before: i64) -> Result<u64> {
    tx.prepare_cached(
        "INSERT INTO history_horizon(id, raw_before, minute_before, hour_before, day_before) \
         VALUES (1, ?1, ?2, ?2, ?2) \
         ON CONFLICT(id) DO UPDATE SET raw_before = max(raw_before, excluded.raw_before)",
    )?
    .execute(params![before, i64::MIN])?;
    let mut deleted = tx
        .prepare_cached("DELETE FROM samples WHERE end_at < ?1")?
        .execute([before])? as u64;
    deleted += tx
        .prepare_cached("DELETE FROM runs WHERE last_at < ?1")?
        .execute([before])? as u64;
    let end = first_row_since(tx, before)?;
    deleted += tx
        .prepare_cached("DELETE FROM observations WHERE id < ?1 AND at < ?2")?
        .execute([end.saturating_add(PRUNE_LOOKAHEAD_ROWS), before])? as u64;
    Ok(deleted)
}

/// The oldest raw history's time, if any.
pub(super) fn oldest_raw(conn: &Connection) -> Result<Option<i64>> {
    let samples: Option<i64> =
        conn.query_row("SELECT min(end_at) FROM samples", [], |r| r.get(0))?;
    let whole: Option<i64> = conn
        .query_row("SELECT at FROM observations ORDER BY id LIMIT 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(match (samples, whole) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::history::HistoryRetention;
    use crate::store::sqlite::tests::count;

    /// 2026-09-01 08:00:00 UTC plus `ms` milliseconds.
    fn at(ms: i64) -> DateTime<Utc> {
        "2026-09-01T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
            + chrono::Duration::milliseconds(ms)
    }

    /// A TCP check's observation: its latency also as a metric.
    fn tcp(status: Status, ms: i64, latency_us: u64) -> Observation {
        let summary = match status {
            Status::Ok => format!("connected in {:.1} ms", latency_us as f64 / 1000.0),
            _ => "connection refused".to_owned(),
        };
        Observation::new(status, summary, at(ms))
            .with_latency(Duration::from_micros(latency_us))
            .with_metric("connect_time", latency_us as f64 / 1e6, "s")
    }

    async fn record(store: &SqliteStore, check: &str, o: Observation) {
        store
            .record_observations(vec![(Arc::from(check), o)])
            .await
            .unwrap();
    }

    /// (first, last, count, summary) of the runs, oldest first: those written, and the open
    /// ones as the tail has them.
    async fn runs(store: &SqliteStore) -> Vec<(i64, i64, i64, String)> {
        store.save_open().await.unwrap();
        let mut inner = store.inner.lock();
        let Inner { conn, cache } = &mut *inner;
        let mut all: Vec<(i64, i64, i64, String)> = {
            let mut stmt = conn
                .prepare("SELECT id, first_at, last_at, count, summary FROM runs")
                .unwrap();
            stmt.query_map([], |r| {
                Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            })
            .unwrap()
            .collect::<rusqlite::Result<HashMap<i64, _>>>()
            .unwrap()
            .into_values()
            .collect()
        };
        let mut read = None;
        for o in open_view(conn, &mut cache.compact, &mut read)
            .unwrap()
            .values()
        {
            if let Some(r) = &o.run {
                all.retain(|x| x.0 != r.first_at);
                all.push((r.first_at, r.last_at, r.count, r.summary.to_string()));
            }
        }
        all.sort();
        all.into_iter()
            .map(|(f, l, c, s)| (f - model::ms(at(0)), l - model::ms(at(0)), c, s))
            .collect()
    }

    #[tokio::test]
    async fn checks_with_the_same_metrics_share_one_layout() {
        let store = SqliteStore::in_memory().unwrap();
        for check in ["a", "b", "c"] {
            record(&store, check, tcp(Status::Ok, 0, 300)).await;
        }
        record(
            &store,
            "d",
            Observation::new(Status::Ok, "up", at(0)).with_metric("load", 0.5, ""),
        )
        .await;
        let inner = store.inner.lock();
        let compact = &inner.cache.compact;
        let of = |check: &str| {
            let id = inner.cache.check_ids[check];
            compact
                .open
                .get(id)
                .unwrap()
                .hour
                .as_ref()
                .unwrap()
                .segments[0]
                .layout
                .clone()
        };
        assert!(Arc::ptr_eq(&of("a"), &of("b")));
        assert!(Arc::ptr_eq(&of("a"), &of("c")));
        assert!(!Arc::ptr_eq(&of("a"), &of("d")));
        assert_eq!(compact.distinct.len(), 2);
        // Every check's layout is the shared copy, and writing keeps no map of series.
        for check in ["a", "b", "c", "d"] {
            let l = of(check);
            assert!(Arc::ptr_eq(&l, compact.distinct.get(&*l).unwrap()));
        }
        assert!(compact.layouts.is_empty());
    }

    #[tokio::test]
    async fn ok_runs_split_on_a_change_of_status_or_shape() {
        let store = SqliteStore::in_memory().unwrap();
        for i in 0..5 {
            record(&store, "web", tcp(Status::Ok, i * 5000, 300 + i as u64)).await;
        }
        record(&store, "web", tcp(Status::Critical, 25_000, 3_000_000)).await;
        record(&store, "web", tcp(Status::Critical, 30_000, 3_000_000)).await;
        for i in 7..10 {
            record(&store, "web", tcp(Status::Ok, i * 5000, 400)).await;
        }
        // Same status, another shape: a new run.
        record(
            &store,
            "web",
            Observation::new(Status::Ok, "connected after 1 retry", at(50_000)).with_metric(
                "connect_time",
                0.0004,
                "s",
            ),
        )
        .await;
        store.save_open().await.unwrap();
        // The first observation and each change of status are whole, as is every failure.
        assert_eq!(count(&store, "SELECT count(*) FROM observations"), 4);
        assert_eq!(
            count(&store, "SELECT count(*) FROM observations WHERE status = 2"),
            2
        );
        assert_eq!(
            runs(&store).await,
            vec![
                (5000, 20_000, 4, "connected in 0.3 ms".to_owned()),
                (40_000, 45_000, 2, "connected in 0.4 ms".to_owned()),
                (50_000, 50_000, 1, "connected after 1 retry".to_owned()),
            ]
        );
        // Read back: every observation, the OK ones with their run's words and their own
        // numbers.
        let all = store.observations("web", at(-1), 0).await.unwrap();
        assert_eq!(all.len(), 11);
        let third = &all[all.len() - 3];
        assert_eq!(third.at, at(10_000));
        assert_eq!(third.summary, "connected in 0.3 ms");
        assert_eq!(third.latency, Duration::from_micros(302));
        assert_eq!(third.metrics["connect_time"].value, 0.000_302);
        assert_eq!(third.metrics["connect_time"].unit, "s");
        assert_eq!(all[0].summary, "connected after 1 retry");
        assert_eq!(store.observations("web", at(-1), 3).await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_crash_loses_only_unsaved_samples_never_a_transition() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let store = SqliteStore::open(&path).unwrap();
        // 60 s of OK at 5 s: saved at 0 s and at 30 s.
        for i in 0..12 {
            record(&store, "web", tcp(Status::Ok, i * 5000, 300)).await;
        }
        // The failure and the recovery come after the last save (the next is due at 60 s).
        record(&store, "web", tcp(Status::Critical, 57_000, 300)).await;
        record(&store, "web", tcp(Status::Ok, 58_000, 300)).await;
        // Samples written as a block (once they passed the check's spill size) are kept too.
        let in_blocks = count(&store, "SELECT coalesce(max(end_at), 0) FROM samples")
            - at(0).timestamp_millis();
        drop(store); // as after kill -9: nothing flushed
        let store = SqliteStore::open(&path).unwrap();
        let all = store.observations("web", at(-1), 0).await.unwrap();
        let statuses: Vec<(i64, Status)> = all
            .iter()
            .rev()
            .map(|o| ((o.at - at(0)).num_milliseconds(), o.status))
            .collect();
        // Saved: 0 … 30 s, and any in blocks. Lost: the rest of 35 … 55 s. Kept whole: the
        // failure and the recovery.
        let saved = in_blocks.max(30_000);
        let mut want: Vec<(i64, Status)> = (0..12)
            .map(|i| (i * 5000, Status::Ok))
            .filter(|&(t, _)| t <= saved)
            .collect();
        want.push((57_000, Status::Critical));
        want.push((58_000, Status::Ok));
        assert_eq!(statuses, want);
        // The monitor goes on where it was: the run that was open ended at the failure, the
        // next OK extends the run the recovery began, not the one before the failure.
        record(&store, "web", tcp(Status::Ok, 70_000, 300)).await;
        store.flush().await.unwrap();
        let r = runs(&store).await;
        assert_eq!(
            r.last().unwrap(),
            &(70_000, 70_000, 1, "connected in 0.3 ms".to_owned())
        );
        assert!(r.iter().all(|(f, l, _, _)| !(*f < 57_000 && *l > 57_000)));
        // A clean stop loses nothing.
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(
            store.observations("web", at(-1), 0).await.unwrap().len(),
            want.len() + 1
        );
    }

    /// Bytes of samples the store holds in memory for `check`.
    fn pending_bytes(store: &SqliteStore, check: &str) -> usize {
        let inner = store.inner.lock();
        let id = inner.cache.check_ids[check];
        inner
            .cache
            .compact
            .open
            .get(id)
            .unwrap()
            .hour
            .as_ref()
            .map_or(0, |h| h.pending_bytes())
    }

    /// (time from `at(0)`, status, latency µs, connect time) of an observation.
    fn numbers(o: &Observation) -> (i64, Status, u128, f64) {
        (
            (o.at - at(0)).num_milliseconds(),
            o.status,
            o.latency.as_micros(),
            o.metrics["connect_time"].value,
        )
    }

    /// [`numbers`] of what is read back of `check`, oldest first.
    async fn read_back(store: &SqliteStore, check: &str) -> Vec<(i64, Status, u128, f64)> {
        let all = store.observations(check, at(-1), 0).await.unwrap();
        all.iter().rev().map(numbers).collect()
    }

    /// Records `all` for `check` in batches of `per_batch`; after each batch, `then`.
    async fn record_in_batches(
        store: &SqliteStore,
        check: &str,
        all: &[Observation],
        per_batch: usize,
        mut then: impl FnMut(&SqliteStore),
    ) {
        for chunk in all.chunks(per_batch) {
            let batch = chunk
                .iter()
                .map(|o| (Arc::from(check), o.clone()))
                .collect();
            store.record_observations(batch).await.unwrap();
            then(store);
        }
    }

    /// A 1 s check with a failure now and then, for `seconds` from `from`.
    fn second_by_second(from: i64, seconds: i64) -> Vec<Observation> {
        (from..from + seconds)
            .map(|i| {
                let status = if i % 97 == 0 {
                    Status::Critical
                } else {
                    Status::Ok
                };
                tcp(status, i * 1000, 200 + (i * 7919 % 300) as u64)
            })
            .collect()
    }

    #[test]
    fn a_checks_open_history_stays_small() {
        use std::mem::size_of;
        eprintln!(
            "Open {} Run {} Hour {} Pending {}",
            size_of::<Open>(),
            size_of::<Run>(),
            size_of::<Hour>(),
            size_of::<Pending>()
        );
        // A row per check of the district's schedule, in a table indexed by id.
        assert!(size_of::<Open>() <= 176, "{}", size_of::<Open>());
    }

    #[tokio::test]
    async fn checks_that_start_together_write_their_blocks_spread_over_the_batches() {
        // 600 checks at 5 s, all observed at the same instants, as a schedule starting at
        // once runs them: their samples in memory grow alike.
        let store = SqliteStore::in_memory().unwrap();
        let names: Vec<Arc<str>> = (0..600).map(|i| Arc::from(format!("c{i:03}"))).collect();
        let mut per_batch = Vec::new();
        let mut blocks = 0;
        for step in 0..180i64 {
            let batch = names
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let latency = 200 + ((step * 7919 + i as i64 * 31) % 300) as u64;
                    (n.clone(), tcp(Status::Ok, step * 5_000, latency))
                })
                .collect();
            store.record_observations(batch).await.unwrap();
            let now = count(&store, "SELECT count(*) FROM samples");
            if now > blocks {
                per_batch.push(now - blocks);
            }
            blocks = now;
        }
        let most = per_batch.iter().copied().max().unwrap_or(0);
        // Every check wrote blocks within the quarter hour…
        assert!(blocks >= 600, "{blocks} blocks: {per_batch:?}");
        // …but no batch wrote the blocks of more than a fifth of them (with one threshold,
        // all 600 went in the same one, every few minutes).
        assert!(most <= 120, "one batch wrote {most} blocks: {per_batch:?}");
    }

    #[test]
    fn raw_blocks_read_back_and_a_layout_that_could_pass_for_one_is_compressed() {
        let samples = [[1_000, 0, 250], [6_000, 2, 300], [11_000, 0, 20_000]];
        let values = [[260], [290], [-1]];
        let mut p = Pending::new(1, Arc::new(Layout(vec![("connect".into(), "s".into())])));
        for (s, v) in samples.iter().zip(&values) {
            p.push(*s, v);
        }
        let data = encode_raw_block(&p).expect("raw");
        let cols = decode_block(&data, &p.layout).unwrap();
        assert_eq!(cols, p.columns().unwrap());
        assert_eq!(cols[0], [1_000, 6_000, 11_000]);
        assert_eq!(cols[3], [260, 290, -1]);
        // Damaged: a sample cut short.
        let cut = postcard::to_stdvec(&(RAW_BLOCK, &p.bytes[..p.bytes.len() - 1])).unwrap();
        assert!(decode_block(&cut, &p.layout).is_err());
        // 64 metrics in seconds: a compressed block's mask may have every bit set.
        let wide = Arc::new(Layout(
            (0..64).map(|i| (format!("m{i}"), "s".to_owned())).collect(),
        ));
        let mut p = Pending::new(1, wide.clone());
        p.push([1_000, 0, 250], &[250; 64]);
        assert!(encode_raw_block(&p).is_none());
        let cols = p.columns().unwrap();
        let data = encode_block(&cols, &wide).unwrap();
        assert_eq!(decode_block(&data, &wide).unwrap(), cols);
    }

    /// How many of the sample blocks are raw (see [`RAW_BLOCK`]).
    fn raw_blocks(store: &SqliteStore) -> i64 {
        let inner = store.inner.lock();
        let mut stmt = inner.conn.prepare("SELECT data FROM samples").unwrap();
        let masks = stmt
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .unwrap()
            .map(|d| {
                postcard::from_bytes::<(u64, Vec<u8>)>(&d.unwrap())
                    .unwrap()
                    .0
            })
            .collect::<Vec<_>>();
        masks.iter().filter(|&&m| m == RAW_BLOCK).count() as i64
    }

    #[tokio::test]
    async fn an_open_hour_keeps_a_few_hundred_bytes_in_memory_and_one_block_on_disk() {
        let store = SqliteStore::in_memory().unwrap();
        let recorded = second_by_second(0, 50 * 60);
        let mut most = 0;
        record_in_batches(&store, "web", &recorded, 10, |store| {
            most = most.max(pending_bytes(store, "web"));
        })
        .await;
        // Bounded by the spill size (a batch that passes it writes the block), not by the
        // hour: 3,000 samples would be ~150 kB as columns.
        assert!(most < SPILL_BYTES, "{most} bytes in memory");
        let blocks = count(&store, "SELECT count(*) FROM samples");
        // A block each time the samples pass the spill size (128 bytes; batches of 10
        // samples, about 60 bytes, overshoot it): at about 6 bytes a sample, between
        // 3,000 × 6 / 188 ≈ 96 and 3,000 × 6 / 128 ≈ 141 blocks.
        assert!(
            (90..=150).contains(&blocks),
            "{blocks} blocks written while open"
        );
        // Written as they were in memory, to be compressed once, as the hour closes.
        assert!(
            raw_blocks(&store) == blocks,
            "{} of {blocks} raw",
            raw_blocks(&store)
        );
        // Everything reads back while the hour is open: the samples in blocks, in memory, and
        // the minutes and availability of the hour.
        let want: Vec<_> = recorded.iter().map(numbers).collect();
        assert_eq!(read_back(&store, "web").await, want);
        let minutes = store
            .rollups("web", Tier::Minute, at(-1), at(3_600_000))
            .await
            .unwrap();
        assert_eq!(minutes.len(), 50);
        assert!(minutes.iter().all(|m| m.count == 60));
        let failures = recorded
            .iter()
            .filter(|o| o.status == Status::Critical)
            .count() as u64;
        assert_eq!(minutes.iter().map(|m| m.failures).sum::<u64>(), failures);
        let avail = store.availability(at(-1)).await.unwrap();
        assert_eq!((avail[0].count, avail[0].failures), (3000, failures));
        // The hour ends: its blocks become one.
        let next = tcp(Status::Ok, 3_600_000, 250);
        record(&store, "web", next).await;
        store.flush().await.unwrap();
        assert_eq!(
            count(
                &store,
                &format!(
                    "SELECT count(*) FROM samples WHERE end_at < {}",
                    model::ms(at(3_600_000))
                )
            ),
            1
        );
        // The hour's block is compressed; the next hour's sample is in memory.
        assert_eq!(raw_blocks(&store), 0);
        let hours = store
            .rollups("web", Tier::Hour, at(-1), at(2 * 3_600_000))
            .await
            .unwrap();
        assert_eq!((hours[0].count, hours[0].failures), (3000, failures));
        assert_eq!(hours[1].count, 1);
        assert_eq!(read_back(&store, "web").await.len(), 3001);
    }

    #[tokio::test]
    async fn a_crash_after_blocks_were_written_duplicates_and_loses_no_saved_sample() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let store = SqliteStore::open(&path).unwrap();
        let recorded = second_by_second(0, 20 * 60 + 10);
        record_in_batches(&store, "web", &recorded, 5, |_| {}).await;
        assert!(count(&store, "SELECT count(*) FROM samples") > 2);
        drop(store); // as after kill -9: the last 10 s were not saved
        let store = SqliteStore::open(&path).unwrap();
        let back = read_back(&store, "web").await;
        // Saved every 30 s (at the end of a batch): every second up to the last save, then
        // only the failures, which are whole rows and never lost.
        let times: Vec<i64> = back.iter().map(|b| b.0).collect();
        let last_save = (0..times.len())
            .take_while(|&i| times[i] == i as i64 * 1000)
            .last()
            .unwrap() as i64
            * 1000;
        assert!(
            (1_180_000..1_210_000).contains(&last_save),
            "saved up to {last_save} ms"
        );
        let saved: Vec<i64> = (0..=last_save / 1000).map(|i| i * 1000).collect();
        let mut want = saved.clone();
        want.extend(
            recorded
                .iter()
                .map(|o| (o.at - at(0)).num_milliseconds())
                .filter(|&ms| ms > last_save && (ms / 1000) % 97 == 0),
        );
        assert_eq!(times, want);
        let avail = store.availability(at(-1)).await.unwrap();
        assert_eq!(avail[0].count, saved.len() as u64);
        // Recording goes on from there, and the hour closes with each sample once.
        let more = second_by_second(20 * 60 + 30, 40 * 60);
        record_in_batches(&store, "web", &more, 20, |_| {}).await;
        store.flush().await.unwrap();
        let hours = store
            .rollups("web", Tier::Hour, at(-1), at(2 * 3_600_000))
            .await
            .unwrap();
        let in_first_hour = |ms: i64| ms < 3_600_000;
        let kept = read_back(&store, "web").await;
        assert_eq!(
            hours[0].count,
            kept.iter().filter(|k| in_first_hour(k.0)).count() as u64
        );
        let mut times: Vec<i64> = kept.iter().map(|k| k.0).collect();
        times.dedup();
        assert_eq!(times.len(), kept.len(), "no sample twice");
    }

    #[tokio::test]
    async fn a_save_of_many_checks_is_written_a_few_thousand_checks_a_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let store = SqliteStore::open(&path).unwrap();
        let n = TAIL_CHECKS + 1_000;
        for round in 0..3 {
            let batch = (0..n)
                .map(|c| {
                    let o = tcp(
                        Status::Ok,
                        round * 5000 + c as i64 % 1000,
                        300 + round as u64,
                    );
                    (Arc::<str>::from(format!("c{c}").as_str()), o)
                })
                .collect();
            store.record_observations(batch).await.unwrap();
        }
        store.save_open().await.unwrap();
        // The saves at the first batch and now, each in two rows.
        assert_eq!(count(&store, "SELECT count(*) FROM history_tail"), 4);
        drop(store); // as after kill -9
        let store = SqliteStore::open(&path).unwrap();
        let back = read_back(&store, &format!("c{}", n - 1)).await;
        assert_eq!(back.len(), 3);
        assert_eq!(back[2].2, 302);
        let avail = store.availability(at(-1)).await.unwrap();
        assert_eq!(avail.len(), n);
        assert!(avail.iter().all(|a| a.count == 3));
    }

    #[tokio::test]
    async fn tail_rows_of_the_earlier_format_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let store = SqliteStore::open(&path).unwrap();
        for i in 0..3 {
            record(&store, "web", tcp(Status::Ok, i * 5000, 300)).await;
        }
        store.flush().await.unwrap();
        // The same samples as the earlier version wrote them: all in the tail, format 1.
        {
            let inner = store.inner.lock();
            let id = inner.cache.check_ids["web"];
            let series: i64 = inner
                .conn
                .query_row("SELECT id FROM series WHERE check_id = ?1", [id], |r| {
                    r.get(0)
                })
                .unwrap();
            let t0 = model::ms(at(0));
            let old = TailV1 {
                checks: vec![TailCheckV1 {
                    check: id,
                    status: Some(0),
                    run: None,
                    parts: vec![(series, 4)],
                }],
                samples: columns::encode(&[
                    vec![t0, t0 + 5000, t0 + 10_000, t0 + 15_000],
                    vec![0, 0, 2, 0],
                    vec![300, 300, 300, 400],
                ])
                .unwrap(),
                metrics: columns::encode(&[vec![300, 300, 300, 400]]).unwrap(),
            };
            inner
                .conn
                .execute_batch("DELETE FROM history_tail; DELETE FROM samples;")
                .unwrap();
            inner
                .conn
                .execute(
                    "INSERT INTO history_tail(at, data) VALUES (?1, ?2)",
                    params![t0 + 15_000, postcard::to_stdvec(&old).unwrap()],
                )
                .unwrap();
        }
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        let back = read_back(&store, "web").await;
        assert_eq!(back.len(), 4);
        assert_eq!(back[3], (15_000, Status::Ok, 400, 0.0004));
        let avail = store.availability(at(-1)).await.unwrap();
        assert_eq!((avail[0].count, avail[0].failures), (4, 1));
    }

    /// Observations of three checks over 26 hours at 5 s, with failures and warnings, a
    /// metric that comes and goes, and a restart in the middle.
    async fn a_day_of_history(path: &std::path::Path) -> Vec<(String, Observation)> {
        let mut all = Vec::new();
        let mut store = Some(SqliteStore::open(path).unwrap());
        let mut batch = Vec::new();
        let mut x: u64 = 7;
        for i in 0..(26 * 720) {
            if i == 9_000 {
                store.take().unwrap().flush().await.unwrap();
                store = Some(SqliteStore::open(path).unwrap());
            }
            for (c, name) in ["web", "db", "printer"].iter().enumerate() {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let roll = (x >> 33) % 1000;
                let status = match roll {
                    0..=14 => Status::Critical,
                    15..=19 => Status::Warning,
                    20 => Status::Unknown,
                    _ => Status::Ok,
                };
                let latency = 200 + (x >> 40) % 700 + c as u64 * 1000;
                let mut o = tcp(status, i * 5000 + c as i64, latency);
                if name == &"printer" && (i / 500) % 2 == 0 {
                    o = o.with_metric("toner", ((x >> 20) % 100) as f64, "%");
                }
                batch.push((Arc::<str>::from(*name), o.clone()));
                all.push((name.to_string(), o));
            }
            if batch.len() >= 60 {
                store
                    .as_ref()
                    .unwrap()
                    .record_observations(std::mem::take(&mut batch))
                    .await
                    .unwrap();
            }
        }
        let store = store.unwrap();
        store.record_observations(batch).await.unwrap();
        store.flush().await.unwrap();
        all
    }

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance * b.abs().max(1e-9)
    }

    #[tokio::test]
    async fn rollups_equal_a_recomputation_from_the_raw_samples() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let all = a_day_of_history(&path).await;
        let store = SqliteStore::open(&path).unwrap();
        let (from, until) = (Tier::Day.start_of(model::ms(at(0))), at(27 * 3_600_000));
        let from = model::from_ms(from).unwrap();
        for check in ["web", "db", "printer"] {
            let raw: Vec<&Observation> = all
                .iter()
                .filter(|(c, _)| c == check)
                .map(|(_, o)| o)
                .collect();
            // What is read back of the raw history is what was recorded (to the µs).
            let back = store.observations(check, from, 0).await.unwrap();
            assert_eq!(back.len(), raw.len(), "{check}");
            for (b, r) in back.iter().rev().zip(&raw) {
                assert_eq!((b.at, b.status, b.latency), (r.at, r.status, r.latency));
                if r.status != Status::Ok {
                    assert_eq!(b, *r, "a whole observation is kept as it was");
                }
            }
            for tier in Tier::ALL {
                let rollups = store.rollups(check, tier, from, until).await.unwrap();
                let mut groups: BTreeMap<i64, Vec<&Observation>> = BTreeMap::new();
                for o in &raw {
                    groups
                        .entry(tier.start_of(model::ms(o.at)))
                        .or_default()
                        .push(o);
                }
                assert_eq!(rollups.len(), groups.len(), "{check} {tier}");
                for (r, (start, obs)) in rollups.iter().zip(&groups) {
                    assert_eq!(model::ms(r.start), *start);
                    assert_eq!(r.count, obs.len() as u64);
                    let n = |s: Status| obs.iter().filter(|o| o.status == s).count() as u64;
                    assert_eq!(
                        (r.failures, r.warnings, r.unknown),
                        (n(Status::Critical), n(Status::Warning), n(Status::Unknown)),
                        "{check} {tier} {}",
                        r.start
                    );
                    let mut lat: Vec<f64> = obs.iter().map(|o| o.latency.as_secs_f64()).collect();
                    lat.sort_by(f64::total_cmp);
                    let l = r.latency.unwrap();
                    let avg = lat.iter().sum::<f64>() / lat.len() as f64;
                    assert!(close(l.min, lat[0], 1e-9) && close(l.max, lat[lat.len() - 1], 1e-9));
                    // The minute keeps its average to the µs.
                    assert!(
                        (l.avg - avg).abs() <= 1e-6,
                        "{check} {tier}: {} vs {avg}",
                        l.avg
                    );
                    let p95 = lat[((0.95 * lat.len() as f64).ceil() as usize).max(1) - 1];
                    let got = r.latency_p95.unwrap();
                    assert!(close(got, p95, 0.011), "{check} {tier} p95 {got} vs {p95}");
                    let toner: Vec<f64> = obs
                        .iter()
                        .filter_map(|o| o.metrics.get("toner").map(|m| m.value))
                        .collect();
                    match r.metrics.get("toner") {
                        Some((unit, s)) => {
                            assert_eq!(unit, "%");
                            let avg = toner.iter().sum::<f64>() / toner.len() as f64;
                            assert!(close(
                                s.min,
                                toner.iter().copied().fold(f64::MAX, f64::min),
                                1e-9
                            ));
                            assert!((s.avg - avg).abs() <= 0.01, "{} vs {avg}", s.avg);
                        }
                        None => assert!(toner.is_empty(), "{check} {tier} {}", r.start),
                    }
                }
            }
        }
        // Availability of every check, from the rollups.
        let avail = store.availability(from).await.unwrap();
        assert_eq!(avail.len(), 3);
        for a in &avail {
            let raw: Vec<&Observation> = all
                .iter()
                .filter(|(c, _)| *c == a.check)
                .map(|(_, o)| o)
                .collect();
            assert_eq!(a.count, raw.len() as u64);
            let failures = raw.iter().filter(|o| o.status == Status::Critical).count() as u64;
            assert_eq!(a.failures, failures);
            assert!(a.availability.unwrap() > 0.97 && a.availability.unwrap() < 1.0);
        }
        // 3 checks × 26 h × 720 observations, at a few bytes each.
        let bytes = count(&store, "SELECT sum(length(data)) FROM samples");
        let per = bytes as f64 / (3.0 * 26.0 * 720.0);
        assert!(per < 6.0, "{per:.2} bytes per sample");
    }

    #[tokio::test]
    async fn each_tier_is_pruned_by_its_own_retention() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        a_day_of_history(&path).await;
        let store = SqliteStore::open(&path).unwrap();
        let retention = HistoryRetention {
            raw: Duration::from_secs(3 * 3600),
            minutes: Duration::from_secs(6 * 3600),
            hours: Duration::from_secs(12 * 3600),
            days: Some(Duration::from_secs(86_400)),
            min_free: 0,
        };
        let now = at(26 * 3_600_000);
        let before = |tier: i64| {
            count(
                &store,
                &format!("SELECT count(*) FROM rollups WHERE tier = {tier}"),
            )
        };
        let deleted = store.prune_history(now, &retention).await.unwrap();
        assert!(deleted > 0);
        let cut = |h: i64| model::ms(at((26 - h) * 3_600_000));
        // Raw: whole blocks, runs and rows older than 3 h are gone; a block that reaches past
        // the cut stays, but nothing before the cut is read.
        assert_eq!(
            count(
                &store,
                &format!("SELECT count(*) FROM samples WHERE end_at < {}", cut(3))
            ),
            0
        );
        assert_eq!(
            count(
                &store,
                &format!("SELECT count(*) FROM observations WHERE at < {}", cut(3))
            ),
            0
        );
        let web = store.observations("web", at(-1), 0).await.unwrap();
        assert!(web.iter().all(|o| o.at >= at(23 * 3_600_000)));
        assert_eq!(web.len(), 3 * 720);
        // Minutes of the last 6 hours, hours of the last 12, days of the last one are read.
        // Past days' minutes and hours are chunks of a day: the first day's minutes (over
        // before 04:00 of the second) are gone, its hours (some after 22:00) are kept.
        let day2 = model::ms(at(16 * 3_600_000));
        assert_eq!(
            count(&store, "SELECT min(start) FROM rollups WHERE tier = 0"),
            day2
        );
        assert!(count(&store, "SELECT min(start) FROM rollups WHERE tier = 1") < cut(12));
        assert_eq!(before(2), 3, "the day now running, of each check");
        let minutes = store
            .rollups("web", Tier::Minute, at(-1), now)
            .await
            .unwrap();
        assert_eq!(minutes.len(), 6 * 60);
        assert_eq!(model::ms(minutes[0].start), cut(6));
        let hours = store.rollups("web", Tier::Hour, at(-1), now).await.unwrap();
        assert_eq!(hours.len(), 12);
        assert_eq!(model::ms(hours[0].start), cut(12));
        // Days kept forever by default.
        assert_eq!(
            store
                .prune_history(now, &HistoryRetention::default())
                .await
                .unwrap(),
            0
        );
    }
}
