#!/usr/bin/env bash
# forewarn against its peers on the same targets and rates: a bare Rust std floor, monit,
# blackbox_exporter and the Nagios plugins, all checking one nginx of this script's own on
# loopback ports. Prints one markdown table (CPU per check, checks per CPU-second, delivered
# against due, RSS) and writes the raw measurements as JSON lines. See benches/README.md,
# "Against monit, blackbox_exporter and the Nagios plugins".
#
#   benches/peers.sh [--quick] [--runs N] [--warmup S] [--window S] [--with-100k]
#                    [--only WORKLOAD,...] [--port-base P] [--json FILE]
#
#   --quick        one run per cell, warm-up 3 s, window 10 s (default: 3 runs, 5 s, 20 s)
#   --with-100k    also TCP 100,000 targets @ 5 s (floor, monit, forewarn)
#   --only         workloads by key: tcp2k, tcp10k, http2k, ka2k, ka10k, tcp100k
#   --port-base P  nginx listens on P (stub_status), P+1..P+16 (closes after each response) and
#                  P+21..P+36 (keep-alive); blackbox_exporter on P-1, forewarn's page on P-2
#   --json FILE    where the JSON lines go (default: peers-<UTC time>.jsonl in the current directory)
#   --forewarn BIN, --floor BIN
#                  run these executables instead of building them (another build of forewarn,
#                  or to skip the build)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

