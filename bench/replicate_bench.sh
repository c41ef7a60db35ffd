#!/usr/bin/env bash
# End to end in one command: one replicate of the quick sweep (sweeps/quick.toml, least
# confidence) run by sp_sweep and by the notebook-style peer bench/replicate_peer.py (PyTorch +
# torchvision + scikit-learn), one after the other, same threads. Prints each side's stage times
# (data, train, score, metrics, other, total), the ratios peer / sp, and the final accuracy and
# metrics of both, then (with several seeds) their means and spreads. See bench/README.md.
#
# usage: bench/replicate_bench.sh [BUILD_DIR [THREADS [SEEDS [WORKDIR]]]]
#   SEEDS: replicate seeds, comma-separated (default 0); seed k of sp is quick.toml's replicate
#          seed k (the same replicate ID), seed k of the peer its own seed k.
#   PEER_TUNED=1 also runs the peer with the glibc allocator settings sp makes for itself
#   (sp::tune_allocator), as bench/train_bench.sh does.
#   build first: cmake --build BUILD_DIR --target sp_sweep
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$(dirname "$here")/build}
threads=${2:-2}
seeds=${3:-0}
work=${4:-$(mktemp -d /tmp/sp-replicate-bench.XXXXXX)}
python=${SP_PYTHON:-/usr/bin/python3}
prog=$build/src/apps/sp_sweep
if [[ ! -x $prog ]]; then
    echo "replicate_bench.sh: $prog not found; build it: cmake --build $build --target sp_sweep" >&2
    exit 2
fi
mkdir -p "$work"
# quick.toml's keys for its least-confidence replicates, without its other strategies and its
# [analysis] (a one-strategy sweep cannot reduce its contrasts): the same replicate IDs.
cat >"$work/lc.toml" <<EOF
[sweep]
name = "quick-lc"
seed = 20241216
seeds = 3

[dataset]
name = "fashion-mnist"
train_subset = 8000
eval_subset = 2000
subset = "stratified"

[model]
stem = "imagenet"
width = 0.5

[train]
optimizer = "adam"
lr = 1e-3
epochs = 4
batch_size = 128
# As sweeps/quick.toml: checkpoints at the end of each round's training only. The evaluation
# stays after every epoch (the default), because the peer evaluates after every epoch too.
checkpoint_every = 0

[al]
strategy = "least_confidence"
initial = 2000
query = 2000
start = "warm"

[metrics]
cosine_bins = 50
spaces = ["raw", "tsne"]

[output]
dir = "$work/sp"
EOF
now() { date +%s.%N; }
echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(hostname): $(nproc) cores," \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), threads $threads," \
     "seeds $seeds, work $work"
echo "# sp: $prog ($(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$here" diff --quiet 2>/dev/null || echo '-dirty'))"
IFS=, read -ra seed_list <<<"$seeds"
for s in "${seed_list[@]}"; do
    echo "# seed $s: load average before sp: $(cut -d' ' -f1-3 /proc/loadavg)"
    t0=$(now)
    "$prog" "$work/lc.toml" --set "sweep.seeds=[$s]" --threads "$threads" --force \
        >"$work/sp-$s.log" 2>&1 || { cat "$work/sp-$s.log" >&2; exit 1; }
    t1=$(now)
    echo "sp_wall $s $(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" >>"$work/walls"
    echo "# seed $s: load average before peer: $(cut -d' ' -f1-3 /proc/loadavg)"
    t0=$(now)
    "$python" "$here/replicate_peer.py" --seed "$s" --threads "$threads" --quiet \
        --json "$work/peer-$s.json" >"$work/peer-$s.log" 2>&1 || { cat "$work/peer-$s.log" >&2; exit 1; }
    t1=$(now)
    echo "peer_wall $s $(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" >>"$work/walls"
    if [[ ${PEER_TUNED:-0} == 1 ]]; then
        t0=$(now)
        MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_TOP_PAD_=268435456 \
            "$python" "$here/replicate_peer.py" --seed "$s" --threads "$threads" --quiet \
            --json "$work/tuned-$s.json" >"$work/tuned-$s.log" 2>&1 || { cat "$work/tuned-$s.log" >&2; exit 1; }
        t1=$(now)
        echo "tuned_wall $s $(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" >>"$work/walls"
    fi
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$python" - "$work" "$seeds" <<'EOF'
import glob, json, re, statistics, sys
import h5py

work, seeds = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
walls = {}
for line in open(f"{work}/walls"):
    kind, seed, sec = line.split()
    walls[(kind, int(seed))] = float(sec)
