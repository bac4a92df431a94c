#!/usr/bin/env bash
# The whole test suite, from a clean checkout: formatting, lints, the Rust unit and integration
# tests (with their real peers), and the examples.
set -euo pipefail
cd "$(dirname "$0")/.."

# Cargo itself (rustup toolchain from rust-toolchain.toml) is the one prerequisite.
command -v cargo >/dev/null || { echo "cargo is required: https://rustup.rs" >&2; exit 1; }

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (workspace)"
cargo test --workspace

step "examples"
cargo run --quiet --example embedded
