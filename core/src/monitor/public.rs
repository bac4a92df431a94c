//! The monitor as the status server's [`StatusSource`]: the public summary (services,
//! outages as people were told of them, maintenance, 90 days of availability, the outage
//! message) and the actions of the admin API and of acknowledgement links.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use parking_lot::Mutex;

use super::Monitor;
use super::comms::Comms;
use crate::broadcast::{Outage, OutageEvent, PlannedMaintenance, ServiceState};
use crate::error::Result;
use crate::status::{
    DayAvailability, MaintenanceState, PublicIncident, PublicIncidentState, PublicMaintenance,
    PublicService, PublicStatus, PublicUpdate, PublicUpdateKind, StatusSource,
};
use crate::store::Tier;

/// How many days of availability the page shows.
const DAYS: i64 = 90;

/// How long the daily availability is reused before it is read again.
const AVAILABILITY_TTL: chrono::Duration = chrono::Duration::minutes(5);

/// How long resolved outages and completed maintenance stay on the page.
const RECENT: chrono::Duration = chrono::Duration::days(7);

/// Each service's daily availability, read at `at`.
#[derive(Debug, Default)]
pub(super) struct AvailabilityCache {
    at: Option<DateTime<Utc>>,
    days: BTreeMap<String, Vec<DayAvailability>>,
}

/// The shared cache (kept in [`Comms`]).
pub(super) type SharedAvailability = Arc<Mutex<AvailabilityCache>>;

impl Monitor {
    /// The public summary the status page shows: services with their state, impact and 90
    /// days of availability, outages as people were told of them (those going on and those of
    /// the last 7 days), maintenance, and the outage message. No check names, hosts or probe
    /// details.
    pub async fn public_status(&self, title: &str) -> Result<PublicStatus> {
        self.restore().await?;
        let now = self.inner.clock.now();
        let Some(comms) = &self.inner.comms else {
            return Ok(PublicStatus {
                title: title.to_owned(),
                generated_at: now,
                time_zone: crate::clock::Zone::system().tz().name().to_owned(),
                services: Vec::new(),
                incidents: Vec::new(),
                maintenance: Vec::new(),
                autoreply: None,
            });
        };
        let views = self.inner.service_views(comms);
        let availability = self.daily_availability(comms, now).await?;
        let services = views
            .iter()
            .zip(&comms.services)
            .map(|(v, s)| {
                let days = availability.get(&s.key).cloned().unwrap_or_default();
                let known: Vec<f64> = days.iter().filter_map(|d| d.ratio).collect();
                let trouble = v.state != ServiceState::Operational;
                PublicService {
                    id: s.slug.clone(),
                    name: s.config.name.clone(),
                    state: v.state,
                    since: v.since,
                    impact: s.config.impact.clone().filter(|_| trouble),
                    workaround: s.config.workaround.clone().filter(|_| trouble),
                    availability_90d: (!known.is_empty())
                        .then(|| known.iter().sum::<f64>() / known.len() as f64),
                    availability: days,
                }
            })
            .collect();
        let outages = self.inner.store.outages(now - RECENT, 0).await?;
        let incidents = outages
            .iter()
            .filter_map(|o| self.public_incident(comms, o, now))
            .collect();
        Ok(PublicStatus {
            title: title.to_owned(),
            generated_at: now,
            time_zone: comms.zone.tz().name().to_owned(),
            services,
            incidents,
            maintenance: self.public_maintenance(comms, now),
            autoreply: comms.message.borrow().clone(),
        })
    }

