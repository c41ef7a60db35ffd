"""The tidy tables of sp_analysis agree with the files they come from, exactly.

    check_tables.py RESULTS_DIR      (PYTHONPATH must include analysis/)

Every value of summary_table / comparison_table equals summary.h5's dataset entry bit for bit,
every value of replicate_table / round_table equals the replicate file's attribute or dataset
entry bit for bit (read here independently with h5py), and the summary's n, min, max, median and
mean equal those recomputed from replicate_table (NumPy, same order of operations).
Summary schema version 3 also: primary_table / secondary_table hold exactly the role 2 / role 1
entries of /comparisons; q25 and q75 equal numpy.percentile (linear) of the replicate values to
1e-12; trajectory_table equals /trajectories bit for bit, and its labelled sizes, n, mean, std
and 95% t interval equal those recomputed from round_table (NumPy, SciPy's t quantile) to 1e-12
(the interval to 1e-9, the accuracy of SciPy 1.10's t quantile);
aubc_* statistics equal those of the areas recomputed from the rounds (measures.md); p is the
declared test's, p_holm and q_bh equal statsmodels' Holm and BH adjustments over the sweep's
primary and secondary cells (family_size of the primary ones).
Prints the summary schema version it checked.
"""
import glob
import os
import sys
import tomllib

import h5py
import numpy as np

from sp_analysis import (COMPARISON_LABELS_V3, COMPARISON_STATS, COMPARISON_STATS_V3,
                         PRIMARY_COLUMNS, SECONDARY_COLUMNS, SUMMARY_STATS, SUMMARY_STATS_V3,
                         TRAJECTORY_STATS, comparison_table, load_results, primary_table,
                         replicate_table, round_table, secondary_table, select, summary_table,
                         to_structured, trajectory_table)


def same(x, y):
    """Exact equality, NaN equal to NaN, and the same float64 bits."""
    x, y = np.float64(x), np.float64(y)
    if np.isnan(x) or np.isnan(y):
        return bool(np.isnan(x) and np.isnan(y))
    return x.tobytes() == y.tobytes()


def close(x, y, tol=1e-12):
    """Equal to ``tol`` relative (absolute below 1), NaN equal to NaN."""
    x, y = float(x), float(y)
    if np.isnan(x) or np.isnan(y):
        return np.isnan(x) and np.isnan(y)
    return abs(x - y) <= tol * max(1.0, abs(x), abs(y))


