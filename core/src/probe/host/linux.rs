//! Readers of the Linux kernel's `/sys` and `/proc` trees: temperature sensors (hwmon), CPU
//! thermal-throttle counters, memory-controller error counts (EDAC), pressure stall information,
//! the boot, and laptop batteries.
//!
//! Each reader takes the root the trees are found under (`/` on the machine itself, a fixture
//! directory in tests, `/host` in a container that mounts the host there). What the machine does
//! not expose reads as `None` (or an empty list): not available, never a zero, never an error.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::probe::reading::{PressureReading, PsiLine, PsiResource};

/// A file's trimmed text, if it can be read.
fn text(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

/// A file holding one integer.
fn int(path: &Path) -> Option<i64> {
    text(path)?.parse().ok()
}

/// A file holding one unsigned integer.
fn uint(path: &Path) -> Option<u64> {
    text(path)?.parse().ok()
}

/// The entries of `dir` whose names start with `prefix` and go on with a number, by that
/// number ("cpu2" before "cpu10").
fn numbered(dir: &Path, prefix: &str) -> Vec<(u64, PathBuf)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<(u64, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let n = name.to_str()?.strip_prefix(prefix)?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    v.sort();
    v
}

/// One temperature sensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Temperature {
    /// "coretemp Package id 0", "acpitz temp1".
    pub sensor: String,
    /// °C.
    pub celsius: f64,
    /// The hardware's high limit in °C.
    pub high: Option<f64>,
    /// The hardware's critical limit in °C.
    pub critical: Option<f64>,
}

/// A millidegree file as °C; absent, zero or absurd limits (some firmware writes 0 or
/// 255 °C) count as not given.
fn millidegrees(path: &Path) -> Option<f64> {
    let c = int(path)? as f64 / 1000.0;
    (c > 0.0 && c < 200.0).then_some(c)
}

/// Every hwmon temperature sensor (`/sys/class/hwmon/hwmon*/temp*_input`), `None` when there is
/// none (a virtual machine).
pub fn temperatures(root: &Path) -> Option<Vec<Temperature>> {
    let mut out = Vec::new();
    for (_, hwmon) in numbered(&root.join("sys/class/hwmon"), "hwmon") {
        // Older kernels keep the attributes one level down.
        let dir = if hwmon.join("name").exists() || !hwmon.join("device/name").exists() {
            hwmon
        } else {
            hwmon.join("device")
        };
        let chip = text(&dir.join("name")).unwrap_or_else(|| "hwmon".to_owned());
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let mut inputs: Vec<u64> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name();
                name.to_str()?
                    .strip_prefix("temp")?
                    .strip_suffix("_input")?
                    .parse()
                    .ok()
            })
            .collect();
        inputs.sort_unstable();
        for n in inputs {
            let file = |suffix: &str| dir.join(format!("temp{n}_{suffix}"));
            // A reading of 0 is a real (if cold) temperature; only an unreadable one is absent.
            let Some(milli) = int(&file("input")) else {
                continue;
            };
            let label = text(&file("label")).filter(|l| !l.is_empty());
            out.push(Temperature {
                sensor: format!("{chip} {}", label.unwrap_or_else(|| format!("temp{n}"))),
                celsius: milli as f64 / 1000.0,
                high: millidegrees(&file("max")),
                critical: millidegrees(&file("crit")),
            });
        }
    }
    (!out.is_empty()).then_some(out)
}

/// CPU thermal-throttle counters since boot, each physical core and package counted once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleCounts {
    /// Logical CPUs with counters.
    pub cpus: usize,
    /// Core throttle events.
    pub core: u64,
    /// Package throttle events.
    pub package: u64,
}

