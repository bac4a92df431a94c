//! forewarn's HTTP client: one HTTP/1.1 transport (plain TCP or rustls, keep-alive connections
//! pooled per origin) serves the `http` probe, the webhook sink, an agent's pushes and users'
//! own probes ([`CheckContext::http`](crate::probe::CheckContext::http)).
//!
//! [`HttpClient`] is its small request API: method, URL, headers, body and timeout in; status,
//! headers and body out. Its errors never contain the URL's path, query or credentials (webhook
//! URLs embed tokens).
//!
//! ```no_run
//! # async fn demo() -> Result<(), forewarn::http_client::HttpError> {
//! use forewarn::http_client::HttpClient;
//! let client = HttpClient::new();
//! let response = client
//!     .post("https://hooks.example/T0/B0")
//!     .bearer_auth("token")
//!     .json(&serde_json::json!({"text": "hello"}))
//!     .timeout(std::time::Duration::from_secs(5))
//!     .send()
//!     .await?;
//! assert!(response.status().is_success());
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::{Arc, Once};
use std::time::Duration;

pub use http::header::{self, HeaderMap, HeaderName, HeaderValue};
pub use http::{Method, StatusCode};
pub use url::Url;

pub(crate) mod h1;

/// Installs the process-wide rustls crypto provider (ring) once.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another library may have installed one first; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// How a client treats redirects and certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ClientOptions {
    /// Follow at most this many redirects (0: none).
    pub max_redirects: u8,
    /// Accept invalid TLS certificates (self-signed lab gear). Expiry is still reported.
    pub insecure: bool,
}

/// The transport a monitor's probes and sinks share: one pool of keep-alive connections per
/// origin, whatever the [`ClientOptions`] of the clients using it.
#[derive(Debug, Clone, Default)]
pub struct HttpClients {
    transport: Arc<h1::H1Client>,
}

impl HttpClients {
    /// A transport with no connections yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The transport of the `http` probe.
    pub(crate) fn probe_transport(&self) -> Arc<h1::H1Client> {
        self.transport.clone()
    }

    /// A client with `options` on the shared transport.
    pub fn get(&self, options: ClientOptions) -> HttpClient {
        HttpClient {
            transport: self.transport.clone(),
            options,
        }
    }
}

/// The longest response body a client reads (a longer one is an error).
pub const MAX_RESPONSE_BODY: usize = 16 << 20;

/// How long a request may take when it does not set its own timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// An HTTP/1.1 client: `http://` and `https://` (rustls, the system's certificate roots),
/// keep-alive connections pooled per origin. Cloning is cheap and clones share the pool.
#[derive(Clone, Default)]
pub struct HttpClient {
    transport: Arc<h1::H1Client>,
    options: ClientOptions,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("options", &self.options)
            .field("transport", &self.transport)
            .finish()
    }
}

impl HttpClient {
    /// A client of its own (its own connection pool): no redirects followed, certificates
    /// verified.
    pub fn new() -> Self {
        Self::default()
    }

    /// A client of its own with `options`.
    pub fn with_options(options: ClientOptions) -> Self {
        Self {
            transport: Arc::default(),
            options,
        }
    }

    /// Its redirect and certificate options.
    pub fn options(&self) -> ClientOptions {
        self.options
    }

    /// A request with `method` to `url`.
    pub fn request(&self, method: Method, url: impl AsRef<str>) -> RequestBuilder {
        let url = Url::parse(url.as_ref())
            .map_err(|e| HttpError::new(HttpErrorKind::Request, format!("not a URL ({e})")))
            .and_then(|u| match u.scheme() {
                "http" | "https" if u.host_str().is_some_and(|h| !h.is_empty()) => Ok(u),
                "http" | "https" => Err(HttpError::new(
                    HttpErrorKind::Request,
                    "the URL has no host",
                )),
                _ => Err(HttpError::new(
                    HttpErrorKind::Request,
                    "only http:// and https:// URLs",
                )),
            });
        RequestBuilder {
            client: self.clone(),
            method,
            url,
            headers: Vec::new(),
            body: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// A `GET` request to `url`.
    pub fn get(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A `HEAD` request to `url`.
    pub fn head(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// A `POST` request to `url`.
    pub fn post(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A `PUT` request to `url`.
    pub fn put(&self, url: impl AsRef<str>) -> RequestBuilder {
        self.request(Method::PUT, url)
    }
}

/// A request being put together; [`RequestBuilder::send`] sends it.
pub struct RequestBuilder {
    client: HttpClient,
    method: Method,
    url: std::result::Result<Url, HttpError>,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<Vec<u8>>,
    timeout: Duration,
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL and header values may hold credentials: the origin and header names only.
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field(
                "origin",
                &self
                    .url
                    .as_ref()
                    .map(|u| u.origin().ascii_serialization())
                    .ok(),
            )
            .field("headers", &names)
            .field("body", &self.body.as_ref().map(Vec::len))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RequestBuilder {
    /// Adds a header field. A name or value that is not valid HTTP makes [`send`](Self::send)
    /// fail (without repeating the value).
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        HeaderValue: TryFrom<V>,
    {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(name), Ok(value)) => self.headers.push((name, value)),
            (Err(_), _) => self.fail("a header name is not valid"),
            (Ok(name), Err(_)) => self.fail(&format!("the value of header {name} is not valid")),
        }
        self
    }

    /// Adds every field of `headers`.
    pub fn headers(mut self, headers: &HeaderMap) -> Self {
        self.headers
            .extend(headers.iter().map(|(n, v)| (n.clone(), v.clone())));
        self
    }

    /// Adds `Authorization: Bearer <token>`, marked sensitive.
    pub fn bearer_auth(mut self, token: impl fmt::Display) -> Self {
        match HeaderValue::try_from(format!("Bearer {token}")) {
            Ok(mut value) => {
                value.set_sensitive(true);
                self.headers.push((header::AUTHORIZATION, value));
            }
            Err(_) => self.fail("the bearer token is not a valid header value"),
        }
        self
    }

    /// The body, as it is.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// `value` as a JSON body, with `Content-Type: application/json`.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => {
                self.headers.push((
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ));
                self.body = Some(body);
            }
            Err(e) => self.fail(&format!("the body does not serialise as JSON ({e})")),
        }
        self
    }

    /// How long the whole exchange may take, redirects and body included (default
    /// [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn fail(&mut self, message: &str) {
        if self.url.is_ok() {
            self.url = Err(HttpError::new(HttpErrorKind::Request, message));
        }
    }

