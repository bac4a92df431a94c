#!/usr/bin/env bash
# Memory of `forewarn run` through the command line with a TOML config: N TCP or HTTP checks
# against nginx on 16 loopback ports at a 5 s interval. For each binary and kind it prints the
# resident memory (VmRSS) once the monitor started and after the warm-up, RSS per target after
# the warm-up, the peak (VmHWM, reached while loading) and peak / RSS after the warm-up.
#
#   benches/cli_memory.sh [N] [KINDS] [BINARY...]
#     N        checks per config (default 100000)
#     KINDS    "tcp http" (default), "tcp" or "http"
#     BINARY   forewarn binaries to compare, run one after the other on the same configs
#              (default: the release build, built first)
#   WARMUP=SECONDS   wait after the monitor started before reading (default 15: three intervals)
#   AT="S1 S2 ..."   read at each of these seconds after the start instead (one line each):
#                    whether memory keeps growing as the history's hour fills, e.g. AT="15 120 600"
#   REPEAT=K         runs of each binary and kind, interleaved (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
kinds=${2:-"tcp http"}
shift $(( $# > 2 ? 2 : $# ))
warmup=${WARMUP:-15}
repeat=${REPEAT:-1}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
  cargo build --release -p forewarn --quiet
  bins=("${CARGO_TARGET_DIR:-target}/release/forewarn")
fi

. benches/nginx.sh
nginx_ensure
{
  echo "worker_processes 1; pid $work/nginx.pid; error_log $work/error.log warn; daemon on;"
  echo "events { worker_connections 65535; multi_accept on; }"
  echo "http { access_log off; keepalive_requests 1000000; keepalive_timeout 120s;"
  echo "  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;"
  echo "  server {"
  for p in $(seq 18080 18095); do echo "    listen 127.0.0.1:$p backlog=65535;"; done
  echo "    location / { return 200 'ok'; } } }"
} > "$work/nginx.conf"
nginx_start "$work" 18080

# One config per kind, as a user would write it: a [[checks]] table per target.
for kind in $kinds; do
  awk -v n="$n" -v kind="$kind" -v db="$work/history.db" 'BEGIN {
    print "[monitor]"; print "database = \"" db "\""; print ""
    print "[status]"; print "listen = \"127.0.0.1:18199\""; print ""
    for (i = 0; i < n; i++) {
      port = 18080 + i % 16
      print "[[checks]]"
      printf "name = \"%s-%06d\"\n", kind, i
      print "type = \"" kind "\""
      if (kind == "tcp") print "target = \"127.0.0.1:" port "\""
      else print "url = \"http://127.0.0.1:" port "/t" i "\""
      print "interval = \"5s\""
      print ""
    }
  }' > "$work/$kind.toml"
done

field() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/status"; }
at=${AT:-$warmup}
printf '%-5s %8s  %-32s %12s %6s %12s %12s %12s %11s\n' kind targets binary "RSS started" after "RSS" "RSS/target" "peak (HWM)" "peak/RSS"
for r in $(seq "$repeat"); do
  for kind in $kinds; do
    for bin in "${bins[@]}"; do
      rm -f "$work"/history.db*
      cd "$work"
      "$bin" run --quiet -c "$work/$kind.toml" >"$work/out" 2>"$work/err" &
      pid=$!
      pids+=("$pid")
      cd - >/dev/null
      # Started once the banner is printed (the checks are loaded and scheduled).
      for _ in $(seq 600); do grep -q monitoring "$work/out" 2>/dev/null && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      if ! kill -0 "$pid" 2>/dev/null; then echo "$bin did not start:" >&2; cat "$work/err" >&2; exit 1; fi
      started=$(field VmRSS "$pid")
      t0=$(date +%s)
      for t in $at; do
        sleep $(( t0 + t - $(date +%s) > 0 ? t0 + t - $(date +%s) : 0 ))
        rss=$(field VmRSS "$pid")
        hwm=$(field VmHWM "$pid")
        awk -v k="$kind" -v n="$n" -v b="$bin" -v s="$started" -v t="$t" -v rss="$rss" -v hwm="$hwm" 'BEGIN {
          printf "%-5s %8d  %-32s %8.1f MiB %5ds %8.1f MiB %8.2f KiB %8.1f MiB %11.2f\n", k, n, b, s / 1024, t, rss / 1024, rss / n, hwm / 1024, hwm / rss
        }'
      done
      kill -TERM "$pid"
      wait "$pid" 2>/dev/null || true
    done
  done
done
