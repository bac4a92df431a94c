//! Ticket volume over school weeks: spikes, term-over-term changes, long trends and level shifts.
//!
//! Every count is kept per school week (Monday to Sunday) together with the week's instructional
//! days, so a holiday week reads as "fewer school days", not as "fewer problems". Each finding
//! carries its evidence: counts, baseline or expected value, and a p-value or score.

use chrono::{NaiveDate, TimeDelta};
use serde::Serialize;

use super::calendar::{SchoolCalendar, week_start};
use super::{FastMap, Ticket, stats};

/// Trend detection settings.
#[derive(Debug, Clone)]
pub struct TrendOptions {
    /// Family-wise false-alarm rate for spikes (Bonferroni over every week of every series).
    pub spike_alpha: f64,
    /// A spike needs at least this many tickets in the week.
    pub spike_min_count: u64,
    /// …and at least this ratio to the expected count.
    pub spike_min_ratio: f64,
    /// Instructional weeks used as the spike baseline.
    pub baseline_weeks: usize,
    /// Family-wise false-alarm rate for term comparisons and long trends.
    pub alpha: f64,
    /// Term changes smaller than this relative change are not reported as findings.
    pub min_term_change: f64,
    /// Long trends smaller than this relative change over the whole span are not findings.
    pub min_trend_change: f64,
    /// Changepoint penalty in units of `ln(n)` (times the estimated over-dispersion).
    pub changepoint_penalty: f64,
    /// Changepoints need segments of at least this many weeks.
    pub changepoint_min_weeks: usize,
    /// Changepoints smaller than this relative change are dropped.
    pub changepoint_min_change: f64,
    /// How many categories, sites and topics get their own series.
    pub top_series: usize,
}

impl Default for TrendOptions {
    fn default() -> Self {
        Self {
            spike_alpha: 0.01,
            spike_min_count: 10,
            spike_min_ratio: 1.5,
            baseline_weeks: 8,
            alpha: 0.01,
            min_term_change: 0.15,
            min_trend_change: 0.25,
            changepoint_penalty: 3.0,
            changepoint_min_weeks: 4,
            changepoint_min_change: 0.3,
            top_series: 12,
        }
    }
}

/// What a series counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// All tickets.
    All,
    /// One category.
    Category,
    /// One site.
    Site,
    /// One topic.
    Topic,
}

/// Weekly counts of one slice of the tickets.
#[derive(Debug, Clone, Serialize)]
pub struct WeeklySeries {
    /// What is counted.
    pub dimension: Dimension,
    /// Which category / site / topic (`all` for everything).
    pub key: String,
    /// Tickets per week (aligned with [`Trends::weeks`]).
    pub counts: Vec<u32>,
    /// Total tickets.
    pub total: u64,
}

/// Why a week was flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpikeKind {
    /// An unexpected spike.
    Spike,
    /// A rise in the first weeks of a term (expected in schools; reported separately).
    TermStart,
}

/// A week with far more tickets than its baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Spike {
    /// Series dimension.
    pub dimension: Dimension,
    /// Series key.
    pub key: String,
    /// Monday of the week.
    pub week: NaiveDate,
    /// Spike or term-start surge.
    pub kind: SpikeKind,
    /// Tickets that week.
    pub count: u64,
    /// Expected from the baseline weeks (scaled to the week's instructional days).
    pub expected: f64,
    /// Baseline tickets per instructional day.
    pub baseline_rate: f64,
    /// Instructional weeks in the baseline.
    pub baseline_weeks: usize,
    /// Conditional binomial (Poisson) upper-tail p-value.
    pub p_value: f64,
    /// The Bonferroni threshold the p-value was compared with.
    pub threshold: f64,
}

/// One term's volume.
#[derive(Debug, Clone, Serialize)]
pub struct TermVolume {
    /// Term name.
    pub name: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Tickets opened in the term.
    pub count: u64,
    /// Instructional days in the term (within the data's span).
    pub days: u32,
    /// Tickets per instructional day.
    pub rate: f64,
}

/// How a series went from one term to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TermChangeKind {
    /// Tickets in both terms: compare the rates.
    Changed,
    /// None in the earlier term: new (no rate to compare with).
    New,
    /// None in the later term: gone.
    Gone,
}