    /// Sends the request and reads the response, following redirects as the client's
    /// [`ClientOptions`] allow.
    pub async fn send(self) -> std::result::Result<HttpResponse, HttpError> {
        let url = self.url?;
        let transport = &self.client.transport;
        let options = self.client.options;
        let origin = origin_of(&url);
        let prepared = transport.prepare(
            h1::Request {
                method: self.method,
                url,
                headers: self.headers,
                body: self.body.map(Arc::from),
            },
            options.insecure,
        );
        let progress = h1::Progress::default();
        let sent = transport.send(
            &prepared,
            options.max_redirects,
            h1::Want::HeadersAndBody,
            MAX_RESPONSE_BODY + 1,
            &progress,
        );
        let response = match tokio::time::timeout(self.timeout, sent).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => return Err(HttpError::of(e, &origin, options.max_redirects)),
            Err(_) => return Err(HttpError::timeout(&progress, self.timeout, &origin)),
        };
        let body = response.body.unwrap_or_default();
        if body.len() > MAX_RESPONSE_BODY {
            return Err(HttpError::new(
                HttpErrorKind::Body,
                format!(
                    "HTTP {} but the body is longer than {} MiB",
                    response.status,
                    MAX_RESPONSE_BODY >> 20
                ),
            ));
        }
        Ok(HttpResponse {
            status: StatusCode::from_u16(response.status).map_err(|_| {
                HttpError::new(
                    HttpErrorKind::Exchange,
                    format!("{origin} answered an invalid status {}", response.status),
                )
            })?,
            headers: response.headers,
            body,
        })
    }
}

/// `host:port` of `url`, for messages: never its path, query or credentials.
fn origin_of(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(host), Some(port)) if host.contains(':') && !host.starts_with('[') => {
            format!("[{host}]:{port}")
        }
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => String::new(),
    }
}

/// A response: status, header fields and the whole body.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl HttpResponse {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The header fields.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, taken.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body read as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_slice(&self.body)
    }
}

/// What kind of failure an [`HttpError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpErrorKind {
    /// The request could not be made (an invalid URL, header or body).
    Request,
    /// The host name did not resolve, or no connection could be opened.
    Connect,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// Sending the request or reading the response failed, or the answer was not HTTP/1.x.
    Exchange,
    /// The status arrived but the body could not be read (or was too long).
    Body,
    /// More redirects than the client follows.
    Redirects,
    /// The request's time ran out.
    Timeout,
}

/// Why a request got no (complete) response. Its message names the host and port at most,
/// never the URL's path, query or credentials.
#[derive(Debug, Clone)]
pub struct HttpError {
    kind: HttpErrorKind,
    message: String,
}

