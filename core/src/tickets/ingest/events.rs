//! Event and audit logs: exports with one row per change of a ticket rather than one row per
//! ticket — ServiceNow's incident event log, GLPI, Zammad and Freshservice history or activity
//! exports, osTicket thread exports. A ticket id that repeats within a file marks one: the rows of
//! each id are folded into one ticket, ordered by their update time and modification count when
//! every row has them, else as the file lists them (a ticket's rows need not be next to each
//! other).
//!
//! The folded ticket takes its opening (creation date, first response) from its first row; its
//! current state (category, priority, status, site, requester, text) from the last row that says
//! anything about each; its resolution (dates, notes, close code) from the rows since it was last
//! reopened; and its reopen and reassignment counts from the export's counters or, without them,
//! from the changes of status and of assignment along its rows.

use std::hash::BuildHasher;

use chrono::NaiveDateTime;
use rayon::prelude::*;

use super::columns::{Mapping, normalise_header};
use super::{FileSummary, IngestSummary};
use crate::tickets::{FastMap, Ticket};

/// What a row says about its place in its ticket's history, beside the ticket it was read into.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct RowEvent {
    /// Hash of the row's ticket id (ids that repeat are found from these).
    pub(super) id_hash: u64,
    /// Where the row stands in its ticket's history, when the export has columns that say.
    pub(super) history: Option<History>,
    /// Why the row has no creation date, when it has none: kept only if another row of its
    /// ticket has one.
    pub(super) missing_created: Option<Box<str>>,
}

/// Where a row stands in its ticket's history.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(super) struct History {
    /// When the row's change was made.
    pub(super) updated: Option<NaiveDateTime>,
    /// The ticket's modification count at the row.
    pub(super) revision: Option<u64>,
    /// Who handled the ticket at the row (assignment group, else agent), hashed.
    pub(super) handler: Option<u64>,
}

/// The events of one file's rows (or of a part of it), gathered as they are read: per row only
/// its id's hash, unless the export has history columns; rows without a creation date aside.
#[derive(Debug, Default)]
pub(super) struct Events {
    /// Each row's id hash.
    hashes: Vec<u64>,
    /// Each row's history (empty when the export has no history columns).
    history: Vec<History>,
    /// Rows without a creation date: row (from the first of these events), line, why.
    undated: Vec<(usize, u64, Box<str>)>,
}

impl Events {
    /// Room for `rows` rows.
    pub(super) fn with_capacity(rows: usize) -> Events {
        Events {
            hashes: Vec::with_capacity(rows),
            ..Default::default()
        }
    }

    /// Adds the next row's event; `line` is the row's line in the file.
    pub(super) fn push(&mut self, event: RowEvent, line: u64) {
        let row = self.hashes.len();
        self.hashes.push(event.id_hash);
        if let Some(h) = event.history {
            self.history.push(h);
        }
        if let Some(why) = event.missing_created {
            self.undated.push((row, line, why));
        }
    }

    /// Adds the events of the rows that follow these (the next part of the file).
    pub(super) fn append(&mut self, mut next: Events) {
        let offset = self.hashes.len();
        self.hashes.append(&mut next.hashes);
        self.history.append(&mut next.history);
        self.undated.extend(
            next.undated
                .into_iter()
                .map(|(row, line, why)| (row + offset, line, why)),
        );
    }

    /// The history of row `i`, when the export has one.
    fn history(&self, i: usize) -> History {
        self.history.get(i).copied().unwrap_or_default()
    }

    /// The line of row `i` and why it has no creation date, when it has none.
    fn undated(&self, i: usize) -> Option<(u64, &str)> {
        let k = self.undated.binary_search_by_key(&i, |u| u.0).ok()?;
        Some((self.undated[k].1, &self.undated[k].2))
    }
}

/// Where the summary and the ticket list stood when one file began, so the file's own counts
/// can be told and its rows folded when it ends.
pub(super) struct FileStart {
    read: u64,
    skipped: u64,
    folded: u64,
    first_problem: usize,
    /// The index of the file's first ticket.
    pub(super) tickets: usize,
}

impl FileStart {
    /// The marks at the start of a file.
    pub(super) fn new(summary: &IngestSummary, tickets: &[Ticket]) -> Self {
        Self {
            read: summary.read,
            skipped: summary.skipped,
            folded: summary.folded,
            first_problem: summary.problems.len(),
            tickets: tickets.len(),
        }
    }

