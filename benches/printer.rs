//! Printer polls: forewarn's own CPU time per poll, and polls per second with 500 printers.
//!
//! snmpsim (PyPI) serves the ten shared printer recordings on loopback (see
//! `tests/support/snmpsim.rs`). Measured in one run, on mimalloc like the `forewarn` program.
//! Every probe starts with five days of supply history (20 readings, the forecast's default
//! window), and a virtual clock puts a minute between polls, so each poll also adds a reading
//! and computes each supply's days-left forecast, as in a monitor that has run for a week.
//!
//! 0. **Decode and verdict alone**: the ten recordings, parsed once, decoded and judged in a
//!    loop (no network): the part of a full poll that is forewarn's own logic.
//! 1. **CPU per poll**, in rounds that interleave four loops (so a change of load on the
//!    machine hits all of them alike; the medians of the rounds are reported):
//!    - *steady state*: sequential polls cycling through the ten recordings with probes that
//!      already made their full poll (a monitor polling the same printers every few minutes):
//!      one GET of the cells that change, the report patched, judged;
//!    - *full*: the same with `full_poll_every = 1` (one GET and the GETBULK walk, decoded,
//!      judged): the first poll of a printer, then every 60th and at least hourly by default;
//!    - *bare snmp2 GET*: one GET of sysDescr per request on one snmp2 session (the client
//!      library alone), and *raw UDP*: a blocking round trip of a pre-encoded GET (the kernel
//!      and the socket alone), both per request.
//!
//!    forewarn's CPU time is utime + stime of this process (`getrusage(RUSAGE_SELF)`: snmpsim
//!    is a child process and not counted), divided by the polls or requests.
//! 2. **500 printers**: 500 probes (the ten recordings, 50 times each) polled at once with the
//!    monitor's default style of concurrency (all in flight, 64 at a time), twice: the first
//!    round is full polls, the second steady-state polls; wall time → polls/s. snmpsim is one
//!    Python process and is the bottleneck: the same run measures how many raw GET round trips
//!    per second snmpsim answers.
//!
//! `cargo bench -p forewarn --bench printer` (env `PRINTER_BENCH_POLLS`, polls per loop and
//! round, default 300; `PRINTER_BENCH_ROUNDS`, default 3). Without snmpsim or the recordings it
//! prints why and exits 0.

#[path = "../tests/support/snmpsim.rs"]
mod snmpsim;

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

use forewarn::probe::printer::{PrinterConfig, PrinterProbe};
use forewarn::probe::printer::{PrinterReport, SupplyState};
use forewarn::{CheckContext, ManualClock, Probe, Secret};
use futures::StreamExt;
use snmpsim::{RECORDINGS, Snmpsim};

#[path = "cpu.rs"]
mod cpu;
use cpu::cpu_time;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn probe(sim: &Snmpsim, community: &str, full_poll_every: u32) -> PrinterProbe {
    let mut c = PrinterConfig::new("127.0.0.1");
    c.port = sim.port;
    c.community = Some(Secret::new(community));
    c.request_timeout = Duration::from_secs(10);
    c.full_poll_every = full_poll_every;
    c.full_poll_max_age = Duration::from_secs(24 * 3600);
    c.build().expect("valid config")
}

/// A v2c GET of sysDescr.0, BER-encoded by hand.
fn raw_get(community: &str) -> Vec<u8> {
    fn der(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag, body.len() as u8];
        out.extend_from_slice(body);
        out
    }
    let oid: &[u8] = &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00];
    let vb = der(0x30, &der(0x30, &[oid, &[0x05, 0x00]].concat()));
    let pdu = der(
        0xa0,
        &[
            &[0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00][..],
            &vb,
        ]
        .concat(),
    );
    der(
        0x30,
        &[
            &[0x02, 0x01, 0x01][..],
            &der(0x04, community.as_bytes()),
            &pdu,
        ]
        .concat(),
    )
}

