//! The history's compact model, the same in every store.
//!
//! What a check's history is made of:
//!
//! - **Whole observations**: every transition (the first observation of a check, every change of
//!   status) and every observation that is not OK, kept with its summary, metrics and structured
//!   reading.
//! - **Runs**: consecutive OK observations whose summaries have the same shape (the same text
//!   once the numbers are taken out) are one run: its first and last time, how many, and the
//!   summary of its first observation. A run is extended in place.
//! - **Samples**: every observation's time, status, latency and metrics as numbers, in blocks of
//!   up to [`BLOCK_SAMPLES`] per check, each column compressed (delta and bit packing by
//!   [`pco`]). Metric names and units live once per check and layout (a *series*), not per row.
//!   Numbers are kept to the microsecond for seconds, to 0.01 for percentages and to 0.001
//!   otherwise; whole observations keep the exact values.
//! - **Rollups**: per check per minute (count, failures, latency min/avg/max/p95, min/avg/max of
//!   each metric), per hour and per day (the same, with a mergeable latency sketch). Each tier is
//!   kept as long as [`HistoryRetention`] says, and availability and latency charts come from
//!   them.
//!
//! Rollup periods are UTC minutes, hours and days; a local day of a district is made of whole
//! hours in every time zone with a whole-hour offset.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::probe::{Observation, Status};

/// Samples per block: an hour at a 5 s interval.
pub const BLOCK_SAMPLES: usize = 720;

/// The longest span of one block, whatever the interval.
pub const BLOCK_SPAN_MS: i64 = 3_600_000;

/// A rollup tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
    /// Per day (UTC).
    Day,
}

impl Tier {
    /// Every tier, finest first.
    pub const ALL: [Tier; 3] = [Tier::Minute, Tier::Hour, Tier::Day];

    /// The length of one period, in milliseconds.
    pub const fn span_ms(self) -> i64 {
        match self {
            Tier::Minute => 60_000,
            Tier::Hour => 3_600_000,
            Tier::Day => 86_400_000,
        }
    }

    /// The start of the period holding `at_ms`.
    pub const fn start_of(self, at_ms: i64) -> i64 {
        at_ms - at_ms.rem_euclid(self.span_ms())
    }

    /// The code kept in the database.
    pub(crate) const fn code(self) -> i64 {
        match self {
            Tier::Minute => 0,
            Tier::Hour => 1,
            Tier::Day => 2,
        }
    }

    /// The name, as in `--tier minute`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tier::Minute => "minute",
            Tier::Hour => "hour",
            Tier::Day => "day",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "minute" | "minutes" | "m" => Ok(Tier::Minute),
            "hour" | "hours" | "h" => Ok(Tier::Hour),
            "day" | "days" | "d" => Ok(Tier::Day),
            _ => Err(Error::invalid(
                "tier",
                format!("`{s}` is not a tier (minute, hour or day)"),
            )),
        }
    }
}

/// How long each part of the history is kept, and how much free space the history leaves on
/// its file system (the `[monitor.history]` section).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryRetention {
    /// Samples, runs and whole observations (default 7 days).
    #[serde(default = "default_raw", with = "crate::config::duration")]
    pub raw: Duration,
    /// Minute rollups (default 30 days).
    #[serde(default = "default_minutes", with = "crate::config::duration")]
    pub minutes: Duration,
    /// Hour rollups (default 1 year).
    #[serde(default = "default_hours", with = "crate::config::duration")]
    pub hours: Duration,
    /// Day rollups (default forever; `"forever"` or a duration).
    #[serde(default, deserialize_with = "forever_or_duration")]
    pub days: Option<Duration>,
    /// Free space under which the history is near full: the oldest raw history is shed, and
    /// the `history` check warns (default `"1GiB"`; `"500MB"`, `"2GiB"`, `"0"` for never).
    #[serde(default = "default_min_free", deserialize_with = "bytes")]
    pub min_free: u64,
}

