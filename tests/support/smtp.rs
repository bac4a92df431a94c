//! The SMTP peer shared by the integration tests and the alert-latency bench: aiosmtpd (PyPI)
//! on a loopback port storing messages in a Maildir, and a reader for the stored messages.
//!
//! aiosmtpd is installed into a virtual environment under the target directory when missing.
//! When it cannot be started, [`Smtp::start_or_skip`] skips the test with the reason, except
//! with `CI=true`, where it fails.
//!
//! Included with `#[path = "support/smtp.rs"] mod smtp;`; not every includer uses every item.
#![allow(dead_code)]

#[path = "skip.rs"]
pub mod skip;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

// ---------------------------------------------------------------------------------------------
// The peer.
// ---------------------------------------------------------------------------------------------

/// The Python of a virtual environment with aiosmtpd, made on first use.
fn python() -> Result<PathBuf, String> {
    static VENV: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);
    let mut guard = VENV.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(r) = &*guard {
        return r.clone();
    }
    let r = make_venv();
    *guard = Some(r.clone());
    r
}

fn make_venv() -> Result<PathBuf, String> {
    // CARGO_TARGET_TMPDIR is <target>/tmp; the environment lives beside it.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .ok_or("no target directory")?
        .to_owned();
    let venv = target.join("peers-venv");
    let py = venv.join("bin").join("python");
    let has_aiosmtpd = |py: &Path| {
        Command::new(py)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if has_aiosmtpd(&py) {
        return Ok(py);
    }
    let run = |cmd: &mut Command, what: &str| -> Result<(), String> {
        let out = cmd
            .output()
            .map_err(|e| format!("{what}: cannot run: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    if !py.exists() {
        run(
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
            "python3 -m venv",
        )?;
    }
    run(
        Command::new(venv.join("bin").join("pip")).args(["install", "-q", "aiosmtpd"]),
        "pip install aiosmtpd",
    )?;
    if has_aiosmtpd(&py) {
        Ok(py)
    } else {
        Err("aiosmtpd does not import after installing it".into())
    }
}

/// A server that requires AUTH (LOGIN/PLAIN) with one user, over plain SMTP on loopback.
const AUTH_SERVER: &str = r#"
import os, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

port, maildir = int(sys.argv[1]), sys.argv[2]
user = os.environ["SMTP_USER"].encode()
password = os.environ["SMTP_PASSWORD"].encode()

def check(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login == user and auth_data.password == password)
    return AuthResult(success=ok, handled=False)

c = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port, authenticator=check,
               auth_required=True, auth_require_tls=False)
c.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"#;

/// Which server to start.
#[derive(Debug, Clone)]
pub enum Kind {
    /// Plain SMTP, optionally refusing messages over `max_size` bytes with 552.
    Plain { max_size: Option<usize> },
    /// STARTTLS required, with this certificate and key.
    StartTls { cert: PathBuf, key: PathBuf },
    /// Implicit TLS (SMTPS), with this certificate and key.
    Implicit { cert: PathBuf, key: PathBuf },
    /// Plain SMTP that requires AUTH (LOGIN/PLAIN) as `user` with `password`.
    Auth { user: String, password: String },
}

/// A running aiosmtpd and its Maildir; killed when dropped.
pub struct Smtp {
    child: Option<Child>,
    kind: Kind,
    /// The loopback port it listens on.
    pub port: u16,
    /// Where it stores messages (`new/` holds the delivered ones).
    pub maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port nothing listens on (at the moment of asking).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Smtp {
    /// Starts `kind` on a free loopback port.
    pub fn start(kind: Kind) -> Result<Smtp, String> {
        Smtp::start_on(kind, free_port())
    }

    /// Starts `kind` on `port` (e.g. where a sink already points).
    pub fn start_on(kind: Kind, port: u16) -> Result<Smtp, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let maildir = dir.path().join("Maildir");
        let child = spawn(&kind, port, &maildir)?;
        Ok(Smtp {
            child: Some(child),
            kind,
            port,
            maildir,
            _dir: dir,
        })
    }

    /// Kills the server; the Maildir stays. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the same server again on the same port and Maildir (after [`Smtp::stop`]).
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        // The port was just released; give the kernel a moment if the bind races.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match spawn(&self.kind, self.port, &self.maildir) {
                Ok(child) => {
                    self.child = Some(child);
                    return Ok(());
                }
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Starts `kind`, or explains why not: a skip on a laptop, a failure in CI.
    pub fn start_or_skip(kind: Kind) -> Option<Smtp> {
        Smtp::start_on_or_skip(kind, free_port())
    }

    /// [`Smtp::start_on`], or explains why not: a skip on a laptop, a failure in CI.
    pub fn start_on_or_skip(kind: Kind, port: u16) -> Option<Smtp> {
        match Smtp::start_on(kind, port) {
            Ok(s) => Some(s),
            Err(reason) => {
                skip::skip("the SMTP peer (aiosmtpd)", reason);
                None
            }
        }
    }
}

/// Spawns aiosmtpd and waits until it answers.
fn spawn(kind: &Kind, port: u16, maildir: &Path) -> Result<Child, String> {
    let py = python()?;
    let mut cmd = Command::new(&py);
    match kind {
        Kind::Plain { .. } | Kind::StartTls { .. } | Kind::Implicit { .. } => {
            cmd.args(["-m", "aiosmtpd", "-n", "-l"])
                .arg(format!("127.0.0.1:{port}"));
            if let Kind::Plain {
                max_size: Some(size),
            } = kind
            {
                cmd.arg("-s").arg(size.to_string());
            }
            if let Kind::StartTls { cert, key } = kind {
                cmd.arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
            }
            if let Kind::Implicit { cert, key } = kind {
                cmd.arg("--smtpscert").arg(cert).arg("--smtpskey").arg(key);
            }
            cmd.args(["-c", "aiosmtpd.handlers.Mailbox"]).arg(maildir);
        }
        Kind::Auth { user, password } => {
            cmd.arg("-c")
                .arg(AUTH_SERVER)
                .arg(port.to_string())
                .arg(maildir)
                .env("SMTP_USER", user)
                .env("SMTP_PASSWORD", password);
        }
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start aiosmtpd: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(e) = child.stderr.take() {
                for line in BufReader::new(e).lines().map_while(Result::ok) {
                    err.push_str(&line);
                    err.push('\n');
                }
            }
            return Err(format!("aiosmtpd exited ({status}): {}", err.trim()));
        }
        let ready = match kind {
            Kind::Implicit { .. } => std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            _ => banner(port),
        };
        if ready {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err("aiosmtpd did not answer within 15 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(child)
}

impl Smtp {
    /// The paths of the stored message files (`new/` and `cur/`), unordered.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(self.maildir.join(sub)) {
                files.extend(rd.flatten().map(|e| e.path()));
            }
        }
        files
    }

    /// Every stored message, oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        let mut files = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in rd.flatten() {
                    let meta = e.metadata().unwrap();
                    files.push((meta.modified().unwrap(), e.path()));
                }
            }
        }
        files.sort();
        let mut mails: Vec<Mail> = files
            .into_iter()
            .map(|(_, p)| Mail::parse(&std::fs::read_to_string(p).unwrap()))
            .collect();
        // File times are coarse: order by the Date header, then the subject's kind.
        mails.sort_by_key(|m| m.date());
        mails
    }

    /// Waits (up to 10 s) until `n` messages are stored.
    pub fn wait_for(&self, n: usize) -> Vec<Mail> {
        self.wait_for_within(n, Duration::from_secs(10))
    }

    /// Waits (up to `limit`) until `n` messages are stored.
    pub fn wait_for_within(&self, n: usize, limit: Duration) -> Vec<Mail> {
        let deadline = Instant::now() + limit;
        loop {
            let m = self.messages();
            if m.len() >= n || Instant::now() > deadline {
                return m;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn banner(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 3];
    s.read_exact(&mut buf).is_ok() && &buf == b"220"
}

// ---------------------------------------------------------------------------------------------
// Reading messages.
// ---------------------------------------------------------------------------------------------

/// One stored message: unfolded headers and the decoded text of each MIME part.
#[derive(Debug)]
pub struct Mail {
    headers: Vec<(String, String)>,
    parts: BTreeMap<String, String>,
}

fn split_head_body(raw: &str) -> (&str, &str) {
    raw.split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .unwrap_or((raw, ""))
}

fn parse_headers(head: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    out
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn decode_qp(s: &str) -> String {
    let mut out = Vec::new();
    let bytes = s.replace("=\r\n", "").replace("=\n", "").into_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn decode_b64(s: &str) -> String {
    use base64::Engine;
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(clean)
        .expect("base64 body");
    String::from_utf8(bytes).expect("utf-8 body")
}

impl Mail {
    pub fn parse(raw: &str) -> Mail {
        let (head, body) = split_head_body(raw);
        let headers = parse_headers(head);
        let ctype = header(&headers, "Content-Type").unwrap_or("").to_owned();
        let boundary = ctype
            .split("boundary=")
            .nth(1)
            .map(|b| b.trim_matches('"').split(';').next().unwrap().to_owned())
            .expect("a multipart message");
        let mut parts = BTreeMap::new();
        for chunk in body.split(&format!("--{boundary}")).skip(1) {
            if chunk.starts_with("--") {
                break;
            }
            let (phead, pbody) = split_head_body(chunk.trim_start_matches(['\r', '\n']));
            let ph = parse_headers(phead);
            let pt = header(&ph, "Content-Type")
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap()
                .trim()
                .to_owned();
            let text = match header(&ph, "Content-Transfer-Encoding") {
                Some(e) if e.eq_ignore_ascii_case("quoted-printable") => decode_qp(pbody),
                Some(e) if e.eq_ignore_ascii_case("base64") => decode_b64(pbody),
                _ => pbody.to_owned(),
            };
            parts.insert(pt, text.replace("\r\n", "\n"));
        }
        Mail { headers, parts }
    }

    pub fn get(&self, name: &str) -> &str {
        header(&self.headers, name).unwrap_or_else(|| panic!("no {name} header: {self:?}"))
    }

    pub fn has(&self, name: &str) -> bool {
        header(&self.headers, name).is_some()
    }

    pub fn date(&self) -> DateTime<Utc> {
        DateTime::parse_from_rfc2822(self.get("Date"))
            .unwrap()
            .with_timezone(&Utc)
    }

    pub fn text(&self) -> &str {
        &self.parts["text/plain"]
    }

    pub fn html(&self) -> &str {
        &self.parts["text/html"]
    }

    /// The envelope recipients the server saw.
    pub fn rcpt(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .get("X-RcptTo")
            .split(',')
            .map(|s| s.trim().to_owned())
            .collect();
        v.sort();
        v
    }

    /// The ack token from the text part's link.
    pub fn ack_token(&self, base: &str) -> Option<String> {
        let at = self.text().find(base)?;
        let rest = &self.text()[at + base.len()..];
        Some(
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect(),
        )
    }
}

/// A plain-SMTP e-mail sink to `127.0.0.1:port`, sending to one address.
pub fn plain_email_sink(port: u16) -> forewarn::sink::EmailSinkConfig {
    let text = format!(
        r#"
type = "email"
host = "127.0.0.1"
port = {port}
tls = "none"
from = "forewarn <forewarn@district.example>"
to = ["ict-oncall@district.example"]
subject_prefix = "[forewarn]"
timeout = "5s"
"#
    );
    let parsed: forewarn::SinkConfig = toml::from_str(&text).expect("sink config parses");
    parsed.validate().expect("sink config is valid");
    let forewarn::SinkConfig::Email(c) = parsed else {
        panic!("not an email sink")
    };
    *c
}
