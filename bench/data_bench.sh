#!/usr/bin/env bash
# The data-pipeline comparison in one command: sp_bench_data_pipeline and a torchvision
# DataLoader (bench/data_peer.py) doing the same work on the same machine with the same thread
# count, then the ratio sp / torchvision for each peer configuration. See bench/README.md.
#
# usage: bench/data_bench.sh [BUILD_DIR [THREADS [REPS [PEER_REPS]]]]
#   BUILD_DIR  where sp_bench_data_pipeline was built (default: build); build it first with
#              cmake --build BUILD_DIR --target sp_bench_data_pipeline
#   THREADS    sp loader threads = LibTorch / torch threads of both (default: nproc)
#   REPS       timed sp epochs (default 5); PEER_REPS timed torchvision epochs (default 3)
# Environment: SP_BENCH_DATA (Fashion-MNIST IDX directory), SP_PYTHON (default /usr/bin/python3).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
build=${1:-$root/build}
threads=${2:-$(nproc)}
reps=${3:-5}
peer_reps=${4:-3}
data=${SP_BENCH_DATA:-/usr/share/datasets/fashion-mnist}
python=${SP_PYTHON:-/usr/bin/python3}
prog=$build/bench/sp_bench_data_pipeline

if [[ ! -x $prog ]]; then
    echo "data_bench.sh: $prog not found; build it: cmake --build $build --target sp_bench_data_pipeline" >&2
    exit 2
fi
if ! "$python" -c 'import torch, torchvision, PIL' 2>/dev/null; then
    echo "data_bench.sh: $python lacks torch/torchvision/PIL (Debian: python3-torchvision)" >&2
    exit 2
fi

echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(hostname): $(nproc) cores," \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), threads $threads"
sp_out=$("$prog" --data "$data" --threads "$threads" --reps "$reps")
echo "$sp_out"
pil_out=$("$python" "$here/data_peer.py" --data "$data" --threads "$threads" --reps "$peer_reps" \
    --workers 0 2 --path pil)
echo "$pil_out"
tensor_out=$("$python" "$here/data_peer.py" --data "$data" --threads "$threads" \
    --reps "$peer_reps" --workers 0 --path tensor)
echo "$tensor_out"

rate() { sed -n 's/.*images_per_s=\([0-9.]*\).*/\1/p' <<<"$1" | head -n1; }
sp_rate=$(rate "$(grep '^RESULT sp ' <<<"$sp_out")")
echo
echo "sp / torchvision (threads $threads):"
while read -r line; do
    peer=$(sed -n 's/^RESULT torchvision \(path=[a-z]* workers=[0-9]*\).*/\1/p' <<<"$line")
    peer_rate=$(rate "$line")
    awk -v a="$sp_rate" -v b="$peer_rate" -v p="$peer" \
        'BEGIN { printf "  vs %-22s %9.0f / %7.0f images/s = %6.1fx\n", p, a, b, a / b }'
done < <(grep -h '^RESULT torchvision' <<<"$pil_out"$'\n'"$tensor_out")
