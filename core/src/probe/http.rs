//! The `http` probe: one HTTP(S) request, checked for status, body, latency and certificate expiry.
//!
//! ```toml
//! [[checks]]
//! name = "student portal"
//! type = "http"
//! url = "https://portal.school.example/login"
//! expect_status = ["2xx", 301]
//! body_contains = "Welcome"
//! latency = { warning = "500ms", critical = "3s" }
//! cert_expiry = { warning_days = 21, critical_days = 7 }
//! bearer_token = "${PORTAL_TOKEN}"
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::Duration;

use async_trait::async_trait;
use std::sync::Arc;

use base64::Engine as _;
use http::Method;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use tokio::time::Instant;
use url::Url;

use crate::config::{Secret, expand_env};
use crate::error::{Error, Result};
use crate::http_client::{HttpClients, h1};
use crate::probe::reading::{HttpReading, Reading};
use crate::probe::{
    CheckContext, LatencyThresholds, Metric, Observation, Probe, Status, human_duration,
};

/// At most this much of a body is read for body checks.
const MAX_BODY: usize = 1024 * 1024;

/// The request method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// `GET` (the default).
    #[default]
    #[serde(alias = "get")]
    Get,
    /// `HEAD`: status and headers only.
    #[serde(alias = "head")]
    Head,
    /// `POST`, with `body`.
    #[serde(alias = "post")]
    Post,
}

impl HttpMethod {
    fn as_method(self) -> Method {
        match self {
            HttpMethod::Get => Method::GET,
            HttpMethod::Head => Method::HEAD,
            HttpMethod::Post => Method::POST,
        }
    }
}

/// One entry of `expect_status`: a code (`200`, `"301"`), a class (`"2xx"`) or a range
/// (`"200-299"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    /// One status code.
    Code(u16),
    /// A code, class or range written as text.
    Text(String),
}

impl StatusSpec {
    /// The inclusive range of codes this entry accepts.
    fn range(&self) -> Result<(u16, u16)> {
        let bad = |why: String| Error::invalid("expect_status", why);
        let check = |code: u16| {
            if (100..=599).contains(&code) {
                Ok(code)
            } else {
                Err(bad(format!("{code} is not an HTTP status code (100–599)")))
            }
        };
        match self {
            StatusSpec::Code(c) => check(*c).map(|c| (c, c)),
            StatusSpec::Text(t) => {
                let t = t.trim();
                let lower = t.to_ascii_lowercase();
                if let Some(class) = lower.strip_suffix("xx")
                    && class.len() == 1
                    && let Some(d) = class.chars().next().and_then(|c| c.to_digit(10))
                    && (1..=5).contains(&d)
                {
                    let base = d as u16 * 100;
                    return Ok((base, base + 99));
                }
                let num = |s: &str| {
                    s.trim()
                        .parse::<u16>()
                        .map_err(|_| {
                            bad(format!(
                                "`{t}` is not a status code, class (\"2xx\") or range (\"200-299\")"
                            ))
                        })
                        .and_then(check)
                };
                match t.split_once('-') {
                    Some((a, b)) => {
                        let (a, b) = (num(a)?, num(b)?);
                        if a > b {
                            return Err(bad(format!("`{t}`: the range is reversed")));
                        }
                        Ok((a, b))
                    }
                    None => num(t).map(|c| (c, c)),
                }
            }
        }
    }
}

/// Certificate expiry thresholds, in days left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertExpiry {
    /// Warn when the certificate expires in fewer days than this (default 21).
    #[serde(default = "default_warning_days")]
    pub warning_days: u32,
    /// Critical when it expires in fewer days than this (default 7); an expired certificate is
    /// always critical.
    #[serde(default = "default_critical_days")]
    pub critical_days: u32,
}

const DEFAULT_WARNING_DAYS: u32 = 21;
const DEFAULT_CRITICAL_DAYS: u32 = 7;

fn default_warning_days() -> u32 {
    DEFAULT_WARNING_DAYS
}

fn default_critical_days() -> u32 {
    DEFAULT_CRITICAL_DAYS
}

impl Default for CertExpiry {
    fn default() -> Self {
        Self {
            warning_days: default_warning_days(),
            critical_days: default_critical_days(),
        }
    }
}

/// HTTP basic authentication.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name; `${VAR}` is expanded.
    pub username: String,
    /// The password; `${VAR}` is expanded when the probe is built.
    pub password: Secret,
}

/// Configuration of the `http` probe.
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// The URL, `http://` or `https://`; `${VAR}` is expanded when the probe is built.
    pub url: String,
    /// The method: `GET` (default), `HEAD` or `POST`.
    #[serde(default)]
    pub method: HttpMethod,
    /// The request body (`POST` only).
    #[serde(default)]
    pub body: Option<String>,
    /// Extra request headers; values are secrets and may use `${VAR}`.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Accepted status codes: codes, classes like `"2xx"` or ranges like `"200-299"`.
    /// Default: any 2xx or 3xx.
    #[serde(default)]
    pub expect_status: Vec<StatusSpec>,
    /// A text the body must contain.
    #[serde(default)]
    pub body_contains: Option<String>,
    /// A regular expression the body must match.
    #[serde(default)]
    pub body_regex: Option<String>,
    /// A text the body must not contain.
    #[serde(default)]
    pub body_not_contains: Option<String>,
    /// Thresholds on the time the whole request takes, body included.
    #[serde(default)]
    pub latency: LatencyThresholds,
    /// Follow at most this many redirects (default 0: a redirect is the answer).
    #[serde(default)]
    pub follow_redirects: u8,
    /// Accept invalid certificates (self-signed lab gear); expiry is still reported.
    #[serde(default)]
    pub insecure: bool,
    /// Certificate expiry thresholds for `https` URLs.
    #[serde(default)]
    pub cert_expiry: CertExpiry,
    /// HTTP basic authentication.
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// A bearer token sent as `Authorization: Bearer …`; `${VAR}` is expanded.
    #[serde(default)]
    pub bearer_token: Option<Secret>,
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("url", &redact_url(&self.url))
            .field("method", &self.method)
            .field("body", &self.body.as_ref().map(|b| b.len()))
            .field("headers", &self.headers)
            .field("expect_status", &self.expect_status)
            .field("body_contains", &self.body_contains)
            .field("body_regex", &self.body_regex)
            .field("body_not_contains", &self.body_not_contains)
            .field("latency", &self.latency)
            .field("follow_redirects", &self.follow_redirects)
            .field("insecure", &self.insecure)
            .field("cert_expiry", &self.cert_expiry)
            .field("basic_auth", &self.basic_auth)
            .field("bearer_token", &self.bearer_token)
            .finish()
    }
}

