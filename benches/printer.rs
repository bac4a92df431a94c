//! Printer polls: forewarn's own CPU time per poll, and polls per second with 500 printers.
//!
//! snmpsim (PyPI) serves the ten shared printer recordings on loopback (see
//! `tests/support/snmpsim.rs`). Measured in one run:
//!
//! 0. **Decode and verdict alone**: the ten recordings, parsed once, decoded and judged in a
//!    loop (no network): the part of a poll that is forewarn's own logic.
//! 1. **CPU per poll**: `POLLS` sequential polls (one GET and the GETBULK walk, decode,
//!    interpretation and summary) cycling through the ten recordings; forewarn's CPU time is
//!    utime + stime of this process (`getrusage(RUSAGE_SELF)`: snmpsim is a child process and
//!    not counted), divided by the polls. Baselines in the same run: a bare snmp2 GET loop
//!    (one request each, the client library alone) and a raw UDP round trip of a pre-encoded
//!    GET (the kernel and the socket alone), both per request, so the poll's cost per request
//!    can be compared with them.
//! 2. **500 printers**: 500 probes (the ten recordings, 50 times each) polled at once with the
//!    monitor's default style of concurrency (all in flight, 64 at a time); wall time → polls/s.
//!    snmpsim is one Python process and is the bottleneck: the same run measures how many raw
//!    GET round trips per second snmpsim answers, and reports the poll rate in requests/s
//!    against that ceiling.
//!
//! `cargo bench -p forewarn --bench printer` (env `PRINTER_BENCH_POLLS`, default 300). Without
//! snmpsim or the recordings it prints why and exits 0.

#[path = "../tests/support/snmpsim.rs"]
mod snmpsim;

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

use forewarn::probe::printer::{PrinterConfig, PrinterProbe};
use forewarn::{CheckContext, Probe, Secret};
use futures::StreamExt;
use snmpsim::{RECORDINGS, Snmpsim};

/// User + system CPU time of this process.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn probe(sim: &Snmpsim, community: &str) -> PrinterProbe {
    let mut c = PrinterConfig::new("127.0.0.1");
    c.port = sim.port;
    c.community = Some(Secret::new(community));
    c.request_timeout = Duration::from_secs(10);
    c.forecast.enabled = false;
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

