//! A small SNMP client over snmp2: per-request timeout and retries (a timed-out session is
//! recreated, so a late reply cannot confuse the next request), GET of scalars, and column
//! walks by GETBULK with a GETNEXT fallback for v1 agents. Failures are named: an ICMP error
//! (port or host unreachable) is told apart from silence at once, and an SNMPv3 refusal by the
//! agent's report ([`super::usm`]).

use std::net::SocketAddr;
use std::time::Duration;

use snmp2::{AsyncSession, Value, v3};
use tokio::time::{Instant, timeout};

use super::mib::{Oid, SnmpValue, Varbinds};
use super::usm::{self, V3Failure};

/// Where and how to ask.
#[derive(Clone)]
pub struct Target {
    /// The agent's address.
    pub addr: SocketAddr,
    /// The credentials.
    pub auth: Auth,
    /// How long one request may take.
    pub request_timeout: Duration,
    /// How many times a request is repeated after a timeout.
    pub retries: u32,
    /// The largest GETBULK max-repetitions.
    pub max_repetitions: u32,
}

/// Credentials, already expanded. Never printed.
#[derive(Clone)]
pub enum Auth {
    /// SNMP v1 with a community.
    V1(Vec<u8>),
    /// SNMP v2c with a community.
    V2c(Vec<u8>),
    /// SNMP v3 (USM).
    V3(Box<v3::Security>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::V1(_) => "V1(<redacted>)",
            Auth::V2c(_) => "V2c(<redacted>)",
            Auth::V3(_) => "V3(<redacted>)",
        })
    }
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnmpError {
    /// Nothing came back, after this many tries.
    NoResponse {
        /// Requests sent.
        tries: u32,
    },
    /// The overall time budget ran out.
    Deadline,
    /// The agent's host answered with ICMP port unreachable: nothing listens on the port.
    Refused {
        /// The UDP port asked.
        port: u16,
    },
    /// The network answered with ICMP host or network unreachable.
    Unreachable(String),
    /// The SNMPv3 agent refused the request, or its answer failed the v3 checks: which.
    Auth(V3Failure),
    /// The socket could not be opened or used.
    Io(String),
    /// The agent answered with something unusable.
    Protocol(String),
}

impl std::fmt::Display for SnmpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnmpError::NoResponse { tries } => write!(
                f,
                "no SNMP response after {tries} {}",
                if *tries == 1 { "try" } else { "tries" }
            ),
            SnmpError::Deadline => f.write_str("the SNMP poll did not finish in time"),
            SnmpError::Refused { port } => {
                write!(f, "connection refused (nothing listening on udp/{port}?)")
            }
            SnmpError::Unreachable(what) => write!(f, "cannot reach the agent: {what}"),
            SnmpError::Auth(e) => e.fmt(f),
            SnmpError::Io(e) => write!(f, "cannot reach the agent: {e}"),
            SnmpError::Protocol(e) => write!(f, "unusable SNMP answer: {e}"),
        }
    }
}

/// One request.
enum Op<'a> {
    Get(&'a [Oid]),
    /// A GET of OIDs already encoded (a steady-state poll's cells).
    GetEncoded(&'a [snmp2::Oid<'static>]),
    GetNext(&'a Oid),
    GetBulk(&'a [Oid], u32),
}

/// A response: error status and varbinds, owned.
pub(crate) struct Response {
    pub(crate) error_status: u32,
    pub(crate) vars: Vec<(Oid, SnmpValue)>,
}

fn to_asn_oid(o: &[u32]) -> Result<snmp2::Oid<'static>, SnmpError> {
    let arcs: Vec<u64> = o.iter().map(|&a| u64::from(a)).collect();
    snmp2::Oid::from(&arcs).map_err(|_| SnmpError::Protocol("an OID cannot be encoded".into()))
}

/// The arcs of an OID from its BER content (base-128 subidentifiers; the first one holds two
/// arcs). `None` for an arc above `u32::MAX` or a truncated encoding.
fn from_asn_oid(o: &snmp2::Oid<'_>) -> Option<Oid> {
    decode_oid(o.as_bytes())
}

