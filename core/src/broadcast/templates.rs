//! The wording of broadcasts, the auto-reply and the voicemail: minijinja templates, plain text
//! and HTML, built in and overridable per audience and language.
//!
//! A template folder (`[broadcasts] templates`, or an audience's `templates`) may hold any of
//! `KIND.subject`, `KIND.txt` and `KIND.html`, where KIND is `we_know`, `update`,
//! `still_working`, `fixed`, `maintenance_ahead`, `maintenance_started`,
//! `maintenance_complete`, `autoreply` (subject and txt) or `voicemail` (txt). A file named
//! `KIND.LANG.txt` is preferred for an audience whose `language` is LANG. HTML templates escape
//! what they are given; every template is tried with sample values when the monitor is built,
//! so a mistake is an error naming the file and line at start-up, not a missing message later.

use std::path::{Path, PathBuf};

use minijinja::Environment;
use serde::Serialize;

use super::plan::BroadcastKind;
use crate::error::{Error, Result};

/// One template's parts.
const PARTS: [&str; 3] = ["subject", "txt", "html"];

/// The built-in wording.
const BUILT_IN: &[(&str, &str)] = &[
    ("we_know.subject", include_str!("templates/we_know.subject")),
    ("we_know.txt", include_str!("templates/we_know.txt")),
    ("we_know.html", include_str!("templates/we_know.html")),
    ("update.subject", include_str!("templates/update.subject")),
    ("update.txt", include_str!("templates/update.txt")),
    ("update.html", include_str!("templates/update.html")),
    (
        "still_working.subject",
        include_str!("templates/still_working.subject"),
    ),
    (
        "still_working.txt",
        include_str!("templates/still_working.txt"),
    ),
    (
        "still_working.html",
        include_str!("templates/still_working.html"),
    ),
    ("fixed.subject", include_str!("templates/fixed.subject")),
    ("fixed.txt", include_str!("templates/fixed.txt")),
    ("fixed.html", include_str!("templates/fixed.html")),
    (
        "maintenance_ahead.subject",
        include_str!("templates/maintenance_ahead.subject"),
    ),
    (
        "maintenance_ahead.txt",
        include_str!("templates/maintenance_ahead.txt"),
    ),
    (
        "maintenance_ahead.html",
        include_str!("templates/maintenance_ahead.html"),
    ),
    (
        "maintenance_started.subject",
        include_str!("templates/maintenance_started.subject"),
    ),
    (
        "maintenance_started.txt",
        include_str!("templates/maintenance_started.txt"),
    ),
    (
        "maintenance_started.html",
        include_str!("templates/maintenance_started.html"),
    ),
    (
        "maintenance_complete.subject",
        include_str!("templates/maintenance_complete.subject"),
    ),
    (
        "maintenance_complete.txt",
        include_str!("templates/maintenance_complete.txt"),
    ),
    (
        "maintenance_complete.html",
        include_str!("templates/maintenance_complete.html"),
    ),
    (
        "autoreply.subject",
        include_str!("templates/autoreply.subject"),
    ),
    ("autoreply.txt", include_str!("templates/autoreply.txt")),
    ("voicemail.txt", include_str!("templates/voicemail.txt")),
];

/// A service as messages name it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServiceText {
    /// Its name.
    pub name: String,
    /// What people cannot do.
    pub impact: Option<String>,
    /// What to do meanwhile.
    pub workaround: Option<String>,
}

/// A note as messages show it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NoteText {
    /// When, in the district's time zone ("10:42 CDT").
    pub at: String,
    /// Who wrote it (ICT staff: kept out of the default wording).
    pub by: Option<String>,
    /// What it says.
    pub text: String,
}

/// Planned maintenance as messages name it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MaintenanceText {
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: Option<String>,
    /// Its start, in the district's time zone ("Saturday 12 September, 07:00 CDT").
    pub starts: String,
    /// Its end.
    pub ends: String,
}

