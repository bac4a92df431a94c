//! The SNMP peer of the printer tests and bench: snmpsim (PyPI) on loopback UDP, serving the
//! shared printer recordings (`../shared/data/printers`, or `FOREWARN_PRINTER_RECORDINGS`) and
//! the project's own fixtures (`tests/data/printers`), each under its file name as community
//! (and as SNMPv3 context), with one SNMPv3 user ([`V3_USER`], SHA-256 + AES-128).
//!
//! snmpsim refuses to run as root unless it drops to `nobody`, and as `nobody` it must be able
//! to read its Python, its data and write its cache. So its virtual environment is made from
//! `/usr/bin/python3` beside the target directory when every directory above that is
//! world-traversable, else under `/var/tmp/forewarn-snmpsim-venv`; the recordings are copied
//! into a fresh world-readable temporary directory; the cache directory is world-writable.
//!
//! When it cannot be started, [`Snmpsim::start_or_skip`] skips the test with the reason,
//! except with `CI=true`, where it fails.
//!
//! Included with `#[path = "support/snmpsim.rs"] mod snmpsim;`; not every includer uses every
//! item.
#![allow(dead_code)]

#[path = "skip.rs"]
pub mod skip;

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The SNMPv3 user snmpsim accepts.
pub const V3_USER: &str = "forewarn";
/// Its SHA-256 authentication pass phrase.
pub const V3_AUTH: &str = "auth-pass-phrase";
/// Its AES-128 privacy pass phrase.
pub const V3_PRIV: &str = "priv-pass-phrase";

/// The ten shared recordings, by community.
pub const RECORDINGS: [&str; 10] = [
    "brother",
    "canonprinter_tm",
    "epson",
    "fujifilmprinter_c7580",
    "jetdirect_m880",
    "konica_c250i",
    "okilan_9450g",
    "ricoh_mpc3002",
    "samsungprinter_m4080fx",
    "xerox",
];

/// Where the shared recordings are.
pub fn recordings_dir() -> PathBuf {
    std::env::var_os("FOREWARN_PRINTER_RECORDINGS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/data/printers"
            ))
        })
}

/// Where the project's own fixtures are.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/printers"
    ))
}

/// The text of a recording or fixture by name.
pub fn recording(name: &str) -> Result<String, String> {
    for dir in [recordings_dir(), fixtures_dir()] {
        let p = dir.join(format!("{name}.snmprec"));
        if p.exists() {
            return std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()));
        }
    }
    Err(format!(
        "no recording `{name}` in {} (set FOREWARN_PRINTER_RECORDINGS)",
        recordings_dir().display()
    ))
}

