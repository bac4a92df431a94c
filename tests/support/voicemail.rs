//! The voicemail greeting for the tests: whether espeak-ng runs, the responder's config, and
//! the WAV file read by hand (not with the library that wrote it).
//!
//! Included with `#[path = "support/voicemail.rs"] mod voicemail;`; not every includer uses
//! every item.
#![allow(dead_code)]

use std::path::Path;

use forewarn::autoreply::ResponderConfig;

/// `Ok` when `espeak-ng --version` runs, else why not.
pub fn espeak() -> Result<(), String> {
    let ok = std::process::Command::new("espeak-ng")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Ok(())
    } else {
        Err("`espeak-ng --version` does not run (Debian package espeak-ng)".into())
    }
}

/// A `voicemail` responder writing `path`, with the district's `normal` greeting and another
/// `espeak` program when given.
pub fn config(path: &Path, normal: Option<&Path>, espeak: Option<&str>) -> ResponderConfig {
    let mut text = format!("type = \"voicemail\"\npath = \"{}\"\n", path.display());
    if let Some(n) = normal {
        text.push_str(&format!("normal = \"{}\"\n", n.display()));
    }
    if let Some(e) = espeak {
        text.push_str(&format!("espeak = \"{e}\"\n"));
    }
    let c: ResponderConfig = toml::from_str(&text).expect("responder config parses");
    c.validate().expect("responder config is valid");
    c
}

/// A WAV file's format and the length of its samples.
pub struct Wav {
    pub channels: u16,
    pub rate: u32,
    pub bits: u16,
    pub format: u16,
    pub data_len: u32,
}

/// Reads the RIFF header by hand.
pub fn wav_header(path: &Path) -> Wav {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[0..4], b"RIFF");
    assert_eq!(&b[8..12], b"WAVE");
    let le16 = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let le32 = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    assert_eq!(le32(4) as usize, b.len() - 8, "RIFF size");
    let mut i = 12;
    let mut fmt = None;
    let mut data_len = None;
    while i + 8 <= b.len() {
        let id = &b[i..i + 4];
        let len = le32(i + 4) as usize;
        if id == b"fmt " {
            fmt = Some((le16(i + 8), le16(i + 10), le32(i + 12), le16(i + 22)));
        } else if id == b"data" {
            data_len = Some(len as u32);
            assert_eq!(i + 8 + len, b.len(), "the data chunk ends the file");
        }
        i += 8 + len + (len & 1);
    }
    let (format, channels, rate, bits) = fmt.expect("a fmt chunk");
    Wav {
        channels,
        rate,
        bits,
        format,
        data_len: data_len.expect("a data chunk"),
    }
}

/// How long the samples last, in seconds.
pub fn seconds(w: &Wav) -> f64 {
    f64::from(w.data_len) / f64::from(w.rate * u32::from(w.channels) * u32::from(w.bits / 8))
}
