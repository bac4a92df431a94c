//! Pure decoding of Printer-MIB (RFC 3805) and Host-Resources-MIB (RFC 2790) values into a
//! [`PrinterReport`].
//!
//! The input is a map of OID → value, however it was gathered: from an SNMP walk, or from an
//! snmpsim recording ([`parse_snmprec`]). Nothing here does I/O, and nothing panics on odd input:
//! a value of the wrong type counts as missing, negative capacities and empty strings are kept as
//! what they are, and interpretation ([`SupplyState`], [`TrayState`]) never invents a number.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// An object identifier as its arcs.
pub type Oid = Vec<u32>;

/// OID → value, as walked or recorded.
pub type Varbinds = BTreeMap<Oid, SnmpValue>;

/// One SNMP value, owned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SnmpValue {
    /// INTEGER.
    Integer(i64),
    /// OCTET STRING (text or binary).
    OctetString(Vec<u8>),
    /// OBJECT IDENTIFIER.
    ObjectId(Oid),
    /// Counter32, Gauge32/Unsigned32, TimeTicks or Counter64.
    Unsigned(u64),
    /// IpAddress.
    IpAddress([u8; 4]),
    /// NULL, noSuchObject, noSuchInstance, or a type this decoder does not use.
    Null,
}

impl SnmpValue {
    /// The value as a signed integer, when it is one (INTEGER or an unsigned type that fits).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SnmpValue::Integer(i) => Some(*i),
            SnmpValue::Unsigned(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }

    /// The value as bytes, when it is an OCTET STRING.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            SnmpValue::OctetString(b) => Some(b),
            _ => None,
        }
    }
}

/// Parses a dotted OID ("1.3.6.1.2.1.1.1.0", a leading dot allowed).
pub fn parse_oid(s: &str) -> Option<Oid> {
    let s = s.trim().trim_start_matches('.');
    if s.is_empty() {
        return None;
    }
    s.split('.').map(|a| a.parse().ok()).collect()
}

/// Formats an OID with dots.
pub fn format_oid(oid: &[u32]) -> String {
    let mut s = String::with_capacity(oid.len() * 3);
    for (i, a) in oid.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        s.push_str(&a.to_string());
    }
    s
}

/// Parses an snmpsim recording (`OID|TAG|VALUE` per line) into varbinds.
///
/// Tags: 2 Integer, 4 OctetString, 4x hex-encoded OctetString, 5 Null, 6 OID, 64 IpAddress,
/// 65 Counter32, 66 Gauge32, 67 TimeTicks, 70 Counter64 (an `x` suffix means hex for any
/// type). Lines that do not parse are skipped.
pub fn parse_snmprec(text: &str) -> Varbinds {
    let mut out = Varbinds::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, '|');
        let (Some(oid), Some(tag), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let Some(oid) = parse_oid(oid) else { continue };
        let (tag, hex) = match tag.strip_suffix('x') {
            Some(t) => (t, true),
            None => (tag, false),
        };
        let bytes = if hex {
            match hex::decode(value.trim()) {
                Ok(b) => b,
                Err(_) => continue,
            }
        } else {
            value.as_bytes().to_vec()
        };
        let text = String::from_utf8_lossy(&bytes);
        let value = match tag {
            "2" => match text.trim().parse() {
                Ok(i) => SnmpValue::Integer(i),
                Err(_) => continue,
            },
            "4" => SnmpValue::OctetString(bytes),
            "5" => SnmpValue::Null,
            "6" => match parse_oid(&text) {
                Some(o) => SnmpValue::ObjectId(o),
                None => continue,
            },
            "64" => {
                let octets: Vec<u8> = if hex {
                    bytes.clone()
                } else {
                    text.split('.').filter_map(|p| p.parse().ok()).collect()
                };
                match <[u8; 4]>::try_from(octets.as_slice()) {
                    Ok(a) => SnmpValue::IpAddress(a),
                    Err(_) => continue,
                }
            }
            "65" | "66" | "67" | "70" => match text.trim().parse() {
                Ok(u) => SnmpValue::Unsigned(u),
                Err(_) => continue,
            },
            _ => continue,
        };
        out.insert(oid, value);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Object identifiers.
// ---------------------------------------------------------------------------------------------

/// sysDescr.0
pub const SYS_DESCR: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 1, 0];
/// sysObjectID.0
pub const SYS_OBJECT_ID: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 2, 0];
/// sysUpTime.0 (not part of the report: a steady-state poll watches it for reboots).
pub const SYS_UPTIME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];
/// sysName.0
pub const SYS_NAME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 5, 0];
/// sysLocation.0
pub const SYS_LOCATION: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 6, 0];

/// The scalars fetched with one GET.
pub const SCALARS: &[&[u32]] = &[SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME, SYS_LOCATION];

/// [`SCALARS`] as owned OIDs, made once.
pub fn scalars() -> &'static [Oid] {
    static S: std::sync::LazyLock<Vec<Oid>> =
        std::sync::LazyLock::new(|| SCALARS.iter().map(|o| o.to_vec()).collect());
    &S
}

pub(super) const HR_DEVICE_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 25, 3, 2, 1];
pub(super) const HR_PRINTER_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 25, 3, 5, 1];
pub(super) const PRT_GENERAL_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 43, 5, 1, 1];
pub(super) const PRT_COVER_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 43, 6, 1, 1];
pub(super) const PRT_INPUT_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 43, 8, 2, 1];
pub(super) const PRT_MARKER_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 43, 10, 2, 1];
pub(super) const PRT_SUPPLY_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 43, 11, 1, 1];
const PRT_COLORANT_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 43, 12, 1, 1];
pub(super) const PRT_ALERT_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 43, 18, 1, 1];
/// hrDeviceType value of a printer.
const HR_DEVICE_PRINTER: &[u32] = &[1, 3, 6, 1, 2, 1, 25, 3, 1, 5];

pub(super) fn col(entry: &[u32], column: u32) -> Oid {
    let mut o = entry.to_vec();
    o.push(column);
    o
}

/// The table columns one poll walks, in the order they are requested (made once).
pub fn walked_columns() -> &'static [Oid] {
    static COLUMNS: std::sync::LazyLock<Vec<Oid>> = std::sync::LazyLock::new(columns);
    &COLUMNS
}

fn columns() -> Vec<Oid> {
    let mut cols = Vec::new();
    for c in [2, 3, 5] {
        cols.push(col(HR_DEVICE_ENTRY, c));
    }
    for c in [1, 2] {
        cols.push(col(HR_PRINTER_ENTRY, c));
    }
    // prtGeneralConfigChanges, the printer name and serial, and the alert counters
    // (prtAlertCriticalEvents, prtAlertAllEvents): the counters tell a steady-state poll when
    // the configuration or the alert table changed.
    for c in [1, 16, 17, 18, 19] {
        cols.push(col(PRT_GENERAL_ENTRY, c));
    }
    for c in [2, 3] {
        cols.push(col(PRT_COVER_ENTRY, c));
    }
    // prtInputType (2): a manual feed, a removable cassette… (evidence for bypass trays).
    for c in [2, 9, 10, 11, 12, 13] {
        cols.push(col(PRT_INPUT_ENTRY, c));
    }
    cols.push(col(PRT_MARKER_ENTRY, 4));
    for c in 3..=9 {
        cols.push(col(PRT_SUPPLY_ENTRY, c));
    }
    cols.push(col(PRT_COLORANT_ENTRY, 4));
    cols.extend(alert_columns(None));
    cols
}

