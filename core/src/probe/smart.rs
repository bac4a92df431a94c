//! The `smart` probe: asks `smartctl` (smartmontools 7 or later) how this machine's disks are,
//! and warns before they fail.
//!
//! ```toml
//! [[checks]]
//! name = "file server disks"
//! type = "smart"
//! interval = "1h"
//! devices = ["/dev/sda", { path = "/dev/sda", type = "megaraid,1" }, "/dev/nvme0"]
//! # smartctl = "/usr/sbin/smartctl"  # default: `smartctl` on the PATH
//! # wear_warning = 90                 # percent of rated life used
//! # wear_horizon = "30d"              # warn when worn out within this, at the recent rate
//! ```
//!
//! Without `devices`, the disks are those `smartctl --scan-open` finds. Each disk is read with
//! `smartctl --json -x [-d TYPE] DEVICE`, and its JSON is used whatever the exit status (a
//! bitmask in which the disk's own troubles are bits too); the decoded [`DiskHealth`] of every
//! disk is the observation's [`Reading::Disk`], and the verdict is the worst disk's:
//!
//! - **Critical**: the overall self-assessment failed, an attribute is failing now, an NVMe
//!   critical warning bit is set, spare below its threshold, media or uncorrected errors.
//! - **Warning**: reallocated, reported uncorrectable, command timeout, pending or offline
//!   uncorrectable counts above 0 (with their rise from the check's history, "0 → 8 → 24 in 3
//!   days"), grown defects, an attribute failed in the past, wear at `wear_warning`, the
//!   temperature above the drive's limit, or wear reaching 100 % within `wear_horizon` at the
//!   recent rate.
//! - **Unknown**: smartctl is missing, or could not read the disk, with smartctl's own
//!   message ("Unable to detect device type" for a USB bridge or a RAID member without `type`,
//!   "Permission denied" without root).
//!
//! Counters, wear, temperature and power-on hours are metrics (`disk.sda.pending_sectors`), so
//! the history holds them for the trends.

pub mod health;
pub mod verdict;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use tokio::io::AsyncReadExt;
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::probe::trend::{self, RateOptions};
use crate::probe::{CheckContext, Metric, Metrics, Observation, Probe, Reading, Status};

pub use health::{AtaAttribute, DiskHealth, NvmeHealth, Protocol, ScsiHealth, WhenFailed};
pub use verdict::Finding;

/// smartctl's device types (`-d`) this probe accepts, by their name before any `,` argument.
/// The types that address one disk behind a controller need their argument.
const DEVICE_TYPES: &[(&str, bool)] = &[
    ("auto", false),
    ("test", false),
    ("ata", false),
    ("scsi", false),
    ("nvme", false),
    ("sat", false),
    ("usbcypress", false),
    ("usbjmicron", false),
    ("usbprolific", false),
    ("usbsunplus", false),
    ("sntasmedia", false),
    ("sntjmicron", false),
    ("sntrealtek", false),
    ("marvell", false),
    ("intelliprop", true),
    ("jmb39x", true),
    ("jmb39x-q", true),
    ("jms56x", true),
    ("areca", true),
    ("3ware", true),
    ("hpt", true),
    ("megaraid", true),
    ("aacraid", true),
    ("cciss", true),
];

