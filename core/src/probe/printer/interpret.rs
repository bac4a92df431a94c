//! From a [`PrinterReport`] to a verdict: thresholds per supply type, paper, doors, jams and
//! the alert table, in a summary a person would write.

use serde::Deserialize;

use super::mib::{
    DetectedError, DeviceStatus, PrinterReport, Supply, SupplyRule, SupplyState, SupplyType, Tray,
    TrayState,
};
use crate::error::{Error, Result};
use crate::probe::Status;

/// Warning and critical levels, in percent remaining (for waste: percent full).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    /// Warn at or below this percentage (waste: at or above).
    #[serde(default)]
    pub warning: Option<f64>,
    /// Critical at or below this percentage (waste: at or above).
    #[serde(default)]
    pub critical: Option<f64>,
}

impl Levels {
    const fn new(warning: Option<f64>, critical: Option<f64>) -> Self {
        Self { warning, critical }
    }

    fn validate(&self, field: &str, rising: bool) -> Result<()> {
        for v in [self.warning, self.critical].into_iter().flatten() {
            if !(0.0..=100.0).contains(&v) {
                return Err(Error::invalid(field, "levels are percentages, 0–100"));
            }
        }
        if let (Some(w), Some(c)) = (self.warning, self.critical) {
            let wrong = if rising { w > c } else { w < c };
            if wrong {
                return Err(Error::invalid(
                    field,
                    "the warning level is past the critical one",
                ));
            }
        }
        Ok(())
    }

    /// The status of a percentage remaining (falling) or full (rising).
    fn status(&self, percent: f64, rising: bool) -> Status {
        let hit =
            |t: Option<f64>| t.is_some_and(|t| if rising { percent >= t } else { percent <= t });
        if hit(self.critical) {
            Status::Critical
        } else if hit(self.warning) {
            Status::Warning
        } else {
            Status::Ok
        }
    }
}

/// Supply thresholds per type. Unset types use the defaults shown. A supply the agent gives no
/// type for is judged by what its description names ([`SupplyRule`]); one that names nothing
/// but has a marker colour, at the toner thresholds.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SupplyThresholds {
    /// Toner (and toner cartridges): warning 20 %, critical 5 %.
    pub toner: Levels,
    /// Ink: warning 20 %, critical 5 %.
    pub ink: Levels,
    /// Drums / photoconductors and developer: warning 10 %.
    pub drum: Levels,
    /// Fuser: warning 10 %.
    pub fuser: Levels,
    /// Transfer belts and rollers, cleaners, maintenance kits and feed rollers: warning 10 %.
    pub maintenance: Levels,
    /// Waste receptacles, in percent *full*: warning 90 %, critical 100 %.
    pub waste: Levels,
    /// Everything else (staples, supplies nothing tells the type of…): no alarm by default.
    pub other: Levels,
}

impl Default for SupplyThresholds {
    fn default() -> Self {
        Self {
            toner: Levels::new(Some(20.0), Some(5.0)),
            ink: Levels::new(Some(20.0), Some(5.0)),
            drum: Levels::new(Some(10.0), None),
            fuser: Levels::new(Some(10.0), None),
            maintenance: Levels::new(Some(10.0), None),
            waste: Levels::new(Some(90.0), Some(100.0)),
            other: Levels::new(None, None),
        }
    }
}

impl SupplyThresholds {
    /// Checks each level pair.
    pub fn validate(&self) -> Result<()> {
        self.toner.validate("thresholds.toner", false)?;
        self.ink.validate("thresholds.ink", false)?;
        self.drum.validate("thresholds.drum", false)?;
        self.fuser.validate("thresholds.fuser", false)?;
        self.maintenance.validate("thresholds.maintenance", false)?;
        self.waste.validate("thresholds.waste", true)?;
        self.other.validate("thresholds.other", false)
    }

