//! The `forewarn` command-line program.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use forewarn::store::IncidentFilter;
use forewarn::text::{printable, printable_lines};
use forewarn::{Config, Monitor, Observation, SqliteStore, Status};

// Checks allocate small, short-lived values on every runtime thread and the history writer frees
// them on another; mimalloc's per-thread free lists make that cheap where the system allocator
// contends on its arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`): how long freed pages stay committed
/// before they go back to the operating system (milliseconds; 1000 by default in mimalloc 3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Returns freed pages to the operating system as soon as they are free, until the returned
/// guard is dropped, which restores the delay and hands back what is still held free.
///
/// Loading a large config frees its parse tree while the typed config and the monitor are
/// being built: with the delay, those freed pages stay resident and add up to the peak.
fn purge_eagerly() -> PurgeEagerly {
    // SAFETY: reading and setting an option are valid at any time.
    let before = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    PurgeEagerly(before)
}

/// See [`purge_eagerly`]; holds the delay to restore.
struct PurgeEagerly(std::os::raw::c_long);

impl PurgeEagerly {
    /// Keeps purging eagerly from now on, unless the delay to restore was set in the
    /// environment (`MIMALLOC_PURGE_DELAY`, which then wins), and hands back what is held
    /// free.
    ///
    /// Monitoring allocates and frees a steady stream of small values (each check's result,
    /// each history batch): with mimalloc's default delay about 22 MiB of freed pages stayed
    /// resident at 100,000 TCP checks every 5 s, and purging them at once cost no measurable
    /// CPU (benches/README.md, "Metrics as a vector, raw blocks while the hour is open, freed
    /// pages handed back at once").
    fn keep(self) {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        std::mem::forget(self);
        // SAFETY: collecting is valid at any time.
        unsafe { libmimalloc_sys::mi_collect(true) };
    }
}

impl Drop for PurgeEagerly {
    fn drop(&mut self) {
        // SAFETY: setting an option and collecting are valid at any time.
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, self.0);
            libmimalloc_sys::mi_collect(true);
        }
    }
}

