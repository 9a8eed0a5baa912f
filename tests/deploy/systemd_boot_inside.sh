#!/usr/bin/env bash
# The checks that systemd_boot.sh runs inside the booted container, as a
# oneshot unit after multi-user.target. Writes its exit status to
# /var/tmp/deploy-e2e.status and powers the container off.
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

base_url=http://127.0.0.1:$SRCONNECT_TEST_PORT
sockets="srconnect-start srconnect-callback srconnect-status
  srconnect-refresh-api"
services="srconnect-start.service srconnect-callback.service
  srconnect-status.service srconnect-refresh-api.service
  srconnect-refresh.service"

finish() {
  local status=$?
  echo "$status" >/var/tmp/deploy-e2e.status
  systemctl poweroff --no-block
}
trap finish EXIT

pass() {
  echo "ok: $*"
}

fail() {
  echo "FAIL: $*"
  exit 1
}

# shellcheck source=/dev/null
source /usr/local/lib/deploy-e2e/srconnect_admin.sh

# Requests URL and checks the HTTP status.
expect_status() {
  local expected=$1 description=$2 url=$3 status
  status=$(curl -s -o /tmp/body -D /tmp/headers -w '%{http_code}' "$url") ||
    true
  if [[ $status != "$expected" ]]; then
    journalctl --no-pager -n 30 -u 'srconnect-*' || true
    fail "$description: expected HTTP $expected, got \"$status\" from $url"
  fi
  pass "$description: HTTP $status"
}

# Prints the value of PROPERTY of UNIT.
property() {
  systemctl show --value -p "$2" "$1"
}

echo "systemd: $(systemctl is-system-running || true)"
for socket in $sockets; do
  [[ $(property "$socket.socket" ActiveState) == active ]] ||
    fail "$socket.socket is not active: $(systemctl status "$socket.socket")"
done
pass "the four sockets are listening after boot"
[[ $(property srconnect-refresh.timer ActiveState) == active ]] ||
  fail "srconnect-refresh.timer is not active after boot"
pass "srconnect-refresh.timer is active after boot"
[[ $(stat -c '%a %U %G' /run/srconnect/start.sock) == "660 root www-data" ]] ||
  fail "start.sock is $(stat -c '%a %U %G' /run/srconnect/start.sock)"
pass "start.sock is 660 root www-data"

# The documented CLI function creates the database as srconnect.
srconnect_admin init || fail "srconnect_admin init failed"
[[ $(stat -c '%U %a' /var/lib/srconnect/srconnect.db) == "srconnect 600" ]] ||
  fail "srconnect.db is $(stat -c '%U %a' /var/lib/srconnect/srconnect.db)"
pass "srconnect_admin init created srconnect.db, owned by srconnect, 0600"

expect_status 403 "start without a signed link" \
  "$base_url/smartrecruiters/start"
expect_status 403 "status without a signed link" \
  "$base_url/smartrecruiters/status"
expect_status 400 "consent GET without companyId" \
  "$base_url/smartrecruiters/consent"
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '' \
  "$base_url/smartrecruiters/refresh")
[[ $status == 400 ]] ||
  fail "refresh POST without company: expected HTTP 400, got $status"
pass "refresh POST from loopback without company: HTTP 400"

start_link=$(srconnect_admin sign-link deploy-test-account)
expect_status 302 "start with a signed link" "$start_link"
status_link=$(srconnect_admin sign-link deploy-test-account --page status)
expect_status 200 "status with a signed link" "$status_link"

# The sandbox of the running services, read from /proc.
host_network=$(readlink /proc/1/ns/net)
for unit in srconnect-start srconnect-status srconnect-callback \
    srconnect-refresh-api; do
  pid=$(property "$unit.service" MainPID)
  [[ $pid != 0 ]] || fail "$unit.service is not running after its request"
  user=$(stat -c %U "/proc/$pid")
  [[ $user == srconnect ]] || fail "$unit.service runs as $user"
  grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$pid/status" ||
    fail "$unit.service runs without NoNewPrivs"
  grep -q '^Seccomp:[[:space:]]*2' "/proc/$pid/status" ||
    fail "$unit.service runs without a seccomp filter"
  grep -q '^CapEff:[[:space:]]*0000000000000000' "/proc/$pid/status" ||
    fail "$unit.service has effective capabilities"
  network=$(readlink "/proc/$pid/ns/net")
  case $unit in
    srconnect-start | srconnect-status)
      [[ $network != "$host_network" ]] ||
        fail "$unit.service shares the host's network namespace"
      ;;
    *)
      [[ $network == "$host_network" ]] ||
        fail "$unit.service has a private network namespace"
      ;;
  esac
  pass "$unit.service: user srconnect, NoNewPrivs, seccomp, no" \
    "capabilities, network namespace as configured"