impl HttpError {
    fn new(kind: HttpErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    fn of(e: h1::H1Error, origin: &str, max_redirects: u8) -> Self {
        use h1::H1Error as E;
        match e {
            E::Dns(detail) => Self::new(
                HttpErrorKind::Connect,
                format!("DNS lookup for {origin} failed: {detail}"),
            ),
            E::Refused => Self::new(
                HttpErrorKind::Connect,
                format!("connection refused by {origin}"),
            ),
            E::Connect(detail) => Self::new(
                HttpErrorKind::Connect,
                format!("cannot connect to {origin}: {detail}"),
            ),
            E::Tls(detail) => Self::new(
                HttpErrorKind::Tls,
                format!("TLS handshake with {origin} failed: {detail}"),
            ),
            E::Exchange(detail) => Self::new(
                HttpErrorKind::Exchange,
                format!("request to {origin} failed: {detail}"),
            ),
            E::Protocol(detail) => Self::new(
                HttpErrorKind::Exchange,
                format!("invalid HTTP response from {origin}: {detail}"),
            ),
            E::Body { status, detail } => Self::new(
                HttpErrorKind::Body,
                format!("HTTP {status} but reading the body failed: {detail}"),
            ),
            E::TooManyRedirects => Self::new(
                HttpErrorKind::Redirects,
                format!("too many redirects (more than {max_redirects})"),
            ),
        }
    }

    fn timeout(progress: &h1::Progress, timeout: Duration, origin: &str) -> Self {
        let after = crate::probe::human_duration(timeout);
        let message = match progress.stage() {
            h1::Stage::Resolve | h1::Stage::Connect | h1::Stage::Tls => {
                format!("no answer within {after} (timed out connecting to {origin})")
            }
            h1::Stage::Wait => format!("no answer within {after} (timed out waiting for {origin})"),
            h1::Stage::Body => format!(
                "HTTP {} but the body did not arrive within {after} (timed out)",
                progress.status()
            ),
        };
        Self::new(HttpErrorKind::Timeout, message)
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> HttpErrorKind {
        self.kind
    }

    /// Whether the request's time ran out.
    pub fn is_timeout(&self) -> bool {
        self.kind == HttpErrorKind::Timeout
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HttpError {}

/// Accepts any server certificate while still checking that the handshake was signed by the
/// certificate's key: for `insecure` HTTP checks of self-signed lab gear, and for PostgreSQL's
/// `prefer`/`require` modes (encryption without verification, as libpq does).
#[derive(Debug)]
pub(crate) struct AcceptAnyCertificate(rustls::crypto::WebPkiSupportedAlgorithms);

impl AcceptAnyCertificate {
    /// The verifier, checking signatures with `provider`'s algorithms.
    pub(crate) fn new(provider: &rustls::crypto::CryptoProvider) -> Self {
        Self(provider.signature_verification_algorithms)
    }
}

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A server that answers each connection's first request with `answer` and hands back
    /// what it was sent.
    async fn server(answer: &'static str) -> (u16, tokio::sync::mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    let mut buf = [0u8; 4096];
                    loop {
                        let n = sock.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        got.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&got).into_owned();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let len = text[..end]
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase()
                                        .strip_prefix("content-length:")
                                        .map(|v| v.trim().parse::<usize>().unwrap())
                                })
                                .unwrap_or(0);
                            if got.len() >= end + 4 + len {
                                let _ = tx.send(text).await;
                                let _ = sock.write_all(answer.as_bytes()).await;
                                got.clear();
                            }
                        }
                    }
                });
            }
        });
        (port, rx)
    }

    #[tokio::test]
    async fn posts_json_and_reads_status_headers_and_body() {
        let (port, mut seen) = server(
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Id: 7\r\n\
             Content-Length: 11\r\n\r\n{\"ok\":true}",
        )
        .await;
        let client = HttpClient::new();
        let url = format!("http://127.0.0.1:{port}/hooks/T0/SECRET?token=SECRET");
        for _ in 0..2 {
            let r = client
                .post(&url)
                .bearer_auth("TOKEN")
                .header("X-Forewarn-Notification", "n1")
                .json(&serde_json::json!({"text": "hello"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            assert_eq!(r.headers()["x-id"], "7");
            let body: serde_json::Value = r.json().unwrap();
            assert_eq!(body["ok"], true);
            let request = seen.recv().await.unwrap();
            assert!(
                request.starts_with("POST /hooks/T0/SECRET?token=SECRET HTTP/1.1\r\n"),
                "{request}"
            );
            for field in [
                "authorization: Bearer TOKEN",
                "x-forewarn-notification: n1",
                "content-type: application/json",
                "content-length: 16",
            ] {
                assert!(request.contains(field), "{field}: {request}");
            }
            assert!(request.ends_with("{\"text\":\"hello\"}"), "{request}");
        }
        // Both went over one kept-alive connection.
        assert!(
            format!("{client:?}").contains("idle_connections: 1"),
            "{client:?}"
        );
    }

    #[tokio::test]
    async fn errors_name_the_origin_only_and_say_when_time_ran_out() {
        // Nothing listens on a port just freed.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let client = HttpClient::new();
        let e = client
            .post(format!(
                "http://user:PASS@127.0.0.1:{port}/T0/SECRET?key=SECRET"
            ))
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), HttpErrorKind::Connect);
        let text = e.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(!text.contains("SECRET") && !text.contains("PASS"), "{text}");

        // A server that accepts and never answers.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((sock, _)) = listener.accept().await {
                open.push(sock);
            }
        });
        let e = client
            .get(format!("http://127.0.0.1:{port}/SECRET"))
            .timeout(Duration::from_millis(200))
            .send()
            .await
            .unwrap_err();
        assert!(e.is_timeout(), "{e}");
        assert!(e.to_string().starts_with("no answer within 200 ms"), "{e}");
        assert!(!e.to_string().contains("SECRET"), "{e}");
        held.abort();

        let e = client.get("ftp://host/").send().await.unwrap_err();
        assert_eq!(e.kind(), HttpErrorKind::Request);
        let e = client
            .get("http://127.0.0.1/")
            .header("x-token", "SECRET\n")
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), HttpErrorKind::Request);
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }
}
