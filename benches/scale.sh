#!/usr/bin/env bash
# Scheduling at scale against nginx on 16 loopback ports: TCP and HTTP checks at 1k, 10k and
# 100k targets (5 s interval), 100k again with two worker threads, and 1M TCP targets (60 s
# interval). Prints one JSON line per run.
#   benches/scale.sh [quick]      quick: 1k and 10k only
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap '[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT

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

cargo build --release --bench scale --quiet 2>/dev/null || cargo bench --bench scale --no-run
bin=$(ls -t target/release/deps/scale-* | grep -v '\.d$' | head -n1)
run() { "$bin" "$@"; }
sizes="1000 10000 100000"
[ "${1:-}" = quick ] && sizes="1000 10000"
for kind in tcp http; do
  for n in $sizes; do run --kind "$kind" --targets "$n" --interval 5s --warmup 8s --duration 20s; done
done
[ "${1:-}" = quick ] && exit 0
# The same 100k runs with two threads running the checks (`forewarn --workers 2`).
for kind in tcp http; do
  run --kind "$kind" --targets 100000 --interval 5s --warmup 8s --duration 20s --workers 2
done
run --kind tcp --targets 1000000 --interval 60s --warmup 65s --duration 60s --concurrency 4096