/// Everything a template can use. Times are already in the district's time zone.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MessageContext {
    /// The audience's name ("Teachers").
    pub audience: String,
    /// The district's name.
    pub district: Option<String>,
    /// The services concerned.
    pub services: Vec<ServiceText>,
    /// Their names as a phrase ("the Student Information System and Printing").
    pub service_names: String,
    /// "is" or "are", to agree with `service_names`.
    pub is_are: String,
    /// When it started ("08:05 CDT", with the day when not today).
    pub started: String,
    /// When it came back.
    pub back: String,
    /// How long it lasted, or has lasted so far ("1 h 20 min").
    pub duration: String,
    /// When the next update is promised.
    pub next_update: String,
    /// ICT's notes so far.
    pub notes: Vec<NoteText>,
    /// The note this update tells.
    pub update: Option<NoteText>,
    /// The service that joined the outage, for an update that tells it.
    pub widened: Option<String>,
    /// The status page.
    pub status_url: Option<String>,
    /// The maintenance, for its announcements.
    pub maintenance: Option<MaintenanceText>,
    /// How messages sign off ("The IT team of Springfield Public Schools").
    pub signature: String,
}

impl MessageContext {
    /// Sets `services`, `service_names` and `is_are` from `services`.
    pub fn with_services(mut self, services: Vec<ServiceText>) -> Self {
        let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
        self.service_names = match names.as_slice() {
            [] => "A service".to_owned(),
            [one] => (*one).to_owned(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        };
        self.is_are = if names.len() > 1 { "are" } else { "is" }.to_owned();
        self.services = services;
        self
    }

    /// A context with every field set, to try templates with.
    pub fn sample() -> Self {
        let note = NoteText {
            at: "10:42 CDT".into(),
            by: Some("ana".into()),
            text: "The vendor is restarting the server.".into(),
        };
        MessageContext {
            audience: "Teachers".into(),
            district: Some("Springfield Public Schools".into()),
            started: "09:58 CDT".into(),
            back: "11:20 CDT".into(),
            duration: "1 h 22 min".into(),
            next_update: "11:00 CDT".into(),
            notes: vec![note.clone()],
            update: Some(note),
            widened: Some("Printing".into()),
            status_url: Some("https://status.example.org/".into()),
            maintenance: Some(MaintenanceText {
                title: "Server upgrade".into(),
                description: Some("New hardware.".into()),
                starts: "Saturday 12 September, 07:00 CDT".into(),
                ends: "Saturday 12 September, 13:00 CDT".into(),
            }),
            signature: "The IT team".into(),
            ..Default::default()
        }
        .with_services(vec![
            ServiceText {
                name: "Student Information System".into(),
                impact: Some("Attendance cannot be entered.".into()),
                workaround: Some("Take attendance on paper.".into()),
            },
            ServiceText {
                name: "Printing".into(),
                impact: None,
                workaround: None,
            },
        ])
    }
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// One line.
    pub subject: String,
    /// Plain text.
    pub text: String,
    /// HTML (a fragment; sinks wrap it).
    pub html: String,
}

/// The templates of one audience (or of the auto-reply), loaded and checked.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// The built-in wording overridden by the files in `dirs` (first wins), preferring files
    /// for `language`. Every template is tried with [`MessageContext::sample`].
    pub fn load(dirs: &[&Path], language: Option<&str>) -> Result<Self> {
        let mut env = Environment::new();
        env.set_keep_trailing_newline(false);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        // HTML escaping that leaves `/` alone, so links read as links in the message source.
        env.set_formatter(|out, state, value| {
            if state.auto_escape() == minijinja::AutoEscape::Html
                && !value.is_safe()
                && value.as_str().is_some()
            {
                let s = value.as_str().unwrap_or_default();
                out.write_str(&crate::sink::email::html_escape(s))?;
                Ok(())
            } else {
                minijinja::escape_formatter(out, state, value)
            }
        });
        for (name, source) in BUILT_IN {
            let (stem, part) = name.rsplit_once('.').expect("named KIND.PART");
            let own = find_override(dirs, stem, part, language)?;
            match own {
                Some((path, text)) => {
                    env.add_template_owned(name.to_string(), text)
                        .map_err(|e| template_error(&path, &e))?;
                    let t = env.get_template(name).expect("just added");
                    t.render(MessageContext::sample())
                        .map_err(|e| template_error(&path, &e))?;
                }
                None => env.add_template(name, source).map_err(|e| {
                    Error::invalid("templates", format!("built-in template {name}: {e}"))
                })?,
            }
        }
        for d in dirs {
            check_names(d)?;
        }
        Ok(Self { env })
    }

