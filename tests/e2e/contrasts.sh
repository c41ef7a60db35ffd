#!/usr/bin/env bash
# Declared contrasts end to end (issue 15). A tiny sweep with an axis over al.start and the
# contrast "al.start: cold vs warm": the comparison pairs cold with warm runs of the same seed,
# appears in summary.md's primary table and in summary.h5 (schema version 3, read with h5py and
# checked against SciPy / statsmodels: sign-flip p, Holm, TOST, minimum detectable difference,
# seeds needed), and sp_reduce --plan-seeds prints the seeds needed and writes nothing. A sweep
# whose variant axis moves al.start together with al.strategy refuses the same contrast, naming
# both conditions and the other key, with exit code 2 (sp_sweep and sp_reduce alike).
#   contrasts.sh SP_SWEEP SP_REDUCE SP_VALIDATE [PYTHON]
set -euo pipefail
sp_sweep=$1 sp_reduce=$2 sp_validate=$3
python=${4:-/usr/bin/python3}
# shellcheck source=../support/fixture.sh
source "$(dirname "${BASH_SOURCE[0]}")/../support/fixture.sh"

base='[dataset]
name = "synthetic"
[dataset.synthetic]
classes = 3
train_size = 60
eval_size = 30
image_size = 10
[model]
stem = "cifar"
width = 0.0625
[train]
epochs = 1
batch_size = 20
[al]
strategy = "random"
initial = 30
query = 15
[metrics]
tsne.perplexity = 5'

cat > "$tmp/warm_cold.toml" <<TOML
[sweep]
name = "warm-cold"
seed = 5
seeds = 3
[sweep.axes]
"al.start" = ["cold", "warm"]
$base
[analysis]
primary = ["accuracy", "aubc_accuracy", "cosine_all_mean"]
[[analysis.contrasts]]
factor = "al.start"
a = "cold"
b = "warm"
[analysis.equivalence]
accuracy = 0.5
[analysis.effect]
accuracy = 0.05
TOML

cat > "$tmp/confounded.toml" <<TOML
[sweep]
name = "confounded"
seed = 5
seeds = 2
[[sweep.variants.mode]]
label = "warm-random"
al.start = "warm"
al.strategy = "random"
[[sweep.variants.mode]]
label = "cold-lc"
al.start = "cold"
al.strategy = "least_confidence"
$base
[analysis]
[[analysis.contrasts]]
factor = "al.start"
a = "cold"
b = "warm"
TOML

# (b) warm vs cold end to end.
"$sp_sweep" "$tmp/warm_cold.toml" --threads 1 --set output.dir="$tmp/wc" > "$tmp/wc.log" 2>&1 \
    || { echo "warm/cold sweep failed"; cat "$tmp/wc.log"; exit 1; }
"$sp_validate" "$tmp/wc/summary.h5"
primary=$(sed -n '/^## Primary endpoints/,/^## Secondary/p' "$tmp/wc/summary.md")
for endpoint in accuracy aubc_accuracy cosine_all_mean; do
    grep -q "^| al.start: cold vs warm | .*al.start=\"cold\".*  vs  .*al.start=\"warm\".* | $endpoint | 3 |" \
        <<< "$primary" || { echo "no primary row for $endpoint"; cat "$tmp/wc/summary.md"; exit 1; }
done
grep -q "analysis from sweeps/warm-cold-5-" <<< "$primary" \
    || { echo "summary.md does not name the analysis' source"; exit 1; }

# (c) the seed plan: printed, nothing written.
cp "$tmp/wc/summary.h5" "$tmp/before.h5"
cp "$tmp/wc/summary.md" "$tmp/before.md"
"$sp_reduce" "$tmp/wc" --plan-seeds > "$tmp/plan.md"
grep -q "^# Seed plan for" "$tmp/plan.md" && grep -q "| seeds needed |" "$tmp/plan.md" \
    || { echo "--plan-seeds printed no seed plan"; cat "$tmp/plan.md"; exit 1; }
cmp -s "$tmp/before.h5" "$tmp/wc/summary.h5" && cmp -s "$tmp/before.md" "$tmp/wc/summary.md" \
    || { echo "--plan-seeds rewrote the summary"; exit 1; }