/// forewarn: find the failure before a teacher does.
#[derive(Debug, Parser)]
#[command(name = "forewarn", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Threads running the checks (env FOREWARN_WORKERS). One event-loop thread keeps 100,000
    /// TCP checks every 5 s on schedule (under one core: see benches/README.md) and spares the
    /// hand-offs between threads; raise it for CPU-heavy mixes such as thousands of TLS
    /// handshakes a second. History writes and name lookups run on their own threads either
    /// way.
    #[arg(
        long,
        global = true,
        env = "FOREWARN_WORKERS",
        default_value_t = 1,
        value_parser = clap::value_parser!(u16).range(1..=1024)
    )]
    workers: u16,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Monitor until Ctrl-C / SIGTERM. Without --config: ./forewarn.toml if present, else the
    /// embedded default (this machine's health, SSH on localhost if listening, history in
    /// ./forewarn.db, alerts to ./forewarn-outbox.jsonl). One `run` per database: a second is
    /// refused with the first one's process id.
    Run {
        /// The config file (env FOREWARN_CONFIG).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
        /// Print only incidents, not every status change.
        #[arg(long)]
        quiet: bool,
    },
    /// Run every check once and print the results; the exit code is the worst status
    /// (0 ok, 1 warning, 2 critical, 3 unknown), as monitoring plugins do.
    Check {
        /// The config file (env FOREWARN_CONFIG; default as for `run`).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Only these checks (by name).
        #[arg(long = "only")]
        only: Vec<String>,
    },
    /// Check a config file without running it; errors name file:line:col.
    Validate {
        /// The config file.
        file: PathBuf,
    },
    /// List incidents from the history.
    Incidents {
        /// The config file whose database to read (env FOREWARN_CONFIG; default as for `run`).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
        /// Include resolved incidents.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A check's history: availability, latency, its changes of status, and rollups per
    /// minute, hour or day, in the district's time zone.
    History {
        /// The check's name.
        check: String,
        /// How far back: "24h", "7d", "90d".
        #[arg(long, default_value = "24h")]
        since: String,
        /// Rollups per `minute`, `hour` or `day` (default: by the span, about 24 to 180 rows).
        #[arg(long)]
        tier: Option<String>,
        /// Print JSON (times in UTC).
        #[arg(long)]
        json: bool,
        /// The config file whose database to read (env FOREWARN_CONFIG; default as for `run`).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Acknowledge an incident: escalation stops and those told hear who took it.
    Ack {
        /// The incident number.
        id: i64,
        /// Who takes it.
        #[arg(long)]
        by: String,
        /// A note for the others.
        #[arg(long)]
        note: Option<String>,
        /// The config file (env FOREWARN_CONFIG; default as for `run`).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Work on an incident: add a note (every audience told of the outage it is behind gets it
    /// as an update), or resolve it by hand. Works beside a running `forewarn run`.
    Incident {
        #[command(subcommand)]
        cmd: IncidentCommand,
    },
    /// Planned maintenance of services: announced to audiences ahead, at its start and at its
    /// end; its checks are silenced meanwhile.
    Maintenance {
        #[command(subcommand)]
        cmd: MaintenanceCommand,
    },
    /// Outages of services: what people outside ICT were told, and when.
    Outages {
        /// Also those over (the last 30 days).
        #[arg(long)]
        all: bool,
        /// Print JSON (times in UTC).
        #[arg(long)]
        json: bool,
        /// The config file (env FOREWARN_CONFIG; default as for `run`).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Mine help-desk exports: trends on a school calendar, recurring topics, training and
    /// FAQ recommendations, an HTML report.
    #[cfg(feature = "tickets")]
    Tickets {
        #[command(subcommand)]
        cmd: forewarn::tickets::cli::TicketsCommand,
    },
    /// Find devices on the network and print ready-to-paste `[[checks]]` for them.
    #[cfg(feature = "probe-snmp")]
    Discover {
        #[command(subcommand)]
        what: DiscoverCommand,
    },
    /// Print a configuration.
    Config {
        #[command(subcommand)]
        what: ConfigCommand,
    },
    /// Run this machine's checks (its host health, and the checks of --config) and push them
    /// to a central forewarn, keeping them in a local outbox while it cannot be reached.
    Agent {
        /// The central's address (https://…, or http:// to loopback); else [agent] central.
        #[arg(long)]
        central: Option<String>,
        /// The file holding this agent's token; else [agent] token_file.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// The agent's config ([agent] and [[checks]]); without it: the host check (and the disks where smartctl is installed) every 60 s.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Print the service definition for this platform (systemd, launchd, sc.exe) and exit.
        #[arg(long)]
        print_service: bool,
    },
    /// Agents reporting to this monitor: tokens, revocation, list.
    Agents {
        #[command(subcommand)]
        cmd: AgentsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AgentsCommand {
    /// An agent's token.
    Token {
        #[command(subcommand)]
        cmd: TokenCommand,
    },
    /// Refuse an agent's tokens from now on.
    Revoke {
        /// The agent.
        name: String,
        /// The config file (env FOREWARN_CONFIG; default as for `run`).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
    },
    /// List the agents, with when each last reported (in the district's time zone).
    List {
        /// Print JSON (times in UTC).
        #[arg(long)]
        json: bool,
        /// The config file (env FOREWARN_CONFIG; default as for `run`).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Make an agent and print its token (shown once, kept only as a hash).
    Create {
        /// The agent's name (letters, digits, `-`, `_`, `.`).
        name: String,
        /// Its group ([agents.groups.NAME] says how its silence is treated); default agent:NAME.
        #[arg(long)]
        group: Option<String>,
        /// The config file (env FOREWARN_CONFIG; default as for `run`).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Give an agent a new token; the old one stays valid for [agents] token_grace (24h).
    Rotate {
        /// The agent.
        name: String,
        /// The config file (env FOREWARN_CONFIG; default as for `run`).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
    },
}

async fn agents_command(cmd: AgentsCommand) -> forewarn::Result<u8> {
    match cmd {
        AgentsCommand::Token {
            cmd:
                TokenCommand::Create {
                    name,
                    group,
                    config,
                },
        } => {
            let config = load_config(config.as_deref()).await?;
            let store = forewarn::store::open(&config.monitor.database).await?;
            let token = forewarn::agents::create_agent(
                &*store,
                &name,
                group.as_deref(),
                chrono::Utc::now(),
            )
            .await?;
            eprintln!(
                "agent {} made; its token (shown only now; put it in the agent's token file):",
                printable(&name)
            );
            println!("{token}");
            Ok(0)
        }
        AgentsCommand::Token {
            cmd: TokenCommand::Rotate { name, config },
        } => {
            let config = load_config(config.as_deref()).await?;
            let store = forewarn::store::open(&config.monitor.database).await?;
            let grace = config.agents.token_grace;
            let token =
                forewarn::agents::rotate_token(&*store, &name, chrono::Utc::now(), grace).await?;
            eprintln!(
                "agent {}: new token (shown only now); the old one stays valid for {}:",
                printable(&name),
                humantime::format_duration(grace)
            );
            println!("{token}");
            Ok(0)
        }
        AgentsCommand::Revoke { name, config } => {
            let config = load_config(config.as_deref()).await?;
            let store = forewarn::store::open(&config.monitor.database).await?;
            store.revoke_agent(&name, chrono::Utc::now()).await?;
            println!("agent {} revoked: its pushes are refused", printable(&name));
            Ok(0)
        }
        AgentsCommand::List { json, config } => {
            let config = load_config(config.as_deref()).await?;
            let store = forewarn::store::open(&config.monitor.database).await?;
            let agents = store.agents().await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&agents).expect("serialises")
                );
                return Ok(0);
            }
            if agents.is_empty() {
                println!("no agents in {}", config.monitor.database.display());
                return Ok(0);
            }
            let zone = config.zone();
            println!(
                "{:<24} {:<16} {:<21} {:<9} CHECKS",
                "AGENT", "GROUP", "LAST SEEN", "STATE"
            );
            for a in agents {
                println!(
                    "{:<24} {:<16} {:<21} {:<9} {}",
                    truncate(&printable(&a.name), 24),
                    truncate(&printable(&a.group), 16),
                    a.last_seen
                        .map_or_else(|| "never".to_owned(), |t| zone.minute(t)),
                    if a.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    printable(&a.checks.join(","))
                );
            }
            Ok(0)
        }
    }
}

async fn agent_command(
    central: Option<String>,
    token_file: Option<PathBuf>,
    config: Option<PathBuf>,
    print_service: bool,
) -> forewarn::Result<u8> {
    if print_service {
        let exe = std::env::current_exe()
            .map_err(|e| forewarn::Error::io("finding this program's path", e))?;
        let config = config.unwrap_or_else(|| PathBuf::from("agent.toml"));
        print!(
            "{}",
            forewarn::agent::service::for_this_platform(&exe, &config)
        );
        return Ok(0);
    }
    let shutdown = forewarn::monitor::shutdown_signal();
    let config = match &config {
        Some(p) => Config::from_file(p)?,
        None => Config::parse("", Path::new("<no config>"))?,
    };
    let agent =
        forewarn::agent::Agent::from_config(&config, central.as_deref(), token_file.as_deref())?;
    println!(
        "forewarn agent {}: reporting as `{}`; {} observation(s) waiting in the outbox. Ctrl-C stops.",
        env!("CARGO_PKG_VERSION"),
        printable(agent.name()),
        agent.outbox().len().await?
    );
    agent.run_until(shutdown).await?;
    Ok(0)
}

#[derive(Debug, Subcommand)]
enum IncidentCommand {
    /// Add a note to an incident.
    Note {
        /// The incident number.
        id: i64,
        /// What to tell ("The vendor is restarting the server").
        text: String,
        /// Who writes it (env FOREWARN_USER, else USER).
        #[arg(long, env = "FOREWARN_USER")]
        by: Option<String>,
        /// The config file (env FOREWARN_CONFIG; default as for `run`).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Resolve an incident by hand (a false alarm, or fixed while its check still fails).
    Resolve {
        /// The incident number.
        id: i64,
        /// Who resolves it (env FOREWARN_USER, else USER).
        #[arg(long, env = "FOREWARN_USER")]
        by: Option<String>,
        /// Why.
        #[arg(long)]
        note: Option<String>,
        /// The config file (env FOREWARN_CONFIG; default as for `run`).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum MaintenanceCommand {
    /// Plan maintenance of services.
    Plan {
        /// What people are told it is ("Server upgrade").
        #[arg(long)]
        title: String,
        /// The services it switches off, by key, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        services: Vec<String>,
        /// When it starts: "2026-09-12 07:00" in the district's time zone, or RFC 3339.
        #[arg(long)]
        start: String,
        /// When it ends, in the same forms.
        #[arg(long)]
        end: String,
        /// More words for people.
        #[arg(long)]
        description: Option<String>,
        /// The config file (env FOREWARN_CONFIG; default as for `run`).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
    },
    /// List the maintenance planned (config windows are in the config).
    List {
        /// Print JSON (times in UTC).
        #[arg(long)]
        json: bool,
        /// The config file (env FOREWARN_CONFIG; default as for `run`).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Cancel planned maintenance.
    Cancel {
        /// Its id (see `list`).
        id: String,
        /// The config file (env FOREWARN_CONFIG; default as for `run`).
        #[arg(long, short, env = "FOREWARN_CONFIG")]
        config: Option<PathBuf>,
    },
}

/// Who a command acts as: `--by`, else the login name.
fn acting_user(by: Option<String>) -> forewarn::Result<String> {
    by.or_else(|| std::env::var("USER").ok())
        .filter(|b| !b.trim().is_empty())
        .ok_or_else(|| forewarn::Error::invalid("by", "say who you are with --by NAME"))
}

async fn incident_command(cmd: IncidentCommand) -> forewarn::Result<u8> {
    match cmd {
        IncidentCommand::Note {
            id,
            text,
            by,
            config,
        } => {
            let by = acting_user(by)?;
            let config = load_config(config.as_deref()).await?;
            let monitor = Monitor::from_config(&config).await?;
            let incident = monitor.note(id, &by, &text).await?;
            println!(
                "note added to incident {} ({}) by {}",
                incident.id,
                printable(&incident.check),
                printable(&by)
            );
            Ok(0)
        }
        IncidentCommand::Resolve {
            id,
            by,
            note,
            config,
        } => {
            let by = acting_user(by)?;
            let config = load_config(config.as_deref()).await?;
            let monitor = Monitor::from_config(&config).await?;
            let incident = monitor.resolve(id, &by, note.as_deref()).await?;
            println!(
                "incident {} ({}) resolved by {}",
                incident.id,
                printable(&incident.check),
                printable(&by)
            );
            Ok(0)
        }
    }
}

async fn maintenance_command(cmd: MaintenanceCommand) -> forewarn::Result<u8> {
    use forewarn::monitor::maintenance::parse_instant;
    match cmd {
        MaintenanceCommand::Plan {
            title,
            services,
            start,
            end,
            description,
            config,
        } => {
            let config = load_config(config.as_deref()).await?;
            let zone = config.zone();
            let at = |what: &str, v: &str| {
                parse_instant(v, zone.tz()).ok_or_else(|| {
                    forewarn::Error::invalid(
                        what,
                        format!(
                            "`{}` is not a time (\"2026-09-12 07:00\" in {}, or RFC 3339)",
                            printable(v),
                            zone.tz().name()
                        ),
                    )
                })
            };
            let plan = forewarn::broadcast::PlannedMaintenance {
                id: String::new(),
                title,
                services,
                starts_at: at("start", &start)?,
                ends_at: at("end", &end)?,
                description,
            };
            let monitor = Monitor::from_config(&config).await?;
            let (starts, ends) = (plan.starts_at, plan.ends_at);
            let id = monitor.schedule_maintenance(plan).await?;
            println!(
                "maintenance {id} planned from {} to {}",
                zone.minute(starts),
                zone.minute(ends)
            );
            Ok(0)
        }
        MaintenanceCommand::List { json, config } => {
            let config = load_config(config.as_deref()).await?;
            let store = forewarn::store::open(&config.monitor.database).await?;
            let plans = store.planned_maintenance().await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&plans).expect("serialises")
                );
            } else if plans.is_empty() {
                println!(
                    "no maintenance planned in {}",
                    config.monitor.database.display()
                );
            } else {
                let zone = config.zone();
                println!(
                    "{:<14} {:<21} {:<21} {:<24} TITLE",
                    "ID", "STARTS", "ENDS", "SERVICES"
                );
                for p in plans {
                    println!(
                        "{:<14} {:<21} {:<21} {:<24} {}",
                        p.id,
                        zone.minute(p.starts_at),
                        zone.minute(p.ends_at),
                        truncate(&printable(&p.services.join(",")), 24),
                        printable(&p.title)
                    );
                }
            }
            Ok(0)
        }
        MaintenanceCommand::Cancel { id, config } => {
            let config = load_config(config.as_deref()).await?;
            let monitor = Monitor::from_config(&config).await?;
            monitor.cancel_maintenance(&id).await?;
            println!("maintenance {} cancelled", printable(&id));
            Ok(0)
        }
    }
}

async fn outages_command(all: bool, json: bool, config: Option<PathBuf>) -> forewarn::Result<u8> {
    let config = load_config(config.as_deref()).await?;
    let store = forewarn::store::open(&config.monitor.database).await?;
    let since = if all {
        chrono::Utc::now() - chrono::Duration::days(30)
    } else {
        chrono::DateTime::<chrono::Utc>::MAX_UTC
    };
    let outages = store.outages(since, 0).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&outages).expect("serialises")
        );
        return Ok(0);
    }
    if outages.is_empty() {
        println!(
            "no {}outages in {}",
            if all { "" } else { "current " },
            config.monitor.database.display()
        );
        return Ok(0);
    }
    let zone = config.zone();
    let names: std::collections::HashMap<&str, &str> = config
        .services
        .iter()
        .map(|(k, s)| (k.as_str(), s.name.as_str()))
        .collect();
    println!(
        "{:>5}  {:<8} {:<21} {:<21} {:>5}  SERVICES",
        "ID", "STATE", "STARTED", "BACK", "SENT"
    );
    for o in outages {
        let state = if o.closed {
            "over"
        } else if o.back_at.is_some() {
            "back"
        } else {
            "down"
        };
        let services: Vec<&str> = o
            .services
            .iter()
            .map(|k| names.get(k.as_str()).copied().unwrap_or(k))
            .collect();
        println!(
            "{:>5}  {:<8} {:<21} {:<21} {:>5}  {}",
            o.id,
            state,
            zone.minute(o.started_at),
            o.back_at.map(|b| zone.minute(b)).unwrap_or_default(),
            o.sent.len(),
            printable(&services.join(", "))
        );
    }
    Ok(0)
}

#[cfg(feature = "probe-snmp")]
#[derive(Debug, Subcommand)]
enum DiscoverCommand {
    /// Poll every address of a range over SNMP and list those answering the Printer-MIB.
    Printers {
        /// The range, e.g. 10.1.0.0/24 (or one address).
        cidr: String,
        /// The SNMP community to try (env PRINTER_COMMUNITY). It is not printed: the checks
        /// read it from ${PRINTER_COMMUNITY}.
        #[arg(long, env = "PRINTER_COMMUNITY", hide_env_values = true)]
        community: String,
        /// SNMP version: 1 or 2c.
        #[arg(long, default_value = "2c", value_parser = ["1", "2c"])]
        version: String,
        /// The UDP port.
        #[arg(long, default_value_t = 161)]
        port: u16,
        /// Addresses asked at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// How long to wait for an answer ("1s", "500ms").
        #[arg(long, default_value = "1s", value_parser = parse_duration_arg)]
        timeout: Duration,
        /// Print JSON instead of config.
        #[arg(long)]
        json: bool,
    },
}

#[cfg(feature = "probe-snmp")]
fn parse_duration_arg(s: &str) -> Result<Duration, String> {
    forewarn::config::parse_duration(s).map_err(|e| e.to_string())
}

#[cfg(feature = "probe-snmp")]
async fn discover(what: DiscoverCommand) -> forewarn::Result<u8> {
    use forewarn::probe::printer::{DiscoverOptions, SnmpVersion, discover, discover::to_config};
    let DiscoverCommand::Printers {
        cidr,
        community,
        version,
        port,
        concurrency,
        timeout,
        json,
    } = what;
    let options = DiscoverOptions {
        community: forewarn::Secret::new(community),
        version: if version == "1" {
            SnmpVersion::V1
        } else {
            SnmpVersion::V2c
        },
        port,
        concurrency,
        timeout,
        ..Default::default()
    };
    let mut found = discover(&cidr, &options).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&found).expect("serialises")
        );
    } else {
        // What the devices call themselves goes into comments and names of the config: one
        // line each, whatever they answered.
        for p in &mut found {
            let texts = [
                &mut p.model,
                &mut p.sys_name,
                &mut p.location,
                &mut p.serial,
            ];
            for t in texts.into_iter().flatten() {
                *t = printable(t).into_owned();
            }
        }
        print!("{}", to_config(&found, &options));
    }
    Ok(0)
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// The embedded default, to start a forewarn.toml from.
    Default,
}

