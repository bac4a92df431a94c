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
        if "$python" -m venv "$peers" && "$peers/bin/python" -m pip install -q \
            --disable-pip-version-check 'aiosmtpd>=1.4'; then
            :
        else
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
# Installing a folder links it (node_modules/forewarn -> bindings-node) and npm 11 still runs
# the linked package's `install` script (the native build) once its dependencies are in place;
# the check below makes sure the addon is there rather than trusting it.
npm install --no-audit --no-fund "$repo/bindings-node"
if [ ! -e node_modules/forewarn/native/index.js ]; then
    echo "npm install did not build the native addon; building it with npm run build" >&2
    (cd node_modules/forewarn && npm run build)
fi
# The type checker of the declarations and the TypeScript example.
npm install --no-audit --no-fund --save-dev typescript @types/node

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
