//! The `file` sink: a local outbox file of JSON lines, one notification per line, fsynced.
//!
//! The embedded default sends alerts here so a newcomer sees them without configuring e-mail:
//! `tail -f forewarn-outbox.jsonl`.

use std::io::Write;
use std::path::PathBuf;

use async_trait::async_trait;
use parking_lot::Mutex;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::sink::{AlertSink, Notification};

/// Configuration of the `file` sink.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSinkConfig {
    /// The file to append to (created with its directory).
    pub path: PathBuf,
}

impl FileSinkConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        if self.path.as_os_str().is_empty() {
            return Err(Error::invalid("path", "must not be empty"));
        }
        Ok(())
    }

    /// Builds the sink, opening the file.
    pub fn build(&self) -> Result<FileSink> {
        self.validate()?;
        Ok(FileSink {
            file: Mutex::new(super::log::open_append(&self.path)?),
            path: self.path.clone(),
        })
    }
}

/// Appends notifications to a JSON-lines file.
#[derive(Debug)]
pub struct FileSink {
    file: Mutex<std::fs::File>,
    path: PathBuf,
}

impl FileSink {
    /// The file written to.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

#[async_trait]
impl AlertSink for FileSink {
    async fn send(&self, n: &Notification) -> Result<()> {
        let mut line = serde_json::to_vec(n).expect("notifications serialise");
        line.push(b'\n');
        let mut f = self.file.lock();
        f.write_all(&line)
            .and_then(|_| f.sync_data())
            .map_err(|e| Error::io(format!("writing {}", self.path.display()), e))
    }

    async fn healthcheck(&self) -> Result<()> {
        self.file
            .lock()
            .flush()
            .map_err(|e| Error::io(format!("writing {}", self.path.display()), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Incident;
    use crate::probe::Status;
    use crate::sink::NotificationKind;

    #[tokio::test]
    async fn appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/outbox.jsonl");
        let sink = FileSinkConfig { path: path.clone() }.build().unwrap();
        let at = chrono::Utc::now();
        let i = Incident::open("db", None, "p", Status::Critical, "down", false, at);
        for key in ["opened", "resolved"] {
            let n =
                Notification::for_incident(&i, "f00d", "file", key, NotificationKind::Opened, at);
            sink.send(&n).await.unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Notification> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].key, "resolved");
        sink.healthcheck().await.unwrap();
    }
}
