//! The embedded status server: the public status page (HTML, JSON, Atom, auto-reply text),
//! Prometheus `/metrics`, acknowledgement links, help pages and a small admin API.
//!
//! The server reads and acts only through a [`StatusSource`] (the monitor implements it), so it
//! is tested with an in-memory one (`forewarn::testing::FakeStatusSource` with the `testing`
//! feature).
//!
//! ```no_run
//! use std::sync::Arc;
//! use forewarn::status::{StatusConfig, StatusServer, StatusSource};
//!
//! # async fn demo(source: Arc<dyn StatusSource>) -> forewarn::Result<()> {
//! let config: StatusConfig = toml::from_str(r#"
//!     listen = "127.0.0.1:8080"
//!     public_url = "https://status.district.example"
//! "#).map_err(|e| forewarn::Error::invalid("status config", e.to_string()))?;
//! let server = StatusServer::bind(&config, source, forewarn::Zone::named("America/Chicago")?)?;
//! println!("status page on http://{}", server.local_addr());
//! server.serve(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```
//!
//! What each route shows, and who may see it:
//!
//! - `/`, `/status.json`, `/feed.atom`, `/autoreply.txt`: the public summary
//!   ([`PublicStatus`]) only — service names, states, incidents as users are told of them,
//!   maintenance. Never check names, hosts, addresses or probe details.
//! - `/metrics`: Prometheus text from the monitor's own status, *with* check names; meant for
//!   a scraper, not for the public. Turn it off with `metrics = false` or keep the server on a
//!   private network.
//! - `/ack/<token>`: a signed link from an alert e-mail. Opening it (GET) only shows a form;
//!   submitting the form (POST) acknowledges, once.
//! - `/help`, `/help/<slug>`: Markdown pages from `help_dir`.
//! - `/api/…`: the admin API, behind `Authorization: Bearer <token>`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::config::Secret;
use crate::error::{Error, Result};

#[cfg(any(test, feature = "testing"))]
pub(crate) mod fake;
mod feed;
mod help;
mod html;
mod metrics;
pub mod model;
mod server;

pub use model::{
    DayAvailability, MaintenanceState, OutageText, PlannedMaintenance, PublicIncident,
    PublicIncidentState, PublicMaintenance, PublicService, PublicStatus, PublicUpdate,
    PublicUpdateKind, ServiceState,
};
pub use server::StatusServer;

/// What the status server reads and acts through; the monitor implements it.
#[async_trait]
pub trait StatusSource: Send + Sync + std::fmt::Debug + 'static {
    /// The public summary: services, incidents, maintenance, the outage message.
    async fn public_status(&self) -> Result<PublicStatus>;
    /// The source's present moment, against which acknowledgement links expire (the
    /// monitor's clock; the system clock by default).
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    /// The monitor's own health (checks with status, latency and incident; sinks; outbox;
    /// scheduler), for `/metrics`.
    async fn monitor_status(&self) -> Result<crate::monitor::MonitorStatus>;
    /// Redeems a verified acknowledgement token once: acknowledges `incident` as `by` (with
    /// the form's `note`, if any) and remembers `token_id` until `expires_at`;
    /// `Err(crate::ack::token_reused(incident))` when the token was used before.
    async fn redeem_ack(
        &self,
        token_id: &str,
        incident: i64,
        expires_at: DateTime<Utc>,
        by: &str,
        note: Option<&str>,
    ) -> Result<crate::Incident>;
    /// Acknowledges a monitor incident.
    async fn acknowledge(
        &self,
        incident: i64,
        by: &str,
        note: Option<&str>,
    ) -> Result<crate::Incident>;
    /// Adds a note to a monitor incident's timeline.
    async fn note(&self, incident: i64, by: &str, text: &str) -> Result<crate::Incident>;
    /// Resolves a monitor incident by hand.
    async fn resolve(&self, incident: i64, by: &str, note: Option<&str>)
    -> Result<crate::Incident>;
    /// Plans a maintenance; returns its id.
    async fn schedule_maintenance(&self, plan: PlannedMaintenance) -> Result<String>;
    /// Cancels a planned maintenance by id.
    async fn cancel_maintenance(&self, id: &str) -> Result<()>;
}

/// The default listening address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The default name of the environment variable holding the admin API's bearer token.
pub const DEFAULT_ADMIN_TOKEN_ENV: &str = "FOREWARN_ADMIN_TOKEN";

