//! Skipping a test whose real peer or data is missing, without calling it a pass.
//!
//! [`skip`] fails the test under `CI=true` (a green CI always means the peer was exercised).
//! Elsewhere it prints the reason and, when `FOREWARN_SKIP_LOG` names a file (the test script
//! sets it), appends one line `binary::test<TAB>reason` to it, so the script can list the skips
//! and count them apart from the passes: the test harness itself counts a test that returned
//! early as passed.
//!
//! Included with `#[path = "skip.rs"] mod skip;` from the other support files, or
//! `#[path = "support/skip.rs"] mod skip;` from a test file.
#![allow(dead_code)]

use std::fmt::Display;
use std::io::Write;

/// Skips the calling test because `what` is missing (`reason` says why): a failure with
/// `CI=true`, else a recorded skip. The caller returns right after.
#[track_caller]
pub fn skip(what: &str, reason: impl Display) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} is required in CI: {reason}");
    }
    let test = test_name();
    let reason = format!("{what}: {reason}").replace(['\n', '\t'], " ");
    eprintln!("skipped {test}: {reason}");
    if let Some(log) = std::env::var_os("FOREWARN_SKIP_LOG") {
        let line = format!("{test}\t{reason}\n");
        // One write of one short line to a file opened for appending: lines from tests running
        // in parallel do not interleave.
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            panic!(
                "cannot record the skip in {}: {e}",
                std::path::Path::new(&log).display()
            );
        }
    }
}

/// `binary::test`: the test binary's name without cargo's hash, and the test's name (the
/// harness names each test's thread after the test).
fn test_name() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| match s.rsplit_once('-') {
            Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_owned(),
            _ => s,
        })
        .unwrap_or_else(|| "tests".to_owned());
    let thread = std::thread::current();
    format!("{binary}::{}", thread.name().unwrap_or("?"))
}
