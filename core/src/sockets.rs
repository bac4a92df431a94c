//! TCP connections as the probes open them: connected within `connect()` when the kernel can
//! (no reactor for the handshake), closed with a reset, and sockets kept between checks.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// An open connection.
///
/// The socket is opened non-blocking and `connect()` is asked once; when the kernel completed
/// the handshake within that call (the same host, often the same segment) the connection is
/// confirmed with one `getpeername()` and never registered with the reactor. A connect-only
/// check then costs `connect`, `getpeername` and a second `connect` that resets the connection
/// and leaves the socket for the next check (see [`idle`]); a new socket (`socket`,
/// `setsockopt`) only when none is left. Otherwise the socket is handed to the reactor to wait
/// for the handshake.
pub(crate) enum Connected {
    /// Completed within `connect()`.
    Now(Socket),
    /// Completed later.
    Later(TcpStream),
}

impl Connected {
    /// The connection as a stream for an exchange.
    pub(crate) fn into_stream(self) -> io::Result<TcpStream> {
        match self {
            Connected::Now(socket) => TcpStream::from_std(socket.into()),
            Connected::Later(stream) => Ok(stream),
        }
    }

    /// Closes with a reset instead of a FIN: a check that only connects leaves no `TIME_WAIT`
    /// socket behind. At 20,000 checks a second a FIN close would want over a million of them
    /// (the kernel keeps each for 60 s), overflowing its table and the ephemeral ports towards
    /// each target, as load balancers' health checks also avoid. A connection made within
    /// `connect()` keeps its socket for the next check ([`idle::give_back`]).
    pub(crate) fn reset(self, addr: SocketAddr) {
        match self {
            Connected::Now(socket) => idle::give_back(socket, Domain::for_address(addr)),
            Connected::Later(stream) => {
                let _ = stream.set_zero_linger();
            }
        }
    }
}

/// Why a connection attempt failed.
pub(crate) enum ConnectFailure {
    /// The system said no (refused, unreachable…).
    Io(SocketAddr, io::Error),
    /// No answer before the deadline.
    TimedOut(SocketAddr),
}

/// Connects to `addr` by `deadline`. `reuse`: the connection ends with a reset ([`recycle`] or
/// [`Connected::reset`]), so a socket kept from an earlier check may serve; such a socket has
/// `TCP_NODELAY` set.
pub(crate) async fn connect(
    addr: SocketAddr,
    deadline: Instant,
    reuse: bool,
) -> Result<Connected, ConnectFailure> {
    let failed = |e| ConnectFailure::Io(addr, e);
    let domain = Domain::for_address(addr);
    let kept = if reuse { idle::take(domain) } else { None };
    let socket = match kept {
        Some(socket) => socket,
        None => {
            let socket = Socket::new(domain, Type::STREAM.nonblocking(), Some(Protocol::TCP))
                .map_err(failed)?;
            if reuse {
                // Closed with a reset whenever it is closed; requests go out as written. Both
                // outlast the reset that makes the socket new again, so a kept socket is set up
                // once.
                socket.set_linger(Some(Duration::ZERO)).map_err(failed)?;
                socket.set_tcp_nodelay(true).map_err(failed)?;
            }
            socket
        }
    };
    match socket.connect(&addr.into()) {
        Ok(()) => return Ok(Connected::Now(socket)),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(failed(e)),
    }
    // Connected already, unless the peer is further than the kernel's own handshake reaches.
    if socket.peer_addr().is_ok() {
        return Ok(Connected::Now(socket));
    }
    let stream = TcpStream::from_std(socket.into()).map_err(failed)?;
    match tokio::time::timeout_at(deadline, stream.writable()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(failed(e)),
        Err(_) => return Err(ConnectFailure::TimedOut(addr)),
    }
    match stream.take_error() {
        Ok(None) => Ok(Connected::Later(stream)),
        Ok(Some(e)) | Err(e) => Err(failed(e)),
    }
}

/// Ends a plain connection opened by [`connect`] with `reuse` whose exchange is over (the
/// server closed, or the rest is not wanted): it leaves the reactor, is reset and its socket
/// kept for the next check.
pub(crate) fn recycle(stream: TcpStream, addr: SocketAddr) {
    if let Ok(std) = stream.into_std() {
        idle::give_back(Socket::from(std), Domain::for_address(addr));
    }
}

/// Sockets kept between checks.
///
/// On Linux a TCP socket that is connected can be connected again after a `connect()` to an
/// `AF_UNSPEC` address: the kernel resets the connection (as a close with `SO_LINGER` 0 does),
/// releases its local port and leaves the socket as new. Reusing it spares the `socket()` and
/// `close()` of every check, whose file, inode and socket allocations cost about a third of a
/// loopback check's CPU. Only sockets whose connection was opened by [`connect`] with `reuse`
/// and ended normally come back here; the socket of a connection that failed is closed.
///
/// Each thread keeps its own. The checks due within a batch window start in one wake-up, so
/// as many connections as a window holds are open at once (a hundred at 2,000 HTTP checks a
/// second): the pool grows to what the busiest moment needed, up to [`idle::KEEP`], and what
/// sat unused for a whole [`idle::TRIM_AFTER`] is closed when the next socket comes back, so a
/// burst (a range discovered once) leaves no sockets behind while checks go on.
pub(crate) mod idle {
    use std::cell::RefCell;
    use std::time::{Duration, Instant};

    use socket2::{Domain, Socket};

    /// The most sockets kept per thread and address family.
    pub(crate) const KEEP: usize = 4096;

    /// Sockets that stayed in the pool this long without being taken are closed.
    pub(crate) const TRIM_AFTER: Duration = Duration::from_secs(30);