    /// The built-in wording.
    pub fn built_in() -> Self {
        Self::load(&[], None).expect("the built-in templates are valid")
    }

    /// Renders `kind` for `ctx`.
    pub fn render(&self, kind: BroadcastKind, ctx: &MessageContext) -> Result<Rendered> {
        let k = kind.as_str();
        Ok(Rendered {
            subject: one_line(&self.part(&format!("{k}.subject"), ctx)?),
            text: self.part(&format!("{k}.txt"), ctx)?,
            html: self.part(&format!("{k}.html"), ctx)?,
        })
    }

    /// The auto-reply's subject and body and the voicemail's words for `ctx`.
    pub fn outage_message(&self, ctx: &MessageContext) -> Result<crate::autoreply::OutageMessage> {
        Ok(crate::autoreply::OutageMessage {
            subject: one_line(&self.part("autoreply.subject", ctx)?),
            body: self.part("autoreply.txt", ctx)?,
            spoken: one_line(&self.part("voicemail.txt", ctx)?),
        })
    }

    fn part(&self, name: &str, ctx: &MessageContext) -> Result<String> {
        let t = self
            .env
            .get_template(name)
            .map_err(|e| Error::invalid("templates", format!("template {name}: {e}")))?;
        let mut s = t
            .render(ctx)
            .map_err(|e| Error::invalid("templates", format!("rendering {name}: {e:#}")))?;
        // Blank lines left by empty sections collapse to one.
        while s.contains("\n\n\n") {
            s = s.replace("\n\n\n", "\n\n");
        }
        Ok(s.trim().to_owned() + "\n")
    }
}

/// One line, whatever the template or the data held (mail headers, chat titles).
fn one_line(s: &str) -> String {
    let joined: Vec<&str> = s.split_whitespace().collect();
    crate::text::printable(&joined.join(" ")).into_owned()
}

fn find_override(
    dirs: &[&Path],
    stem: &str,
    part: &str,
    language: Option<&str>,
) -> Result<Option<(PathBuf, String)>> {
    for d in dirs {
        let mut names = Vec::new();
        if let Some(l) = language {
            names.push(format!("{stem}.{l}.{part}"));
        }
        names.push(format!("{stem}.{part}"));
        for n in names {
            let path = d.join(&n);
            match std::fs::read_to_string(&path) {
                Ok(text) => return Ok(Some((path, text))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
            }
        }
    }
    Ok(None)
}

/// A file in a template folder that no message would use is a typo worth telling.
fn check_names(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io(format!("reading the template folder {}", dir.display()), e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.path().is_file() {
            continue;
        }
        let mut pieces: Vec<&str> = name.split('.').collect();
        let known_part = pieces.last().is_some_and(|p| PARTS.contains(p));
        let stem = pieces.first().copied().unwrap_or_default();
        let known_stem = BUILT_IN
            .iter()
            .any(|(n, _)| n.split('.').next() == Some(stem));
        pieces.retain(|_| true);
        if !(known_part && known_stem && (2..=3).contains(&pieces.len())) {
            return Err(Error::invalid(
                "templates",
                format!(
                    "{}: not a template name (KIND[.LANG].subject|txt|html, KIND one of {})",
                    entry.path().display(),
                    kinds().join(", ")
                ),
            ));
        }
    }
    Ok(())
}

fn kinds() -> Vec<&'static str> {
    let mut k: Vec<&str> = BroadcastKind::ALL.iter().map(|k| k.as_str()).collect();
    k.extend(["autoreply", "voicemail"]);
    k
}

