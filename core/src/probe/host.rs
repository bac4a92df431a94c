//! The `host` probe: this machine's health — CPU, load, memory, swap, free disk space, and where
//! the machine exposes them temperatures, thermal throttling, memory errors, pressure stalls,
//! reboots and laptop batteries.
//!
//! Every setting is optional:
//!
//! ```toml
//! [standards.staff-laptops]   # thresholds written once per kind of machine
//! battery_health = 70
//!
//! [[checks]]
//! name = "this server"
//! type = "host"
//! cpu = { warning = 90, critical = 98 }            # percent busy since the previous check
//! load_per_core = { warning = 2.0, critical = 4.0 } # 5-minute load average per logical CPU
//! memory_available = { warning = 10, critical = 5 } # percent available
//! swap_used = { warning = 50, critical = 80 }       # percent used (skipped without swap)
//! disk_free = { warning = 15, critical = 5 }        # percent free per file system
//! disk_free_bytes = { warning = "10GB", critical = "2GB" }
//! mounts = ["/", "/srv"]                            # default: every real file system
//! ignore_mounts = ["/boot/efi"]
//! temperature_margin = 5      # °C below a sensor's high limit that already warns (default 0)
//! battery_health = 60         # percent of design capacity below which a battery warns
//! reboot = "warning"          # the status of a reboot since the previous check (ok, warning, critical)
//! sustained = { cpu_percent = 90, cpu_pressure = 80, memory_pressure = 20, io_pressure = 50, window = "10m" }
//! disk_full_within = "14d"    # warn when a file system would be full this soon at its recent rate
//! standard = "staff-laptops"  # a `[standards.NAME]` profile; the check's own keys win
//! root = "/"                  # where /sys and /proc are read (a container mounting the host's at /host)
//! ```
//!
//! The Linux readers live in [`linux`]; what is kept between checks (previous counters, the
//! boot, since when a measure is high) and the verdicts on it in `health`.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::Mutex;
use serde::{Deserialize, Deserializer};
use sysinfo::{DiskRefreshKind, Disks, MemoryRefreshKind, System};

use crate::error::{Error, Result};
use crate::probe::reading::{FilesystemReading, HostReading, Reading};
use crate::probe::{CheckContext, Metric, Observation, Probe, Status};

#[cfg(not(target_os = "linux"))]
mod components;
mod health;
pub mod linux;
mod standard;

pub use standard::{StandardConfig, SustainedConfig};

/// File systems that hold no user data and are never checked unless listed in `mounts`.
const PSEUDO_FILE_SYSTEMS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fusectl",
    "fuse.gvfsd-fuse",
    "fuse.lxcfs",
    "fuse.portal",
    "hugetlbfs",
    "iso9660",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rootfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
    "udf",
];

/// Mount points below these directories are system plumbing, never data.
const PSEUDO_MOUNT_PREFIXES: &[&str] = &["/proc", "/sys", "/dev", "/run", "/snap"];

/// A warning and a critical threshold; an unset one takes the field's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// The warning threshold.
    #[serde(default)]
    pub warning: Option<f64>,
    /// The critical threshold.
    #[serde(default)]
    pub critical: Option<f64>,
}

/// A number of bytes, written in config as `"500MB"`, `"10GiB"`, `"1.5T"` or a plain integer.
///
/// `kB`, `MB`, `GB`, `TB` are powers of 1000; `KiB`, `MiB`, `GiB`, `TiB` and the bare `K`, `M`,
/// `G`, `T` (as `df -h` prints them) are powers of 1024.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The number of bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        let bad = || {
            Error::invalid(
                "size",
                format!("`{s}` is not a size (try \"500MB\", \"10GiB\", \"2G\")"),
            )
        };
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let number: f64 = number.parse().map_err(|_| bad())?;
        let multiplier: f64 = match unit.trim() {
            "" | "B" | "b" => 1.0,
            "kB" | "KB" | "kb" => 1e3,
            "MB" | "mb" => 1e6,
            "GB" | "gb" => 1e9,
            "TB" | "tb" => 1e12,
            "K" | "k" | "KiB" | "kiB" => 1024.0,
            "M" | "MiB" => 1024.0 * 1024.0,
            "G" | "GiB" => 1024.0 * 1024.0 * 1024.0,
            "T" | "TiB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            _ => return Err(bad()),
        };
        let bytes = number * multiplier;
        if !bytes.is_finite() || bytes >= u64::MAX as f64 {
            return Err(bad());
        }
        Ok(ByteSize(bytes.round() as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&human_bytes(self.0))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(ByteSize(n)),
            Raw::Text(s) => s.parse().map_err(|e: Error| {
                serde::de::Error::custom(match e {
                    Error::Invalid { message, .. } => message,
                    other => other.to_string(),
                })
            }),
        }
    }
}

/// Free-space thresholds in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByteThresholds {
    /// Warn when less than this is free.
    #[serde(default)]
    pub warning: Option<ByteSize>,
    /// Critical when less than this is free.
    #[serde(default)]
    pub critical: Option<ByteSize>,
}

