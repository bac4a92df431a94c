//! Probes and sinks written in JavaScript, as the core's [`Probe`] and [`AlertSink`].
//!
//! JavaScript is never called on a tokio worker: each call is queued to Node's thread through a
//! weak threadsafe function (it does not keep the process alive once the monitor has stopped),
//! and the Promise it returns is awaited on the tokio side. The package's `lib/custom.js` does
//! the JavaScript half: it calls the user's method (plain or `async`), checks what it returns,
//! turns a throw or a rejection into its stack text, and answers a plain object:
//! `{ ok: … }` or `{ error: message }`. One function serves every probe of a monitor (the check
//! names which), one every sink.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use forewarn::{AlertSink, CheckContext, Error, Notification, Observation, Probe, Status};
use napi::bindgen_prelude::{Either, FromNapiValue, Promise, TypeName, ValidateNapiValue};
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;

use crate::model::{Metric, iso};

/// One run of a probe written in JavaScript, as its `check(ctx)` is told.
#[napi(object)]
pub struct ProbeCall {
    /// The check's name.
    pub check: String,
    /// The run's time budget, in seconds.
    pub timeout: f64,
    /// When the run started (UTC, ISO 8601).
    pub now: String,
}

/// What a probe written in JavaScript found, as the package's half hands it over.
#[napi(object)]
pub struct ProbeReading {
    /// `ok`, `warning`, `critical` or `unknown`.
    pub status: String,
    /// One line a person can read.
    pub summary: String,
    /// Measured values.
    pub metrics: Vec<Metric>,
    /// How long the check took, in seconds, if the probe says.
    pub latency: Option<f64>,
}

/// The package's answer for one probe run: `ok` with the reading, or `error` with the message
/// (the JavaScript stack of what was thrown).
#[napi(object)]
pub struct ProbeAnswer {
    /// The reading, when the probe answered.
    pub ok: Option<ProbeReading>,
    /// What went wrong, when it did not.
    pub error: Option<String>,
}

/// A broadcast's audience, thread and finished wording.
#[napi(object)]
pub struct BroadcastInfo {
    /// The audience's key.
    pub audience: String,
    /// The thread (one per outage or maintenance occurrence).
    pub thread: String,
    /// Whether this message starts the thread.
    pub first: bool,
    /// One line.
    pub subject: String,
    /// Plain text.
    pub text: String,
    /// An HTML fragment (already escaped).
    pub html: String,
}

/// One message for one sink (core's `Notification`).
#[napi(object)]
pub struct NotificationInfo {
    /// Stable id: a redelivery of the same message has the same one.
    pub id: String,
    /// The sink's name.
    pub sink: String,
    /// The escalation step that made it (`opened`, `update:2`, …).
    pub key: String,
    /// `opened`, `updated`, `reminder`, `acknowledged` or `resolved`.
    pub kind: String,
    /// The incident's id (0 for a broadcast).
    pub incident_id: i64,
    /// The check's name.
    pub check: String,
    /// The check's group, if any.
    pub group: Option<String>,
    /// The check's status when it was made.
    pub status: String,
    /// One line: `[CRITICAL] db-main: connection refused`.
    pub subject: String,
    /// The observation summary that triggered it.
    pub summary: String,
    /// When the incident opened (UTC, ISO 8601).
    pub opened_at: String,
    /// When the notification was made (UTC, ISO 8601).
    pub at: String,
    /// Extra labels (owner, location, who acknowledged…).
    pub labels: HashMap<String, String>,
    /// For a broadcast: its audience, thread and wording.
    pub broadcast: Option<BroadcastInfo>,
}

impl NotificationInfo {
    fn new(n: &Notification) -> Self {
        NotificationInfo {
            id: n.id.clone(),
            sink: n.sink.clone(),
            key: n.key.clone(),
            kind: n.kind.as_str().to_owned(),
            incident_id: n.incident_id,
            check: n.check.clone(),
            group: n.group.clone(),
            status: n.status.as_str().to_owned(),
            subject: n.subject.clone(),
            summary: n.summary.clone(),
            opened_at: iso(n.opened_at),
            at: iso(n.at),
            labels: n
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            broadcast: n.broadcast.as_ref().map(|b| BroadcastInfo {
                audience: b.audience.clone(),
                thread: b.thread.clone(),
                first: b.first,
                subject: b.subject.clone(),
                text: b.text.clone(),
                html: b.html.clone(),
            }),
        }
    }
}

/// One call of a sink written in JavaScript: a notification to send, or (without one) a
/// health check.
#[napi(object)]
pub struct SinkCall {
    /// The sink's name.
    pub sink: String,
    /// The notification to deliver; absent for a health check.
    pub notification: Option<NotificationInfo>,
}

/// The package's answer for one sink call: `error` (the JavaScript stack) when it failed.
#[napi(object)]
pub struct SinkAnswer {
    /// What went wrong, when something did.
    pub error: Option<String>,
}

