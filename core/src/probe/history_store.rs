//! The monitor's own history store: room left on its disk.
//!
//! Added by [`crate::Monitor::from_config`] as the check `history-store` when the history is a
//! local file and `[monitor.history] min_free` is not 0. Below `min_free` it warns "history
//! store near full", which opens an incident like any other check, while the monitor sheds the
//! oldest raw history to keep writing (see [`crate::store::Store::shed_oldest_raw`]).

use std::sync::Arc;

use async_trait::async_trait;

use super::{CheckContext, Observation, Probe, Status};
use crate::store::Store;

/// Watches the free space of the history's file system.
#[derive(Debug, Clone)]
pub struct HistoryStoreProbe {
    store: Arc<dyn Store>,
    min_free: u64,
}

impl HistoryStoreProbe {
    /// Warns when less than `min_free` bytes are free beside `store`'s file.
    pub fn new(store: Arc<dyn Store>, min_free: u64) -> Self {
        Self { store, min_free }
    }
}

/// A size for people: "812 MiB", "1.5 GiB".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 || v >= 100.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[async_trait]
impl Probe for HistoryStoreProbe {
    async fn check(&self, cx: &CheckContext) -> Observation {
        let now = cx.now();
        match self.store.space().await {
            Ok(Some(space)) => {
                let dir = space
                    .path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .map_or_else(|| ".".to_owned(), |p| p.display().to_string());
                let room = format!(
                    "{} free of {} on {dir}; the history takes {}",
                    human_bytes(space.free),
                    human_bytes(space.total),
                    human_bytes(space.used)
                );
                let (status, summary) = if space.free < self.min_free {
                    (
                        Status::Warning,
                        format!(
                            "history store near full: {room} (keeps {} free): the oldest raw \
                             history is shed, monitoring and alerts go on",
                            human_bytes(self.min_free)
                        ),
                    )
                } else {
                    (Status::Ok, format!("history store: {room}"))
                };
                Observation::new(status, summary, now)
                    .with_metric("free", space.free as f64, "B")
                    .with_metric("used", space.used as f64, "B")
            }
            Ok(None) => Observation::new(Status::Ok, "history store: not a file on disk", now),
            Err(e) => Observation::new(
                Status::Unknown,
                format!("history store: cannot read its free space: {e}"),
                now,
            ),
        }
    }

    fn kind(&self) -> &str {
        "history"
    }

    fn target(&self) -> String {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(812 << 20), "812 MiB");
        assert_eq!(human_bytes(20 << 30), "20.0 GiB");
    }

    #[tokio::test]
    async fn warns_below_the_threshold_and_names_the_room() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(crate::SqliteStore::open(dir.path().join("h.db")).unwrap());
        let cx = CheckContext::for_test("history-store");
        let ok = HistoryStoreProbe::new(store.clone(), 1).check(&cx).await;
        assert_eq!(ok.status, Status::Ok, "{}", ok.summary);
        assert!(ok.summary.contains(" free of "), "{}", ok.summary);
        let near = HistoryStoreProbe::new(store, u64::MAX).check(&cx).await;
        assert_eq!(near.status, Status::Warning);
        assert!(
            near.summary.starts_with("history store near full: "),
            "{}",
            near.summary
        );
        assert!(near.metrics["free"].value > 0.0);
    }
}
