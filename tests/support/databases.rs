//! Private PostgreSQL, MariaDB and Redis servers for the database tests and bench: each on a
//! free loopback port with its data in a temporary directory, a test user with a password, and
//! `stop()` / `start()` for outage tests. Killed when dropped.
//!
//! The servers come from the distribution's packages (`postgresql`, `mariadb-server`,
//! `redis-server`; `scripts/test.sh` installs missing ones when it runs as root). When one is
//! missing, [`Server::start_or_skip`] skips the test with the reason, except with `CI=true`,
//! where it fails. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
//!
//! Included with `#[path = "support/databases.rs"] mod databases;`; not every includer uses
//! every item.
#![allow(dead_code)]

#[path = "skip.rs"]
pub mod skip;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The user every server gets for the probes (with [`PASSWORD`]).
pub const USER: &str = "forewarn";
/// The test user's password.
pub const PASSWORD: &str = "pw-Forewarn-7c1e";
/// The test database (PostgreSQL and MariaDB).
pub const DATABASE: &str = "forewarn";

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// PostgreSQL (`initdb` + `pg_ctl`).
    Postgres,
    /// MariaDB (`mariadb-install-db` + `mariadbd`), or MySQL's `mysqld` where that is what is
    /// installed.
    Mariadb,
    /// Redis (`redis-server`).
    Redis,
}

impl Engine {
    /// The probe type in configs.
    pub fn probe_type(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mariadb => "mysql",
            Engine::Redis => "redis",
        }
    }
}

/// A running (or stopped) private server.
pub struct Server {
    /// Which engine.
    pub engine: Engine,
    /// The loopback port it listens on.
    pub port: u16,
    bins: PathBuf,
    child: Option<Child>,
    running: bool,
    dir: tempfile::TempDir,
    as_postgres: bool,
    admin_calls: AtomicU64,
}

/// A reading of a server's count of accepted connections (see [`Server::mark`]).
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    accepted: u64,
    admin_calls: u64,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port nothing listens on (at the moment of asking).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() == 0 }
}

