//! A small ManageSieve (RFC 5804) client: the greeting and capabilities, STARTTLS, SASL PLAIN,
//! LISTSCRIPTS, GETSCRIPT, PUTSCRIPT, SETACTIVE, DELETESCRIPT and LOGOUT, over tokio and
//! tokio-rustls.
//!
//! Responses are parsed from a buffer by [`parse_line`], a pure function (unit-tested below):
//! a line is a sequence of atoms, quoted strings (`\"` and `\\` escapes), literals (`{N}` or
//! `{N+}`, a line break, then N octets) and parenthesised response codes, ended by CRLF.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::config::Secret;
use crate::error::{Error, Result};

/// The most a single response (a script with its status line) may take: larger answers are
/// refused instead of buffered without bound.
const MAX_RESPONSE: usize = 8 << 20;

/// One token of a response line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// A bare word (`OK`, `ACTIVE`, `QUOTA/MAXSIZE`).
    Atom(String),
    /// A quoted string or a literal, decoded.
    Str(String),
    /// `(`
    Open,
    /// `)`
    Close,
}

/// Parses one response line at the start of `buf`.
///
/// `Ok(None)` means the line is not complete yet (read more); `Ok(Some((tokens, used)))` gives
/// the tokens and how many bytes they took (CRLF included).
pub(crate) fn parse_line(buf: &[u8]) -> std::result::Result<Option<(Vec<Token>, usize)>, String> {
    let mut tokens = Vec::new();
    let mut i = 0;
    loop {
        let Some(&b) = buf.get(i) else {
            return Ok(None);
        };
        match b {
            b' ' => i += 1,
            b'\r' => match buf.get(i + 1) {
                None => return Ok(None),
                Some(b'\n') => return Ok(Some((tokens, i + 2))),
                Some(_) => return Err("a carriage return not followed by a line feed".into()),
            },
            b'\n' => return Ok(Some((tokens, i + 1))),
            b'(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            b')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            b'"' => {
                let mut s = Vec::new();
                let mut j = i + 1;
                loop {
                    match buf.get(j) {
                        None => return Ok(None),
                        Some(b'"') => break,
                        Some(b'\\') => match buf.get(j + 1) {
                            None => return Ok(None),
                            Some(&c @ (b'"' | b'\\')) => {
                                s.push(c);
                                j += 2;
                            }
                            Some(&c) => {
                                return Err(format!(
                                    "a quoted string escapes `{}`, which only `\"` and `\\` may be",
                                    c.escape_ascii()
                                ));
                            }
                        },
                        Some(b'\r' | b'\n') => {
                            return Err("a quoted string runs past the end of its line".into());
                        }
                        Some(&c) => {
                            s.push(c);
                            j += 1;
                        }
                    }
                }
                tokens.push(Token::Str(String::from_utf8_lossy(&s).into_owned()));
                i = j + 1;
            }
            b'{' => {
                let Some(close) = buf[i..].iter().position(|&c| c == b'}') else {
                    if buf.len() - i > 24 || buf[i + 1..].iter().any(|c| !c.is_ascii_digit()) {
                        return Err("a literal's `{` has no closing `}`".into());
                    }
                    return Ok(None);
                };
                let inner = &buf[i + 1..i + close];
                let digits = inner.strip_suffix(b"+").unwrap_or(inner);
                let len: usize = std::str::from_utf8(digits)
                    .ok()
                    .filter(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
                    .and_then(|d| d.parse().ok())
                    .ok_or_else(|| {
                        format!("`{{{}}}` is not a literal's length", inner.escape_ascii())
                    })?;
                if len > MAX_RESPONSE {
                    return Err(format!(
                        "a literal of {len} bytes is over the limit of {MAX_RESPONSE}"
                    ));
                }
                let mut j = i + close + 1;
                match (buf.get(j), buf.get(j + 1)) {
                    (Some(b'\r'), Some(b'\n')) => j += 2,
                    (Some(b'\n'), _) => j += 1,
                    (None, _) | (Some(b'\r'), None) => return Ok(None),
                    _ => return Err("a literal's length is not followed by a line break".into()),
                }
                if buf.len() < j + len {
                    return Ok(None);
                }
                tokens.push(Token::Str(
                    String::from_utf8_lossy(&buf[j..j + len]).into_owned(),
                ));
                i = j + len;
            }
            _ => {
                let start = i;
                while let Some(&c) = buf.get(i) {
                    if matches!(c, b' ' | b'\r' | b'\n' | b'(' | b')' | b'"' | b'{') {
                        break;
                    }
                    i += 1;
                }
                if i == buf.len() {
                    return Ok(None);
                }
                tokens.push(Token::Atom(
                    String::from_utf8_lossy(&buf[start..i]).into_owned(),
                ));
            }
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// `OK`
    Ok,
    /// `NO`: refused.
    No,
    /// `BYE`: the server is closing the connection.
    Bye,
}

/// The final line of a command's answer: `OK`/`NO`/`BYE`, a response code, a human text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    /// How it ended.
    pub outcome: Outcome,
    /// The response code (`AUTH-TOO-WEAK`, `QUOTA/MAXSIZE`, `SASL`…) and its arguments.
    pub code: Option<(String, Vec<String>)>,
    /// The server's text, if any.
    pub text: Option<String>,
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.outcome {
            Outcome::Ok => "OK",
            Outcome::No => "NO",
            Outcome::Bye => "BYE",
        })?;
        if let Some((name, args)) = &self.code {
            write!(f, " ({name}")?;
            for a in args {
                write!(f, " {}", quote(a))?;
            }
            f.write_str(")")?;
        }
        if let Some(t) = &self.text {
            // Compile errors of PUTSCRIPT come as a multi-line literal: shown on one line.
            let t: Vec<&str> = t.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            write!(f, " {}", quote(&crate::text::printable(&t.join("; "))))?;
        }
        Ok(())
    }
}

