//! A private Dovecot for the auto-reply tests: ManageSieve and LMTP on loopback ports, one
//! mailbox user with a password, mail in a temporary Maildir, a self-signed certificate for
//! STARTTLS, and Sieve (Pigeonhole) on delivery whose vacation replies go to an SMTP server
//! (`submission_host`, the aiosmtpd of `smtp.rs`).
//!
//! Everything lives in a temporary directory (its own `base_dir`, state, log and config); the
//! system's Dovecot, if any, is left alone. Needs the Debian packages dovecot-core,
//! dovecot-managesieved, dovecot-sieve and dovecot-lmtpd (scripts/test.sh installs them).
//! When Dovecot is missing, [`Dovecot::start`] says why; the test hands that to `skip.rs`
//! (included through `smtp.rs`, which every user of this peer includes too), a skip on a
//! laptop and a failure with `CI=true`.
//!
//! Also a tiny independent ManageSieve client over plain TCP ([`Dovecot::sieve`], for setting
//! up and checking scripts) and an LMTP client ([`Dovecot::deliver`]).
//!
//! Included with `#[path = "support/dovecot.rs"] mod dovecot;`; not every includer uses every
//! item.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The mailbox user.
pub const USER: &str = "helpdesk";
/// Its password.
pub const PASSWORD: &str = "Dove-c0t-s3cret-pw";
/// Its address.
pub const ADDRESS: &str = "helpdesk@district.example";

/// A running private Dovecot; stopped when dropped.
pub struct Dovecot {
    child: Option<Child>,
    /// The ManageSieve port (STARTTLS offered).
    pub sieve_port: u16,
    /// The LMTP port.
    pub lmtp_port: u16,
    /// The user's home: `Maildir/` and `sieve/` are in it.
    pub home: PathBuf,
    /// The server certificate (PEM), to trust as `ca_file`.
    pub cert: PathBuf,
    /// Dovecot's log file.
    pub log: PathBuf,
    dir: tempfile::TempDir,
}

fn program() -> Option<PathBuf> {
    ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(line).unwrap());
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

/// The numeric id of `name` (`id -u`/`id -g`).
fn id(flag: &str, name: &str) -> Option<u32> {
    let out = Command::new("id").arg(flag).arg(name).output().ok()?;
    String::from_utf8(out.stdout).ok()?.trim().parse().ok()
}

fn current_user() -> Option<String> {
    let out = Command::new("id").arg("-un").output().ok()?;
    Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
}

