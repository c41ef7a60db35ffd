#!/usr/bin/env bash
# A sweep survives preemption:
#  1. SIGUSR1 to a 2-rank mpiexec job: every rank checkpoints, the sweep exits 75 (requeue), and
#     the same command resumes it to the end;
#  2. SIGKILL at random moments, several times, each time resuming: no partial result file ever
#     appears under a final name;
# and both end with replicate files bit-identical (embeddings, history, metrics, AL picks) to an
# uninterrupted run.
#   sweep_signals.sh SP_SWEEP SP_VALIDATE MPIEXEC [KILLS=4]
set -euo pipefail
sp_sweep=$1 sp_validate=$2 mpiexec=$3 kills=${4:-4}
# shellcheck source=../support/fixture.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/fixture.sh"
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
cp "$fixtures/signals.toml" "$tmp/s.toml"
run() { "$sp_sweep" "$tmp/s.toml" --threads 1 --set output.dir="$1"; }
run "$tmp/whole" > "$tmp/whole.log" 2>&1

compare() {
    local n=0
    for f in "$tmp/whole"/*.h5; do
        [[ $(basename "$f") == summary.h5 ]] && continue
        g="$1/$(basename "$f")"
        [[ -f $g ]] || { echo "missing $(basename "$g") in $1"; exit 1; }
        for obj in /eval/embeddings /history/loss /metrics/scalars /metrics/tsne/embedding; do
            h5diff "$f" "$g" "$obj" "$obj" >/dev/null || { echo "$1: $obj of $(basename "$f") differs"; exit 1; }
        done
        if h5ls "$f/al" >/dev/null 2>&1; then
            h5diff "$f" "$g" /al/labelled /al/labelled >/dev/null || { echo "$1: AL picks differ"; exit 1; }
        fi
        n=$((n + 1))
    done
    [[ $n -eq 4 ]] || { echo "expected 4 replicates, compared $n"; exit 1; }
}

# 1. SIGUSR1 to mpiexec (Open MPI forwards it to both ranks).
"$mpiexec" -n 2 --bind-to none "$sp_sweep" "$tmp/s.toml" --threads 1 \
    --set output.dir="$tmp/usr1" > "$tmp/usr1.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    grep -q "epoch 1/" "$tmp/usr1.log" 2>/dev/null && break
    sleep 0.1
done
kill -USR1 "$pid"
set +e
wait "$pid"
rc=$?
set -e
[[ $rc -eq 75 ]] || { echo "SIGUSR1: exit $rc, expected 75"; cat "$tmp/usr1.log"; exit 1; }
grep -q "stopped by a signal" "$tmp/usr1.log" || { echo "no requeue message"; exit 1; }
ls "$tmp/usr1/checkpoints"/*.h5 >/dev/null 2>&1 || { echo "no checkpoint after SIGUSR1"; exit 1; }
"$mpiexec" -n 2 --bind-to none "$sp_sweep" "$tmp/s.toml" --threads 1 \
    --set output.dir="$tmp/usr1" > "$tmp/usr1b.log" 2>&1
grep -q "resuming" "$tmp/usr1b.log" || { echo "the rerun did not resume from a checkpoint"; exit 1; }
compare "$tmp/usr1"
echo "SIGUSR1: requeue code 75, resumed, identical"

# 2. SIGKILL at random moments (RANDOM seeded for a reproducible schedule).
RANDOM=7
for k in $(seq 1 "$kills"); do
    run "$tmp/kill" > "$tmp/kill$k.log" 2>&1 &
    pid=$!
    # Once this run has trained an epoch and a checkpoint exists (the epoch's log line comes
    # before its checkpoint is written), at a random moment within the next 1.5 s (the whole
    # sweep takes several times that): mid-epoch, mid-checkpoint, mid-query or mid-metrics.
    for _ in $(seq 1 600); do
        if grep -q "epoch [0-9]*/" "$tmp/kill$k.log" 2>/dev/null &&
            compgen -G "$tmp/kill/checkpoints/*.h5" > /dev/null; then
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    sleep "$(awk -v r=$RANDOM 'BEGIN {printf "%.2f", 1.5 * r / 32767}')"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for f in "$tmp/kill"/*.h5; do
        [[ -f $f ]] || continue
        "$sp_validate" --quiet "$f" || { echo "kill $k left an invalid $f"; exit 1; }
    done
done
run "$tmp/kill" > "$tmp/kill_final.log" 2>&1
resumed=$(cat "$tmp"/kill*.log | grep -c "resuming" || true)
[[ $resumed -ge 1 ]] || { echo "no kill landed mid-replicate (nothing resumed from a checkpoint)"; exit 1; }
compare "$tmp/kill"
echo "SIGKILL x$kills: $resumed resumes from checkpoints, identical to the uninterrupted run"
