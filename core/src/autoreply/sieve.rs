//! The `sieve` responder: an out-of-office reply on the help-desk mailbox during an outage,
//! installed over ManageSieve (RFC 5804) as a Sieve script using `vacation` (RFC 5230).
//!
//! While the outage lasts, the script named `script` (default "forewarn-outage") is the active
//! one. It answers each sender once per `days` and then runs the script that was active before
//! (`include :personal :optional`, RFC 6609, when the server has the `include` extension), so the
//! mailbox's own filters keep working. The reply comes first because a `stop` in the included
//! rules ends all processing. The previously active script's name is kept in the script's own
//! header (`# forewarn-previous-active: "NAME"`), so forewarn can be restarted during an outage
//! and still put it back when the outage ends: that script is made active again and ours is
//! deleted (when no script was active before, none is afterwards).
//!
//! A previous script with a `vacation` of its own would conflict with ours at delivery time;
//! when the server refuses to store our script with the `include` (the previous script does
//! not compile any more), it is stored without it and a warning is logged.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::managesieve::{self, Peer, Session, SieveTls};
use super::{OutageMessage, OutageResponder};
use crate::config::{Secret, expand_env};
use crate::error::{Error, Result};

/// The header line that names the script active before ours.
pub const PREVIOUS_ACTIVE_MARKER: &str = "# forewarn-previous-active: ";

/// The default `script` name.
pub const DEFAULT_SCRIPT: &str = "forewarn-outage";

/// Configuration of the `sieve` responder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SieveAutoReplyConfig {
    /// The ManageSieve server's host name or address.
    pub host: String,
    /// The port (default 4190).
    #[serde(default)]
    pub port: Option<u16>,
    /// "starttls" (default), "implicit", or "none" (only for a server on this machine).
    #[serde(default)]
    pub tls: SieveTls,
    /// The help-desk mailbox's login (`${VAR}` works).
    pub username: String,
    /// Its password (`${VAR}` works; never printed).
    pub password: Secret,
    /// The name of the script forewarn installs (default "forewarn-outage"). Any script of
    /// that name on the server is forewarn's to replace and delete.
    #[serde(default = "default_script")]
    pub script: String,
    /// The help-desk addresses the reply answers for (`:addresses`): mail sent to one of
    /// them (To or Cc) gets the reply.
    pub addresses: Vec<String>,
    /// A sender gets the reply at most once per this many days (`:days`, default 1).
    #[serde(default = "default_days")]
    pub days: u32,
    /// The reply's sender ("District help desk <helpdesk@district.example>"); default: the
    /// address the mail was sent to.
    #[serde(default)]
    pub from: Option<String>,
    /// Time budget of each operation: connecting, the TLS handshake, each command's answer
    /// (default 10 s).
    #[serde(default, with = "crate::config::opt_duration")]
    pub timeout: Option<Duration>,
    /// A PEM file with extra trusted root certificates (a district CA, a test server).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Accept any server certificate (tests only). Default false.
    #[serde(default)]
    pub insecure: bool,
    /// Run the previously active script's rules after the reply (default true).
    #[serde(default = "yes")]
    pub keep_rules: bool,
}

fn default_script() -> String {
    DEFAULT_SCRIPT.to_owned()
}

fn default_days() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// Whether `host` is this machine.
fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn check_address(what: &str, s: &str) -> Result<()> {
    let m = s
        .trim()
        .parse::<lettre::message::Mailbox>()
        .map_err(|e| Error::invalid(what, format!("`{s}` is not an e-mail address ({e})")))?;
    if m.email.domain().is_empty() {
        return Err(Error::invalid(what, format!("`{s}` has no domain")));
    }
    Ok(())
}

