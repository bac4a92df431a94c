//! The editable keyword taxonomy and how a ticket's text is matched against it.
//!
//! Matching works on whole words after [`terms`] normalisation: lower case, accents folded, a
//! few common misspellings corrected, split compounds joined (`wi fi` → `wifi`, `e mail` →
//! `email`) and a light English stemmer for plurals, `-ing` and `-ed`. A keyword never matches
//! inside another word (`ink` does not match `thinking`, `po` does not match `report`).
//!
//! One word is rarely enough evidence: a ticket gets a taxonomy topic when it contains one of
//! the topic's multi-word phrases, or two of its distinct terms, or one of its `strong` terms in
//! the subject.

use std::path::Path;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::tickets::FastMap;
use crate::{Error, Result};

/// One taxonomy topic: a name and keyword phrases (matched as whole words after normalisation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicRule {
    /// Topic name shown in reports.
    pub name: String,
    /// Keywords or short phrases. A ticket matches the topic when its text holds one of the
    /// multi-word phrases, or two distinct keywords (the highest score wins).
    pub keywords: Vec<String>,
    /// Terms distinctive enough to assign the topic alone when they appear in the subject
    /// (anywhere else they count as ordinary keywords).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strong: Vec<String>,
    /// Whether the topic is mostly about hardware (not a training matter).
    #[serde(default)]
    pub hardware: bool,
}

/// An editable keyword taxonomy, applied before clustering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    /// The topics, in priority order (earlier wins ties).
    #[serde(rename = "topic", default)]
    pub topics: Vec<TopicRule>,
}

impl Default for Taxonomy {
    fn default() -> Self {
        Self::k12_default()
    }
}

impl Taxonomy {
    /// The K-12 default: accounts and passwords/MFA, Chromebooks, projectors and panels, printers,
    /// Wi-Fi, learning platforms, SIS gradebook/attendance, SSO, e-mail, new staff accounts,
    /// testing platforms.
    pub fn k12_default() -> Self {
        let t = |name: &str, kws: &[&str], strong: &[&str], hardware: bool| TopicRule {
            name: name.into(),
            keywords: kws.iter().map(|s| s.to_string()).collect(),
            strong: strong.iter().map(|s| s.to_string()).collect(),
            hardware,
        };
        Taxonomy {
            topics: vec![
                t(
                    "Passwords & MFA",
                    &[
                        "password",
                        "passcode",
                        "mfa",
                        "two factor",
                        "2fa",
                        "authenticator",
                        "locked out",
                        "verification code",
                        "reset password",
                        "password reset",
                        "forgot password",
                        "password expired",
                        "mot de passe",
                        "passwort",
                        "contrasena",
                    ],
                    &["password", "passcode", "mfa", "2fa", "authenticator"],
                    false,
                ),
                t(
                    "Chromebooks",
                    &["chromebook", "cb cart", "chromeos", "chrome os"],
                    &["chromebook", "chromeos"],
                    true,
                ),
                t(
                    "Projectors & panels",
                    &[
                        "projector",
                        "smartboard",
                        "promethean",
                        "interactive panel",
                        "interactive display",
                        "hdmi",
                        "document camera",
                        "doc cam",
                        "videoprojecteur",
                        "beamer",
                    ],
                    &["projector", "smartboard", "promethean", "videoprojecteur"],
                    true,
                ),
                t(
                    "Printers",
                    &[
                        "printer",
                        "print",
                        "toner",
                        "paper jam",
                        "copier",
                        "ink cartridge",
                        "imprimante",
                        "drucker",
                        "impresora",
                    ],
                    &[
                        "printer",
                        "toner",
                        "copier",
                        "imprimante",
                        "drucker",
                        "impresora",
                    ],
                    true,
                ),
                t(
                    "Wi-Fi & network",
                    &[
                        "wifi",
                        "wireless",
                        "internet",
                        "network",
                        "ssid",
                        "access point",
                        "no connection",
                        "no internet",
                        "internet connection",
                        "reseau",
                    ],
                    &["wifi", "ssid", "wireless", "internet"],
                    false,
                ),
                t(
                    "Learning platforms (Classroom, Canvas, Schoology)",
                    &[
                        "google classroom",
                        "classroom",
                        "canvas",
                        "schoology",
                        "seesaw",
                        "moodle",
                        "lms",
                    ],
                    &["schoology", "seesaw", "moodle"],
                    false,
                ),
                t(
                    "SIS: gradebook & attendance",
                    &[
                        "gradebook",
                        "grades",
                        "attendance",
                        "powerschool",
                        "infinite campus",
                        "skyward",
                        "report card",
                        "sis",
                    ],
                    &["gradebook", "powerschool", "skyward"],
                    false,
                ),
                t(
                    "Single sign-on",
                    &[
                        "sso",
                        "single sign on",
                        "clever",
                        "classlink",
                        "saml",
                        "badge login",
                    ],
                    &["sso", "classlink", "saml"],
                    false,
                ),
                t(
                    "E-mail",
                    &[
                        "email",
                        "gmail",
                        "outlook",
                        "inbox",
                        "mailbox",
                        "distribution list",
                        "courriel",
                    ],
                    &["gmail", "inbox", "mailbox"],
                    false,
                ),
                t(
                    "New staff accounts",
                    &[
                        "new staff",
                        "new hire",
                        "new teacher",
                        "new employee",
                        "account setup",
                        "create account",
                        "onboarding",
                        "substitute account",
                    ],
                    &["onboarding"],
                    false,
                ),
                t(
                    "Testing platforms",
                    &[
                        "state test",
                        "state testing",
                        "assessment",
                        "map growth",
                        "nwea",
                        "iready",
                        "star testing",
                        "lockdown browser",
                        "testnav",
                        "proctor",
                    ],
                    &["nwea", "iready", "testnav"],
                    false,
                ),
            ],
        }
    }

