#!/usr/bin/env bash
# The whole test suite, from a clean checkout: formatting, lints, the Rust unit and integration
# tests (with their real peers), the Python and Node packages' tests, the examples, and a short
# fuzzing smoke of every parser.
set -euo pipefail
cd "$(dirname "$0")/.."

# Cargo itself (rustup toolchain from rust-toolchain.toml) is the one prerequisite.
command -v cargo >/dev/null || { echo "cargo is required: https://rustup.rs" >&2; exit 1; }

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "peer servers (Debian packages): databases, Dovecot, espeak-ng, a browser, smartmontools"
# The tests start their own private PostgreSQL, MariaDB, Redis and Dovecot (ManageSieve, LMTP,
# Sieve) on loopback ports, run espeak-ng, and load the status page in headless Chromium; only
# the programs are needed. Missing packages are installed when running as root with apt.
missing=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null ||
    missing+=(postgresql)
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-core)
[ -x /usr/lib/dovecot/managesieve ] || missing+=(dovecot-managesieved)
[ -e /usr/lib/dovecot/modules/lib90_sieve_plugin.so ] || missing+=(dovecot-sieve)
[ -x /usr/lib/dovecot/lmtp ] || missing+=(dovecot-lmtpd)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v chromium >/dev/null || missing+=(chromium)
# The smart probe's tests run the real smartctl on a file that is not a disk.
[ -x /usr/sbin/smartctl ] || command -v smartctl >/dev/null || missing+=(smartmontools)
# The Python package's tests build its wheel in a virtual environment (Debian splits venv off).
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -eq 0 ]; then
    echo "postgresql, mariadb-server, redis-server, dovecot (managesieved, sieve, lmtpd), espeak-ng, chromium and smartmontools are installed"