/// Hands SQLite's own allocations (its page cache, prepared statements) to mimalloc, like the
/// rest of the program's, instead of the C library's allocator.
///
/// SQLite runs on tokio's blocking threads, which come and go: the C library gives each new
/// thread an arena of its own, and a 2 MiB page cache spread over a dozen arenas held about
/// 7 MiB resident at 100,000 checks (benches/README.md, "A packed check state, SQLite's default
/// cache, SQLite on mimalloc"). Called before any database is opened; should SQLite already be
/// set up (it refuses then), it keeps the C library's allocator.
fn sqlite_on_mimalloc() {
    use rusqlite::ffi;
    use std::os::raw::{c_int, c_void};

    unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
        // SAFETY: any size may be asked of mimalloc; SQLite never asks for a negative one.
        unsafe { libmimalloc_sys::mi_malloc(n.max(0) as usize) }
    }
    unsafe extern "C" fn x_free(p: *mut c_void) {
        // SAFETY: SQLite frees only what `x_malloc` or `x_realloc` gave it.
        unsafe { libmimalloc_sys::mi_free(p) }
    }
    unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
        // SAFETY: as for `x_free`.
        unsafe { libmimalloc_sys::mi_realloc(p, n.max(0) as usize) }
    }
    unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
        // SAFETY: as for `x_free`.
        let n = unsafe { libmimalloc_sys::mi_usable_size(p) };
        c_int::try_from(n).unwrap_or(c_int::MAX)
    }
    unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
        // SAFETY: a pure function of its argument.
        let n = unsafe { libmimalloc_sys::mi_good_size(n.max(0) as usize) };
        c_int::try_from(n).unwrap_or(c_int::MAX)
    }
    unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
        ffi::SQLITE_OK
    }
    unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(x_malloc),
        xFree: Some(x_free),
        xRealloc: Some(x_realloc),
        xSize: Some(x_size),
        xRoundup: Some(x_roundup),
        xInit: Some(x_init),
        xShutdown: Some(x_shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: SQLITE_CONFIG_MALLOC takes a pointer to the methods and copies them before it
    // returns; it is refused (SQLITE_MISUSE) once SQLite is initialised, changing nothing, so
    // its answer needs no handling.
    unsafe {
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_MALLOC,
            &methods as *const ffi::sqlite3_mem_methods,
        );
    }
}