/// `/sys/devices/system/cpu/cpu*/thermal_throttle/{core,package}_throttle_count`, `None` where
/// the kernel keeps no such counters (AMD processors, virtual machines).
pub fn throttle(root: &Path) -> Option<ThrottleCounts> {
    // Hyper-threads share their core's counter and every CPU of a package shows the package's:
    // count each (package, core) and each package once.
    let mut cores: BTreeMap<(i64, i64), u64> = BTreeMap::new();
    let mut packages: BTreeMap<i64, u64> = BTreeMap::new();
    let mut cpus = 0;
    for (n, cpu) in numbered(&root.join("sys/devices/system/cpu"), "cpu") {
        let dir = cpu.join("thermal_throttle");
        let core = uint(&dir.join("core_throttle_count"));
        let package = uint(&dir.join("package_throttle_count"));
        if core.is_none() && package.is_none() {
            continue;
        }
        cpus += 1;
        let package_id = int(&cpu.join("topology/physical_package_id")).unwrap_or(n as i64);
        let core_id = int(&cpu.join("topology/core_id")).unwrap_or(n as i64);
        if let Some(c) = core {
            let e = cores.entry((package_id, core_id)).or_default();
            *e = (*e).max(c);
        }
        if let Some(p) = package {
            let e = packages.entry(package_id).or_default();
            *e = (*e).max(p);
        }
    }
    (cpus > 0).then(|| ThrottleCounts {
        cpus,
        core: cores.values().sum(),
        package: packages.values().sum(),
    })
}

/// One EDAC memory controller's error counts since boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryController {
    /// "mc0".
    pub name: String,
    /// Corrected errors.
    pub corrected: u64,
    /// Uncorrected errors.
    pub uncorrected: u64,
}

/// `/sys/devices/system/edac/mc/mc*/{ce_count,ue_count}`, `None` without EDAC (most desktops,
/// laptops and virtual machines).
pub fn memory_controllers(root: &Path) -> Option<Vec<MemoryController>> {
    let out: Vec<MemoryController> = numbered(&root.join("sys/devices/system/edac/mc"), "mc")
        .into_iter()
        .filter_map(|(n, dir)| {
            let corrected = uint(&dir.join("ce_count"));
            let uncorrected = uint(&dir.join("ue_count"));
            if corrected.is_none() && uncorrected.is_none() {
                return None;
            }
            Some(MemoryController {
                name: format!("mc{n}"),
                corrected: corrected.unwrap_or(0),
                uncorrected: uncorrected.unwrap_or(0),
            })
        })
        .collect();
    (!out.is_empty()).then_some(out)
}

/// Parses one line of a PSI file: `some avg10=0.12 avg60=0.30 avg300=0.05 total=12345`.
fn psi_line(line: &str) -> Option<(&str, PsiLine)> {
    let mut words = line.split_whitespace();
    let kind = words.next()?;
    let (mut avg10, mut avg60, mut avg300, mut total) = (None, None, None, None);
    for w in words {
        let (k, v) = w.split_once('=')?;
        match k {
            "avg10" => avg10 = v.parse().ok(),
            "avg60" => avg60 = v.parse().ok(),
            "avg300" => avg300 = v.parse().ok(),
            "total" => total = v.parse().ok(),
            _ => {}
        }
    }
    Some((
        kind,
        PsiLine {
            avg10: avg10?,
            avg60: avg60?,
            avg300: avg300?,
            total_us: total?,
        },
    ))
}

/// Parses a PSI file's text.
pub fn parse_psi(text: &str) -> Option<PsiResource> {
    let mut some = None;
    let mut full = None;
    for line in text.lines() {
        match psi_line(line) {
            Some(("some", l)) => some = Some(l),
            Some(("full", l)) => full = Some(l),
            _ => {}
        }
    }
    Some(PsiResource { some: some?, full })
}

/// `/proc/pressure/{cpu,memory,io}`, `None` on kernels without PSI (before 4.20, or booted
/// with `psi=0`).
pub fn pressure(root: &Path) -> Option<PressureReading> {
    let read =
        |name: &str| parse_psi(&fs::read_to_string(root.join("proc/pressure").join(name)).ok()?);
    let p = PressureReading {
        cpu: read("cpu"),
        memory: read("memory"),
        io: read("io"),
    };
    (p.cpu.is_some() || p.memory.is_some() || p.io.is_some()).then_some(p)
}

/// The current boot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Boot {
    /// `/proc/sys/kernel/random/boot_id`.
    pub boot_id: Option<String>,
    /// `btime` of `/proc/stat`.
    pub booted_at: Option<DateTime<Utc>>,
}

