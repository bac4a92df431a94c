//! Loopback tests of the whole engine: real TCP and HTTP servers on 127.0.0.1 are stopped and
//! restarted, and the incident must open and resolve exactly once.

use std::sync::Arc;
use std::time::Duration;

use forewarn::http_client::HttpClients;
use forewarn::testing::{FakeProbe, RecordingSink};
use forewarn::{
    CheckSpec, IncidentFilter, IncidentState, Monitor, NotificationKind, ProbeConfig, Status, Zone,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

fn probe(toml_text: &str) -> Arc<dyn forewarn::Probe> {
    let config: ProbeConfig = toml::from_str(toml_text).expect("probe config parses");
    config.validate().expect("probe config is valid");
    config.build(&HttpClients::new()).expect("probe builds")
}

/// A minimal HTTP/1.1 server answering 200 "ok" to everything.
async fn http_server(listener: TcpListener) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut got = Vec::new();
            loop {
                let Ok(n) = sock.read(&mut buf).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                got.extend_from_slice(&buf[..n]);
                if got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let _ = sock
                        .write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        )
                        .await;
                    return;
                }
            }
        });
    }
}

async fn tcp_server(listener: TcpListener) {
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            return;
        };
        drop(sock);
    }
}

async fn start(port: u16, http: bool) -> JoinHandle<()> {
    let mut tries = 0;
    let listener = loop {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => break l,
            Err(e) if tries < 50 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("rebinding port {port}: {e}"),
        }
    };
    if http {
        tokio::spawn(http_server(listener))
    } else {
        tokio::spawn(tcp_server(listener))
    }
}

async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

async fn outage_opens_and_resolves_once(http: bool) {
    let port = free_port().await;
    let server = start(port, http).await;
    let p = if http {
        probe(&format!(
            "type = \"http\"\nurl = \"http://127.0.0.1:{port}/health\""
        ))
    } else {
        probe(&format!("type = \"tcp\"\ntarget = \"127.0.0.1:{port}\""))
    };
    let sink = RecordingSink::new();
    let monitor = Monitor::builder()
        .check(
            CheckSpec::new("svc", p)
                .thresholds(2, 2)
                .timeout(Duration::from_secs(2)),
        )
        .sink("rec", Arc::new(sink.clone()))
        .build()
        .unwrap();

    for _ in 0..3 {
        let s = monitor.run_once().await.unwrap();
        assert_eq!(s[0].status, Status::Ok, "{}", s[0].summary);
    }
    server.abort();
    let _ = server.await;
    for _ in 0..4 {
        let s = monitor.run_once().await.unwrap();
        assert_eq!(s[0].status, Status::Critical, "{}", s[0].summary);
    }
    let open = monitor
        .incidents(&IncidentFilter {
            active_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1, "exactly one incident while down");
    let server = start(port, http).await;
    for _ in 0..3 {
        monitor.run_once().await.unwrap();
    }
    let all = monitor.incidents(&IncidentFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1, "one incident for one outage");
    assert_eq!(all[0].state, IncidentState::Resolved);
    let kinds: Vec<NotificationKind> = sink.sent().iter().map(|n| n.kind).collect();
    assert_eq!(
        kinds,
        [NotificationKind::Opened, NotificationKind::Resolved],
        "one opened, one resolved"
    );
    server.abort();
}

#[tokio::test]
async fn tcp_outage_opens_and_resolves_exactly_once() {
    outage_opens_and_resolves_once(false).await;
}

#[tokio::test]
async fn http_outage_opens_and_resolves_exactly_once() {
    outage_opens_and_resolves_once(true).await;
}

#[tokio::test]
async fn switch_with_fifty_printers_behind_it_makes_one_alert() {
    let sink = RecordingSink::new();
    let switch = FakeProbe::new(Status::Ok);
    let printers = FakeProbe::new(Status::Ok);
    let mut b = Monitor::builder()
        .check(CheckSpec::new("core-switch", Arc::new(switch.clone())))
        .sink("rec", Arc::new(sink.clone()));
    for i in 0..50 {
        b = b.check(
            CheckSpec::new(format!("printer-{i:02}"), Arc::new(printers.clone()))
                .depends_on("core-switch")
                .thresholds(1, 1),
        );
    }
    let monitor = b.build().unwrap();
    monitor.run_once().await.unwrap();
    switch.set(Status::Critical, "no route to host");
    printers.set(Status::Critical, "no SNMP response");
    for _ in 0..4 {
        monitor.run_once().await.unwrap();
    }
    let sent = sink.sent();
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].check, "core-switch");
    switch.set(Status::Ok, "up");
    printers.set(Status::Ok, "ready");
    for _ in 0..3 {
        monitor.run_once().await.unwrap();
    }
    let kinds: Vec<_> = sink
        .sent()
        .iter()
        .map(|n| (n.check.clone(), n.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("core-switch".to_owned(), NotificationKind::Opened),
            ("core-switch".to_owned(), NotificationKind::Resolved)
        ]
    );
}

