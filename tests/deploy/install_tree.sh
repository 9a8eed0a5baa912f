#!/usr/bin/env bash
# Checks that `cmake --install` of a tree configured with the prefix /usr
# produces exactly the files in expected-install-tree.txt, with the right
# modes, and unit files whose paths point into that tree.
#
# Usage: install_tree.sh PACKAGE_BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"

build_dir=$1

require_commands cmake
[[ -f $build_dir/CMakeCache.txt ]] ||
  skip "no build tree in $build_dir (deploy_package_build makes it)"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build_dir/CMakeCache.txt")
[[ $prefix == /usr ]] ||
  fail "$build_dir is configured with the prefix \"$prefix\", expected /usr"
make_work_dir
root=$work_dir/root
install_into "$build_dir" "$root"

(cd "$root" && find . \( -type f -o -type l \) -printf '/%P\n' | sort) \
  >"$work_dir/actual"
compare_file_lists "$(dirname "$0")/expected-install-tree.txt" \
  "$work_dir/actual"

while IFS= read -r path; do
  mode=$(stat -c %a "$root$path")
  case $path in
    /usr/bin/* | /usr/libexec/*) expected_mode=755 ;;
    *) expected_mode=644 ;;
  esac
  [[ $mode == "$expected_mode" ]] ||
    fail "$path has mode $mode, expected $expected_mode"
done <"$work_dir/actual"
pass "programs have mode 755 and every other file 644"

unit_dir=$(find_unit_dir "$root")
if grep -n '@[A-Z_]*@' "$root$unit_dir"/srconnect-*; then
  fail "unsubstituted @VARIABLE@ in the installed units, listed above"
fi
pass "no @VARIABLE@ left in the installed units"

for unit in "$root$unit_dir"/srconnect-*.service; do
  name=$(basename "$unit")
  exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
  [[ $exec_start == /usr/libexec/srconnect/srconnect-* ]] ||
    fail "$name: ExecStart=$exec_start is not under /usr/libexec/srconnect"
  [[ -x $root$exec_start ]] ||
    fail "$name: ExecStart=$exec_start is not an installed program"
  while IFS= read -r source; do
    [[ $source == /etc/srconnect/* ]] ||
      fail "$name: LoadCredential= source $source is not in /etc/srconnect"
  done < <(sed -n 's/^LoadCredential=[^:]*:\(.*\)/\1/p' "$unit")
  pass "$name runs $exec_start with credentials from /etc/srconnect"
done
