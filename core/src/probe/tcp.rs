//! The `tcp` probe: connects to a port, optionally sends a line and checks what the peer answers.
//!
//! ```toml
//! [[checks]]
//! name = "ssh on the file server"
//! type = "tcp"
//! host = "10.0.0.5"
//! port = 22
//! expect = "SSH-2.0"
//! latency = { warning = "100ms", critical = "1s" }
//! ```
//!
//! `target = "fileserver:22"` (or `"[::1]:22"`) may be given instead of `host` and `port`.
//!
//! A check that only connects closes with a reset, as load balancers' health checks do, so
//! the monitoring host keeps no `TIME_WAIT` socket per check; a check that sends or expects
//! something closes normally once the exchange is done.

use std::fmt::{self, Write as _};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::config::expand_env;
use crate::error::{Error, Result};
use crate::probe::{CheckContext, LatencyThresholds, Observation, Probe, Status, human_duration};
use crate::sockets::{self, ConnectFailure, Connected};

/// How much of the peer's answer is read while looking for `expect`.
const MAX_BANNER: usize = 4096;
/// How much of a non-matching answer is quoted in the summary.
const MAX_QUOTE: usize = 80;

/// Configuration of the `tcp` probe.
///
/// Give either `host` and `port`, or `target`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TcpConfig {
    /// The host: an IPv4 or IPv6 literal or a host name; `${VAR}` is expanded.
    #[serde(default)]
    pub host: Option<String>,
    /// The port, 1–65535.
    #[serde(default)]
    pub port: Option<u32>,
    /// Host and port in one: `"host:port"`, `"10.0.0.5:22"` or `"[::1]:22"`.
    #[serde(default)]
    pub target: Option<String>,
    /// Written after connecting; `\r`, `\n`, `\t`, `\0`, `\\` and `\xHH` escapes are understood.
    #[serde(default)]
    pub send: Option<String>,
    /// A substring the peer must send (first, or in answer to `send`); up to 4 KiB are read.
    #[serde(default)]
    pub expect: Option<String>,
    /// Thresholds on the time the whole check takes.
    #[serde(default)]
    pub latency: LatencyThresholds,
}

/// The host and port of a config, before environment expansion.
struct HostPort<'a> {
    host: &'a str,
    port: u16,
}

impl TcpConfig {
    /// Checks the values, naming the offending field in the error.
    ///
    /// `${VAR}` references are not expanded here (the variable may only be set where the checks
    /// run); [`TcpConfig::build`] expands them.
    pub fn validate(&self) -> Result<()> {
        let hp = self.host_port()?;
        if !hp.host.contains("${") {
            check_host(hp.host, self.host_field())?;
        }
        if let Some(send) = &self.send {
            unescape(send)?;
        }
        if let Some(expect) = &self.expect
            && expect.is_empty()
        {
            return Err(Error::invalid("expect", "must not be empty"));
        }
        self.latency.validate("latency")
    }

    fn host_field(&self) -> &'static str {
        if self.target.is_some() {
            "target"
        } else {
            "host"
        }
    }

    fn host_port(&self) -> Result<HostPort<'_>> {
        match (&self.target, &self.host, self.port) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(Error::invalid(
                "target",
                "give either `target` or `host` and `port`, not both",
            )),
            (Some(target), None, None) => split_target(target),
            (None, None, None) => Err(Error::invalid(
                "host",
                "missing: give `host` and `port`, or `target = \"host:port\"`",
            )),
            (None, None, Some(_)) => Err(Error::invalid("host", "missing (a port is given)")),
            (None, Some(_), None) => Err(Error::invalid("port", "missing (a host is given)")),
            (None, Some(host), Some(port)) => Ok(HostPort {
                host: host.trim(),
                port: check_port(port)?,
            }),
        }
    }

    /// Builds the probe: expands `${VAR}` in the host and parses IP literals once.
    pub fn build(&self) -> Result<TcpProbe> {
        self.validate()?;
        let hp = self.host_port()?;
        let expanded = expand_env(hp.host)?;
        let host = expanded.trim();
        check_host(host, self.host_field())?;
        let port = hp.port;
        let dest = match host.parse::<IpAddr>() {
            Ok(ip) => Dest::Addr(SocketAddr::new(ip, port)),
            Err(_) => Dest::Name {
                host: host.into(),
                port,
            },
        };
        let send = match &self.send {
            Some(s) => Some(unescape(s)?.into_boxed_slice()),
            None => None,
        };
        let expect = self
            .expect
            .as_ref()
            .map(|e| e.as_bytes().to_vec().into_boxed_slice());
        let exchange =
            (send.is_some() || expect.is_some()).then(|| Box::new(Exchange { send, expect }));
        Ok(TcpProbe {
            dest,
            exchange,
            latency: (self.latency != LatencyThresholds::default()).then(|| Box::new(self.latency)),
        })
    }
}

