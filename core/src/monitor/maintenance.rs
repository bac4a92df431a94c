//! Maintenance windows: one-off or weekly, in a time zone.
//!
//! A window silences notifications, not observations: checks keep being probed and their
//! history recorded, but a failure reaching its threshold inside a window is suppressed
//! ([`Suppression::Maintenance`]) instead of opening an incident.
//!
//! ```toml
//! [[maintenance]]
//! name = "nightly backups"
//! groups = ["storage"]
//! days = ["mon", "tue", "wed", "thu", "fri"]
//! from = "22:00"
//! to = "02:00"          # earlier than `from`: ends the next day
//! timezone = "America/New_York"
//!
//! [[maintenance]]
//! name = "printer firmware"
//! checks = ["printer-library"]
//! start = "2026-09-12 07:00"
//! end = "2026-09-12T13:00:00Z"
//! ```

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::monitor::state::Suppression;

/// A maintenance window as written in the configuration.
///
/// Either one-off (`start` + `end`) or weekly (`days` + `from` + `to`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceConfig {
    /// The window's name, shown in suppressed incidents and on the status page.
    pub name: String,
    /// Names of the checks it silences. With `groups` also empty, it silences every check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
    /// Groups whose checks it silences. With `checks` also empty, it silences every check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// One-off window: when it starts, RFC 3339 (`2026-09-12T07:00:00-04:00`) or
    /// `YYYY-MM-DD HH:MM` in `timezone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// One-off window: when it ends (exclusive), in the same formats as `start`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Weekly window: the days it starts on (`mon` … `sun` or full names, any case).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<String>,
    /// Weekly window: the local time it starts at, `HH:MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Weekly window: the local time it ends at, `HH:MM` (exclusive). Earlier than `from`, it
    /// ends the next day; equal to `from`, the window lasts a whole day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// IANA time zone for local times (`Europe/Berlin`); default: the district's
    /// (`[monitor] time_zone`) when read from a config, else `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Whether audiences are told of it ahead, at its start and at its end (default: yes for a
    /// one-off window, no for a weekly one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce: Option<bool>,
    /// More words for people, in announcements and on the status page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl MaintenanceConfig {
    /// Validates the configuration and builds the window.
    ///
    /// Errors are [`Error::Invalid`] naming the offending field and value.
    pub fn build(&self) -> Result<MaintenanceWindow> {
        self.build_in(Tz::UTC)
    }

    /// Like [`MaintenanceConfig::build`], local times without a `timezone` being in `zone`
    /// (the district's).
    pub fn build_in(&self, zone: Tz) -> Result<MaintenanceWindow> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(Error::invalid(
                "name",
                "a maintenance window needs a non-empty name",
            ));
        }
        let ctx = |msg: String| format!("maintenance `{name}`: {msg}");

        let tz_name = self.timezone.as_deref().unwrap_or(zone.name()).trim();
        let tz: Tz = tz_name.parse().map_err(|_| {
            Error::invalid(
                "timezone",
                ctx(format!(
                    "unknown time zone `{tz_name}` (use an IANA name like \"America/New_York\")"
                )),
            )
        })?;

        let one_off = self.start.is_some() || self.end.is_some();
        let weekly = !self.days.is_empty() || self.from.is_some() || self.to.is_some();
        const KINDS: &str = "give either `start` and `end` (one-off) or `days`, `from` and `to` \
                             (weekly)";
        let schedule = match (one_off, weekly) {
            (true, true) => {
                return Err(Error::invalid("start", ctx(format!("{KINDS}, not both"))));
            }
            (false, false) => return Err(Error::invalid("start", ctx(KINDS.to_string()))),
            (true, false) => {
                let (Some(start), Some(end)) = (&self.start, &self.end) else {
                    let missing = if self.start.is_none() { "start" } else { "end" };
                    return Err(Error::invalid(
                        missing,
                        ctx(format!(
                            "a one-off window needs both `start` and `end`; `{missing}` is missing"
                        )),
                    ));
                };
                let start_at = parse_instant(start, tz)
                    .ok_or_else(|| Error::invalid("start", ctx(bad_instant(start))))?;
                let end_at = parse_instant(end, tz)
                    .ok_or_else(|| Error::invalid("end", ctx(bad_instant(end))))?;
                if end_at <= start_at {
                    // Read back in the window's own zone, as it was written.
                    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z");
                    return Err(Error::invalid(
                        "end",
                        ctx(format!(
                            "end `{end}` ({}) is not after start `{start}` ({})",
                            local(end_at),
                            local(start_at)
                        )),
                    ));
                }
                Schedule::OneOff {
                    start: start_at,
                    end: end_at,
                }
            }
            (false, true) => {
                if self.days.is_empty() {
                    return Err(Error::invalid(
                        "days",
                        ctx("a weekly window needs `days`".to_string()),
                    ));
                }
                let mut days = [false; 7];
                for day in &self.days {
                    let d = parse_day(day).ok_or_else(|| {
                        Error::invalid(
                            "days",
                            ctx(format!(
                                "`{day}` is not a day (use mon, tue, wed, thu, fri, sat, sun)"
                            )),
                        )
                    })?;
                    days[d.num_days_from_monday() as usize] = true;
                }
                let from = parse_clock("from", self.from.as_deref(), &ctx)?;
                let to = parse_clock("to", self.to.as_deref(), &ctx)?;
                Schedule::Weekly { tz, days, from, to }
            }
        };

        let announce = self
            .announce
            .unwrap_or(matches!(schedule, Schedule::OneOff { .. }));
        Ok(MaintenanceWindow {
            name: name.to_string(),
            checks: self.checks.clone(),
            groups: self.groups.clone(),
            schedule,
            announce,
            description: self.description.clone(),
            id: None,
            services: Vec::new(),
        })
    }
}

