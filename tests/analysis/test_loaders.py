"""Unit tests of sp_analysis's loaders and report CLI on small hand-written files (no sp binary).

    PYTHONPATH=analysis /usr/bin/python3 tests/analysis/test_loaders.py
"""
import contextlib
import io
import math
import os
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


def make_results(d, summary=True):
    write_replicate(os.path.join(d, "b0.h5"), "b0", "baseline", 0,
                    {"accuracy": 0.5, "cosine_all_mean": 0.7})
    write_replicate(os.path.join(d, "b1.h5"), "b1", "baseline", 1,
                    {"accuracy": 0.5 + 1e-16, "cosine_all_mean": float("nan")})
    for seed in (0, 1):
        write_replicate(os.path.join(d, f"m{seed}.h5"), f"m{seed}", "margin", seed,
                        {"accuracy": 0.6 + seed / 10, "cosine_all_mean": 0.8},
                        rounds=[(6, 0.3, [2, 1, 0], 0.75), (9, 0.6 + seed / 10, [0, 0, 0], None)])
    if summary:
        write_summary(os.path.join(d, "summary.h5"))


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
        res = sp_analysis.load_results(self.d)
        st = sp_analysis.summary_table(res.summary)
        self.assertEqual(len(st), 4)
        row = sp_analysis.select(st, condition='al.strategy="margin"', metric="accuracy")[0]
        self.assertEqual(row["mean"], 0.6 + 0.1 / 3)
        self.assertEqual(row["n"], 2)
        ct = sp_analysis.comparison_table(res.summary)
        self.assertEqual(len(ct), 2)
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

    def test_skips_other_kinds(self):
        with h5py.File(os.path.join(self.d, "cache.h5"), "w") as f:
            f.attrs["schema_version"] = np.int32(1)
            f.attrs["file_kind"] = "dataset-cache"
        res = sp_analysis.load_results(self.d)
        self.assertEqual(len(res.skipped), 1)


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
            self.assertIn("summary.h5: summary schema_version is 7", err)

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
