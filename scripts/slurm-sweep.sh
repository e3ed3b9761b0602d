#!/usr/bin/env bash
# Runs a sweep through a real Slurm job array on a single-node cluster on localhost, and checks
# that the merged result equals an unsharded sweep, byte for byte.
#
#   scripts/slurm-sweep.sh
#
# The sweep is scenarios/library/sweep-load.json (36 runs, 4 array tasks of 9); the script then
# deletes three of task 2's results, re-submits that array index alone, and checks that it ran just
# those three.
#
# Exit status: 0 checked, 77 skipped (Slurm cannot be installed here), anything else a failure.
# Needs root and Debian's packages (installs slurmctld slurmd slurm-client munge if missing,
# Slurm 22.05 on Debian 12). Everything else lives in a temporary directory: the Munge key and
# socket, slurm.conf (daemons read it via -f, clients via SLURM_CONF), state, spool and logs. The
# daemons run in the foreground (-D / -F) in the background of this script, so their PIDs are
# known and they are stopped on exit, success or not; munged runs as the `munge` user (it refuses
# root). Nothing is left running and no system configuration is touched. KEEP=1 keeps the
# temporary directory for inspection. Ports: SLURM_PORT (default 16817) and the next one.
#
# Prints how long the install and the cluster's start took, and the job's wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
sweep="$(realpath scenarios/library/sweep-load.json)"
shards=4
port="${SLURM_PORT:-16817}"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "slurm-sweep: $*"; }

t_install=$(now)
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
  || ! command -v munged >/dev/null; then
  say "installing slurmctld slurmd slurm-client munge"
  export DEBIAN_FRONTEND=noninteractive
  # Exit 77 (skipped) if the packages cannot be had here: no root, no apt, no mirror.
  { [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; } || { say "cannot install Slurm (needs root and apt)"; exit 77; }
  apt-get update -qq || { say "apt-get update failed"; exit 77; }
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null \
    || { say "cannot install Slurm's packages"; exit 77; }
fi
install_s=$(since "$t_install")
say "install: ${install_s} s ($(slurmctld -V))"

# FULCRUM=path uses that binary (the tests pass theirs); otherwise a release build.
if [[ -n "${FULCRUM:-}" ]]; then
  bin="$(realpath "$FULCRUM")"
else
  cargo build --release -q
  bin="$(realpath "${CARGO_TARGET_DIR:-target}/release/fulcrum")"
fi

work="$(mktemp -d /tmp/fulcrum-slurm.XXXXXX)"
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ "${KEEP:-0}" == 1 || $status -ne 0 ]]; then
    say "kept $work (logs in $work/log)"
  else
    rm -rf "$work"
  fi
  exit $status
}
trap cleanup EXIT
trap 'exit 143' TERM INT
chmod 755 "$work"
mkdir -p "$work"/{munge,state,spool,log,run}

# Munge: a fresh key, its own socket, run as the munge user.
id munge >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin munge
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chown -R munge: "$work/munge"
chmod 711 "$work/munge"
chmod 400 "$work/munge/munge.key"
socket="$work/munge/munge.socket"

host="$(hostname -s)"
cpus="$(nproc)"
mem_mb=$(( $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) * 8 / 10 ))
conf="$work/slurm.conf"
cat > "$conf" <<EOF
ClusterName=fulcrum
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/run/slurmctld.pid
SlurmdPidFile=$work/run/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$conf"

t_start=$(now)
# setpriv execs munged itself (no session wrapper), so $! is munged's PID.
setpriv --reuid=munge --regid=munge --init-groups munged -F --force --socket="$socket" \
  --key-file="$work/munge/munge.key" --pid-file="$work/munge/munged.pid" --log-file="$work/log/munged.log" \
  --seed-file="$work/munge/munge.seed" >"$work/log/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -S "$socket" ]] && break; sleep 0.1; done
