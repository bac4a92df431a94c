//! Waiting for what another process or task does: polling until a condition holds.
//!
//! Included with `#[path = "support/wait.rs"] mod wait;` from a test file.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Polls `f` every 50 ms until it gives `Some`, or panics with `what` and `context()` (the
/// logs that explain it) after `limit`.
pub async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(
    limit: Duration,
    what: &str,
    context: impl Fn() -> String,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?}: {what}\n{}",
            context()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
