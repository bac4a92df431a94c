//! Steady-state polls: after a full poll, the next polls of the same printer read only the
//! cells that change (statuses, levels, counters) with one GET, and patch the last report.
//!
//! The structure of a printer (its supplies, trays, covers, names, capacities, colours, units)
//! does not change between two polls a few minutes apart, but reading it costs a GET and a
//! walk of some forty columns. A [`Plan`] remembers, from a full poll, the exact OIDs of the
//! cells that do change:
//!
//! - sysUpTime (a reboot: it goes backwards), prtGeneralConfigChanges (a new configuration),
//!   the alert counters prtAlertCriticalEvents / prtAlertAllEvents (a new alert);
//! - hrDeviceStatus, hrPrinterStatus and hrPrinterDetectedErrorState of the printer's row;
//! - each supply's level, each tray's current level and status, each cover's status;
//! - the page counter.
//!
//! Only the cells the full poll found are asked for. `Plan::apply_answer` patches the report the
//! way [`super::mib::decode`] would have read the same values, so a steady-state poll's report
//! equals a full poll's for the same agent state. It asks for a full poll instead when a cell
//! is gone (noSuchObject, noSuchInstance, endOfMibView, NULL, an OID the agent did not ask
//! for), when the agent answers with an error (v1 noSuchName, genErr …), when sysUpTime went
//! backwards or prtGeneralConfigChanges moved. The alert table is walked again when the alert
//! counters moved; for agents without them, when the device status, the error state, a cover
//! or a tray status changed, or when there were alerts last time (an alert that clears does
//! not move the counters either, so that rule holds for every agent).

use std::sync::Arc;

use snmp2::Value;

use super::mib::{
    self, DeviceStatus, HR_DEVICE_ENTRY, HR_PRINTER_ENTRY, Oid, PRT_COVER_ENTRY, PRT_GENERAL_ENTRY,
    PRT_INPUT_ENTRY, PRT_MARKER_ENTRY, PRT_SUPPLY_ENTRY, PrinterReport, PrinterStatus, SupplyState,
    TrayState, Varbinds, col,
};
use super::snmp::{Client, SnmpError, encode_oid};

/// What a cell is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Uptime,
    ConfigChanges,
    AlertCounter,
    DeviceStatus,
    PrinterStatus,
    ErrorState,
    /// The supply at this position of `report.supplies`.
    SupplyLevel(usize),
    /// The tray at this position of `report.trays`.
    TrayLevel(usize),
    TrayStatus(usize),
    /// The cover at this position of `report.covers`.
    CoverStatus(usize),
    PageCount,
}

/// One cell: what it is and, for counters, the last value.
#[derive(Debug, Clone)]
struct Cell {
    kind: Kind,
    last: Option<i64>,
}

/// The cells of one printer, from a full poll.
#[derive(Debug, Clone)]
pub struct Plan {
    cells: Vec<Cell>,
    /// The cells' OIDs, encoded once (parallel to `cells`).
    oids: Vec<snmp2::Oid<'static>>,
    /// Whether the agent has either alert counter.
    has_alert_counters: bool,
}

/// What reading the cells found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The report is patched. `changed`: some value differs from the last poll; `alerts`:
    /// the alert table should be read again.
    Patched {
        /// Some value differs from the last poll.
        changed: bool,
        /// The alert table should be read again.
        alerts: bool,
    },
    /// The agent's answer was too big: ask for fewer cells at once.
    TooBig,
    /// The structure may have changed: poll in full.
    Full(&'static str),
}

/// A value as the full poll's decoder would hold it, read from the answer in place.
enum Read<'a> {
    Int(Option<i64>),
    Unsigned(u64),
    Bytes(&'a [u8]),
    /// A type the decoder reads as neither (IpAddress, OID).
    Other,
}

/// The value as [`super::snmp`] would have stored it, or `None` for what it drops (the
/// exceptions, NULL and types it does not keep).
fn read<'a>(v: &Value<'a>) -> Option<Read<'a>> {
    Some(match v {
        Value::Integer(i) => Read::Int(Some(*i)),
        Value::OctetString(b) | Value::Opaque(b) => Read::Bytes(b),
        Value::Counter32(u) | Value::Unsigned32(u) | Value::Timeticks(u) => {
            Read::Unsigned(u64::from(*u))
        }
        Value::Counter64(u) => Read::Unsigned(*u),
        Value::IpAddress(_) => Read::Other,
        // An OID the client cannot decode is dropped by the full poll too.
        Value::ObjectIdentifier(o) if super::snmp::decodes(o) => Read::Other,
        _ => return None,
    })
}