    /// Reads a taxonomy from TOML (`[[topic]] name, keywords, strong, hardware`; `strong` and
    /// `hardware` are optional).
    pub fn from_toml(text: &str) -> Result<Self> {
        let t: Taxonomy = toml::from_str(text).map_err(|e: toml::de::Error| {
            // The position and the parser's message, not its snippet of the line: a line can
            // be megabytes long.
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: ")
                })
                .unwrap_or_default();
            Error::invalid(
                "taxonomy",
                format!("{at}{}", crate::text::excerpt(e.message().trim_end())),
            )
        })?;
        if t.topics.iter().any(|r| r.keywords.is_empty()) {
            return Err(Error::invalid(
                "taxonomy",
                "every topic needs at least one keyword",
            ));
        }
        Ok(t)
    }

    /// Reads a taxonomy file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        Self::from_toml(&text)
            .map_err(|e| Error::invalid("taxonomy", format!("{}: {e}", path.display())))
    }

    /// The taxonomy as TOML, to edit and pass back.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

/// Common misspellings, corrected before stemming.
const MISSPELLINGS: &[(&str, &str)] = &[
    ("pasword", "password"),
    ("passwrod", "password"),
    ("passowrd", "password"),
    ("pssword", "password"),
    ("passord", "password"),
    ("paswords", "passwords"),
    ("printr", "printer"),
    ("priner", "printer"),
    ("pritner", "printer"),
    ("prnter", "printer"),
    ("projecter", "projector"),
    ("porjector", "projector"),
    ("projektor", "projector"),
    ("chromebok", "chromebook"),
    ("chrombook", "chromebook"),
    ("cromebook", "chromebook"),
    ("emial", "email"),
    ("emai", "email"),
    ("attendence", "attendance"),
    ("atendance", "attendance"),
    ("gradbook", "gradebook"),
    ("netwrok", "network"),
    ("newtork", "network"),
    ("internt", "internet"),
    ("interent", "internet"),
    ("tonner", "toner"),
    ("wify", "wifi"),
    ("acount", "account"),
    ("accout", "account"),
    ("outlok", "outlook"),
];

/// Pairs of words written apart that mean one word; joined before matching.
const JOINS: &[(&str, &str, &str)] = &[
    ("wi", "fi", "wifi"),
    ("e", "mail", "email"),
    ("e", "mails", "email"),
    ("chrome", "book", "chromebook"),
    ("chrome", "books", "chromebook"),
    ("smart", "board", "smartboard"),
    ("smart", "boards", "smartboard"),
    ("grade", "book", "gradebook"),
    ("i", "ready", "iready"),
    ("in", "box", "inbox"),
    ("log", "in", "login"),
    ("sign", "in", "signin"),
    ("on", "boarding", "onboarding"),
];

