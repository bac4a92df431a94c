//! The printer probe against real device recordings: decoded offline and over UDP from
//! snmpsim (v1, v2c, v3 authPriv), a silent agent, odd agents, discovery and the forecast.
//!
//! Every expected value below was worked out from the raw `OID|TAG|VALUE` lines of the
//! recordings (quoted in the comments, with the common prefixes `25.3.` = Host-Resources
//! `1.3.6.1.2.1.25.3.` and `43.` = Printer-MIB `1.3.6.1.2.1.43.`): level / max capacity for
//! percentages, -3 = some remaining, -2 = unknown, error bits MSB first.

#[path = "support/snmpsim.rs"]
mod snmpsim;

use std::fmt::Write as _;
use std::net::{IpAddr, UdpSocket};
use std::time::{Duration, Instant};

use chrono::Utc;
use forewarn::probe::printer::discover::{DiscoverOptions, addresses, to_config};
use forewarn::probe::printer::mib::{self, PrinterReport, SupplyRule, SupplyState, TrayState};
use forewarn::probe::printer::{PrinterConfig, SnmpVersion, discover};
use forewarn::{CheckContext, Observation, Probe, Secret, SqliteStore, Status, Store};

use snmpsim::{RECORDINGS, Snmpsim, V3_AUTH, V3_PRIV, V3_USER};

/// One line per fact, so a mismatch shows exactly what differs.
fn render(r: &PrinterReport) -> String {
    let mut s = String::new();
    writeln!(
        s,
        "device {} {:?} printer {:?} errors {:?}",
        r.device_index, r.device_status, r.printer_status, r.errors
    )
    .unwrap();
    writeln!(
        s,
        "model {:?} serial {:?} pages {:?}",
        r.identity.model, r.identity.serial, r.page_count
    )
    .unwrap();
    for p in &r.supplies {
        let state = match p.state {
            SupplyState::Known(v) => format!("{v:.1}%"),
            SupplyState::SomeRemaining => "some".into(),
            SupplyState::Unknown => "unknown".into(),
            SupplyState::Unrestricted => "unrestricted".into(),
        };
        write!(
            s,
            "supply {} {:?} {:?} {} {:?} {state}",
            p.index,
            p.kind,
            p.class,
            p.colour.as_deref().unwrap_or("-"),
            p.description
        )
        .unwrap();
        if let Some(pn) = &p.part_number {
            write!(s, " PN {pn}").unwrap();
        }
        match &p.classified_by {
            SupplyRule::TypeColumn => {}
            SupplyRule::Description { word } => write!(s, " [description {word:?}]").unwrap(),
            SupplyRule::MarkerColourFallback => s.push_str(" [marker colour]"),
            SupplyRule::Unclassified => s.push_str(" [unclassified]"),
        }
        s.push('\n');
    }
    for t in &r.trays {
        let state = match t.state {
            TrayState::Known(v) => format!("{v:.1}%"),
            TrayState::Empty => "empty".into(),
            TrayState::SomeRemaining => "some".into(),
            TrayState::Unknown => "unknown".into(),
            TrayState::Unrestricted => "unrestricted".into(),
        };
        write!(s, "tray {} {:?} {state}", t.index, t.name).unwrap();
        if let Some(why) = t.bypass_reason {
            write!(s, " bypass ({why:?})").unwrap();
        }
        s.push('\n');
    }
    s
}

