#!/usr/bin/env bash
# The status page measured two ways in one build and one sitting: the server with its
# in-memory source (1,000 services, 100 open incidents), then the path a district takes —
# `forewarn run --config` (release build) monitoring 1,000 services over TCP, 100 of them down.
# Each prints requests/s, p50 and p99 of /static/style.css, / and /status.json, the ratios to
# the static route and the load averages.
#   benches/status_page.sh [SECONDS]      per route (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
# The bench executable, wherever the target directory is (CARGO_TARGET_DIR is honoured).
bin=$(cargo bench -p forewarn --bench status_server --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*status_server[^"]*\)".*/\1/p' | tail -n1)
[ -x "$bin" ] || { echo "the status_server bench did not build" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || true
"$bin" --seconds "$seconds"
"$bin" --cli --seconds "$seconds"
