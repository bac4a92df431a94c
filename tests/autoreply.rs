//! The outage responders against real peers: the `sieve` auto-reply against a private Dovecot
//! with Pigeonhole (ManageSieve over STARTTLS with SASL PLAIN, mail delivered over LMTP, the
//! vacation replies caught by aiosmtpd), and the `voicemail` greeting rendered by espeak-ng.
//!
//! Dovecot and espeak-ng are Debian packages (scripts/test.sh installs them); aiosmtpd comes
//! from PyPI. When one is missing the tests that need it are skipped with the reason, except
//! with `CI=true`, where they fail.

#[path = "support/dovecot.rs"]
mod dovecot;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/voicemail.rs"]
mod voicemail;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dovecot::{ADDRESS, Dovecot, PASSWORD};
use forewarn::autoreply::{OutageMessage, OutageResponder, ResponderConfig};
use smtp::{Kind, Smtp};

/// The mailbox's own rules: mail from schools is filed into "Schools".
const USER_RULES: &str = "require [\"fileinto\"];\r\n\
     if address :domain :is \"from\" \"school.example\" {\r\n\
       fileinto \"Schools\";\r\n\
     }\r\n";

fn outage() -> OutageMessage {
    OutageMessage {
        subject: "Known outage: Student Information System".into(),
        body: "We know the Student Information System is down and are working on it.\n\
               .\n\
               Meanwhile, take attendance on paper: \"Form B\" in C:\\Forms.\n"
            .into(),
        spoken: "We know the Student Information System is down. We are working on it.".into(),
    }
}

fn mail(from: &str, subject: &str) -> String {
    format!(
        "From: {from}\r\nTo: {ADDRESS}\r\nSubject: {subject}\r\n\
         Message-ID: <{}@school.example>\r\nDate: Tue, 1 Sep 2026 08:00:00 +0000\r\n\r\n\
         The grades page does not open.\r\n",
        subject.replace(' ', "-")
    )
}

/// One message stored by aiosmtpd: its headers and its body.
struct Stored {
    headers: Vec<(String, String)>,
    body: String,
}

impl Stored {
    fn header(&self, name: &str) -> Option<&str> {
        smtp::header(&self.headers, name)
    }
}

fn stored(smtp: &Smtp) -> Vec<Stored> {
    smtp.files()
        .into_iter()
        .map(|p| {
            let raw = std::fs::read_to_string(p).unwrap().replace("\r\n", "\n");
            let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
            let mut headers: Vec<(String, String)> = Vec::new();
            for line in head.lines() {
                if line.starts_with([' ', '\t']) {
                    let last = headers.last_mut().unwrap();
                    last.1.push(' ');
                    last.1.push_str(line.trim());
                } else if let Some((k, v)) = line.split_once(':') {
                    headers.push((k.trim().to_owned(), v.trim().to_owned()));
                }
            }
            Stored {
                headers,
                body: body.to_owned(),
            }
        })
        .collect()
}

