//! The `http` probe's transport: a lean HTTP/1.1 client over pooled keep-alive connections,
//! plain TCP or rustls.
//!
//! A health check sends the same small request again and again and looks at the status line, a
//! few headers and sometimes the body. General-purpose clients pay for what a check never uses (a
//! task per connection, channels between it and the caller, header maps, HTTP/2 negotiation); here
//! the request bytes are serialised once when the probe is built, the response head is parsed in
//! place with `httparse`, and a connection goes back to a shared pool (per scheme, host and port)
//! when its response was read to the end. A pooled connection is checked for a close from the
//! server before reuse, and an idempotent request that finds its reused connection closed before
//! any response byte is sent again once on a fresh one.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU16, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use http::Method;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use parking_lot::Mutex;
use rustls::ClientConfig;
use url::Url;

use super::AcceptAnyCertificate;
use crate::sockets::ConnectFailure;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// At most this many idle connections are kept per scheme, host and port.
const MAX_IDLE_PER_HOST: usize = 256;
/// An idle connection older than this is closed rather than reused (servers commonly close
/// after 60–75 s).
const IDLE_TIMEOUT: Duration = Duration::from_secs(50);
/// A response head larger than this is refused.
const MAX_HEAD: usize = 64 * 1024;
/// How much is read from the socket at a time.
const READ_CHUNK: usize = 8 * 1024;
/// A chunk-size line (the size, blanks and chunk extensions) longer than this is refused.
const MAX_CHUNK_LINE: usize = 4 * 1024;
/// Trailer fields after a chunked body longer than this, in all, are refused.
const MAX_TRAILERS: usize = MAX_HEAD;

/// Where a request got to; read after a timeout to say what was being waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Stage {
    /// Resolving the host name.
    Resolve = 0,
    /// Opening the TCP connection.
    Connect = 1,
    /// The TLS handshake.
    Tls = 2,
    /// Sending the request and waiting for the response head.
    Wait = 3,
    /// Reading the body.
    Body = 4,
}

/// Progress of one request, shared with the caller so a timeout can name the stage it hit.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    stage: AtomicU8,
    status: AtomicU16,
}

impl Progress {
    fn set(&self, stage: Stage) {
        self.stage.store(stage as u8, Ordering::Relaxed);
    }

    /// The stage reached.
    pub(crate) fn stage(&self) -> Stage {
        match self.stage.load(Ordering::Relaxed) {
            0 => Stage::Resolve,
            1 => Stage::Connect,
            2 => Stage::Tls,
            3 => Stage::Wait,
            _ => Stage::Body,
        }
    }

    /// The status code of the response whose body was being read (0 before one arrived).
    pub(crate) fn status(&self) -> u16 {
        self.status.load(Ordering::Relaxed)
    }
}

/// What of a response is kept beside its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// The status only: the body is read and dropped.
    Status,
    /// The status and the body.
    Body,
    /// The status, the header fields and the body.
    HeadersAndBody,
}

/// Why a request failed.
#[derive(Debug)]
pub(crate) enum H1Error {
    /// The host name did not resolve.
    Dns(String),
    /// The server refused the connection.
    Refused,
    /// Another connect failure.
    Connect(String),
    /// The TLS handshake failed (certificate, protocol).
    Tls(String),
    /// Sending the request or reading the response head failed.
    Exchange(String),
    /// The response was not HTTP/1.x as expected.
    Protocol(String),
    /// The head arrived but the body could not be read.
    Body {
        /// The response's status code.
        status: u16,
        /// What went wrong.
        detail: String,
    },
    /// More redirects than allowed.
    TooManyRedirects,
}

/// The `user-agent` line a request carries unless it sets its own.
const DEFAULT_USER_AGENT: &[u8] =
    concat!("user-agent: forewarn/", env!("CARGO_PKG_VERSION"), "\r\n").as_bytes();

/// The `accept` line a request carries unless it sets its own.
const DEFAULT_ACCEPT: &[u8] = b"accept: */*\r\n";

/// A request, described once; [`H1Client::prepare`] serialises it.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The method.
    pub(crate) method: Method,
    /// The URL (scheme http or https).
    pub(crate) url: Url,
    /// Extra headers (authorisation among them).
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// The body, if any.
    pub(crate) body: Option<Arc<[u8]>>,
}

