//! Signed acknowledgement tokens: the `/ack/<token>` links in e-mails.
//!
//! A token is the URL-safe base64 (no padding) of
//! `version (1 byte) ‖ incident id (8 bytes, big-endian) ‖ expiry (8 bytes, Unix seconds,
//! big-endian) ‖ HMAC-SHA256(secret, "forewarn-ack" ‖ those 17 bytes)`.
//! Anyone holding the link can acknowledge that one incident until it expires; nothing else.
//!
//! The signer stores nothing. Tokens are single-use by policy of the server that accepts them:
//!
//! 1. `let verdict = signer.check(token, now)?` rejects malformed, forged and expired tokens;
//! 2. the server looks [`AckVerdict::token_id`] up in its own record of used tokens (a table
//!    or set keyed by that short id, kept until [`AckVerdict::expires_at`]) and answers
//!    [`token_reused`] when it is there;
//! 3. it calls `Monitor::acknowledge(verdict.incident_id, by, note)` and, on success,
//!    remembers the token id.
//!
//! ```
//! use forewarn::ack::AckSigner;
//! # fn main() -> forewarn::Result<()> {
//! let now = chrono::Utc::now();
//! let signer = AckSigner::new(b"a long random secret from the config")?;
//! let token = signer.sign(42, now + chrono::Duration::days(7));
//! assert_eq!(signer.verify(&token, now)?, 42);
//! # Ok(()) }
//! ```

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::clock::Zone;
use crate::config::Secret;
use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

const VERSION: u8 = 1;
const PAYLOAD_LEN: usize = 1 + 8 + 8;
const MAC_LEN: usize = 32;
const TOKEN_LEN: usize = PAYLOAD_LEN + MAC_LEN;
const DOMAIN: &[u8] = b"forewarn-ack";

/// Signs and verifies acknowledgement tokens with one secret. Its `Debug` never shows the
/// secret.
#[derive(Clone)]
pub struct AckSigner {
    key: Vec<u8>,
    /// The zone of times in its messages ("expired at …").
    zone: Zone,
}

impl fmt::Debug for AckSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AckSigner")
            .field("key", &"<redacted>")
            .finish()
    }
}

/// A token that passed [`AckSigner::check`]: signed with our secret and not expired.
/// Whether it was already used is for the caller to decide (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckVerdict {
    /// The incident it acknowledges.
    pub incident_id: i64,
    /// When it stops being valid; a record of its use may be dropped after this.
    pub expires_at: DateTime<Utc>,
    /// A short id of the token ([`token_id`]) to remember it as used.
    pub token_id: String,
}

impl AckSigner {
    /// A signer with `secret`; refused when shorter than [`MIN_SECRET_LEN`] bytes.
    pub fn new(secret: &[u8]) -> Result<Self> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(Error::invalid(
                "ack secret",
                format!(
                    "must be at least {MIN_SECRET_LEN} bytes long (got {}); use a long random value",
                    secret.len()
                ),
            ));
        }
        Ok(Self {
            key: secret.to_vec(),
            zone: Zone::system(),
        })
    }

    /// Shows times in its messages (when a link expired) in `zone`, the district's
    /// ([`Config::zone`](crate::Config::zone)), instead of the system's.
    pub fn with_zone(mut self, zone: Zone) -> Self {
        self.zone = zone;
        self
    }

    /// A signer with a configured secret (`${VAR}` is expanded from the environment).
    pub fn from_secret(secret: &Secret) -> Result<Self> {
        Self::new(secret.expose()?.as_bytes())
    }

    fn mac(&self, payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(DOMAIN);
        mac.update(payload);
        mac
    }

    /// A token acknowledging `incident_id` until `expires_at` (second precision).
    pub fn sign(&self, incident_id: i64, expires_at: DateTime<Utc>) -> String {
        let mut bytes = Vec::with_capacity(TOKEN_LEN);
        bytes.push(VERSION);
        bytes.extend_from_slice(&incident_id.to_be_bytes());
        bytes.extend_from_slice(&expires_at.timestamp().to_be_bytes());
        let tag = self.mac(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Checks `token` at `now`: rejects malformed, forged (constant-time comparison) and
    /// expired tokens with a message saying which.
    pub fn check(&self, token: &str, now: DateTime<Utc>) -> Result<AckVerdict> {
        let token = token.trim();
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| malformed("it is not URL-safe base64"))?;
        if bytes.len() != TOKEN_LEN {
            return Err(malformed(&format!(
                "it is {} bytes long, not {TOKEN_LEN}; was the link cut short?",
                bytes.len()
            )));
        }
        if bytes[0] != VERSION {
            return Err(malformed(&format!("unknown token version {}", bytes[0])));
        }
        let (payload, tag) = bytes.split_at(PAYLOAD_LEN);
        self.mac(payload).verify_slice(tag).map_err(|_| {
            Error::invalid(
                "ack token",
                "the signature does not match: the link was altered or signed with another secret",
            )
        })?;
        let incident_id = i64::from_be_bytes(payload[1..9].try_into().expect("8 bytes"));
        let expiry = i64::from_be_bytes(payload[9..17].try_into().expect("8 bytes"));
        if incident_id <= 0 {
            return Err(malformed("it names no incident"));
        }
        let expires_at = DateTime::<Utc>::from_timestamp(expiry, 0)
            .ok_or_else(|| malformed("its expiry is out of range"))?;
        if now >= expires_at {
            return Err(Error::invalid(
                "ack token",
                format!(
                    "the link for incident #{incident_id} expired at {}; acknowledge it from the status page or the command line",
                    self.zone.minute(expires_at)
                ),
            ));
        }
        Ok(AckVerdict {
            incident_id,
            expires_at,
            token_id: token_id(token),
        })
    }

    /// Like [`AckSigner::check`], returning only the incident id.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<i64> {
        self.check(token, now).map(|v| v.incident_id)
    }
}

