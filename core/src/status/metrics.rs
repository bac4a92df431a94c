//! `/metrics`: the monitor's own status in the Prometheus text exposition format 0.0.4.
//!
//! It names checks (labels `check`, `kind`, `group`): it is for a scraper, not the public.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use crate::monitor::MonitorStatus;
use crate::outbox::SinkHealth;
use crate::probe::Status;

/// The content type of the exposition format.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A label value escaped as the format wants: backslash, double quote and line feed.
fn label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A sample value: integers without a fraction, non-finite values as the format spells them.
fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        format!("{v}")
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn seconds_since(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// The exposition of `s`, taken at `now`.
pub(crate) fn render(s: &MonitorStatus, now: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(512 + s.checks.len() * 400);
    let labels: Vec<String> = s
        .checks
        .iter()
        .map(|c| {
            format!(
                "check=\"{}\",kind=\"{}\",group=\"{}\"",
                label(&c.name),
                label(&c.kind),
                label(c.group.as_deref().unwrap_or(""))
            )
        })
        .collect();

    family(
        &mut out,
        "forewarn_check_up",
        "gauge",
        "1 when the check's latest status is ok or warning (the service works), 0 when critical, unknown or not checked yet.",
    );
    for (c, l) in s.checks.iter().zip(&labels) {
        let up = c.last_checked.is_some() && matches!(c.status, Status::Ok | Status::Warning);
        let _ = writeln!(out, "forewarn_check_up{{{l}}} {}", u8::from(up));
    }
    family(
        &mut out,
        "forewarn_check_status",
        "gauge",
        "The check's latest status as a monitoring-plugins code: 0 ok, 1 warning, 2 critical, 3 unknown.",
    );
    for (c, l) in s.checks.iter().zip(&labels) {
        let _ = writeln!(out, "forewarn_check_status{{{l}}} {}", c.status.exit_code());
    }
    family(
        &mut out,
        "forewarn_check_latency_seconds",
        "gauge",
        "How long the check's latest run took.",
    );
    for (c, l) in s.checks.iter().zip(&labels) {
        let _ = writeln!(
            out,
            "forewarn_check_latency_seconds{{{l}}} {}",
            value(c.latency.as_secs_f64())
        );
    }
    family(
        &mut out,
        "forewarn_check_last_run_timestamp_seconds",
        "gauge",
        "When the check last ran (Unix time); absent before its first run.",
    );
    for (c, l) in s.checks.iter().zip(&labels) {
        if let Some(t) = c.last_checked {
            let _ = writeln!(
                out,
                "forewarn_check_last_run_timestamp_seconds{{{l}}} {}",
                value(seconds_since(t))
            );
        }
    }
    family(
        &mut out,
        "forewarn_check_flapping",
        "gauge",
        "1 while the check is flapping.",
    );
    for (c, l) in s.checks.iter().zip(&labels) {
        let _ = writeln!(
            out,
            "forewarn_check_flapping{{{l}}} {}",
            u8::from(c.flapping)
        );
    }
    family(
        &mut out,
        "forewarn_check_incident_open",
        "gauge",
        "1 while the check has an open or acknowledged incident.",
    );
    for (c, l) in s.checks.iter().zip(&labels) {
        let _ = writeln!(
            out,
            "forewarn_check_incident_open{{{l}}} {}",
            u8::from(c.incident.is_some())
        );
    }
    family(
        &mut out,
        "forewarn_incidents_open",
        "gauge",
        "Incidents open or acknowledged.",
    );
    let open = s.checks.iter().filter(|c| c.incident.is_some()).count();
    let _ = writeln!(out, "forewarn_incidents_open {open}");

    family(
        &mut out,
        "forewarn_sink_up",
        "gauge",
        "1 when the sink's health check passed or its latest delivery was accepted, 0 when degraded or not known yet.",
    );
    for sink in &s.sinks {
        let _ = writeln!(
            out,
            "forewarn_sink_up{{sink=\"{}\"}} {}",
            label(&sink.name),
            u8::from(sink.health == SinkHealth::Ok)
        );
    }

    let o = &s.outbox;
    family(
        &mut out,
        "forewarn_outbox_pending",
        "gauge",
        "Notifications waiting to be delivered.",
    );
    let _ = writeln!(out, "forewarn_outbox_pending {}", o.pending);
    family(
        &mut out,
        "forewarn_outbox_retrying",
        "gauge",
        "Waiting notifications that have failed at least once.",
    );
    let _ = writeln!(out, "forewarn_outbox_retrying {}", o.retrying);
    family(
        &mut out,
        "forewarn_outbox_dead",
        "gauge",
        "Notifications given up on.",
    );
    let _ = writeln!(out, "forewarn_outbox_dead {}", o.dead);
    family(
        &mut out,
        "forewarn_outbox_delivered",
        "gauge",
        "Notifications delivered and still kept in the outbox.",
    );
    let _ = writeln!(out, "forewarn_outbox_delivered {}", o.delivered);
    family(
        &mut out,
        "forewarn_outbox_oldest_pending_age_seconds",
        "gauge",
        "How long the oldest waiting notification has waited; 0 when none waits.",
    );
    let age = o.oldest_pending.map_or(0.0, |t| {
        ((now - t).num_milliseconds().max(0) as f64) / 1000.0
    });
    let _ = writeln!(
        out,
        "forewarn_outbox_oldest_pending_age_seconds {}",
        value(age)
    );

    let sc = &s.scheduler;
    family(
        &mut out,
        "forewarn_scheduler_runs_total",
        "counter",
        "Check runs since the monitor started.",
    );
    let _ = writeln!(out, "forewarn_scheduler_runs_total {}", sc.runs);
    family(
        &mut out,
        "forewarn_scheduler_overruns_total",
        "counter",
        "Runs skipped because the check's previous run was still going.",
    );
    let _ = writeln!(out, "forewarn_scheduler_overruns_total {}", sc.overruns);
    family(
        &mut out,
        "forewarn_scheduler_lag_seconds",
        "gauge",
        "Delay between when a check was due and when it started, by quantile since the monitor started.",
    );
    let _ = writeln!(
        out,
        "forewarn_scheduler_lag_seconds{{quantile=\"0.5\"}} {}",
        value(sc.lag_p50)
    );
    let _ = writeln!(
        out,
        "forewarn_scheduler_lag_seconds{{quantile=\"0.99\"}} {}",
        value(sc.lag_p99)
    );
    let _ = writeln!(
        out,
        "forewarn_scheduler_lag_seconds{{quantile=\"1\"}} {}",
        value(sc.lag_max)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(value(f64::NAN), "NaN");
        assert_eq!(value(f64::INFINITY), "+Inf");
        assert_eq!(value(3.0), "3");
        assert_eq!(value(0.25), "0.25");
    }
}
