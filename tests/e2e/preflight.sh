#!/usr/bin/env bash
# The input preflight of sp_sweep: a missing dataset root, a missing weights file and a results
# directory under a regular file each end the sweep with exit 2 before it starts, naming the key
# and the path once, and leave no result file, no sweep record and no summary; --dry-run prints
# the plan and reports the same (exit 2; with --format tsv, a warning and exit 0); on 2 ranks both end promptly with exit 2; a sweep with
# its inputs in place still runs.
#   preflight.sh SP_SWEEP MPIEXEC
set -euo pipefail
sp_sweep=$1 mpiexec=$2
# shellcheck source=../support/fixture.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/fixture.sh"
cat > "$tmp/s.toml" <<'TOML'
[sweep]
name = "preflight"
seed = 7
seeds = 2
[dataset]
name = "synthetic"
[dataset.synthetic]
classes = 3
train_size = 30
eval_size = 15
image_size = 8
[model]
stem = "cifar"
width = 0.0625
[train]
epochs = 1
batch_size = 10
[metrics]
tsne.enabled = false
spaces = ["raw"]
TOML
printf 'not a directory\n' > "$tmp/file"

# refuses NAME KEY PATH [sp_sweep arguments...]: exit 2, "KEY: PATH: " exactly once, nothing
# written under $tmp/out-NAME or beside the sweep file; with --dry-run too, after the plan.
refuses() {
    local name=$1 key=$2 path=$3
    shift 3
    local out="$tmp/out-$name"
    for mode in run dry; do
        local extra=() log="$tmp/$name-$mode.log"
        [[ $mode == dry ]] && extra=(--dry-run)
        set +e
        "$sp_sweep" "$tmp/s.toml" --threads 1 --set output.dir="$out" "$@" "${extra[@]}" \
            > "$log" 2>&1
        local rc=$?
        set -e
        [[ $rc -eq 2 ]] || { echo "$name ($mode): exit $rc, expected 2"; cat "$log"; exit 1; }
        [[ $(grep -cF "$path" "$log") -eq 1 ]] ||
            { echo "$name ($mode): $path not named exactly once"; cat "$log"; exit 1; }
        grep -qF "$key: $path: " "$log" ||
            { echo "$name ($mode): no line '$key: $path: '"; cat "$log"; exit 1; }
        # A run refuses missing weights while planning (their contents are in the IDs), with
        # where the key was set instead of the replicates.
        [[ $key == model.pretrained && $mode == run ]] || grep -qF "(replicates 1-2" "$log" ||
            { echo "$name ($mode): the replicates are not named"; cat "$log"; exit 1; }
        [[ ! -e $out ]] || { echo "$name ($mode): wrote $(find "$out")"; exit 1; }
        [[ $(find "$tmp" -name '*.h5' -o -name 'sweeps' -o -name 'summary.*' | wc -l) -eq 0 ]] ||
            { echo "$name ($mode): wrote files"; find "$tmp"; exit 1; }
        if [[ $mode == dry ]]; then
            grep -q "^2 replicates" "$log" || { echo "$name: --dry-run printed no plan"; cat "$log"; exit 1; }
        fi
    done
    # The TSV plan (for job arrays and ID checks, planned where the data need not be) warns.
    "$sp_sweep" "$tmp/s.toml" --set output.dir="$out" "$@" --dry-run --format tsv \
        > "$tmp/$name-tsv.out" 2> "$tmp/$name-tsv.err" ||
        { echo "$name (tsv): exit $?, expected 0"; cat "$tmp/$name-tsv.err"; exit 1; }
    [[ $(grep -c . "$tmp/$name-tsv.out") -eq 3 ]] || { echo "$name (tsv): not a 2-row plan"; exit 1; }
    grep -qF "$key: $path: " "$tmp/$name-tsv.err" || { echo "$name (tsv): no warning"; exit 1; }
    [[ ! -e $out ]] || { echo "$name (tsv): wrote $(find "$out")"; exit 1; }
}
refuses root dataset.root "$tmp/no-cifar" --set dataset.name=cifar10 --set dataset.root="$tmp/no-cifar"
refuses weights model.pretrained "$tmp/no-weights.pt" --set model.pretrained="$tmp/no-weights.pt"
# The output directory's parent is a regular file: it cannot be created.
set +e
"$sp_sweep" "$tmp/s.toml" --threads 1 --set output.dir="$tmp/file/out" > "$tmp/file.log" 2>&1
rc=$?
"$sp_sweep" "$tmp/s.toml" --dry-run --set output.dir="$tmp/file/out" > "$tmp/file-dry.log" 2>&1
rc_dry=$?
set -e
for log in "$tmp/file.log" "$tmp/file-dry.log"; do
    [[ $rc -eq 2 && $rc_dry -eq 2 ]] || { echo "output.dir under a file: exit $rc / $rc_dry, expected 2"; cat "$log"; exit 1; }
    [[ $(grep -cF "$tmp/file/out" "$log") -eq 1 ]] && grep -qF "output.dir: $tmp/file/out: " "$log" ||
        { echo "output.dir under a file: not named once with its key"; cat "$log"; exit 1; }
done
[[ $(cat "$tmp/file") == "not a directory" ]] || { echo "the regular file was changed"; exit 1; }
[[ $(find "$tmp" -name '*.h5' | wc -l) -eq 0 ]] || { echo "wrote result files"; exit 1; }

# 2 ranks: every rank checks before MPI starts; the job ends in seconds with exit 2.
set +e
start=$SECONDS
timeout 120 "$mpiexec" -n 2 --bind-to none "$sp_sweep" "$tmp/s.toml" --threads 1 \
    --set output.dir="$tmp/out-mpi" --set dataset.name=cifar10 --set dataset.root="$tmp/no-cifar" \
    > "$tmp/mpi.log" 2>&1
rc=$?
set -e
[[ $rc -eq 2 ]] || { echo "2 ranks: exit $rc, expected 2"; cat "$tmp/mpi.log"; exit 1; }
(( SECONDS - start < 60 )) || { echo "2 ranks: took $((SECONDS - start)) s"; exit 1; }
grep -qF "dataset.root: $tmp/no-cifar: no such directory" "$tmp/mpi.log" ||
    { echo "2 ranks: the input is not named"; cat "$tmp/mpi.log"; exit 1; }
[[ ! -e $tmp/out-mpi ]] || { echo "2 ranks: wrote $(find "$tmp/out-mpi")"; exit 1; }

# With its inputs in place (a results directory to create two levels down) the sweep runs.
"$sp_sweep" "$tmp/s.toml" --threads 1 --set output.dir="$tmp/new/results" > "$tmp/ok.log" 2>&1 ||
    { echo "a valid sweep failed"; cat "$tmp/ok.log"; exit 1; }
n=$(find "$tmp/new/results" -maxdepth 1 -name '*.h5' ! -name summary.h5 | wc -l)
[[ $n -eq 2 ]] || { echo "a valid sweep wrote $n result files, expected 2"; cat "$tmp/ok.log"; exit 1; }
echo "preflight e2e: missing root, weights and output dir refused (exit 2, nothing written), dry run too, 2 ranks too; a valid sweep runs"