    /// An outage as the public was told of it; `None` before it lasted the delay (a blip is
    /// not an incident for the public, as it is not for the audiences).
    fn public_incident(
        &self,
        comms: &Comms,
        o: &Outage,
        now: DateTime<Utc>,
    ) -> Option<PublicIncident> {
        let keys: Vec<&str> = o.services.iter().map(String::as_str).collect();
        let told_at = crate::broadcast::plan::we_know_at(o, &keys, comms.settings.delay, now)?;
        let name_of = |k: &str| {
            comms
                .services
                .iter()
                .find(|s| s.key == k)
                .map_or_else(|| k.to_owned(), |s| s.config.name.clone())
        };
        let names: Vec<String> = o.services.iter().map(|k| name_of(k)).collect();
        let phrase = match names.as_slice() {
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
            [] => "A service".to_owned(),
        };
        let is_are = if names.len() > 1 { "are" } else { "is" };
        let local = |t: DateTime<Utc>| comms.zone.format(t, "%H:%M %Z");
        let mut we_know = format!(
            "{phrase} {is_are} not working since {}. The IT team knows and is working on it.",
            local(o.started_at)
        );
        for k in &o.services {
            if let Some(s) = comms.services.iter().find(|s| s.key == *k) {
                if let Some(i) = &s.config.impact {
                    we_know.push_str(&format!(" {}: {i}", s.config.name));
                }
                if let Some(w) = &s.config.workaround {
                    we_know.push_str(&format!(" Meanwhile: {w}"));
                }
            }
        }
        let mut updates = vec![PublicUpdate {
            at: told_at,
            kind: PublicUpdateKind::WeKnow,
            text: we_know,
        }];
        let mut noted = false;
        for u in &o.updates {
            if u.at > now {
                continue;
            }
            match u.event {
                OutageEvent::Note => {
                    noted = true;
                    updates.push(PublicUpdate {
                        at: u.at.max(told_at),
                        kind: PublicUpdateKind::Update,
                        text: u.text.clone().unwrap_or_default(),
                    });
                }
                OutageEvent::Widened if u.at > told_at => updates.push(PublicUpdate {
                    at: u.at,
                    kind: PublicUpdateKind::Update,
                    text: format!(
                        "{} is now affected too.",
                        name_of(u.service.as_deref().unwrap_or_default())
                    ),
                }),
                _ => {}
            }
        }
        let hold = chrono::Duration::from_std(comms.settings.hold).unwrap_or_default();
        let state = match o.back_at {
            Some(back) if o.closed || now - back >= hold => {
                updates.push(PublicUpdate {
                    at: back + hold,
                    kind: PublicUpdateKind::Fixed,
                    text: format!(
                        "{phrase} {is_are} working again since {}, after {}.",
                        local(back),
                        crate::probe::human_duration(
                            o.duration(now).max(std::time::Duration::from_secs(60))
                        )
                    ),
                });
                PublicIncidentState::Resolved
            }
            Some(_) => PublicIncidentState::Monitoring,
            None if noted => PublicIncidentState::Identified,
            None => PublicIncidentState::Investigating,
        };
        Some(PublicIncident {
            id: o.id,
            title: format!(
                "{phrase} {}",
                if state == PublicIncidentState::Resolved {
                    if names.len() > 1 {
                        "were unavailable"
                    } else {
                        "was unavailable"
                    }
                } else if names.len() > 1 {
                    "are unavailable"
                } else {
                    "is unavailable"
                }
            ),
            services: o
                .services
                .iter()
                .filter_map(|k| comms.services.iter().find(|s| s.key == *k))
                .map(|s| s.slug.clone())
                .collect(),
            state,
            started_at: o.started_at,
            resolved_at: o.back_at.filter(|_| state == PublicIncidentState::Resolved),
            updates,
        })
    }

    /// Maintenance of services that people are told of: coming (within 30 days), going on, and
    /// completed in the last 7 days.
    fn public_maintenance(&self, comms: &Comms, now: DateTime<Utc>) -> Vec<PublicMaintenance> {
        let windows = self.inner.maintenance.read().clone();
        let mut out = Vec::new();
        for w in windows.iter().filter(|w| w.announce()) {
            let services: Vec<String> = comms
                .services
                .iter()
                .filter(|s| self.inner.window_covers(w, s))
                .map(|s| s.slug.clone())
                .collect();
            if services.is_empty() {
                continue;
            }
            for (start, end) in w.occurrences(now - RECENT, now + chrono::Duration::days(30)) {
                let state = if now < start {
                    MaintenanceState::Upcoming
                } else if now < end {
                    MaintenanceState::InProgress
                } else {
                    MaintenanceState::Completed
                };
                out.push(PublicMaintenance {
                    id: format!(
                        "{}-{}",
                        crate::broadcast::service::slug(w.id().unwrap_or(w.name())),
                        start.timestamp()
                    ),
                    title: w.name().to_owned(),
                    services: services.clone(),
                    description: w.description().map(str::to_owned),
                    starts_at: start,
                    ends_at: end,
                    state,
                });
            }
        }
        out.sort_by_key(|m| m.starts_at);
        out
    }

