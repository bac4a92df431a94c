#!/usr/bin/env bash
# forewarn's HTTP/1.1 transport against hyper 1's low-level client (benches/http_stack.rs):
# nginx on loopback, one server keeping connections alive and one closing after each response;
# three runs, each measuring every client back to back.
#   benches/http_stack.sh [runs]      (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap '[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT

if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "installing nginx (Debian package)…" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
  # apt may start the packaged service; this bench uses its own instance only.
  (service nginx stop || true) >/dev/null 2>&1
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
cat > "$work/nginx.conf" <<CONF
worker_processes 1; pid $work/nginx.pid; error_log $work/error.log warn; daemon on;
events { worker_connections 65535; multi_accept on; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.0.0.1:18180 backlog=65535; keepalive_timeout 120s; location / { return 200 'ok'; } }
  server { listen 127.0.0.1:18181 backlog=65535; keepalive_timeout 0; location / { return 200 'ok'; } }
}
CONF
ulimit -n 200000 2>/dev/null || ulimit -n 65536 || true
"$NGINX" -c "$work/nginx.conf" -p "$work"
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/18180) 2>/dev/null && break; sleep 0.1; done

cargo bench -p forewarn --bench http_stack --no-run
bin=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/deps/http_stack-* | grep -v '\.d$' | head -n1)
for run in $(seq "${1:-3}"); do
  echo "# run $run, $(date -u +%FT%TZ)"
  "$bin" --keep-alive http://127.0.0.1:18180/ --close http://127.0.0.1:18181/
done