/// `polls` sequential polls cycling through `probes`, each decoded or patched and judged, in
/// a task on the runtime (as the monitor runs checks): (CPU µs per poll, requests per poll,
/// full polls, wall ms per poll).
fn poll_loop(
    rt: &tokio::runtime::Runtime,
    probes: &Arc<Vec<PrinterProbe>>,
    (cx, clock): (&CheckContext, &Arc<ManualClock>),
    polls: usize,
) -> (f64, f64, usize, f64) {
    let (probes, cx, clock) = (probes.clone(), cx.clone(), clock.clone());
    let (cpu, wall, requests, full) = rt.block_on(async move {
        tokio::spawn(async move {
            let (mut requests, mut full) = (0u64, 0usize);
            let (c0, w0) = (cpu_time(), Instant::now());
            for i in 0..polls {
                let p = &probes[i % probes.len()];
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                let poll = p.poll(deadline).await.expect("snmpsim answers");
                requests += poll.requests;
                full += usize::from(poll.full);
                // A minute between polls of a printer: each poll adds a reading.
                clock.advance(Duration::from_secs(60));
                std::hint::black_box(p.observe(&cx, &poll.report));
            }
            (cpu_time() - c0, w0.elapsed(), requests, full)
        })
        .await
        .expect("task")
    });
    (
        cpu.as_secs_f64() * 1e6 / polls as f64,
        requests as f64 / polls as f64,
        full,
        wall.as_secs_f64() * 1e3 / polls as f64,
    )
}

/// Gives every probe (probe `i` polls recording `i % 10`) 20 readings of each supply, 6 h
/// apart up to now, falling one point per reading to the recording's level; leaves the clock
/// at now.
fn seed_history(
    clock: &ManualClock,
    cx: &CheckContext,
    parsed: &[forewarn::probe::printer::mib::Varbinds],
    sets: &[&Arc<Vec<PrinterProbe>>],
) {
    let now = cx.now();
    let reports: Vec<PrinterReport> = parsed
        .iter()
        .map(forewarn::probe::printer::mib::decode)
        .collect();
    for k in (1..=20u32).rev() {
        clock.set(now - chrono::Duration::hours(6 * i64::from(k)));
        for set in sets {
            for (i, p) in set.iter().enumerate() {
                let mut r = reports[i % reports.len()].clone();
                for s in &mut r.supplies {
                    if let SupplyState::Known(v) = s.state {
                        s.state = SupplyState::Known((v + f64::from(k - 1)).min(100.0));
                    }
                }
                p.observe(cx, &r);
            }
        }
    }
    clock.set(now);
}

/// CPU µs per bare snmp2 GET of sysDescr on one session.
fn bare_loop(rt: &tokio::runtime::Runtime, port: u16, n: usize) -> f64 {
    let cpu = rt.block_on(async move {
        tokio::spawn(async move {
            let addr = format!("127.0.0.1:{port}");
            let mut s = snmp2::AsyncSession::new_v2c(addr.as_str(), b"jetdirect_m880", 1)
                .await
                .expect("session");
            let oid = snmp2::Oid::from(&[1u64, 3, 6, 1, 2, 1, 1, 1, 0]).expect("oid");
            let c0 = cpu_time();
            for _ in 0..n {
                let pdu = s.get(&oid).await.expect("snmpsim answers");
                std::hint::black_box(pdu.varbinds.count());
            }
            cpu_time() - c0
        })
        .await
        .expect("task")
    });
    cpu.as_secs_f64() * 1e6 / n as f64
}

/// CPU µs per bare snmp2 GET of what the steady-state poll of each printer reads (`cells`:
/// community and OIDs per printer), cycling through the printers as the poll loop does, one
/// session each: the same request and answer without forewarn around them.
fn cells_loop(
    rt: &tokio::runtime::Runtime,
    port: u16,
    cells: &[(String, Vec<Vec<u32>>)],
    n: usize,
) -> f64 {
    let cells = cells.to_vec();
    let cpu = rt.block_on(async move {
        tokio::spawn(async move {
            let addr = format!("127.0.0.1:{port}");
            let mut sessions = Vec::new();
            let mut oids = Vec::new();
            for (community, cell_oids) in &cells {
                sessions.push(
                    snmp2::AsyncSession::new_v2c(addr.as_str(), community.as_bytes(), 1)
                        .await
                        .expect("session"),
                );
                oids.push(
                    cell_oids
                        .iter()
                        .map(|o| {
                            let arcs: Vec<u64> = o.iter().map(|&a| u64::from(a)).collect();
                            snmp2::Oid::from(&arcs).expect("oid")
                        })
                        .collect::<Vec<_>>(),
                );
            }
            let c0 = cpu_time();
            for i in 0..n {
                let k = i % sessions.len();
                let refs: Vec<&snmp2::Oid<'_>> = oids[k].iter().collect();
                let pdu = sessions[k].get_many(&refs).await.expect("snmpsim answers");
                std::hint::black_box(pdu.varbinds.count());
            }
            cpu_time() - c0
        })
        .await
        .expect("task")
    });
    cpu.as_secs_f64() * 1e6 / n as f64
}

