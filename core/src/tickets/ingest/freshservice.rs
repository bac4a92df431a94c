//! Freshservice ticket exports.

use super::columns::Field;

/// Headers that identify the system (normalised form), each worth a point in detection.
pub(super) const SIGNATURE: &[&str] = &[
    "ticket id",
    "requester email",
    "requester name",
    "created time",
    "resolved time",
    "closed time",
    "initial response time",
    "sub category",
    "item category",
    "due by time",
];

/// Columns taken for a field before the generic header aliases are tried.
pub(super) const COLUMNS: &[(Field, &str)] = &[
    (Field::Id, "ticket id"),
    (Field::Created, "created time"),
    (Field::Requester, "requester email"),
    (Field::Site, "location"),
    (Field::FirstResponse, "initial response time"),
];
