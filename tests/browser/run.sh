#!/usr/bin/env bash
# Runs the browser test of the customer's connect path in headless
# Chromium. CTest calls it as
#
#   run.sh BUILD_DIR ARTIFACTS_DIR
#
# BUILD_DIR contains the built binaries; screenshots and stack logs of every
# scenario go to ARTIFACTS_DIR/<scenario>/. Chromium (/usr/bin/chromium, or
# $SRCONNECT_CHROMIUM) and the npm packages (scripts/install-deps runs
# `npm ci` here) must be installed: without them the test fails, unless
# SRCONNECT_SKIP_BROWSER_TEST=1 is set, which makes it exit 77 (skipped).
set -euo pipefail

if (($# != 2)); then
  echo "usage: run.sh BUILD_DIR ARTIFACTS_DIR" >&2
  exit 2
fi
test_dir=$(cd "$(dirname "$0")" && pwd)
build_dir=$(cd "$1" && pwd)
artifacts_dir=$2
chromium=${SRCONNECT_CHROMIUM:-/usr/bin/chromium}

# Prints why the test cannot run, then skips (exit 77) when the operator
# opted out, else fails.
missing() {
  echo "browser test: $*" >&2
  if [[ "${SRCONNECT_SKIP_BROWSER_TEST:-0}" == 1 ]]; then
    echo "browser test: skipped because SRCONNECT_SKIP_BROWSER_TEST=1" >&2
    exit 77
  fi
  echo "browser test: install it with scripts/install-deps, or set" \
    "SRCONNECT_SKIP_BROWSER_TEST=1 to skip this test" >&2
  exit 1
}

[[ -x "$chromium" ]] || missing "Chromium not found at $chromium"
command -v node >/dev/null || missing "node (Node.js 20 or later) not found"
[[ -f "$test_dir/node_modules/playwright-core/package.json" ]] ||
  missing "playwright-core is not installed in $test_dir/node_modules" \
    "(run npm ci there)"

mkdir -p "$artifacts_dir"
artifacts_dir=$(cd "$artifacts_dir" && pwd)

# Each scenario makes its stack and browser profile directories under
# TMPDIR and removes them itself. Should node be stopped mid-scenario (a
# time limit, Ctrl-C), this stops the stacks it left running.
run_dir=$(mktemp -d "${TMPDIR:-/tmp}/srconnect-browser-run.XXXXXX")
cleanup() {
  local stack_dir
  for stack_dir in "$run_dir"/srconnect-browser-*; do
    [[ -d "$stack_dir" ]] || continue
    "$test_dir/../../scripts/stack" stop "$stack_dir" >/dev/null 2>&1 || true
  done
  rm -rf "$run_dir"
}
trap cleanup EXIT

export TMPDIR=$run_dir
export SRCONNECT_BUILD_DIR=$build_dir
export SRCONNECT_ARTIFACTS_DIR=$artifacts_dir
export SRCONNECT_CHROMIUM=$chromium
# Keeps Playwright from ever fetching a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
cd "$test_dir"
# node runs in the background so that a SIGTERM or SIGINT reaches the
# traps at once instead of after node ends.
node --test-reporter=spec connect_path.test.mjs &
node_pid=$!
trap 'kill -TERM "$node_pid" 2>/dev/null; wait "$node_pid"; exit 143' TERM
trap 'kill -TERM "$node_pid" 2>/dev/null; wait "$node_pid"; exit 130' INT
wait "$node_pid"