fn main() {
    let polls: usize = std::env::var("PRINTER_BENCH_POLLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
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
    let probes: Vec<PrinterProbe> = RECORDINGS.iter().map(|r| probe(&sim, r)).collect();
    let cx = CheckContext::for_test("bench");

    // Warm-up: every recording once (snmpsim opens its index on first use).
    rt.block_on(async {
        for p in &probes {
            let _ = p.check(&cx).await;
        }
    });

    // 0. Decode + verdict, in process.
    let parsed: Vec<_> = RECORDINGS
        .iter()
        .map(|r| {
            forewarn::probe::printer::mib::parse_snmprec(&snmpsim::recording(r).expect("recording"))
        })
        .collect();
    let decode_n = 20_000;
    let c0 = cpu_time();
    for i in 0..decode_n {
        let report = forewarn::probe::printer::mib::decode(&parsed[i % parsed.len()]);
        std::hint::black_box(probes[i % probes.len()].observe(&cx, &report));
    }
    let decode_us = (cpu_time() - c0).as_secs_f64() * 1e6 / decode_n as f64;

    // 1. CPU time per poll, sequential, in a task on the runtime (as the monitor runs checks).
    let probes = Arc::new(probes);
    let seq = probes.clone();
    let seq_cx = cx.clone();
    let (cpu_poll, wall_poll, requests) = rt.block_on(async move {
        tokio::spawn(async move {
            let (probes, cx) = (seq, seq_cx);
            let mut requests = 0u64;
            let (c0, w0) = (cpu_time(), Instant::now());
            for i in 0..polls {
                let p = &probes[i % probes.len()];
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                let poll = p.poll(deadline).await.expect("snmpsim answers");
                requests += poll.requests;
                std::hint::black_box(p.observe(&cx, &poll.report));
            }
            (cpu_time() - c0, w0.elapsed(), requests)
        })
        .await
        .expect("task")
    });
    let per_poll_us = cpu_poll.as_secs_f64() * 1e6 / polls as f64;
    let req_per_poll = requests as f64 / polls as f64;

    // Baseline A: bare snmp2 GETs of sysDescr, one session, same runtime.
    let bare_n = polls * 2;
    let port = sim.port;
    let cpu_bare = rt.block_on(async move {
        tokio::spawn(async move {
            let addr = format!("127.0.0.1:{port}");
            let mut s = snmp2::AsyncSession::new_v2c(addr.as_str(), b"jetdirect_m880", 1)
                .await
                .expect("session");
            let oid = snmp2::Oid::from(&[1u64, 3, 6, 1, 2, 1, 1, 1, 0]).expect("oid");
            let c0 = cpu_time();
            for _ in 0..bare_n {
                let pdu = s.get(&oid).await.expect("snmpsim answers");
                std::hint::black_box(pdu.varbinds.count());
            }
            cpu_time() - c0
        })
        .await
        .expect("task")
    });
    let bare_us = cpu_bare.as_secs_f64() * 1e6 / bare_n as f64;

    // Baseline B: raw UDP round trips of a pre-encoded GET (blocking socket).
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.connect(("127.0.0.1", sim.port)).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let msg = raw_get("jetdirect_m880");
    let mut buf = [0u8; 4096];
    let (c0, w0) = (cpu_time(), Instant::now());
    for _ in 0..bare_n {
        sock.send(&msg).expect("send");
        sock.recv(&mut buf).expect("snmpsim answers");
    }
    let (cpu_raw, wall_raw) = (cpu_time() - c0, w0.elapsed());
    let raw_us = cpu_raw.as_secs_f64() * 1e6 / bare_n as f64;
    let raw_rps = bare_n as f64 / wall_raw.as_secs_f64();

    // 2. 500 printers at once, 64 in flight.
    let fleet: Arc<Vec<PrinterProbe>> = Arc::new(
        (0..500)
            .map(|i| probe(&sim, RECORDINGS[i % RECORDINGS.len()]))
            .collect(),
    );
    let fleet_cx = cx.clone();
    let (wall_fleet, cpu_fleet, fleet_requests, failures) = rt.block_on(async move {
        let (c0, w0) = (cpu_time(), Instant::now());
        let handles: Vec<_> = (0..fleet.len())
            .map(|i| {
                let (fleet, cx) = (fleet.clone(), fleet_cx.clone());
                async move {
                    // Each poll is its own task, as the monitor runs checks.
                    tokio::spawn(async move {
                        let p = &fleet[i];
                        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
                        p.poll(deadline).await.ok().map(|poll| {
                            std::hint::black_box(p.observe(&cx, &poll.report));
                            poll.requests
                        })
                    })
                    .await
                    .ok()
                    .flatten()
                }
            })
            .collect();
        let results: Vec<Option<u64>> = futures::stream::iter(handles)
            .buffer_unordered(64)
            .collect()
            .await;
        let failures = results.iter().filter(|r| r.is_none()).count();
        let requests: u64 = results.iter().flatten().sum();
        (w0.elapsed(), cpu_time() - c0, requests, failures)
    });
    let fleet_pps = 500.0 / wall_fleet.as_secs_f64();
    let fleet_rps = fleet_requests as f64 / wall_fleet.as_secs_f64();
    let fleet_cpu_us = cpu_fleet.as_secs_f64() * 1e6 / 500.0;

    println!(
        "{{\"decode_us\":{decode_us:.1},\"polls\":{polls},\"cpu_us_per_poll\":{per_poll_us:.1},\"requests_per_poll\":{req_per_poll:.2},\
         \"cpu_us_per_request\":{:.1},\"bare_snmp2_cpu_us_per_get\":{bare_us:.1},\
         \"raw_udp_cpu_us_per_get\":{raw_us:.1},\"sequential_polls_per_s\":{:.1},\
         \"fleet\":500,\"fleet_polls_per_s\":{fleet_pps:.1},\"fleet_requests_per_s\":{fleet_rps:.0},\
         \"raw_get_round_trips_per_s\":{raw_rps:.0},\"fleet_cpu_us_per_poll\":{fleet_cpu_us:.1},\
         \"fleet_failures\":{failures}}}",
        per_poll_us / req_per_poll,
        polls as f64 / wall_poll.as_secs_f64(),
    );
    println!();
    println!(
        "decode + verdict of one poll's answers   {decode_us:8.1} µs  (no network, the ten recordings)"
    );
    println!("printer poll, {polls} sequential polls over the ten recordings:");
    println!(
        "  forewarn CPU per poll        {per_poll_us:8.1} µs  (target ≤ 100 µs; {req_per_poll:.2} SNMP requests per poll)"
    );
    println!(
        "  forewarn CPU per request     {:8.1} µs  (bare snmp2 GET {bare_us:.1} µs, raw UDP GET {raw_us:.1} µs)",
        per_poll_us / req_per_poll
    );
    println!(
        "  wall per poll                {:8.2} ms  (snmpsim answers in Python)",
        wall_poll.as_secs_f64() * 1e3 / polls as f64
    );
    println!("500 printers, 64 in flight:");
    println!(
        "  polls/s                      {fleet_pps:8.1}     ({fleet_rps:.0} requests/s; snmpsim answers {raw_rps:.0} raw GETs/s: {:.0} % of that ceiling)",
        100.0 * fleet_rps / raw_rps
    );
    println!("  forewarn CPU per poll        {fleet_cpu_us:8.1} µs  ({failures} failed)");
}