/// The first directory holding all of `names`: `PATH` and the distribution's own places.
fn find_bins(names: &[&str], extra: &[PathBuf]) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = extra.to_vec();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.extend(["/usr/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from));
    dirs.into_iter()
        .find(|d| names.iter().all(|n| d.join(n).is_file()))
}

fn postgres_bins() -> Option<PathBuf> {
    // /usr/lib/postgresql/<version>/bin, newest first.
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| rd.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.reverse();
    find_bins(&["initdb", "pg_ctl", "psql"], &versions)
}

fn run(cmd: &mut Command, what: &str) -> Result<Output, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Server {
    /// Starts `engine`, or explains why not: a skip on a laptop (`None`, reason printed), a
    /// failure in CI.
    pub fn start_or_skip(engine: Engine) -> Option<Server> {
        match Self::start_new(engine) {
            Ok(s) => Some(s),
            Err(reason) => {
                skip::skip(&format!("the {engine:?} server"), reason);
                None
            }
        }
    }

    /// Starts a fresh server of `engine`.
    pub fn start_new(engine: Engine) -> Result<Server, String> {
        let bins = match engine {
            Engine::Postgres => postgres_bins()
                .ok_or("initdb/pg_ctl/psql not found (Debian: apt-get install postgresql)")?,
            Engine::Mariadb => find_bins(&["mariadbd"], &[])
                .or_else(|| find_bins(&["mysqld"], &[]))
                .ok_or("mariadbd not found (Debian: apt-get install mariadb-server)")?,
            Engine::Redis => find_bins(&["redis-server"], &[])
                .ok_or("redis-server not found (Debian: apt-get install redis-server)")?,
        };
        let dir = tempfile::Builder::new()
            .prefix(&format!("forewarn-{}-", engine.probe_type()))
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let mut server = Server {
            engine,
            port: free_port(),
            bins,
            child: None,
            running: false,
            dir,
            as_postgres: engine == Engine::Postgres && is_root(),
            admin_calls: AtomicU64::new(0),
        };
        server.init()?;
        server.start()?;
        server.create_user()?;
        Ok(server)
    }

    /// Where the server keeps its data, sockets and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The Unix socket (PostgreSQL: the socket directory).
    pub fn socket(&self) -> PathBuf {
        match self.engine {
            Engine::Postgres => self.dir.path().to_owned(),
            Engine::Mariadb => self.dir.path().join("mysqld.sock"),
            Engine::Redis => self.dir.path().join("redis.sock"),
        }
    }

    /// A command running `program` from the server's binaries, as `postgres` where needed.
    fn command(&self, program: &str) -> Command {
        let path = self.bins.join(program);
        let path = if path.is_file() {
            path
        } else {
            PathBuf::from(program)
        };
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn init(&mut self) -> Result<(), String> {
        let data = self.data();
        match self.engine {
            Engine::Postgres => {
                if self.as_postgres {
                    run(
                        Command::new("chown").arg("postgres:").arg(self.dir.path()),
                        "chown postgres",
                    )?;
                }
                run(
                    self.command("initdb")
                        .args([
                            "--auth=trust",
                            "-U",
                            "postgres",
                            "-E",
                            "UTF8",
                            "--no-sync",
                            "-D",
                        ])
                        .arg(&data),
                    "initdb",
                )?;
                // Passwords over TCP for everyone but the admin, so a wrong one is refused.
                std::fs::write(
                    data.join("pg_hba.conf"),
                    "local all all trust\n\
                     host all postgres 127.0.0.1/32 trust\n\
                     host all all 127.0.0.1/32 scram-sha-256\n",
                )
                .map_err(|e| format!("pg_hba.conf: {e}"))?;
            }
            Engine::Mariadb => {
                let install = ["mariadb-install-db", "mysql_install_db"]
                    .into_iter()
                    .find_map(|n| find_bins(&[n], &[]).map(|d| d.join(n)));
                let mut cmd = if let Some(install) = install {
                    let mut c = Command::new(install);
                    c.args(["--no-defaults", "--auth-root-authentication-method=normal"]);
                    c
                } else {
                    let mut c = Command::new(self.bins.join("mysqld"));
                    c.args(["--no-defaults", "--initialize-insecure"]);
                    c
                };
                // A temporary directory of its own: in the shared /tmp another server's
                // clean-up can remove the bootstrap's temporary tables from under it.
                cmd.arg(format!("--datadir={}", data.display()))
                    .arg(format!("--tmpdir={}", self.tmp()?.display()))
                    .arg("--skip-test-db");
                if is_root() {
                    cmd.arg("--user=root");
                }
                run(&mut cmd, "mariadb-install-db")?;
            }
            Engine::Redis => {}
        }
        Ok(())
    }

    /// The server's own temporary directory (created on first use).
    fn tmp(&self) -> Result<PathBuf, String> {
        let tmp = self.dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        Ok(tmp)
    }

    /// Starts the server and waits until it answers.
    pub fn start(&mut self) -> Result<(), String> {
        if self.running {
            return Ok(());
        }
        self.running = true;
        let log = self.dir.path().join("server.log");
        match self.engine {
            Engine::Postgres => {
                run(
                    self.command("pg_ctl")
                        .arg("-D")
                        .arg(self.data())
                        .arg("-l")
                        .arg(&log)
                        .arg("-o")
                        .arg(format!(
                            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
                             -c max_connections=50 -c shared_buffers=16MB",
                            self.port,
                            self.dir.path().display()
                        ))
                        .args(["-w", "-t", "30", "start"]),
                    "pg_ctl start",
                )?;
            }
            Engine::Mariadb => {
                let program = if self.bins.join("mariadbd").is_file() {
                    "mariadbd"
                } else {
                    "mysqld"
                };
                let mut cmd = Command::new(self.bins.join(program));
                cmd.arg("--no-defaults")
                    .arg(format!("--datadir={}", self.data().display()))
                    .arg(format!("--port={}", self.port))
                    .arg("--bind-address=127.0.0.1")
                    .arg(format!("--socket={}", self.socket().display()))
                    .arg(format!(
                        "--pid-file={}",
                        self.dir.path().join("mysqld.pid").display()
                    ))
                    .arg(format!("--log-error={}", log.display()))
                    .arg(format!("--tmpdir={}", self.tmp()?.display()))
                    .args([
                        "--skip-name-resolve",
                        "--innodb-buffer-pool-size=16M",
                        "--innodb-flush-log-at-trx-commit=0",
                        "--max-connections=50",
                    ])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                if is_root() {
                    cmd.arg("--user=root");
                }
                self.child = Some(cmd.spawn().map_err(|e| format!("{program}: {e}"))?);
            }
            Engine::Redis => {
                let mut cmd = Command::new(self.bins.join("redis-server"));
                cmd.args(["--port", &self.port.to_string()])
                    .args(["--bind", "127.0.0.1"])
                    .args(["--save", ""])
                    .args(["--appendonly", "no"])
                    .args(["--daemonize", "no"])
                    .args(["--requirepass", PASSWORD])
                    .arg("--unixsocket")
                    .arg(self.socket())
                    .arg("--dir")
                    .arg(self.dir.path())
                    .arg("--logfile")
                    .arg(&log)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                self.child = Some(cmd.spawn().map_err(|e| format!("redis-server: {e}"))?);
            }
        }
        self.wait_ready(&log)
    }

    fn wait_ready(&mut self, log: &Path) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.admin("SELECT 1").is_ok() {
                return Ok(());
            }
            if let Some(c) = &mut self.child
                && let Ok(Some(status)) = c.try_wait()
                && self.engine != Engine::Postgres
            {
                self.child = None;
                self.running = false;
                return Err(format!(
                    "{:?} exited ({status}): {}",
                    self.engine,
                    std::fs::read_to_string(log).unwrap_or_default()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{:?} not ready after 60 s: {}",
                    self.engine,
                    std::fs::read_to_string(log).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (fast shutdown) and waits until it is gone.
    pub fn stop(&mut self) {
        if !std::mem::replace(&mut self.running, false) {
            return;
        }
        let child = self.child.take();
        match self.engine {
            Engine::Postgres => {
                let _ = self
                    .command("pg_ctl")
                    .arg("-D")
                    .arg(self.data())
                    .args(["-m", "fast", "-w", "stop"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            Engine::Mariadb | Engine::Redis => {
                let Some(mut child) = child else { return };
                // SAFETY: signalling our own child.
                unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
                let deadline = Instant::now() + Duration::from_secs(20);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// Runs `sql` (a command line for Redis) as the administrator; stdout, trimmed.
    pub fn admin(&self, sql: &str) -> Result<String, String> {
        self.admin_calls.fetch_add(1, Ordering::SeqCst);
        let out = match self.engine {
            Engine::Postgres => run(
                self.command("psql")
                    .arg("-h")
                    .arg(self.dir.path())
                    .args([
                        "-p",
                        &self.port.to_string(),
                        "-U",
                        "postgres",
                        "-d",
                        "postgres",
                    ])
                    .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql]),
                "psql",
            )?,
            Engine::Mariadb => {
                let client = ["mariadb", "mysql"]
                    .into_iter()
                    .find_map(|c| find_bins(&[c], &[]).map(|d| d.join(c)))
                    .ok_or("no mariadb/mysql client")?;
                run(
                    Command::new(client)
                        .arg("--no-defaults")
                        .arg(format!("--socket={}", self.socket().display()))
                        .args(["-uroot", "-N", "-B", "-e", sql]),
                    "mariadb",
                )?
            }
            Engine::Redis => {
                let cli = find_bins(&["redis-cli"], &[]).ok_or("no redis-cli")?;
                let reply = run(
                    Command::new(cli.join("redis-cli"))
                        .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                        .args(["-a", PASSWORD, "--no-auth-warning"])
                        .args(sql.split_whitespace()),
                    "redis-cli",
                )?;
                let text = String::from_utf8_lossy(&reply.stdout);
                if text.starts_with("ERR") || text.starts_with("NOAUTH") || text.is_empty() {
                    return Err(format!("redis-cli {sql}: {text}"));
                }
                reply
            }
        };
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn create_user(&self) -> Result<(), String> {
        match self.engine {
            Engine::Postgres => {
                self.admin(&format!(
                    "CREATE USER {USER} PASSWORD '{PASSWORD}' IN ROLE pg_monitor"
                ))?;
                self.admin(&format!("CREATE DATABASE {DATABASE} OWNER {USER}"))?;
            }
            Engine::Mariadb => {
                self.admin(&format!(
                    "CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'; \
                     CREATE DATABASE {DATABASE}; \
                     GRANT ALL ON {DATABASE}.* TO '{USER}'@'%'; \
                     GRANT PROCESS, REPLICATION CLIENT ON *.* TO '{USER}'@'%'"
                ))?;
                // MariaDB 10.5+ wants this one for SHOW REPLICA STATUS; MySQL has no such name.
                let _ = self.admin(&format!("GRANT SLAVE MONITOR ON *.* TO '{USER}'@'%'"));
            }
            Engine::Redis => {}
        }
        Ok(())
    }

    /// Turns TLS on (PostgreSQL) with a fresh self-signed certificate for 127.0.0.1 and
    /// localhost; returns the certificate's PEM file, to trust with `tls_ca_file`.
    pub fn enable_tls(&self) -> Result<PathBuf, String> {
        use base64::Engine as _;
        if self.engine != Engine::Postgres {
            return Err(format!("TLS set-up for {:?} is not written", self.engine));
        }
        let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
        let mut params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .map_err(|e| e.to_string())?;
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
        let pem = |label: &str, der: &[u8]| {
            let b64 = base64::engine::general_purpose::STANDARD.encode(der);
            let lines: Vec<&str> = b64
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            format!(
                "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
                lines.join("\n")
            )
        };
        let cert_file = self.dir.path().join("server.crt");
        let key_file = self.data().join("server.key");
        std::fs::write(&cert_file, pem("CERTIFICATE", cert.der())).map_err(|e| e.to_string())?;
        std::fs::write(&key_file, pem("PRIVATE KEY", &key.serialize_der()))
            .map_err(|e| e.to_string())?;
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| e.to_string())?;
        if self.as_postgres {
            run(
                Command::new("chown")
                    .arg("postgres:")
                    .arg(&key_file)
                    .arg(&cert_file),
                "chown postgres",
            )?;
        }
        self.admin(&format!(
            "ALTER SYSTEM SET ssl_cert_file = '{}'",
            cert_file.display()
        ))?;
        self.admin(&format!(
            "ALTER SYSTEM SET ssl_key_file = '{}'",
            key_file.display()
        ))?;
        self.admin("ALTER SYSTEM SET ssl = on")?;
        self.admin("SELECT pg_reload_conf()")?;
        // The reload is asynchronous.
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.admin("SHOW ssl")? != "on" {
            if Instant::now() > deadline {
                return Err("ssl is still off after a reload".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(cert_file)
    }

    /// The probe keys that reach this server as the test user with `password`.
    pub fn probe_toml(&self, password: &str) -> String {
        match self.engine {
            Engine::Postgres | Engine::Mariadb => format!(
                "type = \"{}\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"{USER}\"\n\
                 password = \"{password}\"\ndatabase = \"{DATABASE}\"\n",
                self.engine.probe_type(),
                self.port
            ),
            Engine::Redis => format!(
                "type = \"redis\"\nhost = \"127.0.0.1\"\nport = {}\npassword = \"{password}\"\n",
                self.port
            ),
        }
    }

    /// Server-side identities of the test user's connections (backend pid, connection id,
    /// client id), sorted: the same list over time means the same connections were reused.
    pub fn user_connections(&self) -> Vec<String> {
        let text = match self.engine {
            Engine::Postgres => self.admin(&format!(
                "SELECT pid || '@' || backend_start FROM pg_stat_activity \
                 WHERE usename = '{USER}' ORDER BY 1"
            )),
            Engine::Mariadb => self.admin(&format!(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '{USER}' ORDER BY ID"
            )),
            Engine::Redis => self.admin("CLIENT LIST").map(|list| {
                // Every client but the redis-cli asking.
                list.lines()
                    .filter(|l| !l.contains("cmd=client|list"))
                    .filter_map(|l| l.split_whitespace().find(|f| f.starts_with("id=")))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
        }
        .unwrap_or_else(|e| panic!("listing connections: {e}"));
        let mut ids: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        ids.sort();
        ids
    }

    /// The server's count of connections ever accepted (PostgreSQL: sessions of the test
    /// database; MariaDB: `Connections`; Redis: `total_connections_received`).
    pub fn connections_accepted(&self) -> u64 {
        let text = match self.engine {
            Engine::Postgres => self.admin(&format!(
                "SELECT sessions FROM pg_stat_database WHERE datname = '{DATABASE}'"
            )),
            Engine::Mariadb => self
                .admin("SHOW GLOBAL STATUS LIKE 'Connections'")
                .map(|t| t.split_whitespace().last().unwrap_or_default().to_owned()),
            Engine::Redis => self.admin("INFO stats").map(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("total_connections_received:"))
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            }),
        }
        .unwrap_or_else(|e| panic!("reading the connection counter: {e}"));
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("connection counter {text:?}"))
    }

    /// Reads the count of accepted connections, to compare with later.
    pub fn mark(&self) -> Mark {
        let accepted = self.connections_accepted();
        Mark {
            accepted,
            admin_calls: self.admin_calls.load(Ordering::SeqCst),
        }
    }

    /// Connections the server accepted since `mark` other than this helper's own (the
    /// administrator's queries connect too, except to PostgreSQL's test database).
    pub fn new_connections_since(&self, mark: &Mark) -> u64 {
        let between = self.admin_calls.load(Ordering::SeqCst) - mark.admin_calls;
        let now = self.connections_accepted();
        let total = now - mark.accepted;
        match self.engine {
            Engine::Postgres => total,
            // The admin calls in between and the one that just read the counter.
            Engine::Mariadb | Engine::Redis => total.saturating_sub(between + 1),
        }
    }
}
