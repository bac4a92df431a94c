//! The report: one self-contained HTML file (inline SVG charts, no scripts, no external assets)
//! and its JSON twin.

use std::fmt::Write as _;
use std::path::Path;

use html_escape::encode_text as esc;
use serde::Serialize;

use super::trends::{Dimension, SpikeKind, TermChangeKind};
use super::{Analysis, IngestSummary};
use crate::{Error, Result};

/// Everything the report shows, serialisable as the JSON twin.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// Report title.
    pub title: String,
    /// When it was made (local time).
    pub generated_at: String,
    /// Export file names.
    pub inputs: Vec<String>,
    /// Ingest summary.
    pub ingest: &'a IngestSummary,
    /// The analysis.
    pub analysis: &'a Analysis,
}

impl Report<'_> {
    /// The JSON twin.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::invalid("report", e.to_string()))
    }

    /// Writes `html_path` and the JSON twin at `json_path`.
    pub fn write(&self, html_path: &Path, json_path: &Path) -> Result<()> {
        std::fs::write(html_path, self.to_html())
            .map_err(|e| Error::io(format!("writing {}", html_path.display()), e))?;
        std::fs::write(json_path, self.to_json()?)
            .map_err(|e| Error::io(format!("writing {}", json_path.display()), e))?;
        Ok(())
    }

    /// The HTML page.
    pub fn to_html(&self) -> String {
        let a = self.analysis;
        let mut h = String::with_capacity(64 * 1024);
        let _ = write!(
            h,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{CSS}</style></head><body>\
             <h1>{t}</h1><p class=\"muted\">Generated {g} from {inputs}.</p>",
            t = esc(&self.title),
            g = esc(&self.generated_at),
            inputs = esc(&self.inputs.join(", ")),
        );
        // Summary.
        let i = self.ingest;
        let total: u64 = a.trends.series.first().map(|s| s.total).unwrap_or(0);
        let _ = write!(
            h,
            "<section><h2>Summary</h2><ul><li><b>{}</b> tickets analysed ({}).</li>\
             <li>{} weeks from {} to {}; calendar {}.</li>\
             <li>{} unexpected spike(s), {} significant term change(s), {} long trend(s), {} level shift(s).</li>\
             <li>{} training suggestion(s), {} FAQ candidate(s){}{}.</li></ul></section>",
            total,
            esc(&i.rows_text()),
            a.trends.weeks.len(),
            a.trends
                .weeks
                .first()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            a.trends
                .weeks
                .last()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            if a.calendar.inferred {
                "inferred from the data (weekdays, quiet periods as breaks)"
            } else {
                "as given"
            },
            a.trends.unexpected_spikes().count(),
            a.trends
                .term_changes
                .iter()
                .filter(|c| c.significant)
                .count(),
            a.trends
                .long_trends
                .iter()
                .filter(|c| c.significant)
                .count(),
            a.trends.changepoints.len(),
            a.recommendations.training.len(),
            a.recommendations.faq.len(),
            if a.recommendations.kb_articles > 0 {
                format!(
                    ", {} knowledge-base gap(s)",
                    a.recommendations.kb_gaps.len()
                )
            } else {
                String::new()
            },
            if a.recommendations.outages.is_empty() {
                String::new()
            } else {
                format!(", {} outage(s) correlated", a.recommendations.outages.len())
            },
        );
        h.push_str("<section><h2>Weekly volume</h2><p class=\"muted\">Bars: tickets per school week. Grey: weeks without instruction. Red dots: unexpected spikes (any series); orange: term-start surges; dashed lines: level shifts.</p>");
        h.push_str(&self.volume_svg());
        h.push_str("</section>");
        self.recommendations_html(&mut h);
        self.trends_html(&mut h);
        self.topics_html(&mut h);
        self.ingest_html(&mut h);
        h.push_str("</body></html>\n");
        h
    }

    fn volume_svg(&self) -> String {
        let t = &self.analysis.trends;
        let counts = &t.series[0].counts;
        let n = counts.len().max(1);
        let (w, hgt, pad) = (960.0, 240.0, 30.0);
        let max = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
        let bw = (w - 2.0 * pad) / n as f64;
        let y = |c: f64| hgt - pad - (hgt - 2.0 * pad) * c / max;
        let mut s = format!(
            "<svg viewBox=\"0 0 {w} {hgt}\" width=\"100%\" role=\"img\" aria-label=\"Tickets per week\">"
        );
        for (i, &c) in counts.iter().enumerate() {
            let x = pad + i as f64 * bw;
            if t.instructional_days[i] == 0 {
                let _ = write!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{pad}\" width=\"{bw:.2}\" height=\"{:.1}\" fill=\"#eee\"/>",
                    hgt - 2.0 * pad
                );
            }
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"#4a78b5\"><title>{}: {} tickets, {} school days</title></rect>",
                y(c as f64),
                (bw - 0.5).max(0.5),
                hgt - pad - y(c as f64),
                t.weeks[i],
                c,
                t.instructional_days[i]
            );
        }
        for sp in &t.spikes {
            let Some(i) = t.weeks.iter().position(|w| *w == sp.week) else {
                continue;
            };
            let colour = if sp.kind == SpikeKind::Spike {
                "#d33"
            } else {
                "#e90"
            };
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{colour}\"><title>{} {:?} {}: {} tickets vs {:.1} expected (p {})</title></circle>",
                pad + (i as f64 + 0.5) * bw,
                y(counts[i] as f64) - 6.0,
                sp.week,
                sp.dimension,
                esc(&sp.key),
                sp.count,
                sp.expected,
                esc(&p_text(sp.p_value, 2))
            );
        }
        for cp in t
            .changepoints
            .iter()
            .filter(|c| c.dimension == Dimension::All)
        {
            if let Some(i) = t.weeks.iter().position(|w| *w == cp.week) {
                let x = pad + i as f64 * bw;
                let _ = write!(
                    s,
                    "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{pad}\" y2=\"{:.1}\" stroke=\"#333\" stroke-dasharray=\"4 3\"><title>level shift {}: {:.0} → {:.0} a month</title></line>",
                    hgt - pad,
                    cp.week,
                    cp.monthly_before,
                    cp.monthly_after
                );
            }
        }
        // Axes: max label and year ticks.
        let _ = write!(
            s,
            "<text x=\"2\" y=\"{:.1}\" class=\"ax\">{}</text>",
            pad + 4.0,
            max as u64
        );
        let mut last_year = 0;
        for (i, wk) in t.weeks.iter().enumerate() {
            let yr = chrono::Datelike::year(wk);
            if yr != last_year {
                last_year = yr;
                let _ = write!(
                    s,
                    "<text x=\"{:.1}\" y=\"{:.1}\" class=\"ax\">{yr}</text>",
                    pad + i as f64 * bw,
                    hgt - 8.0
                );
            }
        }
        s.push_str("</svg>");
        s
    }

    fn bars_svg(rows: &[(String, f64, String)]) -> String {
        let max = rows.iter().map(|r| r.1).fold(0.0, f64::max).max(1e-9);
        let (w, row_h) = (960.0, 22.0);
        let label_w = 380.0;
        let mut s = format!(
            "<svg viewBox=\"0 0 {w} {:.0}\" width=\"100%\" role=\"img\">",
            row_h * rows.len() as f64 + 4.0
        );
        for (i, (label, v, text)) in rows.iter().enumerate() {
            let yy = i as f64 * row_h;
            let bw = (w - label_w - 120.0) * v / max;
            let short: String = label.chars().take(55).collect();
            let _ = write!(
                s,
                "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\" class=\"lb\">{}</text><rect x=\"{label_w}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"#4a78b5\"><title>{}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" class=\"lb\">{}</text>",
                label_w - 6.0,
                yy + 15.0,
                esc(&short),
                yy + 3.0,
                row_h - 6.0,
                esc(label),
                label_w + bw + 4.0,
                yy + 15.0,
                esc(text)
            );
        }
        s.push_str("</svg>");
        s
    }

    fn recommendations_html(&self, h: &mut String) {
        let r = &self.analysis.recommendations;
        h.push_str("<section><h2>Recommendations</h2><h3>Training (professional development)</h3>");
        if r.training.is_empty() {
            h.push_str("<p class=\"muted\">No topic meets the training criteria (many people, how-to wording, quick to solve, little hardware, term-start peak).</p>");
        } else {
            h.push_str("<table><tr><th>Topic</th><th>When</th><th>Why (evidence)</th><th>Tickets</th><th>People</th></tr>");
            for t in &r.training {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{} (score {}/5)</td><td>{}</td><td>{}</td></tr>",
                    esc(&t.topic),
                    esc(&t.timing),
                    esc(&t.reasons.join("; ")),
                    t.score,
                    t.evidence.tickets,
                    t.evidence.distinct_requesters
                );
            }
            h.push_str("</table>");
        }
        h.push_str("<h3>FAQ and help documents</h3>");
        if r.faq.is_empty() {
            h.push_str("<p class=\"muted\">No large group of near-identical questions.</p>");
        } else {
            h.push_str("<table><tr><th>Question (as asked)</th><th>Tickets</th><th>People</th><th>Usual answer</th><th>Knowledge base</th></tr>");
            for f in &r.faq {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
                    esc(&f.question),
                    f.tickets,
                    f.distinct_requesters,
                    esc(f.resolution.as_deref().unwrap_or("—")),
                    f.resolution_consistency
                        .map(|c| format!(" ({:.0}% consistent)", 100.0 * c))
                        .unwrap_or_default(),
                    esc(f.covered_by.as_deref().unwrap_or(if r.kb_articles > 0 {
                        "not covered"
                    } else {
                        "—"
                    }))
                );
            }
            h.push_str("</table>");
        }
        if r.kb_articles > 0 {
            let _ = write!(
                h,
                "<h3>Knowledge-base gaps ({} articles read)</h3>",
                r.kb_articles
            );
            if r.kb_gaps.is_empty() {
                h.push_str("<p>Every frequent topic has an article.</p>");
            } else {
                h.push_str("<table><tr><th>Topic</th><th>Tickets</th><th>Closest article</th><th>Coverage</th></tr>");
                for g in &r.kb_gaps {
                    let _ = write!(
                        h,
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0}%</td></tr>",
                        esc(&g.topic),
                        g.tickets,
                        esc(g.closest_article.as_deref().unwrap_or("—")),
                        100.0 * g.coverage
                    );
                }
                h.push_str("</table>");
            }
        }
        if !r.outages.is_empty() {
            h.push_str("<h3>Outages and the tickets they caused</h3><table><tr><th>Check</th><th>Opened</th><th>Resolved</th><th>Tickets</th><th>Expected</th><th>Excess</th><th>p</th><th>Topics</th></tr>");
            for o in &r.outages {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:+.1}</td><td>{}</td><td>{}</td></tr>",
                    esc(&o.check_name),
                    o.opened,
                    o.resolved
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| "open".into()),
                    o.tickets,
                    o.expected,
                    o.excess,
                    esc(&p_text(o.p_value, 2)),
                    esc(&o
                        .top_topics
                        .iter()
                        .map(|(t, n)| format!("{t} ({n})"))
                        .collect::<Vec<_>>()
                        .join(", "))
                );
            }
            h.push_str("</table>");
        }
        h.push_str("</section>");
    }

    fn trends_html(&self, h: &mut String) {
        let t = &self.analysis.trends;
        h.push_str("<section><h2>Terms</h2>");
        if t.terms.is_empty() {
            h.push_str("<p class=\"muted\">No terms known.</p>");
        } else {
            let rows: Vec<(String, f64, String)> = t
                .terms
                .iter()
                .map(|x| {
                    (
                        x.name.clone(),
                        x.rate,
                        format!("{:.1}/day ({} tickets, {} days)", x.rate, x.count, x.days),
                    )
                })
                .collect();
            h.push_str(&Self::bars_svg(&rows));
        }
        let sig: Vec<_> = t.term_changes.iter().filter(|c| c.significant).collect();
        if !sig.is_empty() {
            h.push_str("<h3>Significant term-over-term changes</h3><table><tr><th>Series</th><th>Term</th><th>vs</th><th>Tickets</th><th>Rate ratio</th><th>p</th></tr>");
            for c in sig.iter().take(40) {
                let _ = write!(
                    h,
                    "<tr><td>{:?}: {}</td><td>{}</td><td>{}</td><td>{} vs {}</td><td>{}</td><td>{}</td></tr>",
                    c.dimension,
                    esc(&c.key),
                    esc(&c.term),
                    esc(&c.previous),
                    c.count,
                    c.previous_count,
                    ratio_text(c.kind, c.rate_ratio),
                    esc(&p_text(c.p_value, 2))
                );
            }
            h.push_str("</table>");
        }
        h.push_str("<h2>Spikes</h2>");
        if t.spikes.is_empty() {
            h.push_str("<p>No week stands out from its baseline.</p>");
        } else {
            h.push_str("<table><tr><th>Week</th><th>Kind</th><th>Series</th><th>Tickets</th><th>Expected</th><th>p (threshold)</th></tr>");
            for s in t.spikes.iter().take(60) {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{:?}</td><td>{:?}: {}</td><td>{}</td><td>{:.1}</td><td>{} ({})</td></tr>",
                    s.week,
                    s.kind,
                    s.dimension,
                    esc(&s.key),
                    s.count,
                    s.expected,
                    esc(&p_text(s.p_value, 1)),
                    esc(&p_text(s.threshold, 1))
                );
            }
            h.push_str("</table>");
        }
        h.push_str("<h2>Long trends and level shifts</h2>");
        let lt: Vec<_> = t.long_trends.iter().filter(|l| l.significant).collect();
        if lt.is_empty() {
            h.push_str("<p>No significant long trend (Mann-Kendall).</p>");
        } else {
            h.push_str("<table><tr><th>Series</th><th>Direction</th><th>Change over the span</th><th>Sen slope (per day, per week)</th><th>z</th><th>p</th></tr>");
            for l in lt {
                let _ = write!(
                    h,
                    "<tr><td>{:?}: {}</td><td>{}</td><td>{}</td><td>{:+.4}</td><td>{:.1}</td><td>{}</td></tr>",
                    l.dimension,
                    esc(&l.key),
                    if l.test.z > 0.0 { "rising" } else { "falling" },
                    change_text(l.relative_change),
                    l.test.sen_slope,
                    l.test.z,
                    esc(&p_text(l.test.p_value, 1))
                );
            }
            h.push_str("</table>");
        }
        if !t.changepoints.is_empty() {
            h.push_str("<table><tr><th>Series</th><th>From week</th><th>Per month before → after (quarter around)</th><th>p</th></tr>");
            for c in &t.changepoints {
                let _ = write!(
                    h,
                    "<tr><td>{:?}: {}</td><td>{}</td><td>{:.0} → {:.0} ({:.0} → {:.0})</td><td>{}</td></tr>",
                    c.dimension,
                    esc(&c.key),
                    c.week,
                    c.monthly_before,
                    c.monthly_after,
                    c.monthly_before_quarter,
                    c.monthly_after_quarter,
                    esc(&p_text(c.p_value, 1))
                );
            }
            h.push_str("</table>");
        }
        h.push_str("</section>");
    }

    fn topics_html(&self, h: &mut String) {
        let m = &self.analysis.topics;
        let _ = write!(
            h,
            "<section><h2>Top topics</h2><p class=\"muted\">Keyword taxonomy first; the remaining {} tickets clustered (TF-IDF, spherical k-means, k={}{}); {} distinct texts, {} features. Cluster names are each cluster's most distinctive terms against the others (class-based TF-IDF).</p>",
            m.clustered,
            m.k,
            match &m.k_choice {
                Some(c) => format!(
                    ", chosen from the data: the start of the held-out silhouette's plateau over k = {}–{}, {} texts sampled",
                    c.candidates.first().map_or(0, |x| x.0),
                    c.candidates.last().map_or(0, |x| x.0),
                    c.sample
                ),
                None => " as given".to_owned(),
            },
            m.distinct_texts,
            m.features
        );
        // Alert mails from devices and monitoring: counted where they belong, said apart.
        let mut by_machine: Vec<&super::topics::Topic> =
            m.topics.iter().filter(|t| t.automated > 0).collect();
        if !by_machine.is_empty() {
            by_machine.sort_by_key(|t| std::cmp::Reverse(t.automated));
            let total: usize = by_machine.iter().map(|t| t.automated).sum();
            let all: usize = m.topics.iter().map(|t| t.tickets).sum();
            let places = by_machine
                .iter()
                .take(5)
                .map(|t| format!("{} {}", t.automated, esc(&t.name)))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = write!(
                h,
                "<p class=\"automated\"><strong>{total} tickets ({:.1}%) were sent by devices or monitoring systems, not people</strong> (alert and recovery mails, notices generated automatically): {places}{}. They stay in their topics' counts; a topic made mostly of them is not suggested for training or a help page, nor is a notice repeated word for word suggested as an FAQ. A mail rule that files them apart, or forewarn watching those devices itself, keeps them out of the queue.</p>",
                100.0 * total as f64 / all.max(1) as f64,
                if by_machine.len() > 5 { ", …" } else { "" }
            );
        }
        let rows: Vec<(String, f64, String)> = m
            .topics
            .iter()
            .take(20)
            .map(|t| {
                (
                    t.name.clone(),
                    t.tickets as f64,
                    format!("{} ({} people)", t.tickets, t.distinct_requesters),
                )
            })
            .collect();
        h.push_str(&Self::bars_svg(&rows));
        h.push_str("<table><tr><th>Topic</th><th>Matched terms (tickets)</th><th>Top terms</th><th>Example (medoid)</th><th>How-to</th><th>Sent by devices</th><th>Median hours</th></tr>");
        for t in m.topics.iter().take(30) {
            let matched = t
                .matched_terms
                .iter()
                .map(|m| format!("{} ({})", m.term, m.tickets))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}%</td><td>{}</td><td>{}</td></tr>",
                esc(&t.name),
                if matched.is_empty() {
                    "—".to_owned()
                } else {
                    esc(&matched).into_owned()
                },
                esc(&t.top_terms.join(", ")),
                esc(&t.example),
                100.0 * t.how_to_share,
                if t.automated > 0 {
                    t.automated.to_string()
                } else {
                    "—".to_owned()
                },
                t.median_handling_hours
                    .map(|x| format!("{x:.1}"))
                    .unwrap_or_else(|| "—".into())
            );
        }
        h.push_str("</table></section>");
    }

    fn ingest_html(&self, h: &mut String) {
        let i = self.ingest;
        h.push_str("<section><h2>Data</h2><table><tr><th>File</th><th>System</th><th>Delimiter</th><th>Encoding</th><th>Dates</th><th>Rows</th><th>Folded</th><th>Skipped</th></tr>");
        for f in &i.files {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&f.file),
                f.profile,
                f.delimiter
                    .map(|d| if d == '\t' {
                        "tab".to_string()
                    } else {
                        d.to_string()
                    })
                    .unwrap_or_else(|| "—".into()),
                esc(&f.encoding),
                if f.day_first {
                    "day first"
                } else {
                    "month first"
                },
                f.read,
                f.folded,
                f.skipped
            );
        }
        h.push_str("</table>");
        if i.folded > 0 {
            let _ = write!(
                h,
                "<p class=\"muted\">{} rows repeat the id of a ticket read from another row: an event or audit log, one row per change of a ticket. Each ticket's rows were folded into one ticket (its opening from its first row, its category, priority, status and resolution from its last, its reopens and reassignments counted over the rows).</p>",
                i.folded
            );
        }
        if !i.problems.is_empty() {
            h.push_str("<details><summary>Skipped rows</summary><ul>");
            for p in &i.problems {
                let _ = write!(
                    h,
                    "<li>{}:{}: {}</li>",
                    esc(&p.file),
                    p.line,
                    esc(&p.reason)
                );
            }
            h.push_str("</ul></details>");
        }
        h.push_str(
            "<p class=\"muted\">Requesters are identified only by salted hashes.</p></section>",
        );
    }
}

