//! The `host` probe's deeper health checks against fixture `/sys` and `/proc` trees
//! (tests/data/host/), copied to a temporary directory so the tests can rewrite counters between
//! checks; configured standards; and the real readers on this machine.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use forewarn::Store;
use forewarn::probe::host::{HostConfig, StandardConfig, SustainedConfig, linux};
use forewarn::probe::reading::{HostReading, Reading};
use forewarn::probe::{CheckContext, Observation, Probe, ProbeConfig, Status};
use forewarn::{Config, ManualClock, SqliteStore, Zone};

/// A fresh copy of the fixture tree `name`.
fn tree(name: &str) -> (tempfile::TempDir, PathBuf) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/host")
        .join(name);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(name);
    copy(&from, &root);
    (dir, root)
}

fn write(root: &Path, file: &str, text: &str) {
    std::fs::write(root.join(file), format!("{text}\n")).unwrap();
}

/// Thresholds of CPU, load, memory, swap and disks that this (possibly busy) machine never
/// reaches, so only the fixture decides.
fn calm(root: &Path) -> HostConfig {
    toml::from_str::<HostConfig>(
        r#"
        cpu = { warning = 100, critical = 100 }
        load_per_core = { warning = 1e9, critical = 1e9 }
        memory_available = { warning = 0, critical = 0 }
        swap_used = { warning = 100, critical = 100 }
        disk_free = { warning = 0, critical = 0 }
        sustained = { cpu_percent = 100 }
        "#,
    )
    .map(|c| HostConfig {
        root: Some(root.to_owned()),
        ..c
    })
    .unwrap()
}

const T0: &str = "2026-03-02T08:00:00Z";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A context on a manual clock, in Berlin time.
fn cx(clock: &ManualClock) -> CheckContext {
    let mut cx = CheckContext::for_test("laptop");
    cx.clock = Arc::new(clock.clone());
    cx.zone = Zone::named("Europe/Berlin").unwrap();
    cx
}

fn host(obs: &Observation) -> &HostReading {
    match obs.reading.as_deref() {
        Some(Reading::Host(h)) => h,
        other => panic!("no host reading: {other:?}"),
    }
}