fn check_port(port: u32) -> Result<u16> {
    match u16::try_from(port) {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(Error::invalid(
            "port",
            format!("{port} is not a port number (1–65535)"),
        )),
    }
}

fn check_host(host: &str, field: &str) -> Result<()> {
    if host.is_empty() {
        return Err(Error::invalid(field, "the host is empty"));
    }
    if host.contains(|c: char| c.is_whitespace() || c == '/') {
        return Err(Error::invalid(
            field,
            format!("`{host}` is not a host name or IP address"),
        ));
    }
    if host.contains(':') && host.parse::<IpAddr>().is_err() {
        return Err(Error::invalid(
            field,
            format!("`{host}` is not a valid IPv6 address"),
        ));
    }
    Ok(())
}

/// Splits `"host:port"` / `"[v6]:port"`.
fn split_target(target: &str) -> Result<HostPort<'_>> {
    let target = target.trim();
    let bad = |why: &str| Error::invalid("target", format!("`{target}`: {why}"));
    let (host, port) = if let Some(rest) = target.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| bad("`[` without a closing `]`"))?;
        let port = after
            .strip_prefix(':')
            .ok_or_else(|| bad("expected \"[address]:port\""))?;
        (host, port)
    } else {
        let (host, port) = target
            .rsplit_once(':')
            .ok_or_else(|| bad("expected \"host:port\""))?;
        if host.contains(':') {
            return Err(bad("write IPv6 addresses in brackets: \"[::1]:22\""));
        }
        (host, port)
    };
    let port: u32 = port.parse().map_err(|_| bad("the port is not a number"))?;
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| bad("the port must be 1–65535"))?;
    Ok(HostPort { host, port })
}

/// Turns `\r`, `\n`, `\t`, `\0`, `\\` and `\xHH` into bytes.
fn unescape(s: &str) -> Result<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let esc = bytes
            .get(i + 1)
            .ok_or_else(|| Error::invalid("send", "a `\\` at the end"))?;
        match esc {
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b'\\' => out.push(b'\\'),
            b'x' => {
                let hex = s
                    .get(i + 2..i + 4)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| Error::invalid("send", "`\\x` needs two hex digits"))?;
                out.push(hex);
                i += 2;
            }
            other => {
                return Err(Error::invalid(
                    "send",
                    format!(
                        "unknown escape `\\{}` (use \\r \\n \\t \\0 \\\\ \\xHH)",
                        char::from(*other)
                    ),
                ));
            }
        }
        i += 2;
    }
    Ok(out)
}

#[derive(Debug)]
enum Dest {
    /// An IP literal, parsed once.
    Addr(SocketAddr),
    /// A host name, resolved on every check.
    Name { host: Box<str>, port: u16 },
}