    /// Unconnected sockets of one address family.
    pub(crate) struct Pool {
        idle: Vec<Socket>,
        /// The most it keeps.
        cap: usize,
        /// The fewest sockets the pool held since `since`: that many were not needed.
        low: usize,
        since: Option<Instant>,
    }

    impl Pool {
        const fn new(cap: usize) -> Self {
            Pool {
                idle: Vec::new(),
                cap,
                low: 0,
                since: None,
            }
        }

        /// A kept socket, if any.
        pub(crate) fn take(&mut self) -> Option<Socket> {
            let socket = self.idle.pop();
            self.low = self.low.min(self.idle.len());
            socket
        }

        /// Keeps `socket` when there is room (otherwise it is closed), and at `now` closes
        /// the sockets that were not taken since the last trim, [`TRIM_AFTER`] or more ago.
        pub(crate) fn keep(&mut self, socket: Socket, now: Instant) {
            if self.idle.len() < self.cap {
                self.idle.push(socket);
            }
            let since = *self.since.get_or_insert(now);
            if now.saturating_duration_since(since) >= TRIM_AFTER {
                let unused = self.low.min(self.idle.len());
                self.idle.drain(..unused);
                self.low = self.idle.len();
                self.since = Some(now);
            }
        }

        /// Sockets held.
        #[cfg(test)]
        pub(crate) fn len(&self) -> usize {
            self.idle.len()
        }
    }

    thread_local! {
        static IDLE: RefCell<(Pool, Pool)> = const {
            RefCell::new((Pool::new(KEEP), Pool::new(KEEP)))
        };
    }

    fn with<R>(domain: Domain, f: impl FnOnce(&mut Pool) -> R) -> Option<R> {
        IDLE.try_with(|idle| {
            let mut idle = idle.borrow_mut();
            f(if domain == Domain::IPV6 {
                &mut idle.1
            } else {
                &mut idle.0
            })
        })
        .ok()
    }

    /// A kept socket of `domain`: unconnected, non-blocking, closing with a reset.
    pub(crate) fn take(domain: Domain) -> Option<Socket> {
        if cfg!(target_os = "linux") {
            with(domain, Pool::take).flatten()
        } else {
            None
        }
    }

    /// Resets `socket`'s connection and keeps the socket when there is room; otherwise closes
    /// it (with a reset: its linger is 0).
    pub(crate) fn give_back(socket: Socket, domain: Domain) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: `sockaddr` is plain data; all zeroes is a valid value.
            let mut unspec: libc::sockaddr = unsafe { std::mem::zeroed() };
            unspec.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
            // SAFETY: a valid socket and a `sockaddr` of the length given.
            let r = unsafe {
                libc::connect(
                    socket.as_raw_fd(),
                    &unspec,
                    std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
                )
            };
            if r == 0 {
                let _ = with(domain, |pool| pool.keep(socket, Instant::now()));
            }
        }
        #[cfg(not(target_os = "linux"))]
        drop((socket, domain));
    }

    /// Sockets kept on this thread (IPv4, IPv6).
    #[cfg(test)]
    pub(crate) fn kept() -> (usize, usize) {
        IDLE.with(|idle| {
            let idle = idle.borrow();
            (idle.0.len(), idle.1.len())
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn socket() -> Socket {
            Socket::new(Domain::IPV4, socket2::Type::STREAM, None).unwrap()
        }

        /// The pool holds what the busiest moment needed while it is needed, and closes what
        /// a whole trim period left untouched.
        #[test]
        fn the_pool_grows_to_a_burst_and_sheds_what_stays_unused() {
            let t0 = Instant::now();
            let mut pool = Pool::new(KEEP);
            // A window of 100 connections at once, every second, for a minute: all kept.
            for s in 0..60 {
                let now = t0 + Duration::from_secs(s);
                let taken: Vec<Socket> = (0..100)
                    .map(|_| pool.take().unwrap_or_else(socket))
                    .collect();
                for socket in taken {
                    pool.keep(socket, now);
                }
                assert_eq!(pool.len(), 100, "second {s}");
            }
            // Then 10 at once: the 90 left over go after a whole period unused.
            for s in 60..130 {
                let now = t0 + Duration::from_secs(s);
                let taken: Vec<Socket> = (0..10).map(|_| pool.take().unwrap()).collect();
                for socket in taken {
                    pool.keep(socket, now);
                }
            }
            assert_eq!(pool.len(), 10);
            // One at a time from then on: the other nine go too.
            for s in 130..200 {
                let socket = pool.take().unwrap();
                pool.keep(socket, t0 + Duration::from_secs(s));
            }
            assert_eq!(pool.len(), 1, "one in use at a time");
        }

        /// A kept socket comes back unconnected, still closing with a reset and sending
        /// without Nagle's delay, and connects again.
        #[tokio::test]
        #[cfg(target_os = "linux")]
        async fn a_kept_socket_keeps_its_options() {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            let Ok(connected) = crate::sockets::connect(addr, deadline, true).await else {
                panic!("no connection to {addr}");
            };
            connected.reset(addr);
            let socket = take(Domain::IPV4).expect("kept");
            assert!(socket.peer_addr().is_err(), "unconnected");
            assert_eq!(socket.linger().unwrap(), Some(Duration::ZERO));
            assert!(socket.tcp_nodelay().unwrap());
            give_back(socket, Domain::IPV4);
            let Ok(again) = crate::sockets::connect(addr, deadline, true).await else {
                panic!("no second connection to {addr}");
            };
            assert!(matches!(again, crate::sockets::Connected::Now(_)));
        }

        /// No more than its cap are kept.
        #[test]
        fn the_pool_is_bounded() {
            let now = Instant::now();
            let mut pool = Pool::new(16);
            for _ in 0..20 {
                pool.keep(socket(), now);
            }
            assert_eq!(pool.len(), 16);
        }
    }
}