/// Raises the soft limit on open files to the hard one, as nginx's `worker_rlimit_nofile` and
/// Go's runtime do: each check in flight holds a socket (a keep-alive HTTP check holds one
/// between checks), and service managers commonly start programs at a soft limit of 1,024.
fn raise_open_file_limit() {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is a valid `rlimit` to fill and then to read.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0
                && limit.rlim_cur < limit.rlim_max
            {
                limit.rlim_cur = limit.rlim_max;
                // Refused (macOS caps it lower): the soft limit stays as it was.
                libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            }
        }
    }
}

fn main() -> ExitCode {
    sqlite_on_mimalloc();
    raise_open_file_limit();
    let cli = Cli::parse();
    let verbose = matches!(cli.command, Command::Run { .. });
    init_logging(verbose);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(cli.workers))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let ran = if matches!(cli.command, Command::Run { .. }) {
        // The monitor runs on a worker of the runtime, not on this thread: its scheduler then
        // wakes on the thread that drives the timers at each batch window, rather than being
        // woken by it (20 thread hand-offs a second fewer at a 1 s interval).
        rt.block_on(async move {
            match tokio::spawn(dispatch(cli.command)).await {
                Ok(ran) => ran,
                Err(e) => match e.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(e) => Err(forewarn::Error::Stopped {
                        task: "the monitor".into(),
                        message: e.to_string(),
                    }),
                },
            }
        })
    } else {
        rt.block_on(dispatch(cli.command))
    };
    match ran {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", printable_lines(&e.to_string()));
            ExitCode::from(3)
        }
    }
}

