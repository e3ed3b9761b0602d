#!/usr/bin/env bash
# Charts and report overhead: wall time of `fulcrum run` on a 10-strategy x 10-replication x
# 100-node scenario with charts and report.html, against the same run with --no-charts (which
# still writes every data file), alternating the two ROUNDS times; prints the median of each and
# their ratio. Usage: benches/report-overhead.sh [ROUNDS] (default 3), from the repository root.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
rounds=${1:-3}
cargo build --release --quiet
bin=target/release/fulcrum
scenario=benches/scenarios/report-overhead.json
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
with=(); without=()
for _ in $(seq "$rounds"); do
  s=$(date +%s.%N); "$bin" run "$scenario" --out "$out/a" --quiet --no-charts; e=$(date +%s.%N)
  without+=("$(awk -v a="$s" -v b="$e" 'BEGIN {printf "%.2f", b - a}')")
  s=$(date +%s.%N); "$bin" run "$scenario" --out "$out/b" --quiet; e=$(date +%s.%N)
  with+=("$(awk -v a="$s" -v b="$e" 'BEGIN {printf "%.2f", b - a}')")
done
m0=$(median "${without[@]}"); m1=$(median "${with[@]}")
echo "without charts: ${without[*]} s (median $m0 s)"
echo "with charts and report: ${with[*]} s (median $m1 s)"
awk -v a="$m0" -v b="$m1" 'BEGIN {printf "overhead: %.1f %%\n", 100 * (b - a) / a}'
