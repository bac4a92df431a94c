//! Recommendations: professional-development (training) candidates, FAQ / help-document
//! candidates, knowledge-base coverage gaps, and how many tickets each outage produced.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use rust_stemmers::{Algorithm, Stemmer};
use serde::Serialize;

use super::calendar::SchoolCalendar;
use super::topics::{self, TopicModel, TopicSource};
use super::{Ticket, stats};
use crate::{Error, Result};

/// An outage from forewarn's incident history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// The check that failed.
    pub check_name: String,
    /// When the incident opened (local time, like ticket times).
    pub opened: NaiveDateTime,
    /// When it was resolved, if it was.
    pub resolved: Option<NaiveDateTime>,
}

/// A knowledge-base article.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KbArticle {
    /// Title (first heading, or the file name).
    pub title: String,
    /// Full text.
    pub text: String,
}

/// Evidence behind a training suggestion.
#[derive(Debug, Clone, Serialize)]
pub struct TrainingEvidence {
    /// Tickets on the topic.
    pub tickets: usize,
    /// Distinct requesters (hashed) of the tickets people wrote.
    pub distinct_requesters: usize,
    /// Share of the tickets people wrote worded as how-to questions.
    pub how_to_share: f64,
    /// Median hours to resolution of the tickets people wrote, when known.
    pub median_handling_hours: Option<f64>,
    /// Whether the topic is mostly hardware.
    pub hardware: bool,
    /// Share of the topic's tickets in the first three weeks of a term.
    pub term_start_share: f64,
    /// Share of instructional days in the first three weeks of a term.
    pub term_start_day_share: f64,
}

/// A professional-development suggestion.
#[derive(Debug, Clone, Serialize)]
pub struct TrainingCandidate {
    /// The topic.
    pub topic: String,
    /// Criteria met (out of 5: many people, how-to wording, quick to solve, not hardware,
    /// peaks at term start).
    pub score: u8,
    /// The criteria met, in words.
    pub reasons: Vec<String>,
    /// When to offer it.
    pub timing: String,
    /// The numbers.
    pub evidence: TrainingEvidence,
}

/// A help-document / FAQ suggestion from a near-duplicate group.
#[derive(Debug, Clone, Serialize)]
pub struct FaqCandidate {
    /// The question as most often asked.
    pub question: String,
    /// Tickets asking it.
    pub tickets: usize,
    /// Its tickets' share of all tickets analysed (0–1).
    pub share: f64,
    /// The day its first ticket was opened.
    pub first: Option<NaiveDate>,
    /// The day its last ticket was opened.
    pub last: Option<NaiveDate>,
    /// Distinct requesters.
    pub distinct_requesters: usize,
    /// Its topic.
    pub topic: Option<String>,
    /// The category its tickets were most often filed under, when the export has categories.
    pub category: Option<String>,
    /// Up to five of its tickets' subjects as written (one line each, at most 200 characters),
    /// the most frequent first.
    pub examples: Vec<String>,
    /// The usual answer, when resolutions were exported.
    pub resolution: Option<String>,
    /// Share of resolved tickets with that answer.
    pub resolution_consistency: Option<f64>,
    /// A knowledge-base article that already covers it, when articles were given.
    pub covered_by: Option<String>,
}

/// A frequent topic no knowledge-base article covers.
#[derive(Debug, Clone, Serialize)]
pub struct KbGap {
    /// The topic.
    pub topic: String,
    /// Its tickets.
    pub tickets: usize,
    /// The closest article, if any shares terms with it.
    pub closest_article: Option<String>,
    /// Share of the topic's key terms found in that article.
    pub coverage: f64,
}

/// Tickets around one outage.
#[derive(Debug, Clone, Serialize)]
pub struct OutageImpact {
    /// The check.
    pub check_name: String,
    /// Opened.
    pub opened: NaiveDateTime,
    /// Resolved (if it was).
    pub resolved: Option<NaiveDateTime>,
    /// Tickets opened from the outage's start to one hour after it ended.
    pub tickets: u64,
    /// Expected in the same window one to four weeks before and after.
    pub expected: f64,
    /// `tickets - expected`: the cost of not telling people.
    pub excess: f64,
    /// Poisson upper-tail p-value.
    pub p_value: f64,
    /// Topics of the tickets in the window.
    pub top_topics: Vec<(String, usize)>,
}

