//! FAQ drafts: one Markdown page per FAQ candidate ([`FaqCandidate`]) for ICT to edit and
//! publish on the status server's `/help`.
//!
//! Each page is a front matter block, then Markdown:
//!
//! ```text
//! ---
//! title: How do I reset my password for the student portal?
//! draft: true
//! summary: Asked in 42 help-desk tickets by 37 people from 2025-09-01 to 2026-03-15.
//! ---
//! # How do I reset my password for the student portal?
//! …what users report, the evidence, a "Steps" section for ICT to write…
//! ```
//!
//! File names are ASCII slugs of the title (`reset-password-student-portal.md`), unique within
//! a run. A page that exists is never overwritten (ICT may have edited it): it is skipped and
//! listed in [`FaqDrafts::skipped`]. Pages stay `draft: true` until ICT changes that. Text from
//! tickets is escaped for Markdown, so a subject holding HTML (`<script>`) or a link
//! (`[x](javascript:…)`) shows as the text it is.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use super::recommend::FaqCandidate;
use crate::text::printable;
use crate::{Error, Result};

/// What [`write_drafts`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FaqDrafts {
    /// The directory written to.
    pub dir: PathBuf,
    /// The pages written, in the order of the candidates.
    pub written: Vec<PathBuf>,
    /// The pages left alone because they exist already.
    pub skipped: Vec<PathBuf>,
}

/// Longest slug, in bytes, before `.md` (and a `-2` when two titles share one).
const SLUG_MAX: usize = 60;

