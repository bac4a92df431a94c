//! The monitor's side of proactive communication: the services' states from their checks,
//! outages kept up to date in the store, the broadcasts each audience is owed queued in the
//! outbox, maintenance announced, and the current outage message for the auto-reply, the
//! voicemail and the status page.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::watch;

use super::Inner;
use super::maintenance::MaintenanceWindow;
use super::state::{Alert, Suppression};
use crate::autoreply::OutageMessage;
use crate::broadcast::plan::{due_for_maintenance, due_for_outage};
use crate::broadcast::service::{Member, evaluate, slug};
use crate::broadcast::templates::{MaintenanceText, NoteText, ServiceText};
use crate::broadcast::{
    AudienceConfig, BroadcastKind, BroadcastSettings, Due, MessageContext, Outage, OutageEvent,
    ServiceConfig, ServiceState, ServiceView, Templates,
};
use crate::clock::Zone;
use crate::error::{Error, Result};
use crate::probe::Status;
use crate::sink::{BroadcastBody, Notification, NotificationKind};

/// A service, resolved against the monitor's checks.
#[derive(Debug)]
pub(super) struct ServiceRt {
    pub key: String,
    pub slug: String,
    pub config: ServiceConfig,
    /// Indexes of its checks.
    pub members: Vec<usize>,
}

/// An audience, resolved.
#[derive(Debug)]
pub(super) struct AudienceRt {
    pub key: String,
    pub config: AudienceConfig,
    pub templates: Templates,
}

/// Everything the monitor needs to communicate.
#[derive(Debug)]
pub(super) struct Comms {
    pub services: Vec<ServiceRt>,
    pub audiences: Vec<AudienceRt>,
    pub settings: BroadcastSettings,
    /// The auto-reply and voicemail wording.
    pub outage_templates: Templates,
    pub zone: Zone,
    /// The outages not closed, read from the store on first use.
    pub outages: tokio::sync::Mutex<Option<Vec<Outage>>>,
    /// The current outage message (`None`: no known outage).
    pub message: watch::Sender<Option<OutageMessage>>,
    /// Each service's daily availability, for the status page.
    pub availability: super::public::SharedAvailability,
    /// The auto-reply and voicemail, by name.
    pub responders: Vec<(String, Arc<dyn crate::autoreply::OutageResponder>)>,
    /// The planned maintenance last read from the store.
    pub planned: Mutex<Vec<crate::broadcast::PlannedMaintenance>>,
    /// Maintenance broadcasts queued by this process (the outbox refuses the same id twice
    /// anyway; this spares it the write every second).
    pub announced: Mutex<HashSet<String>>,
}

/// A service's state, for [`Monitor::services`](crate::Monitor::services).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceStatus {
    /// Its key in the config.
    pub key: String,
    /// Its URL-safe id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Where it stands.
    pub state: ServiceState,
    /// Since when.
    pub since: Option<DateTime<Utc>>,
    /// Its checks, by name.
    pub checks: Vec<String>,
}

/// What the builder was given for communication.
pub(super) struct Parts {
    pub services: Vec<(String, ServiceConfig)>,
    pub audiences: Vec<(String, AudienceConfig)>,
    pub settings: BroadcastSettings,
    pub zone: Zone,
    pub responders: Vec<(String, Arc<dyn crate::autoreply::OutageResponder>)>,
}

