//! What an HTTP check costs on forewarn's own HTTP/1.1 transport against hyper 1's low-level
//! client, in the same run: CPU per request (`getrusage`, user + system, the whole process) at a
//! paced rate and saturated, against a server that keeps connections alive and one that closes
//! after each response.
//!
//! `benches/http_stack.sh` starts nginx on loopback (one server block keeping connections alive,
//! one with `keepalive_timeout 0`) and runs this three times. By hand:
//! `cargo bench -p forewarn --bench http_stack -- --keep-alive URL --close URL
//! [--rate N] [--seconds S] [--concurrency C]` (defaults 2,000/s, 5 s, 64).
//!
//! The clients, each on a fresh single-threaded tokio runtime (the CLI's default of one worker):
//!
//! - **probe**: the `http` probe (`HttpConfig` → `HttpProbe::check`), which is what a check costs:
//!   the hand-written transport, the response read to its end, the observation built.
//! - **client**: [`forewarn::http_client::HttpClient`], the crate's one public client on the
//!   same transport (status, headers and body handed back).
//! - **hyper**: `hyper::client::conn::http1` over a tokio `TcpStream` (hyper-util's `TokioIo`),
//!   its connection driven by a task of its own as hyper requires, the senders pooled the way
//!   the transport pools connections (idle ones reused newest first, one that is closed
//!   dropped, a request that finds its reused connection closed sent once more on a new one),
//!   the body read to its end, and then the same observation the probe builds.
//!
//! Paced: every millisecond the due requests are started as tasks (`--rate`, default 2,000/s,
//! the 2,000 targets at 1 s of issue #19). Saturated: `--concurrency` tasks (default 64) send
//! back to back. The figure is the process's CPU time over the requests answered.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use forewarn::http_client::{HttpClient, HttpClients};
use forewarn::probe::http::HttpConfig;
use forewarn::probe::{CheckContext, Metric, Observation, Probe, Status};
use hyper::body::Body as _;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpStream;

/// The process's CPU time (user + system) so far.
fn cpu() -> Duration {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let u = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr());
        u.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// The observation the `http` probe builds for an accepted answer.
fn observe(code: u16, at: chrono::DateTime<chrono::Utc>, latency: Duration) -> Observation {
    let mut summary = String::with_capacity(48);
    let _ = write!(
        summary,
        "HTTP {} in {}",
        code,
        forewarn::probe::human_duration(latency)
    );
    let status = if (200..400).contains(&code) {
        Status::Ok
    } else {
        Status::Critical
    };
    let mut obs = Observation::new(status, summary, at).with_latency(latency);
    obs.metrics
        .insert("latency".into(), Metric::new(latency.as_secs_f64(), "s"));
    obs.metrics
        .insert("status_code".into(), Metric::new(f64::from(code), ""));
    obs
}

/// hyper's low-level HTTP/1.1 client with a pool of idle senders for one origin.
struct HyperPool {
    addr: std::net::SocketAddr,
    authority: String,
    path: String,
    idle: Mutex<VecDeque<SendRequest<String>>>,
}

impl HyperPool {
    fn new(url: &str) -> Self {
        let url = url::Url::parse(url).expect("a URL");
        let host = url.host_str().expect("a host");
        let port = url.port_or_known_default().expect("a port");
        Self {
            addr: format!("{host}:{port}").parse().expect("an IP address"),
            authority: format!("{host}:{port}"),
            path: url.path().to_owned(),
            idle: Mutex::new(VecDeque::new()),
        }
    }

    fn checkout(&self) -> Option<SendRequest<String>> {
        let mut idle = self.idle.lock();
        while let Some(sender) = idle.pop_back() {
            if sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    async fn connect(&self) -> Result<SendRequest<String>, String> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .map_err(|e| e.to_string())?;
        let _ = tcp.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| e.to_string())?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    fn request(&self) -> hyper::Request<String> {
        hyper::Request::get(&self.path)
            .header(hyper::header::HOST, &self.authority)
            .header(
                hyper::header::USER_AGENT,
                concat!("forewarn/", env!("CARGO_PKG_VERSION")),
            )
            .header(hyper::header::ACCEPT, "*/*")
            .body(String::new())
            .expect("a request")
    }

    /// One GET: its status, the body read to its end.
    async fn get(&self) -> Result<u16, String> {
        let mut reused = self.checkout();
        loop {
            let fresh = reused.is_none();
            let mut sender = match reused.take() {
                Some(s) => s,
                None => self.connect().await?,
            };
            if sender.ready().await.is_err() {
                if fresh {
                    return Err("the new connection closed".into());
                }
                continue;
            }
            let response = match sender.send_request(self.request()).await {
                Ok(r) => r,
                Err(e) if !fresh && (e.is_canceled() || e.is_incomplete_message()) => {
                    continue;
                }
                Err(e) => return Err(e.to_string()),
            };
            let code = response.status().as_u16();
            let mut body = response.into_body();
            let mut body = Pin::new(&mut body);
            while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
                frame.map_err(|e| e.to_string())?;
            }
            if !sender.is_closed() {
                self.idle.lock().push_back(sender);
            }
            return Ok(code);
        }
    }
}