/// The URL without user info, query and fragment, from raw (possibly unparsable) text.
fn redact_url(raw: &str) -> String {
    let end = raw.find(['?', '#']).unwrap_or(raw.len());
    let raw = &raw[..end];
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, raw),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    match scheme {
        Some(s) => format!("{s}://{rest}"),
        None => rest.to_owned(),
    }
}

impl HttpConfig {
    /// Checks the values, naming the offending field in the error.
    ///
    /// `${VAR}` references are not expanded here; [`HttpConfig::build`] expands them.
    pub fn validate(&self) -> Result<()> {
        if self.url.contains("${") {
            let lower = self.url.trim_start().to_ascii_lowercase();
            if !(lower.starts_with("http://")
                || lower.starts_with("https://")
                || lower.starts_with("${"))
            {
                return Err(Error::invalid("url", "only http:// and https:// URLs"));
            }
        } else {
            parse_url(&self.url)?;
        }
        if self.body.is_some() && self.method != HttpMethod::Post {
            return Err(Error::invalid("body", "only a POST request sends a body"));
        }
        if self.method == HttpMethod::Head
            && (self.body_contains.is_some()
                || self.body_regex.is_some()
                || self.body_not_contains.is_some())
        {
            return Err(Error::invalid(
                "method",
                "a HEAD request has no body to check; use GET",
            ));
        }
        self.status_set()?;
        if let Some(re) = &self.body_regex {
            compile_regex(re)?;
        }
        if self.body_contains.as_deref() == Some("") {
            return Err(Error::invalid("body_contains", "must not be empty"));
        }
        if self.body_not_contains.as_deref() == Some("") {
            return Err(Error::invalid("body_not_contains", "must not be empty"));
        }
        self.latency.validate("latency")?;
        if self.cert_expiry.warning_days < self.cert_expiry.critical_days {
            return Err(Error::invalid(
                "cert_expiry",
                format!(
                    "warning_days ({}) must not be below critical_days ({})",
                    self.cert_expiry.warning_days, self.cert_expiry.critical_days
                ),
            ));
        }
        if self.basic_auth.is_some() && self.bearer_token.is_some() {
            return Err(Error::invalid(
                "bearer_token",
                "give either `basic_auth` or `bearer_token`, not both",
            ));
        }
        for name in self.headers.keys() {
            let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                Error::invalid(
                    format!("headers.{name}"),
                    "not a valid header name".to_owned(),
                )
            })?;
            if header == AUTHORIZATION && (self.basic_auth.is_some() || self.bearer_token.is_some())
            {
                return Err(Error::invalid(
                    format!("headers.{name}"),
                    "conflicts with `basic_auth` / `bearer_token`",
                ));
            }
        }
        Ok(())
    }

    fn status_set(&self) -> Result<StatusSet> {
        if self.expect_status.is_empty() {
            return Ok(DEFAULT_STATUS);
        }
        let mut ranges = Vec::with_capacity(self.expect_status.len());
        let mut describe = String::new();
        for (i, spec) in self.expect_status.iter().enumerate() {
            let (a, b) = spec.range()?;
            ranges.push((a, b));
            if i > 0 {
                describe.push_str(if i + 1 == self.expect_status.len() {
                    " or "
                } else {
                    ", "
                });
            }
            if a == b {
                let _ = write!(describe, "{a}");
            } else if a % 100 == 0 && b == a + 99 {
                let _ = write!(describe, "{}xx", a / 100);
            } else {
                let _ = write!(describe, "{a}-{b}");
            }
        }
        Ok(StatusSet {
            ranges: Cow::Owned(ranges),
            describe: Cow::Owned(describe),
        })
    }

    /// Builds the probe on the shared transport of `clients`: expands `${VAR}` references,
    /// compiles the regular expression and serialises the request once.
    pub fn build(&self, clients: &HttpClients) -> Result<HttpProbe> {
        self.validate()?;
        let mut url = parse_url(&expand_env(&self.url).map_err(rename_what("url"))?)?;
        let mut headers = Vec::with_capacity(self.headers.len() + 1);
        for (name, value) in &self.headers {
            let field = || format!("headers.{name}");
            let value = value.expose().map_err(rename_what(&field()))?;
            let value = HeaderValue::from_str(&value)
                .map_err(|_| Error::invalid(field(), "not a valid header value"))?;
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::invalid(field(), "not a valid header name"))?;
            headers.push((name, value));
        }
        // Credentials in the URL become basic authentication and leave the URL.
        let url_credentials = (!url.username().is_empty() || url.password().is_some()).then(|| {
            let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            (
                decode(url.username()),
                url.password().map(decode).unwrap_or_default(),
            )
        });
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_fragment(None);
        let basic = match &self.basic_auth {
            Some(auth) => Some((
                expand_env(&auth.username).map_err(rename_what("basic_auth.username"))?,
                auth.password
                    .expose()
                    .map_err(rename_what("basic_auth.password"))?,
            )),
            None => url_credentials,
        };
        if let Some((user, password)) = basic {
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            let value = HeaderValue::from_str(&format!("Basic {encoded}"))
                .map_err(|_| Error::invalid("basic_auth", "not a valid header value"))?;
            headers.push((AUTHORIZATION, value));
        }
        if let Some(token) = &self.bearer_token {
            let token = token.expose().map_err(rename_what("bearer_token"))?;
            if token.is_empty() {
                return Err(Error::invalid("bearer_token", "the token is empty"));
            }
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| Error::invalid("bearer_token", "not a valid header value"))?;
            headers.push((AUTHORIZATION, value));
        }
        let request = h1::Request {
            method: self.method.as_method(),
            url,
            headers,
            body: self.body.as_ref().map(|b| Arc::from(b.as_bytes())),
        };
        let body = (self.body_contains.is_some()
            || self.body_regex.is_some()
            || self.body_not_contains.is_some())
        .then(|| {
            Ok::<_, Error>(BodyChecks {
                contains: self.body_contains.clone(),
                regex: self.body_regex.as_deref().map(compile_regex).transpose()?,
                not_contains: self.body_not_contains.clone(),
            })
        })
        .transpose()?;
        let expect = Expect {
            status: self.status_set()?,
            body,
            latency: self.latency,
            cert_expiry: self.cert_expiry,
            max_redirects: self.follow_redirects,
        };
        let transport = clients.probe_transport();
        Ok(HttpProbe {
            request: transport.prepare(request, self.insecure),
            transport,
            expect: (!expect.is_default()).then(|| Box::new(expect)),
        })
    }
}