/// The prtAlertTable columns the report uses (severity, group, group index, code,
/// description), for every device or for one.
pub fn alert_columns(dev: Option<u32>) -> Vec<Oid> {
    [2, 4, 5, 7, 8]
        .iter()
        .map(|&c| {
            let mut o = col(PRT_ALERT_ENTRY, c);
            o.extend(dev);
            o
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The report.
// ---------------------------------------------------------------------------------------------

/// Who the printer says it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// sysName.
    pub sys_name: Option<String>,
    /// sysDescr.
    pub sys_descr: Option<String>,
    /// sysObjectID, dotted.
    pub sys_object_id: Option<String>,
    /// sysLocation.
    pub location: Option<String>,
    /// The model: hrDeviceDescr of the printer row, else the start of sysDescr (up to the
    /// first `;` or `,`, when that is short enough to be a name).
    pub model: Option<String>,
    /// prtGeneralSerialNumber.
    pub serial: Option<String>,
    /// prtGeneralPrinterName.
    pub printer_name: Option<String>,
}

/// hrDeviceStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// 1 unknown.
    Unknown,
    /// 2 running.
    Running,
    /// 3 warning.
    Warning,
    /// 4 testing.
    Testing,
    /// 5 down.
    Down,
    /// A value outside the MIB.
    Other(i64),
}

impl DeviceStatus {
    pub(super) fn from_i64(v: i64) -> Self {
        match v {
            1 => Self::Unknown,
            2 => Self::Running,
            3 => Self::Warning,
            4 => Self::Testing,
            5 => Self::Down,
            o => Self::Other(o),
        }
    }
}

/// hrPrinterStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterStatus {
    /// 1 other.
    Other,
    /// 2 unknown.
    Unknown,
    /// 3 idle.
    Idle,
    /// 4 printing.
    Printing,
    /// 5 warmup.
    Warmup,
    /// A value outside the MIB.
    Invalid(i64),
}

impl PrinterStatus {
    pub(super) fn from_i64(v: i64) -> Self {
        match v {
            1 => Self::Other,
            2 => Self::Unknown,
            3 => Self::Idle,
            4 => Self::Printing,
            5 => Self::Warmup,
            o => Self::Invalid(o),
        }
    }
}

/// One bit of hrPrinterDetectedErrorState.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectedError {
    /// Bit 0.
    LowPaper,
    /// Bit 1.
    NoPaper,
    /// Bit 2.
    LowToner,
    /// Bit 3.
    NoToner,
    /// Bit 4.
    DoorOpen,
    /// Bit 5.
    Jammed,
    /// Bit 6.
    Offline,
    /// Bit 7.
    ServiceRequested,
    /// Bit 8.
    InputTrayMissing,
    /// Bit 9.
    OutputTrayMissing,
    /// Bit 10.
    MarkerSupplyMissing,
    /// Bit 11.
    OutputNearFull,
    /// Bit 12.
    OutputFull,
    /// Bit 13.
    InputTrayEmpty,
    /// Bit 14.
    OverduePreventMaint,
    /// A bit the MIB does not define (15 and up).
    Undefined(u32),
}

impl DetectedError {
    const NAMED: [DetectedError; 15] = [
        Self::LowPaper,
        Self::NoPaper,
        Self::LowToner,
        Self::NoToner,
        Self::DoorOpen,
        Self::Jammed,
        Self::Offline,
        Self::ServiceRequested,
        Self::InputTrayMissing,
        Self::OutputTrayMissing,
        Self::MarkerSupplyMissing,
        Self::OutputNearFull,
        Self::OutputFull,
        Self::InputTrayEmpty,
        Self::OverduePreventMaint,
    ];

    /// The error of bit `n` (bit 0 is the most significant bit of the first byte).
    pub fn from_bit(n: u32) -> Self {
        Self::NAMED
            .get(n as usize)
            .copied()
            .unwrap_or(Self::Undefined(n))
    }

    /// How a person would say it.
    pub fn describe(self) -> String {
        match self {
            Self::LowPaper => "low paper".into(),
            Self::NoPaper => "no paper".into(),
            Self::LowToner => "low toner".into(),
            Self::NoToner => "no toner".into(),
            Self::DoorOpen => "door open".into(),
            Self::Jammed => "paper jam".into(),
            Self::Offline => "offline".into(),
            Self::ServiceRequested => "service requested".into(),
            Self::InputTrayMissing => "input tray missing".into(),
            Self::OutputTrayMissing => "output tray missing".into(),
            Self::MarkerSupplyMissing => "supply missing".into(),
            Self::OutputNearFull => "output bin nearly full".into(),
            Self::OutputFull => "output bin full".into(),
            Self::InputTrayEmpty => "input tray empty".into(),
            Self::OverduePreventMaint => "maintenance overdue".into(),
            Self::Undefined(n) => format!("error bit {n}"),
        }
    }
}

/// Decodes hrPrinterDetectedErrorState: bit 0 is the most significant bit of the first byte;
/// any length (missing bytes are zero).
pub fn decode_error_state(bytes: &[u8]) -> Vec<DetectedError> {
    let mut out = Vec::new();
    for (i, byte) in bytes.iter().enumerate() {
        for b in 0..8u32 {
            if byte & (0x80 >> b) != 0 {
                let n = u32::try_from(i).unwrap_or(u32::MAX / 8 - 1) * 8 + b;
                out.push(DetectedError::from_bit(n));
            }
        }
    }
    out
}

/// What a supply is: prtMarkerSuppliesType, or what its description says when the agent
/// leaves the type out ([`SupplyRule`] says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplyType {
    /// 3
    Toner,
    /// 4
    WasteToner,
    /// 5
    Ink,
    /// 6
    InkCartridge,
    /// 7
    InkRibbon,
    /// 8
    WasteInk,
    /// 9
    Opc,
    /// 10
    Developer,
    /// 11
    FuserOil,
    /// 15
    Fuser,
    /// 14 wasteWax, 24 wasteWater, 26 wastePaper.
    OtherWaste,
    /// 18 cleanerUnit, 19 fuserCleaningPad.
    CleanerUnit,
    /// 20
    TransferUnit,
    /// 21
    TonerCartridge,
    /// 32
    Staples,
    /// A maintenance kit, roller or feeder kit. The MIB has no type for it: only a description
    /// says so.
    MaintenanceKit,
    /// Any other type: the raw value (1 other, 2 unknown, a type this decoder does not judge),
    /// or 0 when the column is missing; the description told nothing either.
    Other(i64),
}

/// The highest prtMarkerSuppliesType the IANA list defines (34, covers). Values above it, like
/// other(1) and unknown(2), say nothing the decoder can use.
const LAST_IANA_SUPPLY_TYPE: i64 = 34;

impl SupplyType {
    fn from_i64(v: i64) -> Self {
        match v {
            3 => Self::Toner,
            4 => Self::WasteToner,
            5 => Self::Ink,
            6 => Self::InkCartridge,
            7 => Self::InkRibbon,
            8 => Self::WasteInk,
            9 => Self::Opc,
            10 => Self::Developer,
            11 => Self::FuserOil,
            15 => Self::Fuser,
            14 | 24 | 26 => Self::OtherWaste,
            18 | 19 => Self::CleanerUnit,
            20 => Self::TransferUnit,
            21 => Self::TonerCartridge,
            32 => Self::Staples,
            o => Self::Other(o),
        }
    }

    /// Whether it is a receptacle (fills up) rather than a consumable.
    pub fn is_waste(self) -> bool {
        matches!(self, Self::WasteToner | Self::WasteInk | Self::OtherWaste)
    }

    /// A short noun: "toner", "ink", "drum", "fuser", "waste toner"…
    pub fn noun(self) -> &'static str {
        match self {
            Self::Toner | Self::TonerCartridge => "toner",
            Self::Ink | Self::InkCartridge | Self::InkRibbon => "ink",
            Self::WasteToner => "waste toner",
            Self::WasteInk => "waste ink",
            Self::OtherWaste => "waste",
            Self::Opc => "drum",
            Self::Developer => "developer",
            Self::FuserOil => "fuser oil",
            Self::Fuser => "fuser",
            Self::CleanerUnit => "cleaner",
            Self::TransferUnit => "transfer unit",
            Self::Staples => "staples",
            Self::MaintenanceKit => "maintenance kit",
            Self::Other(_) => "supply",
        }
    }
}

/// Which rule decided a supply's [`SupplyType`] (and so its thresholds). Serialised as
/// `{"rule": "type_column"}`, `{"rule": "description", "word": "cartridge"}`,
/// `{"rule": "marker_colour_fallback"}` or `{"rule": "none"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum SupplyRule {
    /// The agent's prtMarkerSuppliesType column.
    TypeColumn,
    /// A word of the description, because the type column is missing, other(1), unknown(2)
    /// or a value outside the IANA list.
    Description {
        /// The word or phrase that decided, as the vocabulary spells it (lower case, without
        /// accents: "cartridge", "fusing", "toner" for "Tóner").
        word: String,
    },
    /// No type and no telling word, but the supply has a marker colour (from the colorant
    /// table or its description): it is judged at the toner thresholds rather than never.
    MarkerColourFallback,
    /// No type, no telling word, no colour: no threshold applies.
    #[serde(rename = "none")]
    Unclassified,
}

