//! Naming SNMPv3 refusals. An agent that refuses a v3 request says why in a Report PDU whose
//! one varbind is the counter of that failure (RFC 3414 usmStats…, RFC 3412 snmp…): an unknown
//! user name, a wrong digest, a decryption error, an unsupported security level, a message
//! outside the time window, an unknown engine ID or context. snmp2 reads every such report as
//! "not authenticated" and drops it, so when a v3 request fails that way the exchange is
//! repeated once, by snmp2 itself, through a relay on the loopback interface that keeps the
//! agent's answers; the report among them names the failure, the way net-snmp names it.
//!
//! Reports are never encrypted (RFC 3412 §7.1.3: they go out at noAuthNoPriv, or authNoPriv for
//! notInTimeWindow), so reading one needs no key. Nothing here prints a key or a community.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use snmp2::{AsyncSession, v3};
use tokio::net::UdpSocket;
use tokio::time::timeout;

use super::mib::{Oid, SYS_UPTIME};

/// Why an SNMPv3 request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum V3Failure {
    /// usmStatsUnknownUserNames: the agent has no such user.
    UnknownUserName,
    /// usmStatsWrongDigests: the digest did not match (auth password or protocol).
    WrongDigest,
    /// usmStatsDecryptionErrors: the agent could not decrypt (privacy password or protocol).
    DecryptionError,
    /// usmStatsUnsupportedSecLevels: the user is set up for another security level.
    UnsupportedSecurityLevel,
    /// usmStatsNotInTimeWindows: the engine boots or time did not match.
    NotInTimeWindow,
    /// usmStatsUnknownEngineIDs: the agent does not know the engine ID the request named.
    UnknownEngineId,
    /// snmpUnknownContexts: no such context on the agent.
    UnknownContext,
    /// snmpUnavailableContexts: the context exists but cannot be served now.
    UnavailableContext,
    /// snmpUnknownSecurityModels: the agent does not do USM.
    UnknownSecurityModel,
    /// snmpInvalidMsgs: the agent found the message inconsistent.
    InvalidMessage,
    /// snmpUnknownPDUHandlers: the agent has no handler for the request.
    UnknownPduHandler,
    /// Another report, by its OID.
    Report(String),
    /// No report was seen; the answer failed this client's own check (what it found).
    Answer(String),
}

impl std::fmt::Display for V3Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownUserName => {
                f.write_str("SNMPv3 unknown user name (usmStatsUnknownUserNames): check user")
            }
            Self::WrongDigest => f.write_str(
                "SNMPv3 authentication failure (usmStatsWrongDigests): check auth_password and \
                 auth_protocol",
            ),
            Self::DecryptionError => f.write_str(
                "SNMPv3 decryption error (usmStatsDecryptionErrors): check privacy_password and \
                 privacy_protocol",
            ),
            Self::UnsupportedSecurityLevel => f.write_str(
                "SNMPv3 unsupported security level (usmStatsUnsupportedSecLevels): the agent \
                 wants this user with or without privacy otherwise",
            ),
            Self::NotInTimeWindow => f.write_str(
                "SNMPv3 not in time window (usmStatsNotInTimeWindows): the agent's engine boots \
                 or time did not match",
            ),
            Self::UnknownEngineId => {
                f.write_str("SNMPv3 unknown engine ID (usmStatsUnknownEngineIDs)")
            }
            Self::UnknownContext => {
                f.write_str("SNMPv3 unknown context (snmpUnknownContexts): check context")
            }
            Self::UnavailableContext => {
                f.write_str("SNMPv3 unavailable context (snmpUnavailableContexts)")
            }
            Self::UnknownSecurityModel => {
                f.write_str("SNMPv3 unknown security model (snmpUnknownSecurityModels)")
            }
            Self::InvalidMessage => f.write_str("SNMPv3 invalid message (snmpInvalidMsgs)"),
            Self::UnknownPduHandler => {
                f.write_str("SNMPv3 unknown PDU handler (snmpUnknownPDUHandlers)")
            }
            Self::Report(oid) => write!(f, "SNMPv3 request refused with report {oid}"),
            Self::Answer(what) => write!(f, "SNMPv3 answer not accepted: {what}"),
        }
    }
}

