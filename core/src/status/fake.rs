//! An in-memory [`StatusSource`] for tests (feature `testing`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;

use super::StatusSource;
use super::model::{MaintenanceState, PlannedMaintenance, PublicMaintenance, PublicStatus};
use crate::error::{Error, Result};
use crate::incident::{Incident, UpdateKind};
use crate::monitor::{MonitorStatus, SchedulerStats};
use crate::store::OutboxStats;

#[derive(Debug)]
struct State {
    public: PublicStatus,
    monitor: MonitorStatus,
    incidents: BTreeMap<i64, Incident>,
    used_tokens: HashMap<String, DateTime<Utc>>,
    next_maintenance: u64,
    failing: Option<String>,
    delay: std::time::Duration,
}

/// A [`StatusSource`] holding what you give it: a public status, a monitor status and
/// incidents, which the admin API and acknowledgement links change as the monitor would.
/// Clones share the same state.
#[derive(Debug, Clone)]
pub struct FakeStatusSource {
    state: Arc<Mutex<State>>,
}

impl FakeStatusSource {
    /// A source showing `public`, with no checks, sinks or incidents.
    pub fn new(public: PublicStatus) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                public,
                monitor: MonitorStatus {
                    checks: Vec::new(),
                    sinks: Vec::new(),
                    outbox: OutboxStats::default(),
                    scheduler: SchedulerStats::default(),
                },
                incidents: BTreeMap::new(),
                used_tokens: HashMap::new(),
                next_maintenance: 1,
                failing: None,
                delay: std::time::Duration::ZERO,
            })),
        }
    }

    /// From now on, show `public`.
    pub fn set_public(&self, public: PublicStatus) {
        self.state.lock().public = public;
    }

    /// What it shows now.
    pub fn public(&self) -> PublicStatus {
        self.state.lock().public.clone()
    }

    /// From now on, report `monitor` for `/metrics`.
    pub fn set_monitor(&self, monitor: MonitorStatus) {
        self.state.lock().monitor = monitor;
    }

    /// Adds (or replaces) a monitor incident, by its id.
    pub fn add_incident(&self, incident: Incident) {
        self.state.lock().incidents.insert(incident.id, incident);
    }

    /// A monitor incident as it stands now.
    pub fn incident(&self, id: i64) -> Option<Incident> {
        self.state.lock().incidents.get(&id).cloned()
    }

    /// Makes every call fail with a store error saying `message` (None: work again).
    pub fn set_failing(&self, message: Option<&str>) {
        self.state.lock().failing = message.map(str::to_owned);
    }

    /// From now on, take `delay` before answering [`StatusSource::public_status`].
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.state.lock().delay = delay;
    }

    fn check(state: &State) -> Result<()> {
        match &state.failing {
            Some(m) => Err(Error::Store(m.clone())),
            None => Ok(()),
        }
    }

    fn with_incident(
        &self,
        id: i64,
        change: impl FnOnce(&mut Incident, DateTime<Utc>) -> Result<()>,
    ) -> Result<Incident> {
        let mut state = self.state.lock();
        Self::check(&state)?;
        let incident = state.incidents.get_mut(&id).ok_or(Error::NotFound {
            what: "incident",
            id: id.to_string(),
        })?;
        let mut changed = incident.clone();
        change(&mut changed, Utc::now())?;
        *incident = changed.clone();
        Ok(changed)
    }
}

#[async_trait]
impl StatusSource for FakeStatusSource {
    async fn public_status(&self) -> Result<PublicStatus> {
        let delay = self.state.lock().delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let state = self.state.lock();
        Self::check(&state)?;
        Ok(state.public.clone())
    }

    async fn monitor_status(&self) -> Result<MonitorStatus> {
        let state = self.state.lock();
        Self::check(&state)?;
        Ok(state.monitor.clone())
    }

    async fn redeem_ack(
        &self,
        token_id: &str,
        incident: i64,
        expires_at: DateTime<Utc>,
        by: &str,
        note: Option<&str>,
    ) -> Result<Incident> {
        {
            let mut state = self.state.lock();
            Self::check(&state)?;
            let now = Utc::now();
            state.used_tokens.retain(|_, until| *until > now);
            if state.used_tokens.contains_key(token_id) {
                return Err(crate::ack::token_reused(incident));
            }
        }
        let done = self.acknowledge(incident, by, note).await?;
        self.state
            .lock()
            .used_tokens
            .insert(token_id.to_owned(), expires_at);
        Ok(done)
    }

    async fn acknowledge(&self, incident: i64, by: &str, note: Option<&str>) -> Result<Incident> {
        self.with_incident(incident, |i, now| i.acknowledge(by, note, now))
    }

    async fn note(&self, incident: i64, by: &str, text: &str) -> Result<Incident> {
        self.with_incident(incident, |i, now| {
            if !i.is_active() {
                return Err(Error::Conflict(format!(
                    "incident {} is already resolved",
                    i.id
                )));
            }
            let status = i.status;
            i.push(UpdateKind::Note, status, text, Some(by), now);
            Ok(())
        })
    }

    async fn resolve(&self, incident: i64, by: &str, note: Option<&str>) -> Result<Incident> {
        self.with_incident(incident, |i, now| {
            if !i.is_active() {
                return Err(Error::Conflict(format!(
                    "incident {} is already resolved",
                    i.id
                )));
            }
            let text = match note {
                Some(n) => format!("resolved by {by}: {n}"),
                None => format!("resolved by {by}"),
            };
            i.resolve(&text, now);
            Ok(())
        })
    }

    async fn schedule_maintenance(&self, plan: PlannedMaintenance) -> Result<String> {
        plan.validate()?;
        let mut state = self.state.lock();
        Self::check(&state)?;
        let id = format!("m{}", state.next_maintenance);
        state.next_maintenance += 1;
        let now = Utc::now();
        let m = PublicMaintenance {
            id: id.clone(),
            title: plan.title,
            services: plan.services,
            description: plan.description,
            starts_at: plan.starts_at,
            ends_at: plan.ends_at,
            state: if now < plan.starts_at {
                MaintenanceState::Upcoming
            } else if now < plan.ends_at {
                MaintenanceState::InProgress
            } else {
                MaintenanceState::Completed
            },
        };
        state.public.maintenance.push(m);
        Ok(id)
    }

    async fn cancel_maintenance(&self, id: &str) -> Result<()> {
        let mut state = self.state.lock();
        Self::check(&state)?;
        let before = state.public.maintenance.len();
        state.public.maintenance.retain(|m| m.id != id);
        if state.public.maintenance.len() == before {
            return Err(Error::NotFound {
                what: "maintenance",
                id: id.to_owned(),
            });
        }
        Ok(())
    }
}
