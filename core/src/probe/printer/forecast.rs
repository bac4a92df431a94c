//! Days until a supply runs out, from the history of its level.
//!
//! A Theil–Sen slope (the median of the slopes between every pair of readings) over the last
//! readings: robust against a single odd reading. Readings closer together than `spacing` are
//! not kept (a printer polled every minute would otherwise fill the window with one hour), but
//! the latest one is always what the forecast starts from. A jump up means the cartridge was
//! replaced, so only the readings after the jump count. A forecast is given only when the level
//! is falling, most pairs agree that it falls, and the readings span enough time.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::error::{Error, Result};

/// Forecast settings.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ForecastConfig {
    /// Whether to forecast at all.
    pub enabled: bool,
    /// How many of the latest readings the slope is fitted to (3–500).
    pub readings: usize,
    /// The readings must span at least this long ("1d", "12h").
    #[serde(with = "crate::config::duration")]
    pub min_span: Duration,
    /// Keep a reading only this long after the last kept one ("6h"; "0s" keeps every one).
    #[serde(with = "crate::config::duration")]
    pub spacing: Duration,
    /// A rise of more than this many percentage points means a replacement.
    pub replacement_jump: f64,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            readings: 20,
            min_span: Duration::from_secs(24 * 3600),
            spacing: Duration::from_secs(6 * 3600),
            replacement_jump: 10.0,
        }
    }
}

impl ForecastConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        if !(3..=500).contains(&self.readings) {
            return Err(Error::invalid("forecast.readings", "must be 3–500"));
        }
        if !(self.replacement_jump > 0.0 && self.replacement_jump <= 100.0) {
            return Err(Error::invalid(
                "forecast.replacement_jump",
                "must be more than 0 and at most 100 percentage points",
            ));
        }
        Ok(())
    }
}

/// The recent readings of one supply, bounded, reset on replacement.
///
/// The slopes between the kept readings only change when a reading is kept (every `spacing`),
/// so they are kept sorted; a forecast then sorts only the slopes from the kept readings to the
/// latest one and merges the two. Same figures as sorting every pair each time, for a fraction
/// of the work on a printer polled every minute.
#[derive(Debug, Clone, Default)]
pub struct Series {
    points: VecDeque<(DateTime<Utc>, f64)>,
    /// The latest reading, kept or not.
    latest: Option<(DateTime<Utc>, f64)>,
    /// The slopes between every pair of `points`, sorted (`f64::total_cmp`).
    kept_slopes: Vec<f64>,
}

/// A time as fractional days since the epoch (whole seconds, as stored).
fn days(t: DateTime<Utc>) -> f64 {
    t.timestamp() as f64 / 86_400.0
}

/// The median of a sorted slice.
fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The `k`-th smallest (from 0) of two sorted slices taken together.
fn kth_of_two(a: &[f64], b: &[f64], k: usize) -> f64 {
    let (mut i, mut j) = (0, 0);
    loop {
        let take_a = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.total_cmp(y).is_le(),
            (Some(_), None) => true,
            (None, _) => false,
        };
        let v = if take_a { a[i] } else { b[j] };
        if i + j == k {
            return v;
        }
        if take_a {
            i += 1;
        } else {
            j += 1;
        }
    }
}

impl Series {
    /// Adds a reading (not newer than the latest one: ignored). Returns whether the series was
    /// reset because the level jumped up.
    pub fn push(&mut self, at: DateTime<Utc>, percent: f64, cfg: &ForecastConfig) -> bool {
        if !percent.is_finite() || self.latest.is_some_and(|(t, _)| at <= t) {
            return false;
        }
        self.latest = Some((at, percent));
        let mut reset = false;
        if let Some(&(last_at, last)) = self.points.back() {
            if percent - last > cfg.replacement_jump {
                self.points.clear();
                reset = true;
            } else if (at - last_at).to_std().unwrap_or_default() < cfg.spacing {
                return false;
            }
        }
        self.points.push_back((at, percent));
        while self.points.len() > cfg.readings {
            self.points.pop_front();
        }
        self.sort_kept_slopes();
        reset
    }

    /// Recomputes the sorted slopes between the kept readings.
    fn sort_kept_slopes(&mut self) {
        let n = self.points.len();
        self.kept_slopes.clear();
        self.kept_slopes.reserve(n * n.saturating_sub(1) / 2);
        for (i, &(ti, vi)) in self.points.iter().enumerate() {
            let ti = days(ti);
            for &(tj, vj) in self.points.iter().skip(i + 1) {
                let dt = days(tj) - ti;
                if dt > 0.0 {
                    self.kept_slopes.push((vj - vi) / dt);
                }
            }
        }
        self.kept_slopes.sort_by(f64::total_cmp);
    }