    /// The levels `s` is judged at: waste for every receptacle, toner for a marker-colour
    /// supply of no known type, else by type.
    pub fn for_supply(&self, s: &Supply) -> &Levels {
        if s.is_receptacle() {
            return &self.waste;
        }
        if s.classified_by == SupplyRule::MarkerColourFallback {
            return &self.toner;
        }
        match s.kind {
            SupplyType::Toner | SupplyType::TonerCartridge => &self.toner,
            SupplyType::Ink | SupplyType::InkCartridge | SupplyType::InkRibbon => &self.ink,
            SupplyType::Opc | SupplyType::Developer => &self.drum,
            SupplyType::Fuser | SupplyType::FuserOil => &self.fuser,
            SupplyType::TransferUnit | SupplyType::CleanerUnit | SupplyType::MaintenanceKit => {
                &self.maintenance
            }
            SupplyType::WasteToner | SupplyType::WasteInk | SupplyType::OtherWaste => &self.waste,
            SupplyType::Staples | SupplyType::Other(_) => &self.other,
        }
    }
}

/// What a waste receptacle's level means on this model.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum WasteLevel {
    /// The level is the space left (RFC 3805); fullness = 100 % − level.
    #[default]
    SpaceLeft,
    /// The level is how full the receptacle is (some vendors do this).
    Filled,
}

/// The interpretation settings of a check.
#[derive(Debug, Clone, PartialEq)]
pub struct Interpretation {
    /// Supply thresholds.
    pub thresholds: SupplyThresholds,
    /// A tray below this percentage counts as low.
    pub low_paper_percent: f64,
    /// Trays, by name or index, to treat as bypass trays (never "empty"); with a leading `!`,
    /// trays to treat as real trays, whatever the decoder found ([`Tray::bypass_reason`]).
    pub bypass_trays: Vec<String>,
    /// What waste levels mean.
    pub waste_level: WasteLevel,
}

impl Default for Interpretation {
    fn default() -> Self {
        Self {
            thresholds: SupplyThresholds::default(),
            low_paper_percent: 10.0,
            bypass_trays: Vec::new(),
            waste_level: WasteLevel::SpaceLeft,
        }
    }
}

/// One thing worth saying, with the status it earns.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The status it earns.
    pub status: Status,
    /// How a person says it ("Cyan toner 16 %").
    pub text: String,
}

/// How full a receptacle is, in percent, when known.
pub fn waste_fullness(s: &Supply, meaning: WasteLevel) -> Option<f64> {
    let p = s.state.percent()?;
    Some(match meaning {
        WasteLevel::SpaceLeft => 100.0 - p,
        WasteLevel::Filled => p,
    })
}

/// What the summary adds to a supply it reports when the type column did not type it: the
/// rule, so a surprising threshold can be traced.
fn rule_note(s: &Supply) -> String {
    match &s.classified_by {
        SupplyRule::Description { word } => format!(" (type from its description: \"{word}\")"),
        SupplyRule::MarkerColourFallback => " (no type given: toner levels for its colour)".into(),
        SupplyRule::TypeColumn | SupplyRule::Unclassified => String::new(),
    }
}

/// Whether `s` holds a colorant the printer marks with (toner or ink), as far as anything
/// tells.
fn is_marker(s: &Supply) -> bool {
    !s.is_receptacle()
        && (matches!(
            s.kind,
            SupplyType::Toner
                | SupplyType::TonerCartridge
                | SupplyType::Ink
                | SupplyType::InkCartridge
        ) || s.classified_by == SupplyRule::MarkerColourFallback)
}

fn pct(p: f64) -> String {
    if p > 0.0 && p < 1.0 {
        "<1 %".into()
    } else {
        format!("{} %", p.round())
    }
}