/// A maintenance window, validated and ready to be asked whether it is active.
#[derive(Debug, Clone)]
pub struct MaintenanceWindow {
    name: String,
    checks: Vec<String>,
    groups: Vec<String>,
    schedule: Schedule,
    announce: bool,
    description: Option<String>,
    /// The id of maintenance planned at run time.
    id: Option<String>,
    /// The services planned maintenance names.
    services: Vec<String>,
}

#[derive(Debug, Clone)]
enum Schedule {
    OneOff {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    Weekly {
        tz: Tz,
        /// Indexed by days from Monday.
        days: [bool; 7],
        from: NaiveTime,
        to: NaiveTime,
    },
}

impl MaintenanceWindow {
    /// The window of maintenance planned at run time, silencing `checks` (its services'),
    /// announced to audiences.
    pub fn planned(plan: &crate::broadcast::PlannedMaintenance, checks: Vec<String>) -> Self {
        MaintenanceWindow {
            name: plan.title.clone(),
            // A window naming no check silences every check: one that names none silences none.
            checks: if checks.is_empty() {
                vec![String::new()]
            } else {
                checks
            },
            groups: Vec::new(),
            schedule: Schedule::OneOff {
                start: plan.starts_at,
                end: plan.ends_at,
            },
            announce: true,
            description: plan.description.clone(),
            id: Some(plan.id.clone()),
            services: plan.services.clone(),
        }
    }

    /// The window's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether audiences are told of it.
    pub fn announce(&self) -> bool {
        self.announce
    }

    /// Its description for people.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The id of maintenance planned at run time.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The services planned maintenance names (empty for a window from the config, which
    /// names checks and groups).
    pub fn services(&self) -> &[String] {
        &self.services
    }

    /// Its occurrences `(start, end)` that overlap `[from, until)`, in order.
    pub fn occurrences(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        match &self.schedule {
            Schedule::OneOff { start, end } => {
                if *start < until && *end > from {
                    vec![(*start, *end)]
                } else {
                    Vec::new()
                }
            }
            Schedule::Weekly { tz, .. } => {
                let first = from.with_timezone(tz).date_naive() - TimeDelta::days(2);
                let days = (until - from).num_days().clamp(0, 400) + 3;
                (0..=days)
                    .filter_map(|d| self.occurrence(first + TimeDelta::days(d)))
                    .filter(|(s, e)| *s < until && *e > from)
                    .collect()
            }
        }
    }

    /// The suppression reason this window gives the checks it silences.
    pub fn suppression(&self) -> Suppression {
        Suppression::Maintenance {
            window: self.name.clone(),
        }
    }

    /// Whether the window silences `check` (in `group`, if it has one).
    pub fn applies_to(&self, check: &str, group: Option<&str>) -> bool {
        (self.checks.is_empty() && self.groups.is_empty())
            || self.checks.iter().any(|c| c == check)
            || group.is_some_and(|g| self.groups.iter().any(|x| x == g))
    }

