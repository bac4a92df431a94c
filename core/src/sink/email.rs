//! The `email` sink: SMTP (implicit TLS, STARTTLS, opportunistic or plain on loopback) to
//! addresses and named distribution lists, with plain-text and HTML bodies, an ack link and
//! threading headers so "resolved" lands under "down" in mail clients.
//!
//! ```toml
//! [sinks.mail-oncall]
//! type = "email"
//! host = "smtp.district.example"
//! tls = "starttls"                  # port 587 unless set
//! username = "forewarn@district.example"
//! password = "${SMTP_PASSWORD}"
//! from = "forewarn <forewarn@district.example>"
//! lists = { ict-oncall = ["ana@district.example", "bo@district.example"] }
//! to = ["ict-oncall", "director@district.example"]
//! ack_url_base = "https://status.district.example/ack"
//! ack_secret = "${FOREWARN_ACK_SECRET}"
//! ```
//!
//! Message ids are stable: the "opened" message of an incident is
//! `<incident-ID.SINK.INSTALLATION@DOMAIN>` ([`opened_message_id`]) and every later message of
//! the incident carries `In-Reply-To`/`References` pointing at it; the others are
//! `<NOTIFICATION-ID@DOMAIN>`. `DOMAIN` is the `from` address's domain; `INSTALLATION` is the
//! random id of the history ([`Store::installation_id`](crate::Store::installation_id)), so two
//! sites mailing one list, or one site after a database reset, never repeat an id.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransportBuilder;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use crate::ack::AckSigner;
use crate::clock::Zone;
use crate::config::{Secret, expand_env};
use crate::error::{Error, Result};
use crate::sink::{AlertSink, Notification, NotificationKind};

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailTls {
    /// TLS from the first byte ("SMTPS", port 465).
    Implicit,
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587). The default.
    #[default]
    Starttls,
    /// STARTTLS when the server offers it, plain otherwise (port 587).
    Opportunistic,
    /// No TLS at all (port 25): only for a relay on this machine unless `allow_plaintext`.
    None,
}

impl EmailTls {
    /// The usual port of the mode.
    pub fn default_port(self) -> u16 {
        match self {
            EmailTls::Implicit => 465,
            EmailTls::Starttls | EmailTls::Opportunistic => 587,
            EmailTls::None => 25,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            EmailTls::Implicit => "implicit",
            EmailTls::Starttls => "starttls",
            EmailTls::Opportunistic => "opportunistic",
            EmailTls::None => "none",
        }
    }
}

/// Configuration of the `email` sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSinkConfig {
    /// The SMTP server's host name or address.
    pub host: String,
    /// The port (default by `tls`: 465 implicit, 587 starttls/opportunistic, 25 none).
    #[serde(default)]
    pub port: Option<u16>,
    /// "implicit", "starttls" (default), "opportunistic" or "none".
    #[serde(default)]
    pub tls: EmailTls,
    /// Allow a connection that may be unencrypted ("none", or "opportunistic" with a
    /// password) to a host that is not this machine. Default false.
    #[serde(default)]
    pub allow_plaintext: bool,
    /// The login, if the server wants one (`${VAR}` works).
    #[serde(default)]
    pub username: Option<String>,
    /// The password (`${VAR}` works; never printed).
    #[serde(default)]
    pub password: Option<Secret>,
    /// The sender: "forewarn <forewarn@district.example>".
    pub from: String,
    /// Where replies go, if not to `from`.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Recipients: addresses and/or names of lists defined in `lists`.
    pub to: Vec<String>,
    /// Named distribution lists: `lists = { ict-oncall = ["a@x", "b@x"] }`.
    #[serde(default)]
    pub lists: BTreeMap<String, Vec<String>>,
    /// Put before every subject ("\[forewarn\]"). Default none.
    #[serde(default)]
    pub subject_prefix: Option<String>,
    /// The status page, linked from every message.
    #[serde(default)]
    pub status_page_url: Option<String>,
    /// Where acknowledgement links point: the link is `ACK_URL_BASE/TOKEN`. Needs
    /// `ack_secret`.
    #[serde(default)]
    pub ack_url_base: Option<String>,
    /// The secret signing acknowledgement links (at least 16 bytes; `${VAR}` works). The
    /// server answering `ack_url_base` must use the same one.
    #[serde(default)]
    pub ack_secret: Option<Secret>,
    /// How long an acknowledgement link stays valid (default 7 days).
    #[serde(default, with = "crate::config::opt_duration")]
    pub ack_valid_for: Option<Duration>,
    /// Time budget of one delivery or health check, from connecting to the server's last
    /// answer (default 10 s): a server that accepts the connection and never answers fails
    /// within it instead of holding the sink.
    #[serde(default, with = "crate::config::opt_duration")]
    pub timeout: Option<Duration>,
    /// A PEM file with extra trusted root certificates (a district CA, a test server).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate (tests only). Default false.
    #[serde(default)]
    pub insecure: bool,
}