/// CPU µs per raw blocking UDP round trip of a pre-encoded GET, and round trips per second.
fn raw_loop(port: u16, n: usize) -> (f64, f64) {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.connect(("127.0.0.1", port)).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let msg = raw_get("jetdirect_m880");
    let mut buf = [0u8; 4096];
    let (c0, w0) = (cpu_time(), Instant::now());
    for _ in 0..n {
        sock.send(&msg).expect("send");
        sock.recv(&mut buf).expect("snmpsim answers");
    }
    let (cpu, wall) = (cpu_time() - c0, w0.elapsed());
    (
        cpu.as_secs_f64() * 1e6 / n as f64,
        n as f64 / wall.as_secs_f64(),
    )
}

/// One poll of each of `fleet`, 64 in flight, each its own task: (polls/s, requests/s, CPU µs
/// per poll, full polls, failures).
fn fleet_round(
    rt: &tokio::runtime::Runtime,
    fleet: &Arc<Vec<PrinterProbe>>,
    cx: &CheckContext,
) -> (f64, f64, f64, usize, usize) {
    let (fleet, cx) = (fleet.clone(), cx.clone());
    let n = fleet.len();
    let (wall, cpu, results) = rt.block_on(async move {
        let (c0, w0) = (cpu_time(), Instant::now());
        let handles: Vec<_> = (0..fleet.len())
            .map(|i| {
                let (fleet, cx) = (fleet.clone(), cx.clone());
                async move {
                    tokio::spawn(async move {
                        let p = &fleet[i];
                        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                        p.poll(deadline).await.ok().map(|poll| {
                            std::hint::black_box(p.observe(&cx, &poll.report));
                            (poll.requests, poll.full)
                        })
                    })
                    .await
                    .ok()
                    .flatten()
                }
            })
            .collect();
        let results: Vec<Option<(u64, bool)>> = futures::stream::iter(handles)
            .buffer_unordered(64)
            .collect()
            .await;
        (w0.elapsed(), cpu_time() - c0, results)
    });
    let failures = results.iter().filter(|r| r.is_none()).count();
    let requests: u64 = results.iter().flatten().map(|r| r.0).sum();
    let full = results.iter().flatten().filter(|r| r.1).count();
    (
        n as f64 / wall.as_secs_f64(),
        requests as f64 / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / n as f64,
        full,
        failures,
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let polls = env("PRINTER_BENCH_POLLS", 300).max(10);
    let rounds = env("PRINTER_BENCH_ROUNDS", 3).max(1);
    if !snmpsim::recordings_dir()
        .join("jetdirect_m880.snmprec")
        .exists()
    {
        println!(
            "printer bench skipped: no recordings in {} (set FOREWARN_PRINTER_RECORDINGS)",
            snmpsim::recordings_dir().display()
        );
        return;
    }
    let sim = match Snmpsim::start(&RECORDINGS) {
        Ok(s) => s,
        Err(e) => {
            println!("printer bench skipped: snmpsim cannot start ({e})");
            return;
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // A virtual clock, so the forecast sees each poll as a reading a minute after the last.
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let mut cx = CheckContext::for_test("bench");
    cx.clock = clock.clone();
    let steady: Arc<Vec<PrinterProbe>> =
        Arc::new(RECORDINGS.iter().map(|r| probe(&sim, r, 10_000)).collect());
    let full: Arc<Vec<PrinterProbe>> =
        Arc::new(RECORDINGS.iter().map(|r| probe(&sim, r, 1)).collect());

    // The parsed recordings (what snmpsim serves), for the decode loop and the history.
    let parsed: Vec<_> = RECORDINGS
        .iter()
        .map(|r| {
            forewarn::probe::printer::mib::parse_snmprec(&snmpsim::recording(r).expect("recording"))
        })
        .collect();
    // Five days of history, as a monitor has after a week: 20 readings 6 h apart, each supply
    // falling a point per reading to today's level, so every supply with a level has a
    // forecast to compute on every poll (the probe's defaults: 20 readings, 6 h apart).
    seed_history(&clock, &cx, &parsed, &[&steady, &full]);

    // Warm-up: every recording once (snmpsim opens its index on first use); the steady
    // probes make their full poll here.
    rt.block_on(async {
        for p in steady.iter().chain(full.iter()) {
            let _ = p.check(&cx).await;
        }
    });

    // How many supplies get a days-left forecast on each poll of the ten recordings.
    let forecasts: usize = steady
        .iter()
        .zip(&parsed)
        .map(|(p, v)| {
            let obs = p.observe(&cx, &forewarn::probe::printer::mib::decode(v));
            obs.metrics
                .keys()
                .filter(|k| k.ends_with(".days_left"))
                .count()
        })
        .sum();

    let cells: Vec<(String, Vec<Vec<u32>>)> = RECORDINGS
        .iter()
        .zip(steady.iter())
        .map(|(r, p)| (r.to_string(), p.steady_state_oids()))
        .collect();
    let cell_count: usize = cells.iter().map(|c| c.1.len()).sum();

    // 0. Decode + verdict, in process.
    let decode_n = 20_000;
    let c0 = cpu_time();
    for i in 0..decode_n {
        let report = forewarn::probe::printer::mib::decode(&parsed[i % parsed.len()]);
        clock.advance(Duration::from_secs(60));
        std::hint::black_box(full[i % full.len()].observe(&cx, &report));
    }
    let decode_us = (cpu_time() - c0).as_secs_f64() * 1e6 / decode_n as f64;

    // 1. Rounds of the four loops.
    let bare_n = polls * 2;
    let (mut st, mut fu, mut bare, mut raw, mut ratio, mut same, mut over) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let (mut st_req, mut fu_req, mut st_full, mut raw_rps, mut st_wall, mut fu_wall) =
        (0.0, 0.0, 0, Vec::new(), 0.0, 0.0);
    for _ in 0..rounds {
        let (s_us, s_req, s_full, s_wall) = poll_loop(&rt, &steady, (&cx, &clock), polls);
        let (f_us, f_req, _, f_wall) = poll_loop(&rt, &full, (&cx, &clock), polls);
        let c_us = cells_loop(&rt, sim.port, &cells, polls);
        let b_us = bare_loop(&rt, sim.port, bare_n);
        let (r_us, r_rps) = raw_loop(sim.port, bare_n);
        st.push(s_us);
        fu.push(f_us);
        bare.push(b_us);
        raw.push(r_us);
        ratio.push(s_us / b_us);
        same.push(c_us);
        over.push(s_us - c_us);
        raw_rps.push(r_rps);
        (st_req, fu_req, st_wall, fu_wall) = (s_req, f_req, s_wall, f_wall);
        st_full += s_full;
    }
    let spread = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{lo:.1}–{hi:.1}")
    };
    let (st_us, fu_us, bare_us, raw_us, ratio_m, raw_rps_m) = (
        median(st.clone()),
        median(fu.clone()),
        median(bare.clone()),
        median(raw.clone()),
        median(ratio.clone()),
        median(raw_rps),
    );
    let (same_us, over_us, same_ratio) = (
        median(same.clone()),
        median(over.clone()),
        median(st.iter().zip(&same).map(|(s, c)| s / c).collect()),
    );
    // The defaults (a full poll every 60 polls and at least hourly): one full poll in 60 at a
    // 1-minute interval, one in 12 at a 5-minute interval.
    let default_us = (59.0 * st_us + fu_us) / 60.0;
    let five_min_us = (11.0 * st_us + fu_us) / 12.0;

    // 2. 500 printers at once, 64 in flight: full polls, then steady-state polls.
    let fleet: Arc<Vec<PrinterProbe>> = Arc::new(
        (0..500)
            .map(|i| probe(&sim, RECORDINGS[i % RECORDINGS.len()], 10_000))
            .collect(),
    );
    let (f1_pps, f1_rps, f1_cpu, f1_full, f1_fail) = fleet_round(&rt, &fleet, &cx);
    let (f2_pps, f2_rps, f2_cpu, f2_full, f2_fail) = fleet_round(&rt, &fleet, &cx);

    println!(
        "{{\"decode_us\":{decode_us:.1},\"polls\":{polls},\"rounds\":{rounds},\
         \"steady_cpu_us_per_poll\":{st_us:.1},\"steady_requests_per_poll\":{st_req:.2},\
         \"steady_full_polls\":{st_full},\"full_cpu_us_per_poll\":{fu_us:.1},\
         \"full_requests_per_poll\":{fu_req:.2},\"default_cpu_us_per_poll\":{default_us:.1},\
         \"five_minute_cpu_us_per_poll\":{five_min_us:.1},\"forecasts_per_ten_polls\":{forecasts},\
         \"bare_snmp2_cpu_us_per_get\":{bare_us:.1},\"raw_udp_cpu_us_per_get\":{raw_us:.1},\
         \"steady_to_bare_get\":{ratio_m:.2},\"bare_snmp2_cpu_us_per_cells_get\":{same_us:.1},\
         \"steady_to_cells_get\":{same_ratio:.2},\"steady_over_cells_get_us\":{over_us:.1},\
         \"fleet\":500,\
         \"fleet_full_polls_per_s\":{f1_pps:.1},\"fleet_full_cpu_us_per_poll\":{f1_cpu:.1},\
         \"fleet_steady_polls_per_s\":{f2_pps:.1},\"fleet_steady_cpu_us_per_poll\":{f2_cpu:.1},\
         \"raw_get_round_trips_per_s\":{raw_rps_m:.0},\"fleet_failures\":{}}}",
        f1_fail + f2_fail
    );
    println!();
    println!(
        "decode + verdict of one full poll's answers {decode_us:8.1} µs  (no network, the ten recordings)"
    );
    println!(
        "printer polls, {polls} sequential polls over the ten recordings per loop, {rounds} rounds (median, range):"
    );
    println!(
        "  steady state: CPU per poll   {st_us:8.1} µs  ({}; target ≤ 100 µs; {st_req:.2} requests per poll, {st_full} full polls)",
        spread(&st)
    );
    println!(
        "  full poll:    CPU per poll   {fu_us:8.1} µs  ({}; {fu_req:.2} requests per poll)",
        spread(&fu)
    );
    println!(
        "  defaults, 1-min interval     {default_us:8.1} µs  (1 full poll in 60, computed from the two above)"
    );
    println!("  defaults, 5-min interval     {five_min_us:8.1} µs  (1 full poll in 12: hourly)");
    println!(
        "  forecasts computed per poll  {:8.1}     (supplies with a days-left figure, 20 readings each)",
        forecasts as f64 / steady.len() as f64
    );
    println!(
        "  baseline: bare snmp2 GET of the same cells {same_us:8.1} µs  ({}; {:.1} varbinds, one session per printer)",
        spread(&same),
        cell_count as f64 / cells.len() as f64
    );
    println!(
        "  steady-state poll / that GET {same_ratio:8.2}     (forewarn's own share: {over_us:.1} µs, {})",
        spread(&over)
    );
    println!(
        "  baseline: bare snmp2 GET     {bare_us:8.1} µs  ({}) per request (sysDescr only)",
        spread(&bare)
    );
    println!(
        "  baseline: raw UDP GET        {raw_us:8.1} µs  ({}) per request",
        spread(&raw)
    );
    println!(
        "  steady-state poll / bare GET {ratio_m:8.2}     ({})",
        spread(&ratio)
    );
    println!(
        "  wall per poll                {st_wall:8.2} ms steady, {fu_wall:.2} ms full (snmpsim answers in Python)"
    );
    println!("500 printers, 64 in flight (snmpsim answers {raw_rps_m:.0} raw GETs/s):");
    println!(
        "  first round (full polls)     {f1_pps:8.1} polls/s ({f1_rps:.0} requests/s), CPU {f1_cpu:.1} µs per poll, {f1_full} full, {f1_fail} failed"
    );
    println!(
        "  second round (steady state)  {f2_pps:8.1} polls/s ({f2_rps:.0} requests/s), CPU {f2_cpu:.1} µs per poll, {f2_full} full, {f2_fail} failed"
    );
}