/// Whether `nobody` can reach `dir` (every directory above it is world-traversable).
fn world_traversable(dir: &Path) -> bool {
    dir.ancestors()
        .all(|d| std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

/// The snmpsim command of a virtual environment, made on first use.
fn responder() -> Result<PathBuf, String> {
    static VENV: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);
    let mut guard = VENV.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(r) = &*guard {
        return r.clone();
    }
    let r = make_venv();
    *guard = Some(r.clone());
    r
}

fn make_venv() -> Result<PathBuf, String> {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .ok_or("no target directory")?
        .to_owned();
    let venv = if world_traversable(&target) {
        target.join("snmpsim-venv")
    } else {
        PathBuf::from("/var/tmp/forewarn-snmpsim-venv")
    };
    let bin = venv.join("bin");
    let cmd = bin.join("snmpsim-command-responder");
    let ready = |py: &Path| {
        Command::new(py)
            .args(["-c", "import snmpsim, pysmi, cryptography"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if cmd.exists() && ready(&bin.join("python")) {
        return Ok(cmd);
    }
    let run = |c: &mut Command, what: &str| -> Result<(), String> {
        let out = c.output().map_err(|e| format!("{what}: cannot run: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    if !bin.join("python").exists() {
        // Debian's Python: one `nobody` can read (a pyenv under /root is not).
        let python = if Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        };
        run(
            Command::new(python).arg("-m").arg("venv").arg(&venv),
            "python3 -m venv",
        )?;
    }
    run(
        Command::new(bin.join("pip")).args(["install", "-q", "snmpsim", "pysmi", "cryptography"]),
        "pip install snmpsim pysmi cryptography",
    )?;
    if cmd.exists() && ready(&bin.join("python")) {
        Ok(cmd)
    } else {
        Err("snmpsim does not import after installing it".into())
    }
}

/// A running snmpsim; killed when dropped.
pub struct Snmpsim {
    child: Option<Child>,
    /// The addresses it listens on.
    pub addrs: Vec<IpAddr>,
    /// The UDP port, the same on every address.
    pub port: u16,
    _data: tempfile::TempDir,
    _cache: tempfile::TempDir,
}

impl Drop for Snmpsim {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A UDP port free on every address in `addrs` (at the moment of asking).
fn free_udp_port(addrs: &[IpAddr]) -> Result<u16, String> {
    for _ in 0..50 {
        let s = UdpSocket::bind((addrs[0], 0)).map_err(|e| format!("bind {}: {e}", addrs[0]))?;
        let port = s.local_addr().map_err(|e| e.to_string())?.port();
        if addrs[1..]
            .iter()
            .all(|a| UdpSocket::bind((*a, port)).is_ok())
        {
            return Ok(port);
        }
    }
    Err("no UDP port free on every address".into())
}

fn world_readable_tempdir() -> Result<tempfile::TempDir, String> {
    let d = tempfile::Builder::new()
        .prefix("forewarn-snmpsim-")
        .tempdir_in(std::env::temp_dir())
        .map_err(|e| e.to_string())?;
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    Ok(d)
}

impl Snmpsim {
    /// Starts snmpsim on 127.0.0.1 serving `names` (shared recordings or fixtures).
    pub fn start(names: &[&str]) -> Result<Snmpsim, String> {
        Snmpsim::start_on(&[IpAddr::V4(Ipv4Addr::LOCALHOST)], names)
    }

    /// Starts one snmpsim listening on each of `addrs` (all on one port), serving `names`.
    pub fn start_on(addrs: &[IpAddr], names: &[&str]) -> Result<Snmpsim, String> {
        let cmd = responder()?;
        let data = world_readable_tempdir()?;
        for name in names {
            let text = recording(name)?;
            let p = data.path().join(format!("{name}.snmprec"));
            std::fs::write(&p, text).map_err(|e| e.to_string())?;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644))
                .map_err(|e| e.to_string())?;
        }
        let cache = world_readable_tempdir()?;
        std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o777))
            .map_err(|e| e.to_string())?;
        let port = free_udp_port(addrs)?;
        let mut c = Command::new(&cmd);
        c.arg(format!("--data-dir={}", data.path().display()))
            .arg(format!("--cache-dir={}", cache.path().display()));
        for a in addrs {
            c.arg(format!("--agent-udpv4-endpoint={a}:{port}"));
        }
        c.args([
            &format!("--v3-user={V3_USER}"),
            &format!("--v3-auth-key={V3_AUTH}"),
            "--v3-auth-proto=SHA256",
            &format!("--v3-priv-key={V3_PRIV}"),
            "--v3-priv-proto=AES",
        ]);
        // As root snmpsim insists on dropping privileges.
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            c.args(["--process-user=nobody", "--process-group=nogroup"]);
        }
        let log = data.path().join("snmpsim.log");
        let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let child = c
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start snmpsim: {e}"))?;
        let mut sim = Snmpsim {
            child: Some(child),
            addrs: addrs.to_vec(),
            port,
            _data: data,
            _cache: cache,
        };
        sim.wait_ready(names.first().copied().unwrap_or("public"), &log)?;
        Ok(sim)
    }

    /// Waits until every address answers a GET of sysDescr five times in a row (snmpsim
    /// indexes the recordings and re-checks the index on the first request; for a moment
    /// after the first answer it may refuse requests).
    fn wait_ready(&mut self, community: &str, log: &Path) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut streak = 0;
        while streak < 5 {
            let mut pending = self.addrs.clone();
            self.wait_answering(&mut pending, community, log, deadline)?;
            streak += 1;
            std::thread::sleep(Duration::from_millis(100));
            if !self.addrs.iter().all(|a| answers(*a, self.port, community)) {
                streak = 0;
            }
        }
        Ok(())
    }

    fn wait_answering(
        &mut self,
        pending: &mut Vec<IpAddr>,
        community: &str,
        log: &Path,
        deadline: Instant,
    ) -> Result<(), String> {
        while !pending.is_empty() {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!(
                    "snmpsim exited ({status}): {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "snmpsim did not answer within 60 s: {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                ));
            }
            pending.retain(|a| !answers(*a, self.port, community));
        }
        Ok(())
    }

    /// Replaces what `name` (one of the recordings it serves) answers. snmpsim notices the new
    /// modification time on the next request and indexes the file again; it compares whole
    /// seconds and re-indexes only a text newer than its index, so the time is set ahead.
    pub fn rewrite(&self, name: &str, text: &str) -> Result<(), String> {
        let p = self._data.path().join(format!("{name}.snmprec"));
        let before = std::fs::metadata(&p)
            .and_then(|m| m.modified())
            .map_err(|e| format!("{}: {e}", p.display()))?;
        std::fs::write(&p, text).map_err(|e| e.to_string())?;
        let next = before.max(std::time::SystemTime::now()) + Duration::from_secs(2);
        std::fs::File::options()
            .write(true)
            .open(&p)
            .and_then(|f| f.set_modified(next))
            .map_err(|e| e.to_string())
    }

    /// Starts snmpsim, or explains why not: a skip on a laptop, a failure in CI.
    pub fn start_or_skip(names: &[&str]) -> Option<Snmpsim> {
        Snmpsim::or_skip(Snmpsim::start(names))
    }

    /// [`Snmpsim::start_on`], or a skip on a laptop, a failure in CI.
    pub fn start_on_or_skip(addrs: &[IpAddr], names: &[&str]) -> Option<Snmpsim> {
        Snmpsim::or_skip(Snmpsim::start_on(addrs, names))
    }

    fn or_skip(r: Result<Snmpsim, String>) -> Option<Snmpsim> {
        match r {
            Ok(s) => Some(s),
            Err(reason) => {
                skip::skip("the SNMP peer (snmpsim)", reason);
                None
            }
        }
    }
}