fn init_logging(verbose: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if verbose {
        "forewarn=info"
    } else {
        "forewarn=warn"
    };
    let filter =
        EnvFilter::try_from_env("FOREWARN_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .fmt_fields(EscapedFields)
        .compact()
        .init();
}

/// Log fields as `name=value`, the message first, with control characters in values escaped
/// (server replies and device text reach the log through errors): one event is one line.
struct EscapedFields;

impl<'w> tracing_subscriber::fmt::FormatFields<'w> for EscapedFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        writer: tracing_subscriber::fmt::format::Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        let mut visitor = FieldWriter {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct FieldWriter<'w> {
    writer: tracing_subscriber::fmt::format::Writer<'w>,
    first: bool,
    result: std::fmt::Result,
}

impl FieldWriter<'_> {
    fn write(&mut self, field: &tracing::field::Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        let space = if self.first { "" } else { " " };
        self.first = false;
        let value = printable(value);
        self.result = if field.name() == "message" {
            write!(self.writer, "{space}{value}")
        } else {
            write!(self.writer, "{space}{}={value}", field.name())
        };
    }
}

impl tracing::field::Visit for FieldWriter<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.write(field, value);
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.write(field, &format!("{value:?}"));
    }
}

/// The config given, else ./forewarn.toml, else the embedded default (with SSH detected).
async fn load_config(path: Option<&Path>) -> forewarn::Result<Config> {
    if let Some(p) = path {
        return Config::from_file(p);
    }
    let local = Path::new("forewarn.toml");
    if local.exists() {
        return Config::from_file(local);
    }
    Ok(Config::embedded_default_detected().await)
}

