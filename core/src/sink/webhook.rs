//! The `webhook` sink: a JSON POST, as forewarn's own notification or shaped for Slack,
//! Microsoft Teams or Google Chat incoming webhooks.
//!
//! Google Chat messages of one incident form one thread in the space: each carries the thread
//! key [`google_chat_thread_key`] (installation and incident id), and the sink adds
//! `messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD` to the webhook URL (keeping its
//! `key` and `token`), so "resolved" lands under "opened".

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::Zone;
use crate::config::Secret;
use crate::error::{Error, Result};
use crate::http_client::header::{HeaderMap, HeaderName, HeaderValue};
use crate::http_client::{ClientOptions, HttpClient, HttpClients, HttpError};
use crate::sink::{AlertSink, Notification, NotificationKind};

/// The body shape.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// The notification as JSON.
    #[default]
    Json,
    /// A Slack incoming-webhook message (`text` plus a colour attachment).
    Slack,
    /// A Microsoft Teams workflow message carrying an Adaptive Card.
    Teams,
    /// A Google Chat incoming-webhook message: `text` plus a card (`cardsV2`), one thread per
    /// incident. Config value "google_chat".
    #[serde(rename = "google_chat")]
    GoogleChat,
}

/// The query parameter the sink adds to a Google Chat webhook URL so that a message naming a
/// thread key replies in that thread (or starts it).
pub const GOOGLE_CHAT_REPLY_OPTION: (&str, &str) =
    ("messageReplyOption", "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD");

/// Configuration of the `webhook` sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSinkConfig {
    /// Where to POST. Treated as a secret (Slack and Teams URLs embed tokens); `${VAR}` works.
    pub url: Secret,
    /// Body shape: "json" (default), "slack", "teams" or "google_chat".
    #[serde(default)]
    pub format: WebhookFormat,
    /// Extra headers; values are secrets (`Authorization = "Bearer ${TOKEN}"`).
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Per-request timeout (default 10 s).
    #[serde(default, with = "crate::config::opt_duration")]
    pub timeout: Option<Duration>,
}

impl WebhookSinkConfig {
    /// Checks the values (the URL must be http or https once expanded).
    pub fn validate(&self) -> Result<()> {
        let url = self
            .url
            .expose()
            .map_err(|e| Error::invalid("url", e.to_string()))?;
        let parsed =
            url::Url::parse(&url).map_err(|e| Error::invalid("url", format!("not a URL ({e})")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::invalid("url", "must start with http:// or https://"));
        }
        for (k, v) in &self.headers {
            HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| Error::invalid("headers", format!("`{k}` is not a header name")))?;
            v.expose()
                .map_err(|e| Error::invalid(format!("headers.{k}"), e.to_string()))?;
        }
        Ok(())
    }

    /// Builds the sink named `name`.
    pub fn build(&self, name: &str, clients: &HttpClients) -> Result<WebhookSink> {
        self.validate()?;
        let mut headers = HeaderMap::new();
        for (k, v) in &self.headers {
            let mut value = HeaderValue::from_str(&v.expose()?)
                .map_err(|_| Error::invalid(format!("headers.{k}"), "not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(
                HeaderName::from_bytes(k.as_bytes()).expect("validated"),
                value,
            );
        }
        let mut url = self.url.expose()?;
        if self.format == WebhookFormat::GoogleChat {
            url = with_reply_option(&url)?;
        }
        Ok(WebhookSink {
            name: name.to_owned(),
            url,
            format: self.format,
            headers,
            timeout: self.timeout.unwrap_or(Duration::from_secs(10)),
            client: clients.get(ClientOptions::default()),
            zone: Zone::system(),
        })
    }
}

/// `url` with [`GOOGLE_CHAT_REPLY_OPTION`] added to its query, unless it already names a
/// `messageReplyOption` (the district's own choice stands). The rest of the query (`key`,
/// `token`) is kept as it is.
fn with_reply_option(url: &str) -> Result<String> {
    let mut parsed =
        url::Url::parse(url).map_err(|e| Error::invalid("url", format!("not a URL ({e})")))?;
    let (name, value) = GOOGLE_CHAT_REPLY_OPTION;
    if !parsed.query_pairs().any(|(k, _)| k == name) {
        parsed.query_pairs_mut().append_pair(name, value);
    }
    Ok(parsed.into())
}