impl Dovecot {
    /// Starts Dovecot with vacation replies submitted to `127.0.0.1:smtp_port`.
    pub fn start(smtp_port: u16) -> Result<Dovecot, String> {
        let dovecot = program().ok_or("dovecot is not installed (/usr/sbin/dovecot)")?;
        let modules = Path::new("/usr/lib/dovecot/modules");
        if !modules.join("lib90_sieve_plugin.so").exists() {
            return Err("the Sieve plugin is not installed (dovecot-sieve)".into());
        }
        for (program, package) in [
            ("managesieve", "dovecot-managesieved"),
            ("lmtp", "dovecot-lmtpd"),
        ] {
            if !Path::new("/usr/lib/dovecot").join(program).exists() {
                return Err(format!("{program} is not installed ({package})"));
            }
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let root = dir.path().to_owned();
        let chmod = |p: &Path, mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        };
        // Dovecot's own users must reach the directory.
        chmod(&root, 0o755).map_err(|e| e.to_string())?;
        let home = root.join("home");
        std::fs::create_dir(&home).map_err(|e| e.to_string())?;
        // As root, mail belongs to the `dovecot` user; otherwise everything runs as us.
        // SAFETY: geteuid has no preconditions.
        let is_root = unsafe { libc::geteuid() } == 0;
        let (internal, login, uid, gid) = if is_root {
            let uid = id("-u", "dovecot").ok_or("no `dovecot` system user")?;
            let gid = id("-g", "dovecot").ok_or("no `dovecot` system group")?;
            if id("-u", "dovenull").is_none() {
                return Err("no `dovenull` system user".into());
            }
            std::os::unix::fs::chown(&home, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
            ("dovecot".to_owned(), "dovenull".to_owned(), uid, gid)
        } else {
            let me = current_user().ok_or("cannot tell the current user")?;
            let uid = id("-u", &me).ok_or("no uid")?;
            let gid = id("-g", &me).ok_or("no gid")?;
            (me.clone(), me, uid, gid)
        };
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .map_err(|e| e.to_string())?;
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
        let cert_path = root.join("cert.pem");
        let key_path = root.join("key.pem");
        std::fs::write(&cert_path, pem("CERTIFICATE", cert.der())).map_err(|e| e.to_string())?;
        std::fs::write(&key_path, pem("PRIVATE KEY", &key.serialize_der()))
            .map_err(|e| e.to_string())?;
        let passwd = root.join("passwd");
        std::fs::write(
            &passwd,
            format!(
                "{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{}::\n",
                home.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        chmod(&passwd, 0o644).map_err(|e| e.to_string())?;
        let sieve_port = free_port();
        let lmtp_port = free_port();
        let log = root.join("dovecot.log");
        let config = root.join("dovecot.conf");
        let r = root.display();
        std::fs::write(
            &config,
            format!(
                r#"base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
instance_name = forewarn-test-{sieve_port}
protocols = sieve lmtp
listen = 127.0.0.1
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
first_valid_uid = 1
first_valid_gid = 1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = yes
auth_mechanisms = plain
auth_username_format = %Ln
auth_verbose = yes
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
}}
mail_location = maildir:~/Maildir
postmaster_address = postmaster@district.example
hostname = mail.district.example
submission_host = 127.0.0.1:{smtp_port}
lda_mailbox_autocreate = yes
protocol lmtp {{
  mail_plugins = sieve
}}
service managesieve-login {{
  inet_listener sieve {{
    address = 127.0.0.1
    port = {sieve_port}
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
  unix_listener lmtp {{
    mode = 0600
  }}
}}
plugin {{
  sieve = file:~/sieve;active=~/.dovecot.sieve
}}
"#,
                cert = cert_path.display(),
                key = key_path.display(),
                passwd = passwd.display(),
            ),
        )
        .map_err(|e| e.to_string())?;
        let mut child = Command::new(&dovecot)
            .arg("-F")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start dovecot: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(e) = child.stderr.take() {
                    for line in BufReader::new(e).lines().map_while(Result::ok) {
                        err.push_str(&line);
                        err.push('\n');
                    }
                }
                let logged = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!(
                    "dovecot exited ({status}): {} {}",
                    err.trim(),
                    logged.trim()
                ));
            }
            if TcpStream::connect(("127.0.0.1", sieve_port)).is_ok()
                && TcpStream::connect(("127.0.0.1", lmtp_port)).is_ok()
            {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err("dovecot did not listen within 15 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Dovecot {
            child: Some(child),
            sieve_port,
            lmtp_port,
            home,
            cert: cert_path,
            log,
            dir,
        })
    }

    /// A `sieve` responder for the mailbox: ManageSieve with STARTTLS trusting the server's
    /// certificate, logging in with `password`.
    pub fn responder_config(&self, password: &str) -> forewarn::autoreply::ResponderConfig {
        let text = format!(
            r#"
type = "sieve"
host = "127.0.0.1"
port = {port}
tls = "starttls"
username = "{USER}"
password = "{password}"
addresses = ["{ADDRESS}"]
days = 1
from = "District help desk <{ADDRESS}>"
timeout = "10s"
ca_file = "{ca}"
"#,
            port = self.sieve_port,
            ca = self.cert.display(),
        );
        let c: forewarn::autoreply::ResponderConfig =
            toml::from_str(&text).expect("responder config parses");
        c.validate().expect("responder config is valid");
        c
    }

    /// Dovecot's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A logged-in ManageSieve session (plain TCP: Dovecot counts loopback as secure).
    pub fn sieve(&self) -> SieveClient {
        SieveClient::login(self.sieve_port)
    }

    /// Delivers `message` from `from` to `to` over LMTP; panics unless it is accepted.
    pub fn deliver(&self, from: &str, to: &str, message: &str) {
        let stream = TcpStream::connect(("127.0.0.1", self.lmtp_port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut expect = |code: &str, what: &str| {
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                assert!(line.starts_with(code), "{what}: {line:?}");
                if line.as_bytes().get(3) != Some(&b'-') {
                    break;
                }
            }
        };
        expect("220", "greeting");
        writer.write_all(b"LHLO forewarn.test\r\n").unwrap();
        expect("250", "LHLO");
        writer
            .write_all(format!("MAIL FROM:<{from}>\r\n").as_bytes())
            .unwrap();
        expect("250", "MAIL FROM");
        writer
            .write_all(format!("RCPT TO:<{to}>\r\n").as_bytes())
            .unwrap();
        expect("250", "RCPT TO");
        writer.write_all(b"DATA\r\n").unwrap();
        expect("354", "DATA");
        let body = message.replace("\r\n", "\n").replace('\n', "\r\n");
        writer.write_all(body.as_bytes()).unwrap();
        if !body.ends_with("\r\n") {
            writer.write_all(b"\r\n").unwrap();
        }
        writer.write_all(b".\r\n").unwrap();
        expect("250", "delivery");
        writer.write_all(b"QUIT\r\n").unwrap();
    }

    /// The message files in the Maildir folder `folder` ("" for INBOX).
    pub fn mailbox(&self, folder: &str) -> Vec<PathBuf> {
        let base = if folder.is_empty() {
            self.home.join("Maildir")
        } else {
            self.home.join("Maildir").join(format!(".{folder}"))
        };
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(base.join(sub)) {
                out.extend(rd.flatten().map(|e| e.path()));
            }
        }
        out
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM lets the master stop its children; SIGKILL if it does not.
            // SAFETY: kill on our own child's pid.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A loopback port nothing listens on (at the moment of asking).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal ManageSieve client for setting up and checking (no TLS, no escapes in names).
pub struct SieveClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl SieveClient {
    fn login(port: u16) -> SieveClient {
        use base64::Engine;
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut c = SieveClient {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        c.response();
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("\0{USER}\0{PASSWORD}").as_bytes());
        let (_, end) = c.command(&format!("AUTHENTICATE \"PLAIN\" \"{token}\"\r\n"));
        assert!(end.starts_with("OK"), "login: {end}");
        c
    }

    /// Reads lines up to OK/NO/BYE: (the data lines, the final line). Literals are read whole.
    fn response(&mut self) -> (Vec<String>, String) {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            assert!(!line.is_empty(), "the server closed the connection");
            let trimmed = line.trim_end().to_owned();
            if let Some(n) = trimmed
                .strip_prefix('{')
                .and_then(|r| r.strip_suffix('}'))
                .and_then(|n| n.parse::<usize>().ok())
            {
                let mut buf = vec![0u8; n];
                std::io::Read::read_exact(&mut self.reader, &mut buf).unwrap();
                lines.push(String::from_utf8(buf).unwrap());
                continue;
            }
            if ["OK", "NO", "BYE"].iter().any(|w| trimmed.starts_with(w)) {
                return (lines, trimmed);
            }
            if !trimmed.is_empty() {
                lines.push(trimmed);
            }
        }
    }

    fn command(&mut self, cmd: &str) -> (Vec<String>, String) {
        self.writer.write_all(cmd.as_bytes()).unwrap();
        self.response()
    }

    /// Every script and whether it is active.
    pub fn list(&mut self) -> Vec<(String, bool)> {
        let (lines, end) = self.command("LISTSCRIPTS\r\n");
        assert!(end.starts_with("OK"), "LISTSCRIPTS: {end}");
        let mut v: Vec<(String, bool)> = lines
            .iter()
            .map(|l| {
                let name = l.split('"').nth(1).unwrap().to_owned();
                (name, l.trim_end().ends_with("ACTIVE"))
            })
            .collect();
        v.sort();
        v
    }

    /// The active script's name.
    pub fn active(&mut self) -> Option<String> {
        self.list().into_iter().find(|(_, a)| *a).map(|(n, _)| n)
    }

    /// Stores `script` as `name`.
    pub fn put(&mut self, name: &str, script: &str) {
        let (_, end) = self.command(&format!(
            "PUTSCRIPT \"{name}\" {{{}+}}\r\n{script}\r\n",
            script.len()
        ));
        assert!(end.starts_with("OK"), "PUTSCRIPT: {end}");
    }

    /// Makes `name` the active script.
    pub fn activate(&mut self, name: &str) {
        let (_, end) = self.command(&format!("SETACTIVE \"{name}\"\r\n"));
        assert!(end.starts_with("OK"), "SETACTIVE: {end}");
    }

    /// The text of `name`.
    pub fn get(&mut self, name: &str) -> String {
        let (lines, end) = self.command(&format!("GETSCRIPT \"{name}\"\r\n"));
        assert!(end.starts_with("OK"), "GETSCRIPT: {end}");
        lines.concat()
    }
}

impl Drop for SieveClient {
    fn drop(&mut self) {
        let _ = self.writer.write_all(b"LOGOUT\r\n");
    }
}
