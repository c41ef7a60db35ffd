"""Unit tests of sp_analysis's loaders and report CLI on small hand-written files (no sp binary).

summary.h5 in the old layout (schema versions 1 and 2) and in version 3 (declared endpoints,
/analysis, /trajectories; results-schema/summary.toml); every expected value is written out by
hand below, never taken from the code under test.

    PYTHONPATH=analysis /usr/bin/python3 tests/analysis/test_loaders.py
"""
import contextlib
import io
import math
import os
import re
import sys
import tempfile
import unittest

try:
    import h5py
    import matplotlib  # noqa: F401  (the report's figures)
    import numpy as np
except ImportError as e:  # ctest: SKIP_RETURN_CODE 77
    print(f"SKIP: {e} (apt-get install python3-h5py python3-numpy python3-matplotlib)")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "analysis"))

import sp_analysis  # noqa: E402
from sp_analysis import report  # noqa: E402

STR = h5py.string_dtype()
NAMES = ["cat", "dog", "eel"]


def write_replicate(path, rid, strategy, seed, metrics, rounds=None, version=1, status="complete"):
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        f.attrs["schema_version"] = np.int32(version)
        f.attrs["file_kind"] = "replicate"
        f.attrs["sp_version"] = "0.1.0"
        f.attrs["git_revision"] = "abc123"
        f.attrs["replicate_id"] = rid
        f.attrs["status"] = status
        p = f.create_group("provenance")
        for k, v in (("sweep_name", "unit"), ("hostname", "h1"), ("device", "cpu"),
                     ("device_name", "cpu"), ("libtorch_version", "1.13.0"),
                     ("hdf5_version", "1.10.8"), ("mpi_version", "Open MPI"),
                     ("start_time", "2024-05-01T12:00:00Z"), ("end_time", "2024-05-01T12:01:00Z"),
                     ("config_toml", f'[al]\nstrategy = "{strategy}"\n')):
            p.attrs[k] = v
        p.attrs["deterministic"] = np.uint8(1)
        p.attrs["sweep_seed"] = np.uint64(9)
        p.attrs["replicate_seed"] = np.uint64(seed)
        s = p.create_group("seeds")
        for k in ("seed_pool", "seed_init", "seed_data", "seed_dropout", "seed_tsne"):
            s.attrs[k] = np.uint64(seed + 100)
        if status != "complete":
            f.attrs["error"] = "boom"
            return
        e = f.create_group("eval")
        e.attrs["layer"] = "avgpool"
        e.attrs["accuracy"] = np.float64(metrics["accuracy"])
        labels = np.arange(12) % 3
        e["labels"] = labels.astype(np.int64)
        e["embeddings"] = rng.normal(size=(12, 4)).astype(np.float32)
        e.create_dataset("class_names", data=NAMES, dtype=STR)
        m = f.create_group("metrics")
        sc = m.create_group("scalars")
        m.create_group("undefined")
        for k, v in metrics.items():
            if k != "accuracy":
                sc.attrs[k] = np.float64(v)
        c = m.create_group("cosine")
        c.attrs["bins"] = np.int64(10)
        for name in ("all", "within", "between"):
            c.create_group(name)["histogram"] = rng.integers(0, 5, 10).astype(np.int64)
        m.create_group("tsne")["embedding"] = rng.normal(size=(12, 2)).astype(np.float32)
        if rounds is not None:
            al = f.create_group("al")
            al.attrs["strategy"] = strategy
            al.attrs["start"] = "warm"
            al.attrs["initial_sampling"] = "uniform"
            al.attrs["round"] = np.int64(len(rounds) - 1)
            al["labelled_size"] = np.array([r[0] for r in rounds], np.int64)
            al["accuracy"] = np.array([r[1] for r in rounds], np.float64)
            for i, (size, acc, hist, rm) in enumerate(rounds):
                g = al.create_group(f"round_{i:03d}")
                g.attrs["labelled_size"] = np.int64(size)
                g.attrs["accuracy"] = np.float64(acc)
                g.attrs["seconds"] = np.float64(0.5)
                g.attrs["epochs"] = np.int64(1)
                g["queried_class_histogram"] = np.array(hist, np.int64)
                g["queried_indices"] = np.arange(sum(hist), dtype=np.int64)
                if rm is not None:
                    g.create_group("metrics/scalars").attrs["cosine_all_mean"] = np.float64(rm)


def write_summary(path, version=1):
    with h5py.File(path, "w") as f:
        f.attrs["schema_version"] = np.int32(version)
        f.attrs["file_kind"] = "summary"
        f.attrs["sp_version"] = "0.1.0"
        f.attrs["git_revision"] = "abc123"
        f.attrs["replicates"] = np.int64(4)
        f.attrs["confidence"] = np.float64(0.95)
        f.create_dataset("metrics", data=["accuracy", "cosine_all_mean"], dtype=STR)
        c = f.create_group("conditions")
        c.create_dataset("label", data=['al.strategy="baseline"', 'al.strategy="margin"'],
                         dtype=STR)
        c.create_dataset("sweep_name", data=["unit", "unit"], dtype=STR)
        c.create_dataset("strategy", data=["baseline", "margin"], dtype=STR)
        c.create_dataset("identity", data=['al.strategy = "baseline"', 'al.strategy = "margin"'],
                         dtype=STR)
        c["replicates"] = np.array([2, 2], np.int64)
        c["seed_offsets"] = np.array([0, 2, 4], np.int64)
        c["seeds"] = np.array([0, 1, 0, 1], np.uint64)
        c.create_dataset("replicate_ids", data=["b0", "b1", "m0", "m1"], dtype=STR)
        s = f.create_group("summary")
        vals = np.array([[0.5, 0.7], [0.6, 0.8]])
        for k in sp_analysis.SUMMARY_STATS:
            s[k] = np.full((2, 2), 2, np.int64) if k == "n" else vals + 0.1 / 3
        p = f.create_group("comparisons")
        p["a"] = np.array([1], np.int64)
        p["b"] = np.array([0], np.int64)
        p.create_dataset("kind", data=["strategy_vs_baseline"], dtype=STR)
        for k in sp_analysis.COMPARISON_STATS:
            p[k] = (np.full((1, 2), 2, np.int64) if k == "n"
                    else np.array([[0.001 / 7, np.nan]]))


