//! Tickets that a device or a monitoring system sent, not a person: printers' and copiers'
//! alert and recovery mails, monitoring systems' problem and recovery notices, notices that say
//! they were generated automatically. They land in help desks by the hundred (a mailbox
//! forwarded to the queue), and a topic made of them is not something staff ask about: no
//! training or help page answers "device alert notification: add toner".
//!
//! A ticket is automated when its subject or the first [`OPENING`] words of its body hold one
//! of [`MARKERS`] (whole words, after [`super::taxonomy::terms`] normalisation, in the languages
//! the ingest reads), unless a person's hand shows: a reply or forward prefix on the subject, a
//! greeting among its first words, or a question.

use std::sync::LazyLock;

use super::boilerplate::is_greeting;
use super::taxonomy::terms;

/// Phrases only machine-written mail holds (English, French, German, Spanish).
pub const MARKERS: &[&str] = &[
    // Printers, copiers and their fleet software.
    "device alert notification",
    "device recovery report",
    "device status notification",
    "device status report",
    "alert notification",
    "supply alert",
    "consumable alert",
    // Monitoring: Nagios and Icinga ("** PROBLEM Service Alert: …"), Zabbix, PRTG, LibreNMS.
    "service alert",
    "host alert",
    "problem started at",
    "problem has been resolved",
    "prtg network monitor",
    "alert for device",
    // Backup and systems management consoles (Data Protection Manager, Operations Manager).
    "following alert occurred",
    "alert became inactive",
    "review the alert details",
    // Notices that say what they are.
    "automated message",
    "automated notification",
    "automated alert",
    "automated email",
    "automatic notification",
    "automatic alert",
    "automatically generated",
    "generated automatically",
    "auto generated",
    "system generated",
    "do not reply to this",
    "please do not reply",
    "message automatique",
    "notification automatique",
    "alerte automatique",
    "genere automatiquement",
    "ne pas repondre",
    "automatisch generiert",
    "automatisch erstellt",
    "automatische benachrichtigung",
    "automatische nachricht",
    "bitte nicht antworten",
    "mensaje automatico",
    "notificacion automatica",
    "generado automaticamente",
    "no responda a este",
];

/// Words of the body searched for a marker (within its first `8 × OPENING` bytes): notices say
/// what they are near the top, and a person quoting one further down is asking about it.
pub const OPENING: usize = 80;

/// How far into the text a greeting counts: among its first words, a person wrote it (a
/// device's notice may well say "please" or "thank you", but it does not say "hello").
const GREETING_WINDOW: usize = 20;

/// Subject prefixes of a person's reply or forward.
const REPLY_PREFIXES: &[&str] = &[
    "re", "fw", "fwd", "tr", "wg", "aw", "rv", "rif", "sv", "vs", "antw",
];

/// The markers as [`terms`].
static MARKER_TERMS: LazyLock<Vec<Vec<String>>> =
    LazyLock::new(|| MARKERS.iter().map(|m| terms(m)).collect());

/// Cheap first test, on the raw text (ASCII letters in either case): one without any of these
/// holds no marker. Nearly every ticket fails it in one pass over its opening, and only the
/// rest are normalised word by word.
static ANCHORS: LazyLock<aho_corasick::AhoCorasick> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        // A full DFA: one table lookup a byte, for the bytes of every ticket's opening.
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build([
            "alert",
            "notif",
            "recovery",
            "status report",
            "problem started",
            "problem has been",
            "prtg",
            "autom",
            "generated",
            "reply",
            "repond",
            "répond",
            "antwort",
            "responda",
        ])
        .expect("valid patterns")
});

/// The first `n` words of `text`, as a slice of it.
fn first_words(text: &str, n: usize) -> &str {
    match text.split_whitespace().take(n).last() {
        // The last word taken is a slice of `text`: the opening ends where it does.
        Some(w) => &text[..w.as_ptr() as usize - text.as_ptr() as usize + w.len()],
        None => "",
    }
}