# (d) summary.h5 version 3 through h5py, against SciPy and statsmodels.
"$python" - "$tmp/wc" "$tmp/plan.md" <<'PY'
import glob, math, sys, warnings
warnings.simplefilter("ignore", RuntimeWarning)  # statsmodels power at tiny n: nct overflow
import h5py, numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.weightstats import ttost_paired
d, plan = sys.argv[1], open(sys.argv[2]).read()
rows = {}
for path in sorted(glob.glob(d + "/*.h5")):
    with h5py.File(path, "r") as f:
        if f.attrs.get("file_kind") != "replicate":
            continue
        cfg = f["provenance"].attrs["config_toml"]
        start = "cold" if 'start = "cold"' in cfg else "warm"
        x = f["al/labelled_size"][()].astype(float)
        vals = {"accuracy": float(f["eval"].attrs["accuracy"]),
                "aubc_accuracy": np.trapz(f["al/accuracy"][()], x) / (x[-1] - x[0])}
        vals.update({k: float(v) for k, v in f["metrics/scalars"].attrs.items()})
        rows.setdefault(start, {})[int(f["provenance"].attrs["replicate_seed"])] = vals
assert sorted(rows) == ["cold", "warm"] and all(len(v) == 3 for v in rows.values()), rows.keys()
primary = ["accuracy", "aubc_accuracy", "cosine_all_mean"]
with h5py.File(d + "/summary.h5", "r") as s:
    assert s.attrs["schema_version"] == 3
    assert s["analysis/source"].asstr()[0].startswith("sweeps/warm-cold-5-")
    assert "al.start" in s["analysis/spec_toml"].asstr()[0]
    metrics = list(s["metrics"].asstr()[()])
    coords = list(s["conditions/coordinates"].asstr()[()])
    label = list(s["conditions/label"].asstr()[()])
    a, b = s["comparisons/a"][()], s["comparisons/b"][()]
    assert len(a) == 1, a
    a, b = a[0], b[0]
    assert coords[a] == "al.start=cold" and coords[b] == "al.start=warm", coords
    assert s["comparisons/kind"].asstr()[0] == "declared"
    assert s["comparisons/contrast"].asstr()[0] == "al.start: cold vs warm"
    assert s["comparisons/factor"].asstr()[0] == "al.start"
    assert (s["comparisons/level_a"].asstr()[0], s["comparisons/level_b"].asstr()[0]) == ("cold", "warm")
    m = len(primary)
    assert s["comparisons/family_size"][0] == m
    g = {k: s["comparisons/" + k][0] for k in ("n", "role", "mean_difference", "sd_difference",
         "diff_t_low", "diff_t_high", "diff_bca_low", "diff_bca_high", "t_p", "signflip_p", "p",
         "p_holm", "q_bh", "margin", "tost_p", "equivalent", "cohens_dav", "mdd", "effect",
         "seeds_needed")}
    assert s["trajectories/condition"].shape == (2,)
    assert s["trajectories/metrics"].asstr()[0] == "accuracy"
seeds = sorted(rows["cold"])
ps = []
for name in primary:
    j = metrics.index(name)
    x = np.array([rows["cold"][k][name] for k in seeds])
    y = np.array([rows["warm"][k][name] for k in seeds])
    dd = x - y
    assert g["role"][j] == 2 and g["n"][j] == 3
    assert abs(g["mean_difference"][j] - dd.mean()) < 1e-12
    assert abs(g["sd_difference"][j] - dd.std(ddof=1)) < 1e-12
    if dd.std() > 1e-12:
        lo, hi = stats.t.interval(0.95, 2, loc=dd.mean(), scale=stats.sem(dd))
        assert abs(g["diff_t_low"][j] - lo) < 1e-9 and abs(g["diff_t_high"][j] - hi) < 1e-9
        assert g["diff_bca_low"][j] <= g["diff_bca_high"][j]
    pt = stats.permutation_test((x, y), lambda u, v: np.mean(u - v), vectorized=False,
                                permutation_type="samples", n_resamples=np.inf)
    assert abs(g["signflip_p"][j] - pt.pvalue) < 1e-12 and g["p"][j] == g["signflip_p"][j]
    ps.append(g["p"][j])
    assert math.isnan(g["q_bh"][j])
    if name == "accuracy":
        assert g["margin"][j] == 0.5 and g["effect"][j] == 0.05
        if dd.std() > 1e-12:
            tost = ttost_paired(x, y, -0.5, 0.5)[0]
            assert abs(g["tost_p"][j] - tost) < 1e-10, (g["tost_p"][j], tost)
            assert g["equivalent"][j] == (1 if tost < 0.05 else 0)
            sd = dd.std(ddof=1)
            need = TTestPower().solve_power(effect_size=0.05 / sd, alpha=0.05 / m, power=0.8)
            # at least the sign-flip floor: the smallest n with 2 / 2^n < alpha / m
            floor_n = next(k for k in range(1, 65) if 2 / 2**k < 0.05 / m)
            assert g["seeds_needed"][j] == max(floor_n, math.ceil(need)), (g["seeds_needed"][j], need)
            assert f"| {int(g['seeds_needed'][j])} |" in plan, plan
    else:
        assert math.isnan(g["margin"][j]) and g["equivalent"][j] == -1 and math.isnan(g["effect"][j])
    if dd.std() > 1e-12:
        # 3 seeds: the sign-flip test's smallest p, 2 / 2^3, cannot reach alpha / m: no power
        assert g["mdd"][j] == math.inf, g["mdd"][j]
