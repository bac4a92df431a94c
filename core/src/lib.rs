//! # forewarn
//!
//! Proactive IT support for school districts: find the failure before a teacher does.
//!
//! - **Probes** ([`Probe`]) check servers, services, printers and this machine and report an
//!   [`Observation`].
//! - The **monitor** ([`Monitor`]) schedules them, runs each observation through a pure
//!   [`CheckState`] machine (hysteresis, flapping, dependencies, maintenance windows) and turns
//!   transitions into [`Incident`]s.
//! - An **escalation** policy ([`Escalation`]) decides who is told; notifications go through a
//!   durable [`outbox`] to [`AlertSink`]s (log, file, webhook, e-mail…).
//! - Everything is kept in a [`Store`] (embedded SQLite by default).
//!
//! ```no_run
//! use forewarn::{Config, Monitor};
//!
//! # async fn demo() -> forewarn::Result<()> {
//! let config = Config::from_file("forewarn.toml")?;
//! let monitor = Monitor::from_config(&config).await?;
//! for check in monitor.run_once().await? {
//!     println!("{}: {} {}", check.name, check.status, check.summary);
//! }
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod ack;
pub mod agent;
pub mod agents;
pub mod autoreply;
pub mod broadcast;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod error;
pub mod escalation;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod http_client;
pub mod incident;
pub mod monitor;
pub mod outbox;
pub mod probe;
pub mod sink;
mod sockets;
pub mod status;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
#[cfg(feature = "tickets")]
pub mod tickets;

pub use autoreply::{
    OutageMessage, OutageResponder, ResponderConfig, SieveAutoReply, SieveAutoReplyConfig,
    Voicemail, VoicemailConfig,
};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock, Zone};
pub use config::{Config, Secret};
pub use error::{Error, Result};
pub use escalation::{Dispatch, Escalation, EscalationConfig, NotifySinks, SentRecord};
pub use incident::{Acknowledgement, Incident, IncidentState, IncidentUpdate, UpdateKind};
pub use monitor::state::{Alert, CheckState, StatePolicy, Suppression, Transition};
pub use monitor::{CheckSpec, CheckStatus, Event, Monitor, MonitorBuilder};
pub use probe::{
    CheckContext, HostConfig, HostProbe, HttpConfig, HttpProbe, Metric, Metrics, Observation,
    Probe, ProbeConfig, ProcessConfig, ProcessProbe, Reading, Status, TcpConfig, TcpProbe,
};
#[cfg(feature = "probe-mysql")]
pub use probe::{MysqlConfig, MysqlProbe};
#[cfg(feature = "probe-postgres")]
pub use probe::{PostgresConfig, PostgresProbe};
#[cfg(feature = "probe-redis")]
pub use probe::{RedisConfig, RedisProbe};
pub use sink::{AlertSink, Notification, NotificationKind, SinkConfig};
pub use status::{PublicStatus, StatusConfig, StatusServer, StatusSource};
pub use store::{IncidentFilter, Lease, SqliteStore, Store};

/// The attribute your own [`Probe`] and [`AlertSink`] implementations need
/// (`#[forewarn::async_trait]`), re-exported so they need no second dependency.
pub use async_trait::async_trait;

/// The README's Rust snippets, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
