//! The e-mail sink against a real SMTP server: aiosmtpd (PyPI) on a loopback port storing
//! messages in a Maildir that the tests read back. Covers distribution lists, both body
//! parts, threading of opened → acknowledged → resolved through a real monitor, tiered
//! escalation, STARTTLS with a self-signed certificate, and error classification.
//!
//! aiosmtpd is installed into a virtual environment under the target directory when missing.
//! When it cannot be started the tests are skipped with the reason, except with `CI=true`,
//! where they fail.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use forewarn::ack::AckSigner;
use forewarn::escalation::{Tier, TieredEscalation};
use forewarn::sink::{EmailSink, EmailSinkConfig, EmailTls};
use forewarn::testing::FakeProbe;
use forewarn::{
    AlertSink, CheckSpec, Clock, Incident, ManualClock, Monitor, Notification, NotificationKind,
    Secret, SinkConfig, Status,
};

const ACK_SECRET: &str = "test-ack-secret-0123456789";
const PASSWORD: &str = "s3cret-Pa55word-xyz";

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

enum Kind {
    Plain { max_size: Option<usize> },
    StartTls { cert: PathBuf, key: PathBuf },
    Implicit { cert: PathBuf, key: PathBuf },
    Auth,
}

struct Smtp {
    child: Child,
    port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Smtp {
    fn start(kind: Kind) -> Result<Smtp, String> {
        let py = python()?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let maildir = dir.path().join("Maildir");
        let port = free_port();
        let mut cmd = Command::new(&py);
        match &kind {
            Kind::Plain { .. } | Kind::StartTls { .. } | Kind::Implicit { .. } => {
                cmd.args(["-m", "aiosmtpd", "-n", "-l"])
                    .arg(format!("127.0.0.1:{port}"));
                if let Kind::Plain {
                    max_size: Some(size),
                } = &kind
                {
                    cmd.arg("-s").arg(size.to_string());
                }
                if let Kind::StartTls { cert, key } = &kind {
                    cmd.arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
                }
                if let Kind::Implicit { cert, key } = &kind {
                    cmd.arg("--smtpscert").arg(cert).arg("--smtpskey").arg(key);
                }
                cmd.args(["-c", "aiosmtpd.handlers.Mailbox"]).arg(&maildir);
            }
            Kind::Auth => {
                cmd.arg("-c")
                    .arg(AUTH_SERVER)
                    .arg(port.to_string())
                    .arg(&maildir)
                    .env("SMTP_USER", "forewarn")
                    .env("SMTP_PASSWORD", PASSWORD);
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
            let ready = match &kind {
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
        Ok(Smtp {
            child,
            port,
            maildir,
            _dir: dir,
        })
    }

    /// Starts `kind`, or explains why not: a skip on a laptop, a failure in CI.
    fn start_or_skip(kind: Kind) -> Option<Smtp> {
        match Smtp::start(kind) {
            Ok(s) => Some(s),
            Err(reason) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("the SMTP peer is required in CI: {reason}")
            }
            Err(reason) => {
                eprintln!("skipped: no SMTP peer ({reason})");
                None
            }
        }
    }

    /// Every stored message, oldest first.
    fn messages(&self) -> Vec<Mail> {
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

    /// Waits until `n` messages are stored.
    fn wait_for(&self, n: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(10);
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
struct Mail {
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

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
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
    fn parse(raw: &str) -> Mail {
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

    fn get(&self, name: &str) -> &str {
        header(&self.headers, name).unwrap_or_else(|| panic!("no {name} header: {self:?}"))
    }

    fn has(&self, name: &str) -> bool {
        header(&self.headers, name).is_some()
    }

    fn date(&self) -> DateTime<Utc> {
        DateTime::parse_from_rfc2822(self.get("Date"))
            .unwrap()
            .with_timezone(&Utc)
    }

    fn text(&self) -> &str {
        &self.parts["text/plain"]
    }

    fn html(&self) -> &str {
        &self.parts["text/html"]
    }

    /// The envelope recipients the server saw.
    fn rcpt(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .get("X-RcptTo")
            .split(',')
            .map(|s| s.trim().to_owned())
            .collect();
        v.sort();
        v
    }

    /// The ack token from the text part's link.
    fn ack_token(&self, base: &str) -> Option<String> {
        let at = self.text().find(base)?;
        let rest = &self.text()[at + base.len()..];
        Some(
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect(),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Sinks.
// ---------------------------------------------------------------------------------------------

const ACK_BASE: &str = "https://status.district.example/ack/";

fn config(port: u16) -> EmailSinkConfig {
    let text = format!(
        r#"
type = "email"
host = "127.0.0.1"
port = {port}
tls = "none"
from = "forewarn <forewarn@district.example>"
reply_to = "ICT help desk <helpdesk@district.example>"
lists = {{ ict-oncall = ["Ana <ana@district.example>", "bo@district.example"] }}
to = ["ict-oncall", "director@district.example"]
subject_prefix = "[forewarn]"
status_page_url = "https://status.district.example/"
ack_url_base = "{ACK_BASE}"
ack_secret = "{ACK_SECRET}"
timeout = "5s"
"#
    );
    let parsed: SinkConfig = toml::from_str(&text).expect("sink config parses");
    parsed.validate().expect("sink config is valid");
    let SinkConfig::Email(c) = parsed else {
        panic!("not an email sink")
    };
    *c
}

fn t0() -> DateTime<Utc> {
    "2026-09-01T07:55:00Z".parse().unwrap()
}

fn notification(kind: NotificationKind, key: &str) -> Notification {
    let mut i = Incident::open(
        "printer-a12",
        Some("printers"),
        "p",
        Status::Critical,
        "toner <empty> & paper jam",
        false,
        t0(),
    );
    i.id = 5;
    let mut n = Notification::for_incident(&i, "mail", key, kind, t0());
    n.labels.insert("owner".into(), "ICT".into());
    n.labels
        .insert("location".into(), "Building A, room 12".into());
    n
}

// ---------------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn delivers_to_lists_with_both_parts_and_an_ack_link() {
    let Some(smtp) = Smtp::start_or_skip(Kind::Plain { max_size: None }) else {
        return;
    };
    let sink = config(smtp.port).build("mail").unwrap();
    sink.healthcheck().await.expect("healthy");
    assert!(smtp.messages().is_empty(), "a healthcheck sends nothing");
    sink.send(&notification(NotificationKind::Opened, "opened"))
        .await
        .expect("delivered");
    let mails = smtp.wait_for(1);
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(
        m.rcpt(),
        [
            "ana@district.example",
            "bo@district.example",
            "director@district.example"
        ],
        "the list is expanded"
    );
    assert!(m.get("To").contains("ana@district.example"), "{m:?}");
    assert!(m.get("From").contains("forewarn@district.example"));
    assert!(m.get("Reply-To").contains("helpdesk@district.example"));
    assert_eq!(
        m.get("Subject"),
        "[forewarn] [CRITICAL] printer-a12: toner <empty> & paper jam"
    );
    assert_eq!(m.get("Message-ID"), "<incident-5.mail@district.example>");
    assert!(!m.has("In-Reply-To"));
    let text = m.text();
    assert!(text.contains("printer-a12 (group printers)"), "{text}");
    assert!(
        text.contains("Since:      2026-09-01 07:55 UTC (for less than a minute)"),
        "{text}"
    );
    assert!(text.contains("Owner:      ICT"), "{text}");
    assert!(text.contains("Location:   Building A, room 12"), "{text}");
    assert!(text.contains("Incident:   #5"), "{text}");
    assert!(text.contains("toner <empty> & paper jam"), "{text}");
    assert!(text.contains("Status page: https://status.district.example/"));
    let html = m.html();
    assert!(
        html.contains("toner &lt;empty&gt; &amp; paper jam"),
        "{html}"
    );
    assert!(!html.contains("<empty>"), "escaped: {html}");
    assert!(html.contains("Building A, room 12"), "{html}");
    // The ack link is signed with the configured secret, in both parts.
    let token = m.ack_token(ACK_BASE).expect("an ack link");
    let signer = AckSigner::new(ACK_SECRET.as_bytes()).unwrap();
    assert_eq!(signer.verify(&token, t0()).unwrap(), 5);
    assert!(
        html.contains(&format!("href=\"{ACK_BASE}{token}\"")),
        "{html}"
    );
    let other = AckSigner::new(b"some other secret, long enough").unwrap();
    assert!(other.verify(&token, t0()).is_err());
}

#[tokio::test]
async fn a_monitor_threads_opened_acknowledged_and_resolved() {
    let Some(smtp) = Smtp::start_or_skip(Kind::Plain { max_size: None }) else {
        return;
    };
    let clock = ManualClock::new(t0());
    let probe = FakeProbe::new(Status::Critical);
    probe.set(Status::Critical, "connection refused");
    let sink: Arc<EmailSink> = Arc::new(config(smtp.port).build("mail").unwrap());
    let monitor = Monitor::builder()
        .clock(Arc::new(clock.clone()))
        .check(
            CheckSpec::new("db-main", Arc::new(probe.clone()))
                .thresholds(1, 1)
                .label("owner", "ICT servers")
                .label("location", "Data centre"),
        )
        .sink("mail", sink)
        .build()
        .unwrap();
    monitor.run_once().await.unwrap();
    let mails = smtp.wait_for(1);
    assert_eq!(mails.len(), 1, "{mails:?}");
    let opened = &mails[0];
    let root = opened.get("Message-ID").to_owned();
    assert!(
        root.starts_with("<incident-") && root.ends_with(".mail@district.example>"),
        "{root}"
    );
    assert!(opened.get("Subject").contains("[CRITICAL] db-main"));
    assert!(opened.text().contains("Owner:      ICT servers"));

    // Someone follows the link: the token names the incident the monitor opened.
    let token = opened.ack_token(ACK_BASE).expect("an ack link");
    let signer = AckSigner::new(ACK_SECRET.as_bytes()).unwrap();
    let id = signer.verify(&token, clock.now()).unwrap();
    assert_eq!(root, format!("<incident-{id}.mail@district.example>"));
    clock.advance(Duration::from_secs(120));
    monitor.acknowledge(id, "ana", Some("on it")).await.unwrap();
    monitor.deliver_outbox().await.unwrap();

    clock.advance(Duration::from_secs(600));
    probe.set(Status::Ok, "accepting connections");
    monitor.run_once().await.unwrap();
    let mails = smtp.wait_for(3);
    assert_eq!(mails.len(), 3, "{mails:?}");
    let (ack, resolved) = (&mails[1], &mails[2]);
    assert!(ack.get("Subject").contains("[ACK] db-main taken by ana"));
    assert!(ack.text().contains("Taken by:   ana"), "{}", ack.text());
    assert!(
        ack.ack_token(ACK_BASE).is_none(),
        "no ack link once acknowledged"
    );
    assert!(resolved.get("Subject").contains("[RESOLVED] db-main"));
    for m in [ack, resolved] {
        assert_eq!(m.get("In-Reply-To"), root);
        assert_eq!(m.get("References"), root);
        assert_ne!(m.get("Message-ID"), root);
        assert!(m.get("Message-ID").ends_with("@district.example>"));
    }
    assert!(
        resolved.text().contains("Lasted:     12 min"),
        "{}",
        resolved.text()
    );
    assert!(resolved.ack_token(ACK_BASE).is_none());
    // Nothing is sent twice.
    monitor.deliver_outbox().await.unwrap();
    monitor.escalate_all().await.unwrap();
    assert_eq!(smtp.messages().len(), 3);
}

#[tokio::test]
async fn tiers_reach_the_second_list_after_ten_minutes_and_both_hear_resolved() {
    let Some(smtp) = Smtp::start_or_skip(Kind::Plain { max_size: None }) else {
        return;
    };
    let clock = ManualClock::new(t0());
    let probe = FakeProbe::new(Status::Critical);
    let mut oncall = config(smtp.port);
    oncall.to = vec!["ict-oncall".into()];
    let mut team = config(smtp.port);
    team.lists
        .insert("ict-team".into(), vec!["cy@district.example".into()]);
    team.to = vec!["ict-team".into()];
    let policy = TieredEscalation::new(
        vec![
            Tier::new(Duration::ZERO, ["mail-oncall"]),
            Tier::new(Duration::from_secs(600), ["mail-team"]),
        ],
        None,
    )
    .unwrap();
    let monitor = Monitor::builder()
        .clock(Arc::new(clock.clone()))
        .check(CheckSpec::new("sis", Arc::new(probe.clone())).thresholds(1, 1))
        .sink(
            "mail-oncall",
            Arc::new(oncall.build("mail-oncall").unwrap()),
        )
        .sink("mail-team", Arc::new(team.build("mail-team").unwrap()))
        .escalation("default", Arc::new(policy))
        .build()
        .unwrap();
    monitor.run_once().await.unwrap();
    assert_eq!(smtp.wait_for(1).len(), 1);
    clock.advance(Duration::from_secs(540));
    monitor.escalate_all().await.unwrap();
    monitor.deliver_outbox().await.unwrap();
    assert_eq!(smtp.messages().len(), 1, "9 minutes: still only on-call");
    clock.advance(Duration::from_secs(60));
    monitor.escalate_all().await.unwrap();
    monitor.deliver_outbox().await.unwrap();
    let mails = smtp.wait_for(2);
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1].rcpt(), ["cy@district.example"]);
    assert!(mails[1].get("Message-ID").contains(".mail-team@"));
    clock.advance(Duration::from_secs(60));
    probe.set(Status::Ok, "fine");
    monitor.run_once().await.unwrap();
    let mails = smtp.wait_for(4);
    assert_eq!(mails.len(), 4, "{mails:?}");
    let resolved: Vec<&Mail> = mails
        .iter()
        .filter(|m| m.get("Subject").contains("[RESOLVED]"))
        .collect();
    assert_eq!(resolved.len(), 2);
    for r in resolved {
        let team = r.rcpt() == ["cy@district.example"];
        let sink = if team { "mail-team" } else { "mail-oncall" };
        assert!(r.get("In-Reply-To").contains(&format!(".{sink}@")), "{r:?}");
    }
}

/// PEM text of DER bytes (rcgen is built without its PEM feature).
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(line).unwrap());
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

/// A self-signed end-entity certificate for localhost and 127.0.0.1 (CA:FALSE, which rustls
/// wants) and its key, written as PEM files in `dir`.
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, pem("CERTIFICATE", cert.der())).unwrap();
    std::fs::write(&key_path, pem("PRIVATE KEY", &key.serialize_der())).unwrap();
    (cert_path, key_path)
}

#[tokio::test]
async fn implicit_tls_and_opportunistic_modes_deliver() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let Some(smtps) = Smtp::start_or_skip(Kind::Implicit {
        cert: cert.clone(),
        key,
    }) else {
        return;
    };
    let mut c = config(smtps.port);
    c.tls = EmailTls::Implicit;
    c.ca_file = Some(cert);
    let sink = c.build("mail").unwrap();
    sink.healthcheck().await.expect("healthy over implicit TLS");
    sink.send(&notification(NotificationKind::Opened, "opened"))
        .await
        .expect("delivered over implicit TLS");
    assert_eq!(smtps.wait_for(1).len(), 1);

    // Opportunistic: the plain server offers no STARTTLS, so the mail goes in the clear (fine
    // on loopback).
    let Some(plain) = Smtp::start_or_skip(Kind::Plain { max_size: None }) else {
        return;
    };
    let mut c = config(plain.port);
    c.tls = EmailTls::Opportunistic;
    c.build("mail")
        .unwrap()
        .send(&notification(NotificationKind::Opened, "opened"))
        .await
        .expect("delivered without STARTTLS");
    assert_eq!(plain.wait_for(1).len(), 1);
}

#[tokio::test]
async fn starttls_with_a_self_signed_certificate_from_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = self_signed(dir.path());
    let Some(smtp) = Smtp::start_or_skip(Kind::StartTls {
        cert: cert_path.clone(),
        key: key_path,
    }) else {
        return;
    };
    let mut c = config(smtp.port);
    c.tls = EmailTls::Starttls;
    c.ca_file = Some(cert_path);
    let sink = c.build("mail").unwrap();
    sink.healthcheck().await.expect("healthy over STARTTLS");
    sink.send(&notification(NotificationKind::Opened, "opened"))
        .await
        .expect("delivered over STARTTLS");
    let mails = smtp.wait_for(1);
    assert_eq!(mails.len(), 1);
    assert!(mails[0].get("Subject").contains("printer-a12"));

    // Without the certificate the server is not trusted: a retryable TLS error.
    let mut untrusted = config(smtp.port);
    untrusted.tls = EmailTls::Starttls;
    let e = untrusted
        .build("mail")
        .unwrap()
        .send(&notification(NotificationKind::Opened, "opened"))
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert!(e.to_string().contains("invalid peer certificate"), "{e}");
    assert!(
        !e.to_string().contains("Connection error: Connection error"),
        "{e}"
    );
    // With tls = "none" the server refuses the mail: it requires STARTTLS.
    let plain = config(smtp.port).build("mail").unwrap();
    assert!(
        plain
            .send(&notification(NotificationKind::Opened, "opened"))
            .await
            .is_err()
    );
    assert_eq!(smtp.messages().len(), 1);
}

fn assert_no_password(e: &forewarn::Error, sink: &EmailSink) {
    let shown = format!("{e} {e:?} {sink:?}");
    assert!(!shown.contains(PASSWORD), "password leaked: {shown}");
}

#[tokio::test]
async fn wrong_password_is_retryable_and_never_shown() {
    let Some(smtp) = Smtp::start_or_skip(Kind::Auth) else {
        return;
    };
    let mut c = config(smtp.port);
    c.username = Some("forewarn".into());
    c.password = Some(Secret::new(format!("{PASSWORD}-wrong")));
    let wrong = c.build("mail").unwrap();
    let e = wrong
        .send(&notification(NotificationKind::Opened, "opened"))
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert!(e.to_string().contains("login refused"), "{e}");
    assert_no_password(&e, &wrong);
    assert!(!format!("{e} {e:?} {wrong:?}").contains(&format!("{PASSWORD}-wrong")));
    let e = wrong.healthcheck().await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert_no_password(&e, &wrong);
    assert!(smtp.messages().is_empty());

    // The password from the environment, as configs give it.
    // SAFETY: a variable only this test reads.
    unsafe { std::env::set_var("FOREWARN_TEST_SMTP_PASSWORD", PASSWORD) };
    c.password = Some(Secret::new("${FOREWARN_TEST_SMTP_PASSWORD}"));
    let right = c.build("mail").unwrap();
    right.healthcheck().await.expect("login accepted");
    right
        .send(&notification(NotificationKind::Opened, "opened"))
        .await
        .expect("delivered after login");
    assert_eq!(smtp.wait_for(1).len(), 1);
    assert!(!format!("{right:?} {c:?}").contains(PASSWORD));
}

#[tokio::test]
async fn refused_connection_is_retryable_and_never_shows_the_password() {
    let port = free_port();
    let mut c = config(port);
    c.username = Some("forewarn".into());
    c.password = Some(Secret::new(PASSWORD));
    let sink = c.build("mail").unwrap();
    let e = sink
        .send(&notification(NotificationKind::Opened, "opened"))
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
    assert!(e.to_string().contains("refused"), "{e}");
    assert_no_password(&e, &sink);
    let e = sink.healthcheck().await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert_no_password(&e, &sink);
}

#[tokio::test]
async fn a_permanent_rejection_is_not_retried() {
    // The server refuses messages over 600 bytes with 552.
    let Some(smtp) = Smtp::start_or_skip(Kind::Plain {
        max_size: Some(600),
    }) else {
        return;
    };
    let sink = config(smtp.port).build("mail").unwrap();
    let e = sink
        .send(&notification(NotificationKind::Opened, "opened"))
        .await
        .unwrap_err();
    assert!(!e.is_retryable(), "{e}");
    assert!(e.to_string().contains("552"), "{e}");
    assert!(smtp.messages().is_empty());
}

#[test]
fn the_readme_example_is_a_valid_config() {
    let readme = include_str!("../README.md");
    let section = readme
        .split("### E-mail and tiered escalation")
        .nth(1)
        .expect("the README has the e-mail section");
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a toml block");
    // SAFETY: variables only this test reads.
    unsafe {
        std::env::set_var("SMTP_PASSWORD", "readme-password");
        std::env::set_var("FOREWARN_ACK_SECRET", "readme-ack-secret-0123456789");
    }
    let config = forewarn::Config::parse(block, Path::new("README.md")).expect("valid");
    assert_eq!(config.sinks.len(), 2);
    let policy = config.policies["oncall"].build();
    assert_eq!(policy.sinks(), ["mail-oncall", "mail-team"]);
    let SinkConfig::Email(team) = &config.sinks["mail-team"] else {
        panic!("not e-mail")
    };
    assert_eq!(team.effective_port(), 587);
    assert_eq!(team.recipients().unwrap().len(), 3);
    assert!(!format!("{config:?}").contains("readme-password"));
}
