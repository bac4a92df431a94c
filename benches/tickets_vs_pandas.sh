#!/usr/bin/env bash
# Help-desk mining, side by side: forewarn's full tickets pipeline (release build) against pandas +
# scikit-learn doing read CSV, weekly counts per category, TF-IDF (1-2-grams, 50k features) and
# MiniBatchKMeans (k = 60), on the same generated CSV.
#
#   benches/tickets_vs_pandas.sh [ROWS]        (default 1000000)
#
# Creates a virtualenv under the target directory on first use (pip install pandas scikit-learn).
set -euo pipefail

ROWS="${1:-1000000}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$TARGET/tickets-bench"
VENV="$WORK/venv"
PYTHON="${PYTHON:-python3}"
mkdir -p "$WORK"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet pandas scikit-learn
fi

(cd "$ROOT" && cargo build --quiet --release -p forewarn --bin forewarn)
FOREWARN="$TARGET/release/forewarn"
CSV="$WORK/tickets-$ROWS.csv"
if [ ! -s "$CSV" ]; then
    "$FOREWARN" tickets generate --rows "$ROWS" --seed 1 --out "$CSV"
fi
SIZE_MB=$(( $(stat -c %s "$CSV") / 1000000 ))

now() { date +%s.%N; }

# Warm the page cache so neither side pays for the first read.
cat "$CSV" > /dev/null

# CPU seconds (user + system) of a finished command, from GNU time's output file.
cpu() { awk '/User time/ { u = $NF } /System time/ { s = $NF } END { printf "%.2f", u + s }' "$1"; }

t0=$(now)
/usr/bin/time -v -o "$WORK/rust.time" \
    "$FOREWARN" tickets analyze "$CSV" --out "$WORK/report.html" --k 60 --cluster-all --timings 2> "$WORK/rust.txt" > /dev/null
t1=$(now)
RUST=$(echo "$t1 - $t0" | bc -l)
RUST_CPU=$(cpu "$WORK/rust.time")

t0=$(now)
/usr/bin/time -v -o "$WORK/pandas.time" \
    "$VENV/bin/python" "$ROOT/benches/tickets_pandas.py" "$CSV" > "$WORK/pandas.txt" 2> "$WORK/pandas.err"
t1=$(now)
PANDAS_WALL=$(echo "$t1 - $t0" | bc -l)
PANDAS_CPU=$(cpu "$WORK/pandas.time")
PANDAS=$(awk '$1 == "total" { print $2 }' "$WORK/pandas.txt")
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

VERSIONS=$("$VENV/bin/python" -c 'import pandas, sklearn; print(f"pandas {pandas.__version__}, scikit-learn {sklearn.__version__}")')

echo "Help-desk mining: $ROWS tickets ($SIZE_MB MB CSV), $(nproc) cores, load average after the run: $LOAD"
echo
echo "forewarn (full pipeline: ingest, calendar, topics incl. TF-IDF + k-means k=60 on all tickets,"
echo "          MinHash groups, trends, recommendations, HTML + JSON report)"
sed 's/^/    /' "$WORK/rust.txt"
echo
echo "pandas + scikit-learn ($VERSIONS)"
sed 's/^/    /' "$WORK/pandas.txt"
echo
printf '%-44s %10s %10s\n' "" "wall s" "CPU s"
# forewarn's stages that cover the four steps (and more): ingest (read CSV), topics (TF-IDF +
# k-means, with normalisation, taxonomy and MinHash groups) and trends (weekly counts, with
# spikes, term comparisons, Mann-Kendall and changepoints).
STEPS=$(awk '$1 == "ingest" || $1 == "topics" || $1 == "trends" { s += $2 } END { printf "%.3f", s }' "$WORK/rust.txt")
printf '%-44s %10.2f %10.2f\n' "forewarn, whole process" "$RUST" "$RUST_CPU"
printf '%-44s %10.2f %10s\n' "forewarn, ingest + topics + trends" "$STEPS" "-"
printf '%-44s %10.2f %10s\n' "pandas + scikit-learn, the 4 steps" "$PANDAS" "-"
printf '%-44s %10.2f %10.2f\n' "pandas + scikit-learn, whole process" "$PANDAS_WALL" "$PANDAS_CPU"
printf '%-44s %9.1fx\n' "ratio, wall (pandas 4 steps / forewarn)" "$(echo "$PANDAS / $RUST" | bc -l)"
printf '%-44s %9.1fx\n' "ratio on those steps (pandas / forewarn)" "$(echo "$PANDAS / $STEPS" | bc -l)"
printf '%-44s %9.1fx\n' "ratio, CPU (whole processes)" "$(echo "$PANDAS_CPU / $RUST_CPU" | bc -l)"