/// Whether an SNMPv2c GET of sysDescr.0 with `community` gets an answer within 300 ms.
fn answers(addr: IpAddr, port: u16, community: &str) -> bool {
    let Ok(sock) = UdpSocket::bind((addr, 0)) else {
        return false;
    };
    let _ = sock.set_read_timeout(Some(Duration::from_millis(300)));
    if sock.connect((addr, port)).is_err() {
        return false;
    }
    // GetRequest, v2c, request-id 1, sysDescr.0 = NULL.
    let oid: &[u8] = &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00];
    let varbind = der(0x30, &[oid, &[0x05, 0x00]].concat());
    let varbinds = der(0x30, &varbind);
    let pdu = der(
        0xa0,
        &[
            &[0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00][..],
            &varbinds,
        ]
        .concat(),
    );
    let msg = der(
        0x30,
        &[
            &[0x02, 0x01, 0x01][..],
            &der(0x04, community.as_bytes()),
            &pdu,
        ]
        .concat(),
    );
    if sock.send(&msg).is_err() {
        return false;
    }
    let mut buf = [0u8; 2048];
    sock.recv(&mut buf).is_ok_and(|n| n > 0)
}

fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    if body.len() < 128 {
        out.push(body.len() as u8);
    } else {
        out.push(0x82);
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}
