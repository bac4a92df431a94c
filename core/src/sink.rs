//! Sinks: where notifications go (a log, a file, a webhook, e-mail…).
//!
//! A sink only delivers; it never decides who is told or how urgent something is (that is the
//! [`Escalation`](crate::Escalation)'s job). Deliveries go through the durable
//! [`Outbox`](crate::outbox), so a sink may fail and be retried.

use std::collections::BTreeMap;
use std::fmt::{self, Debug};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Zone;
use crate::error::Result;
use crate::incident::{Incident, UpdateKind};
use crate::probe::Status;

pub mod email;
pub mod file;
pub mod log;
pub mod rate_limit;
pub mod webhook;

pub use email::{EmailSink, EmailSinkConfig, EmailTls};
pub use file::{FileSink, FileSinkConfig};
pub use log::{LogSink, LogSinkConfig};
pub use rate_limit::{RateLimit, RateLimited};
pub use webhook::{WebhookFormat, WebhookSink, WebhookSinkConfig};

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotificationKind {
    /// Something broke.
    Opened,
    /// It changed while broken (worse, flapping, stable again).
    Updated,
    /// Still broken and nobody has taken it.
    Reminder,
    /// A person took it.
    Acknowledged,
    /// It works again.
    Resolved,
}

impl NotificationKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Opened => "opened",
            NotificationKind::Updated => "updated",
            NotificationKind::Reminder => "reminder",
            NotificationKind::Acknowledged => "acknowledged",
            NotificationKind::Resolved => "resolved",
        }
    }

    /// What a message of this kind says first, for people ("Something is failing").
    pub fn headline(self) -> &'static str {
        match self {
            NotificationKind::Opened => "Something is failing",
            NotificationKind::Updated => "An incident changed",
            NotificationKind::Reminder => "Still failing, and nobody has taken it yet",
            NotificationKind::Acknowledged => "Someone has taken this incident",
            NotificationKind::Resolved => "Resolved: it works again",
        }
    }

    /// Parses [`NotificationKind::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "opened" => Self::Opened,
            "updated" => Self::Updated,
            "reminder" => Self::Reminder,
            "acknowledged" => Self::Acknowledged,
            "resolved" => Self::Resolved,
            _ => return None,
        })
    }
}

impl fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One message for one sink about one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Stable id: the same installation, incident, sink and escalation key always give the
    /// same id, so the outbox never delivers one twice; another installation (another site, a
    /// reset database) gives another.
    pub id: String,
    /// The installation's id ([`Store::installation_id`](crate::Store::installation_id)).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub installation: String,
    /// The sink it is for.
    pub sink: String,
    /// The escalation step that produced it ("opened", "update:2", "resolved", …).
    pub key: String,
    /// Why it is sent.
    pub kind: NotificationKind,
    /// The incident.
    pub incident_id: i64,
    /// The check's name.
    pub check: String,
    /// The check's group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The check's status when the notification was made.
    pub status: Status,
    /// One line: "\[CRITICAL\] db-main is down".
    pub subject: String,
    /// The observation summary that triggered it.
    pub summary: String,
    /// When the incident opened.
    pub opened_at: DateTime<Utc>,
    /// When the notification was made.
    pub at: DateTime<Utc>,
    /// Extra labels (owner, location, who acknowledged…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// For a message to people outside ICT (a broadcast): its audience, thread and finished
    /// wording, which sinks send as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<BroadcastBody>,
}

/// The finished wording of a broadcast, and the thread it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastBody {
    /// The audience's key.
    pub audience: String,
    /// The thread: one per outage ("outage-7") or maintenance occurrence; an e-mail sink makes
    /// every message of a thread a reply to its first.
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

impl Notification {
    /// The stable id for (installation, incident, sink, key).
    pub fn make_id(installation: &str, incident_id: i64, sink: &str, key: &str) -> String {
        let mut h = Sha256::new();
        h.update(installation.as_bytes());
        h.update([0]);
        h.update(incident_id.to_le_bytes());
        h.update(sink.as_bytes());
        h.update([0]);
        h.update(key.as_bytes());
        hex::encode(&h.finalize()[..16])
    }

