#!/usr/bin/env bash
# Checks that every installed srconnect service has an exposure level of
# at most 2.0 in `systemd-analyze security --offline=true`, and prints
# each figure.
#
# Usage: units_security.sh BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"

build_dir=$1
max_exposure=2.0

require_commands systemd-analyze cmake
if ! systemd-analyze security --help | grep -- --offline >/dev/null; then
  skip "systemd-analyze security has no --offline (systemd before 252)"
fi
make_work_dir
root=$work_dir/root
install_into "$build_dir" "$root"
unit_dir=$(find_unit_dir "$root")
add_host_units "$root"

mapfile -t services < <(cd "$root$unit_dir" && ls srconnect-*.service)
if ((${#services[@]} == 0)); then
  fail "no srconnect services installed in $unit_dir"
fi

failures=0
for service in "${services[@]}"; do
  report=$work_dir/$service.security
  if ! systemd-analyze security --offline=true --root="$root" "$service" \
      >"$report" 2>&1; then
    cat "$report" >&2
    fail "systemd-analyze security $service failed, output above"
  fi
  # "→ Overall exposure level for NAME: 1.1 OK 🙂"
  exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
    "$report")
  if [[ -z $exposure ]]; then
    cat "$report" >&2
    fail "no exposure level in the report for $service, output above"
  fi
  if awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
    pass "$service exposure $exposure (at most $max_exposure)"
  else
    grep '^✗' "$report" >&2 || true
    echo "FAIL: $service exposure $exposure is over $max_exposure;" \
      "the settings that cost exposure are listed above" >&2
    failures=$((failures + 1))
  fi
done
if ((failures > 0)); then
  fail "$failures of ${#services[@]} services over exposure $max_exposure"
fi
echo "${#services[@]} services at exposure $max_exposure or less"