impl Read<'_> {
    /// [`mib::SnmpValue::as_i64`].
    fn int(&self) -> Option<i64> {
        match self {
            Read::Int(i) => *i,
            Read::Unsigned(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }
}

impl Plan {
    /// The cells of `report`, as found in `vars` (the full poll that made it). `None` when
    /// there is nothing to watch.
    pub fn new(vars: &Varbinds, report: &PrinterReport) -> Result<Option<Plan>, SnmpError> {
        let dev = report.device_index;
        let mut cells = Vec::new();
        let mut oids: Vec<Oid> = Vec::new();
        let mut add = |oid: Oid, kind: Kind, cells: &mut Vec<Cell>| {
            if let Some(v) = vars.get(&oid) {
                let last = match kind {
                    Kind::Uptime | Kind::ConfigChanges | Kind::AlertCounter => v.as_i64(),
                    _ => None,
                };
                cells.push(Cell { kind, last });
                oids.push(oid);
            }
        };
        let dev_cell = |entry: &[u32], c: u32, idx: &[u32]| {
            let mut o = col(entry, c);
            o.push(dev);
            o.extend_from_slice(idx);
            o
        };
        add(mib::SYS_UPTIME.to_vec(), Kind::Uptime, &mut cells);
        add(
            dev_cell(PRT_GENERAL_ENTRY, 1, &[]),
            Kind::ConfigChanges,
            &mut cells,
        );
        let before = cells.len();
        for c in [18, 19] {
            add(
                dev_cell(PRT_GENERAL_ENTRY, c, &[]),
                Kind::AlertCounter,
                &mut cells,
            );
        }
        let has_alert_counters = cells.len() > before;
        add(
            dev_cell(HR_DEVICE_ENTRY, 5, &[]),
            Kind::DeviceStatus,
            &mut cells,
        );
        add(
            dev_cell(HR_PRINTER_ENTRY, 1, &[]),
            Kind::PrinterStatus,
            &mut cells,
        );
        add(
            dev_cell(HR_PRINTER_ENTRY, 2, &[]),
            Kind::ErrorState,
            &mut cells,
        );
        for (k, s) in report.supplies.iter().enumerate() {
            add(
                dev_cell(PRT_SUPPLY_ENTRY, 9, &[s.index]),
                Kind::SupplyLevel(k),
                &mut cells,
            );
        }
        for (k, t) in report.trays.iter().enumerate() {
            add(
                dev_cell(PRT_INPUT_ENTRY, 10, &[t.index]),
                Kind::TrayLevel(k),
                &mut cells,
            );
            add(
                dev_cell(PRT_INPUT_ENTRY, 11, &[t.index]),
                Kind::TrayStatus(k),
                &mut cells,
            );
        }
        for (k, c) in report.covers.iter().enumerate() {
            add(
                dev_cell(PRT_COVER_ENTRY, 3, &[c.index]),
                Kind::CoverStatus(k),
                &mut cells,
            );
        }
        // The decoder's page counter: the first marker of the device.
        if let Some(&marker) = mib::dev_column(vars, PRT_MARKER_ENTRY, 4, dev)
            .keys()
            .next()
        {
            add(
                dev_cell(PRT_MARKER_ENTRY, 4, &[marker]),
                Kind::PageCount,
                &mut cells,
            );
        }
        if cells.is_empty() {
            return Ok(None);
        }
        let oids = oids
            .iter()
            .map(|o| encode_oid(o))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Plan {
            cells,
            oids,
            has_alert_counters,
        }))
    }

    /// The OIDs of the cells, in the order they are asked for.
    pub fn oids(&self) -> Vec<Oid> {
        self.oids.iter().filter_map(super::snmp::arcs).collect()
    }

    /// How many cells one steady-state poll reads.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether there is no cell (never: [`Plan::new`] gives `None` then).
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Reads every cell (one GET, or more when the agent says the answer is too big: `chunk`
    /// is how many cells one GET asks for, halved on tooBig and kept for the next polls) and
    /// patches `report`.
    pub async fn read(
        &mut self,
        client: &mut Client,
        report: &mut Arc<PrinterReport>,
        chunk: &mut usize,
    ) -> Result<Outcome, SnmpError> {
        let Plan {
            cells,
            oids,
            has_alert_counters,
        } = self;
        let n = cells.len();
        let (mut at, mut changed, mut alerts) = (0, false, false);
        while at < n {
            let end = (at + (*chunk).max(1)).min(n);
            let outcome = client
                .get_encoded(&oids[at..end], |status, varbinds| {
                    apply(
                        cells,
                        oids,
                        *has_alert_counters,
                        at..end,
                        status,
                        varbinds,
                        report,
                    )
                })
                .await?;
            match outcome {
                Outcome::Patched {
                    changed: c,
                    alerts: a,
                } => {
                    changed |= c;
                    alerts |= a;
                    at = end;
                }
                Outcome::TooBig if *chunk > 1 => *chunk = ((*chunk).min(end - at) / 2).max(1),
                Outcome::TooBig => return Ok(Outcome::Full("the agent cannot answer one cell")),
                full => return Ok(full),
            }
        }
        Ok(Outcome::Patched { changed, alerts })
    }
}