/// Waits up to `limit` for `n` stored messages.
fn wait_stored(smtp: &Smtp, n: usize, limit: Duration) -> Vec<Stored> {
    let deadline = Instant::now() + limit;
    loop {
        let m = stored(smtp);
        if m.len() >= n || Instant::now() > deadline {
            return m;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start_peers() -> Option<(Smtp, Dovecot)> {
    let smtp = Smtp::start_or_skip(Kind::Plain { max_size: None })?;
    match Dovecot::start(smtp.port) {
        Ok(dovecot) => Some((smtp, dovecot)),
        Err(reason) => {
            smtp::skip::skip("Dovecot with Pigeonhole (ManageSieve, LMTP, Sieve)", reason);
            None
        }
    }
}

fn inode(path: &Path) -> (u64, std::time::SystemTime) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).unwrap();
    (m.ino(), m.modified().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sieve_reply_runs_during_the_outage_keeps_the_users_rules_and_is_put_back() {
    let Some((smtp, d)) = start_peers() else {
        return;
    };
    let mut admin = d.sieve();
    admin.put("roundcube", USER_RULES);
    admin.activate("roundcube");

    let responder = d.responder_config(PASSWORD).build("helpdesk-mail").unwrap();
    responder.healthcheck().await.unwrap();
    let message = outage();
    responder.apply(Some(&message)).await.unwrap();
    assert_eq!(
        admin.list(),
        vec![
            ("forewarn-outage".to_owned(), true),
            ("roundcube".to_owned(), false)
        ]
    );
    let installed = admin.get("forewarn-outage");
    assert!(
        installed.contains("# forewarn-previous-active: \"roundcube\""),
        "{installed}"
    );
    assert!(
        installed.contains("include :personal :optional \"roundcube\";"),
        "Pigeonhole offers include: {installed}"
    );
    // forewarn's connections (the health check, the apply) were upgraded with STARTTLS before
    // logging in; the only plain one is this test's own set-up session.
    let log = d.log_text();
    let logins: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("managesieve-login: Info: Login: user=<helpdesk>, method=PLAIN"))
        .collect();
    assert_eq!(
        logins.iter().filter(|l| l.contains(", TLS,")).count(),
        2,
        "{logins:#?}"
    );
    assert_eq!(logins.len(), 3, "{logins:#?}");

    // A teacher writes: one auto-reply with the outage text, and the mailbox's own rule still
    // files the message.
    d.deliver(
        "teacher@school.example",
        ADDRESS,
        &mail("Teacher <teacher@school.example>", "grades page"),
    );
    let replies = wait_stored(&smtp, 1, Duration::from_secs(10));
    assert_eq!(replies.len(), 1, "one auto-reply");
    let reply = &replies[0];
    assert_eq!(reply.header("Subject"), Some(message.subject.as_str()));
    assert_eq!(reply.header("X-RcptTo"), Some("teacher@school.example"));
    assert!(
        reply.header("From").unwrap().contains(ADDRESS),
        "{:?}",
        reply.header("From")
    );
    assert_eq!(
        reply.header("Auto-Submitted"),
        Some("auto-replied (vacation)")
    );
    assert_eq!(
        reply.body.trim_end(),
        message.body.trim_end(),
        "the body comes back exactly (the dot line un-stuffed, quotes and backslashes kept)"
    );
    assert_eq!(d.mailbox("Schools").len(), 1, "the user's rule filed it");
    assert_eq!(d.mailbox("").len(), 0, "nothing left in the inbox");

    // The same sender again: no second reply within `days`.
    d.deliver(
        "teacher@school.example",
        ADDRESS,
        &mail("Teacher <teacher@school.example>", "still broken"),
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(stored(&smtp).len(), 1, "one reply per sender and day");

    // Applying the same message again changes nothing on the server.
    let script_file = d.home.join("sieve").join("forewarn-outage.sieve");
    let before = inode(&script_file);
    responder.apply(Some(&message)).await.unwrap();
    assert_eq!(
        inode(&script_file),
        before,
        "the script was not stored again"
    );

    // forewarn restarts: a new responder finds its script in place, then the outage ends.
    drop(responder);
    let restarted = d.responder_config(PASSWORD).build("helpdesk-mail").unwrap();
    restarted.apply(Some(&message)).await.unwrap();
    assert_eq!(
        inode(&script_file),
        before,
        "nothing changed after the restart"
    );
    assert_eq!(admin.active().as_deref(), Some("forewarn-outage"));
    restarted.apply(None).await.unwrap();
    assert_eq!(
        admin.list(),
        vec![("roundcube".to_owned(), true)],
        "the user's script is active again and ours is gone"
    );
    restarted.apply(None).await.unwrap();
    assert_eq!(admin.list(), vec![("roundcube".to_owned(), true)]);

    // After recovery a new sender gets no reply, and the user's rule files the message.
    d.deliver(
        "counsellor@school.example",
        ADDRESS,
        &mail("Counsellor <counsellor@school.example>", "after recovery"),
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(stored(&smtp).len(), 1, "no reply after recovery");
    assert_eq!(d.mailbox("Schools").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sieve_reply_without_a_previous_script_leaves_none_active_and_changes_with_the_text() {
    let Some((smtp, d)) = start_peers() else {
        return;
    };
    let mut admin = d.sieve();
    // A stale copy of ours, inactive (an earlier run stopped between storing and activating).
    admin.put("forewarn-outage", "keep;\r\n");
    admin.put("spare", "keep;\r\n");
    let responder = d.responder_config(PASSWORD).build("helpdesk-mail").unwrap();
    responder.apply(None).await.unwrap();
    assert_eq!(
        admin.list(),
        vec![("spare".to_owned(), false)],
        "the stale copy is deleted"
    );

    let mut message = outage();
    responder.apply(Some(&message)).await.unwrap();
    let first = admin.get("forewarn-outage");
    assert!(!first.contains("forewarn-previous-active"), "{first}");
    assert!(!first.contains("include"), "{first}");
    assert_eq!(admin.active().as_deref(), Some("forewarn-outage"));

    // A new text replaces the script in place; it stays active.
    message.subject = "Known outage: Student Information System and e-mail".into();
    responder.apply(Some(&message)).await.unwrap();
    assert_ne!(admin.get("forewarn-outage"), first);
    assert_eq!(admin.active().as_deref(), Some("forewarn-outage"));
    d.deliver(
        "parent@home.example",
        ADDRESS,
        &mail("Parent <parent@home.example>", "report card"),
    );
    let replies = wait_stored(&smtp, 1, Duration::from_secs(10));
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].header("Subject"), Some(message.subject.as_str()));
    assert_eq!(d.mailbox("").len(), 1, "kept in the inbox");

    responder.apply(None).await.unwrap();
    assert_eq!(admin.list(), vec![("spare".to_owned(), false)]);
    assert_eq!(
        admin.active(),
        None,
        "no script was active before, none is now"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sieve_wrong_password_names_the_login_failure_and_not_the_password() {
    let Some((_smtp, d)) = start_peers() else {
        return;
    };
    let wrong = "Wr0ng-pa55word-zz9";
    let responder = d.responder_config(wrong).build("helpdesk-mail").unwrap();
    for e in [
        responder.apply(Some(&outage())).await.unwrap_err(),
        responder.healthcheck().await.unwrap_err(),
    ] {
        let text = e.to_string();
        assert!(
            text.contains("authentication failed") && text.contains("helpdesk"),
            "{text}"
        );
        assert!(
            text.contains(&format!("127.0.0.1:{}", d.sieve_port)),
            "{text}"
        );
        assert!(!text.contains(wrong) && !text.contains(PASSWORD), "{text}");
        assert!(!e.is_retryable(), "a refused login needs a person: {text}");
        let debug = format!("{e:?} {responder:?}");
        assert!(!debug.contains(wrong), "{debug}");
    }
    assert!(d.sieve().list().is_empty(), "nothing was installed");

    // A server that is not there is a retryable error naming it.
    let mut gone = match d.responder_config(PASSWORD) {
        ResponderConfig::Sieve(c) => c,
        _ => unreachable!(),
    };
    gone.port = Some(dovecot::free_port());
    gone.timeout = Some(Duration::from_secs(2));
    let e = gone
        .build("helpdesk-mail")
        .unwrap()
        .healthcheck()
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert!(e.to_string().contains("helpdesk-mail"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Voicemail.
// ---------------------------------------------------------------------------------------------

fn espeak_or_skip() -> bool {
    let found = voicemail::espeak();
    if let Err(reason) = &found {
        smtp::skip::skip("espeak-ng", reason);
    }
    found.is_ok()
}

#[tokio::test]
async fn voicemail_greeting_is_8khz_mono_pcm_and_lasts_as_long_as_its_text() {
    if !espeak_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("greeting.wav");
    let responder = voicemail::config(&path, None, None)
        .build("helpdesk-phone")
        .unwrap();
    responder.healthcheck().await.unwrap();
    let short = outage();
    responder.apply(Some(&short)).await.unwrap();
    let w = voicemail::wav_header(&path);
    assert_eq!(
        (w.format, w.channels, w.rate, w.bits),
        (1, 1, 8000, 16),
        "PCM, mono, 8 kHz, 16 bit"
    );
    let one = voicemail::seconds(&w);
    assert!((2.0..15.0).contains(&one), "{one} s");

    let mut long = short.clone();
    long.spoken = format!("{0} {0} {0}", short.spoken);
    responder.apply(Some(&long)).await.unwrap();
    let three = voicemail::seconds(&voicemail::wav_header(&path));
    let ratio = three / one;
    eprintln!("greeting: {one:.2} s; three times the text: {three:.2} s (ratio {ratio:.2})");
    assert!(
        (2.4..3.6).contains(&ratio),
        "three times the text took {three:.2} s against {one:.2} s (ratio {ratio:.2})"
    );
    // Only the greeting and its sidecar are left in the folder.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["greeting.wav", "greeting.wav.forewarn"]);

    responder.apply(None).await.unwrap();
    assert!(!path.exists(), "without `normal` the greeting is removed");
    assert!(!dir.path().join("greeting.wav.forewarn").exists());
}

#[tokio::test]
async fn voicemail_same_text_is_not_rendered_again_and_the_normal_greeting_comes_back() {
    if !espeak_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("greeting.wav");
    let normal = dir.path().join("normal.wav");
    // The district's own greeting: any bytes, kept exactly.
    let original: Vec<u8> = b"RIFF-the-district-greeting"
        .iter()
        .copied()
        .chain((0..=255u8).cycle().take(5000))
        .collect();
    std::fs::write(&normal, &original).unwrap();
    std::fs::write(&path, &original).unwrap();

    let message = outage();
    let responder = voicemail::config(&path, Some(&normal), None)
        .build("helpdesk-phone")
        .unwrap();
    responder.apply(Some(&message)).await.unwrap();
    let written = inode(&path);
    let bytes = std::fs::read(&path).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    responder.apply(Some(&message)).await.unwrap();
    assert_eq!(inode(&path), written, "the same text is not rendered again");

    // After a restart the greeting is known to be in place.
    let restarted = voicemail::config(&path, Some(&normal), None)
        .build("helpdesk-phone")
        .unwrap();
    restarted.apply(Some(&message)).await.unwrap();
    assert_eq!(inode(&path), written);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // Someone replaced the file by hand: it is rendered again.
    std::fs::write(&path, b"not a greeting").unwrap();
    restarted.apply(Some(&message)).await.unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "espeak-ng is deterministic"
    );

    restarted.apply(None).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), original, "byte for byte");
    assert!(!PathBuf::from(format!("{}.forewarn", path.display())).exists());
    restarted.apply(None).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), original);
}

#[tokio::test]
async fn voicemail_keeps_a_greeting_it_did_not_write_and_names_a_missing_espeak() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("greeting.wav");
    std::fs::write(&path, b"the district's greeting").unwrap();

    // Without `normal`, the greeting already there could not be put back: refused.
    let responder = voicemail::config(&path, None, None)
        .build("helpdesk-phone")
        .unwrap();
    let e = responder
        .apply(Some(&outage()))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("normal") && e.contains("greeting.wav"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), b"the district's greeting");
    // Recovery without an outage greeting in place touches nothing.
    responder.apply(None).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"the district's greeting");

    // espeak-ng missing: a clear error naming the program, in apply and in the health check.
    let missing = "/nonexistent/bin/espeak-ng";
    let other = dir.path().join("other.wav");
    let responder = voicemail::config(&other, None, Some(missing))
        .build("helpdesk-phone")
        .unwrap();
    for e in [
        responder.apply(Some(&outage())).await.unwrap_err(),
        responder.healthcheck().await.unwrap_err(),
    ] {
        let e = e.to_string();
        assert!(
            e.contains(missing) && e.contains("not found") && e.contains("helpdesk-phone"),
            "{e}"
        );
    }
    assert!(!other.exists());

    // espeak-ng failing: its own error output is in the message.
    if !espeak_or_skip() {
        return;
    }
    let text = format!(
        "type = \"voicemail\"\npath = \"{}\"\nvoice = \"xx-no-such-voice\"\n",
        other.display()
    );
    let c: ResponderConfig = toml::from_str(&text).unwrap();
    let e = c
        .build("helpdesk-phone")
        .unwrap()
        .apply(Some(&outage()))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("espeak-ng") && e.contains("voice does not exist"),
        "{e}"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file is left behind");
}
