//! The `webhook` sink: a JSON POST, as forewarn's own notification or shaped for Slack or
//! Microsoft Teams incoming webhooks.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::Secret;
use crate::error::{Error, Result};
use crate::http_client::{ClientOptions, HttpClients};
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
}

/// Configuration of the `webhook` sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSinkConfig {
    /// Where to POST. Treated as a secret (Slack and Teams URLs embed tokens); `${VAR}` works.
    pub url: Secret,
    /// Body shape: "json" (default), "slack" or "teams".
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
        let parsed = reqwest::Url::parse(&url)
            .map_err(|e| Error::invalid("url", format!("not a URL ({e})")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::invalid("url", "must start with http:// or https://"));
        }
        for (k, v) in &self.headers {
            reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| Error::invalid("headers", format!("`{k}` is not a header name")))?;
            v.expose()
                .map_err(|e| Error::invalid(format!("headers.{k}"), e.to_string()))?;
        }
        Ok(())
    }

    /// Builds the sink named `name`.
    pub fn build(&self, name: &str, clients: &HttpClients) -> Result<WebhookSink> {
        self.validate()?;
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &self.headers {
            let mut value = reqwest::header::HeaderValue::from_str(&v.expose()?)
                .map_err(|_| Error::invalid(format!("headers.{k}"), "not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).expect("validated"),
                value,
            );
        }
        Ok(WebhookSink {
            name: name.to_owned(),
            url: self.url.expose()?,
            format: self.format,
            headers,
            timeout: self.timeout.unwrap_or(Duration::from_secs(10)),
            client: clients.get(ClientOptions::default())?,
        })
    }
}

/// POSTs notifications as JSON.
pub struct WebhookSink {
    name: String,
    url: String,
    format: WebhookFormat,
    headers: reqwest::header::HeaderMap,
    timeout: Duration,
    client: reqwest::Client,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("name", &self.name)
            .field("url", &"<redacted>")
            .field("format", &self.format)
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
/// outside are escaped there (summaries keep their line breaks); the plain JSON is data and
/// carries the values as they are.
pub fn webhook_body(format: WebhookFormat, n: &Notification) -> Value {
    use crate::text::{printable, printable_lines};
    // A broadcast is people's wording, sent as it is written.
    if let Some(b) = &n.broadcast
        && format != WebhookFormat::Json
    {
        let text = format!(
            "*{}*\n\n{}",
            printable(&b.subject),
            printable_lines(&b.text)
        );
        return match format {
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
            _ => json!({ "text": text }),
        };
    }
    match format {
        WebhookFormat::Json => serde_json::to_value(n).expect("notifications serialise"),
        WebhookFormat::Slack => json!({
            "text": printable(&n.subject),
            "attachments": [{
                "color": colour(n),
                "fallback": printable(&n.subject),
                "text": printable_lines(&n.summary),
                "fields": [
                    {"title": "Check", "value": printable(&n.check), "short": true},
                    {"title": "Status", "value": n.status.as_str(), "short": true},
                    {"title": "Incident", "value": format!("#{}", n.incident_id), "short": true},
                    {"title": "Since", "value": n.opened_at.format("%Y-%m-%d %H:%M UTC").to_string(), "short": true},
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
                            {"title": "Since", "value": n.opened_at.format("%Y-%m-%d %H:%M UTC").to_string()},
                        ]},
                    ],
                },
            }],
        }),
    }
}

impl WebhookSink {
    fn fail(&self, message: String, retryable: bool) -> Error {
        Error::Sink {
            sink: self.name.clone(),
            message,
            retryable,
        }
    }

    /// A request that got no answer, with its cause. reqwest's errors carry the URL, which
    /// may hold a token: it is left out.
    fn request_failed(&self, e: reqwest::Error) -> Error {
        if e.is_timeout() {
            return self.fail(
                format!(
                    "no answer within {} (timed out)",
                    crate::probe::human_duration(self.timeout)
                ),
                true,
            );
        }
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.ends_with(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        self.fail(message, true)
    }
}

#[async_trait]
impl AlertSink for WebhookSink {
    async fn send(&self, n: &Notification) -> Result<()> {
        let body = webhook_body(self.format, n);
        let resp = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
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

    fn note(kind: NotificationKind) -> Notification {
        let at = chrono::Utc::now();
        let i = Incident::open("db-main", None, "p", Status::Critical, "refused", false, at);
        Notification::for_incident(&i, "f00d", "hook", "opened", kind, at)
    }

    #[test]
    fn slack_and_teams_shapes() {
        let n = note(NotificationKind::Opened);
        let s = webhook_body(WebhookFormat::Slack, &n);
        assert!(s["text"].as_str().unwrap().contains("db-main"));
        assert_eq!(s["attachments"][0]["color"], "#e01e5a");
        let t = webhook_body(WebhookFormat::Teams, &n);
        assert_eq!(t["attachments"][0]["content"]["type"], "AdaptiveCard");
        let j = webhook_body(WebhookFormat::Json, &n);
        assert_eq!(j["check"], "db-main");
        let r = webhook_body(WebhookFormat::Slack, &note(NotificationKind::Resolved));
        assert_eq!(r["attachments"][0]["color"], "#2eb67d");
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
        let slack = webhook_body(WebhookFormat::Slack, &n).to_string();
        let teams = webhook_body(WebhookFormat::Teams, &n).to_string();
        for body in [&slack, &teams] {
            assert!(
                !body.contains("\\u001b") && !body.contains("\\u0007"),
                "{body}"
            );
            assert!(body.contains(r"a\\r\nb\\u{7}"), "{body}");
        }
        // The plain JSON is data: kept as it is.
        let json = webhook_body(WebhookFormat::Json, &n);
        assert_eq!(json["summary"], "a\r\nb\x07");
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
