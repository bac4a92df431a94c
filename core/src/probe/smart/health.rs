//! What `smartctl --json` says about one disk, decoded into [`DiskHealth`].
//!
//! The decoder is lenient: smartctl's JSON differs between versions, protocols and drives, and
//! a field it leaves out (or gives in an unexpected shape) is `None` here rather than an error.
//! Packed raw values are read as smartctl's own text shows them: the temperature and power-on
//! hours from `temperature.current` and `power_on_time.hours` when present, and an attribute's
//! raw value as the first integer of `raw.string` ("32 (Min/Max 24/38)" is 32), falling back to
//! `raw.value`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How the disk is attached, as smartctl's `device.protocol` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// ATA/SATA (also behind SAT bridges and RAID controllers).
    Ata,
    /// NVMe.
    Nvme,
    /// SCSI/SAS.
    Scsi,
}

/// When an ATA attribute's normalised value was at or below its threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WhenFailed {
    /// Never.
    #[default]
    Never,
    /// Some time in the past, not now.
    Past,
    /// Now.
    Now,
}

/// One row of the ATA SMART attribute table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AtaAttribute {
    /// The attribute's id (5 = Reallocated_Sector_Ct …).
    pub id: u16,
    /// smartctl's name for it.
    pub name: String,
    /// The normalised value (higher is better).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<u64>,
    /// The worst normalised value seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst: Option<u64>,
    /// The failure threshold of the normalised value (`None` when unknown; 0 never fails).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresh: Option<u64>,
    /// Whether the value was at or below the threshold.
    #[serde(default)]
    pub when_failed: WhenFailed,
    /// Whether a failure of it predicts the drive's failure (a pre-failure attribute).
    #[serde(default)]
    pub prefailure: bool,
    /// The raw value as a number: the first integer of smartctl's text of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<u64>,
    /// smartctl's text of the raw value ("32 (Min/Max 24/38)").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub raw_string: String,
}

/// The NVMe SMART/health information log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NvmeHealth {
    /// The critical warning bits (see [`NVME_CRITICAL_WARNINGS`]).
    pub critical_warning: u64,
    /// Spare capacity left, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_spare: Option<u64>,
    /// The spare level below which the drive warns, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_spare_threshold: Option<u64>,
    /// Life used by the vendor's estimate, percent (can exceed 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage_used: Option<u64>,
    /// Unrecovered data-integrity errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_errors: Option<u64>,
    /// Entries in the error log (often harmless: rejected admin commands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_err_log_entries: Option<u64>,
    /// Power losses without a clean shutdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsafe_shutdowns: Option<u64>,
}

/// NVMe critical warning bits and what each means.
pub const NVME_CRITICAL_WARNINGS: [(u64, &str); 5] = [
    (0x01, "spare capacity below threshold"),
    (0x02, "temperature out of range"),
    (0x04, "reliability degraded by media errors"),
    (0x08, "media is read-only"),
    (0x10, "volatile memory backup failed"),
];

/// What a SCSI/SAS disk reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScsiHealth {
    /// Sectors in the grown defect list (remapped since manufacture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grown_defects: Option<u64>,
    /// Uncorrected read errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_uncorrected: Option<u64>,
    /// Uncorrected write errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_uncorrected: Option<u64>,
    /// Uncorrected verify errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_uncorrected: Option<u64>,
}

/// One disk's health as smartctl reported it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskHealth {
    /// The device smartctl opened (`/dev/sda`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub device: String,
    /// smartctl's device type (`sat`, `nvme`, `sat+megaraid,0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    /// The protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Model name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Firmware version (SCSI: the revision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    /// Capacity in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_bytes: Option<u64>,
    /// The drive's overall self-assessment (`None` when not reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passed: Option<bool>,
    /// Current temperature, °C.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<i64>,
    /// The drive's own upper temperature limit, °C (operating limit, NVMe warning threshold,
    /// or SCSI trip temperature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_limit: Option<i64>,
    /// Power-on hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_on_hours: Option<u64>,
    /// Life used, percent: NVMe `percentage_used`, or ATA device statistics' "Percentage Used
    /// Endurance Indicator".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage_used: Option<u64>,
    /// ATA attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AtaAttribute>,
    /// NVMe health log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvme: Option<NvmeHealth>,
    /// SCSI defects and error counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scsi: Option<ScsiHealth>,
    /// smartctl's exit status (a bitmask), when it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_status: Option<u8>,
    /// smartctl's own messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<String>,
}

