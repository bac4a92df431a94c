//! Recurring topics: text normalisation, an editable keyword taxonomy, near-duplicate groups
//! (MinHash LSH) and TF-IDF + spherical k-means clusters for whatever the taxonomy misses.
//!
//! Deterministic for a given seed: the only parallel steps are per-document maps; every
//! reduction runs in document order.

pub mod automated;
mod boilerplate;
pub mod taxonomy;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use rust_stemmers::{Algorithm, Stemmer};
use serde::Serialize;

use super::{FastMap, FastSet, Ticket, stats};
use crate::Result;

pub use taxonomy::{Taxonomy, TopicRule};

/// Topic modelling settings.
#[derive(Debug, Clone)]
pub struct TopicOptions {
    /// Keyword taxonomy applied first.
    pub taxonomy: Taxonomy,
    /// Number of clusters for tickets the taxonomy misses (chosen from the data when `None`:
    /// see [`TopicModel::k_choice`]).
    pub k: Option<usize>,
    /// Cluster every ticket, not only those the taxonomy misses.
    pub cluster_all: bool,
    /// TF-IDF vocabulary cap (uni- and bigrams, by document frequency).
    pub max_features: usize,
    /// Random seed (k-means++ initialisation, sampling, MinHash).
    pub seed: u64,
    /// Smallest near-duplicate group reported.
    pub min_group: usize,
    /// Estimated Jaccard similarity that makes two tickets near-duplicates.
    pub duplicate_threshold: f64,
    /// k-means iterations at most.
    pub max_iter: usize,
    /// Distinct texts k-means trains on (the rest are assigned afterwards).
    pub train_sample: usize,
    /// k-means runs from different seeded starts; the one whose texts are closest to their
    /// centres is kept.
    pub restarts: usize,
}

impl Default for TopicOptions {
    fn default() -> Self {
        Self {
            taxonomy: Taxonomy::k12_default(),
            k: None,
            cluster_all: false,
            max_features: 50_000,
            seed: 42,
            min_group: 5,
            duplicate_threshold: 0.6,
            max_iter: 30,
            train_sample: 20_000,
            restarts: 3,
        }
    }
}

/// Where a topic comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TopicSource {
    /// The keyword taxonomy.
    Taxonomy,
    /// A TF-IDF k-means cluster.
    Cluster,
}

/// A topic and what is known about its tickets.
#[derive(Debug, Clone, Serialize)]
pub struct Topic {
    /// Name (taxonomy name, or the cluster's top terms).
    pub name: String,
    /// Taxonomy or cluster.
    pub source: TopicSource,
    /// Tickets.
    pub tickets: usize,
    /// Distinct (hashed) requesters of the tickets people wrote (a device's alert mails are
    /// not its evidence: see [`Topic::automated`]).
    pub distinct_requesters: usize,
    /// Most characteristic terms.
    pub top_terms: Vec<String>,
    /// For a taxonomy topic: the terms that matched its tickets, most tickets first (empty for
    /// a cluster).
    pub matched_terms: Vec<MatchedTerm>,
    /// The medoid ticket's subject (or the first words of its body).
    pub example: String,
    /// Mostly hardware.
    pub hardware: bool,
    /// Share of the tickets people wrote worded as how-to questions.
    pub how_to_share: f64,
    /// Median hours from opening to resolution of the tickets people wrote, when known (alert
    /// mails closed on arrival would make a topic look quickly solved).
    pub median_handling_hours: Option<f64>,
    /// Of its tickets, those a device or a monitoring system sent, not a person (alert and
    /// recovery mails, notices generated automatically: see [`automated`]).
    pub automated: usize,
}

impl Topic {
    /// At least half of its tickets were sent by a device or a monitoring system: not a
    /// training or help-page matter.
    pub fn mostly_automated(&self) -> bool {
        2 * self.automated >= self.tickets
    }

    /// Its tickets a person wrote: those its requesters, how-to share and handling time are
    /// read from.
    pub fn by_people(&self) -> usize {
        self.tickets.saturating_sub(self.automated)
    }
}

/// A taxonomy term that matched, and in how many of the topic's tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchedTerm {
    /// The term as the taxonomy writes it.
    pub term: String,
    /// Tickets of the topic it matched in.
    pub tickets: usize,
}

/// How a ticket got its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssignmentSource {
    /// The keyword taxonomy matched its text.
    Taxonomy,
    /// It belongs to a reported near-duplicate group, whose clustered tickets share the
    /// cluster most of them fell in.
    NearDuplicate,
    /// TF-IDF k-means put it in the cluster.
    Cluster,
}

impl AssignmentSource {
    /// `taxonomy`, `near-duplicate` or `cluster`.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentSource::Taxonomy => "taxonomy",
            AssignmentSource::NearDuplicate => "near-duplicate",
            AssignmentSource::Cluster => "cluster",
        }
    }
}

/// One ticket's topic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketAssignment {
    /// The ticket's id in the export.
    pub ticket: String,
    /// Its topic's name (`None` when it has no text to go by).
    pub topic: Option<std::sync::Arc<str>>,
    /// How it got the topic (`None` with no topic).
    pub source: Option<AssignmentSource>,
    /// The evidence: for the taxonomy, the matched words (each occurrence of a term counts its
    /// words); for a cluster or near-duplicate group, the cosine similarity of the ticket's
    /// TF-IDF vector to the cluster's centre (0 to 1). 0 with no topic.
    pub score: f32,
}

/// Tickets that ask (nearly) the same thing.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateGroup {
    /// Tickets in the group.
    pub tickets: usize,
    /// Distinct texts in the group (after normalisation).
    pub distinct_texts: usize,
    /// Distinct requesters.
    pub distinct_requesters: usize,
    /// The most frequent wording.
    pub question: String,
    /// The topic most of its tickets have.
    pub topic: Option<String>,
    /// The most frequent resolution, if resolutions were exported.
    pub resolution: Option<String>,
    /// Share of resolved tickets sharing that resolution's wording.
    pub resolution_consistency: Option<f64>,
    /// Most of its tickets were sent by a device or a monitoring system (see [`automated`]):
    /// the same notice again, not a question.
    pub automated: bool,
}

/// The topic model of a ticket set.
///
/// Serialises as an object with `topics`, `groups`, `assignments` (see [`Self::per_ticket`]),
/// `distinct_texts`, `features`, `clustered`, `k` and `k_choice`.
#[derive(Debug, Clone)]
pub struct TopicModel {
    /// Topics by size (taxonomy topics and clusters together).
    pub topics: Vec<Topic>,
    /// Near-duplicate groups by size.
    pub groups: Vec<DuplicateGroup>,
    /// Per ticket: index into `topics` (`u32::MAX` when the ticket has no text).
    pub assignments: Vec<u32>,
    /// Per ticket, in ticket order: its id, topic, how it got it and the score.
    ///
    /// Serialised as `assignments`, in columns of one value per ticket (in ticket order):
    /// `{"ticket": [ids], "topic": [index into topics, or null], "source": ["taxonomy",
    /// "near-duplicate", "cluster" or null], "score": [numbers rounded to four decimals]}`.
    pub per_ticket: Vec<TicketAssignment>,
    /// Per ticket: index into `groups` (`u32::MAX` when in none).
    pub ticket_group: Vec<u32>,
    /// Distinct normalised texts.
    pub distinct_texts: usize,
    /// TF-IDF features used.
    pub features: usize,
    /// Tickets clustered by k-means.
    pub clustered: usize,
    /// The k used.
    pub k: usize,
    /// How k was chosen from the data (`None` when it was given).
    pub k_choice: Option<KChoice>,
}

impl TopicModel {
    /// Per ticket: its topic name.
    pub fn assignment_labels(&self) -> Vec<Option<&str>> {
        self.assignments
            .iter()
            .map(|&a| self.topics.get(a as usize).map(|t| t.name.as_str()))
            .collect()
    }

    /// The topic of ticket `i`.
    pub fn topic_of(&self, i: usize) -> Option<&Topic> {
        self.topics.get(*self.assignments.get(i)? as usize)
    }

    /// Writes the per-ticket assignments as CSV: a `ticket,topic,source,score` header, then one
    /// row per ticket in ticket order (topic and source empty for a ticket without one; the
    /// score with four decimals). Fields are quoted when they hold a comma, a quote, a line
    /// break or edge spaces.
    pub fn write_assignments_csv(&self, mut out: impl std::io::Write) -> std::io::Result<()> {
        fn field(out: &mut impl std::io::Write, s: &str) -> std::io::Result<()> {
            let quote = s.contains([',', '"', '\n', '\r']) || s.trim() != s;
            if quote {
                write!(out, "\"{}\"", s.replace('"', "\"\""))
            } else {
                out.write_all(s.as_bytes())
            }
        }
        out.write_all(b"ticket,topic,source,score\n")?;
        for a in &self.per_ticket {
            field(&mut out, &a.ticket)?;
            out.write_all(b",")?;
            field(&mut out, a.topic.as_deref().unwrap_or(""))?;
            writeln!(
                out,
                ",{},{:.4}",
                a.source.map_or("", AssignmentSource::as_str),
                a.score
            )?;
        }
        out.flush()
    }

    /// Writes [`Self::write_assignments_csv`] to a file.
    pub fn save_assignments_csv(&self, path: &std::path::Path) -> Result<()> {
        let file = std::fs::File::create(path)
            .map_err(|e| crate::Error::io(format!("writing {}", path.display()), e))?;
        self.write_assignments_csv(std::io::BufWriter::new(file))
            .map_err(|e| crate::Error::io(format!("writing {}", path.display()), e))
    }
}

impl Serialize for TopicModel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        // Every field named: a new one must be placed here too.
        let TopicModel {
            topics,
            groups,
            assignments,
            per_ticket,
            ticket_group: _,
            distinct_texts,
            features,
            clustered,
            k,
            k_choice,
        } = self;
        let mut o = s.serialize_struct("TopicModel", 8)?;
        o.serialize_field("topics", topics)?;
        o.serialize_field("groups", groups)?;
        o.serialize_field(
            "assignments",
            &AssignmentColumns {
                topics: assignments,
                rows: per_ticket,
            },
        )?;
        o.serialize_field("distinct_texts", distinct_texts)?;
        o.serialize_field("features", features)?;
        o.serialize_field("clustered", clustered)?;
        o.serialize_field("k", k)?;
        o.serialize_field("k_choice", k_choice)?;
        o.end()
    }
}