/// The ASCII file-name slug of `title`: accents folded (é → e), lower case, stop words left out,
/// words joined by `-`, at most 60 bytes. "How do I reset my password for the student portal?"
/// gives `reset-password-student-portal`; a title of stop words alone keeps them, and one with
/// no letters or digits at all gives `faq`.
pub fn slug(title: &str) -> String {
    let mut folded = String::with_capacity(title.len());
    for c in title
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
    {
        match c {
            c if c.is_ascii_alphanumeric() => folded.push(c.to_ascii_lowercase()),
            // "can't" is one word.
            '\'' | '\u{2019}' => {}
            // Letters that do not decompose.
            'ß' => folded.push_str("ss"),
            'æ' | 'Æ' => folded.push_str("ae"),
            'œ' | 'Œ' => folded.push_str("oe"),
            'ø' | 'Ø' => folded.push('o'),
            'đ' | 'Đ' | 'ð' | 'Ð' => folded.push('d'),
            'ł' | 'Ł' => folded.push('l'),
            'þ' | 'Þ' => folded.push_str("th"),
            'ı' => folded.push('i'),
            _ => folded.push(' '),
        }
    }
    let words: Vec<&str> = folded.split_whitespace().collect();
    // "How do I …" says nothing about the page; "won't" does.
    let stop = |w: &str| super::topics::STOPWORDS.contains(&w);
    let kept: Vec<&str> = words.iter().copied().filter(|w| !stop(w)).collect();
    let kept = if kept.is_empty() { words } else { kept };
    let mut out = String::new();
    for w in kept {
        let extra = usize::from(!out.is_empty()) + w.len();
        if out.len() + extra > SLUG_MAX {
            if out.is_empty() {
                out.push_str(&w[..SLUG_MAX]);
            }
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(w);
    }
    if out.is_empty() {
        "faq".to_owned()
    } else {
        out
    }
}

/// `text` on one line: runs of white space (line breaks too) as one space, other control
/// characters shown escaped.
fn one_line(text: &str) -> String {
    printable(&text.split_whitespace().collect::<Vec<_>>().join(" ")).into_owned()
}

/// `text` as literal inline Markdown (CommonMark and its GitHub extensions): one line, control
/// characters shown escaped, `<` `>` `&` as entities (so no HTML tag or entity survives), the
/// characters that make links, images, emphasis, code spans, tables and headings
/// backslash-escaped, and a leading `-`, `+` or `1.` too (so it starts no list).
pub fn escape_markdown(text: &str) -> String {
    let line = one_line(text);
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    let list_marker = match line.as_bytes().get(digits) {
        Some(b'-' | b'+') if digits == 0 => Some(0),
        Some(b'.' | b')') if digits > 0 => Some(digits),
        _ => None,
    };
    let mut out = String::with_capacity(line.len() + 8);
    for (i, c) in line.char_indices() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if list_marker == Some(i) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A front matter value: as written when YAML reads it back unchanged as a string, otherwise
/// double-quoted with escapes.
fn yaml_value(value: &str) -> String {
    let plain = !value.is_empty()
        && value.trim() == value
        && !value.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`~".contains(c))
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.ends_with(':')
        && !value.chars().any(|c| c.is_control())
        && !matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~"
        )
        && value.parse::<f64>().is_err();
    if plain {
        return value.to_owned();
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The page's title: the question as asked, its subject part (before " — " and the body's first
/// line), on one line.
pub fn title(candidate: &FaqCandidate) -> String {
    let subject = candidate
        .question
        .split(" — ")
        .next()
        .unwrap_or(&candidate.question);
    let line = one_line(subject);
    if line.is_empty() {
        "Frequently asked question".to_owned()
    } else {
        line
    }
}

fn percent(share: f64) -> String {
    format!("{:.1}%", 100.0 * share)
}

fn period(c: &FaqCandidate) -> Option<String> {
    match (c.first, c.last) {
        (Some(f), Some(l)) if f == l => Some(format!("on {f}")),
        (Some(f), Some(l)) => Some(format!("from {f} to {l}")),
        _ => None,
    }
}

/// The one-line summary in the front matter.
fn summary(c: &FaqCandidate) -> String {
    let people = if c.distinct_requesters > 0 {
        format!(" by {} people", c.distinct_requesters)
    } else {
        String::new()
    };
    let when = period(c).map(|p| format!(" {p}")).unwrap_or_default();
    format!(
        "Asked in {} help-desk tickets{people}{when} ({} of all tickets).",
        c.tickets,
        percent(c.share)
    )
}

/// The page for `candidate`: front matter (`title`, `draft: true`, `summary`), what users
/// report, the evidence and a "Steps" section for ICT to write.
pub fn draft(candidate: &FaqCandidate) -> String {
    let c = candidate;
    let title = title(c);
    let mut s = String::new();
    let _ = writeln!(s, "---");
    let _ = writeln!(s, "title: {}", yaml_value(&title));
    let _ = writeln!(s, "draft: true");
    let _ = writeln!(s, "summary: {}", yaml_value(&summary(c)));
    let _ = writeln!(s, "---");
    let _ = writeln!(s, "# {}\n", escape_markdown(&title));
    let _ = writeln!(s, "## What users report\n");
    let _ = writeln!(s, "> {}\n", escape_markdown(&c.question));
    if !c.examples.is_empty() {
        let _ = writeln!(s, "Subjects of their tickets, as written:\n");
        for e in &c.examples {
            let _ = writeln!(s, "- \u{201c}{}\u{201d}", escape_markdown(e));
        }
        s.push('\n');
    }
    let _ = writeln!(s, "## Evidence\n");
    let _ = writeln!(
        s,
        "- Tickets: {} ({} of all tickets analysed)",
        c.tickets,
        percent(c.share)
    );
    if c.distinct_requesters > 0 {
        let _ = writeln!(s, "- People asking: {}", c.distinct_requesters);
    }
    if let Some(p) = period(c) {
        let _ = writeln!(s, "- Period: {p}");
    }
    if let Some(cat) = &c.category {
        let _ = writeln!(s, "- Related category: {}", escape_markdown(cat));
    }
    if let Some(t) = &c.topic {
        let _ = writeln!(s, "- Topic: {}", escape_markdown(t));
    }
    if let Some(r) = &c.resolution {
        let consistency = c
            .resolution_consistency
            .map(|x| format!(" (in {} of its resolved tickets)", percent(x)))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "- Usual answer at the help desk{consistency}: \u{201c}{}\u{201d}",
            escape_markdown(r)
        );
    }
    if let Some(k) = &c.covered_by {
        let _ = writeln!(
            s,
            "- Already covered by the knowledge-base article \u{201c}{}\u{201d}: link it, or \
             merge the two",
            escape_markdown(k)
        );
    }
    let _ = writeln!(s, "\n## Steps\n");
    let _ = writeln!(
        s,
        "<!-- For ICT: write the steps a student or teacher follows on their own, starting from \
         the usual answer above; add screenshots if they help. Set `draft: false` in the front \
         matter to publish the page on /help. -->\n"
    );
    let _ = writeln!(s, "1. \n2. \n3. \n");
    let _ = writeln!(s, "## Still not working?\n");
    let _ = writeln!(
        s,
        "Open a help-desk ticket and say which step failed and what the screen showed."
    );
    s
}

/// Writes one draft page per candidate into `dir` (created when missing). A page whose file
/// exists is skipped, never overwritten; two candidates whose titles give the same slug get
/// `-2`, `-3`… in the order given, so a second run finds the same names.
pub fn write_drafts(dir: &Path, candidates: &[FaqCandidate]) -> Result<FaqDrafts> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::io(
            format!("creating the FAQ drafts directory {}", dir.display()),
            e,
        )
    })?;
    let mut out = FaqDrafts {
        dir: dir.to_owned(),
        ..Default::default()
    };
    let mut used: Vec<String> = Vec::new();
    for c in candidates {
        let base = slug(&title(c));
        let mut name = base.clone();
        let mut n = 1;
        while used.contains(&name) {
            n += 1;
            name = format!("{base}-{n}");
        }
        used.push(name.clone());
        let path = dir.join(format!("{name}.md"));
        // create_new: an existing page (perhaps edited) is never replaced, even by a race.
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(draft(c).as_bytes())
                    .and_then(|_| f.flush())
                    .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
                out.written.push(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => out.skipped.push(path),
            Err(e) => return Err(Error::io(format!("creating {}", path.display()), e)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(question: &str) -> FaqCandidate {
        FaqCandidate {
            question: question.into(),
            tickets: 42,
            share: 0.031,
            first: "2025-09-01".parse().ok(),
            last: "2026-03-15".parse().ok(),
            distinct_requesters: 37,
            topic: Some("Passwords & MFA".into()),
            category: Some("Accounts > Passwords".into()),
            examples: vec!["Password reset <b>now</b>".into()],
            resolution: Some("Reset it in the *admin* console".into()),
            resolution_consistency: Some(0.68),
            covered_by: None,
        }
    }

    #[test]
    fn slugs_are_ascii_short_and_meaningful() {
        assert_eq!(
            slug("How do I reset my password for the student portal?"),
            "reset-password-student-portal"
        );
        assert_eq!(
            slug("Mot de passe oublié — élève"),
            "mot-passe-oublie-eleve"
        );
        assert_eq!(slug("Can't log in to Schoology"), "cant-log-schoology");
        assert_eq!(
            slug("Student Chromebook won\u{2019}t turn on"),
            "student-chromebook-wont-turn"
        );
        assert_eq!(slug("How do I?"), "how-do-i");
        assert_eq!(
            slug("Straße: Drucker über Wi‑Fi"),
            "strasse-drucker-uber-wi-fi"
        );
        assert_eq!(slug("???"), "faq");
        assert_eq!(slug("日本語"), "faq");
        let long = slug(&"projector ".repeat(20));
        assert!(long.len() <= SLUG_MAX && !long.ends_with('-'), "{long}");
        assert_eq!(slug(&"x".repeat(100)).len(), SLUG_MAX);
    }

    #[test]
    fn markdown_and_front_matter_escape_what_came_from_tickets() {
        assert_eq!(
            escape_markdown("<script>alert(1)</script> [x](javascript:alert(1)) *b* & `c`"),
            "&lt;script&gt;alert\\(1\\)&lt;/script&gt; \\[x\\]\\(javascript:alert\\(1\\)\\) \\*b\\* &amp; \\`c\\`"
        );
        assert_eq!(escape_markdown("a\nb\x1b[2J"), "a b\\\\u\\{1b\\}\\[2J");
        assert_eq!(escape_markdown("- Wi-Fi e.g. down"), "\\- Wi-Fi e.g. down");
        assert_eq!(escape_markdown("12. step"), "12\\. step");
        assert_eq!(escape_markdown("12 steps."), "12 steps.");
        assert_eq!(yaml_value("How do I print?"), "How do I print?");
        assert_eq!(yaml_value("Wi-Fi: no signal"), "\"Wi-Fi: no signal\"");
        assert_eq!(yaml_value("\"quoted\" # x"), "\"\\\"quoted\\\" # x\"");
        assert_eq!(yaml_value("yes"), "\"yes\"");
        assert_eq!(yaml_value("- item"), "\"- item\"");
    }

    #[test]
    fn a_draft_has_front_matter_evidence_and_steps() {
        let d = draft(&candidate(
            "How do I reset my password for the student portal? — I forgot it over the break",
        ));
        assert!(
            d.starts_with(
                "---\ntitle: How do I reset my password for the student portal?\ndraft: true\n\
             summary: Asked in 42 help-desk tickets by 37 people from 2025-09-01 to 2026-03-15 \
             (3.1% of all tickets).\n---\n# How do I reset my password for the student portal?\n"
            ),
            "{d}"
        );
        assert!(
            d.contains("- Tickets: 42 (3.1% of all tickets analysed)"),
            "{d}"
        );
        assert!(
            d.contains("- Related category: Accounts &gt; Passwords"),
            "{d}"
        );
        assert!(
            d.contains("\u{201c}Password reset &lt;b&gt;now&lt;/b&gt;\u{201d}"),
            "{d}"
        );
        assert!(d.contains("(in 68.0% of its resolved tickets)"), "{d}");
        assert!(d.contains("## Steps"), "{d}");
    }
}
