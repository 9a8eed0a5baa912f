#!/usr/bin/env bash
# Checks the Debian package that scripts/package built: its files against
# expected-install-tree.txt, its control fields, its conffiles, its
# maintainer scripts' syntax, and that Depends names the package of every
# shared library the programs link directly.
#
# Usage: package_contents.sh PACKAGE_BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"

build_dir=$1

require_commands dpkg-deb dpkg readelf ldconfig
debs=("$build_dir"/packages/srconnect_*.deb)
[[ -f ${debs[0]} ]] ||
  skip "no srconnect_*.deb in $build_dir/packages (deploy_package_build" \
    "builds it)"
((${#debs[@]} == 1)) || fail "more than one .deb in $build_dir/packages"
deb=${debs[0]}
echo "package: $deb"
make_work_dir

# Files and modes.
dpkg-deb --contents "$deb" >"$work_dir/listing"
awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' "$work_dir/listing" |
  sort >"$work_dir/actual"
compare_file_lists "$(dirname "$0")/expected-install-tree.txt" \
  "$work_dir/actual"
while read -r mode owner _ _ _ path _; do
  [[ $mode == d* ]] && continue
  [[ $owner == root/root ]] || fail "$path is owned by $owner, expected root"
  case $path in
    ./usr/bin/* | ./usr/libexec/*) expected_mode=-rwxr-xr-x ;;
    *) expected_mode=-rw-r--r-- ;;
  esac
  [[ $mode == "$expected_mode" ]] ||
    fail "$path has mode $mode, expected $expected_mode"
done <"$work_dir/listing"
pass "files are owned by root, programs 0755, every other file 0644"

# Control fields.
field() {
  dpkg-deb --field "$deb" "$1"
}
[[ $(field Package) == srconnect ]] || fail "Package is \"$(field Package)\""
[[ $(field Architecture) == "$(dpkg --print-architecture)" ]] ||
  fail "Architecture is \"$(field Architecture)\""
[[ -n $(field Maintainer) ]] || fail "Maintainer is empty"
pass "Package, Architecture and Maintainer are set"
depends=$(field Depends)
echo "Depends: $depends"
# One package name a line, without versions; alternatives count as names.
depends_names=$(tr ',|' '\n\n' <<<"$depends" | sed 's/^ *//; s/[ (].*//')
grep -qxF systemd <<<"$depends_names" || fail "Depends lacks systemd"
grep -q 'nginx | httpd' <<<"$(field Recommends)" ||
  fail "Recommends lacks \"nginx | httpd\": \"$(field Recommends)\""
pass "Depends has systemd and Recommends has nginx | httpd"

# Every NEEDED library of every program comes from a package in Depends.
dpkg-deb --extract "$deb" "$work_dir/tree"
declare -A needed_by=()
for program in "$work_dir"/tree/usr/bin/* "$work_dir"/tree/usr/libexec/*/*; do
  while read -r library; do
    needed_by[$library]=$(basename "$program")
  done < <(readelf -d "$program" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
done
for library in "${!needed_by[@]}"; do
  # awk reads to the end: an early exit would end ldconfig with SIGPIPE,
  # which pipefail and set -e turn into a silent failure of this script.
  path=$(ldconfig -p |
    awk -v lib="$library" '$1 == lib && !found { print $NF; found = 1 }')
  [[ -n $path ]] || fail "$library (needed by ${needed_by[$library]})" \
    "is not installed on this host"
  owner=$(dpkg -S "$path" 2>/dev/null || dpkg -S "/usr$path" 2>/dev/null ||
    dpkg -S "$(readlink -f "$path")" 2>/dev/null) ||
    fail "no Debian package owns $path ($library)"
  package=${owner%%:*}
  grep -qxF -- "$package" <<<"$depends_names" ||
    fail "$library comes from $package, which Depends lacks: $depends"
  pass "$library comes from $package, which Depends names"
done

# Conffiles: every file under /etc, nothing else.
dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$work_dir" ./conffiles
grep '^/etc/' "$work_dir/actual" >"$work_dir/etc-files" || true
if ! diff -u "$work_dir/etc-files" <(sort "$work_dir/conffiles"); then
  fail "conffiles differs from the files under /etc (diff above)"
fi
pass "conffiles lists the $(wc -l <"$work_dir/etc-files") files under /etc"

# Maintainer scripts.
for script in postinst prerm postrm; do
  dpkg-deb --ctrl-tarfile "$deb" | tar -x -C "$work_dir" "./$script"
  sh -n "$work_dir/$script" || fail "$script has a syntax error"
  if grep -n '@[A-Z_]*@' "$work_dir/$script"; then
    fail "$script has an unsubstituted @VARIABLE@ (above)"
  fi
  pass "$script parses and has every @VARIABLE@ substituted"
done