/// Configuration of the `host` probe. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Percent CPU busy since the previous check (default warning 90, critical 98).
    #[serde(default)]
    pub cpu: Thresholds,
    /// The 5-minute load average per logical CPU (default warning 2.0, critical 4.0).
    #[serde(default)]
    pub load_per_core: Thresholds,
    /// Percent of memory available (default warning 10, critical 5; lower is worse).
    #[serde(default)]
    pub memory_available: Thresholds,
    /// Percent of swap used (default warning 50, critical 80); skipped without swap.
    #[serde(default)]
    pub swap_used: Thresholds,
    /// Percent free per file system (default warning 15, critical 5; lower is worse).
    #[serde(default)]
    pub disk_free: Thresholds,
    /// Free bytes per file system (no default).
    #[serde(default)]
    pub disk_free_bytes: Option<ByteThresholds>,
    /// Mount points to check; default: every real file system, once per device.
    #[serde(default)]
    pub mounts: Vec<String>,
    /// Mount points never to check.
    #[serde(default)]
    pub ignore_mounts: Vec<String>,
    /// °C below a sensor's high limit (its critical one when it gives no high) that already
    /// warns (default 0: warn above the high limit). At the critical limit it is Critical.
    #[serde(default)]
    pub temperature_margin: Option<f64>,
    /// Percent of a battery's design capacity below which it warns (default 60).
    #[serde(default)]
    pub battery_health: Option<f64>,
    /// The status of a reboot since the previous check (default warning; `ok` only tells).
    #[serde(default)]
    pub reboot: Option<Status>,
    /// Limits that warn only when they last a whole window: CPU busy and pressure stalls.
    #[serde(default)]
    pub sustained: SustainedConfig,
    /// Warn when a file system, at the rate its free space fell over the last 14 days of the
    /// check's history, would be full within this long (default "14d"; "0s" turns the forecast
    /// off). At least 1 hour, at most 365 days.
    #[serde(default, with = "crate::config::opt_duration")]
    pub disk_full_within: Option<Duration>,
    /// A `[standards.NAME]` profile whose settings apply where the check sets none (default:
    /// its group's standard, if any). Resolved when the config is loaded.
    #[serde(default)]
    pub standard: Option<String>,
    /// The directory `/sys` and `/proc` are read under (default `/`).
    #[serde(default)]
    pub root: Option<PathBuf>,
}

/// Resolved thresholds of one measure.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Limits {
    warning: f64,
    critical: f64,
    /// Whether lower values are worse (free space, available memory).
    lower_is_worse: bool,
}

impl Limits {
    fn resolve(
        t: &Thresholds,
        field: &str,
        (warning, critical): (f64, f64),
        lower_is_worse: bool,
        max: Option<f64>,
    ) -> Result<Self> {
        let limits = Limits {
            warning: t.warning.unwrap_or(warning),
            critical: t.critical.unwrap_or(critical),
            lower_is_worse,
        };
        for (name, v) in [("warning", limits.warning), ("critical", limits.critical)] {
            let upper = max.unwrap_or(f64::MAX);
            if !v.is_finite() || v < 0.0 || v > upper {
                let range = match max {
                    Some(m) => format!("0–{m}"),
                    None => "a number ≥ 0".to_owned(),
                };
                return Err(Error::invalid(
                    field,
                    format!("the {name} threshold {v} is out of range ({range})"),
                ));
            }
        }
        if lower_is_worse && limits.warning < limits.critical {
            return Err(Error::invalid(
                field,
                format!(
                    "the warning threshold ({}) is below the critical one ({}); lower values are worse here",
                    limits.warning, limits.critical
                ),
            ));
        }
        if !lower_is_worse && limits.warning > limits.critical {
            return Err(Error::invalid(
                field,
                format!(
                    "the warning threshold ({}) is above the critical one ({})",
                    limits.warning, limits.critical
                ),
            ));
        }
        Ok(limits)
    }

    fn status(&self, value: f64) -> Status {
        let past = |limit: f64| {
            if self.lower_is_worse {
                value < limit
            } else {
                value > limit
            }
        };
        if past(self.critical) {
            Status::Critical
        } else if past(self.warning) {
            Status::Warning
        } else {
            Status::Ok
        }
    }
}

/// Every resolved setting of the probe.
#[derive(Debug, Clone, PartialEq)]
struct Settings {
    cpu: Limits,
    load_per_core: Limits,
    memory_available: Limits,
    swap_used: Limits,
    disk_free: Limits,
    disk_free_bytes: Option<Limits>,
    mounts: Vec<String>,
    ignore_mounts: Vec<String>,
    health: health::HealthSettings,
    /// How soon a forecast "full" warns; `None` turns the forecast off.
    disk_full_within: Option<Duration>,
}

/// The longest `sustained.window`.
const MAX_WINDOW: Duration = Duration::from_secs(86_400);