/// Where a vocabulary word may sit in a (folded) word of a description.
#[derive(Debug, Clone, Copy)]
enum At {
    /// The whole word ("opc", "itb").
    Word,
    /// The start of a word ("drum" in "drums", "fixier" in "fixiereinheit").
    Start,
    /// Anywhere in a word: heads of German compounds ("trommel" in "bildtrommel").
    Inside,
}

/// One group of the vocabulary: the type it gives and its words (phrases are words separated
/// by single spaces).
struct Group {
    kind: SupplyType,
    words: &'static [(&'static str, At)],
}

/// Words for waste receptacles, tried first ("Waste Toner Box" is waste, not toner).
const WASTE: &[(&str, At)] = &[
    ("waste", At::Start),
    ("collection", At::Start),
    ("collector", At::Start),
    ("used toner", At::Word),
    ("rest toner", At::Word),
    ("resttoner", At::Inside),
    ("abfall", At::Inside),
    ("recuperation", At::Start),
    ("recuperateur", At::Start),
    ("recuperacion", At::Start),
    ("residual", At::Start),
    ("residuo", At::Start),
    ("scarto", At::Word),
    ("recupero", At::Word),
];

/// Inkjet maintenance boxes and tanks collect waste ink (Epson, Canon, Brother).
const WASTE_INK_BOX: &[(&str, At)] = &[
    ("maintenance box", At::Word),
    ("maintenance tank", At::Word),
    ("maintenance cartridge", At::Word),
    ("wartungsbox", At::Start),
    ("boite de maintenance", At::Word),
    ("caja de mantenimiento", At::Word),
];

/// Ink words, also to tell waste ink from waste toner.
const INK: &[(&str, At)] = &[
    ("ink", At::Start),
    ("tinte", At::Start),
    ("tinta", At::Word),
    ("encre", At::Word),
    ("inchiostro", At::Word),
];

/// The vocabulary after the waste words, in order of precedence: a part named after what it
/// holds ("Drum Cartridge", "Staple Cartridge", "Maintenance Kit") is that part, so the
/// generic words (toner, cartridge) come last.
const VOCABULARY: &[Group] = &[
    Group {
        kind: SupplyType::Opc,
        words: &[
            ("drum", At::Start),
            ("opc", At::Word),
            ("photoconductor", At::Start),
            ("photo conductor", At::Start),
            ("imaging unit", At::Word),
            ("imaging drum", At::Word),
            ("imaging kit", At::Word),
            ("image unit", At::Word),
            ("image drum", At::Word),
            ("trommel", At::Inside),
            ("tambour", At::Start),
            ("tambor", At::Start),
            ("tamburo", At::Start),
            ("photoconducteur", At::Start),
            ("fotoconductor", At::Start),
            ("fotoconduttore", At::Start),
            ("imagerie", At::Word),
            ("unidad de imagen", At::Word),
        ],
    },
    Group {
        kind: SupplyType::Developer,
        words: &[
            ("developer", At::Start),
            ("developing", At::Start),
            ("entwickler", At::Inside),
            ("developpeur", At::Start),
            ("revelador", At::Start),
            ("sviluppatore", At::Start),
        ],
    },
    Group {
        kind: SupplyType::Fuser,
        words: &[
            ("fuser", At::Start),
            ("fusing", At::Start),
            ("fixing", At::Start),
            ("fixier", At::Inside),
            ("fixation", At::Start),
            ("fusion", At::Word),
            ("fusor", At::Start),
            ("fusao", At::Word),
        ],
    },
    Group {
        kind: SupplyType::TransferUnit,
        words: &[
            ("transfer", At::Start),
            ("ubertragung", At::Start),
            ("itb", At::Word),
            ("belt", At::Start),
            ("courroie", At::Start),
            ("cinghia", At::Start),
            ("trasferimento", At::Start),
        ],
    },
    Group {
        kind: SupplyType::CleanerUnit,
        words: &[("cleaner", At::Start), ("cleaning", At::Start)],
    },
    Group {
        kind: SupplyType::MaintenanceKit,
        words: &[
            ("maintenance", At::Start),
            ("wartung", At::Start),
            ("mantenimiento", At::Start),
            ("manutenzione", At::Start),
            ("manutencao", At::Start),
            ("roller", At::Start),
            ("rouleau", At::Start),
            ("rodillo", At::Start),
            ("rullo", At::Start),
            ("walze", At::Inside),
            ("feeder kit", At::Word),
            ("feed kit", At::Word),
            ("adf kit", At::Word),
            ("pickup", At::Start),
            ("separation pad", At::Word),
        ],
    },
    Group {
        kind: SupplyType::Staples,
        words: &[
            ("staple", At::Start),
            ("heftklammer", At::Inside),
            ("agrafe", At::Start),
            ("grapa", At::Start),
            ("grampo", At::Start),
            ("punti metallici", At::Word),
        ],
    },
    Group {
        kind: SupplyType::Ink,
        words: INK,
    },
    Group {
        kind: SupplyType::Toner,
        words: &[("toner", At::Inside)],
    },
    Group {
        kind: SupplyType::TonerCartridge,
        words: &[
            ("cartridge", At::Start),
            ("cartouche", At::Start),
            ("cartucho", At::Start),
            ("cartuccia", At::Start),
            ("patrone", At::Inside),
            ("kassette", At::Inside),
            ("crg", At::Word),
        ],
    },
];

/// A description folded for matching: lower case, accents dropped (é → e, ü → u, ß → ss),
/// every run of other characters one space, with a space at each end (" black toner ").
fn fold(description: &str) -> String {
    let mut out = String::with_capacity(description.len() + 2);
    out.push(' ');
    for ch in description.chars().flat_map(char::to_lowercase) {
        let folded = match ch {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => "a",
            'ç' => "c",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ñ' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
            'ù' | 'ú' | 'û' | 'ü' => "u",
            'ß' => "ss",
            c if c.is_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
                continue;
            }
        };
        out.push_str(folded);
    }
    if !out.ends_with(' ') {
        out.push(' ');
    }
    out
}

