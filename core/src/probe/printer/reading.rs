//! A printer's structured reading: everything one poll learnt, with the verdict on each supply
//! and tray, as the history keeps it and `check --json` and the bindings show it.

use serde::{Deserialize, Serialize};

use super::interpret::{Interpretation, waste_fullness};
use super::mib::{
    Cover, DetectedError, DeviceStatus, Identity, PrinterAlert, PrinterReport, PrinterStatus,
    Supply, SupplyState, Tray,
};
use crate::probe::Status;

/// One printer, as read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrinterReading {
    /// Who it is: names, model, serial, location.
    pub identity: Identity,
    /// hrDeviceStatus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_status: Option<DeviceStatus>,
    /// hrPrinterStatus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printer_status: Option<PrinterStatus>,
    /// The error bits the printer sets (hrPrinterDetectedErrorState).
    pub errors: Vec<DetectedError>,
    /// Every marker supply.
    pub supplies: Vec<SupplyReading>,
    /// Every input tray.
    pub trays: Vec<TrayReading>,
    /// Every cover.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<Cover>,
    /// The printer's alert table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<PrinterAlert>,
    /// The page counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_count: Option<u64>,
}

/// What a level says, in words: a percentage only when level and capacity are both known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelKind {
    /// A percentage is known (`percent`).
    Known,
    /// At least one unit remains (-3), nothing more.
    SomeRemaining,
    /// The printer cannot tell (-2, a missing or odd value, an unknown capacity).
    Unknown,
    /// No restriction applies (-1).
    Unrestricted,
}

/// One supply with its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupplyReading {
    /// The name a person uses ("Cyan toner", else the description).
    pub name: String,
    /// What the printer said of it, with the rule that typed it (`classified_by`).
    #[serde(flatten)]
    pub supply: Supply,
    /// What the level says.
    pub level_kind: LevelKind,
    /// The percentage left (for a receptacle: space left), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    /// How full a receptacle is, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_full: Option<f64>,
    /// The forecast: days until empty at the recent rate, when the history tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_left: Option<f64>,
    /// The verdict on its level against the check's thresholds.
    pub verdict: Status,
}

/// One tray with its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrayReading {
    /// What the printer said of it, with the bypass evidence.
    #[serde(flatten)]
    pub tray: Tray,
    /// Treated as a bypass tray (by the evidence or the check's `bypass_trays`): never "empty".
    pub treated_as_bypass: bool,
    /// The verdict on its paper (`status` is the tray's own prtInputStatus).
    pub verdict: Status,
}

impl PrinterReading {
    /// The reading of `report` under `interpretation`; `days_left(supply index)` gives the
    /// forecasts.
    pub fn new(
        report: &PrinterReport,
        interpretation: &Interpretation,
        days_left: &dyn Fn(u32) -> Option<f64>,
    ) -> Self {
        let supplies = report
            .supplies
            .iter()
            .map(|s| SupplyReading {
                name: s.label(),
                level_kind: match s.state {
                    SupplyState::Known(_) => LevelKind::Known,
                    SupplyState::SomeRemaining => LevelKind::SomeRemaining,
                    SupplyState::Unknown => LevelKind::Unknown,
                    SupplyState::Unrestricted => LevelKind::Unrestricted,
                },
                percent: s.state.percent(),
                percent_full: s
                    .is_receptacle()
                    .then(|| waste_fullness(s, interpretation.waste_level))
                    .flatten(),
                days_left: days_left(s.index),
                verdict: interpretation.supply_status(s),
                supply: s.clone(),
            })
            .collect();
        let trays = report
            .trays
            .iter()
            .map(|t| TrayReading {
                treated_as_bypass: interpretation.is_bypass(t),
                verdict: interpretation.tray_status(t),
                tray: t.clone(),
            })
            .collect();
        Self {
            identity: report.identity.clone(),
            device_status: report.device_status,
            printer_status: report.printer_status,
            errors: report.errors.clone(),
            supplies,
            trays,
            covers: report.covers.clone(),
            alerts: report.alerts.clone(),
            page_count: report.page_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::Reading;
    use crate::probe::printer::mib;

    /// An HP-style table without a type column, an unknown capacity and a bypass tray.
    const REC: &str = "\
1.3.6.1.2.1.25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.5
1.3.6.1.2.1.25.3.2.1.5.1|2|2
1.3.6.1.2.1.43.11.1.1.4.1.1|2|3
1.3.6.1.2.1.43.11.1.1.6.1.1|4|Black Cartridge HP CF287A
1.3.6.1.2.1.43.11.1.1.7.1.1|2|19
1.3.6.1.2.1.43.11.1.1.8.1.1|2|100
1.3.6.1.2.1.43.11.1.1.9.1.1|2|3
1.3.6.1.2.1.43.11.1.1.4.1.2|2|3
1.3.6.1.2.1.43.11.1.1.6.1.2|4|Fuser Kit
1.3.6.1.2.1.43.11.1.1.8.1.2|2|-2
1.3.6.1.2.1.43.11.1.1.9.1.2|2|0
1.3.6.1.2.1.43.8.2.1.9.1.1|2|100
1.3.6.1.2.1.43.8.2.1.10.1.1|2|0
1.3.6.1.2.1.43.8.2.1.13.1.1|4|Bypass Tray
1.3.6.1.2.1.43.8.2.1.9.1.2|2|500
1.3.6.1.2.1.43.8.2.1.10.1.2|2|400
1.3.6.1.2.1.43.8.2.1.13.1.2|4|Tray 2
";

    #[test]
    fn every_supply_and_tray_with_its_verdict_and_read_back() {
        let report = mib::decode(&mib::parse_snmprec(REC));
        let reading = PrinterReading::new(&report, &Interpretation::default(), &|i| {
            (i == 1).then_some(4.0)
        });
        let black = &reading.supplies[0];
        assert_eq!(black.name, "Black toner");
        assert_eq!(
            (
                black.level_kind,
                black.percent,
                black.verdict,
                black.days_left
            ),
            (LevelKind::Known, Some(3.0), Status::Critical, Some(4.0))
        );
        let fuser = &reading.supplies[1];
        assert_eq!(
            (fuser.level_kind, fuser.percent, fuser.verdict),
            (LevelKind::Unknown, None, Status::Ok)
        );
        assert!(reading.trays[0].treated_as_bypass);
        assert_eq!(reading.trays[0].verdict, Status::Ok);
        assert_eq!(reading.trays[1].verdict, Status::Ok);

        let value = serde_json::to_value(Reading::Printer(Box::new(reading.clone()))).unwrap();
        assert_eq!(value["kind"], "printer");
        assert_eq!(
            value["supplies"][0]["description"],
            "Black Cartridge HP CF287A"
        );
        assert_eq!(value["supplies"][0]["classified_by"]["rule"], "description");
        assert_eq!(value["supplies"][0]["kind"], "toner_cartridge");
        assert_eq!(value["supplies"][0]["verdict"], "critical");
        assert_eq!(value["supplies"][1]["level_kind"], "unknown");
        assert_eq!(value["trays"][0]["name"], "Bypass Tray");
        let back: Reading = serde_json::from_value(value).unwrap();
        assert_eq!(back, Reading::Printer(Box::new(reading)));
    }
}
