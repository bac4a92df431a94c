#!/usr/bin/env bash
# The Python package measured in release mode: builds the wheel with `maturin build --release`
# into a virtual environment of its own (${CARGO_TARGET_DIR:-target}/py-bench-venv), builds the
# Rust side it is compared with (the run_once example and the forewarn program, release), then
# runs benches/python_probe.py with those programs and prints its results, with the load
# average before and after (the machine may be shared: read the figures against it).
#   benches/python.sh [python_probe.py options…]   e.g. --scheduler-checks 25000 --seconds 10
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
python=${PYTHON:-python3}
venv=$target/py-bench-venv
wheels=$target/py-bench-wheels
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check 'maturin>=1.9,<2'

rm -f "$wheels"/forewarn-*.whl
"$venv/bin/maturin" build --release --manifest-path bindings-python/Cargo.toml \
    --interpreter "$venv/bin/python" --out "$wheels"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall \
    "$wheels"/forewarn-*.whl
cargo build --release -p forewarn --example run_once --bin forewarn

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$venv/bin/python" benches/python_probe.py \
    --example "$target/release/examples/run_once" --forewarn "$target/release/forewarn" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