/// Whether `host` is this machine (plain SMTP is fine there).
fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn parse_mailbox(what: &str, s: &str) -> Result<Mailbox> {
    s.trim()
        .parse::<Mailbox>()
        .map_err(|e| Error::invalid(what, format!("`{s}` is not an e-mail address ({e})")))
}

fn check_url(what: &str, url: &str) -> Result<()> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::invalid(what, format!("`{url}` is not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::invalid(what, "must start with http:// or https://"));
    }
    Ok(())
}

impl EmailSinkConfig {
    /// A config sending from `from` to `to` through `host` with STARTTLS.
    pub fn new<S: Into<String>>(
        host: impl Into<String>,
        from: impl Into<String>,
        to: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            host: host.into(),
            port: None,
            tls: EmailTls::default(),
            allow_plaintext: false,
            username: None,
            password: None,
            from: from.into(),
            reply_to: None,
            to: to.into_iter().map(Into::into).collect(),
            lists: BTreeMap::new(),
            subject_prefix: None,
            status_page_url: None,
            ack_url_base: None,
            ack_secret: None,
            ack_valid_for: None,
            timeout: None,
            ca_file: None,
            insecure: false,
        }
    }

    /// The port used: `port`, or the default of the TLS mode.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(self.tls.default_port())
    }

    /// The recipients with lists expanded, without duplicates, in order of appearance.
    pub fn recipients(&self) -> Result<Vec<Mailbox>> {
        let mut out: Vec<Mailbox> = Vec::new();
        let mut add = |m: Mailbox| {
            if !out.iter().any(|o| o.email == m.email) {
                out.push(m);
            }
        };
        for entry in &self.to {
            if let Some(list) = self.lists.get(entry.trim()) {
                for a in list {
                    add(parse_mailbox(&format!("lists.{entry}"), a)?);
                }
            } else if entry.contains('@') {
                add(parse_mailbox("to", entry)?);
            } else {
                let known: Vec<&str> = self.lists.keys().map(String::as_str).collect();
                return Err(Error::invalid(
                    "to",
                    format!(
                        "`{entry}` is neither an address nor a list in `lists` (lists: {})",
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        }
        if out.is_empty() {
            return Err(Error::invalid("to", "names no recipient"));
        }
        Ok(out)
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        if self.host.trim().is_empty() {
            return Err(Error::invalid("host", "must not be empty"));
        }
        if self.port == Some(0) {
            return Err(Error::invalid("port", "must not be 0"));
        }
        let local = is_loopback(&self.host);
        if self.tls == EmailTls::None && !local && !self.allow_plaintext {
            return Err(Error::invalid(
                "tls",
                format!(
                    "\"none\" sends mail unencrypted; it is only allowed for a relay on this machine, \
                     not `{}` (use \"starttls\" or \"implicit\", or set allow_plaintext = true)",
                    self.host
                ),
            ));
        }
        match (&self.username, &self.password) {
            (Some(_), None) => {
                return Err(Error::invalid(
                    "password",
                    "`username` is set, `password` is not",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::invalid(
                    "username",
                    "`password` is set, `username` is not",
                ));
            }
            (Some(u), Some(p)) => {
                expand_env(u).map_err(|e| Error::invalid("username", msg(&e)))?;
                p.expose()
                    .map_err(|e| Error::invalid("password", msg(&e)))?;
                if self.tls == EmailTls::Opportunistic && !local && !self.allow_plaintext {
                    return Err(Error::invalid(
                        "tls",
                        "\"opportunistic\" could send the password unencrypted; use \"starttls\" \
                         (or set allow_plaintext = true)",
                    ));
                }
            }
            (None, None) => {}
        }
        let from = parse_mailbox("from", &self.from)?;
        if from.email.domain().is_empty() {
            return Err(Error::invalid("from", "the address has no domain"));
        }
        if let Some(r) = &self.reply_to {
            parse_mailbox("reply_to", r)?;
        }
        for (name, list) in &self.lists {
            if list.is_empty() {
                return Err(Error::invalid(format!("lists.{name}"), "is empty"));
            }
        }
        self.recipients()?;
        if let Some(u) = &self.status_page_url {
            check_url("status_page_url", u)?;
        }
        match (&self.ack_url_base, &self.ack_secret) {
            (Some(u), Some(s)) => {
                check_url("ack_url_base", u)?;
                AckSigner::from_secret(s).map_err(|e| Error::invalid("ack_secret", msg(&e)))?;
            }
            (Some(_), None) => {
                return Err(Error::invalid(
                    "ack_secret",
                    "`ack_url_base` is set: the links need a secret to be signed with",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::invalid(
                    "ack_url_base",
                    "`ack_secret` is set but there is no base URL for the links",
                ));
            }
            (None, None) => {}
        }
        if let Some(v) = self.ack_valid_for
            && v < Duration::from_secs(60)
        {
            return Err(Error::invalid("ack_valid_for", "must be at least 1m"));
        }
        if let Some(t) = self.timeout
            && t.is_zero()
        {
            return Err(Error::invalid("timeout", "must be more than 0"));
        }
        if let Some(ca) = &self.ca_file
            && !ca.is_file()
        {
            return Err(Error::invalid(
                "ca_file",
                format!("`{}` is not a readable file", ca.display()),
            ));
        }
        Ok(())
    }

    /// Builds the sink named `name`. Its messages show times in the system's time zone until
    /// [`EmailSink::with_zone`] sets the district's.
    pub fn build(&self, name: &str) -> Result<EmailSink> {
        self.validate()?;
        crate::http_client::install_crypto_provider();
        let port = self.effective_port();
        let tls = if self.tls == EmailTls::None {
            Tls::None
        } else {
            let mut params = TlsParameters::builder(self.host.clone());
            if let Some(ca) = &self.ca_file {
                let pem = std::fs::read(ca)
                    .map_err(|e| Error::io(format!("reading {}", ca.display()), e))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| Error::invalid("ca_file", format!("`{}`: {e}", ca.display())))?;
                params = params.add_root_certificate(cert);
            }
            if self.insecure {
                params = params.dangerous_accept_invalid_certs(true);
            }
            let params = params
                .build()
                .map_err(|e| Error::invalid("tls", e.to_string()))?;
            match self.tls {
                EmailTls::Implicit => Tls::Wrapper(params),
                EmailTls::Starttls => Tls::Required(params),
                EmailTls::Opportunistic => Tls::Opportunistic(params),
                EmailTls::None => unreachable!("handled above"),
            }
        };
        let timeout = self.timeout.unwrap_or(Duration::from_secs(10));
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(port)
            .tls(tls)
            .timeout(Some(timeout));
        let mut password = None;
        if let (Some(u), Some(p)) = (&self.username, &self.password) {
            let p = p.expose()?;
            transport = transport.credentials(Credentials::new(expand_env(u)?, p.clone()));
            password = Some(Secret::new(p));
        }
        let from = parse_mailbox("from", &self.from)?;
        let domain = from.email.domain().to_owned();
        let ack = match (&self.ack_url_base, &self.ack_secret) {
            (Some(base), Some(secret)) => Some(AckLinks {
                base: base.trim_end_matches('/').to_owned(),
                signer: AckSigner::from_secret(secret)?,
                valid_for: self
                    .ack_valid_for
                    .unwrap_or(Duration::from_secs(7 * 86_400)),
            }),
            _ => None,
        };
        Ok(EmailSink {
            name: name.to_owned(),
            endpoint: format!("{}:{port} ({})", self.host, self.tls.as_str()),
            builder: transport,
            timeout,
            pool: OnceLock::new(),
            password,
            from,
            reply_to: self
                .reply_to
                .as_deref()
                .map(|r| parse_mailbox("reply_to", r))
                .transpose()?,
            recipients: self.recipients()?,
            domain,
            subject_prefix: self.subject_prefix.clone().filter(|p| !p.trim().is_empty()),
            status_page_url: self.status_page_url.clone(),
            ack,
            zone: Zone::system(),
        })
    }
}

fn msg(e: &Error) -> String {
    match e {
        Error::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// lettre's connection pool spawns a task when it is created and another when it is
/// dropped, so it must be created inside a Tokio runtime and dropped inside one: it is made on
/// first use and dropped within the runtime it was made in (a sink dropped elsewhere, or after
/// that runtime ended, would otherwise abort the process).
struct PooledTransport {
    runtime: tokio::runtime::Handle,
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
}

impl Drop for PooledTransport {
    fn drop(&mut self) {
        if let Some(t) = self.transport.take() {
            let _entered = self.runtime.enter();
            drop(t);
        }
    }
}

#[derive(Clone)]
struct AckLinks {
    base: String,
    signer: AckSigner,
    valid_for: Duration,
}

/// Sends notifications as e-mail over SMTP. Its `Debug` shows the server and recipients,
/// never the password.
pub struct EmailSink {
    name: String,
    endpoint: String,
    builder: AsyncSmtpTransportBuilder,
    /// Bounds a whole exchange: lettre bounds only the TCP connect, not the server's answers.
    timeout: Duration,
    pool: OnceLock<PooledTransport>,
    password: Option<Secret>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    recipients: Vec<Mailbox>,
    domain: String,
    subject_prefix: Option<String>,
    status_page_url: Option<String>,
    ack: Option<AckLinks>,
    /// Times in messages are shown in this zone.
    zone: Zone,
}

impl fmt::Debug for EmailSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSink")
            .field("name", &self.name)
            .field("server", &self.endpoint)
            .field("from", &self.from.to_string())
            .field(
                "to",
                &self
                    .recipients
                    .iter()
                    .map(|m| m.email.to_string())
                    .collect::<Vec<_>>(),
            )
            .field("password", &self.password)
            .field("ack_links", &self.ack.is_some())
            .field("zone", &self.zone.tz().name())
            .finish_non_exhaustive()
    }
}

/// The Message-ID of the "opened" message of `incident_id` of `installation` sent by sink
/// `sink` from `domain`: every later message of the incident points at it.
pub fn opened_message_id(installation: &str, incident_id: i64, sink: &str, domain: &str) -> String {
    let slug: String = sink
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let installation: String = installation
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if installation.is_empty() {
        // Queued before installations had ids.
        format!("<incident-{incident_id}.{slug}@{domain}>")
    } else {
        format!("<incident-{incident_id}.{slug}.{installation}@{domain}>")
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What a message says, before it is laid out as text or HTML.
struct Content {
    subject: String,
    headline: &'static str,
    rows: Vec<(&'static str, String)>,
    summary: String,
    labels: Vec<(String, String)>,
    ack_url: Option<String>,
    status_url: Option<String>,
}

impl EmailSink {
    /// Shows the times in messages in `zone` (the district's, [`Config::zone`](crate::Config::zone))
    /// instead of the system's: "2026-09-01 03:00 CDT".
    pub fn with_zone(mut self, zone: Zone) -> Self {
        self.zone = zone;
        self
    }

    /// The recipients, lists expanded.
    pub fn recipients(&self) -> Vec<String> {
        self.recipients
            .iter()
            .map(|m| m.email.to_string())
            .collect()
    }

    /// The Message-ID the message for `n` gets.
    pub fn message_id(&self, n: &Notification) -> String {
        if let Some(b) = &n.broadcast {
            return if b.first {
                self.thread_root(n, &b.thread)
            } else {
                format!("<{}@{}>", n.id, self.domain)
            };
        }
        if n.kind == NotificationKind::Opened {
            opened_message_id(&n.installation, n.incident_id, &n.sink, &self.domain)
        } else {
            format!("<{}@{}>", n.id, self.domain)
        }
    }

    /// The Message-ID of the first message of a broadcast thread (an outage, a maintenance).
    fn thread_root(&self, n: &Notification, thread: &str) -> String {
        let slug: String = n
            .sink
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        format!("<{thread}.{slug}.{}@{}>", n.installation, self.domain)
    }

    /// The plain-text and HTML bodies of a broadcast: its wording as written, signed off.
    fn broadcast_bodies(b: &crate::sink::BroadcastBody) -> (String, String) {
        let text = crate::text::printable_lines(&b.text).into_owned();
        let html = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n\
             <body style=\"font-family: sans-serif; color: #1d1d1d; max-width: 40em;\">\n{}</body></html>\n",
            b.html
        );
        (text, html)
    }

    /// The acknowledgement link for `n`, when links are configured and it makes sense (the
    /// incident is still open and nobody has taken it).
    pub fn ack_url(&self, n: &Notification) -> Option<String> {
        let ack = self.ack.as_ref()?;
        let wants = matches!(
            n.kind,
            NotificationKind::Opened | NotificationKind::Reminder | NotificationKind::Updated
        ) && !n.labels.contains_key("acknowledged_by");
        if !wants || n.incident_id <= 0 {
            return None;
        }
        // Expiry from the notification's time: a retried delivery carries the same link.
        let expires =
            n.at + chrono::Duration::from_std(ack.valid_for).unwrap_or(chrono::Duration::days(7));
        Some(format!(
            "{}/{}",
            ack.base,
            ack.signer.sign(n.incident_id, expires)
        ))
    }

    fn content(&self, n: &Notification) -> Content {
        use crate::text::{printable, printable_lines};
        let subject = match &self.subject_prefix {
            Some(p) => format!("{} {}", p.trim(), printable(&n.subject)),
            None => printable(&n.subject).into_owned(),
        };
        let headline = n.kind.headline();
        let since = self.zone.minute(n.opened_at);
        let lasted = (n.at - n.opened_at).to_std().unwrap_or_default();
        let lasted = if lasted < Duration::from_secs(60) {
            "less than a minute".to_owned()
        } else {
            crate::probe::human_duration(lasted)
        };
        let mut what = printable(&n.check).into_owned();
        if let Some(g) = &n.group {
            what.push_str(&format!(" (group {})", printable(g)));
        }
        let mut rows = vec![("What", what), ("Status", n.status.as_str().to_uppercase())];
        if n.kind == NotificationKind::Resolved {
            rows.push(("Down since", since));
            rows.push(("Lasted", lasted));
        } else {
            rows.push(("Since", format!("{since} (for {lasted})")));
        }
        rows.push(("Incident", format!("#{}", n.incident_id)));
        for (key, title) in [("owner", "Owner"), ("location", "Location")] {
            if let Some(v) = n.labels.get(key) {
                rows.push((title, printable(v).into_owned()));
            }
        }
        if let Some(by) = n.labels.get("acknowledged_by") {
            rows.push(("Taken by", printable(by).into_owned()));
        }
        let labels = n
            .labels
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "owner" | "location" | "acknowledged_by"))
            .map(|(k, v)| (printable(k).into_owned(), printable(v).into_owned()))
            .collect();
        Content {
            subject,
            headline,
            rows,
            summary: printable_lines(&n.summary).into_owned(),
            labels,
            ack_url: self.ack_url(n),
            status_url: self.status_page_url.clone(),
        }
    }

    fn text_body(c: &Content) -> String {
        let mut s = format!("{}\n\n{}\n\n", c.headline, c.subject);
        for (k, v) in &c.rows {
            let _ = writeln!(s, "{:<11} {v}", format!("{k}:"));
        }
        let _ = write!(s, "\n{}\n", c.summary);
        if !c.labels.is_empty() {
            s.push('\n');
            for (k, v) in &c.labels {
                let _ = writeln!(s, "{k}: {v}");
            }
        }
        if let Some(u) = &c.ack_url {
            let _ = write!(s, "\nI am on it (acknowledge): {u}\n");
        }
        if let Some(u) = &c.status_url {
            let _ = write!(s, "\nStatus page: {u}\n");
        }
        s.push_str("\n-- \nSent by forewarn.\n");
        s
    }

    fn html_body(c: &Content) -> String {
        let e = html_escape;
        let mut s = String::from(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n\
             <body style=\"font-family: sans-serif; color: #1d1d1d;\">\n",
        );
        let _ = writeln!(s, "<p style=\"color: #555;\">{}</p>", e(c.headline));
        let _ = writeln!(s, "<h2 style=\"margin: 0 0 12px;\">{}</h2>", e(&c.subject));
        s.push_str("<table cellpadding=\"4\" style=\"border-collapse: collapse;\">\n");
        for (k, v) in &c.rows {
            let _ = writeln!(
                s,
                "<tr><th align=\"left\" style=\"color: #555;\">{}</th><td>{}</td></tr>",
                e(k),
                e(v)
            );
        }
        for (k, v) in &c.labels {
            let _ = writeln!(
                s,
                "<tr><th align=\"left\" style=\"color: #555;\">{}</th><td>{}</td></tr>",
                e(k),
                e(v)
            );
        }
        s.push_str("</table>\n");
        let _ = writeln!(
            s,
            "<pre style=\"white-space: pre-wrap;\">{}</pre>",
            e(&c.summary)
        );
        if let Some(u) = &c.ack_url {
            let _ = writeln!(
                s,
                "<p><a href=\"{}\" style=\"font-weight: bold;\">I am on it (acknowledge)</a></p>",
                e(u)
            );
        }
        if let Some(u) = &c.status_url {
            let _ = writeln!(s, "<p><a href=\"{}\">Status page</a></p>", e(u));
        }
        s.push_str(
            "<p style=\"color: #888; font-size: small;\">Sent by forewarn.</p>\n</body></html>\n",
        );
        s
    }

    fn message(&self, n: &Notification) -> Result<Message> {
        if let Some(b) = &n.broadcast {
            let subject = match &self.subject_prefix {
                Some(p) => format!("{} {}", p.trim(), crate::text::printable(&b.subject)),
                None => crate::text::printable(&b.subject).into_owned(),
            };
            let mut m = Message::builder()
                .from(self.from.clone())
                .subject(subject)
                .message_id(Some(self.message_id(n)))
                .date(std::time::SystemTime::from(n.at))
                .user_agent(concat!("forewarn/", env!("CARGO_PKG_VERSION")).to_owned());
            if let Some(r) = &self.reply_to {
                m = m.reply_to(r.clone());
            }
            for r in &self.recipients {
                m = m.to(r.clone());
            }
            if !b.first {
                let root = self.thread_root(n, &b.thread);
                m = m.in_reply_to(root.clone()).references(root);
            }
            let (text, html) = Self::broadcast_bodies(b);
            return m
                .multipart(MultiPart::alternative_plain_html(text, html))
                .map_err(|e| self.fail(format!("building the message: {e}"), false));
        }
        let c = self.content(n);
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(c.subject.clone())
            .message_id(Some(self.message_id(n)))
            .date(std::time::SystemTime::from(n.at))
            .user_agent(concat!("forewarn/", env!("CARGO_PKG_VERSION")).to_owned());
        if let Some(r) = &self.reply_to {
            b = b.reply_to(r.clone());
        }
        for m in &self.recipients {
            b = b.to(m.clone());
        }
        if n.kind != NotificationKind::Opened {
            let root = opened_message_id(&n.installation, n.incident_id, &n.sink, &self.domain);
            b = b.in_reply_to(root.clone()).references(root);
        }
        b.multipart(MultiPart::alternative_plain_html(
            Self::text_body(&c),
            Self::html_body(&c),
        ))
        .map_err(|e| self.fail(format!("building the message: {e}"), false))
    }

    /// The message for `n` as sent (RFC 5322 bytes): for previews and tests.
    pub fn render(&self, n: &Notification) -> Result<Vec<u8>> {
        Ok(self.message(n)?.formatted())
    }

    /// The pooled transport, made on first use inside the caller's runtime.
    fn transport(&self) -> Result<&AsyncSmtpTransport<Tokio1Executor>> {
        if self.pool.get().is_none() {
            let runtime = tokio::runtime::Handle::try_current()
                .map_err(|_| self.fail("must be used inside a Tokio runtime".into(), false))?;
            let _ = self.pool.set(PooledTransport {
                runtime,
                transport: Some(self.builder.clone().build()),
            });
        }
        Ok(self
            .pool
            .get()
            .and_then(|p| p.transport.as_ref())
            .expect("set above"))
    }

    /// The server did not finish within the time budget (retryable).
    fn no_answer(&self) -> Error {
        self.fail(
            format!(
                "SMTP {}: no answer within {} (timed out)",
                self.endpoint,
                crate::probe::human_duration(self.timeout)
            ),
            true,
        )
    }

    fn fail(&self, message: String, retryable: bool) -> Error {
        Error::Sink {
            sink: self.name.clone(),
            message: self.scrub(message),
            retryable,
        }
    }

    /// Removes the password from text, should a server or library ever echo it.
    fn scrub(&self, text: String) -> String {
        match self.password.as_ref().and_then(|p| p.expose().ok()) {
            Some(p) if !p.is_empty() && text.contains(&p) => text.replace(&p, "<redacted>"),
            _ => text,
        }
    }

    /// Maps an SMTP error: 4xx replies, connection, TLS and timeout errors and rejected
    /// logins (a configuration fix makes them go through) are retryable; other 5xx replies
    /// are permanent.
    fn smtp_error(&self, e: &lettre::transport::smtp::Error) -> Error {
        // lettre's message includes its sources; nested errors repeat their kind
        // ("Connection error: Connection error: …"), so drop consecutive repeats.
        let full = e.to_string();
        let mut parts: Vec<&str> = Vec::new();
        for p in full.split(": ") {
            if parts.last() != Some(&p) {
                parts.push(p);
            }
        }
        let text = parts.join(": ");
        let code = e.status().map(|c| c.to_string());
        let auth = matches!(code.as_deref(), Some("530" | "534" | "535" | "538"));
        let (retryable, hint) = if auth {
            (true, " (login refused: check username and password)")
        } else if e.is_permanent() {
            (false, "")
        } else if e.is_timeout() {
            (true, " (timed out)")
        } else {
            (true, "")
        };
        self.fail(format!("SMTP {}: {text}{hint}", self.endpoint), retryable)
    }
}

#[async_trait]
impl AlertSink for EmailSink {
    async fn send(&self, n: &Notification) -> Result<()> {
        let message = self.message(n)?;
        let send = self.transport()?.send(message);
        match tokio::time::timeout(self.timeout, send).await {
            Ok(r) => r.map(|_| ()).map_err(|e| self.smtp_error(&e)),
            Err(_) => Err(self.no_answer()),
        }
    }

    async fn healthcheck(&self) -> Result<()> {
        // Connect, EHLO, STARTTLS and AUTH as configured, then NOOP: nothing is sent.
        let test = self.transport()?.test_connection();
        match tokio::time::timeout(self.timeout, test).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(self.fail(format!("{} did not answer NOOP", self.endpoint), true)),
            Ok(Err(e)) => Err(self.smtp_error(&e)),
            Err(_) => Err(self.no_answer()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Incident;
    use crate::probe::Status;

    fn t0() -> chrono::DateTime<chrono::Utc> {
        "2026-09-01T08:00:00Z".parse().unwrap()
    }

    const INSTALLATION: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

    fn config() -> EmailSinkConfig {
        let mut c = EmailSinkConfig::new(
            "127.0.0.1",
            "forewarn <forewarn@district.example>",
            ["ict-oncall", "director@district.example"],
        );
        c.tls = EmailTls::None;
        c.lists.insert(
            "ict-oncall".into(),
            vec![
                "Ana <ana@district.example>".into(),
                "bo@district.example".into(),
                "director@district.example".into(),
            ],
        );
        c
    }

    fn note(kind: NotificationKind, key: &str) -> Notification {
        let mut i = Incident::open(
            "db-main",
            Some("servers"),
            "p",
            Status::Critical,
            "connection <refused> & gone",
            false,
            t0(),
        );
        i.id = 12;
        if kind == NotificationKind::Resolved {
            i.resolve("back", t0() + chrono::Duration::minutes(42));
        }
        let mut n = Notification::for_incident(
            &i,
            INSTALLATION,
            "mail",
            key,
            kind,
            t0() + chrono::Duration::minutes(42),
        );
        n.labels.insert("owner".into(), "ICT <servers>".into());
        n.labels
            .insert("location".into(), "Building A, room 12".into());
        n
    }

    #[test]
    fn recipients_expand_lists_without_duplicates() {
        let c = config();
        let r: Vec<String> = c
            .recipients()
            .unwrap()
            .iter()
            .map(|m| m.email.to_string())
            .collect();
        assert_eq!(
            r,
            [
                "ana@district.example",
                "bo@district.example",
                "director@district.example"
            ]
        );
        let mut bad = config();
        bad.to.push("ict-team".into());
        let e = bad.validate().unwrap_err().to_string();
        assert!(
            e.contains("`ict-team` is neither an address nor a list"),
            "{e}"
        );
        assert!(e.contains("ict-oncall"), "{e}");
    }

    #[test]
    fn ports_follow_the_tls_mode() {
        let mut c = config();
        assert_eq!(c.effective_port(), 25);
        c.tls = EmailTls::Implicit;
        assert_eq!(c.effective_port(), 465);
        c.tls = EmailTls::Starttls;
        assert_eq!(c.effective_port(), 587);
        c.port = Some(2525);
        assert_eq!(c.effective_port(), 2525);
    }

    #[test]
    fn plaintext_only_on_loopback() {
        let mut c = config();
        assert!(c.validate().is_ok());
        c.host = "localhost".into();
        assert!(c.validate().is_ok());
        c.host = "smtp.district.example".into();
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("only allowed for a relay on this machine"),
            "{e}"
        );
        c.allow_plaintext = true;
        assert!(c.validate().is_ok());
        let mut o = config();
        o.host = "smtp.district.example".into();
        o.tls = EmailTls::Opportunistic;
        o.username = Some("forewarn".into());
        o.password = Some(Secret::new("pw-123456"));
        let e = o.validate().unwrap_err().to_string();
        assert!(e.contains("unencrypted"), "{e}");
        assert!(!e.contains("pw-123456"));
    }

    #[test]
    fn config_checks() {
        let mut c = config();
        c.username = Some("u".into());
        assert!(c.validate().unwrap_err().to_string().contains("password"));
        let mut c = config();
        c.ack_url_base = Some("https://status.example/ack".into());
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("ack_secret"), "{e}");
        c.ack_secret = Some(Secret::new("short"));
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("at least 16 bytes"), "{e}");
        let mut c = config();
        c.from = "not an address".into();
        assert!(c.validate().unwrap_err().to_string().contains("from"));
        let mut c = config();
        c.ca_file = Some("/nonexistent/ca.pem".into());
        assert!(c.validate().unwrap_err().to_string().contains("ca_file"));
        let toml_err = toml::from_str::<EmailSinkConfig>(
            "host = \"x\"\nfrom = \"a@b\"\nto = [\"c@d\"]\npasword = \"x\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(toml_err.contains("pasword"), "{toml_err}");
        let parsed: EmailSinkConfig = toml::from_str(
            "host = \"smtp.x\"\ntls = \"implicit\"\nfrom = \"a@x\"\nto = [\"team\"]\n\
             lists = { team = [\"b@x\", \"c@x\"] }\ntimeout = \"5s\"\n",
        )
        .unwrap();
        assert_eq!(parsed.effective_port(), 465);
        assert_eq!(parsed.recipients().unwrap().len(), 2);
    }

    #[test]
    fn messages_carry_both_parts_escaped_and_threading_headers() {
        let mut c = config();
        c.subject_prefix = Some("[forewarn]".into());
        c.status_page_url = Some("https://status.example/?a=1&b=2".into());
        c.ack_url_base = Some("https://status.example/ack/".into());
        c.ack_secret = Some(Secret::new("0123456789abcdef0123"));
        let sink = c
            .build("mail")
            .unwrap()
            .with_zone(Zone::named("UTC").unwrap());
        let opened = note(NotificationKind::Opened, "opened");
        let raw = String::from_utf8(sink.render(&opened).unwrap()).unwrap();
        assert!(
            raw.contains(
                "Message-ID: <incident-12.mail.0f1e2d3c4b5a69788796a5b4c3d2e1f0@district.example>"
            ),
            "{raw}"
        );
        assert!(!raw.contains("In-Reply-To"), "{raw}");
        assert!(
            raw.contains("Subject: [forewarn] [CRITICAL] db-main"),
            "{raw}"
        );
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(raw.contains("text/plain"), "{raw}");
        assert!(raw.contains("text/html"), "{raw}");
        // The HTML part escapes what came from probes and config.
        let c = sink.content(&opened);
        let html = EmailSink::html_body(&c);
        assert!(
            html.contains("connection &lt;refused&gt; &amp; gone"),
            "{html}"
        );
        assert!(html.contains("ICT &lt;servers&gt;"), "{html}");
        assert!(
            html.contains("https://status.example/?a=1&amp;b=2"),
            "{html}"
        );
        assert!(!html.contains("<refused>"));
        let text = EmailSink::text_body(&c);
        assert!(text.contains("connection <refused> & gone"), "{text}");
        assert!(text.contains("Building A, room 12"), "{text}");
        assert!(text.contains("Incident:   #12"), "{text}");
        assert!(text.contains("2026-09-01 08:00 UTC (for 42 min)"), "{text}");
        // The ack link verifies with the same secret and names the incident.
        let url = sink.ack_url(&opened).unwrap();
        let token = url.strip_prefix("https://status.example/ack/").unwrap();
        let signer = AckSigner::new(b"0123456789abcdef0123").unwrap();
        assert_eq!(signer.verify(token, t0()).unwrap(), 12);
        assert!(text.contains(&url));

        let resolved = note(NotificationKind::Resolved, "resolved");
        let raw = String::from_utf8(sink.render(&resolved).unwrap()).unwrap();
        assert!(
            raw.contains(&format!("Message-ID: <{}@district.example>", resolved.id)),
            "{raw}"
        );
        assert!(
            raw.contains(
                "In-Reply-To: <incident-12.mail.0f1e2d3c4b5a69788796a5b4c3d2e1f0@district.example>"
            ),
            "{raw}"
        );
        assert!(
            raw.contains(
                "References: <incident-12.mail.0f1e2d3c4b5a69788796a5b4c3d2e1f0@district.example>"
            ),
            "{raw}"
        );
        assert!(
            sink.ack_url(&resolved).is_none(),
            "no ack link once resolved"
        );
        // Stable: the same notification renders the same ids.
        assert_eq!(
            sink.message_id(&resolved),
            sink.message_id(&resolved.clone())
        );
    }

    #[test]
    fn password_is_never_in_debug() {
        let mut c = config();
        c.username = Some("forewarn".into());
        c.password = Some(Secret::new("hunter2-very-secret"));
        let sink = c.build("mail").unwrap();
        let dbg = format!("{sink:?} {c:?}");
        assert!(!dbg.contains("hunter2-very-secret"), "{dbg}");
        assert!(dbg.contains("127.0.0.1:25"), "{dbg}");
        assert_eq!(
            sink.scrub("echo hunter2-very-secret".into()),
            "echo <redacted>"
        );
    }

    #[test]
    fn device_text_cannot_add_headers_or_escape_sequences() {
        let sink = config().build("mail").unwrap();
        let mut i = Incident::open(
            "db-main",
            None,
            "p",
            Status::Critical,
            "refused\r\nBcc: everyone@district.example\n\x1b[2Jsecond line",
            false,
            t0(),
        );
        i.id = 12;
        let n = Notification::for_incident(
            &i,
            INSTALLATION,
            "mail",
            "opened",
            NotificationKind::Opened,
            t0(),
        );
        let raw = String::from_utf8(sink.render(&n).unwrap()).unwrap();
        assert!(!raw.contains('\x1b'), "{raw}");
        let headers = raw.split("\r\n\r\n").next().unwrap();
        assert!(
            !headers.contains("\r\nBcc:"),
            "no header of its own: {headers}"
        );
        let text = EmailSink::text_body(&sink.content(&n));
        assert!(
            text.contains("refused\\r\nBcc: everyone@district.example\n\\u{1b}[2Jsecond line"),
            "line breaks kept, the rest escaped: {text}"
        );
    }

    #[test]
    fn ids_differ_between_installations() {
        let sink = config().build("mail").unwrap();
        for kind in [
            NotificationKind::Opened,
            NotificationKind::Acknowledged,
            NotificationKind::Resolved,
        ] {
            let here = note(kind, kind.as_str());
            let mut i = Incident::open("db-main", None, "p", Status::Critical, "x", false, t0());
            i.id = 12;
            let elsewhere =
                Notification::for_incident(&i, "9a9a", "mail", kind.as_str(), kind, t0());
            assert_ne!(here.id, elsewhere.id, "{kind}");
            assert_ne!(
                sink.message_id(&here),
                sink.message_id(&elsewhere),
                "{kind}"
            );
        }
    }

    #[test]
    fn opened_ids_are_safe_for_any_sink_name() {
        assert_eq!(
            opened_message_id("ab12", 3, "mail team/é", "x.org"),
            "<incident-3.mail-team--.ab12@x.org>"
        );
        // Rows queued before installations had ids keep the old form.
        assert_eq!(
            opened_message_id("", 3, "mail", "x.org"),
            "<incident-3.mail@x.org>"
        );
    }
}
