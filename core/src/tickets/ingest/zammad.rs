//! Zammad exports (usually an XLSX report).

use super::columns::Field;

/// Headers that identify the system (normalised form), each worth a point in detection.
pub(super) const SIGNATURE: &[&str] = &[
    "number",
    "title",
    "state",
    "group",
    "owner",
    "customer",
    "organization",
    "created at",
    "closed at",
    "first response at",
    "create channel",
];

/// Columns taken for a field before the generic header aliases are tried.
pub(super) const COLUMNS: &[(Field, &str)] = &[
    (Field::Id, "number"),
    (Field::Created, "created at"),
    (Field::Requester, "customer"),
    (Field::Site, "organization"),
    (Field::Category, "group"),
];
