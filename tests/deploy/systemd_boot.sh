#!/usr/bin/env bash
# Boots systemd in a container made from a throwaway copy of this host's
# root with the Debian package installed, and runs systemd_boot_inside.sh
# there: the sandboxed units serve every endpoint through nginx, the
# operations guide's CLI function, key rotation and backup work, and the
# maintainer scripts stop and start the units on upgrade, remove and purge.
#
# Usage: systemd_boot.sh SOURCE_DIR PACKAGE_BUILD_DIR
#
# The copy is an overlay of the host's root with a tmpfs upper layer, as in
# package_install.sh. systemd-nspawn (package systemd-container) boots it
# with a private network that has only loopback, so the services that the
# copy inherits from the host cannot take the host's ports. The inside
# script records its output in the copy and powers the container off, and
# this script prints that output.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

source_dir=$1
build_dir=$2

[[ $(id -u) == 0 ]] || skip "needs root for systemd-nspawn"
require_commands unshare mount chroot dpkg python3
command -v systemd-nspawn >/dev/null ||
  skip "systemd-nspawn not found (apt-get install systemd-container)"
debs=("$build_dir"/packages/srconnect_*.deb)
[[ -f ${debs[0]} ]] ||
  skip "no srconnect_*.deb in $build_dir/packages (deploy_package_build" \
    "builds it)"
deb=${debs[0]}
echo "package: $deb"
make_work_dir
mkdir "$work_dir/copy"
copy=$work_dir/copy

port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')

# The function the operations guide defines for running the CLI, taken
# from the guide itself so that the test runs what operators copy.
sed -n '/^srconnect_admin() {$/,/^}$/p' "$source_dir/docs/operations.md" \
  >"$work_dir/srconnect_admin.sh"
grep -q '^}$' "$work_dir/srconnect_admin.sh" ||
  fail "no srconnect_admin() function found in docs/operations.md"

# Runs inside the copy before the boot: installs the package, writes the
# secrets, the configuration and an nginx site, and enables the test unit.
cat >"$work_dir/prepare.sh" <<EOF
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
dpkg --install /tmp/srconnect.deb >/tmp/dpkg.log 2>&1 ||
  { cat /tmp/dpkg.log >&2; exit 1; }
srconnect generate-key /etc/srconnect/store.key >/dev/null
srconnect generate-secret /etc/srconnect/link-secret >/dev/null
install -m 0600 /dev/null /etc/srconnect/master-secret
head -c 24 /dev/urandom | base64 >/etc/srconnect/master-secret
install -m 0640 -g srconnect /dev/null /etc/srconnect/srconnect.yaml
cat >/etc/srconnect/srconnect.yaml <<'YAML'
smartrecruiters:
  api_base: http://127.0.0.1:9
  web_base: http://127.0.0.1:9
  master_client_id: deploy-test-master
  master_client_secret: {credential: master-secret}
  scopes: [candidates_read]
partner:
  public_base_url: http://127.0.0.1:$port
  link_secret: {credential: link-secret}
store:
  key: {credential: store-key}
consent:
  cookie_secure: false
YAML
rm -f /etc/nginx/sites-enabled/*
cat >/etc/nginx/sites-enabled/srconnect-test <<'NGINX'
server {
    listen 127.0.0.1:$port;
    include /etc/nginx/snippets/srconnect.conf;
}
NGINX
# A container image's policy-rc.d would stop deb-systemd-invoke from
# starting or stopping units, unlike on a host that runs systemd.
rm -f /usr/sbin/policy-rc.d
cp /tmp/srconnect.deb /usr/local/lib/deploy-e2e/srconnect.deb
# Services of the host that the test does not need.
for unit in postgresql.service; do
  ln -sf /dev/null /etc/systemd/system/\$unit
done
: >/etc/machine-id
ln -s /etc/systemd/system/deploy-e2e.service \
  /etc/systemd/system/multi-user.target.wants/deploy-e2e.service
EOF

cat >"$work_dir/deploy-e2e.service" <<EOF
[Unit]
Description=srconnect deployment test inside the container
After=multi-user.target nginx.service

[Service]
Type=oneshot
Environment=SRCONNECT_TEST_PORT=$port
ExecStart=/bin/bash /usr/local/lib/deploy-e2e/inside.sh
StandardOutput=file:/var/tmp/deploy-e2e.log
StandardError=inherit
EOF

if ! unshare --mount --propagation private bash -euo pipefail -c "
  mount -t tmpfs tmpfs '$copy'
  mkdir '$copy/upper' '$copy/work' '$copy/merged'
  mount -t overlay overlay \
    -o lowerdir=/,upperdir='$copy/upper',workdir='$copy/work' '$copy/merged'
  root='$copy/merged'
  mkdir -p \"\$root/usr/local/lib/deploy-e2e\"
  cp '$deb' \"\$root/tmp/srconnect.deb\"
  cp '$work_dir/prepare.sh' \"\$root/tmp/prepare.sh\"
  cp '$(dirname "$0")/systemd_boot_inside.sh' \
    \"\$root/usr/local/lib/deploy-e2e/inside.sh\"
  cp '$work_dir/srconnect_admin.sh' \
    \"\$root/usr/local/lib/deploy-e2e/srconnect_admin.sh\"
  cp '$work_dir/deploy-e2e.service' \"\$root/etc/systemd/system/\"
  mount --rbind /dev \"\$root/dev\"
  mount -t proc proc \"\$root/proc\"
  chroot \"\$root\" bash /tmp/prepare.sh
  umount -R \"\$root/dev\" \"\$root/proc\"
  timeout 600 systemd-nspawn --quiet --keep-unit --register=no \
    --link-journal=no --private-network --console=pipe --boot \
    -D \"\$root\" \
    </dev/null >'$work_dir/boot.log' 2>&1 || echo \"systemd-nspawn: exit \$?\"
  cp \"\$root/var/tmp/deploy-e2e.log\" '$work_dir/e2e.log' 2>/dev/null || true
  cp \"\$root/var/tmp/deploy-e2e.status\" '$work_dir/e2e.status' \
    2>/dev/null || true
" >"$work_dir/host.log" 2>&1; then
  cat "$work_dir/host.log" >&2
  fail "preparing or booting the container failed (output above)"
fi
cat "$work_dir/host.log"

if [[ ! -f $work_dir/e2e.log ]]; then
  tail -n 40 "$work_dir/boot.log" >&2
  fail "the test unit inside the container left no output (boot log above)"
fi
cat "$work_dir/e2e.log"
status=$(cat "$work_dir/e2e.status" 2>/dev/null || echo "missing")
if [[ $status != 0 ]]; then
  tail -n 40 "$work_dir/boot.log" >&2
  fail "the checks inside the container failed (status $status)"
fi
pass "every check inside the booted container passed"