fn default_raw() -> Duration {
    Duration::from_secs(7 * 86_400)
}
fn default_minutes() -> Duration {
    Duration::from_secs(30 * 86_400)
}
fn default_hours() -> Duration {
    Duration::from_secs(365 * 86_400)
}
fn default_min_free() -> u64 {
    1 << 30
}

impl Default for HistoryRetention {
    fn default() -> Self {
        Self {
            raw: default_raw(),
            minutes: default_minutes(),
            hours: default_hours(),
            days: None,
            min_free: default_min_free(),
        }
    }
}

impl HistoryRetention {
    /// Checks that every finer tier is kept at most as long as a coarser one (a chart reaching
    /// back further than the hours would have a hole) and the raw history at least an hour.
    pub fn validate(&self) -> Result<()> {
        let at_least = |what: &str, d: Duration, min: Duration, than: &str| {
            if d < min {
                Err(Error::invalid(
                    what,
                    format!(
                        "{} is shorter than {than} ({})",
                        humantime::format_duration(d),
                        humantime::format_duration(min)
                    ),
                ))
            } else {
                Ok(())
            }
        };
        at_least("raw", self.raw, Duration::from_secs(3600), "an hour")?;
        at_least("minutes", self.minutes, self.raw, "`raw`")?;
        at_least("hours", self.hours, self.minutes, "`minutes`")?;
        if let Some(days) = self.days {
            at_least("days", days, self.hours, "`hours`")?;
        }
        Ok(())
    }

    /// How long `tier` is kept (`None`: forever).
    pub fn of(&self, tier: Tier) -> Option<Duration> {
        match tier {
            Tier::Minute => Some(self.minutes),
            Tier::Hour => Some(self.hours),
            Tier::Day => self.days,
        }
    }
}

fn forever_or_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().eq_ignore_ascii_case("forever") {
        return Ok(None);
    }
    crate::config::parse_duration(&s)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(e.to_string()))
}

fn bytes<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    let s = String::deserialize(d)?;
    parse_bytes(&s).map_err(|e| serde::de::Error::custom(e.to_string()))
}

/// Parses a size: `"1GiB"`, `"500 MB"`, `"4096"` (bytes).
pub fn parse_bytes(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        "t" | "tb" => 1_000_000_000_000,
        "tib" => 1 << 40,
        other => {
            return Err(Error::invalid(
                "size",
                format!("`{s}`: unknown unit `{other}` (try \"500MB\", \"1GiB\")"),
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| Error::invalid("size", format!("`{s}` is not a size (try \"1GiB\")")))?;
    let bytes = value * factor as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(Error::invalid("size", format!("`{s}` is too large")));
    }
    Ok(bytes.round() as u64)
}

/// Whether two summaries have the same shape: the same text once every run of digits (with
/// its decimal point) is read as one number, whatever its value.
pub fn same_shape(a: &str, b: &str) -> bool {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                a = skip_number(a);
                b = skip_number(b);
            }
            (Some(x), Some(y)) if x == y => {
                a = &a[1..];
                b = &b[1..];
            }
            _ => return false,
        }
    }
}

fn skip_number(s: &[u8]) -> &[u8] {
    let mut i = 0;
    while i < s.len()
        && (s[i].is_ascii_digit() || (s[i] == b'.' && s.get(i + 1).is_some_and(u8::is_ascii_digit)))
    {
        i += 1;
    }
    &s[i..]
}

/// A status's code in the history.
pub(crate) fn status_code(s: Status) -> i64 {
    match s {
        Status::Ok => 0,
        Status::Warning => 1,
        Status::Critical => 2,
        Status::Unknown => 3,
    }
}

/// The status of a code, if it is one.
pub(crate) fn status_of(code: i64) -> Option<Status> {
    Some(match code {
        0 => Status::Ok,
        1 => Status::Warning,
        2 => Status::Critical,
        3 => Status::Unknown,
        _ => return None,
    })
}

