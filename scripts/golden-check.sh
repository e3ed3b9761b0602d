#!/usr/bin/env bash
# Golden check: runs every library scenario (and the sweep), the extra scenarios in
# scripts/golden/ (an oracle view with several dispatchers, an untracked heartbeat view with probes
# and passive detection, the heartbeat-cluster benchmark at 1e4 nodes), with --task-log
# --event-log and no charts; then the small ones again with --trace and --decision-log, and
# without any log (the engine skips some bookkeeping when nothing reads it). Hashes every output
# file except cost.json (wall-clock figures, not results).
#
# Usage: scripts/golden-check.sh record   # writes scripts/golden/SHA256SUMS from this build
#        scripts/golden-check.sh [check]  # compares this build's outputs with it
# FULCRUM_BIN=path runs that binary instead of building this tree's (to record from another
# build).
# Results must be byte-identical for a change that only makes the engine faster.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-check}"
if [[ -n "${FULCRUM_BIN:-}" ]]; then
  bin="$FULCRUM_BIN"
else
  cargo build --release -q -p fulcrum
  bin="${CARGO_TARGET_DIR:-target}/release/fulcrum"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for f in scenarios/library/*.json scripts/golden/*.json; do
  name="$(basename "$f" .json)"
  if grep -q '"grid"' "$f"; then
    "$bin" sweep "$f" --out "$tmp/plain/$name" --quiet
  else
    "$bin" run "$f" --out "$tmp/plain/$name" --quiet --no-charts --task-log --event-log
  fi
done
for f in scenarios/library/quickstart.json scenarios/library/crash-storm.json scenarios/library/trace-lublin.json \
  scripts/golden/oracle-dispatchers.json scripts/golden/untracked-probes.json scripts/golden/heartbeat-cluster-1e4.json; do
  "$bin" run "$f" --out "$tmp/traced/$(basename "$f" .json)" --quiet --no-charts --task-log --event-log \
    --trace --decision-log
  "$bin" run "$f" --out "$tmp/nolog/$(basename "$f" .json)" --quiet --no-charts
done
(cd "$tmp" && find . -type f ! -name cost.json | LC_ALL=C sort | xargs sha256sum) > "$tmp/SHA256SUMS"
sums=scripts/golden/SHA256SUMS
if [[ "$mode" == record ]]; then
  cp "$tmp/SHA256SUMS" "$sums"
  echo "recorded $(wc -l < "$sums") hashes in $sums"
elif diff "$sums" "$tmp/SHA256SUMS"; then
  echo "golden check: identical ($(wc -l < "$sums") files)"
else
  echo "golden check: DIFFERENT" >&2
  exit 1
fi