#[tokio::test]
async fn child_still_down_after_parent_recovers_is_alerted() {
    let sink = RecordingSink::new();
    let parent = FakeProbe::new(Status::Critical);
    let child = FakeProbe::new(Status::Critical);
    let monitor = Monitor::builder()
        // Storm control would hold the child's alert for a digest; this test is about
        // re-evaluation, so it is off here.
        .outbox_options(forewarn::outbox::OutboxOptions {
            group_window: Duration::ZERO,
            ..Default::default()
        })
        .check(CheckSpec::new("switch", Arc::new(parent.clone())).thresholds(1, 1))
        .check(
            CheckSpec::new("server", Arc::new(child.clone()))
                .depends_on("switch")
                .thresholds(1, 1),
        )
        .sink("rec", Arc::new(sink.clone()))
        .build()
        .unwrap();
    monitor.run_once().await.unwrap();
    monitor.run_once().await.unwrap();
    assert_eq!(sink.sent().len(), 1, "only the switch");
    parent.set(Status::Ok, "up");
    monitor.run_once().await.unwrap();
    monitor.deliver_outbox().await.unwrap();
    let got: Vec<_> = sink
        .sent()
        .iter()
        .map(|n| (n.check.clone(), n.kind))
        .collect();
    assert!(
        got.contains(&("server".to_owned(), NotificationKind::Opened)),
        "the child is re-evaluated and alerted once the parent is back: {got:?}"
    );
}

/// The other side: children that failed only because their parent was down, and are fine
/// again with it, are checked anew when it comes back rather than alerted on what they said
/// during the outage.
#[tokio::test]
async fn children_back_with_their_parent_are_not_alerted() {
    let sink = RecordingSink::new();
    let parent = FakeProbe::new(Status::Critical);
    let child = FakeProbe::new(Status::Critical);
    let monitor = Monitor::builder()
        .outbox_options(forewarn::outbox::OutboxOptions {
            group_window: Duration::ZERO,
            ..Default::default()
        })
        .check(
            CheckSpec::new("switch", Arc::new(parent.clone()))
                .interval(Duration::from_secs(1))
                .thresholds(1, 1),
        )
        // Its own next run is half a minute away: only the switch's recovery can clear it.
        .check(
            CheckSpec::new("printer", Arc::new(child.clone()))
                .interval(Duration::from_secs(60))
                .depends_on("switch")
                .thresholds(1, 1),
        )
        .sink("rec", Arc::new(sink.clone()))
        .build()
        .unwrap();
    monitor.run_once().await.unwrap();
    parent.set(Status::Ok, "up");
    child.set(Status::Ok, "ready");
    let printer_runs = child.calls();
    monitor
        .run_until(tokio::time::sleep(Duration::from_millis(300)))
        .await
        .unwrap();
    monitor.deliver_outbox().await.unwrap();
    let got: Vec<_> = sink
        .sent()
        .iter()
        .map(|n| (n.check.clone(), n.kind))
        .collect();
    assert_eq!(
        got,
        [
            ("switch".to_owned(), NotificationKind::Opened),
            ("switch".to_owned(), NotificationKind::Resolved)
        ]
    );
    assert!(
        child.calls() > printer_runs,
        "the printer was checked again"
    );
    let printer = monitor.checks().into_iter().find(|c| c.name == "printer");
    assert_eq!(printer.unwrap().status, Status::Ok);
}

