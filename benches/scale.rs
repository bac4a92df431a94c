//! Scheduling at scale: thousands of TCP or HTTP checks against local nginx ports, measuring
//! forewarn's own CPU time per check (utime + stime of this process), checks per CPU-second,
//! schedule lag and resident memory per target (at the end of the window, and just after the
//! monitor was built) — next to a baseline measured in the same run
//! (a bare blocking connect + close — also with the reset close a connect-only check uses — and a
//! bare keep-alive HTTP request).
//!
//! Run through `benches/scale.sh`, which starts nginx on 16 loopback ports. Arguments:
//! `--kind tcp|http --targets N --interval 5s --duration 30s --warmup 10s --ports 18080-18095
//! --workers 1` (threads running the checks; 1 is the `forewarn` program's default).
//! Without nginx listening it prints why and exits 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use forewarn::http_client::HttpClients;
use forewarn::{CheckSpec, Monitor, ProbeConfig, SqliteStore};

#[path = "cpu.rs"]
mod cpu;
use cpu::cpu_time;

// The allocator the `forewarn` program runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

struct Args {
    kind: String,
    targets: usize,
    interval: Duration,
    duration: Duration,
    warmup: Duration,
    ports: Vec<u16>,
    concurrency: usize,
    workers: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        kind: "tcp".into(),
        targets: 1000,
        interval: Duration::from_secs(5),
        duration: Duration::from_secs(20),
        warmup: Duration::from_secs(6),
        ports: (18080..=18095).collect(),
        concurrency: 1024,
        // As the `forewarn` program runs by default (`--workers`).
        workers: 1,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = argv.get(i + 1).cloned().unwrap_or_default();
        let dur = |s: &str| humantime::parse_duration(s).expect("a duration like 5s");
        match argv[i].as_str() {
            "--kind" => a.kind = v,
            "--targets" => a.targets = v.parse().expect("a number"),
            "--interval" => a.interval = dur(&v),
            "--duration" => a.duration = dur(&v),
            "--warmup" => a.warmup = dur(&v),
            "--concurrency" => a.concurrency = v.parse().expect("a number"),
            "--workers" => a.workers = v.parse().expect("a number"),
            "--ports" => {
                let (lo, hi) = v.split_once('-').expect("--ports LO-HI");
                a.ports = (lo.parse().unwrap()..=hi.parse().unwrap()).collect();
            }
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

/// CPU per operation of a bare blocking `std` connect + close over `ports` in turn: the median
/// of 8 blocks of `n / 8`. With `reset`, `SO_LINGER` 0 before the close, as a connect-only check
/// closes (a reset, no `TIME_WAIT`).
///
/// Spread over the ports and short, so it does not exhaust the ephemeral ports towards one of
/// them: the kernel's search for a free port then costs several times the connect itself, and
/// a long single-port loop (or `TIME_WAIT` sockets left by a previous run) measures that search.
fn baseline_tcp(ports: &[u16], n: usize, reset: bool) -> Duration {
    let per_block = (n / 8).max(1);
    let mut blocks: Vec<Duration> = (0..8)
        .map(|b| {
            let c0 = cpu_time();
            for i in 0..per_block {
                let port = ports[(b * per_block + i) % ports.len()];
                let s = TcpStream::connect(("127.0.0.1", port)).expect("nginx is listening");
                if reset {
                    socket2::SockRef::from(&s)
                        .set_linger(Some(Duration::ZERO))
                        .unwrap();
                }
                drop(s);
            }
            (cpu_time() - c0) / per_block as u32
        })
        .collect();
    blocks.sort();
    (blocks[3] + blocks[4]) / 2
}

/// CPU per request of a bare HTTP/1.1 keep-alive GET on one connection.
fn baseline_http(port: u16, n: usize) -> Duration {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("nginx is listening");
    s.set_nodelay(true).unwrap();
    let req = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let mut buf = [0u8; 4096];
    let c0 = cpu_time();
    for _ in 0..n {
        s.write_all(req).unwrap();
        let mut got = 0;
        // nginx's `return 200` answer is small and arrives in one read in practice; read until
        // the header end and the 2-byte body are in.
        loop {
            got += s.read(&mut buf[got..]).unwrap();
            if buf[..got].windows(4).any(|w| w == b"\r\n\r\n") && buf[..got].ends_with(b"ok") {
                break;
            }
        }
    }
    (cpu_time() - c0) / n as u32
}

fn main() {
    let args = parse_args();
    if TcpStream::connect(("127.0.0.1", args.ports[0])).is_err() {
        println!(
            "scale: skipped — nothing listens on 127.0.0.1:{}; run benches/scale.sh (it starts nginx)",
            args.ports[0]
        );
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()
        .unwrap();
    // The reset close first: it leaves no `TIME_WAIT` behind to slow the other down.
    let (baseline, baseline_reset) = match args.kind.as_str() {
        "http" => (baseline_http(args.ports[0], 20_000), None),
        _ => {
            let reset = baseline_tcp(&args.ports, 4_000, true);
            (baseline_tcp(&args.ports, 4_000, false), Some(reset))
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let rss0 = rss_bytes();
    let clients = HttpClients::new();
    let store = Arc::new(SqliteStore::open(dir.path().join("bench.db")).unwrap());
    let mut b = Monitor::builder()
        .store(store)
        .concurrency(args.concurrency)
        .http_clients(clients.clone());
    for i in 0..args.targets {
        let port = args.ports[i % args.ports.len()];
        let text = match args.kind.as_str() {
            "http" => format!("type = \"http\"\nurl = \"http://127.0.0.1:{port}/health\""),
            _ => format!("type = \"tcp\"\ntarget = \"127.0.0.1:{port}\""),
        };
        let cfg: ProbeConfig = toml::from_str(&text).unwrap();
        b = b.check(
            CheckSpec::new(format!("{}-{i}", args.kind), cfg.build(&clients).unwrap())
                .interval(args.interval)
                .timeout(Duration::from_secs(5)),
        );
    }
    let monitor = b.build().unwrap();
    let rss_built = rss_bytes();
    let total = args.warmup + args.duration;
    let m = monitor.clone();
    let run = rt.spawn(async move { m.run_until(tokio::time::sleep(total)).await });
    std::thread::sleep(args.warmup);
    let (c0, r0, t0) = (cpu_time(), monitor.scheduler_stats().runs, Instant::now());
    std::thread::sleep(args.duration);
    let (c1, r1, t1) = (cpu_time(), monitor.scheduler_stats().runs, Instant::now());
    let rss1 = rss_bytes();
    rt.block_on(run).unwrap().unwrap();
    let stats = monitor.scheduler_stats();
    let checks = monitor.checks();
    let ok = checks
        .iter()
        .filter(|c| c.status == forewarn::Status::Ok)
        .count();
    let runs = r1 - r0;
    let cpu = c1 - c0;
    let per_check = cpu.as_secs_f64() / runs.max(1) as f64;
    println!(
        "{{\"kind\":\"{}\",\"workers\":{},\"targets\":{},\"interval_s\":{},\"window_s\":{:.1},\"runs\":{},\"runs_per_s\":{:.0},\"cpu_us_per_check\":{:.2},\"baseline_us\":{:.2},\"ratio_to_baseline\":{:.2},\"baseline_reset_us\":{},\"checks_per_cpu_s\":{:.0},\"lag_p50_ms\":{:.2},\"lag_p99_ms\":{:.2},\"lag_max_ms\":{:.1},\"overruns\":{},\"rss_bytes_per_target\":{},\"rss_built_bytes_per_target\":{},\"ok\":{}}}",
        args.kind,
        args.workers,
        args.targets,
        args.interval.as_secs_f64(),
        (t1 - t0).as_secs_f64(),
        runs,
        runs as f64 / (t1 - t0).as_secs_f64(),
        per_check * 1e6,
        baseline.as_secs_f64() * 1e6,
        per_check / baseline.as_secs_f64(),
        baseline_reset.map_or("null".to_owned(), |b| format!(
            "{:.2}",
            b.as_secs_f64() * 1e6
        )),
        1.0 / per_check,
        stats.lag_p50 * 1e3,
        stats.lag_p99 * 1e3,
        stats.lag_max * 1e3,
        stats.overruns,
        rss1.saturating_sub(rss0) / args.targets as u64,
        rss_built.saturating_sub(rss0) / args.targets as u64,
        ok
    );
}