/// A percentage setting (0–100), or its default.
fn percent(field: &str, value: Option<f64>, default: f64) -> Result<f64> {
    let v = value.unwrap_or(default);
    if !v.is_finite() || !(0.0..=100.0).contains(&v) {
        return Err(Error::invalid(
            field,
            format!("{v} is out of range (0–100)"),
        ));
    }
    Ok(v)
}

impl HostConfig {
    /// Checks the values, naming the offending field in the error.
    pub fn validate(&self) -> Result<()> {
        self.settings().map(|_| ())
    }

    fn settings(&self) -> Result<Settings> {
        let pct = Some(100.0);
        let disk_free_bytes = match &self.disk_free_bytes {
            None => None,
            Some(b) if b.warning.is_none() && b.critical.is_none() => None,
            Some(b) => {
                let as_f64 = |s: Option<ByteSize>| s.map(|s| s.0 as f64);
                let t = Thresholds {
                    warning: as_f64(b.warning).or(as_f64(b.critical)),
                    critical: as_f64(b.critical).or(Some(0.0)),
                };
                Some(Limits::resolve(
                    &t,
                    "disk_free_bytes",
                    (0.0, 0.0),
                    true,
                    None,
                )?)
            }
        };
        for (field, list) in [
            ("mounts", &self.mounts),
            ("ignore_mounts", &self.ignore_mounts),
        ] {
            if let Some(bad) = list.iter().find(|m| !Path::new(m.as_str()).is_absolute()) {
                return Err(Error::invalid(
                    field,
                    format!("`{bad}` is not an absolute mount point"),
                ));
            }
        }
        Ok(Settings {
            cpu: Limits::resolve(&self.cpu, "cpu", (90.0, 98.0), false, pct)?,
            load_per_core: Limits::resolve(
                &self.load_per_core,
                "load_per_core",
                (2.0, 4.0),
                false,
                None,
            )?,
            memory_available: Limits::resolve(
                &self.memory_available,
                "memory_available",
                (10.0, 5.0),
                true,
                pct,
            )?,
            swap_used: Limits::resolve(&self.swap_used, "swap_used", (50.0, 80.0), false, pct)?,
            disk_free: Limits::resolve(&self.disk_free, "disk_free", (15.0, 5.0), true, pct)?,
            disk_free_bytes,
            mounts: self.mounts.clone(),
            ignore_mounts: self.ignore_mounts.clone(),
            health: self.health_settings()?,
            disk_full_within: self.disk_full_within()?,
        })
    }

    fn disk_full_within(&self) -> Result<Option<Duration>> {
        match self.disk_full_within {
            None => Ok(Some(DEFAULT_DISK_FULL_WITHIN)),
            Some(d) if d.is_zero() => Ok(None),
            Some(d) if d < Duration::from_secs(3600) || d > Duration::from_secs(365 * 86_400) => {
                Err(Error::invalid(
                    "disk_full_within",
                    format!(
                        "{} is out of range (at least 1 hour, at most 365 days; \"0s\" turns the forecast off)",
                        humantime::format_duration(d)
                    ),
                ))
            }
            Some(d) => Ok(Some(d)),
        }
    }

    fn health_settings(&self) -> Result<health::HealthSettings> {
        let margin = self.temperature_margin.unwrap_or(0.0);
        if !margin.is_finite() || !(0.0..=100.0).contains(&margin) {
            return Err(Error::invalid(
                "temperature_margin",
                format!("{margin} °C is out of range (0–100)"),
            ));
        }
        let reboot = self.reboot.unwrap_or(Status::Warning);
        if reboot == Status::Unknown {
            return Err(Error::invalid("reboot", "must be ok, warning or critical"));
        }
        let s = &self.sustained;
        let window = s.window.unwrap_or(Duration::from_secs(600));
        if window.is_zero() || window > MAX_WINDOW {
            return Err(Error::invalid(
                "sustained.window",
                format!(
                    "{} is out of range (more than 0, at most 1 day)",
                    humantime::format_duration(window)
                ),
            ));
        }
        let root = self.root.clone().unwrap_or_else(|| PathBuf::from("/"));
        if !root.is_absolute() {
            return Err(Error::invalid(
                "root",
                format!("`{}` is not an absolute directory", root.display()),
            ));
        }
        Ok(health::HealthSettings {
            root,
            temperature_margin: margin,
            battery_health: percent("battery_health", self.battery_health, 60.0)?,
            reboot,
            sustained_cpu: percent("sustained.cpu_percent", s.cpu_percent, 90.0)?,
            cpu_pressure: percent("sustained.cpu_pressure", s.cpu_pressure, 80.0)?,
            memory_pressure: percent("sustained.memory_pressure", s.memory_pressure, 20.0)?,
            io_pressure: percent("sustained.io_pressure", s.io_pressure, 50.0)?,
            window,
        })
    }

