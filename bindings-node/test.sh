#!/usr/bin/env bash
# The Node package's tests, as a user gets the package: `npm install <repository>/bindings-node`
# into a fresh application folder (target/node-app), which builds the native addon from source
# (a quick unoptimised build here, FOREWARN_NODE_PROFILE=dev; CARGO_TARGET_DIR is honoured), then
# node:test on bindings-node/test (and the Node examples) copied into that folder, so that
# `import 'forewarn'` is the installed package. Extra arguments go to `node --test`. Its exit
# status is node:test's (or the install's, when the package cannot be built).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

command -v node >/dev/null || { echo "node is required (18 or newer)" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is required" >&2; exit 1; }

# The SMTP peer of the e-mail tests: aiosmtpd in a virtual environment, the Python package's
# (target/py-venv) when it has it, else one of our own.
python=${PYTHON:-python3}
peers=target/py-venv
if ! { [ -x "$peers/bin/python" ] && "$peers/bin/python" -c 'import aiosmtpd' 2>/dev/null; }; then
    peers=target/node-peers-venv
    if ! { [ -x "$peers/bin/python" ] && "$peers/bin/python" -c 'import aiosmtpd' 2>/dev/null; }; then
        if ! { "$python" -m venv "$peers" && "$peers/bin/python" -m pip install -q \
            --disable-pip-version-check 'aiosmtpd>=1.4'; }; then
            echo "could not make a virtual environment with aiosmtpd: the e-mail tests skip" \
                "(or fail with CI=true)" >&2
        fi
    fi
fi
if [ -x "$peers/bin/python" ]; then
    export FOREWARN_TEST_PYTHON="$repo/$peers/bin/python"
fi

# A fresh application, as a user starts one.
app=target/node-app
rm -rf "$app"
mkdir -p "$app"
cd "$app"
npm init -y >/dev/null
export FOREWARN_NODE_PROFILE=${FOREWARN_NODE_PROFILE:-dev}
# The repository, where the tests find the shared data beside it (../shared).
export FOREWARN_REPO=${FOREWARN_REPO:-$repo}
# Installing a folder links it (node_modules/forewarn -> bindings-node), and npm still runs the
# linked package's `install` script, the native build (npm 11.19 warns that the script is not in
# `allowScripts` yet, and runs it). The source folder's earlier build is removed first, so the
# tests get what the install built. Should a later npm hold the script back until approved, it
# is approved and run the way npm tells a user to.
rm -rf "$repo/bindings-node/native"
npm install --no-audit --no-fund "$repo/bindings-node"
if [ ! -e node_modules/forewarn/native/index.js ]; then
    echo "npm install did not build the native addon: approving its install script" >&2
    npm install-scripts approve forewarn
    npm rebuild forewarn
fi
[ -e node_modules/forewarn/native/index.js ] || { echo "the native addon was not built" >&2; exit 1; }
# The type checker of the declarations and the TypeScript example.
npm install --no-audit --no-fund --ignore-scripts --save-dev typescript @types/node

cp -r "$repo/bindings-node/test" ./test
if [ -d "$repo/examples/node" ]; then
    rm -rf examples && mkdir -p examples && cp -r "$repo/examples/node" examples/node
fi

# The test files (not their helpers, which node 20 would run too when given the folder); the
# spec reporter for people, and TAP into a file for the closing lines below.
status=0
node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination=node-test.tap "$@" test/*.test.mjs || status=$?

# Skipped tests with their reasons, then one summary line, both for scripts/test.sh to count
# ("node:test skipped: NAME: REASON", "node:test: N passed, F failed, K skipped"; cancelled
# tests count as failed).
if [ -f node-test.tap ]; then
    sed -nE 's/^ *ok [0-9]+ - (.*) # SKIP ?(.*)$/node:test skipped: \1: \2/p' node-test.tap
    awk '/^# (pass|fail|cancelled|skipped) [0-9]+$/ { n[$2] = $3 }
         END { printf "node:test: %d passed, %d failed, %d skipped\n",
                      n["pass"], n["fail"] + n["cancelled"], n["skipped"] }' node-test.tap
fi
exit "$status"
