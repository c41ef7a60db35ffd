"""The tidy tables of sp_analysis agree with the files they come from, exactly.

    check_tables.py RESULTS_DIR      (PYTHONPATH must include analysis/)

Every value of summary_table / comparison_table equals summary.h5's dataset entry bit for bit,
every value of replicate_table / round_table equals the replicate file's attribute or dataset
entry bit for bit (read here independently with h5py), and the summary's n, min, max, median and
mean equal those recomputed from replicate_table (NumPy, same order of operations).
"""
import glob
import os
import sys

import h5py
import numpy as np

from sp_analysis import (COMPARISON_STATS, SUMMARY_STATS, comparison_table, load_results,
                         replicate_table, round_table, select, summary_table, to_structured)


def same(x, y):
    """Exact equality, NaN equal to NaN, and the same float64 bits."""
    x, y = np.float64(x), np.float64(y)
    if np.isnan(x) or np.isnan(y):
        return bool(np.isnan(x) and np.isnan(y))
    return x.tobytes() == y.tobytes()


def main(d):
    res = load_results(d)
    rt, rounds = replicate_table(res), round_table(res)
    st, ct = summary_table(res.summary), comparison_table(res.summary)
    checked = 0

    # summary.h5, read independently
    with h5py.File(os.path.join(d, "summary.h5"), "r") as s:
        metrics = list(s["metrics"].asstr()[()])
        labels = list(s["conditions/label"].asstr()[()])
        ids = list(s["conditions/replicate_ids"].asstr()[()])
        seeds = s["conditions/seeds"][()]
        offsets = s["conditions/seed_offsets"][()]
        stats = {k: s["summary/" + k][()] for k in SUMMARY_STATS}
        comp = {k: s["comparisons/" + k][()] for k in COMPARISON_STATS}
        comp_a, comp_b = s["comparisons/a"][()], s["comparisons/b"][()]
        kinds = list(s["comparisons/kind"].asstr()[()])
    assert len(st) == len(labels) * len(metrics), (len(st), len(labels), len(metrics))
    for row in st:
        c, m = labels.index(row["condition"]), metrics.index(row["metric"])
        assert c == row["condition_index"]
        for k in SUMMARY_STATS:
            assert same(row[k], stats[k][c, m]), (row["condition"], row["metric"], k)
            checked += 1
    assert len(ct) == len(comp_a) * len(metrics)
    for row in ct:
        p, m = row["comparison"], metrics.index(row["metric"])
        assert row["a"] == comp_a[p] and row["b"] == comp_b[p] and row["kind"] == kinds[p]
        assert row["condition_a"] == labels[comp_a[p]] and row["condition_b"] == labels[comp_b[p]]
        for k in COMPARISON_STATS:
            assert same(row[k], comp[k][p, m]), (p, row["metric"], k)
            checked += 1

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

    # summary statistics recomputed from the tidy replicate table
    for row in st:
        v = np.array([r["value"] for r in select(rt, condition=row["condition"],
                                                 metric=row["metric"])])
        v = v[np.isfinite(v)]
        assert row["n"] == v.size, (row["condition"], row["metric"])
        if v.size:
            for k, x in (("min", v.min()), ("max", v.max()), ("median", np.median(v)),
                         ("mean", np.mean(v))):
                assert same(row[k], x), (row["condition"], row["metric"], k, row[k], x)
                checked += 1

    # the structured-array form holds the same values
    arr = to_structured(rt)
    assert arr.shape == (len(rt),) and arr.dtype["value"] == np.float64
    assert all(same(a, r["value"]) for a, r in zip(arr["value"], rt))
    assert list(arr["metric"]) == [r["metric"] for r in rt]
    print(f"tables agree with the files: {len(rt)} replicate rows, {len(rounds)} round rows, "
          f"{len(st)} summary rows, {len(ct)} comparison rows, {checked} values compared exactly")


if __name__ == "__main__":
    main(sys.argv[1])