    /// Builds the notification about `incident` of `installation` for `sink`; a time in its
    /// subject (a reminder's "since") is in the system's time zone ([`Zone::system`]). The
    /// monitor uses [`Notification::for_incident_in`] with the district's zone.
    pub fn for_incident(
        incident: &Incident,
        installation: &str,
        sink: &str,
        key: &str,
        kind: NotificationKind,
        at: DateTime<Utc>,
    ) -> Self {
        Self::for_incident_in(Zone::system(), incident, installation, sink, key, kind, at)
    }

    /// Like [`Notification::for_incident`], with a time in the subject shown in `zone`
    /// ("since 2026-09-01 03:00 CDT").
    pub fn for_incident_in(
        zone: Zone,
        incident: &Incident,
        installation: &str,
        sink: &str,
        key: &str,
        kind: NotificationKind,
        at: DateTime<Utc>,
    ) -> Self {
        // The subject is one line whatever the check or a device said.
        let check = crate::text::printable(&incident.check);
        let summary = crate::text::printable(&incident.summary);
        let subject = match kind {
            NotificationKind::Opened if incident.flapping => {
                format!("[FLAPPING] {check} keeps failing and recovering")
            }
            NotificationKind::Opened => format!(
                "[{}] {check}: {}",
                incident.status.as_str().to_uppercase(),
                summary
            ),
            NotificationKind::Updated => {
                let last = incident.updates.last().map(|u| u.kind);
                match last {
                    Some(UpdateKind::Flapping) => {
                        format!("[FLAPPING] {check} keeps failing and recovering")
                    }
                    Some(UpdateKind::Stable) => format!(
                        "[{}] {check} stopped flapping and is still failing: {}",
                        incident.status.as_str().to_uppercase(),
                        summary
                    ),
                    _ => format!(
                        "[{}] {check} got worse: {}",
                        incident.status.as_str().to_uppercase(),
                        summary
                    ),
                }
            }
            NotificationKind::Reminder => format!(
                "[REMINDER] {check} is still {} (since {})",
                incident.status,
                zone.minute(incident.opened_at)
            ),
            NotificationKind::Acknowledged => format!(
                "[ACK] {check} taken by {}",
                incident
                    .acknowledgement
                    .as_ref()
                    .map(|a| a.by.as_str())
                    .unwrap_or("someone")
            ),
            NotificationKind::Resolved => format!(
                "[RESOLVED] {check} is back after {}",
                crate::probe::human_duration(incident.duration(at).to_std().unwrap_or_default())
            ),
        };
        let mut labels = BTreeMap::new();
        if let Some(ack) = &incident.acknowledgement {
            labels.insert("acknowledged_by".to_owned(), ack.by.clone());
        }
        Self {
            id: Self::make_id(installation, incident.id, sink, key),
            installation: installation.to_owned(),
            sink: sink.to_owned(),
            key: key.to_owned(),
            kind,
            incident_id: incident.id,
            check: incident.check.clone(),
            group: incident.group.clone(),
            status: if kind == NotificationKind::Resolved {
                Status::Ok
            } else {
                incident.status
            },
            subject,
            summary: incident.summary.clone(),
            opened_at: incident.opened_at,
            at,
            labels,
            broadcast: None,
        }
    }

