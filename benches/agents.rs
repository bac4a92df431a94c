//! Can one central take the pushes of a district's agents? N agents (default 5,000) each push
//! one batch per 60 s cycle to the central's status server (`POST /api/v1/agents/push`, real
//! HTTP on loopback), against the same observations recorded in-process by a monitor running
//! them as its own checks, in the same run, on file-backed SQLite stores in a temp dir.
//!
//! `cargo bench -p forewarn --bench agents [-- --agents N --cycles C --concurrency K]`
//! (defaults 5,000, 3 and 64).
//!
//! The observations are real: a template agent (the library's `Agent`, from a TOML config)
//! runs its three checks once on this machine — `host` (the host probe: CPU, memory, disks,
//! temperatures, with its metrics and structured reading), `process` (this bench process is
//! running) and `tcp` (a loopback port) — and every agent pushes those three, with its own
//! sequence numbers and the time of the push, in the agent's wire format.
//!
//! 1. **Baseline**: a `Monitor` with N × 3 checks of its own (the same names an agent's checks
//!    get on the central, each probe handing back the template observation, timestamped now),
//!    `Monitor::run_once` per cycle: state machine, last results, history written in batches
//!    (`Store::record_observations`), states saved. No HTTP, no agents, no tokens.
//! 2. **Central**: what `forewarn run` starts, in this process on a runtime with its default of
//!    one worker thread — `Monitor::from_config_with_store` on its own SQLite file with
//!    `[agents.groups.servers]`, the `AgentHub` (sweeping every 15 s), the status server taking
//!    pushes, and the monitor running (`run_until`: housekeeping flushes the history every
//!    250 ms). The N agents' tokens are made beforehand (`agents::create_agent`). Each cycle
//!    fires every agent's push through K keep-alive HTTP connections (a `reqwest` client, the
//!    agent's own, on a separate thread with its own single-threaded runtime). Cycle 1 is the
//!    agents' first contact (the central adds each agent's checks) and is reported apart.
//!
//! CPU time is `getrusage`: the whole process (`RUSAGE_SELF`) minus the client thread's own
//! (`RUSAGE_THREAD`), so the central's figure holds its server, hub, monitor and SQLite threads
//! and the client's is shown apart. Each cycle's CPU is read after a 0.5 s settle, so the
//! history flush that follows the last push is counted; the rate is over the pushes' wall time.
//! Steady state is cycles 3 and later: in both paths a check's second observation costs the
//! history store more than the ones after it, so cycle 2 is shown on its own.
//!
//! Prints a table (load averages before and after) and one JSON line.

#[path = "cpu.rs"]
mod cpu;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use forewarn::agents::{PushReply, PushedObservation};
use forewarn::probe::{CheckContext, Probe};
use forewarn::{CheckSpec, Config, Monitor, Observation, SqliteStore, Store};

/// Observations (checks) in each agent's push.
const CHECKS: usize = 3;
const INTERVAL_SECS: u64 = 60;
const SETTLE: Duration = Duration::from_millis(500);

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// User + system CPU time of the calling thread (`getrusage(RUSAGE_THREAD)`).
fn thread_cpu() -> Duration {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct it is given.
    let u = unsafe {
        libc::getrusage(libc::RUSAGE_THREAD, u.as_mut_ptr());
        u.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// One measured stretch: a cycle, or the steady cycles together.
#[derive(Clone)]
struct Phase {
    name: String,
    observations: usize,
    pushes: usize,
    wall: Duration,
    /// The central's (or the baseline monitor's) CPU.
    cpu: Duration,
    /// The client thread's CPU, for HTTP phases.
    client_cpu: Option<Duration>,
    /// Per push, as the client saw it; empty for the baseline.
    latencies: Vec<Duration>,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.observations as f64 / self.wall.as_secs_f64()
    }

    fn cpu_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.observations as f64
    }

    fn client_us(&self) -> Option<f64> {
        self.client_cpu
            .map(|c| c.as_secs_f64() * 1e6 / self.observations as f64)
    }

    /// The `q` quantile of the push latencies; for the baseline, the wall time per agent's
    /// batch (the cycle's wall ÷ agents), as it has no request to time.
    fn latency(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return self.wall / (self.observations / CHECKS).max(1) as u32;
        }
        let mut l = self.latencies.clone();
        l.sort_unstable();
        l[((l.len() - 1) as f64 * q).round() as usize]
    }

    fn merge(name: &str, phases: &[Phase]) -> Phase {
        Phase {
            name: name.to_owned(),
            observations: phases.iter().map(|p| p.observations).sum(),
            pushes: phases.iter().map(|p| p.pushes).sum(),
            wall: phases.iter().map(|p| p.wall).sum(),
            cpu: phases.iter().map(|p| p.cpu).sum(),
            client_cpu: phases
                .iter()
                .map(|p| p.client_cpu)
                .sum::<Option<Duration>>(),
            latencies: phases.iter().flat_map(|p| p.latencies.clone()).collect(),
        }
    }
}