#[tokio::test]
async fn scheduler_isolates_hangs_and_panics() {
    let ok = FakeProbe::new(Status::Ok);
    let hung = FakeProbe::new(Status::Ok);
    hung.set_delay(Duration::from_secs(30));
    let panicky = FakeProbe::new(Status::Ok);
    panicky.set_panic(Some("index out of bounds"));
    let monitor = Monitor::builder()
        .check(CheckSpec::new("ok", Arc::new(ok.clone())).interval(Duration::from_secs(1)))
        .check(
            CheckSpec::new("hung", Arc::new(hung.clone()))
                .interval(Duration::from_secs(1))
                .timeout(Duration::from_millis(300)),
        )
        .check(
            CheckSpec::new("panicky", Arc::new(panicky.clone())).interval(Duration::from_secs(1)),
        )
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    monitor
        .run_until(tokio::time::sleep(Duration::from_millis(3500)))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "shutdown is prompt"
    );
    let by_name = |n: &str| monitor.checks().into_iter().find(|c| c.name == n).unwrap();
    assert!(
        (3..=5).contains(&ok.calls()),
        "ran every second: {}",
        ok.calls()
    );
    let h = by_name("hung");
    assert_eq!(h.status, Status::Critical);
    assert!(
        h.summary.starts_with("timed out after 300 ms"),
        "{}",
        h.summary
    );
    let p = by_name("panicky");
    assert_eq!(p.status, Status::Unknown);
    assert!(p.summary.contains("index out of bounds"), "{}", p.summary);
    let history = monitor
        .store()
        .observations("ok", chrono::DateTime::<chrono::Utc>::MIN_UTC, 0)
        .await
        .unwrap();
    assert_eq!(
        history.len(),
        ok.calls(),
        "every run is in the history after shutdown"
    );
    let stats = monitor.scheduler_stats();
    assert!(stats.runs >= 9, "{stats:?}");
}

/// A loopback HTTP server that records request bodies and answers with `status`.
async fn recording_server(status: u16) -> (u16, Arc<parking_lot::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let b = bodies.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let b = b.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                let mut buf = vec![0u8; 8192];
                loop {
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len: usize = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if got.len() >= end + 4 + len {
                            b.lock().push(text[end + 4..end + 4 + len].to_owned());
                            let resp = format!(
                                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            );
                            let _ = sock.write_all(resp.as_bytes()).await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (port, bodies)
}

#[tokio::test]
async fn webhook_sink_posts_slack_bodies_and_retries_server_errors() {
    let (port, bodies) = recording_server(200).await;
    let cfg: forewarn::SinkConfig = toml::from_str(&format!(
        "type = \"webhook\"\nformat = \"slack\"\nurl = \"http://127.0.0.1:{port}/hooks/T0/SECRET\""
    ))
    .unwrap();
    let sink = cfg
        .build("slack", &HttpClients::new(), Zone::system())
        .unwrap();
    let probe = FakeProbe::new(Status::Critical);
    let monitor = Monitor::builder()
        .check(CheckSpec::new("sis", Arc::new(probe.clone())).thresholds(1, 1))
        .sink("slack", sink)
        .build()
        .unwrap();
    monitor.run_once().await.unwrap();
    let got = bodies.lock().clone();
    assert_eq!(got.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert!(body["text"].as_str().unwrap().contains("sis"), "{body}");

    let (port, _) = recording_server(503).await;
    let cfg: forewarn::SinkConfig = toml::from_str(&format!(
        "type = \"webhook\"\nurl = \"http://127.0.0.1:{port}/hooks/T0/SECRET\""
    ))
    .unwrap();
    let sink = cfg
        .build("hook", &HttpClients::new(), Zone::system())
        .unwrap();
    let n = forewarn::Notification::for_incident(
        &forewarn::Incident::open(
            "x",
            None,
            "p",
            Status::Critical,
            "down",
            false,
            chrono::Utc::now(),
        ),
        "f00d",
        "hook",
        "opened",
        NotificationKind::Opened,
        chrono::Utc::now(),
    );
    let e = sink.send(&n).await.unwrap_err();
    assert!(e.is_retryable(), "503 is worth retrying");
    assert!(!e.to_string().contains("SECRET"), "{e}");
}

/// A loopback HTTP server that records each request's target (path and query) and body, and
/// answers 200.
async fn recording_requests() -> (u16, Arc<parking_lot::Mutex<Vec<(String, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let g = got.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let g = g.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = vec![0u8; 8192];
                loop {
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    raw.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&raw).to_string();
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let len: usize = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if raw.len() >= end + 4 + len {
                        let target = text.split(' ').nth(1).unwrap_or_default().to_owned();
                        g.lock()
                            .push((target, text[end + 4..end + 4 + len].to_owned()));
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
                            .await;
                        return;
                    }
                }
            });
        }
    });
    (port, got)
}