/// The Google Chat thread key of incident `incident_id` of `installation`: every message about
/// the incident names it, so they form one thread. Two installations (sites, or one site after
/// a database reset) never share one.
pub fn google_chat_thread_key(installation: &str, incident_id: i64) -> String {
    let installation: String = installation
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if installation.is_empty() {
        format!("forewarn-incident-{incident_id}")
    } else {
        format!("forewarn-{installation}-incident-{incident_id}")
    }
}

/// POSTs notifications as JSON.
pub struct WebhookSink {
    name: String,
    url: String,
    format: WebhookFormat,
    headers: HeaderMap,
    timeout: Duration,
    client: HttpClient,
    /// Times shown to people (the chat formats' "Since") are in this zone.
    zone: Zone,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("name", &self.name)
            .field("url", &"<redacted>")
            .field("format", &self.format)
            .field("zone", &self.zone.tz().name())
            .finish_non_exhaustive()
    }
}

fn colour(n: &Notification) -> &'static str {
    match (n.kind, n.status) {
        (NotificationKind::Resolved, _) => "#2eb67d",
        (_, crate::Status::Warning) => "#ecb22e",
        (NotificationKind::Acknowledged, _) => "#1d9bd1",
        _ => "#e01e5a",
    }
}

/// The body sent for `n` in `format`. The chat formats show people text: control characters from
/// outside are escaped there (summaries keep their line breaks) and times are in `zone`; the
/// plain JSON is data and carries the values as they are, times in UTC (RFC 3339).
pub fn webhook_body(format: WebhookFormat, n: &Notification, zone: Zone) -> Value {
    use crate::text::{printable, printable_lines};
    // A broadcast is people's wording, sent as it is written.
    if let Some(b) = &n.broadcast
        && format != WebhookFormat::Json
    {
        return match format {
            WebhookFormat::Slack => json!({
                "text": format!(
                    "*{}*\n\n{}",
                    slack_escape(&printable(&b.subject)),
                    slack_escape(&printable_lines(&b.text))
                ),
            }),
            WebhookFormat::GoogleChat => {
                let lines: Vec<String> = b.text.lines().map(chat_text).collect();
                let installation: String = n
                    .installation
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect();
                json!({
                    "text": format!("*{}*\n\n{}", chat_text(&b.subject), lines.join("\n")),
                    // One thread per outage or maintenance, beside the incidents' threads.
                    "thread": {"threadKey": format!("forewarn-{installation}-{}", b.thread)},
                })
            }
            WebhookFormat::Teams => json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true, "text": printable(&b.subject)},
                            {"type": "TextBlock", "wrap": true, "text": printable_lines(&b.text)},
                        ],
                    },
                }],
            }),
            WebhookFormat::Json => unreachable!("sent as data above"),
        };
    }
    match format {
        WebhookFormat::Json => serde_json::to_value(n).expect("notifications serialise"),
        WebhookFormat::Slack => json!({
            "text": slack_escape(&printable(&n.subject)),
            "attachments": [{
                "color": colour(n),
                "fallback": slack_escape(&printable(&n.subject)),
                "text": slack_escape(&printable_lines(&n.summary)),
                "fields": [
                    {"title": "Check", "value": slack_escape(&printable(&n.check)), "short": true},
                    {"title": "Status", "value": n.status.as_str(), "short": true},
                    {"title": "Incident", "value": format!("#{}", n.incident_id), "short": true},
                    {"title": "Since", "value": zone.minute(n.opened_at), "short": true},
                ],
            }],
        }),
        WebhookFormat::Teams => json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true, "text": printable(&n.subject)},
                        {"type": "TextBlock", "wrap": true, "text": printable_lines(&n.summary)},
                        {"type": "FactSet", "facts": [
                            {"title": "Check", "value": printable(&n.check)},
                            {"title": "Status", "value": n.status.as_str()},
                            {"title": "Incident", "value": format!("#{}", n.incident_id)},
                            {"title": "Since", "value": zone.minute(n.opened_at)},
                        ]},
                    ],
                },
            }],
        }),
        WebhookFormat::GoogleChat => google_chat_body(n, zone),
    }
}