/// All recommendations.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Recommendations {
    /// Training candidates, best first.
    pub training: Vec<TrainingCandidate>,
    /// FAQ / help-document candidates, largest first.
    pub faq: Vec<FaqCandidate>,
    /// Knowledge-base articles read.
    pub kb_articles: usize,
    /// Frequent topics without an article (only when articles were given).
    pub kb_gaps: Vec<KbGap>,
    /// Outage impact (only when incidents were given).
    pub outages: Vec<OutageImpact>,
}

/// What a FAQ candidate's own tickets show: their period, usual category and example subjects.
#[derive(Default)]
struct FaqEvidence {
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
    category: Option<String>,
    examples: Vec<String>,
}

/// The evidence of near-duplicate groups `groups` (indices into `model.groups`), in one pass
/// over the tickets.
fn faq_evidence(
    tickets: &[Ticket],
    model: &TopicModel,
    groups: &[usize],
) -> HashMap<usize, FaqEvidence> {
    #[derive(Default)]
    struct Acc<'a> {
        first: Option<NaiveDate>,
        last: Option<NaiveDate>,
        categories: HashMap<&'a str, usize>,
        /// Subject (trimmed) → (count, first seen).
        subjects: HashMap<&'a str, (usize, usize)>,
    }
    let mut acc: HashMap<usize, Acc<'_>> = groups.iter().map(|&g| (g, Acc::default())).collect();
    for (i, t) in tickets.iter().enumerate() {
        let Some(&g) = model.ticket_group.get(i) else {
            break;
        };
        let Some(a) = acc.get_mut(&(g as usize)) else {
            continue;
        };
        let d = t.created.date();
        a.first = Some(a.first.map_or(d, |f| f.min(d)));
        a.last = Some(a.last.map_or(d, |l| l.max(d)));
        if let Some(c) = t
            .category
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            *a.categories.entry(c).or_insert(0) += 1;
        }
        let subject = t.subject.trim();
        if !subject.is_empty() {
            a.subjects.entry(subject).or_insert((0, i)).0 += 1;
        }
    }
    acc.into_iter()
        .map(|(g, a)| {
            let category = a
                .categories
                .iter()
                .max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0)))
                .map(|(c, _)| (*c).to_owned());
            let mut subjects: Vec<(&str, (usize, usize))> = a.subjects.into_iter().collect();
            subjects.sort_by(|x, y| y.1.0.cmp(&x.1.0).then(x.1.1.cmp(&y.1.1)));
            let mut examples: Vec<String> = Vec::new();
            for (s, _) in subjects {
                let line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
                let line = if line.chars().count() > 200 {
                    let cut: String = line.chars().take(199).collect();
                    format!("{cut}…")
                } else {
                    line
                };
                if !examples.contains(&line) {
                    examples.push(line);
                }
                if examples.len() == 5 {
                    break;
                }
            }
            (
                g,
                FaqEvidence {
                    first: a.first,
                    last: a.last,
                    category,
                    examples,
                },
            )
        })
        .collect()
}

