#!/usr/bin/env bash
# Checkpoint cost per epoch (seconds, bytes) of an active-learning replicate, before and after
# round records were written once (bench/README.md, "Checkpoint cost"), and the time from a stop
# signal to sp_sweep's exit.
#
#   bench/checkpoint_cost.sh BUILD_DIR [OLD_SP_SWEEP]
#   SECTIONS="2 3" bench/checkpoint_cost.sh ...    # some sections only (default: 1 2 3 4)
#
# 1. sp_bench_checkpoint: the checkpoint RoundLoop saves at each round, records inside (before)
#    or each written once to its own file (after), for the quick sweep's shape (ResNet18 x0.5,
#    ImageNet stem, 8,000 images, 2,000 + 3 x 2,000) and the paper's CIFAR-10 shape (full-width
#    ResNet18, CIFAR stem, 50,000 images, 5,000 + 9 x 5,000) with and without al.save_pool_outputs.
# 2. A real replicate of sweeps/quick.toml (least confidence, seed 0; made shorter: 2 epochs a
#    round, 4,000 training images, 1,000 + 3 x 1,000, evaluation set and model unchanged) with this build
#    (SP_LOG_LEVEL=debug logs every checkpoint's bytes and seconds) and, if given, with an
#    sp_sweep built before the change (OLD_SP_SWEEP; its checkpoints timed with strace from the
#    temporary's creation to its rename, sizes polled).
# 3. Signal to exit: SIGUSR1 to that replicate in training, in pool scoring and in the metrics.
set -euo pipefail
build=$1 old=${2:-}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d /tmp/sp-ckcost.XXXXXX)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
sp_sweep=$build/src/apps/sp_sweep
# The one-replicate sweeps below end with a reduction that fails (their [analysis] contrasts
# name conditions they lack): exit 2 after the replicate completed, ignored.
echo "# $(date -u +%FT%TZ) $(hostname) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) nproc $(nproc)"

sections=${SECTIONS:-1 2 3 4}
on() { [[ " $sections " == *" $1 "* ]]; }
stamp() { while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done; }
"$sp_sweep" "$repo/sweeps/quick.toml" --show-config 4 > "$work/q.toml"
short=(--set train.epochs=2 --set dataset.train_subset=4000 --set al.initial=1000 --set al.query=1000)

if on 1; then
echo "## 1. save_checkpoint per round, one thread"
"$build/bench/sp_bench_checkpoint" --dir "$work/q" --stem imagenet --width 0.5 --classes 10 \
    --train 8000 --initial 2000 --query 2000 --rounds 3 --repeats 5 | sed 's/^/quick /'
"$build/bench/sp_bench_checkpoint" --dir "$work/p" --repeats 3 | sed 's/^/paper /'
"$build/bench/sp_bench_checkpoint" --dir "$work/pp" --repeats 1 --pool-outputs | sed 's/^/paper+pool /'

fi

if on 2; then
echo "## 2. a real quick-sweep replicate (least confidence, seed 0, shortened), 2 threads"
SP_LOG_LEVEL=debug "$sp_sweep" "$work/q.toml" "${short[@]}" --threads 2 --set output.dir="$work/after" \
    > >(stamp > "$work/after.log") 2>&1 || true # its one-replicate reduction fails (exit 2)
grep -q " complete " "$work/after.log" || { echo "the replicate did not complete"; exit 1; }
grep "checkpoint at" "$work/after.log" | sed 's/^[0-9.]* /after: /'
if [[ -n $old ]]; then
    ckpt="$work/before/checkpoints"
    poll_sizes() { while :; do stat -c '%Y %s' "$ckpt"/*.h5 2>/dev/null || true; sleep 0.05; done; }
    poll_sizes >> "$work/sizes" &
    poll=$!
    strace -f -qq -tt -e trace=openat,rename -o "$work/trace" \
        "$old" "$work/q.toml" "${short[@]}" --threads 2 --set output.dir="$work/before" > "$work/before.log" 2>&1 || true
    kill "$poll" 2>/dev/null || true
    # Seconds from each checkpoint temporary's creation to its rename.
    awk '/checkpoints\/[0-9a-f]+\.h5\.tmp\./ && /openat/ && /O_EXCL/ {split($2, t, ":"); s = t[1]*3600 + t[2]*60 + t[3]}
         /rename\(.*checkpoints\/[0-9a-f]+\.h5\.tmp\./ {split($2, t, ":"); printf "before: checkpoint %.4f s\n", t[1]*3600 + t[2]*60 + t[3] - s}' "$work/trace"
    uniq "$work/sizes" | awk '{print "before: checkpoint bytes", $2}' | uniq
fi

fi

# signal_after LOG PHASE DELAY SWEEP_ARGS...: sp_sweep SWEEP_ARGS in the background (debug log
# to LOG); SIGUSR1 DELAY s after PHASE appears in the log; prints the exit status, the seconds
# from the signal to the exit and the last checkpoint logged.
signal_after() {
    local log=$1 phase=$2 delay=$3 pid rc t0 t1
    shift 3
    SP_LOG_LEVEL=debug "$sp_sweep" "$@" > >(stamp > "$log") 2>&1 &
    pid=$!
    until grep -q "$phase" "$log" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || { echo "never saw \"$phase\""; exit 1; }
        sleep 0.02
    done
    sleep "$delay"
    t0=$(date +%s.%N)
    kill -USR1 "$pid" 2>/dev/null || { echo "finished before the signal after \"$phase\""; return 0; }
    set +e; wait "$pid"; rc=$?; set -e
    t1=$(date +%s.%N)
    sleep 0.2
    echo "signal $delay s after \"$phase\": exit $rc after $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}') s;" \
        "$(grep -o 'checkpoint at .*' "$log" | tail -1)"
}

if on 3; then
echo "## 3. signal to exit (the shortened quick replicate, 2 threads)"
for phase in "epoch 1/2" "scoring" "computing metrics"; do
    rm -rf "$work/sig"
    signal_after "$work/sig.log" "$phase" 0.3 "$work/q.toml" "${short[@]}" --threads 2 \
        --set output.dir="$work/sig"
done
fi

on 4 || exit 0
echo "## 4. signal to exit, paper-sized (CIFAR-shaped synthetic, full-width ResNet18), 2 threads"
for phase in "dataset synthetic" "scoring" "computing metrics"; do
    rm -rf "$work/cifar"
    delay=2
    [[ $phase == computing* ]] && delay=0.3
    signal_after "$work/cifar.log" "$phase" "$delay" "$repo/bench/checkpoint_cifar.toml" --threads 2 \
        --set output.dir="$work/cifar"
done