/// Re-labels an [`Error::Invalid`] with the field it came from (messages name variables only).
fn rename_what(field: &str) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        Error::Invalid { message, .. } => Error::invalid(field, message),
        other => other,
    }
}

fn parse_url(raw: &str) -> Result<Url> {
    // The parser's messages never repeat the URL, which may carry credentials.
    let url = Url::parse(raw.trim()).map_err(|e| Error::invalid("url", e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(Error::invalid("url", "only http:// and https:// URLs"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid("url", "the URL has no host"));
    }
    Ok(url)
}

fn compile_regex(re: &str) -> Result<regex::Regex> {
    regex::RegexBuilder::new(re)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| Error::invalid("body_regex", e.to_string()))
}

/// The accepted status codes.
#[derive(Debug)]
struct StatusSet {
    ranges: Cow<'static, [(u16, u16)]>,
    describe: Cow<'static, str>,
}

/// Any 2xx or 3xx: what a check accepts unless told otherwise.
const DEFAULT_STATUS: StatusSet = StatusSet {
    ranges: Cow::Borrowed(&[(200, 399)]),
    describe: Cow::Borrowed("2xx or 3xx"),
};

impl StatusSet {
    fn contains(&self, code: u16) -> bool {
        self.ranges.iter().any(|(a, b)| (*a..=*b).contains(&code))
    }
}

/// What the body must (not) contain or match.
struct BodyChecks {
    contains: Option<String>,
    regex: Option<regex::Regex>,
    not_contains: Option<String>,
}

/// What a response is checked against. Most probes expect the defaults, which are static: such
/// a probe allocates none of this.
struct Expect {
    status: StatusSet,
    body: Option<BodyChecks>,
    latency: LatencyThresholds,
    cert_expiry: CertExpiry,
    max_redirects: u8,
}

/// The defaults: any 2xx or 3xx, no body checks, no latency thresholds, certificate warnings at
/// 21 and 7 days, redirects not followed.
static DEFAULT_EXPECT: Expect = Expect {
    status: DEFAULT_STATUS,
    body: None,
    latency: LatencyThresholds {
        warning: None,
        critical: None,
    },
    cert_expiry: CertExpiry {
        warning_days: DEFAULT_WARNING_DAYS,
        critical_days: DEFAULT_CRITICAL_DAYS,
    },
    max_redirects: 0,
};

impl Expect {
    fn is_default(&self) -> bool {
        let d = &DEFAULT_EXPECT;
        self.status.ranges == d.status.ranges
            && self.body.is_none()
            && self.latency == d.latency
            && self.cert_expiry == d.cert_expiry
            && self.max_redirects == d.max_redirects
    }
}

/// The `http` probe. Build it with [`HttpConfig::build`].
///
/// A large schedule holds one probe per check, so it keeps only the request's bytes on the wire,
/// its shared origin and, when they differ from the defaults, its expectations: 48 bytes plus
/// the request.
pub struct HttpProbe {
    transport: Arc<h1::H1Client>,
    /// The request, prepared once.
    request: h1::Prepared,
    /// `None`: [`DEFAULT_EXPECT`].
    expect: Option<Box<Expect>>,
}

impl fmt::Debug for HttpProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let expect = self.expect();
        let body = expect.body.as_ref();
        f.debug_struct("HttpProbe")
            .field("target", &self.target())
            .field("method", &self.request.method())
            .field("expect_status", &expect.status.describe)
            .field("body_contains", &body.and_then(|b| b.contains.as_ref()))
            .field(
                "body_regex",
                &body.and_then(|b| b.regex.as_ref()).map(|r| r.as_str()),
            )
            .field(
                "body_not_contains",
                &body.and_then(|b| b.not_contains.as_ref()),
            )
            .field("latency", &expect.latency)
            .field("cert_expiry", &expect.cert_expiry)
            .field("max_redirects", &expect.max_redirects)
            .finish_non_exhaustive()
    }
}

