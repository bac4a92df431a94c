//! The durable outbox: every notification is written to the store before any delivery is
//! tried; a worker delivers due rows with exponential backoff and jitter, and marks a row
//! delivered only after the sink accepted it. A restart resumes pending rows.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use rand::Rng;
use serde::Serialize;
use tokio::sync::{Notify, watch};

use crate::clock::SharedClock;
use crate::error::{Error, Result};
use crate::sink::{AlertSink, Notification, NotificationKind};
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
    /// Longest idle wait before looking at the store again (default 0.5 s): how soon a
    /// notification queued by another process (`forewarn ack` beside `forewarn run`) goes out.
    /// A look is one indexed query.
    pub poll: Duration,
    /// Storm control (default 30 s; zero turns it off): the first "opened" notification for a
    /// sink and check group goes out at once; the ones that follow within this window are held
    /// and sent together, as one digest, when it closes.
    pub group_window: Duration,
}

impl Default for OutboxOptions {
    fn default() -> Self {
        Self {
            max_attempts: 100,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(3600),
            send_timeout: Duration::from_secs(30),
            batch: 200,
            poll: Duration::from_millis(500),
            group_window: Duration::from_secs(30),
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

/// How long the monitor waits for a sink's health check (sinks bound their own checks by their
/// `timeout`; this bounds one that does not).
pub const SINK_CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a sink whose health check failed is checked again.
pub const SINK_RECHECK: Duration = Duration::from_secs(60);

/// Whether a sink can deliver, as far as the outbox can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkHealth {
    /// Not checked and nothing delivered yet.
    Unknown,
    /// Its health check passed or its latest delivery was accepted.
    Ok,
    /// Its health check or its latest delivery failed: notifications wait in the outbox and
    /// are retried.
    Degraded,
}

/// One sink's health, for [`Monitor::status`](crate::Monitor::status).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SinkStatus {
    /// The sink's name.
    pub name: String,
    /// Where it stands.
    pub health: SinkHealth,
    /// Why it is degraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Since when it is in this state (`None` while unknown).
    pub since: Option<DateTime<Utc>>,
    /// Whether the failure came from a delivery (cleared by the next accepted one) rather than
    /// from a health check (cleared by the next passing check).
    #[serde(skip)]
    failed_delivery: bool,
}

struct Inner {
    store: Arc<dyn Store>,
    sinks: BTreeMap<String, Arc<dyn AlertSink>>,
    /// Each sink's health, by name.
    health: parking_lot::Mutex<BTreeMap<String, SinkStatus>>,
    clock: SharedClock,
    options: OutboxOptions,
    wake: Notify,
    pass: tokio::sync::Mutex<()>,
    /// Open grouping windows: (sink, check group) → when the window opened.
    windows: parking_lot::Mutex<HashMap<(String, String), DateTime<Utc>>>,
}

fn group_key(n: &Notification) -> (String, String) {
    (n.sink.clone(), n.group.clone().unwrap_or_default())
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
        let health = sinks
            .keys()
            .map(|name| {
                let status = SinkStatus {
                    name: name.clone(),
                    health: SinkHealth::Unknown,
                    error: None,
                    since: None,
                    failed_delivery: false,
                };
                (name.clone(), status)
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                store,
                health: parking_lot::Mutex::new(health),
                sinks,
                clock,
                options,
                wake: Notify::new(),
                pass: tokio::sync::Mutex::new(()),
                windows: parking_lot::Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The sinks by name.
    pub fn sinks(&self) -> &BTreeMap<String, Arc<dyn AlertSink>> {
        &self.inner.sinks
    }

    /// Every sink's health, by name.
    pub fn sink_status(&self) -> Vec<SinkStatus> {
        self.inner.health.lock().values().cloned().collect()
    }

    /// Records what a health check (`delivery` false) or a delivery found of `sink`, logging
    /// when it becomes degraded or recovers.
    fn record_health(&self, sink: &str, delivery: bool, outcome: std::result::Result<(), String>) {
        let now = self.inner.clock.now();
        let mut health = self.inner.health.lock();
        let Some(s) = health.get_mut(sink) else {
            return;
        };
        match outcome {
            Ok(()) => {
                // A passing health check does not clear a failed delivery: the server may
                // answer and still refuse the messages.
                if s.health == SinkHealth::Degraded && s.failed_delivery && !delivery {
                    return;
                }
                if s.health == SinkHealth::Degraded {
                    tracing::info!(sink = %sink, "sink recovered");
                }
                if s.health != SinkHealth::Ok {
                    s.since = Some(now);
                }
                s.health = SinkHealth::Ok;
                s.error = None;
                s.failed_delivery = false;
            }
            Err(error) => {
                if s.health != SinkHealth::Degraded {
                    tracing::warn!(sink = %sink, error = %error, "sink is degraded; its notifications wait in the outbox and are retried");
                    s.since = Some(now);
                }
                s.health = SinkHealth::Degraded;
                s.error = Some(error);
                s.failed_delivery |= delivery;
            }
        }
    }

    /// Runs the health check of every sink that is not known to work, all at once, each
    /// bounded by [`SINK_CHECK_TIMEOUT`]; returns when all are done.
    pub async fn check_sinks(&self) {
        let due: Vec<(String, Arc<dyn AlertSink>)> = {
            let health = self.inner.health.lock();
            self.inner
                .sinks
                .iter()
                .filter(|(name, _)| {
                    health.get(*name).is_some_and(|s| {
                        s.health == SinkHealth::Unknown
                            || (s.health == SinkHealth::Degraded && !s.failed_delivery)
                    })
                })
                .map(|(name, sink)| (name.clone(), sink.clone()))
                .collect()
        };
        let checks = due.into_iter().map(|(name, sink)| async move {
            let check = std::panic::AssertUnwindSafe(sink.healthcheck()).catch_unwind();
            let outcome = match tokio::time::timeout(SINK_CHECK_TIMEOUT, check).await {
                Ok(Ok(Ok(()))) => Ok(()),
                Ok(Ok(Err(e))) => Err(e.to_string()),
                Ok(Err(_)) => Err("its health check panicked".to_owned()),
                Err(_) => Err(format!(
                    "no answer to its health check within {}",
                    crate::probe::human_duration(SINK_CHECK_TIMEOUT)
                )),
            };
            self.record_health(&name, false, outcome);
        });
        futures::future::join_all(checks).await;
    }

    /// Checks the sinks now and then again every [`SINK_RECHECK`] while one is not known to
    /// work, until `stop` turns true. Runs beside the checks: a sink that does not answer
    /// never holds them up.
    pub async fn watch_sinks(&self, mut stop: watch::Receiver<bool>) -> Result<()> {
        loop {
            tokio::select! {
                _ = self.check_sinks() => {}
                _ = stop.changed() => return Ok(()),
            }
            tokio::select! {
                _ = tokio::time::sleep(SINK_RECHECK) => {}
                _ = stop.changed() => return Ok(()),
            }
        }
    }

    /// Tells the worker new rows are queued.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Called once a notification is queued: an "opened" one that falls in an open grouping
    /// window of its sink and check group is held until the window closes, to go out in a
    /// digest; otherwise it opens a window and goes out at once.
    pub async fn hold_for_grouping(&self, n: &Notification, now: DateTime<Utc>) -> Result<()> {
        let window = self.inner.options.group_window;
        if window.is_zero() || n.kind != NotificationKind::Opened || n.broadcast.is_some() {
            return Ok(());
        }
        let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        let hold_until = {
            let mut windows = self.inner.windows.lock();
            windows.retain(|_, opened| *opened + window > now);
            match windows.get(&group_key(n)) {
                Some(opened) => Some(*opened + window),
                None => {
                    windows.insert(group_key(n), now);
                    None
                }
            }
        };
        if let Some(until) = hold_until {
            self.inner.store.defer(&n.id, until).await?;
        }
        Ok(())
    }

    /// Delivers every row due now; returns how many were delivered. One pass runs at a time,
    /// and rows are claimed before they are sent ([`crate::Store::claim_outbox`]), so a row is never
    /// sent by two passes at once, here or in another instance sharing the store. Due "opened" rows of the same sink and
    /// check group go out as one digest.
    pub async fn deliver_due(&self) -> Result<usize> {
        let inner = &self.inner;
        let _pass = inner.pass.lock().await;
        let mut delivered = 0;
        loop {
            let now = inner.clock.now();
            // Claimed for as long as a pass can take to send them: another instance sharing
            // the store skips them meanwhile, and sends them should this one stop first.
            let hold = inner
                .options
                .send_timeout
                .saturating_mul(2)
                .saturating_add(Duration::from_secs(30));
            let rows = inner
                .store
                .claim_outbox(now, inner.options.batch, hold)
                .await?;
            if rows.is_empty() {
                return Ok(delivered);
            }
            let n = rows.len();
            let mut batches: Vec<Vec<OutboxRow>> = Vec::with_capacity(n);
            let mut grouped: HashMap<(String, String), usize> = HashMap::new();
            for row in rows {
                let n = &row.notification;
                // Broadcasts are people's wording: never folded into a digest.
                if inner.options.group_window.is_zero()
                    || n.kind != NotificationKind::Opened
                    || n.broadcast.is_some()
                {
                    batches.push(vec![row]);
                    continue;
                }
                match grouped.get(&group_key(n)) {
                    Some(&i) => batches[i].push(row),
                    None => {
                        grouped.insert(group_key(n), batches.len());
                        batches.push(vec![row]);
                    }
                }
            }
            let results =
                futures::future::join_all(batches.into_iter().map(|b| self.deliver(b))).await;
            for r in results {
                delivered += r?;
            }
            if n < inner.options.batch {
                return Ok(delivered);
            }
        }
    }

    /// Tries one row, or several as one digest; returns how many rows were delivered.
    async fn deliver(&self, rows: Vec<OutboxRow>) -> Result<usize> {
        let inner = &self.inner;
        let first = &rows[0].notification;
        let Some(sink) = inner.sinks.get(&first.sink) else {
            let why = format!("sink `{}` is not configured", first.sink);
            for row in &rows {
                inner
                    .store
                    .mark_failed(&row.notification.id, &why, None)
                    .await?;
            }
            return Ok(0);
        };
        let digest;
        let message = if rows.len() == 1 {
            first
        } else {
            let items: Vec<Notification> = rows.iter().map(|r| r.notification.clone()).collect();
            digest = Notification::digest(&items, inner.clock.now());
            &digest
        };
        let outcome =
            match tokio::time::timeout(inner.options.send_timeout, sink.send(message)).await {
                Ok(r) => r,
                Err(_) => Err(Error::Sink {
                    sink: first.sink.clone(),
                    message: format!(
                        "no answer within {}",
                        crate::probe::human_duration(inner.options.send_timeout)
                    ),
                    retryable: true,
                }),
            };
        match &outcome {
            Err(Error::RateLimited { .. }) => {}
            Ok(()) => self.record_health(&first.sink, true, Ok(())),
            Err(e) => self.record_health(&first.sink, true, Err(e.to_string())),
        }
        match outcome {
            Ok(()) => {
                let at = inner.clock.now();
                for row in &rows {
                    inner.store.mark_delivered(&row.notification.id, at).await?;
                }
                tracing::info!(sink = %first.sink, kind = %message.kind, check = %message.check, incident = message.incident_id, rows = rows.len(), "notification delivered");
                Ok(rows.len())
            }
            Err(Error::RateLimited { retry_after, .. }) => {
                let until = inner.clock.now()
                    + chrono::Duration::from_std(retry_after).unwrap_or(chrono::Duration::hours(1));
                for row in &rows {
                    inner.store.defer(&row.notification.id, until).await?;
                }
                tracing::info!(sink = %first.sink, rows = rows.len(), "rate limit reached; held");
                Ok(0)
            }
            Err(e) => {
                let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or(0) + 1;
                let retry_at =
                    (e.is_retryable() && attempts < inner.options.max_attempts).then(|| {
                        inner.clock.now()
                            + chrono::Duration::from_std(inner.options.backoff(attempts - 1))
                                .unwrap_or(chrono::Duration::hours(1))
                    });
                tracing::warn!(sink = %first.sink, check = %message.check, attempts, error = %e, retry = retry_at.is_some(), "delivery failed");
                for row in &rows {
                    inner
                        .store
                        .mark_failed(&row.notification.id, &e.to_string(), retry_at)
                        .await?;
                }
                Ok(0)
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
                Ok(Some(due)) => (due - self.inner.clock.now())
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