async fn dispatch(command: Command) -> forewarn::Result<u8> {
    match command {
        Command::Run { config, quiet } => run(config.as_deref(), quiet).await,
        Command::Check { config, json, only } => check(config.as_deref(), json, &only).await,
        Command::Validate { file } => match Config::from_file(&file) {
            Ok(c) if c.checks.is_empty() => {
                eprintln!("{}: no [[checks]]: nothing to check", file.display());
                Ok(1)
            }
            Ok(c) => {
                println!(
                    "{}: ok ({} checks, {} sinks, {} policies, {} maintenance windows)",
                    file.display(),
                    c.checks.len(),
                    c.sinks.len(),
                    c.policies.len(),
                    c.maintenance.len()
                );
                Ok(0)
            }
            Err(e) => {
                eprintln!("{}", printable_lines(&e.to_string()));
                Ok(1)
            }
        },
        Command::Incidents {
            config,
            all,
            limit,
            json,
        } => {
            let config = load_config(config.as_deref()).await?;
            let store = forewarn::store::open(&config.monitor.database).await?;
            let incidents = store
                .incidents(&IncidentFilter {
                    active_only: !all,
                    check: None,
                    limit,
                })
                .await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&incidents).expect("serialises")
                );
            } else if incidents.is_empty() {
                println!(
                    "no {}incidents in {}",
                    if all { "" } else { "active " },
                    config.monitor.database.display()
                );
            } else {
                let zone = config.zone();
                println!(
                    "{:>5}  {:<13} {:<9} {:<24} {:<21} SUMMARY",
                    "ID", "STATE", "SEVERITY", "CHECK", "OPENED"
                );
                for i in incidents {
                    println!(
                        "{:>5}  {:<13} {:<9} {:<24} {:<21} {}",
                        i.id,
                        i.state,
                        i.severity,
                        truncate(&printable(&i.check), 24),
                        zone.minute(i.opened_at),
                        printable(&i.summary)
                    );
                }
            }
            Ok(0)
        }
        Command::History {
            check,
            since,
            tier,
            json,
            config,
        } => history(config.as_deref(), &check, &since, tier.as_deref(), json).await,
        Command::Ack {
            id,
            by,
            note,
            config,
        } => {
            let config = load_config(config.as_deref()).await?;
            let monitor = Monitor::from_config(&config).await?;
            let incident = monitor.acknowledge(id, &by, note.as_deref()).await?;
            println!(
                "incident {} ({}) acknowledged by {}",
                incident.id,
                printable(&incident.check),
                printable(&by)
            );
            Ok(0)
        }
        Command::Incident { cmd } => incident_command(cmd).await,
        Command::Agents { cmd } => agents_command(cmd).await,
        Command::Agent {
            central,
            token_file,
            config,
            print_service,
        } => agent_command(central, token_file, config, print_service).await,
        Command::Maintenance { cmd } => maintenance_command(cmd).await,
        Command::Outages { all, json, config } => outages_command(all, json, config).await,
        #[cfg(feature = "probe-snmp")]
        Command::Discover { what } => discover(what).await,
        #[cfg(feature = "tickets")]
        Command::Tickets { cmd } => {
            // The analysis is CPU-bound and synchronous: keep it off the async workers.
            let code = tokio::task::spawn_blocking(move || forewarn::tickets::cli::run(cmd))
                .await
                .map_err(|e| forewarn::Error::invalid("tickets", e.to_string()))??;
            Ok(u8::try_from(code).unwrap_or(1))
        }
        Command::Config {
            what: ConfigCommand::Default,
        } => {
            print!("{}", forewarn::config::EMBEDDED_DEFAULT);
            Ok(0)
        }
    }
}

