# The target server of the benches (sourced by scale.sh, cli_memory.sh and http_stack.sh): nginx
# from Debian, one instance of the bench's own per run.

# Installs nginx when missing (as root, with apt-get; a packaged service apt starts is stopped:
# the benches run only their own instance) and sets NGINX to its executable.
nginx_ensure() {
  if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    echo "installing nginx (Debian package)…" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
    (service nginx stop || pkill -x nginx || true) >/dev/null 2>&1
  fi
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
}

# nginx_start WORK PORT: starts nginx with WORK/nginx.conf (prefix WORK), the open-files limit
# raised as far as allowed, and waits until PORT on loopback accepts.
nginx_start() {
  local work=$1 port=$2
  ulimit -n 200000 2>/dev/null || ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
  "$NGINX" -c "$work/nginx.conf" -p "$work"
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0; sleep 0.1; done
  echo "nginx did not start listening on 127.0.0.1:$port (see $work/error.log)" >&2
  return 1
}