/// Reads `tokens` as a final response line, or `None` when it is a data line.
pub(crate) fn as_response(tokens: &[Token]) -> std::result::Result<Option<Response>, String> {
    let outcome = match tokens.first() {
        Some(Token::Atom(a)) if a.eq_ignore_ascii_case("OK") => Outcome::Ok,
        Some(Token::Atom(a)) if a.eq_ignore_ascii_case("NO") => Outcome::No,
        Some(Token::Atom(a)) if a.eq_ignore_ascii_case("BYE") => Outcome::Bye,
        _ => return Ok(None),
    };
    let mut rest = &tokens[1..];
    let mut code = None;
    if rest.first() == Some(&Token::Open) {
        let end = rest
            .iter()
            .position(|t| *t == Token::Close)
            .ok_or("a response code without its closing `)`")?;
        let inner = &rest[1..end];
        let Some(Token::Atom(name)) = inner.first() else {
            return Err("a response code that does not start with its name".into());
        };
        let args = inner[1..]
            .iter()
            .filter_map(|t| match t {
                Token::Atom(s) | Token::Str(s) => Some(s.clone()),
                Token::Open | Token::Close => None,
            })
            .collect();
        code = Some((name.to_ascii_uppercase(), args));
        rest = &rest[end + 1..];
    }
    let text = match rest {
        [] => None,
        [Token::Str(s)] => Some(s.clone()),
        _ => return Err("unexpected words after the response".into()),
    };
    Ok(Some(Response {
        outcome,
        code,
        text,
    }))
}

/// A quoted string for a command, or for showing a value (`"a \"b\""`).
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A non-synchronizing literal for a command: `{N+}` CRLF then the bytes.
pub(crate) fn literal(s: &str) -> Vec<u8> {
    let mut out = format!("{{{}+}}\r\n", s.len()).into_bytes();
    out.extend_from_slice(s.as_bytes());
    out
}

/// The capabilities the server announced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Capabilities {
    /// `"IMPLEMENTATION"`.
    pub implementation: Option<String>,
    /// The Sieve extensions (`"SIEVE"`), lower case.
    pub sieve: Vec<String>,
    /// The SASL mechanisms offered now (`"SASL"`), upper case.
    pub sasl: Vec<String>,
    /// Whether STARTTLS is offered.
    pub starttls: bool,
}