fn template_error(path: &Path, e: &minijinja::Error) -> Error {
    let line = e.line().map(|l| format!(":{l}")).unwrap_or_default();
    Error::invalid(
        "templates",
        format!(
            "{}{line}: {}",
            path.display(),
            e.detail().unwrap_or(&e.to_string())
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_wording_names_the_service_impact_workaround_and_next_update() {
        let t = Templates::built_in();
        let ctx = MessageContext::sample();
        let r = t.render(BroadcastKind::WeKnow, &ctx).unwrap();
        assert_eq!(
            r.subject,
            "Student Information System and Printing are down: we know and are working on it"
        );
        for want in [
            "Attendance cannot be entered.",
            "Take attendance on paper.",
            "by 11:00 CDT",
            "https://status.example.org/",
        ] {
            assert!(r.text.contains(want), "{want} in {}", r.text);
            assert!(r.html.contains(want), "{want} in {}", r.html);
        }
        assert!(!r.text.contains("\n\n\n"), "{}", r.text);
        for kind in BroadcastKind::ALL {
            let r = t.render(kind, &ctx).unwrap();
            assert!(!r.subject.is_empty() && !r.text.is_empty() && !r.html.is_empty());
        }
    }

    #[test]
    fn html_escapes_what_it_is_given() {
        let t = Templates::built_in();
        let ctx = MessageContext {
            audience: "<b>x</b>".into(),
            ..MessageContext::sample()
        }
        .with_services(vec![ServiceText {
            name: "<script>alert(1)</script>".into(),
            impact: Some("a & b".into()),
            workaround: None,
        }]);
        let r = t.render(BroadcastKind::WeKnow, &ctx).unwrap();
        assert!(!r.html.contains("<script>"), "{}", r.html);
        assert!(r.html.contains("&lt;script&gt;"), "{}", r.html);
        assert!(r.html.contains("a &amp; b"), "{}", r.html);
        assert!(
            r.text.contains("<script>"),
            "plain text is not HTML: {}",
            r.text
        );
    }

    #[test]
    fn overrides_per_language_and_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("we_know.subject"),
            "Panne : {{ service_names }}",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("we_know.es.subject"),
            "Falla: {{ service_names }}",
        )
        .unwrap();
        let ctx = MessageContext::sample();
        let fr = Templates::load(&[dir.path()], Some("fr")).unwrap();
        assert!(
            fr.render(BroadcastKind::WeKnow, &ctx)
                .unwrap()
                .subject
                .starts_with("Panne :")
        );
        let es = Templates::load(&[dir.path()], Some("es")).unwrap();
        assert!(
            es.render(BroadcastKind::WeKnow, &ctx)
                .unwrap()
                .subject
                .starts_with("Falla:")
        );
        // The rest stays built in.
        assert!(
            es.render(BroadcastKind::Fixed, &ctx)
                .unwrap()
                .subject
                .starts_with("Fixed:")
        );

        std::fs::write(dir.path().join("fixed.txt"), "line one\n{% if %}\n").unwrap();
        let e = Templates::load(&[dir.path()], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("fixed.txt:2"), "{e}");
        std::fs::remove_file(dir.path().join("fixed.txt")).unwrap();
        std::fs::write(dir.path().join("we_nkow.txt"), "x").unwrap();
        let e = Templates::load(&[dir.path()], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("we_nkow.txt: not a template name"), "{e}");
    }

    #[test]
    fn the_outage_message_speaks_plainly() {
        let m = Templates::built_in()
            .outage_message(&MessageContext::sample())
            .unwrap();
        assert_eq!(
            m.subject,
            "Known outage: Student Information System and Printing"
        );
        assert!(m.body.contains("Take attendance on paper."), "{}", m.body);
        assert!(!m.spoken.contains('\n'));
        assert!(m.spoken.contains("leave a message"), "{}", m.spoken);
    }
}