/// The per-ticket assignments in columns (see [`TopicModel::per_ticket`]).
struct AssignmentColumns<'a> {
    /// Per ticket: index into the topics (`u32::MAX` for none).
    topics: &'a [u32],
    rows: &'a [TicketAssignment],
}

impl Serialize for AssignmentColumns<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        /// One column: a value per ticket.
        struct Column<I>(I);
        impl<T: Serialize, I: Iterator<Item = T> + Clone> Serialize for Column<I> {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                s.collect_seq(self.0.clone())
            }
        }
        let rows = self.rows.iter();
        let mut o = s.serialize_struct("Assignments", 4)?;
        o.serialize_field("ticket", &Column(rows.clone().map(|a| a.ticket.as_str())))?;
        o.serialize_field(
            "topic",
            &Column(
                (0..self.rows.len())
                    .map(|i| self.topics.get(i).copied().filter(|&t| t != u32::MAX)),
            ),
        )?;
        o.serialize_field(
            "source",
            &Column(rows.clone().map(|a| a.source.map(AssignmentSource::as_str))),
        )?;
        o.serialize_field(
            "score",
            &Column(rows.map(|a| (f64::from(a.score) * 1e4).round() / 1e4)),
        )?;
        o.end()
    }
}

pub(crate) const STOPWORDS: &[&str] = &[
    "a", "about", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at",
    "be", "been", "before", "being", "but", "by", "can", "could", "did", "do", "does", "doing",
    "don", "for", "from", "get", "got", "had", "has", "have", "having", "he", "her", "here", "hi",
    "hello", "him", "his", "how", "i", "if", "im", "in", "into", "is", "it", "its", "just", "me",
    "my", "need", "needs", "no", "not", "now", "of", "on", "one", "or", "our", "out", "please",
    "pls", "she", "so", "some", "still", "than", "thank", "thanks", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "to", "today", "too", "up", "us", "very", "was",
    "we", "were", "what", "when", "where", "which", "who", "why", "will", "with", "would", "you",
    "your", "yes", "le", "la", "les", "de", "des", "du", "un", "une", "et", "est", "pas", "ne",
    "je", "il", "en", "dans", "pour", "sur", "au", "aux", "merci", "bonjour", "der", "die", "das",
    "und", "ist", "nicht", "el", "los", "las", "que", "por", "con", "para", "xemail", "xurl",
    "xasset", "xroom", "xnum",
];

/// Phrases that word a ticket as a how-to question, matched as whole words in its lower-cased
/// text: English, French, German and Spanish (the languages the ingest detects). A word that is
/// also an English one (`comment`) counts only with the words a question goes on with.
const HOW_TO: &[&str] = &[
    "how do",
    "how to",
    "how can",
    "how does",
    "how should",
    "how would",
    "where do",
    "where can",
    "where is",
    "can't find",
    "cannot find",
    "can not find",
    "is there a way",
    "what is the",
    "help me",
    "show me",
    "forgot",
    "forgotten",
    "comment faire",
    "comment puis",
    "comment je",
    "comment on fait",
    "comment on peut",
    "comment est-ce",
    "comment peut",
    "comment se",
    "comment ajouter",
    "comment installer",
    "comment changer",
    "comment modifier",
    "comment activer",
    "comment acceder",
    "comment accéder",
    "où trouver",
    "ou trouver",
    "wie kann",
    "wie mache",
    "wie geht",
    "wie funktioniert",
    "wie richte",
    "wo finde",
    "cómo puedo",
    "como puedo",
    "cómo se",
    "cómo hago",
    "como hago",
    "dónde encuentro",
    "donde encuentro",
];

/// [`HOW_TO`], searched in one pass.
static HOW_TO_PHRASES: std::sync::LazyLock<aho_corasick::AhoCorasick> =
    std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(HOW_TO)
            .expect("the how-to phrases build")
    });

const HARDWARE_WORDS: &[&str] = &[
    "broken", "cracked", "screen", "cable", "charger", "charging", "keyboard", "battery",
    "replace", "hinge", "bulb", "lamp", "toner", "jam", "power", "damaged", "hardware",
];

/// Normalises a ticket text: quoted replies and signatures removed; e-mails, URLs, asset tags and
/// room numbers replaced by `xemail`, `xurl`, `xasset`, `xroom`; lower case; one line.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev_room = false;
    for (n, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('>') {
            continue;
        }
        let low = l.to_lowercase();
        if n > 0 && boilerplate::is_cut_line(&low) {
            break;
        }
        if boilerplate::is_skip_line(&low) {
            continue;
        }
        for word in low.split_whitespace() {
            let w = word.trim_matches(|c: char| {
                matches!(
                    c,
                    ',' | '.' | ';' | ':' | '(' | ')' | '"' | '\'' | '!' | '?'
                )
            });
            // Byte scans: words are short, and ASCII bytes never occur inside a multi-byte char.
            let has = |c: u8| w.bytes().any(|b| b == c);
            let placeholder = if has(b'@') && has(b'.') {
                Some("xemail")
            } else if w.starts_with("http://") || w.starts_with("https://") || w.starts_with("www.")
            {
                Some("xurl")
            } else if prev_room && w.bytes().any(|b| b.is_ascii_digit()) {
                // "room 114", "rm 12b": the number after a room word.
                out.truncate(out.trim_end().rfind(' ').map(|i| i + 1).unwrap_or(0));
                Some("xroom")
            } else if is_asset_tag(w) {
                Some("xasset")
            } else {
                None
            };
            prev_room = matches!(
                w,
                "room" | "rm" | "salle" | "raum" | "aula" | "classroom" | "lab" | "portable"
            );
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            out.push_str(placeholder.unwrap_or(word));
        }
    }
    out
}

fn is_asset_tag(w: &str) -> bool {
    // ASCII digits and letters are single bytes: counted over the bytes.
    let digits = w.bytes().filter(u8::is_ascii_digit).count();
    if digits < 4 {
        return false;
    }
    let letters = w.bytes().filter(u8::is_ascii_alphabetic).count();
    let others = w.chars().count() - digits - letters;
    letters <= 5 && others <= 2 && !w.bytes().any(|b| b == b':' || b == b'/')
}

fn is_how_to(raw: &str) -> bool {
    let mut low = raw.to_lowercase();
    if low.contains('\u{2019}') {
        low = low.replace('\u{2019}', "'");
    }
    // Whole words: "show today" holds no "how to", nor "comment floor" a French question.
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '\'');
    HOW_TO_PHRASES.find_overlapping_iter(&low).any(|m| {
        !word(low[..m.start()].chars().next_back()) && !word(low[m.end()..].chars().next())
    }) || (low.trim_end().ends_with('?') && low.split_whitespace().count() <= 20)
}

/// Splits normalised text into lower-case word tokens (letters/digits), dropping stop words,
/// numbers and one-letter words.
///
/// Greetings, sign-offs, mail headers, months, weekdays, am/pm and numeric dates and times are
/// dropped too (two-word formulas such as "best regards" or "importance high" together), and so
/// are mail disclaimers inside a line (three words only a legal notice puts together, such as
/// "confidential", "privileged" and "addressee", start one).
pub fn words(normalised: &str) -> impl Iterator<Item = &str> {
    let all: Vec<&str> = normalised
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let disclaimer = boilerplate::disclaimer_mask(&all);
    let mut raw = all
        .into_iter()
        .zip(disclaimer)
        .filter(|(_, d)| !d)
        .map(|(w, _)| w)
        .peekable();
    std::iter::from_fn(move || {
        loop {
            let w = raw.next()?;
            if let Some(&next) = raw.peek()
                && boilerplate::is_noise_pair(w, next)
            {
                raw.next();
                continue;
            }
            if w.len() >= 2
                && !w.bytes().all(|b| b.is_ascii_digit())
                && !STOPWORD_SET.contains(w)
                && !boilerplate::is_noise_word(w)
                && !boilerplate::is_date_or_time(w)
            {
                return Some(w);
            }
        }
    })
}

static STOPWORD_SET: std::sync::LazyLock<FastSet<&'static str>> =
    std::sync::LazyLock::new(|| STOPWORDS.iter().copied().collect());

struct Vocab {
    ids: FastMap<String, u32>,
    surface: Vec<String>,
}

impl Vocab {
    fn id(&mut self, stem: &str, surface: &str) -> u32 {
        if let Some(&i) = self.ids.get(stem) {
            return i;
        }
        let i = self.surface.len() as u32;
        self.ids.insert(stem.to_string(), i);
        self.surface.push(surface.to_string());
        i
    }
}

fn stem_all(docs: &[&str]) -> Vec<Vec<(String, String)>> {
    docs.par_iter()
        .map_init(
            || {
                (
                    Stemmer::create(Algorithm::English),
                    FastMap::<String, String>::default(),
                )
            },
            |(stemmer, cache), d| {
                words(d)
                    .map(|w| {
                        let s = match cache.get(w) {
                            Some(s) => s.clone(),
                            None => {
                                let s = stemmer.stem(w).into_owned();
                                cache.insert(w.to_string(), s.clone());
                                s
                            }
                        };
                        (s, w.to_string())
                    })
                    .collect()
            },
        )
        .collect()
}

/// Distinct (subject, body) pairs and, per ticket, the index of its pair.
type DistinctTexts<'a> = (Vec<(&'a str, &'a str)>, Vec<u32>);

/// A ticket's (subject, body) with its hash, computed once: the hash picks the shard and is the
/// key's hash in the shard's map.
#[derive(Clone, Copy)]
struct TextKey<'a> {
    hash: u64,
    subject: &'a str,
    body: &'a str,
}

impl std::hash::Hash for TextKey<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialEq for TextKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.subject == other.subject && self.body == other.body
    }
}

impl Eq for TextKey<'_> {}

