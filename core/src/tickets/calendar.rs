//! The school calendar: terms, holidays and instructional days.
//!
//! Given as TOML or CSV, or inferred from the tickets themselves: weekdays only, with breaks
//! where the help desk went quiet (runs of closed weekdays, and weeks far below both their
//! neighbours), and terms as the long runs between breaks.

use crate::text::excerpt;
use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Datelike, NaiveDate, TimeDelta, Weekday};
use serde::{Deserialize, Serialize};

use super::stats;
use crate::{Error, Result};

/// A term (semester, trimester…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    /// Its name (`Fall 2025`).
    pub name: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day (inclusive).
    pub end: NaiveDate,
}

/// A period without instruction (holiday, break, closure).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Break {
    /// Its name (`Winter break`, or `quiet period` when inferred).
    pub name: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day (inclusive).
    pub end: NaiveDate,
    /// Why it was inferred (absent when given in a calendar file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<BreakEvidence>,
}

/// The evidence behind an inferred break.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakEvidence {
    /// Tickets seen in the period.
    pub count: u64,
    /// Tickets expected from the neighbouring weeks.
    pub expected: f64,
    /// Poisson lower-tail probability of seeing so few.
    pub p_value: f64,
}

/// Terms, breaks and which weekdays are school days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchoolCalendar {
    /// Terms in date order. Empty means "every school day counts".
    #[serde(default, rename = "term")]
    pub terms: Vec<Term>,
    /// Holidays, breaks and closures.
    #[serde(default, rename = "holiday")]
    pub breaks: Vec<Break>,
    /// Extra instructional days (make-up days on a Saturday, for example).
    #[serde(default)]
    pub instructional_days: Vec<NaiveDate>,
    /// School weekdays (`mon` … `sun`); Monday to Friday when absent.
    #[serde(default = "default_weekdays")]
    pub weekdays: Vec<String>,
    /// Whether the calendar was inferred from ticket arrivals.
    #[serde(default)]
    pub inferred: bool,
}

fn default_weekdays() -> Vec<String> {
    ["mon", "tue", "wed", "thu", "fri"]
        .map(String::from)
        .to_vec()
}

impl Default for SchoolCalendar {
    fn default() -> Self {
        Self {
            terms: Vec::new(),
            breaks: Vec::new(),
            instructional_days: Vec::new(),
            weekdays: default_weekdays(),
            inferred: false,
        }
    }
}

/// The Monday of the week holding `d`.
pub fn week_start(d: NaiveDate) -> NaiveDate {
    d - TimeDelta::days(d.weekday().num_days_from_monday() as i64)
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    let p = s.trim().get(..3)?;
    let i = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .position(|d| d.eq_ignore_ascii_case(p))?;
    Weekday::try_from(i as u8).ok()
}

