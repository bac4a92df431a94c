//! The status server over real HTTP: every route with reqwest against a server on 127.0.0.1:0
//! fed by the in-memory source; the feed read by feed-rs, `/metrics` by a Prometheus text
//! parser; and the page in headless Chromium (console errors, requests, a screenshot).

#[path = "support/browser.rs"]
mod browser;
#[path = "support/status.rs"]
mod fixtures;
#[path = "support/skip.rs"]
mod skip;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::Duration;

use chrono::Utc;
use forewarn::ack::AckSigner;
use forewarn::monitor::state::Alert;
use forewarn::monitor::{CheckStatus, MonitorStatus, SchedulerStats};
use forewarn::outbox::{Outbox, OutboxOptions};
use forewarn::status::{PublicStatus, StatusConfig, StatusServer};
use forewarn::store::OutboxStats;
use forewarn::testing::{FakeStatusSource, RecordingSink};
use forewarn::{AlertSink, Incident, IncidentState, Secret, SqliteStore, Status, Zone};
use reqwest::StatusCode;
use tokio::sync::oneshot;

const ACK_SECRET: &str = "status-test-secret-0123456789";
const ADMIN_ENV: &str = "FOREWARN_STATUS_TEST_ADMIN_TOKEN";
const ADMIN_TOKEN: &str = "admin-token-for-the-status-tests";

static ENV: Once = Once::new();

/// Sets the admin token's variable once, before any test of this binary starts a server or a
/// client (every test calls this first, so nothing reads the environment meanwhile).
fn setup() {
    ENV.call_once(|| {
        // SAFETY: every test waits here before doing anything else.
        unsafe { std::env::set_var(ADMIN_ENV, ADMIN_TOKEN) };
    });
    forewarn::http_client::install_crypto_provider();
}

fn help_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/help")
}

fn config() -> StatusConfig {
    StatusConfig {
        listen: Some("127.0.0.1:0".into()),
        public_url: Some("https://status.springfield.example".into()),
        help_dir: Some(help_dir()),
        ack_secret: Some(Secret::new(ACK_SECRET)),
        admin_token_env: ADMIN_ENV.into(),
        ..StatusConfig::default()
    }
}