impl Capabilities {
    fn from_lines(lines: &[Vec<Token>]) -> Self {
        let mut c = Capabilities::default();
        for line in lines {
            let name = match line.first() {
                Some(Token::Str(s) | Token::Atom(s)) => s.to_ascii_uppercase(),
                _ => continue,
            };
            let value = match line.get(1) {
                Some(Token::Str(s)) => s.as_str(),
                _ => "",
            };
            match name.as_str() {
                "IMPLEMENTATION" => c.implementation = Some(value.to_owned()),
                "SIEVE" => {
                    c.sieve = value
                        .split_whitespace()
                        .map(str::to_ascii_lowercase)
                        .collect();
                }
                "SASL" => {
                    c.sasl = value
                        .split_whitespace()
                        .map(str::to_ascii_uppercase)
                        .collect();
                }
                "STARTTLS" => c.starttls = true,
                _ => {}
            }
        }
        c
    }
}

/// How the ManageSieve connection is secured (the `tls` key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SieveTls {
    /// Plain connection upgraded with STARTTLS, which must succeed (the usual port 4190).
    /// The default.
    #[default]
    Starttls,
    /// TLS from the first byte (some servers behind a TLS proxy).
    Implicit,
    /// No TLS: only for a server on this machine.
    None,
}

impl SieveTls {
    /// Its name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            SieveTls::Starttls => "starttls",
            SieveTls::Implicit => "implicit",
            SieveTls::None => "none",
        }
    }
}

/// The rustls client configuration: the system's roots plus `ca_file`, or no verification
/// when `insecure`.
pub(crate) fn tls_config(
    ca_file: Option<&Path>,
    insecure: bool,
) -> Result<Arc<rustls::ClientConfig>> {
    crate::http_client::install_crypto_provider();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid("tls", e.to_string()))?;
    if insecure {
        return Ok(Arc::new(
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(
                    crate::http_client::AcceptAnyCertificate::new(&provider),
                ))
                .with_no_client_auth(),
        ));
    }
    let mut extra = Vec::new();
    if let Some(path) = ca_file {
        use rustls::pki_types::pem::PemObject as _;
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| Error::invalid("ca_file", format!("{}: {e}", path.display())))?;
        for cert in certs {
            extra.push(
                cert.map_err(|e| Error::invalid("ca_file", format!("{}: {e}", path.display())))?,
            );
        }
        if extra.is_empty() {
            return Err(Error::invalid(
                "ca_file",
                format!("{}: no certificates", path.display()),
            ));
        }
    }
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
        .map_err(|e| {
            Error::invalid(
                "tls",
                format!("cannot load the system's certificate roots: {e}"),
            )
        })?;
    Ok(Arc::new(
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth(),
    ))
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Between taking the plain stream for STARTTLS and the handshake's end.
    Gone,
}

/// Where a failure happened, for the error: the responder's name and the server.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    /// The responder's name.
    pub responder: String,
    /// `host:port`.
    pub endpoint: String,
}

impl Peer {
    /// A failure that may pass (network, timeout, server busy): an [`Error::Io`].
    pub(crate) fn transient(&self, doing: &str, e: io::Error) -> Error {
        Error::io(
            format!(
                "responder `{}`: ManageSieve {}: {doing}",
                self.responder, self.endpoint
            ),
            e,
        )
    }

    /// A failure that needs a person (login refused, script refused): an [`Error::Invalid`].
    pub(crate) fn refused(&self, doing: &str, message: impl fmt::Display) -> Error {
        Error::invalid(
            format!("responder `{}`", self.responder),
            format!("ManageSieve {}: {doing}: {message}", self.endpoint),
        )
    }
}

/// One logged-in ManageSieve connection.
pub(crate) struct Session {
    stream: Stream,
    buf: Vec<u8>,
    timeout: Duration,
    peer: Peer,
    /// What the server announced last (after STARTTLS: what it announced over TLS).
    pub capabilities: Capabilities,
}

