#!/usr/bin/env bash
# sp_sweep end to end on a tiny synthetic sweep: 1 rank and 2 ranks (mpiexec) write the same
# replicate files, bit for bit in their embeddings and history, and sp_validate accepts them all.
#   sweep_mpi.sh SP_SWEEP SP_VALIDATE MPIEXEC
set -euo pipefail
sp_sweep=$1 sp_validate=$2 mpiexec=$3
# shellcheck source=../support/fixture.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/fixture.sh"
cp "$fixtures/sweep_mpi.toml" "$tmp/tiny.toml"
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