/// Checks a smartctl device type (`sat`, `megaraid,0`, `sat+megaraid,2`, `usbjmicron,p`).
pub fn check_device_type(t: &str) -> std::result::Result<(), String> {
    if t.is_empty() {
        return Err("the device type is empty".into());
    }
    for part in t.split('+') {
        let (name, arg) = match part.split_once(',') {
            Some((n, a)) => (n, Some(a)),
            None => (part, None),
        };
        let Some((_, needs_arg)) = DEVICE_TYPES.iter().find(|(n, _)| *n == name) else {
            let known: Vec<&str> = DEVICE_TYPES.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "unknown device type `{name}` in `{t}` (known: {})",
                known.join(", ")
            ));
        };
        match arg {
            None if *needs_arg => {
                return Err(format!(
                    "device type `{name}` needs the disk's number, as in `{name},0`"
                ));
            }
            Some(a)
                if a.is_empty()
                    || !a
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ',' | '/' | '-')) =>
            {
                return Err(format!("bad argument `{a}` of device type `{name}`"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// One disk to read: a device path and, where smartctl cannot tell by itself, its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// The device (`/dev/sda`, `/dev/nvme0`, `/dev/bus/0`).
    pub path: PathBuf,
    /// smartctl's `-d` type (`sat`, `megaraid,0`, `usbjmicron`), checked by
    /// [`check_device_type`].
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
}

impl Device {
    /// A device by path, type detected by smartctl.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            device_type: None,
        }
    }

    /// "/dev/sda" or "/dev/sda \[megaraid,0\]".
    pub fn label(&self) -> String {
        match &self.device_type {
            Some(t) => format!("{} [{t}]", self.path.display()),
            None => self.path.display().to_string(),
        }
    }

    /// The metric name's part for this disk: `sda`, `sda_megaraid_0`, `nvme0`.
    pub fn slug(&self) -> String {
        let path = self.path.to_string_lossy();
        let mut s = path.strip_prefix("/dev/").unwrap_or(&path).to_owned();
        if let Some(t) = &self.device_type {
            s.push('_');
            s.push_str(t);
        }
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    }
}

fn path_problem(p: &str) -> Option<String> {
    if p.trim().is_empty() {
        Some("the device path is empty".into())
    } else if !p.starts_with('/') {
        Some(format!(
            "`{p}` is not an absolute device path (as in `/dev/sda`)"
        ))
    } else {
        None
    }
}

impl<'de> Deserialize<'de> for Device {
    /// `"/dev/sda"` or `{ path = "/dev/sda", type = "megaraid,0" }`; the values are checked
    /// by [`SmartConfig::validate`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Device;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a device path, or a table with `path` and `type`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Device, E> {
                Ok(Device::new(v))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Device, A::Error> {
                let mut path: Option<String> = None;
                let mut device_type = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "path" => path = Some(map.next_value()?),
                        "type" => device_type = Some(map.next_value()?),
                        other => return Err(de::Error::unknown_field(other, &["path", "type"])),
                    }
                }
                let path = path.ok_or_else(|| de::Error::missing_field("path"))?;
                Ok(Device {
                    path: path.into(),
                    device_type,
                })
            }
        }
        d.deserialize_any(V)
    }
}

fn default_smartctl() -> PathBuf {
    PathBuf::from("smartctl")
}

fn default_wear_warning() -> u64 {
    90
}

fn default_horizon() -> Duration {
    Duration::from_secs(30 * 86_400)
}

fn default_window() -> Duration {
    Duration::from_secs(14 * 86_400)
}

/// Configuration of the `smart` probe.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SmartConfig {
    /// The disks; empty: those `smartctl --scan-open` finds.
    #[serde(default)]
    pub devices: Vec<Device>,
    /// The smartctl program: a name looked up on the PATH, or an absolute path.
    #[serde(default = "default_smartctl")]
    pub smartctl: PathBuf,
    /// Warn from this percentage of rated life used (1–100, default 90).
    #[serde(default = "default_wear_warning")]
    pub wear_warning: u64,
    /// Warn when the wear reaches 100 % within this, at the recent rate (default "30d"; "0s"
    /// turns the forecast off).
    #[serde(default = "default_horizon", with = "crate::config::duration")]
    pub wear_horizon: Duration,
    /// The history the trends look at (default "14d").
    #[serde(default = "default_window", with = "crate::config::duration")]
    pub trend_window: Duration,
}

impl Default for SmartConfig {
    fn default() -> Self {
        Self {
            devices: Vec::new(),
            smartctl: default_smartctl(),
            wear_warning: default_wear_warning(),
            wear_horizon: default_horizon(),
            trend_window: default_window(),
        }
    }
}