struct Running {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<forewarn::Result<()>>,
    http: reqwest::Client,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
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

async fn start_with(config: StatusConfig, source: FakeStatusSource) -> Running {
    let server = StatusServer::bind(
        &config,
        Arc::new(source),
        Zone::named(fixtures::ZONE).unwrap(),
    )
    .unwrap();
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
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

async fn start(source: FakeStatusSource) -> Running {
    start_with(config(), source).await
}

fn assert_security_headers(r: &reqwest::Response) {
    let h = r.headers();
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("no CSP on {}", r.url()))
        .to_str()
        .unwrap();
    for part in [
        "default-src 'none'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{}: {csp}", r.url());
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{}", r.url());
    assert_eq!(h["referrer-policy"], "no-referrer", "{}", r.url());
}

#[tokio::test]
async fn page_escapes_names_and_shows_the_outage_in_the_district_zone() {
    setup();
    let s = start(FakeStatusSource::new(fixtures::outage())).await;
    let r = s.get("/").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_security_headers(&r);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = r.text().await.unwrap();
    assert!(!body.contains("<script"), "a script tag reached the page");
    assert!(
        body.contains(
            "&lt;script&gt;alert(&#39;sis&#39;)&lt;/script&gt; Student Information System"
        )
    );
    assert!(body.contains("Attendance &amp; grades cannot be entered &lt;right now&gt;"));
    assert!(body.contains("Some services are down"));
    assert!(body.contains("<span class=\"state down\">Down</span>"));
    assert!(body.contains("Take attendance on paper"));
    // Incident updates, newest first, in Chicago time with the zone's abbreviation.
    let later = body.find("The database server is being restarted").unwrap();
    let earlier = body
        .find("We know the Student Information System is down")
        .unwrap();
    assert!(later < earlier, "newest update first");
    assert!(
        body.contains("Tue 6 Oct 2026, 09:20 CDT"),
        "update time in CDT"
    );
    assert!(!body.contains(" UTC<"), "no bare UTC time shown");
    // Maintenance and the 90-day bars with their percentage.
    assert!(body.contains("Planned maintenance") && body.contains("E-mail upgrade"));
    assert!(body.contains("Fri 9 Oct 2026, 09:30 CDT"));
    assert_eq!(body.matches("<svg class=\"bar\"").count(), 3);
    assert!(
        body.contains("99.56 % available"),
        "SIS: 89 full days and one at 61 %"
    );
    assert!(
        body.contains("9 Jul 2026 – 18 Jul 2026: no data"),
        "days without data"
    );
    // No JavaScript anywhere, and a refresh instead.
    assert!(!body.to_lowercase().contains("javascript"));
    assert!(!body.contains(" on") || !body.contains("onerror"));
    assert!(body.contains("<meta http-equiv=\"refresh\" content=\"60\">"));
    // Only the public summary: nothing of the monitor's checks.
    assert!(!body.contains("db-main") && !body.contains("10.0."));

    let css = s.get("/static/style.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert_security_headers(&css);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );

    let missing = s.get("/no/such/page").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_security_headers(&missing);
    assert!(missing.text().await.unwrap().contains("Page not found"));
    s.stop().await;
}

#[tokio::test]
async fn json_round_trips_and_autoreply_is_plain_text() {
    setup();
    let source = FakeStatusSource::new(fixtures::outage());
    let s = start(source.clone()).await;
    let r = s.get("/status.json").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_security_headers(&r);
    assert_eq!(r.headers()["content-type"], "application/json");
    let text = r.text().await.unwrap();
    assert!(
        text.contains("\"generated_at\":\"2026-10-06T14:30:00Z\""),
        "UTC times"
    );
    assert!(text.contains("\"state\":\"identified\""));
    let back: PublicStatus = serde_json::from_str(&text).unwrap();
    // Equal to what the source gave, floats within their last bit (serde_json's default
    // float parsing may differ there), and written back the same.
    let mut expected = fixtures::outage();
    for (b, e) in back.services.iter().zip(&mut expected.services) {
        let (x, y) = (b.availability_90d.unwrap(), e.availability_90d.unwrap());
        assert!((x - y).abs() < 1e-12, "{x} {y}");
        e.availability_90d = b.availability_90d;
    }
    assert_eq!(back, expected);

    let r = s.get("/autoreply.txt").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        r.text().await.unwrap(),
        "Known outage: Student Information System\n\nThe Student Information System is down since 08:45. We are working on it; no need to open a ticket.\n"
    );
    let mut calm = fixtures::outage();
    calm.autoreply = None;
    source.set_public(calm);
    let text = s.get("/autoreply.txt").await.text().await.unwrap();
    assert_eq!(
        text,
        "Springfield Public Schools — IT status: no known outages\n\nNo outage is known as of 2026-10-06 09:30 CDT.\n"
    );

    // A source that cannot answer: a clear 503, no details.
    source.set_failing(Some("database is locked at /var/lib/forewarn/history.db"));
    for path in [
        "/",
        "/status.json",
        "/feed.atom",
        "/autoreply.txt",
        "/metrics",
    ] {
        let r = s.get(path).await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_security_headers(&r);
        let body = r.text().await.unwrap();
        assert!(!body.contains("/var/lib"), "{path}: {body}");
    }
    s.stop().await;
}

#[tokio::test]
async fn atom_feed_has_an_entry_per_update_and_maintenance() {
    setup();
    let s = start(FakeStatusSource::new(fixtures::outage())).await;
    let r = s.get("/feed.atom").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_security_headers(&r);
    assert_eq!(
        r.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let xml = r.text().await.unwrap();
    assert!(
        !xml.contains("<script>"),
        "markup in a name is escaped in the XML"
    );
    let feed = feed_rs::parser::parse(xml.as_bytes()).unwrap();
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    assert_eq!(feed.id, "https://status.springfield.example/feed.atom");
    assert_eq!(
        feed.title.as_ref().unwrap().content,
        "Springfield Public Schools — IT status"
    );
    // 2 + 2 incident updates and 1 maintenance notice, newest first.
    assert_eq!(feed.entries.len(), 5);
    let ids: Vec<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
    for id in &ids {
        assert!(
            id.starts_with("tag:status.springfield.example,2026-"),
            "{id}"
        );
    }
    assert_eq!(
        ids[0],
        "tag:status.springfield.example,2026-10-09:maintenance-gradebook-upgrade"
    );
    assert!(ids.contains(&"tag:status.springfield.example,2026-10-06:incident-17-update-1"));
    assert!(ids.contains(&"tag:status.springfield.example,2026-10-02:incident-16-update-1"));
    let updated: Vec<_> = feed.entries.iter().map(|e| e.updated.unwrap()).collect();
    assert!(updated.windows(2).all(|w| w[0] >= w[1]), "{updated:?}");
    let update = feed
        .entries
        .iter()
        .find(|e| e.id.ends_with("incident-17-update-1"))
        .unwrap();
    assert_eq!(
        update.title.as_ref().unwrap().content,
        "Update: Student Information System is unavailable"
    );
    assert_eq!(
        update.updated.unwrap(),
        "2026-10-06T14:20:00Z"
            .parse::<chrono::DateTime<Utc>>()
            .unwrap()
    );
    let body = update.content.as_ref().unwrap().body.as_ref().unwrap();
    assert!(
        body.contains("The database server is being restarted"),
        "{body}"
    );
    assert!(
        body.contains(&format!("Affects: {}", fixtures::HOSTILE_NAME)),
        "{body}"
    );
    assert!(body.contains("Posted 2026-10-06 09:20 CDT"), "{body}");
    assert_eq!(
        update.links[0].href,
        "https://status.springfield.example/#incident-17"
    );
    // The same entries keep their ids and times on the next fetch.
    let again =
        feed_rs::parser::parse(s.get("/feed.atom").await.bytes().await.unwrap().as_ref()).unwrap();
    let ids_again: Vec<&str> = again.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ids_again);
    s.stop().await;
}

fn check(name: &str, status: Status, latency_ms: u64, incident: Option<i64>) -> CheckStatus {
    CheckStatus {
        name: name.to_owned(),
        kind: "tcp".into(),
        target: "10.0.0.5:5432".into(),
        group: Some("sis".into()),
        status,
        summary: "x".into(),
        latency: Duration::from_millis(latency_ms),
        last_checked: Some(fixtures::now()),
        alert: Alert::Clear,
        flapping: false,
        incident,
        reading: None,
    }
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text() {
    setup();
    // Real sink health from an outbox: one sink passes its health check, one fails it.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("h.db")).unwrap());
    let failing = RecordingSink::new();
    failing.set_failing(true);
    let mut sinks: BTreeMap<String, Arc<dyn AlertSink>> = BTreeMap::new();
    sinks.insert("mail".into(), Arc::new(RecordingSink::new()));
    sinks.insert("pager \"night\" shift".into(), Arc::new(failing));
    let outbox = Outbox::new(
        store,
        sinks,
        Arc::new(forewarn::SystemClock),
        OutboxOptions::default(),
    );
    outbox.check_sinks().await;

    let monitor = MonitorStatus {
        checks: vec![
            check("db-main", Status::Critical, 1500, Some(4)),
            check("web \"portal\"\nfront", Status::Ok, 42, None),
            check("printer\\room-12", Status::Warning, 250, None),
        ],
        sinks: outbox.sink_status(),
        outbox: OutboxStats {
            pending: 7,
            retrying: 2,
            dead: 1,
            delivered: 40,
            oldest_pending: Some(Utc::now() - chrono::Duration::seconds(90)),
        },
        scheduler: SchedulerStats {
            runs: 1234,
            overruns: 3,
            lag_p50: 0.002,
            lag_p99: 0.25,
            lag_max: 1.5,
        },
    };
    let source = FakeStatusSource::new(fixtures::outage());
    source.set_monitor(monitor);
    let s = start(source.clone()).await;
    let r = s.get("/metrics").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_security_headers(&r);
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = r.text().await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let value = |name: &str, label: (&str, &str)| -> f64 {
        let s = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && s.labels.get(label.0) == Some(label.1))
            .unwrap_or_else(|| panic!("{name}{{{}={}}} missing:\n{text}", label.0, label.1));
        match s.value {
            prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{name}: {other:?}"),
        }
    };
    let single = |name: &str| -> f64 {
        let s = scrape
            .samples
            .iter()
            .find(|s| s.metric == name)
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"));
        match s.value {
            prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Counter(v) => v,
            ref other => panic!("{name}: {other:?}"),
        }
    };
    assert_eq!(value("forewarn_check_up", ("check", "db-main")), 0.0);
    assert_eq!(value("forewarn_check_status", ("check", "db-main")), 2.0);
    assert_eq!(
        value("forewarn_check_latency_seconds", ("check", "db-main")),
        1.5
    );
    assert_eq!(
        value("forewarn_check_incident_open", ("check", "db-main")),
        1.0
    );
    // Quotes, newlines and backslashes in label values are escaped as the format says.
    // prometheus-parse keeps a label value as written (it does not undo the escapes), so the
    // escaped form is what it gives back.
    let web = r#"web \"portal\"\nfront"#;
    assert!(
        text.contains(&format!(
            "forewarn_check_up{{check=\"{web}\",kind=\"tcp\",group=\"sis\"}} 1\n"
        )),
        "{text}"
    );
    assert_eq!(value("forewarn_check_up", ("check", web)), 1.0);
    assert_eq!(
        value("forewarn_check_latency_seconds", ("check", web)),
        0.042
    );
    let printer = r#"printer\\room-12"#;
    assert_eq!(value("forewarn_check_status", ("check", printer)), 1.0);
    assert_eq!(value("forewarn_check_up", ("check", printer)), 1.0);
    assert_eq!(value("forewarn_check_status", ("group", "sis")), 2.0);
    assert_eq!(
        value(
            "forewarn_check_last_run_timestamp_seconds",
            ("check", "db-main")
        ),
        fixtures::now().timestamp() as f64
    );
    assert_eq!(single("forewarn_incidents_open"), 1.0);
    assert_eq!(value("forewarn_sink_up", ("sink", "mail")), 1.0);
    assert_eq!(
        value("forewarn_sink_up", ("sink", r#"pager \"night\" shift"#)),
        0.0
    );
    assert_eq!(single("forewarn_outbox_pending"), 7.0);
    assert_eq!(single("forewarn_outbox_retrying"), 2.0);
    assert_eq!(single("forewarn_outbox_dead"), 1.0);
    let age = single("forewarn_outbox_oldest_pending_age_seconds");
    assert!((90.0..120.0).contains(&age), "{age}");
    assert_eq!(single("forewarn_scheduler_runs_total"), 1234.0);
    assert_eq!(single("forewarn_scheduler_overruns_total"), 3.0);
    assert_eq!(
        value("forewarn_scheduler_lag_seconds", ("quantile", "0.99")),
        0.25
    );
    assert_eq!(
        value("forewarn_scheduler_lag_seconds", ("quantile", "0.5")),
        0.002
    );
    assert_eq!(
        value("forewarn_scheduler_lag_seconds", ("quantile", "1")),
        1.5
    );
    for family in [
        "forewarn_check_up",
        "forewarn_check_status",
        "forewarn_check_latency_seconds",
        "forewarn_incidents_open",
        "forewarn_outbox_pending",
        "forewarn_scheduler_lag_seconds",
    ] {
        assert!(scrape.docs.contains_key(family), "no HELP for {family}");
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "no TYPE for {family}"
        );
    }
    s.stop().await;

    // Turned off, /metrics is not there.
    let s = start_with(
        StatusConfig {
            metrics: false,
            ..config()
        },
        source,
    )
    .await;
    assert_eq!(s.get("/metrics").await.status(), StatusCode::NOT_FOUND);
    s.stop().await;
}

/// A GET of `path` exactly as written (no client normalising it): the status code and body.
async fn raw_get(addr: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text[9..12].parse().unwrap();
    (status, text)
}

/// A URL-encoded form body (what a browser posts).
fn form(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

fn open_incident(id: i64) -> Incident {
    let mut i = Incident::open(
        "sis-db",
        Some("sis"),
        "default",
        Status::Critical,
        "connection refused",
        false,
        Utc::now() - chrono::Duration::minutes(5),
    );
    i.id = id;
    i
}

#[tokio::test]
async fn ack_links_show_a_form_on_get_and_acknowledge_once_on_post() {
    setup();
    let source = FakeStatusSource::new(fixtures::outage());
    source.add_incident(open_incident(42));
    source.add_incident(open_incident(43));
    let s = start(source.clone()).await;
    let signer = AckSigner::new(ACK_SECRET.as_bytes()).unwrap();
    let token = signer.sign(42, Utc::now() + chrono::Duration::days(7));

    // GET, as a mail scanner would, twice: a form, and nothing changes.
    for _ in 0..2 {
        let r = s.get(&format!("/ack/{token}")).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_security_headers(&r);
        let body = r.text().await.unwrap();
        assert!(body.contains("Acknowledge incident #42?"), "{body}");
        assert!(body.contains(&format!("<form method=\"post\" action=\"/ack/{token}\">")));
        assert!(
            body.contains(" CDT</time>") || body.contains(" CST</time>"),
            "{body}"
        );
    }
    assert_eq!(source.incident(42).unwrap().state, IncidentState::Open);

    // No name: refused, nothing changes.
    let r = s
        .http
        .post(s.url(&format!("/ack/{token}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("by", "  ")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(source.incident(42).unwrap().state, IncidentState::Open);

    // POST: acknowledged, once.
    let r = s
        .http
        .post(s.url(&format!("/ack/{token}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("by", "Ana <on call>"),
            ("note", "restarting\r\nthe  switch"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_security_headers(&r);
    let body = r.text().await.unwrap();
    assert!(body.contains("Incident #42 acknowledged"), "{body}");
    assert!(body.contains("by Ana &lt;on call&gt;"), "{body}");
    let i = source.incident(42).unwrap();
    assert_eq!(i.state, IncidentState::Acknowledged);
    assert_eq!(i.acknowledgement.as_ref().unwrap().by, "Ana <on call>");
    assert_eq!(
        i.acknowledgement.as_ref().unwrap().note.as_deref(),
        Some("restarting the switch"),
        "the form's note, its line break and doubled space folded"
    );
    let updates = i.updates.len();

    let r = s
        .http
        .post(s.url(&format!("/ack/{token}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("by", "Bo")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body = r.text().await.unwrap();
    assert!(body.contains("was already used"), "{body}");
    assert_eq!(source.incident(42).unwrap().updates.len(), updates);
    assert_eq!(
        source.incident(42).unwrap().acknowledgement.unwrap().by,
        "Ana <on call>"
    );

    // Forged (another secret), altered, expired, malformed: a clear page, no change to #43.
    let other = AckSigner::new(b"another secret of enough length").unwrap();
    let forged = other.sign(43, Utc::now() + chrono::Duration::days(1));
    let good43 = signer.sign(43, Utc::now() + chrono::Duration::days(1));
    let mut altered = good43.clone().into_bytes();
    let last = altered.len() - 2;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let expired = signer.sign(43, Utc::now() - chrono::Duration::minutes(1));
    for (token, why) in [
        (forged.as_str(), "signature does not match"),
        (altered.as_str(), "signature does not match"),
        (expired.as_str(), "expired at"),
        ("not-a-token", "malformed link"),
    ] {
        for post in [false, true] {
            let url = s.url(&format!("/ack/{token}"));
            let r = if post {
                s.http
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form(&[("by", "Mallory")]))
                    .send()
                    .await
                    .unwrap()
            } else {
                s.http.get(url).send().await.unwrap()
            };
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{token}");
            assert_security_headers(&r);
            let body = r.text().await.unwrap();
            assert!(
                body.contains("This acknowledgement link cannot be used"),
                "{body}"
            );
            assert!(body.contains(why), "{why}: {body}");
            assert!(!body.contains("<form"), "{body}");
        }
    }
    assert_eq!(source.incident(43).unwrap().state, IncidentState::Open);

    // A valid link for an incident the monitor does not know.
    let unknown = signer.sign(99, Utc::now() + chrono::Duration::days(1));
    let r = s
        .http
        .post(s.url(&format!("/ack/{unknown}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("by", "Ana")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("Incident #99 not found"));
    s.stop().await;

    // Without a secret, links are not enabled.
    let s = start_with(
        StatusConfig {
            ack_secret: None,
            ..config()
        },
        source.clone(),
    )
    .await;
    let r = s.get(&format!("/ack/{good43}")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("not enabled"));
    s.stop().await;
}

#[tokio::test]
async fn admin_api_needs_the_bearer_token() {
    setup();
    let source = FakeStatusSource::new(fixtures::outage());
    source.add_incident(open_incident(7));
    let s = start(source.clone()).await;
    let note = serde_json::json!({"by": "ana", "text": "rebooting the database server"});
    let url = s.url("/api/incidents/7/note");
    for auth in [
        None,
        Some("Bearer wrong-token-of-some-length"),
        Some(&format!("Bearer {ADMIN_TOKEN}x")[..]),
        Some(&format!("Basic {ADMIN_TOKEN}")[..]),
    ] {
        let mut req = s.http.post(&url).json(&note);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_security_headers(&r);
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        let e: serde_json::Value = r.json().await.unwrap();
        assert!(e["error"].as_str().unwrap().contains("bearer token"), "{e}");
    }
    assert_eq!(
        source.incident(7).unwrap().updates.len(),
        1,
        "nothing changed"
    );

    let admin =
        |m: reqwest::Method, path: &str| s.http.request(m, s.url(path)).bearer_auth(ADMIN_TOKEN);
    let r = admin(reqwest::Method::POST, "/api/incidents/7/note")
        .json(&note)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let i: Incident = r.json().await.unwrap();
    assert_eq!(
        i.updates.last().unwrap().message,
        "rebooting the database server"
    );
    assert_eq!(i.updates.last().unwrap().by.as_deref(), Some("ana"));

    let ack = serde_json::json!({"by": "ana", "note": "on it"});
    let r = admin(reqwest::Method::POST, "/api/incidents/7/ack")
        .json(&ack)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        source.incident(7).unwrap().state,
        IncidentState::Acknowledged
    );
    let r = admin(reqwest::Method::POST, "/api/incidents/7/ack")
        .json(&ack)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let e: serde_json::Value = r.json().await.unwrap();
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("already acknowledged by ana"),
        "{e}"
    );

    let r = admin(reqwest::Method::POST, "/api/incidents/7/resolve")
        .json(&serde_json::json!({"by": "ana", "note": "database back"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(source.incident(7).unwrap().state, IncidentState::Resolved);

    // Errors: unknown incident, bad id, bad body, unknown field, missing `by`.
    for (path, body, status, says) in [
        (
            "/api/incidents/8/ack",
            r#"{"by":"ana"}"#,
            404,
            "incident not found: 8",
        ),
        (
            "/api/incidents/seven/ack",
            r#"{"by":"ana"}"#,
            400,
            "not an incident id",
        ),
        (
            "/api/incidents/7/note",
            r#"{"by":"ana""#,
            400,
            "request body",
        ),
        (
            "/api/incidents/7/note",
            r#"{"by":"ana","text":"x","extra":1}"#,
            400,
            "unknown field",
        ),
        (
            "/api/incidents/7/ack",
            r#"{"note":"x"}"#,
            400,
            "missing field `by`",
        ),
        (
            "/api/incidents/7/note",
            r#"{"by":"","text":"x"}"#,
            400,
            "`by` must name who acts",
        ),
        (
            "/api/incidents/7/note",
            r#"{"by":"ana","text":"x"}"#,
            409,
            "already resolved",
        ),
    ] {
        let r = admin(reqwest::Method::POST, path)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{path} {body}");
        let e: serde_json::Value = r.json().await.unwrap();
        assert!(
            e["error"].as_str().unwrap().contains(says),
            "{path} {body}: {e}"
        );
    }

    // Maintenance: planned, shown, cancelled.
    let starts = fixtures::now() + chrono::Duration::days(30);
    let plan = serde_json::json!({
        "title": "Wi-Fi controller upgrade",
        "services": ["wifi"],
        "starts_at": starts,
        "ends_at": starts + chrono::Duration::hours(1),
        "description": "Short drops of the Wi-Fi."
    });
    let r = admin(reqwest::Method::POST, "/api/maintenance")
        .json(&plan)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        s.get("/")
            .await
            .text()
            .await
            .unwrap()
            .contains("Wi-Fi controller upgrade")
    );
    let mut bad = plan.clone();
    bad["ends_at"] = bad["starts_at"].clone();
    let r = admin(reqwest::Method::POST, "/api/maintenance")
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("must be after starts_at"));
    let r = admin(reqwest::Method::DELETE, &format!("/api/maintenance/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(
        !s.get("/")
            .await
            .text()
            .await
            .unwrap()
            .contains("Wi-Fi controller upgrade")
    );
    let r = admin(reqwest::Method::DELETE, &format!("/api/maintenance/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // A body over the limit is refused before it is read whole.
    let huge = serde_json::json!({"by": "ana", "text": "x".repeat(100_000)});
    let r = admin(reqwest::Method::POST, "/api/incidents/7/note")
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    s.stop().await;

    // Without the variable the API is off, whatever is sent.
    let s = start_with(
        StatusConfig {
            admin_token_env: "FOREWARN_STATUS_TEST_UNSET_TOKEN".into(),
            ..config()
        },
        source,
    )
    .await;
    let r = s
        .http
        .post(s.url("/api/incidents/7/note"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&note)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("admin API is off"));
    s.stop().await;
}

#[tokio::test]
async fn help_pages_render_hide_drafts_and_refuse_traversal() {
    setup();
    let s = start(FakeStatusSource::new(fixtures::outage())).await;
    let r = s.get("/help").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_security_headers(&r);
    let index = r.text().await.unwrap();
    let order: Vec<usize> = [
        "Joining the guest Wi-Fi",
        "Printing from a Chromebook",
        "Markup that must not run",
        "Resetting your password",
    ]
    .iter()
    .map(|t| {
        index
            .find(t)
            .unwrap_or_else(|| panic!("{t} not listed:\n{index}"))
    })
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "by order, then title: {order:?}"
    );
    assert!(index.contains("For visitors and substitute teachers."));
    assert!(!index.contains("single sign-on"), "drafts are not listed");
    assert!(
        !index.contains("Half-finished"),
        "broken front matter is not listed"
    );

    let page = s.get("/help/printing").await.text().await.unwrap();
    assert!(page.contains("<h1>Printing from a Chromebook</h1>"));
    assert!(page.contains("<strong>Settings → Printers</strong>"));
    assert!(page.contains("<a href=\"https://helpdesk.district.example/new\">Open a ticket</a>"));
    assert!(!page.contains("draft: false"), "front matter is not shown");

    let page = s.get("/help/unsafe-markup").await.text().await.unwrap();
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("<img"), "{page}");
    assert!(!page.contains("<iframe"), "{page}");
    assert!(page.contains("&lt;script&gt;alert"), "{page}");
    assert!(page.contains("&lt;iframe"), "{page}");
    assert!(!page.contains("javascript:"), "{page}");
    assert!(page.contains("a script link"));
    assert!(page.contains("<a href=\"https://district.example/help\">a safe link</a>"));

    for path in [
        "/help/upcoming-sso",
        "/help/broken-front-matter",
        "/help/nope",
        "/help/..%2fetc",
        "/help/..%2F..%2Fetc%2Fpasswd",
        "/help/printing.md",
        "/help/Printing",
        "/help/..%5cprinting",
    ] {
        let r = s.get(path).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_security_headers(&r);
        let body = r.text().await.unwrap();
        assert!(!body.contains("root:"), "{path}");
        assert!(!body.contains("Secret plans"), "{path}");
    }
    // Paths as an attacker sends them, not as a client library tidies them up.
    let addr = s.base.trim_start_matches("http://").to_owned();
    for path in [
        "/help/../../../../etc/passwd",
        "/help/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/help/..%2f..%2fCargo.toml",
        "/help/%2e%2e",
        "/help//etc/passwd",
    ] {
        let (status, body) = raw_get(&addr, path).await;
        assert!(status == 404 || status == 400, "{path}: {status}");
        assert!(
            !body.contains("root:") && !body.contains("[package]"),
            "{path}"
        );
    }
    s.stop().await;

    // No help directory: no help.
    let s = start_with(
        StatusConfig {
            help_dir: None,
            ..config()
        },
        FakeStatusSource::new(fixtures::outage()),
    )
    .await;
    assert_eq!(s.get("/help").await.status(), StatusCode::NOT_FOUND);
    assert!(
        !s.get("/")
            .await
            .text()
            .await
            .unwrap()
            .contains("href=\"/help\"")
    );
    s.stop().await;
}

#[tokio::test]
async fn slow_requests_time_out_and_connections_are_capped() {
    setup();
    let mut c = config();
    c.limits.request_timeout = Duration::from_millis(300);
    c.limits.max_connections = 1;
    c.limits.header_timeout = Duration::from_secs(1);
    let source = FakeStatusSource::new(fixtures::outage());
    let s = start_with(c, source.clone()).await;

    source.set_delay(Duration::from_secs(2));
    let r = s.get("/").await;
    assert_eq!(r.status(), StatusCode::REQUEST_TIMEOUT);
    assert_security_headers(&r);
    source.set_delay(Duration::ZERO);

    // One idle connection holds the only slot: another client waits until the server drops
    // the idle one (header timeout), then gets its answer.
    let addr = s.base.trim_start_matches("http://").to_owned();
    let idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fresh = reqwest::Client::builder().no_proxy().build().unwrap();
    let started = std::time::Instant::now();
    let waited = fresh
        .get(s.url("/status.json"))
        .timeout(Duration::from_millis(400))
        .send()
        .await;
    assert!(
        waited.is_err(),
        "the second connection is not served while the first holds the slot"
    );
    let r = fresh
        .get(s.url("/status.json"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    drop(idle);
    s.stop().await;
}

#[tokio::test]
async fn configuration_errors_are_clear() {
    setup();
    let e = StatusServer::bind(
        &StatusConfig {
            ack_secret: Some(Secret::new("short")),
            ..config()
        },
        Arc::new(FakeStatusSource::new(fixtures::outage())),
        Zone::named("UTC").unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("ack_secret") && e.contains("at least 16 bytes"),
        "{e}"
    );
    assert!(!e.contains("short\""), "{e}");
    // The port is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let e = StatusServer::bind(
        &StatusConfig {
            listen: Some(taken.local_addr().unwrap().to_string()),
            ..config()
        },
        Arc::new(FakeStatusSource::new(fixtures::outage())),
        Zone::named("UTC").unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("status server: listening on 127.0.0.1:"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_shows_the_outage_without_console_errors_or_outside_requests() {
    setup();
    let Some(exe) = browser::find() else {
        skip::skip("chromium", "not installed (Debian package `chromium`)");
        return;
    };
    let s = start(FakeStatusSource::new(fixtures::outage())).await;
    // Anything Chromium tries to reach beyond loopback goes to this proxy, which only counts.
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let proxy_addr = proxy.local_addr().unwrap().to_string();
    let url = s.url("/");
    let profile = tempfile::tempdir().unwrap();
    let screenshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/status-page.png");

    let (dom, state, banner_colour, events) = tokio::task::spawn_blocking({
        let profile = profile.path().to_owned();
        let screenshot = screenshot.clone();
        move || {
            let mut c = browser::Chromium::start(&exe, &profile, &proxy_addr);
            let session = c.open(&url);
            let dom = c.eval(&session, "document.documentElement.outerHTML");
            let state = c.eval(
                &session,
                "document.querySelector('#service-student-information-system .state').textContent",
            );
            let banner = c.eval(
                &session,
                "getComputedStyle(document.querySelector('.banner')).backgroundColor",
            );
            c.screenshot(&session, &screenshot);
            let events = std::mem::take(&mut c.events);
            (dom, state, banner, events)
        }
    })
    .await
    .unwrap();

    let dom = dom.as_str().unwrap();
    assert_eq!(state, "Down");
    assert!(dom.contains("Some services are down"));
    assert!(dom.contains("Attendance &amp; grades cannot be entered &lt;right now&gt;"));
    assert!(dom.contains("&lt;script&gt;alert('sis')&lt;/script&gt; Student Information System"));
    assert!(dom.contains("The database server is being restarted"));
    assert!(
        !dom.contains("<script"),
        "no script element in the live DOM"
    );
    // The stylesheet loaded under the CSP: the banner has its colour.
    assert_eq!(banner_colour, "rgb(207, 34, 46)");
    // No console errors (CSP violations are reported there), no exceptions.
    let problems = browser::problems(&events);
    assert!(problems.is_empty(), "console problems: {problems:#?}");
    // Every request the page made went to the status server on loopback.
    let requests: Vec<&str> = events
        .iter()
        .filter(|e| e["method"] == "Network.requestWillBeSent")
        .filter_map(|e| e["params"]["request"]["url"].as_str())
        .collect();
    assert!(
        requests.iter().any(|u| u.ends_with("/static/style.css")),
        "{requests:?}"
    );
    for u in &requests {
        assert!(
            u.starts_with(&s.base) || u.starts_with("data:"),
            "request off loopback: {u}"
        );
    }
    let mut outside = Vec::new();
    while let Ok((mut conn, _)) = proxy.accept() {
        use std::io::Read;
        conn.set_nonblocking(false).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 512];
        let n = conn.read(&mut buf).unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]);
        outside.push(text.lines().next().unwrap_or("").to_owned());
    }
    // Chromium itself may still call home (network time, component updates, accounts) despite
    // the flags; that is the browser, not the page. Anything else would be the page's doing.
    let browser_own = |line: &str| {
        let host = line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .trim_start_matches("http://")
            .split(['/', ':'])
            .next()
            .unwrap_or("")
            .to_owned();
        ["google.com", "googleapis.com", "gstatic.com", "gvt1.com"]
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
    };
    let foreign: Vec<_> = outside.iter().filter(|l| !browser_own(l)).collect();
    assert!(foreign.is_empty(), "requests beyond loopback: {foreign:?}");
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{}",
        png.len()
    );
    s.stop().await;
}

#[test]
fn readme_status_settings_parse() {
    let readme = include_str!("../README.md");
    let block = readme
        .split("```toml\n")
        .find(|b| b.starts_with("[status]\n"))
        .and_then(|b| b.split("```").next())
        .expect("the README has a [status] example");
    let table: toml::Table = toml::from_str(block).unwrap();
    let config: StatusConfig = table["status"].clone().try_into().unwrap();
    assert_eq!(config.listen_addr().unwrap().to_string(), "127.0.0.1:8080");
    assert_eq!(config.limits.request_timeout, Duration::from_secs(10));
    assert_eq!(config.admin_token_env, "FOREWARN_ADMIN_TOKEN");
}