/// The boot id and boot time.
pub fn boot(root: &Path) -> Boot {
    let booted_at = fs::read_to_string(root.join("proc/stat"))
        .ok()
        .and_then(|stat| {
            stat.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<i64>().ok())
        })
        .and_then(|secs| DateTime::from_timestamp(secs, 0));
    Boot {
        boot_id: text(&root.join("proc/sys/kernel/random/boot_id")).filter(|s| !s.is_empty()),
        booted_at,
    }
}

/// One battery.
#[derive(Debug, Clone, PartialEq)]
pub struct Battery {
    /// "BAT0".
    pub name: String,
    /// Full capacity now (Wh or Ah).
    pub full: Option<f64>,
    /// Design capacity (Wh or Ah).
    pub design: Option<f64>,
    /// "Wh" or "Ah".
    pub unit: &'static str,
    /// Charge cycles.
    pub cycle_count: Option<u64>,
    /// "Charging", "Discharging", "Full"…
    pub state: Option<String>,
}

impl Battery {
    /// Full capacity as a percentage of design capacity.
    pub fn health_percent(&self) -> Option<f64> {
        match (self.full, self.design) {
            (Some(f), Some(d)) if d > 0.0 => Some(f * 100.0 / d),
            _ => None,
        }
    }
}

/// Every system battery under `/sys/class/power_supply` (`BAT*`, or of type `Battery` and not a
/// device's such as a wireless mouse's).
pub fn batteries(root: &Path) -> Vec<Battery> {
    let Ok(entries) = fs::read_dir(root.join("sys/class/power_supply")) else {
        return Vec::new();
    };
    let mut out: Vec<Battery> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let dir = e.path();
            let kind = text(&dir.join("type"));
            let is_battery = match kind.as_deref() {
                Some("Battery") => text(&dir.join("scope")).as_deref() != Some("Device"),
                Some(_) => false,
                None => name.starts_with("BAT"),
            };
            if !is_battery {
                return None;
            }
            // Micro-watt-hours or micro-amp-hours.
            let micro = |f: &str| uint(&dir.join(f)).map(|v| v as f64 / 1e6);
            let (full, design, unit) = match (micro("energy_full"), micro("energy_full_design")) {
                (None, None) => (micro("charge_full"), micro("charge_full_design"), "Ah"),
                (f, d) => (f, d, "Wh"),
            };
            Some(Battery {
                name,
                full,
                design,
                unit,
                cycle_count: uint(&dir.join("cycle_count")),
                state: text(&dir.join("status")).filter(|s| !s.is_empty()),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_lines() {
        let p = parse_psi(
            "some avg10=13.40 avg60=9.18 avg300=13.07 total=172260268\n\
             full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
        )
        .unwrap();
        assert_eq!(p.some.avg60, 9.18);
        assert_eq!(p.some.total_us, 172_260_268);
        assert_eq!(p.full.unwrap().avg10, 0.0);
        let cpu_only_some = parse_psi("some avg10=1.00 avg60=2.00 avg300=3.00 total=4").unwrap();
        assert!(cpu_only_some.full.is_none());
        assert!(parse_psi("").is_none());
        assert!(parse_psi("some avg10=x avg60=1 avg300=1 total=1").is_none());
    }

    #[test]
    fn an_empty_root_has_nothing_and_fails_nothing() {
        let root = Path::new("/nonexistent-root-of-no-machine");
        assert!(temperatures(root).is_none());
        assert!(throttle(root).is_none());
        assert!(memory_controllers(root).is_none());
        assert!(pressure(root).is_none());
        assert_eq!(boot(root), Boot::default());
        assert!(batteries(root).is_empty());
    }

    #[test]
    fn battery_health() {
        let b = Battery {
            name: "BAT0".into(),
            full: Some(40.0),
            design: Some(50.0),
            unit: "Wh",
            cycle_count: None,
            state: None,
        };
        assert_eq!(b.health_percent(), Some(80.0));
        let unknown = Battery {
            design: Some(0.0),
            ..b
        };
        assert_eq!(unknown.health_percent(), None);
    }
}