impl HttpProbe {
    fn expect(&self) -> &Expect {
        self.expect.as_deref().unwrap_or(&DEFAULT_EXPECT)
    }

    fn host_port(&self) -> (&url::Host<String>, u16) {
        let origin = self.request.origin();
        (origin.host(), origin.port())
    }

    /// What went wrong before a response arrived, naming the stage.
    fn describe_error(&self, e: h1::H1Error) -> String {
        let (host, port) = self.host_port();
        match e {
            h1::H1Error::Dns(detail) => format!("DNS lookup of {host} failed: {detail}"),
            h1::H1Error::Refused => format!("connection refused by {host}:{port}"),
            h1::H1Error::Connect(detail) => format!("cannot connect to {host}:{port}: {detail}"),
            h1::H1Error::Tls(detail) => {
                format!("TLS handshake with {host}:{port} failed: {detail}")
            }
            h1::H1Error::Exchange(detail) => {
                format!("request to {} failed: {detail}", self.target())
            }
            h1::H1Error::Protocol(detail) => {
                format!("invalid HTTP response from {host}:{port}: {detail}")
            }
            h1::H1Error::Body { status, detail } => {
                format!("HTTP {status} but reading the body failed: {detail}")
            }
            h1::H1Error::TooManyRedirects => {
                format!(
                    "too many redirects (more than {})",
                    self.expect().max_redirects
                )
            }
        }
    }

    /// What the request was doing when the time ran out.
    fn describe_timeout(&self, progress: &h1::Progress, timeout: Duration) -> String {
        let (host, port) = self.host_port();
        let after = human_duration(timeout);
        match progress.stage() {
            h1::Stage::Resolve | h1::Stage::Connect | h1::Stage::Tls => {
                format!("timed out after {after} connecting to {host}:{port}")
            }
            h1::Stage::Wait => format!("timed out after {after} waiting for {host}:{port}"),
            h1::Stage::Body => format!(
                "HTTP {} but timed out after {after} reading the body",
                progress.status()
            ),
        }
    }
}

/// A finding beside the status line: severity and text.
type Finding = (Status, String);

#[async_trait]
impl Probe for HttpProbe {
    async fn check(&self, cx: &CheckContext) -> Observation {
        let at = cx.now();
        let start = Instant::now();
        let progress = h1::Progress::default();
        let expect = self.expect();
        let sent = self.transport.send(
            &self.request,
            expect.max_redirects,
            if expect.body.is_some() {
                h1::Want::Body
            } else {
                h1::Want::Status
            },
            MAX_BODY,
            &progress,
        );
        let response = match tokio::time::timeout(cx.timeout, sent).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => {
                return Observation::new(Status::Critical, self.describe_error(e), at)
                    .with_latency(start.elapsed());
            }
            Err(_) => {
                return Observation::new(
                    Status::Critical,
                    self.describe_timeout(&progress, cx.timeout),
                    at,
                )
                .with_latency(start.elapsed());
            }
        };
        let code = response.status;
        let status_ok = expect.status.contains(code);
        let cert_days = response
            .cert_not_after
            .map(|not_after| (not_after - at.timestamp()) as f64 / 86_400.0);

        let mut findings: Vec<Finding> = Vec::new();
        let mut body_bytes = None;
        if let (true, Some(body), Some(checks)) = (status_ok, &response.body, &expect.body) {
            body_bytes = Some(body.len());
            let text = String::from_utf8_lossy(body);
            if let Some(needle) = &checks.contains
                && !text.contains(needle.as_str())
            {
                findings.push((
                    Status::Critical,
                    format!("body does not contain {needle:?}"),
                ));
            }
            if let Some(re) = &checks.regex
                && !re.is_match(&text)
            {
                findings.push((
                    Status::Critical,
                    format!("body does not match /{}/", re.as_str()),
                ));
            }
            if let Some(needle) = &checks.not_contains
                && text.contains(needle.as_str())
            {
                findings.push((Status::Critical, format!("body contains {needle:?}")));
            }
        }
        let latency = start.elapsed();

        let mut status = if status_ok {
            Status::Ok
        } else {
            Status::Critical
        };
        if let Some(days) = cert_days {
            let finding = if days < 0.0 {
                let ago = (-days).floor() as i64;
                Some((
                    Status::Critical,
                    format!("certificate expired {}", days_ago(ago)),
                ))
            } else if days < f64::from(expect.cert_expiry.critical_days) {
                Some((
                    Status::Critical,
                    format!("certificate {}", expires_in(days)),
                ))
            } else if days < f64::from(expect.cert_expiry.warning_days) {
                Some((Status::Warning, format!("certificate {}", expires_in(days))))
            } else {
                None
            };
            findings.extend(finding);
        }
        let latency_status = expect.latency.status(latency);
        if latency_status != Status::Ok {
            let limit = if latency_status == Status::Critical {
                expect.latency.critical
            } else {
                expect.latency.warning
            };
            findings.push((
                latency_status,
                format!(
                    "slower than {}",
                    human_duration(limit.unwrap_or(Duration::ZERO))
                ),
            ));
        }