/// Folds the accents of Latin letters (`é` → `e`, `ß` → `ss`).
fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' => out.push('i'),
            'ñ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'ß' => out.push_str("ss"),
            'œ' => out.push_str("oe"),
            c => out.push(c),
        }
    }
    out
}

fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// A light English stemmer: plurals, `-ing`, `-ed` and a final `e` removed, so that
/// `printers`/`printer`, `printing`/`printed`/`print`, `shares`/`sharing`/`share` meet, while
/// short words and words that only look inflected (`status`, `analysis`, `speed`) stay.
pub fn stem(word: &str) -> String {
    stem_owned(word.to_string())
}

/// [`stem`] of a word already owned (no copy).
fn stem_owned(mut w: String) -> String {
    let n = w.len();
    if n <= 3 || !w.is_ascii() {
        return w;
    }
    // Plurals.
    if w.ends_with("ies") && n > 4 {
        w.truncate(n - 3);
        w.push('y');
    } else if ["sses", "xes", "ches", "shes", "zes"]
        .iter()
        .any(|s| w.ends_with(s))
    {
        w.truncate(n - 2);
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        w.truncate(n - 1);
    }
    // -ing and -ed, keeping a stem of three letters with a vowel.
    let strip = |w: &mut String, suffix: &str| -> bool {
        if !w.ends_with(suffix) {
            return false;
        }
        let stem = &w[..w.len() - suffix.len()];
        if stem.len() < 3 || !stem.bytes().any(is_vowel) || stem.ends_with('e') {
            return false;
        }
        w.truncate(stem.len());
        // "jamming" → "jam", "tunnelling" → "tunnel"; "install", "access" keep theirs.
        let b = w.as_bytes();
        let l = b.len();
        if l >= 2
            && b[l - 1] == b[l - 2]
            && !is_vowel(b[l - 1])
            && !matches!(b[l - 1], b'l' | b's' | b'z')
        {
            w.truncate(l - 1);
        }
        true
    };
    if w.ends_with("ied") && w.len() > 4 {
        let l = w.len();
        w.truncate(l - 3);
        w.push('y');
    } else if !strip(&mut w, "ing") && !w.ends_with("eed") {
        strip(&mut w, "ed");
    }
    // A final e: "share"/"sharing"/"shared" → "shar".
    if w.len() >= 5 && w.ends_with('e') && !w.ends_with("ee") {
        w.pop();
    }
    w
}

/// The normalised terms of a text for taxonomy matching: whole words (letters and digits) in
/// lower case with accents folded, misspellings corrected, split compounds joined, stemmed.
pub fn terms(text: &str) -> Vec<String> {
    // Tables as maps: a ticket's every word is looked up in them.
    static MISSPELT: LazyLock<FastMap<&str, &str>> =
        LazyLock::new(|| MISSPELLINGS.iter().copied().collect());
    static JOINED: LazyLock<FastMap<(&str, &str), &str>> =
        LazyLock::new(|| JOINS.iter().map(|&(a, b, j)| ((a, b), j)).collect());
    let raw: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            // Nothing to fold in an ASCII word: one copy, not three.
            let w = if w.is_ascii() {
                w.to_ascii_lowercase()
            } else {
                fold(&w.to_lowercase())
            };
            match MISSPELT.get(w.as_str()) {
                Some(good) => (*good).to_string(),
                None => w,
            }
        })
        .collect();
    let mut out = Vec::with_capacity(raw.len());
    let mut raw = raw.into_iter().peekable();
    while let Some(word) = raw.next() {
        if let Some(next) = raw.peek()
            && let Some(joined) = JOINED.get(&(word.as_str(), next.as_str()))
        {
            out.push(stem(joined));
            raw.next();
            continue;
        }
        out.push(stem_owned(word));
    }
    out
}

/// One term of the taxonomy, normalised.
#[derive(Debug)]
struct Term {
    /// Its words after [`terms`].
    words: Vec<String>,
    /// The topic it belongs to.
    rule: usize,
    /// Enough alone in the subject.
    strong: bool,
    /// How the taxonomy writes it (its first spelling).
    label: String,
}

