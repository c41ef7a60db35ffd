#!/usr/bin/env bash
# Preemption at random moments resumes bit-identically: SIGUSR1 to sp_sweep
#   train: at a random batch of a random epoch (checkpointed at the next batch boundary),
#   score: at a random moment of BALD's pool scoring (abandoned, redone on resume),
#   tsne:  at a random moment of a round's metrics (t-SNE; abandoned, redone),
#   final: at a random moment of the final metrics (t-SNE; abandoned, redone),
# each REPEATS times, every stop followed by a rerun that resumes from the checkpoint. Every
# stop must exit 75 within a bounded time and leave no result file; every finished result file
# must equal an uninterrupted run's bit for bit (tests/fault/same_result.py: embeddings, logits,
# metrics, history, /al records; wall times aside).
#   preempt_resume.sh SP_SWEEP [REPEATS=2] [SEED=11]
set -euo pipefail
sp_sweep=$1 repeats=${2:-2} seed=${3:-11}
py=${SP_PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../support/fixture.sh
source "$here/../support/fixture.sh"
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
"$py" -c "import h5py, numpy" 2>/dev/null || { echo "$py lacks h5py or numpy"; exit 1; }
cp "$fixtures/preempt.toml" "$tmp/p.toml"
RANDOM=$seed

# Each output line with the time it was read.
stamp() { while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done; }
# Starts sp_sweep on output folder $1, its log in $2; sets pid.
start() {
    "$sp_sweep" "$tmp/p.toml" --threads 1 --set output.dir="$1" > >(stamp > "$2") 2>&1 &
    pid=$!
}

start "$tmp/whole" "$tmp/whole.log"
wait "$pid" || { echo "the uninterrupted run failed"; cat "$tmp/whole.log"; exit 1; }
sleep 0.2
reference=$(ls "$tmp/whole"/[0-9a-f]*.h5)

# The log lines that start each phase, and how long each phase lasted in the uninterrupted run
# (the shortest occurrence: the time to the next log line).
declare -A pattern=(
    [train]='epoch 1/2 '
    [score]=' scoring [0-9]+ unlabelled'
    [tsne]='round [0-9]+ computing metrics'
    [final]='[0-9a-f]+: computing metrics')
declare -A length hits
for p in train score tsne final; do
    length[$p]=$(awk -v pat="${pattern[$p]}" '
        prev != "" && ($0 ~ /\[sp\]/ || $0 ~ / complete /) {
            d = $1 - prev; if (min == "" || d < min) min = d; prev = ""
        }
        $0 ~ pat && $0 ~ /\[sp\]/ { prev = $1 }
        END { printf "%.3f", min }' "$tmp/whole.log")
    hits[$p]=0
    echo "phase $p: ${length[$p]} s in the uninterrupted run"
done

# Which phase a stopped run stopped in: the stop note, else its last phase line.
phase_of() {
    local log=$1 last
    if grep -q "stopped .*batch [0-9]" "$log"; then echo train; return; fi
    last=$(grep "\[sp\] replicate" "$log" | tail -1)
    if [[ $last =~ scoring\ [0-9]+\ unlabelled ]]; then echo score
    elif [[ $last =~ round\ [0-9]+\ computing\ metrics ]]; then echo tsne
    elif [[ $last =~ [0-9a-f]+:\ computing\ metrics ]]; then echo final
    else echo boundary; fi
}

compare() {
    local f
    f="$1/$(basename "$reference")"
    [[ -f $f ]] || { echo "no result file in $1"; exit 1; }
    "$py" "$here/same_result.py" "$reference" "$f" || { echo "$1 differs from the uninterrupted run"; exit 1; }
}

phases=(train score tsne final)
chain=0 attempt=0 target_i=0 worst=0 stops=0 resumes=0
dir="$tmp/chain$chain"
while :; do
    missing=0
    for p in "${phases[@]}"; do ((hits[$p] < repeats)) && missing=1; done
    ((missing)) || break
    ((++attempt <= 40)) || { echo "after 40 runs: hits train ${hits[train]} score ${hits[score]} tsne ${hits[tsne]} final ${hits[final]}"; exit 1; }
    # The next phase, in turn, that still needs a hit.
    for _ in 1 2 3 4; do
        target=${phases[$((target_i % 4))]}
        target_i=$((target_i + 1))
        ((hits[$target] < repeats)) && break
    done
    log="$tmp/run$attempt.log"
    start "$dir" "$log"
    signalled=0
    while kill -0 "$pid" 2>/dev/null; do
        if grep -Eq "\[sp\].*${pattern[$target]}" "$log" 2>/dev/null; then
            # Within the phase: the first 80% of it (of an epoch, the first half: the rest is
            # its evaluation pass and the next epoch's start).
            f=0.8
            [[ $target == train ]] && f=0.5
            delay=$(awk -v r=$RANDOM -v l="${length[$target]}" -v f=$f 'BEGIN {printf "%.3f", f * l * r / 32767}')
            sleep "$delay"
            t0=$(date +%s.%N)
            kill -USR1 "$pid" 2>/dev/null && signalled=1
            break
        fi
        sleep 0.02
    done
    set +e
    wait "$pid"
    rc=$?
    set -e
    t1=$(date +%s.%N)
    sleep 0.1
    grep -q "resuming" "$log" && resumes=$((resumes + 1))
    if [[ $rc -eq 0 ]]; then
        # Finished before the signal: compare and start over in a new folder.
        compare "$dir"
        chain=$((chain + 1))
        dir="$tmp/chain$chain"
        continue
    fi
    [[ $rc -eq 75 ]] || { echo "run $attempt ($target): exit $rc, expected 75 or 0"; cat "$log"; exit 1; }
    ((signalled)) || { echo "run $attempt exited 75 without a signal"; exit 1; }
    stops=$((stops + 1))
    took=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    worst=$(awk -v a="$took" -v b="$worst" 'BEGIN {print (a > b ? a : b)}')
    got=$(phase_of "$log")
    [[ $got == boundary ]] || hits[$got]=$((hits[$got] + 1))
    echo "run $attempt: aimed at $target after ${delay} s, stopped in $got, exit 75 ${took} s after the signal"
    for f in "$dir"/[0-9a-f]*.h5; do
        [[ -f $f ]] && { echo "a stop left a result file: $f"; exit 1; }
    done
    ls "$dir/checkpoints"/*.h5 > /dev/null 2>&1 || { echo "no checkpoint after the stop"; exit 1; }
done
# Run the last chain to its end.
start "$dir" "$tmp/last.log"
wait "$pid" || { echo "the last resume failed"; cat "$tmp/last.log"; exit 1; }
sleep 0.1
grep -q "resuming" "$tmp/last.log" && resumes=$((resumes + 1))
compare "$dir"
[[ -d "$dir/checkpoints/$(basename "$reference" .h5).al" ]] && { echo "round records left behind"; exit 1; }
((resumes >= stops)) || { echo "$stops stops but only $resumes resumes"; exit 1; }
echo "$stops stops (train ${hits[train]}, score ${hits[score]}, tsne ${hits[tsne]}, final ${hits[final]}) in $((chain + 1)) chains, each resumed to a result identical to the uninterrupted run; slowest exit ${worst} s after the signal"
