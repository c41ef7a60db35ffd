#!/usr/bin/env bash
# The reduction end to end: a small sweep (baseline, least confidence, random; 4 seeds) run with
# 1 rank and with 2 ranks gives bit-identical replicate metrics and summaries; summary.h5 passes
# its schema and agrees with NumPy/SciPy recomputed from the replicate files; sp_reduce run by
# hand rewrites the same summary.
#   reduce.sh SP_SWEEP SP_REDUCE SP_VALIDATE MPIEXEC [PYTHON]
set -euo pipefail
sp_sweep=$1 sp_reduce=$2 sp_validate=$3 mpiexec=$4
python=${5:-/usr/bin/python3}
# shellcheck source=../support/fixture.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/fixture.sh"
cp "$fixtures/reduce.toml" "$tmp/red.toml"
"$sp_sweep" "$tmp/red.toml" --threads 1 --set output.dir="$tmp/one" > "$tmp/one.log" 2>&1
"$mpiexec" -n 2 --bind-to none "$sp_sweep" "$tmp/red.toml" --threads 1 \
    --set output.dir="$tmp/two" > "$tmp/two.log" 2>&1
grep -q "strategy_vs\|vs  al.strategy" "$tmp/one.log" || { echo "no summary printed"; cat "$tmp/one.log"; exit 1; }
"$sp_validate" "$tmp/one/summary.h5" "$tmp/two/summary.h5"
for f in "$tmp/one"/*.h5; do
    g="$tmp/two/$(basename "$f")"
    [[ $(basename "$f") == summary.h5 ]] && continue
    h5diff "$f" "$g" /metrics/scalars /metrics/scalars || { echo "metrics differ: $(basename "$f")"; exit 1; }
done
for obj in /summary/mean /summary/std /summary/t_low /summary/bootstrap_high /comparisons/t_p \
           /comparisons/w_p_holm /comparisons/hedges_g /conditions/replicate_ids; do
    h5diff "$tmp/one/summary.h5" "$tmp/two/summary.h5" "$obj" "$obj" \
        || { echo "summaries differ between 1 and 2 ranks: $obj"; exit 1; }
done
# Beyond its title and its sweep record (which name the directory and the command line).
cmp <(sed '1d; /^## Sweep record/,$d' "$tmp/one/summary.md") \
    <(sed '1d; /^## Sweep record/,$d' "$tmp/two/summary.md") \
    || { echo "summary.md differs (beyond its title and sweep record)"; exit 1; }
cp "$tmp/one/summary.h5" "$tmp/first.h5"
"$sp_reduce" "$tmp/one" --quiet
h5diff "$tmp/first.h5" "$tmp/one/summary.h5" /summary /summary || { echo "sp_reduce differs"; exit 1; }
"$python" - "$tmp/one" <<'PY'
import glob, sys
import h5py, numpy as np
from scipy import stats
d = sys.argv[1]
rows = {}
for path in sorted(glob.glob(d + "/*.h5")):
    with h5py.File(path, "r") as f:
        if f.attrs.get("file_kind") != "replicate":
            continue
        strat = "baseline"
        if "al" in f:
            strat = f["al"].attrs["strategy"]
        seed = int(f["provenance"].attrs["replicate_seed"])
        vals = {"accuracy": float(f["eval"].attrs["accuracy"])}
        vals.update({k: float(v) for k, v in f["metrics/scalars"].attrs.items()})
        rows.setdefault(strat, {})[seed] = vals
with h5py.File(d + "/summary.h5", "r") as s:
    metrics = list(s["metrics"].asstr()[()])
    strategies = list(s["conditions/strategy"].asstr()[()])
    mean, std, tl, th = (s["summary/" + k][()] for k in ("mean", "std", "t_low", "t_high"))
    a, b = s["comparisons/a"][()], s["comparisons/b"][()]
    t_p, w_p, t_holm = s["comparisons/t_p"][()], s["comparisons/w_p"][()], s["comparisons/t_p_holm"][()]
    dz = s["comparisons/cohens_dz"][()]
for c, strat in enumerate(strategies):
    for m in ("accuracy", "cosine_all_mean", "silhouette_euclidean_raw", "participation_ratio"):
        j = metrics.index(m)
        x = np.array([rows[strat][k][m] for k in sorted(rows[strat])])
        assert abs(mean[c, j] - x.mean()) <= 1e-12 * max(1, abs(x.mean())), (strat, m)
        assert abs(std[c, j] - x.std(ddof=1)) <= 1e-10 * max(1, x.std()), (strat, m)
        lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        assert abs(tl[c, j] - lo) < 1e-8 and abs(th[c, j] - hi) < 1e-8, (strat, m, tl[c, j], lo)
pairs = 0
for p in range(len(a)):
    sa, sb = strategies[a[p]], strategies[b[p]]
    seeds = sorted(set(rows[sa]) & set(rows[sb]))
    raw = []
    for j, m in enumerate(metrics):
        x = np.array([rows[sa][k][m] for k in seeds])
        y = np.array([rows[sb][k][m] for k in seeds])
        diff = x - y
        if np.all(np.isfinite(diff)) and np.std(diff) > 1e-12:
            r = stats.ttest_rel(x, y)
            assert abs(t_p[p, j] - r.pvalue) < 1e-10, (sa, sb, m, t_p[p, j], r.pvalue)
            assert abs(dz[p, j] - diff.mean() / diff.std(ddof=1)) < 1e-10
            if np.all(diff != 0):
                wr = stats.wilcoxon(x, y)
                assert abs(w_p[p, j] - wr.pvalue) < 1e-10, (sa, sb, m)
            pairs += 1
        raw.append(t_p[p, j])
    raw = np.array(raw)
    ok = ~np.isnan(raw)
    order = np.argsort(raw[ok], kind="stable")
    adj = np.minimum(1, np.maximum.accumulate(raw[ok][order] * (ok.sum() - np.arange(ok.sum()))))
    want = np.empty(ok.sum()); want[order] = adj
    assert np.allclose(t_holm[p][ok], want, atol=1e-12), (sa, sb)
assert len(a) == 3 and pairs > 0, (len(a), pairs)
print(f"summary agrees with SciPy: {len(strategies)} conditions, {len(a)} comparisons, {pairs} tests")
PY
echo "reduce e2e: 1 and 2 ranks identical, summary valid and agrees with SciPy"