/// A term compared with the previous one (Poisson rate-ratio test).
#[derive(Debug, Clone, Serialize)]
pub struct TermChange {
    /// Series dimension.
    pub dimension: Dimension,
    /// Series key.
    pub key: String,
    /// The later term.
    pub term: String,
    /// The earlier term.
    pub previous: String,
    /// Tickets in the later term.
    pub count: u64,
    /// Tickets in the earlier term.
    pub previous_count: u64,
    /// New, gone, or changed.
    pub kind: TermChangeKind,
    /// Rate (per instructional day) later / earlier; `None` when the series is new (there was
    /// no earlier rate), `0` when it is gone.
    pub rate_ratio: Option<f64>,
    /// Two-sided p-value of the rate-ratio test (`0` where it underflows: the report shows
    /// `< 1e-300`).
    pub p_value: f64,
    /// Whether it passes the (Bonferroni) threshold and the minimum change.
    pub significant: bool,
}

/// A long monotonic trend (Mann-Kendall on weekly rates, Sen's slope).
#[derive(Debug, Clone, Serialize)]
pub struct LongTrend {
    /// Series dimension.
    pub dimension: Dimension,
    /// Series key.
    pub key: String,
    /// Mann-Kendall result (slope in tickets per instructional day, per week).
    pub test: stats::MannKendall,
    /// Weeks in the test.
    pub weeks: usize,
    /// Median rate (tickets per instructional day).
    pub median_rate: f64,
    /// Change over the span relative to the median rate (`slope × weeks / median`), bounded
    /// below at −1: a count cannot fall by more than all of it, however steep the slope.
    pub relative_change: f64,
    /// Whether it passes the threshold and minimum change.
    pub significant: bool,
}

/// A level shift found by the Poisson changepoint search.
#[derive(Debug, Clone, Serialize)]
pub struct Changepoint {
    /// Series dimension.
    pub dimension: Dimension,
    /// Series key.
    pub key: String,
    /// First week of the new level.
    pub week: NaiveDate,
    /// Rate (per instructional day) in the segment before.
    pub rate_before: f64,
    /// Rate in the segment after.
    pub rate_after: f64,
    /// About how many tickets a month before (rate × 21.7 school days).
    pub monthly_before: f64,
    /// About how many a month after.
    pub monthly_after: f64,
    /// About how many tickets a month in the 13 school weeks before the change (within the segment).
    pub monthly_before_quarter: f64,
    /// About how many a month in the 13 school weeks from the change on (within the segment).
    pub monthly_after_quarter: f64,
    /// First week of the segment before.
    pub segment_before_start: NaiveDate,
    /// Last week of the segment after.
    pub segment_after_end: NaiveDate,
    /// Rate-ratio test p-value of the two segments.
    pub p_value: f64,
    /// The penalty used (ln n × factor × dispersion).
    pub penalty: f64,
}

/// Everything about volume over time.
#[derive(Debug, Clone, Serialize)]
pub struct Trends {
    /// Mondays of the weeks covered.
    pub weeks: Vec<NaiveDate>,
    /// Instructional days per week.
    pub instructional_days: Vec<u32>,
    /// Series: all tickets first, then top categories, sites and topics.
    pub series: Vec<WeeklySeries>,
    /// Flagged weeks (spikes and term-start surges).
    pub spikes: Vec<Spike>,
    /// Volume per term.
    pub terms: Vec<TermVolume>,
    /// Each term against the previous one, per series.
    pub term_changes: Vec<TermChange>,
    /// Long trends per series (significant ones first).
    pub long_trends: Vec<LongTrend>,
    /// Level shifts in the overall series and top categories.
    pub changepoints: Vec<Changepoint>,
    /// Tickets opened on days without instruction.
    pub outside_instruction: u64,
}

impl Trends {
    /// Spikes of kind [`SpikeKind::Spike`].
    pub fn unexpected_spikes(&self) -> impl Iterator<Item = &Spike> {
        self.spikes.iter().filter(|s| s.kind == SpikeKind::Spike)
    }

    /// The series for a dimension and key.
    pub fn series(&self, dimension: Dimension, key: &str) -> Option<&WeeklySeries> {
        self.series
            .iter()
            .find(|s| s.dimension == dimension && s.key == key)
    }
}