fn malformed(why: &str) -> Error {
    Error::invalid("ack token", format!("malformed link: {why}"))
}

/// A short, stable id of a token (16 hex digits of its SHA-256), for remembering used tokens
/// without storing the tokens themselves.
pub fn token_id(token: &str) -> String {
    let digest = Sha256::digest(token.trim().as_bytes());
    hex::encode(&digest[..8])
}

/// The error a server answers for a token it has already accepted once.
pub fn token_reused(incident_id: i64) -> Error {
    Error::Conflict(format!(
        "this acknowledgement link for incident #{incident_id} was already used"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        "2026-09-01T08:00:00Z".parse().unwrap()
    }

    fn signer() -> AckSigner {
        AckSigner::new(b"0123456789abcdef-test-secret").unwrap()
    }

    fn message(e: Error) -> String {
        e.to_string()
    }

    #[test]
    fn round_trip() {
        let s = signer();
        let exp = t0() + chrono::Duration::hours(1);
        let token = s.sign(42, exp);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{token}"
        );
        let v = s.check(&token, t0()).unwrap();
        assert_eq!(v.incident_id, 42);
        assert_eq!(v.expires_at, exp);
        assert_eq!(v.token_id, token_id(&token));
        assert_eq!(v.token_id.len(), 16);
        assert_eq!(s.verify(&token, t0()).unwrap(), 42);
        // Deterministic: the same inputs give the same token.
        assert_eq!(token, s.sign(42, exp));
        assert_ne!(token_id(&token), token_id(&s.sign(43, exp)));
    }

    #[test]
    fn short_secrets_are_refused() {
        let e = message(AckSigner::new(b"too short").unwrap_err());
        assert!(e.contains("at least 16 bytes"), "{e}");
        assert!(AckSigner::new(&[7u8; 16]).is_ok());
    }

    #[test]
    fn secret_is_not_in_debug() {
        let s = signer();
        assert!(!format!("{s:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn expired_is_rejected() {
        let s = signer().with_zone(Zone::named("America/Chicago").unwrap());
        let exp = t0() + chrono::Duration::minutes(5);
        let token = s.sign(7, exp);
        assert!(s.verify(&token, exp - chrono::Duration::seconds(1)).is_ok());
        let e = message(s.verify(&token, exp).unwrap_err());
        assert!(e.contains("expired at 2026-09-01 03:05 CDT"), "{e}");
        assert!(e.contains("#7"), "{e}");
    }

    #[test]
    fn forged_is_rejected() {
        let s = signer();
        let token = s.sign(7, t0() + chrono::Duration::hours(1));
        // Another secret.
        let other = AckSigner::new(b"another secret of enough length").unwrap();
        let e = message(other.verify(&token, t0()).unwrap_err());
        assert!(e.contains("signature does not match"), "{e}");
        // The incident id changed, signature kept.
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        bytes[8] ^= 1;
        let e = message(s.verify(&URL_SAFE_NO_PAD.encode(&bytes), t0()).unwrap_err());
        assert!(e.contains("signature does not match"), "{e}");
        // The expiry pushed forward, signature kept.
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        bytes[12] = bytes[12].wrapping_add(1);
        let e = message(s.verify(&URL_SAFE_NO_PAD.encode(&bytes), t0()).unwrap_err());
        assert!(e.contains("signature does not match"), "{e}");
        // The signature itself altered.
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        *bytes.last_mut().unwrap() ^= 0x80;
        let e = message(s.verify(&URL_SAFE_NO_PAD.encode(&bytes), t0()).unwrap_err());
        assert!(e.contains("signature does not match"), "{e}");
    }

    #[test]
    fn malformed_is_rejected() {
        let s = signer();
        let token = s.sign(7, t0() + chrono::Duration::hours(1));
        let short = URL_SAFE_NO_PAD.encode(&URL_SAFE_NO_PAD.decode(&token).unwrap()[..40]);
        for (bad, why) in [
            ("not base64!", "not URL-safe base64"),
            ("", "0 bytes long"),
            (short.as_str(), "cut short"),
        ] {
            let e = message(s.verify(bad, t0()).unwrap_err());
            assert!(e.contains("malformed link"), "{bad}: {e}");
            assert!(e.contains(why), "{bad}: {e}");
        }
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        bytes[0] = 9;
        let e = message(s.verify(&URL_SAFE_NO_PAD.encode(&bytes), t0()).unwrap_err());
        assert!(e.contains("unknown token version 9"), "{e}");
        // A correctly signed token for no incident.
        let zero = s.sign(0, t0() + chrono::Duration::hours(1));
        let e = message(s.verify(&zero, t0()).unwrap_err());
        assert!(e.contains("names no incident"), "{e}");
    }

    #[test]
    fn reuse_message_is_clear() {
        let e = message(token_reused(7));
        assert!(e.contains("already used"), "{e}");
        assert!(matches!(token_reused(7), Error::Conflict(_)));
    }
}
