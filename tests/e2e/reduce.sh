#!/usr/bin/env bash
# The reduction end to end: a small sweep (baseline, least confidence, random; 4 seeds) run with
# 1 rank and with 2 ranks gives bit-identical replicate metrics and summaries; summary.h5
# (schema version 3) passes its schema and agrees with NumPy/SciPy/statsmodels recomputed from
# the replicate files (paired t, exact sign-flip permutation test, Holm over the declared family,
# Benjamini-Hochberg over the secondary metrics, minimum detectable difference); summary.md
# leads with the primary table; sp_reduce run by hand rewrites the same summary.
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
for obj in /summary/mean /summary/std /summary/t_low /summary/bootstrap_high /summary/q25 \
           /comparisons/t_p /comparisons/signflip_p /comparisons/p_holm /comparisons/q_bh \
           /comparisons/diff_bca_low /comparisons/hedges_gz /comparisons/mdd \
           /trajectories/mean /conditions/replicate_ids; do
    h5diff "$tmp/one/summary.h5" "$tmp/two/summary.h5" "$obj" "$obj" \
        || { echo "summaries differ between 1 and 2 ranks: $obj"; exit 1; }
done
# Beyond its title and its sweep record (which name the directory and the command line).
cmp <(sed '1d; /^## Sweep record/,$d' "$tmp/one/summary.md") \
    <(sed '1d; /^## Sweep record/,$d' "$tmp/two/summary.md") \
    || { echo "summary.md differs (beyond its title and sweep record)"; exit 1; }
# summary.md: the primary table first, then the secondary (exploratory) metrics, the conditions,
# the trajectories and the sweep record, in that order.
order=$(grep -n '^## ' "$tmp/one/summary.md" | cut -d: -f2- | tr '\n' '|')
[[ $order == "## Primary endpoints|## Secondary endpoints (exploratory)|## Conditions|## Trajectories|## Sweep record|" ]] \
    || { echo "summary.md sections out of order: $order"; exit 1; }
grep -q "Holm-corrected at alpha = 0.05" "$tmp/one/summary.md" \
    && grep -q "sign-flip permutation test" "$tmp/one/summary.md" \
    && grep -q "exploratory" "$tmp/one/summary.md" \
    || { echo "summary.md does not state the family, alpha and declared test"; exit 1; }
cp "$tmp/one/summary.h5" "$tmp/first.h5"
"$sp_reduce" "$tmp/one" --quiet
h5diff "$tmp/first.h5" "$tmp/one/summary.h5" /summary /summary || { echo "sp_reduce differs"; exit 1; }
"$python" - "$tmp/one" <<'PY'
import glob, sys, warnings
warnings.simplefilter("ignore", RuntimeWarning)  # statsmodels power at tiny n: nct overflow
import h5py, numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
d = sys.argv[1]
rows = {}
for path in sorted(glob.glob(d + "/*.h5")):
    with h5py.File(path, "r") as f:
        if f.attrs.get("file_kind") != "replicate":
            continue
        strat = "baseline"
        vals = {"accuracy": float(f["eval"].attrs["accuracy"])}
        if "al" in f:
            strat = f["al"].attrs["strategy"]
            x = f["al/labelled_size"][()].astype(float)
            y = f["al/accuracy"][()]
            vals["aubc_accuracy"] = np.trapz(y, x) / (x[-1] - x[0])
        seed = int(f["provenance"].attrs["replicate_seed"])
        vals.update({k: float(v) for k, v in f["metrics/scalars"].attrs.items()})
        rows.setdefault(strat, {})[seed] = vals
untested = lambda m: m.startswith("cosine_full_") or m in ("tsne_kl_divergence", "silhouette_cosine_tsne")
primary = ["accuracy", "cosine_all_mean", "silhouette_euclidean_tsne", "davies_bouldin_tsne"]
with h5py.File(d + "/summary.h5", "r") as s:
    assert s.attrs["schema_version"] == 3 and s.attrs["bootstrap_resamples"] == 10000
    metrics = list(s["metrics"].asstr()[()])
    strategies = list(s["conditions/strategy"].asstr()[()])
    assert list(s["analysis/sweep_name"].asstr()[()]) == ["reduce-e2e"]
    assert s["analysis/source"].asstr()[0].startswith("sweeps/reduce-e2e-9-")
    assert list(s["analysis/test"].asstr()[()]) == ["sign_flip"] and s["analysis/alpha"][0] == 0.05
    mean, std, tl, th, q25 = (s["summary/" + k][()] for k in ("mean", "std", "t_low", "t_high", "q25"))
    a, b = s["comparisons/a"][()], s["comparisons/b"][()]
    kind = list(s["comparisons/kind"].asstr()[()])
    g = {k: s["comparisons/" + k][()] for k in ("t_p", "signflip_p", "p", "p_holm", "q_bh", "role",
         "cohens_dz", "hedges_gz", "n", "mdd", "sd_difference", "family_size", "equivalent")}
    assert s["comparisons"].attrs["signflip_exact_max_n"] == 20
    traj = s["trajectories/condition"][()]