/// The report counters (without the trailing `.0`) and what they name.
const REPORTS: &[(&[u32], V3Failure)] = &[
    (
        &[1, 3, 6, 1, 6, 3, 15, 1, 1, 1],
        V3Failure::UnsupportedSecurityLevel,
    ),
    (&[1, 3, 6, 1, 6, 3, 15, 1, 1, 2], V3Failure::NotInTimeWindow),
    (&[1, 3, 6, 1, 6, 3, 15, 1, 1, 3], V3Failure::UnknownUserName),
    (&[1, 3, 6, 1, 6, 3, 15, 1, 1, 4], V3Failure::UnknownEngineId),
    (&[1, 3, 6, 1, 6, 3, 15, 1, 1, 5], V3Failure::WrongDigest),
    (&[1, 3, 6, 1, 6, 3, 15, 1, 1, 6], V3Failure::DecryptionError),
    (
        &[1, 3, 6, 1, 6, 3, 11, 2, 1, 1],
        V3Failure::UnknownSecurityModel,
    ),
    (&[1, 3, 6, 1, 6, 3, 11, 2, 1, 2], V3Failure::InvalidMessage),
    (
        &[1, 3, 6, 1, 6, 3, 11, 2, 1, 3],
        V3Failure::UnknownPduHandler,
    ),
    (&[1, 3, 6, 1, 6, 3, 12, 1, 4], V3Failure::UnavailableContext),
    (&[1, 3, 6, 1, 6, 3, 12, 1, 5], V3Failure::UnknownContext),
];

/// What a report's OID names.
pub fn failure_of_report(oid: &[u32]) -> V3Failure {
    let counter = oid.strip_suffix(&[0]).unwrap_or(oid);
    REPORTS
        .iter()
        .find(|(o, _)| *o == counter)
        .map(|(_, f)| f.clone())
        .unwrap_or_else(|| V3Failure::Report(super::mib::format_oid(oid)))
}

/// One BER TLV: tag, content, the rest. Definite lengths only (up to four length octets).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OBJECT_IDENTIFIER: u8 = 0x06;
const REPORT_PDU: u8 = 0xa8;

/// The OID of the first varbind of an SNMPv3 message, when the message is a plaintext Report.
pub fn report_oid(message: &[u8]) -> Option<Oid> {
    let (tag, msg, _) = tlv(message)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, version, rest) = tlv(msg)?;
    if tag != INTEGER || version != [3] {
        return None;
    }
    let (tag, _global, rest) = tlv(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, _security, rest) = tlv(rest)?;
    if tag != OCTET_STRING {
        return None;
    }
    // An encrypted scopedPDU is an OCTET STRING: not a report.
    let (tag, scoped, _) = tlv(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (_, _context_engine, rest) = tlv(scoped)?;
    let (_, _context_name, rest) = tlv(rest)?;
    let (tag, pdu, _) = tlv(rest)?;
    if tag != REPORT_PDU {
        return None;
    }
    let (_, _request_id, rest) = tlv(pdu)?;
    let (_, _error_status, rest) = tlv(rest)?;
    let (_, _error_index, rest) = tlv(rest)?;
    let (tag, varbinds, _) = tlv(rest)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, varbind, _) = tlv(varbinds)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, oid, _) = tlv(varbind)?;
    if tag != OBJECT_IDENTIFIER {
        return None;
    }
    super::snmp::decode_oid(oid)
}

/// The failure the agent's reports name: the last report of the exchange, leaving out the
/// unknown-engine-ID report that answers engine discovery (the first message of every
/// exchange).
fn named_by(reports: &[V3Failure]) -> Option<V3Failure> {
    let rest = match reports.split_first() {
        Some((V3Failure::UnknownEngineId, rest)) => rest,
        _ => reports,
    };
    rest.last().cloned()
}