        let mut summary = String::with_capacity(48);
        if status_ok {
            let _ = write!(summary, "HTTP {} in {}", code, human_duration(latency));
        } else {
            let _ = write!(summary, "HTTP {code}");
            if let Some(reason) = http::StatusCode::from_u16(code)
                .ok()
                .and_then(|c| c.canonical_reason())
            {
                summary.push(' ');
                summary.push_str(reason);
            }
            let _ = write!(summary, ", expected {}", expect.status.describe);
        }
        findings.sort_by_key(|(s, _)| std::cmp::Reverse(s.severity()));
        for (s, text) in &findings {
            status = status.worst(*s);
            summary.push_str(", ");
            summary.push_str(text);
        }

        let mut obs = Observation::new(status, summary, at).with_latency(latency);
        obs.metrics
            .insert("latency".into(), Metric::new(latency.as_secs_f64(), "s"));
        obs.metrics
            .insert("status_code".into(), Metric::new(f64::from(code), ""));
        if let Some(n) = body_bytes {
            obs.metrics
                .insert("body_bytes".into(), Metric::new(n as f64, "B"));
        }
        if let Some(days) = cert_days {
            obs.metrics
                .insert("cert_days_left".into(), Metric::new(days, "days"));
        }
        obs.with_reading(Reading::Http(HttpReading {
            status_code: code,
            cert_not_after: response
                .cert_not_after
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
            cert_days_left: cert_days,
            body_bytes: body_bytes.map(|n| n as u64),
        }))
    }

    fn kind(&self) -> &str {
        "http"
    }

    fn target(&self) -> String {
        let origin = self.request.origin();
        let path = self.request.path();
        let path = path.find('?').map_or(path, |q| &path[..q]);
        format!(
            "{}://{}:{}{path}",
            origin.scheme(),
            origin.host(),
            origin.port()
        )
    }
}

fn expires_in(days: f64) -> String {
    match days.floor() as i64 {
        0 => "expires today".to_owned(),
        1 => "expires in 1 day".to_owned(),
        n => format!("expires in {n} days"),
    }
}