/// Hands back a recorded observation, timestamped now: a check of the baseline monitor.
#[derive(Debug)]
struct Replay {
    kind: &'static str,
    observation: Arc<Observation>,
}

#[forewarn::async_trait]
impl Probe for Replay {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn target(&self) -> String {
        "replayed".into()
    }

    async fn check(&self, cx: &CheckContext) -> Observation {
        let mut o = (*self.observation).clone();
        o.at = cx.now();
        o
    }
}

/// The three observations every agent pushes, made once by a real agent on this machine.
async fn template(dir: &std::path::Path) -> Vec<(String, Observation)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let exe = std::env::current_exe().unwrap();
    let exe = exe.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::write(dir.join("agent.token"), "fwa_template\n").unwrap();
    let text = format!(
        "[agent]\nname = \"template\"\ncentral = \"http://127.0.0.1:1\"\n\
         token_file = \"{token}\"\noutbox = \"{outbox}\"\n\n\
         [[checks]]\nname = \"host\"\ntype = \"host\"\n\n\
         [[checks]]\nname = \"process\"\ntype = \"process\"\nname_is = \"{exe}\"\n\n\
         [[checks]]\nname = \"tcp\"\ntype = \"tcp\"\ntarget = \"{addr}\"\n",
        token = dir.join("agent.token").display(),
        outbox = dir.join("template-outbox.db").display(),
        addr = port.local_addr().unwrap(),
    );
    let path = dir.join("agent.toml");
    std::fs::write(&path, text).unwrap();
    let config = Config::from_file(&path).unwrap();
    let agent = forewarn::agent::Agent::from_config(&config, None, None).unwrap();
    let observed = agent.observe().await.unwrap();
    assert_eq!(observed.len(), CHECKS);
    observed
}

/// The same observations through a monitor's own checks, `run_once` per cycle.
async fn baseline(
    dir: &std::path::Path,
    agents: usize,
    cycles: usize,
    template: &[(String, Observation)],
) -> Vec<Phase> {
    let store = Arc::new(SqliteStore::open(dir.join("baseline.db")).unwrap());
    let probes: Vec<(String, Arc<dyn Probe>)> = template
        .iter()
        .map(|(check, o)| {
            let kind: &'static str = Box::leak(check.clone().into_boxed_str());
            let p: Arc<dyn Probe> = Arc::new(Replay {
                kind,
                observation: Arc::new(o.clone()),
            });
            (check.clone(), p)
        })
        .collect();
    let mut b = Monitor::builder().store(store.clone());
    for a in 0..agents {
        for (check, probe) in &probes {
            b = b.check(
                CheckSpec::new(format!("{}/{check}", agent_name(a)), probe.clone())
                    .interval(Duration::from_secs(INTERVAL_SECS))
                    .group("servers")
                    .label("agent", agent_name(a)),
            );
        }
    }
    let monitor = b.build().unwrap();
    monitor.restore().await.unwrap();
    let mut phases = Vec::new();
    for c in 0..cycles {
        let cpu0 = cpu::cpu_time();
        let t = Instant::now();
        let checks = monitor.run_once().await.unwrap();
        let wall = t.elapsed();
        tokio::time::sleep(SETTLE).await;
        let cpu = cpu::cpu_time() - cpu0;
        assert_eq!(checks.len(), agents * CHECKS);
        phases.push(Phase {
            name: format!("baseline cycle {}", c + 1),
            observations: agents * CHECKS,
            pushes: 0,
            wall,
            cpu,
            client_cpu: None,
            latencies: Vec::new(),
        });
    }
    store.flush().await.unwrap();
    phases
}

