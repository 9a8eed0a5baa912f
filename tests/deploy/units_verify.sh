#!/usr/bin/env bash
# Checks every installed srconnect unit with `systemd-analyze verify`.
#
# Usage: units_verify.sh BUILD_DIR
#
# The build tree is installed into a temporary root, the host's own units
# are added beside it, and verify runs with --root on that tree, so the
# ExecStart= binaries it checks are the installed ones. systemd 252's
# verify exits 0 on warnings such as an unknown key, so any output at all
# counts as a failure here.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

build_dir=$1

require_commands systemd-analyze cmake
make_work_dir
root=$work_dir/root
install_into "$build_dir" "$root"
unit_dir=$(find_unit_dir "$root")
add_host_units "$root"

mapfile -t units < <(cd "$root$unit_dir" && ls srconnect-* 2>/dev/null)
if ((${#units[@]} == 0)); then
  fail "no srconnect units installed in $unit_dir"
fi

for unit in "${units[@]}"; do
  set +e
  output=$(systemd-analyze verify --man=no --root="$root" \
    "$unit_dir/$unit" 2>&1)
  status=$?
  set -e
  if ((status != 0)) || [[ -n $output ]]; then
    echo "$output" >&2
    fail "systemd-analyze verify $unit: exit status $status, output above"
  fi
  pass "systemd-analyze verify $unit"
done
echo "${#units[@]} units verified"