impl Plan {
    /// Patches `report` with `varbinds`, the answer to one GET of every cell, as
    /// [`Plan::read`] does.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn apply_answer(
        &mut self,
        error_status: u32,
        varbinds: snmp2::Varbinds<'_>,
        report: &mut Arc<PrinterReport>,
    ) -> Outcome {
        let n = self.cells.len();
        apply(
            &mut self.cells,
            &self.oids,
            self.has_alert_counters,
            0..n,
            error_status,
            varbinds,
            report,
        )
    }
}

/// Patches `report` with the answer to the GET of cells `range`.
fn apply(
    cells: &mut [Cell],
    oids: &[snmp2::Oid<'static>],
    has_alert_counters: bool,
    range: std::ops::Range<usize>,
    error_status: u32,
    varbinds: snmp2::Varbinds<'_>,
    report: &mut Arc<PrinterReport>,
) -> Outcome {
    match error_status {
        0 => {}
        1 => return Outcome::TooBig,
        _ => return Outcome::Full("the agent refused a cell"),
    }
    let mut changed = false;
    let mut alerts = false;
    let mut status_changed = false;
    let mut answered = 0;
    let start = range.start;
    for (i, (oid, value)) in varbinds.enumerate() {
        let k = start + i;
        if k >= range.end || oid.as_bytes() != oids[k].as_bytes() {
            return Outcome::Full("the agent answered another object");
        }
        let Some(v) = read(&value) else {
            return Outcome::Full("a cell is gone");
        };
        answered += 1;
        let cell = &mut cells[k];
        match cell.kind {
            Kind::Uptime => {
                let now = v.int();
                if let (Some(now), Some(last)) = (now, cell.last)
                    && now < last
                {
                    return Outcome::Full("the printer restarted");
                }
                cell.last = now;
            }
            Kind::ConfigChanges => {
                if v.int() != cell.last {
                    return Outcome::Full("the printer's configuration changed");
                }
            }
            Kind::AlertCounter => {
                let now = v.int();
                if now != cell.last {
                    cell.last = now;
                    alerts = true;
                }
            }
            Kind::DeviceStatus => {
                let now = v.int().map(DeviceStatus::from_i64);
                if report.device_status != now {
                    Arc::make_mut(report).device_status = now;
                    status_changed = true;
                }
            }
            Kind::PrinterStatus => {
                let now = v.int().map(PrinterStatus::from_i64);
                if report.printer_status != now {
                    Arc::make_mut(report).printer_status = now;
                    changed = true;
                }
            }
            Kind::ErrorState => {
                let now = match v {
                    Read::Bytes(b) => Some(b),
                    _ => None,
                };
                if report.error_state.as_deref() != now {
                    let r = Arc::make_mut(report);
                    r.error_state = now.map(<[u8]>::to_vec);
                    r.errors = now.map(mib::decode_error_state).unwrap_or_default();
                    status_changed = true;
                }
            }
            Kind::SupplyLevel(s) => {
                let level = v.int();
                let supply = &report.supplies[s];
                if supply.level != level {
                    let supply = &mut Arc::make_mut(report).supplies[s];
                    supply.level = level;
                    supply.state = SupplyState::from_level(level, supply.max);
                    changed = true;
                }
            }
            Kind::TrayLevel(t) => {
                let level = v.int();
                if report.trays[t].level != level {
                    let tray = &mut Arc::make_mut(report).trays[t];
                    tray.level = level;
                    tray.state = TrayState::from_level(level, tray.max);
                    changed = true;
                }
            }
            Kind::TrayStatus(t) => {
                let status = v.int();
                if report.trays[t].status != status {
                    Arc::make_mut(report).trays[t].status = status;
                    status_changed = true;
                }
            }
            Kind::CoverStatus(c) => {
                let status = v.int();
                if report.covers[c].status != status {
                    Arc::make_mut(report).covers[c].status = status;
                    status_changed = true;
                }
            }
            Kind::PageCount => {
                let pages = match v {
                    Read::Unsigned(u) => Some(u),
                    Read::Int(Some(i)) => u64::try_from(i).ok(),
                    _ => None,
                };
                if report.page_count != pages {
                    Arc::make_mut(report).page_count = pages;
                    changed = true;
                }
            }
        }
    }
    if answered != range.len() {
        return Outcome::Full("the agent left cells out");
    }
    let alerts = alerts || (!has_alert_counters && status_changed) || !report.alerts.is_empty();
    Outcome::Patched {
        changed: changed || status_changed || alerts,
        alerts,
    }
}
