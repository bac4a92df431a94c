//! The verdict on one disk's [`DiskHealth`], with the reasons in plain words.
//!
//! Critical: the drive's overall self-assessment failed, an attribute is at or below its
//! threshold now, an NVMe critical warning bit is set, the spare capacity is below its
//! threshold, or unrecovered media/data-integrity errors were counted. Warning: any of the
//! failure predictors Backblaze watches has a non-zero raw value (5 reallocated, 187 reported
//! uncorrectable, 188 command timeouts, 197 pending, 198 offline uncorrectable), a SCSI disk
//! has grown defects, an attribute failed in the past, the wear reached the warning level, or
//! the temperature is above the drive's own limit.

use crate::probe::Status;

use super::health::{DiskHealth, NVME_CRITICAL_WARNINGS, WhenFailed};

/// One reason for a verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// How bad.
    pub status: Status,
    /// In plain words, with the figures ("8 pending sectors").
    pub text: String,
    /// The ATA attribute it is about, when it is one of the counted predictors.
    pub attribute: Option<u16>,
}

/// The ATA failure predictors whose raw value should stay 0: id, singular, plural.
pub const PREDICTORS: [(u16, &str, &str); 5] = [
    (5, "reallocated sector", "reallocated sectors"),
    (
        187,
        "reported uncorrectable error",
        "reported uncorrectable errors",
    ),
    (188, "command timeout", "command timeouts"),
    (197, "pending sector", "pending sectors"),
    (
        198,
        "offline uncorrectable sector",
        "offline uncorrectable sectors",
    ),
];

/// "1 pending sector", "8 pending sectors".
pub fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Judges `h`: every finding, the critical ones first. `wear_warning` is the percentage of
/// rated life used from which to warn.
pub fn judge(h: &DiskHealth, wear_warning: u64) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |status, text: String, attribute| {
        out.push(Finding {
            status,
            text,
            attribute,
        })
    };
    if h.passed == Some(false) {
        push(
            Status::Critical,
            "SMART overall assessment failed".into(),
            None,
        );
    }
    for a in &h.attributes {
        if a.when_failed == WhenFailed::Now {
            let figures = match (a.value, a.thresh) {
                (Some(v), Some(t)) => format!(" (value {v}, threshold {t})"),
                _ => String::new(),
            };
            push(
                Status::Critical,
                format!("{} failing now{figures}", a.name),
                None,
            );
        }
    }
    if let Some(n) = &h.nvme {
        let bits: Vec<&str> = NVME_CRITICAL_WARNINGS
            .iter()
            .filter(|(bit, _)| n.critical_warning & bit != 0)
            .map(|(_, what)| *what)
            .collect();
        let unknown = n.critical_warning & !0x1f;
        if !bits.is_empty() || unknown != 0 {
            let mut text = format!("NVMe critical warning: {}", bits.join(", "));
            if unknown != 0 {
                if !bits.is_empty() {
                    text.push_str(", ");
                }
                text.push_str(&format!("bits {unknown:#04x}"));
            }
            push(Status::Critical, text, None);
        }
        if let (Some(spare), Some(threshold)) = (n.available_spare, n.available_spare_threshold)
            && spare < threshold
        {
            push(
                Status::Critical,
                format!("spare capacity {spare} % below its threshold of {threshold} %"),
                None,
            );
        }
        if let Some(m) = n.media_errors.filter(|m| *m > 0) {
            push(
                Status::Critical,
                count(m, "media error", "media errors"),
                None,
            );
        }
    }
    if let Some(s) = &h.scsi {
        for (n, what) in [
            (s.read_uncorrected, "read"),
            (s.write_uncorrected, "write"),
            (s.verify_uncorrected, "verify"),
        ] {
            if let Some(n) = n.filter(|n| *n > 0) {
                push(
                    Status::Critical,
                    count(
                        n,
                        &format!("uncorrected {what} error"),
                        &format!("uncorrected {what} errors"),
                    ),
                    None,
                );
            }
        }
    }
    for (id, one, many) in PREDICTORS {
        if let Some(raw) = h.raw(id).filter(|r| *r > 0) {
            push(Status::Warning, count(raw, one, many), Some(id));
        }
    }
    if let Some(g) = h
        .scsi
        .as_ref()
        .and_then(|s| s.grown_defects)
        .filter(|g| *g > 0)
    {
        push(
            Status::Warning,
            count(g, "grown defect", "grown defects"),
            None,
        );
    }
    for a in &h.attributes {
        if a.when_failed == WhenFailed::Past {
            push(
                Status::Warning,
                format!("{} failed in the past", a.name),
                None,
            );
        }
    }
    if let Some(p) = h.percentage_used.filter(|p| *p >= wear_warning) {
        push(Status::Warning, format!("{p} % of rated life used"), None);
    }
    if let (Some(t), Some(l)) = (h.temperature, h.temperature_limit)
        && t > l
    {
        push(
            Status::Warning,
            format!("{t} °C, above the drive's limit of {l} °C"),
            None,
        );
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.status.severity()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::smart::health::{NvmeHealth, decode};

    #[test]
    fn nvme_bits_are_named() {
        let h = DiskHealth {
            nvme: Some(NvmeHealth {
                critical_warning: 0x05 | 0x40,
                available_spare: Some(3),
                available_spare_threshold: Some(10),
                percentage_used: Some(104),
                media_errors: Some(2),
                ..Default::default()
            }),
            percentage_used: Some(104),
            ..Default::default()
        };
        let texts: Vec<String> = judge(&h, 90).into_iter().map(|f| f.text).collect();
        assert_eq!(
            texts,
            [
                "NVMe critical warning: spare capacity below threshold, reliability degraded by media errors, bits 0x40",
                "spare capacity 3 % below its threshold of 10 %",
                "2 media errors",
                "104 % of rated life used",
            ]
        );
    }

    #[test]
    fn past_failures_and_heat_warn() {
        let h = decode(
            br#"{"device":{"protocol":"ATA"},"temperature":{"current":71,"op_limit_max":70},
               "ata_smart_attributes":{"table":[
                 {"id":3,"name":"Spin_Up_Time","value":20,"thresh":21,"when_failed":"past","raw":{"string":"0"}},
                 {"id":197,"name":"Current_Pending_Sector","value":100,"thresh":0,"when_failed":"","raw":{"string":"1"}}]}}"#,
        )
        .unwrap();
        let f = judge(&h, 90);
        assert!(f.iter().all(|f| f.status == Status::Warning));
        let texts: Vec<&str> = f.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "1 pending sector",
                "Spin_Up_Time failed in the past",
                "71 °C, above the drive's limit of 70 °C"
            ]
        );
    }
}