/// Text for a Slack message: `&`, `<` and `>` as the entities Slack asks for, so that text from
/// a device cannot mention everyone (`<!channel>`) or make a link (`<https://…|label>`).
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text for a Google Chat message's `text` and a card header (plain text): one line, control
/// characters escaped, and `<` `>` replaced by look-alikes, since Chat reads `<users/all>` as a
/// mention of everyone and `<url|label>` as a link and has no way to escape them.
fn chat_text(s: &str) -> String {
    crate::text::printable(s)
        .chars()
        .map(|c| match c {
            '<' => '‹',
            '>' => '›',
            c => c,
        })
        .collect()
}

/// Text for a Google Chat card widget, which reads a subset of HTML: escaped, line breaks as
/// `<br>`.
fn card_text(s: &str) -> String {
    crate::sink::email::html_escape(&crate::text::printable_lines(s)).replace('\n', "<br>")
}

/// The Google Chat message for `n`: a `text` line (what notifications and old clients show), a
/// card with the status in its header and the check, status, incident, since and the check's
/// owner and location as fields, and the incident's thread key.
fn google_chat_body(n: &Notification, zone: Zone) -> Value {
    let mut fields = vec![
        ("Check", card_text(&n.check)),
        (
            "Status",
            format!(
                "<font color=\"{}\"><b>{}</b></font>",
                colour(n),
                n.status.as_str().to_uppercase()
            ),
        ),
        ("Incident", format!("#{}", n.incident_id)),
        ("Since", card_text(&zone.minute(n.opened_at))),
    ];
    if let Some(g) = &n.group {
        fields.push(("Group", card_text(g)));
    }
    for (key, title) in [
        ("owner", "Owner"),
        ("location", "Location"),
        ("acknowledged_by", "Taken by"),
        ("digest_of", "Incidents"),
    ] {
        if let Some(v) = n.labels.get(key) {
            fields.push((title, card_text(v)));
        }
    }
    let widgets: Vec<Value> = fields
        .into_iter()
        .map(|(label, text)| json!({"decoratedText": {"topLabel": label, "text": text}}))
        .collect();
    json!({
        "text": chat_text(&n.subject),
        "cardsV2": [{
            "cardId": format!("incident-{}", n.incident_id),
            "card": {
                "header": {
                    "title": chat_text(&n.subject),
                    "subtitle": format!("{} · {}", n.status.as_str().to_uppercase(), n.kind.headline()),
                },
                "sections": [
                    {"widgets": [{"textParagraph": {"text": card_text(&n.summary)}}]},
                    {"widgets": widgets},
                ],
            },
        }],
        "thread": {"threadKey": google_chat_thread_key(&n.installation, n.incident_id)},
    })
}

impl WebhookSink {
    /// Shows the times in chat messages in `zone` (the district's,
    /// [`Config::zone`](crate::Config::zone)) instead of the system's. The plain JSON body keeps
    /// UTC.
    pub fn with_zone(mut self, zone: Zone) -> Self {
        self.zone = zone;
        self
    }

    fn fail(&self, message: String, retryable: bool) -> Error {
        Error::Sink {
            sink: self.name.clone(),
            message,
            retryable,
        }
    }

    /// A request that got no answer, with its cause. The client's errors name the host and
    /// port at most, never the URL's path or query, which may hold a token.
    fn request_failed(&self, e: HttpError) -> Error {
        self.fail(e.to_string(), true)
    }
}

