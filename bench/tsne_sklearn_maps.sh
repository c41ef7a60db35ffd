#!/usr/bin/env bash
# sp's t-SNE maps against scikit-learn's TSNE on real embeddings, in one command: trains SEEDS
# baseline replicates of the embedded quick sweep (Fashion-MNIST, ResNet18 x0.5, 2 epochs, t-SNE
# off), then bench/tsne_sklearn_maps.py maps each replicate's 2,000 evaluation embeddings with
# scikit-learn and with sp_analyze in both metrics.tsne.compat modes, and prints the paired
# differences of silhouette, Davies-Bouldin and exact KL. See bench/README.md.
#
# usage: bench/tsne_sklearn_maps.sh [BUILD_DIR [SEEDS [WORKDIR [THREADS]]]]
#   BUILD_DIR  where sp_sweep and sp_analyze were built (default: build/dev)
#   SEEDS      replicates = embeddings compared (default 8)
#   WORKDIR    results and scratch (default: a new temporary directory, kept)
#   THREADS    threads of sp and of scikit-learn (default 2)
# Environment: SP_PYTHON (default /usr/bin/python3, which has scikit-learn and h5py).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=$(cd "${1:-$root/build/dev}" && pwd)
seeds=${2:-8}
work=${3:-$(mktemp -d /tmp/sp-tsne-maps.XXXXXX)}
threads=${4:-2}
python=${SP_PYTHON:-/usr/bin/python3}

for prog in sp_sweep sp_analyze; do
    if [[ ! -x $build/src/apps/$prog ]]; then
        echo "tsne_sklearn_maps.sh: $build/src/apps/$prog not found; build it:" \
            "cmake --build $build --target $prog" >&2
        exit 2
    fi
done
if ! "$python" -c 'import sklearn, scipy, h5py' 2>/dev/null; then
    echo "tsne_sklearn_maps.sh: $python lacks scikit-learn/scipy/h5py" >&2
    exit 2
fi
mkdir -p "$work"
echo "workdir $work" >&2
# The replicates are what counts: the sweep's closing reduction may refuse the quick sweep's
# declared contrasts once the strategy axis is cut down to the baseline.
(cd "$work" && "$build/src/apps/sp_sweep" --threads "$threads" \
    --set al.strategy=baseline --set sweep.seeds="$seeds" --set train.epochs=2 \
    --set metrics.tsne.enabled=false --set output.dir="$work/replicates" >"$work/sweep.log" 2>&1) ||
    echo "sp_sweep exited non-zero (see $work/sweep.log); using the replicates it wrote" >&2
files=$(ls "$work"/replicates/*.h5 2>/dev/null | grep -v '/summary.h5$' || true)
if [[ $(echo "$files" | grep -c .) -lt 2 ]]; then
    echo "tsne_sklearn_maps.sh: fewer than 2 replicate files in $work/replicates" >&2
    exit 1
fi
OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads "$python" "$here/tsne_sklearn_maps.py" \
    "$build/src/apps/sp_analyze" "$work/maps" $files --threads "$threads"