    /// Builds the probe and takes a first CPU sample, so the first check measures from here.
    pub fn build(&self) -> Result<HostProbe> {
        let settings = self.settings()?;
        let unavailable = |e: sysinfo::Error| {
            Error::invalid("host", format!("system information unavailable: {e}"))
        };
        let mut system = System::new().map_err(unavailable)?;
        system.refresh_cpu_usage();
        let disks = Disks::new().map_err(unavailable)?;
        Ok(HostProbe {
            inner: Arc::new(Inner {
                settings,
                state: Mutex::new(State {
                    system,
                    disks,
                    cpu_sampled: Instant::now(),
                }),
                memory: Mutex::new(health::Memory::default()),
                free_history: Mutex::new(FreeHistory::default()),
            }),
        })
    }
}

/// The `host` probe. Build it with [`HostConfig::build`].
#[derive(Debug)]
pub struct HostProbe {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: Settings,
    state: Mutex<State>,
    /// What the previous check saw (counters, the boot, since when a measure is high).
    memory: Mutex<health::Memory>,
    /// Each file system's free bytes from the check's history, for the "full in" forecast:
    /// read at most once an hour, with the points of the checks since appended.
    free_history: Mutex<FreeHistory>,
}

/// The default of [`HostConfig::disk_full_within`].
const DEFAULT_DISK_FULL_WITHIN: Duration = Duration::from_secs(14 * 86_400);

/// How far back the forecast looks.
const FORECAST_WINDOW: Duration = Duration::from_secs(14 * 86_400);

/// How often the history is read again for the forecast.
const FORECAST_REREAD: Duration = Duration::from_secs(3600);

/// Free bytes per mount point over time, as the forecast uses them.
#[derive(Debug, Default)]
struct FreeHistory {
    /// When the history was last read (`None`: never).
    read_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The points per mount point, oldest first.
    series: std::collections::BTreeMap<String, Vec<(chrono::DateTime<chrono::Utc>, f64)>>,
}

impl FreeHistory {
    /// Replaces the series with what `history` holds of the last [`FORECAST_WINDOW`].
    async fn reload(
        &mut self,
        history: &crate::probe::History,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        let since = now - chrono::Duration::from_std(FORECAST_WINDOW).unwrap_or_default();
        self.read_at = Some(now);
        self.series.clear();
        // At most a few thousand observations: enough points for a line, whatever the interval.
        let Ok(observations) = history.since(since, 5_000).await else {
            return;
        };
        for o in observations {
            for (name, m) in &o.metrics {
                if let Some(mount) = name.strip_prefix("disk_free_bytes:") {
                    self.series
                        .entry(mount.to_owned())
                        .or_default()
                        .push((o.at, m.value));
                }
            }
        }
        for points in self.series.values_mut() {
            points.sort_by_key(|p| p.0);
        }
    }

    /// Adds this check's reading and drops what fell out of the window.
    fn push(&mut self, mount: &str, at: chrono::DateTime<chrono::Utc>, free: f64) {
        let since = at - chrono::Duration::from_std(FORECAST_WINDOW).unwrap_or_default();
        let points = self.series.entry(mount.to_owned()).or_default();
        points.retain(|p| p.0 >= since && p.0 < at);
        points.push((at, free));
    }

    /// When `mount` is full at its recent rate, if its free space is falling.
    fn forecast(&self, mount: &str) -> Option<crate::probe::trend::Forecast> {
        let points = self.series.get(mount)?;
        // Used space rising towards "nothing free": the negated free bytes reach 0.
        let used: Vec<_> = points.iter().map(|&(t, free)| (t, -free)).collect();
        crate::probe::trend::forecast(
            &used,
            0.0,
            &crate::probe::trend::RateOptions {
                window: FORECAST_WINDOW,
                ..Default::default()
            },
        )
    }
}

struct State {
    system: System,
    disks: Disks,
    cpu_sampled: Instant,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State").finish_non_exhaustive()
    }
}

/// One file system's space.
#[derive(Debug)]
struct DiskSample {
    mount: String,
    total: u64,
    available: u64,
}

/// What one refresh read.
#[derive(Debug)]
struct Sample {
    cpu_percent: f64,
    cores: usize,
    load: Option<sysinfo::LoadAvg>,
    memory_total: u64,
    memory_available: u64,
    swap_total: u64,
    swap_used: u64,
    disks: Vec<DiskSample>,
    missing_mounts: Vec<String>,
    health: health::HealthSample,
}

impl Inner {
    /// Refreshes what the checks need (blocking: sleeps until a CPU sample is meaningful).
    fn sample(&self) -> Sample {
        let mut state = self.state.lock();
        let state = &mut *state;
        let since = state.cpu_sampled.elapsed();
        if since < sysinfo::MINIMUM_CPU_UPDATE_INTERVAL {
            std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL - since);
        }
        state.system.refresh_cpu_usage();
        state.cpu_sampled = Instant::now();
        state
            .system
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
        let cores = match state.system.cpus().len() {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };

        // The list of mounts (cheap), then space only for the file systems we check.
        state
            .disks
            .refresh_specifics(true, DiskRefreshKind::nothing());
        let settings = &self.settings;
        let mut chosen: Vec<(usize, String)> = Vec::new();
        let mut seen_devices: Vec<&std::ffi::OsStr> = Vec::new();
        let mut order: Vec<usize> = (0..state.disks.len()).collect();
        // Shortest mount point first, so a device mounted twice is reported by its main mount.
        order.sort_by_key(|&i| state.disks[i].mount_point().as_os_str().len());
        for i in order {
            let disk = &state.disks[i];
            let mount = disk.mount_point().to_string_lossy();
            if settings.ignore_mounts.iter().any(|m| *m == mount) {
                continue;
            }
            if settings.mounts.is_empty() {
                let fs = disk.file_system().to_string_lossy();
                if PSEUDO_FILE_SYSTEMS.contains(&fs.as_ref())
                    || PSEUDO_MOUNT_PREFIXES
                        .iter()
                        .any(|p| mount.as_ref() == *p || mount.starts_with(&format!("{p}/")))
                    || seen_devices.contains(&disk.name())
                {
                    continue;
                }
                seen_devices.push(disk.name());
            } else if !settings.mounts.iter().any(|m| *m == mount)
                || chosen.iter().any(|(_, m)| *m == mount)
            {
                continue;
            }
            chosen.push((i, mount.into_owned()));
        }
        let missing_mounts = settings
            .mounts
            .iter()
            .filter(|m| !chosen.iter().any(|(_, c)| c == *m))
            .cloned()
            .collect();
        let mut disks = Vec::with_capacity(chosen.len());
        for (i, mount) in chosen {
            let disk = &mut state.disks[i];
            disk.refresh_specifics(DiskRefreshKind::nothing().with_storage());
            if disk.total_space() == 0 {
                continue;
            }
            disks.push(DiskSample {
                mount,
                total: disk.total_space(),
                available: disk.available_space(),
            });
        }
        disks.sort_by(|a, b| a.mount.cmp(&b.mount));