/// Builds the communication part of a monitor: names checked against the checks and sinks.
pub(super) fn build(
    parts: Parts,
    checks: &super::Checks,
    graph: &super::DependencyGraph,
    sinks: &std::collections::BTreeMap<String, Arc<dyn crate::AlertSink>>,
) -> Result<Option<Comms>> {
    let Parts {
        services,
        audiences,
        settings,
        zone,
        responders,
    } = parts;
    if services.is_empty() && audiences.is_empty() {
        if let Some((name, _)) = responders.first() {
            return Err(Error::invalid(
                format!("responders.{name}"),
                "responders answer for services with `autoreply`, and there are no services",
            ));
        }
        return Ok(None);
    }
    settings.validate().map_err(|e| prefix("broadcasts", e))?;
    let mut rts = Vec::with_capacity(services.len());
    let mut slugs = HashSet::new();
    for (key, config) in services {
        config
            .validate()
            .map_err(|e| prefix(&format!("services.{key}"), e))?;
        let mut members = Vec::new();
        for c in &config.checks {
            let i = graph.index_of(c).ok_or_else(|| {
                Error::invalid(
                    format!("services.{key}.checks"),
                    format!("check `{}` is not defined", crate::text::printable(c)),
                )
            })?;
            members.push(i);
        }
        for g in &config.groups {
            let before = members.len();
            members.extend((0..checks.len()).filter(|&i| checks[i].group() == Some(g.as_str())));
            if members.len() == before {
                return Err(Error::invalid(
                    format!("services.{key}.groups"),
                    format!("group `{}` has no checks", crate::text::printable(g)),
                ));
            }
        }
        members.sort_unstable();
        members.dedup();
        let id = slug(&key);
        if !slugs.insert(id.clone()) {
            return Err(Error::invalid(
                format!("services.{key}"),
                format!("its id `{id}` is taken by another service: rename one"),
            ));
        }
        rts.push(ServiceRt {
            key,
            slug: id,
            config,
            members,
        });
    }
    let common: Vec<&std::path::Path> = settings.templates.iter().map(|p| p.as_path()).collect();
    let mut auds = Vec::with_capacity(audiences.len());
    for (key, config) in audiences {
        let at = |what: &str| format!("audiences.{key}.{what}");
        config
            .validate()
            .map_err(|e| prefix(&format!("audiences.{key}"), e))?;
        for s in &config.sinks {
            if !sinks.contains_key(s) {
                return Err(Error::invalid(
                    at("sinks"),
                    format!("sink `{}` is not defined", crate::text::printable(s)),
                ));
            }
        }
        for s in &config.services {
            if s != "*" && !rts.iter().any(|r| r.key == *s) {
                return Err(Error::invalid(
                    at("services"),
                    format!("service `{}` is not defined", crate::text::printable(s)),
                ));
            }
        }
        let mut dirs: Vec<&std::path::Path> =
            config.templates.iter().map(|p| p.as_path()).collect();
        dirs.extend(common.iter().copied());
        let templates = Templates::load(&dirs, config.language.as_deref())
            .map_err(|e| prefix(&format!("audiences.{key}"), e))?;
        auds.push(AudienceRt {
            key,
            config,
            templates,
        });
    }
    let outage_templates = Templates::load(&common, None).map_err(|e| prefix("broadcasts", e))?;
    Ok(Some(Comms {
        services: rts,
        audiences: auds,
        settings,
        outage_templates,
        zone,
        outages: tokio::sync::Mutex::new(None),
        message: watch::channel(None).0,
        announced: Mutex::new(HashSet::new()),
        planned: Mutex::new(Vec::new()),
        responders,
        availability: Default::default(),
    }))
}

fn prefix(what: &str, e: Error) -> Error {
    match e {
        Error::Invalid { what: w, message } => Error::invalid(format!("{what}.{w}"), message),
        other => other,
    }
}

impl Inner {
    /// Each service's state from its checks', with the roots and incidents of its failure.
    pub(super) fn service_views(&self, comms: &Comms) -> Vec<ServiceView> {
        comms
            .services
            .iter()
            .map(|s| {
                let mut members = Vec::with_capacity(s.members.len());
                let mut roots = BTreeSet::new();
                let mut incidents = BTreeSet::new();
                for &i in &s.members {
                    let rt = &self.checks[i];
                    let state = rt.state.lock().clone();
                    let status = state.last_status.unwrap_or(Status::Unknown);
                    let (down, maintenance, since) = match &state.alert {
                        // Resolved by hand while still failing: no longer an outage.
                        Alert::Open { since, .. } => (rt.incident().is_some(), false, Some(*since)),
                        Alert::Suppressed {
                            since,
                            reason: Suppression::Dependency { .. },
                            ..
                        } => (true, false, Some(*since)),
                        Alert::Suppressed {
                            since,
                            reason: Suppression::Maintenance { .. },
                            ..
                        } => (false, true, Some(*since)),
                        Alert::Clear => (false, false, None),
                    };
                    if down {
                        let root = self.root_of(i);
                        roots.insert(self.checks[root].name.to_string());
                        if let Some(id) = self.checks[root].incident() {
                            incidents.insert(id);
                        }
                    }
                    members.push(Member {
                        down,
                        maintenance,
                        status,
                        since,
                    });
                }
                let (state, since) = evaluate(s.config.down_when, &members);
                ServiceView {
                    key: s.key.clone(),
                    state,
                    since,
                    roots,
                    incidents,
                }
            })
            .collect()
    }