impl Request {
    /// What a [`Prepared`] keeps of the request: the method and target, then what a check adds
    /// to every request to its origin (its own headers, the end of the head and the body).
    /// The version, the `host` line and the default headers, the same for every request to
    /// the origin, are written when it is sent ([`Prepared::write_wire`]): a large schedule of
    /// `GET /` checks holds 9 bytes per check instead of about 80.
    fn compact(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.body.as_ref().map_or(0, |b| b.len()));
        self.encode_target(&mut out);
        out.extend_from_slice(b"\r\n");
        self.encode_rest(&mut out);
        out
    }

    /// The method and the request target (path and query).
    fn encode_target(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.url.path().as_bytes());
        if let Some(q) = self.url.query() {
            out.push(b'?');
            out.extend_from_slice(q.as_bytes());
        }
    }

    /// The check's own headers, the end of the head and the body.
    fn encode_rest(&self, out: &mut Vec<u8>) {
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        match &self.body {
            Some(body) => {
                out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
                out.extend_from_slice(body);
            }
            None if self.method == Method::POST || self.method == Method::PUT => {
                out.extend_from_slice(b"content-length: 0\r\n\r\n");
            }
            None => out.extend_from_slice(b"\r\n"),
        }
    }

    /// The request line, headers and body as sent on the wire, written out in one go: what
    /// [`Prepared::write_wire`] must give.
    #[cfg(test)]
    pub(crate) fn encode(&self) -> Vec<u8> {
        let url = &self.url;
        let mut out = Vec::with_capacity(128 + self.body.as_ref().map_or(0, |b| b.len()));
        self.encode_target(&mut out);
        out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        out.extend_from_slice(url.host_str().unwrap_or_default().as_bytes());
        if let Some(port) = url.port() {
            out.extend_from_slice(format!(":{port}").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        // The defaults, unless the check sets its own.
        let has = |name: &HeaderName| self.headers.iter().any(|(n, _)| n == name);
        if !has(&header::USER_AGENT) {
            out.extend_from_slice(DEFAULT_USER_AGENT);
        }
        if !has(&header::ACCEPT) {
            out.extend_from_slice(DEFAULT_ACCEPT);
        }
        self.encode_rest(&mut out);
        out
    }

    /// The request to send after a redirect to `next` with status `status`, following what
    /// browsers do: 303 (and 301/302 after a POST) become a GET without a body; credentials are
    /// not sent to another origin.
    fn redirected(&self, status: u16, next: Url) -> Request {
        let to_get = status == 303 && self.method != Method::HEAD
            || matches!(status, 301 | 302) && self.method == Method::POST;
        let same_origin = self.url.origin() == next.origin();
        let headers = self
            .headers
            .iter()
            .filter(|(name, _)| {
                same_origin
                    || (name != header::AUTHORIZATION
                        && name != header::COOKIE
                        && name != header::PROXY_AUTHORIZATION)
            })
            .cloned()
            .collect();
        Request {
            method: if to_get {
                Method::GET
            } else {
                self.method.clone()
            },
            body: if to_get { None } else { self.body.clone() },
            url: next,
            headers,
        }
    }
}

/// A request prepared once per probe: its bytes on the wire, its origin (shared with every
/// other request to the same scheme, host, port and certificate policy) and, only when it has
/// any, the extra headers and body a redirect needs to repeat.
///
/// The method and path are read back from the request line when they are needed (to follow a
/// redirect, to name the target), so a large schedule holds no parsed URL per check.
pub(crate) struct Prepared {
    origin: Arc<Origin>,
    /// See [`Request::compact`]: `METHOD target\r\n`, then the check's own headers, the end
    /// of the head and the body.
    encoded: Box<[u8]>,
    extra: Option<Box<Extra>>,
}

/// What a request carries beyond its method and URL.
struct Extra {
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<Arc<[u8]>>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may hold credentials: only their names are shown.
        let names: Vec<&str> = self
            .extra
            .iter()
            .flat_map(|e| e.headers.iter().map(|(n, _)| n.as_str()))
            .collect();
        f.debug_struct("Prepared")
            .field("method", &self.method())
            .field("origin", &self.origin.key)
            .field("path", &self.path())
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// The request line's method.
    pub(crate) fn method(&self) -> &str {
        let end = memchr::memchr(b' ', &self.encoded).unwrap_or(0);
        std::str::from_utf8(&self.encoded[..end]).unwrap_or_default()
    }

    /// The request target: path and query.
    pub(crate) fn path(&self) -> &str {
        let start = self.method().len() + 1;
        let line = &self.encoded[..self.line_end()];
        std::str::from_utf8(&line[start.min(line.len())..]).unwrap_or_default()
    }

    /// Where the method and target end (a target holds no `\r`: the URL parser encodes it).
    fn line_end(&self) -> usize {
        memchr::memchr(b'\r', &self.encoded).unwrap_or(self.encoded.len())
    }

    /// Appends the request as sent on the wire to `out`: the request line, the `host` line
    /// (the port only when it is not the scheme's), the default `user-agent` and `accept`
    /// unless the request sets its own, then its own headers and body.
    pub(crate) fn write_wire(&self, out: &mut Vec<u8>) {
        use std::io::Write as _;
        let end = self.line_end();
        let origin = &self.origin;
        // What is added below: the version, the host line (an IPv6 address is at most 39
        // characters, a port 6 with its colon) and the default headers.
        let host = match origin.host() {
            url::Host::Domain(name) => name.len(),
            _ => 39,
        };
        out.reserve(
            self.encoded.len() + DEFAULT_USER_AGENT.len() + DEFAULT_ACCEPT.len() + host + 40,
        );
        out.extend_from_slice(&self.encoded[..end]);
        out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        let default_port = if origin.key.tls { 443 } else { 80 };
        // Writing into a Vec cannot fail.
        let _ = if origin.port() == default_port {
            write!(out, "{}\r\n", origin.host())
        } else {
            write!(out, "{}:{}\r\n", origin.host(), origin.port())
        };
        let has = |name: &HeaderName| {
            self.extra
                .as_ref()
                .is_some_and(|e| e.headers.iter().any(|(n, _)| n == name))
        };
        if !has(&header::USER_AGENT) {
            out.extend_from_slice(DEFAULT_USER_AGENT);
        }
        if !has(&header::ACCEPT) {
            out.extend_from_slice(DEFAULT_ACCEPT);
        }
        out.extend_from_slice(&self.encoded[(end + 2).min(self.encoded.len())..]);
    }

    /// The origin the request goes to.
    pub(crate) fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The URL the request asks for.
    pub(crate) fn url(&self) -> Url {
        let origin = &self.origin;
        Url::parse(&format!(
            "{}://{}:{}{}",
            origin.scheme(),
            origin.host(),
            origin.port(),
            self.path()
        ))
        .expect("a prepared request's origin and path form a URL")
    }

    /// The request again, as [`Request`]: to derive the one a redirect leads to.
    pub(crate) fn request(&self) -> Request {
        Request {
            method: Method::from_bytes(self.method().as_bytes()).unwrap_or_default(),
            url: self.url(),
            headers: self
                .extra
                .as_ref()
                .map(|e| e.headers.clone())
                .unwrap_or_default(),
            body: self.extra.as_ref().and_then(|e| e.body.clone()),
        }
    }

    fn is_head(&self) -> bool {
        self.encoded.starts_with(b"HEAD ")
    }

    fn is_idempotent(&self) -> bool {
        !(self.encoded.starts_with(b"POST ") || self.encoded.starts_with(b"PATCH "))
    }
}

/// A response as the probe needs it.
#[derive(Debug)]
pub(crate) struct Response {
    /// The status code.
    pub(crate) status: u16,
    /// The body when it was asked for, at most the cap given.
    pub(crate) body: Option<Vec<u8>>,
    /// The header fields when they were asked for (empty otherwise).
    pub(crate) headers: HeaderMap,
    /// When the server's end-entity certificate expires (Unix seconds), on TLS connections
    /// whose certificate could be parsed.
    pub(crate) cert_not_after: Option<i64>,
}

/// What tells origins apart: scheme, host, port and certificate policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    tls: bool,
    insecure: bool,
    host: url::Host<String>,
    port: u16,
}

impl Key {
    /// The key of `url`'s origin; `insecure` accepts any certificate (it is kept for plain
    /// `http` too, so a redirect to `https` keeps the policy).
    pub(crate) fn of(url: &Url, insecure: bool) -> Key {
        let tls = url.scheme() == "https";
        Key {
            tls,
            insecure,
            host: url
                .host()
                .map_or_else(|| url::Host::Domain(String::new()), |h| h.to_owned()),
            port: url
                .port_or_known_default()
                .unwrap_or(if tls { 443 } else { 80 }),
        }
    }
}

/// One scheme, host, port and certificate policy, and its idle keep-alive connections. Every
/// request to it shares one `Origin`.
pub(crate) struct Origin {
    key: Key,
    idle: Mutex<VecDeque<Conn>>,
}

impl Origin {
    /// The host (an IPv6 address displays in brackets).
    pub(crate) fn host(&self) -> &url::Host<String> {
        &self.key.host
    }

    /// The port.
    pub(crate) fn port(&self) -> u16 {
        self.key.port
    }

    /// `http` or `https`.
    pub(crate) fn scheme(&self) -> &'static str {
        if self.key.tls { "https" } else { "http" }
    }
}

/// The origins in use, so requests to the same one share it; origins no request holds any more
/// are dropped (closing their idle connections) as the set grows.
#[derive(Default)]
struct Origins {
    by_key: HashMap<Key, Arc<Origin>>,
    /// The set's size after the last sweep.
    swept_at: usize,
}

