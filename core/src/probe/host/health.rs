//! The machine's health beyond CPU, memory and disks: temperatures, thermal throttling, memory
//! errors, pressure stalls sustained over a window, reboots and batteries — and what is kept
//! between checks to tell what changed (counters, the boot, since when a measure is high).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::linux::{self, Battery, Boot, MemoryController, Temperature, ThrottleCounts};
use super::number;
use crate::clock::Zone;
use crate::probe::reading::{
    BatteryReading, BootReading, MemoryControllerReading, PressureReading, SustainedReading,
    TemperatureReading, ThrottleReading,
};
use crate::probe::{Observation, Status};

/// Two boot times further apart than this are two boots (the kernel's `btime` moves by a second
/// or so when the clock is set).
const SAME_BOOT_SLACK: i64 = 30;

/// The resolved settings of the health checks.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct HealthSettings {
    /// Where `/sys` and `/proc` are read.
    pub root: PathBuf,
    /// °C below a sensor's high limit that already warns.
    pub temperature_margin: f64,
    /// Battery health (percent of design) below which it warns.
    pub battery_health: f64,
    /// The status of a reboot since the previous check.
    pub reboot: Status,
    /// Percent CPU busy that warns when it lasts the window.
    pub sustained_cpu: f64,
    /// PSI `some avg60` limits (percent) that warn when they last the window.
    pub cpu_pressure: f64,
    /// See `cpu_pressure`.
    pub memory_pressure: f64,
    /// See `cpu_pressure`.
    pub io_pressure: f64,
    /// How long a measure must stay above its limit to warn.
    pub window: Duration,
}

/// What one check read.
#[derive(Debug, Clone, Default)]
pub(super) struct HealthSample {
    pub temperatures: Option<Vec<Temperature>>,
    pub throttle: Option<ThrottleCounts>,
    pub memory_controllers: Option<Vec<MemoryController>>,
    pub pressure: Option<PressureReading>,
    pub boot: Boot,
    pub batteries: Vec<Battery>,
}

/// Reads everything under `root`.
pub(super) fn read(root: &Path) -> HealthSample {
    let on_this_machine = root == Path::new("/");
    let temperatures = if cfg!(target_os = "linux") || !on_this_machine {
        linux::temperatures(root)
    } else {
        None
    };
    #[cfg(not(target_os = "linux"))]
    let temperatures = temperatures.or_else(|| {
        if on_this_machine {
            super::components::temperatures()
        } else {
            None
        }
    });
    HealthSample {
        temperatures,
        throttle: linux::throttle(root),
        memory_controllers: linux::memory_controllers(root),
        pressure: linux::pressure(root),
        boot: linux::boot(root),
        batteries: linux::batteries(root),
    }
}

/// What the probe remembers between checks.
#[derive(Debug, Default)]
pub(super) struct Memory {
    /// Whether the stored history was consulted (once, on the first check).
    pub seeded: bool,
    /// The boot seen at the previous check.
    pub boot: Option<Boot>,
    /// The throttle counters seen at the previous check.
    pub throttle: Option<ThrottleCounts>,
    /// Each memory controller's (corrected, uncorrected) counts at the previous check.
    pub memory_controllers: BTreeMap<String, (u64, u64)>,
    /// Since when each sustained measure has been above its limit.
    pub above_since: BTreeMap<&'static str, DateTime<Utc>>,
}

impl Memory {
    /// Takes the previous check's counters and boot time from its stored observation (the
    /// monitor restarted, or the machine rebooted and the monitor with it).
    pub fn seed(&mut self, previous: &Observation) {
        self.seeded = true;
        if self.boot.is_some() {
            return;
        }
        let m = |name: &str| previous.metrics.get(name).map(|m| m.value);
        self.boot = m("boot_time")
            .and_then(|t| DateTime::from_timestamp(t as i64, 0))
            .map(|t| Boot {
                boot_id: None,
                booted_at: Some(t),
            });
        if let (Some(core), Some(package)) =
            (m("throttle_core_events"), m("throttle_package_events"))
        {
            self.throttle = Some(ThrottleCounts {
                cpus: 0,
                core: core as u64,
                package: package as u64,
            });
        }
        for (name, metric) in &previous.metrics {
            if let Some(mc) = name.strip_prefix("memory_corrected_errors:") {
                let ue = m(&format!("memory_uncorrected_errors:{mc}")).unwrap_or(0.0);
                self.memory_controllers
                    .insert(mc.to_owned(), (metric.value as u64, ue as u64));
            }
        }
    }
}

