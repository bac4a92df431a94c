//! Time as a dependency: the state machine and escalation read a [`Clock`], so tests drive them
//! with virtual time instead of sleeping.

use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

/// A source of wall-clock time.
pub trait Clock: Send + Sync + Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to; cheap to clone, clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: std::time::Duration) {
        let by = chrono::Duration::from_std(by).expect("duration in range");
        *self.now.lock() += by;
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock() = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock()
    }
}

/// A shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// The district's time zone: every time shown to a person (console, e-mail, reports) is in
/// it; stored and machine-readable times stay UTC. Set by `[monitor] time_zone`; by default
/// the system's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(chrono_tz::Tz);

impl Zone {
    /// The system's time zone (`TZ`, or the one the system is set to), UTC if it cannot be
    /// told.
    pub fn system() -> Self {
        std::env::var("TZ")
            .ok()
            .map(|tz| tz.trim_start_matches(':').to_owned())
            .and_then(|tz| tz.parse().ok())
            .or_else(|| {
                iana_time_zone::get_timezone()
                    .ok()
                    .and_then(|n| n.parse().ok())
            })
            .map_or(Zone(chrono_tz::Tz::UTC), Zone)
    }

    /// The zone of an IANA name ("Europe/Berlin", "America/New_York", "UTC").
    pub fn named(name: &str) -> crate::Result<Self> {
        name.trim().parse().map(Zone).map_err(|_| {
            crate::Error::invalid(
                "time_zone",
                format!("`{name}` is not an IANA time zone (try \"Europe/Berlin\")"),
            )
        })
    }

    /// The zone itself.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }

    /// `t` in this zone, written with `fmt` (chrono's `%` codes; `%Z` is the zone's
    /// abbreviation, "CET").
    pub fn format(&self, t: DateTime<Utc>, fmt: &str) -> String {
        t.with_timezone(&self.0).format(fmt).to_string()
    }

    /// `t` as people read it: "2026-12-05 09:15 CET".
    pub fn minute(&self, t: DateTime<Utc>) -> String {
        self.format(t, "%Y-%m-%d %H:%M %Z")
    }

    /// A wall-clock time of this zone as a time with its UTC offset: the earlier of the two
    /// when the clocks go back, the time an hour later when it falls in the gap of clocks going
    /// forward (read as UTC if even that does not exist).
    pub fn local(&self, t: chrono::NaiveDateTime) -> DateTime<chrono::FixedOffset> {
        use chrono::TimeZone;
        let tz = self.0;
        tz.from_local_datetime(&t)
            .earliest()
            .or_else(|| {
                tz.from_local_datetime(&(t + chrono::Duration::hours(1)))
                    .earliest()
            })
            .unwrap_or_else(|| tz.from_utc_datetime(&t))
            .fixed_offset()
    }
}

#[cfg(test)]
mod zone_tests {
    use super::*;

    #[test]
    fn named_zones_format_local_time_with_their_abbreviation() {
        let z = Zone::named("Europe/Berlin").unwrap();
        let t = DateTime::parse_from_rfc3339("2026-12-05T08:15:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(z.minute(t), "2026-12-05 09:15 CET");
        assert!(Zone::named("Mars/Olympus").is_err());
        // Whatever the system says, a zone comes out.
        let _ = Zone::system().minute(t);
    }

    #[test]
    fn wall_clock_times_get_the_offset_in_force_even_around_clock_changes() {
        let z = Zone::named("America/Chicago").unwrap();
        let at = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(
            z.local(at("2024-01-10 07:00")).to_rfc3339(),
            "2024-01-10T07:00:00-06:00"
        );
        // 01:30 happens twice on 3 November 2024: the first (daylight time).
        assert_eq!(
            z.local(at("2024-11-03 01:30")).to_rfc3339(),
            "2024-11-03T01:30:00-05:00"
        );
        // 02:30 does not happen on 10 March 2024: an hour later.
        assert_eq!(
            z.local(at("2024-03-10 02:30")).to_rfc3339(),
            "2024-03-10T03:30:00-05:00"
        );
    }
}
