#!/usr/bin/env bash
# Two sweep seeds in one results directory (issue 14): the same small sweep run with
# --set sweep.seed=9 and --set sweep.seed=10 into one output.dir reduces to two sets of
# conditions, each with its own n (not n doubled), compared only within its own sweep seed;
# and files that differ in recorded device type or sp major version are never pooled or paired.
#   two_seeds.sh SP_SWEEP SP_REDUCE SP_VALIDATE [PYTHON]
set -euo pipefail
sp_sweep=$1 sp_reduce=$2 sp_validate=$3
python=${4:-/usr/bin/python3}
# shellcheck source=../support/fixture.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/fixture.sh"
cp "$fixtures/reduce.toml" "$tmp/red.toml"
for seed in 9 10; do
    "$sp_sweep" "$tmp/red.toml" --threads 1 --set sweep.seeds=3 --set sweep.seed=$seed \
        --set output.dir="$tmp/out" > "$tmp/seed$seed.log" 2>&1 \
        || { echo "sweep with sweep.seed=$seed failed"; cat "$tmp/seed$seed.log"; exit 1; }
done
"$sp_reduce" "$tmp/out" --quiet
"$sp_validate" "$tmp/out/summary.h5"
if ! grep -q "sweep.seed=9" "$tmp/out/summary.md" || ! grep -q "sweep.seed=10" "$tmp/out/summary.md"
then
    echo "summary.md does not tell the sweep seeds apart"; cat "$tmp/out/summary.md"; exit 1
fi
"$python" - "$tmp/out/summary.h5" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1], "r") as s:
    identity = list(s["conditions/identity"].asstr()[()])
    label = list(s["conditions/label"].asstr()[()])
    strategy = list(s["conditions/strategy"].asstr()[()])
    count = s["conditions/replicates"][()]
    n = s["summary/n"][()]
    a, b, pn = s["comparisons/a"][()], s["comparisons/b"][()], s["comparisons/n"][()]
    # AUBC metrics exist for AL replicates only: a comparison with the baseline has no pairs.
    final = [j for j, m in enumerate(s["metrics"].asstr()[()]) if not m.startswith("aubc_")]
    major = list(s["conditions/sp_version_major"].asstr()[()])
    total = int(s.attrs["replicates"])
sweep_seed = [next(l for l in c.splitlines() if l.startswith("sweep.seed = ")) for c in identity]
assert total == 18, total
assert len(identity) == 6, (len(identity), label)
assert sorted(sweep_seed) == ["sweep.seed = 10"] * 3 + ["sweep.seed = 9"] * 3, sweep_seed
assert len(set(zip(sweep_seed, strategy))) == 6, "one condition per sweep seed and strategy"
assert list(count) == [3] * 6, ("each condition has its own n, not n doubled", list(count))
assert (n[:, 0] == 3).all(), n[:, 0]
assert len(set(label)) == 6 and all("sweep.seed=" in l for l in label), label
assert len(set(major)) == 1, major
assert len(a) == 6, ("3 comparisons per sweep seed", len(a))
for i in range(len(a)):
    assert sweep_seed[a[i]] == sweep_seed[b[i]], ("paired across sweep seeds", label[a[i]], label[b[i]])
    assert (pn[i][final] == 3).all(), ("pairs on the 3 shared seeds", label[a[i]], pn[i])
print("two sweep seeds: 6 conditions of n = 3, 6 comparisons, none across sweep seeds")
PY
# Replicates that ran on another device type, or were written by another sp major version, are
# other conditions and never paired: the sweep.seed=9 files, with the baseline's sp_version
# set to 999.0.0 and the random replicates' recorded device set to cuda:0 (device "auto").
mkdir "$tmp/mixed"
"$python" - "$tmp/out" "$tmp/mixed" <<'PY'
import glob, os, shutil, sys
import h5py
for path in sorted(glob.glob(sys.argv[1] + "/*.h5")):
    with h5py.File(path, "r") as f:
        keep = f.attrs.get("file_kind") == "replicate" and f["provenance"].attrs["sweep_seed"] == 9
    if keep:
        shutil.copy(path, sys.argv[2])
for path in glob.glob(sys.argv[2] + "/*.h5"):
    with h5py.File(path, "r+") as f:
        strategy = f["al"].attrs["strategy"] if "al" in f else "baseline"
        if strategy == "baseline":
            f.attrs["sp_version"] = "999.0.0"
        elif strategy == "random":
            f["provenance"].attrs["device"] = "cuda:0"
PY
"$sp_reduce" "$tmp/mixed" --quiet
"$python" - "$tmp/mixed/summary.h5" <<'PY'
import sys
import h5py
with h5py.File(sys.argv[1], "r") as s:
    identity = list(s["conditions/identity"].asstr()[()])
    label = list(s["conditions/label"].asstr()[()])
    strategy = list(s["conditions/strategy"].asstr()[()])
    major = list(s["conditions/sp_version_major"].asstr()[()])
    count = list(s["conditions/replicates"][()])
    pairs = len(s["comparisons/a"][()]) if "comparisons" in s else 0
assert sorted(strategy) == ["baseline", "least_confidence", "random"], (strategy, label)
assert count == [3, 3, 3], count
assert major[strategy.index("baseline")] == "999", major
assert 'train.device = "cuda"' in identity[strategy.index("random")], identity
assert all("sp_version_major=" in l and "train.device=" in l for l in label), label
assert pairs == 0, ("paired across sp major versions or device types", pairs)
print("mixed: 3 conditions, no comparison across device types or sp major versions")
PY
echo "two seeds e2e: separate conditions per sweep seed, each with its own n"