enum Io {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Io {
    fn tcp(&self) -> &TcpStream {
        match self {
            Io::Plain(s) => s,
            Io::Tls(s) => s.get_ref().0,
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Io::Plain(s) => s.write_all(bytes).await,
            Io::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
        }
    }
}

/// Where a response's bytes come from: a connection's socket or, for the tests and the fuzz
/// harness, memory. The response reader below works on either.
pub(crate) trait Source {
    /// Appends what arrives next to `buf` and says how much that was; 0 at the end of the stream.
    async fn read_into(&mut self, buf: &mut Vec<u8>) -> io::Result<usize>;
}

impl Source for Io {
    async fn read_into(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        match self {
            Io::Plain(s) => read_plain(s, buf).await,
            Io::Tls(s) => {
                if buf.capacity() - buf.len() < READ_CHUNK / 2 {
                    buf.reserve(READ_CHUNK);
                }
                s.read_buf(buf).await
            }
        }
    }
}

thread_local! {
    /// Where a plain connection's bytes land first; see [`read_plain`].
    static SCRATCH: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}

/// Reads what `stream` has (up to [`READ_CHUNK`]) into this thread's scratch buffer and appends
/// it to `buf`, which so grows by what arrived rather than by a chunk; once `buf` has a chunk of
/// room to spare (a long body), straight into it.
///
/// A check's response is usually a few hundred bytes, while a chunk reserved for it is 8 KiB:
/// at a hundred connections in flight (2,000 checks a second and their batch window), those
/// chunks filled whole pages of the allocator that were emptied, handed back to the system and
/// faulted in again on every batch, about a fourteenth of an HTTP check's CPU.
async fn read_plain(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    if buf.capacity() - buf.len() >= READ_CHUNK {
        return stream.read_buf(buf).await;
    }
    loop {
        stream.readable().await?;
        let read = SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let n = stream.try_read(&mut scratch)?;
            buf.extend_from_slice(&scratch[..n]);
            Ok::<_, io::Error>(n)
        });
        match read {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            read => return read,
        }
    }
}

struct Conn {
    io: Io,
    /// Bytes read but not consumed yet.
    buf: Vec<u8>,
    /// When the peer's certificate expires (Unix seconds), parsed once per connection.
    cert_not_after: Option<i64>,
    idle_since: Instant,
    /// A plain connection's peer: its socket is kept for the next connection when this one
    /// is done ([`Conn::close`]).
    recycle: Option<SocketAddr>,
}

impl Conn {
    /// Ends a connection that will not be reused after a complete exchange: a plain one is
    /// reset and its socket kept for the next connection (the server, which closed or was
    /// about to, keeps no `TIME_WAIT` for it either); any other is closed.
    fn close(self) {
        if let (Io::Plain(stream), Some(addr)) = (self.io, self.recycle) {
            crate::sockets::recycle(stream, addr);
        }
    }

    /// Whether an idle connection still looks usable: nothing to read and no close from the
    /// server. Readiness is what the runtime already knows, so this usually costs no system call.
    fn looks_alive(&self) -> bool {
        let mut byte = [0u8; 1];
        match self.io.tcp().peek(&mut byte).now_or_never() {
            None => true,
            Some(Ok(0)) | Some(Err(_)) => false,
            // A plain connection has no business sending before a request; TLS may have sent
            // session tickets, which the TLS layer reads with the next response.
            Some(Ok(_)) => matches!(self.io, Io::Tls(_)),
        }
    }
}

/// The transport shared by every `http` probe of a monitor.
pub(crate) struct H1Client {
    origins: Mutex<Origins>,
    verified: OnceLock<Result<Arc<ClientConfig>, String>>,
    unverified: OnceLock<Arc<ClientConfig>>,
}

impl Default for H1Client {
    fn default() -> Self {
        Self {
            origins: Mutex::new(Origins::default()),
            verified: OnceLock::new(),
            unverified: OnceLock::new(),
        }
    }
}

impl std::fmt::Debug for H1Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origins = self.origins.lock();
        let idle: usize = origins.by_key.values().map(|o| o.idle.lock().len()).sum();
        f.debug_struct("H1Client")
            .field("origins", &origins.by_key.len())
            .field("idle_connections", &idle)
            .finish_non_exhaustive()
    }
}

/// How a body ends.
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Collects (up to a cap) or discards the body.
struct BodySink {
    keep: Option<Vec<u8>>,
    cap: usize,
    seen: usize,
}

impl BodySink {
    fn take(&mut self, bytes: &[u8]) {
        self.seen += bytes.len();
        if let Some(keep) = &mut self.keep {
            let room = self.cap - keep.len();
            keep.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }

    /// Past the cap: stop reading (the connection is then closed, not pooled).
    fn full(&self) -> bool {
        self.seen >= self.cap
    }
}

/// What an exchange on one connection produced.
pub(crate) enum Outcome {
    /// A response; whether the connection can be pooled again.
    Done(Response, Option<String>, bool),
    /// The connection closed (or failed) before any response byte: worth one retry when reused.
    ClosedEarly(io::Error),
}

impl H1Client {
    /// Prepares `request` once: serialises it and finds its origin. `insecure` accepts any TLS
    /// certificate.
    pub(crate) fn prepare(&self, request: Request, insecure: bool) -> Prepared {
        let encoded = request.compact().into_boxed_slice();
        let origin = self.origin(Key::of(&request.url, insecure));
        let Request { headers, body, .. } = request;
        let extra =
            (!headers.is_empty() || body.is_some()).then(|| Box::new(Extra { headers, body }));
        Prepared {
            origin,
            encoded,
            extra,
        }
    }

    /// The shared origin for `key`. Every time the set has doubled since the last sweep, the
    /// origins nothing refers to any more are dropped.
    fn origin(&self, key: Key) -> Arc<Origin> {
        let mut origins = self.origins.lock();
        if let Some(origin) = origins.by_key.get(&key) {
            return origin.clone();
        }
        if origins.by_key.len() >= 2 * origins.swept_at.max(16) {
            origins.by_key.retain(|_, o| Arc::strong_count(o) > 1);
            origins.swept_at = origins.by_key.len();
        }
        let origin = Arc::new(Origin {
            key: key.clone(),
            idle: Mutex::new(VecDeque::new()),
        });
        origins.by_key.insert(key, origin.clone());
        origin
    }

    /// Sends `prepared`, following up to `max_redirects` redirects, and reads the final
    /// response, keeping what `want` asks for. The body is kept up to `body_cap` bytes; when it
    /// is not wanted, up to `body_cap` bytes are read and dropped so the connection can be
    /// reused, and a longer body closes it.
    pub(crate) async fn send(
        &self,
        prepared: &Prepared,
        max_redirects: u8,
        want: Want,
        body_cap: usize,
        progress: &Progress,
    ) -> Result<Response, H1Error> {
        let (mut response, mut location) = self.once(prepared, want, body_cap, progress).await?;
        if max_redirects == 0 {
            return Ok(response);
        }
        let mut current: Option<Prepared> = None;
        let mut hops = 0u8;
        loop {
            let from = current.as_ref().unwrap_or(prepared);
            let next = match (&location, response.status) {
                (Some(loc), 301 | 302 | 303 | 307 | 308) => from.url().join(loc).ok(),
                _ => None,
            };
            let Some(next) = next.filter(|u| matches!(u.scheme(), "http" | "https")) else {
                return Ok(response);
            };
            if hops == max_redirects {
                return Err(H1Error::TooManyRedirects);
            }
            hops += 1;
            let next = self.prepare(
                from.request().redirected(response.status, next),
                prepared.origin.key.insecure,
            );
            (response, location) = self.once(&next, want, body_cap, progress).await?;
            current = Some(next);
        }
    }