/// Whether a device or a monitoring system wrote this ticket (see the module's doc).
pub fn is_automated(subject: &str, body: &str) -> bool {
    // The opening lies within the first 8 bytes a word; the first test looks at those bytes
    // without splitting the body into words.
    let mut head = body.len().min(OPENING * 8);
    while !body.is_char_boundary(head) {
        head -= 1;
    }
    if !ANCHORS.is_match(subject) && !ANCHORS.is_match(&body[..head]) {
        return false;
    }
    let opening = first_words(&body[..head], OPENING);
    let subject_words = terms(subject);
    let body_words = terms(opening);
    // A person's reply or forward of a notice, with their own words in it.
    let first = subject_words.first().or(body_words.first());
    if first.is_some_and(|w| REPLY_PREFIXES.contains(&w.as_str())) {
        return false;
    }
    if subject_words
        .iter()
        .chain(&body_words)
        .take(GREETING_WINDOW)
        .any(|w| is_greeting(w))
    {
        return false;
    }
    if opening.trim_end().ends_with('?') || subject.trim_end().ends_with('?') {
        return false;
    }
    let holds = |text: &[String]| {
        MARKER_TERMS
            .iter()
            .any(|m| text.windows(m.len()).any(|w| w == m.as_slice()))
    };
    holds(&subject_words) || holds(&body_words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_monitoring_systems_are_recognised() {
        for (subject, body) in [
            // Printers and copiers (the vendors' alert and recovery mails).
            (
                "Device Alert Notification: Add Toner (Magenta)",
                "Printer: Printing\nDetails: Low: Magenta Toner\nModel Name: MP C3004\nDevice Name: 2nd floor\nHost Name: RNP0026\n",
            ),
            (
                "",
                "device recovery report paper at internal path device recovery report path printer ready details copier ready",
            ),
            (
                "Supply alert - HP LaserJet M607 (Library)",
                "The black cartridge is very low. Part number CF237A.",
            ),
            // Monitoring systems.
            (
                "** PROBLEM Service Alert: sis-db/PostgreSQL is CRITICAL **",
                "***** Nagios *****\n\nNotification Type: PROBLEM\nService: PostgreSQL\nHost: sis-db\nState: CRITICAL",
            ),
            (
                "Problem: Free disk space is less than 10% on volume /",
                "Problem started at 07:58:12 on 2026.09.02\nProblem name: Free disk space is less than 10%\nHost: fileserver-02\nSeverity: Warning",
            ),
            (
                "Resolved in 5m: Zabbix agent is not available",
                "Problem has been resolved at 08:03:00 on 2026.09.02\nHost: lab-pc-14",
            ),
            (
                "[PRTG Network Monitor (SCHOOLNET)] Core switch Ping Down ENDED",
                "Ping 12 msec",
            ),
            (
                "Critical alert",
                "The following alert occurred:\nStatus: Active\nDescription: The tape in drive 2 failed.\nFor more information, open DPM Administrator Console and review the alert details in the Monitoring task area.",
            ),
            // Notices that say so, in the ingest's languages.
            (
                "Backup job 'Staff shares' finished with warnings",
                "Processed 1.2 TB. This is an automated message.",
            ),
            (
                "Quota de stockage",
                "Ce message automatique vous informe que la boîte de l'école est pleine à 95 %. Merci de ne pas répondre.",
            ),
            (
                "USV-Ereignis",
                "Automatisch generiert: Die USV im Serverraum läuft auf Batterie.",
            ),
            ("Aviso de impresora", "Mensaje automático: bandeja 2 vacía."),
        ] {
            assert!(is_automated(subject, body), "{subject} / {body}");
        }
    }

    #[test]
    fn the_opening_is_the_first_words_as_written() {
        assert_eq!(
            first_words("  one two\n three  four ", 3),
            "  one two\n three"
        );
        assert_eq!(first_words("one", 3), "one");
        assert_eq!(first_words(" \n ", 3), "");
        assert_eq!(first_words("é è ê", 2), "é è");
    }

    #[test]
    fn every_marker_passes_the_first_test() {
        for m in MARKERS {
            assert!(ANCHORS.is_match(m), "{m}");
            assert!(ANCHORS.is_match(&m.to_uppercase()), "{m}");
        }
    }

    #[test]
    fn people_writing_about_alerts_are_not_machines() {
        for (subject, body) in [
            // Asking about an alert, or about setting up automatic mail.
            (
                "Toner alert on the library printer",
                "Hi, the printer shows a toner alert but the cartridge is new. Thanks",
            ),
            ("How do I set up an automatic reply?", "I'm away next week."),
            (
                "Alert notification keeps popping up",
                "what does this mean?",
            ),
            // A person forwarding a notice.
            (
                "FW: Device Alert Notification: Paper jam",
                "Can someone come to room 114? It jammed again.\n\n---\nDevice Alert Notification\nPaper misfeed at tray 2",
            ),
            (
                "Re: ** PROBLEM Service Alert: web/HTTP is CRITICAL **",
                "Is this why the portal is down?",
            ),
            // A person quoting a notice further down their own message.
            (
                "Password expiry",
                "Hello, I got a mail saying my password expires. It said it was an automated message. Is it real?",
            ),
            // No marker at all.
            (
                "Projector in 204",
                "The projector in room 204 shows no signal from the HDMI cable.",
            ),
            (
                "Printer problems",
                "printer problems seems issues printing waiting sometimes print",
            ),
        ] {
            assert!(!is_automated(subject, body), "{subject} / {body}");
        }
    }
}