/// A ticket's taxonomy topic and the evidence for it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxonomyMatch {
    /// The topic's index in the taxonomy.
    pub rule: usize,
    /// The matched words: each occurrence of a term counts its number of words.
    pub score: f32,
    /// The terms that matched (indices for [`Matcher::label`]).
    pub terms: Vec<u32>,
}

/// A taxonomy compiled for matching.
#[derive(Debug)]
pub struct Matcher {
    terms: Vec<Term>,
    /// First word → the terms starting with it.
    first: FastMap<String, Vec<u32>>,
    rules: usize,
}

impl Matcher {
    /// Compiles `taxonomy`: each keyword and strong term normalised with [`terms`]; spellings
    /// of one topic that normalise alike are one term.
    pub fn new(taxonomy: &Taxonomy) -> Self {
        let mut list: Vec<Term> = Vec::new();
        for (r, rule) in taxonomy.topics.iter().enumerate() {
            let spellings = rule
                .keywords
                .iter()
                .map(|k| (k, false))
                .chain(rule.strong.iter().map(|k| (k, true)));
            for (k, strong) in spellings {
                let words = terms(k);
                if words.is_empty() {
                    continue;
                }
                match list.iter_mut().find(|t| t.rule == r && t.words == words) {
                    Some(t) => t.strong |= strong,
                    None => list.push(Term {
                        words,
                        rule: r,
                        strong,
                        label: k.trim().to_lowercase(),
                    }),
                }
            }
        }
        let mut first: FastMap<String, Vec<u32>> = FastMap::default();
        for (i, t) in list.iter().enumerate() {
            first.entry(t.words[0].clone()).or_default().push(i as u32);
        }
        Self {
            terms: list,
            first,
            rules: taxonomy.topics.len(),
        }
    }

    /// How the taxonomy writes term `i`.
    pub fn label(&self, i: u32) -> &str {
        &self.terms[i as usize].label
    }