/// The distinct (subject, body) pairs, and which one each ticket has. Tickets are sharded by
/// hash so the shards are deduplicated in parallel; the result does not depend on the sharding.
fn distinct_texts(tickets: &[Ticket]) -> DistinctTexts<'_> {
    use std::hash::BuildHasher;
    const SHARDS: usize = 64;
    let state = foldhash::fast::FixedState::with_seed(0x5eed);
    let key = |i: usize, hash: u64| {
        let t = &tickets[i];
        TextKey {
            hash,
            subject: t.subject.as_str(),
            body: t.body.as_str(),
        }
    };
    let hashes: Vec<u64> = tickets
        .par_iter()
        .map(|t| state.hash_one((t.subject.as_str(), t.body.as_str())))
        .collect();
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); SHARDS];
    for (i, h) in hashes.iter().enumerate() {
        members[(h % SHARDS as u64) as usize].push(i as u32);
    }
    let shards: Vec<DistinctTexts<'_>> = members
        .par_iter()
        .map(|m| {
            let mut ids: FastMap<TextKey<'_>, u32> =
                FastMap::with_capacity_and_hasher(m.len() / 2 + 1, Default::default());
            let mut distinct = Vec::new();
            let local = m
                .iter()
                .map(|&i| {
                    let k = key(i as usize, hashes[i as usize]);
                    *ids.entry(k).or_insert_with(|| {
                        distinct.push((k.subject, k.body));
                        (distinct.len() - 1) as u32
                    })
                })
                .collect();
            (distinct, local)
        })
        .collect();
    drop(hashes);
    let mut raws = Vec::new();
    let mut raw_of = vec![0u32; tickets.len()];
    for (m, (distinct, local)) in members.iter().zip(shards) {
        let offset = raws.len() as u32;
        for (&i, l) in m.iter().zip(local) {
            raw_of[i as usize] = offset + l;
        }
        raws.extend(distinct);
    }
    (raws, raw_of)
}

/// Builds the topic model of `tickets`.
pub fn build(tickets: &[Ticket], o: &TopicOptions) -> Result<TopicModel> {
    // 1. Normalise each distinct (subject, body) once: exports repeat the same questions and
    //    templates a lot. Then work on distinct normalised texts only, weighted by how many
    //    tickets share them.
    let (raws, raw_of) = distinct_texts(tickets);
    // The taxonomy is matched on each distinct (subject, body): a strong term counts alone
    // only in the subject. Each distinct word is normalised for it once per worker.
    let matcher = taxonomy::Matcher::new(&o.taxonomy);
    let (normalised, raw_match): (Vec<String>, Vec<Option<taxonomy::TaxonomyMatch>>) = raws
        .par_iter()
        .map_init(
            || taxonomy::TermCache::new(&matcher),
            |terms, (subject, body)| {
                let mut s = normalise(subject);
                let b = normalise(body);
                let found = terms.find(&s, &b);
                if !b.is_empty() && (b.len() > s.len() || !s.contains(b.as_str())) {
                    if !s.is_empty() {
                        s.push_str(" . ");
                    }
                    s.push_str(&b);
                }
                (s, found)
            },
        )
        .unzip();
    // Who wrote each distinct text: a person, or a device or monitoring system.
    let raw_automated: Vec<bool> = raws
        .par_iter()
        .map(|(subject, body)| automated::is_automated(subject, body))
        .collect();
    let mut uniq: FastMap<&str, u32> =
        FastMap::with_capacity_and_hasher(normalised.len() + 16, Default::default());
    let mut doc_of = Vec::with_capacity(tickets.len());
    let mut texts: Vec<&str> = Vec::new();
    let mut first_ticket: Vec<usize> = Vec::new();
    // Per document: the distinct (subject, body) of its first ticket.
    let mut doc_raw: Vec<u32> = Vec::new();
    // Each distinct raw text is looked up once, when its first ticket comes (the same ids and
    // first tickets as looking up every ticket's text).
    let mut doc_of_raw = vec![u32::MAX; raws.len()];
    for (i, &raw) in raw_of.iter().enumerate() {
        let doc = &mut doc_of_raw[raw as usize];
        if *doc == u32::MAX {
            let n = &normalised[raw as usize];
            *doc = *uniq.entry(n.as_str()).or_insert_with(|| {
                texts.push(n.as_str());
                first_ticket.push(i);
                doc_raw.push(raw);
                (texts.len() - 1) as u32
            });
        }
        doc_of.push(*doc);
    }
    let n_docs = texts.len();
    // Tickets whose text normalises alike share a document; each counts as automated by its
    // own text.
    let ticket_automated: Vec<bool> = raw_of.iter().map(|&r| raw_automated[r as usize]).collect();
    drop(raw_automated);
    let mut weight = vec![0u32; n_docs];
    for &d in &doc_of {
        weight[d as usize] += 1;
    }

    // 2. Tokenise + stem (parallel), intern (in document order).
    let stemmed = stem_all(&texts);
    let mut vocab = Vocab {
        ids: FastMap::default(),
        surface: Vec::new(),
    };
    let docs: Vec<Vec<u32>> = stemmed
        .iter()
        .map(|toks| toks.iter().map(|(s, w)| vocab.id(s, w)).collect())
        .collect();
    drop(stemmed);

    // 3. Taxonomy: each document takes its first ticket's match.
    let doc_match: Vec<Option<&taxonomy::TaxonomyMatch>> = doc_raw
        .iter()
        .map(|&r| raw_match[r as usize].as_ref())
        .collect();
    let taxonomy_of: Vec<Option<usize>> = doc_match.iter().map(|m| m.map(|m| m.rule)).collect();
    let stemmer = Stemmer::create(Algorithm::English);

    // 4. Near-duplicate groups (MinHash LSH over uni+bigram shingles).
    let dup_group = minhash_groups(&docs, o.seed, o.duplicate_threshold);

    // 5. TF-IDF + spherical k-means for the rest.
    let to_cluster: Vec<usize> = (0..n_docs)
        .filter(|&d| !docs[d].is_empty() && (o.cluster_all || taxonomy_of[d].is_none()))
        .collect();
    let clustered_tickets: usize = to_cluster.iter().map(|&d| weight[d] as usize).sum();
    let (features, feature_names, vectors, feature_index) =
        tfidf(&docs, &to_cluster, &weight, &vocab, o.max_features);
    let (k, k_choice) = match o.k {
        Some(k) => (k, None),
        None if vectors.len() >= 32 => {
            let (k, choice) = choose_k(&vectors, &to_cluster, &weight, features, o);
            (k, Some(choice))
        }
        None => (
            ((vectors.len() as f64 / 2.0).sqrt().round() as usize).max(2),
            None,
        ),
    };
    let k = k.min(to_cluster.len());
    let mut km = if k >= 1 && !to_cluster.is_empty() {
        Some(spherical_kmeans(
            &vectors,
            &to_cluster,
            &weight,
            features,
            k,
            o,
        ))
    } else {
        None
    };

    // A near-duplicate group reported as an FAQ candidate moves as one: its clustered texts
    // all take the cluster that most of its clustered tickets fell in.
    let reported = reported_groups(&dup_group, &weight, &texts, o.min_group);
    let reported: FastSet<u32> = reported.into_iter().map(|(g, _)| g).collect();
    let mut near_duplicate = vec![false; n_docs];
    if let Some(km) = &mut km {
        let mut votes: FastMap<u32, FastMap<usize, u64>> = FastMap::default();
        for (j, &d) in to_cluster.iter().enumerate() {
            if reported.contains(&dup_group[d]) {
                *votes
                    .entry(dup_group[d])
                    .or_default()
                    .entry(km.assign[j])
                    .or_insert(0) += weight[d] as u64;
            }
        }
        let winner: FastMap<u32, usize> = votes
            .into_iter()
            .filter_map(|(g, v)| {
                v.into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                    .map(|(c, _)| (g, c))
            })
            .collect();
        for (j, &d) in to_cluster.iter().enumerate() {
            if let Some(&c) = winner.get(&dup_group[d]) {
                near_duplicate[d] = true;
                if km.assign[j] != c {
                    km.assign[j] = c;
                    km.score[j] = dot_dense(&vectors[j], &km.centroids, km.k, c);
                }
            }
        }
        km.settle_medoids();
    }

    // 6. Topics: taxonomy first, then clusters. Doc → topic index, how it was found, and the
    //    score that found it.
    let n_rules = o.taxonomy.topics.len();
    let mut doc_topic: Vec<u32> = taxonomy_of
        .iter()
        .map(|t| t.map(|r| r as u32).unwrap_or(u32::MAX))
        .collect();
    let mut doc_source: Vec<Option<AssignmentSource>> = taxonomy_of
        .iter()
        .map(|t| t.map(|_| AssignmentSource::Taxonomy))
        .collect();
    let mut doc_score: Vec<f32> = doc_match
        .iter()
        .map(|m| m.map_or(0.0, |m| m.score))
        .collect();
    if let Some(km) = &km {
        for (j, &d) in to_cluster.iter().enumerate() {
            doc_topic[d] = (n_rules + km.assign[j]) as u32;
            doc_source[d] = Some(if near_duplicate[d] {
                AssignmentSource::NearDuplicate
            } else {
                AssignmentSource::Cluster
            });
            doc_score[d] = km.score[j];
        }
    }
    // Per taxonomy topic: its terms that matched, with the tickets they matched in.
    let mut term_tickets: Vec<FastMap<u32, usize>> = vec![FastMap::default(); n_rules];
    for (d, m) in doc_match.iter().enumerate() {
        if let Some(m) = m
            && doc_topic[d] == m.rule as u32
        {
            for &t in &m.terms {
                *term_tickets[m.rule].entry(t).or_insert(0) += weight[d] as usize;
            }
        }
    }
    let n_topics = n_rules + km.as_ref().map(|k| k.k).unwrap_or(0);
    let how_to_doc: Vec<bool> = first_ticket
        .par_iter()
        .map(|&i| is_how_to(&format!("{} {}", tickets[i].subject, tickets[i].body)))
        .collect();
    let hardware_ids: FastSet<u32> = HARDWARE_WORDS
        .iter()
        .filter_map(|w| vocab.ids.get(stemmer.stem(w).as_ref()).copied())
        .collect();
    let hardware_doc: Vec<bool> = docs
        .iter()
        .map(|d| d.iter().any(|t| hardware_ids.contains(t)))
        .collect();
    // Per topic, over its tickets in ticket order; the topics are counted in parallel.
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); n_topics];
    for (i, &d) in doc_of.iter().enumerate() {
        let tp = doc_topic[d as usize];
        if tp != u32::MAX {
            members[tp as usize].push(i as u32);
        }
    }
    let per_topic: Vec<(usize, usize, usize, usize, Vec<f64>, usize)> = members
        .par_iter()
        .map(|m| {
            let mut requesters: FastSet<&str> = FastSet::default();
            let (mut how_to, mut hardware_hits, mut by_machine) = (0usize, 0usize, 0usize);
            let mut hours = Vec::new();
            for &i in m {
                let t = &tickets[i as usize];
                let d = doc_of[i as usize] as usize;
                hardware_hits += hardware_doc[d] as usize;
                // A device's alert mails are about hardware, but who asked, how and how
                // quickly it was solved are read from what people wrote.
                if ticket_automated[i as usize] {
                    by_machine += 1;
                    continue;
                }
                if let Some(r) = t.requester.as_deref() {
                    requesters.insert(r);
                }
                how_to += how_to_doc[d] as usize;
                if let Some(h) = t.handling_hours() {
                    hours.push(h);
                }
            }
            (
                m.len(),
                requesters.len(),
                how_to,
                hardware_hits,
                hours,
                by_machine,
            )
        })
        .collect();
    drop(members);
    let topic_tickets: Vec<usize> = per_topic.iter().map(|p| p.0).collect();
    let requesters: Vec<usize> = per_topic.iter().map(|p| p.1).collect();
    let how_to: Vec<usize> = per_topic.iter().map(|p| p.2).collect();
    let hardware_hits: Vec<usize> = per_topic.iter().map(|p| p.3).collect();
    let by_machine: Vec<usize> = per_topic.iter().map(|p| p.5).collect();
    let mut hours: Vec<Vec<f64>> = per_topic.into_iter().map(|p| p.4).collect();
    // Top terms per topic: weighted term frequency relative to the corpus.
    let mut corpus_tf = vec![0f64; vocab.surface.len()];
    let mut topic_tf: Vec<FastMap<u32, f64>> = vec![FastMap::default(); n_topics];
    for (d, toks) in docs.iter().enumerate() {
        let w = weight[d] as f64;
        for &t in toks {
            corpus_tf[t as usize] += w;
        }
        if doc_topic[d] != u32::MAX {
            let m = &mut topic_tf[doc_topic[d] as usize];
            for &t in toks {
                *m.entry(t).or_insert(0.0) += w;
            }
        }
    }
    let total_tf: f64 = corpus_tf.iter().sum::<f64>().max(1.0);
    let cluster_terms: Vec<Vec<usize>> = match &km {
        Some(km) => class_tfidf(
            |j| feature_index.present(&docs[to_cluster[j]]),
            &to_cluster,
            &weight,
            &km.assign,
            km.k,
            features,
            24,
        ),
        None => Vec::new(),
    };
    let mut topics: Vec<Topic> = Vec::with_capacity(n_topics);
    for tp in 0..n_topics {
        let mut terms: Vec<(u32, f64)> = topic_tf[tp]
            .iter()
            .map(|(&t, &c)| {
                let topic_total = topic_tickets[tp].max(1) as f64;
                // Lift: how much more frequent in the topic than overall, times frequency.
                (
                    t,
                    (c / topic_total)
                        * ((c / topic_total) / (corpus_tf[t as usize] / total_tf))
                            .ln()
                            .max(0.0),
                )
            })
            .collect();
        terms.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut matched_terms = Vec::new();
        let (name, source, top_terms, example, hardware) = if tp < n_rules {
            let r = &o.taxonomy.topics[tp];
            let mut counted: Vec<(u32, usize)> =
                term_tickets[tp].iter().map(|(&t, &n)| (t, n)).collect();
            counted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            matched_terms = counted
                .into_iter()
                .map(|(t, n)| MatchedTerm {
                    term: matcher.label(t).to_owned(),
                    tickets: n,
                })
                .collect();
            let top: Vec<String> = terms
                .iter()
                .take(6)
                .map(|(t, _)| vocab.surface[*t as usize].clone())
                .collect();
            let example = medoid_example(tickets, &doc_topic, tp, &first_ticket, &weight);
            (
                r.name.clone(),
                TopicSource::Taxonomy,
                top,
                example,
                r.hardware,
            )
        } else {
            let km = km.as_ref().expect("clusters exist");
            let c = tp - n_rules;
            let distinctive = &cluster_terms[c];
            let top: Vec<String> = distinctive
                .iter()
                .take(6)
                .map(|&f| feature_names[f].clone())
                .collect();
            let name = cluster_name(distinctive.iter().map(|&f| feature_names[f].as_str()));
            let example = km.medoid[c]
                .map(|j| subject_or_body(&tickets[first_ticket[to_cluster[j]]]))
                .unwrap_or_default();
            let hw =
                topic_tickets[tp] > 0 && hardware_hits[tp] as f64 / topic_tickets[tp] as f64 >= 0.3;
            (
                format!("cluster: {name}"),
                TopicSource::Cluster,
                top,
                example,
                hw,
            )
        };
        let median_handling_hours = (!hours[tp].is_empty()).then(|| stats::median(&mut hours[tp]));
        topics.push(Topic {
            name,
            source,
            tickets: topic_tickets[tp],
            distinct_requesters: requesters[tp],
            top_terms,
            matched_terms,
            example,
            hardware,
            how_to_share: match topic_tickets[tp] - by_machine[tp] {
                0 => 0.0,
                people => how_to[tp] as f64 / people as f64,
            },
            median_handling_hours,
            automated: by_machine[tp],
        });
    }
    // Order topics by size; remap indices; drop empty ones.
    let mut order: Vec<usize> = (0..n_topics).filter(|&t| topics[t].tickets > 0).collect();
    order.sort_by(|&a, &b| topics[b].tickets.cmp(&topics[a].tickets).then(a.cmp(&b)));
    let mut remap = vec![u32::MAX; n_topics];
    for (new, &old) in order.iter().enumerate() {
        remap[old] = new as u32;
    }
    let topics_sorted: Vec<Topic> = order.iter().map(|&t| topics[t].clone()).collect();
    let assignments: Vec<u32> = doc_of
        .iter()
        .map(|&d| {
            let t = doc_topic[d as usize];
            if t == u32::MAX {
                u32::MAX
            } else {
                remap[t as usize]
            }
        })
        .collect();

    let names: Vec<std::sync::Arc<str>> = topics_sorted
        .iter()
        .map(|t| std::sync::Arc::from(t.name.as_str()))
        .collect();
    let per_ticket: Vec<TicketAssignment> = tickets
        .par_iter()
        .zip(doc_of.par_iter())
        .zip(assignments.par_iter())
        .map(|((t, &d), &a)| {
            let topic = names.get(a as usize).cloned();
            let found = topic.is_some();
            TicketAssignment {
                ticket: t.id.clone(),
                topic,
                source: doc_source[d as usize].filter(|_| found),
                score: if found { doc_score[d as usize] } else { 0.0 },
            }
        })
        .collect();

    // 7. Duplicate groups → summaries.
    let (groups, ticket_group) = summarise_groups(
        tickets,
        &doc_of,
        &dup_group,
        &weight,
        &texts,
        &assignments,
        &topics_sorted,
        &ticket_automated,
        o.min_group,
    );

    Ok(TopicModel {
        topics: topics_sorted,
        groups,
        assignments,
        per_ticket,
        ticket_group,
        distinct_texts: n_docs,
        features,
        clustered: clustered_tickets,
        k: km.as_ref().map(|k| k.k).unwrap_or(0),
        k_choice,
    })
}