/// Whether `word` (a folded vocabulary word or phrase) is in `folded` where `at` allows.
fn has_word(folded: &str, word: &str, at: At) -> bool {
    let mut from = 0;
    while let Some(i) = folded[from..].find(word) {
        let start = from + i;
        let end = start + word.len();
        let bytes = folded.as_bytes();
        let starts_word = bytes[start - 1] == b' ';
        let ends_word = bytes.get(end) == Some(&b' ');
        let ok = match at {
            At::Word => starts_word && ends_word,
            At::Start => starts_word,
            At::Inside => true,
        };
        if ok {
            return true;
        }
        // The words are ASCII, so a match starts on a character boundary; step over it.
        from = start + folded[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// The first word of `words` found in `folded`.
fn first_word(folded: &str, words: &[(&'static str, At)]) -> Option<&'static str> {
    words
        .iter()
        .find(|(w, at)| has_word(folded, w, *at))
        .map(|(w, _)| *w)
}

/// The type a description names, with the word that decided, in the common vendor words of
/// English, German, French, Spanish, Italian and Portuguese descriptions. `None` when no word
/// is telling.
pub fn type_from_description(description: &str) -> Option<(SupplyType, &'static str)> {
    let folded = fold(description);
    if let Some(w) = first_word(&folded, WASTE_INK_BOX) {
        return Some((SupplyType::WasteInk, w));
    }
    if let Some(w) = first_word(&folded, WASTE) {
        let kind = if first_word(&folded, INK).is_some() {
            SupplyType::WasteInk
        } else {
            SupplyType::WasteToner
        };
        return Some((kind, w));
    }
    VOCABULARY
        .iter()
        .find_map(|g| first_word(&folded, g.words).map(|w| (g.kind, w)))
}

/// A supply's type and the rule that decided it, from the type column (when it is a type
/// the IANA list defines), else the description, else whether it has a marker colour.
pub fn classify_supply(
    type_column: Option<i64>,
    description: &str,
    colour: Option<&str>,
) -> (SupplyType, SupplyRule) {
    if let Some(t) = type_column
        && (3..=LAST_IANA_SUPPLY_TYPE).contains(&t)
    {
        return (SupplyType::from_i64(t), SupplyRule::TypeColumn);
    }
    if let Some((kind, word)) = type_from_description(description) {
        return (
            kind,
            SupplyRule::Description {
                word: word.to_string(),
            },
        );
    }
    let raw = SupplyType::Other(type_column.unwrap_or(0));
    if colour.is_some() {
        (raw, SupplyRule::MarkerColourFallback)
    } else {
        (raw, SupplyRule::Unclassified)
    }
}

/// prtMarkerSuppliesClass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplyClass {
    /// 3: consumed (toner, ink, drums).
    Consumed,
    /// 4: a receptacle that is filled (waste).
    Receptacle,
    /// 1 other, or missing.
    Other,
}

/// What a supply's level says, without inventing a number.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplyState {
    /// A known level in percent of the capacity (0–100). For a receptacle: space left.
    Known(f64),
    /// The agent says "at least one unit remains" (-3), nothing more.
    SomeRemaining,
    /// The agent cannot tell (-2, a missing or odd value).
    Unknown,
    /// No restriction applies (-1).
    Unrestricted,
}

impl SupplyState {
    /// From prtMarkerSuppliesLevel and prtMarkerSuppliesMaxCapacity. A percentage needs both:
    /// a level of zero or more and a capacity above zero (a level in percent units still has
    /// a capacity, 100). Otherwise the special values say what is known: -1 no restriction,
    /// -3 some remaining; -2 (unknown), any other negative level, a missing one, or a level
    /// whose capacity is unknown (-2), unrestricted (-1) or odd reads as unknown. A level of
    /// 0 of an unknown capacity is not "empty": agents send it when they cannot measure.
    pub fn from_level(level: Option<i64>, max: Option<i64>) -> Self {
        match (level, max) {
            (Some(-1), _) => Self::Unrestricted,
            (Some(-3), _) => Self::SomeRemaining,
            (Some(l), Some(m)) if l >= 0 && m > 0 => {
                Self::Known(((l as f64) * 100.0 / (m as f64)).min(100.0))
            }
            _ => Self::Unknown,
        }
    }

    /// The percentage, when known.
    pub fn percent(self) -> Option<f64> {
        match self {
            Self::Known(p) => Some(p),
            _ => None,
        }
    }
}

/// One marker supply (prtMarkerSuppliesEntry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Supply {
    /// prtMarkerSuppliesIndex.
    pub index: u32,
    /// The type: from the type column, else from the description ([`Supply::classified_by`]).
    pub kind: SupplyType,
    /// Which rule decided the type (and so the thresholds).
    pub classified_by: SupplyRule,
    /// The class.
    pub class: SupplyClass,
    /// The colour, from the colorant table, else from the description.
    pub colour: Option<String>,
    /// The cleaned description, unique within the printer.
    pub description: String,
    /// A part number the agent gave in the description (Xerox "PN …").
    pub part_number: Option<String>,
    /// prtMarkerSuppliesSupplyUnit (19 percent, 7 impressions, 8 sheets …), if given.
    pub unit: Option<i64>,
    /// The raw level.
    pub level: Option<i64>,
    /// The raw maximum capacity.
    pub max: Option<i64>,
    /// What the level means.
    pub state: SupplyState,
}

impl Supply {
    /// Whether this is a receptacle (waste), by class or, when the class is missing, by type.
    pub fn is_receptacle(&self) -> bool {
        self.class == SupplyClass::Receptacle || self.kind.is_waste()
    }

    /// A short name a person uses: "Cyan toner", "Black drum", else the description.
    pub fn label(&self) -> String {
        match (&self.colour, self.kind) {
            (
                Some(c),
                SupplyType::Toner
                | SupplyType::TonerCartridge
                | SupplyType::Ink
                | SupplyType::InkCartridge
                | SupplyType::Opc
                | SupplyType::Developer,
            ) => format!("{} {}", capitalise(c), self.kind.noun()),
            _ => self.description.clone(),
        }
    }
}

/// The paper state of an input tray.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrayState {
    /// A known level, in percent of the capacity.
    Known(f64),
    /// Empty (level 0).
    Empty,
    /// At least one sheet (-3).
    SomeRemaining,
    /// The tray cannot tell (-2, missing, or no capacity).
    Unknown,
    /// No restriction (-1).
    Unrestricted,
}

impl TrayState {
    /// From prtInputCurrentLevel and prtInputMaxCapacity.
    pub fn from_level(level: Option<i64>, max: Option<i64>) -> Self {
        match level {
            Some(0) => Self::Empty,
            Some(-1) => Self::Unrestricted,
            Some(-3) => Self::SomeRemaining,
            Some(l) if l > 0 => match max {
                Some(m) if m > 0 => Self::Known(((l as f64) * 100.0 / (m as f64)).min(100.0)),
                _ => Self::Unknown,
            },
            _ => Self::Unknown,
        }
    }
}

/// One input tray (prtInputEntry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tray {
    /// prtInputIndex.
    pub index: u32,
    /// prtInputName, else "Tray N".
    pub name: String,
    /// prtInputMediaName.
    pub media: Option<String>,
    /// prtInputMaxCapacity (raw).
    pub max: Option<i64>,
    /// prtInputCurrentLevel (raw).
    pub level: Option<i64>,
    /// prtInputStatus (a SubUnitStatus bit sum), raw.
    pub status: Option<i64>,
    /// prtInputType, raw: 3 sheetFeedAutoRemovableTray, 4 sheetFeedAutoNonRemovableTray,
    /// 5 sheetFeedManual, 6 continuousRoll, 7 continuousFanFold (1 other, 2 unknown).
    pub input_type: Option<i64>,
    /// A bypass / manual / multi-purpose tray, where empty is the normal state: whether
    /// [`Tray::bypass_reason`] is set.
    pub bypass: bool,
    /// Why the decoder takes the tray for a bypass tray, if it does. A check's `bypass_trays`
    /// setting overrides this either way.
    pub bypass_reason: Option<BypassReason>,
    /// What the level means.
    pub state: TrayState,
}

/// The evidence that an input is a bypass (multipurpose, manual) tray.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BypassReason {
    /// prtInputName says bypass, manual or multi-purpose ("MP Tray", "Bypass Tray").
    Name,
    /// prtInputType is sheetFeedManual (5).
    ManualFeed,
    /// A capacity of one sheet: a manual slot.
    OneSheet,
    /// No name of its own (none, or only "Tray N"), at most [`SMALL_TRAY_SHEETS`] sheets and
    /// at most half the capacity of another tray of the printer, and not a removable cassette
    /// (prtInputType 3) or a roll: the multipurpose tray of nearly every office model ("Tray 1"
    /// of 100 sheets on an HP, "Tray 7" of 150 on a Konica, "Tray 5" of 180 on a Fujifilm).
    SmallUnnamed,
}

/// The largest capacity, in sheets, an unnamed tray may have to be taken for a bypass tray
/// ([`BypassReason::SmallUnnamed`]). Multipurpose trays hold 50–180 sheets; the smallest
/// cassettes 250.
pub const SMALL_TRAY_SHEETS: i64 = 200;

impl Tray {
    /// Whether the tray's status has the offline bit (+32).
    pub fn offline(&self) -> bool {
        self.status.is_some_and(|s| s >= 0 && s & 32 != 0)
    }
}

/// A cover (prtCoverEntry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cover {
    /// prtCoverIndex.
    pub index: u32,
    /// prtCoverDescription, else "Cover N".
    pub description: String,
    /// prtCoverStatus: 3 doorOpen, 4 doorClosed, 5 interlockOpen, 6 interlockClosed.
    pub status: Option<i64>,
}

impl Cover {
    /// Whether the cover (or its interlock) is open.
    pub fn is_open(&self) -> bool {
        matches!(self.status, Some(3) | Some(5))
    }
}