/// The arcs of an OID from its BER content.
pub(super) fn decode_oid(bytes: &[u8]) -> Option<Oid> {
    let mut out = Vec::with_capacity(bytes.len() + 1);
    let mut acc: u64 = 0;
    for &b in bytes {
        if acc > u64::from(u32::MAX) {
            return None;
        }
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if out.is_empty() {
                let (first, second) = if acc < 80 {
                    (acc / 40, acc % 40)
                } else {
                    (2, acc - 80)
                };
                out.push(u32::try_from(first).ok()?);
                out.push(u32::try_from(second).ok()?);
            } else {
                out.push(u32::try_from(acc).ok()?);
            }
            acc = 0;
        }
    }
    if bytes.last().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    Some(out)
}

fn owned(v: &Value<'_>) -> Option<SnmpValue> {
    Some(match v {
        Value::Integer(i) => SnmpValue::Integer(*i),
        Value::OctetString(b) | Value::Opaque(b) => SnmpValue::OctetString(b.to_vec()),
        Value::ObjectIdentifier(o) => SnmpValue::ObjectId(from_asn_oid(o)?),
        Value::Counter32(u) | Value::Unsigned32(u) | Value::Timeticks(u) => {
            SnmpValue::Unsigned(u64::from(*u))
        }
        Value::Counter64(u) => SnmpValue::Unsigned(*u),
        Value::IpAddress(a) => SnmpValue::IpAddress(*a),
        Value::EndOfMibView | Value::NoSuchObject | Value::NoSuchInstance => return None,
        _ => SnmpValue::Null,
    })
}

pub(crate) fn to_response(pdu: snmp2::Pdu<'_>) -> Response {
    Response {
        error_status: pdu.error_status,
        vars: pdu
            .varbinds
            .filter_map(|(o, v)| Some((from_asn_oid(&o)?, owned(&v).unwrap_or(SnmpValue::Null))))
            .collect(),
    }
}

/// The arcs of `o`, when every arc fits in 32 bits.
pub(super) fn arcs(o: &snmp2::Oid<'_>) -> Option<Oid> {
    from_asn_oid(o)
}

/// Whether the client can read `o` (every arc fits in 32 bits).
pub(super) fn decodes(o: &snmp2::Oid<'_>) -> bool {
    from_asn_oid(o).is_some()
}

/// An OID as snmp2 sends it (BER-encoded once, reused for every request).
pub fn encode_oid(o: &[u32]) -> Result<snmp2::Oid<'static>, SnmpError> {
    to_asn_oid(o)
}

/// An open SNMP session (socket, and for v3 the agent's engine state), kept between polls.
pub struct Session(AsyncSession);

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session")
    }
}

/// A session that survives timeouts by being recreated.
pub struct Client {
    target: Target,
    session: Option<AsyncSession>,
    deadline: Instant,
    /// Requests sent so far (for benches and tests).
    pub requests: u64,
    /// Sessions opened so far (0 while the session given to [`Client::new`] serves).
    pub sessions_opened: u32,
    bulk: bool,
}

impl Client {
    /// A client that gives up at `deadline`, reusing `session` (from [`Client::into_session`]
    /// after an earlier successful poll of the same agent) when given.
    pub fn new(target: Target, deadline: Instant, session: Option<Session>) -> Self {
        let bulk = !matches!(target.auth, Auth::V1(_));
        Self {
            target,
            session: session.map(|s| s.0),
            deadline,
            requests: 0,
            sessions_opened: 0,
            bulk,
        }
    }

    /// The session, to reuse for the next poll (none if the last request failed: a failed or
    /// timed-out session is never reused).
    pub fn into_session(self) -> Option<Session> {
        self.session.map(Session)
    }

    async fn open(&self) -> Result<AsyncSession, SnmpError> {
        let req_id = rand::random::<u16>() as i32 + 1;
        let io = |e: std::io::Error| SnmpError::Io(e.to_string());
        match &self.target.auth {
            Auth::V1(c) => AsyncSession::new_v1(self.target.addr, c, req_id)
                .await
                .map_err(io),
            Auth::V2c(c) => AsyncSession::new_v2c(self.target.addr, c, req_id)
                .await
                .map_err(io),
            Auth::V3(sec) => AsyncSession::new_v3(self.target.addr, req_id, (**sec).clone())
                .await
                .map_err(io),
        }
    }