#[tokio::test]
async fn an_intel_laptop_reads_every_sensor_counter_and_battery() {
    let (_dir, root) = tree("intel-laptop");
    let probe = calm(&root).build().unwrap();
    let clock = ManualClock::new(at(T0));
    let obs = probe.check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
    let h = host(&obs);

    let sensors: Vec<&str> = h.temperatures.iter().map(|t| t.sensor.as_str()).collect();
    assert_eq!(
        sensors,
        [
            "acpitz temp1",
            "coretemp Package id 0",
            "coretemp Core 0",
            "coretemp Core 1",
            "nvme Composite"
        ]
    );
    let package = &h.temperatures[1];
    assert_eq!(
        (
            package.celsius,
            package.high_celsius,
            package.critical_celsius
        ),
        (62.0, Some(100.0), Some(100.0))
    );
    assert!(
        obs.summary.contains("warmest coretemp Package id 0 62 °C"),
        "{}",
        obs.summary
    );
    assert_eq!(obs.metrics["temperature:nvme Composite"].value, 38.85);

    // Hyper-threads share their core's counter, every CPU shows the package's: 10 + 4 and 7.
    let t = h.thermal_throttle.as_ref().expect("throttle counters");
    assert_eq!((t.cpus, t.core_events, t.package_events), (4, 14, 7));
    assert_eq!(
        t.core_events_since_last, None,
        "no previous check: not available, not 0"
    );
    assert!(!obs.metrics.contains_key("throttle_core_events_since_last"));

    assert_eq!(h.memory_controllers.len(), 1);
    let mc = &h.memory_controllers[0];
    assert_eq!(
        (mc.name.as_str(), mc.corrected, mc.uncorrected),
        ("mc0", 3, 0)
    );
    assert_eq!(mc.corrected_since_last, None);

    let p = h.pressure.expect("pressure");
    assert_eq!(p.memory.unwrap().some.avg60, 0.12);
    assert_eq!(p.io.unwrap().full.unwrap().avg10, 0.10);
    assert!(
        obs.summary
            .contains("pressure cpu 1.52 % memory 0.12 % io 0.81 %"),
        "{}",
        obs.summary
    );

    let boot = h.boot.as_ref().unwrap();
    assert_eq!(
        boot.boot_id.as_deref(),
        Some("5b0e7d1c-8f4a-4d0e-9a55-2f6c1f0b8e11")
    );
    assert_eq!(boot.booted_at, Some(at("2026-01-01T07:30:00Z")));
    assert!(!boot.rebooted);

    // The laptop's battery, not the wireless mouse's.
    assert_eq!(h.batteries.len(), 1);
    let b = &h.batteries[0];
    assert_eq!(b.name, "BAT0");
    assert_eq!(
        (b.full, b.design, b.unit.as_str()),
        (Some(38.12), Some(57.0), "Wh")
    );
    assert!((b.health_percent.unwrap() - 66.88).abs() < 0.01);
    assert_eq!(b.cycle_count, Some(612));
    assert_eq!(b.state.as_deref(), Some("Discharging"));
    assert_eq!(b.status, Status::Ok, "67 % is above the default 60 %");
    assert!(
        obs.summary.contains("battery BAT0 health 67 %"),
        "{}",
        obs.summary
    );

    assert!(h.not_available.is_empty(), "{:?}", h.not_available);
    assert!(!obs.summary.contains("not available"), "{}", obs.summary);

    // What `forewarn check --json` prints, read back.
    let json = serde_json::to_value(obs.reading.as_deref().unwrap()).unwrap();
    assert_eq!(json["kind"], "host");
    assert_eq!(json["thermal_throttle"]["core_events"], 14);
    assert!(
        json["thermal_throttle"]
            .get("core_events_since_last")
            .is_none()
    );
    assert_eq!(json["batteries"][0]["cycle_count"], 612);
    let back: Reading = serde_json::from_value(json).unwrap();
    assert_eq!(&back, obs.reading.as_deref().unwrap());
}

#[tokio::test]
async fn counters_rising_between_checks_warn_and_uncorrected_errors_are_critical() {
    let (_dir, root) = tree("intel-laptop");
    let probe = calm(&root).build().unwrap();
    let clock = ManualClock::new(at(T0));
    assert_eq!(probe.check(&cx(&clock)).await.status, Status::Ok);

    // Nothing changed: 0 events since the last check, now that there is one.
    clock.advance(Duration::from_secs(60));
    let obs = probe.check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
    let t = host(&obs).thermal_throttle.clone().unwrap();
    assert_eq!(
        (t.core_events_since_last, t.package_events_since_last),
        (Some(0), Some(0))
    );
    assert_eq!(
        host(&obs).memory_controllers[0].corrected_since_last,
        Some(0)
    );

    // Core 0 throttles 6 more times (seen by both its hyper-threads), the package twice.
    for cpu in 0..4 {
        if cpu % 2 == 0 {
            write(
                &root,
                &format!("sys/devices/system/cpu/cpu{cpu}/thermal_throttle/core_throttle_count"),
                "16",
            );
        }
        write(
            &root,
            &format!("sys/devices/system/cpu/cpu{cpu}/thermal_throttle/package_throttle_count"),
            "9",
        );
    }
    write(&root, "sys/devices/system/edac/mc/mc0/ce_count", "5");
    clock.advance(Duration::from_secs(60));
    let obs = probe.check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
    assert!(
        obs.summary.contains(
            "CPU thermal throttling: 6 core events and 2 package events since the last check"
        ),
        "{}",
        obs.summary
    );
    assert!(
        obs.summary
            .contains("mc0: 2 corrected memory errors since the last check (5 since boot)"),
        "{}",
        obs.summary
    );
    let h = host(&obs);
    let t = h.thermal_throttle.as_ref().unwrap();
    assert_eq!(
        (t.core_events_since_last, t.package_events_since_last),
        (Some(6), Some(2))
    );
    assert_eq!(t.status, Status::Warning);
    assert_eq!(h.memory_controllers[0].corrected_since_last, Some(2));
    assert_eq!(h.memory_controllers[0].status, Status::Warning);
    assert_eq!(obs.metrics["throttle_core_events_since_last"].value, 6.0);

    // An uncorrected error: the memory or processor is failing.
    write(&root, "sys/devices/system/edac/mc/mc0/ue_count", "1");
    clock.advance(Duration::from_secs(60));
    let obs = probe.check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
    assert!(
        obs.summary.starts_with(
            "mc0: 1 uncorrected memory error since the last check (1 since boot) — memory or processor failing"
        ),
        "{}",
        obs.summary
    );
    assert_eq!(
        host(&obs).memory_controllers[0].uncorrected_since_last,
        Some(1)
    );

    // Quiet again: OK.
    clock.advance(Duration::from_secs(60));
    let obs = probe.check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
}

