//! The durable outbox: every notification is written to the store before any delivery is
//! tried; a worker delivers due rows with exponential backoff and jitter, and marks a row
//! delivered only after the sink accepted it. A restart resumes pending rows.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use tokio::sync::{Notify, watch};

use crate::clock::SharedClock;
use crate::error::{Error, Result};
use crate::sink::AlertSink;
use crate::store::{OutboxRow, Store};

/// Retry settings.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxOptions {
    /// Attempts before a row is given up (default 100: about four days at the cap).
    pub max_attempts: u32,
    /// The first retry delay (default 2 s); doubles per attempt.
    pub base_backoff: Duration,
    /// The longest retry delay (default 1 h).
    pub max_backoff: Duration,
    /// Time budget of one delivery (default 30 s).
    pub send_timeout: Duration,
    /// Rows fetched per pass (default 200).
    pub batch: usize,
    /// Longest idle wait before looking at the store again (default 30 s).
    pub poll: Duration,
}

impl Default for OutboxOptions {
    fn default() -> Self {
        Self {
            max_attempts: 100,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(3600),
            send_timeout: Duration::from_secs(30),
            batch: 200,
            poll: Duration::from_secs(30),
        }
    }
}

impl OutboxOptions {
    /// The delay before attempt `attempts + 1`: exponential, capped, with ±20 % jitter.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << attempts.min(20))
            .min(self.max_backoff);
        let jitter = rand::rng().random_range(0.8..1.2);
        exp.mul_f64(jitter)
    }
}

struct Inner {
    store: Arc<dyn Store>,
    sinks: BTreeMap<String, Arc<dyn AlertSink>>,
    clock: SharedClock,
    options: OutboxOptions,
    wake: Notify,
    pass: tokio::sync::Mutex<()>,
}

/// Delivers queued notifications; cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("sinks", &self.inner.sinks.keys().collect::<Vec<_>>())
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// An outbox delivering rows of `store` to `sinks` by name.
    pub fn new(
        store: Arc<dyn Store>,
        sinks: BTreeMap<String, Arc<dyn AlertSink>>,
        clock: SharedClock,
        options: OutboxOptions,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                sinks,
                clock,
                options,
                wake: Notify::new(),
                pass: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The sinks by name.
    pub fn sinks(&self) -> &BTreeMap<String, Arc<dyn AlertSink>> {
        &self.inner.sinks
    }

    /// Tells the worker new rows are queued.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Delivers every row due now; returns how many were delivered. One pass runs at a time,
    /// so a row is never sent by two passes at once.
    pub async fn deliver_due(&self) -> Result<usize> {
        let inner = &self.inner;
        let _pass = inner.pass.lock().await;
        let mut delivered = 0;
        loop {
            let now = inner.clock.now();
            let rows = inner.store.due_outbox(now, inner.options.batch).await?;
            if rows.is_empty() {
                return Ok(delivered);
            }
            let n = rows.len();
            let results =
                futures::future::join_all(rows.into_iter().map(|row| self.deliver(row))).await;
            for r in results {
                delivered += usize::from(r?);
            }
            if n < inner.options.batch {
                return Ok(delivered);
            }
        }
    }

    /// Tries one row; `Ok(true)` when the sink accepted it.
    async fn deliver(&self, row: OutboxRow) -> Result<bool> {
        let inner = &self.inner;
        let n = &row.notification;
        let Some(sink) = inner.sinks.get(&n.sink) else {
            inner
                .store
                .mark_failed(&n.id, &format!("sink `{}` is not configured", n.sink), None)
                .await?;
            return Ok(false);
        };
        let outcome = match tokio::time::timeout(inner.options.send_timeout, sink.send(n)).await {
            Ok(r) => r,
            Err(_) => Err(Error::Sink {
                sink: n.sink.clone(),
                message: format!(
                    "no answer within {}",
                    crate::probe::human_duration(inner.options.send_timeout)
                ),
                retryable: true,
            }),
        };
        match outcome {
            Ok(()) => {
                inner.store.mark_delivered(&n.id, inner.clock.now()).await?;
                tracing::info!(sink = %n.sink, kind = %n.kind, check = %n.check, incident = n.incident_id, "notification delivered");
                Ok(true)
            }
            Err(e) => {
                let attempts = row.attempts + 1;
                let retry_at =
                    (e.is_retryable() && attempts < inner.options.max_attempts).then(|| {
                        inner.clock.now()
                            + chrono::Duration::from_std(inner.options.backoff(row.attempts))
                                .unwrap_or(chrono::Duration::hours(1))
                    });
                tracing::warn!(sink = %n.sink, check = %n.check, attempts, error = %e, retry = retry_at.is_some(), "delivery failed");
                inner
                    .store
                    .mark_failed(&n.id, &e.to_string(), retry_at)
                    .await?;
                Ok(false)
            }
        }
    }

    /// Delivers until `stop` turns true: a pass whenever woken, when the next row is due, or
    /// every `poll` at the latest.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) -> Result<()> {
        loop {
            if let Err(e) = self.deliver_due().await {
                tracing::warn!(error = %e, "outbox pass failed; retrying");
            }
            let poll = self.inner.options.poll;
            let wait = match self.inner.store.next_outbox_due().await {
                Ok(Some(due)) => (due - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(poll),
                _ => poll,
            };
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let o = OutboxOptions::default();
        let b0 = o.backoff(0).as_secs_f64();
        let b3 = o.backoff(3).as_secs_f64();
        assert!((1.6..=2.4).contains(&b0), "{b0}");
        assert!((12.8..=19.2).contains(&b3), "{b3}");
        assert!(o.backoff(30) <= Duration::from_secs(4320));
    }
}