def main(d):
    res = load_results(d)
    rt, rounds = replicate_table(res), round_table(res)
    st, ct = summary_table(res.summary), comparison_table(res.summary)
    checked = 0

    # summary.h5, read independently
    with h5py.File(os.path.join(d, "summary.h5"), "r") as s:
        version = int(s.attrs["schema_version"])
        v3 = version >= 3
        summary_stats = SUMMARY_STATS_V3 if v3 else SUMMARY_STATS
        comparison_stats = COMPARISON_STATS_V3 if v3 else COMPARISON_STATS
        metrics = list(s["metrics"].asstr()[()])
        labels = list(s["conditions/label"].asstr()[()])
        ids = list(s["conditions/replicate_ids"].asstr()[()])
        seeds = s["conditions/seeds"][()]
        offsets = s["conditions/seed_offsets"][()]
        stats = {k: s["summary/" + k][()] for k in summary_stats}
        comp = {k: s["comparisons/" + k][()] for k in comparison_stats}
        comp_a, comp_b = s["comparisons/a"][()], s["comparisons/b"][()]
        kinds = list(s["comparisons/kind"].asstr()[()])
        if v3:
            coords = list(s["conditions/coordinates"].asstr()[()])
            comp_labels = {k: list(s["comparisons/" + k].asstr()[()])
                           for k in COMPARISON_LABELS_V3}
            family = s["comparisons/family_size"][()]
            plans = {n: (t, a, w) for n, t, a, w in zip(
                s["analysis/sweep_name"].asstr()[()], s["analysis/test"].asstr()[()],
                s["analysis/alpha"][()], s["analysis/power"][()])}
            declared = {n: tomllib.loads(t)["analysis"]["primary"] for n, t in zip(
                s["analysis/sweep_name"].asstr()[()], s["analysis/spec_toml"].asstr()[()])}
            sweeps = list(s["conditions/sweep_name"].asstr()[()])
            traj = None
            if "trajectories" in s:
                t = s["trajectories"]
                traj = {"condition": t["condition"][()], "offsets": t["round_offsets"][()],
                        "sizes": t["labelled_size"][()], "metrics": list(t["metrics"].asstr()[()])}
                traj.update({k: t[k][()] for k in TRAJECTORY_STATS})
    assert len(st) == len(labels) * len(metrics), (len(st), len(labels), len(metrics))
    for row in st:
        c, m = labels.index(row["condition"]), metrics.index(row["metric"])
        assert c == row["condition_index"]
        for k in summary_stats:
            assert same(row[k], stats[k][c, m]), (row["condition"], row["metric"], k)
            checked += 1
        if v3:
            assert row["coordinates"] == coords[c]
    assert len(ct) == len(comp_a) * len(metrics)
    for row in ct:
        p, m = row["comparison"], metrics.index(row["metric"])
        assert row["a"] == comp_a[p] and row["b"] == comp_b[p] and row["kind"] == kinds[p]
        assert row["condition_a"] == labels[comp_a[p]] and row["condition_b"] == labels[comp_b[p]]
        for k in comparison_stats:
            assert same(row[k], comp[k][p, m]), (p, row["metric"], k)
            checked += 1
        if v3:
            assert all(row[k] == comp_labels[k][p] for k in COMPARISON_LABELS_V3), p
            assert row["family_size"] == family[p]
    if v3:
        checked += check_roles(res.summary, metrics, labels, sweeps, comp, comp_a, comp_b,
                               comp_labels, family, plans, declared)
        checked += check_families(metrics, sweeps, comp, comp_a, family, plans)

    # replicate files, read independently
    files = {}
    for path in glob.glob(os.path.join(d, "*.h5")):
        with h5py.File(path, "r") as f:
            if f.attrs["file_kind"] == "replicate":
                files[f.attrs["replicate_id"]] = path
    assert sorted(files) == sorted(ids), "summary's replicate IDs are not the directory's files"
    assert {r["replicate_id"] for r in rt} == set(files)
    for c, label in enumerate(labels):
        for i in range(offsets[c], offsets[c + 1]):
            mine = select(rt, replicate_id=ids[i])
            assert mine and all(r["condition"] == label for r in mine), ids[i]
            assert all(r["seed"] == int(seeds[i]) for r in mine), (ids[i], seeds[i])
    for rid, path in files.items():
        with h5py.File(path, "r") as f:
            want = {"accuracy": f["eval"].attrs["accuracy"]}
            want.update(f["metrics/scalars"].attrs.items())
            strategy = f["al"].attrs["strategy"] if "al" in f else "baseline"
            rows = select(rt, replicate_id=rid)
            assert sorted(r["metric"] for r in rows) == sorted(want), rid
            for r in rows:
                assert r["strategy"] == strategy and r["sweep"] == f["provenance"].attrs["sweep_name"]
                assert same(r["value"], want[r["metric"]]), (rid, r["metric"])
                checked += 1
            if "al" not in f:
                assert not select(rounds, replicate_id=rid)
                continue
            al = f["al"]
            names = [str(n) for n in f["eval/class_names"].asstr()[()]]
            last = int(al.attrs["round"])
            for r in range(last + 1):
                g = al[f"round_{r:03d}"]
                mine = {x["measure"]: x for x in select(rounds, replicate_id=rid, round=r)}
                assert all(x["labelled_size"] == al["labelled_size"][r] for x in mine.values())
                assert same(mine["accuracy"]["value"], al["accuracy"][r]), (rid, r)
                assert same(mine["accuracy"]["value"], g.attrs["accuracy"]), (rid, r)
                assert same(mine["seconds"]["value"], g.attrs["seconds"]), (rid, r)
                hist = g["queried_class_histogram"][()]
                assert mine["queried"]["value"] == g["queried_indices"].shape[0] == hist.sum()
                for k, name in enumerate(names):
                    assert mine[f"queried_class:{name}"]["value"] == hist[k], (rid, r, name)
                got = {k[7:]: x["value"] for k, x in mine.items() if k.startswith("metric:")}
                any_round = any("metrics/scalars" in al[n] for n in al if n.startswith("round_"))
                if "metrics/scalars" not in g and (r != last or not any_round):
                    # Without al.round_metrics: no per-round metric rows.
                    assert not got, (rid, r, "metric rows without round metrics")
                    continue
                scal = (g["metrics/scalars"].attrs if "metrics/scalars" in g
                        else f["metrics/scalars"].attrs)
                assert sorted(got) == sorted(scal.keys()), (rid, r)
                for k, v in scal.items():
                    assert same(got[k], v), (rid, r, k)
                    checked += 1
            assert same(al["accuracy"][last], f["eval"].attrs["accuracy"])

    # summary statistics recomputed from the tidy replicate table (aubc_*: from the rounds)
    in_files = {r["metric"] for r in rt}
    aubc_checked = 0
    for row in st:
        if row["metric"] in in_files or not v3:
            v = np.array([r["value"] for r in select(rt, condition=row["condition"],
                                                     metric=row["metric"])])
            exact = same
        else:
            assert row["metric"].startswith("aubc_"), (row["metric"], "in no replicate file")
            v = np.array(aubc_values(res, row["condition"], row["metric"][len("aubc_"):]))
            exact = close
            aubc_checked += 1
        v = v[np.isfinite(v)]
        assert row["n"] == v.size, (row["condition"], row["metric"], row["n"], v.size)
        if v.size:
            for k, x in (("min", v.min()), ("max", v.max()), ("median", np.median(v)),
                         ("mean", np.mean(v))):
                # NumPy sums 8 or more values pairwise, sp in order: the mean may differ in
                # the last bit there.
                ok = close if k == "mean" and v.size >= 8 else exact
                assert ok(row[k], x), (row["condition"], row["metric"], k, row[k], x)
                checked += 1
            if v3:
                for k, q in (("q25", 25), ("q75", 75)):
                    x = np.percentile(v, q)
                    assert close(row[k], x), (row["condition"], row["metric"], k, row[k], x)
                    checked += 1
    if v3 and any(r.rounds for r in res.complete):
        assert "aubc_accuracy" in metrics and aubc_checked, "AL replicates but no aubc_accuracy"

    if v3 and traj is not None:
        checked += check_trajectories(res.summary, traj, labels, rounds)

    # the structured-array form holds the same values
    arr = to_structured(rt)
    assert arr.shape == (len(rt),) and arr.dtype["value"] == np.float64
    assert all(same(a, r["value"]) for a, r in zip(arr["value"], rt))
    assert list(arr["metric"]) == [r["metric"] for r in rt]
    print(f"tables agree with the files (summary schema_version {version}): {len(rt)} replicate "
          f"rows, {len(rounds)} round rows, {len(st)} summary rows, {len(ct)} comparison rows, "
          f"{checked} values compared")