#[tokio::test]
async fn a_reboot_between_checks_is_told_in_local_time_and_resets_no_delta() {
    let (_dir, root) = tree("intel-laptop");
    let probe = calm(&root).build().unwrap();
    let clock = ManualClock::new(at(T0));
    assert_eq!(probe.check(&cx(&clock)).await.status, Status::Ok);

    // The machine reboots: a new boot id and boot time, counters start again from zero.
    write(
        &root,
        "proc/sys/kernel/random/boot_id",
        "0d7e1c44-1111-4a2b-8c3d-9e8f7a6b5c4d",
    );
    let stat = std::fs::read_to_string(root.join("proc/stat"))
        .unwrap()
        .replace("btime 1767252600", "btime 1772438700"); // 2026-03-02 08:05 UTC
    std::fs::write(root.join("proc/stat"), stat).unwrap();
    for cpu in 0..4 {
        write(
            &root,
            &format!("sys/devices/system/cpu/cpu{cpu}/thermal_throttle/core_throttle_count"),
            "1",
        );
        write(
            &root,
            &format!("sys/devices/system/cpu/cpu{cpu}/thermal_throttle/package_throttle_count"),
            "0",
        );
    }
    write(&root, "sys/devices/system/edac/mc/mc0/ce_count", "0");
    clock.advance(Duration::from_secs(600));
    let obs = probe.check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
    assert!(
        obs.summary.starts_with("rebooted at 2026-03-02 09:05 CET"),
        "{}",
        obs.summary
    );
    let h = host(&obs);
    assert!(h.boot.as_ref().unwrap().rebooted);
    assert_eq!(
        h.thermal_throttle.as_ref().unwrap().core_events_since_last,
        None
    );
    assert_eq!(h.memory_controllers[0].corrected_since_last, None);

    // The next check compares with the new boot.
    clock.advance(Duration::from_secs(60));
    let obs = probe.check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
    assert!(!host(&obs).boot.as_ref().unwrap().rebooted);
    assert_eq!(
        host(&obs)
            .thermal_throttle
            .as_ref()
            .unwrap()
            .core_events_since_last,
        Some(0)
    );

    // A standard that only tells of reboots.
    let probe = HostConfig {
        reboot: Some(Status::Ok),
        ..calm(&root)
    }
    .build()
    .unwrap();
    probe.check(&cx(&clock)).await;
    write(
        &root,
        "proc/sys/kernel/random/boot_id",
        "f00dfeed-2222-4a2b-8c3d-9e8f7a6b5c4d",
    );
    let obs = probe.check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
    assert!(obs.summary.contains("rebooted at "), "{}", obs.summary);
}

