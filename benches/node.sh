#!/usr/bin/env bash
# The Node package measured in release mode: builds the addon with `node scripts/build.js`
# (release, the default when FOREWARN_NODE_PROFILE is unset) after installing the package's
# build tool, builds the Rust side it is compared with (the run_once example and the forewarn
# program, release), then runs benches/node_probe.mjs with those programs and prints its
# results, with the load average before and after (the machine may be shared: read the
# figures against it).
#   benches/node.sh [node_probe.mjs options…]   e.g. --scheduler-checks 25000 --seconds 10
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
unset FOREWARN_NODE_PROFILE
(
    cd bindings-node
    [ -d node_modules/@napi-rs/cli ] || npm install --ignore-scripts --no-audit --no-fund
    node scripts/build.js
)
cargo build --release -p forewarn --example run_once --bin forewarn

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
node benches/node_probe.mjs \
    --example "$target/release/examples/run_once" --forewarn "$target/release/forewarn" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
