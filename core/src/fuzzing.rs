//! Entry points of the fuzz harnesses (the `fuzz/` crate, run by `benches/fuzz.sh`), behind the
//! non-default `fuzzing` feature. For the fuzz harnesses, not a stable API.
//!
//! Each target takes arbitrary bytes, hands them to one parser the way the program does, and
//! panics only on a fault: a panic inside the parser, or a broken invariant checked here (an
//! answer that depends on how the bytes arrived, a sequential and a parallel reading that
//! disagree, a token accepted that was not signed, a percentage outside 0–100 …).
//! [`seeds`] gives each target a few inputs of its own to start from; the harness script adds
//! the project's fixtures and the real recordings and exports.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::ack::{AckSigner, token_id};
use crate::config::Config;
use crate::error::Error;
use crate::http_client::h1::{self, H1Error, Outcome, Pieces};

/// One fuzz target: its name and what runs one input.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The name (the harness binary's and the seed directory's).
    pub name: &'static str,
    /// Runs one input; panics on a fault.
    pub run: fn(&[u8]),
}

/// Every target, in the order the harness script runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "config",
        run: config,
    },
    #[cfg(feature = "tickets")]
    Target {
        name: "tickets_csv",
        run: tickets_csv,
    },
    #[cfg(feature = "tickets")]
    Target {
        name: "tickets_xlsx",
        run: tickets_xlsx,
    },
    #[cfg(feature = "probe-snmp")]
    Target {
        name: "snmprec",
        run: snmprec,
    },
    #[cfg(feature = "probe-snmp")]
    Target {
        name: "snmp_response",
        run: snmp_response,
    },
    Target {
        name: "http_response",
        run: http_response,
    },
    Target {
        name: "ack_token",
        run: ack_token,
    },
    Target {
        name: "smart_json",
        run: smart_json,
    },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|t| t.name == name).copied()
}

// ---------------------------------------------------------------------------------------------
// The TOML config.
// ---------------------------------------------------------------------------------------------

/// A config file's text through [`Config::parse`] (parse and validation); an error must name a
/// place inside the text, a config that passes must answer every per-check question.
pub fn config(data: &[u8]) {
    // Config files are read as UTF-8 text; anything else is refused before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, Path::new("fuzz.toml")) {
        Ok(config) => {
            for check in &config.checks {
                let _ = config.interval_of(check);
                let _ = config.policy_of(check);
                let _ = config.dependencies_of(check);
                let _ = check.state_policy();
            }
        }
        Err(e) => {
            let shown = e.to_string();
            let Error::Config { line, col, .. } = e else {
                panic!("a config error of another kind: {shown}");
            };
            let lines = text.split('\n').count();
            assert!(
                line <= lines && (line == 0) == (col == 0),
                "{shown}: line {line}, column {col} of {lines} lines"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Help-desk exports.
// ---------------------------------------------------------------------------------------------

/// A CSV/TSV export through ingest, read both sequentially and split across cores at record
/// boundaries (as large exports are): both readings must agree, and the counts must add up.
#[cfg(feature = "tickets")]
pub fn tickets_csv(data: &[u8]) {
    use crate::tickets::ingest::{IngestOptions, IngestSummary, read_bytes_with};
    let options = IngestOptions::default();
    let read = |split_min| {
        let mut tickets = Vec::new();
        let mut summary = IngestSummary::default();
        let result = read_bytes_with(
            "export.csv",
            data,
            &options,
            &mut tickets,
            &mut summary,
            split_min,
        );
        (result.map_err(|e| e.to_string()), tickets, summary)
    };
    let (result, tickets, summary) = read(usize::MAX);
    check_ingest(&tickets, &summary, result.is_ok(), options.max_problems);
    let (split_result, split_tickets, split_summary) = read(0);
    assert_eq!(result, split_result, "the split reading ended differently");
    assert_eq!(
        tickets, split_tickets,
        "the split reading found other tickets"
    );
    assert_eq!(
        serde_json::to_value(&summary).expect("a summary serialises"),
        serde_json::to_value(&split_summary).expect("a summary serialises"),
        "the split reading summed up differently"
    );
}

/// A workbook through ingest; the counts must add up. An even first byte: the rest is the
/// file (XLSX, XLSM, XLS, ODS). An odd one: the rest is an XLSX's worksheet XML, then
/// optionally after a NUL its shared strings, then after another its styles, put into a
/// workbook here (so mutations reach the sheet's cells rather than the ZIP's checksums).
#[cfg(feature = "tickets")]
pub fn tickets_xlsx(data: &[u8]) {
    use crate::tickets::ingest::{IngestOptions, IngestSummary, read_workbook_bytes};
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let built;
    let file = if mode & 1 == 0 {
        rest
    } else {
        let mut parts = rest.splitn(3, |b| *b == 0);
        let sheet = parts.next().unwrap_or_default();
        built = xlsx_of(sheet, parts.next(), parts.next().unwrap_or(XLSX_STYLES));
        &built[..]
    };
    let options = IngestOptions::default();
    let mut tickets = Vec::new();
    let mut summary = IngestSummary::default();
    let Some(result) = unless_known_upstream_panic(|| {
        read_workbook_bytes("export.xlsx", file, &options, &mut tickets, &mut summary)
    }) else {
        return;
    };
    check_ingest(&tickets, &summary, result.is_ok(), options.max_problems);
}

/// Panics of dependencies that are known upstream and not fixed in a release yet, by the end
/// of the source file's path and the message: an input raising one is skipped rather than
/// reported again. Each names its upstream report; remove it once a release has the fix.
const KNOWN_UPSTREAM_PANICS: &[(&str, &str, &str)] = &[
    // calamine 0.38.0, the latest release: an overlong cell reference ("AAAAAAAA1",
    // "A99999999999") overflows u32 while it is read. With overflow checks (the fuzz build) a
    // panic; in a release build a wrapped position, which ingest copes with (it reads XLSX
    // sheets cell by cell, so no position makes it allocate more than the cells present).
    // https://github.com/tafia/calamine/issues/694, fix in pull request 696.
    ("calamine-", "/src/xlsx/mod.rs", "with overflow"),
];

/// Runs `f`; `None` when it raised a panic of [`KNOWN_UPSTREAM_PANICS`], any other panic goes
/// on (to the fuzzer: a crash).
fn unless_known_upstream_panic<R>(f: impl FnOnce() -> R) -> Option<R> {
    use std::cell::Cell;
    use std::sync::Once;
    thread_local! {
        static KNOWN: Cell<bool> = const { Cell::new(false) };
    }
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let known = info.location().is_some_and(|at| {
                KNOWN_UPSTREAM_PANICS.iter().any(|(krate, file, message)| {
                    at.file().contains(krate)
                        && at.file().ends_with(file)
                        && info.payload_as_str().is_some_and(|m| m.contains(message))
                })
            });
            if known {
                KNOWN.set(true);
            } else {
                previous(info);
            }
        }));
    });
    KNOWN.set(false);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(_) if KNOWN.get() => None,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Styles with a date format (cell style 1), as spreadsheet programs write dates.