#[async_trait]
impl AlertSink for WebhookSink {
    async fn send(&self, n: &Notification) -> Result<()> {
        let body = webhook_body(self.format, n, self.zone);
        let resp = self
            .client
            .post(&self.url)
            .headers(&self.headers)
            .header("X-Forewarn-Notification", &n.id)
            .timeout(self.timeout)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.request_failed(e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retryable =
            status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408;
        Err(self.fail(format!("the server answered {status}"), retryable))
    }

    async fn healthcheck(&self) -> Result<()> {
        // A HEAD tells whether the endpoint is reachable without posting anything.
        self.client
            .head(&self.url)
            .timeout(self.timeout)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.request_failed(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Incident;
    use crate::probe::Status;

    fn utc() -> Zone {
        Zone::named("UTC").unwrap()
    }

    fn note(kind: NotificationKind) -> Notification {
        let at = chrono::Utc::now();
        let i = Incident::open("db-main", None, "p", Status::Critical, "refused", false, at);
        Notification::for_incident(&i, "f00d", "hook", "opened", kind, at)
    }

    #[test]
    fn slack_and_teams_shapes() {
        let n = note(NotificationKind::Opened);
        let s = webhook_body(WebhookFormat::Slack, &n, utc());
        assert!(s["text"].as_str().unwrap().contains("db-main"));
        assert_eq!(s["attachments"][0]["color"], "#e01e5a");
        let t = webhook_body(WebhookFormat::Teams, &n, utc());
        assert_eq!(t["attachments"][0]["content"]["type"], "AdaptiveCard");
        let j = webhook_body(WebhookFormat::Json, &n, utc());
        assert_eq!(j["check"], "db-main");
        let r = webhook_body(
            WebhookFormat::Slack,
            &note(NotificationKind::Resolved),
            utc(),
        );
        assert_eq!(r["attachments"][0]["color"], "#2eb67d");
    }

    #[test]
    fn broadcasts_are_sent_as_written_and_threaded_per_outage() {
        let at = chrono::Utc::now();
        let body = |thread: &str| crate::sink::BroadcastBody {
            audience: "teachers".into(),
            thread: thread.into(),
            first: true,
            subject: "Wi-Fi <!channel> is down".into(),
            text: "We know.\nMeanwhile: use the wired rooms.".into(),
            html: "<p>We know.</p>".into(),
        };
        let n = |thread: &str| {
            Notification::broadcast(
                "f00d",
                "hook",
                &format!("{thread}/teachers/we_know"),
                NotificationKind::Opened,
                Status::Critical,
                body(thread),
                "Wi-Fi",
                at,
                at,
            )
        };
        let slack = webhook_body(WebhookFormat::Slack, &n("outage-3"), utc());
        let text = slack["text"].as_str().unwrap();
        assert!(text.contains("Meanwhile: use the wired rooms."), "{text}");
        assert!(text.contains("&lt;!channel&gt;"), "{text}");
        assert!(slack.get("attachments").is_none(), "no technician's fields");
        let chat = webhook_body(WebhookFormat::GoogleChat, &n("outage-3"), utc());
        assert_eq!(chat["thread"]["threadKey"], "forewarn-f00d-outage-3");
        assert_ne!(
            webhook_body(WebhookFormat::GoogleChat, &n("outage-4"), utc())["thread"]["threadKey"],
            chat["thread"]["threadKey"]
        );
        assert!(!chat["text"].as_str().unwrap().contains('<'));
        let teams = webhook_body(WebhookFormat::Teams, &n("outage-3"), utc());
        assert_eq!(
            teams["attachments"][0]["content"]["body"][1]["text"],
            "We know.\nMeanwhile: use the wired rooms."
        );
        // The plain JSON carries the whole notification, wording included.
        let json = webhook_body(WebhookFormat::Json, &n("outage-3"), utc());
        assert_eq!(json["broadcast"]["audience"], "teachers");
    }

    #[test]
    fn chat_bodies_escape_device_text() {
        let at = chrono::Utc::now();
        let i = Incident::open(
            "db\x1b[2J",
            None,
            "p",
            Status::Critical,
            "a\r\nb\x07",
            false,
            at,
        );
        let n =
            Notification::for_incident(&i, "f00d", "hook", "opened", NotificationKind::Opened, at);
        let slack = webhook_body(WebhookFormat::Slack, &n, utc()).to_string();
        let teams = webhook_body(WebhookFormat::Teams, &n, utc()).to_string();
        for body in [&slack, &teams] {
            assert!(
                !body.contains("\\u001b") && !body.contains("\\u0007"),
                "{body}"
            );
            assert!(body.contains(r"a\\r\nb\\u{7}"), "{body}");
        }
        // The plain JSON is data: kept as it is.
        let json = webhook_body(WebhookFormat::Json, &n, utc());
        assert_eq!(json["summary"], "a\r\nb\x07");
    }

    fn chicago() -> Zone {
        Zone::named("America/Chicago").unwrap()
    }

    #[test]
    fn google_chat_card_thread_and_local_time() {
        let at: chrono::DateTime<chrono::Utc> = "2026-07-15T15:00:00Z".parse().unwrap();
        let mut i = Incident::open(
            "db-main",
            Some("servers"),
            "p",
            Status::Critical,
            "refused",
            false,
            at,
        );
        i.id = 12;
        let mut n =
            Notification::for_incident(&i, "5eed", "chat", "opened", NotificationKind::Opened, at);
        n.labels.insert("owner".into(), "ICT".into());
        let b = webhook_body(WebhookFormat::GoogleChat, &n, chicago());
        assert!(
            b["text"].as_str().unwrap().contains("[CRITICAL] db-main"),
            "{b}"
        );
        let card = &b["cardsV2"][0]["card"];
        assert!(
            card["header"]["title"]
                .as_str()
                .unwrap()
                .contains("db-main"),
            "{b}"
        );
        assert_eq!(
            card["header"]["subtitle"],
            "CRITICAL · Something is failing"
        );
        assert_eq!(
            card["sections"][0]["widgets"][0]["textParagraph"]["text"],
            "refused"
        );
        let fields: Vec<(String, String)> = card["sections"][1]["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                let d = &w["decoratedText"];
                (
                    d["topLabel"].as_str().unwrap().to_owned(),
                    d["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(field("Check"), Some("db-main"));
        assert!(field("Status").unwrap().contains("CRITICAL"), "{fields:?}");
        assert_eq!(field("Incident"), Some("#12"));
        assert_eq!(field("Since"), Some("2026-07-15 10:00 CDT"));
        assert_eq!(field("Group"), Some("servers"));
        assert_eq!(field("Owner"), Some("ICT"));
        assert_eq!(b["thread"]["threadKey"], "forewarn-5eed-incident-12");
        // No ack link in a webhook sink, so no button.
        assert!(!b.to_string().contains("button"), "{b}");
        // January is standard time.
        i.opened_at = "2026-01-15T15:00:00Z".parse().unwrap();
        let n =
            Notification::for_incident(&i, "5eed", "chat", "opened", NotificationKind::Opened, at);
        let b = webhook_body(WebhookFormat::GoogleChat, &n, chicago());
        assert!(b.to_string().contains("2026-01-15 09:00 CST"), "{b}");
        // Slack and Teams show the same local time; the plain JSON keeps UTC.
        for format in [WebhookFormat::Slack, WebhookFormat::Teams] {
            let body = webhook_body(format, &n, chicago()).to_string();
            assert!(
                body.contains("2026-01-15 09:00 CST") && !body.contains("UTC"),
                "{body}"
            );
        }
        let json = webhook_body(WebhookFormat::Json, &n, chicago());
        assert_eq!(json["opened_at"], "2026-01-15T15:00:00Z");
    }

    #[test]
    fn google_chat_threads_by_installation_and_incident() {
        let at = chrono::Utc::now();
        let key = |installation: &str, id: i64, kind: NotificationKind| {
            let mut i = Incident::open("x", None, "p", Status::Critical, "down", false, at);
            i.id = id;
            let n = Notification::for_incident(&i, installation, "chat", kind.as_str(), kind, at);
            webhook_body(WebhookFormat::GoogleChat, &n, utc())["thread"]["threadKey"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let opened = key("5eed", 3, NotificationKind::Opened);
        assert_eq!(opened, key("5eed", 3, NotificationKind::Updated));
        assert_eq!(opened, key("5eed", 3, NotificationKind::Resolved));
        assert_ne!(opened, key("5eed", 4, NotificationKind::Opened));
        assert_ne!(opened, key("9a9a", 3, NotificationKind::Opened));
        assert_eq!(google_chat_thread_key("", 3), "forewarn-incident-3");
        assert_eq!(
            google_chat_thread_key("a-b/c", 3),
            "forewarn-abc-incident-3"
        );
    }

    #[test]
    fn slack_text_cannot_mention_or_link() {
        let at = chrono::Utc::now();
        let i = Incident::open(
            "printer <!channel>",
            None,
            "p",
            Status::Critical,
            "<!here> jam & <https://evil.example|click>",
            false,
            at,
        );
        let n =
            Notification::for_incident(&i, "f00d", "hook", "opened", NotificationKind::Opened, at);
        let b = webhook_body(WebhookFormat::Slack, &n, utc());
        let s = b.to_string();
        for bad in ["<!channel>", "<!here>", "<https://"] {
            assert!(!s.contains(bad), "{bad}: {s}");
        }
        assert_eq!(
            b["attachments"][0]["text"],
            "&lt;!here&gt; jam &amp; &lt;https://evil.example|click&gt;"
        );
        assert!(
            b["text"]
                .as_str()
                .unwrap()
                .contains("printer &lt;!channel&gt;"),
            "{b}"
        );
        assert_eq!(
            b["attachments"][0]["fields"][0]["value"],
            "printer &lt;!channel&gt;"
        );
    }

    #[test]
    fn google_chat_text_cannot_mention_or_inject_markup() {
        let at = chrono::Utc::now();
        let i = Incident::open(
            "printer <users/all>",
            None,
            "p",
            Status::Critical,
            "<a href=\"https://evil.example\">jam</a> & <users/all>\nTray 2\x1b[2J",
            false,
            at,
        );
        let n =
            Notification::for_incident(&i, "f00d", "chat", "opened", NotificationKind::Opened, at);
        let b = webhook_body(WebhookFormat::GoogleChat, &n, utc());
        let text = b["text"].as_str().unwrap();
        assert!(!text.contains('<') && !text.contains('>'), "{text}");
        assert!(text.contains("‹users/all›"), "{text}");
        let card = b["cardsV2"][0]["card"].to_string();
        assert!(
            !card.contains("<users/all>") && !card.contains("<a href"),
            "{card}"
        );
        let summary = b["cardsV2"][0]["card"]["sections"][0]["widgets"][0]["textParagraph"]["text"]
            .as_str()
            .unwrap();
        assert!(summary.starts_with("&lt;a href=&quot;https://evil.example&quot;&gt;jam&lt;/a&gt; &amp; &lt;users/all&gt;<br>Tray 2"), "{summary}");
        assert!(!summary.contains('\x1b'), "{summary}");
    }

    #[test]
    fn google_chat_url_gets_the_reply_option_and_keeps_its_secrets() {
        let url = |u: &str| {
            WebhookSinkConfig {
                url: Secret::new(u),
                format: WebhookFormat::GoogleChat,
                headers: BTreeMap::new(),
                timeout: None,
            }
            .build("chat", &HttpClients::new())
            .unwrap()
        };
        let sink = url(
            "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=KEYSECRET&token=TOKSECRET",
        );
        assert_eq!(
            sink.url,
            "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=KEYSECRET&token=TOKSECRET\
             &messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
        );
        assert!(!format!("{sink:?}").contains("SECRET"));
        // The district's own choice stands.
        let own = "https://chat.googleapis.com/v1/spaces/A/messages?key=K&messageReplyOption=REPLY_MESSAGE_OR_FAIL";
        assert_eq!(url(own).url, own);
        // Other formats' URLs are posted to as given.
        let slack = WebhookSinkConfig {
            url: Secret::new("https://hooks.example/T0/X?a=1"),
            format: WebhookFormat::Slack,
            headers: BTreeMap::new(),
            timeout: None,
        }
        .build("s", &HttpClients::new())
        .unwrap();
        assert_eq!(slack.url, "https://hooks.example/T0/X?a=1");
        let parsed: WebhookSinkConfig =
            toml::from_str("url = \"https://chat.example/\"\nformat = \"google_chat\"\n").unwrap();
        assert_eq!(parsed.format, WebhookFormat::GoogleChat);
    }

    #[test]
    fn url_is_redacted_and_validated() {
        let c = WebhookSinkConfig {
            url: Secret::new("https://hooks.example/T000/SECRETTOKEN"),
            format: WebhookFormat::Slack,
            headers: BTreeMap::new(),
            timeout: None,
        };
        let sink = c.build("hook", &HttpClients::new()).unwrap();
        assert!(!format!("{sink:?} {c:?}").contains("SECRETTOKEN"));
        let bad = WebhookSinkConfig {
            url: Secret::new("ftp://x"),
            ..c
        };
        assert!(bad.validate().is_err());
    }
}