[[ -S "$socket" ]] || { say "munged did not start"; cat "$work/log/munged.log" || true; exit 1; }
slurmctld -D -f "$conf" >"$work/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$conf" >"$work/log/slurmd.out" 2>&1 &
pids+=($!)
state=""
for _ in $(seq 1800); do
  state="$(sinfo -h -n "$host" -o %T 2>/dev/null || true)"
  [[ "$state" == idle* ]] && break
  sleep 0.1
done
if [[ "$state" != idle* ]]; then
  say "the node did not become idle within 180 s (state: ${state:-none})"
  tail -n 20 "$work"/log/*.log "$work"/log/*.out || true
  exit 1
fi
start_s=$(since "$t_start")
say "cluster up (node $host idle, $cpus CPUs): ${start_s} s after starting the daemons"

out="$work/out"
"$bin" sweep "$sweep" --out "$out" --emit-slurm --shards "$shards" --cpus-per-task 1
t_job=$(now)
job="$(sbatch --parsable "$out/sweep.sbatch")"
job="${job%%;*}"
say "submitted job array $job ($shards tasks)"
for _ in $(seq 6000); do
  [[ -z "$(squeue -h -j "$job" 2>/dev/null)" ]] && break
  sleep 0.1
done
if [[ -n "$(squeue -h -j "$job" 2>/dev/null)" ]]; then
  say "job $job still queued or running after 600 s"; squeue; exit 1
fi
job_s=$(since "$t_job")
say "job array finished: ${job_s} s from submission"
[[ $(grep -c '"id": ' "$out/manifest.json") -eq 36 ]] || { say "expected a 36-run sweep"; exit 1; }
for i in $(seq 0 $((shards - 1))); do
  log="$out/slurm-logs/${job}_$i.out"
  [[ -f "$log" ]] || { say "no log for array task $i"; ls "$out/slurm-logs"; exit 1; }
  grep -q "shard $i/$shards (--shard): 9 runs, 0 already done" "$log" \
    || { say "array task $i did not run its shard:"; cat "$log"; exit 1; }
  say "task $i: $(grep 'already done' "$log")"
done

# A pre-empted task, re-run alone: lose three of shard 2's results (runs 2, 6 and 10 of the
# manifest, as shard 2 of 4 takes every fourth run from the third) and re-submit array index 2.
mapfile -t ids < <(grep -o '"id": "[0-9a-f]*"' "$out/manifest.json" | cut -d'"' -f4)
for k in 2 6 10; do rm "$out/runs/${ids[$k]}.json"; done
t_rerun=$(now)
rerun="$(sbatch --parsable --array=2 "$out/sweep.sbatch")"
rerun="${rerun%%;*}"
for _ in $(seq 6000); do
  [[ -z "$(squeue -h -j "$rerun" 2>/dev/null)" ]] && break
  sleep 0.1
done
log="$out/slurm-logs/${rerun}_2.out"
grep -q "shard 2/$shards (--shard): 9 runs, 6 already done, 3 run now" "$log" \
  || { say "the re-submitted task 2 did not run just its 3 missing runs:"; cat "$log"; exit 1; }
say "re-submitted task 2 ($(since "$t_rerun") s): $(grep 'already done' "$log")"

# Finish in place (a no-op check if the last task already merged), then compare with an
# unsharded sweep of the same file.
"$bin" merge "$out" --quiet
"$bin" sweep "$sweep" --out "$work/all" --quiet
diff -r -x sweep.sbatch -x slurm-logs -x '.*' "$work/all" "$out" >/dev/null \
  || { say "the Slurm result differs from the unsharded sweep"; diff -rq -x sweep.sbatch -x slurm-logs "$work/all" "$out"; exit 1; }
say "merged result identical to the unsharded sweep ($(ls "$out/runs" | wc -l) runs)"
say "timings: install ${install_s} s, cluster start ${start_s} s, job array ${job_s} s"