        Sample {
            cpu_percent: f64::from(state.system.global_cpu_usage()),
            cores,
            load: System::load_average().ok(),
            memory_total: state.system.total_memory(),
            memory_available: state.system.available_memory(),
            swap_total: state.system.total_swap(),
            swap_used: state.system.used_swap(),
            disks,
            missing_mounts,
            health: health::read(&settings.health.root),
        }
    }

    /// Turns a sample into the verdict.
    fn evaluate(
        &self,
        s: &Sample,
        at: chrono::DateTime<chrono::Utc>,
        zone: crate::clock::Zone,
    ) -> Observation {
        let settings = &self.settings;
        let mut findings: Vec<(Status, String)> = Vec::new();
        let mut health_findings = Vec::new();
        let mut health_metrics = Vec::new();
        let parts = health::evaluate(
            &settings.health,
            &mut self.memory.lock(),
            &s.health,
            s.cpu_percent,
            at,
            zone,
            &mut health::Out {
                findings: &mut health_findings,
                metrics: &mut health_metrics,
            },
        );
        let mut obs = Observation::new(Status::Ok, String::new(), at);
        let mut metric = |name: String, value: f64, unit: &'static str| {
            obs.metrics.insert(name.into(), Metric::new(value, unit));
        };
        for (name, value, unit) in health_metrics {
            metric(name, value, unit);
        }

        for mount in &s.missing_mounts {
            findings.push((Status::Critical, format!("mount {mount} not found")));
        }
        let mut filesystems = Vec::with_capacity(s.disks.len());
        let mut free_history = self.free_history.lock();
        for d in &s.disks {
            let percent = d.available as f64 * 100.0 / d.total as f64;
            let mut status = settings.disk_free.status(percent);
            if let Some(bytes) = &settings.disk_free_bytes {
                status = status.worst(bytes.status(d.available as f64));
            }
            // Where the free space is falling: when it runs out at the recent rate.
            let (mut full, mut soon) = (None, false);
            if let Some(within) = settings.disk_full_within {
                free_history.push(&d.mount, at, d.available as f64);
                if let Some(f) = free_history.forecast(&d.mount) {
                    soon = f.eta <= within;
                    if soon {
                        status = status.worst(Status::Warning);
                    }
                    full = Some(f);
                }
            }
            filesystems.push(FilesystemReading {
                mount: d.mount.clone(),
                total_bytes: d.total,
                available_bytes: d.available,
                status,
                full_at: full.map(|f| f.at),
            });
            // Told when it warns; the reading always carries the date.
            let forecast = full
                .filter(|_| soon)
                .map(|f| format!(", {}", f.describe("full")))
                .unwrap_or_default();
            findings.push((
                status,
                format!(
                    "disk {} {} % free ({}){forecast}",
                    d.mount,
                    number(percent),
                    human_bytes(d.available)
                ),
            ));
            metric(format!("disk_free_percent:{}", d.mount), percent, "%");
            metric(
                format!("disk_free_bytes:{}", d.mount),
                d.available as f64,
                "B",
            );
        }
        if s.memory_total > 0 {
            let percent = s.memory_available as f64 * 100.0 / s.memory_total as f64;
            findings.push((
                settings.memory_available.status(percent),
                format!("memory {} % available", number(percent)),
            ));
            metric("memory_available_percent".into(), percent, "%");
            metric(
                "memory_available_bytes".into(),
                s.memory_available as f64,
                "B",
            );
        }
        if s.swap_total > 0 {
            let percent = s.swap_used as f64 * 100.0 / s.swap_total as f64;
            findings.push((
                settings.swap_used.status(percent),
                format!("swap {} % used", number(percent)),
            ));
            metric("swap_used_percent".into(), percent, "%");
        }
        findings.push((
            settings.cpu.status(s.cpu_percent),
            format!("cpu {} %", number(s.cpu_percent)),
        ));
        metric("cpu_percent".into(), s.cpu_percent, "%");
        if let Some(load) = &s.load {
            let per_core = load.five / s.cores as f64;
            findings.push((
                settings.load_per_core.status(per_core),
                format!("load {}/core", number(per_core)),
            ));
            metric("load1".into(), load.one, "");
            metric("load5".into(), load.five, "");
            metric("load15".into(), load.fifteen, "");
        }

        findings.extend(health_findings);
        findings.sort_by_key(|(status, _)| std::cmp::Reverse(status.severity()));
        let mut summary = String::with_capacity(128);
        let mut status = Status::Ok;
        for (i, (st, text)) in findings.iter().enumerate() {
            status = status.worst(*st);
            if i > 0 {
                summary.push_str(", ");
            }
            summary.push_str(text);
        }
        if !parts.not_available.is_empty() {
            summary.push_str("; not available: ");
            summary.push_str(&parts.not_available.join(", "));
        }
        obs.status = status;
        obs.summary = summary;
        obs.with_reading(Reading::Host(Box::new(HostReading {
            cpu_percent: s.cpu_percent,
            cores: s.cores,
            load: s.load.as_ref().map(|l| [l.one, l.five, l.fifteen]),
            memory_total_bytes: s.memory_total,
            memory_available_bytes: s.memory_available,
            swap_total_bytes: s.swap_total,
            swap_used_bytes: s.swap_used,
            filesystems,
            missing_mounts: s.missing_mounts.clone(),
            temperatures: parts.temperatures,
            thermal_throttle: parts.thermal_throttle,
            memory_controllers: parts.memory_controllers,
            pressure: parts.pressure,
            sustained: parts.sustained,
            boot: parts.boot,
            batteries: parts.batteries,
            not_available: parts.not_available,
        })))
    }
}