type Job = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = bool>>>>;

/// A fresh client of `kind` for `url`, as a job that runs one request.
fn job(kind: &str, url: &str) -> Job {
    match kind {
        "probe" => {
            let probe = Arc::new(
                HttpConfig {
                    url: url.into(),
                    ..Default::default()
                }
                .build(&HttpClients::new())
                .expect("the probe builds"),
            );
            let cx = Rc::new(CheckContext::for_test("bench"));
            Rc::new(move || {
                let (probe, cx) = (probe.clone(), cx.clone());
                Box::pin(async move { probe.check(&cx).await.status == Status::Ok })
            })
        }
        "client" => {
            let client = HttpClient::new();
            let url = Arc::<str>::from(url);
            Rc::new(move || {
                let (client, url) = (client.clone(), url.clone());
                Box::pin(async move {
                    client
                        .get(&*url)
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                })
            })
        }
        "hyper" => {
            let pool = Rc::new(HyperPool::new(url));
            Rc::new(move || {
                let pool = pool.clone();
                Box::pin(async move {
                    let at = chrono::Utc::now();
                    let start = Instant::now();
                    match tokio::time::timeout(Duration::from_secs(10), pool.get()).await {
                        Ok(Ok(code)) => observe(code, at, start.elapsed()).status == Status::Ok,
                        _ => false,
                    }
                })
            })
        }
        other => panic!("unknown client {other}"),
    }
}

/// Runs `job` for `seconds`, paced at `rate` per second or (rate 0) saturated with
/// `concurrency` tasks; returns (CPU µs per answered request, answered, failed).
fn measure(job: Job, rate: u32, concurrency: usize, seconds: f64) -> (f64, u64, u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        // Warm-up: connections opened, allocator settled.
        for _ in 0..200 {
            (job)().await;
        }
        let ok = Rc::new(std::cell::Cell::new(0u64));
        let failed = Rc::new(std::cell::Cell::new(0u64));
        let run = Duration::from_secs_f64(seconds);
        let cpu0 = cpu();
        let started = Instant::now();
        let count = |good: bool, ok: &std::cell::Cell<u64>, failed: &std::cell::Cell<u64>| {
            if good {
                ok.set(ok.get() + 1);
            } else {
                failed.set(failed.get() + 1);
            }
        };
        if rate == 0 {
            let mut tasks = Vec::new();
            for _ in 0..concurrency {
                let (job, ok, failed) = (job.clone(), ok.clone(), failed.clone());
                tasks.push(tokio::task::spawn_local(async move {
                    while started.elapsed() < run {
                        count((job)().await, &ok, &failed);
                    }
                }));
            }
            for t in tasks {
                t.await.expect("a task");
            }
        } else {
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut started_n = 0u64;
            let mut tasks = Vec::new();
            while started.elapsed() < run {
                tick.tick().await;
                let due = (started.elapsed().as_secs_f64() * f64::from(rate)) as u64;
                while started_n < due {
                    started_n += 1;
                    let (job, ok, failed) = (job.clone(), ok.clone(), failed.clone());
                    tasks.push(tokio::task::spawn_local(async move {
                        count((job)().await, &ok, &failed);
                    }));
                }
                tasks.retain(|t: &tokio::task::JoinHandle<()>| !t.is_finished());
            }
            for t in tasks {
                t.await.expect("a task");
            }
        }
        let spent = cpu() - cpu0;
        let n = ok.get();
        (spent.as_secs_f64() * 1e6 / n.max(1) as f64, n, failed.get())
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut keep_alive, mut close) = (None, None);
    let (mut rate, mut seconds, mut concurrency) = (2000u32, 5.0f64, 64usize);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--keep-alive" => keep_alive = args.next(),
            "--close" => close = args.next(),
            "--rate" => rate = args.next().and_then(|v| v.parse().ok()).expect("--rate N"),
            "--seconds" => {
                seconds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--seconds S")
            }
            "--concurrency" => {
                concurrency = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--concurrency C")
            }
            _ => {} // cargo bench passes --bench
        }
    }
    let (Some(keep_alive), Some(close)) = (keep_alive, close) else {
        eprintln!("usage: http_stack --keep-alive URL --close URL (benches/http_stack.sh)");
        return;
    };
    forewarn::http_client::install_crypto_provider();
    println!("server\tload\tclient\tcpu_us_per_request\tanswered\tfailed\tto_probe");
    for (server, url) in [("keep-alive", &keep_alive), ("closes", &close)] {
        for (load, r) in [("paced", rate), ("saturated", 0)] {
            let mut probe_us = 0.0;
            for kind in ["probe", "client", "hyper"] {
                let (us, n, failed) = measure(job(kind, url), r, concurrency, seconds);
                if kind == "probe" {
                    probe_us = us;
                }
                println!(
                    "{server}\t{load}\t{kind}\t{us:.2}\t{n}\t{failed}\t{:.3}",
                    us / probe_us
                );
            }
        }
    }
}
