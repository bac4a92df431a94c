//! The `smart` probe: the verdict on every real smartctl recording, the command path through a
//! stand-in `smartctl` that replays recordings with their exit status, the real smartmontools
//! on something that is not a disk, the trends from the check's stored history, and the
//! config's errors.
//!
//! The recordings are real `smartctl --json` outputs (MIT-licensed, from the scrutiny project),
//! read from `FOREWARN_SMART_RECORDINGS` or `../shared/data/smart` beside the repository.

#[path = "support/skip.rs"]
mod skip;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use forewarn::probe::History;
use forewarn::probe::smart::{
    Device, DiskHealth, DiskReport, Protocol, SmartConfig, WhenFailed, assess,
};
use forewarn::probe::{Reading, smart::DiskReading};
use forewarn::{
    CheckContext, Config, Error, ManualClock, Observation, Probe, SqliteStore, Status, Store,
};
use serde_json::Value;

fn recordings_dir() -> PathBuf {
    std::env::var_os("FOREWARN_SMART_RECORDINGS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/smart"))
}

/// A recording's bytes, or a recorded skip.
fn recording(name: &str) -> Option<Vec<u8>> {
    let path = recordings_dir().join(name);
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) => {
            skip::skip(
                "the shared smartctl recordings",
                format!("{}: {e} (set FOREWARN_SMART_RECORDINGS)", path.display()),
            );
            None
        }
    }
}

/// The recording judged as the probe judges one disk's output.
fn judged(name: &str) -> Option<DiskReport> {
    let bytes = recording(name)?;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    let device = Device::new(v["device"]["name"].as_str().unwrap_or("/dev/sda"));
    let code = v["smartctl"]["exit_status"].as_i64().map(|c| c as i32);
    Some(assess(&device, &bytes, code, 90))
}

fn health(r: &DiskReport) -> &DiskHealth {
    r.health.as_ref().expect("read")
}

#[test]
fn ata_ssd_full_is_healthy_with_its_wear() {
    let Some(r) = judged("smart-ata-full.json") else {
        return;
    };
    assert_eq!(r.status, Status::Ok, "{:?}", r.reasons);
    assert!(r.reasons.is_empty());
    let h = health(&r);
    assert_eq!(h.protocol, Some(Protocol::Ata));
    assert_eq!(h.model.as_deref(), Some("Samsung SSD 860 EVO 500GB"));
    assert_eq!(h.serial.as_deref(), Some("S3YZNB0KB00864E"));
    assert_eq!(h.firmware.as_deref(), Some("RVT02B6Q"));
    assert_eq!(h.capacity_bytes, Some(500_107_862_016));
    assert_eq!(h.passed, Some(true));
    assert_eq!(h.temperature, Some(36));
    assert_eq!(h.temperature_limit, Some(70));
    assert_eq!(h.power_on_hours, Some(14551));
    // Device statistics: "Percentage Used Endurance Indicator" 19.
    assert_eq!(h.percentage_used, Some(19));
    assert_eq!(h.attributes.len(), 14);
    let wear = h.attributes.iter().find(|a| a.id == 177).unwrap();
    assert_eq!(
        (wear.value, wear.worst, wear.thresh, wear.raw),
        (Some(81), Some(81), Some(0), Some(278))
    );
    assert!(wear.prefailure);
}

#[test]
fn ata_hdd_reads_packed_temperature_as_text() {
    let Some(r) = judged("smart-ata.json") else {
        return;
    };
    assert_eq!(r.status, Status::Ok, "{:?}", r.reasons);
    let h = health(&r);
    assert_eq!(h.model.as_deref(), Some("WDC WD140EDFZ-11A0VA0"));
    assert_eq!(h.capacity_bytes, Some(14_000_519_643_136));
    assert_eq!(h.temperature, Some(32));
    assert_eq!(h.power_on_hours, Some(1730));
    // raw.value 163210330144 packs min and max; its text starts with the temperature.
    assert_eq!(h.raw(194), Some(32));
    assert_eq!(h.raw(3), Some(380));
    assert_eq!(h.raw(197), Some(0));
    assert_eq!(h.percentage_used, None);
}

#[test]
fn open_failure_is_unknown_with_smartctls_message() {
    let Some(r) = judged("smart-fail.json") else {
        return;
    };
    assert_eq!(r.status, Status::Unknown);
    assert_eq!(
        r.reasons,
        [
            r"device open failed (exit status 2): Smartctl open device: /dev/sda failed: \\.\PhysicalDrive0: Open failed, Error=5"
        ]
    );
    assert!(r.health.is_none());
}