#[tokio::test]
async fn a_restarted_monitor_takes_the_previous_counters_and_boot_from_its_history() {
    let (_dir, root) = tree("intel-laptop");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let clock = ManualClock::new(at(T0));
    let with_history = || {
        let mut cx = cx(&clock);
        cx.history = Some(forewarn::probe::History::new(store.clone(), "laptop"));
        cx
    };
    let first = calm(&root).build().unwrap().check(&with_history()).await;
    store
        .record_observations(vec![(Arc::from("laptop"), first)])
        .await
        .unwrap();

    // A new probe (the monitor restarted), same boot: deltas from the stored counters.
    write(&root, "sys/devices/system/edac/mc/mc0/ce_count", "4");
    clock.advance(Duration::from_secs(60));
    let obs = calm(&root).build().unwrap().check(&with_history()).await;
    assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
    assert_eq!(
        host(&obs).memory_controllers[0].corrected_since_last,
        Some(1)
    );
    assert!(!host(&obs).boot.as_ref().unwrap().rebooted);

    // The machine rebooted and the monitor with it: told from the stored boot time.
    let stat = std::fs::read_to_string(root.join("proc/stat"))
        .unwrap()
        .replace("btime 1767252600", "btime 1772438700");
    std::fs::write(root.join("proc/stat"), stat).unwrap();
    clock.advance(Duration::from_secs(600));
    let obs = calm(&root).build().unwrap().check(&with_history()).await;
    assert!(
        obs.summary.starts_with("rebooted at 2026-03-02 09:05 CET"),
        "{}",
        obs.summary
    );
    assert_eq!(host(&obs).memory_controllers[0].corrected_since_last, None);
}

#[tokio::test]
async fn temperatures_warn_near_the_high_limit_and_are_critical_at_the_critical_one() {
    let (_dir, root) = tree("intel-laptop");
    let probe = HostConfig {
        temperature_margin: Some(5.0),
        ..calm(&root)
    }
    .build()
    .unwrap();
    let clock = ManualClock::new(at(T0));
    write(&root, "sys/class/hwmon/hwmon1/temp1_input", "96000");
    let obs = probe.check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
    assert!(
        obs.summary
            .starts_with("coretemp Package id 0 96 °C, near its high 100 °C"),
        "{}",
        obs.summary
    );
    assert_eq!(host(&obs).temperatures[1].status, Status::Warning);

    write(&root, "sys/class/hwmon/hwmon2/temp1_input", "85100");
    let obs = probe.check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
    assert!(
        obs.summary
            .starts_with("nvme Composite 85.1 °C, at or above its critical 84.8 °C"),
        "{}",
        obs.summary
    );

    // Without a margin, 96 °C is below the high limit.
    write(&root, "sys/class/hwmon/hwmon2/temp1_input", "40000");
    let obs = calm(&root).build().unwrap().check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
}

