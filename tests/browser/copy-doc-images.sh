#!/usr/bin/env bash
# Copies the screenshots that docs/connect-path.md shows from the browser
# test's artifacts into docs/images/connect-path/.
#
#   tests/browser/copy-doc-images.sh [ARTIFACTS_DIR]
#
# ARTIFACTS_DIR defaults to build/dev/tests/browser/artifacts, where
# `ctest --preset dev -R browser_connect_path` writes them.
set -euo pipefail

source_dir=$(cd "$(dirname "$0")/../.." && pwd)
artifacts_dir=${1:-$source_dir/build/dev/tests/browser/artifacts}
images_dir=$source_dir/docs/images/connect-path

# Each line: the screenshot under ARTIFACTS_DIR, then its name in the docs.
images=(
  "1-connect/01-company-settings.png 01-company-settings.png"
  "1-connect/02-smartrecruiters-sign-in.png 02-sign-in.png"
  "1-connect/03-partner-apps.png 03-partner-apps.png"
  "1-connect/04-consent.png 04-consent.png"
  "1-connect/05-smartrecruiters-connected.png 05-smartrecruiters-connected.png"
  "1-connect/06-status-connected.png 06-status-connected.png"
  "4-popup/04-smartrecruiters-waiting.png popup-waiting.png"
  "4-popup/06-popup-connected.png popup-connected.png"
  "2-setup-refused/05-setup-refused.png setup-refused.png"
  "3-cookies-blocked/04-cookies-blocked.png cookies-blocked.png"
  "6-disconnected/07-partner-apps-connected.png partner-apps-disconnect.png"
  "6-disconnected/09-status-reintegrate.png status-reintegrate.png"
)

missing=0
for pair in "${images[@]}"; do
  read -r from _ <<<"$pair"
  if [[ ! -f "$artifacts_dir/$from" ]]; then
    echo "copy-doc-images: $artifacts_dir/$from not found" >&2
    missing=1
  fi
done
if ((missing)); then
  echo "copy-doc-images: run the browser test first" \
    "(ctest --preset dev -R browser_connect_path)" >&2
  exit 1
fi

mkdir -p "$images_dir"
for pair in "${images[@]}"; do
  read -r from to <<<"$pair"
  cp "$artifacts_dir/$from" "$images_dir/$to"
done
echo "copied ${#images[@]} screenshots to $images_dir"