impl Session {
    /// Connects, reads the greeting and secures the connection as `tls` says (STARTTLS is
    /// required when asked for: a server that does not offer it is an error).
    pub(crate) async fn connect(
        peer: Peer,
        host: &str,
        port: u16,
        tls: SieveTls,
        tls_config: Option<Arc<rustls::ClientConfig>>,
        timeout: Duration,
    ) -> Result<Session> {
        let tcp = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
            .await
            .map_err(|_| peer.transient("connecting", timed_out(timeout)))?
            .map_err(|e| peer.transient("connecting", e))?;
        let _ = tcp.set_nodelay(true);
        let mut s = Session {
            stream: Stream::Plain(tcp),
            buf: Vec::new(),
            timeout,
            peer,
            capabilities: Capabilities::default(),
        };
        if tls == SieveTls::Implicit {
            s.handshake(host, tls_config.clone()).await?;
        }
        let (lines, greeting) = s.read_response("reading the greeting").await?;
        if greeting.outcome != Outcome::Ok {
            return Err(s
                .peer
                .transient("greeting", io::Error::other(greeting.to_string())));
        }
        s.capabilities = Capabilities::from_lines(&lines);
        if tls == SieveTls::Starttls {
            if !s.capabilities.starttls {
                return Err(s.peer.refused(
                    "STARTTLS",
                    "the server does not offer STARTTLS (tls = \"starttls\" requires it)",
                ));
            }
            let (_, r) = s.command(b"STARTTLS\r\n", "STARTTLS").await?;
            s.expect_ok(r, "STARTTLS")?;
            if !s.buf.is_empty() {
                return Err(s
                    .peer
                    .refused("STARTTLS", "the server sent data before the TLS handshake"));
            }
            s.handshake(host, tls_config).await?;
            // RFC 5804 2.2: the server sends its capabilities again over TLS.
            let (lines, r) = s
                .read_response("reading the capabilities after STARTTLS")
                .await?;
            s.expect_ok(r, "capabilities after STARTTLS")?;
            s.capabilities = Capabilities::from_lines(&lines);
        }
        Ok(s)
    }

    async fn handshake(
        &mut self,
        host: &str,
        config: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<()> {
        let config = config.ok_or_else(|| Error::invalid("tls", "no TLS configuration"))?;
        let name = rustls::pki_types::ServerName::try_from(
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        )
        .map_err(|e| Error::invalid("host", format!("`{host}`: {e}")))?;
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            return Err(Error::invalid("tls", "the connection is already secured"));
        };
        let connector = tokio_rustls::TlsConnector::from(config);
        let tls = tokio::time::timeout(self.timeout, connector.connect(name, tcp))
            .await
            .map_err(|_| {
                self.peer
                    .transient("TLS handshake", timed_out(self.timeout))
            })?
            .map_err(|e| self.peer.transient("TLS handshake", e))?;
        self.stream = Stream::Tls(Box::new(tls));
        Ok(())
    }

