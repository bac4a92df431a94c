//! The e-mail sink against a real SMTP server: aiosmtpd (PyPI) on a loopback port storing
//! messages in a Maildir that the tests read back. Covers distribution lists, both body
//! parts, threading of opened → acknowledged → resolved through a real monitor, tiered
//! escalation, STARTTLS with a self-signed certificate, and error classification.
//!
//! aiosmtpd is installed into a virtual environment under the target directory when missing.
//! When it cannot be started the tests are skipped with the reason, except with `CI=true`,
//! where they fail.

#[path = "support/smtp.rs"]
mod smtp;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use forewarn::ack::AckSigner;
use forewarn::escalation::{Tier, TieredEscalation};
use forewarn::sink::{EmailSink, EmailSinkConfig, EmailTls};
use forewarn::testing::FakeProbe;
use forewarn::{
    AlertSink, CheckSpec, Clock, Incident, ManualClock, Monitor, Notification, NotificationKind,
    Secret, SinkConfig, Status, Zone,
};
use smtp::{Kind, Mail, Smtp, free_port};

const ACK_SECRET: &str = "test-ack-secret-0123456789";
const INSTALLATION: &str = "5eed0f1e2d3c4b5a69788796a5b4c3d2";
const PASSWORD: &str = "s3cret-Pa55word-xyz";

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

fn chicago() -> Zone {
    Zone::named("America/Chicago").unwrap()
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
    let mut n = Notification::for_incident(&i, INSTALLATION, "mail", key, kind, t0());
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
    let sink = config(smtp.port)
        .build("mail")
        .unwrap()
        .with_zone(chicago());
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
    assert_eq!(
        m.get("Message-ID"),
        "<incident-5.mail.5eed0f1e2d3c4b5a69788796a5b4c3d2@district.example>"
    );
    assert!(!m.has("In-Reply-To"));
    let text = m.text();
    assert!(text.contains("printer-a12 (group printers)"), "{text}");
    assert!(
        text.contains("Since:      2026-09-01 02:55 CDT (for less than a minute)"),
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
        root.starts_with("<incident-")
            && root.contains(".mail.")
            && root.ends_with("@district.example>"),
        "{root}"
    );
    assert!(opened.get("Subject").contains("[CRITICAL] db-main"));
    assert!(opened.text().contains("Owner:      ICT servers"));

    // Someone follows the link: the token names the incident the monitor opened.
    let token = opened.ack_token(ACK_BASE).expect("an ack link");
    let signer = AckSigner::new(ACK_SECRET.as_bytes()).unwrap();
    let id = signer.verify(&token, clock.now()).unwrap();
    let installation = monitor.store().installation_id().await.unwrap();
    assert_eq!(
        root,
        format!("<incident-{id}.mail.{installation}@district.example>")
    );
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
    assert!(mails[1].get("Message-ID").contains(".mail-team."));
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
        assert!(r.get("In-Reply-To").contains(&format!(".{sink}.")), "{r:?}");
    }
}

