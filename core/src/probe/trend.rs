//! Trends in a series of readings: how a counter rose, and when a level reaches a limit.
//!
//! Generic over what is measured: a series is `(UTC time, value)` points in any order (they are
//! sorted here), and the results say things a person can read:
//!
//! - [`rise`]: how a counter went up, "0 → 8 → 24 in 3 days" ([`Rise`]), for counters that
//!   should stay put (reallocated sectors, errors). A drop means the counter was reset (a part
//!   replaced), so only the points after the last drop count.
//! - [`forecast`]: a least-squares line through the points of a window ending at the latest
//!   one, and the time until it reaches a limit ([`Forecast`]): "full in about 9 days at the
//!   last 14 days' rate" (a disk's wear, a file system's use).
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use forewarn::probe::trend::{self, RateOptions};
//!
//! let t0 = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
//! let pending = [(t0, 0.0), (t0 + Duration::days(1), 8.0), (t0 + Duration::days(3), 24.0)];
//! assert_eq!(trend::rise(&pending, 4).unwrap().to_string(), "0 → 8 → 24 in 3 days");
//!
//! let used: Vec<_> = (0..15).map(|d| (t0 + Duration::days(d), 50.0 + 2.0 * d as f64)).collect();
//! let f = trend::forecast(&used, 100.0, &RateOptions::default()).unwrap();
//! assert_eq!(f.describe("full"), "full in about 11 days at the last 14 days' rate");
//! ```

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A time as fractional days since the epoch.
fn days(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 86_400_000.0
}

/// The points sorted by time, without non-finite values.
fn sorted(points: &[(DateTime<Utc>, f64)]) -> Vec<(DateTime<Utc>, f64)> {
    let mut v: Vec<_> = points.iter().copied().filter(|p| p.1.is_finite()).collect();
    v.sort_by_key(|p| p.0);
    v
}

/// How a counter rose: the values it went through and how long that took.
#[derive(Debug, Clone, PartialEq)]
pub struct Rise {
    /// The values shown, oldest first: the starting value, the latest values it rose through,
    /// and the latest value (at most the `max_shown` given to [`rise`]).
    pub shown: Vec<f64>,
    /// The value before the rise.
    pub from: f64,
    /// The latest value.
    pub to: f64,
    /// From the last point at the starting value to the first point at the latest value.
    pub span: Duration,
}

impl Rise {
    /// How much it rose.
    pub fn by(&self) -> f64 {
        self.to - self.from
    }
}

impl fmt::Display for Rise {
    /// "0 → 8 → 24 in 3 days".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values: Vec<String> = self.shown.iter().map(|v| number(*v)).collect();
        write!(f, "{} in {}", values.join(" → "), span_words(self.span))
    }
}

/// A value without a needless fraction: "8", "2.5".
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.1}")
    }
}

/// A span in words, rounded: "3 days", "1 day", "5 hours", "40 minutes" (at least 1).
pub fn span_words(d: Duration) -> String {
    let secs = d.as_secs_f64();
    let plural = |n: f64, one: &str| {
        let n = n.round().max(1.0) as u64;
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    if secs >= 86_400.0 {
        plural(secs / 86_400.0, "day")
    } else if secs >= 5400.0 {
        plural(secs / 3600.0, "hour")
    } else {
        plural(secs / 60.0, "minute")
    }
}

/// How the counter in `points` rose: `None` when its latest value is not above the value it
/// had after its last drop (or at the start). Shows at most `max_shown` values (at least 2):
/// the start, the latest ones it rose through, and the end.
pub fn rise(points: &[(DateTime<Utc>, f64)], max_shown: usize) -> Option<Rise> {
    let points = sorted(points);
    // After the last drop (a reset), the counter's own history starts again.
    let start = points
        .windows(2)
        .rposition(|w| w[1].1 < w[0].1)
        .map_or(0, |i| i + 1);
    let points = &points[start..];
    let (&(_, from), &(_, to)) = (points.first()?, points.last()?);
    if to <= from {
        return None;
    }
    let left = points.iter().rposition(|p| p.1 == from)?;
    let reached = points.iter().position(|p| p.1 == to)?;
    // The distinct values it went through, in order.
    let mut steps: Vec<f64> = Vec::new();
    for p in &points[left..=reached] {
        if steps.last() != Some(&p.1) {
            steps.push(p.1);
        }
    }
    let max_shown = max_shown.max(2);
    let shown = if steps.len() <= max_shown {
        steps
    } else {
        let mut s = vec![from];
        s.extend_from_slice(&steps[steps.len() - (max_shown - 1)..]);
        s
    };
    Some(Rise {
        shown,
        from,
        to,
        span: (points[reached].0 - points[left].0)
            .to_std()
            .unwrap_or_default(),
    })
}

/// Which points a rate is fitted to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateOptions {
    /// Only points within this long before the latest one.
    pub window: Duration,
    /// At least this many points (at least 2).
    pub min_points: usize,
    /// The points must span at least this long.
    pub min_span: Duration,
}