/// Derives every recommendation.
pub fn recommend(
    tickets: &[Ticket],
    model: &TopicModel,
    calendar: &SchoolCalendar,
    kb: &[KbArticle],
    incidents: &[Incident],
) -> Recommendations {
    let n = tickets.len();
    // Term-start shares.
    let mut start_memo: super::FastMap<chrono::NaiveDate, bool> = super::FastMap::default();
    let in_start: Vec<bool> = tickets
        .iter()
        .map(|t| {
            let d = t.created.date();
            *start_memo
                .entry(d)
                .or_insert_with(|| calendar.in_term_start(d, 3))
        })
        .collect();
    let (mut start_days, mut all_days) = (0usize, 0usize);
    if let (Some(first), Some(last)) = (
        tickets.iter().map(|t| t.created.date()).min(),
        tickets.iter().map(|t| t.created.date()).max(),
    ) {
        let mut d = first;
        while d <= last {
            if calendar.is_instructional(d) {
                all_days += 1;
                start_days += calendar.in_term_start(d, 3) as usize;
            }
            d += TimeDelta::days(1);
        }
    }
    let day_share = if all_days > 0 {
        start_days as f64 / all_days as f64
    } else {
        0.0
    };
    let mut topic_start = vec![0usize; model.topics.len()];
    for (i, &s) in in_start.iter().enumerate() {
        if s && let Some(&a) = model.assignments.get(i)
            && (a as usize) < topic_start.len()
        {
            topic_start[a as usize] += 1;
        }
    }
    let requesters_known = tickets.iter().any(|t| t.requester.is_some());
    let min_tickets = 10.max(n / 200);
    let next_term = calendar
        .terms
        .iter()
        .map(|t| t.start)
        .filter(|s| Some(*s) > tickets.iter().map(|t| t.created.date()).max())
        .min();
    let mut training = Vec::new();
    for (ti, t) in model.topics.iter().enumerate() {
        // Hardware is not a training matter, nor are devices' own alert mails.
        if t.by_people() < min_tickets || t.hardware || t.mostly_automated() {
            continue;
        }
        let start_share = topic_start[ti] as f64 / t.tickets as f64;
        let mut reasons = Vec::new();
        let many = !requesters_known
            || (t.distinct_requesters >= 10
                && t.distinct_requesters as f64 >= 0.4 * t.by_people() as f64);
        if many && requesters_known {
            reasons.push(format!(
                "asked by {} different people",
                t.distinct_requesters
            ));
        }
        let how_to = t.how_to_share >= 0.25;
        if how_to {
            reasons.push(format!(
                "{:.0}% worded as how-to questions",
                100.0 * t.how_to_share
            ));
        }
        let quick = t.median_handling_hours.is_none_or(|h| h <= 4.0);
        if let Some(h) = t.median_handling_hours
            && quick
        {
            reasons.push(format!("solved quickly (median {h:.1} h)"));
        }
        reasons.push("little hardware involved".into());
        let peaks = day_share > 0.0 && start_share >= 1.3 * day_share;
        if peaks {
            reasons.push(format!(
                "peaks at term start ({:.0}% of its tickets in the first 3 weeks, which hold {:.0}% of school days)",
                100.0 * start_share,
                100.0 * day_share
            ));
        }
        let score = [many, how_to, quick, true, peaks]
            .iter()
            .filter(|x| **x)
            .count() as u8;
        if !how_to || score < 4 {
            continue;
        }
        let timing = if peaks {
            match next_term {
                Some(d) => format!("before term starts: in the week before {d}"),
                None => "before term starts (in-service days before the next term)".into(),
            }
        } else {
            "within the next month (steady demand all term)".into()
        };
        training.push(TrainingCandidate {
            topic: t.name.clone(),
            score,
            reasons,
            timing,
            evidence: TrainingEvidence {
                tickets: t.tickets,
                distinct_requesters: t.distinct_requesters,
                how_to_share: t.how_to_share,
                median_handling_hours: t.median_handling_hours,
                hardware: t.hardware,
                term_start_share: start_share,
                term_start_day_share: day_share,
            },
        });
    }
    training.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(b.evidence.tickets.cmp(&a.evidence.tickets))
    });

    // KB index.
    let stemmer = Stemmer::create(Algorithm::English);
    let stems = |s: &str| -> HashSet<String> {
        let low = topics::normalise(s);
        topics::words(&low)
            .map(|w| stemmer.stem(w).into_owned())
            .collect()
    };
    let kb_sets: Vec<HashSet<String>> = kb
        .iter()
        .map(|a| stems(&format!("{} {}", a.title, a.text)))
        .collect();
    let best_article = |terms: &HashSet<String>| -> Option<(usize, f64)> {
        if terms.is_empty() {
            return None;
        }
        kb_sets
            .iter()
            .enumerate()
            .map(|(i, s)| {
                (
                    i,
                    terms.iter().filter(|t| s.contains(*t)).count() as f64 / terms.len() as f64,
                )
            })
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    };

    let faq_min = 10.max(n / 500);
    let chosen: Vec<usize> = model
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| {
            // The same device notice a hundred times is not a question people ask.
            !g.automated
                && g.tickets >= faq_min
                && g.resolution_consistency.is_none_or(|c| c >= 0.5)
        })
        .take(15)
        .map(|(i, _)| i)
        .collect();
    let mut evidence = faq_evidence(tickets, model, &chosen);
    let faq: Vec<FaqCandidate> = chosen
        .iter()
        .map(|&gi| {
            let g = &model.groups[gi];
            let e = evidence.remove(&gi).unwrap_or_default();
            // The question's subject (before the first line of the body) names what to cover.
            let subject = g.question.split(" — ").next().unwrap_or(&g.question);
            let covered_by = best_article(&stems(subject))
                .filter(|(_, c)| *c >= 0.5)
                .map(|(i, _)| kb[i].title.clone());
            FaqCandidate {
                question: g.question.clone(),
                tickets: g.tickets,
                share: if n > 0 {
                    g.tickets as f64 / n as f64
                } else {
                    0.0
                },
                first: e.first,
                last: e.last,
                distinct_requesters: g.distinct_requesters,
                topic: g.topic.clone(),
                category: e.category,
                examples: e.examples,
                resolution: g.resolution.clone(),
                resolution_consistency: g.resolution_consistency,
                covered_by,
            }
        })
        .collect();

    let mut kb_gaps = Vec::new();
    if !kb.is_empty() {
        for t in model
            .topics
            .iter()
            .filter(|t| t.by_people() >= min_tickets && !t.mostly_automated())
            .take(20)
        {
            let mut terms: HashSet<String> =
                t.top_terms.iter().take(4).flat_map(|x| stems(x)).collect();
            if t.source == TopicSource::Taxonomy {
                terms.extend(stems(&t.name));
            }
            let best = best_article(&terms);
            let coverage = best.map(|b| b.1).unwrap_or(0.0);
            if coverage < 0.5 {
                kb_gaps.push(KbGap {
                    topic: t.name.clone(),
                    tickets: t.tickets,
                    closest_article: best.filter(|b| b.1 > 0.0).map(|(i, _)| kb[i].title.clone()),
                    coverage,
                });
            }
        }
    }

    let outages = outage_impact(tickets, model, incidents);
    Recommendations {
        training,
        faq,
        kb_articles: kb.len(),
        kb_gaps,
        outages,
    }
}

