#!/usr/bin/env bash
# sp_sweep end to end on a tiny synthetic sweep: 1 rank and 2 ranks (mpiexec) write the same
# replicate files, bit for bit in their embeddings and history, and sp_validate accepts them all.
#   sweep_mpi.sh SP_SWEEP SP_VALIDATE MPIEXEC
set -euo pipefail
sp_sweep=$1 sp_validate=$2 mpiexec=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/tiny.toml" <<'TOML'
[sweep]
name = "tiny-e2e"
seed = 5
seeds = 2
[sweep.axes]
"train.lr" = [0.003, 0.001]
[dataset]
name = "synthetic"
[dataset.synthetic]
classes = 3
train_size = 48
eval_size = 24
image_size = 12
[model]
stem = "cifar"
width = 0.0625
[train]
epochs = 2
batch_size = 16
[metrics.tsne]
perplexity = 5
TOML
"$sp_sweep" "$tmp/tiny.toml" --threads 1 --set output.dir="$tmp/one" > "$tmp/one.log"
"$mpiexec" -n 2 --bind-to none "$sp_sweep" "$tmp/tiny.toml" --threads 1 \
    --set output.dir="$tmp/two" > "$tmp/two.log"
cat "$tmp/two.log"
n_one=$(ls "$tmp/one"/*.h5 | grep -vc '/summary.h5$')
n_two=$(ls "$tmp/two"/*.h5 | grep -vc '/summary.h5$')
[[ $n_one -eq 4 && $n_two -eq 4 ]] || { echo "expected 4 result files each, got $n_one and $n_two"; exit 1; }
"$sp_validate" "$tmp/one"/*.h5 "$tmp/two"/*.h5
for f in "$tmp/one"/*.h5; do
    g="$tmp/two/$(basename "$f")"
    [[ $(basename "$f") == summary.h5 ]] && continue
    for obj in /eval/embeddings /eval/logits /eval/labels /history/loss /history/eval_accuracy \
               /metrics/tsne/embedding /metrics/cosine/all/histogram /metrics/scalars \
               /metrics/superposition/covariance_spectrum /metrics/silhouette/raw; do
        h5diff "$f" "$g" "$obj" "$obj" || { echo "differs: $obj of $(basename "$f")"; exit 1; }
    done
done
grep -q "complete" "$tmp/two.log"
echo "sweep e2e: 4 replicates, 1 rank and 2 ranks identical"
