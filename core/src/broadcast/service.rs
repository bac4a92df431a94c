//! User-facing services: what teachers and office staff call the things that break ("Student
//! Information System", "Printing in Building A"), made of checks and groups, with the impact
//! and workaround told while one is down.
//!
//! ```toml
//! [services.sis]
//! name = "Student Information System"
//! checks = ["sis-web", "sis-db"]
//! groups = ["sis-servers"]
//! down_when = "any"          # "any" (default), "all", or a number: at least that many down
//! impact = "Attendance and grades cannot be entered."
//! workaround = "Take attendance on paper; enter it once we are back."
//! autoreply = true           # its outage switches on the auto-reply and voicemail
//! ```

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
use crate::probe::Status;

/// How many of a service's checks must be down for the service to be down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DownWhen {
    /// Any one of them (the default: a web front end and its database both have to work).
    #[default]
    Any,
    /// All of them (redundant servers: one left is enough).
    All,
    /// At least this many (a pool of access points).
    AtLeast(u32),
}

impl DownWhen {
    /// How many of `members` checks must be down.
    pub fn required(self, members: usize) -> usize {
        match self {
            DownWhen::Any => 1,
            DownWhen::All => members.max(1),
            DownWhen::AtLeast(n) => (n as usize).clamp(1, members.max(1)),
        }
    }
}

impl fmt::Display for DownWhen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownWhen::Any => f.write_str("any"),
            DownWhen::All => f.write_str("all"),
            DownWhen::AtLeast(n) => write!(f, "at least {n}"),
        }
    }
}

impl<'de> Deserialize<'de> for DownWhen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Word(String),
            Count(i64),
        }
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "any" => Ok(DownWhen::Any),
            Raw::Word(w) if w == "all" => Ok(DownWhen::All),
            Raw::Count(n) if (1..=100_000).contains(&n) => Ok(DownWhen::AtLeast(n as u32)),
            Raw::Count(n) => Err(serde::de::Error::custom(format!(
                "down_when = {n}: a count of checks must be at least 1"
            ))),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "down_when = \"{}\": expected \"any\", \"all\" or a number of checks",
                crate::text::printable(&w)
            ))),
        }
    }
}

/// A `[services.KEY]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// The name people know it by ("Student Information System").
    pub name: String,
    /// The checks it is made of, by name.
    #[serde(default)]
    pub checks: Vec<String>,
    /// Groups of checks it is made of (every check of the group).
    #[serde(default)]
    pub groups: Vec<String>,
    /// When it counts as down: "any" (default), "all", or at least N of its checks.
    #[serde(default)]
    pub down_when: DownWhen,
    /// What people cannot do while it is down, in plain words.
    #[serde(default)]
    pub impact: Option<String>,
    /// What to do meanwhile ("print to the library printer").
    #[serde(default)]
    pub workaround: Option<String>,
    /// One line under its name on the status page.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether its outage switches on the out-of-office auto-reply and the voicemail greeting
    /// (`[responders]`).
    #[serde(default)]
    pub autoreply: bool,
}