    /// Whether the window is active at `now` (start inclusive, end exclusive).
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        match &self.schedule {
            Schedule::OneOff { start, end } => *start <= now && now < *end,
            Schedule::Weekly { tz, .. } => {
                let today = now.with_timezone(tz).date_naive();
                // An occurrence lasts at most until `to` on the day after it starts.
                (-2..=0).any(|offset| {
                    self.occurrence(today + TimeDelta::days(offset))
                        .is_some_and(|(start, end)| start <= now && now < end)
                })
            }
        }
    }

    /// The next instant after `now` when the window starts or ends, so the monitor can
    /// re-evaluate exactly then. `None` when it never changes again (a one-off window that is
    /// over, or a weekly window that never ends).
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.schedule {
            Schedule::OneOff { start, end } => {
                if now < *start {
                    Some(*start)
                } else if now < *end {
                    Some(*end)
                } else {
                    None
                }
            }
            Schedule::Weekly { tz, .. } => {
                let today = now.with_timezone(tz).date_naive();
                let mut bounds: Vec<DateTime<Utc>> = (-2..=8)
                    .filter_map(|offset| self.occurrence(today + TimeDelta::days(offset)))
                    .flat_map(|(start, end)| [start, end])
                    .filter(|&t| t > now)
                    .collect();
                bounds.sort_unstable();
                bounds.dedup();
                // Back-to-back occurrences (a whole-day window on consecutive days) meet
                // without a change: skip to the bound where the state really flips.
                let active = self.is_active(now);
                bounds.into_iter().find(|&t| self.is_active(t) != active)
            }
        }
    }

    /// The occurrence of a weekly window starting on local date `date`, as UTC instants.
    fn occurrence(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let Schedule::Weekly { tz, days, from, to } = &self.schedule else {
            return None;
        };
        if !days[date.weekday().num_days_from_monday() as usize] {
            return None;
        }
        let end_date = if to <= from { date.succ_opt()? } else { date };
        let start = to_utc(tz, date.and_time(*from));
        let end = to_utc(tz, end_date.and_time(*to));
        (start < end).then_some((start, end))
    }
}

/// Local time to UTC: the earlier instant when the local time happens twice (clocks turned
/// back), the first valid instant after the gap when it does not happen at all (clocks turned
/// forward: 02:30 on a spring-forward day means the moment clocks jumped, 03:00).
fn to_utc(tz: &Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.with_timezone(&Utc).min(b.with_timezone(&Utc)),
        LocalResult::None => end_of_gap(tz, local),
    }
}

