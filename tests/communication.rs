//! Proactive communication end to end against real peers: one monitor (on a manual clock)
//! whose every channel is real — the status server over HTTP, e-mail to aiosmtpd, the Sieve
//! auto-reply on a private Dovecot, the voicemail greeting by espeak-ng, Chromium on the page —
//! checked to say the same thing at every step of an outage; the acknowledgement link of an
//! e-mail followed to the running status server; FAQ drafts published as help pages.
//!
//! Each peer that cannot start skips the tests that need it (a failure with `CI=true`).

#[path = "support/browser.rs"]
mod browser;
#[path = "support/dovecot.rs"]
mod dovecot;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/voicemail.rs"]
mod voicemail;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dovecot::{Dovecot, PASSWORD};
use forewarn::autoreply::OutageMessage;
use forewarn::broadcast::{AudienceConfig, BroadcastSettings, ServiceConfig};
use forewarn::monitor::MonitorStatusSource;
use forewarn::status::{PublicIncidentState, PublicUpdateKind, ServiceState};
use forewarn::testing::FakeProbe;
use forewarn::{
    CheckSpec, IncidentFilter, ManualClock, Monitor, PublicStatus, SqliteStore, Status,
    StatusConfig, StatusServer, Zone,
};
use smtp::{Kind, Mail, Smtp};
use tokio::sync::oneshot;

const ZONE: &str = "America/Chicago";
const TITLE: &str = "Springfield Public Schools — IT status";
const SERVICE: &str = "Student Information System";
const CHECK: &str = "sis-web";
const TEACHERS: &str = "teachers@district.example";
const ICT: &str = "ict-oncall@district.example";

/// The mailbox's own rules, active before any outage.
const USER_RULES: &str = "require [\"fileinto\"];\r\n\
     if address :domain :is \"from\" \"school.example\" {\r\n\
       fileinto \"Schools\";\r\n\
     }\r\n";