elif [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "missing: ${missing[*]} (not root or no apt-get): the tests that need them skip, or fail with CI=true"
else
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

step "cargo test (workspace)"
log=$(mktemp)
# A test whose peer or data is missing records itself here (tests/support/skip.rs); the harness
# would count it as passed.
export FOREWARN_SKIP_LOG
FOREWARN_SKIP_LOG=$(mktemp)
trap 'rm -f "$log" "$FOREWARN_SKIP_LOG"' EXIT
status=0
# The tests run in a process group of their own, written to the log and shown as they go. Not a
# pipe into tee: a process a failed test left behind (a peer, a child it spawned) would hold the
# pipe open and the script would wait on it for ever. The group is ended once cargo is done, and
# the whole run is bounded, so a hung test is a failure with its output, not a stalled CI.
setsid -w timeout --kill-after=30s "${FOREWARN_TEST_TIMEOUT:-60m}" \
    cargo test --workspace --no-fail-fast >"$log" 2>&1 &
tests=$!
tail -n +1 -f --pid="$tests" "$log" &
shown=$!
wait "$tests" || status=$?
wait "$shown" || true
kill -- "-$tests" 2>/dev/null || true
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "cargo test did not finish within ${FOREWARN_TEST_TIMEOUT:-60m}" >&2
fi

step "python package (bindings-python/test.sh: the wheel built and installed as a user would, then pytest)"
# Always run, so its counts are in the closing line. In a process group of its own and bounded,
# like the Rust tests.
pylog=$(mktemp)
trap 'rm -f "$log" "$FOREWARN_SKIP_LOG" "$pylog"' EXIT
py_status=0
if command -v "${PYTHON:-python3}" >/dev/null; then
    setsid -w timeout --kill-after=30s "${FOREWARN_PYTHON_TEST_TIMEOUT:-20m}" \
        bindings-python/test.sh >"$pylog" 2>&1 &
    pytests=$!
    tail -n +1 -f --pid="$pytests" "$pylog" &
    shown=$!
    wait "$pytests" || py_status=$?
    wait "$shown" || true
    kill -- "-$pytests" 2>/dev/null || true
    if [ "$py_status" -eq 124 ] || [ "$py_status" -eq 137 ]; then
        echo "the Python tests did not finish within ${FOREWARN_PYTHON_TEST_TIMEOUT:-20m}" >&2
    fi
else
    echo "python3 is not installed: the Python package is not tested"
    [ "${CI:-}" = true ] && py_status=1
fi
[ "$py_status" -eq 0 ] || status=$py_status

step "node package (bindings-node/test.sh: npm install of the package as a user would, then node:test)"
# Always run, so its counts are in the closing line; bounded in a process group of its own.
nodelog=$(mktemp)
trap 'rm -f "$log" "$FOREWARN_SKIP_LOG" "$pylog" "$nodelog"' EXIT
node_status=0
if command -v node >/dev/null && command -v npm >/dev/null; then
    setsid -w timeout --kill-after=30s "${FOREWARN_NODE_TEST_TIMEOUT:-20m}" \
        bindings-node/test.sh >"$nodelog" 2>&1 &
    nodetests=$!
    tail -n +1 -f --pid="$nodetests" "$nodelog" &
    shown=$!
    wait "$nodetests" || node_status=$?
    wait "$shown" || true
    kill -- "-$nodetests" 2>/dev/null || true
    if [ "$node_status" -eq 124 ] || [ "$node_status" -eq 137 ]; then
        echo "the Node tests did not finish within ${FOREWARN_NODE_TEST_TIMEOUT:-20m}" >&2
    fi
else
    echo "node and npm are not installed: the Node package is not tested"
    [ "${CI:-}" = true ] && node_status=1
fi
[ "$node_status" -eq 0 ] || status=$node_status

if [ "$status" -eq 0 ]; then
    step "examples"
    cargo run --quiet --example embedded || status=$?
    cargo run --quiet --example custom_probe || status=$?
fi

if [ "$status" -eq 0 ]; then
    step "fuzzing smoke (benches/fuzz.sh: every parser under AFL++ for a few seconds)"
    # Seeded with the fixtures and the real recordings and exports; a quick unoptimised build.
    # Like the tests, in a process group of its own, bounded (the first run installs cargo-afl
    # and builds AFL++), and ended as a group: a stalled download or a stuck afl-fuzz is a
    # failure, not a stalled CI.
    FUZZ_OPT_LEVEL=0 setsid -w timeout --kill-after=30s "${FOREWARN_FUZZ_SMOKE_TIMEOUT:-15m}" \
        benches/fuzz.sh "${FUZZ_SMOKE_SECONDS:-5}" &
    smoke=$!
    wait "$smoke" || status=$?
    kill -- "-$smoke" 2>/dev/null || true
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        echo "the fuzzing smoke did not finish within ${FOREWARN_FUZZ_SMOKE_TIMEOUT:-15m}" >&2
    fi
fi

# The skipped tests with their reasons, then one closing line for the whole suite, summed over
# every test binary: a recorded skip is taken out of the passes and counted with the ignored.
skipped=$(cut -f1 "$FOREWARN_SKIP_LOG" | sort -u | wc -l)
# node:test's skips, as bindings-node/test.sh lists them ("node:test skipped: NAME: REASON").
node_skips=$(sed -n 's/^node:test skipped: //p' "$nodelog")
if [ "$skipped" -gt 0 ] || [ -n "$node_skips" ]; then
    step "skipped tests ($((skipped + $(printf '%s' "$node_skips" | grep -c '^' || true))))"
    sort -u "$FOREWARN_SKIP_LOG" | sed 's/\t/: /; s/^/  /'
    [ -z "$node_skips" ] || printf '%s\n' "$node_skips" | sed 's/^/  node: /'
fi
# pytest's summary line ("3 failed, 40 passed, 2 skipped in 1.2s"; errors count as failures)
# is added to cargo's "test result:" lines.
pytest_count() {
    grep -E '^(=+ )?[0-9]+ (passed|failed|skipped|errors?|deselected|xfailed|xpassed)' "$pylog" |
        tail -n 1 | grep -oE "[0-9]+ $1" | awk '{ n += $1 } END { print n + 0 }'
}
# node:test's counts come from bindings-node/test.sh's summary line ("node:test: 30 passed,
# 0 failed, 1 skipped").
node_count() {
    grep -E '^node:test: [0-9]+ passed' "$nodelog" | tail -n 1 | grep -oE "[0-9]+ $1" |
        awk '{ n += $1 } END { print n + 0 }'
}
awk -v k="$skipped" -v pp="$(($(pytest_count passed) + $(node_count passed)))" \
    -v pf="$(($(pytest_count failed) + $(pytest_count 'errors?') + $(node_count failed)))" \
    -v ps="$(($(pytest_count skipped) + $(node_count skipped)))" \
    '/^test result:/ { p += $4; f += $6; s += $8 }
     END { printf "\ntests: %d passed, %d failed, %d skipped\n", p - k + pp, f + pf, s + k + ps }' \
    FS='[ ;]+' "$log"
exit "$status"