/// Repeats a v3 exchange (engine discovery and a GET of sysUpTime) with `security` against
/// `agent` through a relay that keeps the agent's reports, within `budget`, and returns the
/// failure they name. `None` when the agent sent no report (the exchange worked this time, or
/// nothing came back).
pub async fn diagnose(
    agent: SocketAddr,
    security: v3::Security,
    budget: Duration,
) -> Option<V3Failure> {
    let relay = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.ok()?;
    let relay_addr = relay.local_addr().ok()?;
    let upstream = match agent {
        SocketAddr::V4(_) => UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await.ok()?,
        SocketAddr::V6(_) => UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).await.ok()?,
    };
    upstream.connect(agent).await.ok()?;
    let req_id = rand::random::<u16>() as i32 + 1;
    let mut session = AsyncSession::new_v3(relay_addr, req_id, security)
        .await
        .ok()?;
    let oid =
        snmp2::Oid::from(&SYS_UPTIME.iter().map(|&a| u64::from(a)).collect::<Vec<_>>()).ok()?;
    let mut reports: Vec<V3Failure> = Vec::new();
    {
        let exchange = async {
            session.init().await?;
            match session.get(&oid).await {
                // The engine time moved: snmp2 asks for the request once more.
                Err(snmp2::Error::AuthUpdated) => session.get(&oid).await.map(|_| ()),
                other => other.map(|_| ()),
            }
        };
        let pump = async {
            let mut from_session = vec![0u8; 65_536];
            let mut from_agent = vec![0u8; 65_536];
            let mut client: Option<SocketAddr> = None;
            loop {
                tokio::select! {
                    r = relay.recv_from(&mut from_session) => {
                        let Ok((n, peer)) = r else { continue };
                        // Only the session's own socket is relayed.
                        if *client.get_or_insert(peer) != peer {
                            continue;
                        }
                        let _ = upstream.send(&from_session[..n]).await;
                    }
                    r = upstream.recv(&mut from_agent) => {
                        // An ICMP error comes back as a receive error: the session times out.
                        let Ok(n) = r else { continue };
                        if let Some(oid) = report_oid(&from_agent[..n]) {
                            reports.push(failure_of_report(&oid));
                        }
                        if let Some(peer) = client {
                            let _ = relay.send_to(&from_agent[..n], peer).await;
                        }
                    }
                }
            }
        };
        tokio::pin!(exchange, pump);
        let _ = timeout(budget, async {
            tokio::select! {
                r = &mut exchange => r.err(),
                () = &mut pump => None,
            }
        })
        .await;
    }
    named_by(&reports)
}

