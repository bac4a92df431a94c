//! Google Forms response sheets: a timestamp and free-form questions, no status.

use super::columns::Field;

/// Headers that identify the system (normalised form), each worth a point in detection.
pub(super) const SIGNATURE: &[&str] = &["timestamp", "horodateur", "marca temporal", "zeitstempel"];

/// Columns taken for a field before the generic header aliases are tried.
pub(super) const COLUMNS: &[(Field, &str)] = &[];

/// Keyword rules for free-form question headers (Google Forms), applied when no alias matched.
pub(super) const QUESTION_KEYWORDS: &[(Field, &[&str])] = &[
    (Field::Requester, &["email", "e mail", "your name"]),
    (
        Field::Site,
        &["school", "building", "campus", "site", "location", "room"],
    ),
    (Field::Role, &["role", "are you a", "position"]),
    (
        Field::Category,
        &["category", "kind of", "type of", "what area", "device"],
    ),
    (
        Field::Subject,
        &["subject", "summary", "short", "title", "in a few words"],
    ),
    (
        Field::Body,
        &[
            "describe",
            "description",
            "details",
            "problem",
            "what happened",
            "issue",
        ],
    ),
    (
        Field::Priority,
        &["urgent", "urgency", "priority", "how soon"],
    ),
];