/// What the package's functions return: the answer itself when the user's method was plain,
/// a Promise of it when it was `async` (a plain answer spares a Promise and its callbacks).
pub type Returned<A> = Either<Promise<A>, A>;

/// The package's function that runs a probe written in JavaScript: weak (it does not keep the
/// process alive), called with the run alone.
pub type ProbeFn =
    ThreadsafeFunction<ProbeCall, Returned<ProbeAnswer>, ProbeCall, napi::Status, false, true>;

/// The package's function that calls a sink written in JavaScript: weak, called with the call
/// alone.
pub type SinkFn =
    ThreadsafeFunction<SinkCall, Returned<SinkAnswer>, SinkCall, napi::Status, false, true>;

/// Queues `call` to Node's thread and waits for its answer, awaiting the Promise when it is
/// one, without blocking the task's worker.
async fn call_js<A, C>(
    f: &ThreadsafeFunction<C, Returned<A>, C, napi::Status, false, true>,
    call: C,
) -> Result<A, String>
where
    A: FromNapiValue + ValidateNapiValue + TypeName + Send + 'static,
    C: napi::bindgen_prelude::JsValuesTupleIntoVec + 'static,
{
    let failed = |e: napi::Error| format!("the JavaScript call failed: {}", e.reason);
    match f.call_async_catch(call).await.map_err(failed)? {
        Either::A(promise) => promise.await.map_err(failed),
        Either::B(answer) => Ok(answer),
    }
}

fn parse_status(s: &str) -> Option<Status> {
    Some(match s {
        "ok" => Status::Ok,
        "warning" => Status::Warning,
        "critical" => Status::Critical,
        "unknown" => Status::Unknown,
        _ => return None,
    })
}

/// A probe written in JavaScript (an object with a `check(ctx)` method, plain or `async`).
pub struct JsProbe {
    name: String,
    call: Arc<ProbeFn>,
    kind: String,
    target: String,
}

impl JsProbe {
    /// The probe of check `name`, run through `call`; `kind` and `target` were read once.
    pub fn new(name: String, call: Arc<ProbeFn>, kind: String, target: String) -> Self {
        Self {
            name,
            call,
            kind,
            target,
        }
    }
}

impl fmt::Debug for JsProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsProbe")
            .field("check", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Probe for JsProbe {
    async fn check(&self, cx: &CheckContext) -> Observation {
        let at = cx.now();
        let call = ProbeCall {
            check: cx.check.to_string(),
            timeout: cx.timeout.as_secs_f64(),
            now: iso(at),
        };
        let answer = match call_js(&self.call, call).await {
            Ok(ProbeAnswer { ok: Some(r), .. }) => Ok(r),
            Ok(ProbeAnswer { error: Some(e), .. }) => Err(e),
            Ok(_) => Err(format!("probe `{}` gave no answer", self.name)),
            Err(e) => Err(e),
        };
        match answer {
            Ok(reading) => {
                let Some(status) = parse_status(&reading.status) else {
                    return Observation::new(
                        Status::Unknown,
                        format!(
                            "probe `{}` returned the status `{}`",
                            self.name, reading.status
                        ),
                        at,
                    );
                };
                let mut obs = Observation::new(status, reading.summary, at);
                for m in reading.metrics {
                    obs = obs.with_metric(m.name, m.value, m.unit);
                }
                if let Some(l) = reading
                    .latency
                    .and_then(|l| Duration::try_from_secs_f64(l).ok())
                {
                    obs = obs.with_latency(l);
                }
                obs
            }
            Err(message) => Observation::new(Status::Unknown, message, at),
        }
    }

    fn kind(&self) -> &str {
        &self.kind
    }

    fn target(&self) -> String {
        self.target.clone()
    }
}

/// A sink written in JavaScript (an object with `send(notification)` and optionally
/// `healthcheck()`, plain or `async`).
pub struct JsSink {
    name: String,
    call: Arc<SinkFn>,
}

impl JsSink {
    /// The sink named `name`, called through `call`.
    pub fn new(name: String, call: Arc<SinkFn>) -> Self {
        Self { name, call }
    }

    async fn run(&self, notification: Option<NotificationInfo>) -> forewarn::Result<()> {
        let call = SinkCall {
            sink: self.name.clone(),
            notification,
        };
        let failed = match call_js(&self.call, call).await {
            Ok(SinkAnswer { error: None }) => return Ok(()),
            Ok(SinkAnswer { error: Some(e) }) | Err(e) => e,
        };
        Err(Error::Sink {
            sink: self.name.clone(),
            message: failed,
            retryable: true,
        })
    }
}

impl fmt::Debug for JsSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsSink")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl AlertSink for JsSink {
    async fn send(&self, notification: &Notification) -> forewarn::Result<()> {
        self.run(Some(NotificationInfo::new(notification))).await
    }

    async fn healthcheck(&self) -> forewarn::Result<()> {
        self.run(None).await
    }
}
