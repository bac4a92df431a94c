//! Two `forewarn run` instances on one private PostgreSQL (see `support/databases.rs`), mail
//! to aiosmtpd (`support/smtp.rs`): one leads, the other stands by; the leader is killed with
//! SIGKILL while an incident is open and its notification is still in the outbox (the SMTP
//! server is down). The standby must lead within 10 s, deliver the pending notification once,
//! resolve the incident once, and the old leader, started again, must send nothing.
//!
//! Without PostgreSQL or aiosmtpd the test is skipped with the reason, except with `CI=true`,
//! where it fails.
// Both support files include the skip helper.
#![allow(clippy::duplicate_mod)]

#[path = "support/databases.rs"]
mod databases;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/wait.rs"]
mod wait;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use databases::{Engine, Server};
use smtp::{Kind, Smtp};
use wait::wait_for;

/// One `forewarn run` process.
struct Instance {
    child: Child,
    log: PathBuf,
}

impl Instance {
    fn start(dir: &Path, name: &str, config: &Path, run: u32) -> Instance {
        let log = dir.join(format!("{name}-{run}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_forewarn"))
            .arg("run")
            .arg("--config")
            .arg(config)
            .current_dir(dir)
            .env_remove("FOREWARN_CONFIG")
            .env("FOREWARN_LOG", "info")
            .env(forewarn::store::postgres::PASSWORD_ENV, databases::PASSWORD)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("the binary starts");
        Instance { child, log }
    }

