//! The `voicemail` responder: the help-desk phone's greeting during an outage, spoken by
//! espeak-ng and written to `path` as an 8 kHz mono 16-bit PCM WAV (what Asterisk and most
//! PBXs play).
//!
//! espeak-ng speaks at 22,050 Hz; the speech is resampled to 8,000 Hz with rubato's FFT
//! resampler (band-limited, no aliasing) and written with hound. The file is replaced
//! atomically (a temporary file in the same folder, then a rename), so the PBX never plays a
//! half-written greeting.
//!
//! Beside the greeting, `PATH.forewarn` records the SHA-256 of what was spoken (text, voice,
//! speed, volume) and of the WAV written: the same text is not rendered again (the file is left
//! as it is), and after a restart forewarn knows the outage greeting is in place. When the
//! outage ends the `normal` greeting is copied back byte for byte, or, without `normal`, the
//! file is removed. A greeting at `path` that forewarn did not write is never removed: without
//! `normal` it is refused instead.

use std::fmt;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{OutageMessage, OutageResponder};
use crate::error::{Error, Result};

/// The sample rate of the written greeting.
pub const SAMPLE_RATE: u32 = 8_000;

/// Configuration of the `voicemail` responder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoicemailConfig {
    /// The greeting file the PBX plays (written as 8 kHz mono 16-bit PCM WAV).
    pub path: PathBuf,
    /// The district's normal greeting, copied back to `path` when the outage ends. Without it
    /// the outage greeting is removed then.
    #[serde(default)]
    pub normal: Option<PathBuf>,
    /// The espeak-ng program (default "espeak-ng", looked up in `PATH`).
    #[serde(default = "default_espeak")]
    pub espeak: PathBuf,
    /// The espeak-ng voice (default "en-us"; `espeak-ng --voices` lists them).
    #[serde(default = "default_voice")]
    pub voice: String,
    /// Speaking speed in words per minute, 80 to 450 (default 150).
    #[serde(default = "default_wpm")]
    pub words_per_minute: u32,
    /// Loudness in percent of espeak-ng's normal volume, 1 to 200 (default 100).
    #[serde(default = "default_volume")]
    pub volume: u32,
    /// Time budget of rendering one greeting (default 60 s).
    #[serde(default, with = "crate::config::opt_duration")]
    pub timeout: Option<Duration>,
}

fn default_espeak() -> PathBuf {
    PathBuf::from("espeak-ng")
}

fn default_voice() -> String {
    "en-us".to_owned()
}

fn default_wpm() -> u32 {
    150
}

fn default_volume() -> u32 {
    100
}

impl VoicemailConfig {
    /// A config writing the greeting to `path`, with the defaults.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            normal: None,
            espeak: default_espeak(),
            voice: default_voice(),
            words_per_minute: default_wpm(),
            volume: default_volume(),
            timeout: None,
        }
    }

    /// Checks the values (not whether espeak-ng runs: that is the health check's job).
    pub fn validate(&self) -> Result<()> {
        if self.path.as_os_str().is_empty() {
            return Err(Error::invalid("path", "must not be empty"));
        }
        if self.path.file_name().is_none() || self.path.is_dir() {
            return Err(Error::invalid(
                "path",
                format!("`{}` does not name a file", self.path.display()),
            ));
        }
        if let Some(n) = &self.normal {
            if !n.is_file() {
                return Err(Error::invalid(
                    "normal",
                    format!("`{}` is not a readable file", n.display()),
                ));
            }
            if n == &self.path {
                return Err(Error::invalid(
                    "normal",
                    "is the same file as `path`: it would be overwritten by the outage greeting",
                ));
            }
        }
        if self.espeak.as_os_str().is_empty() {
            return Err(Error::invalid("espeak", "must not be empty"));
        }
        if self.voice.trim().is_empty()
            || self
                .voice
                .chars()
                .any(|c| c.is_whitespace() || crate::text::is_control(c))
        {
            return Err(Error::invalid(
                "voice",
                format!(
                    "`{}` is not a voice name (e.g. \"en-us\")",
                    crate::text::printable(&self.voice)
                ),
            ));
        }
        if !(80..=450).contains(&self.words_per_minute) {
            return Err(Error::invalid("words_per_minute", "must be from 80 to 450"));
        }
        if !(1..=200).contains(&self.volume) {
            return Err(Error::invalid("volume", "must be from 1 to 200"));
        }
        if let Some(t) = self.timeout
            && t.is_zero()
        {
            return Err(Error::invalid("timeout", "must be more than 0"));
        }
        Ok(())
    }

    /// Builds the responder named `name`.
    pub fn build(&self, name: &str) -> Result<Voicemail> {
        self.validate()?;
        Ok(Voicemail {
            name: name.to_owned(),
            config: self.clone(),
            timeout: self.timeout.unwrap_or(Duration::from_secs(60)),
        })
    }
}