/// What each recording must decode to, the status and the summary of a check named after it.
fn expected(name: &str) -> (&'static str, Status, &'static str) {
    match name {
        // 25.3.2.1.2.1|6|1.3.6.1.2.1.25.3.1.5 (printer) · 25.3.2.1.5.1|2|2 · 25.3.5.1.2.1|4x|00
        // 25.3.2.1.3.1|4|Brother MFC-L2710DW series
        // 43.11.1.1.5.1.1|2|3 toner · 8.1.1|2|-2 · 9.1.1|2|-3 → some remaining
        // 43.11.1.1.5.1.2|2|9 opc · 8.1.2|2|12000 · 9.1.2|2|11501 → 95.8 %
        // 43.8.2.1.9/10/13: 250/-3 AUTO · 1/-3 MANUAL TRAY · 250/-3 TRAY1
        "brother" => (
            "device 1 Some(Running) printer None errors []
model Some(\"Brother MFC-L2710DW series\") serial None pages None
supply 1 Toner Other black \"Black Toner Cartridge\" some
supply 2 Opc Other - \"Drum Unit\" 95.8%
tray 1 \"AUTO\" some
tray 2 \"MANUAL TRAY\" some bypass (Name)
tray 3 \"TRAY1\" some
",
            Status::Ok,
            "brother: ready, 3 trays ok",
        ),
        // 25.3.2.1.5.1|2|2 · 25.3.5.1.2.1|4x|00 · 43.10.2.1.4.1.1|65|21588
        // 43.11.1.1.5.1.1-5|2|6 inkCartridge, 5.1.6|2|8 wasteInk; levels/max:
        // 2400/3000, 3000/3000, 1800/3000, 2400/3000, 2100/3000, 6030/6700 (90 % space left)
        // 43.8.2.1: 1 "Multi-Purpose Tray" 1/0 · 2 "Roll Unit 1" 200000000/-3
        "canonprinter_tm" => (
            "device 1 Some(Running) printer None errors []
model Some(\"Canon TM-5300\") serial None pages Some(21588)
supply 1 InkCartridge Other matte black \"CANON Matte Black Ink Tank\" 80.0%
supply 2 InkCartridge Other black \"CANON Black Ink Tank\" 100.0%
supply 3 InkCartridge Other yellow \"CANON Yellow Ink Tank\" 60.0%
supply 4 InkCartridge Other magenta \"CANON Magenta Ink Tank\" 80.0%
supply 5 InkCartridge Other cyan \"CANON Cyan Ink Tank\" 70.0%
supply 6 WasteInk Other - \"CANON Waste Ink Tank\" 90.0%
tray 1 \"Multi-Purpose Tray\" empty bypass (Name)
tray 2 \"Roll Unit 1\" some
",
            Status::Ok,
            "canonprinter_tm: ready, lowest Yellow ink 60 %, 2 trays ok",
        ),
        // 25.3.2.1.2.1 printer (2–4 are other devices) · 25.3.2.1.5.1|2|3 warning
        // 25.3.5.1.2.1|4| (empty: no error bits) · 43.5.1.1.17.1|4|X3B8022793
        // 43.11.1.1.5.1.1-4|2|5 ink · max 100 · level 1 each → 1 % (critical at 5 %)
        // 43.8.2.1: 80/-2 "Rear Auto Sheet Feeder" · 250/-2 "Sheet feeder bin 1" → unknown
        "epson" => (
            "device 1 Some(Warning) printer None errors []
model Some(\"EPSON WF-C5790BA\") serial Some(\"X3B8022793\") pages None
supply 1 Ink Other black \"Black Ink Supply Unit T9441/T9451/T9461\" 1.0%
supply 2 Ink Other cyan \"Cyan Ink Supply Unit T9442/T9452\" 1.0%
supply 3 Ink Other magenta \"Magenta Ink Supply Unit T9443/T9453\" 1.0%
supply 4 Ink Other yellow \"Yellow Ink Supply Unit T9444/T9454\" 1.0%
tray 1 \"Rear Auto Sheet Feeder\" unknown
tray 2 \"Sheet feeder bin 1\" unknown
",
            Status::Critical,
            "epson: Black ink 1 %, Cyan ink 1 %, Magenta ink 1 %, Yellow ink 1 %",
        ),
        // No Host-Resources rows: the device index (1) comes from 43.11.1.1.5.1.2.
        // 1.1.1.0|4|FUJIFILM Apeos C7580 · 43.5.1.1.17.1|4|TC101642170085
        // 43.11.1.1.5: 2-4 toner, 5 wasteToner (-2/-3), 6-9 opc, 30-31 toner
        // levels: 25000/25000 ×3, 287100/290000 = 99.0 %, 290000/290000 ×3, 23000/23000,
        // 20700/23000 = 90 % · trays 450/600, 450/600, 735/980, 710/1420, 0/180 (no names:
        // the 180-sheet one is the bypass tray)
        "fujifilmprinter_c7580" => (
            "device 1 None printer None errors []
model Some(\"FUJIFILM Apeos C7580\") serial Some(\"TC101642170085\") pages None
supply 2 Toner Other yellow \"Yellow Toner\" 100.0%
supply 3 Toner Other magenta \"Magenta Toner\" 100.0%
supply 4 Toner Other cyan \"Cyan Toner\" 100.0%
supply 5 WasteToner Other - \"Waste Toner Container\" some
supply 6 Opc Other black \"Black Drum Cartridge\" 99.0%
supply 7 Opc Other yellow \"Yellow Drum Cartridge\" 100.0%
supply 8 Opc Other magenta \"Magenta Drum Cartridge\" 100.0%
supply 9 Opc Other cyan \"Cyan Drum Cartridge\" 100.0%
supply 30 Toner Other black \"Black Toner 1\" 100.0%
supply 31 Toner Other black \"Black Toner 2\" 90.0%
tray 1 \"Tray 1\" 75.0%
tray 2 \"Tray 2\" 75.0%
tray 3 \"Tray 3\" 75.0%
tray 4 \"Tray 4\" 50.0%
tray 5 \"Tray 5\" empty bypass (SmallUnnamed)
",
            Status::Ok,
            "fujifilmprinter_c7580: ready, lowest Black toner 90 %, 5 trays ok",
        ),
        // 25.3.2.1.2.1 printer · 25.3.2.1.5.1|2|2 · 25.3.5.1.2.1|4x|00
        // 43.11.1.1.6.1.N|4x|… : the first line, then the rest as hex text, NUL-terminated
        //   ("Cyan Cartridge 8\n32 37 41 20 48 50 20 43 46 33 30 31 41 00 ")
        // 43.11.1.1.4 class 3 (consumed) except 4.1.12|2|1 · 43.11.1.1.5: 21 ×4, 9 ×4, 20,
        // 15, 1, 1, 32 ×3 · levels of 100: 92 16 100 70 53 58 58 58 89 84 99 97, staplers
        // -3 of -2 · 43.8.2.1: "Tray 1" 0/100, "Tray 2" 200/500, "Tray 3" 300/1500,
        // index 5 "Tray 4" 400/2000; 43.8.2.1.2.1.1|2|4 (non-removable): HP's Tray 1 is the
        // multipurpose tray · types 1 (other) of 11 and 12: typed by their description
        "jetdirect_m880" => (
            "device 1 Some(Running) printer None errors []
model Some(\"HP Color LaserJet flow MFP M880\") serial None pages None
supply 1 TonerCartridge Consumed black \"Black Cartridge 827A HP CF300A\" 92.0%
supply 2 TonerCartridge Consumed cyan \"Cyan Cartridge 827A HP CF301A\" 16.0%
supply 3 TonerCartridge Consumed magenta \"Magenta Cartridge 827A HP CF303A\" 100.0%
supply 4 TonerCartridge Consumed yellow \"Yellow Cartridge 827A HP CF302A\" 70.0%
supply 5 Opc Consumed black \"Black Drum 828A HP CF358A\" 53.0%
supply 6 Opc Consumed cyan \"Cyan Drum 828A HP CF359A\" 58.0%
supply 7 Opc Consumed magenta \"Magenta Drum 828A HP CF365A\" 58.0%
supply 8 Opc Consumed yellow \"Yellow Drum 828A HP CF364A\" 58.0%
supply 9 TransferUnit Consumed - \"Transfer Kit HP D7H14A\" 89.0%
supply 10 Fuser Consumed - \"Fuser Kit HP 110V-C1N54A, 220V-C1N58A\" 84.0%
supply 11 MaintenanceKit Consumed - \"Document Feeder Kit HP C1P70A\" 99.0% [description \"feeder kit\"]
supply 12 MaintenanceKit Other - \"Clean Rollers HP None\" 97.0% [description \"roller\"]
supply 13 Staples Consumed - \"Stapler 1 HP C8091A\" some
supply 14 Staples Consumed - \"Stapler 2 HP CC383A\" some
supply 15 Staples Consumed - \"Stapler 3 HP CC383A\" some
tray 1 \"Tray 1\" empty bypass (SmallUnnamed)
tray 2 \"Tray 2\" 40.0%
tray 3 \"Tray 3\" 20.0%
tray 5 \"Tray 4\" 20.0%
",
            Status::Warning,
            "jetdirect_m880: Cyan toner 16 %",
        ),
        // 25.3.2.1.2.1 printer · 25.3.2.1.5.1|2|3 warning · 25.3.5.1.2.1|4x|0100 → bit 7
        // serviceRequested · 43.10.2.1.4.1.1|65|33810 · 43.5.1.1.17.1|4|AA2M021115700
        // 43.11.1.1: toner 76 78 77 86 of 100, 5.1.13|2|4 waste -3 of -2
        // 43.8.2.1: 500/500, 500/500, index 7 0/150 (no names: the bypass tray)
        "konica_c250i" => (
            "device 1 Some(Warning) printer None errors [ServiceRequested]
model Some(\"KONICA MINOLTA bizhub C250i\") serial Some(\"AA2M021115700\") pages Some(33810)
supply 1 Toner Other cyan \"Toner (Cyan)\" 76.0%
supply 2 Toner Other magenta \"Toner (Magenta)\" 78.0%
supply 3 Toner Other yellow \"Toner (Yellow)\" 77.0%
supply 4 Toner Other black \"Toner (Black)\" 86.0%
supply 13 WasteToner Other - \"Waste Toner Box\" some
tray 1 \"Tray 1\" 100.0%
tray 2 \"Tray 2\" 100.0%
tray 7 \"Tray 7\" empty bypass (SmallUnnamed)
",
            Status::Warning,
            "konica_c250i: service requested",
        ),
        // No hrDeviceType; 25.3.2.1.5.1|2|2 · 25.3.5.1.2.1|4x|0000 · sysDescr is a long
        // banner without a short first part, so no model.
        // 43.11.1.1: toner 59 69 69 69 of 100; drums 28407 28771 ×3 of 30000 (94.7, 95.9);
        // 5.1.9|2|20 belt 78392/80000 = 98.0; 5.1.10|2|15 fuser 98842/100000 = 98.8
        // 43.8.2.1: TRAY1 300/-3, MPTRAY 100/-3, TRAY2 530/-3
        "okilan_9450g" => (
            "device 1 Some(Running) printer None errors []
model None serial None pages None
supply 1 Toner Other black \"Black Toner Cartridge OKI DATA CORP\" 59.0%
supply 2 Toner Other cyan \"Cyan Toner Cartridge OKI DATA CORP\" 69.0%
supply 3 Toner Other magenta \"Magenta Toner Cartridge OKI DATA CORP\" 69.0%
supply 4 Toner Other yellow \"Yellow Toner Cartridge OKI DATA CORP\" 69.0%
supply 5 Opc Other black \"Black Image Drum Unit OKI DATA CORP\" 94.7%
supply 6 Opc Other cyan \"Cyan Image Drum Unit OKI DATA CORP\" 95.9%
supply 7 Opc Other magenta \"Magenta Image Drum Unit OKI DATA CORP\" 95.9%
supply 8 Opc Other yellow \"Yellow Image Drum Unit OKI DATA CORP\" 95.9%
supply 9 TransferUnit Other - \"Belt Unit OKI DATA CORP\" 98.0%
supply 10 Fuser Other - \"Fuser Unit OKI DATA CORP\" 98.8%
tray 1 \"TRAY1\" some
tray 2 \"MPTRAY\" some bypass (Name)
tray 3 \"TRAY2\" some
",
            Status::Ok,
            "okilan_9450g: ready, lowest Black toner 59 %, 3 trays ok",
        ),
        // 25.3.2.1.2.1 printer · 25.3.2.1.5.1|2|3 warning · 25.3.5.1.2.1|4x|00
        // 43.10.2.1.4.1.1|65|271871 · 43.5.1.1.17.1|4|W492KB03439
        // 43.11.1.1: 5.1.2|2|4 waste 100/100 (all space left); toner 40 20 50 50 of 100
        // 43.8.2.1: 55/550 ×3 (10 %, not below 10), 0/550 "Tray 4", 0/100 "Bypass Tray"
        "ricoh_mpc3002" => (
            "device 1 Some(Warning) printer None errors []
model Some(\"RICOH Aficio MP C3002\") serial Some(\"W492KB03439\") pages Some(271871)
supply 1 Toner Other black \"Black Toner\" 40.0%
supply 2 WasteToner Other - \"Waste Toner\" 100.0%
supply 3 Toner Other cyan \"Cyan Toner\" 20.0%
supply 4 Toner Other magenta \"Magenta Toner\" 50.0%
supply 5 Toner Other yellow \"Yellow Toner\" 50.0%
tray 1 \"Tray 1\" 10.0%
tray 2 \"Tray 2\" 10.0%
tray 3 \"Tray 3\" 10.0%
tray 4 \"Tray 4\" empty
tray 5 \"Bypass Tray\" empty bypass (Name)
",
            Status::Warning,
            "ricoh_mpc3002: Cyan toner 20 %, Tray 4 empty",
        ),
        // No hrDeviceType; 25.3.2.1.3.1|4|Samsung M408x Series · 25.3.2.1.5.1|2|3 warning
        // 25.3.5.1.2.1|4x|8000 → bit 0 lowPaper · 43.10.2.1.4.1.1|65|22934
        // 43.11.1.1: 1 toner 17600/20000 = 88 %, "… S/N:CRUM-"; 2 fuser 67066/90000 = 74.5;
        // 3–7 type 1 (other): 127066/150000 = 84.7, 95643/100000 = 95.6, 99959/100000,
        // 181069/200000 = 90.5 ×2 · 43.8.2.1: "Tray 1" 55/550, "MP Tray" 0/100
        "samsungprinter_m4080fx" => (
            "device 1 Some(Warning) printer None errors [LowPaper]
model Some(\"Samsung M408x Series\") serial None pages Some(22934)
supply 1 Toner Other black \"Black Toner Cartridge\" 88.0%
supply 2 Fuser Other - \"Fuser\" 74.5%
supply 3 TransferUnit Other - \"Transfer Roller\" 84.7% [description \"transfer\"]
supply 4 MaintenanceKit Other - \"ADF Roller\" 95.6% [description \"roller\"]
supply 5 MaintenanceKit Other - \"MP Roller\" 100.0% [description \"roller\"]
supply 6 MaintenanceKit Other - \"Tray 1 Roller\" 90.5% [description \"roller\"]
supply 7 MaintenanceKit Other - \"Tray 1 Retard Roller Life\" 90.5% [description \"roller\"]
tray 1 \"Tray 1\" 10.0%
tray 2 \"MP Tray\" empty bypass (Name)
",
            Status::Warning,
            "samsungprinter_m4080fx: low paper",
        ),
        // Only descriptions, levels and capacities (no type, class, unit, Host-Resources):
        // the type is read from the description. ", PN …;SN…" holds the part number.
        // 43.11.1.1.8/9: 1060/5300 = 20.0, 1980/3000 = 66, 2160/3000 = 72, 1830/3050 = 60,
        // drums 50 92 93 93, fuser 90, waste 5 (of 100: 95 % full), 65, 86
        "xerox" => (
            "device 1 None printer None errors []
model Some(\"Xerox AltaLink C8045\") serial None pages None
supply 1 Toner Other black \"Black Toner\" 20.0% PN 006R01509 [description \"toner\"]
supply 2 Toner Other cyan \"Cyan Toner\" 66.0% PN 006R01512 [description \"toner\"]
supply 3 Toner Other magenta \"Magenta Toner\" 72.0% PN 006R01511 [description \"toner\"]
supply 4 Toner Other yellow \"Yellow Toner\" 60.0% PN 006R01510 [description \"toner\"]
supply 5 Opc Other - \"Drum Cartridge (R1)\" 50.0% PN 013R00662 [description \"drum\"]
supply 6 Opc Other - \"Drum Cartridge (R2)\" 92.0% PN 013R00662 [description \"drum\"]
supply 7 Opc Other - \"Drum Cartridge (R3)\" 93.0% PN 013R00662 [description \"drum\"]
supply 8 Opc Other - \"Drum Cartridge (R4)\" 93.0% PN 013R00662 [description \"drum\"]
supply 9 Fuser Other - \"Fuser\" 90.0% [description \"fuser\"]
supply 10 WasteToner Other - \"Waste Toner Container\" 5.0% PN 008R13061 [description \"waste\"]
supply 11 TransferUnit Other - \"Transfer Belt Cleaner\" 65.0% PN 001R00613 [description \"transfer\"]
supply 12 TransferUnit Other - \"Second Bias Transfer Roll\" 86.0% PN 008R13064 [description \"transfer\"]
",
            Status::Warning,
            "xerox: Black toner 20 % (type from its description: \"toner\"), \
             Waste Toner Container 95 % full (type from its description: \"waste\")",
        ),
        // The project's fixture: the printer is hrDevice 2 (row 1 is the network card), down,
        // error state 1C00 (noToner, doorOpen, jammed), colours from the colorant table, a
        // repeated description, a hex-encoded waste description (8 % space left), an open
        // front door, and alerts for a jam in tray 2, the open door and the empty toner;
        // tray 1 (100 sheets, beside a 500-sheet tray 2) is the bypass tray.
        "jammed" => (
            "device 2 Some(Down) printer Some(Other) errors [NoToner, DoorOpen, Jammed]
model Some(\"HP Color LaserJet M880\") serial Some(\"JPBCK12345\") pages Some(123456)
supply 1 TonerCartridge Consumed black \"Black Toner Cartridge HP 827A\" 0.0%
supply 2 TonerCartridge Consumed cyan \"Cyan Toner Cartridge HP 827A\" 64.0%
supply 3 WasteToner Receptacle - \"Toner Collection Unit\" 8.0%
tray 1 \"Tray 1\" some bypass (SmallUnnamed)
tray 2 \"Tray 2\" 50.0%
",
            Status::Critical,
            "jammed: printer is down, Black toner empty, Toner Collection Unit 92 % full, \
             Front Door open, paper jam in tray 2",
        ),
        // The project's fixture of odd answers: strings where integers belong and the other
        // way round, negative capacities, empty and all-NUL strings, a Counter32 level.
        "odd" => (
            "device 1 None printer None errors []
model None serial None pages None
supply 1 Other(0) Other - \"Supply 1\" unknown [unclassified]
supply 2 Other(0) Other - \"Supply 2\" unknown [unclassified]
supply 3 Other(0) Other - \"Supply 3\" unknown [unclassified]
tray 1 \"Tray 1\" unknown
",
            Status::Ok,
            "odd: ready, 1 tray ok",
        ),
        // The project's fixture of an HP JetDirect without prtMarkerSuppliesType: the
        // descriptions type the supplies (the first one HP's two-line hex form, "Black
        // Cartridge HP " + hex text of "CF287A"), levels of 100: 3, 40, 6, and 70 of space
        // left in the class-4 collection unit; tray 1 (100 sheets, no name but "Tray 1")
        // beside a 250-sheet tray 2.
        "untyped_hp" => (
            "device 1 Some(Running) printer Some(Idle) errors []
model Some(\"HP LaserJet Pro M402dn\") serial Some(\"PHBQA12345\") pages Some(48120)
supply 1 TonerCartridge Consumed black \"Black Cartridge HP CF287A\" 3.0% [description \"cartridge\"]
supply 2 Opc Consumed black \"Imaging Drum HP CF232A\" 40.0% [description \"drum\"]
supply 3 MaintenanceKit Consumed - \"Maintenance Kit HP F2A76A\" 6.0% [description \"maintenance\"]
supply 4 WasteToner Receptacle - \"Toner Collection Unit\" 70.0% [description \"collection\"]
tray 1 \"Tray 1\" some bypass (SmallUnnamed)
tray 2 \"Tray 2\" 80.0%
",
            Status::Critical,
            "untyped_hp: Black toner 3 % (type from its description: \"cartridge\"), \
             Maintenance Kit HP F2A76A 6 % (type from its description: \"maintenance\")",
        ),
        // The project's fixture of a Canon LBP whose types say other (1) or unknown (2), or
        // are missing (row 4): 4 %, 8 %, 12 % and 60 % of 100; row 3 has no telling word but
        // the yellow colorant.
        "untyped_canon" => (
            "device 1 Some(Running) printer Some(Idle) errors []
model Some(\"Canon LBP664C\") serial Some(\"XDL01234\") pages Some(20311)
supply 1 TonerCartridge Other black \"Canon Cartridge 719\" 4.0% [description \"cartridge\"]
supply 2 Fuser Other - \"Fusing Unit\" 8.0% [description \"fusing\"]
supply 3 Other(2) Other yellow \"054H Y\" 12.0% [marker colour]
supply 4 TransferUnit Other - \"Transfer Belt\" 60.0% [description \"transfer\"]
tray 1 \"Multi-purpose Tray\" empty bypass (Name)
tray 2 \"Drawer 1\" 60.0%
",
            Status::Critical,
            "untyped_canon: Black toner 4 % (type from its description: \"cartridge\"), \
             Fusing Unit 8 % (type from its description: \"fusing\"), \
             054H Y 12 % (no type given: toner levels for its colour)",
        ),
        // The project's fixture of a toner at level 0 of an unknown (-2) capacity on a
        // running printer without the lowToner/noToner bits: the level is unknown, not empty.
        // The drum is 6000 of 12000.
        "unknown_level" => (
            "device 1 Some(Running) printer Some(Idle) errors []
model Some(\"Brother HL-L2350DW series\") serial None pages None
supply 1 Toner Other black \"Black Toner Cartridge\" unknown
supply 2 Opc Other - \"Drum Unit\" 50.0%
tray 1 \"TRAY1\" some
",
            Status::Ok,
            "unknown_level: ready, Black toner level unknown, 1 tray ok",
        ),
        // The project's fixture of inputs without names: 300/550 and 0/550 (removable, 3),
        // 0/100 (no type: a small tray beside larger ones), "Tray 4" 0/250 of type 5
        // (sheetFeedManual), 0/150 of type 3 (a small but removable cassette).
        "bypass_trays" => (
            "device 1 Some(Running) printer None errors []
model Some(\"KONICA MINOLTA bizhub C300i\") serial None pages None
supply 1 Toner Other black \"Toner (Black)\" 80.0%
tray 1 \"Tray 1\" 54.5%
tray 2 \"Tray 2\" empty
tray 3 \"Tray 3\" empty bypass (SmallUnnamed)
tray 4 \"Tray 4\" empty bypass (ManualFeed)
tray 5 \"Tray 5\" empty
",
            Status::Warning,
            "bypass_trays: Tray 2 empty, Tray 5 empty",
        ),
        other => panic!("no expectation for {other}"),
    }
}

fn recordings_available() -> bool {
    let dir = snmpsim::recordings_dir();
    if dir.join("jetdirect_m880.snmprec").exists() {
        return true;
    }
    snmpsim::skip::skip(
        "the shared printer recordings",
        format!("not in {} (set FOREWARN_PRINTER_RECORDINGS)", dir.display()),
    );
    false
}

/// snmpsim serving `names`, when the recordings are there (a missing peer skips locally and
/// fails under `CI=true`).
fn start_sim(names: &[&str]) -> Option<Snmpsim> {
    if !recordings_available() {
        return None;
    }
    Snmpsim::start_or_skip(names)
}

fn cx(name: &str, timeout: Duration) -> CheckContext {
    let mut cx = CheckContext::for_test(name);
    cx.timeout = timeout;
    cx
}

fn v2c(sim: &Snmpsim, community: &str) -> PrinterConfig {
    let mut c = PrinterConfig::new(sim.addrs[0].to_string());
    c.port = sim.port;
    c.community = Some(Secret::new(community));
    c
}

fn all_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = RECORDINGS.to_vec();
    names.extend([
        "jammed",
        "odd",
        "untyped_hp",
        "untyped_canon",
        "unknown_level",
    ]);
    names
}

#[test]
fn recordings_decode_offline() {
    if !recordings_available() {
        return;
    }
    for name in all_names() {
        let vars = mib::parse_snmprec(&snmpsim::recording(name).unwrap());
        let report = mib::decode(&vars);
        let (want, status, summary) = expected(name);
        assert_eq!(render(&report), want, "{name}");
        let probe = PrinterConfig::new("192.0.2.1").build().unwrap();
        let obs = probe.observe(&cx(name, Duration::from_secs(5)), &report);
        assert_eq!(
            (obs.status, obs.summary.as_str()),
            (status, summary),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_over_udp_v2c() {
    let names = all_names();
    let Some(sim) = start_sim(&names) else {
        return;
    };
    for name in names {
        let probe = v2c(&sim, name).build().unwrap();
        let poll = probe
            .poll(tokio::time::Instant::now() + Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (want, status, summary) = expected(name);
        assert_eq!(render(&poll.report), want, "{name} over UDP");
        // One GET and a handful of GETBULKs, not a walk per column.
        assert!(poll.requests <= 12, "{name}: {} requests", poll.requests);
        let obs = probe.check(&cx(name, Duration::from_secs(10))).await;
        assert_eq!(
            (obs.status, obs.summary.as_str()),
            (status, summary),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_agents_are_walked_with_getnext() {
    let Some(sim) = start_sim(&["jetdirect_m880", "jammed"]) else {
        return;
    };
    for name in ["jetdirect_m880", "jammed"] {
        let mut c = v2c(&sim, name);
        c.version = SnmpVersion::V1;
        let probe = c.build().unwrap();
        let poll = probe
            .poll(tokio::time::Instant::now() + Duration::from_secs(20))
            .await
            .unwrap();
        assert_eq!(render(&poll.report), expected(name).0, "{name} over v1");
        assert!(poll.requests > 20, "GETNEXT walks one row per request");
        // The next poll is one GET of the changing cells (plus the alert table when there are
        // alerts), with the same report.
        let steady = probe
            .poll(tokio::time::Instant::now() + Duration::from_secs(20))
            .await
            .unwrap();
        assert!(!steady.full, "{name} over v1");
        assert_eq!(*steady.report, *poll.report, "{name} over v1");
        if name == "jetdirect_m880" {
            assert_eq!(steady.requests, 1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_auth_priv_sha256_aes() {
    let Some(sim) = start_sim(&["jammed", "xerox"]) else {
        return;
    };
    let toml = format!(
        "host = \"127.0.0.1\"\nport = {}\nversion = \"3\"\nuser = \"{V3_USER}\"\n\
         auth_protocol = \"sha256\"\nauth_password = \"${{FOREWARN_TEST_V3_AUTH}}\"\n\
         privacy_protocol = \"aes\"\nprivacy_password = \"${{FOREWARN_TEST_V3_PRIV}}\"\n\
         context = \"jammed\"\nrequest_timeout = \"1s\"",
        sim.port
    );
    // SAFETY: variables only this test uses.
    unsafe {
        std::env::set_var("FOREWARN_TEST_V3_AUTH", V3_AUTH);
        std::env::set_var("FOREWARN_TEST_V3_PRIV", V3_PRIV);
    }
    let c: PrinterConfig = toml::from_str(&toml).unwrap();
    let probe = c.build().unwrap();
    let obs = probe.check(&cx("jammed", Duration::from_secs(10))).await;
    assert_eq!(
        (obs.status, obs.summary.as_str()),
        (expected("jammed").1, expected("jammed").2)
    );
    let mut xerox = c.clone();
    xerox.context = Some("xerox".into());
    let xerox = xerox.build().unwrap();
    let poll = xerox
        .poll(tokio::time::Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(render(&poll.report), expected("xerox").0);
    let steady = xerox
        .poll(tokio::time::Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!((steady.full, steady.requests), (false, 1));
    assert_eq!(*steady.report, *poll.report);

    // A wrong privacy key: no usable answer, and the keys appear nowhere.
    let mut wrong = c.clone();
    wrong.privacy_password = Some(Secret::new("not-the-priv-key"));
    let obs = wrong
        .build()
        .unwrap()
        .check(&cx("jammed", Duration::from_secs(5)))
        .await;
    assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
    for secret in [V3_AUTH, V3_PRIV, "not-the-priv-key"] {
        assert!(!obs.summary.contains(secret), "{}", obs.summary);
    }
    // A wrong authentication key is refused.
    let mut wrong = c;
    wrong.auth_password = Some(Secret::new("not-the-auth-key"));
    let obs = wrong
        .build()
        .unwrap()
        .check(&cx("jammed", Duration::from_secs(5)))
        .await;
    assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
    assert!(!obs.summary.contains("not-the-auth-key"), "{}", obs.summary);
}

fn deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(10)
}

/// A steady-state poll (one GET of the cells that change) gives the report a full poll gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_state_polls_match_full_polls() {
    let names = all_names();
    let Some(sim) = start_sim(&names) else {
        return;
    };
    for name in names {
        let probe = v2c(&sim, name).build().unwrap();
        let full = probe
            .poll(deadline())
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(full.full, "{name}");
        for _ in 0..3 {
            let steady = probe
                .poll(deadline())
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!steady.full, "{name}: a full poll again");
            if RECORDINGS.contains(&name) {
                assert_eq!(steady.requests, 1, "{name}");
            }
            assert_eq!(*steady.report, *full.report, "{name}");
        }
        let obs = probe.check(&cx(name, Duration::from_secs(10))).await;
        let (_, status, summary) = expected(name);
        assert_eq!(
            (obs.status, obs.summary.as_str()),
            (status, summary),
            "{name}"
        );
    }
}

/// A recording as `OID → TAG|VALUE` lines, to change between polls.
struct Agent(std::collections::BTreeMap<Vec<u32>, String>);

impl Agent {
    fn new(text: &str) -> Agent {
        Agent(
            text.lines()
                .filter_map(|l| {
                    let (oid, rest) = l.split_once('|')?;
                    Some((mib::parse_oid(oid)?, rest.to_string()))
                })
                .collect(),
        )
    }

    fn set(&mut self, oid: &str, tag_value: &str) -> &mut Agent {
        self.0
            .insert(mib::parse_oid(oid).unwrap(), tag_value.into());
        self
    }

    fn remove(&mut self, oid: &str) -> &mut Agent {
        assert!(
            self.0.remove(&mib::parse_oid(oid).unwrap()).is_some(),
            "{oid}"
        );
        self
    }

    /// Serves the lines (in OID order, as snmpsim wants them) under `name`.
    fn serve(&self, sim: &Snmpsim, name: &str) {
        let mut text = String::new();
        for (oid, rest) in &self.0 {
            writeln!(text, "{}|{rest}", mib::format_oid(oid)).unwrap();
        }
        sim.rewrite(name, &text).unwrap();
    }
}

/// What a full poll of the agent's current state says.
async fn full_report(sim: &Snmpsim, name: &str) -> PrinterReport {
    let mut c = v2c(sim, name);
    c.full_poll_every = 1;
    let poll = c.build().unwrap().poll(deadline()).await.unwrap();
    assert!(poll.full);
    (*poll.report).clone()
}

/// Levels, covers, the error state and the alert counters change between polls: each change
/// shows in the next steady-state poll; a vanished row, a restart and a new configuration
/// bring a full poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_state_polls_see_changes() {
    let Some(sim) = Snmpsim::start_or_skip(&["steady"]) else {
        return;
    };
    let mut agent = Agent::new(&snmpsim::recording("steady").unwrap());
    let probe = v2c(&sim, "steady").build().unwrap();
    let c = cx("Room 3", Duration::from_secs(10));
    assert!(probe.poll(deadline()).await.unwrap().full);
    let p = probe.poll(deadline()).await.unwrap();
    assert_eq!((p.full, p.requests), (false, 1));
    assert_eq!(
        probe.observe(&c, &p.report).summary,
        "Room 3: ready, lowest Black toner 80 %, 2 trays ok"
    );

    // The toner level falls.
    agent
        .set("1.3.6.1.2.1.43.11.1.1.9.1.1", "2|4")
        .serve(&sim, "steady");
    let p = probe.poll(deadline()).await.unwrap();
    assert_eq!((p.full, p.requests), (false, 1));
    assert_eq!(p.report.supplies[0].state, SupplyState::Known(4.0));
    assert_eq!(*p.report, full_report(&sim, "steady").await);
    let obs = probe.observe(&c, &p.report);
    assert_eq!(
        (obs.status, obs.summary.as_str()),
        (Status::Critical, "Room 3: Black toner 4 %")
    );
    assert_eq!(obs.metrics["supply.1.black_toner"].value, 4.0);

    // The front door opens.
    agent
        .set("1.3.6.1.2.1.43.6.1.1.3.1.1", "2|3")
        .serve(&sim, "steady");
    let p = probe.poll(deadline()).await.unwrap();
    assert_eq!((p.full, p.requests), (false, 1));
    assert!(p.report.covers[0].is_open());
    assert_eq!(*p.report, full_report(&sim, "steady").await);
    assert_eq!(
        probe.observe(&c, &p.report).summary,
        "Room 3: Black toner 4 %, Front Door open"
    );

    // The error state says a tray is empty (bit 13), and tray 2 is.
    agent
        .set("1.3.6.1.2.1.25.3.5.1.2.1", "4x|0004")
        .set("1.3.6.1.2.1.43.8.2.1.10.1.2", "2|0")
        .serve(&sim, "steady");
    let p = probe.poll(deadline()).await.unwrap();
    assert_eq!(
        (p.full, p.requests),
        (false, 1),
        "the counters did not move"
    );
    assert_eq!(p.report.errors, vec![mib::DetectedError::InputTrayEmpty]);
    assert_eq!(p.report.trays[1].state, TrayState::Empty);
    assert_eq!(*p.report, full_report(&sim, "steady").await);

    // A new alert: the counters move, the alert table is read again.
    agent
        .set("1.3.6.1.2.1.43.5.1.1.18.1", "65|3")
        .set("1.3.6.1.2.1.43.5.1.1.19.1", "65|6")
        .set("1.3.6.1.2.1.43.18.1.1.2.1.9", "2|3")
        .set("1.3.6.1.2.1.43.18.1.1.4.1.9", "2|8")
        .set("1.3.6.1.2.1.43.18.1.1.5.1.9", "2|1")
        .set("1.3.6.1.2.1.43.18.1.1.7.1.9", "2|8")
        .set("1.3.6.1.2.1.43.18.1.1.8.1.9", "4|Paper jam in tray 1")
        .serve(&sim, "steady");
    let p = probe.poll(deadline()).await.unwrap();
    assert_eq!(
        (p.full, p.requests),
        (false, 2),
        "one GET and the alert table"
    );
    assert_eq!(p.report.alerts.len(), 1);
    assert_eq!(
        (p.report.alerts[0].index, p.report.alerts[0].code),
        (9, Some(8))
    );
    assert_eq!(*p.report, full_report(&sim, "steady").await);
    assert_eq!(
        probe.observe(&c, &p.report).summary,
        "Room 3: Black toner 4 %, Tray 2 empty, Front Door open, paper jam in tray 1, \
         input tray empty"
    );

    // The alert clears (the counters stay): alerts were there, so the table is read again.
    for col in [2, 4, 5, 7, 8] {
        agent.remove(&format!("1.3.6.1.2.1.43.18.1.1.{col}.1.9"));
    }
    agent.serve(&sim, "steady");
    let p = probe.poll(deadline()).await.unwrap();
    assert_eq!((p.full, p.requests), (false, 2));
    assert!(p.report.alerts.is_empty());
    assert_eq!(*p.report, full_report(&sim, "steady").await);

    // Tray 2's level vanishes: a full poll, no panic.
    agent
        .remove("1.3.6.1.2.1.43.8.2.1.10.1.2")
        .serve(&sim, "steady");
    let p = probe.poll(deadline()).await.unwrap();
    assert!(p.full, "a vanished cell means a full poll");
    assert_eq!(p.report.trays[1].state, TrayState::Unknown);
    assert_eq!(*p.report, full_report(&sim, "steady").await);
    let p = probe.poll(deadline()).await.unwrap();
    assert_eq!((p.full, p.requests), (false, 1));

    // The printer restarted (sysUpTime went back), then its configuration changed.
    agent
        .set("1.3.6.1.2.1.1.3.0", "67|500")
        .serve(&sim, "steady");
    assert!(probe.poll(deadline()).await.unwrap().full, "restart");
    assert!(!probe.poll(deadline()).await.unwrap().full);
    agent
        .set("1.3.6.1.2.1.43.5.1.1.1.1", "65|8")
        .serve(&sim, "steady");
    assert!(
        probe.poll(deadline()).await.unwrap().full,
        "new configuration"
    );

    // Every third poll is full when so configured.
    let mut every3 = v2c(&sim, "steady");
    every3.full_poll_every = 3;
    let every3 = every3.build().unwrap();
    let mut kinds = Vec::new();
    for _ in 0..7 {
        kinds.push(every3.poll(deadline()).await.unwrap().full);
    }
    assert_eq!(kinds, [true, false, false, true, false, false, true]);
}

/// Without alert counters, an alert that comes with a change of the error state is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_without_alert_counters_still_report_new_alerts() {
    let Some(sim) = Snmpsim::start_or_skip(&["steady"]) else {
        return;
    };
    let mut agent = Agent::new(&snmpsim::recording("steady").unwrap());
    agent
        .remove("1.3.6.1.2.1.43.5.1.1.18.1")
        .remove("1.3.6.1.2.1.43.5.1.1.19.1")
        .serve(&sim, "steady");
    let probe = v2c(&sim, "steady").build().unwrap();
    assert!(probe.poll(deadline()).await.unwrap().full);
    let p = probe.poll(deadline()).await.unwrap();
    assert_eq!((p.full, p.requests), (false, 1));

    // A jam in tray 2: the error state has the jam bit (5) and the alert table a row.
    agent
        .set("1.3.6.1.2.1.25.3.5.1.2.1", "4x|0400")
        .set("1.3.6.1.2.1.43.18.1.1.2.1.4", "2|3")
        .set("1.3.6.1.2.1.43.18.1.1.4.1.4", "2|8")
        .set("1.3.6.1.2.1.43.18.1.1.5.1.4", "2|2")
        .set("1.3.6.1.2.1.43.18.1.1.7.1.4", "2|8")
        .serve(&sim, "steady");
    let p = probe.poll(deadline()).await.unwrap();
    assert_eq!((p.full, p.requests), (false, 2));
    assert_eq!(p.report.alerts.len(), 1);
    assert_eq!(*p.report, full_report(&sim, "steady").await);
    let c = cx("Room 3", Duration::from_secs(10));
    let obs = probe.observe(&c, &p.report);
    assert_eq!(
        (obs.status, obs.summary.as_str()),
        (Status::Critical, "Room 3: paper jam in tray 2")
    );

    // Cleared: the table is read while it has rows, and is empty again.
    agent.set("1.3.6.1.2.1.25.3.5.1.2.1", "4x|0000");
    for col in [2, 4, 5, 7] {
        agent.remove(&format!("1.3.6.1.2.1.43.18.1.1.{col}.1.4"));
    }
    agent.serve(&sim, "steady");
    let p = probe.poll(deadline()).await.unwrap();
    assert_eq!((p.full, p.requests), (false, 2));
    assert!(p.report.alerts.is_empty());
    let p = probe.poll(deadline()).await.unwrap();
    assert_eq!((p.full, p.requests), (false, 1));
    assert_eq!(*p.report, full_report(&sim, "steady").await);
}

/// The status and summary of a check of fixture `name` (decoded offline) with `config`.
fn offline_verdict(name: &str, config: &PrinterConfig) -> (Status, String) {
    let vars = mib::parse_snmprec(&snmpsim::recording(name).unwrap());
    offline_verdict_of(name, &vars, config)
}

fn offline_verdict_of(
    name: &str,
    vars: &mib::Varbinds,
    config: &PrinterConfig,
) -> (Status, String) {
    let probe = config.build().unwrap();
    let obs = probe.observe(&cx(name, Duration::from_secs(5)), &mib::decode(vars));
    (obs.status, obs.summary)
}

/// Agents that leave prtMarkerSuppliesType out (HP JetDirect) or say other/unknown (Canon
/// LBP): the description decides the thresholds, and a nameless marker-colour supply still
/// warns at the toner levels. The summary says which rule classified the supply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untyped_supplies_are_judged_by_their_description() {
    let cases = [
        (
            "untyped_hp",
            Status::Critical,
            "untyped_hp: Black toner 3 % (type from its description: \"cartridge\"), \
             Maintenance Kit HP F2A76A 6 % (type from its description: \"maintenance\")",
        ),
        (
            "untyped_canon",
            Status::Critical,
            "untyped_canon: Black toner 4 % (type from its description: \"cartridge\"), \
             Fusing Unit 8 % (type from its description: \"fusing\"), \
             054H Y 12 % (no type given: toner levels for its colour)",
        ),
    ];
    let config = PrinterConfig::new("192.0.2.1");
    for (name, status, summary) in cases {
        assert_eq!(
            offline_verdict(name, &config),
            (status, summary.to_string()),
            "{name}"
        );
    }
    let Some(sim) = Snmpsim::start_or_skip(&["untyped_hp", "untyped_canon"]) else {
        return;
    };
    for (name, status, summary) in cases {
        let obs = v2c(&sim, name)
            .build()
            .unwrap()
            .check(&cx(name, Duration::from_secs(10)))
            .await;
        assert_eq!(
            (obs.status, obs.summary.as_str()),
            (status, summary),
            "{name}"
        );
    }
}

/// Level 0 of an unknown (-2) capacity is not an empty cartridge: the level is unknown, and
/// the error-state bits say whether the toner is low or out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_level_of_unknown_capacity_is_not_a_percentage() {
    let config = PrinterConfig::new("192.0.2.1");
    let ok = (
        Status::Ok,
        "unknown_level: ready, Black toner level unknown, 1 tray ok".to_string(),
    );
    assert_eq!(offline_verdict("unknown_level", &config), ok);
    let mut vars = mib::parse_snmprec(&snmpsim::recording("unknown_level").unwrap());
    let error_state = mib::parse_oid("1.3.6.1.2.1.25.3.5.1.2.1").unwrap();
    // 0x10: bit 3, noToner; 0x20: bit 2, lowToner.
    vars.insert(error_state.clone(), mib::SnmpValue::OctetString(vec![0x10]));
    assert_eq!(
        offline_verdict_of("unknown_level", &vars, &config),
        (Status::Critical, "unknown_level: no toner".to_string())
    );
    vars.insert(error_state, mib::SnmpValue::OctetString(vec![0x20]));
    assert_eq!(
        offline_verdict_of("unknown_level", &vars, &config),
        (Status::Warning, "unknown_level: low toner".to_string())
    );
    let Some(sim) = Snmpsim::start_or_skip(&["unknown_level"]) else {
        return;
    };
    let obs = v2c(&sim, "unknown_level")
        .build()
        .unwrap()
        .check(&cx("unknown_level", Duration::from_secs(10)))
        .await;
    assert_eq!((obs.status, obs.summary), ok);
}

/// An unnamed small tray beside larger ones, and a manual-feed input, are bypass trays: empty
/// is their normal state. A removable cassette is not, whatever its size; `bypass_trays`
/// overrides either way ("!3": tray 3 is a real tray).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_unnamed_and_manual_trays_are_bypass_trays() {
    let config = PrinterConfig::new("192.0.2.1");
    let default = (
        Status::Warning,
        "bypass_trays: Tray 2 empty, Tray 5 empty".to_string(),
    );
    assert_eq!(offline_verdict("bypass_trays", &config), default);
    let mut overridden = config.clone();
    overridden.bypass_trays = vec!["!3".into(), "5".into()];
    overridden.validate().unwrap();
    assert_eq!(
        offline_verdict("bypass_trays", &overridden),
        (
            Status::Warning,
            "bypass_trays: Tray 2 empty, Tray 3 empty".to_string()
        )
    );
    let Some(sim) = Snmpsim::start_or_skip(&["bypass_trays"]) else {
        return;
    };
    let obs = v2c(&sim, "bypass_trays")
        .build()
        .unwrap()
        .check(&cx("bypass_trays", Duration::from_secs(10)))
        .await;
    assert_eq!((obs.status, obs.summary), default);
}

#[tokio::test]
async fn a_silent_printer_is_critical_within_the_timeout() {
    // Bound, so no ICMP "port unreachable" comes back: requests simply go unanswered.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let mut c = PrinterConfig::new("127.0.0.1");
    c.port = port;
    c.request_timeout = Duration::from_millis(300);
    c.retries = 2;
    let probe = c.build().unwrap();
    let started = Instant::now();
    let obs = probe
        .check(&cx("Library printer", Duration::from_secs(5)))
        .await;
    let took = started.elapsed();
    assert_eq!(obs.status, Status::Critical);
    assert_eq!(
        obs.summary,
        format!("Library printer: no SNMP response after 3 tries (127.0.0.1:{port})")
    );
    assert!(took >= Duration::from_millis(850), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");

    // Retries that would outlast the check's timeout are cut short by it: the probe keeps a
    // tenth of the timeout for itself, so it ends before the monitor would have to stop it.
    let mut c = PrinterConfig::new("127.0.0.1");
    c.port = port;
    c.request_timeout = Duration::from_secs(5);
    c.retries = 5;
    let started = Instant::now();
    let obs = c
        .build()
        .unwrap()
        .check(&cx("Library printer", Duration::from_secs(3)))
        .await;
    let took = started.elapsed();
    assert_eq!(obs.status, Status::Critical);
    assert!(
        obs.summary.contains("no SNMP response after 1 try"),
        "{}",
        obs.summary
    );
    assert!(took >= Duration::from_millis(2700), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    drop(silent);
}

/// A port nothing listens on answers with ICMP port unreachable: that is said at once, for
/// every SNMP version, not after the retries' time as "no response".
#[tokio::test]
async fn a_closed_port_is_refused_at_once() {
    let port = {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    for version in [SnmpVersion::V1, SnmpVersion::V2c, SnmpVersion::V3] {
        let mut c = PrinterConfig::new("127.0.0.1");
        c.port = port;
        c.version = version;
        c.request_timeout = Duration::from_secs(2);
        c.retries = 2;
        if version == SnmpVersion::V3 {
            c.user = Some(V3_USER.into());
            c.auth_password = Some(Secret::new(V3_AUTH));
        }
        let started = Instant::now();
        let obs = c
            .build()
            .unwrap()
            .check(&cx("Library printer", Duration::from_secs(10)))
            .await;
        let took = started.elapsed();
        assert_eq!(obs.status, Status::Critical, "{version:?}");
        assert_eq!(
            obs.summary,
            format!(
                "Library printer: connection refused (nothing listening on udp/{port}?) \
                 (127.0.0.1:{port})"
            ),
            "{version:?}"
        );
        assert!(took < Duration::from_millis(500), "{version:?}: {took:?}");
    }
}

/// Each SNMPv3 refusal is named after the agent's report, as net-snmp does, and no key
/// appears in what is said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_failures_are_named() {
    let Some(sim) = Snmpsim::start_or_skip(&["steady"]) else {
        return;
    };
    let mut good = PrinterConfig::new("127.0.0.1");
    good.port = sim.port;
    good.version = SnmpVersion::V3;
    good.user = Some(V3_USER.into());
    good.auth_protocol = Some(forewarn::probe::printer::AuthProtocol::Sha256);
    good.auth_password = Some(Secret::new(V3_AUTH));
    good.privacy_protocol = Some(forewarn::probe::printer::PrivacyProtocol::Aes);
    good.privacy_password = Some(Secret::new(V3_PRIV));
    good.context = Some("steady".into());
    good.request_timeout = Duration::from_secs(1);
    let obs = good
        .build()
        .unwrap()
        .check(&cx("Room 3", Duration::from_secs(10)))
        .await;
    assert_eq!(obs.status, Status::Ok, "{}", obs.summary);

    let mut unknown_user = good.clone();
    unknown_user.user = Some("no-such-user".into());
    let mut wrong_auth = good.clone();
    wrong_auth.auth_password = Some(Secret::new("not-the-auth-key"));
    let mut wrong_priv = good.clone();
    wrong_priv.privacy_password = Some(Secret::new("not-the-priv-key"));
    // The agent's user wants privacy; asking without it is another security level.
    let mut no_priv = good.clone();
    no_priv.privacy_protocol = None;
    no_priv.privacy_password = None;
    let cases = [
        (
            unknown_user,
            "SNMPv3 unknown user name (usmStatsUnknownUserNames): check user",
        ),
        (
            wrong_auth,
            "SNMPv3 authentication failure (usmStatsWrongDigests): check auth_password and \
             auth_protocol",
        ),
        (
            wrong_priv,
            "SNMPv3 decryption error (usmStatsDecryptionErrors): check privacy_password and \
             privacy_protocol",
        ),
        (
            no_priv,
            "SNMPv3 unsupported security level (usmStatsUnsupportedSecLevels): the agent wants \
             this user with or without privacy otherwise",
        ),
    ];
    for (config, said) in cases {
        let started = Instant::now();
        let obs = config
            .build()
            .unwrap()
            .check(&cx("Room 3", Duration::from_secs(10)))
            .await;
        assert_eq!(obs.status, Status::Critical, "{}", obs.summary);
        assert_eq!(
            obs.summary,
            format!("Room 3: {said} (127.0.0.1:{})", sim.port)
        );
        assert!(started.elapsed() < Duration::from_secs(1), "{said}");
        for secret in [V3_AUTH, V3_PRIV, "not-the-auth-key", "not-the-priv-key"] {
            assert!(!obs.summary.contains(secret), "{}", obs.summary);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forecast_from_stored_history() {
    let Some(sim) = start_sim(&["jetdirect_m880"]) else {
        return;
    };
    // Cyan fell 2 % a day for ten days, to 18 % yesterday; today the printer says 16 %.
    let store = std::sync::Arc::new(SqliteStore::in_memory().unwrap());
    let metric = "supply.2.cyan_cartridge_827a_hp_cf301a";
    let now = Utc::now();
    let history: Vec<(std::sync::Arc<str>, Observation)> = (1..=10)
        .rev()
        .map(|d| {
            let at = now - chrono::Duration::days(d);
            let obs = Observation::new(Status::Ok, "earlier", at).with_metric(
                metric,
                16.0 + 2.0 * d as f64,
                "%",
            );
            ("Room 12 HP M880".into(), obs)
        })
        .collect();
    store.record_observations(history).await.unwrap();
    let mut cx = cx("Room 12 HP M880", Duration::from_secs(10));
    cx.history = Some(forewarn::probe::History::new(store, "Room 12 HP M880"));
    let probe = v2c(&sim, "jetdirect_m880").build().unwrap();
    let obs = probe.check(&cx).await;
    assert_eq!(obs.status, Status::Warning);
    assert_eq!(
        obs.summary,
        "Room 12 HP M880: Cyan toner 16 % (≈ 8 days left)"
    );
    let days = obs.metrics[format!("{metric}.days_left").as_str()].value;
    assert!((days - 8.0).abs() < 0.01, "{days}");
    // Every level is a metric, for history.
    assert_eq!(obs.metrics[metric].value, 16.0);
    assert_eq!(
        obs.metrics["supply.1.black_cartridge_827a_hp_cf300a"].value,
        92.0
    );
    assert_eq!(
        obs.metrics["supply.13.stapler_1_hp_c8091a.level"].value,
        -3.0
    );
    assert_eq!(obs.metrics["tray.5.tray_4"].value, 20.0);

    // `forewarn check` runs a printer check from a config file; warning exits 1.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("printers.toml");
    std::fs::write(
        &cfg,
        format!(
            "[monitor]\ndatabase = \"{}\"\n\n[[checks]]\nname = \"Room 12 HP M880\"\n\
             type = \"printer\"\nhost = \"127.0.0.1\"\nport = {}\n\
             community = \"${{FOREWARN_TEST_COMMUNITY}}\"\n",
            dir.path().join("f.db").display(),
            sim.port
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .args(["check", "--config", cfg.to_str().unwrap()])
        .env("FOREWARN_TEST_COMMUNITY", "jetdirect_m880")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Room 12 HP M880: Cyan toner 16 %\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("jetdirect_m880"), "{stdout}");

    // `--json` carries the printer's structured reading: every supply and tray with its
    // verdict, the error bits and the device status.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .args(["check", "--config", cfg.to_str().unwrap(), "--json"])
        .env("FOREWARN_TEST_COMMUNITY", "jetdirect_m880")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reading = &json["checks"][0]["reading"];
    assert_eq!(reading["kind"], "printer", "{reading}");
    let supplies = reading["supplies"].as_array().unwrap();
    let cyan = supplies
        .iter()
        .find(|s| s["name"] == "Cyan toner")
        .unwrap_or_else(|| panic!("{reading}"));
    assert_eq!(
        (&cyan["percent"], &cyan["verdict"], &cyan["level_kind"]),
        (
            &serde_json::json!(16.0),
            &serde_json::json!("warning"),
            &serde_json::json!("known")
        )
    );
    assert!(cyan["classified_by"]["rule"].is_string(), "{cyan}");
    let stapler = supplies
        .iter()
        .find(|s| s["level"] == -3)
        .unwrap_or_else(|| panic!("{reading}"));
    assert_eq!(stapler["level_kind"], "some_remaining", "{stapler}");
    assert_eq!(reading["trays"].as_array().unwrap().len(), 4, "{reading}");
    assert!(
        reading["trays"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["verdict"].is_string())
    );
    assert!(reading["errors"].is_array(), "{reading}");
    assert!(!out.stdout.windows(14).any(|w| w == b"jetdirect_m880"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_exactly_the_simulated_printers() {
    if !recordings_available() {
        return;
    }
    let sims: Vec<IpAddr> = ["127.0.0.2", "127.0.0.3", "127.0.0.5"]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    let Some(sim) = Snmpsim::start_on_or_skip(&sims, &["konica_c250i"]) else {
        return;
    };
    // 127.0.0.0/29: .1–.6; .1, .4 and .6 are silent on this port.
    assert_eq!(addresses("127.0.0.0/29").unwrap().len(), 6);
    let opts = DiscoverOptions {
        community: Secret::new("konica_c250i"),
        port: sim.port,
        concurrency: 4,
        timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let started = Instant::now();
    let found = discover("127.0.0.0/29", &opts).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    let addrs: Vec<IpAddr> = found.iter().map(|p| p.addr).collect();
    assert_eq!(addrs, sims);
    assert_eq!(
        found[0].model.as_deref(),
        Some("KONICA MINOLTA bizhub C250i")
    );
    assert_eq!((found[0].supplies, found[0].trays), (5, 3));
    let text = to_config(&found, &opts);
    assert!(!text.contains("konica_c250i\""), "{text}");
    let cfg: toml::Value = toml::from_str(&text).unwrap();
    let checks = cfg["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 3);
    assert_eq!(checks[1]["host"].as_str(), Some("127.0.0.3"));
    assert_eq!(
        checks[1]["community"].as_str(),
        Some("${PRINTER_COMMUNITY}")
    );

    // The same from the command line: config for the three, the community not in it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .args(["discover", "printers", "127.0.0.0/29", "--timeout", "500ms"])
        .args(["--port", &sim.port.to_string(), "--concurrency", "3"])
        .env("PRINTER_COMMUNITY", "konica_c250i")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches("[[checks]]").count(), 3, "{stdout}");
    assert!(stdout.contains("host = \"127.0.0.5\""), "{stdout}");
    assert!(!stdout.contains("konica_c250i\""), "{stdout}");

    // A wrong community finds nothing.
    let none = discover(
        "127.0.0.0/29",
        &DiscoverOptions {
            community: Secret::new("no-such-community"),
            ..opts
        },
    )
    .await
    .unwrap();
    assert!(none.is_empty());
}

#[test]
fn example_config_validates() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/printers.toml");
    let cfg = forewarn::Config::from_file(path).unwrap_or_else(|e| panic!("{e}"));
    assert!(cfg.checks.len() >= 2);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .args(["validate", path])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