    fn kill_9(&mut self) {
        // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
        let rc = unsafe { libc::kill(self.child.id() as i32, libc::SIGKILL) };
        assert_eq!(rc, 0);
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The config of instance `name`: the shared database, a TCP check on `target`, mail to
/// `smtp_port`.
fn config(
    dir: &Path,
    name: &str,
    url: &str,
    target: u16,
    smtp_port: u16,
    status_port: u16,
) -> PathBuf {
    let text = format!(
        r#"
[monitor]
database = "{url}"
instance = "{name}"
lease = "3s"

[status]
listen = "127.0.0.1:{status_port}"

[sinks.mail]
type = "email"
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "forewarn <forewarn@district.example>"
to = ["ict-oncall@district.example"]
timeout = "5s"

[policies.default]
type = "notify"
sinks = ["mail"]

[services.sis]
name = "Student Information System"
checks = ["sis-db"]

[[checks]]
name = "sis-db"
type = "tcp"
target = "127.0.0.1:{target}"
interval = "1s"
timeout = "800ms"
failure_threshold = 1
"#
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// `path` of the status page on `port`, as JSON (`None` while it does not answer).
async fn get(port: u16, path: &str) -> Option<serde_json::Value> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).await.ok()?;
    let (_, body) = text.split_once("\r\n\r\n")?;
    serde_json::from_str(body).ok()
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let mut config: tokio_postgres::Config = url.parse().unwrap();
    config.password(databases::PASSWORD);
    let (client, conn) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

async fn holder(db: &tokio_postgres::Client) -> Option<(String, i64)> {
    let row = db
        .query_opt(
            "SELECT holder, token FROM leader_lease WHERE expires_at > clock_timestamp()",
            &[],
        )
        .await
        .ok()??;
    Some((row.get(0), row.get(1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_takes_over_a_killed_leader_and_nothing_is_sent_twice_or_lost() {
    let Some(pg) = Server::start_or_skip(Engine::Postgres) else {
        return;
    };
    let Some(mut mail) = Smtp::start_or_skip(Kind::Plain { max_size: None }) else {
        return;
    };
    pg.admin(&format!(
        "CREATE DATABASE failover OWNER {}",
        databases::USER
    ))
    .unwrap();
    let url = format!(
        "postgres://{}@127.0.0.1:{}/failover",
        databases::USER,
        pg.port
    );
    let dir = tempfile::tempdir().unwrap();
    let mut target = Some(TcpListener::bind("127.0.0.1:0").unwrap());
    let target_port = target.as_ref().unwrap().local_addr().unwrap().port();
    let (page_a, page_b) = (smtp::free_port(), smtp::free_port());
    let config_a = config(dir.path(), "a", &url, target_port, mail.port, page_a);
    let config_b = config(dir.path(), "b", &url, target_port, mail.port, page_b);

    let mut a = Instance::start(dir.path(), "a", &config_a, 1);
    // The schema is made by the first; the lease is taken by it.
    let db = wait_for(
        Duration::from_secs(30),
        "the first instance leads",
        || a.log(),
        || async {
            let db = connect(&url).await;
            match holder(&db).await {
                Some((h, _)) if h == "a" => Some(db),
                _ => None,
            }
        },
    )
    .await;
    let b = Instance::start(dir.path(), "b", &config_b, 1);
    let context = || format!("a:\n{}\nb:\n{}", a.log(), b.log());
    wait_for(Duration::from_secs(30), "b stands by", context, || async {
        b.log().contains("standby").then_some(())
    })
    .await;
    wait_for(
        Duration::from_secs(30),
        "the check is up",
        context,
        || async {
            let n: i64 = db
                .query_one("SELECT count(*) FROM observations WHERE status = 0", &[])
                .await
                .ok()?
                .get(0);
            (n > 0).then_some(())
        },
    )
    .await;

    // The mail server goes, then the target: an incident opens, its mail waits in the outbox.
    mail.stop();
    drop(target.take());
    wait_for(
        Duration::from_secs(30),
        "an incident opens and its notification fails",
        context,
        || async {
            let r = db
                .query_one(
                    "SELECT (SELECT count(*) FROM incidents WHERE state <> 'resolved'), \
                     (SELECT count(*) FROM outbox WHERE state = 'pending' AND attempts > 0)",
                    &[],
                )
                .await
                .ok()?;
            (r.get::<_, i64>(0) == 1 && r.get::<_, i64>(1) >= 1).then_some(())
        },
    )
    .await;
    let (_, old_token) = holder(&db).await.expect("a leads");
    // The standby's status page shows what the leader found, from the shared store.
    wait_for(
        Duration::from_secs(15),
        "the standby's page shows the service down",
        context,
        || async {
            let page = get(page_b, "/status.json").await?;
            let service = page["services"]
                .as_array()?
                .iter()
                .find(|s| s["id"] == "sis")?
                .clone();
            (service["state"] == "down").then_some(())
        },
    )
    .await;

    // The leader dies; the mail server comes back.
    a.kill_9();
    let killed = Instant::now();
    mail.restart().unwrap();
    let (leader, token) = wait_for(
        Duration::from_secs(15),
        "b leads",
        || b.log(),
        || async { holder(&db).await.filter(|(h, _)| h == "b") },
    )
    .await;
    let failover = killed.elapsed();
    assert_eq!(leader, "b");
    assert!(
        token > old_token,
        "a new fencing token: {token} > {old_token}"
    );
    assert!(
        failover <= Duration::from_secs(10),
        "the standby took {failover:?} to lead\n{}",
        b.log()
    );
    eprintln!("failover: {failover:?}");

    // The pending "opened" mail goes out once, from b.
    let opened = mail.wait_for(1);
    assert_eq!(opened.len(), 1, "{opened:#?}");
    assert!(opened[0].get("Subject").contains("sis-db"), "{opened:#?}");

    // The target comes back: the one incident resolves, once.
    let back = TcpListener::bind(("127.0.0.1", target_port)).unwrap();
    let mails = mail.wait_for(2);
    let incidents: Vec<(i64, String)> = db
        .query("SELECT id, state FROM incidents", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(incidents.len(), 1, "one incident: {incidents:?}");
    assert_eq!(incidents[0].1, "resolved", "{incidents:?}\n{}", b.log());

    // The old leader, started again, stands by and sends nothing stale.
    let a2 = Instance::start(dir.path(), "a", &config_a, 2);
    wait_for(
        Duration::from_secs(30),
        "the restarted a stands by",
        || a2.log(),
        || async { a2.log().contains("standby").then_some(()) },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(holder(&db).await.map(|h| h.0).as_deref(), Some("b"));
    let all = mail.messages();
    assert_eq!(all.len(), 2, "one opened and one resolved mail: {all:#?}");
    let ids: std::collections::BTreeSet<&str> = all.iter().map(|m| m.get("Message-ID")).collect();
    assert_eq!(ids.len(), 2, "{all:#?}");
    let outbox: Vec<(String, i32)> = db
        .query("SELECT state, attempts FROM outbox ORDER BY seq", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(
        outbox.iter().all(|(s, _)| s == "delivered"),
        "every row delivered: {outbox:?}"
    );
    assert!(!mails.is_empty());
    drop(back);
}

/// A store of its own on a fresh database of `pg`.
async fn store_on(pg: &Server, db: &str, query: &str) -> forewarn::store::PostgresStore {
    let _ = pg.admin(&format!("CREATE DATABASE {db} OWNER {}", databases::USER));
    forewarn::store::PostgresStore::connect_with(
        &format!(
            "postgres://{}@127.0.0.1:{}/{db}{query}",
            databases::USER,
            pg.port
        ),
        Some(databases::PASSWORD),
    )
    .await
    .expect("connect")
}

fn notification(id: &str, incident_id: i64) -> forewarn::sink::Notification {
    let at = chrono::Utc::now();
    forewarn::sink::Notification {
        id: id.to_owned(),
        installation: "test".into(),
        sink: "mail".into(),
        key: format!("opened:{id}"),
        kind: forewarn::sink::NotificationKind::Opened,
        incident_id,
        check: "sis-db".into(),
        group: None,
        status: forewarn::Status::Critical,
        subject: "sis-db is down".into(),
        summary: "connection refused".into(),
        opened_at: at,
        at,
        labels: Default::default(),
        broadcast: None,
    }
}

/// An instance that lost its lease (paused past it) has its writes refused once another
/// leads, and a standby's writes are refused from the start; the one leading writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_with_a_stale_lease_token_is_refused() {
    use forewarn::Store;
    let Some(pg) = Server::start_or_skip(Engine::Postgres) else {
        return;
    };
    let a = store_on(&pg, "fencing", "").await;
    let b = store_on(&pg, "fencing", "").await;
    let ttl = Duration::from_secs(1);
    let lease_a = a.lead("a", None, ttl).await.unwrap();
    assert_eq!(lease_a.holder, "a");
    a.fence(Some(lease_a.token));
    // b stands by while a's lease holds.
    let seen = b.lead("b", None, ttl).await.unwrap();
    assert_eq!((seen.holder.as_str(), seen.token), ("a", lease_a.token));
    b.fence(Some(forewarn::cluster::STANDBY_FENCE));
    let e = b
        .enqueue(&notification("n-standby", 1), chrono::Utc::now())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("standby"), "{e}");
    assert!(e.to_string().contains("the leader (`a`)"), "{e}");
    assert!(
        a.enqueue(&notification("n-1", 1), chrono::Utc::now())
            .await
            .unwrap()
    );
    // a pauses past its lease; b takes the lead with the next token.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let lease_b = b.lead("b", None, ttl).await.unwrap();
    assert_eq!(lease_b.holder, "b");
    assert_eq!(lease_b.token, lease_a.token + 1);
    b.fence(Some(lease_b.token));
    // a wakes up and writes as if it still led: refused, nothing written.
    let e = a
        .enqueue(&notification("n-stale", 1), chrono::Utc::now())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no longer leads"), "{e}");
    assert!(e.to_string().contains("the leader is `b`"), "{e}");
    let e = a
        .record_observations(vec![(
            Arc::from("sis-db"),
            forewarn::probe::Observation::new(forewarn::Status::Ok, "up", chrono::Utc::now()),
        )])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no longer leads"), "{e}");
    // Its renewal finds b leading.
    let renewed = a.lead("a", Some(lease_a.token), ttl).await.unwrap();
    assert_eq!(renewed.holder, "b");
    let ids: Vec<String> = b
        .outbox_rows(1)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.notification.id)
        .collect();
    assert_eq!(ids, ["n-1"]);
    assert!(
        b.enqueue(&notification("n-2", 1), chrono::Utc::now())
            .await
            .unwrap()
    );
    // A clean stop gives the lead up at once.
    b.resign("b", lease_b.token).await.unwrap();
    let next = a.lead("a", None, ttl).await.unwrap();
    assert_eq!((next.holder.as_str(), next.token), ("a", lease_b.token + 1));
}

/// Two deliverers claiming due rows at once never get the same row, and a claim that was not
/// marked (its instance stopped) lapses so the row is claimed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimed_outbox_rows_go_to_one_deliverer_and_lapse_when_left() {
    use forewarn::Store;
    let Some(pg) = Server::start_or_skip(Engine::Postgres) else {
        return;
    };
    let a = Arc::new(store_on(&pg, "claims", "").await);
    let b = Arc::new(store_on(&pg, "claims", "").await);
    let now = chrono::Utc::now();
    for i in 0..200 {
        a.enqueue(&notification(&format!("n-{i:03}"), 1), now)
            .await
            .unwrap();
    }
    let later = now + chrono::Duration::seconds(1);
    let hold = Duration::from_secs(60);
    let mut tasks = Vec::new();
    for s in [a.clone(), b.clone(), a.clone(), b.clone()] {
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let rows = s.claim_outbox(later, 7, hold).await.unwrap();
                if rows.is_empty() {
                    return mine;
                }
                mine.extend(rows.into_iter().map(|r| r.notification.id));
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: std::collections::BTreeSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 200, "every row claimed once");
    assert_eq!(unique.len(), 200);
    // Nothing is claimable while the claims hold; after they lapse, all are again.
    assert!(a.claim_outbox(later, 500, hold).await.unwrap().is_empty());
    let lapsed = later + chrono::Duration::seconds(61);
    assert_eq!(b.claim_outbox(lapsed, 500, hold).await.unwrap().len(), 200);
    // A row marked delivered is never claimed again.
    a.mark_delivered("n-000", lapsed).await.unwrap();
    let much_later = lapsed + chrono::Duration::seconds(120);
    assert_eq!(
        a.claim_outbox(much_later, 500, hold).await.unwrap().len(),
        199
    );
}

/// `sslmode=require` in the URL encrypts the store's connections (the server's certificate is
/// self-signed, as libpq's `require` accepts); a URL holding a password is refused without
/// showing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_connects_over_tls_and_never_shows_a_password() {
    use forewarn::Store;
    let Some(pg) = Server::start_or_skip(Engine::Postgres) else {
        return;
    };
    pg.enable_tls().unwrap();
    let store = store_on(&pg, "tls", "?sslmode=require").await;
    assert!(!store.installation_id().await.unwrap().is_empty());
    let db = connect(&format!(
        "postgres://{}@127.0.0.1:{}/tls",
        databases::USER,
        pg.port
    ))
    .await;
    let encrypted: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE s.ssl AND a.application_name = 'forewarn'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(encrypted >= 1, "the store's connection is encrypted");
    let e = forewarn::store::PostgresStore::connect(&format!(
        "postgres://{}:Sup3r-s3cret@127.0.0.1:{}/tls",
        databases::USER,
        pg.port
    ))
    .await
    .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("FOREWARN_DATABASE_PASSWORD"), "{text}");
    assert!(!text.contains("Sup3r-s3cret"), "{text}");
}
