//! Configured standards: named profiles of host thresholds (`[standards.staff-laptops]`) that
//! host checks take by name (`standard = "…"`) or from their group, so one district-wide
//! decision — "staff laptops warn below 70 % battery health" — is written once.

use std::time::Duration;

use serde::Deserialize;

use super::{ByteThresholds, HostConfig, Thresholds};
use crate::error::Result;
use crate::probe::Status;

/// Limits of the `host` probe that warn only when they last a whole window.
///
/// ```toml
/// sustained = { cpu_percent = 90, memory_pressure = 20, window = "10m" }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SustainedConfig {
    /// Percent CPU busy (default 90).
    #[serde(default)]
    pub cpu_percent: Option<f64>,
    /// Percent of time some task waited for a CPU, PSI `some avg60` (default 80).
    #[serde(default)]
    pub cpu_pressure: Option<f64>,
    /// Percent of time some task waited for memory, PSI `some avg60` (default 20).
    #[serde(default)]
    pub memory_pressure: Option<f64>,
    /// Percent of time some task waited for I/O, PSI `some avg60` (default 50).
    #[serde(default)]
    pub io_pressure: Option<f64>,
    /// How long a measure must stay above its limit, check after check, to warn (default 10
    /// minutes; at most 1 day). One spike never warns.
    #[serde(default, with = "crate::config::opt_duration")]
    pub window: Option<Duration>,
}

impl SustainedConfig {
    /// `self`'s settings, and `base`'s where `self` sets none.
    fn or(self, base: SustainedConfig) -> SustainedConfig {
        SustainedConfig {
            cpu_percent: self.cpu_percent.or(base.cpu_percent),
            cpu_pressure: self.cpu_pressure.or(base.cpu_pressure),
            memory_pressure: self.memory_pressure.or(base.memory_pressure),
            io_pressure: self.io_pressure.or(base.io_pressure),
            window: self.window.or(base.window),
        }
    }
}

/// A `[standards.NAME]` section: host thresholds shared by the host checks that name it or
/// whose group does. Its keys are the host check's own; a check's own setting wins, value by
/// value (a check may set only `cpu.warning` and take the standard's `cpu.critical`).
///
/// ```toml
/// [standards.staff-laptops]
/// description = "Teachers' and office laptops"
/// memory_available = { warning = 15 }
/// disk_free = { warning = 20, critical = 10 }
/// battery_health = 70
/// temperature_margin = 5
/// reboot = "ok"
/// sustained = { cpu_percent = 90, memory_pressure = 20, window = "10m" }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardConfig {
    /// What the standard is for, shown in listings.
    #[serde(default)]
    pub description: Option<String>,
    /// Percent CPU busy since the previous check.
    #[serde(default)]
    pub cpu: Thresholds,
    /// The 5-minute load average per logical CPU.
    #[serde(default)]
    pub load_per_core: Thresholds,
    /// Percent of memory available (lower is worse).
    #[serde(default)]
    pub memory_available: Thresholds,
    /// Percent of swap used.
    #[serde(default)]
    pub swap_used: Thresholds,
    /// Percent free per file system (lower is worse).
    #[serde(default)]
    pub disk_free: Thresholds,
    /// Free bytes per file system.
    #[serde(default)]
    pub disk_free_bytes: Option<ByteThresholds>,
    /// Mount points never to check.
    #[serde(default)]
    pub ignore_mounts: Vec<String>,
    /// °C below a sensor's high limit that already warns.
    #[serde(default)]
    pub temperature_margin: Option<f64>,
    /// Percent of design capacity below which a battery warns.
    #[serde(default)]
    pub battery_health: Option<f64>,
    /// The status of a reboot since the previous check.
    #[serde(default)]
    pub reboot: Option<Status>,
    /// Limits that warn only when they last a whole window.
    #[serde(default)]
    pub sustained: SustainedConfig,
    /// How soon a forecast "full" file system warns ("0s": never).
    #[serde(default, with = "crate::config::opt_duration")]
    pub disk_full_within: Option<std::time::Duration>,
}