#[tokio::test]
async fn pressure_warns_only_when_it_lasts_the_window() {
    let (_dir, root) = tree("intel-laptop");
    let probe = HostConfig {
        sustained: SustainedConfig {
            cpu_percent: Some(100.0),
            memory_pressure: Some(20.0),
            window: Some(Duration::from_secs(600)),
            ..Default::default()
        },
        ..calm(&root)
    }
    .build()
    .unwrap();
    let clock = ManualClock::new(at(T0));
    let high = "some avg10=41.00 avg60=35.50 avg300=12.00 total=99999999\nfull avg10=20.00 avg60=18.00 avg300=5.00 total=55555555";
    write(&root, "proc/pressure/memory", high);
    let obs = probe.check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Ok, "one spike: {}", obs.summary);
    assert!(
        obs.summary
            .contains("memory pressure 36 %, above 20 % for 0 s (warns after 10 min)"),
        "{}",
        obs.summary
    );
    let s = &host(&obs).sustained;
    assert_eq!(
        (s[0].measure.as_str(), s[0].since, s[0].limit),
        ("memory_pressure", at(T0), 20.0)
    );

    clock.advance(Duration::from_secs(300));
    assert_eq!(probe.check(&cx(&clock)).await.status, Status::Ok);
    clock.advance(Duration::from_secs(360));
    let obs = probe.check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
    assert!(
        obs.summary
            .starts_with("memory pressure 36 %, above 20 % for 11 min"),
        "{}",
        obs.summary
    );
    assert_eq!(obs.metrics["pressure_memory_full_avg60"].value, 18.0);

    // It eases: OK, and a new stretch starts from scratch.
    write(
        &root,
        "proc/pressure/memory",
        "some avg10=0.00 avg60=1.00 avg300=9.00 total=99999999",
    );
    clock.advance(Duration::from_secs(60));
    let obs = probe.check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
    assert!(host(&obs).sustained.is_empty());
    write(&root, "proc/pressure/memory", high);
    clock.advance(Duration::from_secs(60));
    assert_eq!(probe.check(&cx(&clock)).await.status, Status::Ok);
}

#[tokio::test]
async fn an_amd_virtual_machine_says_what_is_not_available_and_stays_ok() {
    let (_dir, root) = tree("amd-vm");
    let clock = ManualClock::new(at(T0));
    let probe = calm(&root).build().unwrap();
    for _ in 0..2 {
        let obs = probe.check(&cx(&clock)).await;
        assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
        let h = host(&obs);
        assert_eq!(
            h.not_available,
            [
                "thermal throttle counters",
                "memory error counters (EDAC)",
                "batteries"
            ]
        );
        assert!(h.thermal_throttle.is_none() && h.batteries.is_empty());
        assert!(!obs.metrics.keys().any(|k| k.starts_with("throttle")));
        assert_eq!(h.temperatures[0].sensor, "k10temp Tctl");
        assert_eq!(h.temperatures[0].high_celsius, None);
        assert!(
            obs.summary.ends_with(
                "; not available: thermal throttle counters, memory error counters (EDAC), batteries"
            ),
            "{}",
            obs.summary
        );
        clock.advance(Duration::from_secs(60));
    }
    // An empty tree: nothing at all, still no failure.
    let empty = tempfile::tempdir().unwrap();
    let obs = calm(empty.path()).build().unwrap().check(&cx(&clock)).await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
    assert_eq!(
        host(&obs).not_available,
        [
            "boot id",
            "temperature sensors",
            "thermal throttle counters",
            "memory error counters (EDAC)",
            "pressure stall information",
            "batteries"
        ]
    );
}

#[test]
fn the_readers_read_the_fixture_trees() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/host");
    let laptop = root.join("intel-laptop");
    assert_eq!(linux::temperatures(&laptop).unwrap().len(), 5);
    assert_eq!(linux::throttle(&laptop).unwrap().core, 14);
    assert_eq!(linux::memory_controllers(&laptop).unwrap()[0].corrected, 3);
    assert!(linux::pressure(&laptop).unwrap().cpu.is_some());
    assert_eq!(linux::batteries(&laptop).len(), 1);
    let vm = root.join("amd-vm");
    assert!(linux::throttle(&vm).is_none());
    assert!(linux::memory_controllers(&vm).is_none());
    assert!(linux::batteries(&vm).is_empty());
    assert!(linux::boot(&vm).boot_id.is_some());
}