    /// Ends the file: folds its event-log rows into one ticket per id (when the export has
    /// ids), then records `file`'s summary with the file's own counts (read, folded, skipped:
    /// whatever `file` held for them is replaced).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn finish(
        self,
        mapping: &Mapping,
        events: Events,
        tickets: &mut Vec<Ticket>,
        summary: &mut IngestSummary,
        max_problems: usize,
        file: FileSummary,
    ) {
        if mapping.has_ids() {
            fold_file(
                &file.file,
                tickets,
                self.tickets,
                events,
                summary,
                max_problems,
                self.first_problem,
            );
        }
        summary.files.push(FileSummary {
            read: summary.read - self.read,
            folded: summary.folded - self.folded,
            skipped: summary.skipped - self.skipped,
            ..file
        });
    }
}

/// Folds one file's rows — `tickets[start..]`, with their `events` — into one ticket per id, in
/// the order each id first appears; rows without a creation date whose ticket has no row with
/// one are skipped (reported in line order among the file's problems, which start at
/// `first_problem`). Returns how many rows were folded into a ticket read from another row.
pub(super) fn fold_file(
    name: &str,
    tickets: &mut Vec<Ticket>,
    start: usize,
    mut events: Events,
    summary: &mut IngestSummary,
    max_problems: usize,
    first_problem: usize,
) -> u64 {
    let n = tickets.len() - start;
    assert_eq!(n, events.hashes.len(), "one event per row");
    assert!(
        events.history.is_empty() || events.history.len() == n,
        "a history for every row or for none"
    );
    // Most exports have one row per ticket: found out from the hashes alone.
    if events.undated.is_empty() && !repeats(std::mem::take(&mut events.hashes)) {
        return 0;
    }
    // Each row's ticket, numbered in the order the ids first appear.
    let mut group_of: Vec<u32> = Vec::with_capacity(n);
    let mut groups = 0usize;
    {
        let mut first: FastMap<&str, u32> =
            FastMap::with_capacity_and_hasher(n, Default::default());
        for t in &tickets[start..] {
            let g = *first.entry(t.id.as_str()).or_insert_with(|| {
                groups += 1;
                (groups - 1) as u32
            });
            group_of.push(g);
        }
    }
    if groups == n && events.undated.is_empty() {
        return 0;
    }
    // The rows of each ticket in file order (a counting sort by ticket).
    let mut offsets = vec![0usize; groups + 1];
    for &g in &group_of {
        offsets[g as usize + 1] += 1;
    }
    for g in 0..groups {
        offsets[g + 1] += offsets[g];
    }
    let mut next = offsets.clone();
    let mut members = vec![0usize; n];
    for (i, &g) in group_of.iter().enumerate() {
        members[next[g as usize]] = i;
        next[g as usize] += 1;
    }
    let mut rows = tickets.split_off(start);
    let mut skipped: Vec<(u64, String)> = Vec::new();
    for g in 0..groups {
        let rows_of = &members[offsets[g]..offsets[g + 1]];
        if rows_of.iter().all(|&i| events.undated(i).is_some()) {
            for &i in rows_of {
                let (line, why) = events.undated(i).unwrap_or_default();
                let why = if rows_of.len() > 1 {
                    format!(
                        "{why}, as on every row of ticket `{}`",
                        crate::text::excerpt(&rows[rows_of[0]].id)
                    )
                } else {
                    why.to_string()
                };
                skipped.push((line, why));
            }
        } else if let [only] = rows_of {
            tickets.push(std::mem::take(&mut rows[*only]));
        } else {
            tickets.push(merge(&mut rows, &events, rows_of));
        }
    }
    let out = (tickets.len() - start) as u64;
    let folded = n as u64 - out - skipped.len() as u64;
    summary.accepted -= n as u64 - out;
    summary.folded += folded;
    if !skipped.is_empty() {
        for (line, why) in skipped {
            summary.skip(max_problems, name, line, "missing date", why);
        }
        summary.problems[first_problem..].sort_by_key(|p| p.line);
    }
    folded
}

/// Whether a hash occurs twice (sorted across cores, compared with their neighbours): whether an
/// id may repeat (a collision only costs the grouping that finds no repeat).
fn repeats(mut hashes: Vec<u64>) -> bool {
    hashes.par_sort_unstable();
    hashes.windows(2).any(|w| w[0] == w[1])
}

/// The hash of a ticket id, as [`RowEvent::id_hash`] holds it.
pub(super) fn id_hash(id: &str) -> u64 {
    foldhash::fast::FixedState::default().hash_one(id)
}