fn subject_or_body(t: &Ticket) -> String {
    let s = if t.subject.trim().is_empty() {
        &t.body
    } else {
        &t.subject
    };
    let mut out: String = s.chars().take(140).collect();
    if s.chars().count() > 140 {
        out.push('…');
    }
    out
}

fn medoid_example(
    tickets: &[Ticket],
    doc_topic: &[u32],
    tp: usize,
    first_ticket: &[usize],
    weight: &[u32],
) -> String {
    // For taxonomy topics: the most frequent text.
    let best = (0..doc_topic.len())
        .filter(|&d| doc_topic[d] == tp as u32)
        .max_by(|&a, &b| weight[a].cmp(&weight[b]).then(b.cmp(&a)));
    best.map(|d| subject_or_body(&tickets[first_ticket[d]]))
        .unwrap_or_default()
}

fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

const BANDS: usize = 8;
const ROWS: usize = 4;

/// MinHash signatures + LSH banding; candidate pairs verified by signature agreement.
/// Returns a group id per document (union-find root).
fn minhash_groups(docs: &[Vec<u32>], seed: u64, threshold: f64) -> Vec<u32> {
    let h = BANDS * ROWS;
    let seeds: Vec<u64> = (0..h as u64)
        .map(|i| mix64(seed ^ (i.wrapping_mul(0x9e37_79b9_7f4a_7c15))))
        .collect();
    let sigs: Vec<Vec<u32>> = docs
        .par_iter()
        .map(|d| {
            let mut sig = vec![u32::MAX; h];
            if d.is_empty() {
                return sig;
            }
            let mut shingle = |x: u64| {
                let base = mix64(x);
                for (s, sd) in sig.iter_mut().zip(&seeds) {
                    let v = (mix64(base ^ sd) >> 32) as u32;
                    if v < *s {
                        *s = v;
                    }
                }
            };
            for t in d {
                shingle(*t as u64);
            }
            for w in d.windows(2) {
                shingle(((w[0] as u64) << 32 | w[1] as u64) ^ 0x5bd1_e995);
            }
            sig
        })
        .collect();
    let mut parent: Vec<u32> = (0..docs.len() as u32).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    for b in 0..BANDS {
        let mut buckets: FastMap<u64, u32> = FastMap::default();
        for (d, sig) in sigs.iter().enumerate() {
            if docs[d].is_empty() {
                continue;
            }
            let mut key = b as u64;
            for v in &sig[b * ROWS..(b + 1) * ROWS] {
                key = mix64(key ^ *v as u64);
            }
            match buckets.get(&key) {
                None => {
                    buckets.insert(key, d as u32);
                }
                Some(&first) => {
                    let agree = sigs[first as usize]
                        .iter()
                        .zip(sig)
                        .filter(|(a, b)| a == b)
                        .count();
                    if agree as f64 / h as f64 >= threshold {
                        let (ra, rb) = (find(&mut parent, first), find(&mut parent, d as u32));
                        if ra != rb {
                            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
                            parent[hi as usize] = lo;
                        }
                    }
                }
            }
        }
    }
    (0..docs.len() as u32)
        .map(|d| find(&mut parent, d))
        .collect()
}

