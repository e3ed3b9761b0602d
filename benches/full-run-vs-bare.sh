#!/usr/bin/env bash
# The heartbeat-cluster target as a user meets it: wall time and peak memory of a full
# `fulcrum run benches/scenarios/heartbeat-cluster-1e5.json` (charts and report.html included,
# as by default) against the bare hand-written loop doing the same work
# (`heartbeat-time bare 100000 100`), alternating the two ROUNDS times so background load hits
# both alike; prints each time, the medians and their ratio. A test checks that the scenario
# file is the bare loop's world. Usage: benches/full-run-vs-bare.sh [ROUNDS] (default 5), from
# the repository root.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
rounds=${1:-5}
cargo build --release --quiet -p fulcrum -p fulcrum-benches
bin=target/release
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run=(); bare=(); run_kb=0; bare_kb=0
# Seconds and peak resident KB of a command, as "S KB".
measure() { /usr/bin/time -f '%e %M' -o "$out/time" "$@" > /dev/null; cat "$out/time"; }
for i in $(seq "$rounds"); do
  if (( i % 2 )); then order=(run bare); else order=(bare run); fi
  for side in "${order[@]}"; do
    if [[ $side == run ]]; then
      read -r s kb < <(measure "$bin/fulcrum" run benches/scenarios/heartbeat-cluster-1e5.json --out "$out/r" --quiet)
      run+=("$s"); (( kb > run_kb )) && run_kb=$kb
    else
      read -r s kb < <(measure "$bin/heartbeat-time" bare 100000 100)
      bare+=("$s"); (( kb > bare_kb )) && bare_kb=$kb
    fi
  done
done
m_run=$(median "${run[@]}"); m_bare=$(median "${bare[@]}")
echo "fulcrum run (1e5 nodes, 100 s): ${run[*]} s (median $m_run s, peak $((run_kb / 1024)) MiB)"
echo "bare loop:                      ${bare[*]} s (median $m_bare s, peak $((bare_kb / 1024)) MiB)"
awk -v a="$m_run" -v b="$m_bare" 'BEGIN {printf "full run / bare loop: %.2fx\n", a / b}'