    /// Whether the connection is encrypted.
    pub(crate) fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    async fn write(&mut self, bytes: &[u8], doing: &str) -> Result<()> {
        let fut = async {
            match &mut self.stream {
                Stream::Plain(s) => {
                    s.write_all(bytes).await?;
                    s.flush().await
                }
                Stream::Tls(s) => {
                    s.write_all(bytes).await?;
                    s.flush().await
                }
                Stream::Gone => Err(io::Error::from(io::ErrorKind::NotConnected)),
            }
        };
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r.map_err(|e| self.peer.transient(doing, e)),
            Err(_) => Err(self.peer.transient(doing, timed_out(self.timeout))),
        }
    }

    /// Reads one line (literals included) within the timeout.
    async fn read_line(&mut self, doing: &str) -> Result<Vec<Token>> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            match parse_line(&self.buf) {
                Ok(Some((tokens, used))) => {
                    self.buf.drain(..used);
                    return Ok(tokens);
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(self.peer.transient(
                        doing,
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("malformed response: {e}"),
                        ),
                    ));
                }
            }
            if self.buf.len() > MAX_RESPONSE {
                return Err(self.peer.transient(
                    doing,
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("a response over {MAX_RESPONSE} bytes"),
                    ),
                ));
            }
            let mut chunk = [0u8; 8192];
            let read = async {
                match &mut self.stream {
                    Stream::Plain(s) => s.read(&mut chunk).await,
                    Stream::Tls(s) => s.read(&mut chunk).await,
                    Stream::Gone => Err(io::Error::from(io::ErrorKind::NotConnected)),
                }
            };
            let n = match tokio::time::timeout_at(deadline, read).await {
                Ok(r) => r.map_err(|e| self.peer.transient(doing, e))?,
                Err(_) => return Err(self.peer.transient(doing, timed_out(self.timeout))),
            };
            if n == 0 {
                return Err(self.peer.transient(
                    doing,
                    io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ),
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads data lines up to the final `OK`/`NO`/`BYE`.
    async fn read_response(&mut self, doing: &str) -> Result<(Vec<Vec<Token>>, Response)> {
        let mut lines = Vec::new();
        loop {
            let line = self.read_line(doing).await?;
            match as_response(&line) {
                Ok(Some(r)) => return Ok((lines, r)),
                Ok(None) => lines.push(line),
                Err(e) => {
                    return Err(self.peer.transient(
                        doing,
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("malformed response: {e}"),
                        ),
                    ));
                }
            }
        }
    }

    async fn command(&mut self, cmd: &[u8], doing: &str) -> Result<(Vec<Vec<Token>>, Response)> {
        self.write(cmd, doing).await?;
        self.read_response(doing).await
    }

    /// `Ok` for an `OK`; an error quoting the server for `NO` and `BYE` (`TRYLATER` and `BYE`
    /// may pass, the rest needs a person).
    fn expect_ok(&self, r: Response, doing: &str) -> Result<()> {
        match r.outcome {
            Outcome::Ok => Ok(()),
            Outcome::Bye => Err(self.peer.transient(
                doing,
                io::Error::new(io::ErrorKind::ConnectionAborted, r.to_string()),
            )),
            Outcome::No if r.code.as_ref().is_some_and(|(c, _)| c == "TRYLATER") => {
                Err(self.peer.transient(doing, io::Error::other(r.to_string())))
            }
            Outcome::No => Err(self.peer.refused(doing, format!("the server answered {r}"))),
        }
    }

    /// `AUTHENTICATE "PLAIN"` with an initial response. The password never appears in an
    /// error.
    pub(crate) async fn authenticate_plain(&mut self, user: &str, password: &Secret) -> Result<()> {
        if !self.capabilities.sasl.is_empty()
            && !self.capabilities.sasl.iter().any(|m| m == "PLAIN")
        {
            return Err(self.peer.refused(
                "login",
                format!(
                    "the server does not offer SASL PLAIN (it offers {})",
                    self.capabilities.sasl.join(" ")
                ),
            ));
        }
        let password = password.expose()?;
        let mut token = Vec::with_capacity(user.len() * 2 + password.len() + 2);
        token.push(0);
        token.extend_from_slice(user.as_bytes());
        token.push(0);
        token.extend_from_slice(password.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(&token);
        let cmd = format!("AUTHENTICATE \"PLAIN\" \"{b64}\"\r\n");
        let (_, r) = self.command(cmd.as_bytes(), "login").await?;
        match r.outcome {
            Outcome::Ok => Ok(()),
            Outcome::No if r.code.as_ref().is_some_and(|(c, _)| c == "TRYLATER") => Err(self
                .peer
                .transient("login", io::Error::other(r.to_string()))),
            _ => Err(self.peer.refused(
                "login",
                format!(
                    "authentication failed for user {} (SASL PLAIN): the server answered {r}",
                    quote(user)
                ),
            )),
        }
    }

    /// `LISTSCRIPTS`: every script's name and whether it is the active one.
    pub(crate) async fn list_scripts(&mut self) -> Result<Vec<(String, bool)>> {
        let (lines, r) = self.command(b"LISTSCRIPTS\r\n", "LISTSCRIPTS").await?;
        self.expect_ok(r, "LISTSCRIPTS")?;
        let mut out = Vec::new();
        for line in lines {
            match line.as_slice() {
                [Token::Str(name)] => out.push((name.clone(), false)),
                [Token::Str(name), Token::Atom(a)] if a.eq_ignore_ascii_case("ACTIVE") => {
                    out.push((name.clone(), true));
                }
                other => {
                    return Err(self.peer.transient(
                        "LISTSCRIPTS",
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("unexpected line {other:?}"),
                        ),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// `GETSCRIPT`: the script's text.
    pub(crate) async fn get_script(&mut self, name: &str) -> Result<String> {
        let doing = format!("GETSCRIPT {}", quote(name));
        let cmd = format!("GETSCRIPT {}\r\n", quote(name));
        let (lines, r) = self.command(cmd.as_bytes(), &doing).await?;
        self.expect_ok(r, &doing)?;
        match lines.as_slice() {
            [line] => match line.as_slice() {
                [Token::Str(s)] => Ok(s.clone()),
                _ => Err(self.peer.transient(
                    &doing,
                    io::Error::new(io::ErrorKind::InvalidData, "the script is not a string"),
                )),
            },
            _ => Err(self.peer.transient(
                &doing,
                io::Error::new(io::ErrorKind::InvalidData, "expected one script"),
            )),
        }
    }

    /// `PUTSCRIPT` (the server compiles the script and refuses it with its errors).
    pub(crate) async fn put_script(&mut self, name: &str, script: &str) -> Result<()> {
        let doing = format!("PUTSCRIPT {}", quote(name));
        let mut cmd = format!("PUTSCRIPT {} ", quote(name)).into_bytes();
        cmd.extend_from_slice(&literal(script));
        cmd.extend_from_slice(b"\r\n");
        let (_, r) = self.command(&cmd, &doing).await?;
        self.expect_ok(r, &doing)
    }

    /// `SETACTIVE`; `""` deactivates every script.
    pub(crate) async fn set_active(&mut self, name: &str) -> Result<()> {
        let doing = format!("SETACTIVE {}", quote(name));
        let cmd = format!("SETACTIVE {}\r\n", quote(name));
        let (_, r) = self.command(cmd.as_bytes(), &doing).await?;
        self.expect_ok(r, &doing)
    }

    /// `DELETESCRIPT`.
    pub(crate) async fn delete_script(&mut self, name: &str) -> Result<()> {
        let doing = format!("DELETESCRIPT {}", quote(name));
        let cmd = format!("DELETESCRIPT {}\r\n", quote(name));
        let (_, r) = self.command(cmd.as_bytes(), &doing).await?;
        self.expect_ok(r, &doing)
    }

    /// `LOGOUT`, ignoring how the server takes it (the work is done).
    pub(crate) async fn logout(mut self) {
        let _ = self.command(b"LOGOUT\r\n", "LOGOUT").await;
    }
}

fn timed_out(after: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("no answer within {}", humantime::format_duration(after)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> Vec<Token> {
        let (tokens, used) = parse_line(s.as_bytes()).unwrap().expect("complete");
        assert_eq!(used, s.len(), "{s:?}");
        tokens
    }

    fn atom(s: &str) -> Token {
        Token::Atom(s.into())
    }

    fn string(s: &str) -> Token {
        Token::Str(s.into())
    }

    #[test]
    fn quoted_strings_keep_their_escapes_decoded() {
        assert_eq!(
            line("\"IMPLEMENTATION\" \"Dovecot \\\"Pigeonhole\\\" C:\\\\x\"\r\n"),
            vec![
                string("IMPLEMENTATION"),
                string("Dovecot \"Pigeonhole\" C:\\x")
            ]
        );
        assert_eq!(line("\"\"\r\n"), vec![string("")]);
        assert!(parse_line(b"\"bad \\n escape\"\r\n").is_err());
        assert!(parse_line(b"\"runs\r\n\"\r\n").is_err());
    }

    #[test]
    fn literals_are_read_by_their_length_whatever_they_hold() {
        let script = "require \"vacation\";\r\n\"quoted\" {3}\r\n)(\r\n";
        let text = format!("{{{}}}\r\n{script}\r\nOK\r\n", script.len());
        let (tokens, used) = parse_line(text.as_bytes()).unwrap().unwrap();
        assert_eq!(tokens, vec![string(script)]);
        assert_eq!(&text[used..], "OK\r\n");
        // The client's non-synchronizing form too.
        assert_eq!(line("{2+}\r\nab\r\n"), vec![string("ab")]);
        // Multi-byte text: the length counts bytes.
        assert_eq!(line("{3}\r\né!\r\n"), vec![string("é!")]);
        // Incomplete at every cut: more bytes are needed, never an error or a wrong token.
        for cut in 0..text.len() - 4 {
            assert_eq!(
                parse_line(&text.as_bytes()[..cut]),
                Ok(None),
                "cut at {cut}"
            );
        }
        assert!(parse_line(b"{x}\r\n").is_err());
        assert!(parse_line(b"{99999999999}\r\n").is_err());
    }

    #[test]
    fn response_codes_and_texts_are_parsed() {
        let r = as_response(&line("NO (QUOTA/MAXSIZE) \"Script is too big\"\r\n"))
            .unwrap()
            .unwrap();
        assert_eq!(r.outcome, Outcome::No);
        assert_eq!(r.code, Some(("QUOTA/MAXSIZE".into(), vec![])));
        assert_eq!(r.text.as_deref(), Some("Script is too big"));
        let r = as_response(&line("ok (sasl \"cnNwYXV0aA==\")\r\n"))
            .unwrap()
            .unwrap();
        assert_eq!(r.outcome, Outcome::Ok);
        assert_eq!(r.code, Some(("SASL".into(), vec!["cnNwYXV0aA==".into()])));
        assert_eq!(r.text, None);
        let r = as_response(&line("BYE (TRYLATER) {13}\r\nGoing down.\r\n\r\n"))
            .unwrap()
            .unwrap();
        assert_eq!(r.outcome, Outcome::Bye);
        assert_eq!(r.text.as_deref(), Some("Going down.\r\n"));
        assert_eq!(
            r.to_string(),
            "BYE (TRYLATER) \"Going down.\"",
            "shown on one line"
        );
        // Data lines are not responses.
        assert_eq!(
            as_response(&line("\"forewarn-outage\" ACTIVE\r\n")).unwrap(),
            None
        );
        assert_eq!(
            line("\"forewarn-outage\" ACTIVE\r\n"),
            vec![string("forewarn-outage"), atom("ACTIVE")]
        );
        assert!(as_response(&line("NO (TAG \"x\"\r\n")).is_err());
        assert!(as_response(&line("OK \"a\" \"b\"\r\n")).is_err());
    }

    #[test]
    fn capabilities_are_read_from_the_greeting() {
        let greeting = "\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n\
                        \"SIEVE\" \"fileinto vacation include\"\r\n\
                        \"NOTIFY\" \"mailto\"\r\n\
                        \"SASL\" \"plain login\"\r\n\
                        \"STARTTLS\"\r\n\
                        \"VERSION\" \"1.0\"\r\n";
        let mut buf = greeting.as_bytes();
        let mut lines = Vec::new();
        while !buf.is_empty() {
            let (t, used) = parse_line(buf).unwrap().unwrap();
            lines.push(t);
            buf = &buf[used..];
        }
        let c = Capabilities::from_lines(&lines);
        assert_eq!(c.implementation.as_deref(), Some("Dovecot Pigeonhole"));
        assert_eq!(c.sieve, ["fileinto", "vacation", "include"]);
        assert_eq!(c.sasl, ["PLAIN", "LOGIN"]);
        assert!(c.starttls);
    }

    #[test]
    fn commands_quote_and_send_literals() {
        assert_eq!(quote("a \"b\" \\c"), "\"a \\\"b\\\" \\\\c\"");
        assert_eq!(literal("é\r\n"), b"{4+}\r\n\xc3\xa9\r\n".to_vec());
    }
}