/// The near-duplicate groups reported (at most 200, of at least `min_group` tickets with text,
/// largest first): (group root, tickets).
fn reported_groups(
    dup_group: &[u32],
    weight: &[u32],
    texts: &[&str],
    min_group: usize,
) -> Vec<(u32, usize)> {
    let mut size: FastMap<u32, usize> = FastMap::default();
    for (d, &g) in dup_group.iter().enumerate() {
        if !texts[d].is_empty() {
            *size.entry(g).or_insert(0) += weight[d] as usize;
        }
    }
    let mut big: Vec<(u32, usize)> = size
        .into_iter()
        .filter(|(_, s)| *s >= min_group.max(2))
        .collect();
    big.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    big.truncate(200);
    big
}

/// Each cluster's most distinctive features against the other clusters, best first, at most
/// `n`: class-based TF-IDF (as BERTopic names its topics). A feature's frequency in a cluster
/// (tickets holding it, over all the cluster's feature occurrences) times
/// `ln(1 + A / f)`, where `f` is its frequency over all clusters and `A` the mean number of
/// feature occurrences per cluster: frequent in the cluster and rare elsewhere ranks first.
///
/// `features_of(j)` gives the distinct features of the `j`th selected text: its words and its
/// word pairs, so that a name can be a phrase even though the clusters were made from words.
fn class_tfidf(
    features_of: impl Fn(usize) -> Vec<u32> + Sync,
    selected: &[usize],
    weight: &[u32],
    assign: &[usize],
    k: usize,
    features: usize,
    n: usize,
) -> Vec<Vec<usize>> {
    // Cluster-major: tf[c * features + f].
    let mut tf = vec![0f64; k * features];
    let present: Vec<Vec<u32>> = (0..selected.len())
        .into_par_iter()
        .map(&features_of)
        .collect();
    for (j, fs) in present.iter().enumerate() {
        let (c, w) = (assign[j], weight[selected[j]] as f64);
        let row = &mut tf[c * features..(c + 1) * features];
        for &f in fs {
            row[f as usize] += w;
        }
    }
    drop(present);
    let mut overall = vec![0f64; features];
    let mut size = vec![0f64; k];
    for c in 0..k {
        for (f, &x) in tf[c * features..(c + 1) * features].iter().enumerate() {
            overall[f] += x;
            size[c] += x;
        }
    }
    let mean = size.iter().sum::<f64>() / k.max(1) as f64;
    (0..k)
        .into_par_iter()
        .map(|c| {
            let row = &tf[c * features..(c + 1) * features];
            let mut ranked: Vec<(usize, f64)> = row
                .iter()
                .enumerate()
                .filter(|(_, x)| **x > 0.0)
                .map(|(f, &x)| (f, x / size[c] * (1.0 + mean / overall[f]).ln()))
                .collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            ranked.truncate(n);
            ranked.into_iter().map(|x| x.0).collect()
        })
        .collect()
}

/// A cluster's name: up to three of its top features (best first), skipping any that would
/// repeat a word already in the name (or repeat a word of its own), and any boilerplate word.
fn cluster_name<'a>(features: impl Iterator<Item = &'a str>) -> String {
    let mut used: Vec<&str> = Vec::new();
    let mut parts: Vec<&str> = Vec::new();
    for f in features {
        let ws: Vec<&str> = f.split(' ').collect();
        let fresh = ws.iter().enumerate().all(|(i, w)| {
            !used.contains(w)
                && !ws[..i].contains(w)
                && !boilerplate::is_noise_word(w)
                && !boilerplate::is_date_or_time(w)
        });
        if fresh {
            used.extend(&ws);
            parts.push(f);
            if parts.len() == 3 {
                break;
            }
        }
    }
    parts.join(" / ")
}

#[allow(clippy::too_many_arguments)]
fn summarise_groups(
    tickets: &[Ticket],
    doc_of: &[u32],
    dup_group: &[u32],
    weight: &[u32],
    texts: &[&str],
    assignments: &[u32],
    topics: &[Topic],
    ticket_automated: &[bool],
    min_group: usize,
) -> (Vec<DuplicateGroup>, Vec<u32>) {
    let big = reported_groups(dup_group, weight, texts, min_group);
    let index: FastMap<u32, u32> = big
        .iter()
        .enumerate()
        .map(|(i, (g, _))| (*g, i as u32))
        .collect();
    let ticket_group: Vec<u32> = doc_of
        .iter()
        .map(|&d| {
            index
                .get(&dup_group[d as usize])
                .copied()
                .unwrap_or(u32::MAX)
        })
        .collect();
    struct Acc<'a> {
        docs: FastMap<u32, usize>,
        requesters: FastSet<&'a str>,
        topics: FastMap<u32, usize>,
        /// Normalised resolution → (count, first ticket with it).
        resolutions: FastMap<String, (usize, usize)>,
        resolved: usize,
        first_subject: FastMap<u32, usize>,
        automated: usize,
    }
    // Each group's tickets, in ticket order; the groups are then summarised in parallel (each on
    // its own tickets, in the same order as one pass over all tickets).
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); big.len()];
    for (i, &g) in ticket_group.iter().enumerate() {
        if g != u32::MAX {
            members[g as usize].push(i as u32);
        }
    }
    let acc: Vec<Acc<'_>> = members
        .par_iter()
        .map(|m| {
            let mut a = Acc {
                docs: FastMap::default(),
                requesters: FastSet::default(),
                topics: FastMap::default(),
                resolutions: FastMap::default(),
                resolved: 0,
                first_subject: FastMap::default(),
                automated: 0,
            };
            let mut res_key: FastMap<&str, String> = FastMap::default();
            for &i in m {
                let i = i as usize;
                let t = &tickets[i];
                *a.docs.entry(doc_of[i]).or_insert(0) += 1;
                a.first_subject.entry(doc_of[i]).or_insert(i);
                if let Some(r) = t.requester.as_deref() {
                    a.requesters.insert(r);
                }
                *a.topics.entry(assignments[i]).or_insert(0) += 1;
                a.automated += ticket_automated[i] as usize;
                if !t.resolution.trim().is_empty() {
                    a.resolved += 1;
                    let key = res_key
                        .entry(t.resolution.as_str())
                        .or_insert_with(|| normalise(&t.resolution).chars().take(80).collect());
                    match a.resolutions.get_mut(key.as_str()) {
                        Some(e) => e.0 += 1,
                        None => {
                            a.resolutions.insert(key.clone(), (1, i));
                        }
                    }
                }
            }
            a
        })
        .collect();
    let groups = big
        .iter()
        .zip(acc)
        .map(|((_, n), a)| {
            let (top_doc, _) = a
                .docs
                .iter()
                .max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0)))
                .map(|(d, c)| (*d, *c))
                .unwrap_or((0, 0));
            let question = a
                .first_subject
                .get(&top_doc)
                .map(|&i| {
                    let t = &tickets[i];
                    if t.body.is_empty() || t.body.len() > 200 {
                        subject_or_body(t)
                    } else if t.subject.is_empty() {
                        t.body.clone()
                    } else {
                        // The first line that says something (not "Hi,").
                        let line = t
                            .body
                            .lines()
                            .find(|l| l.split_whitespace().count() >= 4)
                            .unwrap_or("");
                        if line.is_empty() {
                            t.subject.clone()
                        } else {
                            format!("{} — {}", t.subject, line.trim())
                        }
                    }
                })
                .unwrap_or_default();
            let topic = a
                .topics
                .iter()
                .max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0)))
                .and_then(|(t, _)| topics.get(*t as usize))
                .map(|t| t.name.clone());
            let best_res = a
                .resolutions
                .iter()
                .max_by(|x, y| x.1.0.cmp(&y.1.0).then(y.0.cmp(x.0)));
            let (resolution, resolution_consistency) = match best_res {
                Some((_, (c, first))) if a.resolved > 0 => (
                    Some(tickets[*first].resolution.clone()),
                    Some(*c as f64 / a.resolved as f64),
                ),
                _ => (None, None),
            };
            DuplicateGroup {
                tickets: *n,
                distinct_texts: a.docs.len(),
                distinct_requesters: a.requesters.len(),
                question,
                topic,
                resolution,
                resolution_consistency,
                automated: 2 * a.automated > *n,
            }
        })
        .collect();
    (groups, ticket_group)
}

type Sparse = Vec<(u32, f32)>;

/// The features the texts are described by: the words and adjacent word pairs held by at
/// least two tickets, the most frequent first, at most `max_features`.
struct FeatureIndex {
    /// A word is its vocabulary id; a pair `(a, b)` is `words + a * words + b`.
    index: FastMap<u64, u32>,
    /// Words in the vocabulary.
    words: u64,
}

impl FeatureIndex {
    /// The distinct features of a text (ascending): its words and its word pairs on the list.
    fn present(&self, toks: &[u32]) -> Vec<u32> {
        let nv = self.words;
        let mut fs: Vec<u32> = toks
            .iter()
            .map(|&t| t as u64)
            .chain(toks.windows(2).map(|w| nv + w[0] as u64 * nv + w[1] as u64))
            .filter_map(|g| self.index.get(&g).copied())
            .collect();
        fs.sort_unstable();
        fs.dedup();
        fs
    }
}