/// The metric names and units of a check's observations (a series), in name order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Layout(pub Vec<(String, String)>);

impl Layout {
    /// The layout of an observation's metrics.
    pub fn of(o: &Observation) -> Self {
        Layout(
            o.metrics
                .iter()
                .map(|(n, m)| (n.to_string(), m.unit.to_string()))
                .collect(),
        )
    }

    /// Whether `o`'s metrics have this layout (without building one).
    pub fn fits(&self, o: &Observation) -> bool {
        self.0.len() == o.metrics.len()
            && self
                .0
                .iter()
                .zip(&o.metrics)
                .all(|((n, u), (on, om))| n == on && u == &om.unit)
    }

    /// As kept in the database.
    pub(crate) fn encode(&self) -> String {
        serde_json::to_string(&self.0).expect("names and units serialise")
    }

    /// From the database.
    pub(crate) fn decode(s: &str) -> Result<Self> {
        serde_json::from_str(s)
            .map(Layout)
            .map_err(|e| Error::Store(format!("unreadable data in the database: layout: {e}")))
    }
}

/// Exact metric values of a whole row, in its series' order (NaN for missing).
pub(crate) fn encode_values(values: &[Option<f64>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 8);
    for v in values {
        out.extend_from_slice(&v.unwrap_or(f64::NAN).to_le_bytes());
    }
    out
}

/// See [`encode_values`].
pub(crate) fn decode_values(layout: &Layout, bytes: &[u8]) -> Result<crate::probe::Metrics> {
    if bytes.len() != layout.0.len() * 8 {
        return Err(Error::Store(format!(
            "unreadable data in the database: {} bytes of values for {} metrics",
            bytes.len(),
            layout.0.len()
        )));
    }
    Ok(layout
        .0
        .iter()
        .zip(bytes.chunks_exact(8))
        .filter_map(|((name, unit), b)| {
            let v = f64::from_le_bytes(b.try_into().expect("8 bytes"));
            (!v.is_nan()).then(|| metric(name, unit, v))
        })
        .collect())
}

/// A metric as an observation holds it.
pub(crate) fn metric(
    name: &str,
    unit: &str,
    value: f64,
) -> (crate::probe::MetricName, crate::probe::Metric) {
    (
        std::borrow::Cow::Owned(name.to_owned()),
        crate::probe::Metric {
            value,
            unit: std::borrow::Cow::Owned(unit.to_owned()),
        },
    )
}

/// How many steps per unit a metric of `unit` is kept to in samples and minute rollups.
pub fn scale(unit: &str) -> f64 {
    match unit {
        "s" => 1e6,
        "ms" => 1e3,
        "%" => 1e2,
        "B" | "bytes" | "" | "count" => 1e3,
        _ => 1e3,
    }
}

/// The integer a metric value is kept as; non-finite and out of range values are missing.
pub(crate) fn quantize(value: f64, scale: f64) -> i64 {
    let q = (value * scale).round();
    if q.is_finite() && q > MISSING as f64 && q < i64::MAX as f64 {
        q as i64
    } else {
        MISSING
    }
}

/// A kept integer as a value again.
pub(crate) fn dequantize(q: i64, scale: f64) -> Option<f64> {
    (q != MISSING).then(|| q as f64 / scale)
}

/// A metric that an observation does not have, or whose value is not a finite number.
pub(crate) const MISSING: i64 = i64::MIN;

/// Relative width of a sketch bucket: values are read back within 1 %.
const GAMMA: f64 = 1.02;

/// A mergeable latency sketch: counts in logarithmic buckets (2 % wide), sparse. A quantile
/// read from it is within 1 % of the true one (DDSketch's scheme).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sketch {
    /// (bucket, count), by bucket. Bucket 0 holds 0 and 1 µs.
    bins: Vec<(i32, u64)>,
}