/// The smallest p-value shown as a number: below it, floating point gives out (the tails
/// underflow to 0) and only the bound is meaningful.
const P_FLOOR: f64 = 1e-300;

/// A p-value for people, in scientific notation with `decimals` decimals (`3.2e-7`); `< 1e-300`
/// below [`P_FLOOR`].
fn p_text(p: f64, decimals: usize) -> String {
    if p.is_nan() {
        "—".into()
    } else if p < P_FLOOR {
        "< 1e-300".into()
    } else {
        format!("{p:.decimals$e}")
    }
}

/// A relative change over a span as a signed percentage (`+42%`, `-18%`); declines are bounded
/// at `-100%`, since a count cannot fall by more than all of it.
fn change_text(relative: f64) -> String {
    if relative.is_nan() {
        "—".into()
    } else if relative == f64::INFINITY {
        "new".into()
    } else {
        format!("{:+.0}%", 100.0 * relative.max(-1.0))
    }
}

/// A term-over-term rate ratio: `1.62`, or `new` for a series the earlier term did not have and
/// `gone` for one the later term no longer has.
fn ratio_text(kind: TermChangeKind, ratio: Option<f64>) -> String {
    match (kind, ratio) {
        (TermChangeKind::New, _) => "new".into(),
        (TermChangeKind::Gone, _) => "gone".into(),
        (TermChangeKind::Changed, Some(r)) if r.is_finite() => format!("{r:.2}"),
        (TermChangeKind::Changed, _) => "—".into(),
    }
}

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}\
h1{font-size:1.6em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}\
table{border-collapse:collapse;width:100%;margin:.5em 0}td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}\
th{background:#f4f6f9}.muted{color:#666}.ax,.lb{font-size:11px;fill:#444}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p_values_below_the_floor_read_as_a_bound() {
        assert_eq!(p_text(0.0, 2), "< 1e-300");
        assert_eq!(p_text(1e-320, 1), "< 1e-300");
        assert_eq!(p_text(f64::MIN_POSITIVE, 1), "< 1e-300");
        assert_eq!(p_text(1e-300, 1), "1.0e-300");
        assert_eq!(p_text(3.17e-7, 1), "3.2e-7");
        assert_eq!(p_text(8.3e-21, 2), "8.30e-21");
        assert_eq!(p_text(0.04, 2), "4.00e-2");
    }

    #[test]
    fn declines_are_bounded_at_minus_one_hundred_percent() {
        assert_eq!(change_text(-3.1), "-100%");
        assert_eq!(change_text(-1.0), "-100%");
        assert_eq!(change_text(-0.42), "-42%");
        assert_eq!(change_text(1.49), "+149%");
        assert_eq!(change_text(0.0), "+0%");
        assert_eq!(change_text(f64::NEG_INFINITY), "-100%");
        assert_eq!(change_text(f64::INFINITY), "new");
        assert_eq!(change_text(f64::NAN), "—");
    }

    #[test]
    fn new_and_vanished_series_read_as_words() {
        assert_eq!(ratio_text(TermChangeKind::New, None), "new");
        assert_eq!(ratio_text(TermChangeKind::Gone, Some(0.0)), "gone");
        assert_eq!(ratio_text(TermChangeKind::Changed, Some(1.618)), "1.62");
        assert_eq!(ratio_text(TermChangeKind::Changed, Some(0.245)), "0.24");
        assert_eq!(
            ratio_text(TermChangeKind::Changed, Some(f64::INFINITY)),
            "—"
        );
        for text in [
            p_text(0.0, 2),
            change_text(-7.0),
            change_text(f64::INFINITY),
            ratio_text(TermChangeKind::New, Some(f64::INFINITY)),
            ratio_text(TermChangeKind::Changed, None),
            p_text(f64::NAN, 1),
        ] {
            assert!(!text.contains("inf") && !text.contains("NaN"), "{text}");
        }
    }
}