    /// One request on a pooled or new connection, with the one retry for a stale pooled one.
    async fn once(
        &self,
        prepared: &Prepared,
        want: Want,
        body_cap: usize,
        progress: &Progress,
    ) -> Result<(Response, Option<String>), H1Error> {
        let origin = &*prepared.origin;
        let head = prepared.is_head();
        if let Some(mut conn) = checkout(origin) {
            progress.set(Stage::Wait);
            match exchange(&mut conn, prepared, head, want, body_cap, progress).await? {
                Outcome::Done(response, location, reusable) => {
                    if reusable {
                        checkin(origin, conn);
                    } else {
                        conn.close();
                    }
                    return Ok((response, location));
                }
                Outcome::ClosedEarly(e) if !prepared.is_idempotent() => {
                    return Err(H1Error::Exchange(format!(
                        "the kept-alive connection closed before a response: {e}"
                    )));
                }
                Outcome::ClosedEarly(_) => {}
            }
        }
        let mut conn = self.connect(origin, progress).await?;
        progress.set(Stage::Wait);
        match exchange(&mut conn, prepared, head, want, body_cap, progress).await? {
            Outcome::Done(response, location, reusable) => {
                if reusable {
                    checkin(origin, conn);
                } else {
                    conn.close();
                }
                Ok((response, location))
            }
            Outcome::ClosedEarly(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(
                H1Error::Exchange("the server closed the connection without a response".into()),
            ),
            Outcome::ClosedEarly(e) => Err(H1Error::Exchange(e.to_string())),
        }
    }

    async fn connect(&self, origin: &Origin, progress: &Progress) -> Result<Conn, H1Error> {
        progress.set(Stage::Resolve);
        let key = &origin.key;
        let port = key.port;
        let addrs: Vec<SocketAddr> = match &key.host {
            url::Host::Ipv4(ip) => vec![SocketAddr::from((*ip, port))],
            url::Host::Ipv6(ip) => vec![SocketAddr::from((*ip, port))],
            url::Host::Domain(name) if name.is_empty() => {
                return Err(H1Error::Dns("the URL has no host".into()));
            }
            url::Host::Domain(name) => tokio::net::lookup_host((name.as_str(), port))
                .await
                .map_err(|e| H1Error::Dns(e.to_string()))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(H1Error::Dns("no addresses".into()));
        }
        progress.set(Stage::Connect);
        let mut last_error = None;
        let mut tcp = None;
        // A plain connection ends with a reset and leaves its socket for the next request
        // (`Conn::close`); the time limit is the caller's.
        let reuse = !key.tls;
        let no_limit = tokio::time::Instant::now() + Duration::from_secs(86_400);
        for addr in addrs {
            let connected = crate::sockets::connect(addr, no_limit, reuse).await;
            match connected.and_then(|c| {
                c.into_stream()
                    .map(|s| (s, addr))
                    .map_err(|e| ConnectFailure::Io(addr, e))
            }) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(ConnectFailure::Io(_, e)) => last_error = Some(e),
                Err(ConnectFailure::TimedOut(_)) => {
                    last_error = Some(io::ErrorKind::TimedOut.into());
                }
            }
        }
        let (tcp, addr) = match (tcp, last_error) {
            (Some(s), _) => s,
            (None, Some(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                return Err(H1Error::Refused);
            }
            (None, e) => {
                return Err(H1Error::Connect(
                    e.map_or_else(|| "no address answered".into(), |e| e.to_string()),
                ));
            }
        };
        if !key.tls {
            // `TCP_NODELAY` is set already on a socket that may be kept (`sockets::connect`).
            return Ok(Conn {
                io: Io::Plain(tcp),
                buf: Vec::new(),
                cert_not_after: None,
                idle_since: Instant::now(),
                recycle: Some(addr),
            });
        }
        let _ = tcp.set_nodelay(true);
        progress.set(Stage::Tls);
        let config = self.tls_config(key.insecure).map_err(H1Error::Tls)?;
        let name = match &key.host {
            url::Host::Ipv4(ip) => ServerName::IpAddress(std::net::IpAddr::V4(*ip).into()),
            url::Host::Ipv6(ip) => ServerName::IpAddress(std::net::IpAddr::V6(*ip).into()),
            url::Host::Domain(name) => ServerName::try_from(name.clone())
                .map_err(|e| H1Error::Tls(format!("invalid server name: {e}")))?,
        };
        let tls = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| H1Error::Tls(tls_detail(&e)))?;
        let cert_not_after = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|der| x509_parser::parse_x509_certificate(der).ok())
            .map(|(_, cert)| cert.validity().not_after.timestamp());
        Ok(Conn {
            io: Io::Tls(Box::new(tls)),
            buf: Vec::new(),
            cert_not_after,
            idle_since: Instant::now(),
            recycle: None,
        })
    }

    fn tls_config(&self, insecure: bool) -> Result<Arc<ClientConfig>, String> {
        crate::http_client::install_crypto_provider();
        if insecure {
            return Ok(self
                .unverified
                .get_or_init(|| {
                    let provider = rustls::crypto::ring::default_provider();
                    let mut config = ClientConfig::builder()
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate::new(
                            &provider,
                        )))
                        .with_no_client_auth();
                    config.alpn_protocols = vec![b"http/1.1".to_vec()];
                    Arc::new(config)
                })
                .clone());
        }
        self.verified
            .get_or_init(|| {
                use rustls_platform_verifier::BuilderVerifierExt as _;
                let mut config = ClientConfig::builder()
                    .with_platform_verifier()
                    .map_err(|e| format!("cannot load the system's certificate roots: {e}"))?
                    .with_no_client_auth();
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                Ok(Arc::new(config))
            })
            .clone()
    }
}

/// The most recently used live idle connection to `origin`, if any.
fn checkout(origin: &Origin) -> Option<Conn> {
    let mut stale = Vec::new();
    let found = {
        let mut queue = origin.idle.lock();
        let mut found = None;
        while let Some(conn) = queue.pop_back() {
            if conn.idle_since.elapsed() > IDLE_TIMEOUT {
                // Everything below it is older still.
                stale.push(conn);
                stale.extend(queue.drain(..));
                break;
            }
            if conn.looks_alive() {
                found = Some(conn);
                break;
            }
            stale.push(conn);
        }
        found
    };
    // Closing sockets outside the lock.
    drop(stale);
    found
}

/// Returns a connection whose response was read to the end to its origin's idle set. Its read
/// buffer is released: an idle connection holds no memory beyond its socket.
fn checkin(origin: &Origin, mut conn: Conn) {
    if !conn.buf.is_empty() {
        return;
    }
    conn.buf = Vec::new();
    conn.idle_since = Instant::now();
    let evicted = {
        let mut queue = origin.idle.lock();
        queue.push_back(conn);
        (queue.len() > MAX_IDLE_PER_HOST).then(|| queue.pop_front())
    };
    drop(evicted);
}