impl fmt::Display for Dest {
    /// `host:port` (`[v6]:port` for IPv6 literals): the probe's target.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dest::Addr(addr) => write!(f, "{addr}"),
            Dest::Name { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

/// What is sent after connecting and what must come back (most probes only connect).
#[derive(Debug)]
struct Exchange {
    send: Option<Box<[u8]>>,
    expect: Option<Box<[u8]>>,
}

/// The `tcp` probe. Build it with [`TcpConfig::build`].
///
/// Small, since a large schedule holds one per check: the target text is formatted from the
/// destination when needed, and the rarely used exchange is boxed apart.
#[derive(Debug)]
pub struct TcpProbe {
    dest: Dest,
    exchange: Option<Box<Exchange>>,
    /// Boxed: most checks set none, and a district's schedule holds a probe per check.
    latency: Option<Box<LatencyThresholds>>,
}

impl TcpProbe {
    /// Connects to the destination; `reuse`: only to see that it answers (a socket kept from an
    /// earlier check may serve, and is closed with a reset).
    async fn connect(
        &self,
        deadline: Instant,
        timeout: Duration,
        reuse: bool,
    ) -> std::result::Result<(Connected, SocketAddr), String> {
        match &self.dest {
            Dest::Addr(addr) => sockets::connect(*addr, deadline, reuse)
                .await
                .map(|s| (s, *addr))
                .map_err(|f| describe(f, timeout)),
            Dest::Name { host, port } => {
                let addrs = match tokio::time::timeout_at(
                    deadline,
                    tokio::net::lookup_host((&**host, *port)),
                )
                .await
                {
                    Ok(Ok(addrs)) => addrs,
                    Ok(Err(e)) => return Err(format!("cannot resolve {host}: {e}")),
                    Err(_) => {
                        return Err(format!(
                            "timed out after {} resolving {host}",
                            human_duration(timeout)
                        ));
                    }
                };
                let mut last = None;
                for addr in addrs {
                    match sockets::connect(addr, deadline, reuse).await {
                        Ok(s) => return Ok((s, addr)),
                        Err(f @ ConnectFailure::TimedOut(_)) => {
                            return Err(describe(f, timeout));
                        }
                        Err(f) => last = Some(f),
                    }
                }
                Err(match last {
                    Some(f) => describe(f, timeout),
                    None => format!("{host} resolves to no address"),
                })
            }
        }
    }

    /// Sends `send` and reads until `expect` shows up. `Err` carries the failure summary.
    async fn exchange(
        exchange: &Exchange,
        stream: &mut TcpStream,
        addr: SocketAddr,
        deadline: Instant,
        timeout: Duration,
    ) -> std::result::Result<(), String> {
        if let Some(send) = &exchange.send {
            match tokio::time::timeout_at(deadline, stream.write_all(send)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(format!("sending to {addr} failed: {e}")),
                Err(_) => {
                    return Err(format!(
                        "timed out after {} sending to {addr}",
                        human_duration(timeout)
                    ));
                }
            }
        }
        let Some(expect) = &exchange.expect else {
            return Ok(());
        };
        let mut buf = [0u8; MAX_BANNER];
        let mut len = 0;
        loop {
            let n = match tokio::time::timeout_at(deadline, stream.read(&mut buf[len..])).await {
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(format!("reading from {addr} failed: {e}")),
                Err(_) => {
                    return Err(if len == 0 {
                        format!(
                            "timed out after {} waiting for {addr} to answer",
                            human_duration(timeout)
                        )
                    } else {
                        format!(
                            "timed out after {} waiting for {} from {addr}, got {}",
                            human_duration(timeout),
                            quote(expect),
                            quote(&buf[..len])
                        )
                    });
                }
            };
            // Only the new bytes (plus an overlap) can complete a match.
            let from = len.saturating_sub(expect.len() - 1);
            len += n;
            if contains(&buf[from..len], expect) {
                return Ok(());
            }
            if n == 0 || len == buf.len() {
                let what = if n == 0 {
                    "closed the connection"
                } else {
                    "sent 4 KiB"
                };
                return Err(format!(
                    "{addr} {what} without {}, got {}",
                    quote(expect),
                    quote(&buf[..len])
                ));
            }
        }
    }
}

fn describe(failure: ConnectFailure, timeout: Duration) -> String {
    match failure {
        ConnectFailure::TimedOut(addr) => format!(
            "timed out after {} connecting to {addr}",
            human_duration(timeout)
        ),
        ConnectFailure::Io(addr, e) => match e.kind() {
            io::ErrorKind::ConnectionRefused => format!("connection refused by {addr}"),
            io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
                format!("no route to {addr}")
            }
            io::ErrorKind::TimedOut => format!("timed out connecting to {addr}"),
            _ => format!("cannot connect to {addr}: {e}"),
        },
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && haystack.len() >= needle.len()
        && haystack.windows(needle.len()).any(|w| w == needle)
}

/// `"…"` with at most [`MAX_QUOTE`] bytes, control and non-ASCII bytes escaped.
fn quote(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(MAX_QUOTE)];
    let mut s = String::with_capacity(shown.len() + 8);
    s.push('"');
    for b in shown.escape_ascii() {
        s.push(char::from(b));
    }
    if bytes.len() > MAX_QUOTE {
        s.push('…');
    }
    s.push('"');
    s
}

#[async_trait]
impl Probe for TcpProbe {
    async fn check(&self, cx: &CheckContext) -> Observation {
        let at = cx.now();
        let start = Instant::now();
        let deadline = start + cx.timeout;
        let (connected, addr) = match self
            .connect(deadline, cx.timeout, self.exchange.is_none())
            .await
        {
            Ok(ok) => ok,
            Err(summary) => {
                return Observation::new(Status::Critical, summary, at)
                    .with_latency(start.elapsed());
            }
        };
        let connect_time = start.elapsed();
        let exchanged = match &self.exchange {
            Some(exchange) => Some(match connected.into_stream() {
                // Closed with a FIN when done: the peer has seen a conversation.
                Ok(mut stream) => {
                    Self::exchange(exchange, &mut stream, addr, deadline, cx.timeout).await
                }
                Err(e) => Err(format!("cannot use the connection to {addr}: {e}")),
            }),
            None => {
                connected.reset(addr);
                None
            }
        };
        let latency = start.elapsed();
        let thresholds = self.latency.as_deref().copied().unwrap_or_default();
        let mut obs = match exchanged {
            Some(Err(summary)) => Observation::new(Status::Critical, summary, at),
            ok => {
                let status = thresholds.status(latency);
                let mut summary = String::with_capacity(64);
                let _ = write!(summary, "connected to ");
                match &self.dest {
                    Dest::Addr(_) => {
                        let _ = write!(summary, "{}", self.dest);
                    }
                    Dest::Name { .. } => {
                        let _ = write!(summary, "{} ({})", self.dest, addr.ip());
                    }
                }
                let _ = write!(summary, " in {}", human_duration(connect_time));
                if ok.is_some() && self.exchange.as_ref().is_some_and(|e| e.expect.is_some()) {
                    summary.push_str(", banner ok");
                }
                match status {
                    Status::Critical | Status::Warning => {
                        let limit = if status == Status::Critical {
                            thresholds.critical
                        } else {
                            thresholds.warning
                        };
                        if let Some(limit) = limit {
                            let _ = write!(
                                summary,
                                ", took {}, slower than {}",
                                human_duration(latency),
                                human_duration(limit)
                            );
                        }
                    }
                    _ => {}
                }
                Observation::new(status, summary, at)
            }
        };
        obs.metrics.insert(
            "connect_time".into(),
            crate::probe::Metric::new(connect_time.as_secs_f64(), "s"),
        );
        obs.metrics.insert(
            "latency".into(),
            crate::probe::Metric::new(latency.as_secs_f64(), "s"),
        );
        obs.with_latency(latency)
    }

