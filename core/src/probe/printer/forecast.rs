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
#[derive(Debug, Clone, Default)]
pub struct Series {
    points: VecDeque<(DateTime<Utc>, f64)>,
    /// The latest reading, kept or not.
    latest: Option<(DateTime<Utc>, f64)>,
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
        reset
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
        let mut pts: Vec<(f64, f64)> = self
            .points
            .iter()
            .map(|(t, v)| (t.timestamp() as f64 / 86_400.0, *v))
            .collect();
        if let Some((t, v)) = self.latest
            && self.points.back().is_some_and(|(last, _)| *last < t)
        {
            pts.push((t.timestamp() as f64 / 86_400.0, v));
        }
        if pts.len() < 3 {
            return None;
        }
        let span_days = pts[pts.len() - 1].0 - pts[0].0;
        if span_days * 86_400.0 < cfg.min_span.as_secs_f64() {
            return None;
        }
        let mut slopes = Vec::with_capacity(pts.len() * (pts.len() - 1) / 2);
        for i in 0..pts.len() {
            for j in i + 1..pts.len() {
                let dt = pts[j].0 - pts[i].0;
                if dt > 0.0 {
                    slopes.push((pts[j].1 - pts[i].1) / dt);
                }
            }
        }
        if slopes.is_empty() {
            return None;
        }
        let falling = slopes.iter().filter(|s| **s < 0.0).count();
        // Confident: at least two thirds of the pairs agree the level falls.
        if falling * 3 < slopes.len() * 2 {
            return None;
        }
        slopes.sort_by(f64::total_cmp);
        let n = slopes.len();
        let slope = if n % 2 == 1 {
            slopes[n / 2]
        } else {
            (slopes[n / 2 - 1] + slopes[n / 2]) / 2.0
        };
        if slope >= 0.0 {
            return None;
        }
        // Intercept through the median of (v - slope * t), evaluated at the latest time.
        let mut residuals: Vec<f64> = pts.iter().map(|(t, v)| v - slope * t).collect();
        residuals.sort_by(f64::total_cmp);
        let m = residuals.len();
        let intercept = if m % 2 == 1 {
            residuals[m / 2]
        } else {
            (residuals[m / 2 - 1] + residuals[m / 2]) / 2.0
        };
        let now = pts[pts.len() - 1].0;
        let level_now = (intercept + slope * now).max(0.0);
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
