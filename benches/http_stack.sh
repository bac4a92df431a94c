#!/usr/bin/env bash
# forewarn's HTTP/1.1 transport against hyper 1's low-level client (benches/http_stack.rs):
# nginx on loopback, one server keeping connections alive and one closing after each response;
# three runs, each measuring every client back to back.
#   benches/http_stack.sh [runs]      (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap '[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT

. benches/nginx.sh
nginx_ensure
cat > "$work/nginx.conf" <<CONF
worker_processes 1; pid $work/nginx.pid; error_log $work/error.log warn; daemon on;
events { worker_connections 65535; multi_accept on; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.0.0.1:18180 backlog=65535; keepalive_timeout 120s; location / { return 200 'ok'; } }
  server { listen 127.0.0.1:18181 backlog=65535; keepalive_timeout 0; location / { return 200 'ok'; } }
}
CONF
nginx_start "$work" 18180

cargo bench -p forewarn --bench http_stack --no-run
bin=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/deps/http_stack-* | grep -v '\.d$' | head -n1)
for run in $(seq "${1:-3}"); do
  echo "# run $run, $(date -u +%FT%TZ)"
  "$bin" --keep-alive http://127.0.0.1:18180/ --close http://127.0.0.1:18181/
done
