//! Audiences: the people told of outages in plain words (teachers, office staff, principals,
//! parents), through which sinks, about which services.
//!
//! ```toml
//! [broadcasts]
//! delay = "5m"            # no broadcast for a shorter outage (ICT is alerted at once anyway)
//! hold = "10m"            # "fixed" once it has stayed up this long
//! update_every = "1h"     # a "still working on it" when nothing else was said for this long
//! status_url = "https://status.district.example/"
//! district = "Springfield Public Schools"
//!
//! [audiences.teachers]
//! name = "Teachers"
//! sinks = ["teachers-list"]
//! services = ["sis", "printing-a"]   # or ["*"]: every service
//! delay = "10m"                      # this audience's own delay
//! maintenance_lead = "2d"            # planned maintenance announced this long ahead
//! language = "en"
//! templates = "templates/teachers"   # own wording: DIR/KIND[.LANG].{subject,txt,html}
//! ```

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The `[broadcasts]` section: settings every audience shares.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BroadcastSettings {
    /// How long a service must be down before anyone outside ICT is told (default 5 min): a
    /// 30-second blip sends nothing. The auto-reply and voicemail switch on after it too.
    #[serde(default = "default_delay", with = "crate::config::duration")]
    pub delay: Duration,
    /// How long a service must stay back before "fixed" is sent (default 10 min); down again
    /// within it, the same outage goes on.
    #[serde(default = "default_hold", with = "crate::config::duration")]
    pub hold: Duration,
    /// When nothing else was said for this long during an outage, a "still working on it"
    /// update goes out (default 1 h); the "we know" message names the time.
    #[serde(default = "default_update_every", with = "crate::config::duration")]
    pub update_every: Duration,
    /// The status page's public address, linked in messages.
    #[serde(default)]
    pub status_url: Option<String>,
    /// The district's name, as messages sign off.
    #[serde(default)]
    pub district: Option<String>,
    /// A folder of templates overriding the built-in wording for every audience.
    #[serde(default)]
    pub templates: Option<PathBuf>,
}

fn default_delay() -> Duration {
    Duration::from_secs(300)
}

fn default_hold() -> Duration {
    Duration::from_secs(600)
}

fn default_update_every() -> Duration {
    Duration::from_secs(3600)
}

fn default_lead() -> Duration {
    Duration::from_secs(2 * 86_400)
}

impl Default for BroadcastSettings {
    fn default() -> Self {
        Self {
            delay: default_delay(),
            hold: default_hold(),
            update_every: default_update_every(),
            status_url: None,
            district: None,
            templates: None,
        }
    }
}

impl BroadcastSettings {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        if self.hold > Duration::from_secs(86_400) {
            return Err(Error::invalid("hold", "must be at most 1 day"));
        }
        if self.delay > Duration::from_secs(86_400) {
            return Err(Error::invalid("delay", "must be at most 1 day"));
        }
        if self.update_every < Duration::from_secs(60) {
            return Err(Error::invalid("update_every", "must be at least 1m"));
        }
        if let Some(u) = &self.status_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(Error::invalid(
                "status_url",
                "must be an http:// or https:// address",
            ));
        }
        Ok(())
    }
}

/// An `[audiences.KEY]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudienceConfig {
    /// What they are called ("Teachers").
    pub name: String,
    /// The sinks that reach them (an e-mail list, a chat space), by name.
    pub sinks: Vec<String>,
    /// The services they are told about, by key; `["*"]` for every service.
    pub services: Vec<String>,
    /// Their own delay before "we know" (default: `[broadcasts] delay`).
    #[serde(default, with = "crate::config::opt_duration")]
    pub delay: Option<Duration>,
    /// How long ahead planned maintenance is announced to them (default 2 days).
    #[serde(default = "default_lead", with = "crate::config::duration")]
    pub maintenance_lead: Duration,
    /// The language of their messages ("en", "es", …): templates named `KIND.LANG.*` are used
    /// when present.
    #[serde(default)]
    pub language: Option<String>,
    /// A folder of templates overriding the wording for them.
    #[serde(default)]
    pub templates: Option<PathBuf>,
}

impl AudienceConfig {
    /// An audience called `name` reached through `sinks`, told about `services` (builder API).
    pub fn new<I, S, J, T>(name: impl Into<String>, sinks: I, services: J) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
        J: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Self {
            name: name.into(),
            sinks: sinks.into_iter().map(Into::into).collect(),
            services: services.into_iter().map(Into::into).collect(),
            delay: None,
            maintenance_lead: default_lead(),
            language: None,
            templates: None,
        }
    }

    /// Sets their own delay.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Whether they care about the service `key`.
    pub fn cares_about(&self, key: &str) -> bool {
        self.services.iter().any(|s| s == "*" || s == key)
    }

    /// Checks the values (sink and service names are checked when the monitor is built).
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("name", "must not be empty"));
        }
        if let Some(problem) = crate::config::name_problem(&self.name) {
            return Err(Error::invalid("name", problem));
        }
        if self.sinks.is_empty() {
            return Err(Error::invalid("sinks", "names no sink"));
        }
        if self.services.is_empty() {
            return Err(Error::invalid(
                "services",
                "names no service (use [\"*\"] for all)",
            ));
        }
        if self.delay.is_some_and(|d| d > Duration::from_secs(86_400)) {
            return Err(Error::invalid("delay", "must be at most 1 day"));
        }
        if self.maintenance_lead > Duration::from_secs(90 * 86_400) {
            return Err(Error::invalid(
                "maintenance_lead",
                "must be at most 90 days",
            ));
        }
        if let Some(l) = &self.language
            && (l.is_empty()
                || l.len() > 16
                || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        {
            return Err(Error::invalid(
                "language",
                "must be a language tag such as \"en\" or \"es-MX\"",
            ));
        }
        Ok(())
    }
}