fn days_ago(days: i64) -> String {
    if days < 1 {
        "less than a day ago".to_owned()
    } else if days == 1 {
        "1 day ago".to_owned()
    } else {
        format!("{days} days ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    use tokio::net::TcpListener;

    const PASSWORD: &str = "pw-Zebra-77-secret";
    const TOKEN: &str = "tok-Quokka-99-secret";
    /// base64("admin:pw-Zebra-77-secret")
    const BASIC: &str = "Basic YWRtaW46cHctWmVicmEtNzctc2VjcmV0";

    #[test]
    fn a_probe_with_default_expectations_is_small() {
        assert!(std::mem::size_of::<HttpProbe>() <= 48);
        let clients = HttpClients::new();
        let build = |text: &str| {
            toml::from_str::<HttpConfig>(text)
                .unwrap()
                .build(&clients)
                .unwrap()
        };
        let plain = build("url = \"http://127.0.0.1:8080/health\"");
        assert!(plain.expect.is_none());
        assert_eq!(plain.target(), "http://127.0.0.1:8080/health");
        let told = build("url = \"https://[::1]/a?b=1\"\nexpect_status = [204]");
        assert!(told.expect.is_some());
        assert_eq!(told.target(), "https://[::1]:443/a");
        assert_eq!(told.expect().status.describe, "204");
    }

    struct Request {
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Request {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    /// Reads one HTTP/1.1 request; `None` when the peer closed the connection.
    async fn read_request<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> Option<Request> {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            let mut chunk = [0u8; 4096];
            let n = s.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let method = first.next()?.to_owned();
        let path = first.next()?.to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        buf.drain(..head_end + 4);
        while buf.len() < len {
            let mut chunk = [0u8; 4096];
            let n = s.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = buf.drain(..len).collect();
        Some(Request {
            method,
            path,
            headers,
            body,
        })
    }

    async fn respond(req: &Request) -> (u16, &'static str, Vec<u8>, Option<String>) {
        let ok = |body: &[u8]| (200, "OK", body.to_vec(), None);
        let unauthorized = (401, "Unauthorized", b"who are you?".to_vec(), None);
        let path = req.path.split('?').next().unwrap_or("");
        match path {
            "/" => ok(b"<h1>Welcome to the school portal</h1> build 4711"),
            "/down" => (503, "Service Unavailable", b"maintenance".to_vec(), None),
            "/error-page" => ok(b"Fatal error: database unreachable"),
            "/moved" => (301, "Moved Permanently", Vec::new(), Some("/".into())),
            "/loop" => (302, "Found", Vec::new(), Some("/loop".into())),
            // `/to?URL`: a redirect to URL.
            "/to" => (
                302,
                "Found",
                Vec::new(),
                req.path.split_once('?').map(|(_, to)| to.to_owned()),
            ),
            "/basic" if req.header("authorization") == Some(BASIC) => ok(b"hello admin"),
            "/basic" => unauthorized,
            "/bearer" if req.header("authorization") == Some(&format!("Bearer {TOKEN}")) => {
                ok(b"hello token")
            }
            "/bearer" => unauthorized,
            "/post" if req.method == "POST" => {
                let mut body = b"got: ".to_vec();
                body.extend_from_slice(&req.body);
                ok(&body)
            }
            "/slow" => {
                tokio::time::sleep(Duration::from_millis(250)).await;
                ok(b"finally")
            }
            "/big" => ok(&vec![b'a'; 3 * MAX_BODY]),
            _ => (404, "Not Found", Vec::new(), None),
        }
    }

    async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
        let mut buf = Vec::new();
        while let Some(req) = read_request(&mut s, &mut buf).await {
            let (code, reason, body, location) = respond(&req).await;
            let mut head = format!(
                "HTTP/1.1 {code} {reason}\r\nContent-Length: {}\r\n",
                body.len()
            );
            if let Some(l) = location {
                head.push_str(&format!("Location: {l}\r\n"));
            }
            head.push_str("\r\n");
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            if req.method != "HEAD" && s.write_all(&body).await.is_err() {
                return;
            }
        }
    }

    /// A plain HTTP/1.1 keep-alive server; counts accepted connections.
    async fn http_server() -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let conns = Arc::new(AtomicUsize::new(0));
        let counter = conns.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_connection(s));
            }
        });
        (format!("http://{addr}"), conns)
    }

    /// An HTTPS server with a self-signed certificate valid until `not_after`.
    async fn https_server(not_after: chrono::NaiveDate) -> String {
        use chrono::Datelike;
        crate::http_client::install_crypto_provider();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(
            not_after.year(),
            not_after.month() as u8,
            not_after.day() as u8,
        );
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()),
        );
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key_der)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(s).await {
                        serve_connection(tls).await;
                    }
                });
            }
        });
        format!("https://localhost:{}", addr.port())
    }

    fn config(url: String) -> HttpConfig {
        HttpConfig {
            url,
            ..Default::default()
        }
    }

    async fn run(c: &HttpConfig) -> Observation {
        let probe = c.build(&HttpClients::new()).unwrap();
        probe.check(&CheckContext::for_test("http")).await
    }

    #[tokio::test]
    async fn ok_and_keeps_the_connection_alive() {
        let (base, conns) = http_server().await;
        let probe = config(format!("{base}/"))
            .build(&HttpClients::new())
            .unwrap();
        assert_eq!(probe.kind(), "http");
        assert_eq!(probe.target(), format!("{base}/"));
        let cx = CheckContext::for_test("http");
        for _ in 0..3 {
            let obs = probe.check(&cx).await;
            assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
            assert!(obs.summary.starts_with("HTTP 200 in "), "{}", obs.summary);
            assert_eq!(obs.metrics["status_code"].value, 200.0);
            assert!(obs.metrics["latency"].value > 0.0);
            assert!(!obs.metrics.contains_key("body_bytes"));
            assert!(!obs.metrics.contains_key("cert_days_left"));
        }
        assert_eq!(
            conns.load(Ordering::SeqCst),
            1,
            "the pooled connection is reused"
        );
    }

    #[tokio::test]
    async fn unexpected_status_is_critical() {
        let (base, _) = http_server().await;
        let obs = run(&config(format!("{base}/down"))).await;
        assert_eq!(obs.status, Status::Critical);
        assert_eq!(
            obs.summary,
            "HTTP 503 Service Unavailable, expected 2xx or 3xx"
        );
        let mut c = config(format!("{base}/down"));
        c.expect_status = vec![StatusSpec::Text("2xx".into())];
        let obs = run(&c).await;
        assert_eq!(obs.summary, "HTTP 503 Service Unavailable, expected 2xx");
        c.expect_status = vec![StatusSpec::Code(503), StatusSpec::Text("200-204".into())];
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
    }

    #[tokio::test]
    async fn body_checks() {
        let (base, _) = http_server().await;
        let mut c = config(format!("{base}/"));
        c.body_contains = Some("Welcome".into());
        c.body_regex = Some(r"build \d+".into());
        c.body_not_contains = Some("Fatal error".into());
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        assert_eq!(obs.metrics["body_bytes"].value, 48.0);

        c.url = format!("{base}/error-page");
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Critical);
        assert!(
            obs.summary.contains("body does not contain \"Welcome\""),
            "{}",
            obs.summary
        );
        assert!(
            obs.summary.contains(r"body does not match /build \d+/"),
            "{}",
            obs.summary
        );
        assert!(
            obs.summary.contains("body contains \"Fatal error\""),
            "{}",
            obs.summary
        );
    }

    #[tokio::test]
    async fn body_reading_is_capped() {
        let (base, _) = http_server().await;
        let mut c = config(format!("{base}/big"));
        c.body_contains = Some("b".into());
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Critical);
        assert_eq!(obs.metrics["body_bytes"].value, MAX_BODY as f64);
    }

    #[tokio::test]
    async fn redirects_followed_or_not() {
        let (base, _) = http_server().await;
        let mut c = config(format!("{base}/moved"));
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        assert_eq!(obs.metrics["status_code"].value, 301.0);
        c.expect_status = vec![StatusSpec::Code(200)];
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Critical);
        assert_eq!(obs.summary, "HTTP 301 Moved Permanently, expected 200");
        c.follow_redirects = 3;
        c.body_contains = Some("Welcome".into());
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        assert_eq!(obs.metrics["status_code"].value, 200.0);
        c.url = format!("{base}/loop");
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Critical);
        assert!(
            obs.summary.contains("too many redirects"),
            "{}",
            obs.summary
        );
    }

    #[tokio::test]
    async fn basic_auth_and_bearer() {
        let (base, _) = http_server().await;
        // SAFETY: variables only this test uses.
        unsafe {
            std::env::set_var("FOREWARN_HTTP_TEST_PASSWORD", PASSWORD);
            std::env::set_var("FOREWARN_HTTP_TEST_TOKEN", TOKEN);
        }
        let mut c = config(format!("{base}/basic"));
        c.expect_status = vec![StatusSpec::Code(200)];
        let obs = run(&c).await;
        assert_eq!(obs.summary, "HTTP 401 Unauthorized, expected 200");
        c.basic_auth = Some(BasicAuth {
            username: "admin".into(),
            password: Secret::new("${FOREWARN_HTTP_TEST_PASSWORD}"),
        });
        let probe = c.build(&HttpClients::new()).unwrap();
        let obs = probe.check(&CheckContext::for_test("http")).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        let shown = format!("{c:?} {probe:?} {} {}", obs.summary, probe.target());
        assert!(!shown.contains(PASSWORD), "{shown}");

        let mut c = config(format!("{base}/bearer"));
        c.bearer_token = Some(Secret::new("${FOREWARN_HTTP_TEST_TOKEN}"));
        c.headers.insert(
            "X-Api-Key".into(),
            Secret::new("${FOREWARN_HTTP_TEST_TOKEN}"),
        );
        let probe = c.build(&HttpClients::new()).unwrap();
        let obs = probe.check(&CheckContext::for_test("http")).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        let shown = format!("{c:?} {probe:?} {} {}", obs.summary, probe.target());
        assert!(!shown.contains(TOKEN), "{shown}");

        c.bearer_token = Some(Secret::new("${FOREWARN_HTTP_TEST_UNSET_TOKEN}"));
        let e = c.build(&HttpClients::new()).unwrap_err().to_string();
        assert!(e.contains("FOREWARN_HTTP_TEST_UNSET_TOKEN"), "{e}");
        assert!(e.contains("bearer_token"), "{e}");
    }

    #[tokio::test]
    async fn url_credentials_never_shown() {
        let (base, _) = http_server().await;
        let with_secrets = base.replace("http://", &format!("http://admin:{PASSWORD}@"))
            + &format!("/basic?token={TOKEN}#frag");
        let c = config(with_secrets);
        let probe = c.build(&HttpClients::new()).unwrap();
        // The user info becomes basic authentication.
        let obs = probe.check(&CheckContext::for_test("http")).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        assert_eq!(probe.target(), format!("{base}/basic"));
        let shown = format!("{c:?} {probe:?} {}", obs.summary);
        assert!(
            !shown.contains(PASSWORD) && !shown.contains(TOKEN),
            "{shown}"
        );

        // Connection errors do not show them either.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let c = config(format!(
            "http://admin:{PASSWORD}@127.0.0.1:{port}/?token={TOKEN}"
        ));
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Critical);
        assert_eq!(
            obs.summary,
            format!("connection refused by 127.0.0.1:{port}")
        );
    }

    #[tokio::test]
    async fn post_sends_the_body() {
        let (base, _) = http_server().await;
        let mut c = config(format!("{base}/post"));
        c.method = HttpMethod::Post;
        c.body = Some("name=probe".into());
        c.body_contains = Some("got: name=probe".into());
        let probe = c.build(&HttpClients::new()).unwrap();
        for _ in 0..2 {
            let obs = probe.check(&CheckContext::for_test("http")).await;
            assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        }
    }

    #[tokio::test]
    async fn head_requests() {
        let (base, conns) = http_server().await;
        let mut c = config(format!("{base}/"));
        c.method = HttpMethod::Head;
        let probe = c.build(&HttpClients::new()).unwrap();
        for _ in 0..2 {
            let obs = probe.check(&CheckContext::for_test("http")).await;
            assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        }
        assert_eq!(conns.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn latency_thresholds_and_timeout() {
        let (base, _) = http_server().await;
        let mut c = config(format!("{base}/slow"));
        c.latency = LatencyThresholds {
            warning: Some(Duration::from_millis(100)),
            critical: Some(Duration::from_secs(5)),
        };
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
        assert!(
            obs.summary.ends_with(", slower than 100 ms"),
            "{}",
            obs.summary
        );
        c.latency.critical = Some(Duration::from_millis(200));
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Critical, "{}", obs.summary);

        let probe = c.build(&HttpClients::new()).unwrap();
        let mut cx = CheckContext::for_test("http");
        cx.timeout = Duration::from_millis(100);
        let obs = probe.check(&cx).await;
        assert_eq!(obs.status, Status::Critical);
        assert!(
            obs.summary.starts_with("timed out after 100 ms"),
            "{}",
            obs.summary
        );
    }

    #[tokio::test]
    async fn connection_refused_and_dns() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let obs = run(&config(format!("http://127.0.0.1:{port}/"))).await;
        assert_eq!(obs.status, Status::Critical);
        assert_eq!(
            obs.summary,
            format!("connection refused by 127.0.0.1:{port}")
        );

        let obs = run(&config("http://no-such-host.invalid/".into())).await;
        assert_eq!(obs.status, Status::Critical);
        assert!(
            obs.summary
                .starts_with("DNS lookup of no-such-host.invalid failed"),
            "{}",
            obs.summary
        );
    }

    fn today() -> chrono::NaiveDate {
        chrono::Utc::now().date_naive()
    }

    #[tokio::test]
    async fn tls_certificate_expiry() {
        let base = https_server(today() + chrono::Days::new(10)).await;
        let mut c = config(format!("{base}/"));
        // Without `insecure`, the self-signed certificate is refused at the handshake.
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Critical);
        assert!(
            obs.summary.starts_with("TLS handshake with localhost"),
            "{}",
            obs.summary
        );

        c.insecure = true;
        // A plain `http` URL redirecting to the self-signed `https` one keeps the policy.
        let (plain, _) = http_server().await;
        let mut via = config(format!("{plain}/to?{base}/"));
        via.insecure = true;
        via.follow_redirects = 1;
        let obs = run(&via).await;
        assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
        assert!(obs.metrics.contains_key("cert_days_left"));
        let probe = c.build(&HttpClients::new()).unwrap();
        let cx = CheckContext::for_test("http");
        for _ in 0..2 {
            // The second check runs on the pooled connection and still sees the certificate.
            let obs = probe.check(&cx).await;
            assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
            let days = obs.metrics["cert_days_left"].value;
            assert!((9.0..=10.0).contains(&days), "{days}");
            // The reading says the same, with the expiry itself.
            let Some(Reading::Http(reading)) = obs.reading.as_deref() else {
                panic!("no HTTP reading: {obs:?}")
            };
            assert_eq!(reading.status_code, 200);
            assert_eq!(reading.cert_days_left, Some(days));
            let not_after = reading.cert_not_after.expect("the certificate's expiry");
            let left = (not_after - obs.at).num_seconds() as f64 / 86_400.0;
            assert!((left - days).abs() < 1e-3, "{not_after} {days}");
            assert!(
                obs.summary.starts_with("HTTP 200 in ")
                    && obs.summary.ends_with(", certificate expires in 9 days"),
                "{}",
                obs.summary
            );
        }

        c.cert_expiry = CertExpiry {
            warning_days: 30,
            critical_days: 14,
        };
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Critical, "{}", obs.summary);

        c.cert_expiry = CertExpiry {
            warning_days: 5,
            critical_days: 2,
        };
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        assert_eq!(obs.metrics["status_code"].value, 200.0);
    }

    #[tokio::test]
    async fn expired_certificate_is_critical() {
        let base = https_server(today() - chrono::Days::new(3)).await;
        let mut c = config(format!("{base}/"));
        c.insecure = true;
        let obs = run(&c).await;
        assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
        assert!(
            obs.summary.ends_with("certificate expired 3 days ago")
                || obs.summary.ends_with("certificate expired 2 days ago"),
            "{}",
            obs.summary
        );
        assert!(obs.metrics["cert_days_left"].value < 0.0);
    }

    fn invalid_field(c: &HttpConfig) -> String {
        match c.validate().unwrap_err() {
            Error::Invalid { what, .. } => what,
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn validation_names_the_field() {
        let ok = config("https://portal.school.example/".into());
        assert!(ok.validate().is_ok());
        assert!(config("${PORTAL_URL}".into()).validate().is_ok());
        assert_eq!(invalid_field(&config("ftp://x/".into())), "url");
        assert_eq!(invalid_field(&config("not a url".into())), "url");
        let mut c = ok.clone();
        c.body_regex = Some("(unclosed".into());
        assert_eq!(invalid_field(&c), "body_regex");
        let mut c = ok.clone();
        c.body = Some("x".into());
        assert_eq!(invalid_field(&c), "body");
        let mut c = ok.clone();
        c.expect_status = vec![StatusSpec::Text("7xx".into())];
        assert_eq!(invalid_field(&c), "expect_status");
        c.expect_status = vec![StatusSpec::Code(42)];
        assert_eq!(invalid_field(&c), "expect_status");
        c.expect_status = vec![StatusSpec::Text("299-200".into())];
        assert_eq!(invalid_field(&c), "expect_status");
        let mut c = ok.clone();
        c.cert_expiry = CertExpiry {
            warning_days: 3,
            critical_days: 7,
        };
        assert_eq!(invalid_field(&c), "cert_expiry");
        let mut c = ok.clone();
        c.latency = LatencyThresholds {
            warning: Some(Duration::from_secs(3)),
            critical: Some(Duration::from_secs(1)),
        };
        assert_eq!(invalid_field(&c), "latency");
        let mut c = ok.clone();
        c.bearer_token = Some(Secret::new("t"));
        c.basic_auth = Some(BasicAuth {
            username: "u".into(),
            password: Secret::new("p"),
        });
        assert_eq!(invalid_field(&c), "bearer_token");
        let mut c = ok.clone();
        c.headers.insert("bad header".into(), Secret::new("v"));
        assert_eq!(invalid_field(&c), "headers.bad header");
        let mut c = ok;
        c.method = HttpMethod::Head;
        c.body_contains = Some("x".into());
        assert_eq!(invalid_field(&c), "method");
    }

    #[test]
    fn config_from_toml() {
        let c: HttpConfig = toml::from_str(
            r#"
            url = "https://portal.school.example/login"
            method = "POST"
            body = "ping"
            expect_status = ["2xx", 301, "400-404"]
            headers = { "X-Api-Key" = "${KEY}" }
            follow_redirects = 2
            cert_expiry = { critical_days = 3 }
            basic_auth = { username = "monitor", password = "${PW}" }
            "#,
        )
        .unwrap();
        assert!(c.validate().is_ok());
        assert_eq!(c.cert_expiry.warning_days, 21);
        assert_eq!(c.cert_expiry.critical_days, 3);
        assert_eq!(
            c.status_set().unwrap().describe.as_ref(),
            "2xx, 301 or 400-404"
        );
        assert!(toml::from_str::<HttpConfig>("url = \"http://x/\"\nverb = \"GET\"").is_err());
    }

    #[test]
    fn built_through_the_probe_config_enum() {
        let c: crate::probe::ProbeConfig = toml::from_str(
            r#"
            type = "http"
            url = "https://portal.school.example:8443/login?session=abc"
            expect_status = [200, "3xx"]
            cert_expiry = { warning_days = 30 }
            latency = { critical = "2s" }
            "#,
        )
        .unwrap();
        c.validate().unwrap();
        let p = c.build(&HttpClients::new()).unwrap();
        assert_eq!(p.kind(), "http");
        assert_eq!(p.target(), "https://portal.school.example:8443/login");
    }

    #[test]
    fn redacts_raw_urls() {
        assert_eq!(
            redact_url("https://u:p@${HOST}:8443/a/b?token=x#f"),
            "https://${HOST}:8443/a/b"
        );
        assert_eq!(redact_url("http://host/path@x"), "http://host/path@x");
    }
}