#[cfg(feature = "tickets")]
pub(crate) const XLSX_STYLES: &[u8] = br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/></numFmts><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>"#;

/// An XLSX file (a ZIP of stored entries) of one worksheet with these parts.
#[cfg(feature = "tickets")]
pub(crate) fn xlsx_of(sheet: &[u8], shared_strings: Option<&[u8]>, styles: &[u8]) -> Vec<u8> {
    const MAIN: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml";
    const RELS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let types = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="{MAIN}.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="{MAIN}.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="{MAIN}.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="{MAIN}.sharedStrings+xml"/></Types>"#
    );
    let root_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
    );
    let workbook = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="{RELS}"><sheets><sheet name="Tickets" sheetId="1" r:id="rId1"/></sheets></workbook>"#
    );
    let workbook_rels = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{RELS}/styles" Target="styles.xml"/><Relationship Id="rId3" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#
    );
    let mut files: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", types.as_bytes()),
        ("_rels/.rels", root_rels.as_bytes()),
        ("xl/workbook.xml", workbook.as_bytes()),
        ("xl/_rels/workbook.xml.rels", workbook_rels.as_bytes()),
        ("xl/styles.xml", styles),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    if let Some(strings) = shared_strings {
        files.push(("xl/sharedStrings.xml", strings));
    }
    stored_zip(&files)
}

/// A ZIP archive of `files`, stored (not compressed).
#[cfg(feature = "tickets")]
fn stored_zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    fn u16le(out: &mut Vec<u8>, v: usize) {
        out.extend_from_slice(&u16::try_from(v).unwrap_or(u16::MAX).to_le_bytes());
    }
    fn u32le(out: &mut Vec<u8>, v: usize) {
        out.extend_from_slice(&u32::try_from(v).unwrap_or(u32::MAX).to_le_bytes());
    }
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = out.len();
        let crc = crc32(data) as usize;
        // Local header: signature, version 2.0, no flags, stored, 1980-01-01 00:00.
        for (part, at) in [(&mut out, None), (&mut central, Some(offset))] {
            if at.is_none() {
                u32le(part, 0x0403_4b50);
            } else {
                u32le(part, 0x0201_4b50);
                u16le(part, 20);
            }
            for v in [20, 0, 0, 0, 0x21] {
                u16le(part, v);
            }
            u32le(part, crc);
            u32le(part, data.len());
            u32le(part, data.len());
            u16le(part, name.len());
            u16le(part, 0);
            if let Some(offset) = at {
                // Comment, disk, internal and external attributes, where the entry starts.
                for v in [0, 0, 0] {
                    u16le(part, v);
                }
                u32le(part, 0);
                u32le(part, offset);
            }
            part.extend_from_slice(name.as_bytes());
        }
        out.extend_from_slice(data);
    }
    let directory_at = out.len();
    let directory_len = central.len();
    out.extend_from_slice(&central);
    u32le(&mut out, 0x0605_4b50);
    for v in [0, 0, files.len(), files.len()] {
        u16le(&mut out, v);
    }
    u32le(&mut out, directory_len);
    u32le(&mut out, directory_at);
    u16le(&mut out, 0);
    out
}