/// One row of the prtAlert table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterAlert {
    /// prtAlertIndex.
    pub index: u32,
    /// prtAlertSeverityLevel: 1 other, 3 critical, 4 warning, 5 warningBinaryChangeEvent.
    pub severity: Option<i64>,
    /// prtAlertGroup: 6 cover, 8 input, 9 output, 11 markerSupplies, 13 mediaPath …
    pub group: Option<i64>,
    /// prtAlertGroupIndex: which tray, supply… of the group.
    pub group_index: Option<i64>,
    /// prtAlertCode: 3 coverOpen, 8 jam, 13 subunitEmpty, 1101 markerTonerEmpty …
    pub code: Option<i64>,
    /// prtAlertDescription, cleaned.
    pub description: String,
}

/// Everything one poll learnt about a printer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrinterReport {
    /// Identity.
    pub identity: Identity,
    /// The hrDeviceIndex of the printer (found by hrDeviceType, else the Printer-MIB's rows).
    pub device_index: u32,
    /// hrDeviceStatus of the printer row.
    pub device_status: Option<DeviceStatus>,
    /// hrPrinterStatus of the printer row.
    pub printer_status: Option<PrinterStatus>,
    /// hrPrinterDetectedErrorState, raw.
    pub error_state: Option<Vec<u8>>,
    /// The decoded error bits.
    pub errors: Vec<DetectedError>,
    /// Marker supplies, by index.
    pub supplies: Vec<Supply>,
    /// Input trays, by index.
    pub trays: Vec<Tray>,
    /// Covers.
    pub covers: Vec<Cover>,
    /// The alert table.
    pub alerts: Vec<PrinterAlert>,
    /// The page counter (prtMarkerLifeCount of the first marker).
    pub page_count: Option<u64>,
}

impl PrinterReport {
    /// Whether the agent answered any Printer-MIB or hrPrinter object (discovery uses this).
    pub fn has_printer_mib(&self) -> bool {
        !self.supplies.is_empty()
            || !self.trays.is_empty()
            || self.error_state.is_some()
            || self.identity.printer_name.is_some()
            || self.page_count.is_some()
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding.
// ---------------------------------------------------------------------------------------------

/// The rows of a table column: index suffix (after `column`) → value.
fn column<'a>(
    vars: &'a Varbinds,
    column: &[u32],
) -> impl Iterator<Item = (&'a [u32], &'a SnmpValue)> {
    let start = column.to_vec();
    vars.range(start..)
        .take_while(move |(k, _)| k.starts_with(column))
        .map(move |(k, v)| (&k[column.len()..], v))
}

/// A `(device, index)` table column as index → value, for one device.
pub(super) fn dev_column<'a>(
    vars: &'a Varbinds,
    entry: &[u32],
    c: u32,
    dev: u32,
) -> BTreeMap<u32, &'a SnmpValue> {
    column(vars, &col(entry, c))
        .filter_map(|(idx, v)| match idx {
            [d, i] if *d == dev => Some((*i, v)),
            _ => None,
        })
        .collect()
}

fn text_of(v: Option<&SnmpValue>) -> Option<String> {
    let b = v?.as_bytes()?;
    let s = clean_text(b);
    (!s.is_empty()).then_some(s)
}

fn int_of(v: Option<&&SnmpValue>) -> Option<i64> {
    v.and_then(|v| v.as_i64())
}