# ---- summary.h5 schema version 3 -----------------------------------------------------------------
# Three conditions (baseline, margin, random; seeds 0 and 1), two comparisons (margin vs baseline,
# margin vs random), four metrics: accuracy and aubc_accuracy primary, cosine_all_mean secondary,
# tsne_kl_divergence untested.
V3_METRICS = ["accuracy", "aubc_accuracy", "cosine_all_mean", "tsne_kl_divergence"]
V3_LABELS = ['al.strategy="baseline"', 'al.strategy="margin"', 'al.strategy="random"']
V3_BASE = np.array([[0.5, 0.40, 0.70, 1.0],
                    [0.65, 0.45, 0.80, 1.1],
                    [0.55, 0.42, 0.75, 1.2]])
NAN = float("nan")
# Declared p (sign-flip) of the primary endpoints, [comparison][accuracy, aubc_accuracy]:
#   0.002, 0.03 / 0.012, 0.5. Holm over the family of 4, by hand: sorted 0.002 x 4 = 0.008,
#   0.012 x 3 = 0.036, 0.03 x 2 = 0.06, 0.5 x 1 = 0.5 (monotone already).
# Secondary cosine_all_mean p 0.02, 0.04; BH over 2: 0.02 x 2/1 = 0.04, 0.04 x 2/2 = 0.04.
V3_COMP = {
    "n": [[2, 2, 2, 2], [2, 2, 2, 2]],
    "role": [[2, 2, 1, 0], [2, 2, 1, 0]],
    "mean_difference": [[0.15, 0.05, 0.1, -0.3], [0.1, -0.01, 0.05, 0.2]],
    "sd_difference": [[0.02, 0.1, 0.03, 0.4], [0.03, 0.2, 0.02, 0.5]],
    "diff_t_low": [[0.05, -0.05, 0.01, -0.9], [0.02, -0.3, 0.0, -0.4]],
    "diff_t_high": [[0.25, 0.15, 0.19, 0.3], [0.18, 0.28, 0.1, 0.8]],
    "diff_bca_low": [[0.1, -0.02, 0.04, -0.7], [0.06, -0.2, 0.02, -0.2]],
    "diff_bca_high": [[0.2, 0.12, 0.16, 0.1], [0.14, 0.18, 0.08, 0.6]],
    "t": [[10.6, 0.7, 4.7, -1.1], [4.7, -0.07, 3.5, 0.57]],
    "t_p": [[0.06, 0.61, 0.13, 0.47], [0.13, 0.96, 0.18, 0.67]],
    "signflip_p": [[0.002, 0.03, 0.02, 0.5], [0.012, 0.5, 0.04, 1.0]],
    "p": [[0.002, 0.03, 0.02, NAN], [0.012, 0.5, 0.04, NAN]],
    "p_holm": [[0.008, 0.06, NAN, NAN], [0.036, 0.5, NAN, NAN]],
    "q_bh": [[NAN, NAN, 0.04, NAN], [NAN, NAN, 0.04, NAN]],
    "margin": [[NAN, 0.2, NAN, NAN], [NAN, 0.2, NAN, NAN]],
    "tost_p": [[NAN, 0.012, NAN, NAN], [NAN, 0.3, NAN, NAN]],
    "equivalent": [[-1, 1, -1, -1], [-1, 0, -1, -1]],
    "cohens_dz": [[7.5, 0.5, 3.3, -0.75], [3.3, -0.05, 2.5, 0.4]],
    "hedges_gz": [[1.875, 0.125, 0.825, -0.1875], [0.825, -0.0125, 0.625, 0.1]],
    "cohens_dav": [[3.0, 0.4, 2.0, -0.6], [2.0, -0.04, 1.5, 0.3]],
    "mdd": [[0.12, 0.25, NAN, NAN], [0.11, 0.3, NAN, NAN]],
    "effect": [[0.05, NAN, NAN, NAN], [0.05, NAN, NAN, NAN]],
    "seeds_needed": [[12.0, NAN, NAN, NAN], [15.0, NAN, NAN, NAN]],
}
# Trajectories of margin (condition 1) and random (2), from the replicates make_results writes:
# margin accuracy per round (0.3, 0.3), (0.6, 0.7): mean 0.3, 0.65, sd 0, 0.05*sqrt(2);
# t interval 0.65 +- t(0.975, 1) * 0.05 = 0.65 +- 12.706204736174698 * 0.05;
# cosine_all_mean 0.75, 0.75 then the final 0.8, 0.8. Random: accuracy (0.31, 0.31), (0.5, 0.6),
# no per-round metrics (NaN, n = 0).
HALF = 12.706204736174698 * 0.05
V3_TRAJ = {
    "n": [[2, 2], [2, 2], [2, 0], [2, 0]],
    "mean": [[0.3, 0.75], [0.65, 0.8], [0.31, NAN], [0.55, NAN]],
    "std": [[0.0, 0.0], [0.05 * 2 ** 0.5, 0.0], [0.0, NAN], [0.05 * 2 ** 0.5, NAN]],
    "t_low": [[0.3, 0.75], [0.65 - HALF, 0.8], [0.31, NAN], [0.55 - HALF, NAN]],
    "t_high": [[0.3, 0.75], [0.65 + HALF, 0.8], [0.31, NAN], [0.55 + HALF, NAN]],
}
# The declared order (aubc_accuracy first) is the primary table's order within a comparison.
V3_SPEC = ('[analysis]\nprimary = ["aubc_accuracy", "accuracy"]\nalpha = 0.05\n'
           'test = "sign_flip"\npower = 0.8\n')