/// Google Chat through a real monitor: every message of an incident names the same thread key
/// (opened, updated, resolved), another incident another; the URL keeps its key and token and
/// gains the reply option; the card shows the district's local time.
#[tokio::test]
async fn google_chat_threads_each_incident_and_shows_local_time() {
    let (port, requests) = recording_requests().await;
    let chicago = Zone::named("America/Chicago").unwrap();
    let cfg: forewarn::SinkConfig = toml::from_str(&format!(
        "type = \"webhook\"\nformat = \"google_chat\"\n\
         url = \"http://127.0.0.1:{port}/v1/spaces/AAAA/messages?key=KEYSECRET&token=TOKSECRET\""
    ))
    .unwrap();
    cfg.validate().unwrap();
    let sink = cfg.build("chat", &HttpClients::new(), chicago).unwrap();
    assert!(!format!("{sink:?}").contains("SECRET"));
    // A July instant: daylight time.
    let clock = forewarn::ManualClock::new("2026-07-15T15:00:00Z".parse().unwrap());
    let sis = FakeProbe::new(Status::Warning);
    let wifi = FakeProbe::new(Status::Critical);
    let monitor = Monitor::builder()
        .clock(Arc::new(clock.clone()))
        .zone(chicago)
        .outbox_options(forewarn::outbox::OutboxOptions {
            group_window: Duration::ZERO,
            ..Default::default()
        })
        .check(CheckSpec::new("sis", Arc::new(sis.clone())).thresholds(1, 1))
        .check(CheckSpec::new("wifi", Arc::new(wifi.clone())).thresholds(1, 1))
        .sink("chat", sink)
        .build()
        .unwrap();
    monitor.run_once().await.unwrap();
    clock.advance(Duration::from_secs(60));
    sis.set(Status::Critical, "refused");
    monitor.run_once().await.unwrap();
    clock.advance(Duration::from_secs(60));
    sis.set(Status::Ok, "fine");
    wifi.set(Status::Ok, "fine");
    monitor.run_once().await.unwrap();
    monitor.deliver_outbox().await.unwrap();

    let got = requests.lock().clone();
    assert_eq!(got.len(), 5, "2 opened, 1 updated, 2 resolved: {got:?}");
    let mut threads: std::collections::BTreeMap<String, Vec<(String, String)>> = Default::default();
    for (target, body) in &got {
        assert_eq!(
            target,
            "/v1/spaces/AAAA/messages?key=KEYSECRET&token=TOKSECRET\
             &messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
        );
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        let text = body["text"].as_str().unwrap().to_owned();
        let check = if text.contains("sis") { "sis" } else { "wifi" };
        let key = body["thread"]["threadKey"].as_str().unwrap().to_owned();
        threads
            .entry(check.to_owned())
            .or_default()
            .push((key, text));
        let card = &body["cardsV2"][0]["card"];
        assert!(card["header"]["title"].is_string(), "{body}");
        assert!(
            card.to_string().contains("2026-07-15 10:00 CDT"),
            "Since, in Chicago's daylight time: {body}"
        );
        assert!(!body.to_string().contains("UTC"), "{body}");
    }
    let (sis, wifi) = (&threads["sis"], &threads["wifi"]);
    assert_eq!(sis.len(), 3, "{sis:?}");
    assert!(
        sis[0].1.contains("[WARNING]")
            && sis[1].1.contains("got worse")
            && sis[2].1.contains("[RESOLVED]"),
        "{sis:?}"
    );
    assert!(
        sis.iter().all(|(k, _)| *k == sis[0].0),
        "one thread: {sis:?}"
    );
    assert_eq!(wifi.len(), 2, "{wifi:?}");
    assert!(
        wifi.iter().all(|(k, _)| *k == wifi[0].0),
        "one thread: {wifi:?}"
    );
    assert_ne!(sis[0].0, wifi[0].0, "another incident, another thread");
    let installation = monitor.store().installation_id().await.unwrap();
    assert!(
        sis[0].0.contains(&installation),
        "{} {installation}",
        sis[0].0
    );
}