/// Through a real monitor and SMTP server, with the district in Chicago: the opened message
/// and the reminder's subject show local time with its abbreviation, standard time in January
/// and daylight time in July, never UTC; the Date header stays a correct instant.
#[tokio::test]
async fn times_in_messages_are_the_districts_local_time() {
    let Some(smtp) = Smtp::start_or_skip(Kind::Plain { max_size: None }) else {
        return;
    };
    let mut seen = 0;
    for (opened, local) in [
        ("2026-01-15T15:00:00Z", "2026-01-15 09:00 CST"),
        ("2026-07-15T15:00:00Z", "2026-07-15 10:00 CDT"),
    ] {
        let opened: DateTime<Utc> = opened.parse().unwrap();
        let clock = ManualClock::new(opened);
        let probe = FakeProbe::new(Status::Critical);
        let policy = TieredEscalation::new(
            vec![Tier::new(Duration::ZERO, ["mail"])],
            Some(Duration::from_secs(600)),
        )
        .unwrap();
        let monitor = Monitor::builder()
            .clock(Arc::new(clock.clone()))
            .zone(chicago())
            .check(CheckSpec::new("sis", Arc::new(probe.clone())).thresholds(1, 1))
            .sink(
                "mail",
                Arc::new(
                    config(smtp.port)
                        .build("mail")
                        .unwrap()
                        .with_zone(chicago()),
                ),
            )
            .escalation("default", Arc::new(policy))
            .build()
            .unwrap();
        monitor.run_once().await.unwrap();
        clock.advance(Duration::from_secs(600));
        monitor.escalate_all().await.unwrap();
        monitor.deliver_outbox().await.unwrap();
        seen += 2;
        let mails = smtp.wait_for(seen);
        assert_eq!(mails.len(), seen, "{mails:?}");
        let (first, reminder) = (&mails[seen - 2], &mails[seen - 1]);
        assert!(
            first
                .text()
                .contains(&format!("Since:      {local} (for less than a minute)")),
            "{}",
            first.text()
        );
        assert!(first.html().contains(local), "{}", first.html());
        assert_eq!(first.date(), opened, "the Date header is the instant");
        assert_eq!(
            reminder.get("Subject"),
            format!("[forewarn] [REMINDER] sis is still critical (since {local})")
        );
        assert!(
            reminder
                .text()
                .contains(&format!("Since:      {local} (for 10 min)")),
            "{}",
            reminder.text()
        );
        for m in [first, reminder] {
            assert!(!m.text().contains("UTC"), "{}", m.text());
        }
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
    let Some(smtp) = Smtp::start_or_skip(Kind::Auth {
        user: "forewarn".into(),
        password: PASSWORD.into(),
    }) else {
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

/// Incident #1 of one history is not incident #1 of another: after a database reset, and for
/// a second site mailing the same list, every message gets a Message-ID of its own (receivers
/// that drop repeated ids, mail threading among them, would otherwise lose real alerts), and
/// each "resolved" threads under its own "opened".
#[tokio::test]
async fn message_ids_never_repeat_across_installations_or_a_reset() {
    let Some(smtp) = Smtp::start_or_skip(Kind::Plain { max_size: None }) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let here = dir.path().join("forewarn.db");
    let elsewhere = dir.path().join("other-site.db");
    let clock = ManualClock::new(t0());
    let mut delivered = 0;
    for db in [&here, &here, &elsewhere] {
        if db == &here && delivered == 2 {
            // The first history is reset: the same file, started afresh.
            for suffix in ["", "-wal", "-shm"] {
                let mut p = here.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
        let probe = FakeProbe::new(Status::Critical);
        let store = Arc::new(forewarn::SqliteStore::open(db).unwrap());
        let monitor = Monitor::builder()
            .clock(Arc::new(clock.clone()))
            .store(store)
            .check(CheckSpec::new("db-main", Arc::new(probe.clone())).thresholds(1, 1))
            .sink("mail", Arc::new(config(smtp.port).build("mail").unwrap()))
            .build()
            .unwrap();
        monitor.run_once().await.unwrap();
        clock.advance(Duration::from_secs(60));
        probe.set(Status::Ok, "back");
        monitor.run_once().await.unwrap();
        clock.advance(Duration::from_secs(60));
        delivered += 2;
        assert_eq!(smtp.wait_for(delivered).len(), delivered);
    }
    let mails = smtp.messages();
    let ids: std::collections::BTreeSet<&str> = mails.iter().map(|m| m.get("Message-ID")).collect();
    assert_eq!(ids.len(), 6, "{ids:#?}");
    for pair in mails.chunks(2) {
        let (opened, resolved) = (&pair[0], &pair[1]);
        assert!(opened.get("Subject").contains("[CRITICAL]"), "{opened:?}");
        assert!(
            opened.get("Message-ID").starts_with("<incident-1.mail."),
            "{opened:?}"
        );
        assert!(
            resolved.get("Subject").contains("[RESOLVED]"),
            "{resolved:?}"
        );
        assert_eq!(resolved.get("In-Reply-To"), opened.get("Message-ID"));
    }
}