runs=3 warmup=5 window=20 with100k=0 only="" base=19100 json="" forewarn_bin="" floor_bin=""
nagios_rate=100 nagios_window=10 blackbox_rate=500 blackbox_paced_concurrency=32 blackbox_concurrency=8
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) runs=1 warmup=3 window=10 nagios_window=5 ;;
    --runs) runs=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --window) window=$2; shift ;;
    --with-100k) with100k=1 ;;
    --only) only=$2; shift ;;
    --port-base) base=$2; shift ;;
    --json) json=$2; shift ;;
    --forewarn) forewarn_bin=$(realpath "$2"); shift ;;
    --floor) floor_bin=$(realpath "$2"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "peers.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ "$nagios_window" -gt "$window" ] 2>/dev/null && nagios_window=$window
json=${json:-$root/peers-$(date -u +%Y%m%dT%H%M%SZ).jsonl}
case "$json" in /*) ;; *) json=$root/$json ;; esac

stub_port=$base
close_lo=$((base + 1)) close_hi=$((base + 16))
keep_lo=$((base + 21)) keep_hi=$((base + 36))
blackbox_port=$((base - 1)) status_port=$((base - 2))
plugins=/usr/lib/nagios/plugins

# ------------------------------------------------------------------ tools (Debian packages)
need_install=()
command -v monit >/dev/null || need_install+=(monit)
command -v prometheus-blackbox-exporter >/dev/null || need_install+=(prometheus-blackbox-exporter)
[ -x $plugins/check_tcp ] && [ -x $plugins/check_http ] || need_install+=(monitoring-plugins-basic)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need_install+=(nginx)
if [ ${#need_install[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "peers.sh: missing ${need_install[*]}; install them (Debian: apt-get install ${need_install[*]}) or run as root on Debian" >&2
    exit 1
  fi
  echo "installing ${need_install[*]} (Debian packages)…" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_install[@]}" >/dev/null || {
    echo "peers.sh: apt-get could not install ${need_install[*]}" >&2; exit 1; }
  # apt may start the packaged services; this bench uses its own instances only.
  for svc in nginx monit prometheus-blackbox-exporter; do
    (service "$svc" stop || systemctl stop "$svc") >/dev/null 2>&1 || true
  done
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
for t in monit prometheus-blackbox-exporter python3 cargo; do
  command -v $t >/dev/null || { echo "peers.sh: $t not found" >&2; exit 1; }
done

# ------------------------------------------------------------------ work dir, cleanup
work=$(mktemp -d -t forewarn-peers.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 200000 2>/dev/null || ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in $stub_port $(seq $close_lo $close_hi) $(seq $keep_lo $keep_hi) $blackbox_port $status_port; do
  if listening "$p"; then
    echo "peers.sh: port $p is in use; choose other ports with --port-base" >&2; exit 1
  fi
done

# ------------------------------------------------------------------ nginx, the target
{
  echo "worker_processes 1; worker_rlimit_nofile $(ulimit -n); pid $work/nginx.pid; error_log $work/nginx-error.log error; daemon on;"
  echo "events { worker_connections 65535; multi_accept on; }"
  echo "http { access_log off;"
  echo "  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;"
  echo "  server {  # closes after each response"
  for p in $(seq $close_lo $close_hi); do echo "    listen 127.0.0.1:$p backlog=65535;"; done
  echo "    keepalive_timeout 0; location / { return 200 'ok'; } }"
  echo "  server {  # keeps connections alive"
  for p in $(seq $keep_lo $keep_hi); do echo "    listen 127.0.0.1:$p backlog=65535;"; done
  echo "    keepalive_timeout 300s; keepalive_requests 100000000; location / { return 200 'ok'; } }"
  echo "  server { listen 127.0.0.1:$stub_port; location = /stub { stub_status; } } }"
} > "$work/nginx.conf"
"$NGINX" -c "$work/nginx.conf" -p "$work" -e "$work/nginx-error.log"
for _ in $(seq 50); do listening $stub_port && break; sleep 0.1; done
stub=http://127.0.0.1:$stub_port/stub

# ------------------------------------------------------------------ builds
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
# The executables cargo names (not target/release/forewarn, which a build of another checkout
# sharing the target directory may replace), copied so that nothing swaps them during the run.
# The executable cargo reports for target $1 (a bench build also builds the forewarn binary,
# and in no fixed order).
executable() { python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$1" | tail -n1; }
if [ -z "$forewarn_bin" ]; then
  echo "building forewarn (release)…" >&2
  forewarn_bin=$(cargo build --release -p forewarn --bin forewarn --message-format=json | executable forewarn)
fi
cp "$forewarn_bin" "$work/forewarn"
if [ -z "$floor_bin" ]; then
  echo "building the floor (benches/floor.rs)…" >&2
  floor_bin=$(cargo bench -p forewarn --bench floor --no-run --message-format=json | executable floor)
fi
cp "$floor_bin" "$work/floor"
forewarn=$work/forewarn floor=$work/floor
helper="python3 $root/benches/peers.py"

cat > "$work/blackbox.yml" <<'EOF'
modules:
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp: { preferred_ip_protocol: ip4 }
  http_2xx:
    prober: http
    timeout: 5s
    http: { preferred_ip_protocol: ip4 }
EOF

# ------------------------------------------------------------------ configs per workload
# monitrc: one `check host` per target, the ports spread evenly over the 16.
monitrc() { # kind targets interval ports_lo
  local kind=$1 n=$2 interval=$3 lo=$4 rc=$work/monitrc-$1-$2
  {
    echo "set daemon $interval"
    echo "set logfile $work/monit.log"
    echo "set pidfile $work/monit.pid"
    echo "set idfile $work/monit.id"
    echo "set statefile $work/monit.state"
    for ((i = 0; i < n; i++)); do
      p=$((lo + i % 16))
      echo "check host t$i with address 127.0.0.1"
      if [ "$kind" = tcp ]; then
        echo "  if failed port $p type tcp then alert"
      else
        echo "  if failed port $p protocol http request \"/\" then alert"
      fi
    done
  } > "$rc"
  chmod 600 "$rc"
  echo "$rc"
}

# forewarn: the same targets as [[checks]], history in SQLite in the work dir, alerts to a
# local outbox file, its status page on a free loopback port.
fwconfig() { # kind targets interval ports_lo
  local kind=$1 n=$2 interval=$3 lo=$4 cfg=$work/forewarn-$1-$2.toml
  python3 - "$kind" "$n" "$interval" "$lo" "$work" "$status_port" > "$cfg" <<'EOF'
import sys
kind, n, interval, lo, work, status_port = sys.argv[1:]
out = [
    "[monitor]", f'database = "{work}/forewarn.db"', "",
    "[status]", f'listen = "127.0.0.1:{status_port}"', "",
    "[sinks.outbox]", 'type = "file"', f'path = "{work}/forewarn-outbox.jsonl"', "",
    "[policies.default]", 'type = "notify"', 'sinks = ["outbox"]', "",
]
for i in range(int(n)):
    port = int(lo) + i % 16
    out.append("[[checks]]")
    out.append(f'name = "t{i}"')
    if kind == "tcp":
        out += ['type = "tcp"', f'target = "127.0.0.1:{port}"']
    else:
        out += ['type = "http"', f'url = "http://127.0.0.1:{port}/"']
    out += [f'interval = "{interval}s"', ""]
print("\n".join(out))
EOF
  echo "$cfg"
}

# ------------------------------------------------------------------ one cell
# cell WORKLOAD TOOL TARGETS INTERVAL COUNTER DUE_RATE PER_TARGET RUN -- COMMAND...
# Runs COMMAND (the process measured) and, when the array `driver` is set, that command next to
# it (not measured: it drives the tool); measures after the warm-up; stops both.
driver=()
cell() {
  local workload=$1 tool=$2 n=$3 interval=$4 counter=$5 due=$6 per_target=$7 run=$8
  shift 9
  local log=$work/cell.log cw=$window children=() dpid=""
  rm -f "$work/forewarn.db"* "$work/forewarn-outbox.jsonl" "$work/monit.state" "$work/nagios-cpu"
  case "$tool" in nagios*) cw=$nagios_window; children=(--children-file "$work/nagios-cpu") ;; esac
  "$@" > "$log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  if [ ${#driver[@]} -gt 0 ]; then
    sleep 0.5
    "${driver[@]}" >> "$log" 2>&1 &
    dpid=$!
    pids+=("$dpid")
  fi
  local out
  if out=$($helper measure --pid "$pid" --warmup "$warmup" --window "$cw" --stub "$stub" \
      --counter "$counter" --due-rate "$due" "${children[@]}" \
      --meta "workload=$workload" "tool=$tool" "targets=$n" "interval_s=$interval" \
      "per_target=$per_target" "run=$run"); then
    echo "$out" >> "$json"
    python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("  %-30s %-18s %8s µs/check %8d delivered, due %s, %.3f cores, RSS %d KiB" % (r["workload"], r["tool"], r.get("us_per_check", "—"), r["delivered"], r["due"], r["cores"], r["rss_kib"] or 0), file=sys.stderr)' "$out"
  else
    echo "  $workload / $tool: not measured; its output:" >&2; tail -n 20 "$log" >&2
  fi
  for p in $dpid $pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  pids=()
  driver=()
  if grep -qi "fail\|error\|panic" "$log"; then
    echo "  ($tool said:)" >&2; grep -i "fail\|error\|panic" "$log" | sort | uniq -c | tail -n 3 >&2
  fi
}

# workload KEY LABEL KIND TARGETS INTERVAL RUN
workload() {
  local key=$1 label=$2 kind=$3 n=$4 interval=$5 run=$6
  [ -n "$only" ] && [[ ",$only," != *",$key,"* ]] && return 0
  local lo=$close_lo hi=$close_hi counter=accepts mode=tcp fwkind=tcp
  case "$kind" in
    http) counter=requests mode=http fwkind=http ;;
    keepalive) lo=$keep_lo hi=$keep_hi counter=requests mode=http-keepalive fwkind=http ;;
  esac
  local rate=$((n / interval))
  local cfg; cfg=$(fwconfig $fwkind "$n" "$interval" "$lo")
  cell "$label" floor "$n" "$interval" $counter $rate no "$run" -- \
    "$floor" --mode $mode --targets "$n" --interval "${interval}s" --ports "$lo-$hi"
  if [ "$kind" = tcp ]; then
    cell "$label" "floor (reset close)" "$n" "$interval" $counter $rate no "$run" -- \
      "$floor" --mode tcp-reset --targets "$n" --interval "${interval}s" --ports "$lo-$hi"
  fi
  # monit has no keep-alive: the keep-alive workloads are compared with its HTTP close cost.
  if [ "$kind" != keepalive ]; then
    local rc; rc=$(monitrc $fwkind "$n" "$interval" "$lo")
    cell "$label" monit "$n" "$interval" $counter $rate yes "$run" -- monit -I -c "$rc"
  fi
  # blackbox_exporter and the plugins keep no per-target state and are driven at their own
  # rate, so the number of targets changes nothing for them: measured once per check kind.
  if [ "$n" = 2000 ] && [ "$kind" != keepalive ]; then
    local module=tcp_connect plugin=$plugins/check_tcp extra=()
    [ "$kind" = http ] && module=http_2xx plugin=$plugins/check_http extra=(-u /)
    local bb=(prometheus-blackbox-exporter --config.file="$work/blackbox.yml"
      --web.listen-address=127.0.0.1:$blackbox_port --log.level=error)
    driver=($helper blackbox --exporter 127.0.0.1:$blackbox_port --module $module --ports "$lo-$hi"
      --rate $blackbox_rate --concurrency $blackbox_paced_concurrency)
    cell "$label" "blackbox ${blackbox_rate}/s" "$n" "$interval" $counter $blackbox_rate no "$run" -- "${bb[@]}"
    driver=($helper blackbox --exporter 127.0.0.1:$blackbox_port --module $module --ports "$lo-$hi"
      --rate 0 --concurrency $blackbox_concurrency)
    cell "$label" "blackbox saturated" "$n" "$interval" $counter 0 no "$run" -- "${bb[@]}"
    cell "$label" "nagios ${nagios_rate}/s" "$n" "$interval" $counter $nagios_rate no "$run" -- \
      $helper nagios --plugin "$plugin" --ports "$lo-$hi" --rate $nagios_rate --out "$work/nagios-cpu" -- "${extra[@]}"
  fi
  cell "$label" forewarn "$n" "$interval" $counter $rate yes "$run" -- \
    "$forewarn" run --quiet -c "$cfg"
}

echo "results → $json" >&2
for ((run = 1; run <= runs; run++)); do
  echo "run $run of $runs ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  workload tcp2k "TCP 2,000 @ 1 s" tcp 2000 1 $run
  workload tcp10k "TCP 10,000 @ 1 s" tcp 10000 1 $run
  workload http2k "HTTP closes 2,000 @ 1 s" http 2000 1 $run
  workload ka2k "HTTP keep-alive 2,000 @ 1 s" keepalive 2000 1 $run
  workload ka10k "HTTP keep-alive 10,000 @ 1 s" keepalive 10000 1 $run
  [ $with100k = 1 ] && workload tcp100k "TCP 100,000 @ 5 s" tcp 100000 5 $run
done

echo
echo "forewarn $("$forewarn" --version 2>/dev/null | awk '{print $2}'), monit $(monit -V | awk 'NR==1{print $NF}'), $(prometheus-blackbox-exporter --version 2>&1 | awk 'NR==1{print $1, $3}' | tr -d ,), monitoring-plugins $($plugins/check_tcp -V | sed 's/.*monitoring-plugins \([^)]*\).*/\1/'), nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
$helper table "$json"