impl Interpretation {
    /// Whether `t` is a bypass tray: as configured (`"7"`, `"Tray 7"`; `"!7"` a real tray),
    /// else as the decoder found.
    pub fn is_bypass(&self, t: &Tray) -> bool {
        let names = |b: &str| {
            let b = b.trim();
            b.eq_ignore_ascii_case(&t.name) || b == t.index.to_string()
        };
        for b in &self.bypass_trays {
            match b.trim().strip_prefix('!') {
                Some(real) if names(real) => return false,
                None if names(b) => return true,
                _ => {}
            }
        }
        t.bypass
    }

    /// The verdict on one supply's level alone: its thresholds against the percentage left (a
    /// receptacle: how full it is). `Ok` when the level is not known.
    pub fn supply_status(&self, s: &Supply) -> Status {
        let levels = self.thresholds.for_supply(s);
        if s.is_receptacle() {
            waste_fullness(s, self.waste_level).map_or(Status::Ok, |f| levels.status(f, true))
        } else {
            s.state
                .percent()
                .map_or(Status::Ok, |p| levels.status(p, false))
        }
    }

    /// The verdict on one tray's paper: empty or below `low_paper_percent` warns, except on a
    /// bypass tray.
    pub fn tray_status(&self, t: &Tray) -> Status {
        if self.is_bypass(t) {
            return Status::Ok;
        }
        match t.state {
            TrayState::Empty => Status::Warning,
            TrayState::Known(p) if p < self.low_paper_percent => Status::Warning,
            _ => Status::Ok,
        }
    }

