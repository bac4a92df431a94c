//! The `log` sink: one structured line per notification, to stdout, stderr or a file.

use std::io::Write;
use std::path::PathBuf;

use async_trait::async_trait;
use parking_lot::Mutex;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::sink::{AlertSink, Notification};

/// Where the `log` sink writes.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `2026-09-01T08:00:00Z opened critical db-main #3 "…"`
    #[default]
    Text,
    /// One JSON object per line (the [`Notification`] as serialised).
    Json,
}

/// Configuration of the `log` sink.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSinkConfig {
    /// A file to append to; stdout when absent (or "-").
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Line format: "text" (default) or "json".
    #[serde(default)]
    pub format: LogFormat,
}

impl LogSinkConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// Builds the sink (opening the file, creating its directory).
    pub fn build(&self) -> Result<LogSink> {
        let out = match &self.path {
            Some(p) if p.as_os_str() != "-" => Target::File(Mutex::new(open_append(p)?), p.clone()),
            _ => Target::Stdout,
        };
        Ok(LogSink {
            format: self.format.clone(),
            out,
        })
    }
}

pub(crate) fn open_append(p: &std::path::Path) -> Result<std::fs::File> {
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .map_err(|e| Error::io(format!("opening {}", p.display()), e))
}

#[derive(Debug)]
enum Target {
    Stdout,
    File(Mutex<std::fs::File>, PathBuf),
}

/// Writes notifications as log lines.
#[derive(Debug)]
pub struct LogSink {
    format: LogFormat,
    out: Target,
}

impl LogSink {
    /// A text sink on stdout.
    pub fn stdout() -> Self {
        Self {
            format: LogFormat::Text,
            out: Target::Stdout,
        }
    }

    fn line(&self, n: &Notification) -> String {
        match self.format {
            LogFormat::Json => serde_json::to_string(n).expect("notifications serialise"),
            LogFormat::Text => format!(
                "{} {} {} {} #{} {:?}",
                n.at.format("%Y-%m-%dT%H:%M:%SZ"),
                n.kind,
                n.status,
                crate::text::printable(&n.check),
                n.incident_id,
                n.subject
            ),
        }
    }
}

#[async_trait]
impl AlertSink for LogSink {
    async fn send(&self, n: &Notification) -> Result<()> {
        let mut line = self.line(n);
        line.push('\n');
        match &self.out {
            Target::Stdout => {
                let mut o = std::io::stdout().lock();
                o.write_all(line.as_bytes())
                    .and_then(|_| o.flush())
                    .map_err(|e| Error::io("writing to stdout", e))
            }
            Target::File(f, p) => f
                .lock()
                .write_all(line.as_bytes())
                .map_err(|e| Error::io(format!("writing {}", p.display()), e)),
        }
    }

    async fn healthcheck(&self) -> Result<()> {
        Ok(())
    }
}
