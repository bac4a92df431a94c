//! Active/standby: several instances on one shared store (PostgreSQL), exactly one leading.
//!
//! Every instance runs [`run`] on its own monitor. The leader holds the store's lease
//! ([`crate::Store::lead`]): it runs the checks, escalation and the outbox, renews the lease
//! every third of its length, and fences its writes with the lease's token
//! ([`crate::Store::fence`]). The others are standbys: they serve their status page and API
//! from the shared store (their view of check states and incidents is read again every poll)
//! and try to take the lease; when the leader stops renewing it (killed, frozen, cut off from
//! the database), the lease lapses and one of them takes it, with the next token, reads the
//! states and incidents the leader left and carries on. A leader that cannot renew in time
//! stops acting before its lease can have lapsed; should it still write (paused past its
//! lease), the store refuses the write, since another token leads. Outbox rows are claimed
//! before they are sent ([`crate::Store::claim_outbox`]), so the new leader sends what the
//! old one had not, and nothing twice.
//!
//! On a store of one monitor (SQLite), [`run`] is [`Monitor::run_until`].

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::monitor::Monitor;

/// How an instance takes part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// This instance's name, unique among those sharing the store (default: the host's name
    /// and the process id).
    pub instance: String,
    /// How long a lead lasts without renewal (default 5 s): a standby takes over about this
    /// long after the leader stops.
    pub lease: Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            instance: default_instance(),
            lease: DEFAULT_LEASE,
        }
    }
}

/// The default lease length.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(5);

/// The fencing token of a standby: no lease has it, so whatever a standby would write to the
/// shared store (an agent's push, an acknowledgement) is refused and goes to the leader.
pub const STANDBY_FENCE: i64 = -1;

/// The host's name and the process id (`host:pid`).
pub fn default_instance() -> String {
    let host = sysinfo::System::host_name()
        .map(|h| h.to_string())
        .unwrap_or_else(|_| "forewarn".to_owned());
    format!("{host}:{}", std::process::id())
}

/// Runs `monitor` as one of the instances sharing its store ([`Monitor::cluster_options`]: its
/// name and lease, set by [`crate::MonitorBuilder::cluster`] or `[monitor] instance` and
/// `lease`) until `shutdown` completes:
/// standby until it takes the lead, leading until it loses it (then standby again) or shuts
/// down, when it gives the lead up so a standby takes over at once. On a store of one monitor
/// it just runs.
pub async fn run(monitor: &Monitor, shutdown: impl Future<Output = ()>) -> Result<()> {
    let options = monitor.cluster_options();
    let store = monitor.store().clone();
    let instance = options.instance.as_str();
    let ttl = options.lease.max(Duration::from_secs(1));
    let poll = (ttl / 5).clamp(Duration::from_millis(100), Duration::from_secs(2));
    tokio::pin!(shutdown);
    let mut following: Option<String> = None;
    loop {
        // Standing by: nothing written to the shared store goes through.
        store.fence(Some(STANDBY_FENCE));
        let (lease, asked) = loop {
            let asked = Instant::now();
            match store.lead(instance, None, ttl).await {
                Ok(l) if l.holder == instance => break (l, asked),
                Ok(l) => {
                    monitor.set_standby(true);
                    if following.as_deref() != Some(l.holder.as_str()) {
                        tracing::info!(leader = %l.holder, "standby: another instance leads");
                        following = Some(l.holder.clone());
                    }
                    if let Err(e) = monitor.reload().await {
                        tracing::warn!(error = %e, "standby: reading the shared state failed");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "standby: cannot reach the store to take the lead")
                }
            }
            tokio::select! {
                _ = shutdown.as_mut() => return Ok(()),
                _ = tokio::time::sleep(poll) => {}
            }
        };
        if lease.expires_at == DateTime::<Utc>::MAX_UTC {
            // A store of one monitor: nothing to share.
            store.fence(None);
            return monitor.run_until(shutdown).await;
        }
        following = None;
        let token = lease.token;
        tracing::info!(instance, token, "leading");
        store.fence(Some(token));
        monitor.set_standby(false);
        monitor.save_states_every(Duration::from_secs(1));
        if let Err(e) = monitor.reload().await {
            tracing::warn!(error = %e, "could not read the shared state to lead; standing by");
            let _ = store.resign(instance, token).await;
            continue;
        }
        let lost = Arc::new(tokio::sync::Notify::new());
        let renewal = tokio::spawn(renew(
            store.clone(),
            instance.to_owned(),
            token,
            ttl,
            asked + ttl,
            lost.clone(),
        ));
        let stopping = AtomicBool::new(false);
        let result = monitor
            .run_until(async {
                tokio::select! {
                    _ = shutdown.as_mut() => stopping.store(true, Ordering::Relaxed),
                    _ = lost.notified() => {}
                }
            })
            .await;
        renewal.abort();
        if stopping.load(Ordering::Relaxed) {
            if let Err(e) = store.resign(instance, token).await {
                tracing::warn!(error = %e, "could not give the lead up; it lapses instead");
            }
            return result;
        }
        // Standing by again (the fence moves to the standby's at the top of the loop): whatever
        // this instance still tries to write is refused.
        match result {
            Ok(()) => tracing::warn!(instance, token, "lost the lead; standing by"),
            Err(e) => {
                tracing::warn!(instance, token, error = %e, "lost the lead; standing by")
            }
        }
    }
}

/// Renews the lease every third of `ttl`; tells `lost` when another holds it, or when it
/// could not be renewed and may lapse (after `holds_until`) before the next try.
async fn renew(
    store: Arc<dyn crate::Store>,
    instance: String,
    token: i64,
    ttl: Duration,
    mut holds_until: Instant,
    lost: Arc<tokio::sync::Notify>,
) {
    let every = ttl / 3;
    // `holds_until`: until when the lease surely holds, by this machine's clock, counted from
    // before the request that took or renewed it.
    loop {
        tokio::time::sleep(every).await;
        let asked = Instant::now();
        match tokio::time::timeout(every, store.lead(&instance, Some(token), ttl)).await {
            Ok(Ok(l)) if l.holder == instance && l.token == token => {
                holds_until = asked + ttl;
            }
            Ok(Ok(l)) => {
                tracing::warn!(leader = %l.holder, token = l.token, "another instance took the lead");
                lost.notify_one();
                return;
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "renewing the lead failed"),
            Err(_) => tracing::warn!("renewing the lead took too long"),
        }
        // Stop before the lease can lapse unseen: the next try would come too late.
        if Instant::now() + every >= holds_until {
            tracing::warn!("the lead could not be renewed in time; stopping");
            lost.notify_one();
            return;
        }
    }
}