    /// A broadcast to `sink`: its id is stable for (installation, sink, `key`), so the outbox
    /// never holds it twice.
    #[allow(clippy::too_many_arguments)]
    pub fn broadcast(
        installation: &str,
        sink: &str,
        key: &str,
        kind: NotificationKind,
        status: Status,
        body: BroadcastBody,
        services: &str,
        started_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Self {
        let mut labels = BTreeMap::new();
        labels.insert("audience".to_owned(), body.audience.clone());
        Self {
            id: Self::make_id(installation, 0, sink, key),
            installation: installation.to_owned(),
            sink: sink.to_owned(),
            key: key.to_owned(),
            kind,
            incident_id: 0,
            check: services.to_owned(),
            group: None,
            status,
            subject: body.subject.clone(),
            summary: body.text.clone(),
            opened_at: started_at,
            at,
            labels,
            broadcast: Some(body),
        }
    }

    /// One message standing for several "opened" notifications to the same sink (storm
    /// control): "5 checks in building-a need attention: …". Its id is derived from theirs.
    pub fn digest(items: &[Notification], at: DateTime<Utc>) -> Self {
        assert!(!items.is_empty(), "a digest needs notifications");
        let first = &items[0];
        let mut h = Sha256::new();
        for n in items {
            h.update(n.id.as_bytes());
        }
        let status = items
            .iter()
            .map(|n| n.status)
            .fold(Status::Ok, Status::worst);
        let names: Vec<std::borrow::Cow<'_, str>> = items
            .iter()
            .map(|n| crate::text::printable(&n.check))
            .collect();
        let shown = if names.len() > 4 {
            format!("{} and {} more", names[..3].join(", "), names.len() - 3)
        } else {
            names.join(", ")
        };
        let place = match &first.group {
            Some(g) if items.iter().all(|n| n.group.as_deref() == Some(g)) => format!(" in {g}"),
            _ => String::new(),
        };
        let subject = format!(
            "[{}] {} checks{place} need attention: {shown}",
            status.as_str().to_uppercase(),
            items.len()
        );
        let summary = items
            .iter()
            .map(|n| {
                format!(
                    "- {} ({}): {}",
                    crate::text::printable(&n.check),
                    n.status,
                    crate::text::printable(&n.summary)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let mut labels = BTreeMap::new();
        labels.insert(
            "digest_of".to_owned(),
            items
                .iter()
                .map(|n| format!("#{}", n.incident_id))
                .collect::<Vec<_>>()
                .join(", "),
        );
        Self {
            id: hex::encode(&h.finalize()[..16]),
            installation: first.installation.clone(),
            sink: first.sink.clone(),
            key: "digest".to_owned(),
            kind: NotificationKind::Opened,
            incident_id: first.incident_id,
            check: shown,
            group: first.group.clone(),
            status,
            subject,
            summary,
            opened_at: items.iter().map(|n| n.opened_at).min().unwrap_or(at),
            at,
            labels,
            broadcast: None,
        }
    }

    /// A plain-text body for sinks that want one, its times in `zone` (the district's); control
    /// characters in what came from outside are escaped (the summary keeps its line breaks).
    pub fn text_body(&self, zone: Zone) -> String {
        use crate::text::{printable, printable_lines};
        if let Some(b) = &self.broadcast {
            return format!("{}\n\n{}", printable(&b.subject), printable_lines(&b.text));
        }
        let mut s = format!(
            "{}\n\nCheck:    {}\nStatus:   {}\nSince:    {}\nIncident: #{}\n",
            printable(&self.subject),
            printable(&self.check),
            self.status,
            zone.format(self.opened_at, "%Y-%m-%d %H:%M:%S %Z"),
            self.incident_id
        );
        if let Some(g) = &self.group {
            s.push_str(&format!("Group:    {}\n", printable(g)));
        }
        s.push_str(&format!("\n{}\n", printable_lines(&self.summary)));
        for (k, v) in &self.labels {
            s.push_str(&format!("{}: {}\n", printable(k), printable(v)));
        }
        s
    }
}

/// Where notifications are delivered.
#[async_trait]
pub trait AlertSink: Send + Sync + Debug {
    /// Delivers one notification. `Ok` means the other side accepted it; an error says whether
    /// a retry may help ([`crate::Error::is_retryable`]).
    async fn send(&self, notification: &Notification) -> Result<()>;

    /// Checks that the sink can deliver (server reachable, file writable) without sending.
    async fn healthcheck(&self) -> Result<()>;
}

/// The configuration of a built-in sink, selected by its `type` key.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum SinkConfig {
    /// Structured log lines.
    Log(LogSinkConfig),
    /// A local outbox file of JSON lines.
    File(FileSinkConfig),
    /// A JSON POST (generic, Slack or Teams).
    Webhook(WebhookSinkConfig),
    /// E-mail over SMTP to addresses and distribution lists.
    Email(Box<EmailSinkConfig>),
}

impl SinkConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        match self {
            SinkConfig::Log(c) => c.validate(),
            SinkConfig::File(c) => c.validate(),
            SinkConfig::Webhook(c) => c.validate(),
            SinkConfig::Email(c) => c.validate(),
        }
    }

    /// Builds the sink named `name`; the times its messages show people are in `zone` (the
    /// district's, [`Config::zone`](crate::Config::zone)). Machine-readable output (the JSON
    /// webhook body, the file sink's lines) stays UTC.
    pub fn build(
        &self,
        name: &str,
        clients: &crate::http_client::HttpClients,
        zone: Zone,
    ) -> Result<Arc<dyn AlertSink>> {
        Ok(match self {
            SinkConfig::Log(c) => Arc::new(c.build()?),
            SinkConfig::File(c) => Arc::new(c.build()?),
            SinkConfig::Webhook(c) => Arc::new(c.build(name, clients)?.with_zone(zone)),
            SinkConfig::Email(c) => Arc::new(c.build(name)?.with_zone(zone)),
        })
    }
}

/// A `[sinks.NAME]` section: the sink plus settings every sink has.
#[derive(Debug, Clone, Deserialize)]
pub struct SinkEntry {
    /// At most this many notifications per period ("20/min"); beyond it they wait in the outbox
    /// (they are not failures, and digests keep the count low).
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// The sink (its `type` key and its own keys).
    #[serde(flatten)]
    pub sink: SinkConfig,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(summary: &str) -> Incident {
        let at = "2026-09-01T08:00:00Z".parse().unwrap();
        let mut i = Incident::open("printer", None, "p", Status::Critical, summary, false, at);
        i.id = 7;
        i
    }