/// A readable number: two significant decimals below 10, whole numbers above.
pub(crate) fn number(v: f64) -> String {
    let s = if v.abs() >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// "3.1 GiB", "512 MiB", "900 B".
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else if value < 10.0 {
        let mut s = String::new();
        let _ = write!(s, "{value:.1} {}", UNITS[unit]);
        s
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

#[async_trait]
impl Probe for HostProbe {
    async fn check(&self, cx: &CheckContext) -> Observation {
        let at = cx.now();
        let started = std::time::Instant::now();
        // After a restart of the monitor (or of the machine with it), the stored previous
        // observation tells the counters and boot to compare with.
        if !self.inner.memory.lock().seeded {
            let previous = match &cx.history {
                Some(h) => h.recent(1).await.ok().and_then(|v| v.into_iter().next()),
                None => None,
            };
            let mut memory = self.inner.memory.lock();
            match previous {
                Some(p) if !memory.seeded => memory.seed(&p),
                _ => memory.seeded = true,
            }
        }
        // The history of free space, read again at most once an hour for the forecast.
        if self.inner.settings.disk_full_within.is_some()
            && let Some(h) = &cx.history
        {
            let read_at = self.inner.free_history.lock().read_at;
            let due = read_at
                .is_none_or(|t| (at - t).to_std().unwrap_or_default() >= FORECAST_REREAD || at < t);
            if due {
                let mut fresh = FreeHistory::default();
                fresh.reload(h, at).await;
                *self.inner.free_history.lock() = fresh;
            }
        }
        let inner = self.inner.clone();
        let task = tokio::task::spawn_blocking(move || {
            let sample = inner.sample();
            (inner, sample)
        });
        let obs = match tokio::time::timeout(cx.timeout, task).await {
            Ok(Ok((inner, sample))) => inner.evaluate(&sample, at, cx.zone),
            Ok(Err(e)) => Observation::new(
                Status::Unknown,
                format!("reading system information failed: {e}"),
                at,
            ),
            Err(_) => Observation::new(
                Status::Unknown,
                format!(
                    "reading system information took longer than {}",
                    crate::probe::human_duration(cx.timeout)
                ),
                at,
            ),
        };
        obs.with_latency(started.elapsed())
    }

    fn kind(&self) -> &str {
        "host"
    }

    fn target(&self) -> String {
        System::host_name().unwrap_or_else(|_| "localhost".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> CheckContext {
        CheckContext::for_test("host")
    }

    /// Defaults, except that CPU and load never alarm (the test machine may be busy building).
    fn calm() -> HostConfig {
        HostConfig {
            cpu: Thresholds {
                warning: Some(100.0),
                critical: Some(100.0),
            },
            load_per_core: Thresholds {
                warning: Some(1e9),
                critical: Some(1e9),
            },
            // The machine's own memory, swap and disk must not decide these tests.
            memory_available: Thresholds {
                warning: Some(0.0),
                critical: Some(0.0),
            },
            swap_used: Thresholds {
                warning: Some(100.0),
                critical: Some(100.0),
            },
            disk_free: Thresholds {
                warning: Some(0.0),
                critical: Some(0.0),
            },
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn reports_this_machine() {
        let probe = HostConfig::default().build().unwrap();
        assert_eq!(probe.kind(), "host");
        assert!(!probe.target().is_empty());
        let obs = probe.check(&cx()).await;
        assert_ne!(obs.status, Status::Unknown, "{}", obs.summary);
        for name in [
            "cpu_percent",
            "memory_available_percent",
            "memory_available_bytes",
        ] {
            assert!(obs.metrics.contains_key(name), "{name} missing: {obs:?}");
        }
        let cpu = obs.metrics["cpu_percent"].value;
        assert!((0.0..=100.0).contains(&cpu), "{cpu}");
        let mem = obs.metrics["memory_available_percent"].value;
        assert!(mem > 0.0 && mem <= 100.0, "{mem}");
        if cfg!(target_os = "linux") {
            assert!(obs.metrics.contains_key("load5"), "{obs:?}");
            assert!(obs.summary.contains("/core"), "{}", obs.summary);
        }
        let disks: Vec<_> = obs
            .metrics
            .keys()
            .filter(|k| k.starts_with("disk_free_percent:"))
            .collect();
        assert!(!disks.is_empty(), "no disk checked: {obs:?}");
        for d in &disks {
            let mount = d.trim_start_matches("disk_free_percent:");
            assert!(
                obs.metrics
                    .contains_key(format!("disk_free_bytes:{mount}").as_str()),
                "{obs:?}"
            );
            assert!(!mount.starts_with("/proc") && !mount.starts_with("/sys"));
        }
        assert!(obs.summary.contains("memory "), "{}", obs.summary);
        assert!(obs.summary.contains("cpu "), "{}", obs.summary);
        assert!(obs.summary.contains("disk "), "{}", obs.summary);
        // The second check measures CPU since the first.
        let again = probe.check(&cx()).await;
        assert!(again.metrics.contains_key("cpu_percent"));
    }

    #[tokio::test]
    async fn low_thresholds_warn_and_lead_the_summary() {
        let probe = HostConfig {
            memory_available: Thresholds {
                warning: Some(100.0),
                critical: Some(0.0),
            },
            ..calm()
        }
        .build()
        .unwrap();
        let obs = probe.check(&cx()).await;
        assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
        assert!(obs.summary.starts_with("memory "), "{}", obs.summary);

        let probe = HostConfig {
            disk_free: Thresholds {
                warning: Some(100.0),
                critical: Some(100.0),
            },
            mounts: vec!["/".into()],
            ..calm()
        }
        .build()
        .unwrap();
        let obs = probe.check(&cx()).await;
        assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
        assert!(obs.summary.starts_with("disk / "), "{}", obs.summary);
        assert!(obs.metrics.contains_key("disk_free_bytes:/"));
    }

    #[tokio::test]
    async fn absolute_free_space_thresholds() {
        let probe = HostConfig {
            disk_free_bytes: Some(ByteThresholds {
                warning: Some(ByteSize(u64::MAX / 2)),
                critical: Some(ByteSize(1)),
            }),
            disk_free: Thresholds {
                warning: Some(0.0),
                critical: Some(0.0),
            },
            mounts: vec!["/".into()],
            memory_available: Thresholds {
                warning: Some(0.0),
                critical: Some(0.0),
            },
            swap_used: Thresholds {
                warning: Some(100.0),
                critical: Some(100.0),
            },
            ..calm()
        }
        .build()
        .unwrap();
        let obs = probe.check(&cx()).await;
        assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
        assert!(obs.summary.starts_with("disk / "), "{}", obs.summary);
    }

    #[tokio::test]
    async fn missing_and_ignored_mounts() {
        let probe = HostConfig {
            mounts: vec!["/".into(), "/no/such/mount".into()],
            ..Default::default()
        }
        .build()
        .unwrap();
        let obs = probe.check(&cx()).await;
        assert_eq!(obs.status, Status::Critical);
        assert!(
            obs.summary.starts_with("mount /no/such/mount not found"),
            "{}",
            obs.summary
        );
        let probe = HostConfig {
            ignore_mounts: vec!["/".into()],
            ..Default::default()
        }
        .build()
        .unwrap();
        let obs = probe.check(&cx()).await;
        assert!(!obs.metrics.contains_key("disk_free_percent:/"), "{obs:?}");
    }

    #[test]
    fn sizes() {
        let p = |s: &str| s.parse::<ByteSize>().unwrap().bytes();
        assert_eq!(p("500MB"), 500_000_000);
        assert_eq!(p("10GiB"), 10 * 1024 * 1024 * 1024);
        assert_eq!(p("10GB"), 10_000_000_000);
        assert_eq!(p("2G"), 2 * 1024 * 1024 * 1024);
        assert_eq!(p("1.5 KiB"), 1536);
        assert_eq!(p("4096"), 4096);
        assert!("ten GB".parse::<ByteSize>().is_err());
        assert!("10 parsecs".parse::<ByteSize>().is_err());
        assert!("".parse::<ByteSize>().is_err());
        assert_eq!(human_bytes(3_328_599_654), "3.1 GiB");
        assert_eq!(human_bytes(900), "900 B");
        assert_eq!(human_bytes(512 * 1024 * 1024), "512 MiB");
        assert_eq!(number(4.0), "4");
        assert_eq!(number(0.3), "0.3");
        assert_eq!(number(62.4), "62");
    }

    fn invalid_field(c: &HostConfig) -> String {
        match c.validate().unwrap_err() {
            Error::Invalid { what, .. } => what,
            other => panic!("unexpected error {other}"),
        }
    }

    #[test]
    fn config_and_validation() {
        let c: HostConfig = toml::from_str(
            r#"
            cpu = { warning = 80 }
            memory_available = { warning = 20, critical = 5 }
            disk_free_bytes = { warning = "10GB", critical = "2GB" }
            mounts = ["/"]
            "#,
        )
        .unwrap();
        let s = c.settings().unwrap();
        assert_eq!((s.cpu.warning, s.cpu.critical), (80.0, 98.0));
        assert_eq!(s.disk_free_bytes.unwrap().critical, 2e9);
        assert!(toml::from_str::<HostConfig>("disk_free_bytes = { warning = \"lots\" }").is_err());
        assert!(toml::from_str::<HostConfig>("cpus = {}").is_err());
        assert!(HostConfig::default().validate().is_ok());

        let lower = HostConfig {
            memory_available: Thresholds {
                warning: Some(5.0),
                critical: Some(10.0),
            },
            ..Default::default()
        };
        assert_eq!(invalid_field(&lower), "memory_available");
        let higher = HostConfig {
            cpu: Thresholds {
                warning: Some(99.0),
                critical: None,
            },
            ..Default::default()
        };
        assert_eq!(invalid_field(&higher), "cpu");
        let range = HostConfig {
            swap_used: Thresholds {
                warning: Some(50.0),
                critical: Some(180.0),
            },
            ..Default::default()
        };
        assert_eq!(invalid_field(&range), "swap_used");
        let load = HostConfig {
            load_per_core: Thresholds {
                warning: Some(-1.0),
                critical: None,
            },
            ..Default::default()
        };
        assert_eq!(invalid_field(&load), "load_per_core");
        let bytes = HostConfig {
            disk_free_bytes: Some(ByteThresholds {
                warning: Some(ByteSize(1)),
                critical: Some(ByteSize(2)),
            }),
            ..Default::default()
        };
        assert_eq!(invalid_field(&bytes), "disk_free_bytes");
        let relative = HostConfig {
            mounts: vec!["data".into()],
            ..Default::default()
        };
        assert_eq!(invalid_field(&relative), "mounts");
    }

    #[test]
    fn built_through_the_probe_config_enum() {
        let c: crate::probe::ProbeConfig = toml::from_str(
            "type = \"host\"\ncpu = { warning = 80 }\ndisk_free_bytes = { warning = \"10GB\" }",
        )
        .unwrap();
        c.validate().unwrap();
        let p = c.build(&crate::http_client::HttpClients::new()).unwrap();
        assert_eq!(p.kind(), "host");
    }

    #[test]
    fn statuses_by_direction() {
        let lower = Limits {
            warning: 15.0,
            critical: 5.0,
            lower_is_worse: true,
        };
        assert_eq!(lower.status(50.0), Status::Ok);
        assert_eq!(lower.status(10.0), Status::Warning);
        assert_eq!(lower.status(4.0), Status::Critical);
        let higher = Limits {
            warning: 90.0,
            critical: 98.0,
            lower_is_worse: false,
        };
        assert_eq!(higher.status(50.0), Status::Ok);
        assert_eq!(higher.status(95.0), Status::Warning);
        assert_eq!(higher.status(99.0), Status::Critical);
    }
}
