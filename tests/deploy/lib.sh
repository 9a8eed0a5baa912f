# Helpers shared by the deployment tests, sourced by scripts that run with
# `set -eu`.
#
# Each test prints one line per check, "ok: ..." or "FAIL: ...", and exits
# 0 when all passed, 1 on the first failure, or 77 (CTest's
# SKIP_RETURN_CODE) when a tool or privilege it needs is missing.

test_name=$(basename "$0" .sh)

# Prints "ok: MESSAGE".
pass() {
  echo "ok: $*"
}

# Prints "FAIL: MESSAGE" on stderr and exits 1.
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Prints why the test is skipped and exits 77.
skip() {
  echo "SKIP: $test_name: $*"
  exit 77
}

# Skips unless every named command is on PATH.
require_commands() {
  local command
  for command in "$@"; do
    command -v "$command" >/dev/null || skip "command \"$command\" not found"
  done
}

# Creates a temporary directory removed on exit and stores it in $work_dir.
make_work_dir() {
  work_dir=$(mktemp -d "${TMPDIR:-/tmp}/srconnect-$test_name.XXXXXX")
  trap 'cleanup_work_dir' EXIT
}

# Functions that tests add to run before the directory is removed.
cleanup_hooks=()

cleanup_work_dir() {
  local hook
  for hook in "${cleanup_hooks[@]}"; do
    "$hook" || true
  done
  if [[ -n "${KEEP_WORK_DIR:-}" ]]; then
    echo "kept $work_dir (KEEP_WORK_DIR is set)"
  else
    rm -rf "$work_dir"
  fi
}

# Installs the build tree BUILD_DIR into DESTDIR with `cmake --install`.
install_into() {
  local build_dir=$1 destdir=$2
  if ! DESTDIR="$destdir" cmake --install "$build_dir" \
      >"$work_dir/install.log" 2>&1; then
    cat "$work_dir/install.log" >&2
    fail "cmake --install $build_dir into $destdir failed"
  fi
}

# Copies the host's own unit files (targets such as sysinit.target that
# every unit depends on by default) into ROOT, without replacing a unit
# installed there, so that `systemd-analyze --root=ROOT` can resolve them.
add_host_units() {
  local root=$1 dir
  for dir in /usr/lib/systemd/system /lib/systemd/system; do
    if [[ -d $dir && ! -L $dir ]]; then
      mkdir -p "$root/usr/lib/systemd/system"
      cp -rn "$dir/." "$root/usr/lib/systemd/system/"
      return 0
    fi
  done
  fail "no systemd unit directory found on this host"
}

# Prints the directory, relative to ROOT and starting with "/", that contains
# the installed srconnect-start.socket.
find_unit_dir() {
  local root=$1 socket
  socket=$(find "$root" -name srconnect-start.socket -path '*/systemd/*' \
    -print -quit)
  [[ -n $socket ]] || fail "srconnect-start.socket not installed under $root"
  dirname "${socket#"$root"}"
}

# Compares the file list in ACTUAL (one absolute path a line) with the
# EXPECTED list (see expected-install-tree.txt). Prints one line per
# difference and fails when there is any.
compare_file_lists() {
  local expected=$1 actual=$2 line path matched problems=0
  local -a literals=() patterns=()
  while IFS= read -r line; do
    [[ -z $line || $line == \#* ]] && continue
    if [[ $line == *\** ]]; then
      patterns+=("$line")
    else
      literals+=("$line")
    fi
  done <"$expected"

  for line in "${literals[@]}"; do
    if ! grep -qxF -- "$line" "$actual"; then
      echo "FAIL: missing file $line" >&2
      problems=$((problems + 1))
    fi
  done
  while IFS= read -r path; do
    matched=no
    for line in "${literals[@]}"; do
      [[ $path == "$line" ]] && matched=yes && break
    done
    if [[ $matched == no ]]; then
      for line in "${patterns[@]}"; do
        # Unquoted on purpose: the line is a glob pattern.
        # shellcheck disable=SC2053
        [[ $path == $line ]] && matched=yes && break
      done
    fi
    if [[ $matched == no ]]; then
      echo "FAIL: unexpected file $path" >&2
      problems=$((problems + 1))
    fi
  done <"$actual"

  if ((problems > 0)); then
    fail "differences from $expected: $problems; update it and" \
      "docs/operations.md if the change is intended"
  fi
  pass "$(wc -l <"$actual") files match $(basename "$expected")"
}
