//! Outage responders: what forewarn switches on outside itself while a user-facing service is
//! down, and puts back when the last affected service recovers.
//!
//! - [`SieveAutoReply`] (`type = "sieve"`): an out-of-office reply on the help-desk mailbox,
//!   installed over ManageSieve (RFC 5804) as a Sieve `vacation` script (RFC 5230) that keeps
//!   the mailbox's own rules running (`include`, RFC 6609) and remembers which script to make
//!   active again.
//! - [`Voicemail`] (`type = "voicemail"`): the help-desk phone's greeting, spoken by espeak-ng
//!   and written as the 8 kHz mono 16-bit PCM WAV that Asterisk and most PBXs play; the
//!   district's normal greeting is put back byte for byte afterwards.
//!
//! Both say the same [`OutageMessage`] as the status page. Both are idempotent and keep what
//! they must restore outside forewarn's memory (in the script, in a file beside the greeting),
//! so [`OutageResponder::apply`] may be called again with the same value, or after a restart,
//! without doing anything twice or forgetting what to put back.
//!
//! In the configuration they are `[responders.NAME]` sections, selected by `type`:
//!
//! ```toml
//! [responders.helpdesk-mail]
//! type = "sieve"
//! host = "mail.district.example"     # ManageSieve server (Dovecot Pigeonhole, Cyrus, Stalwart…)
//! port = 4190                        # the default
//! tls = "starttls"                   # the default; "implicit"; "none" only for this machine
//! username = "helpdesk"
//! password = "${FOREWARN_HELPDESK_SIEVE_PASSWORD}"
//! script = "forewarn-outage"         # the default
//! addresses = ["helpdesk@district.example", "support@district.example"]
//! days = 1                           # one reply per sender and day (the default)
//! from = "District help desk <helpdesk@district.example>"
//! timeout = "10s"                    # per operation (the default)
//!
//! [responders.helpdesk-phone]
//! type = "voicemail"
//! path = "/var/lib/asterisk/sounds/custom/helpdesk-greeting.wav"
//! normal = "/var/lib/asterisk/sounds/custom/helpdesk-greeting-normal.wav"
//! voice = "en-us"                    # the default
//! words_per_minute = 150             # the default
//! ```
//!
//! ```no_run
//! use forewarn::autoreply::{OutageMessage, ResponderConfig};
//!
//! # async fn demo() -> forewarn::Result<()> {
//! let config: ResponderConfig = toml::from_str(
//!     r#"
//!     type = "voicemail"
//!     path = "/var/lib/asterisk/sounds/custom/helpdesk-greeting.wav"
//!     "#,
//! )
//! .expect("valid TOML");
//! let phone = config.build("helpdesk-phone")?;
//! let message = OutageMessage {
//!     subject: "Known outage: Student Information System".into(),
//!     body: "We know the Student Information System is down and are working on it.".into(),
//!     spoken: "We know the Student Information System is down. We are working on it.".into(),
//! };
//! phone.apply(Some(&message)).await?; // the outage greeting is on
//! phone.apply(None).await?; // the normal greeting is back
//! # Ok(()) }
//! ```

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub(crate) mod managesieve;
pub mod sieve;
pub mod voicemail;

pub use managesieve::SieveTls;
pub use sieve::{SieveAutoReply, SieveAutoReplyConfig};
pub use voicemail::{Voicemail, VoicemailConfig};

/// The words of the current outage message: the same text on the status page, in the e-mail
/// auto-reply and on the voicemail.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OutageMessage {
    /// Subject of the auto-reply ("Known outage: Student Information System").
    pub subject: String,
    /// Plain-text body of the auto-reply.
    pub body: String,
    /// What the voicemail says (no URLs or symbols; plain sentences).
    pub spoken: String,
}

/// Something outside forewarn switched on during an outage and back off after it.
#[async_trait]
pub trait OutageResponder: Send + Sync + Debug {
    /// Makes the outside world match `message`: `Some` → the outage response is active with
    /// exactly this text; `None` → the normal state is back. Idempotent: safe to call again with
    /// the same value, and after a restart of forewarn (it looks at what is installed instead of
    /// trusting memory), never duplicating and never forgetting what it must restore.
    async fn apply(&self, message: Option<&OutageMessage>) -> Result<()>;

    /// Checks it can act (server reachable and login accepted; tool present, folder writable).
    async fn healthcheck(&self) -> Result<()>;
}

/// The configuration of a built-in responder, selected by its `type` key (a
/// `[responders.NAME]` section).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ResponderConfig {
    /// An out-of-office e-mail reply installed over ManageSieve.
    Sieve(SieveAutoReplyConfig),
    /// A voicemail greeting spoken by espeak-ng into a WAV file.
    Voicemail(VoicemailConfig),
}

impl ResponderConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        match self {
            ResponderConfig::Sieve(c) => c.validate(),
            ResponderConfig::Voicemail(c) => c.validate(),
        }
    }

    /// Builds the responder named `name`.
    pub fn build(&self, name: &str) -> Result<Arc<dyn OutageResponder>> {
        Ok(match self {
            ResponderConfig::Sieve(c) => Arc::new(c.build(name)?),
            ResponderConfig::Voicemail(c) => Arc::new(c.build(name)?),
        })
    }
}

impl OutageMessage {
    /// Checks that the parts a responder uses are there: `what` names the responder.
    pub(crate) fn check(&self, what: &str, parts: &[(&str, &str)]) -> Result<()> {
        for (part, text) in parts {
            if text.trim().is_empty() {
                return Err(Error::invalid(
                    format!("outage message for responder `{what}`"),
                    format!("`{part}` is empty"),
                ));
            }
        }
        Ok(())
    }
}