impl SmartConfig {
    /// Checks the values, naming the offending field in the error.
    pub fn validate(&self) -> Result<()> {
        let s = self.smartctl.to_string_lossy();
        if s.trim().is_empty() {
            return Err(Error::invalid("smartctl", "the program path is empty"));
        }
        if s.contains('/') && !self.smartctl.is_absolute() {
            return Err(Error::invalid(
                "smartctl",
                format!("`{s}` is relative: give a program name on the PATH or an absolute path"),
            ));
        }
        for (i, d) in self.devices.iter().enumerate() {
            let at = |problem: String| {
                Error::invalid(
                    "devices",
                    format!("device {} of the list: {problem}", i + 1),
                )
            };
            if let Some(p) = path_problem(&d.path.to_string_lossy()) {
                return Err(at(p));
            }
            if let Some(t) = &d.device_type {
                check_device_type(t).map_err(at)?;
            }
        }
        if !(1..=100).contains(&self.wear_warning) {
            return Err(Error::invalid("wear_warning", "must be 1–100 (percent)"));
        }
        if self.trend_window < Duration::from_secs(3600) {
            return Err(Error::invalid("trend_window", "must be at least 1h"));
        }
        Ok(())
    }

    /// Builds the probe.
    pub fn build(&self) -> Result<SmartProbe> {
        self.validate()?;
        Ok(SmartProbe { cfg: self.clone() })
    }
}

/// One disk's result in a [`DiskReading`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskReport {
    /// The device as configured or found ("/dev/sda").
    pub device: String,
    /// Its `-d` type, when given or found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    /// The verdict on this disk.
    pub status: Status,
    /// Why, in plain words ("8 pending sectors"); smartctl's message when it could not read
    /// the disk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// What smartctl said about it, when it could read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<DiskHealth>,
}

/// What the `smart` check learnt: every disk read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiskReading {
    /// The disks, in the order configured or found.
    pub disks: Vec<DiskReport>,
}

/// The `smart` probe. Build it with [`SmartConfig::build`].
#[derive(Debug)]
pub struct SmartProbe {
    cfg: SmartConfig,
}

/// What one smartctl run gave.
struct Run {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    code: Option<i32>,
}

/// Runs smartctl with `args` until `deadline`.
async fn run_smartctl(
    program: &std::path::Path,
    args: &[&std::ffi::OsStr],
    deadline: Instant,
) -> std::result::Result<Run, String> {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // A program being replaced (a package upgrade) is briefly busy: try again shortly.
    let mut spawned = cmd.spawn();
    for _ in 0..3 {
        match &spawned {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                spawned = cmd.spawn();
            }
            _ => break,
        }
    }
    let mut child = spawned.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!(
                "smartctl not found (`{}`): install smartmontools",
                program.display()
            )
        } else {
            format!("cannot run `{}`: {e}", program.display())
        }
    })?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let work = async {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        // smartctl's JSON of one disk is tens of kilobytes; a cap keeps a runaway program
        // from filling memory.
        let mut out = (&mut out).take(16 << 20);
        let mut err = (&mut err).take(64 << 10);
        let (a, b) = tokio::join!(out.read_to_end(&mut stdout), err.read_to_end(&mut stderr));
        a.and(b)
            .map_err(|e| format!("reading smartctl's output: {e}"))?;
        let status = child
            .wait()
            .await
            .map_err(|e| format!("waiting for smartctl: {e}"))?;
        Ok::<_, String>(Run {
            stdout,
            stderr,
            code: status.code(),
        })
    };
    match tokio::time::timeout_at(deadline, work).await {
        Ok(r) => r,
        Err(_) => Err("smartctl did not answer in time".into()),
    }
}

/// What the exit status bits 0–2 say went wrong before the disk was read.
pub fn exit_reasons(status: u8) -> Vec<&'static str> {
    let mut r = Vec::new();
    if status & 0x01 != 0 {
        r.push("command line did not parse");
    }
    if status & 0x02 != 0 {
        r.push("device open failed");
    }
    if status & 0x04 != 0 {
        r.push("SMART command failed");
    }
    r
}