    /// The findings of a report, in reading order (supplies, trays, covers, alerts, error
    /// bits); `days_left(supply index)` adds forecasts.
    pub fn findings(
        &self,
        r: &PrinterReport,
        days_left: &dyn Fn(u32) -> Option<f64>,
    ) -> Vec<Finding> {
        let mut out: Vec<Finding> = Vec::new();
        if r.device_status == Some(DeviceStatus::Down) {
            push(&mut out, Status::Critical, "printer is down".into());
        }
        for s in &r.supplies {
            let st = self.supply_status(s);
            if st == Status::Ok {
                continue;
            }
            if s.is_receptacle() {
                if let Some(full) = waste_fullness(s, self.waste_level) {
                    let (label, note) = (s.label(), rule_note(s));
                    push(&mut out, st, format!("{label} {} full{note}", pct(full)));
                }
            } else if let SupplyState::Known(p) = s.state {
                let mut text = if p == 0.0 {
                    format!("{} empty", s.label())
                } else {
                    format!("{} {}", s.label(), pct(p))
                };
                if let Some(d) = days_left(s.index) {
                    text.push_str(&format!(" (≈ {} days left)", d.round()));
                }
                text.push_str(&rule_note(s));
                push(&mut out, st, text);
            }
        }
        for t in &r.trays {
            let st = self.tray_status(t);
            match t.state {
                TrayState::Empty if st != Status::Ok => {
                    push(&mut out, st, format!("{} empty", t.name))
                }
                TrayState::Known(p) if st != Status::Ok => {
                    push(&mut out, st, format!("{} low ({})", t.name, pct(p)))
                }
                _ => {}
            }
        }
        for c in &r.covers {
            if c.is_open() {
                push(
                    &mut out,
                    Status::Critical,
                    format!("{} open", c.description),
                );
            }
        }
        for a in &r.alerts {
            let status = match a.severity {
                Some(3) => Status::Critical,
                Some(4) | Some(5) => Status::Warning,
                _ => continue,
            };
            let tray = a
                .group_index
                .and_then(|i| r.trays.iter().find(|t| i64::from(t.index) == i));
            let tray_name = || {
                tray.map(|t| lower_first(&t.name)).or_else(|| {
                    a.group_index
                        .filter(|i| *i > 0)
                        .map(|i| format!("tray {i}"))
                })
            };
            let supply = || {
                a.group_index
                    .and_then(|i| r.supplies.iter().find(|s| i64::from(s.index) == i))
                    .map(Supply::label)
            };
            let text = match (a.code, a.group) {
                (Some(8), Some(8)) => match tray_name() {
                    Some(t) => format!("paper jam in {t}"),
                    None => "paper jam".into(),
                },
                (Some(8), Some(13)) => "paper jam in the paper path".into(),
                (Some(8), Some(9)) => "paper jam at the output".into(),
                (Some(8), _) => "paper jam".into(),
                (Some(3), _) | (Some(4), _) | (_, Some(6)) => {
                    let cover = a
                        .group_index
                        .and_then(|i| r.covers.iter().find(|c| i64::from(c.index) == i))
                        .map(|c| c.description.clone());
                    match cover {
                        Some(c) => format!("{c} open"),
                        None if a.description.is_empty() => "cover open".into(),
                        None => a.description.clone(),
                    }
                }
                (Some(1101) | Some(1102) | Some(13), Some(11)) => match supply() {
                    Some(s) => format!("{s} empty"),
                    None => "supply empty".into(),
                },
                // An empty bypass tray is its normal state.
                (Some(808), _) | (Some(13), Some(8)) if tray.is_some_and(|t| self.is_bypass(t)) => {
                    continue;
                }
                (Some(808), _) | (Some(13), Some(8)) => match tray_name() {
                    Some(t) => format!("{} empty", upper_first(&t)),
                    None => "paper empty".into(),
                },
                _ if !a.description.is_empty() => a.description.clone(),
                _ => continue,
            };
            push(&mut out, status, text);
        }
        for e in &r.errors {
            let status = match e {
                DetectedError::NoToner
                | DetectedError::DoorOpen
                | DetectedError::Jammed
                | DetectedError::Offline
                | DetectedError::MarkerSupplyMissing
                | DetectedError::OutputFull => Status::Critical,
                DetectedError::Undefined(_) => continue,
                _ => Status::Warning,
            };
            let text = e.describe();
            // "paper jam" is said more precisely by the alert table when it names the tray.
            let said = match e {
                DetectedError::Jammed => out.iter().any(|f| f.text.starts_with("paper jam")),
                DetectedError::DoorOpen => out.iter().any(|f| f.text.ends_with(" open")),
                // "Black toner empty", also with the rule that typed it after it.
                DetectedError::NoToner => out.iter().any(|f| {
                    f.text.contains("toner")
                        && (f.text.ends_with(" empty") || f.text.contains(" empty ("))
                }),
                _ => false,
            };
            if !said {
                push(&mut out, status, text);
            }
        }
        let worst = out.iter().map(|f| f.status).fold(Status::Ok, Status::worst);
        if r.device_status == Some(DeviceStatus::Warning) && worst == Status::Ok {
            push(
                &mut out,
                Status::Warning,
                "printer reports a warning".into(),
            );
        }
        out
    }

    /// The status and the one-line summary.
    pub fn verdict(
        &self,
        name: &str,
        r: &PrinterReport,
        days_left: &dyn Fn(u32) -> Option<f64>,
    ) -> (Status, String) {
        let findings = self.findings(r, days_left);
        let status = findings
            .iter()
            .map(|f| f.status)
            .fold(Status::Ok, Status::worst);
        if findings.is_empty() {
            let mut parts = Vec::new();
            let lowest = r
                .supplies
                .iter()
                .filter(|s| is_marker(s))
                .filter_map(|s| s.state.percent().map(|p| (p, s)))
                .min_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((p, s)) = lowest {
                let mut t = format!("lowest {} {}", s.label(), pct(p));
                if let Some(d) = days_left(s.index) {
                    t.push_str(&format!(" (≈ {} days left)", d.round()));
                }
                t.push_str(&rule_note(s));
                parts.push(t);
            } else {
                // No toner or ink level to show: say so rather than nothing, when the agent
                // cannot tell (a level of an unknown capacity, -2).
                let unknown: Vec<&Supply> = r
                    .supplies
                    .iter()
                    .filter(|s| is_marker(s) && s.state == SupplyState::Unknown)
                    .collect();
                match unknown[..] {
                    [] => {}
                    [s] => parts.push(format!("{} {}", s.label(), s.state)),
                    _ => parts.push(format!("{} supply levels unknown", unknown.len())),
                }
            }
            if !r.trays.is_empty() {
                parts.push(format!(
                    "{} tray{} ok",
                    r.trays.len(),
                    if r.trays.len() == 1 { "" } else { "s" }
                ));
            }
            let detail = if parts.is_empty() {
                String::new()
            } else {
                format!(", {}", parts.join(", "))
            };
            (Status::Ok, format!("{name}: ready{detail}"))
        } else {
            let text: Vec<String> = findings.into_iter().map(|f| f.text).collect();
            (status, format!("{name}: {}", text.join(", ")))
        }
    }
}