/// TF-IDF vectors of the selected documents, for clustering: the words on the feature list
/// (words and word pairs, capped by document frequency), each counted sublinearly
/// (`1 + ln tf`) times its IDF, L2-normalised.
///
/// Word pairs are features (they name the clusters: see [`class_tfidf`]) but not dimensions:
/// each pair repeats the evidence of its two words, and on real ticket text the clusters of
/// words alone agree better with the categories people gave (benches/README.md, "Topics
/// against human categories"). The sublinear count keeps a word repeated in a template or a
/// signature from outweighing the rest of the text.
fn tfidf(
    docs: &[Vec<u32>],
    selected: &[usize],
    weight: &[u32],
    vocab: &Vocab,
    max_features: usize,
) -> (usize, Vec<String>, Vec<Sparse>, FeatureIndex) {
    let nv = vocab.surface.len() as u64;
    let grams = |d: &[u32]| -> Vec<u64> {
        let mut g: Vec<u64> = d.iter().map(|&t| t as u64).collect();
        g.extend(d.windows(2).map(|w| nv + w[0] as u64 * nv + w[1] as u64));
        g.sort_unstable();
        g.dedup();
        g
    };
    let doc_grams: Vec<Vec<u64>> = selected.par_iter().map(|&d| grams(&docs[d])).collect();
    let mut df: FastMap<u64, u64> = FastMap::default();
    for (j, g) in doc_grams.iter().enumerate() {
        let w = weight[selected[j]] as u64;
        for x in g {
            *df.entry(*x).or_insert(0) += w;
        }
    }
    drop(doc_grams);
    let n_tickets: u64 = selected.iter().map(|&d| weight[d] as u64).sum();
    let mut feats: Vec<(u64, u64)> = df.into_iter().filter(|(_, c)| *c >= 2).collect();
    feats.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    feats.truncate(max_features);
    let index: FastMap<u64, u32> = feats
        .iter()
        .enumerate()
        .map(|(i, (g, _))| (*g, i as u32))
        .collect();
    let idf: Vec<f32> = feats
        .iter()
        .map(|(_, c)| (((1 + n_tickets) as f64 / (1 + c) as f64).ln() + 1.0) as f32)
        .collect();
    let names: Vec<String> = feats
        .iter()
        .map(|(g, _)| {
            if *g < nv {
                vocab.surface[*g as usize].clone()
            } else {
                let x = g - nv;
                format!(
                    "{} {}",
                    vocab.surface[(x / nv) as usize],
                    vocab.surface[(x % nv) as usize]
                )
            }
        })
        .collect();
    let vectors: Vec<Sparse> = selected
        .par_iter()
        .map(|&d| {
            let mut tf: FastMap<u32, f32> = FastMap::default();
            for &t in &docs[d] {
                if let Some(&f) = index.get(&(t as u64)) {
                    *tf.entry(f).or_insert(0.0) += 1.0;
                }
            }
            let mut v: Sparse = tf
                .into_iter()
                .map(|(f, c)| (f, (1.0 + c.ln()) * idf[f as usize]))
                .collect();
            v.sort_unstable_by_key(|x| x.0);
            let norm = v.iter().map(|x| x.1 * x.1).sum::<f32>().sqrt();
            if norm > 0.0 {
                for x in &mut v {
                    x.1 /= norm;
                }
            }
            v
        })
        .collect();
    (
        feats.len(),
        names,
        vectors,
        FeatureIndex { index, words: nv },
    )
}

struct KMeans {
    k: usize,
    /// Feature-major centroids: `c[f * k + j]`.
    centroids: Vec<f32>,
    /// Per selected document: its cluster.
    assign: Vec<usize>,
    /// Per selected document: its cosine similarity to its cluster's centroid.
    score: Vec<f32>,
    /// Per cluster: index (into the selected list) of the medoid.
    medoid: Vec<Option<usize>>,
}

impl KMeans {
    /// Sets each cluster's medoid to its best-scoring document (the first of equals).
    fn settle_medoids(&mut self) {
        let mut medoid: Vec<Option<(usize, f32)>> = vec![None; self.k];
        for (j, (&c, &s)) in self.assign.iter().zip(&self.score).enumerate() {
            if medoid[c].is_none_or(|(_, b)| s > b) {
                medoid[c] = Some((j, s));
            }
        }
        self.medoid = medoid.into_iter().map(|m| m.map(|x| x.0)).collect();
    }
}

fn scores(v: &Sparse, centroids: &[f32], k: usize, out: &mut [f32]) {
    out.iter_mut().for_each(|x| *x = 0.0);
    for &(f, w) in v {
        let row = &centroids[f as usize * k..f as usize * k + k];
        for (o, c) in out.iter_mut().zip(row) {
            *o += w * c;
        }
    }
}

fn best(v: &Sparse, centroids: &[f32], k: usize, buf: &mut Vec<f32>) -> (usize, f32) {
    buf.resize(k, 0.0);
    scores(v, centroids, k, buf);
    let mut b = (0, f32::MIN);
    for (j, &s) in buf.iter().enumerate() {
        if s > b.1 {
            b = (j, s);
        }
    }
    b
}

/// Spherical k-means (cosine) on a weighted sample of distinct texts: `restarts` seeded
/// greedy k-means++ starts (see [`seed_trials`]), the run with the highest weighted similarity
/// to its centres kept, then every selected text assigned to its nearest centre.
fn spherical_kmeans(
    vectors: &[Sparse],
    selected: &[usize],
    weight: &[u32],
    features: usize,
    k: usize,
    o: &TopicOptions,
) -> KMeans {
    let mut rng = StdRng::seed_from_u64(o.seed);
    let train = training_sample(vectors.len(), selected, weight, o.train_sample, &mut rng);
    let mut kept: Option<(Vec<f32>, f64)> = None;
    for _ in 0..o.restarts.max(1) {
        let run = lloyd(
            vectors,
            selected,
            weight,
            features,
            k,
            &train,
            o.max_iter,
            seed_trials(k),
            &mut rng,
        );
        if kept.as_ref().is_none_or(|b| run.1 > b.1) {
            kept = Some(run);
        }
    }
    let centroids = kept.expect("one run at least").0;
    // Assign everything; medoid = best-scoring text per cluster.
    let (assign, score): (Vec<usize>, Vec<f32>) = vectors
        .par_iter()
        .map_init(Vec::new, |buf, v| best(v, &centroids, k, buf))
        .unzip();
    let mut km = KMeans {
        k,
        centroids,
        assign,
        score,
        medoid: Vec::new(),
    };
    km.settle_medoids();
    km
}

/// The texts k-means trains on (indices into the selected list, ascending): all of them up to
/// `size`; beyond, the heaviest half (they carry most tickets) and a seeded sample of the rest.
fn training_sample(
    n: usize,
    selected: &[usize],
    weight: &[u32],
    size: usize,
    rng: &mut StdRng,
) -> Vec<usize> {
    let mut train: Vec<usize> = (0..n).collect();
    if n > size {
        train.sort_by(|&a, &b| {
            weight[selected[b]]
                .cmp(&weight[selected[a]])
                .then(a.cmp(&b))
        });
        let (head, tail) = train.split_at_mut(size / 2);
        let mut tail = tail.to_vec();
        for i in (1..tail.len()).rev() {
            let j = rng.random_range(0..=i);
            tail.swap(i, j);
        }
        let mut t = head.to_vec();
        t.extend(tail.into_iter().take(size - t.len()));
        t.sort_unstable();
        train = t;
    }
    train
}

/// Candidates drawn for each new centre of a greedy k-means++ start: 2 + ⌊ln k⌋, as
/// scikit-learn draws.
fn seed_trials(k: usize) -> usize {
    2 + (k.max(1) as f64).ln().floor() as usize
}

/// One k-means run on `train` from a weighted k-means++ start that draws `trials` candidates
/// for each new centre and keeps the best (1: plain k-means++): the centroids (feature-major)
/// and the weighted sum of each training text's cosine similarity to its nearest centre.
#[allow(clippy::too_many_arguments)]
fn lloyd(
    vectors: &[Sparse],
    selected: &[usize],
    weight: &[u32],
    features: usize,
    k: usize,
    train: &[usize],
    max_iter: usize,
    trials: usize,
    rng: &mut StdRng,
) -> (Vec<f32>, f64) {
    let w = |j: usize| weight[selected[j]] as f64;
    let mut centroids = vec![0f32; features * k];
    let set_centroid = |c: &mut Vec<f32>, j: usize, v: &Sparse| {
        for f in 0..features {
            c[f * k + j] = 0.0;
        }
        for &(f, x) in v {
            c[f as usize * k + j] = x;
        }
    };
    // k-means++ on the training set.
    let total_w: f64 = train.iter().map(|&j| w(j)).sum();
    let mut pick = rng.random::<f64>() * total_w;
    let mut first = train[0];
    for &j in train {
        pick -= w(j);
        if pick <= 0.0 {
            first = j;
            break;
        }
    }
    set_centroid(&mut centroids, 0, &vectors[first]);
    let mut d2: Vec<f64> = train
        .iter()
        .map(|&j| (1.0 - dot_dense(&vectors[j], &centroids, k, 0) as f64).max(0.0))
        .collect();
    // Greedy k-means++ (as scikit-learn seeds): each new centre is the best of a few
    // candidates drawn in proportion to their distance to the centres so far, the one that
    // leaves the training texts closest to their centres. One draw per centre, as plain
    // k-means++ does, lets a single unlucky draw split a topic in two or merge two.
    let mut dense = vec![0f32; features];
    for c in 1..k {
        let total: f64 = train.iter().zip(&d2).map(|(&j, d)| w(j) * d).sum();
        let chosen = if total <= 0.0 {
            train[c % train.len()]
        } else {
            let mut best: Option<(usize, f64, Vec<f64>)> = None;
            for _ in 0..trials.max(1) {
                let mut r = rng.random::<f64>() * total;
                let mut ch = train[train.len() - 1];
                for (&j, d) in train.iter().zip(&d2) {
                    r -= w(j) * d;
                    if r <= 0.0 {
                        ch = j;
                        break;
                    }
                }
                for &(f, x) in &vectors[ch] {
                    dense[f as usize] = x;
                }
                let near: Vec<f64> = train
                    .par_iter()
                    .zip(d2.par_iter())
                    .map(|(&j, &d)| {
                        let s: f32 = vectors[j].iter().map(|&(f, x)| x * dense[f as usize]).sum();
                        (1.0 - s as f64).max(0.0).min(d)
                    })
                    .collect();
                for &(f, _) in &vectors[ch] {
                    dense[f as usize] = 0.0;
                }
                let potential: f64 = train.iter().zip(&near).map(|(&j, d)| w(j) * d).sum();
                if best.as_ref().is_none_or(|b| potential < b.1) {
                    best = Some((ch, potential, near));
                }
            }
            let (ch, _, near) = best.expect("one trial at least");
            d2 = near;
            ch
        };
        set_centroid(&mut centroids, c, &vectors[chosen]);
        if total <= 0.0 {
            for (i, &j) in train.iter().enumerate() {
                let d = (1.0 - dot_dense(&vectors[j], &centroids, k, c) as f64).max(0.0);
                if d < d2[i] {
                    d2[i] = d;
                }
            }
        }
    }
    // Lloyd iterations on the training set.
    let mut assign_train = vec![usize::MAX; train.len()];
    for _ in 0..max_iter {
        let new: Vec<(usize, f32)> = train
            .par_iter()
            .map_init(Vec::new, |buf, &j| best(&vectors[j], &centroids, k, buf))
            .collect();
        let changed = new
            .iter()
            .zip(&assign_train)
            .filter(|(a, b)| a.0 != **b)
            .count();
        for (a, n) in assign_train.iter_mut().zip(&new) {
            *a = n.0;
        }
        let mut sums = vec![0f32; features * k];
        let mut members = vec![0usize; k];
        for (i, &j) in train.iter().enumerate() {
            let c = assign_train[i];
            members[c] += 1;
            let wt = w(j) as f32;
            for &(f, x) in &vectors[j] {
                sums[f as usize * k + c] += wt * x;
            }
        }
        // Empty clusters: re-seed with the worst-fitting training text.
        for c in 0..k {
            if members[c] == 0 {
                let worst = (0..train.len())
                    .min_by(|&a, &b| new[a].1.total_cmp(&new[b].1).then(a.cmp(&b)))
                    .unwrap_or(0);
                for &(f, x) in &vectors[train[worst]] {
                    sums[f as usize * k + c] = x;
                }
            }
        }
        let mut norms = vec![0f32; k];
        for f in 0..features {
            for c in 0..k {
                norms[c] += sums[f * k + c] * sums[f * k + c];
            }
        }
        for f in 0..features {
            for c in 0..k {
                let nrm = norms[c].sqrt();
                sums[f * k + c] = if nrm > 0.0 {
                    sums[f * k + c] / nrm
                } else {
                    0.0
                };
            }
        }
        centroids = sums;
        if changed == 0 {
            break;
        }
    }
    let fit: f64 = train
        .par_iter()
        .map_init(Vec::new, |buf, &j| {
            w(j) * best(&vectors[j], &centroids, k, buf).1 as f64
        })
        .collect::<Vec<f64>>()
        .into_iter()
        .sum();
    (centroids, fit)
}

