//! Test doubles for users' own tests (feature `testing`).
