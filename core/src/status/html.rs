//! The status server's HTML: the status page, the acknowledgement pages, help pages and error
//! pages. No JavaScript; every value is escaped; styles come from `/static/style.css`.

use std::collections::HashMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::model::{
    DayAvailability, MaintenanceState, PublicIncident, PublicIncidentState, PublicMaintenance,
    PublicService, PublicStatus, ServiceState,
};
use crate::clock::Zone;
use crate::sink::email::html_escape as e;

/// The stylesheet served at `/static/style.css`.
pub(crate) const STYLE_CSS: &str = r#":root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #f6f8fa; }
main { max-width: 52rem; margin: 0 auto; padding: 1rem; }
header h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
a { color: #0a58ca; }
.banner { padding: 1rem; border-radius: .5rem; font-weight: 600; font-size: 1.15rem; margin-bottom: 1.5rem; color: #fff; }
.banner.operational { background: #1a7f37; }
.banner.degraded { background: #9a6700; }
.banner.down { background: #cf222e; }
.banner.maintenance { background: #0969da; }
section { margin-bottom: 2rem; }
h2 { font-size: 1.2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .25rem; }
.card { background: #fff; border: 1px solid #d0d7de; border-radius: .5rem; padding: .75rem 1rem; margin-bottom: .75rem; }
.service .head { display: flex; justify-content: space-between; gap: .5rem; flex-wrap: wrap; }
.service .name { font-weight: 600; }
.state { font-weight: 600; white-space: nowrap; }
.state.operational { color: #1a7f37; }
.state.degraded { color: #9a6700; }
.state.down { color: #cf222e; }
.state.maintenance { color: #0969da; }
.detail { margin: .25rem 0; }
.bar { display: block; width: 100%; height: 2rem; margin-top: .5rem; }
.avail { display: flex; justify-content: space-between; font-size: .8rem; color: #57606a; }
.meta { color: #57606a; font-size: .9rem; }
ol.updates { list-style: none; padding: 0; margin: .5rem 0 0; }
ol.updates li { border-left: 3px solid #d0d7de; padding-left: .75rem; margin-bottom: .5rem; }
.kind { font-weight: 600; }
footer { color: #57606a; font-size: .85rem; border-top: 1px solid #d0d7de; padding-top: .5rem; }
form label { display: block; margin: .5rem 0 .25rem; font-weight: 600; }
form input[type=text] { width: 100%; max-width: 24rem; font-size: 1rem; padding: .4rem; }
button { margin-top: .75rem; font-size: 1rem; padding: .5rem 1rem; border-radius: .4rem; border: 1px solid #1a7f37; background: #1a7f37; color: #fff; }
.help h1 { font-size: 1.4rem; }
.help pre { background: #fff; border: 1px solid #d0d7de; padding: .5rem; overflow-x: auto; }
table { border-collapse: collapse; }
td, th { border: 1px solid #d0d7de; padding: .25rem .5rem; }
"#;

/// A whole HTML document around `body` (already HTML).
pub(crate) fn document(title: &str, body: &str, refresh: bool) -> String {
    let refresh = if refresh {
        "<meta http-equiv=\"refresh\" content=\"60\">\n"
    } else {
        ""
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n{refresh}\
         <title>{}</title>\n<link rel=\"stylesheet\" href=\"/static/style.css\">\n\
         <link rel=\"icon\" href=\"data:,\">\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        e(title)
    )
}

/// A small page with a heading and a message (errors, confirmations).
pub(crate) fn message_page(site: &str, heading: &str, message: &str) -> String {
    let body = format!(
        "<header><h1>{}</h1></header>\n<div class=\"card\"><h2>{}</h2>\n<p>{}</p></div>\n\
         <footer><a href=\"/\">Back to the status page</a></footer>",
        e(site),
        e(heading),
        e(message)
    );
    document(&format!("{heading} — {site}"), &body, false)
}

/// A time as people read it, in the district's zone with its abbreviation, marked up with the
/// machine-readable UTC instant.
fn time(zone: &Zone, t: DateTime<Utc>) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        e(&zone.format(t, "%a %-d %b %Y, %H:%M %Z"))
    )
}

fn banner(status: &PublicStatus) -> (&'static str, &'static str) {
    match status.overall() {
        ServiceState::Operational => ("operational", "All systems operational"),
        ServiceState::Maintenance => ("maintenance", "Maintenance in progress"),
        ServiceState::Degraded => ("degraded", "Some services are degraded"),
        ServiceState::Down => ("down", "Some services are down"),
    }
}

/// The percentage as shown: two decimals, never rounded up to 100 % when below it.
pub(crate) fn percent(ratio: f64) -> String {
    let floored = (ratio.clamp(0.0, 1.0) * 10_000.0).floor() / 100.0;
    format!("{floored:.2} %")
}

fn colour(ratio: Option<f64>) -> &'static str {
    match ratio {
        None => "#d0d7de",
        Some(r) if r >= 0.999 => "#2da44e",
        Some(r) if r >= 0.99 => "#84c57a",
        Some(r) if r >= 0.95 => "#d4a72c",
        Some(_) => "#cf222e",
    }
}

/// The 90-day bar as inline SVG: one rectangle per run of days of the same colour, each with a
/// tooltip naming its days and availability.
fn availability_bar(days: &[DayAvailability], out: &mut String) {
    if days.is_empty() {
        return;
    }
    let n = days.len();
    let _ = write!(
        out,
        "<svg class=\"bar\" viewBox=\"0 0 {n} 10\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"Availability per day over the last {n} days\">"
    );
    let mut i = 0;
    while i < n {
        let c = colour(days[i].ratio);
        let mut j = i + 1;
        while j < n && colour(days[j].ratio) == c {
            j += 1;
        }
        let run = &days[i..j];
        let with_data: Vec<f64> = run.iter().filter_map(|d| d.ratio).collect();
        let what = if with_data.is_empty() {
            "no data".to_owned()
        } else {
            let min = with_data.iter().copied().fold(f64::INFINITY, f64::min);
            if run.len() == 1 {
                percent(min)
            } else {
                format!("lowest {}", percent(min))
            }
        };
        let days_text = if run.len() == 1 {
            run[0].date.format("%-d %b %Y").to_string()
        } else {
            format!(
                "{} – {}",
                run[0].date.format("%-d %b %Y"),
                run[run.len() - 1].date.format("%-d %b %Y")
            )
        };
        let _ = write!(
            out,
            "<rect x=\"{i}\" y=\"0\" width=\"{}\" height=\"10\" fill=\"{c}\"><title>{}: {}</title></rect>",
            j - i,
            e(&days_text),
            e(&what)
        );
        i = j;
    }
    out.push_str("</svg>");
}

fn service_card(s: &PublicService, zone: &Zone, out: &mut String) {
    let state = s.state.as_str();
    let _ = write!(
        out,
        "<div class=\"card service\" id=\"service-{}\">\n<div class=\"head\"><span class=\"name\">{}</span>\
         <span class=\"state {state}\">{}</span></div>\n",
        e(&s.id),
        e(&s.name),
        e(s.state.label())
    );
    if s.state != ServiceState::Operational {
        if let Some(since) = s.since {
            let _ = writeln!(out, "<p class=\"meta\">Since {}</p>", time(zone, since));
        }
        if let Some(impact) = &s.impact {
            let _ = writeln!(
                out,
                "<p class=\"detail\"><strong>Impact:</strong> {}</p>",
                e(impact)
            );
        }
        if let Some(w) = &s.workaround {
            let _ = writeln!(
                out,
                "<p class=\"detail\"><strong>Meanwhile:</strong> {}</p>",
                e(w)
            );
        }
    }
    availability_bar(&s.availability, out);
    let figure = s.availability_90d.map_or_else(
        || "no data yet".to_owned(),
        |r| format!("{} available", percent(r)),
    );
    let _ = writeln!(
        out,
        "<div class=\"avail\"><span>{} days ago</span><span>{}</span><span>today</span></div>\n</div>",
        s.availability.len(),
        e(&figure)
    );
}

fn service_names(status: &PublicStatus) -> HashMap<&str, &str> {
    status
        .services
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect()
}

fn affected(ids: &[String], names: &HashMap<&str, &str>) -> String {
    ids.iter()
        .map(|id| e(names.get(id.as_str()).copied().unwrap_or(id)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn incident_card(i: &PublicIncident, names: &HashMap<&str, &str>, zone: &Zone, out: &mut String) {
    let _ = write!(
        out,
        "<div class=\"card incident\" id=\"incident-{}\">\n<h3>{}</h3>\n<p class=\"meta\">{} · Affects: {} · Started {}",
        i.id,
        e(&i.title),
        e(i.state.label()),
        affected(&i.services, names),
        time(zone, i.started_at)
    );
    if let Some(r) = i.resolved_at {
        let _ = write!(out, " · Resolved {}", time(zone, r));
    }
    out.push_str("</p>\n<ol class=\"updates\">\n");
    // Newest first, as people read a status page.
    for u in i.updates.iter().rev() {
        let _ = writeln!(
            out,
            "<li><span class=\"kind\">{}</span> — {}<br>{}</li>",
            e(u.kind.label()),
            time(zone, u.at),
            e(&u.text)
        );
    }
    out.push_str("</ol>\n</div>\n");
}

fn maintenance_card(
    m: &PublicMaintenance,
    names: &HashMap<&str, &str>,
    zone: &Zone,
    out: &mut String,
) {
    let _ = write!(
        out,
        "<div class=\"card maintenance\" id=\"maintenance-{}\">\n<h3>{}</h3>\n<p class=\"meta\">{} · Affects: {}<br>From {} to {}</p>\n",
        e(&m.id),
        e(&m.title),
        e(m.state.label()),
        affected(&m.services, names),
        time(zone, m.starts_at),
        time(zone, m.ends_at)
    );
    if let Some(d) = &m.description {
        let _ = writeln!(out, "<p>{}</p>", e(d));
    }
    out.push_str("</div>\n");
}

/// The status page.
pub(crate) fn index(status: &PublicStatus, title: &str, zone: &Zone, help: bool) -> String {
    let names = service_names(status);
    let mut b = String::with_capacity(4096 + status.services.len() * 1200);
    let _ = writeln!(b, "<header><h1>{}</h1></header>", e(title));
    let (class, text) = banner(status);
    let _ = writeln!(b, "<div class=\"banner {class}\">{text}</div>");

    let open: Vec<_> = status
        .incidents
        .iter()
        .filter(|i| i.state != PublicIncidentState::Resolved)
        .collect();
    if !open.is_empty() {
        b.push_str("<section id=\"incidents\">\n<h2>Current incidents</h2>\n");
        for i in open {
            incident_card(i, &names, zone, &mut b);
        }
        b.push_str("</section>\n");
    }
    let planned: Vec<_> = status
        .maintenance
        .iter()
        .filter(|m| m.state != MaintenanceState::Completed)
        .collect();
    if !planned.is_empty() {
        b.push_str("<section id=\"maintenance\">\n<h2>Planned maintenance</h2>\n");
        for m in planned {
            maintenance_card(m, &names, zone, &mut b);
        }
        b.push_str("</section>\n");
    }
    b.push_str("<section id=\"services\">\n<h2>Services</h2>\n");
    if status.services.is_empty() {
        b.push_str("<p>No services are listed yet.</p>\n");
    }
    for s in &status.services {
        service_card(s, zone, &mut b);
    }
    b.push_str("</section>\n");

    let resolved: Vec<_> = status
        .incidents
        .iter()
        .filter(|i| i.state == PublicIncidentState::Resolved)
        .collect();
    let done: Vec<_> = status
        .maintenance
        .iter()
        .filter(|m| m.state == MaintenanceState::Completed)
        .collect();
    if !resolved.is_empty() || !done.is_empty() {
        b.push_str("<section id=\"past\">\n<h2>Past 7 days</h2>\n");
        for i in resolved {
            incident_card(i, &names, zone, &mut b);
        }
        for m in done {
            maintenance_card(m, &names, zone, &mut b);
        }
        b.push_str("</section>\n");
    }
    let _ = write!(
        b,
        "<footer>Updated {} · Times in {} · <a href=\"/feed.atom\">Atom feed</a> · \
         <a href=\"/status.json\">JSON</a>{}</footer>",
        time(zone, status.generated_at),
        e(zone.tz().name()),
        if help {
            " · <a href=\"/help\">Help</a>"
        } else {
            ""
        }
    );
    document(title, &b, true)
}

/// The confirmation form an acknowledgement link opens (GET): nothing changes until it is
/// submitted.
pub(crate) fn ack_form(
    site: &str,
    token: &str,
    incident: i64,
    expires: DateTime<Utc>,
    zone: &Zone,
) -> String {
    let body = format!(
        "<header><h1>{}</h1></header>\n<div class=\"card\"><h2>Acknowledge incident #{incident}?</h2>\n\
         <p>Acknowledging tells the others you are on it and stops further escalation. \
         This link works once, until {}.</p>\n\
         <form method=\"post\" action=\"/ack/{}\">\n\
         <label for=\"by\">Your name</label>\n\
         <input type=\"text\" id=\"by\" name=\"by\" maxlength=\"100\" required autocomplete=\"name\">\n\
         <label for=\"note\">Note (optional)</label>\n\
         <input type=\"text\" id=\"note\" name=\"note\" maxlength=\"500\">\n\
         <button type=\"submit\">Acknowledge incident #{incident}</button>\n</form></div>\n\
         <footer><a href=\"/\">Status page</a></footer>",
        e(site),
        time(zone, expires),
        e(token)
    );
    document(
        &format!("Acknowledge incident #{incident} — {site}"),
        &body,
        false,
    )
}

/// The page after an acknowledgement went through.
pub(crate) fn ack_done(site: &str, incident: &crate::Incident, zone: &Zone) -> String {
    let who = incident
        .acknowledgement
        .as_ref()
        .map(|a| format!(" by {} at {}", e(&a.by), time(zone, a.at)))
        .unwrap_or_default();
    let body = format!(
        "<header><h1>{}</h1></header>\n<div class=\"card\"><h2>Incident #{} acknowledged</h2>\n\
         <p>Incident #{} ({}) was acknowledged{who}. Escalation stops; the others are told.</p></div>\n\
         <footer><a href=\"/\">Status page</a></footer>",
        e(site),
        incident.id,
        incident.id,
        e(&incident.check),
    );
    document(
        &format!("Incident #{} acknowledged — {site}", incident.id),
        &body,
        false,
    )
}

/// One entry of the help index.
pub(crate) struct HelpEntry<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub summary: Option<&'a str>,
}

/// The help index.
pub(crate) fn help_index(site: &str, pages: &[HelpEntry<'_>]) -> String {
    let mut b = format!("<header><h1>{} — Help</h1></header>\n", e(site));
    if pages.is_empty() {
        b.push_str("<p>No help pages yet.</p>\n");
    } else {
        b.push_str("<ul class=\"help-index\">\n");
        for p in pages {
            let _ = write!(b, "<li><a href=\"/help/{}\">{}</a>", e(p.slug), e(p.title));
            if let Some(s) = p.summary {
                let _ = write!(b, " — {}", e(s));
            }
            b.push_str("</li>\n");
        }
        b.push_str("</ul>\n");
    }
    b.push_str("<footer><a href=\"/\">Status page</a></footer>");
    document(&format!("Help — {site}"), &b, false)
}

/// One help page; `content` is the rendered (already sanitised) Markdown.
pub(crate) fn help_page(site: &str, title: &str, content: &str) -> String {
    let body = format!(
        "<header><p><a href=\"/help\">Help</a> · <a href=\"/\">{}</a></p></header>\n<article class=\"help\">\n{content}</article>",
        e(site)
    );
    document(&format!("{title} — {site}"), &body, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_never_rounds_up_to_a_full_hundred() {
        assert_eq!(percent(1.0), "100.00 %");
        assert_eq!(percent(0.99999), "99.99 %");
        assert_eq!(percent(0.5), "50.00 %");
        assert_eq!(percent(-1.0), "0.00 %");
    }

    #[test]
    fn bar_merges_runs_of_one_colour() {
        let d0 = chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        let days: Vec<_> = (0..5)
            .map(|i| DayAvailability {
                date: d0 + chrono::Days::new(i),
                ratio: match i {
                    0 => None,
                    3 => Some(0.5),
                    _ => Some(1.0),
                },
            })
            .collect();
        let mut out = String::new();
        availability_bar(&days, &mut out);
        assert_eq!(out.matches("<rect").count(), 4, "{out}");
        assert!(
            out.contains("2 Sep 2026 – 3 Sep 2026: lowest 100.00 %"),
            "{out}"
        );
        assert!(out.contains("4 Sep 2026: 50.00 %"), "{out}");
        assert!(out.contains("1 Sep 2026: no data"), "{out}");
    }
}
