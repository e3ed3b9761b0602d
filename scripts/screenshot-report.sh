#!/usr/bin/env bash
# Looks at a report the way a reader does: renders DIR/report.html in headless Chromium and saves a
# full-page screenshot as DIR/report.png (and the first screen as DIR/report-top.png), so that
# overlapping labels, empty charts or illegible legends show up on a machine without a display.
# Chromium is not needed to build or test Fulcrum; install it only for this
# (Debian/Ubuntu: `apt-get install chromium`; macOS: Google Chrome works too, set CHROMIUM=path).
# Usage: scripts/screenshot-report.sh DIR [WIDTH] [HEIGHT]   (default 1280 x 6000 pixels)
set -euo pipefail
dir=${1:?usage: scripts/screenshot-report.sh DIR [WIDTH] [HEIGHT]}
width=${2:-1280}
height=${3:-6000}
[[ -f $dir/report.html ]] || { echo "no report.html in $dir" >&2; exit 2; }
browser=${CHROMIUM:-}
if [[ -z $browser ]]; then
  for b in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$b" > /dev/null; then browser=$b; break; fi
  done
fi
[[ -n $browser ]] || { echo "no Chromium found: install it (apt-get install chromium) or set CHROMIUM" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
page="file://$(cd "$dir" && pwd)/report.html"
shoot() {
  "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --window-size="$1,$2" --screenshot="$3" "$page" > /dev/null 2>&1
}
shoot "$width" "$height" "$dir/report.png"
shoot "$width" 900 "$dir/report-top.png"
echo "$dir/report.png ($width x $height) and $dir/report-top.png"