/// The shortest admin token accepted, in bytes.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

/// Configuration of the status server (`[status]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusConfig {
    /// Whether `forewarn run` serves the page (default true; a library user starts
    /// [`StatusServer`] when wanted).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Address and port to listen on (default "127.0.0.1:8080", loopback only). Listening on
    /// another address ("0.0.0.0:8080") has to be written here explicitly.
    #[serde(default)]
    pub listen: Option<String>,
    /// The page's public address (`"https://status.district.example"`), for the feed's links and
    /// ids; by default `http://` + the listening address.
    #[serde(default)]
    pub public_url: Option<String>,
    /// The page's title; by default the one the monitor gives.
    #[serde(default)]
    pub title: Option<String>,
    /// A directory of Markdown help pages (`<slug>.md`) served under `/help`.
    #[serde(default)]
    pub help_dir: Option<PathBuf>,
    /// The secret acknowledgement links are signed with: the e-mail sink's `ack_secret`
    /// (`${VAR}` works). Without it `/ack/…` answers that links are not enabled.
    #[serde(default)]
    pub ack_secret: Option<Secret>,
    /// The environment variable holding the admin API's bearer token (default
    /// "FOREWARN_ADMIN_TOKEN"). The admin API is off while the variable is unset or empty.
    #[serde(default = "default_admin_token_env")]
    pub admin_token_env: String,
    /// Whether `/metrics` is served (default true). It shows check names and states: serve it
    /// only where the scraper, not the public, can reach it.
    #[serde(default = "default_true")]
    pub metrics: bool,
    /// Limits protecting the server.
    #[serde(default)]
    pub limits: StatusLimits,
}

fn default_admin_token_env() -> String {
    DEFAULT_ADMIN_TOKEN_ENV.to_owned()
}

fn default_true() -> bool {
    true
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: None,
            public_url: None,
            title: None,
            help_dir: None,
            ack_secret: None,
            admin_token_env: default_admin_token_env(),
            metrics: true,
            limits: StatusLimits::default(),
        }
    }
}

/// Limits of the status server (`[status.limits]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusLimits {
    /// The most connections served at once (default 256); more wait to be accepted.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// The largest request body accepted, in bytes (default 65536).
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// How long one request may take before it is answered 408 (default "10s").
    #[serde(
        default = "default_request_timeout",
        deserialize_with = "crate::config::duration::deserialize"
    )]
    pub request_timeout: Duration,
    /// How long a client may take to send a request's headers, and how long an idle
    /// connection is kept, before it is closed (default "10s").
    #[serde(
        default = "default_header_timeout",
        deserialize_with = "crate::config::duration::deserialize"
    )]
    pub header_timeout: Duration,
}