#[test]
fn failing_usb_disk_is_critical_with_its_counts() {
    let Some(r) = judged("smart-fail2.json") else {
        return;
    };
    assert_eq!(r.status, Status::Critical);
    assert_eq!(
        r.reasons,
        [
            "SMART overall assessment failed",
            "Reallocated_Sector_Ct failing now (value 1, threshold 5)",
            "1975 reallocated sectors",
            "8 pending sectors",
        ]
    );
    let h = health(&r);
    assert_eq!(h.exit_status, Some(216));
    assert_eq!(h.device_type.as_deref(), Some("usbjmicron"));
    assert_eq!(h.model.as_deref(), Some("Hitachi HDS721050DLE630"));
    assert_eq!(h.power_on_hours, Some(65592));
    assert_eq!(h.temperature, Some(25));
    let realloc = h.attributes.iter().find(|a| a.id == 5).unwrap();
    assert_eq!(realloc.when_failed, WhenFailed::Now);
    assert_eq!(h.raw(198), Some(0));
}

#[test]
fn megaraid_member_with_exit_4_is_read() {
    let Some(r) = judged("smart-megaraid0.json") else {
        return;
    };
    // Bit 2 (a SMART command failed) with a full answer: the answer is judged.
    assert_eq!(r.status, Status::Ok, "{:?}", r.reasons);
    let h = health(&r);
    assert_eq!(h.exit_status, Some(4));
    assert_eq!(h.device_type.as_deref(), Some("sat+megaraid,0"));
    assert_eq!(
        h.messages,
        ["Warning: This result is based on an Attribute check."]
    );
    assert_eq!(h.model.as_deref(), Some("WD4000FYYX"));
    assert_eq!(h.temperature, Some(36));
    assert_eq!(h.power_on_hours, Some(37787));
    assert_eq!(h.attributes.len(), 20);
}

#[test]
fn nvme_healthy() {
    let Some(r) = judged("smart-nvme.json") else {
        return;
    };
    assert_eq!(r.status, Status::Ok, "{:?}", r.reasons);
    let h = health(&r);
    assert_eq!(h.protocol, Some(Protocol::Nvme));
    assert_eq!(h.model.as_deref(), Some("INTEL SSDPEKNW010T8"));
    assert_eq!(h.capacity_bytes, Some(1_024_209_543_168));
    assert_eq!(h.percentage_used, Some(0));
    assert_eq!(h.power_on_hours, Some(2401));
    let n = h.nvme.as_ref().unwrap();
    assert_eq!(n.critical_warning, 0);
    assert_eq!(
        (n.available_spare, n.available_spare_threshold),
        (Some(100), Some(10))
    );
    assert_eq!(n.media_errors, Some(0));
    assert_eq!(n.unsafe_shutdowns, Some(43));
}

#[test]
fn nvme_error_log_entries_alone_are_not_a_failure() {
    let Some(r) = judged("smart-nvme2.json") else {
        return;
    };
    assert_eq!(r.status, Status::Ok, "{:?}", r.reasons);
    let h = health(&r);
    assert_eq!(h.model.as_deref(), Some("Force MP510"));
    assert_eq!(h.nvme.as_ref().unwrap().num_err_log_entries, Some(8382));
    assert_eq!(h.percentage_used, Some(1));
    assert_eq!(h.temperature, Some(38));
}

#[test]
fn health_only_answer_passes() {
    let Some(r) = judged("smart-pass.json") else {
        return;
    };
    assert_eq!(r.status, Status::Ok);
    let h = health(&r);
    assert_eq!(h.passed, Some(true));
    assert_eq!(h.model, None);
    assert!(h.attributes.is_empty());
}

#[test]
fn scsi_grown_defects_warn() {
    let Some(r) = judged("smart-scsi.json") else {
        return;
    };
    assert_eq!(r.status, Status::Warning);
    assert_eq!(r.reasons, ["56 grown defects"]);
    let h = health(&r);
    assert_eq!(h.protocol, Some(Protocol::Scsi));
    assert_eq!(h.model.as_deref(), Some("SEAGATE ST4000NM0043"));
    assert_eq!(h.firmware.as_deref(), Some("MS03"));
    assert_eq!(h.temperature, Some(34));
    assert_eq!(h.temperature_limit, Some(68));
    assert_eq!(h.power_on_hours, Some(43549));
    let s = h.scsi.as_ref().unwrap();
    assert_eq!(
        (
            s.read_uncorrected,
            s.write_uncorrected,
            s.verify_uncorrected
        ),
        (Some(0), Some(0), None)
    );
}