/// Adds a finding unless the same text is already there.
fn push(out: &mut Vec<Finding>, status: Status, text: String) {
    if !out.iter().any(|f| f.text.eq_ignore_ascii_case(&text)) {
        out.push(Finding { status, text });
    }
}

fn lower_first(s: &str) -> String {
    match s.strip_prefix("Tray ") {
        Some(rest) => format!("tray {rest}"),
        None => s.to_string(),
    }
}

fn upper_first(s: &str) -> String {
    match s.strip_prefix("tray ") {
        Some(rest) => format!("Tray {rest}"),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::printer::mib::{decode, parse_snmprec};

    const HP_LIKE: &str = "\
1.3.6.1.2.1.25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.5
1.3.6.1.2.1.25.3.2.1.5.1|2|3
1.3.6.1.2.1.25.3.5.1.2.1|4x|0400
1.3.6.1.2.1.43.8.2.1.2.1.1|2|3
1.3.6.1.2.1.43.8.2.1.9.1.1|2|100
1.3.6.1.2.1.43.8.2.1.10.1.1|2|0
1.3.6.1.2.1.43.8.2.1.13.1.1|4|Tray 1
1.3.6.1.2.1.43.8.2.1.9.1.2|2|500
1.3.6.1.2.1.43.8.2.1.10.1.2|2|200
1.3.6.1.2.1.43.8.2.1.13.1.2|4|Tray 2
1.3.6.1.2.1.43.8.2.1.9.1.3|2|100
1.3.6.1.2.1.43.8.2.1.10.1.3|2|0
1.3.6.1.2.1.43.8.2.1.13.1.3|4|Bypass Tray
1.3.6.1.2.1.43.11.1.1.5.1.1|2|3
1.3.6.1.2.1.43.11.1.1.6.1.1|4|Cyan Cartridge
1.3.6.1.2.1.43.11.1.1.8.1.1|2|100
1.3.6.1.2.1.43.11.1.1.9.1.1|2|16
1.3.6.1.2.1.43.11.1.1.5.1.2|2|3
1.3.6.1.2.1.43.11.1.1.6.1.2|4|Black Cartridge
1.3.6.1.2.1.43.11.1.1.8.1.2|2|100
1.3.6.1.2.1.43.11.1.1.9.1.2|2|-3
1.3.6.1.2.1.43.11.1.1.5.1.3|2|4
1.3.6.1.2.1.43.11.1.1.6.1.3|4|Waste Toner Box
1.3.6.1.2.1.43.11.1.1.8.1.3|2|-2
1.3.6.1.2.1.43.11.1.1.9.1.3|2|-3
1.3.6.1.2.1.43.18.1.1.2.1.1|2|3
1.3.6.1.2.1.43.18.1.1.4.1.1|2|8
1.3.6.1.2.1.43.18.1.1.5.1.1|2|2
1.3.6.1.2.1.43.18.1.1.7.1.1|2|8
1.3.6.1.2.1.43.18.1.1.8.1.1|4|Jam in tray 2
";

    #[test]
    fn summary_reads_like_a_person_wrote_it() {
        let r = decode(&parse_snmprec(HP_LIKE));
        let (status, summary) = Interpretation::default().verdict("Room 12 HP M880", &r, &|_| None);
        assert_eq!(status, Status::Critical);
        assert_eq!(
            summary,
            "Room 12 HP M880: Cyan toner 16 %, Tray 1 empty, paper jam in tray 2"
        );
        let (_, summary) = Interpretation::default().verdict("p", &r, &|i| (i == 1).then_some(9.4));
        assert!(
            summary.contains("Cyan toner 16 % (≈ 9 days left)"),
            "{summary}"
        );
    }

    #[test]
    fn bypass_trays_and_thresholds_are_configurable() {
        let r = decode(&parse_snmprec(HP_LIKE));
        let i = Interpretation {
            bypass_trays: vec!["tray 1".into()],
            thresholds: SupplyThresholds {
                toner: Levels::new(Some(10.0), Some(5.0)),
                ..Default::default()
            },
            ..Default::default()
        };
        let texts: Vec<String> = i
            .findings(&r, &|_| None)
            .into_iter()
            .map(|f| f.text)
            .collect();
        assert_eq!(texts, vec!["paper jam in tray 2"]);
    }

    #[test]
    fn bypass_trays_are_never_empty_unless_configured_as_real_trays() {
        // Tray 1: 100 sheets, no name, beside a 500-sheet tray 2; the printer's alert table
        // says tray 1 is empty (808) and tray 2 too (13 in the input group).
        let text = "\
1.3.6.1.2.1.43.8.2.1.9.1.1|2|100
1.3.6.1.2.1.43.8.2.1.10.1.1|2|0
1.3.6.1.2.1.43.8.2.1.9.1.2|2|500
1.3.6.1.2.1.43.8.2.1.10.1.2|2|0
1.3.6.1.2.1.43.18.1.1.2.1.1|2|4
1.3.6.1.2.1.43.18.1.1.4.1.1|2|8
1.3.6.1.2.1.43.18.1.1.5.1.1|2|1
1.3.6.1.2.1.43.18.1.1.7.1.1|2|808
1.3.6.1.2.1.43.18.1.1.2.1.2|2|4
1.3.6.1.2.1.43.18.1.1.4.1.2|2|8
1.3.6.1.2.1.43.18.1.1.5.1.2|2|2
1.3.6.1.2.1.43.18.1.1.7.1.2|2|13
";
        let r = decode(&parse_snmprec(text));
        assert_eq!(
            r.trays[0].bypass_reason,
            Some(crate::probe::printer::mib::BypassReason::SmallUnnamed)
        );
        let texts = |i: &Interpretation| -> Vec<String> {
            i.findings(&r, &|_| None)
                .into_iter()
                .map(|f| f.text)
                .collect()
        };
        assert_eq!(texts(&Interpretation::default()), ["Tray 2 empty"]);
        let real = Interpretation {
            bypass_trays: vec![" !1 ".into()],
            ..Default::default()
        };
        assert_eq!(texts(&real), ["Tray 1 empty", "Tray 2 empty"]);
        let both = Interpretation {
            bypass_trays: vec!["!Tray 1".into(), "tray 2".into()],
            ..Default::default()
        };
        assert_eq!(texts(&both), ["Tray 1 empty"]);
    }

    #[test]
    fn waste_is_fullness() {
        let mut r = decode(&parse_snmprec(HP_LIKE));
        r.supplies[2].state = SupplyState::Known(5.0);
        let i = Interpretation {
            bypass_trays: vec!["1".into()],
            ..Default::default()
        };
        let f = i.findings(&r, &|_| None);
        assert!(
            f.iter()
                .any(|f| f.text == "Waste Toner Box 95 % full" && f.status == Status::Warning),
            "{f:?}"
        );
        let i = Interpretation {
            waste_level: WasteLevel::Filled,
            ..i
        };
        assert!(
            !i.findings(&r, &|_| None)
                .iter()
                .any(|f| f.text.contains("Waste"))
        );
    }

    #[test]
    fn untyped_supplies_get_the_thresholds_of_what_they_are() {
        // Rows: (type cell, class, description, colorant, level of 100).
        let rows: &[(Option<i64>, i64, &str, i64, i64)] = &[
            (None, 3, "Black Cartridge HP CF287A", 1, 3),
            (Some(1), 3, "Fusing Unit", 0, 8),
            (Some(2), 3, "054H Y", 2, 12),
            (None, 3, "Maintenance Kit", 0, 6),
            // A receptacle is judged as waste whatever its description names: 30 % full.
            (None, 4, "Toner Box", 0, 70),
            (None, 3, "Part 7", 0, 1),
            (Some(32), 3, "Staples", 0, 1),
        ];
        let mut text = String::from(
            "1.3.6.1.2.1.43.12.1.1.4.1.1|4|black\n1.3.6.1.2.1.43.12.1.1.4.1.2|4|yellow\n",
        );
        for (i, (kind, class, descr, colorant, level)) in rows.iter().enumerate() {
            let i = i + 1;
            let p = "1.3.6.1.2.1.43.11.1.1";
            if let Some(k) = kind {
                text.push_str(&format!("{p}.5.1.{i}|2|{k}\n"));
            }
            text.push_str(&format!(
                "{p}.3.1.{i}|2|{colorant}\n{p}.4.1.{i}|2|{class}\n{p}.6.1.{i}|4|{descr}\n\
                 {p}.8.1.{i}|2|100\n{p}.9.1.{i}|2|{level}\n"
            ));
        }
        let r = decode(&parse_snmprec(&text));
        let f = Interpretation::default().findings(&r, &|_| None);
        let found: Vec<(Status, &str)> = f.iter().map(|f| (f.status, f.text.as_str())).collect();
        assert_eq!(
            found,
            [
                (
                    Status::Critical,
                    "Black toner 3 % (type from its description: \"cartridge\")"
                ),
                (
                    Status::Warning,
                    "Fusing Unit 8 % (type from its description: \"fusing\")"
                ),
                (
                    Status::Warning,
                    "054H Y 12 % (no type given: toner levels for its colour)"
                ),
                (
                    Status::Warning,
                    "Maintenance Kit 6 % (type from its description: \"maintenance\")"
                ),
            ]
        );
        // Each group's thresholds apply, and can be changed.
        let i = Interpretation {
            thresholds: SupplyThresholds {
                maintenance: Levels::new(None, None),
                toner: Levels::new(Some(10.0), Some(2.0)),
                ..Default::default()
            },
            ..Default::default()
        };
        let found: Vec<Status> = i.findings(&r, &|_| None).iter().map(|f| f.status).collect();
        assert_eq!(found, [Status::Warning, Status::Warning]);
    }

    #[test]
    fn an_empty_untyped_cartridge_is_said_once() {
        let text = "\
1.3.6.1.2.1.25.3.5.1.2.1|4x|10
1.3.6.1.2.1.43.11.1.1.6.1.1|4|Black Cartridge HP CF287A
1.3.6.1.2.1.43.11.1.1.8.1.1|2|100
1.3.6.1.2.1.43.11.1.1.9.1.1|2|0
";
        let r = decode(&parse_snmprec(text));
        assert_eq!(r.errors, [DetectedError::NoToner]);
        let (status, summary) = Interpretation::default().verdict("p", &r, &|_| None);
        assert_eq!(
            (status, summary.as_str()),
            (
                Status::Critical,
                "p: Black toner empty (type from its description: \"cartridge\")"
            )
        );
    }

    #[test]
    fn threshold_validation() {
        let mut t = SupplyThresholds::default();
        assert!(t.validate().is_ok());
        t.toner = Levels::new(Some(5.0), Some(20.0));
        assert!(t.validate().is_err());
        t.toner = Levels::new(Some(120.0), None);
        assert!(t.validate().is_err());
    }
}