/// One ticket from its rows (`rows_of`: indices into `rows` and `events`, in file order, at
/// least one with a creation date). The rows are taken out of `rows`.
fn merge(rows: &mut [Ticket], events: &Events, rows_of: &[usize]) -> Ticket {
    let mut order = rows_of.to_vec();
    let by_time = order.iter().all(|&i| events.history(i).updated.is_some());
    let by_revision = order.iter().all(|&i| events.history(i).revision.is_some());
    if by_time || by_revision {
        order.sort_by_key(|&i| {
            let h = events.history(i);
            (
                h.updated.filter(|_| by_time),
                h.revision.filter(|_| by_revision),
                i,
            )
        });
    }
    let mut t = Ticket {
        id: std::mem::take(&mut rows[order[0]].id),
        ..Default::default()
    };
    let mut created = None;
    // Reopens: status back from done to open, or the export's counter going up.
    let mut was_done: Option<bool> = None;
    let mut reopens = 0u32;
    let mut reopen_counter: Option<u32> = None;
    let mut ever_reopened = false;
    let mut saw_status = false;
    // Reassignments: the handler changing, or the export's counter.
    let mut handler: Option<u64> = None;
    let mut handoffs = 0u32;
    let mut reassignment_counter: Option<u32> = None;
    // Resolution dates the ticket had before it was last reopened (stale if a later row
    // repeats them).
    let mut stale: (Option<NaiveDateTime>, Option<NaiveDateTime>) = (None, None);
    for &i in &order {
        let r = std::mem::take(&mut rows[i]);
        let e = events.history(i);
        if created.is_none() && events.undated(i).is_none() {
            created = Some(r.created);
        }
        let done = r.status.as_deref().map(is_done);
        let mut reopened = was_done == Some(true) && done == Some(false);
        reopens += reopened as u32;
        if done.is_some() {
            was_done = done;
            saw_status = true;
        }
        if let Some(c) = r.reopen_count {
            reopened |= reopen_counter.is_some_and(|m| c > m);
            reopen_counter = Some(reopen_counter.map_or(c, |m| m.max(c)));
        }
        if reopened {
            ever_reopened = true;
            if t.resolved.is_some() {
                stale.0 = t.resolved.take();
            }
            if t.closed.is_some() {
                stale.1 = t.closed.take();
            }
            t.resolution.clear();
            t.category_closed = None;
        }
        if let Some(h) = e.handler {
            handoffs += handler.is_some_and(|p| p != h) as u32;
            handler = Some(h);
        }
        if let Some(c) = r.reassignment_count {
            reassignment_counter = Some(reassignment_counter.map_or(c, |m| m.max(c)));
        }
        if t.first_response.is_none() {
            t.first_response = r.first_response;
        }
        if r.resolved.is_some() && r.resolved != stale.0 {
            t.resolved = r.resolved;
        }
        if r.closed.is_some() && r.closed != stale.1 {
            t.closed = r.closed;
        }
        latest(&mut t.category, r.category);
        latest(&mut t.category_closed, r.category_closed);
        latest(&mut t.site, r.site);
        latest(&mut t.requester, r.requester);
        latest(&mut t.role, r.role);
        latest(&mut t.priority, r.priority);
        latest(&mut t.status, r.status);
        for (into, from) in [
            (&mut t.subject, r.subject),
            (&mut t.body, r.body),
            (&mut t.resolution, r.resolution),
        ] {
            if !from.is_empty() {
                *into = from;
            }
        }
    }
    // Reopened and not resolved since: notes and close code are from before.
    if ever_reopened && t.resolved.is_none() && t.closed.is_none() {
        t.resolution.clear();
        t.category_closed = None;
    }
    t.created = created.unwrap_or_default();
    t.reopen_count = reopen_counter.or(saw_status.then_some(reopens));
    t.reassignment_count = reassignment_counter.or(handler.map(|_| handoffs));
    t
}

/// `value` replaces `into` when it is known.
fn latest(into: &mut Option<String>, value: Option<String>) {
    if value.is_some() {
        *into = value;
    }
}

/// Words that make a status "done" (resolved, closed, cancelled), in the languages the header
/// aliases know, accents folded.
const DONE: &[&str] = &[
    "resolved",
    "closed",
    "solved",
    "done",
    "completed",
    "complete",
    "cancelled",
    "canceled",
    "merged",
    "resolu",
    "resolue",
    "clos",
    "cloture",
    "ferme",
    "fermee",
    "termine",
    "terminee",
    "annule",
    "geschlossen",
    "gelost",
    "erledigt",
    "abgeschlossen",
    "storniert",
    "cerrado",
    "cerrada",
    "resuelto",
    "resuelta",
    "solucionado",
    "solucionada",
    "finalizado",
    "finalizada",
    "cancelado",
];