// ---------------------------------------------------------------------------------------------
// The command path: a stand-in smartctl.
// ---------------------------------------------------------------------------------------------

/// A stand-in `smartctl` in a directory of its own: it logs its arguments, answers
/// `--scan-open` with `scan.json`, and for a device `/dev/NAME` prints `NAME.json` (when there
/// is one) and `NAME.err` to stderr, and exits with `NAME.code`.
struct StandIn {
    dir: tempfile::TempDir,
}

const STAND_IN: &str = r#"#!/bin/sh
dir=$(dirname "$0")
echo "$*" >>"$dir/args.log"
case " $* " in
*" --scan-open "*) cat "$dir/scan.json"; exit 0 ;;
esac
for dev; do :; done
name=$(basename "$dev")
[ -f "$dir/$name.json" ] && cat "$dir/$name.json"
[ -f "$dir/$name.err" ] && cat "$dir/$name.err" >&2
exit "$(cat "$dir/$name.code" 2>/dev/null || echo 0)"
"#;

impl StandIn {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("smartctl");
        std::fs::write(&path, STAND_IN).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir }
    }

    fn program(&self) -> PathBuf {
        self.dir.path().join("smartctl")
    }

    /// What `/dev/NAME` answers.
    fn disk(&self, name: &str, json: Option<&[u8]>, code: i32) {
        let d = self.dir.path();
        if let Some(j) = json {
            std::fs::write(d.join(format!("{name}.json")), j).unwrap();
        }
        std::fs::write(d.join(format!("{name}.code")), code.to_string()).unwrap();
    }

    fn stderr(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(format!("{name}.err")), text).unwrap();
    }

    fn args(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("args.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn config(&self, devices: &[Device]) -> SmartConfig {
        SmartConfig {
            devices: devices.to_vec(),
            smartctl: self.program(),
            ..SmartConfig::default()
        }
    }
}

fn disks(obs: &Observation) -> &DiskReading {
    match obs.reading.as_deref() {
        Some(Reading::Disk(d)) => d,
        other => panic!("no disk reading: {other:?}"),
    }
}

#[tokio::test]
async fn stand_in_replays_with_exit_status_and_without_json() {
    let (Some(fail2), Some(mega), Some(nvme)) = (
        recording("smart-fail2.json"),
        recording("smart-megaraid0.json"),
        recording("smart-nvme.json"),
    ) else {
        return;
    };
    let s = StandIn::new();
    s.disk("sdc", Some(&fail2), 8);
    s.disk("sda", Some(&mega), 4);
    s.disk("nvme0", Some(&nvme), 0);
    s.disk("sdz", None, 2);
    s.stderr(
        "sdz",
        "Smartctl open device: /dev/sdz failed: No such device\n",
    );
    let devices = [
        Device::new("/dev/sdc"),
        Device {
            path: "/dev/sda".into(),
            device_type: Some("megaraid,0".into()),
        },
        Device::new("/dev/nvme0"),
        Device::new("/dev/sdz"),
    ];
    let probe = s.config(&devices).build().unwrap();
    let obs = probe.check(&CheckContext::for_test("disks")).await;
    assert_eq!(obs.status, Status::Critical);
    assert_eq!(
        obs.summary,
        "/dev/sdc: SMART overall assessment failed, Reallocated_Sector_Ct failing now (value 1, \
         threshold 5), 1975 reallocated sectors, 8 pending sectors; /dev/sdz: device open failed \
         (exit status 2): Smartctl open device: /dev/sdz failed: No such device; 2 other disks \
         healthy"
    );
    let d = disks(&obs);
    let statuses: Vec<Status> = d.disks.iter().map(|d| d.status).collect();
    assert_eq!(
        statuses,
        [Status::Critical, Status::Ok, Status::Ok, Status::Unknown]
    );
    assert_eq!(d.disks[1].device_type.as_deref(), Some("megaraid,0"));
    assert_eq!(obs.metrics["disk.sdc.pending_sectors"].value, 8.0);
    assert_eq!(obs.metrics["disk.sdc.reallocated_sectors"].value, 1975.0);
    assert_eq!(obs.metrics["disk.sda_megaraid_0.temperature"].value, 36.0);
    assert_eq!(obs.metrics["disk.nvme0.wear_percent"].unit, "%");
    assert_eq!(
        s.args(),
        [
            "--json -x /dev/sdc",
            "--json -x -d megaraid,0 /dev/sda",
            "--json -x /dev/nvme0",
            "--json -x /dev/sdz",
        ]
    );
    // The reading goes through JSON and back.
    let json = serde_json::to_string(&obs).unwrap();
    let back: Observation = serde_json::from_str(&json).unwrap();
    assert_eq!(back, obs);
}