fn outage_impact(
    tickets: &[Ticket],
    model: &TopicModel,
    incidents: &[Incident],
) -> Vec<OutageImpact> {
    if incidents.is_empty() || tickets.is_empty() {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..tickets.len()).collect();
    order.sort_by_key(|&i| tickets[i].created);
    let times: Vec<NaiveDateTime> = order.iter().map(|&i| tickets[i].created).collect();
    let (first, last) = (times[0], times[times.len() - 1]);
    let count = |a: NaiveDateTime, b: NaiveDateTime| {
        let lo = times.partition_point(|t| *t < a);
        let hi = times.partition_point(|t| *t < b);
        (lo, hi)
    };
    incidents
        .iter()
        .map(|inc| {
            let end =
                inc.resolved.unwrap_or(inc.opened + TimeDelta::hours(2)) + TimeDelta::hours(1);
            let end = end.min(inc.opened + TimeDelta::days(3));
            let (lo, hi) = count(inc.opened, end);
            let mut base = Vec::new();
            for w in [-4i64, -3, -2, -1, 1, 2, 3, 4] {
                let s = inc.opened + TimeDelta::weeks(w);
                let e = end + TimeDelta::weeks(w);
                if s >= first && e <= last {
                    let (a, b) = count(s, e);
                    base.push((b - a) as f64);
                }
            }
            let expected = if base.is_empty() {
                0.0
            } else {
                base.iter().sum::<f64>() / base.len() as f64
            };
            let c = (hi - lo) as u64;
            let mut topics: HashMap<&str, usize> = HashMap::new();
            for &i in &order[lo..hi] {
                if let Some(t) = model.topic_of(i) {
                    *topics.entry(t.name.as_str()).or_insert(0) += 1;
                }
            }
            let mut top: Vec<(String, usize)> = topics
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            top.truncate(3);
            OutageImpact {
                check_name: inc.check_name.clone(),
                opened: inc.opened,
                resolved: inc.resolved,
                tickets: c,
                expected,
                excess: c as f64 - expected,
                p_value: stats::poisson_sf(c, expected.max(0.5)),
                top_topics: top,
            }
        })
        .collect()
}

/// Reads knowledge-base articles (`.md`, `.markdown`, `.txt`, `.html`) from a directory tree.
pub fn load_kb(dir: &Path) -> Result<Vec<KbArticle>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .map_err(|e| Error::io(format!("reading {}", d.display()), e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            if !matches!(ext.as_str(), "md" | "markdown" | "txt" | "html" | "htm") {
                continue;
            }
            let bytes =
                std::fs::read(&p).map_err(|e| Error::io(format!("reading {}", p.display()), e))?;
            let (text, _) = super::ingest::decode(&bytes);
            let text = if ext.starts_with("htm") {
                super::ingest::clean_html(&text)
            } else {
                text.into_owned()
            };
            let title = text
                .lines()
                .map(|l| l.trim().trim_start_matches('#').trim())
                .find(|l| !l.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| super::ingest::display_name(&p));
            out.push(KbArticle { title, text });
        }
    }
    Ok(out)
}