#[tokio::test]
async fn the_real_readers_run_on_this_machine() {
    let root = Path::new("/");
    // Whatever this machine has; absent parts are None, never an error or a panic.
    let _ = (
        linux::temperatures(root),
        linux::throttle(root),
        linux::memory_controllers(root),
        linux::batteries(root),
    );
    if cfg!(target_os = "linux") {
        assert!(linux::boot(root).boot_id.is_some(), "Linux has a boot id");
        if Path::new("/proc/pressure/memory").exists() {
            assert!(linux::pressure(root).unwrap().memory.is_some());
        }
    }
    let probe = HostConfig::default().build().unwrap();
    let cx = CheckContext::for_test("this-machine");
    let first = probe.check(&cx).await;
    assert_ne!(first.status, Status::Unknown, "{}", first.summary);
    let second = probe.check(&cx).await;
    assert_ne!(second.status, Status::Unknown, "{}", second.summary);
    let h = host(&second);
    assert!(!h.boot.as_ref().is_some_and(|b| b.rebooted));
    if let Some(t) = &h.thermal_throttle {
        assert!(
            t.core_events_since_last.is_some(),
            "a second check has deltas"
        );
    } else {
        assert!(
            h.not_available
                .iter()
                .any(|n| n == "thermal throttle counters")
        );
    }
    serde_json::to_string(second.reading.as_deref().unwrap()).unwrap();
}

const STANDARDS: &str = r#"
[standards.staff-laptops]
description = "Teachers' and office laptops"
battery_health = 70
temperature_margin = 5
reboot = "ok"
disk_free = { warning = 20, critical = 10 }
sustained = { memory_pressure = 25, window = "10m" }

[standards.servers]
cpu = { warning = 80 }

[groups.staff]
standard = "staff-laptops"

[[checks]]
name = "laptop-114"
type = "host"
group = "staff"
disk_free = { warning = 25 }

[[checks]]
name = "file-server"
type = "host"
group = "staff"
standard = "servers"

[[checks]]
name = "plain"
type = "host"
"#;