def aubc_values(res, condition, base):
    """Per complete replicate of ``condition``: the area under its budget curve of ``base``
    (results-schema/measures.md: the trapezoid over /al/labelled_size divided by the budget
    spent), from the rounds' own values (a per-round metric every round but the last records,
    the last round's being the replicate's final metrics); a replicate
    without rounds, or with fewer than 2, has none."""
    out = []
    for r in res.by_condition(condition):
        if len(r.rounds) < 2:
            continue
        if base == "accuracy":
            y = [rd.accuracy for rd in r.rounds]
        elif all(base in rd.metrics and (not rd.metrics_from_final or k == len(r.rounds) - 1)
                 for k, rd in enumerate(r.rounds)):
            # The last round's model is the final one: its metrics are the replicate's own.
            y = [rd.metrics[base] for rd in r.rounds]
        else:
            continue
        x = np.array([rd.labelled_size for rd in r.rounds], dtype=np.float64)
        out.append(np.trapz(np.array(y), x) / (x[-1] - x[0]))
    return out


def check_roles(summary, metrics, labels, sweeps, comp, comp_a, comp_b, comp_labels, family,
                plans, declared):
    """primary_table / secondary_table: exactly the role 2 / role 1 cells of /comparisons, the
    primary ones of each comparison in the order the sweep's analysis table declares them."""
    checked = 0
    prim, sec = primary_table(summary), secondary_table(summary)
    want_p = []
    for p in range(len(comp_a)):
        cells = [m for m in range(len(metrics)) if comp["role"][p, m] == 2]
        order = declared[sweeps[comp_a[p]]]
        assert all(metrics[m] in order for m in cells), (p, "a primary endpoint not declared")
        want_p += [(p, m) for m in sorted(cells, key=lambda m: order.index(metrics[m]))]
    want_s = [(p, m) for p in range(len(comp_a)) for m in range(len(metrics))
              if comp["role"][p, m] == 1]
    assert [(r["comparison"], metrics.index(r["endpoint"])) for r in prim] == want_p
    assert [(r["comparison"], metrics.index(r["metric"])) for r in sec] == want_s
    for rows, cols, want in ((prim, PRIMARY_COLUMNS, want_p), (sec, SECONDARY_COLUMNS, want_s)):
        src = {"n": "n", "difference": "mean_difference", "t_low": "diff_t_low",
               "t_high": "diff_t_high", "bca_low": "diff_bca_low", "bca_high": "diff_bca_high",
               "p": "p", "p_holm": "p_holm", "q_bh": "q_bh", "margin": "margin",
               "tost_p": "tost_p", "equivalent": "equivalent", "mdd": "mdd", "effect": "effect",
               "seeds_needed": "seeds_needed"}
        for row, (p, m) in zip(rows, want):
            assert tuple(row) == cols
            assert row["condition_a"] == labels[comp_a[p]]
            assert row["condition_b"] == labels[comp_b[p]]
            assert row["contrast"] == comp_labels["contrast"][p]
            assert row["sweep"] == sweeps[comp_a[p]]
            test, alpha, power = plans[row["sweep"]]
            assert row["test"] == test
            if cols is PRIMARY_COLUMNS:
                assert row["family_size"] == family[p]
                assert same(row["alpha"], alpha) and same(row["power"], power)
                # a primary endpoint has its declared p and a Holm p, no q
                assert np.isfinite(row["p_holm"]) == np.isfinite(row["p"]), (p, m)
                assert np.isnan(comp["q_bh"][p, m]), (p, m)
            else:
                assert np.isnan(comp["p_holm"][p, m]), (p, m)
            for k, name in src.items():
                if k in row:
                    assert same(row[k], comp[name][p, m]), (p, metrics[m], k)
                    checked += 1
    return checked