/// The weighted mean simplified silhouette (cosine) of `sample` against `centroids`: per text,
/// `a` = 1 − similarity to its nearest centre, `b` = 1 − similarity to the next one,
/// `(b − a) / max(a, b)`.
fn silhouette(
    vectors: &[Sparse],
    selected: &[usize],
    weight: &[u32],
    sample: &[usize],
    centroids: &[f32],
    k: usize,
) -> f64 {
    let (sum, total) = sample
        .par_iter()
        .map_init(Vec::new, |buf: &mut Vec<f32>, &j| {
            buf.resize(k, 0.0);
            scores(&vectors[j], centroids, k, buf);
            let (mut first, mut second) = (f32::MIN, f32::MIN);
            for &s in buf.iter() {
                if s > first {
                    second = first;
                    first = s;
                } else if s > second {
                    second = s;
                }
            }
            let (a, b) = (
                (1.0 - first as f64).max(0.0),
                (1.0 - second as f64).max(0.0),
            );
            let s = if a.max(b) > 0.0 {
                (b - a) / a.max(b)
            } else {
                0.0
            };
            let w = weight[selected[j]] as f64;
            (w * s, w)
        })
        .collect::<Vec<(f64, f64)>>()
        .into_iter()
        // Summed in order: the same choice of k on any number of threads.
        .fold((0.0, 0.0), |x, y| (x.0 + y.0, x.1 + y.1));
    if total > 0.0 { sum / total } else { 0.0 }
}

/// How the number of clusters was chosen when it was not given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KChoice {
    /// Each candidate k and its score, in increasing k: the weighted mean silhouette (cosine,
    /// against the centres) of one half of a sample of the clustered texts with k-means fitted
    /// on the other half, averaged over both ways round.
    pub candidates: Vec<(usize, f64)>,
    /// The texts the candidates were scored on.
    pub sample: usize,
}

/// Candidate numbers of clusters for `n` clustered texts: about ten, spaced evenly on a log
/// scale from 8 (or fewer for a small set) to `√(n/2)`, at most 80.
fn k_candidates(n: usize) -> Vec<usize> {
    let hi = ((n as f64 / 2.0).sqrt().round() as usize)
        .clamp(2, 80)
        .min(n);
    let lo = 8.min(hi);
    let steps = 10usize;
    let mut ks: Vec<usize> = (0..=steps)
        .map(|i| {
            let x =
                (lo as f64).ln() + ((hi as f64).ln() - (lo as f64).ln()) * i as f64 / steps as f64;
            x.exp().round() as usize
        })
        .collect();
    ks.dedup();
    ks
}

/// Chooses k from the data: for each candidate, k-means on one half of a sample of the
/// training texts, scored by the weighted simplified silhouette of the other half (held out, so
/// that clusters too small to recur stop paying), and the same with the halves swapped; then
/// the smallest candidate on the curve's plateau (see [`plateau`]): past it, more clusters
/// separate the texts little better, and fewer topics are easier to read.
fn choose_k(
    vectors: &[Sparse],
    selected: &[usize],
    weight: &[u32],
    features: usize,
    o: &TopicOptions,
) -> (usize, KChoice) {
    let mut rng = StdRng::seed_from_u64(o.seed ^ 0x006b_6368_6f6f_7365);
    let train = training_sample(
        vectors.len(),
        selected,
        weight,
        o.train_sample.min(5_000),
        &mut rng,
    );
    let ks = k_candidates(vectors.len());
    let halves: [Vec<usize>; 2] = [
        train.iter().copied().step_by(2).collect(),
        train.iter().copied().skip(1).step_by(2).collect(),
    ];
    // Each half fitted and the other scored, both ways round, averaged.
    let candidates: Vec<(usize, f64)> = ks
        .iter()
        .map(|&k| {
            let mut score = 0.0;
            for (fit, held) in [(&halves[0], &halves[1]), (&halves[1], &halves[0])] {
                let (centroids, _) = lloyd(
                    vectors,
                    selected,
                    weight,
                    features,
                    k,
                    fit,
                    15,
                    seed_trials(k),
                    &mut rng,
                );
                score += silhouette(vectors, selected, weight, held, &centroids, k) / 2.0;
            }
            (k, score)
        })
        .collect();
    let k = plateau(&candidates);
    (
        k,
        KChoice {
            candidates,
            sample: train.len(),
        },
    )
}

/// Share of the way from the lowest (smoothed) candidate score to the highest that a
/// candidate must reach to be on the plateau.
const PLATEAU: f64 = 0.8;

/// The smallest k whose score reaches [`PLATEAU`] of the way from the lowest score to the
/// highest (2 for no candidates), each score first averaged with its neighbours' (the candidates
/// either side, where there are). The held-out silhouette of ticket text rises steeply and then
/// flattens; where exactly it flattens moves with k-means' randomness by more than the curve
/// then rises, so the knee of the curve moved with the seed (k = 19–55 on the same tickets)
/// where the plateau's start of the smoothed curve does not (36 for eight seeds of ten, 29 and
/// 44 for the others).
fn plateau(points: &[(usize, f64)]) -> usize {
    let smoothed: Vec<f64> = (0..points.len())
        .map(|i| {
            let near = &points[i.saturating_sub(1)..(i + 2).min(points.len())];
            near.iter().map(|p| p.1).sum::<f64>() / near.len() as f64
        })
        .collect();
    let (lo, hi) = smoothed
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &s| {
            (lo.min(s), hi.max(s))
        });
    let bar = lo + PLATEAU * (hi - lo);
    points
        .iter()
        .zip(&smoothed)
        .find(|(_, s)| **s >= bar)
        .map_or(2, |(p, _)| p.0)
}