fn default_max_connections() -> usize {
    256
}
fn default_max_body_bytes() -> usize {
    64 * 1024
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_header_timeout() -> Duration {
    Duration::from_secs(10)
}

impl Default for StatusLimits {
    fn default() -> Self {
        Self {
            max_connections: default_max_connections(),
            max_body_bytes: default_max_body_bytes(),
            request_timeout: default_request_timeout(),
            header_timeout: default_header_timeout(),
        }
    }
}

impl StatusConfig {
    /// The address to listen on.
    pub fn listen_addr(&self) -> Result<SocketAddr> {
        let text = self.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        text.trim().parse().map_err(|_| {
            Error::invalid(
                "status listen",
                format!("`{text}` is not an address and port (try \"127.0.0.1:8080\")"),
            )
        })
    }

    /// Checks the values: the address, the public URL, the help directory, the ack secret, the
    /// admin token's variable name and the limits.
    pub fn validate(&self) -> Result<()> {
        self.listen_addr()?;
        if let Some(u) = &self.public_url {
            let parsed = url::Url::parse(u).map_err(|e| {
                Error::invalid("status public_url", format!("`{u}` is not a URL ({e})"))
            })?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(Error::invalid(
                    "status public_url",
                    format!("`{u}` must be an http:// or https:// address with a host"),
                ));
            }
        }
        if let Some(dir) = &self.help_dir
            && !dir.is_dir()
        {
            return Err(Error::invalid(
                "status help_dir",
                format!("`{}` is not a directory", dir.display()),
            ));
        }
        if let Some(secret) = &self.ack_secret {
            crate::ack::AckSigner::from_secret(secret)
                .map_err(|e| Error::invalid("status ack_secret", inner_message(&e)))?;
        }
        let name = self.admin_token_env.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::invalid(
                "status admin_token_env",
                format!(
                    "`{}` is not an environment variable name (letters, digits, _)",
                    self.admin_token_env
                ),
            ));
        }
        let l = &self.limits;
        if l.max_connections == 0 {
            return Err(Error::invalid(
                "status limits.max_connections",
                "must be at least 1",
            ));
        }
        if l.max_body_bytes < 1024 {
            return Err(Error::invalid(
                "status limits.max_body_bytes",
                "must be at least 1024",
            ));
        }
        if l.request_timeout < Duration::from_millis(100) || l.header_timeout.is_zero() {
            return Err(Error::invalid(
                "status limits",
                "request_timeout must be at least 100ms and header_timeout above 0",
            ));
        }
        Ok(())
    }

    /// The admin API's bearer token from the environment: `None` when the variable is unset
    /// or empty (the API is off), an error when it is too short. The error names the
    /// variable, never the value.
    pub(crate) fn admin_token(&self) -> Result<Option<Vec<u8>>> {
        let name = self.admin_token_env.trim();
        match std::env::var(name) {
            Ok(v) if v.is_empty() => Ok(None),
            Ok(v) if v.len() < MIN_ADMIN_TOKEN_LEN => Err(Error::invalid(
                "admin token",
                format!(
                    "`{name}` must hold at least {MIN_ADMIN_TOKEN_LEN} bytes (it holds {}); use a long random value",
                    v.len()
                ),
            )),
            Ok(v) => Ok(Some(v.into_bytes())),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(Error::invalid(
                "admin token",
                format!("`{name}` is not valid UTF-8"),
            )),
        }
    }
}

fn inner_message(e: &Error) -> String {
    match e {
        Error::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_validation() {
        let c: StatusConfig = toml::from_str("").unwrap();
        c.validate().unwrap();
        assert_eq!(c.listen_addr().unwrap().to_string(), DEFAULT_LISTEN);
        assert!(c.metrics);
        assert_eq!(c.admin_token_env, DEFAULT_ADMIN_TOKEN_ENV);
        assert_eq!(c.limits.max_connections, 256);

        let c: StatusConfig = toml::from_str(
            "listen = \"0.0.0.0:9000\"\n[limits]\nrequest_timeout = \"2s\"\nmax_connections = 8",
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.limits.request_timeout, Duration::from_secs(2));
        assert_eq!(c.limits.max_connections, 8);

        let e = toml::from_str::<StatusConfig>("listn = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `listn`"), "{e}");

        for (toml, what) in [
            ("listen = \"localhost\"", "not an address and port"),
            ("public_url = \"ftp://x\"", "http:// or https://"),
            ("help_dir = \"/nonexistent/help\"", "not a directory"),
            ("ack_secret = \"short\"", "at least 16 bytes"),
            (
                "admin_token_env = \"A-B\"",
                "not an environment variable name",
            ),
            ("[limits]\nmax_connections = 0", "at least 1"),
        ] {
            let c: StatusConfig = toml::from_str(toml).unwrap();
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(what), "{toml}: {e}");
        }
    }

    #[test]
    fn admin_token_errors_name_the_variable_not_the_value() {
        let c = StatusConfig {
            admin_token_env: "FOREWARN_STATUS_UNIT_TOKEN_SHORT".into(),
            ..Default::default()
        };
        assert!(c.admin_token().unwrap().is_none());
        // SAFETY: this variable is only used by this test.
        unsafe { std::env::set_var("FOREWARN_STATUS_UNIT_TOKEN_SHORT", "tiny-secret") };
        let e = c.admin_token().unwrap_err().to_string();
        assert!(e.contains("FOREWARN_STATUS_UNIT_TOKEN_SHORT"), "{e}");
        assert!(!e.contains("tiny-secret"), "{e}");
        unsafe { std::env::set_var("FOREWARN_STATUS_UNIT_TOKEN_SHORT", "a-long-enough-$secret") };
        let t = c.admin_token().unwrap().unwrap();
        assert_eq!(t, b"a-long-enough-$secret");
    }
}