def write_summary_v3(path, comparisons=True, trajectories=True, drop=(), version=3,
                     round_offsets=(0, 2, 4)):
    with h5py.File(path, "w") as f:
        f.attrs["schema_version"] = np.int32(version)
        f.attrs["file_kind"] = "summary"
        f.attrs["sp_version"] = "0.2.0"
        f.attrs["git_revision"] = "def456"
        f.attrs["replicates"] = np.int64(6)
        f.attrs["confidence"] = np.float64(0.95)
        f.attrs["bootstrap_resamples"] = np.int64(10000)
        f.create_dataset("metrics", data=V3_METRICS, dtype=STR)
        a = f.create_group("analysis")
        a.create_dataset("sweep_name", data=["unit"], dtype=STR)
        a.create_dataset("source", data=["sweeps/unit-20240501T120000Z.toml"], dtype=STR)
        a.create_dataset("spec_toml", data=[V3_SPEC], dtype=STR)
        a["alpha"] = np.array([0.05])
        a.create_dataset("test", data=["sign_flip"], dtype=STR)
        a["power"] = np.array([0.8])
        c = f.create_group("conditions")
        c.create_dataset("label", data=V3_LABELS, dtype=STR)
        c.create_dataset("sweep_name", data=["unit"] * 3, dtype=STR)
        c.create_dataset("strategy", data=["baseline", "margin", "random"], dtype=STR)
        c.create_dataset("identity", data=[x.replace("=", " = ") for x in V3_LABELS], dtype=STR)
        c["sp_version_major"] = np.array([0, 0, 0], np.int64)
        c["replicates"] = np.array([2, 2, 2], np.int64)
        c["seed_offsets"] = np.array([0, 2, 4, 6], np.int64)
        c["seeds"] = np.array([0, 1, 0, 1, 0, 1], np.uint64)
        c.create_dataset("replicate_ids", data=["b0", "b1", "m0", "m1", "r0", "r1"], dtype=STR)
        c.create_dataset("coordinates", data=["strategy=baseline", "strategy=margin",
                                              "strategy=random"], dtype=STR)
        s = f.create_group("summary")
        offsets = {"mean": 0.0, "median": 0.0, "min": -0.05, "max": 0.05, "t_low": -0.1,
                   "t_high": 0.1, "bootstrap_low": -0.08, "bootstrap_high": 0.08,
                   "q25": -0.025, "q75": 0.025}
        for k in sp_analysis.SUMMARY_STATS_V3:
            if k == "n":
                s[k] = np.full((3, 4), 2, np.int64)
            elif k == "std":
                s[k] = np.full((3, 4), 0.05)
            else:
                s[k] = V3_BASE + offsets[k]
        if comparisons:
            p = f.create_group("comparisons")
            p.attrs["signflip_exact_max_n"] = np.int64(20)
            p.attrs["permutation_resamples"] = np.int64(100000)
            p["a"] = np.array([1, 1], np.int64)
            p["b"] = np.array([0, 2], np.int64)
            p.create_dataset("kind", data=["strategy_vs_baseline", "strategy_vs_random"],
                             dtype=STR)
            p.create_dataset("contrast", data=["al.strategy: margin vs baseline",
                                               "al.strategy: margin vs random"], dtype=STR)
            p.create_dataset("factor", data=["al.strategy"] * 2, dtype=STR)
            p.create_dataset("level_a", data=["margin"] * 2, dtype=STR)
            p.create_dataset("level_b", data=["baseline", "random"], dtype=STR)
            p["family_size"] = np.array([4, 4], np.int64)
            for k, v in V3_COMP.items():
                dtype = {"n": np.int64, "role": np.int32, "equivalent": np.int32}.get(k,
                                                                                     np.float64)
                p[k] = np.array(v, dtype)
        if trajectories:
            t = f.create_group("trajectories")
            t["condition"] = np.array([1, 2], np.int64)
            t["round_offsets"] = np.array(round_offsets, np.int64)
            t["labelled_size"] = np.array([6, 9, 6, 9], np.int64)
            t.create_dataset("metrics", data=["accuracy", "cosine_all_mean"], dtype=STR)
            for k, v in V3_TRAJ.items():
                t[k] = np.array(v, np.int64 if k == "n" else np.float64)
        f.create_dataset("failed", data=np.array([], dtype=object), dtype=STR)
        for name in drop:
            del f[name]


