#!/usr/bin/env bash
# The Python package's tests, as a user gets the package: builds the wheel with maturin in a
# virtual environment of its own (target/py-venv), installs it, and runs pytest on
# bindings-python/tests. Extra arguments go to pytest. Its exit status is pytest's (or the
# build's, when the wheel cannot be built).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
venv=target/py-venv
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
# What the tests use beside the package: the SMTP peer, the type checker of the examples, and
# pandas for the ticket analysis's data frames, scikit-learn for the topics' baseline (one minor
# version, so that the baseline the topics are held against stays the same clustering).
"$venv/bin/python" -m pip install -q --disable-pip-version-check 'maturin>=1.9,<2' 'pytest>=7' \
    'aiosmtpd>=1.4' 'mypy>=1.10' pandas 'scikit-learn==1.9.*'

# The dev profile with the symbols stripped: a quick build and a small wheel; the package is
# the same as a release build's.
rm -f target/wheels/forewarn-*.whl
"$venv/bin/maturin" build --manifest-path bindings-python/Cargo.toml --profile dev --strip \
    --interpreter "$venv/bin/python" --out target/wheels
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall \
    target/wheels/forewarn-*.whl

# From the repository root, not from the package's source: the tests import the installed wheel.
"$venv/bin/python" -m pytest -q -rfEs -p no:cacheprovider bindings-python/tests "$@"