/// A peer that accepts connections and never says a word (an SMTP server stuck before its
/// greeting, a webhook endpoint that hangs). The connections are kept open while it runs.
async fn silent_server() -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            open.push(sock);
        }
    });
    (port, task)
}

/// Sinks that never answer do not hold up the checks: the first results arrive at once, the
/// sinks show up as degraded in `status()`, and a working sink beside them is ok.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sinks_that_never_answer_are_degraded_and_checks_run_anyway() {
    let (smtp_port, smtp) = silent_server().await;
    let (hook_port, hook) = silent_server().await;
    let clients = HttpClients::new();
    let sink = |text: String| {
        let cfg: forewarn::SinkConfig = toml::from_str(&text).unwrap();
        cfg.validate().unwrap();
        cfg.build("x", &clients, Zone::system()).unwrap()
    };
    let mail = sink(format!(
        "type = \"email\"\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\n\
         from = \"forewarn@district.example\"\nto = [\"ict@district.example\"]\ntimeout = \"1s\"\n"
    ));
    let mut b = Monitor::builder()
        .check(CheckSpec::new(
            "server",
            Arc::new(FakeProbe::new(Status::Ok)),
        ))
        .sink("mail", mail)
        .sink("rec", Arc::new(RecordingSink::new()));
    for i in 0..3 {
        let url = format!("http://127.0.0.1:{hook_port}/hook{i}");
        b = b.sink(
            format!("hook{i}"),
            sink(format!(
                "type = \"webhook\"\nurl = \"{url}\"\ntimeout = \"1s\"\n"
            )),
        );
    }
    let monitor = b.build().unwrap();
    let started = std::time::Instant::now();
    let run = tokio::spawn({
        let monitor = monitor.clone();
        async move {
            monitor
                .run_until(tokio::time::sleep(Duration::from_secs(4)))
                .await
        }
    });
    // The first round of checks is spread over about a second.
    while monitor.checks()[0].last_checked.is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "no check result while the sinks do not answer"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The sinks' own timeout (1 s) decides; all are checked at once.
    tokio::time::sleep(Duration::from_millis(2_500).saturating_sub(started.elapsed())).await;
    let status = monitor.status().await.unwrap();
    let health: Vec<(String, forewarn::outbox::SinkHealth)> = status
        .sinks
        .iter()
        .map(|s| (s.name.clone(), s.health))
        .collect();
    use forewarn::outbox::SinkHealth::{Degraded, Ok};
    assert_eq!(
        health,
        [
            ("hook0".to_owned(), Degraded),
            ("hook1".to_owned(), Degraded),
            ("hook2".to_owned(), Degraded),
            ("mail".to_owned(), Degraded),
            ("rec".to_owned(), Ok),
        ],
        "{status:#?}"
    );
    for name in ["mail", "hook0"] {
        let sink = status.sinks.iter().find(|s| s.name == name).unwrap();
        let error = sink.error.as_deref().unwrap();
        assert!(error.contains("no answer within 1.0 s"), "{error}");
    }
    assert!(status.scheduler.runs >= 1);
    run.await.unwrap().unwrap();
    smtp.abort();
    hook.abort();
}