    /// The time one try may take: the request timeout, cut to what is left.
    fn try_budget(&self) -> Result<Duration, SnmpError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(SnmpError::Deadline);
        }
        Ok(left.min(self.target.request_timeout))
    }

    async fn request(&mut self, op: &Op<'_>) -> Result<Response, SnmpError> {
        self.request_with(op, &mut to_response).await
    }

    /// Sends `op` (with the retries and timeouts) and hands the answer to `read`, which reads
    /// it in place, before the next request reuses the session's buffer.
    async fn request_with<R>(
        &mut self,
        op: &Op<'_>,
        read: &mut impl FnMut(snmp2::Pdu<'_>) -> R,
    ) -> Result<R, SnmpError> {
        let tries = self.target.retries + 1;
        let mut sent = 0;
        for _ in 0..tries {
            let budget = match self.try_budget() {
                Ok(b) => b,
                Err(e) if sent == 0 => return Err(e),
                Err(_) => break,
            };
            sent += 1;
            self.requests += 1;
            match timeout(budget, self.try_once(op, read)).await {
                Ok(Ok(r)) => return Ok(r),
                Ok(Err(Retry::No(e))) => {
                    self.session = None;
                    return Err(e);
                }
                Ok(Err(Retry::Yes)) => {
                    // A reply to an older request: nothing usable came.
                    self.session = None;
                }
                Ok(Err(Retry::Socket)) => {
                    // An ICMP error came back: a closed port is said at once.
                    self.session = None;
                    if let Some(e) = self.socket_error().await {
                        return Err(e);
                    }
                }
                Ok(Err(Retry::Usm(e))) => {
                    self.session = None;
                    return Err(SnmpError::Auth(self.v3_failure(&e).await));
                }
                Err(_) => {
                    // A late reply would confuse the next request: start afresh.
                    self.session = None;
                }
            }
        }
        Err(SnmpError::NoResponse { tries: sent })
    }

    /// What the socket says when a try failed with a socket error: a fresh socket to the
    /// agent sends an empty datagram and waits briefly for the ICMP answer. `None` when
    /// nothing tells (the answer did not come in time, or the port is open now).
    async fn socket_error(&self) -> Option<SnmpError> {
        let wait = self.try_budget().ok()?.min(ICMP_WAIT);
        let e = icmp_error(self.target.addr, wait).await?;
        Some(match e.kind() {
            std::io::ErrorKind::ConnectionRefused => SnmpError::Refused {
                port: self.target.addr.port(),
            },
            std::io::ErrorKind::HostUnreachable => {
                SnmpError::Unreachable("host unreachable".into())
            }
            std::io::ErrorKind::NetworkUnreachable => {
                SnmpError::Unreachable("network unreachable".into())
            }
            _ => SnmpError::Io(e.to_string()),
        })
    }

    /// Names a v3 refusal: the agent's report, from a repeat of the exchange that keeps it,
    /// else what snmp2 found wrong with the answer.
    async fn v3_failure(&self, e: &snmp2::Error) -> V3Failure {
        if let Auth::V3(sec) = &self.target.auth
            && let Ok(budget) = self.try_budget()
            && let Some(f) = usm::diagnose(self.target.addr, (**sec).clone(), budget).await
        {
            return f;
        }
        usm::from_snmp2(e)
    }

    async fn try_once<R>(
        &mut self,
        op: &Op<'_>,
        read: &mut impl FnMut(snmp2::Pdu<'_>) -> R,
    ) -> Result<R, Retry> {
        let v3 = matches!(self.target.auth, Auth::V3(_));
        if self.session.is_none() {
            self.sessions_opened += 1;
            let mut s = self.open().await.map_err(Retry::No)?;
            if v3 {
                s.init().await.map_err(|e| classify(e, v3))?;
            }
            self.session = Some(s);
        }
        let Some(session) = self.session.as_mut() else {
            return Err(Retry::No(SnmpError::Io("no session".into())));
        };
        let oids: Vec<snmp2::Oid<'static>> = match op {
            Op::Get(o) | Op::GetBulk(o, _) => o
                .iter()
                .map(|o| to_asn_oid(o))
                .collect::<Result<_, _>>()
                .map_err(Retry::No)?,
            Op::GetNext(o) => vec![to_asn_oid(o).map_err(Retry::No)?],
            Op::GetEncoded(_) => Vec::new(),
        };
        let refs: Vec<&snmp2::Oid<'_>> = match op {
            Op::GetEncoded(o) => o.iter().collect(),
            _ => oids.iter().collect(),
        };
        let mut result = match op {
            Op::Get(_) | Op::GetEncoded(_) => session.get_many(&refs).await,
            Op::GetNext(_) => session.getnext(refs[0]).await,
            Op::GetBulk(_, reps) => session.getbulk(&refs, 0, *reps).await,
        };
        // v3: the engine time moved; snmp2 asks for the request to be repeated once.
        if matches!(result, Err(snmp2::Error::AuthUpdated)) {
            result = match op {
                Op::Get(_) | Op::GetEncoded(_) => session.get_many(&refs).await,
                Op::GetNext(_) => session.getnext(refs[0]).await,
                Op::GetBulk(_, reps) => session.getbulk(&refs, 0, *reps).await,
            };
        }
        let pdu = result.map_err(|e| classify(e, v3))?;
        Ok(read(pdu))
    }

    /// GETs the already encoded `oids` in one request (no per-object fallback) and hands the
    /// answer's error status and varbinds to `read`, which reads them in place.
    pub async fn get_encoded<R>(
        &mut self,
        oids: &[snmp2::Oid<'static>],
        mut read: impl FnMut(u32, snmp2::Varbinds<'_>) -> R,
    ) -> Result<R, SnmpError> {
        self.request_with(&Op::GetEncoded(oids), &mut |pdu| {
            read(pdu.error_status, pdu.varbinds)
        })
        .await
    }

    /// GETs `oids` into `out`; objects the agent lacks are left out. v1 agents that refuse the
    /// whole request for one missing object are asked one object at a time.
    pub async fn get(&mut self, oids: &[Oid], out: &mut Varbinds) -> Result<(), SnmpError> {
        let r = self.request(&Op::Get(oids)).await?;
        if r.error_status == 0 {
            for (o, v) in r.vars {
                if v != SnmpValue::Null {
                    out.insert(o, v);
                }
            }
            return Ok(());
        }
        if oids.len() > 1 {
            for o in oids {
                let r = self.request(&Op::Get(std::slice::from_ref(o))).await?;
                if r.error_status == 0 {
                    for (o, v) in r.vars {
                        if v != SnmpValue::Null {
                            out.insert(o, v);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Walks every column in `columns` into `out`: GETBULK over all unfinished columns at once
    /// (v2c, v3), GETNEXT per column (v1, or agents that refuse GETBULK).
    pub async fn walk(&mut self, columns: &[Oid], out: &mut Varbinds) -> Result<(), SnmpError> {
        if self.bulk {
            match self.walk_bulk(columns, out).await {
                Ok(()) => return Ok(()),
                Err(WalkError::BulkRefused) => self.bulk = false,
                Err(WalkError::Snmp(e)) => return Err(e),
            }
        }
        for c in columns {
            self.walk_next(c, out).await?;
        }
        Ok(())
    }

    async fn walk_next(&mut self, column: &Oid, out: &mut Varbinds) -> Result<(), SnmpError> {
        let mut cursor = column.clone();
        for _ in 0..MAX_ROWS {
            let r = self.request(&Op::GetNext(&cursor)).await?;
            if r.error_status != 0 {
                return Ok(()); // v1 noSuchName: the end of the MIB.
            }
            let Some((o, v)) = r.vars.into_iter().next() else {
                return Ok(());
            };
            if !o.starts_with(column) || o <= cursor || v == SnmpValue::Null {
                return Ok(());
            }
            cursor = o.clone();
            out.insert(o, v);
        }
        Ok(())
    }

    async fn walk_bulk(&mut self, columns: &[Oid], out: &mut Varbinds) -> Result<(), WalkError> {
        // (column, cursor) of the columns still being walked.
        let mut active: Vec<(Oid, Oid)> = columns.iter().map(|c| (c.clone(), c.clone())).collect();
        let mut budget_vars = VARBINDS_PER_RESPONSE;
        let mut rounds = 0;
        while !active.is_empty() && rounds < MAX_ROWS {
            rounds += 1;
            let reps =
                (budget_vars / active.len()).clamp(1, self.target.max_repetitions.max(1) as usize);
            let cursors: Vec<Oid> = active.iter().map(|(_, c)| c.clone()).collect();
            let r = self
                .request(&Op::GetBulk(&cursors, reps as u32))
                .await
                .map_err(WalkError::Snmp)?;
            match r.error_status {
                0 => {}
                1 if budget_vars > active.len() => {
                    // tooBig: ask for less.
                    budget_vars = (budget_vars / 2).max(active.len());
                    continue;
                }
                _ => return Err(WalkError::BulkRefused),
            }
            if r.vars.is_empty() {
                return Err(WalkError::BulkRefused);
            }
            let n = active.len();
            let mut done = vec![false; n];
            let mut progressed = vec![false; n];
            for (k, (o, v)) in r.vars.into_iter().enumerate() {
                let i = k % n;
                if done[i] {
                    continue;
                }
                let (col, cursor) = &mut active[i];
                if !o.starts_with(col) || o <= *cursor || v == SnmpValue::Null {
                    done[i] = true;
                    continue;
                }
                *cursor = o.clone();
                progressed[i] = true;
                out.insert(o, v);
            }
            let mut i = 0;
            active.retain(|_| {
                let keep = !done[i] && progressed[i];
                i += 1;
                keep
            });
        }
        Ok(())
    }
}

/// Caps a walk (rows per column, or bulk rounds), against agents that never end.
const MAX_ROWS: usize = 2000;
/// Varbinds asked for per GETBULK response (snmpsim answers at most 64; small agents less).
const VARBINDS_PER_RESPONSE: usize = 48;

/// How long the socket diagnosis waits for an ICMP answer at most.
const ICMP_WAIT: Duration = Duration::from_millis(500);

/// The error a fresh socket connected to `addr` reports after sending it an empty datagram
/// (agents ignore it; a closed port answers with ICMP port unreachable), within `wait`.
async fn icmp_error(addr: SocketAddr, wait: Duration) -> Option<std::io::Error> {
    let local: SocketAddr = match addr {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let sock = tokio::net::UdpSocket::bind(local).await.ok()?;
    if let Err(e) = sock.connect(addr).await {
        return Some(e);
    }
    if let Err(e) = sock.send(&[]).await {
        return Some(e);
    }
    let mut buf = [0u8; 1];
    match timeout(wait, sock.recv(&mut buf)).await {
        Ok(Err(e)) => Some(e),
        _ => None,
    }
}

/// What to do after a failed try.
enum Retry {
    /// Repeat it (a late reply to an earlier request, new v3 engine times).
    Yes,
    /// The socket reported an error (an ICMP answer): find out which, else repeat.
    Socket,
    /// The v3 agent refused the request: name the refusal.
    Usm(snmp2::Error),
    /// Give up with this error.
    No(SnmpError),
}

enum WalkError {
    BulkRefused,
    Snmp(SnmpError),
}

/// What a failed try calls for. `v3`: a Report where a Response was due (snmp2's
/// `AsnWrongType`) is a refusal to name too.
fn classify(e: snmp2::Error, v3: bool) -> Retry {
    match e {
        snmp2::Error::AuthFailure(_) | snmp2::Error::Crypto(_) => Retry::Usm(e),
        snmp2::Error::AsnWrongType if v3 => Retry::Usm(e),
        // An ICMP answer (port or host unreachable) shows as a socket error.
        snmp2::Error::Send | snmp2::Error::Receive => Retry::Socket,
        // A late reply to an earlier request; new v3 engine boots or time.
        snmp2::Error::RequestIdMismatch | snmp2::Error::AuthUpdated => Retry::Yes,
        other => Retry::No(SnmpError::Protocol(format!("{other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_round_trip_through_ber() {
        for arcs in [
            vec![1u32, 3, 6, 1, 2, 1, 43, 11, 1, 1, 9, 1, 15],
            vec![1, 3, 6, 1, 4, 1, 11, 2, 3, 9, 1, 2, 76, 5],
            vec![1, 3, 6, 1, 4, 1, 4_294_967_295],
        ] {
            let asn = to_asn_oid(&arcs).unwrap();
            assert_eq!(decode_oid(asn.as_bytes()), Some(arcs.clone()));
            assert_eq!(from_asn_oid(&asn), Some(arcs));
        }
        // 2.999.3: the first subidentifier is 999 + 80 = 1079 = 0x88 0x37.
        assert_eq!(decode_oid(&[0x88, 0x37, 0x03]), Some(vec![2, 999, 3]));
        assert_eq!(decode_oid(&[0x00]), Some(vec![0, 0]));
        assert_eq!(decode_oid(&[0x2b, 0x86]), None, "truncated");
        assert_eq!(
            decode_oid(&[0x2b, 0x90, 0x80, 0x80, 0x80, 0x80, 0x01]),
            None,
            "too big"
        );
        assert_eq!(decode_oid(&[]), Some(vec![]));
    }
}