    /// The topic of a ticket whose subject and body have the given [`terms`], when the
    /// evidence is enough: a phrase, two distinct terms, or a strong term in the subject.
    /// The best-scoring topic wins; earlier topics win ties.
    pub fn find(&self, subject: &[String], body: &[String]) -> Option<TaxonomyMatch> {
        // Per matched term: (occurrences, seen in the subject).
        let mut hits: Vec<(u32, u32, bool)> = Vec::new();
        for (text, in_subject) in [(subject, true), (body, false)] {
            for p in 0..text.len() {
                let Some(candidates) = self.first.get(&text[p]) else {
                    continue;
                };
                for &c in candidates {
                    let w = &self.terms[c as usize].words;
                    if text.len() >= p + w.len() && text[p..p + w.len()] == w[..] {
                        match hits.iter_mut().find(|h| h.0 == c) {
                            Some(h) => {
                                h.1 += 1;
                                h.2 |= in_subject;
                            }
                            None => hits.push((c, 1, in_subject)),
                        }
                    }
                }
            }
        }
        if hits.is_empty() {
            return None;
        }
        let mut best: Option<(usize, f32)> = None;
        for r in 0..self.rules {
            let mine = hits.iter().filter(|h| self.terms[h.0 as usize].rule == r);
            let (mut distinct, mut phrase, mut strong, mut score) = (0, false, false, 0.0f32);
            for &(c, n, in_subject) in mine {
                let t = &self.terms[c as usize];
                distinct += 1;
                phrase |= t.words.len() >= 2;
                strong |= t.strong && in_subject;
                score += (n as usize * t.words.len()) as f32;
            }
            if (phrase || distinct >= 2 || strong) && best.is_none_or(|(_, s)| score > s) {
                best = Some((r, score));
            }
        }
        let (rule, score) = best?;
        let mut matched: Vec<u32> = hits
            .iter()
            .filter(|h| self.terms[h.0 as usize].rule == rule)
            .map(|h| h.0)
            .collect();
        matched.sort_unstable();
        Some(TaxonomyMatch {
            rule,
            score,
            terms: matched,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(m: &Matcher, subject: &str, body: &str) -> Option<usize> {
        m.find(&terms(subject), &terms(body)).map(|x| x.rule)
    }

    #[test]
    fn stems_plurals_ing_and_ed_lightly() {
        for (w, s) in [
            ("printers", "printer"),
            ("printing", "print"),
            ("printed", "print"),
            ("batteries", "battery"),
            ("boxes", "box"),
            ("jammed", "jam"),
            ("tunneling", "tunnel"),
            ("sharing", "shar"),
            ("shares", "shar"),
            ("status", "status"),
            ("analysis", "analysis"),
            ("access", "access"),
            ("speed", "speed"),
            ("thinking", "think"),
            ("ink", "ink"),
        ] {
            assert_eq!(stem(w), s, "{w}");
        }
        assert_eq!(
            terms("Pasword for my Chrome-Book; Wi-Fi & e-mail réseau"),
            [
                "password",
                "for",
                "my",
                "chromebook",
                "wifi",
                "email",
                "reseau"
            ]
        );
    }

    #[test]
    fn matches_whole_words_never_inside_other_words() {
        let tax = Taxonomy {
            topics: vec![
                TopicRule {
                    name: "Ink".into(),
                    keywords: vec!["ink".into(), "toner".into()],
                    strong: vec!["ink".into()],
                    hardware: true,
                },
                TopicRule {
                    name: "Purchase orders".into(),
                    keywords: vec!["po".into(), "purchase order".into(), "invoice".into()],
                    strong: vec!["po".into()],
                    hardware: false,
                },
            ],
        };
        let m = Matcher::new(&tax);
        assert_eq!(find(&m, "ink", ""), Some(0));
        assert_eq!(
            find(&m, "thinking about toner", "shrinking rethinking"),
            None
        );
        assert_eq!(find(&m, "report", "reports reported po"), None);
        assert_eq!(find(&m, "po 4411 stuck", ""), Some(1));
        assert_eq!(
            find(&m, "monthly report", "the purchase order is late"),
            Some(1)
        );
    }

    #[test]
    fn one_ordinary_word_is_not_enough_evidence() {
        let m = Matcher::new(&Taxonomy::k12_default());
        let printers = 3;
        // One ordinary term in the body: no topic.
        assert_eq!(find(&m, "", "please print the attached form"), None);
        // A strong term in the subject, two distinct terms, or a phrase: the topic.
        assert_eq!(find(&m, "Printer offline", ""), Some(printers));
        assert_eq!(
            find(&m, "", "the printer, the other printer"),
            None,
            "one term twice"
        );
        assert_eq!(find(&m, "", "the printer will not print"), Some(printers));
        assert_eq!(find(&m, "", "printers out of toner"), Some(printers));
        assert_eq!(find(&m, "", "paper jam in room 12"), Some(printers));
        // A strong term anywhere else is an ordinary term.
        assert_eq!(find(&m, "help", "printer"), None);
        // The false matches met on real tickets.
        assert_eq!(find(&m, "", "prod servers tunneling prod tunneling"), None);
        assert_eq!(find(&m, "", "new purchase po purchase po"), None);
        assert_eq!(
            find(&m, "", "direct reports missing time please action"),
            None
        );
        assert_eq!(find(&m, "", "access for secondary secondary"), None);
        let got = m
            .find(&terms("Reset password"), &terms("locked, MFA code please"))
            .unwrap();
        assert_eq!(got.rule, 0);
        let labels: Vec<&str> = got.terms.iter().map(|&t| m.label(t)).collect();
        assert_eq!(labels, ["password", "mfa", "reset password"]);
        assert_eq!(got.score, 1.0 + 1.0 + 2.0);
    }

    #[test]
    fn taxonomy_round_trips_through_toml_and_reads_files_without_strong() {
        let t = Taxonomy::k12_default();
        let text = t.to_toml();
        assert!(text.contains("strong = ["), "{text}");
        assert_eq!(Taxonomy::from_toml(&text).unwrap(), t);
        let old = Taxonomy::from_toml("[[topic]]\nname = \"x\"\nkeywords = [\"a b\"]\n").unwrap();
        assert!(old.topics[0].strong.is_empty() && !old.topics[0].hardware);
        assert!(Taxonomy::from_toml("[[topic]]\nname = \"x\"\nkeywords = []\n").is_err());
        assert!(
            Taxonomy::from_toml("[[topic]]\nname = \"x\"\nkeywords = [\"a\"]\ncolour = 1\n")
                .is_err()
        );
    }
}