fn host_config(config: &Config, name: &str) -> HostConfig {
    let check = config
        .checks
        .iter()
        .find(|c| c.name.get_ref() == name)
        .unwrap();
    match &check.probe {
        ProbeConfig::Host(h) => h.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn host_checks_take_their_standard_or_their_groups() {
    let config = Config::parse(STANDARDS, Path::new("forewarn.toml")).unwrap();
    assert_eq!(config.standards.len(), 2);
    let laptop = host_config(&config, "laptop-114");
    assert_eq!(laptop.standard.as_deref(), Some("staff-laptops"));
    assert_eq!(laptop.battery_health, Some(70.0));
    assert_eq!(laptop.reboot, Some(Status::Ok));
    assert_eq!(
        laptop.disk_free.warning,
        Some(25.0),
        "the check's own value wins"
    );
    assert_eq!(laptop.disk_free.critical, Some(10.0));
    assert_eq!(laptop.sustained.memory_pressure, Some(25.0));
    let server = host_config(&config, "file-server");
    assert_eq!(server.standard.as_deref(), Some("servers"));
    assert_eq!(server.cpu.warning, Some(80.0));
    assert_eq!(server.battery_health, None);
    let plain = host_config(&config, "plain");
    assert_eq!(plain.standard, None);
    assert_eq!(plain, toml::from_str::<HostConfig>("").unwrap());
}

#[tokio::test]
async fn a_standard_judges_the_fixture_laptop() {
    let (_dir, root) = tree("intel-laptop");
    let standard: StandardConfig = toml::from_str("battery_health = 70").unwrap();
    let probe = calm(&root).with_standard(&standard).build().unwrap();
    let obs = probe.check(&cx(&ManualClock::new(at(T0)))).await;
    assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
    assert!(
        obs.summary.starts_with(
            "battery BAT0 holds 67 % of its design (38 of 57 Wh, 612 cycles), below 70 %"
        ),
        "{}",
        obs.summary
    );
}

/// The error `text` gives, as `forewarn validate` prints it.
fn error(text: &str) -> String {
    Config::parse(text, Path::new("forewarn.toml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn unknown_standards_and_bad_values_are_located() {
    let e = error("[[checks]]\nname = \"pc\"\ntype = \"host\"\nstandard = \"laptops\"\n");
    assert!(e.starts_with("forewarn.toml:4:12:"), "{e}");
    assert!(
        e.contains("standard `laptops` is not defined (known: none)"),
        "{e}"
    );

    let e = error("[standards.staff]\nbattery_health = 60\n\n[groups.a]\nstandard = \"staf\"\n");
    assert!(e.starts_with("forewarn.toml:5:12:"), "{e}");
    assert!(e.contains("groups.a.standard"), "{e}");
    assert!(
        e.contains("standard `staf` is not defined (known: staff)"),
        "{e}"
    );

    let e = error("[standards.staff]\nbattery_health = 160\n");
    assert!(e.starts_with("forewarn.toml:2:18:"), "{e}");
    assert!(e.contains("standards.staff.battery_health"), "{e}");
    assert!(e.contains("160 is out of range (0–100)"), "{e}");

    let e = error("[standards.staff]\nsustained = { window = \"0s\" }\n");
    assert!(e.starts_with("forewarn.toml:2:24:"), "{e}");
    assert!(e.contains("standards.staff.sustained.window"), "{e}");

    let e = error("[standards.staff]\nbattery_healt = 60\n");
    assert!(e.starts_with("forewarn.toml:2:1:"), "{e}");
    assert!(e.contains("battery_healt"), "{e}");

    // A value the check and its standard only get wrong together is the check's.
    let e = error(
        "[standards.s]\ncpu = { warning = 70, critical = 85 }\n\n[[checks]]\nname = \"pc\"\ntype = \"host\"\nstandard = \"s\"\ncpu = { critical = 60 }\n",
    );
    assert!(e.starts_with("forewarn.toml:8:7:"), "{e}");
    assert!(e.contains("check `pc`"), "{e}");
}

#[test]
fn the_readmes_standards_example_parses() {
    let readme = include_str!("../README.md");
    let start = readme
        .find("```toml\n[standards.")
        .expect("the README has a standards example");
    let block = &readme[start + "```toml\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    let config = Config::parse(block, Path::new("README.md")).unwrap_or_else(|e| panic!("{e}"));
    assert!(!config.standards.is_empty());
    assert!(config.checks.iter().any(|c| matches!(
        &c.probe,
        ProbeConfig::Host(h) if h.standard.is_some()
    )));
}

#[test]
fn the_embedded_default_checks_this_machines_deeper_health() {
    let config = Config::embedded_default();
    let this = host_config(&config, "this-machine");
    this.validate().unwrap();
    assert!(forewarn::config::EMBEDDED_DEFAULT.contains("thermal throttling"));
}

#[tokio::test]
async fn the_embedded_default_reads_this_machine_sensibly() {
    let config = Config::embedded_default();
    let probe = host_config(&config, "this-machine").build().unwrap();
    let cx = CheckContext::for_test("this-machine");
    let obs = probe.check(&cx).await;
    assert_ne!(obs.status, Status::Unknown, "{}", obs.summary);
    let h = host(&obs);
    // A virtual machine has no throttle counters or battery: said, not failed.
    for (has, what) in [
        (h.thermal_throttle.is_some(), "thermal throttle counters"),
        (!h.batteries.is_empty(), "batteries"),
        (!h.temperatures.is_empty(), "temperature sensors"),
        (h.pressure.is_some(), "pressure stall information"),
    ] {
        assert_eq!(
            has,
            !h.not_available.iter().any(|n| n == what),
            "{what}: {h:?}"
        );
    }
    eprintln!("this machine: {} {}", obs.status.as_str(), obs.summary);
}

/// The history of a file system whose free space falls by `per_day` bytes a day and stands at
/// `free_now` now: one observation every six hours for `days` days before `now`.
async fn falling_history(
    store: &Arc<dyn Store>,
    mount: &str,
    free_now: f64,
    per_day: f64,
    days: i64,
    now: DateTime<Utc>,
) {
    let mut batch = Vec::new();
    for h in (1..=days * 4).rev() {
        let when = now - chrono::Duration::hours(6 * h);
        let mut o = Observation::new(Status::Ok, "disk fine", when);
        let free = free_now + per_day * (h as f64 / 4.0);
        o.metrics.insert(
            format!("disk_free_bytes:{mount}").into(),
            forewarn::probe::Metric::new(free, "B"),
        );
        batch.push((Arc::from("laptop"), o));
    }
    store.record_observations(batch).await.unwrap();
}

#[tokio::test]
async fn a_file_system_filling_up_warns_with_when_it_is_full_before_its_threshold() {
    let (_dir, root) = tree("amd-vm");
    let now = Utc::now();
    let clock = ManualClock::new(now);
    // This machine's file systems as they are now.
    let first = calm(&root).build().unwrap().check(&cx(&clock)).await;
    let fs = host(&first).filesystems[0].clone();
    let free = fs.available_bytes as f64;
    assert!(free > 0.0, "{fs:?}");

    // Falling by a tenth of what is free each day for a week: full in about 10 days, inside
    // the default 14 days.
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    falling_history(&store, &fs.mount, free, free / 10.0, 7, now).await;
    let mut with_history = cx(&clock);
    with_history.history = Some(forewarn::probe::History::new(store.clone(), "laptop"));
    let obs = calm(&root).build().unwrap().check(&with_history).await;
    assert_eq!(obs.status, Status::Warning, "{}", obs.summary);
    let told = format!("disk {} ", fs.mount);
    let part = obs
        .summary
        .split(&told)
        .nth(1)
        .unwrap_or_else(|| panic!("{}", obs.summary));
    assert!(
        part.contains("full in about 9 days at the last 6 days' rate")
            || part.contains("full in about 10 days at the last 7 days' rate")
            || part.contains("full in about 10 days at the last 6 days' rate"),
        "{}",
        obs.summary
    );
    let reading = host(&obs)
        .filesystems
        .iter()
        .find(|f| f.mount == fs.mount)
        .unwrap();
    assert_eq!(reading.status, Status::Warning);
    let eta = reading.full_at.unwrap() - now;
    assert!(
        (eta - chrono::Duration::days(10)).num_hours().abs() < 24,
        "{eta:?}"
    );

    // A shorter horizon than the forecast: told in the reading, not a warning.
    let short = HostConfig {
        disk_full_within: Some(Duration::from_secs(3 * 86_400)),
        ..calm(&root)
    };
    let obs = short.build().unwrap().check(&with_history).await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
    assert!(!obs.summary.contains("full in"), "{}", obs.summary);
    assert!(host(&obs).filesystems[0].full_at.is_some());

    // Turned off.
    let off = HostConfig {
        disk_full_within: Some(Duration::ZERO),
        ..calm(&root)
    };
    let obs = off.build().unwrap().check(&with_history).await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
    assert!(host(&obs).filesystems.iter().all(|f| f.full_at.is_none()));

    // Free space that stays put, or grows, forecasts nothing.
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    falling_history(&store, &fs.mount, free, -free / 100.0, 7, now).await;
    let mut flat = cx(&clock);
    flat.history = Some(forewarn::probe::History::new(store, "laptop"));
    let obs = calm(&root).build().unwrap().check(&flat).await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
    assert!(host(&obs).filesystems.iter().all(|f| f.full_at.is_none()));
}

#[test]
fn a_forecast_horizon_out_of_range_is_located() {
    let e = error("[[checks]]\nname = \"pc\"\ntype = \"host\"\ndisk_full_within = \"10m\"\n");
    assert!(e.starts_with("forewarn.toml:4:"), "{e}");
    assert!(e.contains("disk_full_within"), "{e}");
    assert!(e.contains("at least 1 hour"), "{e}");
    let e = error("[standards.s]\ndisk_full_within = \"2y\"\n");
    assert!(e.contains("standards.s.disk_full_within"), "{e}");
}
