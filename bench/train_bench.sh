#!/usr/bin/env bash
# Training throughput in one command: sp_bench_train and PyTorch eager (bench/train_peer.py) on
# the same machine, model (torchvision's resnet18, 10 classes), optimizer (Adam), batch and
# threads; prints both and the ratios sp / PyTorch, against PyTorch as installed and against
# PyTorch with sp's allocator settings. See bench/README.md.
#
# usage: bench/train_bench.sh [BUILD_DIR [THREADS [precision]]]
#   build first: cmake --build BUILD_DIR --target sp_bench_train
#   precision: instead, sp alone on the quick sweep's model (Fashion-MNIST's 28x28 through the
#   ImageNet stem, width 0.5, batch 128): the train step in fp32 and CPU bf16 autocast, each also
#   in channels-last memory format, interleaved in one process (sp_bench_train
#   --compare-precision), with the ratios to fp32 and how far the weights drift from fp32's.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$(dirname "$here")/build}
threads=${2:-$(nproc)}
python=${SP_PYTHON:-/usr/bin/python3}
prog=$build/bench/sp_bench_train
if [[ ! -x $prog ]]; then
    echo "train_bench.sh: $prog not found; build it: cmake --build $build --target sp_bench_train" >&2
    exit 2
fi
echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(hostname): $(nproc) cores," \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), threads $threads"
if [[ ${3:-} == precision ]]; then
    echo "# CPU flags: $(grep -m1 -o -w -E 'avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"
    exec "$prog" --threads "$threads" --compare-precision --width 0.5 --stem imagenet --image 28 \
        --batch 128 --steps "${SP_BENCH_STEPS:-10}" --reps "${SP_BENCH_REPS:-5}"
fi
sp_out=$("$prog" --threads "$threads")
echo "$sp_out"
py_out=$("$python" "$here/train_peer.py" --threads "$threads")
echo "$py_out"
# The peer again with the allocator settings sp makes itself (sp::tune_allocator), so that the
# second pair of ratios compares the frameworks alone.
py_tuned=$(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 \
    MALLOC_TOP_PAD_=268435456 "$python" "$here/train_peer.py" --threads "$threads" | sed 's/^torch/torch-tuned/')
echo "$py_tuned"
ratio() {
    local a b
    a=$(awk -v k="$1" '$1 == "sp" && $2 == k {print $3}' <<<"$sp_out")
    b=$(awk -v k="$1" -v p="$2" '$1 == p && $2 == k {print $3}' <<<"$py_out
$py_tuned")
    awk -v a="$a" -v b="$b" -v k="$1" -v p="$2" 'BEGIN {printf "ratio %s sp/%s = %.2f\n", k, p, a / b}'
}
ratio compute torch
ratio epoch torch
ratio compute torch-tuned
ratio epoch torch-tuned
# Scoring an unlabelled pool against training on it (both images/s of sp): how much an
# active-learning query adds to a round, per image.
awk '$1 == "sp" && $2 == "epoch" {e = $3} $1 == "sp" && $2 == "score" {s = $3}
     END {printf "ratio score/epoch sp = %.2f (scoring an image costs %.2f of an epoch'"'"'s train step)\n", s / e, e / s}' <<<"$sp_out"