/// Text from an agent: invalid UTF-8 replaced, NULs and control characters dropped (a line
/// break becomes a space), whitespace trimmed.
pub fn clean_text(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch == '\n' || ch == '\r' || ch == '\t' {
            out.push(' ');
        } else if !ch.is_control() {
            out.push(ch);
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decodes "41 42 00" (hex pairs separated by spaces) into bytes, if the whole text is that.
fn hex_pairs(s: &str) -> Option<Vec<u8>> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.is_empty() || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    parts
        .iter()
        .map(|p| u8::from_str_radix(p, 16).ok())
        .collect()
}

/// A supply description as sent, made readable: HP JetDirect's "first line, then the rest as
/// hex text" is joined, a whole value sent as a hex string is decoded, trailing NULs go, and
/// Samsung " S/N:…" and Xerox ", PN …;SN…" suffixes are split off (the part number is
/// returned).
pub fn clean_description(bytes: &[u8]) -> (String, Option<String>) {
    let mut raw: Vec<u8> = bytes.to_vec();
    // HP: "Black Cartridge \n38 32 37 41 …" — the second line is hex text of the rest.
    if let Some(nl) = raw.iter().position(|&b| b == b'\n') {
        let rest = String::from_utf8_lossy(&raw[nl + 1..]).into_owned();
        if let Some(decoded) = hex_pairs(&rest) {
            raw.truncate(nl);
            raw.extend_from_slice(&decoded);
        }
    }
    // A whole value as a plain hex string ("426C61636B…"), long enough not to be a word.
    let as_text = String::from_utf8_lossy(&raw).into_owned();
    let trimmed = as_text.trim_end_matches('\0').trim();
    if trimmed.len() >= 8
        && trimmed.len().is_multiple_of(2)
        && trimmed.bytes().all(|b| b.is_ascii_hexdigit())
        && let Ok(decoded) = hex::decode(trimmed)
        && decoded
            .iter()
            .all(|&b| b == 0 || b == b'\n' || (0x20..0x7f).contains(&b))
        && decoded.iter().any(|b| b.is_ascii_alphabetic())
    {
        raw = decoded;
    }
    let mut text = clean_text(&raw);
    let mut part = None;
    // Xerox: "Black Toner, PN 006R01509;SN48178080E0000481".
    if let Some(i) = text.find(", PN ") {
        let tail = text[i + 5..].to_string();
        let pn = tail.split(';').next().unwrap_or("").trim().to_string();
        if !pn.is_empty() && !pn.eq_ignore_ascii_case("unknown") {
            part = Some(pn);
        }
        text.truncate(i);
    }
    // Samsung: "Black Toner Cartridge S/N:CRUM-…".
    if let Some(i) = text.find(" S/N:").or_else(|| text.find(" S/N ")) {
        text.truncate(i);
    } else if text.starts_with("S/N:") {
        text.clear();
    }
    let text = text.trim().trim_end_matches([',', ';']).trim().to_string();
    (text, part)
}

const COLOURS: &[&str] = &[
    "photo black",
    "matte black",
    "light cyan",
    "light magenta",
    "black",
    "cyan",
    "magenta",
    "yellow",
    "red",
    "green",
    "blue",
    "gray",
    "grey",
];

/// A colour named in a description ("Toner (Cyan)" → "cyan").
fn colour_in(description: &str) -> Option<String> {
    let d = description.to_ascii_lowercase();
    COLOURS
        .iter()
        .filter_map(|c| find_word(&d, c).map(|pos| (pos, *c)))
        .min_by_key(|(pos, c)| (*pos, usize::MAX - c.len()))
        .map(|(_, c)| c.to_string())
}

fn find_word(haystack: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = haystack[from..].find(word) {
        let start = from + i;
        let end = start + word.len();
        let before_ok = start == 0 || !haystack.as_bytes()[start - 1].is_ascii_alphanumeric();
        let after_ok = end == haystack.len() || !haystack.as_bytes()[end].is_ascii_alphanumeric();
        if before_ok && after_ok {
            return Some(start);
        }
        from = end;
    }
    None
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn is_bypass_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "bypass",
        "manual",
        "multi-purpose",
        "multipurpose",
        "multi purpose",
        "mp tray",
        "mptray",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Whether a tray name is only a number: none given ("Tray N" is made for it), or "Tray 3",
/// "TRAY1", "Cassette 2", "Input 4", "Drawer 1", "Bin 2"… (and "Fach 2", "Bac 2", "Bandeja 2",
/// "Cassetto 2").
fn is_generic_tray_name(name: &str) -> bool {
    let n = name.trim();
    let word = n.trim_end_matches(|c: char| c.is_ascii_digit());
    if word.len() == n.len() {
        return false;
    }
    let word = word.trim_end_matches([' ', '#', '-', '_']).to_lowercase();
    [
        "tray",
        "paper tray",
        "input",
        "input tray",
        "cassette",
        "drawer",
        "bin",
        "fach",
        "papierfach",
        "bac",
        "magasin",
        "bandeja",
        "cassetto",
    ]
    .contains(&word.as_str())
}

/// Finds the printer's hrDeviceIndex: the first row whose hrDeviceType is a printer; else the
/// device index the Printer-MIB tables use; else 1.
fn device_index(vars: &Varbinds) -> u32 {
    let printer = SnmpValue::ObjectId(HR_DEVICE_PRINTER.to_vec());
    if let Some(dev) = column(vars, &col(HR_DEVICE_ENTRY, 2))
        .find(|(_, v)| **v == printer)
        .and_then(|(idx, _)| match idx {
            [d] => Some(*d),
            _ => None,
        })
    {
        return dev;
    }
    for entry in [PRT_SUPPLY_ENTRY, PRT_INPUT_ENTRY, PRT_GENERAL_ENTRY] {
        if let Some((idx, _)) = vars
            .range(entry.to_vec()..)
            .take_while(|(k, _)| k.starts_with(entry))
            .next()
            && let Some(&dev) = idx.get(entry.len() + 1)
        {
            return dev;
        }
    }
    1
}

/// Decodes everything one poll gathered. Never panics; missing objects are `None` or empty.
pub fn decode(vars: &Varbinds) -> PrinterReport {
    let dev = device_index(vars);
    let dev_scalar = |entry: &[u32], c: u32| -> Option<&SnmpValue> {
        let mut o = col(entry, c);
        o.push(dev);
        vars.get(&o)
    };

    let sys_descr = text_of(vars.get(SYS_DESCR));
    let model = text_of(dev_scalar(HR_DEVICE_ENTRY, 3)).or_else(|| {
        sys_descr
            .as_deref()
            .map(|d| d.split([';', ',']).next().unwrap_or(d).trim().to_string())
            // A long first part is a firmware banner, not a model name.
            .filter(|s| !s.is_empty() && s.chars().count() <= 40)
    });
    let identity = Identity {
        sys_name: text_of(vars.get(SYS_NAME)),
        sys_descr,
        sys_object_id: match vars.get(SYS_OBJECT_ID) {
            Some(SnmpValue::ObjectId(o)) => Some(format_oid(o)),
            _ => None,
        },
        location: text_of(vars.get(SYS_LOCATION)),
        model,
        serial: text_of(dev_scalar(PRT_GENERAL_ENTRY, 17)),
        printer_name: text_of(dev_scalar(PRT_GENERAL_ENTRY, 16)),
    };

    let error_state = dev_scalar(HR_PRINTER_ENTRY, 2)
        .and_then(|v| v.as_bytes())
        .map(<[u8]>::to_vec);
    let errors = error_state
        .as_deref()
        .map(decode_error_state)
        .unwrap_or_default();

    PrinterReport {
        identity,
        device_index: dev,
        device_status: dev_scalar(HR_DEVICE_ENTRY, 5)
            .and_then(SnmpValue::as_i64)
            .map(DeviceStatus::from_i64),
        printer_status: dev_scalar(HR_PRINTER_ENTRY, 1)
            .and_then(SnmpValue::as_i64)
            .map(PrinterStatus::from_i64),
        error_state,
        errors,
        supplies: supplies(vars, dev),
        trays: trays(vars, dev),
        covers: covers(vars, dev),
        alerts: decode_alerts(vars, dev),
        page_count: dev_column(vars, PRT_MARKER_ENTRY, 4, dev)
            .values()
            .next()
            .and_then(|v| match v {
                SnmpValue::Unsigned(u) => Some(*u),
                SnmpValue::Integer(i) => u64::try_from(*i).ok(),
                _ => None,
            }),
    }
}

fn supplies(vars: &Varbinds, dev: u32) -> Vec<Supply> {
    let cols: Vec<BTreeMap<u32, &SnmpValue>> = (3..=9)
        .map(|c| dev_column(vars, PRT_SUPPLY_ENTRY, c, dev))
        .collect();
    let [colorant, class, kind, descr, unit, max, level] = &cols[..] else {
        return Vec::new();
    };
    let colorants = dev_column(vars, PRT_COLORANT_ENTRY, 4, dev);
    let indexes: BTreeSet<u32> = cols.iter().flat_map(|c| c.keys().copied()).collect();
    let mut out: Vec<Supply> = indexes
        .into_iter()
        .map(|i| {
            let (description, part_number) = descr
                .get(&i)
                .and_then(|v| v.as_bytes())
                .map(clean_description)
                .unwrap_or_default();
            let colour = int_of(colorant.get(&i))
                .filter(|&c| c > 0)
                .and_then(|c| u32::try_from(c).ok())
                .and_then(|c| text_of(colorants.get(&c).copied()))
                .map(|c| c.to_ascii_lowercase())
                .filter(|c| c != "unknown" && c != "other")
                .or_else(|| colour_in(&description));
            let (kind, classified_by) =
                classify_supply(int_of(kind.get(&i)), &description, colour.as_deref());
            let class = match int_of(class.get(&i)) {
                Some(3) => SupplyClass::Consumed,
                Some(4) => SupplyClass::Receptacle,
                _ => SupplyClass::Other,
            };
            let unit = int_of(unit.get(&i));
            let level = int_of(level.get(&i));
            let max = int_of(max.get(&i));
            let description = if description.is_empty() {
                match &colour {
                    Some(c) => format!("{} {}", capitalise(c), kind.noun()),
                    None => format!("Supply {i}"),
                }
            } else {
                description
            };
            Supply {
                index: i,
                kind,
                classified_by,
                class,
                colour,
                description,
                part_number,
                unit,
                level,
                max,
                state: SupplyState::from_level(level, max),
            }
        })
        .collect();
    // Names the agent repeats ("Toner Cartridge" four times) get their colour in front, then
    // their index if that is not enough.
    for pass in 0..2 {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for s in &out {
            *seen.entry(s.description.to_lowercase()).or_default() += 1;
        }
        for s in &mut out {
            if seen[&s.description.to_lowercase()] > 1 {
                s.description = match (&s.colour, pass) {
                    (Some(c), 0) if !s.description.to_lowercase().starts_with(c.as_str()) => {
                        format!("{} {}", capitalise(c), s.description)
                    }
                    (_, 0) => s.description.clone(),
                    _ => format!("{} ({})", s.description, s.index),
                };
            }
        }
    }
    out
}

fn trays(vars: &Varbinds, dev: u32) -> Vec<Tray> {
    let cols: Vec<BTreeMap<u32, &SnmpValue>> = [2, 9, 10, 11, 12, 13]
        .iter()
        .map(|&c| dev_column(vars, PRT_INPUT_ENTRY, c, dev))
        .collect();
    let [input_type, max, level, status, media, name] = &cols[..] else {
        return Vec::new();
    };
    let indexes: BTreeSet<u32> = cols.iter().flat_map(|c| c.keys().copied()).collect();
    let mut trays: Vec<Tray> = indexes
        .into_iter()
        .map(|i| {
            let name = text_of(name.get(&i).copied()).unwrap_or_else(|| format!("Tray {i}"));
            let max = int_of(max.get(&i));
            let level = int_of(level.get(&i));
            Tray {
                index: i,
                name,
                media: text_of(media.get(&i).copied()),
                max,
                level,
                status: int_of(status.get(&i)),
                input_type: int_of(input_type.get(&i)),
                bypass: false,
                bypass_reason: None,
                state: TrayState::from_level(level, max),
            }
        })
        .collect();
    let capacities: Vec<Option<i64>> = trays.iter().map(|t| t.max).collect();
    for (k, t) in trays.iter_mut().enumerate() {
        let larger_elsewhere = |m: i64| {
            capacities
                .iter()
                .enumerate()
                .any(|(j, c)| j != k && c.is_some_and(|c| c >= 2 * m))
        };
        t.bypass_reason = if is_bypass_name(&t.name) {
            Some(BypassReason::Name)
        } else if t.input_type == Some(5) {
            Some(BypassReason::ManualFeed)
        } else if t.max == Some(1) {
            Some(BypassReason::OneSheet)
        } else if is_generic_tray_name(&t.name)
            && !matches!(t.input_type, Some(3 | 6 | 7))
            && t.max
                .is_some_and(|m| (2..=SMALL_TRAY_SHEETS).contains(&m) && larger_elsewhere(m))
        {
            Some(BypassReason::SmallUnnamed)
        } else {
            None
        };
        t.bypass = t.bypass_reason.is_some();
    }
    trays
}

fn covers(vars: &Varbinds, dev: u32) -> Vec<Cover> {
    let descr = dev_column(vars, PRT_COVER_ENTRY, 2, dev);
    let status = dev_column(vars, PRT_COVER_ENTRY, 3, dev);
    let indexes: BTreeSet<u32> = descr.keys().chain(status.keys()).copied().collect();
    indexes
        .into_iter()
        .map(|i| Cover {
            index: i,
            description: text_of(descr.get(&i).copied()).unwrap_or_else(|| format!("Cover {i}")),
            status: int_of(status.get(&i)),
        })
        .collect()
}

/// The alert table rows of device `dev` (as [`decode`] reads them).
pub fn decode_alerts(vars: &Varbinds, dev: u32) -> Vec<PrinterAlert> {
    let cols: Vec<BTreeMap<u32, &SnmpValue>> = [2, 4, 5, 7, 8]
        .iter()
        .map(|&c| dev_column(vars, PRT_ALERT_ENTRY, c, dev))
        .collect();
    let [severity, group, group_index, code, descr] = &cols[..] else {
        return Vec::new();
    };
    let indexes: BTreeSet<u32> = cols.iter().flat_map(|c| c.keys().copied()).collect();
    indexes
        .into_iter()
        .map(|i| PrinterAlert {
            index: i,
            severity: int_of(severity.get(&i)),
            group: int_of(group.get(&i)),
            group_index: int_of(group_index.get(&i)),
            code: int_of(code.get(&i)),
            description: descr
                .get(&i)
                .and_then(|v| v.as_bytes())
                .map(|b| clean_description(b).0)
                .unwrap_or_default(),
        })
        .collect()
}

impl fmt::Display for SupplyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Known(p) => write!(f, "{} %", p.round()),
            Self::SomeRemaining => f.write_str("some left"),
            Self::Unknown => f.write_str("level unknown"),
            Self::Unrestricted => f.write_str("unrestricted"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bits_msb_first_any_length() {
        assert_eq!(
            decode_error_state(&[0x80, 0x00]),
            vec![DetectedError::LowPaper]
        );
        assert_eq!(
            decode_error_state(&[0x01, 0x00]),
            vec![DetectedError::ServiceRequested]
        );
        assert_eq!(decode_error_state(&[0x04]), vec![DetectedError::Jammed]);
        assert_eq!(decode_error_state(&[]), vec![]);
        assert_eq!(
            decode_error_state(&[0x00, 0x02, 0x80]),
            vec![
                DetectedError::OverduePreventMaint,
                DetectedError::Undefined(16)
            ]
        );
    }

    #[test]
    fn supply_states_never_invent_numbers() {
        use SupplyState::*;
        let cases = [
            ((Some(-3), Some(-2)), SomeRemaining),
            ((Some(-3), Some(100)), SomeRemaining),
            ((Some(-2), Some(100)), Unknown),
            ((Some(-1), Some(100)), Unrestricted),
            ((Some(-100), Some(100)), Unknown),
            // Level and capacity must both be known for a percentage.
            ((Some(0), Some(-2)), Unknown),
            ((Some(0), Some(-1)), Unknown),
            ((Some(0), Some(0)), Unknown),
            ((Some(0), None), Unknown),
            ((Some(40), Some(-2)), Unknown),
            ((Some(40), None), Unknown),
            ((None, Some(100)), Unknown),
            ((Some(0), Some(100)), Known(0.0)),
            ((Some(150), Some(100)), Known(100.0)),
            ((Some(2100), Some(3000)), Known(70.0)),
        ];
        for ((level, max), want) in cases {
            assert_eq!(
                SupplyState::from_level(level, max),
                want,
                "{level:?} of {max:?}"
            );
        }
    }

    #[test]
    fn descriptions_name_the_type_in_vendors_words() {
        use SupplyType::*;
        let cases: &[(&str, SupplyType, &str)] = &[
            ("Black Cartridge HP CF287A", TonerCartridge, "cartridge"),
            (
                "Black Cartridge 827A HP CF300A",
                TonerCartridge,
                "cartridge",
            ),
            ("Canon Cartridge 719", TonerCartridge, "cartridge"),
            ("Canon CRG-054H Y", TonerCartridge, "crg"),
            ("Cartouche d'encre noire", Ink, "encre"),
            ("Cartucho de tóner negro", Toner, "toner"),
            ("Tóner Negro", Toner, "toner"),
            ("Schwarz Tonerkassette", Toner, "toner"),
            ("Druckpatrone schwarz", TonerCartridge, "patrone"),
            ("Tinte Schwarz", Ink, "tinte"),
            ("Tintenpatrone Cyan", Ink, "tinte"),
            ("Encre Magenta", Ink, "encre"),
            ("Inchiostro giallo", Ink, "inchiostro"),
            ("Black Ink Cartridge", Ink, "ink"),
            ("Fusing Unit", Fuser, "fusing"),
            ("Fuser Kit HP 110V-C1N54A", Fuser, "fuser"),
            ("Fixiereinheit", Fuser, "fixier"),
            ("Fixing Assembly", Fuser, "fixing"),
            ("Unité de fusion", Fuser, "fusion"),
            ("Unidad fusora", Fuser, "fusor"),
            ("Unità fusore", Fuser, "fusor"),
            ("Imaging Unit", Opc, "imaging unit"),
            ("Drum Unit", Opc, "drum"),
            ("Drum Cartridge (R1)", Opc, "drum"),
            ("Black Image Drum Unit OKI DATA CORP", Opc, "drum"),
            ("Bildtrommel", Opc, "trommel"),
            ("Tambour noir", Opc, "tambour"),
            ("OPC Belt", Opc, "opc"),
            ("Developer Unit", Developer, "developer"),
            ("Entwicklereinheit", Developer, "entwickler"),
            ("Waste Toner Box", WasteToner, "waste"),
            ("Toner Collection Unit", WasteToner, "collection"),
            ("Resttonerbehälter", WasteToner, "resttoner"),
            ("Récupérateur de toner usagé", WasteToner, "recuperateur"),
            ("Depósito de tóner residual", WasteToner, "residual"),
            ("Waste Ink Tank", WasteInk, "waste"),
            ("Maintenance Box", WasteInk, "maintenance box"),
            ("Wartungsbox", WasteInk, "wartungsbox"),
            ("Transfer Belt", TransferUnit, "transfer"),
            ("Transfer Roller", TransferUnit, "transfer"),
            ("Second Bias Transfer Roll", TransferUnit, "transfer"),
            ("Belt Unit OKI DATA CORP", TransferUnit, "belt"),
            ("Übertragungsband", TransferUnit, "ubertragung"),
            ("Courroie de transfert", TransferUnit, "transfer"),
            ("Maintenance Kit", MaintenanceKit, "maintenance"),
            ("Maintenance Kit HP F2A76A", MaintenanceKit, "maintenance"),
            ("Wartungskit", MaintenanceKit, "wartung"),
            ("Kit de mantenimiento", MaintenanceKit, "mantenimiento"),
            (
                "Document Feeder Kit HP C1P70A",
                MaintenanceKit,
                "feeder kit",
            ),
            ("Tray 1 Retard Roller Life", MaintenanceKit, "roller"),
            ("Cleaning Unit", CleanerUnit, "cleaning"),
            ("Staple Cartridge", Staples, "staple"),
            ("Heftklammern", Staples, "heftklammer"),
        ];
        for (text, kind, word) in cases {
            assert_eq!(type_from_description(text), Some((*kind, *word)), "{text}");
        }
        for text in [
            "",
            "Supply 1",
            "054H Y",
            "Pink thing",
            "HP CF411A",
            "Стопка",
        ] {
            assert_eq!(type_from_description(text), None, "{text}");
        }
    }

    #[test]
    fn the_type_column_wins_unless_it_says_nothing() {
        let rule = |t: Option<i64>, d: &str, c: Option<&str>| classify_supply(t, d, c);
        assert_eq!(
            rule(Some(21), "Black Cartridge", None),
            (SupplyType::TonerCartridge, SupplyRule::TypeColumn)
        );
        // A type the MIB defines but the decoder does not judge stays what it is.
        assert_eq!(
            rule(Some(27), "Black Binding Tape", Some("black")),
            (SupplyType::Other(27), SupplyRule::TypeColumn)
        );
        assert_eq!(
            rule(Some(18), "Cleaner", None),
            (SupplyType::CleanerUnit, SupplyRule::TypeColumn)
        );
        assert_eq!(
            rule(Some(26), "Punch Waste", None),
            (SupplyType::OtherWaste, SupplyRule::TypeColumn)
        );
        let by = |w: &str| SupplyRule::Description { word: w.into() };
        for t in [None, Some(1), Some(2), Some(0), Some(99), Some(-4)] {
            assert_eq!(
                rule(t, "Canon Cartridge 719", None),
                (SupplyType::TonerCartridge, by("cartridge")),
                "{t:?}"
            );
            assert_eq!(
                rule(t, "054H Y", Some("yellow")),
                (
                    SupplyType::Other(t.unwrap_or(0)),
                    SupplyRule::MarkerColourFallback
                ),
                "{t:?}"
            );
            assert_eq!(
                rule(t, "Part 7", None),
                (SupplyType::Other(t.unwrap_or(0)), SupplyRule::Unclassified),
                "{t:?}"
            );
        }
        let json = serde_json::to_string(&by("fusing")).unwrap();
        assert_eq!(json, r#"{"rule":"description","word":"fusing"}"#);
        assert_eq!(
            serde_json::to_string(&SupplyRule::Unclassified).unwrap(),
            r#"{"rule":"none"}"#
        );
        assert_eq!(
            serde_json::from_str::<SupplyRule>(r#"{"rule":"marker_colour_fallback"}"#).unwrap(),
            SupplyRule::MarkerColourFallback
        );
    }

    #[test]
    fn descriptions_are_cleaned() {
        let hp = b"Black Cartridge \n38 32 37 41 20 48 50 20 43 46 33 30 30 41 00 ";
        assert_eq!(clean_description(hp).0, "Black Cartridge 827A HP CF300A");
        assert_eq!(
            clean_description(b"Black Toner Cartridge S/N:CRUM-"),
            ("Black Toner Cartridge".to_string(), None)
        );
        assert_eq!(
            clean_description(b"Black Toner, PN 006R01509;SN48178080E0000481"),
            ("Black Toner".to_string(), Some("006R01509".to_string()))
        );
        assert_eq!(
            clean_description(b"Fuser, PN unknown;SNunknown"),
            ("Fuser".to_string(), None)
        );
        assert_eq!(clean_description(b"Toner\0\0\0").0, "Toner");
        assert_eq!(
            clean_description(b"426C61636B20546F6E6572").0,
            "Black Toner"
        );
        assert_eq!(clean_description(b"").0, "");
    }

    #[test]
    fn colours_from_descriptions() {
        assert_eq!(colour_in("Toner (Cyan)").as_deref(), Some("cyan"));
        assert_eq!(
            colour_in("CANON Matte Black Ink Tank").as_deref(),
            Some("matte black")
        );
        assert_eq!(colour_in("Blackish thing"), None);
        assert_eq!(colour_in("Fuser"), None);
    }

    #[test]
    fn reports_read_back_from_json() {
        let v = parse_snmprec(
            "1.3.6.1.2.1.25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.5\n1.3.6.1.2.1.25.3.2.1.5.1|2|3\n\
             1.3.6.1.2.1.25.3.5.1.1.1|2|4\n1.3.6.1.2.1.25.3.5.1.2.1|4x|0480\n\
             1.3.6.1.2.1.43.6.1.1.2.1.1|4|Front Door\n1.3.6.1.2.1.43.6.1.1.3.1.1|2|3\n\
             1.3.6.1.2.1.43.8.2.1.9.1.1|2|500\n1.3.6.1.2.1.43.8.2.1.10.1.1|2|0\n\
             1.3.6.1.2.1.43.11.1.1.5.1.1|2|3\n1.3.6.1.2.1.43.11.1.1.6.1.1|4|Black Toner\n\
             1.3.6.1.2.1.43.11.1.1.8.1.1|2|200\n1.3.6.1.2.1.43.11.1.1.9.1.1|2|50\n\
             1.3.6.1.2.1.43.11.1.1.9.1.2|2|-3\n1.3.6.1.2.1.43.18.1.1.2.1.1|2|3\n\
             1.3.6.1.2.1.43.18.1.1.7.1.1|2|8\n",
        );
        let r = decode(&v);
        assert_eq!(r.errors.len(), 2);
        let json = serde_json::to_string(&r).unwrap();
        let back: PrinterReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r, "{json}");
    }

    #[test]
    fn snmprec_lines() {
        let v = parse_snmprec(
            "1.3.6.1.2.1.1.1.0|4|Printer\n1.3.6.1.2.1.25.3.5.1.2.1|4x|8000\n\
             1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.11\nbad line\n1.3.6.1.2.1.43.10.2.1.4.1.1|65|22934\n",
        );
        assert_eq!(v.len(), 4);
        assert_eq!(
            v[&parse_oid("1.3.6.1.2.1.25.3.5.1.2.1").unwrap()],
            SnmpValue::OctetString(vec![0x80, 0])
        );
        let r = decode(&v);
        assert_eq!(r.errors, vec![DetectedError::LowPaper]);
        assert_eq!(r.page_count, Some(22934));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Any value of any type, including negative capacities, empty and binary strings.
    fn value() -> impl Strategy<Value = SnmpValue> {
        prop_oneof![
            any::<i64>().prop_map(SnmpValue::Integer),
            (-5i64..200).prop_map(SnmpValue::Integer),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(SnmpValue::OctetString),
            "[ -~\n]{0,40}".prop_map(|s| SnmpValue::OctetString(s.into_bytes())),
            proptest::collection::vec(any::<u32>(), 0..12).prop_map(SnmpValue::ObjectId),
            any::<u64>().prop_map(SnmpValue::Unsigned),
            any::<[u8; 4]>().prop_map(SnmpValue::IpAddress),
            Just(SnmpValue::Null),
        ]
    }

    /// OIDs in the columns the decoder reads (with odd index lengths too), plus the scalars.
    fn oid() -> impl Strategy<Value = Oid> {
        let cols = walked_columns().to_vec();
        prop_oneof![
            (0..cols.len(), proptest::collection::vec(0u32..4, 0..4)).prop_map(move |(c, idx)| {
                let mut o = cols[c].clone();
                o.extend(idx);
                o
            }),
            (0..SCALARS.len()).prop_map(|i| SCALARS[i].to_vec()),
        ]
    }

    proptest! {
        #[test]
        fn decode_never_panics(vars in proptest::collection::btree_map(oid(), value(), 0..120)) {
            let r = decode(&vars);
            for s in &r.supplies {
                if let SupplyState::Known(p) = s.state {
                    prop_assert!((0.0..=100.0).contains(&p), "{p}");
                }
            }
            for t in &r.trays {
                if let TrayState::Known(p) = t.state {
                    prop_assert!((0.0..=100.0).contains(&p), "{p}");
                }
            }
            let names: BTreeSet<String> =
                r.supplies.iter().map(|s| s.description.to_lowercase()).collect();
            prop_assert_eq!(names.len(), r.supplies.len(), "descriptions are unique");
            let interp = super::super::interpret::Interpretation::default();
            let _ = interp.verdict("p", &r, &|_| Some(f64::NAN));
        }

        #[test]
        fn error_bits_match_the_set_bits(bytes in proptest::collection::vec(any::<u8>(), 0..6)) {
            let errors = decode_error_state(&bytes);
            let ones: u32 = bytes.iter().map(|b| b.count_ones()).sum();
            prop_assert_eq!(errors.len() as u32, ones);
        }

        #[test]
        fn descriptions_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let (text, _) = clean_description(&bytes);
            prop_assert!(!text.contains('\0'));
            prop_assert_eq!(text.trim(), text.as_str());
        }

        #[test]
        fn snmprec_never_panics(text in "[0-9.|x a-fA-F\n-]{0,200}") {
            let _ = decode(&parse_snmprec(&text));
        }
    }
}