    /// The check at the root of check `i`'s failure: itself, or (following the parents that
    /// silence it) the first one down for its own reasons.
    fn root_of(&self, mut i: usize) -> usize {
        for _ in 0..64 {
            let parent = match &self.checks[i].state.lock().alert {
                Alert::Suppressed {
                    reason: Suppression::Dependency { parent },
                    ..
                } => self.graph.index_of(parent),
                _ => None,
            };
            match parent {
                Some(p) if p != i => i = p,
                _ => break,
            }
        }
        i
    }

    /// One round: outages brought up to date and saved, broadcasts and maintenance
    /// announcements queued, the outage message set. Cheap when nothing changed.
    pub(super) async fn communicate(&self) -> Result<()> {
        let Some(comms) = &self.comms else {
            return Ok(());
        };
        self.sync_planned().await?;
        let now = self.clock.now();
        let mut guard = comms.outages.lock().await;
        if guard.is_none() {
            let open = self.store.outages(now, 0).await?;
            *guard = Some(open.into_iter().filter(|o| !o.closed).collect());
        }
        let outages = guard.as_mut().expect("just read");
        // Notes and resolutions are written on incidents, perhaps by another process
        // (`forewarn incident note` beside `forewarn run`): carried over from the store.
        let mut changed: BTreeSet<usize> = BTreeSet::new();
        for (i, o) in outages.iter_mut().enumerate() {
            for id in o.incidents.clone() {
                let Some(incident) = self.store.incident(id).await? else {
                    continue;
                };
                if o.take_notes(&incident) {
                    changed.insert(i);
                }
                if !incident.is_active()
                    && let Some(c) = self.index_of(&incident.check)
                    && self.checks[c].incident() == Some(id)
                {
                    self.checks[c].set_incident(None);
                }
            }
        }
        let views = self.service_views(comms);
        changed.extend(crate::broadcast::outage::track(
            outages,
            &views,
            comms.settings.hold,
            now,
        ));
        for i in changed {
            outages[i].id = self.store.save_outage(&outages[i]).await?;
        }
        let mut queued = false;
        for o in outages.iter_mut() {
            let mut dirty = false;
            for a in &comms.audiences {
                let services: Vec<&str> = o
                    .services
                    .iter()
                    .map(String::as_str)
                    .filter(|k| a.config.cares_about(k))
                    .collect();
                if services.is_empty() {
                    continue;
                }
                let delay = a.config.delay.unwrap_or(comms.settings.delay);
                let due = due_for_outage(
                    o,
                    &services,
                    delay,
                    comms.settings.hold,
                    comms.settings.update_every,
                    now,
                );
                for d in due {
                    for sink in &a.config.sinks {
                        let key = format!("{}/{}/{}", a.key, sink, d.key);
                        if o.sent.contains(&key) {
                            continue;
                        }
                        // A "still working" whose moment passed while forewarn was stopped is
                        // not sent late: the next one is.
                        let stale = d.kind == BroadcastKind::StillWorking
                            && now - d.at
                                >= chrono::Duration::from_std(comms.settings.update_every)
                                    .unwrap_or(chrono::Duration::MAX);
                        if !stale {
                            let n = self
                                .outage_broadcast(comms, a, o, &services, &d, sink, now)
                                .await?;
                            self.store.enqueue(&n, now).await?;
                            queued = true;
                        }
                        o.sent.insert(key);
                        dirty = true;
                    }
                }
            }
            if dirty {
                self.store.save_outage(o).await?;
            }
        }
        outages.retain(|o| !o.closed);
        let message = self.outage_message(comms, outages, &views, now)?;
        drop(guard);
        comms.message.send_if_modified(|m| {
            if *m != message {
                *m = message;
                true
            } else {
                false
            }
        });
        queued |= self.announce_maintenance(comms, now).await?;
        if queued {
            self.outbox.wake();
        }
        Ok(())
    }

    /// Names and texts of the services `keys`.
    fn service_texts(&self, comms: &Comms, keys: &[&str]) -> Vec<ServiceText> {
        keys.iter()
            .filter_map(|k| comms.services.iter().find(|s| s.key == *k))
            .map(|s| ServiceText {
                name: s.config.name.clone(),
                impact: s.config.impact.clone(),
                workaround: s.config.workaround.clone(),
            })
            .collect()
    }