done

# One timer run. With no connection it renews nothing and succeeds.
systemctl start srconnect-refresh.service ||
  fail "srconnect-refresh.service failed: $(journalctl --no-pager -n 20 \
    -u srconnect-refresh.service)"
journalctl --no-pager -u srconnect-refresh.service |
  grep -q 'refresh run finished' ||
  fail "srconnect-refresh.service logged no \"refresh run finished\""
pass "srconnect-refresh.service ran and logged \"refresh run finished\""

# Key rotation, step by step as in the operations guide.
srconnect generate-key /etc/srconnect/store.key.new >/dev/null
cp -p /etc/srconnect/store.key /etc/srconnect/store.key.previous
mkdir -p /etc/systemd/system/srconnect-.service.d
cat >/etc/systemd/system/srconnect-.service.d/previous-key.conf <<'EOF'
[Service]
LoadCredential=store-key-previous:/etc/srconnect/store.key.previous
EOF
systemctl daemon-reload
previous_keys='  previous_keys:\n    - {credential: store-key-previous}'
sed -i "s/^  key: {credential: store-key}\$/&\\n$previous_keys/" \
  /etc/srconnect/srconnect.yaml
grep -q 'store-key-previous' /etc/srconnect/srconnect.yaml ||
  fail "could not add previous_keys to srconnect.yaml"
mv /etc/srconnect/store.key.new /etc/srconnect/store.key
# shellcheck disable=SC2086
systemctl stop $services
rotation=$(srconnect_admin rotate-key \
  /run/credentials/srconnectctl.service/store-key) ||
  fail "srconnect_admin rotate-key failed: $rotation"
echo "$rotation"
grep -q '^re-sealed [0-9]* values with key' <<<"$rotation" ||
  fail "rotate-key did not report the re-sealed values"
pass "rotate-key re-sealed the store with the new key"
expect_status 200 "status after the rotation" "$status_link"
start_link=$(srconnect_admin sign-link deploy-test-account)
expect_status 302 "start after the rotation" "$start_link"

# Online backup while the services run.
sqlite3 /var/lib/srconnect/srconnect.db ".backup '/var/tmp/backup.db'"
[[ $(sqlite3 /var/tmp/backup.db 'PRAGMA integrity_check') == ok ]] ||
  fail "the backup fails PRAGMA integrity_check"
for file in /var/lib/srconnect/srconnect.db*; do
  [[ $(stat -c %U "$file") == srconnect ]] ||
    fail "$file is owned by $(stat -c %U "$file") after the backup"
done
pass "sqlite3 .backup as root made a sound copy and left files to srconnect"
expect_status 302 "start after the backup" "$start_link"

# The maintainer scripts under a running systemd: a reinstall stops the
# services so that the next request starts the new programs, remove stops
# the sockets and the timer, and purge deletes the database.
deb=/usr/local/lib/deploy-e2e/srconnect.deb
dpkg --install "$deb" >/tmp/dpkg.log 2>&1 ||
  fail "dpkg --install (upgrade) failed: $(cat /tmp/dpkg.log)"
[[ $(property srconnect-start.service ActiveState) != active ]] ||
  fail "the upgrade left srconnect-start.service running the old program"
[[ $(property srconnect-start.socket ActiveState) == active ]] ||
  fail "srconnect-start.socket is not active after the upgrade"
pass "the upgrade stopped the services and left the sockets listening"
expect_status 302 "start after the upgrade" "$start_link"

dpkg --remove srconnect >/tmp/dpkg.log 2>&1 ||
  fail "dpkg --remove failed: $(cat /tmp/dpkg.log)"
for unit in $sockets; do
  [[ $(property "$unit.socket" ActiveState) != active ]] ||
    fail "$unit.socket is still active after dpkg --remove"
done
[[ $(property srconnect-refresh.timer ActiveState) != active ]] ||
  fail "srconnect-refresh.timer is still active after dpkg --remove"
pass "dpkg --remove stopped the sockets and the timer"
expect_status 502 "start after dpkg --remove (nginx finds no listener)" \
  "$start_link"

dpkg --purge srconnect >/tmp/dpkg.log 2>&1 ||
  fail "dpkg --purge failed: $(cat /tmp/dpkg.log)"
[[ ! -e /var/lib/srconnect ]] || fail "/var/lib/srconnect survived the purge"
pass "dpkg --purge deleted /var/lib/srconnect"
