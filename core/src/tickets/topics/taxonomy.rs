//! The editable keyword taxonomy and how a ticket's text is matched against it.
//!
//! The default speaks both American and British school English (`new hire` and `new starter`,
//! `copier` and `photocopier`, `smartboard` and `interactive whiteboard`).
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
                        "interactive whiteboard",
                        "iwb",
                        "clevertouch",
                        "videoprojecteur",
                        "beamer",
                    ],
                    &[
                        "projector",
                        "smartboard",
                        "promethean",
                        "clevertouch",
                        "videoprojecteur",
                    ],
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
                        "photocopier",
                        "mfd",
                        "ink cartridge",
                        "imprimante",
                        "drucker",
                        "impresora",
                    ],
                    &[
                        "printer",
                        "toner",
                        "copier",
                        "photocopier",
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
                        "new starter",
                        "new joiner",
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

/// The words [`JOINS`] are made of, in their table order: a word's position here is its part.
static JOIN_WORDS: LazyLock<Vec<&str>> = LazyLock::new(|| {
    let mut words: Vec<&str> = Vec::new();
    for &(a, b, _) in JOINS {
        for w in [a, b] {
            if !words.contains(&w) {
                words.push(w);
            }
        }
    }
    words
});

/// Per pair of join parts (`first * parts + second`): the index of their join in [`JOINS`].
static JOIN_OF_PARTS: LazyLock<Vec<Option<u8>>> = LazyLock::new(|| {
    let parts = JOIN_WORDS.len();
    let part = |w: &str| JOIN_WORDS.iter().position(|&p| p == w).unwrap_or(0);
    let mut table = vec![None; parts * parts];
    for (j, &(a, b, _)) in JOINS.iter().enumerate() {
        table[part(a) * parts + part(b)] = Some(j as u8);
    }
    table
});

/// A word as [`terms`] reads it, before joins and stemming: lower case, accents folded,
/// misspellings corrected.
fn plain_word(w: &str) -> String {
    static MISSPELT: LazyLock<FastMap<&str, &str>> =
        LazyLock::new(|| MISSPELLINGS.iter().copied().collect());
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
}

/// The words of a text: runs of letters and digits.
fn split_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// The normalised terms of a text for taxonomy matching: whole words (letters and digits) in
/// lower case with accents folded, misspellings corrected, split compounds joined, stemmed.
pub fn terms(text: &str) -> Vec<String> {
    static JOINED: LazyLock<FastMap<(&str, &str), &str>> =
        LazyLock::new(|| JOINS.iter().map(|&(a, b, j)| ((a, b), j)).collect());
    let raw: Vec<String> = split_words(text).map(plain_word).collect();
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

/// A word [`TermCache`] has met (or a joined pair it has made).
#[derive(Debug)]
struct CachedWord {
    /// Its term, as [`terms`] gives it.
    term: String,
    /// Its index among the matcher's words ([`NO_WORD`] when no taxonomy term has it).
    id: u32,
    /// Its place in [`JOIN_WORDS`] when it can be half of a split compound.
    part: Option<u8>,
}

/// A text word that is in no taxonomy term.
const NO_WORD: u32 = u32::MAX;

/// [`terms`] and [`Matcher::find`] for many texts, each distinct word normalised once: its
/// folding, corrections and stemming are remembered the first time it is met (joins of two
/// words are made from the remembered parts). The terms are exactly those of [`terms`], and a
/// match exactly that of [`Matcher::find`] on them, whatever the cache has seen before.
#[derive(Debug)]
pub struct TermCache<'m> {
    matcher: &'m Matcher,
    /// A word as written → its entry in `words`.
    seen: FastMap<Box<str>, u32>,
    words: Vec<CachedWord>,
    /// Per entry of [`JOINS`]: its entry in `words`, once made.
    joined: Vec<u32>,
    /// Scratch: the entries of a subject and a body.
    subject: Vec<u32>,
    body: Vec<u32>,
}

impl<'m> TermCache<'m> {
    /// An empty cache for matching against `matcher`.
    pub fn new(matcher: &'m Matcher) -> Self {
        Self {
            matcher,
            seen: FastMap::default(),
            words: Vec::new(),
            joined: vec![NO_WORD; JOINS.len()],
            subject: Vec::new(),
            body: Vec::new(),
        }
    }

    fn add(&mut self, term: String, part: Option<u8>) -> u32 {
        let id = self.matcher.word_id(&term);
        self.words.push(CachedWord { term, id, part });
        (self.words.len() - 1) as u32
    }

    /// The entry of a word as written, made the first time it is met.
    fn word(&mut self, w: &str) -> u32 {
        if let Some(&e) = self.seen.get(w) {
            return e;
        }
        let plain = plain_word(w);
        let part = JOIN_WORDS.iter().position(|&p| p == plain).map(|p| p as u8);
        let e = self.add(stem_owned(plain), part);
        self.seen.insert(w.into(), e);
        e
    }

    /// The entry of split compound `j` of [`JOINS`].
    fn join(&mut self, j: usize) -> u32 {
        if self.joined[j] == NO_WORD {
            let e = self.add(stem(JOINS[j].2), None);
            self.joined[j] = e;
        }
        self.joined[j]
    }

    /// Replaces `out` with the entries of `text`'s terms.
    fn scan(&mut self, text: &str, out: &mut Vec<u32>) {
        out.clear();
        out.extend(split_words(text).map(|w| self.word(w)));
        // Joins, left to right as in `terms`: a pair read as one word is not read again.
        let parts = JOIN_WORDS.len();
        let (mut read, mut kept) = (0, 0);
        while read < out.len() {
            let mut e = out[read];
            read += 1;
            if read < out.len()
                && let (Some(a), Some(b)) = (
                    self.words[e as usize].part,
                    self.words[out[read] as usize].part,
                )
                && let Some(j) = JOIN_OF_PARTS[a as usize * parts + b as usize]
            {
                e = self.join(j as usize);
                read += 1;
            }
            out[kept] = e;
            kept += 1;
        }
        out.truncate(kept);
    }

    /// The terms of `text`, as [`terms`] gives them.
    pub fn terms(&mut self, text: &str) -> Vec<String> {
        let mut entries = Vec::new();
        self.scan(text, &mut entries);
        entries
            .iter()
            .map(|&e| self.words[e as usize].term.clone())
            .collect()
    }

    /// [`Matcher::find`] on the terms of `subject` and `body`.
    pub fn find(&mut self, subject: &str, body: &str) -> Option<TaxonomyMatch> {
        let (mut s, mut b) = (
            std::mem::take(&mut self.subject),
            std::mem::take(&mut self.body),
        );
        self.scan(subject, &mut s);
        self.scan(body, &mut b);
        for e in s.iter_mut().chain(b.iter_mut()) {
            *e = self.words[*e as usize].id;
        }
        let found = self.matcher.find_ids(&s, &b);
        (self.subject, self.body) = (s, b);
        found
    }
}

/// One term of the taxonomy, normalised.
#[derive(Debug)]
struct Term {
    /// Its words after [`terms`].
    words: Vec<String>,
    /// The same as indices into [`Matcher::words`].
    ids: Vec<u32>,
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
    /// The words of all terms, each once → its index.
    words: FastMap<String, u32>,
    /// Per word: the terms starting with it.
    first: Vec<Vec<u32>>,
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
                        ids: Vec::new(),
                        rule: r,
                        strong,
                        label: k.trim().to_lowercase(),
                    }),
                }
            }
        }
        let mut words: FastMap<String, u32> = FastMap::default();
        let mut first: Vec<Vec<u32>> = Vec::new();
        for (i, t) in list.iter_mut().enumerate() {
            t.ids = t
                .words
                .iter()
                .map(|w| {
                    let n = words.len() as u32;
                    *words.entry(w.clone()).or_insert(n)
                })
                .collect();
            first.resize(words.len(), Vec::new());
            first[t.ids[0] as usize].push(i as u32);
        }
        Self {
            terms: list,
            words,
            first,
            rules: taxonomy.topics.len(),
        }
    }

    /// The index of a term's word ([`NO_WORD`] when no taxonomy term has it).
    fn word_id(&self, term: &str) -> u32 {
        self.words.get(term).copied().unwrap_or(NO_WORD)
    }

    /// How the taxonomy writes term `i`.
    pub fn label(&self, i: u32) -> &str {
        &self.terms[i as usize].label
    }

    /// The topic of a ticket whose subject and body have the given [`terms`], when the
    /// evidence is enough: a phrase, two distinct terms, or a strong term in the subject.
    /// The best-scoring topic wins; earlier topics win ties.
    pub fn find(&self, subject: &[String], body: &[String]) -> Option<TaxonomyMatch> {
        let ids = |text: &[String]| -> Vec<u32> { text.iter().map(|w| self.word_id(w)).collect() };
        self.find_ids(&ids(subject), &ids(body))
    }

    /// [`Self::find`] with each word given by [`Self::word_id`]: the words no term has are
    /// all [`NO_WORD`], which no term's word equals.
    fn find_ids(&self, subject: &[u32], body: &[u32]) -> Option<TaxonomyMatch> {
        // Per matched term: (occurrences, seen in the subject).
        let mut hits: Vec<(u32, u32, bool)> = Vec::new();
        for (text, in_subject) in [(subject, true), (body, false)] {
            for p in 0..text.len() {
                let Some(candidates) = self.first.get(text[p] as usize) else {
                    continue;
                };
                for &c in candidates {
                    let w = &self.terms[c as usize].ids;
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
    fn cached_terms_and_matches_are_those_of_the_plain_path() {
        let texts = [
            "Pasword for my Chrome-Book; Wi-Fi & e-mail réseau",
            "wi fi down, WI FI down again, wi wi fi, fi wi",
            "log in box: log in, sign in, in box, on boarding, i ready, e mails",
            "chrome books and smart boards; grade book; e",
            "printr priner pritner PRNTER tonner wify emial emai acount outlok",
            "Imprimante cassée à l'école, Straße, œuvre, ÉCOLE, naïve café, Ångström",
            "İstanbul ǅemal ﬁle ½ ２０２４ x²",
            "printers printing printed batteries boxes jammed tunneling sharing shares",
            "status analysis access speed thinking ink",
            "Reset password — locked, MFA code please",
            "",
            " ,;:!? ",
            "the printer will not print",
            "printers out of toner, paper jam in room 12",
            "Projektor porjector projecter in salle xroom",
            "new staff account setup for the new hire",
        ];
        let m = Matcher::new(&Taxonomy::k12_default());
        // One cache for all the texts, in both orders: what it saw before changes nothing.
        let mut cache = TermCache::new(&m);
        for round in 0..2 {
            let order: Vec<&str> = if round == 0 {
                texts.to_vec()
            } else {
                texts.iter().rev().copied().collect()
            };
            for t in &order {
                assert_eq!(cache.terms(t), terms(t), "{t:?}");
                for b in &order {
                    assert_eq!(
                        cache.find(t, b),
                        m.find(&terms(t), &terms(b)),
                        "{t:?} / {b:?}"
                    );
                }
            }
        }
        // A fresh cache agrees with a used one.
        let mut fresh = TermCache::new(&m);
        for t in texts {
            assert_eq!(fresh.terms(t), cache.terms(t), "{t:?}");
        }
        assert_eq!(
            cache.terms("wi wi fi log in box"),
            ["wi", "wifi", "login", "box"]
        );
    }

    proptest::proptest! {
        #[test]
        fn cached_terms_agree_on_any_mix_of_words(
            picks in proptest::collection::vec((0usize..40, 0usize..6), 0..24),
            other in "\\PC{0,30}",
        ) {
            // Join halves, misspellings, accents, plurals and stop signs, in any order.
            const POOL: [&str; 40] = [
                "wi", "fi", "e", "mail", "mails", "chrome", "book", "books", "smart", "board",
                "log", "in", "sign", "on", "boarding", "i", "ready", "grade", "box", "WI",
                "pasword", "printr", "Wify", "emai", "réseau", "ÉCOLE", "Straße", "œuvre",
                "printers", "boxes", "batteries", "jammed", "sharing", "password", "mfa",
                "toner", "paper", "jam", "İ", "x2",
            ];
            const GLUE: [&str; 6] = [" ", "-", ", ", "  ", "\n", "é"];
            let mut text = String::new();
            for (w, g) in &picks {
                text.push_str(POOL[*w]);
                text.push_str(GLUE[*g]);
            }
            let m = Matcher::new(&Taxonomy::k12_default());
            let mut cache = TermCache::new(&m);
            for t in [text.as_str(), other.as_str(), text.as_str()] {
                proptest::prop_assert_eq!(cache.terms(t), terms(t));
                proptest::prop_assert_eq!(cache.find(t, &other), m.find(&terms(t), &terms(&other)));
            }
        }
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
    fn british_and_american_school_words_meet_the_same_topics() {
        let taxonomy = Taxonomy::k12_default();
        let m = Matcher::new(&taxonomy);
        let name = |i: Option<usize>| i.map(|i| taxonomy.topics[i].name.as_str());
        for (subject, body, topic) in [
            ("New starter - Ms Patel", "", "New staff accounts"),
            (
                "accounts",
                "please set up our new starters for Monday",
                "New staff accounts",
            ),
            (
                "",
                "two new joiners in the science department",
                "New staff accounts",
            ),
            ("", "our new hire needs a login", "New staff accounts"),
            ("Photocopier in the staff room", "", "Printers"),
            ("", "the photocopier says toner low", "Printers"),
            ("", "MFD on floor 2 will not print", "Printers"),
            (
                "",
                "the interactive whiteboard in B12 is blank",
                "Projectors & panels",
            ),
            ("Clevertouch frozen", "", "Projectors & panels"),
            (
                "",
                "IWB pen not working, projector ok",
                "Projectors & panels",
            ),
        ] {
            assert_eq!(
                name(find(&m, subject, body)),
                Some(topic),
                "{subject} / {body}"
            );
        }
        // One word of them is not enough, and a starter is not always a new one.
        assert_eq!(find(&m, "", "the starter motor of the minibus"), None);
        assert_eq!(find(&m, "", "see the joiner's invoice"), None);
        assert_eq!(find(&m, "", "the iwb"), None);
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
