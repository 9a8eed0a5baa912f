#!/usr/bin/env bash
# Installs, reinstalls, removes and purges the Debian package with dpkg in
# a throwaway copy of this host's root, and checks what the maintainer
# scripts leave behind at each step.
#
# Usage: package_install.sh PACKAGE_BUILD_DIR
#
# The copy is an overlay file system whose lower layer is the host's root
# (read-only) and whose upper layer is a tmpfs, mounted in a private mount
# namespace and entered with chroot, so dpkg's database, /etc and /var
# change only in the copy. The package's dependencies are those installed
# on the host. systemd is not running there, so the first installation
# takes the scripts' path for a chroot or an image build. The reinstall
# then creates /run/systemd/system, so the scripts take the path for a
# running systemd, where systemctl cannot connect (and a policy-rc.d, if
# the host has one, may stop deb-systemd-invoke). That checks that such
# failures do not fail the installation, not that the units start.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

build_dir=$1

[[ $(id -u) == 0 ]] || skip "needs root for a mount namespace and chroot"
require_commands unshare mount chroot dpkg
debs=("$build_dir"/packages/srconnect_*.deb)
[[ -f ${debs[0]} ]] ||
  skip "no srconnect_*.deb in $build_dir/packages (deploy_package_build" \
    "builds it)"
deb=${debs[0]}
echo "package: $deb"
make_work_dir

mkdir "$work_dir/probe" "$work_dir/copy"
if ! unshare --mount --propagation private sh -c "
    mount -t tmpfs tmpfs '$work_dir/probe' &&
    mkdir '$work_dir/probe/upper' '$work_dir/probe/work' \
      '$work_dir/probe/merged' &&
    mount -t overlay overlay -o lowerdir=/,upperdir='$work_dir/probe/upper' \
      -o workdir='$work_dir/probe/work' '$work_dir/probe/merged'" \
    2>"$work_dir/probe.log"; then
  skip "cannot mount an overlay of / in a new mount namespace:" \
    "$(cat "$work_dir/probe.log")"
fi

# The checks that run inside the copy. pass and fail behave as in lib.sh.
cat >"$work_dir/inside.sh" <<'INSIDE'
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
deb=$1
sockets="srconnect-start srconnect-callback srconnect-status
  srconnect-refresh-api"

# Runs dpkg with ARGS, shows its output, and fails with STEP if it fails.
run_dpkg() {
  local step=$1
  shift
  if ! dpkg "$@" >/tmp/dpkg.log 2>&1; then
    cat /tmp/dpkg.log >&2
    fail "$step: dpkg $* failed (output above)"
  fi
  sed 's/^/  dpkg: /' /tmp/dpkg.log
}

# Checks that PATH has MODE, OWNER and GROUP.
expect_stat() {
  local path=$1 expected=$2 actual
  actual=$(stat -c '%a %U %G' "$path") || fail "$path does not exist"
  [[ $actual == "$expected" ]] ||
    fail "$path is \"$actual\", expected \"$expected\""
  pass "$path is $expected"
}

[[ ! -d /run/systemd/system ]] ||
  fail "/run/systemd/system exists in the copy before the test created it"

# First installation, without a running systemd.
run_dpkg "install" --install "$deb"
dpkg-query -W -f='${Status}\n' srconnect | grep -qx 'install ok installed' ||
  fail "srconnect is not \"install ok installed\" after dpkg --install"
pass "dpkg --install succeeded without a running systemd"

entry=$(getent passwd srconnect) || fail "user srconnect was not created"
IFS=: read -r _ _ uid _ _ home shell <<<"$entry"
((uid < 1000)) || fail "srconnect has uid $uid, expected a system uid"
[[ $home == /var/lib/srconnect ]] || fail "srconnect's home is $home"
[[ $shell == */nologin ]] || fail "srconnect's shell is $shell"
pass "system user srconnect (uid $uid, home $home, shell $shell)"
expect_stat /var/lib/srconnect "700 srconnect srconnect"
expect_stat /run/srconnect "750 root www-data"