/// Builds the weekly series and runs every detector. `topics[i]` is ticket `i`'s topic label.
pub fn analyze(
    tickets: &[Ticket],
    topics: &[Option<&str>],
    calendar: &SchoolCalendar,
    options: &TrendOptions,
) -> Trends {
    let first = tickets
        .iter()
        .map(|t| t.created.date())
        .min()
        .unwrap_or_default();
    let last = tickets
        .iter()
        .map(|t| t.created.date())
        .max()
        .unwrap_or_default();
    let first_week = week_start(first);
    let n_weeks = ((week_start(last) - first_week).num_days() / 7 + 1).max(1) as usize;
    let weeks: Vec<NaiveDate> = (0..n_weeks)
        .map(|i| first_week + TimeDelta::days(7 * i as i64))
        .collect();
    let days: Vec<u32> = weeks
        .iter()
        .map(|w| {
            (0..7)
                .map(|k| *w + TimeDelta::days(k))
                .filter(|d| *d >= first && *d <= last && calendar.is_instructional(*d))
                .count() as u32
        })
        .collect();
    let week_index: Vec<usize> = tickets
        .iter()
        .map(|t| ((week_start(t.created.date()) - first_week).num_days() / 7) as usize)
        .collect();
    let span = (last - first).num_days().max(0) as usize + 1;
    let school_day: Vec<bool> = (0..span)
        .map(|k| calendar.is_instructional(first + TimeDelta::days(k as i64)))
        .collect();
    let outside_instruction = tickets
        .iter()
        .filter(|t| !school_day[(t.created.date() - first).num_days() as usize])
        .count() as u64;

    let mut series = vec![WeeklySeries {
        dimension: Dimension::All,
        key: "all".into(),
        counts: count_weeks(week_index.iter().copied(), n_weeks),
        total: tickets.len() as u64,
    }];
    let categories: Vec<Option<&str>> = tickets.iter().map(|t| t.category.as_deref()).collect();
    let sites: Vec<Option<&str>> = tickets.iter().map(|t| t.site.as_deref()).collect();
    let dims: [(Dimension, &[Option<&str>]); 3] = [
        (Dimension::Category, &categories),
        (Dimension::Site, &sites),
        (Dimension::Topic, topics),
    ];
    for (dim, keys) in dims.iter() {
        let mut per: FastMap<&str, Vec<u32>> = FastMap::default();
        for (i, &w) in week_index.iter().enumerate() {
            if let Some(k) = keys.get(i).copied().flatten() {
                per.entry(k).or_insert_with(|| vec![0; n_weeks])[w] += 1;
            }
        }
        let mut keyed: Vec<(&str, Vec<u32>, u64)> = per
            .into_iter()
            .map(|(k, v)| {
                let t = v.iter().map(|&c| c as u64).sum();
                (k, v, t)
            })
            .collect();
        keyed.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
        if keyed.len() <= 1 {
            continue; // one category = the overall series
        }
        for (k, v, t) in keyed.into_iter().take(options.top_series) {
            series.push(WeeklySeries {
                dimension: *dim,
                key: k.to_string(),
                counts: v,
                total: t,
            });
        }
    }

    let spikes = find_spikes(&series, &weeks, &days, calendar, options);
    let (terms, term_changes) = compare_terms(&series, &weeks, &days, calendar, options);
    let long_trends = find_long_trends(&series, &days, options);
    let changepoints = find_changepoints(&series, &weeks, &days, options);
    Trends {
        weeks,
        instructional_days: days,
        series,
        spikes,
        terms,
        term_changes,
        long_trends,
        changepoints,
        outside_instruction,
    }
}

fn count_weeks(idx: impl Iterator<Item = usize>, n: usize) -> Vec<u32> {
    let mut v = vec![0u32; n];
    for i in idx {
        v[i] += 1;
    }
    v
}