impl Sketch {
    fn bucket(us: u64) -> i32 {
        if us <= 1 {
            0
        } else {
            ((us as f64).ln() / GAMMA.ln()).ceil() as i32
        }
    }

    /// Adds a latency, in microseconds.
    pub fn add(&mut self, us: u64) {
        self.add_n(Self::bucket(us), 1);
    }

    fn add_n(&mut self, bucket: i32, n: u64) {
        match self.bins.binary_search_by_key(&bucket, |b| b.0) {
            Ok(i) => self.bins[i].1 += n,
            Err(i) => self.bins.insert(i, (bucket, n)),
        }
    }

    /// Adds another sketch's counts.
    pub fn merge(&mut self, other: &Sketch) {
        for &(b, n) in &other.bins {
            self.add_n(b, n);
        }
    }

    /// The `q` quantile (0–1), in microseconds; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let total: u64 = self.bins.iter().map(|b| b.1).sum();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for &(b, n) in &self.bins {
            seen += n;
            if seen >= rank {
                if b == 0 {
                    return Some(1);
                }
                let value = 2.0 * GAMMA.powi(b) / (GAMMA + 1.0);
                return Some(value.round() as u64);
            }
        }
        None
    }
}

/// One metric's spread within a period.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// The smallest value.
    pub min: f64,
    /// The mean.
    pub avg: f64,
    /// The largest value.
    pub max: f64,
}

/// What a check did in one period of a tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollup {
    /// The tier.
    pub tier: Tier,
    /// The start of the period (UTC).
    pub start: DateTime<Utc>,
    /// Observations.
    pub count: u64,
    /// Critical ones.
    pub failures: u64,
    /// Warnings.
    pub warnings: u64,
    /// Unknown ones (the check could not tell).
    pub unknown: u64,
    /// Latency, in seconds.
    pub latency: Option<Spread>,
    /// The 95th percentile of the latency, in seconds.
    pub latency_p95: Option<f64>,
    /// Each metric's spread, with its unit.
    pub metrics: BTreeMap<String, (String, Spread)>,
}

impl Rollup {
    /// The share of observations that were not critical, of those that could tell (unknown
    /// ones are left out); `None` when none could.
    pub fn availability(&self) -> Option<f64> {
        availability(self.count, self.failures, self.unknown)
    }
}

/// A check's availability over a time span, from rollups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    /// The check.
    pub check: String,
    /// Observations.
    pub count: u64,
    /// Critical ones.
    pub failures: u64,
    /// Unknown ones.
    pub unknown: u64,
    /// The share that was not critical (see [`Rollup::availability`]).
    pub availability: Option<f64>,
}

/// See [`Rollup::availability`].
pub fn availability(count: u64, failures: u64, unknown: u64) -> Option<f64> {
    let told = count.saturating_sub(unknown);
    (told > 0).then(|| 1.0 - failures.min(told) as f64 / told as f64)
}

/// A metric's running min, sum and max.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct MetricAcc {
    pub n: u64,
    pub min: f64,
    pub sum: f64,
    pub max: f64,
}

impl Default for MetricAcc {
    fn default() -> Self {
        Self {
            n: 0,
            min: f64::INFINITY,
            sum: 0.0,
            max: f64::NEG_INFINITY,
        }
    }
}

impl MetricAcc {
    fn add(&mut self, v: f64) {
        if v.is_finite() {
            self.n += 1;
            self.min = self.min.min(v);
            self.max = self.max.max(v);
            self.sum += v;
        }
    }

    fn merge(&mut self, o: &MetricAcc) {
        self.n += o.n;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
    }

    fn spread(&self) -> Option<Spread> {
        (self.n > 0).then(|| Spread {
            min: self.min,
            avg: self.sum / self.n as f64,
            max: self.max,
        })
    }
}