/// A latency or other time in seconds, as people read it: "350 µs", "0.41 ms", "1.2 s".
fn seconds(v: f64) -> String {
    if v < 1e-3 {
        format!("{:.0} µs", v * 1e6)
    } else if v < 1.0 {
        format!("{:.2} ms", v * 1e3)
    } else {
        format!("{v:.2} s")
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{:.2} %", v * 100.0))
}

async fn history(
    path: Option<&Path>,
    check: &str,
    since: &str,
    tier: Option<&str>,
    json: bool,
) -> forewarn::Result<u8> {
    use forewarn::store::Tier;
    let config = load_config(path).await?;
    let span = forewarn::config::parse_duration(since)?;
    let db = &config.monitor.database;
    if !db.exists() && !forewarn::store::is_postgres_url(&db.to_string_lossy()) {
        eprintln!(
            "no history at {}: nothing has been monitored with this config yet",
            db.display()
        );
        return Ok(1);
    }
    let store = forewarn::store::open(db).await?;
    let until = chrono::Utc::now();
    let from = chrono::Duration::from_std(span)
        .ok()
        .and_then(|d| until.checked_sub_signed(d))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    let tier = match tier {
        Some(t) => t.parse::<Tier>()?,
        None if span <= Duration::from_secs(3 * 3600) => Tier::Minute,
        None if span <= Duration::from_secs(7 * 86_400) => Tier::Hour,
        None => Tier::Day,
    };
    let rollups = store.rollups(check, tier, from, until).await?;
    let observations = store.observations(check, from, 0).await?;
    if rollups.is_empty() && observations.is_empty() {
        let known: Vec<String> = store
            .availability(from)
            .await?
            .into_iter()
            .map(|a| a.check)
            .collect();
        eprintln!(
            "no history of `{}` since {} in {}{}",
            printable(check),
            config.zone().minute(from),
            db.display(),
            if known.is_empty() {
                String::new()
            } else {
                format!(
                    "; checks with history: {}",
                    known
                        .iter()
                        .take(20)
                        .map(|c| printable(c))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
        return Ok(1);
    }
    // Its changes of status, oldest first, and everything that was not OK.
    let mut changes = Vec::new();
    let mut last = None;
    for o in observations.into_iter().rev() {
        if last != Some(o.status) || o.status != forewarn::Status::Ok {
            last = Some(o.status);
            changes.push(o);
        }
    }
    let sum = |f: fn(&forewarn::store::Rollup) -> u64| rollups.iter().map(f).sum::<u64>();
    let (count, failures, warnings, unknown) = (
        sum(|r| r.count),
        sum(|r| r.failures),
        sum(|r| r.warnings),
        sum(|r| r.unknown),
    );
    let availability = forewarn::store::history::availability(count, failures, unknown);
    if json {
        let doc = serde_json::json!({
            "check": check,
            "since": from,
            "until": until,
            "tier": tier,
            "count": count,
            "failures": failures,
            "warnings": warnings,
            "unknown": unknown,
            "availability": availability,
            "changes": changes,
            "rollups": rollups,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("serialises")
        );
        return Ok(0);
    }
    let zone = config.zone();
    println!(
        "{}: {} to {}",
        printable(check),
        zone.minute(from.max(rollups.first().map_or(from, |r| r.start))),
        zone.minute(until)
    );
    println!(
        "availability {} ({count} observations: {failures} critical, {warnings} warning, \
         {unknown} unknown)",
        percent(availability)
    );
    let weighted: f64 = rollups
        .iter()
        .filter_map(|r| r.latency.map(|l| l.avg * r.count as f64))
        .sum();
    let worst = rollups
        .iter()
        .filter_map(|r| r.latency.map(|l| l.max))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    if let Some(worst) = worst {
        println!(
            "latency: average {}, highest {}",
            seconds(weighted / count.max(1) as f64),
            seconds(worst)
        );
    }
    const SHOWN: usize = 30;
    if !changes.is_empty() {
        println!(
            "\nchanges{}:",
            if changes.len() > SHOWN {
                format!(" (the last {SHOWN} of {})", changes.len())
            } else {
                String::new()
            }
        );
        for o in changes.iter().skip(changes.len().saturating_sub(SHOWN)) {
            println!(
                "  {}  {:<8}  {}",
                zone.minute(o.at),
                o.status.to_string().to_uppercase(),
                printable(&o.summary)
            );
        }
    }
    println!("\nper {tier}:");
    println!(
        "  {:<21} {:>7} {:>6} {:>9} {:>9} {:>9} {:>9}",
        "START", "COUNT", "FAIL", "AVAIL", "AVG", "P95", "MAX"
    );
    for r in &rollups {
        let lat = |f: fn(&forewarn::store::Spread) -> f64| {
            r.latency
                .as_ref()
                .map_or_else(|| "–".to_owned(), |l| seconds(f(l)))
        };
        println!(
            "  {:<21} {:>7} {:>6} {:>9} {:>9} {:>9} {:>9}",
            zone.minute(r.start),
            r.count,
            r.failures,
            percent(r.availability()),
            lat(|l| l.avg),
            r.latency_p95.map_or_else(|| "–".to_owned(), seconds),
            lat(|l| l.max),
        );
    }
    Ok(0)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

async fn check(path: Option<&Path>, json: bool, only: &[String]) -> forewarn::Result<u8> {
    let mut config = load_config(path).await?;
    if config.checks.is_empty() {
        // Nothing checked is not healthy: unknown, as monitoring plugins say.
        eprintln!(
            "{}: no [[checks]]: nothing to check",
            config.origin.display()
        );
        if json {
            println!(
                "{}",
                serde_json::json!({ "status": Status::Unknown, "checks": [] })
            );
        }
        return Ok(Status::Unknown.exit_code() as u8);
    }
    if !only.is_empty() {
        for name in only {
            if !config.checks.iter().any(|c| c.name.get_ref() == name) {
                return Err(forewarn::Error::NotFound {
                    what: "check",
                    id: name.clone(),
                });
            }
        }
        config.checks.retain(|c| only.contains(c.name.get_ref()));
        for c in &mut config.checks {
            c.depends_on.retain(|d| only.contains(d.get_ref()));
        }
        config
            .groups
            .values_mut()
            .for_each(|g| g.depends_on.clear());
    }
    // A one-shot check keeps no history and sends nothing.
    config.sinks.clear();
    config.policies.clear();
    config.monitor.default_policy = None;
    let store = Arc::new(SqliteStore::in_memory()?);
    let monitor = Monitor::from_config_with_store(&config, store).await?;
    let results = monitor.probe_all().await;
    let worst = results
        .iter()
        .map(|(_, o)| o.status)
        .max_by_key(|s| s.severity())
        .unwrap_or(Status::Ok);
    if json {
        #[derive(serde::Serialize)]
        struct Row<'a> {
            name: &'a str,
            #[serde(flatten)]
            observation: &'a Observation,
        }
        let rows: Vec<Row<'_>> = results
            .iter()
            .map(|(name, observation)| Row { name, observation })
            .collect();
        println!("{}", serde_json::json!({ "status": worst, "checks": rows }));
    } else {
        let width = results
            .iter()
            .map(|(n, _)| printable(n).chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        for (name, o) in &results {
            println!(
                "{:<8} {:<width$}  {:>8}  {}",
                o.status.as_str().to_uppercase(),
                printable(name),
                forewarn::probe::human_duration(o.latency),
                printable(&o.summary)
            );
        }
    }
    Ok(worst.exit_code() as u8)
}

/// The status server beside a run: the stop signal and its task, and the address people open.
type Page = (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<forewarn::Result<()>>,
);

/// Starts the status page `[status]` asks for (on by default at 127.0.0.1:8080). The default
/// address being taken (another forewarn, another program) is a warning, not a reason to stop
/// monitoring; an address written in the config that cannot be used is an error.
async fn status_page(
    config: &Config,
    monitor: &Monitor,
    agents: Arc<dyn forewarn::agents::AgentIngest>,
) -> forewarn::Result<(Option<Page>, Option<String>)> {
    use forewarn::status::{StatusServer, StatusSource};
    if !config.status.enabled {
        return Ok((None, None));
    }
    let source: Arc<dyn StatusSource> = Arc::new(forewarn::monitor::MonitorStatusSource::new(
        monitor.clone(),
        config.status_title(),
    ));
    let server = match StatusServer::bind(&config.status, source, config.zone()) {
        Ok(s) => s,
        Err(e) if config.status.listen.is_none() => {
            tracing::warn!(error = %e, "status page not started (set [status] listen to another address, or enabled = false)");
            return Ok((None, None));
        }
        Err(e) => return Err(e),
    };
    server.accept_agents(agents);
    let url = match &config.status.public_url {
        Some(u) => format!("{u} (listening on http://{})", server.local_addr()),
        None => format!("http://{}/", server.local_addr()),
    };
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(server.serve(async move {
        let _ = rx.wait_for(|s| *s).await;
    }));
    Ok((Some((stop, task)), Some(url)))
}

async fn run(path: Option<&Path>, quiet: bool) -> forewarn::Result<u8> {
    // First thing: a SIGTERM while starting up stops the run gracefully once it begins.
    let shutdown = forewarn::monitor::shutdown_signal();
    let loading = purge_eagerly();
    let config = load_config(path).await?;
    if config.checks.is_empty() && config.agents.groups.is_empty() {
        return Err(config.error_at(
            None,
            None,
            "no [[checks]] and no [agents.groups]: nothing to monitor",
        ));
    }
    // Refused before anything else when another `run` holds this history.
    let store = forewarn::store::open(&config.monitor.database).await?;
    forewarn::Store::claim(&*store).await?;
    let monitor = Monitor::from_config_with_store(&config, store).await?;
    // A site forwards every observation to its district's central, and keeps going on its own
    // while the link is down.
    let uplink = match &config.site {
        Some(site) => {
            let token_file = site.token_file.as_deref().expect("validated");
            let name = site.name.clone().unwrap_or_else(forewarn::agent::host_name);
            let uplink = forewarn::agent::Uplink::new(
                site,
                name,
                &forewarn::agent::read_token(token_file)?,
            )?;
            monitor.forward_to(uplink.outbox().clone())?;
            Some(uplink)
        }
        None => None,
    };
    let hub = forewarn::agents::AgentHub::new(monitor.clone(), config.agents.clone()).await?;
    let (page, page_url) = status_page(&config, &monitor, Arc::new(hub.clone())).await?;
    let (stop_hub, hub_rx) = tokio::sync::watch::channel(false);
    let uplink_task = uplink.map(|uplink| {
        let mut rx = hub_rx.clone();
        tokio::spawn(async move {
            tracing::info!(
                site = uplink.name(),
                "forwarding observations to the district"
            );
            let stopped = async move {
                let _ = rx.wait_for(|stop| *stop).await;
            };
            if let Err(e) = uplink.run_until(stopped).await {
                tracing::error!(error = %e, "forwarding to the district stopped");
            }
        })
    });
    let hub_task = tokio::spawn(async move { hub.run(Duration::from_secs(1), hub_rx).await });
    let sinks: Vec<String> = config
        .sinks
        .iter()
        .map(|(name, s)| match s {
            forewarn::SinkConfig::File(f) => format!("{name} ({})", f.path.display()),
            _ => name.clone(),
        })
        .collect();
    let banner = format!(
        "forewarn {}: monitoring {} check(s) from {}; history in {}; alerts to {}. Ctrl-C stops.",
        env!("CARGO_PKG_VERSION"),
        config.checks.len(),
        config.origin.display(),
        config.monitor.database.display(),
        if sinks.is_empty() {
            "nowhere (no sinks configured)".to_owned()
        } else {
            sinks.join(", ")
        }
    );
    let zone = config.zone();
    // The monitor holds what it runs; the parsed file (every check's settings and the text,
    // as much again as the monitor for a large config) is not needed any more.
    drop(config);
    loading.keep();
    println!("{banner}");
    if let Some(url) = &page_url {
        println!("status page: {url}");
    }
    let mut events = monitor.subscribe();
    // Console lines show the district's local time with its abbreviation
    // ("2026-09-01 09:15:02 CDT").
    let clock = move |t: chrono::DateTime<chrono::Utc>| zone.format(t, "%Y-%m-%d %H:%M:%S %Z");
    let printer = {
        let monitor = monitor.clone();
        tokio::spawn(async move {
            let mut shown: HashMap<String, (Status, String)> = HashMap::new();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    ev = events.recv() => match ev {
                        Ok(forewarn::Event::IncidentOpened(i)) => println!(
                            "{} INCIDENT #{} opened: {} {} — {}",
                            clock(i.opened_at), i.id, printable(&i.check), i.severity,
                            printable(&i.summary)),
                        Ok(forewarn::Event::IncidentResolved(i)) => println!(
                            "{} INCIDENT #{} resolved: {} is back",
                            clock(i.resolved_at.unwrap_or(i.opened_at)), i.id,
                            printable(&i.check)),
                        Ok(forewarn::Event::IncidentUpdated(i)) => println!(
                            "{} INCIDENT #{} updated: {} {} — {}",
                            clock(chrono::Utc::now()), i.id, printable(&i.check), i.status,
                            printable(&i.summary)),
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(_) => return,
                    },
                    _ = tick.tick() => {
                        if quiet { continue; }
                        for c in monitor.checks() {
                            let Some(at) = c.last_checked else { continue };
                            let key = (c.status, c.summary.clone());
                            if shown.get(&c.name) != Some(&key) {
                                println!("{} {:<8} {:<20} {}", clock(at),
                                    c.status.as_str().to_uppercase(), printable(&c.name),
                                    printable(&c.summary));
                                shown.insert(c.name.clone(), key);
                            }
                        }
                    }
                }
            }
        })
    };
    // Alone on its history, it runs; sharing one (PostgreSQL), it leads or stands by.
    let ran = forewarn::cluster::run(&monitor, shutdown).await;
    let _ = stop_hub.send(true);
    let _ = hub_task.await;
    if let Some(t) = uplink_task {
        let _ = t.await;
    }
    if let Some((stop, server)) = page {
        let _ = stop.send(true);
        let _ = server.await;
    }
    ran?;
    printer.abort();
    let status = monitor.status().await?;
    println!(
        "stopped: {} checks run, outbox {} pending / {} delivered / {} given up",
        status.scheduler.runs, status.outbox.pending, status.outbox.delivered, status.outbox.dead
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purging_eagerly_while_loading_restores_the_delay() {
        // SAFETY: reading an option is valid at any time.
        let get = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        let before = get();
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // mimalloc 3's default: the option index is the purge delay's.
            assert_eq!(before, 1000);
        }
        let guard = purge_eagerly();
        assert_eq!(get(), 0);
        drop(guard);
        assert_eq!(get(), before);
        // Once monitoring: kept at 0, unless the environment set a delay.
        purge_eagerly().keep();
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(get(), 0);
        } else {
            assert_eq!(get(), before);
        }
        // SAFETY: setting an option is valid at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, before) };
    }
}
