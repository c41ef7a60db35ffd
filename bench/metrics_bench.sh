#!/usr/bin/env bash
# Metrics speed and memory in one command: sp against scikit-learn 1.2 / NumPy (OpenBLAS) on the
# same machine, data and threads, as ratios peer seconds / sp seconds (> 1: sp is faster), with
# each side's peak resident memory. Data: N clustered non-negative rows, D = 512, K = 10
# (bench/tsne_peer.py --make). Then, with --large, sp alone at N = 50,000 (memory bound).
#
# usage: bench/metrics_bench.sh [--large] [BUILD_DIR [THREADS [N]]]
#   build first: cmake --build BUILD_DIR --target sp_bench_metrics sp_bench_tsne
set -euo pipefail
large=0
if [[ ${1:-} == --large ]]; then
    large=1
    shift
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$(dirname "$here")/build/dev}
threads=${2:-$(nproc)}
n=${3:-10000}
python=${SP_PYTHON:-/usr/bin/python3}
for prog in sp_bench_metrics sp_bench_tsne; do
    if [[ ! -x $build/bench/$prog ]]; then
        echo "metrics_bench.sh: $build/bench/$prog not found; build it:" \
             "cmake --build $build --target $prog" >&2
        exit 2
    fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(hostname): $(nproc) cores," \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), threads $threads"
"$python" "$here/tsne_peer.py" "$work/data.h5" --make --n "$n" --d 512 --k 10 --seed 0 >/dev/null

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
printf '%-22s %9s %9s %8s %9s %9s  %s\n' metric sp_s peer_s ratio sp_MiB peer_MiB "values (sp / peer)"
compare() {
    local name=$1 sp_line=$2 peer_line=$3 key=$4
    local a b
    a=$(field seconds "$sp_line")
    b=$(field seconds "$peer_line")
    printf '%-22s %9.3f %9.3f %8.1f %9s %9s  %s / %s\n' "$name" "$a" "$b" \
        "$(awk -v a="$a" -v b="$b" 'BEGIN {print b / a}')" \
        "$(field peak_rss_mib "$sp_line")" "$(field peak_rss_mib "$peer_line")" \
        "$(field "$key" "$sp_line")" "$(field "$key" "$peer_line")"
}
for m in silhouette_euclidean silhouette_cosine cosine_histogram davies_bouldin; do
    s=$("$build/bench/sp_bench_metrics" "$work/data.h5" --metric "$m" --threads "$threads")
    p=$("$python" "$here/metrics_peer.py" "$work/data.h5" --metric "$m" --threads "$threads")
    compare "$m" "$s" "$p" value
done
s=$("$build/bench/sp_bench_tsne" "$work/data.h5" --method fft --threads "$threads")
p=$("$python" "$here/tsne_peer.py" "$work/data.h5" --threads "$threads")
compare "tsne (fft vs sklearn)" "$s" "$p" kl
s2=$("$build/bench/sp_bench_tsne" "$work/data.h5" --method barnes_hut --threads "$threads")
compare "tsne (bh vs sklearn)" "$s2" "$p" kl
s=$("$build/bench/sp_bench_metrics" "$work/data.h5" --metric superposition --threads "$threads")
printf '%-22s %9.3f %9s %8s %9s %9s  %s\n' superposition "$(field seconds "$s")" - - \
    "$(field peak_rss_mib "$s")" - "$(field value "$s")"

if [[ $large == 1 ]]; then
    echo "# sp alone at N = 50000 (goal: every metric within 2 GiB peak)"
    "$python" "$here/tsne_peer.py" "$work/large.h5" --make --n 50000 --d 512 --k 10 --seed 1 >/dev/null
    for m in silhouette_euclidean silhouette_cosine cosine_histogram davies_bouldin superposition; do
        "$build/bench/sp_bench_metrics" "$work/large.h5" --metric "$m" --threads "$threads"
    done
    "$build/bench/sp_bench_tsne" "$work/large.h5" --method fft --threads "$threads"
fi
