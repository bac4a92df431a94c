//! GLPI exports (any locale: French, English, German, Spanish headers; `>` category hierarchies,
//! HTML entities, often `;`-separated and day-first).

use super::columns::Field;

/// Headers that identify the system (normalised form), each worth a point in detection.
pub(super) const SIGNATURE: &[&str] = &[
    "entity",
    "entite",
    "entidad",
    "einheit",
    "titre",
    "date d ouverture",
    "opening date",
    "lieu",
    "demandeur demandeur",
    "requester requester",
    "attribue a technicien",
    "assigned to technician",
    "solution solution",
    "eroffnungsdatum",
    "fecha de apertura",
];

/// Columns taken for a field before the generic header aliases are tried.
pub(super) const COLUMNS: &[(Field, &str)] = &[
    (Field::Site, "lieu"),
    (Field::Site, "location"),
    (Field::Site, "standort"),
    (Field::Requester, "demandeur demandeur"),
    (Field::Requester, "requester requester"),
];