/// A period's running totals: what a rollup is made from, and merged into coarser ones.
/// Metrics are kept by name, so a period through which a check's metrics changed still adds up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Acc {
    pub count: u64,
    pub failures: u64,
    pub warnings: u64,
    pub unknown: u64,
    /// Latency in µs.
    pub latency: MetricAcc,
    pub sketch: Sketch,
    /// Name → (unit, totals).
    pub metrics: BTreeMap<String, (String, MetricAcc)>,
    /// The 95th percentile of the latency in µs, kept instead of the sketch where no coarser
    /// period is made from this one.
    #[serde(default)]
    pub p95_us: Option<u64>,
}

impl Acc {
    /// Adds one observation's numbers (metrics in `layout`'s order, `None` for missing).
    pub fn add(
        &mut self,
        status: Status,
        latency_us: u64,
        layout: &Layout,
        values: &[Option<f64>],
    ) {
        self.count += 1;
        match status {
            Status::Ok => {}
            Status::Warning => self.warnings += 1,
            Status::Critical => self.failures += 1,
            Status::Unknown => self.unknown += 1,
        }
        self.latency.add(latency_us as f64);
        self.sketch.add(latency_us);
        for ((name, unit), v) in layout.0.iter().zip(values) {
            if let Some(v) = v {
                match self.metrics.get_mut(name) {
                    Some((_, acc)) => acc.add(*v),
                    None => {
                        let mut acc = MetricAcc::default();
                        acc.add(*v);
                        self.metrics.insert(name.clone(), (unit.clone(), acc));
                    }
                }
            }
        }
    }

    /// Adds another period's totals.
    pub fn merge(&mut self, o: &Acc) {
        self.count += o.count;
        self.failures += o.failures;
        self.warnings += o.warnings;
        self.unknown += o.unknown;
        self.latency.merge(&o.latency);
        self.sketch.merge(&o.sketch);
        for (name, (unit, acc)) in &o.metrics {
            self.metrics
                .entry(name.clone())
                .or_insert_with(|| (unit.clone(), MetricAcc::default()))
                .1
                .merge(acc);
        }
    }

    /// The spread of the latency, in µs.
    pub fn latency_us(&self) -> Option<Spread> {
        self.latency.spread()
    }

    /// A metric's spread.
    pub fn metric(&self, name: &str) -> Option<Spread> {
        self.metrics.get(name).and_then(|(_, a)| a.spread())
    }

    /// The rollup of this period.
    pub fn rollup(&self, tier: Tier, start_ms: i64) -> Result<Rollup> {
        let us = |v: f64| v / 1e6;
        Ok(Rollup {
            tier,
            start: from_ms(start_ms)?,
            count: self.count,
            failures: self.failures,
            warnings: self.warnings,
            unknown: self.unknown,
            latency: self.latency.spread().map(|s| Spread {
                min: us(s.min),
                avg: us(s.avg),
                max: us(s.max),
            }),
            latency_p95: self
                .sketch
                .quantile(0.95)
                .or(self.p95_us)
                .map(|v| us(v as f64)),
            metrics: self
                .metrics
                .iter()
                .filter_map(|(name, (unit, acc))| {
                    acc.spread().map(|s| (name.clone(), (unit.clone(), s)))
                })
                .collect(),
        })
    }
}

/// Time in unix milliseconds.
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Unix milliseconds as a time.
pub(crate) fn from_ms(v: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v).ok_or_else(|| corrupt(format!("timestamp {v}")))
}

/// [`from_ms`] of a time that may be missing.
pub(crate) fn opt_from_ms(v: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    v.map(from_ms).transpose()
}

/// What a store says of a value in its database it cannot read.
pub(crate) fn corrupt(what: impl fmt::Display) -> Error {
    Error::Store(format!("unreadable data in the database: {what}"))
}

/// `v` as the JSON a store keeps.
pub(crate) fn to_json<T: Serialize>(what: &str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::Store(format!("encoding {what}: {e}")))
}

/// A value from the JSON a store keeps.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| corrupt(format!("{what}: {e}")))
}