/// Whether two boots differ: by boot id when both have one, else by boot time.
fn rebooted(previous: &Boot, now: &Boot) -> bool {
    match (&previous.boot_id, &now.boot_id) {
        (Some(a), Some(b)) => a != b,
        _ => match (previous.booted_at, now.booted_at) {
            (Some(a), Some(b)) => (b - a).num_seconds().abs() > SAME_BOOT_SLACK,
            _ => false,
        },
    }
}

/// The health parts of a [`HostReading`](crate::probe::reading::HostReading).
#[derive(Debug, Default)]
pub(super) struct HealthParts {
    pub temperatures: Vec<TemperatureReading>,
    pub thermal_throttle: Option<ThrottleReading>,
    pub memory_controllers: Vec<MemoryControllerReading>,
    pub pressure: Option<PressureReading>,
    pub sustained: Vec<SustainedReading>,
    pub boot: Option<BootReading>,
    pub batteries: Vec<BatteryReading>,
    pub not_available: Vec<String>,
}

/// Findings ("what the summary says" with its status) and metrics of one evaluation.
pub(super) struct Out<'a> {
    pub findings: &'a mut Vec<(Status, String)>,
    pub metrics: &'a mut Vec<(String, f64, &'static str)>,
}

impl Out<'_> {
    fn say(&mut self, status: Status, text: String) {
        self.findings.push((status, text));
    }
    fn metric(&mut self, name: String, value: f64, unit: &'static str) {
        self.metrics.push((name, value, unit));
    }
}