/// Reads incidents from a forewarn SQLite database: table `incidents` with columns
/// `id, check_name, opened_at, resolved_at` (unix milliseconds, `resolved_at` nullable).
/// Times are converted to wall-clock time in `zone` (the district's, which ticket exports are
/// written in).
pub fn read_incidents(db: &Path, zone: crate::clock::Zone) -> Result<Vec<Incident>> {
    if !db.exists() {
        return Err(Error::NotFound {
            what: "incident database",
            id: db.display().to_string(),
        });
    }
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let has_table: bool = conn
        .query_row(
            "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'incidents')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| Error::Store(format!("{}: {e} (is this a forewarn database?)", db.display())))?;
    if !has_table {
        return Err(Error::invalid(
            "incidents",
            format!(
                "{} has no `incidents` table (expected columns id, check_name, opened_at, resolved_at in unix ms); is it a forewarn database?",
                db.display()
            ),
        ));
    }
    let mut stmt = conn
        .prepare("SELECT check_name, opened_at, resolved_at FROM incidents ORDER BY opened_at")?;
    let to_local = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|d| d.with_timezone(&zone.tz()).naive_local())
    };
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<i64>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (check_name, opened, resolved) = row?;
        let Some(opened) = to_local(opened) else {
            continue;
        };
        out.push(Incident {
            check_name,
            opened,
            resolved: resolved.and_then(to_local),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::TopicOptions;

    #[test]
    fn notices_in_a_topic_neither_hide_nor_make_a_training_need() {
        let at = |minutes: i64| {
            NaiveDate::from_ymd_opt(2026, 3, 2)
                .unwrap()
                .and_hms_opt(8, 0, 0)
                .unwrap()
                + TimeDelta::minutes(minutes)
        };
        let ticket = |i: usize, subject: &str, body: &str, who: String, minutes: i64| Ticket {
            id: format!("t{i}"),
            created: at(i as i64),
            resolved: Some(at(i as i64 + minutes)),
            subject: subject.into(),
            body: body.into(),
            requester: Some(who),
            ..Default::default()
        };
        // Twelve teachers about their passwords, five of them asking how to; eleven expiry
        // notices from the directory, closed on arrival.
        let mut tickets: Vec<Ticket> = (0..12)
            .map(|i| {
                let subject = if i < 5 {
                    "How do I change my password on the staff laptop?"
                } else {
                    "Password locked out again on the staff laptop"
                };
                ticket(i, subject, "", format!("teacher{i}"), 45)
            })
            .collect();
        let notice = |i: usize| {
            ticket(
                i,
                "Your password expires in 5 days",
                "This is an automatically generated message. Please do not reply.",
                "directory@district.example".into(),
                0,
            )
        };
        tickets.extend((12..23).map(notice));
        let model = topics::build(&tickets, &TopicOptions::default()).unwrap();
        let passwords = model.topic_of(0).unwrap();
        assert_eq!(passwords.name, "Passwords & MFA");
        assert_eq!((passwords.tickets, passwords.automated), (23, 11));
        let r = recommend(&tickets, &model, &SchoolCalendar::default(), &[], &[]);
        // Read over all 23, five how-to questions are 22 %, under the quarter a training
        // suggestion needs; over the twelve people wrote, 42 %.
        let t = r
            .training
            .iter()
            .find(|t| t.topic == "Passwords & MFA")
            .expect("a training suggestion on passwords");
        assert!((t.evidence.how_to_share - 5.0 / 12.0).abs() < 1e-9, "{t:?}");
        assert_eq!(t.evidence.distinct_requesters, 12);
        assert!(
            t.reasons[0].contains("asked by 12 different people"),
            "{t:?}"
        );
        // Made mostly of notices, the same topic is no training matter at all.
        tickets.extend((23..26).map(notice));
        let model = topics::build(&tickets, &TopicOptions::default()).unwrap();
        assert!(model.topic_of(0).unwrap().mostly_automated());
        let r = recommend(&tickets, &model, &SchoolCalendar::default(), &[], &[]);
        assert!(r.training.iter().all(|t| t.topic != "Passwords & MFA"));
    }
}