/// The TLS error itself rather than the I/O wrapper around it.
fn tls_detail(e: &io::Error) -> String {
    match e.get_ref() {
        Some(inner) => inner.to_string(),
        None => e.to_string(),
    }
}

/// Sends the request and reads the response on `conn`.
async fn exchange(
    conn: &mut Conn,
    prepared: &Prepared,
    head_request: bool,
    want: Want,
    body_cap: usize,
    progress: &Progress,
) -> Result<Outcome, H1Error> {
    // The request is written out in the connection's buffer, which then reads the response:
    // one allocation for both.
    conn.buf.clear();
    prepared.write_wire(&mut conn.buf);
    if let Err(e) = conn.io.send(&conn.buf).await {
        return Ok(Outcome::ClosedEarly(e));
    }
    conn.buf.clear();
    let mut outcome = read_response(
        &mut conn.io,
        &mut conn.buf,
        head_request,
        want,
        body_cap,
        progress,
    )
    .await?;
    if let Outcome::Done(response, ..) = &mut outcome {
        response.cert_not_after = conn.cert_not_after;
    }
    Ok(outcome)
}

/// Reads one response from `io`, `buf` holding what was read but not consumed (before and
/// after): the head, skipping interim (1xx) responses, then the body as the head frames it.
pub(crate) async fn read_response(
    io: &mut impl Source,
    buf: &mut Vec<u8>,
    head_request: bool,
    want: Want,
    body_cap: usize,
    progress: &Progress,
) -> Result<Outcome, H1Error> {
    let want_body = matches!(want, Want::Body | Want::HeadersAndBody);
    let mut headers = HeaderMap::new();
    let (status, framing, location, mut reusable) = loop {
        let parsed = parse_head(buf, head_request)?;
        if let Some((head_len, status, framing, location, keep_alive)) = parsed {
            if (100..200).contains(&status) && status != 101 {
                buf.drain(..head_len);
                continue;
            }
            if want == Want::HeadersAndBody {
                headers = header_fields(&buf[..head_len]);
            }
            buf.drain(..head_len);
            break (status, framing, location, keep_alive);
        }
        if buf.len() > MAX_HEAD {
            return Err(H1Error::Protocol("the response head is too large".into()));
        }
        match io.read_into(buf).await {
            Ok(0) if buf.is_empty() => {
                return Ok(Outcome::ClosedEarly(io::ErrorKind::UnexpectedEof.into()));
            }
            Ok(0) => {
                return Err(H1Error::Protocol(
                    "the connection closed in the middle of the response head".into(),
                ));
            }
            Ok(_) => {}
            Err(e) if buf.is_empty() => return Ok(Outcome::ClosedEarly(e)),
            Err(e) => return Err(H1Error::Exchange(e.to_string())),
        }
    };
    progress.status.store(status, Ordering::Relaxed);
    progress.set(Stage::Body);
    let mut sink = BodySink {
        keep: want_body.then(Vec::new),
        cap: body_cap,
        seen: 0,
    };
    let body_error = |detail: String| H1Error::Body { status, detail };
    let complete = match framing {
        Framing::None => true,
        Framing::Length(n) => read_length(io, buf, n, &mut sink)
            .await
            .map_err(body_error)?,
        Framing::Chunked => read_chunked(io, buf, &mut sink).await.map_err(body_error)?,
        Framing::UntilClose => {
            read_until_close(io, buf, &mut sink)
                .await
                .map_err(body_error)?;
            false
        }
    };
    reusable &= complete && status != 101;
    let response = Response {
        status,
        body: sink.keep,
        headers,
        cert_not_after: None,
    };
    Ok(Outcome::Done(response, location, reusable))
}

/// The header fields of a complete response head (fields that are not valid HTTP are left
/// out).
fn header_fields(head: &[u8]) -> HeaderMap {
    let mut fields = [httparse::EMPTY_HEADER; 100];
    let mut response = httparse::Response::new(&mut fields);
    let mut map = HeaderMap::new();
    if response.parse(head).is_ok() {
        for h in response.headers.iter() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(h.name.as_bytes()),
                HeaderValue::from_bytes(h.value),
            ) {
                map.append(name, value);
            }
        }
    }
    map
}

/// The parsed head: its length, status, body framing, `Location` and whether the connection
/// stays open. `None` while incomplete.
type Head = (usize, u16, Framing, Option<String>, bool);

