//! ServiceNow incident exports (`number, opened_at, …`).

use super::columns::Field;

/// Headers that identify the system (normalised form), each worth a point in detection.
pub(super) const SIGNATURE: &[&str] = &[
    "number",
    "opened at",
    "short description",
    "caller id",
    "subcategory",
    "assignment group",
    "close notes",
    "resolved at",
    "sys id",
];

/// Columns taken for a field before the generic header aliases are tried.
pub(super) const COLUMNS: &[(Field, &str)] = &[
    (Field::Id, "number"),
    (Field::Created, "opened at"),
    (Field::Subject, "short description"),
    (Field::Requester, "caller id"),
    (Field::Status, "state"),
    (Field::Status, "incident state"),
    (Field::Group, "assignment group"),
    (Field::Agent, "assigned to"),
    (Field::Updated, "sys updated at"),
    (Field::Revision, "sys mod count"),
    (Field::Site, "location"),
];