impl SchoolCalendar {
    /// Reads a calendar from a `.toml` or `.csv` file.
    ///
    /// TOML: `[[term]] name, start, end`, `[[holiday]] name, start, end` (dates as
    /// `"YYYY-MM-DD"` strings), optional
    /// `instructional_days = [dates]` and `weekdays = ["mon", …]`.
    /// CSV: `kind,name,start,end` rows with kind `term`, `holiday` (or `break`, `closure`) or
    /// `instructional` (end may be empty).
    pub fn load(path: &Path) -> Result<SchoolCalendar> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if path.extension().and_then(|e| e.to_str()) == Some("csv") {
            Self::from_csv(&text).map_err(|m| Error::Config {
                file: path.to_path_buf(),
                line: 0,
                col: 0,
                key: None,
                message: m.to_string(),
            })
        } else {
            Self::from_toml(&text).map_err(|e| match e {
                Error::Config {
                    line,
                    col,
                    key,
                    message,
                    ..
                } => Error::Config {
                    file: path.to_path_buf(),
                    line,
                    col,
                    key,
                    message,
                },
                other => other,
            })
        }
    }

    /// Parses the TOML form.
    pub fn from_toml(text: &str) -> Result<SchoolCalendar> {
        let cal: SchoolCalendar = toml::from_str(text).map_err(|e| {
            let (line, col) = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let col = s.start - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
                    (line, col)
                })
                .unwrap_or((0, 0));
            Error::Config {
                file: "<calendar>".into(),
                line,
                col,
                key: None,
                message: excerpt(e.message()).into_owned(),
            }
        })?;
        cal.validate()?;
        Ok(cal)
    }

    /// Parses the CSV form (`kind,name,start,end`).
    pub fn from_csv(text: &str) -> Result<SchoolCalendar> {
        let mut cal = SchoolCalendar::default();
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .from_reader(text.as_bytes());
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| {
                Error::invalid(
                    "calendar",
                    format!("line {line}: {}", excerpt(&e.to_string())),
                )
            })?;
            let get = |k: usize| rec.get(k).unwrap_or("").trim();
            let date = |s: &str| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                    Error::invalid(
                        "calendar",
                        format!("line {line}: `{}` is not a YYYY-MM-DD date", excerpt(s)),
                    )
                })
            };
            let start = date(get(2))?;
            let end = if get(3).is_empty() {
                start
            } else {
                date(get(3))?
            };
            match get(0).to_ascii_lowercase().as_str() {
                "term" => cal.terms.push(Term {
                    name: get(1).to_string(),
                    start,
                    end,
                }),
                "holiday" | "break" | "closure" => cal.breaks.push(Break {
                    name: get(1).to_string(),
                    start,
                    end,
                    evidence: None,
                }),
                "instructional" => cal.instructional_days.push(start),
                other => {
                    return Err(Error::invalid(
                        "calendar",
                        format!(
                            "line {line}: unknown kind `{}` (term, holiday, instructional)",
                            excerpt(other)
                        ),
                    ));
                }
            }
        }
        cal.validate()?;
        Ok(cal)
    }

    /// Checks dates and weekday names; sorts terms.
    pub fn validate(&self) -> Result<()> {
        for t in &self.terms {
            if t.end < t.start {
                return Err(Error::invalid(
                    "calendar",
                    format!("term `{}` ends before it starts", excerpt(&t.name)),
                ));
            }
        }
        for b in &self.breaks {
            if b.end < b.start {
                return Err(Error::invalid(
                    "calendar",
                    format!("holiday `{}` ends before it starts", excerpt(&b.name)),
                ));
            }
        }
        for w in &self.weekdays {
            if parse_weekday(w).is_none() {
                return Err(Error::invalid(
                    "calendar",
                    format!("`{}` is not a weekday", excerpt(w)),
                ));
            }
        }
        Ok(())
    }

    /// The calendar as TOML (what `--calendar` reads).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    fn is_school_weekday(&self, d: NaiveDate) -> bool {
        let wd = d.weekday();
        self.weekdays.iter().any(|w| parse_weekday(w) == Some(wd))
    }

    /// Whether `d` is an instructional day.
    pub fn is_instructional(&self, d: NaiveDate) -> bool {
        if self.instructional_days.contains(&d) {
            return true;
        }
        if !self.is_school_weekday(d) {
            return false;
        }
        if self.breaks.iter().any(|b| b.start <= d && d <= b.end) {
            return false;
        }
        self.terms.is_empty() || self.terms.iter().any(|t| t.start <= d && d <= t.end)
    }

    /// Instructional days in the week starting on Monday `monday`.
    pub fn instructional_days_in_week(&self, monday: NaiveDate) -> u32 {
        (0..7)
            .filter(|i| self.is_instructional(monday + TimeDelta::days(*i)))
            .count() as u32
    }

    /// The index of the term holding `d`.
    pub fn term_of(&self, d: NaiveDate) -> Option<usize> {
        self.terms.iter().position(|t| t.start <= d && d <= t.end)
    }

    /// Whether `d` falls in the first `weeks` school weeks of its term.
    pub fn in_term_start(&self, d: NaiveDate, weeks: i64) -> bool {
        self.term_of(d).is_some_and(|i| {
            (week_start(d) - week_start(self.terms[i].start)).num_days() < weeks * 7
        })
    }

    /// Infers a calendar from ticket creation dates: Monday–Friday, breaks where the help desk
    /// went quiet, terms between the breaks.
    pub fn infer(dates: impl IntoIterator<Item = NaiveDate>) -> SchoolCalendar {
        let mut daily: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        for d in dates {
            *daily.entry(d).or_insert(0) += 1;
        }
        let mut cal = SchoolCalendar {
            inferred: true,
            ..Default::default()
        };
        let (Some(&first), Some(&last)) = (daily.keys().next(), daily.keys().next_back()) else {
            return cal;
        };
        let first_week = week_start(first);
        let n_weeks = ((week_start(last) - first_week).num_days() / 7 + 1) as usize;
        let mut weekly = vec![0u64; n_weeks];
        for (d, c) in &daily {
            weekly[((week_start(*d) - first_week).num_days() / 7) as usize] += c;
        }
        let monday = |i: usize| first_week + TimeDelta::days(7 * i as i64);
        let mut quiet = vec![false; n_weeks];
        let local_median =
            |weekly: &[u64], quiet: &[bool], from: usize, to: usize| -> Option<f64> {
                let mut v: Vec<f64> = (from..to.min(weekly.len()))
                    .filter(|&j| !quiet[j])
                    .map(|j| weekly[j] as f64)
                    .collect();
                (v.len() >= 3).then(|| stats::median(&mut v))
            };
        // 1. Quiet runs of 1–14 weeks, every week far below the weeks on both sides.
        let mut i = 0;
        while i < n_weeks {
            // At the start of the data there is nothing on the left: use the right side only.
            let left = match local_median(&weekly, &quiet, i.saturating_sub(6), i) {
                Some(l) => l,
                None if i == 0 => match local_median(&weekly, &quiet, 1, 15) {
                    Some(r) => r,
                    None => {
                        i += 1;
                        continue;
                    }
                },
                None => {
                    i += 1;
                    continue;
                }
            };
            let mut found: Option<(usize, u64, f64, f64)> = None;
            let mut count = 0u64;
            for w in 1..=14usize.min(n_weeks - i) {
                let week = weekly[i + w - 1];
                if week as f64 >= 0.75 * left {
                    break;
                }
                count += week;
                // Near the end of the data there is too little on the right: use the left side only.
                let right = match local_median(&weekly, &quiet, i + w, i + w + 6) {
                    Some(r) => r,
                    None => left,
                };
                let base = left.min(right);
                let expected = w as f64 * base;
                let all_low = weekly[i..i + w].iter().all(|&c| (c as f64) < 0.75 * base);
                if expected < 10.0 || !all_low || count as f64 >= 0.5 * expected {
                    continue;
                }
                let p = stats::poisson_cdf(count, expected);
                if p < 0.01 {
                    found = Some((w, count, expected, p));
                }
            }
            match found {
                Some((w, count, expected, p)) => {
                    for q in &mut quiet[i..i + w] {
                        *q = true;
                    }
                    cal.breaks.push(Break {
                        name: "quiet period".into(),
                        start: monday(i),
                        end: monday(i + w - 1) + TimeDelta::days(4),
                        evidence: Some(BreakEvidence {
                            count,
                            expected,
                            p_value: p,
                        }),
                    });
                    i += w;
                }
                None => i += 1,
            }
        }
        // 2. Closed weekdays: no ticket at all where several a day are usual.
        let mut d = first;
        let mut run_start: Option<NaiveDate> = None;
        while d <= last + TimeDelta::days(1) {
            let weekday = d.weekday().num_days_from_monday() < 5;
            let empty = weekday && d <= last && !daily.contains_key(&d);
            let covered = cal.breaks.iter().any(|b| b.start <= d && d <= b.end);
            if empty && !covered {
                run_start.get_or_insert(d);
            } else if (weekday || d > last)
                && let Some(s) = run_start.take()
            {
                let days = (0..=(d - s).num_days())
                    .filter(|k| {
                        (s + TimeDelta::days(*k)).weekday().num_days_from_monday() < 5
                            && s + TimeDelta::days(*k) < d
                    })
                    .count() as f64;
                let i = ((week_start(s) - first_week).num_days() / 7) as usize;
                let j = ((week_start(d) - first_week).num_days() / 7) as usize;
                let lvl = local_median(&weekly, &quiet, i.saturating_sub(4), i)
                    .into_iter()
                    .chain(local_median(&weekly, &quiet, j + 1, j + 5))
                    .fold(f64::INFINITY, f64::min);
                let expected = if lvl.is_finite() {
                    days * lvl / 5.0
                } else {
                    0.0
                };
                if expected >= 8.0 {
                    cal.breaks.push(Break {
                        name: "closed".into(),
                        start: s,
                        end: d - TimeDelta::days(1),
                        evidence: Some(BreakEvidence {
                            count: 0,
                            expected,
                            p_value: (-expected).exp(),
                        }),
                    });
                }
            }
            d += TimeDelta::days(1);
        }
        cal.breaks.sort_by_key(|b| b.start);
        // 3. Terms: runs of at least six weeks between breaks of two weeks or more.
        let mut long_break = vec![false; n_weeks];
        for b in &cal.breaks {
            let span = (b.end - b.start).num_days() + 1;
            if span >= 10 {
                let i = ((week_start(b.start) - first_week).num_days() / 7) as usize;
                let j = ((week_start(b.end) - first_week).num_days() / 7) as usize;
                for f in long_break.iter_mut().take(j + 1).skip(i) {
                    *f = true;
                }
            }
        }
        let mut i = 0;
        let mut runs: Vec<(usize, usize)> = Vec::new();
        while i < n_weeks {
            if long_break[i] {
                i += 1;
                continue;
            }
            let s = i;
            while i < n_weeks && !long_break[i] {
                i += 1;
            }
            runs.push((s, i - 1));
        }
        // Merge short runs (a single quiet week inside a term should not split it).
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for r in runs {
            match merged.last_mut() {
                Some(last) if r.0 - last.1 <= 2 && (r.1 - r.0 < 5 || last.1 - last.0 < 5) => {
                    last.1 = r.1
                }
                _ => merged.push(r),
            }
        }
        for (k, (s, e)) in merged
            .into_iter()
            .filter(|(s, e)| e - s + 1 >= 6)
            .enumerate()
        {
            let start = monday(s).max(first);
            let end = (monday(e) + TimeDelta::days(4)).min(last);
            cal.terms.push(Term {
                name: format!(
                    "Term {} ({} – {})",
                    k + 1,
                    start.format("%b %Y"),
                    end.format("%b %Y")
                ),
                start,
                end,
            });
        }
        cal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn toml_and_csv_calendars() {
        let cal = SchoolCalendar::from_toml(
            "[[term]]\nname = \"Fall\"\nstart = \"2025-08-18\"\nend = \"2025-12-19\"\n\
             [[holiday]]\nname = \"Thanksgiving\"\nstart = \"2025-11-24\"\nend = \"2025-11-28\"\n",
        )
        .unwrap();
        assert!(cal.is_instructional(d("2025-09-02")));
        assert!(!cal.is_instructional(d("2025-09-06")), "Saturday");
        assert!(!cal.is_instructional(d("2025-11-25")), "Thanksgiving");
        assert!(!cal.is_instructional(d("2025-12-22")), "after the term");
        assert_eq!(cal.instructional_days_in_week(d("2025-11-24")), 0);
        assert_eq!(cal.instructional_days_in_week(d("2025-09-01")), 5);
        assert!(cal.in_term_start(d("2025-08-29"), 2));
        assert!(!cal.in_term_start(d("2025-09-15"), 2));
        let err = SchoolCalendar::from_toml(
            "[[term]]\nname = \"x\"\nstart = \"2025-08-18\"\nend = \"2025-12-19\"\ncolour = 1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(":5:"), "{err}");

        let cal = SchoolCalendar::from_csv(
            "kind,name,start,end\nterm,Spring,2026-01-05,2026-05-29\nholiday,MLK,2026-01-19,\ninstructional,Make-up,2026-02-07,\n",
        )
        .unwrap();
        assert!(!cal.is_instructional(d("2026-01-19")));
        assert!(cal.is_instructional(d("2026-02-07")));
        assert!(SchoolCalendar::from_csv("kind,name,start,end\nterm,x,soon,\n").is_err());
    }

    #[test]
    fn inferred_breaks_and_terms() {
        // 30 tickets a weekday, summer (4 weeks) closed, a quiet week with 2 tickets a day.
        let mut dates = Vec::new();
        let mut day = d("2024-01-08");
        while day < d("2024-12-20") {
            let wd = day.weekday().num_days_from_monday();
            let summer = day >= d("2024-07-01") && day < d("2024-07-29");
            let quiet = day >= d("2024-04-08") && day < d("2024-04-13");
            if wd < 5 && !summer {
                let n = if quiet { 2 } else { 30 };
                dates.extend(std::iter::repeat_n(day, n));
            }
            day += TimeDelta::days(1);
        }
        let cal = SchoolCalendar::infer(dates);
        assert!(cal.inferred);
        assert!(!cal.is_instructional(d("2024-07-10")));
        assert!(!cal.is_instructional(d("2024-04-09")));
        assert!(cal.is_instructional(d("2024-04-16")));
        assert_eq!(cal.terms.len(), 2, "{:?}", cal.terms);
        assert!(cal.terms[1].start >= d("2024-07-29"));
    }
}