fn parse_head(buf: &[u8], head_request: bool) -> Result<Option<Head>, H1Error> {
    if buf.is_empty() {
        return Ok(None);
    }
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => {
            return Err(H1Error::Protocol(format!("not an HTTP/1.x response ({e})")));
        }
    };
    let status = response.code.unwrap_or(0);
    let http10 = response.version == Some(0);
    let mut keep_alive = !http10;
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut location = None;
    for h in response.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| H1Error::Protocol("invalid Content-Length".into()))?;
            if length.is_some_and(|m| m != n) {
                return Err(H1Error::Protocol("conflicting Content-Length".into()));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = h
                .value
                .rsplit(|b| *b == b',')
                .next()
                .is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            if !chunked {
                // Any other final coding is delimited by the close.
                keep_alive = false;
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for token in h.value.split(|b| *b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") && http10 {
                    keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("location") {
            location = std::str::from_utf8(h.value).ok().map(str::to_owned);
        }
    }
    let framing = if head_request || status == 204 || status == 304 || (100..200).contains(&status)
    {
        Framing::None
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = length {
        Framing::Length(n)
    } else {
        // Neither a length nor chunks: the body runs to the close.
        keep_alive = false;
        Framing::UntilClose
    };
    Ok(Some((head_len, status, framing, location, keep_alive)))
}

fn io_detail(e: io::Error) -> String {
    e.to_string()
}

/// Reads a body of `n` bytes. `Ok(true)` when it was read to the end.
async fn read_length(
    io: &mut impl Source,
    buf: &mut Vec<u8>,
    n: u64,
    sink: &mut BodySink,
) -> Result<bool, String> {
    let mut left = n;
    loop {
        let take = (buf.len() as u64).min(left) as usize;
        sink.take(&buf[..take]);
        buf.drain(..take);
        left -= take as u64;
        if left == 0 {
            return Ok(true);
        }
        if sink.full() {
            return Ok(false);
        }
        match io.read_into(buf).await.map_err(io_detail)? {
            0 => {
                return Err(format!(
                    "the connection closed with {left} of {n} bytes still to come"
                ));
            }
            _ => continue,
        }
    }
}

/// Reads a chunked body and its trailers. `Ok(true)` when it was read to the end. What is
/// held before it can be consumed is bounded: a chunk-size line by [`MAX_CHUNK_LINE`], the
/// trailers by [`MAX_TRAILERS`].
async fn read_chunked(
    io: &mut impl Source,
    buf: &mut Vec<u8>,
    sink: &mut BodySink,
) -> Result<bool, String> {
    loop {
        let size = match httparse::parse_chunk_size(buf) {
            Ok(httparse::Status::Complete((used, size))) => {
                buf.drain(..used);
                size
            }
            Ok(httparse::Status::Partial) => {
                // Everything buffered is the unfinished line.
                if buf.len() > MAX_CHUNK_LINE {
                    return Err(format!(
                        "a chunk size line is longer than {MAX_CHUNK_LINE} bytes"
                    ));
                }
                fill(io, buf).await?;
                continue;
            }
            Err(_) => return Err("invalid chunk size in a chunked body".into()),
        };
        if size == 0 {
            // Trailers: lines up to an empty one.
            let mut trailers = 0;
            loop {
                match buf.windows(2).position(|w| w == b"\r\n") {
                    Some(0) => {
                        buf.drain(..2);
                        return Ok(true);
                    }
                    Some(i) => {
                        buf.drain(..i + 2);
                        trailers += i + 2;
                    }
                    None => fill(io, buf).await?,
                }
                if trailers + buf.len() > MAX_TRAILERS {
                    return Err(format!("the trailers are longer than {MAX_TRAILERS} bytes"));
                }
            }
        }
        let mut left = size;
        while left > 0 {
            if buf.is_empty() {
                fill(io, buf).await?;
            }
            let take = (buf.len() as u64).min(left) as usize;
            sink.take(&buf[..take]);
            buf.drain(..take);
            left -= take as u64;
            if sink.full() {
                return Ok(false);
            }
        }
        while buf.len() < 2 {
            fill(io, buf).await?;
        }
        if &buf[..2] != b"\r\n" {
            return Err("a chunk does not end with CRLF".into());
        }
        buf.drain(..2);
    }
}

async fn read_until_close(
    io: &mut impl Source,
    buf: &mut Vec<u8>,
    sink: &mut BodySink,
) -> Result<(), String> {
    loop {
        sink.take(buf);
        buf.clear();
        if sink.full() {
            return Ok(());
        }
        if io.read_into(buf).await.map_err(io_detail)? == 0 {
            return Ok(());
        }
    }
}

async fn fill(io: &mut impl Source, buf: &mut Vec<u8>) -> Result<(), String> {
    match io.read_into(buf).await.map_err(io_detail)? {
        0 => Err("the connection closed in the middle of a chunked body".into()),
        _ => Ok(()),
    }
}

/// Response bytes from memory, handed out `step` bytes at a time, then the end of the stream.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) struct Pieces<'a> {
    data: &'a [u8],
    step: usize,
}

#[cfg(any(test, feature = "fuzzing"))]
impl<'a> Pieces<'a> {
    /// `data`, `step` bytes (at least one) per read.
    pub(crate) fn new(data: &'a [u8], step: usize) -> Self {
        Self {
            data,
            step: step.max(1),
        }
    }
}

#[cfg(any(test, feature = "fuzzing"))]
impl Source for Pieces<'_> {
    async fn read_into(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let (now, rest) = self.data.split_at(self.step.min(self.data.len()));
        buf.extend_from_slice(now);
        self.data = rest;
        Ok(now.len())
    }
}