    fn kind(&self) -> &str {
        "tcp"
    }

    fn target(&self) -> String {
        self.dest.to_string()
    }
}

/// The integration tests' skip helper: a missing peer is recorded as a skip, never a pass.
#[cfg(test)]
#[path = "../../../tests/support/skip.rs"]
mod skip;

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    fn cfg(target: &str) -> TcpConfig {
        TcpConfig {
            target: Some(target.to_owned()),
            ..Default::default()
        }
    }

    fn cx(timeout: Duration) -> CheckContext {
        let mut cx = CheckContext::for_test("tcp");
        cx.timeout = timeout;
        cx
    }

    /// A connect-only check closes with a reset (no `TIME_WAIT` on this side); a check that
    /// talked to the peer closes with a FIN after the exchange.
    #[tokio::test]
    async fn connect_only_checks_reset_and_exchanges_close_cleanly() {
        use tokio::io::AsyncReadExt;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let probe = cfg(&addr.to_string()).build().unwrap();
        let obs = probe.check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        let (mut server, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 16];
        let read = server.read(&mut buf).await;
        assert_eq!(
            read.map_err(|e| e.kind()),
            Err(io::ErrorKind::ConnectionReset),
            "the server sees a reset"
        );

        let talker = TcpConfig {
            send: Some("hello\\n".into()),
            ..cfg(&addr.to_string())
        }
        .build()
        .unwrap();
        let obs = talker.check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        let (mut server, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"hello\n", "the request, then a clean end of stream");
    }