for unit in $sockets; do
  link=/etc/systemd/system/sockets.target.wants/$unit.socket
  [[ $(readlink "$link") == /lib/systemd/system/$unit.socket ]] ||
    fail "$unit.socket is not enabled: $link is missing or wrong"
done
link=/etc/systemd/system/timers.target.wants/srconnect-refresh.timer
[[ $(readlink "$link") == /lib/systemd/system/srconnect-refresh.timer ]] ||
  fail "srconnect-refresh.timer is not enabled: $link is missing or wrong"
pass "the four sockets and the timer are enabled"

for program in /usr/libexec/srconnect/srconnect-{start,callback,status} \
    /usr/libexec/srconnect/srconnect-refresh /usr/bin/srconnect; do
  "$program" --help >/dev/null ||
    fail "$program --help failed in the installed system"
done
pass "every installed program runs (its libraries resolve)"
dpkg --verify srconnect || fail "dpkg --verify srconnect reported changes"
pass "dpkg --verify finds every file as packaged"

# Reinstallation with /run/systemd/system present: systemctl cannot reach
# systemd, and the scripts must carry on.
mkdir -p /run/systemd/system
run_dpkg "reinstall" --install "$deb"
pass "dpkg --install again (upgrade path, systemd branch) succeeded"
rmdir /run/systemd/system

# Operator data that remove and purge must treat as documented.
printf 'operator configuration\n' >/etc/srconnect/srconnect.yaml
printf 'database\n' >/var/lib/srconnect/srconnect.db
chown srconnect:srconnect /var/lib/srconnect/srconnect.db

run_dpkg "remove" --remove srconnect
[[ ! -e /usr/libexec/srconnect/srconnect-start ]] ||
  fail "programs are still installed after dpkg --remove"
[[ -f /var/lib/srconnect/srconnect.db ]] ||
  fail "dpkg --remove deleted the database"
[[ -f /etc/nginx/snippets/srconnect.conf ]] ||
  fail "dpkg --remove deleted the conffile /etc/nginx/snippets/srconnect.conf"
pass "dpkg --remove removed the programs, kept the database and conffiles"

run_dpkg "purge" --purge srconnect
grep -q 'deleting /var/lib/srconnect' /tmp/dpkg.log ||
  fail "purge did not say that it deletes /var/lib/srconnect"
[[ ! -e /var/lib/srconnect ]] || fail "/var/lib/srconnect survived the purge"
pass "dpkg --purge deleted /var/lib/srconnect and said so"
[[ ! -e /etc/nginx/snippets/srconnect.conf ]] ||
  fail "the conffile /etc/nginx/snippets/srconnect.conf survived the purge"
[[ -f /etc/srconnect/srconnect.yaml ]] ||
  fail "the purge deleted the operator's /etc/srconnect/srconnect.yaml"
getent passwd srconnect >/dev/null || fail "the purge deleted user srconnect"
pass "dpkg --purge deleted the conffiles, kept srconnect.yaml and the user"
for unit in $sockets; do
  [[ ! -e /etc/systemd/system/sockets.target.wants/$unit.socket ]] ||
    fail "$unit.socket is still enabled after the purge"
done
[[ ! -e /etc/systemd/system/timers.target.wants/srconnect-refresh.timer ]] ||
  fail "srconnect-refresh.timer is still enabled after the purge"
pass "dpkg --purge removed the enable symlinks"
INSIDE

copy=$work_dir/copy
unshare --mount --propagation private bash -euo pipefail -c "
  mount -t tmpfs tmpfs '$copy'
  mkdir '$copy/upper' '$copy/work' '$copy/merged'
  mount -t overlay overlay \
    -o lowerdir=/,upperdir='$copy/upper',workdir='$copy/work' '$copy/merged'
  mount --rbind /dev '$copy/merged/dev'
  mount -t proc proc '$copy/merged/proc'
  mount -t tmpfs tmpfs '$copy/merged/run'
  mount -t tmpfs tmpfs '$copy/merged/tmp'
  cp '$deb' '$copy/merged/tmp/srconnect.deb'
  cp '$work_dir/inside.sh' '$copy/merged/tmp/inside.sh'
  chroot '$copy/merged' bash /tmp/inside.sh /tmp/srconnect.deb
"
