//! Proactive communication: user-facing [services](service) made of checks, [audiences](audience)
//! who care about them, and the messages an outage drives, written for people who are not
//! technicians.
//!
//! One [`Outage`] (a service down, or several for one cause) drives, per audience: "we know"
//! once it has lasted the audience's delay (a 30-second blip sends nothing; ICT is alerted at
//! once all the same), an update for each note ICT adds and when the outage reaches another of
//! their services, "still working on it" when nothing was said for `update_every`, and "fixed"
//! once it has stayed back for the hold time. Planned maintenance is announced ahead, at its
//! start and at its end. The same outage makes the status page's incidents, the auto-reply and
//! the voicemail text. Broadcasts go through the durable outbox like alerts: one id per
//! (outage, audience, sink, message), so a restart neither repeats nor loses one.

pub mod audience;
pub mod outage;
pub mod plan;
pub mod planned;
pub mod service;
pub mod templates;

pub use audience::{AudienceConfig, BroadcastSettings};
pub use outage::{Outage, OutageEvent, OutageUpdate, ServiceView};
pub use plan::{BroadcastKind, Due};
pub use planned::PlannedMaintenance;
pub use service::{DownWhen, ServiceConfig, ServiceState};
pub use templates::{MessageContext, Rendered, Templates};