impl Default for RateOptions {
    /// The last 14 days, at least 3 points over at least a day.
    fn default() -> Self {
        Self {
            window: Duration::from_secs(14 * 86_400),
            min_points: 3,
            min_span: Duration::from_secs(86_400),
        }
    }
}

/// A least-squares line through a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// The change per day.
    pub per_day: f64,
    /// The line's value at the latest point's time.
    pub latest_fit: f64,
    /// The latest point.
    pub latest: (DateTime<Utc>, f64),
    /// How many points it was fitted to.
    pub points: usize,
    /// From the first to the latest point fitted.
    pub span: Duration,
}

/// The least-squares rate of the points within `opts.window` of the latest one; `None` with
/// too few points, too short a span, or all at one time.
pub fn rate(points: &[(DateTime<Utc>, f64)], opts: &RateOptions) -> Option<Rate> {
    let points = sorted(points);
    let latest = *points.last()?;
    let window = chrono::Duration::from_std(opts.window).unwrap_or(chrono::Duration::MAX);
    let since = latest
        .0
        .checked_sub_signed(window)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let used: Vec<_> = points.iter().filter(|p| p.0 >= since).collect();
    let span = (latest.0 - used.first()?.0).to_std().unwrap_or_default();
    if used.len() < opts.min_points.max(2) || span < opts.min_span || span.is_zero() {
        return None;
    }
    // Times relative to the latest point keep the sums well conditioned.
    let x0 = days(latest.0);
    let n = used.len() as f64;
    let (sx, sy) = used
        .iter()
        .fold((0.0, 0.0), |(sx, sy), p| (sx + days(p.0) - x0, sy + p.1));
    let (mx, my) = (sx / n, sy / n);
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for p in &used {
        let dx = days(p.0) - x0 - mx;
        sxy += dx * (p.1 - my);
        sxx += dx * dx;
    }
    if sxx <= 0.0 {
        return None;
    }
    let per_day = sxy / sxx;
    Some(Rate {
        per_day,
        latest_fit: my - per_day * mx,
        latest,
        points: used.len(),
        span,
    })
}

/// When a rising series reaches a limit, at its recent rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forecast {
    /// The rate it was made from.
    pub rate: Rate,
    /// The limit.
    pub limit: f64,
    /// How long from the latest point until the limit (zero once reached).
    pub eta: Duration,
    /// When, in UTC.
    pub at: DateTime<Utc>,
}

impl Forecast {
    /// "`what` in about 9 days at the last 14 days' rate" ("`what` now" once reached), e.g.
    /// with `what` = "full" or "worn out".
    pub fn describe(&self, what: &str) -> String {
        if self.eta.is_zero() {
            return format!("{what} now");
        }
        format!(
            "{what} in about {} at the last {}' rate",
            span_words(self.eta),
            span_words(self.rate.span)
        )
    }
}

