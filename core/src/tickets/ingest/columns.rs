//! Which column holds which ticket field: header aliases in many languages, the export
//! format's preferred columns, keyword rules for free-form questions, and format detection.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Profile;
use super::google_forms::QUESTION_KEYWORDS;

/// A canonical ticket field a column can map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Ticket id.
    Id,
    /// Creation time.
    Created,
    /// First response time.
    FirstResponse,
    /// Resolution time.
    Resolved,
    /// Closing time.
    Closed,
    /// Category (at open).
    Category,
    /// Sub-category, appended to the category with ` > `.
    Subcategory,
    /// Category at close.
    CategoryClosed,
    /// Site / building / school.
    Site,
    /// Requester identity (hashed on ingest).
    Requester,
    /// Requester role.
    Role,
    /// Priority.
    Priority,
    /// Status.
    Status,
    /// Subject / title.
    Subject,
    /// Body / description.
    Body,
    /// Resolution / solution.
    Resolution,
    /// When the row's change was made (event and audit logs: orders a ticket's rows).
    Updated,
    /// The ticket's modification count at the row (orders a ticket's rows).
    Revision,
    /// Assignment group or team.
    Group,
    /// Assigned agent or technician (used only to count reassignments; not kept).
    Agent,
    /// How many times the ticket was reopened.
    ReopenCount,
    /// How many times the ticket was reassigned.
    ReassignmentCount,
}

