//! The one error type of forewarn.

use std::path::PathBuf;

/// Result alias used across forewarn.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in forewarn, in one place.
///
/// Messages never contain secrets: configuration values marked secret are redacted before they
/// reach an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration file could not be parsed or is invalid.
    ///
    /// Displayed as `file:line:col: message`, the way compilers report, so editors can jump to it.
    #[error("{}", display_config(.file, *.line, *.col, .key.as_deref(), .message))]
    Config {
        /// The file (or `<embedded>` / `<string>` for configs not read from disk).
        file: PathBuf,
        /// 1-based line, 0 when unknown.
        line: usize,
        /// 1-based column, 0 when unknown.
        col: usize,
        /// The offending key, when there is one.
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A value given through the API is invalid.
    #[error("invalid {what}: {message}")]
    Invalid {
        /// What was invalid (e.g. "interval").
        what: String,
        /// Why.
        message: String,
    },
    /// Something asked for does not exist.
    #[error("{what} not found: {id}")]
    NotFound {
        /// The kind of thing (e.g. "incident").
        what: &'static str,
        /// Its identifier.
        id: String,
    },
    /// The history store failed.
    #[error("store: {0}")]
    Store(String),
    /// Delivering a notification failed.
    #[error("sink `{sink}`: {message}")]
    Sink {
        /// The sink's name.
        sink: String,
        /// What went wrong.
        message: String,
        /// Whether trying again later may succeed.
        retryable: bool,
    },
    /// A sink's rate limit is reached: try again after `retry_after` (not a failure).
    #[error("sink `{sink}`: rate limit reached, next slot in {retry_after:?}")]
    RateLimited {
        /// The sink's name.
        sink: String,
        /// When a send may go through.
        retry_after: std::time::Duration,
    },
    /// An acknowledgement or other state change was refused.
    #[error("{0}")]
    Conflict(String),
    /// A part of the running monitor stopped: a background task failed, panicked or ended
    /// while the monitor was still meant to run.
    #[error("{task} stopped: {message}")]
    Stopped {
        /// The task ("housekeeping", "outbox", "check `db-main`", …).
        task: String,
        /// What happened.
        message: String,
    },
    /// Help-desk exports were read but not one row could be used; the summary lists the rows
    /// skipped and why. Displayed as an invalid `exports` value naming the first problems.
    #[cfg(feature = "tickets")]
    #[error("invalid exports: {}", no_usable_rows(.summary))]
    NoUsableRows {
        /// What ingest read and skipped.
        summary: Box<crate::tickets::IngestSummary>,
    },
    /// An I/O error, with the path or operation involved.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// "no usable rows (0 rows read, …); file:line: reason; …" with the first five problems.
#[cfg(feature = "tickets")]
fn no_usable_rows(summary: &crate::tickets::IngestSummary) -> String {
    let mut s = format!("no usable rows ({})", summary.rows_text());
    for p in summary.problems.iter().take(5) {
        s.push_str(&format!("; {}:{}: {}", p.file, p.line, p.reason));
    }
    s
}

fn display_config(
    file: &std::path::Path,
    line: usize,
    col: usize,
    key: Option<&str>,
    message: &str,
) -> String {
    let mut s = file.display().to_string();
    if line > 0 {
        s.push_str(&format!(":{line}:{col}"));
    }
    s.push_str(": ");
    if let Some(key) = key {
        s.push_str(&format!("`{key}`: "));
    }
    s.push_str(message);
    s
}

impl Error {
    /// An [`Error::Invalid`] for `what`.
    pub fn invalid(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            what: what.into(),
            message: message.into(),
        }
    }

    /// An [`Error::Io`] with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Whether retrying the same operation later may succeed (used by the outbox).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Sink { retryable, .. } => *retryable,
            Error::Io { .. } | Error::Store(_) | Error::RateLimited { .. } => true,
            _ => false,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(e.to_string())
    }
}
