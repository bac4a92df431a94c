//! The 4TU.ResearchData help-desk event log (arrivals and handling times, no text).

use super::columns::Field;

/// Headers that identify the system (normalised form), each worth a point in detection.
pub(super) const SIGNATURE: &[&str] = &[
    "ticket id",
    "created at",
    "first taken at",
    "n events",
    "had wait",
    "first resource",
];

/// Columns taken for a field before the generic header aliases are tried.
pub(super) const COLUMNS: &[(Field, &str)] = &[
    (Field::Id, "ticket id"),
    (Field::Created, "created at"),
    (Field::FirstResponse, "first taken at"),
    (Field::Category, "first resource"),
];