    /// Each service's availability per day of the district's calendar, oldest first, from the
    /// day rollups of its checks (the worst check for `any`, the best for `all`, the N-th
    /// worst for `at least N`). Read again at most every 5 minutes.
    async fn daily_availability(
        &self,
        comms: &Comms,
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<String, Vec<DayAvailability>>> {
        {
            let cache = comms.availability.lock();
            if cache
                .at
                .is_some_and(|at| now - at < AVAILABILITY_TTL && at <= now)
            {
                return Ok(cache.days.clone());
            }
        }
        let today = comms.zone.format(now, "%Y-%m-%d");
        let today = NaiveDate::parse_from_str(&today, "%Y-%m-%d").unwrap_or(now.date_naive());
        let first = today - chrono::Duration::days(DAYS - 1);
        let since = now - chrono::Duration::days(DAYS + 1);
        let mut per_check: BTreeMap<usize, BTreeMap<NaiveDate, f64>> = BTreeMap::new();
        let mut days = BTreeMap::new();
        for s in &comms.services {
            for &i in &s.members {
                if per_check.contains_key(&i) {
                    continue;
                }
                let rollups = self
                    .inner
                    .store
                    .rollups(&self.inner.checks[i].name, Tier::Day, since, now)
                    .await?;
                let map = rollups
                    .into_iter()
                    .filter_map(|r| Some((r.start.date_naive(), r.availability()?)))
                    .collect();
                per_check.insert(i, map);
            }
            let required = s.config.down_when.required(s.members.len());
            let list: Vec<DayAvailability> = (0..DAYS)
                .map(|d| {
                    let date = first + chrono::Duration::days(d);
                    let mut ratios: Vec<f64> = s
                        .members
                        .iter()
                        .filter_map(|i| per_check.get(i).and_then(|m| m.get(&date)).copied())
                        .collect();
                    ratios.sort_by(f64::total_cmp);
                    let ratio = ratios
                        .get(
                            required
                                .saturating_sub(1)
                                .min(ratios.len().saturating_sub(1)),
                        )
                        .copied();
                    DayAvailability { date, ratio }
                })
                .collect();
            days.insert(s.key.clone(), list);
        }
        let mut cache = comms.availability.lock();
        cache.at = Some(now);
        cache.days = days.clone();
        Ok(days)
    }
}

/// The monitor seen by the status server.
#[derive(Debug, Clone)]
pub struct MonitorStatusSource {
    monitor: Monitor,
    title: String,
}

impl MonitorStatusSource {
    /// The status page of `monitor`, titled `title`.
    pub fn new(monitor: Monitor, title: impl Into<String>) -> Self {
        Self {
            monitor,
            title: title.into(),
        }
    }
}

#[async_trait]
impl StatusSource for MonitorStatusSource {
    async fn public_status(&self) -> Result<PublicStatus> {
        self.monitor.public_status(&self.title).await
    }

    fn now(&self) -> DateTime<Utc> {
        self.monitor.inner.clock.now()
    }

    async fn monitor_status(&self) -> Result<super::MonitorStatus> {
        self.monitor.status().await
    }

    async fn redeem_ack(
        &self,
        token_id: &str,
        incident: i64,
        expires_at: DateTime<Utc>,
        by: &str,
        note: Option<&str>,
    ) -> Result<crate::Incident> {
        let m = &self.monitor;
        let now = m.inner.clock.now();
        if !m
            .inner
            .store
            .use_ack_token(token_id, incident, expires_at, now)
            .await?
        {
            return Err(crate::ack::token_reused(incident));
        }
        let note = match note {
            Some(n) => format!("{n} (acknowledged from the alert's link)"),
            None => "acknowledged from the alert's link".to_owned(),
        };
        m.acknowledge(incident, by, Some(&note)).await
    }

    async fn acknowledge(
        &self,
        incident: i64,
        by: &str,
        note: Option<&str>,
    ) -> Result<crate::Incident> {
        self.monitor.acknowledge(incident, by, note).await
    }

    async fn note(&self, incident: i64, by: &str, text: &str) -> Result<crate::Incident> {
        self.monitor.note(incident, by, text).await
    }

    async fn resolve(
        &self,
        incident: i64,
        by: &str,
        note: Option<&str>,
    ) -> Result<crate::Incident> {
        self.monitor.resolve(incident, by, note).await
    }

    async fn schedule_maintenance(&self, plan: PlannedMaintenance) -> Result<String> {
        self.monitor.schedule_maintenance(plan).await
    }

    async fn cancel_maintenance(&self, id: &str) -> Result<()> {
        self.monitor.cancel_maintenance(id).await
    }
}