/// When the series reaches `limit` (rising towards it) at the least-squares rate of
/// [`rate`]: `None` without a rate or when it is not rising. A series already at or above the
/// limit has an `eta` of zero.
pub fn forecast(
    points: &[(DateTime<Utc>, f64)],
    limit: f64,
    opts: &RateOptions,
) -> Option<Forecast> {
    let rate = rate(points, opts)?;
    let now = rate.latest.0;
    if rate.latest.1 >= limit {
        return Some(Forecast {
            rate,
            limit,
            eta: Duration::ZERO,
            at: now,
        });
    }
    if rate.per_day.is_nan() || rate.per_day <= 0.0 {
        return None;
    }
    // From the latest value, not the line's: the latest reading is what is known for sure.
    let days_left = (limit - rate.latest.1) / rate.per_day;
    let eta = Duration::try_from_secs_f64(days_left * 86_400.0).ok()?;
    let at = now.checked_add_signed(chrono::Duration::from_std(eta).ok()?)?;
    Some(Forecast {
        rate,
        limit,
        eta,
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(day: f64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
            + chrono::Duration::seconds((day * 86_400.0) as i64)
    }

    #[test]
    fn rise_shows_the_steps_and_the_time_they_took() {
        let s = [(t(0.0), 0.0), (t(5.0), 0.0), (t(6.0), 8.0), (t(8.0), 24.0)];
        let r = rise(&s, 4).unwrap();
        assert_eq!(r.to_string(), "0 → 8 → 24 in 3 days");
        assert_eq!(r.by(), 24.0);
        // Unsorted input, the same answer.
        let mut u = s;
        u.reverse();
        assert_eq!(rise(&u, 4).unwrap(), r);
    }

    #[test]
    fn rise_keeps_the_latest_steps_when_there_are_many() {
        let s: Vec<_> = (0..10).map(|d| (t(d as f64), (d * d) as f64)).collect();
        assert_eq!(
            rise(&s, 4).unwrap().to_string(),
            "0 → 49 → 64 → 81 in 9 days"
        );
        assert_eq!(rise(&s, 0).unwrap().shown, vec![0.0, 81.0]);
    }

    #[test]
    fn no_rise_when_flat_falling_or_reset() {
        assert_eq!(rise(&[], 3), None);
        assert_eq!(rise(&[(t(0.0), 5.0)], 3), None);
        assert_eq!(rise(&[(t(0.0), 5.0), (t(1.0), 5.0)], 3), None);
        assert_eq!(rise(&[(t(0.0), 5.0), (t(1.0), 2.0)], 3), None);
        // Replaced after 40: only what followed counts.
        let s = [(t(0.0), 0.0), (t(1.0), 40.0), (t(2.0), 0.0), (t(2.5), 2.0)];
        assert_eq!(rise(&s, 3).unwrap().to_string(), "0 → 2 in 12 hours");
    }

    #[test]
    fn rate_is_least_squares() {
        // y = 10 + 3 d with noise that cancels.
        let s = [
            (t(0.0), 10.0),
            (t(1.0), 14.0),
            (t(2.0), 15.0),
            (t(3.0), 19.0),
        ];
        let r = rate(&s, &RateOptions::default()).unwrap();
        assert!((r.per_day - 2.8).abs() < 1e-9, "{}", r.per_day);
        assert!((r.latest_fit - 18.7).abs() < 1e-9, "{}", r.latest_fit);
        assert_eq!(r.points, 4);
        assert_eq!(r.span, Duration::from_secs(3 * 86_400));
    }

    #[test]
    fn rate_needs_enough_points_and_time() {
        let opts = RateOptions::default();
        assert!(rate(&[(t(0.0), 1.0), (t(2.0), 2.0)], &opts).is_none());
        assert!(rate(&[(t(0.0), 1.0), (t(0.1), 2.0), (t(0.2), 3.0)], &opts).is_none());
        // The window leaves out old points.
        let s = [
            (t(0.0), 0.0),
            (t(20.0), 1.0),
            (t(21.0), 2.0),
            (t(22.0), 3.0),
        ];
        let r = rate(&s, &opts).unwrap();
        assert_eq!(r.points, 3);
        assert!((r.per_day - 1.0).abs() < 1e-9);
    }

    #[test]
    fn forecast_until_a_limit() {
        let s: Vec<_> = (0..15)
            .map(|d| (t(d as f64), 50.0 + 2.0 * d as f64))
            .collect();
        let f = forecast(&s, 100.0, &RateOptions::default()).unwrap();
        assert_eq!(f.eta, Duration::from_secs(11 * 86_400));
        assert_eq!(f.at, t(25.0));
        assert_eq!(
            f.describe("full"),
            "full in about 11 days at the last 14 days' rate"
        );
        // Falling or flat: no forecast; at the limit: now.
        let falling: Vec<_> = s.iter().map(|p| (p.0, 200.0 - p.1)).collect();
        assert!(forecast(&falling, 200.0, &RateOptions::default()).is_none());
        let f = forecast(&s, 70.0, &RateOptions::default()).unwrap();
        assert_eq!(f.eta, Duration::ZERO);
        assert_eq!(f.describe("full"), "full now");
    }

    #[test]
    fn spans_in_words() {
        assert_eq!(span_words(Duration::from_secs(40 * 60)), "40 minutes");
        assert_eq!(span_words(Duration::from_secs(5 * 3600)), "5 hours");
        assert_eq!(span_words(Duration::from_secs(86_400)), "1 day");
        assert_eq!(span_words(Duration::from_secs(23 * 3600)), "23 hours");
        assert_eq!(span_words(Duration::from_secs(2 * 86_400)), "2 days");
        assert_eq!(span_words(Duration::ZERO), "1 minute");
    }
}
