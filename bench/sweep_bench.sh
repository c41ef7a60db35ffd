#!/usr/bin/env bash
# Sweep runtime in one command:
#  1. parallel efficiency: the same 8 replicates with 1 rank of 1 thread and with 2 ranks of
#     1 thread each; efficiency = T(1 rank) / (2 x T(2 ranks)) (1.0 = perfect; goal >= 0.9);
#  2. the reduction of >= 100 replicate files by sp_reduce (goal under 1 s), median of 3.
#
# usage: bench/sweep_bench.sh [BUILD_DIR]
#   build first: cmake --build BUILD_DIR --target sp_sweep sp_reduce
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$(dirname "$here")/build/dev}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# shellcheck source=../tests/support/fixture.sh
source "$here/../tests/support/fixture.sh"
echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(hostname): $(nproc) cores," \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
now() { date +%s.%N; }
t0=$(now)
"$build/src/apps/sp_sweep" "$fixtures/parallel.toml" --threads 1 --set output.dir="$tmp/one" \
    >/dev/null 2>&1
t1=$(now)
mpiexec -n 2 --bind-to none "$build/src/apps/sp_sweep" "$fixtures/parallel.toml" --threads 1 \
    --set output.dir="$tmp/two" >/dev/null 2>&1
t2=$(now)
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
    one = b - a; two = c - b
    printf "parallel: 8 replicates, 1 rank %.1f s, 2 ranks %.1f s, efficiency %.2f (goal >= 0.90)\n",
           one, two, one / (2 * two) }'

# The sweep of tests/e2e/reduce.sh, scaled to 102 small replicates.
small=(--set sweep.name=reduce --set sweep.seed=2 --set sweep.seeds=34
       --set dataset.synthetic.train_size=40 --set dataset.synthetic.eval_size=20
       --set dataset.synthetic.image_size=8 --set al.initial=20 --set al.query=10)
mpiexec -n 2 --bind-to none "$build/src/apps/sp_sweep" "$fixtures/reduce.toml" "${small[@]}" \
    --threads 1 --set output.dir="$tmp/red" >/dev/null 2>&1
files=$(ls "$tmp/red"/*.h5 | grep -vc summary.h5)
times=()
for _ in 1 2 3; do
    a=$(now)
    "$build/src/apps/sp_reduce" "$tmp/red" --quiet
    b=$(now)
    times+=("$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f", b - a}')")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
echo "reduce: $files replicate files, 3 conditions x 3 comparisons x 37 metrics, 10,000 bootstrap" \
     "resamples per interval: median ${median} s of (${times[*]}) (goal < 1 s)"