/// Whether a status says the ticket is finished: resolved, closed, solved, cancelled (`Closed -
/// Complete`, `Résolu`, `Gelöst`, `Cerrado`…). Anything else (`New`, `Active`, `Awaiting User
/// Info`, `Reopened`, `En cours`) is open.
pub(super) fn is_done(status: &str) -> bool {
    normalise_header(status)
        .split(' ')
        .any(|w| DONE.contains(&w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    /// A row of ticket `id` with a status, an update time, a handler and a resolution date.
    fn row(
        id: &str,
        status: &str,
        updated: &str,
        handler: Option<u64>,
        resolved: Option<&str>,
    ) -> (Ticket, RowEvent) {
        (
            Ticket {
                id: id.into(),
                created: at("2016-02-29 01:16"),
                status: Some(status.into()),
                resolved: resolved.map(at),
                category: Some(format!("{status} category")),
                ..Default::default()
            },
            RowEvent {
                id_hash: id_hash(id),
                history: Some(History {
                    updated: Some(at(updated)),
                    revision: None,
                    handler,
                }),
                missing_created: None,
            },
        )
    }

    fn fold(rows: Vec<(Ticket, RowEvent)>) -> (Vec<Ticket>, IngestSummary) {
        // In two parts, as a file read in parts gives them; the rows' lines start at 2.
        let half = rows.len() / 2;
        let (mut first, mut second) = (Events::default(), Events::default());
        let mut tickets = Vec::new();
        for (k, (t, e)) in rows.into_iter().enumerate() {
            tickets.push(t);
            if k < half { &mut first } else { &mut second }.push(e, k as u64 + 2);
        }
        first.append(second);
        let mut summary = IngestSummary {
            read: tickets.len() as u64,
            accepted: tickets.len() as u64,
            ..Default::default()
        };
        fold_file("log.csv", &mut tickets, 0, first, &mut summary, 10, 0);
        (tickets, summary)
    }

    #[test]
    fn statuses_done_and_open_in_several_languages() {
        for s in [
            "Resolved",
            "Closed",
            "Closed - Complete",
            "Closed Incomplete",
            "Résolu",
            "Clos",
            "Gelöst",
            "Geschlossen",
            "Cerrado",
            "Canceled",
        ] {
            assert!(is_done(s), "{s}");
        }
        for s in [
            "New",
            "Active",
            "Awaiting User Info",
            "In Progress",
            "Reopened",
            "En cours (attribué)",
            "Pending closure",
            "-100",
        ] {
            assert!(!is_done(s), "{s}");
        }
    }

    #[test]
    fn rows_of_one_ticket_fold_in_update_order_wherever_they_are() {
        // Ticket A's rows are out of order and interleaved with B's single row.
        let (t, s) = fold(vec![
            row(
                "A",
                "Resolved",
                "2016-03-01 10:00",
                Some(1),
                Some("2016-03-01 10:00"),
            ),
            row("B", "New", "2016-03-01 09:00", None, None),
            row("A", "New", "2016-02-29 01:16", Some(1), None),
            row(
                "A",
                "Closed",
                "2016-03-06 10:00",
                Some(1),
                Some("2016-03-01 10:00"),
            ),
            row("A", "Active", "2016-02-29 09:00", Some(1), None),
        ]);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].id.as_str(), t[1].id.as_str()), ("A", "B"));
        assert_eq!(t[0].status.as_deref(), Some("Closed"));
        assert_eq!(t[0].category.as_deref(), Some("Closed category"));
        assert_eq!(t[0].resolved, Some(at("2016-03-01 10:00")));
        assert_eq!(t[0].reopen_count, Some(0));
        assert_eq!(t[0].reassignment_count, Some(0));
        // B was read from one row: nothing derived.
        assert_eq!((t[1].reopen_count, t[1].reassignment_count), (None, None));
        assert_eq!((s.read, s.accepted, s.folded, s.skipped), (5, 2, 3, 0));
    }

    #[test]
    fn a_reopened_ticket_counts_its_reopens_and_drops_its_old_resolution() {
        let (t, _) = fold(vec![
            row("A", "New", "2016-03-01 08:00", Some(1), None),
            row(
                "A",
                "Resolved",
                "2016-03-01 09:00",
                Some(1),
                Some("2016-03-01 09:00"),
            ),
            // Reopened; this export leaves the old resolution date on the row.
            row(
                "A",
                "Active",
                "2016-03-02 09:00",
                Some(2),
                Some("2016-03-01 09:00"),
            ),
            row(
                "A",
                "Resolved",
                "2016-03-03 09:00",
                Some(2),
                Some("2016-03-03 09:00"),
            ),
            row(
                "A",
                "Active",
                "2016-03-04 09:00",
                Some(3),
                Some("2016-03-03 09:00"),
            ),
        ]);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].reopen_count, Some(2));
        assert_eq!(t[0].reassignment_count, Some(2));
        // Open again at the end: no resolution.
        assert_eq!(t[0].status.as_deref(), Some("Active"));
        assert_eq!((t[0].resolved, t[0].closed), (None, None));
    }

    #[test]
    fn the_exports_counters_win_over_what_the_rows_suggest() {
        let mut rows = vec![
            row("A", "New", "2016-03-01 08:00", Some(1), None),
            row("A", "Active", "2016-03-01 09:00", Some(2), None),
            row(
                "A",
                "Resolved",
                "2016-03-01 10:00",
                Some(2),
                Some("2016-03-01 10:00"),
            ),
        ];
        for (k, (t, _)) in rows.iter_mut().enumerate() {
            t.reassignment_count = Some([0, 1, 3][k]);
            t.reopen_count = Some(0);
        }
        let (t, _) = fold(rows);
        assert_eq!(t[0].reassignment_count, Some(3));
        assert_eq!(t[0].reopen_count, Some(0));
        assert_eq!(t[0].resolved, Some(at("2016-03-01 10:00")));
    }

    #[test]
    fn rows_without_a_creation_date_join_their_ticket_or_are_skipped_in_line_order() {
        let mut rows = vec![
            row("A", "New", "2016-03-01 08:00", None, None),
            row("B", "New", "2016-03-01 08:30", None, None),
            row(
                "A",
                "Resolved",
                "2016-03-01 09:00",
                None,
                Some("2016-03-01 09:00"),
            ),
            row("C", "New", "2016-03-01 10:00", None, None),
        ];
        rows[1].1.missing_created = Some("the creation date is `?` (no value)".into());
        rows[2].1.missing_created = Some("the creation date is empty".into());
        rows[3].1.missing_created = Some("the creation date is empty".into());
        let (t, s) = fold(rows);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].id, "A");
        assert_eq!(t[0].created, at("2016-02-29 01:16"));
        assert_eq!(t[0].resolved, Some(at("2016-03-01 09:00")));
        assert_eq!((s.read, s.accepted, s.folded, s.skipped), (4, 1, 1, 2));
        let lines: Vec<u64> = s.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 5]);
        assert_eq!(
            s.problems[0].reason,
            "missing date: the creation date is `?` (no value)"
        );
        // A ticket with several rows, none dated, says so.
        let mut rows = vec![
            row("D", "New", "2016-03-01 08:00", None, None),
            row("D", "Active", "2016-03-01 09:00", None, None),
        ];
        for r in &mut rows {
            r.1.missing_created = Some("the creation date is empty".into());
        }
        let (t, s) = fold(rows);
        assert!(t.is_empty());
        assert_eq!(
            s.problems[1].reason,
            "missing date: the creation date is empty, as on every row of ticket `D`"
        );
    }

    #[test]
    fn without_update_times_the_file_order_holds() {
        let mut rows = vec![
            row("A", "New", "2016-03-05 08:00", None, None),
            row(
                "A",
                "Resolved",
                "2016-03-01 09:00",
                None,
                Some("2016-03-01 09:00"),
            ),
        ];
        // One row without an update time: the times cannot order the rows.
        rows[1].1.history.as_mut().unwrap().updated = None;
        let (t, _) = fold(rows);
        assert_eq!(t[0].status.as_deref(), Some("Resolved"));
        // Modification counts order them when every row has one.
        let mut rows = vec![
            row(
                "A",
                "Resolved",
                "2016-03-05 08:00",
                None,
                Some("2016-03-01 09:00"),
            ),
            row("A", "New", "2016-03-01 09:00", None, None),
        ];
        rows[0].1.history.as_mut().unwrap().revision = Some(4);
        rows[1].1.history.as_mut().unwrap().revision = Some(0);
        rows[1].1.history.as_mut().unwrap().updated = None;
        let (t, _) = fold(rows);
        assert_eq!(t[0].status.as_deref(), Some("Resolved"));
    }
}
