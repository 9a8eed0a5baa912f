#!/usr/bin/env bash
# Builds the Debian package with scripts/package into BUILD_DIR, for the
# tests that check the install tree and the package.
#
# Usage: package_build.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"

source_dir=$1
build_dir=$2

require_commands cmake cpack dpkg-deb dpkg
"$source_dir/scripts/package" "$build_dir"
pass "scripts/package built $(ls "$build_dir"/packages/*.deb)"