fn find_spikes(
    series: &[WeeklySeries],
    weeks: &[NaiveDate],
    days: &[u32],
    calendar: &SchoolCalendar,
    o: &TrendOptions,
) -> Vec<Spike> {
    let tests: usize = series.len() * days.iter().filter(|&&d| d > 0).count().max(1);
    let threshold = o.spike_alpha / tests as f64;
    let mut out = Vec::new();
    for s in series {
        let mut flagged = vec![false; weeks.len()];
        for t in 0..weeks.len() {
            if days[t] == 0 {
                continue;
            }
            // Baselines: the instructional, unflagged weeks before, and the instructional weeks
            // after (a spike is transient: a lasting rise is a level shift, not a spike). The
            // higher of the two is the one to beat.
            let side = |range: &mut dyn Iterator<Item = usize>| {
                let (mut c, mut d, mut used) = (0u64, 0u64, 0usize);
                for j in range {
                    if used == o.baseline_weeks {
                        break;
                    }
                    if days[j] == 0 || flagged[j] {
                        continue;
                    }
                    c += s.counts[j] as u64;
                    d += days[j] as u64;
                    used += 1;
                }
                (used >= 4).then_some((c, d, used))
            };
            let before = side(&mut (0..t).rev());
            let after = side(&mut (t + 1..weeks.len()));
            let rate = |x: &(u64, u64, usize)| x.0 as f64 / x.1 as f64;
            let base = match (before, after) {
                (Some(b), Some(a)) => {
                    if rate(&a) > rate(&b) {
                        a
                    } else {
                        b
                    }
                }
                (Some(b), None) => b,
                (None, Some(a)) => a,
                (None, None) => continue,
            };
            let (base_count, base_days, used) = base;
            let c = s.counts[t] as u64;
            let rate = base_count as f64 / base_days as f64;
            let expected = rate * days[t] as f64;
            if c < o.spike_min_count || (c as f64) < o.spike_min_ratio * expected.max(1.0) {
                continue;
            }
            let share = days[t] as f64 / (days[t] as f64 + base_days as f64);
            let p = stats::binomial_sf(c, c + base_count, share);
            if p < threshold {
                flagged[t] = true;
                let kind = if calendar.in_term_start(weeks[t], 3) {
                    SpikeKind::TermStart
                } else {
                    SpikeKind::Spike
                };
                out.push(Spike {
                    dimension: s.dimension,
                    key: s.key.clone(),
                    week: weeks[t],
                    kind,
                    count: c,
                    expected,
                    baseline_rate: rate,
                    baseline_weeks: used,
                    p_value: p,
                    threshold,
                });
            }
        }
    }
    out.sort_by(|a, b| a.p_value.total_cmp(&b.p_value));
    out
}

fn compare_terms(
    series: &[WeeklySeries],
    weeks: &[NaiveDate],
    days: &[u32],
    calendar: &SchoolCalendar,
    o: &TrendOptions,
) -> (Vec<TermVolume>, Vec<TermChange>) {
    // Weeks → term (by the week's Monday..Friday overlap).
    let term_of_week: Vec<Option<usize>> = weeks
        .iter()
        .map(|w| (0..5).find_map(|k| calendar.term_of(*w + TimeDelta::days(k))))
        .collect();
    let n_terms = calendar.terms.len();
    let mut term_days = vec![0u32; n_terms];
    for (i, t) in term_of_week.iter().enumerate() {
        if let Some(t) = t {
            term_days[*t] += days[i];
        }
    }
    let per_term = |s: &WeeklySeries| {
        let mut c = vec![0u64; n_terms];
        for (i, t) in term_of_week.iter().enumerate() {
            if let Some(t) = t
                && days[i] > 0
            {
                c[*t] += s.counts[i] as u64;
            }
        }
        c
    };
    let all = per_term(&series[0]);
    let terms: Vec<TermVolume> = calendar
        .terms
        .iter()
        .enumerate()
        .filter(|(i, _)| term_days[*i] > 0)
        .map(|(i, t)| TermVolume {
            name: t.name.clone(),
            start: t.start,
            end: t.end,
            count: all[i],
            days: term_days[i],
            rate: all[i] as f64 / term_days[i] as f64,
        })
        .collect();
    let present: Vec<usize> = (0..n_terms).filter(|&i| term_days[i] > 0).collect();
    let pairs: Vec<(usize, usize)> = present.windows(2).map(|w| (w[0], w[1])).collect();
    let tests = (pairs.len() * series.len()).max(1);
    let mut changes = Vec::new();
    for s in series {
        let c = per_term(s);
        for &(a, b) in &pairs {
            if c[a] + c[b] < 20 {
                continue;
            }
            let (ratio, p) =
                stats::rate_ratio_test(c[b], term_days[b] as f64, c[a], term_days[a] as f64);
            let significant =
                p < o.alpha / tests as f64 && (ratio.ln().abs() >= (1.0 + o.min_term_change).ln());
            changes.push(TermChange {
                dimension: s.dimension,
                key: s.key.clone(),
                term: calendar.terms[b].name.clone(),
                previous: calendar.terms[a].name.clone(),
                count: c[b],
                previous_count: c[a],
                kind: if c[a] == 0 {
                    TermChangeKind::New
                } else if c[b] == 0 {
                    TermChangeKind::Gone
                } else {
                    TermChangeKind::Changed
                },
                rate_ratio: ratio.is_finite().then_some(ratio),
                p_value: p,
                significant,
            });
        }
    }
    (terms, changes)
}