    /// A connect-only check leaves its socket for the next one: each check is still a new
    /// connection (a new local port, a reset at the end), and a failed connect does not keep
    /// its socket.
    #[tokio::test]
    #[cfg(target_os = "linux")]
    async fn connect_only_checks_reuse_their_socket() {
        use tokio::io::AsyncReadExt;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let probe = cfg(&addr.to_string()).build().unwrap();
        let before = sockets::idle::kept().0;
        let mut ports = Vec::new();
        for round in 0..3 {
            let obs = probe.check(&cx(Duration::from_secs(5))).await;
            assert_eq!(obs.status, Status::Ok, "round {round}: {}", obs.summary);
            assert_eq!(sockets::idle::kept().0, before + 1, "round {round}");
            let (mut server, peer) = listener.accept().await.unwrap();
            ports.push(peer.port());
            let mut buf = [0u8; 16];
            let read = server.read(&mut buf).await;
            assert_eq!(
                read.map_err(|e| e.kind()),
                Err(io::ErrorKind::ConnectionReset),
                "round {round}: the server sees a reset"
            );
        }
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 3, "each check connects from a port of its own");

        // Refused: the kept socket is used and closed, not kept again.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let kept = sockets::idle::kept().0;
        let obs = cfg(&closed_addr.to_string())
            .build()
            .unwrap()
            .check(&cx(Duration::from_secs(5)))
            .await;
        assert_eq!(obs.summary, format!("connection refused by {closed_addr}"));
        assert_eq!(sockets::idle::kept().0, kept - 1);
        let obs = probe.check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        assert_eq!(sockets::idle::kept().0, kept);
    }

    #[tokio::test]
    async fn open_port_is_ok_with_metrics() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accept = tokio::spawn(async move { listener.accept().await.map(|_| ()) });
        let probe = TcpConfig {
            host: Some("127.0.0.1".into()),
            port: Some(u32::from(addr.port())),
            ..Default::default()
        }
        .build()
        .unwrap();
        assert_eq!(probe.kind(), "tcp");
        assert_eq!(probe.target(), addr.to_string());
        let obs = probe.check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        assert!(
            obs.summary.starts_with(&format!("connected to {addr} in ")),
            "{}",
            obs.summary
        );
        assert!(obs.metrics["connect_time"].value > 0.0);
        assert_eq!(obs.metrics["latency"].unit, "s");
        accept.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn closed_port_is_refused() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let probe = cfg(&addr.to_string()).build().unwrap();
        let obs = probe.check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Critical);
        assert_eq!(obs.summary, format!("connection refused by {addr}"));
    }

    #[tokio::test]
    async fn silent_peer_times_out_within_budget() {
        // Bound and listening, never accepting: the kernel completes the handshake, nobody talks.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut c = cfg(&addr.to_string());
        c.expect = Some("SSH-".into());
        let probe = c.build().unwrap();
        let started = std::time::Instant::now();
        let obs = probe.check(&cx(Duration::from_millis(300))).await;
        let took = started.elapsed();
        assert_eq!(obs.status, Status::Critical);
        assert!(
            obs.summary.contains("timed out after 300 ms"),
            "{}",
            obs.summary
        );
        assert!(took >= Duration::from_millis(290), "{took:?}");
        assert!(took < Duration::from_millis(1500), "{took:?}");
        drop(listener);
    }

    async fn banner_server(banner: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let _ = s.write_all(banner).await;
                let mut sink = [0u8; 64];
                let _ = s.read(&mut sink).await;
            }
        });
        addr
    }

    #[tokio::test]
    async fn banner_match_and_mismatch() {
        let addr = banner_server(b"SSH-2.0-test\r\n").await;
        let mut c = cfg(&addr.to_string());
        c.expect = Some("SSH-2.0".into());
        let obs = c.build().unwrap().check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        assert!(obs.summary.ends_with(", banner ok"), "{}", obs.summary);

        c.expect = Some("220 ".into());
        let obs = c.build().unwrap().check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Critical);
        assert!(
            obs.summary.contains(r#"got "SSH-2.0-test\r\n""#),
            "{}",
            obs.summary
        );
        assert!(obs.summary.contains(r#""220 ""#), "{}", obs.summary);
    }

    #[tokio::test]
    async fn long_banner_is_quoted_short() {
        static LONG: [u8; 300] = [b'x'; 300];
        let addr = banner_server(&LONG).await;
        let mut c = cfg(&addr.to_string());
        c.expect = Some("SSH".into());
        let obs = c
            .build()
            .unwrap()
            .check(&cx(Duration::from_millis(300)))
            .await;
        assert_eq!(obs.status, Status::Critical);
        let quoted = format!("\"{}…\"", "x".repeat(80));
        assert!(obs.summary.contains(&quoted), "{}", obs.summary);
        assert!(!obs.summary.contains(&"x".repeat(81)), "{}", obs.summary);
    }

    #[tokio::test]
    async fn send_and_expect_echo() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).await.unwrap();
            s.write_all(&buf[..n]).await.unwrap();
            buf[..n].to_vec()
        });
        let mut c = cfg(&addr.to_string());
        c.send = Some(r"PING 42\r\n".into());
        c.expect = Some("PING 42".into());
        let obs = c.build().unwrap().check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        assert_eq!(server.await.unwrap(), b"PING 42\r\n");
    }

    #[tokio::test]
    async fn ipv6_loopback() {
        let listener = match TcpListener::bind("[::1]:0").await {
            Ok(l) => l,
            Err(e) => {
                super::skip::skip("IPv6 loopback", e);
                return;
            }
        };
        let addr = listener.local_addr().unwrap();
        let probe = cfg(&format!("[::1]:{}", addr.port())).build().unwrap();
        assert_eq!(probe.target(), format!("[::1]:{}", addr.port()));
        let obs = probe.check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
    }

    #[tokio::test]
    async fn hostname_localhost_is_resolved() {
        // Listen on both loopbacks when possible so either resolution order works.
        let v4 = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = v4.local_addr().unwrap().port();
        let _v6 = TcpListener::bind(("::1", port)).await.ok();
        let probe = TcpConfig {
            host: Some("localhost".into()),
            port: Some(u32::from(port)),
            ..Default::default()
        }
        .build()
        .unwrap();
        assert_eq!(probe.target(), format!("localhost:{port}"));
        let obs = probe.check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        assert!(
            obs.summary
                .starts_with(&format!("connected to localhost:{port} (")),
            "{}",
            obs.summary
        );
    }

    #[tokio::test]
    async fn unresolvable_name_is_critical() {
        let obs = cfg("no-such-host.invalid:80")
            .build()
            .unwrap()
            .check(&cx(Duration::from_secs(5)))
            .await;
        assert_eq!(obs.status, Status::Critical);
        assert!(
            obs.summary.contains("no-such-host.invalid"),
            "{}",
            obs.summary
        );
    }

    #[tokio::test]
    async fn latency_thresholds_apply() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    let _ = s.write_all(b"hello\n").await;
                });
            }
        });
        let mut c = cfg(&addr.to_string());
        c.expect = Some("hello".into());
        c.latency = LatencyThresholds {
            warning: Some(Duration::from_millis(50)),
            critical: Some(Duration::from_secs(5)),
        };
        let obs = c.build().unwrap().check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
        assert!(obs.summary.contains("slower than 50 ms"), "{}", obs.summary);
        c.latency.critical = Some(Duration::from_millis(100));
        let obs = c.build().unwrap().check(&cx(Duration::from_secs(5))).await;
        assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
    }

    fn invalid_field(c: &TcpConfig) -> String {
        match c.validate().unwrap_err() {
            Error::Invalid { what, .. } => what,
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn validation_names_the_field() {
        let both = TcpConfig {
            host: Some("a".into()),
            port: Some(22),
            target: Some("a:22".into()),
            ..Default::default()
        };
        assert_eq!(invalid_field(&both), "target");
        assert_eq!(invalid_field(&TcpConfig::default()), "host");
        let no_port = TcpConfig {
            host: Some("a".into()),
            ..Default::default()
        };
        assert_eq!(invalid_field(&no_port), "port");
        let port0 = TcpConfig {
            host: Some("a".into()),
            port: Some(0),
            ..Default::default()
        };
        assert_eq!(invalid_field(&port0), "port");
        let big = TcpConfig {
            host: Some("a".into()),
            port: Some(70000),
            ..Default::default()
        };
        assert_eq!(invalid_field(&big), "port");
        assert_eq!(invalid_field(&cfg("::1:22")), "target");
        assert_eq!(invalid_field(&cfg("host")), "target");
        assert_eq!(invalid_field(&cfg("host:0")), "target");
        assert_eq!(invalid_field(&cfg("[::1:22")), "target");
        let mut bad_send = cfg("a:1");
        bad_send.send = Some(r"\q".into());
        assert_eq!(invalid_field(&bad_send), "send");
        let mut bad_latency = cfg("a:1");
        bad_latency.latency = LatencyThresholds {
            warning: Some(Duration::from_secs(2)),
            critical: Some(Duration::from_secs(1)),
        };
        assert_eq!(invalid_field(&bad_latency), "latency");
        assert!(cfg("[::1]:22").validate().is_ok());
        assert!(cfg("fileserver.school.lan:445").validate().is_ok());
    }

    #[test]
    fn config_from_toml_and_env() {
        let c: TcpConfig = toml::from_str(
            "host = \"${FOREWARN_TCP_TEST_HOST}\"\nport = 22\nsend = 'QUIT\\r\\n'\n\
             latency = { warning = \"100ms\", critical = \"1s\" }",
        )
        .unwrap();
        assert!(c.validate().is_ok());
        let e = c.build().unwrap_err().to_string();
        assert!(e.contains("FOREWARN_TCP_TEST_HOST"), "{e}");
        // SAFETY: a variable only this test uses.
        unsafe { std::env::set_var("FOREWARN_TCP_TEST_HOST", "10.0.0.5") };
        let p = c.build().unwrap();
        assert_eq!(p.target(), "10.0.0.5:22");
        let exchange = p.exchange.as_deref().unwrap();
        assert_eq!(exchange.send.as_deref(), Some(&b"QUIT\r\n"[..]));
        assert!(exchange.expect.is_none());
        assert!(toml::from_str::<TcpConfig>("hots = \"a\"").is_err());
    }

    #[test]
    fn built_through_the_probe_config_enum() {
        let c: crate::probe::ProbeConfig = toml::from_str(
            "type = \"tcp\"\ntarget = \"10.0.0.5:22\"\nlatency = { warning = \"100ms\" }",
        )
        .unwrap();
        c.validate().unwrap();
        let p = c.build(&crate::http_client::HttpClients::new()).unwrap();
        assert_eq!((p.kind(), p.target().as_str()), ("tcp", "10.0.0.5:22"));
    }

    #[test]
    fn unescaping() {
        assert_eq!(unescape(r"a\r\n\t\0\\\x41").unwrap(), b"a\r\n\t\0\\A");
        assert!(unescape(r"\x4").is_err());
        assert!(unescape("\\").is_err());
    }
}