    /// A time as people read it: "10:42 CDT", with the day when it is not `now`'s.
    fn local(&self, comms: &Comms, t: DateTime<Utc>, now: DateTime<Utc>) -> String {
        let same_day = comms.zone.format(t, "%Y-%m-%d") == comms.zone.format(now, "%Y-%m-%d");
        if same_day {
            comms.zone.format(t, "%H:%M %Z")
        } else {
            comms.zone.format(t, "%A %-d %B, %H:%M %Z")
        }
    }

    fn base_context(&self, comms: &Comms, audience: &str) -> MessageContext {
        let district = comms.settings.district.clone();
        MessageContext {
            audience: audience.to_owned(),
            signature: match &district {
                Some(d) => format!("The IT team of {d}"),
                None => "The IT team".to_owned(),
            },
            district,
            status_url: comms.settings.status_url.clone(),
            ..Default::default()
        }
    }

    /// The outage's notes written until `until` (before it, when `before`).
    fn notes(
        &self,
        comms: &Comms,
        o: &Outage,
        until: DateTime<Utc>,
        before: bool,
        now: DateTime<Utc>,
    ) -> Vec<NoteText> {
        o.updates
            .iter()
            .filter(|u| {
                u.event == OutageEvent::Note && (u.at < until || (!before && u.at == until))
            })
            .map(|u| NoteText {
                at: self.local(comms, u.at, now),
                by: u.by.clone(),
                text: u.text.clone().unwrap_or_default(),
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    async fn outage_broadcast(
        &self,
        comms: &Comms,
        a: &AudienceRt,
        o: &Outage,
        services: &[&str],
        d: &Due,
        sink: &str,
        now: DateTime<Utc>,
    ) -> Result<Notification> {
        let mut ctx = self
            .base_context(comms, &a.config.name)
            .with_services(self.service_texts(comms, services));
        ctx.started = self.local(comms, o.started_at, now);
        ctx.back = o
            .back_at
            .map(|b| self.local(comms, b, now))
            .unwrap_or_default();
        ctx.duration =
            crate::probe::human_duration(o.duration(now).max(std::time::Duration::from_secs(60)));
        let every = chrono::Duration::from_std(comms.settings.update_every)
            .unwrap_or(chrono::Duration::hours(1));
        ctx.next_update = self.local(comms, now.max(d.at) + every, now);
        // The "we know" tells the notes written before it was due; a note from that moment
        // on is an update of its own (`due_for_outage`). Later messages recall every note up
        // to their own moment.
        ctx.notes = self.notes(comms, o, d.at, d.kind == BroadcastKind::WeKnow, now);
        if let Some(seq) = d.update
            && let Some(u) = o.updates.get(seq as usize)
        {
            match u.event {
                OutageEvent::Note => {
                    ctx.update = Some(NoteText {
                        at: self.local(comms, u.at, now),
                        by: u.by.clone(),
                        text: u.text.clone().unwrap_or_default(),
                    });
                }
                OutageEvent::Widened => {
                    ctx.widened = u
                        .service
                        .as_deref()
                        .and_then(|k| comms.services.iter().find(|s| s.key == k))
                        .map(|s| s.config.name.clone());
                }
                _ => {}
            }
        }
        let rendered = a.templates.render(d.kind, &ctx)?;
        let (kind, status) = match d.kind {
            BroadcastKind::WeKnow => (NotificationKind::Opened, Status::Critical),
            BroadcastKind::Fixed => (NotificationKind::Resolved, Status::Ok),
            _ => (NotificationKind::Updated, Status::Critical),
        };
        let installation = self.installation().await?;
        Ok(Notification::broadcast(
            installation,
            sink,
            &format!("outage-{}/{}/{}", o.id, a.key, d.key),
            kind,
            status,
            BroadcastBody {
                audience: a.key.clone(),
                thread: format!("outage-{}", o.id),
                first: d.kind == BroadcastKind::WeKnow,
                subject: rendered.subject,
                text: rendered.text,
                html: rendered.html,
            },
            &ctx.service_names,
            o.started_at,
            now,
        ))
    }

    /// The auto-reply and voicemail words for the outages down now (of services with
    /// `autoreply`) that have lasted the delay; `None` when there are none.
    fn outage_message(
        &self,
        comms: &Comms,
        outages: &[Outage],
        views: &[ServiceView],
        now: DateTime<Utc>,
    ) -> Result<Option<OutageMessage>> {
        let delay = chrono::Duration::from_std(comms.settings.delay).unwrap_or_default();
        let mut keys: Vec<&str> = Vec::new();
        let mut started: Option<DateTime<Utc>> = None;
        for o in outages.iter().filter(|o| o.is_down()) {
            for k in &o.services {
                let down = views
                    .iter()
                    .any(|v| v.key == *k && v.state == ServiceState::Down);
                let wanted = comms
                    .services
                    .iter()
                    .any(|s| s.key == *k && s.config.autoreply);
                let since = o.joined_at(k).unwrap_or(o.started_at);
                if down && wanted && now - since >= delay && !keys.contains(&k.as_str()) {
                    keys.push(k);
                    started = Some(started.map_or(since, |s| s.min(since)));
                }
            }
        }
        let Some(started) = started else {
            return Ok(None);
        };
        let mut ctx = self
            .base_context(comms, "")
            .with_services(self.service_texts(comms, &keys));
        ctx.started = self.local(comms, started, now);
        // The text is the same all through the outage (a message that changed every minute
        // would make the auto-reply and the voicemail be installed again every minute).
        ctx.duration = String::new();
        comms.outage_templates.outage_message(&ctx).map(Some)
    }

    /// Queues the announcements of planned maintenance that are due.
    async fn announce_maintenance(&self, comms: &Comms, now: DateTime<Utc>) -> Result<bool> {
        let windows: Vec<MaintenanceWindow> = self.maintenance.read().clone();
        let mut queued = false;
        for w in windows.iter().filter(|w| w.announce()) {
            let keys: Vec<&str> = comms
                .services
                .iter()
                .filter(|s| self.window_covers(w, s))
                .map(|s| s.key.as_str())
                .collect();
            if keys.is_empty() {
                continue;
            }
            for a in &comms.audiences {
                let services: Vec<&str> = keys
                    .iter()
                    .copied()
                    .filter(|k| a.config.cares_about(k))
                    .collect();
                if services.is_empty() {
                    continue;
                }
                let lead = chrono::Duration::from_std(a.config.maintenance_lead)
                    .unwrap_or(chrono::Duration::zero());
                for (start, end) in w.occurrences(now - chrono::Duration::days(1), now + lead) {
                    for d in due_for_maintenance(start, end, a.config.maintenance_lead, now) {
                        for sink in &a.config.sinks {
                            let thread = format!(
                                "maintenance-{}-{}",
                                slug(w.id().unwrap_or(w.name())),
                                start.timestamp()
                            );
                            let key = format!("{thread}/{}/{}", a.key, d.key);
                            let installation = self.installation().await?;
                            let id = Notification::make_id(installation, 0, sink, &key);
                            if !comms.announced.lock().insert(id) {
                                continue;
                            }
                            let mut ctx = self
                                .base_context(comms, &a.config.name)
                                .with_services(self.service_texts(comms, &services));
                            ctx.maintenance = Some(MaintenanceText {
                                title: w.name().to_owned(),
                                description: w.description().map(str::to_owned),
                                starts: comms.zone.format(start, "%A %-d %B, %H:%M %Z"),
                                ends: self.local(comms, end, start),
                            });
                            let r = a.templates.render(d.kind, &ctx)?;
                            let (kind, status) = match d.kind {
                                BroadcastKind::MaintenanceAhead => {
                                    (NotificationKind::Opened, Status::Warning)
                                }
                                BroadcastKind::MaintenanceComplete => {
                                    (NotificationKind::Resolved, Status::Ok)
                                }
                                _ => (NotificationKind::Updated, Status::Warning),
                            };
                            let n = Notification::broadcast(
                                installation,
                                sink,
                                &key,
                                kind,
                                status,
                                BroadcastBody {
                                    audience: a.key.clone(),
                                    thread,
                                    first: d.kind == BroadcastKind::MaintenanceAhead,
                                    subject: r.subject,
                                    text: r.text,
                                    html: r.html,
                                },
                                &ctx.service_names,
                                start,
                                now,
                            );
                            queued |= self.store.enqueue(&n, now).await?;
                        }
                    }
                }
            }
        }
        Ok(queued)
    }

    /// Whether maintenance window `w` switches service `s` off: it names the service (planned
    /// maintenance) or covers one of its checks.
    pub(super) fn window_covers(&self, w: &MaintenanceWindow, s: &ServiceRt) -> bool {
        if !w.services().is_empty() {
            return w.services().contains(&s.key);
        }
        s.members.iter().any(|&i| {
            let rt = &self.checks[i];
            w.applies_to(&rt.name, rt.group())
        })
    }
}

/// How long a responder that failed waits before it is tried again.
const RESPONDER_RETRY: std::time::Duration = std::time::Duration::from_secs(30);

impl Inner {
    /// Keeps the responders in line with the outage message, one change at a time: at start
    /// (a restart during an outage neither installs twice nor forgets to put back, the
    /// responders look at what is in place), at every change, and again after a failure.
    pub(super) async fn respond(&self, mut stop: watch::Receiver<bool>) -> Result<()> {
        let comms = match &self.comms {
            Some(c) if !c.responders.is_empty() => c,
            // Nothing to do: wait for the end like the other workers (one that ended early
            // would stop the monitor).
            _ => {
                let _ = stop.wait_for(|s| *s).await;
                return Ok(());
            }
        };
        let mut rx = comms.message.subscribe();
        // Let the first round of checks and outages settle before deciding anything.
        self.communicate().await?;
        let mut pending: Vec<usize> = (0..comms.responders.len()).collect();
        loop {
            let message = rx.borrow_and_update().clone();
            let mut failed = Vec::new();
            for &i in &pending {
                let (name, r) = &comms.responders[i];
                match r.apply(message.as_ref()).await {
                    Ok(()) => tracing::info!(
                        responder = %name,
                        outage = message.is_some(),
                        "responder in place"
                    ),
                    Err(e) => {
                        tracing::warn!(responder = %name, error = %e, "responder failed; retrying");
                        failed.push(i);
                    }
                }
            }
            let retry = async {
                if failed.is_empty() {
                    std::future::pending::<()>().await;
                } else {
                    tokio::time::sleep(RESPONDER_RETRY).await;
                }
            };
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                r = rx.changed() => {
                    if r.is_err() {
                        return Ok(());
                    }
                    pending = (0..comms.responders.len()).collect();
                }
                _ = retry => pending = failed,
            }
        }
    }

    /// Applies the current outage message to every responder now (for `run_once` callers and
    /// tests; `run` does it in the background). Returns the first error.
    pub(super) async fn respond_once(&self) -> Result<()> {
        let Some(comms) = &self.comms else {
            return Ok(());
        };
        let message = comms.message.borrow().clone();
        for (_, r) in &comms.responders {
            r.apply(message.as_ref()).await?;
        }
        Ok(())
    }

    /// Takes the maintenance planned at run time from the store (another process may have
    /// planned or cancelled some): the windows follow, and the checks of a window that went
    /// away are looked at again.
    pub(super) async fn sync_planned(&self) -> Result<()> {
        let Some(comms) = &self.comms else {
            return Ok(());
        };
        let plans = self.store.planned_maintenance().await?;
        if *comms.planned.lock() == plans {
            return Ok(());
        }
        let mut windows = Vec::with_capacity(plans.len());
        for p in &plans {
            match self.planned_window(p) {
                Ok(w) => windows.push(w),
                // A service renamed in the config since: the plan no longer applies.
                Err(e) => {
                    tracing::warn!(maintenance = %p.id, error = %e, "planned maintenance skipped")
                }
            }
        }
        {
            let mut all = self.maintenance.write();
            all.retain(|w| w.id().is_none());
            all.extend(windows);
        }
        *comms.planned.lock() = plans;
        self.maintenance_removed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// The window of planned maintenance: the checks of the services it names.
    pub(super) fn planned_window(
        &self,
        plan: &crate::broadcast::PlannedMaintenance,
    ) -> Result<MaintenanceWindow> {
        let Some(comms) = &self.comms else {
            return Err(Error::invalid(
                "services",
                "maintenance is planned for services, and none is defined",
            ));
        };
        let mut checks = Vec::new();
        for key in &plan.services {
            let s = comms
                .services
                .iter()
                .find(|s| s.key == *key || s.slug == *key)
                .ok_or_else(|| {
                    Error::invalid(
                        "services",
                        format!(
                            "service `{}` is not defined (known: {})",
                            crate::text::printable(key),
                            comms
                                .services
                                .iter()
                                .map(|s| s.key.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?;
            checks.extend(s.members.iter().map(|&i| self.checks[i].name.to_string()));
        }
        let mut plan = plan.clone();
        // Services named by their id are kept by their key.
        for k in &mut plan.services {
            if let Some(s) = comms.services.iter().find(|s| s.slug == *k) {
                k.clone_from(&s.key);
            }
        }
        Ok(MaintenanceWindow::planned(&plan, checks))
    }
}