def check_families(metrics, sweeps, comp, comp_a, family, plans):
    """The multiplicity columns against statsmodels: per sweep, p is the declared test's p
    (signflip_p or t_p) of every tested metric; p_holm is Holm's adjustment over the sweep's
    primary cells (family_size of them) and q_bh Benjamini-Hochberg's over its secondary cells
    (NaN p left out), to 1e-12."""
    from statsmodels.stats.multitest import multipletests
    checked = 0
    for sweep, (test, alpha, power) in plans.items():
        ps = [p for p in range(len(comp_a)) if sweeps[comp_a[p]] == sweep]
        for role, column, method in ((2, "p_holm", "holm"), (1, "q_bh", "fdr_bh")):
            cells = [(p, m) for p in ps for m in range(len(metrics)) if comp["role"][p, m] == role]
            for p, m in cells:
                want = comp["signflip_p" if test == "sign_flip" else "t_p"][p, m]
                assert same(comp["p"][p, m], want), (sweep, p, metrics[m], "p is not the declared")
            if role == 2:
                assert all(family[p] == len(cells) for p in ps), (sweep, "family_size", len(cells))
            finite = [(p, m) for p, m in cells if np.isfinite(comp["p"][p, m])]
            if not finite:
                continue
            adj = multipletests([comp["p"][p, m] for p, m in finite], method=method)[1]
            for (p, m), x in zip(finite, adj):
                assert close(comp[column][p, m], x), (sweep, p, metrics[m], column, x)
                checked += 1
    return checked


def check_trajectories(summary, traj, labels, rounds):
    """trajectory_table against /trajectories (exactly) and against round_table (recomputed)."""
    from scipy import stats as sps
    checked = 0
    rows = trajectory_table(summary)
    got = {(r["condition"], r["round"], r["metric"]): r for r in rows}
    n_rows = 0
    conf = float(summary.attrs.get("confidence", 0.95))
    for k, c in enumerate(traj["condition"]):
        label = labels[c]
        for i, r in enumerate(range(traj["offsets"][k], traj["offsets"][k + 1])):
            per_seed = select(rounds, condition=label, round=i)
            assert per_seed, (label, i, "a trajectory round no replicate has")
            assert all(x["labelled_size"] == traj["sizes"][r] for x in per_seed), (label, i)
            for j, metric in enumerate(traj["metrics"]):
                n = int(traj["n"][r, j])
                if n == 0:
                    assert (label, i, metric) not in got
                    assert np.isnan(traj["mean"][r, j]), (label, i, metric)
                    continue
                n_rows += 1
                row = got[(label, i, metric)]
                assert row["labelled_size"] == traj["sizes"][r]
                for s in TRAJECTORY_STATS:
                    assert same(row[s], traj[s][r, j]), (label, i, metric, s)
                    checked += 1
                measure = "accuracy" if metric == "accuracy" else "metric:" + metric
                v = np.array([x["value"] for x in per_seed if x["measure"] == measure])
                v = v[np.isfinite(v)]
                assert n == v.size, (label, i, metric, n, v.size)
                mean = v.mean()
                assert close(row["mean"], mean), (label, i, metric, row["mean"], mean)
                if n >= 2:
                    sd = v.std(ddof=1)
                    half = sps.t.ppf(0.5 + conf / 2, n - 1) * sd / np.sqrt(n)
                    assert close(row["std"], sd), (label, i, metric, row["std"], sd)
                    # SciPy 1.10's t.ppf (Cephes) is good to ~5e-9 relative (e.g. 4e-11 off at
                    # df = 2); sp uses Boost's, exact to ~1e-16 (tests/oracle/stats_oracle.py).
                    assert close(row["t_low"], mean - half, 1e-9), (label, i, metric, "t_low")
                    assert close(row["t_high"], mean + half, 1e-9), (label, i, metric, "t_high")
                checked += 4
    assert n_rows == len(rows), (n_rows, len(rows))
    return checked


if __name__ == "__main__":
    main(sys.argv[1])