/// Header aliases per field, in normalised form (lower case, accents folded, punctuation → space).
/// Exact matches are tried first, then Google-Forms-style keyword questions.
const ALIASES: &[(Field, &[&str])] = &[
    (
        Field::Id,
        &[
            "id",
            "ticket id",
            "ticket number",
            "number",
            "ticket",
            "ref",
            "reference",
            "numero",
            "nummer",
            "case id",
            "incident number",
        ],
    ),
    (
        Field::Created,
        &[
            "created",
            "created at",
            "created time",
            "created on",
            "date created",
            "opened at",
            "opened",
            "opening date",
            "date d ouverture",
            "date ouverture",
            "eroffnungsdatum",
            "erstellt am",
            "fecha de apertura",
            "fecha de creacion",
            "timestamp",
            "horodateur",
            "marca temporal",
            "zeitstempel",
            "submitted",
            "submitted at",
            "date",
            "create date",
            "creation date",
        ],
    ),
    (
        Field::FirstResponse,
        &[
            "first response at",
            "first response",
            "initial response time",
            "first responded at",
            "first taken at",
            "prise en compte",
            "date de prise en compte",
            "take into account date",
            "first response time",
        ],
    ),
    (
        Field::Resolved,
        &[
            "resolved at",
            "resolved time",
            "resolved",
            "resolution date",
            "date de resolution",
            "date resolution",
            "losungsdatum",
            "fecha de resolucion",
            "solved at",
            "date resolved",
        ],
    ),
    (
        Field::Closed,
        &[
            "closed at",
            "closed time",
            "closed",
            "closed date",
            "closing date",
            "close date",
            "date de cloture",
            "date cloture",
            "schliessungsdatum",
            "fecha de cierre",
            "date closed",
        ],
    ),
    (
        Field::Category,
        &[
            "category",
            "categorie",
            "kategorie",
            "categoria",
            "help topic",
            "type",
            "ticket type",
            "issue type",
            "type of issue",
            "group",
        ],
    ),
    (
        Field::Subcategory,
        &[
            "subcategory",
            "sub category",
            "sous categorie",
            "item category",
        ],
    ),
    (
        Field::CategoryClosed,
        &[
            "closing category",
            "category at close",
            "close code",
            "closed code",
            "closure code",
            "resolution code",
            "category closed",
        ],
    ),
    (
        Field::Site,
        &[
            "site",
            "location",
            "lieu",
            "standort",
            "ubicacion",
            "localizacion",
            "building",
            "school",
            "campus",
            "department",
            "organization",
            "organisation",
            "entity",
            "entite",
            "entidad",
        ],
    ),
    (
        Field::Requester,
        &[
            "requester",
            "requester email",
            "requester name",
            "requester requester",
            "demandeur demandeur",
            "demandeur",
            "anforderer",
            "solicitante",
            "from email",
            "from",
            "customer",
            "caller",
            "caller id",
            "email address",
            "email",
            "adresse e mail",
            "user",
            "reporter",
        ],
    ),
    (
        Field::Role,
        &[
            "role",
            "requester role",
            "user role",
            "profil",
            "profile",
            "position",
            "job title",
        ],
    ),
    (
        Field::Priority,
        &[
            "priority",
            "priorite",
            "prioritat",
            "prioridad",
            "urgency",
            "urgence",
        ],
    ),
    (
        Field::Status,
        &[
            "status",
            "state",
            "statut",
            "estado",
            "current status",
            "incident state",
            "ticket status",
            "etat",
        ],
    ),
    (
        Field::Subject,
        &[
            "subject",
            "title",
            "titre",
            "titel",
            "titulo",
            "short description",
            "summary",
            "issue",
        ],
    ),
    (
        Field::Body,
        &[
            "description",
            "body",
            "details",
            "message",
            "beschreibung",
            "descripcion",
            "contenu",
            "content",
            "problem description",
        ],
    ),
    (
        Field::Resolution,
        &[
            "resolution",
            "solution",
            "solution solution",
            "close notes",
            "resolution notes",
            "losung",
            "solucion",
            "resolution note",
        ],
    ),
    (
        Field::Updated,
        &[
            "sys updated at",
            "updated at",
            "updated",
            "updated time",
            "updated on",
            "last updated",
            "last updated at",
            "last modified",
            "last modified at",
            "modified",
            "modified at",
            "date mod",
            "date de modification",
            "derniere modification",
            "letzte anderung",
            "geandert am",
            "fecha de modificacion",
            "ultima modificacion",
            "changed at",
            "activity time",
            "performed at",
        ],
    ),
    (
        Field::Revision,
        &[
            "sys mod count",
            "mod count",
            "modification count",
            "update count",
            "revision",
        ],
    ),
    (
        Field::Group,
        &[
            "assignment group",
            "assigned group",
            "assigned to group",
            "attribue a groupe",
            "zugewiesen an gruppe",
            "asignado a grupo",
            "group",
            "groupe",
            "gruppe",
            "grupo",
            "team",
            "team assigned",
            "support group",
            "queue",
        ],
    ),
    (
        Field::Agent,
        &[
            "assigned to",
            "assigned to technician",
            "attribue a technicien",
            "zugewiesen an techniker",
            "asignado a tecnico",
            "assignee",
            "assigned agent",
            "agent",
            "agent assigned",
            "owner",
            "technician",
            "technicien",
            "techniker",
            "tecnico",
        ],
    ),
    (
        Field::ReopenCount,
        &[
            "reopen count",
            "reopened count",
            "reopens",
            "times reopened",
            "number of reopens",
        ],
    ),
    (
        Field::ReassignmentCount,
        &[
            "reassignment count",
            "reassignments",
            "times reassigned",
            "number of reassignments",
        ],
    ),
];

/// Column mapping for one file.
pub(super) struct Mapping {
    pub(super) profile: Profile,
    fields: BTreeMap<Field, usize>,
    /// `fields` as a table indexed by field, for the per-row look-ups.
    columns: [Option<usize>; FIELDS],
    pub(super) date_columns: Vec<usize>,
}

/// How many [`Field`]s there are.
const FIELDS: usize = Field::ReassignmentCount as usize + 1;

