//! A lock-free histogram of scheduling lag (log-linear buckets from 1 µs to about 18 min).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const SUB: usize = 8; // buckets per power of two
const POWERS: usize = 31; // up to 2^30 µs
const BUCKETS: usize = SUB * POWERS;

/// Counts durations into log-linear buckets (≤ 12.5 % relative error).
#[derive(Debug)]
pub struct LagHistogram {
    buckets: Box<[AtomicU64]>,
    max_us: AtomicU64,
}

impl Default for LagHistogram {
    fn default() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            max_us: AtomicU64::new(0),
        }
    }
}

fn bucket_of(us: u64) -> usize {
    if us < SUB as u64 {
        return us as usize;
    }
    let power = 63 - us.leading_zeros() as usize; // floor(log2)
    let shift = power - 3; // SUB = 2^3
    let sub = ((us >> shift) as usize) & (SUB - 1);
    ((power - 2) * SUB + sub).min(BUCKETS - 1)
}

fn bucket_upper(b: usize) -> u64 {
    if b < SUB {
        return b as u64;
    }
    let power = b / SUB + 2;
    let sub = (b % SUB) as u64;
    let shift = power - 3;
    ((SUB as u64 + sub + 1) << shift) - 1
}

impl LagHistogram {
    /// Counts one duration.
    pub fn record(&self, d: Duration) {
        let us = d.as_micros().min(u64::MAX as u128) as u64;
        self.buckets[bucket_of(us)].fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// How many durations were counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// The `q` quantile (0..=1), as the upper edge of its bucket.
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.count();
        if total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= rank {
                let max = self.max_us.load(Ordering::Relaxed);
                return Duration::from_micros(bucket_upper(i).min(max));
            }
        }
        self.max()
    }

    /// The largest duration counted.
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for us in [
            0u64, 1, 7, 8, 9, 15, 16, 100, 1_000, 12_345, 1_000_000, 60_000_000,
        ] {
            let b = bucket_of(us);
            assert!(b >= last, "{us}");
            last = b;
            let upper = bucket_upper(b);
            assert!(upper >= us, "{us} <= {upper}");
            assert!(
                upper as f64 <= us.max(1) as f64 * 1.125 + 1.0,
                "{us} ~ {upper}"
            );
        }
    }

    #[test]
    fn quantiles() {
        let h = LagHistogram::default();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us));
        }
        let p50 = h.quantile(0.5).as_micros() as f64;
        let p99 = h.quantile(0.99).as_micros() as f64;
        assert!((480.0..=570.0).contains(&p50), "{p50}");
        assert!((980.0..=1000.0).contains(&p99), "{p99}");
        assert_eq!(h.max(), Duration::from_micros(1000));
        assert_eq!(h.count(), 1000);
    }
}