/// What snmp2's own refusal of an answer says, when no report named the failure.
pub fn from_snmp2(e: &snmp2::Error) -> V3Failure {
    use v3::AuthErrorKind as K;
    match e {
        snmp2::Error::AuthFailure(K::EngineTimeMismatch | K::EngineBootsMismatch) => {
            V3Failure::NotInTimeWindow
        }
        snmp2::Error::AuthFailure(K::SignatureMismatch) => V3Failure::Answer(
            "its digest does not match: check auth_password and auth_protocol".into(),
        ),
        snmp2::Error::AuthFailure(K::EngineIdMismatch) => {
            V3Failure::Answer("it came from another engine ID than before".into())
        }
        snmp2::Error::AuthFailure(K::UsernameMismatch) => {
            V3Failure::Answer("it names another user".into())
        }
        snmp2::Error::AuthFailure(K::ReplyNotEncrypted) => {
            V3Failure::Answer("it is not encrypted though privacy was asked for".into())
        }
        snmp2::Error::AuthFailure(K::UnsupportedUSM) => V3Failure::UnknownSecurityModel,
        snmp2::Error::AuthFailure(K::KeyExtensionRequired) => V3Failure::Answer(
            "this privacy protocol needs a longer key than the auth protocol makes".into(),
        ),
        snmp2::Error::AuthFailure(K::NotAuthenticated) => {
            V3Failure::Answer("it is not authenticated (the agent refused the request)".into())
        }
        snmp2::Error::AuthFailure(k) => V3Failure::Answer(k.to_string().to_lowercase()),
        snmp2::Error::Crypto(_) => V3Failure::Answer(
            "it cannot be decrypted: check privacy_password and privacy_protocol".into(),
        ),
        snmp2::Error::AsnWrongType => {
            V3Failure::Answer("a report came instead of a response".into())
        }
        other => V3Failure::Answer(other.to_string().to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if body.len() < 128 {
            out.push(body.len() as u8);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(body);
        out
    }

    /// A v3 Report message (as net-snmp and pysnmp send them) with the varbind `oid` = 7.
    fn report(oid: &[u32], encrypted: bool) -> Vec<u8> {
        let oid_ber = crate::probe::printer::snmp::encode_oid(oid).unwrap();
        let varbind = der(
            0x30,
            &[der(0x06, oid_ber.as_bytes()), der(0x41, &[7])].concat(),
        );
        let pdu = der(
            REPORT_PDU,
            &[
                der(0x02, &[0x12, 0x34]),
                der(0x02, &[0]),
                der(0x02, &[0]),
                der(0x30, &varbind),
            ]
            .concat(),
        );
        let scoped = der(
            0x30,
            &[der(0x04, b"\x80\x00\x1f\x88\x04"), der(0x04, b""), pdu].concat(),
        );
        let global = der(
            0x30,
            &[
                der(0x02, &[0x12, 0x34]),
                der(0x02, &[0x05, 0xdc]),
                der(0x04, &[0]),
                der(0x02, &[3]),
            ]
            .concat(),
        );
        let data = if encrypted {
            der(0x04, &scoped)
        } else {
            scoped
        };
        der(
            0x30,
            &[der(0x02, &[3]), global, der(0x04, &der(0x30, &[])), data].concat(),
        )
    }

    #[test]
    fn reports_are_named() {
        let cases = [
            ("1.3.6.1.6.3.15.1.1.3.0", V3Failure::UnknownUserName),
            ("1.3.6.1.6.3.15.1.1.5.0", V3Failure::WrongDigest),
            ("1.3.6.1.6.3.15.1.1.6.0", V3Failure::DecryptionError),
            (
                "1.3.6.1.6.3.15.1.1.1.0",
                V3Failure::UnsupportedSecurityLevel,
            ),
            ("1.3.6.1.6.3.15.1.1.2.0", V3Failure::NotInTimeWindow),
            ("1.3.6.1.6.3.15.1.1.4.0", V3Failure::UnknownEngineId),
            ("1.3.6.1.6.3.12.1.5.0", V3Failure::UnknownContext),
            ("1.3.6.1.6.3.11.2.1.3.0", V3Failure::UnknownPduHandler),
            (
                "1.3.6.1.4.1.9.9.1.0",
                V3Failure::Report("1.3.6.1.4.1.9.9.1.0".into()),
            ),
        ];
        for (oid, failure) in cases {
            let oid = crate::probe::printer::mib::parse_oid(oid).unwrap();
            let msg = report(&oid, false);
            assert_eq!(report_oid(&msg), Some(oid.clone()));
            assert_eq!(failure_of_report(&oid), failure);
            assert_eq!(report_oid(&report(&oid, true)), None, "encrypted");
        }
        // Truncated or other messages are no reports, and nothing panics.
        let msg = report(&[1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0], false);
        for n in 0..msg.len() {
            assert_eq!(report_oid(&msg[..n]), None, "{n}");
        }
        assert_eq!(report_oid(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }

    #[test]
    fn the_discovery_report_is_not_the_failure() {
        use V3Failure::*;
        assert_eq!(named_by(&[UnknownEngineId, WrongDigest]), Some(WrongDigest));
        assert_eq!(named_by(&[UnknownEngineId]), None);
        assert_eq!(
            named_by(&[UnknownEngineId, UnknownEngineId]),
            Some(UnknownEngineId)
        );
        assert_eq!(named_by(&[UnknownUserName]), Some(UnknownUserName));
        assert_eq!(named_by(&[]), None);
    }

    #[test]
    fn every_failure_reads_distinctly() {
        let all = [
            V3Failure::UnknownUserName,
            V3Failure::WrongDigest,
            V3Failure::DecryptionError,
            V3Failure::UnsupportedSecurityLevel,
            V3Failure::NotInTimeWindow,
            V3Failure::UnknownEngineId,
            V3Failure::UnknownContext,
            V3Failure::UnavailableContext,
            V3Failure::UnknownSecurityModel,
            V3Failure::InvalidMessage,
            V3Failure::UnknownPduHandler,
        ];
        let texts: std::collections::BTreeSet<String> =
            all.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), all.len());
        assert_eq!(
            from_snmp2(&snmp2::Error::AuthFailure(
                v3::AuthErrorKind::EngineTimeMismatch
            )),
            V3Failure::NotInTimeWindow
        );
    }
}