impl StandardConfig {
    /// Checks the values as a host check with only this standard would, naming the field.
    pub fn validate(&self) -> Result<()> {
        HostConfig::default().with_standard(self).validate()
    }
}

/// One threshold pair: `own`'s values, `base`'s where `own` sets none.
fn or(own: Thresholds, base: Thresholds) -> Thresholds {
    Thresholds {
        warning: own.warning.or(base.warning),
        critical: own.critical.or(base.critical),
    }
}

impl HostConfig {
    /// This check with `standard` filled in where the check sets nothing.
    pub fn with_standard(&self, standard: &StandardConfig) -> HostConfig {
        let disk_free_bytes = match (self.disk_free_bytes, standard.disk_free_bytes) {
            (Some(own), Some(base)) => Some(ByteThresholds {
                warning: own.warning.or(base.warning),
                critical: own.critical.or(base.critical),
            }),
            (own, base) => own.or(base),
        };
        let mut ignore_mounts = self.ignore_mounts.clone();
        for m in &standard.ignore_mounts {
            if !ignore_mounts.contains(m) {
                ignore_mounts.push(m.clone());
            }
        }
        HostConfig {
            cpu: or(self.cpu, standard.cpu),
            load_per_core: or(self.load_per_core, standard.load_per_core),
            memory_available: or(self.memory_available, standard.memory_available),
            swap_used: or(self.swap_used, standard.swap_used),
            disk_free: or(self.disk_free, standard.disk_free),
            disk_free_bytes,
            mounts: self.mounts.clone(),
            ignore_mounts,
            temperature_margin: self.temperature_margin.or(standard.temperature_margin),
            battery_health: self.battery_health.or(standard.battery_health),
            reboot: self.reboot.or(standard.reboot),
            sustained: self.sustained.or(standard.sustained),
            disk_full_within: self.disk_full_within.or(standard.disk_full_within),
            standard: self.standard.clone(),
            root: self.root.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checks_own_values_win_one_by_one() {
        let standard: StandardConfig = toml::from_str(
            r#"
            cpu = { warning = 80, critical = 95 }
            battery_health = 70
            ignore_mounts = ["/boot/efi"]
            sustained = { memory_pressure = 25, window = "5m" }
            "#,
        )
        .unwrap();
        standard.validate().unwrap();
        let check: HostConfig = toml::from_str(
            r#"
            cpu = { warning = 85 }
            sustained = { memory_pressure = 30 }
            ignore_mounts = ["/srv"]
            "#,
        )
        .unwrap();
        let merged = check.with_standard(&standard);
        assert_eq!(merged.cpu.warning, Some(85.0));
        assert_eq!(merged.cpu.critical, Some(95.0));
        assert_eq!(merged.battery_health, Some(70.0));
        assert_eq!(merged.sustained.memory_pressure, Some(30.0));
        assert_eq!(merged.sustained.window, Some(Duration::from_secs(300)));
        assert_eq!(merged.ignore_mounts, ["/srv", "/boot/efi"]);
        merged.validate().unwrap();
    }

    #[test]
    fn bad_standards_name_their_field() {
        let field = |text: &str| match toml::from_str::<StandardConfig>(text)
            .unwrap()
            .validate()
            .unwrap_err()
        {
            crate::Error::Invalid { what, .. } => what,
            other => panic!("{other}"),
        };
        assert_eq!(field("battery_health = 120"), "battery_health");
        assert_eq!(field("sustained = { window = \"2d\" }"), "sustained.window");
        assert_eq!(
            field("sustained = { io_pressure = -1 }"),
            "sustained.io_pressure"
        );
        assert_eq!(field("temperature_margin = -3"), "temperature_margin");
        assert_eq!(field("reboot = \"unknown\""), "reboot");
        assert_eq!(field("cpu = { warning = 99 }"), "cpu");
        assert!(toml::from_str::<StandardConfig>("batery_health = 60").is_err());
        assert!(toml::from_str::<StandardConfig>("reboot = \"loud\"").is_err());
    }
}