/// Why smartctl gave nothing usable: the exit bits and its own messages.
fn unreadable(code: Option<u8>, messages: &[String], stderr: &[u8]) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(c) = code {
        let bits = exit_reasons(c);
        parts.push(if bits.is_empty() {
            format!("smartctl exited with {c}")
        } else {
            format!("{} (exit status {c})", bits.join(", "))
        });
    }
    let mut said: Vec<String> = messages.to_vec();
    if said.is_empty() {
        let e = String::from_utf8_lossy(stderr);
        if let Some(line) = e.lines().map(str::trim).find(|l| !l.is_empty()) {
            said.push(line.chars().take(300).collect());
        }
    }
    if said.is_empty() && parts.is_empty() {
        return "smartctl said nothing about the disk".into();
    }
    parts.extend(said);
    parts.join(": ")
}

/// Judges one disk's smartctl output (the bytes it printed, and its exit code when known).
pub fn assess(device: &Device, stdout: &[u8], code: Option<i32>, wear_warning: u64) -> DiskReport {
    assess_with(device, stdout, code, b"", wear_warning)
}

fn assess_with(
    device: &Device,
    stdout: &[u8],
    code: Option<i32>,
    stderr: &[u8],
    wear_warning: u64,
) -> DiskReport {
    let code8 = code.and_then(|c| u8::try_from(c).ok());
    let unknown = |reason: String| DiskReport {
        device: device.path.display().to_string(),
        device_type: device.device_type.clone(),
        status: Status::Unknown,
        reasons: vec![reason],
        health: None,
    };
    let health = match health::decode(stdout) {
        Ok(h) => h,
        Err(e) => {
            let mut reason = unreadable(code8, &[], stderr);
            if code8.is_none_or(|c| c & 0x07 == 0) && stderr.is_empty() {
                reason = format!("{reason} ({e})");
            }
            return unknown(reason);
        }
    };
    if !health.is_usable() {
        return unknown(unreadable(
            health.exit_status.or(code8),
            &health.messages,
            stderr,
        ));
    }
    let findings = verdict::judge(&health, wear_warning);
    let status = findings.iter().fold(Status::Ok, |s, f| s.worst(f.status));
    DiskReport {
        device: device.path.display().to_string(),
        device_type: device.device_type.clone(),
        status,
        reasons: findings.into_iter().map(|f| f.text).collect(),
        health: Some(health),
    }
}

/// The metrics of one disk (names below `disk.SLUG.`).
fn disk_metrics(slug: &str, h: &DiskHealth, out: &mut Metrics) {
    let mut put = |name: &str, v: Option<u64>, unit: &'static str| {
        if let Some(v) = v {
            out.insert(
                format!("disk.{slug}.{name}").into(),
                Metric::new(v as f64, unit),
            );
        }
    };
    put("reallocated_sectors", h.raw(5), "");
    put("pending_sectors", h.raw(197), "");
    put("offline_uncorrectable", h.raw(198), "");
    put("wear_percent", h.percentage_used, "%");
    put("power_on_hours", h.power_on_hours, "h");
    put(
        "media_errors",
        h.nvme.as_ref().and_then(|n| n.media_errors),
        "",
    );
    put(
        "grown_defects",
        h.scsi.as_ref().and_then(|s| s.grown_defects),
        "",
    );
    if let Some(t) = h.temperature {
        out.insert(
            format!("disk.{slug}.temperature").into(),
            Metric::new(t as f64, "°C"),
        );
    }
}

/// Metric series read back from the history, by metric name.
type Series = BTreeMap<String, Vec<(DateTime<Utc>, f64)>>;

impl SmartProbe {
    /// The configuration.
    pub fn config(&self) -> &SmartConfig {
        &self.cfg
    }