impl DiskHealth {
    /// The raw value of ATA attribute `id`.
    pub fn raw(&self, id: u16) -> Option<u64> {
        self.attributes.iter().find(|a| a.id == id)?.raw
    }

    /// Whether smartctl said anything about the disk itself (identity, health, or counters),
    /// rather than only about why it could not.
    pub fn is_usable(&self) -> bool {
        self.protocol.is_some()
            || self.passed.is_some()
            || self.model.is_some()
            || !self.attributes.is_empty()
            || self.nvme.is_some()
            || self.scsi.is_some()
    }
}

/// Decoding failed: the text is not a JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotJson(pub String);

impl std::fmt::Display for NotJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not smartctl JSON: {}", self.0)
    }
}

fn u(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.is_finite())
                .map(|f| f as u64)
        }),
        _ => None,
    }
}

fn i(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn s(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The first unsigned integer in `text` ("32 (Min/Max 24/38)" → 32, "1730h+05m" → 1730).
pub fn first_integer(text: &str) -> Option<u64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let digits: &str = &text[start..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Decodes smartctl's JSON output (any exit status).
pub fn decode(text: &[u8]) -> Result<DiskHealth, NotJson> {
    let root: Value = serde_json::from_slice(text).map_err(|e| NotJson(e.to_string()))?;
    if !root.is_object() {
        return Err(NotJson("not an object".into()));
    }
    Ok(decode_value(&root))
}

/// Decodes an already parsed smartctl JSON document.
pub fn decode_value(root: &Value) -> DiskHealth {
    let dev = &root["device"];
    let protocol = match dev["protocol"]
        .as_str()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("ata") => Some(Protocol::Ata),
        Some("nvme") => Some(Protocol::Nvme),
        Some("scsi") => Some(Protocol::Scsi),
        _ => None,
    };
    let smartctl = &root["smartctl"];
    let messages = smartctl["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| s(&m["string"])).collect())
        .unwrap_or_default();
    let exit_status = u(&smartctl["exit_status"]).and_then(|v| u8::try_from(v).ok());

    let attributes: Vec<AtaAttribute> = root["ata_smart_attributes"]["table"]
        .as_array()
        .map(|t| t.iter().filter_map(attribute).collect())
        .unwrap_or_default();

    let nvme = root["nvme_smart_health_information_log"]
        .as_object()
        .map(|log| {
            let f = |k: &str| log.get(k).and_then(u);
            NvmeHealth {
                critical_warning: f("critical_warning").unwrap_or(0),
                available_spare: f("available_spare"),
                available_spare_threshold: f("available_spare_threshold"),
                percentage_used: f("percentage_used"),
                media_errors: f("media_errors"),
                num_err_log_entries: f("num_err_log_entries"),
                unsafe_shutdowns: f("unsafe_shutdowns"),
            }
        });

    let counters = &root["scsi_error_counter_log"];
    let uncorrected = |k: &str| u(&counters[k]["total_uncorrected_errors"]);
    let scsi = if protocol == Some(Protocol::Scsi)
        || !root["scsi_grown_defect_list"].is_null()
        || counters.is_object()
    {
        Some(ScsiHealth {
            grown_defects: u(&root["scsi_grown_defect_list"]),
            read_uncorrected: uncorrected("read"),
            write_uncorrected: uncorrected("write"),
            verify_uncorrected: uncorrected("verify"),
        })
    } else {
        None
    };

    let temp = &root["temperature"];
    let temperature = i(&temp["current"])
        .or_else(|| {
            nvme.as_ref().and(
                i(&root["nvme_smart_health_information_log"]["temperature"])
                    // Kelvin in some versions' raw logs; smartctl's JSON gives °C.
                    .filter(|t| *t < 200),
            )
        })
        .or_else(|| {
            attributes
                .iter()
                .find(|a| a.id == 194 || a.id == 190)
                .and_then(|a| a.raw)
                .and_then(|r| i64::try_from(r).ok())
        });
    let temperature_limit = i(&temp["op_limit_max"])
        .or_else(|| i(&temp["limit_max"]))
        .or_else(|| i(&root["nvme_composite_temperature_threshold"]["warning"]))
        .or_else(|| i(&temp["drive_trip"]))
        .filter(|l| *l > 0);

    let power_on_hours = u(&root["power_on_time"]["hours"])
        .or_else(|| {
            nvme.as_ref().and(u(
                &root["nvme_smart_health_information_log"]["power_on_hours"],
            ))
        })
        .or_else(|| attributes.iter().find(|a| a.id == 9).and_then(|a| a.raw));

    let percentage_used = nvme
        .as_ref()
        .and_then(|n| n.percentage_used)
        .or_else(|| ata_endurance_used(root));

    DiskHealth {
        device: s(&dev["name"]).unwrap_or_default(),
        device_type: s(&dev["type"]),
        protocol,
        model: s(&root["model_name"])
            .or_else(|| s(&root["scsi_model_name"]))
            .or_else(|| {
                let v = s(&root["vendor"]);
                let p = s(&root["product"]);
                match (v, p) {
                    (Some(v), Some(p)) => Some(format!("{v} {p}")),
                    (v, p) => v.or(p),
                }
            }),
        serial: s(&root["serial_number"]),
        firmware: s(&root["firmware_version"]).or_else(|| s(&root["revision"])),
        capacity_bytes: u(&root["user_capacity"]["bytes"]),
        passed: root["smart_status"]["passed"].as_bool(),
        temperature,
        temperature_limit,
        power_on_hours,
        percentage_used,
        attributes,
        nvme,
        scsi,
        exit_status,
        messages,
    }
}

fn attribute(a: &Value) -> Option<AtaAttribute> {
    let id = u16::try_from(u(&a["id"])?).ok()?;
    let raw_string = a["raw"]["string"].as_str().unwrap_or("").trim().to_owned();
    let raw = first_integer(&raw_string).or_else(|| u(&a["raw"]["value"]));
    let when_failed = match a["when_failed"].as_str() {
        Some("now") => WhenFailed::Now,
        Some("past") => WhenFailed::Past,
        _ => WhenFailed::Never,
    };
    Some(AtaAttribute {
        id,
        name: s(&a["name"]).unwrap_or_else(|| format!("Attribute_{id}")),
        value: u(&a["value"]),
        worst: u(&a["worst"]),
        thresh: u(&a["thresh"]),
        when_failed,
        prefailure: a["flags"]["prefailure"].as_bool().unwrap_or(false),
        raw,
        raw_string,
    })
}

/// ATA device statistics' "Percentage Used Endurance Indicator" (SSDs).
fn ata_endurance_used(root: &Value) -> Option<u64> {
    root["ata_device_statistics"]["pages"]
        .as_array()?
        .iter()
        .filter_map(|p| p["table"].as_array())
        .flatten()
        .find(|e| e["name"].as_str() == Some("Percentage Used Endurance Indicator"))
        .and_then(|e| u(&e["value"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_integers() {
        assert_eq!(first_integer("32 (Min/Max 24/38)"), Some(32));
        assert_eq!(first_integer("1730h+05m+12.345s"), Some(1730));
        assert_eq!(first_integer("-"), None);
        assert_eq!(first_integer("99999999999999999999999"), None);
    }

    #[test]
    fn packed_raw_values_read_as_text() {
        let h = decode(
            br#"{"device":{"name":"/dev/sdb","protocol":"ATA"},
               "ata_smart_attributes":{"table":[
                 {"id":194,"name":"Temperature_Celsius","value":51,"worst":51,"thresh":0,
                  "when_failed":"","raw":{"value":163210330144,"string":"32 (Min/Max 24/38)"}},
                 {"id":9,"name":"Power_On_Hours","value":1,"raw":{"value":7000000000}}]}}"#,
        )
        .unwrap();
        assert_eq!(h.temperature, Some(32));
        assert_eq!(h.power_on_hours, Some(7_000_000_000));
        assert_eq!(h.raw(194), Some(32));
        assert_eq!(h.attributes[1].thresh, None);
        assert!(h.is_usable());
    }

    #[test]
    fn messages_only_is_not_usable() {
        let h = decode(
            br#"{"smartctl":{"messages":[{"string":"/dev/x: Unable to detect device type","severity":"error"}],"exit_status":1}}"#,
        )
        .unwrap();
        assert!(!h.is_usable());
        assert_eq!(h.exit_status, Some(1));
        assert_eq!(h.messages, ["/dev/x: Unable to detect device type"]);
        assert!(decode(b"[1]").is_err());
        assert!(decode(b"smartctl 7.3").is_err());
    }
}
