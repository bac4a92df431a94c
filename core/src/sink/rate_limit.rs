//! Per-sink rate limits: a wrapper that lets at most N notifications through per period (a token
//! bucket with a burst of N) and answers [`Error::RateLimited`] beyond that, which the outbox
//! treats as "later", not as a failure.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::Mutex;
use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};
use crate::sink::{AlertSink, Notification};

/// "20/min", "100/h", "5/10s": at most `count` per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// How many.
    pub count: u32,
    /// Per how long.
    pub period: Duration,
}

impl FromStr for RateLimit {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("rate_limit", format!("`{s}`: expected like \"20/min\""));
        let (count, period) = s.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let period = period.trim();
        let period = match period {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "min" | "m" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            "d" | "day" => Duration::from_secs(86_400),
            other => crate::config::parse_duration(other).map_err(|_| bad())?,
        };
        if count == 0 || period.is_zero() {
            return Err(bad());
        }
        Ok(Self { count, period })
    }
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(|e: Error| serde::de::Error::custom(e))
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}",
            self.count,
            humantime::format_duration(self.period)
        )
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A sink behind a rate limit.
pub struct RateLimited {
    name: String,
    inner: Arc<dyn AlertSink>,
    limit: RateLimit,
    bucket: Mutex<Bucket>,
}

impl fmt::Debug for RateLimited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimited")
            .field("name", &self.name)
            .field("limit", &self.limit)
            .field("inner", &self.inner)
            .finish()
    }
}

impl RateLimited {
    /// Wraps `inner` (named `name`) in `limit`.
    pub fn new(name: &str, inner: Arc<dyn AlertSink>, limit: RateLimit) -> Self {
        Self {
            name: name.to_owned(),
            inner,
            limit,
            bucket: Mutex::new(Bucket {
                tokens: limit.count as f64,
                last: Instant::now(),
            }),
        }
    }

    /// Takes a token, or says how long until one is there.
    fn take(&self) -> std::result::Result<(), Duration> {
        let per_token = self.limit.period.as_secs_f64() / self.limit.count as f64;
        let mut b = self.bucket.lock();
        let now = Instant::now();
        let refill = now.duration_since(b.last).as_secs_f64() / per_token;
        b.tokens = (b.tokens + refill).min(self.limit.count as f64);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) * per_token))
        }
    }
}

#[async_trait]
impl AlertSink for RateLimited {
    async fn send(&self, n: &Notification) -> Result<()> {
        self.take().map_err(|retry_after| Error::RateLimited {
            sink: self.name.clone(),
            retry_after,
        })?;
        self.inner.send(n).await
    }

    async fn healthcheck(&self) -> Result<()> {
        self.inner.healthcheck().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Incident;
    use crate::probe::Status;
    use crate::sink::NotificationKind;

    #[test]
    fn parses_limits() {
        let r: RateLimit = "20/min".parse().unwrap();
        assert_eq!((r.count, r.period), (20, Duration::from_secs(60)));
        let r: RateLimit = "5/10s".parse().unwrap();
        assert_eq!(r.period, Duration::from_secs(10));
        assert!("0/min".parse::<RateLimit>().is_err());
        assert!("lots".parse::<RateLimit>().is_err());
    }

    #[tokio::test]
    async fn lets_a_burst_through_then_asks_to_wait() {
        #[derive(Debug)]
        struct Ok;
        #[async_trait]
        impl AlertSink for Ok {
            async fn send(&self, _: &Notification) -> Result<()> {
                Result::Ok(())
            }
            async fn healthcheck(&self) -> Result<()> {
                Result::Ok(())
            }
        }
        let s = RateLimited::new("mail", Arc::new(Ok), "3/min".parse().unwrap());
        let at = chrono::Utc::now();
        let i = Incident::open("x", None, "p", Status::Critical, "down", false, at);
        let n =
            Notification::for_incident(&i, "f00d", "mail", "opened", NotificationKind::Opened, at);
        for _ in 0..3 {
            s.send(&n).await.unwrap();
        }
        match s.send(&n).await {
            Err(Error::RateLimited { retry_after, .. }) => {
                assert!(
                    retry_after <= Duration::from_secs(20) && retry_after > Duration::from_secs(15)
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