impl Mapping {
    pub(super) fn new(
        headers: &[String],
        forced: Option<Profile>,
    ) -> std::result::Result<Mapping, String> {
        let norm: Vec<String> = headers.iter().map(|h| normalise_header(h)).collect();
        let profile = forced.unwrap_or_else(|| detect_profile(&norm));
        let mut fields: BTreeMap<Field, usize> = BTreeMap::new();
        // Profile-specific preferences first.
        let prefs = profile.preferred_columns();
        for (f, h) in prefs {
            if fields.contains_key(f) {
                continue;
            }
            if let Some(i) = norm.iter().position(|n| n == h) {
                fields.insert(*f, i);
            }
        }
        let taken = |fields: &BTreeMap<Field, usize>, i: usize| fields.values().any(|&v| v == i);
        for (f, aliases) in ALIASES {
            if fields.contains_key(f) {
                continue;
            }
            for a in *aliases {
                if let Some(i) = norm.iter().position(|n| n == a)
                    && !taken(&fields, i)
                {
                    fields.insert(*f, i);
                    break;
                }
            }
        }
        // Free-form questions (Google Forms and similar): keyword rules.
        for (i, n) in norm.iter().enumerate() {
            if taken(&fields, i) || n.split(' ').count() < 2 {
                continue;
            }
            for (f, kws) in QUESTION_KEYWORDS {
                if !fields.contains_key(f) && kws.iter().any(|k| contains_words(n, k)) {
                    fields.insert(*f, i);
                    break;
                }
            }
        }
        if !fields.contains_key(&Field::Created) {
            return Err(format!(
                "no creation-date column found among the headers [{}] (profile {profile})",
                crate::text::excerpt(&headers.join(", "))
            ));
        }
        let date_columns = [
            Field::Created,
            Field::FirstResponse,
            Field::Resolved,
            Field::Closed,
            Field::Updated,
        ]
        .iter()
        .filter_map(|f| fields.get(f).copied())
        .collect();
        let mut columns = [None; FIELDS];
        for (&f, &i) in &fields {
            columns[f as usize] = Some(i);
        }
        Ok(Mapping {
            profile,
            fields,
            columns,
            date_columns,
        })
    }

    /// Whether the export has columns that place a row in its ticket's history (update time,
    /// modification count, assignment).
    pub(super) fn keeps_history(&self) -> bool {
        [Field::Updated, Field::Revision, Field::Group, Field::Agent]
            .iter()
            .any(|&f| self.column(f).is_some())
    }

    /// Whether the export has a ticket-id column (without one, no two rows share a ticket).
    pub(super) fn has_ids(&self) -> bool {
        self.column(Field::Id).is_some()
    }

    /// The column of a field, when mapped.
    pub(super) fn column(&self, f: Field) -> Option<usize> {
        self.columns[f as usize]
    }

    pub(super) fn describe(&self, headers: &[String]) -> BTreeMap<String, Field> {
        self.fields
            .iter()
            .map(|(f, &i)| (headers[i].trim_start_matches('\u{feff}').to_string(), *f))
            .collect()
    }
}

fn contains_words(haystack: &str, needle: &str) -> bool {
    let h = format!(" {haystack} ");
    h.contains(&format!(" {needle} ")) || (needle.contains(' ') && h.contains(needle))
}

fn detect_profile(norm: &[String]) -> Profile {
    let mut best = (0usize, Profile::Generic);
    for p in Profile::ALL {
        let score = p
            .signature()
            .iter()
            .filter(|s| norm.iter().any(|n| n == *s))
            .count();
        if score > best.0 {
            best = (score, p);
        }
    }
    // Google Forms: a timestamp column and question-like headers.
    if best.1 == Profile::GoogleForms || best.0 < 2 {
        let questions = norm.iter().filter(|n| n.split(' ').count() >= 4).count();
        if norm
            .iter()
            .any(|n| Profile::GoogleForms.signature().contains(&n.as_str()))
            && questions >= 1
        {
            return Profile::GoogleForms;
        }
        if best.0 < 2 {
            return Profile::Generic;
        }
    }
    best.1
}

/// Normalises a header: strips a BOM, folds accents, lower-cases, turns punctuation into spaces.
pub fn normalise_header(h: &str) -> String {
    let mut out = String::with_capacity(h.len());
    let mut space = false;
    for c in h.trim_start_matches('\u{feff}').chars() {
        let c = fold_accent(c);
        if c.is_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else {
            space = true;
        }
    }
    out
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'À' | 'Á' | 'Â' | 'Ä' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'Ô' | 'Ö' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Û' | 'Ü' => 'u',
        'ß' => 's',
        '’' | '\'' => ' ',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_normalised() {
        assert_eq!(
            normalise_header("\u{feff}Date d'ouverture"),
            "date d ouverture"
        );
        assert_eq!(normalise_header("Catégorie"), "categorie");
    }
}