    /// Reminder subjects and text bodies show the district's local time with its abbreviation,
    /// standard time in January and daylight time in July, never UTC.
    #[test]
    fn times_for_people_are_local_with_daylight_saving() {
        let chicago = Zone::named("America/Chicago").unwrap();
        for (opened, local) in [
            ("2026-01-15T15:00:00Z", "2026-01-15 09:00 CST"),
            ("2026-07-15T15:00:00Z", "2026-07-15 10:00 CDT"),
        ] {
            let at: DateTime<Utc> = opened.parse().unwrap();
            let i = Incident::open("sis", None, "p", Status::Critical, "down", false, at);
            let n = Notification::for_incident_in(
                chicago,
                &i,
                "f00d",
                "mail",
                "reminder:1",
                NotificationKind::Reminder,
                at + chrono::Duration::minutes(30),
            );
            assert_eq!(
                n.subject,
                format!("[REMINDER] sis is still critical (since {local})")
            );
            let body = n.text_body(chicago);
            assert!(
                body.contains(&format!("Since:    {}:00 {}", &local[..16], &local[17..])),
                "{body}"
            );
            assert!(
                !body.contains("UTC") && !n.subject.contains("UTC"),
                "{body}"
            );
            // The data stays UTC.
            assert_eq!(n.opened_at, at);
            let json = serde_json::to_value(&n).unwrap();
            assert_eq!(json["opened_at"], opened);
        }
    }

    #[test]
    fn device_text_is_escaped_in_subjects_and_bodies() {
        let i = incident("jam\r\n[RESOLVED] all fine\x1b]0;owned\x07");
        let n = Notification::for_incident(
            &i,
            "f00d",
            "mail",
            "opened",
            NotificationKind::Opened,
            i.opened_at,
        );
        assert_eq!(
            n.subject,
            "[CRITICAL] printer: jam\\r\\n[RESOLVED] all fine\\u{1b}]0;owned\\u{7}"
        );
        assert_eq!(n.summary, i.summary, "the data is kept as it is");
        let body = n.text_body(Zone::named("UTC").unwrap());
        assert!(
            body.contains("jam\\r\n[RESOLVED] all fine\\u{1b}]0;owned\\u{7}"),
            "{body}"
        );
        let other = Notification::for_incident(
            &incident("out of paper\nTray 2"),
            "f00d",
            "mail",
            "opened",
            NotificationKind::Opened,
            i.opened_at,
        );
        let digest = Notification::digest(&[n, other], i.opened_at);
        assert!(
            !digest.subject.chars().any(crate::text::is_control),
            "{}",
            digest.subject
        );
        let lines: Vec<&str> = digest.summary.lines().collect();
        assert_eq!(lines.len(), 2, "one line per incident: {lines:?}");
        assert!(lines[1].ends_with("out of paper\\nTray 2"), "{lines:?}");
    }
}
