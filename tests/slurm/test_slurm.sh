#!/usr/bin/env bash
# slurm/sweep.sh on a real single-node Slurm cluster that lives in this test's own temporary
# directory (tests/slurm/local_cluster.sh: its own slurm.conf, state, spool, logs, munged, key,
# socket, free ports, cluster name):
#  1. `sbatch --wait slurm/sweep.sh` of a tiny 4-replicate sweep on 2 ranks completes with exit 0
#     and writes summary.h5;
#  2. its replicate files equal those of sp_sweep run directly (embeddings, loss history,
#     scalar metrics; summary.md beyond its first line, up to its sweep record);
#  3. the time-limit warning in the middle (`scancel --signal=USR1 --batch`, what
#     `#SBATCH --signal=B:USR1@N` sends): every rank checkpoints, sp_sweep exits 75, the job
#     requeues itself, the rerun resumes and ends identical to 2;
#  4. (with ARRAY=1, the default) slurm/submit-array.sh: one array task per replicate plus the
#     dependent sp_reduce job, identical to 2;
#  5. the host is untouched: /etc/slurm, /etc/munge and the system Slurm/munge state, spool, log
#     and run directories are fingerprinted (listing, modes, owners, sizes, times, checksums)
#     before and after, and no Slurm or munge daemon is left running.
# Installs nothing. Skips (exit 77) when not root, when Slurm or munge is not installed
# (scripts/setup.sh --slurm), or when a Slurm or munge daemon already runs on this machine (a
# real cluster node or login node: it is refused, never touched). Stops only the daemons it
# started (by their pid files in its directory), also on failure, and, through a detached
# watcher, when it is killed (a ctest timeout).
#   test_slurm.sh [SP_SWEEP] [SP_REDUCE]          KEEP=1 keeps the directory and its logs
set -euo pipefail
src=${SP_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
sp_sweep=${1:-$src/build/dev/src/apps/sp_sweep}
sp_reduce=${2:-$(dirname "$sp_sweep")/sp_reduce}
array=${ARRAY:-1}
t0=$SECONDS
elapsed() { echo "[$((SECONDS - t0)) s]"; }
# shellcheck source=local_cluster.sh
source "$src/tests/slurm/local_cluster.sh"

for b in "$sp_sweep" "$sp_reduce"; do
    [[ -x $b ]] || { echo "FAIL: $b is not an executable (build sp_sweep and sp_reduce)"; exit 1; }
done
rc=0
lc_check || rc=$?
if [[ $rc -ne 0 ]]; then
    echo "SKIP: no private Slurm cluster can start here (see above)"
    exit 77
fi

# What a test cluster must never write: the system's Slurm and munge configuration, state,
# spool, logs and sockets (absent ones must stay absent).
watched=(/etc/slurm /etc/slurm-llnl /etc/munge /var/spool/slurmctld /var/spool/slurmd
         /var/spool/slurm /var/lib/slurm /var/log/slurm /var/log/munge /var/lib/munge /run/munge
         /run/slurm /run/slurmctld /run/slurmd /run/sp-slurm)
fingerprint() { # fingerprint PATH...: a listing that changes when anything under PATH does
    local p
    for p in "$@"; do
        if [[ -e $p || -L $p ]]; then
            find "$p" -printf '%p %y %m %u:%g %s %T@\n' 2>/dev/null | sort
            find "$p" -type f -exec sha256sum {} + 2>/dev/null | sort -k2
        else
            echo "$p absent"
        fi
    done
}

tmp=$(mktemp -d /tmp/sp-slurm-test.XXXXXX)
chmod 755 "$tmp"
cluster=$tmp/cluster
fingerprint "${watched[@]}" > "$tmp/host.before"
# The check itself can fail: a change in a watched tree is seen.
mkdir "$tmp/probe"
fingerprint "$tmp/probe" > "$tmp/probe.before"
echo x > "$tmp/probe/f"
if cmp -s "$tmp/probe.before" <(fingerprint "$tmp/probe"); then
    echo "FAIL: the fingerprint does not see a new file"; exit 1
fi

cleanup() {
    local status=$? left
    trap - EXIT
    lc_stop "$cluster" # cancels the jobs left, then stops the three daemons
    for _ in $(seq 1 20); do # children such as slurmscriptd end just after their daemon
        left=$(lc_running_daemons)
        [[ -z $left ]] && break
        sleep 0.5
    done
    if [[ -n $left ]]; then
        echo "FAIL: Slurm or munge daemons still run after the test stopped its own:"
        echo "$left"
        status=1
    fi
    if cmp -s "$tmp/host.before" <(fingerprint "${watched[@]}"); then
        echo "$(elapsed) host untouched: ${watched[*]} as before"
    else
        echo "FAIL: the test changed files outside its directory:"
        diff "$tmp/host.before" <(fingerprint "${watched[@]}") | head -40
        status=1
    fi
    if [[ $status -eq 0 ]]; then
        echo "$(elapsed) PASS"
    elif [[ $status -ne 77 && ${KEEP:-0} != 1 ]]; then
        lc_logs "$cluster" 2>&1 || true
    fi
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
    exit "$status"
}
trap cleanup EXIT
# Killed before cleanup runs (a ctest timeout): the watcher stops the daemons.
lc_watch "$cluster" $$
lc_start "$cluster" || { echo "FAIL: the private cluster did not start"; exit 1; }
echo "$(elapsed) cluster up: SLURM_CONF=$SLURM_CONF"
cd "$tmp"

# The sweep of tests/fault/sweep_signals.sh, smaller: 4 replicates, seconds each.
cp "$src/tests/fixtures/signals.toml" tiny.toml
tiny=(--set dataset.synthetic.train_size=120 --set dataset.synthetic.eval_size=30
      --set dataset.synthetic.image_size=12 --set al.initial=60 --set al.query=30)

export SP_SWEEP=$sp_sweep SP_REDUCE=$sp_reduce
# Small resources instead of the script's #SBATCH defaults (no account, partition or GPUs here).
# -t 10: longer than the script's 300 s warning (--signal=B:USR1@300), which would otherwise
# fire at once.
res=(-p debug -n 2 -c 1 -t 10 --gpus-per-task=0)

# The reference: sp_sweep directly, one rank of one thread (results do not depend on the rank
# count at equal threads per rank).
"$sp_sweep" tiny.toml "${tiny[@]}" --threads 1 --set output.dir="$tmp/direct" > direct.log 2>&1 ||
    { rc=$?; echo "FAIL: the direct run exited $rc"; tail -20 direct.log; exit 1; }
echo "$(elapsed) direct run done"

compare() { # compare DIR LABEL
    local n=0 f g obj
    for f in "$tmp/direct"/*.h5; do
        [[ $(basename "$f") == summary.h5 ]] && continue
        g="$1/$(basename "$f")"
        [[ -f $g ]] || { echo "FAIL $2: missing $(basename "$g")"; exit 1; }
        for obj in /eval/embeddings /history/loss /metrics/scalars; do
            h5diff "$f" "$g" "$obj" "$obj" >/dev/null ||
                { echo "FAIL $2: $obj of $(basename "$f") differs"; exit 1; }
        done
        n=$((n + 1))
    done
    [[ $n -eq 4 ]] || { echo "FAIL $2: expected 4 replicates, compared $n"; exit 1; }
    [[ -f $1/summary.h5 ]] || { echo "FAIL $2: no summary.h5"; exit 1; }
    # Beyond its title (the directory) and before the sweep record (command line, start time).
    cmp -s <(sed '1d; /^## Sweep record/,$d' "$tmp/direct/summary.md") \
           <(sed '1d; /^## Sweep record/,$d' "$1/summary.md") ||
        { echo "FAIL $2: summary.md differs"; diff "$tmp/direct/summary.md" "$1/summary.md" | head; exit 1; }
    echo "$(elapsed) $2: 4 replicates and summary.md identical to the direct run"
}

job_field() { # job_field JOBID FIELD -> value from scontrol show job
    scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}
wait_job() { # wait_job JOBID SECONDS: until the job is in a final state; prints the state
    local state=""
    for _ in $(seq 1 "$2"); do
        state=$(job_field "$1" JobState)
        # Slurm holds a requeued job for about two minutes (BeginTime); skip the wait.
        if [[ $state == PENDING && $(job_field "$1" Reason) == BeginTime ]]; then
            scontrol update JobId="$1" StartTime=now >/dev/null 2>&1 || true
        fi
        case "$state" in
            COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED | BOOT_FAIL | DEADLINE)
                echo "$state"; return 0 ;;
        esac
        sleep 1
    done
    echo "TIMEOUT_WAITING($state)"
}

# 1. sbatch --wait, straight through.
set +e
sbatch --wait "${res[@]}" -o "$tmp/whole.log" "$src/slurm/sweep.sh" tiny.toml "${tiny[@]}" \
    --set output.dir="$tmp/whole" > submit.out 2>&1
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
    echo "FAIL: sbatch --wait exited $rc"; cat submit.out whole.log 2>/dev/null; exit 1
fi
grep -q "sp_sweep exited with 0" whole.log || { echo "FAIL: no exit 0 in the log"; cat whole.log; exit 1; }
echo "$(elapsed) sbatch --wait: exit 0"
compare "$tmp/whole" "sbatch"

# 2. The warning signal in the middle: checkpoint, exit 75, requeue, resume.
job=$(sbatch --parsable "${res[@]}" -o "$tmp/requeue.log" "$src/slurm/sweep.sh" tiny.toml \
    "${tiny[@]}" --set output.dir="$tmp/requeue")
job=${job%%;*}
for _ in $(seq 1 1200); do
    grep -q "epoch 1/" requeue.log 2>/dev/null && break
    sleep 0.1
done
grep -q "epoch 1/" requeue.log || { echo "FAIL: job $job never logged an epoch"; cat requeue.log; exit 1; }
scancel --signal=USR1 --batch "$job"
echo "$(elapsed) job $job: sent USR1 to the batch script after its first epoch"
state=$(wait_job "$job" 600)
restarts=$(job_field "$job" Restarts)
echo "$(elapsed) job $job: $state after $restarts restart(s)"
fail() { echo "FAIL: $*"; cat requeue.log; exit 1; }
[[ $state == COMPLETED ]] || fail "job $job ended $state"
[[ ${restarts:-0} -ge 1 ]] || fail "job $job was never requeued"
grep -q "sp_sweep exited with 75" requeue.log || fail "no exit 75 in the log"
grep -q "requeueing job $job" requeue.log || fail "the script did not requeue itself"
grep -q "resuming" requeue.log || fail "the requeued run did not resume from a checkpoint"
grep -q "sp_sweep exited with 0" requeue.log || fail "the requeued run did not end with 0"
compare "$tmp/requeue" "requeue"

# 3. The job-array variant.
if [[ $array == 1 ]]; then
    "$src/slurm/submit-array.sh" -p debug -n 1 -c 1 -t 10 --gpus-per-task=0 -o "$tmp/array-%A_%a.log" -- tiny.toml \
        "${tiny[@]}" --set output.dir="$tmp/array" > array.out 2>&1 || { echo "FAIL: submit-array.sh"; cat array.out; exit 1; }
    cat array.out
    reduce_job=$(sed -n 's/^reduce job: \([0-9]*\).*/\1/p' array.out)
    array_job=$(sed -n 's/^array job: \([0-9]*\).*/\1/p' array.out)
    [[ -n $reduce_job && -n $array_job ]] || { echo "FAIL: no job ids from submit-array.sh"; exit 1; }
    # The warning signal to task 3 (least_confidence, seed 0) after its first epoch: it
    # checkpoints, requeues itself and resumes; the reduce job waits for it.
    for _ in $(seq 1 1200); do
        grep -q "epoch 1/" "array-${array_job}_3.log" 2>/dev/null && break
        sleep 0.1
    done
    scancel --signal=USR1 --batch "${array_job}_3"
    echo "$(elapsed) array task ${array_job}_3: sent USR1 after its first epoch"
    for _ in $(seq 1 600); do
        # Skip Slurm's two-minute hold of the requeued task (see wait_job).
        if [[ $(job_field "${array_job}_3" Reason) == BeginTime ]]; then
            scontrol update JobId="${array_job}_3" StartTime=now >/dev/null 2>&1 || true
        fi
        [[ $(job_field "$reduce_job" JobState) == PENDING ]] || break
        sleep 1
    done
    state=$(wait_job "$reduce_job" 900)
    [[ $state == COMPLETED ]] || { echo "FAIL: reduce job $reduce_job ended $state"; cat ./*.log; exit 1; }
    grep -q "requeueing job" "array-${array_job}_3.log" || { echo "FAIL: task 3 did not requeue"; cat "array-${array_job}_3.log"; exit 1; }
    grep -q "resuming" "array-${array_job}_3.log" || { echo "FAIL: task 3 did not resume"; exit 1; }
    [[ ! -e $tmp/array/array ]] || { echo "FAIL: array/ left behind"; ls -R "$tmp/array/array"; exit 1; }
    compare "$tmp/array" "array"
fi
echo "$(elapsed) all jobs as expected"
