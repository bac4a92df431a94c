//! Test doubles for users' own tests (feature `testing`): a [`FakeProbe`] whose answer you set,
//! a [`RecordingSink`] that keeps what it was sent, and a [`FakeStatusSource`] for the status
//! server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::probe::{CheckContext, Observation, Probe, Status};
use crate::sink::{AlertSink, Notification};

pub use crate::status::fake::FakeStatusSource;

#[derive(Debug)]
struct FakeState {
    status: Status,
    summary: String,
    delay: Duration,
    panic: Option<String>,
}

/// A probe that answers whatever it is told to; clones share the answer.
#[derive(Debug, Clone)]
pub struct FakeProbe {
    state: Arc<Mutex<FakeState>>,
    calls: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Default for FakeProbe {
    fn default() -> Self {
        Self::new(Status::Ok)
    }
}

impl FakeProbe {
    /// A probe answering `status`.
    pub fn new(status: Status) -> Self {
        Self {
            state: Arc::new(Mutex::new(FakeState {
                status,
                summary: status.to_string(),
                delay: Duration::ZERO,
                panic: None,
            })),
            calls: Arc::new(AtomicUsize::new(0)),
            in_flight: Arc::new(AtomicUsize::new(0)),
            max_in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The most runs (of this probe and its clones) that were in progress at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// From now on, answer `status` with `summary`.
    pub fn set(&self, status: Status, summary: &str) {
        let mut s = self.state.lock();
        s.status = status;
        s.summary = summary.to_owned();
    }

    /// From now on, take `delay` before answering.
    pub fn set_delay(&self, delay: Duration) {
        self.state.lock().delay = delay;
    }

    /// From now on, panic with `message` (None: stop panicking).
    pub fn set_panic(&self, message: Option<&str>) {
        self.state.lock().panic = message.map(str::to_owned);
    }

    /// How many times it was run.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Probe for FakeProbe {
    async fn check(&self, cx: &CheckContext) -> Observation {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let (status, summary, delay, panic) = {
            let s = self.state.lock();
            (s.status, s.summary.clone(), s.delay, s.panic.clone())
        };
        let now_in_flight = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight
            .fetch_max(now_in_flight, Ordering::SeqCst);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Some(message) = panic {
            panic!("{message}");
        }
        Observation::new(status, summary, cx.now())
    }

    fn kind(&self) -> &str {
        "fake"
    }
}

/// A sink that keeps every notification; it can be told to fail.
#[derive(Debug, Clone, Default)]
pub struct RecordingSink {
    sent: Arc<Mutex<Vec<Notification>>>,
    failing: Arc<AtomicBool>,
    attempts: Arc<AtomicUsize>,
}

impl RecordingSink {
    /// An empty, working sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything accepted so far.
    pub fn sent(&self) -> Vec<Notification> {
        self.sent.lock().clone()
    }

    /// Makes sends fail (retryably) or work again.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Delivery attempts, failed ones included.
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl AlertSink for RecordingSink {
    async fn send(&self, n: &Notification) -> Result<()> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::Sink {
                sink: n.sink.clone(),
                message: "recording sink set to fail".into(),
                retryable: true,
            });
        }
        self.sent.lock().push(n.clone());
        Ok(())
    }

    async fn healthcheck(&self) -> Result<()> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::Sink {
                sink: "recording".into(),
                message: "set to fail".into(),
                retryable: true,
            });
        }
        Ok(())
    }
}
