#!/usr/bin/env bash
# Coverage-guided fuzzing of forewarn's parsers with AFL++ (cargo-afl, stable Rust).
#
#   benches/fuzz.sh [SECONDS] [TARGET…]
#
# Builds the harnesses in fuzz/ with `cargo afl build`, then runs each TARGET (all of them by
# default) under afl-fuzz for SECONDS (default 600) with a memory limit and a time limit per
# input, and prints per target: executions, executions per second, corpus size, crashes and hangs
# (from afl-fuzz's fuzzer_stats). Exits non-zero when a target crashed or hung, naming the inputs
# that did; the runs are kept in target/fuzz/runs/TARGET.
#
# Targets (forewarn::fuzzing): config, tickets_csv, tickets_xlsx, snmprec, snmp_response,
# http_response, ack_token, smart_json.
#
# Environment:
#   FUZZ_EXECS=N        stop each target after about N executions instead of after SECONDS
#   FUZZ_MEMORY_MB=N    memory limit of the fuzzed process, afl-fuzz -m (default 1024)
#   FUZZ_TIMEOUT_MS=N   time limit per input, afl-fuzz -t (default 1000)
#   FUZZ_OPT_LEVEL=N    optimisation of the instrumented build (default 3; the test script's
#                       short smoke builds with 0, in a build directory of its own)
#   FOREWARN_SHARED_DATA  the real recordings and exports (default ../shared/data); missing, the
#                       runs start from the repository's own seeds only (an error with CI=true)
#
# The first run installs cargo-afl and builds AFL++ (it needs cc and make) under
# target/fuzz-tools; later runs reuse them.
#
# Seeds, gathered afresh for every run under target/fuzz/seeds/TARGET: the repository's own
# (fuzz/seeds/TARGET, and those forewarn::fuzzing::seeds makes: HTTP responses, tokens, SNMP
# answers, small exports and worksheets), the fixtures (tests/data), the example configs, and the
# real printer recordings and the first 20 lines of each real ticket export.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

all_targets=(config tickets_csv tickets_xlsx snmprec snmp_response http_response ack_token smart_json)
seconds=${1:-600}
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [TARGET…]" >&2; exit 2; }
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $t "* ]] ||
        { echo "unknown target $t (known: ${all_targets[*]})" >&2; exit 2; }
done
memory=${FUZZ_MEMORY_MB:-1024}
timeout_ms=${FUZZ_TIMEOUT_MS:-1000}
opt=${FUZZ_OPT_LEVEL:-3}
shared=${FOREWARN_SHARED_DATA:-$root/../shared/data}

# --- AFL++ through cargo-afl, kept under target/ -----------------------------------------------
tools=$root/target/fuzz-tools
export PATH=$tools/bin:$PATH
# cargo-afl keeps AFL++ (afl-fuzz, its runtime) in the XDG data directory.
export XDG_DATA_HOME=$tools/share
afl_version=0.18.2
if ! command -v cc >/dev/null || ! command -v make >/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gcc make libc6-dev
    else
        echo "building AFL++ needs cc and make" >&2
        exit 1
    fi
fi
if ! cargo afl --version 2>/dev/null | grep -q "$afl_version"; then
    echo "installing cargo-afl $afl_version into $tools"
    cargo install --quiet --locked --version "$afl_version" --root "$tools" cargo-afl
fi
rustc_dir="rustc-$(rustc -vV | sed -n 's/^release: //p')-$(rustc -vV | sed -n 's/^commit-hash: //p' | cut -c1-7)"
afl_home=$XDG_DATA_HOME/afl.rs/$rustc_dir/afl.rs-$afl_version
if [ ! -e "$afl_home/afl-llvm/afl-compiler-rt.o" ]; then
    echo "building AFL++ (cargo afl config --build)"
    cargo afl config --build >/dev/null
fi
afl_fuzz=$afl_home/afl/bin/afl-fuzz