    /// The disks to read: the configured ones, else those `smartctl --scan-open` finds.
    async fn devices(&self, deadline: Instant) -> std::result::Result<Vec<Device>, String> {
        if !self.cfg.devices.is_empty() {
            return Ok(self.cfg.devices.clone());
        }
        let run = run_smartctl(
            &self.cfg.smartctl,
            &["--scan-open".as_ref(), "--json".as_ref()],
            deadline,
        )
        .await?;
        let v: serde_json::Value = serde_json::from_slice(&run.stdout).map_err(|e| {
            format!(
                "smartctl --scan-open: {}",
                unreadable(
                    run.code.and_then(|c| u8::try_from(c).ok()),
                    &[],
                    &run.stderr
                ) + &format!(" ({e})")
            )
        })?;
        let found: Vec<Device> = v["devices"]
            .as_array()
            .map(|d| {
                d.iter()
                    .filter_map(|d| {
                        let path = d["name"].as_str()?;
                        Some(Device {
                            path: path.into(),
                            device_type: d["type"]
                                .as_str()
                                .filter(|t| check_device_type(t).is_ok())
                                .map(str::to_owned),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        if found.is_empty() {
            return Err("smartctl --scan-open found no disks".into());
        }
        Ok(found)
    }

    /// The stored metric series of this check within the trend window.
    async fn history(&self, cx: &CheckContext) -> Series {
        let mut series = Series::new();
        let Some(h) = &cx.history else {
            return series;
        };
        let since = cx.now()
            - chrono::Duration::from_std(self.cfg.trend_window)
                .unwrap_or(chrono::Duration::days(14));
        if let Ok(obs) = h.since(since, 5_000).await {
            for o in obs.iter().rev() {
                for (name, m) in &o.metrics {
                    if name.starts_with("disk.") {
                        series
                            .entry(name.to_string())
                            .or_default()
                            .push((o.at, m.value));
                    }
                }
            }
        }
        series
    }

    /// Adds what the history shows to one disk's report: rising counters and the wear
    /// forecast.
    fn trends(&self, slug: &str, at: DateTime<Utc>, series: &Series, report: &mut DiskReport) {
        let Some(h) = &report.health else {
            return;
        };
        let with_now = |metric: &str, now: Option<u64>| -> Vec<(DateTime<Utc>, f64)> {
            let mut s = series
                .get(&format!("disk.{slug}.{metric}"))
                .cloned()
                .unwrap_or_default();
            if let Some(v) = now {
                s.push((at, v as f64));
            }
            s
        };
        for (id, metric, many) in [
            (5, "reallocated_sectors", "reallocated sectors"),
            (197, "pending_sectors", "pending sectors"),
        ] {
            let s = with_now(metric, h.raw(id));
            if let Some(r) = trend::rise(&s, 4)
                && h.raw(id).is_some_and(|v| v as f64 == r.to)
            {
                let text = format!("{many} rising: {r}");
                // Beside the count's own reason, or as one of its own.
                let own = verdict::PREDICTORS
                    .iter()
                    .find(|p| p.0 == id)
                    .map(|p| verdict::count(h.raw(id).unwrap_or(0), p.1, p.2));
                match own.and_then(|o| report.reasons.iter_mut().find(|x| **x == o)) {
                    Some(reason) => *reason = format!("{reason} ({r})"),
                    None => report.reasons.push(text),
                }
                report.status = report.status.worst(Status::Warning);
            }
        }
        if !self.cfg.wear_horizon.is_zero()
            && let Some(used) = h.percentage_used
            && used < 100
        {
            let s = with_now("wear_percent", Some(used));
            let opts = RateOptions {
                window: self.cfg.trend_window,
                ..RateOptions::default()
            };
            if let Some(f) = trend::forecast(&s, 100.0, &opts)
                && f.eta <= self.cfg.wear_horizon
            {
                report
                    .reasons
                    .push(format!("{used} % worn, {}", f.describe("worn out")));
                report.status = report.status.worst(Status::Warning);
            }
        }
    }
}

/// "healthy, 36 °C, 14551 power-on hours, 19 % worn".
fn healthy(h: &DiskHealth) -> String {
    let mut s = String::from("healthy");
    if let Some(t) = h.temperature {
        s.push_str(&format!(", {t} °C"));
    }
    if let Some(p) = h.power_on_hours {
        s.push_str(&format!(", {p} power-on hours"));
    }
    if let Some(w) = h.percentage_used {
        s.push_str(&format!(", {w} % worn"));
    }
    s
}

#[async_trait]
impl Probe for SmartProbe {
    async fn check(&self, cx: &CheckContext) -> Observation {
        let started = Instant::now();
        let at = cx.now();
        let deadline = started + cx.timeout;
        let devices = match self.devices(deadline).await {
            Ok(d) => d,
            Err(e) => {
                return Observation::new(Status::Unknown, e, at).with_latency(started.elapsed());
            }
        };
        let series = self.history(cx).await;
        let mut metrics = Metrics::new();
        let mut disks = Vec::with_capacity(devices.len());
        for d in &devices {
            let mut args: Vec<&std::ffi::OsStr> = vec!["--json".as_ref(), "-x".as_ref()];
            if let Some(t) = &d.device_type {
                args.push("-d".as_ref());
                args.push(t.as_ref());
            }
            args.push(d.path.as_os_str());
            let mut report = match run_smartctl(&self.cfg.smartctl, &args, deadline).await {
                Ok(run) => {
                    assess_with(d, &run.stdout, run.code, &run.stderr, self.cfg.wear_warning)
                }
                Err(e) => DiskReport {
                    device: d.path.display().to_string(),
                    device_type: d.device_type.clone(),
                    status: Status::Unknown,
                    reasons: vec![e],
                    health: None,
                },
            };
            let slug = d.slug();
            self.trends(&slug, at, &series, &mut report);
            if let Some(h) = &report.health {
                disk_metrics(&slug, h, &mut metrics);
            }
            disks.push((d.label(), report));
        }
        let status = disks.iter().fold(Status::Ok, |s, (_, r)| s.worst(r.status));
        let troubled: Vec<String> = disks
            .iter()
            .filter(|(_, r)| !r.reasons.is_empty())
            .map(|(l, r)| format!("{l}: {}", r.reasons.join(", ")))
            .collect();
        let summary = if troubled.is_empty() {
            match &disks[..] {
                [(l, r)] => format!(
                    "{l}: {}",
                    r.health.as_ref().map(healthy).unwrap_or_default()
                ),
                _ => format!("all {} disks healthy", disks.len()),
            }
        } else {
            let fine = disks.len() - troubled.len();
            let mut s = troubled.join("; ");
            if fine > 0 {
                s.push_str(&format!(
                    "; {fine} other disk{} healthy",
                    if fine == 1 { "" } else { "s" }
                ));
            }
            s
        };
        let mut obs = Observation::new(status, summary, at)
            .with_latency(started.elapsed())
            .with_reading(Reading::Disk(Box::new(DiskReading {
                disks: disks.into_iter().map(|(_, r)| r).collect(),
            })));
        obs.metrics = metrics;
        obs
    }

    fn kind(&self) -> &str {
        "smart"
    }

    fn target(&self) -> String {
        if self.cfg.devices.is_empty() {
            "all disks".into()
        } else {
            self.cfg
                .devices
                .iter()
                .map(Device::label)
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_types() {
        for ok in [
            "sat",
            "megaraid,0",
            "sat+megaraid,2",
            "usbjmicron,p",
            "nvme",
            "areca,1/2",
        ] {
            assert_eq!(check_device_type(ok), Ok(()), "{ok}");
        }
        assert!(
            check_device_type("megaraid")
                .unwrap_err()
                .contains("megaraid,0")
        );
        assert!(
            check_device_type("sata")
                .unwrap_err()
                .contains("unknown device type `sata`")
        );
        assert!(check_device_type("sat,;rm").is_err());
        assert!(check_device_type("").is_err());
    }

    #[test]
    fn slugs_and_labels() {
        let d = Device {
            path: "/dev/sda".into(),
            device_type: Some("megaraid,0".into()),
        };
        assert_eq!(d.slug(), "sda_megaraid_0");
        assert_eq!(d.label(), "/dev/sda [megaraid,0]");
        assert_eq!(Device::new("/dev/nvme0").slug(), "nvme0");
    }

    #[test]
    fn without_json_the_exit_bits_say_why() {
        let d = Device::new("/dev/sdz");
        let r = assess_with(
            &d,
            b"",
            Some(2),
            b"Smartctl open device: /dev/sdz failed: No such device\n",
            90,
        );
        assert_eq!(r.status, Status::Unknown);
        assert_eq!(
            r.reasons,
            [
                "device open failed (exit status 2): Smartctl open device: /dev/sdz failed: No such device"
            ]
        );
    }
}