fn find_long_trends(series: &[WeeklySeries], days: &[u32], o: &TrendOptions) -> Vec<LongTrend> {
    let tests = series.len().max(1) as f64;
    let mut out: Vec<LongTrend> = series
        .iter()
        .filter_map(|s| {
            // Weekly rates of weeks with at least three school days.
            let rates: Vec<f64> = s
                .counts
                .iter()
                .zip(days)
                .filter(|(_, d)| **d >= 3)
                .map(|(c, d)| *c as f64 / *d as f64)
                .collect();
            if rates.len() < 12 || s.total < 30 {
                return None;
            }
            let test = stats::mann_kendall(&rates);
            let mut sorted = rates.clone();
            let med = stats::median(&mut sorted);
            let mean = rates.iter().sum::<f64>() / rates.len() as f64;
            let level = if med > 0.0 { med } else { mean };
            let relative_change = if level > 0.0 {
                (test.sen_slope * rates.len() as f64 / level).max(-1.0)
            } else {
                0.0
            };
            let significant =
                test.p_value < o.alpha / tests && relative_change.abs() >= o.min_trend_change;
            Some(LongTrend {
                dimension: s.dimension,
                key: s.key.clone(),
                test,
                weeks: rates.len(),
                median_rate: level,
                relative_change,
                significant,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.significant
            .cmp(&a.significant)
            .then(a.test.p_value.total_cmp(&b.test.p_value))
    });
    out
}

fn find_changepoints(
    series: &[WeeklySeries],
    weeks: &[NaiveDate],
    days: &[u32],
    o: &TrendOptions,
) -> Vec<Changepoint> {
    let mut out = Vec::new();
    for s in series
        .iter()
        .filter(|s| matches!(s.dimension, Dimension::All | Dimension::Category))
    {
        let idx: Vec<usize> = (0..weeks.len()).filter(|&i| days[i] > 0).collect();
        if idx.len() < 2 * o.changepoint_min_weeks || s.total < 50 {
            continue;
        }
        let counts: Vec<f64> = idx.iter().map(|&i| s.counts[i] as f64).collect();
        let exposure: Vec<f64> = idx.iter().map(|&i| days[i] as f64).collect();
        let dispersion = dispersion(&counts, &exposure);
        let penalty = o.changepoint_penalty * (idx.len() as f64).ln() * dispersion;
        let splits = stats::poisson_binseg(&counts, &exposure, penalty, o.changepoint_min_weeks);
        let mut bounds = vec![0];
        bounds.extend(&splits);
        bounds.push(idx.len());
        let seg = |a: usize, b: usize| {
            let c: f64 = counts[a..b].iter().sum();
            let e: f64 = exposure[a..b].iter().sum();
            (c, e)
        };
        for k in 1..bounds.len() - 1 {
            let (c1, e1) = seg(bounds[k - 1], bounds[k]);
            let (c2, e2) = seg(bounds[k], bounds[k + 1]);
            let (r1, r2) = (c1 / e1, c2 / e2);
            if r1 <= 0.0 || (r2 / r1).ln().abs() < (1.0 + o.changepoint_min_change).ln() {
                continue;
            }
            let (_, p) = stats::rate_ratio_test(c2 as u64, e2, c1 as u64, e1);
            let (qc1, qe1) = seg(bounds[k].saturating_sub(13).max(bounds[k - 1]), bounds[k]);
            let (qc2, qe2) = seg(bounds[k], (bounds[k] + 13).min(bounds[k + 1]));
            out.push(Changepoint {
                dimension: s.dimension,
                key: s.key.clone(),
                week: weeks[idx[bounds[k]]],
                rate_before: r1,
                rate_after: r2,
                monthly_before: r1 * 21.7,
                monthly_after: r2 * 21.7,
                monthly_before_quarter: qc1 / qe1 * 21.7,
                monthly_after_quarter: qc2 / qe2 * 21.7,
                segment_before_start: weeks[idx[bounds[k - 1]]],
                segment_after_end: weeks[idx[bounds[k + 1] - 1]],
                p_value: p,
                penalty,
            });
        }
    }
    out
}

/// Over-dispersion of weekly counts around a running median (Pearson χ² / n, at least 1).
fn dispersion(counts: &[f64], exposure: &[f64]) -> f64 {
    let n = counts.len();
    if n < 8 {
        return 1.0;
    }
    let rates: Vec<f64> = counts.iter().zip(exposure).map(|(c, e)| c / e).collect();
    let mut chi = 0.0;
    let mut m = 0usize;
    for i in 0..n {
        let lo = i.saturating_sub(4);
        let hi = (i + 5).min(n);
        let mut win: Vec<f64> = (lo..hi).filter(|&j| j != i).map(|j| rates[j]).collect();
        let expected = stats::median(&mut win) * exposure[i];
        if expected > 0.5 {
            chi += (counts[i] - expected).powi(2) / expected;
            m += 1;
        }
    }
    if m == 0 {
        1.0
    } else {
        (chi / m as f64).max(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::calendar::Term;

    fn series(key: &str, counts: Vec<u32>) -> WeeklySeries {
        WeeklySeries {
            dimension: Dimension::Category,
            key: key.into(),
            total: counts.iter().map(|&c| c as u64).sum(),
            counts,
        }
    }

    #[test]
    fn a_series_new_in_a_term_has_no_ratio_and_a_vanished_one_is_gone() {
        let first: NaiveDate = "2024-09-02".parse().unwrap();
        let weeks: Vec<NaiveDate> = (0..16).map(|i| first + TimeDelta::weeks(i)).collect();
        let days = vec![5u32; 16];
        let calendar = SchoolCalendar {
            terms: vec![
                Term {
                    name: "Fall".into(),
                    start: first,
                    end: first + TimeDelta::days(7 * 8 - 3),
                },
                Term {
                    name: "Winter".into(),
                    start: first + TimeDelta::weeks(8),
                    end: first + TimeDelta::days(7 * 16 - 3),
                },
            ],
            ..Default::default()
        };
        let halves = |a: u32, b: u32| [vec![a; 8], vec![b; 8]].concat();
        let all = series("all", halves(6, 6));
        let s = [
            WeeklySeries {
                dimension: Dimension::All,
                ..all
            },
            series("Smartboards", halves(3, 0)),
            series("Chromebooks", halves(0, 4)),
            series("Passwords", halves(3, 2)),
        ];
        let (_, changes) = compare_terms(&s, &weeks, &days, &calendar, &TrendOptions::default());
        let of = |k: &str| changes.iter().find(|c| c.key == k).unwrap();
        let gone = of("Smartboards");
        assert_eq!(
            (gone.kind, gone.rate_ratio),
            (TermChangeKind::Gone, Some(0.0))
        );
        assert!(gone.significant, "{gone:?}");
        let new = of("Chromebooks");
        assert_eq!((new.kind, new.rate_ratio), (TermChangeKind::New, None));
        assert!(new.significant, "{new:?}");
        let changed = of("Passwords");
        assert_eq!(changed.kind, TermChangeKind::Changed);
        assert!((changed.rate_ratio.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        // The JSON twin has words and numbers, never `inf`.
        let json = serde_json::to_string(&changes).unwrap();
        assert!(json.contains("\"kind\":\"new\"") && json.contains("\"kind\":\"gone\""));
        assert!(!json.contains("inf") && !json.contains("NaN"), "{json}");
    }

    #[test]
    fn a_steep_decline_is_bounded_at_all_of_it() {
        // Seven tickets a week falling to none: the slope over the span is several times the
        // median level, but the change cannot be more than -100 %.
        let counts: Vec<u32> = (0..16).map(|i| 7u32.saturating_sub(i / 2)).collect();
        let days = vec![5u32; 16];
        let trends = find_long_trends(
            &[series("Printers", counts)],
            &days,
            &TrendOptions::default(),
        );
        let t = &trends[0];
        assert!(
            t.test.sen_slope * t.weeks as f64 / t.median_rate < -1.5,
            "{t:?}"
        );
        assert_eq!(t.relative_change, -1.0);
        assert!(t.significant, "{t:?}");
    }
}
