//! The durable outbox: every notification is stored before delivery is tried.