STAGES = ["data", "train", "  of which eval", "score", "metrics", "other", "total"]
KEYS = ["accuracy", "cosine_all_mean", "cosine_within_mean", "cosine_between_mean",
        "silhouette_euclidean_raw", "silhouette_cosine_raw", "davies_bouldin_raw",
        "silhouette_euclidean_tsne", "silhouette_cosine_tsne", "davies_bouldin_tsne",
        "tsne_kl_divergence"]


def sp_side(seed):
    log = open(f"{work}/sp-{seed}.log").read()
    data = float(re.search(r"\] dataset \S+: read .* in ([0-9.]+) s", log).group(1))
    ids = re.findall(r"\] replicate ([0-9a-f]{16}) \(", log)
    with h5py.File(f"{work}/sp/{ids[0]}.h5", "r") as f:
        h = f["history"]
        epoch_s = h["seconds"][()]
        train_only = 0.0
        sizes = f["al/labelled_size"][()]
        rounds = sorted(k for k in f["al"] if k.startswith("round_"))
        round_s = 0.0
        for r, name in enumerate(rounds):
            g = f["al"][name]
            round_s += g.attrs["seconds"]
            first, n = int(g.attrs["first_epoch"]), int(g.attrs["epochs"])
            for e in range(first, first + n):
                train_only += sizes[r] / h["images_per_second"][e]
        m = f["metrics"]
        values = {k: float(m["scalars"].attrs[k]) for k in KEYS if k != "accuracy"}
        values["accuracy"] = float(f["eval"].attrs["accuracy"])
        st = {"data": data, "train": float(epoch_s.sum()),
              "  of which eval": float(epoch_s.sum()) - train_only,
              "score": round_s - float(epoch_s.sum()), "metrics": float(m.attrs["seconds"])}
    return ids[0], st, values


def peer_side(seed, kind):
    d = json.load(open(f"{work}/{kind}-{seed}.json"))
    s = d["stages"]
    st = {"data": s["data"], "train": s["train"], "  of which eval": s["train_eval"],
          "score": s["score"], "metrics": s["metrics"]}
    return st, d["metrics"]


def finish(st, wall):
    st["total"] = wall
    st["other"] = wall - sum(st[k] for k in ("data", "train", "score", "metrics"))
    return st


results = {}
for seed in seeds:
    rid, sp_st, sp_v = sp_side(seed)
    sp_st = finish(sp_st, walls[("sp_wall", seed)])
    sides = [("sp", sp_st, sp_v)]
    for kind in ("peer", "tuned"):
        if (f"{kind}_wall", seed) in walls:
            st, v = peer_side(seed, kind)
            sides.append((kind, finish(st, walls[(f"{kind}_wall", seed)]), v))
    results[seed] = sides
    print(f"\nseed {seed} (sp replicate {rid}); seconds, ratio = peer / sp (> 1: sp faster)")
    head = f"{'stage':16s} {'sp':>9s}" + "".join(f" {k:>9s} {'ratio':>6s}" for k, _, _ in sides[1:])
    print(head)
    for stage in STAGES:
        row = f"{stage:16s} {sp_st[stage]:9.2f}"
        for _, st, _ in sides[1:]:
            ratio = st[stage] / sp_st[stage] if sp_st[stage] > 0 else float("nan")
            row += f" {st[stage]:9.2f} {ratio:6.2f}"
        print(row)
    print(f"{'metric':26s}" + "".join(f" {k:>10s}" for k, _, _ in sides))
    for key in KEYS:
        print(f"{key:26s}" + "".join(f" {v[key]:10.4f}" for _, _, v in sides))

if len(seeds) > 1:
    print(f"\nover seeds {seeds}: median total ratio, then mean +- SD of each metric")
    for i, kind in enumerate(k for k, _, _ in results[seeds[0]][1:]):
        r = [results[s][i + 1][1]["total"] / results[s][0][1]["total"] for s in seeds]
        print(f"total ratio {kind}/sp: median {statistics.median(r):.2f} ({', '.join(f'{x:.2f}' for x in r)})")
    names = [k for k, _, _ in results[seeds[0]]]
    print(f"{'metric':26s}" + "".join(f" {k + ' mean +- SD':>22s}" for k in names))
    for key in KEYS:
        row = f"{key:26s}"
        for i in range(len(names)):
            v = [results[s][i][2][key] for s in seeds]
            row += f" {statistics.mean(v):11.4f} +- {statistics.stdev(v):6.4f}"
        print(row)
EOF