#[tokio::test]
async fn stand_in_scan_finds_the_disks() {
    let Some(nvme) = recording("smart-nvme2.json") else {
        return;
    };
    let s = StandIn::new();
    std::fs::write(
        s.dir.path().join("scan.json"),
        r#"{"devices":[{"name":"/dev/nvme0","info_name":"/dev/nvme0","type":"nvme","protocol":"NVMe"}]}"#,
    )
    .unwrap();
    s.disk("nvme0", Some(&nvme), 0);
    let probe = s.config(&[]).build().unwrap();
    assert_eq!(probe.target(), "all disks");
    let obs = probe.check(&CheckContext::for_test("disks")).await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);
    assert_eq!(
        obs.summary,
        "/dev/nvme0 [nvme]: healthy, 38 °C, 6487 power-on hours, 1 % worn"
    );
    assert_eq!(
        s.args(),
        ["--scan-open --json", "--json -x -d nvme /dev/nvme0"]
    );
}

#[tokio::test]
async fn missing_smartctl_is_unknown() {
    let c = SmartConfig {
        devices: vec![Device::new("/dev/sda")],
        smartctl: "/nonexistent/smartctl".into(),
        ..SmartConfig::default()
    };
    let obs = c
        .build()
        .unwrap()
        .check(&CheckContext::for_test("disks"))
        .await;
    assert_eq!(obs.status, Status::Unknown);
    assert_eq!(
        obs.summary,
        "/dev/sda: smartctl not found (`/nonexistent/smartctl`): install smartmontools"
    );
}