impl SieveAutoReplyConfig {
    /// A config for `username` on `host` answering for `addresses`, with the defaults.
    pub fn new<S: Into<String>>(
        host: impl Into<String>,
        username: impl Into<String>,
        password: Secret,
        addresses: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            host: host.into(),
            port: None,
            tls: SieveTls::default(),
            username: username.into(),
            password,
            script: default_script(),
            addresses: addresses.into_iter().map(Into::into).collect(),
            days: default_days(),
            from: None,
            timeout: None,
            ca_file: None,
            insecure: false,
            keep_rules: true,
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        if self.host.trim().is_empty() {
            return Err(Error::invalid("host", "must not be empty"));
        }
        if self.port == Some(0) {
            return Err(Error::invalid("port", "must not be 0"));
        }
        if self.tls == SieveTls::None && !is_loopback(&self.host) {
            return Err(Error::invalid(
                "tls",
                format!(
                    "\"none\" sends the password unencrypted; it is only allowed for a server on \
                     this machine, not `{}` (use \"starttls\" or \"implicit\")",
                    self.host
                ),
            ));
        }
        let user = expand_env(&self.username).map_err(|e| Error::invalid("username", msg(&e)))?;
        if user.is_empty() {
            return Err(Error::invalid("username", "must not be empty"));
        }
        if user.contains('\0') {
            return Err(Error::invalid("username", "must not contain NUL"));
        }
        let password = self
            .password
            .expose()
            .map_err(|e| Error::invalid("password", msg(&e)))?;
        if password.is_empty() {
            return Err(Error::invalid("password", "must not be empty"));
        }
        if password.contains('\0') {
            return Err(Error::invalid("password", "must not contain NUL"));
        }
        if self.script.trim().is_empty() {
            return Err(Error::invalid("script", "must not be empty"));
        }
        if let Some((at, c)) = crate::text::control_char(&self.script) {
            return Err(Error::invalid(
                "script",
                format!(
                    "`{}` has the control character {c:?} at byte {at}",
                    crate::text::printable(&self.script)
                ),
            ));
        }
        if self.script.len() > 128 {
            return Err(Error::invalid("script", "is longer than 128 bytes"));
        }
        if self.addresses.is_empty() {
            return Err(Error::invalid(
                "addresses",
                "names no address: the reply would answer for none",
            ));
        }
        for a in &self.addresses {
            check_address("addresses", a)?;
        }
        if let Some(f) = &self.from {
            check_address("from", f)?;
        }
        if !(1..=365).contains(&self.days) {
            return Err(Error::invalid("days", "must be from 1 to 365"));
        }
        if let Some(t) = self.timeout
            && t.is_zero()
        {
            return Err(Error::invalid("timeout", "must be more than 0"));
        }
        if let Some(ca) = &self.ca_file
            && !ca.is_file()
        {
            return Err(Error::invalid(
                "ca_file",
                format!("`{}` is not a readable file", ca.display()),
            ));
        }
        Ok(())
    }

    /// Builds the responder named `name`.
    pub fn build(&self, name: &str) -> Result<SieveAutoReply> {
        self.validate()?;
        let port = self.port.unwrap_or(4190);
        let tls_config = match self.tls {
            SieveTls::None => None,
            _ => Some(managesieve::tls_config(
                self.ca_file.as_deref(),
                self.insecure,
            )?),
        };
        Ok(SieveAutoReply {
            peer: Peer {
                responder: name.to_owned(),
                endpoint: format!("{}:{port}", self.host),
            },
            host: self.host.clone(),
            port,
            tls: self.tls,
            tls_config,
            username: expand_env(&self.username)?,
            password: self.password.clone(),
            script: self.script.clone(),
            reply: Reply {
                addresses: self.addresses.iter().map(|a| a.trim().to_owned()).collect(),
                days: self.days,
                from: self.from.as_ref().map(|f| f.trim().to_owned()),
            },
            timeout: self.timeout.unwrap_or(Duration::from_secs(10)),
            keep_rules: self.keep_rules,
        })
    }
}

