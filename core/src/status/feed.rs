//! The Atom 1.0 feed (`/feed.atom`): one entry per public incident update and one per
//! maintenance notice, with stable `tag:` URIs as ids.

use std::collections::HashMap;

use atom_syndication::{Content, Entry, Feed, Link, Person, Text};
use chrono::{DateTime, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::model::{MaintenanceState, PublicStatus};
use crate::clock::Zone;
use crate::text::printable_lines;

/// What may stay unescaped in the specific part of a tag URI (RFC 4151: pchar).
const TAG_SPECIFIC: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_');

/// Text fit for XML: control characters (which XML 1.0 forbids) written as escapes.
fn clean(s: &str) -> String {
    printable_lines(s).into_owned()
}

fn link(href: String, rel: &str, mime: Option<&str>) -> Link {
    let mut l = Link::default();
    l.set_href(href);
    l.set_rel(rel.to_owned());
    l.set_mime_type(mime.map(str::to_owned));
    l
}

/// `tag:AUTHORITY,DATE:SPECIFIC` (RFC 4151). The date is the item's own (its start), so the id
/// never changes while the item lives.
fn tag(authority: &str, date: DateTime<Utc>, specific: &str) -> String {
    format!(
        "tag:{authority},{}:{}",
        date.format("%Y-%m-%d"),
        utf8_percent_encode(specific, TAG_SPECIFIC)
    )
}

/// The feed as XML. `base` is the page's public URL without a trailing slash; `authority`
/// its host, for the entries' tag URIs.
pub(crate) fn render(
    status: &PublicStatus,
    title: &str,
    base: &str,
    authority: &str,
    zone: &Zone,
) -> String {
    let names: HashMap<&str, &str> = status
        .services
        .iter()
        .map(|s| (s.id.as_str(), s.name.as_str()))
        .collect();
    let affected = |ids: &[String]| {
        ids.iter()
            .map(|id| names.get(id.as_str()).copied().unwrap_or(id.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut entries = Vec::new();
    for i in &status.incidents {
        for (n, u) in i.updates.iter().enumerate() {
            let mut entry = Entry::default();
            entry.set_id(tag(
                authority,
                i.started_at,
                &format!("incident-{}-update-{n}", i.id),
            ));
            entry.set_title(Text::plain(clean(&format!(
                "{}: {}",
                u.kind.label(),
                i.title
            ))));
            entry.set_updated(u.at.fixed_offset());
            entry.set_published(Some(u.at.fixed_offset()));
            entry.set_links(vec![link(
                format!("{base}/#incident-{}", i.id),
                "alternate",
                Some("text/html"),
            )]);
            let mut content = Content::default();
            content.set_content_type(Some("text".to_owned()));
            content.set_value(Some(clean(&format!(
                "{}\n\nAffects: {}\nPosted {}",
                u.text,
                affected(&i.services),
                zone.minute(u.at)
            ))));
            entry.set_content(Some(content));
            entries.push(entry);
        }
    }
    for m in &status.maintenance {
        let mut entry = Entry::default();
        entry.set_id(tag(
            authority,
            m.starts_at,
            &format!("maintenance-{}", m.id),
        ));
        entry.set_title(Text::plain(clean(&format!(
            "Maintenance ({}): {}",
            m.state.label().to_lowercase(),
            m.title
        ))));
        // A notice changes when its state does: upcoming and in progress date from the start,
        // completed from the end.
        let updated = match m.state {
            MaintenanceState::Completed => m.ends_at,
            _ => m.starts_at,
        };
        entry.set_updated(updated.fixed_offset());
        entry.set_links(vec![link(
            format!(
                "{base}/#maintenance-{}",
                utf8_percent_encode(&m.id, TAG_SPECIFIC)
            ),
            "alternate",
            Some("text/html"),
        )]);
        let mut text = format!(
            "From {} to {}\nAffects: {}",
            zone.minute(m.starts_at),
            zone.minute(m.ends_at),
            affected(&m.services)
        );
        if let Some(d) = &m.description {
            text = format!("{d}\n\n{text}");
        }
        let mut content = Content::default();
        content.set_content_type(Some("text".to_owned()));
        content.set_value(Some(clean(&text)));
        entry.set_content(Some(content));
        entries.push(entry);
    }
    entries.sort_by(|a, b| b.updated().cmp(a.updated()));

    let mut feed = Feed::default();
    feed.set_title(Text::plain(clean(title)));
    feed.set_id(format!("{base}/feed.atom"));
    let updated = entries
        .first()
        .map(|e| *e.updated())
        .unwrap_or_else(|| status.generated_at.fixed_offset());
    feed.set_updated(updated);
    let mut author = Person::default();
    author.set_name(clean(title));
    feed.set_authors(vec![author]);
    feed.set_links(vec![
        link(
            format!("{base}/feed.atom"),
            "self",
            Some("application/atom+xml"),
        ),
        link(format!("{base}/"), "alternate", Some("text/html")),
    ]);
    feed.set_entries(entries);
    feed.to_string()
}