fn dot_dense(v: &Sparse, centroids: &[f32], k: usize, c: usize) -> f32 {
    v.iter()
        .map(|&(f, x)| x * centroids[f as usize * k + c])
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_strips_noise_and_replaces_identifiers() {
        let text = "Projector in Room 114 won't turn on, tag CB-20931\nsee https://help.example.org/kb/12 or mail jo@school.org\n\
                    Thanks,\nJo Smith\nLincoln MS\n> earlier message quoted";
        let n = normalise(text);
        assert_eq!(
            n,
            "projector in xroom won't turn on, tag xasset see xurl or mail xemail"
        );
        let reply = "How do I share a folder?\nOn Mon, Sep 8, 2025 at 9:00 AM Help Desk wrote:\nWe fixed it";
        assert_eq!(normalise(reply), "how do i share a folder?");
        assert!(is_how_to("How do I add a student to my Google Classroom?"));
        assert!(!is_how_to(
            "The projector bulb is broken and smells burnt, it needs replacing soon."
        ));
    }

    #[test]
    fn how_to_questions_are_whole_phrases_in_four_languages() {
        for q in [
            "How do I add a student to my Google Classroom",
            "Not sure how to share the folder with my class",
            "I can\u{2019}t find the attendance page since the update",
            "I have forgotten my login for the gradebook",
            "Comment faire pour ajouter une imprimante",
            "Comment puis-je changer mon mot de passe",
            "Wie kann ich das WLAN im Lehrerzimmer nutzen",
            "¿Cómo puedo restablecer mi contraseña",
            "Is the projector in B12 on the list?",
        ] {
            assert!(is_how_to(q), "{q}");
        }
        for not in [
            // A printer's alert mail: "comment" is a field of its template.
            "device alert notification paper at internal path device path printer details tray \
             output copier details tray scanner ready details model name device name comment \
             floor host name print name file name printer name zone name share name device",
            "Please show today's timetable on the hall screen, the display is blank",
            "The show documents for the concert will not print",
            "Somewhere is a cable missing, the panel stays black",
            "No comment on the ticket yet; the laptop still will not charge",
            // Without its accent, "como" is "as": "como se indica" is no question.
            "El proyector no enciende, como se indica en la foto adjunta",
            "The projector is broken. It needs a new lamp, and the remote is missing too. \
             It has been like this since Monday and the class cannot see the board. Can \
             someone come by before the afternoon lessons start?",
        ] {
            assert!(!is_how_to(not), "{not}");
        }
    }

    fn ticket(subject: &str, who: &str) -> Ticket {
        Ticket {
            id: subject.into(),
            subject: subject.into(),
            requester: Some(who.into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_plateau_starts_where_more_clusters_stop_separating_the_texts() {
        // Steep to 16, then flat: the plateau starts at 16 whatever the scale.
        let curve = [
            (8, 0.10),
            (10, 0.15),
            (12, 0.20),
            (16, 0.30),
            (24, 0.30),
            (32, 0.30),
            (40, 0.30),
        ];
        assert_eq!(plateau(&curve), 16);
        let scaled: Vec<(usize, f64)> = curve.iter().map(|&(k, s)| (k, 5.0 * s - 1.0)).collect();
        assert_eq!(plateau(&scaled), 16);
        // A point of noise high on the plateau moves its start by one candidate at most (taken
        // unsmoothed, the highest point would set the bar above every other).
        let mut noisy = curve.to_vec();
        noisy[5].1 = 0.33;
        assert_eq!(plateau(&noisy), 24);
        // Still rising at the end: the last candidate.
        let line: Vec<(usize, f64)> = [8usize, 16, 32, 64]
            .iter()
            .map(|&k| (k, (k as f64).ln()))
            .collect();
        assert_eq!(plateau(&line), 64);
        assert_eq!(plateau(&[(8, 0.1)]), 8);
        assert_eq!(plateau(&[]), 2);
        // Candidates: from 8 to √(n/2), at most 80, increasing, none twice.
        let ks = k_candidates(9_600);
        assert_eq!((ks[0], *ks.last().unwrap()), (8, 69));
        assert!(ks.windows(2).all(|w| w[0] < w[1]), "{ks:?}");
        assert_eq!(*k_candidates(10_000_000).last().unwrap(), 80);
        assert_eq!(k_candidates(20), vec![3]);
    }

    /// `groups` topics, each with words of its own, written in varied three-word combinations
    /// with words every ticket may hold.
    fn separate_topics(groups: usize, per_group: usize) -> Vec<Ticket> {
        let mut rng = StdRng::seed_from_u64(9);
        let shared = ["issue", "help", "please", "today", "problem", "urgent"];
        let mut tickets = Vec::new();
        for i in 0..per_group {
            for g in 0..groups {
                let own = |r: &mut StdRng| format!("topic{g}word{}", r.random_range(0..6));
                let text = format!(
                    "{} {} {} {}",
                    own(&mut rng),
                    own(&mut rng),
                    own(&mut rng),
                    shared[rng.random_range(0..shared.len())]
                );
                tickets.push(ticket(&text, &format!("u{}", i % 7)));
            }
        }
        tickets
    }

    #[test]
    fn k_is_chosen_from_the_data_and_names_are_what_sets_a_cluster_apart() {
        let tickets = separate_topics(12, 160);
        let m = build(&tickets, &TopicOptions::default()).unwrap();
        let choice = m.k_choice.as_ref().expect("k chosen from the data");
        assert!(choice.candidates.len() >= 5, "{choice:?}");
        assert!((10..=16).contains(&m.k), "k = {} from {choice:?}", m.k);
        // Every cluster is named from its own topic's words, never from the shared ones.
        let named: Vec<&Topic> = m
            .topics
            .iter()
            .filter(|t| t.source == TopicSource::Cluster)
            .collect();
        assert_eq!(named.len(), m.k);
        for t in named {
            let words: Vec<&str> = t
                .name
                .trim_start_matches("cluster: ")
                .split([' ', '/'])
                .filter(|w| !w.is_empty())
                .collect();
            let group = |w: &str| w.split("word").next().map(str::to_owned);
            assert!(
                !words.is_empty() && words.iter().all(|w| w.starts_with("topic")),
                "{}",
                t.name
            );
            // Distinct words, one topic's (the largest clusters are one topic each).
            let mut sorted = words.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), words.len(), "{}", t.name);
            if t.tickets >= 120 {
                assert!(
                    words.iter().all(|w| group(w) == group(words[0])),
                    "{}",
                    t.name
                );
            }
        }
        // A k given is used as it is, and says so.
        let given = build(
            &tickets,
            &TopicOptions {
                k: Some(5),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!((given.k, given.k_choice.is_none()), (5, true));
    }

    #[test]
    fn greedy_seeding_starts_closer_than_plain_k_means_plus_plus() {
        // Twelve groups of texts, each with words of its own, of very different sizes and
        // spreads: one draw per centre often puts two centres in one group and none in
        // another; the best of a few draws rarely does.
        let mut rng = StdRng::seed_from_u64(7);
        let mut vectors: Vec<Sparse> = Vec::new();
        let mut weight = Vec::new();
        for g in 0..12u32 {
            for _ in 0..[80, 40, 20, 10, 5, 5][g as usize % 6] {
                let mut v: Sparse = (0..4)
                    .map(|_| (g * 20 + rng.random_range(0..1 + g % 4 * 5), 1.0))
                    .collect();
                v.sort_unstable_by_key(|x| x.0);
                v.dedup_by_key(|x| x.0);
                let norm = (v.len() as f32).sqrt();
                v.iter_mut().for_each(|x| x.1 /= norm);
                vectors.push(v);
                weight.push(1 + g % 3);
            }
        }
        let all: Vec<usize> = (0..vectors.len()).collect();
        let start = |trials: usize, seed: u64| {
            let mut rng = StdRng::seed_from_u64(seed);
            // No iteration: the fit of the start itself.
            lloyd(&vectors, &all, &weight, 240, 12, &all, 0, trials, &mut rng).1
        };
        let (mut plain, mut greedy, mut better) = (0.0, 0.0, 0);
        for seed in 0..40 {
            let (p, g) = (start(1, seed), start(seed_trials(12), seed));
            plain += p;
            greedy += g;
            better += (g >= p) as usize;
        }
        assert!(greedy > 1.03 * plain, "greedy {greedy}, plain {plain}");
        assert!(better >= 30, "greedy at least as close in {better} of 40");
        // And as deterministic as the rest.
        assert_eq!(start(4, 3), start(4, 3));
    }

    #[test]
    fn more_restarts_never_fit_worse_and_stay_deterministic() {
        let tickets = separate_topics(9, 40);
        let fit = |restarts: usize| {
            let o = TopicOptions {
                k: Some(9),
                restarts,
                ..Default::default()
            };
            let m = build(&tickets, &o).unwrap();
            let total: f64 = m.per_ticket.iter().map(|a| a.score as f64).sum();
            (total, m.assignments)
        };
        let (one, _) = fit(1);
        let (three, a) = fit(3);
        assert!(three >= one - 1e-6, "{three} < {one}");
        assert_eq!(fit(3).1, a);
    }

    #[test]
    fn class_tfidf_ranks_what_is_frequent_in_a_cluster_and_rare_elsewhere() {
        // Features: 0 in every text, 1 only in cluster 0, 2 only in cluster 1, 3 in both but
        // mostly cluster 1.
        let texts: [&[u32]; 6] = [
            &[0, 1],
            &[0, 1],
            &[0, 1, 3],
            &[0, 2, 3],
            &[0, 2, 3],
            &[0, 2, 3],
        ];
        let selected: Vec<usize> = (0..6).collect();
        let weight = vec![1u32; 6];
        let assign = vec![0, 0, 0, 1, 1, 1];
        let top = class_tfidf(|j| texts[j].to_vec(), &selected, &weight, &assign, 2, 4, 4);
        assert_eq!(top[0][0], 1);
        assert_eq!(top[1][0], 2);
        assert_eq!(*top[0].last().unwrap(), 3);
    }

    #[test]
    fn a_topics_requesters_how_to_share_and_handling_time_are_read_from_what_people_wrote() {
        let at = |h: f64| {
            chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
                .unwrap()
                .and_hms_opt(8, 0, 0)
                .unwrap()
                + chrono::Duration::seconds((h * 3600.0) as i64)
        };
        let mut tickets = Vec::new();
        let mut push = |subject: String, body: &str, who: &str, hours: f64| {
            tickets.push(Ticket {
                id: format!("t{}", tickets.len()),
                created: at(0.0),
                resolved: Some(at(hours)),
                subject,
                body: body.into(),
                requester: Some(who.into()),
                ..Default::default()
            })
        };
        // Ten people: five ask how to print double-sided (two hours each), five report a
        // jammed printer (thirty hours each).
        for i in 0..5 {
            push(
                format!("How do I print double-sided on the copier in room {i}?"),
                "",
                &format!("teacher{i}"),
                2.0,
            );
            push(
                format!("Printer in room {i} jammed, toner light on"),
                "",
                &format!("clerk{i}"),
                30.0,
            );
        }
        // Five alert mails from the copier itself, closed on arrival.
        for i in 0..5 {
            push(
                format!("Device alert notification {i}"),
                "The printer reports: toner low. This message was generated automatically.",
                "copier@school",
                0.01,
            );
        }
        let o = TopicOptions {
            k: Some(1),
            ..Default::default()
        };
        let m = build(&tickets, &o).unwrap();
        let printers = m.topic_of(0).unwrap();
        assert_eq!(printers.name, "Printers");
        assert_eq!((printers.tickets, printers.automated), (15, 5));
        assert_eq!(printers.by_people(), 10);
        // Counted over all fifteen, these would be 11 requesters, a third how-to and a median
        // of two hours.
        assert_eq!(printers.distinct_requesters, 10);
        assert!((printers.how_to_share - 0.5).abs() < 1e-9, "{printers:?}");
        assert_eq!(printers.median_handling_hours, Some(16.0));
    }

    #[test]
    fn taxonomy_duplicates_and_clusters() {
        let mut tickets = Vec::new();
        for i in 0..30 {
            tickets.push(ticket(
                &format!(
                    "How do I reset my password? user {}",
                    ["a", "b", "c"][i % 3]
                ),
                &format!("u{i}"),
            ));
            tickets.push(ticket(
                &format!(
                    "Cafeteria lunch register frozen at the checkout line {}",
                    ["again", "today", "now"][i % 3]
                ),
                &format!("c{}", i % 4),
            ));
            tickets.push(ticket(
                &format!(
                    "Library catalog Destiny search shows no books {}",
                    ["again", "today", "now"][i % 3]
                ),
                &format!("l{}", i % 5),
            ));
        }
        let o = TopicOptions {
            k: Some(2),
            ..Default::default()
        };
        let m = build(&tickets, &o).unwrap();
        let first = |i: usize| m.topic_of(i).unwrap();
        assert_eq!(first(0).name, "Passwords & MFA");
        assert_eq!(first(0).distinct_requesters, 30);
        assert!(first(0).how_to_share > 0.9);
        assert_ne!(first(1).name, first(2).name);
        assert!(
            first(1).name.contains("cafeteria")
                || first(1).top_terms.iter().any(|t| t.contains("cafeteria")),
            "{:?}",
            first(1)
        );
        assert!(
            first(2)
                .top_terms
                .iter()
                .any(|t| t.contains("destiny") || t.contains("librari")),
            "{:?}",
            first(2)
        );
        assert_eq!(m.clustered, 60);
        // Three near-duplicate groups of 30.
        let sizes: Vec<usize> = m.groups.iter().map(|g| g.tickets).collect();
        assert_eq!(sizes, vec![30, 30, 30], "{:?}", m.groups);
        // Deterministic.
        let again = build(&tickets, &o).unwrap();
        assert_eq!(m.assignments, again.assignments);
    }
}