for c, strat in enumerate(strategies):
    for m in ("accuracy", "cosine_all_mean", "silhouette_euclidean_raw", "participation_ratio"):
        j = metrics.index(m)
        x = np.array([rows[strat][k][m] for k in sorted(rows[strat])])
        assert abs(mean[c, j] - x.mean()) <= 1e-12 * max(1, abs(x.mean())), (strat, m)
        assert abs(std[c, j] - x.std(ddof=1)) <= 1e-10 * max(1, x.std()), (strat, m)
        assert abs(q25[c, j] - np.percentile(x, 25)) <= 1e-12 * max(1, abs(x.mean())), (strat, m)
        lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        assert abs(tl[c, j] - lo) < 1e-8 and abs(th[c, j] - hi) < 1e-8, (strat, m, tl[c, j], lo)
    if strat != "baseline":
        j = metrics.index("aubc_accuracy")
        x = np.array([rows[strat][k]["aubc_accuracy"] for k in sorted(rows[strat])])
        assert abs(mean[c, j] - x.mean()) < 1e-12, (strat, mean[c, j], x.mean())
assert sorted(strategies[t] for t in traj) == ["least_confidence", "random"], traj
pairs = 0
want_p, want_s = [], []
for p in range(len(a)):
    sa, sb = strategies[a[p]], strategies[b[p]]
    assert kind[p] == ("strategy_vs_baseline" if sb == "baseline" else "strategy_vs_random")
    seeds = sorted(set(rows[sa]) & set(rows[sb]))
    for j, m in enumerate(metrics):
        role = 0 if untested(m) else 2 if m in primary else 1
        assert g["role"][p, j] == role, (m, g["role"][p, j])
        x = np.array([rows[sa][k].get(m, np.nan) for k in seeds])
        y = np.array([rows[sb][k].get(m, np.nan) for k in seeds])
        ok = ~np.isnan(x) & ~np.isnan(y)
        x, y = x[ok], y[ok]
        assert g["n"][p, j] == len(x)
        diff = x - y
        if len(x) >= 2 and np.std(diff) > 1e-12:
            r = stats.ttest_rel(x, y)
            assert abs(g["t_p"][p, j] - r.pvalue) < 1e-10, (sa, sb, m, g["t_p"][p, j], r.pvalue)
            assert abs(g["cohens_dz"][p, j] - diff.mean() / diff.std(ddof=1)) < 1e-10
            n = len(x)
            assert abs(g["hedges_gz"][p, j] - g["cohens_dz"][p, j] * (1 - 3 / (4 * (n - 1) - 1))) < 1e-10
            pt = stats.permutation_test((x, y), lambda u, v: np.mean(u - v), vectorized=False,
                                        permutation_type="samples", n_resamples=np.inf)
            assert abs(g["signflip_p"][p, j] - pt.pvalue) < 1e-10, (sa, sb, m, g["signflip_p"][p, j], pt.pvalue)
            pairs += 1
        if role == 0:
            assert np.isnan(g["p"][p, j])
        elif not np.isnan(g["p"][p, j]):
            assert g["p"][p, j] == g["signflip_p"][p, j]
            (want_p if role == 2 else want_s).append((p, j, g["p"][p, j]))
        if role == 2 and len(x) >= 2:
            sd = diff.std(ddof=1)
            a_fam = 0.05 / g["family_size"][p]
            # the sign-flip test cannot reach alpha / m below n with 2 / 2^n < alpha / m
            floor_n = next(k for k in range(1, 65) if 2 / 2**k < a_fam)
            if len(x) < floor_n:
                assert g["mdd"][p, j] == np.inf, (m, g["mdd"][p, j], len(x), floor_n)
            else:
                es = TTestPower().solve_power(nobs=len(x), alpha=a_fam, power=0.8)
                assert abs(g["mdd"][p, j] - es * sd) <= 1e-6 * es * sd, (m, g["mdd"][p, j], es * sd)
        if role != 2:
            assert np.isnan(g["mdd"][p, j]) and np.isnan(g["p_holm"][p, j])
        assert g["equivalent"][p, j] == -1
holm = multipletests([v for _, _, v in want_p], method="holm")[1]
for (p, j, _), h in zip(want_p, holm):
    assert abs(g["p_holm"][p, j] - h) < 1e-12, (p, metrics[j], g["p_holm"][p, j], h)
assert all(g["family_size"] == len(want_p)) and len(want_p) == 4 * len(a), (g["family_size"], len(want_p))
bh = multipletests([v for _, _, v in want_s], method="fdr_bh")[1]
for (p, j, _), q in zip(want_s, bh):
    assert abs(g["q_bh"][p, j] - q) < 1e-12, (p, metrics[j], g["q_bh"][p, j], q)
assert len(a) == 3 and pairs > 0, (len(a), pairs)
print(f"summary agrees with SciPy/statsmodels: {len(strategies)} conditions, {len(a)} comparisons, "
      f"{pairs} tests, Holm family of {len(want_p)}, BH over {len(want_s)}")
PY
echo "reduce e2e: 1 and 2 ranks identical, summary valid and agrees with SciPy"