fn msg(e: &Error) -> String {
    match e {
        Error::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// The settings of the `vacation` action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// `:addresses`.
    pub addresses: Vec<String>,
    /// `:days`.
    pub days: u32,
    /// `:from`.
    pub from: Option<String>,
}

/// A Sieve quoted string: `"` and `\` escaped, control characters (line breaks included)
/// turned into spaces.
pub fn sieve_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if crate::text::is_control(c) => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Sieve multi-line string (`text:` … `.`): lines end in CRLF, a line starting with `.` gets
/// a second one (dot-stuffing, so no line of the text ends the string), control characters
/// other than tab become spaces.
pub fn sieve_text(s: &str) -> String {
    let mut out = String::from("text:\r\n");
    let normalised = s.replace("\r\n", "\n").replace('\r', "\n");
    for line in normalised.trim_end_matches('\n').split('\n') {
        if line.starts_with('.') {
            out.push('.');
        }
        out.extend(line.chars().map(|c| {
            if c != '\t' && crate::text::is_control(c) {
                ' '
            } else {
                c
            }
        }));
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

/// The script forewarn installs for `message`: the reply, then (when `include` and there was
/// one) the previously active script's rules. `previous` is recorded in the header either way.
pub fn render_script(
    message: &OutageMessage,
    reply: &Reply,
    previous: Option<&str>,
    include: bool,
) -> String {
    let mut s = String::from(
        "# Out-of-office reply of the help desk during a known outage, installed by forewarn.\r\n\
         # When the outage is over forewarn makes the script named below active again (none when\r\n\
         # there is no such line) and deletes this one.\r\n",
    );
    if let Some(p) = previous {
        s.push_str(PREVIOUS_ACTIVE_MARKER);
        s.push_str(&managesieve::quote(p));
        s.push_str("\r\n");
    }
    let include = include && previous.is_some();
    if include {
        s.push_str("require [\"vacation\", \"include\"];\r\n\r\n");
    } else {
        s.push_str("require [\"vacation\"];\r\n\r\n");
    }
    s.push_str(&format!(
        "vacation :days {} :subject {}",
        reply.days,
        sieve_string(&message.subject)
    ));
    if let Some(f) = &reply.from {
        s.push_str(&format!(" :from {}", sieve_string(f)));
    }
    let addresses: Vec<String> = reply.addresses.iter().map(|a| sieve_string(a)).collect();
    s.push_str(&format!(" :addresses [{}]\r\n", addresses.join(", ")));
    s.push_str(&sieve_text(&message.body));
    s.push_str(";\r\n");
    if let (true, Some(p)) = (include, previous) {
        s.push_str(
            "\r\n# The mailbox's own rules keep applying (after the reply: a `stop` in them\r\n\
             # ends all processing).\r\n",
        );
        s.push_str(&format!(
            "include :personal :optional {};\r\n",
            sieve_string(p)
        ));
    }
    s
}

/// The previously active script recorded in a script forewarn installed, if any.
pub fn previous_active(script: &str) -> Option<String> {
    for line in script.lines() {
        if let Some(rest) = line.strip_prefix(PREVIOUS_ACTIVE_MARKER) {
            let text = format!("{}\r\n", rest.trim_end());
            if let Ok(Some((tokens, _))) = managesieve::parse_line(text.as_bytes())
                && let [managesieve::Token::Str(name)] = tokens.as_slice()
            {
                return Some(name.clone());
            }
            return None;
        }
        if !line.starts_with('#') {
            break;
        }
    }
    None
}

/// The `sieve` responder. Its `Debug` shows the server, login and script, never the password.
pub struct SieveAutoReply {
    peer: Peer,
    host: String,
    port: u16,
    tls: SieveTls,
    tls_config: Option<Arc<rustls::ClientConfig>>,
    username: String,
    password: Secret,
    script: String,
    reply: Reply,
    timeout: Duration,
    keep_rules: bool,
}

impl fmt::Debug for SieveAutoReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SieveAutoReply")
            .field("name", &self.peer.responder)
            .field("server", &self.peer.endpoint)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("script", &self.script)
            .field("reply", &self.reply)
            .finish_non_exhaustive()
    }
}

impl SieveAutoReply {
    /// The name of the script it installs.
    pub fn script_name(&self) -> &str {
        &self.script
    }

    async fn login(&self) -> Result<Session> {
        let mut s = Session::connect(
            self.peer.clone(),
            &self.host,
            self.port,
            self.tls,
            self.tls_config.clone(),
            self.timeout,
        )
        .await?;
        debug_assert!(self.tls == SieveTls::None || s.is_tls());
        s.authenticate_plain(&self.username, &self.password).await?;
        Ok(s)
    }

    async fn apply_in(&self, s: &mut Session, message: Option<&OutageMessage>) -> Result<()> {
        let scripts = s.list_scripts().await?;
        let active = scripts.iter().find(|(_, a)| *a).map(|(n, _)| n.clone());
        let ours_active = active.as_deref() == Some(self.script.as_str());
        let ours_exists = scripts.iter().any(|(n, _)| *n == self.script);
        let name = &self.peer.responder;
        match message {
            Some(m) => {
                let (previous, installed) = if ours_active {
                    let text = s.get_script(&self.script).await?;
                    (previous_active(&text), Some(text))
                } else {
                    (active.clone(), None)
                };
                let include = self.keep_rules
                    && previous.is_some()
                    && s.capabilities.sieve.iter().any(|e| e == "include");
                let text = render_script(m, &self.reply, previous.as_deref(), include);
                if installed.as_deref() == Some(text.as_str()) {
                    tracing::debug!(responder = %name, script = %self.script, "the outage reply is already active");
                    return Ok(());
                }
                match s.put_script(&self.script, &text).await {
                    Ok(()) => {}
                    Err(e @ Error::Invalid { .. }) if include => {
                        tracing::warn!(
                            responder = %name,
                            previous = ?previous,
                            error = %e,
                            "the server refused the outage reply with the previous script's rules included; \
                             installing it without them"
                        );
                        let text = render_script(m, &self.reply, previous.as_deref(), false);
                        s.put_script(&self.script, &text).await?;
                    }
                    Err(e) => return Err(e),
                }
                if !ours_active {
                    s.set_active(&self.script).await?;
                }
                tracing::info!(
                    responder = %name,
                    script = %self.script,
                    previous = ?previous,
                    "the outage reply is active"
                );
            }
            None if ours_active => {
                let text = s.get_script(&self.script).await?;
                let recorded = previous_active(&text);
                let previous = recorded
                    .clone()
                    .filter(|p| *p != self.script && scripts.iter().any(|(n, _)| n == p));
                if previous.is_none()
                    && let Some(p) = &recorded
                {
                    tracing::warn!(
                        responder = %name,
                        previous = %p,
                        "the script active before the outage is gone; no script is active now"
                    );
                }
                s.set_active(previous.as_deref().unwrap_or("")).await?;
                s.delete_script(&self.script).await?;
                tracing::info!(
                    responder = %name,
                    active = ?previous,
                    "the outage reply is off"
                );
            }
            None if ours_exists => {
                s.delete_script(&self.script).await?;
                tracing::info!(responder = %name, script = %self.script, "deleted an inactive copy of the outage reply");
            }
            None => {}
        }
        Ok(())
    }
}

#[async_trait]
impl OutageResponder for SieveAutoReply {
    async fn apply(&self, message: Option<&OutageMessage>) -> Result<()> {
        if let Some(m) = message {
            m.check(
                &self.peer.responder,
                &[("subject", &m.subject), ("body", &m.body)],
            )?;
        }
        let mut s = self.login().await?;
        let result = self.apply_in(&mut s, message).await;
        s.logout().await;
        result
    }

    async fn healthcheck(&self) -> Result<()> {
        let s = self.login().await?;
        let has_vacation = s.capabilities.sieve.iter().any(|e| e == "vacation");
        s.logout().await;
        if !has_vacation {
            return Err(self.peer.refused(
                "capabilities",
                "the server's Sieve has no `vacation` extension",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> OutageMessage {
        OutageMessage {
            subject: "Known outage: \"SIS\" \\ grades".into(),
            body: body.into(),
            spoken: "The Student Information System is down.".into(),
        }
    }

    fn reply() -> Reply {
        Reply {
            addresses: vec!["helpdesk@district.example".into()],
            days: 1,
            from: Some("Help desk <helpdesk@district.example>".into()),
        }
    }

    #[test]
    fn quoted_strings_escape_quotes_and_backslashes() {
        assert_eq!(sieve_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(sieve_string("one\r\ntwo"), "\"one  two\"");
    }

    #[test]
    fn text_blocks_are_dot_stuffed() {
        assert_eq!(
            sieve_text("Hello\n.\n..two\n.hidden\nend.\n"),
            "text:\r\nHello\r\n..\r\n...two\r\n..hidden\r\nend.\r\n.\r\n"
        );
        // Whatever the body, the only line that is exactly "." is the terminator.
        let t = sieve_text(".\r\n.\r.\n");
        assert_eq!(t.lines().filter(|l| *l == ".").count(), 1, "{t:?}");
        assert!(t.ends_with("\r\n.\r\n"));
    }

    #[test]
    fn the_script_records_the_previous_script_and_includes_it() {
        let m = message("We know.\n.\nMeanwhile use paper.");
        let s = render_script(&m, &reply(), Some("my \"rules\""), true);
        assert!(s.contains("require [\"vacation\", \"include\"];"), "{s}");
        assert!(
            s.contains(
                "vacation :days 1 :subject \"Known outage: \\\"SIS\\\" \\\\ grades\" \
                 :from \"Help desk <helpdesk@district.example>\" \
                 :addresses [\"helpdesk@district.example\"]\r\ntext:\r\nWe know.\r\n..\r\n"
            ),
            "{s}"
        );
        assert!(
            s.ends_with("include :personal :optional \"my \\\"rules\\\"\";\r\n"),
            "{s}"
        );
        assert_eq!(previous_active(&s).as_deref(), Some("my \"rules\""));
        // The reply comes before the include.
        assert!(s.find("vacation :days").unwrap() < s.find("include :personal").unwrap());

        let alone = render_script(&m, &reply(), None, true);
        assert!(alone.contains("require [\"vacation\"];"), "{alone}");
        assert!(!alone.contains("include"), "{alone}");
        assert_eq!(previous_active(&alone), None);

        let kept = render_script(&m, &reply(), Some("rules"), false);
        assert!(!kept.contains("include :personal"), "{kept}");
        assert_eq!(previous_active(&kept).as_deref(), Some("rules"));
    }

    #[test]
    fn the_marker_is_only_read_from_the_header() {
        let s = "require [\"vacation\"];\r\n# forewarn-previous-active: \"x\"\r\n";
        assert_eq!(previous_active(s), None);
    }

    fn config() -> SieveAutoReplyConfig {
        SieveAutoReplyConfig::new(
            "mail.district.example",
            "helpdesk",
            Secret::new("pw"),
            ["helpdesk@district.example"],
        )
    }

    #[test]
    fn validation_names_the_key() {
        config().validate().unwrap();
        let mut c = config();
        c.tls = SieveTls::None;
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("tls") && e.contains("mail.district.example"),
            "{e}"
        );
        c.host = "127.0.0.1".into();
        c.validate().unwrap();
        let mut c = config();
        c.addresses = vec!["not an address".into()];
        assert!(c.validate().unwrap_err().to_string().contains("addresses"));
        let mut c = config();
        c.days = 0;
        assert!(c.validate().unwrap_err().to_string().contains("days"));
        let mut c = config();
        c.script = "a\nb".into();
        assert!(c.validate().unwrap_err().to_string().contains("script"));
        let mut c = config();
        c.password = Secret::new("${FOREWARN_TEST_UNSET_SIEVE_PASSWORD}");
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("password") && e.contains("FOREWARN_TEST_UNSET"),
            "{e}"
        );
    }

    #[test]
    fn the_toml_section_parses_with_defaults_and_refuses_unknown_keys() {
        let c: super::super::ResponderConfig = toml::from_str(
            r#"
            type = "sieve"
            host = "mail.district.example"
            username = "helpdesk"
            password = "pw"
            addresses = ["helpdesk@district.example"]
            "#,
        )
        .unwrap();
        let super::super::ResponderConfig::Sieve(c) = c else {
            panic!("not sieve")
        };
        assert_eq!(c.script, "forewarn-outage");
        assert_eq!(c.days, 1);
        assert_eq!(c.tls, SieveTls::Starttls);
        assert!(c.keep_rules);
        let r = toml::from_str::<super::super::ResponderConfig>(
            r#"
            type = "sieve"
            host = "h"
            username = "u"
            password = "p"
            addresses = ["a@b.c"]
            pasword = "typo"
            "#,
        );
        assert!(r.unwrap_err().to_string().contains("pasword"));
        let debug = format!("{:?}", config().build("mail").unwrap());
        assert!(!debug.contains("\"pw\""), "{debug}");
    }
}