/// The real smartctl on a plain file: "Unable to detect device type", as on a USB bridge it
/// does not know.
#[tokio::test]
async fn real_smartctl_on_a_file_is_unknown_with_its_message() {
    let Some(program) = ["/usr/sbin/smartctl", "/sbin/smartctl", "/usr/bin/smartctl"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
    else {
        skip::skip("smartctl", "smartmontools is not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-disk.img");
    std::fs::write(&file, vec![0u8; 4096]).unwrap();
    let c = SmartConfig {
        devices: vec![Device::new(&file)],
        smartctl: program,
        ..SmartConfig::default()
    };
    let obs = c
        .build()
        .unwrap()
        .check(&CheckContext::for_test("disks"))
        .await;
    assert_eq!(obs.status, Status::Unknown);
    let f = file.display();
    assert_eq!(
        obs.summary,
        format!(
            "{f}: command line did not parse (exit status 1): {f}: Unable to detect device type"
        )
    );
    assert!(obs.metrics.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Trends from the stored history.
// ---------------------------------------------------------------------------------------------

/// Runs the probe once a day on a replayed answer changed by `edit`, keeping each observation
/// in the store as the monitor does; returns the observations.
async fn replay_days(
    base: &[u8],
    name: &str,
    days: usize,
    edit: impl Fn(usize, &mut Value),
) -> Vec<Observation> {
    let s = StandIn::new();
    let store = Arc::new(SqliteStore::in_memory().unwrap());
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 6, 0, 0).unwrap());
    let mut cx = CheckContext::for_test("disks");
    cx.clock = Arc::new(clock.clone());
    cx.history = Some(History::new(store.clone(), "disks"));
    let probe = s
        .config(&[Device::new(format!("/dev/{name}"))])
        .build()
        .unwrap();
    let mut out = Vec::new();
    for day in 0..days {
        let mut v: Value = serde_json::from_slice(base).unwrap();
        edit(day, &mut v);
        s.disk(name, Some(&serde_json::to_vec(&v).unwrap()), 0);
        let obs = probe.check(&cx).await;
        store
            .record_observations(vec![("disks".into(), obs.clone())])
            .await
            .unwrap();
        out.push(obs);
        clock.advance(Duration::from_secs(86_400));
    }
    out
}

fn set_attribute(v: &mut Value, id: u64, value: u64, raw: u64, when_failed: &str) {
    let table = v["ata_smart_attributes"]["table"].as_array_mut().unwrap();
    let a = table.iter_mut().find(|a| a["id"] == id).unwrap();
    a["value"] = value.into();
    a["thresh"] = 10.into();
    a["when_failed"] = when_failed.into();
    a["raw"] = serde_json::json!({"value": raw, "string": raw.to_string()});
}

#[tokio::test]
async fn rising_pending_sectors_warn_before_the_threshold() {
    let Some(base) = recording("smart-ata.json") else {
        return;
    };
    // Current_Pending_Sector (197) on the WD disk: 0, 0, 8, 24, then 3000 with its
    // normalised value below a threshold of 10.
    let pending = [0, 0, 8, 24, 3000];
    let obs = replay_days(&base, "sdb", pending.len(), |day, v| {
        let failed = day == 4;
        let value = if failed { 8 } else { 100 };
        set_attribute(v, 197, value, pending[day], if failed { "now" } else { "" });
    })
    .await;
    let seen: Vec<(Status, &str)> = obs.iter().map(|o| (o.status, o.summary.as_str())).collect();
    assert_eq!(
        seen,
        [
            (Status::Ok, "/dev/sdb: healthy, 32 °C, 1730 power-on hours"),
            (Status::Ok, "/dev/sdb: healthy, 32 °C, 1730 power-on hours"),
            (
                Status::Warning,
                "/dev/sdb: 8 pending sectors (0 → 8 in 1 day)"
            ),
            (
                Status::Warning,
                "/dev/sdb: 24 pending sectors (0 → 8 → 24 in 2 days)"
            ),
            (
                Status::Critical,
                "/dev/sdb: Current_Pending_Sector failing now (value 8, threshold 10), 3000 pending \
                 sectors (0 → 8 → 24 → 3000 in 3 days)"
            ),
        ]
    );
    assert_eq!(obs[3].metrics["disk.sdb.pending_sectors"].value, 24.0);
}

#[tokio::test]
async fn wear_forecast_warns_before_the_wear_threshold() {
    let Some(base) = recording("smart-nvme2.json") else {
        return;
    };
    // 60 % used, 5 points a day: at 80 % four days are left, well within 30.
    let obs = replay_days(&base, "nvme0", 5, |day, v| {
        v["nvme_smart_health_information_log"]["percentage_used"] = (60 + 5 * day as u64).into();
    })
    .await;
    let statuses: Vec<Status> = obs.iter().map(|o| o.status).collect();
    // Two days of history are needed for a rate over at least a day and 3 points.
    assert_eq!(
        statuses,
        [
            Status::Ok,
            Status::Ok,
            Status::Warning,
            Status::Warning,
            Status::Warning
        ]
    );
    assert_eq!(
        obs[4].summary,
        "/dev/nvme0: 80 % worn, worn out in about 4 days at the last 4 days' rate"
    );
    assert_eq!(
        obs[2].summary,
        "/dev/nvme0: 70 % worn, worn out in about 6 days at the last 2 days' rate"
    );
}

// ---------------------------------------------------------------------------------------------
// Config.
// ---------------------------------------------------------------------------------------------

fn config_error(text: &str) -> (usize, usize, String) {
    match Config::parse(text, Path::new("smart.toml")) {
        Err(Error::Config {
            file,
            line,
            col,
            key,
            message,
        }) => {
            assert_eq!(file, Path::new("smart.toml"));
            (line, col, format!("{}: {message}", key.unwrap_or_default()))
        }
        Err(other) => panic!("not a config error: {other}"),
        Ok(_) => panic!("accepted:\n{text}"),
    }
}

#[test]
fn config_reads_devices_with_types() {
    let c = Config::parse(
        r#"
[[checks]]
name = "disks"
type = "smart"
devices = ["/dev/sda", { path = "/dev/sda", type = "sat+megaraid,1" }]
smartctl = "/usr/sbin/smartctl"
wear_horizon = "10d"
"#,
        Path::new("smart.toml"),
    )
    .unwrap();
    assert_eq!(c.checks.len(), 1);
}

#[test]
fn bad_device_type_is_reported_where_it_is() {
    let (line, col, message) = config_error(
        r#"
[[checks]]
name = "disks"
type = "smart"
devices = ["/dev/sda", { path = "/dev/sdb", type = "megaraid" }]
"#,
    );
    assert_eq!((line, col), (5, 11), "{message}");
    assert!(
        message.contains("device 2 of the list: device type `megaraid` needs the disk's number"),
        "{message}"
    );
    let (line, _, message) = config_error(
        r#"
[[checks]]
name = "disks"
type = "smart"

devices = [{ path = "/dev/sdb", type = "raid5" }]
"#,
    );
    assert_eq!(line, 6);
    assert!(message.contains("unknown device type `raid5`"), "{message}");
}

#[test]
fn bad_paths_are_reported_where_they_are() {
    let (line, col, message) = config_error(
        r#"
[[checks]]
name = "disks"
type = "smart"
devices = ["/dev/sda"]
smartctl = "bin/smartctl"
"#,
    );
    assert_eq!((line, col), (6, 12), "{message}");
    assert!(message.starts_with("smartctl: "), "{message}");
    assert!(message.contains("`bin/smartctl` is relative"), "{message}");
    let (line, col, message) = config_error(
        r#"
[[checks]]
name = "disks"
type = "smart"
devices = ["sda"]
"#,
    );
    assert_eq!((line, col), (5, 11), "{message}");
    assert!(
        message.contains("`sda` is not an absolute device path"),
        "{message}"
    );
}

// ---------------------------------------------------------------------------------------------
// The project's own fixtures (tests/data/smart): the cases no recording shows.
// ---------------------------------------------------------------------------------------------

fn fixture(name: &str) -> DiskReport {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/smart")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    assess(&Device::new("/dev/sdx"), &bytes, None, 90)
}

#[test]
fn failing_nvme_names_its_warning_bits() {
    let r = fixture("nvme_failing.json");
    assert_eq!(r.status, Status::Critical);
    assert_eq!(
        r.reasons,
        [
            "SMART overall assessment failed",
            "NVMe critical warning: spare capacity below threshold, reliability degraded by media errors",
            "spare capacity 4 % below its threshold of 10 %",
            "17 media errors",
            "112 % of rated life used",
            "74 °C, above the drive's limit of 70 °C",
        ]
    );
}

#[test]
fn every_predictor_and_a_past_failure_warn() {
    let r = fixture("ata_packed_raws.json");
    assert_eq!(r.status, Status::Warning);
    assert_eq!(
        r.reasons,
        [
            "112 reallocated sectors",
            "1 reported uncorrectable error",
            "1 command timeout",
            "16 pending sectors",
            "16 offline uncorrectable sectors",
            "Airflow_Temperature_Cel failed in the past",
        ]
    );
    let h = health(&r);
    // No power_on_time: attribute 9's text, "34205 (94 201 0)".
    assert_eq!(h.power_on_hours, Some(34205));
    assert_eq!(h.temperature, Some(38));
    assert_eq!(h.exit_status, Some(36));
    assert_eq!(
        h.attributes.iter().find(|a| a.id == 199).unwrap().thresh,
        None
    );
}

#[test]
fn unknown_usb_bridge_is_unknown_with_smartctls_words() {
    let r = fixture("usb_bridge_unknown.json");
    assert_eq!(r.status, Status::Unknown);
    assert_eq!(
        r.reasons,
        [
            "command line did not parse (exit status 1): /dev/sde: Unknown USB bridge [0x152d:0x0578 \
          (0x0508)]: Please specify device type with the -d option."
        ]
    );
}

#[test]
fn scsi_uncorrected_errors_are_critical() {
    let r = fixture("scsi_errors.json");
    assert_eq!(r.status, Status::Critical);
    assert_eq!(
        r.reasons,
        [
            "2 uncorrected read errors",
            "1 uncorrected verify error",
            "3 grown defects",
            "71 °C, above the drive's limit of 68 °C",
        ]
    );
    assert_eq!(health(&r).model.as_deref(), Some("EXAMPLE SAS4000"));
}

/// The README's `smart` example is a valid config.
#[test]
fn readme_example_is_valid() {
    let readme = include_str!("../README.md");
    let section = &readme[readme
        .find("### This machine's disks")
        .expect("the section")..];
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a toml example");
    let c = Config::parse(block, Path::new("README.md")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.checks.len(), 1);
}