impl ServiceConfig {
    /// A service called `name` made of `checks` (builder API).
    pub fn new<I, S>(name: impl Into<String>, checks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            name: name.into(),
            checks: checks.into_iter().map(Into::into).collect(),
            groups: Vec::new(),
            down_when: DownWhen::Any,
            impact: None,
            workaround: None,
            description: None,
            autoreply: false,
        }
    }

    /// Sets the impact text.
    pub fn impact(mut self, text: impl Into<String>) -> Self {
        self.impact = Some(text.into());
        self
    }

    /// Sets the workaround text.
    pub fn workaround(mut self, text: impl Into<String>) -> Self {
        self.workaround = Some(text.into());
        self
    }

    /// Sets when it counts as down.
    pub fn down_when(mut self, rule: DownWhen) -> Self {
        self.down_when = rule;
        self
    }

    /// Adds a group of checks.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.groups.push(group.into());
        self
    }

    /// Makes its outage switch on the auto-reply and voicemail.
    pub fn autoreply(mut self, on: bool) -> Self {
        self.autoreply = on;
        self
    }

    /// Checks the values (names against checks are checked when the monitor is built).
    pub fn validate(&self) -> Result<()> {
        if self.name.trim().is_empty() {
            return Err(Error::invalid("name", "must not be empty"));
        }
        if let Some(problem) = crate::config::name_problem(&self.name) {
            return Err(Error::invalid("name", problem));
        }
        if self.checks.is_empty() && self.groups.is_empty() {
            return Err(Error::invalid(
                "checks",
                "a service needs at least one check or group",
            ));
        }
        if let DownWhen::AtLeast(n) = self.down_when
            && self.groups.is_empty()
            && n as usize > self.checks.len()
        {
            return Err(Error::invalid(
                "down_when",
                format!(
                    "at least {n} of {} checks can never be down",
                    self.checks.len()
                ),
            ));
        }
        Ok(())
    }
}

/// Where a service stands, as people see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    /// Working.
    Operational,
    /// Partly failing (some of its checks, or only warnings): it works, perhaps slowly.
    Degraded,
    /// Not working.
    Down,
    /// Switched off on purpose: a maintenance window covers it.
    Maintenance,
}

impl ServiceState {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceState::Operational => "operational",
            ServiceState::Degraded => "degraded",
            ServiceState::Down => "down",
            ServiceState::Maintenance => "maintenance",
        }
    }

    /// How people read it: "Operational", "Degraded performance", "Down", "Under maintenance".
    pub fn label(self) -> &'static str {
        match self {
            ServiceState::Operational => "Operational",
            ServiceState::Degraded => "Degraded performance",
            ServiceState::Down => "Down",
            ServiceState::Maintenance => "Under maintenance",
        }
    }

    /// How bad, for the overall state (the worst of the services).
    pub fn rank(self) -> u8 {
        match self {
            ServiceState::Operational => 0,
            ServiceState::Maintenance => 1,
            ServiceState::Degraded => 2,
            ServiceState::Down => 3,
        }
    }
}

impl fmt::Display for ServiceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One check of a service, as the service's state needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Failing past its threshold (an open incident, or silenced because something it depends on
    /// is down).
    pub down: bool,
    /// Silenced by a maintenance window.
    pub maintenance: bool,
    /// Its latest status.
    pub status: Status,
    /// Since when it is down or in maintenance.
    pub since: Option<DateTime<Utc>>,
}

/// A service's state from its members' (a pure function).
pub fn evaluate(rule: DownWhen, members: &[Member]) -> (ServiceState, Option<DateTime<Utc>>) {
    let required = rule.required(members.len());
    let mut critical: Vec<DateTime<Utc>> = Vec::new();
    let mut failing: Vec<DateTime<Utc>> = Vec::new();
    let mut maintenance: Vec<DateTime<Utc>> = Vec::new();
    let far = DateTime::<Utc>::MAX_UTC;
    for m in members {
        if m.maintenance {
            maintenance.push(m.since.unwrap_or(far));
        } else if m.down {
            failing.push(m.since.unwrap_or(far));
            if m.status != Status::Warning {
                critical.push(m.since.unwrap_or(far));
            }
        }
    }
    // Since the moment the `required`-th member went down.
    let nth = |mut v: Vec<DateTime<Utc>>, n: usize| {
        v.sort();
        v.get(n.saturating_sub(1)).copied().filter(|t| *t != far)
    };
    if !members.is_empty() && critical.len() >= required {
        return (ServiceState::Down, nth(critical, required));
    }
    if !maintenance.is_empty() && failing.len() + maintenance.len() >= required {
        return (ServiceState::Maintenance, nth(maintenance, 1));
    }
    if !failing.is_empty() {
        return (ServiceState::Degraded, nth(failing, 1));
    }
    (ServiceState::Operational, None)
}