/// The `voicemail` responder.
#[derive(Clone)]
pub struct Voicemail {
    name: String,
    config: VoicemailConfig,
    timeout: Duration,
}

impl fmt::Debug for Voicemail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Voicemail")
            .field("name", &self.name)
            .field("path", &self.config.path)
            .field("normal", &self.config.normal)
            .field("voice", &self.config.voice)
            .finish_non_exhaustive()
    }
}

/// What `PATH.forewarn` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sidecar {
    /// SHA-256 of what was spoken and how.
    text: String,
    /// SHA-256 of the WAV written.
    wav: String,
}

impl Sidecar {
    fn parse(s: &str) -> Option<Sidecar> {
        let mut text = None;
        let mut wav = None;
        for line in s.lines() {
            match line.split_once(' ') {
                Some(("text-sha256", v)) => text = Some(v.trim().to_owned()),
                Some(("wav-sha256", v)) => wav = Some(v.trim().to_owned()),
                _ => {}
            }
        }
        Some(Sidecar {
            text: text?,
            wav: wav?,
        })
    }

    fn render(&self) -> String {
        format!(
            "# The outage greeting forewarn wrote beside this file; removed when it is taken away.\n\
             text-sha256 {}\nwav-sha256 {}\n",
            self.text, self.wav
        )
    }
}

fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// A temporary file name beside `path` (same folder, so a rename replaces it atomically).
fn temp_beside(path: &Path, what: &str) -> PathBuf {
    use rand::Rng as _;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tag: u64 = rand::rng().random();
    path.with_file_name(format!(".{name}.{what}-{tag:016x}.tmp"))
}