def make_results_v3(d, **summary_options):
    make_results(d, summary=False)
    for seed in (0, 1):
        write_replicate(os.path.join(d, f"r{seed}.h5"), f"r{seed}", "random", seed,
                        {"accuracy": 0.5 + seed / 10, "cosine_all_mean": 0.75},
                        rounds=[(6, 0.31, [1, 1, 1], None), (9, 0.5 + seed / 10, [0, 0, 0], None)])
    write_summary_v3(os.path.join(d, "summary.h5"), **summary_options)


def make_results(d, summary=True, version=1):
    write_replicate(os.path.join(d, "b0.h5"), "b0", "baseline", 0,
                    {"accuracy": 0.5, "cosine_all_mean": 0.7})
    write_replicate(os.path.join(d, "b1.h5"), "b1", "baseline", 1,
                    {"accuracy": 0.5 + 1e-16, "cosine_all_mean": float("nan")})
    for seed in (0, 1):
        write_replicate(os.path.join(d, f"m{seed}.h5"), f"m{seed}", "margin", seed,
                        {"accuracy": 0.6 + seed / 10, "cosine_all_mean": 0.8},
                        rounds=[(6, 0.3, [2, 1, 0], 0.75), (9, 0.6 + seed / 10, [0, 0, 0], None)])
    if summary:
        write_summary(os.path.join(d, "summary.h5"), version=version)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def run_main(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = report.main(argv)
    return rc, err.getvalue()


class Loaders(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name
        make_results(self.d)

    def tearDown(self):
        self.tmp.cleanup()

    def test_replicate_table(self):
        res = sp_analysis.load_results(self.d)
        rows = sp_analysis.replicate_table(res)
        self.assertEqual(len(rows), 8)
        self.assertEqual(tuple(rows[0]), sp_analysis.REPLICATE_COLUMNS)
        r = sp_analysis.select(rows, replicate_id="b1", metric="accuracy")[0]
        self.assertEqual(r["value"], 0.5 + 1e-16)             # exact, not rounded
        self.assertEqual(r["condition"], 'al.strategy="baseline"')
        self.assertEqual(r["seed"], 1)
        self.assertTrue(math.isnan(sp_analysis.select(rows, replicate_id="b1",
                                                      metric="cosine_all_mean")[0]["value"]))
        self.assertEqual({r["strategy"] for r in rows}, {"baseline", "margin"})

    def test_round_table(self):
        res = sp_analysis.load_results(self.d)
        rows = sp_analysis.round_table(res)
        m0 = sp_analysis.select(rows, replicate_id="m0")
        by = {(r["round"], r["measure"]): r for r in m0}
        self.assertEqual(by[(0, "accuracy")]["value"], 0.3)
        self.assertEqual(by[(0, "accuracy")]["labelled_size"], 6)
        self.assertEqual(by[(0, "queried")]["value"], 3)
        self.assertEqual(by[(0, "queried_class:cat")]["value"], 2)
        self.assertEqual(by[(0, "queried_class:eel")]["value"], 0)
        self.assertEqual(by[(0, "metric:cosine_all_mean")]["value"], 0.75)
        # the last round without its own metrics takes the final /metrics/scalars
        self.assertEqual(by[(1, "metric:cosine_all_mean")]["value"], 0.8)
        self.assertFalse(sp_analysis.select(rows, replicate_id="b0"))

    def test_summary_tables(self):
        for version in (1, 2):   # the old layout: the same tables from either version
            with self.subTest(version=version):
                write_summary(os.path.join(self.d, "summary.h5"), version=version)
                self.check_old_summary(version)

    def check_old_summary(self, version):
        res = sp_analysis.load_results(self.d)
        self.assertEqual(res.summary.schema_version, version)
        self.assertFalse(res.summary.declared)
        self.assertEqual(sp_analysis.primary_table(res.summary), [])
        self.assertEqual(sp_analysis.secondary_table(res.summary), [])
        self.assertEqual(sp_analysis.trajectory_table(res.summary), [])
        self.assertEqual(res.summary.adjusted_p(0, 0), 0.001 / 7)   # t_p_holm
        st = sp_analysis.summary_table(res.summary)
        self.assertEqual(len(st), 4)
        row = sp_analysis.select(st, condition='al.strategy="margin"', metric="accuracy")[0]
        self.assertEqual(row["mean"], 0.6 + 0.1 / 3)
        self.assertEqual(row["n"], 2)
        ct = sp_analysis.comparison_table(res.summary)
        self.assertEqual(len(ct), 2)
        self.assertNotIn("q25", st[0])
        self.assertEqual(tuple(ct[0])[-10:], sp_analysis.COMPARISON_STATS)
        self.assertEqual(ct[0]["t_p_holm"], 0.001 / 7)
        self.assertEqual(ct[0]["condition_b"], 'al.strategy="baseline"')
        self.assertTrue(math.isnan(ct[1]["t_p"]))
        arr = sp_analysis.to_structured(st)
        self.assertEqual(arr["n"].dtype, np.int64)
        self.assertEqual(arr["mean"][3], st[3]["mean"])

    def test_without_summary(self):
        os.unlink(os.path.join(self.d, "summary.h5"))
        res = sp_analysis.load_results(self.d)
        self.assertIsNone(res.summary)
        self.assertEqual(sorted(res.conditions()),
                         ['al.strategy="baseline"', 'al.strategy="margin"'])
        out = os.path.join(self.d, "r.html")
        rc, err = run_main([self.d, "-o", out, "-q"])
        self.assertEqual(rc, 0, err)
        text = read(out)
        self.assertIn("No summary.h5", text)
        self.assertEqual(text.count("<img "), 5)

    def test_report_and_failed(self):
        self.check_report_and_failed()

    def test_report_v2(self):
        write_summary(os.path.join(self.d, "summary.h5"), version=2)
        text = self.check_report_and_failed()
        self.assertIn("p (t, Holm)", text)                # the old comparison table, as before
        self.assertNotIn("Primary endpoints", text)
        self.assertIn("Accuracy and metrics against the labelled-set size", text)

    def check_report_and_failed(self):
        write_replicate(os.path.join(self.d, "x.h5"), "x", "margin", 2, {}, status="failed")
        out = os.path.join(self.d, "r.html")
        rc, err = run_main([self.d, "-o", out, "-q"])
        self.assertEqual(rc, 0, err)
        text = read(out)
        self.assertFalse(os.path.exists(out + ".tmp"))
        self.assertIn("boom", text)
        self.assertIn("***", text)                        # p_holm 1.4e-4 in the comparison
        self.assertEqual(text.count('src="data:image/png;base64,'), 5)
        self.assertNotIn("http://", text.replace("http://www.w3.org", ""))
        self.assertNotIn("https://", text)
        self.assertNotIn("<script", text)
        return text

    def test_skips_other_kinds(self):
        with h5py.File(os.path.join(self.d, "cache.h5"), "w") as f:
            f.attrs["schema_version"] = np.int32(1)
            f.attrs["file_kind"] = "dataset-cache"
        res = sp_analysis.load_results(self.d)
        self.assertEqual(len(res.skipped), 1)



def cells(html_text):
    """The <td> cells of every body row of the tables in ``html_text``."""
    body = re.findall(r"<tbody>(.*?)</tbody>", html_text, re.S)
    return [re.findall(r"<td>(.*?)</td>", row)
            for b in body for row in re.findall(r"<tr>(.*?)</tr>", b)]


def between(text, start, end):
    i = text.index(start)
    return text[i:text.index(end, i)]


class SummaryV3(unittest.TestCase):
    """summary.h5 schema version 3: declared endpoints, analysis plans, trajectories."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name
        make_results_v3(self.d)
        self.res = sp_analysis.load_results(self.d)
        self.s = self.res.summary

    def tearDown(self):
        self.tmp.cleanup()

    def test_file(self):
        s = self.s
        self.assertEqual(s.schema_version, 3)
        self.assertTrue(s.declared)
        self.assertEqual(s.coordinates, ["strategy=baseline", "strategy=margin",
                                         "strategy=random"])
        self.assertEqual(s.comp_contrast, ["al.strategy: margin vs baseline",
                                           "al.strategy: margin vs random"])
        self.assertEqual(s.comp_level_b, ["baseline", "random"])
        self.assertEqual(list(s.comp_family_size), [4, 4])
        self.assertEqual(s.comp_attrs, {"signflip_exact_max_n": 20,
                                        "permutation_resamples": 100000})
        self.assertEqual(len(s.analysis), 1)
        plan = s.analysis_of("unit")
        self.assertEqual((plan.test, plan.alpha, plan.power), ("sign_flip", 0.05, 0.8))
        self.assertEqual(plan.source, "sweeps/unit-20240501T120000Z.toml")
        self.assertEqual(plan.primary, ["aubc_accuracy", "accuracy"])
        self.assertIsNone(s.analysis_of("other"))
        # role-adjusted p: Holm for primary, BH q for secondary, NaN untested
        self.assertEqual(s.adjusted_p(0, 0), 0.008)
        self.assertEqual(s.adjusted_p(1, 1), 0.5)
        self.assertEqual(s.adjusted_p(0, 2), 0.04)
        self.assertTrue(math.isnan(s.adjusted_p(0, 3)))
        # replicates map onto the summary's conditions
        self.assertEqual(self.res.by_condition('al.strategy="random"')[1].replicate_id, "r1")

    def test_summary_table(self):
        st = sp_analysis.summary_table(self.s)
        self.assertEqual(len(st), 12)
        row = sp_analysis.select(st, condition='al.strategy="margin"', metric="accuracy")[0]
        self.assertEqual(row["coordinates"], "strategy=margin")
        self.assertEqual(row["q25"], 0.65 - 0.025)
        self.assertEqual(row["q75"], 0.65 + 0.025)
        self.assertEqual(row["median"], 0.65)
        self.assertEqual(tuple(row)[-12:], sp_analysis.SUMMARY_STATS_V3)

    def test_primary_table(self):
        rows = sp_analysis.primary_table(self.s)
        self.assertEqual([tuple(r) for r in rows], [sp_analysis.PRIMARY_COLUMNS] * 4)
        # by comparison, then in the declared order (aubc_accuracy, accuracy)
        self.assertEqual([(r["comparison"], r["endpoint"]) for r in rows],
                         [(0, "aubc_accuracy"), (0, "accuracy"), (1, "aubc_accuracy"),
                          (1, "accuracy")])
        r = rows[1]
        want = {"sweep": "unit", "contrast": "al.strategy: margin vs baseline",
                "kind": "strategy_vs_baseline", "condition_a": 'al.strategy="margin"',
                "condition_b": 'al.strategy="baseline"', "n": 2, "difference": 0.15,
                "t_low": 0.05, "t_high": 0.25, "bca_low": 0.1, "bca_high": 0.2,
                "test": "sign_flip", "p": 0.002, "p_holm": 0.008, "alpha": 0.05,
                "family_size": 4, "equivalent": -1, "mdd": 0.12, "power": 0.8, "effect": 0.05,
                "seeds_needed": 12.0}
        self.assertEqual({k: r[k] for k in want}, want)
        self.assertTrue(math.isnan(r["margin"]) and math.isnan(r["tost_p"]))
        self.assertIsInstance(r["n"], int)
        self.assertIsInstance(r["equivalent"], int)
        r = rows[0]
        self.assertEqual((r["margin"], r["tost_p"], r["equivalent"]), (0.2, 0.012, 1))
        self.assertTrue(math.isnan(r["effect"]) and math.isnan(r["seeds_needed"]))
        r = rows[2]
        self.assertEqual((r["condition_b"], r["difference"], r["p_holm"], r["equivalent"]),
                         ('al.strategy="random"', -0.01, 0.5, 0))
        # The Holm column is the Holm adjustment of the p column over the family (by hand
        # above: 0.06, 0.008, 0.5, 0.036 in this order).
        self.assertEqual([r["p_holm"] for r in rows], [0.06, 0.008, 0.5, 0.036])
        # without a parsable analysis table: /metrics order
        self.s.analysis[0].spec_toml = "not toml ["
        self.assertEqual([r["endpoint"] for r in sp_analysis.primary_table(self.s)],
                         ["accuracy", "aubc_accuracy"] * 2)

    def test_secondary_table(self):
        rows = sp_analysis.secondary_table(self.s)
        self.assertEqual([tuple(r) for r in rows], [sp_analysis.SECONDARY_COLUMNS] * 2)
        self.assertEqual([(r["comparison"], r["metric"], r["p"], r["q_bh"]) for r in rows],
                         [(0, "cosine_all_mean", 0.02, 0.04), (1, "cosine_all_mean", 0.04, 0.04)])
        self.assertEqual((rows[1]["difference"], rows[1]["t_low"], rows[1]["t_high"]),
                         (0.05, 0.0, 0.1))

    def test_comparison_table(self):
        ct = sp_analysis.comparison_table(self.s)
        self.assertEqual(len(ct), 8)
        cols = tuple(ct[0])
        self.assertEqual(cols[:7], ("comparison", "kind", "contrast", "factor", "level_a",
                                    "level_b", "family_size"))
        self.assertEqual(cols[-len(sp_analysis.COMPARISON_STATS_V3):],
                         sp_analysis.COMPARISON_STATS_V3)
        for gone in ("w", "w_p", "w_p_holm", "t_p_holm", "hedges_g"):
            self.assertNotIn(gone, cols)
        kl = sp_analysis.select(ct, comparison=1, metric="tsne_kl_divergence")[0]
        self.assertEqual((kl["role"], kl["level_b"], kl["hedges_gz"], kl["cohens_dav"]),
                         (0, "random", 0.1, 0.3))
        self.assertTrue(math.isnan(kl["p"]))
        self.assertIsInstance(kl["role"], int)

    def test_trajectories(self):
        rows = sp_analysis.trajectory_table(self.s)
        self.assertEqual([tuple(r) for r in rows], [sp_analysis.TRAJECTORY_COLUMNS] * 6)
        key = [(r["condition"], r["round"], r["labelled_size"], r["metric"]) for r in rows]
        m, r_ = 'al.strategy="margin"', 'al.strategy="random"'
        self.assertEqual(key, [(m, 0, 6, "accuracy"), (m, 0, 6, "cosine_all_mean"),
                               (m, 1, 9, "accuracy"), (m, 1, 9, "cosine_all_mean"),
                               (r_, 0, 6, "accuracy"), (r_, 1, 9, "accuracy")])
        last = rows[5]
        self.assertEqual((last["n"], last["mean"], last["t_low"], last["t_high"]),
                         (2, 0.55, 0.55 - HALF, 0.55 + HALF))
        # against the replicate files' rounds (NumPy mean of round_table's values)
        rt = sp_analysis.round_table(self.res)
        for row in rows:
            measure = "accuracy" if row["metric"] == "accuracy" else "metric:" + row["metric"]
            v = [x["value"] for x in sp_analysis.select(rt, condition=row["condition"],
                                                        round=row["round"], measure=measure)]
            self.assertEqual(len(v), row["n"])
            self.assertAlmostEqual(float(np.mean(v)), row["mean"], places=15)
        tr = sp_analysis.trajectory(self.s, m)
        self.assertEqual(list(tr["labelled_size"]), [6, 9])
        self.assertEqual(list(tr["accuracy"]["mean"]), [0.3, 0.65])
        self.assertIsNone(sp_analysis.trajectory(self.s, 'al.strategy="baseline"'))
        self.assertTrue(np.isnan(sp_analysis.trajectory(self.s, r_)["cosine_all_mean"]["mean"])
                        .all())

    def test_trajectory_figure(self):
        from sp_analysis import figures
        fig = figures.trajectories(self.res)
        axes = [ax for ax in fig.axes if ax.get_visible()]
        self.assertEqual([ax.get_title() for ax in axes], ["accuracy", "cosine_all_mean"])
        acc, cos = axes
        # one line per AL condition, then the baseline's mean (dashed)
        self.assertEqual(len(acc.lines), 3)
        self.assertEqual(list(acc.lines[0].get_xdata()), [6, 9])
        self.assertEqual(list(acc.lines[0].get_ydata()), [0.3, 0.65])
        self.assertEqual(list(acc.lines[1].get_ydata()), [0.31, 0.55])
        self.assertEqual(list(acc.lines[2].get_ydata()), [0.5, 0.5])
        self.assertEqual(acc.lines[2].get_linestyle(), "--")
        self.assertEqual(len(acc.collections), 2)   # the shaded 95% t intervals
        ys = acc.collections[0].get_paths()[0].vertices[:, 1]
        self.assertAlmostEqual(float(np.nanmax(ys)), 0.65 + HALF, places=12)
        self.assertAlmostEqual(float(np.nanmin(ys)), 0.65 - HALF, places=12)
        self.assertEqual(len(cos.lines), 2)          # random has no cosine trajectory
        self.assertEqual(list(cos.lines[0].get_ydata()), [0.75, 0.8])
        self.assertEqual(list(cos.lines[1].get_ydata()), [0.7, 0.7])
        figures.png(fig)

    def test_metric_brackets(self):
        from sp_analysis import figures
        fig = figures.metric_distributions(self.res)
        axes = [ax for ax in fig.axes if ax.get_visible()]
        self.assertEqual([ax.get_title() for ax in axes], ["accuracy", "cosine_all_mean"])
        # accuracy: Holm 0.008 (**) and 0.036 (*); cosine_all_mean: BH q 0.04 twice (*)
        self.assertEqual(sorted(t.get_text() for t in axes[0].texts), ["*", "**"])
        self.assertEqual(sorted(t.get_text() for t in axes[1].texts), ["*", "*"])
        figures.png(fig)

    def test_report(self):
        out = os.path.join(self.d, "r.html")
        rc, err = run_main([self.d, "-o", out, "-q"])
        self.assertEqual(rc, 0, err)
        text = read(out)
        order = [text.index(x) for x in ("<h2 id=primary>Primary endpoints</h2>",
                                          "<h2 id=secondary>Secondary endpoints (exploratory)",
                                          "<h2 id=conditions>", "<h2 id=figures>",
                                          "<h2 id=summary>", "<h2 id=comparisons>",
                                          "<h2 id=provenance>")]
        self.assertEqual(order, sorted(order))
        primary = between(text, "<h2 id=primary>", "<h2 id=secondary>")
        self.assertIn("<th>contrast</th><th>comparison</th><th>endpoint</th><th>n</th>"
                      "<th>difference [95% t]</th><th>BCa 95%</th><th>p (sign-flip)</th>"
                      "<th>p (Holm)</th><th>equivalence</th><th>MDD (80%)</th>"
                      "<th>seeds for effect</th>", primary)
        mb = "al.strategy: margin vs baseline"
        mr = "al.strategy: margin vs random"
        vb = "al.strategy=&quot;margin&quot; vs al.strategy=&quot;baseline&quot;"
        vr = "al.strategy=&quot;margin&quot; vs al.strategy=&quot;random&quot;"
        self.assertEqual(cells(primary), [
            [mb, vb, "aubc_accuracy", "2", "0.05 [-0.05, 0.15]", "[-0.02, 0.12]", "0.030",
             "0.060", "equivalent within &plusmn;0.2 (TOST p 0.012)", "0.25", "-"],
            [mb, vb, "accuracy", "2", "0.15 [0.05, 0.25]", "[0.1, 0.2]", "0.002",
             "<b>0.008</b>", "no margin declared", "0.12", "12 for &Delta; = 0.05"],
            [mr, vr, "aubc_accuracy", "2", "-0.01 [-0.3, 0.28]", "[-0.2, 0.18]", "0.500",
             "0.500", "not shown within &plusmn;0.2 (TOST p 0.300)", "0.3", "-"],
            [mr, vr, "accuracy", "2", "0.1 [0.02, 0.18]", "[0.06, 0.14]", "0.012",
             "<b>0.036</b>", "no margin declared", "0.11", "15 for &Delta; = 0.05"]])
        self.assertIn("sweeps/unit-20240501T120000Z.toml", primary)
        self.assertIn("declared test sign-flip, &alpha; = 0.05, power 0.8", primary)
        secondary = between(text, "<h2 id=secondary>", "<h2 id=conditions>")
        self.assertIn("<b>Exploratory</b>", secondary)
        self.assertIn("<th>q (BH)</th>", secondary)
        self.assertEqual(cells(secondary), [
            ["cosine_all_mean", "2", "0.1 [0.01, 0.19]", "0.020", "0.040"],
            ["cosine_all_mean", "2", "0.05 [0, 0.1]", "0.040", "0.040"]])
        self.assertNotIn("tsne_kl_divergence", primary + secondary)
        conditions = between(text, "<h2 id=conditions>", "<h2 id=figures>")
        self.assertEqual(cells(conditions)[1][:3],
                         ["al.strategy=&quot;margin&quot;", "strategy=margin", "margin"])
        summary = between(text, "<h2 id=summary>", "<h2 id=comparisons>")
        self.assertIn("<th>median [IQR]</th>", summary)
        margin_rows = cells(between(summary, "al.strategy=&quot;margin&quot;", "</table>"))
        self.assertEqual(margin_rows[0][:5],
                         ["accuracy", "2", "0.65", "0.05", "0.65 [0.625, 0.675]"])
        comparisons = between(text, "<h2 id=comparisons>", "<h2 id=provenance>")
        kl = [r for r in cells(comparisons) if r[0] == "tsne_kl_divergence"]
        self.assertEqual([r[1] for r in kl], ["untested", "untested"])
        self.assertEqual(kl[0][9:11], ["NaN", "-"])
        self.assertIn("Holm family of 4", comparisons)
        self.assertIn("Hedges&#x27; g_z", comparisons)
        self.assertNotIn("p (t, Holm)", text)
        # five figures, the AL one from /trajectories
        self.assertEqual(text.count('src="data:image/png;base64,'), 5)
        self.assertIn("Active-learning trajectories against the labelled-set size", text)
        self.assertNotIn("Accuracy and metrics against the labelled-set size", text)

    def test_example(self):
        import subprocess
        script = os.path.join(HERE, "..", "..", "analysis", "examples", "primary_table.py")
        png = os.path.join(self.d, "t.png")
        env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "..", "..", "analysis"))
        out = subprocess.run([sys.executable, script, self.d, "-o", png], env=env,
                             capture_output=True, text=True, check=True).stdout
        lines = out.splitlines()
        self.assertEqual(len(lines), 6, out)
        self.assertIn("accuracy", lines[1])
        self.assertIn("+0.15 [0.05, 0.25]  p=0.002 (sign_flip) Holm=0.008", lines[1])
        self.assertIn("TOST: equivalent", lines[0])
        self.assertEqual(lines[4], "2 secondary (exploratory) tests with BH q < 0.05")
        self.assertTrue(os.path.getsize(png) > 0)

    def test_without_comparisons_or_trajectories(self):
        with tempfile.TemporaryDirectory() as d:
            make_results_v3(d, comparisons=False, trajectories=False)
            res = sp_analysis.load_results(d)
            self.assertEqual(sp_analysis.primary_table(res.summary), [])
            self.assertEqual(sp_analysis.trajectory_table(res.summary), [])
            self.assertEqual(sp_analysis.comparison_table(res.summary), [])
            out = os.path.join(d, "r.html")
            rc, err = run_main([d, "-o", out, "-q"])
            self.assertEqual(rc, 0, err)
            text = read(out)
            self.assertIn("No comparison with a primary endpoint", text)
            self.assertIn("No secondary metric was tested", text)
            # no trajectories in summary.h5: the per-seed curves of the replicate files
            self.assertIn("Accuracy and metrics against the labelled-set size", text)
            self.assertEqual(text.count('src="data:image/png;base64,'), 5)

    def test_incomplete_v3(self):
        cases = [("comparisons/p_holm", "no /comparisons/p_holm (summary schema_version 3"),
                 ("analysis/test", "no /analysis/test"),
                 ("conditions/coordinates", "no /conditions/coordinates"),
                 ("summary/q75", "no /summary/q75"),
                 ("trajectories/t_high", "no /trajectories/t_high")]
        for name, message in cases:
            with self.subTest(name=name), tempfile.TemporaryDirectory() as d:
                make_results_v3(d, drop=(name,))
                rc, err = run_main([d, "-q"])
                self.assertEqual(rc, 2)
                self.assertIn(os.path.join(d, "summary.h5") + ": " + message, err)
        with tempfile.TemporaryDirectory() as d:
            make_results_v3(d, round_offsets=(0, 2, 5))
            with self.assertRaises(sp_analysis.ResultsError) as ctx:
                sp_analysis.load_results(d)
            self.assertIn("/trajectories: condition, round_offsets", str(ctx.exception))


class Errors(unittest.TestCase):
    def test_missing_dir(self):
        rc, err = run_main(["/nonexistent/results", "-q"])
        self.assertEqual(rc, 2)
        self.assertIn("/nonexistent/results: no such results directory", err)

    def test_empty_dir(self):
        with tempfile.TemporaryDirectory() as d:
            rc, err = run_main([d, "-q"])
            self.assertEqual(rc, 2)
            self.assertIn(d + ": empty", err)
            self.assertFalse(os.path.exists(os.path.join(d, "report.html")))

    def test_unknown_schema_version(self):
        with tempfile.TemporaryDirectory() as d:
            make_results(d)
            write_replicate(os.path.join(d, "v2.h5"), "v2", "baseline", 3,
                            {"accuracy": 0.1}, version=99)
            rc, err = run_main([d, "-q"])
            self.assertEqual(rc, 2)
            self.assertIn(os.path.join(d, "v2.h5") + ": replicate schema_version is 99", err)
            with self.assertRaises(sp_analysis.ResultsError) as ctx:
                sp_analysis.load_results(d)
            self.assertEqual(ctx.exception.path, os.path.join(d, "v2.h5"))

    def test_unknown_summary_version(self):
        with tempfile.TemporaryDirectory() as d:
            make_results(d, summary=False)
            write_summary(os.path.join(d, "summary.h5"), version=7)
            rc, err = run_main([d, "-q"])
            self.assertEqual(rc, 2)
            self.assertIn("summary.h5: summary schema_version is 7, this reader knows 1, 2, 3",
                          err)

    def test_not_hdf5(self):
        with tempfile.TemporaryDirectory() as d:
            make_results(d)
            with open(os.path.join(d, "junk.h5"), "w") as f:
                f.write("not hdf5")
            rc, err = run_main([d, "-q"])
            self.assertEqual(rc, 2)
            self.assertIn("junk.h5: cannot open as HDF5", err)


if __name__ == "__main__":
    unittest.main(verbosity=1)
