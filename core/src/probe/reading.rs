//! Structured readings: what a probe knows beyond status, summary and metrics, as one typed,
//! serialisable value on the [`Observation`](super::Observation).
//!
//! The CLI's `check --json`, the history and the bindings all show the same reading, so nobody
//! re-parses metric names or summaries. A reading is tagged by `kind` in JSON:
//!
//! ```json
//! {"kind": "http", "status_code": 200, "cert_not_after": "2027-03-01T12:00:00Z", "cert_days_left": 87.5}
//! ```
//!
//! Probes with nothing more to say than their metrics (a bare TCP connect) leave it out, which
//! keeps the hottest checks free of it. Your own probes can attach [`Reading::Custom`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Status;

/// A probe's structured reading, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reading {
    /// An HTTP(S) check: the response's status code and the certificate's expiry.
    Http(HttpReading),
    /// A database check (PostgreSQL, MariaDB/MySQL, Redis): role, replication, connections.
    Database(DatabaseReading),
    /// This machine's health: CPU, load, memory, swap and every file system checked.
    Host(Box<HostReading>),
    /// A printer: every supply, tray, cover, error bit and alert, with the verdict on each.
    #[cfg(feature = "probe-snmp")]
    Printer(Box<crate::probe::printer::PrinterReading>),
    /// Disks read with smartctl: each disk's verdict, reasons and decoded SMART health.
    Disk(Box<crate::probe::smart::DiskReading>),
    /// Anything a user's own probe wants to keep (any JSON value).
    Custom {
        /// The value.
        value: serde_json::Value,
    },
}

impl Reading {
    /// The kind's name, as in the JSON tag ("http", "database", "host", "printer", "disk",
    /// "custom").
    pub fn kind(&self) -> &'static str {
        match self {
            Reading::Http(_) => "http",
            Reading::Database(_) => "database",
            Reading::Host(_) => "host",
            #[cfg(feature = "probe-snmp")]
            Reading::Printer(_) => "printer",
            Reading::Disk(_) => "disk",
            Reading::Custom { .. } => "custom",
        }
    }
}

/// What an HTTP(S) check learnt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpReading {
    /// The final response's status code (after redirects).
    pub status_code: u16,
    /// When the server's certificate expires, on TLS connections whose certificate was parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_not_after: Option<DateTime<Utc>>,
    /// Days until then (negative once expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_days_left: Option<f64>,
    /// Bytes of body read, when the body was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_bytes: Option<u64>,
}

/// The replication role of a database server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseRole {
    /// Accepts writes (PostgreSQL not in recovery, a MariaDB/MySQL server replicating from
    /// nobody, a Redis master).
    Primary,
    /// Follows another server (a PostgreSQL standby, a MariaDB/MySQL replica, a Redis replica).
    Replica,
}

/// What a database check learnt. Fields are filled as far as the check was asked to look
/// (replication, connections, size), never by extra queries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatabaseReading {
    /// "postgres", "mysql" or "redis".
    pub engine: String,
    /// Rows the check's query returned (PostgreSQL, MariaDB/MySQL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// The server's replication role, when the check looked at replication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<DatabaseRole>,
    /// How far a replica is behind, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_lag_seconds: Option<f64>,
    /// Whether a replica's replication (threads, link to the master) is running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_running: Option<bool>,
    /// Client connections in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections_used: Option<u64>,
    /// The server's connection limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections_max: Option<u64>,
    /// The database's (PostgreSQL) or the instance's used memory (Redis) size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
}

/// What the host check learnt about this machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostReading {
    /// CPU busy since the previous check, percent of all cores.
    pub cpu_percent: f64,
    /// Logical CPUs.
    pub cores: usize,
    /// Load averages over 1, 5 and 15 minutes, where the platform has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<[f64; 3]>,
    /// Memory in bytes.
    pub memory_total_bytes: u64,
    /// Memory available for new work, in bytes.
    pub memory_available_bytes: u64,
    /// Swap in bytes (0 without swap).
    pub swap_total_bytes: u64,
    /// Swap in use, in bytes.
    pub swap_used_bytes: u64,
    /// Every file system checked.
    pub filesystems: Vec<FilesystemReading>,
    /// Mount points the config asked for that are not mounted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_mounts: Vec<String>,
    /// Every temperature sensor, against the limits its hardware gives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub temperatures: Vec<TemperatureReading>,
    /// CPU thermal-throttle events, where the kernel counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thermal_throttle: Option<ThrottleReading>,
    /// Error counts of each memory controller (EDAC), where the kernel exposes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory_controllers: Vec<MemoryControllerReading>,
    /// Pressure stall information (PSI), where the kernel has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure: Option<PressureReading>,
    /// Measures above their limit at this check, and since when (CPU busy, pressure).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sustained: Vec<SustainedReading>,
    /// When the machine booted, and whether it rebooted since the previous check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot: Option<BootReading>,
    /// Every laptop battery: its health against its design capacity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batteries: Vec<BatteryReading>,
    /// What this machine does not expose ("temperature sensors", "thermal throttle counters",
    /// "memory error counters (EDAC)", "pressure stall information", "batteries"): not
    /// available, never a zero.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_available: Vec<String>,
}