/// Removes a temporary file when dropped (unless it was renamed away).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Syncs `tmp`, renames it over `dest` and syncs the folder.
fn commit(tmp: &Path, dest: &Path) -> io::Result<()> {
    std::fs::File::open(tmp)?.sync_all()?;
    std::fs::rename(tmp, dest)?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `bytes` to `dest` atomically.
fn write_atomic(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = TempFile(temp_beside(dest, "write"));
    let mut f = std::fs::File::create(&tmp.0)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    commit(&tmp.0, dest)
}

/// Resamples mono `samples` at `from` Hz to [`SAMPLE_RATE`] (rubato's FFT resampler).
pub fn resample_to_8k(samples: &[i16], from: u32) -> Result<Vec<i16>> {
    use rubato::Resampler as _;
    if from == SAMPLE_RATE || samples.is_empty() {
        return Ok(samples.to_vec());
    }
    let input: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
    let mut resampler = rubato::Fft::<f32>::new(
        from as usize,
        SAMPLE_RATE as usize,
        1024,
        1,
        rubato::FixedSync::Both,
    )
    .map_err(|e| Error::invalid("resampler", e.to_string()))?;
    let adapter =
        rubato::audioadapter_buffers::direct::InterleavedSlice::new(&input, 1, input.len())
            .map_err(|e| Error::invalid("resampler", e.to_string()))?;
    let out = resampler
        .process_all(&adapter, input.len(), None)
        .map_err(|e| Error::invalid("resampler", e.to_string()))?;
    Ok(out
        .take_data()
        .into_iter()
        .map(|s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect())
}

/// Reads a WAV as mono 16-bit samples (channels mixed) and its sample rate.
fn read_mono(path: &Path) -> std::result::Result<(Vec<i16>, u32), String> {
    let mut r = hound::WavReader::open(path).map_err(|e| e.to_string())?;
    let spec = r.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(format!(
            "{}-bit {:?} samples, not 16-bit PCM",
            spec.bits_per_sample, spec.sample_format
        ));
    }
    let channels = usize::from(spec.channels.max(1));
    let all: Vec<i16> = r
        .samples::<i16>()
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mono = if channels == 1 {
        all
    } else {
        all.chunks(channels)
            .map(|c| (c.iter().map(|&s| i32::from(s)).sum::<i32>() / c.len() as i32) as i16)
            .collect()
    };
    Ok((mono, spec.sample_rate))
}

impl Voicemail {
    fn sidecar_path(&self) -> PathBuf {
        let mut s = self.config.path.clone().into_os_string();
        s.push(".forewarn");
        PathBuf::from(s)
    }

    fn what(&self) -> String {
        format!("responder `{}`", self.name)
    }

    fn io_error(&self, doing: impl fmt::Display, e: io::Error) -> Error {
        Error::io(format!("responder `{}`: {doing}", self.name), e)
    }

    /// What identifies a rendering: the text and how it is spoken.
    fn text_digest(&self, spoken: &str) -> String {
        let c = &self.config;
        let mut h = Sha256::new();
        for part in [
            "forewarn-voicemail-1",
            &c.voice,
            &c.words_per_minute.to_string(),
            &c.volume.to_string(),
            spoken,
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        hex::encode(h.finalize())
    }

    fn read_sidecar(&self) -> Result<Option<Sidecar>> {
        match std::fs::read_to_string(self.sidecar_path()) {
            Ok(s) => Ok(Sidecar::parse(&s)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => {
                Err(self.io_error(format_args!("reading {}", self.sidecar_path().display()), e))
            }
        }
    }

    /// Runs espeak-ng on `text` into `wav` (22,050 Hz), within the timeout.
    fn speak(&self, text: &str, wav: &Path) -> Result<()> {
        let c = &self.config;
        let program = c.espeak.display().to_string();
        let mut child = Command::new(&c.espeak)
            .arg("-v")
            .arg(&c.voice)
            .arg("-s")
            .arg(c.words_per_minute.to_string())
            .arg("-a")
            .arg(c.volume.to_string())
            .arg("-w")
            .arg(wav)
            .arg("--stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error::invalid(
                    self.what(),
                    if e.kind() == io::ErrorKind::NotFound {
                        format!("cannot run `{program}`: not found (is espeak-ng installed?)")
                    } else {
                        format!("cannot run `{program}`: {e}")
                    },
                )
            })?;
        let mut stdin = child.stdin.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        let text = text.to_owned();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(text.as_bytes());
        });
        let reader = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = stderr.by_ref().take(64 * 1024).read_to_end(&mut s);
            s
        });
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(self.io_error(
                        format_args!("running `{program}`"),
                        io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!(
                                "did not finish within {}",
                                humantime::format_duration(self.timeout)
                            ),
                        ),
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(self.io_error(format_args!("waiting for `{program}`"), e)),
            }
        };
        let _ = writer.join();
        let stderr = reader.join().unwrap_or_default();
        let stderr = String::from_utf8_lossy(&stderr);
        let stderr = crate::text::excerpt(stderr.trim());
        if !status.success() {
            return Err(Error::invalid(
                self.what(),
                format!(
                    "`{program}` failed ({status}): {}",
                    if stderr.is_empty() {
                        "no error output".into()
                    } else {
                        stderr
                    }
                ),
            ));
        }
        if !wav.is_file() {
            return Err(Error::invalid(
                self.what(),
                format!("`{program}` wrote no sound file ({stderr})"),
            ));
        }
        Ok(())
    }

    /// Renders `spoken` into `dest` (8 kHz mono 16-bit PCM), atomically. Returns the WAV's
    /// SHA-256.
    fn render(&self, spoken: &str) -> Result<String> {
        let dest = &self.config.path;
        let raw = TempFile(temp_beside(dest, "espeak"));
        self.speak(spoken, &raw.0)?;
        let (samples, rate) = read_mono(&raw.0).map_err(|e| {
            Error::invalid(
                self.what(),
                format!(
                    "`{}` wrote a WAV that cannot be read: {e}",
                    self.config.espeak.display()
                ),
            )
        })?;
        drop(raw);
        if samples.is_empty() {
            return Err(Error::invalid(
                self.what(),
                format!(
                    "`{}` produced no sound for the text",
                    self.config.espeak.display()
                ),
            ));
        }
        let out = resample_to_8k(&samples, rate)?;
        let tmp = TempFile(temp_beside(dest, "wav"));
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let write = || -> std::result::Result<(), hound::Error> {
            let mut w = hound::WavWriter::create(&tmp.0, spec)?;
            let mut w16 = w.get_i16_writer(out.len() as u32);
            for &s in &out {
                w16.write_sample(s);
            }
            w16.flush()?;
            w.finalize()
        };
        write().map_err(|e| {
            let e = match e {
                hound::Error::IoError(e) => e,
                other => io::Error::other(other.to_string()),
            };
            self.io_error(format_args!("writing {}", tmp.0.display()), e)
        })?;
        let digest = sha256_file(&tmp.0)
            .map_err(|e| self.io_error(format_args!("reading {}", tmp.0.display()), e))?;
        commit(&tmp.0, dest)
            .map_err(|e| self.io_error(format_args!("replacing {}", dest.display()), e))?;
        Ok(digest)
    }

    fn apply_blocking(&self, message: Option<&OutageMessage>) -> Result<()> {
        let path = &self.config.path;
        let sidecar = self.read_sidecar()?;
        match message {
            Some(m) => {
                m.check(&self.name, &[("spoken", &m.spoken)])?;
                let text = self.text_digest(m.spoken.trim());
                if let Some(s) = &sidecar
                    && s.text == text
                    && sha256_file(path).is_ok_and(|d| d == s.wav)
                {
                    tracing::debug!(responder = %self.name, "the outage greeting is already in place");
                    return Ok(());
                }
                if sidecar.is_none() && self.config.normal.is_none() && path.exists() {
                    return Err(Error::invalid(
                        self.what(),
                        format!(
                            "`{}` holds a greeting forewarn did not write, and without `normal` it \
                             could not be put back after the outage: set `normal` to the greeting \
                             to restore",
                            path.display()
                        ),
                    ));
                }
                let wav = self.render(m.spoken.trim())?;
                write_atomic(
                    &self.sidecar_path(),
                    Sidecar { text, wav }.render().as_bytes(),
                )
                .map_err(|e| {
                    self.io_error(format_args!("writing {}", self.sidecar_path().display()), e)
                })?;
                tracing::info!(responder = %self.name, path = %path.display(), "the outage greeting is in place");
            }
            None => {
                if sidecar.is_none() && !self.sidecar_path().exists() {
                    return Ok(());
                }
                match &self.config.normal {
                    Some(normal) => {
                        let tmp = TempFile(temp_beside(path, "normal"));
                        std::fs::copy(normal, &tmp.0).map_err(|e| {
                            self.io_error(format_args!("copying {}", normal.display()), e)
                        })?;
                        commit(&tmp.0, path).map_err(|e| {
                            self.io_error(format_args!("replacing {}", path.display()), e)
                        })?;
                    }
                    None => match std::fs::remove_file(path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(
                                self.io_error(format_args!("removing {}", path.display()), e)
                            );
                        }
                    },
                }
                match std::fs::remove_file(self.sidecar_path()) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(self.io_error(
                            format_args!("removing {}", self.sidecar_path().display()),
                            e,
                        ));
                    }
                }
                tracing::info!(responder = %self.name, path = %path.display(), "the normal greeting is back");
            }
        }
        Ok(())
    }

    fn healthcheck_blocking(&self) -> Result<()> {
        let c = &self.config;
        let program = c.espeak.display().to_string();
        let out = Command::new(&c.espeak)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                Error::invalid(
                    self.what(),
                    if e.kind() == io::ErrorKind::NotFound {
                        format!("cannot run `{program}`: not found (is espeak-ng installed?)")
                    } else {
                        format!("cannot run `{program}`: {e}")
                    },
                )
            })?;
        if !out.status.success() {
            return Err(Error::invalid(
                self.what(),
                format!(
                    "`{program} --version` failed ({}): {}",
                    out.status,
                    crate::text::excerpt(String::from_utf8_lossy(&out.stderr).trim())
                ),
            ));
        }
        let probe = TempFile(temp_beside(&c.path, "check"));
        std::fs::File::create(&probe.0).map_err(|e| {
            self.io_error(
                format_args!(
                    "the greeting's folder is not writable ({})",
                    probe.0.display()
                ),
                e,
            )
        })?;
        if let Some(n) = &c.normal {
            std::fs::File::open(n)
                .map_err(|e| self.io_error(format_args!("reading {}", n.display()), e))?;
        }
        Ok(())
    }
}