    /// The number of readings held.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether no reading is held.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Days until the level reaches 0, when the history says so with confidence.
    pub fn days_left(&self, cfg: &ForecastConfig) -> Option<f64> {
        // The latest reading, when it was not kept, counts as one more point.
        let extra = self
            .latest
            .filter(|(t, _)| self.points.back().is_some_and(|(last, _)| last < t));
        let count = self.points.len() + usize::from(extra.is_some());
        if count < 3 {
            return None;
        }
        let first = days(self.points.front()?.0);
        let last = match extra {
            Some((t, _)) => days(t),
            None => days(self.points.back()?.0),
        };
        if (last - first) * 86_400.0 < cfg.min_span.as_secs_f64() {
            return None;
        }
        // The slopes from every kept reading to the latest one.
        let mut fresh = Vec::new();
        if let Some((t, v)) = extra {
            let t = days(t);
            fresh.reserve(self.points.len());
            for &(ti, vi) in &self.points {
                let dt = t - days(ti);
                if dt > 0.0 {
                    fresh.push((v - vi) / dt);
                }
            }
            fresh.sort_by(f64::total_cmp);
        }
        let kept = &self.kept_slopes;
        let n = kept.len() + fresh.len();
        if n == 0 {
            return None;
        }
        let falling = kept.partition_point(|s| *s < 0.0) + fresh.partition_point(|s| *s < 0.0);
        // Confident: at least two thirds of the pairs agree the level falls.
        if falling * 3 < n * 2 {
            return None;
        }
        let slope = if n % 2 == 1 {
            kth_of_two(kept, &fresh, n / 2)
        } else {
            (kth_of_two(kept, &fresh, n / 2 - 1) + kth_of_two(kept, &fresh, n / 2)) / 2.0
        };
        if slope >= 0.0 {
            return None;
        }
        // Intercept through the median of (v - slope * t), evaluated at the latest time.
        let mut residuals: Vec<f64> = self
            .points
            .iter()
            .chain(extra.iter())
            .map(|&(t, v)| v - slope * days(t))
            .collect();
        residuals.sort_by(f64::total_cmp);
        let intercept = median_sorted(&residuals);
        let level_now = (intercept + slope * last).max(0.0);
        let days = level_now / -slope;
        (days.is_finite() && days <= 3650.0).then_some(days)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: f64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + (d * 86_400.0) as i64, 0)
            .unwrap()
    }

    #[test]
    fn steady_use_forecasts_days_left() {
        let cfg = ForecastConfig::default();
        let mut s = Series::default();
        // 2 % a day from 60 %: 30 days after the start it is at 0.
        for d in 0..10 {
            s.push(day(d as f64), 60.0 - 2.0 * d as f64, &cfg);
        }
        let left = s.days_left(&cfg).unwrap();
        assert!((left - 21.0).abs() < 0.01, "{left}");
    }

    #[test]
    fn one_odd_reading_does_not_move_it() {
        let cfg = ForecastConfig::default();
        let mut s = Series::default();
        for d in 0..10 {
            let v = if d == 4 { 5.0 } else { 60.0 - 2.0 * d as f64 };
            s.push(day(d as f64), v, &cfg);
        }
        let left = s.days_left(&cfg).unwrap();
        assert!((left - 21.0).abs() < 0.5, "{left}");
    }

    #[test]
    fn replacement_resets_the_window() {
        let cfg = ForecastConfig::default();
        let mut s = Series::default();
        for d in 0..10 {
            assert!(!s.push(day(d as f64), 30.0 - 3.0 * d as f64, &cfg));
        }
        // New cartridge on day 10: only what follows counts.
        assert!(s.push(day(10.0), 100.0, &cfg));
        assert_eq!(s.len(), 1);
        assert_eq!(s.days_left(&cfg), None);
        for d in 11..15 {
            s.push(day(d as f64), 100.0 - 1.0 * (d - 10) as f64, &cfg);
        }
        let left = s.days_left(&cfg).unwrap();
        assert!((left - 96.0).abs() < 0.01, "{left}");
    }

    #[test]
    fn flat_noisy_short_or_rising_series_give_nothing() {
        let cfg = ForecastConfig::default();
        let mut flat = Series::default();
        for d in 0..10 {
            flat.push(
                day(d as f64),
                50.0 + if d % 2 == 0 { 1.0 } else { -1.0 },
                &cfg,
            );
        }
        assert_eq!(flat.days_left(&cfg), None);
        let mut short = Series::default();
        for h in 0..10 {
            short.push(day(h as f64 / 24.0), 50.0 - h as f64, &cfg);
        }
        assert_eq!(short.days_left(&cfg), None, "spans under a day");
        let mut rising = Series::default();
        for d in 0..5 {
            rising.push(day(d as f64), 50.0 + d as f64, &cfg);
        }
        assert_eq!(rising.days_left(&cfg), None);
    }

    #[test]
    fn frequent_readings_are_thinned_but_the_latest_counts() {
        let cfg = ForecastConfig::default();
        let mut s = Series::default();
        // Every 5 minutes for 5 days, 1 % a day from 50 %.
        let mut d = 0.0;
        while d <= 5.0 {
            s.push(day(d), 50.0 - d, &cfg);
            d += 5.0 / 1440.0;
        }
        assert!(s.len() <= 21, "{}", s.len());
        let left = s.days_left(&cfg).unwrap();
        assert!((left - 45.0).abs() < 0.1, "{left}");
    }

    /// The forecast as first written: every pair's slope sorted on every call.
    fn days_left_by_sorting_every_pair(s: &Series, cfg: &ForecastConfig) -> Option<f64> {
        let mut pts: Vec<(f64, f64)> = s.points.iter().map(|&(t, v)| (days(t), v)).collect();
        if let Some((t, v)) = s.latest
            && s.points.back().is_some_and(|(last, _)| *last < t)
        {
            pts.push((days(t), v));
        }
        if pts.len() < 3
            || (pts[pts.len() - 1].0 - pts[0].0) * 86_400.0 < cfg.min_span.as_secs_f64()
        {
            return None;
        }
        let mut slopes = Vec::new();
        for i in 0..pts.len() {
            for j in i + 1..pts.len() {
                let dt = pts[j].0 - pts[i].0;
                if dt > 0.0 {
                    slopes.push((pts[j].1 - pts[i].1) / dt);
                }
            }
        }
        let falling = slopes.iter().filter(|s| **s < 0.0).count();
        if slopes.is_empty() || falling * 3 < slopes.len() * 2 {
            return None;
        }
        slopes.sort_by(f64::total_cmp);
        let slope = median_sorted(&slopes);
        if slope >= 0.0 {
            return None;
        }
        let mut r: Vec<f64> = pts.iter().map(|(t, v)| v - slope * t).collect();
        r.sort_by(f64::total_cmp);
        let level_now = (median_sorted(&r) + slope * pts[pts.len() - 1].0).max(0.0);
        let d = level_now / -slope;
        (d.is_finite() && d <= 3650.0).then_some(d)
    }

    #[test]
    fn merged_slopes_give_the_same_figures_as_sorting_every_pair() {
        // A small deterministic generator: falling levels with noise, replacements, readings
        // every few minutes to a day apart, windows of 3 to 25 readings.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut answered = 0;
        for case in 0..200 {
            let cfg = ForecastConfig {
                readings: 3 + case % 23,
                spacing: Duration::from_secs((next() * 12.0 * 3600.0) as u64),
                min_span: Duration::from_secs((next() * 2.0 * 86_400.0) as u64),
                ..Default::default()
            };
            let mut s = Series::default();
            let (mut t, mut level) = (0.0, 100.0);
            for _ in 0..(20 + case % 60) {
                t += next() * 0.5;
                level -= next() * 3.0 - 0.5;
                if level < 0.0 || next() < 0.02 {
                    level = 100.0;
                }
                s.push(day(t), (level * 10.0_f64).round() / 10.0, &cfg);
                let (a, b) = (s.days_left(&cfg), days_left_by_sorting_every_pair(&s, &cfg));
                assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "case {case}");
                answered += usize::from(a.is_some());
            }
        }
        assert!(answered > 500, "only {answered} forecasts given");
    }

    #[test]
    fn window_is_bounded() {
        let cfg = ForecastConfig {
            readings: 5,
            ..Default::default()
        };
        let mut s = Series::default();
        for d in 0..50 {
            s.push(day(d as f64), 100.0 - d as f64, &cfg);
        }
        assert_eq!(s.len(), 5);
        assert!(cfg.validate().is_ok());
        assert!(ForecastConfig { readings: 1, ..cfg }.validate().is_err());
    }
}
