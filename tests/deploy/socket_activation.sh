#!/usr/bin/env bash
# Starts each FastCGI binary the way its .socket and .service units do and
# checks the HTTP status it returns on its endpoint through a real nginx
# and the installed nginx snippet.
#
# Usage: socket_activation.sh SOURCE_DIR START CALLBACK STATUS REFRESH CLI
#
# systemd-socket-activate binds each socket and passes it as fd 3
# (LISTEN_FDS=1), while StandardInput=socket in the units puts it on fd 0,
# where libfcgi accepts. The binaries accept both layouts, so this test
# also covers the fd 3 one.
# When the test runs as root, start and status run in a new network
# namespace with no interfaces, as PrivateNetwork=yes in their units does.
# The snippet's socket paths under /run/srconnect are rewritten to a
# temporary directory; everything else in it is used as installed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if (($# != 6)); then
  skip "the handler and CLI targets are not all defined in this build"
fi
source_dir=$1
declare -A binaries=([start]=$2 [callback]=$3 [status]=$4 [refresh]=$5)
cli=$6

require_commands nginx systemd-socket-activate curl python3
make_work_dir
mkdir -p "$work_dir/secrets" "$work_dir/run" "$work_dir/logs" \
  "$work_dir/nginx/conf" "$work_dir/nginx/logs"

# Start-up: a free loopback port, then the configuration and secrets.
port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
base_url=http://127.0.0.1:$port

(
  umask 077
  head -c 32 /dev/urandom >"$work_dir/secrets/store.key"
  head -c 32 /dev/urandom | base64 >"$work_dir/secrets/link-secret"
  head -c 32 /dev/urandom | base64 >"$work_dir/secrets/master-secret"
)
config=$work_dir/srconnect.yaml
# Port 9 (discard) on loopback: none of the requests below may reach
# SmartRecruiters.
cat >"$config" <<EOF
smartrecruiters:
  api_base: http://127.0.0.1:9
  web_base: http://127.0.0.1:9
  master_client_id: deploy-test-master
  master_client_secret: {file: $work_dir/secrets/master-secret}
  scopes: [candidates_read]
partner:
  public_base_url: $base_url
  link_secret: {file: $work_dir/secrets/link-secret}
store:
  database: $work_dir/srconnect.db
  key: {file: $work_dir/secrets/store.key}
consent:
  cookie_secure: false
EOF
export SRCONNECT_CONFIG=$config

if ! "$cli" init >"$work_dir/logs/init.log" 2>&1; then
  cat "$work_dir/logs/init.log" >&2
  fail "srconnect init with $config failed, output above"
fi
pass "srconnect init created the database"

# Isolates the network of start and status when the test runs as root.
private_network=()
if [[ $(id -u) == 0 ]] && unshare --net true 2>/dev/null; then
  private_network=(unshare --net)
fi

pids=()
stop_processes() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
cleanup_hooks+=(stop_processes)

# Binds SOCKET_NAME.sock and runs the binary NAME on it at the first
# connection. systemd-socket-activate passes the child only the variables
# given with -E, as Environment= does in the units, and the listener as
# fd 3 with LISTEN_PID and LISTEN_FDS, which RunFastCgi moves to fd 0.
activate() {
  local name=$1 socket_name=$2
  local -a prefix=()
  if [[ $name == start || $name == status ]]; then
    prefix=("${private_network[@]}")
  fi
  systemd-socket-activate -l "$work_dir/run/$socket_name.sock" \
    -E SRCONNECT_CONFIG="$config" "${prefix[@]}" \
    "${binaries[$name]}" \
    >"$work_dir/logs/$name.log" 2>&1 &
  pids+=($!)
}
activate start start
activate callback callback
activate status status
activate refresh refresh

# nginx in the foreground of one process, with the snippet included in the
# server block and its socket paths pointed at the temporary directory.
sed "s|unix:/run/srconnect/|unix:$work_dir/run/|" \
  "$source_dir/nginx/srconnect.conf" >"$work_dir/nginx/conf/srconnect.conf"
cp /etc/nginx/fastcgi_params "$work_dir/nginx/conf/fastcgi_params"
cat >"$work_dir/nginx/conf/nginx.conf" <<EOF
daemon off;
master_process off;
pid $work_dir/nginx/nginx.pid;
error_log $work_dir/nginx/logs/error.log info;
events {
    worker_connections 64;
}
http {
    access_log $work_dir/nginx/logs/access.log;
    server {
        listen 127.0.0.1:$port;
        include srconnect.conf;
    }
}
EOF
nginx -p "$work_dir/nginx" -c conf/nginx.conf \
  -e "$work_dir/nginx/logs/error.log" \
  >"$work_dir/logs/nginx.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  curl -s -o /dev/null "$base_url/" && break
  sleep 0.1
done
curl -s -o /dev/null "$base_url/" ||
  fail "nginx did not start on $base_url; see $work_dir/nginx/logs/error.log"

show_logs() {
  local log
  for log in "$work_dir"/logs/*.log "$work_dir/nginx/logs/error.log"; do
    echo "--- $log" >&2
    tail -n 20 "$log" >&2 || true
  done
}

# Requests URL (with extra curl arguments) and checks the status code.
expect_status() {
  local expected=$1 description=$2 url=$3
  shift 3
  local status
  status=$(curl -s -o "$work_dir/body" -D "$work_dir/headers" \
    -w '%{http_code}' "$@" "$url") || true
  if [[ $status != "$expected" ]]; then
    show_logs
    fail "$description: expected HTTP $expected, got \"$status\" from $url"
  fi
  pass "$description: HTTP $status"
}

expect_status 403 "start without a signed link" \
  "$base_url/smartrecruiters/start"
expect_status 403 "status without a signed link" \
  "$base_url/smartrecruiters/status"
expect_status 400 "consent GET without companyId" \
  "$base_url/smartrecruiters/consent"
expect_status 400 "refresh POST from loopback without company" \
  "$base_url/smartrecruiters/refresh" -X POST --data ''

# A signed link reaches the store through the socket: start records a
# pending consent and redirects to the Partner Apps page.
start_link=$("$cli" sign-link deploy-test-account)
expect_status 302 "start with a signed link" "$start_link"
grep -qi '^location: http://127.0.0.1:9/partner-apps' "$work_dir/headers" ||
  fail "start redirect does not point to the Partner Apps page:" \
    "$(grep -i '^location:' "$work_dir/headers")"
pass "start redirects to the Partner Apps page"
grep -qi '^set-cookie: ' "$work_dir/headers" ||
  fail "start with a signed link set no state cookie"
pass "start sets the state cookie"

status_link=$("$cli" sign-link deploy-test-account --page status)
expect_status 200 "status with a signed link" "$status_link"

if ((${#private_network[@]} > 0)); then
  pass "start and status served from a private network namespace"
else
  echo "note: not root or unshare unavailable, so start and status ran" \
    "in the host's network namespace"
fi