# --- the harnesses ---------------------------------------------------------------------------
# With an explicit --target, cargo-afl's instrumentation flags reach the harnesses and the code
# they run, not the build scripts and procedural macros.
host=$(rustc -vV | sed -n 's/^host: //p')
build=$root/target/fuzz/o$opt
export CARGO_TARGET_DIR=$build
echo "building the harnesses (opt-level $opt) in $build"
# Not --locked: the harness crate has its own lock file, and a dependency the library gains
# is added to it here rather than failing the build; what it already pins stays pinned.
(cd fuzz && AFL_OPT_LEVEL=$opt cargo afl build --quiet --release --target "$host")
bin=$build/$host/release

# --- seeds -----------------------------------------------------------------------------------
if [ ! -d "$shared" ]; then
    if [ "${CI:-}" = true ]; then
        echo "the real recordings and exports are missing: $shared (set FOREWARN_SHARED_DATA)" >&2
        exit 1
    fi
    echo "note: $shared not found (set FOREWARN_SHARED_DATA); starting from the repository's seeds only"
fi
seeds_of() {
    local t=$1 dir=$root/target/fuzz/seeds/$1
    rm -rf "$dir"
    mkdir -p "$dir"
    [ -d "fuzz/seeds/$t" ] && cp fuzz/seeds/"$t"/* "$dir"/ 2>/dev/null || true
    "$bin/seeds" "$t" "$dir"
    case $t in
        config)
            cp core/src/default.toml "$dir/default.toml"
            for f in examples/*.toml; do cp "$f" "$dir/example_$(basename "$f")"; done
            ;;
        tickets_csv)
            cp tests/data/tickets/*.csv "$dir"/
            # The real exports are megabytes: their first lines (small inputs fuzz faster).
            for f in "$shared"/tickets/*.csv; do
                [ -e "$f" ] && head -n 20 "$f" >"$dir/real_$(basename "$f")"
            done
            ;;
        tickets_xlsx)
            cp tests/data/tickets/*.xlsx "$dir"/
            ;;
        smart_json)
            cp tests/data/smart/*.json "$dir"/
            for f in "$shared"/smart/*.json; do
                [ -e "$f" ] && cp "$f" "$dir/real_$(basename "$f")"
            done
            ;;
        snmprec)
            cp tests/data/printers/*.snmprec "$dir"/
            for f in "$shared"/printers/*.snmprec; do
                [ -e "$f" ] && cp "$f" "$dir/real_$(basename "$f")"
            done
            ;;
    esac
    echo "$dir"
}

# Dictionaries (afl-fuzz -x): words of each format, taken from the documentation and the code
# where they are defined, so mutations can put whole keys and headers into an input.
dict_of() {
    local t=$1 out=$root/target/fuzz/dicts/$1.dict
    case $t in config | tickets_csv | tickets_xlsx | snmprec | http_response) ;; *) return 0 ;; esac
    mkdir -p "$(dirname "$out")"
    case $t in
        config)
            # Keys, tables and quoted values of the documented and example configs.
            grep -hoE '^\s*\[{1,2}[a-z_.]+\]{1,2}|^\s*[a-z_]+ *=|"[a-z0-9_./ -]{1,24}"' \
                README.md examples/*.toml core/src/default.toml | sed 's/^ *//'
            printf '%s\n' '[[checks]]' '[[maintenance]]' 'type = "' '"${' '= true' '= false' '"5m"' '"30s"'
            ;;
        tickets_csv)
            # The header names ingest knows (aliases, each export format's own headers),
            # missing-value markers and states, and date and line shapes.
            sed -n -E '/^(pub\(super\) )?const (ALIASES|QUESTION_KEYWORDS|SIGNATURE|COLUMNS|MISSING|DONE)\b/,/^];/p' \
                core/src/tickets/ingest/*.rs |
                grep -oE '"[^"]{2,40}"' | tr -d '"'
            printf '%s\n' '2025-09-01 08:00' '01/09/2025 8:05 am' '+00:00' 'T08:00:00Z' '\r\n' '""' ';' '\t'
            ;;
        tickets_xlsx)
            printf '%s\n' '<row r="' '<c r="' '" t="s">' '" t="inlineStr">' '" t="str">' \
                '" t="b">' '" t="e">' '" s="1">' '" s="2">' '<v>' '</v>' '<is><t>' '</t></is>' '</c>' \
                '</row>' '<si><t>' '</t></si>' '45902.5' 'XFD1048576'
            ;;
        snmprec)
            printf '%s\n' '|2|' '|4|' '|4x|' '|5|' '|6|' '|64|' '|65|' '|66|' '|67|' '|70|' \
                '1.3.6.1.2.1.1.' '1.3.6.1.2.1.25.3.2.1.' '1.3.6.1.2.1.25.3.5.1.' '1.3.6.1.2.1.43.5.1.1.' \
                '1.3.6.1.2.1.43.6.1.1.' '1.3.6.1.2.1.43.8.2.1.' '1.3.6.1.2.1.43.10.2.1.' \
                '1.3.6.1.2.1.43.11.1.1.' '1.3.6.1.2.1.43.12.1.1.' '1.3.6.1.2.1.43.18.1.1.'
            ;;
        http_response)
            printf '%s\n' 'HTTP/1.1 ' 'HTTP/1.0 ' '\r\n' 'Content-Length: ' 'Transfer-Encoding: ' \
                'chunked' 'gzip, chunked' 'Connection: ' 'close' 'keep-alive' 'Location: ' '100 Continue' \
                '101 Switching Protocols' '204' '304' '0\r\n\r\n' ';ext='
            ;;
    esac | LC_ALL=C grep -vP '[^\x20-\x7e]' | sort -u |
        awk '{ gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); printf "w%d=\"%s\"\n", NR, $0 }' >"$out"
    # printf kept the \r\n and \t above as text: as bytes in the dictionary.
    sed -i 's/\\\\r\\\\n/\\x0d\\x0a/g; s/\\\\t/\\x09/g' "$out"
    echo "$out"
}

# --- the runs --------------------------------------------------------------------------------
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
export AFL_QUIET=1
# A crash is an abort either way; its backtrace only slows the run (reproduce with it on).
export RUST_BACKTRACE=0
# Ingest's parallel parts on one worker thread: the same code, without the scheduling noise
# that makes coverage differ from run to run.
export RAYON_NUM_THREADS=1
runs=$root/target/fuzz/runs
failed=0
results=()
for t in "${targets[@]}"; do
    dir=$(seeds_of "$t" | tail -n 1)
    out=$runs/$t
    rm -rf "$out"
    mkdir -p "$runs"
    limit=(-V "$seconds")
    length="$seconds s"
    if [ -n "${FUZZ_EXECS:-}" ]; then
        limit=(-E "$FUZZ_EXECS")
        length="$FUZZ_EXECS executions"
    fi
    echo "==> $t: $(ls "$dir" | wc -l) seeds, $length, -m $memory MB, -t $timeout_ms ms"
    log=$runs/$t.log
    dict=$(dict_of "$t")
    if ! "$afl_fuzz" -i "$dir" -o "$out" -m "$memory" -t "$timeout_ms" "${limit[@]}" \
        ${dict:+-x "$dict"} -- "$bin/$t" >"$log" 2>&1; then
        echo "afl-fuzz failed for $t (a seed may crash or hang): see $log" >&2
        tail -n 20 "$log" >&2
        failed=1
        results+=("$t - - - - - afl-fuzz failed")
        continue
    fi
    stats=$out/default/fuzzer_stats
    stat() { sed -n "s/^$1 *: *//p" "$stats"; }
    execs=$(stat execs_done)
    run_time=$(stat run_time)
    crashes=$(stat saved_crashes)
    hangs=$(stat saved_hangs)
    rate=$(awk -v e="$execs" -v s="$run_time" 'BEGIN { printf "%.0f", (s > 0 ? e / s : 0) }')
    results+=("$t $run_time $execs $rate $(stat corpus_count) $crashes $hangs $(stat stability)")
    for kind in crashes hangs; do
        for f in "$out"/default/"$kind"/id:*; do
            [ -e "$f" ] || continue
            failed=1
            echo "$t: $kind: $f (reproduce: $bin/$t < '$f')" >&2
        done
    done
done

printf '\n%-14s %8s %12s %9s %7s %8s %6s %9s\n' target seconds executions execs/s corpus crashes hangs stability
for r in "${results[@]}"; do
    # shellcheck disable=SC2086
    printf '%-14s %8s %12s %9s %7s %8s %6s %9s\n' $r
done
exit "$failed"