/// CRC-32 (IEEE), as ZIP checks it.
#[cfg(feature = "tickets")]
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// What holds after reading one export.
#[cfg(feature = "tickets")]
fn check_ingest(
    tickets: &[crate::tickets::Ticket],
    summary: &crate::tickets::IngestSummary,
    ok: bool,
    max_problems: usize,
) {
    assert_eq!(
        summary.read,
        summary.accepted + summary.folded + summary.skipped,
        "rows read are accepted, folded into another row's ticket or skipped: {summary:?}"
    );
    assert_eq!(
        tickets.len() as u64,
        summary.accepted,
        "one ticket per row accepted"
    );
    assert_eq!(
        summary.reasons.values().sum::<u64>(),
        summary.skipped,
        "every skipped row has its reason"
    );
    assert!(summary.problems.len() <= max_problems);
    assert_eq!(
        summary.problems.len() as u64,
        summary.skipped.min(max_problems as u64),
        "the first skipped rows are kept in detail"
    );
    if ok {
        assert_eq!(summary.files.len(), 1, "one file summary per file read");
        assert_eq!(summary.files[0].read, summary.read);
        assert_eq!(summary.files[0].folded, summary.folded);
        assert_eq!(summary.files[0].skipped, summary.skipped);
    } else {
        assert!(
            tickets.is_empty() && summary.read == 0,
            "an error reads no row"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Printers: snmprec recordings and SNMP responses.
// ---------------------------------------------------------------------------------------------

/// A printer of our own, in snmprec form: the state a steady-state poll patches in
/// [`snmp_response`] (two toners, a waste box, two trays, a cover, the counters).
#[cfg(feature = "probe-snmp")]
pub const STEADY_PRINTER: &str = "\
1.3.6.1.2.1.1.1.0|4|Lab Printer 9000; firmware 3.2
1.3.6.1.2.1.1.3.0|67|5000
1.3.6.1.2.1.1.5.0|4|lab-printer
1.3.6.1.2.1.25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.5
1.3.6.1.2.1.25.3.2.1.5.1|2|2
1.3.6.1.2.1.25.3.5.1.1.1|2|3
1.3.6.1.2.1.25.3.5.1.2.1|4x|00
1.3.6.1.2.1.43.5.1.1.1.1|65|3
1.3.6.1.2.1.43.5.1.1.18.1|65|1
1.3.6.1.2.1.43.5.1.1.19.1|65|4
1.3.6.1.2.1.43.6.1.1.2.1.1|4|Side Door
1.3.6.1.2.1.43.6.1.1.3.1.1|2|4
1.3.6.1.2.1.43.8.2.1.9.1.1|2|250
1.3.6.1.2.1.43.8.2.1.9.1.2|2|1
1.3.6.1.2.1.43.8.2.1.10.1.1|2|120
1.3.6.1.2.1.43.8.2.1.10.1.2|2|-3
1.3.6.1.2.1.43.8.2.1.11.1.1|2|0
1.3.6.1.2.1.43.8.2.1.11.1.2|2|0
1.3.6.1.2.1.43.8.2.1.13.1.1|4|Cassette 1
1.3.6.1.2.1.43.8.2.1.13.1.2|4|Bypass Tray
1.3.6.1.2.1.43.10.2.1.4.1.1|65|48213
1.3.6.1.2.1.43.11.1.1.4.1.1|2|3
1.3.6.1.2.1.43.11.1.1.4.1.2|2|3
1.3.6.1.2.1.43.11.1.1.4.1.3|2|4
1.3.6.1.2.1.43.11.1.1.5.1.1|2|3
1.3.6.1.2.1.43.11.1.1.5.1.2|2|3
1.3.6.1.2.1.43.11.1.1.5.1.3|2|5
1.3.6.1.2.1.43.11.1.1.6.1.1|4|Black Toner
1.3.6.1.2.1.43.11.1.1.6.1.2|4|Cyan Toner
1.3.6.1.2.1.43.11.1.1.6.1.3|4|Waste Toner Box
1.3.6.1.2.1.43.11.1.1.7.1.1|2|19
1.3.6.1.2.1.43.11.1.1.7.1.2|2|13
1.3.6.1.2.1.43.11.1.1.7.1.3|2|19
1.3.6.1.2.1.43.11.1.1.8.1.1|2|100
1.3.6.1.2.1.43.11.1.1.8.1.2|2|12000
1.3.6.1.2.1.43.11.1.1.8.1.3|2|100
1.3.6.1.2.1.43.11.1.1.9.1.1|2|64
1.3.6.1.2.1.43.11.1.1.9.1.2|2|1500
1.3.6.1.2.1.43.11.1.1.9.1.3|2|-3
";

/// An snmpsim recording through the printer probe's decoding: the report, the steady-state
/// plan made from it, and the probe's observations of it (twice, a day apart, for the
/// forecast).
#[cfg(feature = "probe-snmp")]
pub fn snmprec(data: &[u8]) {
    use crate::probe::printer::{mib, steady};
    let vars = mib::parse_snmprec(&String::from_utf8_lossy(data));
    let report = mib::decode(&vars);
    if let Ok(Some(plan)) = steady::Plan::new(&vars, &report) {
        assert_eq!(plan.oids().len(), plan.len(), "every cell's OID reads back");
    }
    observe(&report);
}

/// The raw bytes of an SNMP message, as an agent's answer arrives on the socket: read the way
/// the probe reads a full poll's answers (then decoded and observed), and as the answer to a
/// steady-state poll of [`STEADY_PRINTER`], whose patched report must equal a full poll's of
/// the same values. The first byte picks v1/v2c or v3 (no authentication) parsing.
#[cfg(feature = "probe-snmp")]
pub fn snmp_response(data: &[u8]) {
    let _ = snmp_answer(data);
}

/// [`snmp_response`], saying what the steady-state poll made of the answer (`None` when it did
/// not parse).
#[cfg(feature = "probe-snmp")]
fn snmp_answer(data: &[u8]) -> Option<crate::probe::printer::steady::Outcome> {
    use crate::probe::printer::{mib, snmp, steady};
    let (&mode, message) = data.split_first()?;
    let mut security = snmp2::v3::Security::new(b"fuzz", b"")
        .with_auth(snmp2::v3::Auth::NoAuthNoPriv)
        .with_engine_id(SNMP_ENGINE)
        .expect("an engine id")
        .with_engine_boots_and_time(1, 1000);
    let pdu = if mode & 1 == 0 {
        snmp2::Pdu::from_bytes(message)
    } else {
        snmp2::Pdu::from_bytes_with_security(message, Some(&mut security))
    };
    let pdu = pdu.ok()?;
    // A full poll's GET: the objects the agent has.
    let answer = snmp::to_response(pdu.clone());
    let mut vars = mib::Varbinds::new();
    if answer.error_status == 0 {
        for (oid, value) in &answer.vars {
            if *value != mib::SnmpValue::Null {
                vars.insert(oid.clone(), value.clone());
            }
        }
    }
    let report = mib::decode(&vars);
    let _ = steady::Plan::new(&vars, &report);
    observe(&report);

    // A steady-state poll of the printer of our own.
    let base = mib::parse_snmprec(STEADY_PRINTER);
    let before = mib::decode(&base);
    let mut plan = steady::Plan::new(&base, &before)
        .expect("the printer's cells encode")
        .expect("the printer has cells");
    let mut patched = Arc::new(before.clone());
    let outcome = plan.apply_answer(pdu.error_status, pdu.varbinds, &mut patched);
    match outcome {
        steady::Outcome::Patched { changed, .. } => {
            // The same values read by a full poll.
            let mut full = base;
            full.extend(answer.vars);
            let expected = mib::decode(&full);
            assert_eq!(
                *patched, expected,
                "a steady-state poll's report differs from a full poll's of the same values"
            );
            if !changed {
                assert_eq!(*patched, before, "unchanged, yet patched");
            }
        }
        steady::Outcome::TooBig => {
            assert_eq!(*patched, before, "a refused answer patched the report");
        }
        // The probe polls in full then, and the half-patched report is dropped.
        steady::Outcome::Full(_) => {}
    }
    Some(outcome)
}

/// The SNMPv3 engine id [`snmp_response`] knows its agent by.
#[cfg(feature = "probe-snmp")]
const SNMP_ENGINE: &[u8] = &[0x80, 0x00, 0x1f, 0x88, 0x04, b'f', b'u', b'z', b'z'];

/// The printer probe's observation of `report`, twice a day apart; every number must be finite
/// and every percentage within 0–100.
#[cfg(feature = "probe-snmp")]
fn observe(report: &crate::probe::printer::PrinterReport) {
    use crate::probe::CheckContext;
    use crate::probe::printer::PrinterConfig;
    static HTTP: std::sync::OnceLock<crate::http_client::HttpClient> = std::sync::OnceLock::new();
    let clock = crate::clock::ManualClock::new(fuzz_epoch());
    let cx = CheckContext {
        check: Arc::from("printer"),
        timeout: std::time::Duration::from_secs(10),
        clock: Arc::new(clock.clone()),
        zone: crate::clock::Zone::named("UTC").expect("UTC is a zone"),
        http: HTTP.get_or_init(Default::default).clone(),
        history: None,
    };
    let probe = PrinterConfig::new("printer.example")
        .build()
        .expect("the default printer config builds");
    for _ in 0..2 {
        let obs = probe.observe(&cx, report);
        assert!(!obs.summary.is_empty(), "an observation says something");
        for (name, m) in &obs.metrics {
            assert!(m.value.is_finite(), "{name} = {}", m.value);
            if m.unit == "%" {
                assert!((0.0..=100.0).contains(&m.value), "{name} = {} %", m.value);
            }
        }
        clock.advance(std::time::Duration::from_secs(86_400));
    }
}

/// 2026-09-01 08:00 UTC: the time the targets that need one run at.
fn fuzz_epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(1_788_249_600, 0).expect("in range")
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 responses.
// ---------------------------------------------------------------------------------------------

/// The bytes a server sends, read by the `http` probe's transport (head, interim responses,
/// body framing: length, chunks, to the close). The first byte holds the options: a HEAD
/// request, whether the body is kept, and how many bytes arrive per read. The response must
/// read the same whether it arrives at once or in pieces, and a kept body stays within its
/// cap.
pub fn http_response(data: &[u8]) {
    let Some((&options, wire)) = data.split_first() else {
        return;
    };
    let head_request = options & 1 != 0;
    let want_body = options & 2 != 0;
    let step = usize::from(options >> 2) + 1;
    // A cap above the input's length is never reached.
    let open = wire.len() + 1;
    let whole = h1::read_ready(
        &mut Pieces::new(wire, wire.len()),
        head_request,
        want_body,
        open,
    );
    check_response(&whole, head_request, want_body, open);
    let pieces = h1::read_ready(&mut Pieces::new(wire, step), head_request, want_body, open);
    // A head larger than the limit may be refused or not depending on where the reads end.
    if wire.len() <= 64 * 1024 {
        assert_eq!(
            describe(&whole),
            describe(&pieces),
            "the response reads differently in pieces of {step} bytes"
        );
    }
    let cap = 16;
    let capped = h1::read_ready(&mut Pieces::new(wire, step), head_request, want_body, cap);
    check_response(&capped, head_request, want_body, cap);
}

fn check_response(
    outcome: &Result<Outcome, H1Error>,
    head_request: bool,
    want_body: bool,
    cap: usize,
) {
    let Ok(Outcome::Done(response, _, _)) = outcome else {
        return;
    };
    assert!(
        !(100..200).contains(&response.status) || response.status == 101,
        "an interim response {} was taken for the answer",
        response.status
    );
    match &response.body {
        Some(body) => {
            assert!(want_body, "a body kept that was not asked for");
            assert!(
                body.len() <= cap,
                "a body of {} bytes over a cap of {cap}",
                body.len()
            );
            assert!(!head_request || body.is_empty(), "a body after HEAD");
        }
        None => assert!(!want_body, "no body kept although asked for"),
    }
}

fn describe(outcome: &Result<Outcome, H1Error>) -> String {
    match outcome {
        Ok(Outcome::Done(response, location, reusable)) => format!(
            "{} {:?} location {location:?} reusable {reusable}",
            response.status, response.body
        ),
        Ok(Outcome::ClosedEarly(e)) => format!("closed early: {e}"),
        Err(e) => format!("{e:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Acknowledgement tokens.
// ---------------------------------------------------------------------------------------------

/// The secret the token target signs with.
const ACK_SECRET: &[u8] = b"a secret for the fuzz target only";

/// Acknowledgement tokens. The input as a link's token: accepted only when it is exactly a
/// token we signed, for an incident, not expired. And, when it is long enough, as what is
/// signed (incident id, expiry) and one character to change: the signed token is accepted
/// exactly when it should be, and the changed one never.
pub fn ack_token(data: &[u8]) {
    let signer = AckSigner::new(ACK_SECRET).expect("a long enough secret");
    let now = fuzz_epoch();
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(verdict) = signer.check(text, now)
    {
        assert_eq!(
            signer.sign(verdict.incident_id, verdict.expires_at),
            text.trim(),
            "a token accepted that is not the one we sign"
        );
        assert!(verdict.incident_id > 0 && verdict.expires_at > now);
        assert_eq!(verdict.token_id, token_id(text));
    }
    let Some((signed, change)) = data.split_first_chunk::<16>() else {
        return;
    };
    let id = i64::from_be_bytes(signed[..8].try_into().expect("8 bytes"));
    let expiry = i64::from_be_bytes(signed[8..].try_into().expect("8 bytes"));
    let Some(expires_at) = DateTime::<Utc>::from_timestamp(expiry, 0) else {
        return;
    };
    let token = signer.sign(id, expires_at);
    match signer.check(&token, now) {
        Ok(v) => {
            assert!(id > 0 && expires_at > now, "accepted: {v:?}");
            assert_eq!((v.incident_id, v.expires_at), (id, expires_at));
            assert_eq!(v.token_id, token_id(&token));
        }
        Err(e) => assert!(id <= 0 || expires_at <= now, "refused: {e}"),
    }
    if let [at, with, ..] = change {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut bytes = token.into_bytes();
        let at = usize::from(*at) % bytes.len();
        let mut k = usize::from(*with) % ALPHABET.len();
        if ALPHABET[k] == bytes[at] {
            k = (k + 1) % ALPHABET.len();
        }
        bytes[at] = ALPHABET[k];
        let changed = String::from_utf8(bytes).expect("base64 is ASCII");
        assert!(
            signer.check(&changed, now).is_err(),
            "a changed token was accepted: {changed}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// smartctl's JSON.
// ---------------------------------------------------------------------------------------------

/// smartctl's JSON output of one disk through the `smart` probe's decoder and verdict, with
/// and without an exit code. An answer is judged exactly when it says something about the
/// disk (else it is Unknown with a reason); every finding has words; the decoded health goes
/// through JSON and back unchanged.
pub fn smart_json(data: &[u8]) {
    use crate::probe::Status;
    use crate::probe::smart::{Device, DiskHealth, assess, health, verdict};
    let device = Device::new("/dev/sda");
    for code in [None, data.first().map(|b| i32::from(*b))] {
        let r = assess(&device, data, code, 90);
        match &r.health {
            Some(h) => {
                assert!(h.is_usable());
                let findings = verdict::judge(h, 90);
                let worst = findings.iter().fold(Status::Ok, |s, f| s.worst(f.status));
                assert_eq!(worst, r.status);
                assert!(findings.iter().all(|f| !f.text.is_empty()));
                let json = serde_json::to_string(h).expect("serialisable");
                let back: DiskHealth = serde_json::from_str(&json).expect("reads back");
                assert_eq!(&back, h);
            }
            None => {
                assert_eq!(r.status, Status::Unknown);
                assert!(r.reasons.len() == 1 && !r.reasons[0].is_empty(), "{r:?}");
            }
        }
    }
    if let Ok(h) = health::decode(data) {
        assert!(h.attributes.iter().all(|a| !a.name.is_empty()));
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds.
// ---------------------------------------------------------------------------------------------

/// Inputs of our own for `target` to start from (name, bytes). The harness script adds the
/// fixtures and real recordings; these cover what no file holds: HTTP responses, tokens, SNMP
/// answers, and small exports and worksheets of every help-desk system ingest knows.
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    match target {
        "http_response" => http_seeds(),
        "ack_token" => ack_seeds(),
        "smart_json" => smart_seeds(),
        #[cfg(feature = "probe-snmp")]
        "snmp_response" => snmp_seeds(),
        #[cfg(feature = "probe-snmp")]
        "snmprec" => vec![("steady_printer".into(), STEADY_PRINTER.as_bytes().to_vec())],
        #[cfg(feature = "tickets")]
        "tickets_csv" => csv_seeds(),
        #[cfg(feature = "tickets")]
        "tickets_xlsx" => xlsx_seeds(),
        _ => Vec::new(),
    }
}

/// Answers of smartctl no fixture holds: the shapes its JSON takes when it has little to say.
fn smart_seeds() -> Vec<(String, Vec<u8>)> {
    [
        ("health_only", r#"{"device":{"name":"/dev/sda","protocol":"ATA"},"smart_status":{"passed":false}}"#),
        ("scan", r#"{"devices":[{"name":"/dev/sda","type":"sat","protocol":"ATA"}]}"#),
        ("permission", r#"{"smartctl":{"messages":[{"string":"Smartctl open device: /dev/sda failed: Permission denied","severity":"error"}],"exit_status":2}}"#),
        ("nvme_bits", r#"{"device":{"protocol":"NVMe"},"nvme_smart_health_information_log":{"critical_warning":31,"available_spare":0,"available_spare_threshold":10,"percentage_used":255,"media_errors":1}}"#),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_owned(), t.as_bytes().to_vec()))
    .collect()
}

/// Small exports of our own, one per help-desk system and text quirk ingest handles: GLPI in
/// French (`;`, day-first dates, HTML entities, a category path), osTicket, Zammad,
/// Freshservice, a Google Forms sheet, a ServiceNow event log folded per incident, the 4TU log,
/// and a generic export with a BOM, CR LF line ends, quoted line breaks, missing-value markers
/// and Excel serial dates; one in Windows-1252 and one in UTF-16 with tabs.
#[cfg(feature = "tickets")]
fn csv_seeds() -> Vec<(String, Vec<u8>)> {
    let texts: &[(&str, &str)] = &[
        (
            "glpi_fr",
            "\"ID\";\"Titre\";\"Entité\";\"Date d'ouverture\";\"Date de résolution\";\"Catégorie\";\"Lieu\";\"Statut\"\n\
             \"1204\";\"Imprimante en panne\";\"Collège Jules Ferry\";\"03/09/2025 08:05\";\"04/09/2025 10:00\";\"Matériel &gt; Imprimante\";\"Salle 12\";\"Clos\"\n\
             \"1205\";\"<p>Wi-Fi lent</p>\";\"Collège Jules Ferry\";\"13/09/2025 14:30\";\"\";\"Réseau &gt; Wi-Fi\";\"CDI\";\"En cours\"\n",
        ),
        (
            "osticket",
            "Ticket Number,Subject,From Email,Help Topic,Department,Current Status,Date Created\n\
             884213,Projector in room 12 flickers,t.smith@school.example,AV Equipment,Westfield High,Open,2025-09-03 08:05:00\n\
             884214,Password reset,,Accounts,Westfield High,Closed,09/04/2025 1:15 pm\n",
        ),
        (
            "zammad",
            "Number,Title,State,Group,Owner,Customer,Organization,Created at,Closed at\n\
             31001,Chromebook will not charge,closed,Devices,A. Agent,Pupil 7,Lincoln Elementary,2025-09-02T07:58:00Z,2025-09-02T12:00:00Z\n",
        ),
        (
            "freshservice",
            "Ticket ID,Subject,Requester Email,Created Time,Resolved Time,Initial Response Time,Category,Sub Category,Location\n\
             #SR-77,Smartboard pen missing,j.doe@district.example,2025-09-05 09:00:00,2025-09-05 11:30:00,2025-09-05 09:10:00,Classroom,Smartboard,Room 4\n",
        ),
        (
            "google_forms",
            "Timestamp,Email Address,Which school?,What kind of device?,Describe the problem,How urgent is it?\n\
             9/3/2025 8:05:12,teacher@school.example,Oak Middle,Projector,\"It turns off\nafter 5 minutes\",Today\n",
        ),
        (
            "servicenow_events",
            "number,incident_state,sys_mod_count,reopen_count,opened_at,sys_updated_at,assignment_group,resolved_at\n\
             INC0000045,New,0,0,2016-02-29 01:16,2016-02-29 01:23,?,?\n\
             INC0000045,Active,1,0,2016-02-29 01:16,2016-02-29 08:53,Group 56,?\n\
             INC0000045,Closed,2,0,2016-02-29 01:16,2016-03-05 12:00,Group 24,2016-03-04 11:29\n",
        ),
        (
            "helpdesk_4tu",
            "ticket_id,created_at,first_taken_at,n_events,had_wait,first_resource\n\
             T1,2010-01-04 09:12:00,2010-01-04 09:40:00,4,1,Value 1\n",
        ),
        (
            "generic_crlf_bom",
            "\u{feff}id,created,title,status,resolved\r\n\
             1,45902.34305555555,\"Laptop \"\"hinge\"\" cracked\",N/A,-\r\n\
             \r\n\
             2,2025-09-02,\"multi\r\nline\",NULL,0000-00-00 00:00:00\r\n\
             3,not a date,short\r\n",
        ),
    ];
    let mut out: Vec<(String, Vec<u8>)> = texts
        .iter()
        .map(|(name, text)| ((*name).to_string(), text.as_bytes().to_vec()))
        .collect();
    // "Catégorie" and "Lieu" in Windows-1252: é is one byte.
    out.push((
        "glpi_windows_1252".into(),
        b"ID;Titre;Cat\xe9gorie;Lieu;Date d'ouverture\n7;Vid\xe9oprojecteur;Mat\xe9riel;Salle 3;01/10/2025 08:00\n"
            .to_vec(),
    ));
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            "id\tcreated\ttitle\n9\t2025-10-01 08:00\tToner\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    out.push(("generic_utf16_tabs".into(), utf16));
    out
}

/// Worksheets of our own, in the form [`tickets_xlsx`] puts into a workbook: a GLPI-like
/// export with shared strings and date cells, and an osTicket-like one with inline strings and
/// dates as text.
#[cfg(feature = "tickets")]
fn xlsx_seeds() -> Vec<(String, Vec<u8>)> {
    const SHEET: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#;
    let glpi_sheet = format!(
        r#"{SHEET}<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c><c r="F1" t="s"><v>5</v></c></row><row r="2"><c r="A2"><v>1204</v></c><c r="B2" t="s"><v>6</v></c><c r="C2" s="1"><v>45902.34305555555</v></c><c r="D2" s="2"><v>45904</v></c><c r="E2" t="s"><v>7</v></c><c r="F2" t="s"><v>8</v></c></row><row r="3"><c r="A3"><v>1205</v></c><c r="B3" t="s"><v>9</v></c><c r="C3" s="1"><v>45903.5</v></c><c r="D3"/><c r="E3" t="s"><v>7</v></c><c r="F3" t="b"><v>1</v></c></row><row r="5"><c r="A5" t="e"><v>#N/A</v></c><c r="C5" t="str"><v>2025-09-04 10:15</v></c></row></sheetData></worksheet>"#
    );
    let glpi_strings = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="10" uniqueCount="10"><si><t>ID</t></si><si><t>Titre</t></si><si><t>Date d'ouverture</t></si><si><t>Date de résolution</t></si><si><t>Catégorie</t></si><si><t>Lieu</t></si><si><t>Imprimante en panne</t></si><si><t>Matériel &gt; Imprimante</t></si><si><r><t>École </t></r><r><t>Jules Ferry</t></r></si><si><t xml:space="preserve"> Wi-Fi lent </t></si></sst>"#;
    let osticket_sheet = format!(
        r#"{SHEET}<row r="1"><c r="A1" t="inlineStr"><is><t>Ticket Number</t></is></c><c r="B1" t="inlineStr"><is><t>Subject</t></is></c><c r="C1" t="inlineStr"><is><t>Create Date</t></is></c><c r="D1" t="inlineStr"><is><t>Help Topic</t></is></c><c r="E1" t="inlineStr"><is><t>Department</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>884213</t></is></c><c r="B2" t="inlineStr"><is><t>Projector in room 12 flickers</t></is></c><c r="C2" t="inlineStr"><is><t>03/09/2025 8:05 am</t></is></c><c r="D2" t="inlineStr"><is><t>AV Equipment</t></is></c><c r="E2" t="inlineStr"><is><t>Westfield High</t></is></c></row><row r="3"><c r="A3"><v>884214</v></c><c r="B3" t="inlineStr"><is><t>&lt;p&gt;Password reset&lt;/p&gt;</t></is></c><c r="C3"><v>-1</v></c></row></sheetData></worksheet>"#
    );
    let seed = |sheet: &str, strings: Option<&str>| {
        let mut data = vec![1];
        data.extend_from_slice(sheet.as_bytes());
        if let Some(strings) = strings {
            data.push(0);
            data.extend_from_slice(strings.as_bytes());
        }
        data
    };
    let mut whole = vec![0];
    whole.extend(xlsx_of(
        glpi_sheet.as_bytes(),
        Some(glpi_strings.as_bytes()),
        XLSX_STYLES,
    ));
    vec![
        ("glpi_sheet".into(), seed(&glpi_sheet, Some(glpi_strings))),
        ("osticket_sheet".into(), seed(&osticket_sheet, None)),
        ("glpi_workbook".into(), whole),
    ]
}

fn http_seeds() -> Vec<(String, Vec<u8>)> {
    let responses: &[(&str, &[u8])] = &[
        ("length", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"),
        (
            "chunked",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n",
        ),
        ("to_the_close", b"HTTP/1.0 200 OK\r\nServer: lab\r\n\r\nuntil the end"),
        (
            "interim",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        ),
        (
            "redirect",
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://portal.example/login\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        ),
        (
            "keep_alive_1_0",
            b"HTTP/1.0 503 Service Unavailable\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\nbusy",
        ),
        (
            "gzip_then_chunked",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        ),
        ("switching", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"),
        ("not_modified", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n"),
    ];
    let mut out = Vec::new();
    for (name, wire) in responses {
        // Body kept, a few bytes per read; and a HEAD request read at once.
        for (suffix, options) in [("", 2 | (6 << 2)), ("_head", 1 | (63 << 2))] {
            let mut data = vec![options];
            data.extend_from_slice(wire);
            out.push((format!("{name}{suffix}"), data));
        }
    }
    out
}

fn ack_seeds() -> Vec<(String, Vec<u8>)> {
    let signer = AckSigner::new(ACK_SECRET).expect("a long enough secret");
    let now = fuzz_epoch();
    let week = chrono::Duration::days(7);
    let mut out = vec![
        (
            "valid_link".into(),
            signer.sign(42, now + week).into_bytes(),
        ),
        (
            "expired_link".into(),
            signer.sign(42, now - week).into_bytes(),
        ),
        (
            "other_secret".into(),
            AckSigner::new(b"another secret, also long enough")
                .expect("a long enough secret")
                .sign(42, now + week)
                .into_bytes(),
        ),
    ];
    let mut signed = Vec::new();
    signed.extend_from_slice(&7i64.to_be_bytes());
    signed.extend_from_slice(&(now + week).timestamp().to_be_bytes());
    signed.extend_from_slice(&[3, 17]);
    out.push(("signed_and_changed".into(), signed));
    out
}

/// Answers to the steady-state GET of [`STEADY_PRINTER`] (every cell, current values and
/// changed levels and statuses; v2c, v1 and v3), an error answer, and a full poll's GETBULK
/// answer.
#[cfg(feature = "probe-snmp")]
fn snmp_seeds() -> Vec<(String, Vec<u8>)> {
    use crate::probe::printer::{mib, steady};
    use mib::SnmpValue;
    let base = mib::parse_snmprec(STEADY_PRINTER);
    let report = mib::decode(&base);
    let plan = steady::Plan::new(&base, &report)
        .expect("the printer's cells encode")
        .expect("the printer has cells");
    let current: Vec<(mib::Oid, SnmpValue)> = plan
        .oids()
        .into_iter()
        .map(|o| {
            let v = base[&o].clone();
            (o, v)
        })
        .collect();
    let changed: Vec<(mib::Oid, SnmpValue)> = current
        .iter()
        .map(|(o, v)| {
            let v = match v {
                SnmpValue::Integer(i) => SnmpValue::Integer(i / 2 - 1),
                SnmpValue::OctetString(_) => SnmpValue::OctetString(vec![0x84, 0x02]),
                other => other.clone(),
            };
            (o.clone(), v)
        })
        .collect();
    let bulk: Vec<(mib::Oid, SnmpValue)> = base.clone().into_iter().take(24).collect();
    let plain = |version: i64, status: i64, vars: &[(mib::Oid, SnmpValue)]| {
        let mut data = vec![0];
        data.extend(snmp_message(version, status, vars));
        data
    };
    let mut v3 = vec![1];
    v3.extend(snmp_message(3, 0, &current));
    vec![
        ("steady_current_v2c".into(), plain(1, 0, &current)),
        ("steady_changed_v2c".into(), plain(1, 0, &changed)),
        ("steady_current_v1".into(), plain(0, 0, &current)),
        ("steady_too_big".into(), plain(1, 1, &[])),
        ("steady_current_v3".into(), v3),
        ("full_poll_bulk".into(), plain(1, 0, &bulk)),
    ]
}

/// A GetResponse with `vars`: v1 (0), v2c (1) with the community `public`, or v3 (3) from
/// [`SNMP_ENGINE`] to the user `fuzz` without authentication.
#[cfg(feature = "probe-snmp")]
fn snmp_message(
    version: i64,
    error_status: i64,
    vars: &[(
        crate::probe::printer::mib::Oid,
        crate::probe::printer::mib::SnmpValue,
    )],
) -> Vec<u8> {
    use crate::probe::printer::mib::SnmpValue;
    let mut list = Vec::new();
    for (oid, value) in vars {
        let encoded = match value {
            SnmpValue::Integer(i) => ber_int(0x02, *i),
            SnmpValue::OctetString(b) => ber(0x04, b),
            SnmpValue::ObjectId(o) => ber_oid(o),
            SnmpValue::Unsigned(u) if *u <= u64::from(u32::MAX) => ber_unsigned(0x42, *u),
            SnmpValue::Unsigned(u) => ber_unsigned(0x46, *u),
            SnmpValue::IpAddress(a) => ber(0x40, a),
            SnmpValue::Null => ber(0x05, &[]),
        };
        list.extend(ber(0x30, &[ber_oid(oid), encoded].concat()));
    }
    let pdu = ber(
        0xa2,
        &[
            ber_int(0x02, 4242),
            ber_int(0x02, error_status),
            ber_int(0x02, 0),
            ber(0x30, &list),
        ]
        .concat(),
    );
    if version != 3 {
        return ber(
            0x30,
            &[ber_int(0x02, version), ber(0x04, b"public"), pdu].concat(),
        );
    }
    let global = ber(
        0x30,
        &[
            ber_int(0x02, 4242),
            ber_int(0x02, 65_507),
            ber(0x04, &[0x00]),
            ber_int(0x02, 3),
        ]
        .concat(),
    );
    let security = ber(
        0x30,
        &[
            ber(0x04, SNMP_ENGINE),
            ber_int(0x02, 1),
            ber_int(0x02, 1000),
            ber(0x04, b"fuzz"),
            ber(0x04, &[]),
            ber(0x04, &[]),
        ]
        .concat(),
    );
    let scoped = ber(
        0x30,
        &[ber(0x04, SNMP_ENGINE), ber(0x04, &[]), pdu].concat(),
    );
    ber(
        0x30,
        &[ber_int(0x02, 3), global, ber(0x04, &security), scoped].concat(),
    )
}

/// A BER TLV with a definite length.
#[cfg(feature = "probe-snmp")]
fn ber(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(feature = "probe-snmp")]
fn ber_int(tag: u8, v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    ber(tag, &bytes[start..])
}

#[cfg(feature = "probe-snmp")]
fn ber_unsigned(tag: u8, v: u64) -> Vec<u8> {
    let mut content = vec![0];
    content.extend_from_slice(&v.to_be_bytes());
    let start = content
        .windows(2)
        .position(|w| w[0] != 0 || w[1] & 0x80 != 0)
        .unwrap_or(content.len() - 1);
    ber(tag, &content[start..])
}

#[cfg(feature = "probe-snmp")]
fn ber_oid(arcs: &[u32]) -> Vec<u8> {
    let mut content = Vec::new();
    let mut push = |mut v: u64| {
        let mut groups = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            groups.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        content.extend(groups.iter().rev());
    };
    match arcs {
        [first, second, rest @ ..] => {
            push(u64::from(*first) * 40 + u64::from(*second));
            for &a in rest {
                push(u64::from(a));
            }
        }
        [only] => push(u64::from(*only) * 40),
        [] => {}
    }
    ber(0x06, &content)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every target's own seeds run through it without a fault, and the SNMP seeds are
    /// answers the parser reads.
    #[test]
    fn the_targets_accept_their_seeds() {
        for t in TARGETS {
            for (name, data) in seeds(t.name) {
                (t.run)(&data);
                #[cfg(feature = "probe-snmp")]
                if t.name == "snmp_response" {
                    use crate::probe::printer::steady::Outcome;
                    let outcome = snmp_answer(&data);
                    let patched = |changed| {
                        Some(Outcome::Patched {
                            changed,
                            alerts: false,
                        })
                    };
                    match name.as_str() {
                        "steady_changed_v2c" => assert_eq!(outcome, patched(true), "{name}"),
                        "steady_too_big" => assert_eq!(outcome, Some(Outcome::TooBig), "{name}"),
                        "full_poll_bulk" => assert!(
                            matches!(outcome, Some(Outcome::Full(_))),
                            "{name}: {outcome:?}"
                        ),
                        _ => assert_eq!(outcome, patched(false), "{name}"),
                    }
                }
            }
        }
        assert!(seeds("http_response").len() >= 10);
        assert!(target("ack_token").is_some() && target("nothing").is_none());
    }

    /// The project's fixtures and examples run through their targets.
    #[test]
    fn the_targets_accept_the_fixtures() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let run = |name: &str, path: &Path| {
            let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (target(name).expect("a target").run)(&data);
        };
        run("config", &root.join("core/src/default.toml"));
        for entry in std::fs::read_dir(root.join("examples")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                run("config", &path);
            }
        }
        for entry in std::fs::read_dir(root.join("tests/data/smart")).unwrap() {
            run("smart_json", &entry.unwrap().path());
        }
        #[cfg(feature = "probe-snmp")]
        for entry in std::fs::read_dir(root.join("tests/data/printers")).unwrap() {
            run("snmprec", &entry.unwrap().path());
        }
        #[cfg(feature = "tickets")]
        {
            for entry in std::fs::read_dir(root.join("tests/data/tickets")).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "csv") {
                    run("tickets_csv", &path);
                }
            }
            let mut data = vec![0];
            data.extend(std::fs::read(root.join("tests/data/tickets/zammad_export.xlsx")).unwrap());
            tickets_xlsx(&data);
        }
    }

    /// The known calamine overflow is skipped; any other panic still reaches the fuzzer.
    #[cfg(feature = "tickets")]
    #[test]
    fn only_known_upstream_panics_are_skipped() {
        let mut data = vec![1];
        data.extend_from_slice(
            br#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="AAAAAAAAAAAAA1"><v>1</v></c><c r="A99999999999"><v>2</v></c></row></sheetData></worksheet>"#,
        );
        tickets_xlsx(&data);
        let mut parts = data[1..].splitn(2, |b| *b == 0);
        let file = xlsx_of(parts.next().unwrap(), None, XLSX_STYLES);
        let read = unless_known_upstream_panic(|| {
            crate::tickets::ingest::read_workbook_bytes(
                "overlong.xlsx",
                &file,
                &Default::default(),
                &mut Vec::new(),
                &mut Default::default(),
            )
        });
        // Overflow checks are on in test builds unless optimised.
        assert_eq!(read.is_none(), cfg!(debug_assertions), "{read:?}");
        let ours =
            std::panic::catch_unwind(|| unless_known_upstream_panic(|| panic!("a fault of ours")));
        assert!(ours.is_err());
    }

    /// The CSV seeds are exports ingest reads: every one gives tickets, and the event log folds.
    #[cfg(feature = "tickets")]
    #[test]
    fn the_csv_seeds_are_read_as_exports() {
        use crate::tickets::ingest::{IngestOptions, IngestSummary, read_bytes};
        for (name, data) in csv_seeds() {
            let mut tickets = Vec::new();
            let mut summary = IngestSummary::default();
            read_bytes(
                &name,
                &data,
                &IngestOptions::default(),
                &mut tickets,
                &mut summary,
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!tickets.is_empty(), "{name}: {summary:?}");
            if name == "servicenow_events" {
                assert_eq!((summary.read, tickets.len()), (3, 1), "{name}: {summary:?}");
            }
        }
    }

    /// The workbooks the XLSX target builds are read like a spreadsheet program's: the seeds'
    /// rows come out as tickets.
    #[cfg(feature = "tickets")]
    #[test]
    fn built_workbooks_read_like_saved_ones() {
        use crate::tickets::ingest::{IngestOptions, IngestSummary, read_workbook_bytes};
        for (name, data) in xlsx_seeds() {
            let built;
            let file = if data[0] == 0 {
                &data[1..]
            } else {
                let mut parts = data[1..].splitn(2, |b| *b == 0);
                built = xlsx_of(parts.next().unwrap(), parts.next(), XLSX_STYLES);
                &built[..]
            };
            let mut tickets = Vec::new();
            let mut summary = IngestSummary::default();
            read_workbook_bytes(
                "seed.xlsx",
                file,
                &IngestOptions::default(),
                &mut tickets,
                &mut summary,
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                summary.read >= 2 && summary.accepted >= 1,
                "{name}: {summary:?}"
            );
        }
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }
}