#[async_trait]
impl OutageResponder for Voicemail {
    async fn apply(&self, message: Option<&OutageMessage>) -> Result<()> {
        let this = self.clone();
        let message = message.cloned();
        tokio::task::spawn_blocking(move || this.apply_blocking(message.as_ref()))
            .await
            .map_err(|e| Error::Stopped {
                task: format!("responder `{}`", self.name),
                message: e.to_string(),
            })?
    }

    async fn healthcheck(&self) -> Result<()> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.healthcheck_blocking())
            .await
            .map_err(|e| Error::Stopped {
                task: format!("responder `{}`", self.name),
                message: e.to_string(),
            })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_the_duration_and_the_tone() {
        // One second of a 440 Hz tone at 22,050 Hz.
        let input: Vec<i16> = (0..22_050)
            .map(|i| {
                ((i as f32 * 440.0 * std::f32::consts::TAU / 22_050.0).sin() * 16_000.0) as i16
            })
            .collect();
        let out = resample_to_8k(&input, 22_050).unwrap();
        assert!(
            (7_990..=8_010).contains(&out.len()),
            "{} samples for one second",
            out.len()
        );
        // Count zero crossings in the middle: 440 Hz gives 880 a second.
        let mid = &out[1_000..7_000];
        let crossings = mid.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        let expected = 880.0 * 6_000.0 / 8_000.0;
        assert!(
            (crossings as f64 - expected).abs() < 10.0,
            "{crossings} crossings, expected about {expected}"
        );
        let peak = mid.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((15_000..=17_000).contains(&peak), "peak {peak}");
    }

    #[test]
    fn tones_above_4_khz_are_filtered_out_not_folded_back() {
        // 6 kHz cannot exist at 8 kHz: it must vanish, not alias to 2 kHz.
        let input: Vec<i16> = (0..22_050)
            .map(|i| {
                ((i as f32 * 6_000.0 * std::f32::consts::TAU / 22_050.0).sin() * 16_000.0) as i16
            })
            .collect();
        let out = resample_to_8k(&input, 22_050).unwrap();
        let peak = out[1_000..7_000]
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!(peak < 300, "peak {peak}");
    }

    #[test]
    fn the_sidecar_round_trips() {
        let s = Sidecar {
            text: "ab".into(),
            wav: "cd".into(),
        };
        assert_eq!(Sidecar::parse(&s.render()), Some(s));
        assert_eq!(Sidecar::parse("text-sha256 ab\n"), None);
    }

    #[test]
    fn validation_names_the_key() {
        let mut c = VoicemailConfig::new("/tmp/greeting.wav");
        c.validate().unwrap();
        c.words_per_minute = 20;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("words_per_minute")
        );
        let mut c = VoicemailConfig::new("/tmp/greeting.wav");
        c.normal = Some("/nonexistent/normal.wav".into());
        assert!(c.validate().unwrap_err().to_string().contains("normal"));
        let mut c = VoicemailConfig::new("/tmp/greeting.wav");
        c.voice = "en us".into();
        assert!(c.validate().unwrap_err().to_string().contains("voice"));
    }
}
