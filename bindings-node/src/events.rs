//! A monitor's events (core's `Monitor::subscribe`), forwarded to a JavaScript callback.
//!
//! The callback is a weak threadsafe function: it does not keep Node's event loop alive, so a
//! subscription never holds a process that has nothing else to do. Events are converted on the
//! tokio side and handed over without blocking; a subscriber that falls behind the monitor's
//! buffer is told how many events it missed.

use forewarn::Event;
use napi::Status;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use crate::model::{IncidentInfo, iso, to_json};
use crate::monitor::NativeMonitor;

/// One event of a monitor.
#[napi(object)]
pub struct EventInfo {
    /// `transition`, `incidentOpened`, `incidentUpdated` or `incidentResolved`.
    pub r#type: String,
    /// The check concerned.
    pub check: String,
    /// When (UTC).
    pub at: String,
    /// For a transition: what happened (core's JSON).
    pub transition: Option<Value>,
    /// For an incident event: the incident as it is now.
    pub incident: Option<IncidentInfo>,
    /// Events dropped just before this one because the subscriber fell behind.
    pub missed: u32,
}

fn event_info(event: &Event, missed: u64) -> napi::Result<EventInfo> {
    let incident = |kind: &str, i: &forewarn::Incident| -> napi::Result<EventInfo> {
        Ok(EventInfo {
            r#type: kind.into(),
            check: i.check.clone(),
            at: iso(i.updates.last().map(|u| u.at).unwrap_or(i.opened_at)),
            transition: None,
            incident: Some(IncidentInfo::new(i)?),
            missed: missed.min(u32::MAX as u64) as u32,
        })
    };
    match event {
        Event::Transition {
            check,
            transition,
            at,
        } => Ok(EventInfo {
            r#type: "transition".into(),
            check: check.clone(),
            at: iso(*at),
            transition: Some(to_json(transition)?),
            incident: None,
            missed: missed.min(u32::MAX as u64) as u32,
        }),
        Event::IncidentOpened(i) => incident("incidentOpened", i),
        Event::IncidentUpdated(i) => incident("incidentUpdated", i),
        Event::IncidentResolved(i) => incident("incidentResolved", i),
        #[allow(unreachable_patterns)]
        _ => Err(crate::error::other(
            "an event of a kind this package does not know",
        )),
    }
}

/// The callback events go to: weak (it does not keep the process alive), called with the
/// event alone.
type Callback = ThreadsafeFunction<EventInfo, (), EventInfo, Status, false, true>;

/// A subscription to a monitor's events; `close()` ends it.
#[napi]
pub struct Subscription {
    closed: watch::Sender<bool>,
}

#[napi]
impl Subscription {
    /// Ends the subscription: no more calls of its callback.
    #[napi]
    pub fn close(&self) {
        self.closed.send_replace(true);
    }
}

#[napi]
impl NativeMonitor {
    /// Calls `callback` with each event of this monitor from now on, until the subscription
    /// is closed.
    #[napi(ts_args_type = "callback: (event: EventInfo) => void")]
    pub fn subscribe(&self, callback: Callback) -> Subscription {
        let mut rx = self.inner.subscribe();
        let (closed, mut closed_rx) = watch::channel(false);
        napi::bindgen_prelude::spawn(async move {
            let mut missed = 0u64;
            loop {
                let received = tokio::select! {
                    r = rx.recv() => r,
                    _ = closed_rx.wait_for(|c| *c) => break,
                };
                match received {
                    Ok(event) => {
                        if let Ok(info) = event_info(&event, missed) {
                            missed = 0;
                            let status =
                                callback.call(info, ThreadsafeFunctionCallMode::NonBlocking);
                            if status == Status::Closing {
                                break;
                            }
                        }
                    }
                    Err(RecvError::Lagged(n)) => missed += n,
                    Err(RecvError::Closed) => break,
                }
            }
        });
        Subscription { closed }
    }
}
