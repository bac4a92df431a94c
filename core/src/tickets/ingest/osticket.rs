//! osTicket ticket exports (`;` or `,` by locale).

use super::columns::Field;

/// Headers that identify the system (normalised form), each worth a point in detection.
pub(super) const SIGNATURE: &[&str] = &[
    "ticket number",
    "help topic",
    "from email",
    "current status",
    "agent assigned",
    "team assigned",
    "thread count",
    "date created",
];

/// Columns taken for a field before the generic header aliases are tried.
pub(super) const COLUMNS: &[(Field, &str)] = &[
    (Field::Id, "ticket number"),
    (Field::Created, "date created"),
    (Field::Category, "help topic"),
    (Field::Requester, "from email"),
    (Field::Site, "department"),
    (Field::Status, "current status"),
];