fn agent_name(a: usize) -> String {
    format!("agent-{a:05}")
}

/// Every agent's push of one cycle through `concurrency` connections: the client's phase.
async fn cycle(
    client: &reqwest::Client,
    url: &str,
    tokens: &[String],
    template: &[(String, Observation)],
    c: usize,
    concurrency: usize,
) -> (Duration, Vec<Duration>) {
    use futures::StreamExt;
    let t = Instant::now();
    let latencies: Vec<Duration> = futures::stream::iter(tokens.iter().enumerate())
        .map(|(a, token)| async move {
            let now = chrono::Utc::now();
            let first = (c * CHECKS) as i64 + 1;
            let observations: Vec<PushedObservation> = template
                .iter()
                .enumerate()
                .map(|(k, (check, o))| {
                    let mut o = o.clone();
                    o.at = now;
                    PushedObservation {
                        seq: first + k as i64,
                        check: check.clone(),
                        observation: o,
                    }
                })
                .collect();
            // The agent's wire format (`agents::Push`), whatever fields it may gain.
            let body = serde_json::json!({
                "agent": agent_name(a),
                "interval_secs": INTERVAL_SECS,
                "observations": observations,
            });
            let started = Instant::now();
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = res.status();
            if !status.is_success() {
                panic!(
                    "push of {} answered {status}: {}",
                    agent_name(a),
                    res.text().await.unwrap_or_default()
                );
            }
            let reply: PushReply = res.json().await.unwrap();
            let took = started.elapsed();
            assert_eq!(reply.new, CHECKS, "{}: {reply:?}", agent_name(a));
            assert_eq!(reply.stored_up_to, first + CHECKS as i64 - 1);
            took
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    (t.elapsed(), latencies)
}

fn central_config(dir: &std::path::Path, port: u16) -> Config {
    let text = format!(
        "[monitor]\ndatabase = \"{db}\"\ntime_zone = \"America/Chicago\"\n\n\
         [agents.groups.servers]\nsilent_after = 3\n\n\
         [status]\nlisten = \"127.0.0.1:{port}\"\n",
        db = dir.join("central.db").display()
    );
    let path = dir.join("central.toml");
    std::fs::write(&path, text).unwrap();
    Config::from_file(&path).unwrap()
}

fn main() {
    let agents = arg("--agents", 5_000) as usize;
    let cycles = arg("--cycles", 3).max(2) as usize;
    let concurrency = arg("--concurrency", 64).max(1) as usize;
    let dir = tempfile::tempdir().unwrap();
    let load_before = load_average();
    // The `forewarn` program's runtime: one worker thread (blocking pool for SQLite).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();

    let template = rt.block_on(template(dir.path()));
    let bytes = serde_json::to_vec(&template.iter().map(|(c, o)| (c, o)).collect::<Vec<_>>())
        .unwrap()
        .len();
    println!(
        "agents: {agents} agents × {CHECKS} checks ({}) every {INTERVAL_SECS} s, {cycles} cycles, {concurrency} connections; about {bytes} bytes of observations per push; {}",
        template
            .iter()
            .map(|(c, o)| format!(
                "{c}: {} metrics{}",
                o.metrics.len(),
                if o.reading.is_some() {
                    " + reading"
                } else {
                    ""
                }
            ))
            .collect::<Vec<_>>()
            .join(", "),
        cpu_model()
    );

    // 1. Baseline.
    let t = Instant::now();
    let base = {
        let dir = dir.path().to_owned();
        let template = template.clone();
        rt.block_on(async move {
            tokio::spawn(async move { baseline(&dir, agents, cycles, &template).await })
                .await
                .unwrap()
        })
    };
    println!("baseline done in {:.1?}", t.elapsed());

    // 2. The central.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = central_config(dir.path(), port);
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let (monitor, tasks) = rt.block_on(async {
        let store = Arc::new(SqliteStore::open(&config.monitor.database).unwrap());
        let monitor = Monitor::from_config_with_store(&config, store)
            .await
            .unwrap();
        let hub = forewarn::agents::AgentHub::new(monitor.clone(), config.agents.clone())
            .await
            .unwrap();
        let source = Arc::new(forewarn::monitor::MonitorStatusSource::new(
            monitor.clone(),
            "central".to_owned(),
        ));
        let server = forewarn::StatusServer::bind(&config.status, source, config.zone()).unwrap();
        server.accept_agents(Arc::new(hub.clone()));
        let mut rx = stop_rx.clone();
        let serve = tokio::spawn(server.serve(async move {
            let _ = rx.wait_for(|s| *s).await;
        }));
        let mut rx = stop_rx.clone();
        let m = monitor.clone();
        let run = tokio::spawn(async move {
            m.run_until(async move {
                let _ = rx.wait_for(|s| *s).await;
            })
            .await
        });
        let sweep = {
            let rx = stop_rx.clone();
            tokio::spawn(async move { hub.run(Duration::from_secs(15), rx).await })
        };
        (monitor, (serve, run, sweep))
    });
    let t = Instant::now();
    let tokens: Vec<String> = rt.block_on(async {
        let mut tokens = Vec::with_capacity(agents);
        for a in 0..agents {
            tokens.push(
                forewarn::agents::create_agent(
                    &**monitor.store(),
                    &agent_name(a),
                    Some("servers"),
                    chrono::Utc::now(),
                )
                .await
                .unwrap(),
            );
        }
        tokens
    });
    let tokens_made = t.elapsed();
    println!("{agents} agent tokens made in {tokens_made:.1?}");

    let url = format!("http://127.0.0.1:{port}{}", forewarn::agents::PUSH_PATH);
    let client_template = template.clone();
    let central: Vec<Phase> = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let client = reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(concurrency)
                .build()
                .unwrap();
            let mut phases = Vec::new();
            for c in 0..cycles {
                let cpu0 = cpu::cpu_time();
                let own0 = thread_cpu();
                let (wall, latencies) =
                    cycle(&client, &url, &tokens, &client_template, c, concurrency).await;
                let own = thread_cpu() - own0;
                tokio::time::sleep(SETTLE).await;
                let all = cpu::cpu_time() - cpu0;
                let name = if c == 0 {
                    "central cycle 1 (first contact)".to_owned()
                } else {
                    format!("central cycle {}", c + 1)
                };
                println!("{name}: {wall:.2?}");
                phases.push(Phase {
                    name,
                    observations: tokens.len() * CHECKS,
                    pushes: tokens.len(),
                    wall,
                    cpu: all.saturating_sub(own),
                    client_cpu: Some(own),
                    latencies,
                });
            }
            phases
        })
    })
    .join()
    .unwrap();

    let checks = monitor
        .check_names()
        .iter()
        .filter(|n| n.starts_with("agent-"))
        .count();
    let _ = stop.send(true);
    rt.block_on(async {
        let (serve, run, sweep) = tasks;
        serve.await.unwrap().unwrap();
        run.await.unwrap().unwrap();
        sweep.await.unwrap();
    });
    // Each agent's heartbeat and its three checks.
    assert_eq!(checks, agents * (CHECKS + 1), "checks on the central");
    report(
        agents,
        cycles,
        concurrency,
        &base,
        &central,
        tokens_made,
        &load_before,
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn report(
    agents: usize,
    cycles: usize,
    concurrency: usize,
    base: &[Phase],
    central: &[Phase],
    tokens_made: Duration,
    load_before: &str,
) {
    let load_after = load_average();
    // The history's second observation of a check costs more than the ones after it (in both
    // paths): steady state is from cycle 3 on when there is one.
    let from = if cycles >= 3 { 2 } else { 1 };
    let base_steady = Phase::merge(
        &format!("baseline steady (cycles {}+)", from + 1),
        &base[from..],
    );
    let central_steady = Phase::merge(
        &format!("central steady (cycles {}+)", from + 1),
        &central[from..],
    );
    let needed = (agents * CHECKS) as f64 / INTERVAL_SECS as f64;
    let mut rows: Vec<&Phase> = Vec::new();
    rows.extend(base.iter());
    rows.push(&base_steady);
    rows.extend(central.iter());
    rows.push(&central_steady);
    println!(
        "agents: {agents} agents, {CHECKS} observations per push, {cycles} cycles, {concurrency} connections; {} ; load average before: {load_before}; after: {load_after}",
        cpu_model()
    );
    println!(
        "{:<32} {:>7} {:>8} {:>9} {:>9} {:>9} {:>11} {:>11} {:>8} {:>8} {:>8}",
        "phase",
        "obs",
        "wall s",
        "obs/s",
        "p50 ms",
        "p99 ms",
        "CPU µs/obs",
        "client µs",
        "× rate",
        "× p50",
        "× CPU"
    );
    for p in &rows {
        println!(
            "{:<32} {:>7} {:>8.2} {:>9.0} {:>9.2} {:>9.2} {:>11.1} {:>11} {:>8.3} {:>8.1} {:>8.2}",
            p.name,
            p.observations,
            p.wall.as_secs_f64(),
            p.rate(),
            ms(p.latency(0.5)),
            ms(p.latency(0.99)),
            p.cpu_us(),
            p.client_us()
                .map_or_else(|| "—".to_owned(), |c| format!("{c:.1}")),
            p.rate() / base_steady.rate(),
            p.latency(0.5).as_secs_f64() / base_steady.latency(0.5).as_secs_f64(),
            p.cpu_us() / base_steady.cpu_us(),
        );
    }
    let headroom = central_steady.rate() / needed;
    let cpu_share = central_steady.cpu_us() * needed / 1e6;
    println!(
        "needed: {agents} × {CHECKS} / {INTERVAL_SECS} s = {needed:.0} observations/s; central steady {:.0}/s: headroom {headroom:.0}×; at the needed rate the central spends {:.1} % of one core on pushes; first contact {:.1} µs CPU/observation ({:.2}× steady), tokens made in {:.1} s",
        central_steady.rate(),
        cpu_share * 100.0,
        central[0].cpu_us(),
        central[0].cpu_us() / central_steady.cpu_us(),
        tokens_made.as_secs_f64(),
    );
    let json = |p: &Phase| {
        serde_json::json!({
            "phase": p.name, "observations": p.observations, "pushes": p.pushes,
            "wall_s": p.wall.as_secs_f64(), "obs_per_s": p.rate(),
            "p50_ms": ms(p.latency(0.5)), "p99_ms": ms(p.latency(0.99)),
            "cpu_us_per_obs": p.cpu_us(), "client_cpu_us_per_obs": p.client_us(),
            "rate_ratio": p.rate() / base_steady.rate(),
            "p50_ratio": p.latency(0.5).as_secs_f64() / base_steady.latency(0.5).as_secs_f64(),
            "p99_ratio": p.latency(0.99).as_secs_f64() / base_steady.latency(0.99).as_secs_f64(),
            "cpu_ratio": p.cpu_us() / base_steady.cpu_us(),
        })
    };
    println!(
        "{}",
        serde_json::json!({
            "bench": "agents", "agents": agents, "checks_per_push": CHECKS,
            "interval_s": INTERVAL_SECS, "cycles": cycles, "concurrency": concurrency,
            "cpu_model": cpu_model(), "load_before": load_before, "load_after": load_after,
            "tokens_made_s": tokens_made.as_secs_f64(),
            "needed_obs_per_s": needed, "headroom": headroom,
            "phases": rows.iter().map(|p| json(p)).collect::<Vec<_>>(),
        })
    );
}