/// "1 event", "3 events".
fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A temperature to a tenth of a degree: "85.1", "62".
fn celsius(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

/// "12 min", "1 h 5 min", "40 s".
fn span(d: chrono::TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    if s < 120 {
        format!("{s} s")
    } else if s < 7200 {
        format!("{} min", s / 60)
    } else {
        format!("{} h {} min", s / 3600, s % 3600 / 60)
    }
}

/// Judges one sample against the settings and what the previous check saw, and remembers this
/// one for the next.
pub(super) fn evaluate(
    settings: &HealthSettings,
    memory: &mut Memory,
    sample: &HealthSample,
    cpu_percent: f64,
    at: DateTime<Utc>,
    zone: Zone,
    out: &mut Out<'_>,
) -> HealthParts {
    let mut parts = HealthParts::default();

    // The boot: a reboot resets every counter, so no deltas across it.
    let previous_boot = memory.boot.take();
    let rebooted = previous_boot
        .as_ref()
        .is_some_and(|p| rebooted(p, &sample.boot));
    if rebooted {
        let when = sample
            .boot
            .booted_at
            .map(|t| format!(" at {}", zone.minute(t)))
            .unwrap_or_default();
        out.say(settings.reboot, format!("rebooted{when}"));
    }
    if let Some(t) = sample.boot.booted_at {
        out.metric("boot_time".into(), t.timestamp() as f64, "s");
    }
    if sample.boot.boot_id.is_some() || sample.boot.booted_at.is_some() {
        parts.boot = Some(BootReading {
            boot_id: sample.boot.boot_id.clone(),
            booted_at: sample.boot.booted_at,
            rebooted,
        });
        memory.boot = Some(sample.boot.clone());
    } else {
        parts.not_available.push("boot id".into());
    }
    let same_boot = previous_boot.is_some() && !rebooted;

    // Temperatures against the hardware's limits.
    match &sample.temperatures {
        None => parts.not_available.push("temperature sensors".into()),
        Some(sensors) => {
            let mut warmest: Option<&Temperature> = None;
            for t in sensors {
                let warn_at = t
                    .high
                    .or(t.critical)
                    .map(|l| l - settings.temperature_margin);
                let status = match (t.critical, warn_at) {
                    (Some(c), _) if t.celsius >= c => Status::Critical,
                    (_, Some(w)) if t.celsius >= w => Status::Warning,
                    _ => Status::Ok,
                };
                if status != Status::Ok {
                    let limit = match (status, t.high, t.critical) {
                        (Status::Warning, Some(h), _) => format!("high {} °C", celsius(h)),
                        (_, _, Some(c)) => format!("critical {} °C", celsius(c)),
                        _ => String::new(),
                    };
                    let near = if status == Status::Warning
                        && t.celsius < t.high.or(t.critical).unwrap_or(f64::MAX)
                    {
                        "near its"
                    } else {
                        "at or above its"
                    };
                    out.say(
                        status,
                        format!("{} {} °C, {near} {limit}", t.sensor, celsius(t.celsius)),
                    );
                }
                out.metric(format!("temperature:{}", t.sensor), t.celsius, "°C");
                if warmest.is_none_or(|w| t.celsius > w.celsius) {
                    warmest = Some(t);
                }
                parts.temperatures.push(TemperatureReading {
                    sensor: t.sensor.clone(),
                    celsius: t.celsius,
                    high_celsius: t.high,
                    critical_celsius: t.critical,
                    status,
                });
            }
            if parts.temperatures.iter().all(|t| t.status == Status::Ok)
                && let Some(w) = warmest
            {
                out.say(
                    Status::Ok,
                    format!("warmest {} {} °C", w.sensor, celsius(w.celsius)),
                );
            }
        }
    }

    // Thermal throttling, as events since the previous check.
    let previous_throttle = memory.throttle.take();
    match sample.throttle {
        None => parts.not_available.push("thermal throttle counters".into()),
        Some(now) => {
            let delta = previous_throttle
                .filter(|p| same_boot && now.core >= p.core && now.package >= p.package)
                .map(|p| (now.core - p.core, now.package - p.package));
            let mut status = Status::Ok;
            if let Some((core, package)) = delta {
                out.metric("throttle_core_events_since_last".into(), core as f64, "");
                out.metric(
                    "throttle_package_events_since_last".into(),
                    package as f64,
                    "",
                );
                if core + package > 0 {
                    status = Status::Warning;
                    out.say(
                        status,
                        format!(
                            "CPU thermal throttling: {} and {} since the last check",
                            plural(core, "core event", "core events"),
                            plural(package, "package event", "package events")
                        ),
                    );
                }
            }
            out.metric("throttle_core_events".into(), now.core as f64, "");
            out.metric("throttle_package_events".into(), now.package as f64, "");
            parts.thermal_throttle = Some(ThrottleReading {
                cpus: now.cpus,
                core_events: now.core,
                package_events: now.package,
                core_events_since_last: delta.map(|d| d.0),
                package_events_since_last: delta.map(|d| d.1),
                status,
            });
            memory.throttle = Some(now);
        }
    }

    // Memory errors (EDAC): corrected ones rising warn, uncorrected ones rising are critical.
    let previous_mc = std::mem::take(&mut memory.memory_controllers);
    match &sample.memory_controllers {
        None => parts
            .not_available
            .push("memory error counters (EDAC)".into()),
        Some(controllers) => {
            for mc in controllers {
                let delta = previous_mc
                    .get(&mc.name)
                    .filter(|(ce, ue)| same_boot && mc.corrected >= *ce && mc.uncorrected >= *ue)
                    .map(|(ce, ue)| (mc.corrected - ce, mc.uncorrected - ue));
                let mut status = Status::Ok;
                match delta {
                    Some((_, ue)) if ue > 0 => {
                        status = Status::Critical;
                        out.say(
                            status,
                            format!(
                                "{}: {} since the last check ({} since boot) — memory or processor failing",
                                mc.name,
                                plural(ue, "uncorrected memory error", "uncorrected memory errors"),
                                mc.uncorrected
                            ),
                        );
                    }
                    None if mc.uncorrected > 0 => {
                        status = Status::Warning;
                        out.say(
                            status,
                            format!(
                                "{}: {} since boot — memory or processor failing",
                                mc.name,
                                plural(
                                    mc.uncorrected,
                                    "uncorrected memory error",
                                    "uncorrected memory errors"
                                )
                            ),
                        );
                    }
                    _ => {}
                }
                if let Some((ce, _)) = delta
                    && ce > 0
                {
                    status = status.worst(Status::Warning);
                    out.say(
                        Status::Warning,
                        format!(
                            "{}: {} since the last check ({} since boot)",
                            mc.name,
                            plural(ce, "corrected memory error", "corrected memory errors"),
                            mc.corrected
                        ),
                    );
                }
                out.metric(
                    format!("memory_corrected_errors:{}", mc.name),
                    mc.corrected as f64,
                    "",
                );
                out.metric(
                    format!("memory_uncorrected_errors:{}", mc.name),
                    mc.uncorrected as f64,
                    "",
                );
                parts.memory_controllers.push(MemoryControllerReading {
                    name: mc.name.clone(),
                    corrected: mc.corrected,
                    uncorrected: mc.uncorrected,
                    corrected_since_last: delta.map(|d| d.0),
                    uncorrected_since_last: delta.map(|d| d.1),
                    status,
                });
                memory
                    .memory_controllers
                    .insert(mc.name.clone(), (mc.corrected, mc.uncorrected));
            }
        }
    }

    // Sustained load: CPU busy and pressure stalls above their limits for the whole window.
    let mut measures: Vec<(&'static str, &'static str, f64, f64)> =
        vec![("cpu_percent", "cpu", cpu_percent, settings.sustained_cpu)];
    match &sample.pressure {
        None => parts
            .not_available
            .push("pressure stall information".into()),
        Some(p) => {
            let mut said = Vec::new();
            for (measure, label, resource, limit) in [
                ("cpu_pressure", "cpu", p.cpu, settings.cpu_pressure),
                (
                    "memory_pressure",
                    "memory",
                    p.memory,
                    settings.memory_pressure,
                ),
                ("io_pressure", "io", p.io, settings.io_pressure),
            ] {
                if let Some(r) = resource {
                    let v = r.some.avg60;
                    out.metric(format!("pressure_{label}_some_avg60"), v, "%");
                    if let Some(full) = r.full {
                        out.metric(format!("pressure_{label}_full_avg60"), full.avg60, "%");
                    }
                    said.push(format!("{label} {} %", number(v)));
                    measures.push((measure, label, v, limit));
                }
            }
            out.say(Status::Ok, format!("pressure {}", said.join(" ")));
            parts.pressure = Some(*p);
        }
    }
    for (measure, label, value, limit) in measures {
        if value <= limit {
            memory.above_since.remove(measure);
            continue;
        }
        let since = *memory.above_since.entry(measure).or_insert(at);
        let lasted = at - since;
        let window = chrono::TimeDelta::from_std(settings.window).unwrap_or(chrono::TimeDelta::MAX);
        let status = if lasted >= window {
            Status::Warning
        } else {
            Status::Ok
        };
        let what = if measure == "cpu_percent" {
            format!("cpu busy {} %", number(value))
        } else {
            format!("{label} pressure {} %", number(value))
        };
        let text = if status == Status::Warning {
            format!("{what}, above {} % for {}", number(limit), span(lasted))
        } else {
            format!(
                "{what}, above {} % for {} (warns after {})",
                number(limit),
                span(lasted),
                span(window)
            )
        };
        out.say(status, text);
        parts.sustained.push(SustainedReading {
            measure: measure.to_owned(),
            value,
            limit,
            since,
            status,
        });
    }

    // Batteries against their design capacity.
    if sample.batteries.is_empty() {
        parts.not_available.push("batteries".into());
    }
    for b in &sample.batteries {
        let health = b.health_percent();
        let status = match health {
            Some(h) if h < settings.battery_health => Status::Warning,
            _ => Status::Ok,
        };
        let cycles = b
            .cycle_count
            .map(|c| format!(", {} cycles", c))
            .unwrap_or_default();
        let text = match (health, b.full, b.design) {
            (Some(h), Some(f), Some(d)) if status == Status::Warning => format!(
                "battery {} holds {} % of its design ({} of {} {}{cycles}), below {} %",
                b.name,
                number(h),
                number(f),
                number(d),
                b.unit,
                number(settings.battery_health)
            ),
            (Some(h), ..) => format!("battery {} health {} %", b.name, number(h)),
            _ => format!("battery {} health not available", b.name),
        };
        out.say(status, text);
        if let Some(h) = health {
            out.metric(format!("battery_health_percent:{}", b.name), h, "%");
        }
        if let Some(c) = b.cycle_count {
            out.metric(format!("battery_cycles:{}", b.name), c as f64, "");
        }
        parts.batteries.push(BatteryReading {
            name: b.name.clone(),
            health_percent: health,
            full: b.full,
            design: b.design,
            unit: b.unit.to_owned(),
            cycle_count: b.cycle_count,
            state: b.state.clone(),
            status,
        });
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boots_differ_by_id_or_time() {
        let t = |s: i64| DateTime::from_timestamp(s, 0);
        let a = Boot {
            boot_id: Some("a".into()),
            booted_at: t(1000),
        };
        let same_time_new_id = Boot {
            boot_id: Some("b".into()),
            booted_at: t(1000),
        };
        assert!(rebooted(&a, &same_time_new_id));
        let by_time_only = Boot {
            boot_id: None,
            booted_at: t(1001),
        };
        assert!(!rebooted(&a, &by_time_only), "a second of clock drift");
        let later = Boot {
            boot_id: None,
            booted_at: t(5000),
        };
        assert!(rebooted(&a, &later));
        assert!(!rebooted(&Boot::default(), &a));
    }

    #[test]
    fn spans_and_plurals() {
        assert_eq!(span(chrono::TimeDelta::seconds(40)), "40 s");
        assert_eq!(span(chrono::TimeDelta::seconds(720)), "12 min");
        assert_eq!(span(chrono::TimeDelta::seconds(3900 + 7200)), "3 h 5 min");
        assert_eq!(plural(1, "event", "events"), "1 event");
        assert_eq!(plural(0, "event", "events"), "0 events");
    }
}
