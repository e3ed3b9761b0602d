#!/usr/bin/env bash
# Sweep throughput with 1 and 2 worker threads: runs per second of the same 48-run sweep
# (the quickstart cluster, 12,000 s of simulated time per run, about 0.13 s of work each), alternating
# 1 and 2 threads ROUNDS times (default 3) and keeping each thread count's best round, so a
# neighbour's burst of CPU use costs one round, not the figure. Prints both rates and the ratio.
# Usage: scripts/sweep-scaling.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
cargo build --release -q
bin="${CARGO_TARGET_DIR:-target}/release/fulcrum"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/sweep.json" <<JSON
{"name": "scaling", "scenario": "$PWD/scenarios/library/quickstart.json", "replications": 4,
 "set": {"duration_s": 12000},
 "grid": [{"path": "workload.arrival.rate_per_s", "values": [12, 18, 24]}],
 "labels": ["round-robin", "least-connections", "p2c", "wlc"]}
JSON
declare -A best=([1]=0 [2]=0)
for round in $(seq "$rounds"); do
  for threads in 1 2; do
    rm -rf "$tmp/out"
    line="$("$bin" sweep "$tmp/sweep.json" --out "$tmp/out" --threads "$threads" 2>&1 >/dev/null | grep 'runs/s')"
    rate="$(sed -E 's/.*\(([0-9.]+) runs\/s.*/\1/' <<<"$line")"
    echo "round $round, $threads thread(s): $line"
    if awk -v a="$rate" -v b="${best[$threads]}" 'BEGIN { exit !(a > b) }'; then best[$threads]="$rate"; fi
  done
done
awk -v one="${best[1]}" -v two="${best[2]}" \
  'BEGIN { printf "best of %s rounds: 1 thread %.2f runs/s, 2 threads %.2f runs/s: %.2fx\n", '"$rounds"', one, two, two / one }'