/// The first instant whose local time is at or after `local`, which falls in a gap.
fn end_of_gap(tz: &Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let naive_utc = local.and_utc();
    let offset_at = |t: DateTime<Utc>| {
        TimeDelta::seconds(i64::from(
            tz.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc(),
        ))
    };
    // The same wall time read with the offsets on either side of the gap brackets the jump.
    let a = naive_utc - offset_at(naive_utc - TimeDelta::days(1));
    let b = naive_utc - offset_at(naive_utc + TimeDelta::days(1));
    let (mut lo, mut hi) = (a.min(b), a.max(b));
    let local_at = |t: DateTime<Utc>| t.with_timezone(tz).naive_local();
    if local_at(lo) >= local {
        return lo;
    }
    if local_at(hi) < local {
        return hi;
    }
    // Invariant: local(lo) < local <= local(hi). Transitions fall on whole seconds.
    while hi - lo > TimeDelta::seconds(1) {
        let mid = lo + TimeDelta::seconds((hi - lo).num_seconds() / 2);
        if local_at(mid) >= local {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// An instant written as RFC 3339 or `YYYY-MM-DD HH:MM` in `tz` (as maintenance windows take them).
pub fn parse_instant(value: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let value = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ]
    .iter()
    .find_map(|fmt| NaiveDateTime::parse_from_str(value, fmt).ok())
    .map(|local| to_utc(&tz, local))
}

fn bad_instant(value: &str) -> String {
    format!(
        "`{value}` is not a time (use RFC 3339 like \"2026-09-12T07:00:00-04:00\" or \
         \"YYYY-MM-DD HH:MM\" in the window's timezone)"
    )
}

fn parse_clock(
    field: &str,
    value: Option<&str>,
    ctx: &dyn Fn(String) -> String,
) -> Result<NaiveTime> {
    let Some(value) = value else {
        return Err(Error::invalid(
            field,
            ctx(format!(
                "a weekly window needs `from` and `to`; `{field}` is missing"
            )),
        ));
    };
    NaiveTime::parse_from_str(value.trim(), "%H:%M").map_err(|_| {
        Error::invalid(
            field,
            ctx(format!(
                "`{value}` is not a time of day (use HH:MM, like 22:30)"
            )),
        )
    })
}

fn parse_day(day: &str) -> Option<Weekday> {
    Some(match day.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn weekly(days: &[&str], from: &str, to: &str, tz: Option<&str>) -> MaintenanceConfig {
        MaintenanceConfig {
            name: "w".into(),
            checks: vec![],
            groups: vec![],
            start: None,
            end: None,
            days: days.iter().map(|d| d.to_string()).collect(),
            from: Some(from.into()),
            to: Some(to.into()),
            timezone: tz.map(str::to_string),
            announce: None,
            description: None,
        }
    }

    fn one_off(start: &str, end: &str, tz: Option<&str>) -> MaintenanceConfig {
        MaintenanceConfig {
            start: Some(start.into()),
            end: Some(end.into()),
            days: vec![],
            from: None,
            to: None,
            ..weekly(&[], "", "", tz)
        }
    }

    fn invalid(config: &MaintenanceConfig) -> (String, String) {
        match config.build().unwrap_err() {
            Error::Invalid { what, message } => (what, message),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn one_off_window() {
        let w = one_off("2026-09-12T07:00:00-04:00", "2026-09-12T13:00:00Z", None)
            .build()
            .unwrap();
        assert_eq!(w.name(), "w");
        let start = utc(2026, 9, 12, 11, 0);
        let end = utc(2026, 9, 12, 13, 0);
        assert!(!w.is_active(start - TimeDelta::seconds(1)));
        assert!(w.is_active(start), "start is inclusive");
        assert!(w.is_active(end - TimeDelta::seconds(1)));
        assert!(!w.is_active(end), "end is exclusive");
        assert_eq!(w.next_change(utc(2026, 9, 1, 0, 0)), Some(start));
        assert_eq!(w.next_change(start), Some(end));
        assert_eq!(w.next_change(utc(2026, 9, 12, 12, 0)), Some(end));
        assert_eq!(w.next_change(end), None);
    }

    #[test]
    fn one_off_in_local_time() {
        // Berlin is UTC+2 in September.
        let w = one_off(
            "2026-09-12 07:00",
            "2026-09-12 09:30",
            Some("Europe/Berlin"),
        )
        .build()
        .unwrap();
        assert!(!w.is_active(utc(2026, 9, 12, 4, 59)));
        assert!(w.is_active(utc(2026, 9, 12, 5, 0)));
        assert!(!w.is_active(utc(2026, 9, 12, 7, 30)));
        assert_eq!(
            w.next_change(utc(2026, 9, 12, 6, 0)),
            Some(utc(2026, 9, 12, 7, 30))
        );
    }

    #[test]
    fn end_before_start_is_shown_in_the_windows_zone() {
        let (what, message) = invalid(&one_off(
            "2026-09-12 09:30",
            "2026-09-12 07:00",
            Some("America/Chicago"),
        ));
        assert_eq!(what, "end");
        assert!(
            message.contains("(2026-09-12 07:00 CDT) is not after start `2026-09-12 09:30` (2026-09-12 09:30 CDT)"),
            "{message}"
        );
    }

    #[test]
    fn weekly_window() {
        let w = weekly(&["Tue", "THURSDAY"], "18:00", "20:00", None)
            .build()
            .unwrap();
        // 2026-09-01 is a Tuesday.
        assert!(!w.is_active(utc(2026, 9, 1, 17, 59)));
        assert!(w.is_active(utc(2026, 9, 1, 18, 0)));
        assert!(w.is_active(utc(2026, 9, 1, 19, 59)));
        assert!(!w.is_active(utc(2026, 9, 1, 20, 0)));
        assert!(!w.is_active(utc(2026, 9, 2, 19, 0)), "Wednesday");
        assert!(w.is_active(utc(2026, 9, 3, 19, 0)), "Thursday");
        assert!(w.is_active(utc(2026, 9, 8, 19, 0)), "next Tuesday");
    }

    #[test]
    fn weekly_next_change() {
        let w = weekly(&["tue", "thu"], "18:00", "20:00", None)
            .build()
            .unwrap();
        assert_eq!(
            w.next_change(utc(2026, 9, 1, 12, 0)),
            Some(utc(2026, 9, 1, 18, 0))
        );
        assert_eq!(
            w.next_change(utc(2026, 9, 1, 18, 0)),
            Some(utc(2026, 9, 1, 20, 0))
        );
        assert_eq!(
            w.next_change(utc(2026, 9, 1, 20, 0)),
            Some(utc(2026, 9, 3, 18, 0))
        );
        // Friday: the next start is the following Tuesday.
        assert_eq!(
            w.next_change(utc(2026, 9, 4, 9, 0)),
            Some(utc(2026, 9, 8, 18, 0))
        );
        // One day a week, asked just after it ended: a week ahead.
        let w = weekly(&["sun"], "01:00", "02:00", None).build().unwrap();
        assert_eq!(
            w.next_change(utc(2026, 9, 6, 2, 0)),
            Some(utc(2026, 9, 13, 1, 0))
        );
    }

    #[test]
    fn wraps_past_midnight() {
        let w = weekly(&["fri"], "22:00", "02:00", None).build().unwrap();
        // 2026-09-04 is a Friday.
        assert!(!w.is_active(utc(2026, 9, 4, 21, 59)));
        assert!(w.is_active(utc(2026, 9, 4, 22, 0)));
        assert!(w.is_active(utc(2026, 9, 5, 0, 0)), "Saturday midnight");
        assert!(w.is_active(utc(2026, 9, 5, 1, 0)), "Saturday 01:00");
        assert!(!w.is_active(utc(2026, 9, 5, 2, 0)));
        assert!(!w.is_active(utc(2026, 9, 5, 23, 0)), "Saturday night");
        assert!(!w.is_active(utc(2026, 9, 4, 1, 0)), "Friday early morning");
        assert_eq!(
            w.next_change(utc(2026, 9, 5, 1, 0)),
            Some(utc(2026, 9, 5, 2, 0))
        );
        assert_eq!(
            w.next_change(utc(2026, 9, 5, 2, 0)),
            Some(utc(2026, 9, 11, 22, 0))
        );
    }

    #[test]
    fn wraps_past_midnight_in_a_time_zone() {
        // Friday 22:00–02:00 in Tokyo (UTC+9) is Friday 13:00–17:00 UTC.
        let w = weekly(&["friday"], "22:00", "02:00", Some("Asia/Tokyo"))
            .build()
            .unwrap();
        assert!(
            w.is_active(utc(2026, 9, 4, 16, 0)),
            "Saturday 01:00 in Tokyo"
        );
        assert!(!w.is_active(utc(2026, 9, 4, 17, 0)));
        assert!(!w.is_active(utc(2026, 9, 4, 12, 59)));
    }

    #[test]
    fn whole_days_merge() {
        // from == to: a whole day. Monday and Tuesday back to back are one stretch.
        let w = weekly(&["mon", "tue"], "00:00", "00:00", None)
            .build()
            .unwrap();
        // 2026-08-31 is a Monday.
        assert!(w.is_active(utc(2026, 8, 31, 0, 0)));
        assert!(w.is_active(utc(2026, 9, 1, 0, 0)));
        assert!(w.is_active(utc(2026, 9, 1, 23, 59)));
        assert!(!w.is_active(utc(2026, 9, 2, 0, 0)));
        assert_eq!(
            w.next_change(utc(2026, 8, 31, 10, 0)),
            Some(utc(2026, 9, 2, 0, 0)),
            "Tuesday 00:00 is no change"
        );
        let always = weekly(
            &["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "06:00",
            "06:00",
            None,
        )
        .build()
        .unwrap();
        assert!(always.is_active(utc(2026, 9, 3, 6, 0)));
        assert_eq!(always.next_change(utc(2026, 9, 3, 6, 0)), None);
    }

    #[test]
    fn spring_forward_in_new_york() {
        // 2026-03-08: clocks go from 02:00 EST to 03:00 EDT. 02:00 does not exist that day:
        // the window starts when the clocks jump (07:00 UTC) and ends at 04:00 EDT (08:00 UTC).
        let w = weekly(&["sun"], "02:00", "04:00", Some("America/New_York"))
            .build()
            .unwrap();
        assert!(!w.is_active(utc(2026, 3, 8, 6, 59)), "01:59 EST");
        assert!(w.is_active(utc(2026, 3, 8, 7, 0)), "03:00 EDT");
        assert!(w.is_active(utc(2026, 3, 8, 7, 59)));
        assert!(!w.is_active(utc(2026, 3, 8, 8, 0)), "04:00 EDT");
        assert_eq!(
            w.next_change(utc(2026, 3, 8, 5, 0)),
            Some(utc(2026, 3, 8, 7, 0))
        );
        assert_eq!(
            w.next_change(utc(2026, 3, 8, 7, 0)),
            Some(utc(2026, 3, 8, 8, 0))
        );
        // The Sunday before, in winter time: 07:00–09:00 UTC.
        assert!(w.is_active(utc(2026, 3, 1, 8, 30)));
        assert!(!w.is_active(utc(2026, 3, 1, 9, 0)));
        // The Sunday after, in summer time: 06:00–08:00 UTC.
        assert!(w.is_active(utc(2026, 3, 15, 6, 0)));
        assert!(!w.is_active(utc(2026, 3, 15, 8, 0)));
        // One-off times in the gap resolve the same way.
        let once = one_off(
            "2026-03-08 02:30",
            "2026-03-08 05:00",
            Some("America/New_York"),
        )
        .build()
        .unwrap();
        assert_eq!(
            once.next_change(utc(2026, 3, 8, 0, 0)),
            Some(utc(2026, 3, 8, 7, 0))
        );
    }

    #[test]
    fn fall_back_in_new_york() {
        // 2026-11-01: clocks go from 02:00 EDT back to 01:00 EST; 01:00–02:00 happens twice.
        // The window starts at the first 01:00 (05:00 UTC) and ends at 03:00 EST (08:00 UTC).
        let w = weekly(&["sun"], "01:00", "03:00", Some("America/New_York"))
            .build()
            .unwrap();
        assert!(!w.is_active(utc(2026, 11, 1, 4, 59)));
        assert!(w.is_active(utc(2026, 11, 1, 5, 0)));
        assert!(w.is_active(utc(2026, 11, 1, 6, 30)), "the second 01:30");
        assert!(w.is_active(utc(2026, 11, 1, 7, 59)));
        assert!(!w.is_active(utc(2026, 11, 1, 8, 0)));
        assert_eq!(
            w.next_change(utc(2026, 11, 1, 5, 0)),
            Some(utc(2026, 11, 1, 8, 0))
        );
    }

    #[test]
    fn applies_to() {
        let everything = weekly(&["mon"], "01:00", "02:00", None).build().unwrap();
        assert!(everything.applies_to("anything", None));
        assert!(everything.applies_to("anything", Some("any")));

        let mut c = weekly(&["mon"], "01:00", "02:00", None);
        c.checks = vec!["printer-library".into()];
        c.groups = vec!["storage".into()];
        let w = c.build().unwrap();
        assert!(w.applies_to("printer-library", None));
        assert!(w.applies_to("printer-library", Some("printers")));
        assert!(w.applies_to("nas", Some("storage")));
        assert!(!w.applies_to("nas", None));
        assert!(!w.applies_to("nas", Some("network")));
        assert!(!w.applies_to("printer-gym", Some("printers")));
        assert_eq!(
            w.suppression(),
            Suppression::Maintenance { window: "w".into() }
        );
    }

    #[test]
    fn validation_errors() {
        let (what, msg) = invalid(&weekly(&["mon"], "01:00", "02:00", Some("Mars/Olympus")));
        assert_eq!(what, "timezone");
        assert!(msg.contains("`Mars/Olympus`"), "{msg}");

        let (what, msg) = invalid(&weekly(&["mon", "funday"], "01:00", "02:00", None));
        assert_eq!(what, "days");
        assert!(msg.contains("`funday`"), "{msg}");

        let (what, msg) = invalid(&weekly(&["mon"], "25:00", "02:00", None));
        assert_eq!(what, "from");
        assert!(msg.contains("`25:00`"), "{msg}");

        let (what, msg) = invalid(&weekly(&["mon"], "01:00", "2pm", None));
        assert_eq!(what, "to");
        assert!(msg.contains("`2pm`"), "{msg}");

        let mut c = weekly(&["mon"], "01:00", "02:00", None);
        c.to = None;
        assert_eq!(invalid(&c).0, "to");

        let (what, _) = invalid(&weekly(&[], "01:00", "02:00", None));
        assert_eq!(what, "days");

        let (what, msg) = invalid(&one_off("2026-09-12 10:00", "2026-09-12 09:00", None));
        assert_eq!(what, "end");
        assert!(msg.contains("2026-09-12 09:00"), "{msg}");
        assert_eq!(
            invalid(&one_off("2026-09-12 10:00", "2026-09-12 10:00", None)).0,
            "end",
            "empty window"
        );

        let (what, msg) = invalid(&one_off("next tuesday", "2026-09-12 09:00", None));
        assert_eq!(what, "start");
        assert!(msg.contains("`next tuesday`"), "{msg}");

        let mut c = one_off("2026-09-12 08:00", "2026-09-12 09:00", None);
        c.end = None;
        assert_eq!(invalid(&c).0, "end");

        let mut both = one_off("2026-09-12 08:00", "2026-09-12 09:00", None);
        both.days = vec!["mon".into()];
        let (_, msg) = invalid(&both);
        assert!(msg.contains("not both"), "{msg}");

        let mut neither = one_off("x", "y", None);
        neither.start = None;
        neither.end = None;
        assert_eq!(invalid(&neither).0, "start");

        let mut unnamed = weekly(&["mon"], "01:00", "02:00", None);
        unnamed.name = " ".into();
        assert_eq!(invalid(&unnamed).0, "name");

        let e = weekly(&["mon"], "01:00", "02:00", Some("Nowhere"))
            .build()
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid timezone: maintenance `w`"),
            "{e}"
        );
    }

    #[test]
    fn from_toml() {
        let c: MaintenanceConfig = toml::from_str(
            r#"
            name = "nightly backups"
            groups = ["storage"]
            days = ["mon", "tue", "wed", "thu", "fri"]
            from = "22:00"
            to = "02:00"
            timezone = "America/New_York"
            "#,
        )
        .unwrap();
        let w = c.build().unwrap();
        assert_eq!(w.name(), "nightly backups");
        // Friday 22:00 EDT = Saturday 02:00 UTC; the window is on until 06:00 UTC.
        assert!(w.is_active(utc(2026, 9, 5, 5, 0)));
        assert!(!w.applies_to("web", None));
        let back: MaintenanceConfig = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let unknown = toml::from_str::<MaintenanceConfig>("name = \"x\"\nstrat = \"2026-01-01\"");
        assert!(unknown.unwrap_err().to_string().contains("strat"));
    }

    #[test]
    fn occurrences_of_weekly_and_one_off_windows() {
        let w = weekly(&["sat"], "07:00", "13:00", Some("America/Chicago"))
            .build()
            .unwrap();
        assert!(
            !w.announce(),
            "weekly windows are not announced unless asked"
        );
        // Saturday 2026-09-12 and 19 from Thursday the 10th, over ten days.
        let occ = w.occurrences(utc(2026, 9, 10, 0, 0), utc(2026, 9, 20, 0, 0));
        assert_eq!(
            occ,
            vec![
                (utc(2026, 9, 12, 12, 0), utc(2026, 9, 12, 18, 0)),
                (utc(2026, 9, 19, 12, 0), utc(2026, 9, 19, 18, 0)),
            ]
        );
        let o = one_off("2026-09-12 07:00", "2026-09-12 13:00", Some("UTC"))
            .build()
            .unwrap();
        assert!(o.announce());
        assert_eq!(
            o.occurrences(utc(2026, 9, 1, 0, 0), utc(2026, 9, 12, 8, 0))
                .len(),
            1
        );
        assert!(
            o.occurrences(utc(2026, 9, 12, 13, 0), utc(2026, 9, 13, 0, 0))
                .is_empty()
        );
    }

    #[test]
    fn local_times_without_a_zone_are_the_districts() {
        let mut c = one_off("2026-09-12 07:00", "2026-09-12 13:00", None);
        c.timezone = None;
        let chicago: Tz = "America/Chicago".parse().unwrap();
        let w = c.build_in(chicago).unwrap();
        assert_eq!(
            w.occurrences(utc(2026, 9, 1, 0, 0), utc(2026, 10, 1, 0, 0)),
            vec![(utc(2026, 9, 12, 12, 0), utc(2026, 9, 12, 18, 0))]
        );
        // Its own zone wins.
        c.timezone = Some("UTC".into());
        let w = c.build_in(chicago).unwrap();
        assert!(w.is_active(utc(2026, 9, 12, 7, 0)));
    }
}
