//! Your own probe and your own sink, run by the same monitor as the built-ins.
//!
//! The probe checks that last night's backup of the student information system exists and is
//! fresh (the newest file in a folder is younger than a day); the sink files a help-desk ticket
//! for every alert by writing it to a folder the help desk imports. Neither needs anything but
//! `forewarn`: the traits are implemented with its re-exported `async_trait`.
//!
//! `cargo run --example custom_probe`

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use forewarn::{
    AlertSink, CheckContext, CheckSpec, Monitor, Notification, Observation, Probe, Status,
    async_trait,
};

/// Warns when the newest file in `dir` is older than `warn_after`, critical past `critical_after`
/// or when there is no backup at all.
#[derive(Debug)]
struct BackupFreshness {
    dir: PathBuf,
    warn_after: Duration,
    critical_after: Duration,
}

#[async_trait]
impl Probe for BackupFreshness {
    async fn check(&self, cx: &CheckContext) -> Observation {
        let at = cx.now();
        // File-system calls block: keep them off the monitor's event loop.
        let dir = self.dir.clone();
        let newest = tokio::task::spawn_blocking(move || newest_file(&dir)).await;
        let (name, modified) = match newest {
            Ok(Ok(Some(found))) => found,
            Ok(Ok(None)) => {
                return Observation::new(Status::Critical, "no backup file at all", at);
            }
            Ok(Err(e)) => {
                return Observation::new(
                    Status::Unknown,
                    format!("cannot read {}: {e}", self.dir.display()),
                    at,
                );
            }
            Err(e) => return Observation::new(Status::Unknown, e.to_string(), at),
        };
        let age = SystemTime::now()
            .duration_since(modified)
            .unwrap_or(Duration::ZERO);
        let status = if age >= self.critical_after {
            Status::Critical
        } else if age >= self.warn_after {
            Status::Warning
        } else {
            Status::Ok
        };
        let hours = age.as_secs() / 3600;
        Observation::new(status, format!("newest backup {name} is {hours} h old"), at).with_metric(
            "age",
            age.as_secs_f64(),
            "s",
        )
    }

    fn kind(&self) -> &str {
        "backup"
    }

    fn target(&self) -> String {
        self.dir.display().to_string()
    }
}

/// The newest regular file in `dir`, with its modification time.
fn newest_file(dir: &Path) -> std::io::Result<Option<(String, SystemTime)>> {
    let mut newest: Option<(String, SystemTime)> = None;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if !meta.is_file() {
            continue;
        }
        let modified = meta.modified()?;
        if newest.as_ref().is_none_or(|(_, m)| modified > *m) {
            newest = Some((entry.file_name().to_string_lossy().into_owned(), modified));
        }
    }
    Ok(newest)
}

/// Files one ticket per notification (JSON) in a folder the help desk imports. The file is
/// named by the notification's stable id, so a retried delivery rewrites the same ticket.
#[derive(Debug)]
struct HelpDeskTickets {
    inbox: PathBuf,
}

#[async_trait]
impl AlertSink for HelpDeskTickets {
    async fn send(&self, n: &Notification) -> forewarn::Result<()> {
        let ticket = serde_json::json!({
            "subject": n.subject,
            "body": n.summary,
            "category": "Infrastructure > Backups",
            "priority": if n.status == Status::Critical { "high" } else { "normal" },
            "reference": n.id,
        });
        let path = self.inbox.join(format!("{}.json", n.id));
        tokio::fs::write(&path, ticket.to_string())
            .await
            .map_err(|e| forewarn::Error::Sink {
                sink: "help-desk".into(),
                message: format!("writing {}: {e}", path.display()),
                retryable: true,
            })
    }

    async fn healthcheck(&self) -> forewarn::Result<()> {
        tokio::fs::metadata(&self.inbox)
            .await
            .map(|_| ())
            .map_err(|e| forewarn::Error::io(format!("the inbox {}", self.inbox.display()), e))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let work = tempfile::tempdir()?;
    let backups = work.path().join("backups");
    let inbox = work.path().join("help-desk-inbox");
    std::fs::create_dir_all(&backups)?;
    std::fs::create_dir_all(&inbox)?;
    // Last night's backup did not run: the newest file is three days old.
    let stale = std::fs::File::create(backups.join("sis-2026-09-01.sql.gz"))?;
    stale.set_modified(SystemTime::now() - Duration::from_secs(3 * 86_400))?;

    let monitor = Monitor::builder()
        .check(
            CheckSpec::new(
                "sis-backup",
                Arc::new(BackupFreshness {
                    dir: backups.clone(),
                    warn_after: Duration::from_secs(26 * 3600),
                    critical_after: Duration::from_secs(50 * 3600),
                }),
            )
            .interval(Duration::from_secs(600))
            .thresholds(1, 1),
        )
        .sink(
            "help-desk",
            Arc::new(HelpDeskTickets {
                inbox: inbox.clone(),
            }),
        )
        .build()?;

    let round = monitor.run_once().await?;
    println!(
        "{}: {} {}",
        round[0].name, round[0].status, round[0].summary
    );
    expect(
        round[0].status == Status::Critical,
        "a 3-day-old backup is critical",
    )?;

    // Tonight's backup arrives; the next round resolves the incident.
    std::fs::write(backups.join("sis-2026-09-04.sql.gz"), b"...")?;
    let round = monitor.run_once().await?;
    println!(
        "{}: {} {}",
        round[0].name, round[0].status, round[0].summary
    );
    expect(round[0].status == Status::Ok, "a fresh backup is ok")?;

    let mut tickets: Vec<serde_json::Value> = std::fs::read_dir(&inbox)?
        .map(|e| Ok(serde_json::from_slice(&std::fs::read(e?.path())?)?))
        .collect::<Result<_, Box<dyn std::error::Error>>>()?;
    tickets.sort_by_key(|t| t["subject"].to_string());
    for t in &tickets {
        println!("ticket: {} ({})", t["subject"], t["priority"]);
    }
    let incidents = monitor.incidents(&Default::default()).await?;
    expect(incidents.len() == 1, "one incident")?;
    expect(
        tickets.len() == 2,
        "two tickets: the outage and its resolution",
    )?;
    println!("{} incident, {} tickets", incidents.len(), tickets.len());
    Ok(())
}

fn expect(ok: bool, what: &str) -> Result<(), Box<dyn std::error::Error>> {
    if ok {
        Ok(())
    } else {
        Err(format!("expected {what}").into())
    }
}
