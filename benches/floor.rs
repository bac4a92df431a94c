//! The bare floor for `benches/peers.sh`: what a check costs with nothing around it, in Rust std
//! on one thread with blocking sockets, paced like a scheduler (N targets per interval, spread
//! evenly: at the start of every window the checks due before its end), so that its CPU per
//! check compares with a scheduler's at the same rate. The window is forewarn's scheduler's by
//! default (5 % of the interval, at most 100 ms); `--window 1ms` starts the checks one
//! millisecond at a time. It runs until killed; `peers.sh` measures its CPU from the outside
//! like every other tool's.
//!
//! `--mode tcp|tcp-reset|http|http-keepalive --targets N --interval 1s --ports 19101-19116
//! [--window 50ms]`
//! - `tcp`: connect, close (a FIN; the socket stays in `TIME_WAIT` on this side).
//! - `tcp-reset`: connect, close with `SO_LINGER` 0 (a reset, no `TIME_WAIT`): the close a
//!   connect-only check may use.
//! - `http`: connect, `GET /`, read until the server closes, close.
//! - `http-keepalive`: `GET /` on one kept-alive connection per port, read the response by its
//!   `Content-Length`; a connection the server closed is opened again.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Tcp,
    TcpReset,
    Http,
    HttpKeepAlive,
}

struct Args {
    mode: Mode,
    targets: u64,
    interval: Duration,
    window: Option<Duration>,
    ports: Vec<u16>,
}

fn parse_duration(s: &str) -> Duration {
    if let Some(ms) = s.strip_suffix("ms") {
        Duration::from_millis(ms.parse().expect("milliseconds"))
    } else {
        let secs = s.strip_suffix('s').unwrap_or(s);
        Duration::from_secs_f64(secs.parse().expect("seconds"))
    }
}

fn parse_args() -> Args {
    let mut a = Args {
        mode: Mode::Tcp,
        targets: 2000,
        interval: Duration::from_secs(1),
        window: None,
        ports: (19101..=19116).collect(),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        // `cargo bench` passes `--bench`; it takes no value.
        if flag == "--bench" {
            continue;
        }
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--mode" => {
                a.mode = match value.as_str() {
                    "tcp" => Mode::Tcp,
                    "tcp-reset" => Mode::TcpReset,
                    "http" => Mode::Http,
                    "http-keepalive" => Mode::HttpKeepAlive,
                    other => panic!("unknown mode {other}"),
                }
            }
            "--targets" => a.targets = value.parse().expect("--targets N"),
            "--interval" => a.interval = parse_duration(value),
            "--window" => a.window = Some(parse_duration(value)),
            "--ports" => {
                let (lo, hi) = value.split_once('-').expect("--ports LO-HI");
                a.ports = (lo.parse().expect("port")..=hi.parse().expect("port")).collect();
            }
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

const REQUEST_CLOSE: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
const REQUEST_KEEP: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// One check; false when it failed.
fn check(
    mode: Mode,
    addr: SocketAddr,
    kept: &mut HashMap<SocketAddr, TcpStream>,
    buf: &mut [u8],
) -> bool {
    match mode {
        Mode::Tcp => TcpStream::connect(addr).is_ok(),
        Mode::TcpReset => TcpStream::connect(addr).is_ok_and(|s| linger_zero(&s)),
        Mode::Http => {
            let Ok(mut s) = TcpStream::connect(addr) else {
                return false;
            };
            if s.write_all(REQUEST_CLOSE).is_err() {
                return false;
            }
            let (mut got, last) = (0, buf.len() - 1);
            loop {
                match s.read(&mut buf[got.min(last)..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(_) => return false,
                }
            }
            buf.starts_with(b"HTTP/1.1 200")
        }
        Mode::HttpKeepAlive => {
            for _attempt in 0..2 {
                let s = match kept.get_mut(&addr) {
                    Some(s) => s,
                    None => match TcpStream::connect(addr) {
                        Ok(s) => kept.entry(addr).or_insert(s),
                        Err(_) => return false,
                    },
                };
                if keepalive_request(s, buf) {
                    return true;
                }
                kept.remove(&addr);
            }
            false
        }
    }
}

const SOL_SOCKET: i32 = 1;
const SO_LINGER: i32 = 13;

#[repr(C)]
struct Linger {
    l_onoff: i32,
    l_linger: i32,
}

unsafe extern "C" {
    fn setsockopt(fd: i32, level: i32, name: i32, value: *const Linger, len: u32) -> i32;
}

/// `SO_LINGER` 0, so that dropping the stream resets the connection (Linux).
fn linger_zero(s: &TcpStream) -> bool {
    use std::os::fd::AsRawFd;
    let l = Linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a pointer to a `struct linger` of the given size.
    unsafe {
        setsockopt(
            s.as_raw_fd(),
            SOL_SOCKET,
            SO_LINGER,
            &l,
            std::mem::size_of::<Linger>() as u32,
        ) == 0
    }
}

/// `GET /` on a kept-alive connection; the response is read to its `Content-Length`.
fn keepalive_request(s: &mut TcpStream, buf: &mut [u8]) -> bool {
    if s.write_all(REQUEST_KEEP).is_err() {
        return false;
    }
    let mut got = 0;
    loop {
        match s.read(&mut buf[got..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got += n,
        }
        let head = &buf[..got];
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&head[..end]);
            let len: usize = text
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            let closes = text.to_ascii_lowercase().contains("connection: close");
            let ok = head.starts_with(b"HTTP/1.1 200") && !closes;
            while got < end + 4 + len {
                match s.read(&mut buf[got..]) {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => got += n,
                }
            }
            return ok;
        }
        if got == buf.len() {
            return false;
        }
    }
}

fn main() {
    let args = parse_args();
    let addrs: Vec<SocketAddr> = args
        .ports
        .iter()
        .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
        .collect();
    let mut kept = HashMap::new();
    let mut buf = vec![0u8; 4096];
    let per_sec = args.targets as f64 / args.interval.as_secs_f64();
    let start = Instant::now();
    let mut done: u64 = 0;
    let mut failed: u64 = 0;
    let mut next_report = Duration::from_secs(10);
    // forewarn's batch window: 5 % of the interval, at least 1 ms, at most 100 ms.
    let window = args.window.unwrap_or_else(|| {
        (args.interval / 20)
            .min(Duration::from_millis(100))
            .max(Duration::from_millis(1))
    });
    let window_ms = window.as_millis().max(1) as u64;
    loop {
        // At the start of each window: the checks due before its end.
        let elapsed = start.elapsed();
        let window_end = (elapsed.as_millis() as u64 / window_ms + 1) * window_ms;
        let due = (window_end as f64 / 1000.0 * per_sec) as u64;
        while done < due {
            let addr = addrs[(done % addrs.len() as u64) as usize];
            if !check(args.mode, addr, &mut kept, &mut buf) {
                failed += 1;
            }
            done += 1;
        }
        if elapsed >= next_report {
            if failed > 0 {
                eprintln!("floor: {failed} of {done} checks failed");
            }
            next_report += Duration::from_secs(10);
        }
        std::thread::sleep(Duration::from_millis(window_end).saturating_sub(start.elapsed()));
    }
}