/// [`read_response`] from a source that never waits (memory): for the tests and the fuzz
/// harness, without a runtime.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn read_ready(
    source: &mut impl Source,
    head_request: bool,
    want_body: bool,
    body_cap: usize,
) -> Result<Outcome, H1Error> {
    let mut buf = Vec::new();
    read_response(
        source,
        &mut buf,
        head_request,
        if want_body { Want::Body } else { Want::Status },
        body_cap,
        &Progress::default(),
    )
    .now_or_never()
    .expect("a source in memory never waits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn head(raw: &str) -> Head {
        parse_head(raw.as_bytes(), false).unwrap().unwrap()
    }

    #[test]
    fn framing_from_the_head() {
        let (len, status, framing, location, keep) =
            head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        assert_eq!((len, status, keep, location), (38, 200, true, None));
        assert!(matches!(framing, Framing::Length(5)));

        let (_, _, framing, _, keep) =
            head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert!(matches!(framing, Framing::Chunked) && keep);

        let (_, _, framing, _, keep) = head("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n");
        assert!(matches!(framing, Framing::UntilClose) && !keep);

        let (_, _, framing, _, keep) = head("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n");
        assert!(matches!(framing, Framing::Length(2)) && !keep, "1.0 closes");
        let (_, _, _, _, keep) =
            head("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\n");
        assert!(keep);
        let (_, _, _, _, keep) =
            head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n");
        assert!(!keep);

        let (_, status, framing, location, _) =
            head("HTTP/1.1 301 Moved\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n");
        assert_eq!((status, location.as_deref()), (301, Some("/next")));
        assert!(matches!(framing, Framing::Length(0)));

        let (_, _, framing, _, keep) = head("HTTP/1.1 204 No Content\r\n\r\n");
        assert!(matches!(framing, Framing::None) && keep);
        let (_, _, framing, _, _) =
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true)
                .unwrap()
                .unwrap();
        assert!(matches!(framing, Framing::None), "HEAD has no body");
    }

    #[test]
    fn bad_heads_are_errors_partial_ones_wait() {
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Le", false)
                .unwrap()
                .is_none()
        );
        assert!(matches!(
            parse_head(b"SSH-2.0-OpenSSH_9.2\r\n", false),
            Err(H1Error::Protocol(_))
        ));
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false),
            Err(H1Error::Protocol(_))
        ));
        assert!(matches!(
            parse_head(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                false
            ),
            Err(H1Error::Protocol(_))
        ));
    }

    /// A peer that sends `head`, then `pattern` again and again; reading more than a mebibyte
    /// of it fails the test instead of buffering without end.
    struct Endless {
        head: &'static [u8],
        pattern: &'static [u8],
        sent: usize,
    }

    impl Source for Endless {
        async fn read_into(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
            assert!(
                self.sent < 1 << 20,
                "read {} bytes without giving up (buffered {})",
                self.sent,
                buf.len()
            );
            let before = buf.len();
            if self.sent < self.head.len() {
                buf.extend_from_slice(&self.head[self.sent..]);
            } else {
                while buf.len() - before < READ_CHUNK {
                    buf.extend_from_slice(self.pattern);
                }
            }
            self.sent += buf.len() - before;
            Ok(buf.len() - before)
        }
    }

    /// What a reading gave, to compare readings.
    fn outcome(r: Result<Outcome, H1Error>) -> String {
        match r {
            Ok(Outcome::Done(response, location, reusable)) => format!(
                "{} {:?} {location:?} {reusable}",
                response.status, response.body
            ),
            Ok(Outcome::ClosedEarly(e)) => format!("closed early: {e}"),
            Err(e) => format!("{e:?}"),
        }
    }

    #[test]
    fn a_response_reads_the_same_in_any_pieces() {
        for wire in [
            &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n"[..],
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.0 200 OK\r\n\r\nuntil the end",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
        ] {
            let whole = outcome(read_ready(&mut Pieces::new(wire, wire.len()), false, true, 1024));
            assert!(!whole.contains("closed early"), "{whole}");
            for step in 1..wire.len() {
                let pieces = outcome(read_ready(&mut Pieces::new(wire, step), false, true, 1024));
                assert_eq!(pieces, whole, "{} bytes at a time", step);
            }
        }
    }

    #[test]
    fn endless_chunk_lines_and_trailers_are_refused() {
        const CHUNKED: &str = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (head, pattern, want) in [
            // A chunk extension that never ends.
            ("5;", &b"x"[..], "chunk size line is longer than"),
            // Blanks after the size that never end.
            ("5", b" ", "chunk size line is longer than"),
            // One trailer field that never ends.
            ("0\r\nX-Trailer: ", b"y", "trailers are longer than"),
            // Trailer fields that never end.
            ("0\r\n", b"X-Trailer: y\r\n", "trailers are longer than"),
        ] {
            let head: &'static str = format!("{CHUNKED}{head}").leak();
            let mut peer = Endless {
                head: head.as_bytes(),
                pattern,
                sent: 0,
            };
            match read_ready(&mut peer, false, true, 1024) {
                Err(H1Error::Body {
                    status: 200,
                    detail,
                }) => assert!(detail.contains(want), "{head:?}: {detail}"),
                Err(e) => panic!("{head:?}: {e:?}"),
                Ok(_) => panic!("{head:?}: a response"),
            }
            assert!(peer.sent < 128 * 1024, "{head:?}: read {}", peer.sent);
        }
    }

    /// A request with no headers and no body.
    fn bare(method: Method, url: &str) -> Request {
        Request {
            method,
            url: Url::parse(url).unwrap(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// A login form POST with a bearer token.
    fn login_post(url: &str) -> Request {
        Request {
            headers: vec![(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"))],
            body: Some(Arc::from(&b"a=1"[..])),
            ..bare(Method::POST, url)
        }
    }

    #[test]
    fn encoding_and_redirect_rules() {
        let request = login_post("http://portal.example:8080/login?next=%2F#top");
        let text = String::from_utf8(request.encode()).unwrap();
        assert!(
            text.starts_with("POST /login?next=%2F HTTP/1.1\r\nhost: portal.example:8080\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nauthorization: Bearer t\r\n"), "{text}");
        assert!(text.ends_with("\r\ncontent-length: 3\r\n\r\na=1"), "{text}");

        let same = request.redirected(302, Url::parse("http://portal.example:8080/home").unwrap());
        assert_eq!(same.method, Method::GET);
        assert!(same.body.is_none());
        assert_eq!(same.headers.len(), 1, "same origin keeps credentials");
        let other = request.redirected(307, Url::parse("https://sso.example/").unwrap());
        assert_eq!(other.method, Method::POST, "307 keeps the method");
        assert!(other.body.is_some());
        assert!(
            other.headers.is_empty(),
            "credentials stay with their origin"
        );
        let text = String::from_utf8(other.encode()).unwrap();
        assert!(text.contains("\r\nhost: sso.example\r\n"), "{text}");

        // A check's own Accept or User-Agent replaces the default instead of following it.
        let own = Request {
            headers: vec![(header::ACCEPT, HeaderValue::from_static("application/json"))],
            ..bare(Method::GET, "http://portal.example/api")
        };
        let text = String::from_utf8(own.encode()).unwrap();
        assert_eq!(text.matches("accept:").count(), 1, "{text}");
        assert!(text.contains("\r\naccept: application/json\r\n"), "{text}");
        assert!(text.contains("\r\nuser-agent: forewarn/"), "{text}");
    }

    #[test]
    fn a_prepared_request_goes_on_the_wire_as_written_out_in_one_go() {
        let client = H1Client::default();
        let own_agent = |url: &str| Request {
            headers: vec![
                (
                    header::USER_AGENT,
                    HeaderValue::from_static("district-probe/2"),
                ),
                (
                    header::HeaderName::from_static("x-school"),
                    HeaderValue::from_static("B12"),
                ),
            ],
            ..bare(Method::GET, url)
        };
        let own_accept = |url: &str| Request {
            headers: vec![(header::ACCEPT, HeaderValue::from_static("application/json"))],
            ..bare(Method::GET, url)
        };
        let mut requests: Vec<Request> = [
            (Method::GET, "http://127.0.0.1:19101/"),
            (Method::GET, "http://127.0.0.1/"),
            (Method::GET, "http://127.0.0.1:80/"),
            (Method::GET, "http://sis.example:443/x"),
            (Method::GET, "https://sis.example:443/x"),
            (Method::GET, "https://sis.example:8443/x?a=1&b=%20"),
            (Method::HEAD, "https://[::1]/health"),
            (Method::HEAD, "http://[fe80::1]:8080/"),
            (Method::GET, "http://XN--bcher-kva.example/Caf%C3%A9"),
            (Method::GET, "http://bücher.example/"),
            (Method::POST, "http://portal.example/submit"),
            (Method::PUT, "http://portal.example/item/1"),
            (Method::DELETE, "http://portal.example/item/1"),
        ]
        .into_iter()
        .map(|(method, url)| bare(method, url))
        .collect();
        requests.extend([
            login_post("http://portal.example:8080/login?next=%2F"),
            own_agent("http://portal.example/api"),
            own_accept("https://portal.example/api"),
        ]);
        for request in requests {
            for insecure in [false, true] {
                let prepared = client.prepare(request.clone(), insecure);
                let mut wire = b"left over".to_vec();
                prepared.write_wire(&mut wire);
                assert_eq!(
                    String::from_utf8_lossy(&wire[9..]),
                    String::from_utf8_lossy(&request.encode()),
                    "{}",
                    request.url
                );
            }
        }
        // What a check keeps of a plain GET: its method and target.
        let plain = client.prepare(bare(Method::GET, "http://127.0.0.1:19101/"), false);
        assert_eq!(&*plain.encoded, b"GET /\r\n\r\n");
        assert_eq!(plain.path(), "/");
    }

    #[test]
    fn a_prepared_request_gives_back_what_it_was_built_from() {
        let client = H1Client::default();
        let post = login_post("http://portal.example:8080/login?next=%2F");
        let prepared = client.prepare(post.clone(), false);
        assert_eq!(prepared.method(), "POST");
        assert_eq!(prepared.path(), "/login?next=%2F");
        assert_eq!(prepared.url(), post.url);
        assert!(!prepared.is_head() && !prepared.is_idempotent());
        let again = prepared.request();
        assert_eq!(again.encode(), post.encode());
        let mut wire = Vec::new();
        prepared.write_wire(&mut wire);
        assert_eq!(wire, post.encode());
        let debug = format!("{prepared:?}");
        assert!(
            debug.contains("authorization") && !debug.contains("Bearer t"),
            "{debug}"
        );

        for raw in [
            "https://[::1]/health",
            "http://10.0.0.5/",
            "https://intranet.example/a/b",
        ] {
            let head = bare(Method::HEAD, raw);
            let prepared = client.prepare(head.clone(), true);
            assert!(prepared.extra.is_none(), "nothing beyond method and URL");
            assert!(prepared.is_head() && prepared.is_idempotent());
            assert_eq!(prepared.url(), head.url, "{raw}");
            assert_eq!(prepared.request().encode(), head.encode(), "{raw}");
        }
        assert_eq!(
            client
                .prepare(bare(Method::GET, "https://[::1]:8443/x"), false)
                .origin()
                .host()
                .to_string(),
            "[::1]"
        );
    }

    #[test]
    fn requests_share_their_origin_and_unused_origins_are_dropped() {
        let client = H1Client::default();
        let get = |url: &str, insecure: bool| client.prepare(bare(Method::GET, url), insecure);
        let a = get("http://10.0.0.1:8080/a", false);
        let b = get("http://10.0.0.1:8080/b?x=1", false);
        assert!(Arc::ptr_eq(&a.origin, &b.origin));
        let tls = get("https://10.0.0.1:8080/a", false);
        let lax = get("https://10.0.0.1:8080/a", true);
        assert!(!Arc::ptr_eq(&a.origin, &tls.origin), "scheme");
        assert!(!Arc::ptr_eq(&tls.origin, &lax.origin), "certificate policy");

        // Origins of dropped requests do not pile up.
        for i in 0..1000 {
            drop(get(&format!("http://host-{i}.example/"), false));
        }
        let kept = client.origins.lock().by_key.len();
        assert!(kept <= 40, "{kept} origins kept");
        assert!(Arc::ptr_eq(
            &a.origin,
            &get("http://10.0.0.1:8080/c", false).origin
        ));
    }

    /// A server that answers each request on a connection with the next scripted reply, then
    /// closes the connection when the script says so. Counts connections.
    async fn scripted(
        replies: Vec<(&'static [u8], bool)>,
    ) -> (Url, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = accepted.clone();
        tokio::spawn(async move {
            let mut script = replies.into_iter();
            while let Ok((mut s, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                loop {
                    // One request head (these tests send no bodies).
                    let mut got = Vec::new();
                    while !got.ends_with(b"\r\n\r\n") {
                        let mut b = [0u8; 1024];
                        match s.read(&mut b).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => got.extend_from_slice(&b[..n]),
                        }
                    }
                    let Some((reply, close)) = script.next() else {
                        return;
                    };
                    let _ = s.write_all(reply).await;
                    if close {
                        break;
                    }
                }
            }
        });
        (url, accepted)
    }

    async fn get(client: &H1Client, url: &Url, want_body: bool) -> Result<Response, H1Error> {
        let prepared = client.prepare(bare(Method::GET, url.as_str()), false);
        client
            .send(
                &prepared,
                0,
                if want_body { Want::Body } else { Want::Status },
                1024,
                &Progress::default(),
            )
            .await
    }

    /// A long body over a plain connection, sent in pieces, arrives whole and in order: read
    /// through the scratch buffer first, then straight into the response's own buffer.
    #[tokio::test]
    async fn a_long_body_arrives_whole_through_the_scratch_buffer() {
        use tokio::io::AsyncReadExt;
        let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let sent = body.clone();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            while !got.ends_with(b"\r\n\r\n") {
                let mut b = [0u8; 256];
                let n = s.read(&mut b).await.unwrap();
                got.extend_from_slice(&b[..n]);
            }
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", sent.len());
            s.write_all(head.as_bytes()).await.unwrap();
            for piece in sent.chunks(7_001) {
                s.write_all(piece).await.unwrap();
                tokio::task::yield_now().await;
            }
        });
        let client = H1Client::default();
        let prepared = client.prepare(bare(Method::GET, url.as_str()), false);
        let r = client
            .send(&prepared, 0, Want::Body, 1 << 20, &Progress::default())
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert!(r.body.as_deref() == Some(&body[..]), "the body, whole");
    }

    #[tokio::test]
    async fn chunked_bodies_and_reuse() {
        let (url, accepted) = scripted(vec![
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n",
                false,
            ),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false),
        ])
        .await;
        let client = H1Client::default();
        let r = get(&client, &url, true).await.unwrap();
        assert_eq!(r.body.as_deref(), Some(&b"hello, world"[..]));
        let r = get(&client, &url, true).await.unwrap();
        assert_eq!(r.body.as_deref(), Some(&b"ok"[..]));
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "one kept-alive connection"
        );
    }

    /// A server that closes after each response: every request gets a connection of its own,
    /// and the socket of the one before serves it (reset, not closed).
    #[tokio::test]
    #[cfg(target_os = "linux")]
    async fn a_closed_connection_leaves_its_socket_for_the_next() {
        let reply: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
        let (url, accepted) = scripted(vec![(reply, true), (reply, true), (reply, true)]).await;
        let client = H1Client::default();
        let before = crate::sockets::idle::kept().0;
        for round in 1..=3 {
            let r = get(&client, &url, true).await.unwrap();
            assert_eq!(r.body.as_deref(), Some(&b"ok"[..]), "round {round}");
            assert_eq!(accepted.load(Ordering::SeqCst), round, "a new connection");
            assert_eq!(crate::sockets::idle::kept().0, before + 1);
        }
        let prepared = client.prepare(bare(Method::GET, url.as_str()), false);
        assert!(prepared.origin.idle.lock().is_empty(), "nothing kept alive");
    }

    #[tokio::test]
    async fn an_idle_connection_holds_no_read_buffer() {
        let reply: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let (url, accepted) = scripted(vec![(reply, false), (reply, false)]).await;
        let client = H1Client::default();
        let prepared = client.prepare(bare(Method::GET, url.as_str()), false);
        for _ in 0..2 {
            let r = client
                .send(&prepared, 0, Want::Body, 1024, &Progress::default())
                .await
                .unwrap();
            assert_eq!(r.body.as_deref(), Some(&b"ok"[..]));
            let idle = prepared.origin.idle.lock();
            assert_eq!(idle.len(), 1);
            assert_eq!(idle[0].buf.capacity(), 0);
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "the connection was reused"
        );
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_replaced() {
        // The server closes after each response although it did not say so.
        let reply: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let (url, accepted) = scripted(vec![(reply, true), (reply, true), (reply, true)]).await;
        let client = H1Client::default();
        for _ in 0..3 {
            let r = get(&client, &url, false).await.unwrap();
            assert_eq!(r.status, 200);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn bodies_to_the_close_and_truncated_bodies() {
        let (url, accepted) = scripted(vec![
            (b"HTTP/1.1 200 OK\r\n\r\nuntil the end", true),
            (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true),
        ])
        .await;
        let client = H1Client::default();
        let r = get(&client, &url, true).await.unwrap();
        assert_eq!(r.body.as_deref(), Some(&b"until the end"[..]));
        match get(&client, &url, true).await {
            Err(H1Error::Body {
                status: 200,
                detail,
            }) => {
                assert!(detail.contains("7 of 10 bytes"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            2,
            "neither connection was pooled"
        );
    }

    #[tokio::test]
    async fn silence_and_garbage() {
        let (url, _) = scripted(vec![(b"", true)]).await;
        match get(&H1Client::default(), &url, false).await {
            Err(H1Error::Exchange(detail)) => {
                assert!(detail.contains("without a response"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
        let (url, _) = scripted(vec![(b"SSH-2.0-OpenSSH_9.2p1\r\n", true)]).await;
        assert!(matches!(
            get(&H1Client::default(), &url, false).await,
            Err(H1Error::Protocol(_))
        ));
    }
}