/// One temperature sensor of a [`HostReading`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemperatureReading {
    /// The sensor ("coretemp Package id 0", "acpitz temp1").
    pub sensor: String,
    /// Its temperature in °C.
    pub celsius: f64,
    /// The hardware's high (maximum) limit in °C, if it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_celsius: Option<f64>,
    /// The hardware's critical limit in °C, if it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_celsius: Option<f64>,
    /// The verdict.
    pub status: Status,
}

/// CPU thermal-throttle counters of a [`HostReading`]: totals since boot and the events since
/// the previous check (absent on the first check and after a reboot — not available, not 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThrottleReading {
    /// Logical CPUs that count.
    pub cpus: usize,
    /// Core throttle events since boot (each physical core once).
    pub core_events: u64,
    /// Package throttle events since boot (each package once).
    pub package_events: u64,
    /// Core throttle events since the previous check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_events_since_last: Option<u64>,
    /// Package throttle events since the previous check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_events_since_last: Option<u64>,
    /// The verdict (Warning while events are rising).
    pub status: Status,
}

/// One EDAC memory controller of a [`HostReading`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryControllerReading {
    /// The controller ("mc0").
    pub name: String,
    /// Corrected errors since boot.
    pub corrected: u64,
    /// Uncorrected errors since boot.
    pub uncorrected: u64,
    /// Corrected errors since the previous check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_since_last: Option<u64>,
    /// Uncorrected errors since the previous check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncorrected_since_last: Option<u64>,
    /// The verdict: Warning while corrected errors rise, Critical while uncorrected ones do.
    pub status: Status,
}

/// One line of pressure stall information: the share of time tasks were stalled, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PsiLine {
    /// Over the last 10 seconds.
    pub avg10: f64,
    /// Over the last 60 seconds.
    pub avg60: f64,
    /// Over the last 300 seconds.
    pub avg300: f64,
    /// Total stall time since boot, in microseconds.
    pub total_us: u64,
}

/// The pressure of one resource: `some` (at least one task stalled) and `full` (all stalled).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PsiResource {
    /// Some tasks stalled.
    pub some: PsiLine,
    /// All non-idle tasks stalled at once (absent for CPU on older kernels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<PsiLine>,
}

/// Pressure stall information of a [`HostReading`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PressureReading {
    /// CPU pressure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<PsiResource>,
    /// Memory pressure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<PsiResource>,
    /// I/O pressure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub io: Option<PsiResource>,
}

/// A measure above its limit: since when, and whether that has lasted the whole window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SustainedReading {
    /// "cpu_percent", "cpu_pressure", "memory_pressure" or "io_pressure".
    pub measure: String,
    /// The value at this check.
    pub value: f64,
    /// The limit it is above.
    pub limit: f64,
    /// The first check of this stretch above the limit.
    pub since: DateTime<Utc>,
    /// Warning once the stretch lasts the configured window, Ok before.
    pub status: Status,
}

/// The boot of a [`HostReading`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootReading {
    /// The kernel's random boot id, new at every boot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// When the machine booted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booted_at: Option<DateTime<Utc>>,
    /// Whether it rebooted since the previous check.
    pub rebooted: bool,
}

/// One battery of a [`HostReading`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatteryReading {
    /// Its name ("BAT0").
    pub name: String,
    /// What it holds when full, as a percentage of what it was designed to hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_percent: Option<f64>,
    /// Full capacity now, in `unit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<f64>,
    /// Design capacity, in `unit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<f64>,
    /// "Wh" (energy) or "Ah" (charge).
    pub unit: String,
    /// Charge cycles, if the battery counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle_count: Option<u64>,
    /// "Charging", "Discharging", "Full"…, as the kernel says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The verdict on its health.
    pub status: Status,
}

/// One file system of a [`HostReading`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilesystemReading {
    /// Where it is mounted.
    pub mount: String,
    /// Its size in bytes.
    pub total_bytes: u64,
    /// Bytes available to unprivileged users.
    pub available_bytes: u64,
    /// The verdict on its free space (its thresholds, and the forecast within
    /// `disk_full_within`).
    pub status: Status,
    /// When it is full at the rate its free space fell over the last 14 days of history, if it
    /// is falling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_by_kind_and_read_back() {
        let r = Reading::Http(HttpReading {
            status_code: 503,
            cert_not_after: None,
            cert_days_left: Some(12.5),
            body_bytes: None,
        });
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"http","status_code":503,"cert_days_left":12.5}"#
        );
        assert_eq!(serde_json::from_str::<Reading>(&json).unwrap(), r);
        let custom = Reading::Custom {
            value: serde_json::json!({"backups": 3}),
        };
        let json = serde_json::to_string(&custom).unwrap();
        assert_eq!(json, r#"{"kind":"custom","value":{"backups":3}}"#);
        assert_eq!(serde_json::from_str::<Reading>(&json).unwrap(), custom);
        assert_eq!(custom.kind(), "custom");
    }
}