/// A service's slug for URLs and JSON: lower-case ASCII letters, digits and dashes.
pub fn slug(key: &str) -> String {
    let mut s = String::with_capacity(key.len());
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    while s.ends_with('-') {
        s.pop();
    }
    if s.is_empty() {
        // Only symbols: a stable id from the key itself.
        use sha2::Digest;
        s = format!(
            "service-{}",
            &hex::encode(sha2::Sha256::digest(key.as_bytes()))[..8]
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(m: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + m * 60, 0).unwrap()
    }

    fn down(m: i64, status: Status) -> Member {
        Member {
            down: true,
            maintenance: false,
            status,
            since: Some(at(m)),
        }
    }

    fn up() -> Member {
        Member {
            down: false,
            maintenance: false,
            status: Status::Ok,
            since: None,
        }
    }

    #[test]
    fn any_all_and_at_least() {
        let two = [down(5, Status::Critical), up()];
        assert_eq!(
            evaluate(DownWhen::Any, &two),
            (ServiceState::Down, Some(at(5)))
        );
        assert_eq!(
            evaluate(DownWhen::All, &two),
            (ServiceState::Degraded, Some(at(5)))
        );
        let both = [down(5, Status::Critical), down(2, Status::Critical)];
        assert_eq!(
            evaluate(DownWhen::All, &both),
            (ServiceState::Down, Some(at(5)))
        );
        let three = [
            down(9, Status::Critical),
            down(3, Status::Critical),
            up(),
            down(7, Status::Critical),
        ];
        // Down since the second one went down.
        assert_eq!(
            evaluate(DownWhen::AtLeast(2), &three),
            (ServiceState::Down, Some(at(7)))
        );
        assert_eq!(
            evaluate(DownWhen::AtLeast(4), &three),
            (ServiceState::Degraded, Some(at(3)))
        );
        assert_eq!(
            evaluate(DownWhen::Any, &[up(), up()]).0,
            ServiceState::Operational
        );
    }

    #[test]
    fn warnings_degrade_and_maintenance_is_not_an_outage() {
        assert_eq!(
            evaluate(DownWhen::Any, &[down(1, Status::Warning)]).0,
            ServiceState::Degraded
        );
        let m = Member {
            down: false,
            maintenance: true,
            status: Status::Critical,
            since: Some(at(4)),
        };
        assert_eq!(
            evaluate(DownWhen::Any, &[m.clone(), up()]),
            (ServiceState::Maintenance, Some(at(4)))
        );
        // A real failure elsewhere still counts as down.
        assert_eq!(
            evaluate(DownWhen::Any, &[m, down(6, Status::Critical)]).0,
            ServiceState::Down
        );
    }

    #[test]
    fn down_when_reads_words_and_numbers() {
        #[derive(Deserialize)]
        struct T {
            down_when: DownWhen,
        }
        let p = |s: &str| toml::from_str::<T>(s).map(|t| t.down_when);
        assert_eq!(p("down_when = \"all\"").unwrap(), DownWhen::All);
        assert_eq!(p("down_when = 3").unwrap(), DownWhen::AtLeast(3));
        assert!(
            p("down_when = 0")
                .unwrap_err()
                .to_string()
                .contains("at least 1")
        );
        assert!(
            p("down_when = \"most\"")
                .unwrap_err()
                .to_string()
                .contains("expected \"any\", \"all\"")
        );
    }

    #[test]
    fn slugs_are_url_safe_and_stable() {
        assert_eq!(slug("Printing in Building A"), "printing-in-building-a");
        assert_eq!(slug("sis"), "sis");
        assert_eq!(slug("<script>"), "script");
        assert!(slug("!!!").starts_with("service-"));
        assert_eq!(slug("!!!"), slug("!!!"));
    }
}