/// Every check's availability from its totals `[count, failures, unknown]` by check id, named
/// by `names` (ids without a name are left out), by check name.
pub(crate) fn availability_by_name<K: Eq + std::hash::Hash>(
    totals: std::collections::HashMap<K, [u64; 3]>,
    names: &std::collections::HashMap<K, String>,
) -> Vec<Availability> {
    let mut out: Vec<Availability> = totals
        .into_iter()
        .filter_map(|(id, [count, failures, unknown])| {
            names.get(&id).map(|check| Availability {
                check: check.clone(),
                count,
                failures,
                unknown,
                availability: availability(count, failures, unknown),
            })
        })
        .collect();
    out.sort_by(|a, b| a.check.cmp(&b.check));
    out
}

/// Integer columns, each compressed on its own (pco: delta encoding and bit packing chosen per
/// column), in one byte string. A block of samples and a chunk of minute rollups are kept so.
pub(crate) mod columns {
    use super::*;

    /// The format's first byte.
    const VERSION: u8 = 1;

    /// The most rows a stored column may say it has (a block or chunk holds far fewer).
    const MAX_ROWS: usize = 1 << 20;

    /// Encodes equally long columns.
    pub fn encode(columns: &[Vec<i64>]) -> Result<Vec<u8>> {
        let rows = columns.first().map_or(0, Vec::len);
        debug_assert!(columns.iter().all(|c| c.len() == rows));
        let parts = columns
            .iter()
            .map(|c| {
                // The lowest level: as small on these columns (within 1 %), several times
                // faster.
                pco::standalone::simple_compress(
                    c,
                    &pco::ChunkConfig::default().with_compression_level(0),
                )
                .map_err(|e| Error::Store(format!("compressing history: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut out = vec![VERSION];
        out.extend(
            postcard::to_stdvec(&(rows as u64, parts))
                .map_err(|e| Error::Store(format!("encoding history: {e}")))?,
        );
        Ok(out)
    }

    /// Decodes what [`encode`] made, which must have `width` columns. A stored block that is
    /// damaged, or says it holds more than a block can, is refused, never trusted for sizes.
    pub fn decode(bytes: &[u8], width: usize) -> Result<Vec<Vec<i64>>> {
        let damaged = |what: &str| {
            Error::Store(format!(
                "unreadable data in the database: history block: {what}"
            ))
        };
        let (&version, rest) = bytes.split_first().ok_or_else(|| damaged("empty"))?;
        if version != VERSION {
            return Err(damaged(&format!("format {version}")));
        }
        let (rows, parts): (u64, Vec<Vec<u8>>) =
            postcard::from_bytes(rest).map_err(|e| damaged(&e.to_string()))?;
        let rows = usize::try_from(rows)
            .ok()
            .filter(|&r| r <= MAX_ROWS)
            .ok_or_else(|| damaged(&format!("{rows} rows")))?;
        if parts.len() != width {
            return Err(damaged(&format!("{} columns, not {width}", parts.len())));
        }
        parts
            .iter()
            .map(|p| {
                let mut column = vec![0i64; rows];
                if rows == 0 {
                    return Ok(column);
                }
                let progress = pco::standalone::simple_decompress_into(p, &mut column)
                    .map_err(|e| damaged(&e.to_string()))?;
                if progress.n_processed != rows {
                    return Err(damaged(&format!(
                        "{} numbers in a column, not {rows}",
                        progress.n_processed
                    )));
                }
                Ok(column)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_ignore_the_numbers_only() {
        assert!(same_shape(
            "connected to 10.0.0.1:5432 in 0.1 ms",
            "connected to 10.0.0.12:5432 in 12.25 ms"
        ));
        assert!(same_shape("", ""));
        assert!(!same_shape("HTTP 200 in 3 ms", "HTTP 200 in 3 s"));
        assert!(!same_shape("3 ms", "3 ms."));
        assert!(same_shape("3. ms", "45. ms"));
        assert!(!same_shape("ok", "ok "));
    }

    #[test]
    fn sketch_quantiles_are_within_one_percent_and_merge() {
        let mut a = Sketch::default();
        let mut b = Sketch::default();
        let mut all: Vec<u64> = Vec::new();
        for i in 1..=1000u64 {
            let v = 100 + i * 37 % 5000;
            all.push(v);
            if i % 2 == 0 { a.add(v) } else { b.add(v) }
        }
        a.merge(&b);
        all.sort_unstable();
        for q in [0.5, 0.95, 0.99] {
            let exact = all[(q * all.len() as f64).ceil() as usize - 1] as f64;
            let got = a.quantile(q).unwrap() as f64;
            assert!(
                (got - exact).abs() / exact <= 0.011,
                "q{q}: {got} vs {exact}"
            );
        }
        assert_eq!(Sketch::default().quantile(0.95), None);
        let mut z = Sketch::default();
        z.add(0);
        assert_eq!(z.quantile(0.5), Some(1));
    }

    #[test]
    fn columns_round_trip_and_damage_is_refused() {
        let cols = vec![
            (0..720)
                .map(|i| 1_700_000_000_000 + i * 5000)
                .collect::<Vec<i64>>(),
            vec![0; 720],
            (0..720).map(|i| 150 + (i * 7919) % 113).collect(),
            vec![MISSING; 720],
        ];
        let bytes = columns::encode(&cols).unwrap();
        assert!(bytes.len() < 720 * 3, "{} bytes", bytes.len());
        assert_eq!(columns::decode(&bytes, 4).unwrap(), cols);
        assert!(columns::decode(&bytes, 3).is_err());
        assert!(columns::decode(&bytes[..bytes.len() / 2], 4).is_err());
        assert!(columns::decode(&[], 4).is_err());
        // A header that claims more rows than its columns hold, or than a block may.
        let mut lying = vec![1u8];
        lying.extend(postcard::to_stdvec(&(1u64 << 40, vec![Vec::<u8>::new(); 4])).unwrap());
        assert!(columns::decode(&lying, 4).is_err());
        let short = columns::encode(&[vec![1, 2, 3]]).unwrap();
        let mut longer = vec![1u8];
        let (_, parts): (u64, Vec<Vec<u8>>) = postcard::from_bytes(&short[1..]).unwrap();
        longer.extend(postcard::to_stdvec(&(5u64, parts)).unwrap());
        assert!(columns::decode(&longer, 1).is_err());
    }

    #[test]
    fn sizes_and_retention() {
        assert_eq!(parse_bytes("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("500 MB").unwrap(), 500_000_000);
        assert_eq!(parse_bytes("0").unwrap(), 0);
        assert!(parse_bytes("5 parsecs").is_err());
        assert!(parse_bytes("lots").is_err());
        let r: HistoryRetention = toml::from_str("days = \"forever\"\nraw = \"2d\"").unwrap();
        assert_eq!(r.days, None);
        assert_eq!(r.raw, Duration::from_secs(2 * 86_400));
        assert!(r.validate().is_ok());
        let bad: HistoryRetention = toml::from_str("raw = \"60d\"").unwrap();
        assert!(bad.validate().unwrap_err().to_string().contains("minutes"));
        assert!(toml::from_str::<HistoryRetention>("rows = \"1d\"").is_err());
    }

    #[test]
    fn quantizing_keeps_microseconds_and_marks_missing() {
        assert_eq!(quantize(0.000_156_441, scale("s")), 156);
        assert_eq!(dequantize(156, scale("s")), Some(0.000_156));
        assert_eq!(quantize(f64::NAN, 1.0), MISSING);
        assert_eq!(quantize(1e300, 1e3), MISSING);
        assert_eq!(dequantize(MISSING, 1.0), None);
        assert_eq!(availability(10, 1, 0), Some(0.9));
        assert_eq!(availability(10, 0, 10), None);
    }
}