holm = multipletests(ps, method="holm")[1]
for name, h in zip(primary, holm):
    assert abs(g["p_holm"][metrics.index(name)] - h) < 1e-12
sec = [j for j, r in enumerate(g["role"]) if r == 1 and not math.isnan(g["p"][j])]
bh = multipletests([g["p"][j] for j in sec], method="fdr_bh")[1]
assert np.allclose([g["q_bh"][j] for j in sec], bh, rtol=0, atol=1e-12)
print(f"warm vs cold: {label[a]} vs {label[b]}, 3 pairs; primary family of {m}, BH over {len(sec)}")
PY

# sp_reduce --analysis FILE replaces the record's analysis; a level no condition has is refused.
printf '[analysis]\nprimary = ["accuracy"]\n[[analysis.contrasts]]\nfactor = "al.start"\na = "warm"\nb = "cold"\n' \
    > "$tmp/reverse.toml"
"$sp_reduce" "$tmp/wc" --quiet --analysis "$tmp/reverse.toml"
"$python" - "$tmp/wc/summary.h5" "$tmp/reverse.toml" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as s:
    assert s["analysis/source"].asstr()[0] == "--analysis " + sys.argv[2], s["analysis/source"][0]
    assert s["comparisons/contrast"].asstr()[()].tolist() == ["al.start: warm vs cold"]
    assert s["comparisons/family_size"][0] == 1
PY
printf '[analysis]\n[[analysis.contrasts]]\nfactor = "al.strategy"\na = "margin"\nb = "random"\n' \
    > "$tmp/absent.toml"
set +e
"$sp_reduce" "$tmp/wc" --analysis "$tmp/absent.toml" > "$tmp/absent.log" 2>&1
rc=$?
set -e
[[ $rc == 2 ]] && grep -qF "level 'margin' matches no condition; the levels of 'al.strategy' are: random" "$tmp/absent.log" \
    || { echo "a contrast level without conditions: exit $rc"; cat "$tmp/absent.log"; exit 1; }

# (a) a contrast between conditions that differ in two factors is refused.
set +e
"$sp_sweep" "$tmp/confounded.toml" --threads 1 --set output.dir="$tmp/cf" > "$tmp/cf.log" 2>&1
sweep_rc=$?
"$sp_reduce" "$tmp/cf" > "$tmp/cf_reduce.log" 2>&1
reduce_rc=$?
set -e
[[ $sweep_rc == 2 && $reduce_rc == 2 ]] \
    || { echo "confounded contrast: sp_sweep exit $sweep_rc, sp_reduce exit $reduce_rc (want 2)"; cat "$tmp/cf.log" "$tmp/cf_reduce.log"; exit 1; }
ls "$tmp/cf"/*.h5 > /dev/null  # the replicates are kept
for want in "contrast 'al.start: cold vs warm'" "al.start=\"cold\"" "al.start=\"warm\"" \
            'al.strategy ("least_confidence" vs "random")' "variant axis 'mode'" "sweeps/confounded-5-"; do
    grep -qF -- "$want" "$tmp/cf_reduce.log" \
        || { echo "the refusal does not say: $want"; cat "$tmp/cf_reduce.log"; exit 1; }
done
[[ ! -e "$tmp/cf/summary.h5" ]] || { echo "a summary was written despite the refusal"; exit 1; }
echo "contrasts e2e: warm vs cold tested end to end; a confounded contrast refused"
