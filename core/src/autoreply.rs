//! The out-of-office auto-reply and the voicemail greeting of an outage.

use serde::{Deserialize, Serialize};

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