fn chicago() -> Zone {
    Zone::named(ZONE).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The status server, running.
// ---------------------------------------------------------------------------------------------

struct Running {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<forewarn::Result<()>>,
    http: reqwest::Client,
}

impl Running {
    async fn start(config: &StatusConfig, monitor: &Monitor) -> Running {
        forewarn::http_client::install_crypto_provider();
        let server = StatusServer::bind(
            config,
            Arc::new(MonitorStatusSource::new(monitor.clone(), TITLE)),
            chicago(),
        )
        .unwrap();
        let addr = server.local_addr();
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(server.serve(async move {
            let _ = rx.await;
        }));
        Running {
            base: format!("http://{addr}"),
            stop: Some(tx),
            task,
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn text(&self, path: &str) -> String {
        let r = self.http.get(self.url(path)).send().await.unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK, "{path}");
        r.text().await.unwrap()
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .expect("the server stops when asked")
            .unwrap()
            .unwrap();
    }
}

fn status_config() -> StatusConfig {
    StatusConfig {
        listen: Some("127.0.0.1:0".into()),
        public_url: Some("https://status.springfield.example".into()),
        ..StatusConfig::default()
    }
}

/// Text as HTML shows it (written here, not taken from the library).
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

// ---------------------------------------------------------------------------------------------
// Mail.
// ---------------------------------------------------------------------------------------------

/// An e-mail sink to aiosmtpd sending to `to`, times in the district's zone.
fn email_sink(port: u16, name: &str, to: &str) -> Arc<forewarn::sink::EmailSink> {
    let mut c = smtp::plain_email_sink(port);
    c.to = vec![to.to_owned()];
    Arc::new(c.build(name).unwrap().with_zone(chicago()))
}

/// The messages aiosmtpd stored for `rcpt`, oldest first.
fn mails_to(smtp: &Smtp, rcpt: &str) -> Vec<Mail> {
    let mut v: Vec<Mail> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.rcpt() == [rcpt.to_owned()])
        .collect();
    v.sort_by_key(|m| m.date());
    v
}

// ---------------------------------------------------------------------------------------------
// Sieve.
// ---------------------------------------------------------------------------------------------

/// The text of the first Sieve multi-line string (`text:` … `.`) in `script`, dot-stuffing
/// undone, lines joined with `\n`.
fn sieve_text(script: &str) -> String {
    let script = script.replace("\r\n", "\n");
    let start = script.find("text:\n").expect("a multi-line string") + "text:\n".len();
    let mut out = Vec::new();
    for line in script[start..].split('\n') {
        if line == "." {
            return out.join("\n");
        }
        out.push(
            line.strip_prefix('.')
                .filter(|_| line.starts_with(".."))
                .unwrap_or(line),
        );
    }
    panic!("the multi-line string does not end: {script}");
}

// ---------------------------------------------------------------------------------------------
// 1. Everything agrees at every step.
// ---------------------------------------------------------------------------------------------

/// What a step expects.
struct Expect {
    step: &'static str,
    state: ServiceState,
    /// The public incident's updates, or none when people have not been told of an outage.
    updates: Vec<PublicUpdateKind>,
    incident: Option<PublicIncidentState>,
    /// Whether the auto-reply, voicemail and `/autoreply.txt` tell of the outage.
    told: bool,
    /// How many broadcasts the teachers have received by now.
    mails: usize,
}

struct World {
    clock: ManualClock,
    sis: FakeProbe,
    monitor: Monitor,
    server: Running,
    smtp: Smtp,
    dovecot: Dovecot,
    greeting: PathBuf,
    normal: Vec<u8>,
    /// How long espeak-ng takes to say each outage text, measured apart from forewarn.
    spoken: std::collections::HashMap<String, f64>,
    dir: tempfile::TempDir,
}

impl World {
    /// Runs a round every 10 s for `total`, then puts the responders in line.
    async fn advance(&self, total: Duration) {
        let step = Duration::from_secs(10);
        let mut t = Duration::ZERO;
        while t < total {
            self.clock.advance(step);
            t += step;
            self.monitor.run_once().await.unwrap();
        }
        self.monitor.apply_responders().await.unwrap();
    }

    /// How long espeak-ng itself takes to say `text` with the responder's default voice and
    /// speed (en-us, 150 words a minute).
    fn reference_seconds(&mut self, text: &str) -> f64 {
        if let Some(s) = self.spoken.get(text) {
            return *s;
        }
        let path = self.dir.path().join("reference.wav");
        let out = std::process::Command::new("espeak-ng")
            .args(["-v", "en-us", "-s", "150", "-w"])
            .arg(&path)
            .arg("--")
            .arg(text)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let s = voicemail::seconds(&voicemail::wav_header(&path));
        self.spoken.insert(text.to_owned(), s);
        s
    }

    /// Reads every channel and checks that they agree with each other and with `e`.
    async fn agree(&mut self, e: &Expect) {
        let step = e.step;
        let m = &self.monitor;
        // The monitor itself.
        let services = m.services();
        assert_eq!(services.len(), 1, "{step}");
        assert_eq!(services[0].state, e.state, "{step}: Monitor::services");
        let message: Option<OutageMessage> = m.outage_message();
        assert_eq!(message.is_some(), e.told, "{step}: Monitor::outage_message");

        // /status.json
        let json: PublicStatus =
            serde_json::from_str(&self.server.text("/status.json").await).unwrap();
        assert_eq!(json.time_zone, ZONE, "{step}");
        assert_eq!(json.services.len(), 1, "{step}");
        let svc = &json.services[0];
        assert_eq!(svc.name, SERVICE, "{step}");
        assert_eq!(svc.state, e.state, "{step}: /status.json");
        assert_eq!(json.autoreply, message, "{step}: /status.json autoreply");
        let kinds: Vec<PublicUpdateKind> = json
            .incidents
            .iter()
            .flat_map(|i| i.updates.iter().map(|u| u.kind))
            .collect();
        assert_eq!(kinds, e.updates, "{step}: /status.json updates");
        assert_eq!(
            json.incidents.first().map(|i| i.state),
            e.incident,
            "{step}: /status.json incident state"
        );
        assert!(json.incidents.len() <= 1, "{step}: {:#?}", json.incidents);
        let updates: Vec<_> = json.incidents.iter().flat_map(|i| &i.updates).collect();
        for u in &updates {
            assert!(
                !u.text.contains(CHECK),
                "{step}: no check names: {}",
                u.text
            );
        }
        if let Some(u) = updates.first() {
            assert!(
                u.text.contains(&format!("{SERVICE} is not working since ")),
                "{step}: {}",
                u.text
            );
            assert!(
                u.text.contains("The IT team knows and is working on it."),
                "{step}: {}",
                u.text
            );
            assert!(u.text.contains(" CDT."), "{step}: local time: {}", u.text);
        }

        // / (HTML)
        let html = self.server.text("/").await;
        let card_at = html
            .find(&format!("id=\"service-{}\"", svc.id))
            .unwrap_or_else(|| panic!("{step}: no card for {}: {html}", svc.id));
        let card = &html[card_at..];
        let card = &card[..card.find("</div>\n</div>").unwrap_or(card.len())];
        let (class, label) = match e.state {
            ServiceState::Operational => ("operational", "Operational"),
            ServiceState::Down => ("down", "Down"),
            other => panic!("{step}: not expected here: {other:?}"),
        };
        assert!(
            card.contains(&format!("<span class=\"state {class}\">{label}</span>")),
            "{step}: {card}"
        );
        for i in &json.incidents {
            assert!(html.contains(&escape(&i.title)), "{step}: {}", i.title);
        }
        for u in &updates {
            assert!(
                html.contains(&escape(&u.text)),
                "{step}: {} in {html}",
                u.text
            );
        }
        assert_eq!(
            html.contains("The IT team knows and is working on it."),
            !updates.is_empty(),
            "{step}: the page says \"we know\" exactly when people were told"
        );
        assert!(!html.contains(CHECK), "{step}: no check names on the page");

        // /feed.atom
        let feed = feed_rs::parser::parse(self.server.text("/feed.atom").await.as_bytes())
            .expect("the feed parses");
        assert_eq!(
            feed.entries.len(),
            updates.len(),
            "{step}: an entry per update"
        );
        for u in &updates {
            assert!(
                feed.entries.iter().any(|entry| entry
                    .content
                    .as_ref()
                    .and_then(|c| c.body.as_deref())
                    .is_some_and(|b| b.starts_with(&u.text))),
                "{step}: no entry for {}",
                u.text
            );
        }

        // /autoreply.txt
        let autoreply = self.server.text("/autoreply.txt").await;
        match &message {
            Some(msg) => {
                assert_eq!(
                    autoreply,
                    format!("{}\n\n{}\n", msg.subject.trim_end(), msg.body.trim_end()),
                    "{step}"
                );
                assert!(msg.subject.contains(SERVICE), "{step}: {}", msg.subject);
                assert!(msg.body.contains(" CDT"), "{step}: {}", msg.body);
                assert!(!msg.body.contains(CHECK), "{step}: {}", msg.body);
            }
            None => assert!(
                autoreply.starts_with(&format!("{TITLE}: no known outages\n")),
                "{step}: {autoreply}"
            ),
        }

        // The Sieve scripts on Dovecot.
        let mut admin = self.dovecot.sieve();
        let scripts = admin.list();
        match &message {
            Some(msg) => {
                assert_eq!(
                    scripts,
                    vec![
                        ("forewarn-outage".to_owned(), true),
                        ("roundcube".to_owned(), false)
                    ],
                    "{step}"
                );
                let script = admin.get("forewarn-outage");
                assert_eq!(
                    sieve_text(&script).trim_end(),
                    msg.body.replace("\r\n", "\n").trim_end(),
                    "{step}: the auto-reply's body"
                );
                assert!(script.contains(&msg.subject), "{step}: {script}");
                assert!(
                    script.contains("include :personal :optional \"roundcube\";"),
                    "{step}: the user's rules still apply: {script}"
                );
            }
            None => assert_eq!(
                scripts,
                vec![("roundcube".to_owned(), true)],
                "{step}: the user's script is active and alone"
            ),
        }
        drop(admin);

        // The voicemail greeting.
        match &message {
            Some(msg) => {
                let w = voicemail::wav_header(&self.greeting);
                assert_eq!((w.format, w.channels, w.rate, w.bits), (1, 1, 8000, 16));
                let got = voicemail::seconds(&w);
                let want = self.reference_seconds(&msg.spoken);
                assert!(
                    (got - want).abs() / want < 0.05,
                    "{step}: the greeting lasts {got:.2} s, espeak-ng says the text in {want:.2} s"
                );
            }
            None => assert_eq!(
                std::fs::read(&self.greeting).unwrap(),
                self.normal,
                "{step}: the normal greeting, byte for byte"
            ),
        }

        // The teachers' mail.
        let mails = mails_to(&self.smtp, TEACHERS);
        let subjects: Vec<&str> = mails.iter().map(|m| m.get("Subject")).collect();
        assert_eq!(mails.len(), e.mails, "{step}: {subjects:#?}");
        for (n, mail) in mails.iter().enumerate() {
            for part in [mail.get("Subject"), mail.text(), mail.html()] {
                assert!(!part.contains(CHECK), "{step}: no check names: {part}");
                assert!(!part.contains("UTC"), "{step}: local times: {part}");
            }
            assert!(mail.text().contains(" CDT"), "{step}: {}", mail.text());
            assert!(mail.get("Subject").contains(SERVICE), "{step}");
            if n > 0 {
                let first = mails[0].get("Message-ID");
                assert_eq!(mail.get("In-Reply-To"), first, "{step}: one thread");
                assert!(mail.get("References").contains(first), "{step}: one thread");
            } else {
                assert!(!mail.has("In-Reply-To"), "{step}: the thread starts");
            }
        }
        // Each update on the page was told to the teachers, in the same words.
        for (u, mail) in updates.iter().zip(&mails).skip(1) {
            if u.kind == PublicUpdateKind::Update {
                assert!(mail.text().contains(&u.text), "{step}: {}", mail.text());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_channel_says_the_same_at_every_step_of_an_outage() {
    let Some(smtp) = Smtp::start_or_skip(Kind::Plain { max_size: None }) else {
        return;
    };
    let dovecot = match Dovecot::start(smtp.port) {
        Ok(d) => d,
        Err(reason) => {
            smtp::skip::skip("Dovecot with Pigeonhole (ManageSieve, LMTP, Sieve)", reason);
            return;
        }
    };
    if let Err(reason) = voicemail::espeak() {
        smtp::skip::skip("espeak-ng", reason);
        return;
    }
    let mut admin = dovecot.sieve();
    admin.put("roundcube", USER_RULES);
    admin.activate("roundcube");
    drop(admin);

    let dir = tempfile::tempdir().unwrap();
    let greeting = dir.path().join("greeting.wav");
    let normal_path = dir.path().join("normal.wav");
    let normal: Vec<u8> = b"RIFF-the-district-greeting"
        .iter()
        .copied()
        .chain((0..=255u8).cycle().take(4000))
        .collect();
    std::fs::write(&normal_path, &normal).unwrap();
    std::fs::write(&greeting, &normal).unwrap();

    // Tuesday 1 September 2026, 09:00 in Chicago.
    let t0: DateTime<Utc> = "2026-09-01T14:00:00Z".parse().unwrap();
    let clock = ManualClock::new(t0);
    let sis = FakeProbe::new(Status::Ok);
    let monitor = Monitor::builder()
        .store(Arc::new(SqliteStore::in_memory().unwrap()))
        .clock(Arc::new(clock.clone()))
        .zone(chicago())
        .check(CheckSpec::new(CHECK, Arc::new(sis.clone())).thresholds(1, 1))
        .sink("ict-mail", email_sink(smtp.port, "ict-mail", ICT))
        .sink(
            "teachers-mail",
            email_sink(smtp.port, "teachers-mail", TEACHERS),
        )
        .escalation(
            "ict",
            Arc::new(forewarn::NotifySinks::new(["ict-mail".to_owned()])),
        )
        .default_escalation("ict")
        .service(
            "sis",
            ServiceConfig::new(SERVICE, [CHECK])
                .impact("Attendance and grades cannot be entered.")
                .workaround("Take attendance on paper.")
                .autoreply(true),
        )
        .audience(
            "teachers",
            AudienceConfig::new("Teachers", ["teachers-mail"], ["sis"]),
        )
        .broadcasts(BroadcastSettings {
            status_url: Some("https://status.springfield.example/".into()),
            district: Some("Springfield Public Schools".into()),
            ..BroadcastSettings::default()
        })
        .responder(
            "helpdesk-mail",
            dovecot
                .responder_config(PASSWORD)
                .build("helpdesk-mail")
                .unwrap(),
        )
        .responder(
            "helpdesk-phone",
            voicemail::config(&greeting, Some(&normal_path), None)
                .build("helpdesk-phone")
                .unwrap(),
        )
        .build()
        .unwrap();
    let server = Running::start(&status_config(), &monitor).await;
    let mut w = World {
        clock,
        sis,
        monitor,
        server,
        smtp,
        dovecot,
        greeting,
        normal,
        spoken: Default::default(),
        dir,
    };
    let calm = |step: &'static str| Expect {
        step,
        state: ServiceState::Operational,
        updates: vec![],
        incident: None,
        told: false,
        mails: 0,
    };

    // All well.
    w.advance(Duration::from_secs(10)).await;
    w.agree(&calm("all well")).await;

    // A blip: down for a minute, shorter than the delay (5 min). The service shows as down
    // while it is, but nobody is told and nothing is switched on.
    w.sis.set(Status::Critical, "HTTP 503");
    w.advance(Duration::from_secs(60)).await;
    w.agree(&Expect {
        state: ServiceState::Down,
        ..calm("during the blip")
    })
    .await;
    w.sis.set(Status::Ok, "HTTP 200");
    w.advance(Duration::from_secs(10)).await;
    w.agree(&calm("after the blip")).await;
    // Past the hold, the blip is over for good.
    w.advance(Duration::from_secs(11 * 60)).await;
    w.agree(&calm("after the blip's hold")).await;
    assert_eq!(mails_to(&w.smtp, ICT).len(), 2, "ICT heard of the blip");

    // A real outage: not yet told within the delay, told after it.
    w.sis.set(Status::Critical, "HTTP 503");
    w.advance(Duration::from_secs(4 * 60)).await;
    w.agree(&Expect {
        state: ServiceState::Down,
        ..calm("within the delay")
    })
    .await;
    w.advance(Duration::from_secs(70)).await;
    let told = |step: &'static str, updates: Vec<PublicUpdateKind>, mails: usize| Expect {
        step,
        state: ServiceState::Down,
        incident: Some(if updates.len() > 1 {
            PublicIncidentState::Identified
        } else {
            PublicIncidentState::Investigating
        }),
        updates,
        told: true,
        mails,
    };
    w.agree(&told("past the delay", vec![PublicUpdateKind::WeKnow], 1))
        .await;
    let first = mails_to(&w.smtp, TEACHERS);
    assert!(
        first[0]
            .text()
            .contains("Attendance and grades cannot be entered."),
        "{}",
        first[0].text()
    );

    // A note from ICT.
    let open = w
        .monitor
        .incidents(&IncidentFilter {
            active_only: true,
            check: Some(CHECK.into()),
            limit: 0,
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1, "{open:#?}");
    let before_note = w.monitor.outage_message();
    w.monitor
        .note(
            open[0].id,
            "Ana",
            "The database server is being restarted; expect it back by 10:15.",
        )
        .await
        .unwrap();
    w.advance(Duration::from_secs(10)).await;
    w.agree(&told(
        "after the note",
        vec![PublicUpdateKind::WeKnow, PublicUpdateKind::Update],
        2,
    ))
    .await;
    assert_eq!(
        w.monitor.outage_message(),
        before_note,
        "the auto-reply is not rewritten for a note"
    );

    // The real monitor's page in a browser, as a teacher sees it.
    if let Some(exe) = browser::find() {
        let url = w.server.url("/");
        let profile = tempfile::tempdir().unwrap();
        let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy_addr = proxy.local_addr().unwrap().to_string();
        let (state, text, events) = tokio::task::spawn_blocking({
            let profile = profile.path().to_owned();
            move || {
                let mut c = browser::Chromium::start(&exe, &profile, &proxy_addr);
                let session = c.open(&url);
                let state = c.eval(
                    &session,
                    "document.querySelector('#service-sis .state').textContent",
                );
                let text = c.eval(&session, "document.body.innerText");
                (state, text, std::mem::take(&mut c.events))
            }
        })
        .await
        .unwrap();
        assert_eq!(state, "Down");
        let text = text.as_str().unwrap();
        assert!(
            text.contains("The database server is being restarted; expect it back by 10:15."),
            "{text}"
        );
        assert!(text.contains("Take attendance on paper."), "{text}");
        let problems = browser::problems(&events);
        assert!(problems.is_empty(), "console problems: {problems:#?}");
    } else {
        smtp::skip::skip("chromium", "not installed (Debian package `chromium`)");
    }

    // Back: the page says so at once, the auto-reply and voicemail go back to normal, the
    // teachers are not told yet.
    w.sis.set(Status::Ok, "HTTP 200");
    w.advance(Duration::from_secs(10)).await;
    w.agree(&Expect {
        state: ServiceState::Operational,
        updates: vec![PublicUpdateKind::WeKnow, PublicUpdateKind::Update],
        incident: Some(PublicIncidentState::Monitoring),
        told: false,
        mails: 2,
        step: "back, within the hold",
    })
    .await;

    // After the hold (10 min): fixed.
    w.advance(Duration::from_secs(10 * 60)).await;
    let fixed = Expect {
        state: ServiceState::Operational,
        updates: vec![
            PublicUpdateKind::WeKnow,
            PublicUpdateKind::Update,
            PublicUpdateKind::Fixed,
        ],
        incident: Some(PublicIncidentState::Resolved),
        told: false,
        mails: 3,
        step: "after the hold",
    };
    w.agree(&fixed).await;
    // Nothing more later.
    w.advance(Duration::from_secs(30 * 60)).await;
    w.agree(&Expect {
        step: "half an hour later",
        ..fixed
    })
    .await;
    let subjects: Vec<String> = mails_to(&w.smtp, TEACHERS)
        .iter()
        .map(|m| m.get("Subject").to_owned())
        .collect();
    eprintln!("teachers were sent: {subjects:#?}");
    w.server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 2. The acknowledgement link of a real alert e-mail, opened in a browser.
// ---------------------------------------------------------------------------------------------

const ACK_SECRET: &str = "the district's acknowledgement secret";
const DIRECTOR: &str = "it-director@district.example";

/// A monitor on the SQLite file `db` with two checks (`sis-web`, `wifi`) whose alerts go to
/// ICT at once, with acknowledgement links to `ack_base`, and to the director after 15 minutes
/// unacknowledged.
fn escalating_monitor(
    db: &std::path::Path,
    clock: &ManualClock,
    smtp_port: u16,
    ack_base: &str,
    sis: &FakeProbe,
    wifi: &FakeProbe,
) -> Monitor {
    use forewarn::escalation::{Tier, TieredEscalation};
    let mut ict = smtp::plain_email_sink(smtp_port);
    ict.to = vec![ICT.to_owned()];
    ict.ack_url_base = Some(ack_base.to_owned());
    ict.ack_secret = Some(forewarn::Secret::new(ACK_SECRET));
    let ict = Arc::new(ict.build("ict-mail").unwrap().with_zone(chicago()));
    Monitor::builder()
        .store(Arc::new(SqliteStore::open(db).unwrap()))
        .clock(Arc::new(clock.clone()))
        .zone(chicago())
        .check(CheckSpec::new(CHECK, Arc::new(sis.clone())).thresholds(1, 1))
        .check(CheckSpec::new("wifi", Arc::new(wifi.clone())).thresholds(1, 1))
        .sink("ict-mail", ict)
        .sink(
            "director-mail",
            email_sink(smtp_port, "director-mail", DIRECTOR),
        )
        .escalation(
            "tiers",
            Arc::new(
                TieredEscalation::new(
                    vec![
                        Tier::new(Duration::ZERO, ["ict-mail"]),
                        Tier::new(Duration::from_secs(15 * 60), ["director-mail"]),
                    ],
                    None,
                )
                .unwrap(),
            ),
        )
        .default_escalation("tiers")
        .build()
        .unwrap()
}

/// The one incident of `check`.
async fn only_incident(monitor: &Monitor, check: &str) -> forewarn::Incident {
    let mut v = monitor
        .incidents(&IncidentFilter {
            active_only: false,
            check: Some(check.into()),
            limit: 0,
        })
        .await
        .unwrap();
    assert_eq!(v.len(), 1, "{v:#?}");
    v.remove(0)
}

/// POSTs the acknowledgement form of `link` as `by`.
async fn post_ack(http: &reqwest::Client, link: &str, by: &str) -> (reqwest::StatusCode, String) {
    let r = http
        .post(link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("by", by)
                .finish(),
        )
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_emails_ack_link_opened_in_a_browser_acknowledges_once_and_stops_escalation() {
    let Some(smtp) = Smtp::start_or_skip(Kind::Plain { max_size: None }) else {
        return;
    };
    let Some(exe) = browser::find() else {
        smtp::skip::skip("chromium", "not installed (Debian package `chromium`)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("forewarn.db");
    let port = smtp::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let ack_base = format!("{base}/ack");
    let config = StatusConfig {
        listen: Some(format!("127.0.0.1:{port}")),
        ack_secret: Some(forewarn::Secret::new(ACK_SECRET)),
        ..StatusConfig::default()
    };
    let t0: DateTime<Utc> = "2026-09-01T14:00:00Z".parse().unwrap();
    let clock = ManualClock::new(t0);
    let (sis, wifi) = (FakeProbe::new(Status::Ok), FakeProbe::new(Status::Ok));
    let monitor = escalating_monitor(&db, &clock, smtp.port, &ack_base, &sis, &wifi);
    let server = Running::start(&config, &monitor).await;
    let round = |n: u32| {
        let (clock, monitor) = (clock.clone(), monitor.clone());
        async move {
            for _ in 0..n {
                clock.advance(Duration::from_secs(10));
                monitor.run_once().await.unwrap();
                // What the running program's housekeeping does between rounds.
                monitor.escalate_all().await.unwrap();
                monitor.deliver_outbox().await.unwrap();
            }
        }
    };
    round(1).await;

    // Both go down, a minute apart (beyond the outbox's grouping window); ICT is told of
    // each, with a link.
    sis.set(Status::Critical, "HTTP 503");
    round(6).await;
    wifi.set(Status::Critical, "controller unreachable");
    round(1).await;
    smtp.wait_for(2);
    let ict = mails_to(&smtp, ICT);
    assert_eq!(
        ict.len(),
        2,
        "{:#?}",
        ict.iter().map(|m| m.get("Subject")).collect::<Vec<_>>()
    );
    let sis_mail = ict
        .iter()
        .find(|m| m.get("Subject").contains(CHECK))
        .expect("an alert about sis-web");
    let token = sis_mail
        .ack_token(&format!("{ack_base}/"))
        .expect("an ack link");
    assert!(token.len() > 40, "{token}");
    let link = format!("{ack_base}/{token}");
    assert!(sis_mail.html().contains(&link), "the HTML part links too");
    let id = only_incident(&monitor, CHECK).await.id;

    // Opened in Chromium: the form (opening changes nothing), filled in and sent.
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_addr = proxy.local_addr().unwrap().to_string();
    let profile = tempfile::tempdir().unwrap();
    let (form_text, opened_state, done_text, events) = {
        let link = link.clone();
        let profile = profile.path().to_owned();
        let monitor = monitor.clone();
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut c = browser::Chromium::start(&exe, &profile, &proxy_addr);
            let session = c.open(&link);
            let form_text = c.eval(&session, "document.body.innerText");
            let opened_state = handle.block_on(async {
                monitor
                    .incidents(&IncidentFilter {
                        active_only: false,
                        check: Some(CHECK.into()),
                        limit: 0,
                    })
                    .await
                    .unwrap()[0]
                    .state
            });
            let mut events = std::mem::take(&mut c.events);
            c.eval(
                &session,
                "document.getElementById('by').value = 'Ana Lopez'; \
                 document.getElementById('note').value = 'on my way to the server room'; \
                 document.querySelector('form').submit(); true",
            );
            c.wait_for("Page.loadEventFired");
            std::thread::sleep(Duration::from_millis(300));
            let done_text = c.eval(&session, "document.body.innerText");
            events.append(&mut c.events);
            (form_text, opened_state, done_text, events)
        })
        .await
        .unwrap()
    };
    let form_text = form_text.as_str().unwrap().to_owned();
    assert!(
        form_text.contains(&format!("Acknowledge incident #{id}?")),
        "{form_text}"
    );
    assert!(
        form_text.contains(" CDT"),
        "the link's expiry in local time: {form_text}"
    );
    assert_eq!(
        opened_state,
        forewarn::IncidentState::Open,
        "opening the link acknowledges nothing"
    );
    let done_text = done_text.as_str().unwrap().to_owned();
    assert!(
        done_text.contains(&format!("Incident #{id} acknowledged")),
        "{done_text}"
    );
    assert!(done_text.contains("by Ana Lopez at "), "{done_text}");
    let problems = browser::problems(&events);
    assert!(problems.is_empty(), "console problems: {problems:#?}");
    let i = only_incident(&monitor, CHECK).await;
    assert_eq!(i.state, forewarn::IncidentState::Acknowledged);
    let ack = i.acknowledgement.unwrap();
    assert_eq!(ack.by, "Ana Lopez");
    assert!(
        ack.note
            .as_deref()
            .unwrap()
            .starts_with("on my way to the server room"),
        "{ack:?}"
    );

    // Escalation stops for the acknowledged incident, not for the other one.
    round(6 * 20).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while mails_to(&smtp, DIRECTOR).is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let director: Vec<String> = mails_to(&smtp, DIRECTOR)
        .iter()
        .map(|m| m.get("Subject").to_owned())
        .collect();
    assert_eq!(director.len(), 1, "{director:#?}");
    assert!(director[0].contains("wifi"), "{director:#?}");
    assert!(!director.iter().any(|s| s.contains(CHECK)), "{director:#?}");

    // The link works once: again, it is refused and changes nothing.
    let (status, body) = post_ack(&server.http, &link, "Bo").await;
    assert_eq!(status, reqwest::StatusCode::CONFLICT, "{body}");
    assert!(body.contains("was already used"), "{body}");
    assert_eq!(
        only_incident(&monitor, CHECK)
            .await
            .acknowledgement
            .unwrap()
            .by,
        "Ana Lopez"
    );

    // Also after a restart: the used link is kept in the store, not in memory.
    server.stop().await;
    drop(monitor);
    let monitor = escalating_monitor(&db, &clock, smtp.port, &ack_base, &sis, &wifi);
    let server = Running::start(&config, &monitor).await;
    let (status, body) = post_ack(&server.http, &link, "Bo").await;
    assert_eq!(
        status,
        reqwest::StatusCode::CONFLICT,
        "after a restart: {body}"
    );
    // A link signed with another secret is refused too.
    let forged = forewarn::ack::AckSigner::new(b"not the district's secret at all")
        .unwrap()
        .sign(
            only_incident(&monitor, CHECK).await.id,
            t0 + chrono::Duration::days(1),
        );
    let (status, body) = post_ack(&server.http, &format!("{ack_base}/{forged}"), "Eve").await;
    assert!(status.is_client_error(), "{status}: {body}");
    // The other incident's link, never used, still works after the restart.
    let wifi_mail = mails_to(&smtp, ICT)
        .into_iter()
        .find(|m| m.get("Subject").contains("wifi"))
        .unwrap();
    let wifi_link = format!(
        "{ack_base}/{}",
        wifi_mail.ack_token(&format!("{ack_base}/")).unwrap()
    );
    let (status, body) = post_ack(&server.http, &wifi_link, "Bo").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------
// 3. FAQ drafts from the help-desk export, published on the status server's help pages.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faq_drafts_from_the_ticket_export_are_served_once_ict_publishes_them() {
    let dir = tempfile::tempdir().unwrap();
    let help = dir.path().join("help");
    let export = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/tickets/faq_drafts_export.csv");
    // The program, as ICT runs it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .args(["tickets", "analyze"])
        .arg(&export)
        .arg("--out")
        .arg(dir.path().join("report.html"))
        .arg("--faq-drafts")
        .arg(&help)
        .env_remove("FOREWARN_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let password = help.join("reset-password-student-portal.md");
    let projector = help.join("projector-shows-signal.md");
    assert!(password.is_file() && projector.is_file(), "{out:?}");

    let monitor = Monitor::builder()
        .store(Arc::new(SqliteStore::in_memory().unwrap()))
        .zone(chicago())
        .check(CheckSpec::new(CHECK, Arc::new(FakeProbe::new(Status::Ok))))
        .service("sis", ServiceConfig::new(SERVICE, [CHECK]))
        .build()
        .unwrap();
    let server = Running::start(
        &StatusConfig {
            help_dir: Some(help.clone()),
            ..status_config()
        },
        &monitor,
    )
    .await;
    let get = |path: &'static str| {
        let http = server.http.clone();
        let url = server.url(path);
        async move {
            let r = http.get(url).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };

    // Drafts are neither listed nor served.
    let (status, index) = get("/help").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{index}");
    assert!(
        !index.contains("/help/reset-password-student-portal"),
        "{index}"
    );
    assert!(!index.contains("/help/projector-shows-signal"), "{index}");
    let (status, _) = get("/help/reset-password-student-portal").await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);

    // ICT reviews one, writes its steps and publishes it.
    let draft = std::fs::read_to_string(&password).unwrap();
    let title = draft
        .lines()
        .find_map(|l| l.strip_prefix("title: "))
        .unwrap()
        .to_owned();
    let published = draft.replace("draft: true", "draft: false").replace(
        "\n## Steps\n",
        "\n## Steps\n\n1. Open the portal's sign-in page and choose **Forgot password**.\n",
    );
    std::fs::write(&password, published).unwrap();

    let (_, index) = get("/help").await;
    assert!(
        index.contains(&format!(
            "<a href=\"/help/reset-password-student-portal\">{}</a>",
            escape(&title)
        )),
        "{index}"
    );
    assert!(!index.contains("/help/projector-shows-signal"), "{index}");
    let (status, page) = get("/help/reset-password-student-portal").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{page}");
    assert!(page.contains("<strong>Forgot password</strong>"), "{page}");
    // The evidence from the tickets is on the page; the ticket text a requester typed as a
    // link or markup is shown as text.
    assert!(page.contains("Tickets: 16 ("), "{page}");
    assert!(!page.contains("href=\"javascript:"), "{page}");
    assert!(!page.contains("<script"), "{page}");
    assert!(page.contains("[click here](javascript:alert(1))"), "{page}");
    // The front page links the help pages.
    assert!(server.text("/").await.contains("href=\"/help\""));
    let (status, _) = get("/help/projector-shows-signal").await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "still a draft");
    server.stop().await;
}
